/* SPDX-License-Identifier: MIT */
/*
 * fault.c: the fault-injection table, each fault breaking one host clause.
 * Compiled into the test variant of host-lib only (VMI_HOST_FAULTS); the
 * functions exported here are declared in vmi_host_test.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clauses.h"
#include "vm.h"
#include "vmi_host_test.h"

#ifndef VMI_HOST_FAULTS
#error "fault.c belongs to the test variant of host-lib (VMI_HOST_FAULTS)"
#endif

struct fault {
    enum vmi__fault id;
    const char *name;
    const char *clause;
};

static const struct fault faults[] = {
    {VMI__FAULT_TIMER_EARLY, "timer-early", VMI__CL_TMR_NEVER_EARLY},
    {VMI__FAULT_PAST_DEADLINE_ERROR, "past-deadline-error",
     VMI__CL_TMR_PAST_NO_ERROR},
    {VMI__FAULT_CANCEL_NOT_IDEMPOTENT, "cancel-not-idempotent",
     VMI__CL_TMR_CANCEL_OK},
    {VMI__FAULT_NEGOTIATE_REJECTS_UNDEFINED, "negotiate-rejects-undefined",
     VMI__CL_VER_UNDEFINED_IGNORED},
    {VMI__FAULT_RESERVED_FIELD_IGNORED, "reserved-field-ignored",
     VMI__CL_CLK_REGISTER_FLAGS},
    {VMI__FAULT_NO_STATUS_PRECEDENCE, "no-status-precedence",
     VMI__CL_STS_PRECEDENCE},
    {VMI__FAULT_CLOCK_VERSION_ODD, "clock-version-odd",
     VMI__CL_CLK_VERSION_EVEN},
    {VMI__FAULT_BLOCK_SPURIOUS_WAKE, "block-spurious-wake",
     VMI__CL_EVT_BLOCK_REASON},
    {VMI__FAULT_PT_IGNORES_RESERVED_BITS, "pt-ignores-reserved-bits",
     VMI__CL_PT_RESERVED_BITS},
    {VMI__FAULT_RELEASE_MISCOUNT, "release-miscount", VMI__CL_MEM_ACCOUNTING},
    {VMI__FAULT_RESTORE_SKIPS_CHECKSUM, "restore-skips-checksum",
     VMI__CL_SAV_CHECKSUM},
    {VMI__FAULT_CONSOLE_NO_RATE_LIMIT, "console-no-rate-limit",
     VMI__CL_CON_RATE},
    {VMI__FAULT_TIME_READ_SKEW, "time-read-skew", VMI__CL_CLK_TIME_READ},
    {VMI__FAULT_CLOCK_NOT_STABLE, "clock-not-stable", VMI__CL_CLK_TSC_STABLE},
    {VMI__FAULT_EVENT_NO_UPCALL, "event-no-upcall", VMI__CL_EVT_UPCALL},
    {VMI__FAULT_EVENT_REGISTER_DROPS_PENDING, "event-register-drops-pending",
     VMI__CL_EVT_REGISTER_PENDING},
    {VMI__FAULT_SEND_IGNORES_EXCLUDE_SELF, "send-ignores-exclude-self",
     VMI__CL_EVT_SEND_SET},
    {VMI__FAULT_VCPU_START_TWICE, "vcpu-start-twice", VMI__CL_CPU_BUSY},
    {VMI__FAULT_TLB_ACCEPTS_MISALIGNED, "tlb-accepts-misaligned",
     VMI__CL_TLB_ALIGN},
    {VMI__FAULT_UNPIN_MISSING_OK, "unpin-missing-ok", VMI__CL_PT_UNPIN_NOENT},
    {VMI__FAULT_MEM_ACCEPTS_ZERO_PAGES, "mem-accepts-zero-pages",
     VMI__CL_MEM_ZERO_PAGES},
    {VMI__FAULT_CONSOLE_LEN_UNCHECKED, "console-len-unchecked",
     VMI__CL_CON_LEN},
    {VMI__FAULT_SHUTDOWN_STATUS_UNCHECKED, "shutdown-status-unchecked",
     VMI__CL_SHD_STATUS},
    {VMI__FAULT_RESULTS_NOT_ZEROED, "results-not-zeroed",
     VMI__CL_CALL_ZERO_RESULTS},
    {VMI__FAULT_USER_CALL_ALLOWED, "user-call-allowed", VMI__CL_CALL_PERM},
    {VMI__FAULT_NEGOTIATE_TWICE, "negotiate-twice", VMI__CL_VER_TWICE},
    {VMI__FAULT_FEATURE_NOT_ENFORCED, "feature-not-enforced",
     VMI__CL_CALL_NOTSUP},
    {VMI__FAULT_CPUID_WRONG_MAX_LEAF, "cpuid-wrong-max-leaf",
     VMI__CL_DSC_MAX_LEAF},
    {VMI__FAULT_VERSION_EXACT_MATCH, "version-exact-match",
     VMI__CL_VER_HIGHER_MINOR},
    {VMI__FAULT_BLOCK_DEADLINE_EARLY, "block-deadline-early",
     VMI__CL_EVT_DEADLINE},
    {VMI__FAULT_STEAL_VERSION_ODD, "steal-version-odd", VMI__CL_STL_VERSION},
    {VMI__FAULT_PT_UPDATE_WRONG_COMPLETED, "pt-update-wrong-completed",
     VMI__CL_BAT_COMPLETED},
    {VMI__FAULT_SEND_RANGE_UNCHECKED, "send-range-unchecked",
     VMI__CL_EVT_SEND_RANGE},
    {VMI__FAULT_UNKNOWN_CALL_OK, "unknown-call-ok", VMI__CL_CALL_NOSYS},
    {VMI__FAULT_NEGOTIATE_GRANTS_UNDEFINED, "negotiate-grants-undefined",
     VMI__CL_VER_NEVER_GRANT_UNDEFINED},
    {VMI__FAULT_NEGOTIATE_ANY_MAJOR, "negotiate-any-major",
     VMI__CL_VER_NO_COMMON},
    {VMI__FAULT_VERSION_NOT_CLAMPED, "version-not-clamped",
     VMI__CL_VER_HIGHEST_COMMON},
    {VMI__FAULT_TLB_RANGE_BEFORE_CONTENTS, "tlb-range-before-contents",
     VMI__CL_STS_PRECEDENCE},
    {VMI__FAULT_STATUS_NOT_LISTED, "status-not-listed", VMI__CL_STS_LISTED},
    {VMI__FAULT_RESTORE_ACCEPTS_BLOCKED_UNSTARTED,
     "restore-accepts-blocked-unstarted", VMI__CL_SAV_BLOCKED_STARTED},
    {VMI__FAULT_RESTORE_ACCEPTS_UNMET_FEATURES,
     "restore-accepts-unmet-features", VMI__CL_SAV_FEATURES_MET},
    {VMI__FAULT_RESTORE_ACCEPTS_UNGRANTED_STATE,
     "restore-accepts-ungranted-state", VMI__CL_SAV_STATE_GRANTED},
    {VMI__FAULT_RESTORE_ACCEPTS_LIFECYCLE_MISMATCH,
     "restore-accepts-lifecycle-mismatch", VMI__CL_SAV_LIFECYCLE},
    {VMI__FAULT_GUEST_STOPPED_RESTICKY, "guest-stopped-resticky",
     VMI__CL_CLK_STOPPED_STAYS_CLEAR},
    {VMI__FAULT_CLOCK_RECORD_INVALIDATED, "clock-record-invalidated",
     VMI__CL_CLK_NEVER_INVALID},
    {VMI__FAULT_CLOCK_FLAG_BIT2, "clock-flag-bit2", VMI__CL_CLK_NO_BIT2},
    {VMI__FAULT_RECORD_NOT_REFRESHED, "record-not-refreshed",
     VMI__CL_CLK_REFRESH},
    {VMI__FAULT_STEAL_RESET_ON_REGISTER, "steal-reset-on-register",
     VMI__CL_STL_CUMULATIVE},
    {VMI__FAULT_BLOCK_DEAF_TO_INTERRUPTS, "block-deaf-to-interrupts",
     VMI__CL_EVT_BLOCK_INTERRUPT},
    {VMI__FAULT_QUERY_FORGETS_FEATURES, "query-forgets-features",
     VMI__CL_VER_QUERY},
    {VMI__FAULT_RESET_KEEPS_RECORDS, "reset-keeps-records", VMI__CL_VER_RESET},
    {VMI__FAULT_VCPU_STOP_KEEPS_RECORDS, "vcpu-stop-keeps-records",
     VMI__CL_CPU_STOP},
    {VMI__FAULT_RESET_IGNORES_RECLAIM_FAILURE, "reset-ignores-reclaim-failure",
     VMI__CL_VER_RESET_LIMIT},
    {VMI__FAULT_PLATFORM_RESET_IGNORED, "platform-reset-ignored",
     VMI__CL_VER_PLATFORM_RESET},
    {VMI__FAULT_INIT_KEEPS_RECORDS, "init-keeps-records",
     VMI__CL_CPU_PLATFORM_STOP},
    {VMI__FAULT_TIMING_LEAF_MISSING, "timing-leaf-missing", VMI__CL_DSC_TIMING},
    {VMI__FAULT_TIMERS_FEWER_THAN_VCPUS, "timers-fewer-than-vcpus",
     VMI__CL_DSC_TIMER_PER_VCPU},
    {VMI__FAULT_TIME_READ_PER_VCPU, "time-read-per-vcpu",
     VMI__CL_CLK_ONE_REFERENCE},
    {VMI__FAULT_RECORD_OFF_REFERENCE, "record-off-reference", VMI__CL_CLK_SKEW},
    {VMI__FAULT_CLOCK_COUNTS_STOP, "clock-counts-stop", VMI__CL_TMR_STOP},
    {VMI__FAULT_SKEW_WITH_STABLE_TSC, "skew-with-stable-tsc", VMI__CL_DSC_SKEW},
    {VMI__FAULT_QUERY_GATED, "query-gated", VMI__CL_VER_INITIAL_CALLS},
    {VMI__FAULT_QUERY_FLAGS_IGNORED, "query-flags-ignored",
     VMI__CL_VER_QUERY_FLAGS},
    {VMI__FAULT_RESET_FLAGS_IGNORED, "reset-flags-ignored",
     VMI__CL_VER_RESET_FLAGS},
    {VMI__FAULT_VCPU_STOP_FLAGS_IGNORED, "vcpu-stop-flags-ignored",
     VMI__CL_CPU_STOP_FLAGS},
    {VMI__FAULT_LAST_VCPU_STOPS, "last-vcpu-stops", VMI__CL_CPU_STOP_LAST},
    {VMI__FAULT_TLB_FLUSH_LIMIT, "tlb-flush-limit", VMI__CL_TLB_NO_FAIL},
    {VMI__FAULT_TLB_DROPS_GLOBAL, "tlb-drops-global", VMI__CL_TLB_GLOBAL},
    {VMI__FAULT_REREGISTER_LEAVES_PENDING, "reregister-leaves-pending",
     VMI__CL_EVT_LEAVE_TAKES_PENDING},
    {VMI__FAULT_EVENT_OLD_RECORD_WRITTEN, "event-old-record-written",
     VMI__CL_EVT_OLD_RECORD_ALONE},
    {VMI__FAULT_REREGISTER_KEEPS_UPCALL, "reregister-keeps-upcall",
     VMI__CL_EVT_LEAVE_DROPS_UPCALL},
    {VMI__FAULT_USER_CALLS_WITHOUT_GRANT, "user-calls-without-grant",
     VMI__CL_CALL_USER_OPT_IN},
    {VMI__FAULT_RELEASE_IGNORES_USE, "release-ignores-use",
     VMI__CL_MEM_RELEASE_BUSY},
    {VMI__FAULT_RELEASED_READS_OTHER_DATA, "released-reads-other-data",
     VMI__CL_MEM_RELEASED_CONTENTS},
    {VMI__FAULT_EXTENT_UNCAPPED, "extent-uncapped", VMI__CL_MEM_EXTENT_CAP},
    {VMI__FAULT_VCPU_LEAF_ZERO, "vcpu-leaf-zero", VMI__CL_DSC_VCPU_LEAF},
    {VMI__FAULT_VCPU_MAP_IGNORES_ECX, "vcpu-map-ignores-ecx",
     VMI__CL_DSC_VCPU_MAP},
    {VMI__FAULT_VCPU_MAP_PAST_COUNT, "vcpu-map-past-count",
     VMI__CL_DSC_VCPU_MAP_END},
    {VMI__FAULT_BLOCK_ARM_WITHOUT_GRANT, "block-arm-without-grant",
     VMI__CL_EVT_BLOCK_FLAGS},
    {VMI__FAULT_BLOCK_ARM_NO_DEADLINE_OK, "block-arm-no-deadline-ok",
     VMI__CL_EVT_BLOCK_ARM_DEADLINE},
    {VMI__FAULT_BLOCK_ARM_RANGE_UNCHECKED, "block-arm-range-unchecked",
     VMI__CL_EVT_BLOCK_ARM_RANGE},
    {VMI__FAULT_BLOCK_ARM_IGNORED, "block-arm-ignored", VMI__CL_EVT_BLOCK_ARMS},
    {VMI__FAULT_BLOCK_ARGS_NOT_IGNORED, "block-args-not-ignored",
     VMI__CL_EVT_BLOCK_ARGS_IGNORED},
    {VMI__FAULT_PRESERVE_AD_IGNORED, "preserve-ad-ignored",
     VMI__CL_PT_PRESERVE_AD},
    {VMI__FAULT_PIN_LIMIT_TINY, "pin-limit-tiny", VMI__CL_DSC_PIN_MIN},
    {VMI__FAULT_RESTORE_ACCEPTS_UNKNOWN_VERSION,
     "restore-accepts-unknown-version", VMI__CL_SAV_VERSION},
    {VMI__FAULT_RESTORE_ACCEPTS_UNOFFERED_FEATURES,
     "restore-accepts-unoffered-features", VMI__CL_SAV_FEATURES},
    {VMI__FAULT_RESTORE_DROPS_UPCALL, "restore-drops-upcall",
     VMI__CL_SAV_UPCALL},
    {VMI__FAULT_RESTORE_REJECTS_OPTIONAL, "restore-rejects-optional",
     VMI__CL_SAV_OPTIONAL_SKIP},
    {VMI__FAULT_RESTORE_REJECTS_OLD_FORMAT, "restore-rejects-old-format",
     VMI__CL_SAV_READ_OLDER},
    {VMI__FAULT_SAVE_IGNORES_TARGET_FORMAT, "save-ignores-target-format",
     VMI__CL_SAV_WRITE_TARGET},
    {VMI__FAULT_SAVE_CONFIG_ABSOLUTE, "save-config-absolute",
     VMI__CL_SAV_CONFIG_WRITE},
    {VMI__FAULT_RESTORE_IGNORES_CONFIG, "restore-ignores-config",
     VMI__CL_SAV_CONFIG_CHECK},
    {VMI__FAULT_NEGOTIATE_KEEPS_FIRMWARE_VCPUS,
     "negotiate-keeps-firmware-vcpus", VMI__CL_CPU_FIRMWARE_STARTS},
};

_Static_assert(sizeof(faults) / sizeof(faults[0]) == VMI__FAULT_COUNT - 1,
               "every fault id has a table entry");

int vmi__fault_lookup(const char *name, enum vmi__fault *out)
{
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        if (strcmp(faults[i].name, name) == 0) {
            *out = faults[i].id;
            return 0;
        }
    }
    return -1;
}

int vmi__fault_from_env(enum vmi__fault *out, char *why, size_t why_len)
{
    const char *name = getenv("VMI_HOST_FAULT");

    *out = VMI__FAULT_NONE;
    if (!name || !*name)
        return 0;
    if (vmi__fault_lookup(name, out) == 0)
        return 0;
    if (why && why_len)
        snprintf(why, why_len,
                 "VMI_HOST_FAULT=%s: no such fault in this test build of "
                 "host-lib (vmi-conform --list-faults lists them)",
                 name);
    return -1;
}

VMI_HOST_API int vmi_host_test_set_fault(struct vmi_host_vm *vm,
                                         const char *name)
{
    enum vmi__fault f = VMI__FAULT_NONE;

    if (!vm || (name && vmi__fault_lookup(name, &f) < 0))
        return -VMI_E_INVAL;
    vm->fault = f;
    return 0;
}

VMI_HOST_API const char *vmi_host_test_fault(const struct vmi_host_vm *vm)
{
    for (size_t i = 0; vm && i < sizeof(faults) / sizeof(faults[0]); i++)
        if (faults[i].id == vm->fault)
            return faults[i].name;
    return NULL;
}

VMI_HOST_API unsigned vmi_host_test_faults(const char **names,
                                           const char **clauses, unsigned cap)
{
    unsigned n = (unsigned)(sizeof(faults) / sizeof(faults[0]));

    for (unsigned i = 0; i < n && i < cap; i++) {
        if (names)
            names[i] = faults[i].name;
        if (clauses)
            clauses[i] = faults[i].clause;
    }
    return n;
}
