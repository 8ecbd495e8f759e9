/* SPDX-License-Identifier: MIT */
/*
 * bench_clock.c: cost of one clock-record read (vmi_guest_clock_read_record
 * with the native counter, real TSC parameters calibrated against
 * CLOCK_MONOTONIC) against a bare ordered counter read measured in the same
 * run.  Prints median and p99 per-call ns over repetitions and the ratio.
 *
 *   vmi-guest-bench [--reps N] [--iters N] [--json FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmi_guest.h"
#include "vmi_guest_clock.h"

/* The native counter, ordered like the library's (bench is hosted). */
static inline uint64_t counter(void)
{
#if defined(__x86_64__) || defined(__i386__)
    uint32_t lo, hi;

    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t)hi << 32 | lo;
#elif defined(__aarch64__)
    uint64_t v;

    __asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v)::"memory");
    return v;
#else
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static uint64_t counter_fn(void *ctx)
{
    (void)ctx;
    return counter();
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* pvclock-style mul/shift for freq Hz: ns = (delta << shift) * mul >> 32. */
static void scale_for(uint64_t hz, uint32_t *mul, int8_t *shift)
{
    uint64_t base = 1000000000u;
    int s = 0;

    /* Bring hz into (base/2, base] ... so that base/hz fits 32.32. */
    while (hz > base * 2 && s > -31) {
        hz >>= 1;
        s--;
    }
    while (hz <= base && s < 31) {
        hz <<= 1;
        s++;
    }
    *mul = (uint32_t)((base << 32) / hz);
    *shift = (int8_t)s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double pct(double *v, unsigned n, double p)
{
    unsigned i = (unsigned)(p * (n - 1) + 0.5);

    return v[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
    static struct vmi_clock_record rec __attribute__((aligned(32)));
    unsigned reps = 201, iters = 20000, r, i;
    const char *json = NULL;
    uint64_t t0, c0, t1, c1, hz, ns = 0, sink = 0;
    double *rd, *raw, *inl, mrd, mraw, minl;
    uint32_t mul;
    int8_t shift;
    int64_t err;
    struct timespec pause = {0, 50000000};

    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--json") && a + 1 < argc)
            json = argv[++a];
        else if (!strcmp(argv[a], "--reps") && a + 1 < argc)
            reps = (unsigned)strtoul(argv[++a], NULL, 0);
        else if (!strcmp(argv[a], "--iters") && a + 1 < argc)
            iters = (unsigned)strtoul(argv[++a], NULL, 0);
        else {
            fprintf(stderr, "usage: %s [--reps N] [--iters N] [--json FILE]\n",
                    argv[0]);
            return 2;
        }
    }
    if (reps < 2 || iters < 1)
        return 2;

    /* Calibrate the counter against CLOCK_MONOTONIC over 50 ms. */
    t0 = mono_ns();
    c0 = counter();
    nanosleep(&pause, NULL);
    t1 = mono_ns();
    c1 = counter();
    hz = (uint64_t)((double)(c1 - c0) * 1e9 / (double)(t1 - t0));
    scale_for(hz, &mul, &shift);
    rec.tsc_timestamp = c1;
    rec.system_time = t1;
    rec.tsc_to_system_mul = mul;
    rec.tsc_shift = (uint8_t)shift;
    rec.flags = VMI_CLOCK_TSC_STABLE;
    rec.version = 2;

    /* Sanity: the record's clock follows CLOCK_MONOTONIC. */
    nanosleep(&pause, NULL);
    if (vmi_guest_clock_read_record(&rec, counter_fn, NULL, &ns, NULL)) {
        fprintf(stderr, "record read failed\n");
        return 1;
    }
    err = (int64_t)(ns - mono_ns());
    printf("counter %.3f MHz, mul 0x%08x shift %d, record vs "
           "CLOCK_MONOTONIC after 50 ms: %+lld ns\n",
           (double)hz / 1e6, mul, shift, (long long)err);

    rd = calloc(reps, sizeof(*rd));
    raw = calloc(reps, sizeof(*raw));
    inl = calloc(reps, sizeof(*inl));
    if (!rd || !raw || !inl)
        return 1;
    for (r = 0; r < reps; r++) {
        uint64_t a, b;

        /* Rotate the order so drift affects all alike. */
        for (int k = 0; k < 3; k++) {
            int which = (k + (int)r) % 3;

            if (which == 2) {
                a = mono_ns();
                for (i = 0; i < iters; i++) {
                    vmi_guest_clock_read_inline(&rec, counter_fn, NULL, &ns,
                                                NULL);
                    sink += ns;
                }
                b = mono_ns();
                inl[r] = (double)(b - a) / iters;
            } else if (which == 0) {
                a = mono_ns();
                for (i = 0; i < iters; i++) {
                    vmi_guest_clock_read_record(&rec, counter_fn, NULL, &ns,
                                                NULL);
                    sink += ns;
                }
                b = mono_ns();
                rd[r] = (double)(b - a) / iters;
            } else {
                a = mono_ns();
                for (i = 0; i < iters; i++)
                    sink += counter();
                b = mono_ns();
                raw[r] = (double)(b - a) / iters;
            }
        }
    }
    qsort(rd, reps, sizeof(*rd), cmp_double);
    qsort(raw, reps, sizeof(*raw), cmp_double);
    qsort(inl, reps, sizeof(*inl), cmp_double);
    minl = pct(inl, reps, 0.5);
    mrd = pct(rd, reps, 0.5);
    mraw = pct(raw, reps, 0.5);
    printf("reps %u x %u calls\n", reps, iters);
    printf("raw counter read (lfence;rdtsc): median %.2f ns  p99 %.2f ns\n",
           mraw, pct(raw, reps, 0.99));
    printf("vmi_guest_clock_read_record:     median %.2f ns  p99 %.2f ns\n",
           mrd, pct(rd, reps, 0.99));
    printf("vmi_guest_clock_read_inline:     median %.2f ns  p99 %.2f ns\n",
           minl, pct(inl, reps, 0.99));
    printf("ratio record/raw (median): %.2f   inline/raw: %.2f\n", mrd / mraw,
           minl / mraw);
    if (json) {
        FILE *f = fopen(json, "w");

        if (!f) {
            perror(json);
            return 1;
        }
        fprintf(f,
                "{\"benchmark\":\"guest_clock_read\",\"reps\":%u,"
                "\"iters\":%u,\"counter_hz\":%llu,"
                "\"raw_median_ns\":%.3f,\"raw_p99_ns\":%.3f,"
                "\"read_median_ns\":%.3f,\"read_p99_ns\":%.3f,"
                "\"ratio_median\":%.3f,\"inline_median_ns\":%.3f,"
                "\"inline_p99_ns\":%.3f,\"inline_ratio_median\":%.3f,"
                "\"record_error_ns\":%lld}\n",
                reps, iters, (unsigned long long)hz, mraw, pct(raw, reps, 0.99),
                mrd, pct(rd, reps, 0.99), mrd / mraw, minl,
                pct(inl, reps, 0.99), minl / mraw, (long long)err);
        fclose(f);
    }
    free(rd);
    free(raw);
    free(inl);
    return sink == 42 ? 3 : 0; /* keep sink live */
}
