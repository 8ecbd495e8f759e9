/* SPDX-License-Identifier: MIT */
/* harness.c: checks, verdicts, result lines and the per-test driver. */
#include "vmi_conform.h"

/* ---- freestanding helpers ------------------------------------------------ */

/*
 * memset and memcpy exist in every C environment, freestanding included
 * (compilers emit calls to them); a guest kernel's are typically a single
 * rep stos/movs, which matters where guest kernel code is emulated.
 * noinline: callers never see memset's return value, so a kernel memset
 * that returns the wrong pointer (one that returned the end of the
 * buffer did) cannot move the harness's allocations.
 */
__attribute__((noinline)) void vmi_conform_memset(void *p, int c, size_t n)
{
    __builtin_memset(p, c, n);
}

__attribute__((noinline)) void vmi_conform_memcpy(void *d, const void *s,
                                                  size_t n)
{
    __builtin_memcpy(d, s, n);
}

size_t vmi_conform_strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

uint64_t vmi_conform_load64(const volatile uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

uint32_t vmi_conform_load32(const volatile uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

void vmi_conform_store64(volatile uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

uint64_t vmi_conform_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    while (n--) {
        h ^= *b++;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

void vmi_conform_puts(struct vmi_conform_buf *b, const char *s)
{
    while (*s) {
        if (b->len + 1 < b->cap)
            b->p[b->len++] = *s;
        s++;
    }
    if (b->cap)
        b->p[b->len < b->cap ? b->len : b->cap - 1] = 0;
}

void vmi_conform_putu(struct vmi_conform_buf *b, uint64_t v)
{
    char tmp[24];
    int i = 23;

    tmp[i] = 0;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    vmi_conform_puts(b, &tmp[i]);
}

void vmi_conform_puti(struct vmi_conform_buf *b, int64_t v)
{
    if (v < 0) {
        vmi_conform_puts(b, "-");
        vmi_conform_putu(b, 0 - (uint64_t)v);
    } else {
        vmi_conform_putu(b, (uint64_t)v);
    }
}

void vmi_conform_putx(struct vmi_conform_buf *b, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[20];
    int i = 19;

    tmp[i] = 0;
    do {
        tmp[--i] = hex[v & 15];
        v >>= 4;
    } while (v);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    vmi_conform_puts(b, &tmp[i]);
}

const char *vmi_conform_status_name(int64_t st)
{
    static const char *const names[] = {
        "VMI_OK",       "VMI_E_NOSYS",   "VMI_E_PERM",  "VMI_E_STATE",
        "VMI_E_NOTSUP", "VMI_E_INVAL",   "VMI_E_ALIGN", "VMI_E_FAULT",
        "VMI_E_RANGE",  "VMI_E_NOENT",   "VMI_E_BUSY",  "VMI_E_LIMIT",
        "VMI_E_AGAIN",  "VMI_E_VERSION",
    };
    int64_t v = -st;

    if (v >= 0 && v < (int64_t)(sizeof(names) / sizeof(names[0])))
        return names[v];
    return "?";
}

/* ---- checks ----------------------------------------------------------------
 */

static int same(const char *a, uint32_t alen, const char *b)
{
    uint32_t i;

    for (i = 0; i < alen; i++)
        if (b[i] != a[i])
            return 0;
    return b[alen] == 0;
}

static struct vmi_conform_clause_result *find_clause(struct vmi_conform_t *t,
                                                     const char *id)
{
    uint32_t i;

    for (i = 0; i < t->nclauses; i++)
        if (same(t->clause[i].id, t->clause[i].len, id))
            return &t->clause[i];
    return NULL;
}

static void record(struct vmi_conform_t *t, const char *clause, int ok,
                   const char *what, int line, const char *extra)
{
    struct vmi_conform_clause_result *c = find_clause(t, clause);
    struct vmi_conform_buf b;

    if (!c) {
        /* A check of an undeclared clause is a defect of the case. */
        if (!t->nclauses)
            return;
        c = &t->clause[0];
        ok = 0;
        b.p = c->detail;
        b.cap = sizeof(c->detail);
        b.len = 0;
        if (!c->failed) {
            vmi_conform_puts(&b, "check cites undeclared clause ");
            vmi_conform_puts(&b, clause);
        }
        c->failed++;
        return;
    }
    if (ok) {
        c->passed++;
        return;
    }
    if (!c->failed) {
        b.p = c->detail;
        b.cap = sizeof(c->detail);
        b.len = 0;
        vmi_conform_puts(&b, "line ");
        vmi_conform_putu(&b, (uint64_t)line);
        vmi_conform_puts(&b, ": ");
        vmi_conform_puts(&b, what);
        if (extra)
            vmi_conform_puts(&b, extra);
    }
    c->failed++;
}

int vmi_conform_check(struct vmi_conform_t *t, const char *clause, int ok,
                      const char *what, int line)
{
    record(t, clause, ok, what, line, NULL);
    return ok;
}

int vmi_conform_check_eq(struct vmi_conform_t *t, const char *clause,
                         int64_t got, int64_t want, const char *what, int line)
{
    char tmp[80];
    struct vmi_conform_buf b = {tmp, sizeof(tmp), 0};
    int ok = got == want;

    if (!ok) {
        vmi_conform_puts(&b, ": got ");
        vmi_conform_puti(&b, got);
        vmi_conform_puts(&b, " want ");
        vmi_conform_puti(&b, want);
    }
    record(t, clause, ok, what, line, ok ? NULL : tmp);
    return ok;
}

int vmi_conform_check_status(struct vmi_conform_t *t, const char *clause,
                             int64_t got, int64_t want, const char *what,
                             int line)
{
    char tmp[96];
    struct vmi_conform_buf b = {tmp, sizeof(tmp), 0};
    int ok = got == want;

    if (!ok) {
        vmi_conform_puts(&b, ": got ");
        vmi_conform_puts(&b, vmi_conform_status_name(got));
        vmi_conform_puts(&b, " (");
        vmi_conform_puti(&b, got);
        vmi_conform_puts(&b, ") want ");
        vmi_conform_puts(&b, vmi_conform_status_name(want));
    }
    record(t, clause, ok, what, line, ok ? NULL : tmp);
    return ok;
}

static void set_why(struct vmi_conform_t *t, const char *why)
{
    struct vmi_conform_buf b = {t->why, sizeof(t->why), 0};

    vmi_conform_puts(&b, why);
}

void vmi_conform_skip(struct vmi_conform_t *t, const char *why)
{
    t->outcome = VMI_CONFORM_V_SKIP;
    set_why(t, why);
}

void vmi_conform_na(struct vmi_conform_t *t, const char *why)
{
    t->outcome = VMI_CONFORM_V_NA;
    set_why(t, why);
}

/* ---- services
 * ---------------------------------------------------------------- */

void *vmi_conform_alloc(struct vmi_conform_t *t, uint32_t size, uint32_t align)
{
    uint32_t off = t->scratch_used;
    void *p;

    if (align < 8)
        align = 8;
    off = (off + align - 1) & ~(align - 1);
    if (off > t->scratch_len || size > t->scratch_len - off)
        return NULL;
    t->scratch_used = off + size;
    p = t->scratch + off;
    vmi_conform_memset(p, 0, size);
    return p;
}

uint64_t vmi_conform_gpa(struct vmi_conform_t *t, const void *p)
{
    return t->scratch_gpa + (uint64_t)((const uint8_t *)p - t->scratch);
}

int64_t vmi_conform_call(struct vmi_conform_t *t, uint32_t nr, uint64_t a0,
                         uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                         uint64_t *rets)
{
    uint64_t args[VMI_HC_MAX_ARGS] = {a0, a1, a2, a3, a4};
    uint64_t r[VMI_HC_MAX_RETS] = {0, 0};
    int64_t st = vmi_guest_call(t->g, nr, args, r);

    /* Every status the suite sees is one the call may give (VMI-STS-008);
     * only a violation is recorded, so counts stay those of the tests. */
    if (st < 0 &&
        (-st >= 32 || !((VMI_HC_COMMON_STATUSES | VMI_HC_STATUSES(nr)) &
                        (UINT32_C(1) << -st))))
        record(t, "VMI-STS-008", 0, "status listed for the call", __LINE__,
               vmi_conform_status_name(st));
    if (rets) {
        rets[0] = r[0];
        rets[1] = r[1];
    }
    return st;
}

uint64_t vmi_conform_time(struct vmi_conform_t *t)
{
    uint64_t r[2];

    if (vmi_conform_call(t, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, r) != 0)
        return 0;
    return r[0];
}

void vmi_conform_cpuid(struct vmi_conform_t *t, uint32_t leaf, uint32_t regs[4])
{
    t->be->cpuid(t->be->ctx, leaf, 0, regs);
}

void vmi_conform_cpuid_sub(struct vmi_conform_t *t, uint32_t leaf,
                           uint32_t subleaf, uint32_t regs[4])
{
    t->be->cpuid(t->be->ctx, leaf, subleaf, regs);
}

int vmi_conform_vcpu_fresh(struct vmi_conform_t *t, uint32_t *id)
{
    uint32_t n;

    /* Not consumed: a test that does not start it leaves it for others. */
    for (n = 1; n < t->run->vcpu_count; n++)
        if (!t->be->vcpu_is_started(t->be->ctx, n)) {
            *id = n;
            return 0;
        }
    return -1;
}

int vmi_conform_vcpu_start(struct vmi_conform_t *t, uint32_t *id)
{
    struct vmi_vcpu_start *st;
    uint32_t n;

    if (vmi_conform_vcpu_fresh(t, &n))
        return -1;
    st = vmi_conform_alloc(t, sizeof(*st), 64);
    if (!st)
        return -1;
    t->be->vcpu_state(t->be->ctx, n, st);
    if (vmi_conform_call(t, VMI_HC_VCPU_START, n, vmi_conform_gpa(t, st), 0, 0,
                         0, NULL) != 0)
        return -1;
    if (t->be->vcpu_started(t->be->ctx, n))
        return -1;
    *id = n;
    return 0;
}

int vmi_conform_vcpu_any(struct vmi_conform_t *t, uint32_t *id)
{
    struct vmi_conform_run *r = t->run;

    if (!r->worker && vmi_conform_vcpu_start(t, &r->worker))
        return -1;
    *id = r->worker;
    return 0;
}

int vmi_conform_vcpu_run(struct vmi_conform_t *t, uint32_t id,
                         vmi_conform_fn fn, void *arg)
{
    return t->be->vcpu_run(t->be->ctx, id, fn, t, arg);
}

const struct vmi_conform_sim_hooks *vmi_conform_sim(struct vmi_conform_t *t)
{
    return t->be->sim;
}

void *vmi_conform_sim_ctx(struct vmi_conform_t *t)
{
    return t->be->ctx;
}

/* ---- driver
 * -------------------------------------------------------------------- */

static void emit(struct vmi_conform_run *r, struct vmi_conform_buf *b,
                 int hashed)
{
    size_t i;

    /* One line: no control characters reach the console stream. */
    for (i = 0; i < b->len; i++)
        if ((unsigned char)b->p[i] < 0x20 || (unsigned char)b->p[i] > 0x7e)
            b->p[i] = '?';
    if (hashed) {
        r->hash = vmi_conform_fnv1a(r->hash, b->p, b->len);
        r->hash = vmi_conform_fnv1a(r->hash, "\n", 1);
        r->count++;
    }
    r->be->emit(r->be->ctx, b->p, b->len);
}

void vmi_conform_run_init(struct vmi_conform_run *r,
                          const struct vmi_conform_backend *be,
                          struct vmi_guest *g)
{
    vmi_conform_memset(r, 0, sizeof(*r));
    r->be = be;
    r->g = g;
    r->hash = VMI_CONFORM_FNV_INIT;
    r->vcpu_count = g->info.vcpu_count ? g->info.vcpu_count : 1;
    r->negotiated = g->version != 0;
}

void vmi_conform_run_info(struct vmi_conform_run *r, const char *key,
                          const char *value)
{
    char line[160];
    struct vmi_conform_buf b = {line, sizeof(line), 0};

    vmi_conform_puts(&b, "VMI-CONFORM INFO ");
    vmi_conform_puts(&b, key);
    vmi_conform_puts(&b, "=");
    vmi_conform_puts(&b, value);
    emit(r, &b, 0);
}

void vmi_conform_run_info_hex(struct vmi_conform_run *r, const char *key,
                              uint64_t value)
{
    char v[24];
    struct vmi_conform_buf b = {v, sizeof(v), 0};

    vmi_conform_putx(&b, value);
    vmi_conform_run_info(r, key, v);
}

void vmi_conform_run_end(struct vmi_conform_run *r)
{
    char line[96];
    struct vmi_conform_buf b = {line, sizeof(line), 0};
    char hex[20];
    struct vmi_conform_buf h = {hex, sizeof(hex), 0};

    vmi_conform_putx(&h, r->hash);
    vmi_conform_puts(&b, "VMI-CONFORM END count=");
    vmi_conform_putu(&b, r->count);
    vmi_conform_puts(&b, " hash=");
    vmi_conform_puts(&b, hex + 2);
    emit(r, &b, 0);
}

int vmi_conform_run_negotiate(struct vmi_conform_run *r)
{
    uint64_t granted = 0;
    int st;

    if (r->g->version)
        return 0;
    st = vmi_guest_negotiate(r->g, r->g->info.features, &granted);
    r->negotiated = st == 0;
    return st;
}

static void parse_clauses(struct vmi_conform_t *t, const char *s)
{
    while (*s && t->nclauses < VMI_CONFORM_MAX_CLAUSES) {
        uint32_t n = 0;

        while (*s == ' ')
            s++;
        while (s[n] && s[n] != ' ')
            n++;
        if (n) {
            t->clause[t->nclauses].id = s;
            t->clause[t->nclauses].len = n;
            t->nclauses++;
        }
        s += n;
    }
}

static const char *const feature_names[] = {
    "CLOCK", "EVENTS", "TIMER", "VCPU", "TLB", "MEM", "STEAL", "PT",
};

/* Clear paravirtual state a previous test may have left (shared VM). */
static void cleanup_vcpu(struct vmi_conform_t *t, void *arg)
{
    uint64_t f = t->g->features;
    struct vmi_event_record *drain = arg;
    /* A valid upcall vector: x86's lowest, or on aarch64 a free PPI. */
    uint64_t vec =
        (t->g->info.transports & VMI_TRANSPORT_HVC) ? 17 : VMI_X86_VECTOR_MIN;

    if (f & VMI_F_EVENTS) {
        /* Registering ORs host-side pending bits in; then drop them. */
        if (drain && vmi_conform_call(t, VMI_HC_EVENT_REGISTER,
                                      vmi_conform_gpa(t, drain), vec, 0, 0, 0,
                                      NULL) == 0)
            vmi_conform_store64(&drain->pending, 0);
        vmi_conform_call(t, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, vec, 0, 0, 0,
                         NULL);
    }
    if (f & VMI_F_CLOCK)
        vmi_conform_call(t, VMI_HC_CLOCK_REGISTER, VMI_GPA_NONE, 0, 0, 0, 0,
                         NULL);
    if (f & VMI_F_STEAL)
        vmi_conform_call(t, VMI_HC_STEAL_REGISTER, VMI_GPA_NONE, 0, 0, 0, 0,
                         NULL);
    /*
     * An upcall a test left pending in the local APIC (its interrupts were
     * disabled) is an interrupt deliverable to the vCPU, which would end
     * the next test's BLOCK with VMI_WAKE_INTERRUPT (VMI-EVT-043): take it
     * now, with no record registered that could make another due.
     */
    if (t->be->upcalls) {
        struct vmi_conform_upcalls u;

        t->be->upcalls(t->be->ctx, 1, &u);
    }
}

#define CLEANUP_TIMERS 16u

static void prologue(struct vmi_conform_t *t)
{
    struct vmi_conform_run *r = t->run;
    struct vmi_event_record *drain;
    uint32_t i, n;

    if (t->g->features & VMI_F_TIMER) {
        n = t->g->info.timer_count < CLEANUP_TIMERS ? t->g->info.timer_count
                                                    : CLEANUP_TIMERS;
        for (i = 0; i < n; i++)
            vmi_conform_call(t, VMI_HC_TIMER_CANCEL, i, 0, 0, 0, 0, NULL);
    }
    drain = vmi_conform_alloc(t, sizeof(*drain), 64);
    cleanup_vcpu(t, drain);
    if (r->worker)
        vmi_conform_vcpu_run(t, r->worker, cleanup_vcpu, drain);
    /* The test starts with an empty scratch area (alloc zeroes). */
    t->scratch_used = 0;
}

static void epilogue(struct vmi_conform_t *t)
{
    /*
     * Unregister everything before the scratch area is reused: a record
     * left registered would be written by the host into the next test.
     */
    cleanup_vcpu(t, NULL);
    if (t->run->worker)
        vmi_conform_vcpu_run(t, t->run->worker, cleanup_vcpu, NULL);
}

static void emit_results(struct vmi_conform_run *r, struct vmi_conform_t *t)
{
    static const char *const vname[] = {"pass", "fail", "skip", "na"};
    uint32_t i;

    for (i = 0; i < t->nclauses; i++) {
        struct vmi_conform_clause_result *c = &t->clause[i];
        char line[400];
        struct vmi_conform_buf b = {line, sizeof(line), 0};
        const char *detail = "";
        int v;
        char id[40];
        uint32_t n = c->len < sizeof(id) - 1 ? c->len : sizeof(id) - 1;

        vmi_conform_memcpy(id, c->id, n);
        id[n] = 0;
        if (t->outcome == VMI_CONFORM_V_SKIP) {
            v = 2;
            detail = t->why;
        } else if (t->outcome == VMI_CONFORM_V_NA) {
            v = 3;
            detail = t->why;
        } else if (c->failed) {
            v = 1;
            detail = c->detail;
        } else if (c->passed) {
            v = 0;
        } else {
            v = 1;
            detail = "no check of this clause ran";
        }
        vmi_conform_puts(&b, "VMI-CONFORM RESULT ");
        vmi_conform_puts(&b, t->test->name);
        vmi_conform_puts(&b, " ");
        vmi_conform_puts(&b, id);
        vmi_conform_puts(&b, " ");
        vmi_conform_puts(&b, vname[v]);
        if (v == 0) {
            vmi_conform_puts(&b, " checks=");
            vmi_conform_putu(&b, c->passed);
        } else {
            vmi_conform_puts(&b, " ");
            vmi_conform_puts(&b, detail);
        }
        emit(r, &b, 1);
    }
}

void vmi_conform_run_test(struct vmi_conform_run *r,
                          const struct vmi_conform_test *test, void *scratch,
                          uint64_t scratch_gpa, uint32_t scratch_len)
{
    /* Large: keep it off small guest stacks by making it static per run. */
    static struct vmi_conform_t t;
    const struct vmi_conform_backend *be = r->be;
    char line[160];
    struct vmi_conform_buf b = {line, sizeof(line), 0};
    uint64_t missing;
    uint32_t need = test->vcpus ? test->vcpus : 1;

    vmi_conform_memset(&t, 0, sizeof(t));
    t.test = test;
    t.run = r;
    t.be = be;
    t.g = r->g;
    t.v0 = be->vcpu(be->ctx, 0);
    t.scratch = scratch;
    t.scratch_gpa = scratch_gpa;
    t.scratch_len = scratch_len;
    parse_clauses(&t, test->clauses);

    vmi_conform_puts(&b, "VMI-CONFORM BEGIN ");
    vmi_conform_puts(&b, test->name);
    emit(r, &b, 0);

    missing = test->features & ~r->g->features;
    if ((test->flags & VMI_CONFORM_SIM) && !be->sim) {
        vmi_conform_na(&t, "needs the simulator's hooks");
    } else if ((test->flags & VMI_CONFORM_FRESH_VM) && !be->vm_per_test) {
        vmi_conform_na(&t, "needs a VM of its own");
    } else if ((test->flags & VMI_CONFORM_REAL) && be->sim) {
        vmi_conform_na(&t, "needs a real vCPU (registers, instructions)");
    } else if ((test->flags & VMI_CONFORM_HOST_EVENT) && !be->host_event) {
        vmi_conform_na(&t,
                       be->host_event_why
                           ? be->host_event_why
                           : "nothing stops or migrates this VM on request");
    } else if ((test->flags & VMI_CONFORM_USER) && !be->user_call) {
        vmi_conform_na(&t, be->user_why ? be->user_why
                                        : "backend cannot call from user mode");
    } else if ((test->flags & VMI_CONFORM_PRENEG) && r->g->version) {
        vmi_conform_na(&t, "VM already negotiated");
    } else if (!(test->flags & VMI_CONFORM_PRENEG) && !r->g->version) {
        vmi_conform_skip(&t, "negotiation failed");
    } else if (need > r->vcpu_count) {
        b.len = 0;
        vmi_conform_puts(&b, "needs ");
        vmi_conform_putu(&b, need);
        vmi_conform_puts(&b, " vCPUs");
        vmi_conform_skip(&t, line);
    } else if (missing && !(test->flags & VMI_CONFORM_PRENEG)) {
        unsigned i;

        b.len = 0;
        vmi_conform_puts(&b, "feature-not-offered:");
        for (i = 0; i < 8; i++)
            if (missing & (UINT64_C(1) << i)) {
                vmi_conform_puts(&b, " ");
                vmi_conform_puts(&b, feature_names[i]);
            }
        vmi_conform_skip(&t, line);
    } else {
        if (!(test->flags & VMI_CONFORM_PRENEG))
            prologue(&t);
        uint32_t fresh;

        if ((test->flags & VMI_CONFORM_FRESH_VCPU) &&
            vmi_conform_vcpu_fresh(&t, &fresh) != 0) {
            vmi_conform_skip(&t, "no never-started vCPU left");
        } else {
            test->run(&t);
        }
        if (r->g->version && !(test->flags & VMI_CONFORM_PRENEG))
            epilogue(&t);
    }
    emit_results(r, &t);
}
