/* SPDX-License-Identifier: MIT */
/* arch/aarch64/smccc.h: OpenVMI SMCCC discovery presented as CPUID leaves. */
#ifndef VMI_GUEST_ARCH_SMCCC_H
#define VMI_GUEST_ARCH_SMCCC_H

#include "../../src/internal.h"

/* An SMCCC call: fid, five args, x0-x3 out. */
typedef void (*vmi__smccc_fn)(uint32_t fid,
                              const uint64_t args[VMI_HC_MAX_ARGS],
                              uint64_t out[4]);

/* The HVC #0 conduit (arch/aarch64/cpu.c). */
void vmi__arch_smccc(uint32_t fid, const uint64_t args[VMI_HC_MAX_ARGS],
                     uint64_t out[4]);

/*
 * Answer a CPUID-shaped query through smccc (arch/aarch64/smccc.c):
 * leaf 1 has ECX bit 31 set iff CALL_UID returns the OpenVMI UUID; leaf
 * 0x40000000 + n returns INFO(n) with the subleaf in x1 (VMI-DSC-045),
 * n below VMI_CPUID_LEAF_COUNT, the signature leaf's EAX rebased
 * onto 0x40000000.  Everything else reads zero.
 */
void vmi__smccc_cpuid(vmi__smccc_fn smccc, uint32_t leaf, uint32_t subleaf,
                      uint32_t regs[4]);

#endif /* VMI_GUEST_ARCH_SMCCC_H */
