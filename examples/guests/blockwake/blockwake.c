/* SPDX-License-Identifier: MIT */
/*
 * blockwake.c: BLOCK ends for an interrupt that is not an upcall
 * (VMI-EVT-043), in the order VMI-EVT-044 gives.  The interrupt is the
 * local APIC timer, which a kernel idling in BLOCK with interrupts
 * disabled (as in STI; HLT) must still wake for:
 *   1. the timer fires during BLOCK: BLOCK returns VMI_WAKE_INTERRUPT,
 *      after the timer's delay and long before the BLOCK deadline, and the
 *      interrupt is taken once the guest enables interrupts;
 *   2. the timer fired before BLOCK: BLOCK returns VMI_WAKE_INTERRUPT at
 *      once;
 *   3. an unmasked event is pending too: VMI_WAKE_EVENT wins;
 *   4. nothing comes: VMI_WAKE_DEADLINE.
 * Needs a local APIC (QEMU; vmi-run only with --kernel-irqchip).  Exits 0
 * when every check passed; panics (status 122) naming the failed check.
 */
#include "rt.h"

#define WANT (VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER)
#define VECTOR 0x40u
#define MS UINT64_C(1000000)
#define LONG_WAIT (10000 * MS) /* the BLOCK deadline that must not pass */

/* BLOCK until the reason is not SPURIOUS (VMI-EVT-045 allows those). */
static uint32_t block_until(uint64_t deadline)
{
    uint32_t reason = 0;
    int rc;

    do {
        rc = vmi_guest_block(&rt_vmi, deadline, &reason);
        if (rc)
            rt_panic("blockwake: BLOCK: %s", vmi_guest_status_name(rc));
    } while (reason == VMI_WAKE_SPURIOUS);
    return reason;
}

static void spin_ns(uint64_t ns)
{
    uint64_t until = rt_now() + ns;

    while (rt_now() < until)
        __asm__ volatile("pause");
}

/* Enable interrupts for a moment: the pending ones are taken. */
static uint64_t take_interrupts(void)
{
    struct rt_cpu *cpu = rt_this_cpu();
    uint64_t before = cpu->stray_irqs;

    rt_irq_enable_sync();
    spin_ns(MS);
    rt_irq_disable();
    return cpu->stray_irqs - before;
}

static const char *name(uint32_t reason)
{
    switch (reason) {
    case VMI_WAKE_EVENT:
        return "EVENT";
    case VMI_WAKE_DEADLINE:
        return "DEADLINE";
    case VMI_WAKE_INTERRUPT:
        return "INTERRUPT";
    case VMI_WAKE_SPURIOUS:
        return "SPURIOUS";
    }
    return "unknown";
}

static void expect(const char *what, uint32_t reason, uint32_t want)
{
    if (reason != want)
        rt_panic("blockwake: %s: BLOCK woke with %s, expected %s", what,
                 name(reason), name(want));
}

int kmain(const struct rt_boot *boot)
{
    uint64_t granted = 0, t0, dt, n;
    uint32_t reason;
    int rc;

    if (!boot->vmi)
        rt_panic("blockwake: needs OpenVMI");
    rc = rt_vmi_setup(WANT, &granted);
    if (rc || granted != WANT)
        rt_panic("blockwake: setup: %s, granted 0x%lx",
                 vmi_guest_status_name(rc), granted);
    if (!rt_has_lapic())
        rt_panic("blockwake: needs a local APIC");
    rt_catch_all_interrupts();

    /* 1. The local APIC timer fires during BLOCK. */
    t0 = rt_now();
    rt_lapic_timer_oneshot(VECTOR, (uint32_t)(20 * MS));
    reason = block_until(t0 + LONG_WAIT);
    dt = rt_now() - t0;
    expect("timer during BLOCK", reason, VMI_WAKE_INTERRUPT);
    if (dt < 19 * MS || dt >= LONG_WAIT)
        rt_panic("blockwake: woke after %lu us for a 20 ms APIC timer",
                 dt / 1000);
    if ((n = take_interrupts()) != 1)
        rt_panic("blockwake: %lu APIC timer interrupts taken, expected 1", n);
    rt_printf("blockwake: APIC timer during BLOCK: INTERRUPT after %lu us, "
              "interrupt taken after BLOCK\n",
              dt / 1000);

    /* 2. The timer fired before BLOCK, interrupts disabled. */
    rt_lapic_timer_oneshot(VECTOR, (uint32_t)MS);
    spin_ns(3 * MS);
    t0 = rt_now();
    reason = block_until(t0 + LONG_WAIT);
    dt = rt_now() - t0;
    expect("timer pending at BLOCK", reason, VMI_WAKE_INTERRUPT);
    if (dt >= LONG_WAIT / 2)
        rt_panic("blockwake: a pending interrupt kept BLOCK %lu us", dt / 1000);
    if ((n = take_interrupts()) != 1)
        rt_panic("blockwake: %lu interrupts taken, expected 1", n);
    rt_printf("blockwake: APIC timer pending at BLOCK: INTERRUPT after %lu "
              "us\n",
              dt / 1000);

    /* 3. An unmasked event pending as well: EVENT wins (VMI-EVT-044). */
    t0 = rt_now();
    rc = vmi_guest_timer_arm(&rt_vmi, 0, t0 + MS, 0, VMI_EVENT_TIMER);
    if (rc)
        rt_panic("blockwake: TIMER_ARM: %s", vmi_guest_status_name(rc));
    rt_lapic_timer_oneshot(VECTOR, (uint32_t)MS);
    spin_ns(3 * MS);
    reason = block_until(rt_now() + LONG_WAIT);
    expect("event and interrupt pending", reason, VMI_WAKE_EVENT);
    if (!(vmi_guest_event_take(&rt_this_cpu()->v) & (1ull << VMI_EVENT_TIMER)))
        rt_panic("blockwake: EVENT without the timer's event pending");
    /*
     * Take the APIC timer's interrupt before case 4.  The host may deliver
     * it late (QEMU fires the APIC timer from its main loop, which a loaded
     * host runs late), so wait for it rather than for a fixed time.
     */
    t0 = rt_now();
    for (n = 0; n == 0 && rt_now() - t0 < 2000 * MS;)
        n = take_interrupts();
    if (n != 1)
        rt_panic("blockwake: %lu APIC timer interrupts taken in case 3, "
                 "expected 1",
                 n);
    rt_printf("blockwake: event and interrupt pending: EVENT\n");

    /* 4. Nothing: the deadline. */
    t0 = rt_now();
    reason = block_until(t0 + 2 * MS);
    expect("nothing pending", reason, VMI_WAKE_DEADLINE);
    rt_printf("blockwake: nothing pending: DEADLINE after %lu us\n",
              (rt_now() - t0) / 1000);
    rt_printf("blockwake: all checks passed\n");
    return 0;
}
