/* SPDX-License-Identifier: MIT */
/* test_host_save.c: save/restore round trip and rejection of every kind of
 * corrupt blob with the VM untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "vm.h"

#define CLK 0x2000u
#define EVR 0x4000u
#define STL 0x3000u

/* A VM with something in every section. */
static void populate(struct fake_fx *x)
{
    struct vmi_host_vm *vm = x->vm;
    uint64_t now = vmi_host_clock_now(vm);

    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    memset(fake_gpa(&x->f, 0x10000), 0, 3 * 4096);
    vmi_host_set_wall_offset(vm, -12345);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_CLOCK_REGISTER, CLK, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(
        fake_call(vm, 1, VMI_HC_CLOCK_REGISTER, CLK + 32, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_EVENT_REGISTER, EVR, 40, 0, 0, 0, NULL), 0);
    /* vCPU 2 runs only once started (a vCPU that calls counts as started). */
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_VCPU_START, 2, 0x5000, 0, 0, 0, NULL), 0);
    assert_int_equal(
        fake_call(vm, 2, VMI_HC_EVENT_REGISTER, EVR + 128, 41, 0, 0, 0, NULL),
        0);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_STEAL_REGISTER, STL, 0, 0, 0, 0, NULL), 0);
    vmi_host_steal_account(vm, 0, 777);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_TIMER_ARM, 5, now + 1000, 1, 3, 0, NULL), 0);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_TIMER_ARM, 63, now + 500, 3, 63, 0, NULL), 0);
    assert_int_equal(fake_call(vm, 0, VMI_HC_PT_PIN, 0x11000, 2, 0, 0, 0, NULL),
                     0);
    assert_int_equal(fake_call(vm, 0, VMI_HC_PT_PIN, 0x10000, 1, 0, 0, 0, NULL),
                     0);
    struct vmi_mem_extent *e = fake_gpa(&x->f, 0x8000);
    e[0].gpa = 0x200000;
    e[0].pages = 3;
    e[1].gpa = 0x100000;
    e[1].pages = 2;
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_MEM_RELEASE, 0x8000, 2, 0, 0, 0, NULL), 0);
    /* vCPU 2 sleeps in BLOCK. */
    struct vmi_host_call c;
    assert_int_equal(fake_call(vm, 2, VMI_HC_BLOCK, now + 9999, 0, 0, 0, 0, &c),
                     0);
    assert_int_equal(c.action, VMI_HOST_BLOCK);
}

static struct vmi_host_vm *fresh(struct fake_host *f)
{
    struct vmi_host_config cfg;

    fake_config(f, &cfg);
    return fake_vm(f, &cfg);
}

static void fix_crc(uint8_t *b, size_t len)
{
    uint32_t zero = 0, crc;
    const size_t at = offsetof(struct vmi_save_header, checksum);

    memcpy(b + at, &zero, 4);
    crc = vmi__crc32c(0, b, len);
    memcpy(b + at, &crc, 4);
}

static size_t section(const uint8_t *b, size_t len, uint32_t type)
{
    size_t off = sizeof(struct vmi_save_header);

    while (off + sizeof(struct vmi_save_section) <= len) {
        struct vmi_save_section s;
        memcpy(&s, b + off, sizeof(s));
        if (s.type == type)
            return off + sizeof(s);
        off += sizeof(s) + s.size;
    }
    fail_msg("section %u not found", type);
    return 0;
}

/* Restore must fail with `status` and leave `vm` as it was. */
static void expect_bad(struct vmi_host_vm *vm, const uint8_t *b, size_t len,
                       int status)
{
    size_t l1, l2;
    uint8_t *s1 = fake_save(vm, &l1), *s2;
    char why[128] = "";

    assert_int_equal(vmi_host_restore(vm, b, len, why, sizeof(why)), status);
    assert_true(why[0] != 0);
    s2 = fake_save(vm, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    free(s1);
    free(s2);
}

static void test_save_round_trip_is_identical(void **state)
{
    struct fake_fx *x = *state;
    size_t la, lb;
    uint8_t *a, *b;
    struct vmi_host_vm *vm2;
    char why[128];

    populate(x);
    a = fake_save(x->vm, &la);
    /* Header, VM, one VCPU section per vCPU, TIMERS, PINNED, RELEASED,
     * CONFIG. */
    assert_int_equal(la,
                     64 + 9 * 16 + 96 + 4 * 64 + 2 * 32 + 2 * 16 + 2 * 16 + 80);
    vm2 = fresh(&x->f);
    assert_int_equal(vmi_host_restore(vm2, a, la, why, sizeof(why)), 0);
    b = fake_save(vm2, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    /* The restored VM behaves like the original: same next deadline, the
     * blocked vCPU still blocked, features granted. */
    assert_int_equal(vmi_host_next_deadline(vm2),
                     vmi_host_next_deadline(x->vm));
    struct vmi_host_call c;
    assert_int_equal(vmi_host_block_check(vm2, 2, &c), 0);
    assert_int_equal(
        fake_call(vm2, 0, VMI_HC_PT_UNPIN, 0x10000, 0, 0, 0, 0, NULL), 0);
    vmi_host_vm_destroy(vm2);
    free(a);
    free(b);
}

/*
 * Leaf B+9 maps vCPU ids to the platform ids of the VM the state is
 * restored into (the destination's configuration, VMI-DSC-043), not to
 * zeros: the saved state does not carry them.
 */
static void test_restore_keeps_the_platform_ids(void **state)
{
    static const uint32_t ids[4] = {0x100, 0x101, 0x10000, 0x1000002};
    struct fake_fx *x = *state;
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm2;
    uint32_t b = vmi_host_cpuid_base(), r[4];
    size_t la;
    uint8_t *a;
    char why[128];

    populate(x);
    a = fake_save(x->vm, &la);
    fake_config(&x->f, &cfg);
    cfg.platform_ids = ids;
    vm2 = fake_vm(&x->f, &cfg);
    assert_int_equal(vmi_host_restore(vm2, a, la, why, sizeof(why)), 0);
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(vmi_host_cpuid_sub(vm2, 0, b, b + 9, i, r), 1);
        assert_int_equal(r[0], ids[i]);
        assert_int_equal(r[1], VMI_VCPU_MAP_EXISTS);
    }
    vmi_host_vm_destroy(vm2);
    free(a);
}

/* VMI-SAV-005: events the host holds for a vCPU without an event record
 * survive a save and restore and reach the record registered afterwards. */
static void test_host_held_pending_events_survive_restore(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_vm *vm2;
    size_t len;
    uint8_t *blob;
    char why[128];
    struct vmi_event_record *rec = fake_gpa(&x->f, EVR + 192);

    /* vCPU 3 has no event record: the IPI is held by the host. */
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_EVENT_SEND, 0, 1u << 3, 9, 0, 0, NULL), 0);
    blob = fake_save(x->vm, &len);
    vm2 = fresh(&x->f);
    assert_int_equal(vmi_host_restore(vm2, blob, len, why, sizeof(why)), 0);
    memset(rec, 0, sizeof(*rec));
    assert_int_equal(
        fake_call(vm2, 3, VMI_HC_EVENT_REGISTER, EVR + 192, 42, 0, 0, 0, NULL),
        0);
    assert_int_equal(rec->pending, UINT64_C(1) << 9);
    /* A blob claiming host-held events on a vCPU with a record is refused. */
    size_t at = section(blob, len, VMI_SAVE_SECTION_VCPU);
    uint64_t gpa = EVR, bits = 1;
    memcpy(blob + at + offsetof(struct vmi_save_vcpu, event_gpa), &gpa, 8);
    memcpy(blob + at + offsetof(struct vmi_save_vcpu, host_pending), &bits, 8);
    fix_crc(blob, len);
    expect_bad(x->vm, blob, len, -VMI_E_INVAL);
    vmi_host_vm_destroy(vm2);
    free(blob);
}

/*
 * A vCPU the embedder runs without VCPU_START (never started for host-lib)
 * and that blocks: the saved state shows it started, so the restore of a
 * fresh save succeeds (a blob with a blocked, never started vCPU is one no
 * run produces: VMI-SAV-028).  The fuzz target found the gap.
 */
static void test_calling_vcpu_counts_as_started(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_vm *vm2;
    struct vmi_host_call c;
    size_t len, at;
    uint8_t *blob;
    uint32_t flags;
    char why[192] = "";

    /* vCPU 2 never started; a refused call changes nothing... */
    assert_int_equal(fake_call(x->vm, 2, VMI_HC_BLOCK, 5, 2, 0, 0, 0, NULL),
                     -VMI_E_INVAL);
    blob = fake_save(x->vm, &len);
    at = section(blob, len, VMI_SAVE_SECTION_VCPU) +
         2 * (sizeof(struct vmi_save_section) + sizeof(struct vmi_save_vcpu));
    memcpy(&flags, blob + at + offsetof(struct vmi_save_vcpu, flags), 4);
    assert_int_equal(flags, 0);
    free(blob);
    /* ...a completed one records it as running; it blocks. */
    assert_int_equal(fake_call(x->vm, 2, VMI_HC_BLOCK,
                               vmi_host_clock_now(x->vm) + 1000000000u, 0, 0, 0,
                               0, &c),
                     0);
    assert_int_equal(c.action, VMI_HOST_BLOCK);
    blob = fake_save(x->vm, &len);
    vm2 = fresh(&x->f);
    if (vmi_host_restore(vm2, blob, len, why, sizeof(why)) != 0)
        fail_msg("restore of a fresh save: %s", why);
    vmi_host_vm_destroy(vm2);
    free(blob);
}

static void test_restore_continues_clock_and_sets_guest_stopped(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *g = calloc(1, sizeof(*g));
    struct vmi_clock_record *r;
    struct vmi_host_vm *vm2;
    uint64_t saved;
    size_t len;
    uint8_t *a;

    populate(x);
    fake_advance(&x->f, 5000000);
    saved = vmi_host_clock_now(x->vm);
    a = fake_save(x->vm, &len);
    /* Another host, another TSC, and time passes before the restore. */
    fake_init(g);
    g->tsc = 987654321987ull;
    vm2 = fresh(g);
    fake_advance(g, 123456789);
    memcpy(g->ram, x->f.ram, g->ram_bytes);
    assert_int_equal(vmi_host_restore(vm2, a, len, NULL, 0), 0);
    assert_int_equal(vmi_host_clock_now(vm2), saved);
    r = fake_gpa(g, CLK);
    assert_true(r->flags & VMI_CLOCK_GUEST_STOPPED);
    assert_int_equal(r->version % 2, 0);
    assert_int_equal(r->system_time, saved);
    assert_int_equal(r->tsc_timestamp, g->tsc);
    r = fake_gpa(g, CLK + 32);
    assert_true(r->flags & VMI_CLOCK_GUEST_STOPPED);
    fake_advance(g, 10);
    assert_int_equal(vmi_host_clock_now(vm2), saved + 10);
    vmi_host_vm_destroy(vm2);
    fake_fini(g);
    free(g);
    free(a);
}

static void test_save_small_buffer_is_limit(void **state)
{
    struct fake_fx *x = *state;
    size_t len;
    uint8_t buf[64];

    assert_int_equal(vmi_host_save(x->vm, NULL, 0, &len), 0);
    assert_true(len > sizeof(buf));
    assert_int_equal(vmi_host_save(x->vm, buf, sizeof(buf), &len),
                     -VMI_E_LIMIT);
}

static void test_restore_rejects_every_truncation(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_vm *vm2 = fresh(&x->f);
    size_t len;
    uint8_t *a;

    populate(x);
    a = fake_save(x->vm, &len);
    /* With total_size and the checksum fixed it must fail too. */
    for (size_t n = 0; n < len; n++) {
        expect_bad(vm2, a, n, -VMI_E_INVAL);
        uint8_t *t = malloc(n + 1);
        memcpy(t, a, n);
        if (n >= sizeof(struct vmi_save_header)) {
            uint64_t tot = n;
            memcpy(t + offsetof(struct vmi_save_header, total_size), &tot, 8);
            fix_crc(t, n);
            assert_true(vmi_host_restore(vm2, t, n, NULL, 0) < 0);
        }
        free(t);
    }
    vmi_host_vm_destroy(vm2);
    free(a);
}

struct patch {
    const char *what;
    uint32_t section; /* 0: header */
    size_t off;
    unsigned size;
    uint64_t value;
    int status;
};

static void test_restore_rejects_each_bad_field(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_vm *vm2 = fresh(&x->f);
    const uint64_t none = VMI_GPA_NONE;
    size_t len;
    uint8_t *a;
#define H(f) offsetof(struct vmi_save_header, f)
#define V(f) offsetof(struct vmi_save_vm, f)
#define C(f) offsetof(struct vmi_save_vcpu, f)
#define TM(f) offsetof(struct vmi_save_timer, f)
#define PN(f) offsetof(struct vmi_save_pin, f)
    const struct patch patches[] = {
        {"magic", 0, H(magic), 8, 0x1234, -VMI_E_INVAL},
        {"format", 0, H(format_version), 4, VMI_SAVE_FORMAT_VERSION + 1,
         -VMI_E_VERSION},
        {"format 0", 0, H(format_version), 4, 0, -VMI_E_VERSION},
        /* Format 1 has no CONFIG section: this blob has one too many. */
        {"format 1", 0, H(format_version), 4, 1, -VMI_E_INVAL},
        {"header_size", 0, H(header_size), 4, 72, -VMI_E_INVAL},
        {"total_size", 0, H(total_size), 8, 1 << 20, -VMI_E_INVAL},
        {"section_count", 0, H(section_count), 4, 6, -VMI_E_INVAL},
        {"section_count", 0, H(section_count), 4, 4, -VMI_E_INVAL},
        {"abi_version", 0, H(abi_version), 4, VMI_VERSION(2, 0), -VMI_E_INVAL},
        {"reserved0", 0, H(reserved0), 4, 1, -VMI_E_INVAL},
        {"reserved1", 0, H(reserved1) + 16, 8, 1, -VMI_E_INVAL},
        {"section type", VMI_SAVE_SECTION_VM, (size_t)-16, 4, 9, -VMI_E_INVAL},
        /* An optional section never stands first: the VM section does. */
        {"optional first", VMI_SAVE_SECTION_VM, (size_t)-16, 4,
         VMI_SAVE_SECTION_OPTIONAL | VMI_SAVE_SECTION_VM, -VMI_E_INVAL},
        /* Skipped, so the CONFIG section is missing. */
        {"config made optional", VMI_SAVE_SECTION_CONFIG, (size_t)-16, 4,
         VMI_SAVE_SECTION_OPTIONAL | VMI_SAVE_SECTION_CONFIG, -VMI_E_INVAL},
        {"config pin limit", VMI_SAVE_SECTION_CONFIG, 15 * 4, 4, 1,
         -VMI_E_INVAL},
        {"config vcpus", VMI_SAVE_SECTION_CONFIG, 10 * 4, 4, 5, -VMI_E_INVAL},
        {"section version", VMI_SAVE_SECTION_VM, (size_t)-12, 4, 2,
         -VMI_E_INVAL},
        {"section size", VMI_SAVE_SECTION_VM, (size_t)-8, 8, 100, -VMI_E_INVAL},
        {"duplicate section", VMI_SAVE_SECTION_TIMERS, (size_t)-16, 4,
         VMI_SAVE_SECTION_VM, -VMI_E_INVAL},
        {"sections out of order", VMI_SAVE_SECTION_VCPU, 80 - 16, 4,
         VMI_SAVE_SECTION_TIMERS, -VMI_E_INVAL},
        {"VCPU section too big", VMI_SAVE_SECTION_VCPU, (size_t)-8, 8, 128,
         -VMI_E_INVAL},
        {"lifecycle", VMI_SAVE_SECTION_VM, V(lifecycle), 4, 3, -VMI_E_INVAL},
        {"version", VMI_SAVE_SECTION_VM, V(version), 4, VMI_VERSION(1, 1),
         -VMI_E_INVAL},
        {"features", VMI_SAVE_SECTION_VM, V(features), 8, 1 << 8, -VMI_E_INVAL},
        {"vcpu_count", VMI_SAVE_SECTION_VM, V(vcpu_count), 4, 5, -VMI_E_INVAL},
        {"timer_count", VMI_SAVE_SECTION_VM, V(timer_count), 4, 65,
         -VMI_E_INVAL},
        {"ram_bytes", VMI_SAVE_SECTION_VM, V(ram_bytes), 8, 1 << 30,
         -VMI_E_INVAL},
        {"released_pages", VMI_SAVE_SECTION_VM, V(released_pages), 8, 4,
         -VMI_E_INVAL},
        {"shutdown_reason", VMI_SAVE_SECTION_VM, V(shutdown_reason), 4, 1,
         -VMI_E_INVAL},
        {"vm reserved0", VMI_SAVE_SECTION_VM, V(reserved0) + 24, 8, 1,
         -VMI_E_INVAL},
        {"vcpu id", VMI_SAVE_SECTION_VCPU, 80 + C(vcpu), 4, 0, -VMI_E_INVAL},
        {"vcpu id range", VMI_SAVE_SECTION_VCPU, 240 + C(vcpu), 4, 4,
         -VMI_E_INVAL},
        {"vcpu flags", VMI_SAVE_SECTION_VCPU, C(flags), 4, 5, -VMI_E_INVAL},
        {"clock misaligned", VMI_SAVE_SECTION_VCPU, C(clock_gpa), 8, CLK + 8,
         -VMI_E_INVAL},
        {"clock outside RAM", VMI_SAVE_SECTION_VCPU, C(clock_gpa), 8,
         FAKE_RAM_BYTES, -VMI_E_INVAL},
        {"event misaligned", VMI_SAVE_SECTION_VCPU, C(event_gpa), 8, EVR + 32,
         -VMI_E_INVAL},
        {"steal outside RAM", VMI_SAVE_SECTION_VCPU, C(steal_gpa), 8, none - 63,
         -VMI_E_INVAL},
        {"vector", VMI_SAVE_SECTION_VCPU, C(event_vector), 4, 16, -VMI_E_INVAL},
        /* vCPU 0 has an event record: its vector must be a valid one. */
        {"vector 0 with a record", VMI_SAVE_SECTION_VCPU, C(event_vector), 4, 0,
         -VMI_E_INVAL},
        {"vcpu reserved0", VMI_SAVE_SECTION_VCPU, C(reserved0), 4, 1,
         -VMI_E_INVAL},
        /* vCPU 2 has an event record: the host holds nothing for it. */
        {"host_pending with a record", VMI_SAVE_SECTION_VCPU,
         160 + C(host_pending), 8, 1, -VMI_E_INVAL},
        {"deadline without block", VMI_SAVE_SECTION_VCPU, C(block_deadline_ns),
         8, 5, -VMI_E_INVAL},
        {"timer id", VMI_SAVE_SECTION_TIMERS, TM(timer), 4, 64, -VMI_E_INVAL},
        {"timer order", VMI_SAVE_SECTION_TIMERS, TM(timer), 4, 63,
         -VMI_E_INVAL},
        {"timer vcpu", VMI_SAVE_SECTION_TIMERS, TM(vcpu), 4, 4, -VMI_E_INVAL},
        {"timer event", VMI_SAVE_SECTION_TIMERS, TM(event), 4, 64,
         -VMI_E_INVAL},
        {"timer reserved", VMI_SAVE_SECTION_TIMERS, TM(reserved1), 8, 1,
         -VMI_E_INVAL},
        {"pin misaligned", VMI_SAVE_SECTION_PINNED, PN(table_gpa), 8, 0x10008,
         -VMI_E_INVAL},
        {"pin outside RAM", VMI_SAVE_SECTION_PINNED, PN(table_gpa), 8,
         FAKE_RAM_BYTES, -VMI_E_INVAL},
        {"pin order", VMI_SAVE_SECTION_PINNED, PN(table_gpa), 8, 0x11000,
         -VMI_E_INVAL},
        {"pin level", VMI_SAVE_SECTION_PINNED, PN(level), 4, 5, -VMI_E_INVAL},
        {"pin reserved", VMI_SAVE_SECTION_PINNED, PN(reserved0), 4, 1,
         -VMI_E_INVAL},
        {"extent misaligned", VMI_SAVE_SECTION_RELEASED, 0, 8, 0x100800,
         -VMI_E_INVAL},
        {"extent empty", VMI_SAVE_SECTION_RELEASED, 8, 8, 0, -VMI_E_INVAL},
        {"extent overlap", VMI_SAVE_SECTION_RELEASED, 16, 8, 0x101000,
         -VMI_E_INVAL},
        {"extent adjacent", VMI_SAVE_SECTION_RELEASED, 16, 8, 0x102000,
         -VMI_E_INVAL},
        {"extent outside RAM", VMI_SAVE_SECTION_RELEASED, 16, 8,
         FAKE_RAM_BYTES - 4096, -VMI_E_INVAL},
    };

    populate(x);
    a = fake_save(x->vm, &len);
    for (unsigned i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
        const struct patch *p = &patches[i];
        uint8_t *b = malloc(len);
        size_t at = p->section ? section(a, len, p->section) + p->off : p->off;
        memcpy(b, a, len);
        assert_true(at + p->size <= len);
        memcpy(b + at, &p->value, p->size);
        fix_crc(b, len);
        print_message("corrupt %s\n", p->what);
        expect_bad(vm2, b, len, p->status);
        /* Without the fixed checksum it fails too. */
        memcpy(b, a, sizeof(struct vmi_save_header));
        if (p->section)
            expect_bad(vm2, b, len, -VMI_E_INVAL);
        free(b);
    }
    /* The unmodified blob is fine. */
    assert_int_equal(vmi_host_restore(vm2, a, len, NULL, 0), 0);
    vmi_host_vm_destroy(vm2);
    free(a);
}

/*
 * vCPU 0 may be stopped (VCPU_STOP, or a RESET from another vCPU) while
 * another runs; a VM with no running vCPU at all is no state a run reaches.
 */
static void test_restore_needs_a_running_vcpu(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_vm *vm2 = fresh(&x->f);
    const uint32_t stopped = 0;
    size_t len, at;
    uint8_t *a;

    /* A fresh VM: only vCPU 0 runs.  Stop it in the blob: refused. */
    a = fake_save(x->vm, &len);
    at = section(a, len, VMI_SAVE_SECTION_VCPU) +
         offsetof(struct vmi_save_vcpu, flags);
    memcpy(a + at, &stopped, 4);
    fix_crc(a, len);
    expect_bad(vm2, a, len, -VMI_E_INVAL);
    free(a);
    /* vCPU 1 started, then vCPU 0 stopped: accepted. */
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_ALL_1_0, 0, 0, 0, NULL),
                     0);
    memset(fake_gpa(&x->f, 0x5000), 0, 64);
    assert_int_equal(
        fake_call(x->vm, 0, VMI_HC_VCPU_START, 1, 0x5000, 0, 0, 0, NULL), 0);
    assert_int_equal(fake_call(x->vm, 0, VMI_HC_VCPU_STOP, 0, 0, 0, 0, 0, NULL),
                     0);
    a = fake_save(x->vm, &len);
    assert_int_equal(vmi_host_restore(vm2, a, len, NULL, 0), 0);
    vmi_host_vm_destroy(vm2);
    free(a);
}

static void test_restore_rejects_every_flipped_byte_without_crc(void **state)
{
    struct fake_fx *x = *state;
    struct vmi_host_vm *vm2 = fresh(&x->f);
    size_t len;
    uint8_t *a;

    populate(x);
    a = fake_save(x->vm, &len);
    for (size_t i = 0; i < len; i++) {
        a[i] ^= 0x10;
        expect_bad(vm2, a, len,
                   i >= 8 && i < 12 ? -VMI_E_VERSION : -VMI_E_INVAL);
        a[i] ^= 0x10;
    }
    vmi_host_vm_destroy(vm2);
    free(a);
}

/* With the checksum fixed, a flipped byte is either rejected (VM
 * untouched) or accepted as a valid state that saves back identically. */
static void test_restore_flipped_byte_with_crc_is_safe(void **state)
{
    struct fake_fx *x = *state;
    size_t len;
    uint8_t *a;

    populate(x);
    a = fake_save(x->vm, &len);
    for (size_t i = 0; i < len; i++) {
        struct vmi_host_vm *vm2 = fresh(&x->f);
        uint8_t *b = malloc(len);
        size_t l1, l2;
        uint8_t *s1 = fake_save(vm2, &l1);
        memcpy(b, a, len);
        b[i] ^= 0x01;
        fix_crc(b, len);
        if (vmi_host_restore(vm2, b, len, NULL, 0) == 0) {
            uint8_t *s2 = fake_save(vm2, &l2);
            assert_int_equal(l2, len);
            /* clock_ns is re-read, so skip the VM section's clock field. */
            size_t clk = section(b, len, VMI_SAVE_SECTION_VM) +
                         offsetof(struct vmi_save_vm, clock_ns);
            if (i < clk || i >= clk + 8) {
                memset(s2 + clk, 0, 8);
                memset(b + clk, 0, 8);
                /* The checksum, and the writer's version: a 1.x writer
                 * may be newer than us; we write our own. */
                memset(s2 + 24, 0, 4);
                memset(b + 24, 0, 4);
                memset(s2 + 32, 0, 4);
                memset(b + 32, 0, 4);
                assert_memory_equal(s2, b, len);
            }
            free(s2);
        } else {
            uint8_t *s2 = fake_save(vm2, &l2);
            assert_int_equal(l1, l2);
            assert_memory_equal(s1, s2, l1);
            free(s2);
        }
        free(s1);
        free(b);
        vmi_host_vm_destroy(vm2);
    }
    free(a);
}

/*
 * Migration's dirty tracking (ops->dirty): every page of guest RAM that
 * host-lib changes is in a range it reported, whatever the call: records
 * registered and rewritten, results copied out, event bits set by timers
 * and EVENT_SEND, steal time, page-table entries, a restore.  The test
 * itself writes RAM only before it takes the snapshot it compares with.
 */
static void expect_changes_reported(struct fake_host *f, const uint8_t *before,
                                    const char *what)
{
    unsigned changed = 0;

    for (uint64_t p = 0; p < FAKE_RAM_BYTES / 4096; p++) {
        if (memcmp(before + p * 4096, f->ram + p * 4096, 4096) == 0)
            continue;
        changed++;
        if (!f->dirty[p])
            fail_msg("%s: page 0x%lx changed but was not reported dirty", what,
                     (unsigned long)(p * 4096));
    }
    assert_true(changed > 0);
}

static void test_every_host_write_is_reported_dirty(void **state)
{
    struct fake_fx *x = *state;
    struct fake_host *f = &x->f;
    struct vmi_host_vm *vm = x->vm, *vm2;
    uint8_t *before = malloc(FAKE_RAM_BYTES), *blob;
    struct vmi_pt_update *u = fake_gpa(f, 0x9000);
    struct vmi_host_call c;
    uint64_t now = vmi_host_clock_now(vm);
    char why[128];
    size_t len;

    assert_non_null(before);
    /* The guest's own writes: a PT_UPDATE array and a timer to fire. */
    for (unsigned i = 0; i < 4; i++) {
        u[i].pte_gpa = 0x10000 + 8 * i;
        u[i].value = (0x40000 + 4096 * i) | 1;
    }
    memcpy(before, f->ram, FAKE_RAM_BYTES);
    memset(f->dirty, 0, sizeof(f->dirty));

    assert_int_equal(
        fake_call(vm, 0, VMI_HC_CLOCK_REGISTER, CLK, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(
        fake_call(vm, 1, VMI_HC_CLOCK_REGISTER, CLK + 64, 0, 0, 0, 0, NULL), 0);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_EVENT_REGISTER, EVR, 40, 0, 0, 0, NULL), 0);
    assert_int_equal(
        fake_call(vm, 1, VMI_HC_EVENT_REGISTER, EVR + 128, 41, 0, 0, 0, NULL),
        0);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_STEAL_REGISTER, STL, 0, 0, 0, 0, NULL), 0);
    vmi_host_steal_account(vm, 0, 777);
    assert_int_equal(
        fake_call(vm, 0, VMI_HC_TIMER_ARM, 5, now + 1000, 0, 3, 0, NULL), 0);
    assert_int_equal(fake_call(vm, 1, VMI_HC_EVENT_SEND, 0, 7, 0, 0, 0, NULL),
                     0);
    fake_advance(f, 5000);
    assert_int_equal(vmi_host_timers_fire(vm, 8), 1);
    assert_int_equal(fake_call(vm, 0, VMI_HC_PT_PIN, 0x10000, 1, 0, 0, 0, NULL),
                     0);
    assert_int_equal(fake_call(vm, 0, VMI_HC_PT_UPDATE, 0x9000, 4, 0, 0, 0, &c),
                     0);
    assert_int_equal(*(uint64_t *)fake_gpa(f, 0x10008), 0x41001);
    fake_advance(f, 1000000);
    assert_int_equal(fake_call(vm, 0, VMI_HC_TIME_READ, 0, 0, 0, 0, 0, NULL),
                     0);
    expect_changes_reported(f, before, "calls");
    assert_true(f->dirty[CLK / 4096] && f->dirty[EVR / 4096] &&
                f->dirty[STL / 4096] && f->dirty[0x10000 / 4096]);

    /* A restore rewrites the records (GUEST_STOPPED) into RAM. */
    blob = fake_save(vm, &len);
    vm2 = fresh(f);
    memcpy(before, f->ram, FAKE_RAM_BYTES);
    memset(f->dirty, 0, sizeof(f->dirty));
    assert_int_equal(vmi_host_restore(vm2, blob, len, why, sizeof(why)), 0);
    expect_changes_reported(f, before, "restore");
    vmi_host_vm_destroy(vm2);
    free(blob);
    free(before);
}

int main(void)
{
#define T(fn)                                                                  \
    cmocka_unit_test_setup_teardown(fn, fake_setup_ready, fake_teardown)
    const struct CMUnitTest tests[] = {
        T(test_save_round_trip_is_identical),
        T(test_restore_keeps_the_platform_ids),
        T(test_host_held_pending_events_survive_restore),
        T(test_calling_vcpu_counts_as_started),
        T(test_restore_continues_clock_and_sets_guest_stopped),
        T(test_save_small_buffer_is_limit),
        T(test_restore_rejects_every_truncation),
        T(test_restore_rejects_each_bad_field),
        cmocka_unit_test_setup_teardown(test_restore_needs_a_running_vcpu,
                                        fake_setup, fake_teardown),
        T(test_restore_rejects_every_flipped_byte_without_crc),
        T(test_restore_flipped_byte_with_crc_is_safe),
        T(test_every_host_write_is_reported_dirty),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
