/* SPDX-License-Identifier: MIT */
/*
 * main.c: the bootable conformance image: the suite's cases compiled into a
 * guest kernel (examples/guests/common runtime) that runs on any OpenVMI
 * hypervisor and reports on its console.
 *
 * One boot runs every test: first the tests that need an un-negotiated VM,
 * then the one that negotiates, then the rest.  Results are VMI-CONFORM
 * lines (see vmi_conform.h) ending with the END marker (count and FNV-1a
 * hash of the RESULT lines); the image then powers off with status 0, so
 * a missing END or another exit status means the run did not complete.
 *
 * Secondary vCPUs run a worker loop: the harness posts a function in the
 * vCPU's mailbox and waits for it to finish.  The worker sleeps with short
 * BLOCKs between polls so it does not compete with vCPU 0 for the CPU.
 */
#include <rt.h>

#include "vmi_conform.h"

#define SCRATCH_LEN (1u << 20)
#define WAIT_NS UINT64_C(3000000000)

struct mailbox {
    volatile uint32_t alive;
    volatile uint32_t busy;
    vmi_conform_fn fn;
    struct vmi_conform_t *t;
    void *arg;
};

/* The runtime's secondary entry (start.S): the stack and the argument
 * from the host (RSP and RDI; SP_EL1 and x0). */
void rt_ap_entry(void);

#if defined(__aarch64__)
/*
 * guest-lib's discovery in CPUID shape on aarch64 (arch/aarch64/smccc.c):
 * the Call UID and the information functions answer the leaves the cases
 * read, so they check the SMCCC words against the x86 leaves' rules
 * (VMI-DSC-035 makes them the same values).
 */
void vmi__arch_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
#endif

static uint8_t scratch[SCRATCH_LEN] __attribute__((aligned(4096)));
static struct mailbox mbox[RT_MAX_CPUS];
static volatile uint32_t started[RT_MAX_CPUS];

static void emit(void *ctx, const char *line, size_t len)
{
    char nl = '\n';

    (void)ctx;
    rt_write(line, len);
    rt_write(&nl, 1);
}

static void cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    (void)ctx;
#if defined(__aarch64__)
    vmi__arch_cpuid(leaf, subleaf, regs);
#else
    __asm__ volatile("cpuid"
                     : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]),
                       "=d"(regs[3])
                     : "a"(leaf), "c"(subleaf));
#endif
}

static uint64_t rdtsc(void *ctx)
{
    (void)ctx;
#if defined(__aarch64__)
    uint64_t v;

    /* isb: the counter is not read before the record's version read. */
    __asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v)::"memory");
    return v;
#else
    uint32_t lo, hi;

    /* lfence: the read is not hoisted above the record's version read. */
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
#endif
}

static uint64_t now_ns(void)
{
    uint64_t ns = 0;

    vmi_guest_time_read(&rt_vmi, &ns, 0);
    return ns;
}

/*
 * Let a due upcall in when asked (rt_irq_enable_sync: STI, then an exit
 * where the hypervisor injects), and report what the runtime's handler
 * counted.
 */
static void upcalls(void *ctx, int window, struct vmi_conform_upcalls *out)
{
    struct rt_cpu *c = rt_this_cpu();

    (void)ctx;
    if (window) {
        uint64_t args[VMI_HC_MAX_ARGS] = {0}, rets[VMI_HC_MAX_RETS];

        /*
         * STI, then a NOP call: an exit on every hypervisor (vmi-run injects
         * there) that also ends QEMU TCG's translation block, where TCG
         * looks for interrupts; then CLI.
         */
        rt_irq_enable();
        vmi_guest_call(&rt_vmi, VMI_HC_NOP, args, rets);
        rt_irq_disable();
    }
    out->lapic = (uint32_t)rt_has_lapic();
    out->reserved = 0;
    out->taken = c->irqs;
    out->in_service = c->irqs_in_service;
    out->not_in_service = c->irqs - c->irqs_in_service;
}

#if defined(__aarch64__)
/* vCPU id -> MPIDR affinity (leaf B+9) -> its redistributor. */
static uint64_t gic_redist(void *ctx, uint32_t id)
{
    uint32_t aff;

    (void)ctx;
    if (vmi_guest_vcpu_platform_id(&rt_vmi, id, &aff) != 0)
        return 0;
    return rt_gic_redist(aff);
}
#endif

static struct vmi_guest_vcpu *vcpu(void *ctx, uint32_t id)
{
    struct rt_cpu *c = rt_cpu(id);

    (void)ctx;
    return c ? &c->v : NULL;
}

/* The worker loop of a secondary vCPU (runtime entry: records set up). */
static void worker(struct rt_cpu *cpu, void *arg)
{
    struct mailbox *mb = &mbox[cpu->id];
    uint32_t reason;

    (void)arg;
    __atomic_store_n(&mb->alive, 1, __ATOMIC_RELEASE);
    for (;;) {
        if (__atomic_load_n(&mb->busy, __ATOMIC_ACQUIRE)) {
            mb->fn(mb->t, mb->arg);
            __atomic_store_n(&mb->busy, 0, __ATOMIC_RELEASE);
            continue;
        }
        /* A short sleep; an event may end it early, which is harmless. */
        vmi_guest_block(&rt_vmi, now_ns() + 100000, &reason);
    }
}

static void vcpu_state(void *ctx, uint32_t id, struct vmi_vcpu_start *st)
{
    struct rt_cpu *c = rt_cpu(id);

    (void)ctx;
    vmi_conform_memset(st, 0, sizeof(*st));
    if (!c)
        return;
    /* As rt_start_cpu does, but the harness makes the VCPU_START call. */
    c->id = id;
    c->fn = worker;
    c->arg = NULL;
    st->entry_gva = (uint64_t)(uintptr_t)rt_ap_entry;
    st->stack_gva = (uint64_t)(uintptr_t)(c->stack + RT_CPU_STACK);
    st->page_table_gpa = rt_page_table_root();
    st->arg = (uint64_t)(uintptr_t)c;
}

static int wait_flag(volatile uint32_t *p, uint32_t want)
{
    uint64_t end = now_ns() + WAIT_NS;

    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != want) {
        if (now_ns() > end)
            return -1;
        rt_cpu_relax();
    }
    return 0;
}

static int vcpu_started(void *ctx, uint32_t id)
{
    (void)ctx;
    if (id >= RT_MAX_CPUS || wait_flag(&mbox[id].alive, 1))
        return -1;
    started[id] = 1;
    return 0;
}

static int vcpu_run(void *ctx, uint32_t id, vmi_conform_fn fn,
                    struct vmi_conform_t *t, void *arg)
{
    struct mailbox *mb;

    (void)ctx;
    if (id >= RT_MAX_CPUS || !started[id])
        return -1;
    mb = &mbox[id];
    mb->fn = fn;
    mb->t = t;
    mb->arg = arg;
    __atomic_store_n(&mb->busy, 1, __ATOMIC_RELEASE);
    return wait_flag(&mb->busy, 0);
}

static int vcpu_is_started(void *ctx, uint32_t id)
{
    (void)ctx;
    return id == 0 || (id < RT_MAX_CPUS && started[id]);
}

/* filter=TEXT on the command line: only tests whose name contains TEXT. */
static char filter[64];

static int matches(const char *name)
{
    const char *f = filter;
    size_t i, j;

    if (!filter[0])
        return 1;
    /* Comma-separated alternatives, each a substring of the name. */
    while (*f) {
        for (i = 0; name[i]; i++) {
            for (j = 0; f[j] && f[j] != ',' && name[i + j] == f[j]; j++)
                ;
            if (!f[j] || f[j] == ',')
                return 1;
        }
        while (*f && *f != ',')
            f++;
        if (*f == ',')
            f++;
    }
    return 0;
}

static void parse_filter(const char *cmdline)
{
    const char *p = cmdline;
    size_t n = 0;

    for (; *p; p++)
        if ((p == cmdline || p[-1] == ' ') && p[0] == 'f' && p[1] == 'i' &&
            p[2] == 'l' && p[3] == 't' && p[4] == 'e' && p[5] == 'r' &&
            p[6] == '=') {
            p += 7;
            while (*p && *p != ' ' && n < sizeof(filter) - 1)
                filter[n++] = *p++;
            break;
        }
    filter[n] = 0;
}

/* 1 when the command line holds the word `w` (space separated). */
static int cmdline_has(const char *cmdline, const char *w)
{
    const char *p = cmdline;

    for (; *p; p++) {
        size_t i = 0;

        if (p != cmdline && p[-1] != ' ')
            continue;
        while (w[i] && p[i] == w[i])
            i++;
        if (!w[i] && (p[i] == 0 || p[i] == ' '))
            return 1;
    }
    return 0;
}

/*
 * The hypervisor's stop or migration on request (backend op host_event):
 * a console line that a driver outside the VM serves (host_events=1 on
 * the command line says one does), then a wait for GUEST_STOPPED in the
 * caller's clock record, which the host sets when the VM runs again.
 */
static int host_event(void *ctx, int what, uint64_t downtime_ns,
                      struct vmi_clock_record *c, uint64_t *gap_ns)
{
    uint64_t t0, prev, now, gap = 0;

    (void)ctx;
    __atomic_and_fetch(&c->flags, (uint8_t)~VMI_CLOCK_GUEST_STOPPED,
                       __ATOMIC_SEQ_CST);
    rt_printf("VMI-HOST-REQUEST %s downtime_ms=%lu\n",
              what == VMI_CONFORM_HOST_MIGRATE ? "migrate" : "stop",
              downtime_ns / 1000000u);
    t0 = prev = rt_now();
    for (;;) {
        int resumed = __atomic_load_n(&c->flags, __ATOMIC_ACQUIRE) &
                      VMI_CLOCK_GUEST_STOPPED;

        now = rt_now();
        if (now - prev > gap)
            gap = now - prev;
        prev = now;
        if (resumed)
            break;
        if (now - t0 > UINT64_C(60000000000)) {
            *gap_ns = gap;
            return -1;
        }
        rt_cpu_relax();
    }
    *gap_ns = gap;
    return 0;
}

#if defined(__x86_64__)
/*
 * User mode: one page of position-independent code run at CPL3 with IOPL
 * 3 (the runtime's rt_user_enter), making one port-I/O call described by
 * a block in a user-writable page: {port, nr, args[5], status, rets[2]}.
 */
__asm__(".section .text.conform_user, \"ax\"\n"
        ".balign 4096\n"
        "conform_user_code:\n"
        "  movq %rdi, %rbx\n"
        "  movq 0(%rbx), %rdx\n"
        "  movq 8(%rbx), %rax\n"
        "  movq 16(%rbx), %rdi\n"
        "  movq 24(%rbx), %rsi\n"
        "  movq 32(%rbx), %r8\n"
        "  movq 40(%rbx), %r9\n"
        "  movq 48(%rbx), %r10\n"
        "  outl %eax, %dx\n"
        "  movq %rax, 56(%rbx)\n"
        "  movq %rdi, 64(%rbx)\n"
        "  movq %rsi, 72(%rbx)\n"
        "  movl $0x55, %eax\n"
        "  int $0x80\n"
        "  ud2\n"
        ".balign 4096\n"
        ".text\n");
extern char conform_user_code[];

static uint64_t user_page[512] __attribute__((aligned(4096)));
static uint64_t user_code_va, user_data_va;

static int64_t user_call(void *ctx, uint64_t nr, const uint64_t *args,
                         uint64_t *rets)
{
    uint64_t ret;
    unsigned i;

    (void)ctx;
    user_page[0] = rt_vmi.info.port;
    user_page[1] = nr;
    for (i = 0; i < VMI_HC_MAX_ARGS; i++)
        user_page[2 + i] = args[i];
    ret = rt_user_enter(user_code_va, user_data_va + 4096 - 64, user_data_va);
    if (ret != 0x55)
        return INT64_MIN; /* faulted: no status */
    rets[0] = user_page[8];
    rets[1] = user_page[9];
    return (int64_t)user_page[7];
}

/* Set up user mode; 0 when a CPL3 NOP works (IOPL 3 honoured). */
static int user_setup(void)
{
    uint64_t a[VMI_HC_MAX_ARGS] = {0, 0, 0, 0, 0}, r[2];

    if (!(rt_vmi.info.transports & VMI_TRANSPORT_PORTIO))
        return -1;
    rt_user_init();
    user_code_va =
        rt_map_page(0, (uint64_t)(uintptr_t)conform_user_code, VMI_PTE_USER);
    user_data_va = rt_map_page(1, (uint64_t)(uintptr_t)user_page,
                               VMI_PTE_USER | VMI_PTE_WRITE | VMI_PTE_NX);
    if (!user_code_va || !user_data_va)
        return -1;
    return user_call(NULL, VMI_HC_NOP, a, r) == 0 ? 0 : -1;
}
#endif

static void run_pass(struct vmi_conform_run *r, uint32_t want, uint32_t mask)
{
    uint32_t a, k;

    for (a = 0; a < vmi_conform_area_count; a++)
        for (k = 0; k < vmi_conform_areas[a]->count; k++) {
            const struct vmi_conform_test *t = &vmi_conform_areas[a]->tests[k];

            if ((t->flags & mask) == want && matches(t->name))
                vmi_conform_run_test(r, t, scratch,
                                     (uint64_t)(uintptr_t)scratch, SCRATCH_LEN);
        }
}

int kmain(const struct rt_boot *boot)
{
    static struct vmi_conform_backend be;
    static struct vmi_conform_run run;
    char v[16];
    struct vmi_conform_buf b = {v, sizeof(v), 0};

    if (!boot->vmi) {
        rt_printf("VMI-CONFORM INFO error=OpenVMI not found\n");
        rt_printf("VMI-CONFORM END count=0 hash=0\n");
        return 1;
    }
    /* The cases register many upcall vectors; upcalls_window may let
     * them in. */
    rt_catch_all_interrupts();
    rt_apic_enable(); /* a no-op without a local APIC */
    vmi_guest_vcpu_init(&rt_cpu(0)->v, &rt_vmi, 0);
    parse_filter(boot->cmdline);
    if (cmdline_has(boot->cmdline, "host_events=1"))
        be.host_event = host_event;
    else
        be.host_event_why = "nothing outside the VM serves stop and "
                            "migration requests (examples/qemu/tests/"
                            "qemu_host_driver.py does, for QEMU)";
    be.name = "vm";
    be.emit = emit;
    be.cpuid = cpuid;
    be.rdtsc = rdtsc;
    be.vcpu = vcpu;
    be.vcpu_state = vcpu_state;
    be.vcpu_started = vcpu_started;
    be.vcpu_run = vcpu_run;
    be.vcpu_is_started = vcpu_is_started;
    be.ram_end = boot->mem_bytes;
    be.upcall_vector = RT_EVENT_VECTOR;
#if defined(__aarch64__)
    be.gic_redist = gic_redist;
#endif
    be.upcalls = upcalls;
    /* Hypercalls from CPL3 (privilege tests), if the platform allows. */
#if defined(__x86_64__)
    if (user_setup() == 0)
        be.user_call = user_call;
    else
        be.user_why = "CPL3 port I/O faults on this platform (IOPL 3 not "
                      "honoured): no user-mode calls";
#else
    be.user_why = "HVC is undefined at EL0 on aarch64: no user-mode calls";
#endif
    vmi_conform_run_init(&run, &be, &rt_vmi);
    if (run.vcpu_count > boot->vcpu_count && boot->vcpu_count)
        run.vcpu_count = boot->vcpu_count;
    if (run.vcpu_count > RT_MAX_CPUS)
        run.vcpu_count = RT_MAX_CPUS;

    vmi_conform_run_info(&run, "backend", "vm");
    vmi_conform_run_info(&run, "vendor", rt_vmi.info.vendor);
    vmi_conform_putu(&b, VMI_VERSION_MAJOR(rt_vmi.info.version_max));
    vmi_conform_puts(&b, ".");
    vmi_conform_putu(&b, VMI_VERSION_MINOR(rt_vmi.info.version_max));
    vmi_conform_run_info(&run, "host_version", v);
    vmi_conform_run_info_hex(&run, "features", rt_vmi.info.features);
    b.len = 0;
    vmi_conform_putu(&b, run.vcpu_count);
    vmi_conform_run_info(&run, "vcpus", v);

    /* Before negotiation, then the negotiation itself, then the rest. */
    run_pass(&run, VMI_CONFORM_PRENEG,
             VMI_CONFORM_PRENEG | VMI_CONFORM_NEGOTIATES);
    run_pass(&run, VMI_CONFORM_PRENEG | VMI_CONFORM_NEGOTIATES,
             VMI_CONFORM_PRENEG | VMI_CONFORM_NEGOTIATES);
    vmi_conform_run_negotiate(&run);
    run_pass(&run, 0, VMI_CONFORM_PRENEG);
    vmi_conform_run_end(&run);
    return 0;
}
