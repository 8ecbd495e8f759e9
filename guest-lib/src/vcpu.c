/* SPDX-License-Identifier: MIT */
/* vcpu.c: starting secondary vCPUs. */
#include "internal.h"

int vmi_guest_vcpu_stop(const struct vmi_guest *g)
{
    return (int)vmi__call5(g, VMI_HC_VCPU_STOP, 0, 0, 0, 0, 0, 0);
}

int vmi_guest_vcpu_start(const struct vmi_guest *g, uint32_t vcpu,
                         const struct vmi_vcpu_start *st)
{
    /* The host reads *st once, during the call: st may be reused after. */
    return (int)vmi__call5(g, VMI_HC_VCPU_START, vcpu, vmi__phys(g, st), 0, 0,
                           0, 0);
}
