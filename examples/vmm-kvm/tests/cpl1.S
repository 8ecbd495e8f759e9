/* SPDX-License-Identifier: MIT */
/*
 * cpl1.S: a test guest that makes a kernel-only hypercall from CPL1.
 *
 * VMI-CALL-017: a `kernel` call made from any CPL above 0 answers
 * VMI_E_PERM, not only from CPL3.  The guest negotiates at CPL0, drops to
 * CPL1 (its own GDT with DPL1 segments, IOPL 3 so the doorbell is
 * reachable), writes to the console, and returns to CPL0 through #UD to
 * power off with the verdict:
 *   0   CONSOLE_WRITE from CPL1 answered VMI_E_PERM
 *   1   it answered something else (the host took CPL1 for the kernel)
 *   50  #GP at CPL1: this hypervisor refuses port I/O below CPL0
 *   51  #GP at CPL0: this hypervisor cannot enter CPL1
 * Any other exception has no handler: a triple fault (vmi-run exit 123).
 */
#include "../../guests/common/find_port.inc"

    .set HC_NEGOTIATE, 0x0001
    .set HC_CONSOLE_WRITE, 0x0100
    .set HC_SHUTDOWN, 0x0101
    .set E_PERM, 2

    .section .text.boot, "ax"
    .code64
    .globl _start64
_start64:
    movq $stack0_top, %rsp
    FIND_DOORBELL_PORT no_openvmi
    movw %dx, doorbell              /* the announced port, never a constant */

    /* TSS descriptor at 0x28: base = tss, limit 103, type 9 (64-bit). */
    movq $tss, %rax
    movq %rax, %rbx
    andq $0xFFFF, %rbx
    shlq $16, %rbx
    orq $103, %rbx                  /* limit 15:0 | base 15:0 << 16 */
    movq %rax, %rcx
    shrq $16, %rcx
    andq $0xFF, %rcx
    shlq $32, %rcx
    orq %rcx, %rbx                  /* base 23:16 */
    movq $0x89, %rcx
    shlq $40, %rcx
    orq %rcx, %rbx                  /* present, DPL0, type 9 */
    movq %rax, %rcx
    shrq $24, %rcx
    andq $0xFF, %rcx
    shlq $56, %rcx
    orq %rcx, %rbx                  /* base 31:24 */
    movq %rbx, gdt + 0x28
    shrq $32, %rax
    movq %rax, gdt + 0x30           /* base 63:32 */
    movq $stack0_top, %rax
    movq %rax, tss + 4              /* RSP0 */
    movw $104, tss + 102            /* no I/O bitmap */

    /* IDT gates for #UD (6) and #GP (13). */
    movq $ud_handler, %rax
    movq $idt + 6 * 16, %rdi
    call set_gate
    movq $gp_handler, %rax
    movq $idt + 13 * 16, %rdi
    call set_gate

    lgdt gdtr
    lidt idtr
    pushq $0x08
    pushq $1f
    lretq
1:  movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl $0x28, %eax
    ltr %ax

    /* NEGOTIATE 1.0, no features: CONSOLE_WRITE is then allowed. */
    movl $HC_NEGOTIATE, %eax
    movl $0x10000, %edi
    xorl %esi, %esi
    movzwl doorbell, %edx
    outl %eax, %dx

    /* iretq to CPL1: SS, RSP, RFLAGS (IOPL 3, IF 0), CS, RIP. */
    pushq $0x21
    pushq $stack1_top
    pushq $0x3002
    pushq $0x19
    pushq $ring1
    iretq

/* RDI: the gate; RAX: the handler.  64-bit interrupt gate, DPL0. */
set_gate:
    movw %ax, (%rdi)
    movw $0x08, 2(%rdi)
    movw $0x8E00, 4(%rdi)
    shrq $16, %rax
    movw %ax, 6(%rdi)
    shrq $16, %rax
    movl %eax, 8(%rdi)
    movl $0, 12(%rdi)
    ret

ring1:
    movl $HC_CONSOLE_WRITE, %eax
    movl $msg, %edi
    movl $msg_len, %esi
    movzwl doorbell, %edx
    outl %eax, %dx
    movq %rax, %rbx                 /* the status, for the #UD handler */
    ud2

/* #UD from CPL1 (frame: RIP, CS, ...): report the CONSOLE_WRITE status. */
ud_handler:
    movl $1, %esi
    movq 8(%rsp), %rax
    andl $3, %eax
    cmpl $1, %eax
    jne shutdown
    cmpq $-E_PERM, %rbx
    jne shutdown
    xorl %esi, %esi
    jmp shutdown

/* #GP (frame: error code, RIP, CS, ...): where did it happen? */
gp_handler:
    movl $50, %esi
    movq 16(%rsp), %rax
    testl $3, %eax
    jnz shutdown
    movl $51, %esi
shutdown:
    movl $HC_SHUTDOWN, %eax
    xorl %edi, %edi                 /* VMI_SHUTDOWN_POWEROFF */
    movzwl doorbell, %edx
    outl %eax, %dx
2:  hlt
    jmp 2b
no_openvmi:
    ud2                             /* no IDT yet: a triple fault (exit 123) */

    .section .rodata
msg:
    .ascii "cpl1: CONSOLE_WRITE from CPL1 was accepted\n"
    .set msg_len, . - msg

    .data
doorbell:
    .word 0
    .balign 16
gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: code, 64-bit, DPL0 */
    .quad 0x00CF92000000FFFF        /* 0x10: data, DPL0 */
    .quad 0x00AFBA000000FFFF        /* 0x18: code, 64-bit, DPL1 */
    .quad 0x00CFB2000000FFFF        /* 0x20: data, DPL1 */
    .quad 0, 0                      /* 0x28: TSS, built at run time */
gdt_end:
    .balign 16
gdtr:
    .word gdt_end - gdt - 1
    .quad gdt
    .balign 16
idtr:
    .word 14 * 16 - 1
    .quad idt

    .bss
    .balign 4096
idt:
    .skip 14 * 16
    .balign 16
tss:
    .skip 104
    .balign 16
    .skip 4096
stack0_top:
    .skip 4096
stack1_top:

    .section .note.GNU-stack, "", @progbits
