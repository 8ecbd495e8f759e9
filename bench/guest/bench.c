/* SPDX-License-Identifier: MIT */
/*
 * bench.c: the vmi-bench guest: measures exits, hypercalls, clock reads,
 * timer wake-ups, TLB flushes and memory release from inside a VM and
 * prints raw TSC cycle counts as "VMIB" console lines for vmi-bench.
 *
 * Every measurement loop is one C function that runs unchanged either at
 * CPL0 (called directly) or at CPL3 (entered through the runtime's
 * rt_user_enter, with the identity map made user-accessible), so a figure
 * and its baseline always run the same code in the same mode.  On KVM-PVM
 * guest CPL0 code is emulated (about 1 us per instruction) and CPL3 code
 * runs natively; sorting and formatting therefore run at CPL3.
 *
 * Command line: tests=MASK (BT_* bits), n=SAMPLES, vcpus_park=1 (start the
 * other vCPUs and park them in HLT), mem_off=MIB mem_len=MIB (release
 * region), timers_max=N, pt_n=SAMPLES (per PT_UPDATE batch size).
 *
 * Output lines (one per figure):
 *   VMIB <name> mode=<cpl0|cpl3> n=<samples> batch=<ops per sample>
 *        med=<cycles> p99=<cycles> min=<cycles>
 *   VMIB info ...                 (facts: CPL3 port I/O, vCPUs, TSC)
 *   VMIB mem bytes=<n> cycles=<n> status=<s>
 *   VMIB done
 */
#include <vmi_guest_clock.h>

#include "rt.h"

#define BT_EXIT 0x001u   /* null hypercall vs empty OUT (both modes) */
#define BT_CLOCK 0x002u  /* clock record read vs rdtsc vs TIME_READ */
#define BT_TIMER 0x004u  /* one-shot timer wake-up lateness */
#define BT_TSCALE 0x008u /* TIMER_ARM cost with 1/100/10000 armed */
#define BT_MEM 0x010u    /* memory release */
#define BT_TLB 0x020u    /* remote TLB flush of N vCPUs vs N singles */
#define BT_SMP 0x040u    /* hypercall + timer cost with the VM's vCPUs */
#define BT_PT 0x080u     /* PT_UPDATE per entry at batch 1, 8, 64, 512 */

/*
 * The empty exit's port: no device there.  vmi-run ignores OUTs to 0x514;
 * on QEMU that port is fw_cfg's, so vmi-bench passes empty_port=0x528.
 */
static uint16_t empty_port = 0x0514u;
#define MAX_SAMPLES 4096u
#define OUT_CAP 16000u
#define USER_STACK 16384u

/* Parameters and results shared between CPL0 and CPL3 (identity mapped). */
static struct {
    uint16_t port;  /* port of the OUT being measured */
    uint64_t nr;    /* RAX for it */
    uint32_t n;     /* samples */
    uint32_t batch; /* operations per sample */
    const struct vmi_clock_record *rec;
    uint64_t touch_lo, touch_hi;
    /* for report() */
    const char *name;
    const char *mode;
    const char *extra;
    const char *unit; /* "cyc" (TSC cycles) or "ns" */
    uint64_t *buf;    /* where loops store samples (default: samples) */
    int gate;         /* 1: CPL3 asks the kernel to do the OUT (ud2) */
} P;

static uint64_t samples[MAX_SAMPLES], samples2[MAX_SAMPLES];
static char outbuf[OUT_CAP];
static uint32_t outlen;
static volatile uint64_t sink;
static uint8_t user_stack[USER_STACK] __attribute__((aligned(16)));
static int cpl3_io; /* 1: CPL3 code may do port I/O (OUT to the doorbell) */

/* ---- timing primitives (identical at CPL0 and CPL3) -----------------------
 */

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("lfence\n\trdtsc\n\tlfence"
                     : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t)hi << 32 | lo;
}

/* The counter a clock reader uses: ordered after the version load. */
static inline uint64_t counter(void *ctx)
{
    uint32_t lo, hi;

    (void)ctx;
    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t)hi << 32 | lo;
}

static uint64_t fixed_counter(void *ctx)
{
    return *(const uint64_t *)ctx;
}

/* One port-I/O hypercall (or a plain OUT when port is not the doorbell). */
static inline int64_t hc(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                         uint64_t a3, uint64_t a4, uint64_t *r0)
{
    register uint64_t r8 __asm__("r8") = a2;
    register uint64_t r9 __asm__("r9") = a3;
    register uint64_t r10 __asm__("r10") = a4;

    __asm__ volatile("outl %%eax, %%dx"
                     : "+a"(nr), "+D"(a0), "+S"(a1)
                     : "d"(rt_vmi.info.port), "r"(r8), "r"(r9), "r"(r10)
                     : "memory");
    if (r0)
        *r0 = a0;
    return (int64_t)nr;
}

/* ---- measurement loops (mode-agnostic)
 * --------------------------------------- */

/*
 * n samples of P.batch OUTs of P.nr to P.port (1 or 8 per sample; each
 * OUT is preceded by a move of nr to EAX, as a hypercall's result
 * overwrites it).  The same code serves the hypercall and the empty exit.
 */
#define OUT1 "movl %k[nr], %%eax\n\toutl %%eax, %%dx\n\t"
#define GATE1 "movl %k[nr], %%eax\n\tud2\n\t"
#define TIMED(body)                                                            \
    do {                                                                       \
        t0 = tsc();                                                            \
        __asm__ volatile(body                                                  \
                         : "=&a"(a), "+D"(d), "+S"(s)                          \
                         : [nr] "r"(nr), "d"(port)                             \
                         : "memory");                                          \
        t1 = tsc();                                                            \
    } while (0)

static uint64_t loop_out(uint64_t arg)
{
    uint16_t port = P.port;
    uint32_t nr = (uint32_t)P.nr;
    uint64_t *buf = P.buf;

    (void)arg;
    for (uint32_t i = 0; i < P.n; i++) {
        uint64_t a, d = 0, s = 0, t0, t1;

        if (P.gate && P.batch == 8)
            TIMED(".rept 8\n\t" GATE1 ".endr");
        else if (P.gate)
            TIMED(GATE1);
        else if (P.batch == 8)
            TIMED(".rept 8\n\t" OUT1 ".endr");
        else
            TIMED(OUT1);
        buf[i] = t1 - t0;
    }
    return 0;
}

/*
 * The I/O gate: a syscall-like doorbell for CPL3 code on hypervisors that
 * do not let it do port I/O (KVM-PVM raises #GP for OUT at CPL3 despite
 * IOPL 3 or an I/O bitmap, and #UD for every software interrupt from
 * CPL3, int $0x80 included).  User code executes ud2 with EAX = nr and
 * DX = port; the #UD handler does the OUT and returns past the ud2.  DX =
 * 0 from CPL3 is the trampoline's way back to the kernel (RAX = result;
 * its int $0x80 lands here too on KVM-PVM).  A #UD at CPL0 goes to the
 * runtime's handler.  Four instructions at CPL0: the gate adds the same
 * cost to a hypercall and to its empty-exit baseline.
 */
__asm__(".text\n"
        "bench_io_gate:\n"
        "  testb $3, 8(%rsp)\n"
        "  jz rt_vectors + 6 * 16\n"
        "  testl %edx, %edx\n"
        "  jz rt_vector_user_exit\n"
        "  outl %eax, %dx\n"
        "  addq $2, (%rsp)\n"
        "  iretq\n");
extern char bench_io_gate[];

static void install_io_gate(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr;
    uint64_t h = (uint64_t)(uintptr_t)bench_io_gate;
    uint32_t *e;

    __asm__ volatile("sidt %0" : "=m"(idtr));
    e = (uint32_t *)(uintptr_t)(idtr.base + 16u * 6); /* #UD */
    /* Present 64-bit interrupt gate, DPL 0, kernel code selector 0x08. */
    e[0] = (uint32_t)(h & 0xFFFF) | (0x08u << 16);
    e[1] = (uint32_t)(h & 0xFFFF0000u) | 0x8E00u;
    e[2] = (uint32_t)(h >> 32);
    e[3] = 0;
}

/* n samples of `batch` ordered counter reads each. */
static uint64_t loop_rdtsc(uint64_t arg)
{
    uint64_t acc = 0;

    (void)arg;
    for (uint32_t i = 0; i < P.n; i++) {
        uint64_t t0 = tsc();

        for (uint32_t j = 0; j < P.batch; j++)
            acc += counter(0);
        P.buf[i] = tsc() - t0;
    }
    sink = acc;
    return 0;
}

/* n samples of `batch` lock-free clock-record reads each (vDSO style). */
static uint64_t loop_clock(uint64_t arg)
{
    uint64_t acc = 0;

    (void)arg;
    for (uint32_t i = 0; i < P.n; i++) {
        uint64_t t0 = tsc();

        for (uint32_t j = 0; j < P.batch; j++) {
            uint64_t ns = 0;

            vmi_guest_clock_read_inline(P.rec, counter, 0, &ns, 0);
            acc += ns;
        }
        P.buf[i] = tsc() - t0;
    }
    sink = acc;
    return 0;
}

/* CPL3: return 0 if one OUT to the empty port works (no #GP). */
static uint64_t probe_io(uint64_t arg)
{
    (void)arg;
    __asm__ volatile("outl %%eax, %%dx" ::"a"(0), "d"(empty_port));
    return 0;
}

/* Write one byte per page in [touch_lo, touch_hi) so it is backed. */
static uint64_t touch(uint64_t arg)
{
    (void)arg;
    for (uint64_t a = P.touch_lo; a < P.touch_hi; a += 4096)
        *(volatile uint8_t *)(uintptr_t)a = 1;
    return 0;
}

static void append(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void append(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = rt_vsnprintf(outbuf + outlen, OUT_CAP - outlen, fmt, ap);
    va_end(ap);
    if (n > 0)
        outlen +=
            (uint32_t)n < OUT_CAP - outlen ? (uint32_t)n : OUT_CAP - 1 - outlen;
}

/* Sort the samples (shell sort) and append one VMIB line. */
static uint64_t report(uint64_t arg)
{
    uint32_t n = P.n, p99;
    static const uint32_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};

    (void)arg;
    for (unsigned g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++)
        for (uint32_t i = gaps[g]; i < n; i++) {
            uint64_t v = samples[i];
            uint32_t j = i;

            for (; j >= gaps[g] && samples[j - gaps[g]] > v; j -= gaps[g])
                samples[j] = samples[j - gaps[g]];
            samples[j] = v;
        }
    p99 = (n * 99u) / 100u;
    if (p99 >= n)
        p99 = n - 1;
    append(
        "VMIB %s mode=%s n=%u batch=%u unit=%s med=%lu p99=%lu min=%lu%s%s\n",
        P.name, P.mode, n, P.batch, P.unit ? P.unit : "cyc", samples[n / 2],
        samples[p99], samples[0], P.extra ? " " : "", P.extra ? P.extra : "");
    return 0;
}

/* ---- CPL3 entry
 * -------------------------------------------------------------- */

struct ucall {
    uint64_t (*fn)(uint64_t);
    uint64_t arg;
};
static struct ucall ucall;

/*
 * User-mode trampoline: RDI = &ucall; call fn(arg); back to the kernel
 * with int $0x80, RAX = the result, DX = 0 (see bench_io_gate).
 */
__asm__(".text\n"
        "bench_user_tramp:\n"
        "  movq %rdi, %rbx\n"
        "  movq 8(%rbx), %rdi\n"
        "  callq *(%rbx)\n"
        "  xorl %edx, %edx\n" /* DX = 0: an exit if it lands in the gate */
        "  int $0x80\n"
        "  ud2\n");
extern char bench_user_tramp[];

static uint64_t run_user(uint64_t (*fn)(uint64_t), uint64_t arg)
{
    ucall.fn = fn;
    ucall.arg = arg;
    return rt_user_enter((uint64_t)(uintptr_t)bench_user_tramp,
                         (uint64_t)(uintptr_t)(user_stack + USER_STACK),
                         (uint64_t)(uintptr_t)&ucall);
}

/* Run fn in `mode` (3: CPL3, 0: CPL0); a CPL3 fault ends the benchmark. */
static uint64_t run_in(int mode, uint64_t (*fn)(uint64_t), uint64_t arg)
{
    uint64_t r = mode == 3 ? run_user(fn, arg) : fn(arg);

    if (mode == 3 && (r & ~0xFFull) == RT_USER_FAULT)
        rt_panic("bench: CPL3 code took exception %lu", r & 0xFF);
    return r;
}

/*
 * Make the identity map of [0, bytes) user-accessible (U/S on its 2 MiB
 * entries) so CPL3 code can run the image's own functions and read its
 * data, the clock record included.  No SMEP/SMAP is enabled, so CPL0 keeps
 * running the same pages.
 */
static void identity_user(uint64_t bytes)
{
    extern uint64_t rt_pdpt[];
    uint64_t pages = (bytes + (2u << 20) - 1) >> 21, cr3;

    if (pages > 2048)
        pages = 2048;
    for (uint64_t i = 0; i < pages; i++) {
        uint64_t *pd =
            (uint64_t *)(uintptr_t)(rt_pdpt[i / 512] & VMI_PTE_FRAME);

        pd[i % 512] |= VMI_PTE_USER;
    }
    __asm__ volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3)::"memory");
}

/*
 * A TSS with an I/O permission bitmap that allows every port: the other
 * way (besides IOPL 3) an x86 kernel lets CPL3 code do port I/O.  Tried
 * when IOPL 3 alone raises #GP.
 */
struct bench_tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap;
    uint8_t bitmap[8192 + 1];
} __attribute__((packed));
static struct bench_tss btss __attribute__((aligned(4096)));
static uint8_t trap_stack[8192] __attribute__((aligned(16)));

static void install_io_bitmap(void)
{
    extern uint64_t rt_gdt[];
    uint64_t base = (uint64_t)(uintptr_t)&btss, limit = sizeof(btss) - 1;

    btss.rsp[0] = (uint64_t)(uintptr_t)(trap_stack + sizeof(trap_stack));
    btss.iomap = (uint16_t) __builtin_offsetof(struct bench_tss, bitmap);
    btss.bitmap[8192] = 0xFF; /* the terminating byte */
    rt_gdt[5] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
                (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    rt_gdt[6] = base >> 32;
    __asm__ volatile("ltr %w0" ::"r"(0x28));
}

/* ---- measurements
 * -------------------------------------------------------------- */

/*
 * Figure (OUT of nr to the doorbell) and baseline (OUT to the empty port)
 * in the same mode, `batch` OUTs per sample, measured in 8 alternating
 * blocks so drift affects both alike.
 */
static void out_pair(int mode, uint32_t n, uint32_t batch, const char *hname,
                     uint64_t nr, const char *bname)
{
    uint32_t blk = n / 8 ? n / 8 : 1;

    P.batch = batch;
    P.mode = mode == 3 ? "cpl3" : "cpl0";
    P.extra = 0;
    /* Warm up both paths. */
    P.n = 4;
    P.buf = samples;
    P.port = empty_port;
    P.nr = 0;
    run_in(mode, loop_out, 0);
    P.port = rt_vmi.info.port;
    P.nr = nr;
    run_in(mode, loop_out, 0);
    P.n = blk;
    for (uint32_t b = 0; b < 8; b++) {
        P.buf = samples2 + b * blk;
        P.port = empty_port;
        P.nr = nr; /* same EAX; the empty port ignores it */
        run_in(mode, loop_out, 0);
        P.buf = samples + b * blk;
        P.port = rt_vmi.info.port;
        run_in(mode, loop_out, 0);
    }
    P.buf = samples;
    P.n = blk * 8;
    P.name = hname;
    run_user(report, 0);
    for (uint32_t i = 0; i < P.n; i++)
        samples[i] = samples2[i];
    P.name = bname;
    run_user(report, 0);
}

static void bench_exit(uint32_t n)
{
    if (cpl3_io) {
        out_pair(3, n, 1, "null_hc", VMI_HC_NOP, "empty_out");
    } else {
        /* CPL3 through the kernel gate: both sides pay the same trap. */
        P.gate = 1;
        out_pair(3, n / 4 ? n / 4 : 1, 8, "gate_null_hc", VMI_HC_NOP,
                 "gate_empty_out");
        P.gate = 0;
    }
    out_pair(0, n / 4 ? n / 4 : 1, 8, "null_hc", VMI_HC_NOP, "empty_out");
    out_pair(0, n / 4 ? n / 4 : 1, 8, "time_read", VMI_HC_TIME_READ,
             "empty_out_tr");
}

static void bench_clock(uint32_t n)
{
    /* CPL3: batched (fast), 64 reads per sample. */
    P.buf = samples;
    P.n = n;
    P.batch = 64;
    P.mode = "cpl3";
    P.extra = 0;
    run_user(loop_rdtsc, 0);
    P.name = "rdtsc";
    run_user(report, 0);
    run_user(loop_clock, 0);
    P.name = "clock_read";
    run_user(report, 0);
    /* CPL0 (emulated here): one read per sample. */
    P.n = n / 8 ? n / 8 : 1;
    P.batch = 1;
    P.mode = "cpl0";
    loop_rdtsc(0);
    P.name = "rdtsc";
    run_user(report, 0);
    loop_clock(0);
    P.name = "clock_read";
    run_user(report, 0);
    /* TIME_READ at CPL3 (the slow path a user process would take). */
    if (cpl3_io) {
        out_pair(3, n, 1, "time_read", VMI_HC_TIME_READ, "empty_out_tr");
    } else {
        P.gate = 1;
        out_pair(3, n / 4 ? n / 4 : 1, 8, "gate_time_read", VMI_HC_TIME_READ,
                 "gate_empty_out_tr");
        P.gate = 0;
    }
}

/* VM clock in ns for a TSC value captured earlier (record parameters). */
static uint64_t tsc_to_vm_ns(uint64_t t)
{
    uint64_t ns = 0;

    vmi_guest_clock_read_inline(&rt_this_cpu()->clock, fixed_counter, &t, &ns,
                                0);
    return ns;
}

/*
 * n one-shot timer wake-ups `delay_us` ahead: TIMER_ARM, BLOCK until the
 * timer's event is pending, TSC read right after the BLOCK returns.
 * Sample = lateness in TSC cycles (deadline converted back to cycles is
 * avoided: lateness in ns * tsc per ns would need floats; the record's
 * scale gives ns, and the driver gets ns / cycles both).
 */
static void bench_timer(uint32_t n, uint64_t delay_us, const char *name,
                        const char *extra)
{
    struct rt_cpu *cpu = rt_this_cpu();
    uint64_t t_ref = tsc(), ns_ref = tsc_to_vm_ns(t_ref);

    for (uint32_t i = 0; i < n; i++) {
        uint64_t now = tsc_to_vm_ns(tsc()), deadline = now + delay_us * 1000u;
        uint64_t t = 0, r;
        int64_t st;

        st = hc(VMI_HC_TIMER_ARM, 0, deadline, 0, VMI_EVENT_TIMER, 0, 0);
        if (st)
            rt_panic("bench: TIMER_ARM: %s", vmi_guest_status_name(st));
        do {
            st = hc(VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, 0, 0, 0, &r);
            t = tsc();
            if (st)
                rt_panic("bench: BLOCK: %s", vmi_guest_status_name(st));
        } while (!(vmi_guest_event_take(&cpu->v) & (1ull << VMI_EVENT_TIMER)));
        now = tsc_to_vm_ns(t);
        if (now < deadline)
            rt_panic("bench: timer woke %lu ns early", deadline - now);
        samples[i] = now - deadline; /* ns */
    }
    P.n = n;
    P.batch = 1;
    P.mode = "cpl0";
    P.name = name;
    P.extra = extra;
    P.unit = "ns";
    run_user(report, 0);
    P.extra = 0;
    P.unit = 0;
    (void)ns_ref;
}

/* TIMER_ARM cost (far deadline, re-arming timer 0) with k timers armed. */
static void bench_tscale(uint32_t n, uint32_t timers_max, int lateness)
{
    static const uint32_t ks[] = {1, 100, 10000};
    static char extra[3][32];
    uint64_t far = tsc_to_vm_ns(tsc()) + 100000000000ull; /* +100 s */
    uint32_t armed = 1; /* timer 0 is the one measured */

    for (unsigned i = 0; i < 3; i++) {
        uint32_t k = ks[i];

        if (k > timers_max)
            break;
        for (; armed < k; armed++) {
            int64_t st = hc(VMI_HC_TIMER_ARM, armed, far + armed, 0, 63, 0, 0);

            if (st)
                rt_panic("bench: TIMER_ARM %u: %s", armed,
                         vmi_guest_status_name(st));
        }
        rt_snprintf(extra[i], sizeof(extra[i]), "armed=%u", k);
        P.n = n;
        P.batch = 1;
        P.mode = "cpl0";
        P.extra = extra[i];
        for (uint32_t j = 0; j < n; j++) {
            uint64_t t0 = tsc();

            hc(VMI_HC_TIMER_ARM, 0, far, 0, VMI_EVENT_TIMER, 0, 0);
            samples[j] = tsc() - t0;
        }
        P.name = "timer_arm";
        run_user(report, 0);
        if (lateness)
            bench_timer(n / 2 ? n / 2 : 1, 200, "timer_late_armed", extra[i]);
    }
    P.extra = 0;
    /* Leave no far timers behind for later tests. */
    for (uint32_t t = 1; t < armed; t++)
        hc(VMI_HC_TIMER_CANCEL, t, 0, 0, 0, 0, 0);
}

static uint64_t mem_hold_ms;

/*
 * mem_hold_ms: stay idle (BLOCK) that long, before and after the release,
 * so that a benchmark sampling the hypervisor's RSS from outside sees it
 * high with the touched pages, then low.
 */
static void mem_idle(void)
{
    uint64_t until = rt_now() + mem_hold_ms * 1000000u;
    uint32_t reason;

    while (mem_hold_ms && rt_now() < until)
        vmi_guest_block(&rt_vmi, until, &reason);
}

static void bench_mem(uint64_t off_mib, uint64_t len_mib)
{
    static struct vmi_mem_extent ext __attribute__((aligned(16)));
    uint64_t t0, t1, done = 0;
    int64_t st;

    P.touch_lo = off_mib << 20;
    P.touch_hi = (off_mib + len_mib) << 20;
    run_user(touch, 0); /* natively at CPL3 where it is native */
    mem_idle();         /* an RSS sampler outside sees the touched pages */
    ext.gpa = off_mib << 20;
    ext.pages = (len_mib << 20) / 4096;
    t0 = tsc();
    do {
        st = hc(VMI_HC_MEM_RELEASE, (uint64_t)(uintptr_t)&ext, 1, done, 0, 0,
                &done);
    } while (st == -VMI_E_AGAIN);
    t1 = tsc();
    append("VMIB mem bytes=%lu cycles=%lu status=%ld\n", len_mib << 20, t1 - t0,
           (long)st);
    mem_idle(); /* ... and the RSS low after the release */
}

static void park(struct rt_cpu *cpu, void *arg)
{
    (void)cpu;
    (void)arg;
    for (;;)
        __asm__ volatile("cli; hlt");
}

static uint32_t start_others(uint32_t count)
{
    for (uint32_t i = 1; i < count; i++) {
        int rc = rt_start_cpu(i, park, 0);

        if (rc)
            rt_panic("bench: VCPU_START %u: %s", i, vmi_guest_status_name(rc));
    }
    for (uint32_t i = 1; i < count; i++)
        while (!__atomic_load_n(&rt_cpu(i)->online, __ATOMIC_ACQUIRE))
            __asm__ volatile("pause");
    return count;
}

/* ---- page-table profile: PT_UPDATE per entry ------------------------------
 */

#define PT_ENTRIES 512u
#define PT_FRAMES 0x1000000ull /* 16 MiB: frames the entries point at */

static uint64_t pt_table[PT_ENTRIES] __attribute__((aligned(4096)));
static struct vmi_pt_update pt_upd[PT_ENTRIES] __attribute__((aligned(16)));
static uint64_t pt_samples[4][MAX_SAMPLES / 4];

/*
 * One sample: `entries` writes into the pinned table in PT_UPDATE calls
 * of `batch` entries each, restarting after VMI_E_AGAIN as a kernel must.
 * Raw port-I/O calls: what a guest kernel's PTE path would issue.
 */
static uint64_t pt_sample(uint32_t batch, uint32_t entries)
{
    uint64_t t0 = tsc();

    for (uint32_t off = 0; off < entries; off += batch) {
        uint64_t done = 0;
        int64_t st;

        do {
            st = hc(VMI_HC_PT_UPDATE, (uint64_t)(uintptr_t)&pt_upd[off], batch,
                    done, 0, 0, &done);
        } while (st == -VMI_E_AGAIN);
        if (st)
            rt_panic("bench: PT_UPDATE batch %u at %u: %s", batch, off,
                     vmi_guest_status_name(st));
    }
    return tsc() - t0;
}

/*
 * PT_UPDATE cost per entry at batch 1, 8, 64, 512 (capped at the host's
 * LIMITS.EAX), at CPL0, in 8 alternating blocks so drift hits every batch
 * size alike.  Batch 1 writes 64 entries per sample (64 exits), the others
 * 512; the driver divides by the entries (`batch=` on the line).
 */
static void bench_pt(uint32_t n)
{
    static const uint32_t sizes[4] = {1, 8, 64, 512};
    static char extra[4][32];
    uint32_t blk = n / 8 ? n / 8 : 1, bad = 0, max = rt_vmi.info.max_batch;
    int rc;

    if (!(rt_vmi.features & VMI_F_PT)) {
        append("VMIB info pt=0\n");
        return;
    }
    if (blk * 8 > MAX_SAMPLES / 4)
        blk = MAX_SAMPLES / 32;
    for (uint32_t i = 0; i < PT_ENTRIES; i++) {
        pt_upd[i].pte_gpa = (uint64_t)(uintptr_t)&pt_table[i];
        pt_upd[i].value =
            (PT_FRAMES + 4096ull * (i % 256)) | VMI_PTE_PRESENT | VMI_PTE_WRITE;
    }
    rc = vmi_guest_pt_pin(&rt_vmi, (uint64_t)(uintptr_t)pt_table, 1, &bad);
    if (rc)
        rt_panic("bench: PT_PIN: %s (index %u)", vmi_guest_status_name(rc),
                 bad);
    for (unsigned k = 0; k < 4; k++)
        (void)pt_sample(sizes[k] < max || !max ? sizes[k] : max,
                        sizes[k] == 1 ? 64 : PT_ENTRIES); /* warm up */
    for (uint32_t b = 0; b < 8; b++)
        for (unsigned k = 0; k < 4; k++)
            for (uint32_t i = 0; i < blk; i++)
                pt_samples[k][b * blk + i] =
                    pt_sample(sizes[k] < max || !max ? sizes[k] : max,
                              sizes[k] == 1 ? 64 : PT_ENTRIES);
    rc = vmi_guest_pt_unpin(&rt_vmi, (uint64_t)(uintptr_t)pt_table);
    if (rc)
        rt_panic("bench: PT_UNPIN: %s", vmi_guest_status_name(rc));
    for (unsigned k = 0; k < 4; k++) {
        rt_snprintf(extra[k], sizeof(extra[k]), "size=%u",
                    sizes[k] < max || !max ? sizes[k] : max);
        for (uint32_t i = 0; i < blk * 8; i++)
            samples[i] = pt_samples[k][i];
        P.buf = samples;
        P.n = blk * 8;
        P.batch = sizes[k] == 1 ? 64 : PT_ENTRIES;
        P.mode = "cpl0";
        P.extra = extra[k];
        P.name = "pt_update";
        run_user(report, 0);
    }
    P.extra = 0;
}

/* One TLB_FLUSH of vCPUs 1..k vs k TLB_FLUSH calls of one vCPU each. */
static void bench_tlb(uint32_t n, uint32_t vcpus)
{
    static char extra[8][16];
    unsigned e = 0;

    for (uint32_t k = 1; k < vcpus && e < 8; k *= 2, e++) {
        uint64_t mask = ((1ull << k) - 1) << 1;

        rt_snprintf(extra[e], sizeof(extra[e]), "targets=%u", k);
        P.n = n;
        P.batch = 1;
        P.mode = "cpl0";
        P.extra = extra[e];
        for (uint32_t i = 0; i < n; i++) {
            uint64_t t0 = tsc();

            hc(VMI_HC_TLB_FLUSH, 0, mask, 0, 0, 0, 0);
            samples[i] = tsc() - t0;
        }
        P.name = "tlb_multi";
        run_user(report, 0);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t t0 = tsc();

            for (uint32_t j = 1; j <= k; j++)
                hc(VMI_HC_TLB_FLUSH, 0, 1ull << j, 0, 0, 0, 0);
            samples[i] = tsc() - t0;
        }
        P.name = "tlb_singles";
        run_user(report, 0);
    }
    P.extra = 0;
}

int kmain(const struct rt_boot *boot)
{
    uint64_t tests = BT_EXIT, n = 1000, park_others = 0, mem_off = 64,
             mem_len = 64, timers_max = 10000, granted = 0, pt_n = 40, r;
    uint32_t vcpus = boot->vcpu_count;
    int rc;

    rt_cmdline_u64(boot->cmdline, "tests", &tests);
    rt_cmdline_u64(boot->cmdline, "n", &n);
    rt_cmdline_u64(boot->cmdline, "vcpus_park", &park_others);
    rt_cmdline_u64(boot->cmdline, "mem_off", &mem_off);
    rt_cmdline_u64(boot->cmdline, "mem_len", &mem_len);
    rt_cmdline_u64(boot->cmdline, "timers_max", &timers_max);
    rt_cmdline_u64(boot->cmdline, "pt_n", &pt_n);
    rt_cmdline_u64(boot->cmdline, "mem_hold_ms", &mem_hold_ms);
    r = empty_port;
    if (rt_cmdline_u64(boot->cmdline, "empty_port", &r) && r && r <= 0xffff &&
        r != rt_vmi.info.port)
        empty_port = (uint16_t)r;
    if (n < 4)
        n = 4;
    if (n > MAX_SAMPLES)
        n = MAX_SAMPLES;
    if (!boot->vmi) {
        rt_printf("VMIB info vmi=0\n");
        return 3;
    }
    rc = rt_vmi_setup(VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER | VMI_F_VCPU |
                          VMI_F_TLB | VMI_F_MEM | VMI_F_USER |
                          (tests & BT_PT ? VMI_F_PT : 0),
                      &granted);
    if (rc)
        rt_panic("bench: setup: %s", vmi_guest_status_name(rc));
    rt_user_init();
    identity_user(boot->mem_bytes ? boot->mem_bytes : (64u << 20));
    P.rec = &rt_this_cpu()->clock;
    r = run_user(probe_io, 0);
    cpl3_io = r == 0;
    if (r != 0 && r != (RT_USER_FAULT | 13))
        rt_panic("bench: CPL3 probe returned 0x%lx", r);
    if (!cpl3_io) {
        install_io_bitmap();
        r = run_user(probe_io, 0);
        cpl3_io = r == 0 ? 2 : 0; /* 2: through the TSS I/O bitmap */
    }
    install_io_gate();
    if (park_others && vcpus > 1)
        start_others(vcpus);
    append("VMIB info vmi=1 cpl3_io=%d vcpus=%u granted=0x%lx "
           "tsc_stable=%u mul=%u shift=%d\n",
           cpl3_io, vcpus, granted,
           (unsigned)(rt_this_cpu()->clock.flags & VMI_CLOCK_TSC_STABLE),
           rt_this_cpu()->clock.tsc_to_system_mul,
           (int)(int8_t)rt_this_cpu()->clock.tsc_shift);

    if (tests & BT_EXIT)
        bench_exit((uint32_t)n);
    if (tests & BT_CLOCK)
        bench_clock((uint32_t)n);
    if (tests & BT_TIMER)
        bench_timer((uint32_t)(n / 5 ? n / 5 : 1), 200, "timer_late", 0);
    if (tests & BT_TSCALE)
        bench_tscale((uint32_t)(n / 5 ? n / 5 : 1), (uint32_t)timers_max, 0);
    if (tests & BT_SMP) {
        /* Hypercall and timer cost with this VM's vCPU count. */
        if (cpl3_io)
            out_pair(3, (uint32_t)n, 1, "smp_null_hc", VMI_HC_NOP,
                     "smp_empty_out");
        out_pair(0, (uint32_t)(n / 4 ? n / 4 : 1), 8, "smp_null_hc", VMI_HC_NOP,
                 "smp_empty_out");
        bench_tscale((uint32_t)(n / 10 ? n / 10 : 1), 1, 0);
        bench_timer((uint32_t)(n / 10 ? n / 10 : 1), 200, "smp_timer_late", 0);
    }
    if ((tests & BT_TLB) && vcpus > 1 && park_others)
        bench_tlb((uint32_t)(n / 10 ? n / 10 : 1), vcpus);
    if (tests & BT_MEM)
        bench_mem(mem_off, mem_len);
    if (tests & BT_PT)
        bench_pt((uint32_t)pt_n);
    append("VMIB done\n");
    rt_write(outbuf, outlen);
    return 0;
}
