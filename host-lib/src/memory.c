/* SPDX-License-Identifier: MIT */
/* memory.c: MEM_RELEASE / MEM_RECLAIM and the sorted set of released
 * extents (merged on insert, split on removal, exact page count). */
#include <string.h>

#include "vm.h"

#define EXTENTS_PER_CHUNK (VMI__SCRATCH_BYTES / sizeof(struct vmi_mem_extent))

/* First extent whose end is > gpa (or >= with `touch`). */
static uint32_t ext_lower_end(const struct vmi_host_vm *vm, uint64_t gpa,
                              int touch)
{
    uint32_t lo = 0, hi = vm->extent_count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t e = vm->extents[mid].end;
        if (touch ? e < gpa : e <= gpa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First extent from `from` whose start is > end (or >= without `touch`). */
static uint32_t ext_upper_start(const struct vmi_host_vm *vm, uint32_t from,
                                uint64_t end, int touch)
{
    uint32_t lo = from, hi = vm->extent_count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t s = vm->extents[mid].gpa;
        if (touch ? s <= end : s < end)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Replace extents [lo, hi) by the n extents in `with`. */
static void ext_splice(struct vmi_host_vm *vm, uint32_t lo, uint32_t hi,
                       const struct vmi__extent *with, uint32_t n)
{
    memmove(&vm->extents[lo + n], &vm->extents[hi],
            (vm->extent_count - hi) * sizeof(*vm->extents));
    memcpy(&vm->extents[lo], with, n * sizeof(*with));
    vm->extent_count = vm->extent_count - (hi - lo) + n;
}

static uint64_t pages_in(uint64_t gpa, uint64_t end)
{
    return (end - gpa) / VMI_PAGE_SIZE;
}

static int overlaps(uint64_t gpa, uint64_t end, uint64_t rec, uint64_t len)
{
    return rec != VMI_GPA_NONE && rec < end && rec + len > gpa;
}

/*
 * 1 if [gpa, end) holds any byte of a registered record or a pinned table
 * (VMI-MEM-017): freeing it would leave host-lib writing, or a shadow
 * walking, memory the guest gave away.  Locked.
 */
static int in_use(const struct vmi_host_vm *vm, uint64_t gpa, uint64_t end)
{
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++) {
        const struct vmi__vcpu *v = &vm->vcpus[i];

        if (overlaps(gpa, end, v->clock_gpa, sizeof(struct vmi_clock_record)) ||
            overlaps(gpa, end, v->steal_gpa, sizeof(struct vmi_steal_record)) ||
            overlaps(gpa, end, v->event_gpa, sizeof(struct vmi_event_record)))
            return 1;
    }
    return vmi__pinned_in(vm, gpa, end);
}

/*
 * Release [gpa, end): 0 or -VMI_E_LIMIT (not enough extent records, or the
 * embedder could not drop the memory; nothing applied).  Called with both
 * locks; drops the VM lock around ops->release.
 */
static int64_t release(struct vmi_host_vm *vm, uint64_t gpa, uint64_t end)
{
    uint32_t lo = ext_lower_end(vm, gpa, 1);
    uint32_t hi = ext_upper_start(vm, lo, end, 1);
    struct vmi__extent m = {gpa, end};
    uint64_t old = 0;
    int r;

    if (vm->extent_count - (hi - lo) + 1 > vm->cfg.max_released_extents)
        return -VMI_E_LIMIT;
    vmi__unlock(vm);
    r = vm->ops->release(vm->ctx, gpa, end - gpa);
    vmi__lock(vm);
    if (r)
        return -VMI_E_LIMIT;
    /*
     * A released page reads zero or as it was (VMI-MEM-014); the injected
     * fault shows the guest bytes that were never its own, as the first
     * draft's "any value" allowed.
     */
    if (VMI__FAULT_IS(vm, RELEASED_READS_OTHER_DATA)) {
        static const uint8_t other[8] = {'h', 'o', 's', 't',
                                         'd', 'a', 't', 'a'};
        (void)vmi__gmem_write(vm, gpa, other, sizeof(other));
    }
    for (uint32_t i = lo; i < hi; i++) {
        old += pages_in(vm->extents[i].gpa, vm->extents[i].end);
        if (vm->extents[i].gpa < m.gpa)
            m.gpa = vm->extents[i].gpa;
        if (vm->extents[i].end > m.end)
            m.end = vm->extents[i].end;
    }
    ext_splice(vm, lo, hi, &m, 1);
    vm->released_pages += pages_in(m.gpa, m.end) - old;
    if (VMI__FAULT_IS(vm, RELEASE_MISCOUNT))
        vm->released_pages += old;
    return 0;
}

/* Reclaim [gpa, end): only released parts are handed to ops->reclaim. */
static int64_t reclaim(struct vmi_host_vm *vm, uint64_t gpa, uint64_t end)
{
    uint32_t lo = ext_lower_end(vm, gpa, 0);
    uint32_t hi = ext_upper_start(vm, lo, end, 0);
    struct vmi__extent keep[2];
    uint32_t n = 0;
    uint64_t gone = 0;

    if (lo == hi)
        return 0; /* nothing released there: a no-op */
    if (vm->extents[lo].gpa < gpa)
        keep[n++] = (struct vmi__extent){vm->extents[lo].gpa, gpa};
    if (vm->extents[hi - 1].end > end)
        keep[n++] = (struct vmi__extent){end, vm->extents[hi - 1].end};
    if (vm->extent_count - (hi - lo) + n > vm->cfg.max_released_extents)
        return -VMI_E_LIMIT;
    /* The extents cannot change while mem_lock is held. */
    vmi__unlock(vm);
    for (uint32_t i = lo; i < hi; i++) {
        uint64_t a = vm->extents[i].gpa > gpa ? vm->extents[i].gpa : gpa;
        uint64_t b = vm->extents[i].end < end ? vm->extents[i].end : end;
        if (vm->ops->reclaim(vm->ctx, a, b - a)) {
            vmi__lock(vm);
            return -VMI_E_LIMIT;
        }
        gone += pages_in(a, b);
    }
    vmi__lock(vm);
    ext_splice(vm, lo, hi, keep, n);
    vm->released_pages -= gone;
    return 0;
}

/* Reclaim [gpa, end) for RESET; mem_lock and the VM lock held. */
int64_t vmi__mem_reclaim_range(struct vmi_host_vm *vm, uint64_t gpa,
                               uint64_t end)
{
    return reclaim(vm, gpa, end);
}

/* MEM_RELEASE (rel = 1) and MEM_RECLAIM (rel = 0). */
static int64_t mem_call(struct vmi__ctx *c, int rel)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t gpa = c->call->args[0], count = c->call->args[1];
    uint64_t start = c->call->args[2], bytes, i, done = 0;
    struct vmi_mem_extent *x =
        (struct vmi_mem_extent *)(void *)vm->vcpus[c->vcpu].scratch;
    int64_t ret = 0;

    if (c->call->args[3])
        return -VMI_E_INVAL;
    if (gpa & (sizeof(*x) - 1))
        return -VMI_E_ALIGN;
    if (__builtin_mul_overflow(count, sizeof(*x), &bytes) ||
        vmi__gmem_check(vm, gpa, bytes))
        return -VMI_E_FAULT;
    if (count > vm->cfg.max_batch || start > count)
        return -VMI_E_RANGE;
    /* Lock order: mem_lock, then the VM lock. */
    vmi__unlock(vm);
    pthread_mutex_lock(&vm->mem_lock);
    vmi__lock(vm);
    for (i = start; i < count;) {
        uint64_t n = vmi__min64(count - i, EXTENTS_PER_CHUNK);
        n = vmi__min64(n, vm->cfg.work_per_call - done);
        if (n == 0) {
            ret = -VMI_E_AGAIN;
            break;
        }
        if (vmi__gmem_read(vm, gpa + i * sizeof(*x), x, n * sizeof(*x))) {
            ret = -VMI_E_FAULT;
            break;
        }
        for (uint64_t j = 0; j < n && !ret; j++) {
            uint64_t len, end;
            if (x[j].pages == 0) {
                if (!VMI__FAULT_IS(vm, MEM_ACCEPTS_ZERO_PAGES))
                    ret = -VMI_E_INVAL;
            } else if (x[j].pages > VMI_MEM_EXTENT_MAX_PAGES &&
                       !VMI__FAULT_IS(vm, EXTENT_UNCAPPED)) {
                ret = -VMI_E_INVAL;
            } else if (x[j].gpa & (VMI_PAGE_SIZE - 1)) {
                ret = -VMI_E_ALIGN;
            } else if (__builtin_mul_overflow(x[j].pages, VMI_PAGE_SIZE,
                                              &len) ||
                       __builtin_add_overflow(x[j].gpa, len, &end) ||
                       vmi__gmem_check(vm, x[j].gpa, len)) {
                ret = -VMI_E_FAULT;
            } else if (rel && in_use(vm, x[j].gpa, end) &&
                       !VMI__FAULT_IS(vm, RELEASE_IGNORES_USE)) {
                ret = -VMI_E_BUSY;
            } else {
                ret = rel ? release(vm, x[j].gpa, end)
                          : reclaim(vm, x[j].gpa, end);
            }
            if (!ret) {
                i++;
                done++;
            }
        }
        if (ret)
            break;
    }
    c->call->rets[0] = ret ? i : count;
    vmi__unlock(vm);
    pthread_mutex_unlock(&vm->mem_lock);
    vmi__lock(vm);
    return ret;
}

int64_t vmi__hc_mem_release(struct vmi__ctx *c)
{
    return mem_call(c, 1);
}

int64_t vmi__hc_mem_reclaim(struct vmi__ctx *c)
{
    return mem_call(c, 0);
}
