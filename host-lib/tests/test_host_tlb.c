/* SPDX-License-Identifier: MIT */
/* test_host_tlb.c: TLB_FLUSH. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define RG 0x6000u
#define BIT(n) (UINT64_C(1) << (n))

static struct vmi_tlb_range *ranges(struct fake_fx *x, unsigned n)
{
    struct vmi_tlb_range *r = fake_gpa(&x->f, RG);

    for (unsigned i = 0; i < n; i++) {
        r[i].gva = 0x400000 + i * 0x10000;
        r[i].pages = 1 + i;
    }
    return r;
}

static void start_all(struct fake_fx *x)
{
    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    for (uint64_t v = 1; v < 4; v++)
        assert_int_equal(
            fake_call(x->vm, 0, VMI_HC_VCPU_START, v, 0x5000, 0, 0, 0, NULL),
            0);
}

static int64_t flush(struct fake_fx *x, uint32_t from, uint64_t base,
                     uint64_t mask, uint64_t gpa, uint64_t count,
                     uint64_t flags)
{
    return fake_call(x->vm, from, VMI_HC_TLB_FLUSH, base, mask, gpa, count,
                     flags, NULL);
}

static void test_tlb_flush_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;
    struct vmi_tlb_range *r = ranges(x, 4);

#define REJ(b, m, g, n, fl, st)                                                \
    fake_expect_reject(f, x->vm, 0, VMI_HC_TLB_FLUSH, b, m, g, n, fl, st)
    REJ(0, 1, RG, 1, BIT(2), -VMI_E_INVAL);
    REJ(0, 1, RG, 1, BIT(9), -VMI_E_INVAL);
    REJ(0, 1, 0, 0, VMI_VCPUSET_ALL, -VMI_E_INVAL);
    REJ(64, 0, 0, 0, VMI_VCPUSET_ALL, -VMI_E_INVAL);
    REJ(1, 1, 0, 0, 0, -VMI_E_INVAL);
    REJ(0, 1, RG, 0, 0, -VMI_E_INVAL);
    REJ(0, 1, RG + 8, 1, 0, -VMI_E_ALIGN);
    REJ(0, 1, f->ram_bytes - 16, 2, 0, -VMI_E_FAULT);
    REJ(0, 1, RG, UINT64_C(1) << 60, 0, -VMI_E_FAULT);
    REJ(0, 1, RG, 1025, 0, -VMI_E_RANGE);
    REJ(0, BIT(4), RG, 1, 0, -VMI_E_RANGE);
    REJ(64, 1, RG, 1, 0, -VMI_E_RANGE);
    /* Precedence: INVAL before ALIGN before FAULT before RANGE. */
    REJ(0, BIT(9), f->ram_bytes + 8, 1, BIT(5), -VMI_E_INVAL);
    REJ(0, BIT(9), f->ram_bytes + 8, 1, 0, -VMI_E_ALIGN);
    REJ(0, BIT(9), f->ram_bytes, 1, 0, -VMI_E_FAULT);
    /* Entries: zero pages or wrapping: INVAL; misaligned gva: ALIGN. */
    r[2].pages = 0;
    REJ(0, 1, RG, 4, 0, -VMI_E_INVAL);
    r[2].pages = 1;
    r[3].gva = UINT64_MAX & ~0xFFFull;
    r[3].pages = 2;
    REJ(0, 1, RG, 4, 0, -VMI_E_INVAL);
    r[3].pages = 1;
    r[1].gva += 8;
    REJ(0, 1, RG, 4, 0, -VMI_E_ALIGN);
    /* An INVAL entry after an ALIGN entry: INVAL wins. */
    r[3].pages = 0;
    REJ(0, 1, RG, 4, 0, -VMI_E_INVAL);
#undef REJ
    assert_int_equal(f->flush_calls, 0);
}

static void test_tlb_flush_ranges_on_started_vcpus(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_tlb_range *r = ranges(x, 3);

    assert_int_equal(flush(x, 0, 0, 0xF, RG, 3, VMI_TLB_GLOBAL), 0);
    assert_int_equal(x->f.flush_calls, 1);
    /* Only vCPU 0 is started: the others are ignored. */
    assert_int_equal(x->f.flush_vcpus[0], 1);
    assert_int_equal(x->f.flush_count, 3);
    assert_int_equal(x->f.flush_flags, VMI_TLB_GLOBAL);
    assert_memory_equal(x->f.flush_ranges, r, 3 * sizeof(*r));
    start_all(x);
    assert_int_equal(
        flush(x, 2, 0, 0, 0, 0, VMI_VCPUSET_ALL | VMI_VCPUSET_EXCLUDE_SELF), 0);
    assert_int_equal(x->f.flush_vcpus[0], 0xB);
    assert_int_equal(x->f.flush_count, 0);
    assert_int_equal(x->f.flush_flags, 0);
}

static void test_tlb_flush_large_batch_flushes_everything(void **state)
{
    struct fake_fx *x = *state;

    (void)ranges(x, 1000);
    assert_int_equal(flush(x, 0, 0, 1, RG, 1000, 0), 0);
    assert_int_equal(x->f.flush_calls, 1);
    assert_int_equal(x->f.flush_count, 0);
}

int main(void)
{
#define T(fn)                                                                  \
    cmocka_unit_test_setup_teardown(fn, fake_setup_ready, fake_teardown)
    const struct CMUnitTest tests[] = {
        T(test_tlb_flush_bad_args),
        T(test_tlb_flush_ranges_on_started_vcpus),
        T(test_tlb_flush_large_batch_flushes_everything),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
