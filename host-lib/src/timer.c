/* SPDX-License-Identifier: MIT */
/* timer.c: one-shot timers in a min-heap by deadline (O(log n) per op). */
#include "vm.h"

/* Heap order: deadline, then timer id, so equal deadlines fire in id order. */
static int before(const struct vmi_host_vm *vm, uint32_t a, uint32_t b)
{
    const struct vmi__timer *ta = &vm->timers[a], *tb = &vm->timers[b];

    if (ta->deadline != tb->deadline)
        return ta->deadline < tb->deadline;
    return a < b;
}

static void place(struct vmi_host_vm *vm, uint32_t pos, uint32_t id)
{
    vm->heap[pos] = id;
    vm->timers[id].heap_pos = pos;
}

static void sift_up(struct vmi_host_vm *vm, uint32_t pos)
{
    uint32_t id = vm->heap[pos];

    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!before(vm, id, vm->heap[parent]))
            break;
        place(vm, pos, vm->heap[parent]);
        pos = parent;
    }
    place(vm, pos, id);
}

static void sift_down(struct vmi_host_vm *vm, uint32_t pos)
{
    uint32_t id = vm->heap[pos];

    for (;;) {
        uint32_t l = 2 * pos + 1, r = l + 1, m = pos;
        uint32_t best = id;
        if (l < vm->heap_len && before(vm, vm->heap[l], best)) {
            m = l;
            best = vm->heap[l];
        }
        if (r < vm->heap_len && before(vm, vm->heap[r], best))
            m = r;
        if (m == pos)
            break;
        place(vm, pos, vm->heap[m]);
        pos = m;
    }
    place(vm, pos, id);
}

/* Disarm timer `id` if armed.  Locked. */
void vmi__timer_remove(struct vmi_host_vm *vm, uint32_t id)
{
    uint32_t pos = vm->timers[id].heap_pos;
    uint32_t last;

    if (pos == VMI__NOT_ARMED)
        return;
    vm->timers[id].heap_pos = VMI__NOT_ARMED;
    last = vm->heap[--vm->heap_len];
    if (pos == vm->heap_len)
        return;
    place(vm, pos, last);
    sift_down(vm, pos);
    sift_up(vm, vm->timers[last].heap_pos);
}

/* Arm timer `id` with the deadline already stored.  Locked, not armed. */
void vmi__timer_insert(struct vmi_host_vm *vm, uint32_t id)
{
    place(vm, vm->heap_len++, id);
    sift_up(vm, vm->heap_len - 1);
}

static uint64_t due_at(const struct vmi_host_vm *vm, uint64_t deadline)
{
    /* The injected fault fires 1 ms early. */
    if (VMI__FAULT_IS(vm, TIMER_EARLY))
        return deadline > 1000000 ? deadline - 1000000 : 0;
    return deadline;
}

/*
 * Arm timer `id` (checked) for `vcpu` (checked) with `deadline` and
 * `event` (checked), replacing any earlier arming: TIMER_ARM's effect, and
 * BLOCK's with VMI_BLOCK_ARM_TIMER (VMI-EVT-061).  Locked.
 */
int64_t vmi__timer_arm(struct vmi__ctx *c, uint32_t id, uint64_t deadline,
                       uint32_t vcpu, uint32_t event)
{
    struct vmi_host_vm *vm = c->vm;
    struct vmi__timer *t = &vm->timers[id];
    uint64_t old_first =
        vm->heap_len ? vm->timers[vm->heap[0]].deadline : VMI_DEADLINE_NONE;

    /* Re-arming replaces. */
    vmi__timer_remove(vm, id);
    t->deadline = deadline;
    t->vcpu = vcpu;
    t->event = event;
    if (due_at(vm, deadline) <= vmi__clock_now(vm)) {
        if (VMI__FAULT_IS(vm, PAST_DEADLINE_ERROR))
            return -VMI_E_INVAL;
        /* Past deadline: pending before the call returns, never an error. */
        vmi__event_set(c, vcpu, event);
        return 0;
    }
    vmi__timer_insert(vm, id);
    if (deadline < old_first)
        c->timers_changed = 1;
    return 0;
}

int64_t vmi__hc_timer_arm(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    const uint64_t *a = c->call->args;

    if (a[4])
        return -VMI_E_INVAL;
    if (a[0] >= vm->cfg.timer_count || a[2] >= vm->cfg.vcpu_count ||
        a[3] >= VMI_EVENT_COUNT)
        return -VMI_E_RANGE;
    return vmi__timer_arm(c, (uint32_t)vmi__nospec(a[0], vm->cfg.timer_count),
                          a[1], (uint32_t)vmi__nospec(a[2], vm->cfg.vcpu_count),
                          (uint32_t)a[3]);
}

int64_t vmi__hc_timer_cancel(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t id = c->call->args[0];
    int armed;

    if (id >= vm->cfg.timer_count)
        return -VMI_E_RANGE;
    id = vmi__nospec(id, vm->cfg.timer_count);
    armed = vm->timers[id].heap_pos != VMI__NOT_ARMED;
    if (!armed && VMI__FAULT_IS(vm, CANCEL_NOT_IDEMPOTENT))
        return -VMI_E_NOENT;
    vmi__timer_remove(vm, (uint32_t)id);
    c->call->rets[0] = (uint64_t)armed;
    return 0;
}

VMI_HOST_API uint64_t vmi_host_next_deadline(struct vmi_host_vm *vm)
{
    uint64_t d = VMI_DEADLINE_NONE;

    vmi__lock(vm);
    if (vm->heap_len)
        d = due_at(vm, vm->timers[vm->heap[0]].deadline);
    /* A record that must be rewritten soon counts too (VMI-CLK-042). */
    d = vmi__min64(d, vmi__clock_refresh_due(vm));
    vmi__unlock(vm);
    return d;
}

VMI_HOST_API unsigned vmi_host_timers_fire(struct vmi_host_vm *vm,
                                           unsigned budget)
{
    struct vmi__ctx c;
    unsigned fired = 0;
    uint64_t now;

    vmi__ctx_init(&c, vm, 0, NULL);
    vmi__lock(vm);
    now = vmi__clock_now(vm);
    /* After SHUTDOWN nothing is delivered any more. */
    while (fired < budget && vm->heap_len &&
           vm->lifecycle != VMI_LIFECYCLE_SHUTDOWN) {
        uint32_t id = vm->heap[0];
        struct vmi__timer *t = &vm->timers[id];
        /* Never early: only deadlines the VM clock has reached. */
        if (due_at(vm, t->deadline) > now)
            break;
        vmi__timer_remove(vm, id);
        vmi__event_set(&c, t->vcpu, t->event);
        fired++;
    }
    /* Records due for a rewrite: their vCPUs' threads make it. */
    vmi__clock_refresh_kicks(&c);
    vmi__unlock(vm);
    vmi__ctx_finish(&c);
    return fired;
}
