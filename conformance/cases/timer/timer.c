/* SPDX-License-Identifier: MIT */
/* timer.c: cases for one-shot timers (VMI-TMR). */
#include "../cases.h"

#define BIT(n) (UINT64_C(1) << (n))

TEST(tmr_arm_rejects_bad_arguments)
{
    uint32_t n = t->g->info.timer_count, v = t->g->info.vcpu_count;
    uint64_t r[2];

    VMI_CHECK_ST("VMI-TMR-001", CALL5(t, VMI_HC_TIMER_ARM, 0, 0, 0, 0, 1, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-TMR-001",
                 CALL5(t, VMI_HC_TIMER_ARM, 0, 0, 0, 0, BIT(40), NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-TMR-002", CALL5(t, VMI_HC_TIMER_ARM, n, 0, 0, 0, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-TMR-002",
                 CALL5(t, VMI_HC_TIMER_ARM, BIT(32), 0, 0, 0, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-TMR-003", CALL5(t, VMI_HC_TIMER_ARM, 0, 0, v, 0, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-TMR-003",
                 CALL5(t, VMI_HC_TIMER_ARM, 0, 0, BIT(32), 0, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-TMR-004",
                 CALL5(t, VMI_HC_TIMER_ARM, 0, 0, 0, 64, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-TMR-004",
                 CALL5(t, VMI_HC_TIMER_ARM, 0, 0, 0, BIT(32) | 1, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-TMR-014", CALL1(t, VMI_HC_TIMER_CANCEL, n, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-TMR-014", CALL1(t, VMI_HC_TIMER_CANCEL, BIT(32) | 1, r),
                 -VMI_E_RANGE);
    /* The last valid id works. */
    VMI_CHECK_ST(
        "VMI-TMR-002",
        CALL5(t, VMI_HC_TIMER_ARM, n - 1, ~UINT64_C(0) - 1, 0, 0, 0, NULL), 0);
    VMI_CHECK_ST("VMI-TMR-015", CALL1(t, VMI_HC_TIMER_CANCEL, n - 1, r), 0);
    VMI_CHECK_EQ("VMI-TMR-015", r[0], 1);
}

TEST(tmr_past_deadline_fires_at_once)
{
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t now;

    VMI_REQUIRE("VMI-TMR-007", e != NULL);
    vmi_conform_store64(&e->mask, ~UINT64_C(0)); /* no upcall needed */
    VMI_CHECK_ST("VMI-TMR-006", CALL5(t, VMI_HC_TIMER_ARM, 1, 0, 0, 5, 0, NULL),
                 0);
    VMI_CHECK("VMI-TMR-007", cases_pending(e) & BIT(5));
    now = vmi_conform_time(t);
    VMI_CHECK_ST(
        "VMI-TMR-006",
        CALL5(t, VMI_HC_TIMER_ARM, 2, now > 10 ? now - 10 : 0, 0, 9, 0, NULL),
        0);
    VMI_CHECK("VMI-TMR-007", cases_pending(e) & BIT(9));
    /* Masked events are still set pending. */
    VMI_CHECK("VMI-TMR-012",
              (cases_pending(e) & (BIT(5) | BIT(9))) == (BIT(5) | BIT(9)));
    VMI_CHECK("VMI-TMR-011", (cases_pending(e) & ~(BIT(5) | BIT(9))) == 0);
}

TEST(tmr_expiry_never_early_and_blocks_wake)
{
    struct vmi_event_record *e = cases_events(t, 40);
    struct vmi_clock_record *c = cases_clock(t);
    uint64_t dl, now, r[2] = {0, 0};
    int rounds = 0;

    VMI_REQUIRE("VMI-TMR-020", e != NULL && c != NULL);
    /* Far enough that emulated guest code cannot pass it before BLOCK. */
    dl = vmi_conform_time(t) + 5000000;
    VMI_REQUIRE_ST("VMI-TMR-011",
                   CALL5(t, VMI_HC_TIMER_ARM, 3, dl, 0, 12, 0, NULL), 0);
    while (!(cases_pending(e) & BIT(12)) && rounds < 50) {
        VMI_REQUIRE_ST("VMI-EVT-043",
                       CALL2(t, VMI_HC_BLOCK, dl + 2000000000, 0, r), 0);
        rounds++;
    }
    VMI_REQUIRE("VMI-TMR-011", cases_pending(e) & BIT(12));
    VMI_CHECK("VMI-EVT-043", rounds > 0 || vmi_conform_time(t) >= dl);
    if (!rounds) /* it expired before the first BLOCK: it returns at once */
        CALL2(t, VMI_HC_BLOCK, dl + 2000000000, 0, r);
    /* Observed pending: the clock must already be past the deadline. */
    if (cases_read_record(t, c, &now))
        now = vmi_conform_time(t);
    VMI_CHECK("VMI-TMR-020", now >= dl);
    VMI_CHECK("VMI-TMR-020", vmi_conform_time(t) >= dl);
    VMI_CHECK_EQ("VMI-EVT-044", r[0], VMI_WAKE_EVENT);
}

TEST(tmr_never_early_exactly_at_deadline)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t dl;

    VMI_REQUIRE("VMI-TMR-020", e != NULL);
    dl = vmi_conform_time(t) + 1000000;
    VMI_REQUIRE_ST("VMI-TMR-011",
                   CALL5(t, VMI_HC_TIMER_ARM, 4, dl, 0, 2, 0, NULL), 0);
    sim->advance_ns(ctx, 990000);
    CALL0(t, VMI_HC_NOP, NULL);
    VMI_CHECK("VMI-TMR-020",
              vmi_conform_time(t) >= dl || !(cases_pending(e) & BIT(2)));
    sim->advance_ns(ctx, 20000);
    CALL0(t, VMI_HC_NOP, NULL);
    VMI_CHECK("VMI-TMR-011", cases_pending(e) & BIT(2));
    /* Each arming expires once. */
    cases_clear(e, BIT(2));
    sim->advance_ns(ctx, 5000000);
    CALL0(t, VMI_HC_NOP, NULL);
    VMI_CHECK_EQ("VMI-TMR-010", cases_pending(e) & BIT(2), 0);
}

TEST(tmr_rearm_replaces_earlier_arming)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t now, r[2];

    VMI_REQUIRE("VMI-TMR-005", e != NULL);
    now = vmi_conform_time(t);
    VMI_REQUIRE_ST(
        "VMI-TMR-005",
        CALL5(t, VMI_HC_TIMER_ARM, 5, now + 50000000, 0, 20, 0, NULL), 0);
    /* Re-arm the same id far in the future with another event. */
    VMI_REQUIRE_ST(
        "VMI-TMR-005",
        CALL5(t, VMI_HC_TIMER_ARM, 5, now + 500000000000ull, 0, 21, 0, NULL),
        0);
    if (sim) {
        sim->advance_ns(vmi_conform_sim_ctx(t), 60000000);
    } else {
        /* Sleep past the replaced deadline (a plain BLOCK). */
        uint64_t dl = now + 60000000;

        while (vmi_conform_time(t) < dl && !(cases_pending(e) & BIT(20)))
            CALL2(t, VMI_HC_BLOCK, dl, 0, r);
    }
    CALL0(t, VMI_HC_NOP, NULL);
    VMI_CHECK_EQ("VMI-TMR-005", cases_pending(e) & (BIT(20) | BIT(21)), 0);
    VMI_CHECK_ST("VMI-TMR-015", CALL1(t, VMI_HC_TIMER_CANCEL, 5, r), 0);
    VMI_CHECK_EQ("VMI-TMR-015", r[0], 1);
}

TEST(tmr_cancel_idempotent_reports_armed)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t r[2] = {7, 7}, now;

    VMI_REQUIRE("VMI-TMR-015", e != NULL);
    VMI_CHECK_ST("VMI-TMR-015", CALL1(t, VMI_HC_TIMER_CANCEL, 6, r), 0);
    VMI_CHECK_EQ("VMI-TMR-015", r[0], 0);
    now = vmi_conform_time(t);
    VMI_REQUIRE_ST(
        "VMI-TMR-015",
        CALL5(t, VMI_HC_TIMER_ARM, 6, now + 30000000, 0, 30, 0, NULL), 0);
    VMI_CHECK_ST("VMI-TMR-015", CALL1(t, VMI_HC_TIMER_CANCEL, 6, r), 0);
    VMI_CHECK_EQ("VMI-TMR-015", r[0], 1);
    VMI_CHECK_ST("VMI-TMR-015", CALL1(t, VMI_HC_TIMER_CANCEL, 6, r), 0);
    VMI_CHECK_EQ("VMI-TMR-015", r[0], 0);
    if (sim) {
        sim->advance_ns(vmi_conform_sim_ctx(t), 40000000);
    } else {
        uint64_t dl = now + 40000000;

        while (vmi_conform_time(t) < dl)
            CALL2(t, VMI_HC_BLOCK, dl, 0, r);
    }
    CALL0(t, VMI_HC_NOP, NULL);
    VMI_CHECK_EQ("VMI-TMR-016", cases_pending(e) & BIT(30), 0);
    /* A fired timer is no longer armed; its event stays pending. */
    VMI_REQUIRE_ST("VMI-TMR-017",
                   CALL5(t, VMI_HC_TIMER_ARM, 6, 0, 0, 31, 0, NULL), 0);
    VMI_CHECK_ST("VMI-TMR-015", CALL1(t, VMI_HC_TIMER_CANCEL, 6, r), 0);
    VMI_CHECK_EQ("VMI-TMR-015", r[0], 0);
    VMI_CHECK("VMI-TMR-017", cases_pending(e) & BIT(31));
}

static void unregister_events(struct vmi_conform_t *t, void *arg)
{
    (void)arg;
    CALL3(t, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, VEC(40), 0, NULL);
}

static void register_and_report(struct vmi_conform_t *t, void *arg)
{
    struct vmi_event_record *e = arg;

    CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, e), VEC(40), 0, NULL);
}

TEST(tmr_expiry_without_record_kept_until_registration)
{
    struct vmi_event_record *e = vmi_conform_alloc(t, 64, 64);
    uint32_t w;

    struct vmi_event_record *e0 = vmi_conform_alloc(t, 64, 64);

    VMI_REQUIRE("VMI-TMR-012", e != NULL && e0 != NULL);
    /* On the calling vCPU (no record either). */
    VMI_REQUIRE_ST("VMI-TMR-012",
                   CALL5(t, VMI_HC_TIMER_ARM, 8, 0, 0, 45, 0, NULL), 0);
    VMI_REQUIRE_ST("VMI-TMR-012",
                   CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, e0),
                         VEC(40), 0, NULL),
                   0);
    VMI_CHECK("VMI-TMR-012", cases_pending(e0) & BIT(45));
    VMI_REQUIRE("VMI-TMR-012", vmi_conform_vcpu_any(t, &w) == 0);
    /* The worker has no record now (its runtime may have set one up). */
    VMI_REQUIRE("VMI-TMR-012",
                vmi_conform_vcpu_run(t, w, unregister_events, NULL) == 0);
    VMI_REQUIRE_ST("VMI-TMR-012",
                   CALL5(t, VMI_HC_TIMER_ARM, 7, 0, w, 44, 0, NULL), 0);
    VMI_REQUIRE("VMI-TMR-012",
                vmi_conform_vcpu_run(t, w, register_and_report, e) == 0);
    VMI_CHECK("VMI-TMR-012", cases_pending(e) & BIT(44));
    VMI_CHECK("VMI-EVT-009", cases_pending(e) & BIT(44));
    VMI_CHECK("VMI-EVT-018", cases_pending(e) & BIT(44));
}

TEST(tmr_many_timers_each_expire)
{
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t now, r[2], last, limit;
    uint32_t i, n = t->g->info.timer_count < 8 ? t->g->info.timer_count : 8;
    uint64_t want = 0;

    VMI_REQUIRE("VMI-TMR-011", e != NULL);
    /* Masked: BLOCK sleeps to its deadline instead of waking on them. */
    vmi_conform_store64(&e->mask, ~UINT64_C(0));
    now = vmi_conform_time(t);
    for (i = 0; i < n; i++) {
        VMI_CHECK_ST(
            "VMI-TMR-011",
            CALL5(t, VMI_HC_TIMER_ARM, i, now + i * 20000, 0, 50 + i, 0, NULL),
            0);
        want |= BIT(50 + i);
    }
    last = now + (uint64_t)(n - 1) * 20000;
    for (i = 0; i < 100 && vmi_conform_time(t) <= last; i++)
        CALL2(t, VMI_HC_BLOCK, last + 1, 0, r);
    VMI_CHECK("VMI-TMR-020", vmi_conform_time(t) >= last);
    /*
     * The last deadline has passed; a host may expire a timer up to its
     * announced resolution late (VMI-TMR-021, leaf B + 7 EBX).  Wait that
     * long, and 10 ms more for a loaded machine, in short BLOCKs (the
     * masked events cannot end them).
     */
    limit = last + t->g->info.timer_resolution_ns + 10000000;
    for (i = 0; i < 100000 && (cases_pending(e) & want) != want; i++) {
        now = vmi_conform_time(t);
        if (now > limit)
            break;
        CALL2(t, VMI_HC_BLOCK, now + 100000 < limit ? now + 100000 : limit + 1,
              0, r);
    }
    CALL0(t, VMI_HC_NOP, NULL);
    VMI_CHECK_EQ("VMI-TMR-011", cases_pending(e) & want, want);
}

TEST(tmr_expiry_work_bounded_per_fire)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e = cases_events(t, 40);
    uint32_t i, n = t->g->info.timer_count;
    uint64_t dl;
    unsigned fired, total = 0;

    VMI_REQUIRE("VMI-SEC-007", e != NULL);
    dl = vmi_conform_time(t) + 10000000;
    for (i = 0; i < n; i++)
        CALL5(t, VMI_HC_TIMER_ARM, i, dl, 0, i % 64, 0, NULL);
    /* All due at once; one fire call does at most its budget. */
    fired = sim->fire(ctx, 20000000, 5);
    VMI_CHECK("VMI-SEC-007", fired <= 5);
    total += fired;
    VMI_CHECK("VMI-SEC-007", fired > 0);
    while ((fired = sim->fire(ctx, 0, 5)) != 0 && total < 10 * n)
        total += fired;
    VMI_CHECK("VMI-TMR-010", total <= n);
    VMI_CHECK_EQ("VMI-SEC-007", sim->stat(ctx, VMI_CONFORM_STAT_TIMERS), 0);
}

/* VMI-TMR-023: a stop does not advance the VM clock, so no deadline passes. */
TEST(tmr_stop_does_not_bring_deadlines_nearer)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t t0;

    VMI_REQUIRE("VMI-TMR-023", e != NULL);
    t0 = vmi_conform_time(t);
    VMI_REQUIRE_ST("VMI-TMR-023",
                   CALL5(t, VMI_HC_TIMER_ARM, 5, t0 + 1000000, 0, 9, 0, NULL),
                   0);
    /* Saved, 50 ms of host time, restored: a stop. */
    VMI_REQUIRE("VMI-TMR-023", sim->migrate(ctx, 50000000) == 0);
    VMI_CHECK("VMI-TMR-023", vmi_conform_time(t) < t0 + 1000000);
    VMI_CHECK("VMI-TMR-023", !(cases_pending(e) & (UINT64_C(1) << 9)));
    sim->advance_ns(ctx, 1000000);
    CALL0(t, VMI_HC_NOP, NULL);
    VMI_CHECK("VMI-TMR-023", cases_pending(e) & (UINT64_C(1) << 9));
    cases_clear(e, UINT64_C(1) << 9);
}

#define TMR(name, cl, fl, vc)                                                  \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, (fl),                                     \
            VMI_F_TIMER | ((vc) > 1 ? VMI_F_VCPU : 0), (vc), 2000, name        \
    }

static const struct vmi_conform_test tests[] = {
    TMR(tmr_arm_rejects_bad_arguments,
        "VMI-TMR-001 VMI-TMR-002 VMI-TMR-003 VMI-TMR-004 VMI-TMR-014 "
        "VMI-TMR-015",
        0, 1),
    TMR(tmr_past_deadline_fires_at_once,
        "VMI-TMR-006 VMI-TMR-007 VMI-TMR-011 VMI-TMR-012", 0, 1),
    TMR(tmr_expiry_never_early_and_blocks_wake,
        "VMI-TMR-020 VMI-TMR-011 VMI-EVT-043 VMI-EVT-044", 0, 1),
    TMR(tmr_never_early_exactly_at_deadline,
        "VMI-TMR-020 VMI-TMR-010 VMI-TMR-011", VMI_CONFORM_SIM, 1),
    TMR(tmr_rearm_replaces_earlier_arming, "VMI-TMR-005 VMI-TMR-015", 0, 1),
    TMR(tmr_cancel_idempotent_reports_armed,
        "VMI-TMR-015 VMI-TMR-016 VMI-TMR-017", 0, 1),
    TMR(tmr_expiry_without_record_kept_until_registration,
        "VMI-TMR-012 VMI-EVT-009 VMI-EVT-018", 0, 2),
    TMR(tmr_many_timers_each_expire, "VMI-TMR-020 VMI-TMR-011", 0, 1),
    TMR(tmr_expiry_work_bounded_per_fire, "VMI-SEC-007 VMI-TMR-010",
        VMI_CONFORM_SIM, 1),
    TMR(tmr_stop_does_not_bring_deadlines_nearer, "VMI-TMR-023",
        VMI_CONFORM_SIM, 1),
};

AREA(vmi_conform_area_timer, "timer", tests);
