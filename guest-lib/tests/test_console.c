/* SPDX-License-Identifier: MIT */
/* test_console.c: console writes through the bounce page, in chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fake_host.h"

static struct fake_host fh;
static struct vmi_guest g;

static int setup(void **state)
{
    (void)state;
    fake_host_init(&fh);
    fake_host_guest(&fh, &g);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini(&fh);
    return 0;
}

static void test_console_write_copies_through_bounce_page(void **state)
{
    static const char msg[] = "hello, OpenVMI\n";
    const struct fake_call *c;

    (void)state;
    assert_int_equal(vmi_guest_console_write(&g, msg, sizeof(msg) - 1), 0);
    assert_int_equal(fh.console_len, sizeof(msg) - 1);
    assert_memory_equal(fh.console, msg, sizeof(msg) - 1);
    c = fake_host_last(&fh, VMI_HC_CONSOLE_WRITE);
    assert_int_equal(c->args[0], g.console_page_gpa);
    assert_int_equal(c->args[1], sizeof(msg) - 1);
}

static void test_console_write_chunks_at_max_console(void **state)
{
    char *big = malloc(10000);

    (void)state;
    for (unsigned i = 0; i < 10000; i++)
        big[i] = (char)('a' + i % 26);
    g.info.max_console = fh.max_console = 1000;
    assert_int_equal(vmi_guest_console_write(&g, big, 10000), 0);
    assert_int_equal(fake_host_count(&fh, VMI_HC_CONSOLE_WRITE), 10);
    assert_int_equal(fh.console_len, 10000);
    assert_memory_equal(fh.console, big, 10000);
    free(big);
}

static void test_console_write_never_exceeds_bounce_page(void **state)
{
    char *big = malloc(9000);

    (void)state;
    memset(big, 'x', 9000);
    g.info.max_console = fh.max_console = 65536;
    assert_int_equal(vmi_guest_console_write(&g, big, 9000), 0);
    assert_int_equal(fake_host_count(&fh, VMI_HC_CONSOLE_WRITE), 3);
    assert_int_equal(fake_host_last(&fh, VMI_HC_CONSOLE_WRITE)->args[1],
                     9000 - 2 * VMI_PAGE_SIZE);
    assert_int_equal(fh.console_len, 9000);
    free(big);
}

static void test_console_write_sleeps_then_sends_rest(void **state)
{
    static const char msg[] = "0123456789";
    const struct fake_call *c;
    uint64_t t0 = fh.tsc;

    (void)state;
    fh.tokens = 4;
    fh.refill_per_block = 3; /* the bucket refills while the guest sleeps */
    assert_int_equal(vmi_guest_console_write(&g, msg, 10), 0);
    assert_int_equal(fh.console_len, 10);
    assert_memory_equal(fh.console, msg, 10);
    /* 4 + AGAIN, sleep, 3 + AGAIN, sleep, 3. */
    assert_int_equal(fake_host_count(&fh, VMI_HC_CONSOLE_WRITE), 3);
    assert_int_equal(fake_host_count(&fh, VMI_HC_BLOCK), 2);
    /* Each retry sends the rest, not the start. */
    c = fake_host_last(&fh, VMI_HC_CONSOLE_WRITE);
    assert_int_equal(c->args[0], g.console_page_gpa + 7);
    assert_int_equal(c->args[1], 3);
    /* The sleeps were real deadlines (1 ms, then 2 ms) in the future. */
    c = fake_host_last(&fh, VMI_HC_BLOCK);
    assert_true(c->args[0] >= fake_host_clock(&fh, t0) + 2000000);
    assert_true(c->args[0] != VMI_DEADLINE_NONE);
    assert_int_equal(c->args[1], 0);
}

static void test_console_write_gives_up_when_nothing_is_accepted(void **state)
{
    static const char msg[] = "0123456789";

    (void)state;
    fh.tokens = 4;
    assert_int_equal(vmi_guest_console_write(&g, msg, 10), -VMI_E_AGAIN);
    assert_int_equal(fh.console_len, 4);
    /* 1 partial + 8 answers accepting nothing, a sleep after all but the
     * last: bounded, and never two writes without a sleep between. */
    assert_int_equal(fake_host_count(&fh, VMI_HC_CONSOLE_WRITE), 9);
    assert_int_equal(fake_host_count(&fh, VMI_HC_BLOCK), 8);
}

static void test_console_write_cannot_sleep_before_negotiation(void **state)
{
    static struct fake_host fh2;
    struct vmi_guest g2;
    struct vmi_guest_ops ops;

    (void)state;
    fake_host_init(&fh2);
    fake_host_ops(&fh2, &ops);
    assert_int_equal(vmi_guest_init(&g2, &ops, fake_host_va(&fh2, 0x3000)), 0);
    assert_int_equal(vmi_guest_probe(&g2), 0);
    fh2.tokens = 4;
    /* No BLOCK possible: drop the rest rather than flood the host. */
    assert_int_equal(vmi_guest_console_write(&g2, "0123456789", 10),
                     -VMI_E_AGAIN);
    assert_int_equal(fh2.console_len, 4);
    assert_int_equal(fake_host_count(&fh2, VMI_HC_CONSOLE_WRITE), 1);
    assert_int_equal(fake_host_count(&fh2, VMI_HC_BLOCK), 0);
    fake_host_fini(&fh2);
}

static void test_console_write_without_page_is_state(void **state)
{
    struct vmi_guest x;
    struct vmi_guest_ops ops;

    (void)state;
    fake_host_ops(&fh, &ops);
    assert_int_equal(vmi_guest_init(&x, &ops, NULL), 0);
    assert_int_equal(vmi_guest_probe(&x), 0);
    assert_int_equal(vmi_guest_console_write(&x, "x", 1), -VMI_E_STATE);
    /* The physical variant needs no page. */
    memcpy(fake_host_va(&fh, 0x9000), "phys", 4);
    assert_int_equal(vmi_guest_console_write_phys(&x, 0x9000, 4), 0);
    assert_memory_equal(fh.console, "phys", 4);
}

static void test_console_write_error_is_returned(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_console_write_phys(&g, FAKE_RAM_SIZE - 2, 4),
                     -VMI_E_FAULT);
    assert_int_equal(vmi_guest_console_write_phys(&g, ~UINT64_C(0) - 1, 4),
                     -VMI_E_FAULT);
    assert_int_equal(vmi_guest_console_write(&g, "", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_console_write_copies_through_bounce_page, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_console_write_chunks_at_max_console, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_console_write_never_exceeds_bounce_page, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_console_write_sleeps_then_sends_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_console_write_gives_up_when_nothing_is_accepted, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_console_write_cannot_sleep_before_negotiation, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_console_write_without_page_is_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_console_write_error_is_returned,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
