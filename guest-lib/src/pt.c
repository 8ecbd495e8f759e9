/* SPDX-License-Identifier: MIT */
/* pt.c: the page-table profile: batched PTE updates, pin and unpin. */
#include "internal.h"

void vmi_guest_pt_batch_init(struct vmi_guest_pt_batch *b,
                             const struct vmi_guest *g,
                             struct vmi_pt_update *buf, uint32_t cap)
{
    b->g = g;
    b->buf = buf;
    b->cap = cap;
    b->n = 0;
    b->last.completed = 0;
    b->last.status = 0;
    b->last.calls = 0;
    b->last.reserved0 = 0;
}

int vmi_guest_pt_flush(struct vmi_guest_pt_batch *b,
                       struct vmi_guest_pt_result *res)
{
    uint32_t done = 0, calls = 0;
    int st = 0;

    if (b->n)
        st = vmi__batch(b->g, VMI_HC_PT_UPDATE, b->buf, b->n, &done, &calls);
    b->last.completed = done;
    b->last.status = st;
    b->last.calls = calls;
    b->last.reserved0 = 0;
    b->n = 0;
    if (res) {
        res->completed = done;
        res->status = st;
        res->calls = calls;
        res->reserved0 = 0;
    }
    return st;
}

int vmi_guest_pt_queue(struct vmi_guest_pt_batch *b, uint64_t pte_gpa,
                       uint64_t value)
{
    int st;

    if (b->cap == 0)
        return -VMI_E_INVAL;
    if (b->n == b->cap) {
        st = vmi_guest_pt_flush(b, 0);
        /* On failure the new update is not queued: the caller decides. */
        if (st)
            return st;
    }
    b->buf[b->n].pte_gpa = pte_gpa;
    b->buf[b->n].value = value;
    b->n++;
    return 0;
}

int vmi_guest_pt_pin(const struct vmi_guest *g, uint64_t table_gpa,
                     uint32_t level, uint32_t *bad_index)
{
    uint64_t rets[VMI_HC_MAX_RETS];
    int64_t st;

    st = vmi__call5(g, VMI_HC_PT_PIN, table_gpa, level, 0, 0, 0, rets);
    if (st && bad_index)
        *bad_index = (uint32_t)rets[0];
    return (int)st;
}

int vmi_guest_pt_unpin(const struct vmi_guest *g, uint64_t table_gpa)
{
    return (int)vmi__call5(g, VMI_HC_PT_UNPIN, table_gpa, 0, 0, 0, 0, 0);
}
