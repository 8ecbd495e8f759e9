/* SPDX-License-Identifier: MIT */
/* internal.h: guest-lib internals shared by the service files and arch/. */
#ifndef VMI_GUEST_INTERNAL_H
#define VMI_GUEST_INTERNAL_H

#include "vmi_guest.h"

/*
 * The arch layer (arch/<arch>/cpu.c, chosen by CMake; arch/hosted for the
 * hosted build).  Generic files never test the architecture themselves.
 */

/*
 * Execute CPUID (x86) or the arch's equivalent query.  Architectures without
 * CPUID present OpenVMI discovery in CPUID shape (aarch64 maps CALL_UID and
 * INFO(n) onto leaves 1 and 0x40000000 + n), so probe.c has one algorithm.
 * An arch with no hypervisor interface at all returns zeros.
 */
void vmi__arch_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
/* Read the time counter (x86: lfence; rdtsc.  aarch64: isb; cntvct_el0). */
uint64_t vmi__arch_rdtsc(void);
/* Transports this arch can execute natively (VMI_TRANSPORT_* bits). */
uint32_t vmi__arch_transports(void);
/*
 * One hypercall through native transport t (enum vmi_guest_transport);
 * port: the doorbell for VMI_GUEST_T_PORTIO.  rets[0..1] always written.
 * Returns the status register, or -VMI_E_NOSYS for a transport this arch
 * cannot execute.
 */
int64_t vmi__arch_call(uint32_t t, uint16_t port, uint64_t nr,
                       const uint64_t args[VMI_HC_MAX_ARGS],
                       uint64_t rets[VMI_HC_MAX_RETS]);
/* Flush the local TLB (x86: CR3 reload). */
void vmi__arch_tlb_flush_local(void);
/* Spin-wait hint. */
void vmi__arch_pause(void);
/*
 * Disable interrupts and return the previous state (x86: RFLAGS; aarch64:
 * DAIF); vmi__arch_irq_restore puts it back.  For guest-lib's own BLOCKs,
 * which VMI-EVT-048 wants made with interrupts disabled.  The hosted build
 * has no interrupts: both do nothing.
 */
uint64_t vmi__arch_irq_save(void);
void vmi__arch_irq_restore(uint64_t state);

/* ---- shared helpers (src/call.c) ---- */

/*
 * Zero / copy memory without libc.  Word-sized stores where alignment
 * allows: guest CPL0 code may be emulated instruction by instruction (KVM
 * PVM runs it at about 1 us per instruction), so a byte loop over a struct
 * or a console chunk costs milliseconds.
 */
void vmi__zero(void *dst, size_t n);
void vmi__copy(void *dst, const void *src, size_t n);

/* Guest-physical address of kernel memory va, through ops->virt_to_phys. */
uint64_t vmi__phys(const struct vmi_guest *g, const void *va);
/* Read the TSC through ops->rdtsc or natively. */
uint64_t vmi__rdtsc(const struct vmi_guest *g);
/* Convenience wrappers around vmi_guest_call with up to 5 arguments. */
int64_t vmi__call5(const struct vmi_guest *g, uint32_t nr, uint64_t a0,
                   uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                   uint64_t rets[VMI_HC_MAX_RETS]);

/*
 * The native transport for the announced set `offered`, among those the
 * arch can execute (`usable`), given CPUID.0 in r (EAX EBX ECX EDX):
 * PORTIO, else HVC, else VMCALL on Intel / VMMCALL on AMD and Hygon.
 * VMI_GUEST_T_NONE when nothing fits.
 */
uint32_t vmi__pick_transport(uint32_t offered, uint32_t usable,
                             const uint32_t r[4]);

/*
 * Run a restartable batched call (PT_UPDATE, MEM_RELEASE, MEM_RECLAIM) over
 * `count` 16-byte entries at va, in windows of at most info.max_batch,
 * restarting after VMI_E_AGAIN.  *done: entries applied (on failure the
 * index of the failed entry), *calls: hypercalls made.  Returns 0 or the
 * failing status.
 */
int vmi__batch(const struct vmi_guest *g, uint32_t nr, const void *va,
               uint32_t count, uint32_t *done, uint32_t *calls);

#endif /* VMI_GUEST_INTERNAL_H */
