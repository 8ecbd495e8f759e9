/* SPDX-License-Identifier: MIT */
/* test_memory.c: MEM_RELEASE / MEM_RECLAIM with restart and failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fake_host.h"

#define EXT_GPA 0x8000u

static struct fake_host fh;
static struct vmi_guest g;
static struct vmi_mem_extent *ext;

static int setup(void **state)
{
    (void)state;
    fake_host_init(&fh);
    fake_host_guest(&fh, &g);
    ext = fake_host_va(&fh, EXT_GPA);
    for (unsigned i = 0; i < 10; i++) {
        ext[i].gpa = 0x40000u + 0x4000u * i;
        ext[i].pages = i + 1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini(&fh);
    return 0;
}

static void test_mem_release_all_in_one_call(void **state)
{
    uint32_t done = 0;
    const struct fake_call *c;

    (void)state;
    assert_int_equal(vmi_guest_mem_release(&g, ext, 10, &done), 0);
    assert_int_equal(done, 10);
    assert_int_equal(fh.pages_released, 55);
    c = fake_host_last(&fh, VMI_HC_MEM_RELEASE);
    assert_int_equal(c->args[0], EXT_GPA);
    assert_int_equal(c->args[1], 10);
    assert_int_equal(c->args[2], 0);
    assert_int_equal(c->args[3], 0);
}

static void test_mem_release_restarts_after_again(void **state)
{
    uint32_t done = 0;

    (void)state;
    fh.work_per_call = 4;
    assert_int_equal(vmi_guest_mem_release(&g, ext, 10, &done), 0);
    assert_int_equal(done, 10);
    assert_int_equal(fake_host_count(&fh, VMI_HC_MEM_RELEASE), 3);
    /* Nothing processed twice. */
    assert_int_equal(fh.pages_released, 55);
}

static void test_mem_reclaim_reports_failed_extent(void **state)
{
    uint32_t done = 99;

    (void)state;
    ext[6].pages = 0;
    fh.work_per_call = 4;
    assert_int_equal(vmi_guest_mem_reclaim(&g, ext, 10, &done), -VMI_E_INVAL);
    assert_int_equal(done, 6);
    assert_int_equal(fh.pages_reclaimed, 1 + 2 + 3 + 4 + 5 + 6);
}

static void test_mem_release_windows_above_max_batch(void **state)
{
    uint32_t done = 0;

    (void)state;
    g.info.max_batch = fh.max_batch = 4;
    assert_int_equal(vmi_guest_mem_release(&g, ext, 10, &done), 0);
    assert_int_equal(done, 10);
    assert_int_equal(fake_host_count(&fh, VMI_HC_MEM_RELEASE), 3);
    assert_int_equal(fake_host_last(&fh, VMI_HC_MEM_RELEASE)->args[1], 2);
    assert_int_equal(fh.pages_released, 55);
    /* A failure in the second window counts from the array's start. */
    ext[5].gpa += 1;
    assert_int_equal(vmi_guest_mem_reclaim(&g, ext, 10, &done), -VMI_E_ALIGN);
    assert_int_equal(done, 5);
}

static void test_mem_zero_count_makes_no_call(void **state)
{
    uint32_t done = 5;

    (void)state;
    assert_int_equal(vmi_guest_mem_release(&g, ext, 0, &done), 0);
    assert_int_equal(done, 0);
    assert_int_equal(fake_host_count(&fh, VMI_HC_MEM_RELEASE), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mem_release_all_in_one_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mem_release_restarts_after_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_reclaim_reports_failed_extent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_mem_release_windows_above_max_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_zero_count_makes_no_call,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
