/* SPDX-License-Identifier: MIT */
/* fuzz_dispatch.c: random guest RAM and a random sequence of hypercalls
 * (negotiation included) and host events against one VM. */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_host.h"

struct rd {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct rd *r, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        v <<= 8;
        if (r->n) {
            v |= *r->p++;
            r->n--;
        }
    }
    return v;
}

static const uint64_t calls[] = {
#define NR(name, nr, ...) nr,
    VMI_HC_LIST(NR)
#undef NR
};

/* Arguments biased towards the interesting: small, in RAM, aligned. */
static uint64_t arg(struct rd *r, struct vmi_host_vm *vm)
{
    switch (take(r, 1) % 9) {
    case 0:
        return 0;
    case 1:
        return take(r, 1);
    case 2:
        return (take(r, 2) << 4) % FZ_RAM;
    case 3:
        return FZ_RAM - take(r, 1);
    case 4:
        return take(r, 8);
    case 5:
        return UINT64_MAX - take(r, 1);
    case 6:
        return vmi_host_clock_now(vm) + take(r, 2);
    case 7:
        return (take(r, 2) << 12) % FZ_RAM;
    default:
        return UINT64_C(1) << (take(r, 1) % 64);
    }
}

static void roundtrip(struct vmi_host_vm *vm)
{
    static uint8_t a[1 << 16], b[1 << 16];
    char why[128];
    size_t la, lb;

    if (vmi_host_save(vm, a, sizeof(a), &la) != 0)
        abort();
    if (vmi_host_restore(vm, a, la, why, sizeof(why)) != 0) {
        fprintf(stderr, "restore of a fresh save failed: %s\n", why);
        abort();
    }
    if (vmi_host_save(vm, b, sizeof(b), &lb) != 0 || la != lb ||
        memcmp(a, b, la) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_host h;
    static uint8_t before[1 << 16], after[1 << 16];
    size_t la, lb;
    struct rd r = {data, size};
    struct vmi_host_vm *vm;
    size_t ram = size > 4096 ? 4096 : size;

    memset(&h, 0, sizeof(h));
    /* The head of the input is also the head of guest RAM. */
    memcpy(h.ram, data, ram);
    h.tsc = 1000;
    vm = fz_vm(&h);
    /* vCPUs inside BLOCK: a call from one ends its BLOCK (a state change). */
    uint8_t blocked[FZ_VCPUS] = {0};
    for (unsigned op = 0; op < 256 && r.n; op++) {
        uint32_t vcpu = (uint32_t)(take(&r, 1) % FZ_VCPUS);
        struct vmi_host_call c;
        uint32_t vec;
        switch (take(&r, 1) % 16) {
        default: {
            uint64_t sel = take(&r, 1);
            memset(&c, 0, sizeof(c));
            c.nr = sel < 240 ? calls[sel % VMI_HC_COUNT] : take(&r, 8);
            c.user = (uint32_t)(take(&r, 1) & 1) & (sel % 7 == 0);
            for (unsigned i = 0; i < VMI_HC_MAX_ARGS; i++)
                c.args[i] = arg(&r, vm);
            if (vmi_host_save(vm, before, sizeof(before), &lb) != 0)
                abort();
            if (vmi_host_hypercall(vm, vcpu, &c) != 0)
                abort();
            if (c.status > 0 || c.status < -(int64_t)VMI_E_VERSION ||
                c.action > VMI_HOST_STOP)
                abort();
            /* Only a status the call's Statuses row lists (VMI-STS-008). */
            if (c.status < 0 &&
                !((VMI_HC_COMMON_STATUSES | VMI_HC_STATUSES(c.nr)) &
                  (UINT32_C(1) << -c.status)))
                abort();
            /* A rejected call changes no state; batched calls keep the
             * entries before the failing one. */
            int was_blocked = blocked[vcpu];
            blocked[vcpu] = c.action == VMI_HOST_BLOCK;
            if (c.status < 0 && !was_blocked && c.nr != VMI_HC_PT_UPDATE &&
                c.nr != VMI_HC_MEM_RELEASE && c.nr != VMI_HC_MEM_RECLAIM) {
                if (vmi_host_save(vm, after, sizeof(after), &la) != 0 ||
                    la != lb || memcmp(before, after, la) != 0)
                    abort();
            }
            if (c.status < 0 &&
                (c.nr == VMI_HC_PT_UPDATE || c.nr == VMI_HC_MEM_RELEASE ||
                 c.nr == VMI_HC_MEM_RECLAIM) &&
                c.rets[0] > c.args[1])
                abort();
            break;
        }
        case 9:
            h.tsc += take(&r, 3);
            h.now += take(&r, 3);
            break;
        case 10:
            (void)vmi_host_timers_fire(vm, (unsigned)take(&r, 1));
            if (vmi_host_next_deadline(vm) < vmi_host_clock_now(vm) &&
                vmi_host_timers_fire(vm, 1) == 0 &&
                vmi_host_next_deadline(vm) != VMI_DEADLINE_NONE) {
                uint32_t why, st;
                /* Only a shut-down VM keeps due timers. */
                if (vmi_host_shutdown_info(vm, &why, &st) != 0)
                    abort();
            }
            break;
        case 11:
            memset(&c, 0, sizeof(c));
            if (vmi_host_block_check(vm, vcpu, &c) == 1) {
                if (c.rets[0] != VMI_WAKE_EVENT &&
                    c.rets[0] != VMI_WAKE_DEADLINE)
                    abort();
                blocked[vcpu] = 0;
            }
            break;
        case 12:
            if (vmi_host_take_upcall(vm, vcpu, &vec) && (vec < 32 || vec > 255))
                abort();
            break;
        case 13:
            roundtrip(vm);
            break;
        case 14: {
            /* The guest scribbles on its RAM (records, arrays). */
            uint64_t off = take(&r, 3) % (FZ_RAM - 8);
            uint64_t v = take(&r, 8);
            memcpy(h.ram + off, &v, 8);
            break;
        }
        case 15:
            if (take(&r, 1) & 1)
                vmi_host_clock_update(vm, (uint8_t)take(&r, 1));
            else
                vmi_host_steal_account(vm, vcpu, take(&r, 2));
            break;
        }
    }
    vmi_host_vm_destroy(vm);
    return 0;
}
