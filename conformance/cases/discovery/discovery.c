/* SPDX-License-Identifier: MIT */
/* discovery.c: cases for x86 CPUID discovery (VMI-DSC). */
#include "../cases.h"

TEST(dsc_signature_found_in_scan_range)
{
    uint32_t r[4], b;

    vmi_conform_cpuid(t, 1, r);
    VMI_CHECK("VMI-DSC-005", r[2] & (1u << 31));
    b = cases_cpuid_base(t);
    VMI_REQUIRE("VMI-DSC-002", b != 0);
    VMI_CHECK("VMI-DSC-001", b % 0x100 == 0 && b >= VMI_CPUID_SCAN_FIRST &&
                                 b <= VMI_CPUID_SCAN_LAST);
    vmi_conform_cpuid(t, b, r);
    VMI_CHECK("VMI-DSC-003", r[0] >= b + 6 && r[0] < b + 0x100);
}

TEST(dsc_leaf_above_block_returns_zeros)
{
    uint32_t r[4], b = cases_cpuid_base(t), top, leaf;

    VMI_REQUIRE("VMI-DSC-004", b != 0);
    vmi_conform_cpuid(t, b, r);
    top = r[0];
    for (leaf = top + 1; leaf < b + 0x100 && leaf < top + 4; leaf++) {
        vmi_conform_cpuid(t, leaf, r);
        VMI_CHECK("VMI-DSC-004", (r[0] | r[1] | r[2] | r[3]) == 0);
    }
    vmi_conform_cpuid(t, b + 0xFF, r);
    VMI_CHECK("VMI-DSC-004",
              top >= b + 0xFF || (r[0] | r[1] | r[2] | r[3]) == 0);
}

TEST(dsc_version_leaf_encodes_implemented_range)
{
    uint32_t r[4], b = cases_cpuid_base(t);

    VMI_REQUIRE("VMI-DSC-007", b != 0);
    vmi_conform_cpuid(t, b + VMI_CPUID_VERSION, r);
    VMI_CHECK("VMI-DSC-007", r[1] <= r[0]);
    VMI_CHECK("VMI-GEN-007",
              VMI_VERSION_MAJOR(r[0]) >= 1 && VMI_VERSION_MAJOR(r[1]) <= 1);
    VMI_CHECK("VMI-DSC-008",
              (r[2] & ~(VMI_TRANSPORT_VMCALL | VMI_TRANSPORT_VMMCALL |
                        VMI_TRANSPORT_PORTIO | VMI_TRANSPORT_HVC)) == 0);
    if (r[2] & VMI_TRANSPORT_PORTIO)
        VMI_CHECK("VMI-DSC-009", (r[3] >> 16) == 0 && (r[3] & 0xFFFF) != 0);
    else
        VMI_CHECK("VMI-DSC-009", 1);
}

/* An x86-64 host serves an x86 transport (aarch64: aarch64.c's tests). */
TEST(dsc_x86_host_serves_an_x86_transport)
{
    uint32_t r[4], b = cases_cpuid_base(t);

    VMI_REQUIRE("VMI-DSC-010", b != 0);
    vmi_conform_cpuid(t, b + VMI_CPUID_VERSION, r);
    if (r[2] & VMI_TRANSPORT_HVC) {
        vmi_conform_na(t, "an aarch64 host (HVC): VMI-DSC-028 applies");
        return;
    }
    VMI_CHECK("VMI-DSC-010",
              r[2] & (VMI_TRANSPORT_VMCALL | VMI_TRANSPORT_VMMCALL |
                      VMI_TRANSPORT_PORTIO));
}

TEST(dsc_features_offered_are_defined_and_closed)
{
    static const uint64_t req[VMI_F_COUNT] = VMI_F_REQUIRES_BY_BIT;
    uint32_t r[4], b = cases_cpuid_base(t), i;
    uint64_t f;

    VMI_REQUIRE("VMI-DSC-011", b != 0);
    vmi_conform_cpuid(t, b + VMI_CPUID_FEATURES, r);
    f = r[0] | (uint64_t)r[1] << 32;
    VMI_CHECK("VMI-DSC-011", (f & ~VMI_F_ALL_1_0) == 0);
    for (i = 0; i < VMI_F_COUNT; i++)
        if (f & (UINT64_C(1) << i))
            VMI_CHECK("VMI-DSC-012", (f & req[i]) == req[i]);
    VMI_CHECK("VMI-DSC-012", 1);
    VMI_CHECK("VMI-DSC-013", r[2] >= 1);
    if (r[3] & VMI_PROFILE_CORE)
        VMI_CHECK("VMI-DSC-014",
                  (f & VMI_PROFILE_CORE_FEATURES) == VMI_PROFILE_CORE_FEATURES);
    if (r[3] & VMI_PROFILE_PAGETABLE)
        VMI_CHECK("VMI-DSC-014", (f & VMI_PROFILE_PAGETABLE_FEATURES) ==
                                         VMI_PROFILE_PAGETABLE_FEATURES &&
                                     (r[3] & VMI_PROFILE_CORE));
    if (r[3] & VMI_PROFILE_MIGRATION)
        VMI_CHECK("VMI-DSC-014", r[3] & VMI_PROFILE_CORE);
    /* Only defined profile bits; a 1.0 host claims at least core. */
    VMI_CHECK("VMI-GEN-010",
              (r[3] & ~(uint32_t)(VMI_PROFILE_CORE | VMI_PROFILE_PAGETABLE |
                                  VMI_PROFILE_MIGRATION)) == 0 &&
                  (r[3] & VMI_PROFILE_CORE));
    VMI_CHECK("VMI-DSC-014", 1);
}

TEST(dsc_limits_match_offered_features)
{
    uint32_t r[4], l[4], b = cases_cpuid_base(t);
    uint64_t f;

    VMI_REQUIRE("VMI-DSC-015", b != 0);
    vmi_conform_cpuid(t, b + VMI_CPUID_FEATURES, r);
    f = r[0] | (uint64_t)r[1] << 32;
    vmi_conform_cpuid(t, b + VMI_CPUID_LIMITS, l);
    VMI_CHECK("VMI-DSC-015", l[0] >= 1);
    VMI_CHECK("VMI-DSC-030", !(f & VMI_F_TIMER) || (l[1] >= 1 && l[1] >= r[2]));
    VMI_CHECK("VMI-DSC-017", l[2] >= 1);
    if (f & VMI_F_PT) {
        uint64_t blocks = t->be->ram_end >> 21;

        VMI_CHECK("VMI-DSC-042", l[3] >= 64 && l[3] >= blocks);
    } else {
        VMI_CHECK_EQ("VMI-DSC-042", l[3], 0);
    }
}

TEST(dsc_timing_leaf_announces_delta_resolution_skew)
{
    uint32_t r[4], k[4], b = cases_cpuid_base(t);

    VMI_REQUIRE("VMI-DSC-031", b != 0);
    vmi_conform_cpuid(t, b + VMI_CPUID_SIGNATURE, r);
    VMI_REQUIRE("VMI-DSC-031", r[0] >= b + VMI_CPUID_TIMING);
    vmi_conform_cpuid(t, b + VMI_CPUID_TIMING, k);
    VMI_CHECK("VMI-DSC-031", k[0] >= 1 && k[1] >= 1);
    VMI_CHECK_EQ("VMI-DSC-032", k[3], 0);
}

TEST(dsc_vendor_string_printable_nul_padded)
{
    uint32_t r[4], b = cases_cpuid_base(t), i, j;
    char s[48];
    int nul = 0, ok = 1;

    VMI_REQUIRE("VMI-DSC-019", b != 0);
    for (i = 0; i < 3; i++) {
        vmi_conform_cpuid(t, b + VMI_CPUID_VENDOR0 + i, r);
        for (j = 0; j < 16; j++)
            s[i * 16 + j] = (char)(r[j / 4] >> (8 * (j % 4)));
    }
    for (i = 0; i < 48; i++) {
        if (!s[i])
            nul = 1;
        else if (nul || s[i] < 0x20 || s[i] > 0x7e)
            ok = 0;
    }
    VMI_CHECK("VMI-DSC-019", ok && s[0] != 0);
}

TEST(dsc_leaves_identical_on_every_vcpu_and_over_time)
{
    uint32_t b = cases_cpuid_base(t), i, k;
    uint32_t a[VMI_CPUID_LEAF_COUNT][4], c[4];
    int same = 1;

    VMI_REQUIRE("VMI-DSC-038", b != 0);
    for (i = 0; i < VMI_CPUID_LEAF_COUNT; i++)
        vmi_conform_cpuid(t, b + i, a[i]);
    for (k = 0; k < 3; k++)
        for (i = 0; i < VMI_CPUID_LEAF_COUNT; i++) {
            vmi_conform_cpuid(t, b + i, c);
            if (c[0] != a[i][0] || c[1] != a[i][1] || c[2] != a[i][2] ||
                c[3] != a[i][3])
                same = 0;
        }
    VMI_CHECK("VMI-DSC-038", same);
}

struct leaves {
    uint32_t r[VMI_CPUID_LEAF_COUNT][4];
};

static void read_leaves(struct vmi_conform_t *t, void *arg)
{
    struct leaves *l = arg;
    uint32_t b = cases_cpuid_base(t);

    for (uint32_t i = 0; i < VMI_CPUID_LEAF_COUNT; i++)
        vmi_conform_cpuid(t, b + i, l->r[i]);
}

/*
 * Leaf B+8 names the vCPU that reads it (VMI-DSC-040); every other leaf
 * reads the same on another vCPU (VMI-DSC-038, -039).
 */
TEST(dsc_vcpu_leaf_names_the_caller)
{
    struct leaves me, other;
    uint32_t id, i, same = 1;

    VMI_REQUIRE("VMI-DSC-040", cases_cpuid_base(t) != 0);
    VMI_REQUIRE("VMI-DSC-040", vmi_conform_vcpu_any(t, &id) == 0);
    read_leaves(t, &me);
    VMI_REQUIRE("VMI-DSC-040",
                vmi_conform_vcpu_run(t, id, read_leaves, &other) == 0);
    VMI_REQUIRE("VMI-DSC-040", me.r[VMI_CPUID_SIGNATURE][0] >=
                                   cases_cpuid_base(t) + VMI_CPUID_VCPU);
    VMI_CHECK_EQ("VMI-DSC-040", me.r[VMI_CPUID_VCPU][0], 0);
    VMI_CHECK_EQ("VMI-DSC-040", other.r[VMI_CPUID_VCPU][0], id);
    VMI_CHECK_EQ("VMI-DSC-040",
                 other.r[VMI_CPUID_VCPU][1] | other.r[VMI_CPUID_VCPU][2] |
                     other.r[VMI_CPUID_VCPU][3],
                 0);
    for (i = 0; i < VMI_CPUID_LEAF_COUNT; i++)
        if (i != VMI_CPUID_VCPU &&
            (me.r[i][0] != other.r[i][0] || me.r[i][1] != other.r[i][1] ||
             me.r[i][2] != other.r[i][2] || me.r[i][3] != other.r[i][3]))
            same = 0;
    VMI_CHECK("VMI-DSC-038", same);
    VMI_CHECK("VMI-DSC-039", same);
}

/*
 * What one vCPU sees of the vCPU map: its own id (B + 8), its platform id
 * as the processor reports it, and leaf B + 9 for the first MAP_SEEN vCPU
 * ids, for the vCPU count and for 0xFFFFFFFF.
 */
#define MAP_SEEN 64u
struct map_view {
    uint32_t self_id;
    uint32_t self_platform;
    uint32_t map[MAP_SEEN][4];
    uint32_t past[2][4];
};

/* The initial x2APIC ID from leaf 0xB, or the APIC ID from leaf 1. */
static uint32_t platform_self(struct vmi_conform_t *t)
{
    uint32_t r[4];

    vmi_conform_cpuid(t, 0, r);
    if (r[0] >= 0xB) {
        vmi_conform_cpuid_sub(t, 0xB, 0, r);
        if (r[1] & 0xFFFFu)
            return r[3];
    }
    vmi_conform_cpuid(t, 1, r);
    return r[1] >> 24;
}

static void read_map(struct vmi_conform_t *t, void *arg)
{
    struct map_view *m = arg;
    uint32_t b = cases_cpuid_base(t), r[4], n;

    vmi_conform_cpuid(t, b + VMI_CPUID_VCPU, r);
    m->self_id = r[0];
    m->self_platform = platform_self(t);
    vmi_conform_cpuid(t, b + VMI_CPUID_FEATURES, r);
    n = r[2];
    for (uint32_t i = 0; i < MAP_SEEN && i < n; i++)
        vmi_conform_cpuid_sub(t, b + VMI_CPUID_VCPU_MAP, i, m->map[i]);
    vmi_conform_cpuid_sub(t, b + VMI_CPUID_VCPU_MAP, n, m->past[0]);
    vmi_conform_cpuid_sub(t, b + VMI_CPUID_VCPU_MAP, 0xFFFFFFFFu, m->past[1]);
}

/*
 * Leaf B + 9 gives, on two vCPUs, the same platform id for each vCPU id,
 * and it is the one each of the two reports itself (VMI-DSC-043); past
 * the vCPU count the leaf reads zero (VMI-DSC-044).
 */
TEST(dsc_vcpu_map_gives_platform_ids)
{
    struct map_view *me, *other;
    uint32_t b = cases_cpuid_base(t), r[4], id, n, i;
    int same = 1, exists = 1;

#if !defined(__x86_64__)
    vmi_conform_na(t, "the processor's own id is read through CPUID here");
    return;
#endif
    VMI_REQUIRE("VMI-DSC-043", b != 0);
    vmi_conform_cpuid(t, b, r);
    VMI_REQUIRE("VMI-DSC-043", r[0] >= b + VMI_CPUID_VCPU_MAP);
    VMI_REQUIRE("VMI-DSC-043", vmi_conform_vcpu_any(t, &id) == 0);
    me = vmi_conform_alloc(t, sizeof(*me), 64);
    other = vmi_conform_alloc(t, sizeof(*other), 64);
    VMI_REQUIRE("VMI-DSC-043", me && other);
    read_map(t, me);
    VMI_REQUIRE("VMI-DSC-043",
                vmi_conform_vcpu_run(t, id, read_map, other) == 0);
    vmi_conform_cpuid(t, b + VMI_CPUID_FEATURES, r);
    n = r[2] < MAP_SEEN ? r[2] : MAP_SEEN;
    VMI_REQUIRE("VMI-DSC-043", me->self_id < n && other->self_id < n);
    for (i = 0; i < n; i++) {
        for (uint32_t k = 0; k < 4; k++)
            if (me->map[i][k] != other->map[i][k])
                same = 0;
        if (me->map[i][1] != VMI_VCPU_MAP_EXISTS || me->map[i][2] ||
            me->map[i][3])
            exists = 0;
    }
    VMI_CHECK("VMI-DSC-043", same);
    VMI_CHECK("VMI-DSC-043", exists);
    VMI_CHECK_EQ("VMI-DSC-043", me->map[me->self_id][0], me->self_platform);
    VMI_CHECK_EQ("VMI-DSC-043", me->map[other->self_id][0],
                 other->self_platform);
    VMI_CHECK("VMI-DSC-043", me->self_platform != other->self_platform);
    for (i = 0; i < 2; i++) {
        VMI_CHECK_EQ("VMI-DSC-044",
                     me->past[i][0] | me->past[i][1] | me->past[i][2] |
                         me->past[i][3],
                     0);
        VMI_CHECK_EQ("VMI-DSC-044",
                     other->past[i][0] | other->past[i][1] | other->past[i][2] |
                         other->past[i][3],
                     0);
    }
}

#define DSC(name, cl)                                                          \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, VMI_CONFORM_PRENEG, 0, 1, 1000, name      \
    }

static const struct vmi_conform_test tests[] = {
    DSC(dsc_signature_found_in_scan_range, "VMI-DSC-001 VMI-DSC-002 "
                                           "VMI-DSC-003 VMI-DSC-005"),
    DSC(dsc_leaf_above_block_returns_zeros, "VMI-DSC-004"),
    DSC(dsc_version_leaf_encodes_implemented_range,
        "VMI-DSC-007 VMI-DSC-008 VMI-DSC-009 VMI-GEN-007"),
    DSC(dsc_x86_host_serves_an_x86_transport, "VMI-DSC-010"),
    DSC(dsc_features_offered_are_defined_and_closed,
        "VMI-DSC-011 VMI-DSC-012 VMI-DSC-013 VMI-DSC-014 VMI-GEN-010"),
    DSC(dsc_limits_match_offered_features,
        "VMI-DSC-015 VMI-DSC-030 VMI-DSC-017 VMI-DSC-042"),
    DSC(dsc_timing_leaf_announces_delta_resolution_skew,
        "VMI-DSC-031 VMI-DSC-032"),
    DSC(dsc_vendor_string_printable_nul_padded, "VMI-DSC-019"),
    DSC(dsc_leaves_identical_on_every_vcpu_and_over_time, "VMI-DSC-038"),
    {"dsc_vcpu_leaf_names_the_caller", "VMI-DSC-040 VMI-DSC-038 VMI-DSC-039",
     VMI_PROFILE_CORE, 0, VMI_F_VCPU, 2, 1000, dsc_vcpu_leaf_names_the_caller},
    {"dsc_vcpu_map_gives_platform_ids", "VMI-DSC-043 VMI-DSC-044",
     VMI_PROFILE_CORE, 0, VMI_F_VCPU, 2, 1000, dsc_vcpu_map_gives_platform_ids},
};

AREA(vmi_conform_area_discovery, "discovery", tests);
