/* SPDX-License-Identifier: MIT */
/* test_clock.c: clock record reads, fallbacks, monotonicity, conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <pthread.h>
#include <sched.h>
#include <cmocka.h>

#include "fake_host.h"

#define REC_GPA 0x1000u
#define STEAL_GPA 0x2000u

uint64_t scale32(uint64_t delta, uint32_t mul, int8_t shift);

static struct fake_host fh;
static struct vmi_guest g;
static struct vmi_guest_vcpu v;

static int setup(void **state)
{
    (void)state;
    fake_host_init(&fh);
    fake_host_guest(&fh, &g);
    vmi_guest_vcpu_init(&v, &g, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini(&fh);
    return 0;
}

static struct vmi_clock_record *rec(void)
{
    return fake_host_va(&fh, REC_GPA);
}

/* The reference: pvclock arithmetic in 128 bits. */
static uint64_t ref_scale(uint64_t delta, uint32_t mul, int shift)
{
    unsigned __int128 d = delta;

    if (shift < 0)
        d >>= -shift;
    else
        d <<= shift;
    return (uint64_t)((d * mul) >> 32);
}

static void test_clock_register_sends_gpa_and_reads_record(void **state)
{
    const struct fake_call *c;

    (void)state;
    assert_int_equal(vmi_guest_clock_register(&v, rec()), 0);
    c = fake_host_last(&fh, VMI_HC_CLOCK_REGISTER);
    assert_int_equal(c->args[0], REC_GPA);
    assert_int_equal(c->args[1], 0);
    assert_ptr_equal(v.clock, rec());
    fh.tsc = fh.rec_tsc + 123456789;
    assert_int_equal(vmi_guest_clock_now(&v),
                     fake_host_clock(&fh, fh.rec_tsc + 123456789));
    /* No TIME_READ was needed. */
    assert_int_equal(fake_host_count(&fh, VMI_HC_TIME_READ), 0);
}

static void test_clock_read_matches_reference_math(void **state)
{
    static const struct {
        uint32_t mul;
        int8_t shift;
        uint64_t delta;
    } cases[] = {
        {0x80000000u, 0, 1000},           {0xFFFFFFFFu, 0, UINT64_C(1) << 40},
        {0x9C4u << 20, -3, 987654321},    {0x12345678u, 5, 0xFFFFFFFFFu},
        {0xFFFFFFFFu, -31, ~UINT64_C(0)}, {1, 31, 12345},
    };
    uint64_t ns;
    uint8_t flags;

    (void)state;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fh.rec_mul = cases[i].mul;
        fh.rec_shift = cases[i].shift;
        fh.rec_sys = 1000000 + i;
        fh.rec_tsc = 5000;
        fake_host_write_record(&fh, REC_GPA);
        fh.tsc = 5000 + cases[i].delta;
        assert_int_equal(
            vmi_guest_clock_read_record(rec(), g.ops.rdtsc, &fh, &ns, &flags),
            0);
        assert_int_equal(
            ns, 1000000 + i +
                    ref_scale(cases[i].delta, cases[i].mul, cases[i].shift));
        assert_int_equal(flags, VMI_CLOCK_TSC_STABLE);
    }
}

/* An rdtsc that plays the host: it updates the record under the reader. */
struct racing_tsc {
    struct vmi_clock_record *r;
    unsigned calls;
};

static uint64_t rdtsc_with_update(void *ctx)
{
    struct racing_tsc *rt = ctx;

    if (rt->calls++ == 0) {
        /* A complete update between the reader's two version loads. */
        rt->r->version += 2;
        rt->r->system_time = 777000;
    }
    return rt->r->tsc_timestamp;
}

static void test_clock_read_retries_when_version_changes(void **state)
{
    struct racing_tsc rt = {rec(), 0};
    uint64_t ns = 0;

    (void)state;
    fake_host_write_record(&fh, REC_GPA);
    assert_int_equal(
        vmi_guest_clock_read_record(rec(), rdtsc_with_update, &rt, &ns, NULL),
        0);
    assert_int_equal(rt.calls, 2);
    assert_int_equal(ns, 777000);
}

/* A record the host has not written (mul zero): the reader does not use it
 * and the clock comes from TIME_READ. */
static void test_clock_unwritten_record_falls_back_to_time_read(void **state)
{
    uint64_t ns = 0;
    uint8_t flags = 0xFF;
    uint32_t mul;

    (void)state;
    assert_int_equal(vmi_guest_clock_register(&v, rec()), 0);
    mul = fh.rec_mul;
    fh.rec_mul = 0;
    fh.rec_flags = 0;
    fake_host_write_record(&fh, REC_GPA);
    fh.rec_mul = mul;
    assert_int_equal(
        vmi_guest_clock_read_record(rec(), g.ops.rdtsc, &fh, &ns, &flags),
        -VMI_E_STATE);
    assert_int_equal(flags, 0);
    /* The host's TIME_READ uses other parameters than the stale record. */
    fh.rec_sys = 99000000;
    fh.tsc = fh.rec_tsc + 10;
    ns = vmi_guest_clock_now(&v);
    assert_int_equal(fake_host_count(&fh, VMI_HC_TIME_READ), 1);
    assert_int_equal(ns, fake_host_clock(&fh, fh.tsc));
}

static void test_clock_without_record_uses_time_read(void **state)
{
    (void)state;
    fh.tsc = fh.rec_tsc + 2000;
    assert_int_equal(vmi_guest_clock_now(&v), fake_host_clock(&fh, fh.tsc));
    assert_int_equal(fake_host_count(&fh, VMI_HC_TIME_READ), 1);
}

static void test_clock_not_stable_never_goes_back(void **state)
{
    uint64_t first, raw;

    (void)state;
    fh.rec_flags = 0;
    assert_int_equal(vmi_guest_clock_register(&v, rec()), 0);
    fh.tsc = fh.rec_tsc + 1000;
    first = vmi_guest_clock_now(&v);
    assert_int_equal(g.last_ns, first);
    /* Another vCPU has seen a later time (its TSC is ahead). */
    g.last_ns = first + 50000;
    fh.tsc += 10; /* this vCPU's reading is still behind */
    raw = fake_host_clock(&fh, fh.tsc);
    assert_true(raw < first + 50000);
    assert_int_equal(vmi_guest_clock_now(&v), first + 50000);
    /* Once this vCPU passes it, its own value is returned and stored. */
    fh.tsc += 1000000;
    raw = fake_host_clock(&fh, fh.tsc);
    assert_int_equal(vmi_guest_clock_now(&v), raw);
    assert_int_equal(g.last_ns, raw);
}

static void test_clock_stable_skips_global_max(void **state)
{
    uint64_t raw;

    (void)state;
    fh.rec_flags = VMI_CLOCK_TSC_STABLE;
    assert_int_equal(vmi_guest_clock_register(&v, rec()), 0);
    g.last_ns = UINT64_C(1) << 60;
    fh.tsc = fh.rec_tsc + 1000;
    raw = fake_host_clock(&fh, fh.tsc);
    assert_int_equal(vmi_guest_clock_now(&v), raw);
    /* Not touched: no shared cache line is written on the fast path. */
    assert_int_equal(g.last_ns, UINT64_C(1) << 60);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s;
}

static void test_tsc_to_ns_is_overflow_free(void **state)
{
    uint64_t seed = 42;
    static const uint64_t deltas[] = {
        0,
        1,
        UINT64_C(0xFFFFFFFF),
        UINT64_C(1) << 32,
        UINT64_C(1) << 63,
        ~UINT64_C(0),
        ~UINT64_C(0) - 1,
        UINT64_C(0xDEADBEEFCAFEBABE),
    };

    (void)state;
    for (int shift = -31; shift <= 31; shift++) {
        for (unsigned i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
            uint32_t mul = (uint32_t)lcg(&seed) | 1u;
            uint64_t want = ref_scale(deltas[i], mul, shift);

            assert_int_equal(vmi_guest_tsc_to_ns(deltas[i], mul, (int8_t)shift),
                             want);
            assert_int_equal(scale32(deltas[i], mul, (int8_t)shift), want);
            assert_int_equal(scale32(deltas[i], 0xFFFFFFFFu, (int8_t)shift),
                             ref_scale(deltas[i], 0xFFFFFFFFu, shift));
        }
        for (unsigned i = 0; i < 2000; i++) {
            uint64_t d = lcg(&seed);
            uint32_t mul = (uint32_t)(lcg(&seed) >> 32);

            assert_int_equal(vmi_guest_tsc_to_ns(d, mul, (int8_t)shift),
                             ref_scale(d, mul, shift));
            assert_int_equal(scale32(d, mul, (int8_t)shift),
                             ref_scale(d, mul, shift));
        }
    }
    /* A left shift of a large delta loses nothing before the multiply. */
    assert_int_equal(vmi_guest_tsc_to_ns(UINT64_C(1) << 63, 1u << 31, 1),
                     UINT64_C(1) << 63);
}

/* Out-of-ABI shifts (a broken host) give one answer on both paths. */
static void test_tsc_to_ns_out_of_range_shift_is_clamped(void **state)
{
    uint64_t seed = 7;

    (void)state;
    for (int shift = -128; shift <= 127; shift++) {
        int clamped = shift < -63 ? -63 : shift > 31 ? 31 : shift;

        for (unsigned i = 0; i < 200; i++) {
            uint64_t d = lcg(&seed);
            uint32_t mul = (uint32_t)(lcg(&seed) >> 32);
            uint64_t want = ref_scale(d, mul, clamped);

            assert_int_equal(vmi_guest_tsc_to_ns(d, mul, (int8_t)shift), want);
            assert_int_equal(scale32(d, mul, (int8_t)shift), want);
        }
    }
}

static void test_wallclock_adds_offset(void **state)
{
    int64_t wall = 0;

    (void)state;
    fh.tsc = fh.rec_tsc + 4000;
    assert_int_equal(vmi_guest_wallclock(&v, &wall), 0);
    assert_int_equal(wall,
                     (int64_t)fake_host_clock(&fh, fh.tsc) + fh.wall_offset);
}

static void test_steal_register_and_read(void **state)
{
    struct vmi_steal_record *s = fake_host_va(&fh, STEAL_GPA);

    (void)state;
    assert_int_equal(vmi_guest_steal_read(&v), 0);
    assert_int_equal(vmi_guest_steal_register(&v, s), 0);
    assert_int_equal(fake_host_last(&fh, VMI_HC_STEAL_REGISTER)->args[0],
                     STEAL_GPA);
    s->steal_ns = 123456;
    s->version = 2;
    assert_int_equal(vmi_guest_steal_read(&v), 123456);
    assert_int_equal(vmi_guest_steal_register(&v, NULL), 0);
    assert_true(fake_host_last(&fh, VMI_HC_STEAL_REGISTER)->args[0] ==
                VMI_GPA_NONE);
    assert_null(v.steal);
}

static void test_clock_register_error_keeps_old_record(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_clock_register(&v, rec()), 0);
    assert_int_equal(
        vmi_guest_clock_register(
            &v, (struct vmi_clock_record *)fake_host_va(&fh, REC_GPA + 8)),
        -VMI_E_ALIGN);
    assert_ptr_equal(v.clock, rec());
    assert_int_equal(vmi_guest_clock_register(&v, NULL), 0);
    assert_null(v.clock);
}

static void test_clock_ack_stopped_reregisters_same_record(void **state)
{
    (void)state;
    assert_int_equal(vmi_guest_clock_ack_stopped(&v), 0); /* no record */
    assert_int_equal(vmi_guest_clock_register(&v, rec()), 0);
    assert_int_equal(vmi_guest_clock_ack_stopped(&v), 0);
    assert_int_equal(fake_host_count(&fh, VMI_HC_CLOCK_REGISTER), 1);
    /* The host restores the VM and flags the record. */
    fh.rec_flags = VMI_CLOCK_TSC_STABLE | VMI_CLOCK_GUEST_STOPPED;
    fake_host_write_record(&fh, REC_GPA);
    fh.rec_flags = VMI_CLOCK_TSC_STABLE; /* cleared at re-registration */
    assert_int_equal(vmi_guest_clock_ack_stopped(&v), 1);
    assert_int_equal(fake_host_count(&fh, VMI_HC_CLOCK_REGISTER), 2);
    assert_int_equal(fake_host_last(&fh, VMI_HC_CLOCK_REGISTER)->args[0],
                     REC_GPA);
    assert_int_equal(rec()->flags & VMI_CLOCK_GUEST_STOPPED, 0);
    assert_int_equal(vmi_guest_clock_ack_stopped(&v), 0);
}

/* ---- the race: one writer in seqlock order, readers never see a tear ---- */

#define RACE_X (UINT64_C(1) << 50)
#define RACE_UPDATES 300000u

static struct vmi_clock_record race_rec __attribute__((aligned(32)));
static int race_done;

/*
 * Update k: ns at RACE_X is (k << 40) + k * 1000, reached through two
 * parameter sets (even k: delta 2000k, mul 1/2, shift 0; odd k: delta
 * 8000k, mul 1/4, shift -1) so that any mix of fields from two updates
 * (delta, mul, shift or system_time from another one) gives a value whose
 * halves disagree.
 */
static void race_write(uint32_t k)
{
    int odd = k & 1u;
    uint64_t d = (uint64_t)k * (odd ? 8000u : 2000u);
    uint32_t ver = race_rec.version;

    __atomic_store_n(&race_rec.version, ver + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&race_rec.tsc_timestamp, RACE_X - d, __ATOMIC_RELAXED);
    __atomic_store_n(&race_rec.system_time, (uint64_t)k << 40,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&race_rec.tsc_to_system_mul,
                     odd ? 0x40000000u : 0x80000000u, __ATOMIC_RELAXED);
    __atomic_store_n(&race_rec.tsc_shift, (uint8_t)(odd ? -1 : 0),
                     __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&race_rec.version, ver + 2, __ATOMIC_RELAXED);
}

struct race_reader {
    uint64_t reads, torn, tsc_calls, last_k, backwards;
};

static struct race_reader *race_readers;
static int race_nreaders;

/* Reads every reader has made so far (the fewest). */
static uint64_t race_min_reads(void)
{
    uint64_t m = UINT64_MAX;

    for (int i = 0; i < race_nreaders; i++) {
        uint64_t r = __atomic_load_n(&race_readers[i].reads, __ATOMIC_RELAXED);
        m = r < m ? r : m;
    }
    return m;
}

/*
 * Updates until every reader has read many times while updates were under
 * way: on a loaded machine a reader thread may get no CPU for a while, and
 * a race test whose readers never overlapped the writer proves nothing.
 * Bounded, so a starved reader fails the test instead of hanging it.
 */
static void *race_writer(void *arg)
{
    uint32_t k = 1000;

    (void)arg;
    while (race_min_reads() == 0)
        sched_yield();
    while ((k < 1000 + RACE_UPDATES || race_min_reads() < 100000) &&
           k < 1000 + 200 * RACE_UPDATES)
        race_write(k++);
    __atomic_store_n(&race_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Update k reads (k << 40) + k * 1000: the halves must agree. */
static int race_torn(uint64_t ns)
{
    return (ns & ((UINT64_C(1) << 40) - 1)) != (ns >> 40) * 1000;
}

static uint64_t race_tsc(void *ctx)
{
    ((struct race_reader *)ctx)->tsc_calls++;
    return RACE_X;
}

static void *race_reader(void *arg)
{
    struct race_reader *r = arg;

    while (!__atomic_load_n(&race_done, __ATOMIC_ACQUIRE)) {
        uint64_t ns = 0, k;

        if (vmi_guest_clock_read_record(&race_rec, race_tsc, r, &ns, NULL))
            r->torn++;
        k = ns >> 40;
        if (race_torn(ns))
            r->torn++;
        if (k < r->last_k)
            r->backwards++;
        r->last_k = k;
        __atomic_store_n(&r->reads, r->reads + 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* The detector has teeth: a record mixing two updates is caught. */
static void test_clock_race_detector_catches_mixed_updates(void **state)
{
    struct race_reader rr = {0};
    struct vmi_clock_record whole, mixed;
    uint64_t ns = 0;

    (void)state;
    race_write(1001);
    whole = race_rec;
    race_write(1000);
    assert_int_equal(
        vmi_guest_clock_read_record(&race_rec, race_tsc, &rr, &ns, NULL), 0);
    assert_false(race_torn(ns));
    /* tsc_timestamp from update 1001, the rest from 1000. */
    mixed = race_rec;
    mixed.tsc_timestamp = whole.tsc_timestamp;
    assert_int_equal(
        vmi_guest_clock_read_record(&mixed, race_tsc, &rr, &ns, NULL), 0);
    assert_true(race_torn(ns));
    /* mul and shift from 1001, the rest from 1000. */
    mixed = race_rec;
    mixed.tsc_to_system_mul = whole.tsc_to_system_mul;
    mixed.tsc_shift = whole.tsc_shift;
    assert_int_equal(
        vmi_guest_clock_read_record(&mixed, race_tsc, &rr, &ns, NULL), 0);
    assert_true(race_torn(ns));
    /* system_time from 1001 alone. */
    mixed = race_rec;
    mixed.system_time = whole.system_time;
    assert_int_equal(
        vmi_guest_clock_read_record(&mixed, race_tsc, &rr, &ns, NULL), 0);
    assert_true(race_torn(ns));
}

static void test_clock_race_never_returns_torn_value(void **state)
{
    pthread_t w, rd[2];
    struct race_reader rr[2] = {{0}, {0}};

    (void)state;
    race_write(999);
    race_done = 0;
    race_readers = rr;
    race_nreaders = 2;
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&rd[i], NULL, race_reader, &rr[i]), 0);
    assert_int_equal(pthread_create(&w, NULL, race_writer, NULL), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < 2; i++) {
        pthread_join(rd[i], NULL);
        printf("# reader %d: %llu reads, %llu retries, %llu torn\n", i,
               (unsigned long long)rr[i].reads,
               (unsigned long long)(rr[i].tsc_calls - rr[i].reads),
               (unsigned long long)rr[i].torn);
        assert_true(rr[i].reads >= 100000);
        assert_int_equal(rr[i].torn, 0);
        assert_int_equal(rr[i].backwards, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_clock_register_sends_gpa_and_reads_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_read_matches_reference_math,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_clock_read_retries_when_version_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_clock_unwritten_record_falls_back_to_time_read, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_clock_without_record_uses_time_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_not_stable_never_goes_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_stable_skips_global_max,
                                        setup, teardown),
        cmocka_unit_test(test_tsc_to_ns_is_overflow_free),
        cmocka_unit_test(test_tsc_to_ns_out_of_range_shift_is_clamped),
        cmocka_unit_test_setup_teardown(test_wallclock_adds_offset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_steal_register_and_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_clock_register_error_keeps_old_record, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_clock_ack_stopped_reregisters_same_record, setup, teardown),
        cmocka_unit_test(test_clock_race_detector_catches_mixed_updates),
        cmocka_unit_test(test_clock_race_never_returns_torn_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
