/* SPDX-License-Identifier: MIT */
/* fake_host.c: a fake embedder for host-lib tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

static void *f_map(void *ctx, uint64_t gpa, uint64_t len)
{
    struct fake_host *f = ctx;
    uint64_t end;

    if (__builtin_add_overflow(gpa, len, &end) || end > f->ram_bytes)
        return NULL;
    return f->ram + gpa;
}

static uint64_t f_now(void *ctx)
{
    return ((struct fake_host *)ctx)->now_ns;
}

static uint64_t f_rdtsc(void *ctx)
{
    return ((struct fake_host *)ctx)->tsc;
}

static void f_kick(void *ctx, uint32_t vcpu)
{
    struct fake_host *f = ctx;

    assert_true(vcpu < VMI_HOST_MAX_VCPUS);
    f->kicks[vcpu]++;
    f->kick_total++;
}

static void f_console(void *ctx, uint32_t vcpu, const char *buf, size_t len)
{
    struct fake_host *f = ctx;

    (void)vcpu;
    if (len > sizeof(f->console) - f->console_len)
        len = sizeof(f->console) - f->console_len;
    memcpy(f->console + f->console_len, buf, len);
    f->console_len += len;
    f->console_calls++;
}

static int f_release(void *ctx, uint64_t gpa, uint64_t len)
{
    struct fake_host *f = ctx;

    assert_true(gpa + len <= f->ram_bytes);
    assert_int_equal(gpa % VMI_PAGE_SIZE, 0);
    assert_int_equal(len % VMI_PAGE_SIZE, 0);
    if (f->fail_release)
        return -1;
    f->release_calls++;
    f->last_release_gpa = gpa;
    f->last_release_len = len;
    /* Dropped, as MADV_DONTNEED: reads zero (VMI-MEM-014). */
    memset(f->ram + gpa, 0, len);
    return 0;
}

static int f_reclaim(void *ctx, uint64_t gpa, uint64_t len)
{
    struct fake_host *f = ctx;

    assert_true(gpa + len <= f->ram_bytes);
    if (f->fail_reclaim)
        return -1;
    f->reclaim_calls++;
    f->last_reclaim_gpa = gpa;
    f->last_reclaim_len = len;
    memset(f->ram + gpa, 0, len);
    return 0;
}

static void f_stop(void *ctx, uint32_t caller, uint32_t vcpu)
{
    struct fake_host *f = ctx;

    (void)caller;
    f->stop_calls++;
    f->stopped[vcpu / 64] |= UINT64_C(1) << (vcpu % 64);
}

static int f_start(void *ctx, uint32_t caller, uint32_t vcpu,
                   const struct vmi_vcpu_start *st)
{
    struct fake_host *f = ctx;

    if (f->fail_start)
        return -1;
    if (f->on_start)
        f->on_start(f, vcpu);
    f->start_calls++;
    f->start_caller = caller;
    f->start_vcpu = vcpu;
    f->start_state = *st;
    return 0;
}

static void f_flush(void *ctx, uint32_t caller, const uint64_t *vcpus,
                    const struct vmi_tlb_range *ranges, uint32_t count,
                    uint32_t flags)
{
    struct fake_host *f = ctx;

    (void)caller;
    f->flush_calls++;
    memcpy(f->flush_vcpus, vcpus, sizeof(f->flush_vcpus));
    f->flush_count = count;
    f->flush_flags = flags;
    if (count) {
        assert_non_null(ranges);
        assert_true(count <= FAKE_MAX_RANGES);
        memcpy(f->flush_ranges, ranges, count * sizeof(*ranges));
    }
}

static void f_violation(void *ctx, uint32_t vcpu, const char *clause,
                        const char *what)
{
    struct fake_host *f = ctx;

    (void)vcpu;
    assert_non_null(what);
    f->violations++;
    strncpy(f->last_clause, clause, sizeof(f->last_clause) - 1);
}

static void f_dirty(void *ctx, uint64_t gpa, uint64_t len)
{
    struct fake_host *f = ctx;

    assert_true(len > 0 && gpa + len > gpa && gpa + len <= f->ram_bytes);
    for (uint64_t p = gpa / 4096; p <= (gpa + len - 1) / 4096; p++)
        f->dirty[p] = 1;
    f->dirty_calls++;
}

static void f_timers_changed(void *ctx)
{
    ((struct fake_host *)ctx)->timers_changed++;
}

const struct vmi_host_ops fake_ops = {
    .map = f_map,
    .now_ns = f_now,
    .rdtsc = f_rdtsc,
    .kick = f_kick,
    .console = f_console,
    .release = f_release,
    .reclaim = f_reclaim,
    .start_vcpu = f_start,
    .flush_tlb = f_flush,
    .violation = f_violation,
    .timers_changed = f_timers_changed,
    .stop_vcpu = f_stop,
    .dirty = f_dirty,
};

void fake_init(struct fake_host *f)
{
    memset(f, 0, sizeof(*f));
    f->ram_bytes = FAKE_RAM_BYTES;
    f->ram = calloc(1, FAKE_RAM_BYTES);
    assert_non_null(f->ram);
    f->now_ns = 1000000000u;
    f->tsc = 5000000000u;
}

void fake_fini(struct fake_host *f)
{
    free(f->ram);
    f->ram = NULL;
}

void fake_config(struct fake_host *f, struct vmi_host_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ops = &fake_ops;
    cfg->ctx = f;
    cfg->vcpu_count = 4;
    cfg->timer_count = 64;
    cfg->ram_bytes = f->ram_bytes;
    cfg->tsc_hz = 1000000000u;
    cfg->features = VMI_F_ALL_1_0;
    cfg->transports = VMI_TRANSPORT_PORTIO;
    cfg->port = 0x520;
    cfg->tsc_stable = 1;
    cfg->strict = 1;
    cfg->max_batch = 1024;
    cfg->work_per_call = 64;
    cfg->max_pinned = 64; /* the least VMI-DSC-042 allows */
    cfg->max_released_extents = 16;
    cfg->vendor = "OpenVMI fake host";
}

struct vmi_host_vm *fake_vm(struct fake_host *f,
                            const struct vmi_host_config *cfg)
{
    struct vmi_host_vm *vm = NULL;
    char why[128] = "";

    (void)f;
    if (vmi_host_vm_create(cfg, &vm, why, sizeof(why)) != 0)
        fail_msg("vmi_host_vm_create: %s", why);
    return vm;
}

struct vmi_host_vm *fake_vm_ready(struct fake_host *f)
{
    struct vmi_host_config cfg;
    struct vmi_host_vm *vm;
    struct vmi_host_call c;

    fake_config(f, &cfg);
    vm = fake_vm(f, &cfg);
    assert_int_equal(fake_call(vm, 0, VMI_HC_NEGOTIATE, VMI_SPEC_VERSION,
                               VMI_F_ALL_1_0, 0, 0, 0, &c),
                     0);
    assert_int_equal(c.rets[1], VMI_F_ALL_1_0);
    return vm;
}

void fake_advance(struct fake_host *f, uint64_t ns)
{
    f->now_ns += ns;
    f->tsc += ns;
}

int64_t fake_call(struct vmi_host_vm *vm, uint32_t vcpu, uint64_t nr,
                  uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                  uint64_t a4, struct vmi_host_call *out)
{
    struct vmi_host_call c;

    memset(&c, 0, sizeof(c));
    c.nr = nr;
    c.args[0] = a0;
    c.args[1] = a1;
    c.args[2] = a2;
    c.args[3] = a3;
    c.args[4] = a4;
    /* Stale values must be overwritten. */
    c.rets[0] = c.rets[1] = 0xDEADBEEF;
    assert_int_equal(vmi_host_hypercall(vm, vcpu, &c), 0);
    if (out)
        *out = c;
    return c.status;
}

int64_t fake_user_call(struct vmi_host_vm *vm, uint32_t vcpu, uint64_t nr,
                       uint64_t a0, uint64_t a1)
{
    struct vmi_host_call c;

    memset(&c, 0, sizeof(c));
    c.nr = nr;
    c.args[0] = a0;
    c.args[1] = a1;
    c.user = 1;
    assert_int_equal(vmi_host_hypercall(vm, vcpu, &c), 0);
    return c.status;
}

uint8_t *fake_save(struct vmi_host_vm *vm, size_t *len)
{
    uint8_t *b;

    assert_int_equal(vmi_host_save(vm, NULL, 0, len), 0);
    b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(vmi_host_save(vm, b, *len, len), 0);
    return b;
}

void fake_expect_reject(struct fake_host *f, struct vmi_host_vm *vm,
                        uint32_t vcpu, uint64_t nr, uint64_t a0, uint64_t a1,
                        uint64_t a2, uint64_t a3, uint64_t a4, int64_t status)
{
    size_t l1, l2;
    uint8_t *s1 = fake_save(vm, &l1), *s2;
    uint8_t *ram = malloc(f->ram_bytes);
    int64_t got;

    assert_non_null(ram);
    memcpy(ram, f->ram, f->ram_bytes);
    got = fake_call(vm, vcpu, nr, a0, a1, a2, a3, a4, NULL);
    if (got != status)
        fail_msg("call 0x%llx: expected %s, got %s", (unsigned long long)nr,
                 vmi_host_status_name(status), vmi_host_status_name(got));
    s2 = fake_save(vm, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    assert_memory_equal(ram, f->ram, f->ram_bytes);
    free(s1);
    free(s2);
    free(ram);
}

void *fake_gpa(struct fake_host *f, uint64_t gpa)
{
    assert_true(gpa < f->ram_bytes);
    return f->ram + gpa;
}

int fake_setup(void **state)
{
    struct fake_fx *x = calloc(1, sizeof(*x));
    struct vmi_host_config cfg;

    assert_non_null(x);
    fake_init(&x->f);
    fake_config(&x->f, &cfg);
    x->vm = fake_vm(&x->f, &cfg);
    *state = x;
    return 0;
}

int fake_setup_ready(void **state)
{
    struct fake_fx *x = calloc(1, sizeof(*x));

    assert_non_null(x);
    fake_init(&x->f);
    x->vm = fake_vm_ready(&x->f);
    *state = x;
    return 0;
}

int fake_teardown(void **state)
{
    struct fake_fx *x = *state;

    vmi_host_vm_destroy(x->vm);
    fake_fini(&x->f);
    free(x);
    return 0;
}

#define HC(name, nr, priv, bn, feat, na, nr_) {#name, nr, priv, bn, feat},
const struct fake_hc fake_hcs[] = {VMI_HC_LIST(HC)};
#undef HC
const unsigned fake_hc_count = sizeof(fake_hcs) / sizeof(fake_hcs[0]);
