/* SPDX-License-Identifier: MIT */
/* rt_scan.h: word-at-a-time string scanning for the example guests' runtime. */
#ifndef RT_SCAN_H
#define RT_SCAN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Guest CPL0 code may be emulated instruction by instruction (KVM-PVM,
 * where even a REP string instruction costs about 1 us per element), so
 * these helpers move and scan 8 bytes per step.
 */
typedef uint64_t __attribute__((may_alias)) rt_u64a;

#define BYTES_01 0x0101010101010101ull
#define BYTES_80 0x8080808080808080ull

/* High bit set in the lowest zero byte of v (bits above it may be wrong). */
static inline uint64_t zero_byte(uint64_t v)
{
    return (v - BYTES_01) & ~v & BYTES_80;
}

/*
 * Length of the run at s up to the first NUL or `stop` byte (stop 0: NUL
 * only).  Reads whole aligned words, which never cross a page, so it may
 * look past the end of the string but never into an unmapped page.
 */
static inline __attribute__((always_inline)) size_t scan(const char *s,
                                                         unsigned char stop)
{
    const rt_u64a *p = (const rt_u64a *)((uintptr_t)s & ~(uintptr_t)7);
    unsigned head = (unsigned)((uintptr_t)s & 7) * 8;
    uint64_t rep = BYTES_01 * stop;
    uint64_t v = *p | (head ? (1ull << head) - 1 : 0); /* 0xFF: no match */

    for (;;) {
        uint64_t m = zero_byte(v) | (stop ? zero_byte(v ^ rep) : 0);

        if (m)
            return (size_t)((const char *)p - s) +
                   (size_t)(__builtin_ctzll(m) >> 3);
        v = *++p;
    }
}

#endif /* RT_SCAN_H */
