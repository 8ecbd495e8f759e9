/* SPDX-License-Identifier: MIT */
/*
 * floor.S: the smallest vmi-run guest: its first instruction block issues
 * SHUTDOWN(POWEROFF, 0) through the port-I/O doorbell.  Timing it gives
 * vmi-run's start-to-first-exit floor (no runtime, no probe).
 */
    .section .text.boot, "ax"
    .globl _start64
_start64:
    movl $0x0101, %eax              /* VMI_HC_SHUTDOWN */
    xorl %edi, %edi                 /* VMI_SHUTDOWN_POWEROFF */
    xorl %esi, %esi                 /* status 0 */
    movl $0x0510, %edx              /* vmi-run's doorbell port */
    outl %eax, %dx
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
