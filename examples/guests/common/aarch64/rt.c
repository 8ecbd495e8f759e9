/* SPDX-License-Identifier: MIT */
/*
 * rt.c (aarch64): the architecture's part of the example guests' runtime
 * (see rt.h, rt_internal.h) on QEMU's virt machine: boot from the device
 * tree, the PL011 and semihosting without OpenVMI, the GICv3 (upcalls are
 * the PPI RT_EVENT_VECTOR), exceptions, per-vCPU state in TPIDR_EL1 and the
 * user window's page table.
 */
#include "rt.h"

#include "rt_internal.h"

#define DTB_GPA 0x40000000ull /* QEMU virt: bare-metal images find it here */
#define RAM_MAPPED_END 0x80000000ull /* start.S maps RAM up to 2 GiB */

/* Device tree (big-endian) tokens. */
#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u

/* GICv3 */
#define GICD_CTLR 0x0000
#define GICD_CTLR_RWP (1u << 31)
#define GICR_FRAME 0x20000 /* RD_base and SGI_base frames */
#define GICR_WAKER 0x0014
#define GICR_TYPER 0x0008
#define GICR_SGI 0x10000
#define GICR_IGROUPR0 (GICR_SGI + 0x0080)
#define GICR_ISENABLER0 (GICR_SGI + 0x0100)
#define GICR_ISACTIVER0 (GICR_SGI + 0x0300)
#define GICR_IPRIORITYR (GICR_SGI + 0x0400)
#define GICR_ICFGR1 (GICR_SGI + 0x0C04)

/* PL011 */
#define UART_DR 0x00
#define UART_FR 0x18
#define UART_FR_TXFF (1u << 5)

/* The last-level table of the user window (start.S). */
extern uint64_t rt_user_pt[];
extern char __bss_end[];
void rt_start(void);
void rt_exception(uint64_t *frame, uint64_t kind);

static uint64_t gicd, gicr, uart;
static void (*event_handler)(struct rt_cpu *cpu, uint64_t events);
static int hvc_conduit; /* the device tree's PSCI method is "hvc" */

/* ---- string helpers (no libc) -------------------------------------------- */

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;

    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;

    while (n--)
        *dp++ = *sp++;
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
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

/* ---- MMIO and system registers --------------------------------------------
 */

static inline void w32(uint64_t a, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)a = v;
}

static inline uint32_t r32(uint64_t a)
{
    return *(volatile uint32_t *)(uintptr_t)a;
}

#define SYSREG_READ(name)                                                      \
    ({                                                                         \
        uint64_t v_;                                                           \
        __asm__ volatile("mrs %0, " name : "=r"(v_)::"memory");                \
        v_;                                                                    \
    })
#define SYSREG_WRITE(name, v)                                                  \
    __asm__ volatile("msr " name ", %0" ::"r"((uint64_t)(v)) : "memory")

#define ICC_PMR_EL1 "S3_0_C4_C6_0"
#define ICC_IAR1_EL1 "S3_0_C12_C12_0"
#define ICC_EOIR1_EL1 "S3_0_C12_C12_1"
#define ICC_BPR1_EL1 "S3_0_C12_C12_3"
#define ICC_SRE_EL1 "S3_0_C12_C12_5"
#define ICC_IGRPEN1_EL1 "S3_0_C12_C12_7"

/* ---- the hooks of rt_internal.h -------------------------------------------
 */

void rt__raw_write(const char *s, size_t n)
{
    if (!uart)
        return;
    for (size_t i = 0; i < n; i++) {
        while (r32(uart + UART_FR) & UART_FR_TXFF)
            ;
        w32(uart + UART_DR, (uint8_t)s[i]);
    }
}

_Noreturn void rt__halt(void)
{
    for (;;)
        __asm__ volatile("msr daifset, #0xf; wfi");
}

/*
 * Semihosting's SYS_EXIT with ADP_Stopped_ApplicationExit and the status
 * (QEMU: -semihosting; QEMU exits with the status).  Without semihosting
 * the HLT is undefined: the exception comes back here, and the vCPU halts.
 */
_Noreturn void rt__raw_exit(unsigned status)
{
    static volatile int exiting;
    static uint64_t block[2];

    if (!exiting) {
        exiting = 1;
        block[0] = 0x20026; /* ADP_Stopped_ApplicationExit */
        block[1] = status;
        register uint64_t x0 __asm__("x0") = 0x18; /* SYS_EXIT */
        register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)block;
        __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
    }
    rt__halt();
}

uint64_t rt_page_table_root(void)
{
    return SYSREG_READ("ttbr0_el1");
}

/* ---- GICv3 -----------------------------------------------------------------
 */

uint64_t rt_gic_redist(uint32_t aff)
{
    for (uint64_t rd = gicr; gicr; rd += GICR_FRAME) {
        uint64_t typer = (uint64_t)r32(rd + GICR_TYPER) |
                         (uint64_t)r32(rd + GICR_TYPER + 4) << 32;

        if ((uint32_t)(typer >> 32) == aff)
            return rd;
        if (typer & (1u << 4)) /* Last */
            break;
    }
    return 0;
}

/* This vCPU's redistributor (RD_base), found by its affinity. */
static uint64_t gicr_self(void)
{
    uint64_t mpidr = SYSREG_READ("mpidr_el1");

    return rt_gic_redist(
        (uint32_t)((mpidr & 0xFFFFFF) | ((mpidr >> 32 & 0xFF) << 24)));
}

/* Wake this vCPU's redistributor, group 1 for its PPIs, CPU interface on. */
static void gic_cpu_init(void)
{
    uint64_t rd = gicr_self();

    if (!rd)
        return;
    w32(rd + GICR_WAKER, r32(rd + GICR_WAKER) & ~2u); /* ProcessorSleep */
    while (r32(rd + GICR_WAKER) & 4u)                 /* ChildrenAsleep */
        ;
    w32(rd + GICR_IGROUPR0, 0xFFFFFFFFu);
    SYSREG_WRITE(ICC_SRE_EL1, SYSREG_READ(ICC_SRE_EL1) | 1);
    __asm__ volatile("isb");
    SYSREG_WRITE(ICC_PMR_EL1, 0xFF);
    SYSREG_WRITE(ICC_BPR1_EL1, 0);
    SYSREG_WRITE(ICC_IGRPEN1_EL1, 1);
    __asm__ volatile("isb");
}

int rt_has_lapic(void)
{
    return gicd != 0;
}

/*
 * The upcall PPI on this vCPU: edge-triggered (VMI-EVT-040 asks a guest
 * that programs the trigger to make it edge), middle priority, enabled.
 */
void rt_apic_enable(void)
{
    uint64_t rd = gicr_self();
    unsigned ppi = RT_EVENT_VECTOR - 16;

    if (!rd)
        return;
    w32(rd + GICR_ICFGR1, r32(rd + GICR_ICFGR1) | 2u << (2 * ppi));
    *(volatile uint8_t *)(uintptr_t)(rd + GICR_IPRIORITYR + RT_EVENT_VECTOR) =
        0x80;
    w32(rd + GICR_ISENABLER0, 1u << RT_EVENT_VECTOR);
}

/* Every INTID already ends in rt_exception (counted as stray). */
void rt_catch_all_interrupts(void)
{
}

/* No local APIC on aarch64. */
int rt_lapic_timer_oneshot(uint8_t vector, uint32_t count)
{
    (void)vector;
    (void)count;
    return -1;
}

int rt_lapic_send_init(uint32_t apic_id)
{
    (void)apic_id;
    return -1;
}

void rt_set_event_handler(void (*fn)(struct rt_cpu *cpu, uint64_t events))
{
    event_handler = fn;
}

/* An interrupt: acknowledge, serve, end with an EOI (VMI-EVT-041). */
static void irq(void)
{
    uint64_t iar = SYSREG_READ(ICC_IAR1_EL1);
    uint32_t intid = (uint32_t)(iar & 0xFFFFFF);
    struct rt_cpu *cpu = rt_this_cpu();

    if (intid >= 1020) /* spurious */
        return;
    if (intid == RT_EVENT_VECTOR) {
        uint64_t rd = gicr_self();
        uint64_t ev = vmi_guest_event_take(&cpu->v);

        cpu->irqs++;
        if (rd && (r32(rd + GICR_ISACTIVER0) & (1u << intid)))
            cpu->irqs_in_service++;
        SYSREG_WRITE(ICC_EOIR1_EL1, iar);
        if (event_handler)
            event_handler(cpu, ev);
        return;
    }
    cpu->stray_irqs++;
    SYSREG_WRITE(ICC_EOIR1_EL1, iar);
}

void rt_exception(uint64_t *frame, uint64_t kind)
{
    if (kind == 1) {
        irq();
        return;
    }
    rt_panic("exception kind %lu ESR 0x%lx at PC 0x%lx (FAR 0x%lx, "
             "SPSR 0x%lx)",
             kind, SYSREG_READ("esr_el1"), frame[21], SYSREG_READ("far_el1"),
             frame[22]);
}

/* ---- per-vCPU state --------------------------------------------------------
 */

struct rt_cpu *rt_this_cpu(void)
{
    return (struct rt_cpu *)(uintptr_t)SYSREG_READ("tpidr_el1");
}

void rt__cpu_bind(struct rt_cpu *cpu, uint32_t id)
{
    cpu->self = cpu;
    cpu->id = id;
    SYSREG_WRITE("tpidr_el1", (uint64_t)(uintptr_t)cpu);
    gic_cpu_init();
}

/* ---- paging and user mode --------------------------------------------------
 */

#define L3_PAGE 0x3ull
#define L3_AF (1ull << 10)
#define L3_SH_INNER (3ull << 8)
#define L3_ATTR_NORMAL (1ull << 2)
#define L3_AP_EL0 (1ull << 6)
#define L3_AP_RO (1ull << 7)
#define L3_UXN (1ull << 54)
#define L3_FRAME 0x0000FFFFFFFFF000ull

uint64_t rt_map_page(unsigned index, uint64_t gpa, uint64_t flags)
{
    uint64_t va = RT_USER_WINDOW + (uint64_t)index * 4096;
    uint64_t d =
        (gpa & L3_FRAME) | L3_PAGE | L3_AF | L3_SH_INNER | L3_ATTR_NORMAL;

    if (index >= RT_USER_WINDOW_PAGES)
        return 0;
    if (!(flags & VMI_PTE_WRITE))
        d |= L3_AP_RO;
    d |= (flags & VMI_PTE_USER) ? L3_AP_EL0 : L3_UXN;
    __atomic_store_n(&rt_user_pt[index], d, __ATOMIC_RELEASE);
    __asm__ volatile(
        "dsb ishst\n\ttlbi vale1, %0\n\tdsb nsh\n\tisb" ::"r"(va >> 12)
        : "memory");
    return va;
}

uint64_t rt_window_pte_gpa(unsigned index)
{
    return (uint64_t)(uintptr_t)&rt_user_pt[index];
}

/*
 * User mode: HVC is undefined at EL0 (VMI-CALL-034's note), so no OpenVMI
 * call can come from there; this runtime runs nothing at EL0 on aarch64.
 */
void rt_user_init(void)
{
}

uint64_t rt_user_enter(uint64_t rip, uint64_t rsp, uint64_t arg)
{
    (void)rip;
    (void)rsp;
    (void)arg;
    return RT_USER_FAULT;
}

_Noreturn void rt_user_abort(uint64_t code)
{
    rt_panic("rt_user_abort(0x%lx): no user mode on aarch64", code);
}

/* ---- boot: the device tree -------------------------------------------------
 */

static uint32_t be32(const void *p)
{
    const uint8_t *b = p;

    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
           b[3];
}

static uint64_t be64(const void *p)
{
    return (uint64_t)be32(p) << 32 | be32((const uint8_t *)p + 4);
}

static int prefix(const char *s, const char *p)
{
    return memcmp(s, p, strlen(p)) == 0;
}

/*
 * What the runtime needs from the virt machine's device tree: RAM, the
 * number of CPUs, the command line (/chosen/bootargs), the PSCI method,
 * the GICv3's distributor and redistributors, the PL011.  Top-level nodes
 * have 2-cell addresses and sizes on virt.
 */
static void parse_dtb(void)
{
    const uint8_t *fdt = (const uint8_t *)(uintptr_t)DTB_GPA;
    const uint8_t *p, *strings;
    char top[32] = "";
    int depth = 0, in_cpus = 0;

    if (be32(fdt) != FDT_MAGIC)
        return;
    p = fdt + be32(fdt + 8);
    strings = fdt + be32(fdt + 12);
    for (;;) {
        uint32_t tok = be32(p);

        p += 4;
        if (tok == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;
            size_t n = strlen(name);

            depth++;
            if (depth == 2) {
                memcpy(top, name, n < sizeof(top) - 1 ? n : sizeof(top) - 1);
                top[n < sizeof(top) - 1 ? n : sizeof(top) - 1] = 0;
                in_cpus = strlen(top) == 4 && prefix(top, "cpus");
            } else if (depth == 3 && in_cpus && prefix(name, "cpu@")) {
                rt__boot.vcpu_count++;
            }
            p += (n + 4) & ~(size_t)3;
        } else if (tok == FDT_END_NODE) {
            depth--;
        } else if (tok == FDT_PROP) {
            uint32_t len = be32(p);
            const char *pname = (const char *)strings + be32(p + 4);
            const uint8_t *val = p + 8;

            if (depth == 2 && strlen(pname) == 3 && prefix(pname, "reg")) {
                if (prefix(top, "memory@") && len >= 16) {
                    uint64_t end = be64(val) + be64(val + 8);

                    rt__boot.mem_bytes =
                        end < RAM_MAPPED_END ? end : RAM_MAPPED_END;
                } else if (prefix(top, "intc@") && len >= 32) {
                    gicd = be64(val);
                    gicr = be64(val + 16);
                } else if (prefix(top, "pl011@") && len >= 16) {
                    uart = be64(val);
                }
            } else if (depth == 2 && prefix(top, "psci") &&
                       strlen(pname) == 6 && prefix(pname, "method")) {
                hvc_conduit = len >= 4 && memcmp(val, "hvc", 4) == 0;
            } else if (depth == 2 && prefix(top, "chosen") &&
                       strlen(pname) == 8 && prefix(pname, "bootargs")) {
                size_t n = len < RT_CMDLINE_MAX ? len : RT_CMDLINE_MAX - 1;

                memcpy(rt__cmdline, val, n);
                rt__cmdline[n] = 0;
            }
            p += 8 + ((len + 3) & ~3u);
        } else if (tok != FDT_NOP) {
            break; /* FDT_END, or a damaged tree */
        }
    }
}

/* The GICv3 distributor: affinity routing, both groups (no EL3 here). */
static void gic_init(void)
{
    if (!gicd)
        return;
    w32(gicd + GICD_CTLR, (1u << 4) | 3u);
    while (r32(gicd + GICD_CTLR) & GICD_CTLR_RWP)
        ;
}

static void raw_puts(const char *s)
{
    rt__raw_write(s, strlen(s));
}

/* An SMCCC call through the HVC conduit: x0 back. */
static int64_t smccc(uint32_t fid, uint64_t arg)
{
    register uint64_t x0 __asm__("x0") = fid;
    register uint64_t x1 __asm__("x1") = arg;

    __asm__ volatile("hvc #0"
                     : "+r"(x0), "+r"(x1)
                     :
                     /* SMCCC 1.0 may not keep x4-x17 */
                     : "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
                       "x11", "x12", "x13", "x14", "x15", "x16", "x17",
                       "memory");
    return (int32_t)x0;
}

/*
 * VMI-DSC-036: discovery only through an SMCCC 1.1 HVC conduit, decided as
 * Linux's psci_init_smccc() does: the device tree's PSCI method is "hvc",
 * PSCI_FEATURES lists SMCCC_VERSION, and that says 1.1 or later.
 */
static int smccc_hvc_1_1(void)
{
    int64_t v;

    if (!hvc_conduit)
        return 0;
    if (smccc(0x8400000Au, 0x80000000u) != 0) { /* PSCI_FEATURES */
        raw_puts("rt: PSCI does not list SMCCC_VERSION: no SMCCC 1.1 "
                 "conduit\n");
        return 0;
    }
    v = smccc(0x80000000u, 0); /* SMCCC_VERSION */
    if (v < 0x10001) {
        raw_puts("rt: SMCCC_VERSION is below 1.1: no SMCCC 1.1 conduit\n");
        return 0;
    }
    return 1;
}

void rt_start(void)
{
    rt__boot.image_end = ((uint64_t)(uintptr_t)__bss_end + 4095) & ~4095ull;
    parse_dtb();
    if (!rt__boot.vcpu_count)
        rt__boot.vcpu_count = 1;
    gic_init();
    rt__cpu_bind(rt_cpu(0), 0);
    rt__boot_finish(smccc_hvc_1_1());
}
