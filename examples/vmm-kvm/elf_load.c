/* SPDX-License-Identifier: MIT */
/* elf_load.c: ELF64 guest loader with full validation of the image. */
#include "elf_load.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    if (why && why_len) {
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int vmm_elf_load(const void *img, size_t len, void *ram, uint64_t ram_bytes,
                 int ram_zeroed, uint64_t min_gpa, uint64_t *entry,
                 uint64_t *image_end, char *why, size_t why_len)
{
    const unsigned char *p = img;
    Elf64_Ehdr eh;
    uint64_t end = 0, loaded = 0, phoff_end;
    unsigned i;

    if (len < sizeof(eh))
        return fail(why, why_len,
                    "file too short for an ELF header (%zu bytes)", len);
    memcpy(&eh, p, sizeof(eh));
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return fail(why, why_len, "not an ELF file (bad magic)");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64)
        return fail(why, why_len, "not a 64-bit ELF file (class %u)",
                    eh.e_ident[EI_CLASS]);
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return fail(why, why_len, "not a little-endian ELF file");
    if (eh.e_machine != EM_X86_64)
        return fail(why, why_len, "not an x86-64 ELF file (machine %u)",
                    eh.e_machine);
    if (eh.e_type != ET_EXEC)
        return fail(why, why_len,
                    "not a static executable (ELF type %u; link with -static "
                    "-no-pie)",
                    eh.e_type);
    if (eh.e_phentsize != sizeof(Elf64_Phdr))
        return fail(why, why_len, "bad program header size %u", eh.e_phentsize);
    if (eh.e_phnum == 0)
        return fail(why, why_len, "no program headers");
    if (__builtin_mul_overflow((uint64_t)eh.e_phnum, sizeof(Elf64_Phdr),
                               &phoff_end) ||
        __builtin_add_overflow(phoff_end, eh.e_phoff, &phoff_end) ||
        phoff_end > len)
        return fail(why, why_len, "program headers beyond the end of the file");

    /* Validate every segment before writing any byte of RAM. */
    for (int pass = 0; pass < 2; pass++) {
        for (i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            uint64_t fend, mend;

            memcpy(&ph, p + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
            if (ph.p_type != PT_LOAD)
                continue;
            if (pass == 0) {
                if (ph.p_filesz > ph.p_memsz)
                    return fail(why, why_len,
                                "segment %u: file size 0x%llx > memory size "
                                "0x%llx",
                                i, (unsigned long long)ph.p_filesz,
                                (unsigned long long)ph.p_memsz);
                if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &fend) ||
                    fend > len)
                    return fail(why, why_len,
                                "segment %u: data beyond the end of the file",
                                i);
                if (__builtin_add_overflow(ph.p_paddr, ph.p_memsz, &mend) ||
                    mend > ram_bytes)
                    return fail(why, why_len,
                                "segment %u: [0x%llx, +0x%llx) does not fit "
                                "in guest RAM (%llu MiB)",
                                i, (unsigned long long)ph.p_paddr,
                                (unsigned long long)ph.p_memsz,
                                (unsigned long long)(ram_bytes >> 20));
                if (ph.p_memsz && ph.p_paddr < min_gpa)
                    return fail(why, why_len,
                                "segment %u: loads at 0x%llx, below 0x%llx "
                                "(reserved for boot structures)",
                                i, (unsigned long long)ph.p_paddr,
                                (unsigned long long)min_gpa);
                if (ph.p_vaddr != ph.p_paddr)
                    return fail(why, why_len,
                                "segment %u: virtual 0x%llx != physical "
                                "0x%llx (guests run identity mapped)",
                                i, (unsigned long long)ph.p_vaddr,
                                (unsigned long long)ph.p_paddr);
                if (mend > end)
                    end = mend;
                loaded++;
            } else {
                memcpy((char *)ram + ph.p_paddr, p + ph.p_offset, ph.p_filesz);
                if (!ram_zeroed)
                    memset((char *)ram + ph.p_paddr + ph.p_filesz, 0,
                           ph.p_memsz - ph.p_filesz);
            }
        }
        if (pass == 0 && loaded == 0)
            return fail(why, why_len, "no loadable (PT_LOAD) segment");
        if (pass == 0 && (eh.e_entry < min_gpa || eh.e_entry >= end))
            return fail(why, why_len,
                        "entry point 0x%llx outside the loaded image",
                        (unsigned long long)eh.e_entry);
    }
    *entry = eh.e_entry;
    *image_end = end;
    return 0;
}
