/* SPDX-License-Identifier: MIT */
/* system.c: cases for the console (VMI-CON) and shutdown (VMI-SHD). */
#include "../cases.h"

/* Let 1 ms of VM clock pass (a busy loop if the clock cannot be read). */
static void wait_1ms(struct vmi_conform_t *t)
{
    uint64_t t0 = vmi_conform_time(t);

    for (volatile unsigned spin = 0; !t0 && spin < 1000000; spin++)
        ;
    while (t0 && vmi_conform_time(t) - t0 < 1000000)
        ;
}

TEST(con_write_checks_length_and_range)
{
    uint32_t max = t->g->info.max_console, i;
    char *b = vmi_conform_alloc(t, 64, 8);
    uint64_t r[2] = {5, 5}, sent = 0;
    int64_t st = 0;

    VMI_REQUIRE("VMI-CON-001", b != NULL);
    VMI_CHECK_ST("VMI-CON-001",
                 CALL2(t, VMI_HC_CONSOLE_WRITE, GPA_OUTSIDE, 0, r), 0);
    VMI_CHECK_EQ("VMI-CON-001", r[0], 0);
    VMI_CHECK_ST("VMI-CON-003",
                 CALL2(t, VMI_HC_CONSOLE_WRITE, vmi_conform_gpa(t, b),
                       (uint64_t)max + 1, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-CON-002",
                 CALL2(t, VMI_HC_CONSOLE_WRITE, GPA_OUTSIDE, 1, r),
                 -VMI_E_FAULT);
    VMI_CHECK_ST("VMI-CON-002",
                 CALL2(t, VMI_HC_CONSOLE_WRITE, ~UINT64_C(0), 2, r),
                 -VMI_E_FAULT);
    if (t->be->ram_end)
        VMI_CHECK_ST("VMI-CON-002",
                     CALL2(t, VMI_HC_CONSOLE_WRITE, t->be->ram_end - 2, 4, r),
                     -VMI_E_FAULT);
    vmi_conform_memcpy(b, "conformance console check\n", 26);
    /*
     * The host's rate limit may hold bytes back (VMI-CON-006) when earlier
     * output emptied its bucket: send the rest once the clock has moved on
     * (1 ms per try); in the end every byte is accepted and counted.
     */
    for (i = 0; i < 100 && sent < 26; i++) {
        st = CALL2(t, VMI_HC_CONSOLE_WRITE, vmi_conform_gpa(t, b) + sent,
                   26 - sent, r);
        if ((st != 0 && st != -VMI_E_AGAIN) || r[0] > 26 - sent)
            break;
        sent += r[0];
        if (st == 0)
            break; /* all accepted: r[0] must be what was left */
        wait_1ms(t);
    }
    VMI_CHECK_ST("VMI-CON-004", st, 0);
    VMI_CHECK_EQ("VMI-CON-004", sent, 26);
}

TEST(con_bytes_pass_unchanged_in_order)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint8_t *b = vmi_conform_alloc(t, 256, 8);
    uint64_t r[2] = {0, 0};
    size_t before, after, i;
    const char *out;
    int same = 1;

    VMI_REQUIRE("VMI-CON-004", b != NULL);
    for (i = 0; i < 256; i++)
        b[i] = (uint8_t)(255 - i);
    sim->console(ctx, &before);
    VMI_REQUIRE_ST(
        "VMI-CON-004",
        CALL2(t, VMI_HC_CONSOLE_WRITE, vmi_conform_gpa(t, b), 256, r), 0);
    out = sim->console(ctx, &after);
    VMI_CHECK_EQ("VMI-CON-004", after - before, 256);
    for (i = 0; i < 256 && after - before == 256; i++)
        if ((uint8_t)out[before + i] != b[i])
            same = 0;
    VMI_CHECK("VMI-CON-004", same);
}

TEST(con_rate_limit_accepts_leading_bytes)
{
    uint32_t max = t->g->info.max_console, i;
    char *b = vmi_conform_alloc(t, max, 8);
    uint64_t r[2] = {0, 0};
    int64_t st = 0;
    int seen = 0, ok = 1;

    VMI_REQUIRE("VMI-CON-006", b != NULL);
    vmi_conform_memset(b, 'x', max);
    /* Far more than any burst within no virtual time. */
    for (i = 0; i < 64 && !seen; i++) {
        st = CALL2(t, VMI_HC_CONSOLE_WRITE, vmi_conform_gpa(t, b), max, r);
        if (st == -VMI_E_AGAIN) {
            seen = 1;
            if (r[0] >= max)
                ok = 0;
        } else if (st != 0 || r[0] != max) {
            ok = 0;
        }
    }
    VMI_CHECK("VMI-CON-006", seen && ok);
    /* The reference host limits the rate (a SHOULD it follows). */
    VMI_CHECK("VMI-CON-005", seen);
    st = CALL2(t, VMI_HC_CONSOLE_WRITE, vmi_conform_gpa(t, b), max, r);
    VMI_CHECK("VMI-CON-006", st == -VMI_E_AGAIN && r[0] < max);
}

TEST(shd_rejects_bad_reason_and_status)
{
    uint64_t r[2];

    VMI_CHECK_ST("VMI-SHD-001", CALL2(t, VMI_HC_SHUTDOWN, 3, 0, r),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-SHD-001",
                 CALL2(t, VMI_HC_SHUTDOWN, UINT64_C(1) << 32, 0, r),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-SHD-002",
                 CALL2(t, VMI_HC_SHUTDOWN, VMI_SHUTDOWN_POWEROFF, 256, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST(
        "VMI-SHD-002",
        CALL2(t, VMI_HC_SHUTDOWN, VMI_SHUTDOWN_CRASH, UINT64_C(1) << 40, r),
        -VMI_E_RANGE);
    /* INVAL before RANGE. */
    VMI_CHECK_ST("VMI-STS-007", CALL2(t, VMI_HC_SHUTDOWN, 9, 999, r),
                 -VMI_E_INVAL);
    /* Still running. */
    VMI_CHECK_ST("VMI-STS-004", CALL0(t, VMI_HC_NOP, r), 0);
}

TEST(shd_success_ends_vm_and_reports)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e = cases_events(t, 40);
    uint32_t reason = 9, status = 9;
    uint64_t now;

    VMI_REQUIRE("VMI-SHD-004", e != NULL);
    now = vmi_conform_time(t);
    CALL5(t, VMI_HC_TIMER_ARM, 0, now + 1000, 0, 3, 0, NULL);
    VMI_CHECK_ST("VMI-SHD-003",
                 CALL2(t, VMI_HC_SHUTDOWN, VMI_SHUTDOWN_REBOOT, 201, NULL), 0);
    VMI_CHECK_EQ("VMI-SHD-004", sim->shutdown(ctx, &reason, &status), 1);
    /* The embedder was told to stop the VM (action SHUTDOWN). */
    VMI_CHECK_EQ("VMI-VER-005", sim->shutdown(ctx, &reason, &status), 1);
    VMI_CHECK_EQ("VMI-SHD-004", reason, VMI_SHUTDOWN_REBOOT);
    VMI_CHECK_EQ("VMI-SHD-004", status, 201);
    VMI_CHECK_ST("VMI-SHD-005", CALL0(t, VMI_HC_TIME_READ, NULL), -VMI_E_STATE);
    VMI_CHECK_ST("VMI-VER-006", CALL0(t, VMI_HC_NOP, NULL), -VMI_E_STATE);
    VMI_CHECK_ST("VMI-VER-006",
                 CALL2(t, VMI_HC_SHUTDOWN, VMI_SHUTDOWN_POWEROFF, 0, NULL),
                 -VMI_E_STATE);
    sim->advance_ns(ctx, 10000000);
    VMI_CHECK_EQ("VMI-SHD-006", cases_pending(e), 0);
}

TEST(ver_reboot_starts_in_initial_state)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t r[2] = {0, 0};

    VMI_REQUIRE("VMI-VER-007", e != NULL);
    CALL5(t, VMI_HC_TIMER_ARM, 3, UINT64_C(1) << 62, 0, 1, 0, NULL);
    VMI_REQUIRE_ST("VMI-VER-007",
                   CALL2(t, VMI_HC_SHUTDOWN, VMI_SHUTDOWN_REBOOT, 0, NULL), 0);
    VMI_REQUIRE("VMI-VER-007", sim->reboot(ctx) == 0);
    VMI_CHECK_ST("VMI-VER-007", CALL0(t, VMI_HC_TIME_READ, r), -VMI_E_STATE);
    VMI_CHECK_EQ("VMI-VER-007", sim->stat(ctx, VMI_CONFORM_STAT_TIMERS), 0);
    VMI_CHECK_ST("VMI-VER-007",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0),
                       VMI_F_EVENTS | VMI_F_TIMER | VMI_F_CLOCK, r),
                 0);
    VMI_CHECK_ST("VMI-VER-007", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 4, 0, NULL),
                 0);
    /* The old record is not registered any more. */
    VMI_CHECK_EQ("VMI-VER-007", cases_pending(e), 0);
}

TEST(ver_reset_returns_the_vm_to_initial)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e = cases_events(t, 40);
    struct vmi_clock_record *c = cases_clock(t);
    struct vmi_mem_extent *x = vmi_conform_alloc(t, sizeof(*x), 64);
    uint8_t *page = vmi_conform_alloc(t, 4096, 4096);
    uint64_t r[2] = {0, 0}, version;
    uint32_t id;

    VMI_REQUIRE("VMI-VER-041", e && c && x && page);
    VMI_REQUIRE_ST("VMI-VER-041",
                   CALL5(t, VMI_HC_TIMER_ARM, 3, vmi_conform_time(t) + 1000000,
                         0, 1, 0, NULL),
                   0);
    x->gpa = vmi_conform_gpa(t, page);
    x->pages = 1;
    VMI_REQUIRE_ST(
        "VMI-VER-041",
        CALL4(t, VMI_HC_MEM_RELEASE, vmi_conform_gpa(t, x), 1, 0, 0, NULL), 0);
    VMI_REQUIRE("VMI-VER-041", vmi_conform_vcpu_start(t, &id) == 0);
    VMI_CHECK_ST("VMI-VER-039", CALL1(t, VMI_HC_RESET, 1, NULL), -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-VER-041", CALL1(t, VMI_HC_RESET, 0, NULL), 0);
    /* INITIAL: nothing agreed, gated calls refused. */
    VMI_CHECK_ST("VMI-VER-041", CALL1(t, VMI_HC_QUERY, 0, r), 0);
    VMI_CHECK_EQ("VMI-VER-041", r[0], (uint64_t)VMI_LIFECYCLE_INITIAL << 32);
    VMI_CHECK_EQ("VMI-VER-041", r[1], 0);
    VMI_CHECK_ST("VMI-VER-036", CALL0(t, VMI_HC_TIME_READ, r), -VMI_E_STATE);
    /* Timers cancelled, memory given back, the other vCPU stopped. */
    VMI_CHECK_EQ("VMI-VER-041", sim->stat(ctx, VMI_CONFORM_STAT_TIMERS), 0);
    VMI_CHECK_EQ("VMI-VER-041", sim->stat(ctx, VMI_CONFORM_STAT_RELEASED), 0);
    VMI_CHECK("VMI-VER-041", !sim->is_released(ctx, x->gpa));
    VMI_CHECK("VMI-VER-041", !t->be->vcpu_is_started(t->be->ctx, id));
    /* The clock record is written no more. */
    version = vmi_conform_load64((const uint64_t *)(const void *)c);
    sim->clock_update(ctx, 0);
    sim->advance_ns(ctx, 5000000);
    VMI_CHECK_EQ("VMI-VER-041",
                 vmi_conform_load64((const uint64_t *)(const void *)c),
                 version);
    /* A new agreement, and the old event record is not registered. */
    VMI_CHECK_ST("VMI-VER-041",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0),
                       VMI_F_EVENTS | VMI_F_TIMER | VMI_F_CLOCK, r),
                 0);
    VMI_CHECK_ST("VMI-VER-041", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 4, 0, NULL),
                 0);
    VMI_CHECK_EQ("VMI-VER-041", cases_pending(e), 0);
}

/* VMI-VER-040: a RESET that cannot give memory back changes nothing. */
TEST(ver_reset_that_cannot_reclaim_changes_nothing)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_mem_extent *x = vmi_conform_alloc(t, sizeof(*x), 64);
    uint8_t *page = vmi_conform_alloc(t, 4096, 4096);
    uint64_t r[2] = {0, 0};

    VMI_REQUIRE("VMI-VER-040", x && page);
    x->gpa = vmi_conform_gpa(t, page);
    x->pages = 1;
    VMI_REQUIRE_ST(
        "VMI-VER-040",
        CALL4(t, VMI_HC_MEM_RELEASE, vmi_conform_gpa(t, x), 1, 0, 0, NULL), 0);
    sim->fail_reclaim(ctx, 1);
    VMI_CHECK_ST("VMI-VER-040", CALL1(t, VMI_HC_RESET, 0, NULL), -VMI_E_LIMIT);
    sim->fail_reclaim(ctx, 0);
    VMI_CHECK_ST("VMI-VER-040", CALL1(t, VMI_HC_QUERY, 0, r), 0);
    VMI_CHECK_EQ("VMI-VER-040", r[0] >> 32, VMI_LIFECYCLE_NEGOTIATED);
    VMI_CHECK_EQ("VMI-VER-040", sim->stat(ctx, VMI_CONFORM_STAT_RELEASED), 1);
}

/* VMI-VER-042: an architectural reset is a RESET. */
TEST(ver_platform_reset_acts_as_reset)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t r[2] = {0, 0};

    VMI_REQUIRE("VMI-VER-042", e != NULL);
    VMI_REQUIRE_ST(
        "VMI-VER-042",
        CALL5(t, VMI_HC_TIMER_ARM, 3, UINT64_C(1) << 62, 0, 1, 0, NULL), 0);
    VMI_REQUIRE("VMI-VER-042", sim->platform_reset(ctx, -1, 0) == 0);
    VMI_CHECK_ST("VMI-VER-042", CALL1(t, VMI_HC_QUERY, 0, r), 0);
    VMI_CHECK_EQ("VMI-VER-042", r[0], (uint64_t)VMI_LIFECYCLE_INITIAL << 32);
    VMI_CHECK_EQ("VMI-VER-042", sim->stat(ctx, VMI_CONFORM_STAT_TIMERS), 0);
    VMI_CHECK_ST("VMI-VER-042",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0),
                       VMI_F_EVENTS | VMI_F_TIMER | VMI_F_CLOCK, r),
                 0);
    VMI_CHECK_ST("VMI-VER-042", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 4, 0, NULL),
                 0);
    VMI_CHECK_EQ("VMI-VER-042", cases_pending(e), 0);
}

#define SYS(name, cl, fl)                                                      \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, (fl), 0, 1, 2000, name                    \
    }

static const struct vmi_conform_test tests[] = {
    SYS(con_write_checks_length_and_range,
        "VMI-CON-001 VMI-CON-002 VMI-CON-003 VMI-CON-004", 0),
    SYS(con_bytes_pass_unchanged_in_order, "VMI-CON-004", VMI_CONFORM_SIM),
    SYS(con_rate_limit_accepts_leading_bytes, "VMI-CON-005 VMI-CON-006",
        VMI_CONFORM_SIM),
    SYS(shd_rejects_bad_reason_and_status,
        "VMI-SHD-001 VMI-SHD-002 VMI-STS-007 VMI-STS-004", 0),
    {"shd_success_ends_vm_and_reports",
     "VMI-SHD-003 VMI-SHD-004 VMI-SHD-005 VMI-SHD-006 VMI-VER-005 "
     "VMI-VER-006",
     VMI_PROFILE_CORE, VMI_CONFORM_SIM | VMI_CONFORM_FRESH_VM, VMI_F_TIMER, 1,
     2000, shd_success_ends_vm_and_reports},
    {"ver_reset_returns_the_vm_to_initial",
     "VMI-VER-036 VMI-VER-039 VMI-VER-041", VMI_PROFILE_CORE,
     VMI_CONFORM_SIM | VMI_CONFORM_FRESH_VM,
     VMI_F_TIMER | VMI_F_EVENTS | VMI_F_CLOCK | VMI_F_MEM | VMI_F_VCPU, 2, 2000,
     ver_reset_returns_the_vm_to_initial},
    {"ver_reset_that_cannot_reclaim_changes_nothing", "VMI-VER-040",
     VMI_PROFILE_CORE, VMI_CONFORM_SIM | VMI_CONFORM_FRESH_VM, VMI_F_MEM, 1,
     2000, ver_reset_that_cannot_reclaim_changes_nothing},
    {"ver_platform_reset_acts_as_reset", "VMI-VER-042", VMI_PROFILE_CORE,
     VMI_CONFORM_SIM | VMI_CONFORM_FRESH_VM, VMI_F_TIMER | VMI_F_EVENTS, 1,
     2000, ver_platform_reset_acts_as_reset},
    {"ver_reboot_starts_in_initial_state", "VMI-VER-007", VMI_PROFILE_CORE,
     VMI_CONFORM_SIM | VMI_CONFORM_FRESH_VM, VMI_F_TIMER, 1, 2000,
     ver_reboot_starts_in_initial_state},
};

AREA(vmi_conform_area_system, "system", tests);
