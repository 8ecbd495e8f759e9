/* SPDX-License-Identifier: MIT */
/* test_host_memory.c: MEM_RELEASE / MEM_RECLAIM and page accounting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define EXT 0x8000u
#define PG 4096u
#define BASE 0x100000u

static int64_t mem(struct fake_fx *x, uint64_t nr, uint64_t gpa, uint64_t pages,
                   struct vmi_host_call *c)
{
    struct vmi_mem_extent *e = fake_gpa(&x->f, EXT);

    e->gpa = gpa;
    e->pages = pages;
    return fake_call(x->vm, 0, nr, EXT, 1, 0, 0, 0, c);
}

static uint64_t released(struct fake_fx *x)
{
    struct vmi_host_stats st;

    vmi_host_get_stats(x->vm, &st);
    return st.released_pages;
}

/* Extent records in the saved state (RELEASED section size / 16). */
static uint64_t records(struct fake_fx *x)
{
    size_t len;
    uint8_t *b = fake_save(x->vm, &len);
    uint64_t size;

    /* RELEASED is the last section: its payload ends the blob. */
    size_t off = sizeof(struct vmi_save_header);
    for (;;) {
        struct vmi_save_section s;
        memcpy(&s, b + off, sizeof(s));
        if (s.type == VMI_SAVE_SECTION_RELEASED) {
            size = s.size;
            break;
        }
        off += sizeof(s) + s.size;
        assert_true(off < len);
    }
    free(b);
    return size / sizeof(struct vmi_mem_extent);
}

static void test_mem_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;
    struct vmi_mem_extent *e = fake_gpa(f, EXT);
    static const uint64_t nrs[] = {VMI_HC_MEM_RELEASE, VMI_HC_MEM_RECLAIM};

    for (unsigned k = 0; k < 2; k++) {
        uint64_t nr = nrs[k];
        e[0].gpa = BASE;
        e[0].pages = 1;
#define REJ(g, n, s, fl, st)                                                   \
    fake_expect_reject(f, x->vm, 0, nr, g, n, s, fl, 0, st)
        REJ(EXT, 1, 0, 1, -VMI_E_INVAL);
        REJ(EXT + 8, 1, 0, 0, -VMI_E_ALIGN);
        REJ(f->ram_bytes - 16, 2, 0, 0, -VMI_E_FAULT);
        REJ(EXT, UINT64_C(1) << 61, 0, 0, -VMI_E_FAULT);
        REJ(EXT, 1025, 0, 0, -VMI_E_RANGE);
        REJ(EXT, 1, 2, 0, -VMI_E_RANGE);
        REJ(f->ram_bytes + 8, 2000, 5000, 4, -VMI_E_INVAL);
        /* Bad first entries: the whole call is rejected, nothing done. */
        e[0].pages = 0;
        REJ(EXT, 1, 0, 0, -VMI_E_INVAL);
        e[0].pages = 1;
        e[0].gpa = BASE + 8;
        REJ(EXT, 1, 0, 0, -VMI_E_ALIGN);
        e[0].gpa = f->ram_bytes;
        REJ(EXT, 1, 0, 0, -VMI_E_FAULT);
        e[0].gpa = BASE;
        e[0].pages = VMI_MEM_EXTENT_MAX_PAGES;
        REJ(EXT, 1, 0, 0, -VMI_E_FAULT); /* 1 GiB: beyond the fake's RAM */
        /* Beyond the extent cap: INVAL (VMI-MEM-018), before FAULT. */
        e[0].pages = VMI_MEM_EXTENT_MAX_PAGES + 1;
        REJ(EXT, 1, 0, 0, -VMI_E_INVAL);
        e[0].pages = UINT64_C(1) << 52;
        REJ(EXT, 1, 0, 0, -VMI_E_INVAL);
        /* Misaligned and zero pages: INVAL wins. */
        e[0].gpa = BASE + 1;
        e[0].pages = 0;
        REJ(EXT, 1, 0, 0, -VMI_E_INVAL);
#undef REJ
    }
    assert_int_equal(f->release_calls + f->reclaim_calls, 0);
}

static void test_release_accounting_is_exact(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE, 4, &c), 0);
    assert_int_equal(c.rets[0], 1);
    assert_int_equal(x->f.release_calls, 1);
    assert_int_equal(x->f.last_release_gpa, BASE);
    assert_int_equal(x->f.last_release_len, 4 * PG);
    assert_int_equal(released(x), 4);
    /* Overlap: merged, counted once. */
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE + 2 * PG, 4, NULL), 0);
    assert_int_equal(released(x), 6);
    assert_int_equal(records(x), 1);
    /* Idempotent. */
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE, 6, NULL), 0);
    assert_int_equal(released(x), 6);
    /* Adjacent: merged into one record. */
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE + 6 * PG, 2, NULL), 0);
    assert_int_equal(released(x), 8);
    assert_int_equal(records(x), 1);
    /* A gap: a second record. */
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE + 10 * PG, 1, NULL), 0);
    assert_int_equal(records(x), 2);
    /* Bridging the gap merges all three. */
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE + 7 * PG, 4, NULL), 0);
    assert_int_equal(released(x), 11);
    assert_int_equal(records(x), 1);
}

static void test_reclaim_splits_and_zeroes(void **state)
{
    struct fake_fx *x = *state;
    uint8_t *p = fake_gpa(&x->f, BASE);

    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE, 8, NULL), 0);
    assert_int_equal(mem(x, VMI_HC_MEM_RECLAIM, BASE + 2 * PG, 2, NULL), 0);
    assert_int_equal(x->f.reclaim_calls, 1);
    assert_int_equal(x->f.last_reclaim_gpa, BASE + 2 * PG);
    assert_int_equal(x->f.last_reclaim_len, 2 * PG);
    assert_int_equal(released(x), 6);
    assert_int_equal(records(x), 2);
    for (unsigned i = 0; i < 2 * PG; i++)
        assert_int_equal(p[2 * PG + i], 0);
    /* Reclaiming more than is released hands over the released parts only. */
    assert_int_equal(mem(x, VMI_HC_MEM_RECLAIM, BASE - PG, 5, NULL), 0);
    assert_int_equal(x->f.reclaim_calls, 2);
    assert_int_equal(x->f.last_reclaim_gpa, BASE);
    assert_int_equal(x->f.last_reclaim_len, 2 * PG);
    assert_int_equal(released(x), 4);
    /* Not released: a no-op. */
    assert_int_equal(mem(x, VMI_HC_MEM_RECLAIM, 0x300000, 3, NULL), 0);
    assert_int_equal(x->f.reclaim_calls, 2);
    assert_int_equal(mem(x, VMI_HC_MEM_RECLAIM, BASE, 16, NULL), 0);
    assert_int_equal(released(x), 0);
    assert_int_equal(records(x), 0);
}

static void test_extent_records_limit(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_mem_extent *e = fake_gpa(&x->f, EXT);
    struct vmi_host_call c;

    for (unsigned i = 0; i < 17; i++) {
        e[i].gpa = BASE + 2 * PG * i;
        e[i].pages = 1;
    }
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_MEM_RELEASE, EXT, 17, 0, 0, 0, &c),
        -VMI_E_LIMIT);
    assert_int_equal(c.rets[0], 16);
    assert_int_equal(released(x), 16);
    assert_int_equal(x->f.release_calls, 16);
    /* Merging needs no new record. */
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE + PG, 1, NULL), 0);
    assert_int_equal(released(x), 17);
    /* The merge freed a record: one more extent fits, then the set is full. */
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE + 2 * PG * 20, 1, &c), 0);
    assert_int_equal(records(x), 16);
    /* Reclaiming the middle of [BASE, BASE + 3 pages) would split it. */
    assert_int_equal(mem(x, VMI_HC_MEM_RECLAIM, BASE + PG, 1, &c),
                     -VMI_E_LIMIT);
    assert_int_equal(c.rets[0], 0);
    assert_int_equal(released(x), 18);
    assert_int_equal(mem(x, VMI_HC_MEM_RECLAIM, BASE + 4 * PG, 1, &c), 0);
    assert_int_equal(records(x), 15);
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE + 2 * PG * 21, 1, &c), 0);
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE + 2 * PG * 22, 1, &c),
                     -VMI_E_LIMIT);
    assert_int_equal(c.rets[0], 0);
}

static void test_embedder_failure_is_limit(void **state)
{
    struct fake_fx *x = *state;

    x->f.fail_release = 1;
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE, 1, NULL), -VMI_E_LIMIT);
    assert_int_equal(released(x), 0);
    x->f.fail_release = 0;
    assert_int_equal(mem(x, VMI_HC_MEM_RELEASE, BASE, 1, NULL), 0);
    x->f.fail_reclaim = 1;
    assert_int_equal(mem(x, VMI_HC_MEM_RECLAIM, BASE, 1, NULL), -VMI_E_LIMIT);
    assert_int_equal(released(x), 1);
}

static void test_mem_bounded_work_and_restart(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_mem_extent *e = fake_gpa(&x->f, EXT);
    struct vmi_host_call c;
    uint64_t start = 0;
    unsigned calls = 0;

    /* 200 adjacent single pages: one record, 200 pages. */
    for (unsigned i = 0; i < 200; i++) {
        e[i].gpa = BASE + PG * i;
        e[i].pages = 1;
    }
    for (;;) {
        int64_t st =
            fake_call(x->vm, 0, VMI_HC_MEM_RELEASE, EXT, 200, start, 0, 0, &c);
        calls++;
        if (!st)
            break;
        assert_int_equal(st, -VMI_E_AGAIN);
        assert_int_equal(c.rets[0], start + 64);
        start = c.rets[0];
    }
    assert_int_equal(calls, 4);
    assert_int_equal(c.rets[0], 200);
    assert_int_equal(released(x), 200);
    assert_int_equal(records(x), 1);
}

int main(void)
{
#define T(fn)                                                                  \
    cmocka_unit_test_setup_teardown(fn, fake_setup_ready, fake_teardown)
    const struct CMUnitTest tests[] = {
        T(test_mem_bad_args),
        T(test_release_accounting_is_exact),
        T(test_reclaim_splits_and_zeroes),
        T(test_extent_records_limit),
        T(test_embedder_failure_is_limit),
        T(test_mem_bounded_work_and_restart),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
