/* SPDX-License-Identifier: MIT */
/*
 * rt.h: the example guests' tiny kernel runtime (boot, console, panic,
 * interrupts, per-vCPU OpenVMI state, secondary vCPUs, user mode).
 *
 * A guest provides `int kmain(const struct rt_boot *boot)`; its return
 * value is the exit status (vmi-run: SHUTDOWN POWEROFF with that status;
 * QEMU without OpenVMI: isa-debug-exit at port 0xf4).  Everything runs
 * identity mapped (virtual == physical) with interrupts disabled unless a
 * guest enables them.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <vmi_guest.h>

#define RT_MAX_CPUS 64u
#if defined(__aarch64__)
#define RT_EVENT_VECTOR 16u /* upcall PPI (INTID) registered for events */
#else
#define RT_EVENT_VECTOR 0xF0u /* upcall vector registered for events */
#endif
#define RT_USER_EXIT_VECTOR 0x80u /* user code: int $0x80 returns to kernel */
#define RT_USER_WINDOW 0x7FC0000000ull /* 512 4 KiB pages, see rt_map_page */
#define RT_USER_WINDOW_PAGES 512u
#define RT_CPU_STACK 16384u

struct rt_boot {
    uint64_t mem_bytes;  /* end of guest RAM: its last GPA + 1 (0 unknown) */
    uint64_t image_end;  /* first free GPA after the image, 4 KiB aligned */
    uint32_t vcpu_count; /* vCPUs of the VM (1 without vmi-run) */
    int vmi;             /* 1: OpenVMI found (rt_vmi probed) */
    int vmm;             /* 1: started by vmi-run (boot info present) */
    const char *cmdline; /* never NULL */
};

/* Per-vCPU runtime state, reached through GS on that vCPU. */
struct rt_cpu {
    struct vmi_clock_record clock __attribute__((aligned(64)));
    struct vmi_event_record events __attribute__((aligned(64)));
    struct vmi_vcpu_start start __attribute__((aligned(64)));
    struct vmi_guest_vcpu v;
    struct rt_cpu *self; /* read through GS (GS base = this struct) */
    uint32_t id;
    volatile uint32_t online;
    void (*fn)(struct rt_cpu *cpu, void *arg);
    void *arg;
    uint64_t irqs;            /* event upcalls taken */
    uint64_t irqs_in_service; /* ... that were in the local APIC's ISR */
    uint64_t stray_irqs;      /* other vectors (rt_catch_all_interrupts) */
    uint8_t stack[RT_CPU_STACK] __attribute__((aligned(16)));
};

/* Provided by the guest. */
int kmain(const struct rt_boot *boot);

/* The OpenVMI library state (valid when boot->vmi). */
extern struct vmi_guest rt_vmi;

/* ---- console and formatting ---------------------------------------------- */
/* Formats %d %i %u %x %X %c %s %p %% with l/ll/z and width/0/- flags. */
int rt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rt_write(const char *s, size_t n); /* OpenVMI console or COM1 */
_Noreturn void rt_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
_Noreturn void rt_exit(unsigned status);
/* Look up key=<number> on the command line (decimal or 0x hex). */
int rt_cmdline_u64(const char *cmdline, const char *key, uint64_t *val);

/* ---- string helpers (the compiler may also emit calls to these) ---------- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---- OpenVMI setup ------------------------------------------------------- */
/*
 * Negotiate `want` (reduced to what is offered) and, on the calling
 * (boot) vCPU, register the clock record and the event record with
 * RT_EVENT_VECTOR, all events unmasked.  0 or status.
 */
int rt_vmi_setup(uint64_t want, uint64_t *granted);
/* The calling vCPU's runtime state. */
struct rt_cpu *rt_this_cpu(void);
struct rt_cpu *rt_cpu(uint32_t id);
/* VM clock now (ns) read on the calling vCPU. */
uint64_t rt_now(void);
/*
 * Event upcall handler (called in interrupt context on the receiving vCPU
 * with the events taken from its record).  NULL: events are only counted.
 */
void rt_set_event_handler(void (*fn)(struct rt_cpu *cpu, uint64_t events));
/*
 * 1 when the vCPUs have a local APIC (CPUID 01H EDX bit 9): upcalls then
 * come through it and the runtime EOIs them; 0 (vmi-run without
 * --kernel-irqchip): they are plain external interrupts, never EOI'd.
 */
int rt_has_lapic(void);
/*
 * Give every vector 32-255 a gate that counts the interrupt in stray_irqs
 * and ends it: for guests that register upcall vectors the runtime does not
 * serve (the conformance image).  Without it such a vector ends as a
 * double fault.
 */
void rt_catch_all_interrupts(void);
/*
 * Start the calling vCPU's local APIC timer: one interrupt at `vector`
 * after `count` ticks of the timer's clock, divided by 1 (QEMU: 1 ns per
 * tick).  -1 without a local APIC.  Enable the APIC first (rt_apic_enable).
 */
int rt_lapic_timer_oneshot(uint8_t vector, uint32_t count);
/*
 * Send an INIT IPI to the local APIC `apic_id` (on QEMU, a vCPU's index):
 * the platform's reset of that vCPU.  -1 without a local APIC.
 */
int rt_lapic_send_init(uint32_t apic_id);
/* Enable the local APIC, if any, so upcalls can be delivered (per vCPU). */
void rt_apic_enable(void);
#if defined(__aarch64__)
static inline void rt_irq_enable(void)
{
    __asm__ volatile("msr daifclr, #2" ::: "memory");
}
static inline void rt_irq_disable(void)
{
    __asm__ volatile("msr daifset, #2" ::: "memory");
}
/* No exit is needed on aarch64 for a pending interrupt to be taken. */
static inline void rt_irq_enable_sync(void)
{
    rt_irq_enable();
    __asm__ volatile("isb" ::: "memory");
}
static inline void rt_cpu_relax(void)
{
    __asm__ volatile("yield" ::: "memory");
}
#else
static inline void rt_irq_enable(void)
{
    __asm__ volatile("sti" ::: "memory");
}
static inline void rt_irq_disable(void)
{
    __asm__ volatile("cli" ::: "memory");
}
static inline void rt_cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}
/*
 * Enable interrupts and make the hypervisor look at pending ones now.
 * KVM-PVM emulates guest CPL0 code in batches and does not stop at an STI
 * for an interrupt that became pending while IF was 0: the interrupt would
 * wait for the next exit.  The port read (PIC mask, harmless everywhere;
 * after the STI shadow) is such an exit, where vmi-run injects the
 * pending upcall.  Use after BLOCK and wherever an upcall may be pending.
 */
static inline void rt_irq_enable_sync(void)
{
    uint8_t v;

    __asm__ volatile("sti; nop; inb $0x21, %0" : "=a"(v)::"memory");
}
#endif

/*
 * Start secondary vCPU `id` running fn(cpu, arg) on its runtime stack with
 * its clock and event records registered.  Returns 0 once the call was
 * accepted (cpu->online turns 1 when it runs), or a status.
 */
int rt_start_cpu(uint32_t id, void (*fn)(struct rt_cpu *cpu, void *arg),
                 void *arg);

/* The calling vCPU's page-table root (x86 CR3, aarch64 TTBR0_EL1). */
uint64_t rt_page_table_root(void);
#if defined(__aarch64__)
/*
 * The GICv3 redistributor (its RD_base GPA) of the CPU whose MPIDR
 * affinity is `affinity` (Aff3 in bits 31:24), 0 when there is none.
 */
uint64_t rt_gic_redist(uint32_t affinity);
#endif

/* ---- spinlock ------------------------------------------------------------ */
typedef struct {
    volatile uint32_t v;
} rt_lock_t;
void rt_lock(rt_lock_t *l);
void rt_unlock(rt_lock_t *l);

/* ---- paging and user mode --------------------------------------------------
 */
/*
 * Map 4 KiB page `index` of the user window (VA RT_USER_WINDOW + index *
 * 4096) to gpa with PTE flags (VMI_PTE_* bits; PRESENT is implied) and
 * flush it locally.  Returns the virtual address, or 0 for a bad index.
 */
uint64_t rt_map_page(unsigned index, uint64_t gpa, uint64_t flags);
/* Guest-physical address of the window's PTE for `index` (TLB tests). */
uint64_t rt_window_pte_gpa(unsigned index);
/*
 * Prepare the boot vCPU for user mode (TSS with a kernel stack, the
 * int $0x80 gate).  Call once before rt_user_enter.
 */
void rt_user_init(void);
/*
 * Run user code at CPL3 with IOPL 3 (port I/O, so the OpenVMI port-I/O
 * transport works from user mode) and interrupts off, RDI = arg, until it
 * executes `int $0x80`; returns its RAX.  rip and rsp must be in pages
 * mapped with VMI_PTE_USER.
 */
uint64_t rt_user_enter(uint64_t rip, uint64_t rsp, uint64_t arg);
/*
 * rt_user_enter's result when the user code took an exception instead:
 * RT_USER_FAULT | vector (for example #GP when the hypervisor does not
 * let CPL3 code do port I/O despite IOPL 3, as on KVM-PVM).
 */
#define RT_USER_FAULT 0xFA17000000000000ull
_Noreturn void rt_user_abort(uint64_t code);

/* ---- port I/O ------------------------------------------------------------ */
#if defined(__x86_64__)
static inline void rt_outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
#endif

#endif /* RT_H */
