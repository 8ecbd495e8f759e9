/* SPDX-License-Identifier: MIT */
/* test_tlb.c: TLB_FLUSH arguments and splitting into max_batch windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_host.h"

#define RANGES_GPA 0x6000u

static struct fake_host fh;
static struct vmi_guest g;

static int setup(void **state)
{
    (void)state;
    fake_host_init(&fh);
    fake_host_guest(&fh, &g);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini(&fh);
    return 0;
}

static void test_tlb_flush_all_sends_no_ranges(void **state)
{
    const struct fake_call *c;

    (void)state;
    assert_int_equal(vmi_guest_tlb_flush(&g, 0, 0, NULL, 0,
                                         VMI_VCPUSET_ALL | VMI_TLB_GLOBAL),
                     0);
    c = fake_host_last(&fh, VMI_HC_TLB_FLUSH);
    assert_int_equal(c->args[0], 0);
    assert_int_equal(c->args[1], 0);
    assert_int_equal(c->args[2], 0); /* ranges_gpa zero with count zero */
    assert_int_equal(c->args[3], 0);
    assert_int_equal(c->args[4], VMI_VCPUSET_ALL | VMI_TLB_GLOBAL);
}

static void test_tlb_flush_ranges_pass_gpa_and_count(void **state)
{
    struct vmi_tlb_range *rg = fake_host_va(&fh, RANGES_GPA);
    const struct fake_call *c;

    (void)state;
    rg[0].gva = 0x400000;
    rg[0].pages = 1;
    rg[1].gva = 0x800000;
    rg[1].pages = 16;
    assert_int_equal(vmi_guest_tlb_flush(&g, 64, 0x5, rg, 2, 0), 0);
    c = fake_host_last(&fh, VMI_HC_TLB_FLUSH);
    assert_int_equal(c->args[0], 64);
    assert_int_equal(c->args[1], 0x5);
    assert_int_equal(c->args[2], RANGES_GPA);
    assert_int_equal(c->args[3], 2);
    assert_int_equal(fake_host_count(&fh, VMI_HC_TLB_FLUSH), 1);
}

static void test_tlb_flush_splits_above_max_batch(void **state)
{
    struct vmi_tlb_range *rg = fake_host_va(&fh, RANGES_GPA);

    (void)state;
    g.info.max_batch = fh.max_batch = 4;
    for (unsigned i = 0; i < 10; i++) {
        rg[i].gva = 0x1000u * i;
        rg[i].pages = 1;
    }
    assert_int_equal(vmi_guest_tlb_flush(&g, 0, 1, rg, 10, 0), 0);
    assert_int_equal(fake_host_count(&fh, VMI_HC_TLB_FLUSH), 3);
    assert_int_equal(fh.tlb_ranges_seen, 10);
    assert_int_equal(fake_host_last(&fh, VMI_HC_TLB_FLUSH)->args[2],
                     RANGES_GPA + 8 * 16);
    assert_int_equal(fake_host_last(&fh, VMI_HC_TLB_FLUSH)->args[3], 2);
}

static void test_tlb_flush_error_stops(void **state)
{
    struct vmi_tlb_range *rg = fake_host_va(&fh, RANGES_GPA);

    (void)state;
    assert_int_equal(vmi_guest_tlb_flush(&g, 0, 1, rg, 1, 0x80), -VMI_E_INVAL);
}

static void test_tlb_flush_local_is_callable_hosted(void **state)
{
    (void)state;
    /* Hosted: a no-op; what it must not do is trap or call the host. */
    unsigned before = fh.ncalls;
    vmi_guest_tlb_flush_local();
    assert_int_equal(fh.ncalls, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tlb_flush_all_sends_no_ranges,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_tlb_flush_ranges_pass_gpa_and_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tlb_flush_splits_above_max_batch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tlb_flush_error_stops, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tlb_flush_local_is_callable_hosted,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
