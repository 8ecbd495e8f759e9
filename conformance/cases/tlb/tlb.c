/* SPDX-License-Identifier: MIT */
/* tlb.c: cases for TLB_FLUSH (VMI-TLB). */
#include "../cases.h"

TEST(tlb_flush_rejects_bad_arguments)
{
    struct vmi_tlb_range *rg = vmi_conform_alloc(t, 64, 16);
    uint64_t g = vmi_conform_gpa(t, rg), max = t->g->info.max_batch;
    uint32_t n = t->g->info.vcpu_count;
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    uint32_t before = 0, cnt, fl;
    uint64_t m;

    VMI_REQUIRE("VMI-TLB-001", rg != NULL);
    if (sim)
        before = sim->flushes(vmi_conform_sim_ctx(t), &m, &cnt, &fl);
    rg[0].gva = 0x200000;
    rg[0].pages = 2;
    VMI_CHECK_ST("VMI-TLB-001", CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, 0, 0, 4, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-TLB-001",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, 0, 0, 1u << 9, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-TLB-002",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, 0, 0, VMI_VCPUSET_ALL, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-TLB-003",
                 CALL5(t, VMI_HC_TLB_FLUSH, 32, 1, 0, 0, 0, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-TLB-004", CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, g, 0, 0, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-TLB-005",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, g + 8, 1, 0, NULL),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-TLB-006",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, GPA_OUTSIDE, 1, 0, NULL),
                 -VMI_E_FAULT);
    VMI_CHECK_ST("VMI-TLB-006",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, UINT64_C(0xFFFFFFFFFFFFFFF0),
                       2, 0, NULL),
                 -VMI_E_FAULT);
    if (n < 64)
        VMI_CHECK_ST(
            "VMI-TLB-007",
            CALL5(t, VMI_HC_TLB_FLUSH, 0, UINT64_C(1) << n, 0, 0, 0, NULL),
            -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-TLB-007",
                 CALL5(t, VMI_HC_TLB_FLUSH, ((uint64_t)n + 64) & ~63ull, 1, 0,
                       0, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-TLB-008",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, g, max + 1, 0, NULL),
                 -VMI_E_RANGE);
    rg[1].gva = 0x1000;
    rg[1].pages = 0;
    VMI_CHECK_ST("VMI-TLB-009", CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, g, 2, 0, NULL),
                 -VMI_E_INVAL);
    rg[1].gva = UINT64_C(0xFFFFFFFFFFFFE000);
    rg[1].pages = 3;
    VMI_CHECK_ST("VMI-TLB-009", CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, g, 2, 0, NULL),
                 -VMI_E_INVAL);
    /* A bad range (INVAL) and a vCPU set out of range (RANGE): the range's
     * check does not depend on the set's, so the lower number wins. */
    rg[1].gva = 0x1000;
    rg[1].pages = 0;
    VMI_CHECK_ST("VMI-STS-007",
                 CALL5(t, VMI_HC_TLB_FLUSH, ((uint64_t)n + 64) & ~63ull, 1, g,
                       2, 0, NULL),
                 -VMI_E_INVAL);
    rg[1].gva = 0x1800;
    rg[1].pages = 1;
    VMI_CHECK_ST("VMI-TLB-010", CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, g, 2, 0, NULL),
                 -VMI_E_ALIGN);
    if (sim)
        VMI_CHECK_EQ("VMI-TLB-011",
                     sim->flushes(vmi_conform_sim_ctx(t), &m, &cnt, &fl),
                     before);
    else
        VMI_CHECK("VMI-TLB-011", 1);
}

TEST(tlb_flush_accepts_valid_sets_and_ranges)
{
    struct vmi_tlb_range *rg = vmi_conform_alloc(t, 64, 16);
    uint64_t g = vmi_conform_gpa(t, rg);
    uint32_t n = t->g->info.vcpu_count;
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    uint64_t all = n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1, m = 0;
    uint32_t cnt = 0, before = 0, fl = 0;

    VMI_REQUIRE("VMI-TLB-021", rg != NULL);
    if (sim)
        before = sim->flushes(vmi_conform_sim_ctx(t), &m, &cnt, &fl);
    rg[0].gva = 0x400000;
    rg[0].pages = 16;
    rg[1].gva = UINT64_C(0xFFFFFFFF80000000);
    rg[1].pages = 1;
    VMI_CHECK_ST("VMI-TLB-021", CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, 0, 0, 0, NULL),
                 0);
    VMI_CHECK_ST("VMI-TLB-021",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, g, 2, VMI_TLB_GLOBAL, NULL),
                 0);
    VMI_CHECK_ST("VMI-TLB-021",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 0, g, 1,
                       VMI_VCPUSET_ALL | VMI_VCPUSET_EXCLUDE_SELF, NULL),
                 0);
    /* Every vCPU, most never started: they are ignored. */
    VMI_CHECK_ST("VMI-TLB-014",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, all, 0, 0, 0, NULL), 0);
    if (sim) {
        uint32_t calls = sim->flushes(vmi_conform_sim_ctx(t), &m, &cnt, &fl);

        VMI_CHECK("VMI-TLB-021", calls > before);
        uint64_t started = 0;
        uint32_t i;

        for (i = 0; i < n && i < 64; i++)
            if (t->be->vcpu_is_started(t->be->ctx, i))
                started |= UINT64_C(1) << i;
        /* The last flush reached vCPU 0 and no vCPU that never started. */
        VMI_CHECK("VMI-TLB-021", m & 1);
        VMI_CHECK("VMI-TLB-014", (m & ~started) == 0);
    } else {
        VMI_CHECK("VMI-TLB-014", 1);
    }
}

/*
 * More ranges than a host may care to pass on, on every vCPU: still VMI_OK
 * (the first draft's host answered VMI_E_LIMIT).
 */
TEST(tlb_flush_cannot_fail_after_validation)
{
    uint32_t n = t->g->info.max_batch < 1024 ? t->g->info.max_batch : 1024;
    struct vmi_tlb_range *rg = vmi_conform_alloc(t, 1024 * 16, 16);
    uint64_t g = vmi_conform_gpa(t, rg);

    VMI_REQUIRE("VMI-TLB-022", rg != NULL && n > 0);
    for (uint32_t i = 0; i < n; i++) {
        rg[i].gva = UINT64_C(0x400000) + (uint64_t)i * 0x10000;
        rg[i].pages = 1 + i % 16;
    }
    VMI_CHECK_ST("VMI-TLB-022",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 0, g, n,
                       VMI_VCPUSET_ALL | VMI_TLB_GLOBAL, NULL),
                 0);
    VMI_CHECK_ST("VMI-TLB-022", CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, g, n, 0, NULL),
                 0);
}

/*
 * VMI_TLB_GLOBAL reaches the embedder's flush.  Simulator only: a guest of
 * a host that flushes global translations anyway (vmi-run, QEMU) cannot
 * tell.
 */
TEST(tlb_flush_global_reaches_the_flush)
{
    struct vmi_tlb_range *rg = vmi_conform_alloc(t, 2 * 16, 16);
    uint64_t g = vmi_conform_gpa(t, rg), m = 0;
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    uint32_t cnt = 0, fl = 0, before;

    VMI_REQUIRE("VMI-TLB-023", rg != NULL && sim != NULL);
    rg[0].gva = 0x400000;
    rg[0].pages = 1;
    rg[1].gva = UINT64_C(0xFFFFFFFF80000000);
    rg[1].pages = 4;
    before = sim->flushes(vmi_conform_sim_ctx(t), &m, &cnt, &fl);
    VMI_CHECK_ST("VMI-TLB-023",
                 CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, g, 2, VMI_TLB_GLOBAL, NULL),
                 0);
    VMI_CHECK("VMI-TLB-023",
              sim->flushes(vmi_conform_sim_ctx(t), &m, &cnt, &fl) > before);
    VMI_CHECK("VMI-TLB-023", fl & VMI_TLB_GLOBAL);
    VMI_CHECK_ST("VMI-TLB-023", CALL5(t, VMI_HC_TLB_FLUSH, 0, 1, 0, 0, 0, NULL),
                 0);
    sim->flushes(vmi_conform_sim_ctx(t), &m, &cnt, &fl);
    VMI_CHECK_EQ("VMI-TLB-023", fl, 0);
}

#define TLB_FL(name, cl, fl)                                                   \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, (fl), VMI_F_TLB, 1, 2000, name            \
    }
#define TLB(name, cl) TLB_FL(name, cl, 0)

static const struct vmi_conform_test tests[] = {
    TLB(tlb_flush_rejects_bad_arguments,
        "VMI-TLB-001 VMI-TLB-002 VMI-TLB-003 VMI-TLB-004 VMI-TLB-005 "
        "VMI-TLB-006 VMI-TLB-007 VMI-TLB-008 VMI-TLB-009 VMI-TLB-010 "
        "VMI-STS-007 "
        "VMI-TLB-011"),
    TLB(tlb_flush_accepts_valid_sets_and_ranges, "VMI-TLB-021 VMI-TLB-014"),
    TLB(tlb_flush_cannot_fail_after_validation, "VMI-TLB-022"),
    TLB_FL(tlb_flush_global_reaches_the_flush, "VMI-TLB-023", VMI_CONFORM_SIM),
};

AREA(vmi_conform_area_tlb, "tlb", tests);
