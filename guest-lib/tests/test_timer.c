/* SPDX-License-Identifier: MIT */
/* test_timer.c: TIMER_ARM / TIMER_CANCEL argument passing and results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_host.h"

#define EV_GPA 0x4000u

static struct fake_host fh;
static struct vmi_guest g;
static struct vmi_guest_vcpu v;

static int setup(void **state)
{
    (void)state;
    fake_host_init(&fh);
    fake_host_guest(&fh, &g);
    vmi_guest_vcpu_init(&v, &g, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini(&fh);
    return 0;
}

static void test_timer_arm_sends_all_arguments(void **state)
{
    const struct fake_call *c;

    (void)state;
    assert_int_equal(vmi_guest_timer_arm(&g, 5, UINT64_C(1) << 62, 3, 17), 0);
    c = fake_host_last(&fh, VMI_HC_TIMER_ARM);
    assert_int_equal(c->args[0], 5);
    assert_true(c->args[1] == UINT64_C(1) << 62);
    assert_int_equal(c->args[2], 3);
    assert_int_equal(c->args[3], 17);
    assert_int_equal(c->args[4], 0); /* flags: reserved */
    assert_true(fh.timer_armed[5]);
}

static void test_timer_past_deadline_fires_at_once(void **state)
{
    struct vmi_event_record *r = fake_host_va(&fh, EV_GPA);

    (void)state;
    assert_int_equal(vmi_guest_event_register(&v, r, 0x40), 0);
    assert_int_equal(vmi_guest_timer_arm(&g, 1, 0, 0, VMI_EVENT_TIMER), 0);
    assert_int_equal(vmi_guest_event_take(&v), 1u << VMI_EVENT_TIMER);
}

static void test_timer_cancel_reports_was_armed(void **state)
{
    int was = -1;

    (void)state;
    assert_int_equal(vmi_guest_timer_arm(&g, 2, UINT64_C(1) << 62, 0, 0), 0);
    assert_int_equal(vmi_guest_timer_cancel(&g, 2, &was), 0);
    assert_int_equal(was, 1);
    assert_int_equal(vmi_guest_timer_cancel(&g, 2, &was), 0);
    assert_int_equal(was, 0);
    assert_int_equal(vmi_guest_timer_cancel(&g, 2, NULL), 0);
}

static void test_timer_errors_are_returned(void **state)
{
    int was = 7;

    (void)state;
    assert_int_equal(vmi_guest_timer_arm(&g, FAKE_TIMERS, 1, 0, 0),
                     -VMI_E_RANGE);
    assert_int_equal(vmi_guest_timer_arm(&g, 0, 1, 0, 64), -VMI_E_RANGE);
    assert_int_equal(vmi_guest_timer_cancel(&g, FAKE_TIMERS, &was),
                     -VMI_E_RANGE);
    assert_int_equal(was, 7); /* untouched on error */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timer_arm_sends_all_arguments,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_past_deadline_fires_at_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_cancel_reports_was_armed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_errors_are_returned, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
