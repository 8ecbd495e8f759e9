/* SPDX-License-Identifier: MIT */
/* gmem.c: the only way host-lib touches guest memory. */
#include <string.h>

#include "vm.h"

/*
 * Every guest range goes through here: the end must not wrap and the whole
 * range must be RAM as the embedder's map callback says.
 */
static void *map_range(struct vmi_host_vm *vm, uint64_t gpa, uint64_t len)
{
    uint64_t end;

    if (len == 0)
        return NULL;
    if (__builtin_add_overflow(gpa, len, &end))
        return NULL;
    return vm->ops->map(vm->ctx, gpa, len);
}

/* 0 when [gpa, gpa + len) is guest RAM, else -VMI_E_FAULT.  Reads nothing. */
int vmi__gmem_check(struct vmi_host_vm *vm, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        return 0;
    return map_range(vm, gpa, len) ? 0 : -VMI_E_FAULT;
}

/*
 * The copy-in accessor: copies guest [gpa, gpa + len) into dst once.  The
 * caller validates the copy, never the guest's memory, so a guest racing
 * with the call cannot change a value between check and use.
 */
int vmi__gmem_read(struct vmi_host_vm *vm, uint64_t gpa, void *dst,
                   uint64_t len)
{
    const void *src;

    if (len == 0)
        return 0;
    src = map_range(vm, gpa, len);
    if (!src)
        return -VMI_E_FAULT;
    memcpy(dst, src, (size_t)len);
    if (vm->read_counts) {
        for (uint64_t i = 0; i < len; i++) {
            uint64_t b = gpa + i;
            if (b < vm->read_counts_len && vm->read_counts[b] < 255)
                vm->read_counts[b]++;
        }
    }
    return 0;
}

/* The copy-out accessor. */
int vmi__gmem_write(struct vmi_host_vm *vm, uint64_t gpa, const void *src,
                    uint64_t len)
{
    void *dst;

    if (len == 0)
        return 0;
    dst = map_range(vm, gpa, len);
    if (!dst)
        return -VMI_E_FAULT;
    memcpy(dst, src, (size_t)len);
    if (vm->ops->dirty)
        vm->ops->dirty(vm->ctx, gpa, len);
    return 0;
}

/*
 * A shared record (clock, steal, event) or a pinned PTE: the caller accesses
 * it only with __atomic operations, because the guest reads and writes it
 * concurrently.  NULL when the range is not RAM.  The range is reported
 * dirty now, before the caller writes it, within the same host-lib call.
 */
void *vmi__gmem_shared(struct vmi_host_vm *vm, uint64_t gpa, uint64_t len)
{
    void *p = map_range(vm, gpa, len);

    if (p && vm->ops->dirty)
        vm->ops->dirty(vm->ctx, gpa, len);
    return p;
}

/*
 * Test hook: while counts is set, every copy-in increments counts[gpa] for
 * each byte read (saturating at 255), for gpa < len.  Used by the
 * double-fetch test; NULL disables it.
 */
void vmi__gmem_count_reads(struct vmi_host_vm *vm, uint8_t *counts,
                           uint64_t len)
{
    vm->read_counts = counts;
    vm->read_counts_len = len;
}
