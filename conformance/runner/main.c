/* SPDX-License-Identifier: MIT */
/*
 * main.c: vmi-conform, the OpenVMI conformance runner: runs the suite on a
 * hypervisor (the conformance guest image) or on the in-process simulator,
 * writes the reports, runs the mutation matrix and certifies guests.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmi_host.h>

#include "conform.h"
#include "sim.h"

#ifndef VMI_CONFORM_DEFAULT_IMAGE
#define VMI_CONFORM_DEFAULT_IMAGE ""
#endif
#ifndef VMI_CONFORM_DEFAULT_VMI_RUN
#define VMI_CONFORM_DEFAULT_VMI_RUN ""
#endif
#ifndef VMI_CONFORM_DEFAULT_TEST_VARIANT
#define VMI_CONFORM_DEFAULT_TEST_VARIANT ""
#endif
#ifndef VMI_CONFORM_DEFAULT_REQUIREMENTS
#define VMI_CONFORM_DEFAULT_REQUIREMENTS ""
#endif

static const char usage[] =
    "usage: vmi-conform [options]\n"
    "\n"
    "Runs the OpenVMI conformance suite against a hypervisor and writes a\n"
    "clause-by-clause report (text on stdout; JSON, JUnit XML and HTML in\n"
    "--out).\n"
    "\n"
    "  --backend auto|vm|sim  vm: boot the conformance image on the\n"
    "                         hypervisor; sim: host-lib in process; auto\n"
    "                         (default): vm when /dev/kvm and vmi-run work\n"
    "  --hypervisor CMD       hypervisor command line, the image path is\n"
    "                         appended (default: vmi-run --vcpus 4\n"
    "                         --pagetable)\n"
    "  --image FILE           conformance guest image (default: built one)\n"
    "  --profile P            core, core+pagetable, core+migration, all\n"
    "                         (default: all on sim, core+pagetable on the\n"
    "                         default vmi-run, core on --hypervisor)\n"
    "  --out DIR              write report.json, report.xml, report.html\n"
    "  --requirements FILE    requirements.json (clause list and text)\n"
    "  --timeout SECONDS      whole VM run (default 60)\n"
    "  --filter TEXT          only tests whose name contains TEXT\n"
    "  --fault NAME           inject a host-lib fault: vmi-conform and the\n"
    "                         hypervisor it starts run on host-lib's test\n"
    "                         variant (libvmi-host.so.1 from --host-lib-test,\n"
    "                         through LD_LIBRARY_PATH; VMI_HOST_FAULT=NAME);\n"
    "                         sim, or a hypervisor that links libvmi-host.so\n"
    "                         dynamically (vmi-run does)\n"
    "  --list-faults          print the faults the test variant can inject\n"
    "  --mutation-matrix      run the suite once per host-lib fault, on the\n"
    "                         test variant: on the simulator, or with\n"
    "                         --backend vm / --hypervisor on a hypervisor\n"
    "                         that links libvmi-host.so.1 dynamically (a\n"
    "                         fault no test can catch there is listed)\n"
    "  --matrix-md FILE       with --mutation-matrix: also write Markdown\n"
    "  --host-lib-test DIR    directory of host-lib's test variant\n"
    "                         (default: the one built with vmi-conform)\n"
    "  --certify-guest ELF    run a guest on vmi-run --strict and report its\n"
    "                         violations (exit 1 if any); with --hypervisor,\n"
    "                         on that command, which must run its host in\n"
    "                         strict mode (QEMU: -device openvmi,strict=on)\n"
    "  --sim-shared           sim: one VM for the whole suite, in the\n"
    "                         image's order (as on a hypervisor)\n"
    "  --list                 print the tests and their clauses (JSON)\n"
    "  --quiet                no per-test progress\n";

struct opts {
    const char *backend;
    const char *hypervisor;
    const char *image;
    const char *profile;
    const char *out;
    const char *requirements;
    const char *filter;
    const char *fault;
    const char *matrix_md;
    const char *certify;
    int timeout;
    int shared;
    int mutation;
    int list_faults;
    const char *test_variant;
    int list;
    int quiet;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int parse_profile(const char *s, uint32_t *mask)
{
    char buf[128], *tok, *save = NULL;

    *mask = 0;
    if (!strcmp(s, "all")) {
        *mask =
            VMI_PROFILE_CORE | VMI_PROFILE_PAGETABLE | VMI_PROFILE_MIGRATION;
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    for (tok = strtok_r(buf, "+,", &save); tok;
         tok = strtok_r(NULL, "+,", &save)) {
        if (!strcmp(tok, "core"))
            *mask |= VMI_PROFILE_CORE;
        else if (!strcmp(tok, "pagetable"))
            *mask |= VMI_PROFILE_PAGETABLE;
        else if (!strcmp(tok, "migration"))
            *mask |= VMI_PROFILE_MIGRATION;
        else
            return -1;
    }
    /* Every profile requires core. */
    if (*mask)
        *mask |= VMI_PROFILE_CORE;
    return *mask ? 0 : -1;
}

/* The suite's tests, filtered. */
static int collect(struct conform_run *run, const char *filter)
{
    size_t n = 0, i;
    uint32_t a, k;

    for (a = 0; a < vmi_conform_area_count; a++)
        n += vmi_conform_areas[a]->count;
    run->tr = calloc(n, sizeof(*run->tr));
    if (!run->tr)
        return -1;
    i = 0;
    for (a = 0; a < vmi_conform_area_count; a++)
        for (k = 0; k < vmi_conform_areas[a]->count; k++) {
            const struct vmi_conform_test *t = &vmi_conform_areas[a]->tests[k];

            if (filter && !strstr(t->name, filter))
                continue;
            run->tr[i++].test = t;
        }
    run->ntests = i;
    return 0;
}

static void reset_results(struct conform_run *run)
{
    size_t i;

    for (i = 0; i < run->ntests; i++) {
        const struct vmi_conform_test *t = run->tr[i].test;

        memset(&run->tr[i], 0, sizeof(run->tr[i]));
        run->tr[i].test = t;
    }
    run->end_ok = 1;
    run->end_why[0] = 0;
}

/* ---- progress
 * ---------------------------------------------------------------- */

struct progress {
    const struct conform_run *run;
    int quiet;
    unsigned done;
};

static void show(void *ctx, struct conform_test_result *tr, int begin)
{
    struct progress *p = ctx;
    int worst = CV_PASS, j;

    if (p->quiet || begin)
        return;
    if (tr->nres != 0 && (size_t)tr->nres < strlen(tr->test->clauses) &&
        tr->res[tr->nres - 1].clause[0] == 0)
        return;
    /* Print when the test's last declared clause arrived. */
    {
        const char *s = tr->test->clauses;
        int declared = 0;

        while (*s) {
            while (*s == ' ')
                s++;
            if (*s)
                declared++;
            while (*s && *s != ' ')
                s++;
        }
        if (tr->nres < declared)
            return;
    }
    for (j = 0; j < tr->nres; j++)
        if (tr->res[j].verdict == CV_FAIL)
            worst = CV_FAIL;
        else if (worst == CV_PASS && tr->res[j].verdict != CV_PASS)
            worst = tr->res[j].verdict;
    p->done++;
    printf("[%3u/%zu] %-5s %s\n", p->done, p->run->ntests,
           conform_verdict_names[worst], tr->test->name);
    fflush(stdout);
}

/* ---- simulator backend
 * ----------------------------------------------------------- */

static void emit_fd(void *ctx, const char *line, size_t len)
{
    int fd = *(int *)ctx;
    char buf[600];

    if (len > sizeof(buf) - 1)
        len = sizeof(buf) - 1;
    memcpy(buf, line, len);
    buf[len] = '\n';
    if (write(fd, buf, len + 1) < 0)
        _exit(4);
}

/* Read a child's output until EOF or the deadline; returns bytes read. */
static void drain(int fd, struct conform_parser *p, double deadline,
                  int *timed_out)
{
    char buf[4096];

    *timed_out = 0;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        double left = deadline - now_ms();
        ssize_t n;

        if (left <= 0) {
            *timed_out = 1;
            return;
        }
        if (poll(&pfd, 1, (int)left + 1) <= 0)
            continue;
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        conform_parser_feed(p, buf, (size_t)n);
    }
}

/*
 * One fork per test: a case that crashes or hangs takes only its own
 * verdicts with it.  Each child writes its own END marker.
 */
/*
 * Run one simulator pass in a forked child, so a crash or a hang costs only
 * that child: the child runs `test` (or, when test is NULL, the whole suite
 * in one shared VM, filtered by `filter`) and its emitted lines feed p until
 * it ends or `deadline` (ms) passes, when it is killed.  quiet: the child's
 * stderr goes to /dev/null.  Returns -1 when no child could be started,
 * else 0 with its wait status and whether it timed out.
 */
static int sim_fork(struct conform_parser *p, const char *fault, int quiet,
                    const struct vmi_conform_test *test, const char *filter,
                    unsigned alarm_s, double deadline, int *status,
                    int *timed_out)
{
    int fds[2];
    pid_t pid;

    *status = 0;
    *timed_out = 0;
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        struct vmi_sim_config cfg;
        int fd = fds[1];

        close(fds[0]);
        if (quiet) {
            int nul = open("/dev/null", O_WRONLY);

            if (nul >= 0)
                dup2(nul, 2);
        }
        memset(&cfg, 0, sizeof(cfg));
        /* The test variant reads it in vmi_host_vm_create. */
        if (fault)
            setenv("VMI_HOST_FAULT", fault, 1);
        else
            unsetenv("VMI_HOST_FAULT");
        cfg.emit = emit_fd;
        cfg.emit_ctx = &fd;
        alarm(alarm_s);
        _exit((test ? vmi_sim_run_test(&cfg, test)
                    : vmi_sim_run_shared(&cfg, filter))
                  ? 2
                  : 0);
    }
    close(fds[1]);
    drain(fds[0], p, deadline, timed_out);
    close(fds[0]);
    if (*timed_out)
        kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return 0;
}

/*
 * The simulator with one VM for the whole suite, like the image on a
 * hypervisor (one child process; a crash loses the rest of the run).
 */
static int run_sim_shared(struct conform_run *run, const struct opts *o)
{
    struct progress prog = {run, o->quiet, 0};
    struct conform_parser p;
    double t0 = now_ms();
    int status, to;

    reset_results(run);
    conform_parser_init(&p, run);
    p.progress = show;
    p.progress_ctx = &prog;
    if (sim_fork(&p, o->fault, 0, NULL, o->filter, 60,
                 now_ms() + o->timeout * 1000.0, &status, &to) != 0)
        return -1;
    run->total_ms = now_ms() - t0;
    if (conform_parser_finish(&p) != 0) {
        run->end_ok = 0;
        snprintf(run->end_why, sizeof(run->end_why), "%s",
                 to ? "timed out" : p.why);
    }
    snprintf(run->vendor, sizeof(run->vendor), "%s",
             "OpenVMI conformance simulator (host-lib), one shared VM");
    return 0;
}

static int run_sim(struct conform_run *run, const char *fault, int quiet)
{
    struct progress prog = {run, quiet, 0};
    double t0 = now_ms();
    size_t i;

    reset_results(run);
    for (i = 0; i < run->ntests; i++) {
        struct conform_test_result *tr = &run->tr[i];
        struct conform_parser p;
        int status, to;
        double start = now_ms();

        conform_parser_init(&p, run);
        p.progress = show;
        p.progress_ctx = &prog;
        if (sim_fork(&p, fault, quiet, tr->test, NULL, 20,
                     start + 10000.0 + tr->test->timeout_ms, &status, &to) != 0)
            return -1;
        tr->ms = now_ms() - start;
        if (conform_parser_finish(&p) != 0 && run->end_ok) {
            run->end_ok = 0;
            snprintf(run->end_why, sizeof(run->end_why), "%.60s: %.130s",
                     tr->test->name, to ? "timed out" : p.why);
        }
        if (!quiet && (!p.ended || to)) {
            printf("[%3u/%zu] crash %s (%s)\n", ++prog.done, run->ntests,
                   tr->test->name,
                   to                    ? "timeout"
                   : WIFSIGNALED(status) ? strsignal(WTERMSIG(status))
                                         : "no END marker");
            fflush(stdout);
        }
    }
    run->total_ms = now_ms() - t0;
    snprintf(run->vendor, sizeof(run->vendor), "%s",
             "OpenVMI conformance simulator (host-lib)");
    snprintf(run->host_version, sizeof(run->host_version), "%u.%u",
             VMI_SPEC_VERSION_MAJOR, VMI_SPEC_VERSION_MINOR);
    snprintf(run->features, sizeof(run->features), "0x%llx",
             (unsigned long long)VMI_F_ALL_1_0);
    snprintf(run->vcpus, sizeof(run->vcpus), "4");
    return 0;
}

/* ---- VM backend
 * ------------------------------------------------------------------- */

static int kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

static int split_cmd(const char *cmd, char **argv, int max, char *store,
                     size_t cap)
{
    int n = 0;
    char *save = NULL, *tok;

    snprintf(store, cap, "%s", cmd);
    for (tok = strtok_r(store, " \t", &save); tok && n < max - 2;
         tok = strtok_r(NULL, " \t", &save))
        argv[n++] = tok;
    argv[n] = NULL;
    return n;
}

/* Run argv with stdout+stderr into the parser; exit status or -1. */
static int run_child(char **argv, struct conform_parser *p, int timeout_s,
                     int *timed_out, FILE *echo)
{
    int fds[2], status = 0;
    double deadline = now_ms() + timeout_s * 1000.0;
    char buf[4096];
    pid_t pid;

    *timed_out = 0;
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "vmi-conform: cannot run %s: %s\n", argv[0],
                strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        struct pollfd pfd = {fds[0], POLLIN, 0};
        double left = deadline - now_ms();
        ssize_t n;

        if (left <= 0) {
            *timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(&pfd, 1, (int)left + 1) <= 0)
            continue;
        n = read(fds[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (p)
            conform_parser_feed(p, buf, (size_t)n);
        if (echo)
            fwrite(buf, 1, (size_t)n, echo);
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return -1;
}

static int run_vm(struct conform_run *run, const struct opts *o)
{
    struct progress prog = {run, o->quiet, 0};
    struct conform_parser p;
    char store[1024], *argv[64];
    int argc, to = 0, st;
    double t0 = now_ms();
    FILE *console = NULL;

    reset_results(run);
    if (conform_sha256_file(run->image, run->image_sha256) != 0) {
        fprintf(stderr, "vmi-conform: cannot read the image %s\n", run->image);
        return -1;
    }
    argc = split_cmd(run->hypervisor, argv, 62, store, sizeof(store));
    if (argc == 0)
        return -1;
    argv[argc++] = (char *)run->image;
    argv[argc] = NULL;
    conform_parser_init(&p, run);
    p.progress = show;
    p.progress_ctx = &prog;
    if (o->out) {
        char path[4096];

        mkdir(o->out, 0755);
        snprintf(path, sizeof(path), "%s/console.log", o->out);
        console = fopen(path, "w");
    }
    st = run_child(argv, &p, o->timeout, &to, console);
    if (console)
        fclose(console);
    run->total_ms = now_ms() - t0;
    if (conform_parser_finish(&p) != 0) {
        run->end_ok = 0;
        snprintf(run->end_why, sizeof(run->end_why), "%s", p.why);
    } else if (to) {
        run->end_ok = 0;
        snprintf(run->end_why, sizeof(run->end_why), "timed out after %d s",
                 o->timeout);
    } else if (st != 0) {
        /* The image powers off with status 0 after its END line. */
        run->end_ok = 0;
        snprintf(run->end_why, sizeof(run->end_why),
                 "hypervisor exited with status %d, not the image's "
                 "SHUTDOWN status 0",
                 st);
    }
    return 0;
}

/* ---- reports
 * ------------------------------------------------------------------------ */

static int write_reports(const struct conform_run *run, const char *out)
{
    char path[4096];
    int rc = 0;

    if (!out)
        return 0;
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "vmi-conform: cannot create %s: %s\n", out,
                strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/report.json", out);
    rc |= conform_write_json(run, path);
    snprintf(path, sizeof(path), "%s/report.xml", out);
    rc |= conform_write_junit(run, path);
    snprintf(path, sizeof(path), "%s/report.html", out);
    rc |= conform_write_html(run, path);
    snprintf(path, sizeof(path), "%s/report.txt", out);
    {
        FILE *f = fopen(path, "w");

        if (f) {
            conform_write_text(run, f);
            fclose(f);
        } else {
            rc = -1;
        }
    }
    if (rc)
        fprintf(stderr, "vmi-conform: writing reports in %s failed\n", out);
    else
        printf("  reports     %s/report.{html,json,xml,txt}\n", out);
    return rc;
}

/* ---- host-lib's test variant
 * ------------------------------------------------------------------ */

typedef unsigned (*faults_fn)(const char **, const char **, unsigned);

/* vmi_host_test_faults of the loaded libvmi-host.so, or NULL when the
 * shipping library is loaded (it has no fault injection). */
static faults_fn test_variant_faults(void)
{
    faults_fn fn;
    void *sym = dlsym(RTLD_DEFAULT, "vmi_host_test_faults");

    memcpy(&fn, &sym, sizeof(fn));
    return fn;
}

/*
 * Make this process (and what it starts) run on host-lib's test variant:
 * if the shipping libvmi-host.so.1 is loaded, put the test variant's
 * directory first in LD_LIBRARY_PATH and execute this program again.
 * Returns 0 when the test variant is loaded, 2 with a message otherwise.
 */
static int use_test_variant(char **argv, const char *dir)
{
    const char *old = getenv("LD_LIBRARY_PATH");
    char path[4096];

    if (test_variant_faults())
        return 0;
    if (getenv("VMI_CONFORM_TEST_VARIANT")) {
        fprintf(stderr,
                "vmi-conform: %s/libvmi-host.so.1 is not host-lib's test "
                "variant (no vmi_host_test_faults); build target "
                "vmi_host_test_shared or pass --host-lib-test DIR\n",
                dir);
        return 2;
    }
    if (!dir || !*dir) {
        fprintf(stderr, "vmi-conform: no test variant of host-lib was built; "
                        "pass --host-lib-test DIR\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/libvmi-host.so.1", dir);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "vmi-conform: cannot read %s: %s\n", path,
                strerror(errno));
        return 2;
    }
    if (old && *old)
        snprintf(path, sizeof(path), "%s:%s", dir, old);
    else
        snprintf(path, sizeof(path), "%s", dir);
    setenv("LD_LIBRARY_PATH", path, 1);
    setenv("VMI_CONFORM_TEST_VARIANT", dir, 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "vmi-conform: cannot execute itself again: %s\n",
            strerror(errno));
    return 2;
}

/* ---- mutation matrix
 * ------------------------------------------------------------------ */

struct mut {
    const char *name;
    const char *clause;
    unsigned nfail;
    char *failing; /* space separated test names */
    int hits_clause;
    char *why_not;  /* not caught, and cannot be here: why (or NULL) */
    unsigned tries; /* runs with the fault (a hypervisor: up to 3) */
};

/* One run of the whole suite with `fault` injected (NULL: none). */
static void matrix_run(struct conform_run *run, const struct opts *o,
                       const char *fault)
{
    struct opts q = *o;

    if (strcmp(run->backend, "vm")) {
        run_sim(run, fault, 1);
        return;
    }
    /* The hypervisor inherits the fault and the test variant's path. */
    if (fault)
        setenv("VMI_HOST_FAULT", fault, 1);
    else
        unsetenv("VMI_HOST_FAULT");
    q.out = NULL;
    q.quiet = 1;
    run->end_ok = 1;
    run->end_why[0] = 0;
    run_vm(run, &q);
}

/* 1 when test k of `run` got a fail or crash verdict. */
static int test_failed(const struct conform_run *run, size_t k)
{
    int j;

    for (j = 0; j < run->tr[k].nres; j++)
        if (run->tr[k].res[j].verdict == CV_FAIL ||
            run->tr[k].res[j].verdict == CV_CRASH)
            return 1;
    return 0;
}

/*
 * A fault the suite did not catch on a hypervisor: run it on the simulator
 * (every profile) to learn which tests catch it there.  If every one of
 * them got no pass or fail verdict in the hypervisor's baseline (na: it
 * needs the simulator's hooks; skip: its profile is not run there), no
 * test can catch it on this hypervisor: return why, naming them.  NULL
 * when one of them ran there (the fault then counts as not caught) or the
 * simulator does not catch it either.
 */
static char *not_catchable_here(struct conform_run *sim, const char *fault,
                                const char *const *base_verdict)
{
    size_t k, cap = 256, len = 0;
    char *why = malloc(cap);
    int n = 0;

    if (!why)
        return NULL;
    run_sim(sim, fault, 1);
    conform_finalize(sim);
    len = (size_t)snprintf(why, cap, "the simulator catches it with");
    for (k = 0; k < sim->ntests; k++) {
        size_t need;

        if (!test_failed(sim, k))
            continue;
        if (!base_verdict[k]) { /* a catching test that runs here */
            free(why);
            return NULL;
        }
        need =
            len + strlen(sim->tr[k].test->name) + strlen(base_verdict[k]) + 16;
        if (need > cap) {
            char *nw = realloc(why, cap = need * 2);

            if (!nw) {
                free(why);
                return NULL;
            }
            why = nw;
        }
        len += (size_t)snprintf(why + len, cap - len, "%s %s (%s here)",
                                n ? "," : "", sim->tr[k].test->name,
                                base_verdict[k]);
        n++;
    }
    if (!n) {
        free(why);
        return NULL;
    }
    return why;
}

static int mutation_matrix(struct conform_run *run, const struct opts *o)
{
    const char *names[128], *clauses[128];
    unsigned n = test_variant_faults()(names, clauses, 128), i, caught = 0,
             exact = 0, notrun = 0;
    int vm = !strcmp(run->backend, "vm");
    const char **base_verdict = NULL;
    struct conform_run *sim = NULL;
    char *base_fail;
    struct mut *m = calloc(n ? n : 1, sizeof(*m));
    char path[4096];
    FILE *f;
    size_t k;
    int j, base_ok;
    double t0 = now_ms();

    if (!m)
        return 2;
    if (n > 128)
        n = 128;
    printf("Mutation matrix: %u host-lib faults, %zu tests each (%s)\n", n,
           run->ntests,
           strcmp(run->backend, "vm") ? "simulator" : run->hypervisor);
    matrix_run(run, o, NULL);
    conform_finalize(run);
    base_ok = conform_exit_status(run) == 0;
    /* Tests that fail without a fault cannot count as catching one. */
    base_fail = calloc(run->ntests ? run->ntests : 1, 1);
    if (!base_fail)
        return 2;
    for (k = 0; k < run->ntests; k++)
        for (j = 0; j < run->tr[k].nres; j++)
            if (run->tr[k].res[j].verdict == CV_FAIL ||
                run->tr[k].res[j].verdict == CV_CRASH)
                base_fail[k] = 1;
    printf("  baseline    %s\n",
           base_ok ? "all pass" : "FAILS: tests failing here are ignored");
    /*
     * On a hypervisor: what each test got in the baseline, NULL when it
     * ran (pass or fail), else its verdict ("na", "skip"): a fault caught
     * only by tests that do not run here cannot be caught here.
     */
    if (vm) {
        base_verdict =
            calloc(run->ntests ? run->ntests : 1, sizeof(*base_verdict));
        sim = calloc(1, sizeof(*sim));
        if (!base_verdict || !sim || collect(sim, o->filter) != 0)
            return 2;
        sim->backend = "sim";
        sim->profiles =
            VMI_PROFILE_CORE | VMI_PROFILE_PAGETABLE | VMI_PROFILE_MIGRATION;
        sim->profile_name = "core+pagetable+migration";
        for (k = 0; k < run->ntests; k++) {
            int ran = 0;

            for (j = 0; j < run->tr[k].nres; j++)
                if (run->tr[k].res[j].verdict == CV_PASS ||
                    run->tr[k].res[j].verdict == CV_FAIL)
                    ran = 1;
            if (!ran)
                base_verdict[k] =
                    run->tr[k].nres
                        ? conform_verdict_names[run->tr[k].res[0].verdict]
                        : "no verdict";
        }
    }
    for (k = 0; k < run->ntests; k++)
        if (base_fail[k])
            printf("  baseline    fails: %s\n", run->tr[k].test->name);
    for (i = 0; i < n; i++) {
        size_t cap = 1, len = 0;
        double f0 = now_ms();

        m[i].name = names[i];
        m[i].clause = clauses[i];
    again:
        matrix_run(run, o, names[i]);
        conform_finalize(run);
        m[i].tries++;
        for (k = 0; k < run->ntests; k++) {
            int failed = 0;

            if (base_fail[k])
                continue;
            for (j = 0; j < run->tr[k].nres; j++) {
                const struct conform_result *r = &run->tr[k].res[j];

                if (r->verdict == CV_FAIL || r->verdict == CV_CRASH) {
                    failed = 1;
                    if (!strcmp(r->clause, clauses[i]))
                        m[i].hits_clause = 1;
                }
            }
            if (failed) {
                size_t l = strlen(run->tr[k].test->name) + 1;

                m[i].nfail++;
                cap += l + 1;
                m[i].failing = realloc(m[i].failing, cap);
                sprintf(m[i].failing + len, "%s%s", len ? " " : "",
                        run->tr[k].test->name);
                len = strlen(m[i].failing);
            }
        }
        /*
         * On a hypervisor some faults (a timer 1 ms early) show only when
         * the host answers in time, which a loaded host may not: a fault
         * missed is injected again, up to three runs in all.
         */
        if (!m[i].nfail && vm && m[i].tries < 3)
            goto again;
        if (!m[i].nfail && vm)
            m[i].why_not = not_catchable_here(sim, names[i], base_verdict);
        if (m[i].nfail)
            caught++;
        else if (m[i].why_not)
            notrun++;
        if (m[i].hits_clause)
            exact++;
        if (!m[i].nfail && m[i].why_not)
            printf("  %-34s %-12s cannot be caught here: %s %.2f s\n", names[i],
                   clauses[i], m[i].why_not, (now_ms() - f0) / 1000.0);
        else
            printf("  %-34s %-12s %s (%u tests fail%s%s) %.2f s\n", names[i],
                   clauses[i], m[i].nfail ? "caught" : "NOT CAUGHT", m[i].nfail,
                   m[i].nfail ? (m[i].hits_clause ? ", incl. its clause"
                                                  : ", not at its clause")
                              : "",
                   m[i].tries > 1
                       ? (m[i].nfail ? ", on a later run" : ", in 3 runs")
                       : "",
                   (now_ms() - f0) / 1000.0);
        fflush(stdout);
    }
    printf("  faults caught %u / %u injected (%u at the fault's own clause),"
           " %u cannot be caught on this backend, %.1f s\n",
           caught, n, exact, notrun, (now_ms() - t0) / 1000.0);

    if (o->out) {
        mkdir(o->out, 0755);
        snprintf(path, sizeof(path), "%s/mutation-matrix.json", o->out);
        f = fopen(path, "w");
        if (f) {
            fprintf(f,
                    "{\n  \"backend\": \"%s\",\n"
                    "  \"baseline_pass\": %s,\n  \"injected\": %u,\n"
                    "  \"caught\": %u,\n  \"caught_at_clause\": %u,\n"
                    "  \"cannot_catch_here\": %u,\n  \"faults\": [\n",
                    run->backend, base_ok ? "true" : "false", n, caught, exact,
                    notrun);
            for (i = 0; i < n; i++) {
                fprintf(f, "    {\"fault\": ");
                conform_json_string(f, m[i].name);
                fprintf(f, ", \"clause\": ");
                conform_json_string(f, m[i].clause);
                fprintf(f,
                        ", \"caught\": %s, \"at_clause\": %s, "
                        "\"failing_tests\": ",
                        m[i].nfail ? "true" : "false",
                        m[i].hits_clause ? "true" : "false");
                conform_json_string(f, m[i].failing ? m[i].failing : "");
                if (!m[i].nfail && m[i].why_not) {
                    fprintf(f, ", \"cannot_catch_here\": ");
                    conform_json_string(f, m[i].why_not);
                }
                fprintf(f, "}%s\n", i + 1 < n ? "," : "");
            }
            fprintf(f, "  ]\n}\n");
            fclose(f);
        }
        snprintf(path, sizeof(path), "%s/mutation-matrix.html", o->out);
        f = fopen(path, "w");
        if (f) {
            fprintf(f,
                    "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
                    "<title>OpenVMI mutation matrix</title><style>"
                    "body{font:14px system-ui,sans-serif;margin:2em}"
                    "td,th{border:1px solid #ccc;padding:3px 6px}"
                    "table{border-collapse:collapse}.y{background:#d8f5d0}"
                    ".n{background:#f9c9c9}</style></head><body>"
                    "<h1>Mutation matrix: %u of %u injected host-lib "
                    "faults caught</h1><table><tr><th>Fault</th>"
                    "<th>Clause it breaks</th><th>Caught</th>"
                    "<th>At its clause</th><th>Failing tests</th></tr>\n",
                    caught, n);
            for (i = 0; i < n; i++) {
                fprintf(f,
                        "<tr><td>%s</td><td>%s</td><td class=\"%s\">%s"
                        "</td><td class=\"%s\">%s</td><td>",
                        m[i].name, m[i].clause, m[i].nfail ? "y" : "n",
                        m[i].nfail ? "yes" : "NO", m[i].hits_clause ? "y" : "n",
                        m[i].hits_clause ? "yes" : "no");
                conform_html_escape(f, m[i].failing   ? m[i].failing
                                       : m[i].why_not ? m[i].why_not
                                                      : "");
                fprintf(f, "</td></tr>\n");
            }
            fprintf(f, "</table></body></html>\n");
            fclose(f);
        }
        snprintf(path, sizeof(path), "%s/mutation-matrix.txt", o->out);
        f = fopen(path, "w");
        if (f) {
            for (i = 0; i < n; i++)
                fprintf(f, "%-34s %-12s %-10s %s\n", m[i].name, m[i].clause,
                        m[i].nfail     ? "caught"
                        : m[i].why_not ? "cannot-here"
                                       : "NOT-CAUGHT",
                        m[i].failing   ? m[i].failing
                        : m[i].why_not ? m[i].why_not
                                       : "");
            fprintf(f, "caught %u / %u\n", caught, n);
            fclose(f);
        }
        printf("  reports     %s/mutation-matrix.{html,json,txt}\n", o->out);
    }
    if (o->matrix_md) {
        f = fopen(o->matrix_md, "w");
        if (f) {
            fprintf(f,
                    "# OpenVMI conformance: mutation matrix\n\n"
                    "Generated by `vmi-conform --mutation-matrix` (target "
                    "`conformance-mutation-matrix`); do not edit.\n\n"
                    "Each row injects one host-lib fault that breaks one "
                    "clause, runs the whole suite on the simulator and "
                    "lists the tests that fail. The faults exist only in "
                    "host-lib's test variant "
                    "(`build/host-lib/test-variant/libvmi-host.so.1`, the "
                    "shipping soname): vmi-conform runs on it through "
                    "`LD_LIBRARY_PATH` and names the fault in "
                    "`VMI_HOST_FAULT` (`vmi-conform --list-faults`).\n\n"
                    "**Faults caught: %u / %u injected** (%u of them with a "
                    "failure reported at the very clause the fault "
                    "breaks).\n\n"
                    "| Fault | Clause it breaks | Caught | At its clause | "
                    "Failing tests |\n|---|---|---|---|---|\n",
                    caught, n, exact);
            for (i = 0; i < n; i++)
                fprintf(f, "| `%s` | %s | %s | %s | %s |\n", m[i].name,
                        m[i].clause, m[i].nfail ? "yes" : "**NO**",
                        m[i].hits_clause ? "yes" : "no",
                        m[i].failing ? m[i].failing : "");
            fclose(f);
            printf("  markdown    %s\n", o->matrix_md);
        }
    }
    for (i = 0; i < n; i++) {
        free(m[i].failing);
        free(m[i].why_not);
    }
    free(m);
    free(base_fail);
    free(base_verdict);
    if (sim)
        free(sim->tr);
    free(sim);
    /*
     * Teeth: every fault caught, except those no test can catch on this
     * backend (listed with the reason); the baseline must pass.
     */
    return base_ok && caught + notrun == n ? 0 : 1;
}

/* ---- guest certification
 * -------------------------------------------------------------- */

static int certify_guest(const struct opts *o)
{
    char store[1024], *argv[64], line[1024];
    const char *hv =
        o->hypervisor ? o->hypervisor : VMI_CONFORM_DEFAULT_VMI_RUN;
    int argc, to = 0, st, violations = 0;
    char tmpl[] = "/tmp/vmi-certify-XXXXXX";
    int fd = mkstemp(tmpl);
    FILE *log;

    if (fd < 0 || !hv[0]) {
        fprintf(stderr, "vmi-conform: no hypervisor for --certify-guest\n");
        return 2;
    }
    if (!o->hypervisor && !kvm_usable()) {
        printf("vmi-conform: /dev/kvm is not usable: cannot run the guest\n");
        return 77;
    }
    log = fdopen(fd, "w+");
    argc = split_cmd(hv, argv, 60, store, sizeof(store));
    /* Another hypervisor's command line enables strict mode itself. */
    if (!o->hypervisor)
        argv[argc++] = "--strict";
    argv[argc++] = (char *)o->certify;
    argv[argc] = NULL;
    printf("Certifying guest %s on %s%s\n", o->certify, hv,
           o->hypervisor ? "" : " --strict");
    st = run_child(argv, NULL, o->timeout, &to, log);
    fflush(log);
    rewind(log);
    while (fgets(line, sizeof(line), log)) {
        const char *v = strstr(line, "violates ");

        if (strstr(line, "strict:") && v) {
            violations++;
            printf("  violation   %s", v + 9);
        }
    }
    fclose(log);
    unlink(tmpl);
    printf("  exit status %d%s\n", st, to ? " (timed out)" : "");
    printf("  result      %s: %d guest clause violation(s)\n",
           violations ? "NOT CONFORMANT" : "no violation observed", violations);
    return violations ? 1 : 0;
}

/* ---- main
 * -------------------------------------------------------------------------------
 */

static void list_tests(const struct conform_run *run)
{
    size_t i;

    printf("{\"tests\": [\n");
    for (i = 0; i < run->ntests; i++) {
        const struct vmi_conform_test *t = run->tr[i].test;

        printf("  {\"name\": ");
        conform_json_string(stdout, t->name);
        printf(", \"clauses\": ");
        conform_json_string(stdout, t->clauses);
        printf(", \"profile\": %u, \"flags\": %u}%s\n", t->profile, t->flags,
               i + 1 < run->ntests ? "," : "");
    }
    printf("]}\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"backend", required_argument, 0, 'b'},
        {"hypervisor", required_argument, 0, 'H'},
        {"image", required_argument, 0, 'i'},
        {"profile", required_argument, 0, 'p'},
        {"out", required_argument, 0, 'o'},
        {"requirements", required_argument, 0, 'r'},
        {"timeout", required_argument, 0, 't'},
        {"filter", required_argument, 0, 'f'},
        {"fault", required_argument, 0, 'F'},
        {"mutation-matrix", no_argument, 0, 'm'},
        {"list-faults", no_argument, 0, 'L'},
        {"host-lib-test", required_argument, 0, 'T'},
        {"matrix-md", required_argument, 0, 'M'},
        {"certify-guest", required_argument, 0, 'c'},
        {"list", no_argument, 0, 'l'},
        {"sim-shared", no_argument, 0, 'S'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct opts o = {.backend = "auto",
                     .timeout = 60,
                     .test_variant = VMI_CONFORM_DEFAULT_TEST_VARIANT};
    struct conform_run run;
    char vmcmd[1024];
    int c, rc;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'b':
            o.backend = optarg;
            break;
        case 'H':
            o.hypervisor = optarg;
            break;
        case 'i':
            o.image = optarg;
            break;
        case 'p':
            o.profile = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'r':
            o.requirements = optarg;
            break;
        case 't':
            o.timeout = atoi(optarg);
            break;
        case 'f':
            o.filter = optarg;
            break;
        case 'F':
            o.fault = optarg;
            break;
        case 'm':
            o.mutation = 1;
            break;
        case 'L':
            o.list_faults = 1;
            break;
        case 'T':
            o.test_variant = optarg;
            break;
        case 'M':
            o.matrix_md = optarg;
            break;
        case 'c':
            o.certify = optarg;
            break;
        case 'l':
            o.list = 1;
            break;
        case 'S':
            o.shared = 1;
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    if (o.fault || o.mutation || o.list_faults) {
        const char *names[128], *clauses[128];
        unsigned n, i;

        rc = use_test_variant(argv, o.test_variant);
        if (rc)
            return rc;
        n = test_variant_faults()(names, clauses, 128);
        if (o.list_faults) {
            for (i = 0; i < n && i < 128; i++)
                printf("%-34s %s\n", names[i], clauses[i]);
            return 0;
        }
        for (i = 0; o.fault && i < n && i < 128; i++)
            if (!strcmp(names[i], o.fault))
                break;
        if (o.fault && i == n) {
            fprintf(stderr,
                    "vmi-conform: --fault %s: no such fault "
                    "(--list-faults)\n",
                    o.fault);
            return 2;
        }
        /* A hypervisor started below inherits both variables. */
        if (o.fault)
            setenv("VMI_HOST_FAULT", o.fault, 1);
    }
    /* Guest certification runs no test of the suite. */
    if (o.certify)
        return certify_guest(&o);
    memset(&run, 0, sizeof(run));
    if (collect(&run, o.filter) != 0)
        return 2;
    if (o.list) {
        list_tests(&run);
        free(run.tr);
        return 0;
    }
    snprintf(run.spec_version, sizeof(run.spec_version), "%u.%u",
             VMI_SPEC_VERSION_MAJOR, VMI_SPEC_VERSION_MINOR);
    if (!o.requirements && VMI_CONFORM_DEFAULT_REQUIREMENTS[0] &&
        access(VMI_CONFORM_DEFAULT_REQUIREMENTS, R_OK) == 0)
        o.requirements = VMI_CONFORM_DEFAULT_REQUIREMENTS;
    if (o.requirements && conform_load_requirements(&run, o.requirements))
        fprintf(stderr, "vmi-conform: cannot read %s (no clause text)\n",
                o.requirements);
    run.end_ok = 1;

    /* The matrix runs on the simulator unless a hypervisor is asked for. */
    if (o.mutation && strcmp(o.backend, "vm") && !o.hypervisor) {
        run.profiles =
            VMI_PROFILE_CORE | VMI_PROFILE_PAGETABLE | VMI_PROFILE_MIGRATION;
        run.profile_name = "core+pagetable+migration";
        run.backend = "sim";
        return mutation_matrix(&run, &o);
    }

    if (!strcmp(o.backend, "auto")) {
        int kvm = kvm_usable();
        int vmi_run = VMI_CONFORM_DEFAULT_VMI_RUN[0] &&
                      access(VMI_CONFORM_DEFAULT_VMI_RUN, X_OK) == 0;

        if (o.hypervisor || (kvm && vmi_run)) {
            run.backend = "vm";
            run.backend_why = o.hypervisor ? "auto: --hypervisor given"
                                           : "auto: /dev/kvm works and "
                                             "vmi-run exists";
        } else {
            run.backend = "sim";
            run.backend_why = !kvm ? "auto: /dev/kvm not usable"
                                   : "auto: vmi-run was not built";
        }
    } else if (!strcmp(o.backend, "vm") || !strcmp(o.backend, "sim")) {
        run.backend = o.backend;
    } else {
        fputs(usage, stderr);
        return 2;
    }
    /*
     * Default profile: everything the simulator can drive; on the reference
     * vmi-run (started below with --pagetable) core and the page-table
     * profile; on another hypervisor core, unless --profile says more.
     */
    if (!o.profile)
        o.profile = !strcmp(run.backend, "sim") ? "all"
                    : o.hypervisor              ? "core"
                                                : "core+pagetable";
    if (parse_profile(o.profile, &run.profiles) != 0) {
        fprintf(stderr, "vmi-conform: unknown profile %s\n", o.profile);
        return 2;
    }
    run.profile_name = o.profile;
    run.fault = o.fault;
    printf("vmi-conform: OpenVMI %s, target host, profile %s, backend %s%s%s\n",
           run.spec_version, o.profile, run.backend,
           run.backend_why ? " (" : "", run.backend_why ? run.backend_why : "");
    if (run.backend_why)
        printf("vmi-conform: %s\n", run.backend_why);

    if (!strcmp(run.backend, "sim")) {
        if ((o.shared ? run_sim_shared(&run, &o)
                      : run_sim(&run, o.fault, o.quiet)) != 0)
            return 2;
    } else {
        if (!kvm_usable() && !o.hypervisor) {
            printf("vmi-conform: /dev/kvm is not usable; use --backend sim\n");
            return 77;
        }
        snprintf(vmcmd, sizeof(vmcmd), "%s --vcpus 4 --pagetable --quiet",
                 VMI_CONFORM_DEFAULT_VMI_RUN);
        run.hypervisor = o.hypervisor ? o.hypervisor : vmcmd;
        run.image = o.image ? o.image : VMI_CONFORM_DEFAULT_IMAGE;
        if (!run.image[0]) {
            fprintf(stderr, "vmi-conform: no conformance image built; "
                            "pass --image\n");
            return 2;
        }
        printf("vmi-conform: %s %s\n", run.hypervisor, run.image);
        if (o.mutation)
            return mutation_matrix(&run, &o);
        if (run_vm(&run, &o) != 0)
            return 2;
    }
    conform_finalize(&run);
    conform_write_text(&run, stdout);
    rc = conform_exit_status(&run);
    if (write_reports(&run, o.out) != 0)
        rc = 2;
    return rc;
}
