/* SPDX-License-Identifier: MIT */
/* gen_corpus.c: writes the seed corpus of fuzz_dispatch and fuzz_restore.
 * Usage: vmi-host-fuzz-corpus <corpus-dir> (creates the files in
 * <corpus-dir>/fuzz_dispatch and <corpus-dir>/fuzz_restore). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_host.h"

static int write_file(const char *dir, const char *sub, const char *name,
                      const uint8_t *b, size_t n)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) {
        perror(path);
        return -1;
    }
    return fclose(f);
}

/* fuzz_dispatch input: [vcpu, op, sel, user, 5 x (selector 4, u64 BE)]. */
struct seq {
    uint8_t b[8192];
    size_t n;
};

static void put(struct seq *s, uint64_t v, unsigned bytes)
{
    for (unsigned i = bytes; i-- > 0;)
        s->b[s->n++] = (uint8_t)(v >> (8 * i));
}

static void call(struct seq *s, uint32_t vcpu, unsigned idx, uint64_t a0,
                 uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    const uint64_t a[5] = {a0, a1, a2, a3, a4};

    put(s, vcpu, 1);
    put(s, 0, 1);   /* op: hypercall */
    put(s, idx, 1); /* index into the call table */
    put(s, 0, 1);   /* kernel mode */
    for (unsigned i = 0; i < 5; i++) {
        put(s, 4, 1); /* raw 64-bit argument */
        put(s, a[i], 8);
    }
}

static void host(struct seq *s, uint32_t vcpu, unsigned op, uint64_t v,
                 unsigned bytes)
{
    put(s, vcpu, 1);
    put(s, op, 1);
    put(s, v, bytes);
}

/* Indexes in VMI_HC_LIST order. */
enum {
    NOP,
    NEG,
    CON,
    SHD,
    CLK,
    TRD,
    STL,
    TARM,
    TCAN,
    EREG,
    ESND,
    BLK,
    VST,
    TLB,
    PTU,
    PIN,
    UNPIN,
    REL,
    RCL
};

int main(int argc, char **argv)
{
    static struct fz_host h;
    static uint8_t blob[1 << 16], out[(1 << 16) + 1];
    struct vmi_host_vm *vm;
    struct vmi_host_call c;
    struct seq s;
    size_t len;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
        return 2;
    }
    /* fuzz_dispatch seeds. */
    memset(&s, 0, sizeof(s));
    call(&s, 0, NEG, VMI_SPEC_VERSION, VMI_F_ALL_1_0, 0, 0, 0);
    call(&s, 0, CLK, 0x2000, 0, 0, 0, 0);
    call(&s, 0, EREG, 0x4000, 40, 0, 0, 0);
    call(&s, 0, TARM, 1, 5000, 0, 3, 0);
    host(&s, 0, 9, 10000, 6);
    host(&s, 0, 10, 8, 1);
    host(&s, 0, 12, 0, 0);
    call(&s, 0, BLK, 20000, 0, 0, 0, 0);
    host(&s, 0, 11, 0, 0);
    host(&s, 0, 13, 0, 0);
    if (write_file(argv[1], "fuzz_dispatch", "seed-clock-timer", s.b, s.n))
        return 1;
    memset(&s, 0, sizeof(s));
    call(&s, 0, NEG, VMI_SPEC_VERSION, VMI_F_ALL_1_0, 0, 0, 0);
    call(&s, 0, PIN, 0x10000, 1, 0, 0, 0);
    call(&s, 0, PTU, 0x20000, 4, 0, 0, 0);
    call(&s, 0, REL, 0x8000, 2, 0, 0, 0);
    call(&s, 0, RCL, 0x8000, 1, 0, 0, 0);
    call(&s, 0, TLB, 0, 1, 0x6000, 1, 0);
    call(&s, 0, VST, 1, 0x5000, 0, 0, 0);
    call(&s, 1, ESND, 0, 3, 1, 0, 0);
    call(&s, 0, UNPIN, 0x10000, 0, 0, 0, 0);
    host(&s, 0, 13, 0, 0);
    call(&s, 0, SHD, 0, 7, 0, 0, 0);
    if (write_file(argv[1], "fuzz_dispatch", "seed-mmu-mem", s.b, s.n))
        return 1;
    memset(&s, 0, sizeof(s));
    call(&s, 0, CON, 0x10, 32, 0, 0, 0);
    call(&s, 0, TRD, 0, 0, 0, 0, 0);
    call(&s, 0, NEG, VMI_VERSION(2, 0), 0, 0, 0, 0);
    call(&s, 0, NEG, VMI_VERSION(1, 5), VMI_F_CLOCK | VMI_F_STEAL, 0, 0, 0);
    call(&s, 0, STL, 0x3000, 0, 0, 0, 0);
    host(&s, 0, 15, 0x0101, 2);
    call(&s, 0, TCAN, 1, 0, 0, 0, 0);
    call(&s, 0, NOP, 0, 0, 0, 0, 0);
    if (write_file(argv[1], "fuzz_dispatch", "seed-negotiate", s.b, s.n))
        return 1;

    /* fuzz_restore seeds: a fresh VM and a busy one, checksum as is (0)
     * and to be fixed up (1). */
    memset(&h, 0, sizeof(h));
    vm = fz_vm(&h);
    if (vmi_host_save(vm, blob, sizeof(blob), &len))
        return 1;
    out[0] = 0;
    memcpy(out + 1, blob, len);
    if (write_file(argv[1], "fuzz_restore", "seed-fresh", out, len + 1))
        return 1;
#define HC(nr_, a0, a1, a2, a3, a4, vcpu)                                      \
    do {                                                                       \
        memset(&c, 0, sizeof(c));                                              \
        c.nr = nr_;                                                            \
        c.args[0] = a0;                                                        \
        c.args[1] = a1;                                                        \
        c.args[2] = a2;                                                        \
        c.args[3] = a3;                                                        \
        c.args[4] = a4;                                                        \
        if (vmi_host_hypercall(vm, vcpu, &c) || c.status < 0) {                \
            fprintf(stderr, "seed call 0x%x: %s\n", nr_,                       \
                    vmi_host_status_name(c.status));                           \
            return 1;                                                          \
        }                                                                      \
    } while (0)
    HC(VMI_HC_NEGOTIATE, VMI_SPEC_VERSION, VMI_F_ALL_1_0, 0, 0, 0, 0);
    HC(VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, 0, 0);
    HC(VMI_HC_EVENT_REGISTER, 0x4000, 33, 0, 0, 0, 1);
    HC(VMI_HC_STEAL_REGISTER, 0x3000, 0, 0, 0, 0, 0);
    HC(VMI_HC_TIMER_ARM, 3, 1000000, 1, 5, 0, 0);
    HC(VMI_HC_TIMER_ARM, 9, 2000000, 2, 6, 0, 0);
    HC(VMI_HC_PT_PIN, 0x10000, 2, 0, 0, 0, 0);
    struct vmi_mem_extent *e = (void *)(h.ram + 0x8000);
    e->gpa = 0x20000;
    e->pages = 4;
    HC(VMI_HC_MEM_RELEASE, 0x8000, 1, 0, 0, 0, 0);
    HC(VMI_HC_VCPU_START, 2, 0x5000, 0, 0, 0, 0);
    HC(VMI_HC_BLOCK, 500000, 0, 0, 0, 0, 1);
    if (vmi_host_save(vm, blob, sizeof(blob), &len))
        return 1;
    out[0] = 0;
    memcpy(out + 1, blob, len);
    if (write_file(argv[1], "fuzz_restore", "seed-busy", out, len + 1))
        return 1;
    out[0] = 1;
    out[1 + 24] ^= 0xFF; /* wrong checksum, fixed up by the harness */
    if (write_file(argv[1], "fuzz_restore", "seed-busy-fixcrc", out, len + 1))
        return 1;
    vmi_host_vm_destroy(vm);
    return 0;
}
