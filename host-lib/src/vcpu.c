/* SPDX-License-Identifier: MIT */
/* vcpu.c: VCPU_START. */
#include "vm.h"

int64_t vmi__hc_vcpu_start(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t id = c->call->args[0];
    uint64_t gpa = c->call->args[1];
    struct vmi_vcpu_start st;
    struct vmi__vcpu *v;
    uint32_t stops;
    int r;

    if (gpa & (sizeof(st) - 1))
        return -VMI_E_ALIGN;
    /* One copy-in; everything below looks at the copy only. */
    if (vmi__gmem_read(vm, gpa, &st, sizeof(st)))
        return -VMI_E_FAULT;
    if (st.flags || st.reserved0[0] || st.reserved0[1] || st.reserved0[2])
        return -VMI_E_INVAL;
    if (id >= vm->cfg.vcpu_count)
        return -VMI_E_RANGE;
    id = vmi__nospec(id, vm->cfg.vcpu_count);
    v = &vm->vcpus[id];
    if (v->started && VMI__FAULT_IS(vm, VCPU_START_TWICE))
        return 0;
    if (v->started || v->starting)
        return -VMI_E_BUSY;
    v->starting = 1;
    stops = v->stops;
    vmi__unlock(vm);
    r = vm->ops->start_vcpu(vm->ctx, c->vcpu, (uint32_t)id, &st);
    vmi__lock(vm);
    v->starting = 0;
    if (r)
        return -VMI_E_LIMIT;
    /*
     * The new vCPU may already have run, and even stopped again
     * (VCPU_STOP), while the lock was dropped: then it is stopped.
     */
    if (v->stops == stops)
        v->started = 1;
    return 0;
}
