/* SPDX-License-Identifier: MIT */
/* vm.h: host-lib internals shared by the service files (not installed). */
#ifndef VMI_HOST_VM_H
#define VMI_HOST_VM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vmi_host.h"

/* Host limits announced in CPUID LIMITS. */
#define VMI__MAX_CONSOLE 4096u
/* Per-vCPU scratch: one page table, one console write, 256 batch entries. */
#define VMI__SCRATCH_BYTES 4096u
#define VMI__KICK_WORDS (VMI_HOST_MAX_VCPUS / 64u)
#define VMI__NOT_ARMED UINT32_MAX

/*
 * Fault injection ids; names and clauses live in fault.c.  Only the test
 * variant of host-lib (built with VMI_HOST_FAULTS: vmi::host_test and
 * test-variant/libvmi-host.so) can inject one; in the shipping libraries
 * VMI__FAULT_IS is the constant 0, so no mutation code is compiled in.
 */
#ifdef VMI_HOST_FAULTS
#define VMI__FAULT_IS(vm, name) ((vm)->fault == VMI__FAULT_##name)
#define VMI__FAULT_ANY(vm) ((vm)->fault != VMI__FAULT_NONE)
#else
#define VMI__FAULT_IS(vm, name) ((void)(vm), 0)
#define VMI__FAULT_ANY(vm) ((void)(vm), 0)
#endif
enum vmi__fault {
    VMI__FAULT_NONE = 0,
    VMI__FAULT_TIMER_EARLY,
    VMI__FAULT_PAST_DEADLINE_ERROR,
    VMI__FAULT_CANCEL_NOT_IDEMPOTENT,
    VMI__FAULT_NEGOTIATE_REJECTS_UNDEFINED,
    VMI__FAULT_RESERVED_FIELD_IGNORED,
    VMI__FAULT_NO_STATUS_PRECEDENCE,
    VMI__FAULT_CLOCK_VERSION_ODD,
    VMI__FAULT_BLOCK_SPURIOUS_WAKE,
    VMI__FAULT_PT_IGNORES_RESERVED_BITS,
    VMI__FAULT_RELEASE_MISCOUNT,
    VMI__FAULT_RESTORE_SKIPS_CHECKSUM,
    VMI__FAULT_CONSOLE_NO_RATE_LIMIT,
    VMI__FAULT_TIME_READ_SKEW,
    VMI__FAULT_CLOCK_NOT_STABLE,
    VMI__FAULT_EVENT_NO_UPCALL,
    VMI__FAULT_EVENT_REGISTER_DROPS_PENDING,
    VMI__FAULT_SEND_IGNORES_EXCLUDE_SELF,
    VMI__FAULT_VCPU_START_TWICE,
    VMI__FAULT_TLB_ACCEPTS_MISALIGNED,
    VMI__FAULT_UNPIN_MISSING_OK,
    VMI__FAULT_MEM_ACCEPTS_ZERO_PAGES,
    VMI__FAULT_CONSOLE_LEN_UNCHECKED,
    VMI__FAULT_SHUTDOWN_STATUS_UNCHECKED,
    VMI__FAULT_RESULTS_NOT_ZEROED,
    VMI__FAULT_USER_CALL_ALLOWED,
    VMI__FAULT_NEGOTIATE_TWICE,
    VMI__FAULT_FEATURE_NOT_ENFORCED,
    VMI__FAULT_CPUID_WRONG_MAX_LEAF,
    VMI__FAULT_VERSION_EXACT_MATCH,
    VMI__FAULT_BLOCK_DEADLINE_EARLY,
    VMI__FAULT_STEAL_VERSION_ODD,
    VMI__FAULT_PT_UPDATE_WRONG_COMPLETED,
    VMI__FAULT_SEND_RANGE_UNCHECKED,
    VMI__FAULT_UNKNOWN_CALL_OK,
    VMI__FAULT_NEGOTIATE_GRANTS_UNDEFINED,
    VMI__FAULT_NEGOTIATE_ANY_MAJOR,
    VMI__FAULT_VERSION_NOT_CLAMPED,
    VMI__FAULT_TLB_RANGE_BEFORE_CONTENTS,
    VMI__FAULT_STATUS_NOT_LISTED,
    VMI__FAULT_RESTORE_ACCEPTS_BLOCKED_UNSTARTED,
    VMI__FAULT_RESTORE_ACCEPTS_UNMET_FEATURES,
    VMI__FAULT_RESTORE_ACCEPTS_UNGRANTED_STATE,
    VMI__FAULT_RESTORE_ACCEPTS_LIFECYCLE_MISMATCH,
    VMI__FAULT_GUEST_STOPPED_RESTICKY,
    VMI__FAULT_CLOCK_RECORD_INVALIDATED,
    VMI__FAULT_CLOCK_FLAG_BIT2,
    VMI__FAULT_RECORD_NOT_REFRESHED,
    VMI__FAULT_STEAL_RESET_ON_REGISTER,
    VMI__FAULT_BLOCK_DEAF_TO_INTERRUPTS,
    VMI__FAULT_QUERY_FORGETS_FEATURES,
    VMI__FAULT_RESET_KEEPS_RECORDS,
    VMI__FAULT_VCPU_STOP_KEEPS_RECORDS,
    VMI__FAULT_RESET_IGNORES_RECLAIM_FAILURE,
    VMI__FAULT_PLATFORM_RESET_IGNORED,
    VMI__FAULT_INIT_KEEPS_RECORDS,
    VMI__FAULT_TIMING_LEAF_MISSING,
    VMI__FAULT_TIMERS_FEWER_THAN_VCPUS,
    VMI__FAULT_TIME_READ_PER_VCPU,
    VMI__FAULT_RECORD_OFF_REFERENCE,
    VMI__FAULT_CLOCK_COUNTS_STOP,
    VMI__FAULT_SKEW_WITH_STABLE_TSC,
    VMI__FAULT_QUERY_GATED,
    VMI__FAULT_QUERY_FLAGS_IGNORED,
    VMI__FAULT_RESET_FLAGS_IGNORED,
    VMI__FAULT_VCPU_STOP_FLAGS_IGNORED,
    VMI__FAULT_LAST_VCPU_STOPS,
    VMI__FAULT_TLB_FLUSH_LIMIT,
    VMI__FAULT_TLB_DROPS_GLOBAL,
    VMI__FAULT_REREGISTER_LEAVES_PENDING,
    VMI__FAULT_EVENT_OLD_RECORD_WRITTEN,
    VMI__FAULT_REREGISTER_KEEPS_UPCALL,
    VMI__FAULT_USER_CALLS_WITHOUT_GRANT,
    VMI__FAULT_RELEASE_IGNORES_USE,
    VMI__FAULT_RELEASED_READS_OTHER_DATA,
    VMI__FAULT_EXTENT_UNCAPPED,
    VMI__FAULT_VCPU_LEAF_ZERO,
    VMI__FAULT_PRESERVE_AD_IGNORED,
    VMI__FAULT_PIN_LIMIT_TINY,
    VMI__FAULT_RESTORE_ACCEPTS_UNKNOWN_VERSION,
    VMI__FAULT_RESTORE_ACCEPTS_UNOFFERED_FEATURES,
    VMI__FAULT_RESTORE_DROPS_UPCALL,
    VMI__FAULT_RESTORE_REJECTS_OPTIONAL,
    VMI__FAULT_RESTORE_REJECTS_OLD_FORMAT,
    VMI__FAULT_SAVE_IGNORES_TARGET_FORMAT,
    VMI__FAULT_SAVE_CONFIG_ABSOLUTE,
    VMI__FAULT_RESTORE_IGNORES_CONFIG,
    VMI__FAULT_NEGOTIATE_KEEPS_FIRMWARE_VCPUS,
    VMI__FAULT_VCPU_MAP_IGNORES_ECX,
    VMI__FAULT_VCPU_MAP_PAST_COUNT,
    VMI__FAULT_BLOCK_ARM_WITHOUT_GRANT,
    VMI__FAULT_BLOCK_ARM_NO_DEADLINE_OK,
    VMI__FAULT_BLOCK_ARM_RANGE_UNCHECKED,
    VMI__FAULT_BLOCK_ARM_IGNORED,
    VMI__FAULT_BLOCK_ARGS_NOT_IGNORED,
    VMI__FAULT_COUNT
};

struct vmi__vcpu {
    uint32_t started;     /* running (vCPU 0 from creation) */
    uint32_t starting;    /* VCPU_START in progress (start_vcpu callback) */
    uint32_t stops;       /* times stopped: VCPU_STOP, RESET, INIT */
    uint32_t platform_id; /* CPUID leaf B+9 (VMI-DSC-043) */
    uint64_t clock_gpa;   /* VMI_GPA_NONE when not registered */
    uint64_t event_gpa;
    uint64_t old_event_gpa; /* the record left last (fault injection only) */
    uint64_t steal_gpa;
    uint32_t event_vector;
    /*
     * GUEST_STOPPED since the last stop, until the guest clears it in the
     * record or registers again (VMI-CLK-038); clock_shown: the host has
     * written it into the record since that stop, so a clear bit there is
     * the guest's acknowledgement.
     */
    uint8_t clock_sticky;
    uint8_t clock_shown;
    /* The point of the VM clock's line the record shows (an exact one). */
    uint64_t rec_tsc, rec_ns;
    uint8_t upcall_due;
    uint8_t blocked;
    uint8_t console_again; /* last CONSOLE_WRITE answered VMI_E_AGAIN */
    uint64_t host_pending; /* events set while no record is registered */
    uint64_t steal_ns;
    uint64_t steal_version;
    uint64_t block_deadline;
    uint8_t *scratch;   /* VMI__SCRATCH_BYTES, used by this vCPU's calls */
    uint64_t nop_calls; /* NOPs answered without the lock (this vCPU's
                         * thread writes; stats read it atomically) */
};

struct vmi__timer {
    uint64_t deadline;
    uint32_t vcpu;
    uint32_t event;
    uint32_t heap_pos; /* VMI__NOT_ARMED when not armed */
};

struct vmi__pin {
    uint64_t gpa;
    uint32_t level;
};

struct vmi__extent {
    uint64_t gpa; /* first byte */
    uint64_t end; /* one past the last byte */
};

struct vmi_host_vm {
    struct vmi_host_config cfg; /* defaults applied; vendor copied */
    const struct vmi_host_ops *ops;
    void *ctx;
    char vendor[VMI_VENDOR_ID_SIZE];
    enum vmi__fault fault; /* always NONE in the shipping libraries */

    pthread_mutex_t lock;     /* all state below */
    pthread_mutex_t mem_lock; /* serialises MEM_RELEASE / MEM_RECLAIM */

    uint32_t lifecycle; /* VMI_LIFECYCLE_* */
    uint32_t version;   /* negotiated */
    uint64_t features;  /* granted */
    uint32_t shutdown_reason;
    uint32_t shutdown_status;

    /* VM clock: ns = base_ns + scale(tsc - base_tsc). */
    uint64_t base_ns;
    uint64_t base_tsc;
    uint32_t mul;
    int8_t shift;
    uint64_t last_ns; /* monotonic guard */
    int64_t wall_offset_ns;

    struct vmi__vcpu *vcpus;

    struct vmi__timer *timers; /* timer_count */
    uint32_t *heap;            /* min-heap of armed timer ids */
    uint32_t heap_len;

    struct vmi__pin *pins; /* sorted by gpa */
    uint32_t pin_count;

    struct vmi__extent *extents; /* sorted, disjoint, not adjacent */
    uint32_t extent_count;
    uint64_t released_pages;

    /* Console token bucket, in byte-nanoseconds (bytes * 1e9). */
    uint64_t tokens;
    uint64_t tokens_ns;

    struct vmi_host_stats stats;

    /* Test hook: count reads per guest byte (see vmi__gmem_count_reads). */
    uint8_t *read_counts;
    uint64_t read_counts_len;
};

/*
 * Context of one entry point: callbacks collected under the VM lock and
 * made after it is dropped.
 */
struct vmi__ctx {
    struct vmi_host_vm *vm;
    uint32_t vcpu;
    struct vmi_host_call *call;
    uint32_t kick_used; /* bit w: kick[w] is valid */
    uint64_t kick[VMI__KICK_WORDS];
    uint64_t stop[VMI__KICK_WORDS]; /* vCPUs to stop (ops->stop_vcpu) */
    int timers_changed;
    int record_uninit;  /* EVENT_REGISTER: the new record had pending bits */
    const char *clause; /* strict-mode report, if any */
    const char *what;
};

/* Handler of one hypercall: called with vm->lock held. */
typedef int64_t (*vmi__handler)(struct vmi__ctx *c);

/* gmem.c: the one copy-in and one copy-out accessor. */
int vmi__gmem_check(struct vmi_host_vm *vm, uint64_t gpa, uint64_t len);
int vmi__gmem_read(struct vmi_host_vm *vm, uint64_t gpa, void *dst,
                   uint64_t len);
int vmi__gmem_write(struct vmi_host_vm *vm, uint64_t gpa, const void *src,
                    uint64_t len);
void *vmi__gmem_shared(struct vmi_host_vm *vm, uint64_t gpa, uint64_t len);
void vmi__gmem_count_reads(struct vmi_host_vm *vm, uint8_t *counts,
                           uint64_t len);

/* vm.c */
void vmi__lock(struct vmi_host_vm *vm);
void vmi__unlock(struct vmi_host_vm *vm);
void vmi__ctx_init(struct vmi__ctx *c, struct vmi_host_vm *vm, uint32_t vcpu,
                   struct vmi_host_call *call);
void vmi__kick_later(struct vmi__ctx *c, uint32_t vcpu);
void vmi__ctx_finish(struct vmi__ctx *c);

/* clock.c */
void vmi__clock_init(struct vmi_host_vm *vm);
uint64_t vmi__clock_now(struct vmi_host_vm *vm);
void vmi__clock_rebase(struct vmi_host_vm *vm, uint64_t ns);
void vmi__clock_write(struct vmi_host_vm *vm, uint32_t vcpu);
void vmi__clock_refresh(struct vmi_host_vm *vm, uint32_t vcpu);
uint64_t vmi__clock_refresh_due(struct vmi_host_vm *vm);
void vmi__clock_refresh_kicks(struct vmi__ctx *c);
void vmi__steal_write(struct vmi_host_vm *vm, uint32_t vcpu);
void vmi__time_scale(uint64_t hz, int8_t *shift, uint32_t *mul);
uint64_t vmi__scale_delta(uint64_t delta, uint32_t mul, int8_t shift);

/* event.c */
int vmi__vector_ok(const struct vmi_host_vm *vm, uint64_t vector);
void vmi__event_set(struct vmi__ctx *c, uint32_t vcpu, uint32_t event);
int vmi__event_wake(struct vmi_host_vm *vm, uint32_t vcpu);

/* timer.c */
void vmi__timer_remove(struct vmi_host_vm *vm, uint32_t id);
void vmi__timer_insert(struct vmi_host_vm *vm, uint32_t id);
int64_t vmi__timer_arm(struct vmi__ctx *c, uint32_t id, uint64_t deadline,
                       uint32_t vcpu, uint32_t event);

/* vm.c */
int vmi__features_unmet(uint64_t f, uint64_t *missing);

/* strict.c */
void vmi__strict_note(struct vmi__ctx *c, uint64_t nr, int64_t status);

/* fault.c (test variant only) */
#ifdef VMI_HOST_FAULTS
int vmi__fault_lookup(const char *name, enum vmi__fault *out);
/* The fault $VMI_HOST_FAULT names, for a VM being created: 0, or -1 with
 * a message in why (a name this build does not know). */
int vmi__fault_from_env(enum vmi__fault *out, char *why, size_t why_len);
#endif

/* save.c */
uint32_t vmi__crc32c(uint32_t crc, const void *buf, size_t len);

/* Handlers. */
int64_t vmi__hc_nop(struct vmi__ctx *c);
int64_t vmi__hc_negotiate(struct vmi__ctx *c);
int64_t vmi__hc_console_write(struct vmi__ctx *c);
int64_t vmi__hc_shutdown(struct vmi__ctx *c);
int64_t vmi__hc_clock_register(struct vmi__ctx *c);
int64_t vmi__hc_time_read(struct vmi__ctx *c);
int64_t vmi__hc_steal_register(struct vmi__ctx *c);
int64_t vmi__hc_timer_arm(struct vmi__ctx *c);
int64_t vmi__hc_timer_cancel(struct vmi__ctx *c);
int64_t vmi__hc_event_register(struct vmi__ctx *c);
int64_t vmi__hc_event_send(struct vmi__ctx *c);
int64_t vmi__hc_block(struct vmi__ctx *c);
int64_t vmi__hc_vcpu_start(struct vmi__ctx *c);
int64_t vmi__hc_tlb_flush(struct vmi__ctx *c);
int64_t vmi__hc_pt_update(struct vmi__ctx *c);
int64_t vmi__hc_pt_pin(struct vmi__ctx *c);
int64_t vmi__hc_pt_unpin(struct vmi__ctx *c);
int64_t vmi__hc_mem_release(struct vmi__ctx *c);
int64_t vmi__hc_mem_reclaim(struct vmi__ctx *c);
int64_t vmi__hc_query(struct vmi__ctx *c);
int64_t vmi__hc_reset(struct vmi__ctx *c);
int64_t vmi__hc_vcpu_stop(struct vmi__ctx *c);
int64_t vmi__mem_reclaim_range(struct vmi_host_vm *vm, uint64_t gpa,
                               uint64_t end);
int vmi__pinned_in(const struct vmi_host_vm *vm, uint64_t gpa, uint64_t end);

/* Little-endian helpers (save.c and shared records). */
static inline uint64_t vmi__min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The least pin limit a host may announce (VMI-DSC-042). */
static inline uint32_t vmi__pin_minimum(uint64_t ram_bytes)
{
    uint64_t blocks = ram_bytes >> 21;

    return blocks > 64 ? (uint32_t)vmi__min64(blocks, UINT32_MAX) : 64;
}

/*
 * `idx` if idx < size, else 0, computed without a branch, for an index a
 * guest supplied and host-lib has already checked (VMI-SEC-015): a
 * mispredicted check cannot then reach past the table.  Linux's generic
 * array_index_mask_nospec(); the empty asm keeps the compiler from turning
 * the mask back into a branch.  size must be below 2^63.
 */
static inline uint64_t vmi__nospec(uint64_t idx, uint64_t size)
{
    uint64_t mask = (uint64_t)(~(int64_t)(idx | (size - 1 - idx)) >> 63);

    __asm__("" : "+r"(mask));
    return idx & mask;
}

#endif /* VMI_HOST_VM_H */
