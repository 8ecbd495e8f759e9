/* SPDX-License-Identifier: MIT */
/* vcpu.c: cases for VCPU_START (VMI-CPU). */
#include "../cases.h"

TEST(cpu_start_rejects_bad_arguments)
{
    struct vmi_vcpu_start *st = vmi_conform_alloc(t, 128, 64);
    uint32_t n = t->g->info.vcpu_count, id;
    uint64_t g = vmi_conform_gpa(t, st);

    VMI_REQUIRE("VMI-CPU-006", st != NULL);
    VMI_REQUIRE("VMI-CPU-005", vmi_conform_vcpu_fresh(t, &id) == 0);
    t->be->vcpu_state(t->be->ctx, id, st);
    VMI_CHECK_ST("VMI-CPU-006", CALL2(t, VMI_HC_VCPU_START, n, g, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-CPU-006",
                 CALL2(t, VMI_HC_VCPU_START, (UINT64_C(1) << 32) | id, g, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-CPU-003", CALL2(t, VMI_HC_VCPU_START, id, g + 32, NULL),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-CPU-004",
                 CALL2(t, VMI_HC_VCPU_START, id, GPA_OUTSIDE, NULL),
                 -VMI_E_FAULT);
    VMI_CHECK_ST(
        "VMI-CPU-004",
        CALL2(t, VMI_HC_VCPU_START, id, UINT64_C(0xFFFFFFFFFFFFFFC0), NULL),
        -VMI_E_FAULT);
    st->flags = 1;
    VMI_CHECK_ST("VMI-CPU-005", CALL2(t, VMI_HC_VCPU_START, id, g, NULL),
                 -VMI_E_INVAL);
    st->flags = 0;
    st->reserved0[2] = 1;
    VMI_CHECK_ST("VMI-CPU-005", CALL2(t, VMI_HC_VCPU_START, id, g, NULL),
                 -VMI_E_INVAL);
    st->reserved0[2] = 0;
    /* vCPU 0 always runs; BUSY comes after ALIGN and INVAL. */
    VMI_CHECK_ST("VMI-CPU-007", CALL2(t, VMI_HC_VCPU_START, 0, g, NULL),
                 -VMI_E_BUSY);
    VMI_CHECK_ST("VMI-STS-007", CALL2(t, VMI_HC_VCPU_START, 0, g + 8, NULL),
                 -VMI_E_ALIGN);
    /* None of the rejected calls started it. */
    VMI_CHECK("VMI-CPU-018", !t->be->vcpu_is_started(t->be->ctx, id));
}

TEST(cpu_start_runs_entry_with_arg_once)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    struct vmi_vcpu_start *st = vmi_conform_alloc(t, 64, 64), seen;
    uint32_t id;
    uint64_t g = vmi_conform_gpa(t, st);

    VMI_REQUIRE("VMI-CPU-009", st != NULL);
    VMI_REQUIRE("VMI-CPU-009", vmi_conform_vcpu_fresh(t, &id) == 0);
    VMI_CHECK("VMI-CPU-001", !t->be->vcpu_is_started(t->be->ctx, id));
    t->be->vcpu_state(t->be->ctx, id, st);
    VMI_REQUIRE_ST("VMI-CPU-009", CALL2(t, VMI_HC_VCPU_START, id, g, NULL), 0);
    VMI_CHECK("VMI-CPU-009", t->be->vcpu_started(t->be->ctx, id) == 0);
    VMI_CHECK("VMI-CPU-011", t->be->vcpu_started(t->be->ctx, id) == 0);
    if (sim) {
        VMI_CHECK("VMI-CPU-011",
                  sim->last_start(vmi_conform_sim_ctx(t), id, &seen) == 1 &&
                      seen.entry_gva == st->entry_gva &&
                      seen.stack_gva == st->stack_gva &&
                      seen.page_table_gpa == st->page_table_gpa &&
                      seen.arg == st->arg);
    }
    VMI_CHECK_ST("VMI-CPU-007", CALL2(t, VMI_HC_VCPU_START, id, g, NULL),
                 -VMI_E_BUSY);
    if (!t->run->worker)
        t->run->worker = id;
}

struct stop_arg {
    struct vmi_event_record *e;
    int64_t reg, stop;
};

/* On a vCPU: register a record. */
static void register_only(struct vmi_conform_t *t, void *arg)
{
    struct stop_arg *a = arg;

    a->reg = CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, a->e), VEC(40),
                   0, NULL);
}

/* On the vCPU to take offline: register a record, then stop. */
static void stop_self(struct vmi_conform_t *t, void *arg)
{
    struct stop_arg *a = arg;

    a->reg = CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, a->e), VEC(40),
                   0, NULL);
    a->stop = CALL1(t, VMI_HC_VCPU_STOP, 0, NULL);
}

TEST(cpu_stop_takes_the_caller_offline)
{
    struct vmi_vcpu_start *st = vmi_conform_alloc(t, sizeof(*st), 64);
    struct stop_arg a = {vmi_conform_alloc(t, 64, 64), -1, -1};
    uint32_t id;
    int others = 0;

    VMI_REQUIRE("VMI-CPU-023", st && a.e);
    for (id = 1; id < t->run->vcpu_count; id++)
        others |= t->be->vcpu_is_started(t->be->ctx, id);
    VMI_CHECK_ST("VMI-CPU-021", CALL1(t, VMI_HC_VCPU_STOP, 1, NULL),
                 -VMI_E_INVAL);
    if (!others) /* vCPU 0 is the only running one */
        VMI_CHECK_ST("VMI-CPU-022", CALL1(t, VMI_HC_VCPU_STOP, 0, NULL),
                     -VMI_E_BUSY);
    VMI_REQUIRE("VMI-CPU-023", vmi_conform_vcpu_start(t, &id) == 0);
    t->be->vcpu_state(t->be->ctx, id, st); /* for the restart below */
    VMI_REQUIRE("VMI-CPU-023", vmi_conform_vcpu_run(t, id, stop_self, &a) == 0);
    VMI_CHECK_EQ("VMI-CPU-023", a.reg, 0);
    VMI_CHECK_EQ("VMI-CPU-023", a.stop, 0);
    VMI_CHECK("VMI-CPU-023", !t->be->vcpu_is_started(t->be->ctx, id));
    /* Its record is unregistered: an event waits host-side. */
    VMI_CHECK_ST("VMI-CPU-023",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, UINT64_C(1) << id, 5, 0, NULL),
                 0);
    VMI_CHECK_EQ("VMI-CPU-023", cases_pending(a.e), 0);
    /* Stopped, so it can be started again. */
    VMI_CHECK_ST("VMI-CPU-018",
                 CALL2(t, VMI_HC_VCPU_START, id, vmi_conform_gpa(t, st), NULL),
                 0);
    VMI_CHECK("VMI-CPU-018", t->be->vcpu_started(t->be->ctx, id) == 0);
}

/* VMI-CPU-020: INIT stops a vCPU as VCPU_STOP does; SIPI starts it. */
TEST(cpu_platform_init_acts_as_stop)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_vcpu_start *st = vmi_conform_alloc(t, sizeof(*st), 64);
    struct stop_arg a = {vmi_conform_alloc(t, 64, 64), -1, -1};
    uint32_t id;

    VMI_REQUIRE("VMI-CPU-020", st && a.e);
    VMI_REQUIRE("VMI-CPU-020", vmi_conform_vcpu_fresh(t, &id) == 0);
    /* Started by the platform: VCPU_START sees it started (BUSY). */
    VMI_REQUIRE("VMI-CPU-020", sim->platform_reset(ctx, (int)id, 1) == 0);
    t->be->vcpu_state(t->be->ctx, id, st);
    VMI_CHECK_ST("VMI-CPU-020",
                 CALL2(t, VMI_HC_VCPU_START, id, vmi_conform_gpa(t, st), NULL),
                 -VMI_E_BUSY);
    /* INIT: its record is unregistered, and VCPU_START may start it. */
    a.reg = -1;
    VMI_REQUIRE("VMI-CPU-020",
                vmi_conform_vcpu_run(t, id, register_only, &a) == 0);
    VMI_REQUIRE_ST("VMI-CPU-020", a.reg, 0);
    VMI_REQUIRE("VMI-CPU-020", sim->platform_reset(ctx, (int)id, 0) == 0);
    VMI_CHECK_ST("VMI-CPU-020",
                 CALL4(t, VMI_HC_EVENT_SEND, 0, UINT64_C(1) << id, 5, 0, NULL),
                 0);
    VMI_CHECK_EQ("VMI-CPU-020", cases_pending(a.e), 0);
    VMI_CHECK_ST("VMI-CPU-020",
                 CALL2(t, VMI_HC_VCPU_START, id, vmi_conform_gpa(t, st), NULL),
                 0);
}

/*
 * VMI-CPU-029: a vCPU that firmware started with the platform's mechanism
 * before the guest negotiated is stopped by the NEGOTIATE, so that the
 * guest can start it with VMI_HC_VCPU_START.
 */
TEST(cpu_negotiate_ends_firmware_starts)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_vcpu_start *st = vmi_conform_alloc(t, sizeof(*st), 64);
    uint64_t r[2] = {0, 0};

    VMI_REQUIRE("VMI-CPU-029", st != NULL);
    VMI_REQUIRE("VMI-CPU-029", sim->platform_reset(ctx, 1, 1) == 0);
    VMI_REQUIRE_ST("VMI-CPU-029",
                   CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0),
                         VMI_F_VCPU | VMI_F_EVENTS, r),
                   0);
    if (!(r[1] & VMI_F_VCPU)) {
        vmi_conform_na(t, "the host does not offer VMI_F_VCPU");
        return;
    }
    t->be->vcpu_state(t->be->ctx, 1, st);
    VMI_CHECK_ST("VMI-CPU-029",
                 CALL2(t, VMI_HC_VCPU_START, 1, vmi_conform_gpa(t, st), NULL),
                 0);
    VMI_CHECK("VMI-CPU-029", t->be->vcpu_started(t->be->ctx, 1) == 0);
}

#define CPU(name, cl, fl)                                                      \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, (fl), VMI_F_VCPU, 2, 3000, name           \
    }

static const struct vmi_conform_test tests[] = {
    CPU(cpu_start_rejects_bad_arguments,
        "VMI-CPU-018 VMI-CPU-003 VMI-CPU-004 VMI-CPU-005 VMI-CPU-006 "
        "VMI-CPU-007 VMI-STS-007",
        VMI_CONFORM_FRESH_VCPU),
    CPU(cpu_start_runs_entry_with_arg_once,
        "VMI-CPU-001 VMI-CPU-007 VMI-CPU-009 VMI-CPU-011",
        VMI_CONFORM_FRESH_VCPU),
    {"cpu_stop_takes_the_caller_offline",
     "VMI-CPU-018 VMI-CPU-021 VMI-CPU-022 VMI-CPU-023", VMI_PROFILE_CORE,
     VMI_CONFORM_SIM | VMI_CONFORM_FRESH_VM, VMI_F_VCPU | VMI_F_EVENTS, 2, 3000,
     cpu_stop_takes_the_caller_offline},
    {"cpu_platform_init_acts_as_stop", "VMI-CPU-020", VMI_PROFILE_CORE,
     VMI_CONFORM_SIM | VMI_CONFORM_FRESH_VM, VMI_F_VCPU | VMI_F_EVENTS, 2, 3000,
     cpu_platform_init_acts_as_stop},
    {"cpu_negotiate_ends_firmware_starts", "VMI-CPU-029", VMI_PROFILE_CORE,
     VMI_CONFORM_PRENEG | VMI_CONFORM_SIM | VMI_CONFORM_FRESH_VM, 0, 2, 3000,
     cpu_negotiate_ends_firmware_starts},
};

AREA(vmi_conform_area_vcpu, "vcpu", tests);
