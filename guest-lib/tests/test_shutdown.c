/* SPDX-License-Identifier: MIT */
/* test_shutdown.c: SHUTDOWN reason and status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

static void test_shutdown_passes_reason_and_status(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_shutdown(&g, VMI_SHUTDOWN_CRASH, 42), 0);
    assert_true(fh.shut_down);
    assert_int_equal(fh.shutdown_reason, VMI_SHUTDOWN_CRASH);
    assert_int_equal(fh.shutdown_status, 42);
    /* The VM is over: nothing else is served. */
    assert_int_equal(vmi_guest_call(&g, VMI_HC_NOP, NULL, NULL), -VMI_E_STATE);
}

static void test_shutdown_bad_arguments_are_returned(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_shutdown(&g, 3, 0), -VMI_E_INVAL);
    assert_int_equal(vmi_guest_shutdown(&g, VMI_SHUTDOWN_POWEROFF, 256),
                     -VMI_E_RANGE);
    assert_false(fh.shut_down);
}

static void test_shutdown_allowed_before_negotiation(void **state)
{
    static struct fake_host fh2;
    struct vmi_guest g2;
    struct vmi_guest_ops ops;

    (void)state;
    fake_host_init(&fh2);
    fake_host_ops(&fh2, &ops);
    assert_int_equal(vmi_guest_init(&g2, &ops, NULL), 0);
    assert_int_equal(vmi_guest_probe(&g2), 0);
    assert_int_equal(vmi_guest_shutdown(&g2, VMI_SHUTDOWN_POWEROFF, 0), 0);
    assert_true(fh2.shut_down);
    fake_host_fini(&fh2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shutdown_passes_reason_and_status,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_shutdown_bad_arguments_are_returned, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_shutdown_allowed_before_negotiation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
