/* SPDX-License-Identifier: MIT */
/*
 * bootinfo.h: the boot-information record vmi-run hands its guests in RDI.
 *
 * This is a private contract between vmi-run and the example guests, not
 * part of the OpenVMI ABI: a guest learns about OpenVMI only through CPUID.
 * The record lives in guest RAM below 1 MiB; the guest copies what it needs.
 */
#ifndef VMM_BOOTINFO_H
#define VMM_BOOTINFO_H

#include <stdint.h>

#define VMM_BOOTINFO_MAGIC 0x544f4f42494d5600ull /* "\0VMIBOOT" */
#define VMM_BOOTINFO_VERSION 1u
#define VMM_BOOTINFO_CMDLINE_MAX 1024u

/* Guest-physical layout vmi-run uses below the guest image (1 MiB). */
#define VMM_GDT_GPA 0x0800u
#define VMM_PML4_GPA 0x1000u
#define VMM_PDPT_GPA 0x2000u
#define VMM_PD_GPA 0x3000u /* four page directories: 4 GiB identity map */
#define VMM_BOOTINFO_GPA 0x7000u

struct vmm_bootinfo {
    uint64_t magic;       /* VMM_BOOTINFO_MAGIC */
    uint32_t version;     /* VMM_BOOTINFO_VERSION */
    uint32_t vcpu_count;  /* vCPUs of the VM (vCPU 0 runs at entry) */
    uint64_t mem_bytes;   /* guest RAM: [0, mem_bytes) */
    uint64_t image_end;   /* first GPA after the loaded ELF image */
    uint32_t flags;       /* zero */
    uint32_t cmdline_len; /* bytes in cmdline, without the NUL */
    char cmdline[VMM_BOOTINFO_CMDLINE_MAX]; /* NUL terminated */
};

#endif /* VMM_BOOTINFO_H */
