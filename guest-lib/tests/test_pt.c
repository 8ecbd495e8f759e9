/* SPDX-License-Identifier: MIT */
/* test_pt.c: PTE batch builder, restart on E_AGAIN, failure report, pins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "fake_host.h"

#define BUF_GPA 0x7000u
#define TABLE_GPA 0x20000u

static struct fake_host fh;
static struct vmi_guest g;
static struct vmi_guest_pt_batch b;
static struct vmi_pt_update *buf;

static int setup(void **state)
{
    (void)state;
    fake_host_init(&fh);
    fake_host_guest(&fh, &g);
    buf = fake_host_va(&fh, BUF_GPA);
    vmi_guest_pt_batch_init(&b, &g, buf, 8);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini(&fh);
    return 0;
}

static uint64_t pte(unsigned i)
{
    uint64_t v;

    memcpy(&v, fake_host_va(&fh, TABLE_GPA + 8u * i), 8);
    return v;
}

static void test_pt_queue_flushes_when_full(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(vmi_guest_pt_queue(&b, TABLE_GPA + 8u * i, i + 1), 0);
    assert_int_equal(fake_host_count(&fh, VMI_HC_PT_UPDATE), 0);
    assert_int_equal(b.n, 8);
    /* The ninth flushes the eight first. */
    assert_int_equal(vmi_guest_pt_queue(&b, TABLE_GPA + 64, 9), 0);
    assert_int_equal(fake_host_count(&fh, VMI_HC_PT_UPDATE), 1);
    assert_int_equal(b.last.completed, 8);
    assert_int_equal(b.last.status, 0);
    assert_int_equal(b.n, 1);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(pte(i), i + 1);
    assert_int_equal(pte(8), 0);
    assert_int_equal(vmi_guest_pt_flush(&b, NULL), 0);
    assert_int_equal(pte(8), 9);
    assert_int_equal(b.n, 0);
}

static void test_pt_flush_restarts_after_again(void **state)
{
    struct vmi_guest_pt_result res;
    const struct fake_call *c;

    (void)state;
    fh.work_per_call = 3;
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(vmi_guest_pt_queue(&b, TABLE_GPA + 8u * i, 100 + i),
                         0);
    assert_int_equal(vmi_guest_pt_flush(&b, &res), 0);
    assert_int_equal(res.completed, 8);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.calls, 3); /* 3 + 3 + 2 */
    c = fake_host_last(&fh, VMI_HC_PT_UPDATE);
    assert_int_equal(c->args[0], BUF_GPA);
    assert_int_equal(c->args[1], 8);
    assert_int_equal(c->args[2], 6); /* restarted at the completed index */
    assert_int_equal(c->args[3], 0);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(pte(i), 100 + i);
}

static void test_pt_flush_reports_failed_entry(void **state)
{
    struct vmi_guest_pt_result res;

    (void)state;
    fh.work_per_call = 2;
    fh.fail_entry_gpa = BUF_GPA + 5 * 16;
    fh.fail_status = -VMI_E_INVAL;
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(vmi_guest_pt_queue(&b, TABLE_GPA + 8u * i, 7), 0);
    assert_int_equal(vmi_guest_pt_flush(&b, &res), -VMI_E_INVAL);
    assert_int_equal(res.completed, 5);
    assert_int_equal(res.status, -VMI_E_INVAL);
    assert_int_equal(res.calls, 3);
    assert_int_equal(b.last.completed, 5);
    assert_int_equal(pte(4), 7);
    assert_int_equal(pte(5), 0); /* not applied, nor anything after */
    assert_int_equal(pte(6), 0);
    assert_int_equal(b.n, 0); /* emptied */
}

static void test_pt_queue_full_with_failed_flush_does_not_queue(void **state)
{
    (void)state;
    fh.fail_entry_gpa = BUF_GPA;
    fh.fail_status = -VMI_E_NOENT;
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(vmi_guest_pt_queue(&b, TABLE_GPA, 1), 0);
    assert_int_equal(vmi_guest_pt_queue(&b, TABLE_GPA, 2), -VMI_E_NOENT);
    assert_int_equal(b.last.completed, 0);
    assert_int_equal(b.n, 0);
}

static void test_pt_flush_windows_above_max_batch(void **state)
{
    struct vmi_guest_pt_result res;

    (void)state;
    g.info.max_batch = fh.max_batch = 3;
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(vmi_guest_pt_queue(&b, TABLE_GPA + 8u * i, 50 + i), 0);
    assert_int_equal(vmi_guest_pt_flush(&b, &res), 0);
    assert_int_equal(res.completed, 8);
    assert_int_equal(res.calls, 3);
    assert_int_equal(fake_host_last(&fh, VMI_HC_PT_UPDATE)->args[0],
                     BUF_GPA + 6 * 16);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(pte(i), 50 + i);
}

static void test_pt_flush_empty_makes_no_call(void **state)
{
    struct vmi_guest_pt_result res;

    (void)state;
    assert_int_equal(vmi_guest_pt_flush(&b, &res), 0);
    assert_int_equal(res.calls, 0);
    assert_int_equal(fake_host_count(&fh, VMI_HC_PT_UPDATE), 0);
}

static void test_pt_flush_stops_when_host_makes_no_progress(void **state)
{
    struct vmi_guest_pt_result res;

    (void)state;
    assert_int_equal(vmi_guest_pt_queue(&b, TABLE_GPA, 1), 0);
    fh.force = 1;
    fh.force_status = -VMI_E_AGAIN;
    fh.force_rets[0] = 0;
    assert_int_equal(vmi_guest_pt_flush(&b, &res), -VMI_E_AGAIN);
    assert_int_equal(res.completed, 0);
    assert_int_equal(res.calls, 1);
}

static void test_pt_pin_reports_bad_index(void **state)
{
    uint32_t bad = 0;

    (void)state;
    assert_int_equal(vmi_guest_pt_pin(&g, TABLE_GPA, 1, &bad), 0);
    assert_int_equal(fake_host_last(&fh, VMI_HC_PT_PIN)->args[1], 1);
    assert_int_equal(vmi_guest_pt_pin(&g, TABLE_GPA, 1, &bad), -VMI_E_BUSY);
    fh.pin_bad_index = 77;
    assert_int_equal(vmi_guest_pt_pin(&g, TABLE_GPA + 0x1000, 2, &bad),
                     -VMI_E_INVAL);
    assert_int_equal(bad, 77);
    assert_int_equal(vmi_guest_pt_unpin(&g, TABLE_GPA), 0);
    assert_int_equal(vmi_guest_pt_unpin(&g, TABLE_GPA), -VMI_E_NOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pt_queue_flushes_when_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pt_flush_restarts_after_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pt_flush_reports_failed_entry,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_pt_queue_full_with_failed_flush_does_not_queue, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_pt_flush_windows_above_max_batch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pt_flush_empty_makes_no_call,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_pt_flush_stops_when_host_makes_no_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pt_pin_reports_bad_index, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
