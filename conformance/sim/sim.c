/* SPDX-License-Identifier: MIT */
/* sim.c: the simulator backend: host-lib + hosted guest-lib, virtual time. */
#define _GNU_SOURCE
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmi_host.h>

#define RAM_DEFAULT (UINT64_C(8) << 20)
#define CONSOLE_PAGE_GPA UINT64_C(0x1000)
#define PT_ROOT_GPA UINT64_C(0x2000)
#define SCRATCH_GPA UINT64_C(0x100000)
#define SCRATCH_LEN (UINT32_C(1) << 20)
#define CONSOLE_CAP (256u * 1024u)
#define ENTRY_TOKEN UINT64_C(0xFFFFFFFF80001000)
#define CALL_CYCLES 300
#define READ_CYCLES 7

struct vmi_sim {
    struct vmi_sim_config cfg;
    struct vmi_host_config hcfg;
    struct vmi_host_ops hops;
    struct vmi_host_vm *vm;
    uint8_t *ram;
    uint64_t ram_bytes;
    uint64_t tsc;
    uint32_t cur;
    uint32_t vcpus;
    struct vmi_guest g;
    struct vmi_guest_ops gops;
    struct vmi_guest_vcpu v[VMI_SIM_MAX_VCPUS];
    int started[VMI_SIM_MAX_VCPUS];
    struct vmi_vcpu_start start_state[VMI_SIM_MAX_VCPUS];
    int start_seen[VMI_SIM_MAX_VCPUS];
    uint32_t flush_calls;
    uint64_t flush_mask0;
    uint32_t flush_count, flush_flags;
    char *console;
    size_t console_len;
    uint8_t *released; /* one byte per page */
    int shutdown;
    uint64_t violations;
    const char *last_clause;
    uint32_t race_reads;
    uint32_t reads_since_call;
    uint8_t race_flags;
    uint64_t reject_dirty;
    int fail_reclaim; /* k_fail_reclaim: ops->reclaim answers -1 */
    /* A wake only the embedder sees (k_wake_in): reason, host ns; or 0. */
    uint32_t wake_reason;
    uint64_t wake_ns;
    struct vmi_conform_backend be;
    struct vmi_conform_sim_hooks hooks;
};

/* ---- virtual time -------------------------------------------------------- */

static uint64_t ns_to_cycles(uint64_t ns)
{
    /* Round up so that advancing by ns reaches at least ns. */
    unsigned __int128 c = (unsigned __int128)ns * VMI_SIM_TSC_HZ;

    return (uint64_t)((c + 999999999u) / 1000000000u);
}

static uint64_t h_now_ns(void *ctx)
{
    struct vmi_sim *s = ctx;

    return (uint64_t)((unsigned __int128)s->tsc * 1000000000u / VMI_SIM_TSC_HZ);
}

static uint64_t h_rdtsc(void *ctx)
{
    struct vmi_sim *s = ctx;

    return s->tsc;
}

static void fire_due(struct vmi_sim *s)
{
    if (!s->vm)
        return;
    /* Bounded per call, like a VMM; loop until none is due. */
    while (vmi_host_timers_fire(s->vm, 64) == 64)
        ;
}

static void advance(struct vmi_sim *s, uint64_t ns)
{
    s->tsc += ns_to_cycles(ns);
    fire_due(s);
}

/* ---- host-lib callbacks -------------------------------------------------- */

static void *h_map(void *ctx, uint64_t gpa, uint64_t len)
{
    struct vmi_sim *s = ctx;
    uint64_t end;

    if (__builtin_add_overflow(gpa, len, &end) || end > s->ram_bytes)
        return NULL;
    return s->ram + gpa;
}

static void h_kick(void *ctx, uint32_t vcpu)
{
    (void)ctx;
    (void)vcpu;
}

static void h_console(void *ctx, uint32_t vcpu, const char *buf, size_t len)
{
    struct vmi_sim *s = ctx;

    (void)vcpu;
    if (len > CONSOLE_CAP - s->console_len)
        len = CONSOLE_CAP - s->console_len;
    memcpy(s->console + s->console_len, buf, len);
    s->console_len += len;
}

static int h_release(void *ctx, uint64_t gpa, uint64_t len)
{
    struct vmi_sim *s = ctx;
    uint64_t p;

    /* Dropped backing, as MADV_DONTNEED: reads zero (VMI-MEM-014). */
    memset(s->ram + gpa, 0, len);
    for (p = gpa / 4096; p < (gpa + len) / 4096; p++)
        s->released[p] = 1;
    return 0;
}

static int h_reclaim(void *ctx, uint64_t gpa, uint64_t len)
{
    struct vmi_sim *s = ctx;
    uint64_t p;

    if (s->fail_reclaim)
        return -1;
    for (p = gpa / 4096; p < (gpa + len) / 4096; p++) {
        if (s->released[p])
            memset(s->ram + p * 4096, 0, 4096);
        s->released[p] = 0;
    }
    return 0;
}

static int h_start_vcpu(void *ctx, uint32_t caller, uint32_t vcpu,
                        const struct vmi_vcpu_start *st)
{
    struct vmi_sim *s = ctx;

    (void)caller;
    if (vcpu >= s->vcpus)
        return -1;
    s->start_state[vcpu] = *st;
    s->start_seen[vcpu] = 1;
    s->started[vcpu] = 1;
    return 0;
}

static void h_stop_vcpu(void *ctx, uint32_t caller, uint32_t vcpu)
{
    struct vmi_sim *s = ctx;

    (void)caller;
    if (vcpu < s->vcpus)
        s->started[vcpu] = 0;
}

static void h_flush_tlb(void *ctx, uint32_t caller, const uint64_t *vcpus,
                        const struct vmi_tlb_range *ranges, uint32_t count,
                        uint32_t flags)
{
    struct vmi_sim *s = ctx;

    (void)caller;
    (void)ranges;
    s->flush_calls++;
    s->flush_mask0 = vcpus[0];
    s->flush_count = count;
    s->flush_flags = flags;
}

static void h_violation(void *ctx, uint32_t vcpu, const char *clause,
                        const char *what)
{
    struct vmi_sim *s = ctx;

    (void)vcpu;
    (void)what;
    s->violations++;
    s->last_clause = clause;
}

/* ---- guest-lib ops ---------------------------------------------------------
 */

static uint64_t g_virt_to_phys(void *ctx, const void *va)
{
    struct vmi_sim *s = ctx;
    const uint8_t *p = va;

    if (p >= s->ram && p < s->ram + s->ram_bytes)
        return (uint64_t)(p - s->ram);
    /* Not guest RAM: an address the host must reject. */
    return UINT64_C(0x000E000000000000);
}

/*
 * The simulated processor: leaf 1 with the hypervisor bit and the vCPU's
 * initial APIC ID (EBX 31:24, its id: host-lib's default platform ids),
 * no leaf 0xB (leaf 0 reads zero), and host-lib's block.
 */
static void g_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf,
                    uint32_t regs[4])
{
    struct vmi_sim *s = ctx;

    memset(regs, 0, 4 * sizeof(regs[0]));
    if (leaf == 1) {
        regs[1] = s->cur << 24;
        regs[2] = 1u << 31; /* hypervisor present */
        return;
    }
    vmi_host_cpuid_sub(s->vm, s->cur, vmi_host_cpuid_base(), leaf, subleaf,
                       regs);
}

static uint64_t g_rdtsc(void *ctx)
{
    struct vmi_sim *s = ctx;

    s->tsc += READ_CYCLES;
    /*
     * A reader that never gets a consistent record (a host that leaves the
     * version odd) spins here forever: report it as a hang.
     */
    if (++s->reads_since_call > 1000000)
        s->cfg.on_hang(s->cfg.hang_ctx, "guest TSC read loop: the clock "
                                        "record never became consistent");
    if (s->race_reads && --s->race_reads == 0)
        /* The host rewrites the records in the middle of a guest read. */
        vmi_host_clock_update(s->vm, s->race_flags);
    return s->tsc;
}

static int64_t call(struct vmi_sim *s, uint64_t nr, const uint64_t *args,
                    uint64_t *rets, uint32_t user)
{
    struct vmi_host_call c;
    unsigned i, spins = 0;

    memset(&c, 0, sizeof(c));
    c.nr = nr;
    for (i = 0; i < VMI_HC_MAX_ARGS; i++)
        c.args[i] = args[i];
    /* The result registers hold the arguments until the host writes them. */
    c.rets[0] = args[0];
    c.rets[1] = args[1];
    c.user = user;
    s->tsc += CALL_CYCLES;
    s->reads_since_call = 0;
    fire_due(s);
    if (vmi_host_hypercall(s->vm, s->cur, &c) != 0) {
        rets[0] = rets[1] = 0;
        return -VMI_E_INVAL;
    }
    while (c.action == VMI_HOST_BLOCK) {
        uint64_t now, next, dl;

        if (vmi_host_block_check(s->vm, s->cur, &c))
            break;
        if (s->wake_reason && h_now_ns(s) >= s->wake_ns) {
            /* An interrupt became deliverable, or a spurious wake. */
            uint32_t why = s->wake_reason;

            s->wake_reason = 0;
            if (vmi_host_block_end(s->vm, s->cur, why, &c) == 1)
                break;
            continue;
        }
        now = vmi_host_clock_now(s->vm);
        next = vmi_host_next_deadline(s->vm);
        dl = c.deadline_ns < next ? c.deadline_ns : next;
        if (s->wake_reason) {
            /* The VM clock runs with host time here: same distance. */
            uint64_t in =
                h_now_ns(s) < s->wake_ns ? s->wake_ns - h_now_ns(s) : 1;

            if (dl == VMI_DEADLINE_NONE || dl - now > in)
                dl = now + in;
        }
        if (dl == VMI_DEADLINE_NONE || ++spins > 100000) {
            s->cfg.on_hang(s->cfg.hang_ctx, "BLOCK can never wake");
            break;
        }
        advance(s, dl > now ? dl - now : 1);
    }
    if (c.action == VMI_HOST_SHUTDOWN)
        s->shutdown = 1;
    /* VCPU_STOP: the caller is offline; the test's function just returns. */
    if (c.action == VMI_HOST_STOP)
        s->started[s->cur] = 0;
    rets[0] = c.rets[0];
    rets[1] = c.rets[1];
    return c.status;
}

static int64_t g_hypercall(void *ctx, uint64_t nr, const uint64_t *args,
                           uint64_t *rets)
{
    return call(ctx, nr, args, rets, 0);
}

/* ---- backend ops ------------------------------------------------------------
 */

static void b_emit(void *ctx, const char *line, size_t len)
{
    struct vmi_sim *s = ctx;

    s->cfg.emit(s->cfg.emit_ctx, line, len);
}

static void b_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf,
                    uint32_t regs[4])
{
    g_cpuid(ctx, leaf, subleaf, regs);
}

static uint64_t b_rdtsc(void *ctx)
{
    return g_rdtsc(ctx);
}

static int64_t b_user_call(void *ctx, uint64_t nr, const uint64_t *args,
                           uint64_t *rets)
{
    return call(ctx, nr, args, rets, 1);
}

static struct vmi_guest_vcpu *b_vcpu(void *ctx, uint32_t id)
{
    struct vmi_sim *s = ctx;

    return id < s->vcpus ? &s->v[id] : NULL;
}

static void b_vcpu_state(void *ctx, uint32_t id, struct vmi_vcpu_start *st)
{
    memset(st, 0, sizeof(*st));
    (void)ctx;
    st->entry_gva = ENTRY_TOKEN;
    st->stack_gva = UINT64_C(0xFFFFFFFF80200000) - (uint64_t)id * 0x4000;
    st->page_table_gpa = PT_ROOT_GPA;
    st->arg = id;
}

static int b_vcpu_started(void *ctx, uint32_t id)
{
    struct vmi_sim *s = ctx;

    if (id >= s->vcpus || !s->started[id])
        return -1;
    /* The "worker" checks in only if it got the entry point and its arg. */
    return s->start_state[id].entry_gva == ENTRY_TOKEN &&
                   s->start_state[id].arg == id
               ? 0
               : -1;
}

static int b_vcpu_run(void *ctx, uint32_t id, vmi_conform_fn fn,
                      struct vmi_conform_t *t, void *arg)
{
    struct vmi_sim *s = ctx;
    uint32_t saved = s->cur;

    if (id >= s->vcpus || !s->started[id])
        return -1;
    s->cur = id;
    fn(t, arg);
    s->cur = saved;
    return 0;
}

static int b_vcpu_is_started(void *ctx, uint32_t id)
{
    struct vmi_sim *s = ctx;

    return id == 0 || (id < s->vcpus && s->started[id]);
}

/* ---- hooks
 * -------------------------------------------------------------------- */

static void k_advance(void *ctx, uint64_t ns)
{
    advance(ctx, ns);
}

static int new_vm(struct vmi_sim *s, struct vmi_host_vm **out)
{
    char why[128];

    return vmi_host_vm_create(&s->hcfg, out, why, sizeof(why));
}

static int k_save(void *ctx, void *buf, size_t cap, size_t *len)
{
    struct vmi_sim *s = ctx;

    return vmi_host_save(s->vm, buf, cap, len);
}

static int k_save_format(void *ctx, uint32_t format, void *buf, size_t cap,
                         size_t *len)
{
    struct vmi_sim *s = ctx;

    return vmi_host_save_format(s->vm, format, buf, cap, len);
}

static int save_alloc(struct vmi_host_vm *vm, uint8_t **buf, size_t *len)
{
    size_t need = 0;

    if (vmi_host_save(vm, NULL, 0, &need) != 0 && need == 0)
        return -1;
    *buf = malloc(need);
    if (!*buf)
        return -1;
    if (vmi_host_save(vm, *buf, need, len) != 0) {
        free(*buf);
        return -1;
    }
    return 0;
}

static int k_restore(void *ctx, const void *buf, size_t len)
{
    struct vmi_sim *s = ctx;
    struct vmi_host_vm *nvm = NULL, *ref = NULL;
    uint8_t *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    char why[128];
    int st;

    if (new_vm(s, &nvm) != 0)
        return -VMI_E_LIMIT;
    st = vmi_host_restore(nvm, buf, len, why, sizeof(why));
    if (st == 0) {
        vmi_host_vm_destroy(s->vm);
        s->vm = nvm;
        return 0;
    }
    /* Rejected: the target must still be a pristine VM. */
    if (new_vm(s, &ref) == 0 && save_alloc(nvm, &a, &la) == 0 &&
        save_alloc(ref, &b, &lb) == 0) {
        if (la != lb || memcmp(a, b, la) != 0)
            s->reject_dirty++;
    }
    free(a);
    free(b);
    vmi_host_vm_destroy(ref);
    vmi_host_vm_destroy(nvm);
    return st;
}

static int k_migrate(void *ctx, uint64_t downtime_ns)
{
    struct vmi_sim *s = ctx;
    uint8_t *blob = NULL;
    size_t len = 0;
    int st;

    if (save_alloc(s->vm, &blob, &len) != 0)
        return -VMI_E_LIMIT;
    /* Host time passes while the VM is saved; the VM clock must not. */
    s->tsc += ns_to_cycles(downtime_ns);
    st = k_restore(s, blob, len);
    free(blob);
    return st;
}

/* The backend's host_event: a stop or a migration is a save and restore. */
static int k_host_event(void *ctx, int what, uint64_t downtime_ns,
                        struct vmi_clock_record *c, uint64_t *gap_ns)
{
    (void)what;
    __atomic_and_fetch(&c->flags, (uint8_t)~VMI_CLOCK_GUEST_STOPPED,
                       __ATOMIC_SEQ_CST);
    *gap_ns = 0;
    if (k_migrate(ctx, downtime_ns) != 0)
        return -1;
    return (c->flags & VMI_CLOCK_GUEST_STOPPED) ? 0 : -1;
}

static void k_race(void *ctx, uint32_t reads, uint8_t flags)
{
    struct vmi_sim *s = ctx;

    s->race_reads = reads;
    s->race_flags = flags;
}

static void k_clock_update(void *ctx, uint8_t flags)
{
    struct vmi_sim *s = ctx;

    vmi_host_clock_update(s->vm, flags);
}

static void k_steal(void *ctx, uint32_t vcpu, uint64_t ns)
{
    struct vmi_sim *s = ctx;

    vmi_host_steal_account(s->vm, vcpu, ns);
}

static int k_take_upcall(void *ctx, uint32_t vcpu, uint32_t *vector)
{
    struct vmi_sim *s = ctx;

    return vmi_host_take_upcall(s->vm, vcpu, vector);
}

static uint64_t k_stat(void *ctx, int which)
{
    struct vmi_sim *s = ctx;
    struct vmi_host_stats st;

    vmi_host_get_stats(s->vm, &st);
    switch (which) {
    case VMI_CONFORM_STAT_RELEASED:
        return st.released_pages;
    case VMI_CONFORM_STAT_PINNED:
        return st.pinned_tables;
    case VMI_CONFORM_STAT_TIMERS:
        return st.armed_timers;
    case VMI_CONFORM_STAT_VIOLATIONS:
        return s->violations;
    case VMI_CONFORM_STAT_REJECT_DIRTY:
        return s->reject_dirty;
    }
    return 0;
}

static int k_last_start(void *ctx, uint32_t vcpu, struct vmi_vcpu_start *st)
{
    struct vmi_sim *s = ctx;

    if (vcpu >= s->vcpus || !s->start_seen[vcpu])
        return 0;
    *st = s->start_state[vcpu];
    return 1;
}

static uint32_t k_flushes(void *ctx, uint64_t *vcpus0, uint32_t *count,
                          uint32_t *flags)
{
    struct vmi_sim *s = ctx;

    *vcpus0 = s->flush_mask0;
    *count = s->flush_count;
    *flags = s->flush_flags;
    return s->flush_calls;
}

static const char *k_console(void *ctx, size_t *len)
{
    struct vmi_sim *s = ctx;

    *len = s->console_len;
    return s->console;
}

static int k_shutdown(void *ctx, uint32_t *reason, uint32_t *status)
{
    struct vmi_sim *s = ctx;

    if (!s->shutdown)
        return 0;
    return vmi_host_shutdown_info(s->vm, reason, status) == 0;
}

static int k_is_released(void *ctx, uint64_t gpa)
{
    struct vmi_sim *s = ctx;

    return gpa < s->ram_bytes && s->released[gpa / 4096];
}

static int64_t k_call64(void *ctx, uint64_t nr, const uint64_t *args,
                        uint64_t *rets)
{
    return call(ctx, nr, args, rets, 0);
}

static unsigned k_fire(void *ctx, uint64_t ns, unsigned budget)
{
    struct vmi_sim *s = ctx;

    s->tsc += ns_to_cycles(ns);
    return vmi_host_timers_fire(s->vm, budget);
}

static void k_fail_reclaim(void *ctx, int on)
{
    ((struct vmi_sim *)ctx)->fail_reclaim = on;
}

/* The platform resets the VM (vCPU 0 runs on) or INITs/SIPIs one vCPU. */
static int k_platform_reset(void *ctx, int vcpu, int started)
{
    struct vmi_sim *s = ctx;

    if (vcpu < 0) {
        for (uint32_t i = 1; i < s->vcpus; i++)
            s->started[i] = 0;
        return vmi_host_reset(s->vm);
    }
    if ((uint32_t)vcpu >= s->vcpus)
        return -1;
    s->started[vcpu] = started;
    return vmi_host_vcpu_platform(s->vm, (uint32_t)vcpu, started);
}

static void k_wake_in(void *ctx, uint64_t ns, uint32_t reason)
{
    struct vmi_sim *s = ctx;

    s->wake_reason = reason;
    s->wake_ns = h_now_ns(s) + ns;
}

static int k_reboot(void *ctx)
{
    struct vmi_sim *s = ctx;
    struct vmi_host_vm *nvm = NULL;
    uint32_t i;

    /* A reboot is a new boot of the same machine: fresh host-lib state. */
    if (new_vm(s, &nvm) != 0)
        return -1;
    vmi_host_vm_destroy(s->vm);
    s->vm = nvm;
    s->shutdown = 0;
    for (i = 0; i < s->vcpus; i++)
        s->started[i] = 0;
    s->g.version = 0;
    s->g.features = 0;
    return 0;
}

/* ---- lifecycle
 * ------------------------------------------------------------------ */

static void default_hang(void *ctx, const char *why)
{
    (void)ctx;
    fprintf(stderr, "vmi-sim: hang: %s\n", why);
    fflush(NULL);
    _exit(3);
}

int vmi_sim_create(const struct vmi_sim_config *cfg, struct vmi_sim **out,
                   char *why, size_t why_len)
{
    struct vmi_sim *s = calloc(1, sizeof(*s));
    uint32_t i;

    *out = NULL;
    if (!s)
        return -1;
    s->cfg = *cfg;
    if (!s->cfg.on_hang)
        s->cfg.on_hang = default_hang;
    s->vcpus = cfg->vcpus ? cfg->vcpus : 4;
    if (s->vcpus > VMI_SIM_MAX_VCPUS)
        s->vcpus = VMI_SIM_MAX_VCPUS;
    s->ram_bytes = cfg->ram_bytes ? cfg->ram_bytes : RAM_DEFAULT;
    s->ram = aligned_alloc(4096, s->ram_bytes);
    s->released = calloc(s->ram_bytes / 4096, 1);
    s->console = malloc(CONSOLE_CAP);
    if (!s->ram || !s->released || !s->console)
        goto fail;
    memset(s->ram, 0, s->ram_bytes);
    /* Start the virtual TSC somewhere other than 0 (a booted machine). */
    s->tsc = UINT64_C(123456789);

    s->hops.map = h_map;
    s->hops.now_ns = h_now_ns;
    s->hops.rdtsc = h_rdtsc;
    s->hops.kick = h_kick;
    s->hops.console = h_console;
    s->hops.release = h_release;
    s->hops.reclaim = h_reclaim;
    s->hops.start_vcpu = h_start_vcpu;
    s->hops.stop_vcpu = h_stop_vcpu;
    s->hops.flush_tlb = h_flush_tlb;
    s->hops.violation = h_violation;
    s->hcfg.ops = &s->hops;
    s->hcfg.ctx = s;
    s->hcfg.vcpu_count = s->vcpus;
    s->hcfg.timer_count = cfg->timer_count ? cfg->timer_count : 64;
    s->hcfg.ram_bytes = s->ram_bytes;
    s->hcfg.tsc_hz = VMI_SIM_TSC_HZ;
    s->hcfg.features = cfg->features ? cfg->features : VMI_F_ALL_1_0;
    s->hcfg.transports = VMI_TRANSPORT_PORTIO;
    s->hcfg.port = 0x0520;
    s->hcfg.tsc_stable = 1;
    s->hcfg.strict = cfg->strict;
    s->hcfg.work_per_call = cfg->work_per_call;
    s->hcfg.max_pinned = 64;
    s->hcfg.max_released_extents = 64;
    s->hcfg.vendor =
        cfg->vendor ? cfg->vendor : "OpenVMI conformance simulator";
    if (vmi_host_vm_create(&s->hcfg, &s->vm, why, why_len) != 0)
        goto fail;
    /* A wall clock in 2026, as an embedder would set from its real time. */
    vmi_host_set_wall_offset(s->vm, INT64_C(1780000000000000000));

    s->gops.ctx = s;
    s->gops.virt_to_phys = g_virt_to_phys;
    s->gops.cpuid = g_cpuid;
    s->gops.rdtsc = g_rdtsc;
    s->gops.hypercall = g_hypercall;
    if (vmi_guest_init(&s->g, &s->gops, s->ram + CONSOLE_PAGE_GPA) != 0 ||
        vmi_guest_probe(&s->g) != 0) {
        snprintf(why, why_len, "guest-lib probe failed");
        goto fail;
    }
    for (i = 0; i < s->vcpus; i++)
        vmi_guest_vcpu_init(&s->v[i], &s->g, i);

    s->hooks.advance_ns = k_advance;
    s->hooks.migrate = k_migrate;
    s->hooks.save = k_save;
    s->hooks.save_format = k_save_format;
    s->hooks.restore = k_restore;
    s->hooks.race_clock_update = k_race;
    s->hooks.clock_update = k_clock_update;
    s->hooks.steal_account = k_steal;
    s->hooks.take_upcall = k_take_upcall;
    s->hooks.stat = k_stat;
    s->hooks.last_start = k_last_start;
    s->hooks.flushes = k_flushes;
    s->hooks.console = k_console;
    s->hooks.shutdown = k_shutdown;
    s->hooks.is_released = k_is_released;
    s->hooks.call64 = k_call64;
    s->hooks.fire = k_fire;
    s->hooks.reboot = k_reboot;
    s->hooks.wake_in = k_wake_in;
    s->hooks.fail_reclaim = k_fail_reclaim;
    s->hooks.platform_reset = k_platform_reset;

    s->be.name = "sim";
    s->be.ctx = s;
    s->be.emit = b_emit;
    s->be.cpuid = b_cpuid;
    s->be.rdtsc = b_rdtsc;
    s->be.user_call = b_user_call;
    s->be.vcpu = b_vcpu;
    s->be.vcpu_state = b_vcpu_state;
    s->be.vcpu_started = b_vcpu_started;
    s->be.vcpu_run = b_vcpu_run;
    s->be.vcpu_is_started = b_vcpu_is_started;
    s->be.sim = &s->hooks;
    s->be.host_event = k_host_event;
    s->be.ram_end = s->ram_bytes;
    s->be.vm_per_test = 1;
    *out = s;
    return 0;
fail:
    vmi_sim_destroy(s);
    return -1;
}

void vmi_sim_destroy(struct vmi_sim *s)
{
    if (!s)
        return;
    vmi_host_vm_destroy(s->vm);
    free(s->ram);
    free(s->released);
    free(s->console);
    free(s);
}

const struct vmi_conform_backend *vmi_sim_backend(struct vmi_sim *s)
{
    return &s->be;
}

struct vmi_guest *vmi_sim_guest(struct vmi_sim *s)
{
    return &s->g;
}

void *vmi_sim_scratch(struct vmi_sim *s, uint64_t *gpa, uint32_t *len)
{
    *gpa = SCRATCH_GPA;
    *len = SCRATCH_LEN;
    return s->ram + SCRATCH_GPA;
}

uint64_t vmi_sim_violations(struct vmi_sim *s, const char **last_clause)
{
    if (last_clause)
        *last_clause = s->last_clause;
    return s->violations;
}

int vmi_sim_run_test(const struct vmi_sim_config *base,
                     const struct vmi_conform_test *test)
{
    struct vmi_sim_config cfg = *base;
    struct vmi_conform_run run;
    struct vmi_sim *s;
    char why[160];
    uint64_t gpa;
    uint32_t len;
    void *scratch;

    if (test->flags & VMI_CONFORM_SMALLWORK)
        cfg.work_per_call = VMI_CONFORM_SMALL_WORK_PER_CALL;
    if (vmi_sim_create(&cfg, &s, why, sizeof(why)) != 0) {
        fprintf(stderr, "vmi-sim: cannot create the VM: %s\n", why);
        return -1;
    }
    vmi_conform_run_init(&run, &s->be, &s->g);
    if (!(test->flags & VMI_CONFORM_PRENEG))
        vmi_conform_run_negotiate(&run);
    scratch = vmi_sim_scratch(s, &gpa, &len);
    vmi_conform_run_test(&run, test, scratch, gpa, len);
    vmi_conform_run_end(&run);
    vmi_sim_destroy(s);
    return 0;
}

static void shared_pass(struct vmi_conform_run *r, struct vmi_sim *s,
                        const char *filter, uint32_t want, uint32_t mask)
{
    uint64_t gpa;
    uint32_t len, a, k;
    void *scratch = vmi_sim_scratch(s, &gpa, &len);

    for (a = 0; a < vmi_conform_area_count; a++)
        for (k = 0; k < vmi_conform_areas[a]->count; k++) {
            const struct vmi_conform_test *t = &vmi_conform_areas[a]->tests[k];

            if ((t->flags & mask) == want &&
                (!filter || strstr(t->name, filter)))
                vmi_conform_run_test(r, t, scratch, gpa, len);
        }
}

int vmi_sim_run_shared(const struct vmi_sim_config *cfg, const char *filter)
{
    struct vmi_conform_run run;
    struct vmi_sim *s;
    char why[160];

    if (vmi_sim_create(cfg, &s, why, sizeof(why)) != 0) {
        fprintf(stderr, "vmi-sim: cannot create the VM: %s\n", why);
        return -1;
    }
    s->be.vm_per_test = 0;
    vmi_conform_run_init(&run, &s->be, &s->g);
    shared_pass(&run, s, filter, VMI_CONFORM_PRENEG,
                VMI_CONFORM_PRENEG | VMI_CONFORM_NEGOTIATES);
    shared_pass(&run, s, filter, VMI_CONFORM_PRENEG | VMI_CONFORM_NEGOTIATES,
                VMI_CONFORM_PRENEG | VMI_CONFORM_NEGOTIATES);
    vmi_conform_run_negotiate(&run);
    shared_pass(&run, s, filter, 0, VMI_CONFORM_PRENEG);
    vmi_conform_run_end(&run);
    vmi_sim_destroy(s);
    return 0;
}
