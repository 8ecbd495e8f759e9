/* SPDX-License-Identifier: MIT */
/* test_host_vcpu.c: VCPU_START. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define ST 0x5000u

static struct vmi_vcpu_start *state_at(struct fake_fx *x, uint64_t gpa)
{
    struct vmi_vcpu_start *s = fake_gpa(&x->f, gpa);

    memset(s, 0, sizeof(*s));
    s->entry_gva = 0xffffffff80001000u;
    s->stack_gva = 0xffffffff80200000u;
    s->page_table_gpa = 0x100000;
    s->arg = 42;
    return s;
}

static void test_vcpu_start_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;
    struct vmi_vcpu_start *s = state_at(x, ST);

    fake_expect_reject(f, x->vm, 0, VMI_HC_VCPU_START, 1, ST + 8, 0, 0, 0,
                       -VMI_E_ALIGN);
    fake_expect_reject(f, x->vm, 0, VMI_HC_VCPU_START, 1, f->ram_bytes, 0, 0, 0,
                       -VMI_E_FAULT);
    fake_expect_reject(f, x->vm, 0, VMI_HC_VCPU_START, 1, UINT64_C(0) - 64, 0,
                       0, 0, -VMI_E_FAULT);
    /* ALIGN is checked before RAM. */
    fake_expect_reject(f, x->vm, 0, VMI_HC_VCPU_START, 1, f->ram_bytes + 4, 0,
                       0, 0, -VMI_E_ALIGN);
    s->flags = 1;
    fake_expect_reject(f, x->vm, 0, VMI_HC_VCPU_START, 1, ST, 0, 0, 0,
                       -VMI_E_INVAL);
    /* INVAL wins over RANGE. */
    fake_expect_reject(f, x->vm, 0, VMI_HC_VCPU_START, 99, ST, 0, 0, 0,
                       -VMI_E_INVAL);
    s->flags = 0;
    s->reserved0[2] = 1;
    fake_expect_reject(f, x->vm, 0, VMI_HC_VCPU_START, 1, ST, 0, 0, 0,
                       -VMI_E_INVAL);
    s->reserved0[2] = 0;
    fake_expect_reject(f, x->vm, 0, VMI_HC_VCPU_START, 4, ST, 0, 0, 0,
                       -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_VCPU_START, UINT64_C(1) << 32, ST, 0,
                       0, 0, -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 1, VMI_HC_VCPU_START, 0, ST, 0, 0, 0,
                       -VMI_E_BUSY);
    assert_int_equal(f->start_calls, 0);
}

static void test_vcpu_start_starts_with_copied_state(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_vcpu_start *s = state_at(x, ST);
    struct vmi_vcpu_start want = *s;

    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 2, ST, 0, 0, 0, NULL), 0);
    assert_int_equal(x->f.start_calls, 1);
    assert_int_equal(x->f.start_caller, 0);
    assert_int_equal(x->f.start_vcpu, 2);
    assert_memory_equal(&x->f.start_state, &want, sizeof(want));
    /* Started once only. */
    fake_expect_reject(&x->f, x->vm, 1, VMI_HC_VCPU_START, 2, ST, 0, 0, 0,
                       -VMI_E_BUSY);
    assert_int_equal(x->f.start_calls, 1);
}

static void test_vcpu_start_embedder_failure_is_limit(void **state)
{
    struct fake_fx *x = *state;

    (void)state_at(x, ST);
    x->f.fail_start = 1;
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_VCPU_START, 3, ST, 0, 0, 0,
                       -VMI_E_LIMIT);
    x->f.fail_start = 0;
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 3, ST, 0, 0, 0, NULL), 0);
}

int main(void)
{
#define T(fn)                                                                  \
    cmocka_unit_test_setup_teardown(fn, fake_setup_ready, fake_teardown)
    const struct CMUnitTest tests[] = {
        T(test_vcpu_start_bad_args),
        T(test_vcpu_start_starts_with_copied_state),
        T(test_vcpu_start_embedder_failure_is_limit),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
