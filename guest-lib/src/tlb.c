/* SPDX-License-Identifier: MIT */
/* tlb.c: local and remote TLB flushes. */
#include "internal.h"

void vmi_guest_tlb_flush_local(void)
{
    vmi__arch_tlb_flush_local();
}

int vmi_guest_tlb_flush(const struct vmi_guest *g, uint32_t vcpu_base,
                        uint64_t vcpu_mask, const struct vmi_tlb_range *ranges,
                        uint32_t count, uint32_t flags)
{
    uint32_t win = g->info.max_batch ? g->info.max_batch : count;
    uint32_t off = 0;
    int64_t st;

    if (count == 0 || !ranges)
        return (int)vmi__call5(g, VMI_HC_TLB_FLUSH, vcpu_base, vcpu_mask, 0, 0,
                               flags, 0);
    /* More ranges than one call takes: flushing in parts is equivalent. */
    do {
        uint32_t n = count - off < win ? count - off : win;

        st = vmi__call5(g, VMI_HC_TLB_FLUSH, vcpu_base, vcpu_mask,
                        vmi__phys(g, &ranges[off]), n, flags, 0);
        off += n;
    } while (st == 0 && off < count);
    return (int)st;
}
