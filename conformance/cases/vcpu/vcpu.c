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
    VMI_CHECK("VMI-CPU-002", !t->be->vcpu_is_started(t->be->ctx, id));
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

#define CPU(name, cl, fl)                                                      \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, (fl), VMI_F_VCPU, 2, 3000, name           \
    }

static const struct vmi_conform_test tests[] = {
    CPU(cpu_start_rejects_bad_arguments,
        "VMI-CPU-002 VMI-CPU-003 VMI-CPU-004 VMI-CPU-005 VMI-CPU-006 "
        "VMI-CPU-007 VMI-STS-007",
        VMI_CONFORM_FRESH_VCPU),
    CPU(cpu_start_runs_entry_with_arg_once,
        "VMI-CPU-001 VMI-CPU-007 VMI-CPU-009 VMI-CPU-011",
        VMI_CONFORM_FRESH_VCPU),
};

AREA(vmi_conform_area_vcpu, "vcpu", tests);
