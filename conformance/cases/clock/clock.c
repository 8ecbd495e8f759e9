/* SPDX-License-Identifier: MIT */
/* clock.c: cases for the clock record, TIME_READ, wall clock and steal time. */
#include "../cases.h"

TEST(clk_register_rejects_bad_arguments)
{
    struct vmi_clock_record *c = vmi_conform_alloc(t, 64, 32);
    uint64_t g = vmi_conform_gpa(t, c);
    uint64_t end = t->be->ram_end;

    VMI_CHECK_ST("VMI-CLK-023", CALL2(t, VMI_HC_CLOCK_REGISTER, g, 1, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-CLK-023",
                 CALL2(t, VMI_HC_CLOCK_REGISTER, g, UINT64_C(1) << 63, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-CLK-025", CALL2(t, VMI_HC_CLOCK_REGISTER, g + 8, 0, NULL),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-CLK-025",
                 CALL2(t, VMI_HC_CLOCK_REGISTER, g + 16, 0, NULL),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-CLK-026",
                 CALL2(t, VMI_HC_CLOCK_REGISTER, GPA_OUTSIDE, 0, NULL),
                 -VMI_E_FAULT);
    if (end)
        VMI_CHECK_ST("VMI-CLK-026",
                     CALL2(t, VMI_HC_CLOCK_REGISTER, end, 0, NULL),
                     -VMI_E_FAULT);
    /* Nothing was registered by the rejected calls. */
    VMI_CHECK_EQ("VMI-CLK-026", c->version, 0);
}

TEST(clk_register_writes_complete_even_record_at_once)
{
    struct vmi_clock_record *c = vmi_conform_alloc(t, 32, 32);
    uint32_t v;

    vmi_conform_memset(c, 0xA5, sizeof(*c));
    VMI_REQUIRE_ST(
        "VMI-CLK-027",
        CALL2(t, VMI_HC_CLOCK_REGISTER, vmi_conform_gpa(t, c), 0, NULL), 0);
    v = vmi_conform_load32(&c->version);
    VMI_CHECK("VMI-CLK-027", (v & 1) == 0);
    VMI_CHECK("VMI-CLK-027", c->tsc_to_system_mul != 0);
    VMI_CHECK_EQ("VMI-GEN-004", c->reserved0, 0);
    VMI_CHECK("VMI-GEN-004", c->reserved1[0] == 0 && c->reserved1[1] == 0);
    VMI_CHECK("VMI-CLK-006",
              (int8_t)c->tsc_shift >= -31 && (int8_t)c->tsc_shift <= 31);
    VMI_CHECK("VMI-CLK-040", c->tsc_to_system_mul != 0);
    VMI_CHECK_EQ("VMI-CLK-041", c->flags & (1u << 2), 0);
    VMI_CHECK_EQ("VMI-CLK-038", c->flags & VMI_CLOCK_GUEST_STOPPED, 0);
}

TEST(clk_record_and_time_read_agree)
{
    struct vmi_clock_record *c = cases_clock(t);
    uint64_t a, b, m;
    int i, ok = 1, ordered = 1;

    VMI_REQUIRE("VMI-CLK-031", c != NULL);
    for (i = 0; i < 20; i++) {
        if (cases_read_record(t, c, &a))
            break;
        m = vmi_conform_time(t);
        if (cases_read_record(t, c, &b))
            break;
        if (m + 1 < a || m > b + 1)
            ok = 0;
        if (b < a)
            ordered = 0;
    }
    VMI_CHECK("VMI-CLK-031", i == 20 && ok);
    VMI_CHECK("VMI-CLK-030", i == 20 && ok);
    VMI_CHECK("VMI-CLK-001", ordered);
    VMI_CHECK("VMI-CLK-004", i == 20);
}

TEST(clk_time_read_without_record_and_monotonic)
{
    uint64_t r[2], last = 0;
    int i, mono = 1, ok = 1;

    for (i = 0; i < 200; i++) {
        if (CALL0(t, VMI_HC_TIME_READ, r) != 0)
            ok = 0;
        if (r[0] < last)
            mono = 0;
        last = r[0];
    }
    VMI_CHECK("VMI-CLK-032", ok);
    VMI_CHECK("VMI-CLK-001", mono);
}

TEST(clk_record_reads_monotonic)
{
    struct vmi_clock_record *c = cases_clock(t);
    uint64_t ns, last = 0;
    int i, mono = 1;

    VMI_REQUIRE("VMI-CLK-001", c != NULL);
    for (i = 0; i < 500; i++) {
        if (cases_read_record(t, c, &ns))
            ns = vmi_conform_time(t);
        if (ns < last)
            mono = 0;
        last = ns;
    }
    VMI_CHECK("VMI-CLK-001", mono);
}

TEST(clk_unregister_stops_writes)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    struct vmi_clock_record *c = cases_clock(t), *d;
    struct vmi_clock_record copy;

    VMI_REQUIRE("VMI-CLK-024", c != NULL);
    VMI_CHECK_ST("VMI-CLK-024",
                 CALL2(t, VMI_HC_CLOCK_REGISTER, VMI_GPA_NONE, 0, NULL), 0);
    vmi_conform_memcpy(&copy, c, sizeof(copy));
    sim->clock_update(vmi_conform_sim_ctx(t), 0);
    VMI_CHECK("VMI-CLK-024",
              c->version == copy.version && c->system_time == copy.system_time);
    /* Moving the record: the old one is no longer written. */
    c = cases_clock(t);
    d = vmi_conform_alloc(t, 32, 32);
    VMI_REQUIRE("VMI-CLK-028", c != NULL && d != NULL);
    VMI_CHECK_ST(
        "VMI-CLK-028",
        CALL2(t, VMI_HC_CLOCK_REGISTER, vmi_conform_gpa(t, d), 0, NULL), 0);
    vmi_conform_memcpy(&copy, c, sizeof(copy));
    sim->clock_update(vmi_conform_sim_ctx(t), 0);
    sim->advance_ns(vmi_conform_sim_ctx(t), 1000000);
    VMI_CHECK("VMI-CLK-028",
              c->version == copy.version && c->system_time == copy.system_time);
    VMI_CHECK("VMI-CLK-028", d->version != 0 && (d->version & 1) == 0);
}

TEST(clk_update_bumps_version_by_even_steps)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    struct vmi_clock_record *c = cases_clock(t);
    uint32_t v0, v1, v2;

    VMI_REQUIRE("VMI-CLK-007", c != NULL);
    v0 = c->version;
    sim->clock_update(vmi_conform_sim_ctx(t), 0);
    v1 = c->version;
    sim->clock_update(vmi_conform_sim_ctx(t), 0);
    v2 = c->version;
    VMI_CHECK("VMI-CLK-007", v1 != v0 && v2 != v1);
    VMI_CHECK("VMI-CLK-008", (v1 & 1) == 0 && (v2 & 1) == 0);
    VMI_CHECK("VMI-CLK-009", v1 - v0 == 2 && v2 - v1 == 2);
}

static void worker_clock_register(struct vmi_conform_t *t, void *arg)
{
    CALL2(t, VMI_HC_CLOCK_REGISTER,
          arg ? vmi_conform_gpa(t, arg) : VMI_GPA_NONE, 0, NULL);
}

/*
 * A reader on one vCPU reads another vCPU's record (as Linux's vDSO reads
 * vCPU 0's) while the host rewrites it: the owner does not run, so the host
 * may write (VMI-CLK-039), and the reader's seqlock keeps it consistent.
 */
TEST(clk_read_racing_an_update_stays_monotonic)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    struct vmi_clock_record *c = vmi_conform_alloc(t, sizeof(*c), 32);
    uint64_t ns, last = 0;
    uint32_t id;
    int i, mono = 1;

    VMI_REQUIRE("VMI-CLK-001", c != NULL);
    VMI_REQUIRE("VMI-CLK-001", vmi_conform_vcpu_any(t, &id) == 0);
    VMI_REQUIRE("VMI-CLK-001",
                vmi_conform_vcpu_run(t, id, worker_clock_register, c) == 0);
    VMI_REQUIRE("VMI-CLK-001", c->tsc_to_system_mul != 0);
    for (i = 0; i < 20; i++) {
        /* The host rewrites the record between the reader's two reads. */
        sim->race_clock_update(vmi_conform_sim_ctx(t), 1, 0);
        if (cases_read_record(t, c, &ns))
            ns = vmi_conform_time(t);
        if (ns < last)
            mono = 0;
        last = ns;
    }
    VMI_CHECK("VMI-CLK-001", mono);
    VMI_CHECK("VMI-CLK-008", (c->version & 1) == 0);
    vmi_conform_vcpu_run(t, id, worker_clock_register, NULL);
}

/*
 * A record is valid for 2^(63 - max(tsc_shift, 0)) ticks (about 97 years
 * at the simulator's 3 GHz): after the VM runs longer than that, the record
 * the vCPU finds after its next exit has been rewritten.
 */
TEST(clk_record_rewritten_before_its_bound)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_clock_record *c = cases_clock(t);
    uint64_t bound, ticks, ns, rec, tr[2];
    int8_t shift;

    VMI_REQUIRE("VMI-CLK-042", c != NULL);
    shift = c->tsc_shift;
    bound = UINT64_C(1) << (63 - (shift > 0 ? shift : 0));
    ticks = bound + bound / 4;
    ns = vmi_guest_tsc_to_ns(ticks, c->tsc_to_system_mul, shift);
    sim->advance_ns(ctx, ns);
    VMI_REQUIRE_ST("VMI-CLK-042", CALL0(t, VMI_HC_TIME_READ, tr), 0);
    VMI_CHECK("VMI-CLK-042",
              t->be->rdtsc(t->be->ctx) - c->tsc_timestamp < bound);
    VMI_CHECK("VMI-CLK-040", cases_read_record(t, c, &rec) == 0 &&
                                 rec + 1 >= tr[0] &&
                                 rec - tr[0] < UINT64_C(1000000000));
}

TEST(clk_stable_flag_set_when_host_guarantees)
{
    struct vmi_clock_record *c = cases_clock(t);

    /* The simulator's vCPUs share one virtual TSC: stable. */
    VMI_REQUIRE("VMI-CLK-017", c != NULL);
    VMI_CHECK("VMI-CLK-017", c->flags & VMI_CLOCK_TSC_STABLE);
}

TEST(clk_migration_sets_guest_stopped_and_freezes_clock)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    struct vmi_clock_record *c = cases_clock(t);
    uint64_t before, after, rec;

    VMI_REQUIRE("VMI-CLK-037", c != NULL);
    before = vmi_conform_time(t);
    VMI_REQUIRE("VMI-CLK-003", sim->migrate(vmi_conform_sim_ctx(t),
                                            UINT64_C(30000000000)) == 0);
    after = vmi_conform_time(t);
    VMI_CHECK("VMI-CLK-003", after >= before);
    VMI_CHECK("VMI-CLK-003", after - before < UINT64_C(1000000000));
    VMI_CHECK("VMI-CLK-037", c->flags & VMI_CLOCK_GUEST_STOPPED);
    VMI_CHECK("VMI-CLK-037", (c->version & 1) == 0);
    VMI_CHECK("VMI-CLK-040", c->tsc_to_system_mul != 0);
    VMI_CHECK_EQ("VMI-CLK-041", c->flags & (1u << 2), 0);
    VMI_CHECK("VMI-CLK-001", cases_read_record(t, c, &rec) == 0 &&
                                 rec >= before && rec + 1 >= after);
    /* Still set over a rewrite that is no stop, until this vCPU registers
     * again. */
    sim->clock_update(vmi_conform_sim_ctx(t), 0);
    VMI_CHECK("VMI-CLK-037", c->flags & VMI_CLOCK_GUEST_STOPPED);
    VMI_CHECK_ST(
        "VMI-CLK-038",
        CALL2(t, VMI_HC_CLOCK_REGISTER, vmi_conform_gpa(t, c), 0, NULL), 0);
    VMI_CHECK_EQ("VMI-CLK-038", c->flags & VMI_CLOCK_GUEST_STOPPED, 0);
}

/*
 * The pvclock way (Linux): the guest clears GUEST_STOPPED in its own record
 * with one read-modify-write instruction; later rewrites that are no stop
 * keep it clear, the next stop sets it again, and nothing else in the
 * record is disturbed.
 */
TEST(clk_guest_clear_of_stopped_kept_until_next_stop)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_clock_record *c = cases_clock(t);
    uint8_t stable;
    int i;

    VMI_REQUIRE("VMI-CLK-037", c != NULL);
    stable = c->flags & VMI_CLOCK_TSC_STABLE;
    VMI_REQUIRE("VMI-CLK-037", sim->migrate(ctx, UINT64_C(2000000000)) == 0);
    VMI_CHECK("VMI-CLK-037", c->flags & VMI_CLOCK_GUEST_STOPPED);
    __atomic_and_fetch(&c->flags, (uint8_t)~VMI_CLOCK_GUEST_STOPPED,
                       __ATOMIC_RELAXED);
    for (i = 0; i < 3; i++) {
        sim->clock_update(ctx, 0);
        VMI_CHECK_EQ("VMI-CLK-038", c->flags & VMI_CLOCK_GUEST_STOPPED, 0);
        VMI_CHECK_EQ("VMI-CLK-038", c->flags & VMI_CLOCK_TSC_STABLE, stable);
    }
    sim->clock_update(ctx, VMI_CLOCK_GUEST_STOPPED);
    VMI_CHECK("VMI-CLK-037", c->flags & VMI_CLOCK_GUEST_STOPPED);
    __atomic_and_fetch(&c->flags, (uint8_t)~VMI_CLOCK_GUEST_STOPPED,
                       __ATOMIC_RELAXED);
    VMI_REQUIRE("VMI-CLK-037", sim->migrate(ctx, UINT64_C(1000000000)) == 0);
    VMI_CHECK("VMI-CLK-037", c->flags & VMI_CLOCK_GUEST_STOPPED);
}

/*
 * The hypervisor's own stop, done from outside the VM (QEMU's stop and cont
 * through its driver; a save and restore on the simulator): the record
 * shows GUEST_STOPPED when the VM runs again, the reference clock does not
 * count the 2 s stop (no timer reaches its deadline during it), and the
 * guest's clear of the flag holds until the next stop.
 */
TEST(clk_host_stop_sets_guest_stopped_until_cleared)
{
    struct vmi_event_record *e = cases_events(t, 40);
    struct vmi_clock_record *c = cases_clock(t);
    const uint64_t stop_ns = UINT64_C(2000000000);
    uint64_t gap = 0, dl, r[2];
    int i;

    VMI_REQUIRE("VMI-CLK-037", c != NULL && e != NULL);
    dl = vmi_conform_time(t) + stop_ns / 2;
    VMI_REQUIRE_ST("VMI-TMR-023",
                   CALL5(t, VMI_HC_TIMER_ARM, 6, dl, 0, 14, 0, NULL), 0);
    VMI_REQUIRE("VMI-CLK-037",
                t->be->host_event(t->be->ctx, VMI_CONFORM_HOST_STOP, stop_ns, c,
                                  &gap) == 0);
    VMI_CHECK("VMI-CLK-037", c->flags & VMI_CLOCK_GUEST_STOPPED);
    VMI_CHECK("VMI-TMR-023", gap < stop_ns / 2);
    /* Before its deadline the timer has not fired, stop or no stop. */
    VMI_CHECK("VMI-TMR-023", vmi_conform_time(t) >= dl ||
                                 !(cases_pending(e) & (UINT64_C(1) << 14)));
    /* The guest clears the flag (pvclock's way); it stays clear. */
    __atomic_and_fetch(&c->flags, (uint8_t)~VMI_CLOCK_GUEST_STOPPED,
                       __ATOMIC_SEQ_CST);
    for (i = 0; i < 5; i++) {
        CALL2(t, VMI_HC_BLOCK, vmi_conform_time(t) + 10000000, 0, r);
        CALL0(t, VMI_HC_TIME_READ, r);
        VMI_CHECK_EQ("VMI-CLK-038", c->flags & VMI_CLOCK_GUEST_STOPPED, 0);
    }
    CALL1(t, VMI_HC_TIMER_CANCEL, 6, r);
    cases_clear(e, UINT64_C(1) << 14);
    /* The next stop sets it again. */
    VMI_REQUIRE("VMI-CLK-037",
                t->be->host_event(t->be->ctx, VMI_CONFORM_HOST_STOP,
                                  stop_ns / 10, c, &gap) == 0);
    VMI_CHECK("VMI-CLK-037", c->flags & VMI_CLOCK_GUEST_STOPPED);
}

TEST(wck_offset_gives_plausible_wall_clock)
{
    uint64_t r[2], r2[2];

    VMI_REQUIRE_ST("VMI-WCK-001", CALL0(t, VMI_HC_TIME_READ, r), 0);
    VMI_REQUIRE_ST("VMI-WCK-001", CALL0(t, VMI_HC_TIME_READ, r2), 0);
    /* After 2020-01-01 and before 2200: a UTC wall clock, not zero. */
    VMI_CHECK("VMI-WCK-001", r[0] + r[1] > UINT64_C(1577836800000000000) &&
                                 r[0] + r[1] < UINT64_C(7258118400000000000));
    VMI_CHECK("VMI-WCK-001",
              r2[0] + r2[1] >= r[0] + r[1] ||
                  (r[0] + r[1]) - (r2[0] + r2[1]) < UINT64_C(1000000000));
}

/* ---- steal time ------------------------------------------------------------
 */

TEST(stl_register_rejects_bad_arguments)
{
    struct vmi_steal_record *s = vmi_conform_alloc(t, 128, 64);
    uint64_t g = vmi_conform_gpa(t, s);

    VMI_CHECK_ST("VMI-STL-001", CALL2(t, VMI_HC_STEAL_REGISTER, g, 1, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-STL-003",
                 CALL2(t, VMI_HC_STEAL_REGISTER, g + 32, 0, NULL),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-STL-004",
                 CALL2(t, VMI_HC_STEAL_REGISTER, GPA_OUTSIDE, 0, NULL),
                 -VMI_E_FAULT);
    VMI_CHECK_ST(
        "VMI-STL-004",
        CALL2(t, VMI_HC_STEAL_REGISTER, UINT64_C(0xFFFFFFFFFFFFFFC0), 0, NULL),
        -VMI_E_FAULT);
    VMI_CHECK_ST("VMI-STL-002",
                 CALL2(t, VMI_HC_STEAL_REGISTER, VMI_GPA_NONE, 0, NULL), 0);
}

TEST(stl_register_writes_zeroed_even_record)
{
    struct vmi_steal_record *s = vmi_conform_alloc(t, 64, 64);

    vmi_conform_memset(s, 0x5A, sizeof(*s));
    VMI_REQUIRE_ST(
        "VMI-STL-012",
        CALL2(t, VMI_HC_STEAL_REGISTER, vmi_conform_gpa(t, s), 0, NULL), 0);
    /* The vCPU's steal time so far (not known here), not the 0x5A fill. */
    VMI_CHECK("VMI-STL-012", s->steal_ns != UINT64_C(0x5A5A5A5A5A5A5A5A));
    VMI_CHECK_EQ("VMI-STL-012", s->version & 1, 0);
    VMI_CHECK("VMI-GEN-004", s->reserved0[0] == 0 && s->reserved1[0] == 0 &&
                                 s->reserved1[10] == 0);
}

TEST(stl_accounted_time_accumulates)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    struct vmi_steal_record *s = vmi_conform_alloc(t, 64, 64);
    uint64_t base;
    uint32_t v0;

    VMI_REQUIRE_ST(
        "VMI-STL-012",
        CALL2(t, VMI_HC_STEAL_REGISTER, vmi_conform_gpa(t, s), 0, NULL), 0);
    base = s->steal_ns;
    v0 = s->version;
    sim->steal_account(vmi_conform_sim_ctx(t), 0, 5000);
    VMI_CHECK_EQ("VMI-STL-008", s->steal_ns, base + 5000);
    VMI_CHECK("VMI-STL-006", (s->version & 1) == 0 && s->version - v0 == 2);
    sim->steal_account(vmi_conform_sim_ctx(t), 0, 7);
    VMI_CHECK_EQ("VMI-STL-007", s->steal_ns, base + 5007);
    /* Unregistered: no more writes. */
    VMI_CHECK_ST("VMI-STL-002",
                 CALL2(t, VMI_HC_STEAL_REGISTER, VMI_GPA_NONE, 0, NULL), 0);
    sim->steal_account(vmi_conform_sim_ctx(t), 0, 100);
    VMI_CHECK_EQ("VMI-STL-002", s->steal_ns, base + 5007);
    /* Registered again (Linux does on CPU online): cumulative, the time
     * accounted meanwhile included, never back to zero. */
    VMI_CHECK_ST(
        "VMI-STL-012",
        CALL2(t, VMI_HC_STEAL_REGISTER, vmi_conform_gpa(t, s), 0, NULL), 0);
    VMI_CHECK_EQ("VMI-STL-012", s->steal_ns, base + 5107);
}

/* The skew bound of leaf B+7 ECX (VMI-CLK-045); 0 without the leaf. */
static uint64_t clock_skew(struct vmi_conform_t *t)
{
    uint32_t r[4] = {0, 0, 0, 0}, b = cases_cpuid_base(t);

    if (!b)
        return 0;
    vmi_conform_cpuid(t, b + VMI_CPUID_SIGNATURE, r);
    if (r[0] < b + VMI_CPUID_TIMING)
        return 0;
    vmi_conform_cpuid(t, b + VMI_CPUID_TIMING, r);
    return r[2];
}

/* TIME_READ (the reference clock) bracketed by reads of record c. */
static int brackets(struct vmi_conform_t *t, const struct vmi_clock_record *c,
                    uint64_t skew)
{
    uint64_t x, m, y, r[2];

    for (int i = 0; i < 20; i++) {
        if (cases_read_record(t, c, &x) || CALL0(t, VMI_HC_TIME_READ, r) ||
            cases_read_record(t, c, &y))
            return 0;
        m = r[0];
        if (m + 1 + skew < x || m > y + 1 + skew)
            return 0;
    }
    return 1;
}

struct ref_arg {
    uint64_t skew, time_read;
    int ok;
};

/* On another vCPU: its own record reads the reference clock too. */
static void reference_on_vcpu(struct vmi_conform_t *t, void *arg)
{
    struct ref_arg *a = arg;
    struct vmi_clock_record *c = cases_clock(t);
    uint64_t r[2] = {0, 0};

    a->ok = c && brackets(t, c, a->skew);
    if (CALL0(t, VMI_HC_TIME_READ, r) == 0)
        a->time_read = r[0];
}

TEST(clk_every_vcpu_reads_one_reference_clock)
{
    struct vmi_clock_record *c = cases_clock(t);
    struct ref_arg a = {clock_skew(t), 0, 0};
    uint64_t r[2] = {0, 0}, before, after;
    uint32_t id;

    VMI_REQUIRE("VMI-CLK-045", c != NULL);
    /* One TSC, one line: no skew at all (leaf B+7 ECX is 0). */
    if (c->flags & VMI_CLOCK_TSC_STABLE)
        VMI_CHECK_EQ("VMI-DSC-032", a.skew, 0);
    VMI_CHECK("VMI-CLK-045", brackets(t, c, a.skew));
    VMI_REQUIRE("VMI-CLK-044", vmi_conform_vcpu_any(t, &id) == 0);
    VMI_REQUIRE_ST("VMI-CLK-044", CALL0(t, VMI_HC_TIME_READ, r), 0);
    before = r[0];
    VMI_REQUIRE("VMI-CLK-044",
                vmi_conform_vcpu_run(t, id, reference_on_vcpu, &a) == 0);
    VMI_REQUIRE_ST("VMI-CLK-044", CALL0(t, VMI_HC_TIME_READ, r), 0);
    after = r[0];
    VMI_CHECK("VMI-CLK-045", a.ok);
    /* The announced ECX is a true bound on the other vCPU's record too. */
    VMI_CHECK("VMI-DSC-032", a.ok);
    /* TIME_READ on the other vCPU falls between two on this one. */
    VMI_CHECK("VMI-CLK-044", before <= a.time_read && a.time_read <= after);
}

#define CLK(name, cl, fl, feat)                                                \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, (fl), (feat), 1, 2000, name               \
    }

static const struct vmi_conform_test tests[] = {
    {"clk_every_vcpu_reads_one_reference_clock",
     "VMI-CLK-044 VMI-CLK-045 VMI-DSC-032", VMI_PROFILE_CORE, 0,
     VMI_F_CLOCK | VMI_F_VCPU, 2, 3000,
     clk_every_vcpu_reads_one_reference_clock},
    CLK(clk_register_rejects_bad_arguments,
        "VMI-CLK-023 VMI-CLK-025 VMI-CLK-026", 0, VMI_F_CLOCK),
    CLK(clk_register_writes_complete_even_record_at_once,
        "VMI-CLK-027 VMI-CLK-006 VMI-CLK-040 VMI-CLK-041 VMI-CLK-038 "
        "VMI-GEN-004",
        0, VMI_F_CLOCK),
    CLK(clk_record_and_time_read_agree,
        "VMI-CLK-001 VMI-CLK-004 VMI-CLK-030 VMI-CLK-031", 0, VMI_F_CLOCK),
    CLK(clk_time_read_without_record_and_monotonic, "VMI-CLK-001 VMI-CLK-032",
        0, VMI_F_CLOCK),
    CLK(clk_record_reads_monotonic, "VMI-CLK-001", 0, VMI_F_CLOCK),
    CLK(clk_unregister_stops_writes, "VMI-CLK-024 VMI-CLK-028", VMI_CONFORM_SIM,
        VMI_F_CLOCK),
    CLK(clk_update_bumps_version_by_even_steps,
        "VMI-CLK-007 VMI-CLK-008 VMI-CLK-009", VMI_CONFORM_SIM, VMI_F_CLOCK),
    {"clk_read_racing_an_update_stays_monotonic", "VMI-CLK-001 VMI-CLK-008",
     VMI_PROFILE_CORE, VMI_CONFORM_SIM, VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_VCPU,
     2, 2000, clk_read_racing_an_update_stays_monotonic},
    CLK(clk_record_rewritten_before_its_bound, "VMI-CLK-042 VMI-CLK-040",
        VMI_CONFORM_SIM, VMI_F_CLOCK),
    CLK(clk_stable_flag_set_when_host_guarantees, "VMI-CLK-017",
        VMI_CONFORM_SIM, VMI_F_CLOCK),
    CLK(clk_migration_sets_guest_stopped_and_freezes_clock,
        "VMI-CLK-001 VMI-CLK-003 VMI-CLK-037 VMI-CLK-038 VMI-CLK-040 "
        "VMI-CLK-041",
        VMI_CONFORM_SIM, VMI_F_CLOCK),
    CLK(clk_guest_clear_of_stopped_kept_until_next_stop,
        "VMI-CLK-037 VMI-CLK-038", VMI_CONFORM_SIM, VMI_F_CLOCK),
    {"clk_host_stop_sets_guest_stopped_until_cleared",
     "VMI-CLK-037 VMI-CLK-038 VMI-TMR-023", VMI_PROFILE_CORE,
     VMI_CONFORM_HOST_EVENT, VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER, 1, 20000,
     clk_host_stop_sets_guest_stopped_until_cleared},
    CLK(wck_offset_gives_plausible_wall_clock, "VMI-WCK-001", 0, VMI_F_CLOCK),
    CLK(stl_register_rejects_bad_arguments,
        "VMI-STL-001 VMI-STL-002 VMI-STL-003 VMI-STL-004", 0, VMI_F_STEAL),
    CLK(stl_register_writes_zeroed_even_record, "VMI-STL-012 VMI-GEN-004", 0,
        VMI_F_STEAL),
    CLK(stl_accounted_time_accumulates,
        "VMI-STL-002 VMI-STL-012 VMI-STL-006 VMI-STL-007 VMI-STL-008",
        VMI_CONFORM_SIM, VMI_F_STEAL),
};

AREA(vmi_conform_area_clock, "clock", tests);
