/* SPDX-License-Identifier: MIT */
/* bench_host.c: host-lib costs measured in-process: ns per null hypercall
 * (against an empty indirect call measured in the same run), ns per PTE of
 * PT_UPDATE at several batch sizes, and heap allocations per hypercall
 * (counted with -Wl,--wrap=malloc,calloc,realloc in this binary only).
 * Usage: vmi-host-bench [--json FILE] [--quick] */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmi_host.h"

/* ---- allocation counting ------------------------------------------------ */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
static volatile uint64_t allocs;

void *__wrap_malloc(size_t n)
{
    allocs++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    allocs++;
    return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    allocs++;
    return __real_realloc(p, n);
}

/* ---- a minimal embedder ------------------------------------------------- */
#define RAM (8u << 20)
static uint8_t *ram;
static uint64_t fake_tsc;

static void *b_map(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)ctx;
    return gpa + len <= RAM ? ram + gpa : NULL;
}

static uint64_t b_now(void *ctx)
{
    (void)ctx;
    return fake_tsc;
}

static uint64_t b_rdtsc(void *ctx)
{
    (void)ctx;
    return fake_tsc;
}

static void b_kick(void *ctx, uint32_t vcpu)
{
    (void)ctx;
    (void)vcpu;
}

static int b_mem(void *ctx, uint64_t gpa, uint64_t len)
{
    (void)ctx;
    (void)gpa;
    (void)len;
    return 0;
}

static int b_start(void *ctx, uint32_t caller, uint32_t vcpu,
                   const struct vmi_vcpu_start *st)
{
    (void)ctx;
    (void)caller;
    (void)vcpu;
    (void)st;
    return 0;
}

static void b_flush(void *ctx, uint32_t caller, const uint64_t *vcpus,
                    const struct vmi_tlb_range *ranges, uint32_t count,
                    uint32_t flags)
{
    (void)ctx;
    (void)caller;
    (void)vcpus;
    (void)ranges;
    (void)count;
    (void)flags;
}

static const struct vmi_host_ops ops = {
    .map = b_map,
    .now_ns = b_now,
    .rdtsc = b_rdtsc,
    .kick = b_kick,
    .release = b_mem,
    .reclaim = b_mem,
    .start_vcpu = b_start,
    .flush_tlb = b_flush,
};

/* ---- timing ------------------------------------------------------------- */
static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define REPS 11

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_d);
    return v[n / 2];
}

/* The baseline: an empty function called through a pointer the compiler
 * cannot see through, with the same argument shape as the dispatcher. */
__attribute__((noinline)) static int
empty_call(struct vmi_host_vm *vm, uint32_t vcpu, struct vmi_host_call *c)
{
    __asm__ volatile("" : : "r"(vm), "r"(vcpu), "r"(c) : "memory");
    return 0;
}
static int (*volatile indirect)(struct vmi_host_vm *, uint32_t,
                                struct vmi_host_call *) = empty_call;

static double ns_per_call(struct vmi_host_vm *vm, uint64_t nr, uint64_t a0,
                          uint64_t a1, int baseline, unsigned iters)
{
    double v[REPS];
    struct vmi_host_call c;

    memset(&c, 0, sizeof(c));
    for (unsigned r = 0; r < REPS; r++) {
        uint64_t t0 = now_ns();
        for (unsigned i = 0; i < iters; i++) {
            c.nr = nr;
            c.args[0] = a0;
            c.args[1] = a1;
            if (baseline)
                indirect(vm, 0, &c);
            else
                vmi_host_hypercall(vm, 0, &c);
        }
        v[r] = (double)(now_ns() - t0) / iters;
    }
    return median(v, REPS);
}

static double ns_per_pte(struct vmi_host_vm *vm, unsigned batch, unsigned iters)
{
    struct vmi_pt_update *u = (void *)(ram + 0x200000);
    double v[REPS];
    struct vmi_host_call c;

    for (unsigned i = 0; i < batch; i++) {
        u[i].pte_gpa = 0x100000 + 8u * (i % 512);
        u[i].value = (0x400000 + 4096u * i) | VMI_PTE_PRESENT;
    }
    memset(&c, 0, sizeof(c));
    for (unsigned r = 0; r < REPS; r++) {
        uint64_t t0 = now_ns();
        for (unsigned i = 0; i < iters; i++) {
            c.nr = VMI_HC_PT_UPDATE;
            c.args[0] = 0x200000;
            c.args[1] = batch;
            c.args[2] = 0;
            c.args[3] = 0;
            vmi_host_hypercall(vm, 0, &c);
            if (c.status != 0) {
                fprintf(stderr, "PT_UPDATE: %s\n",
                        vmi_host_status_name(c.status));
                exit(1);
            }
        }
        v[r] = (double)(now_ns() - t0) / ((double)iters * batch);
    }
    return median(v, REPS);
}

/* A mix of every kind of call, valid and rejected. */
static uint64_t allocs_in_mix(struct vmi_host_vm *vm, unsigned rounds,
                              uint64_t *calls)
{
    struct vmi_host_call c;
    uint64_t before = allocs, n = 0;
    struct vmi_mem_extent *e = (void *)(ram + 0x300000);
    struct vmi_tlb_range *t = (void *)(ram + 0x301000);

    e->gpa = 0x500000;
    e->pages = 4;
    t->gva = 0x1000;
    t->pages = 2;
    memcpy(ram + 0x302000, "hello\n", 6);
#define HC(nr_, a0, a1, a2, a3, a4)                                            \
    do {                                                                       \
        memset(&c, 0, sizeof(c));                                              \
        c.nr = nr_;                                                            \
        c.args[0] = a0;                                                        \
        c.args[1] = a1;                                                        \
        c.args[2] = a2;                                                        \
        c.args[3] = a3;                                                        \
        c.args[4] = a4;                                                        \
        vmi_host_hypercall(vm, 0, &c);                                         \
        n++;                                                                   \
    } while (0)
    for (unsigned i = 0; i < rounds; i++) {
        HC(VMI_HC_NOP, 0, 0, 0, 0, 0);
        HC(VMI_HC_TIME_READ, 0, 0, 0, 0, 0);
        HC(VMI_HC_CLOCK_REGISTER, 0x1000, 0, 0, 0, 0);
        HC(VMI_HC_EVENT_REGISTER, 0x1040, 40, 0, 0, 0);
        HC(VMI_HC_TIMER_ARM, i % 64, fake_tsc + 1000, 0, 1, 0);
        HC(VMI_HC_TIMER_CANCEL, i % 64, 0, 0, 0, 0);
        HC(VMI_HC_EVENT_SEND, 0, 1, 2, 0, 0);
        HC(VMI_HC_BLOCK, 0, 0, 0, 0, 0);
        HC(VMI_HC_CONSOLE_WRITE, 0x302000, 6, 0, 0, 0);
        HC(VMI_HC_TLB_FLUSH, 0, 1, 0x301000, 1, 0);
        HC(VMI_HC_PT_UPDATE, 0x200000, 8, 0, 0, 0);
        HC(VMI_HC_MEM_RELEASE, 0x300000, 1, 0, 0, 0);
        HC(VMI_HC_MEM_RECLAIM, 0x300000, 1, 0, 0, 0);
        HC(VMI_HC_CLOCK_REGISTER, 0x1008, 0, 0, 0, 0); /* rejected */
        HC(0x4242, 0, 0, 0, 0, 0);                     /* rejected */
        fake_tsc += 1000;
        vmi_host_timers_fire(vm, 16);
    }
#undef HC
    *calls = n;
    return allocs - before;
}

int main(int argc, char **argv)
{
    const char *json = NULL;
    unsigned iters = 2000000, pte_iters = 20000;
    static const unsigned batches[] = {1, 8, 64, 512};
    double pte[4];
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    struct vmi_host_call c;
    uint64_t calls, nalloc, create_allocs;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") && i + 1 < argc) {
            json = argv[++i];
        } else if (!strcmp(argv[i], "--quick")) {
            iters = 200000;
            pte_iters = 2000;
        } else {
            fprintf(stderr, "usage: %s [--json FILE] [--quick]\n", argv[0]);
            return 2;
        }
    }
    ram = calloc(1, RAM);
    if (!ram)
        return 1;
    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = &ops;
    cfg.vcpu_count = 4;
    cfg.timer_count = 64;
    cfg.ram_bytes = RAM;
    cfg.tsc_hz = 1000000000u;
    cfg.features = VMI_F_ALL_1_0;
    cfg.max_batch = 512;
    cfg.work_per_call = 512;
    cfg.console_rate = 1u << 30;
    create_allocs = allocs;
    if (vmi_host_vm_create(&cfg, &vm, NULL, 0))
        return 1;
    create_allocs = allocs - create_allocs;
    /* The hook must see host-lib's allocations, or "0 per call" means
     * nothing. */
    if (create_allocs == 0) {
        fprintf(stderr, "malloc hook saw no allocation in vm_create\n");
        return 1;
    }
    memset(&c, 0, sizeof(c));
    c.nr = VMI_HC_NEGOTIATE;
    c.args[0] = VMI_SPEC_VERSION;
    c.args[1] = VMI_F_ALL_1_0;
    vmi_host_hypercall(vm, 0, &c);
    memset(&c, 0, sizeof(c));
    c.nr = VMI_HC_PT_PIN;
    c.args[0] = 0x100000;
    c.args[1] = 1;
    vmi_host_hypercall(vm, 0, &c);
    if (c.status) {
        fprintf(stderr, "PT_PIN: %s\n", vmi_host_status_name(c.status));
        return 1;
    }

    double base = ns_per_call(vm, 0, 0, 0, 1, iters);
    double nop = ns_per_call(vm, VMI_HC_NOP, 0, 0, 0, iters);
    double tread = ns_per_call(vm, VMI_HC_TIME_READ, 0, 0, 0, iters);
    double nosys = ns_per_call(vm, 0x4242, 0, 0, 0, iters);
    for (unsigned i = 0; i < 4; i++)
        pte[i] = ns_per_pte(vm, batches[i], pte_iters * 8 / batches[i] + 100);
    nalloc = allocs_in_mix(vm, 10000, &calls);

    printf("host-lib in-process costs (median of %d runs)\n", REPS);
    printf("%-34s %10s %10s\n", "measure", "ns", "ratio");
    printf("%-34s %10.2f %10.2f\n", "empty indirect call (baseline)", base,
           1.0);
    printf("%-34s %10.2f %10.2f\n", "NOP hypercall", nop, nop / base);
    printf("%-34s %10.2f %10.2f\n", "TIME_READ hypercall", tread, tread / base);
    printf("%-34s %10.2f %10.2f\n", "unknown number (E_NOSYS)", nosys,
           nosys / base);
    for (unsigned i = 0; i < 4; i++)
        printf("PT_UPDATE per PTE, batch %-9u %10.2f %10.2f\n", batches[i],
               pte[i], pte[i] / base);
    printf("%-34s %10llu\n", "heap allocations in vm_create",
           (unsigned long long)create_allocs);
    printf("%-34s %10.4f (%llu allocations in %llu calls)\n",
           "heap allocations per hypercall", (double)nalloc / (double)calls,
           (unsigned long long)nalloc, (unsigned long long)calls);
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            perror(json);
            return 1;
        }
        fprintf(f,
                "{\n  \"baseline_indirect_call_ns\": %.3f,\n"
                "  \"nop_ns\": %.3f,\n  \"nop_ratio\": %.3f,\n"
                "  \"time_read_ns\": %.3f,\n  \"nosys_ns\": %.3f,\n"
                "  \"pte_ns\": {\"1\": %.3f, \"8\": %.3f, \"64\": %.3f, "
                "\"512\": %.3f},\n"
                "  \"allocations\": %llu,\n  \"calls\": %llu,\n"
                "  \"allocations_per_call\": %.6f\n}\n",
                base, nop, nop / base, tread, nosys, pte[0], pte[1], pte[2],
                pte[3], (unsigned long long)nalloc, (unsigned long long)calls,
                (double)nalloc / (double)calls);
        fclose(f);
    }
    vmi_host_vm_destroy(vm);
    free(ram);
    return nalloc ? 1 : 0;
}
