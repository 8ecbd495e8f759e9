/* SPDX-License-Identifier: MIT */
/*
 * aarch64.c: cases that need a real AArch64 vCPU: SMCCC 1.1 and the SMCCC
 * discovery words (VMI-DSC-046, -033, -035, -028, -045), the call encoding and
 * register preservation across HVC (VMI-CALL-036, -006), the upcall as a PPI
 * through the GIC (VMI-EVT-040) and the entry state of a started vCPU
 * (VMI-CPU-012, -013, -028) and PSCI as the platform's door to a vCPU
 * (VMI-CPU-019, -020).  Not applicable elsewhere: on the simulator
 * and on x86-64 the same tests report "not applicable".
 */
#include "../cases.h"

#if defined(__aarch64__)

/* HVC #0 with x0-x5 from in[], x0-x3 to out[]. */
static void hvc(const uint64_t in[6], uint64_t out[4])
{
    register uint64_t x0 __asm__("x0") = in[0];
    register uint64_t x1 __asm__("x1") = in[1];
    register uint64_t x2 __asm__("x2") = in[2];
    register uint64_t x3 __asm__("x3") = in[3];
    register uint64_t x4 __asm__("x4") = in[4];
    register uint64_t x5 __asm__("x5") = in[5];

    __asm__ volatile("hvc #0"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4),
                       "+r"(x5)
                     :
                     : "memory");
    out[0] = x0;
    out[1] = x1;
    out[2] = x2;
    out[3] = x3;
}

static int upper_halves_zero(const uint64_t out[4])
{
    return ((out[0] | out[1] | out[2] | out[3]) >> 32) == 0;
}

/*
 * The Call UID answers OpenVMI's words (VMI-DSC-033); information function
 * n answers leaf B + n zero-extended (VMI-DSC-035), function 0's x0 the
 * highest function, HVC the one transport (VMI-DSC-028), and function 9
 * the platform id of the vCPU named in x1 (VMI-DSC-045): the caller's own
 * MPIDR affinity for its own id, zeros past the vCPU count.
 */
TEST(dsc_smccc_uid_and_information_words)
{
    uint64_t in[6] = {VMI_SMCCC_CALL_UID, 0, 0, 0, 0, 0}, out[4];
    uint64_t mpidr, max, self, count;
    uint32_t n, aff, zeros = 1, wide = 0;

    hvc(in, out);
    VMI_CHECK_EQ("VMI-DSC-033", out[0], VMI_SMCCC_UID_W0);
    VMI_CHECK_EQ("VMI-DSC-033", out[1], VMI_SMCCC_UID_W1);
    VMI_CHECK_EQ("VMI-DSC-033", out[2], VMI_SMCCC_UID_W2);
    VMI_CHECK_EQ("VMI-DSC-033", out[3], VMI_SMCCC_UID_W3);

    in[0] = VMI_SMCCC_INFO(0);
    hvc(in, out);
    max = out[0];
    VMI_CHECK("VMI-DSC-035", max >= VMI_CPUID_VCPU && max < 0x100);
    VMI_CHECK_EQ("VMI-DSC-035", out[1], VMI_CPUID_SIGNATURE_EBX);
    VMI_CHECK_EQ("VMI-DSC-035", out[2], VMI_CPUID_SIGNATURE_ECX);
    VMI_CHECK_EQ("VMI-DSC-035", out[3], VMI_CPUID_SIGNATURE_EDX);
    for (n = 0; n < 0x100; n++) {
        in[0] = VMI_SMCCC_INFO(n);
        in[1] = 0;
        hvc(in, out);
        wide += !upper_halves_zero(out);
        if (n > max && (out[0] | out[1] | out[2] | out[3]))
            zeros = 0;
    }
    VMI_CHECK_EQ("VMI-DSC-035", wide, 0);
    VMI_CHECK("VMI-DSC-035", zeros);

    in[0] = VMI_SMCCC_INFO(VMI_CPUID_VERSION);
    hvc(in, out);
    VMI_CHECK_EQ("VMI-DSC-028", out[2], VMI_TRANSPORT_HVC);
    VMI_CHECK_EQ("VMI-DSC-035", out[3], 0);

    in[0] = VMI_SMCCC_INFO(VMI_CPUID_FEATURES);
    hvc(in, out);
    count = out[2];
    in[0] = VMI_SMCCC_INFO(VMI_CPUID_VCPU);
    hvc(in, out);
    self = out[0];
    VMI_REQUIRE("VMI-DSC-045", self < count);
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
    aff = (uint32_t)((mpidr & 0xFFFFFF) | ((mpidr >> 32 & 0xFF) << 24));
    in[0] = VMI_SMCCC_INFO(VMI_CPUID_VCPU_MAP);
    in[1] = self;
    hvc(in, out);
    VMI_CHECK_EQ("VMI-DSC-045", out[0], aff);
    VMI_CHECK_EQ("VMI-DSC-045", out[1], VMI_VCPU_MAP_EXISTS);
    in[1] = count;
    hvc(in, out);
    VMI_CHECK_EQ("VMI-DSC-045", out[0] | out[1] | out[2] | out[3], 0);
    /* Only x1's low 32 bits name the vCPU, as ECX does on x86. */
    in[1] = (UINT64_C(1) << 32) | self;
    hvc(in, out);
    VMI_CHECK_EQ("VMI-DSC-045", out[0], aff);
}

/*
 * SMCCC 1.1 on the HVC conduit (VMI-DSC-046): SMCCC_VERSION, its place in
 * SMCCC_ARCH_FEATURES, and in PSCI_FEATURES when the host provides PSCI
 * (PSCI_VERSION answers).
 */
#define SMCCC_VERSION_FID 0x80000000u
#define SMCCC_ARCH_FEATURES_FID 0x80000001u
#define PSCI_VERSION_FID 0x84000000u
#define PSCI_FEATURES_FID 0x8400000Au

TEST(dsc_smccc_version_is_1_1_or_later)
{
    uint64_t in[6] = {SMCCC_VERSION_FID, 0, 0, 0, 0, 0}, out[4];

    hvc(in, out);
    VMI_CHECK("VMI-DSC-046", (int32_t)out[0] >= 0x10001);
    in[0] = SMCCC_ARCH_FEATURES_FID;
    in[1] = SMCCC_VERSION_FID;
    hvc(in, out);
    VMI_CHECK_EQ("VMI-DSC-046", (int32_t)out[0], 0);
    in[0] = PSCI_VERSION_FID;
    in[1] = 0;
    hvc(in, out);
    if ((int32_t)out[0] < 0)
        return; /* no PSCI */
    in[0] = PSCI_FEATURES_FID;
    in[1] = SMCCC_VERSION_FID;
    hvc(in, out);
    VMI_CHECK_EQ("VMI-DSC-046", (int32_t)out[0], 0);
}

/* The call number comes from W0: the upper half of x0 is ignored. */
TEST(call_hvc_number_from_w0_only)
{
    uint64_t in[6] = {0}, out[4];

    in[0] = UINT64_C(0xA5A5A5A500000000) | VMI_SMCCC_CALL(VMI_HC_NOP);
    hvc(in, out);
    VMI_CHECK_EQ("VMI-CALL-036", out[0], 0);
    in[0] = UINT64_C(0xFFFFFFFF00000000) | VMI_SMCCC_CALL(VMI_HC_TIME_READ);
    hvc(in, out);
    VMI_CHECK_EQ("VMI-CALL-036", out[0], 0);
    VMI_CHECK("VMI-CALL-036", out[1] != 0);
    in[0] = VMI_SMCCC_CALL(0xFFFF);
    hvc(in, out);
    VMI_CHECK_EQ("VMI-CALL-036", (int64_t)out[0], -VMI_E_NOSYS);
}

/*
 * NOP by HVC with x3 to x30 loaded with patterns: all of them as they were
 * afterwards (VMI-CALL-006), x0 the status, x1 and x2 zero.  in[] and out[]
 * hold x0 to x30.
 */
void a64_raw_hvc(const uint64_t *in, uint64_t *out);
/* clang-format off */
__asm__(".text\n\t"
        ".globl a64_raw_hvc\n\t"
        "a64_raw_hvc:\n\t"
        "stp x29, x30, [sp, #-16]!\n\t"
        "stp x27, x28, [sp, #-16]!\n\t"
        "stp x25, x26, [sp, #-16]!\n\t"
        "stp x23, x24, [sp, #-16]!\n\t"
        "stp x21, x22, [sp, #-16]!\n\t"
        "stp x19, x20, [sp, #-16]!\n\t"
        "stp x1, x18, [sp, #-16]!\n\t" /* out */
        "mov x30, x0\n\t"
        "ldp x0, x1, [x30, #0]\n\t"
        "ldp x2, x3, [x30, #16]\n\t"
        "ldp x4, x5, [x30, #32]\n\t"
        "ldp x6, x7, [x30, #48]\n\t"
        "ldp x8, x9, [x30, #64]\n\t"
        "ldp x10, x11, [x30, #80]\n\t"
        "ldp x12, x13, [x30, #96]\n\t"
        "ldp x14, x15, [x30, #112]\n\t"
        "ldp x16, x17, [x30, #128]\n\t"
        "ldp x18, x19, [x30, #144]\n\t"
        "ldp x20, x21, [x30, #160]\n\t"
        "ldp x22, x23, [x30, #176]\n\t"
        "ldp x24, x25, [x30, #192]\n\t"
        "ldp x26, x27, [x30, #208]\n\t"
        "ldp x28, x29, [x30, #224]\n\t"
        "ldr x30, [x30, #240]\n\t"
        "hvc #0\n\t"
        "str x0, [sp, #-16]!\n\t"
        "ldr x0, [sp, #16]\n\t" /* out */
        "stp x1, x2, [x0, #8]\n\t"
        "stp x3, x4, [x0, #24]\n\t"
        "stp x5, x6, [x0, #40]\n\t"
        "stp x7, x8, [x0, #56]\n\t"
        "stp x9, x10, [x0, #72]\n\t"
        "stp x11, x12, [x0, #88]\n\t"
        "stp x13, x14, [x0, #104]\n\t"
        "stp x15, x16, [x0, #120]\n\t"
        "stp x17, x18, [x0, #136]\n\t"
        "stp x19, x20, [x0, #152]\n\t"
        "stp x21, x22, [x0, #168]\n\t"
        "stp x23, x24, [x0, #184]\n\t"
        "stp x25, x26, [x0, #200]\n\t"
        "stp x27, x28, [x0, #216]\n\t"
        "stp x29, x30, [x0, #232]\n\t"
        "ldr x1, [sp], #16\n\t"
        "str x1, [x0, #0]\n\t"
        "ldp x1, x18, [sp], #16\n\t"
        "ldp x19, x20, [sp], #16\n\t"
        "ldp x21, x22, [sp], #16\n\t"
        "ldp x23, x24, [sp], #16\n\t"
        "ldp x25, x26, [sp], #16\n\t"
        "ldp x27, x28, [sp], #16\n\t"
        "ldp x29, x30, [sp], #16\n\t"
        "ret\n\t");
/* clang-format on */

TEST(call_registers_preserved_across_hvc)
{
    uint64_t in[31], out[31];
    uint32_t i, changed = 0;

    for (i = 0; i < 31; i++)
        in[i] = UINT64_C(0x0123456789ABCDEF) ^ ((uint64_t)i << 56) ^ i;
    in[0] = VMI_SMCCC_CALL(VMI_HC_NOP);
    in[1] = 1; /* NOP's arguments are ignored (VMI-CALL-009) */
    in[2] = 2;
    vmi_conform_memset(out, 0xEE, sizeof(out));
    a64_raw_hvc(in, out);
    VMI_CHECK_EQ("VMI-CALL-007", out[0], 0);
    VMI_CHECK_EQ("VMI-CALL-008", out[1] | out[2], 0);
    for (i = 3; i < 31; i++)
        changed += out[i] != in[i];
    VMI_CHECK_EQ("VMI-CALL-006", changed, 0);
}

/*
 * Upcalls through the GIC (VMI-EVT-040): the backend's handler serves the
 * PPI be->upcall_vector, acknowledges it (active while the handler runs:
 * in_service) and ends it.  Held while PSTATE.I masks it and while the
 * CPU interface's priority mask does; one upcall per event, no repeat
 * after the EOI (edge-triggered).
 */
static inline void write_pmr(uint64_t v)
{
    __asm__ volatile("msr S3_0_C4_C6_0, %0\n\tisb" ::"r"(v) : "memory");
}

TEST(evt_upcall_is_a_ppi_through_the_gic)
{
    struct vmi_event_record *e;
    struct vmi_conform_upcalls a, b;

    if (!t->be->upcalls) {
        vmi_conform_na(t, "the backend has no interrupt handler");
        return;
    }
    e = cases_events(t, t->be->upcall_vector);
    VMI_REQUIRE("VMI-EVT-040", e != NULL);
    t->be->upcalls(t->be->ctx, 1, &a); /* take anything already due */
    cases_clear(e, UINT64_C(1) << 3);
    VMI_REQUIRE_ST("VMI-EVT-040", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL),
                   0);
    /* Masked by PSTATE.I: not taken ... */
    t->be->upcalls(t->be->ctx, 0, &b);
    VMI_CHECK_EQ("VMI-EVT-040", b.taken, a.taken);
    /* ... nor below the priority mask (the handler's priority is 0x80) ... */
    write_pmr(0x80);
    t->be->upcalls(t->be->ctx, 1, &b);
    write_pmr(0xFF);
    VMI_CHECK_EQ("VMI-EVT-040", b.taken, a.taken);
    /* ... then taken once, active in the GIC while served. */
    t->be->upcalls(t->be->ctx, 1, &b);
    VMI_CHECK_EQ("VMI-EVT-040", b.taken, a.taken + 1);
    VMI_CHECK_EQ("VMI-EVT-040", b.in_service, a.in_service + 1);
    VMI_CHECK_EQ("VMI-EVT-040", cases_pending(e) & (UINT64_C(1) << 3),
                 UINT64_C(1) << 3);
    /* Edge-triggered: nothing more without another event. */
    t->be->upcalls(t->be->ctx, 1, &a);
    VMI_CHECK_EQ("VMI-EVT-040", a.taken, b.taken);
    cases_clear(e, UINT64_C(1) << 3);
}

/*
 * What a started vCPU holds at its entry point (VMI-CPU-012, -013, -028),
 * recorded by a64_probe_entry before anything runs: x0 to x30, SP, the
 * exception level, DAIF, SPSel, the MMU's registers and VBAR, registers
 * that must be at their reset values, and its GIC CPU interface's and
 * redistributor's state (the redistributor the image's backend names).
 * Then the probe dirties those and stops its vCPU with VMI_HC_VCPU_STOP,
 * so that a second start shows whether the host reset them.
 */
struct a64_probe {
    uint64_t x[31];                                  /* +0 */
    uint64_t sp, el, daif, spsel;                    /* +248 */
    uint64_t sctlr, tcr, mair, ttbr1, vbar, ttbr0;   /* +280 */
    uint64_t cpacr, tpidr1, cntv_ctl, mdscr, tpidr0; /* +328 */
    uint32_t seq;                                    /* +368 */
    uint32_t pad;
    uint64_t stop_fid; /* +376: HVC function of VMI_HC_VCPU_STOP */
    uint64_t gicr;     /* +384: its redistributor's RD_base, or 0 */
    uint64_t isenabler0, ipriorityr4, icfgr1, igroupr0; /* +392 */
    uint64_t pmr, igrpen1;                              /* +424 */
};

_Static_assert(__builtin_offsetof(struct a64_probe, tpidr0) == 360 &&
                   __builtin_offsetof(struct a64_probe, seq) == 368 &&
                   __builtin_offsetof(struct a64_probe, stop_fid) == 376 &&
                   __builtin_offsetof(struct a64_probe, gicr) == 384 &&
                   __builtin_offsetof(struct a64_probe, pmr) == 424,
               "a64_probe_entry's offsets");

void a64_probe_entry(void);
/* clang-format off */
__asm__(".text\n\t"
        ".globl a64_probe_entry\n\t"
        "a64_probe_entry:\n\t"
        "stp x0, x1, [x0, #0]\n\t"
        "stp x2, x3, [x0, #16]\n\t"
        "stp x4, x5, [x0, #32]\n\t"
        "stp x6, x7, [x0, #48]\n\t"
        "stp x8, x9, [x0, #64]\n\t"
        "stp x10, x11, [x0, #80]\n\t"
        "stp x12, x13, [x0, #96]\n\t"
        "stp x14, x15, [x0, #112]\n\t"
        "stp x16, x17, [x0, #128]\n\t"
        "stp x18, x19, [x0, #144]\n\t"
        "stp x20, x21, [x0, #160]\n\t"
        "stp x22, x23, [x0, #176]\n\t"
        "stp x24, x25, [x0, #192]\n\t"
        "stp x26, x27, [x0, #208]\n\t"
        "stp x28, x29, [x0, #224]\n\t"
        "str x30, [x0, #240]\n\t"
        "mov x1, sp\n\t"
        "str x1, [x0, #248]\n\t"
        "mrs x1, CurrentEL\n\t"
        "str x1, [x0, #256]\n\t"
        "mrs x1, daif\n\t"
        "str x1, [x0, #264]\n\t"
        "mrs x1, spsel\n\t"
        "str x1, [x0, #272]\n\t"
        "mrs x1, sctlr_el1\n\t"
        "str x1, [x0, #280]\n\t"
        "mrs x1, tcr_el1\n\t"
        "str x1, [x0, #288]\n\t"
        "mrs x1, mair_el1\n\t"
        "str x1, [x0, #296]\n\t"
        "mrs x1, ttbr1_el1\n\t"
        "str x1, [x0, #304]\n\t"
        "mrs x1, vbar_el1\n\t"
        "str x1, [x0, #312]\n\t"
        "mrs x1, ttbr0_el1\n\t"
        "str x1, [x0, #320]\n\t"
        "mrs x1, cpacr_el1\n\t"
        "str x1, [x0, #328]\n\t"
        "mrs x1, tpidr_el1\n\t"
        "str x1, [x0, #336]\n\t"
        "mrs x1, cntv_ctl_el0\n\t"
        "str x1, [x0, #344]\n\t"
        "mrs x1, mdscr_el1\n\t"
        "str x1, [x0, #352]\n\t"
        "mrs x1, tpidr_el0\n\t"
        "str x1, [x0, #360]\n\t"
        /* The GIC: CPU interface, then the redistributor. */
        "mrs x1, S3_0_C4_C6_0\n\t" /* ICC_PMR_EL1 */
        "str x1, [x0, #424]\n\t"
        "mrs x1, S3_0_C12_C12_7\n\t" /* ICC_IGRPEN1_EL1 */
        "str x1, [x0, #432]\n\t"
        "ldr x2, [x0, #384]\n\t"
        "cbz x2, 2f\n\t"
        "add x2, x2, #0x10000\n\t" /* SGI_base */
        "ldr w1, [x2, #0x100]\n\t" /* ISENABLER0 */
        "str x1, [x0, #392]\n\t"
        "ldr w1, [x2, #0x410]\n\t" /* IPRIORITYR4: INTIDs 16-19 */
        "str x1, [x0, #400]\n\t"
        "ldr w1, [x2, #0xc04]\n\t" /* ICFGR1 */
        "str x1, [x0, #408]\n\t"
        "ldr w1, [x2, #0x80]\n\t" /* IGROUPR0 */
        "str x1, [x0, #416]\n\t"
        "mov w1, #(1 << 18)\n\t"
        "str w1, [x2, #0x100]\n\t"
        "mov w1, #0x8080\n\t"
        "str w1, [x2, #0x410]\n\t"
        "mov w1, #0x20\n\t" /* INTID 18 edge-triggered */
        "str w1, [x2, #0xc04]\n\t"
        "2:\n\t"
        "mov x1, #0x80\n\t"
        "msr S3_0_C4_C6_0, x1\n\t"
        "mov x1, #1\n\t"
        "msr S3_0_C12_C12_7, x1\n\t"
        /* A life worth forgetting. */
        "mov x1, #(3 << 20)\n\t"
        "msr cpacr_el1, x1\n\t"
        "mov x1, #0x1234\n\t"
        "msr tpidr_el1, x1\n\t"
        "msr tpidr_el0, x1\n\t"
        "mov x1, #3\n\t" /* ENABLE, IMASK */
        "msr cntv_ctl_el0, x1\n\t"
        "mov x1, #1\n\t" /* SS */
        "msr mdscr_el1, x1\n\t"
        "isb\n\t"
        "ldr w1, [x0, #368]\n\t"
        "add w1, w1, #1\n\t"
        "dmb ish\n\t"
        "str w1, [x0, #368]\n\t"
        "dmb ish\n\t"
        "ldr x0, [x0, #376]\n\t"
        "mov x1, #0\n\t"
        "hvc #0\n\t" /* VCPU_STOP: does not return */
        "1: wfi\n\t"
        "b 1b\n\t");
/* clang-format on */

static int probe_wait(struct vmi_conform_t *t, struct a64_probe *r,
                      uint32_t seq)
{
    uint64_t end = vmi_conform_time(t) + UINT64_C(5000000000);

    while (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) < seq)
        if (vmi_conform_time(t) > end)
            return -1;
    return 0;
}

#define SYSREG(name)                                                           \
    ({                                                                         \
        uint64_t v_;                                                           \
        __asm__ volatile("mrs %0, " name : "=r"(v_));                          \
        v_;                                                                    \
    })

static void probe_check(struct vmi_conform_t *t, const struct a64_probe *r,
                        const struct vmi_vcpu_start *st)
{
    uint32_t i, nonzero = 0;

    VMI_CHECK_EQ("VMI-CPU-012", r->el, 1u << 2);
    VMI_CHECK_EQ("VMI-CPU-012", r->daif, 0xFu << 6);
    VMI_CHECK_EQ("VMI-CPU-012", r->spsel, 1);
    VMI_CHECK_EQ("VMI-CPU-012", r->sctlr, SYSREG("sctlr_el1"));
    VMI_CHECK_EQ("VMI-CPU-012", r->tcr, SYSREG("tcr_el1"));
    VMI_CHECK_EQ("VMI-CPU-012", r->mair, SYSREG("mair_el1"));
    VMI_CHECK_EQ("VMI-CPU-012", r->ttbr1, SYSREG("ttbr1_el1"));
    VMI_CHECK_EQ("VMI-CPU-012", r->vbar, SYSREG("vbar_el1"));
    VMI_CHECK_EQ("VMI-CPU-013", r->x[0], st->arg);
    VMI_CHECK_EQ("VMI-CPU-013", r->sp, st->stack_gva);
    VMI_CHECK_EQ("VMI-CPU-013", r->ttbr0, st->page_table_gpa);
    for (i = 1; i < 31; i++)
        nonzero += r->x[i] != 0;
    VMI_CHECK_EQ("VMI-CPU-013", nonzero, 0);
    VMI_CHECK_EQ("VMI-CPU-028", r->cpacr, 0);
    VMI_CHECK_EQ("VMI-CPU-028", r->tpidr1, 0);
    VMI_CHECK_EQ("VMI-CPU-028", r->tpidr0, 0);
    VMI_CHECK_EQ("VMI-CPU-028", r->cntv_ctl, 0);
    VMI_CHECK_EQ("VMI-CPU-028", r->mdscr, 0);
    /* The GIC CPU interface and the redistributor as after reset. */
    VMI_CHECK_EQ("VMI-CPU-028", r->pmr, 0);
    VMI_CHECK_EQ("VMI-CPU-028", r->igrpen1, 0);
    if (r->gicr) {
        VMI_CHECK_EQ("VMI-CPU-028", r->isenabler0, 0);
        VMI_CHECK_EQ("VMI-CPU-028", r->ipriorityr4, 0);
        VMI_CHECK_EQ("VMI-CPU-028", r->icfgr1, 0);
    }
}

TEST(cpu_started_vcpu_entry_state_aarch64)
{
    struct a64_probe *r = vmi_conform_alloc(t, sizeof(*r), 64);
    struct vmi_vcpu_start *st = vmi_conform_alloc(t, sizeof(*st), 64);
    uint8_t *stack = vmi_conform_alloc(t, 4096, 4096);
    uint64_t end, tp0 = SYSREG("tpidr_el0");
    int64_t status;
    uint32_t id;

    VMI_REQUIRE("VMI-CPU-012", r && st && stack);
    VMI_REQUIRE("VMI-CPU-012", vmi_conform_vcpu_fresh(t, &id) == 0);
    vmi_conform_memset(r, 0, sizeof(*r));
    r->stop_fid = VMI_SMCCC_CALL(VMI_HC_VCPU_STOP);
    r->gicr = t->be->gic_redist ? t->be->gic_redist(t->be->ctx, id) : 0;
    VMI_CHECK("VMI-CPU-028", r->gicr != 0);
    vmi_conform_memset(st, 0, sizeof(*st));
    st->entry_gva = (uint64_t)(uintptr_t)a64_probe_entry;
    st->stack_gva = (uint64_t)(uintptr_t)(stack + 4096) - 64;
    st->page_table_gpa = SYSREG("ttbr0_el1");
    st->arg = (uint64_t)(uintptr_t)r;
    /* The starter's thread register is not the new vCPU's. */
    __asm__ volatile("msr tpidr_el0, %0" ::"r"(UINT64_C(0x5A5A)));
    status = CALL2(t, VMI_HC_VCPU_START, id, vmi_conform_gpa(t, st), NULL);
    __asm__ volatile("msr tpidr_el0, %0" ::"r"(tp0));
    VMI_REQUIRE_ST("VMI-CPU-013", status, 0);
    VMI_REQUIRE("VMI-CPU-013", probe_wait(t, r, 1) == 0);
    probe_check(t, r, st);
    /* Busy until the probe's VCPU_STOP has taken effect. */
    end = vmi_conform_time(t) + UINT64_C(5000000000);
    do
        status = CALL2(t, VMI_HC_VCPU_START, id, vmi_conform_gpa(t, st), NULL);
    while (status == -VMI_E_BUSY && vmi_conform_time(t) < end);
    VMI_REQUIRE_ST("VMI-CPU-028", status, 0);
    VMI_REQUIRE("VMI-CPU-028", probe_wait(t, r, 2) == 0);
    probe_check(t, r, st);
}

/*
 * PSCI, the platform's door (VMI-CPU-019, VMI-CPU-020): a vCPU that PSCI
 * CPU_ON started is busy for VMI_HC_VCPU_START; one that CPU_OFF stopped
 * can be started with VMI_HC_VCPU_START; one that VMI_HC_VCPU_STOP stopped
 * can be started with CPU_ON (and AFFINITY_INFO reports it off).  The
 * PSCI probe runs with the MMU off (CPU_ON's entry state) at the physical
 * address of psci_probe_entry, x0 = its record: it counts its entries in
 * `seq`, waits for `cmd`, then turns itself off with CPU_OFF.
 */
struct psci_probe {
    uint32_t seq; /* +0 */
    uint32_t cmd; /* +4 */
};

void psci_probe_entry(void);
/* clang-format off */
__asm__(".text\n\t"
        ".globl psci_probe_entry\n\t"
        "psci_probe_entry:\n\t"
        "ldr w1, [x0, #0]\n\t"
        "add w1, w1, #1\n\t"
        "str w1, [x0, #0]\n\t"
        "dmb sy\n\t"
        "1: ldr w1, [x0, #4]\n\t"
        "cbz w1, 1b\n\t"
        "str wzr, [x0, #4]\n\t"
        "dmb sy\n\t"
        "movz x0, #0x0002\n\t"
        "movk x0, #0x8400, lsl #16\n\t" /* PSCI CPU_OFF */
        "hvc #0\n\t"
        "2: b 2b\n\t");
/* clang-format on */

#define PSCI_CPU_ON64 0xC4000003u
#define PSCI_AFFINITY_INFO64 0xC4000004u

/*
 * The probe's record as the probe sees it: with its MMU off it reads and
 * writes memory uncached, so the line is cleaned and invalidated around
 * each access from this side (a no-op under TCG, needed on hardware).
 */
static void psci_sync(volatile void *p)
{
    __asm__ volatile("dc civac, %0\n\tdsb sy" ::"r"(p) : "memory");
}

static int psci_wait(struct vmi_conform_t *t, volatile uint32_t *p,
                     uint32_t want)
{
    uint64_t end = vmi_conform_time(t) + UINT64_C(5000000000);

    for (;;) {
        psci_sync(p);
        if (__atomic_load_n(p, __ATOMIC_ACQUIRE) == want)
            return 0;
        if (vmi_conform_time(t) > end)
            return -1;
    }
}

static void psci_command(struct psci_probe *p)
{
    __atomic_store_n(&p->cmd, 1, __ATOMIC_RELEASE);
    psci_sync(&p->cmd);
}

/* PSCI's power state of `mpidr`: 0 on, 1 off, 2 pending, or an error. */
static int64_t psci_affinity(uint64_t mpidr)
{
    uint64_t in[6] = {PSCI_AFFINITY_INFO64, mpidr, 0, 0, 0, 0}, out[4];

    hvc(in, out);
    return (int32_t)out[0];
}

static int psci_wait_off(struct vmi_conform_t *t, uint64_t mpidr)
{
    uint64_t end = vmi_conform_time(t) + UINT64_C(5000000000);

    while (psci_affinity(mpidr) != 1)
        if (vmi_conform_time(t) > end)
            return -1;
    return 0;
}

TEST(cpu_psci_is_the_platforms_door)
{
    struct psci_probe *p = vmi_conform_alloc(t, sizeof(*p), 64);
    struct a64_probe *r = vmi_conform_alloc(t, sizeof(*r), 64);
    struct vmi_vcpu_start *st = vmi_conform_alloc(t, sizeof(*st), 64);
    uint8_t *stack = vmi_conform_alloc(t, 4096, 4096);
    uint64_t in[6] = {0}, out[4], mpidr, end;
    uint32_t id, aff;
    int64_t status;

    VMI_REQUIRE("VMI-CPU-019", p && r && st && stack);
    VMI_REQUIRE("VMI-CPU-019", vmi_conform_vcpu_fresh(t, &id) == 0);
    VMI_REQUIRE("VMI-CPU-019", vmi_guest_vcpu_platform_id(t->g, id, &aff) == 0);
    mpidr = (aff & 0xFFFFFFu) | ((uint64_t)(aff >> 24) << 32);
    vmi_conform_memset(p, 0, sizeof(*p));
    psci_sync(p);
    vmi_conform_memset(r, 0, sizeof(*r));
    r->stop_fid = VMI_SMCCC_CALL(VMI_HC_VCPU_STOP);
    vmi_conform_memset(st, 0, sizeof(*st));
    st->entry_gva = (uint64_t)(uintptr_t)a64_probe_entry;
    st->stack_gva = (uint64_t)(uintptr_t)(stack + 4096) - 64;
    st->page_table_gpa = SYSREG("ttbr0_el1");
    st->arg = (uint64_t)(uintptr_t)r;

    /* CPU_ON starts it: started for VCPU_START too. */
    in[0] = PSCI_CPU_ON64;
    in[1] = mpidr;
    in[2] = (uint64_t)(uintptr_t)psci_probe_entry; /* identity mapped */
    in[3] = vmi_conform_gpa(t, p);
    hvc(in, out);
    VMI_REQUIRE_ST("VMI-CPU-019", (int32_t)out[0], 0);
    VMI_REQUIRE("VMI-CPU-019", psci_wait(t, &p->seq, 1) == 0);
    VMI_CHECK_ST("VMI-CPU-019",
                 CALL2(t, VMI_HC_VCPU_START, id, vmi_conform_gpa(t, st), NULL),
                 -VMI_E_BUSY);
    /* CPU_OFF stops it as VCPU_STOP does: VCPU_START may start it. */
    psci_command(p);
    VMI_REQUIRE("VMI-CPU-020", psci_wait_off(t, mpidr) == 0);
    end = vmi_conform_time(t) + UINT64_C(5000000000);
    do
        status = CALL2(t, VMI_HC_VCPU_START, id, vmi_conform_gpa(t, st), NULL);
    while (status == -VMI_E_BUSY && vmi_conform_time(t) < end);
    VMI_CHECK_ST("VMI-CPU-020", status, 0);
    VMI_REQUIRE("VMI-CPU-020", probe_wait(t, r, 1) == 0);
    /* It stops itself with VCPU_STOP: off for PSCI, which starts it. */
    VMI_CHECK("VMI-CPU-019", psci_wait_off(t, mpidr) == 0);
    hvc(in, out);
    VMI_CHECK_ST("VMI-CPU-019", (int32_t)out[0], 0);
    VMI_REQUIRE("VMI-CPU-019", psci_wait(t, &p->seq, 2) == 0);
    /* Left off, as it was found. */
    psci_command(p);
    VMI_CHECK("VMI-CPU-020", psci_wait_off(t, mpidr) == 0);
}

#define A64_FN(name) name
#else
/*
 * Built for another architecture (x86-64, or the simulator): the same
 * tests, each not applicable, so that reports on every architecture list
 * them.
 */
static void aarch64_only(struct vmi_conform_t *t)
{
    vmi_conform_na(t, "needs an AArch64 vCPU; this image is built for "
                      "another architecture");
}
#define A64_FN(name) aarch64_only
#endif

#define A64(name, cl, feat, vc)                                                \
    {                                                                          \
#name, cl, VMI_PROFILE_CORE, VMI_CONFORM_REAL, (feat), (vc), 2000,     \
            A64_FN(name)                                                       \
    }

static const struct vmi_conform_test tests[] = {
    A64(dsc_smccc_uid_and_information_words,
        "VMI-DSC-033 VMI-DSC-035 VMI-DSC-028 VMI-DSC-045", 0, 1),
    A64(dsc_smccc_version_is_1_1_or_later, "VMI-DSC-046", 0, 1),
    A64(call_hvc_number_from_w0_only, "VMI-CALL-036", 0, 1),
    A64(call_registers_preserved_across_hvc,
        "VMI-CALL-006 VMI-CALL-007 VMI-CALL-008", 0, 1),
    A64(evt_upcall_is_a_ppi_through_the_gic, "VMI-EVT-040", VMI_F_EVENTS, 1),
    A64(cpu_psci_is_the_platforms_door, "VMI-CPU-019 VMI-CPU-020", VMI_F_VCPU,
        2),
    A64(cpu_started_vcpu_entry_state_aarch64,
        "VMI-CPU-012 VMI-CPU-013 VMI-CPU-028", VMI_F_VCPU, 2),
};

AREA(vmi_conform_area_aarch64, "aarch64", tests);
