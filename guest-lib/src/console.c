/* SPDX-License-Identifier: MIT */
/* console.c: debug console writes through the bounce page, and shutdown. */
#include "internal.h"

/*
 * The host's rate limit refills over time, and every VMI_E_AGAIN answer is
 * a strict-mode guest violation, so after one the library sleeps (BLOCK
 * with a deadline, allowed without an event record) before it retries:
 * 1 ms, doubling up to 16 ms.  It gives up with -VMI_E_AGAIN after
 * CONSOLE_STALL_MAX answers in a row that accept nothing (a kernel console
 * should drop output rather than hang), or at once when it cannot sleep
 * (CLOCK and EVENTS not granted, e.g. before negotiation).
 */
#define CONSOLE_STALL_MAX 8u
#define CONSOLE_WAIT_MIN_NS UINT64_C(1000000)
#define CONSOLE_WAIT_MAX_NS UINT64_C(16000000)

static int console_wait(const struct vmi_guest *g, uint64_t wait_ns)
{
    const uint64_t need = VMI_F_CLOCK | VMI_F_EVENTS;
    uint64_t now, deadline, flags;
    uint32_t reason;
    int st;

    if ((g->features & need) != need)
        return -VMI_E_AGAIN;
    st = vmi_guest_time_read(g, &now, 0);
    if (st)
        return st;
    if (__builtin_add_overflow(now, wait_ns, &deadline))
        deadline = VMI_DEADLINE_NONE - 1;
    /*
     * Any early return only shortens the wait; the stall count bounds it.
     * Interrupts off around the call, as VMI-EVT-048 wants of every BLOCK
     * (here no wakeup can be lost: the deadline ends the wait anyway).
     */
    flags = vmi__arch_irq_save();
    st = vmi_guest_block(g, deadline, &reason);
    vmi__arch_irq_restore(flags);
    return st;
}

int vmi_guest_console_write_phys(const struct vmi_guest *g, uint64_t gpa,
                                 size_t len)
{
    uint32_t chunk = g->info.max_console ? g->info.max_console : VMI_PAGE_SIZE;
    uint64_t wait_ns = CONSOLE_WAIT_MIN_NS;
    uint32_t stalls = 0;
    uint64_t end;

    if (__builtin_add_overflow(gpa, (uint64_t)len, &end))
        return -VMI_E_FAULT;
    while (gpa < end) {
        uint64_t rets[VMI_HC_MAX_RETS];
        uint64_t n = end - gpa < chunk ? end - gpa : chunk;
        int64_t st;

        st = vmi__call5(g, VMI_HC_CONSOLE_WRITE, gpa, n, 0, 0, 0, rets);
        if (st == 0) {
            gpa += n;
            continue;
        }
        if (st != -VMI_E_AGAIN)
            return (int)st;
        if (rets[0] > n)
            return -VMI_E_INVAL; /* host bug: accepted more than sent */
        gpa += rets[0];
        stalls = rets[0] ? 0 : stalls + 1;
        if (stalls >= CONSOLE_STALL_MAX)
            return -VMI_E_AGAIN;
        st = console_wait(g, wait_ns);
        if (st)
            return (int)st;
        if (wait_ns < CONSOLE_WAIT_MAX_NS)
            wait_ns *= 2;
    }
    return 0;
}

int vmi_guest_console_write(const struct vmi_guest *g, const char *buf,
                            size_t len)
{
    uint32_t chunk = g->info.max_console ? g->info.max_console : VMI_PAGE_SIZE;
    size_t off = 0;

    if (!g->console_page)
        return -VMI_E_STATE;
    /* The bounce page holds one page; never send more from it. */
    if (chunk > VMI_PAGE_SIZE)
        chunk = VMI_PAGE_SIZE;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        int st;

        vmi__copy(g->console_page, buf + off, n);
        st = vmi_guest_console_write_phys(g, g->console_page_gpa, n);
        if (st)
            return st;
        off += n;
    }
    return 0;
}

int vmi_guest_shutdown(const struct vmi_guest *g, uint32_t reason,
                       uint32_t status)
{
    return (int)vmi__call5(g, VMI_HC_SHUTDOWN, reason, status, 0, 0, 0, 0);
}
