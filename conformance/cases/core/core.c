/* SPDX-License-Identifier: MIT */
/*
 * core.c: cases for negotiation and lifecycle (VMI-VER), the calling
 * convention and privilege (VMI-CALL) and status precedence (VMI-STS).
 */
#include "../cases.h"

/* ---- before negotiation ----------------------------------------------------
 */

TEST(ver_calls_before_negotiation_return_state)
{
    static const uint32_t gated[] = {
        VMI_HC_CLOCK_REGISTER, VMI_HC_TIME_READ,    VMI_HC_STEAL_REGISTER,
        VMI_HC_TIMER_ARM,      VMI_HC_TIMER_CANCEL, VMI_HC_EVENT_REGISTER,
        VMI_HC_EVENT_SEND,     VMI_HC_BLOCK,        VMI_HC_VCPU_START,
        VMI_HC_TLB_FLUSH,      VMI_HC_PT_UPDATE,    VMI_HC_PT_PIN,
        VMI_HC_PT_UNPIN,       VMI_HC_MEM_RELEASE,  VMI_HC_MEM_RECLAIM,
        VMI_HC_VCPU_STOP,
    };
    char *msg = vmi_conform_alloc(t, 8, 8);
    uint64_t r[2];
    uint32_t i;

    for (i = 0; i < COUNT_OF(gated); i++)
        VMI_CHECK_ST("VMI-VER-036", CALL0(t, gated[i], NULL), -VMI_E_STATE);
    VMI_CHECK_ST("VMI-VER-036", CALL0(t, VMI_HC_NOP, NULL), 0);
    VMI_CHECK_ST("VMI-VER-036", CALL1(t, VMI_HC_QUERY, 0, r), 0);
    msg[0] = '.';
    VMI_CHECK_ST("VMI-VER-036",
                 CALL2(t, VMI_HC_CONSOLE_WRITE, vmi_conform_gpa(t, msg), 1, r),
                 0);
    /* STATE precedes INVAL: a reserved flag does not change the answer. */
    VMI_CHECK_ST("VMI-STS-007", CALL2(t, VMI_HC_CLOCK_REGISTER, 3, 1, NULL),
                 -VMI_E_STATE);
}

TEST(ver_query_before_negotiation_reports_initial)
{
    uint64_t r[2] = {7, 7};

    VMI_CHECK_ST("VMI-VER-037", CALL1(t, VMI_HC_QUERY, 1, NULL), -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-VER-038", CALL1(t, VMI_HC_QUERY, 0, r), 0);
    VMI_CHECK_EQ("VMI-VER-038", r[0], (uint64_t)VMI_LIFECYCLE_INITIAL << 32);
    VMI_CHECK_EQ("VMI-VER-038", r[1], 0);
}

TEST(ver_query_reports_the_agreement)
{
    uint64_t r[2] = {0, 0};

    VMI_CHECK_ST("VMI-VER-038", CALL1(t, VMI_HC_QUERY, 0, r), 0);
    VMI_CHECK_EQ("VMI-VER-038", r[0] & 0xFFFFFFFFu, t->g->version);
    VMI_CHECK_EQ("VMI-VER-038", r[0] >> 32, VMI_LIFECYCLE_NEGOTIATED);
    VMI_CHECK_EQ("VMI-VER-038", r[1], t->g->features);
}

TEST(ver_negotiate_unimplemented_major_returns_version)
{
    uint64_t r[2];

    VMI_CHECK_ST("VMI-VER-030",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(2, 0), VMI_F_CLOCK, r),
                 -VMI_E_VERSION);
    VMI_CHECK_ST("VMI-VER-030",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(0, 9), VMI_F_CLOCK, r),
                 -VMI_E_VERSION);
    VMI_CHECK_ST("VMI-VER-030", CALL2(t, VMI_HC_NEGOTIATE, 0xFFFF0000u, 0, r),
                 -VMI_E_VERSION);
    /* A major the host announces nothing of, below its lowest. */
    VMI_CHECK_ST(
        "VMI-VER-030",
        CALL2(
            t, VMI_HC_NEGOTIATE,
            VMI_VERSION(VMI_VERSION_MAJOR(t->g->info.version_min) - 1, 0xFFFF),
            0, r),
        -VMI_E_VERSION);
    /* Rejected: still INITIAL. */
    VMI_CHECK_ST("VMI-STS-004", CALL0(t, VMI_HC_TIME_READ, r), -VMI_E_STATE);
}

/*
 * A guest of a later version asks for bits this host may not define: they
 * are ignored, never an error and never granted (own VM).
 */
TEST(ver_negotiate_undefined_feature_bits_ignored)
{
    uint64_t r[2] = {0, 0};
    uint64_t undefined = ~VMI_F_ALL_1_0;

    VMI_REQUIRE_ST("VMI-VER-029",
                   CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0),
                         VMI_F_CLOCK | undefined, r),
                   0);
    VMI_CHECK_EQ("VMI-VER-032", r[1] & undefined, 0);
    VMI_CHECK_EQ("VMI-VER-035", r[1], VMI_F_CLOCK & t->g->info.features);
}

TEST(ver_negotiate_missing_requirement_returns_inval)
{
    uint64_t r[2];

    VMI_CHECK_ST("VMI-VER-011",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0),
                       VMI_F_TIMER | VMI_F_EVENTS, r),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-VER-011",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0), VMI_F_PT, r),
                 -VMI_E_INVAL);
    /* VERSION has the highest precedence number: INVAL wins. */
    VMI_CHECK_ST("VMI-STS-007",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(7, 0), VMI_F_PT, r),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-STS-004", CALL0(t, VMI_HC_TIME_READ, r), -VMI_E_STATE);
}

/* The VM's negotiation: everything defined, a higher minor than 1.0. */
TEST(ver_negotiate_agrees_version_and_grants_offered)
{
    uint64_t r[2] = {0, 0};
    uint64_t offered = t->g->info.features;
    int64_t st;

    st = CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 7), VMI_F_ALL_1_0, r);
    VMI_REQUIRE_ST("VMI-VER-014", st, 0);
    /* The highest version both implement: the guest's 1.7 or the host's
     * highest 1.x, whichever is lower. */
    if (VMI_VERSION_MAJOR(t->g->info.version_max) == 1)
        VMI_CHECK_EQ("VMI-VER-031", r[0],
                     t->g->info.version_max < VMI_VERSION(1, 7)
                         ? t->g->info.version_max
                         : VMI_VERSION(1, 7));
    else
        VMI_CHECK("VMI-VER-031", VMI_VERSION_MAJOR(r[0]) == 1 &&
                                     r[0] <= VMI_VERSION(1, 7) &&
                                     r[0] >= t->g->info.version_min);
    VMI_CHECK_EQ("VMI-VER-035", r[1], offered & VMI_F_ALL_1_0);
    VMI_CHECK_EQ("VMI-VER-016", r[1] & ~offered, 0);
    /* Let the rest of the suite use what was agreed. */
    t->g->version = (uint32_t)r[0];
    t->g->features = r[1];
    VMI_CHECK_ST("VMI-VER-016", CALL0(t, VMI_HC_TIME_READ, NULL),
                 (r[1] & VMI_F_CLOCK) ? 0 : -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-VER-009",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0), 0, NULL),
                 -VMI_E_STATE);
}

/* A partial request: ungranted features answer NOTSUP (own VM). */
TEST(ver_negotiate_grants_requested_subset_only)
{
    uint64_t r[2] = {0, 0};
    struct vmi_clock_record *c = vmi_conform_alloc(t, 32, 32);

    VMI_REQUIRE_ST(
        "VMI-VER-035",
        CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0), VMI_F_CLOCK, r), 0);
    VMI_CHECK_EQ("VMI-VER-035", r[1], VMI_F_CLOCK & t->g->info.features);
    VMI_CHECK_ST("VMI-CALL-022",
                 CALL5(t, VMI_HC_TIMER_ARM, 0, 0, 0, 0, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-CALL-022", CALL4(t, VMI_HC_MEM_RELEASE, 0, 0, 0, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST(
        "VMI-STL-011",
        CALL2(t, VMI_HC_STEAL_REGISTER, vmi_conform_gpa(t, c), 0, NULL),
        -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-TMR-019", CALL1(t, VMI_HC_TIMER_CANCEL, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-TMR-019", CALL5(t, VMI_HC_TIMER_ARM, 0, 0, 0, 0, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-EVT-035",
                 CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, c), VEC(40),
                       0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-EVT-035", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 0, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-EVT-035", CALL2(t, VMI_HC_BLOCK, 0, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-CPU-017",
                 CALL2(t, VMI_HC_VCPU_START, 1, vmi_conform_gpa(t, c), NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-TLB-019", CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, 0, 0, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-PT-025", CALL3(t, VMI_HC_PT_PIN, 0, 1, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-PT-025", CALL4(t, VMI_HC_PT_UPDATE, 0, 0, 0, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-PT-025", CALL1(t, VMI_HC_PT_UNPIN, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-MEM-013", CALL4(t, VMI_HC_MEM_RECLAIM, 0, 0, 0, 0, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-MEM-013", CALL4(t, VMI_HC_MEM_RELEASE, 0, 0, 0, 0, NULL),
                 -VMI_E_NOTSUP);
    /* The granted feature works. */
    VMI_CHECK_ST("VMI-VER-035", CALL0(t, VMI_HC_TIME_READ, NULL), 0);
    /* NOTSUP precedes INVAL, ALIGN and FAULT. */
    VMI_CHECK_ST("VMI-STS-007",
                 CALL3(t, VMI_HC_EVENT_REGISTER, GPA_OUTSIDE + 1, 0, 9, NULL),
                 -VMI_E_NOTSUP);
    VMI_CHECK_ST(
        "VMI-STS-007",
        CALL2(t, VMI_HC_CLOCK_REGISTER, vmi_conform_gpa(t, c), 1, NULL),
        -VMI_E_INVAL);
}

/* Without CLOCK the clock calls answer NOTSUP (own VM). */
TEST(ver_negotiate_without_clock_refuses_clock_calls)
{
    uint64_t r[2] = {0, 0};
    struct vmi_clock_record *c = vmi_conform_alloc(t, 32, 32);

    VMI_REQUIRE_ST("VMI-CLK-034",
                   CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0),
                         VMI_F_EVENTS | VMI_F_TLB, r),
                   0);
    VMI_CHECK_ST("VMI-CLK-034", CALL0(t, VMI_HC_TIME_READ, r), -VMI_E_NOTSUP);
    VMI_CHECK_ST(
        "VMI-CLK-034",
        CALL2(t, VMI_HC_CLOCK_REGISTER, vmi_conform_gpa(t, c), 0, NULL),
        -VMI_E_NOTSUP);
    VMI_CHECK_ST("VMI-CALL-022", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 0, 0, NULL),
                 0);
}

TEST(ver_negotiate_drops_feature_whose_requirement_is_not_offered)
{
    /* Only meaningful when the host does not offer TLB: then PT goes. */
    uint64_t r[2] = {0, 0};
    uint64_t want = VMI_F_ALL_1_0;

    VMI_REQUIRE_ST("VMI-VER-035",
                   CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0), want, r), 0);
    VMI_CHECK("VMI-VER-035", !(r[1] & VMI_F_PT) || (r[1] & VMI_F_TLB));
    VMI_CHECK("VMI-VER-035", !(r[1] & VMI_F_TIMER) || ((r[1] & VMI_F_CLOCK) &&
                                                       (r[1] & VMI_F_EVENTS)));
}

/* ---- after negotiation
 * ------------------------------------------------------- */

TEST(ver_second_negotiate_returns_state)
{
    uint64_t r[2];

    VMI_CHECK_ST(
        "VMI-VER-009",
        CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0), t->g->features, r),
        -VMI_E_STATE);
    /* STATE precedes VERSION and INVAL. */
    VMI_CHECK_ST(
        "VMI-STS-007",
        CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(9, 0), UINT64_C(1) << 50, r),
        -VMI_E_STATE);
}

TEST(call_unknown_numbers_return_nosys)
{
    static const uint32_t bad[] = {0x0004, 0x00FF, 0x0102, 0x0203, 0x0302,
                                   0x0403, 0x0502, 0x0601, 0x0703, 0x0802,
                                   0x0900, 0x7FFF, 0xFFFF};
    uint32_t i;

    for (i = 0; i < COUNT_OF(bad); i++)
        VMI_CHECK_ST("VMI-CALL-020", CALL0(t, bad[i], NULL), -VMI_E_NOSYS);
    VMI_CHECK_ST("VMI-CALL-021", CALL0(t, 0x10000u, NULL), -VMI_E_NOSYS);
    VMI_CHECK_ST("VMI-CALL-021", CALL0(t, 0x10001u, NULL), -VMI_E_NOSYS);
    VMI_CHECK_ST("VMI-CALL-021", CALL0(t, 0xFFFFFFFFu, NULL), -VMI_E_NOSYS);
    VMI_CHECK_ST("VMI-CALL-021", CALL0(t, 0x80000000u, NULL), -VMI_E_NOSYS);
    VMI_CHECK_ST("VMI-CALL-007", CALL0(t, VMI_HC_NOP, NULL), 0);
}

TEST(call_number_uses_all_64_bits)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    uint64_t a[VMI_HC_MAX_ARGS] = {0, 0, 0, 0, 0}, r[2];
    void *ctx = vmi_conform_sim_ctx(t);

    /* NOP and TIME_READ with high bits set are not NOP and TIME_READ. */
    VMI_CHECK_ST("VMI-CALL-002",
                 sim->call64(ctx, (UINT64_C(1) << 32) | VMI_HC_NOP, a, r),
                 -VMI_E_NOSYS);
    VMI_CHECK_ST("VMI-CALL-002",
                 sim->call64(ctx, (UINT64_C(1) << 63) | VMI_HC_TIME_READ, a, r),
                 -VMI_E_NOSYS);
    VMI_CHECK_ST("VMI-CALL-021", sim->call64(ctx, ~UINT64_C(0), a, r),
                 -VMI_E_NOSYS);
    VMI_CHECK_ST("VMI-CALL-002", sim->call64(ctx, VMI_HC_NOP, a, r), 0);
}

TEST(call_nosys_precedes_state)
{
    VMI_CHECK_ST("VMI-STS-007", CALL0(t, 0x0999, NULL), -VMI_E_NOSYS);
    VMI_CHECK_ST("VMI-CALL-020", CALL0(t, 0x0203, NULL), -VMI_E_NOSYS);
}

TEST(call_undefined_result_slots_written_zero)
{
    uint64_t r[2];
    struct vmi_event_record *e = vmi_conform_alloc(t, 64, 64);

    /*
     * Results travel in the argument registers: a host that leaves them
     * alone hands the arguments back.
     */
    r[0] = r[1] = 0x5555;
    VMI_CHECK_ST("VMI-CALL-029",
                 CALL5(t, VMI_HC_NOP, 0x1111, 0x2222, 3, 4, 5, r), 0);
    VMI_CHECK("VMI-CALL-029", r[0] == 0 && r[1] == 0);
    VMI_CHECK("VMI-SEC-012", r[0] == 0 && r[1] == 0);
    VMI_CHECK_ST(
        "VMI-CALL-008",
        CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, e), VEC(40), 0, r),
        0);
    VMI_CHECK("VMI-CALL-008", r[0] == 0 && r[1] == 0);
    VMI_CHECK_ST("VMI-CALL-008",
                 CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, e) + 8,
                       VEC(40), 0, r),
                 -VMI_E_ALIGN);
    VMI_CHECK("VMI-CALL-008", r[0] == 0 && r[1] == 0);
    VMI_CHECK_ST("VMI-CALL-008", CALL1(t, VMI_HC_TIMER_CANCEL, 0, r), 0);
    VMI_CHECK("VMI-CALL-008", r[1] == 0);
    VMI_CHECK_ST(
        "VMI-CALL-008",
        CALL3(t, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, VEC(40), 0, NULL), 0);
}

TEST(call_undefined_arguments_ignored)
{
    uint64_t r[2];

    VMI_CHECK_ST("VMI-CALL-009",
                 CALL5(t, VMI_HC_TIME_READ, ~UINT64_C(0), 7, 7, 7, 7, r), 0);
    VMI_CHECK_ST("VMI-CALL-009",
                 CALL5(t, VMI_HC_TIMER_CANCEL, 0, ~UINT64_C(0), 1, 2, 3, r), 0);
    VMI_CHECK_ST("VMI-CALL-009",
                 CALL5(t, VMI_HC_CLOCK_REGISTER, VMI_GPA_NONE, 0, 5, 5, 5, r),
                 0);
}

/*
 * User mode calls nothing until the kernel requests VMI_F_USER: not before
 * negotiation, not after one that did not request it (VMI-CALL-034).
 */
TEST(call_user_mode_calls_refused_unless_requested)
{
    uint64_t args[VMI_HC_MAX_ARGS] = {0, 0, 0, 0, 0};
    uint64_t r[2] = {0, 0};
    void *ctx = t->be->ctx;
    uint64_t want = t->g->info.features & ~VMI_F_USER;

    VMI_CHECK_ST("VMI-CALL-034", t->be->user_call(ctx, VMI_HC_NOP, args, r),
                 -VMI_E_PERM);
    VMI_REQUIRE_ST("VMI-CALL-034",
                   CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0), want, r), 0);
    VMI_CHECK_EQ("VMI-CALL-034", r[1] & VMI_F_USER, 0);
    VMI_CHECK_ST("VMI-CALL-034", t->be->user_call(ctx, VMI_HC_NOP, args, r),
                 -VMI_E_PERM);
    VMI_CHECK_ST("VMI-CALL-034",
                 t->be->user_call(ctx, VMI_HC_TIME_READ, args, r), -VMI_E_PERM);
    VMI_CHECK_EQ("VMI-CALL-034", r[0], 0);
    /* Unknown numbers still answer NOSYS first (VMI-STS-007). */
    VMI_CHECK_ST("VMI-STS-007", t->be->user_call(ctx, 0x0999, args, r),
                 -VMI_E_NOSYS);
    /* Kernel mode is unaffected. */
    VMI_CHECK_ST("VMI-CALL-034", CALL0(t, VMI_HC_NOP, r), 0);
}

TEST(call_kernel_calls_from_user_mode_return_perm)
{
    uint64_t args[VMI_HC_MAX_ARGS] = {0, 0, 0, 0, 0};
    uint64_t r[2] = {0, 0};
    void *ctx = t->be->ctx;

    VMI_CHECK_ST("VMI-CALL-017",
                 t->be->user_call(ctx, VMI_HC_CLOCK_REGISTER, args, r),
                 -VMI_E_PERM);
    VMI_CHECK_ST("VMI-CALL-017",
                 t->be->user_call(ctx, VMI_HC_SHUTDOWN, args, r), -VMI_E_PERM);
    VMI_CHECK_ST("VMI-CALL-017",
                 t->be->user_call(ctx, VMI_HC_CONSOLE_WRITE, args, r),
                 -VMI_E_PERM);
    VMI_CHECK_ST("VMI-CALL-035", t->be->user_call(ctx, VMI_HC_NOP, args, r), 0);
    /* The same call from kernel mode right after: privilege is per call. */
    VMI_CHECK_ST("VMI-CALL-016",
                 CALL2(t, VMI_HC_CLOCK_REGISTER, VMI_GPA_NONE, 0, NULL), 0);
    VMI_CHECK_ST("VMI-CALL-016",
                 t->be->user_call(ctx, VMI_HC_CLOCK_REGISTER, args, r),
                 -VMI_E_PERM);
    VMI_CHECK_ST("VMI-CALL-035",
                 t->be->user_call(ctx, VMI_HC_TIME_READ, args, r), 0);
    VMI_CHECK("VMI-CALL-035", r[0] != 0);
    /* NOSYS precedes PERM; PERM precedes INVAL. */
    VMI_CHECK_ST("VMI-STS-007", t->be->user_call(ctx, 0x0999, args, r),
                 -VMI_E_NOSYS);
    args[1] = 1;
    VMI_CHECK_ST("VMI-STS-007",
                 t->be->user_call(ctx, VMI_HC_CLOCK_REGISTER, args, r),
                 -VMI_E_PERM);
}

/*
 * Every call, with arguments each of its checks refuses (reserved flags,
 * addresses outside RAM, ids out of range): the status is one the call's
 * "Statuses" row lists, or a common check's (VMI-STS-008).  The harness
 * also checks this for every call the suite makes.
 */
TEST(sts_statuses_are_listed_for_each_call)
{
    static const uint64_t numbers[] = {
#define NUM(name, num, priv, bn, feat, na, nr_) num,
        VMI_HC_LIST(NUM)
#undef NUM
    };
    const uint64_t junk = ~UINT64_C(0);
    uint32_t i, refused = 0;

    for (i = 0; i < COUNT_OF(numbers); i++) {
        int64_t st =
            CALL5(t, numbers[i], GPA_OUTSIDE + 1, junk, junk, junk, junk, NULL);

        if (st < 0)
            refused++;
        VMI_CHECK("VMI-STS-008",
                  st == 0 ||
                      (st < 0 && -st < 32 &&
                       ((VMI_HC_COMMON_STATUSES | VMI_HC_STATUSES(numbers[i])) &
                        (UINT32_C(1) << -st))));
    }
    VMI_CHECK("VMI-STS-008", refused + 2 >= COUNT_OF(numbers));
}

TEST(sts_checks_follow_precedence_order)
{
    struct vmi_clock_record *c = vmi_conform_alloc(t, 64, 32);
    uint64_t g = vmi_conform_gpa(t, c);

    /* INVAL before ALIGN before FAULT. */
    VMI_CHECK_ST("VMI-STS-007",
                 CALL2(t, VMI_HC_CLOCK_REGISTER, GPA_OUTSIDE + 4, 1, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-CALL-026",
                 CALL2(t, VMI_HC_CLOCK_REGISTER, GPA_OUTSIDE + 4, 0, NULL),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-CALL-025",
                 CALL2(t, VMI_HC_CLOCK_REGISTER, GPA_OUTSIDE, 0, NULL),
                 -VMI_E_FAULT);
    VMI_CHECK_ST(
        "VMI-CALL-024",
        CALL2(t, VMI_HC_CLOCK_REGISTER, UINT64_C(0xFFFFFFFFFFFFFFE0), 0, NULL),
        -VMI_E_FAULT);
    VMI_CHECK_ST("VMI-SEC-004",
                 CALL2(t, VMI_HC_CONSOLE_WRITE, UINT64_C(0xFFFFFFFFFFFFFFF0),
                       0x20, NULL),
                 -VMI_E_FAULT);
    /* FAULT before RANGE (vector 5 is out of range). */
    VMI_CHECK_ST("VMI-STS-007",
                 CALL3(t, VMI_HC_EVENT_REGISTER, GPA_OUTSIDE, 5, 0, NULL),
                 -VMI_E_FAULT);
    /* ALIGN before RANGE. */
    VMI_CHECK_ST("VMI-STS-007",
                 CALL3(t, VMI_HC_EVENT_REGISTER, g + 32, 5, 0, NULL),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-STS-005", CALL2(t, VMI_HC_CLOCK_REGISTER, g, 0, NULL), 0);
}

TEST(sts_rejected_call_changes_nothing)
{
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t r[2] = {9, 9};

    VMI_REQUIRE("VMI-STS-004", e != NULL);
    /* A rejected arm does not arm. */
    VMI_CHECK_ST("VMI-STS-004",
                 CALL5(t, VMI_HC_TIMER_ARM, 0, 0, 0, 64, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-STS-004", CALL5(t, VMI_HC_TIMER_ARM, 0, 0, 0, 3, 1, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-STS-004", CALL1(t, VMI_HC_TIMER_CANCEL, 0, r), 0);
    VMI_CHECK_EQ("VMI-STS-004", r[0], 0);
    VMI_CHECK_EQ("VMI-STS-004", cases_pending(e), 0);
    /* A rejected re-registration keeps the old record. */
    VMI_CHECK_ST("VMI-STS-004",
                 CALL3(t, VMI_HC_EVENT_REGISTER, GPA_OUTSIDE, VEC(40), 0, NULL),
                 -VMI_E_FAULT);
    VMI_CHECK_ST("VMI-STS-004", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 6, 0, NULL),
                 0);
    VMI_CHECK_EQ("VMI-STS-004", cases_pending(e), UINT64_C(1) << 6);
    /* A rejected send sets nothing. */
    VMI_CHECK_ST("VMI-STS-004", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 7, 8, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_EQ("VMI-STS-004", cases_pending(e), UINT64_C(1) << 6);
}

TEST(sec_hostile_arguments_never_break_the_host)
{
    /*
     * Deterministic pseudo-random arguments to the calls that cannot make
     * the host write guest memory (the suite shares its VM with them).
     */
    static const uint32_t nrs[] = {
        VMI_HC_TIME_READ,  VMI_HC_TIMER_ARM, VMI_HC_TIMER_CANCEL,
        VMI_HC_EVENT_SEND, VMI_HC_TLB_FLUSH, VMI_HC_PT_UPDATE,
        VMI_HC_PT_UNPIN,   VMI_HC_BLOCK,
    };
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15), a[5], r[2];
    uint32_t i, k, bad = 0;
    int64_t st;

    for (i = 0; i < 120; i++) {
        for (k = 0; k < 5; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            a[k] = (k == 4 || (x & 3) == 0) ? x : (x & 0xFFFFFFF);
        }
        if (nrs[i % COUNT_OF(nrs)] == VMI_HC_TIMER_ARM)
            a[0] &= 15; /* ids the harness cancels */
        if (nrs[i % COUNT_OF(nrs)] == VMI_HC_BLOCK)
            a[0] = 0; /* a past deadline: never sleeps */
        st = vmi_conform_call(t, nrs[i % COUNT_OF(nrs)], a[0], a[1], a[2], a[3],
                              a[4], r);
        if (st > 0 || st < -(int64_t)VMI_E_VERSION)
            bad++;
    }
    /* Each call answered with a defined status; the host still serves. */
    VMI_CHECK_EQ("VMI-STS-001", bad, 0);
    VMI_CHECK_ST("VMI-STS-001", CALL0(t, VMI_HC_NOP, NULL), 0);
    VMI_CHECK_ST("VMI-SEC-001", CALL0(t, VMI_HC_TIME_READ, r), 0);
    for (k = 0; k < 16; k++)
        CALL1(t, VMI_HC_TIMER_CANCEL, k, NULL);
}

#define PRE(name, cl, fl)                                                      \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, VMI_CONFORM_PRENEG | (fl), 0, 1, 1000,    \
            name                                                               \
    }
#define POST(name, cl, fl, feat)                                               \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, (fl), (feat), 1, 1000, name               \
    }

static const struct vmi_conform_test tests[] = {
    PRE(ver_calls_before_negotiation_return_state, "VMI-VER-036 VMI-STS-007",
        0),
    PRE(call_nosys_precedes_state, "VMI-STS-007 VMI-CALL-020", 0),
    PRE(ver_query_before_negotiation_reports_initial, "VMI-VER-037 VMI-VER-038",
        0),
    PRE(ver_negotiate_unimplemented_major_returns_version,
        "VMI-VER-030 VMI-STS-004", 0),
    PRE(ver_negotiate_undefined_feature_bits_ignored,
        "VMI-VER-029 VMI-VER-032 VMI-VER-035", VMI_CONFORM_FRESH_VM),
    PRE(ver_negotiate_missing_requirement_returns_inval,
        "VMI-VER-011 VMI-STS-007 VMI-STS-004", 0),
    PRE(ver_negotiate_grants_requested_subset_only,
        "VMI-VER-035 VMI-CALL-022 VMI-STS-007 VMI-STL-011 VMI-TMR-019 "
        "VMI-EVT-035 VMI-CPU-017 VMI-TLB-019 VMI-PT-025 VMI-MEM-013",
        VMI_CONFORM_FRESH_VM),
    PRE(ver_negotiate_without_clock_refuses_clock_calls,
        "VMI-CLK-034 VMI-CALL-022", VMI_CONFORM_FRESH_VM),
    PRE(ver_negotiate_drops_feature_whose_requirement_is_not_offered,
        "VMI-VER-035", VMI_CONFORM_FRESH_VM),
    PRE(call_user_mode_calls_refused_unless_requested,
        "VMI-CALL-034 VMI-STS-007", VMI_CONFORM_USER | VMI_CONFORM_FRESH_VM),
    PRE(ver_negotiate_agrees_version_and_grants_offered,
        "VMI-VER-009 VMI-VER-031 VMI-VER-014 VMI-VER-035 VMI-VER-016",
        VMI_CONFORM_NEGOTIATES),
    POST(ver_second_negotiate_returns_state, "VMI-VER-009 VMI-STS-007", 0, 0),
    POST(ver_query_reports_the_agreement, "VMI-VER-038", 0, 0),
    POST(call_unknown_numbers_return_nosys,
         "VMI-CALL-007 VMI-CALL-020 VMI-CALL-021", 0, 0),
    POST(call_number_uses_all_64_bits, "VMI-CALL-002 VMI-CALL-021",
         VMI_CONFORM_SIM, 0),
    POST(call_undefined_result_slots_written_zero,
         "VMI-CALL-008 VMI-CALL-029 VMI-SEC-012", 0,
         VMI_F_EVENTS | VMI_F_TIMER),
    POST(call_undefined_arguments_ignored, "VMI-CALL-009", 0,
         VMI_F_CLOCK | VMI_F_TIMER),
    POST(call_kernel_calls_from_user_mode_return_perm,
         "VMI-CALL-016 VMI-CALL-017 VMI-CALL-035 VMI-STS-007", VMI_CONFORM_USER,
         VMI_F_CLOCK | VMI_F_USER),
    POST(sts_checks_follow_precedence_order,
         "VMI-STS-007 VMI-STS-005 VMI-CALL-024 VMI-CALL-025 VMI-CALL-026 "
         "VMI-SEC-004",
         0, VMI_F_CLOCK | VMI_F_EVENTS),
    POST(sts_statuses_are_listed_for_each_call, "VMI-STS-008", 0,
         VMI_F_CLOCK | VMI_F_EVENTS),
    POST(sts_rejected_call_changes_nothing, "VMI-STS-004", 0,
         VMI_F_TIMER | VMI_F_EVENTS),
    POST(sec_hostile_arguments_never_break_the_host, "VMI-STS-001 VMI-SEC-001",
         0, VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER | VMI_F_TLB),
};

AREA(vmi_conform_area_core, "core", tests);
