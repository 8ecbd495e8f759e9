/* SPDX-License-Identifier: MIT */
/*
 * floor.S: the smallest vmi-run guest: its first instruction block issues
 * SHUTDOWN(POWEROFF, 0) through the port-I/O doorbell.  Timing it gives
 * vmi-run's start-to-first-exit floor (no runtime, no negotiation; only
 * the discovery scan for the announced port, a few CPUID exits).
 */
#include "../common/find_port.inc"

    .section .text.boot, "ax"
    .globl _start64
_start64:
    FIND_DOORBELL_PORT no_openvmi   /* port in %edx */
    movl $0x0101, %eax              /* VMI_HC_SHUTDOWN */
    xorl %edi, %edi                 /* VMI_SHUTDOWN_POWEROFF */
    xorl %esi, %esi                 /* status 0 */
    outl %eax, %dx
1:  hlt
    jmp 1b
no_openvmi:
    ud2                             /* no IDT: a triple fault (vmi-run 123) */

    .section .note.GNU-stack, "", @progbits
