/* SPDX-License-Identifier: MIT */
/* test_dispatch.c: call table, privilege, lifecycle and feature checks,
 * status precedence, result zeroing, CPUID, configuration checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

static void test_nop_returns_ok_in_every_state(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NOP, 1, 2, 3, 4, 5, &c), 0);
    assert_int_equal(c.rets[0], 0);
    assert_int_equal(c.rets[1], 0);
    assert_int_equal(c.action, VMI_HOST_RESUME);
    /* From user mode only once the kernel asked for it (VMI-CALL-034). */
    assert_int_equal(fake_user_call(x->vm, 1, VMI_HC_NOP, 0, 0), -VMI_E_PERM);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_USER, 0, 0, 0, NULL),
                     0);
    assert_int_equal(fake_call(x->vm, 3, VMI_HC_NOP, 0, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.rets[0] | c.rets[1], 0);
    assert_int_equal(fake_user_call(x->vm, 1, VMI_HC_NOP, 0, 0), 0);
}

/* NOP is answered without the VM lock: it still counts, and still obeys
 * the lifecycle (after SHUTDOWN the VM is over). */
static void test_nop_fast_path_counts_and_obeys_shutdown(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_stats before, after;

    vmi_host_get_stats(x->vm, &before);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            fake_call(x->vm, (uint32_t)i % 4, VMI_HC_NOP, 0, 0, 0, 0, 0, NULL),
            0);
    vmi_host_get_stats(x->vm, &after);
    assert_int_equal(after.hypercalls - before.hypercalls, 5);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_SHUTDOWN, 0, 0, 0, 0, 0, NULL),
                     0);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_NOP, 0, 0, 0, 0, 0, NULL),
                     -VMI_E_STATE);
}

static void test_unknown_numbers_are_nosys(void **state)
{
    struct fake_fx *x = *state;
    static const uint64_t bad[] = {
        0x0004, 0x00FF, 0x0102, 0x0203, 0x0302, 0x0403, 0x0502, 0x0601, 0x0703,
        0x0802, 0x0900, 0x7F00, 0xFFFF, 0x10000,
        /* NOP's number with high bits set: all 64 bits count. */
        UINT64_C(0x100000000), UINT64_C(0xFFFFFFFFFFFFFFFF)};

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        fake_expect_reject(&x->f, x->vm, 0, bad[i], 0, 0, 0, 0, 0,
                           -VMI_E_NOSYS);
}

static void test_kernel_calls_from_user_mode_are_perm(void **state)
{
    struct fake_fx *x = *state;

    for (unsigned i = 0; i < fake_hc_count; i++) {
        const struct fake_hc *h = &fake_hcs[i];
        size_t l1, l2;
        uint8_t *s1 = fake_save(x->vm, &l1), *s2;
        int64_t st = fake_user_call(x->vm, 0, h->nr, 0, 0);
        if (h->priv == VMI_PRIV_KERNEL)
            assert_int_equal(st, -VMI_E_PERM);
        else
            assert_int_not_equal(st, -VMI_E_PERM);
        s2 = fake_save(x->vm, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(s1, s2, l1);
        free(s1);
        free(s2);
    }
    assert_int_equal(fake_user_call(x->vm, 0, VMI_HC_TIME_READ, 0, 0), 0);
}

static void test_calls_before_negotiation_are_state(void **state)
{
    struct fake_fx *x = *state;

    for (unsigned i = 0; i < fake_hc_count; i++) {
        const struct fake_hc *h = &fake_hcs[i];
        if (h->before_negotiate)
            continue;
        fake_expect_reject(&x->f, x->vm, 0, h->nr, 0, 0, 0, 0, 0, -VMI_E_STATE);
    }
}

static void test_calls_of_features_not_granted_are_notsup(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    /* Ask for the clock only. */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_CLOCK, 0, 0, 0, &c),
                     0);
    assert_int_equal(c.rets[1], VMI_F_CLOCK);
    for (unsigned i = 0; i < fake_hc_count; i++) {
        const struct fake_hc *h = &fake_hcs[i];
        if (!h->feature || (h->feature & VMI_F_CLOCK))
            continue;
        fake_expect_reject(&x->f, x->vm, 0, h->nr, 0, 0, 0, 0, 0,
                           -VMI_E_NOTSUP);
    }
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, NULL),
                     0);
}

static void test_precedence_nosys_perm_state_notsup(void **state)
{
    struct fake_fx *x = *state;

    /* Unknown and user: NOSYS wins over PERM. */
    assert_int_equal(fake_user_call(x->vm, 0, 0x0903, 0, 0), -VMI_E_NOSYS);
    /* Kernel call from user before negotiation: PERM wins over STATE. */
    assert_int_equal(fake_user_call(x->vm, 0, VMI_HC_TIMER_ARM, 0, 0),
                     -VMI_E_PERM);
    /* Before negotiation nothing is granted: STATE wins over NOTSUP. */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_PT_PIN, 0, 1, 0, 0, 0, NULL),
                     -VMI_E_STATE);
    /* NOTSUP wins over the call's own argument checks (INVAL). */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_CLOCK, 0, 0, 0, NULL),
                     0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_TIMER_ARM, 0, 0, 0, 0, 1, NULL),
                     -VMI_E_NOTSUP);
}

static void test_results_not_defined_are_zero(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    /* fake_call presets the results with garbage. */
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_TIMER_CANCEL, 3, 0, 0, 0, 0, &c), 0);
    assert_int_equal(c.rets[0], 0);
    assert_int_equal(c.rets[1], 0);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_TIMER_ARM, 99999, 0, 0, 0, 0, &c),
        -VMI_E_RANGE);
    assert_int_equal(c.rets[0] | c.rets[1], 0);
    assert_int_equal(fake_call(x->vm, 0, 0x4242, 0, 0, 0, 0, 0, &c),
                     -VMI_E_NOSYS);
    assert_int_equal(c.rets[0] | c.rets[1], 0);
}

static void test_embedder_errors_are_inval(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(vmi_host_hypercall(x->vm, 4, &c), -VMI_E_INVAL);
    assert_int_equal(vmi_host_hypercall(x->vm, 0, NULL), -VMI_E_INVAL);
    assert_int_equal(vmi_host_hypercall(NULL, 0, &c), -VMI_E_INVAL);
}

static void test_cpuid_block(void **state)
{
    struct fake_fx *x = *state;
    uint32_t b = vmi_host_cpuid_base(), r[4];
    char vendor[49] = "";

    assert_int_equal(b, 0x40000100u);
    assert_int_equal(vmi_host_cpuid(x->vm, 0, b, b, r), 1);
    assert_int_equal(r[0], b + 9);
    assert_int_equal(r[1], VMI_CPUID_SIGNATURE_EBX);
    assert_int_equal(r[2], VMI_CPUID_SIGNATURE_ECX);
    assert_int_equal(r[3], VMI_CPUID_SIGNATURE_EDX);
    assert_int_equal(vmi_host_cpuid(x->vm, 0, b, b + 1, r), 1);
    assert_int_equal(r[0], VMI_VERSION(1, 0));
    assert_int_equal(r[1], VMI_VERSION(1, 0));
    assert_int_equal(r[2], VMI_TRANSPORT_PORTIO);
    assert_int_equal(r[3], 0x520);
    assert_int_equal(vmi_host_cpuid(x->vm, 0, b, b + 2, r), 1);
    assert_int_equal(r[0], (uint32_t)VMI_F_ALL_1_0);
    assert_int_equal(r[1], 0);
    assert_int_equal(r[2], 4);
    assert_int_equal(r[3], VMI_PROFILE_CORE | VMI_PROFILE_PAGETABLE |
                               VMI_PROFILE_MIGRATION);
    assert_int_equal(vmi_host_cpuid(x->vm, 0, b, b + 3, r), 1);
    assert_int_equal(r[0], 1024);
    assert_int_equal(r[1], 64);
    assert_int_equal(r[2], 4096);
    assert_int_equal(r[3], 64);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(vmi_host_cpuid(x->vm, 0, b, b + 4 + i,
                                        (uint32_t *)(void *)(vendor + 16 * i)),
                         1);
    assert_string_equal(vendor, "OpenVMI fake host");
    /* Timing: the defaults (10 us, 1 ms), no skew on a stable TSC. */
    assert_int_equal(vmi_host_cpuid(x->vm, 0, b, b + 7, r), 1);
    assert_int_equal(r[0], 10000);
    assert_int_equal(r[1], 1000000);
    assert_int_equal(r[2], 0);
    assert_int_equal(r[3], 0);
    /* B + 8 names the vCPU that asks (VMI-DSC-040). */
    for (uint32_t v = 0; v < 4; v++) {
        assert_int_equal(vmi_host_cpuid(x->vm, v, b, b + 8, r), 1);
        assert_int_equal(r[0], v);
        assert_int_equal(r[1] | r[2] | r[3], 0);
    }
    /* Above the block: zeros, still ours. */
    memset(r, 0xAA, sizeof(r));
    assert_int_equal(vmi_host_cpuid(x->vm, 0, b, b + 0x20, r), 1);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    /* Outside the block: not ours, untouched. */
    memset(r, 0xAA, sizeof(r));
    assert_int_equal(vmi_host_cpuid(x->vm, 0, b, b + 0x100, r), 0);
    assert_int_equal(vmi_host_cpuid(x->vm, 0, b, 0x40000000u, r), 0);
    assert_int_equal(vmi_host_cpuid(x->vm, 0, b, 1, r), 0);
    assert_int_equal(r[0], 0xAAAAAAAAu);
    /* A base outside the scan range or misaligned is refused. */
    assert_int_equal(vmi_host_cpuid(x->vm, 0, 0x40000080u, 0x40000080u, r), 0);
    assert_int_equal(vmi_host_cpuid(x->vm, 0, 0x40010000u, 0x40010000u, r), 0);
}

/*
 * aarch64: the SMCCC vendor hypervisor functions (VMI-DSC-033, -035,
 * VMI-CALL-036): the UID, the information functions as the CPUID block
 * with function 0's x0 the highest function, calls decoded from W0 only;
 * everything else is the embedder's.
 */
static void test_smccc_discovery_and_calls(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    struct vmi_host_call c;
    uint64_t x[6] = {0}, out[4];
    uint32_t b = vmi_host_cpuid_base(), r[4];

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    cfg.transports = VMI_TRANSPORT_HVC;
    vm = fake_vm(f, &cfg);

    /* Call UID, upper half of x0 ignored. */
    x[0] = UINT64_C(0xFFFFFFFF00000000) | VMI_SMCCC_CALL_UID;
    assert_int_equal(vmi_host_smccc(vm, 0, x, out, &c), VMI_HOST_SMCCC_ANSWER);
    assert_int_equal(out[0], VMI_SMCCC_UID_W0);
    assert_int_equal(out[1], VMI_SMCCC_UID_W1);
    assert_int_equal(out[2], VMI_SMCCC_UID_W2);
    assert_int_equal(out[3], VMI_SMCCC_UID_W3);

    /* INFO(0): the highest function, not B plus it. */
    x[0] = VMI_SMCCC_INFO(0);
    assert_int_equal(vmi_host_smccc(vm, 0, x, out, &c), VMI_HOST_SMCCC_ANSWER);
    assert_int_equal(out[0], VMI_CPUID_LEAF_COUNT - 1);
    assert_int_equal(out[1], VMI_CPUID_SIGNATURE_EBX);
    /* INFO(n) is leaf B + n; INFO(1) announces HVC (VMI-DSC-028). */
    for (uint32_t n = 1; n < 0x100; n++) {
        x[0] = VMI_SMCCC_INFO(n);
        x[1] = 2; /* the subleaf: B+9 answers for vCPU 2 */
        assert_int_equal(vmi_host_smccc(vm, 3, x, out, &c),
                         VMI_HOST_SMCCC_ANSWER);
        assert_int_equal(vmi_host_cpuid_sub(vm, 3, b, b + n, 2, r), 1);
        for (unsigned i = 0; i < 4; i++)
            assert_int_equal(out[i], r[i]);
    }
    x[0] = VMI_SMCCC_INFO(1);
    vmi_host_smccc(vm, 0, x, out, &c);
    assert_int_equal(out[2], VMI_TRANSPORT_HVC);
    x[0] = VMI_SMCCC_INFO(8);
    vmi_host_smccc(vm, 1, x, out, &c);
    assert_int_equal(out[0], 1);

    /* A call: number from W0's low 16 bits, arguments x1..x5. */
    x[0] = UINT64_C(0xABCD000000000000) | VMI_SMCCC_CALL(VMI_HC_NOP);
    for (unsigned i = 1; i < 6; i++)
        x[i] = 100 + i;
    memset(&c, 0xAA, sizeof(c));
    assert_int_equal(vmi_host_smccc(vm, 0, x, out, &c), VMI_HOST_SMCCC_CALL);
    assert_int_equal(c.nr, VMI_HC_NOP);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(c.args[i], 101 + i);
    assert_int_equal(c.user | c.irq_enabled | c.action, 0);
    assert_int_equal(vmi_host_hypercall(vm, 0, &c), 0);
    assert_int_equal(c.status, 0);
    x[0] = VMI_SMCCC_CALL(0xFFFF);
    assert_int_equal(vmi_host_smccc(vm, 0, x, out, &c), VMI_HOST_SMCCC_CALL);
    assert_int_equal(c.nr, 0xFFFF);

    /* Not ours: PSCI, SMCCC_VERSION, other vendor-hypervisor functions. */
    static const uint32_t other[] = {0x84000000u, 0xC4000003u, 0x80000000u,
                                     0x8600FF00u, 0x8600FF03u, 0x8600FD00u,
                                     0x86000000u, 0xC7000000u, 0x46000000u};
    for (unsigned i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        x[0] = other[i];
        assert_int_equal(vmi_host_smccc(vm, 0, x, out, &c),
                         VMI_HOST_SMCCC_OTHER);
    }
    assert_int_equal(vmi_host_smccc(NULL, 0, x, out, &c), VMI_HOST_SMCCC_OTHER);
    vmi_host_vm_destroy(vm);

    /* A host that does not serve HVC answers none of it. */
    fake_config(f, &cfg);
    vm = fake_vm(f, &cfg);
    x[0] = VMI_SMCCC_CALL_UID;
    assert_int_equal(vmi_host_smccc(vm, 0, x, out, &c), VMI_HOST_SMCCC_OTHER);
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
}

static void test_cpuid_without_pt_announces_no_pins(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    uint32_t b = vmi_host_cpuid_base(), r[4];

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    cfg.features = VMI_PROFILE_CORE_FEATURES;
    vm = fake_vm(f, &cfg);
    assert_int_equal(vmi_host_cpuid(vm, 0, b, b + 3, r), 1);
    assert_int_equal(r[3], 0);
    assert_int_equal(vmi_host_cpuid(vm, 0, b, b + 2, r), 1);
    assert_int_equal(r[3], VMI_PROFILE_CORE | VMI_PROFILE_MIGRATION);
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
}

/*
 * B + 9 maps a vCPU id in the subleaf to the platform id the embedder gave
 * (VMI-DSC-043), the same on every vCPU; identity without a map; zeros
 * past the vCPU count (VMI-DSC-044).  The embedder's array is copied.
 */
static void test_cpuid_vcpu_map(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    uint32_t ids[4] = {0, 2, 4, 6};
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    uint32_t b = vmi_host_cpuid_base(), r[4];

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    assert_int_equal(cfg.vcpu_count, 4);
    vm = fake_vm(f, &cfg);
    for (uint32_t v = 0; v < 4; v++) {
        assert_int_equal(vmi_host_cpuid_sub(vm, 3, b, b + 9, v, r), 1);
        assert_int_equal(r[0], v);
        assert_int_equal(r[1], VMI_VCPU_MAP_EXISTS);
        assert_int_equal(r[2] | r[3], 0);
    }
    vmi_host_vm_destroy(vm);
    cfg.platform_ids = ids;
    vm = fake_vm(f, &cfg);
    ids[1] = 99;
    for (uint32_t asker = 0; asker < 4; asker++)
        for (uint32_t v = 0; v < 4; v++) {
            assert_int_equal(vmi_host_cpuid_sub(vm, asker, b, b + 9, v, r), 1);
            assert_int_equal(r[0], 2 * v);
            assert_int_equal(r[1], VMI_VCPU_MAP_EXISTS);
        }
    /* Subleaf 0 through the old entry point: vCPU 0's. */
    assert_int_equal(vmi_host_cpuid(vm, 2, b, b + 9, r), 1);
    assert_int_equal(r[0], 0);
    assert_int_equal(r[1], VMI_VCPU_MAP_EXISTS);
    for (uint32_t v = 4; v != 0; v = v < 0x80000000u ? v * 2 : 0) {
        memset(r, 0xAA, sizeof(r));
        assert_int_equal(vmi_host_cpuid_sub(vm, 1, b, b + 9, v, r), 1);
        assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    }
    assert_int_equal(vmi_host_cpuid_sub(vm, 1, b, b + 9, 0xFFFFFFFFu, r), 1);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    /* The highest leaf is B + 9 now. */
    assert_int_equal(vmi_host_cpuid(vm, 0, b, b, r), 1);
    assert_int_equal(r[0], b + 9);
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
}

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* Arguments that reach every check: small ids and counts, aligned and
 * misaligned addresses in and out of RAM, flags, extremes. */
static uint64_t pick_arg(uint64_t *s)
{
    static const uint64_t pool[] = {0,
                                    1,
                                    2,
                                    3,
                                    4,
                                    7,
                                    8,
                                    63,
                                    64,
                                    65,
                                    4095,
                                    4096,
                                    0x2000,
                                    0x2008,
                                    0x2010,
                                    0x3001,
                                    0x10000,
                                    0x100000,
                                    FAKE_RAM_BYTES - 64,
                                    FAKE_RAM_BYTES,
                                    FAKE_RAM_BYTES + 4096,
                                    UINT64_C(1) << 32,
                                    UINT64_C(1) << 63,
                                    UINT64_MAX,
                                    UINT64_MAX - 4095,
                                    VMI_GPA_NONE,
                                    VMI_VERSION(1, 0),
                                    VMI_VERSION(1, 9),
                                    VMI_VERSION(2, 0),
                                    VMI_F_ALL_1_0,
                                    VMI_VCPUSET_ALL,
                                    VMI_VCPUSET_EXCLUDE_SELF};
    uint64_t r = rng_next(s);

    return (r & 3) == 0 ? rng_next(s)
                        : pool[(r >> 2) % (sizeof(pool) / sizeof(pool[0]))];
}

/*
 * Random calls (every number, random and boundary arguments, random guest
 * memory, from kernel and user mode, in every lifecycle state): every
 * status is VMI_OK, a common-check status, or one the call's "Statuses"
 * row lists (VMI-STS-008).
 */
static void test_every_status_is_listed_for_its_call(void **state)
{
    static const uint64_t numbers[] = {
#define NUM(name, num, priv, bn, feat, na, nr_) num,
        VMI_HC_LIST(NUM)
#undef NUM
            0x0003,
        0x0999, UINT64_C(1) << 32};
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    uint64_t seed = UINT64_C(0x9E3779B97F4A7C15), calls = 0, seen = 0;
    uint32_t statuses_seen = 0;

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    cfg.strict = 0;
    vm = NULL;
    for (unsigned i = 0; i < 200000; i++) {
        /* Most VMs negotiate everything first, the rest stay INITIAL. */
        if (i % 4096 == 0 || !vm) {
            if (vm)
                vmi_host_vm_destroy(vm);
            vm = fake_vm(f, &cfg);
            if (rng_next(&seed) % 4)
                assert_int_equal(fake_call(vm, 0, VMI_HC_NEGOTIATE,
                                           VMI_SPEC_VERSION, VMI_F_ALL_1_0, 0,
                                           0, 0, NULL),
                                 0);
        }
        uint64_t nr =
            numbers[rng_next(&seed) % (sizeof(numbers) / sizeof(numbers[0]))];
        uint64_t a[5];
        uint32_t vcpu = (uint32_t)(rng_next(&seed) % cfg.vcpu_count);
        int64_t st;

        for (unsigned k = 0; k < 5; k++)
            a[k] = pick_arg(&seed);
        /* Now and then scribble over the structures calls read. */
        if ((rng_next(&seed) & 15) == 0) {
            uint64_t off = rng_next(&seed) % (0x20000 - 8);
            uint64_t v = pick_arg(&seed);
            memcpy(f->ram + off, &v, 8);
        }
        if ((rng_next(&seed) & 31) == 0)
            st = fake_user_call(vm, vcpu, nr, a[0], a[1]);
        else
            st = fake_call(vm, vcpu, nr, a[0], a[1], a[2], a[3], a[4], NULL);
        calls++;
        /* A VM that shut down answers STATE to everything: start again. */
        if (nr == VMI_HC_SHUTDOWN && st == 0) {
            vmi_host_vm_destroy(vm);
            vm = NULL;
        }
        if (st == 0)
            continue;
        assert_true(st < 0 && -st < VMI_STATUS_COUNT);
        statuses_seen |= UINT32_C(1) << -st;
        if (!((VMI_HC_COMMON_STATUSES | VMI_HC_STATUSES(nr)) &
              (UINT32_C(1) << -st)))
            fail_msg("call 0x%llx returned %s, which its Statuses row "
                     "does not list",
                     (unsigned long long)nr, vmi_host_status_name(st));
        seen++;
    }
    if (vm)
        vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
    printf("%llu calls, %llu refused; statuses seen 0x%x\n",
           (unsigned long long)calls, (unsigned long long)seen, statuses_seen);
    /* The random calls reached most of the status space. */
    assert_true(__builtin_popcount(statuses_seen) >= 10);
}

static void test_bad_configs_are_rejected(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm = (void *)1;
    struct vmi_host_ops ops = fake_ops;
    char why[128];

    (void)state;
    fake_init(f);
#define BAD(stmt)                                                              \
    do {                                                                       \
        fake_config(f, &cfg);                                                  \
        stmt;                                                                  \
        why[0] = 0;                                                            \
        assert_int_equal(vmi_host_vm_create(&cfg, &vm, why, sizeof(why)),      \
                         -VMI_E_INVAL);                                        \
        assert_null(vm);                                                       \
        assert_true(why[0] != 0);                                              \
    } while (0)
    BAD(cfg.ops = NULL);
    BAD(cfg.vcpu_count = 0);
    BAD(cfg.vcpu_count = VMI_HOST_MAX_VCPUS + 1);
    BAD(cfg.timer_count = 0);
    BAD(cfg.features = VMI_F_TIMER | VMI_F_CLOCK);
    BAD(cfg.features = UINT64_C(1) << 40);
    BAD(cfg.ram_bytes = 12345);
    BAD((cfg.transports = VMI_TRANSPORT_PORTIO, cfg.port = 0));
    BAD(cfg.vendor = "0123456789012345678901234567890123456789012345678");
    BAD((ops.release = NULL, cfg.ops = &ops));
    BAD((ops = fake_ops, ops.map = NULL, cfg.ops = &ops));
#undef BAD
    assert_int_equal(vmi_host_vm_create(NULL, &vm, NULL, 0), -VMI_E_INVAL);
    vmi_host_vm_destroy(NULL);
    fake_fini(f);
    free(f);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(vmi_host_status_name(0), "VMI_OK");
    assert_string_equal(vmi_host_status_name(-VMI_E_FAULT), "VMI_E_FAULT");
    assert_string_equal(vmi_host_status_name(-VMI_E_VERSION), "VMI_E_VERSION");
    assert_string_equal(vmi_host_status_name(-99), "VMI_E_UNKNOWN");
    assert_string_equal(vmi_host_status_name(1), "VMI_E_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nop_returns_ok_in_every_state,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_nop_fast_path_counts_and_obeys_shutdown, fake_setup,
            fake_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_numbers_are_nosys,
                                        fake_setup_ready, fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_calls_from_user_mode_are_perm, fake_setup_ready,
            fake_teardown),
        cmocka_unit_test_setup_teardown(test_calls_before_negotiation_are_state,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_calls_of_features_not_granted_are_notsup, fake_setup,
            fake_teardown),
        cmocka_unit_test_setup_teardown(test_precedence_nosys_perm_state_notsup,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_results_not_defined_are_zero,
                                        fake_setup_ready, fake_teardown),
        cmocka_unit_test_setup_teardown(test_embedder_errors_are_inval,
                                        fake_setup_ready, fake_teardown),
        cmocka_unit_test_setup_teardown(test_cpuid_block, fake_setup,
                                        fake_teardown),
        cmocka_unit_test(test_cpuid_without_pt_announces_no_pins),
        cmocka_unit_test(test_cpuid_vcpu_map),
        cmocka_unit_test(test_smccc_discovery_and_calls),
        cmocka_unit_test(test_bad_configs_are_rejected),
        cmocka_unit_test(test_every_status_is_listed_for_its_call),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
