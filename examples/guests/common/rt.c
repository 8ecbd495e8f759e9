/* SPDX-License-Identifier: MIT */
/* rt.c: the example guests' kernel runtime (see rt.h). */
#include "rt.h"

#include "bootinfo.h"

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

struct vmi_guest rt_vmi;

static struct rt_cpu rt_cpus[RT_MAX_CPUS];
static struct rt_boot boot;
static char cmdline[VMM_BOOTINFO_CMDLINE_MAX];
static char console_page[4096] __attribute__((aligned(4096)));
/*
 * rt_printf's output buffer (under console_lock); lines end at 511 bytes.
 * Aligned to its size, so it never crosses a page: one contiguous GPA range.
 */
#define RT_PRINTF_MAX 512u
static char printf_page[RT_PRINTF_MAX] __attribute__((aligned(RT_PRINTF_MAX)));
static rt_lock_t console_lock;
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
void rt_ap_start(struct rt_cpu *cpu);
void rt_trap(struct rt_frame *f);
void rt_ap_entry(void);

/* ---- small helpers ------------------------------------------------------- */

/*
 * Guest CPL0 code may be emulated instruction by instruction (KVM-PVM,
 * where even a REP string instruction costs about 1 us per element), so
 * these helpers move and scan 8 bytes per step.
 */
typedef uint64_t __attribute__((may_alias)) rt_u64a;

#define BYTES_01 0x0101010101010101ull
#define BYTES_80 0x8080808080808080ull

/* High bit set in the lowest zero byte of v (bits above it may be wrong). */
static inline uint64_t zero_byte(uint64_t v)
{
    return (v - BYTES_01) & ~v & BYTES_80;
}

/*
 * Length of the run at s up to the first NUL or `stop` byte (stop 0: NUL
 * only).  Reads whole aligned words, which never cross a page, so it may
 * look past the end of the string but never into an unmapped page.
 */
static inline __attribute__((always_inline)) size_t scan(const char *s,
                                                         unsigned char stop)
{
    const rt_u64a *p = (const rt_u64a *)((uintptr_t)s & ~(uintptr_t)7);
    unsigned head = (unsigned)((uintptr_t)s & 7) * 8;
    uint64_t rep = BYTES_01 * stop;
    uint64_t v = *p | (head ? (1ull << head) - 1 : 0); /* 0xFF: no match */

    for (;;) {
        uint64_t m = zero_byte(v) | (stop ? zero_byte(v ^ rep) : 0);

        if (m)
            return (size_t)((const char *)p - s) +
                   (size_t)(__builtin_ctzll(m) >> 3);
        v = *++p;
    }
}

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

void rt_lock(rt_lock_t *l)
{
    while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
            __asm__ volatile("pause");
}

void rt_unlock(rt_lock_t *l)
{
    __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* ---- formatting ------------------------------------------------------------
 */

struct out {
    char *buf;
    size_t cap, n;
};

static void put(struct out *o, char c)
{
    if (o->n + 1 < o->cap)
        o->buf[o->n] = c;
    o->n++;
}

int rt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = {buf, cap, 0};

    for (; *fmt; fmt++) {
        char tmp[24], pad = ' ';
        int width = 0, left = 0, lng = 0, len = 0;
        uint64_t u;
        const char *s;

        if (*fmt != '%') {
            /* Literal runs in one copy: guest CPL0 code may be emulated
             * instruction by instruction (KVM-PVM), so count them. */
            size_t run = scan(fmt, '%');

            if (o.n + run < o.cap) {
                copy(o.buf + o.n, fmt, run);
                o.n += run;
            } else {
                for (size_t i = 0; i < run; i++)
                    put(&o, fmt[i]);
            }
            fmt += run - 1;
            continue;
        }
        fmt++;
        if (*fmt == '-') {
            left = 1;
            fmt++;
        }
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            s = tmp;
            len = 1;
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            len = (int)strlen(s);
            break;
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            int neg = v < 0;

            u = neg ? -(uint64_t)v : (uint64_t)v;
            s = tmp + sizeof(tmp);
            do {
                *(char *)--s = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            if (neg)
                *(char *)--s = '-';
            len = (int)(tmp + sizeof(tmp) - s);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'p': {
            unsigned base = *fmt == 'u' ? 10 : 16;
            const char *dig =
                *fmt == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";

            if (*fmt == 'p')
                u = (uint64_t)(uintptr_t)va_arg(ap, void *);
            else
                u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            s = tmp + sizeof(tmp);
            do {
                *(char *)--s = dig[u % base];
                u /= base;
            } while (u);
            len = (int)(tmp + sizeof(tmp) - s);
            break;
        }
        case '%':
            put(&o, '%');
            continue;
        default:
            put(&o, '%');
            if (!*fmt)
                goto done;
            put(&o, *fmt);
            continue;
        }
        if (!left)
            for (; width > len; width--)
                put(&o, pad);
        if (o.n + (size_t)len < o.cap) {
            copy(o.buf + o.n, s, (size_t)len);
            o.n += (size_t)len;
        } else {
            for (int i = 0; i < len; i++)
                put(&o, s[i]);
        }
        for (; width > len; width--)
            put(&o, ' ');
    }
done:
    if (cap)
        buf[o.n < cap ? o.n : cap - 1] = 0;
    return (int)o.n;
}

int rt_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = rt_vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

void rt_write(const char *s, size_t n)
{
    rt_lock(&console_lock);
    if (boot.vmi) {
        vmi_guest_console_write(&rt_vmi, s, n);
    } else {
        for (size_t i = 0; i < n; i++)
            rt_outb(COM1, (uint8_t)s[i]);
    }
    rt_unlock(&console_lock);
}

void rt_printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    if (boot.vmi) {
        /*
         * Format straight into a buffer the host reads (identity mapped,
         * so its GPA is its address): no copy into guest-lib's bounce page.
         */
        rt_lock(&console_lock);
        n = rt_vsnprintf(printf_page, RT_PRINTF_MAX, fmt, ap);
        if (n > (int)RT_PRINTF_MAX - 1)
            n = RT_PRINTF_MAX - 1;
        vmi_guest_console_write_phys(&rt_vmi, (uint64_t)(uintptr_t)printf_page,
                                     (size_t)n);
        rt_unlock(&console_lock);
    } else {
        n = rt_vsnprintf(buf, sizeof(buf), fmt, ap);
        if (n > (int)sizeof(buf) - 1)
            n = sizeof(buf) - 1;
        rt_write(buf, (size_t)n);
    }
    va_end(ap);
}

_Noreturn void rt_exit(unsigned status)
{
    if (boot.vmi)
        vmi_guest_shutdown(&rt_vmi, VMI_SHUTDOWN_POWEROFF, status);
    else
        rt_outb(DEBUG_EXIT_PORT, (uint8_t)status);
    for (;;)
        __asm__ volatile("cli; hlt");
}

_Noreturn void rt_panic(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    n = rt_snprintf(buf, sizeof(buf), "PANIC: ");
    va_start(ap, fmt);
    n += rt_vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    rt_write(buf, (size_t)n);
    if (boot.vmi)
        vmi_guest_shutdown(&rt_vmi, VMI_SHUTDOWN_CRASH, 1);
    else
        rt_outb(DEBUG_EXIT_PORT, 0x7F);
    for (;;)
        __asm__ volatile("cli; hlt");
}

int rt_cmdline_u64(const char *cl, const char *key, uint64_t *val)
{
    size_t kl = strlen(key);

    for (const char *p = cl; *p;) {
        while (*p == ' ')
            p++;
        if (memcmp(p, key, kl) == 0 && p[kl] == '=') {
            uint64_t v = 0;
            unsigned base = 10;

            p += kl + 1;
            if (p[0] == '0' && p[1] == 'x') {
                base = 16;
                p += 2;
            }
            for (;; p++) {
                unsigned d;

                if (*p >= '0' && *p <= '9')
                    d = (unsigned)(*p - '0');
                else if (base == 16 && *p >= 'a' && *p <= 'f')
                    d = (unsigned)(*p - 'a' + 10);
                else
                    break;
                v = v * base + d;
            }
            *val = v;
            return 1;
        }
        p += scan(p, ' '); /* to the next space or the end */
    }
    return 0;
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

struct rt_cpu *rt_cpu(uint32_t id)
{
    return id < RT_MAX_CPUS ? &rt_cpus[id] : 0;
}

static void cpu_bind(struct rt_cpu *cpu, uint32_t id)
{
    cpu->self = cpu;
    cpu->id = id;
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)cpu);
}

uint64_t rt_now(void)
{
    struct rt_cpu *cpu = rt_this_cpu();
    uint64_t ns = 0;

    if (cpu->v.clock)
        return vmi_guest_clock_now(&cpu->v);
    vmi_guest_time_read(&rt_vmi, &ns, 0);
    return ns;
}

/* Register this vCPU's clock and event records (events unmasked). */
static int cpu_vmi_init(struct rt_cpu *cpu)
{
    int rc = 0;

    vmi_guest_vcpu_init(&cpu->v, &rt_vmi, cpu->id);
    if (rt_vmi.features & VMI_F_CLOCK) {
        rc = vmi_guest_clock_register(&cpu->v, &cpu->clock);
        if (rc)
            return rc;
    }
    if (rt_vmi.features & VMI_F_EVENTS) {
        rc = vmi_guest_event_register(&cpu->v, &cpu->events, RT_EVENT_VECTOR);
        if (rc)
            return rc;
        rt_apic_enable();
    }
    return 0;
}

int rt_vmi_setup(uint64_t want, uint64_t *granted)
{
    int rc;

    if (!boot.vmi)
        return -VMI_E_NOSYS;
    rc = vmi_guest_negotiate(&rt_vmi, want, granted);
    if (rc)
        return rc;
    return cpu_vmi_init(rt_this_cpu());
}

void rt_ap_start(struct rt_cpu *cpu)
{
    int rc;

    cpu_bind(cpu, cpu->id);
    rc = cpu_vmi_init(cpu);
    if (rc)
        rt_panic("vCPU %u: clock/event registration failed: %s", cpu->id,
                 vmi_guest_status_name(rc));
    __atomic_store_n(&cpu->online, 1, __ATOMIC_RELEASE);
    cpu->fn(cpu, cpu->arg);
    rt_panic("vCPU %u: function returned", cpu->id);
}

int rt_start_cpu(uint32_t id, void (*fn)(struct rt_cpu *cpu, void *arg),
                 void *arg)
{
    struct rt_cpu *cpu = rt_cpu(id);
    uint64_t cr3;

    if (!cpu)
        return -VMI_E_RANGE;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    cpu->id = id;
    cpu->fn = fn;
    cpu->arg = arg;
    cpu->start.entry_gva = (uint64_t)(uintptr_t)rt_ap_entry;
    cpu->start.stack_gva = (uint64_t)(uintptr_t)(cpu->stack + RT_CPU_STACK);
    cpu->start.page_table_gpa = cr3;
    cpu->start.arg = (uint64_t)(uintptr_t)cpu;
    cpu->start.flags = 0;
    return vmi_guest_vcpu_start(&rt_vmi, id, &cpu->start);
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

static uint64_t virt_to_phys(void *ctx, const void *va)
{
    (void)ctx;
    return (uint64_t)(uintptr_t)va; /* identity mapped */
}

/* hvm_start_info.magic: "xEn3" with the 0x80 bit of the "E" set. */
#define PVH_START_MAGIC 0x336ec578u

void rt_start(uint64_t bootinfo_gpa, uint64_t mb_info)
{
    static const struct vmi_guest_ops ops = {.virt_to_phys = virt_to_phys};
    const struct vmm_bootinfo *bi =
        (const struct vmm_bootinfo *)(uintptr_t)bootinfo_gpa;
    int rc;

    cpu_bind(&rt_cpus[0], 0);
    boot.cmdline = cmdline;
    boot.vcpu_count = 1;
    boot.image_end = ((uint64_t)(uintptr_t)__bss_end + 4095) & ~4095ull;
    if (bi && bi->magic == VMM_BOOTINFO_MAGIC) {
        uint32_t n = bi->cmdline_len < sizeof(cmdline) - 1
                         ? bi->cmdline_len
                         : (uint32_t)sizeof(cmdline) - 1;

        memcpy(cmdline, bi->cmdline, n);
        boot.vmm = 1;
        boot.mem_bytes = bi->mem_bytes;
        boot.vcpu_count = bi->vcpu_count;
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
                    boot.mem_bytes = a + l;
            }
        }
        if (cl_gpa)
            for (size_t i = 0; i < sizeof(cmdline) - 1 && cl[i]; i++)
                cmdline[i] = cl[i];
    } else if (mb_info) {
        /* Multiboot info: flags (+0), mem_upper KiB (+8), cmdline (+16). */
        const uint32_t *mbi = (const uint32_t *)(uintptr_t)mb_info;
        const char *cl = (const char *)(uintptr_t)mbi[4];

        if (mbi[0] & 1)
            boot.mem_bytes = ((uint64_t)mbi[2] + 1024) << 10;
        if (mbi[0] & 4)
            for (size_t i = 0; i < sizeof(cmdline) - 1 && cl[i]; i++)
                cmdline[i] = cl[i];
    }
    if (!boot.vmm) {
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
    vmi_guest_init(&rt_vmi, &ops, console_page);
    rc = vmi_guest_probe(&rt_vmi);
    boot.vmi = rc == 0;
    /* Without vmi-run's record, OpenVMI's discovery gives the vCPU count. */
    if (boot.vmi && !boot.vmm && rt_vmi.info.vcpu_count)
        boot.vcpu_count = rt_vmi.info.vcpu_count;
    if (rc && rc != -VMI_E_NOSYS)
        rt_printf("rt: OpenVMI probe failed: %s\n", vmi_guest_status_name(rc));
    rt_exit((unsigned)kmain(&boot));
}
