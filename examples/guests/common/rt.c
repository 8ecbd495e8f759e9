/* SPDX-License-Identifier: MIT */
/* rt.c: the example guests' kernel runtime (see rt.h). */
#include "rt.h"

#include "bootinfo.h"
#include "rt_internal.h"
#include "rt_scan.h"

#define COM1 0x3F8
#define DEBUG_EXIT_PORT 0xF4
#define LAPIC_BASE 0xFEE00000ull
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_ISR 0x100 /* 8 registers, 16 bytes apart: vectors 32i..32i+31 */
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3E0
#define MSR_GS_BASE 0xC0000101u

static void (*event_handler)(struct rt_cpu *cpu, uint64_t events);
/* 1: the vCPUs have a local APIC (CPUID 01H EDX bit 9), which then
 * delivers the upcalls and wants an EOI (VMI-EVT-036, VMI-EVT-038). */
static int lapic;

struct idt_entry {
    uint16_t off0;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off1;
    uint32_t off2;
    uint32_t zero;
};
static struct idt_entry idt[256] __attribute__((aligned(16)));

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap;
} __attribute__((packed));
static struct tss tss __attribute__((aligned(16)));
static uint8_t user_trap_stack[8192] __attribute__((aligned(16)));

/* Frame built by rt_trap_common in start.S. */
struct rt_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

extern char rt_vectors[], rt_vector_event[], rt_vector_user_exit[];
extern uint64_t rt_gdt[], rt_user_pt[];
extern char __bss_end[];
void rt_start(uint64_t bootinfo_gpa, uint64_t mb_info);
void rt_trap(struct rt_frame *f);

/* ---- small helpers ------------------------------------------------------- */

void *memset(void *d, int c, size_t n)
{
    void *r = d;
    size_t q = n >> 3, b = n & 7;
    uint64_t v = BYTES_01 * (uint8_t)c;

    __asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(b) : "a"(v) : "memory");
    return r;
}

/* 8 bytes per REP step, then the tail. */
static inline __attribute__((always_inline)) void copy(void *d, const void *s,
                                                       size_t n)
{
    size_t q = n >> 3, b = n & 7;

    __asm__ volatile("rep movsq\n\tmovq %[b], %%rcx\n\trep movsb"
                     : "+D"(d), "+S"(s), "+c"(q)
                     : [b] "r"(b)
                     : "memory");
}

void *memcpy(void *d, const void *s, size_t n)
{
    copy(d, s, n);
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;

    if (dp <= sp || dp >= sp + n)
        return memcpy(d, s, n);
    while (n--)
        dp[n] = sp[n];
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    return scan(s, 0);
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v),
                     "d"((uint32_t)(v >> 32)));
}

/* ---- interrupts ------------------------------------------------------------
 */

/* Two 8-byte stores per gate: fewer emulated instructions than six fields. */
static void set_gate(unsigned vec, void *fn, unsigned dpl)
{
    uint64_t a = (uint64_t)(uintptr_t)fn;
    rt_u64a *e = (rt_u64a *)&idt[vec];

    /* offset 15:0, selector 0x08, IST 0, present interrupt gate, 31:16 */
    e[0] = (a & 0xFFFF) | (0x08ull << 16) |
           ((uint64_t)(0x8E | (dpl << 5)) << 40) | ((a >> 16 & 0xFFFF) << 48);
    e[1] = a >> 32; /* offset 63:32, reserved zero */
}

static void idt_init(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) ptr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};

    /*
     * Only the exceptions a bug usually raises get a gate (each costs
     * microseconds under CPL0 emulation); any other one finds a
     * not-present gate and ends as a double fault, which is reported.
     */
    static const uint8_t vecs[] = {0, 6, 8, 13, 14};

    for (unsigned i = 0; i < sizeof(vecs); i++)
        set_gate(vecs[i], rt_vectors + 16 * vecs[i], 0);
    set_gate(RT_EVENT_VECTOR, rt_vector_event, 0);
    __asm__ volatile("lidt %0" ::"m"(ptr));
}

static inline void lapic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

static inline uint32_t lapic_read(unsigned reg)
{
    return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

int rt_has_lapic(void)
{
    return lapic;
}

void rt_apic_enable(void)
{
    if (lapic)
        lapic_write(LAPIC_SVR, 0x100 | 0xFF);
}

int rt_lapic_timer_oneshot(uint8_t vector, uint32_t count)
{
    if (!lapic || vector < 32)
        return -1;
    lapic_write(LAPIC_TIMER_DIV, 0xB);    /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, vector); /* one-shot, unmasked */
    lapic_write(LAPIC_TIMER_INIT, count);
    return 0;
}

int rt_lapic_send_init(uint32_t apic_id)
{
    if (!lapic || apic_id > 0xFF)
        return -1;
    lapic_write(LAPIC_ICR_HI, apic_id << 24);
    lapic_write(LAPIC_ICR_LO, 0x4500); /* INIT, level assert, physical */
    while (lapic_read(LAPIC_ICR_LO) & (1u << 12)) /* delivery pending */
        __asm__ volatile("pause");
    return 0;
}

void rt_catch_all_interrupts(void)
{
    for (unsigned v = 32; v < 256; v++)
        if (v != RT_EVENT_VECTOR)
            set_gate((uint8_t)v, rt_vectors + 16 * v, 0);
}

void rt_set_event_handler(void (*fn)(struct rt_cpu *cpu, uint64_t events))
{
    event_handler = fn;
}

void rt_trap(struct rt_frame *f)
{
    if (f->vector == RT_EVENT_VECTOR) {
        struct rt_cpu *cpu = rt_this_cpu();
        uint64_t ev = vmi_guest_event_take(&cpu->v);

        cpu->irqs++;
        /*
         * With a local APIC the upcall is in service until the EOI; without
         * one it is a plain external interrupt and there is nothing to end
         * (VMI-EVT-036, VMI-EVT-037, VMI-EVT-038).
         */
        if (lapic) {
            uint32_t isr =
                lapic_read(LAPIC_ISR + 0x10 * (RT_EVENT_VECTOR / 32));

            if (isr & (1u << (RT_EVENT_VECTOR % 32)))
                cpu->irqs_in_service++;
            lapic_write(LAPIC_EOI, 0);
        }
        if (event_handler)
            event_handler(cpu, ev);
        return;
    }
    uint64_t cr2;

    if (f->vector >= 32) { /* rt_catch_all_interrupts: count, end, go on */
        rt_this_cpu()->stray_irqs++;
        if (lapic) {
            uint32_t isr = lapic_read(LAPIC_ISR + 0x10 * (f->vector / 32));

            if (isr & (1u << (f->vector % 32)))
                lapic_write(LAPIC_EOI, 0);
        }
        return;
    }
    if ((f->cs & 3) == 3)
        rt_user_abort(RT_USER_FAULT | f->vector);
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    rt_panic("exception %lu error 0x%lx at RIP 0x%lx (CS 0x%lx, RSP 0x%lx, "
             "CR2 0x%lx)",
             f->vector, f->error, f->rip, f->cs, f->rsp, cr2);
}

/* ---- per-vCPU state -------------------------------------------------------
 */

struct rt_cpu *rt_this_cpu(void)
{
    struct rt_cpu *c;

    __asm__("movq %%gs:%c1, %0"
            : "=r"(c)
            : "i"(__builtin_offsetof(struct rt_cpu, self)));
    return c;
}

void rt__cpu_bind(struct rt_cpu *cpu, uint32_t id)
{
    cpu->self = cpu;
    cpu->id = id;
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)cpu);
}

/* ---- the hooks of rt_internal.h --------------------------------------------
 */

void rt__raw_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rt_outb(COM1, (uint8_t)s[i]);
}

/* isa-debug-exit: QEMU exits with (status << 1) | 1. */
_Noreturn void rt__raw_exit(unsigned status)
{
    rt_outb(DEBUG_EXIT_PORT, (uint8_t)status);
    rt__halt();
}

_Noreturn void rt__halt(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

uint64_t rt_page_table_root(void)
{
    uint64_t cr3;

    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    return cr3;
}

/* ---- paging and user mode --------------------------------------------------
 */

uint64_t rt_map_page(unsigned index, uint64_t gpa, uint64_t flags)
{
    uint64_t va = RT_USER_WINDOW + (uint64_t)index * 4096;

    if (index >= RT_USER_WINDOW_PAGES)
        return 0;
    __atomic_store_n(&rt_user_pt[index],
                     (gpa & VMI_PTE_FRAME) | flags | VMI_PTE_PRESENT,
                     __ATOMIC_RELEASE);
    __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
    return va;
}

uint64_t rt_window_pte_gpa(unsigned index)
{
    return (uint64_t)(uintptr_t)&rt_user_pt[index];
}

void rt_user_init(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;

    tss.rsp[0] =
        (uint64_t)(uintptr_t)(user_trap_stack + sizeof(user_trap_stack));
    tss.iomap = sizeof(tss); /* no I/O bitmap: IOPL 3 decides */
    rt_gdt[5] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
                (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    rt_gdt[6] = base >> 32;
    __asm__ volatile("ltr %w0" ::"r"(0x28));
    set_gate(RT_USER_EXIT_VECTOR, rt_vector_user_exit, 3);
}

/* ---- boot ------------------------------------------------------------------
 */

/* hvm_start_info.magic: "xEn3" with the 0x80 bit of the "E" set. */
#define PVH_START_MAGIC 0x336ec578u

void rt_start(uint64_t bootinfo_gpa, uint64_t mb_info)
{
    const struct vmm_bootinfo *bi =
        (const struct vmm_bootinfo *)(uintptr_t)bootinfo_gpa;
    rt__cpu_bind(rt_cpu(0), 0);
    rt__boot.vcpu_count = 1;
    rt__boot.image_end = ((uint64_t)(uintptr_t)__bss_end + 4095) & ~4095ull;
    if (bi && bi->magic == VMM_BOOTINFO_MAGIC) {
        uint32_t n = bi->cmdline_len < sizeof(rt__cmdline) - 1
                         ? bi->cmdline_len
                         : (uint32_t)sizeof(rt__cmdline) - 1;

        memcpy(rt__cmdline, bi->cmdline, n);
        rt__boot.vmm = 1;
        rt__boot.mem_bytes = bi->mem_bytes;
        rt__boot.vcpu_count = bi->vcpu_count;
    } else if (mb_info &&
               *(const uint32_t *)(uintptr_t)mb_info == PVH_START_MAGIC) {
        /*
         * PVH: struct hvm_start_info (Xen's public start_info.h): magic
         * (+0), version (+4), cmdline_paddr (+24); version 1 adds
         * memmap_paddr (+40) and memmap_entries (+48), entries of 24 bytes
         * (addr, size, type).  RAM is the type-1 range holding the image.
         */
        const uint8_t *si = (const uint8_t *)(uintptr_t)mb_info;
        uint64_t cl_gpa = *(const uint64_t *)(si + 24);
        const char *cl = (const char *)(uintptr_t)cl_gpa;

        if (*(const uint32_t *)(si + 4) >= 1) {
            const uint8_t *map =
                (const uint8_t *)(uintptr_t) * (const uint64_t *)(si + 40);
            uint32_t n = *(const uint32_t *)(si + 48);

            for (uint32_t i = 0; i < n; i++) {
                uint64_t a = *(const uint64_t *)(map + 24 * i);
                uint64_t l = *(const uint64_t *)(map + 24 * i + 8);

                if (*(const uint32_t *)(map + 24 * i + 16) == 1 &&
                    a <= 0x100000 && a + l > 0x100000)
                    rt__boot.mem_bytes = a + l;
            }
        }
        if (cl_gpa)
            for (size_t i = 0; i < sizeof(rt__cmdline) - 1 && cl[i]; i++)
                rt__cmdline[i] = cl[i];
    } else if (mb_info) {
        /* Multiboot info: flags (+0), mem_upper KiB (+8), cmdline (+16). */
        const uint32_t *mbi = (const uint32_t *)(uintptr_t)mb_info;
        const char *cl = (const char *)(uintptr_t)mbi[4];

        if (mbi[0] & 1)
            rt__boot.mem_bytes = ((uint64_t)mbi[2] + 1024) << 10;
        if (mbi[0] & 4)
            for (size_t i = 0; i < sizeof(rt__cmdline) - 1 && cl[i]; i++)
                rt__cmdline[i] = cl[i];
    }
    if (!rt__boot.vmm) {
        /*
         * A PC's firmware leaves the 8259 PICs programmed for real mode
         * (the timer's IRQ 0 on vector 8, #DF here): mask every line.
         * The runtime takes interrupts only from the local APIC.
         */
        rt_outb(0x21, 0xFF);
        rt_outb(0xA1, 0xFF);
    }
    {
        uint32_t a = 1, b, c = 0, d;

        __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
        lapic = (d >> 9) & 1;
    }
    idt_init();
    rt__boot_finish(1);
}
