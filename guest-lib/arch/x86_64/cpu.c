/* SPDX-License-Identifier: MIT */
/* arch/x86_64/cpu.c: CPUID, TSC, the VMCALL/VMMCALL/port-I/O transports. */
#include "../../src/internal.h"

void vmi__arch_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    uint32_t a = leaf, b, c = subleaf, d;

    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    regs[0] = a;
    regs[1] = b;
    regs[2] = c;
    regs[3] = d;
}

uint64_t vmi__arch_rdtsc(void)
{
    uint32_t lo, hi;

    /* lfence: the TSC is not read before earlier loads (the version). */
    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t)hi << 32 | lo;
}

uint32_t vmi__arch_transports(void)
{
    return VMI_TRANSPORT_VMCALL | VMI_TRANSPORT_VMMCALL | VMI_TRANSPORT_PORTIO;
}

/*
 * The x86-64 binding: nr in RAX, args in RDI RSI R8 R9 R10, status in RAX,
 * results in RDI RSI; every other register preserved by the host (RDX
 * holds the doorbell port).  "memory": the host reads and writes guest RAM.
 */
#define VMI_CALL_ASM(insn)                                                     \
    __asm__ volatile(insn                                                      \
                     : "+a"(rax), "+D"(rdi), "+S"(rsi)                         \
                     : "d"(rdx), "r"(r8), "r"(r9), "r"(r10)                    \
                     : "memory")

int64_t vmi__arch_call(uint32_t t, uint16_t port, uint64_t nr,
                       const uint64_t args[VMI_HC_MAX_ARGS],
                       uint64_t rets[VMI_HC_MAX_RETS])
{
    uint64_t rax = nr, rdi = args[0], rsi = args[1], rdx = port;
    register uint64_t r8 __asm__("r8") = args[2];
    register uint64_t r9 __asm__("r9") = args[3];
    register uint64_t r10 __asm__("r10") = args[4];

    switch (t) {
    case VMI_GUEST_T_PORTIO:
        VMI_CALL_ASM("outl %%eax, %%dx");
        break;
    case VMI_GUEST_T_VMCALL:
        VMI_CALL_ASM("vmcall");
        break;
    case VMI_GUEST_T_VMMCALL:
        VMI_CALL_ASM("vmmcall");
        break;
    default:
        rets[0] = rets[1] = 0;
        return -VMI_E_NOSYS;
    }
    rets[0] = rdi;
    rets[1] = rsi;
    return (int64_t)rax;
}

void vmi__arch_tlb_flush_local(void)
{
    uint64_t cr3;

    /* Reloading CR3 drops every non-global translation of this CPU. */
    __asm__ volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3)::"memory");
}

void vmi__arch_pause(void)
{
    __asm__ volatile("pause" ::: "memory");
}

uint64_t vmi__arch_irq_save(void)
{
    uint64_t flags;

    __asm__ volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
    return flags;
}

void vmi__arch_irq_restore(uint64_t state)
{
    if (state & (UINT64_C(1) << 9)) /* RFLAGS.IF */
        __asm__ volatile("sti" ::: "memory");
}
