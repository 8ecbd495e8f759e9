/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c: a guest that goes through the VM lifecycle of draft 2:
 * QUERY after negotiation, a vCPU taken offline with VCPU_STOP and started
 * again, then RESET, which stops the other vCPU and takes the VM back to
 * INITIAL, and a second boot of the interface that comes back up: a new
 * negotiation, records registered again, a timer that fires.  With
 * init=1 (a local APIC needed: QEMU), also the platform's reset of a vCPU
 * between the two: an INIT IPI to vCPU 1 while it idles in BLOCK stops it
 * as VCPU_STOP would (VMI-CPU-020), so VCPU_START, refused as busy before,
 * starts it again.  Exits 0 when every check passed; panics (vmi-run exit
 * 122) naming the failed check otherwise.  Needs two vCPUs (vmi-run
 * --vcpus 2).
 */
#include "rt.h"

#define WANT (VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_TIMER | VMI_F_VCPU)
#define WAIT_NS UINT64_C(10000000000) /* generous: a loaded host */

static volatile uint32_t runs;    /* times vCPU 1 entered its function */
static volatile uint32_t stopped; /* vCPU 1 is about to stop itself */

/* vCPU 1: the first time, go offline; the second time, idle. */
static void ap_main(struct rt_cpu *cpu, void *arg)
{
    uint32_t reason;
    int rc;

    (void)arg;
    if (__atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST) == 1) {
        __atomic_store_n(&stopped, 1, __ATOMIC_SEQ_CST);
        rc = vmi_guest_vcpu_stop(&rt_vmi);
        rt_panic("lifecycle: vCPU %u: VCPU_STOP returned: %s", cpu->id,
                 vmi_guest_status_name(rc));
    }
    for (;;)
        vmi_guest_block(&rt_vmi, VMI_DEADLINE_NONE, &reason);
}

static void check_query(uint32_t want_state, uint64_t want_features)
{
    uint32_t state = 99, version = 99;
    uint64_t features = 99;
    int rc = vmi_guest_query(&rt_vmi, &state, &version, &features);

    if (rc)
        rt_panic("lifecycle: QUERY failed: %s", vmi_guest_status_name(rc));
    if (state != want_state || features != want_features ||
        (want_state == VMI_LIFECYCLE_INITIAL) != (version == 0))
        rt_panic("lifecycle: QUERY says state %u version 0x%x features 0x%lx, "
                 "expected state %u features 0x%lx",
                 state, version, features, want_state, want_features);
}

/* Start vCPU 1 again once it has stopped (VMI_E_BUSY until then). */
static void restart_ap(void)
{
    uint64_t until = rt_now() + WAIT_NS;
    int rc;

    do {
        rc = rt_start_cpu(1, ap_main, NULL);
    } while (rc == -VMI_E_BUSY && rt_now() < until);
    if (rc)
        rt_panic("lifecycle: restarting vCPU 1: %s", vmi_guest_status_name(rc));
}

static void wait_runs(uint32_t n)
{
    uint64_t until = rt_now() + WAIT_NS;

    while (__atomic_load_n(&runs, __ATOMIC_SEQ_CST) < n)
        if (rt_now() > until)
            rt_panic("lifecycle: vCPU 1 did not run (runs %u, want %u)", runs,
                     n);
}

int kmain(const struct rt_boot *boot)
{
    uint64_t granted = 0, t0, init = 0;
    uint32_t reason, runs_before_reset = 2;
    int rc;

    if (!boot->vmi || boot->vcpu_count < 2)
        rt_panic("lifecycle: needs OpenVMI and 2 vCPUs");
    rc = rt_vmi_setup(WANT, &granted);
    if (rc || granted != WANT)
        rt_panic("lifecycle: setup: %s, granted 0x%lx",
                 vmi_guest_status_name(rc), granted);
    check_query(VMI_LIFECYCLE_NEGOTIATED, WANT);
    rt_printf("lifecycle: QUERY: negotiated, features 0x%lx\n", granted);

    /* CPU offline and online again. */
    rc = vmi_guest_vcpu_stop(&rt_vmi);
    if (rc != -VMI_E_BUSY)
        rt_panic("lifecycle: VCPU_STOP of the only vCPU: %s",
                 vmi_guest_status_name(rc));
    if ((rc = rt_start_cpu(1, ap_main, NULL)) != 0)
        rt_panic("lifecycle: VCPU_START 1: %s", vmi_guest_status_name(rc));
    wait_runs(1);
    restart_ap();
    wait_runs(2);
    rt_printf("lifecycle: vCPU 1 stopped itself and was started again\n");

    /* The platform's reset of vCPU 1: an INIT, then VCPU_START again. */
    rt_cmdline_u64(boot->cmdline, "init", &init);
    if (init) {
        rc = rt_start_cpu(1, ap_main, NULL);
        if (rc != -VMI_E_BUSY)
            rt_panic("lifecycle: VCPU_START of a running vCPU 1: %s, "
                     "expected VMI_E_BUSY",
                     vmi_guest_status_name(rc));
        rt_apic_enable();
        if (rt_lapic_send_init(1) != 0)
            rt_panic("lifecycle: init=1 needs a local APIC");
        restart_ap();
        wait_runs(3);
        runs_before_reset = 3;
        rt_printf("lifecycle: INIT stopped vCPU 1, VCPU_START started it "
                  "again\n");
    }

    /* RESET: INITIAL, vCPU 1 stopped, then the interface comes back up. */
    rc = vmi_guest_reset(&rt_vmi);
    if (rc)
        rt_panic("lifecycle: RESET: %s", vmi_guest_status_name(rc));
    check_query(VMI_LIFECYCLE_INITIAL, 0);
    rc = rt_vmi_setup(WANT, &granted);
    if (rc || granted != WANT)
        rt_panic("lifecycle: negotiating again: %s", vmi_guest_status_name(rc));
    check_query(VMI_LIFECYCLE_NEGOTIATED, WANT);
    /* vCPU 1 was stopped by the RESET: it can be started at once. */
    if ((rc = rt_start_cpu(1, ap_main, NULL)) != 0)
        rt_panic("lifecycle: VCPU_START 1 after RESET: %s",
                 vmi_guest_status_name(rc));
    wait_runs(runs_before_reset + 1);
    t0 = rt_now();
    rc = vmi_guest_timer_arm(&rt_vmi, 0, t0 + 1000000, 0, VMI_EVENT_TIMER);
    if (rc)
        rt_panic("lifecycle: TIMER_ARM: %s", vmi_guest_status_name(rc));
    do {
        rc = vmi_guest_block(&rt_vmi, t0 + WAIT_NS, &reason);
    } while (!rc && reason != VMI_WAKE_EVENT && reason != VMI_WAKE_DEADLINE);
    if (rc || reason != VMI_WAKE_EVENT ||
        !(vmi_guest_event_take(&rt_this_cpu()->v) & (1ull << VMI_EVENT_TIMER)))
        rt_panic("lifecycle: the timer after RESET did not fire (%s, %u)",
                 vmi_guest_status_name(rc), reason);
    rt_printf("lifecycle: RESET, negotiated again, vCPU 1 restarted, timer "
              "fired after %lu us\n",
              (rt_now() - t0) / 1000);
    rt_printf("lifecycle: all checks passed\n");
    return 0;
}
