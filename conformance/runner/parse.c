/* SPDX-License-Identifier: MIT */
/* parse.c: parsing and validating the VMI-CONFORM result stream. */
#include <stdlib.h>
#include <string.h>

#include "conform.h"

const char *const conform_verdict_names[CV_COUNT] = {
    "pass", "fail", "skip", "na", "crash",
};

void conform_parser_init(struct conform_parser *p, struct conform_run *run)
{
    memset(p, 0, sizeof(*p));
    p->run = run;
    p->hash = VMI_CONFORM_FNV_INIT;
}

static struct conform_test_result *find_test(struct conform_run *run,
                                             const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < run->ntests; i++) {
        const char *n = run->tr[i].test->name;

        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return &run->tr[i];
    }
    return NULL;
}

/* Is `clause` declared by the test? */
static int declared(const struct vmi_conform_test *t, const char *clause)
{
    const char *s = t->clauses;
    size_t n = strlen(clause);

    while (*s) {
        size_t k = 0;

        while (*s == ' ')
            s++;
        while (s[k] && s[k] != ' ')
            k++;
        if (k == n && memcmp(s, clause, n) == 0)
            return 1;
        s += k;
    }
    return 0;
}

static void bad(struct conform_parser *p, const char *why, const char *line)
{
    if (!p->bad)
        snprintf(p->why, sizeof(p->why), "%s: %.120s", why, line);
    p->bad = 1;
}

static void info(struct conform_parser *p, const char *kv)
{
    struct conform_run *r = p->run;
    const char *eq = strchr(kv, '=');
    size_t k;

    if (!eq)
        return;
    k = (size_t)(eq - kv);
#define KEY(name, field)                                                       \
    if (k == strlen(name) && !memcmp(kv, name, k))                             \
        snprintf(r->field, sizeof(r->field), "%s", eq + 1);
    KEY("vendor", vendor)
    KEY("host_version", host_version)
    KEY("features", features)
    KEY("vcpus", vcpus)
#undef KEY
}

void conform_parser_line(struct conform_parser *p, const char *line)
{
    static const char pre[] = "VMI-CONFORM ";
    const char *s;

    /* Console output may prefix lines (timestamps, vCPU tags). */
    s = strstr(line, pre);
    if (!s)
        return;
    s += sizeof(pre) - 1;
    if (!strncmp(s, "BEGIN ", 6)) {
        struct conform_test_result *tr =
            find_test(p->run, s + 6, strlen(s + 6));

        if (!tr) {
            bad(p, "BEGIN of an unknown test", line);
            return;
        }
        tr->begun = 1;
        p->current = tr;
        if (p->progress)
            p->progress(p->progress_ctx, tr, 1);
    } else if (!strncmp(s, "RESULT ", 7)) {
        const char *name = s + 7, *cl, *v, *d;
        struct conform_test_result *tr;
        struct conform_result *res;
        size_t nlen, clen, vlen;
        int i, verdict = -1;
        char clause[32];

        if (p->ended) {
            bad(p, "RESULT after END", line);
            return;
        }
        p->hash = vmi_conform_fnv1a(p->hash, s - (sizeof(pre) - 1),
                                    strlen(s - (sizeof(pre) - 1)));
        p->hash = vmi_conform_fnv1a(p->hash, "\n", 1);
        p->count++;
        cl = strchr(name, ' ');
        if (!cl) {
            bad(p, "malformed RESULT", line);
            return;
        }
        nlen = (size_t)(cl - name);
        cl++;
        v = strchr(cl, ' ');
        if (!v) {
            bad(p, "malformed RESULT", line);
            return;
        }
        clen = (size_t)(v - cl);
        v++;
        d = strchr(v, ' ');
        vlen = d ? (size_t)(d - v) : strlen(v);
        d = d ? d + 1 : "";
        for (i = 0; i < CV_CRASH; i++)
            if (strlen(conform_verdict_names[i]) == vlen &&
                !memcmp(conform_verdict_names[i], v, vlen))
                verdict = i;
        tr = find_test(p->run, name, nlen);
        if (!tr || verdict < 0 || clen >= sizeof(clause)) {
            bad(p, "RESULT of an unknown test or verdict", line);
            return;
        }
        memcpy(clause, cl, clen);
        clause[clen] = 0;
        if (!declared(tr->test, clause)) {
            bad(p, "RESULT for a clause the test does not declare", line);
            return;
        }
        for (i = 0; i < tr->nres; i++)
            if (!strcmp(tr->res[i].clause, clause)) {
                bad(p, "duplicate RESULT", line);
                return;
            }
        if (tr->nres >= VMI_CONFORM_MAX_CLAUSES)
            return;
        res = &tr->res[tr->nres++];
        snprintf(res->clause, sizeof(res->clause), "%s", clause);
        res->verdict = verdict;
        snprintf(res->detail, sizeof(res->detail), "%s", d);
        if (p->progress && p->current == tr)
            p->progress(p->progress_ctx, tr, 0);
    } else if (!strncmp(s, "END ", 4)) {
        unsigned long long count = 0, hash = 0;
        const char *c = strstr(s, "count="), *h = strstr(s, "hash=");

        if (!c || !h) {
            bad(p, "malformed END", line);
            return;
        }
        count = strtoull(c + 6, NULL, 10);
        hash = strtoull(h + 5, NULL, 16);
        if (count != p->count)
            bad(p, "END count does not match the RESULT lines", line);
        else if (hash != p->hash)
            bad(p, "END hash does not match the RESULT lines", line);
        p->ended = 1;
    } else if (!strncmp(s, "INFO ", 5)) {
        info(p, s + 5);
    }
}

void conform_parser_feed(struct conform_parser *p, const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char c = buf[i];

        if (c == '\r')
            continue;
        if (c == '\n') {
            p->partial[p->plen] = 0;
            conform_parser_line(p, p->partial);
            p->plen = 0;
        } else if (p->plen + 1 < sizeof(p->partial)) {
            p->partial[p->plen++] = c;
        }
    }
}

int conform_parser_finish(struct conform_parser *p)
{
    if (p->plen) {
        p->partial[p->plen] = 0;
        conform_parser_line(p, p->partial);
        p->plen = 0;
    }
    if (!p->ended && !p->bad) {
        snprintf(p->why, sizeof(p->why),
                 "no END marker (the run stopped early)");
        p->bad = 1;
    }
    return p->bad ? -1 : 0;
}

static int profile_bit_selected(const struct conform_run *run, uint32_t bit)
{
    return (run->profiles & bit) != 0;
}

static const char *profile_name(uint32_t bit)
{
    switch (bit) {
    case VMI_PROFILE_CORE:
        return "core";
    case VMI_PROFILE_PAGETABLE:
        return "pagetable";
    case VMI_PROFILE_MIGRATION:
        return "migration";
    }
    return "?";
}

void conform_finalize(struct conform_run *run)
{
    size_t i;

    for (i = 0; i < run->ntests; i++) {
        struct conform_test_result *tr = &run->tr[i];
        const char *s = tr->test->clauses;
        int in = profile_bit_selected(run, tr->test->profile);

        /* Every declared clause without a verdict: crash. */
        while (*s) {
            char id[32];
            size_t k = 0;
            int j, found = 0;

            while (*s == ' ')
                s++;
            while (s[k] && s[k] != ' ')
                k++;
            if (!k)
                break;
            snprintf(id, sizeof(id), "%.*s", (int)k, s);
            s += k;
            for (j = 0; j < tr->nres; j++)
                if (!strcmp(tr->res[j].clause, id))
                    found = 1;
            if (!found && tr->nres < VMI_CONFORM_MAX_CLAUSES) {
                struct conform_result *r = &tr->res[tr->nres++];

                snprintf(r->clause, sizeof(r->clause), "%s", id);
                r->verdict = CV_CRASH;
                snprintf(r->detail, sizeof(r->detail), "%s",
                         tr->begun ? "missing verdict: the test began but "
                                     "reported nothing (crash or hang)"
                                   : "missing verdict: the test never ran");
            }
        }
        for (int j = 0; j < tr->nres; j++) {
            struct conform_result *r = &tr->res[j];

            if (!in) {
                r->verdict = CV_SKIP;
                snprintf(r->detail, sizeof(r->detail),
                         "profile %s not selected",
                         profile_name(tr->test->profile));
            } else if (in && r->verdict == CV_SKIP &&
                       !strncmp(r->detail, "feature-not-offered", 19)) {
                char d[sizeof(r->detail)];

                snprintf(d, sizeof(d), "profile %s requires it: %s",
                         profile_name(tr->test->profile), r->detail);
                r->verdict = CV_FAIL;
                memcpy(r->detail, d, sizeof(d));
            }
        }
    }
}

void conform_counts(const struct conform_run *run, unsigned counts[CV_COUNT])
{
    size_t i;
    int j;

    memset(counts, 0, sizeof(unsigned) * CV_COUNT);
    for (i = 0; i < run->ntests; i++)
        for (j = 0; j < run->tr[i].nres; j++)
            counts[run->tr[i].res[j].verdict]++;
}

int conform_exit_status(const struct conform_run *run)
{
    unsigned c[CV_COUNT];

    conform_counts(run, c);
    return (c[CV_FAIL] || c[CV_CRASH] || !run->end_ok) ? 1 : 0;
}
