/* SPDX-License-Identifier: MIT */
/* event.c: event records, pending bits, upcalls, EVENT_SEND and BLOCK. */
#include "vm.h"

static struct vmi_event_record *record(struct vmi_host_vm *vm, uint32_t vcpu)
{
    uint64_t gpa = vm->vcpus[vcpu].event_gpa;

    if (gpa == VMI_GPA_NONE)
        return NULL;
    return vmi__gmem_shared(vm, gpa, sizeof(struct vmi_event_record));
}

/*
 * Upcall vectors (VMI-EVT-042): x86 vectors 32-255, or, for a host that
 * serves the HVC transport (host-lib knows the architecture only from the
 * transports the embedder serves), aarch64 PPI INTIDs 16-31 except the Arm
 * BSA's architected PPIs 19-30 and those the platform uses.
 */
int vmi__vector_ok(const struct vmi_host_vm *vm, uint64_t vector)
{
    if (vm->cfg.transports & VMI_TRANSPORT_HVC) {
        if (vector < 16 || vector > 31)
            return 0;
        return !(vector >= 19 && vector <= 30) &&
               !(vm->cfg.platform_ppis & (1u << (vector - 16)));
    }
    return vector >= VMI_X86_VECTOR_MIN && vector <= VMI_X86_VECTOR_MAX;
}

/* 1 when vCPU `vcpu` has an unmasked event pending in its record.  Locked. */
int vmi__event_wake(struct vmi_host_vm *vm, uint32_t vcpu)
{
    struct vmi_event_record *r = record(vm, vcpu);
    uint64_t pending, mask;

    if (!r)
        return 0;
    pending = __atomic_load_n(&r->pending, __ATOMIC_ACQUIRE);
    mask = __atomic_load_n(&r->mask, __ATOMIC_ACQUIRE);
    return (pending & ~mask) != 0;
}

/* Bits `newly` went 0 -> 1 in the record: an upcall is due if unmasked. */
static void note_edge(struct vmi__ctx *c, uint32_t vcpu, uint64_t newly,
                      uint64_t mask)
{
    struct vmi_host_vm *vm = c->vm;
    struct vmi__vcpu *v = &vm->vcpus[vcpu];

    if ((newly & ~mask) && !VMI__FAULT_IS(vm, EVENT_NO_UPCALL))
        v->upcall_due = 1;
    if (v->upcall_due || v->blocked)
        vmi__kick_later(c, vcpu);
}

/*
 * Set event `event` pending on `vcpu`: atomic OR into the record, or kept
 * host-side until a record is registered.  Locked.
 *
 * Ordering (VMI-EVT-051, VMI-EVT-052): the OR is a sequentially consistent
 * read-modify-write and the mask is read after it, also sequentially
 * consistent, so that the mask load cannot be performed before the pending
 * store: with the guest's unmask, full barrier and re-read of pending
 * (VMI-EVT-054) one of the two sides always sees the other's write.  The
 * OR is also a release: every store the sending vCPU made before its
 * EVENT_SEND (program order on this CPU, the trap included) and, through
 * the VM lock that TIMER_ARM and vmi_host_timers_fire both take, every
 * store a vCPU made before arming a timer is visible before the bit.  On
 * x86-64 the locked OR is a full barrier; on aarch64 the compiler emits an
 * acquire-release exclusive pair or an LSE LDSETAL, and the mask load is an
 * LDAR, which may not pass the store-release before it.
 */
void vmi__event_set(struct vmi__ctx *c, uint32_t vcpu, uint32_t event)
{
    struct vmi_host_vm *vm = c->vm;
    struct vmi_event_record *r = record(vm, vcpu);
    uint64_t bit = UINT64_C(1) << event;
    uint64_t old, mask;

    if (VMI__FAULT_IS(vm, EVENT_OLD_RECORD_WRITTEN) &&
        vm->vcpus[vcpu].old_event_gpa != VMI_GPA_NONE) {
        struct vmi_event_record *o =
            vmi__gmem_shared(vm, vm->vcpus[vcpu].old_event_gpa, sizeof(*o));

        if (o)
            __atomic_fetch_or(&o->pending, bit, __ATOMIC_SEQ_CST);
    }
    if (!r) {
        vm->vcpus[vcpu].host_pending |= bit;
        return;
    }
    old = __atomic_fetch_or(&r->pending, bit, __ATOMIC_SEQ_CST);
    mask = __atomic_load_n(&r->mask, __ATOMIC_SEQ_CST);
    note_edge(c, vcpu, bit & ~old, mask);
}

/*
 * The vCPU leaves its registered record (VMI-EVT-055): take the record's
 * pending bits with one exchange and keep them host-side, for the next
 * record; an upcall due for the old record is not delivered (VMI-EVT-057).
 * The injected faults bring back the first draft (bits left in the old
 * record, the due upcall kept).  Locked.
 */
static void leave_record(struct vmi_host_vm *vm, uint32_t vcpu)
{
    struct vmi__vcpu *v = &vm->vcpus[vcpu];
    struct vmi_event_record *r = record(vm, vcpu);

    if (!VMI__FAULT_IS(vm, REREGISTER_KEEPS_UPCALL))
        v->upcall_due = 0;
    if (!r)
        return;
    v->old_event_gpa = v->event_gpa;
    if (!VMI__FAULT_IS(vm, REREGISTER_LEAVES_PENDING))
        v->host_pending |=
            __atomic_exchange_n(&r->pending, 0, __ATOMIC_SEQ_CST);
}

int64_t vmi__hc_event_register(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    struct vmi__vcpu *v = &vm->vcpus[c->vcpu];
    uint64_t gpa = c->call->args[0];
    uint64_t vector = c->call->args[1];
    struct vmi_event_record *r;
    uint64_t old, mask, old_gpa = v->event_gpa;

    if (c->call->args[2])
        return -VMI_E_INVAL;
    if (gpa == VMI_GPA_NONE) {
        leave_record(vm, c->vcpu);
        v->event_gpa = VMI_GPA_NONE;
        return 0;
    }
    if (gpa & (sizeof(struct vmi_event_record) - 1))
        return -VMI_E_ALIGN;
    if (vmi__gmem_check(vm, gpa, sizeof(struct vmi_event_record)))
        return -VMI_E_FAULT;
    if (!vmi__vector_ok(vm, vector))
        return -VMI_E_RANGE;
    leave_record(vm, c->vcpu);
    v->event_gpa = gpa;
    v->event_vector = (uint32_t)vector;
    r = record(vm, c->vcpu);
    /*
     * The host writes no record that is not registered, so a record that
     * is not the vCPU's current one reads pending zero if the guest
     * initialised it before the call; bits there (say, left from before a
     * VCPU_STOP) break VMI-EVT-019, reported in strict mode.
     */
    if (r && gpa != old_gpa &&
        __atomic_load_n(&r->pending, __ATOMIC_SEQ_CST) != 0)
        c->record_uninit = 1;
    if (VMI__FAULT_IS(vm, EVENT_REGISTER_DROPS_PENDING))
        v->host_pending = 0;
    if (r && v->host_pending) {
        /* As vmi__event_set (VMI-EVT-051). */
        old = __atomic_fetch_or(&r->pending, v->host_pending, __ATOMIC_SEQ_CST);
        mask = __atomic_load_n(&r->mask, __ATOMIC_SEQ_CST);
        note_edge(c, c->vcpu, v->host_pending & ~old, mask);
        v->host_pending = 0;
    }
    return 0;
}

int64_t vmi__hc_event_send(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t base = c->call->args[0];
    uint64_t mask = c->call->args[1];
    uint64_t event = c->call->args[2];
    uint64_t flags = c->call->args[3];
    uint32_t count = vm->cfg.vcpu_count;

    if (flags & ~(uint64_t)(VMI_VCPUSET_ALL | VMI_VCPUSET_EXCLUDE_SELF))
        return -VMI_E_INVAL;
    if ((flags & VMI_VCPUSET_ALL) ? (base || mask) : (base % 64 != 0))
        return -VMI_E_INVAL;
    if (event >= VMI_EVENT_COUNT)
        return -VMI_E_RANGE;
    if (flags & VMI_VCPUSET_ALL) {
        base = 0;
        mask = 0;
        for (uint32_t i = 0; i < count; i++) {
            if (i == c->vcpu && (flags & VMI_VCPUSET_EXCLUDE_SELF) &&
                !VMI__FAULT_IS(vm, SEND_IGNORES_EXCLUDE_SELF))
                continue;
            vmi__event_set(c, i, (uint32_t)event);
        }
        return 0;
    }
    if (mask) {
        uint64_t top = base + 63 - (uint64_t)__builtin_clzll(mask);
        if (base >= count || top >= count) {
            if (!VMI__FAULT_IS(vm, SEND_RANGE_UNCHECKED))
                return -VMI_E_RANGE;
            if (base >= count)
                return 0;
        }
    }
    while (mask) {
        uint64_t id = base + (uint64_t)__builtin_ctzll(mask);
        mask &= mask - 1;
        if (id >= count)
            break;
        id = vmi__nospec(id, count);
        if (id == c->vcpu && (flags & VMI_VCPUSET_EXCLUDE_SELF) &&
            !VMI__FAULT_IS(vm, SEND_IGNORES_EXCLUDE_SELF))
            continue;
        vmi__event_set(c, (uint32_t)id, (uint32_t)event);
    }
    return 0;
}

int64_t vmi__hc_block(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    struct vmi__vcpu *v = &vm->vcpus[c->vcpu];
    uint64_t deadline = c->call->args[0];
    uint64_t now;

    const uint64_t flags = c->call->args[1];
    const uint64_t timer = c->call->args[2], event = c->call->args[3];

    /* No record and no deadline: nothing could ever wake the vCPU. */
    if (v->event_gpa == VMI_GPA_NONE && deadline == VMI_DEADLINE_NONE)
        return -VMI_E_STATE;
    /* VMI-EVT-058: only ARM_TIMER, and only with VMI_F_BLOCK_TIMER. */
    if ((flags & ~(uint64_t)VMI_BLOCK_ARM_TIMER) ||
        ((flags & VMI_BLOCK_ARM_TIMER) && !(vm->features & VMI_F_BLOCK_TIMER) &&
         !VMI__FAULT_IS(vm, BLOCK_ARM_WITHOUT_GRANT)))
        return -VMI_E_INVAL;
    if (VMI__FAULT_IS(vm, BLOCK_ARGS_NOT_IGNORED) &&
        (timer >= vm->cfg.timer_count || event >= VMI_EVENT_COUNT))
        return -VMI_E_RANGE;
    if (flags & VMI_BLOCK_ARM_TIMER) {
        /* VMI-EVT-059: a timer armed for never is no idle entry. */
        if (deadline == VMI_DEADLINE_NONE &&
            !VMI__FAULT_IS(vm, BLOCK_ARM_NO_DEADLINE_OK))
            return -VMI_E_INVAL;
        /* VMI-EVT-060; with the fault, an unchecked id arms nothing. */
        if (timer >= vm->cfg.timer_count || event >= VMI_EVENT_COUNT) {
            if (!VMI__FAULT_IS(vm, BLOCK_ARM_RANGE_UNCHECKED))
                return -VMI_E_RANGE;
        } else if (!VMI__FAULT_IS(vm, BLOCK_ARM_IGNORED)) {
            /* VMI-EVT-061: as TIMER_ARM, before the checks below. */
            int64_t st = vmi__timer_arm(
                c, (uint32_t)vmi__nospec(timer, vm->cfg.timer_count), deadline,
                c->vcpu, (uint32_t)event);

            if (st)
                return st;
        }
    }
    if (VMI__FAULT_IS(vm, BLOCK_SPURIOUS_WAKE) ||
        vmi__event_wake(vm, c->vcpu)) {
        c->call->rets[0] = VMI_WAKE_EVENT;
        return 0;
    }
    now = vmi__clock_now(vm);
    if (VMI__FAULT_IS(vm, BLOCK_DEADLINE_EARLY))
        now += 1000000;
    if (deadline != VMI_DEADLINE_NONE && now >= deadline) {
        c->call->rets[0] = VMI_WAKE_DEADLINE;
        return 0;
    }
    v->blocked = 1;
    v->block_deadline = deadline;
    c->call->action = VMI_HOST_BLOCK;
    c->call->deadline_ns = deadline;
    return 0;
}

/* End a BLOCK: the call returns `reason` in result 0.  Locked. */
static void block_complete(struct vmi__vcpu *v, struct vmi_host_call *call,
                           uint64_t reason)
{
    v->blocked = 0;
    call->status = 0;
    call->rets[0] = reason;
    for (unsigned i = 1; i < VMI_HC_MAX_RETS; i++)
        call->rets[i] = 0;
    call->action = VMI_HOST_RESUME;
}

VMI_HOST_API int vmi_host_block_check(struct vmi_host_vm *vm, uint32_t vcpu,
                                      struct vmi_host_call *call)
{
    struct vmi__vcpu *v;
    uint64_t reason = 0, now;

    if (!vm || !call || vcpu >= vm->cfg.vcpu_count)
        return -VMI_E_INVAL;
    vmi__lock(vm);
    v = &vm->vcpus[vcpu];
    vmi__clock_refresh(vm, vcpu);
    if (!v->blocked)
        goto out;
    if (vmi__event_wake(vm, vcpu)) {
        reason = VMI_WAKE_EVENT;
    } else if (v->block_deadline != VMI_DEADLINE_NONE) {
        now = vmi__clock_now(vm);
        if (VMI__FAULT_IS(vm, BLOCK_DEADLINE_EARLY))
            now += 1000000;
        if (now >= v->block_deadline)
            reason = VMI_WAKE_DEADLINE;
    }
    if (reason)
        block_complete(v, call, reason);
out:
    vmi__unlock(vm);
    return reason != 0;
}

VMI_HOST_API int vmi_host_block_end(struct vmi_host_vm *vm, uint32_t vcpu,
                                    uint32_t reason, struct vmi_host_call *call)
{
    struct vmi__vcpu *v;
    int ended = 0;

    if (!vm || !call || vcpu >= vm->cfg.vcpu_count ||
        (reason != VMI_WAKE_INTERRUPT && reason != VMI_WAKE_SPURIOUS))
        return -VMI_E_INVAL;
    vmi__lock(vm);
    v = &vm->vcpus[vcpu];
    vmi__clock_refresh(vm, vcpu);
    if (v->blocked && !(reason == VMI_WAKE_INTERRUPT &&
                        VMI__FAULT_IS(vm, BLOCK_DEAF_TO_INTERRUPTS))) {
        /* VMI-EVT-044: EVENT, INTERRUPT, DEADLINE, SPURIOUS, first true. */
        if (vmi__event_wake(vm, vcpu))
            reason = VMI_WAKE_EVENT;
        else if (reason == VMI_WAKE_SPURIOUS &&
                 v->block_deadline != VMI_DEADLINE_NONE &&
                 vmi__clock_now(vm) >= v->block_deadline)
            reason = VMI_WAKE_DEADLINE;
        block_complete(v, call, reason);
        ended = 1;
    }
    vmi__unlock(vm);
    return ended;
}

VMI_HOST_API int vmi_host_block_restart(struct vmi_host_vm *vm, uint32_t vcpu)
{
    int was;

    if (!vm || vcpu >= vm->cfg.vcpu_count)
        return -VMI_E_INVAL;
    vmi__lock(vm);
    was = vm->vcpus[vcpu].blocked;
    vm->vcpus[vcpu].blocked = 0;
    vmi__unlock(vm);
    return was;
}

VMI_HOST_API int vmi_host_take_upcall(struct vmi_host_vm *vm, uint32_t vcpu,
                                      uint32_t *vector)
{
    struct vmi__vcpu *v;
    int due = 0;

    if (!vm || !vector || vcpu >= vm->cfg.vcpu_count)
        return 0;
    vmi__lock(vm);
    v = &vm->vcpus[vcpu];
    vmi__clock_refresh(vm, vcpu);
    if (v->upcall_due && v->event_gpa != VMI_GPA_NONE) {
        *vector = v->event_vector;
        due = 1;
    }
    v->upcall_due = 0;
    vmi__unlock(vm);
    return due;
}
