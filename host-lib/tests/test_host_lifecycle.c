/* SPDX-License-Identifier: MIT */
/* test_lifecycle.c: NEGOTIATE, SHUTDOWN and the VM lifecycle. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "fake_host.h"

#define NEG(vm, v, f, c) fake_call(vm, 0, VMI_HC_NEGOTIATE, v, f, 0, 0, 0, c)

static void test_negotiate_grants_requested_and_offered(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;
    uint64_t f = VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER;

    assert_int_equal(NEG(x->vm, VMI_SPEC_VERSION, f, &c), 0);
    assert_int_equal(c.rets[0], VMI_VERSION(1, 0));
    assert_int_equal(c.rets[1], f);
}

static void test_negotiate_higher_minor_agrees_on_host_minor(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    assert_int_equal(NEG(x->vm, VMI_VERSION(1, 7), VMI_F_CLOCK, &c), 0);
    assert_int_equal(c.rets[0], VMI_VERSION(1, 0));
}

static void test_negotiate_other_major_is_version(void **state)
{
    struct fake_fx *x = *state;

    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE, VMI_VERSION(2, 0), 0,
                       0, 0, 0, -VMI_E_VERSION);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE, VMI_VERSION(0, 9), 0,
                       0, 0, 0, -VMI_E_VERSION);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE,
                       UINT64_C(1) << 48 | VMI_VERSION(1, 0), 0, 0, 0, 0,
                       -VMI_E_VERSION);
    /* Still INITIAL: a failed negotiation can be retried. */
    assert_int_equal(NEG(x->vm, VMI_SPEC_VERSION, 0, NULL), 0);
}

static void test_negotiate_undefined_feature_bits_are_ignored(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    /* Requirement and version checks look at defined bits only. */
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                       UINT64_C(1) << 63 | VMI_F_TIMER, 0, 0, 0, -VMI_E_INVAL);
    /* INVAL wins over VERSION. */
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE, VMI_VERSION(3, 0),
                       UINT64_C(1) << 40 | VMI_F_PT, 0, 0, 0, -VMI_E_INVAL);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE, VMI_VERSION(3, 0),
                       UINT64_C(1) << 40, 0, 0, 0, -VMI_E_VERSION);
    /* Not an error, and never granted (VMI-VER-029, VMI-VER-032). */
    assert_int_equal(
        NEG(x->vm, VMI_VERSION(1, 9), ~VMI_F_ALL_1_0 | VMI_F_CLOCK, &c), 0);
    assert_int_equal(c.rets[0], VMI_VERSION(1, 0));
    assert_int_equal(c.rets[1], VMI_F_CLOCK);
}

static void test_negotiate_missing_requirement_is_inval(void **state)
{
    struct fake_fx *x = *state;

    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                       VMI_F_TIMER | VMI_F_CLOCK, 0, 0, 0, -VMI_E_INVAL);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                       VMI_F_PT, 0, 0, 0, -VMI_E_INVAL);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                       VMI_F_STEAL, 0, 0, 0, -VMI_E_INVAL);
}

static void
test_negotiate_drops_features_whose_requirement_is_not_offered(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    struct vmi_host_call c;

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    cfg.features = VMI_F_CLOCK | VMI_F_TLB | VMI_F_MEM;
    vm = fake_vm(f, &cfg);
    /* EVENTS is not offered, so TIMER (which needs it) is not granted. */
    assert_int_equal(
        NEG(vm, VMI_SPEC_VERSION,
            VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER | VMI_F_TLB | VMI_F_PT,
            &c),
        0);
    assert_int_equal(c.rets[1], VMI_F_CLOCK | VMI_F_TLB);
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
}

static void test_negotiate_twice_is_state(void **state)
{
    struct fake_fx *x = *state;

    assert_int_equal(NEG(x->vm, VMI_SPEC_VERSION, VMI_F_CLOCK, NULL), 0);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                       VMI_F_CLOCK, 0, 0, 0, -VMI_E_STATE);
    /* From another vCPU too: the negotiation is VM-wide. */
    fake_expect_reject(&x->f, x->vm, 2, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION, 0,
                       0, 0, 0, -VMI_E_STATE);
}

static void test_console_and_shutdown_work_before_negotiation(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    memcpy(fake_gpa(&x->f, 0x1000), "hi", 2);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_CONSOLE_WRITE, 0x1000, 2, 0, 0, 0, &c), 0);
    assert_int_equal(c.rets[0], 2);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_SHUTDOWN, VMI_SHUTDOWN_CRASH, 3,
                               0, 0, 0, &c),
                     0);
    assert_int_equal(c.action, VMI_HOST_SHUTDOWN);
}

static void test_shutdown_bad_reason_is_inval(void **state)
{
    struct fake_fx *x = *state;

    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_SHUTDOWN, 3, 0, 0, 0, 0,
                       -VMI_E_INVAL);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_SHUTDOWN, UINT64_C(1) << 32, 0,
                       0, 0, 0, -VMI_E_INVAL);
    /* INVAL wins over RANGE. */
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_SHUTDOWN, 7, 256, 0, 0, 0,
                       -VMI_E_INVAL);
}

static void test_shutdown_status_above_255_is_range(void **state)
{
    struct fake_fx *x = *state;

    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_SHUTDOWN, VMI_SHUTDOWN_POWEROFF,
                       256, 0, 0, 0, -VMI_E_RANGE);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_SHUTDOWN, VMI_SHUTDOWN_REBOOT,
                       UINT64_MAX, 0, 0, 0, -VMI_E_RANGE);
}

static void test_shutdown_ends_the_vm(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;
    uint32_t reason = 9, status = 9;

    assert_int_equal(vmi_host_shutdown_info(x->vm, &reason, &status),
                     -VMI_E_STATE);
    assert_int_equal(
        fake_call(x->vm, 1, VMI_HC_TIMER_ARM, 0, UINT64_MAX, 0, 0, 0, NULL), 0);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_SHUTDOWN, VMI_SHUTDOWN_REBOOT,
                               255, 0, 0, 0, &c),
                     0);
    assert_int_equal(c.action, VMI_HOST_SHUTDOWN);
    assert_int_equal(vmi_host_shutdown_info(x->vm, &reason, &status), 0);
    assert_int_equal(reason, VMI_SHUTDOWN_REBOOT);
    assert_int_equal(status, 255);
    /* Every later call is answered with STATE, even NOP. */
    for (unsigned i = 0; i < fake_hc_count; i++)
        fake_expect_reject(&x->f, x->vm, 0, fake_hcs[i].nr, 0, 0, 0, 0, 0,
                           -VMI_E_STATE);
}

static void test_no_timer_fires_after_shutdown(void **state)
{
    struct fake_fx *x = *state;

    assert_int_equal(fake_call(x->vm, 0, VMI_HC_TIMER_ARM, 0,
                               vmi_host_clock_now(x->vm) + 1000, 0, 0, 0, NULL),
                     0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_SHUTDOWN, 0, 0, 0, 0, 0, NULL),
                     0);
    fake_advance(&x->f, 1000000);
    assert_int_equal(vmi_host_timers_fire(x->vm, 10), 0);
}

/* QUERY in each state; RESET back to INITIAL, stopping the others. */
static void test_query_and_reset(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;
    struct vmi_host_stats st;
    struct vmi_mem_extent *e = fake_gpa(&x->f, 0x8000);
    uint64_t *pt = fake_gpa(&x->f, 0x10000);

    assert_int_equal(fake_call(x->vm, 0, VMI_HC_QUERY, 0, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.rets[0], (uint64_t)VMI_LIFECYCLE_INITIAL << 32);
    assert_int_equal(c.rets[1], 0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_QUERY, 1, 0, 0, 0, 0, NULL),
                     -VMI_E_INVAL);
    assert_int_equal(NEG(x->vm, VMI_SPEC_VERSION, VMI_F_ALL_1_0, NULL), 0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_QUERY, 0, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.rets[0], ((uint64_t)VMI_LIFECYCLE_NEGOTIATED << 32) |
                                    VMI_VERSION(1, 0));
    assert_int_equal(c.rets[1], VMI_F_ALL_1_0);
    /* Something of everything: vCPUs 1 and 2, a timer, a pin, a release. */
    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, 0, NULL), 0);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 2, 0x5000, 0, 0, 0, NULL), 0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_TIMER_ARM, 1, UINT64_C(1) << 60,
                               0, 1, 0, NULL),
                     0);
    memset(pt, 0, 4096);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_PT_PIN, 0x10000, 1, 0, 0, 0, NULL), 0);
    e->gpa = 0x20000;
    e->pages = 2;
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_MEM_RELEASE, 0x8000, 1, 0, 0, 0, NULL), 0);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_RESET, 1, 0, 0, 0, 0, NULL),
                     -VMI_E_INVAL);
    x->f.reclaim_calls = 0;
    /* RESET from vCPU 1: vCPUs 0 and 2 stop, vCPU 3 never ran. */
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_RESET, 0, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.action, VMI_HOST_RESUME);
    assert_int_equal(x->f.stop_calls, 2);
    assert_int_equal(x->f.stopped[0], UINT64_C(0x5));
    assert_int_equal(x->f.reclaim_calls, 1);
    vmi_host_get_stats(x->vm, &st);
    assert_int_equal(st.released_pages, 0);
    assert_int_equal(st.pinned_tables, 0);
    assert_int_equal(st.armed_timers, 0);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_QUERY, 0, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.rets[0], (uint64_t)VMI_LIFECYCLE_INITIAL << 32);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, NULL),
                     -VMI_E_STATE);
    /* A new agreement; vCPU 0 is stopped and may be started again. */
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_ALL_1_0, 0, 0, 0, NULL),
                     0);
    assert_int_equal(
        fake_call(x->vm, 1, VMI_HC_VCPU_START, 0, 0x5000, 0, 0, 0, NULL), 0);
}

static void test_vcpu_stop(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    /* The only running vCPU cannot stop. */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_VCPU_STOP, 0, 0, 0, 0, 0, NULL),
                     -VMI_E_BUSY);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_VCPU_STOP, 1, 0, 0, 0, 0, NULL),
                     -VMI_E_INVAL);
    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, 0, NULL), 0);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_VCPU_STOP, 0, 0, 0, 0, 0, &c),
                     0);
    assert_int_equal(c.action, VMI_HOST_STOP);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, 0, NULL), 0);
    /* The platform's INIT and SIPI (VMI-CPU-018..020). */
    assert_int_equal(vmi_host_vcpu_platform(x->vm, 1, 0), 0);
    assert_int_equal(vmi_host_vcpu_platform(x->vm, 2, 1), 0);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 2, 0x5000, 0, 0, 0, NULL),
        -VMI_E_BUSY);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, 0, NULL), 0);
    assert_int_equal(vmi_host_vcpu_platform(x->vm, 99, 0), -VMI_E_INVAL);
    assert_int_equal(vmi_host_vcpu_platform(NULL, 0, 0), -VMI_E_INVAL);
    /* The architectural reset of the whole VM. */
    assert_int_equal(vmi_host_reset(x->vm), 0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_QUERY, 0, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.rets[0], (uint64_t)VMI_LIFECYCLE_INITIAL << 32);
    assert_int_equal(vmi_host_reset(NULL), -VMI_E_INVAL);
}

/* The new vCPU runs, and stops, before its VCPU_START has returned. */
struct early_run {
    struct fake_host *f;
    struct vmi_host_vm *vm;
    uint32_t vcpu;
    int64_t stop;
};

static void *early_vcpu(void *arg)
{
    struct early_run *e = arg;
    struct vmi_host_call c;

    e->stop = fake_call(e->vm, e->vcpu, VMI_HC_VCPU_STOP, 0, 0, 0, 0, 0, &c);
    if (c.action != VMI_HOST_STOP)
        e->stop = -1;
    return NULL;
}

static void run_early(struct fake_host *f, uint32_t vcpu)
{
    struct early_run *e = f->on_start_vm;
    pthread_t th;

    e->vcpu = vcpu;
    assert_int_equal(pthread_create(&th, NULL, early_vcpu, e), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
}

static void test_vcpu_stopped_before_its_start_returned(void **state)
{
    struct fake_fx *x = *state;
    struct early_run e = {&x->f, x->vm, 0, -1};

    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    x->f.on_start = run_early;
    x->f.on_start_vm = &e;
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, 0, NULL), 0);
    x->f.on_start = NULL;
    assert_int_equal(e.stop, 0);
    /* It stopped: a new VCPU_START must succeed, not find it running. */
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, 0, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_and_reset, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_vcpu_stop, fake_setup_ready,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_vcpu_stopped_before_its_start_returned, fake_setup_ready,
            fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_negotiate_grants_requested_and_offered, fake_setup,
            fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_negotiate_higher_minor_agrees_on_host_minor, fake_setup,
            fake_teardown),
        cmocka_unit_test_setup_teardown(test_negotiate_other_major_is_version,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_negotiate_undefined_feature_bits_are_ignored, fake_setup,
            fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_negotiate_missing_requirement_is_inval, fake_setup,
            fake_teardown),
        cmocka_unit_test(
            test_negotiate_drops_features_whose_requirement_is_not_offered),
        cmocka_unit_test_setup_teardown(test_negotiate_twice_is_state,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_console_and_shutdown_work_before_negotiation, fake_setup,
            fake_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_bad_reason_is_inval,
                                        fake_setup_ready, fake_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_status_above_255_is_range,
                                        fake_setup_ready, fake_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_ends_the_vm,
                                        fake_setup_ready, fake_teardown),
        cmocka_unit_test_setup_teardown(test_no_timer_fires_after_shutdown,
                                        fake_setup_ready, fake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
