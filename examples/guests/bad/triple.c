/* SPDX-License-Identifier: MIT */
/* triple.c: a guest that triple-faults (for vmi-run's crash exit test). */
#include "rt.h"

int kmain(const struct rt_boot *boot)
{
    static const struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty = {0, 0};

    (void)boot;
    rt_printf("bad_triple: loading an empty IDT and faulting\n");
    /* Every exception now faults again: #UD -> #GP -> #DF -> shutdown. */
    __asm__ volatile("lidt %0; ud2" ::"m"(empty));
    return 0;
}
