/* SPDX-License-Identifier: MIT */
/*
 * test_nm.c: the freestanding archive's symbol hygiene and size: no
 * undefined symbol outside the library, only vmi_guest_* / vmi__* global
 * definitions (no libc names), .text within 16 KiB.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define TEXT_LIMIT (16u * 1024u)
#define MAX_SYMS 512

/* Undefined symbols the archive may need from the kernel: none. */
static const char *const allowed_undefined[] = {NULL};

static char defined[MAX_SYMS][128];
static unsigned ndefined;

static FILE *run(const char *args)
{
    char cmd[1024];
    FILE *f;

    snprintf(cmd, sizeof(cmd), "%s", args);
    f = popen(cmd, "r");
    assert_non_null(f);
    return f;
}

static int is_defined(const char *name)
{
    for (unsigned i = 0; i < ndefined; i++)
        if (!strcmp(defined[i], name))
            return 1;
    return 0;
}

static int is_allowed(const char *name)
{
    for (unsigned i = 0; allowed_undefined[i]; i++)
        if (!strcmp(allowed_undefined[i], name))
            return 1;
    return 0;
}

static void test_nm_defines_only_prefixed_globals(void **state)
{
    char line[512], name[256], type;
    char addr[64];
    FILE *f;

    (void)state;
    f = run(VMI_NM " -g --defined-only " VMI_GUEST_ARCHIVE);
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%63s %c %255s", addr, &type, name) != 3)
            continue;
        printf("# defined %c %s\n", type, name);
        if (strncmp(name, "vmi_guest_", 10) && strncmp(name, "vmi__", 5))
            fail_msg("global symbol without the library prefix: %s", name);
        assert_true(ndefined < MAX_SYMS);
        snprintf(defined[ndefined++], sizeof(defined[0]), "%s", name);
    }
    pclose(f);
}

/* Every function declared in vmi_guest.h is defined in the archive. */
static void test_nm_defines_every_api_function(void **state)
{
    char line[512], name[128];
    FILE *f = fopen(VMI_GUEST_HEADER, "r");
    unsigned api = 0, missing = 0;

    (void)state;
    assert_non_null(f);
    assert_true(ndefined > 0);
    while (fgets(line, sizeof(line), f)) {
        char *p = strstr(line, "vmi_guest_");
        size_t n = 0;

        /* Declarations start in column 0; comments start with " *". */
        if (!p || line[0] == ' ' || line[0] == '/' || line[0] == '#')
            continue;
        while (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') ||
               (p[n] >= '0' && p[n] <= '9'))
            n++;
        if (p[n] != '(' || n >= sizeof(name))
            continue;
        memcpy(name, p, n);
        name[n] = 0;
        api++;
        if (!is_defined(name)) {
            printf("# declared but not defined: %s\n", name);
            missing++;
        }
    }
    fclose(f);
    printf("# %u API functions declared\n", api);
    assert_true(api >= 30);
    assert_int_equal(missing, 0);
}

static void test_nm_has_no_outside_undefined_symbols(void **state)
{
    char line[512], name[256], type;
    FILE *f;
    unsigned bad = 0;

    (void)state;
    assert_true(ndefined > 0);
    f = run(VMI_NM " -u " VMI_GUEST_ARCHIVE);
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, " %c %255s", &type, name) != 2 || type != 'U')
            continue;
        if (!is_defined(name) && !is_allowed(name)) {
            printf("# undefined outside the library: %s\n", name);
            bad++;
        }
    }
    pclose(f);
    assert_int_equal(bad, 0);
}

static void test_nm_text_size_within_limit(void **state)
{
    char line[512], sect[128];
    unsigned long size, addr, text = 0;
    FILE *f;

    (void)state;
    f = run(VMI_SIZE " -A -d " VMI_GUEST_ARCHIVE);
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%127s %lu %lu", sect, &size, &addr) == 3 &&
            !strncmp(sect, ".text", 5))
            text += size;
    }
    pclose(f);
    printf("# guest-lib (" VMI_GUEST_ARCH ") .text: %lu bytes (limit %u)\n",
           text, TEXT_LIMIT);
    assert_true(text > 0);
    assert_true(text <= TEXT_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nm_defines_only_prefixed_globals),
        cmocka_unit_test(test_nm_defines_every_api_function),
        cmocka_unit_test(test_nm_has_no_outside_undefined_symbols),
        cmocka_unit_test(test_nm_text_size_within_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
