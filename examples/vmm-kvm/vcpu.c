/* SPDX-License-Identifier: MIT */
/*
 * vcpu.c: the vCPU threads of vmi-run: KVM_RUN and its exits, kicks out of
 * the guest, interrupt injection, entry state, pauses and snapshots of
 * vCPU state, and running the VM (vmm_run) until it stops.
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

static __thread struct kvm_run *this_run;

static const char *exit_name(uint32_t r)
{
    static const char *const names[] = {
        [KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
        [KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
        [KVM_EXIT_IO] = "KVM_EXIT_IO",
        [KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
        [KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
        [KVM_EXIT_HLT] = "KVM_EXIT_HLT",
        [KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
        [KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
        [KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
        [KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
        [KVM_EXIT_INTR] = "KVM_EXIT_INTR",
        [KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
        [KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
        [KVM_EXIT_NMI] = "KVM_EXIT_NMI",
        [KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
        [KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
    };

    if (r < sizeof(names) / sizeof(names[0]) && names[r])
        return names[r];
    return "unknown exit reason";
}

static const char *internal_name(uint32_t s)
{
    switch (s) {
    case KVM_INTERNAL_ERROR_EMULATION:
        return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX:
        return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
        return "event delivery failed";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
        return "unexpected hardware exit reason";
    default:
        return "other";
    }
}

/* Make vCPU v leave KVM_RUN (or not enter it) and look at its state. */
void vmm_kick_vcpu(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;

    atomic_store(&v->kicked, 1);
    if (v->thread_ok && atomic_load(&v->in_run))
        pthread_kill(v->thread, SIGUSR1);
    pthread_mutex_lock(&vm->lock);
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
}

int vmm_get_sregs(struct vmm_vcpu *v, struct kvm_sregs *s)
{
    if (v->vm->sync_regs) {
        *s = v->run->s.regs.sregs;
        return 0;
    }
    return ioctl(v->fd, KVM_GET_SREGS, s);
}

void vmm_sig_kick(int sig)
{
    (void)sig;
    if (this_run)
        this_run->immediate_exit = 1;
}

/* User-space injection: hand the highest pending vector to KVM if it fits. */
static void deliver_irq(struct vmm_vcpu *v)
{
    struct kvm_run *run = v->run;
    int vec = -1;

    if (v->vm->opts.kernel_irqchip)
        return;
    for (int w = 3; w >= 0 && vec < 0; w--)
        if (v->irq_pending[w])
            vec = w * 64 + 63 - __builtin_clzll(v->irq_pending[w]);
    if (vec < 0) {
        run->request_interrupt_window = 0;
        return;
    }
    if (run->ready_for_interrupt_injection && run->if_flag) {
        struct kvm_interrupt irq = {.irq = (uint32_t)vec};

        if (ioctl(v->fd, KVM_INTERRUPT, &irq) == 0)
            v->irq_pending[vec / 64] &= ~(1ull << (vec % 64));
    }
    run->request_interrupt_window =
        (v->irq_pending[0] | v->irq_pending[1] | v->irq_pending[2] |
         v->irq_pending[3]) != 0;
}

static int irq_queued(struct vmm_vcpu *v)
{
    return (v->irq_pending[0] | v->irq_pending[1] | v->irq_pending[2] |
            v->irq_pending[3]) != 0;
}

/* Capture this vCPU's state for a snapshot (own thread, lock held). */
static void capture_locked(struct vmm_vcpu *v)
{
    struct vmm_vcpu_state *s = &v->saved;

    memset(s, 0, sizeof(*s));
    s->started = (uint32_t)v->started && !v->start_pending;
    s->blocked = (uint32_t)v->blocked;
    if (!s->started)
        return;
    /*
     * Complete the I/O exit KVM may still hold (hardware KVM advances RIP
     * past the OUT only on the next KVM_RUN; KVM-PVM's emulator already
     * has) without running guest code.  A vCPU inside BLOCK has no results
     * written yet: its registers still hold the call, which the restoring
     * process issues again.
     */
    v->run->immediate_exit = 1;
    ioctl(v->fd, KVM_RUN, 0);
    v->run->immediate_exit = 0;
    memcpy(s->irq_pending, v->irq_pending, sizeof(s->irq_pending));
    if (ioctl(v->fd, KVM_GET_REGS, &s->regs) ||
        ioctl(v->fd, KVM_GET_SREGS, &s->sregs) ||
        (v->vm->opts.kernel_irqchip &&
         ioctl(v->fd, KVM_GET_LAPIC, &s->lapic)) ||
        ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->events) ||
        ioctl(v->fd, KVM_GET_MP_STATE, &s->mp))
        fprintf(stderr, "vmi-run: vCPU %u: reading state: %s\n", v->id,
                strerror(errno));
}

/*
 * Serve flush, pause and stop requests before entering the guest.  Returns
 * 1 when the thread must end.  Lock held.
 */
int vmm_service_locked(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;

    for (;;) {
        if (vm->stop || v->stop_req)
            return 1;
        vmm_serve_flush_locked(v);
        if (vm->pause_req && !v->paused) {
            capture_locked(v);
            v->paused = 1;
            vm->paused_count++;
            pthread_cond_broadcast(&vm->cond);
        }
        if (!vm->pause_req)
            return 0;
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
}

/*
 * The MSRs a started vCPU gets at their power-up values (VMI-CPU-025 and
 * the rest of VMI-CPU-026): PAT, the SYSENTER and SYSCALL MSRs,
 * KERNEL_GS_BASE, TSC_AUX, DEBUGCTL, the MTRRs and the TSC deadline.  Not
 * the TSC: it is the VM's.  KVM refuses the ones the vCPU's CPUID lacks.
 */
static const uint32_t reset_msr_index[] = {
    0x277,                         /* IA32_PAT */
    0x174,      0x175,      0x176, /* IA32_SYSENTER_CS, _ESP, _EIP */
    0xC0000081, 0xC0000082, 0xC0000083, 0xC0000084, /* STAR .. FMASK */
    0xC0000102,                                     /* IA32_KERNEL_GS_BASE */
    0xC0000103,                                     /* IA32_TSC_AUX */
    0x1D9,                                          /* IA32_DEBUGCTL */
    0x6E0,                                          /* IA32_TSC_DEADLINE */
    0x2FF,                                          /* IA32_MTRR_DEF_TYPE */
    0x250,      0x258,      0x259,                  /* fixed-range MTRRs */
    0x268,      0x269,      0x26A,      0x26B,      0x26C, 0x26D,
    0x26E,      0x26F,      0x200,      0x201,      0x202, 0x203,
    0x204,      0x205,      0x206,      0x207, /* variable */
    0x208,      0x209,      0x20A,      0x20B,      0x20C, 0x20D,
    0x20E,      0x20F,
};

int vmm_reset_capture(struct vmm_vcpu *v)
{
    struct vmm_reset *r = &v->reset;
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e;
    } m;

    if (ioctl(v->fd, KVM_GET_SREGS, &r->sregs) != 0 ||
        ioctl(v->fd, KVM_GET_VCPU_EVENTS, &r->events) != 0)
        return -1;
    if (ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
        r->xsave = calloc(1, sizeof(*r->xsave));
        if (!r->xsave || ioctl(v->fd, KVM_GET_XSAVE, r->xsave) != 0) {
            free(r->xsave);
            r->xsave = NULL;
        }
    }
    if (!r->xsave && ioctl(v->fd, KVM_GET_FPU, &r->fpu) != 0)
        return -1;
    r->has_xcrs = ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0 &&
                  ioctl(v->fd, KVM_GET_XCRS, &r->xcrs) == 0;
    r->has_dregs = ioctl(v->fd, KVM_GET_DEBUGREGS, &r->dregs) == 0;
    r->has_lapic = v->vm->opts.kernel_irqchip &&
                   ioctl(v->fd, KVM_GET_LAPIC, &r->lapic) == 0;
    r->nmsrs = 0;
    for (size_t i = 0;
         i < sizeof(reset_msr_index) / sizeof(reset_msr_index[0]) &&
         r->nmsrs < VMM_RESET_MSRS;
         i++) {
        memset(&m, 0, sizeof(m));
        m.h.nmsrs = 1;
        m.e.index = reset_msr_index[i];
        if (ioctl(v->fd, KVM_GET_MSRS, &m) == 1)
            r->msrs[r->nmsrs++] = m.e;
    }
    return 0;
}

void vmm_reset_free(struct vmm_vcpu *v)
{
    free(v->reset.xsave);
    v->reset.xsave = NULL;
}

/* Everything of the power-up state but the sregs, which start_sregs has. */
static int reset_load(struct vmm_vcpu *v)
{
    struct vmm_reset *r = &v->reset;
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e[VMM_RESET_MSRS];
    } m;

    if (r->xsave ? ioctl(v->fd, KVM_SET_XSAVE, r->xsave)
                 : ioctl(v->fd, KVM_SET_FPU, &r->fpu))
        return -1;
    if (r->has_xcrs && ioctl(v->fd, KVM_SET_XCRS, &r->xcrs) != 0)
        return -1;
    if (r->has_dregs && ioctl(v->fd, KVM_SET_DEBUGREGS, &r->dregs) != 0)
        return -1;
    memset(&m, 0, sizeof(m));
    m.h.nmsrs = r->nmsrs;
    memcpy(m.e, r->msrs, r->nmsrs * sizeof(m.e[0]));
    if (ioctl(v->fd, KVM_SET_MSRS, &m) != (int)r->nmsrs)
        return -1;
    return ioctl(v->fd, KVM_SET_VCPU_EVENTS, &r->events);
}

static int apply_start(struct vmm_vcpu *v)
{
    struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
    struct vmm_vcpu_state *s = &v->saved;

    if (v->restore_pending) {
        memcpy(v->irq_pending, s->irq_pending, sizeof(v->irq_pending));
        if (ioctl(v->fd, KVM_SET_SREGS, &s->sregs) ||
            ioctl(v->fd, KVM_SET_REGS, &s->regs) ||
            (v->vm->opts.kernel_irqchip &&
             ioctl(v->fd, KVM_SET_LAPIC, &s->lapic)) ||
            ioctl(v->fd, KVM_SET_MP_STATE, &s->mp) ||
            ioctl(v->fd, KVM_SET_VCPU_EVENTS, &s->events))
            return -1;
        v->restore_pending = 0;
        return 0;
    }
    if (v->start_reset && reset_load(v) != 0)
        return -1;
    if (ioctl(v->fd, KVM_SET_SREGS, &v->start_sregs) ||
        (v->start_reset && v->reset.has_lapic &&
         ioctl(v->fd, KVM_SET_LAPIC, &v->reset.lapic)) ||
        ioctl(v->fd, KVM_SET_REGS, &v->start_regs) ||
        ioctl(v->fd, KVM_SET_MP_STATE, &mp))
        return -1;
    /* Without an in-kernel APIC, KVM_RUN loads CR8 from kvm_run. */
    v->run->cr8 = v->start_sregs.cr8;
    return 0;
}

struct kvm_regs *vmm_regs_of(struct vmm_vcpu *v, struct kvm_regs *tmp)
{
    if (v->vm->sync_regs)
        return &v->run->s.regs.regs;
    if (ioctl(v->fd, KVM_GET_REGS, tmp) != 0)
        return NULL;
    return tmp;
}

int vmm_put_regs(struct vmm_vcpu *v, struct kvm_regs *r)
{
    if (v->vm->sync_regs) {
        v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
        return 0;
    }
    return ioctl(v->fd, KVM_SET_REGS, r);
}

static uint64_t rip_of(struct vmm_vcpu *v)
{
    struct kvm_regs r;

    if (v->vm->sync_regs)
        return v->run->s.regs.regs.rip;
    if (ioctl(v->fd, KVM_GET_REGS, &r) != 0)
        return 0;
    return r.rip;
}

/*
 * HLT without the in-kernel APIC: sleep until an interrupt can wake the
 * vCPU (an upcall to inject while IF is set).  Returns 1 when the VM stops.
 */
static int halt_wait(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;
    int if_set = v->run->if_flag;

    for (;;) {
        int r;

        vmm_take_upcalls(v);
        if (irq_queued(v) && if_set)
            return 0;
        pthread_mutex_lock(&vm->lock);
        r = vmm_service_locked(v);
        if (!r && !atomic_load(&v->kicked) && !v->flush_req)
            pthread_cond_wait(&vm->cond, &vm->lock);
        pthread_mutex_unlock(&vm->lock);
        if (r)
            return 1;
    }
}

/* Handle one exit.  Returns 1 when the VM stops. */
static int handle_exit(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;
    struct kvm_run *run = v->run;

    if (v->exits++ == 0)
        v->first_exit_ns = vmm_now_ns();
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        v->io_exits++;
        if (run->io.port == vm->opts.port &&
            run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 4 &&
            run->io.count == 1)
            return vmm_hypercall(v);
        /* Other ports: no device; reads see all ones, as on hardware. */
        if (run->io.direction == KVM_EXIT_IO_IN)
            memset((char *)run + run->io.data_offset, 0xFF,
                   (size_t)run->io.size * run->io.count);
        return 0;
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        return 0;
    case KVM_EXIT_HLT:
        return halt_wait(v);
    case KVM_EXIT_SHUTDOWN:
        vmm_stop(vm, VMM_EXIT_CRASH,
                 "guest crashed: triple fault (KVM_EXIT_SHUTDOWN) on vCPU %u, "
                 "RIP 0x%llx",
                 v->id, (unsigned long long)rip_of(v));
        return 1;
    case KVM_EXIT_INTERNAL_ERROR:
        vmm_stop(vm, VMM_EXIT_CRASH,
                 "guest crashed: KVM_EXIT_INTERNAL_ERROR suberror %u (%s) on "
                 "vCPU %u, RIP 0x%llx",
                 run->internal.suberror, internal_name(run->internal.suberror),
                 v->id, (unsigned long long)rip_of(v));
        return 1;
    case KVM_EXIT_FAIL_ENTRY:
        vmm_stop(
            vm, VMM_EXIT_CRASH,
            "guest crashed: KVM_EXIT_FAIL_ENTRY (hardware reason 0x%llx) "
            "on vCPU %u, RIP 0x%llx",
            (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
            v->id, (unsigned long long)rip_of(v));
        return 1;
    case KVM_EXIT_MMIO:
        /* Without the in-kernel APIC, its page reads 0 and ignores writes
         * (the guest's EOI and enable writes). */
        if (!vm->opts.kernel_irqchip &&
            (run->mmio.phys_addr & ~0xFFFull) == 0xFEE00000ull) {
            if (!run->mmio.is_write)
                memset(run->mmio.data, 0, sizeof(run->mmio.data));
            return 0;
        }
        vmm_stop(vm, VMM_EXIT_CRASH,
                 "guest crashed: %s of %u bytes at GPA 0x%llx outside RAM "
                 "(KVM_EXIT_MMIO) on vCPU %u, RIP 0x%llx",
                 run->mmio.is_write ? "write" : "read", run->mmio.len,
                 (unsigned long long)run->mmio.phys_addr, v->id,
                 (unsigned long long)rip_of(v));
        return 1;
    default:
        vmm_stop(
            vm, VMM_EXIT_CRASH,
            "guest crashed: unexpected exit %u (%s) on vCPU %u, RIP 0x%llx",
            run->exit_reason, exit_name(run->exit_reason), v->id,
            (unsigned long long)rip_of(v));
        return 1;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vmm_vcpu *v = arg;
    struct vmm *vm = v->vm;
    struct steal_clock sc = {.fd = -1};

    this_run = v->run;
    vmm_tight_timer_slack(); /* BLOCK deadlines wait on this thread */
park:
    /* Parked until VCPU_START (vCPU 0 and restored vCPUs start at once). */
    pthread_mutex_lock(&vm->lock);
    for (;;) {
        if (vmm_service_locked(v)) {
            pthread_mutex_unlock(&vm->lock);
            return NULL;
        }
        if (v->start_pending || v->restore_pending)
            break;
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
    v->start_pending = 0;
    pthread_mutex_unlock(&vm->lock);
    {
        int was_blocked = v->restore_pending && v->saved.blocked;

        if (apply_start(v) != 0) {
            vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: setting the entry state: %s",
                     v->id, strerror(errno));
            return NULL;
        }
        /* Saved inside BLOCK: make the same call again (see capture). */
        if (was_blocked) {
            if (vm->sync_regs) {
                v->run->s.regs.regs = v->saved.regs;
                v->run->s.regs.sregs = v->saved.sregs;
            }
            if (vmm_hypercall(v))
                goto out;
        }
    }
    sc.fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    sc.last_delay_ns = sc.fd >= 0 ? vmm_read_run_delay(sc.fd) : 0;
    sc.next_check_ns = 0;
    for (;;) {
        int r;

        vmm_take_upcalls(v);
        vmm_steal_update(v, &sc);
        pthread_mutex_lock(&vm->lock);
        r = vmm_service_locked(v);
        pthread_mutex_unlock(&vm->lock);
        if (r)
            break;
        deliver_irq(v);
        atomic_store(&v->in_run, 1);
        if (atomic_load(&v->kicked)) {
            atomic_store(&v->in_run, 0);
            continue;
        }
        r = ioctl(v->fd, KVM_RUN, 0);
        atomic_store(&v->in_run, 0);
        v->run->immediate_exit = 0;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: KVM_RUN: %s", v->id,
                     strerror(errno));
            break;
        }
        if (handle_exit(v))
            break;
    }
out:
    if (sc.fd >= 0)
        close(sc.fd);
    sc.fd = -1;
    /* Stopped (VCPU_STOP, or another vCPU's RESET): park until started. */
    pthread_mutex_lock(&vm->lock);
    if (v->stop_req && !vm->stop) {
        v->stop_req = 0;
        v->started = 0;
        v->blocked = 0;
        memset(v->irq_pending, 0, sizeof(v->irq_pending));
        v->run->request_interrupt_window = 0;
        pthread_cond_broadcast(&vm->cond);
        pthread_mutex_unlock(&vm->lock);
        goto park;
    }
    pthread_mutex_unlock(&vm->lock);
    v->last_rip = rip_of(v);
    return NULL;
}

static void save_now(struct vmm *vm)
{
    char why[256];

    if (vmm_pause_all(vm) != 0)
        return; /* the VM stopped on its own meanwhile */
    if (vmm_snapshot_save(vm, vm->opts.save_file, why, sizeof(why)) != 0)
        vmm_stop(vm, VMM_EXIT_ERROR, "saving the VM to %s failed: %s",
                 vm->opts.save_file, why);
    else
        vmm_stop(vm, 0, "VM saved to %s; resume it with --restore",
                 vm->opts.save_file);
}

static volatile sig_atomic_t save_signal;

static void sig_save(int sig)
{
    (void)sig;
    save_signal = 1;
}

int vmm_pause_all(struct vmm *vm)
{
    for (uint32_t i = 0; i < vm->nvcpus; i++)
        vm->vcpus[i].paused = 0;
    pthread_mutex_lock(&vm->lock);
    vm->pause_req = 1;
    vm->paused_count = 0;
    pthread_cond_signal(&vm->timer_cond);
    pthread_mutex_unlock(&vm->lock);
    for (uint32_t i = 0; i < vm->nvcpus; i++)
        vmm_kick_vcpu(&vm->vcpus[i]);
    pthread_mutex_lock(&vm->lock);
    while ((vm->paused_count < vm->nvcpus || !vm->timer_paused) && !vm->stop)
        pthread_cond_wait(&vm->cond, &vm->lock);
    pthread_mutex_unlock(&vm->lock);
    return vm->stop ? -1 : 0;
}

int vmm_run(struct vmm *vm)
{
    uint64_t t0 = vmm_now_ns(), timeout_at = UINT64_MAX, save_at = UINT64_MAX;
    struct sigaction sa;
    int err;

    vm->run_ns = t0;
    if (vm->opts.timeout_s > 0)
        timeout_at = t0 + (uint64_t)(vm->opts.timeout_s * 1e9);
    if (vm->opts.save_file && vm->opts.save_after_ms >= 0)
        save_at = t0 + (uint64_t)vm->opts.save_after_ms * 1000000u;
    if (vm->opts.save_file) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = sig_save;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR2, &sa, NULL);
    }
    err = pthread_create(&vm->timer_thread, NULL, vmm_timer_thread, vm);
    if (err) {
        vmm_stop(vm, VMM_EXIT_ERROR, "cannot create a thread: %s",
                 strerror(err));
        return VMM_EXIT_ERROR;
    }
    vm->timer_ok = 1;
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        struct vmm_vcpu *v = &vm->vcpus[i];

        err = pthread_create(&v->thread, NULL, vcpu_thread, v);
        if (err) {
            vmm_stop(vm, VMM_EXIT_ERROR, "cannot create a thread: %s",
                     strerror(err));
            break;
        }
        v->thread_ok = 1;
    }
    pthread_mutex_lock(&vm->lock);
    while (!vm->stop) {
        uint64_t now = vmm_now_ns(), until = timeout_at;
        struct timespec ts;

        if (now >= timeout_at) {
            pthread_mutex_unlock(&vm->lock);
            vmm_pause_all(vm); /* to report where each vCPU was */
            pthread_mutex_lock(&vm->lock);
            if (!vm->stop) {
                char where[256] = "";
                size_t n = 0;

                for (uint32_t i = 0; i < vm->nvcpus && n < sizeof(where); i++)
                    if (vm->vcpus[i].saved.started)
                        n += (size_t)snprintf(
                            where + n, sizeof(where) - n,
                            " vCPU %u RIP 0x%llx%s", i,
                            (unsigned long long)vm->vcpus[i].saved.regs.rip,
                            vm->vcpus[i].saved.blocked ? " (in BLOCK)" : "");
                pthread_mutex_unlock(&vm->lock);
                vmm_stop(vm, VMM_EXIT_TIMEOUT,
                         "timeout: the guest still ran after %g s:%s",
                         vm->opts.timeout_s, where);
                pthread_mutex_lock(&vm->lock);
            }
            break;
        }
        if (now >= save_at || save_signal) {
            save_at = UINT64_MAX;
            save_signal = 0;
            pthread_mutex_unlock(&vm->lock);
            save_now(vm);
            pthread_mutex_lock(&vm->lock);
            continue;
        }
        if (save_at < until)
            until = save_at;
        if (vm->opts.save_file && now + 50000000u < until)
            until = now + 50000000u; /* poll for SIGUSR2 */
        if (until == UINT64_MAX) {
            pthread_cond_wait(&vm->cond, &vm->lock);
        } else {
            vmm_deadline_ts(&ts, until);
            pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
        }
    }
    pthread_mutex_unlock(&vm->lock);
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        struct vmm_vcpu *v = &vm->vcpus[i];

        if (v->thread_ok) {
            pthread_join(v->thread, NULL);
            v->thread_ok = 0;
        }
    }
    if (vm->timer_ok) {
        pthread_join(vm->timer_thread, NULL);
        vm->timer_ok = 0;
    }
    return vm->exit_code;
}
