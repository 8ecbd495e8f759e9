/* SPDX-License-Identifier: MIT */
/*
 * hostlib.c: vmi-run's host-lib glue, the one file between KVM and
 * host-lib, of the same shape as QEMU's openvmi device
 * (examples/qemu/patches, hw/i386/openvmi.c): host-lib's callbacks (guest
 * memory, time, kicks, console, memory release, vCPU start and stop, TLB
 * flushes), the VM's host-lib configuration, the port-I/O doorbell call
 * and BLOCK, upcall delivery, the timer thread, steal time and the wall
 * clock.  host-lib/README.md walks through both embedders side by side.
 *
 * Locking: as in vm.c; host-lib is never called with vm->lock held.
 */
#define _GNU_SOURCE
#include "vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

/* ---- host-lib callbacks -----------------------------------------------------
 */

static void *cb_map(void *ctx, uint64_t gpa, uint64_t len)
{
    struct vmm *vm = ctx;
    uint64_t end;

    if (__builtin_add_overflow(gpa, len, &end) || end > vm->ram_bytes)
        return NULL;
    return vm->ram + gpa;
}

static uint64_t cb_now_ns(void *ctx)
{
    (void)ctx;
    return vmm_now_ns();
}

static uint64_t cb_rdtsc(void *ctx)
{
    struct vmm *vm = ctx;

    return __rdtsc() + (uint64_t)vm->tsc_offset;
}

static void cb_kick(void *ctx, uint32_t vcpu)
{
    struct vmm *vm = ctx;

    if (vcpu < vm->nvcpus)
        vmm_kick_vcpu(&vm->vcpus[vcpu]);
}

/* Terminal-safe console output: control characters other than \n \t. */
static void cb_console(void *ctx, uint32_t vcpu, const char *buf, size_t len)
{
    struct vmm *vm = ctx;
    char out[4096];
    size_t n = 0;

    (void)vcpu;
    pthread_mutex_lock(&vm->console_lock);
    vm->console_bytes += len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (n == sizeof(out)) {
            fwrite(out, 1, n, stdout);
            n = 0;
        }
        out[n++] =
            (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? '?' : (char)c;
    }
    fwrite(out, 1, n, stdout);
    fflush(stdout);
    pthread_mutex_unlock(&vm->console_lock);
}

static uint64_t rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;

    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &res) != 2)
        res = 0;
    fclose(f);
    return res * ((uint64_t)sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * Released memory really goes back to the host: MADV_DONTNEED on a private
 * anonymous mapping frees the pages, and later accesses fault in zero
 * pages (KVM's MMU notifier drops its mappings of them first).
 */
static int cb_release(void *ctx, uint64_t gpa, uint64_t len)
{
    struct vmm *vm = ctx;
    uint64_t before = vm->opts.stats ? rss_kib() : 0;

    if (madvise(vm->ram + gpa, len, MADV_DONTNEED) != 0)
        return -1;
    if (vm->opts.stats) {
        uint64_t after = rss_kib();

        pthread_mutex_lock(&vm->lock);
        vm->rss_before_release_kib += before;
        vm->rss_after_release_kib += after;
        vm->released_bytes += len;
        pthread_mutex_unlock(&vm->lock);
    }
    return 0;
}

/* Reclaimed memory must read zero even if the guest wrote it meanwhile. */
static int cb_reclaim(void *ctx, uint64_t gpa, uint64_t len)
{
    struct vmm *vm = ctx;

    return madvise(vm->ram + gpa, len, MADV_DONTNEED) == 0 ? 0 : -1;
}

/*
 * VMI_HC_RESET on `caller`: stop vCPU `vcpu` and wait until its thread has
 * parked (out of KVM_RUN, waiting for a start), serving flushes aimed at
 * the caller meanwhile so that a crossing TLB_FLUSH cannot deadlock.
 */
static void cb_stop_vcpu(void *ctx, uint32_t caller, uint32_t vcpu)
{
    struct vmm *vm = ctx;
    struct vmm_vcpu *t;

    if (vcpu >= vm->nvcpus || caller >= vm->nvcpus)
        return;
    t = &vm->vcpus[vcpu];
    pthread_mutex_lock(&vm->lock);
    if (!t->started) {
        pthread_mutex_unlock(&vm->lock);
        return;
    }
    t->stop_req = 1;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    vmm_kick_vcpu(t);
    pthread_mutex_lock(&vm->lock);
    while (t->stop_req && !vm->stop) {
        vmm_serve_flush_locked(&vm->vcpus[caller]);
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
    pthread_mutex_unlock(&vm->lock);
}

static int cb_start_vcpu(void *ctx, uint32_t caller, uint32_t vcpu,
                         const struct vmi_vcpu_start *st)
{
    struct vmm *vm = ctx;
    struct vmm_vcpu *c = &vm->vcpus[caller], *t;
    struct kvm_sregs cs, s;
    int rc = -1, copy_all = vmm_fault(vm, "start-copies-caller-state");

    if (vcpu >= vm->nvcpus || caller >= vm->nvcpus)
        return -1;
    t = &vm->vcpus[vcpu];
    /* The caller is in its own exit handler: its state is current. */
    if (vmm_get_sregs(c, &cs) != 0)
        return -1;
    /*
     * The caller's mode and descriptor tables (VMI-CPU-024); FS, GS, TR,
     * LDTR, CR2 and CR8 as at power-up (VMI-CPU-025).  The fault copies
     * every segment from the caller, as the first draft allowed.
     */
    s = copy_all ? cs : t->reset.sregs;
    s.cr0 = cs.cr0;
    s.cr4 = cs.cr4;
    s.efer = cs.efer;
    s.gdt = cs.gdt;
    s.idt = cs.idt;
    s.cs = cs.cs;
    s.ds = cs.ds;
    s.es = cs.es;
    s.ss = cs.ss;
    if ((s.efer & 0x400) && !copy_all) /* long mode: a 64-bit busy TSS */
        s.tr.type = 11;
    s.cr3 = st->page_table_gpa;
    s.apic_base = t->apic_base; /* not the caller's BSP flag */
    memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
    pthread_mutex_lock(&vm->lock);
    if (!t->started) {
        t->start_sregs = s;
        t->start_reset = !copy_all;
        memset(&t->start_regs, 0, sizeof(t->start_regs));
        t->start_regs.rip = st->entry_gva;
        t->start_regs.rsp = st->stack_gva;
        t->start_regs.rdi = st->arg;
        t->start_regs.rflags = 0x2;
        t->start_pending = 1;
        t->started = 1;
        pthread_cond_broadcast(&vm->cond);
        rc = 0;
    }
    pthread_mutex_unlock(&vm->lock);
    return rc;
}

/*
 * Flush vCPU v's guest translations from its own thread, outside KVM_RUN.
 * KVM_SET_SREGS only resets the MMU context when CR3 (or CR0/CR4/EFER)
 * changes, so the CR3 is changed (PWT toggled) and put back: two MMU
 * resets, after which no translation cached before survives (shadow
 * paging on KVM-PVM, EPT/NPT roots on hardware KVM).
 */
static int flush_own_tlb(struct vmm_vcpu *v)
{
    struct kvm_sregs s;
    uint64_t cr3;

    if (ioctl(v->fd, KVM_GET_SREGS, &s) != 0)
        return -1;
    cr3 = s.cr3;
    s.cr3 = cr3 ^ 0x8;
    if (ioctl(v->fd, KVM_SET_SREGS, &s) != 0)
        return -1;
    s.cr3 = cr3;
    if (ioctl(v->fd, KVM_SET_SREGS, &s) != 0)
        return -1;
    /* Keep the sync-regs copy of sregs coherent for get_sregs. */
    if (v->vm->sync_regs)
        v->run->s.regs.sregs = s;
    return 0;
}

/*
 * Called with vm->lock held: serve a flush asked by another vCPU.  A flush
 * cannot fail (VMI-TLB-022): if KVM refuses it, this vCPU must not run guest
 * code again on stale translations, so the VM stops (as vmm_stop, which
 * would take the lock we hold).
 */
void vmm_serve_flush_locked(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;

    if (!v->flush_req)
        return;
    if (flush_own_tlb(v) != 0 && !vm->stop) {
        vm->stop = 1;
        vm->exit_code = VMM_EXIT_ERROR;
        snprintf(vm->exit_msg, sizeof(vm->exit_msg),
                 "vCPU %u: TLB flush failed: %s", v->id, strerror(errno));
        pthread_cond_broadcast(&vm->timer_cond);
    }
    v->flush_req = 0;
    v->remote_flushes++;
    pthread_cond_broadcast(&v->vm->cond);
}

static void cb_flush_tlb(void *ctx, uint32_t caller, const uint64_t *vcpus,
                         const struct vmi_tlb_range *ranges, uint32_t count,
                         uint32_t flags)
{
    struct vmm *vm = ctx;
    struct vmm_vcpu *c = &vm->vcpus[caller];
    int self = 0;

    (void)ranges; /* every translation goes: a superset of the ranges */
    (void)count;
    (void)flags;
    pthread_mutex_lock(&vm->lock);
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        if (!(vcpus[i / 64] >> (i % 64) & 1))
            continue;
        if (i == caller) {
            self = 1;
            continue;
        }
        if (vm->vcpus[i].started)
            vm->vcpus[i].flush_req = 1;
    }
    pthread_mutex_unlock(&vm->lock);
    for (uint32_t i = 0; i < vm->nvcpus; i++)
        if (i != caller && (vcpus[i / 64] >> (i % 64) & 1))
            vmm_kick_vcpu(&vm->vcpus[i]);
    pthread_mutex_lock(&vm->lock);
    for (;;) {
        int pending = 0;

        /* Serve flushes aimed at us meanwhile: two vCPUs may cross. */
        vmm_serve_flush_locked(c);
        for (uint32_t i = 0; i < vm->nvcpus; i++)
            pending |= vm->vcpus[i].flush_req && i != caller &&
                       (vcpus[i / 64] >> (i % 64) & 1);
        if (!pending || vm->stop)
            break;
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
    pthread_mutex_unlock(&vm->lock);
    /* Cannot fail (VMI-TLB-022): the VM stops rather than run stale. */
    if (self && flush_own_tlb(c) != 0)
        vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: TLB flush failed: %s", caller,
                 strerror(errno));
}

static void cb_violation(void *ctx, uint32_t vcpu, const char *clause,
                         const char *what)
{
    (void)ctx;
    fprintf(stderr, "vmi-run: strict: vCPU %u violates %s: %s\n", vcpu,
            clause ? clause : "(no clause)", what ? what : "");
}

static void cb_timers_changed(void *ctx)
{
    struct vmm *vm = ctx;

    pthread_mutex_lock(&vm->lock);
    vm->timers_changed = 1;
    pthread_cond_signal(&vm->timer_cond);
    pthread_mutex_unlock(&vm->lock);
}

static const struct vmi_host_ops host_ops = {
    .map = cb_map,
    .now_ns = cb_now_ns,
    .rdtsc = cb_rdtsc,
    .kick = cb_kick,
    .console = cb_console,
    .release = cb_release,
    .reclaim = cb_reclaim,
    .start_vcpu = cb_start_vcpu,
    .stop_vcpu = cb_stop_vcpu,
    .flush_tlb = cb_flush_tlb,
    .violation = cb_violation,
    .timers_changed = cb_timers_changed,
};

/* The VM's host-lib instance, from vmi-run's options. */
int vmm_host_create(struct vmm *vm, char *why, size_t why_len)
{
    struct vmi_host_config cfg;
    char hwhy[256] = "";

    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = &host_ops;
    cfg.ctx = vm;
    cfg.vcpu_count = vm->nvcpus;
    cfg.timer_count = vm->opts.timer_count;
    cfg.ram_bytes = vm->ram_bytes;
    cfg.tsc_hz = vm->tsc_hz;
    /*
     * KVM pages the guest with EPT/NPT, so the page-table profile is an
     * option (--pagetable): host-lib then validates and writes the guest's
     * own page-table entries, which the hardware walks as usual.
     */
    cfg.features = VMI_PROFILE_CORE_FEATURES;
    if (vm->opts.pagetable)
        cfg.features |= VMI_PROFILE_PAGETABLE_FEATURES;
    cfg.transports = VMI_TRANSPORT_PORTIO;
    cfg.port = vm->opts.port;
    cfg.tsc_stable = 1; /* one TSC offset for every vCPU, set below */
    cfg.strict = (uint32_t)vm->opts.strict;
    cfg.vendor = "vmi-run (OpenVMI reference VMM on Linux KVM)";
    if (vmi_host_vm_create(&cfg, &vm->host, hwhy, sizeof(hwhy)) != 0) {
        snprintf(why, why_len, "host-lib rejected the VM config: %s", hwhy);
        return -1;
    }
    return 0;
}

/*
 * The guest's wall clock follows the host's: offset = CLOCK_REALTIME -
 * VM clock, set at boot and again after a restore (the VM clock stood
 * still while the VM was saved; real time did not).
 */
void vmm_set_wall_clock(struct vmm *vm)
{
    struct timespec ts;
    int64_t real;

    clock_gettime(CLOCK_REALTIME, &ts);
    real = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    vmi_host_set_wall_offset(vm->host,
                             real - (int64_t)vmi_host_clock_now(vm->host));
}

/* ---- upcalls, the doorbell call and BLOCK
 * -------------------------------------------------------- */

/*
 * Upcall delivery.  With --kernel-irqchip the in-kernel local APIC takes
 * an MSI to the vCPU's APIC id (what a Linux guest needs).  By default the
 * vector is queued here and injected with KVM_INTERRUPT when the guest can
 * take it (IF set, no interrupt shadow), asking KVM for an interrupt-window
 * exit meanwhile: KVM-PVM does not deliver in-kernel APIC interrupts to
 * guest CPL0 code, which it emulates.
 */
static void inject(struct vmm_vcpu *v, uint32_t vector)
{
    if (!v->vm->opts.kernel_irqchip) {
        v->irq_pending[vector / 64] |= 1ull << (vector % 64);
        v->upcalls++;
        return;
    }
    struct kvm_msi msi = {
        .address_lo = 0xFEE00000u | (v->id << 12), /* physical dest = id */
        .address_hi = 0,
        .data = vector, /* fixed delivery, edge */
    };

    int r = ioctl(v->vm->vm_fd, KVM_SIGNAL_MSI, &msi);

    if (r < 0)
        fprintf(stderr, "vmi-run: vCPU %u: KVM_SIGNAL_MSI vector %u: %s\n",
                v->id, vector, strerror(errno));
    else if (r == 0)
        v->upcalls_lost++; /* the APIC refused it (software disabled) */
    else
        v->upcalls++;
}

void vmm_take_upcalls(struct vmm_vcpu *v)
{
    uint32_t vec;

    if (!atomic_exchange(&v->kicked, 0))
        return;
    while (vmi_host_take_upcall(v->vm->host, v->id, &vec) == 1)
        inject(v, vec);
}

/*
 * Sleep until host-lib lets the BLOCKed vCPU go (kick or deadline), serving
 * flushes and pauses meanwhile.  Returns 1 when the VM stops.
 */
/*
 * How long before a deadline a blocked vCPU stops sleeping and spins
 * (ns): the host's own timed waits end late (this machine is itself a
 * VM), so a vCPU woken at the deadline would resume tens of microseconds
 * after it.  Learnt per vCPU from how late its timed waits end, as KVM's
 * lapic_timer_advance_ns is; bounded so that a spin stays short.
 */
#define ADVANCE_INIT_NS 20000u
#define ADVANCE_MAX_NS 100000u

/*
 * BLOCK: sleep until host-lib ends the call.  The wait also ends at the
 * earliest timer deadline of the VM, which this thread then fires itself
 * (no hand-over to the timer thread and back): an idle vCPU waiting for
 * its own timer wakes once, on time.
 */
static int block_wait(struct vmm_vcpu *v, struct vmi_host_call *call)
{
    struct vmm *vm = v->vm;

    pthread_mutex_lock(&vm->lock);
    v->blocked = 1;
    pthread_mutex_unlock(&vm->lock);
    if (!v->advance_ns)
        v->advance_ns = ADVANCE_INIT_NS;
    for (int first = 1;;) {
        uint64_t dl = call->deadline_ns, next, now, wait_ns = 0;
        int timed = 0;

        vmm_take_upcalls(v);
        if (vmi_host_block_check(vm->host, v->id, call) == 1)
            break;
        /*
         * --spurious-wakes: every other BLOCK that would sleep returns at
         * once with VMI_WAKE_SPURIOUS, which VMI-EVT-045 allows and a
         * guest must take as "test again" (VMI-EVT-049).
         */
        if (vm->opts.spurious_wakes && first && !(v->blocks_seen++ & 1) &&
            vmi_host_block_end(vm->host, v->id, VMI_WAKE_SPURIOUS, call) == 1) {
            v->spurious_wakes += call->rets[0] == VMI_WAKE_SPURIOUS;
            break;
        }
        first = 0;
        next = vmi_host_next_deadline(vm->host);
        if (next < dl)
            dl = next;
        if (dl != VMI_DEADLINE_NONE) {
            now = vmi_host_clock_now(vm->host);
            if (now >= dl) {
                /* Due: expire what is due here, then look again. */
                while (vmi_host_timers_fire(vm->host, 64) == 64)
                    ;
                continue;
            }
            wait_ns = dl - now;
            if (wait_ns <= v->advance_ns) {
                /* Close: spin to the deadline (or a kick). */
                while (vmi_host_clock_now(vm->host) < dl &&
                       !atomic_load(&v->kicked))
                    _mm_pause();
                continue;
            }
            wait_ns -= v->advance_ns;
            timed = 1;
        }
        pthread_mutex_lock(&vm->lock);
        if (vmm_service_locked(v)) {
            pthread_mutex_unlock(&vm->lock);
            return 1;
        }
        if (!atomic_load(&v->kicked) && !v->flush_req) {
            if (timed) {
                struct timespec ts;
                uint64_t target = vmm_now_ns() + wait_ns;

                vmm_deadline_ts(&ts, target);
                if (pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) ==
                    ETIMEDOUT) {
                    uint64_t late = vmm_now_ns() - target;

                    /* Learn: an average of how late timed waits end. */
                    late = late > ADVANCE_MAX_NS ? ADVANCE_MAX_NS : late;
                    v->advance_ns = (v->advance_ns * 7 + late) / 8;
                }
            } else {
                pthread_cond_wait(&vm->cond, &vm->lock);
            }
        }
        pthread_mutex_unlock(&vm->lock);
    }
    pthread_mutex_lock(&vm->lock);
    v->blocked = 0;
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

static int shutdown_vm(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;
    uint32_t reason = 0, status = 0;

    vmi_host_shutdown_info(vm->host, &reason, &status);
    switch (reason) {
    case VMI_SHUTDOWN_POWEROFF:
        if (status <= VMM_EXIT_GUEST_MAX)
            vmm_stop(vm, (int)status, "guest powered off with status %u",
                     status);
        else
            vmm_stop(vm, VMM_EXIT_GUEST_HIGH,
                     "guest powered off with status %u (above %u: reported "
                     "as exit code %d)",
                     status, VMM_EXIT_GUEST_MAX, VMM_EXIT_GUEST_HIGH);
        break;
    case VMI_SHUTDOWN_REBOOT:
        vmm_stop(vm, VMM_EXIT_REBOOT,
                 "guest asked for a reboot (status %u); vmi-run does not "
                 "reboot",
                 status);
        break;
    default:
        vmm_stop(vm, VMM_EXIT_PANIC,
                 "guest panicked (SHUTDOWN CRASH, status %u)", status);
        break;
    }
    return 1;
}

/* One port-I/O doorbell hypercall.  Returns 1 when the VM stops. */
int vmm_hypercall(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;
    struct vmi_host_call call;
    struct kvm_regs tmp, *r = vmm_regs_of(v, &tmp);
    struct kvm_sregs s;

    if (!r) {
        vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: KVM_GET_REGS: %s", v->id,
                 strerror(errno));
        return 1;
    }
    if (vmm_get_sregs(v, &s) != 0) {
        vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: KVM_GET_SREGS: %s", v->id,
                 strerror(errno));
        return 1;
    }
    memset(&call, 0, sizeof(call));
    call.nr = r->rax;
    call.args[0] = r->rdi;
    call.args[1] = r->rsi;
    call.args[2] = r->r8;
    call.args[3] = r->r9;
    call.args[4] = r->r10;
    /* VMI-CALL-017: every CPL above 0 is user mode, CPL1 and CPL2 too. */
    call.user = (s.cs.selector & 3) != 0;
    /* For strict mode: BLOCK wants interrupts disabled (VMI-EVT-048). */
    call.irq_enabled = (r->rflags >> 9) & 1;
    v->hypercalls++;
    if (vmi_host_hypercall(vm->host, v->id, &call) != 0) {
        vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: host-lib refused the call",
                 v->id);
        return 1;
    }
    if (call.nr == VMI_HC_CONSOLE_WRITE && call.status == -VMI_E_AGAIN) {
        uint64_t refused = call.args[1] - call.rets[0];

        pthread_mutex_lock(&vm->console_lock);
        vm->console_refused += refused;
        refused = vm->console_refused;
        pthread_mutex_unlock(&vm->console_lock);
        if (refused > vm->opts.console_flood_bytes) {
            vmm_stop(vm, VMM_EXIT_FLOOD,
                     "console flood: vCPU %u kept writing past the rate limit "
                     "(%llu bytes refused, limit %llu)",
                     v->id, (unsigned long long)refused,
                     (unsigned long long)vm->opts.console_flood_bytes);
            return 1;
        }
    }
    if (call.action == VMI_HOST_SHUTDOWN)
        return shutdown_vm(v);
    if (call.action == VMI_HOST_STOP) { /* VCPU_STOP: park this thread */
        pthread_mutex_lock(&vm->lock);
        v->stop_req = 1;
        pthread_mutex_unlock(&vm->lock);
        return 1;
    }
    if (call.action == VMI_HOST_BLOCK && block_wait(v, &call))
        return 1;
    /* The BLOCK wait may have rewritten sync regs (TLB flush): re-fetch. */
    r = vmm_regs_of(v, &tmp);
    if (!r) {
        vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: KVM_GET_REGS: %s", v->id,
                 strerror(errno));
        return 1;
    }
    r->rax = (uint64_t)call.status;
    r->rdi = call.rets[0];
    r->rsi = call.rets[1];
    /*
     * The test-only fault block-sets-if returns from BLOCK with interrupts
     * enabled, as an `sti; hlt` emulation would; VMI-EVT-046 forbids it.
     */
    if (call.nr == VMI_HC_BLOCK && call.status == 0 &&
        vmm_fault(vm, "block-sets-if"))
        r->rflags |= 1u << 9;
    if (vmm_put_regs(v, r) != 0) {
        vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: KVM_SET_REGS: %s", v->id,
                 strerror(errno));
        return 1;
    }
    return 0;
}

/*
 * Steal time: how long this vCPU thread was runnable but waiting for a
 * host CPU (the run_delay field of /proc/thread-self/schedstat), handed to
 * host-lib at most every 10 ms so the cost stays off the exit path.
 */
uint64_t vmm_read_run_delay(int fd)
{
    char buf[128];
    unsigned long long run = 0, delay = 0;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

    if (n <= 0)
        return 0;
    buf[n] = 0;
    if (sscanf(buf, "%llu %llu", &run, &delay) != 2)
        return 0;
    return delay;
}

void vmm_steal_update(struct vmm_vcpu *v, struct steal_clock *sc)
{
    uint64_t now = vmm_now_ns(), delay;

    if (sc->fd < 0 || now < sc->next_check_ns)
        return;
    sc->next_check_ns = now + 10000000u;
    delay = vmm_read_run_delay(sc->fd);
    if (delay > sc->last_delay_ns)
        vmi_host_steal_account(v->vm->host, v->id, delay - sc->last_delay_ns);
    sc->last_delay_ns = delay;
}

/* Delivers expired timers; sleeps until the next deadline or a change. */
void *vmm_timer_thread(void *arg)
{
    struct vmm *vm = arg;

    vmm_tight_timer_slack();
    pthread_mutex_lock(&vm->lock);
    while (!vm->stop) {
        uint64_t next, now;

        /* A snapshot needs host-lib quiet: no expiry between its parts. */
        if (vm->pause_req) {
            vm->timer_paused = 1;
            pthread_cond_broadcast(&vm->cond);
            pthread_cond_wait(&vm->timer_cond, &vm->lock);
            continue;
        }
        vm->timer_paused = 0;
        vm->timers_changed = 0;
        pthread_mutex_unlock(&vm->lock);
        while (vmi_host_timers_fire(vm->host, 64) == 64)
            ;
        next = vmi_host_next_deadline(vm->host);
        now = vmi_host_clock_now(vm->host);
        pthread_mutex_lock(&vm->lock);
        if (vm->stop || vm->timers_changed)
            continue;
        if (next == VMI_DEADLINE_NONE) {
            pthread_cond_wait(&vm->timer_cond, &vm->lock);
        } else if (next > now) {
            struct timespec ts;

            vmm_deadline_ts(&ts, vmm_now_ns() + (next - now));
            pthread_cond_timedwait(&vm->timer_cond, &vm->lock, &ts);
        }
    }
    pthread_mutex_unlock(&vm->lock);
    return NULL;
}
