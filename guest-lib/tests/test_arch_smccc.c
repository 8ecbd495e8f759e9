/* SPDX-License-Identifier: MIT */
/*
 * test_arch_smccc.c: the aarch64 discovery mapping (CALL_UID, INFO(n)
 * presented as CPUID leaves) against a fake SMCCC conduit, then the whole
 * probe through it via ops->cpuid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "../arch/aarch64/smccc.h"

static int uid_ok;
static unsigned info_calls;

/*
 * A host of the first draft with its block at 0x40000300 in x86 terms
 * (INFO(0).x0 = B + 6, absolute), or, with info0_relative, a draft 2 host
 * (INFO(0).x0 = 6, the highest function: VMI-DSC-035).
 */
static int info0_relative;
/* A host with the vCPU map (INFO(0).x0 = 9): vCPU n has MPIDR 0x100 * n. */
static int has_map;
static void fake_smccc(uint32_t fid, const uint64_t args[VMI_HC_MAX_ARGS],
                       uint64_t out[4])
{
    out[0] = out[1] = out[2] = out[3] = 0;
    if (has_map && fid == VMI_SMCCC_INFO(0)) {
        out[0] = 9;
        out[1] = out[2] = out[3] = VMI_CPUID_SIGNATURE_EBX;
        return;
    }
    if (has_map && fid == VMI_SMCCC_INFO(9)) {
        if (args[0] < 2) { /* the vCPU id in x1 (VMI-DSC-045) */
            out[0] = 0x100 * args[0];
            out[1] = VMI_VCPU_MAP_EXISTS;
        }
        return;
    }
    if (fid == VMI_SMCCC_CALL_UID) {
        if (!uid_ok) {
            out[0] = ~UINT64_C(0); /* SMCCC NOT_SUPPORTED */
            return;
        }
        out[0] = VMI_SMCCC_UID_W0;
        out[1] = VMI_SMCCC_UID_W1 | UINT64_C(0xABCD00000000);
        out[2] = VMI_SMCCC_UID_W2;
        out[3] = VMI_SMCCC_UID_W3;
        return;
    }
    if (fid >= VMI_SMCCC_INFO(0) && fid <= VMI_SMCCC_INFO(6)) {
        uint32_t n = fid - VMI_SMCCC_INFO_BASE;

        info_calls++;
        switch (n) {
        case 0:
            out[0] = info0_relative ? 6u : 0x40000306u;
            out[1] = out[2] = out[3] = VMI_CPUID_SIGNATURE_EBX;
            break;
        case 1:
            out[0] = VMI_VERSION(1, 0);
            out[1] = VMI_VERSION(1, 0);
            out[2] = VMI_TRANSPORT_HVC;
            break;
        case 2:
            out[0] = 0x7F;
            out[2] = 2;
            out[3] = VMI_PROFILE_CORE;
            break;
        case 3:
            out[0] = 256;
            out[1] = 1024;
            out[2] = 4096;
            break;
        case 4:
            memcpy(&out[0], "Arm", 4); /* low 32 bits carry the bytes */
            break;
        default:
            break;
        }
        return;
    }
    out[0] = ~UINT64_C(0);
}

static void cpuid_op(void *ctx, uint32_t leaf, uint32_t subleaf,
                     uint32_t regs[4])
{
    (void)ctx;
    vmi__smccc_cpuid(fake_smccc, leaf, subleaf, regs);
}

static uint64_t v2p(void *ctx, const void *va)
{
    (void)ctx;
    return (uint64_t)(uintptr_t)va;
}

static void test_smccc_uid_mismatch_clears_hypervisor_bit(void **state)
{
    uint32_t r[4];

    (void)state;
    uid_ok = 0;
    info_calls = 0;
    vmi__smccc_cpuid(fake_smccc, 1, 0, r);
    assert_int_equal(r[2], 0);
    vmi__smccc_cpuid(fake_smccc, 0x40000000u, 0, r);
    assert_int_equal(r[1], 0);
    /* INFO is never asked behind a foreign UUID. */
    assert_int_equal(info_calls, 0);
}

static void test_smccc_maps_info_onto_leaves(void **state)
{
    uint32_t r[4];

    (void)state;
    uid_ok = 1;
    vmi__smccc_cpuid(fake_smccc, 1, 0, r);
    assert_int_equal(r[2], 1u << 31);
    vmi__smccc_cpuid(fake_smccc, 0x40000000u, 0, r);
    assert_int_equal(r[0], 0x40000006u); /* rebased onto 0x40000000 */
    assert_int_equal(r[1], VMI_CPUID_SIGNATURE_EBX);
    info0_relative = 1;
    vmi__smccc_cpuid(fake_smccc, 0x40000000u, 0, r);
    assert_int_equal(r[0], 0x40000006u); /* the same from a relative x0 */
    info0_relative = 0;
    vmi__smccc_cpuid(fake_smccc, 0x40000003u, 0, r);
    assert_int_equal(r[0], 256);
    assert_int_equal(r[1], 1024);
    /* Outside the block: zeros. */
    vmi__smccc_cpuid(fake_smccc, 0x40000000u + VMI_CPUID_LEAF_COUNT, 0, r);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    vmi__smccc_cpuid(fake_smccc, 0x40000100u, 0, r);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
}

static void test_smccc_probe_end_to_end(void **state)
{
    struct vmi_guest_ops ops;
    struct vmi_guest g;

    (void)state;
    uid_ok = 1;
    memset(&ops, 0, sizeof(ops));
    ops.virt_to_phys = v2p;
    ops.cpuid = cpuid_op;
    assert_int_equal(vmi_guest_init(&g, &ops, NULL), 0);
    /* The hosted arch cannot issue HVC: found, but no usable transport. */
    assert_int_equal(vmi_guest_probe(&g), -VMI_E_NOSYS);
    assert_int_equal(g.info.cpuid_base, 0x40000000u);
    assert_int_equal(g.info.transports, VMI_TRANSPORT_HVC);
    assert_int_equal(g.info.vcpu_count, 2);
    assert_int_equal(g.info.max_console, 4096);
    assert_string_equal(g.info.vendor, "Arm");
    /* And the transport choice an aarch64 build would make. */
    assert_int_equal(vmi__pick_transport(g.info.transports, VMI_TRANSPORT_HVC,
                                         (const uint32_t[4]){0, 0, 0, 0}),
                     VMI_GUEST_T_HVC);
}

/* The vCPU map: the subleaf goes out in x1. */
static void test_smccc_vcpu_map(void **state)
{
    struct vmi_guest_ops ops;
    struct vmi_guest g;
    uint32_t id;

    (void)state;
    uid_ok = 1;
    memset(&ops, 0, sizeof(ops));
    ops.virt_to_phys = v2p;
    ops.cpuid = cpuid_op;
    assert_int_equal(vmi_guest_init(&g, &ops, NULL), 0);
    assert_int_equal(vmi_guest_probe(&g), -VMI_E_NOSYS);
    /* A first-draft host: no map. */
    assert_int_equal(vmi_guest_vcpu_platform_id(&g, 1, &id), -VMI_E_NOTSUP);
    has_map = 1;
    assert_int_equal(vmi_guest_vcpu_platform_id(&g, 0, &id), 0);
    assert_int_equal(id, 0);
    assert_int_equal(vmi_guest_vcpu_platform_id(&g, 1, &id), 0);
    assert_int_equal(id, 0x100);
    assert_int_equal(vmi_guest_vcpu_platform_id(&g, 2, &id), -VMI_E_RANGE);
    has_map = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smccc_uid_mismatch_clears_hypervisor_bit),
        cmocka_unit_test(test_smccc_maps_info_onto_leaves),
        cmocka_unit_test(test_smccc_probe_end_to_end),
        cmocka_unit_test(test_smccc_vcpu_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
