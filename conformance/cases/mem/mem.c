/* SPDX-License-Identifier: MIT */
/* mem.c: cases for memory release and reclaim (VMI-MEM, VMI-BAT). */
#include "../cases.h"

static int64_t rel(struct vmi_conform_t *t, uint32_t nr,
                   struct vmi_mem_extent *x, uint32_t n, uint64_t *r)
{
    return CALL4(t, nr, vmi_conform_gpa(t, x), n, 0, 0, r);
}

TEST(mem_release_rejects_bad_extents)
{
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 16 * 4, 16);
    uint8_t *pg = vmi_conform_alloc(t, 4096, 4096);
    uint64_t r[2] = {0, 0}, xg = vmi_conform_gpa(t, x);

    VMI_REQUIRE("VMI-MEM-001", x && pg);
    x[0].gpa = vmi_conform_gpa(t, pg);
    x[0].pages = 1;
    VMI_CHECK_ST("VMI-MEM-001", CALL4(t, VMI_HC_MEM_RELEASE, xg, 1, 0, 2, r),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-MEM-001", CALL4(t, VMI_HC_MEM_RECLAIM, xg, 1, 0, 1, r),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-BAT-001",
                 CALL4(t, VMI_HC_MEM_RELEASE, xg + 8, 1, 0, 0, r),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-BAT-003",
                 CALL4(t, VMI_HC_MEM_RELEASE, xg,
                       (uint64_t)t->g->info.max_batch + 1, 0, 0, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-BAT-004", CALL4(t, VMI_HC_MEM_RELEASE, xg, 1, 2, 0, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-BAT-002",
                 CALL4(t, VMI_HC_MEM_RELEASE, GPA_OUTSIDE, 1, 0, 0, r),
                 -VMI_E_FAULT);
    x[1].gpa = vmi_conform_gpa(t, pg) + 0x800;
    x[1].pages = 1;
    VMI_CHECK_ST("VMI-MEM-003", rel(t, VMI_HC_MEM_RELEASE, x, 2, r),
                 -VMI_E_ALIGN);
    VMI_CHECK_EQ("VMI-BAT-007", r[0], 1);
    x[1].gpa = vmi_conform_gpa(t, pg);
    x[1].pages = 0;
    VMI_CHECK_ST("VMI-MEM-002", rel(t, VMI_HC_MEM_RELEASE, x, 2, r),
                 -VMI_E_INVAL);
    VMI_CHECK_EQ("VMI-BAT-007", r[0], 1);
    /* Longer than an extent may be: INVAL, before the RAM check. */
    x[1].gpa = vmi_conform_gpa(t, pg);
    x[1].pages = VMI_MEM_EXTENT_MAX_PAGES + 1;
    VMI_CHECK_ST("VMI-MEM-018", rel(t, VMI_HC_MEM_RELEASE, x, 2, r),
                 -VMI_E_INVAL);
    VMI_CHECK_EQ("VMI-MEM-018", r[0], 1);
    x[1].pages = ~UINT64_C(0);
    VMI_CHECK_ST("VMI-MEM-018", rel(t, VMI_HC_MEM_RECLAIM, x, 2, r),
                 -VMI_E_INVAL);
    x[1].gpa = GPA_OUTSIDE;
    x[1].pages = 1;
    VMI_CHECK_ST("VMI-MEM-004", rel(t, VMI_HC_MEM_RELEASE, x, 2, r),
                 -VMI_E_FAULT);
    x[1].gpa = GPA_WRAP;
    x[1].pages = 2;
    VMI_CHECK_ST("VMI-MEM-004", rel(t, VMI_HC_MEM_RELEASE, x, 2, r),
                 -VMI_E_FAULT);
    if (t->be->ram_end) {
        x[1].gpa = t->be->ram_end - 4096;
        x[1].pages = 2;
        VMI_CHECK_ST("VMI-MEM-004", rel(t, VMI_HC_MEM_RELEASE, x, 2, r),
                     -VMI_E_FAULT);
    }
    /* Entry 0 was applied each time: give the page back. */
    VMI_CHECK_ST("VMI-MEM-009", rel(t, VMI_HC_MEM_RECLAIM, x, 1, r), 0);
}

TEST(mem_reclaimed_pages_read_zero)
{
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 16 * 2, 16);
    uint8_t *pg = vmi_conform_alloc(t, 3 * 4096, 4096);
    uint64_t r[2] = {0, 0};
    uint32_t i, nz = 0;

    VMI_REQUIRE("VMI-MEM-009", x && pg);
    vmi_conform_memset(pg, 0x77, 3 * 4096);
    x[0].gpa = vmi_conform_gpa(t, pg);
    x[0].pages = 2;
    VMI_REQUIRE_ST("VMI-BAT-010", rel(t, VMI_HC_MEM_RELEASE, x, 1, r), 0);
    VMI_CHECK_EQ("VMI-BAT-010", r[0], 1);
    VMI_CHECK_ST("VMI-MEM-009", rel(t, VMI_HC_MEM_RECLAIM, x, 1, r), 0);
    for (i = 0; i < 2 * 4096; i++)
        nz += pg[i] != 0;
    VMI_CHECK_EQ("VMI-MEM-009", nz, 0);
    /* The page after the extent was not touched. */
    VMI_CHECK("VMI-SEC-017", pg[2 * 4096] == 0x77 && pg[3 * 4096 - 1] == 0x77);
    /* Reclaim of pages never released leaves them alone. */
    x[0].gpa = vmi_conform_gpa(t, pg + 2 * 4096);
    x[0].pages = 1;
    VMI_CHECK_ST("VMI-MEM-008", rel(t, VMI_HC_MEM_RECLAIM, x, 1, r), 0);
    VMI_CHECK("VMI-MEM-008", pg[2 * 4096] == 0x77 && pg[3 * 4096 - 1] == 0x77);
}

TEST(mem_released_page_count_exact)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 16 * 2, 16);
    uint8_t *pg = vmi_conform_alloc(t, 4 * 4096, 4096);
    uint64_t r[2] = {0, 0}, base;

    VMI_REQUIRE("VMI-MEM-010", x && pg);
    base = sim->stat(ctx, VMI_CONFORM_STAT_RELEASED);
    x[0].gpa = vmi_conform_gpa(t, pg);
    x[0].pages = 3;
    x[1].gpa = vmi_conform_gpa(t, pg) + 4096;
    x[1].pages = 3; /* overlaps two pages of the first */
    VMI_REQUIRE_ST("VMI-MEM-007", rel(t, VMI_HC_MEM_RELEASE, x, 2, r), 0);
    VMI_CHECK_EQ("VMI-MEM-010", sim->stat(ctx, VMI_CONFORM_STAT_RELEASED),
                 base + 4);
    VMI_CHECK_ST("VMI-MEM-007", rel(t, VMI_HC_MEM_RELEASE, x, 1, r), 0);
    VMI_CHECK_EQ("VMI-MEM-007", sim->stat(ctx, VMI_CONFORM_STAT_RELEASED),
                 base + 4);
    x[0].gpa = vmi_conform_gpa(t, pg) + 4096;
    x[0].pages = 1;
    VMI_CHECK_ST("VMI-MEM-010", rel(t, VMI_HC_MEM_RECLAIM, x, 1, r), 0);
    VMI_CHECK_EQ("VMI-MEM-010", sim->stat(ctx, VMI_CONFORM_STAT_RELEASED),
                 base + 3);
    VMI_CHECK("VMI-MEM-006", sim->is_released(ctx, vmi_conform_gpa(t, pg)));
    x[0].gpa = vmi_conform_gpa(t, pg);
    x[0].pages = 4;
    VMI_CHECK_ST("VMI-MEM-010", rel(t, VMI_HC_MEM_RECLAIM, x, 1, r), 0);
    VMI_CHECK_EQ("VMI-MEM-010", sim->stat(ctx, VMI_CONFORM_STAT_RELEASED),
                 base);
}

TEST(mem_release_long_batch_restarts)
{
    uint32_t n = 40, i, calls = 0, ok = 1, again = 0;
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 16 * n, 16);
    uint8_t *pg = vmi_conform_alloc(t, 4096 * 2, 4096);
    uint64_t r[2] = {0, 0}, start = 0;
    int64_t st;

    VMI_REQUIRE("VMI-BAT-008", x && pg);
    for (i = 0; i < n; i++) {
        x[i].gpa = vmi_conform_gpa(t, pg) + 4096 * (i & 1);
        x[i].pages = 1;
    }
    pg[5] = 1;
    pg[4096 + 5] = 1;
    do {
        st =
            CALL4(t, VMI_HC_MEM_RELEASE, vmi_conform_gpa(t, x), n, start, 0, r);
        calls++;
        if (st == -VMI_E_AGAIN) {
            again++;
            if (r[0] <= start)
                ok = 0;
            start = r[0];
        }
    } while (st == -VMI_E_AGAIN && ok && calls < 200);
    VMI_CHECK_ST("VMI-BAT-010", st, 0);
    VMI_CHECK_EQ("VMI-BAT-010", r[0], n);
    VMI_CHECK("VMI-BAT-009", ok);
    if (vmi_conform_sim(t) && t->be->vm_per_test)
        VMI_CHECK("VMI-BAT-008", again >= 2);
    else
        VMI_CHECK("VMI-BAT-008", ok);
    x[0].pages = 2;
    VMI_CHECK_ST(
        "VMI-MEM-009",
        CALL4(t, VMI_HC_MEM_RECLAIM, vmi_conform_gpa(t, x), 1, 0, 0, r), 0);
    VMI_CHECK("VMI-MEM-009", pg[5] == 0 && pg[4096 + 5] == 0);
}

TEST(mem_extent_bookkeeping_limit_returns_limit)
{
    /* The simulator allows 64 extent records: release 65 apart. */
    uint32_t n = 65, i;
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 16 * n, 16);
    uint8_t *pg = vmi_conform_alloc(t, 4096 * 2 * n, 4096);
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint64_t r[2] = {0, 0}, start = 0;
    int64_t st;

    VMI_REQUIRE("VMI-MEM-005", x && pg);
    for (i = 0; i < n; i++) {
        x[i].gpa = vmi_conform_gpa(t, pg) + 8192ull * i;
        x[i].pages = 1;
    }
    do {
        st =
            CALL4(t, VMI_HC_MEM_RELEASE, vmi_conform_gpa(t, x), n, start, 0, r);
        start = r[0];
    } while (st == -VMI_E_AGAIN);
    VMI_CHECK_ST("VMI-MEM-005", st, -VMI_E_LIMIT);
    VMI_CHECK_EQ("VMI-MEM-005", r[0], 64);
    VMI_CHECK_EQ("VMI-MEM-005", sim->stat(ctx, VMI_CONFORM_STAT_RELEASED), 64);
    VMI_CHECK("VMI-SEC-006", !sim->is_released(ctx, x[64].gpa));
    /* Merging into an existing record needs none. */
    x[0].gpa += 4096;
    VMI_CHECK_ST(
        "VMI-MEM-005",
        CALL4(t, VMI_HC_MEM_RELEASE, vmi_conform_gpa(t, x), 1, 0, 0, r), 0);
    x[0].gpa = vmi_conform_gpa(t, pg);
    x[0].pages = 2 * n;
    VMI_CHECK_ST(
        "VMI-MEM-009",
        CALL4(t, VMI_HC_MEM_RECLAIM, vmi_conform_gpa(t, x), 1, 0, 0, r), 0);
}

/* Until reclaimed, a released page reads zero or as it was (VMI-MEM-014). */
TEST(mem_released_pages_read_zero_or_as_they_were)
{
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 16, 16);
    uint8_t *pg = vmi_conform_alloc(t, 2 * 4096, 4096);
    uint64_t r[2] = {0, 0};
    uint32_t i, other = 0;

    VMI_REQUIRE("VMI-MEM-014", x && pg);
    for (i = 0; i < 2 * 4096; i++)
        pg[i] = (uint8_t)(0x40 + i % 61);
    x[0].gpa = vmi_conform_gpa(t, pg);
    x[0].pages = 2;
    VMI_REQUIRE_ST("VMI-MEM-014", rel(t, VMI_HC_MEM_RELEASE, x, 1, r), 0);
    for (i = 0; i < 2 * 4096; i++) {
        uint8_t b = ((volatile uint8_t *)pg)[i];

        other += b != 0 && b != (uint8_t)(0x40 + i % 61);
    }
    VMI_CHECK_EQ("VMI-MEM-014", other, 0);
    VMI_CHECK_ST("VMI-MEM-009", rel(t, VMI_HC_MEM_RECLAIM, x, 1, r), 0);
}

/*
 * A page that holds a registered record is not released (VMI-MEM-017):
 * the extent stops the call with VMI_E_BUSY, nothing of it applied (its
 * bytes are still there), the extents before it applied.
 */
TEST(mem_release_refuses_pages_in_use)
{
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 16 * 2, 16);
    uint8_t *pg = vmi_conform_alloc(t, 3 * 4096, 4096);
    uint64_t r[2] = {0, 0}, g;

    VMI_REQUIRE("VMI-MEM-017", x && pg);
    g = vmi_conform_gpa(t, pg);
    vmi_conform_memset(pg, 0x5C, 3 * 4096);
    x[0].gpa = g + 2 * 4096; /* free */
    x[0].pages = 1;
    x[1].gpa = g; /* a clock record at g + 4096 + 64 */
    x[1].pages = 2;
    VMI_REQUIRE_ST("VMI-MEM-017",
                   CALL2(t, VMI_HC_CLOCK_REGISTER, g + 4096 + 64, 0, NULL), 0);
    VMI_CHECK_ST("VMI-MEM-017", rel(t, VMI_HC_MEM_RELEASE, x, 2, r),
                 -VMI_E_BUSY);
    VMI_CHECK_EQ("VMI-MEM-017", r[0], 1);
    VMI_CHECK_EQ("VMI-MEM-017", pg[0], 0x5C);
    VMI_CHECK_EQ("VMI-MEM-017", pg[4096 + 2048], 0x5C);
    VMI_CHECK("VMI-MEM-017",
              vmi_conform_load64((uint64_t *)(void *)(pg + 4096 + 64)) % 2 ==
                  0);
    /* An event record: the same. */
    VMI_REQUIRE_ST("VMI-MEM-017",
                   CALL2(t, VMI_HC_CLOCK_REGISTER, VMI_GPA_NONE, 0, NULL), 0);
    vmi_conform_memset(pg, 0x5C, 2 * 4096);
    vmi_conform_memset(pg + 4096, 0, 64);
    VMI_REQUIRE_ST("VMI-MEM-017",
                   CALL3(t, VMI_HC_EVENT_REGISTER, g + 4096, VEC(40), 0, NULL),
                   0);
    VMI_CHECK_ST("VMI-MEM-017", rel(t, VMI_HC_MEM_RELEASE, x + 1, 1, r),
                 -VMI_E_BUSY);
    VMI_CHECK_EQ("VMI-MEM-017", pg[0], 0x5C);
    /* Unregistered, the pages go. */
    VMI_REQUIRE_ST("VMI-MEM-017",
                   CALL3(t, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, 0, 0, NULL),
                   0);
    VMI_CHECK_ST("VMI-MEM-017", rel(t, VMI_HC_MEM_RELEASE, x + 1, 1, r), 0);
    x[1].pages = 3;
    VMI_CHECK_ST("VMI-MEM-009", rel(t, VMI_HC_MEM_RECLAIM, x + 1, 1, r), 0);
}

#define MEM_F(name, cl, fl, feat)                                              \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, (fl), VMI_F_MEM | (feat), 1, 3000, name   \
    }
#define MEM(name, cl, fl) MEM_F(name, cl, fl, 0)

static const struct vmi_conform_test tests[] = {
    MEM(mem_release_rejects_bad_extents,
        "VMI-MEM-001 VMI-MEM-002 VMI-MEM-003 VMI-MEM-004 VMI-MEM-009 "
        "VMI-MEM-018 "
        "VMI-BAT-001 VMI-BAT-002 VMI-BAT-003 VMI-BAT-004 VMI-BAT-007",
        0),
    MEM(mem_reclaimed_pages_read_zero,
        "VMI-MEM-008 VMI-MEM-009 VMI-BAT-010 VMI-SEC-017", 0),
    MEM(mem_released_pages_read_zero_or_as_they_were, "VMI-MEM-014 VMI-MEM-009",
        0),
    MEM_F(mem_release_refuses_pages_in_use, "VMI-MEM-017 VMI-MEM-009", 0,
          VMI_F_CLOCK | VMI_F_EVENTS),
    MEM(mem_released_page_count_exact, "VMI-MEM-006 VMI-MEM-007 VMI-MEM-010",
        VMI_CONFORM_SIM),
    MEM(mem_extent_bookkeeping_limit_returns_limit,
        "VMI-MEM-005 VMI-MEM-009 VMI-SEC-006", VMI_CONFORM_SIM),
    MEM(mem_release_long_batch_restarts,
        "VMI-BAT-008 VMI-BAT-009 VMI-BAT-010 VMI-MEM-009",
        VMI_CONFORM_SMALLWORK),
};

AREA(vmi_conform_area_mem, "mem", tests);
