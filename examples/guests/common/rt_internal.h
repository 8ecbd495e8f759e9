/* SPDX-License-Identifier: MIT */
/*
 * rt_internal.h: between the runtime's common part (rt_core.c) and each
 * architecture's part (rt.c and start.S on x86-64, aarch64/ on aarch64).
 */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include "rt.h"

#define RT_CMDLINE_MAX 1024u

/* Filled by the architecture's boot code before rt__boot_finish(). */
extern struct rt_boot rt__boot;
extern char rt__cmdline[RT_CMDLINE_MAX];

/*
 * Probe OpenVMI when may_probe (boot->vmi, the vCPU count without a boot
 * record; aarch64 passes 0 unless the firmware's SMCCC conduit is HVC,
 * VMI-DSC-036), run kmain and exit with its status.  The boot vCPU is
 * bound (rt__cpu_bind) and takes exceptions.
 */
_Noreturn void rt__boot_finish(int may_probe);

/* ---- provided by the architecture -------------------------------------- */
/* The console without OpenVMI (x86: COM1; aarch64: the PL011). */
void rt__raw_write(const char *s, size_t n);
/* End the VM with `status` without OpenVMI (x86: isa-debug-exit; aarch64:
 * semihosting's SYS_EXIT_EXTENDED, QEMU exits with the status). */
_Noreturn void rt__raw_exit(unsigned status);
/* Stop this vCPU for good, interrupts off. */
_Noreturn void rt__halt(void);
/* Make `cpu` the calling vCPU's runtime state (rt_this_cpu()). */
void rt__cpu_bind(struct rt_cpu *cpu, uint32_t id);
/* Entry of vCPUs started by rt_start_cpu: calls rt_ap_start(arg). */
void rt_ap_entry(void);
void rt_ap_start(struct rt_cpu *cpu);

#endif /* RT_INTERNAL_H */
