/* SPDX-License-Identifier: MIT */
/*
 * x86.c: cases that need a real x86-64 vCPU: register preservation across
 * the port-I/O transport, the resume point, non-call port accesses and the
 * entry state of a started vCPU (VMI-CALL, VMI-CPU).  Not applicable on the
 * simulator, where there are no guest registers.
 */
#include "../cases.h"

#if defined(__x86_64__)

/* Register block: in = values before the OUT, out = after. */
struct regs {
    uint64_t rbx, rcx, rdx, r8, r9, r10, r11, r12, r13, r14, r15, rbp;
    uint64_t rax, rdi, rsi, flags;
};

/*
 * One port-I/O call with every general-purpose register loaded from `in`
 * (RAX = nr, RDI/RSI = the first arguments, RDX = the port) and every one
 * stored to `out` afterwards, RFLAGS with CF set before the call.
 */
static void raw_call(const struct regs *in, struct regs *out)
{
    __asm__ volatile("push %%rbp\n\t"
                     "push %%rbx\n\t"
                     "push %%r12\n\t"
                     "push %%r13\n\t"
                     "push %%r14\n\t"
                     "push %%r15\n\t"
                     "push %%rsi\n\t" /* out */
                     "mov %%rdi, %%rax\n\t"
                     "mov 0(%%rax), %%rbx\n\t"
                     "mov 8(%%rax), %%rcx\n\t"
                     "mov 16(%%rax), %%rdx\n\t"
                     "mov 24(%%rax), %%r8\n\t"
                     "mov 32(%%rax), %%r9\n\t"
                     "mov 40(%%rax), %%r10\n\t"
                     "mov 48(%%rax), %%r11\n\t"
                     "mov 56(%%rax), %%r12\n\t"
                     "mov 64(%%rax), %%r13\n\t"
                     "mov 72(%%rax), %%r14\n\t"
                     "mov 80(%%rax), %%r15\n\t"
                     "mov 88(%%rax), %%rbp\n\t"
                     "mov 104(%%rax), %%rdi\n\t"
                     "mov 112(%%rax), %%rsi\n\t"
                     "mov 96(%%rax), %%rax\n\t"
                     "stc\n\t"
                     "out %%eax, %%dx\n\t"
                     "pushfq\n\t"
                     "xchg %%rax, 8(%%rsp)\n\t" /* rax <-> out pointer */
                     "mov %%rbx, 0(%%rax)\n\t"
                     "mov %%rcx, 8(%%rax)\n\t"
                     "mov %%rdx, 16(%%rax)\n\t"
                     "mov %%r8, 24(%%rax)\n\t"
                     "mov %%r9, 32(%%rax)\n\t"
                     "mov %%r10, 40(%%rax)\n\t"
                     "mov %%r11, 48(%%rax)\n\t"
                     "mov %%r12, 56(%%rax)\n\t"
                     "mov %%r13, 64(%%rax)\n\t"
                     "mov %%r14, 72(%%rax)\n\t"
                     "mov %%r15, 80(%%rax)\n\t"
                     "mov %%rbp, 88(%%rax)\n\t"
                     "mov %%rdi, 104(%%rax)\n\t"
                     "mov %%rsi, 112(%%rax)\n\t"
                     "pop %%rbx\n\t" /* flags */
                     "mov %%rbx, 120(%%rax)\n\t"
                     "pop %%rbx\n\t" /* the status */
                     "mov %%rbx, 96(%%rax)\n\t"
                     "pop %%r15\n\t"
                     "pop %%r14\n\t"
                     "pop %%r13\n\t"
                     "pop %%r12\n\t"
                     "pop %%rbx\n\t"
                     "pop %%rbp\n\t"
                     :
                     : "D"(in), "S"(out)
                     : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "memory",
                       "cc");
}

static int portio(struct vmi_conform_t *t)
{
    if (!(t->g->info.transports & VMI_TRANSPORT_PORTIO)) {
        vmi_conform_skip(t, "host does not announce the port-I/O transport");
        return 0;
    }
    return 1;
}

TEST(call_registers_preserved_across_portio)
{
    struct regs in, out;
    uint64_t *p = (uint64_t *)&in;
    uint32_t i;
    int same = 1;

    if (!portio(t))
        return;
    for (i = 0; i < sizeof(in) / 8; i++)
        p[i] = UINT64_C(0x1111111111111111) * (i + 1);
    in.rdx = t->g->info.port;
    in.rax = VMI_HC_NOP;
    vmi_conform_memset(&out, 0, sizeof(out));
    raw_call(&in, &out);
    VMI_CHECK_EQ("VMI-CALL-007", out.rax, 0);
    same = out.rbx == in.rbx && out.rcx == in.rcx && out.rdx == in.rdx &&
           out.r8 == in.r8 && out.r9 == in.r9 && out.r10 == in.r10 &&
           out.r11 == in.r11 && out.r12 == in.r12 && out.r13 == in.r13 &&
           out.r14 == in.r14 && out.r15 == in.r15 && out.rbp == in.rbp;
    VMI_CHECK("VMI-CALL-003", same);
    VMI_CHECK("VMI-CALL-003", out.flags & 1); /* CF kept */
    /* The guest's own OUT instruction made the call: no host code. */
    VMI_CHECK("VMI-CALL-015", out.rdi == 0 && out.rsi == 0);
}

TEST(call_resumes_after_the_trapping_instruction)
{
    struct regs in, out;
    uint64_t r[2];

    if (!portio(t))
        return;
    /* A call with an effect that a second execution would change. */
    VMI_REQUIRE_ST(
        "VMI-CALL-004",
        CALL5(t, VMI_HC_TIMER_ARM, 9, UINT64_C(1) << 62, 0, 1, 0, NULL), 0);
    vmi_conform_memset(&in, 0, sizeof(in));
    in.rdx = t->g->info.port;
    in.rax = VMI_HC_TIMER_CANCEL;
    in.rdi = 9;
    raw_call(&in, &out);
    VMI_CHECK_EQ("VMI-CALL-004", out.rax, 0);
    VMI_CHECK_EQ("VMI-CALL-004", out.rdi, 1); /* ran once: was armed */
    VMI_CHECK_ST("VMI-CALL-004", CALL1(t, VMI_HC_TIMER_CANCEL, 9, r), 0);
    VMI_CHECK_EQ("VMI-CALL-004", r[0], 0);
}

TEST(call_doorbell_ignores_other_access_widths)
{
    uint64_t rax = VMI_HC_TIME_READ, rdi = 0x1234;
    uint16_t port = t->g->info.port;

    if (!portio(t))
        return;
    /* 8- and 16-bit OUTs of a call number are not calls. */
    __asm__ volatile("outb %%al, %%dx" : "+a"(rax), "+D"(rdi) : "d"(port));
    VMI_CHECK("VMI-CALL-014", rax == VMI_HC_TIME_READ && rdi == 0x1234);
    __asm__ volatile("outw %%ax, %%dx" : "+a"(rax), "+D"(rdi) : "d"(port));
    VMI_CHECK("VMI-CALL-014", rax == VMI_HC_TIME_READ && rdi == 0x1234);
    VMI_CHECK_ST("VMI-CALL-014", CALL0(t, VMI_HC_NOP, NULL), 0);
}

struct cpu_state {
    uint64_t cr0, cr4, efer;
    uint16_t cs, ss, ds;
    uint8_t gdt[10], idt[10];
};

static void read_state(struct cpu_state *s)
{
    uint32_t lo, hi;

    __asm__ volatile("mov %%cr0, %0" : "=r"(s->cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(s->cr4));
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xC0000080u));
    s->efer = ((uint64_t)hi << 32) | lo;
    __asm__ volatile("mov %%cs, %0" : "=r"(s->cs));
    __asm__ volatile("mov %%ss, %0" : "=r"(s->ss));
    __asm__ volatile("mov %%ds, %0" : "=r"(s->ds));
    __asm__ volatile("sgdt %0" : "=m"(s->gdt));
    __asm__ volatile("sidt %0" : "=m"(s->idt));
}

static void worker_state(struct vmi_conform_t *t, void *arg)
{
    (void)t;
    read_state(arg);
}

TEST(cpu_started_vcpu_inherits_control_state)
{
    struct cpu_state a, b;
    uint32_t id, i;
    int same = 1;

    vmi_conform_memset(&a, 0, sizeof(a));
    vmi_conform_memset(&b, 0, sizeof(b));
    VMI_REQUIRE("VMI-CPU-024", vmi_conform_vcpu_any(t, &id) == 0);
    read_state(&a);
    VMI_REQUIRE("VMI-CPU-024",
                vmi_conform_vcpu_run(t, id, worker_state, &b) == 0);
    for (i = 0; i < 10; i++)
        same &= a.gdt[i] == b.gdt[i] && a.idt[i] == b.idt[i];
    VMI_CHECK("VMI-CPU-024",
              a.cr0 == b.cr0 && a.cr4 == b.cr4 && a.efer == b.efer);
    VMI_CHECK("VMI-CPU-024", a.cs == b.cs && a.ss == b.ss && a.ds == b.ds);
    VMI_CHECK("VMI-CPU-024", same);
}

/*
 * What a started vCPU holds at its entry point, recorded by probe_entry
 * before anything runs on it: the MSRs of probe_msr[], CR2, CR8 and the
 * TR, LDTR, FS and GS selectors.  Then the probe dirties all of them and
 * stops its vCPU with VMI_HC_VCPU_STOP, so that a second start shows
 * whether the host reset them (VMI-CPU-025).
 */
struct probe_rec {
    uint64_t msr[9];
    uint64_t cr2, cr8;
    uint16_t tr, ldtr, fs, gs;
    uint32_t seq;  /* +96: entries so far */
    uint32_t port; /* +100: the doorbell */
    uint32_t nr;   /* +104: VMI_HC_VCPU_STOP */
    uint32_t pad;
};

static const uint32_t probe_msr[9] = {
    0xC0000100u, 0xC0000101u, 0xC0000102u, /* FS, GS, KERNEL_GS base */
    0xC0000081u, 0xC0000082u, 0xC0000083u, 0xC0000084u, /* STAR .. FMASK */
    0x277u,                                             /* PAT */
    0x174u,                                             /* SYSENTER_CS */
};

#define PROBE_RD(idx, off)                                                     \
    "mov $" #idx ", %ecx\n\t"                                                  \
    "rdmsr\n\t"                                                                \
    "mov %eax, " #off "(%rbx)\n\t"                                             \
    "mov %edx, " #off "+4(%rbx)\n\t"
#define PROBE_WR(idx, lo, hi)                                                  \
    "mov $" #idx ", %ecx\n\t"                                                  \
    "mov $" #lo ", %eax\n\t"                                                   \
    "mov $" #hi ", %edx\n\t"                                                   \
    "wrmsr\n\t"

void probe_entry(void);
/* clang-format off */
__asm__(".text\n\t"
        ".globl probe_entry\n\t"
        "probe_entry:\n\t"
        "mov %rdi, %rbx\n\t" /* the struct probe_rec */
        PROBE_RD(0xC0000100, 0)
        PROBE_RD(0xC0000101, 8)
        PROBE_RD(0xC0000102, 16)
        PROBE_RD(0xC0000081, 24)
        PROBE_RD(0xC0000082, 32)
        PROBE_RD(0xC0000083, 40)
        PROBE_RD(0xC0000084, 48)
        PROBE_RD(0x277, 56)
        PROBE_RD(0x174, 64)
        "mov %cr2, %rax\n\t"
        "mov %rax, 72(%rbx)\n\t"
        "mov %cr8, %rax\n\t"
        "mov %rax, 80(%rbx)\n\t"
        "str %ax\n\t"
        "mov %ax, 88(%rbx)\n\t"
        "sldt %ax\n\t"
        "mov %ax, 90(%rbx)\n\t"
        "mov %fs, %ax\n\t"
        "mov %ax, 92(%rbx)\n\t"
        "mov %gs, %ax\n\t"
        "mov %ax, 94(%rbx)\n\t"
        /* A life worth forgetting. */
        PROBE_WR(0xC0000100, 0x5000, 0)
        PROBE_WR(0xC0000101, 0x6000, 0)
        PROBE_WR(0xC0000102, 0x7000, 0)
        PROBE_WR(0xC0000081, 0, 0x00230010)
        PROBE_WR(0xC0000082, 0x81000000, 0xFFFFFFFF)
        PROBE_WR(0xC0000083, 0x81000040, 0xFFFFFFFF)
        PROBE_WR(0xC0000084, 0x700, 0)
        PROBE_WR(0x277, 0x00070406, 0x01070406)
        PROBE_WR(0x174, 0x10, 0)
        "mov $0x1234000, %rax\n\t"
        "mov %rax, %cr2\n\t"
        "mov $3, %eax\n\t"
        "mov %rax, %cr8\n\t"
        "lock incl 96(%rbx)\n\t"
        "mov 100(%rbx), %edx\n\t"
        "mov 104(%rbx), %eax\n\t"
        "xor %edi, %edi\n\t"
        "out %eax, %dx\n\t" /* VCPU_STOP: does not return */
        "1: cli\n\t"
        "hlt\n\t"
        "jmp 1b\n\t");
/* clang-format on */

static int probe_wait(struct vmi_conform_t *t, struct probe_rec *r,
                      uint32_t seq)
{
    uint64_t end = vmi_conform_time(t) + UINT64_C(5000000000);

    while (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) < seq)
        if (vmi_conform_time(t) > end)
            return -1;
    return 0;
}

static void probe_check(struct vmi_conform_t *t, const struct probe_rec *r)
{
    uint32_t i, wrong = 0;

    for (i = 0; i < 9; i++)
        wrong += r->msr[i] !=
                 (probe_msr[i] == 0x277u ? UINT64_C(0x0007040600070406) : 0);
    VMI_CHECK_EQ("VMI-CPU-025", wrong, 0);
    VMI_CHECK_EQ("VMI-CPU-025", r->msr[1], 0); /* not the starter's GS */
    VMI_CHECK_EQ("VMI-CPU-025", r->msr[7], UINT64_C(0x0007040600070406));
    VMI_CHECK_EQ("VMI-CPU-025", r->cr2, 0);
    VMI_CHECK_EQ("VMI-CPU-025", r->cr8, 0);
    VMI_CHECK("VMI-CPU-025", r->tr == 0 && r->ldtr == 0);
    VMI_CHECK("VMI-CPU-025", r->fs == 0 && r->gs == 0);
}

static uint64_t rdmsr64(uint32_t idx)
{
    uint32_t lo, hi;

    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(idx));
    return ((uint64_t)hi << 32) | lo;
}

static void wrmsr64(uint32_t idx, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(idx), "a"((uint32_t)v),
                     "d"((uint32_t)(v >> 32)));
}

/*
 * A vCPU started for the first time, by a starter with its own FS base and
 * KERNEL_GS_BASE, and again after it dirtied its state and stopped: both
 * times at the power-up values (VMI-CPU-025).
 */
TEST(cpu_started_vcpu_starts_at_power_up_state)
{
    struct probe_rec *r = vmi_conform_alloc(t, sizeof(*r), 64);
    struct vmi_vcpu_start *st = vmi_conform_alloc(t, sizeof(*st), 64);
    uint8_t *stack = vmi_conform_alloc(t, 4096, 4096);
    uint64_t cr3, fs0, kgs0, end;
    int64_t status;
    uint32_t id;

    if (!portio(t))
        return;
    VMI_REQUIRE("VMI-CPU-025", r && st && stack);
    VMI_REQUIRE("VMI-CPU-025", vmi_conform_vcpu_fresh(t, &id) == 0);
    vmi_conform_memset(r, 0, sizeof(*r));
    r->port = t->g->info.port;
    r->nr = VMI_HC_VCPU_STOP;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    vmi_conform_memset(st, 0, sizeof(*st));
    st->entry_gva = (uint64_t)(uintptr_t)probe_entry;
    st->stack_gva = (uint64_t)(uintptr_t)(stack + 4096);
    st->page_table_gpa = cr3;
    st->arg = (uint64_t)(uintptr_t)r;
    fs0 = rdmsr64(0xC0000100u);
    kgs0 = rdmsr64(0xC0000102u);
    wrmsr64(0xC0000100u, 0x9000);
    wrmsr64(0xC0000102u, 0xA000);
    status = CALL2(t, VMI_HC_VCPU_START, id, vmi_conform_gpa(t, st), NULL);
    wrmsr64(0xC0000100u, fs0);
    wrmsr64(0xC0000102u, kgs0);
    VMI_REQUIRE_ST("VMI-CPU-025", status, 0);
    VMI_REQUIRE("VMI-CPU-025", probe_wait(t, r, 1) == 0);
    probe_check(t, r);
    /* Busy until the probe's VCPU_STOP has taken effect. */
    end = vmi_conform_time(t) + UINT64_C(5000000000);
    do
        status = CALL2(t, VMI_HC_VCPU_START, id, vmi_conform_gpa(t, st), NULL);
    while (status == -VMI_E_BUSY && vmi_conform_time(t) < end);
    VMI_REQUIRE_ST("VMI-CPU-025", status, 0);
    VMI_REQUIRE("VMI-CPU-025", probe_wait(t, r, 2) == 0);
    probe_check(t, r);
}

/*
 * Upcalls on a real vCPU, taken by the backend's handler (which EOIs them
 * when, and only when, the vCPU has a local APIC).  One round: send event 3
 * to the calling vCPU with interrupts disabled, then let it in.
 */
static int upcall_setup(struct vmi_conform_t *t, struct vmi_event_record **e,
                        struct vmi_conform_upcalls *u, const char *clause)
{
    if (!t->be->upcalls) {
        vmi_conform_na(t, "the backend has no interrupt handler");
        return 0;
    }
    *e = cases_events(t, t->be->upcall_vector);
    if (!VMI_CHECK(clause, *e != NULL))
        return 0;
    t->be->upcalls(t->be->ctx, 1, u); /* take anything already due */
    return 1;
}

static void upcall_send(struct vmi_conform_t *t, struct vmi_event_record *e,
                        const char *clause)
{
    cases_clear(e, UINT64_C(1) << 3);
    VMI_REQUIRE_ST(clause, CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL), 0);
}

static inline void write_cr8(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr8" ::"r"(v) : "memory");
}

TEST(evt_upcall_through_local_apic)
{
    struct vmi_event_record *e;
    struct vmi_conform_upcalls a, b;

    if (!upcall_setup(t, &e, &a, "VMI-EVT-036"))
        return;
    if (!a.lapic) {
        vmi_conform_na(t, "the vCPU has no local APIC (CPUID 01H EDX bit 9 "
                          "clear): VMI-EVT-037 applies");
        return;
    }
    /* Accepted through the local APIC: in ISR when the handler runs. */
    upcall_send(t, e, "VMI-EVT-036");
    t->be->upcalls(t->be->ctx, 1, &b);
    VMI_CHECK_EQ("VMI-EVT-036", b.taken, a.taken + 1);
    VMI_CHECK_EQ("VMI-EVT-036", b.in_service, a.in_service + 1);
    /* Held by the task priority: TPR class 15 blocks vector class 15. */
    upcall_send(t, e, "VMI-EVT-036");
    if (t->be->upcall_vector >= 0xF0) {
        write_cr8(15);
        t->be->upcalls(t->be->ctx, 1, &a);
        write_cr8(0);
        VMI_CHECK_EQ("VMI-EVT-036", a.taken, b.taken);
    }
    /* ... and delivered, in service again, once TPR allows it. */
    t->be->upcalls(t->be->ctx, 1, &a);
    VMI_CHECK_EQ("VMI-EVT-036", a.taken, b.taken + 1);
    VMI_CHECK_EQ("VMI-EVT-036", a.not_in_service, b.not_in_service);
}

TEST(evt_upcall_without_local_apic)
{
    struct vmi_event_record *e;
    struct vmi_conform_upcalls a, b;

    if (!upcall_setup(t, &e, &a, "VMI-EVT-037"))
        return;
    if (a.lapic) {
        vmi_conform_na(t, "the vCPU has a local APIC (CPUID 01H EDX bit 9 "
                          "set): VMI-EVT-036 applies");
        return;
    }
    /* Held while interrupts are disabled ... */
    upcall_send(t, e, "VMI-EVT-037");
    t->be->upcalls(t->be->ctx, 0, &b);
    VMI_CHECK_EQ("VMI-EVT-037", b.taken, a.taken);
    /* ... taken once they are enabled ... */
    t->be->upcalls(t->be->ctx, 1, &b);
    VMI_CHECK_EQ("VMI-EVT-037", b.taken, a.taken + 1);
    /* ... and nothing stays in service: the next one comes, no EOI. */
    upcall_send(t, e, "VMI-EVT-037");
    t->be->upcalls(t->be->ctx, 1, &a);
    VMI_CHECK_EQ("VMI-EVT-037", a.taken, b.taken + 1);
}

static inline uint64_t read_flags(void)
{
    uint64_t f;

    __asm__ volatile("pushfq; popq %0" : "=r"(f)::"memory");
    return f;
}

/* VMI-EVT-046: BLOCK leaves RFLAGS.IF as it was (clear, as VMI-EVT-048). */
TEST(evt_block_leaves_interrupts_disabled)
{
    struct vmi_event_record *e = cases_events(t, 40);
    uint64_t r[2], f;

    VMI_REQUIRE("VMI-EVT-046", e != NULL);
    VMI_REQUIRE("VMI-EVT-046", !(read_flags() & (1u << 9)));
    /* Suspended until the deadline ... */
    VMI_CHECK_ST("VMI-EVT-046",
                 CALL2(t, VMI_HC_BLOCK, vmi_conform_time(t) + 200000, 0, r), 0);
    f = read_flags();
    VMI_CHECK("VMI-EVT-046", !(f & (1u << 9)));
    /* ... and returning at once for a pending event. */
    VMI_REQUIRE_ST("VMI-EVT-046", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 2, 0, NULL),
                   0);
    VMI_CHECK_ST("VMI-EVT-046", CALL2(t, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, r),
                 0);
    VMI_CHECK_EQ("VMI-EVT-046", r[0], VMI_WAKE_EVENT);
    f = read_flags();
    VMI_CHECK("VMI-EVT-046", !(f & (1u << 9)));
    cases_clear(e, UINT64_C(1) << 2);
}

#define X86_FN(name) name
#else
/*
 * Built for another architecture (the aarch64 image): the same tests, each
 * not applicable, so that reports on every architecture list them.
 */
static void x86_only(struct vmi_conform_t *t)
{
    vmi_conform_na(t, "needs an x86-64 vCPU; this image is built for "
                      "another architecture");
}
#define X86_FN(name) x86_only
#endif

#define X86(name, cl, feat, vc)                                                \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, VMI_CONFORM_REAL, (feat), (vc), 2000,     \
            X86_FN(name)                                                       \
    }

static const struct vmi_conform_test tests[] = {
    X86(call_registers_preserved_across_portio,
        "VMI-CALL-003 VMI-CALL-007 VMI-CALL-015", 0, 1),
    X86(call_resumes_after_the_trapping_instruction, "VMI-CALL-004",
        VMI_F_TIMER, 1),
    X86(call_doorbell_ignores_other_access_widths, "VMI-CALL-014", 0, 1),
    X86(cpu_started_vcpu_inherits_control_state, "VMI-CPU-024", VMI_F_VCPU, 2),
    X86(cpu_started_vcpu_starts_at_power_up_state, "VMI-CPU-025", VMI_F_VCPU,
        2),
    X86(evt_upcall_through_local_apic, "VMI-EVT-036", VMI_F_EVENTS, 1),
    X86(evt_upcall_without_local_apic, "VMI-EVT-037", VMI_F_EVENTS, 1),
    X86(evt_block_leaves_interrupts_disabled, "VMI-EVT-046", VMI_F_EVENTS, 1),
};

AREA(vmi_conform_area_x86, "x86", tests);
