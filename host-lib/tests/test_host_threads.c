/* SPDX-License-Identifier: MIT */
/* test_host_threads.c: one thread per vCPU calling host-lib at once, plus a
 * timer thread; checks the invariants afterwards (run it under TSan with
 * -DVMI_SANITIZE=thread to check the locking). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "vmi_host.h"

#define RAM (4u << 20)
#define VCPUS 4u
#define ROUNDS 3000u

/* A thread-safe minimal embedder: counters are atomic. */
struct th_host {
    uint8_t *ram;
    uint64_t tsc;
    uint64_t kicks, console_bytes, releases, reclaims, flushes;
};

static void *t_map(void *ctx, uint64_t gpa, uint64_t len)
{
    struct th_host *h = ctx;
    return gpa + len <= RAM && gpa + len >= gpa ? h->ram + gpa : NULL;
}

static uint64_t t_tsc(void *ctx)
{
    return __atomic_load_n(&((struct th_host *)ctx)->tsc, __ATOMIC_RELAXED);
}

static void t_kick(void *ctx, uint32_t vcpu)
{
    assert_true(vcpu < VCPUS);
    __atomic_fetch_add(&((struct th_host *)ctx)->kicks, 1, __ATOMIC_RELAXED);
}

static void t_console(void *ctx, uint32_t vcpu, const char *buf, size_t len)
{
    (void)vcpu;
    (void)buf;
    __atomic_fetch_add(&((struct th_host *)ctx)->console_bytes, len,
                       __ATOMIC_RELAXED);
}

static int t_release(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)gpa;
    (void)len;
    __atomic_fetch_add(&((struct th_host *)ctx)->releases, 1, __ATOMIC_RELAXED);
    return 0;
}

static int t_reclaim(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)gpa;
    (void)len;
    __atomic_fetch_add(&((struct th_host *)ctx)->reclaims, 1, __ATOMIC_RELAXED);
    return 0;
}

static int t_start(void *ctx, uint32_t caller, uint32_t vcpu,
                   const struct vmi_vcpu_start *st)
{
    (void)ctx;
    (void)caller;
    (void)vcpu;
    (void)st;
    return 0;
}

static void t_flush(void *ctx, uint32_t caller, const uint64_t *vcpus,
                    const struct vmi_tlb_range *ranges, uint32_t count,
                    uint32_t flags)
{
    (void)caller;
    (void)vcpus;
    (void)ranges;
    (void)count;
    (void)flags;
    __atomic_fetch_add(&((struct th_host *)ctx)->flushes, 1, __ATOMIC_RELAXED);
}

static const struct vmi_host_ops t_ops = {
    .map = t_map,
    .now_ns = t_tsc,
    .rdtsc = t_tsc,
    .kick = t_kick,
    .console = t_console,
    .release = t_release,
    .reclaim = t_reclaim,
    .start_vcpu = t_start,
    .flush_tlb = t_flush,
};

struct worker {
    struct vmi_host_vm *vm;
    struct th_host *h;
    uint32_t vcpu;
    uint64_t errors;
};

static int64_t call(struct worker *w, uint64_t nr, uint64_t a0, uint64_t a1,
                    uint64_t a2, uint64_t a3, uint64_t a4)
{
    struct vmi_host_call c;

    memset(&c, 0, sizeof(c));
    c.nr = nr;
    c.args[0] = a0;
    c.args[1] = a1;
    c.args[2] = a2;
    c.args[3] = a3;
    c.args[4] = a4;
    if (vmi_host_hypercall(w->vm, w->vcpu, &c) != 0)
        w->errors++;
    if (c.action == VMI_HOST_BLOCK) {
        /* Spin on block_check: the deadline is near or an event comes. */
        for (unsigned i = 0; i < 1000000; i++) {
            __atomic_fetch_add(&w->h->tsc, 1, __ATOMIC_RELAXED);
            if (vmi_host_block_check(w->vm, w->vcpu, &c))
                break;
        }
        if (c.action != VMI_HOST_RESUME)
            w->errors++;
    }
    return c.status;
}

static void *vcpu_thread(void *arg)
{
    struct worker *w = arg;
    uint64_t me = w->vcpu, rec = 0x1000 + 0x100 * me;
    uint64_t ext = 0x10000 + 0x100 * me, region = 0x100000 + 0x40000 * me;
    struct vmi_mem_extent *e = (void *)(w->h->ram + ext);
    uint32_t vec;

    e->gpa = region;
    e->pages = 4;
    if (call(w, VMI_HC_EVENT_REGISTER, rec, 40 + me, 0, 0, 0) ||
        call(w, VMI_HC_CLOCK_REGISTER, rec + 64, 0, 0, 0, 0))
        w->errors++;
    for (unsigned i = 0; i < ROUNDS; i++) {
        uint64_t now = __atomic_load_n(&w->h->tsc, __ATOMIC_RELAXED);
        int64_t st;
        call(w, VMI_HC_EVENT_SEND, 0, UINT64_C(1) << ((me + 1 + i) % VCPUS),
             i % 64, 0, 0);
        call(w, VMI_HC_TIMER_ARM, me * 8 + i % 8, now + i % 50,
             (me + i) % VCPUS, 63, 0);
        if (i % 3 == 0)
            call(w, VMI_HC_TIMER_CANCEL, me * 8 + (i + 3) % 8, 0, 0, 0, 0);
        call(w, VMI_HC_TIME_READ, 0, 0, 0, 0, 0);
        st = call(w, VMI_HC_CONSOLE_WRITE, 0x20000, 16, 0, 0, 0);
        if (st != 0 && st != -VMI_E_AGAIN)
            w->errors++;
        call(w, i % 2 ? VMI_HC_MEM_RECLAIM : VMI_HC_MEM_RELEASE, ext, 1, 0, 0,
             0);
        call(w, VMI_HC_TLB_FLUSH, 0, 0, 0, 0, VMI_VCPUSET_ALL);
        /* Clear our pending bits like a guest would, then maybe sleep. */
        __atomic_fetch_and((uint64_t *)(void *)(w->h->ram + rec), 0,
                           __ATOMIC_SEQ_CST);
        (void)vmi_host_take_upcall(w->vm, w->vcpu, &vec);
        if (i % 16 == 0)
            call(w, VMI_HC_BLOCK, now + 20, 0, 0, 0, 0);
    }
    return NULL;
}

static volatile int stop;

static void *timer_thread(void *arg)
{
    struct vmi_host_vm *vm = arg;

    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        (void)vmi_host_timers_fire(vm, 8);
        (void)vmi_host_next_deadline(vm);
        (void)vmi_host_clock_now(vm);
    }
    return NULL;
}

static void test_vcpu_threads_call_at_once(void **state)
{
    struct th_host h = {0};
    struct vmi_host_config cfg = {0};
    struct vmi_host_vm *vm;
    struct vmi_host_call c = {0};
    struct worker w[VCPUS];
    pthread_t th[VCPUS], tt;
    struct vmi_host_stats st;

    (void)state;
    h.ram = calloc(1, RAM);
    h.tsc = 1000;
    cfg.ops = &t_ops;
    cfg.ctx = &h;
    cfg.vcpu_count = VCPUS;
    cfg.timer_count = 8 * VCPUS;
    cfg.ram_bytes = RAM;
    cfg.tsc_hz = 1000000000u;
    cfg.features = VMI_F_ALL_1_0;
    assert_int_equal(vmi_host_vm_create(&cfg, &vm, NULL, 0), 0);
    c.nr = VMI_HC_NEGOTIATE;
    c.args[0] = VMI_SPEC_VERSION;
    c.args[1] = VMI_F_ALL_1_0;
    assert_int_equal(vmi_host_hypercall(vm, 0, &c), 0);
    assert_int_equal(c.status, 0);
    assert_int_equal(pthread_create(&tt, NULL, timer_thread, vm), 0);
    for (uint32_t i = 0; i < VCPUS; i++) {
        w[i] = (struct worker){vm, &h, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, vcpu_thread, &w[i]), 0);
    }
    for (uint32_t i = 0; i < VCPUS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].errors, 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    assert_int_equal(pthread_join(tt, NULL), 0);
    vmi_host_get_stats(vm, &st);
    assert_true(st.hypercalls >= VCPUS * ROUNDS * 6);
    /* Every vCPU ended on a reclaim (odd last round): nothing released. */
    assert_int_equal(st.released_pages, 0);
    assert_true(h.kicks > 0);
    assert_int_equal(h.flushes, VCPUS * ROUNDS);
    vmi_host_vm_destroy(vm);
    free(h.ram);
}

#define NOPS 20000u

struct nop_worker {
    struct vmi_host_vm *vm;
    uint32_t vcpu;
    uint64_t bad; /* NOPs not answered VMI_OK */
};

/* NOPs take the lock-free path: each vCPU counts its own. */
static void *nop_thread(void *arg)
{
    struct nop_worker *w = arg;

    for (unsigned i = 0; i < NOPS; i++) {
        struct vmi_host_call c;
        memset(&c, 0, sizeof(c));
        c.nr = VMI_HC_NOP;
        if (vmi_host_hypercall(w->vm, w->vcpu, &c) != 0 || c.status != 0)
            w->bad++;
    }
    return NULL;
}

/* Reads the stats while the NOPs run: the count never goes back. */
static void *stats_thread(void *arg)
{
    struct vmi_host_vm *vm = arg;
    struct vmi_host_stats st;
    uint64_t last = 0, *back = calloc(1, sizeof(*back));

    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        vmi_host_get_stats(vm, &st);
        if (st.hypercalls < last)
            (*back)++;
        last = st.hypercalls;
    }
    return back;
}

static void test_nop_fast_path_counts_every_call_across_threads(void **state)
{
    struct th_host h = {0};
    struct vmi_host_config cfg = {0};
    struct vmi_host_vm *vm;
    struct vmi_host_call c = {0};
    struct nop_worker w[VCPUS];
    pthread_t th[VCPUS], ts;
    struct vmi_host_stats st;
    uint64_t *back;

    (void)state;
    h.ram = calloc(1, RAM);
    cfg.ops = &t_ops;
    cfg.ctx = &h;
    cfg.vcpu_count = VCPUS;
    cfg.timer_count = 1;
    cfg.ram_bytes = RAM;
    cfg.tsc_hz = 1000000000u;
    assert_int_equal(vmi_host_vm_create(&cfg, &vm, NULL, 0), 0);
    __atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
    assert_int_equal(pthread_create(&ts, NULL, stats_thread, vm), 0);
    for (uint32_t i = 0; i < VCPUS; i++) {
        w[i] = (struct nop_worker){vm, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, nop_thread, &w[i]), 0);
    }
    for (uint32_t i = 0; i < VCPUS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].bad, 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    assert_int_equal(pthread_join(ts, (void **)&back), 0);
    assert_int_equal(*back, 0);
    free(back);
    vmi_host_get_stats(vm, &st);
    assert_int_equal(st.hypercalls, (uint64_t)VCPUS * NOPS);
    /* After SHUTDOWN the fast path answers VMI_E_STATE like the others. */
    c.nr = VMI_HC_SHUTDOWN;
    c.args[0] = VMI_SHUTDOWN_POWEROFF;
    assert_int_equal(vmi_host_hypercall(vm, 1, &c), 0);
    assert_int_equal(c.status, 0);
    memset(&c, 0, sizeof(c));
    c.nr = VMI_HC_NOP;
    assert_int_equal(vmi_host_hypercall(vm, 2, &c), 0);
    assert_int_equal(c.status, -VMI_E_STATE);
    vmi_host_get_stats(vm, &st);
    assert_int_equal(st.hypercalls, (uint64_t)VCPUS * NOPS + 2);
    vmi_host_vm_destroy(vm);
    free(h.ram);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vcpu_threads_call_at_once),
        cmocka_unit_test(test_nop_fast_path_counts_every_call_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
