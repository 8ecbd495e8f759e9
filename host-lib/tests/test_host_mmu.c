/* SPDX-License-Identifier: MIT */
/* test_host_mmu.c: page-table profile: PT_PIN, PT_UNPIN, PT_UPDATE. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define T1 0x10000u /* a level-1 table */
#define T2 0x11000u /* a level-2 table */
#define UPD 0x20000u
#define P VMI_PTE_PRESENT

static uint64_t *table(struct fake_fx *x, uint64_t gpa)
{
    uint64_t *t = fake_gpa(&x->f, gpa);

    memset(t, 0, 4096);
    return t;
}

static int64_t pin(struct fake_fx *x, uint64_t gpa, uint64_t level,
                   struct vmi_host_call *c)
{
    return fake_call(x->vm, 0, VMI_HC_PT_PIN, gpa, level, 0, 0, 0, c);
}

static void test_pt_pin_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;

    (void)table(x, T1);
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_PIN, T1, 1, 1, 0, 0,
                       -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_PIN, T1 + 8, 1, 0, 0, 0,
                       -VMI_E_ALIGN);
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_PIN, f->ram_bytes, 1, 0, 0, 0,
                       -VMI_E_FAULT);
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_PIN, UINT64_C(0) - 4096, 1, 0, 0,
                       0, -VMI_E_FAULT);
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_PIN, T1, 0, 0, 0, 0,
                       -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_PIN, T1, 5, 0, 0, 0,
                       -VMI_E_RANGE);
    /* Precedence. */
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_PIN, f->ram_bytes + 8, 9, 1, 0, 0,
                       -VMI_E_INVAL);
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_PIN, f->ram_bytes + 8, 9, 0, 0, 0,
                       -VMI_E_ALIGN);
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_PIN, f->ram_bytes, 9, 0, 0, 0,
                       -VMI_E_FAULT);
}

static void test_pt_pin_validates_present_entries(void **state)
{
    struct fake_fx *x = *state;
    uint64_t *t = table(x, T1);
    struct vmi_host_call c;

    /* Not-present entries may hold anything. */
    t[0] = ~(uint64_t)P;
    t[1] = 0x1000 | P | VMI_PTE_WRITE | VMI_PTE_NX | VMI_PTE_SOFTWARE;
    t[7] = 0x2000 | P | VMI_PTE_RESERVED;
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_PT_PIN, T1, 1, 0, 0, 0,
                       -VMI_E_INVAL);
    assert_int_equal(pin(x, T1, 1, &c), -VMI_E_INVAL);
    assert_int_equal(c.rets[0], 7);
    /* At level 1 bit 7 is PAT, not PS: allowed, the frame is 4 KiB. */
    t[7] = (x->f.ram_bytes - 4096) | P | VMI_PTE_PS;
    assert_int_equal(pin(x, T1, 1, &c), 0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_UNPIN, T1, 0, 0, 0, 0, NULL),
                     0);
    t[7] = x->f.ram_bytes | P;
    assert_int_equal(pin(x, T1, 1, &c), -VMI_E_FAULT);
    assert_int_equal(c.rets[0], 7);
    t[7] = 0;
    t[511] = (x->f.ram_bytes - 4096) | P;
    assert_int_equal(pin(x, T1, 1, &c), 0);
    assert_int_equal(pin(x, T1, 1, &c), -VMI_E_BUSY);
}

static void test_pt_pin_large_pages_by_level(void **state)
{
    struct fake_fx *x = *state;
    uint64_t *t = table(x, T2);
    struct vmi_host_call c;

    /* 2 MiB page inside 4 MiB of RAM: fine at level 2. */
    t[0] = (UINT64_C(2) << 20) | P | VMI_PTE_PS;
    assert_int_equal(pin(x, T2, 2, &c), 0);
    /* The same at level 4 is not allowed; at level 3 it is a 1 GiB page
     * outside RAM. */
    t = table(x, T2 + 0x1000);
    t[3] = (UINT64_C(2) << 20) | P | VMI_PTE_PS;
    assert_int_equal(pin(x, T2 + 0x1000, 4, &c), -VMI_E_INVAL);
    assert_int_equal(c.rets[0], 3);
    assert_int_equal(pin(x, T2 + 0x1000, 3, &c), -VMI_E_FAULT);
    assert_int_equal(c.rets[0], 3);
}

static void test_pt_pin_limit(void **state)
{
    struct fake_fx *x = *state;

    for (unsigned i = 0; i < 64; i++) {
        (void)table(x, T1 + i * 4096u);
        assert_int_equal(pin(x, T1 + i * 4096u, 1, NULL), 0);
    }
    (void)table(x, T1 + 64 * 4096u);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_PT_PIN, T1 + 64 * 4096u, 1, 0, 0,
                       0, -VMI_E_LIMIT);
    /* BUSY wins over LIMIT. */
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_PT_PIN, T1, 1, 0, 0, 0,
                       -VMI_E_BUSY);
}

static void test_pt_unpin(void **state)
{
    struct fake_fx *x = *state;

    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_PT_UNPIN, T1, 0, 0, 0, 0,
                       -VMI_E_NOENT);
    fake_expect_reject(&x->f, x->vm, 0, VMI_HC_PT_UNPIN, T1 + 8, 0, 0, 0, 0,
                       -VMI_E_ALIGN);
    (void)table(x, T1);
    assert_int_equal(pin(x, T1, 1, NULL), 0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_UNPIN, T1, 0, 0, 0, 0, NULL),
                     0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_UNPIN, T1, 0, 0, 0, 0, NULL),
                     -VMI_E_NOENT);
}

static struct vmi_pt_update *updates(struct fake_fx *x, unsigned n)
{
    struct vmi_pt_update *u = fake_gpa(&x->f, UPD);

    for (unsigned i = 0; i < n; i++) {
        u[i].pte_gpa = T1 + 8 * (i % 512);
        u[i].value = (0x100000 + 4096 * (uint64_t)i) | P;
    }
    return u;
}

static void test_pt_update_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;

    (void)table(x, T1);
    assert_int_equal(pin(x, T1, 1, NULL), 0);
    (void)updates(x, 4);
#define REJ(g, n, s, fl, st)                                                   \
    fake_expect_reject(f, x->vm, 0, VMI_HC_PT_UPDATE, g, n, s, fl, 0, st)
    REJ(UPD, 4, 0, 2, -VMI_E_INVAL); /* bit 0 is PRESERVE_AD */
    REJ(UPD + 8, 4, 0, 0, -VMI_E_ALIGN);
    REJ(f->ram_bytes - 32, 4, 0, 0, -VMI_E_FAULT);
    REJ(UPD, UINT64_C(1) << 62, 0, 0, -VMI_E_FAULT);
    REJ(UPD, 1025, 0, 0, -VMI_E_RANGE);
    REJ(UPD, 4, 5, 0, -VMI_E_RANGE);
    REJ(f->ram_bytes + 8, 2000, 9000, 4, -VMI_E_INVAL);
    REJ(f->ram_bytes + 8, 2000, 9000, 0, -VMI_E_ALIGN);
    REJ(f->ram_bytes, 2000, 9000, 0, -VMI_E_FAULT);
#undef REJ
}

static void test_pt_update_applies_in_order_and_stops_at_bad_entry(void **state)
{
    struct fake_fx *x = *state;
    uint64_t *t = table(x, T1);
    struct vmi_pt_update *u;
    struct vmi_host_call c;

    assert_int_equal(pin(x, T1, 1, NULL), 0);
    u = updates(x, 8);
    u[5].pte_gpa += 4;
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_UPDATE, UPD, 8, 0, 0, 0, &c),
                     -VMI_E_ALIGN);
    assert_int_equal(c.rets[0], 5);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(t[i], u[i].value);
    assert_int_equal(t[5], 0);
    u[5].pte_gpa = T2; /* not pinned */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_UPDATE, UPD, 8, 5, 0, 0, &c),
                     -VMI_E_NOENT);
    assert_int_equal(c.rets[0], 5);
    u[5].pte_gpa = T1 + 40;
    u[6].value |= VMI_PTE_RESERVED;
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_UPDATE, UPD, 8, 5, 0, 0, &c),
                     -VMI_E_INVAL);
    assert_int_equal(c.rets[0], 6);
    assert_int_equal(t[5], u[5].value);
    u[6].value = x->f.ram_bytes | P;
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_UPDATE, UPD, 8, 6, 0, 0, &c),
                     -VMI_E_FAULT);
    u[6].value = 0x1234000; /* not present: anything goes */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_UPDATE, UPD, 8, 6, 0, 0, &c),
                     0);
    assert_int_equal(c.rets[0], 8);
    assert_int_equal(t[6], 0x1234000);
    assert_int_equal(t[7], u[7].value);
}

static void test_pt_update_bounded_work_and_restart(void **state)
{
    struct fake_fx *x = *state;
    uint64_t *t = table(x, T1);
    struct vmi_pt_update *u;
    struct vmi_host_call c;
    uint64_t start = 0;
    unsigned calls = 0;

    assert_int_equal(pin(x, T1, 1, NULL), 0);
    u = updates(x, 300);
    for (;;) {
        int64_t st =
            fake_call(x->vm, 0, VMI_HC_PT_UPDATE, UPD, 300, start, 0, 0, &c);
        calls++;
        if (st == 0)
            break;
        assert_int_equal(st, -VMI_E_AGAIN);
        /* At least one entry per call, at most work_per_call. */
        assert_true(c.rets[0] > start && c.rets[0] - start <= 64);
        start = c.rets[0];
    }
    assert_int_equal(c.rets[0], 300);
    assert_int_equal(calls, 5);
    for (unsigned i = 0; i < 300; i++)
        assert_int_equal(t[i % 512], u[i].value);
    /* count == 0 completes at once. */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_UPDATE, 0, 0, 0, 0, 0, &c),
                     0);
    assert_int_equal(c.rets[0], 0);
}

int main(void)
{
#define T(fn)                                                                  \
    cmocka_unit_test_setup_teardown(fn, fake_setup_ready, fake_teardown)
    const struct CMUnitTest tests[] = {
        T(test_pt_pin_bad_args),
        T(test_pt_pin_validates_present_entries),
        T(test_pt_pin_large_pages_by_level),
        T(test_pt_pin_limit),
        T(test_pt_unpin),
        T(test_pt_update_bad_args),
        T(test_pt_update_applies_in_order_and_stops_at_bad_entry),
        T(test_pt_update_bounded_work_and_restart),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
