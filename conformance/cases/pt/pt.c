/* SPDX-License-Identifier: MIT */
/* pt.c: cases for the page-table profile (VMI-PT) and batching (VMI-BAT). */
#include "../cases.h"

#define P VMI_PTE_PRESENT
#define W VMI_PTE_WRITE

/* A 4 KiB table in scratch whose entries map scratch frames. */
static uint64_t *table(struct vmi_conform_t *t)
{
    return vmi_conform_alloc(t, 4096, 4096);
}

static uint64_t frame(struct vmi_conform_t *t, const void *p)
{
    return vmi_conform_gpa(t, p) & VMI_PTE_FRAME;
}

TEST(pt_pin_rejects_bad_arguments)
{
    uint64_t *tb = table(t), r[2] = {0, 0};
    uint64_t g = vmi_conform_gpa(t, tb);

    VMI_REQUIRE("VMI-PT-006", tb != NULL);
    VMI_CHECK_ST("VMI-PT-006", CALL3(t, VMI_HC_PT_PIN, g, 1, 1, NULL),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-PT-007", CALL3(t, VMI_HC_PT_PIN, g + 8, 1, 0, NULL),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-PT-008", CALL3(t, VMI_HC_PT_PIN, GPA_OUTSIDE, 1, 0, NULL),
                 -VMI_E_FAULT);
    VMI_CHECK_ST("VMI-PT-008", CALL3(t, VMI_HC_PT_PIN, GPA_WRAP, 1, 0, NULL),
                 -VMI_E_FAULT);
    VMI_CHECK_ST("VMI-PT-009", CALL3(t, VMI_HC_PT_PIN, g, 0, 0, NULL),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-PT-009", CALL3(t, VMI_HC_PT_PIN, g, 5, 0, NULL),
                 -VMI_E_RANGE);
    /* Bad entries: the first bad index is reported. */
    tb[3] = frame(t, tb) | P | (UINT64_C(1) << 60);
    tb[9] = frame(t, tb) | P | VMI_PTE_PS;
    VMI_CHECK_ST("VMI-PT-001", CALL3(t, VMI_HC_PT_PIN, g, 1, 0, r),
                 -VMI_E_INVAL);
    VMI_CHECK_EQ("VMI-PT-012", r[0], 3);
    tb[3] = 0;
    /* PS is a large page at levels 2-3, invalid at 4, PAT at level 1. */
    VMI_CHECK_ST("VMI-PT-002", CALL3(t, VMI_HC_PT_PIN, g, 4, 0, r),
                 -VMI_E_INVAL);
    VMI_CHECK_EQ("VMI-PT-012", r[0], 9);
    VMI_CHECK_ST("VMI-PT-002", CALL3(t, VMI_HC_PT_PIN, g, 1, 0, r), 0);
    VMI_CHECK_ST("VMI-PT-002", CALL1(t, VMI_HC_PT_UNPIN, g, NULL), 0);
    tb[9] = 0;
    tb[100] = (GPA_OUTSIDE & VMI_PTE_FRAME) | P;
    VMI_CHECK_ST("VMI-PT-004", CALL3(t, VMI_HC_PT_PIN, g, 2, 0, r),
                 -VMI_E_FAULT);
    VMI_CHECK_EQ("VMI-PT-012", r[0], 100);
    /* A 1 GiB page at a frame whose 1 GiB span is not all RAM. */
    tb[100] = (UINT64_C(0x7F) << 30) | P | VMI_PTE_PS;
    if (t->be->ram_end && t->be->ram_end <= (UINT64_C(0x7F) << 30))
        VMI_CHECK_ST("VMI-PT-003", CALL3(t, VMI_HC_PT_PIN, g, 3, 0, r),
                     -VMI_E_FAULT);
    else
        VMI_CHECK("VMI-PT-003", 1);
    tb[100] = 0;
    VMI_CHECK_EQ("VMI-PT-013", t->g->info.max_pinned >= 1, 1);
}

TEST(pt_pin_accepts_non_present_garbage_and_rejects_second_pin)
{
    uint64_t *tb = table(t), r[2] = {0, 0};
    uint64_t g = vmi_conform_gpa(t, tb);
    uint32_t i;

    VMI_REQUIRE("VMI-PT-005", tb != NULL);
    for (i = 0; i < 512; i += 7)
        tb[i] = UINT64_C(0xFFFFFFFFFFFFFFFE); /* not present */
    tb[1] = frame(t, tb) | P | W;
    VMI_CHECK_ST("VMI-PT-005", CALL3(t, VMI_HC_PT_PIN, g, 1, 0, r), 0);
    VMI_CHECK_ST("VMI-PT-010", CALL3(t, VMI_HC_PT_PIN, g, 1, 0, r),
                 -VMI_E_BUSY);
    /* BUSY only when every entry is valid: INVAL wins. */
    VMI_CHECK_ST("VMI-PT-013", CALL1(t, VMI_HC_PT_UNPIN, g, NULL), 0);
    VMI_CHECK_ST("VMI-PT-023", CALL1(t, VMI_HC_PT_UNPIN, g, NULL),
                 -VMI_E_NOENT);
    VMI_CHECK_ST("VMI-PT-022", CALL1(t, VMI_HC_PT_UNPIN, g + 8, NULL),
                 -VMI_E_ALIGN);
}

TEST(pt_update_applies_in_order_and_stops_at_bad_entry)
{
    uint64_t *tb = table(t), *other = table(t), r[2] = {0, 0};
    struct vmi_pt_update *u = vmi_conform_alloc(t, 16 * 8, 16);
    uint64_t g = vmi_conform_gpa(t, tb), ug = vmi_conform_gpa(t, u);
    uint64_t f = frame(t, other);

    VMI_REQUIRE("VMI-PT-020", tb && other && u);
    VMI_REQUIRE_ST("VMI-PT-013", CALL3(t, VMI_HC_PT_PIN, g, 1, 0, r), 0);
    u[0].pte_gpa = g + 8 * 10;
    u[0].value = f | P | W;
    u[1].pte_gpa = g + 8 * 11;
    u[1].value = f | P;
    u[2].pte_gpa = g + 8 * 12;
    u[2].value = f | P | (UINT64_C(1) << 59); /* reserved */
    u[3].pte_gpa = g + 8 * 13;
    u[3].value = f | P;
    VMI_CHECK_ST("VMI-PT-019", CALL4(t, VMI_HC_PT_UPDATE, ug, 4, 0, 0, r),
                 -VMI_E_INVAL);
    VMI_CHECK_EQ("VMI-BAT-007", r[0], 2);
    VMI_CHECK("VMI-PT-020", tb[10] == (f | P | W) && tb[11] == (f | P));
    VMI_CHECK("VMI-BAT-007", tb[12] == 0 && tb[13] == 0);
    /* Restart after the bad entry, from index 3. */
    VMI_CHECK_ST("VMI-BAT-006", CALL4(t, VMI_HC_PT_UPDATE, ug, 4, 3, 0, r), 0);
    VMI_CHECK_EQ("VMI-BAT-010", r[0], 4);
    VMI_CHECK("VMI-BAT-006", tb[13] == (f | P) && tb[12] == 0);
    /* Misaligned entry address; address outside any pinned table. */
    u[0].pte_gpa = g + 4;
    VMI_CHECK_ST("VMI-PT-017", CALL4(t, VMI_HC_PT_UPDATE, ug, 1, 0, 0, r),
                 -VMI_E_ALIGN);
    u[0].pte_gpa = vmi_conform_gpa(t, other);
    VMI_CHECK_ST("VMI-PT-018", CALL4(t, VMI_HC_PT_UPDATE, ug, 1, 0, 0, r),
                 -VMI_E_NOENT);
    VMI_CHECK_EQ("VMI-BAT-007", r[0], 0);
    /* An out-of-RAM frame. */
    u[0].pte_gpa = g;
    u[0].value = (GPA_OUTSIDE & VMI_PTE_FRAME) | P;
    VMI_CHECK_ST("VMI-PT-019", CALL4(t, VMI_HC_PT_UPDATE, ug, 1, 0, 0, r),
                 -VMI_E_FAULT);
    u[0].value = UINT64_C(0x7FFFFFFFFFFFFFFE); /* not present: anything */
    VMI_CHECK_ST("VMI-PT-005", CALL4(t, VMI_HC_PT_UPDATE, ug, 1, 0, 0, r), 0);
    VMI_CHECK_EQ("VMI-PT-020", tb[0], UINT64_C(0x7FFFFFFFFFFFFFFE));
    /* After unpin, updates of its entries fail. */
    VMI_CHECK_ST("VMI-PT-024", CALL1(t, VMI_HC_PT_UNPIN, g, NULL), 0);
    u[0].value = 0;
    VMI_CHECK_ST("VMI-PT-024", CALL4(t, VMI_HC_PT_UPDATE, ug, 1, 0, 0, r),
                 -VMI_E_NOENT);
    VMI_CHECK_EQ("VMI-PT-024", tb[0], UINT64_C(0x7FFFFFFFFFFFFFFE));
}

TEST(pt_update_rejects_bad_array_before_applying)
{
    uint64_t *tb = table(t), r[2] = {0, 0};
    struct vmi_pt_update *u = vmi_conform_alloc(t, 16 * 4, 16);
    uint64_t g = vmi_conform_gpa(t, tb), ug = vmi_conform_gpa(t, u);
    uint64_t max = t->g->info.max_batch;

    VMI_REQUIRE("VMI-BAT-005", tb && u);
    VMI_REQUIRE_ST("VMI-PT-013", CALL3(t, VMI_HC_PT_PIN, g, 1, 0, r), 0);
    u[0].pte_gpa = g;
    u[0].value = 0x42; /* not present */
    VMI_CHECK_ST("VMI-PT-029", CALL4(t, VMI_HC_PT_UPDATE, ug, 1, 0, 2, r),
                 -VMI_E_INVAL);
    VMI_CHECK_ST("VMI-BAT-001", CALL4(t, VMI_HC_PT_UPDATE, ug + 8, 1, 0, 0, r),
                 -VMI_E_ALIGN);
    VMI_CHECK_ST("VMI-BAT-003",
                 CALL4(t, VMI_HC_PT_UPDATE, ug, max + 1, 0, 0, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-BAT-004", CALL4(t, VMI_HC_PT_UPDATE, ug, 1, 2, 0, r),
                 -VMI_E_RANGE);
    VMI_CHECK_ST("VMI-BAT-002",
                 CALL4(t, VMI_HC_PT_UPDATE, GPA_OUTSIDE, 1, 0, 0, r),
                 -VMI_E_FAULT);
    if (t->be->ram_end) {
        /* The first entry is valid, the array runs off the end of RAM. */
        VMI_CHECK_ST(
            "VMI-BAT-002",
            CALL4(t, VMI_HC_PT_UPDATE, t->be->ram_end - 16, 2, 0, 0, r),
            -VMI_E_FAULT);
    }
    VMI_CHECK_EQ("VMI-BAT-005", tb[0], 0);
    VMI_CHECK_ST("VMI-BAT-010", CALL4(t, VMI_HC_PT_UPDATE, ug, 1, 1, 0, r), 0);
    VMI_CHECK_EQ("VMI-BAT-010", r[0], 1);
    VMI_CHECK_EQ("VMI-BAT-005", tb[0], 0);
    CALL1(t, VMI_HC_PT_UNPIN, g, NULL);
}

TEST(pt_update_long_batch_restarts_until_done)
{
    uint64_t *tb = table(t), r[2] = {0, 0};
    uint32_t n = 200 /* < 512 */, i, calls = 0, again = 0, progress_ok = 1;
    struct vmi_pt_update *u = vmi_conform_alloc(t, 16 * n, 16);
    uint64_t g = vmi_conform_gpa(t, tb), ug = vmi_conform_gpa(t, u), start = 0;
    int64_t st;

    VMI_REQUIRE("VMI-BAT-008", tb && u);
    if (n > t->g->info.max_batch)
        n = t->g->info.max_batch;
    VMI_REQUIRE_ST("VMI-PT-013", CALL3(t, VMI_HC_PT_PIN, g, 1, 0, r), 0);
    for (i = 0; i < n; i++) {
        u[i].pte_gpa = g + 8 * (i % 512);
        u[i].value = ((uint64_t)i << 1) | 0x800; /* not present, tagged */
    }
    do {
        st = CALL4(t, VMI_HC_PT_UPDATE, ug, n, start, 0, r);
        calls++;
        if (st == -VMI_E_AGAIN) {
            again++;
            if (r[0] <= start || r[0] > n)
                progress_ok = 0;
            start = r[0];
        }
    } while (st == -VMI_E_AGAIN && progress_ok && calls < 1000);
    VMI_CHECK_ST("VMI-BAT-010", st, 0);
    VMI_CHECK_EQ("VMI-BAT-010", r[0], n);
    VMI_CHECK("VMI-BAT-009", progress_ok);
    VMI_CHECK("VMI-BAT-008", progress_ok);
    VMI_CHECK("VMI-SEC-005", calls > 1 || n <= 64);
    if (vmi_conform_sim(t) && t->be->vm_per_test)
        VMI_CHECK("VMI-BAT-008",
                  again >= n / VMI_CONFORM_SMALL_WORK_PER_CALL - 1);
    for (i = 0; i < n; i++)
        if (tb[i] != (((uint64_t)i << 1) | 0x800))
            break;
    VMI_CHECK_EQ("VMI-BAT-006", i, n);
    CALL1(t, VMI_HC_PT_UNPIN, g, NULL);
}

TEST(pt_pin_limit_returns_limit)
{
    uint32_t max = t->g->info.max_pinned, i;
    uint8_t *pages;
    uint64_t r[2] = {0, 0}, g0;

    if (max > 128) {
        vmi_conform_skip(t, "pin limit above 128 tables: too many to fill");
        return;
    }
    pages = vmi_conform_alloc(t, (max + 1) * 4096, 4096);
    VMI_REQUIRE("VMI-PT-011", pages != NULL);
    g0 = vmi_conform_gpa(t, pages);
    for (i = 0; i < max; i++)
        if (CALL3(t, VMI_HC_PT_PIN, g0 + i * 4096ull, 1, 0, r) != 0)
            break;
    VMI_CHECK_EQ("VMI-PT-011", i, max);
    VMI_CHECK_ST("VMI-PT-011",
                 CALL3(t, VMI_HC_PT_PIN, g0 + max * 4096ull, 1, 0, r),
                 -VMI_E_LIMIT);
    /* BUSY precedes LIMIT for a table that is already pinned. */
    VMI_CHECK_ST("VMI-STS-007", CALL3(t, VMI_HC_PT_PIN, g0, 1, 0, r),
                 -VMI_E_BUSY);
    VMI_CHECK_ST("VMI-SEC-006", CALL1(t, VMI_HC_PT_UNPIN, g0, NULL), 0);
    VMI_CHECK_ST("VMI-SEC-006",
                 CALL3(t, VMI_HC_PT_PIN, g0 + max * 4096ull, 1, 0, r), 0);
    for (i = 0; i <= max; i++)
        CALL1(t, VMI_HC_PT_UNPIN, g0 + i * 4096ull, NULL);
}

/*
 * PRESERVE_AD keeps the A and D bits the entry has (VMI-PT-027); without
 * it the value is written as given (VMI-PT-020).
 */
TEST(pt_update_preserve_ad_keeps_accessed_and_dirty)
{
    uint64_t *tb = table(t), r[2] = {0, 0};
    struct vmi_pt_update *u = vmi_conform_alloc(t, 16 * 2, 16);
    uint64_t g = vmi_conform_gpa(t, tb), f = frame(t, tb);
    uint64_t ad = VMI_PTE_ACCESSED | VMI_PTE_DIRTY;

    VMI_REQUIRE("VMI-PT-027", tb != NULL && u != NULL);
    tb[5] = f | P | W | ad;
    tb[6] = f | P | W | VMI_PTE_ACCESSED;
    VMI_REQUIRE_ST("VMI-PT-027", CALL3(t, VMI_HC_PT_PIN, g, 1, 0, r), 0);
    /* Write-protect both pages; keep what the processor recorded. */
    u[0].pte_gpa = g + 5 * 8;
    u[0].value = f | P;
    u[1].pte_gpa = g + 6 * 8;
    u[1].value = f | P | VMI_PTE_DIRTY;
    VMI_CHECK_ST("VMI-PT-027",
                 CALL4(t, VMI_HC_PT_UPDATE, vmi_conform_gpa(t, u), 2, 0,
                       VMI_PT_UPDATE_PRESERVE_AD, r),
                 0);
    VMI_CHECK_EQ("VMI-PT-027", vmi_conform_load64(&tb[5]), f | P | ad);
    VMI_CHECK_EQ("VMI-PT-027", vmi_conform_load64(&tb[6]), f | P | ad);
    /* Without the flag: exactly the value. */
    VMI_CHECK_ST("VMI-PT-020",
                 CALL4(t, VMI_HC_PT_UPDATE, vmi_conform_gpa(t, u), 1, 0, 0, r),
                 0);
    VMI_CHECK_EQ("VMI-PT-020", vmi_conform_load64(&tb[5]), f | P);
    CALL1(t, VMI_HC_PT_UNPIN, g, NULL);
}

/* A pinned table's page is not released (VMI-MEM-017). */
TEST(pt_release_of_a_pinned_table_is_busy)
{
    uint64_t *tb = table(t), r[2] = {0, 0};
    uint64_t g = vmi_conform_gpa(t, tb);
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 16, 16);

    VMI_REQUIRE("VMI-MEM-017", tb != NULL && x != NULL);
    tb[3] = frame(t, tb) | P;
    VMI_REQUIRE_ST("VMI-MEM-017", CALL3(t, VMI_HC_PT_PIN, g, 1, 0, r), 0);
    x->gpa = g;
    x->pages = 1;
    VMI_CHECK_ST(
        "VMI-MEM-017",
        CALL4(t, VMI_HC_MEM_RELEASE, vmi_conform_gpa(t, x), 1, 0, 0, r),
        -VMI_E_BUSY);
    VMI_CHECK_EQ("VMI-MEM-017", r[0], 0);
    VMI_CHECK_EQ("VMI-MEM-017", tb[3], frame(t, tb) | P);
    VMI_REQUIRE_ST("VMI-MEM-017", CALL1(t, VMI_HC_PT_UNPIN, g, NULL), 0);
    VMI_CHECK_ST(
        "VMI-MEM-017",
        CALL4(t, VMI_HC_MEM_RELEASE, vmi_conform_gpa(t, x), 1, 0, 0, r), 0);
    CALL4(t, VMI_HC_MEM_RECLAIM, vmi_conform_gpa(t, x), 1, 0, 0, r);
}

#define PT(name, cl, fl)                                                       \
    {                                                                          \
#name, cl, VMI_PROFILE_PAGETABLE, (fl), VMI_F_PT, 1, 3000, name        \
    }

static const struct vmi_conform_test tests[] = {
    PT(pt_pin_rejects_bad_arguments,
       "VMI-PT-001 VMI-PT-002 VMI-PT-003 VMI-PT-004 VMI-PT-006 VMI-PT-007 "
       "VMI-PT-008 VMI-PT-009 VMI-PT-012 VMI-PT-013",
       0),
    PT(pt_pin_accepts_non_present_garbage_and_rejects_second_pin,
       "VMI-PT-005 VMI-PT-010 VMI-PT-013 VMI-PT-022 VMI-PT-023", 0),
    PT(pt_update_applies_in_order_and_stops_at_bad_entry,
       "VMI-PT-005 VMI-PT-013 VMI-PT-017 VMI-PT-018 VMI-PT-019 VMI-PT-020 "
       "VMI-PT-024 VMI-BAT-006 VMI-BAT-007 VMI-BAT-010",
       0),
    PT(pt_update_rejects_bad_array_before_applying,
       "VMI-PT-013 VMI-PT-029 VMI-BAT-001 VMI-BAT-002 VMI-BAT-003 VMI-BAT-004 "
       "VMI-BAT-005 VMI-BAT-010",
       0),
    PT(pt_pin_limit_returns_limit, "VMI-PT-011 VMI-STS-007 VMI-SEC-006", 0),
    PT(pt_update_preserve_ad_keeps_accessed_and_dirty, "VMI-PT-027 VMI-PT-020",
       0),
    {"pt_release_of_a_pinned_table_is_busy", "VMI-MEM-017",
     VMI_PROFILE_PAGETABLE, 0, VMI_F_PT | VMI_F_MEM, 1, 3000,
     pt_release_of_a_pinned_table_is_busy},
    PT(pt_update_long_batch_restarts_until_done,
       "VMI-PT-013 VMI-BAT-006 VMI-BAT-008 VMI-BAT-009 VMI-BAT-010 "
       "VMI-SEC-005",
       VMI_CONFORM_SMALLWORK),
};

AREA(vmi_conform_area_pt, "pt", tests);
