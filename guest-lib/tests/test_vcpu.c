/* SPDX-License-Identifier: MIT */
/* test_vcpu.c: VCPU_START passes the state struct's GPA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_host.h"

#define ST_GPA 0x5000u

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

static void test_vcpu_start_passes_state_gpa(void **state)
{
    struct vmi_vcpu_start *st = fake_host_va(&fh, ST_GPA);
    const struct fake_call *c;

    (void)state;
    st->entry_gva = 0x100000;
    st->stack_gva = 0x200000;
    st->page_table_gpa = 0x9000;
    st->arg = 42;
    assert_int_equal(vmi_guest_vcpu_start(&g, 2, st), 0);
    c = fake_host_last(&fh, VMI_HC_VCPU_START);
    assert_int_equal(c->args[0], 2);
    assert_int_equal(c->args[1], ST_GPA);
    assert_int_equal(fh.start_state[2].entry_gva, 0x100000);
    assert_int_equal(fh.start_state[2].arg, 42);
}

static void test_vcpu_start_twice_is_busy(void **state)
{
    struct vmi_vcpu_start *st = fake_host_va(&fh, ST_GPA);

    (void)state;
    assert_int_equal(vmi_guest_vcpu_start(&g, 1, st), 0);
    assert_int_equal(vmi_guest_vcpu_start(&g, 1, st), -VMI_E_BUSY);
    assert_int_equal(vmi_guest_vcpu_start(&g, 0, st), -VMI_E_BUSY);
}

static void test_vcpu_start_errors_are_returned(void **state)
{
    struct vmi_vcpu_start *st = fake_host_va(&fh, ST_GPA);

    (void)state;
    assert_int_equal(vmi_guest_vcpu_start(&g, 3, st + 0), 0);
    assert_int_equal(vmi_guest_vcpu_start(&g, 2,
                                          (const struct vmi_vcpu_start *)
                                              fake_host_va(&fh, ST_GPA + 8)),
                     -VMI_E_ALIGN);
    st->flags = 1;
    assert_int_equal(vmi_guest_vcpu_start(&g, 2, st), -VMI_E_INVAL);
}

static void test_vcpu_init_binds(void **state)
{
    struct vmi_guest_vcpu v;

    (void)state;
    vmi_guest_vcpu_init(&v, &g, 3);
    assert_ptr_equal(v.g, &g);
    assert_int_equal(v.id, 3);
    assert_null(v.clock);
    assert_null(v.events);
    assert_null(v.steal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vcpu_start_passes_state_gpa, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_vcpu_start_twice_is_busy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_vcpu_start_errors_are_returned,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_vcpu_init_binds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
