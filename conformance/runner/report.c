/* SPDX-License-Identifier: MIT */
/* report.c: text, JSON, JUnit XML and HTML reports of a conformance run. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "conform.h"

/* ---- helpers ------------------------------------------------------------- */

void conform_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void conform_html_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* SHA-256 with OpenSSL's libcrypto (Debian libssl-dev). */
int conform_sha256_file(const char *path, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
    unsigned int mdlen = 0, i;
    EVP_MD_CTX *ctx = NULL;
    FILE *f = fopen(path, "rb");
    size_t n;
    int rc = -1;

    hex[0] = 0;
    if (!f)
        return -1;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        if (EVP_DigestUpdate(ctx, buf, n) != 1)
            goto out;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        goto out;
    for (i = 0; i < mdlen && i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}

/* ---- requirements.json (a small scanner for its flat objects) --------------
 */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = 0;
            *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* Parse a JSON string at *p (pointing at '"'); returns malloc'd text. */
static char *json_str(const char **p)
{
    const char *s = *p + 1;
    char *out = malloc(strlen(s) + 1), *o = out;

    if (!out)
        return NULL;
    while (*s && *s != '"') {
        if (*s == '\\' && s[1]) {
            s++;
            switch (*s) {
            case 'n':
                *o++ = ' ';
                break;
            case 't':
                *o++ = ' ';
                break;
            case 'u':
                /* Non-ASCII: keep a placeholder; clause text is ASCII. */
                *o++ = '?';
                s += 4;
                break;
            default:
                *o++ = *s;
            }
            s++;
            continue;
        }
        *o++ = *s++;
    }
    *o = 0;
    *p = *s ? s + 1 : s;
    return out;
}

int conform_load_requirements(struct conform_run *run, const char *path)
{
    size_t len = 0, cap = 0;
    char *buf = read_file(path, &len);
    const char *p;
    struct conform_clause *cur = NULL;

    if (!buf)
        return -1;
    p = strstr(buf, "\"clauses\"");
    if (!p) {
        free(buf);
        return -1;
    }
    while ((p = strchr(p, '"')) != NULL) {
        char *key = json_str(&p), *val = NULL;

        if (!key)
            break;
        while (*p == ' ' || *p == ':' || *p == '\n')
            p++;
        if (!strcmp(key, "retired")) {
            free(key);
            break;
        }
        if (*p == '"')
            val = json_str(&p);
        if (val && !strcmp(key, "id")) {
            if (run->nclauses == cap) {
                cap = cap ? cap * 2 : 256;
                run->clauses = realloc(run->clauses, cap * sizeof(*cur));
            }
            cur = &run->clauses[run->nclauses++];
            memset(cur, 0, sizeof(*cur));
            snprintf(cur->id, sizeof(cur->id), "%s", val);
        } else if (val && cur) {
            if (!strcmp(key, "level"))
                snprintf(cur->level, sizeof(cur->level), "%s", val);
            else if (!strcmp(key, "target"))
                snprintf(cur->target, sizeof(cur->target), "%s", val);
            else if (!strcmp(key, "profile"))
                snprintf(cur->profile, sizeof(cur->profile), "%s", val);
            else if (!strcmp(key, "text")) {
                cur->text = val;
                val = NULL;
            }
        }
        free(key);
        free(val);
    }
    free(buf);
    run->requirements = path;
    return 0;
}

/* ---- clause matrix --------------------------------------------------------
 */

struct row {
    const char *id;
    const struct conform_clause *c;
    int verdict; /* aggregated; -1: no test */
    unsigned n;
};

static int worse(int a, int b)
{
    /* crash > fail > pass > skip > na */
    static const int rank[CV_COUNT] = {2, 3, 1, 0, 4};

    if (a < 0)
        return b;
    return rank[b] > rank[a] ? b : a;
}

static int host_must(const struct conform_clause *c)
{
    /* As the traceability check: clauses whose target is the host. */
    return !strcmp(c->target, "host") && !strncmp(c->level, "MUST", 4);
}

static const struct conform_clause *clause_of(const struct conform_run *run,
                                              const char *id)
{
    size_t i;

    for (i = 0; i < run->nclauses; i++)
        if (!strcmp(run->clauses[i].id, id))
            return &run->clauses[i];
    return NULL;
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const struct row *)a)->id, ((const struct row *)b)->id);
}

/* Rows: every host MUST clause of the requirements plus every cited one. */
static struct row *matrix(const struct conform_run *run, size_t *nrows)
{
    size_t cap = run->nclauses + 512, n = 0, i, k;
    struct row *rows = calloc(cap, sizeof(*rows));
    int j;

    if (!rows)
        return NULL;
    for (i = 0; i < run->nclauses; i++)
        if (host_must(&run->clauses[i])) {
            rows[n].id = run->clauses[i].id;
            rows[n].c = &run->clauses[i];
            rows[n].verdict = -1;
            n++;
        }
    for (i = 0; i < run->ntests; i++)
        for (j = 0; j < run->tr[i].nres; j++) {
            const struct conform_result *r = &run->tr[i].res[j];

            for (k = 0; k < n; k++)
                if (!strcmp(rows[k].id, r->clause))
                    break;
            if (k == n) {
                if (n == cap)
                    continue;
                rows[n].id = r->clause;
                rows[n].c = clause_of(run, r->clause);
                rows[n].verdict = -1;
                n++;
            }
            rows[k].verdict = worse(rows[k].verdict, r->verdict);
            rows[k].n++;
        }
    qsort(rows, n, sizeof(*rows), cmp_row);
    *nrows = n;
    return rows;
}

static void coverage(const struct conform_run *run, unsigned *covered,
                     unsigned *total, unsigned *passed)
{
    size_t n = 0, i;
    struct row *rows = matrix(run, &n);

    *covered = *total = *passed = 0;
    for (i = 0; rows && i < n; i++) {
        if (!rows[i].c || !host_must(rows[i].c))
            continue;
        (*total)++;
        if (rows[i].n)
            (*covered)++;
        if (rows[i].verdict == CV_PASS)
            (*passed)++;
    }
    free(rows);
}

/* ---- text -------------------------------------------------------------------
 */

void conform_write_text(const struct conform_run *run, FILE *f)
{
    unsigned c[CV_COUNT], cov, tot, pas;
    size_t i;
    int j;

    conform_counts(run, c);
    fprintf(f, "\nOpenVMI %s conformance, target host, profile %s\n",
            run->spec_version, run->profile_name);
    fprintf(f, "  backend     %s%s%s\n", run->backend,
            run->backend_why ? " - " : "",
            run->backend_why ? run->backend_why : "");
    fprintf(f, "  hypervisor  %s (interface %s)\n",
            run->vendor[0] ? run->vendor : "?",
            run->host_version[0] ? run->host_version : "?");
    if (run->image)
        fprintf(f, "  image       %s sha256 %s\n", run->image,
                run->image_sha256);
    if (run->fault)
        fprintf(f, "  fault       %s\n", run->fault);
    for (i = 0; i < run->ntests; i++)
        for (j = 0; j < run->tr[i].nres; j++) {
            const struct conform_result *r = &run->tr[i].res[j];

            if (r->verdict == CV_FAIL || r->verdict == CV_CRASH)
                fprintf(f, "  %-5s %s %s: %s\n",
                        conform_verdict_names[r->verdict],
                        run->tr[i].test->name, r->clause, r->detail);
        }
    if (!run->end_ok)
        fprintf(f, "  stream      INVALID: %s\n", run->end_why);
    fprintf(f,
            "  verdicts    %u pass, %u fail, %u skip, %u not applicable, "
            "%u crash (test x clause)\n",
            c[CV_PASS], c[CV_FAIL], c[CV_SKIP], c[CV_NA], c[CV_CRASH]);
    if (run->nclauses) {
        coverage(run, &cov, &tot, &pas);
        fprintf(f,
                "  clauses     %u of %u host MUST clauses covered by a "
                "test, %u passed here\n",
                cov, tot, pas);
    }
    fprintf(f, "  time        %.2f s\n", run->total_ms / 1000.0);
    fprintf(f, "  result      %s\n",
            conform_exit_status(run) ? "NOT CONFORMANT" : "CONFORMANT");
}

/* ---- JSON
 * --------------------------------------------------------------------- */

int conform_write_json(const struct conform_run *run, const char *path)
{
    FILE *f = fopen(path, "w");
    unsigned c[CV_COUNT], cov = 0, tot = 0, pas = 0;
    size_t i, n = 0;
    struct row *rows;
    int j;

    if (!f)
        return -1;
    conform_counts(run, c);
    coverage(run, &cov, &tot, &pas);
    fprintf(f, "{\n  \"spec_version\": ");
    conform_json_string(f, run->spec_version);
    fprintf(f, ",\n  \"target\": \"host\",\n  \"profile\": ");
    conform_json_string(f, run->profile_name);
    fprintf(f, ",\n  \"backend\": ");
    conform_json_string(f, run->backend);
    fprintf(f, ",\n  \"hypervisor\": {\"vendor\": ");
    conform_json_string(f, run->vendor);
    fprintf(f, ", \"interface_version\": ");
    conform_json_string(f, run->host_version);
    fprintf(f, ", \"features\": ");
    conform_json_string(f, run->features);
    fprintf(f, ", \"vcpus\": ");
    conform_json_string(f, run->vcpus);
    fprintf(f, ", \"command\": ");
    conform_json_string(f, run->hypervisor ? run->hypervisor : "");
    fprintf(f, "},\n  \"image\": ");
    conform_json_string(f, run->image ? run->image : "");
    fprintf(f, ",\n  \"image_sha256\": ");
    conform_json_string(f, run->image_sha256);
    fprintf(f, ",\n  \"fault\": ");
    conform_json_string(f, run->fault ? run->fault : "");
    fprintf(f, ",\n  \"stream_valid\": %s,\n  \"stream_error\": ",
            run->end_ok ? "true" : "false");
    conform_json_string(f, run->end_ok ? "" : run->end_why);
    fprintf(f,
            ",\n  \"counts\": {\"pass\": %u, \"fail\": %u, \"skip\": %u, "
            "\"na\": %u, \"crash\": %u},\n",
            c[CV_PASS], c[CV_FAIL], c[CV_SKIP], c[CV_NA], c[CV_CRASH]);
    fprintf(f,
            "  \"host_must_clauses\": {\"total\": %u, \"covered\": %u, "
            "\"passed\": %u},\n",
            tot, cov, pas);
    fprintf(f, "  \"conformant\": %s,\n  \"seconds\": %.3f,\n",
            conform_exit_status(run) ? "false" : "true",
            run->total_ms / 1000.0);
    fprintf(f, "  \"tests\": [\n");
    for (i = 0; i < run->ntests; i++) {
        const struct conform_test_result *tr = &run->tr[i];

        fprintf(f, "    {\"name\": ");
        conform_json_string(f, tr->test->name);
        fprintf(f, ", \"ms\": %.3f, \"results\": [", tr->ms);
        for (j = 0; j < tr->nres; j++) {
            fprintf(f, "%s{\"clause\": ", j ? ", " : "");
            conform_json_string(f, tr->res[j].clause);
            fprintf(f, ", \"verdict\": \"%s\", \"detail\": ",
                    conform_verdict_names[tr->res[j].verdict]);
            conform_json_string(f, tr->res[j].detail);
            fputc('}', f);
        }
        fprintf(f, "]}%s\n", i + 1 < run->ntests ? "," : "");
    }
    fprintf(f, "  ],\n  \"clauses\": [\n");
    rows = matrix(run, &n);
    for (i = 0; rows && i < n; i++) {
        fprintf(f, "    {\"id\": ");
        conform_json_string(f, rows[i].id);
        fprintf(f, ", \"verdict\": \"%s\", \"tests\": %u}%s\n",
                rows[i].verdict < 0 ? "not-covered"
                                    : conform_verdict_names[rows[i].verdict],
                rows[i].n, i + 1 < n ? "," : "");
    }
    free(rows);
    fprintf(f, "  ]\n}\n");
    return fclose(f) ? -1 : 0;
}

/* ---- JUnit XML
 * ------------------------------------------------------------------- */

int conform_write_junit(const struct conform_run *run, const char *path)
{
    FILE *f = fopen(path, "w");
    unsigned c[CV_COUNT];
    size_t i;
    int j;

    if (!f)
        return -1;
    conform_counts(run, c);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites name=\"OpenVMI conformance\" tests=\"%u\" "
            "failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%.3f\">\n",
            c[CV_PASS] + c[CV_FAIL] + c[CV_SKIP] + c[CV_NA] + c[CV_CRASH],
            c[CV_FAIL], c[CV_CRASH], c[CV_SKIP] + c[CV_NA],
            run->total_ms / 1000.0);
    fprintf(f, "  <testsuite name=\"");
    conform_html_escape(f, run->backend);
    fprintf(f, "\">\n");
    for (i = 0; i < run->ntests; i++) {
        const struct conform_test_result *tr = &run->tr[i];

        for (j = 0; j < tr->nres; j++) {
            const struct conform_result *r = &tr->res[j];

            fprintf(f, "    <testcase classname=\"");
            conform_html_escape(f, tr->test->name);
            fprintf(f, "\" name=\"%s\" time=\"%.6f\">", r->clause,
                    tr->ms / 1000.0 / (tr->nres ? tr->nres : 1));
            switch (r->verdict) {
            case CV_FAIL:
                fprintf(f, "<failure message=\"");
                conform_html_escape(f, r->detail);
                fprintf(f, "\"/>");
                break;
            case CV_CRASH:
                fprintf(f, "<error message=\"");
                conform_html_escape(f, r->detail);
                fprintf(f, "\"/>");
                break;
            case CV_SKIP:
            case CV_NA:
                fprintf(f, "<skipped message=\"%s: ",
                        conform_verdict_names[r->verdict]);
                conform_html_escape(f, r->detail);
                fprintf(f, "\"/>");
                break;
            }
            fprintf(f, "</testcase>\n");
        }
    }
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    return fclose(f) ? -1 : 0;
}

/* ---- HTML
 * -------------------------------------------------------------------------- */

static const char *const css =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.5em}table{border-collapse:collapse;width:100%;"
    "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
    "vertical-align:top;text-align:left}th{background:#f0f0f0}"
    ".pass{background:#d8f5d0}.fail{background:#f9c9c9}"
    ".crash{background:#f29a9a;font-weight:bold}.skip{background:#eee}"
    ".na{background:#e6ecf5}.not-covered{background:#fde9b6}"
    "code{font-size:12px}.sum td{border:none;padding:1px 12px 1px 0}"
    "details{margin:0}";

static void cell(FILE *f, int v)
{
    const char *n = v < 0 ? "not-covered" : conform_verdict_names[v];

    fprintf(f, "<td class=\"%s\">%s</td>", n, n);
}

int conform_write_html(const struct conform_run *run, const char *path)
{
    FILE *f = fopen(path, "w");
    unsigned c[CV_COUNT], cov = 0, tot = 0, pas = 0;
    size_t i, n = 0, k;
    struct row *rows;
    int j;

    if (!f)
        return -1;
    conform_counts(run, c);
    coverage(run, &cov, &tot, &pas);
    fprintf(f,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<title>OpenVMI conformance report</title><style>%s</style>"
            "</head><body>\n",
            css);
    fprintf(f, "<h1>OpenVMI %s conformance: target host, profile ",
            run->spec_version);
    conform_html_escape(f, run->profile_name);
    fprintf(f, " &mdash; %s</h1>\n",
            conform_exit_status(run) ? "NOT CONFORMANT" : "CONFORMANT");
    fprintf(f, "<table class=\"sum\">");
    fprintf(f, "<tr><td>Hypervisor</td><td>");
    conform_html_escape(f, run->vendor[0] ? run->vendor : "?");
    fprintf(f, " (interface version ");
    conform_html_escape(f, run->host_version);
    fprintf(f, ", features ");
    conform_html_escape(f, run->features);
    fprintf(f, ", vCPUs ");
    conform_html_escape(f, run->vcpus);
    fprintf(f, ")</td></tr><tr><td>Backend</td><td>");
    conform_html_escape(f, run->backend);
    if (run->hypervisor) {
        fprintf(f, ": <code>");
        conform_html_escape(f, run->hypervisor);
        fprintf(f, "</code>");
    }
    fprintf(f, "</td></tr>");
    if (run->image) {
        fprintf(f, "<tr><td>Image</td><td><code>");
        conform_html_escape(f, run->image);
        fprintf(f, "</code> sha256 <code>%s</code></td></tr>",
                run->image_sha256);
    }
    if (run->fault) {
        fprintf(f, "<tr><td>Injected fault</td><td>");
        conform_html_escape(f, run->fault);
        fprintf(f, "</td></tr>");
    }
    fprintf(f,
            "<tr><td>Verdicts</td><td>%u pass, %u fail, %u skip, %u not "
            "applicable, %u crash (test &times; clause)</td></tr>",
            c[CV_PASS], c[CV_FAIL], c[CV_SKIP], c[CV_NA], c[CV_CRASH]);
    fprintf(f,
            "<tr><td>Host MUST clauses</td><td>%u of %u covered by a test, "
            "%u passed in this run</td></tr>",
            cov, tot, pas);
    fprintf(f, "<tr><td>Result stream</td><td>%s",
            run->end_ok ? "complete (END marker count and hash verified)"
                        : "INVALID: ");
    if (!run->end_ok)
        conform_html_escape(f, run->end_why);
    fprintf(f, "</td></tr><tr><td>Time</td><td>%.2f s</td></tr></table>\n",
            run->total_ms / 1000.0);

    fprintf(f, "<h2>Clause matrix</h2>\n<table><tr><th>Clause</th>"
               "<th>Level</th><th>Profile</th><th>Verdict</th><th>Tests"
               "</th><th>Text</th></tr>\n");
    rows = matrix(run, &n);
    for (k = 0; rows && k < n; k++) {
        fprintf(f,
                "<tr id=\"%s\"><td><code>%s</code></td><td>%s</td>"
                "<td>%s</td>",
                rows[k].id, rows[k].id, rows[k].c ? rows[k].c->level : "",
                rows[k].c ? rows[k].c->profile : "");
        cell(f, rows[k].verdict);
        fprintf(f, "<td>");
        for (i = 0; i < run->ntests; i++)
            for (j = 0; j < run->tr[i].nres; j++)
                if (!strcmp(run->tr[i].res[j].clause, rows[k].id)) {
                    fprintf(f, "<span class=\"%s\">",
                            conform_verdict_names[run->tr[i].res[j].verdict]);
                    conform_html_escape(f, run->tr[i].test->name);
                    fprintf(f, "</span><br>");
                }
        fprintf(f, "</td><td>");
        if (rows[k].c && rows[k].c->text)
            conform_html_escape(f, rows[k].c->text);
        fprintf(f, "</td></tr>\n");
    }
    free(rows);
    fprintf(f, "</table>\n<h2>Tests</h2>\n<table><tr><th>Test</th>"
               "<th>Clause</th><th>Verdict</th><th>Detail</th><th>ms</th>"
               "</tr>\n");
    for (i = 0; i < run->ntests; i++) {
        const struct conform_test_result *tr = &run->tr[i];

        for (j = 0; j < tr->nres; j++) {
            fprintf(f, "<tr><td>");
            if (j == 0)
                conform_html_escape(f, tr->test->name);
            fprintf(f, "</td><td><a href=\"#%s\">%s</a></td>",
                    tr->res[j].clause, tr->res[j].clause);
            cell(f, tr->res[j].verdict);
            fprintf(f, "<td>");
            conform_html_escape(f, tr->res[j].detail);
            fprintf(f, "</td><td>%s%.2f</td></tr>\n", "", j ? 0.0 : tr->ms);
        }
    }
    fprintf(f, "</table>\n</body></html>\n");
    return fclose(f) ? -1 : 0;
}
