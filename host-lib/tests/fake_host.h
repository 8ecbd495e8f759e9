/* SPDX-License-Identifier: MIT */
/* fake_host.h: a fake embedder for host-lib tests (an ops table). */
#ifndef VMI_FAKE_HOST_H
#define VMI_FAKE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "vmi_host.h"

#define FAKE_RAM_BYTES (4u << 20)
#define FAKE_MAX_RANGES 256

struct fake_host {
    uint8_t *ram;
    uint64_t ram_bytes;
    uint64_t now_ns; /* host monotonic time */
    uint64_t tsc;    /* guest TSC, 1 GHz: advances with now_ns */
    /* Records of callbacks. */
    uint32_t kicks[VMI_HOST_MAX_VCPUS];
    uint32_t kick_total;
    char console[1 << 16];
    size_t console_len;
    uint32_t console_calls;
    uint32_t release_calls, reclaim_calls;
    uint64_t last_release_gpa, last_release_len;
    uint64_t last_reclaim_gpa, last_reclaim_len;
    uint32_t start_calls;
    uint32_t start_caller, start_vcpu;
    struct vmi_vcpu_start start_state;
    uint32_t flush_calls;
    uint64_t flush_vcpus[VMI_HOST_MAX_VCPUS / 64];
    uint32_t flush_count, flush_flags;
    struct vmi_tlb_range flush_ranges[FAKE_MAX_RANGES];
    uint32_t violations;
    char last_clause[32];
    uint32_t timers_changed;
    uint32_t stop_calls;
    uint64_t stopped[VMI_HOST_MAX_VCPUS / 64]; /* vCPUs stop_vcpu named */
    /* The dirty log: dirty[p] set when ops->dirty named page p. */
    uint8_t dirty[FAKE_RAM_BYTES / 4096];
    uint32_t dirty_calls;
    /*
     * Called by the start_vcpu callback before it returns (host-lib's lock
     * is not held): a test can run the new vCPU from another thread there.
     */
    void (*on_start)(struct fake_host *f, uint32_t vcpu);
    void *on_start_vm; /* for on_start's use */
    /* Failure injection for the callbacks. */
    int fail_release, fail_reclaim, fail_start;
};

extern const struct vmi_host_ops fake_ops;

void fake_init(struct fake_host *f);
void fake_fini(struct fake_host *f);
/* A config offering every feature, strict, 4 vCPUs, 64 timers. */
void fake_config(struct fake_host *f, struct vmi_host_config *cfg);
struct vmi_host_vm *fake_vm(struct fake_host *f,
                            const struct vmi_host_config *cfg);
/* Create with fake_config() and negotiate every feature. */
struct vmi_host_vm *fake_vm_ready(struct fake_host *f);
void fake_advance(struct fake_host *f, uint64_t ns);

/* Make one call; returns the status, rets in *call if given. */
int64_t fake_call(struct vmi_host_vm *vm, uint32_t vcpu, uint64_t nr,
                  uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                  uint64_t a4, struct vmi_host_call *call);
int64_t fake_user_call(struct vmi_host_vm *vm, uint32_t vcpu, uint64_t nr,
                       uint64_t a0, uint64_t a1);
/* Saved state of the VM, malloc'd. */
uint8_t *fake_save(struct vmi_host_vm *vm, size_t *len);
/*
 * Make the call and assert it returns `status` and changes neither the
 * saved state nor guest RAM.
 */
void fake_expect_reject(struct fake_host *f, struct vmi_host_vm *vm,
                        uint32_t vcpu, uint64_t nr, uint64_t a0, uint64_t a1,
                        uint64_t a2, uint64_t a3, uint64_t a4, int64_t status);
/* Pointer into guest RAM. */
void *fake_gpa(struct fake_host *f, uint64_t gpa);

/* cmocka fixtures: state is a struct fake_fx. */
struct fake_fx {
    struct fake_host f;
    struct vmi_host_vm *vm;
};
int fake_setup(void **state);       /* VM created, not negotiated */
int fake_setup_ready(void **state); /* every feature negotiated */
int fake_teardown(void **state);

/* Every hypercall with its attributes, from the registry's X-macro. */
struct fake_hc {
    const char *name;
    uint64_t nr;
    uint32_t priv;
    uint32_t before_negotiate;
    uint64_t feature;
};
extern const struct fake_hc fake_hcs[];
extern const unsigned fake_hc_count;

#endif
