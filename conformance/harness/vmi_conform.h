/* SPDX-License-Identifier: MIT */
/*
 * vmi_conform.h: the conformance harness API that every test case is
 * written against, once, for both backends (the in-process simulator and
 * the bootable guest image).
 *
 * Freestanding: case code uses no libc.  Everything a case needs comes
 * through its test context (struct vmi_conform_t): the guest library
 * instance (negotiated unless the test asks otherwise), a zeroed scratch
 * area of guest RAM for anything passed to the host by address, and the
 * backend's services.  Tests are described by static const tables (no
 * constructors, no linker sections); harness/suite.c lists the tables.
 *
 * Verdicts are per (test, clause): every check names the clause it covers
 * and must be one of the clauses the test declares.  A declared clause
 * with no check executed is a failure, never a pass.
 *
 * Results travel as console lines (the same on both backends):
 *   VMI-CONFORM BEGIN <test>
 *   VMI-CONFORM RESULT <test> <clause> pass|fail|skip|na <detail>
 *   VMI-CONFORM END count=<n> hash=<fnv1a-64 of the RESULT lines, hex>
 * The hash covers each RESULT line's bytes plus its '\n'.
 */
#ifndef VMI_CONFORM_H
#define VMI_CONFORM_H

#include <stddef.h>
#include <stdint.h>
#include <vmi/vmi.h>
#include <vmi_guest.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmi_conform_t;
struct vmi_conform_run;

/* Test flags. */
/* Runs before negotiation (fresh VM on the simulator; first on the image). */
#define VMI_CONFORM_PRENEG (1u << 0)
/* Needs the simulator's hooks: "not applicable" on other backends. */
#define VMI_CONFORM_SIM (1u << 1)
/* Needs calls from user mode (CPL3): backend op user_call. */
#define VMI_CONFORM_USER (1u << 2)
/* Simulator: create the VM with a small work_per_call (restart paths). */
#define VMI_CONFORM_SMALLWORK (1u << 3)
/* Needs a vCPU never started before (VCPU_START success paths). */
#define VMI_CONFORM_FRESH_VCPU (1u << 4)

/* Performs the VM's negotiation (runs after the other PRENEG tests). */
#define VMI_CONFORM_NEGOTIATES (1u << 5)
/* Needs a VM of its own (simulator: always; shared image VM: na). */
#define VMI_CONFORM_FRESH_VM (1u << 6)

/* Needs a real vCPU (registers, instructions): na on the simulator. */
#define VMI_CONFORM_REAL (1u << 7)
/*
 * Needs the hypervisor's own stop or migration (backend op host_event):
 * na where nothing outside the VM serves the request.
 */
#define VMI_CONFORM_HOST_EVENT (1u << 8)

/* Work per call the simulator uses for VMI_CONFORM_SMALLWORK tests. */
#define VMI_CONFORM_SMALL_WORK_PER_CALL 3u

/* One test: a static const descriptor. */
struct vmi_conform_test {
    const char *name;    /* behaviour, snake case, unique */
    const char *clauses; /* clause IDs covered, space separated */
    uint32_t profile;    /* VMI_PROFILE_* bit the test belongs to */
    uint32_t flags;      /* VMI_CONFORM_* */
    uint64_t features;   /* must be granted (else skip) */
    uint32_t vcpus;      /* minimum vCPU count of the VM (0 means 1) */
    uint32_t timeout_ms; /* wall-clock budget on a real VM */
    void (*run)(struct vmi_conform_t *t);
};

/* A table of tests (one per area file). */
struct vmi_conform_area {
    const char *name;
    const struct vmi_conform_test *tests;
    uint32_t count;
};

/* The whole suite (harness/suite.c). */
extern const struct vmi_conform_area *const vmi_conform_areas[];
extern const uint32_t vmi_conform_area_count;

typedef void (*vmi_conform_fn)(struct vmi_conform_t *t, void *arg);

/* Simulator-only hooks (NULL on every other backend). */
struct vmi_conform_sim_hooks {
    /* Let `ns` of virtual time pass and fire due timers. */
    void (*advance_ns)(void *ctx, uint64_t ns);
    /*
     * Save the VM's paravirtual state, let `downtime_ns` of host time pass,
     * restore it into a new host-lib VM (a migration).  0 or status.
     */
    int (*migrate)(void *ctx, uint64_t downtime_ns);
    /* Host-lib save/restore raw: blob into buf (cap), *len; 0 or status. */
    int (*save)(void *ctx, void *buf, size_t cap, size_t *len);
    /* The same in format version `format` (vmi_host_save_format). */
    int (*save_format)(void *ctx, uint32_t format, void *buf, size_t cap,
                       size_t *len);
    /*
     * vmi_host_restore into the running VM: a rejected blob must leave it
     * untouched; an accepted one replaces its state.  0 or status.
     */
    int (*restore)(void *ctx, const void *buf, size_t len);
    /* vmi_host_clock_update after `reads` more guest TSC reads. */
    void (*race_clock_update)(void *ctx, uint32_t reads, uint8_t flags);
    /* vmi_host_clock_update now. */
    void (*clock_update)(void *ctx, uint8_t flags);
    /* vmi_host_steal_account. */
    void (*steal_account)(void *ctx, uint32_t vcpu, uint64_t ns);
    /* vmi_host_take_upcall: 1 and *vector when one is due. */
    int (*take_upcall)(void *ctx, uint32_t vcpu, uint32_t *vector);
    /* Host-lib statistics: released pages, pinned tables, armed timers. */
    uint64_t (*stat)(void *ctx, int which);
    /* Last start_vcpu seen by the embedder: 1 and *st, 0 if none. */
    int (*last_start)(void *ctx, uint32_t vcpu, struct vmi_vcpu_start *st);
    /* Last flush_tlb: bitmap word 0 of vCPUs, range count, flags (as
     * host-lib passed them); returns the calls so far. */
    uint32_t (*flushes)(void *ctx, uint64_t *vcpus0, uint32_t *count,
                        uint32_t *flags);
    /* Console bytes received so far (*len), pointer to them. */
    const char *(*console)(void *ctx, size_t *len);
    /* After SHUTDOWN: 1, reason and status; 0 while running. */
    int (*shutdown)(void *ctx, uint32_t *reason, uint32_t *status);
    /* Released memory: 1 if the embedder was told to drop [gpa, +len). */
    int (*is_released)(void *ctx, uint64_t gpa);
    /* A call with a full 64-bit number (RAX) from the current vCPU. */
    int64_t (*call64)(void *ctx, uint64_t nr, const uint64_t *args,
                      uint64_t *rets);
    /*
     * Let `ns` pass without firing, then one vmi_host_timers_fire(budget);
     * returns how many fired.
     */
    unsigned (*fire)(void *ctx, uint64_t ns, unsigned budget);
    /* Start the VM again after SHUTDOWN REBOOT (a new boot). 0 or -1. */
    int (*reboot)(void *ctx);
    /*
     * In `ns` of host time, end the current vCPU's BLOCK (if it is in one
     * then) through vmi_host_block_end with `reason`: VMI_WAKE_INTERRUPT
     * (an interrupt became deliverable) or VMI_WAKE_SPURIOUS.
     */
    void (*wake_in)(void *ctx, uint64_t ns, uint32_t reason);
    /* From now on (on = 1) the embedder cannot give memory back. */
    void (*fail_reclaim)(void *ctx, int on);
    /*
     * The platform's own mechanisms: vcpu < 0 resets the whole VM
     * (vmi_host_reset; vCPU 0 goes on running the test); otherwise INIT
     * (started = 0) or INIT-SIPI (started = 1) of that vCPU
     * (vmi_host_vcpu_platform).  0 or a negative status.
     */
    int (*platform_reset)(void *ctx, int vcpu, int started);
};
#define VMI_CONFORM_STAT_RELEASED 0
#define VMI_CONFORM_STAT_PINNED 1
#define VMI_CONFORM_STAT_TIMERS 2
#define VMI_CONFORM_STAT_VIOLATIONS 3
/* Rejected restores that nonetheless changed the VM they targeted. */
#define VMI_CONFORM_STAT_REJECT_DIRTY 4

/* What a backend provides to the harness. */
/* What a real vCPU's upcall handler saw (vmi_conform_backend). */
struct vmi_conform_upcalls {
    uint32_t lapic; /* 1: CPUID 01H EDX bit 9 (local APIC) set */
    uint32_t reserved;
    uint64_t taken;          /* upcalls taken on this vCPU */
    uint64_t in_service;     /* ... whose vector was in the LAPIC's ISR */
    uint64_t not_in_service; /* ... whose vector was not (lapic only) */
};

struct vmi_conform_backend {
    const char *name; /* "sim", "vm" */
    void *ctx;
    /* Write one result line (no newline in line; the backend adds it). */
    void (*emit)(void *ctx, const char *line, size_t len);
    /* Native CPUID (with ECX = subleaf) / TSC as the guest sees them. */
    void (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
    uint64_t (*rdtsc)(void *ctx);
    /* Why user_call is NULL (for the "not applicable" detail), or NULL. */
    const char *user_why;
    /* A hypercall made from user mode (CPL3); NULL: not possible. */
    int64_t (*user_call)(void *ctx, uint64_t nr, const uint64_t *args,
                         uint64_t *rets);
    /* guest-lib per-vCPU struct of vCPU `id` (bound to the suite's g). */
    struct vmi_guest_vcpu *(*vcpu)(void *ctx, uint32_t id);
    /*
     * Secondary vCPUs.  vcpu_state fills an entry state that starts the
     * backend's worker on `id` with arg = id.  vcpu_started waits for the
     * worker to check in after a successful VCPU_START (0, or -1 when it
     * did not come up with the right arg).  vcpu_run runs fn on a started
     * worker and returns when fn returned (0, or -1 on timeout).
     * vcpu_is_started says whether the backend saw `id` start.
     */
    void (*vcpu_state)(void *ctx, uint32_t id, struct vmi_vcpu_start *st);
    int (*vcpu_started)(void *ctx, uint32_t id);
    int (*vcpu_run)(void *ctx, uint32_t id, vmi_conform_fn fn,
                    struct vmi_conform_t *t, void *arg);
    int (*vcpu_is_started)(void *ctx, uint32_t id);
    const struct vmi_conform_sim_hooks *sim;
    /*
     * Real x86 vCPU only (NULL elsewhere).  upcall_vector is the vector
     * the backend's interrupt handler serves; upcalls reports what that
     * handler saw on the calling vCPU since boot, after enabling
     * interrupts for a moment (so that a due upcall is taken) when
     * `window` is 1.
     */
    uint32_t upcall_vector;
    void (*upcalls)(void *ctx, int window, struct vmi_conform_upcalls *out);
    /*
     * aarch64 image only (NULL elsewhere): the GPA of vCPU `vcpu`'s GICv3
     * redistributor (RD_base), 0 when unknown.
     */
    uint64_t (*gic_redist)(void *ctx, uint32_t vcpu);
    /* First GPA above guest RAM (0 when unknown); RAM starts at 0 on
     * x86-64, at 0x40000000 on aarch64 (QEMU virt). */
    uint64_t ram_end;
    /* 1: every test gets a VM of its own (VMI_CONFORM_FRESH_VM tests run). */
    int vm_per_test;
    /*
     * The hypervisor's own stop or migration, done to the running VM from
     * outside it (VMI_CONFORM_HOST_*), with `downtime_ns` of host time
     * between the stop and the continuation.  `c` is the calling vCPU's
     * registered clock record: the op clears its GUEST_STOPPED flag, asks
     * for the event and returns once the VM runs again, which the flag
     * shows (VMI-CLK-037).  *gap_ns: the largest step of the VM clock the
     * caller saw meanwhile.  0, or -1 when nothing happened in time.  NULL
     * when nothing serves it (host_event_why says why).
     *   simulator: a save and restore (the simulator's only stop);
     *   vm: a request line "VMI-HOST-REQUEST stop|migrate downtime_ms=N"
     *       on the console, which a driver of the hypervisor serves
     *       (examples/qemu/tests/qemu_host_driver.py: QEMU's stop and cont,
     *       or a migration through QEMU's own stream); the image offers the
     *       op only when its command line says host_events=1.
     */
    int (*host_event)(void *ctx, int what, uint64_t downtime_ns,
                      struct vmi_clock_record *c, uint64_t *gap_ns);
    const char *host_event_why;
};
#define VMI_CONFORM_HOST_STOP 1
#define VMI_CONFORM_HOST_MIGRATE 2

#define VMI_CONFORM_MAX_CLAUSES 16
#define VMI_CONFORM_DETAIL 200

struct vmi_conform_clause_result {
    const char *id;
    uint32_t len;
    uint32_t passed;
    uint32_t failed;
    char detail[VMI_CONFORM_DETAIL];
};

/* The context of one running test. */
struct vmi_conform_t {
    const struct vmi_conform_test *test;
    struct vmi_conform_run *run;
    const struct vmi_conform_backend *be;
    struct vmi_guest *g;
    struct vmi_guest_vcpu *v0; /* the boot vCPU */
    /* Zeroed guest RAM for the test; page aligned. */
    uint8_t *scratch;
    uint64_t scratch_gpa;
    uint32_t scratch_len;
    uint32_t scratch_used;
    /* Verdict state (harness-owned). */
    uint32_t nclauses;
    uint32_t outcome; /* VMI_CONFORM_V_* for the whole test, or RUN */
    struct vmi_conform_clause_result clause[VMI_CONFORM_MAX_CLAUSES];
    char why[VMI_CONFORM_DETAIL]; /* skip / na reason */
};

#define VMI_CONFORM_V_RUN 0
#define VMI_CONFORM_V_SKIP 1
#define VMI_CONFORM_V_NA 2

/* ---- checks (each names its clause) ------------------------------------ */

/* Record a check of `clause`; returns ok.  `what` describes it. */
int vmi_conform_check(struct vmi_conform_t *t, const char *clause, int ok,
                      const char *what, int line);
int vmi_conform_check_eq(struct vmi_conform_t *t, const char *clause,
                         int64_t got, int64_t want, const char *what, int line);
int vmi_conform_check_status(struct vmi_conform_t *t, const char *clause,
                             int64_t got, int64_t want, const char *what,
                             int line);

#define VMI_CHECK(clause, cond)                                                \
    vmi_conform_check(t, (clause), !!(cond), #cond, __LINE__)
#define VMI_CHECK_EQ(clause, got, want)                                        \
    vmi_conform_check_eq(t, (clause), (int64_t)(got), (int64_t)(want),         \
                         #got " == " #want, __LINE__)
/* Status comparison: the detail names both statuses. */
#define VMI_CHECK_ST(clause, got, want)                                        \
    vmi_conform_check_status(t, (clause), (int64_t)(got), (int64_t)(want),     \
                             #got, __LINE__)
/* As above, but end the test when the check fails. */
#define VMI_REQUIRE(clause, cond)                                              \
    do {                                                                       \
        if (!VMI_CHECK(clause, cond))                                          \
            return;                                                            \
    } while (0)
#define VMI_REQUIRE_ST(clause, got, want)                                      \
    do {                                                                       \
        if (!VMI_CHECK_ST(clause, got, want))                                  \
            return;                                                            \
    } while (0)

/* End the test as skipped / not applicable (reason kept). */
void vmi_conform_skip(struct vmi_conform_t *t, const char *why);
void vmi_conform_na(struct vmi_conform_t *t, const char *why);

/* ---- services for cases -------------------------------------------------- */

/* Zeroed scratch memory (guest RAM) of `size` bytes aligned to `align`. */
void *vmi_conform_alloc(struct vmi_conform_t *t, uint32_t size, uint32_t align);
/* Guest-physical address of scratch memory. */
uint64_t vmi_conform_gpa(struct vmi_conform_t *t, const void *p);
/* Raw hypercall with up to five arguments; rets may be NULL. */
int64_t vmi_conform_call(struct vmi_conform_t *t, uint32_t nr, uint64_t a0,
                         uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                         uint64_t *rets);
/* The VM clock by TIME_READ (0 on error). */
uint64_t vmi_conform_time(struct vmi_conform_t *t);
/* CPUID through the backend. */
void vmi_conform_cpuid(struct vmi_conform_t *t, uint32_t leaf,
                       uint32_t regs[4]);
/* The same with ECX = subleaf. */
void vmi_conform_cpuid_sub(struct vmi_conform_t *t, uint32_t leaf,
                           uint32_t subleaf, uint32_t regs[4]);
/*
 * The lowest vCPU never started (1..count-1): 0 and *id, or -1 (none
 * left).  Not reserved: it stays fresh until a test starts it.
 */
int vmi_conform_vcpu_fresh(struct vmi_conform_t *t, uint32_t *id);
/*
 * Start the lowest never-started vCPU with VCPU_START at the backend's
 * worker entry and wait for it to check in: 0 and *id, or -1.  The run's
 * shared worker is not touched (see vmi_conform_vcpu_any).
 */
int vmi_conform_vcpu_start(struct vmi_conform_t *t, uint32_t *id);
/* A running secondary vCPU, started now if needed: 0 and *id, or -1. */
int vmi_conform_vcpu_any(struct vmi_conform_t *t, uint32_t *id);
/* Run fn on vCPU id (started); 0 or -1. */
int vmi_conform_vcpu_run(struct vmi_conform_t *t, uint32_t id,
                         vmi_conform_fn fn, void *arg);
/* Simulator hooks, or NULL; tests flagged VMI_CONFORM_SIM may assume them. */
const struct vmi_conform_sim_hooks *vmi_conform_sim(struct vmi_conform_t *t);
void *vmi_conform_sim_ctx(struct vmi_conform_t *t);

/* Freestanding helpers. */
void vmi_conform_memset(void *p, int c, size_t n);
void vmi_conform_memcpy(void *d, const void *s, size_t n);
size_t vmi_conform_strlen(const char *s);
/* Atomic helpers on shared records. */
uint64_t vmi_conform_load64(const volatile uint64_t *p);
uint32_t vmi_conform_load32(const volatile uint32_t *p);
void vmi_conform_store64(volatile uint64_t *p, uint64_t v);

/* ---- driving a run (backends) ---------------------------------------------
 */

/* Line writer state for one run: count and hash of RESULT lines. */
struct vmi_conform_run {
    const struct vmi_conform_backend *be;
    struct vmi_guest *g;
    uint32_t count;
    uint64_t hash;
    uint32_t vcpu_count; /* of the VM */
    uint32_t worker;     /* a started worker vCPU id, 0 if none */
    int negotiated;
};

void vmi_conform_run_init(struct vmi_conform_run *r,
                          const struct vmi_conform_backend *be,
                          struct vmi_guest *g);
/*
 * Run one test: prologue (per flags), the case, verdict lines.  scratch is
 * zeroed here.  Writes BEGIN and RESULT lines.
 */
void vmi_conform_run_test(struct vmi_conform_run *r,
                          const struct vmi_conform_test *test, void *scratch,
                          uint64_t scratch_gpa, uint32_t scratch_len);
/* Negotiate every offered feature (after the PRENEG tests); 0 or status. */
int vmi_conform_run_negotiate(struct vmi_conform_run *r);
/* Write an INFO line (key=value), not hashed. */
void vmi_conform_run_info(struct vmi_conform_run *r, const char *key,
                          const char *value);
void vmi_conform_run_info_hex(struct vmi_conform_run *r, const char *key,
                              uint64_t value);
/* Write the END line. */
void vmi_conform_run_end(struct vmi_conform_run *r);

/* FNV-1a 64 over bytes, continuing from h (start: VMI_CONFORM_FNV_INIT). */
#define VMI_CONFORM_FNV_INIT UINT64_C(0xcbf29ce484222325)
uint64_t vmi_conform_fnv1a(uint64_t h, const void *p, size_t n);

/* Small formatting into a bounded buffer (freestanding). */
struct vmi_conform_buf {
    char *p;
    size_t cap;
    size_t len;
};
void vmi_conform_puts(struct vmi_conform_buf *b, const char *s);
void vmi_conform_putu(struct vmi_conform_buf *b, uint64_t v);
void vmi_conform_puti(struct vmi_conform_buf *b, int64_t v);
void vmi_conform_putx(struct vmi_conform_buf *b, uint64_t v);
/* Name of a status ("VMI_E_RANGE"), "?" if unknown. */
const char *vmi_conform_status_name(int64_t st);

#ifdef __cplusplus
}
#endif
#endif /* VMI_CONFORM_H */
