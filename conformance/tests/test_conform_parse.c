/* SPDX-License-Identifier: MIT */
/* test_conform_parse.c: the runner's result-stream parser and verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conform.h"

static const struct vmi_conform_test tests[] = {
    {"alpha", "VMI-CLK-001 VMI-CLK-002", VMI_PROFILE_CORE, 0, 0, 1, 1, NULL},
    {"beta", "VMI-TMR-001", VMI_PROFILE_CORE, 0, VMI_F_TIMER, 1, 1, NULL},
    {"gamma", "VMI-PT-001", VMI_PROFILE_PAGETABLE, 0, VMI_F_PT, 1, 1, NULL},
};

static struct conform_test_result tr[3];
static struct conform_run run;

static void setup_run(void)
{
    unsigned i;

    memset(&run, 0, sizeof(run));
    memset(tr, 0, sizeof(tr));
    for (i = 0; i < 3; i++)
        tr[i].test = &tests[i];
    run.tr = tr;
    run.ntests = 3;
    run.profiles = VMI_PROFILE_CORE;
    run.end_ok = 1;
}

/* Feed RESULT lines and a correct END marker (or a tampered one). */
static int feed(const char *const *lines, unsigned n, int tamper)
{
    struct conform_parser p;
    uint64_t h = VMI_CONFORM_FNV_INIT;
    char end[96];
    unsigned i, results = 0;

    conform_parser_init(&p, &run);
    for (i = 0; i < n; i++) {
        conform_parser_feed(&p, lines[i], strlen(lines[i]));
        conform_parser_feed(&p, "\n", 1);
        if (strstr(lines[i], "RESULT")) {
            h = vmi_conform_fnv1a(h, lines[i], strlen(lines[i]));
            h = vmi_conform_fnv1a(h, "\n", 1);
            results++;
        }
    }
    if (tamper >= 0) {
        snprintf(end, sizeof(end), "VMI-CONFORM END count=%u hash=%llx\n",
                 results + (tamper == 1),
                 (unsigned long long)h ^ (tamper == 2));
        conform_parser_feed(&p, end, strlen(end));
    }
    return conform_parser_finish(&p);
}

static const char *const good[] = {
    "VMI-CONFORM BEGIN alpha",
    "VMI-CONFORM RESULT alpha VMI-CLK-001 pass checks=3",
    "guest chatter that is not a result line",
    "VMI-CONFORM RESULT alpha VMI-CLK-002 fail line 9: x == y",
    "VMI-CONFORM RESULT beta VMI-TMR-001 pass checks=1",
    "VMI-CONFORM RESULT gamma VMI-PT-001 pass checks=1",
};

static unsigned count(int v)
{
    unsigned c[CV_COUNT];

    conform_counts(&run, c);
    return c[v];
}

static void test_parse_valid_stream_with_matching_end(void **state)
{
    (void)state;
    setup_run();
    assert_int_equal(feed(good, 6, 0), 0);
    conform_finalize(&run);
    assert_int_equal(count(CV_PASS), 2);
    assert_int_equal(count(CV_FAIL), 1);
    /* gamma's profile is not selected: skip, not pass. */
    assert_int_equal(count(CV_SKIP), 1);
}

static void test_parse_missing_end_marker_is_invalid(void **state)
{
    (void)state;
    setup_run();
    assert_int_equal(feed(good, 6, -1), -1);
}

static void test_parse_end_count_mismatch_is_invalid(void **state)
{
    (void)state;
    setup_run();
    assert_int_equal(feed(good, 6, 1), -1);
}

static void test_parse_end_hash_mismatch_is_invalid(void **state)
{
    (void)state;
    setup_run();
    assert_int_equal(feed(good, 6, 2), -1);
}

static void test_parse_missing_verdict_is_a_crash_never_a_pass(void **state)
{
    (void)state;
    setup_run();
    /* beta began and then nothing: a crash. */
    assert_int_equal(feed(good, 2, -1), -1);
    conform_finalize(&run);
    assert_int_equal(count(CV_PASS), 1);
    assert_int_equal(count(CV_CRASH), 2); /* CLK-002 and TMR-001 */
    assert_int_not_equal(conform_exit_status(&run), 0);
}

static void test_parse_result_for_undeclared_clause_is_invalid(void **state)
{
    static const char *const bad[] = {
        "VMI-CONFORM RESULT alpha VMI-CLK-009 pass checks=1",
    };

    (void)state;
    setup_run();
    assert_int_equal(feed(bad, 1, 0), -1);
}

static void test_parse_unknown_test_is_invalid(void **state)
{
    static const char *const bad[] = {
        "VMI-CONFORM RESULT delta VMI-CLK-001 pass checks=1",
    };

    (void)state;
    setup_run();
    assert_int_equal(feed(bad, 1, 0), -1);
}

static void test_profile_feature_not_offered_fails_in_profile(void **state)
{
    static const char *const lines[] = {
        "VMI-CONFORM RESULT alpha VMI-CLK-001 pass checks=1",
        "VMI-CONFORM RESULT alpha VMI-CLK-002 pass checks=1",
        "VMI-CONFORM RESULT beta VMI-TMR-001 skip feature-not-offered: TIMER",
        "VMI-CONFORM RESULT gamma VMI-PT-001 skip feature-not-offered: PT",
    };

    (void)state;
    setup_run();
    assert_int_equal(feed(lines, 4, 0), 0);
    conform_finalize(&run);
    /* TIMER is part of core: fail; PT is outside the selected profile. */
    assert_int_equal(count(CV_FAIL), 1);
    assert_int_equal(count(CV_SKIP), 1);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_parse_valid_stream_with_matching_end),
        cmocka_unit_test(test_parse_missing_end_marker_is_invalid),
        cmocka_unit_test(test_parse_end_count_mismatch_is_invalid),
        cmocka_unit_test(test_parse_end_hash_mismatch_is_invalid),
        cmocka_unit_test(test_parse_missing_verdict_is_a_crash_never_a_pass),
        cmocka_unit_test(test_parse_result_for_undeclared_clause_is_invalid),
        cmocka_unit_test(test_parse_unknown_test_is_invalid),
        cmocka_unit_test(test_profile_feature_not_offered_fails_in_profile),
    };

    return cmocka_run_group_tests(t, NULL, NULL);
}
