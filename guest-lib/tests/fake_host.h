/* SPDX-License-Identifier: MIT */
/*
 * fake_host.h: an in-process fake OpenVMI host for guest-lib unit tests: a
 * struct vmi_guest_ops whose cpuid, rdtsc and hypercall answer from a fake
 * RAM and a scripted configuration.  Not host-lib: just enough of the
 * semantics to check what the guest library sends and how it reacts.
 */
#ifndef FAKE_HOST_H
#define FAKE_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "vmi_guest.h"

#define FAKE_RAM_SIZE (1u << 20)
#define FAKE_LOG_MAX 4096u
#define FAKE_VCPUS 8u
#define FAKE_TIMERS 64u

struct fake_call {
    uint64_t nr;
    uint64_t args[VMI_HC_MAX_ARGS];
    int64_t status;
    uint64_t rets[VMI_HC_MAX_RETS];
};

struct fake_host {
    /* Guest RAM: gpa = offset into ram.  Page aligned. */
    uint8_t *ram;
    size_t ram_size;

    /* ---- CPUID ---- */
    int hv_bit;               /* CPUID.1:ECX[31] */
    char cpu_vendor[13];      /* CPUID.0 */
    uint32_t base;            /* 0: no OpenVMI block */
    uint32_t sig_max_leaf;    /* 0: base + 6 */
    uint32_t self_vcpu;       /* leaf B+8 EAX: the calling vCPU's id */
    int other_hv_at_40000000; /* another hypervisor's leaves at 0x40000000 */
    uint32_t version_max, version_min, transports;
    uint16_t port;
    uint64_t features;
    uint32_t vcpu_count, profiles;
    uint32_t max_batch, timer_count, max_console, max_pinned;
    char vendor[VMI_VENDOR_ID_SIZE];
    unsigned cpuid_calls;

    /* ---- clock ---- */
    uint64_t tsc;              /* what rdtsc returns */
    uint64_t tsc_step;         /* added after each rdtsc */
    uint64_t rec_tsc, rec_sys; /* record parameters */
    uint32_t rec_mul;
    int8_t rec_shift;
    uint8_t rec_flags;
    int64_t wall_offset;
    uint64_t clock_gpa[FAKE_VCPUS]; /* VMI_GPA_NONE: unregistered */
    uint64_t steal_gpa[FAKE_VCPUS];

    /* ---- lifecycle ---- */
    int negotiated;
    uint32_t version;
    uint64_t granted;
    int shut_down;
    uint32_t shutdown_reason, shutdown_status;

    /* ---- events / timers ---- */
    uint32_t cur_vcpu; /* the calling vCPU */
    uint64_t event_gpa[FAKE_VCPUS];
    uint32_t event_vector[FAKE_VCPUS];
    uint64_t host_pending[FAKE_VCPUS];
    int timer_armed[FAKE_TIMERS];
    uint64_t timer_deadline[FAKE_TIMERS];
    uint32_t timer_vcpu[FAKE_TIMERS], timer_event[FAKE_TIMERS];
    int started[FAKE_VCPUS];
    struct vmi_vcpu_start start_state[FAKE_VCPUS];

    /* ---- console ---- */
    char console[65536];
    size_t console_len;
    long tokens;           /* < 0: unlimited */
    long refill_per_block; /* tokens added by each BLOCK */

    /* ---- batches (PT_UPDATE, MEM_*) ---- */
    uint32_t work_per_call; /* 0: unlimited */
    long fail_entry_gpa;    /* < 0: none; else the entry at this gpa fails */
    int64_t fail_status;
    long pin_bad_index; /* PT_PIN: < 0 all good */
    uint64_t pinned[16];
    unsigned npinned;
    uint64_t pages_released;
    uint64_t pages_reclaimed;
    uint32_t tlb_ranges_seen;

    /* ---- scripting ---- */
    int force; /* next call returns force_status/rets */
    int64_t force_status;
    uint64_t force_rets[VMI_HC_MAX_RETS];

    struct fake_call log[FAKE_LOG_MAX];
    unsigned ncalls;
};

/* A host offering everything of 1.0 at base 0x40000100, port 0x520. */
void fake_host_init(struct fake_host *fh);
void fake_host_fini(struct fake_host *fh);
/* ops whose ctx is fh. */
void fake_host_ops(struct fake_host *fh, struct vmi_guest_ops *ops);
/* Address of gpa in the fake RAM. */
void *fake_host_va(struct fake_host *fh, uint64_t gpa);
/* The clock the fake host's records describe, at tsc. */
uint64_t fake_host_clock(const struct fake_host *fh, uint64_t tsc);
/* Write the record at gpa from the host's parameters, seqlock order. */
void fake_host_write_record(struct fake_host *fh, uint64_t gpa);
/* init + ops + vmi_guest_init + probe + negotiate(all): a ready guest. */
void fake_host_guest(struct fake_host *fh, struct vmi_guest *g);
/* The last logged call with number nr, or NULL. */
const struct fake_call *fake_host_last(const struct fake_host *fh, uint64_t nr);
unsigned fake_host_count(const struct fake_host *fh, uint64_t nr);

#endif /* FAKE_HOST_H */
