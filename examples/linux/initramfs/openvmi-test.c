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
 *   openvmi_test.boot_only               no case: report an empty plan and
 *                                        power off at once (vmi-bench times
 *                                        the boot and the power-off, not the
 *                                        cases).
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
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/reboot.h>
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
    unsigned status = 0;

    kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) != 0)
        cmdline[0] = 0;
    p = param("openvmi_test.expect");
    if (p && strncmp(p, "absent", 6) == 0)
        want = 0;
    p = param("openvmi_test.status");
    if (p)
        status = (unsigned)strtoul(p, NULL, 0);

    out("KTAP version 1\n");
    if (strstr(cmdline, "openvmi_test.boot_only")) {
        out("1..0 # SKIP boot_only: boot and power-off timing\n");
    } else {
        out("1..5\n");
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
    }
    have = kernel_found_openvmi() == 1;
    out("# %d of %d cases failed; powering off with status %u%s\n", failures,
        ncase, status + (failures ? 1 : 0),
        have ? " through OpenVMI" : " through isa-debug-exit");
    power_off(have, status + (failures ? 1 : 0));
    return 1;
}
