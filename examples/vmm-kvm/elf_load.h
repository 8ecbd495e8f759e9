/* SPDX-License-Identifier: MIT */
/* elf_load.h: loading a 64-bit x86 ELF guest image into guest RAM. */
#ifndef VMM_ELF_H
#define VMM_ELF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Load the PT_LOAD segments of the ELF image img[0, len) into ram (guest
 * RAM of ram_bytes, GPA 0 at ram[0]), at their physical addresses, zeroing
 * the bss part (skipped when ram_zeroed says RAM is still all zero: fresh
 * anonymous memory, whose pages need not be faulted in for that).
 * Segments may not touch GPAs below min_gpa (the VMM's own
 * boot structures).  Returns 0 and the entry point and the end of the
 * highest segment, or -1 with a message in why: the image is hostile input
 * and every field is checked (class, machine, type, header sizes, segment
 * bounds in the file and in RAM, overflow).
 */
int vmm_elf_load(const void *img, size_t len, void *ram, uint64_t ram_bytes,
                 int ram_zeroed, uint64_t min_gpa, uint64_t *entry,
                 uint64_t *image_end, char *why, size_t why_len);

#endif /* VMM_ELF_H */
