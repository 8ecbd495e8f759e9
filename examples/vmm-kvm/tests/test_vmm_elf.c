/* SPDX-License-Identifier: MIT */
/* test_vmm_elf.c: the ELF loader of vmi-run against valid and hostile images.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "elf_load.h"

#define RAM_SIZE (4u << 20)
#define MIN_GPA 0x9000u
#define LOAD_GPA 0x100000u

static uint8_t ram[RAM_SIZE];

/* A valid image: ELF header, one PT_LOAD at 1 MiB (16 bytes + 48 bss). */
struct image {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
    uint8_t data[16];
};

static void make_image(struct image *im)
{
    memset(im, 0, sizeof(*im));
    memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
    im->eh.e_ident[EI_CLASS] = ELFCLASS64;
    im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im->eh.e_ident[EI_VERSION] = EV_CURRENT;
    im->eh.e_type = ET_EXEC;
    im->eh.e_machine = EM_X86_64;
    im->eh.e_version = EV_CURRENT;
    im->eh.e_entry = LOAD_GPA + 4;
    im->eh.e_phoff = offsetof(struct image, ph);
    im->eh.e_ehsize = sizeof(Elf64_Ehdr);
    im->eh.e_phentsize = sizeof(Elf64_Phdr);
    im->eh.e_phnum = 1;
    im->ph[0].p_type = PT_LOAD;
    im->ph[0].p_offset = offsetof(struct image, data);
    im->ph[0].p_vaddr = im->ph[0].p_paddr = LOAD_GPA;
    im->ph[0].p_filesz = sizeof(im->data);
    im->ph[0].p_memsz = 64;
    for (unsigned i = 0; i < sizeof(im->data); i++)
        im->data[i] = (uint8_t)(0xA0 + i);
}

static int load(const struct image *im, size_t len, char *why)
{
    uint64_t entry = 0, end = 0;

    return vmm_elf_load(im, len, ram, RAM_SIZE, 0, MIN_GPA, &entry, &end, why,
                        256);
}

/* Expect a rejection whose message contains `msg`, RAM untouched. */
static void expect_reject(const struct image *im, size_t len, const char *msg)
{
    char why[256] = "";

    memset(ram, 0x5A, RAM_SIZE);
    assert_int_equal(load(im, len, why), -1);
    assert_non_null(strstr(why, msg));
    assert_int_equal(ram[LOAD_GPA], 0x5A);
    assert_int_equal(ram[LOAD_GPA + 63], 0x5A);
}

static void test_elf_valid_image_loads_data_and_zeroes_bss(void **state)
{
    struct image im;
    uint64_t entry = 0, end = 0;
    char why[256] = "";

    (void)state;
    make_image(&im);
    memset(ram, 0x5A, RAM_SIZE);
    assert_int_equal(vmm_elf_load(&im, sizeof(im), ram, RAM_SIZE, 0, MIN_GPA,
                                  &entry, &end, why, sizeof(why)),
                     0);
    assert_int_equal(entry, LOAD_GPA + 4);
    assert_int_equal(end, LOAD_GPA + 64);
    assert_memory_equal(ram + LOAD_GPA, im.data, sizeof(im.data));
    for (unsigned i = sizeof(im.data); i < 64; i++)
        assert_int_equal(ram[LOAD_GPA + i], 0);
    assert_int_equal(ram[LOAD_GPA + 64], 0x5A);
}

static void test_elf_zeroed_ram_is_not_rewritten_for_bss(void **state)
{
    struct image im;
    uint64_t entry = 0, end = 0;
    char why[256] = "";

    (void)state;
    make_image(&im);
    memset(ram, 0x5A, RAM_SIZE); /* would be zero; 0x5A shows no writes */
    assert_int_equal(vmm_elf_load(&im, sizeof(im), ram, RAM_SIZE, 1, MIN_GPA,
                                  &entry, &end, why, sizeof(why)),
                     0);
    assert_memory_equal(ram + LOAD_GPA, im.data, sizeof(im.data));
    assert_int_equal(ram[LOAD_GPA + sizeof(im.data)], 0x5A);
    assert_int_equal(ram[LOAD_GPA + 63], 0x5A);
}

static void test_elf_short_file_is_rejected(void **state)
{
    struct image im;

    (void)state;
    make_image(&im);
    expect_reject(&im, 10, "too short");
}

static void test_elf_bad_header_fields_are_rejected(void **state)
{
    struct image im;

    (void)state;
    make_image(&im);
    im.eh.e_ident[1] = 'X';
    expect_reject(&im, sizeof(im), "bad magic");
    make_image(&im);
    im.eh.e_ident[EI_CLASS] = ELFCLASS32;
    expect_reject(&im, sizeof(im), "not a 64-bit");
    make_image(&im);
    im.eh.e_ident[EI_DATA] = ELFDATA2MSB;
    expect_reject(&im, sizeof(im), "little-endian");
    make_image(&im);
    im.eh.e_machine = EM_AARCH64;
    expect_reject(&im, sizeof(im), "not an x86-64");
    make_image(&im);
    im.eh.e_type = ET_DYN;
    expect_reject(&im, sizeof(im), "not a static executable");
    make_image(&im);
    im.eh.e_phentsize = 12;
    expect_reject(&im, sizeof(im), "program header size");
    make_image(&im);
    im.eh.e_phnum = 0;
    expect_reject(&im, sizeof(im), "no program headers");
}

static void test_elf_program_headers_beyond_file_are_rejected(void **state)
{
    struct image im;

    (void)state;
    make_image(&im);
    im.eh.e_phnum = 200;
    expect_reject(&im, sizeof(im), "program headers beyond");
    make_image(&im);
    im.eh.e_phoff = UINT64_MAX - 8; /* offset + size wraps */
    expect_reject(&im, sizeof(im), "program headers beyond");
}

static void test_elf_bad_segments_are_rejected(void **state)
{
    struct image im;

    (void)state;
    make_image(&im);
    im.ph[0].p_filesz = 128;
    expect_reject(&im, sizeof(im), "file size");
    make_image(&im);
    im.ph[0].p_offset = sizeof(im) - 4;
    expect_reject(&im, sizeof(im), "beyond the end of the file");
    make_image(&im);
    im.ph[0].p_offset = UINT64_MAX - 4;
    expect_reject(&im, sizeof(im), "beyond the end of the file");
    make_image(&im);
    im.ph[0].p_paddr = im.ph[0].p_vaddr = RAM_SIZE - 32;
    expect_reject(&im, sizeof(im), "does not fit in guest RAM");
    make_image(&im);
    im.ph[0].p_paddr = im.ph[0].p_vaddr = UINT64_MAX - 16; /* wraps */
    expect_reject(&im, sizeof(im), "does not fit in guest RAM");
    make_image(&im);
    im.ph[0].p_paddr = im.ph[0].p_vaddr = 0x1000;
    expect_reject(&im, sizeof(im), "reserved for boot structures");
    make_image(&im);
    im.ph[0].p_vaddr = 0xFFFFFFFF80000000ull;
    expect_reject(&im, sizeof(im), "identity mapped");
}

static void test_elf_second_bad_segment_leaves_ram_untouched(void **state)
{
    struct image im;

    (void)state;
    make_image(&im);
    im.eh.e_phnum = 2;
    im.ph[1] = im.ph[0];
    im.ph[1].p_paddr = im.ph[1].p_vaddr = RAM_SIZE; /* outside RAM */
    expect_reject(&im, sizeof(im), "segment 1");
}

static void test_elf_without_load_segment_or_bad_entry_is_rejected(void **state)
{
    struct image im;

    (void)state;
    make_image(&im);
    im.ph[0].p_type = PT_NOTE;
    expect_reject(&im, sizeof(im), "no loadable");
    make_image(&im);
    im.eh.e_entry = 0x10;
    expect_reject(&im, sizeof(im), "entry point");
    make_image(&im);
    im.eh.e_entry = LOAD_GPA + 64;
    expect_reject(&im, sizeof(im), "entry point");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf_valid_image_loads_data_and_zeroes_bss),
        cmocka_unit_test(test_elf_zeroed_ram_is_not_rewritten_for_bss),
        cmocka_unit_test(test_elf_short_file_is_rejected),
        cmocka_unit_test(test_elf_bad_header_fields_are_rejected),
        cmocka_unit_test(test_elf_program_headers_beyond_file_are_rejected),
        cmocka_unit_test(test_elf_bad_segments_are_rejected),
        cmocka_unit_test(test_elf_second_bad_segment_leaves_ram_untouched),
        cmocka_unit_test(
            test_elf_without_load_segment_or_bad_entry_is_rejected),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
