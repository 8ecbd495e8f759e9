/* SPDX-License-Identifier: MIT */
/* event.c: cases for event records, EVENT_SEND and BLOCK (VMI-EVT). */
#include "../cases.h"

#define BIT(n) (UINT64_C(1) << (n))

TEST(evt_register_rejects_bad_arguments)
{
    struct vmi_event_record *e = vmi_conform_alloc(t, 128, 64);
    uint64_t g = vmi_conform_gpa(t, e);

    VMI_CHECK_ST("VMI-EVT-013",
                 CALL3(t, VMI_HC_EVENT_REGISTER, g, VEC(40), 1, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-EVT-015",
                 CALL3(t, VMI_HC_EVENT_REGISTER, g + 32, VEC(40), 0, NULL),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-EVT-016",
                 CALL3(t, VMI_HC_EVENT_REGISTER, GPA_OUTSIDE, VEC(40), 0, NULL),
                 -VMI_E_FAULT);
    VMI_CHECK_ST("VMI-EVT-016",
                 CALL3(t, VMI_HC_EVENT_REGISTER, UINT64_C(0xFFFFFFFFFFFFFFC0),
                       VEC(40), 0, NULL),
                 -VMI_E_FAULT);
    VMI_CHECK_ST("VMI-EVT-042",
                 CALL3(t, VMI_HC_EVENT_REGISTER, g, VEC(31), 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-EVT-042",
                 CALL3(t, VMI_HC_EVENT_REGISTER, g, VEC(256), 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-EVT-042",
                 CALL3(t, VMI_HC_EVENT_REGISTER, g, BIT(32) | VEC(40), 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-EVT-042",
                 CALL3(t, VMI_HC_EVENT_REGISTER, g, VEC(255), 0, NULL), 0);
    /* aarch64: the Arm BSA's architected PPIs are refused too. */
    if (t->g->info.transports & VMI_TRANSPORT_HVC)
        for (uint64_t v = 19; v <= 30; v++)
            VMI_CHECK_ST("VMI-EVT-042",
                         CALL3(t, VMI_HC_EVENT_REGISTER, g, v, 0, NULL),
                         -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-EVT-014",
                 CALL3(t, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, 7, 0, NULL), 0);
}

TEST(evt_send_rejects_bad_arguments)
{
    struct vmi_event_record *e = cases_events(t, 40);
    uint32_t n = t->g->info.vcpu_count;

    VMI_REQUIRE("VMI-EVT-020", e != NULL);
    VMI_CHECK_ST("VMI-EVT-020", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 3, 4, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-EVT-020",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 3, BIT(40), NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-EVT-021",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 3, VMI_VCPUSET_ALL, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-EVT-021",
                 CALL4(t, VMI_HC_EVENT_SEND, 64, 0, 3, VMI_VCPUSET_ALL, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-EVT-022", CALL4(t, VMI_HC_EVENT_SEND, 1, 1, 3, 0, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-EVT-023", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 64, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-EVT-023",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, 1, BIT(32), 0, NULL),
                 -VMI_E_RANGE);
    if (n < 64)
        VMI_CHECK_ST("VMI-EVT-024",
                     CALL4(t, VMI_HC_EVENT_SEND, 0, BIT(n) | 1, 3, 0, NULL),
                     -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-EVT-024",
                 CALL4(t, VMI_HC_EVENT_SEND, ((uint64_t)n + 64) & ~UINT64_C(63),
                       1, 3, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_EQ("VMI-EVT-024", cases_pending(e), 0);
}

TEST(evt_send_to_self_sets_pending)
{
    struct vmi_event_record *e = cases_events(t, 40);

    VMI_REQUIRE("VMI-EVT-025", e != NULL);
    VMI_CHECK_ST("VMI-EVT-025", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 5, 0, NULL),
                 0);
    VMI_CHECK_EQ("VMI-EVT-025", cases_pending(e), BIT(5));
    VMI_CHECK_ST("VMI-EVT-025",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, 0, 6, VMI_VCPUSET_ALL, NULL),
                 0);
    VMI_CHECK_EQ("VMI-EVT-025", cases_pending(e), BIT(5) | BIT(6));
    VMI_CHECK_ST(
        "VMI-EVT-025",
        CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 7, VMI_VCPUSET_EXCLUDE_SELF, NULL),
        0);
    VMI_CHECK_EQ("VMI-EVT-025", cases_pending(e), BIT(5) | BIT(6));
    /* The host only sets bits: a second send keeps the guest's clears. */
    cases_clear(e, BIT(5));
    VMI_CHECK_ST("VMI-EVT-001", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 63, 0, NULL),
                 0);
    VMI_CHECK_EQ("VMI-EVT-001", cases_pending(e), BIT(6) | BIT(63));
    VMI_CHECK_EQ("VMI-EVT-002", cases_pending(e) & BIT(6), BIT(6));
}

TEST(evt_mask_never_written_by_host)
{
    struct vmi_event_record *e = cases_events(t, 40);

    VMI_REQUIRE("VMI-EVT-005", e != NULL);
    vmi_conform_store64(&e->mask, UINT64_C(0x00FF00FF00FF00F0));
    CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 4, 0, NULL);
    CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 9, 0, NULL);
    CALL5(t, VMI_HC_TIMER_ARM, 0, 0, 0, 10, 0, NULL);
    VMI_CHECK_EQ("VMI-EVT-005", vmi_conform_load64(&e->mask),
                 UINT64_C(0x00FF00FF00FF00F0));
    VMI_CHECK_EQ("VMI-EVT-002", cases_pending(e), BIT(4) | BIT(9) | BIT(10));
}

static void worker_register(struct vmi_conform_t *t, void *arg)
{
    CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, arg), VEC(41), 0, NULL);
}

static void worker_unregister(struct vmi_conform_t *t, void *arg)
{
    (void)arg;
    CALL3(t, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, VEC(41), 0, NULL);
}

TEST(evt_send_reaches_other_vcpu)
{
    struct vmi_event_record *e = cases_events(t, 40);
    struct vmi_event_record *w = vmi_conform_alloc(t, 64, 64);
    struct vmi_event_record *w2 = vmi_conform_alloc(t, 64, 64);
    uint32_t id;

    VMI_REQUIRE("VMI-EVT-025", e != NULL && w != NULL && w2 != NULL);
    VMI_REQUIRE("VMI-EVT-025", vmi_conform_vcpu_any(t, &id) == 0);
    VMI_REQUIRE("VMI-EVT-025",
                vmi_conform_vcpu_run(t, id, worker_register, w) == 0);
    vmi_conform_store64(&w->pending, 0);
    VMI_CHECK_ST("VMI-EVT-025",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, BIT(id), 11, 0, NULL), 0);
    VMI_CHECK_EQ("VMI-EVT-025", cases_pending(w), BIT(11));
    VMI_CHECK_EQ("VMI-EVT-025", cases_pending(e), 0);
    VMI_CHECK_ST("VMI-EVT-025",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, 0, 12,
                       VMI_VCPUSET_ALL | VMI_VCPUSET_EXCLUDE_SELF, NULL),
                 0);
    VMI_CHECK_EQ("VMI-EVT-025", cases_pending(w), BIT(11) | BIT(12));
    VMI_CHECK_EQ("VMI-EVT-025", cases_pending(e), 0);
    /* The worker takes its events: a new record starts empty. */
    cases_clear(w, BIT(11) | BIT(12));
    VMI_REQUIRE("VMI-EVT-018",
                vmi_conform_vcpu_run(t, id, worker_unregister, NULL) == 0);
    VMI_REQUIRE("VMI-EVT-018",
                vmi_conform_vcpu_run(t, id, worker_register, w2) == 0);
    VMI_CHECK_EQ("VMI-EVT-018", cases_pending(w2), 0);
    /* The worker's old record memory, reused by vCPU 0: nothing leaks in. */
    VMI_REQUIRE("VMI-EVT-014",
                vmi_conform_vcpu_run(t, id, worker_unregister, NULL) == 0);
    vmi_conform_memset(w, 0, sizeof(*w));
    VMI_REQUIRE_ST("VMI-EVT-014",
                   CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, w),
                         VEC(40), 0, NULL),
                   0);
    VMI_CHECK_EQ("VMI-EVT-014", cases_pending(w), 0);
}

struct on_worker {
    struct vmi_clock_record *clock;
    struct vmi_event_record *events;
};

/* Runs on the secondary vCPU: the VM's agreement holds there too. */
static void worker_calls(struct vmi_conform_t *t, void *arg)
{
    struct on_worker *w = arg;
    uint64_t a, b, ns = 0;
    int rd;

    a = vmi_conform_time(t);
    VMI_CHECK("VMI-VER-008", a != 0);
    VMI_CHECK_ST(
        "VMI-VER-008",
        CALL2(t, VMI_HC_CLOCK_REGISTER, vmi_conform_gpa(t, w->clock), 0, NULL),
        0);
    VMI_CHECK_ST("VMI-CALL-011",
                 CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, w->events),
                       VEC(41), 0, NULL),
                 0);
    rd = cases_read_record(t, w->clock, &ns);
    b = vmi_conform_time(t);
    /* The record describes this vCPU's TSC: it agrees with TIME_READ. */
    VMI_CHECK("VMI-CLK-005", rd == 0 && ns + 1 >= a && ns <= b + 1);
    VMI_CHECK_ST("VMI-CALL-011", CALL0(t, VMI_HC_NOP, NULL), 0);
}

TEST(ver_agreement_applies_to_secondary_vcpus)
{
    struct on_worker w;
    uint32_t id;

    w.clock = vmi_conform_alloc(t, 32, 32);
    w.events = vmi_conform_alloc(t, 64, 64);
    VMI_REQUIRE("VMI-VER-008", w.clock && w.events);
    VMI_REQUIRE("VMI-VER-008", vmi_conform_vcpu_any(t, &id) == 0);
    VMI_REQUIRE("VMI-VER-008",
                vmi_conform_vcpu_run(t, id, worker_calls, &w) == 0);
    VMI_CHECK_ST("VMI-CALL-011",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, UINT64_C(1) << id, 2, 0, NULL),
                 0);
    VMI_CHECK_EQ("VMI-CALL-011", cases_pending(w.events), UINT64_C(1) << 2);
}

TEST(evt_send_to_unstarted_vcpu_allowed)
{
    uint32_t id;

    VMI_REQUIRE("VMI-EVT-026", vmi_conform_vcpu_fresh(t, &id) == 0);
    VMI_CHECK_ST("VMI-EVT-026",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, BIT(id), 13, 0, NULL), 0);
    VMI_CHECK("VMI-CPU-016", !t->be->vcpu_is_started(t->be->ctx, id));
    VMI_CHECK("VMI-CPU-018", !t->be->vcpu_is_started(t->be->ctx, id));
}

TEST(evt_register_ors_kept_pending_bits)
{
    struct vmi_event_record *e = vmi_conform_alloc(t, 64, 64);

    uint64_t r[2];

    /* No record registered: the bit is kept host-side. */
    VMI_REQUIRE_ST("VMI-EVT-009",
                   CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 17, 0, NULL), 0);
    /* A plain sleep meanwhile does not consume it. */
    VMI_CHECK_ST("VMI-EVT-009",
                 CALL2(t, VMI_HC_BLOCK, vmi_conform_time(t) + 100000, 0, r), 0);
    VMI_REQUIRE_ST("VMI-EVT-018",
                   CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, e),
                         VEC(40), 0, NULL),
                   0);
    VMI_CHECK("VMI-EVT-009", cases_pending(e) & BIT(17));
    VMI_CHECK_EQ("VMI-EVT-018", cases_pending(e), BIT(17));
}

/*
 * Moving and unregistering a record: a bit the guest took is not sent
 * again; a bit still pending in the old record moves to the next one
 * (VMI-EVT-055), and the old record is left alone (VMI-EVT-056).
 */
static void rereg(struct vmi_conform_t *t, uint32_t self)
{
    struct vmi_event_record *a = cases_events(t, 40);
    struct vmi_event_record *b = vmi_conform_alloc(t, 64, 64);
    struct vmi_event_record *c = vmi_conform_alloc(t, 64, 64);

    VMI_REQUIRE("VMI-EVT-018", a && b && c);
    VMI_REQUIRE_ST("VMI-EVT-025",
                   CALL4(t, VMI_HC_EVENT_SEND, 0, BIT(self), 11, 0, NULL), 0);
    VMI_CHECK_EQ("VMI-EVT-025", cases_pending(a), BIT(11));
    /* The guest takes 11; 12 arrives and is not taken. */
    cases_clear(a, BIT(11));
    VMI_REQUIRE_ST("VMI-EVT-025",
                   CALL4(t, VMI_HC_EVENT_SEND, 0, BIT(self), 12, 0, NULL), 0);
    VMI_REQUIRE_ST("VMI-EVT-014",
                   CALL3(t, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, 0, 0, NULL),
                   0);
    /* Unregistered: 12 left the old record, 13 is kept host-side. */
    VMI_CHECK_EQ("VMI-EVT-055", cases_pending(a), 0);
    VMI_REQUIRE_ST("VMI-EVT-009",
                   CALL4(t, VMI_HC_EVENT_SEND, 0, BIT(self), 13, 0, NULL), 0);
    VMI_CHECK_EQ("VMI-EVT-056", cases_pending(a), 0);
    VMI_REQUIRE_ST("VMI-EVT-018",
                   CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, b),
                         VEC(40), 0, NULL),
                   0);
    VMI_CHECK_EQ("VMI-EVT-055", cases_pending(b), BIT(12) | BIT(13));
    VMI_CHECK_EQ("VMI-EVT-018", cases_pending(b) & BIT(11), 0);
    /* Moved straight from b to c, without unregistering. */
    VMI_REQUIRE_ST("VMI-EVT-025",
                   CALL4(t, VMI_HC_EVENT_SEND, 0, BIT(self), 14, 0, NULL), 0);
    VMI_REQUIRE_ST("VMI-EVT-055",
                   CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, c),
                         VEC(41), 0, NULL),
                   0);
    VMI_CHECK_EQ("VMI-EVT-055", cases_pending(c), BIT(12) | BIT(13) | BIT(14));
    VMI_CHECK_EQ("VMI-EVT-055", cases_pending(b), 0);
    VMI_REQUIRE_ST("VMI-EVT-025",
                   CALL4(t, VMI_HC_EVENT_SEND, 0, BIT(self), 15, 0, NULL), 0);
    VMI_CHECK_EQ("VMI-EVT-025", cases_pending(c) & BIT(15), BIT(15));
    VMI_CHECK_EQ("VMI-EVT-056", cases_pending(a), 0);
    VMI_CHECK_EQ("VMI-EVT-056", cases_pending(b), 0);
}

TEST(evt_reregistration_does_not_resend_delivered_bits)
{
    rereg(t, 0);
}

static void rereg_on_worker(struct vmi_conform_t *t, void *arg)
{
    rereg(t, *(uint32_t *)arg);
}

TEST(evt_reregistration_on_secondary_vcpu)
{
    uint32_t id;

    VMI_REQUIRE("VMI-EVT-018", vmi_conform_vcpu_any(t, &id) == 0);
    VMI_REQUIRE("VMI-EVT-018",
                vmi_conform_vcpu_run(t, id, rereg_on_worker, &id) == 0);
}

TEST(evt_unregistered_record_never_written)
{
    struct vmi_event_record *x = vmi_conform_alloc(t, 64, 64);
    uint64_t r[2];

    VMI_REQUIRE("VMI-EVT-014", x != NULL);
    /* A kept bit, delivered at registration, cleared by the guest. */
    VMI_REQUIRE_ST("VMI-EVT-009", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 6, 0, r),
                   0);
    VMI_REQUIRE_ST("VMI-EVT-018",
                   CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, x),
                         VEC(40), 0, NULL),
                   0);
    VMI_CHECK_EQ("VMI-EVT-018", cases_pending(x), UINT64_C(1) << 6);
    cases_clear(x, ~UINT64_C(0));
    VMI_REQUIRE_ST(
        "VMI-EVT-014",
        CALL3(t, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, VEC(40), 0, NULL), 0);
    vmi_conform_memset(x, 0, sizeof(*x));
    /* Calls that touch nothing of events: the old record stays zero. */
    CALL0(t, VMI_HC_NOP, r);
    CALL0(t, VMI_HC_TIME_READ, r);
    CALL2(t, VMI_HC_CLOCK_REGISTER, GPA_OUTSIDE, 0, r);
    CALL2(t, VMI_HC_BLOCK, 0, 0, r);
    VMI_CHECK_EQ("VMI-EVT-014", cases_pending(x), 0);
    /* And the delivered bit is not kept any more. */
    VMI_REQUIRE_ST("VMI-EVT-018",
                   CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, x),
                         VEC(40), 0, NULL),
                   0);
    VMI_CHECK_EQ("VMI-EVT-018", cases_pending(x), 0);
}

TEST(evt_block_argument_and_state_checks)
{
    uint64_t r[2] = {0, 0};

    VMI_CHECK_ST("VMI-EVT-027", CALL2(t, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, r),
                 -VMI_E_STATE);
    VMI_CHECK_ST("VMI-EVT-058", CALL2(t, VMI_HC_BLOCK, 0, 2, r), -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-EVT-058", CALL2(t, VMI_HC_BLOCK, 0, BIT(63), r),
                 -VMI_E_INVAL);
    /* STATE precedes INVAL. */
    VMI_CHECK_ST("VMI-STS-007", CALL2(t, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 2, r),
                 -VMI_E_STATE);
    /* A plain sleep without a record is allowed. */
    VMI_CHECK_ST("VMI-EVT-030", CALL2(t, VMI_HC_BLOCK, 0, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-030", r[0], VMI_WAKE_DEADLINE);
}

/*
 * BLOCK's checks of VMI_BLOCK_ARM_TIMER: no deadline (VMI-EVT-059), then
 * the timer and event ranges (VMI-EVT-060); without the flag, the timer
 * and event arguments are ignored whatever they hold (VMI-EVT-062).
 */
TEST(evt_block_arm_timer_argument_checks)
{
    struct vmi_event_record *e = cases_events(t, 40);
    uint32_t n = t->g->info.timer_count;
    const uint64_t arm = VMI_BLOCK_ARM_TIMER;
    uint64_t r[2] = {0, 0};

    VMI_REQUIRE("VMI-EVT-059", e != NULL);
    /* Event 3 pending: a host that accepted a call below would not hang. */
    VMI_REQUIRE_ST("VMI-EVT-059", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL),
                   0);
    VMI_CHECK_ST("VMI-EVT-059",
                 CALL4(t, VMI_HC_BLOCK, VMI_DEADLINE_NONE, arm, 0, 5, r),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-EVT-058", CALL4(t, VMI_HC_BLOCK, 0, arm | 2, 0, 5, r),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-EVT-060", CALL4(t, VMI_HC_BLOCK, 0, arm, n, 5, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-EVT-060", CALL4(t, VMI_HC_BLOCK, 0, arm, BIT(32), 5, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-EVT-060", CALL4(t, VMI_HC_BLOCK, 0, arm, 0, 64, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-EVT-060",
                 CALL4(t, VMI_HC_BLOCK, 0, arm, 0, BIT(32) | 5, r),
                 -VMI_E_RANGE);
    /* INVAL (no deadline) precedes RANGE. */
    VMI_CHECK_ST("VMI-STS-007",
                 CALL4(t, VMI_HC_BLOCK, VMI_DEADLINE_NONE, arm, n, 64, r),
                 -VMI_E_INVAL);
    /* A refused call armed nothing: no event 5 came. */
    VMI_CHECK("VMI-EVT-060", !(cases_pending(e) & BIT(5)));
    cases_clear(e, BIT(3));
    /* Without the flag: a past deadline, whatever timer and event hold. */
    VMI_CHECK_ST("VMI-EVT-062", CALL4(t, VMI_HC_BLOCK, 0, 0, n, 64, r), 0);
    VMI_CHECK_EQ("VMI-EVT-062", r[0], VMI_WAKE_DEADLINE);
    VMI_CHECK_ST("VMI-EVT-062",
                 CALL4(t, VMI_HC_BLOCK, 0, 0, ~UINT64_C(0), ~UINT64_C(0), r),
                 0);
    VMI_CHECK_EQ("VMI-EVT-062", r[0], VMI_WAKE_DEADLINE);
}

/*
 * VMI_BLOCK_ARM_TIMER arms the timer as TIMER_ARM would, before the
 * suspension's own checks (VMI-EVT-061): a past deadline's event is
 * pending at once; the arming replaces an earlier one; a future
 * deadline's expiry is never early (VMI-TMR-020); the timer stays armed
 * when the call returns early for another event (VMI-EVT-029).  Events
 * stay masked until the last part: an upcall would stay deliverable on a
 * vCPU with a local APIC while interrupts are off, and end every later
 * BLOCK at once (VMI-EVT-043).
 */
TEST(evt_block_arms_its_timer_before_it_suspends)
{
    struct vmi_event_record *e = cases_events(t, 40);
    const uint64_t arm = VMI_BLOCK_ARM_TIMER;
    uint64_t r[2] = {0, 0}, dl;
    int rounds = 0;

    VMI_REQUIRE("VMI-EVT-061", e != NULL && t->g->info.timer_count >= 3);
    vmi_conform_store64(&e->mask, ~UINT64_C(0));
    /* A past deadline: pending before the suspension's checks. */
    VMI_CHECK_ST("VMI-EVT-061",
                 CALL4(t, VMI_HC_BLOCK, vmi_conform_time(t), arm, 1, 9, r), 0);
    VMI_CHECK("VMI-EVT-061", cases_pending(e) & BIT(9));
    cases_clear(e, BIT(9));

    /*
     * Replaces an earlier arming: timer 2 armed for 10 s with event 10,
     * then by BLOCK for 3 ms with event 11.  Far enough that emulated
     * guest code cannot pass it before the BLOCK.
     */
    VMI_REQUIRE_ST("VMI-EVT-061",
                   CALL5(t, VMI_HC_TIMER_ARM, 2,
                         vmi_conform_time(t) + 10000000000, 0, 10, 0, NULL),
                   0);
    dl = vmi_conform_time(t) + 3000000;
    VMI_CHECK_ST("VMI-EVT-061", CALL4(t, VMI_HC_BLOCK, dl, arm, 2, 11, r), 0);
    /* The expiry may come a little after the BLOCK's own deadline. */
    while (!(cases_pending(e) & BIT(11)) && rounds++ < 20)
        VMI_REQUIRE_ST("VMI-EVT-061",
                       CALL2(t, VMI_HC_BLOCK, dl + 100000000, 0, r), 0);
    VMI_CHECK("VMI-EVT-061", cases_pending(e) & BIT(11));
    VMI_CHECK("VMI-TMR-020", vmi_conform_time(t) >= dl);
    VMI_CHECK("VMI-EVT-061", !(cases_pending(e) & BIT(10)));
    /* It fired: nothing is left armed (the 10 s arming was replaced). */
    VMI_CHECK_ST("VMI-EVT-061", CALL1(t, VMI_HC_TIMER_CANCEL, 2, r), 0);
    VMI_CHECK_EQ("VMI-EVT-061", r[0], 0);
    cases_clear(e, BIT(11));

    /* Armed even when the call returns at once for another event. */
    vmi_conform_store64(&e->mask, ~BIT(3));
    VMI_REQUIRE_ST("VMI-EVT-061", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL),
                   0);
    dl = vmi_conform_time(t) + 2000000000;
    VMI_CHECK_ST("VMI-EVT-061", CALL4(t, VMI_HC_BLOCK, dl, arm, 2, 13, r), 0);
    VMI_CHECK_EQ("VMI-EVT-029", r[0], VMI_WAKE_EVENT);
    VMI_CHECK_ST("VMI-EVT-061", CALL1(t, VMI_HC_TIMER_CANCEL, 2, r), 0);
    VMI_CHECK_EQ("VMI-EVT-061", r[0], 1);
    cases_clear(e, BIT(3));
}

/* Without VMI_F_BLOCK_TIMER granted, the flag is refused (VMI-EVT-058). */
TEST(evt_block_arm_timer_needs_the_feature)
{
    uint64_t r[2] = {0, 0};

    VMI_REQUIRE_ST("VMI-EVT-058",
                   CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0),
                         VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER, r),
                   0);
    VMI_REQUIRE("VMI-EVT-058", !(r[1] & VMI_F_BLOCK_TIMER));
    VMI_CHECK_ST("VMI-EVT-058",
                 CALL4(t, VMI_HC_BLOCK, 0, VMI_BLOCK_ARM_TIMER, 0, 5, r),
                 -VMI_E_INVAL);
    /* The same call without the flag is a plain past-deadline return. */
    VMI_CHECK_ST("VMI-EVT-058", CALL4(t, VMI_HC_BLOCK, 0, 0, 0, 5, r), 0);
    VMI_CHECK_EQ("VMI-EVT-058", r[0], VMI_WAKE_DEADLINE);
}

TEST(evt_block_returns_at_once_when_pending_or_past)
{
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t r[2] = {0, 0}, now;

    VMI_REQUIRE("VMI-EVT-029", e != NULL);
    VMI_REQUIRE_ST("VMI-EVT-029", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL),
                   0);
    now = vmi_conform_time(t);
    VMI_CHECK_ST("VMI-EVT-029", CALL2(t, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, r),
                 0);
    VMI_CHECK_EQ("VMI-EVT-029", r[0], VMI_WAKE_EVENT);
    /* A masked pending event does not wake; a past deadline does. */
    vmi_conform_store64(&e->mask, BIT(3));
    VMI_CHECK_ST("VMI-EVT-030", CALL2(t, VMI_HC_BLOCK, now, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-030", r[0], VMI_WAKE_DEADLINE);
    VMI_CHECK_ST("VMI-EVT-030", CALL2(t, VMI_HC_BLOCK, 0, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-030", r[0], VMI_WAKE_DEADLINE);
    vmi_conform_store64(&e->mask, 0);
    VMI_CHECK_ST("VMI-EVT-044", CALL2(t, VMI_HC_BLOCK, 0, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-044", r[0], VMI_WAKE_EVENT);
}

TEST(evt_block_deadline_never_early)
{
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t r[2] = {0, 0}, dl;

    VMI_REQUIRE("VMI-EVT-033", e != NULL);
    dl = vmi_conform_time(t) + 500000;
    /* A host may return SPURIOUS (VMI-EVT-045): block again, as a guest. */
    for (int i = 0; i < 100 && (i == 0 || r[0] == VMI_WAKE_SPURIOUS); i++)
        VMI_REQUIRE_ST("VMI-EVT-043", CALL2(t, VMI_HC_BLOCK, dl, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-044", r[0], VMI_WAKE_DEADLINE);
    VMI_CHECK("VMI-EVT-033", vmi_conform_time(t) >= dl);
    /* Neither reason held before that: no return in between. */
    VMI_CHECK("VMI-EVT-043", vmi_conform_time(t) >= dl || cases_pending(e));
    VMI_CHECK("VMI-EVT-043", cases_pending(e) == 0);
}

/*
 * An interrupt other than the upcall ends BLOCK (VMI-EVT-043), with
 * VMI_WAKE_INTERRUPT unless an unmasked event is pending (VMI-EVT-044);
 * the host's own reasons give VMI_WAKE_SPURIOUS (VMI-EVT-045).  The
 * simulator stands for the hypervisor's interrupt controller.
 */
TEST(evt_block_ends_when_an_interrupt_is_deliverable)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t r[2] = {0, 0}, t0, dl;

    VMI_REQUIRE("VMI-EVT-043", e != NULL);
    /* An interrupt 1 ms into a 50 ms BLOCK. */
    t0 = vmi_conform_time(t);
    dl = t0 + 50000000;
    sim->wake_in(ctx, 1000000, VMI_WAKE_INTERRUPT);
    VMI_REQUIRE_ST("VMI-EVT-043", CALL2(t, VMI_HC_BLOCK, dl, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-044", r[0], VMI_WAKE_INTERRUPT);
    VMI_CHECK("VMI-EVT-043", vmi_conform_time(t) < dl);
    VMI_CHECK("VMI-EVT-043", vmi_conform_time(t) >= t0 + 1000000);
    if (r[0] != VMI_WAKE_INTERRUPT)
        return; /* deaf to interrupts: the next BLOCK would never end */
    /* With no deadline at all, the interrupt is the only way out. */
    sim->wake_in(ctx, 2000000, VMI_WAKE_INTERRUPT);
    VMI_REQUIRE_ST("VMI-EVT-043",
                   CALL2(t, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-044", r[0], VMI_WAKE_INTERRUPT);
    /* A pending unmasked event outranks the interrupt. */
    vmi_conform_store64(&e->mask, BIT(6));
    VMI_REQUIRE_ST("VMI-EVT-044", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 6, 0, NULL),
                   0);
    sim->wake_in(ctx, 1000000, VMI_WAKE_INTERRUPT);
    dl = vmi_conform_time(t) + 50000000;
    VMI_REQUIRE_ST("VMI-EVT-043", CALL2(t, VMI_HC_BLOCK, dl, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-044", r[0], VMI_WAKE_INTERRUPT); /* masked */
    vmi_conform_store64(&e->mask, 0);
    VMI_CHECK_ST("VMI-EVT-044", CALL2(t, VMI_HC_BLOCK, dl, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-044", r[0], VMI_WAKE_EVENT);
    cases_clear(e, BIT(6));
    /* The host's own wake: SPURIOUS, before the deadline. */
    sim->wake_in(ctx, 1000000, VMI_WAKE_SPURIOUS);
    dl = vmi_conform_time(t) + 50000000;
    VMI_REQUIRE_ST("VMI-EVT-043", CALL2(t, VMI_HC_BLOCK, dl, 0, r), 0);
    VMI_CHECK_EQ("VMI-EVT-044", r[0], VMI_WAKE_SPURIOUS);
    VMI_CHECK("VMI-EVT-033", vmi_conform_time(t) < dl);
}

TEST(evt_upcall_due_only_on_unmasked_transition)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e = cases_events(t, 77);
    uint32_t vec = 0;

    VMI_REQUIRE("VMI-EVT-006", e != NULL);
    while (sim->take_upcall(ctx, 0, &vec))
        ;
    CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 8, 0, NULL);
    VMI_CHECK("VMI-EVT-006", sim->take_upcall(ctx, 0, &vec) == 1);
    VMI_CHECK_EQ("VMI-EVT-006", vec, 77);
    VMI_CHECK_EQ("VMI-EVT-037", vec, 77);
    /* Already pending: no new upcall. */
    CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 8, 0, NULL);
    VMI_CHECK_EQ("VMI-EVT-006", sim->take_upcall(ctx, 0, &vec), 0);
    /* Masked: pending but no upcall; unmasking raises none. */
    vmi_conform_store64(&e->mask, BIT(9));
    CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 9, 0, NULL);
    VMI_CHECK_EQ("VMI-EVT-006", sim->take_upcall(ctx, 0, &vec), 0);
    VMI_CHECK("VMI-EVT-006", cases_pending(e) & BIT(9));
    vmi_conform_store64(&e->mask, 0);
    CALL0(t, VMI_HC_NOP, NULL);
    VMI_CHECK_EQ("VMI-EVT-010", sim->take_upcall(ctx, 0, &vec), 0);
    /* Guest clears a bit, a new send raises a new upcall. */
    cases_clear(e, BIT(8));
    CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 8, 0, NULL);
    VMI_CHECK_EQ("VMI-EVT-006", sim->take_upcall(ctx, 0, &vec), 1);
}

/*
 * An upcall due for the old record is not delivered after a switch; the
 * bits moved into the new record make one due only if the new record
 * leaves them unmasked, with the new vector (VMI-EVT-057).
 */
TEST(evt_reregistration_recomputes_the_due_upcall)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *a = cases_events(t, 77);
    struct vmi_event_record *b = vmi_conform_alloc(t, 64, 64);
    struct vmi_event_record *c = vmi_conform_alloc(t, 64, 64);
    uint32_t vec = 0;

    VMI_REQUIRE("VMI-EVT-057", a && b && c);
    while (sim->take_upcall(ctx, 0, &vec))
        ;
    CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 8, 0, NULL);
    /* Due with vector 77, not taken; b masks the event. */
    vmi_conform_store64(&b->mask, BIT(8));
    VMI_REQUIRE_ST("VMI-EVT-057",
                   CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, b),
                         VEC(78), 0, NULL),
                   0);
    VMI_CHECK_EQ("VMI-EVT-057", sim->take_upcall(ctx, 0, &vec), 0);
    VMI_CHECK_EQ("VMI-EVT-055", cases_pending(b), BIT(8));
    /* c leaves it unmasked: due again, with c's vector. */
    VMI_REQUIRE_ST("VMI-EVT-057",
                   CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, c),
                         VEC(79), 0, NULL),
                   0);
    VMI_CHECK_EQ("VMI-EVT-057", sim->take_upcall(ctx, 0, &vec), 1);
    VMI_CHECK_EQ("VMI-EVT-057", vec, 79);
}

#define EVT(name, cl, fl, feat, vc)                                            \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, (fl), VMI_F_EVENTS | (feat), (vc), 2000,  \
            name                                                               \
    }

static const struct vmi_conform_test tests[] = {
    EVT(evt_register_rejects_bad_arguments,
        "VMI-EVT-013 VMI-EVT-014 VMI-EVT-015 VMI-EVT-016 VMI-EVT-042", 0, 0, 1),
    EVT(evt_send_rejects_bad_arguments,
        "VMI-EVT-020 VMI-EVT-021 VMI-EVT-022 VMI-EVT-023 VMI-EVT-024", 0, 0, 1),
    EVT(evt_send_to_self_sets_pending, "VMI-EVT-001 VMI-EVT-002 VMI-EVT-025", 0,
        0, 1),
    EVT(evt_mask_never_written_by_host, "VMI-EVT-002 VMI-EVT-005", 0,
        VMI_F_TIMER, 1),
    EVT(evt_send_reaches_other_vcpu, "VMI-EVT-014 VMI-EVT-018 VMI-EVT-025", 0,
        VMI_F_VCPU, 2),
    EVT(ver_agreement_applies_to_secondary_vcpus,
        "VMI-VER-008 VMI-CALL-011 VMI-CLK-005", 0, VMI_F_VCPU | VMI_F_CLOCK, 2),
    EVT(evt_send_to_unstarted_vcpu_allowed,
        "VMI-EVT-026 VMI-CPU-018 VMI-CPU-016", 0, 0, 2),
    EVT(evt_register_ors_kept_pending_bits, "VMI-EVT-009 VMI-EVT-018", 0, 0, 1),
    EVT(evt_reregistration_does_not_resend_delivered_bits,
        "VMI-EVT-009 VMI-EVT-014 VMI-EVT-018 VMI-EVT-025 VMI-EVT-055 "
        "VMI-EVT-056",
        0, 0, 1),
    EVT(evt_reregistration_on_secondary_vcpu,
        "VMI-EVT-009 VMI-EVT-014 VMI-EVT-018 VMI-EVT-025 VMI-EVT-055 "
        "VMI-EVT-056",
        0, VMI_F_VCPU, 2),
    EVT(evt_unregistered_record_never_written,
        "VMI-EVT-009 VMI-EVT-014 VMI-EVT-018", 0, 0, 1),
    EVT(evt_block_argument_and_state_checks,
        "VMI-EVT-027 VMI-EVT-058 VMI-EVT-030 VMI-STS-007", 0, 0, 1),
    EVT(evt_block_arm_timer_argument_checks,
        "VMI-EVT-058 VMI-EVT-059 VMI-EVT-060 VMI-EVT-062 VMI-STS-007", 0,
        VMI_F_TIMER | VMI_F_BLOCK_TIMER, 1),
    EVT(evt_block_arms_its_timer_before_it_suspends,
        "VMI-EVT-061 VMI-EVT-029 VMI-TMR-020", 0,
        VMI_F_TIMER | VMI_F_BLOCK_TIMER, 1),
    {"evt_block_arm_timer_needs_the_feature", "VMI-EVT-058", VMI_PROFILE_CORE,
     VMI_CONFORM_PRENEG | VMI_CONFORM_FRESH_VM, 0, 1, 1000,
     evt_block_arm_timer_needs_the_feature},
    EVT(evt_block_returns_at_once_when_pending_or_past,
        "VMI-EVT-029 VMI-EVT-030 VMI-EVT-044", 0, 0, 1),
    EVT(evt_block_deadline_never_early, "VMI-EVT-043 VMI-EVT-044 VMI-EVT-033",
        0, 0, 1),
    EVT(evt_block_ends_when_an_interrupt_is_deliverable,
        "VMI-EVT-043 VMI-EVT-044 VMI-EVT-033", VMI_CONFORM_SIM, 0, 1),
    EVT(evt_upcall_due_only_on_unmasked_transition,
        "VMI-EVT-006 VMI-EVT-037 VMI-EVT-010", VMI_CONFORM_SIM, 0, 1),
    EVT(evt_reregistration_recomputes_the_due_upcall, "VMI-EVT-055 VMI-EVT-057",
        VMI_CONFORM_SIM, 0, 1),
};

AREA(vmi_conform_area_event, "event", tests);
