/* SPDX-License-Identifier: MIT */
/*
 * smp.c: multi-vCPU guest: starts every vCPU, exchanges IPIs (EVENT_SEND
 * with interrupt upcalls), checks that clock readings are monotonic
 * across vCPUs, flushes a remapped page on remote vCPUs (TLB_FLUSH), and
 * releases and reclaims memory; vCPU 0 also registers a steal-time
 * record and reports it.  Exits 0 when every check passed; panics
 * (vmi-run exit 122) naming the failed check otherwise.
 *
 * Command line: rounds=N (IPI round trips per vCPU, default 20),
 * release_mib=N (memory released and reclaimed, default 16).
 */
#include "rt.h"

#define CLOCK_ITERS 300u

enum { CMD_NONE, CMD_PING, CMD_CLOCK, CMD_TLB_READ, CMD_TLB_REREAD };

static struct {
    volatile uint32_t cmd[RT_MAX_CPUS];
    volatile uint32_t done[RT_MAX_CPUS];
    volatile uint64_t seen[RT_MAX_CPUS];
    volatile uint64_t pings[RT_MAX_CPUS]; /* IPIs received by each vCPU */
    volatile uint64_t published;          /* largest clock value seen */
    volatile uint32_t clock_errors;
    volatile uint64_t clock_error_ns;
} sh;

static uint64_t tlb_va;
static struct vmi_steal_record steal __attribute__((aligned(64)));
static struct vmi_tlb_range tlb_range __attribute__((aligned(16)));
static struct vmi_mem_extent extent __attribute__((aligned(16)));
static uint64_t page_a[512] __attribute__((aligned(4096)));
static uint64_t page_b[512] __attribute__((aligned(4096)));

/* Upcall: count IPIs; vCPUs other than 0 answer each one with an IPI. */
static void on_event(struct rt_cpu *cpu, uint64_t events)
{
    if (!(events & (1ull << VMI_EVENT_IPI)))
        return;
    sh.pings[cpu->id]++;
    if (cpu->id != 0)
        vmi_guest_event_send(&rt_vmi, 0, 1, VMI_EVENT_IPI, 0);
}

/*
 * Wait until cond() holds, sleeping in BLOCK between events.  Interrupts
 * are off from the check to BLOCK, so an event that arrives in between
 * stays pending and BLOCK returns at once; its upcall runs after sti.
 */
static void wait_event_until(volatile uint64_t *ctr, uint64_t target)
{
    uint32_t reason;

    for (;;) {
        rt_irq_disable();
        if (*ctr >= target)
            break;
        vmi_guest_block(&rt_vmi, VMI_DEADLINE_NONE, &reason);
        rt_irq_enable_sync();
    }
    rt_irq_enable_sync();
}

static void clock_check(uint32_t id)
{
    for (unsigned i = 0; i < CLOCK_ITERS; i++) {
        uint64_t p = __atomic_load_n(&sh.published, __ATOMIC_ACQUIRE);
        uint64_t t = rt_now();

        if (t < p) {
            __atomic_add_fetch(&sh.clock_errors, 1, __ATOMIC_RELAXED);
            sh.clock_error_ns = p - t;
        }
        while (p < t &&
               !__atomic_compare_exchange_n(&sh.published, &p, t, 0,
                                            __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
            ;
    }
    (void)id;
}

static void ap_main(struct rt_cpu *cpu, void *arg)
{
    uint32_t id = cpu->id, reason;

    (void)arg;
    rt_irq_enable();
    for (;;) {
        uint32_t cmd;

        rt_irq_disable();
        cmd = sh.cmd[id];
        if (cmd == CMD_NONE) {
            /* Commands come with an IPI: sleep until one. */
            vmi_guest_block(&rt_vmi, VMI_DEADLINE_NONE, &reason);
            rt_irq_enable_sync();
            continue;
        }
        rt_irq_enable();
        sh.cmd[id] = CMD_NONE;
        if (cmd == CMD_CLOCK)
            clock_check(id);
        else if (cmd == CMD_TLB_READ || cmd == CMD_TLB_REREAD)
            sh.seen[id] = *(volatile uint64_t *)tlb_va;
        __atomic_store_n(&sh.done[id], cmd, __ATOMIC_RELEASE);
    }
}

/* Run cmd on every AP (sent with an IPI that also counts as a ping). */
static void run_on_aps(uint32_t n, uint32_t cmd)
{
    for (uint32_t i = 1; i < n; i++) {
        sh.done[i] = CMD_NONE;
        sh.cmd[i] = cmd;
    }
    for (uint32_t i = 1; i < n; i++) {
        uint64_t want = sh.pings[0] + 1;
        int rc = vmi_guest_event_send(&rt_vmi, 0, 1ull << i, VMI_EVENT_IPI, 0);

        if (rc)
            rt_panic("smp: EVENT_SEND to vCPU %u: %s", i,
                     vmi_guest_status_name(rc));
        wait_event_until(&sh.pings[0], want); /* the AP's answer */
    }
    for (uint32_t i = 1; i < n; i++)
        while (__atomic_load_n(&sh.done[i], __ATOMIC_ACQUIRE) != cmd)
            rt_cpu_relax();
}

int kmain(const struct rt_boot *boot)
{
    const uint64_t want = VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER |
                          VMI_F_VCPU | VMI_F_TLB | VMI_F_MEM | VMI_F_STEAL;
    uint64_t granted = 0, rounds = 20, release_mib = 16, t0;
    uint32_t n = boot->vcpu_count;
    int rc;

    if (!boot->vmi) {
        rt_printf("smp: OpenVMI absent\n");
        return 1;
    }
    rt_cmdline_u64(boot->cmdline, "rounds", &rounds);
    rt_cmdline_u64(boot->cmdline, "release_mib", &release_mib);
    rc = rt_vmi_setup(want, &granted);
    if (rc || granted != want)
        rt_panic("smp: setup: %s, granted 0x%lx of 0x%lx",
                 vmi_guest_status_name(rc), granted, want);
    if (n > RT_MAX_CPUS)
        n = RT_MAX_CPUS;
    rc = vmi_guest_steal_register(&rt_this_cpu()->v, &steal);
    if (rc)
        rt_panic("smp: STEAL_REGISTER: %s", vmi_guest_status_name(rc));
    rt_set_event_handler(on_event);
    rt_irq_enable();
    t0 = rt_now();

    /* 1. Start every vCPU. */
    for (uint32_t i = 1; i < n; i++) {
        rc = rt_start_cpu(i, ap_main, 0);
        if (rc)
            rt_panic("smp: VCPU_START %u: %s", i, vmi_guest_status_name(rc));
    }
    for (uint32_t i = 1; i < n; i++)
        while (!__atomic_load_n(&rt_cpu(i)->online, __ATOMIC_ACQUIRE))
            rt_cpu_relax();
    rt_printf("smp: %u vCPUs online\n", n);

    /* 2. IPI round trips: vCPU 0 pings each AP, which answers. */
    for (uint64_t r = 0; r < rounds; r++)
        run_on_aps(n, CMD_PING);
    for (uint32_t i = 1; i < n; i++)
        if (sh.pings[i] < rounds)
            rt_panic("smp: vCPU %u received %lu of %lu IPIs", i, sh.pings[i],
                     rounds);
    rt_printf("smp: IPIs: %lu round trips per vCPU, vCPU 0 got %lu answers "
              "by upcall\n",
              rounds, sh.pings[0]);

    /* 3. Clock monotonic across vCPUs, all reading at once. */
    for (uint32_t i = 1; i < n; i++) {
        sh.done[i] = CMD_NONE;
        sh.cmd[i] = CMD_CLOCK;
    }
    for (uint32_t i = 1; i < n; i++)
        vmi_guest_event_send(&rt_vmi, 0, 1ull << i, VMI_EVENT_IPI, 0);
    clock_check(0);
    for (uint32_t i = 1; i < n; i++)
        while (__atomic_load_n(&sh.done[i], __ATOMIC_ACQUIRE) != CMD_CLOCK)
            rt_cpu_relax();
    if (sh.clock_errors)
        rt_panic("smp: clock went back %u times across vCPUs (last by %lu ns)",
                 sh.clock_errors, sh.clock_error_ns);
    rt_printf("smp: clock: %u reads per vCPU, monotonic across vCPUs\n",
              CLOCK_ITERS);

    /* 4. Remote TLB flush of a remapped page. */
    for (unsigned i = 0; i < 512; i++) {
        page_a[i] = 0xAAAAAAAAAAAAAAAAull;
        page_b[i] = 0xBBBBBBBBBBBBBBBBull;
    }
    tlb_va = rt_map_page(0, (uint64_t)(uintptr_t)page_a, VMI_PTE_WRITE);
    run_on_aps(n, CMD_TLB_READ);
    for (uint32_t i = 1; i < n; i++)
        if (sh.seen[i] != page_a[0])
            rt_panic("smp: vCPU %u read 0x%lx through the window, expected "
                     "0x%lx",
                     i, sh.seen[i], page_a[0]);
    rt_map_page(0, (uint64_t)(uintptr_t)page_b, VMI_PTE_WRITE);
    tlb_range.gva = tlb_va;
    tlb_range.pages = 1;
    rc = vmi_guest_tlb_flush(&rt_vmi, 0, 0, &tlb_range, 1,
                             VMI_VCPUSET_ALL | VMI_VCPUSET_EXCLUDE_SELF);
    if (rc)
        rt_panic("smp: TLB_FLUSH: %s", vmi_guest_status_name(rc));
    run_on_aps(n, CMD_TLB_REREAD);
    for (uint32_t i = 1; i < n; i++)
        if (sh.seen[i] != page_b[0])
            rt_panic("smp: vCPU %u still sees the old page after TLB_FLUSH "
                     "(0x%lx)",
                     i, sh.seen[i]);
    rt_printf("smp: TLB: remapped page seen by %u remote vCPU(s) after "
              "TLB_FLUSH\n",
              n - 1);

    /* 5. Release and reclaim memory above the image. */
    if (release_mib) {
        uint64_t base = (boot->image_end + 0x1FFFFF) & ~0x1FFFFFull;
        uint64_t len = release_mib << 20, released_nz = 0;
        uint32_t done = 0;

        if (base + len > boot->mem_bytes)
            rt_panic("smp: %lu MiB at 0x%lx do not fit in %lu MiB of RAM",
                     release_mib, base, boot->mem_bytes >> 20);
        for (uint64_t a = base; a < base + len; a += 4096)
            *(volatile uint64_t *)(uintptr_t)a = a | 1;
        extent.gpa = base;
        extent.pages = len / 4096;
        rc = vmi_guest_mem_release(&rt_vmi, &extent, 1, &done);
        if (rc || done != 1)
            rt_panic("smp: MEM_RELEASE: %s (%u done)",
                     vmi_guest_status_name(rc), done);
        rc = vmi_guest_mem_reclaim(&rt_vmi, &extent, 1, &done);
        if (rc || done != 1)
            rt_panic("smp: MEM_RECLAIM: %s (%u done)",
                     vmi_guest_status_name(rc), done);
        for (uint64_t a = base; a < base + len; a += 4096)
            if (*(volatile uint64_t *)(uintptr_t)a != 0)
                released_nz++;
        if (released_nz)
            rt_panic("smp: %lu reclaimed pages do not read zero", released_nz);
        rt_printf("smp: memory: released and reclaimed %lu MiB at 0x%lx; "
                  "reclaimed pages read zero\n",
                  release_mib, base);
    }
    rt_printf("smp: all checks passed in %lu us (vCPU 0 steal %lu us)\n",
              (rt_now() - t0) / 1000,
              vmi_guest_steal_read(&rt_this_cpu()->v) / 1000);
    return 0;
}
