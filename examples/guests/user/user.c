/* SPDX-License-Identifier: MIT */
/*
 * user.c: runs code at CPL3 (the runtime's user-mode helper).  The user
 * code reads its vCPU's clock record through a user mapping and the TSC
 * (the vDSO-style clock path), then makes hypercalls through the port-I/O
 * doorbell: NOP and TIME_READ must work, CONSOLE_WRITE (kernel only) must
 * answer VMI_E_PERM, proving the host sees CPL3.  A hypervisor that does
 * not let CPL3 code do port I/O at all (KVM-PVM raises #GP despite IOPL 3)
 * is reported and the hypercall checks are skipped.  Exit 0 on success.
 */
#include "rt.h"

/* Results the user code stores in its data page (window page 1). */
struct user_results {
    int64_t nop_status;
    int64_t time_status;
    uint64_t time_ns;
    int64_t console_status;
    uint64_t record_version;
    uint64_t tsc;
};

/*
 * The user program: position independent, one page, mapped at window
 * page 0.  RDI = doorbell port.  Data page = window page 1, clock record
 * page = window page 2 (record at offset RDX... passed in the data page).
 */
__asm__(".section .text.user, \"ax\"\n"
        ".balign 4096\n"
        "user_code:\n"
        "  movq %rdi, %rdx\n"             /* DX = doorbell port */
        "  movabsq $0x7FC0001000, %rbx\n" /* data page */
        "  movq 64(%rbx), %rcx\n"         /* clock record VA */
        "  movl (%rcx), %eax\n"           /* its version */
        "  movq %rax, 32(%rbx)\n"
        "  rdtsc\n"
        "  movl %eax, 40(%rbx)\n"
        "  movl %edx, 44(%rbx)\n"
        "  movq %rdi, %rdx\n"
        "  xorl %eax, %eax\n" /* NOP */
        "  outl %eax, %dx\n"
        "  movq %rax, 0(%rbx)\n"
        "  movl $0x0201, %eax\n" /* TIME_READ */
        "  outl %eax, %dx\n"
        "  movq %rax, 8(%rbx)\n"
        "  movq %rdi, 16(%rbx)\n"
        "  movl $0x0100, %eax\n" /* CONSOLE_WRITE: kernel only */
        "  xorl %edi, %edi\n"
        "  xorl %esi, %esi\n"
        "  outl %eax, %dx\n"
        "  movq %rax, 24(%rbx)\n"
        "  movl $0x55, %eax\n"
        "  int $0x80\n"
        "  ud2\n"
        ".balign 4096\n"
        ".text\n");
extern char user_code[];

static uint8_t user_data[4096] __attribute__((aligned(4096)));

int kmain(const struct rt_boot *boot)
{
    struct user_results *res = (struct user_results *)user_data;
    struct rt_cpu *cpu = rt_this_cpu();
    uint64_t code_va, data_va, rec_va, rec_gpa, ret;
    int rc;

    if (!boot->vmi) {
        rt_printf("user: OpenVMI absent\n");
        return 1;
    }
    /* VMI_F_USER: this kernel lets its user mode make `any` calls. */
    rc = rt_vmi_setup(VMI_F_CLOCK | VMI_F_USER, 0);
    if (rc)
        rt_panic("user: setup: %s", vmi_guest_status_name(rc));
    rt_user_init();
    code_va = rt_map_page(0, (uint64_t)(uintptr_t)user_code, VMI_PTE_USER);
    data_va = rt_map_page(1, (uint64_t)(uintptr_t)user_data,
                          VMI_PTE_USER | VMI_PTE_WRITE | VMI_PTE_NX);
    rec_gpa = (uint64_t)(uintptr_t)&cpu->clock;
    rec_va = rt_map_page(2, rec_gpa & ~0xFFFull, VMI_PTE_USER | VMI_PTE_NX) +
             (rec_gpa & 0xFFF);
    *(volatile uint64_t *)(user_data + 64) = rec_va;
    ret = rt_user_enter(code_va, data_va + 4096 - 64, rt_vmi.info.port);
    if (res->record_version == 0 || (res->record_version & 1) || !res->tsc)
        rt_panic("user: clock record version %lu, TSC %lu seen from CPL3",
                 res->record_version, res->tsc);
    rt_printf("user: CPL3: clock record (version %lu) and TSC readable\n",
              res->record_version);
    if (ret == (RT_USER_FAULT | 13)) {
        rt_printf("user: CPL3 port I/O raises #GP on this hypervisor "
                  "(IOPL 3 not honoured): hypercall checks skipped\n");
        return 0;
    }
    if (ret != 0x55)
        rt_panic("user: user code returned 0x%lx", ret);
    if (res->nop_status != 0 || res->time_status != 0 || res->time_ns == 0)
        rt_panic("user: NOP %s, TIME_READ %s (%lu ns) from CPL3",
                 vmi_guest_status_name(res->nop_status),
                 vmi_guest_status_name(res->time_status), res->time_ns);
    if (res->console_status != -VMI_E_PERM)
        rt_panic("user: CONSOLE_WRITE from CPL3 answered %s, not VMI_E_PERM",
                 vmi_guest_status_name(res->console_status));
    rt_printf("user: CPL3 hypercalls: NOP ok, TIME_READ %lu ns, "
              "CONSOLE_WRITE -> %s\n",
              res->time_ns, vmi_guest_status_name(res->console_status));
    return 0;
}
