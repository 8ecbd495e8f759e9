/* SPDX-License-Identifier: MIT */
/* cases.h: helpers shared by the conformance cases (freestanding). */
#ifndef VMI_CONFORM_CASES_H
#define VMI_CONFORM_CASES_H

#include "vmi_conform.h"

/* A guest-physical address far above the RAM of any VM. */
#define GPA_OUTSIDE UINT64_C(0x000F000000000000)
/* 4 KiB aligned address whose range wraps past 2^64 for any len > 4096. */
#define GPA_WRAP UINT64_C(0xFFFFFFFFFFFFF000)

#define CALL0(t, nr, r) vmi_conform_call((t), (nr), 0, 0, 0, 0, 0, (r))
#define CALL1(t, nr, a, r) vmi_conform_call((t), (nr), (a), 0, 0, 0, 0, (r))
#define CALL2(t, nr, a, b, r)                                                  \
    vmi_conform_call((t), (nr), (a), (b), 0, 0, 0, (r))
#define CALL3(t, nr, a, b, c, r)                                               \
    vmi_conform_call((t), (nr), (a), (b), (c), 0, 0, (r))
#define CALL4(t, nr, a, b, c, d, r)                                            \
    vmi_conform_call((t), (nr), (a), (b), (c), (d), 0, (r))
#define CALL5(t, nr, a, b, c, d, e, r)                                         \
    vmi_conform_call((t), (nr), (a), (b), (c), (d), (e), (r))

#define TEST(fn) static void fn(struct vmi_conform_t *t)
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Find the OpenVMI CPUID block the way the spec says; 0 if absent. */
static inline uint32_t cases_cpuid_base(struct vmi_conform_t *t)
{
    uint32_t b, r[4];

    for (b = VMI_CPUID_SCAN_FIRST; b <= VMI_CPUID_SCAN_LAST;
         b += VMI_CPUID_SCAN_STEP) {
        vmi_conform_cpuid(t, b, r);
        if (r[1] == VMI_CPUID_SIGNATURE_EBX &&
            r[2] == VMI_CPUID_SIGNATURE_ECX &&
            r[3] == VMI_CPUID_SIGNATURE_EDX && r[0] >= b + 6)
            return b;
    }
    return 0;
}

/*
 * The upcall vector a case names in x86 terms, as the host's architecture
 * has it.  x86-64 (and the simulator): the vector itself.  aarch64 (the
 * host serves HVC): an upcall is a PPI INTID, 16 to 31 without the
 * architected 19 to 30 (VMI-EVT-039), and the conformance image's own
 * handler serves 16: 40, 78 -> 17; 41, 79 -> 18; 77, 255 (the highest
 * valid) -> 31; 31 (just below the range) -> 15; 256 (just above) -> 32;
 * anything else is kept.
 */
static inline uint64_t cases_vec(struct vmi_conform_t *t, uint64_t x86)
{
    if (!(t->g->info.transports & VMI_TRANSPORT_HVC))
        return x86;
    switch (x86) {
    case 40:
    case 78:
        return 17;
    case 41:
    case 79:
        return 18;
    case 77:
    case 255:
        return 31;
    case 31:
        return 15;
    case 256:
        return 32;
    default:
        return x86;
    }
}
#define VEC(x86) cases_vec(t, (x86))

/* A zeroed, registered event record of the calling vCPU (NULL on error). */
static inline struct vmi_event_record *cases_events(struct vmi_conform_t *t,
                                                    uint32_t vector)
{
    struct vmi_event_record *e = vmi_conform_alloc(t, sizeof(*e), 64);

    if (!e)
        return NULL;
    if (CALL3(t, VMI_HC_EVENT_REGISTER, vmi_conform_gpa(t, e), VEC(vector), 0,
              NULL) != 0)
        return NULL;
    /* Bits pending host-side from earlier activity are not ours. */
    vmi_conform_store64(&e->pending, 0);
    return e;
}

static inline uint64_t cases_pending(const struct vmi_event_record *e)
{
    return vmi_conform_load64(&e->pending);
}

/* Clear event bits the way a guest does (atomic AND). */
static inline void cases_clear(struct vmi_event_record *e, uint64_t bits)
{
    __atomic_fetch_and(&e->pending, ~bits, __ATOMIC_SEQ_CST);
}

/* A registered clock record of the calling vCPU (NULL on error). */
static inline struct vmi_clock_record *cases_clock(struct vmi_conform_t *t)
{
    struct vmi_clock_record *c = vmi_conform_alloc(t, sizeof(*c), 32);

    if (!c)
        return NULL;
    if (CALL2(t, VMI_HC_CLOCK_REGISTER, vmi_conform_gpa(t, c), 0, NULL) != 0)
        return NULL;
    return c;
}

/*
 * Read a clock record with the seqlock protocol, as a guest must, but with
 * a bounded number of retries so that a host which never completes an
 * update fails the test instead of hanging it.  0 and *ns; -1 when the
 * record was never written (mul zero); -2 when no consistent copy was read.
 */
static inline int cases_read_record(struct vmi_conform_t *t,
                                    const struct vmi_clock_record *c,
                                    uint64_t *ns)
{
    const volatile struct vmi_clock_record *r = c;
    uint32_t tries, v1, v2;

    for (tries = 0; tries < 10000; tries++) {
        uint64_t ts, sys, tsc;
        uint32_t mul;
        int8_t shift;

        v1 = __atomic_load_n(&c->version, __ATOMIC_ACQUIRE);
        if (v1 & 1)
            continue;
        ts = r->tsc_timestamp;
        sys = r->system_time;
        mul = r->tsc_to_system_mul;
        shift = r->tsc_shift;
        tsc = t->be->rdtsc(t->be->ctx);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        v2 = __atomic_load_n(&c->version, __ATOMIC_RELAXED);
        if (v1 != v2)
            continue;
        if (mul == 0)
            return -1;
        *ns = sys + vmi_guest_tsc_to_ns(tsc - ts, mul, shift);
        return 0;
    }
    return -2;
}

/* The area tables (one per cases/<area>/ file). */
extern const struct vmi_conform_area vmi_conform_area_discovery;
extern const struct vmi_conform_area vmi_conform_area_core;
extern const struct vmi_conform_area vmi_conform_area_clock;
extern const struct vmi_conform_area vmi_conform_area_timer;
extern const struct vmi_conform_area vmi_conform_area_event;
extern const struct vmi_conform_area vmi_conform_area_vcpu;
extern const struct vmi_conform_area vmi_conform_area_tlb;
extern const struct vmi_conform_area vmi_conform_area_pt;
extern const struct vmi_conform_area vmi_conform_area_mem;
extern const struct vmi_conform_area vmi_conform_area_system;
extern const struct vmi_conform_area vmi_conform_area_save;
extern const struct vmi_conform_area vmi_conform_area_x86;
extern const struct vmi_conform_area vmi_conform_area_aarch64;

#define AREA(var, nm, tab)                                                     \
    const struct vmi_conform_area var = {nm, tab, COUNT_OF(tab)}

#endif /* VMI_CONFORM_CASES_H */
