/* SPDX-License-Identifier: MIT */
/*
 * kvm_floor.c: vmi-kvm-floor, the VM create-to-first-exit floor: the least
 * a KVM hypervisor must do (KVM_CREATE_VM, one memory slot, one vCPU,
 * 64-bit long-mode entry state, KVM_RUN) until the guest's first
 * instruction, an OUT, exits to user space.  Prints
 *   floor create_to_exit_ns=N open_to_exit_ns=N
 * and exits 0 (77 without /dev/kvm).  No OpenVMI involved.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_BYTES (2u << 20)
#define GDT_GPA 0x1000u
#define PML4_GPA 0x2000u
#define PDPT_GPA 0x3000u
#define PD_GPA 0x4000u
#define CODE_GPA 0x8000u

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "vmi-kvm-floor: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(void)
{
    struct kvm_segment code = {
        .base = 0,
        .limit = 0xFFFFFFFF,
        .selector = 0x08,
        .type = 11,
        .present = 1,
        .dpl = 0,
        .db = 0,
        .s = 1,
        .l = 1,
        .g = 1,
    };
    struct kvm_segment data = {
        .base = 0,
        .limit = 0xFFFFFFFF,
        .selector = 0x10,
        .type = 3,
        .present = 1,
        .dpl = 0,
        .db = 1,
        .s = 1,
        .l = 0,
        .g = 1,
    };
    struct kvm_sregs s;
    struct kvm_regs r;
    struct kvm_run *run;
    uint64_t t_open, t_create, t_exit;
    uint8_t *mem;
    int kvm, vm, cpu, sz;

    t_open = now_ns();
    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        fprintf(stderr, "vmi-kvm-floor: /dev/kvm: %s (skipped)\n",
                strerror(errno));
        return 77;
    }
    t_create = now_ns();
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return die("KVM_CREATE_VM");
    mem = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return die("mmap");
    {
        struct kvm_userspace_memory_region reg = {
            .slot = 0,
            .guest_phys_addr = 0,
            .memory_size = MEM_BYTES,
            .userspace_addr = (uint64_t)(uintptr_t)mem,
        };

        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg) != 0)
            return die("KVM_SET_USER_MEMORY_REGION");
    }
    /* GDT, a 2 MiB identity map, and `out %al, $0x80; hlt`. */
    ((uint64_t *)(mem + GDT_GPA))[1] = 0x00AF9A000000FFFFull;
    ((uint64_t *)(mem + GDT_GPA))[2] = 0x00CF92000000FFFFull;
    *(uint64_t *)(mem + PML4_GPA) = PDPT_GPA | 3;
    *(uint64_t *)(mem + PDPT_GPA) = PD_GPA | 3;
    *(uint64_t *)(mem + PD_GPA) = 0x83;
    memcpy(mem + CODE_GPA, "\xe6\x80\xf4", 3);
    cpu = ioctl(vm, KVM_CREATE_VCPU, 0ul);
    if (cpu < 0)
        return die("KVM_CREATE_VCPU");
    sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz <= 0)
        return die("KVM_GET_VCPU_MMAP_SIZE");
    run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
    if (run == MAP_FAILED)
        return die("mmap kvm_run");
    if (ioctl(cpu, KVM_GET_SREGS, &s) != 0)
        return die("KVM_GET_SREGS");
    s.cs = code;
    s.ds = s.es = s.fs = s.gs = s.ss = data;
    s.gdt.base = GDT_GPA;
    s.gdt.limit = 23;
    s.cr0 = 0x80050033u; /* PG WP NE ET MP PE */
    s.cr3 = PML4_GPA;
    s.cr4 = 0x20;   /* PAE */
    s.efer = 0x500; /* LME LMA */
    if (ioctl(cpu, KVM_SET_SREGS, &s) != 0)
        return die("KVM_SET_SREGS");
    memset(&r, 0, sizeof(r));
    r.rip = CODE_GPA;
    r.rsp = 0x7000;
    r.rflags = 2;
    if (ioctl(cpu, KVM_SET_REGS, &r) != 0)
        return die("KVM_SET_REGS");
    for (;;) {
        if (ioctl(cpu, KVM_RUN, 0) != 0) {
            if (errno == EINTR)
                continue;
            return die("KVM_RUN");
        }
        if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x80)
            break;
        fprintf(stderr, "vmi-kvm-floor: unexpected exit %u\n",
                run->exit_reason);
        return 1;
    }
    t_exit = now_ns();
    printf("floor create_to_exit_ns=%llu open_to_exit_ns=%llu\n",
           (unsigned long long)(t_exit - t_create),
           (unsigned long long)(t_exit - t_open));
    return 0;
}
