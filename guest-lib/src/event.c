/* SPDX-License-Identifier: MIT */
/* event.c: one-shot timers, the event record, IPIs and BLOCK. */
#include "internal.h"

int vmi_guest_timer_arm(const struct vmi_guest *g, uint32_t timer,
                        uint64_t deadline_ns, uint32_t vcpu, uint32_t event)
{
    return (int)vmi__call5(g, VMI_HC_TIMER_ARM, timer, deadline_ns, vcpu, event,
                           0, 0);
}

int vmi_guest_timer_cancel(const struct vmi_guest *g, uint32_t timer,
                           int *was_armed)
{
    uint64_t rets[VMI_HC_MAX_RETS];
    int64_t st;

    st = vmi__call5(g, VMI_HC_TIMER_CANCEL, timer, 0, 0, 0, 0, rets);
    if (st == 0 && was_armed)
        *was_armed = rets[0] != 0;
    return (int)st;
}

int vmi_guest_event_register(struct vmi_guest_vcpu *v,
                             struct vmi_event_record *rec, uint32_t vector)
{
    uint64_t gpa = rec ? vmi__phys(v->g, rec) : VMI_GPA_NONE;
    int64_t st;

    st = vmi__call5(v->g, VMI_HC_EVENT_REGISTER, gpa, vector, 0, 0, 0, 0);
    if (st == 0) {
        v->events = rec;
        v->vector = rec ? vector : 0;
    }
    return (int)st;
}

uint64_t vmi_guest_event_take(struct vmi_guest_vcpu *v)
{
    struct vmi_event_record *rec = v->events;
    uint64_t mask, old;

    if (!rec)
        return 0;
    /* Only the guest writes mask, so a plain read sees its latest value. */
    mask = *(volatile uint64_t *)&rec->mask;
    /*
     * Take the unmasked bits with one fetch-and-clear before the caller
     * handles any (VMI-EVT-050): a bit the host sets again meanwhile stays
     * for the next take.  Masked ones stay pending for later.  __sync (a
     * full barrier) rather than __atomic: on i386 GCC inlines the former as
     * lock cmpxchg8b but calls libatomic for the latter.
     */
    old = __sync_fetch_and_and(&rec->pending, mask);
    return old & ~mask;
}

void vmi_guest_event_mask(struct vmi_guest_vcpu *v, uint64_t bits)
{
    if (v->events)
        __sync_fetch_and_or(&v->events->mask, bits);
}

uint64_t vmi_guest_event_unmask(struct vmi_guest_vcpu *v, uint64_t bits)
{
    struct vmi_event_record *rec = v->events;

    if (!rec)
        return 0;
    /*
     * The host raises no upcall for a bit that went pending while masked,
     * so re-read pending after the unmask.  The full-barrier AND orders the
     * mask store before the pending load (store-load needs a full barrier;
     * VMI-EVT-054, the guest's half of the host's VMI-EVT-051).
     * The load may tear on 32-bit CPUs; every bit is still one the host
     * set after the unmask or earlier, which is all the recheck needs.
     */
    __sync_fetch_and_and(&rec->mask, ~bits);
    return *(volatile uint64_t *)&rec->pending & bits;
}

int vmi_guest_event_send(const struct vmi_guest *g, uint32_t vcpu_base,
                         uint64_t vcpu_mask, uint32_t event, uint32_t flags)
{
    return (int)vmi__call5(g, VMI_HC_EVENT_SEND, vcpu_base, vcpu_mask, event,
                           flags, 0, 0);
}

int vmi_guest_block(const struct vmi_guest *g, uint64_t deadline_ns,
                    uint32_t *reason)
{
    uint64_t rets[VMI_HC_MAX_RETS];
    int64_t st;

    st = vmi__call5(g, VMI_HC_BLOCK, deadline_ns, 0, 0, 0, 0, rets);
    if (st == 0 && reason)
        *reason = (uint32_t)rets[0];
    return (int)st;
}

int vmi_guest_block_arm(const struct vmi_guest *g, uint64_t deadline_ns,
                        uint32_t timer, uint32_t event, uint32_t *reason)
{
    uint64_t rets[VMI_HC_MAX_RETS];
    int64_t st;

    st = vmi__call5(g, VMI_HC_BLOCK, deadline_ns, VMI_BLOCK_ARM_TIMER, timer,
                    event, 0, rets);
    if (st == 0 && reason)
        *reason = (uint32_t)rets[0];
    return (int)st;
}
