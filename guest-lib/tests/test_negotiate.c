/* SPDX-License-Identifier: MIT */
/* test_negotiate.c: feature reduction, dependency closure, stored results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_host.h"

static struct fake_host fh;
static struct vmi_guest g;

static int setup(void **state)
{
    struct vmi_guest_ops ops;

    (void)state;
    fake_host_init(&fh);
    fake_host_ops(&fh, &ops);
    assert_int_equal(vmi_guest_init(&g, &ops, NULL), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini(&fh);
    return 0;
}

static void test_negotiate_grants_offered_and_stores(void **state)
{
    uint64_t granted = 0;
    const struct fake_call *c;

    (void)state;
    assert_int_equal(vmi_guest_probe(&g), 0);
    assert_int_equal(vmi_guest_negotiate(&g, VMI_F_ALL_1_0, &granted), 0);
    assert_true(granted == VMI_F_ALL_1_0);
    assert_true(g.features == VMI_F_ALL_1_0);
    assert_int_equal(g.version, VMI_VERSION(1, 0));
    c = fake_host_last(&fh, VMI_HC_NEGOTIATE);
    assert_non_null(c);
    assert_true(c->args[0] == VMI_SPEC_VERSION);
}

static void test_negotiate_reduces_want_to_offered(void **state)
{
    uint64_t granted = 0;
    const struct fake_call *c;

    (void)state;
    fh.features = VMI_F_CLOCK | VMI_F_TLB;
    assert_int_equal(vmi_guest_probe(&g), 0);
    assert_int_equal(vmi_guest_negotiate(&g, VMI_F_ALL_1_0, &granted), 0);
    c = fake_host_last(&fh, VMI_HC_NEGOTIATE);
    /* Never asks for what is not offered (the host would refuse deps). */
    assert_true(c->args[1] == (VMI_F_CLOCK | VMI_F_TLB));
    assert_true(granted == (VMI_F_CLOCK | VMI_F_TLB));
}

static void
test_negotiate_drops_feature_whose_requirement_is_missing(void **state)
{
    uint64_t granted = 0;
    const struct fake_call *c;

    (void)state;
    /* TIMER needs CLOCK and EVENTS; EVENTS is not offered. */
    fh.features = VMI_F_ALL_1_0 & ~VMI_F_EVENTS;
    assert_int_equal(vmi_guest_probe(&g), 0);
    assert_int_equal(vmi_guest_negotiate(&g, VMI_F_ALL_1_0, &granted), 0);
    c = fake_host_last(&fh, VMI_HC_NEGOTIATE);
    assert_true((c->args[1] & VMI_F_TIMER) == 0);
    assert_true((c->args[1] & VMI_F_VCPU) == 0);
    assert_true((c->args[1] & VMI_F_CLOCK) != 0);
    assert_true((granted & (VMI_F_TIMER | VMI_F_VCPU)) == 0);
}

static void test_negotiate_drops_transitive_and_unknown_bits(void **state)
{
    uint64_t granted = 0;
    const struct fake_call *c;

    (void)state;
    fh.features = ~UINT64_C(0);
    assert_int_equal(vmi_guest_probe(&g), 0);
    /* Only PT (needs TLB, not wanted) and an unknown bit. */
    assert_int_equal(
        vmi_guest_negotiate(&g, VMI_F_PT | (UINT64_C(1) << 40), &granted), 0);
    c = fake_host_last(&fh, VMI_HC_NEGOTIATE);
    assert_true(c->args[1] == 0);
    assert_true(granted == 0);
}

static void test_negotiate_error_leaves_state(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_probe(&g), 0);
    fh.force = 1;
    fh.force_status = -VMI_E_VERSION;
    assert_int_equal(vmi_guest_negotiate(&g, VMI_F_CLOCK, NULL),
                     -VMI_E_VERSION);
    assert_int_equal(g.version, 0);
    assert_true(g.features == 0);
}

static void test_negotiate_trusts_no_grant_beyond_request(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_probe(&g), 0);
    /* A broken host answering more than was asked. */
    fh.force = 1;
    fh.force_status = 0;
    fh.force_rets[0] = VMI_VERSION(1, 0);
    fh.force_rets[1] = VMI_F_ALL_1_0;
    assert_int_equal(vmi_guest_negotiate(&g, VMI_F_CLOCK, NULL), 0);
    assert_true(g.features == VMI_F_CLOCK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_negotiate_grants_offered_and_stores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negotiate_reduces_want_to_offered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_negotiate_drops_feature_whose_requirement_is_missing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_negotiate_drops_transitive_and_unknown_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negotiate_error_leaves_state,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_negotiate_trusts_no_grant_beyond_request, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
