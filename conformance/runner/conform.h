/* SPDX-License-Identifier: MIT */
/* conform.h: vmi-conform's result model, line parser and report writers. */
#ifndef VMI_CONFORM_RUNNER_H
#define VMI_CONFORM_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmi_conform.h"

enum conform_verdict {
    CV_PASS = 0,
    CV_FAIL,
    CV_SKIP,
    CV_NA,
    CV_CRASH,
    CV_COUNT
};

extern const char *const conform_verdict_names[CV_COUNT];

struct conform_result {
    char clause[32];
    int verdict;
    char detail[320];
};

struct conform_test_result {
    const struct vmi_conform_test *test;
    int begun;
    int nres;
    struct conform_result res[VMI_CONFORM_MAX_CLAUSES];
    double ms;
};

/* A clause of requirements.json. */
struct conform_clause {
    char id[24];
    char level[12];
    char target[8];
    char profile[12];
    char *text;
};

struct conform_run {
    const char *backend; /* "sim" or "vm" */
    const char *backend_why;
    uint32_t profiles; /* VMI_PROFILE_* selected */
    const char *profile_name;
    const char *hypervisor;
    const char *image;
    char image_sha256[65];
    char vendor[64];
    char host_version[32];
    char spec_version[16];
    char features[32];
    char vcpus[16];
    const char *fault; /* mutation run */
    size_t ntests;
    struct conform_test_result *tr;
    /* End-marker validation of the stream(s). */
    int end_ok;
    char end_why[200];
    double total_ms;
    /* requirements.json (optional). */
    size_t nclauses;
    struct conform_clause *clauses;
    const char *requirements;
};

/* ---- parsing the result stream ------------------------------------------- */

/*
 * Incremental parser of console output.  Lines that are not VMI-CONFORM
 * lines are ignored (guest chatter).  RESULT lines must name a test of the
 * suite and one of its declared clauses; the END line's count and hash
 * must match the RESULT lines seen.
 */
struct conform_parser {
    struct conform_run *run;
    uint64_t hash;
    uint32_t count;
    int ended;
    int bad; /* malformed lines or a mismatched END */
    char why[200];
    char partial[1024];
    size_t plen;
    /* progress callback (BEGIN and each finished test); may be NULL */
    void (*progress)(void *ctx, struct conform_test_result *tr, int begin);
    void *progress_ctx;
    struct conform_test_result *current;
};

void conform_parser_init(struct conform_parser *p, struct conform_run *run);
/* Feed raw bytes (any chunking). */
void conform_parser_feed(struct conform_parser *p, const char *buf, size_t len);
/* Feed one complete line without the newline. */
void conform_parser_line(struct conform_parser *p, const char *line);
/* 0 if an END line validated the stream, else -1 with p->why. */
int conform_parser_finish(struct conform_parser *p);

/*
 * After all streams: every declared clause of every test without a verdict
 * becomes a crash ("missing verdict"); apply the selected profiles.
 */
void conform_finalize(struct conform_run *run);

/* Counts of (test, clause) verdicts. */
void conform_counts(const struct conform_run *run, unsigned counts[CV_COUNT]);
/* Overall: 0 when nothing failed or crashed. */
int conform_exit_status(const struct conform_run *run);

/* ---- reports ----------------------------------------------------------------
 */

int conform_load_requirements(struct conform_run *run, const char *path);
void conform_write_text(const struct conform_run *run, FILE *f);
int conform_write_json(const struct conform_run *run, const char *path);
int conform_write_junit(const struct conform_run *run, const char *path);
int conform_write_html(const struct conform_run *run, const char *path);

/* Helpers shared with the mutation matrix. */
void conform_json_string(FILE *f, const char *s);
void conform_html_escape(FILE *f, const char *s);
int conform_sha256_file(const char *path, char hex[65]);

#endif /* VMI_CONFORM_RUNNER_H */
