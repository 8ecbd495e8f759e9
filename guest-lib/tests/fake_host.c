/* SPDX-License-Identifier: MIT */
/* fake_host.c: the in-process fake OpenVMI host used by guest-lib tests. */
#include "fake_host.h"

#include <stdlib.h>
#include <string.h>

#define CONSOLE_PAGE_GPA 0xF0000u

void fake_host_init(struct fake_host *fh)
{
    unsigned i;

    memset(fh, 0, sizeof(*fh));
    fh->ram_size = FAKE_RAM_SIZE;
    fh->ram = aligned_alloc(4096, FAKE_RAM_SIZE);
    memset(fh->ram, 0, FAKE_RAM_SIZE);
    fh->hv_bit = 1;
    memcpy(fh->cpu_vendor, "GenuineIntel", 13);
    fh->base = 0x40000100u;
    fh->other_hv_at_40000000 = 1;
    fh->version_max = VMI_VERSION(1, 0);
    fh->version_min = VMI_VERSION(1, 0);
    fh->transports = VMI_TRANSPORT_PORTIO;
    fh->port = 0x520;
    fh->features = VMI_F_ALL_1_0;
    fh->vcpu_count = 4;
    fh->profiles = VMI_PROFILE_CORE | VMI_PROFILE_PAGETABLE;
    fh->max_batch = 512;
    fh->timer_count = FAKE_TIMERS;
    fh->max_console = 4096;
    fh->max_pinned = 16;
    memcpy(fh->vendor, "OpenVMI fake host", 17);
    fh->tsc = 1000000;
    fh->rec_tsc = 1000000;
    fh->rec_sys = 5000;
    fh->rec_mul = 0x80000000u; /* 0.5 ns per tick (2 GHz) */
    fh->rec_shift = 0;
    fh->rec_flags = VMI_CLOCK_TSC_STABLE;
    fh->wall_offset = INT64_C(1700000000000000000);
    for (i = 0; i < FAKE_VCPUS; i++) {
        fh->clock_gpa[i] = VMI_GPA_NONE;
        fh->steal_gpa[i] = VMI_GPA_NONE;
        fh->event_gpa[i] = VMI_GPA_NONE;
    }
    fh->started[0] = 1;
    fh->tokens = -1;
    fh->fail_entry_gpa = -1;
    fh->pin_bad_index = -1;
}

void fake_host_fini(struct fake_host *fh)
{
    free(fh->ram);
    fh->ram = NULL;
}

void *fake_host_va(struct fake_host *fh, uint64_t gpa)
{
    return fh->ram + gpa;
}

static uint64_t virt_to_phys(void *ctx, const void *va)
{
    struct fake_host *fh = ctx;

    return (uint64_t)((const uint8_t *)va - fh->ram);
}

static void put_str(uint32_t *r, const char *s)
{
    memcpy(r, s, 4);
}

/* The subleaf matters to leaf B + 9 only, which this draft-1 host lacks. */
static void cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    struct fake_host *fh = ctx;
    uint32_t b = fh->base;

    (void)subleaf;
    fh->cpuid_calls++;
    r[0] = r[1] = r[2] = r[3] = 0;
    if (leaf == 0) {
        r[0] = 0xD;
        put_str(&r[1], fh->cpu_vendor);
        put_str(&r[3], fh->cpu_vendor + 4);
        put_str(&r[2], fh->cpu_vendor + 8);
        return;
    }
    if (leaf == 1) {
        r[2] = fh->hv_bit ? 1u << 31 : 0;
        return;
    }
    if (fh->other_hv_at_40000000 && leaf == 0x40000000u && b != leaf) {
        r[0] = 0x40000001u;
        put_str(&r[1], "KVMK");
        put_str(&r[2], "VMKV");
        r[3] = 0x4D;
        return;
    }
    if (!b || leaf < b || leaf - b >= VMI_CPUID_LEAF_COUNT)
        return;
    switch (leaf - b) {
    case VMI_CPUID_SIGNATURE:
        r[0] = fh->sig_max_leaf ? fh->sig_max_leaf : b + 6;
        r[1] = VMI_CPUID_SIGNATURE_EBX;
        r[2] = VMI_CPUID_SIGNATURE_ECX;
        r[3] = VMI_CPUID_SIGNATURE_EDX;
        break;
    case VMI_CPUID_VERSION:
        r[0] = fh->version_max;
        r[1] = fh->version_min;
        r[2] = fh->transports;
        r[3] = fh->port;
        break;
    case VMI_CPUID_FEATURES:
        r[0] = (uint32_t)fh->features;
        r[1] = (uint32_t)(fh->features >> 32);
        r[2] = fh->vcpu_count;
        r[3] = fh->profiles;
        break;
    case VMI_CPUID_LIMITS:
        r[0] = fh->max_batch;
        r[1] = fh->timer_count;
        r[2] = fh->max_console;
        r[3] = fh->max_pinned;
        break;
    case VMI_CPUID_VENDOR0:
    case VMI_CPUID_VENDOR1:
    case VMI_CPUID_VENDOR2:
        memcpy(r, fh->vendor + (leaf - b - VMI_CPUID_VENDOR0) * 16u, 16);
        break;
    case VMI_CPUID_VCPU:
        r[0] = fh->self_vcpu;
        break;
    default: /* the timing leaf and the vCPU map: zeros here */
        break;
    }
}

static uint64_t rdtsc(void *ctx)
{
    struct fake_host *fh = ctx;
    uint64_t t = fh->tsc;

    fh->tsc += fh->tsc_step;
    return t;
}

uint64_t fake_host_clock(const struct fake_host *fh, uint64_t tsc)
{
    unsigned __int128 d = tsc - fh->rec_tsc;

    if (fh->rec_shift < 0)
        d >>= -fh->rec_shift;
    else
        d <<= fh->rec_shift;
    return fh->rec_sys + (uint64_t)((d * fh->rec_mul) >> 32);
}

void fake_host_write_record(struct fake_host *fh, uint64_t gpa)
{
    struct vmi_clock_record *r = fake_host_va(fh, gpa);

    __atomic_store_n(&r->version, r->version | 1u, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    r->tsc_timestamp = fh->rec_tsc;
    r->system_time = fh->rec_sys;
    r->tsc_to_system_mul = fh->rec_mul;
    r->tsc_shift = fh->rec_shift;
    r->flags = fh->rec_flags;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&r->version, r->version + 1u, __ATOMIC_RELEASE);
}

static int in_ram(const struct fake_host *fh, uint64_t gpa, uint64_t len)
{
    uint64_t end;

    return !__builtin_add_overflow(gpa, len, &end) && end <= fh->ram_size;
}

static void set_pending(struct fake_host *fh, uint32_t vcpu, uint32_t event)
{
    uint64_t bit = UINT64_C(1) << event;

    if (fh->event_gpa[vcpu] == VMI_GPA_NONE) {
        fh->host_pending[vcpu] |= bit;
        return;
    }
    struct vmi_event_record *r = fake_host_va(fh, fh->event_gpa[vcpu]);
    __atomic_fetch_or(&r->pending, bit, __ATOMIC_SEQ_CST);
}

static int64_t reg_record(struct fake_host *fh, uint64_t gpa, uint64_t align,
                          uint64_t size, uint64_t flags, uint64_t *slot)
{
    if (flags)
        return -VMI_E_INVAL;
    if (gpa == VMI_GPA_NONE) {
        *slot = VMI_GPA_NONE;
        return 0;
    }
    if (gpa % align)
        return -VMI_E_ALIGN;
    if (!in_ram(fh, gpa, size))
        return -VMI_E_FAULT;
    *slot = gpa;
    return 0;
}

/*
 * The batch engine of PT_UPDATE / MEM_*: entries [start, count) of 16
 * bytes at gpa; stops at fail_entry_gpa, or after work_per_call entries.
 */
static int64_t batch(struct fake_host *fh, uint64_t nr, const uint64_t *a,
                     uint64_t *rets)
{
    uint64_t gpa = a[0], count = a[1], start = a[2], i, done = 0;

    if (a[3])
        return -VMI_E_INVAL;
    if (gpa % 16)
        return -VMI_E_ALIGN;
    if (count > fh->max_batch || start > count)
        return -VMI_E_RANGE;
    if (!in_ram(fh, gpa, count * 16))
        return -VMI_E_FAULT;
    for (i = start; i < count; i++) {
        const uint64_t *e = fake_host_va(fh, gpa + i * 16);
        if (fh->work_per_call && done == fh->work_per_call) {
            rets[0] = i;
            return -VMI_E_AGAIN;
        }
        /* fail_entry_gpa names an entry by its address in RAM. */
        if (fh->fail_entry_gpa >= 0 &&
            gpa + i * 16 == (uint64_t)fh->fail_entry_gpa) {
            rets[0] = i;
            return fh->fail_status;
        }
        if (nr == VMI_HC_PT_UPDATE) {
            if (e[0] % 8)
                return rets[0] = i, -VMI_E_ALIGN;
            if (!in_ram(fh, e[0], 8))
                return rets[0] = i, -VMI_E_NOENT;
            memcpy(fake_host_va(fh, e[0]), &e[1], 8);
        } else {
            if (e[0] % VMI_PAGE_SIZE)
                return rets[0] = i, -VMI_E_ALIGN;
            if (e[1] == 0)
                return rets[0] = i, -VMI_E_INVAL;
            if (nr == VMI_HC_MEM_RELEASE)
                fh->pages_released += e[1];
            else
                fh->pages_reclaimed += e[1];
        }
        done++;
    }
    rets[0] = count;
    return 0;
}

static int64_t serve(struct fake_host *fh, uint64_t nr, const uint64_t *a,
                     uint64_t *rets)
{
    uint32_t self = fh->cur_vcpu;
    uint64_t i;

    if (fh->shut_down)
        return -VMI_E_STATE;
    if (!fh->negotiated && nr != VMI_HC_NOP && nr != VMI_HC_NEGOTIATE &&
        nr != VMI_HC_CONSOLE_WRITE && nr != VMI_HC_SHUTDOWN)
        return -VMI_E_STATE;
    switch (nr) {
    case VMI_HC_NOP:
        return 0;
    case VMI_HC_NEGOTIATE: {
        uint64_t req = a[1], g;
        int changed;

        if (fh->negotiated)
            return -VMI_E_STATE;
        if (VMI_VERSION_MAJOR(a[0]) != 1)
            return -VMI_E_VERSION;
        /* Draft 2: bits 1.0 does not define are ignored (VMI-VER-029). */
        req &= VMI_F_ALL_1_0;
        if (((req & VMI_F_TIMER) && (~req & VMI_F_TIMER_REQUIRES)) ||
            ((req & VMI_F_VCPU) && (~req & VMI_F_VCPU_REQUIRES)) ||
            ((req & VMI_F_STEAL) && (~req & VMI_F_STEAL_REQUIRES)) ||
            ((req & VMI_F_PT) && (~req & VMI_F_PT_REQUIRES)))
            return -VMI_E_INVAL;
        g = req & fh->features;
        do {
            uint64_t before = g;

            if ((g & VMI_F_TIMER) && (~g & VMI_F_TIMER_REQUIRES))
                g &= ~VMI_F_TIMER;
            if ((g & VMI_F_VCPU) && (~g & VMI_F_VCPU_REQUIRES))
                g &= ~VMI_F_VCPU;
            if ((g & VMI_F_STEAL) && (~g & VMI_F_STEAL_REQUIRES))
                g &= ~VMI_F_STEAL;
            if ((g & VMI_F_PT) && (~g & VMI_F_PT_REQUIRES))
                g &= ~VMI_F_PT;
            changed = g != before;
        } while (changed);
        fh->negotiated = 1;
        fh->version = VMI_VERSION(1, 0);
        fh->granted = g;
        rets[0] = fh->version;
        rets[1] = g;
        return 0;
    }
    case VMI_HC_CONSOLE_WRITE: {
        uint64_t len = a[1], acc = len;

        if (len > fh->max_console)
            return -VMI_E_RANGE;
        if (!in_ram(fh, a[0], len))
            return -VMI_E_FAULT;
        if (fh->tokens >= 0 && (uint64_t)fh->tokens < len)
            acc = (uint64_t)fh->tokens;
        if (fh->console_len + acc <= sizeof(fh->console)) {
            memcpy(fh->console + fh->console_len, fake_host_va(fh, a[0]), acc);
            fh->console_len += acc;
        }
        rets[0] = acc;
        if (fh->tokens >= 0)
            fh->tokens -= (long)acc;
        return acc < len ? -VMI_E_AGAIN : 0;
    }
    case VMI_HC_SHUTDOWN:
        if (a[0] > VMI_SHUTDOWN_CRASH)
            return -VMI_E_INVAL;
        if (a[1] > VMI_SHUTDOWN_STATUS_MAX)
            return -VMI_E_RANGE;
        fh->shut_down = 1;
        fh->shutdown_reason = (uint32_t)a[0];
        fh->shutdown_status = (uint32_t)a[1];
        return 0;
    }
    /* Everything below needs its feature granted. */
    switch (nr) {
    case VMI_HC_CLOCK_REGISTER:
    case VMI_HC_TIME_READ:
        if (!(fh->granted & VMI_F_CLOCK))
            return -VMI_E_NOTSUP;
        break;
    case VMI_HC_STEAL_REGISTER:
        if (!(fh->granted & VMI_F_STEAL))
            return -VMI_E_NOTSUP;
        break;
    case VMI_HC_TIMER_ARM:
    case VMI_HC_TIMER_CANCEL:
        if (!(fh->granted & VMI_F_TIMER))
            return -VMI_E_NOTSUP;
        break;
    case VMI_HC_EVENT_REGISTER:
    case VMI_HC_EVENT_SEND:
    case VMI_HC_BLOCK:
        if (!(fh->granted & VMI_F_EVENTS))
            return -VMI_E_NOTSUP;
        break;
    case VMI_HC_VCPU_START:
        if (!(fh->granted & VMI_F_VCPU))
            return -VMI_E_NOTSUP;
        break;
    case VMI_HC_TLB_FLUSH:
        if (!(fh->granted & VMI_F_TLB))
            return -VMI_E_NOTSUP;
        break;
    case VMI_HC_PT_UPDATE:
    case VMI_HC_PT_PIN:
    case VMI_HC_PT_UNPIN:
        if (!(fh->granted & VMI_F_PT))
            return -VMI_E_NOTSUP;
        break;
    case VMI_HC_MEM_RELEASE:
    case VMI_HC_MEM_RECLAIM:
        if (!(fh->granted & VMI_F_MEM))
            return -VMI_E_NOTSUP;
        break;
    default:
        return -VMI_E_NOSYS;
    }
    switch (nr) {
    case VMI_HC_CLOCK_REGISTER: {
        int64_t st = reg_record(fh, a[0], 32, 32, a[1], &fh->clock_gpa[self]);

        if (st == 0 && a[0] != VMI_GPA_NONE)
            fake_host_write_record(fh, a[0]);
        return st;
    }
    case VMI_HC_TIME_READ:
        rets[0] = fake_host_clock(fh, fh->tsc);
        rets[1] = (uint64_t)fh->wall_offset;
        return 0;
    case VMI_HC_STEAL_REGISTER:
        return reg_record(fh, a[0], 64, 64, a[1], &fh->steal_gpa[self]);
    case VMI_HC_TIMER_ARM:
        if (a[4])
            return -VMI_E_INVAL;
        if (a[0] >= fh->timer_count || a[0] >= FAKE_TIMERS ||
            a[2] >= fh->vcpu_count || a[3] > 63)
            return -VMI_E_RANGE;
        if (a[1] <= fake_host_clock(fh, fh->tsc)) {
            fh->timer_armed[a[0]] = 0;
            set_pending(fh, (uint32_t)a[2], (uint32_t)a[3]);
            return 0;
        }
        fh->timer_armed[a[0]] = 1;
        fh->timer_deadline[a[0]] = a[1];
        fh->timer_vcpu[a[0]] = (uint32_t)a[2];
        fh->timer_event[a[0]] = (uint32_t)a[3];
        return 0;
    case VMI_HC_TIMER_CANCEL:
        if (a[0] >= fh->timer_count || a[0] >= FAKE_TIMERS)
            return -VMI_E_RANGE;
        rets[0] = (uint64_t)fh->timer_armed[a[0]];
        fh->timer_armed[a[0]] = 0;
        return 0;
    case VMI_HC_EVENT_REGISTER: {
        int64_t st;

        if (a[2])
            return -VMI_E_INVAL;
        if (a[0] != VMI_GPA_NONE &&
            (a[1] < VMI_X86_VECTOR_MIN || a[1] > VMI_X86_VECTOR_MAX))
            return -VMI_E_RANGE;
        st = reg_record(fh, a[0], 64, 64, 0, &fh->event_gpa[self]);
        if (st == 0 && a[0] != VMI_GPA_NONE) {
            fh->event_vector[self] = (uint32_t)a[1];
            struct vmi_event_record *r = fake_host_va(fh, a[0]);
            __atomic_fetch_or(&r->pending, fh->host_pending[self],
                              __ATOMIC_SEQ_CST);
            fh->host_pending[self] = 0;
        }
        return st;
    }
    case VMI_HC_EVENT_SEND:
        if (a[3] & ~(uint64_t)(VMI_VCPUSET_ALL | VMI_VCPUSET_EXCLUDE_SELF))
            return -VMI_E_INVAL;
        if ((a[3] & VMI_VCPUSET_ALL) && (a[0] || a[1]))
            return -VMI_E_INVAL;
        if (a[0] % 64)
            return -VMI_E_INVAL;
        if (a[2] > 63)
            return -VMI_E_RANGE;
        for (i = 0; i < FAKE_VCPUS && i < fh->vcpu_count; i++) {
            int sel =
                (a[3] & VMI_VCPUSET_ALL) || (a[0] == 0 && (a[1] >> i) & 1);

            if ((a[3] & VMI_VCPUSET_EXCLUDE_SELF) && i == self)
                sel = 0;
            if (sel)
                set_pending(fh, (uint32_t)i, (uint32_t)a[2]);
        }
        return 0;
    case VMI_HC_BLOCK: {
        uint64_t now = fake_host_clock(fh, fh->tsc);

        if (fh->event_gpa[self] == VMI_GPA_NONE && a[0] == VMI_DEADLINE_NONE)
            return -VMI_E_STATE;
        if ((a[1] & ~(uint64_t)VMI_BLOCK_ARM_TIMER) ||
            (a[1] && !(fh->granted & VMI_F_BLOCK_TIMER)))
            return -VMI_E_INVAL;
        if (a[1]) { /* VMI_BLOCK_ARM_TIMER: TIMER_ARM's effect first */
            if (a[0] == VMI_DEADLINE_NONE)
                return -VMI_E_INVAL;
            if (a[2] >= fh->timer_count || a[2] >= FAKE_TIMERS || a[3] > 63)
                return -VMI_E_RANGE;
            if (a[0] <= now) {
                fh->timer_armed[a[2]] = 0;
                set_pending(fh, self, (uint32_t)a[3]);
            } else {
                fh->timer_armed[a[2]] = 1;
                fh->timer_deadline[a[2]] = a[0];
                fh->timer_vcpu[a[2]] = self;
                fh->timer_event[a[2]] = (uint32_t)a[3];
            }
        }
        if (fh->event_gpa[self] != VMI_GPA_NONE) {
            struct vmi_event_record *r = fake_host_va(fh, fh->event_gpa[self]);
            if (r->pending & ~r->mask) {
                rets[0] = VMI_WAKE_EVENT;
                return 0;
            }
        } else if (a[0] == VMI_DEADLINE_NONE) {
            return -VMI_E_STATE;
        }
        if (a[0] == VMI_DEADLINE_NONE)
            return -VMI_E_STATE; /* would sleep forever in a fake */
        if (fh->tokens >= 0)
            fh->tokens += fh->refill_per_block;
        /* Sleep: jump the TSC to the deadline. */
        if (a[0] > now)
            fh->tsc += (a[0] - now) * 2 + 2;
        rets[0] = VMI_WAKE_DEADLINE;
        return 0;
    }
    case VMI_HC_VCPU_START: {
        const struct vmi_vcpu_start *st;

        if (a[1] % 64)
            return -VMI_E_ALIGN;
        if (!in_ram(fh, a[1], 64))
            return -VMI_E_FAULT;
        st = fake_host_va(fh, a[1]);
        if (st->flags || st->reserved0[0] || st->reserved0[1] ||
            st->reserved0[2])
            return -VMI_E_INVAL;
        if (a[0] >= fh->vcpu_count || a[0] >= FAKE_VCPUS)
            return -VMI_E_RANGE;
        if (fh->started[a[0]])
            return -VMI_E_BUSY;
        fh->started[a[0]] = 1;
        fh->start_state[a[0]] = *st;
        return 0;
    }
    case VMI_HC_TLB_FLUSH:
        if (a[4] & ~(uint64_t)(VMI_VCPUSET_ALL | VMI_VCPUSET_EXCLUDE_SELF |
                               VMI_TLB_GLOBAL))
            return -VMI_E_INVAL;
        if (a[3] == 0 && a[2] != 0)
            return -VMI_E_INVAL;
        if (a[2] % 16)
            return -VMI_E_ALIGN;
        if (!in_ram(fh, a[2], a[3] * 16))
            return -VMI_E_FAULT;
        if (a[3] > fh->max_batch)
            return -VMI_E_RANGE;
        fh->tlb_ranges_seen += (uint32_t)a[3];
        return 0;
    case VMI_HC_PT_UPDATE:
    case VMI_HC_MEM_RELEASE:
    case VMI_HC_MEM_RECLAIM:
        return batch(fh, nr, a, rets);
    case VMI_HC_PT_PIN:
        if (a[2])
            return -VMI_E_INVAL;
        if (a[1] < VMI_PT_LEVEL_MIN || a[1] > VMI_PT_LEVEL_MAX)
            return -VMI_E_RANGE;
        if (a[0] % VMI_PAGE_SIZE)
            return -VMI_E_ALIGN;
        if (!in_ram(fh, a[0], VMI_PAGE_SIZE))
            return -VMI_E_FAULT;
        if (fh->pin_bad_index >= 0) {
            rets[0] = (uint64_t)fh->pin_bad_index;
            return -VMI_E_INVAL;
        }
        for (i = 0; i < fh->npinned; i++)
            if (fh->pinned[i] == a[0])
                return -VMI_E_BUSY;
        if (fh->npinned == 16)
            return -VMI_E_LIMIT;
        fh->pinned[fh->npinned++] = a[0];
        return 0;
    case VMI_HC_PT_UNPIN:
        if (a[0] % VMI_PAGE_SIZE)
            return -VMI_E_ALIGN;
        for (i = 0; i < fh->npinned; i++)
            if (fh->pinned[i] == a[0]) {
                fh->pinned[i] = fh->pinned[--fh->npinned];
                return 0;
            }
        return -VMI_E_NOENT;
    }
    return -VMI_E_NOSYS;
}

static int64_t hypercall(void *ctx, uint64_t nr, const uint64_t *args,
                         uint64_t *rets)
{
    struct fake_host *fh = ctx;
    struct fake_call *c = NULL;
    int64_t st;

    rets[0] = rets[1] = 0;
    if (fh->ncalls < FAKE_LOG_MAX) {
        c = &fh->log[fh->ncalls];
        c->nr = nr;
        memcpy(c->args, args, sizeof(c->args));
    }
    fh->ncalls++;
    if (fh->force) {
        st = fh->force_status;
        rets[0] = fh->force_rets[0];
        rets[1] = fh->force_rets[1];
        fh->force = 0;
    } else if (nr > 0xFFFF) {
        st = -VMI_E_NOSYS;
    } else {
        st = serve(fh, nr, args, rets);
    }
    if (c) {
        c->status = st;
        c->rets[0] = rets[0];
        c->rets[1] = rets[1];
    }
    return st;
}

void fake_host_ops(struct fake_host *fh, struct vmi_guest_ops *ops)
{
    memset(ops, 0, sizeof(*ops));
    ops->ctx = fh;
    ops->virt_to_phys = virt_to_phys;
    ops->cpuid = cpuid;
    ops->rdtsc = rdtsc;
    ops->hypercall = hypercall;
}

void fake_host_guest(struct fake_host *fh, struct vmi_guest *g)
{
    struct vmi_guest_ops ops;

    fake_host_ops(fh, &ops);
    if (vmi_guest_init(g, &ops, fake_host_va(fh, CONSOLE_PAGE_GPA)) ||
        vmi_guest_probe(g) || vmi_guest_negotiate(g, VMI_F_ALL_1_0, NULL))
        abort();
}

const struct fake_call *fake_host_last(const struct fake_host *fh, uint64_t nr)
{
    unsigned i = fh->ncalls < FAKE_LOG_MAX ? fh->ncalls : FAKE_LOG_MAX;

    while (i-- > 0)
        if (fh->log[i].nr == nr)
            return &fh->log[i];
    return NULL;
}

unsigned fake_host_count(const struct fake_host *fh, uint64_t nr)
{
    unsigned i, n = 0;

    for (i = 0; i < fh->ncalls && i < FAKE_LOG_MAX; i++)
        n += fh->log[i].nr == nr;
    return n;
}
