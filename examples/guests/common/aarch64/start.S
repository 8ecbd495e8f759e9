/* SPDX-License-Identifier: MIT */
/*
 * start.S (aarch64): entry, exception vectors and static identity page
 * tables of the example guests on Arm's virt machine.
 *
 * QEMU's -kernel loads the ELF image and enters _start at EL1 (EL2 with
 * virtualization=on: _start drops to EL1) with the MMU off; the device
 * tree is at the start of RAM (0x40000000), below the image.  _start masks interrupts, takes the boot stack, installs the
 * vectors, turns the MMU on with the tables below and calls rt_start().
 *
 * Translation: 4 KiB granule, 39-bit virtual addresses from TTBR0_EL1,
 * identity mapped: the first GiB (the GIC, the PL011 and other devices)
 * as Device-nGnRnE, the second (RAM from 0x40000000) as Normal
 * write-back, shareable, and the last GiB below 2^39 as the user window
 * (rt_map_page), whose last-level table is rt_user_pt.
 */
#define MAIR_VALUE 0xFF00 /* attr 0: Device-nGnRnE, attr 1: Normal WB */
#define PTE_TABLE 0x3
#define PTE_BLOCK 0x1
#define PTE_AF (1 << 10)
#define PTE_SH_INNER (3 << 8)
#define PTE_ATTR_NORMAL (1 << 2)
#define PTE_XN (3 << 53) /* PXN and UXN */
/* T0SZ 25 (39 bits), walks write-back cacheable inner shareable, 4 KiB,
 * no TTBR1 walks (EPD1), 40-bit intermediate physical addresses. */
#define TCR_VALUE (25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | \
                   (2 << 32))
#define SCTLR_M (1 << 0)
#define SCTLR_A (1 << 1)
#define SCTLR_C (1 << 2)
#define SCTLR_I (1 << 12)

    .section .text.boot, "ax"
    .globl _start
_start:
    msr daifset, #0xf
    mrs x9, CurrentEL
    cmp x9, #(2 << 2)
    b.ne 2f
    /*
     * Entered at EL2 (a machine with virtualization=on): run at EL1,
     * AArch64, with the counters and timers of EL1 and a zero CNTVOFF.
     */
    mov x9, #(1 << 31)           /* HCR_EL2.RW */
    msr hcr_el2, x9
    mov x9, #3                   /* CNTHCTL_EL2.EL1PCTEN, EL1PCEN */
    msr cnthctl_el2, x9
    msr cntvoff_el2, xzr
    mov x9, #0x3c5               /* EL1h, DAIF masked */
    msr spsr_el2, x9
    adr x9, 2f
    msr elr_el2, x9
    eret
2:  mrs x9, CurrentEL
    cmp x9, #(1 << 2)
    b.ne 1f                      /* EL3: nothing this runtime can do */
    adrp x9, rt_boot_stack_top
    add x9, x9, :lo12:rt_boot_stack_top
    mov sp, x9
    bl rt_mmu_on
    bl rt_start                  /* does not return */
1:  wfi
    b 1b

/* Vectors, the MMU's registers, then the MMU on (x30 kept). */
    .globl rt_mmu_on
rt_mmu_on:
    adrp x9, rt_vectors
    add x9, x9, :lo12:rt_vectors
    msr vbar_el1, x9
    ldr x9, =MAIR_VALUE
    msr mair_el1, x9
    ldr x9, =TCR_VALUE
    msr tcr_el1, x9
    adrp x9, rt_l1
    msr ttbr0_el1, x9
    isb
    tlbi vmalle1
    dsb nsh
    isb
    mrs x9, sctlr_el1
    orr x9, x9, #SCTLR_M
    orr x9, x9, #SCTLR_C
    orr x9, x9, #SCTLR_I
    bic x9, x9, #SCTLR_A
    msr sctlr_el1, x9
    isb
    ret

/*
 * A vCPU started by VMI_HC_VCPU_START: at EL1 with the starter's MMU and
 * vectors, SP_EL1 the stack, x0 its struct rt_cpu (VMI-CPU-012/013).
 */
    .globl rt_ap_entry
rt_ap_entry:
    bl rt_ap_start               /* does not return */
1:  wfi
    b 1b

/*
 * Exceptions from EL1 with SP_EL1 (the only ones this runtime takes):
 * the caller-saved registers, ELR and SPSR on the stack, then
 * rt_exception(frame, kind) with kind 0 synchronous, 1 IRQ, 2 FIQ,
 * 3 SError.  Every other entry is a fault reported by rt_exception too.
 * An entry has room for 32 instructions: it saves x0 and x1, sets the
 * kind and branches to rt_exception_common.
 */
.macro VECTOR kind
    .balign 0x80
    sub sp, sp, #(24 * 8)
    stp x0, x1, [sp, #0]
    mov x1, #\kind
    b rt_exception_common
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .globl rt_vectors
rt_vectors:
    /* EL1 with SP_EL0: never used here */
    VECTOR 4
    VECTOR 4
    VECTOR 4
    VECTOR 4
    /* EL1 with SP_EL1 */
    VECTOR 0
    VECTOR 1
    VECTOR 2
    VECTOR 3
    /* lower EL, AArch64 and AArch32: this runtime runs nothing at EL0 */
    VECTOR 5
    VECTOR 5
    VECTOR 5
    VECTOR 5
    VECTOR 5
    VECTOR 5
    VECTOR 5
    VECTOR 5

rt_exception_common:
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x29, [sp, #144]
    mrs x9, elr_el1
    mrs x10, spsr_el1
    stp x30, x9, [sp, #160]
    str x10, [sp, #176]
    mov x0, sp
    bl rt_exception
    ldr x10, [sp, #176]
    ldp x30, x9, [sp, #160]
    msr elr_el1, x9
    msr spsr_el1, x10
    ldp x18, x29, [sp, #144]
    ldp x16, x17, [sp, #128]
    ldp x14, x15, [sp, #112]
    ldp x12, x13, [sp, #96]
    ldp x10, x11, [sp, #80]
    ldp x8, x9, [sp, #64]
    ldp x6, x7, [sp, #48]
    ldp x4, x5, [sp, #32]
    ldp x2, x3, [sp, #16]
    ldp x0, x1, [sp, #0]
    add sp, sp, #(24 * 8)
    eret

    .section .data.pagetables, "aw"
    .balign 4096
    .globl rt_l1, rt_user_pt
rt_l1:
    .quad 0x00000000 | PTE_BLOCK | PTE_AF | PTE_XN
    .quad 0x40000000 | PTE_BLOCK | PTE_AF | PTE_SH_INNER | PTE_ATTR_NORMAL
    .fill 509, 8, 0
    .quad rt_l2_window + PTE_TABLE
rt_l2_window:
    .quad rt_user_pt + PTE_TABLE
    .fill 511, 8, 0
rt_user_pt:
    .fill 512, 8, 0

    .section .bss
    .balign 16
rt_boot_stack:
    .skip 16384
rt_boot_stack_top:
