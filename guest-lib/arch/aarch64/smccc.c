/* SPDX-License-Identifier: MIT */
/* arch/aarch64/smccc.c: SMCCC CALL_UID / INFO(n) mapped onto CPUID leaves. */
#include "smccc.h"

/* The base the generic scan finds first; any 0x100 step would do. */
#define SMCCC_BASE VMI_CPUID_SCAN_FIRST

static int is_openvmi(vmi__smccc_fn smccc)
{
    static const uint64_t none[VMI_HC_MAX_ARGS] = {0, 0, 0, 0, 0};
    uint64_t out[4];

    smccc(VMI_SMCCC_CALL_UID, none, out);
    /* SMCCC returns the UUID in w0-w3; the upper halves are ignored. */
    return (uint32_t)out[0] == VMI_SMCCC_UID_W0 &&
           (uint32_t)out[1] == VMI_SMCCC_UID_W1 &&
           (uint32_t)out[2] == VMI_SMCCC_UID_W2 &&
           (uint32_t)out[3] == VMI_SMCCC_UID_W3;
}

void vmi__smccc_cpuid(vmi__smccc_fn smccc, uint32_t leaf, uint32_t subleaf,
                      uint32_t regs[4])
{
    uint64_t args[VMI_HC_MAX_ARGS] = {subleaf, 0, 0, 0, 0};
    uint64_t out[4];
    uint32_t n;

    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    if (leaf == 1) {
        if (is_openvmi(smccc))
            regs[2] = 1u << 31;
        return;
    }
    if (leaf < SMCCC_BASE || leaf - SMCCC_BASE >= VMI_CPUID_LEAF_COUNT)
        return;
    n = leaf - SMCCC_BASE;
    /* INFO is only meaningful behind the UUID (SMCCC vendor range). */
    if (!is_openvmi(smccc))
        return;
    smccc(VMI_SMCCC_INFO(n), args, out);
    regs[0] = (uint32_t)out[0];
    regs[1] = (uint32_t)out[1];
    regs[2] = (uint32_t)out[2];
    regs[3] = (uint32_t)out[3];
    /* B is an x86 notion; keep the "B + max offset" meaning of EAX. */
    if (n == VMI_CPUID_SIGNATURE)
        regs[0] = SMCCC_BASE | (regs[0] & 0xFFu);
}
