/* SPDX-License-Identifier: MIT */
/* cpuid.c: the discovery leaves (x86 CPUID block, also served as SMCCC
 * INFO words on aarch64 by the embedder). */
#include <string.h>

#include "vm.h"

VMI_HOST_API uint32_t vmi_host_cpuid_base(void)
{
    return 0x40000100u;
}

static uint32_t profiles(const struct vmi_host_vm *vm)
{
    uint64_t f = vm->cfg.features;
    uint32_t p = 0;

    if ((f & VMI_PROFILE_CORE_FEATURES) == VMI_PROFILE_CORE_FEATURES) {
        /* host-lib saves and restores everything: MIGRATION comes free. */
        p |= VMI_PROFILE_CORE | VMI_PROFILE_MIGRATION;
        if ((f & VMI_PROFILE_PAGETABLE_FEATURES) ==
            VMI_PROFILE_PAGETABLE_FEATURES)
            p |= VMI_PROFILE_PAGETABLE;
    }
    return p;
}

static uint32_t vendor_word(const struct vmi_host_vm *vm, unsigned i)
{
    uint32_t w;

    memcpy(&w, vm->vendor + 4 * i, 4);
    return w;
}

VMI_HOST_API int vmi_host_cpuid(struct vmi_host_vm *vm, uint32_t vcpu,
                                uint32_t base, uint32_t leaf, uint32_t regs[4])
{
    return vmi_host_cpuid_sub(vm, vcpu, base, leaf, 0, regs);
}

/* Leaf B+9: the platform id of vCPU `sub` (VMI-DSC-043, VMI-DSC-044). */
static void vcpu_map(const struct vmi_host_vm *vm, uint32_t vcpu, uint32_t sub,
                     uint32_t regs[4])
{
    if (VMI__FAULT_IS(vm, VCPU_MAP_IGNORES_ECX) && vcpu < vm->cfg.vcpu_count &&
        sub < vm->cfg.vcpu_count)
        sub = vcpu; /* a per-vCPU table without the subleaf */
    if (sub < vm->cfg.vcpu_count) {
        regs[0] = vm->vcpus[vmi__nospec(sub, vm->cfg.vcpu_count)].platform_id;
        regs[1] = VMI_VCPU_MAP_EXISTS;
    } else if (VMI__FAULT_IS(vm, VCPU_MAP_PAST_COUNT)) {
        regs[0] = sub; /* an identity map with no end */
        regs[1] = VMI_VCPU_MAP_EXISTS;
    }
}

VMI_HOST_API int vmi_host_cpuid_sub(struct vmi_host_vm *vm, uint32_t vcpu,
                                    uint32_t base, uint32_t leaf,
                                    uint32_t subleaf, uint32_t regs[4])
{
    uint32_t off;

    if (!vm || !regs || base < VMI_CPUID_SCAN_FIRST ||
        base > VMI_CPUID_SCAN_LAST || (base & (VMI_CPUID_SCAN_STEP - 1)))
        return 0;
    if (leaf < base || leaf - base >= VMI_CPUID_SCAN_STEP)
        return 0;
    off = leaf - base;
    memset(regs, 0, 4 * sizeof(regs[0]));
    switch (off) {
    case VMI_CPUID_SIGNATURE:
        regs[0] = base + VMI_CPUID_LEAF_COUNT - 1;
        if (VMI__FAULT_IS(vm, TIMING_LEAF_MISSING))
            regs[0] = base + VMI_CPUID_VENDOR2; /* the first 1.0 draft */
        if (VMI__FAULT_IS(vm, CPUID_WRONG_MAX_LEAF))
            regs[0] = base + VMI_CPUID_VENDOR1; /* below B + 6 */
        regs[1] = VMI_CPUID_SIGNATURE_EBX;
        regs[2] = VMI_CPUID_SIGNATURE_ECX;
        regs[3] = VMI_CPUID_SIGNATURE_EDX;
        break;
    case VMI_CPUID_VERSION:
        regs[0] = VMI_SPEC_VERSION;
        regs[1] = VMI_VERSION(1, 0);
        regs[2] = vm->cfg.transports;
        regs[3] = (vm->cfg.transports & VMI_TRANSPORT_PORTIO)
                      ? vm->cfg.port & VMI_CPUID_PORT_MASK
                      : 0;
        break;
    case VMI_CPUID_FEATURES:
        regs[0] = (uint32_t)vm->cfg.features;
        regs[1] = (uint32_t)(vm->cfg.features >> 32);
        regs[2] = vm->cfg.vcpu_count;
        regs[3] = profiles(vm);
        break;
    case VMI_CPUID_LIMITS:
        regs[0] = vm->cfg.max_batch;
        regs[1] = vm->cfg.timer_count;
        if (VMI__FAULT_IS(vm, TIMERS_FEWER_THAN_VCPUS))
            regs[1] = vm->cfg.vcpu_count > 1 ? vm->cfg.vcpu_count - 1 : 0;
        regs[2] = VMI__MAX_CONSOLE;
        regs[3] = vm->cfg.max_pinned;
        if (VMI__FAULT_IS(vm, PIN_LIMIT_TINY) && regs[3])
            regs[3] = 1; /* the first draft's minimum */
        break;
    case VMI_CPUID_TIMING:
        if (VMI__FAULT_IS(vm, TIMING_LEAF_MISSING))
            break; /* the first 1.0 draft had no leaf B+7 */
        regs[0] = vm->cfg.timer_min_delta_ns;
        regs[1] = vm->cfg.timer_resolution_ns;
        regs[2] = vm->cfg.clock_skew_ns;
        if (VMI__FAULT_IS(vm, SKEW_WITH_STABLE_TSC) && vm->cfg.tsc_stable)
            regs[2] = 1000;
        break;
    case VMI_CPUID_VCPU:
        /* Above the highest leaf the faults announce: zero (VMI-DSC-004). */
        if (VMI__FAULT_IS(vm, TIMING_LEAF_MISSING) ||
            VMI__FAULT_IS(vm, CPUID_WRONG_MAX_LEAF))
            break;
        /* The caller's id (VMI-DSC-040); the fault answers 0 everywhere. */
        if (vcpu < vm->cfg.vcpu_count && !VMI__FAULT_IS(vm, VCPU_LEAF_ZERO))
            regs[0] = vcpu;
        break;
    case VMI_CPUID_VCPU_MAP:
        if (VMI__FAULT_IS(vm, TIMING_LEAF_MISSING) ||
            VMI__FAULT_IS(vm, CPUID_WRONG_MAX_LEAF))
            break;
        vcpu_map(vm, vcpu, subleaf, regs);
        break;
    case VMI_CPUID_VENDOR0:
    case VMI_CPUID_VENDOR1:
    case VMI_CPUID_VENDOR2:
        for (unsigned i = 0; i < 4; i++)
            regs[i] = vendor_word(vm, (off - VMI_CPUID_VENDOR0) * 4 + i);
        break;
    default:
        /* Above the block's highest leaf: zeros, like real CPUs. */
        break;
    }
    return 1;
}

VMI_HOST_API int vmi_host_smccc(struct vmi_host_vm *vm, uint32_t vcpu,
                                const uint64_t x[6], uint64_t out[4],
                                struct vmi_host_call *call)
{
    const uint32_t base = vmi_host_cpuid_base();
    uint32_t w0, regs[4];

    if (!vm || !x || !out || !call || !(vm->cfg.transports & VMI_TRANSPORT_HVC))
        return VMI_HOST_SMCCC_OTHER;
    w0 = (uint32_t)x[0]; /* SMCCC: W0 names the function (VMI-CALL-036) */
    if (w0 == VMI_SMCCC_CALL_UID) {
        out[0] = VMI_SMCCC_UID_W0;
        out[1] = VMI_SMCCC_UID_W1;
        out[2] = VMI_SMCCC_UID_W2;
        out[3] = VMI_SMCCC_UID_W3;
        return VMI_HOST_SMCCC_ANSWER;
    }
    if ((w0 & ~0xFFu) == VMI_SMCCC_INFO_BASE) {
        vmi_host_cpuid_sub(vm, vcpu, base, base + (w0 & 0xFFu), (uint32_t)x[1],
                           regs);
        /* Function 0's x0: the highest function, not B plus it. */
        if ((w0 & 0xFFu) == VMI_CPUID_SIGNATURE)
            regs[0] -= base;
        for (unsigned i = 0; i < 4; i++)
            out[i] = regs[i];
        return VMI_HOST_SMCCC_ANSWER;
    }
    if ((w0 & 0xFFFF0000u) == VMI_SMCCC_CALL_BASE) {
        memset(call, 0, sizeof(*call));
        call->nr = w0 & 0xFFFFu;
        for (unsigned i = 0; i < VMI_HC_MAX_ARGS; i++)
            call->args[i] = x[1 + i];
        return VMI_HOST_SMCCC_CALL;
    }
    return VMI_HOST_SMCCC_OTHER;
}
