/* SPDX-License-Identifier: MIT */
/* clauses.h: every specification clause ID host-lib names, in one place. */
#ifndef VMI_HOST_CLAUSES_H
#define VMI_HOST_CLAUSES_H

/* Guest clauses that strict mode reports. */
#define VMI__CL_G_NOSYS "VMI-CALL-030"   /* call number not defined */
#define VMI__CL_G_PERM "VMI-CALL-031"    /* kernel call from user mode */
#define VMI__CL_G_STATE "VMI-VER-004"    /* no calls before negotiation */
#define VMI__CL_G_TWICE "VMI-VER-021"    /* second negotiation */
#define VMI__CL_G_BLOCK "VMI-EVT-034"    /* BLOCK that can never wake */
#define VMI__CL_G_NOTSUP "VMI-CALL-023"  /* feature not granted */
#define VMI__CL_G_INVAL "VMI-GEN-003"    /* reserved fields zero */
#define VMI__CL_G_VALUE "VMI-CALL-032"   /* undefined argument value */
#define VMI__CL_G_REQUIRES "VMI-VER-023" /* required feature missing */
#define VMI__CL_G_ALIGN "VMI-CALL-028"   /* alignment */
#define VMI__CL_G_FAULT "VMI-CALL-027"   /* ranges inside RAM */
#define VMI__CL_G_RANGE "VMI-CALL-033"   /* id, count, length range */
#define VMI__CL_G_CONSOLE "VMI-CON-007"  /* console flooding */
#define VMI__CL_G_BLOCK_IF "VMI-EVT-048" /* BLOCK with interrupts enabled */

/* Host clauses that the injected faults break, one each. */
#define VMI__CL_TMR_NEVER_EARLY "VMI-TMR-020"
#define VMI__CL_TMR_PAST_NO_ERROR "VMI-TMR-006"
#define VMI__CL_TMR_CANCEL_OK "VMI-TMR-015"
#define VMI__CL_VER_UNDEFINED_IGNORED "VMI-VER-029"
#define VMI__CL_CLK_REGISTER_FLAGS "VMI-CLK-023"
#define VMI__CL_STS_PRECEDENCE "VMI-STS-007"
#define VMI__CL_CLK_VERSION_EVEN "VMI-CLK-008"
#define VMI__CL_EVT_BLOCK_REASON "VMI-EVT-044"
#define VMI__CL_PT_RESERVED_BITS "VMI-PT-001"
#define VMI__CL_MEM_ACCOUNTING "VMI-MEM-007"
#define VMI__CL_SAV_CHECKSUM "VMI-SAV-009"
#define VMI__CL_CON_RATE "VMI-CON-005"
#define VMI__CL_CLK_TIME_READ "VMI-CLK-031"
#define VMI__CL_CLK_TSC_STABLE "VMI-CLK-017"
#define VMI__CL_EVT_UPCALL "VMI-EVT-006"
#define VMI__CL_EVT_REGISTER_PENDING "VMI-EVT-018"
#define VMI__CL_EVT_SEND_SET "VMI-EVT-025"
#define VMI__CL_CPU_BUSY "VMI-CPU-007"
#define VMI__CL_TLB_ALIGN "VMI-TLB-010"
#define VMI__CL_TLB_NO_FAIL "VMI-TLB-022"
#define VMI__CL_TLB_GLOBAL "VMI-TLB-023"
#define VMI__CL_EVT_LEAVE_TAKES_PENDING "VMI-EVT-055"
#define VMI__CL_EVT_OLD_RECORD_ALONE "VMI-EVT-056"
#define VMI__CL_EVT_LEAVE_DROPS_UPCALL "VMI-EVT-057"
#define VMI__CL_CALL_USER_OPT_IN "VMI-CALL-034"
#define VMI__CL_PT_UNPIN_NOENT "VMI-PT-023"
#define VMI__CL_MEM_ZERO_PAGES "VMI-MEM-002"
#define VMI__CL_CON_LEN "VMI-CON-003"
#define VMI__CL_SHD_STATUS "VMI-SHD-002"
#define VMI__CL_CALL_ZERO_RESULTS "VMI-CALL-008"
#define VMI__CL_CALL_PERM "VMI-CALL-017"
#define VMI__CL_VER_TWICE "VMI-VER-009"
#define VMI__CL_CALL_NOTSUP "VMI-CALL-022"
#define VMI__CL_DSC_MAX_LEAF "VMI-DSC-003"
#define VMI__CL_VER_HIGHER_MINOR "VMI-VER-014"
#define VMI__CL_EVT_DEADLINE "VMI-EVT-033"
#define VMI__CL_STL_VERSION "VMI-STL-006"
#define VMI__CL_BAT_COMPLETED "VMI-BAT-007"
#define VMI__CL_EVT_SEND_RANGE "VMI-EVT-024"
#define VMI__CL_CALL_NOSYS "VMI-CALL-020"
#define VMI__CL_VER_NEVER_GRANT_UNDEFINED "VMI-VER-032"
#define VMI__CL_VER_NO_COMMON "VMI-VER-030"
#define VMI__CL_VER_HIGHEST_COMMON "VMI-VER-031"
#define VMI__CL_STS_LISTED "VMI-STS-008"
#define VMI__CL_SAV_BLOCKED_STARTED "VMI-SAV-028"
#define VMI__CL_SAV_FEATURES_MET "VMI-SAV-029"
#define VMI__CL_SAV_STATE_GRANTED "VMI-SAV-030"
#define VMI__CL_SAV_LIFECYCLE "VMI-SAV-031"
#define VMI__CL_CLK_STOPPED_STAYS_CLEAR "VMI-CLK-038"
#define VMI__CL_CLK_NEVER_INVALID "VMI-CLK-040"
#define VMI__CL_CLK_NO_BIT2 "VMI-CLK-041"
#define VMI__CL_CLK_REFRESH "VMI-CLK-042"
#define VMI__CL_STL_CUMULATIVE "VMI-STL-012"
#define VMI__CL_EVT_BLOCK_INTERRUPT "VMI-EVT-043"
#define VMI__CL_VER_QUERY "VMI-VER-038"
#define VMI__CL_VER_RESET "VMI-VER-041"
#define VMI__CL_CPU_STOP "VMI-CPU-023"
#define VMI__CL_VER_RESET_LIMIT "VMI-VER-040"
#define VMI__CL_VER_PLATFORM_RESET "VMI-VER-042"
#define VMI__CL_CPU_PLATFORM_STOP "VMI-CPU-020"
#define VMI__CL_DSC_TIMING "VMI-DSC-031"
#define VMI__CL_DSC_TIMER_PER_VCPU "VMI-DSC-030"
#define VMI__CL_CLK_ONE_REFERENCE "VMI-CLK-044"
#define VMI__CL_CLK_SKEW "VMI-CLK-045"
#define VMI__CL_TMR_STOP "VMI-TMR-023"
#define VMI__CL_DSC_SKEW "VMI-DSC-032"
#define VMI__CL_VER_INITIAL_CALLS "VMI-VER-036"
#define VMI__CL_VER_QUERY_FLAGS "VMI-VER-037"
#define VMI__CL_VER_RESET_FLAGS "VMI-VER-039"
#define VMI__CL_CPU_STOP_FLAGS "VMI-CPU-021"
#define VMI__CL_CPU_STOP_LAST "VMI-CPU-022"

#endif /* VMI_HOST_CLAUSES_H */
