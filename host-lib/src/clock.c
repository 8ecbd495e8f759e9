/* SPDX-License-Identifier: MIT */
/* clock.c: the VM clock, clock and steal records (seqlock), TIME_READ. */
#include "vm.h"

/*
 * Choose shift and mul so that ns = ((delta << shift) * mul) >> 32 (shift
 * negative: right shift), as Linux/KVM's kvm_get_time_scale does: the
 * pvclock conversion the guest applies.
 */
void vmi__time_scale(uint64_t hz, int8_t *pshift, uint32_t *pmul)
{
    uint64_t scaled64 = 1000000000u;
    uint64_t tps64 = hz;
    uint32_t tps32;
    int32_t shift = 0;

    while (tps64 > scaled64 * 2 || (tps64 & UINT64_C(0xffffffff00000000))) {
        tps64 >>= 1;
        shift--;
    }
    tps32 = (uint32_t)tps64;
    while (tps32 <= scaled64 || (scaled64 & UINT64_C(0xffffffff00000000))) {
        if ((scaled64 & UINT64_C(0xffffffff00000000)) || (tps32 & 0x80000000u))
            scaled64 >>= 1;
        else
            tps32 <<= 1;
        shift++;
    }
    *pshift = (int8_t)shift;
    *pmul = (uint32_t)((scaled64 << 32) / tps32);
}

/*
 * pvclock_scale_delta, without its 64-bit limit: a guest computes
 * delta << shift in 64 bits, which is exact while delta stays below the
 * record's bound (record_bound); host-lib's VM clock uses 128 bits, so it
 * is right for any delta.
 */
uint64_t vmi__scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
    unsigned __int128 d = delta;

    if (shift < 0)
        d >>= -shift;
    else
        d <<= shift;
    return (uint64_t)((d * mul) >> 32);
}

/*
 * A record is valid while its vCPU's TSC minus tsc_timestamp stays below
 * 2^(63 - max(tsc_shift, 0)) ticks: then delta << tsc_shift cannot
 * overflow a guest's 64-bit arithmetic (VMI-CLK-042).  The host rewrites a
 * record once half of that has passed.
 */
static uint64_t record_bound(const struct vmi_host_vm *vm)
{
    return UINT64_C(1) << (63 - (vm->shift > 0 ? vm->shift : 0));
}

/*
 * Ticks between exact points of the VM clock's line: at a multiple of it,
 * (delta << shift) * mul is a multiple of 2^32, so the line's value there
 * is an integer and a record based there reads exactly like the line.
 * Every record uses such a point, so records written at different times
 * never disagree, not even by a nanosecond.
 */
static uint64_t exact_step(const struct vmi_host_vm *vm)
{
    return UINT64_C(1) << (32 - vm->shift); /* shift is -31..31 */
}

void vmi__clock_init(struct vmi_host_vm *vm)
{
    vmi__time_scale(vm->cfg.tsc_hz, &vm->shift, &vm->mul);
    vm->base_tsc = vm->ops->rdtsc(vm->ctx);
    vm->base_ns = 0;
    vm->last_ns = 0;
}

/* VM clock now.  Lock held. */
uint64_t vmi__clock_now(struct vmi_host_vm *vm)
{
    uint64_t tsc = vm->ops->rdtsc(vm->ctx);
    uint64_t delta = tsc > vm->base_tsc ? tsc - vm->base_tsc : 0;
    uint64_t ns = vm->base_ns + vmi__scale_delta(delta, vm->mul, vm->shift);

    /* A counter that steps back must not make the VM clock go back. */
    if (ns < vm->last_ns)
        ns = vm->last_ns;
    vm->last_ns = ns;
    return ns;
}

/* Make `ns` the VM clock at the current TSC (restore, resume).  Lock held. */
void vmi__clock_rebase(struct vmi_host_vm *vm, uint64_t ns)
{
    vm->base_tsc = vm->ops->rdtsc(vm->ctx);
    vm->base_ns = ns;
    vm->last_ns = ns;
}

static uint32_t seq_begin(uint32_t *version)
{
    uint32_t v = __atomic_load_n(version, __ATOMIC_RELAXED);

    /* Odd while updating, even whatever a hostile guest stored there. */
    v = (v + 1) | 1;
    __atomic_store_n(version, v, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return v;
}

static void seq_end(uint32_t *version, uint32_t v, int leave_odd)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    if (!leave_odd)
        __atomic_store_n(version, v + 1, __ATOMIC_RELAXED);
}

/*
 * Rewrite vCPU `vcpu`'s clock record with the seqlock protocol.  Locked.
 * The caller guarantees that the vCPU is not executing guest code
 * (VMI-CLK-039): its own call, or the embedder with the VM paused.  So the
 * guest's clear of GUEST_STOPPED, a plain read-modify-write of `flags` (as
 * Linux does), is one instruction that this write cannot split.
 */
void vmi__clock_write(struct vmi_host_vm *vm, uint32_t vcpu)
{
    struct vmi__vcpu *v = &vm->vcpus[vcpu];
    struct vmi_clock_record *r;
    uint8_t flags;
    uint32_t ver;

    if (v->clock_gpa == VMI_GPA_NONE)
        return;
    r = vmi__gmem_shared(vm, v->clock_gpa, sizeof(*r));
    if (!r)
        return;
    /* The guest cleared GUEST_STOPPED after the host showed it: keep it
     * clear until the next stop (VMI-CLK-038). */
    if ((v->clock_sticky & VMI_CLOCK_GUEST_STOPPED) && v->clock_shown &&
        !(__atomic_load_n(&r->flags, __ATOMIC_RELAXED) &
          VMI_CLOCK_GUEST_STOPPED) &&
        !VMI__FAULT_IS(vm, GUEST_STOPPED_RESTICKY))
        v->clock_sticky &= (uint8_t)~VMI_CLOCK_GUEST_STOPPED;
    flags = v->clock_sticky;
    v->clock_shown = (flags & VMI_CLOCK_GUEST_STOPPED) != 0;
    /* The latest exact point of the line at or before now. */
    {
        uint64_t tsc = vm->ops->rdtsc(vm->ctx), step = exact_step(vm);
        uint64_t d = tsc > vm->base_tsc ? tsc - vm->base_tsc : 0;

        d -= d % step;
        v->rec_tsc = vm->base_tsc + d;
        v->rec_ns = vm->base_ns + vmi__scale_delta(d, vm->mul, vm->shift);
    }
    if (vm->cfg.tsc_stable && !VMI__FAULT_IS(vm, CLOCK_NOT_STABLE))
        flags |= VMI_CLOCK_TSC_STABLE;
    /* The first draft's "invalid" record: bit 2 and mul 0. */
    if (VMI__FAULT_IS(vm, CLOCK_FLAG_BIT2))
        flags |= 1u << 2;
    ver = seq_begin(&r->version);
    __atomic_store_n(&r->reserved0, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->tsc_timestamp, v->rec_tsc, __ATOMIC_RELAXED);
    __atomic_store_n(
        &r->system_time,
        v->rec_ns +
            (VMI__FAULT_IS(vm, RECORD_OFF_REFERENCE) && vcpu ? 1000000 : 0),
        __ATOMIC_RELAXED);
    __atomic_store_n(&r->tsc_to_system_mul,
                     VMI__FAULT_IS(vm, CLOCK_RECORD_INVALIDATED) ? 0 : vm->mul,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&r->tsc_shift, vm->shift, __ATOMIC_RELAXED);
    __atomic_store_n(&r->flags, flags, __ATOMIC_RELAXED);
    __atomic_store_n(&r->reserved1[0], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->reserved1[1], 0, __ATOMIC_RELAXED);
    seq_end(&r->version, ver, VMI__FAULT_IS(vm, CLOCK_VERSION_ODD));
}

/*
 * Rewrite vCPU `vcpu`'s record if half its validity bound has passed.
 * Locked; called on the vCPU's own thread (its calls, take_upcall,
 * block_check), never while it executes guest code (VMI-CLK-039).
 */
void vmi__clock_refresh(struct vmi_host_vm *vm, uint32_t vcpu)
{
    struct vmi__vcpu *v = &vm->vcpus[vcpu];
    uint64_t tsc;

    if (v->clock_gpa == VMI_GPA_NONE || VMI__FAULT_IS(vm, RECORD_NOT_REFRESHED))
        return;
    tsc = vm->ops->rdtsc(vm->ctx);
    if (tsc > v->rec_tsc && tsc - v->rec_tsc >= record_bound(vm) / 2)
        vmi__clock_write(vm, vcpu);
}

/* VM-clock ns at which the first record's refresh falls due, or
 * VMI_DEADLINE_NONE.  Locked. */
uint64_t vmi__clock_refresh_due(struct vmi_host_vm *vm)
{
    uint64_t due = VMI_DEADLINE_NONE, half = record_bound(vm) / 2;

    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++) {
        const struct vmi__vcpu *v = &vm->vcpus[i];
        uint64_t ns;

        if (v->clock_gpa == VMI_GPA_NONE)
            continue;
        ns = v->rec_ns + vmi__scale_delta(half, vm->mul, vm->shift);
        if (ns < due)
            due = ns;
    }
    return due;
}

/* Kick every vCPU whose record is due, so its thread refreshes it.
 * Locked. */
void vmi__clock_refresh_kicks(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t tsc = vm->ops->rdtsc(vm->ctx), half = record_bound(vm) / 2;

    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++) {
        const struct vmi__vcpu *v = &vm->vcpus[i];

        if (v->clock_gpa != VMI_GPA_NONE && tsc > v->rec_tsc &&
            tsc - v->rec_tsc >= half)
            vmi__kick_later(c, i);
    }
}

/* Rewrite vCPU `vcpu`'s steal record.  Locked. */
void vmi__steal_write(struct vmi_host_vm *vm, uint32_t vcpu)
{
    struct vmi__vcpu *v = &vm->vcpus[vcpu];
    struct vmi_steal_record *r;
    uint32_t ver;

    if (v->steal_gpa == VMI_GPA_NONE)
        return;
    r = vmi__gmem_shared(vm, v->steal_gpa, sizeof(*r));
    if (!r)
        return;
    ver = seq_begin(&r->version);
    __atomic_store_n(&r->steal_ns, v->steal_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&r->flags, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->preempted, 0, __ATOMIC_RELAXED);
    /* Fields nobody writes read as zero (the record is initialised at
     * registration, and a hostile guest's scribbles are undone). */
    for (unsigned i = 0; i < 3; i++)
        __atomic_store_n(&r->reserved0[i], 0, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < 11; i++)
        __atomic_store_n(&r->reserved1[i], 0, __ATOMIC_RELAXED);
    seq_end(&r->version, ver, VMI__FAULT_IS(vm, STEAL_VERSION_ODD));
}

/* Common part of CLOCK_REGISTER and STEAL_REGISTER. */
static int64_t check_record(struct vmi__ctx *c, uint64_t gpa, uint64_t flags,
                            uint64_t size)
{
    /* The injected fault skips the flags check of CLOCK_REGISTER only. */
    if (flags && !(VMI__FAULT_IS(c->vm, RESERVED_FIELD_IGNORED) &&
                   size == sizeof(struct vmi_clock_record)))
        return -VMI_E_INVAL;
    if (gpa == VMI_GPA_NONE)
        return 0;
    if (gpa & (size - 1))
        return -VMI_E_ALIGN;
    return vmi__gmem_check(c->vm, gpa, size);
}

int64_t vmi__hc_clock_register(struct vmi__ctx *c)
{
    struct vmi__vcpu *v = &c->vm->vcpus[c->vcpu];
    uint64_t gpa = c->call->args[0];
    int64_t ret;

    ret =
        check_record(c, gpa, c->call->args[1], sizeof(struct vmi_clock_record));
    if (ret)
        return ret;
    v->clock_gpa = gpa;
    /* Registering (again) also acknowledges GUEST_STOPPED. */
    v->clock_sticky = 0;
    vmi__clock_write(c->vm, c->vcpu);
    return 0;
}

int64_t vmi__hc_steal_register(struct vmi__ctx *c)
{
    struct vmi__vcpu *v = &c->vm->vcpus[c->vcpu];
    uint64_t gpa = c->call->args[0];
    int64_t ret;

    ret =
        check_record(c, gpa, c->call->args[1], sizeof(struct vmi_steal_record));
    if (ret)
        return ret;
    v->steal_gpa = gpa;
    /* Cumulative over the vCPU's life, as KVM's (VMI-STL-012). */
    if (VMI__FAULT_IS(c->vm, STEAL_RESET_ON_REGISTER))
        v->steal_ns = 0;
    vmi__steal_write(c->vm, c->vcpu);
    return 0;
}

int64_t vmi__hc_time_read(struct vmi__ctx *c)
{
    uint64_t now = vmi__clock_now(c->vm);

    if (VMI__FAULT_IS(c->vm, TIME_READ_SKEW))
        now += 1000000;
    /* One clock per vCPU, as VMI-CLK-044 forbids. */
    if (VMI__FAULT_IS(c->vm, TIME_READ_PER_VCPU))
        now += 1000000 * (uint64_t)c->vcpu;
    c->call->rets[0] = now;
    c->call->rets[1] = (uint64_t)c->vm->wall_offset_ns;
    return 0;
}

VMI_HOST_API uint64_t vmi_host_clock_now(struct vmi_host_vm *vm)
{
    uint64_t ns;

    vmi__lock(vm);
    ns = vmi__clock_now(vm);
    vmi__unlock(vm);
    return ns;
}

VMI_HOST_API void vmi_host_clock_update(struct vmi_host_vm *vm, uint8_t flags)
{
    vmi__lock(vm);
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++) {
        if (vm->vcpus[i].clock_gpa == VMI_GPA_NONE)
            continue;
        if (flags & VMI_CLOCK_GUEST_STOPPED)
            vm->vcpus[i].clock_shown = 0; /* a new stop, not yet shown */
        vm->vcpus[i].clock_sticky |= flags;
        vmi__clock_write(vm, i);
    }
    vmi__unlock(vm);
}

VMI_HOST_API void vmi_host_set_wall_offset(struct vmi_host_vm *vm,
                                           int64_t wall_offset_ns)
{
    vmi__lock(vm);
    vm->wall_offset_ns = wall_offset_ns;
    vmi__unlock(vm);
}

VMI_HOST_API void vmi_host_steal_account(struct vmi_host_vm *vm, uint32_t vcpu,
                                         uint64_t ns)
{
    if (!vm || vcpu >= vm->cfg.vcpu_count)
        return;
    vmi__lock(vm);
    vm->vcpus[vcpu].steal_ns += ns;
    vmi__steal_write(vm, vcpu);
    vmi__unlock(vm);
}
