/* SPDX-License-Identifier: MIT */
/* arch/aarch64/cpu.c: SMCCC HVC transport, discovery in CPUID shape, CNTVCT. */
#include "../../src/internal.h"
#include "smccc.h"

/*
 * Raw SMCCC 1.1 HVC #0: fid in x0, args in x1-x5; x0-x3 out.  OpenVMI
 * hosts preserve every other register; x4/x5 are marked clobbered anyway
 * because plain SMCCC 1.0 hosts may not.
 */
void vmi__arch_smccc(uint32_t fid, const uint64_t args[VMI_HC_MAX_ARGS],
                     uint64_t out[4])
{
    register uint64_t x0 __asm__("x0") = fid;
    register uint64_t x1 __asm__("x1") = args[0];
    register uint64_t x2 __asm__("x2") = args[1];
    register uint64_t x3 __asm__("x3") = args[2];
    register uint64_t x4 __asm__("x4") = args[3];
    register uint64_t x5 __asm__("x5") = args[4];

    __asm__ volatile("hvc #0"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4),
                       "+r"(x5)
                     :
                     : "memory");
    out[0] = x0;
    out[1] = x1;
    out[2] = x2;
    out[3] = x3;
}

void vmi__arch_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    vmi__smccc_cpuid(vmi__arch_smccc, leaf, subleaf, regs);
}

uint64_t vmi__arch_rdtsc(void)
{
    uint64_t v;

    /* isb: the counter is not read before earlier instructions complete. */
    __asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v)::"memory");
    return v;
}

uint32_t vmi__arch_transports(void)
{
    return VMI_TRANSPORT_HVC;
}

int64_t vmi__arch_call(uint32_t t, uint16_t port, uint64_t nr,
                       const uint64_t args[VMI_HC_MAX_ARGS],
                       uint64_t rets[VMI_HC_MAX_RETS])
{
    uint64_t out[4];

    (void)port;
    rets[0] = rets[1] = 0;
    /* The function id has room for 16 bits of call number. */
    if (t != VMI_GUEST_T_HVC || nr > 0xFFFFu)
        return -VMI_E_NOSYS;
    vmi__arch_smccc(VMI_SMCCC_CALL(nr), args, out);
    rets[0] = out[1];
    rets[1] = out[2];
    return (int64_t)out[0];
}

void vmi__arch_tlb_flush_local(void)
{
    __asm__ volatile("dsb ishst\n\ttlbi vmalle1\n\tdsb nsh\n\tisb" ::
                         : "memory");
}

void vmi__arch_pause(void)
{
    __asm__ volatile("yield" ::: "memory");
}

uint64_t vmi__arch_irq_save(void)
{
    uint64_t daif;

    __asm__ volatile("mrs %0, daif; msr daifset, #2" : "=r"(daif)::"memory");
    return daif;
}

void vmi__arch_irq_restore(uint64_t state)
{
    __asm__ volatile("msr daif, %0" ::"r"(state) : "memory");
}
