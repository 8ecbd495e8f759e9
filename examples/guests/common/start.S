/* SPDX-License-Identifier: MIT */
/*
 * start.S: entry points, Multiboot header, GDT and static identity page
 * tables of the example guests.
 *
 * Three ways in:
 *  - _start64: vmi-run enters here in 64-bit mode with RDI = GPA of a
 *    struct vmm_bootinfo (its own GDT and page tables still loaded).
 *  - _start32: a Multiboot loader (QEMU -kernel) enters here in 32-bit
 *    protected mode, paging off, EAX = 0x2BADB002, EBX = Multiboot info.
 *  - _start32 as the PVH entry (built with RT_PVH: the image then carries
 *    the Xen PHYS32_ENTRY ELF note instead of the Multiboot header, since
 *    QEMU tries Multiboot first): the same 32-bit state, EBX = the
 *    struct hvm_start_info, which rt_start tells apart by its magic.
 * All load the runtime's own GDT and page tables and call
 * rt_start(bootinfo_gpa, multiboot_or_pvh_info) on the boot stack.
 *
 * The page tables are initialised data, not built at run time: guest CPL0
 * code under KVM-PVM is emulated at about 1 us per instruction, and filling
 * 2048 entries would cost milliseconds.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010000 /* bit 16: the address fields below are valid */

#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_U 0x4
#define PTE_PS 0x80

#ifdef RT_PVH
/* The PVH entry point (Xen's public elfnote.h, XEN_ELFNOTE_PHYS32_ENTRY). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                 /* name size: "Xen\0" */
    .long 4                 /* descriptor size */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .long _start32
    .balign 4
#else
    .section .multiboot, "a"
    .balign 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long mb_header         /* header_addr */
    .long __image_start     /* load_addr */
    .long __data_end        /* load_end_addr */
    .long __bss_end         /* bss_end_addr */
    .long _start32          /* entry_addr */
#endif

    .code32
    .section .text.boot, "ax"
    .globl _start32
_start32:
    cli
    movl %ebx, %esi                 /* Multiboot or PVH info, for rt_start */
    lgdt rt_gdt_ptr32
    movl %cr4, %eax
    orl $0x20, %eax                 /* PAE */
    movl %eax, %cr4
    movl $rt_pml4, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx          /* EFER */
    rdmsr
    orl $0x900, %eax                /* LME | NXE */
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax           /* PG | WP | PE */
    movl %eax, %cr0
    ljmp $0x08, $mb64

    .code64
mb64:
    movl %esi, %esi                 /* zero-extend the Multiboot info GPA */
    xorl %edi, %edi                 /* no vmi-run boot info */
    jmp common64

    .globl _start64
    .type _start64, @function
_start64:
    cli
    xorl %esi, %esi                 /* no Multiboot info */
    lgdt rt_gdt_ptr
    movq $rt_pml4, %rax
    movq %rax, %cr3
common64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    leaq rt_boot_stack_top(%rip), %rsp
    pushq $0x08
    leaq 1f(%rip), %rax
    pushq %rax
    lretq                           /* reload CS from the runtime's GDT */
1:  xorl %ebp, %ebp
    call rt_start
2:  cli
    hlt
    jmp 2b
    .size _start64, . - _start64

/*
 * Secondary vCPU entry (VMI_HC_VCPU_START): RSP and RDI set by the host,
 * segment state copied from the starting vCPU.  rt_ap_start(arg).
 */
    .globl rt_ap_entry
    .type rt_ap_entry, @function
rt_ap_entry:
    xorl %ebp, %ebp
    andq $-16, %rsp
    call rt_ap_start
3:  cli
    hlt
    jmp 3b
    .size rt_ap_entry, . - rt_ap_entry

/* ---- interrupt entry ---------------------------------------------------- */

/* Vectors that push an error code: 8, 10-14, 17, 21, 29, 30. */
.macro VEC n
    .balign 16
    .if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
    .else
    pushq $0
    .endif
    pushq $\n
    jmp rt_trap_common
.endm

    .balign 16
    .globl rt_vectors
rt_vectors:                         /* 256 stubs, 16 bytes each */
    .set i, 0
    .rept 256
    VEC i
    .set i, i + 1
    .endr
    .balign 16
    .globl rt_vector_event
rt_vector_event:                    /* the OpenVMI event upcall */
    pushq $0
    pushq $0xF0
    jmp rt_trap_common

/* Saves every general register, calls rt_trap(frame), returns with iretq. */
rt_trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    movq %rsp, %rbx
    andq $-16, %rsp
    cld
    call rt_trap
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

/* ---- user mode ------------------------------------------------------------ */

/*
 * uint64_t rt_user_enter(uint64_t rip, uint64_t rsp, uint64_t arg):
 * run user code at CPL3 (IOPL 3, interrupts off) until it executes
 * `int $0x80`; returns the user's RAX then.
 */
    .globl rt_user_enter
    .type rt_user_enter, @function
rt_user_enter:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, rt_user_kernel_rsp(%rip)
    pushq $0x1B                     /* SS: user data, RPL 3 */
    pushq %rsi                      /* RSP */
    pushq $0x3002                   /* RFLAGS: IOPL 3, IF 0 */
    pushq $0x23                     /* CS: user code, RPL 3 */
    pushq %rdi                      /* RIP */
    movq %rdx, %rdi
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    iretq
    .size rt_user_enter, . - rt_user_enter

/* rt_user_abort(code): a fault in user mode ends it; rt_user_enter returns code. */
    .globl rt_user_abort
rt_user_abort:
    movq %rdi, %rax
    jmp rt_vector_user_exit

/* int $0x80 from user mode: back to rt_user_enter's caller with RAX. */
    .globl rt_vector_user_exit
rt_vector_user_exit:
    movq rt_user_kernel_rsp(%rip), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/* ---- data ------------------------------------------------------------------ */

    .data
    .balign 16
    .globl rt_gdt
rt_gdt:
    .quad 0                         /* 0x00 null */
    .quad 0x00AF9A000000FFFF        /* 0x08 kernel code, 64-bit */
    .quad 0x00CF92000000FFFF        /* 0x10 kernel data */
    .quad 0x00CFF2000000FFFF        /* 0x18 user data (DPL 3) */
    .quad 0x00AFFA000000FFFF        /* 0x20 user code, 64-bit (DPL 3) */
    .quad 0, 0                      /* 0x28 TSS, filled by rt_user_init */
rt_gdt_end:
    .balign 8
    .word 0
rt_gdt_ptr:
    .word rt_gdt_end - rt_gdt - 1
    .quad rt_gdt
    .word 0
rt_gdt_ptr32:
    .word rt_gdt_end - rt_gdt - 1
    .long rt_gdt

rt_user_kernel_rsp:
    .quad 0

/*
 * Identity map of the first 4 GiB with 2 MiB pages (supervisor only), and
 * a 2 MiB window of 4 KiB pages at RT_USER_WINDOW (511 GiB) whose entries
 * rt_map_page() fills; upper levels carry U/S so leaves decide.
 */
    .section .data.pagetables, "aw"
    .balign 4096
    .globl rt_pml4
rt_pml4:
    .quad rt_pdpt + (PTE_P | PTE_W | PTE_U)
    .fill 511, 8, 0
    .globl rt_pdpt
rt_pdpt:
    .quad rt_pd + (PTE_P | PTE_W | PTE_U)
    .quad rt_pd + 0x1000 + (PTE_P | PTE_W | PTE_U)
    .quad rt_pd + 0x2000 + (PTE_P | PTE_W | PTE_U)
    .quad rt_pd + 0x3000 + (PTE_P | PTE_W | PTE_U)
    .fill 507, 8, 0
    .quad rt_user_pd + (PTE_P | PTE_W | PTE_U)
rt_pd:
    .set addr, 0
    .rept 2048
    .quad addr + (PTE_P | PTE_W | PTE_PS)
    .set addr, addr + 0x200000
    .endr
rt_user_pd:
    .quad rt_user_pt + (PTE_P | PTE_W | PTE_U)
    .fill 511, 8, 0
    .globl rt_user_pt
rt_user_pt:
    .fill 512, 8, 0

    .bss
    .balign 4096
rt_boot_stack:
    .skip 16384
    .globl rt_boot_stack_top
rt_boot_stack_top:

    .section .note.GNU-stack, "", @progbits
