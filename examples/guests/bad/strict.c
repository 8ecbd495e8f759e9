/* SPDX-License-Identifier: MIT */
/*
 * strict.c: a guest that breaks guest-side clauses on purpose, for
 * vmi-run --strict: a call before negotiation, reserved flags set, a
 * misaligned record, a GPA outside RAM.  Then it exits 0.
 */
#include "rt.h"

static struct vmi_clock_record rec __attribute__((aligned(64)));

int kmain(const struct rt_boot *boot)
{
    uint64_t args[VMI_HC_MAX_ARGS] = {0}, rets[VMI_HC_MAX_RETS];
    int64_t st;
    int rc;

    (void)boot;
    /* 1: TIMER_ARM before NEGOTIATE. */
    st = vmi_guest_call(&rt_vmi, VMI_HC_TIMER_ARM, args, rets);
    rt_printf("bad_strict: call before negotiation -> %s\n",
              vmi_guest_status_name(st));
    rc = vmi_guest_negotiate(&rt_vmi, VMI_F_CLOCK | VMI_F_EVENTS, 0);
    if (rc)
        rt_panic("negotiate: %s", vmi_guest_status_name(rc));
    /* 2: CLOCK_REGISTER with reserved flags set. */
    args[0] = (uint64_t)(uintptr_t)&rec;
    args[1] = 1;
    st = vmi_guest_call(&rt_vmi, VMI_HC_CLOCK_REGISTER, args, rets);
    rt_printf("bad_strict: reserved flags -> %s\n", vmi_guest_status_name(st));
    /* 3: misaligned record. */
    args[0] = (uint64_t)(uintptr_t)&rec + 8;
    args[1] = 0;
    st = vmi_guest_call(&rt_vmi, VMI_HC_CLOCK_REGISTER, args, rets);
    rt_printf("bad_strict: misaligned record -> %s\n",
              vmi_guest_status_name(st));
    /* 4: record outside RAM. */
    args[0] = 0x7FFFFFFFFFE0ull;
    st = vmi_guest_call(&rt_vmi, VMI_HC_CLOCK_REGISTER, args, rets);
    rt_printf("bad_strict: GPA outside RAM -> %s\n", vmi_guest_status_name(st));
    return 0;
}
