/* SPDX-License-Identifier: MIT */
/*
 * vmi_guest_clock.h: header-only, lock-free reader of an OpenVMI clock
 * record (vDSO style: no hypercall, no library state, usable from user mode
 * when the kernel maps the record read-only).
 *
 * Protocol (the host's side is in the specification, clause area CLK):
 * the host makes version odd, writes the fields, then makes it even again,
 * with write barriers between.  The reader reads version (retry while odd),
 * the counter and the fields, then version again, and retries when the two
 * versions differ.  On x86 (TSO) compiler barriers suffice, provided the
 * counter read is ordered after the first version read (the caller's rdtsc
 * must be lfence;rdtsc or rdtscp).  Weakly ordered CPUs get acquire loads
 * and an acquire fence (ldar / dmb ishld on aarch64) from the __atomic
 * builtins used here.
 */
#ifndef VMI_GUEST_CLOCK_H
#define VMI_GUEST_CLOCK_H

#include <stdint.h>
#include <vmi/vmi.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * (delta shifted by shift) * mul >> 32, truncated to 64 bits, with an
 * intermediate wide enough that nothing is lost before the final shift
 * (a left shift of a large delta by up to 31 bits does not overflow).
 * The ABI range of shift is -31..31; values outside it (a broken host) are
 * clamped to right 63 / left 31 on every path, so the result never depends
 * on the path and no shift is undefined.  The 32-bit path uses only
 * 32x32->64 multiplies and 64-bit shifts, which i386 and other 32-bit
 * targets do inline (no libgcc helper).
 */
static inline uint64_t vmi_guest_clock_scale(uint64_t delta, uint32_t mul,
                                             int8_t shift)
{
    unsigned r = shift < 0 ? (unsigned)(-(int)shift) : 0u;
    unsigned l = shift > 0 ? (unsigned)shift : 0u;

    if (r > 63u)
        r = 63u;
    if (l > 31u)
        l = 31u;
#ifdef __SIZEOF_INT128__
    __extension__ unsigned __int128 d = delta >> r;

    /*
     * Hosts with a TSC above about 1 GHz give shift <= 0: one 64x64->128
     * multiply, without the variable 128-bit left shift (vmi-bench: reader
     * 1.22x -> 1.15x the cost of a bare lfence;rdtsc at guest CPL3).
     */
    if (!l)
        return (uint64_t)((d * mul) >> 32);
    d <<= l;
    return (uint64_t)((d * mul) >> 32);
#else
    /* d = hi:lo, hi below 2^31 after a left shift of at most 31. */
    uint64_t lo = delta >> r;
    uint32_t hi = l ? (uint32_t)(lo >> (64u - l)) : 0u;

    lo <<= l;
    /*
     * (hi*2^64 + lh*2^32 + ll) * mul >> 32, mod 2^64
     *   = hi*mul*2^32 + lh*mul + (ll*mul >> 32).
     */
    return ((uint64_t)hi * mul << 32) + (uint64_t)(uint32_t)(lo >> 32) * mul +
           (((uint64_t)(uint32_t)lo * mul) >> 32);
#endif
}

/*
 * Read rec once.  rdtsc(ctx) reads the counter the record describes and must
 * not be executed before the preceding load (x86: lfence;rdtsc).  Returns 0
 * with *ns and *flags (flags may be NULL), or -VMI_E_STATE when the record
 * is INVALID (use TIME_READ).  Spins while the host is mid-update.
 */
static inline int
vmi_guest_clock_read_inline(const struct vmi_clock_record *rec,
                            uint64_t (*rdtsc)(void *), void *ctx, uint64_t *ns,
                            uint8_t *flags)
{
    const volatile struct vmi_clock_record *r = rec;
    uint32_t v1, v2 = 0, mul = 0;
    uint64_t ts = 0, sys = 0, tsc = 0;
    int8_t shift = 0;
    uint8_t fl = 0;

    do {
        v1 = __atomic_load_n(&rec->version, __ATOMIC_ACQUIRE);
        if (v1 & 1u)
            continue;
        tsc = rdtsc(ctx);
        /*
         * Volatile loads: a torn 64-bit read (32-bit CPUs) is caught by the
         * version check, so the fields need no atomic access.
         */
        ts = r->tsc_timestamp;
        sys = r->system_time;
        mul = r->tsc_to_system_mul;
        shift = r->tsc_shift;
        fl = r->flags;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        v2 = __atomic_load_n(&rec->version, __ATOMIC_RELAXED);
    } while ((v1 & 1u) || v1 != v2);

    if (flags)
        *flags = fl;
    /* mul is zero only in a record the host has not written yet. */
    if (mul == 0)
        return -VMI_E_STATE;
    *ns = sys + vmi_guest_clock_scale(tsc - ts, mul, shift);
    return 0;
}

#ifdef __cplusplus
}
#endif
#endif /* VMI_GUEST_CLOCK_H */
