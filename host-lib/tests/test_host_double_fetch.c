/* SPDX-License-Identifier: MIT */
/* test_host_double_fetch.c: every call with memory inputs reads each guest
 * byte at most once (counted by the copy-in accessor's test hook). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "vm.h"

struct df {
    struct fake_fx *x;
    uint8_t *counts;
};

/* Make the call, then check no byte was read twice and [want, want_len)
 * was read exactly once (so the hook really saw the input). */
static int64_t call_once(struct df *d, uint64_t nr, uint64_t a0, uint64_t a1,
                         uint64_t a2, uint64_t a3, uint64_t a4, uint64_t want,
                         uint64_t want_len, struct vmi_host_call *c)
{
    struct fake_fx *x = d->x;
    int64_t st;

    memset(d->counts, 0, x->f.ram_bytes);
    st = fake_call(x->vm, 0, nr, a0, a1, a2, a3, a4, c);
    for (uint64_t i = 0; i < x->f.ram_bytes; i++)
        if (d->counts[i] > 1)
            fail_msg("call 0x%llx read guest byte 0x%llx %u times",
                     (unsigned long long)nr, (unsigned long long)i,
                     d->counts[i]);
    for (uint64_t i = want; i < want + want_len; i++)
        if (d->counts[i] != 1)
            fail_msg("call 0x%llx did not read input byte 0x%llx",
                     (unsigned long long)nr, (unsigned long long)i);
    return st;
}

static void test_no_guest_byte_is_read_twice(void **state)
{
    struct fake_fx *x = *state;
    struct df d = {x, calloc(1, x->f.ram_bytes)};
    struct vmi_host_call c;

    assert_non_null(d.counts);
    vmi__gmem_count_reads(x->vm, d.counts, x->f.ram_bytes);

    /* CONSOLE_WRITE. */
    memset(fake_gpa(&x->f, 0x9000), 'a', 4096);
    assert_int_equal(call_once(&d, VMI_HC_CONSOLE_WRITE, 0x9000, 4096, 0, 0, 0,
                               0x9000, 4096, NULL),
                     0);

    /* VCPU_START: the 64-byte struct, accepted and rejected. */
    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    assert_int_equal(
        call_once(&d, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, 0, 0x5000, 64, NULL),
        0);
    ((struct vmi_vcpu_start *)fake_gpa(&x->f, 0x5040))->flags = 1;
    assert_int_equal(
        call_once(&d, VMI_HC_VCPU_START, 2, 0x5040, 0, 0, 0, 0x5040, 64, NULL),
        -VMI_E_INVAL);

    /* TLB_FLUSH: small and chunked batches, valid and invalid. */
    struct vmi_tlb_range *r = fake_gpa(&x->f, 0x40000);
    for (unsigned i = 0; i < 1000; i++) {
        r[i].gva = 0x400000 + 4096u * i;
        r[i].pages = 1;
    }
    assert_int_equal(call_once(&d, VMI_HC_TLB_FLUSH, 0, 1, 0x40000, 10, 0,
                               0x40000, 160, NULL),
                     0);
    assert_int_equal(call_once(&d, VMI_HC_TLB_FLUSH, 0, 1, 0x40000, 1000, 0,
                               0x40000, 16000, NULL),
                     0);
    r[700].gva |= 8;
    assert_int_equal(call_once(&d, VMI_HC_TLB_FLUSH, 0, 1, 0x40000, 1000, 0,
                               0x40000, 16000, NULL),
                     -VMI_E_ALIGN);

    /* PT_PIN: the whole table, valid and with a bad last entry. */
    uint64_t *t = fake_gpa(&x->f, 0x10000);
    memset(t, 0, 4096);
    for (unsigned i = 0; i < 512; i += 3)
        t[i] = (0x100000 + 4096u * i) | VMI_PTE_PRESENT;
    assert_int_equal(
        call_once(&d, VMI_HC_PT_PIN, 0x10000, 1, 0, 0, 0, 0x10000, 4096, NULL),
        0);
    t = fake_gpa(&x->f, 0x11000);
    memset(t, 0, 4096);
    t[511] = VMI_PTE_PRESENT | VMI_PTE_RESERVED;
    assert_int_equal(
        call_once(&d, VMI_HC_PT_PIN, 0x11000, 1, 0, 0, 0, 0x11000, 4096, &c),
        -VMI_E_INVAL);
    assert_int_equal(c.rets[0], 511);

    /* PT_UPDATE across bounded-work restarts: each call reads its part. */
    struct vmi_pt_update *u = fake_gpa(&x->f, 0x20000);
    for (unsigned i = 0; i < 200; i++) {
        u[i].pte_gpa = 0x10000 + 8 * (i % 512);
        u[i].value = 0;
    }
    uint64_t start = 0;
    for (;;) {
        uint64_t n = 200 - start < 64 ? 200 - start : 64;
        int64_t st = call_once(&d, VMI_HC_PT_UPDATE, 0x20000, 200, start, 0, 0,
                               0x20000 + 16 * start, 16 * n, &c);
        if (!st)
            break;
        assert_int_equal(st, -VMI_E_AGAIN);
        start = c.rets[0];
    }

    /* MEM_RELEASE / MEM_RECLAIM. */
    struct vmi_mem_extent *e = fake_gpa(&x->f, 0x8000);
    for (unsigned i = 0; i < 10; i++) {
        e[i].gpa = 0x200000 + 0x3000u * i;
        e[i].pages = 2;
    }
    assert_int_equal(call_once(&d, VMI_HC_MEM_RELEASE, 0x8000, 10, 0, 0, 0,
                               0x8000, 160, NULL),
                     0);
    assert_int_equal(call_once(&d, VMI_HC_MEM_RECLAIM, 0x8000, 10, 0, 0, 0,
                               0x8000, 160, NULL),
                     0);

    /* Calls without memory inputs read nothing at all. */
    assert_int_equal(
        call_once(&d, VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, 0, 0, 0, NULL),
        0);
    assert_int_equal(
        call_once(&d, VMI_HC_EVENT_REGISTER, 0x4000, 32, 0, 0, 0, 0, 0, NULL),
        0);
    for (uint64_t i = 0; i < x->f.ram_bytes; i++)
        assert_int_equal(d.counts[i], 0);

    vmi__gmem_count_reads(x->vm, NULL, 0);
    free(d.counts);
}

/*
 * vmi__nospec (VMI-SEC-015): the index itself below the size, zero at and
 * above it, for sizes host-lib uses (vCPUs, timers, the call table) and at
 * the edges of the 64-bit range.
 */
static void test_nospec_clamps_out_of_range_indexes(void **state)
{
    static const uint64_t sizes[] = {1, 2, 64, 256, 4096, UINT64_C(1) << 40};
    static const uint64_t far[] = {UINT64_C(1) << 62, UINT64_C(1) << 63,
                                   ~UINT64_C(0) - 1, ~UINT64_C(0)};

    (void)state;
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t n = sizes[i];

        assert_int_equal(vmi__nospec(0, n), 0);
        assert_int_equal(vmi__nospec(n - 1, n), n - 1);
        assert_int_equal(vmi__nospec(n / 2, n), n / 2);
        assert_int_equal(vmi__nospec(n, n), 0);
        assert_int_equal(vmi__nospec(n + 1, n), 0);
        for (unsigned j = 0; j < sizeof(far) / sizeof(far[0]); j++)
            assert_int_equal(vmi__nospec(far[j], n), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_guest_byte_is_read_twice,
                                        fake_setup_ready, fake_teardown),
        cmocka_unit_test(test_nospec_clamps_out_of_range_indexes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
