/* SPDX-License-Identifier: MIT */
/*
 * test_arch_cross.c: the generic sources and an arch directory build
 * freestanding with the cross compilers (aarch64 with arch/aarch64;
 * riscv64 and i686 with the pure-C arch/hosted, proving the generic code
 * is portable), and the partially linked result needs no symbol from
 * outside the library (no libgcc helper, no libc).  Skips (77) when the
 * aarch64 cross compiler is missing.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

struct target {
    const char *triple;
    const char *arch_dir;
    const char *arch_sources;
    const char *flags;
};

static const struct target targets[] = {
    {"aarch64-linux-gnu", "aarch64", "cpu.c smccc.c",
     "-mgeneral-regs-only -mno-outline-atomics"},
    {"riscv64-linux-gnu", "hosted", "cpu.c", "-mcmodel=medany"},
    {"i686-linux-gnu", "hosted", "cpu.c", "-mgeneral-regs-only -mno-red-zone"},
};

static int have(const char *triple)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "command -v %s-gcc >/dev/null 2>&1", triple);
    return system(cmd) == 0;
}

static void build(const struct target *t)
{
    char cmd[8192], dir[512], srcs[2048] = "", one[256];
    const char *p;
    int n;
    FILE *f;
    char line[512];
    unsigned undef = 0;

    if (!have(t->triple))
        skip();
    snprintf(dir, sizeof(dir), "%s/%s", VMI_TMPDIR, t->triple);
    /* Generic sources, then the arch ones. */
    for (p = VMI_GUEST_XSOURCES; sscanf(p, "%255s%n", one, &n) == 1; p += n) {
        strcat(srcs, " " VMI_GUEST_DIR "/");
        strcat(srcs, one);
    }
    for (p = t->arch_sources; sscanf(p, "%255s%n", one, &n) == 1; p += n) {
        strcat(srcs, " " VMI_GUEST_DIR "/arch/");
        strcat(srcs, t->arch_dir);
        strcat(srcs, "/");
        strcat(srcs, one);
    }
    snprintf(cmd, sizeof(cmd),
             "rm -rf %s && mkdir -p %s && cd %s && "
             "%s-gcc -std=c11 -Wall -Wextra -Werror %s "
             "-fno-tree-loop-distribute-patterns %s -I" VMI_GUEST_DIR
             "/include -I" VMI_ABI_INCLUDE " -c %s && "
             "%s-gcc -nostdlib -r -o all.o *.o",
             dir, dir, dir, t->triple, VMI_GUEST_XFLAGS, t->flags, srcs,
             t->triple);
    printf("# %s\n", cmd);
    assert_int_equal(system(cmd), 0);

    snprintf(cmd, sizeof(cmd), "%s-nm -u %s/all.o", t->triple, dir);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        printf("# %s needs: %s", t->triple, line);
        undef++;
    }
    assert_int_equal(pclose(f), 0);
    assert_int_equal(undef, 0);
}

static void test_cross_aarch64_builds_freestanding(void **state)
{
    (void)state;
    build(&targets[0]);
}

static void test_cross_riscv64_generic_builds_freestanding(void **state)
{
    (void)state;
    build(&targets[1]);
}

static void test_cross_i686_generic_builds_without_libgcc(void **state)
{
    (void)state;
    build(&targets[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_aarch64_builds_freestanding),
        cmocka_unit_test(test_cross_riscv64_generic_builds_freestanding),
        cmocka_unit_test(test_cross_i686_generic_builds_without_libgcc),
    };

    if (!have(targets[0].triple)) {
        printf("test_arch_cross: SKIP: aarch64-linux-gnu-gcc not found "
               "(Debian: gcc-aarch64-linux-gnu)\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
