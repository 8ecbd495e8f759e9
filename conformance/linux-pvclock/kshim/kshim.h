/* SPDX-License-Identifier: MIT */
/*
 * kshim.h: the few kernel types and macros that Linux's pvclock reader
 * (arch/x86/include/asm/pvclock.h, pvclock-abi.h, arch/x86/kernel/pvclock.c,
 * extracted at build time from Debian's linux-source-6.1) needs to compile in
 * user space.  Every kernel header those files include is generated in the
 * build tree as a one-line file that includes this one, so nothing here is
 * kernel code: only what the three files use, written for user space.
 *
 * The functions declared at the end are the kernel environment; the test
 * defines them (the TSC, watchdog counters).
 */
#ifndef KSHIM_H
#define KSHIM_H

#include <stdbool.h>
#include <stdint.h>

#if !defined(__x86_64__)
#error "Linux's pvclock_scale_delta has inline asm for x86 only"
#endif

typedef uint8_t u8;
typedef int8_t s8;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef unsigned long ulong;
typedef s64 time64_t;

/* include/linux/compiler*.h, linux/cache.h */
#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#define __read_mostly
#define unlikely(x) __builtin_expect(!!(x), 0)
#define barrier() __asm__ __volatile__("" : : : "memory")
#define SMP_CACHE_BYTES 64

/*
 * arch/x86/include/asm/barrier.h: x86 is TSO, so the kernel's virt_rmb() is
 * a compiler barrier; rmb() is lfence.
 */
#define virt_rmb() barrier()
#define rmb() __asm__ __volatile__("lfence" : : : "memory")

/* The configuration a KVM guest kernel has (Debian's amd64 config). */
#define CONFIG_PARAVIRT_CLOCK 1

#define NSEC_PER_SEC 1000000000L
#define EXPORT_SYMBOL_GPL(sym) extern int kshim_exported_##sym
#define WARN_ON(cond) ((void)(cond))
/* No vDSO here: the pvclock vclock mode is never in use. */
#define VDSO_CLOCKMODE_PVCLOCK 2
#define vclock_was_used(mode) ((void)(mode), 0)

/* asm-generic/div64.h semantics: n /= base, evaluates to the remainder. */
#define do_div(n, base)                                                        \
    ({                                                                         \
        u32 kshim_base_ = (base);                                              \
        u32 kshim_rem_ = (u32)((n) % kshim_base_);                             \
        (n) /= kshim_base_;                                                    \
        kshim_rem_;                                                            \
    })

struct timespec64 {
    time64_t tv_sec;
    long tv_nsec;
};

/* linux/atomic.h: atomic64_t with the kernel's return conventions. */
typedef struct {
    s64 counter;
} atomic64_t;
#define ATOMIC64_INIT(i)                                                       \
    {                                                                          \
        (i)                                                                    \
    }

static inline s64 atomic64_read(const atomic64_t *v)
{
    return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic64_set(atomic64_t *v, s64 i)
{
    __atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

/* Returns the value found (the old value when the exchange happened). */
static inline s64 atomic64_cmpxchg(atomic64_t *v, s64 old, s64 new_value)
{
    __atomic_compare_exchange_n(&v->counter, &old, new_value, false,
                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return old;
}

/* The kernel environment, defined by the test. */
u64 rdtsc_ordered(void);
void touch_softlockup_watchdog_sync(void);
void clocksource_touch_watchdog(void);
void rcu_cpu_stall_reset(void);
void reset_hung_task_detector(void);
void set_normalized_timespec64(struct timespec64 *ts, time64_t sec, s64 nsec);

#endif /* KSHIM_H */
