/* SPDX-License-Identifier: MIT */
/*
 * flood.c: a guest that ignores the console rate limit: it issues
 * CONSOLE_WRITE directly (guest-lib's writer would wait on VMI_E_AGAIN) and
 * retries at once, forever.
 */
#include "rt.h"

static char line[4096];

int kmain(const struct rt_boot *boot)
{
    uint64_t args[VMI_HC_MAX_ARGS] = {0}, rets[VMI_HC_MAX_RETS];

    (void)boot;
    for (unsigned i = 0; i < sizeof(line); i++)
        line[i] = (char)('a' + i % 26);
    line[sizeof(line) - 1] = '\n';
    args[0] = (uint64_t)(uintptr_t)line; /* identity mapped */
    args[1] = sizeof(line);
    for (;;)
        vmi_guest_call(&rt_vmi, VMI_HC_CONSOLE_WRITE, args, rets);
}
