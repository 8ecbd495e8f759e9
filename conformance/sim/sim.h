/* SPDX-License-Identifier: MIT */
/*
 * sim.h: the in-process simulator backend of the conformance suite.
 *
 * guest-lib's hosted build talks to host-lib through ops->hypercall; guest
 * RAM is one host buffer; time is virtual and deterministic.
 *
 * Design:
 *  - Virtual TSC at 3 GHz.  It advances only when the simulated guest does
 *    something: each guest TSC read adds 7 cycles, each hypercall 300.
 *    host-lib's now_ns and rdtsc callbacks read the same counter, so the
 *    VM clock is a pure function of guest activity: every run gives the
 *    same results.
 *  - Timers: due timers are fired (vmi_host_timers_fire) before each
 *    hypercall is dispatched and whenever virtual time is advanced, as a
 *    VMM does on each exit.
 *  - BLOCK: the simulator jumps virtual time to the earlier of the BLOCK
 *    deadline and the next timer deadline, fires timers and re-checks,
 *    until host-lib lets the vCPU resume.  A BLOCK that could never wake
 *    (no deadline, no timer) is reported through the hang callback.
 *  - vCPUs: one thread.  Secondary vCPUs are started through host-lib's
 *    start_vcpu callback (the sim records the state); a test runs code on
 *    a started vCPU synchronously (vcpu_run switches the "current vCPU"
 *    that hypercalls are made from, runs the function, switches back).
 *    So secondary code must not BLOCK waiting for another vCPU.
 *  - Hooks a real VM cannot offer on demand: advancing time, migration
 *    (save, destroy, create, restore, with host time passing in between),
 *    an update of the clock records racing a guest read (fired from inside
 *    the guest's TSC read, between the two version reads), steal time,
 *    upcall inspection, the embedder-side view of vCPU starts, TLB
 *    flushes, released memory, the console, shutdown.
 */
#ifndef VMI_CONFORM_SIM_H
#define VMI_CONFORM_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "vmi_conform.h"

#define VMI_SIM_TSC_HZ UINT64_C(3000000000)
#define VMI_SIM_MAX_VCPUS 8u

struct vmi_sim_config {
    uint32_t vcpus;         /* default 4 */
    uint32_t timer_count;   /* default 64 */
    uint64_t ram_bytes;     /* default 8 MiB */
    uint32_t work_per_call; /* 0: host-lib default */
    uint32_t strict;
    uint64_t features;  /* offered; 0: every 1.0 feature */
    const char *vendor; /* identity string, or NULL */
    /* Called when a BLOCK can never wake; must not return (default exits). */
    void (*on_hang)(void *ctx, const char *why);
    void *hang_ctx;
    /* Emit for result lines (required). */
    void (*emit)(void *ctx, const char *line, size_t len);
    void *emit_ctx;
};

struct vmi_sim;

/*
 * Create a simulated VM (host-lib VM, RAM, guest-lib instance probed but
 * not negotiated).  0, or -1 with a message in why.
 */
int vmi_sim_create(const struct vmi_sim_config *cfg, struct vmi_sim **out,
                   char *why, size_t why_len);
void vmi_sim_destroy(struct vmi_sim *s);

const struct vmi_conform_backend *vmi_sim_backend(struct vmi_sim *s);
struct vmi_guest *vmi_sim_guest(struct vmi_sim *s);
/* Scratch area handed to tests (guest RAM). */
void *vmi_sim_scratch(struct vmi_sim *s, uint64_t *gpa, uint32_t *len);
/* Violations reported by host-lib in strict mode, and the last clause. */
uint64_t vmi_sim_violations(struct vmi_sim *s, const char **last_clause);

/*
 * Run one test in a fresh simulated VM, writing BEGIN, RESULT and END
 * lines through cfg->emit.  The VM config follows the test's flags.
 * Returns 0, or -1 when the VM could not be created.
 */
int vmi_sim_run_test(const struct vmi_sim_config *base,
                     const struct vmi_conform_test *test);

/*
 * Run tests in ONE simulated VM, in the image's order (the PRENEG tests,
 * the negotiating test, the rest), as the guest image does on a real
 * hypervisor: state left by one test is seen by the next.  Only tests
 * whose name contains `filter` (NULL: all).  Returns 0 or -1.
 */
int vmi_sim_run_shared(const struct vmi_sim_config *cfg, const char *filter);

#endif /* VMI_CONFORM_SIM_H */
