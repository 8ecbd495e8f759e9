/* SPDX-License-Identifier: MIT */
/* test_host_timer.c: TIMER_ARM / TIMER_CANCEL, expiry order, budget. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define EVREC 0x4000u

static struct vmi_event_record *events_on(struct fake_fx *x, uint32_t vcpu)
{
    uint64_t gpa = EVREC + 64u * vcpu;

    assert_int_equal(
        fake_call(x->vm, vcpu, VMI_HC_EVENT_REGISTER, gpa, 32, 0, 0, 0, NULL),
        0);
    return fake_gpa(&x->f, gpa);
}

static int64_t arm(struct fake_fx *x, uint64_t id, uint64_t deadline,
                   uint64_t vcpu, uint64_t event)
{
    return fake_call(x->vm, 0, VMI_HC_TIMER_ARM, id, deadline, vcpu, event, 0,
                     NULL);
}

static uint64_t cancel(struct fake_fx *x, uint64_t id)
{
    struct vmi_host_call c;

    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_TIMER_CANCEL, id, 0, 0, 0, 0, &c), 0);
    return c.rets[0];
}

static void test_timer_arm_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;

    fake_expect_reject(f, x->vm, 0, VMI_HC_TIMER_ARM, 0, 100, 0, 0, 1,
                       -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_TIMER_ARM, 64, 100, 0, 0, 0,
                       -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_TIMER_ARM, UINT64_C(1) << 32, 100, 0,
                       0, 0, -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_TIMER_ARM, 0, 100, 4, 0, 0,
                       -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_TIMER_ARM, 0, 100, 0, 64, 0,
                       -VMI_E_RANGE);
    /* INVAL wins over RANGE. */
    fake_expect_reject(f, x->vm, 0, VMI_HC_TIMER_ARM, 9999, 100, 9, 99, 8,
                       -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_TIMER_CANCEL, 64, 0, 0, 0, 0,
                       -VMI_E_RANGE);
}

static void test_timer_past_deadline_fires_at_once(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = events_on(x, 1);
    uint32_t vector;

    fake_advance(&x->f, 1000000);
    assert_int_equal(arm(x, 3, 0, 1, 5), 0);
    assert_int_equal(r->pending, UINT64_C(1) << 5);
    assert_int_equal(vmi_host_take_upcall(x->vm, 1, &vector), 1);
    assert_int_equal(vector, 32);
    /* Exactly now also counts as past; nothing stays armed. */
    assert_int_equal(arm(x, 4, vmi_host_clock_now(x->vm), 1, 6), 0);
    assert_int_equal(r->pending, UINT64_C(1) << 5 | UINT64_C(1) << 6);
    assert_int_equal(vmi_host_next_deadline(x->vm), VMI_DEADLINE_NONE);
    assert_int_equal(cancel(x, 3), 0);
}

static void test_timer_never_fires_early(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = events_on(x, 0);
    uint64_t d = vmi_host_clock_now(x->vm) + 1000;

    assert_int_equal(arm(x, 0, d, 0, 0), 0);
    assert_int_equal(vmi_host_next_deadline(x->vm), d);
    fake_advance(&x->f, 999);
    assert_int_equal(vmi_host_timers_fire(x->vm, 100), 0);
    assert_int_equal(r->pending, 0);
    fake_advance(&x->f, 1);
    assert_int_equal(vmi_host_timers_fire(x->vm, 100), 1);
    assert_int_equal(r->pending, 1);
    assert_true(x->f.kicks[0] >= 1);
    /* Fired once: nothing left. */
    assert_int_equal(vmi_host_timers_fire(x->vm, 100), 0);
    assert_int_equal(cancel(x, 0), 0);
}

static void test_timer_rearm_replaces(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = events_on(x, 0);
    uint64_t now = vmi_host_clock_now(x->vm);

    assert_int_equal(arm(x, 7, now + 100, 0, 1), 0);
    assert_int_equal(arm(x, 7, now + 1000, 0, 2), 0);
    fake_advance(&x->f, 500);
    assert_int_equal(vmi_host_timers_fire(x->vm, 10), 0);
    assert_int_equal(r->pending, 0);
    fake_advance(&x->f, 500);
    assert_int_equal(vmi_host_timers_fire(x->vm, 10), 1);
    assert_int_equal(r->pending, UINT64_C(1) << 2);
    /* Re-arming with a past deadline replaces a future arming too. */
    assert_int_equal(arm(x, 8, now + 100000, 0, 3), 0);
    assert_int_equal(arm(x, 8, 1, 0, 4), 0);
    assert_int_equal(cancel(x, 8), 0);
}

static void test_timer_cancel_is_idempotent(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = events_on(x, 0);

    assert_int_equal(cancel(x, 5), 0);
    assert_int_equal(arm(x, 5, vmi_host_clock_now(x->vm) + 10, 0, 9), 0);
    assert_int_equal(cancel(x, 5), 1);
    assert_int_equal(cancel(x, 5), 0);
    fake_advance(&x->f, 100);
    assert_int_equal(vmi_host_timers_fire(x->vm, 10), 0);
    assert_int_equal(r->pending, 0);
}

static void test_timer_cancel_keeps_pending_bit(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = events_on(x, 0);

    assert_int_equal(arm(x, 1, vmi_host_clock_now(x->vm) + 10, 0, 9), 0);
    fake_advance(&x->f, 10);
    assert_int_equal(vmi_host_timers_fire(x->vm, 10), 1);
    assert_int_equal(cancel(x, 1), 0);
    assert_int_equal(r->pending, UINT64_C(1) << 9);
}

static void test_timer_budget_bounds_work(void **state)
{
    struct fake_fx *x = *state;
    uint64_t now = vmi_host_clock_now(x->vm);

    (void)events_on(x, 0);
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(arm(x, i, now + 10 + i % 3, i % 4, i % 64), 0);
    fake_advance(&x->f, 100);
    assert_int_equal(vmi_host_timers_fire(x->vm, 7), 7);
    assert_true(vmi_host_next_deadline(x->vm) <= vmi_host_clock_now(x->vm));
    assert_int_equal(vmi_host_timers_fire(x->vm, 0), 0);
    assert_int_equal(vmi_host_timers_fire(x->vm, 1000), 57);
    assert_int_equal(vmi_host_next_deadline(x->vm), VMI_DEADLINE_NONE);
}

static void test_timers_changed_when_earliest_moves_earlier(void **state)
{
    struct fake_fx *x = *state;
    uint64_t now = vmi_host_clock_now(x->vm);

    assert_int_equal(arm(x, 0, now + 1000, 0, 0), 0);
    assert_int_equal(x->f.timers_changed, 1);
    assert_int_equal(arm(x, 1, now + 2000, 0, 0), 0);
    assert_int_equal(x->f.timers_changed, 1);
    assert_int_equal(arm(x, 2, now + 500, 0, 0), 0);
    assert_int_equal(x->f.timers_changed, 2);
    assert_int_equal(vmi_host_next_deadline(x->vm), now + 500);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Many armed timers expire one by one, in deadline order, never early. */
static void test_ten_thousand_timers_fire_in_deadline_order(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    enum { N = 10000 };
    uint64_t *dl = calloc(N, sizeof(*dl)), *sorted = calloc(N, sizeof(*dl));
    uint64_t seed = 12345, now;
    struct vmi_host_call c;

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    cfg.timer_count = 16384;
    vm = fake_vm(f, &cfg);
    assert_int_equal(fake_call(vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_ALL_1_0, 0, 0, 0, NULL),
                     0);
    now = vmi_host_clock_now(vm);
    for (unsigned i = 0; i < N; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        /* Distinct deadlines: a random high part, the id in the low bits. */
        dl[i] = now + 100 + ((seed >> 33) % 1000000) * 16384 + i;
        assert_int_equal(fake_call(vm, 0, VMI_HC_TIMER_ARM, i, dl[i], i % 4,
                                   i % 64, 0, NULL),
                         0);
    }
    memcpy(sorted, dl, N * sizeof(*dl));
    qsort(sorted, N, sizeof(*sorted), cmp_u64);
    for (unsigned k = 0; k < N; k++) {
        uint64_t id = (sorted[k] - now - 100) % 16384;
        assert_int_equal(vmi_host_next_deadline(vm), sorted[k]);
        f->tsc += sorted[k] - 1 - vmi_host_clock_now(vm);
        assert_int_equal(vmi_host_timers_fire(vm, 8), 0);
        f->tsc += 1;
        assert_int_equal(vmi_host_timers_fire(vm, 8), 1);
        /* The one that fired is the one with this deadline. */
        assert_int_equal(
            fake_call(vm, 0, VMI_HC_TIMER_CANCEL, id, 0, 0, 0, 0, &c), 0);
        assert_int_equal(c.rets[0], 0);
        assert_int_equal(dl[id], sorted[k]);
    }
    assert_int_equal(vmi_host_next_deadline(vm), VMI_DEADLINE_NONE);
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
    free(dl);
    free(sorted);
}

/* The heap scales to the largest timer count: all armed, all fire. */
static void test_all_65536_timers_armed_and_fired(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    struct vmi_host_stats st;
    uint64_t now;

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    cfg.timer_count = VMI_HOST_MAX_TIMERS;
    vm = fake_vm(f, &cfg);
    assert_int_equal(fake_call(vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_ALL_1_0, 0, 0, 0, NULL),
                     0);
    now = vmi_host_clock_now(vm);
    for (uint32_t i = 0; i < VMI_HOST_MAX_TIMERS; i++)
        assert_int_equal(fake_call(vm, 0, VMI_HC_TIMER_ARM, i,
                                   now + 1 + (i * 7919u) % 65536u, 0, 0, 0,
                                   NULL),
                         0);
    vmi_host_get_stats(vm, &st);
    assert_int_equal(st.armed_timers, VMI_HOST_MAX_TIMERS);
    fake_advance(f, 65536);
    assert_int_equal(vmi_host_timers_fire(vm, UINT32_MAX), VMI_HOST_MAX_TIMERS);
    vmi_host_get_stats(vm, &st);
    assert_int_equal(st.armed_timers, 0);
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
}

int main(void)
{
#define T(fn)                                                                  \
    cmocka_unit_test_setup_teardown(fn, fake_setup_ready, fake_teardown)
    const struct CMUnitTest tests[] = {
        T(test_timer_arm_bad_args),
        T(test_timer_past_deadline_fires_at_once),
        T(test_timer_never_fires_early),
        T(test_timer_rearm_replaces),
        T(test_timer_cancel_is_idempotent),
        T(test_timer_cancel_keeps_pending_bit),
        T(test_timer_budget_bounds_work),
        T(test_timers_changed_when_earliest_moves_earlier),
        cmocka_unit_test(test_ten_thousand_timers_fire_in_deadline_order),
        cmocka_unit_test(test_all_65536_timers_armed_and_fired),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
