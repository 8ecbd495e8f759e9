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
 *   openvmi_test.reboot                  one more case, run last: the VM
 *                                        reboots (with OpenVMI, through
 *                                        SHUTDOWN and the host's reset) and
 *                                        the program, started again by the
 *                                        next boot, checks that the kernel
 *                                        negotiated OpenVMI again and uses
 *                                        its clock, timers and CPUs; the
 *                                        report goes on across the reboot
 *                                        (the host must not stop at it);
 *   openvmi_test.kexec                   one more case, run last (after the
 *                                        reboot's): the program kexecs into
 *                                        /kexec/bzImage (this kernel, from
 *                                        the initrd kexec.cpio) and the new
 *                                        kernel's program checks what the
 *                                        reboot case checks; the old kernel
 *                                        must RESET the interface first
 *                                        (openvmi_test.after=kexec,N,F on
 *                                        the new kernel's command line: the
 *                                        case count and failures so far);
 *   openvmi_test.crash                   one more case, after the kexec's:
 *                                        the kexec'd kernel's program loads
 *                                        the same bzImage as its crash
 *                                        kernel (crashkernel= must reserve
 *                                        memory) and ends, from its last CPU;
 *                                        the kernel panics there, RESETs the
 *                                        interface and starts the crash
 *                                        kernel on that vCPU, whose program
 *                                        checks the same again;
 *   openvmi_test.migrate                 two cases only: OpenVMI detected,
 *                                        and CLOCK_MONOTONIC monotonic for
 *                                        10 s on every CPU while the test
 *                                        migrates the VM ("# migrate now");
 *   openvmi_test.boot_only               no case: report an empty plan and
 *                                        power off at once (vmi-bench times
 *                                        the boot and the power-off, not the
 *                                        cases);
 *   openvmi_test.bench=balloon           no case: for vmi-bench, write most
 *                                        free memory, then inflate the
 *                                        balloon to 128 MiB, with a line and
 *                                        a 2 s pause at each step, power off;
 *   openvmi_test.bench                   no case: measure for vmi-bench the
 *                                        cost of clock_gettime, how late 1 ms
 *                                        sleeps end and (with OpenVMI) the
 *                                        exits made per 10 ms sleep, print
 *                                        them as "# bench ..." lines, power
 *                                        off.
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
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <termios.h>
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

/* 1 if the command line has `key` as a word of its own (no "="). */
static int flag(const char *key)
{
    size_t k = strlen(key);

    for (char *p = cmdline; (p = strstr(p, key)) != NULL; p += k)
        if ((p == cmdline || p[-1] == ' ') && (p[k] == ' ' || !p[k]))
            return 1;
    return 0;
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

static int pin_to(int cpu);

/* The exits the kernel made for idle and its timer, by kind (all CPUs). */
struct idle_exits {
    unsigned long long hlt, block, block_arm, timer_arm;
};

static int read_idle_exits(struct idle_exits *e)
{
    char buf[160];

    if (read_file("/sys/kernel/openvmi/idle_exits", buf, sizeof(buf)) ||
        sscanf(buf, "hlt %llu block %llu block_arm %llu timer_arm %llu",
               &e->hlt, &e->block, &e->block_arm, &e->timer_arm) != 4)
        return -1;
    return 0;
}

/*
 * Exits per sleep of 10 ms, by kind, on CPU 0: longer than a tick
 * (HZ=250), so the CPU stops its tick as it idles and programs its timer
 * for the sleep's end: the programming an arming BLOCK takes over.
 * n[0..3]: HLT, BLOCK, arming BLOCK, TIMER_ARM per sleep.  -1 without the
 * counts.
 */
static int idle_exits_per_sleep(int sleeps, double n[4])
{
    struct timespec req = {0, 10000000};
    struct idle_exits a, b;

    if (read_idle_exits(&a))
        return -1;
    pin_to(0);
    for (int i = 0; i < sleeps; i++)
        nanosleep(&req, NULL);
    if (read_idle_exits(&b))
        return -1;
    n[0] = (double)(b.hlt - a.hlt) / sleeps;
    n[1] = (double)(b.block - a.block) / sleeps;
    n[2] = (double)(b.block_arm - a.block_arm) / sleeps;
    n[3] = (double)(b.timer_arm - a.timer_arm) / sleeps;
    return 0;
}

/*
 * Idle through BLOCK (openvmi.idle=, default 2): 30 sleeps of 10 ms, each
 * idling CPU 0 with its tick stopped, and most idle entries must be made
 * the way the mode says: 2, a BLOCK that arms the timer; 1, a BLOCK; 0, a
 * HLT; and never with HLT but in mode 0 (a BLOCK whose arming failed
 * falls back to a BLOCK).  Prints the exits per sleep, by kind.
 */
static void case_idle_through_block(int want)
{
    enum { SLEEPS = 30 };
    char mode[16] = "", why[200];
    double n[4];
    int m, ok;

    if (!want) {
        result(1, "idle_through_block", "OpenVMI absent", NULL);
        return;
    }
    if (read_file("/sys/module/openvmi/parameters/idle", mode, sizeof(mode)) ||
        idle_exits_per_sleep(SLEEPS, n)) {
        result(0, "idle_through_block", NULL,
               "no /sys/module/openvmi/parameters/idle or "
               "/sys/kernel/openvmi/idle_exits");
        return;
    }
    m = atoi(mode);
    out("# idle (openvmi.idle=%d): per 10 ms sleep %.2f exits: timer_arm "
        "%.2f, hlt %.2f, block %.2f, block_arm %.2f\n",
        m, n[0] + n[1] + n[2] + n[3], n[3], n[0], n[1], n[2]);
    m = m < 0 ? 0 : m > 2 ? 2 : m;
    ok = n[m] >= 0.5 && (m == 0 ? n[1] + n[2] == 0 : n[0] == 0) &&
         (m != 1 || n[2] == 0);
    snprintf(why, sizeof(why),
             "mode %d, per sleep: %.2f HLT, %.2f BLOCK, %.2f arming BLOCK", m,
             n[0], n[1], n[2]);
    result(ok, "idle_through_block", NULL, why);
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

/*
 * A timerfd on CLOCK_MONOTONIC never expires early: one-shot timers of 1 us
 * to 20 ms, relative and absolute in turn, each read back (one expiration)
 * no sooner than asked; then a 1 ms periodic timer, whose expirations
 * counted over 20 reads never run ahead of the time elapsed.
 */
static void case_timerfd(void)
{
    static const uint64_t asks[] = {1000, 50000, 1000000, 4000000, 20000000};
    uint64_t late_max = 0, total = 0, t0, d = 0, n;
    struct itimerspec its;
    char why[160] = "";
    int ok = 1, fd;

    fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (fd < 0) {
        snprintf(why, sizeof(why), "timerfd_create: %s", strerror(errno));
        result(0, "timerfd_never_early", NULL, why);
        return;
    }
    for (unsigned i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
        for (int rep = 0; rep < 6; rep++) {
            int abs = rep & 1;
            uint64_t v;

            memset(&its, 0, sizeof(its));
            t0 = now_ns(CLOCK_MONOTONIC);
            v = abs ? t0 + asks[i] : asks[i];
            its.it_value.tv_sec = (time_t)(v / 1000000000u);
            its.it_value.tv_nsec = (long)(v % 1000000000u);
            if (timerfd_settime(fd, abs ? TFD_TIMER_ABSTIME : 0, &its, NULL) !=
                    0 ||
                read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n)) {
                snprintf(why, sizeof(why), "timerfd: %s", strerror(errno));
                ok = 0;
                goto out;
            }
            d = now_ns(CLOCK_MONOTONIC) - t0;
            if (n != 1 || d < asks[i]) {
                ok = 0;
                snprintf(why, sizeof(why),
                         "%s %llu ns: %llu expirations after %llu ns",
                         abs ? "absolute" : "relative",
                         (unsigned long long)asks[i], (unsigned long long)n,
                         (unsigned long long)d);
            } else if (d - asks[i] > late_max) {
                late_max = d - asks[i];
            }
        }
    }
    memset(&its, 0, sizeof(its));
    its.it_value.tv_nsec = 1000000;
    its.it_interval.tv_nsec = 1000000;
    t0 = now_ns(CLOCK_MONOTONIC);
    if (timerfd_settime(fd, 0, &its, NULL) != 0) {
        snprintf(why, sizeof(why), "periodic timerfd: %s", strerror(errno));
        ok = 0;
        goto out;
    }
    for (int r = 0; r < 20; r++) {
        if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n)) {
            snprintf(why, sizeof(why), "periodic read: %s", strerror(errno));
            ok = 0;
            goto out;
        }
        total += n;
        d = now_ns(CLOCK_MONOTONIC) - t0;
        if (n == 0 || total * 1000000u > d) {
            ok = 0;
            snprintf(why, sizeof(why),
                     "periodic 1 ms: %llu expirations after %llu ns",
                     (unsigned long long)total, (unsigned long long)d);
            goto out;
        }
    }
    out("# timerfd: 30 one-shot timers of 1 us to 20 ms, at most %llu us "
        "late; 1 ms periodic: %llu expirations in %llu us\n",
        (unsigned long long)(late_max / 1000), (unsigned long long)total,
        (unsigned long long)(d / 1000));
out:
    close(fd);
    result(ok, "timerfd_never_early", NULL, why);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * vmi-bench's measurements, in the guest: clock_gettime(CLOCK_MONOTONIC)
 * called 200000 times back to back in 50 batches (ns per call: the vDSO's
 * read of the clocksource, or the system call where the vDSO cannot read
 * it; the median batch, which an interrupt or a stall of QEMU's vCPU
 * thread in one batch does not move, and the mean of all), and 200
 * relative sleeps of 1 ms, each one's lateness (end - start - 1 ms) in
 * microseconds at the median and the 99th percentile.
 */
static void bench(void)
{
    enum { CALLS = 200000, BATCHES = 50, SLEEPS = 200 };
    static uint64_t late[SLEEPS], batch[BATCHES];
    uint64_t all = 0;
    int have_exits;
    double n[4];
    struct timespec ts, req = {0, 1000000};
    char cs[64] = "?";
    uint64_t t0, t1;

    /*
     * What was measured: vmi-bench keeps a boot only if it ran on the
     * clocksource its row is about.
     */
    read_file("/sys/devices/system/clocksource/clocksource0/"
              "current_clocksource",
              cs, sizeof(cs));
    out("# bench clocksource %s\n", cs);
    for (int b = 0; b < BATCHES; b++) {
        t0 = now_ns(CLOCK_MONOTONIC);
        for (int i = 0; i < CALLS / BATCHES; i++)
            clock_gettime(CLOCK_MONOTONIC, &ts);
        t1 = now_ns(CLOCK_MONOTONIC);
        batch[b] = t1 - t0;
        all += t1 - t0;
    }
    qsort(batch, BATCHES, sizeof(batch[0]), cmp_u64);
    out("# bench clock_gettime_ns %.1f mean %.1f\n",
        (double)batch[BATCHES / 2] / (CALLS / BATCHES), (double)all / CALLS);
    have_exits = access("/sys/kernel/openvmi/idle_exits", R_OK) == 0;
    for (int i = 0; i < SLEEPS; i++) {
        t0 = now_ns(CLOCK_MONOTONIC);
        nanosleep(&req, NULL);
        t1 = now_ns(CLOCK_MONOTONIC);
        late[i] = t1 - t0 > 1000000 ? t1 - t0 - 1000000 : 0;
    }
    if (have_exits && idle_exits_per_sleep(30, n) == 0)
        out("# bench idle_exits_per_sleep %.2f timer_arm %.2f hlt %.2f "
            "block %.2f block_arm %.2f\n",
            n[0] + n[1] + n[2] + n[3], n[3], n[0], n[1], n[2]);
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

/* CPU `cpu`'s count on the "TLB:" line of /proc/interrupts, or -1. */
static long long tlb_shootdowns(int cpu)
{
    static char buf[16384];
    const char *p;
    char *end;
    long long v = -1;

    if (read_file("/proc/interrupts", buf, sizeof(buf)) != 0 ||
        (p = strstr(buf, "TLB:")) == NULL)
        return -1;
    p += 4;
    for (int i = 0; i <= cpu; i++) {
        v = strtoll(p, &end, 10);
        if (end == p)
            return -1;
        p = end;
    }
    return v;
}

struct tlb_share {
    volatile int *addr;
    volatile int go, seen, stop;
};

/* On CPU 1: keep reading *addr; when told, read it once more for CPU 0. */
static void *tlb_reader(void *arg)
{
    struct tlb_share *s = arg;

    pin_to(1);
    while (!s->stop) {
        int v = *s->addr;

        (void)v;
        if (s->go) {
            s->seen = *s->addr;
            __sync_synchronize();
            s->go = 0;
        }
    }
    return NULL;
}

/*
 * Remote TLB flush: a thread on CPU 1 keeps reading an address while CPU 0
 * moves a new page, holding a new value, over it (mremap), 500 times;
 * told after each move, the thread must read the new value, never the old
 * page's (a translation that CPU 1 kept because the flush did not reach
 * it).  With OpenVMI the host does the flush: CPU 1 takes no TLB
 * shootdown interrupt meanwhile.
 */
static void case_tlb_flush(int want)
{
    enum { ROUNDS = 500 };
    struct tlb_share s = {0};
    long long irq0, irq1;
    char why[200] = "";
    pthread_t th;
    void *x;

    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        result(1, "tlb_flush_reaches_other_cpus", "one CPU online", NULL);
        return;
    }
    x = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (x == MAP_FAILED) {
        snprintf(why, sizeof(why), "mmap: %s", strerror(errno));
        goto out;
    }
    *(int *)x = -1;
    s.addr = x;
    pin_to(0);
    irq0 = tlb_shootdowns(1);
    if (pthread_create(&th, NULL, tlb_reader, &s) != 0) {
        snprintf(why, sizeof(why), "pthread_create failed");
        goto out;
    }
    for (int i = 1; i <= ROUNDS && !why[0]; i++) {
        int *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        uint64_t t0;

        if (q == MAP_FAILED) {
            snprintf(why, sizeof(why), "mmap: %s", strerror(errno));
            break;
        }
        *q = i;
        if (mremap(q, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, x) != x) {
            snprintf(why, sizeof(why), "mremap: %s", strerror(errno));
            break;
        }
        __sync_synchronize();
        s.go = 1;
        t0 = now_ns(CLOCK_MONOTONIC);
        while (s.go && now_ns(CLOCK_MONOTONIC) - t0 < 2000000000u)
            ;
        if (s.go)
            snprintf(why, sizeof(why), "the thread on CPU 1 stopped");
        else if (s.seen != i)
            snprintf(why, sizeof(why),
                     "round %d: CPU 1 read %d, not the new page's %d", i,
                     s.seen, i);
    }
    s.stop = 1;
    pthread_join(th, NULL);
    irq1 = tlb_shootdowns(1);
    out("# tlb: %d page moves under a reader on CPU 1; TLB shootdown "
        "interrupts on CPU 1: %lld\n",
        ROUNDS, irq1 - irq0);
    if (!why[0] && want && (irq0 < 0 || irq1 != irq0))
        snprintf(why, sizeof(why),
                 "%lld TLB shootdown interrupts on CPU 1: the flush did not "
                 "go through OpenVMI",
                 irq1 - irq0);
out:
    if (x != MAP_FAILED)
        munmap(x, 4096);
    result(!why[0], "tlb_flush_reaches_other_cpus", NULL, why);
}

/*
 * CLOCK_MONOTONIC across a live migration (openvmi_test.migrate): the
 * program says "# migrate now" (the test then migrates the VM to another
 * QEMU) and for 10 s moves from CPU to CPU every 1000 reads, sleeping
 * 1 ms every 20000: no read is below the one before it, on any CPU, and
 * no sleep ends early.  The largest step between two reads is reported:
 * the VM clock stands still while the VM is stopped (the specification's
 * reference clock), so the pause need not show as a jump.
 */
static void case_monotonic_across_migration(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t start, prev, t, back = 0, step = 0, reads = 0;
    struct timespec ts;
    char why[200] = "";
    int cpu = 0;

    out("# migrate now\n");
    start = prev = now_ns(CLOCK_MONOTONIC);
    while (prev - start < 10000000000u) {
        t = now_ns(CLOCK_MONOTONIC);
        reads++;
        if (t < prev && prev - t > back)
            back = prev - t;
        if (t > prev && t - prev > step)
            step = t - prev;
        if (t > prev)
            prev = t;
        if (reads % 1000 == 0 && n > 1) {
            cpu = (cpu + 1) % (int)n;
            pin_to(cpu);
        }
        if (reads % 20000 == 0) {
            ts.tv_sec = 0;
            ts.tv_nsec = 1000000;
            t = now_ns(CLOCK_MONOTONIC);
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
            if (now_ns(CLOCK_MONOTONIC) - t < 1000000 && !why[0])
                snprintf(why, sizeof(why), "a 1 ms sleep ended early");
        }
    }
    out("# across the migration: %llu reads on %ld CPUs, largest step %llu "
        "us\n",
        (unsigned long long)reads, n, (unsigned long long)(step / 1000));
    if (back)
        snprintf(why, sizeof(why), "went back by %llu ns",
                 (unsigned long long)back);
    result(!why[0], "monotonic_across_migration", NULL, why);
}

/* A /proc/meminfo line's value in KiB, or -1. */
static long meminfo_kb(const char *key)
{
    static char buf[4096];
    const char *p;

    if (read_file("/proc/meminfo", buf, sizeof(buf)) != 0 ||
        (p = strstr(buf, key)) == NULL)
        return -1;
    return strtol(p + strlen(key), NULL, 10);
}

#define BALLOON "/sys/kernel/openvmi/"

/*
 * Set the balloon's target and wait (at most 20 s) until it holds it:
 * 0, or -1 with why filled.
 */
static int balloon_to(unsigned long kb, char *why, size_t cap)
{
    char buf[32], now[32] = "";

    snprintf(buf, sizeof(buf), "%lu\n", kb);
    if (write_file(BALLOON "balloon_target_kb", buf) != 0) {
        snprintf(why, cap, "write " BALLOON "balloon_target_kb: %s",
                 strerror(errno));
        return -1;
    }
    for (int i = 0; i < 2000; i++) {
        if (read_file(BALLOON "balloon_kb", now, sizeof(now)) == 0 &&
            strtoul(now, NULL, 10) == kb)
            return 0;
        usleep(10000);
    }
    snprintf(why, cap, "balloon at %s KiB 20 s after a target of %lu KiB", now,
             kb);
    return -1;
}

/*
 * The balloon (with OpenVMI): inflated to 64 MiB it holds 64 MiB and
 * MemTotal falls by as much; deflated to 0, MemTotal is back where it was
 * and the memory can be used again (64 MiB written and read back).
 */
static void case_balloon(int want)
{
    const unsigned long kb = 65536;
    long total0, total1, total2;
    char why[200] = "";
    unsigned char *m;

    if (!want) {
        result(1, "balloon_inflate_deflate", "OpenVMI absent", NULL);
        return;
    }
    total0 = meminfo_kb("MemTotal:");
    if (balloon_to(kb, why, sizeof(why)) != 0)
        goto out;
    total1 = meminfo_kb("MemTotal:");
    if (balloon_to(0, why, sizeof(why)) != 0)
        goto out;
    total2 = meminfo_kb("MemTotal:");
    out("# balloon: MemTotal %ld KiB, %ld inflated by %lu KiB, %ld "
        "deflated\n",
        total0, total1, kb, total2);
    if (total0 < 0 || total1 != total0 - (long)kb || total2 != total0) {
        snprintf(why, sizeof(why), "MemTotal %ld, %ld, %ld KiB", total0, total1,
                 total2);
        goto out;
    }
    m = mmap(NULL, kb << 10, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED) {
        snprintf(why, sizeof(why), "mmap 64 MiB: %s", strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < kb << 10; i += 4096)
        m[i] = (unsigned char)(i >> 12);
    for (size_t i = 0; i < kb << 10; i += 4096)
        if (m[i] != (unsigned char)(i >> 12) && !why[0])
            snprintf(why, sizeof(why), "memory reads back wrong at %zu", i);
    munmap(m, kb << 10);
out:
    result(!why[0], "balloon_inflate_deflate", NULL, why);
}

/*
 * vmi-bench's balloon measurement: nearly all free memory is written (so
 * that QEMU backs it), then the balloon takes 128 MiB; vmi-bench reads
 * QEMU's RSS at each "# bench balloon" line, which is followed by a 2 s
 * pause.
 */
static void bench_balloon(void)
{
    const unsigned long kb = 131072;
    long avail = meminfo_kb("MemAvailable:");
    size_t len = avail > 32768 ? (size_t)(avail - 24576) << 10 : 0;
    char why[200] = "";
    unsigned char *m;

    m = len ? mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            : MAP_FAILED;
    if (m == MAP_FAILED) {
        out("# bench balloon failed: %ld KiB available\n", avail);
        return;
    }
    memset(m, 0x5a, len);
    munmap(m, len);
    out("# bench balloon touched %zu\n", len >> 10);
    sleep(2);
    if (balloon_to(kb, why, sizeof(why)) != 0) {
        out("# bench balloon failed: %s\n", why);
        return;
    }
    out("# bench balloon inflated %lu\n", kb);
    sleep(2);
    if (balloon_to(0, why, sizeof(why)) != 0)
        out("# bench balloon failed: %s\n", why);
}

/*
 * Reboot and come back.  What the first boot must tell the second (that it
 * rebooted on purpose, how many cases ran and failed) is left in the CMOS
 * RAM of the PC's real-time clock, which a reset of the machine keeps (QEMU
 * clears it only when the VM is created), in 4 bytes past what the BIOS
 * uses: a 2-byte mark, the case count, the failure count.
 */
enum { CMOS_INDEX = 0x70, CMOS_DATA = 0x71, CMOS_MARK = 0x7c };

static int cmos_access(void)
{
    return ioperm(CMOS_INDEX, 2, 1);
}

static unsigned cmos_read(unsigned at)
{
    outb((unsigned char)at, CMOS_INDEX);
    return inb(CMOS_DATA);
}

static void cmos_write(unsigned at, unsigned v)
{
    outb((unsigned char)at, CMOS_INDEX);
    outb((unsigned char)v, CMOS_DATA);
}

/* 1 when this boot is the one after the reboot case's (the mark cleared). */
static int came_back(void)
{
    if (cmos_access() != 0 || cmos_read(CMOS_MARK) != 'V' ||
        cmos_read(CMOS_MARK + 1) != 'M')
        return 0;
    ncase = (int)cmos_read(CMOS_MARK + 2);
    failures = (int)cmos_read(CMOS_MARK + 3);
    cmos_write(CMOS_MARK, 0);
    cmos_write(CMOS_MARK + 1, 0);
    return 1;
}

/* First boot: leave the mark and reboot; returns only if that failed. */
static void reboot_and_come_back(void)
{
    char why[160];

    if (cmos_access() != 0) {
        snprintf(why, sizeof(why), "ioperm(CMOS): %s", strerror(errno));
        result(0, "reboot_and_come_back", NULL, why);
        return;
    }
    cmos_write(CMOS_MARK + 2, (unsigned)ncase);
    cmos_write(CMOS_MARK + 3, (unsigned)failures);
    cmos_write(CMOS_MARK, 'V');
    cmos_write(CMOS_MARK + 1, 'M');
    out("# rebooting: the report goes on in the next boot\n");
    sync();
    reboot(RB_AUTOBOOT);
    snprintf(why, sizeof(why), "reboot(RB_AUTOBOOT) returned: %s",
             strerror(errno));
    cmos_write(CMOS_MARK, 0);
    result(0, "reboot_and_come_back", NULL, why);
}

/*
 * The kernel after a reboot or a kexec: it found and negotiated OpenVMI
 * again (the interface back in its initial state, by the host's reset of
 * the machine or the old kernel's RESET: a NEGOTIATE would otherwise
 * fail), its clock and clock events are OpenVMI's, every CPU is online
 * again and a 2 ms sleep ends, not early.  Case `name`.
 */
static void back_after(int want, unsigned cpus, const char *name,
                       const char *how)
{
    char cs[64] = "", ce[64] = "", why[200] = "";
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    struct timespec ts = {0, 2000000};
    uint64_t t0, d;
    int found = kernel_found_openvmi();

    read_file("/sys/devices/system/clocksource/clocksource0/"
              "current_clocksource",
              cs, sizeof(cs));
    read_file("/sys/devices/system/clockevents/clockevent0/current_device", ce,
              sizeof(ce));
    t0 = now_ns(CLOCK_MONOTONIC);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    d = now_ns(CLOCK_MONOTONIC) - t0;
    out("# back after the %s: OpenVMI %s, clocksource %s, clock events "
        "%s, %ld CPUs online, 2 ms sleep took %llu us\n",
        how, found == 1 ? "found" : "not found", cs, ce, online,
        (unsigned long long)(d / 1000));
    if (want && found != 1)
        snprintf(why, sizeof(why), "OpenVMI not found after the %s", how);
    else if (want && (strcmp(cs, "openvmi") || strcmp(ce, "openvmi")))
        snprintf(why, sizeof(why), "clocksource %s, clock events %s", cs, ce);
    else if (online != (long)cpus)
        snprintf(why, sizeof(why), "%ld CPUs online, %u expected", online,
                 cpus);
    else if (d < 2000000)
        snprintf(why, sizeof(why), "a 2 ms sleep took %llu ns",
                 (unsigned long long)d);
    result(!why[0], name, NULL, why);
}

/* Append a newc cpio entry (see the kernel's initramfs buffer format). */
static int cpio_entry(int fd, const char *name, unsigned mode, int data_fd,
                      uint32_t size)
{
    static const char zeros[4];
    char hdr[128], buf[65536];
    size_t nlen = strlen(name) + 1;
    int n = snprintf(hdr, sizeof(hdr),
                     "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X"
                     "%08X%08X",
                     0u, mode, 0u, 0u, 1u, 0u, size, 0u, 0u, 0u, 0u,
                     (unsigned)nlen, 0u);

    if (write(fd, hdr, (size_t)n) != n ||
        write(fd, name, nlen) != (ssize_t)nlen ||
        write(fd, zeros, (4 - (110 + nlen) % 4) % 4) < 0)
        return -1;
    for (uint32_t left = size; left;) {
        ssize_t r = read(data_fd, buf, left < sizeof(buf) ? left : sizeof(buf));

        if (r <= 0 || write(fd, buf, (size_t)r) != r)
            return -1;
        left -= (uint32_t)r;
    }
    return write(fd, zeros, (4 - size % 4) % 4) < 0 ? -1 : 0;
}

/*
 * The initrd for a kexec: /kexec/bzImage again, as a cpio written to
 * /kexec.cpio, so that the kernel kexec starts can load it in turn (as its
 * crash kernel).  An fd to read it from, or -1.
 */
static int kexec_initrd(int kernel_fd)
{
    struct stat st;
    int fd = open("/kexec.cpio", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0 || fstat(kernel_fd, &st) != 0 ||
        cpio_entry(fd, "kexec", 040755, -1, 0) != 0 ||
        cpio_entry(fd, "kexec/bzImage", 0100644, kernel_fd,
                   (uint32_t)st.st_size) != 0 ||
        cpio_entry(fd, "TRAILER!!!", 0, -1, 0) != 0 ||
        lseek(kernel_fd, 0, SEEK_SET) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* kexec_file_load() refuses a file that is open for writing. */
    close(fd);
    return open("/kexec.cpio", O_RDONLY | O_CLOEXEC);
}

/*
 * Load the same kernel (its bzImage, /kexec/bzImage, from the initrd the
 * test gives QEMU) with kexec_file_load(), as the next kernel (with an
 * initrd holding the bzImage again) or, with KEXEC_FILE_ON_CRASH, as the
 * crash kernel (without), with this command line (without an earlier
 * openvmi_test.after=, and for a crash kernel without crashkernel=) plus
 * openvmi_test.after=HOW,N,F: how it was started and where the report
 * stands, for the new kernel's program.  0, or -1 with why filled.
 */
static int load_next_kernel(const char *how, unsigned long flags, char *why,
                            size_t cap)
{
    static char cl[sizeof(cmdline) + 64];
    size_t n = 0;
    int fd = open("/kexec/bzImage", O_RDONLY | O_CLOEXEC), ird, rc = 0;

    if (fd < 0) {
        snprintf(why, cap, "/kexec/bzImage: %s", strerror(errno));
        return -1;
    }
    for (char *w = cmdline, *e; *w; w = e) {
        while (*w == ' ')
            w++;
        e = w + strcspn(w, " ");
        if (e == w || strncmp(w, "openvmi_test.after=", 19) == 0 ||
            ((flags & KEXEC_FILE_ON_CRASH) &&
             strncmp(w, "crashkernel=", 12) == 0))
            continue;
        n += (size_t)snprintf(cl + n, sizeof(cl) - n, "%.*s ", (int)(e - w), w);
    }
    snprintf(cl + n, sizeof(cl) - n, "openvmi_test.after=%s,%d,%d", how, ncase,
             failures);
    /* A crash kernel loads nothing more; a kexec'd one may. */
    ird = flags & KEXEC_FILE_ON_CRASH ? -1 : kexec_initrd(fd);
    if (ird < 0 && !(flags & KEXEC_FILE_ON_CRASH)) {
        snprintf(why, cap, "/kexec.cpio: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (syscall(SYS_kexec_file_load, fd, ird, strlen(cl) + 1, cl,
                flags | (ird < 0 ? KEXEC_FILE_NO_INITRAMFS : 0)) != 0) {
        snprintf(why, cap, "kexec_file_load (%s): %s", how, strerror(errno));
        rc = -1;
    }
    close(fd);
    if (ird >= 0)
        close(ird);
    return rc;
}

/* kexec into the same kernel; returns only if the kexec failed. */
static void kexec_and_come_back(void)
{
    char why[200];

    if (load_next_kernel("kexec", 0, why, sizeof(why)) == 0) {
        out("# kexec: the report goes on in the next kernel\n");
        sync();
        syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                LINUX_REBOOT_CMD_KEXEC, NULL);
        snprintf(why, sizeof(why), "reboot(KEXEC) returned: %s",
                 strerror(errno));
    }
    result(0, "kexec_and_come_back", NULL, why);
}

/*
 * Load the same kernel as the crash kernel and end the program, init,
 * from CPU 0 (the crash kernel boots on the CPU that panics, and CPU n is
 * vCPU n): the kernel panics and starts it.  Returns only if the load
 * failed.
 */
static void crash_and_come_back(void)
{
    char why[200];

    if (load_next_kernel("crash", KEXEC_FILE_ON_CRASH, why, sizeof(why)) == 0) {
        /*
         * From the last CPU: the crash kernel then boots on a vCPU other
         * than vCPU 0 (with 2 or more), and must find out which.
         */
        int cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;

        pin_to(cpu > 0 ? cpu : 0);
        out("# crash: init ends on CPU %d, the kernel panics into its crash "
            "kernel\n",
            cpu > 0 ? cpu : 0);
        sync();
        exit(0);
    }
    result(0, "crash_and_come_back", NULL, why);
}

static void power_off(int have_openvmi, unsigned status)
{
    char buf[16];
    int fd, n;

    /*
     * The console's last lines must be out before QEMU ends at the
     * isa-debug-exit write: a slow kernel's UART (the Debian cloud
     * kernel's, 2 vCPUs under TCG) still held a bench line there.
     */
    tcdrain(STDOUT_FILENO);
    sync();
    if (have_openvmi) {
        fd = open("/sys/module/openvmi/parameters/poweroff_status", O_WRONLY);
        if (fd >= 0) {
            n = snprintf(buf, sizeof(buf), "%u\n", status);
            if (write(fd, buf, (size_t)n) != n)
                out("# poweroff_status: %s\n", strerror(errno));
            close(fd);
        } else {
            /* Found but not negotiated: OpenVMI cannot power off. */
            out("# no poweroff_status parameter: %s\n", strerror(errno));
            if (ioperm(0xf4, 1, 1) == 0)
                outb((unsigned char)status, 0xf4);
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
    int want = 1, have, kx, cr;
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

    kx = flag("openvmi_test.kexec");
    cr = flag("openvmi_test.crash");
    p = param("openvmi_test.after");
    if (p) {
        char how[8] = "";

        if (sscanf(p, "%7[a-z],%d,%d", how, &ncase, &failures) != 3)
            ncase = failures = 0;
        if (strcmp(how, "crash") == 0) {
            back_after(want, cpus, "crash_and_come_back", "crash");
        } else {
            back_after(want, cpus, "kexec_and_come_back", "kexec");
            if (cr)
                crash_and_come_back();
        }
        goto done;
    }
    if (strstr(cmdline, "openvmi_test.reboot") && came_back()) {
        back_after(want, cpus, "reboot_and_come_back", "reboot");
        if (kx)
            kexec_and_come_back();
        goto done;
    }
    out("KTAP version 1\n");
    if (flag("openvmi_test.migrate")) {
        out("1..2\n");
        case_detected(want);
        case_monotonic_across_migration();
    } else if (strstr(cmdline, "openvmi_test.boot_only")) {
        out("1..0 # SKIP boot_only: boot and power-off timing\n");
    } else if (strstr(cmdline, "openvmi_test.bench")) {
        out("1..0 # SKIP bench: measurements for vmi-bench\n");
        if (strstr(cmdline, "openvmi_test.bench=balloon"))
            bench_balloon();
        else
            bench();
    } else {
        int rb = strstr(cmdline, "openvmi_test.reboot") != NULL;

        out("1..%d\n", 14 + rb + kx + (kx && cr));
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
        case_timerfd();
        case_balloon(want);
        case_tlb_flush(want);
        case_idle_through_block(want);
        if (rb)
            reboot_and_come_back();
        else if (kx)
            kexec_and_come_back();
    }
done:
    have = kernel_found_openvmi() == 1;
    out("# %d of %d cases failed; powering off with status %u%s\n", failures,
        ncase, status + (failures ? 1 : 0),
        have ? " through OpenVMI" : " through isa-debug-exit");
    power_off(have, status + (failures ? 1 : 0));
    return 1;
}
