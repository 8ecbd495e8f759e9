/* SPDX-License-Identifier: MIT */
/* probe.c: discovery (CPUID scan), transport choice and negotiation. */
#include "internal.h"

/* CPUID.0 vendor strings, as EBX, EDX, ECX. */
#define CPU_INTEL_EBX 0x756E6547u /* "Genu" */
#define CPU_INTEL_EDX 0x49656E69u /* "ineI" */
#define CPU_INTEL_ECX 0x6C65746Eu /* "ntel" */
#define CPU_AMD_EBX 0x68747541u   /* "Auth" */
#define CPU_AMD_EDX 0x69746E65u   /* "enti" */
#define CPU_AMD_ECX 0x444D4163u   /* "cAMD" */
#define CPU_HYGON_EBX 0x6F677948u /* "Hygo" */
#define CPU_HYGON_EDX 0x6E65476Eu /* "nGen" */
#define CPU_HYGON_ECX 0x656E6975u /* "uine" */

#define CPUID1_ECX_HYPERVISOR (1u << 31)

enum { EAX, EBX, ECX, EDX };

static void cpuid_sub(const struct vmi_guest *g, uint32_t leaf, uint32_t sub,
                      uint32_t r[4])
{
    r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
    if (g->ops.cpuid)
        g->ops.cpuid(g->ops.ctx, leaf, sub, r);
    else
        vmi__arch_cpuid(leaf, sub, r);
}

static void cpuid(const struct vmi_guest *g, uint32_t leaf, uint32_t r[4])
{
    cpuid_sub(g, leaf, 0, r);
}

static int find_base(const struct vmi_guest *g, uint32_t *base)
{
    uint32_t r[4], b;

    /* Without the hypervisor bit the 0x4000xxxx leaves are not ours. */
    cpuid(g, 1, r);
    if (!(r[ECX] & CPUID1_ECX_HYPERVISOR))
        return -VMI_E_NOSYS;
    for (b = VMI_CPUID_SCAN_FIRST; b <= VMI_CPUID_SCAN_LAST;
         b += VMI_CPUID_SCAN_STEP) {
        cpuid(g, b, r);
        if (r[EBX] == VMI_CPUID_SIGNATURE_EBX &&
            r[ECX] == VMI_CPUID_SIGNATURE_ECX &&
            r[EDX] == VMI_CPUID_SIGNATURE_EDX &&
            /* B+6: a host of the first 1.0 draft, without leaf B+7. */
            r[EAX] >= b + VMI_CPUID_VENDOR2) {
            *base = b;
            return 0;
        }
    }
    return -VMI_E_NOSYS;
}

uint32_t vmi__pick_transport(uint32_t offered, uint32_t usable,
                             const uint32_t r[4])
{
    usable &= offered;
    /* The doorbell works on every x86 host; prefer it (see DESIGN.md). */
    if (usable & VMI_TRANSPORT_PORTIO)
        return VMI_GUEST_T_PORTIO;
    if (usable & VMI_TRANSPORT_HVC)
        return VMI_GUEST_T_HVC;
    /* VMCALL on VMX, VMMCALL on SVM: the other one raises #UD. */
    if ((usable & VMI_TRANSPORT_VMCALL) && r[EBX] == CPU_INTEL_EBX &&
        r[EDX] == CPU_INTEL_EDX && r[ECX] == CPU_INTEL_ECX)
        return VMI_GUEST_T_VMCALL;
    if ((usable & VMI_TRANSPORT_VMMCALL) &&
        ((r[EBX] == CPU_AMD_EBX && r[EDX] == CPU_AMD_EDX &&
          r[ECX] == CPU_AMD_ECX) ||
         (r[EBX] == CPU_HYGON_EBX && r[EDX] == CPU_HYGON_EDX &&
          r[ECX] == CPU_HYGON_ECX)))
        return VMI_GUEST_T_VMMCALL;
    return VMI_GUEST_T_NONE;
}

static void put32(char *dst, uint32_t v)
{
    dst[0] = (char)(v & 0xFFu);
    dst[1] = (char)((v >> 8) & 0xFFu);
    dst[2] = (char)((v >> 16) & 0xFFu);
    dst[3] = (char)(v >> 24);
}

int vmi_guest_probe(struct vmi_guest *g)
{
    struct vmi_guest_info *in = &g->info;
    uint32_t base = 0, r[4], major, i, j;
    int st;

    g->transport = VMI_GUEST_T_NONE;
    st = find_base(g, &base);
    if (st)
        return st;

    in->cpuid_base = base;
    cpuid(g, base + VMI_CPUID_VERSION, r);
    in->version_max = r[EAX];
    in->version_min = r[EBX];
    in->transports = r[ECX];
    in->port = (uint16_t)(r[EDX] & VMI_CPUID_PORT_MASK);
    cpuid(g, base + VMI_CPUID_FEATURES, r);
    in->features = (uint64_t)r[EAX] | (uint64_t)r[EBX] << 32;
    in->vcpu_count = r[ECX];
    in->profiles = r[EDX];
    cpuid(g, base + VMI_CPUID_LIMITS, r);
    in->max_batch = r[EAX];
    in->timer_count = r[EBX];
    in->max_console = r[ECX];
    in->max_pinned = r[EDX];
    for (i = 0; i < 3; i++) {
        cpuid(g, base + VMI_CPUID_VENDOR0 + i, r);
        for (j = 0; j < 4; j++)
            put32(&in->vendor[i * 16u + j * 4u], r[j]);
    }
    in->vendor[VMI_VENDOR_ID_SIZE] = 0;
    cpuid(g, base + VMI_CPUID_SIGNATURE, r);
    if (r[EAX] >= base + VMI_CPUID_TIMING) {
        cpuid(g, base + VMI_CPUID_TIMING, r);
        in->timer_min_delta_ns = r[EAX];
        in->timer_resolution_ns = r[EBX];
        in->clock_skew_ns = r[ECX];
    } else { /* what the spec tells a guest to assume (leaf B+7) */
        in->timer_min_delta_ns = 1000;
        in->timer_resolution_ns = 1000000;
        in->clock_skew_ns = 0xFFFFFFFFu; /* unknown */
    }

    /* This library implements major 1 only. */
    major = VMI_SPEC_VERSION_MAJOR;
    if (VMI_VERSION_MAJOR(in->version_min) > major ||
        VMI_VERSION_MAJOR(in->version_max) < major)
        return -VMI_E_VERSION;

    if (g->ops.hypercall) {
        g->transport = VMI_GUEST_T_FUNCTION;
    } else {
        cpuid(g, 0, r);
        g->transport =
            vmi__pick_transport(in->transports, vmi__arch_transports(), r);
    }
    return g->transport == VMI_GUEST_T_NONE ? -VMI_E_NOSYS : 0;
}

/* VMI_F_*_REQUIRES by bit number, for the features this library knows. */
static const uint64_t feature_requires[VMI_F_COUNT] = VMI_F_REQUIRES_BY_BIT;

/* Largest subset of want closed under the requirement relation. */
static uint64_t close_features(uint64_t want)
{
    uint64_t prev;
    unsigned i;

    want &= VMI_F_ALL_1_0;
    do {
        prev = want;
        for (i = 0; i < VMI_F_COUNT; i++)
            if ((want & (UINT64_C(1) << i)) && (feature_requires[i] & ~want))
                want &= ~(UINT64_C(1) << i);
    } while (want != prev);
    return want;
}

int vmi_guest_query(struct vmi_guest *g, uint32_t *lifecycle, uint32_t *version,
                    uint64_t *features)
{
    uint64_t rets[VMI_HC_MAX_RETS];
    int64_t st;

    st = vmi__call5(g, VMI_HC_QUERY, 0, 0, 0, 0, 0, rets);
    if (st)
        return (int)st;
    g->version = (uint32_t)rets[0];
    g->features = rets[1];
    if (lifecycle)
        *lifecycle = (uint32_t)(rets[0] >> 32);
    if (version)
        *version = g->version;
    if (features)
        *features = g->features;
    return 0;
}

int vmi_guest_reset(struct vmi_guest *g)
{
    int64_t st = vmi__call5(g, VMI_HC_RESET, 0, 0, 0, 0, 0, 0);

    if (st == 0) {
        g->version = 0;
        g->features = 0;
    }
    return (int)st;
}

int vmi_guest_negotiate(struct vmi_guest *g, uint64_t want, uint64_t *granted)
{
    uint64_t rets[VMI_HC_MAX_RETS];
    uint64_t req = close_features(want & g->info.features);
    int64_t st;

    st = vmi__call5(g, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION, req, 0, 0, 0, rets);
    if (st)
        return (int)st;
    g->version = (uint32_t)rets[0];
    /* Never believe a grant beyond the request. */
    g->features = rets[1] & req;
    if (granted)
        *granted = g->features;
    return 0;
}

int vmi_guest_vcpu_self(const struct vmi_guest *g, uint32_t *id)
{
    uint32_t base = g->info.cpuid_base, r[4];

    *id = 0;
    if (!base)
        return -VMI_E_STATE;
    cpuid(g, base + VMI_CPUID_SIGNATURE, r);
    if (r[EAX] < base + VMI_CPUID_VCPU)
        return -VMI_E_NOTSUP; /* a host of the first draft */
    cpuid(g, base + VMI_CPUID_VCPU, r);
    *id = r[EAX];
    return 0;
}

int vmi_guest_vcpu_platform_id(const struct vmi_guest *g, uint32_t vcpu,
                               uint32_t *id)
{
    uint32_t base = g->info.cpuid_base, r[4];

    *id = 0;
    if (!base)
        return -VMI_E_STATE;
    cpuid(g, base + VMI_CPUID_SIGNATURE, r);
    if (r[EAX] < base + VMI_CPUID_VCPU_MAP)
        return -VMI_E_NOTSUP; /* a host of an earlier draft */
    if (vcpu >= g->info.vcpu_count)
        return -VMI_E_RANGE;
    cpuid_sub(g, base + VMI_CPUID_VCPU_MAP, vcpu, r);
    if (!(r[EBX] & VMI_VCPU_MAP_EXISTS))
        return -VMI_E_RANGE;
    *id = r[EAX];
    return 0;
}
