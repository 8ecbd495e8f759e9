/* SPDX-License-Identifier: MIT */
/* test_host_exports.c: the shared library exports exactly the VMI_HOST_API
 * functions of vmi_host.h (nm -D), nothing internal. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_SYMS 128

static unsigned header_api(char names[][64])
{
    FILE *f = fopen(VMI_HOST_HEADER, "r");
    static char text[1 << 16];
    size_t n;
    unsigned count = 0;
    const char *p;

    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* Each "VMI_HOST_API <type> <name>(" after the macro's definition. */
    p = strstr(text, "#define VMI_HOST_API\n");
    assert_non_null(p);
    while ((p = strstr(p + 1, "VMI_HOST_API ")) != NULL) {
        const char *paren = strchr(p, '('), *end = paren, *start;
        assert_non_null(paren);
        while (end > p && end[-1] == ' ')
            end--;
        start = end;
        while (start > p &&
               (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
                (start[-1] >= '0' && start[-1] <= '9')))
            start--;
        assert_true(end - start > 0 && end - start < 64);
        assert_true(count < MAX_SYMS);
        memcpy(names[count], start, (size_t)(end - start));
        names[count][end - start] = '\0';
        count++;
    }
    return count;
}

static void test_exports_match_the_header(void **state)
{
    static char api[MAX_SYMS][64], dyn[MAX_SYMS][64];
    unsigned napi = header_api(api), ndyn = 0;
    char line[256], cmd[1024];
    FILE *p;

    (void)state;
    assert_true(napi >= 18); /* sanity: the parse found the API */
    snprintf(cmd, sizeof(cmd), "%s -D --defined-only '%s'", VMI_NM,
             VMI_HOST_SO);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        char addr[64], type[8], name[128];
        if (sscanf(line, "%63s %7s %127s", addr, type, name) != 3)
            continue;
        assert_true(ndyn < MAX_SYMS);
        assert_true(strlen(name) < 64);
        strcpy(dyn[ndyn++], name);
    }
    assert_int_equal(pclose(p), 0);
    for (unsigned i = 0; i < ndyn; i++) {
        unsigned j;
        for (j = 0; j < napi; j++)
            if (!strcmp(dyn[i], api[j]))
                break;
        if (j == napi)
            fail_msg("exported but not VMI_HOST_API: %s", dyn[i]);
    }
    for (unsigned j = 0; j < napi; j++) {
        unsigned i;
        for (i = 0; i < ndyn; i++)
            if (!strcmp(dyn[i], api[j]))
                break;
        if (i == ndyn)
            fail_msg("VMI_HOST_API but not exported: %s", api[j]);
    }
}

/* Purity: no I/O, no exits, no threads of its own (undefined symbols). */
static void test_library_is_pure(void **state)
{
    static const char *const forbidden[] = {
        "abort",   "exit",   "_exit", "printf",        "fprintf",        "puts",
        "fopen",   "open",   "read",  "write",         "ioctl",          "mmap",
        "syscall", "getenv", "time",  "clock_gettime", "pthread_create",
    };
    char line[256], cmd[1024];
    unsigned undefined = 0;
    FILE *p;

    (void)state;
    snprintf(cmd, sizeof(cmd), "%s -D -u '%s'", VMI_NM, VMI_HOST_SO);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        char type[8], name[128];
        if (sscanf(line, "%7s %127s", type, name) != 2)
            continue;
        char *at = strchr(name, '@');
        if (at)
            *at = '\0';
        undefined++;
        for (unsigned i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
            if (!strcmp(name, forbidden[i]))
                fail_msg("host-lib uses %s", name);
    }
    assert_int_equal(pclose(p), 0);
    assert_true(undefined > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exports_match_the_header),
        cmocka_unit_test(test_library_is_pure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
