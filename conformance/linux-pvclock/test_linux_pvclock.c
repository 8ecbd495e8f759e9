/* SPDX-License-Identifier: MIT */
/*
 * test_linux_pvclock.c: Linux 6.1's own pvclock reader (asm/pvclock.h and
 * arch/x86/kernel/pvclock.c from Debian's linux-source-6.1, extracted at
 * configure time by tools/vmi-debian-fetch) reads the clock records that
 * host-lib writes, and gets the nanoseconds VMI_HC_TIME_READ answers.
 *
 * The machine is an ops table: guest RAM in a buffer, a TSC the test sets.
 * The guest side is Linux's code only; this file supplies the kernel
 * environment it calls (rdtsc_ordered, the watchdog hooks).
 */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <asm/pvclock.h>

#include "linux_source.h"
#include "vmi_host.h"

/* Linux's struct pvclock_vcpu_time_info is the OpenVMI clock record. */
#define SAME_FIELD(l, v)                                                       \
    _Static_assert(offsetof(struct pvclock_vcpu_time_info, l) ==               \
                           offsetof(struct vmi_clock_record, v) &&             \
                       sizeof(((struct pvclock_vcpu_time_info *)0)->l) ==      \
                           sizeof(((struct vmi_clock_record *)0)->v),          \
                   #l " vs " #v)
_Static_assert(sizeof(struct pvclock_vcpu_time_info) ==
                   sizeof(struct vmi_clock_record),
               "record size");
SAME_FIELD(version, version);
SAME_FIELD(tsc_timestamp, tsc_timestamp);
SAME_FIELD(system_time, system_time);
SAME_FIELD(tsc_to_system_mul, tsc_to_system_mul);
SAME_FIELD(tsc_shift, tsc_shift);
SAME_FIELD(flags, flags);
/* Signed like Linux's s8 tsc_shift (the first draft typed it uint8_t). */
_Static_assert((__typeof__(((struct vmi_clock_record *)0)->tsc_shift))-1 < 0,
               "tsc_shift is signed");
_Static_assert((__typeof__(((struct pvclock_vcpu_time_info *)0)->tsc_shift))-1 <
                   0,
               "Linux's tsc_shift is signed");
/* Bit 2 is Linux's retired PVCLOCK_COUNTS_FROM_ZERO, no OpenVMI flag. */
_Static_assert(PVCLOCK_COUNTS_FROM_ZERO == (1 << 2), "bit 2");
#ifdef VMI_CLOCK_INVALID
#error "VMI_CLOCK_INVALID was retired in 1.0 draft 2"
#endif
_Static_assert(PVCLOCK_TSC_STABLE_BIT == VMI_CLOCK_TSC_STABLE, "stable bit");
_Static_assert(PVCLOCK_GUEST_STOPPED == VMI_CLOCK_GUEST_STOPPED, "stopped bit");

#define RAM_BYTES (64u * 1024u)
#define RECORD_GPA 0x1000u

struct machine {
    uint8_t ram[RAM_BYTES];
    uint64_t tsc; /* the guest's TSC: ops->rdtsc and rdtsc_ordered() */
    uint64_t tsc_hz;
    unsigned kicks; /* ops->kick calls for vCPU 0 */
    struct vmi_host_vm *vm;
};

/* The machine Linux's code runs on (rdtsc_ordered takes no argument). */
static struct machine *cur;
/* The TSC value this thread's last rdtsc_ordered() returned. */
static __thread uint64_t last_rdtsc;

/* Linux's watchdog hooks, called by pvclock_touch_watchdogs(). */
static unsigned touched_softlockup, touched_clocksource, touched_rcu,
    touched_hung_task;

u64 rdtsc_ordered(void)
{
    last_rdtsc = __atomic_load_n(&cur->tsc, __ATOMIC_SEQ_CST);
    return last_rdtsc;
}

void touch_softlockup_watchdog_sync(void)
{
    __atomic_add_fetch(&touched_softlockup, 1, __ATOMIC_RELAXED);
}

void clocksource_touch_watchdog(void)
{
    __atomic_add_fetch(&touched_clocksource, 1, __ATOMIC_RELAXED);
}

void rcu_cpu_stall_reset(void)
{
    __atomic_add_fetch(&touched_rcu, 1, __ATOMIC_RELAXED);
}

void reset_hung_task_detector(void)
{
    __atomic_add_fetch(&touched_hung_task, 1, __ATOMIC_RELAXED);
}

/* Needed to link pvclock_read_wallclock (not used: no wall-clock page). */
void set_normalized_timespec64(struct timespec64 *ts, time64_t sec, s64 nsec)
{
    ts->tv_sec = sec + nsec / NSEC_PER_SEC;
    ts->tv_nsec = (long)(nsec % NSEC_PER_SEC);
}

/* How often pvclock_touch_watchdogs() ran; all four hooks must agree. */
static unsigned watchdog_touches(void)
{
    assert_int_equal(touched_softlockup, touched_clocksource);
    assert_int_equal(touched_softlockup, touched_rcu);
    assert_int_equal(touched_softlockup, touched_hung_task);
    return touched_softlockup;
}

static void *m_map(void *ctx, uint64_t gpa, uint64_t len)
{
    struct machine *m = ctx;
    uint64_t end;

    if (__builtin_add_overflow(gpa, len, &end) || end > RAM_BYTES)
        return NULL;
    return m->ram + gpa;
}

static uint64_t m_now_ns(void *ctx)
{
    struct machine *m = ctx;

    return (uint64_t)((unsigned __int128)m->tsc * 1000000000u / m->tsc_hz);
}

static uint64_t m_rdtsc(void *ctx)
{
    return __atomic_load_n(&((struct machine *)ctx)->tsc, __ATOMIC_SEQ_CST);
}

static void m_kick(void *ctx, uint32_t vcpu)
{
    if (vcpu == 0)
        ((struct machine *)ctx)->kicks++;
}

static const struct vmi_host_ops machine_ops = {
    .map = m_map,
    .now_ns = m_now_ns,
    .rdtsc = m_rdtsc,
    .kick = m_kick,
};

static struct vmi_host_vm *create_vm(struct machine *m, int stable)
{
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm = NULL;
    char why[128] = "";

    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = &machine_ops;
    cfg.ctx = m;
    cfg.vcpu_count = 1;
    cfg.timer_count = 4;
    cfg.ram_bytes = RAM_BYTES;
    cfg.tsc_hz = m->tsc_hz;
    cfg.features = VMI_F_CLOCK;
    cfg.transports = VMI_TRANSPORT_PORTIO;
    cfg.port = 0x520;
    cfg.tsc_stable = (uint32_t)stable;
    if (vmi_host_vm_create(&cfg, &vm, why, sizeof(why)) != 0)
        fail_msg("vmi_host_vm_create: %s", why);
    return vm;
}

static int64_t hypercall(struct vmi_host_vm *vm, uint64_t nr, uint64_t a0,
                         uint64_t a1, uint64_t rets[2])
{
    struct vmi_host_call c;

    memset(&c, 0, sizeof(c));
    c.nr = nr;
    c.args[0] = a0;
    c.args[1] = a1;
    assert_int_equal(vmi_host_hypercall(vm, 0, &c), 0);
    assert_int_equal(c.action, VMI_HOST_RESUME);
    if (rets) {
        rets[0] = c.rets[0];
        rets[1] = c.rets[1];
    }
    return c.status;
}

static uint64_t time_read(struct machine *m)
{
    uint64_t rets[2];

    assert_int_equal(hypercall(m->vm, VMI_HC_TIME_READ, 0, 0, rets), 0);
    return rets[0];
}

static struct pvclock_vcpu_time_info *record(struct machine *m)
{
    return (struct pvclock_vcpu_time_info *)(m->ram + RECORD_GPA);
}

/* A machine at `hz` whose guest negotiated 1.0 and registered its record,
 * and a Linux that trusts the flags a KVM guest trusts. */
static struct machine *boot(uint64_t hz, uint64_t tsc0, int stable)
{
    struct machine *m = calloc(1, sizeof(*m));
    uint64_t rets[2];

    assert_non_null(m);
    m->tsc_hz = hz;
    m->tsc = tsc0;
    m->vm = create_vm(m, stable);
    assert_int_equal(
        hypercall(m->vm, VMI_HC_NEGOTIATE,
                  VMI_VERSION(VMI_SPEC_VERSION_MAJOR, VMI_SPEC_VERSION_MINOR),
                  VMI_F_CLOCK, rets),
        0);
    assert_int_equal(
        hypercall(m->vm, VMI_HC_CLOCK_REGISTER, RECORD_GPA, 0, NULL), 0);
    cur = m;
    /* kvmclock: PVCLOCK_TSC_STABLE_BIT when the host says so. */
    pvclock_set_flags(PVCLOCK_TSC_STABLE_BIT);
    /* Linux's global monotonic accumulator starts again per machine. */
    pvclock_resume();
    return m;
}

static void shutdown_machine(struct machine *m)
{
    vmi_host_vm_destroy(m->vm);
    free(m);
    cur = NULL;
}

/* Save the VM and restore it into a new one on the same RAM (a migration
 * to a host with the same TSC): host-lib rebases the clock and rewrites the
 * record with GUEST_STOPPED. */
static void migrate(struct machine *m)
{
    struct vmi_host_vm *to;
    char why[160] = "";
    size_t len = 0;
    void *blob;

    assert_int_equal(vmi_host_save(m->vm, NULL, 0, &len), 0);
    blob = malloc(len);
    assert_non_null(blob);
    assert_int_equal(vmi_host_save(m->vm, blob, len, &len), 0);
    to = create_vm(m, 1);
    if (vmi_host_restore(to, blob, len, why, sizeof(why)) != 0)
        fail_msg("vmi_host_restore: %s", why);
    free(blob);
    vmi_host_vm_destroy(m->vm);
    m->vm = to;
}

static const uint64_t rates[] = {
    1000000u,
    19200000u,
    25000000u,
    100000000u,
    1000000000u,
    1999999999u,
    2445406000u,
    3000000000u,
    UINT64_C(3999999999),
    UINT64_C(10000000000),
    UINT64_C(1) << 40,
};

/*
 * At every TSC rate, with TSC_STABLE on and off, at TSC deltas from 0 to
 * one day: Linux's __pvclock_read_cycles and pvclock_clocksource_read give
 * exactly the ns of TIME_READ; pvclock_tsc_khz is the rate to 1 ppm.  The
 * rates above 2 GHz give a negative tsc_shift, the low ones a positive one.
 */
static void test_linux_reads_the_ns_of_time_read(void **state)
{
    unsigned negative = 0, positive = 0, checks = 0;

    (void)state;
    printf("Linux pvclock reader from Debian linux-source-6.1 %s\n",
           LINUX_SOURCE_VERSION);
    for (unsigned r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        for (int stable = 0; stable <= 1; stable++) {
            uint64_t hz = rates[r];
            struct machine *m = boot(hz, UINT64_C(0x123456789), stable);
            struct pvclock_vcpu_time_info *rec = record(m);
            const uint64_t deltas[] = {0,  1,       999,       hz / 1000,
                                       hz, hz * 60, hz * 3600, hz * 86400};
            uint64_t khz, last = 0;

            if ((int8_t)rec->tsc_shift < 0)
                negative++;
            else
                positive++;
            assert_int_equal(rec->flags & PVCLOCK_TSC_STABLE_BIT,
                             stable ? PVCLOCK_TSC_STABLE_BIT : 0);
            khz = pvclock_tsc_khz(rec);
            assert_true(khz * 1000 >= hz - hz / 1000000 - 1000 &&
                        khz * 1000 <= hz + hz / 1000000 + 1000);
            for (unsigned d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++) {
                uint64_t want, raw, linux_ns;

                m->tsc = UINT64_C(0x123456789) + deltas[d] + d;
                want = time_read(m);
                raw = __pvclock_read_cycles(rec, m->tsc);
                linux_ns = pvclock_clocksource_read(rec);
                if (raw != want || linux_ns != want)
                    fail_msg("%" PRIu64 " Hz, shift %d, delta %" PRIu64
                             ": TIME_READ %" PRIu64 ", Linux raw %" PRIu64
                             ", pvclock_clocksource_read %" PRIu64,
                             hz, (int8_t)rec->tsc_shift, deltas[d], want, raw,
                             linux_ns);
                assert_true(linux_ns >= last);
                last = linux_ns;
                checks++;
            }
            shutdown_machine(m);
        }
    }
    printf("%u reads equal TIME_READ; %u machine(s) with a negative "
           "tsc_shift, %u with a non-negative one\n",
           checks, negative, positive);
    assert_true(negative >= 2 && positive >= 2);
}

/*
 * A stop (vmi_host_clock_update with GUEST_STOPPED, as an embedder does on
 * resume) and a migration: Linux sees GUEST_STOPPED (pvclock_read_flags),
 * pvclock_clocksource_read clears it in the record itself and touches its
 * four watchdogs once; the next read touches none; time goes on equal to
 * TIME_READ.
 */
static void test_guest_stopped_round_trip(void **state)
{
    struct machine *m = boot(2445406000u, 1000, 1);
    struct pvclock_vcpu_time_info *rec = record(m);
    unsigned base;

    (void)state;
    pvclock_set_flags(PVCLOCK_TSC_STABLE_BIT | PVCLOCK_GUEST_STOPPED);
    base = watchdog_touches();
    m->tsc += 5000000;
    assert_int_equal(pvclock_clocksource_read(rec), time_read(m));
    assert_int_equal(watchdog_touches(), base);

    for (int round = 0; round < 2; round++) {
        if (round == 0)
            vmi_host_clock_update(m->vm, VMI_CLOCK_GUEST_STOPPED);
        else
            migrate(m);
        m->tsc += 7777777;
        assert_int_equal(pvclock_read_flags(rec) & PVCLOCK_GUEST_STOPPED,
                         PVCLOCK_GUEST_STOPPED);
        assert_int_equal(pvclock_clocksource_read(rec), time_read(m));
        assert_int_equal(watchdog_touches(), base + 1);
        assert_int_equal(rec->flags & PVCLOCK_GUEST_STOPPED, 0);
        m->tsc += 1000;
        assert_int_equal(pvclock_clocksource_read(rec), time_read(m));
        assert_int_equal(watchdog_touches(), base + 1);
        /*
         * Later rewrites that are no stop (a TSC change, another vCPU's
         * resume path) keep Linux's clear: no second watchdog touch
         * (VMI-CLK-038).  The first draft's host set the flag again on
         * every rewrite until the vCPU registered again.
         */
        for (int k = 0; k < 3; k++) {
            vmi_host_clock_update(m->vm, 0);
            m->tsc += 5000;
            assert_int_equal(pvclock_read_flags(rec) & PVCLOCK_GUEST_STOPPED,
                             0);
            assert_int_equal(pvclock_clocksource_read(rec), time_read(m));
        }
        assert_int_equal(watchdog_touches(), base + 1);
        base++;
    }
    shutdown_machine(m);
}

/*
 * A guest computes delta << tsc_shift in 64 bits (pvclock_scale_delta).  At
 * 1.953125 MHz (shift 10, mul 2^31) that overflows once the record is 2^54
 * ticks old, when the VM clock reaches 2^63 ns (292 years), half-way through
 * its 64-bit range: a record that old reads garbage.  The host must rewrite
 * the record before 2^(63-10) ticks (VMI-CLK-042).  Here the TSC runs to
 * 1.5 * 2^54 ticks in steps of 2^50, and the embedder does what vmi-run
 * does: sleep until vmi_host_next_deadline, fire timers, and after a kick
 * let the vCPU's thread call vmi_host_take_upcall before it enters the
 * guest.  Linux's reader stays equal to the VM clock past the old overflow.
 */
static void test_record_rewritten_before_it_overflows(void **state)
{
    struct machine *m = boot(1953125, 1000, 1);
    struct pvclock_vcpu_time_info *rec = record(m);
    unsigned kicks0 = m->kicks, refreshed = 0, steps = 0;
    uint64_t start = rec->tsc_timestamp, last_ts = start;

    (void)state;
    assert_int_equal(rec->tsc_shift, 10);
    assert_int_equal(rec->tsc_to_system_mul, UINT32_C(1) << 31);
    while (m->tsc - start < 3 * (UINT64_C(1) << 53)) {
        uint64_t now, want, got;
        uint32_t v;

        m->tsc += UINT64_C(1) << 50;
        now = vmi_host_clock_now(m->vm);
        if (now >= vmi_host_next_deadline(m->vm)) {
            vmi_host_timers_fire(m->vm, 16);
            if (m->kicks != kicks0) {
                kicks0 = m->kicks;
                vmi_host_take_upcall(m->vm, 0, &v);
            }
        }
        want = vmi_host_clock_now(m->vm);
        got = __pvclock_read_cycles(rec, m->tsc);
        if (got != want)
            fail_msg("TSC %" PRIu64 " ticks past the first record (record "
                     "%" PRIu64 " ticks old): Linux reads %" PRIu64
                     ", the VM clock is %" PRIu64 " (record %" PRIu64 " ns at "
                     "%" PRIu64 ", mul %u)",
                     m->tsc - start, m->tsc - rec->tsc_timestamp, got, want,
                     (uint64_t)rec->system_time, (uint64_t)rec->tsc_timestamp,
                     rec->tsc_to_system_mul);
        assert_true(m->tsc - rec->tsc_timestamp < (UINT64_C(1) << 53));
        if (rec->tsc_timestamp != last_ts) {
            refreshed++;
            last_ts = rec->tsc_timestamp;
        }
        steps++;
    }
    printf("%u steps to 1.5 * 2^54 ticks at 1.953125 MHz (%.0f years), %u "
           "record rewrites; Linux's reading equal to the VM clock at each\n",
           steps,
           3.0 * (double)(UINT64_C(1) << 53) / 1953125.0 / 86400 / 365.25,
           refreshed);
    assert_true(refreshed >= 4);
    shutdown_machine(m);
}

/* ---- readers on several threads while the host rewrites the record ---- */

#define READERS 2
#define REWRITES 3000

struct race {
    struct machine *m;
    uint64_t tsc0; /* TSC at the first record */
    uint64_t ns0;  /* VM clock there */
    uint32_t mul;  /* the scale never changes (same TSC rate) */
    int8_t shift;
    int stop;
    uint64_t reads[READERS];
    uint64_t bad[READERS];
    uint64_t worst_err[READERS];
};
static struct race race;

/* The VM clock at `tsc` on the line the first record describes. */
static uint64_t ideal_ns(uint64_t tsc)
{
    uint64_t d = tsc - race.tsc0;

    d = race.shift < 0 ? d >> -race.shift : d << race.shift;
    return race.ns0 + (uint64_t)(((unsigned __int128)d * race.mul) >> 32);
}

static void *reader(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    struct pvclock_vcpu_time_info *rec = record(race.m);

    while (!__atomic_load_n(&race.stop, __ATOMIC_ACQUIRE)) {
        uint64_t ns = pvclock_clocksource_read(rec);
        uint64_t want = ideal_ns(last_rdtsc);
        uint64_t err = ns > want ? ns - want : want - ns;

        /* Each rebase rounds down by less than 1 ns: REWRITES ns at most. */
        if (err > REWRITES)
            race.bad[id]++;
        if (err > race.worst_err[id])
            race.worst_err[id] = err;
        race.reads[id]++;
    }
    return NULL;
}

/*
 * Linux readers on READERS threads while the host rewrites the record
 * REWRITES times (a migration each, the TSC one second further on): no
 * read ever mixes two records (a torn read is off by about a second).
 */
static void test_readers_on_threads_while_host_rewrites(void **state)
{
    const uint64_t hz = 2445406000u;
    struct machine *m = boot(hz, 5000, 1);
    pthread_t t[READERS];
    uint64_t reads = 0, bad = 0, worst = 0;

    (void)state;
    memset(&race, 0, sizeof(race));
    race.m = m;
    race.tsc0 = record(m)->tsc_timestamp;
    race.ns0 = record(m)->system_time;
    race.mul = record(m)->tsc_to_system_mul;
    race.shift = (int8_t)record(m)->tsc_shift;
    for (unsigned i = 0; i < READERS; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, reader, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < REWRITES; i++) {
        __atomic_add_fetch(&m->tsc, hz, __ATOMIC_SEQ_CST);
        migrate(m);
    }
    __atomic_store_n(&race.stop, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < READERS; i++) {
        pthread_join(t[i], NULL);
        reads += race.reads[i];
        bad += race.bad[i];
        if (race.worst_err[i] > worst)
            worst = race.worst_err[i];
    }
    printf("%" PRIu64 " Linux reads on %u threads during %u record "
           "rewrites: %" PRIu64 " off the clock line, largest error %" PRIu64
           " ns (rounding bound %u ns)\n",
           reads, READERS, REWRITES, bad, worst, REWRITES);
    assert_true(reads >= 1000);
    assert_int_equal(bad, 0);
    /* After the last rewrite: exactly TIME_READ again. */
    assert_int_equal(pvclock_clocksource_read(record(m)), time_read(m));
    shutdown_machine(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linux_reads_the_ns_of_time_read),
        cmocka_unit_test(test_guest_stopped_round_trip),
        cmocka_unit_test(test_record_rewritten_before_it_overflows),
        cmocka_unit_test(test_readers_on_threads_while_host_rewrites),
    };

    printf("Linux sources: %s\n", LINUX_SOURCE_DIR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
