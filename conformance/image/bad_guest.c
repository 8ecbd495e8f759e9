/* SPDX-License-Identifier: MIT */
/*
 * bad_guest.c: a guest that breaks guest clauses on purpose, so that
 * vmi-conform --certify-guest can show it catches them: it calls before
 * negotiating, sets reserved flags, passes a misaligned and an out-of-RAM
 * address, makes an unknown call and blocks with interrupts enabled.
 */
#include <rt.h>

static uint64_t rec[8] __attribute__((aligned(64)));

int kmain(const struct rt_boot *boot)
{
    uint64_t a[VMI_HC_MAX_ARGS] = {0, 0, 0, 0, 0}, r[VMI_HC_MAX_RETS];

    if (!boot->vmi)
        return 1;
    /* Before NEGOTIATE: a gated call. */
    vmi_guest_call(&rt_vmi, VMI_HC_TIME_READ, a, r);
    if (vmi_guest_negotiate(&rt_vmi, rt_vmi.info.features, NULL))
        return 2;
    /* Reserved flags, misaligned record, record outside RAM. */
    a[0] = (uint64_t)(uintptr_t)rec;
    a[1] = 1;
    vmi_guest_call(&rt_vmi, VMI_HC_CLOCK_REGISTER, a, r);
    a[0] = (uint64_t)(uintptr_t)rec + 8;
    a[1] = 0;
    vmi_guest_call(&rt_vmi, VMI_HC_CLOCK_REGISTER, a, r);
    a[0] = UINT64_C(0x000F000000000000);
    vmi_guest_call(&rt_vmi, VMI_HC_CLOCK_REGISTER, a, r);
    /* An unknown call number. */
    vmi_guest_call(&rt_vmi, 0x0999, a, r);
    /*
     * BLOCK with interrupts enabled (VMI-EVT-048): an upcall between the
     * guest's last look at its work and the call would be lost.
     */
    a[0] = 0; /* a past deadline: it returns at once */
    a[1] = 0;
    if (rt_vmi.features & VMI_F_EVENTS) {
        rt_irq_enable();
        vmi_guest_call(&rt_vmi, VMI_HC_BLOCK, a, r);
        rt_irq_disable();
    }
    rt_printf("bad guest: done misbehaving\n");
    return 0;
}
