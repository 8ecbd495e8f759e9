/* SPDX-License-Identifier: MIT */
/*
 * hello.c: the smallest useful OpenVMI guest: console, clock, a one-shot
 * timer sleep, shutdown with the status from the command line.
 *
 * Command line: status=N (exit status, default 0), sleep_ms=N (timer sleep,
 * default 5).  Without OpenVMI (QEMU) it says so on COM1 and exits.
 */
#include "rt.h"

#define HELLO_TIMER 0u

int kmain(const struct rt_boot *boot)
{
    uint64_t status = 0, sleep_ms = 5, granted, t0, deadline, t1;
    uint32_t reason = 0;
    int rc;

    rt_cmdline_u64(boot->cmdline, "status", &status);
    rt_cmdline_u64(boot->cmdline, "sleep_ms", &sleep_ms);
    if (!boot->vmi) {
        rt_printf("hello: OpenVMI absent (probe: VMI_E_NOSYS); "
                  "native fallback, exiting\n");
        return (int)status;
    }
    rt_printf("hello: OpenVMI %u.%u host \"%s\", %u vCPU(s), transports "
              "0x%x, doorbell port 0x%x, cmdline \"%s\"\n",
              VMI_VERSION_MAJOR(rt_vmi.info.version_max),
              VMI_VERSION_MINOR(rt_vmi.info.version_max), rt_vmi.info.vendor,
              rt_vmi.info.vcpu_count, (unsigned)rt_vmi.info.transports,
              (unsigned)rt_vmi.info.port, boot->cmdline);
    rc = rt_vmi_setup(VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER, &granted);
    if (rc)
        rt_panic("hello: setup failed: %s", vmi_guest_status_name(rc));
    t0 = rt_now();
    deadline = t0 + sleep_ms * 1000000u;
    rc =
        vmi_guest_timer_arm(&rt_vmi, HELLO_TIMER, deadline, 0, VMI_EVENT_TIMER);
    if (rc)
        rt_panic("hello: TIMER_ARM failed: %s", vmi_guest_status_name(rc));
    /* Interrupts stay off: BLOCK returns when the timer's event is pending. */
    do {
        rc = vmi_guest_block(&rt_vmi, VMI_DEADLINE_NONE, &reason);
        if (rc)
            rt_panic("hello: BLOCK failed: %s", vmi_guest_status_name(rc));
    } while (
        !(vmi_guest_event_take(&rt_this_cpu()->v) & (1ull << VMI_EVENT_TIMER)));
    t1 = rt_now();
    if (t1 < deadline)
        rt_panic("hello: timer woke %lu ns early", deadline - t1);
    rt_printf("hello: clock %lu ns, slept %lu us (asked %lu ms, late %lu us); "
              "shutting down with status %lu\n",
              t0, (t1 - t0) / 1000, sleep_ms, (t1 - deadline) / 1000, status);
    return (int)status;
}
