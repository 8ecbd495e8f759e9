/* SPDX-License-Identifier: MIT */
/* test_event.c: event record take / mask / unmask-recheck, send, BLOCK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_host.h"

#define EV_GPA 0x4000u

static struct fake_host fh;
static struct vmi_guest g;
static struct vmi_guest_vcpu v;
static struct vmi_event_record *r;

static int setup(void **state)
{
    (void)state;
    fake_host_init(&fh);
    fake_host_guest(&fh, &g);
    vmi_guest_vcpu_init(&v, &g, 0);
    r = fake_host_va(&fh, EV_GPA);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini(&fh);
    return 0;
}

static void test_event_register_sends_gpa_and_vector(void **state)
{
    const struct fake_call *c;

    (void)state;
    assert_int_equal(vmi_guest_event_register(&v, r, 0xF0), 0);
    c = fake_host_last(&fh, VMI_HC_EVENT_REGISTER);
    assert_int_equal(c->args[0], EV_GPA);
    assert_int_equal(c->args[1], 0xF0);
    assert_int_equal(c->args[2], 0);
    assert_ptr_equal(v.events, r);
    assert_int_equal(v.vector, 0xF0);
    assert_int_equal(vmi_guest_event_register(&v, r, 5), -VMI_E_RANGE);
    assert_ptr_equal(v.events, r); /* kept on error */
    assert_int_equal(vmi_guest_event_register(&v, NULL, 0), 0);
    assert_true(fake_host_last(&fh, VMI_HC_EVENT_REGISTER)->args[0] ==
                VMI_GPA_NONE);
    assert_null(v.events);
}

static void test_event_take_clears_only_unmasked(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_event_register(&v, r, 0x40), 0);
    r->pending = 0x0F;
    vmi_guest_event_mask(&v, 0x3);
    assert_int_equal(r->mask, 0x3);
    assert_int_equal(vmi_guest_event_take(&v), 0x0C);
    /* Masked events stay pending for later. */
    assert_int_equal(r->pending, 0x03);
    assert_int_equal(vmi_guest_event_take(&v), 0);
}

static void test_event_unmask_returns_pending_bits(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_event_register(&v, r, 0x40), 0);
    vmi_guest_event_mask(&v, 0xFF);
    r->pending = 0x81; /* arrived while masked: no upcall was raised */
    assert_int_equal(vmi_guest_event_unmask(&v, 0x01), 0x01);
    assert_int_equal(r->mask, 0xFE);
    /* Unmasking bits with nothing pending reports nothing. */
    assert_int_equal(vmi_guest_event_unmask(&v, 0x02), 0);
    assert_int_equal(r->mask, 0xFC);
    /* The recheck does not consume: take gets the unmasked one. */
    assert_int_equal(vmi_guest_event_take(&v), 0x01);
    assert_int_equal(r->pending, 0x80);
}

static void test_event_without_record_is_inert(void **state)
{
    (void)state;
    vmi_guest_event_mask(&v, 1);
    assert_int_equal(vmi_guest_event_take(&v), 0);
    assert_int_equal(vmi_guest_event_unmask(&v, 1), 0);
}

static void test_event_send_reaches_record(void **state)
{
    const struct fake_call *c;

    (void)state;
    assert_int_equal(vmi_guest_event_register(&v, r, 0x40), 0);
    assert_int_equal(vmi_guest_event_send(&g, 0, 0x1, VMI_EVENT_IPI, 0), 0);
    c = fake_host_last(&fh, VMI_HC_EVENT_SEND);
    assert_int_equal(c->args[0], 0);
    assert_int_equal(c->args[1], 1);
    assert_int_equal(c->args[2], VMI_EVENT_IPI);
    assert_int_equal(c->args[3], 0);
    assert_int_equal(vmi_guest_event_take(&v), 1u << VMI_EVENT_IPI);
    assert_int_equal(vmi_guest_event_send(&g, 0, 1, 1, 0x80), -VMI_E_INVAL);
}

static void test_block_returns_reason(void **state)
{
    uint32_t reason = 0;

    (void)state;
    assert_int_equal(vmi_guest_block(&g, VMI_DEADLINE_NONE, &reason),
                     -VMI_E_STATE);
    assert_int_equal(vmi_guest_block(&g, 1, &reason), 0);
    assert_int_equal(reason, VMI_WAKE_DEADLINE);
    assert_int_equal(vmi_guest_event_register(&v, r, 0x40), 0);
    r->pending = 4;
    assert_int_equal(vmi_guest_block(&g, VMI_DEADLINE_NONE, &reason), 0);
    assert_int_equal(reason, VMI_WAKE_EVENT);
    assert_true(fake_host_last(&fh, VMI_HC_BLOCK)->args[0] ==
                VMI_DEADLINE_NONE);
    assert_int_equal(fake_host_last(&fh, VMI_HC_BLOCK)->args[1], 0);
}

static void test_block_arm_passes_timer_and_event(void **state)
{
    uint32_t reason = 0;
    int armed = -1;

    (void)state;
    assert_int_equal(vmi_guest_event_register(&v, r, 0x40), 0);
    assert_true(g.features & VMI_F_BLOCK_TIMER);
    /* A past deadline: the timer fires at once, BLOCK returns for it. */
    assert_int_equal(vmi_guest_block_arm(&g, 1, 0, 5, &reason), 0);
    assert_int_equal(reason, VMI_WAKE_EVENT);
    assert_int_equal(fake_host_last(&fh, VMI_HC_BLOCK)->args[1],
                     VMI_BLOCK_ARM_TIMER);
    assert_int_equal(fake_host_last(&fh, VMI_HC_BLOCK)->args[2], 0);
    assert_int_equal(fake_host_last(&fh, VMI_HC_BLOCK)->args[3], 5);
    assert_int_equal(vmi_guest_event_take(&v), 1u << 5);
    /* Out of range: refused, nothing armed. */
    assert_int_equal(vmi_guest_block_arm(&g, 1, 0, 64, &reason), -VMI_E_RANGE);
    assert_int_equal(vmi_guest_timer_cancel(&g, 0, &armed), 0);
    assert_int_equal(armed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_event_register_sends_gpa_and_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_take_clears_only_unmasked,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_unmask_returns_pending_bits,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_without_record_is_inert,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_send_reaches_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_block_returns_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_block_arm_passes_timer_and_event,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
