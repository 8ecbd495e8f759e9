/* SPDX-License-Identifier: MIT */
/* test_clock.c: VM clock, TSC scaling, clock and steal records, TIME_READ. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "vm.h"

#define REC 0x2000u

/* What a pvclock guest computes from a record at guest TSC `tsc`. */
static uint64_t guest_read(const struct vmi_clock_record *r, uint64_t tsc)
{
    return r->system_time + vmi__scale_delta(tsc - r->tsc_timestamp,
                                             r->tsc_to_system_mul,
                                             (int8_t)r->tsc_shift);
}

static void test_time_scale_matches_frequency(void **state)
{
    static const uint64_t hz[] = {1000000,     19200000,    25000000,
                                  100000000,   1000000000,  2400000000u,
                                  3000000000u, 3999999999u, 10000000000u};
    (void)state;
    for (unsigned i = 0; i < sizeof(hz) / sizeof(hz[0]); i++) {
        int8_t shift;
        uint32_t mul;
        vmi__time_scale(hz[i], &shift, &mul);
        assert_true(shift >= -31 && shift <= 31);
        /* One second of ticks is one second, to 1 ppm. */
        uint64_t ns = vmi__scale_delta(hz[i], mul, shift);
        assert_true(ns >= 999999000u && ns <= 1000001000u);
    }
}

static void test_clock_starts_near_zero_and_follows_tsc(void **state)
{
    struct fake_fx *x = *state;
    uint64_t t0 = vmi_host_clock_now(x->vm);

    assert_true(t0 < 1000);
    fake_advance(&x->f, 123456789);
    assert_int_equal(vmi_host_clock_now(x->vm) - t0, 123456789);
}

static void test_clock_never_goes_back_when_tsc_does(void **state)
{
    struct fake_fx *x = *state;
    uint64_t t1, t2;

    fake_advance(&x->f, 5000);
    t1 = vmi_host_clock_now(x->vm);
    x->f.tsc -= 3000;
    t2 = vmi_host_clock_now(x->vm);
    assert_true(t2 >= t1);
}

static void test_clock_register_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;

    fake_expect_reject(f, x->vm, 0, VMI_HC_CLOCK_REGISTER, REC, 1, 0, 0, 0,
                       -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_CLOCK_REGISTER, VMI_GPA_NONE,
                       UINT64_C(1) << 63, 0, 0, 0, -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_CLOCK_REGISTER, REC + 8, 0, 0, 0, 0,
                       -VMI_E_ALIGN);
    fake_expect_reject(f, x->vm, 0, VMI_HC_CLOCK_REGISTER, f->ram_bytes, 0, 0,
                       0, 0, -VMI_E_FAULT);
    fake_expect_reject(f, x->vm, 0, VMI_HC_CLOCK_REGISTER, UINT64_C(0) - 32, 0,
                       0, 0, 0, -VMI_E_FAULT);
    /* Precedence: INVAL before ALIGN before FAULT. */
    fake_expect_reject(f, x->vm, 0, VMI_HC_CLOCK_REGISTER, f->ram_bytes + 8, 2,
                       0, 0, 0, -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_CLOCK_REGISTER, f->ram_bytes + 8, 0,
                       0, 0, 0, -VMI_E_ALIGN);
}

static void
test_clock_record_written_at_once_and_agrees_with_time_read(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_clock_record *r = fake_gpa(&x->f, REC);
    struct vmi_host_call c;

    /* A hostile guest left garbage, including an odd version. */
    memset(r, 0xFF, sizeof(*r));
    r->version = 7;
    assert_int_equal(
        fake_call(x->vm, 1, VMI_HC_CLOCK_REGISTER, REC, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(r->version % 2, 0);
    assert_true(r->version > 7);
    assert_int_equal(r->reserved0, 0);
    assert_int_equal(r->reserved1[0] | r->reserved1[1], 0);
    assert_int_equal(r->flags, VMI_CLOCK_TSC_STABLE);
    assert_int_not_equal(r->tsc_to_system_mul, 0);
    for (unsigned i = 0; i < 5; i++) {
        fake_advance(&x->f, 1000003u * (i + 1) * (i + 1));
        assert_int_equal(
            fake_call(x->vm, 1, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, &c), 0);
        uint64_t g = guest_read(r, x->f.tsc);
        assert_true(c.rets[0] + 1 >= g && c.rets[0] <= g + 1);
    }
}

static void test_time_read_without_record_and_wall_offset(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    vmi_host_set_wall_offset(x->vm, INT64_C(1700000000000000000));
    fake_advance(&x->f, 42);
    assert_int_equal(fake_user_call(x->vm, 2, VMI_HC_TIME_READ, 0, 0), 0);
    assert_int_equal(fake_call(x->vm, 2, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, &c),
                     0);
    assert_int_equal(c.rets[0], vmi_host_clock_now(x->vm));
    assert_int_equal((int64_t)c.rets[1], INT64_C(1700000000000000000));
}

static void test_tsc_stable_flag_follows_config(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    struct vmi_clock_record *r;

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    cfg.tsc_stable = 0;
    vm = fake_vm(f, &cfg);
    assert_int_equal(fake_call(vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_CLOCK, 0, 0, 0, NULL),
                     0);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_CLOCK_REGISTER, REC, 0, 0, 0, 0, NULL), 0);
    r = fake_gpa(f, REC);
    assert_int_equal(r->flags & VMI_CLOCK_TSC_STABLE, 0);
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
}

static void test_guest_stopped_set_on_update_until_reregister(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_clock_record *r = fake_gpa(&x->f, REC);
    uint32_t v0;

    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_CLOCK_REGISTER, REC, 0, 0, 0, 0, NULL), 0);
    v0 = r->version;
    vmi_host_clock_update(x->vm, VMI_CLOCK_GUEST_STOPPED);
    assert_int_equal(r->version, v0 + 2);
    assert_true(r->flags & VMI_CLOCK_GUEST_STOPPED);
    /* A later plain update keeps it: only the guest acknowledges. */
    vmi_host_clock_update(x->vm, 0);
    assert_true(r->flags & VMI_CLOCK_GUEST_STOPPED);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_CLOCK_REGISTER, REC, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(r->flags & VMI_CLOCK_GUEST_STOPPED, 0);
    /* Or the guest clears it in the record, as Linux does: it stays clear
     * over later rewrites, until the next stop (VMI-CLK-038). */
    vmi_host_clock_update(x->vm, VMI_CLOCK_GUEST_STOPPED);
    assert_true(r->flags & VMI_CLOCK_GUEST_STOPPED);
    r->flags &= (uint8_t)~VMI_CLOCK_GUEST_STOPPED;
    vmi_host_clock_update(x->vm, 0);
    vmi_host_clock_update(x->vm, 0);
    assert_int_equal(r->flags & VMI_CLOCK_GUEST_STOPPED, 0);
    assert_true(r->flags & VMI_CLOCK_TSC_STABLE);
    /* The next stop shows it again. */
    vmi_host_clock_update(x->vm, VMI_CLOCK_GUEST_STOPPED);
    assert_true(r->flags & VMI_CLOCK_GUEST_STOPPED);
}

static void test_unregistered_record_is_left_alone(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_clock_record *r = fake_gpa(&x->f, REC);
    struct vmi_clock_record copy;

    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_CLOCK_REGISTER, REC, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_CLOCK_REGISTER, VMI_GPA_NONE, 0,
                               0, 0, 0, NULL),
                     0);
    copy = *r;
    vmi_host_clock_update(x->vm, VMI_CLOCK_GUEST_STOPPED);
    assert_memory_equal(&copy, r, sizeof(copy));
}

static void test_steal_register_and_account(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;
    struct vmi_steal_record *s = fake_gpa(f, 0x3000);

    fake_expect_reject(f, x->vm, 0, VMI_HC_STEAL_REGISTER, 0x3000, 4, 0, 0, 0,
                       -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_STEAL_REGISTER, 0x3020, 0, 0, 0, 0,
                       -VMI_E_ALIGN);
    fake_expect_reject(f, x->vm, 0, VMI_HC_STEAL_REGISTER, f->ram_bytes - 32, 0,
                       0, 0, 0, -VMI_E_ALIGN);
    fake_expect_reject(f, x->vm, 0, VMI_HC_STEAL_REGISTER, f->ram_bytes, 0, 0,
                       0, 0, -VMI_E_FAULT);
    vmi_host_steal_account(x->vm, 0, 500);
    memset(s, 0xAB, sizeof(*s));
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_STEAL_REGISTER, 0x3000, 0, 0, 0, 0, NULL),
        0);
    /* Cumulative since the VM was created (VMI-STL-012). */
    assert_int_equal(s->steal_ns, 500);
    assert_int_equal(s->version % 2, 0);
    assert_int_equal(s->flags | s->preempted | s->reserved0[2], 0);
    assert_int_equal(s->reserved1[10], 0);
    vmi_host_steal_account(x->vm, 0, 1234);
    vmi_host_steal_account(x->vm, 0, 1);
    assert_int_equal(s->steal_ns, 1735);
    assert_int_equal(s->version % 2, 0);
    /* Out-of-range vCPU is ignored. */
    vmi_host_steal_account(x->vm, 99, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_scale_matches_frequency),
        cmocka_unit_test_setup_teardown(
            test_clock_starts_near_zero_and_follows_tsc, fake_setup_ready,
            fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_clock_never_goes_back_when_tsc_does, fake_setup_ready,
            fake_teardown),
        cmocka_unit_test_setup_teardown(test_clock_register_bad_args,
                                        fake_setup_ready, fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_clock_record_written_at_once_and_agrees_with_time_read,
            fake_setup_ready, fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_time_read_without_record_and_wall_offset, fake_setup_ready,
            fake_teardown),
        cmocka_unit_test(test_tsc_stable_flag_follows_config),
        cmocka_unit_test_setup_teardown(
            test_guest_stopped_set_on_update_until_reregister, fake_setup_ready,
            fake_teardown),
        cmocka_unit_test_setup_teardown(test_unregistered_record_is_left_alone,
                                        fake_setup_ready, fake_teardown),
        cmocka_unit_test_setup_teardown(test_steal_register_and_account,
                                        fake_setup_ready, fake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
