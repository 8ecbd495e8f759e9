/* SPDX-License-Identifier: MIT */
/* test_host_strict.c: strict-mode violation reports, and fault injection:
 * every fault breaks its clause and nothing breaks without it. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clauses.h"
#include "fake_host.h"
#include "vmi_host_test.h"
#include "vm.h"

#define BIT(n) (UINT64_C(1) << (n))

static void expect_report(struct fake_fx *x, uint32_t vcpu, uint64_t nr,
                          uint64_t a0, uint64_t a1, uint64_t a2, int64_t status,
                          const char *clause)
{
    uint32_t before = x->f.violations;

    assert_int_equal(fake_call(x->vm, vcpu, nr, a0, a1, a2, 0, 0, NULL),
                     status);
    assert_int_equal(x->f.violations, before + 1);
    assert_string_equal(x->f.last_clause, clause);
}

static void test_strict_reports_rejections_with_clause(void **state)
{
    struct fake_fx *x = *state;

    expect_report(x, 0, VMI_HC_TIMER_ARM, 0, 0, 0, -VMI_E_STATE,
                  VMI__CL_G_STATE);
    /* Undefined feature bits are no violation (VMI-VER-033). */
    expect_report(x, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                  VMI_F_TIMER | BIT(20), 0, -VMI_E_INVAL, VMI__CL_G_REQUIRES);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_CLOCK | VMI_F_EVENTS, 0, 0, 0, NULL),
                     0);
    expect_report(x, 0, 0x0999, 0, 0, 0, -VMI_E_NOSYS, VMI__CL_G_NOSYS);
    assert_int_equal(fake_user_call(x->vm, 0, VMI_HC_CLOCK_REGISTER, 0, 0),
                     -VMI_E_PERM);
    assert_string_equal(x->f.last_clause, VMI__CL_G_PERM);
    expect_report(x, 0, VMI_HC_TLB_FLUSH, 0, 0, 0, -VMI_E_NOTSUP,
                  VMI__CL_G_NOTSUP);
    expect_report(x, 0, VMI_HC_CLOCK_REGISTER, 0x2000, 1, 0, -VMI_E_INVAL,
                  VMI__CL_G_VALUE);
    expect_report(x, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION, VMI_F_CLOCK, 0,
                  -VMI_E_STATE, VMI__CL_G_TWICE);
    expect_report(x, 0, VMI_HC_CLOCK_REGISTER, 0x2008, 0, 0, -VMI_E_ALIGN,
                  VMI__CL_G_ALIGN);
    expect_report(x, 0, VMI_HC_CLOCK_REGISTER, FAKE_RAM_BYTES, 0, 0,
                  -VMI_E_FAULT, VMI__CL_G_FAULT);
    expect_report(x, 0, VMI_HC_EVENT_SEND, 0, BIT(9), 0, -VMI_E_RANGE,
                  VMI__CL_G_RANGE);
    expect_report(x, 0, VMI_HC_BLOCK, VMI_DEADLINE_NONE, 0, 0, -VMI_E_STATE,
                  VMI__CL_G_BLOCK);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_SHUTDOWN, 0, 0, 0, 0, 0, NULL),
                     0);
    /* After SHUTDOWN a call in flight on another vCPU is no violation. */
    uint32_t before = x->f.violations;
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_NOP, 0, 0, 0, 0, 0, NULL),
                     -VMI_E_STATE);
    assert_int_equal(x->f.violations, before);
}

static void test_strict_reports_reserved_struct_fields(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_vcpu_start *st = fake_gpa(&x->f, 0x5000);

    memset(st, 0, sizeof(*st));
    st->reserved0[1] = 1;
    expect_report(x, 0, VMI_HC_VCPU_START, 1, 0x5000, 0, -VMI_E_INVAL,
                  VMI__CL_G_INVAL);
}

static void test_strict_reports_console_flooding(void **state)
{
    struct fake_fx *x = *state;

    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(fake_call(x->vm, 0, VMI_HC_CONSOLE_WRITE, 0x9000, 4096,
                                   0, 0, 0, NULL),
                         0);
    assert_int_equal(x->f.violations, 0);
    /* Hitting the limit is no violation: the guest cannot see the bucket. */
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_CONSOLE_WRITE, 0x9000, 100, 0, 0, 0, NULL),
        -VMI_E_AGAIN);
    assert_int_equal(x->f.violations, 0);
    /* Retrying at once, with nothing accepted, is (VMI-CON-007). */
    expect_report(x, 0, VMI_HC_CONSOLE_WRITE, 0x9000, 100, 0, -VMI_E_AGAIN,
                  VMI__CL_G_CONSOLE);
}

static void test_strict_console_paced_retry_is_no_violation(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call call;

    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(fake_call(x->vm, 0, VMI_HC_CONSOLE_WRITE, 0x9000, 4096,
                                   0, 0, 0, NULL),
                         0);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_CONSOLE_WRITE, 0x9000, 4096, 0, 0, 0, NULL),
        -VMI_E_AGAIN);
    /* The guest waits 10 ms: the bucket refills, part of the retry fits. */
    fake_advance(&x->f, 10000000);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_CONSOLE_WRITE, 0x9000, 4096, 0, 0, 0, &call),
        -VMI_E_AGAIN);
    assert_true(call.rets[0] > 0);
    assert_int_equal(x->f.violations, 0);
}

static void test_successful_calls_report_nothing(void **state)
{
    struct fake_fx *x = *state;

    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NOP, 0, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_ALL_1_0, 0, 0, 0, NULL),
                     0);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_TIMER_CANCEL, 0, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(x->f.violations, 0);
}

/* VMI-EVT-048: BLOCK with interrupts enabled is accepted and reported. */
static void test_strict_reports_block_with_interrupts_enabled(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_call c;

    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_ALL_1_0, 0, 0, 0, NULL),
                     0);
    for (int irq = 0; irq < 2; irq++) {
        memset(&c, 0, sizeof(c));
        c.nr = VMI_HC_BLOCK;
        c.args[0] = vmi_host_clock_now(x->vm); /* past: returns at once */
        c.irq_enabled = (uint32_t)irq;
        assert_int_equal(vmi_host_hypercall(x->vm, 0, &c), 0);
        assert_int_equal(c.status, 0);
        assert_int_equal(c.rets[0], VMI_WAKE_DEADLINE);
        assert_int_equal(x->f.violations, (uint32_t)irq);
    }
    assert_string_equal(x->f.last_clause, VMI__CL_G_BLOCK_IF);
    assert_string_equal(VMI__CL_G_BLOCK_IF, "VMI-EVT-048");
}

/*
 * VMI-EVT-019: a record registered on a vCPU without one (after a stop,
 * say) must have pending zero; registering the current record again is
 * no fault, whatever the host left there.
 */
static void test_strict_reports_uninitialised_event_record(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_event_record *r = fake_gpa(&x->f, 0x3000);
    struct vmi_event_record *r2 = fake_gpa(&x->f, 0x3040);

    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_ALL_1_0, 0, 0, 0, NULL),
                     0);
    memset(r, 0, sizeof(*r));
    memset(r2, 0, sizeof(*r2));
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_EVENT_REGISTER, 0x3000, 0x40, 0, 0, 0, NULL),
        0);
    assert_int_equal(x->f.violations, 0);
    /* The host sets a bit; the guest registers the same record again. */
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_EVENT_SEND, 0, 1, 3, 0, 0, NULL), 0);
    assert_int_not_equal(r->pending, 0);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_EVENT_REGISTER, 0x3000, 0x40, 0, 0, 0, NULL),
        0);
    assert_int_equal(x->f.violations, 0);
    /* A second record, left dirty by the guest. */
    r2->pending = 1u << 5;
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_EVENT_REGISTER, 0x3040, 0x40, 0, 0, 0, NULL),
        0);
    assert_int_equal(x->f.violations, 1);
    assert_string_equal(x->f.last_clause, VMI__CL_G_EVT_INIT);
    assert_string_equal(VMI__CL_G_EVT_INIT, "VMI-EVT-019");
    /* Unregistered, then registered again without clearing: reported. */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_EVENT_REGISTER, VMI_GPA_NONE, 0,
                               0, 0, 0, NULL),
                     0);
    r2->pending = 1;
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_EVENT_REGISTER, 0x3040, 0x40, 0, 0, 0, NULL),
        0);
    assert_int_equal(x->f.violations, 2);
}

static void test_not_strict_counts_but_does_not_report(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    struct vmi_host_stats st;

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    cfg.strict = 0;
    vm = fake_vm(f, &cfg);
    assert_int_equal(fake_call(vm, 0, VMI_HC_TIMER_ARM, 0, 0, 0, 0, 0, NULL),
                     -VMI_E_STATE);
    assert_int_equal(f->violations, 0);
    vmi_host_get_stats(vm, &st);
    assert_int_equal(st.violations, 1);
    assert_int_equal(st.hypercalls, 1);
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
}

/* ---- fault injection ---------------------------------------------------
 * Each scenario returns 1 when it observes the misbehaviour its fault
 * injects.  With the fault it must, without it it must not. */

static void ready(struct fake_fx *x, uint64_t features)
{
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               features, 0, 0, 0, NULL),
                     0);
}

static struct vmi_event_record *evrec(struct fake_fx *x, uint32_t vcpu)
{
    uint64_t gpa = 0x4000 + 64u * vcpu;

    memset(fake_gpa(&x->f, gpa), 0, 64);
    assert_int_equal(
        fake_call(x->vm, vcpu, VMI_HC_EVENT_REGISTER, gpa, 32, 0, 0, 0, NULL),
        0);
    return fake_gpa(&x->f, gpa);
}

static int64_t hc(struct fake_fx *x, uint64_t nr, uint64_t a0, uint64_t a1,
                  uint64_t a2, uint64_t a3, struct vmi_host_call *c)
{
    return fake_call(x->vm, 0, nr, a0, a1, a2, a3, 0, c);
}

static int sc_timer_early(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    (void)evrec(x, 0);
    hc(x, VMI_HC_TIMER_ARM, 0, vmi_host_clock_now(x->vm) + 2000000, 0, 0, NULL);
    fake_advance(&x->f, 1500000);
    return vmi_host_timers_fire(x->vm, 10) != 0;
}

static int sc_past_deadline_error(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    fake_advance(&x->f, 10);
    return hc(x, VMI_HC_TIMER_ARM, 0, 1, 0, 0, NULL) != 0;
}

static int sc_cancel_not_idempotent(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    return hc(x, VMI_HC_TIMER_CANCEL, 3, 0, 0, 0, NULL) != 0;
}

static int sc_negotiate_rejects_undefined(struct fake_fx *x)
{
    return hc(x, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION, BIT(40) | VMI_F_CLOCK, 0,
              0, NULL) != 0;
}

static int sc_reserved_field_ignored(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    return hc(x, VMI_HC_CLOCK_REGISTER, 0x2000, 1, 0, 0, NULL) == 0;
}

static int sc_no_status_precedence(struct fake_fx *x)
{
    return hc(x, VMI_HC_TIMER_ARM, 0, 0, 0, 0, NULL) == -VMI_E_NOTSUP;
}

static int sc_clock_version_odd(struct fake_fx *x)
{
    struct vmi_clock_record *r = fake_gpa(&x->f, 0x2000);

    ready(x, VMI_F_ALL_1_0);
    hc(x, VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, NULL);
    return r->version % 2 != 0;
}

static int sc_block_spurious_wake(struct fake_fx *x)
{
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    (void)evrec(x, 0);
    hc(x, VMI_HC_BLOCK, vmi_host_clock_now(x->vm) + 1000000000, 0, 0, 0, &c);
    return c.action == VMI_HOST_RESUME;
}

static int sc_pt_ignores_reserved_bits(struct fake_fx *x)
{
    uint64_t *t = fake_gpa(&x->f, 0x10000);

    ready(x, VMI_F_ALL_1_0);
    memset(t, 0, 4096);
    t[3] = 0x1000 | VMI_PTE_PRESENT | BIT(60);
    return hc(x, VMI_HC_PT_PIN, 0x10000, 1, 0, 0, NULL) == 0;
}

static int sc_release_miscount(struct fake_fx *x)
{
    struct vmi_mem_extent *e = fake_gpa(&x->f, 0x8000);
    struct vmi_host_stats st;

    ready(x, VMI_F_ALL_1_0);
    e->gpa = 0x100000;
    e->pages = 2;
    hc(x, VMI_HC_MEM_RELEASE, 0x8000, 1, 0, 0, NULL);
    hc(x, VMI_HC_MEM_RELEASE, 0x8000, 1, 0, 0, NULL);
    vmi_host_get_stats(x->vm, &st);
    return st.released_pages != 2;
}

static int sc_restore_skips_checksum(struct fake_fx *x)
{
    size_t len;
    uint8_t *b = fake_save(x->vm, &len);
    int r;

    /* A valid value, but the checksum no longer matches. */
    b[sizeof(struct vmi_save_header) + 16 +
      offsetof(struct vmi_save_vm, clock_ns)] ^= 1;
    r = vmi_host_restore(x->vm, b, len, NULL, 0) == 0;
    free(b);
    return r;
}

/* The blob's sections: VM, then one VCPU section per vCPU, then the rest. */
#define SEC0 (sizeof(struct vmi_save_header) + sizeof(struct vmi_save_section))
#define VCPU_SEC(i)                                                            \
    (SEC0 + sizeof(struct vmi_save_vm) +                                       \
     (i) * (sizeof(struct vmi_save_section) + sizeof(struct vmi_save_vcpu)) +  \
     sizeof(struct vmi_save_section))

/* Edit a saved blob, reseal it and restore it: 1 when it is accepted. */
static int restore_edited(struct fake_fx *x, void (*edit)(uint8_t *b))
{
    size_t len;
    uint8_t *b = fake_save(x->vm, &len);
    struct vmi_save_header *h = (struct vmi_save_header *)(void *)b;
    int r;

    edit(b);
    h->checksum = 0;
    h->checksum = vmi__crc32c(0, b, len);
    r = vmi_host_restore(x->vm, b, len, NULL, 0) == 0;
    free(b);
    return r;
}

static void edit_block_unstarted(uint8_t *b)
{
    struct vmi_save_vcpu *v = (struct vmi_save_vcpu *)(void *)(b + VCPU_SEC(1));

    v->flags = VMI_SAVE_VCPU_BLOCKED;
    v->block_deadline_ns = 123456789;
}

static void edit_unknown_version(uint8_t *b)
{
    ((struct vmi_save_vm *)(void *)(b + SEC0))->version =
        VMI_VERSION(VMI_SPEC_VERSION_MAJOR, 0x7F);
}

static int sc_restore_accepts_unknown_version(struct fake_fx *x)
{
    ready(x, VMI_F_CLOCK);
    return restore_edited(x, edit_unknown_version);
}

static void edit_unoffered_feature(uint8_t *b)
{
    ((struct vmi_save_vm *)(void *)(b + SEC0))->features |= UINT64_C(1) << 40;
}

static int sc_restore_accepts_unoffered_features(struct fake_fx *x)
{
    ready(x, VMI_F_CLOCK);
    return restore_edited(x, edit_unoffered_feature);
}

/* Pending and unmasked at the save, the upcall taken: due again after. */
static int sc_restore_drops_upcall(struct fake_fx *x)
{
    uint32_t vec;
    size_t len;
    uint8_t *b;
    int due;

    ready(x, VMI_F_ALL_1_0);
    memset(fake_gpa(&x->f, 0x3000), 0, 64);
    hc(x, VMI_HC_EVENT_REGISTER, 0x3000, 40, 0, 0, NULL);
    hc(x, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL);
    while (vmi_host_take_upcall(x->vm, 0, &vec))
        ;
    b = fake_save(x->vm, &len);
    assert_int_equal(vmi_host_restore(x->vm, b, len, NULL, 0), 0);
    free(b);
    due = vmi_host_take_upcall(x->vm, 0, &vec);
    return !due;
}

/* A blob with a 16-byte section of type `type` after the VM section. */
static int restore_with_extra_section(struct fake_fx *x, uint32_t type)
{
    size_t len, vm_end = SEC0 + sizeof(struct vmi_save_vm), extra = 32;
    uint8_t *b = fake_save(x->vm, &len), *m = calloc(1, len + extra);
    struct vmi_save_header *h = (struct vmi_save_header *)(void *)m;
    struct vmi_save_section *sec =
        (struct vmi_save_section *)(void *)(m + vm_end);
    int r;

    assert_non_null(m);
    memcpy(m, b, vm_end);
    memcpy(m + vm_end + extra, b + vm_end, len - vm_end);
    sec->type = type;
    sec->version = 1;
    sec->size = 16;
    h->section_count++;
    h->total_size += extra;
    h->checksum = 0;
    h->checksum = vmi__crc32c(0, m, len + extra);
    r = vmi_host_restore(x->vm, m, len + extra, NULL, 0);
    free(b);
    free(m);
    return r;
}

static int sc_restore_rejects_optional(struct fake_fx *x)
{
    ready(x, VMI_F_CLOCK);
    /* Without the bit the section is refused, faulty or not. */
    assert_int_not_equal(restore_with_extra_section(x, 0x77), 0);
    return restore_with_extra_section(x, VMI_SAVE_SECTION_OPTIONAL | 0x77) != 0;
}

static uint8_t *save_as(struct fake_fx *x, uint32_t format, size_t *len)
{
    uint8_t *b;

    assert_int_equal(vmi_host_save_format(x->vm, format, NULL, 0, len), 0);
    b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(vmi_host_save_format(x->vm, format, b, *len, len), 0);
    return b;
}

static int sc_restore_rejects_old_format(struct fake_fx *x)
{
    size_t len;
    uint8_t *b;
    int r;

    ready(x, VMI_F_CLOCK);
    b = save_as(x, 1, &len);
    r = vmi_host_restore(x->vm, b, len, NULL, 0);
    free(b);
    return r != 0;
}

static int sc_save_ignores_target_format(struct fake_fx *x)
{
    size_t len;
    uint8_t *b;
    uint32_t format;

    ready(x, VMI_F_CLOCK);
    assert_int_equal(
        vmi_host_save_format(x->vm, VMI_SAVE_FORMAT_VERSION + 1, NULL, 0, &len),
        -VMI_E_VERSION);
    b = save_as(x, 1, &len);
    format = ((struct vmi_save_header *)(void *)b)->format_version;
    free(b);
    return format != 1;
}

/* The CONFIG section closes a format 2 blob. */
static struct vmi_save_config *config_of(uint8_t *b, size_t len)
{
    struct vmi_save_section *sec =
        (struct vmi_save_section *)(void *)(b + len -
                                            sizeof(struct vmi_save_config) -
                                            sizeof(*sec));

    assert_int_equal(sec->type, VMI_SAVE_SECTION_CONFIG);
    return (struct vmi_save_config *)(void *)(sec + 1);
}

static int sc_save_config_absolute(struct fake_fx *x)
{
    uint32_t base = vmi_host_cpuid_base(), r[4];
    size_t len;
    uint8_t *b;
    int wrong;

    ready(x, VMI_F_CLOCK);
    b = fake_save(x->vm, &len);
    assert_int_equal(vmi_host_cpuid(x->vm, 0, base, base, r), 1);
    wrong = config_of(b, len)->leaves[0] != r[0] - base;
    free(b);
    return wrong;
}

static int sc_restore_ignores_config(struct fake_fx *x)
{
    struct vmi_save_header *h;
    size_t len;
    uint8_t *b;
    int r;

    ready(x, VMI_F_CLOCK);
    b = fake_save(x->vm, &len);
    h = (struct vmi_save_header *)(void *)b;
    config_of(b, len)->leaves[15] += 1; /* leaf B + 3 EDX: the pin limit */
    h->checksum = 0;
    h->checksum = vmi__crc32c(0, b, len);
    r = vmi_host_restore(x->vm, b, len, NULL, 0);
    free(b);
    return r == 0;
}

static int sc_restore_accepts_blocked_unstarted(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    return restore_edited(x, edit_block_unstarted);
}

static void edit_pt_without_tlb(uint8_t *b)
{
    ((struct vmi_save_vm *)(void *)(b + SEC0))->features &= ~VMI_F_TLB;
}

static int sc_restore_accepts_unmet_features(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    return restore_edited(x, edit_pt_without_tlb);
}

static void edit_drop_clock(uint8_t *b)
{
    ((struct vmi_save_vm *)(void *)(b + SEC0))->features &=
        ~(VMI_F_CLOCK | VMI_F_TIMER | VMI_F_STEAL | VMI_F_BLOCK_TIMER);
}

static int sc_restore_accepts_ungranted_state(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    assert_int_equal(hc(x, VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, NULL), 0);
    return restore_edited(x, edit_drop_clock);
}

static void edit_initial(uint8_t *b)
{
    ((struct vmi_save_vm *)(void *)(b + SEC0))->lifecycle =
        VMI_LIFECYCLE_INITIAL;
}

static int sc_restore_accepts_lifecycle_mismatch(struct fake_fx *x)
{
    ready(x, VMI_F_CLOCK);
    return restore_edited(x, edit_initial);
}

static int sc_guest_stopped_resticky(struct fake_fx *x)
{
    struct vmi_clock_record *r = fake_gpa(&x->f, 0x2000);

    ready(x, VMI_F_CLOCK);
    assert_int_equal(hc(x, VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, NULL), 0);
    vmi_host_clock_update(x->vm, VMI_CLOCK_GUEST_STOPPED);
    r->flags &= (uint8_t)~VMI_CLOCK_GUEST_STOPPED; /* as Linux does */
    vmi_host_clock_update(x->vm, 0);
    return (r->flags & VMI_CLOCK_GUEST_STOPPED) != 0;
}

static int sc_clock_record_invalidated(struct fake_fx *x)
{
    struct vmi_clock_record *r = fake_gpa(&x->f, 0x2000);

    ready(x, VMI_F_CLOCK);
    assert_int_equal(hc(x, VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, NULL), 0);
    return r->tsc_to_system_mul == 0;
}

static int sc_clock_flag_bit2(struct fake_fx *x)
{
    struct vmi_clock_record *r = fake_gpa(&x->f, 0x2000);

    ready(x, VMI_F_CLOCK);
    assert_int_equal(hc(x, VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, NULL), 0);
    return (r->flags & (1u << 2)) != 0;
}

static int sc_record_not_refreshed(struct fake_fx *x)
{
    struct vmi_clock_record *r = fake_gpa(&x->f, 0x2000);

    ready(x, VMI_F_CLOCK);
    assert_int_equal(hc(x, VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, NULL), 0);
    /* Past half the record's bound (1 GHz fake TSC: shift 1, 2^62). */
    x->f.tsc += (UINT64_C(1) << 61) + 12345;
    assert_int_equal(hc(x, VMI_HC_TIME_READ, 0, 0, 0, 0, NULL), 0);
    return x->f.tsc - r->tsc_timestamp >= (UINT64_C(1) << 61);
}

static int sc_steal_reset_on_register(struct fake_fx *x)
{
    struct vmi_steal_record *r = fake_gpa(&x->f, 0x3000);

    ready(x, VMI_F_ALL_1_0);
    assert_int_equal(hc(x, VMI_HC_STEAL_REGISTER, 0x3000, 0, 0, 0, NULL), 0);
    vmi_host_steal_account(x->vm, 0, 5000);
    assert_int_equal(hc(x, VMI_HC_STEAL_REGISTER, 0x3000, 0, 0, 0, NULL), 0);
    return r->steal_ns != 5000;
}

static int sc_block_deaf_to_interrupts(struct fake_fx *x)
{
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    (void)evrec(x, 0);
    hc(x, VMI_HC_BLOCK, vmi_host_clock_now(x->vm) + 1000000000, 0, 0, 0, &c);
    assert_int_equal(c.action, VMI_HOST_BLOCK);
    return vmi_host_block_end(x->vm, 0, VMI_WAKE_INTERRUPT, &c) != 1 ||
           c.rets[0] != VMI_WAKE_INTERRUPT;
}

static int sc_query_forgets_features(struct fake_fx *x)
{
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    assert_int_equal(hc(x, VMI_HC_QUERY, 0, 0, 0, 0, &c), 0);
    return c.rets[1] != VMI_F_ALL_1_0;
}

static int sc_reset_keeps_records(struct fake_fx *x)
{
    struct vmi_event_record *r;

    ready(x, VMI_F_ALL_1_0);
    r = evrec(x, 0);
    assert_int_equal(hc(x, VMI_HC_RESET, 0, 0, 0, 0, NULL), 0);
    ready(x, VMI_F_ALL_1_0);
    /* The old record is not registered: the event stays host-side. */
    assert_int_equal(hc(x, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL), 0);
    return r->pending != 0;
}

static int sc_vcpu_stop_keeps_records(struct fake_fx *x)
{
    struct vmi_event_record *r;
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    assert_int_equal(hc(x, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, NULL), 0);
    r = evrec(x, 1);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_VCPU_STOP, 0, 0, 0, 0, 0, &c),
                     0);
    assert_int_equal(c.action, VMI_HOST_STOP);
    assert_int_equal(hc(x, VMI_HC_EVENT_SEND, 0, 2, 3, 0, NULL), 0);
    return r->pending != 0;
}

static int sc_reset_ignores_reclaim_failure(struct fake_fx *x)
{
    struct vmi_mem_extent *e = fake_gpa(&x->f, 0x8000);
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    e->gpa = 0x20000;
    e->pages = 1;
    assert_int_equal(hc(x, VMI_HC_MEM_RELEASE, 0x8000, 1, 0, 0, NULL), 0);
    x->f.fail_reclaim = 1;
    (void)hc(x, VMI_HC_RESET, 0, 0, 0, 0, NULL);
    x->f.fail_reclaim = 0;
    assert_int_equal(hc(x, VMI_HC_QUERY, 0, 0, 0, 0, &c), 0);
    return (c.rets[0] >> 32) != VMI_LIFECYCLE_NEGOTIATED;
}

static int sc_platform_reset_ignored(struct fake_fx *x)
{
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    assert_int_equal(vmi_host_reset(x->vm), 0);
    assert_int_equal(hc(x, VMI_HC_QUERY, 0, 0, 0, 0, &c), 0);
    return (c.rets[0] >> 32) != VMI_LIFECYCLE_INITIAL;
}

static int sc_init_keeps_records(struct fake_fx *x)
{
    struct vmi_event_record *r;

    ready(x, VMI_F_ALL_1_0);
    assert_int_equal(vmi_host_vcpu_platform(x->vm, 1, 1), 0);
    r = evrec(x, 1);
    assert_int_equal(vmi_host_vcpu_platform(x->vm, 1, 0), 0);
    assert_int_equal(hc(x, VMI_HC_EVENT_SEND, 0, 2, 3, 0, NULL), 0);
    return r->pending != 0;
}

/* Firmware started vCPU 1 before the guest negotiated. */
static int sc_negotiate_keeps_firmware_vcpus(struct fake_fx *x)
{
    assert_int_equal(vmi_host_vcpu_platform(x->vm, 1, 1), 0);
    ready(x, VMI_F_ALL_1_0);
    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    return hc(x, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, NULL) == -VMI_E_BUSY;
}

static int sc_timing_leaf_missing(struct fake_fx *x)
{
    uint32_t r[4], b = vmi_host_cpuid_base();

    vmi_host_cpuid(x->vm, 0, b, b + VMI_CPUID_TIMING, r);
    return r[0] == 0 || r[1] == 0;
}

static int sc_timers_fewer_than_vcpus(struct fake_fx *x)
{
    uint32_t r[4], b = vmi_host_cpuid_base();

    vmi_host_cpuid(x->vm, 0, b, b + VMI_CPUID_LIMITS, r);
    return r[1] < 4; /* fake_config: 4 vCPUs */
}

static int sc_time_read_per_vcpu(struct fake_fx *x)
{
    struct vmi_host_call a, b;

    ready(x, VMI_F_ALL_1_0);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, &a),
                     0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, &b),
                     0);
    return a.rets[0] > b.rets[0];
}

static int sc_record_off_reference(struct fake_fx *x)
{
    struct vmi_clock_record *r = fake_gpa(&x->f, 0x2040);
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    assert_int_equal(
        fake_call(x->vm, 1, VMI_HC_CLOCK_REGISTER, 0x2040, 0, 0, 0, 0, NULL),
        0);
    assert_int_equal(fake_call(x->vm, 1, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, &c),
                     0);
    return r->system_time + vmi__scale_delta(x->f.tsc - r->tsc_timestamp,
                                             r->tsc_to_system_mul,
                                             r->tsc_shift) !=
           c.rets[0];
}

static int sc_clock_counts_stop(struct fake_fx *x)
{
    uint8_t *blob;
    size_t len;
    uint64_t before;
    int r;

    ready(x, VMI_F_ALL_1_0);
    before = vmi_host_clock_now(x->vm);
    blob = fake_save(x->vm, &len);
    fake_advance(&x->f, 5000000);
    assert_int_equal(vmi_host_restore(x->vm, blob, len, NULL, 0), 0);
    r = vmi_host_clock_now(x->vm) - before > 1000;
    free(blob);
    return r;
}

static int sc_skew_with_stable_tsc(struct fake_fx *x)
{
    uint32_t r[4], b = vmi_host_cpuid_base();

    vmi_host_cpuid(x->vm, 0, b, b + VMI_CPUID_TIMING, r);
    return r[2] != 0; /* fake_config: tsc_stable */
}

static int sc_query_gated(struct fake_fx *x)
{
    return hc(x, VMI_HC_QUERY, 0, 0, 0, 0, NULL) != 0;
}

static int sc_query_flags_ignored(struct fake_fx *x)
{
    return hc(x, VMI_HC_QUERY, 1, 0, 0, 0, NULL) == 0;
}

static int sc_reset_flags_ignored(struct fake_fx *x)
{
    return hc(x, VMI_HC_RESET, 1, 0, 0, 0, NULL) == 0;
}

static int sc_vcpu_stop_flags_ignored(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    assert_int_equal(hc(x, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, NULL), 0);
    return fake_call(x->vm, 1, VMI_HC_VCPU_STOP, 1, 0, 0, 0, 0, NULL) == 0;
}

static int sc_last_vcpu_stops(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    return hc(x, VMI_HC_VCPU_STOP, 0, 0, 0, 0, NULL) == 0;
}

static int sc_console_no_rate_limit(struct fake_fx *x)
{
    int64_t st = 0;

    for (unsigned i = 0; i < 5 && !st; i++)
        st = hc(x, VMI_HC_CONSOLE_WRITE, 0x9000, 4096, 0, 0, NULL);
    return st == 0;
}

static int sc_time_read_skew(struct fake_fx *x)
{
    struct vmi_clock_record *r = fake_gpa(&x->f, 0x2000);
    struct vmi_host_call c;
    uint64_t g;

    ready(x, VMI_F_ALL_1_0);
    hc(x, VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, NULL);
    fake_advance(&x->f, 777);
    hc(x, VMI_HC_TIME_READ, 0, 0, 0, 0, &c);
    g = r->system_time + vmi__scale_delta(x->f.tsc - r->tsc_timestamp,
                                          r->tsc_to_system_mul,
                                          (int8_t)r->tsc_shift);
    return c.rets[0] > g + 1 || c.rets[0] + 1 < g;
}

static int sc_clock_not_stable(struct fake_fx *x)
{
    struct vmi_clock_record *r = fake_gpa(&x->f, 0x2000);

    ready(x, VMI_F_ALL_1_0);
    hc(x, VMI_HC_CLOCK_REGISTER, 0x2000, 0, 0, 0, NULL);
    return !(r->flags & VMI_CLOCK_TSC_STABLE);
}

static int sc_event_no_upcall(struct fake_fx *x)
{
    uint32_t vec;

    ready(x, VMI_F_ALL_1_0);
    (void)evrec(x, 1);
    hc(x, VMI_HC_EVENT_SEND, 0, BIT(1), 4, 0, NULL);
    return !vmi_host_take_upcall(x->vm, 1, &vec);
}

static int sc_event_register_drops_pending(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    hc(x, VMI_HC_EVENT_SEND, 0, BIT(2), 4, 0, NULL);
    return evrec(x, 2)->pending == 0;
}

static int sc_send_ignores_exclude_self(struct fake_fx *x)
{
    struct vmi_event_record *r;

    ready(x, VMI_F_ALL_1_0);
    r = evrec(x, 0);
    hc(x, VMI_HC_EVENT_SEND, 0, 0, 4,
       VMI_VCPUSET_ALL | VMI_VCPUSET_EXCLUDE_SELF, NULL);
    return r->pending != 0;
}

static int sc_vcpu_start_twice(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    return hc(x, VMI_HC_VCPU_START, 0, 0x5000, 0, 0, NULL) == 0;
}

static int sc_tlb_accepts_misaligned(struct fake_fx *x)
{
    struct vmi_tlb_range *r = fake_gpa(&x->f, 0x6000);

    ready(x, VMI_F_ALL_1_0);
    r->gva = 0x1234;
    r->pages = 1;
    return fake_call(x->vm, 0, VMI_HC_TLB_FLUSH, 0, 1, 0x6000, 1, 0, NULL) == 0;
}

/* More ranges than host-lib keeps: a full flush, never VMI_E_LIMIT. */
static int sc_tlb_flush_limit(struct fake_fx *x)
{
    struct vmi_tlb_range *r = fake_gpa(&x->f, 0x6000);

    ready(x, VMI_F_ALL_1_0);
    for (unsigned i = 0; i < 300; i++) {
        r[i].gva = 0x400000 + i * 0x1000;
        r[i].pages = 1;
    }
    return fake_call(x->vm, 0, VMI_HC_TLB_FLUSH, 0, 1, 0x6000, 300, 0, NULL) ==
           -VMI_E_LIMIT;
}

static int sc_tlb_drops_global(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    return fake_call(x->vm, 0, VMI_HC_TLB_FLUSH, 0, 1, 0, 0, VMI_TLB_GLOBAL,
                     NULL) != 0 ||
           x->f.flush_flags != VMI_TLB_GLOBAL;
}

/* Record A with event 3 pending, then the vCPU moves to record B. */
static void move_record(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    hc(x, VMI_HC_EVENT_REGISTER, 0x3000, 40, 0, 0, NULL);
    hc(x, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL);
    hc(x, VMI_HC_EVENT_REGISTER, 0x3040, 41, 0, 0, NULL);
}

static int sc_reregister_leaves_pending(struct fake_fx *x)
{
    struct vmi_event_record *a = fake_gpa(&x->f, 0x3000);
    struct vmi_event_record *b = fake_gpa(&x->f, 0x3040);

    move_record(x);
    return a->pending != 0 || b->pending != (1u << 3);
}

static int sc_event_old_record_written(struct fake_fx *x)
{
    struct vmi_event_record *a = fake_gpa(&x->f, 0x3000);

    move_record(x);
    hc(x, VMI_HC_EVENT_SEND, 0, 1, 5, 0, NULL);
    return a->pending != 0;
}

static int sc_reregister_keeps_upcall(struct fake_fx *x)
{
    struct vmi_event_record *b = fake_gpa(&x->f, 0x3040);
    uint32_t vec;

    ready(x, VMI_F_ALL_1_0);
    hc(x, VMI_HC_EVENT_REGISTER, 0x3000, 40, 0, 0, NULL);
    hc(x, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL);
    b->mask = 1u << 3;
    hc(x, VMI_HC_EVENT_REGISTER, 0x3040, 41, 0, 0, NULL);
    return vmi_host_take_upcall(x->vm, 0, &vec) != 0;
}

/* Negotiated without VMI_F_USER: a NOP from user mode is refused. */
static int sc_user_calls_without_grant(struct fake_fx *x)
{
    struct vmi_host_call c;

    ready(x, VMI_F_CLOCK);
    memset(&c, 0, sizeof(c));
    c.nr = VMI_HC_TIME_READ;
    c.user = 1;
    vmi_host_hypercall(x->vm, 0, &c);
    return c.status != -VMI_E_PERM;
}

/* One extent of `pages` at 0x10000 (extent array at 0x6000). */
static int64_t release_at(struct fake_fx *x, uint64_t pages)
{
    struct vmi_mem_extent *e = fake_gpa(&x->f, 0x6000);

    e->gpa = 0x10000;
    e->pages = pages;
    return hc(x, VMI_HC_MEM_RELEASE, 0x6000, 1, 0, 0, NULL);
}

static int sc_release_ignores_use(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    hc(x, VMI_HC_CLOCK_REGISTER, 0x10040, 0, 0, 0, NULL);
    return release_at(x, 1) != -VMI_E_BUSY;
}

static int sc_released_reads_other_data(struct fake_fx *x)
{
    const uint8_t *p = fake_gpa(&x->f, 0x10000);
    int other = 0;

    ready(x, VMI_F_ALL_1_0);
    memset(fake_gpa(&x->f, 0x10000), 0x33, 4096);
    release_at(x, 1);
    for (unsigned i = 0; i < 4096; i++)
        other |= p[i] != 0 && p[i] != 0x33;
    return other;
}

static int sc_extent_uncapped(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    return release_at(x, VMI_MEM_EXTENT_MAX_PAGES + 1) != -VMI_E_INVAL;
}

static int sc_vcpu_leaf_zero(struct fake_fx *x)
{
    uint32_t r[4], b = vmi_host_cpuid_base();

    vmi_host_cpuid(x->vm, 2, b, b + VMI_CPUID_VCPU, r);
    return r[0] != 2;
}

/* vCPU 0 asks for vCPU 2's platform id and gets its own. */
static int sc_vcpu_map_ignores_ecx(struct fake_fx *x)
{
    uint32_t r[4], b = vmi_host_cpuid_base();

    vmi_host_cpuid_sub(x->vm, 0, b, b + VMI_CPUID_VCPU_MAP, 2, r);
    return r[0] != 2 || r[1] != VMI_VCPU_MAP_EXISTS;
}

/* Past the vCPU count the leaf must read zero. */
static int sc_vcpu_map_past_count(struct fake_fx *x)
{
    uint32_t r[4], b = vmi_host_cpuid_base();

    vmi_host_cpuid_sub(x->vm, 0, b, b + VMI_CPUID_VCPU_MAP, 1000, r);
    return r[0] || r[1] || r[2] || r[3];
}

static int sc_block_arm_without_grant(struct fake_fx *x)
{
    ready(x, VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER);
    (void)evrec(x, 0);
    return hc(x, VMI_HC_BLOCK, 0, VMI_BLOCK_ARM_TIMER, 0, 5, NULL) == 0;
}

static int sc_block_arm_no_deadline_ok(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    (void)evrec(x, 0);
    /* Event 3 pending, so that an accepted call returns at once. */
    hc(x, VMI_HC_EVENT_SEND, 0, 1, 3, 0, NULL);
    return hc(x, VMI_HC_BLOCK, VMI_DEADLINE_NONE, VMI_BLOCK_ARM_TIMER, 0, 5,
              NULL) == 0;
}

static int sc_block_arm_range_unchecked(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    (void)evrec(x, 0);
    return hc(x, VMI_HC_BLOCK, 0, VMI_BLOCK_ARM_TIMER, 100000, 5, NULL) == 0;
}

static int sc_block_arm_ignored(struct fake_fx *x)
{
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    (void)evrec(x, 0);
    /* A past deadline: the timer's event is pending before the checks. */
    hc(x, VMI_HC_BLOCK, 0, VMI_BLOCK_ARM_TIMER, 1, 5, &c);
    return c.rets[0] != VMI_WAKE_EVENT;
}

static int sc_block_args_not_ignored(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    (void)evrec(x, 0);
    return hc(x, VMI_HC_BLOCK, 0, 0, 100000, 100, NULL) != 0;
}

static int sc_pin_limit_tiny(struct fake_fx *x)
{
    uint32_t r[4], b = vmi_host_cpuid_base();

    vmi_host_cpuid(x->vm, 0, b, b + VMI_CPUID_LIMITS, r);
    return r[3] < 64;
}

static int sc_preserve_ad_ignored(struct fake_fx *x)
{
    uint64_t *tb = fake_gpa(&x->f, 0x8000);
    struct vmi_pt_update *u = fake_gpa(&x->f, 0x6000);

    ready(x, VMI_F_ALL_1_0);
    memset(tb, 0, 4096);
    tb[1] = 0x9000 | VMI_PTE_PRESENT | VMI_PTE_ACCESSED | VMI_PTE_DIRTY;
    hc(x, VMI_HC_PT_PIN, 0x8000, 1, 0, 0, NULL);
    u->pte_gpa = 0x8008;
    u->value = 0x9000 | VMI_PTE_PRESENT;
    hc(x, VMI_HC_PT_UPDATE, 0x6000, 1, 0, VMI_PT_UPDATE_PRESERVE_AD, NULL);
    return tb[1] !=
           (0x9000 | VMI_PTE_PRESENT | VMI_PTE_ACCESSED | VMI_PTE_DIRTY);
}

static int sc_unpin_missing_ok(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    return hc(x, VMI_HC_PT_UNPIN, 0x10000, 0, 0, 0, NULL) == 0;
}

static int sc_mem_accepts_zero_pages(struct fake_fx *x)
{
    struct vmi_mem_extent *e = fake_gpa(&x->f, 0x8000);

    ready(x, VMI_F_ALL_1_0);
    e->gpa = 0x100000;
    e->pages = 0;
    return hc(x, VMI_HC_MEM_RELEASE, 0x8000, 1, 0, 0, NULL) == 0;
}

static int sc_console_len_unchecked(struct fake_fx *x)
{
    return hc(x, VMI_HC_CONSOLE_WRITE, 0x9000, 4097, 0, 0, NULL) !=
           -VMI_E_RANGE;
}

static int sc_shutdown_status_unchecked(struct fake_fx *x)
{
    return hc(x, VMI_HC_SHUTDOWN, 0, 256, 0, 0, NULL) == 0;
}

static int sc_results_not_zeroed(struct fake_fx *x)
{
    struct vmi_host_call c;

    hc(x, VMI_HC_NOP, 0, 0, 0, 0, &c);
    return (c.rets[0] | c.rets[1]) != 0;
}

/* User mode may call (VMI_F_USER), but not a kernel call. */
static int sc_user_call_allowed(struct fake_fx *x)
{
    ready(x, VMI_F_CLOCK | VMI_F_USER);
    return fake_user_call(x->vm, 0, VMI_HC_CLOCK_REGISTER, VMI_GPA_NONE, 0) !=
           -VMI_E_PERM;
}

static int sc_negotiate_twice(struct fake_fx *x)
{
    ready(x, VMI_F_CLOCK);
    return hc(x, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION, VMI_F_CLOCK, 0, 0, NULL) ==
           0;
}

static int sc_feature_not_enforced(struct fake_fx *x)
{
    ready(x, VMI_F_CLOCK);
    return hc(x, VMI_HC_TLB_FLUSH, 0, 1, 0, 0, NULL) != -VMI_E_NOTSUP;
}

static int sc_cpuid_wrong_max_leaf(struct fake_fx *x)
{
    uint32_t b = vmi_host_cpuid_base(), r[4];

    vmi_host_cpuid(x->vm, 0, b, b, r);
    return r[0] != b + VMI_CPUID_LEAF_COUNT - 1;
}

static int sc_version_exact_match(struct fake_fx *x)
{
    return hc(x, VMI_HC_NEGOTIATE, VMI_VERSION(1, 3), 0, 0, 0, NULL) != 0;
}

static int sc_block_deadline_early(struct fake_fx *x)
{
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    (void)evrec(x, 0);
    hc(x, VMI_HC_BLOCK, vmi_host_clock_now(x->vm) + 500000, 0, 0, 0, &c);
    return c.action == VMI_HOST_RESUME && c.rets[0] == VMI_WAKE_DEADLINE;
}

static int sc_steal_version_odd(struct fake_fx *x)
{
    struct vmi_steal_record *r = fake_gpa(&x->f, 0x3000);

    ready(x, VMI_F_ALL_1_0);
    hc(x, VMI_HC_STEAL_REGISTER, 0x3000, 0, 0, 0, NULL);
    return r->version % 2 != 0;
}

static int sc_pt_update_wrong_completed(struct fake_fx *x)
{
    struct vmi_pt_update *u = fake_gpa(&x->f, 0x20000);
    struct vmi_host_call c;

    ready(x, VMI_F_ALL_1_0);
    u->pte_gpa = 0x10000; /* not pinned */
    u->value = 0;
    hc(x, VMI_HC_PT_UPDATE, 0x20000, 1, 0, 0, &c);
    return c.rets[0] != 0;
}

static int sc_send_range_unchecked(struct fake_fx *x)
{
    ready(x, VMI_F_ALL_1_0);
    return hc(x, VMI_HC_EVENT_SEND, 0, BIT(5) | 1, 4, 0, NULL) == 0;
}

static int sc_unknown_call_ok(struct fake_fx *x)
{
    return hc(x, 0x0909, 0, 0, 0, 0, NULL) == 0;
}

static int sc_negotiate_grants_undefined(struct fake_fx *x)
{
    struct vmi_host_call c;

    hc(x, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION, BIT(40) | VMI_F_CLOCK, 0, 0, &c);
    return (c.rets[1] & ~VMI_F_ALL_1_0) != 0;
}

static int sc_negotiate_any_major(struct fake_fx *x)
{
    return hc(x, VMI_HC_NEGOTIATE, VMI_VERSION(2, 0), 0, 0, 0, NULL) == 0;
}

static int sc_version_not_clamped(struct fake_fx *x)
{
    struct vmi_host_call c;

    hc(x, VMI_HC_NEGOTIATE, VMI_VERSION(1, 5), 0, 0, 0, &c);
    return c.rets[0] != VMI_SPEC_VERSION;
}

static int sc_tlb_range_before_contents(struct fake_fx *x)
{
    struct vmi_tlb_range *r = fake_gpa(&x->f, 0x6000);

    ready(x, VMI_F_ALL_1_0);
    r->gva = 0;
    r->pages = 0; /* INVAL outranks the vCPU set's RANGE */
    return fake_call(x->vm, 0, VMI_HC_TLB_FLUSH, 0, BIT(40), 0x6000, 1, 0,
                     NULL) == -VMI_E_RANGE;
}

static int sc_status_not_listed(struct fake_fx *x)
{
    ready(x, VMI_F_CLOCK);
    return hc(x, VMI_HC_TIME_READ, 1, 0, 0, 0, NULL) != 0;
}

static const struct {
    const char *name;
    int (*scenario)(struct fake_fx *x);
} scenarios[] = {
    {"timer-early", sc_timer_early},
    {"past-deadline-error", sc_past_deadline_error},
    {"cancel-not-idempotent", sc_cancel_not_idempotent},
    {"negotiate-rejects-undefined", sc_negotiate_rejects_undefined},
    {"reserved-field-ignored", sc_reserved_field_ignored},
    {"no-status-precedence", sc_no_status_precedence},
    {"clock-version-odd", sc_clock_version_odd},
    {"block-spurious-wake", sc_block_spurious_wake},
    {"pt-ignores-reserved-bits", sc_pt_ignores_reserved_bits},
    {"release-miscount", sc_release_miscount},
    {"restore-skips-checksum", sc_restore_skips_checksum},
    {"console-no-rate-limit", sc_console_no_rate_limit},
    {"time-read-skew", sc_time_read_skew},
    {"clock-not-stable", sc_clock_not_stable},
    {"event-no-upcall", sc_event_no_upcall},
    {"event-register-drops-pending", sc_event_register_drops_pending},
    {"send-ignores-exclude-self", sc_send_ignores_exclude_self},
    {"vcpu-start-twice", sc_vcpu_start_twice},
    {"tlb-accepts-misaligned", sc_tlb_accepts_misaligned},
    {"unpin-missing-ok", sc_unpin_missing_ok},
    {"mem-accepts-zero-pages", sc_mem_accepts_zero_pages},
    {"console-len-unchecked", sc_console_len_unchecked},
    {"shutdown-status-unchecked", sc_shutdown_status_unchecked},
    {"results-not-zeroed", sc_results_not_zeroed},
    {"user-call-allowed", sc_user_call_allowed},
    {"negotiate-twice", sc_negotiate_twice},
    {"feature-not-enforced", sc_feature_not_enforced},
    {"cpuid-wrong-max-leaf", sc_cpuid_wrong_max_leaf},
    {"version-exact-match", sc_version_exact_match},
    {"block-deadline-early", sc_block_deadline_early},
    {"steal-version-odd", sc_steal_version_odd},
    {"pt-update-wrong-completed", sc_pt_update_wrong_completed},
    {"send-range-unchecked", sc_send_range_unchecked},
    {"unknown-call-ok", sc_unknown_call_ok},
    {"negotiate-grants-undefined", sc_negotiate_grants_undefined},
    {"negotiate-any-major", sc_negotiate_any_major},
    {"version-not-clamped", sc_version_not_clamped},
    {"tlb-range-before-contents", sc_tlb_range_before_contents},
    {"status-not-listed", sc_status_not_listed},
    {"restore-accepts-blocked-unstarted", sc_restore_accepts_blocked_unstarted},
    {"restore-accepts-unmet-features", sc_restore_accepts_unmet_features},
    {"restore-accepts-ungranted-state", sc_restore_accepts_ungranted_state},
    {"restore-accepts-lifecycle-mismatch",
     sc_restore_accepts_lifecycle_mismatch},
    {"guest-stopped-resticky", sc_guest_stopped_resticky},
    {"clock-record-invalidated", sc_clock_record_invalidated},
    {"clock-flag-bit2", sc_clock_flag_bit2},
    {"record-not-refreshed", sc_record_not_refreshed},
    {"steal-reset-on-register", sc_steal_reset_on_register},
    {"block-deaf-to-interrupts", sc_block_deaf_to_interrupts},
    {"query-forgets-features", sc_query_forgets_features},
    {"reset-keeps-records", sc_reset_keeps_records},
    {"vcpu-stop-keeps-records", sc_vcpu_stop_keeps_records},
    {"reset-ignores-reclaim-failure", sc_reset_ignores_reclaim_failure},
    {"platform-reset-ignored", sc_platform_reset_ignored},
    {"init-keeps-records", sc_init_keeps_records},
    {"timing-leaf-missing", sc_timing_leaf_missing},
    {"timers-fewer-than-vcpus", sc_timers_fewer_than_vcpus},
    {"time-read-per-vcpu", sc_time_read_per_vcpu},
    {"record-off-reference", sc_record_off_reference},
    {"clock-counts-stop", sc_clock_counts_stop},
    {"skew-with-stable-tsc", sc_skew_with_stable_tsc},
    {"query-gated", sc_query_gated},
    {"query-flags-ignored", sc_query_flags_ignored},
    {"reset-flags-ignored", sc_reset_flags_ignored},
    {"vcpu-stop-flags-ignored", sc_vcpu_stop_flags_ignored},
    {"last-vcpu-stops", sc_last_vcpu_stops},
    {"tlb-flush-limit", sc_tlb_flush_limit},
    {"tlb-drops-global", sc_tlb_drops_global},
    {"reregister-leaves-pending", sc_reregister_leaves_pending},
    {"event-old-record-written", sc_event_old_record_written},
    {"reregister-keeps-upcall", sc_reregister_keeps_upcall},
    {"user-calls-without-grant", sc_user_calls_without_grant},
    {"release-ignores-use", sc_release_ignores_use},
    {"released-reads-other-data", sc_released_reads_other_data},
    {"extent-uncapped", sc_extent_uncapped},
    {"vcpu-leaf-zero", sc_vcpu_leaf_zero},
    {"pin-limit-tiny", sc_pin_limit_tiny},
    {"preserve-ad-ignored", sc_preserve_ad_ignored},
    {"restore-accepts-unknown-version", sc_restore_accepts_unknown_version},
    {"restore-accepts-unoffered-features",
     sc_restore_accepts_unoffered_features},
    {"restore-drops-upcall", sc_restore_drops_upcall},
    {"restore-rejects-optional", sc_restore_rejects_optional},
    {"restore-rejects-old-format", sc_restore_rejects_old_format},
    {"save-ignores-target-format", sc_save_ignores_target_format},
    {"save-config-absolute", sc_save_config_absolute},
    {"restore-ignores-config", sc_restore_ignores_config},
    {"negotiate-keeps-firmware-vcpus", sc_negotiate_keeps_firmware_vcpus},
    {"vcpu-map-ignores-ecx", sc_vcpu_map_ignores_ecx},
    {"vcpu-map-past-count", sc_vcpu_map_past_count},
    {"block-arm-without-grant", sc_block_arm_without_grant},
    {"block-arm-no-deadline-ok", sc_block_arm_no_deadline_ok},
    {"block-arm-range-unchecked", sc_block_arm_range_unchecked},
    {"block-arm-ignored", sc_block_arm_ignored},
    {"block-args-not-ignored", sc_block_args_not_ignored},
};

static int run_scenario(int (*fn)(struct fake_fx *), const char *fault)
{
    struct fake_fx *x = calloc(1, sizeof(*x));
    struct vmi_host_config cfg;
    int r;

    fake_init(&x->f);
    fake_config(&x->f, &cfg);
    x->vm = fake_vm(&x->f, &cfg);
    assert_int_equal(vmi_host_test_set_fault(x->vm, fault), 0);
    r = fn(x);
    vmi_host_vm_destroy(x->vm);
    fake_fini(&x->f);
    free(x);
    return r;
}

static int clause_id_ok(const char *c)
{
    const char *p = c;

    if (strncmp(p, "VMI-", 4) != 0)
        return 0;
    p += 4;
    while (*p >= 'A' && *p <= 'Z')
        p++;
    if (p == c + 4 || *p++ != '-')
        return 0;
    for (int i = 0; i < 3; i++, p++)
        if (*p < '0' || *p > '9')
            return 0;
    return *p == '\0';
}

static void test_fault_table_is_complete_and_named(void **state)
{
    const char *names[128], *clauses[128];
    unsigned n = vmi_host_test_faults(names, clauses, 128);

    (void)state;
    assert_true(n >= 20);
    assert_true(n <= 128);
    assert_int_equal(n, sizeof(scenarios) / sizeof(scenarios[0]));
    assert_int_equal(vmi_host_test_faults(NULL, NULL, 0), n);
    for (unsigned i = 0; i < n; i++) {
        assert_true(clause_id_ok(clauses[i]));
        for (unsigned j = 0; j < i; j++)
            assert_string_not_equal(names[i], names[j]);
    }
}

static void test_each_fault_breaks_its_behaviour_and_only_with_it(void **state)
{
    const char *names[128];
    unsigned n = vmi_host_test_faults(names, NULL, 128);

    (void)state;
    for (unsigned i = 0; i < n; i++) {
        unsigned k;
        for (k = 0; k < n; k++)
            if (strcmp(scenarios[k].name, names[i]) == 0)
                break;
        if (k == n)
            fail_msg("fault %s has no scenario", names[i]);
        print_message("fault %s\n", names[i]);
        assert_int_equal(run_scenario(scenarios[k].scenario, NULL), 0);
        assert_int_equal(run_scenario(scenarios[k].scenario, names[i]), 1);
    }
}

/* $VMI_HOST_FAULT picks the fault of every VM the process creates. */
static void test_fault_from_environment(void **state)
{
    struct fake_host *f = calloc(1, sizeof(*f));
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm = NULL;
    char why[200] = "";

    (void)state;
    fake_init(f);
    fake_config(f, &cfg);
    setenv("VMI_HOST_FAULT", "timer-early", 1);
    assert_int_equal(vmi_host_vm_create(&cfg, &vm, why, sizeof(why)), 0);
    assert_string_equal(vmi_host_test_fault(vm), "timer-early");
    assert_int_equal(vmi_host_test_set_fault(vm, "no-such-fault"),
                     -VMI_E_INVAL);
    assert_string_equal(vmi_host_test_fault(vm), "timer-early");
    assert_int_equal(vmi_host_test_set_fault(vm, NULL), 0);
    assert_null(vmi_host_test_fault(vm));
    vmi_host_vm_destroy(vm);
    vm = NULL;
    setenv("VMI_HOST_FAULT", "no-such-fault", 1);
    assert_int_equal(vmi_host_vm_create(&cfg, &vm, why, sizeof(why)),
                     -VMI_E_INVAL);
    assert_null(vm);
    assert_non_null(strstr(why, "VMI_HOST_FAULT=no-such-fault"));
    unsetenv("VMI_HOST_FAULT");
    assert_int_equal(vmi_host_vm_create(&cfg, &vm, why, sizeof(why)), 0);
    assert_null(vmi_host_test_fault(vm));
    vmi_host_vm_destroy(vm);
    fake_fini(f);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_strict_reports_rejections_with_clause, fake_setup,
            fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_strict_reports_reserved_struct_fields, fake_setup_ready,
            fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_strict_console_paced_retry_is_no_violation, fake_setup,
            fake_teardown),
        cmocka_unit_test_setup_teardown(test_strict_reports_console_flooding,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_successful_calls_report_nothing,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_strict_reports_block_with_interrupts_enabled, fake_setup,
            fake_teardown),
        cmocka_unit_test_setup_teardown(
            test_strict_reports_uninitialised_event_record, fake_setup,
            fake_teardown),
        cmocka_unit_test(test_not_strict_counts_but_does_not_report),
        cmocka_unit_test(test_fault_table_is_complete_and_named),
        cmocka_unit_test(test_fault_from_environment),
        cmocka_unit_test(test_each_fault_breaks_its_behaviour_and_only_with_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
