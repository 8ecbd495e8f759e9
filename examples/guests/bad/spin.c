/* SPDX-License-Identifier: MIT */
/* spin.c: a guest that never ends (for vmi-run's --timeout test). */
#include "rt.h"

int kmain(const struct rt_boot *boot)
{
    (void)boot;
    rt_printf("bad_spin: spinning forever\n");
    for (;;)
        __asm__ volatile("pause");
}
