/* SPDX-License-Identifier: MIT */
/* test_call.c: the raw call path through the function transport. */
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

static void test_call_passes_all_args_and_results(void **state)
{
    const uint64_t args[VMI_HC_MAX_ARGS] = {1, 2, 3, 4, 5};
    uint64_t rets[VMI_HC_MAX_RETS] = {7, 7};
    const struct fake_call *c;

    (void)state;
    fh.force = 1;
    fh.force_status = -VMI_E_BUSY;
    fh.force_rets[0] = 0x1111;
    fh.force_rets[1] = 0x2222;
    assert_int_equal(vmi_guest_call(&g, 0x0ABC, args, rets), -VMI_E_BUSY);
    c = &fh.log[fh.ncalls - 1];
    assert_int_equal(c->nr, 0x0ABC);
    for (unsigned i = 0; i < VMI_HC_MAX_ARGS; i++)
        assert_int_equal(c->args[i], i + 1);
    assert_int_equal(rets[0], 0x1111);
    assert_int_equal(rets[1], 0x2222);
}

static void test_call_null_args_are_zero_and_null_rets_ok(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_call(&g, VMI_HC_NOP, NULL, NULL), 0);
    for (unsigned i = 0; i < VMI_HC_MAX_ARGS; i++)
        assert_int_equal(fh.log[fh.ncalls - 1].args[i], 0);
}

static void test_call_unknown_number_is_nosys(void **state)
{
    uint64_t rets[VMI_HC_MAX_RETS];

    (void)state;
    assert_int_equal(vmi_guest_call(&g, 0x10000, NULL, rets), -VMI_E_NOSYS);
    assert_int_equal(vmi_guest_call(&g, 0x0F00, NULL, rets), -VMI_E_NOSYS);
}

static void test_call_without_transport_is_nosys(void **state)
{
    struct vmi_guest none;
    struct vmi_guest_ops ops;
    unsigned before;

    (void)state;
    fake_host_ops(&fh, &ops);
    assert_int_equal(vmi_guest_init(&none, &ops, NULL), 0);
    before = fh.ncalls;
    /* Not probed: no transport, the host is never reached. */
    assert_int_equal(vmi_guest_call(&none, VMI_HC_NOP, NULL, NULL),
                     -VMI_E_NOSYS);
    assert_int_equal(fh.ncalls, before);
}

static void test_init_requires_virt_to_phys(void **state)
{
    struct vmi_guest x;
    struct vmi_guest_ops ops;

    (void)state;
    fake_host_ops(&fh, &ops);
    ops.virt_to_phys = NULL;
    assert_int_equal(vmi_guest_init(&x, &ops, NULL), -VMI_E_INVAL);
}

static void test_init_translates_console_page(void **state)
{
    struct vmi_guest x;
    struct vmi_guest_ops ops;

    (void)state;
    fake_host_ops(&fh, &ops);
    assert_int_equal(vmi_guest_init(&x, &ops, fake_host_va(&fh, 0x3000)), 0);
    assert_int_equal(x.console_page_gpa, 0x3000);
    assert_int_equal(x.transport, VMI_GUEST_T_NONE);
    assert_int_equal(x.version, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_passes_all_args_and_results,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_call_null_args_are_zero_and_null_rets_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_unknown_number_is_nosys,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_without_transport_is_nosys,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_requires_virt_to_phys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_init_translates_console_page,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
