/* SPDX-License-Identifier: MIT */
/*
 * vmi_guest.h: the OpenVMI guest library, linked by an OS kernel.
 *
 * Freestanding C: no libc, no global mutable state, no exported libc names.
 * Everything lives in caller-owned structs (struct vmi_guest per VM, struct
 * vmi_guest_vcpu per vCPU); kernel services come through struct
 * vmi_guest_ops.  Functions return 0 or a negated VMI_E_* status (the
 * hypervisor's, or one of the library's own checks, documented per call).
 *
 * Calling context: unless a function says otherwise it may be called with
 * interrupts disabled and from any vCPU; it does not sleep except
 * vmi_guest_block (which suspends the vCPU in the hypervisor) and the
 * console writes, which BLOCK briefly when the host rate-limits them.
 */
#ifndef VMI_GUEST_H
#define VMI_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <vmi/vmi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with -fvisibility=hidden; its API is exported. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/*
 * Kernel services.  virt_to_phys is required; the rest are optional.
 * cpuid/rdtsc/hypercall override the native instructions: the hosted build
 * (unit tests, the conformance simulator) sets them; a kernel leaves them
 * NULL and the library uses the instruction the hypervisor announced.
 */
struct vmi_guest_ops {
    void *ctx;
    /* Guest-physical address of kernel virtual address va. */
    uint64_t (*virt_to_phys)(void *ctx, const void *va);
    /* A log line for the kernel's log (no newline).  May be NULL. */
    void (*log)(void *ctx, const char *msg);
    /* Overrides (NULL: native instruction). */
    /* CPUID leaf with subleaf (ECX; aarch64: x1 of the information call) */
    void (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
    uint64_t (*rdtsc)(void *ctx);
    /*
     * The transport: nr, VMI_HC_MAX_ARGS args in, VMI_HC_MAX_RETS results
     * out; returns the status register.  Used when the probe finds
     * VMI_TRANSPORT_* bits it cannot use natively (hosted) or when set.
     */
    int64_t (*hypercall)(void *ctx, uint64_t nr, const uint64_t *args,
                         uint64_t *rets);
};

/* What the probe found. */
struct vmi_guest_info {
    uint32_t cpuid_base;  /* first leaf of the OpenVMI block (x86) */
    uint32_t version_max; /* host's highest version */
    uint32_t version_min; /* host's lowest version */
    uint32_t transports;  /* VMI_TRANSPORT_* */
    uint16_t port;        /* doorbell port */
    uint16_t reserved0;
    uint32_t vcpu_count;
    uint64_t features;                   /* offered */
    uint32_t profiles;                   /* VMI_PROFILE_* claimed */
    uint32_t max_batch;                  /* LIMITS.EAX */
    uint32_t timer_count;                /* LIMITS.EBX */
    uint32_t max_console;                /* LIMITS.ECX */
    uint32_t max_pinned;                 /* LIMITS.EDX */
    uint32_t timer_min_delta_ns;         /* TIMING.EAX (1000 without) */
    uint32_t timer_resolution_ns;        /* TIMING.EBX (1 ms without) */
    uint32_t clock_skew_ns;              /* TIMING.ECX (0xFFFFFFFF: unknown) */
    char vendor[VMI_VENDOR_ID_SIZE + 1]; /* NUL terminated */
};

/* Transport chosen at probe (internal, visible for tests). */
enum vmi_guest_transport {
    VMI_GUEST_T_NONE = 0,
    VMI_GUEST_T_VMCALL,
    VMI_GUEST_T_VMMCALL,
    VMI_GUEST_T_PORTIO,
    VMI_GUEST_T_HVC,
    VMI_GUEST_T_FUNCTION, /* ops->hypercall */
};

/* Per-VM library state, owned by the kernel (one instance, not global). */
struct vmi_guest {
    struct vmi_guest_ops ops;
    struct vmi_guest_info info;
    uint32_t transport; /* enum vmi_guest_transport */
    uint32_t version;   /* negotiated, 0 before */
    uint64_t features;  /* granted */
    /*
     * Largest clock value returned so far when the host does not set
     * VMI_CLOCK_TSC_STABLE (cross-vCPU monotonicity by atomic max).
     */
    uint64_t last_ns;
    /* Bounce buffer for console writes: one page given at init. */
    char *console_page;
    uint64_t console_page_gpa;
};

/* Per-vCPU library state. */
struct vmi_guest_vcpu {
    struct vmi_guest *g;
    uint32_t id;
    uint32_t vector;
    struct vmi_clock_record *clock;  /* registered record or NULL */
    struct vmi_event_record *events; /* registered record or NULL */
    struct vmi_steal_record *steal;  /* registered record or NULL */
};

/*
 * Initialise g with the kernel's ops and an optional 4 KiB console bounce
 * page (NULL: console writes need physically contiguous buffers given to
 * vmi_guest_console_write_phys).  Does not touch the hypervisor.
 */
int vmi_guest_init(struct vmi_guest *g, const struct vmi_guest_ops *ops,
                   void *console_page);

/*
 * Scan the CPUID hypervisor range (x86) or query SMCCC (aarch64) for
 * OpenVMI.  Returns 0 and fills g->info and the transport, or -VMI_E_NOSYS
 * when OpenVMI is absent (the kernel falls back to native paths), or
 * -VMI_E_VERSION when no version of the host is implemented here.
 */
int vmi_guest_probe(struct vmi_guest *g);
/*
 * The platform id of vCPU `vcpu` (CPUID leaf B+9, VMI-DSC-043): on x86-64
 * its initial x2APIC ID, on aarch64 its MPIDR affinity (Aff3 in bits
 * 31:24).  After a successful probe.  Returns 0, -VMI_E_RANGE when the
 * host has no such vCPU, -VMI_E_NOTSUP when the host predates the leaf.
 */
int vmi_guest_vcpu_platform_id(const struct vmi_guest *g, uint32_t vcpu,
                               uint32_t *id);
/*
 * The id of the vCPU that calls it (CPUID leaf B+8 EAX, VMI-DSC-040; on
 * aarch64 information function 8): the id VCPU_START, TIMER_ARM and
 * TLB_FLUSH take for it.  A kernel is not always booted on vCPU 0 (a crash
 * kernel starts on the vCPU that panicked).  After a successful probe.
 * Returns 0, or -VMI_E_NOTSUP when the host predates the leaf.
 */
int vmi_guest_vcpu_self(const struct vmi_guest *g, uint32_t *id);

/*
 * Negotiate version and features.  want is reduced to what the host offers
 * and closed under VMI_F_*_REQUIRES before the call (a feature whose
 * dependency is not offered is dropped).  On success *granted (may be
 * NULL) and g->features hold the granted mask.
 */
int vmi_guest_negotiate(struct vmi_guest *g, uint64_t want, uint64_t *granted);
/*
 * VMI_HC_QUERY: the VM's lifecycle state (VMI_LIFECYCLE_*), agreed version
 * (0 before negotiation) and granted features, for a kernel that did not
 * negotiate itself (kexec, crash kernel, resume).  On success g->version
 * and g->features take those values.  Any out pointer may be NULL.
 */
int vmi_guest_query(struct vmi_guest *g, uint32_t *lifecycle, uint32_t *version,
                    uint64_t *features);
/*
 * VMI_HC_RESET: back to the INITIAL state (every record unregistered, every
 * timer cancelled, every table unpinned, released memory given back, every
 * other vCPU stopped).  On success g->version and g->features are 0; the
 * caller's struct vmi_guest_vcpu bindings to records are stale.
 */
int vmi_guest_reset(struct vmi_guest *g);

/* Raw hypercall through the chosen transport; returns the status. */
int64_t vmi_guest_call(const struct vmi_guest *g, uint32_t nr,
                       const uint64_t args[VMI_HC_MAX_ARGS],
                       uint64_t rets[VMI_HC_MAX_RETS]);

/* Bind a vCPU struct to g (id 0 for the boot vCPU). */
void vmi_guest_vcpu_init(struct vmi_guest_vcpu *v, struct vmi_guest *g,
                         uint32_t id);

/* ---- clock ------------------------------------------------------------ */

/*
 * Register rec (32-byte aligned, kernel memory) as v's clock record; NULL
 * unregisters.  Call on vCPU v itself (the host binds the record to the
 * calling vCPU).  v->clock changes only on success.
 */
int vmi_guest_clock_register(struct vmi_guest_vcpu *v,
                             struct vmi_clock_record *rec);
/*
 * Read the VM clock in ns.  Uses v's record (version retry, stable flag);
 * falls back to TIME_READ when the record is absent or INVALID.  Monotonic
 * across vCPUs (atomic max on g->last_ns when TSC_STABLE is clear).  If
 * TIME_READ fails as well, returns the largest value returned so far.
 */
uint64_t vmi_guest_clock_now(struct vmi_guest_vcpu *v);
/*
 * Acknowledge VMI_CLOCK_GUEST_STOPPED: if v's record has the flag (the VM
 * was paused, saved or migrated; watchdogs should not fire), re-register
 * the same record, which makes the host clear it.  Returns 1 if the flag
 * was set and is now acknowledged, 0 if it was not set (or no record), or
 * a negative status.
 */
int vmi_guest_clock_ack_stopped(struct vmi_guest_vcpu *v);
/* Wall clock: ns since 1970-01-01T00:00:00Z.  0 or status. */
int vmi_guest_wallclock(struct vmi_guest_vcpu *v, int64_t *wall_ns);
/* Slow path: TIME_READ. */
int vmi_guest_time_read(const struct vmi_guest *g, uint64_t *clock_ns,
                        int64_t *wall_offset_ns);
/*
 * Scale a TSC delta: (delta shifted by shift) * mul >> 32, without
 * overflow for any 64-bit delta (128-bit intermediate).
 */
uint64_t vmi_guest_tsc_to_ns(uint64_t delta, uint32_t mul, int8_t shift);
/*
 * Lock-free read of a record without any hypercall (usable from user mode,
 * vDSO style): 0 and *ns, or -VMI_E_STATE when the record is INVALID (use
 * the slow path).  rdtsc: the TSC reader (NULL: the native instruction).
 */
int vmi_guest_clock_read_record(const struct vmi_clock_record *rec,
                                uint64_t (*rdtsc)(void *), void *ctx,
                                uint64_t *ns, uint8_t *flags);

/*
 * Steal time: register rec (64-byte aligned; NULL unregisters) on vCPU v
 * itself; read returns the steal ns (0 without a record).
 */
int vmi_guest_steal_register(struct vmi_guest_vcpu *v,
                             struct vmi_steal_record *rec);
uint64_t vmi_guest_steal_read(const struct vmi_guest_vcpu *v);

/* ---- timers and events ------------------------------------------------- */

int vmi_guest_timer_arm(const struct vmi_guest *g, uint32_t timer,
                        uint64_t deadline_ns, uint32_t vcpu, uint32_t event);
int vmi_guest_timer_cancel(const struct vmi_guest *g, uint32_t timer,
                           int *was_armed);

/*
 * Register rec (64-byte aligned) and the upcall vector for v, on vCPU v
 * itself; NULL unregisters.  v->events changes only on success, after the
 * call: make it with interrupts disabled, since the host may make an
 * upcall as the call returns (events it kept for a vCPU without a record)
 * and a handler that runs before v->events is set takes nothing, leaving
 * the bits pending with no upcall to come.  Initialise rec first
 * (VMI-EVT-019): pending zero, mask as wanted, reserved zero.
 */
int vmi_guest_event_register(struct vmi_guest_vcpu *v,
                             struct vmi_event_record *rec, uint32_t vector);
/* Atomically take (clear and return) the pending, unmasked events. */
uint64_t vmi_guest_event_take(struct vmi_guest_vcpu *v);
/* Mask events (no upcall while masked). */
void vmi_guest_event_mask(struct vmi_guest_vcpu *v, uint64_t bits);
/*
 * Unmask, then re-check: returns the events among bits that are pending
 * after the unmask (the host raises no upcall for them; the caller must
 * handle them now).
 */
uint64_t vmi_guest_event_unmask(struct vmi_guest_vcpu *v, uint64_t bits);
/* Send event to a vCPU set (IPI). */
int vmi_guest_event_send(const struct vmi_guest *g, uint32_t vcpu_base,
                         uint64_t vcpu_mask, uint32_t event, uint32_t flags);
/*
 * Block until an unmasked event is pending, an interrupt is deliverable or
 * deadline_ns (VM clock) passes; *reason is the VMI_WAKE_* the host gave,
 * which may also be VMI_WAKE_SPURIOUS or a reason this library does not
 * know: whatever it is, test the wake condition again (VMI-EVT-049).  Call
 * it with interrupts disabled, after testing the wake condition
 * (VMI-EVT-048); an upcall that came in between has left its event pending,
 * and BLOCK returns at once.
 */
int vmi_guest_block(const struct vmi_guest *g, uint64_t deadline_ns,
                    uint32_t *reason);

/*
 * vmi_guest_block that first arms timer `timer` at deadline_ns with event
 * `event` on the calling vCPU, as vmi_guest_timer_arm would
 * (VMI_BLOCK_ARM_TIMER; needs VMI_F_BLOCK_TIMER granted): idle entry in one
 * exit.  The timer stays armed whatever ends the call.
 */
int vmi_guest_block_arm(const struct vmi_guest *g, uint64_t deadline_ns,
                        uint32_t timer, uint32_t event, uint32_t *reason);

/* ---- vCPUs -------------------------------------------------------------- */

/*
 * Start vCPU `vcpu`; st must be 64-byte aligned kernel memory, flags and
 * reserved fields zero.  The host reads *st once during the call.
 */
int vmi_guest_vcpu_start(const struct vmi_guest *g, uint32_t vcpu,
                         const struct vmi_vcpu_start *st);
/*
 * Take the calling vCPU offline (VMI_HC_VCPU_STOP): its records are
 * unregistered and it runs again only at the entry state of a later
 * VCPU_START.  Returns only on failure: the status (VMI_E_BUSY when it is
 * the only running vCPU).
 */
int vmi_guest_vcpu_stop(const struct vmi_guest *g);

/* ---- TLB ---------------------------------------------------------------- */

/*
 * Flush the calling vCPU's whole TLB natively (x86: CR3 reload, aarch64:
 * TLBI VMALLE1; hosted: no-op).  Kernel mode only.
 */
void vmi_guest_tlb_flush_local(void);
/*
 * Flush a vCPU set; ranges may be NULL with count 0 (everything).  More
 * than info.max_batch ranges are sent in several calls (equivalent).  The
 * ranges array must be physically contiguous.
 */
int vmi_guest_tlb_flush(const struct vmi_guest *g, uint32_t vcpu_base,
                        uint64_t vcpu_mask, const struct vmi_tlb_range *ranges,
                        uint32_t count, uint32_t flags);

/* ---- page-table profile -------------------------------------------------- */

/* Outcome of a batch: entries [0, completed) applied. */
struct vmi_guest_pt_result {
    uint32_t completed;
    int32_t status; /* 0, or the status of entry `completed` */
    uint32_t calls; /* hypercalls made (restarts included) */
    uint32_t reserved0;
};

/* A batch of PTE updates in caller memory (16-byte aligned array). */
struct vmi_guest_pt_batch {
    const struct vmi_guest *g;
    struct vmi_pt_update *buf;
    uint32_t cap;
    uint32_t n;
    struct vmi_guest_pt_result last; /* result of the last flush */
};

void vmi_guest_pt_batch_init(struct vmi_guest_pt_batch *b,
                             const struct vmi_guest *g,
                             struct vmi_pt_update *buf, uint32_t cap);
/*
 * Queue one update; flushes first when the batch is full.  Returns 0 or
 * the status of that flush (its details in b->last); on such a failure
 * the new update is not queued.
 */
int vmi_guest_pt_queue(struct vmi_guest_pt_batch *b, uint64_t pte_gpa,
                       uint64_t value);
/*
 * Apply the queued updates, restarting after VMI_E_AGAIN; on failure
 * entries [0, res.completed) are applied, entry res.completed failed with
 * res.status, the rest were not attempted.  The batch is emptied.
 */
int vmi_guest_pt_flush(struct vmi_guest_pt_batch *b,
                       struct vmi_guest_pt_result *res);
int vmi_guest_pt_pin(const struct vmi_guest *g, uint64_t table_gpa,
                     uint32_t level, uint32_t *bad_index);
int vmi_guest_pt_unpin(const struct vmi_guest *g, uint64_t table_gpa);

/* ---- memory -------------------------------------------------------------- */

/*
 * Release (or reclaim) extents, restarting after VMI_E_AGAIN.  ext: count
 * 16-byte aligned entries in kernel memory.  *completed (may be NULL):
 * extents fully processed.
 */
int vmi_guest_mem_release(const struct vmi_guest *g,
                          const struct vmi_mem_extent *ext, uint32_t count,
                          uint32_t *completed);
int vmi_guest_mem_reclaim(const struct vmi_guest *g,
                          const struct vmi_mem_extent *ext, uint32_t count,
                          uint32_t *completed);

/* ---- console and shutdown ------------------------------------------------ */

/*
 * Write len bytes through the bounce page, in chunks of at most
 * info.max_console (and one page).  After a rate-limited VMI_E_AGAIN it
 * sleeps (BLOCK with a deadline, 1 ms doubling to 16 ms) and sends the
 * rest; it gives up with -VMI_E_AGAIN (the rest dropped) after 8 answers
 * in a row that accept nothing, or at once when CLOCK and EVENTS are not
 * granted (it cannot sleep).  -VMI_E_STATE without a bounce page.  0 or
 * status.  May sleep in BLOCK: not for contexts that must not.
 */
int vmi_guest_console_write(const struct vmi_guest *g, const char *buf,
                            size_t len);
/*
 * Write len bytes at guest-physical gpa (physically contiguous) without
 * copying, in chunks as above.  0 or status.
 */
int vmi_guest_console_write_phys(const struct vmi_guest *g, uint64_t gpa,
                                 size_t len);
/*
 * Shutdown with a VMI_SHUTDOWN_* reason and exit status (0-255); returns
 * only on error.
 */
int vmi_guest_shutdown(const struct vmi_guest *g, uint32_t reason,
                       uint32_t status);

/* Name of a status code, for logs ("VMI_E_FAULT"). */
const char *vmi_guest_status_name(int64_t status);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* VMI_GUEST_H */
