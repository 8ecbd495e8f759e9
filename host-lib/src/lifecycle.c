/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c: QUERY, RESET and VCPU_STOP, and the embedder's
 * architectural resets (vmi_host_reset, vmi_host_vcpu_platform).
 */
#include "vm.h"

/* Unregister vCPU `i`'s records and drop what host-lib keeps for it. */
static void vcpu_forget(struct vmi_host_vm *vm, uint32_t i)
{
    struct vmi__vcpu *v = &vm->vcpus[i];

    v->clock_gpa = VMI_GPA_NONE;
    v->event_gpa = VMI_GPA_NONE;
    v->old_event_gpa = VMI_GPA_NONE;
    v->steal_gpa = VMI_GPA_NONE;
    v->event_vector = 0;
    v->clock_sticky = 0;
    v->clock_shown = 0;
    v->upcall_due = 0;
    v->blocked = 0;
    v->block_deadline = 0;
    v->host_pending = 0;
    v->console_again = 0;
}

/*
 * The state part of a reset (VMI-VER-041): every vCPU but `keep` stopped
 * (their ids in `stopped`, when not NULL), all records and kept events
 * gone, every timer cancelled, every table unpinned, INITIAL.  The memory
 * part is reclaim_all's.  Locked.
 */
static void reset_state(struct vmi_host_vm *vm, uint32_t keep,
                        uint64_t *stopped)
{
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++) {
        struct vmi__vcpu *v = &vm->vcpus[i];

        if (!VMI__FAULT_IS(vm, RESET_KEEPS_RECORDS))
            vcpu_forget(vm, i);
        if (i == keep)
            continue;
        if ((v->started || v->starting) && stopped)
            stopped[i / 64] |= UINT64_C(1) << (i % 64);
        v->stops++;
        v->started = 0;
        v->starting = 0;
    }
    vm->vcpus[keep].started = 1;
    for (uint32_t id = 0; id < vm->cfg.timer_count; id++)
        if (vm->timers[id].heap_pos != VMI__NOT_ARMED)
            vmi__timer_remove(vm, id);
    vm->pin_count = 0;
    vm->lifecycle = VMI_LIFECYCLE_INITIAL;
    vm->version = 0;
    vm->features = 0;
    vm->shutdown_reason = 0;
    vm->shutdown_status = 0;
}

/*
 * Give every released extent back (ops->reclaim).  Called with the VM lock
 * and mem_lock held (lock order: mem_lock, then the VM lock).  0, or
 * -VMI_E_LIMIT with the extents not yet given back still recorded.
 */
static int64_t reclaim_all(struct vmi_host_vm *vm)
{
    if (!vm->extent_count)
        return 0;
    return vmi__mem_reclaim_range(vm, 0, UINT64_MAX);
}

int64_t vmi__hc_query(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;

    if (c->call->args[0] && !VMI__FAULT_IS(vm, QUERY_FLAGS_IGNORED))
        return -VMI_E_INVAL;
    /* QUERY as a call of the negotiated state only (VMI-VER-036). */
    if (VMI__FAULT_IS(vm, QUERY_GATED) &&
        vm->lifecycle == VMI_LIFECYCLE_INITIAL)
        return -VMI_E_STATE;
    c->call->rets[0] = (uint64_t)vm->version | (uint64_t)vm->lifecycle << 32;
    c->call->rets[1] = vm->features;
    if (VMI__FAULT_IS(vm, QUERY_FORGETS_FEATURES))
        c->call->rets[1] = 0;
    return 0;
}

int64_t vmi__hc_reset(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t stopped[VMI__KICK_WORDS] = {0};
    int64_t ret;

    if (c->call->args[0] && !VMI__FAULT_IS(vm, RESET_FLAGS_IGNORED))
        return -VMI_E_INVAL;
    if (!vm->ops->stop_vcpu)
        return -VMI_E_NOSYS; /* an embedder that cannot stop vCPUs */
    vmi__unlock(vm);
    pthread_mutex_lock(&vm->mem_lock);
    vmi__lock(vm);
    ret = reclaim_all(vm);
    if (ret && VMI__FAULT_IS(vm, RESET_IGNORES_RECLAIM_FAILURE))
        ret = 0;
    if (!ret) {
        reset_state(vm, c->vcpu, stopped);
        c->timers_changed = 1;
        for (uint32_t w = 0; w < VMI__KICK_WORDS; w++)
            c->stop[w] |= stopped[w];
    }
    vmi__unlock(vm);
    pthread_mutex_unlock(&vm->mem_lock);
    vmi__lock(vm);
    return ret;
}

int64_t vmi__hc_vcpu_stop(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint32_t running = 0;

    if (c->call->args[0] && !VMI__FAULT_IS(vm, VCPU_STOP_FLAGS_IGNORED))
        return -VMI_E_INVAL;
    if (!vm->ops->stop_vcpu)
        return -VMI_E_NOSYS; /* an embedder that cannot stop vCPUs */
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++)
        running += vm->vcpus[i].started || vm->vcpus[i].starting;
    if (running <= 1 && !VMI__FAULT_IS(vm, LAST_VCPU_STOPS))
        return -VMI_E_BUSY;
    if (!VMI__FAULT_IS(vm, VCPU_STOP_KEEPS_RECORDS))
        vcpu_forget(vm, c->vcpu);
    vm->vcpus[c->vcpu].started = 0;
    vm->vcpus[c->vcpu].stops++;
    c->call->action = VMI_HOST_STOP;
    return 0;
}

VMI_HOST_API int vmi_host_reset(struct vmi_host_vm *vm)
{
    int64_t ret;

    if (!vm)
        return -VMI_E_INVAL;
    if (VMI__FAULT_IS(vm, PLATFORM_RESET_IGNORED))
        return 0; /* before draft 2: the interface did not see a reset */
    pthread_mutex_lock(&vm->mem_lock);
    vmi__lock(vm);
    ret = reclaim_all(vm);
    reset_state(vm, 0, NULL);
    vmi__unlock(vm);
    pthread_mutex_unlock(&vm->mem_lock);
    if (vm->ops->timers_changed)
        vm->ops->timers_changed(vm->ctx);
    return (int)ret;
}

VMI_HOST_API int vmi_host_vcpu_platform(struct vmi_host_vm *vm, uint32_t vcpu,
                                        int started)
{
    if (!vm || vcpu >= vm->cfg.vcpu_count)
        return -VMI_E_INVAL;
    vmi__lock(vm);
    if (!started && !VMI__FAULT_IS(vm, INIT_KEEPS_RECORDS))
        vcpu_forget(vm, vcpu);
    if (!started)
        vm->vcpus[vcpu].stops++;
    vm->vcpus[vcpu].started = started ? 1 : 0;
    vm->vcpus[vcpu].starting = 0;
    vmi__unlock(vm);
    return 0;
}
