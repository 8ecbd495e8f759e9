// SPDX-License-Identifier: MIT
/*
 * openvmi-test: the in-guest test program of the Linux port (examples/linux),
 * run by /init in the kernel's built-in initramfs.  It reports in KTAP
 * (Documentation/dev-tools/ktap.rst) on /dev/kmsg and on its stdout, then
 * powers the VM off with the status the kernel command line asks for.
 *
 * Kernel command line (read from /proc/cmdline):
 *   openvmi_test.expect=present|absent   whether the kernel must have found
 *                                        OpenVMI (default: present); with
 *                                        "absent" the OpenVMI cases skip and
 *                                        the native ones must pass;
 *   openvmi_test.status=N                the power-off status (default 0),
 *                                        plus 1 if any case failed;
 *   openvmi_test.cpus=N                  the CPUs that must be online
 *                                        (default 1);
 *   openvmi_test.contention              the host runs a CPU hog on the
 *                                        host CPU of this VM: steal time
 *                                        must show (otherwise that case
 *                                        skips);
 *   openvmi_test.boot_only               no case: report an empty plan and
 *                                        power off at once (vmi-bench times
 *                                        the boot and the power-off, not the
 *                                        cases);
 *   openvmi_test.bench                   no case: measure for vmi-bench the
 *                                        cost of clock_gettime and how late
 *                                        1 ms sleeps end, print them as
 *                                        "# bench ..." lines, power off.
 *
 * Power-off: with OpenVMI, the status goes to the kernel through
 * /sys/module/openvmi/parameters/poweroff_status, then reboot(POWER_OFF):
 * the kernel ends the VM with VMI_HC_SHUTDOWN and that status.  Without it,
 * the status is written to QEMU's isa-debug-exit port 0xf4 (QEMU then exits
 * with 2 * status + 1), and reboot(POWER_OFF) is the last resort.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int kmsg = -1;
static int failures;
static int ncase;

/* One line to stdout and, so that it also reaches the console, to kmsg. */
static void out(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= (int)sizeof(buf))
        n = sizeof(buf) - 1;
    fputs(buf, stdout);
    fflush(stdout);
    if (kmsg >= 0) {
        char line[600];
        int m = snprintf(line, sizeof(line), "<6>openvmi-test: %s", buf);

        if (m > 0 && write(kmsg, line, (size_t)m) < 0)
            kmsg = -1;
    }
}

static void result(int ok, const char *name, const char *skip, const char *why)
{
    ncase++;
    if (skip) {
        out("ok %d %s # SKIP %s\n", ncase, name, skip);
        return;
    }
    if (!ok) {
        failures++;
        out("not ok %d %s # %s\n", ncase, name, why ? why : "failed");
        return;
    }
    out("ok %d %s\n", ncase, name);
}

static char cmdline[4096];

static const char *param(const char *key)
{
    size_t k = strlen(key);

    for (char *p = cmdline; (p = strstr(p, key)) != NULL; p += k)
        if ((p == cmdline || p[-1] == ' ') && p[k] == '=')
            return p + k + 1;
    return NULL;
}

static int read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return 0;
}

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;

    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The kernel's log says which hypervisor it found (init_hypervisor_platform).
 */
static int kernel_found_openvmi(void)
{
    static char log[1 << 17];
    int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);

    if (n < 0)
        return -1;
    log[n] = 0;
    return strstr(log, "Hypervisor detected: OpenVMI") != NULL;
}

static void case_detected(int want)
{
    int found = kernel_found_openvmi();
    char why[128];

    if (found < 0) {
        result(0, "openvmi_detected", NULL, "cannot read the kernel log");
        return;
    }
    if (!want) {
        result(!found, "openvmi_absent_as_expected", NULL,
               "the kernel found OpenVMI on a host without it");
        return;
    }
    snprintf(why, sizeof(why),
             "no \"Hypervisor detected: OpenVMI\" in the log");
    result(found, "openvmi_detected", NULL, why);
}

/*
 * Case name: the device the kernel uses, read from sysfs file path (what
 * it is, for the messages), is OpenVMI's.  It skips without OpenVMI.
 */
static void case_uses_openvmi(int want, const char *name, const char *path,
                              const char *what)
{
    char dev[64], why[160];

    if (read_file(path, dev, sizeof(dev)) != 0) {
        snprintf(why, sizeof(why), "cannot read %s", path);
        result(0, name, NULL, why);
        return;
    }
    out("# %s: %s\n", what, dev);
    if (!want) {
        result(1, name, "OpenVMI absent", NULL);
        return;
    }
    snprintf(why, sizeof(why), "the %s is %s", what, dev);
    result(strcmp(dev, "openvmi") == 0, name, NULL, why);
}

/* CLOCK_MONOTONIC read back to back for 200 ms never goes back. */
static void case_monotonic(void)
{
    uint64_t start = now_ns(CLOCK_MONOTONIC), prev = start, reads = 0;
    uint64_t worst = 0;
    char why[160];

    for (;;) {
        uint64_t t = now_ns(CLOCK_MONOTONIC);

        reads++;
        if (t < prev && prev - t > worst)
            worst = prev - t;
        if (t > prev)
            prev = t;
        if (t - start >= 200000000u)
            break;
    }
    out("# monotonic: %llu reads in 200 ms, %llu ns per read\n",
        (unsigned long long)reads,
        (unsigned long long)((prev - start) / (reads ? reads : 1)));
    snprintf(why, sizeof(why), "went back by %llu ns",
             (unsigned long long)worst);
    result(worst == 0, "monotonic_never_goes_back", NULL, why);
}

/* As many CPUs online as the command line says (the kernel brought them up). */
static void case_cpus_online(unsigned want)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    char why[96];

    snprintf(why, sizeof(why), "%ld CPUs online, %u expected", n, want);
    result(n == (long)want, "cpus_online", NULL, why);
}

/*
 * CLOCK_MONOTONIC read on every online CPU in turn, the thread moved from
 * one to the next 2000 times: no read is below the one made before it on
 * another CPU.  A clock whose CPUs disagree (an unsynchronised TSC taken as
 * stable) goes back at a move.
 */
static void case_monotonic_every_cpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t prev = 0, worst = 0, moves = 0;
    cpu_set_t set;
    char why[160];

    for (int i = 0; i < 2000 && n > 0; i++) {
        uint64_t t;

        CPU_ZERO(&set);
        CPU_SET(i % n, &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0) {
            snprintf(why, sizeof(why), "sched_setaffinity to CPU %ld: %s",
                     i % n, strerror(errno));
            result(0, "monotonic_on_every_cpu", NULL, why);
            return;
        }
        moves++;
        t = now_ns(CLOCK_MONOTONIC);
        if (t < prev && prev - t > worst)
            worst = prev - t;
        if (t > prev)
            prev = t;
    }
    CPU_ZERO(&set);
    for (long c = 0; c < n; c++)
        CPU_SET(c, &set);
    sched_setaffinity(0, sizeof(set), &set);
    out("# monotonic on every CPU: %ld CPUs, %llu moves\n", n,
        (unsigned long long)moves);
    snprintf(why, sizeof(why), "went back by %llu ns after a move",
             (unsigned long long)worst);
    result(worst == 0, "monotonic_on_every_cpu", NULL, why);
}

/*
 * clock_gettime(CLOCK_MONOTONIC) answered by the vDSO, without a system
 * call: a child traced with PTRACE_SYSCALL calls it 1000 times, then makes
 * the system call itself once, and the tracer counts the clock_gettime and
 * gettimeofday system calls it sees: exactly the one (which shows that the
 * count works).  With OpenVMI the vDSO reads CPU 0's clock record (pvclock
 * mode); without it the answer depends on the clocksource, so the case
 * skips.
 */
static void case_clock_gettime_in_vdso(int want)
{
    unsigned calls = 0, stops = 0;
    char why[160];
    int st = 0;
    pid_t pid;

    if (!want) {
        result(1, "clock_gettime_in_vdso", "OpenVMI absent", NULL);
        return;
    }
    pid = fork();
    if (pid == 0) {
        struct timespec ts;

        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
            _exit(2);
        raise(SIGSTOP);
        for (int i = 0; i < 1000; i++)
            if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
                _exit(1);
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) ||
        ptrace(PTRACE_SETOPTIONS, pid, NULL,
               (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) !=
            0) {
        result(0, "clock_gettime_in_vdso", NULL, "cannot trace a child");
        if (pid > 0)
            kill(pid, SIGKILL);
        return;
    }
    for (;;) {
        if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) != 0 ||
            waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
            break;
        if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
            long nr = ptrace(
                PTRACE_PEEKUSER, pid,
                (void *)offsetof(struct user_regs_struct, orig_rax), NULL);

            /* Entry and exit stops alternate: count the entries. */
            if ((stops++ & 1) == 0 &&
                (nr == SYS_clock_gettime || nr == SYS_gettimeofday))
                calls++;
        }
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        result(0, "clock_gettime_in_vdso", NULL, "the traced child failed");
        return;
    }
    out("# clock_gettime: 1000 calls and 1 system call, %u system call(s) "
        "seen\n",
        calls);
    snprintf(why, sizeof(why),
             "%u clock_gettime system calls for 1000 calls and 1 direct "
             "system call: %s",
             calls, calls ? "not served by the vDSO" : "tracing saw none");
    result(calls == 1, "clock_gettime_in_vdso", NULL, why);
}

/* The steal column of /proc/stat's "cpu" line, in USER_HZ ticks, or -1. */
static long long steal_ticks(void)
{
    unsigned long long v[8];
    char buf[512];

    if (read_file("/proc/stat", buf, sizeof(buf)) != 0 ||
        sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
        return -1;
    return (long long)v[7];
}

/*
 * Steal time reaches /proc/stat: while the host keeps this vCPU's thread
 * from running (a CPU hog on the same host CPU), 500 ms of busy loop here
 * accrue steal ticks.  Skips unless the command line says the host arranged
 * the contention.
 */
static void case_steal_time(int want)
{
    long long before, after;
    uint64_t t0;
    char why[128];

    if (!want || !strstr(cmdline, "openvmi_test.contention")) {
        result(1, "steal_time_counted",
               want ? "no contention arranged" : "OpenVMI absent", NULL);
        return;
    }
    before = steal_ticks();
    t0 = now_ns(CLOCK_MONOTONIC);
    while (now_ns(CLOCK_MONOTONIC) - t0 < 500000000u)
        ;
    after = steal_ticks();
    out("# steal: %lld ticks in 500 ms of busy loop\n", after - before);
    snprintf(why, sizeof(why), "steal went from %lld to %lld ticks", before,
             after);
    result(before >= 0 && after > before, "steal_time_counted", NULL, why);
}

/* nanosleep of 1 us .. 20 ms never returns before the time asked. */
static void case_nanosleep(void)
{
    static const uint64_t asks[] = {1000, 50000, 1000000, 4000000, 20000000};
    uint64_t late_max = 0;
    char why[160] = "";
    int ok = 1;

    for (unsigned i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
        for (int rep = 0; rep < 5; rep++) {
            struct timespec ts = {(time_t)(asks[i] / 1000000000u),
                                  (long)(asks[i] % 1000000000u)};
            uint64_t t0 = now_ns(CLOCK_MONOTONIC), d;

            while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
            d = now_ns(CLOCK_MONOTONIC) - t0;
            if (d < asks[i]) {
                ok = 0;
                snprintf(why, sizeof(why), "asked %llu ns, slept %llu ns",
                         (unsigned long long)asks[i], (unsigned long long)d);
            } else if (d - asks[i] > late_max) {
                late_max = d - asks[i];
            }
        }
    }
    out("# nanosleep: 25 sleeps of 1 us to 20 ms, at most %llu us late\n",
        (unsigned long long)(late_max / 1000));
    result(ok, "nanosleep_never_early", NULL, why);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * vmi-bench's measurements, in the guest: clock_gettime(CLOCK_MONOTONIC)
 * called 200000 times back to back (ns per call: the vDSO's read of the
 * clocksource, or the system call where the vDSO cannot read it), and 200
 * relative sleeps of 1 ms, each one's lateness (end - start - 1 ms) in
 * microseconds at the median and the 99th percentile.
 */
static void bench(void)
{
    enum { CALLS = 200000, SLEEPS = 200 };
    static uint64_t late[SLEEPS];
    struct timespec ts, req = {0, 1000000};
    uint64_t t0, t1;

    t0 = now_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < CALLS; i++)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    t1 = now_ns(CLOCK_MONOTONIC);
    out("# bench clock_gettime_ns %.1f\n", (double)(t1 - t0) / CALLS);
    for (int i = 0; i < SLEEPS; i++) {
        t0 = now_ns(CLOCK_MONOTONIC);
        nanosleep(&req, NULL);
        t1 = now_ns(CLOCK_MONOTONIC);
        late[i] = t1 - t0 > 1000000 ? t1 - t0 - 1000000 : 0;
    }
    qsort(late, SLEEPS, sizeof(late[0]), cmp_u64);
    out("# bench nanosleep_late_us p50 %.1f p99 %.1f\n",
        (double)late[SLEEPS / 2] / 1000,
        (double)late[SLEEPS * 99 / 100] / 1000);
}

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Run the calling thread on `cpu` only: 0, or -1 (errno set). */
static int pin_to(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * The last CPU taken offline and brought back online 3 times through
 * sysfs (with OpenVMI: VCPU_STOP, then VCPU_START).  Each time, while it
 * is offline no thread can be put on it and one CPU fewer is online;
 * back online, a thread runs there, its clock event device is OpenVMI's
 * again (re-registered), a 2 ms sleep on it is not early (its timer
 * fires) and CLOCK_MONOTONIC read there is not below the last reading.
 */
static void case_cpu_offline_online(int want)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    char path[96], dev[64], why[160];
    uint64_t prev, t0, t1;
    int cpu = (int)n - 1;

    if (n < 2) {
        result(1, "cpu_offline_online", "one CPU online", NULL);
        return;
    }
    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
    for (int round = 0; round < 3; round++) {
        pin_to(0);
        prev = now_ns(CLOCK_MONOTONIC);
        if (write_file(path, "0") != 0) {
            snprintf(why, sizeof(why), "offline CPU %d: %s", cpu,
                     strerror(errno));
            goto fail;
        }
        if (sysconf(_SC_NPROCESSORS_ONLN) != n - 1 || pin_to(cpu) == 0) {
            snprintf(why, sizeof(why), "CPU %d still runs threads", cpu);
            goto fail;
        }
        if (write_file(path, "1") != 0) {
            snprintf(why, sizeof(why), "online CPU %d again (round %d): %s",
                     cpu, round, strerror(errno));
            goto fail;
        }
        if (sysconf(_SC_NPROCESSORS_ONLN) != n || pin_to(cpu) != 0 ||
            sched_getcpu() != cpu) {
            snprintf(why, sizeof(why), "no thread runs on CPU %d again", cpu);
            goto fail;
        }
        t0 = now_ns(CLOCK_MONOTONIC);
        usleep(2000);
        t1 = now_ns(CLOCK_MONOTONIC);
        if (t0 < prev || t1 - t0 < 2000000) {
            snprintf(why, sizeof(why),
                     "CPU %d back: clock %llu ns before the last reading, "
                     "2 ms sleep took %llu ns",
                     cpu, (unsigned long long)(t0 < prev ? prev - t0 : 0),
                     (unsigned long long)(t1 - t0));
            goto fail;
        }
        snprintf(path, sizeof(path),
                 "/sys/devices/system/clockevents/clockevent%d/"
                 "current_device",
                 cpu);
        if (want && (read_file(path, dev, sizeof(dev)) != 0 ||
                     strcmp(dev, "openvmi") != 0)) {
            snprintf(why, sizeof(why), "CPU %d back: clock events on %s", cpu,
                     dev);
            goto fail;
        }
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
                 cpu);
    }
    pin_to(0);
    {
        cpu_set_t set;

        CPU_ZERO(&set);
        for (long c = 0; c < n; c++)
            CPU_SET(c, &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    out("# CPU %d offline and online 3 times\n", cpu);
    result(1, "cpu_offline_online", NULL, NULL);
    return;
fail:
    result(0, "cpu_offline_online", NULL, why);
}

static void power_off(int have_openvmi, unsigned status)
{
    char buf[16];
    int fd, n;

    sync();
    if (have_openvmi) {
        fd = open("/sys/module/openvmi/parameters/poweroff_status", O_WRONLY);
        if (fd >= 0) {
            n = snprintf(buf, sizeof(buf), "%u\n", status);
            if (write(fd, buf, (size_t)n) != n)
                out("# poweroff_status: %s\n", strerror(errno));
            close(fd);
        } else {
            out("# no poweroff_status parameter: %s\n", strerror(errno));
        }
    } else if (ioperm(0xf4, 1, 1) == 0) {
        outb((unsigned char)status, 0xf4); /* QEMU isa-debug-exit */
    }
    reboot(RB_POWER_OFF);
    out("# reboot(POWER_OFF) returned: %s\n", strerror(errno));
}

int main(void)
{
    const char *p;
    int want = 1, have;
    unsigned status = 0, cpus = 1;

    kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) != 0)
        cmdline[0] = 0;
    p = param("openvmi_test.expect");
    if (p && strncmp(p, "absent", 6) == 0)
        want = 0;
    p = param("openvmi_test.status");
    if (p)
        status = (unsigned)strtoul(p, NULL, 0);
    p = param("openvmi_test.cpus");
    if (p)
        cpus = (unsigned)strtoul(p, NULL, 0);

    out("KTAP version 1\n");
    if (strstr(cmdline, "openvmi_test.boot_only")) {
        out("1..0 # SKIP boot_only: boot and power-off timing\n");
    } else if (strstr(cmdline, "openvmi_test.bench")) {
        out("1..0 # SKIP bench: measurements for vmi-bench\n");
        bench();
    } else {
        out("1..10\n");
        case_detected(want);
        case_uses_openvmi(want, "clocksource_is_openvmi",
                          "/sys/devices/system/clocksource/clocksource0/"
                          "current_clocksource",
                          "clocksource");
        /* The tick and hrtimers run on it. */
        case_uses_openvmi(want, "clockevent_is_openvmi",
                          "/sys/devices/system/clockevents/clockevent0/"
                          "current_device",
                          "clock event device");
        case_monotonic();
        case_nanosleep();
        case_cpus_online(cpus);
        case_monotonic_every_cpu();
        case_clock_gettime_in_vdso(want);
        case_steal_time(want);
        case_cpu_offline_online(want);
    }
    have = kernel_found_openvmi() == 1;
    out("# %d of %d cases failed; powering off with status %u%s\n", failures,
        ncase, status + (failures ? 1 : 0),
        have ? " through OpenVMI" : " through isa-debug-exit");
    power_off(have, status + (failures ? 1 : 0));
    return 1;
}
