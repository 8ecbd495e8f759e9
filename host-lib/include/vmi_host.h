/* SPDX-License-Identifier: MIT */
/*
 * vmi_host.h: the OpenVMI host library, embedded by a hypervisor.
 *
 * host-lib is pure: it has no threads, does no I/O, never exits or aborts on
 * guest input, and knows nothing of KVM.  The embedder owns the vCPUs and the
 * guest memory and hands host-lib a table of callbacks (struct
 * vmi_host_ops).  Every value that comes from the guest is hostile: host-lib
 * reads guest memory only through one copy-in accessor, each field once, and
 * answers every malformed call with the specification's status, leaving the
 * VM state untouched.
 *
 * Threading: one thread per vCPU may call the per-vCPU entry points
 * (vmi_host_hypercall, vmi_host_block_check, vmi_host_take_upcall, ...) for
 * its own vCPU at the same time as the other vCPU threads; VM-wide entry
 * points (timers, save, restore) may be called from any thread.  host-lib
 * serialises internally with one mutex per VM (and a second one that
 * serialises MEM_RELEASE / MEM_RECLAIM).  Callbacks may be invoked from any
 * of those threads and must not call back into host-lib for the same VM.
 * Locks held during callbacks, precisely:
 *   - map, now_ns, rdtsc: called with the VM mutex held;
 *   - release, reclaim: called with the memory mutex held, not the VM mutex;
 *   - kick, console, start_vcpu, flush_tlb, violation, timers_changed:
 *     called with no host-lib lock held.
 * host-lib allocates memory only in vmi_host_vm_create and
 * vmi_host_restore (temporaries); the hypercall path never allocates.
 *
 * Status convention: functions return 0 or a negated VMI_E_* code; the
 * embedder-facing errors reuse the ABI status space (VMI_E_INVAL for a bad
 * argument from the embedder, VMI_E_LIMIT for an allocation failure).
 */
#ifndef VMI_HOST_H
#define VMI_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <vmi/vmi.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VMI_HOST_BUILD) && defined(__GNUC__)
#define VMI_HOST_API __attribute__((visibility("default")))
#else
#define VMI_HOST_API
#endif

struct vmi_host_vm;

/*
 * Callbacks from host-lib into the embedder.  ctx is vmi_host_config.ctx.
 * Required: map, now_ns, rdtsc, kick, and those the offered features need
 * (see release).  console, violation and timers_changed may be NULL.
 */
struct vmi_host_ops {
    /*
     * Translate guest-physical [gpa, gpa + len) into host memory.  Returns
     * NULL unless the whole range is guest RAM (host-lib answers
     * VMI_E_FAULT).  The mapping must stay valid for the life of the VM.
     * host-lib has already checked that gpa + len does not wrap.
     */
    void *(*map)(void *ctx, uint64_t gpa, uint64_t len);
    /* Host monotonic time in nanoseconds. */
    uint64_t (*now_ns)(void *ctx);
    /* The guest's TSC (or counter) as the guest would read it now. */
    uint64_t (*rdtsc)(void *ctx);
    /*
     * vCPU `vcpu` has something to do: an upcall to take (call
     * vmi_host_take_upcall) or a BLOCK to re-check (vmi_host_block_check).
     * Called with no host-lib lock held; may be called for the calling vCPU
     * and for a vCPU that has not been started yet (the upcall is then
     * taken once it runs).
     */
    void (*kick)(void *ctx, uint32_t vcpu);
    /* Console bytes from `vcpu` (already rate limited).  May be NULL. */
    void (*console)(void *ctx, uint32_t vcpu, const char *buf, size_t len);
    /*
     * Give the backing memory of [gpa, gpa + len) back to the host (page
     * aligned, inside RAM).  Afterwards the range reads as zero or as it
     * was, never as other data (VMI-MEM-014), and before the memory is
     * reused every mapping the VM could use is gone: stage 2, IOMMU
     * (VMI-MEM-015); MADV_DONTNEED on the mapping KVM uses does both, and an
     * embedder with an assigned device refuses (-1) or unmaps first.
     * host-lib never asks for a range holding a registered record or a
     * pinned table (VMI-MEM-017).  Returns 0, or -1 (the call then answers
     * VMI_E_LIMIT).  release and reclaim are required when the config
     * offers VMI_F_MEM, start_vcpu for VMI_F_VCPU, flush_tlb for VMI_F_TLB:
     * vmi_host_vm_create rejects the config otherwise.
     */
    int (*release)(void *ctx, uint64_t gpa, uint64_t len);
    /* Repopulate released memory; it must read as zero.  0 or -1. */
    int (*reclaim)(void *ctx, uint64_t gpa, uint64_t len);
    /*
     * Start vCPU `vcpu` at `state` (validated, copied).  `caller` made the
     * call; on x86 the new vCPU takes its control and segment state from the
     * caller (see the spec).  Returns 0 or -1 (VMI_E_LIMIT).
     */
    int (*start_vcpu)(void *ctx, uint32_t caller, uint32_t vcpu,
                      const struct vmi_vcpu_start *state);
    /*
     * Flush guest translations on every vCPU whose bit is set in `vcpus`
     * (bit n of vcpus[n / 64]), before returning: in every address space of
     * the vCPU (every PCID or ASID) and its paging-structure caches
     * (VMI-TLB-021).  count == 0 means all translations; otherwise `ranges`
     * holds count validated ranges.  flags carries VMI_TLB_GLOBAL.  It
     * cannot fail (VMI-TLB-022): an embedder that cannot flush a vCPU must
     * not let it run guest code again (stop the VM).  A target's flush may
     * be deferred only while it is descheduled between instructions with no
     * guest-virtual translation held for it (VMI-TLB-020).
     */
    void (*flush_tlb)(void *ctx, uint32_t caller, const uint64_t *vcpus,
                      const struct vmi_tlb_range *ranges, uint32_t count,
                      uint32_t flags);
    /*
     * Strict mode: the guest on `vcpu` violated clause `clause` (for example
     * "VMI-CALL-004"); `what` says how.  May be NULL.
     */
    void (*violation)(void *ctx, uint32_t vcpu, const char *clause,
                      const char *what);
    /*
     * The earliest timer deadline may have moved earlier: re-read
     * vmi_host_next_deadline().  May be NULL (the embedder polls).
     */
    void (*timers_changed)(void *ctx);
    /*
     * VMI_HC_RESET from `caller`, or its first successful
     * VMI_HC_NEGOTIATE (which ends the starts firmware made with INIT and
     * SIPI, VMI-CPU-029): stop vCPU `vcpu` before returning; it must not
     * run guest code again until start_vcpu starts it (or the platform's
     * INIT/SIPI does: vmi_host_vcpu_platform).  Called with no
     * host-lib lock held.  May be NULL only for an embedder that cannot
     * stop vCPUs: host-lib then answers VMI_HC_RESET and VMI_HC_VCPU_STOP
     * with VMI_E_NOSYS (it does not conform), and never returns
     * VMI_HOST_STOP.
     */
    void (*stop_vcpu)(void *ctx, uint32_t caller, uint32_t vcpu);
    /*
     * host-lib writes (or may write) guest RAM [gpa, gpa + len): a result
     * copied out, a shared record (clock, steal, event) or a pinned page
     * table entry.  For an embedder that migrates a running VM: mark the
     * pages dirty in its log so that they are sent again.  Called inside
     * the host-lib call that writes, before the call returns (for a shared
     * record, when host-lib maps it, before the write): the embedder must
     * not take its last look at the dirty log while a host-lib call is in
     * progress (the VM paused; see the embedder chapter's migration
     * handshake).  May be NULL.
     */
    void (*dirty)(void *ctx, uint64_t gpa, uint64_t len);
};

/* Per-VM configuration, copied by vmi_host_vm_create. */
struct vmi_host_config {
    const struct vmi_host_ops *ops;
    void *ctx;
    uint32_t vcpu_count;  /* 1 .. VMI_HOST_MAX_VCPUS */
    uint32_t timer_count; /* timer ids per VM, 1 .. VMI_HOST_MAX_TIMERS */
    uint64_t ram_bytes;   /* guest RAM size, for the saved state */
    uint64_t tsc_hz;      /* frequency of ops->rdtsc */
    uint64_t features;    /* features offered (subset of VMI_F_ALL_1_0) */
    uint32_t transports;  /* VMI_TRANSPORT_* served */
    uint16_t port;        /* doorbell port for VMI_TRANSPORT_PORTIO, not 0;
                           * the embedder picks one no device decodes */
    uint16_t reserved0;
    uint32_t tsc_stable;    /* 1: all vCPUs read one synchronised TSC */
    uint32_t strict;        /* 1: report guest violations to ops->violation */
    uint32_t max_batch;     /* entries per batched call (0: default 65536) */
    uint32_t work_per_call; /* entries processed before E_AGAIN (0: 64) */
    /* Pinned tables: 0 for max(4096, RAM / 2 MiB); at least max(64, RAM /
     * 2 MiB) with VMI_F_PT (VMI-DSC-042), or vmi_host_vm_create refuses. */
    uint32_t max_pinned;
    uint32_t max_released_extents; /* released-extent records (0: 65536) */
    uint32_t console_rate;         /* console bytes per second (0: 65536) */
    uint32_t console_burst;        /* console bucket size in bytes (0: 16384) */
    const char *vendor;            /* identity string, up to 48 bytes */
    /*
     * aarch64 (VMI_TRANSPORT_HVC): bit n set when the platform uses PPI
     * INTID 16 + n for a device; EVENT_REGISTER refuses it (VMI_E_RANGE),
     * as it always refuses INTIDs 19-30, the Arm BSA's architected PPIs.
     */
    uint32_t platform_ppis;
    /*
     * Timing announced in CPUID leaf B+7 (VMI-DSC-031, VMI-DSC-032), in
     * nanoseconds.  0 picks the default: minimum timer delta 10 us, timer
     * resolution 1 ms, clock skew 0 with tsc_stable and 1 ms without.
     */
    uint32_t timer_min_delta_ns;
    uint32_t timer_resolution_ns;
    uint32_t clock_skew_ns;
    /*
     * Each vCPU's platform id, announced in CPUID leaf B+9 (VMI-DSC-043):
     * x86-64, its initial x2APIC ID; aarch64, its MPIDR affinity with Aff3
     * in bits 31:24.  vcpu_count entries, copied at creation; NULL: vCPU n
     * has platform id n.
     */
    const uint32_t *platform_ids;
};

#define VMI_HOST_MAX_VCPUS 1024u
#define VMI_HOST_MAX_TIMERS 65536u

/* What the embedder does after vmi_host_hypercall. */
enum vmi_host_action {
    VMI_HOST_RESUME = 0,   /* write status and results, resume the vCPU */
    VMI_HOST_BLOCK = 1,    /* sleep until kick or deadline (see below) */
    VMI_HOST_SHUTDOWN = 2, /* the VM ended: see vmi_host_shutdown_info */
    VMI_HOST_STOP = 3,     /* VCPU_STOP: the calling vCPU stopped; run it
                            * again only when start_vcpu starts it */
};

/*
 * One hypercall as the embedder decoded it from the vCPU's registers.
 * In: nr, args, user (1 if made from CPL3 / EL0).  Out: status, rets,
 * action, deadline_ns.
 */
struct vmi_host_call {
    uint64_t nr;
    uint64_t args[VMI_HC_MAX_ARGS];
    uint32_t user;
    uint32_t action; /* enum vmi_host_action */
    int64_t status;  /* 0 or -VMI_E_* for the status register */
    uint64_t rets[VMI_HC_MAX_RETS];
    uint64_t deadline_ns; /* VMI_HOST_BLOCK: VM-clock deadline or NONE */
    /*
     * Set by the embedder: 1 when the caller's interrupts were enabled at
     * the call (x86 RFLAGS.IF set, aarch64 PSTATE.I clear), 0 when they
     * were disabled or the embedder cannot tell.  Strict mode reports a
     * BLOCK made with interrupts enabled (VMI-EVT-048).
     */
    uint32_t irq_enabled;
    uint32_t reserved0;
};

/*
 * Create a VM's paravirtual state.  Returns 0 and *out, or -VMI_E_INVAL
 * (bad config: the message in `why`, which may be NULL) or -VMI_E_LIMIT.
 */
VMI_HOST_API int vmi_host_vm_create(const struct vmi_host_config *cfg,
                                    struct vmi_host_vm **out, char *why,
                                    size_t why_len);
/* Free everything; no callback is made.  NULL is allowed. */
VMI_HOST_API void vmi_host_vm_destroy(struct vmi_host_vm *vm);

/*
 * CPUID: if `leaf` is an OpenVMI leaf (the block at `base`), fill regs
 * (EAX, EBX, ECX, EDX) and return 1; else return 0 and leave regs alone so
 * the embedder answers with its own.  base is the block's first leaf, a
 * multiple of 0x100 in the scan range, chosen by the embedder so it does
 * not collide with its own leaves (vmi_host_cpuid_base() by default).
 */
VMI_HOST_API int vmi_host_cpuid(struct vmi_host_vm *vm, uint32_t vcpu,
                                uint32_t base, uint32_t leaf, uint32_t regs[4]);
/*
 * The same with the subleaf (ECX on x86-64; x1 of an aarch64 information
 * call): leaf B+9 answers for the vCPU id in it.  vmi_host_cpuid() passes
 * subleaf 0.
 */
VMI_HOST_API int vmi_host_cpuid_sub(struct vmi_host_vm *vm, uint32_t vcpu,
                                    uint32_t base, uint32_t leaf,
                                    uint32_t subleaf, uint32_t regs[4]);
VMI_HOST_API uint32_t vmi_host_cpuid_base(void); /* 0x40000100 */

/*
 * aarch64 (VMI_TRANSPORT_HVC): an SMCCC call the guest made with HVC #0,
 * x[0] to x[5] as the calling vCPU holds them.  Only W0 (bits 31:0 of x0)
 * names the function (VMI-CALL-036).  Returns
 *  VMI_HOST_SMCCC_OTHER: not an OpenVMI function; the embedder answers it
 *   (PSCI, its own services, or SMCCC's NOT_SUPPORTED, -1, in x0);
 *  VMI_HOST_SMCCC_ANSWER: discovery (Call UID 0x8600FF01, VMI-DSC-033;
 *   information function 0x8600FE00 + n, VMI-DSC-035, answered from the
 *   CPUID block at vmi_host_cpuid_base() with x1 as the subleaf): write
 *   out[0..3] to x0..x3, touch no other register;
 *  VMI_HOST_SMCCC_CALL: OpenVMI call 0xC6000000 | n: *call holds nr and
 *   args (x1..x5), the rest zero; the embedder sets user (EL0) and
 *   irq_enabled (PSTATE.I clear) and makes it with vmi_host_hypercall,
 *   then writes status to x0 and rets to x1 and x2 (VMI-CALL-006).
 * Nothing of this changes the VM's state; a NULL argument or a VM that does
 * not serve VMI_TRANSPORT_HVC gives VMI_HOST_SMCCC_OTHER.
 */
enum vmi_host_smccc_kind {
    VMI_HOST_SMCCC_OTHER = 0,
    VMI_HOST_SMCCC_ANSWER = 1,
    VMI_HOST_SMCCC_CALL = 2,
};
VMI_HOST_API int vmi_host_smccc(struct vmi_host_vm *vm, uint32_t vcpu,
                                const uint64_t x[6], uint64_t out[4],
                                struct vmi_host_call *call);

/*
 * Dispatch one hypercall from `vcpu`.  Fills call->status, rets, action.
 * Returns 0, or -VMI_E_INVAL when the embedder passed a bad vcpu / NULL
 * (guest input never makes this fail).
 *
 * VMI_HOST_BLOCK: the vCPU must not run until vmi_host_block_check()
 * returns 1; call it after every kick for this vCPU and when the VM clock
 * reaches call->deadline_ns (VMI_DEADLINE_NONE: no deadline).
 */
VMI_HOST_API int vmi_host_hypercall(struct vmi_host_vm *vm, uint32_t vcpu,
                                    struct vmi_host_call *call);
/*
 * Returns 1 and completes call (status, rets[0] = VMI_WAKE_*, action
 * RESUME) when the blocked vCPU may resume; 0 to keep waiting (also when the
 * vCPU is not blocked).  -VMI_E_INVAL for a bad vm, vcpu or NULL call.
 */
VMI_HOST_API int vmi_host_block_check(struct vmi_host_vm *vm, uint32_t vcpu,
                                      struct vmi_host_call *call);
/*
 * End the BLOCK of `vcpu` for a reason only the embedder sees:
 * VMI_WAKE_INTERRUPT when an interrupt other than the upcall became
 * deliverable to it (as if its interrupts were enabled: an MSI, a LAPIC
 * timer, an NMI; VMI-EVT-043), or VMI_WAKE_SPURIOUS when the embedder must
 * give the vCPU back for a reason of its own (VMI-EVT-045).  Returns 1 and
 * completes call as vmi_host_block_check does, with the first true reason
 * in the order VMI-EVT-044 gives (a pending unmasked event wins, and a
 * reached deadline beats SPURIOUS); 0 when the vCPU is not blocked;
 * -VMI_E_INVAL for a bad vm, vcpu, call or reason.
 */
VMI_HOST_API int vmi_host_block_end(struct vmi_host_vm *vm, uint32_t vcpu,
                                    uint32_t reason,
                                    struct vmi_host_call *call);
/*
 * An architectural reset of the whole VM (triple fault turned into a
 * reset, port 0xCF9, ACPI, a watchdog): the effects of VMI_HC_RESET
 * (VMI-VER-042) with vCPU 0 the one running afterwards; the embedder resets
 * the vCPUs themselves.  No callback but reclaim and timers_changed.
 * Returns 0, or -VMI_E_LIMIT when ops->reclaim failed (the rest is reset).
 */
VMI_HOST_API int vmi_host_reset(struct vmi_host_vm *vm);
/*
 * The platform's own mechanism started (started = 1: SIPI, PSCI CPU_ON) or
 * stopped (started = 0: INIT) vCPU `vcpu` (VMI-CPU-018..020): host-lib
 * counts it as started, or forgets its records as VMI_HC_VCPU_STOP does.
 * 0, or -VMI_E_INVAL for a bad vm or vcpu.
 */
VMI_HOST_API int vmi_host_vcpu_platform(struct vmi_host_vm *vm, uint32_t vcpu,
                                        int started);
/*
 * Restart the BLOCK of `vcpu` (VMI-EVT-047), to deliver an NMI or to pause
 * or save the VM: host-lib forgets the suspension, and the embedder resumes
 * the vCPU at the calling instruction with the call's registers unchanged,
 * so that it issues the call again.  Returns 1 when the vCPU was blocked,
 * 0 when it was not (nothing to do), -VMI_E_INVAL for a bad vm or vcpu.
 */
VMI_HOST_API int vmi_host_block_restart(struct vmi_host_vm *vm, uint32_t vcpu);

/*
 * Returns 1 and the vector when an upcall is due on `vcpu` (an event went
 * pending while unmasked since the last upcall taken); the embedder injects
 * the interrupt.  0 when none is due.
 */
VMI_HOST_API int vmi_host_take_upcall(struct vmi_host_vm *vm, uint32_t vcpu,
                                      uint32_t *vector);

/* The VM clock now, in ns (the time base of records, timers, BLOCK). */
VMI_HOST_API uint64_t vmi_host_clock_now(struct vmi_host_vm *vm);
/*
 * Earliest armed timer deadline (VM clock), or the time a clock record must
 * be rewritten if that is earlier (records stay valid for years; see
 * VMI-CLK-042), or VMI_DEADLINE_NONE.
 */
VMI_HOST_API uint64_t vmi_host_next_deadline(struct vmi_host_vm *vm);
/*
 * Fire at most `budget` due timers (bounded work: a timer storm cannot
 * starve the host); returns how many fired.  Kicks affected vCPUs, and the
 * vCPUs whose clock record is due for a rewrite: host-lib rewrites a
 * record only on its vCPU's own thread (vmi_host_hypercall,
 * vmi_host_take_upcall, vmi_host_block_check), never while it runs guest
 * code, so the embedder calls one of those after every kick.
 */
VMI_HOST_API unsigned vmi_host_timers_fire(struct vmi_host_vm *vm,
                                           unsigned budget);

/*
 * Rewrite every vCPU's clock record (after a TSC change; on resume after a
 * stop, with flags VMI_CLOCK_GUEST_STOPPED, which then stays set in each
 * record until the guest clears it there or registers again).  Call it only
 * while no vCPU of the VM executes guest code (the VM paused): the guest
 * may clear GUEST_STOPPED with a plain read-modify-write (VMI-CLK-039).
 */
VMI_HOST_API void vmi_host_clock_update(struct vmi_host_vm *vm, uint8_t flags);
/*
 * Set the wall-clock offset TIME_READ reports: wall-clock ns since the Unix
 * epoch = VM clock + wall_offset_ns.  host-lib does no I/O, so it cannot
 * read the wall clock itself; the default is 0.  Saved and restored.
 */
VMI_HOST_API void vmi_host_set_wall_offset(struct vmi_host_vm *vm,
                                           int64_t wall_offset_ns);
/* Account `ns` of steal time to `vcpu` and update its record. */
VMI_HOST_API void vmi_host_steal_account(struct vmi_host_vm *vm, uint32_t vcpu,
                                         uint64_t ns);

/* After VMI_HOST_SHUTDOWN: the guest's reason and exit status. */
VMI_HOST_API int vmi_host_shutdown_info(struct vmi_host_vm *vm,
                                        uint32_t *reason, uint32_t *status);

/* Statistics for embedders, benchmarks and tests. */
struct vmi_host_stats {
    uint64_t hypercalls;
    uint64_t violations;
    uint64_t released_pages;
    uint64_t armed_timers;
    uint64_t pinned_tables;
    uint64_t console_dropped;
};
VMI_HOST_API void vmi_host_get_stats(struct vmi_host_vm *vm,
                                     struct vmi_host_stats *st);

/*
 * Save all paravirtual state in the specification's format (struct
 * vmi_save_header and sections, little-endian, CRC-32C), in its newest
 * format version (VMI_SAVE_FORMAT_VERSION).  With buf NULL only *len is set
 * to the size needed.  Returns 0, -VMI_E_LIMIT (cap too small).  The VM
 * should be paused (no vCPU inside host-lib).
 */
VMI_HOST_API int vmi_host_save(struct vmi_host_vm *vm, void *buf, size_t cap,
                               size_t *len);
/*
 * vmi_host_save in format version `format`, 1 to VMI_SAVE_FORMAT_VERSION:
 * for a destination that restores only an older one (VMI-SAV-046).  Every
 * state can be written in format 1, which lacks only the CONFIG section.
 * Returns as vmi_host_save, or -VMI_E_VERSION for another `format`.
 */
VMI_HOST_API int vmi_host_save_format(struct vmi_host_vm *vm, uint32_t format,
                                      void *buf, size_t cap, size_t *len);
/*
 * Replace the state of a freshly created VM (same vcpu_count, timer_count,
 * ram_bytes) with a saved blob of any format version from 1 to
 * VMI_SAVE_FORMAT_VERSION.  Restore the guest RAM first: records are
 * rewritten into it.  A format 2 blob's CONFIG section must match this VM's
 * discovery leaves (features, vCPU count, limits, timing); optional
 * sections are skipped.  Pending upcalls are not part of the format: one is
 * made due on every vCPU whose record has an unmasked event pending.  Rejects
 * malformed, corrupt or mismatched input with -VMI_E_INVAL (or -VMI_E_VERSION
 * for an unknown format version) and a message in `why`, leaving the VM
 * untouched.  On success the clock continues from the saved value and every
 * record carries VMI_CLOCK_GUEST_STOPPED.
 */
VMI_HOST_API int vmi_host_restore(struct vmi_host_vm *vm, const void *buf,
                                  size_t len, char *why, size_t why_len);

/* Name of a status code ("VMI_E_FAULT"), for messages. */
VMI_HOST_API const char *vmi_host_status_name(int64_t status);

#ifdef __cplusplus
}
#endif
#endif /* VMI_HOST_H */
