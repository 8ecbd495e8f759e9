/* SPDX-License-Identifier: MIT */
/* memory.c: memory release and reclaim (ballooning) by extents. */
#include "internal.h"

int vmi_guest_mem_release(const struct vmi_guest *g,
                          const struct vmi_mem_extent *ext, uint32_t count,
                          uint32_t *completed)
{
    return vmi__batch(g, VMI_HC_MEM_RELEASE, ext, count, completed, 0);
}

int vmi_guest_mem_reclaim(const struct vmi_guest *g,
                          const struct vmi_mem_extent *ext, uint32_t count,
                          uint32_t *completed)
{
    return vmi__batch(g, VMI_HC_MEM_RECLAIM, ext, count, completed, 0);
}
