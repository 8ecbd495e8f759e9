/* SPDX-License-Identifier: MIT */
/*
 * probe.c: reports what OpenVMI discovery finds and exits: the block's
 * base, versions, transports, doorbell port, vCPU count, offered features
 * and profiles, limits and the host's identity.  It calls no feature (only
 * the console and SHUTDOWN, which need no negotiation), so it also runs on
 * a host that offers none.  Its output and exit go
 * through OpenVMI's console and SHUTDOWN when the host has a usable
 * transport (the runtime's choice), else to COM1 and isa-debug-exit.
 * Exit status: the command line's status=N (default 0) when a block was
 * found, 3 when OpenVMI is absent.
 *
 * wait_stop=S: negotiate the clock, register the record, say "waiting for
 * a stop" and poll the record for up to S seconds of VM time for
 * GUEST_STOPPED (the test stops and continues the VM meanwhile); report
 * it, clear it as Linux does, and check that it stays clear.
 */
#include "rt.h"

static void wait_for_stop(uint64_t seconds)
{
    volatile struct vmi_clock_record *c;
    uint64_t granted = 0, t0;

    if (rt_vmi_setup(VMI_F_CLOCK, &granted) || !(granted & VMI_F_CLOCK)) {
        rt_printf("probe: no clock granted\n");
        return;
    }
    c = &rt_cpu(0)->clock;
    rt_printf("probe: waiting for a stop\n");
    t0 = rt_now();
    while (!(c->flags & VMI_CLOCK_GUEST_STOPPED) &&
           rt_now() - t0 < seconds * 1000000000u)
        ;
    if (!(c->flags & VMI_CLOCK_GUEST_STOPPED)) {
        rt_printf("probe: no GUEST_STOPPED within %lu s\n",
                  (unsigned long)seconds);
        return;
    }
    rt_printf("probe: GUEST_STOPPED after the stop\n");
    __atomic_and_fetch(&c->flags, (uint8_t)~VMI_CLOCK_GUEST_STOPPED,
                       __ATOMIC_RELAXED);
    t0 = rt_now();
    while (rt_now() - t0 < 100000000u)
        ;
    rt_printf("probe: GUEST_STOPPED %s after the clear\n",
              (c->flags & VMI_CLOCK_GUEST_STOPPED) ? "set again" : "clear");
}

int kmain(const struct rt_boot *boot)
{
    const struct vmi_guest_info *in = &rt_vmi.info;
    uint64_t status = 0, wait_s = 0;

    rt_cmdline_u64(boot->cmdline, "status", &status);
    if (!in->cpuid_base) {
        rt_printf("probe: OpenVMI absent\n");
        return 3;
    }
    rt_printf(
        "probe: OpenVMI block at 0x%x: versions %u.%u to %u.%u, "
        "transports 0x%x, port 0x%x\n",
        in->cpuid_base, VMI_VERSION_MAJOR(in->version_min),
        VMI_VERSION_MINOR(in->version_min), VMI_VERSION_MAJOR(in->version_max),
        VMI_VERSION_MINOR(in->version_max), in->transports, (unsigned)in->port);
    rt_printf("probe: %u vCPU(s), features 0x%lx, profiles 0x%x, timers %u, "
              "max batch %u\n",
              in->vcpu_count, (unsigned long)in->features, in->profiles,
              in->timer_count, in->max_batch);
    rt_printf("probe: host \"%s\"\n", in->vendor);
    rt_printf("probe: calls %s\n", boot->vmi ? "usable" : "not usable");
    if (rt_cmdline_u64(boot->cmdline, "wait_stop", &wait_s) && boot->vmi)
        wait_for_stop(wait_s);
    return (int)status;
}
