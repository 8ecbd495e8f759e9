/* SPDX-License-Identifier: MIT */
/*
 * arch/hosted/cpu.c: the hosted build's arch layer.  Everything goes
 * through struct vmi_guest_ops; without an override there is no
 * hypervisor: CPUID reads zero, the counter reads zero, calls fail.
 */
#include "../../src/internal.h"

void vmi__arch_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    (void)leaf;
    (void)subleaf;
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
}

uint64_t vmi__arch_rdtsc(void)
{
    return 0;
}

uint32_t vmi__arch_transports(void)
{
    return 0;
}

int64_t vmi__arch_call(uint32_t t, uint16_t port, uint64_t nr,
                       const uint64_t args[VMI_HC_MAX_ARGS],
                       uint64_t rets[VMI_HC_MAX_RETS])
{
    (void)t;
    (void)port;
    (void)nr;
    (void)args;
    rets[0] = rets[1] = 0;
    return -VMI_E_NOSYS;
}

void vmi__arch_tlb_flush_local(void)
{
}

void vmi__arch_pause(void)
{
}

uint64_t vmi__arch_irq_save(void)
{
    return 0;
}

void vmi__arch_irq_restore(uint64_t state)
{
    (void)state;
}
