/* SPDX-License-Identifier: MIT */
/* test_probe.c: discovery scan, info parsing and transport choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "fake_host.h"
#include "../src/internal.h"

static int setup(void **state)
{
    static struct fake_host fh;

    fake_host_init(&fh);
    *state = &fh;
    return 0;
}

static int teardown(void **state)
{
    fake_host_fini(*state);
    return 0;
}

static int probe(struct fake_host *fh, struct vmi_guest *g, int function)
{
    struct vmi_guest_ops ops;

    fake_host_ops(fh, &ops);
    if (!function)
        ops.hypercall = NULL;
    assert_int_equal(vmi_guest_init(g, &ops, NULL), 0);
    return vmi_guest_probe(g);
}

static void test_probe_without_hypervisor_bit_is_absent(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;

    fh->hv_bit = 0;
    assert_int_equal(probe(fh, &g, 1), -VMI_E_NOSYS);
    assert_int_equal(g.transport, VMI_GUEST_T_NONE);
    /* Only CPUID.1 was asked: the 0x4000xxxx range is not scanned. */
    assert_int_equal(fh->cpuid_calls, 1);
}

static void test_probe_skips_other_hypervisor_leaves(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;

    fh->base = 0x40000200u;
    assert_int_equal(probe(fh, &g, 1), 0);
    assert_int_equal(g.info.cpuid_base, 0x40000200u);
}

static void test_probe_finds_block_at_last_base(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;

    fh->base = VMI_CPUID_SCAN_LAST;
    assert_int_equal(probe(fh, &g, 1), 0);
    assert_int_equal(g.info.cpuid_base, VMI_CPUID_SCAN_LAST);
}

static void test_probe_rejects_signature_with_small_max_leaf(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;

    fh->sig_max_leaf = fh->base + 5;
    assert_int_equal(probe(fh, &g, 1), -VMI_E_NOSYS);
    fh->sig_max_leaf = fh->base + 6;
    assert_int_equal(probe(fh, &g, 1), 0);
}

static void test_probe_no_signature_is_absent(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;

    fh->base = 0;
    assert_int_equal(probe(fh, &g, 1), -VMI_E_NOSYS);
}

/* Leaf B+8: the calling vCPU's id, or NOTSUP from a first-draft host. */
static void test_vcpu_self(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;
    uint32_t id = 99;

    assert_int_equal(probe(fh, &g, 1), 0);
    assert_int_equal(vmi_guest_vcpu_self(&g, &id), -VMI_E_NOTSUP);
    assert_int_equal(id, 0);
    fh->sig_max_leaf = g.info.cpuid_base + VMI_CPUID_VCPU_MAP;
    fh->self_vcpu = 3;
    assert_int_equal(vmi_guest_vcpu_self(&g, &id), 0);
    assert_int_equal(id, 3);
}

static void test_probe_parses_version_limits_vendor(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;

    fh->version_max = VMI_VERSION(1, 3);
    fh->version_min = VMI_VERSION(1, 0);
    fh->transports = VMI_TRANSPORT_PORTIO | VMI_TRANSPORT_VMCALL;
    fh->port = 0x1234;
    fh->features = 0x5A | (UINT64_C(0x80000001) << 32);
    fh->vcpu_count = 7;
    fh->profiles = VMI_PROFILE_CORE;
    fh->max_batch = 111;
    fh->timer_count = 16384;
    fh->max_console = 2048;
    fh->max_pinned = 33;
    memset(fh->vendor, 'v', sizeof(fh->vendor));
    memcpy(fh->vendor, "Acme HV", 7);
    fh->vendor[47] = 'Z';
    assert_int_equal(probe(fh, &g, 1), 0);
    assert_int_equal(g.info.version_max, VMI_VERSION(1, 3));
    assert_int_equal(g.info.version_min, VMI_VERSION(1, 0));
    assert_int_equal(g.info.transports,
                     VMI_TRANSPORT_PORTIO | VMI_TRANSPORT_VMCALL);
    assert_int_equal(g.info.port, 0x1234);
    assert_true(g.info.features == (0x5A | (UINT64_C(0x80000001) << 32)));
    assert_int_equal(g.info.vcpu_count, 7);
    assert_int_equal(g.info.profiles, VMI_PROFILE_CORE);
    assert_int_equal(g.info.max_batch, 111);
    assert_int_equal(g.info.timer_count, 16384);
    assert_int_equal(g.info.max_console, 2048);
    assert_int_equal(g.info.max_pinned, 33);
    assert_memory_equal(g.info.vendor, "Acme HV", 7);
    assert_int_equal(g.info.vendor[47], 'Z');
    assert_int_equal(g.info.vendor[48], 0);
}

static void test_probe_rejects_unimplemented_major(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;

    fh->version_min = VMI_VERSION(2, 0);
    fh->version_max = VMI_VERSION(3, 0);
    assert_int_equal(probe(fh, &g, 1), -VMI_E_VERSION);
    fh->version_min = VMI_VERSION(1, 0);
    fh->version_max = VMI_VERSION(3, 0);
    assert_int_equal(probe(fh, &g, 1), 0);
}

static void test_probe_uses_function_transport_when_set(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;

    fh->transports = 0;
    assert_int_equal(probe(fh, &g, 1), 0);
    assert_int_equal(g.transport, VMI_GUEST_T_FUNCTION);
}

/*
 * Without ops->hypercall the hosted arch can execute no native transport,
 * so an announced-but-unusable transport set gives -VMI_E_NOSYS.
 */
static void test_probe_without_usable_transport_fails(void **state)
{
    struct fake_host *fh = *state;
    struct vmi_guest g;

    fh->transports = VMI_TRANSPORT_PORTIO | VMI_TRANSPORT_VMCALL;
    assert_int_equal(probe(fh, &g, 0), -VMI_E_NOSYS);
    assert_int_equal(g.transport, VMI_GUEST_T_NONE);
    /* The info was still read. */
    assert_int_equal(g.info.port, fh->port);
}

static void vendor_regs(uint32_t r[4], const char *v)
{
    r[0] = 0xD;
    memcpy(&r[1], v, 4);
    memcpy(&r[3], v + 4, 4);
    memcpy(&r[2], v + 8, 4);
}

static void test_transport_choice_by_cpu_vendor(void **state)
{
    const uint32_t x86 =
        VMI_TRANSPORT_VMCALL | VMI_TRANSPORT_VMMCALL | VMI_TRANSPORT_PORTIO;
    const uint32_t both = VMI_TRANSPORT_VMCALL | VMI_TRANSPORT_VMMCALL;
    uint32_t intel[4], amd[4], hygon[4], other[4];

    (void)state;
    vendor_regs(intel, "GenuineIntel");
    vendor_regs(amd, "AuthenticAMD");
    vendor_regs(hygon, "HygonGenuine");
    vendor_regs(other, "SomethingNew");
    /* Port I/O wins whenever announced. */
    assert_int_equal(vmi__pick_transport(x86, x86, intel), VMI_GUEST_T_PORTIO);
    assert_int_equal(vmi__pick_transport(both, x86, intel), VMI_GUEST_T_VMCALL);
    assert_int_equal(vmi__pick_transport(both, x86, amd), VMI_GUEST_T_VMMCALL);
    assert_int_equal(vmi__pick_transport(both, x86, hygon),
                     VMI_GUEST_T_VMMCALL);
    /* The vendor's instruction must be announced. */
    assert_int_equal(vmi__pick_transport(VMI_TRANSPORT_VMMCALL, x86, intel),
                     VMI_GUEST_T_NONE);
    assert_int_equal(vmi__pick_transport(VMI_TRANSPORT_VMCALL, x86, amd),
                     VMI_GUEST_T_NONE);
    assert_int_equal(vmi__pick_transport(both, x86, other), VMI_GUEST_T_NONE);
    /* Only what the arch can execute. */
    assert_int_equal(
        vmi__pick_transport(VMI_TRANSPORT_HVC | both, VMI_TRANSPORT_HVC, intel),
        VMI_GUEST_T_HVC);
    assert_int_equal(vmi__pick_transport(VMI_TRANSPORT_HVC, x86, intel),
                     VMI_GUEST_T_NONE);
    assert_int_equal(vmi__pick_transport(0, x86, intel), VMI_GUEST_T_NONE);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(vmi_guest_status_name(0), "VMI_OK");
    assert_string_equal(vmi_guest_status_name(-VMI_E_FAULT), "VMI_E_FAULT");
    assert_string_equal(vmi_guest_status_name(VMI_E_VERSION), "VMI_E_VERSION");
    assert_string_equal(vmi_guest_status_name(-99), "VMI_E_UNKNOWN");
    assert_string_equal(vmi_guest_status_name(INT64_MIN), "VMI_E_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_probe_without_hypervisor_bit_is_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_probe_skips_other_hypervisor_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_finds_block_at_last_base,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_probe_rejects_signature_with_small_max_leaf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_no_signature_is_absent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_parses_version_limits_vendor,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_rejects_unimplemented_major,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_probe_uses_function_transport_when_set, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_probe_without_usable_transport_fails, setup, teardown),
        cmocka_unit_test(test_transport_choice_by_cpu_vendor),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test_setup_teardown(test_vcpu_self, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
