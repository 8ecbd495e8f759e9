/* SPDX-License-Identifier: MIT */
/* mmu.c: page-table profile: PT_PIN, PT_UNPIN, PT_UPDATE, PTE validation. */
#include <string.h>

#include "vm.h"

#define TABLE_BYTES (VMI_PT_ENTRIES * 8u)
#define UPDATES_PER_CHUNK (VMI__SCRATCH_BYTES / sizeof(struct vmi_pt_update))

/* Index of the first pin with gpa >= `gpa` (binary search).  Locked. */
static uint32_t pin_lower(const struct vmi_host_vm *vm, uint64_t gpa)
{
    uint32_t lo = 0, hi = vm->pin_count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (vm->pins[mid].gpa < gpa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* 1 if a pinned table lies in [gpa, end) (page aligned).  Locked. */
int vmi__pinned_in(const struct vmi_host_vm *vm, uint64_t gpa, uint64_t end)
{
    uint32_t i = pin_lower(vm, gpa);

    return i < vm->pin_count && vm->pins[i].gpa < end;
}

/* The pinned table at `gpa` (4 KiB aligned), or NULL. */
static struct vmi__pin *pin_find(struct vmi_host_vm *vm, uint64_t gpa)
{
    uint32_t i = pin_lower(vm, gpa);

    if (i < vm->pin_count && vm->pins[i].gpa == gpa)
        return &vm->pins[i];
    return NULL;
}

/*
 * Validate one entry for a table of `level`: 0, -VMI_E_INVAL (reserved
 * bits, PS where not allowed) or -VMI_E_FAULT (frame not RAM).  Entries
 * without PRESENT are the guest's own business.
 */
static int64_t pte_check(struct vmi_host_vm *vm, uint32_t level, uint64_t e)
{
    uint64_t size = VMI_PAGE_SIZE, frame;

    if (!(e & VMI_PTE_PRESENT))
        return 0;
    if ((e & VMI_PTE_RESERVED) && !VMI__FAULT_IS(vm, PT_IGNORES_RESERVED_BITS))
        return -VMI_E_INVAL;
    /* Bit 7 is PS at levels 2-4 (a large page; none at level 4) and the
     * PAT bit of a 4 KiB page at level 1. */
    if ((e & VMI_PTE_PS) && level > 1) {
        if (level == 4)
            return -VMI_E_INVAL;
        size = level == 2 ? (UINT64_C(1) << 21) : (UINT64_C(1) << 30);
    }
    frame = e & VMI_PTE_FRAME & ~(size - 1);
    return vmi__gmem_check(vm, frame, size) ? -VMI_E_FAULT : 0;
}

int64_t vmi__hc_pt_pin(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t gpa = c->call->args[0], level = c->call->args[1];
    uint64_t *t = (uint64_t *)(void *)vm->vcpus[c->vcpu].scratch;
    uint32_t i;

    if (c->call->args[2])
        return -VMI_E_INVAL;
    if (gpa & (VMI_PAGE_SIZE - 1))
        return -VMI_E_ALIGN;
    if (vmi__gmem_check(vm, gpa, TABLE_BYTES))
        return -VMI_E_FAULT;
    if (level < VMI_PT_LEVEL_MIN || level > VMI_PT_LEVEL_MAX)
        return -VMI_E_RANGE;
    /* One copy of the table; the entries are validated in the copy. */
    if (vmi__gmem_read(vm, gpa, t, TABLE_BYTES))
        return -VMI_E_FAULT;
    for (i = 0; i < VMI_PT_ENTRIES; i++) {
        int64_t r = pte_check(vm, (uint32_t)level, t[i]);
        if (r) {
            c->call->rets[0] = i;
            return r;
        }
    }
    if (pin_find(vm, gpa))
        return -VMI_E_BUSY;
    if (vm->pin_count >= vm->cfg.max_pinned)
        return -VMI_E_LIMIT;
    i = pin_lower(vm, gpa);
    memmove(&vm->pins[i + 1], &vm->pins[i],
            (vm->pin_count - i) * sizeof(*vm->pins));
    vm->pins[i].gpa = gpa;
    vm->pins[i].level = (uint32_t)level;
    vm->pin_count++;
    return 0;
}

int64_t vmi__hc_pt_unpin(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t gpa = c->call->args[0];
    struct vmi__pin *p;
    uint32_t i;

    if (gpa & (VMI_PAGE_SIZE - 1))
        return -VMI_E_ALIGN;
    p = pin_find(vm, gpa);
    if (!p)
        return VMI__FAULT_IS(vm, UNPIN_MISSING_OK) ? 0 : -VMI_E_NOENT;
    i = (uint32_t)(p - vm->pins);
    memmove(&vm->pins[i], &vm->pins[i + 1],
            (vm->pin_count - i - 1) * sizeof(*vm->pins));
    vm->pin_count--;
    return 0;
}

/* Apply one update from the host copy: 0 or the entry's status. */
static int64_t apply(struct vmi_host_vm *vm, const struct vmi_pt_update *u,
                     uint64_t flags)
{
    const struct vmi__pin *p;
    uint64_t *pte;
    int64_t r;

    if (u->pte_gpa & 7)
        return -VMI_E_ALIGN;
    p = pin_find(vm, u->pte_gpa & ~(uint64_t)(VMI_PAGE_SIZE - 1));
    if (!p)
        return -VMI_E_NOENT;
    r = pte_check(vm, p->level, u->value);
    if (r)
        return r;
    pte = vmi__gmem_shared(vm, u->pte_gpa, 8);
    if (!pte)
        return -VMI_E_FAULT;
    /*
     * PRESERVE_AD (VMI-PT-027): keep the A and D bits the processor (or
     * another writer) set, with a compare-and-exchange that retries until
     * no write came between.  The injected fault stores the value as is.
     */
    if ((flags & VMI_PT_UPDATE_PRESERVE_AD) &&
        !VMI__FAULT_IS(vm, PRESERVE_AD_IGNORED)) {
        const uint64_t ad = VMI_PTE_ACCESSED | VMI_PTE_DIRTY;
        uint64_t old = __atomic_load_n(pte, __ATOMIC_ACQUIRE);

        while (!__atomic_compare_exchange_n(pte, &old, u->value | (old & ad), 0,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            ;
        return 0;
    }
    /* The guest's walker may read the entry concurrently: one 8-byte store. */
    __atomic_store_n(pte, u->value, __ATOMIC_RELEASE);
    return 0;
}

int64_t vmi__hc_pt_update(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t gpa = c->call->args[0], count = c->call->args[1];
    uint64_t start = c->call->args[2], bytes, i, done = 0;
    struct vmi_pt_update *u =
        (struct vmi_pt_update *)(void *)vm->vcpus[c->vcpu].scratch;

    if (c->call->args[3] & ~(uint64_t)VMI_PT_UPDATE_PRESERVE_AD)
        return -VMI_E_INVAL;
    if (gpa & (sizeof(*u) - 1))
        return -VMI_E_ALIGN;
    if (__builtin_mul_overflow(count, sizeof(*u), &bytes) ||
        vmi__gmem_check(vm, gpa, bytes))
        return -VMI_E_FAULT;
    if (count > vm->cfg.max_batch || start > count)
        return -VMI_E_RANGE;
    for (i = start; i < count;) {
        uint64_t n = vmi__min64(count - i, UPDATES_PER_CHUNK);
        n = vmi__min64(n, vm->cfg.work_per_call - done);
        if (n == 0) {
            /* Bounded work per call: the guest restarts at rets[0]. */
            c->call->rets[0] = i;
            return -VMI_E_AGAIN;
        }
        if (vmi__gmem_read(vm, gpa + i * sizeof(*u), u, n * sizeof(*u)))
            return -VMI_E_FAULT;
        for (uint64_t j = 0; j < n; j++, i++, done++) {
            int64_t r = apply(vm, &u[j], c->call->args[3]);
            if (r) {
                c->call->rets[0] = i;
                if (VMI__FAULT_IS(vm, PT_UPDATE_WRONG_COMPLETED))
                    c->call->rets[0] = i + 1;
                return r;
            }
        }
    }
    c->call->rets[0] = count;
    return 0;
}
