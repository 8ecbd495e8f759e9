/* SPDX-License-Identifier: MIT */
/* fuzz_host.h: a minimal embedder shared by the fuzz targets and the seed
 * corpus generator (header-only: each program includes it once). */
#ifndef VMI_FUZZ_HOST_H
#define VMI_FUZZ_HOST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmi_host.h"

#define FZ_RAM (256u << 10)
#define FZ_VCPUS 4u
#define FZ_TIMERS 32u

struct fz_host {
    uint8_t ram[FZ_RAM];
    uint64_t now;
    uint64_t tsc;
    uint64_t kicks;
};

static void *fz_map(void *ctx, uint64_t gpa, uint64_t len)
{
    struct fz_host *h = ctx;
    uint64_t end;

    if (__builtin_add_overflow(gpa, len, &end) || end > FZ_RAM)
        return NULL;
    return h->ram + gpa;
}

static uint64_t fz_now(void *ctx)
{
    return ((struct fz_host *)ctx)->now;
}

static uint64_t fz_rdtsc(void *ctx)
{
    return ((struct fz_host *)ctx)->tsc;
}

static void fz_kick(void *ctx, uint32_t vcpu)
{
    if (vcpu >= FZ_VCPUS)
        abort();
    ((struct fz_host *)ctx)->kicks++;
}

static void fz_console(void *ctx, uint32_t vcpu, const char *buf, size_t len)
{
    (void)ctx;
    (void)vcpu;
    if (len > 4096)
        abort();
    /* Touch every byte so ASan checks the buffer. */
    volatile char sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= buf[i];
}

static int fz_release(void *ctx, uint64_t gpa, uint64_t len)
{
    struct fz_host *h = ctx;

    if (gpa % 4096 || len % 4096 || gpa + len > FZ_RAM)
        abort();
    /* Dropped, as MADV_DONTNEED: reads zero (VMI-MEM-014). */
    memset(h->ram + gpa, 0, len);
    return 0;
}

static int fz_reclaim(void *ctx, uint64_t gpa, uint64_t len)
{
    struct fz_host *h = ctx;

    if (gpa % 4096 || len % 4096 || gpa + len > FZ_RAM)
        abort();
    memset(h->ram + gpa, 0, len);
    return 0;
}

static int fz_start(void *ctx, uint32_t caller, uint32_t vcpu,
                    const struct vmi_vcpu_start *st)
{
    (void)ctx;
    (void)st;
    if (caller >= FZ_VCPUS || vcpu >= FZ_VCPUS)
        abort();
    return 0;
}

static void fz_flush(void *ctx, uint32_t caller, const uint64_t *vcpus,
                     const struct vmi_tlb_range *ranges, uint32_t count,
                     uint32_t flags)
{
    volatile uint64_t sink = 0;

    (void)ctx;
    (void)caller;
    (void)flags;
    sink ^= vcpus[0];
    for (uint32_t i = 0; i < count; i++)
        sink ^= ranges[i].gva ^ ranges[i].pages;
}

static void fz_stop(void *ctx, uint32_t caller, uint32_t vcpu)
{
    (void)ctx;
    /* RESET never asks to stop its own caller. */
    if (caller >= FZ_VCPUS || vcpu >= FZ_VCPUS || caller == vcpu)
        abort();
}

static void fz_violation(void *ctx, uint32_t vcpu, const char *clause,
                         const char *what)
{
    (void)ctx;
    if (vcpu >= FZ_VCPUS || strncmp(clause, "VMI-", 4) != 0 || !what)
        abort();
}

static const struct vmi_host_ops fz_ops = {
    .map = fz_map,
    .now_ns = fz_now,
    .rdtsc = fz_rdtsc,
    .kick = fz_kick,
    .console = fz_console,
    .release = fz_release,
    .reclaim = fz_reclaim,
    .start_vcpu = fz_start,
    .flush_tlb = fz_flush,
    .violation = fz_violation,
    .stop_vcpu = fz_stop,
};

static struct vmi_host_vm *fz_vm(struct fz_host *h)
{
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm = NULL;

    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = &fz_ops;
    cfg.ctx = h;
    cfg.vcpu_count = FZ_VCPUS;
    cfg.timer_count = FZ_TIMERS;
    cfg.ram_bytes = FZ_RAM;
    cfg.tsc_hz = 2400000000u;
    cfg.features = VMI_F_ALL_1_0;
    cfg.transports = VMI_TRANSPORT_PORTIO;
    cfg.port = 0x520;
    cfg.tsc_stable = 1;
    cfg.strict = 1;
    cfg.max_batch = 512;
    cfg.work_per_call = 16;
    cfg.max_pinned = 64; /* the least VMI-DSC-042 allows */
    cfg.max_released_extents = 8;
    if (vmi_host_vm_create(&cfg, &vm, NULL, 0) != 0)
        abort();
    return vm;
}

#endif
