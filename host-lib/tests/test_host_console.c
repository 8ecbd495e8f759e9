/* SPDX-License-Identifier: MIT */
/* test_host_console.c: CONSOLE_WRITE and its rate limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define BUF 0x9000u

static int64_t con(struct fake_fx *x, uint64_t gpa, uint64_t len,
                   struct vmi_host_call *c)
{
    return fake_call(x->vm, 0, VMI_HC_CONSOLE_WRITE, gpa, len, 0, 0, 0, c);
}

static void test_console_zero_length_checks_nothing(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    assert_int_equal(con(x, UINT64_MAX, 0, &c), 0);
    assert_int_equal(c.rets[0], 0);
    assert_int_equal(x->f.console_calls, 0);
}

static void test_console_bad_args(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;

    fake_expect_reject(f, x->vm, 0, VMI_HC_CONSOLE_WRITE, f->ram_bytes - 2, 3,
                       0, 0, 0, -VMI_E_FAULT);
    fake_expect_reject(f, x->vm, 0, VMI_HC_CONSOLE_WRITE, UINT64_MAX, 2, 0, 0,
                       0, -VMI_E_FAULT);
    fake_expect_reject(f, x->vm, 0, VMI_HC_CONSOLE_WRITE, BUF, 4097, 0, 0, 0,
                       -VMI_E_RANGE);
    fake_expect_reject(f, x->vm, 0, VMI_HC_CONSOLE_WRITE, BUF, UINT64_MAX / 2,
                       0, 0, 0, -VMI_E_FAULT);
    /* FAULT wins over RANGE. */
    fake_expect_reject(f, x->vm, 0, VMI_HC_CONSOLE_WRITE, f->ram_bytes, 5000, 0,
                       0, 0, -VMI_E_FAULT);
    assert_int_equal(f->console_calls, 0);
}

static void test_console_passes_bytes_unchanged(void **state)
{
    struct fake_fx *x = *state;
    uint8_t *p = fake_gpa(&x->f, BUF);
    struct vmi_host_call c;

    for (unsigned i = 0; i < 256; i++)
        p[i] = (uint8_t)i;
    assert_int_equal(con(x, BUF, 256, &c), 0);
    assert_int_equal(c.rets[0], 256);
    assert_int_equal(x->f.console_len, 256);
    assert_memory_equal(x->f.console, p, 256);
    assert_int_equal(con(x, BUF, 4096, &c), 0);
    assert_int_equal(c.rets[0], 4096);
}

static void test_console_rate_limit_accepts_what_fits(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;
    struct vmi_host_stats st;

    /* Default bucket: 16384 bytes, 65536 bytes/s. */
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(con(x, BUF, 4096, &c), 0);
        assert_int_equal(c.rets[0], 4096);
    }
    assert_int_equal(con(x, BUF, 10, &c), -VMI_E_AGAIN);
    assert_int_equal(c.rets[0], 0);
    fake_advance(&x->f, 1000000); /* 1 ms: 65.536 bytes */
    assert_int_equal(con(x, BUF, 100, &c), -VMI_E_AGAIN);
    assert_int_equal(c.rets[0], 65);
    assert_int_equal(x->f.console_len, 16384 + 65);
    vmi_host_get_stats(x->vm, &st);
    assert_int_equal(st.console_dropped, 10 + 35);
    /* A full second refills the bucket, capped at the burst. */
    fake_advance(&x->f, 1000000000u);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(con(x, BUF, 4096, &c), 0);
    assert_int_equal(con(x, BUF, 1, &c), -VMI_E_AGAIN);
}

int main(void)
{
#define T(fn)                                                                  \
    cmocka_unit_test_setup_teardown(fn, fake_setup_ready, fake_teardown)
    const struct CMUnitTest tests[] = {
        T(test_console_zero_length_checks_nothing),
        T(test_console_bad_args),
        T(test_console_passes_bytes_unchanged),
        T(test_console_rate_limit_accepts_what_fits),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
