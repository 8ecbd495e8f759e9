/* SPDX-License-Identifier: MIT */
/* test_host_event.c: event records, EVENT_SEND, upcalls and BLOCK. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define EVREC 0x4000u
#define BIT(n) (UINT64_C(1) << (n))

static struct vmi_event_record *reg(struct fake_fx *x, uint32_t vcpu,
                                    uint64_t vector)
{
    uint64_t gpa = EVREC + 64u * vcpu;

    assert_int_equal(fake_call(x->vm, vcpu, VMI_HC_EVENT_REGISTER, gpa, vector,
                               0, 0, 0, NULL),
                     0);
    return fake_gpa(&x->f, gpa);
}

static int64_t send(struct fake_fx *x, uint32_t from, uint64_t base,
                    uint64_t mask, uint64_t event, uint64_t flags)
{
    return fake_call(x->vm, from, VMI_HC_EVENT_SEND, base, mask, event, flags,
                     0, NULL);
}

static void test_event_register_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;

    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_REGISTER, EVREC, 32, 1, 0, 0,
                       -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_REGISTER, EVREC + 32, 32, 0, 0,
                       0, -VMI_E_ALIGN);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_REGISTER, f->ram_bytes, 32, 0,
                       0, 0, -VMI_E_FAULT);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_REGISTER, UINT64_C(0) - 64, 32,
                       0, 0, 0, -VMI_E_FAULT);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_REGISTER, EVREC, 31, 0, 0, 0,
                       -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_REGISTER, EVREC, 256, 0, 0, 0,
                       -VMI_E_RANGE);
    /* Precedence: INVAL, ALIGN, FAULT, RANGE. */
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_REGISTER, f->ram_bytes + 32, 0,
                       4, 0, 0, -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_REGISTER, f->ram_bytes + 32, 0,
                       0, 0, 0, -VMI_E_ALIGN);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_REGISTER, f->ram_bytes, 0, 0,
                       0, 0, -VMI_E_FAULT);
    /* Unregistering ignores the vector. */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, 7,
                               0, 0, 0, NULL),
                     0);
}

static void test_event_send_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;

    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, 0, 1, 0, 4, 0,
                       -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, 64, 0, 0,
                       VMI_VCPUSET_ALL, 0, -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, 0, 1, 0, VMI_VCPUSET_ALL,
                       0, -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, 1, 1, 0, 0, 0,
                       -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, 0, 1, 64, 0, 0,
                       -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, 0, BIT(4), 0, 0, 0,
                       -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, 0, BIT(0) | BIT(63), 0,
                       0, 0, -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, 64, 1, 0, 0, 0,
                       -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, UINT64_C(0) - 64, 1, 0,
                       0, 0, -VMI_E_RANGE);
    /* INVAL wins over RANGE. */
    fake_expect_reject(f, x->vm, 0, VMI_HC_EVENT_SEND, 3, BIT(9), 99, 0, 0,
                       -VMI_E_INVAL);
    /* An empty set is fine. */
    assert_int_equal(send(x, 0, 0, 0, 0, 0), 0);
}

static void test_event_send_sets_pending_and_upcall_on_edge(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = reg(x, 1, 0x40);
    uint32_t vec = 0;

    assert_int_equal(send(x, 0, 0, BIT(1), 3, 0), 0);
    assert_int_equal(r->pending, BIT(3));
    assert_int_equal(x->f.kicks[1], 1);
    assert_int_equal(vmi_host_take_upcall(x->vm, 1, &vec), 1);
    assert_int_equal(vec, 0x40);
    assert_int_equal(vmi_host_take_upcall(x->vm, 1, &vec), 0);
    /* Already pending: no edge, no new upcall. */
    assert_int_equal(send(x, 0, 0, BIT(1), 3, 0), 0);
    assert_int_equal(vmi_host_take_upcall(x->vm, 1, &vec), 0);
    /* The guest cleared it: the next one is an edge again. */
    __atomic_fetch_and(&r->pending, ~BIT(3), __ATOMIC_SEQ_CST);
    assert_int_equal(send(x, 2, 0, BIT(1), 3, 0), 0);
    assert_int_equal(vmi_host_take_upcall(x->vm, 1, &vec), 1);
}

static void test_masked_event_makes_no_upcall_and_unmask_none(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = reg(x, 0, 0x30);
    uint32_t vec;

    r->mask = BIT(5);
    assert_int_equal(send(x, 1, 0, BIT(0), 5, 0), 0);
    assert_int_equal(r->pending, BIT(5));
    assert_int_equal(vmi_host_take_upcall(x->vm, 0, &vec), 0);
    r->mask = 0;
    assert_int_equal(vmi_host_take_upcall(x->vm, 0, &vec), 0);
}

static void test_send_all_exclude_self(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r0 = reg(x, 0, 32), *r1 = reg(x, 1, 33);
    struct vmi_event_record *r2 = reg(x, 2, 34);

    assert_int_equal(
        send(x, 1, 0, 0, 7, VMI_VCPUSET_ALL | VMI_VCPUSET_EXCLUDE_SELF), 0);
    assert_int_equal(r0->pending, BIT(7));
    assert_int_equal(r1->pending, 0);
    assert_int_equal(r2->pending, BIT(7));
    assert_int_equal(
        send(x, 2, 0, BIT(1) | BIT(2), 8, VMI_VCPUSET_EXCLUDE_SELF), 0);
    assert_int_equal(r1->pending, BIT(8));
    assert_int_equal(r2->pending, BIT(7));
}

static void test_pending_kept_until_record_registered(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r;
    uint32_t vec;

    /* vCPU 3 is not started and has no record. */
    assert_int_equal(send(x, 0, 0, BIT(3), 12, 0), 0);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_TIMER_ARM, 0, 0, 3, 13, 0, NULL), 0);
    assert_int_equal(x->f.kicks[3], 0);
    r = fake_gpa(&x->f, EVREC + 3 * 64);
    memset(r, 0, sizeof(*r));
    r->pending = BIT(1);
    r = reg(x, 3, 50);
    assert_int_equal(r->pending, BIT(1) | BIT(12) | BIT(13));
    assert_int_equal(vmi_host_take_upcall(x->vm, 3, &vec), 1);
    assert_int_equal(vec, 50);
}

static void test_block_without_record_or_deadline_is_state(void **state)
{
    struct fake_fx *x = *state;

    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, 0,
                       0, 0, -VMI_E_STATE);
    /* STATE wins over INVAL. */
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 2, 0,
                       0, 0, -VMI_E_STATE);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_BLOCK, 5, 2, 0, 0, 0,
                       -VMI_E_INVAL);
    /* VMI_BLOCK_ARM_TIMER: a deadline and ids in range. */
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_BLOCK, 5, VMI_BLOCK_ARM_TIMER,
                       64, 0, 0, -VMI_E_RANGE);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_BLOCK, 5, VMI_BLOCK_ARM_TIMER, 0,
                       64, 0, -VMI_E_RANGE);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_BLOCK, 5, 4, 0, 0, 0,
                       -VMI_E_INVAL);
}

static void test_block_returns_at_once_for_pending_event(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = reg(x, 0, 32);
    struct vmi_host_call c;

    r->pending = BIT(2);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, 0, 0, 0, &c),
        0);
    assert_int_equal(c.action, VMI_HOST_RESUME);
    assert_int_equal(c.rets[0], VMI_WAKE_EVENT);
    /* A masked event does not count. */
    r->mask = BIT(2);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_BLOCK, 0, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.rets[0], VMI_WAKE_DEADLINE);
}

static void test_block_past_deadline_returns_at_once(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    fake_advance(&x->f, 1000);
    /* No record, with a deadline: a plain sleep is allowed. */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_BLOCK, 999, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.action, VMI_HOST_RESUME);
    assert_int_equal(c.rets[0], VMI_WAKE_DEADLINE);
}

static void test_block_sleeps_until_deadline_without_spurious_wake(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;
    uint64_t d;

    (void)reg(x, 0, 32);
    d = vmi_host_clock_now(x->vm) + 5000;
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_BLOCK, d, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.action, VMI_HOST_BLOCK);
    assert_int_equal(c.deadline_ns, d);
    assert_int_equal(vmi_host_block_check(x->vm, 0, &c), 0);
    fake_advance(&x->f, 4999);
    assert_int_equal(vmi_host_block_check(x->vm, 0, &c), 0);
    assert_int_equal(c.action, VMI_HOST_BLOCK);
    fake_advance(&x->f, 1);
    assert_int_equal(vmi_host_block_check(x->vm, 0, &c), 1);
    assert_int_equal(c.status, 0);
    assert_int_equal(c.action, VMI_HOST_RESUME);
    assert_int_equal(c.rets[0], VMI_WAKE_DEADLINE);
    /* Not blocked any more. */
    assert_int_equal(vmi_host_block_check(x->vm, 0, &c), 0);
}

/*
 * A vCPU that makes a hypercall runs, so the BLOCK it was in is over (an
 * embedder resumed it without block_check, or re-issues the BLOCK after a
 * restore).  Found by fuzz_dispatch: the vCPU then unregistered its event
 * record, leaving "blocked, no record, no deadline", which the saved state
 * of that VM could not be restored from.
 */
static void test_hypercall_from_blocked_vcpu_ends_its_block(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;
    struct vmi_host_vm *vm2;
    size_t len;
    uint8_t *blob;
    char why[128];

    (void)reg(x, 1, 32);
    assert_int_equal(
        fake_call(x->vm, 1, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, 0, 0, 0, &c),
        0);
    assert_int_equal(c.action, VMI_HOST_BLOCK);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, 0,
                               0, 0, 0, NULL),
                     0);
    assert_int_equal(vmi_host_block_check(x->vm, 1, &c), 0);
    blob = fake_save(x->vm, &len);
    struct vmi_host_config cfg;
    fake_config(&x->f, &cfg);
    vm2 = fake_vm(&x->f, &cfg);
    assert_int_equal(vmi_host_restore(vm2, blob, len, why, sizeof(why)), 0);
    vmi_host_vm_destroy(vm2);
    free(blob);
    /* A NOP from a blocked vCPU ends its block too (the lock-free path). */
    (void)reg(x, 2, 33);
    assert_int_equal(
        fake_call(x->vm, 2, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, 0, 0, 0, &c),
        0);
    assert_int_equal(fake_call(x->vm, 2, VMI_HC_NOP, 0, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(send(x, 0, 0, 1u << 2, 5, 0), 0);
    assert_int_equal(vmi_host_block_check(x->vm, 2, &c), 0);
}

static void test_block_woken_by_event_from_other_vcpu(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = reg(x, 1, 32);
    struct vmi_host_call c;

    r->mask = BIT(4);
    assert_int_equal(
        fake_call(x->vm, 1, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, 0, 0, 0, &c),
        0);
    assert_int_equal(c.action, VMI_HOST_BLOCK);
    /* A masked event does not wake it. */
    assert_int_equal(send(x, 0, 0, BIT(1), 4, 0), 0);
    assert_int_equal(vmi_host_block_check(x->vm, 1, &c), 0);
    uint32_t kicks = x->f.kicks[1];
    assert_int_equal(send(x, 0, 0, BIT(1), 6, 0), 0);
    assert_true(x->f.kicks[1] > kicks);
    assert_int_equal(vmi_host_block_check(x->vm, 1, &c), 1);
    assert_int_equal(c.rets[0], VMI_WAKE_EVENT);
}

static void test_block_woken_by_timer(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;
    uint64_t now = vmi_host_clock_now(x->vm);

    (void)reg(x, 2, 32);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_TIMER_ARM, 1, now + 100, 2, 0, 0, NULL), 0);
    assert_int_equal(
        fake_call(x->vm, 2, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, 0, 0, 0, &c),
        0);
    assert_int_equal(c.action, VMI_HOST_BLOCK);
    fake_advance(&x->f, 100);
    assert_int_equal(vmi_host_timers_fire(x->vm, 4), 1);
    assert_true(x->f.kicks[2] >= 1);
    assert_int_equal(vmi_host_block_check(x->vm, 2, &c), 1);
    assert_int_equal(c.rets[0], VMI_WAKE_EVENT);
}

/* A BLOCK of vCPU 0 with a deadline 1 ms away; returns the call. */
static struct vmi_host_call block_1ms(struct fake_fx *x)
{
    struct vmi_host_call c;

    assert_int_equal(fake_call(x->vm, 0, VMI_HC_BLOCK,
                               vmi_host_clock_now(x->vm) + 1000000, 0, 0, 0, 0,
                               &c),
                     0);
    assert_int_equal(c.action, VMI_HOST_BLOCK);
    return c;
}

static void test_block_ends_for_interrupt_and_spurious(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = reg(x, 0, 32);
    struct vmi_host_call c;

    /* Not blocked: nothing to end.  A bad reason is the embedder's bug. */
    assert_int_equal(vmi_host_block_end(x->vm, 0, VMI_WAKE_INTERRUPT, &c), 0);
    c = block_1ms(x);
    assert_int_equal(vmi_host_block_end(x->vm, 0, VMI_WAKE_EVENT, &c),
                     -VMI_E_INVAL);
    assert_int_equal(vmi_host_block_end(x->vm, 0, 99, &c), -VMI_E_INVAL);
    assert_int_equal(vmi_host_block_end(x->vm, 1, 0, NULL), -VMI_E_INVAL);
    /* An interrupt ends it with INTERRUPT (VMI-EVT-043). */
    assert_int_equal(vmi_host_block_end(x->vm, 0, VMI_WAKE_INTERRUPT, &c), 1);
    assert_int_equal(c.action, VMI_HOST_RESUME);
    assert_int_equal(c.status, 0);
    assert_int_equal(c.rets[0], VMI_WAKE_INTERRUPT);
    assert_int_equal(vmi_host_block_check(x->vm, 0, &c), 0); /* over */
    /* SPURIOUS when nothing else holds (VMI-EVT-045) ... */
    c = block_1ms(x);
    assert_int_equal(vmi_host_block_end(x->vm, 0, VMI_WAKE_SPURIOUS, &c), 1);
    assert_int_equal(c.rets[0], VMI_WAKE_SPURIOUS);
    /* ... but a reached deadline beats it (VMI-EVT-044) ... */
    c = block_1ms(x);
    fake_advance(&x->f, 1000000);
    assert_int_equal(vmi_host_block_end(x->vm, 0, VMI_WAKE_SPURIOUS, &c), 1);
    assert_int_equal(c.rets[0], VMI_WAKE_DEADLINE);
    /* ... and a pending unmasked event beats everything. */
    c = block_1ms(x);
    r->pending = BIT(5);
    assert_int_equal(vmi_host_block_end(x->vm, 0, VMI_WAKE_INTERRUPT, &c), 1);
    assert_int_equal(c.rets[0], VMI_WAKE_EVENT);
}

static void test_block_restart_forgets_the_suspension(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    (void)reg(x, 0, 32);
    assert_int_equal(vmi_host_block_restart(x->vm, 0), 0);
    assert_int_equal(vmi_host_block_restart(x->vm, 99), -VMI_E_INVAL);
    c = block_1ms(x);
    assert_int_equal(vmi_host_block_restart(x->vm, 0), 1);
    /* Nothing completes the abandoned call ... */
    fake_advance(&x->f, 2000000);
    assert_int_equal(vmi_host_block_check(x->vm, 0, &c), 0);
    assert_int_equal(vmi_host_block_end(x->vm, 0, VMI_WAKE_SPURIOUS, &c), 0);
    /* ... the vCPU issues it again, and it runs as a new call. */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_BLOCK,
                               vmi_host_clock_now(x->vm) - 1, 0, 0, 0, 0, &c),
                     0);
    assert_int_equal(c.rets[0], VMI_WAKE_DEADLINE);
}

static void test_hvc_host_takes_free_ppis_only(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    cfg.transports = VMI_TRANSPORT_HVC;
    vm = fake_vm(f, &cfg);
    assert_int_equal(fake_call(vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_EVENTS, 0, 0, 0, NULL),
                     0);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_EVENT_REGISTER, EVREC, 32, 0, 0, 0, NULL),
        -VMI_E_RANGE);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_EVENT_REGISTER, EVREC, 15, 0, 0, 0, NULL),
        -VMI_E_RANGE);
    /* The Arm BSA's architected PPIs 19-30 (27: the virtual timer). */
    for (uint64_t ppi = 19; ppi <= 30; ppi++)
        assert_int_equal(
            fake_call(vm, 0, VMI_HC_EVENT_REGISTER, EVREC, ppi, 0, 0, 0, NULL),
            -VMI_E_RANGE);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_EVENT_REGISTER, EVREC, 16, 0, 0, 0, NULL), 0);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_EVENT_REGISTER, EVREC, 31, 0, 0, 0, NULL), 0);
    vmi_host_vm_destroy(vm);

    /* A PPI the platform uses (bit 1: INTID 17) is refused too. */
    fake_config(f, &cfg);
    cfg.transports = VMI_TRANSPORT_HVC;
    cfg.platform_ppis = 1u << 1;
    vm = fake_vm(f, &cfg);
    assert_int_equal(fake_call(vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_EVENTS, 0, 0, 0, NULL),
                     0);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_EVENT_REGISTER, EVREC, 17, 0, 0, 0, NULL),
        -VMI_E_RANGE);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_EVENT_REGISTER, EVREC, 18, 0, 0, 0, NULL), 0);
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
}

int main(void)
{
#define T(fn)                                                                  \
    cmocka_unit_test_setup_teardown(fn, fake_setup_ready, fake_teardown)
    const struct CMUnitTest tests[] = {
        T(test_event_register_bad_args),
        T(test_event_send_bad_args),
        T(test_event_send_sets_pending_and_upcall_on_edge),
        T(test_masked_event_makes_no_upcall_and_unmask_none),
        T(test_send_all_exclude_self),
        T(test_pending_kept_until_record_registered),
        T(test_block_without_record_or_deadline_is_state),
        T(test_block_returns_at_once_for_pending_event),
        T(test_block_past_deadline_returns_at_once),
        T(test_block_sleeps_until_deadline_without_spurious_wake),
        T(test_hypercall_from_blocked_vcpu_ends_its_block),
        T(test_block_woken_by_event_from_other_vcpu),
        T(test_block_woken_by_timer),
        T(test_block_ends_for_interrupt_and_spurious),
        T(test_block_restart_forgets_the_suspension),
        cmocka_unit_test(test_hvc_host_takes_free_ppis_only),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
