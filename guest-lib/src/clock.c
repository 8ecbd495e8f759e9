/* SPDX-License-Identifier: MIT */
/* clock.c: clock record, VM clock and wall clock, steal time. */
#include "internal.h"
#include "vmi_guest_clock.h"

int vmi_guest_clock_register(struct vmi_guest_vcpu *v,
                             struct vmi_clock_record *rec)
{
    uint64_t gpa = rec ? vmi__phys(v->g, rec) : VMI_GPA_NONE;
    int64_t st;

    st = vmi__call5(v->g, VMI_HC_CLOCK_REGISTER, gpa, 0, 0, 0, 0, 0);
    if (st == 0)
        v->clock = rec;
    return (int)st;
}

int vmi_guest_time_read(const struct vmi_guest *g, uint64_t *clock_ns,
                        int64_t *wall_offset_ns)
{
    uint64_t rets[VMI_HC_MAX_RETS];
    int64_t st;

    st = vmi__call5(g, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, rets);
    if (st)
        return (int)st;
    if (clock_ns)
        *clock_ns = rets[0];
    if (wall_offset_ns)
        *wall_offset_ns = (int64_t)rets[1];
    return 0;
}

uint64_t vmi_guest_tsc_to_ns(uint64_t delta, uint32_t mul, int8_t shift)
{
    return vmi_guest_clock_scale(delta, mul, shift);
}

static uint64_t native_rdtsc(void *ctx)
{
    (void)ctx;
    return vmi__arch_rdtsc();
}

int vmi_guest_clock_read_record(const struct vmi_clock_record *rec,
                                uint64_t (*rdtsc)(void *), void *ctx,
                                uint64_t *ns, uint8_t *flags)
{
    if (!rdtsc)
        return vmi_guest_clock_read_inline(rec, native_rdtsc, 0, ns, flags);
    return vmi_guest_clock_read_inline(rec, rdtsc, ctx, ns, flags);
}

static uint64_t guest_rdtsc(void *ctx)
{
    return vmi__rdtsc((const struct vmi_guest *)ctx);
}

/*
 * max(ns, g->last_ns), stored back: readings from different vCPUs then
 * never go backwards even when their TSCs are not synchronised.  The first
 * plain read may tear on 32-bit CPUs; the compare-exchange corrects it.
 */
static uint64_t monotonic(struct vmi_guest *g, uint64_t ns)
{
    uint64_t cur = *(volatile uint64_t *)&g->last_ns, seen;

    /* __sync: inlined as lock cmpxchg8b on i386 (see event.c). */
    while (ns > cur) {
        seen = __sync_val_compare_and_swap(&g->last_ns, cur, ns);
        if (seen == cur)
            return ns;
        cur = seen;
    }
    return cur;
}

uint64_t vmi_guest_clock_now(struct vmi_guest_vcpu *v)
{
    struct vmi_guest *g = v->g;
    uint64_t ns = 0;
    uint8_t flags = 0;

    if (v->clock) {
        int st;

        if (g->ops.rdtsc)
            st = vmi_guest_clock_read_inline(v->clock, guest_rdtsc, g, &ns,
                                             &flags);
        else
            st = vmi_guest_clock_read_inline(v->clock, native_rdtsc, 0, &ns,
                                             &flags);
        if (st == 0) {
            if (flags & VMI_CLOCK_TSC_STABLE)
                return ns;
            return monotonic(g, ns);
        }
    }
    /* No record, or INVALID: the slow path.  On failure keep the last. */
    if (vmi_guest_time_read(g, &ns, 0))
        ns = 0;
    return monotonic(g, ns);
}

int vmi_guest_clock_ack_stopped(struct vmi_guest_vcpu *v)
{
    const volatile struct vmi_clock_record *r = v->clock;
    int st;

    /* A single byte: no seqlock needed to see whether the host set it. */
    if (!r || !(r->flags & VMI_CLOCK_GUEST_STOPPED))
        return 0;
    st = vmi_guest_clock_register(v, v->clock);
    return st ? st : 1;
}

int vmi_guest_wallclock(struct vmi_guest_vcpu *v, int64_t *wall_ns)
{
    uint64_t ns = 0;
    int64_t off = 0;
    int st;

    /* Both from one TIME_READ, so offset and clock belong together. */
    st = vmi_guest_time_read(v->g, &ns, &off);
    if (st)
        return st;
    *wall_ns = (int64_t)(ns + (uint64_t)off);
    return 0;
}

int vmi_guest_steal_register(struct vmi_guest_vcpu *v,
                             struct vmi_steal_record *rec)
{
    uint64_t gpa = rec ? vmi__phys(v->g, rec) : VMI_GPA_NONE;
    int64_t st;

    st = vmi__call5(v->g, VMI_HC_STEAL_REGISTER, gpa, 0, 0, 0, 0, 0);
    if (st == 0)
        v->steal = rec;
    return (int)st;
}

uint64_t vmi_guest_steal_read(const struct vmi_guest_vcpu *v)
{
    const struct vmi_steal_record *rec = v->steal;
    const volatile struct vmi_steal_record *r = rec;
    uint32_t v1, v2 = 0;
    uint64_t ns = 0;

    if (!rec)
        return 0;
    /* Same seqlock as the clock record. */
    do {
        v1 = __atomic_load_n(&rec->version, __ATOMIC_ACQUIRE);
        if (v1 & 1u) {
            vmi__arch_pause(); /* the host is mid-update */
            continue;
        }
        ns = r->steal_ns;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        v2 = __atomic_load_n(&rec->version, __ATOMIC_RELAXED);
    } while ((v1 & 1u) || v1 != v2);
    return ns;
}
