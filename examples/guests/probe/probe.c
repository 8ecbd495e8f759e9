/* SPDX-License-Identifier: MIT */
/*
 * probe.c: reports what OpenVMI discovery finds and exits: the block's
 * base, versions, transports, doorbell port, vCPU count, offered features
 * and profiles, limits and the host's identity.  It makes no hypercall, so
 * it also runs on a host that offers no feature.  Its output and exit go
 * through OpenVMI's console and SHUTDOWN when the host has a usable
 * transport (the runtime's choice), else to COM1 and isa-debug-exit.
 * Exit status: the command line's status=N (default 0) when a block was
 * found, 3 when OpenVMI is absent.
 */
#include "rt.h"

int kmain(const struct rt_boot *boot)
{
    const struct vmi_guest_info *in = &rt_vmi.info;
    uint64_t status = 0;

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
    return (int)status;
}
