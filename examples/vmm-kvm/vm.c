/* SPDX-License-Identifier: MIT */
/*
 * vm.c: the KVM side of vmi-run: VM and vCPU setup, long-mode entry, the
 * vCPU threads and their exits, the port-I/O hypercall transport, the
 * timer thread and the host-lib callbacks.
 *
 * Locking: vm->lock protects the per-vCPU fields marked so in vmm.h and
 * the VM's stop/pause state.  host-lib is never called with vm->lock held,
 * because its callbacks (kick, start_vcpu, flush_tlb, ...) take it.
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

#include "bootinfo.h"
#include "elf_load.h"

#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

static __thread struct kvm_run *this_run;

uint64_t vmm_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void deadline_ts(struct timespec *ts, uint64_t mono_ns)
{
    ts->tv_sec = (time_t)(mono_ns / 1000000000u);
    ts->tv_nsec = (long)(mono_ns % 1000000000u);
}

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

void vmm_stop(struct vmm *vm, int code, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&vm->lock);
    if (!vm->stop) {
        vm->stop = 1;
        vm->exit_code = code;
        va_start(ap, fmt);
        vsnprintf(vm->exit_msg, sizeof(vm->exit_msg), fmt, ap);
        va_end(ap);
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_cond_broadcast(&vm->timer_cond);
    pthread_mutex_unlock(&vm->lock);
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        struct vmm_vcpu *v = &vm->vcpus[i];

        if (v->thread_ok && atomic_load(&v->in_run))
            pthread_kill(v->thread, SIGUSR1);
    }
}

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

/* Make vCPU v leave KVM_RUN (or not enter it) and look at its state. */
static void kick_vcpu(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;

    atomic_store(&v->kicked, 1);
    if (v->thread_ok && atomic_load(&v->in_run))
        pthread_kill(v->thread, SIGUSR1);
    pthread_mutex_lock(&vm->lock);
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
}

static void cb_kick(void *ctx, uint32_t vcpu)
{
    struct vmm *vm = ctx;

    if (vcpu < vm->nvcpus)
        kick_vcpu(&vm->vcpus[vcpu]);
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

static int get_sregs(struct vmm_vcpu *v, struct kvm_sregs *s)
{
    if (v->vm->sync_regs) {
        *s = v->run->s.regs.sregs;
        return 0;
    }
    return ioctl(v->fd, KVM_GET_SREGS, s);
}

static void serve_flush_locked(struct vmm_vcpu *v);

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
    kick_vcpu(t);
    pthread_mutex_lock(&vm->lock);
    while (t->stop_req && !vm->stop) {
        serve_flush_locked(&vm->vcpus[caller]);
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
    pthread_mutex_unlock(&vm->lock);
}

static int cb_start_vcpu(void *ctx, uint32_t caller, uint32_t vcpu,
                         const struct vmi_vcpu_start *st)
{
    struct vmm *vm = ctx;
    struct vmm_vcpu *c = &vm->vcpus[caller], *t;
    struct kvm_sregs s;
    int rc = -1;

    if (vcpu >= vm->nvcpus || caller >= vm->nvcpus)
        return -1;
    t = &vm->vcpus[vcpu];
    /* The caller is in its own exit handler: its state is current. */
    if (get_sregs(c, &s) != 0)
        return -1;
    s.cr3 = st->page_table_gpa;
    s.apic_base = t->apic_base; /* not the caller's BSP flag */
    memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
    pthread_mutex_lock(&vm->lock);
    if (!t->started) {
        t->start_sregs = s;
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

/* Called with vm->lock held: serve a flush asked by another vCPU. */
static void serve_flush_locked(struct vmm_vcpu *v)
{
    if (!v->flush_req)
        return;
    if (flush_own_tlb(v) != 0)
        fprintf(stderr, "vmi-run: vCPU %u: TLB flush failed: %s\n", v->id,
                strerror(errno));
    v->flush_req = 0;
    v->remote_flushes++;
    pthread_cond_broadcast(&v->vm->cond);
}

static int cb_flush_tlb(void *ctx, uint32_t caller, const uint64_t *vcpus,
                        const struct vmi_tlb_range *ranges, uint32_t count,
                        uint32_t flags)
{
    struct vmm *vm = ctx;
    struct vmm_vcpu *c = &vm->vcpus[caller];
    int self = 0, rc = 0;

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
            kick_vcpu(&vm->vcpus[i]);
    pthread_mutex_lock(&vm->lock);
    for (;;) {
        int pending = 0;

        /* Serve flushes aimed at us meanwhile: two vCPUs may cross. */
        serve_flush_locked(c);
        for (uint32_t i = 0; i < vm->nvcpus; i++)
            pending |= vm->vcpus[i].flush_req && i != caller &&
                       (vcpus[i / 64] >> (i % 64) & 1);
        if (!pending || vm->stop)
            break;
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
    pthread_mutex_unlock(&vm->lock);
    if (self && flush_own_tlb(c) != 0)
        rc = -1;
    return rc;
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

/* ---- VM setup
 * ------------------------------------------------------------------ */

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

static void sig_kick(int sig)
{
    (void)sig;
    if (this_run)
        this_run->immediate_exit = 1;
}

static int fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* CPUID: what KVM supports, plus the hypervisor bit and both leaf blocks. */
#define SUPPORTED_CPUID_MAX 256u

/*
 * The helper thread: runs the query, then stays parked until vmm_destroy
 * releases it.  Parked rather than exited, so that glibc's thread-exit
 * path is not paged in while the guest runs (vmi-bench measures vmi-run's
 * resident memory then).
 */
static void *supported_cpuid_query(void *arg)
{
    struct vmm *vm = arg;
    int err = 0;

    if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->supported) != 0)
        err = errno ? errno : EIO;
    pthread_mutex_lock(&vm->lock);
    vm->supported_err = err;
    vm->supported_done = 1;
    pthread_cond_broadcast(&vm->supported_cond);
    while (!vm->supported_release)
        pthread_cond_wait(&vm->supported_cond, &vm->lock);
    pthread_mutex_unlock(&vm->lock);
    return NULL;
}

/*
 * Start KVM_GET_SUPPORTED_CPUID on a helper thread; it overlaps
 * KVM_CREATE_VM, KVM_CREATE_VCPU and host-lib's setup (2 cores or more).
 * Without a thread the query runs here.  supported_cpuid_wait() waits
 * for its result; vmm_destroy() ends the thread.
 */
static int supported_cpuid_start(struct vmm *vm)
{
    vm->supported =
        calloc(1, sizeof(*vm->supported) +
                      SUPPORTED_CPUID_MAX * sizeof(vm->supported->entries[0]));
    if (!vm->supported)
        return -1;
    vm->supported->nent = SUPPORTED_CPUID_MAX;
    vm->supported_release = 0;
    if (pthread_create(&vm->supported_thread, NULL, supported_cpuid_query,
                       vm) == 0) {
        vm->supported_thread_live = 1;
    } else {
        vm->supported_release = 1; /* run inline: return at once */
        supported_cpuid_query(vm);
    }
    return 0;
}

static void supported_cpuid_wait(struct vmm *vm)
{
    pthread_mutex_lock(&vm->lock);
    while (vm->supported_thread_live && !vm->supported_done)
        pthread_cond_wait(&vm->supported_cond, &vm->lock);
    pthread_mutex_unlock(&vm->lock);
}

static void supported_cpuid_end(struct vmm *vm)
{
    if (!vm->supported_thread_live)
        return;
    pthread_mutex_lock(&vm->lock);
    vm->supported_release = 1;
    pthread_cond_broadcast(&vm->supported_cond);
    pthread_mutex_unlock(&vm->lock);
    pthread_join(vm->supported_thread, NULL);
    vm->supported_thread_live = 0;
}

/*
 * vmi-run's own test-only faults (VMI_RUN_FAULT=name), for the clauses
 * that the embedder rather than host-lib implements; host-lib's are in
 * its test variant (VMI_HOST_FAULT).
 */
static int vmm_fault(const struct vmm *vm, const char *name)
{
    return vm->fault && strcmp(vm->fault, name) == 0;
}

static int setup_cpuid(struct vmm *vm, char *why, size_t why_len)
{
    const uint32_t base = vmi_host_cpuid_base();
    struct kvm_cpuid2 *c, *out;
    uint32_t n = 0;

    supported_cpuid_wait(vm);
    c = vm->supported;
    vm->supported = NULL;
    out = calloc(1, sizeof(*c) +
                        (SUPPORTED_CPUID_MAX + 16) * sizeof(c->entries[0]));
    if (!c || !out) {
        free(c);
        free(out);
        return fail(why, why_len, "out of memory");
    }
    if (vm->supported_err) {
        free(c);
        free(out);
        return fail(why, why_len, "KVM_GET_SUPPORTED_CPUID: %s",
                    strerror(vm->supported_err));
    }
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 e = c->entries[i];

        /* Drop KVM's own paravirtual leaves: vmi-run offers none of them. */
        if ((e.function & 0xF0000000u) == 0x40000000u)
            continue;
        if (e.function == 1)
            e.ecx |= 1u << 31; /* hypervisor present */
        /*
         * Without --kernel-irqchip there is no local APIC: say so (APIC and
         * x2APIC bits clear), and upcalls are external interrupts that need
         * no EOI (VMI-EVT-037).  The test-only fault lapic-claimed keeps
         * the bits, as vmi-run did before draft 2, for the conformance
         * suite to catch at VMI-EVT-036.
         */
        if (e.function == 1 && !vm->opts.kernel_irqchip &&
            !vmm_fault(vm, "lapic-claimed")) {
            e.edx &= ~(1u << 9);
            e.ecx &= ~(1u << 21);
        }
        out->entries[n++] = e;
    }
    /* A foreign vendor block at 0x40000000: the guest's scan must skip it. */
    out->entries[n++] = (struct kvm_cpuid_entry2){
        .function = 0x40000000u,
        .eax = 0x40000000u,
        .ebx = 0x52494d56u, /* "VMIR" */
        .ecx = 0x564d6665u, /* "efVM" */
        .edx = 0x4du,       /* "M" */
    };
    for (uint32_t l = 0; l < VMI_CPUID_LEAF_COUNT; l++) {
        uint32_t r[4] = {0};
        struct kvm_cpuid_entry2 e = {.function = base + l};

        if (!vmi_host_cpuid(vm->host, 0, base, base + l, r)) {
            free(c);
            free(out);
            return fail(why, why_len, "host-lib has no CPUID leaf 0x%x",
                        base + l);
        }
        e.eax = r[0];
        e.ebx = r[1];
        e.ecx = r[2];
        e.edx = r[3];
        out->entries[n++] = e;
    }
    out->nent = n;
    free(c);
    vm->cpuid = out;
    return 0;
}

/* Per-vCPU copy of the CPUID table with its own APIC id. */
static int set_vcpu_cpuid(struct vmm *vm, struct vmm_vcpu *v)
{
    size_t sz =
        sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
    struct kvm_cpuid2 *c = malloc(sz);
    int rc;

    if (!c)
        return -1;
    memcpy(c, vm->cpuid, sz);
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];

        if (e->function == 1)
            e->ebx = (e->ebx & 0x00FFFFFFu) | (v->id << 24);
        if (e->function == 0xB || e->function == 0x1F)
            e->edx = v->id;
    }
    rc = ioctl(v->fd, KVM_SET_CPUID2, c);
    free(c);
    return rc;
}

/*
 * No local APIC without --kernel-irqchip: clear the enable bit of the
 * vCPU's APIC base MSR, from which KVM derives CPUID leaf 1's APIC bit
 * (and keep it clear in the sregs that vmi-run loads later).
 */
static int disable_apic(struct vmm_vcpu *v)
{
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e;
    } m;

    memset(&m, 0, sizeof(m));
    m.h.nmsrs = 1;
    m.e.index = 0x1B;                    /* IA32_APIC_BASE */
    m.e.data = v->apic_base & ~0x800ull; /* enable (bit 11) clear */
    if (ioctl(v->fd, KVM_SET_MSRS, &m) != 1)
        return -1;
    v->apic_base = m.e.data; /* what boot_sregs and VCPU_START load */
    return 0;
}

static void write_boot_structures(struct vmm *vm, uint64_t image_end)
{
    uint64_t *gdt = (uint64_t *)(vm->ram + VMM_GDT_GPA);
    uint64_t *pml4 = (uint64_t *)(vm->ram + VMM_PML4_GPA);
    uint64_t *pdpt = (uint64_t *)(vm->ram + VMM_PDPT_GPA);
    uint64_t *pd = (uint64_t *)(vm->ram + VMM_PD_GPA);
    struct vmm_bootinfo *bi =
        (struct vmm_bootinfo *)(vm->ram + VMM_BOOTINFO_GPA);
    size_t cl = strlen(vm->opts.cmdline);

    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFull; /* 0x08: 64-bit code */
    gdt[2] = 0x00CF92000000FFFFull; /* 0x10: data */
    pml4[0] = VMM_PDPT_GPA | 0x3;
    for (int i = 0; i < 4; i++)
        pdpt[i] = (VMM_PD_GPA + 0x1000u * (uint64_t)i) | 0x3;
    for (uint64_t i = 0; i < 2048; i++)
        pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
    memset(bi, 0, sizeof(*bi));
    bi->magic = VMM_BOOTINFO_MAGIC;
    bi->version = VMM_BOOTINFO_VERSION;
    bi->vcpu_count = vm->nvcpus;
    bi->mem_bytes = vm->ram_bytes;
    bi->image_end = image_end;
    if (cl > VMM_BOOTINFO_CMDLINE_MAX - 1)
        cl = VMM_BOOTINFO_CMDLINE_MAX - 1;
    memcpy(bi->cmdline, vm->opts.cmdline, cl);
    bi->cmdline_len = (uint32_t)cl;
}

/* 64-bit entry state for vCPU 0: the VMM's GDT and identity page tables. */
static void boot_sregs(struct vmm_vcpu *v, struct kvm_sregs *s)
{
    struct kvm_segment code = {
        .base = 0,
        .limit = 0xFFFFFFFF,
        .selector = 0x08,
        .type = 11,
        .present = 1,
        .dpl = 0,
        .db = 0,
        .s = 1,
        .l = 1,
        .g = 1,
    };
    struct kvm_segment data = {
        .base = 0,
        .limit = 0xFFFFFFFF,
        .selector = 0x10,
        .type = 3,
        .present = 1,
        .dpl = 0,
        .db = 1,
        .s = 1,
        .l = 0,
        .g = 1,
    };

    s->cs = code;
    s->ds = s->es = s->fs = s->gs = s->ss = data;
    s->gdt.base = VMM_GDT_GPA;
    s->gdt.limit = 3 * 8 - 1;
    s->idt.base = 0;
    s->idt.limit = 0;
    s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s->cr3 = VMM_PML4_GPA;
    s->cr4 = CR4_PAE;
    s->efer = EFER_LME | EFER_LMA | EFER_NXE;
    s->apic_base = v->apic_base;
    memset(s->interrupt_bitmap, 0, sizeof(s->interrupt_bitmap));
}

static int set_tsc_offset(struct vmm_vcpu *v, int64_t off)
{
    struct kvm_device_attr a = {
        .group = KVM_VCPU_TSC_CTRL,
        .attr = KVM_VCPU_TSC_OFFSET,
        .addr = (uint64_t)(uintptr_t)&off,
    };

    return ioctl(v->fd, KVM_SET_DEVICE_ATTR, &a);
}

int vmm_create(struct vmm *vm, const struct vmm_opts *o, char *why,
               size_t why_len)
{
    struct vmi_host_config cfg;
    struct sigaction sa;
    char hwhy[256] = "";
    int run_size, khz;

    memset(vm, 0, sizeof(*vm));
    vm->opts = *o;
    vm->kvm_fd = vm->vm_fd = -1;
    {
        const char *f = getenv("VMI_RUN_FAULT");

        if (f && *f && strcmp(f, "lapic-claimed") != 0 &&
            strcmp(f, "block-sets-if") != 0)
            return fail(why, why_len,
                        "VMI_RUN_FAULT=%s: no such vmi-run fault (they are "
                        "lapic-claimed and block-sets-if; see "
                        "examples/vmm-kvm/README.md)",
                        f);
        vm->fault = f && *f ? f : NULL;
    }
    vm->nvcpus = o->vcpus;
    vm->ram_bytes = o->mem_mib << 20;
    vm->start_ns = vmm_now_ns();
    pthread_mutex_init(&vm->lock, NULL);
    pthread_mutex_init(&vm->console_lock, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&vm->cond, &ca);
        pthread_cond_init(&vm->timer_cond, &ca);
        pthread_cond_init(&vm->supported_cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++)
        vm->vcpus[i].fd = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sig_kick; /* no SA_RESTART: KVM_RUN returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0)
        return fail(why, why_len, "cannot open /dev/kvm: %s", strerror(errno));
    if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        return fail(why, why_len, "KVM API version mismatch");
    if (supported_cpuid_start(vm) != 0)
        return fail(why, why_len, "out of memory");
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0)
        return fail(why, why_len, "KVM_CREATE_VM: %s", strerror(errno));
    vm->sync_regs = (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) &
                     (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
                    (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);

    vm->ram = mmap(NULL, vm->ram_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (vm->ram == MAP_FAILED) {
        vm->ram = NULL;
        return fail(why, why_len, "cannot map %llu MiB of guest RAM: %s",
                    (unsigned long long)o->mem_mib, strerror(errno));
    }
    {
        struct kvm_userspace_memory_region r = {
            .slot = 0,
            .guest_phys_addr = 0,
            .memory_size = vm->ram_bytes,
            .userspace_addr = (uint64_t)(uintptr_t)vm->ram,
        };

        if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) != 0)
            return fail(why, why_len, "KVM_SET_USER_MEMORY_REGION: %s",
                        strerror(errno));
    }
    /* Harmless where unused; needed by VMX hosts without unrestricted mode. */
    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xFFFBD000ul);
    if (o->kernel_irqchip && ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) != 0)
        return fail(why, why_len, "KVM_CREATE_IRQCHIP: %s", strerror(errno));

    run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0)
        return fail(why, why_len, "KVM_GET_VCPU_MMAP_SIZE: %s",
                    strerror(errno));
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        struct vmm_vcpu *v = &vm->vcpus[i];
        struct kvm_sregs s;

        v->vm = vm;
        v->id = i;
        v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
        if (v->fd < 0)
            return fail(why, why_len, "KVM_CREATE_VCPU %u: %s", i,
                        strerror(errno));
        v->run_size = (size_t)run_size;
        v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                      v->fd, 0);
        if (v->run == MAP_FAILED) {
            v->run = NULL;
            return fail(why, why_len, "mmap of kvm_run: %s", strerror(errno));
        }
        if (ioctl(v->fd, KVM_GET_SREGS, &s) != 0)
            return fail(why, why_len, "KVM_GET_SREGS: %s", strerror(errno));
        v->apic_base = s.apic_base;
    }
    khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
    if (khz <= 0)
        return fail(why, why_len, "KVM_GET_TSC_KHZ: %s", strerror(errno));
    vm->tsc_hz = (uint64_t)khz * 1000u;

    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = &host_ops;
    cfg.ctx = vm;
    cfg.vcpu_count = vm->nvcpus;
    cfg.timer_count = o->timer_count;
    cfg.ram_bytes = vm->ram_bytes;
    cfg.tsc_hz = vm->tsc_hz;
    /*
     * KVM pages the guest with EPT/NPT, so the page-table profile is an
     * option (--pagetable): host-lib then validates and writes the guest's
     * own page-table entries, which the hardware walks as usual.
     */
    cfg.features = VMI_PROFILE_CORE_FEATURES;
    if (o->pagetable)
        cfg.features |= VMI_PROFILE_PAGETABLE_FEATURES;
    cfg.transports = VMI_TRANSPORT_PORTIO;
    cfg.port = o->port;
    cfg.tsc_stable = 1; /* one TSC offset for every vCPU, set below */
    cfg.strict = (uint32_t)o->strict;
    cfg.vendor = "vmi-run (OpenVMI reference VMM on Linux KVM)";
    if (vmi_host_vm_create(&cfg, &vm->host, hwhy, sizeof(hwhy)) != 0)
        return fail(why, why_len, "host-lib rejected the VM config: %s", hwhy);
    vmm_set_wall_clock(vm);
    if (setup_cpuid(vm, why, why_len) != 0)
        return -1;
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        struct vmm_vcpu *v = &vm->vcpus[i];

        if (set_vcpu_cpuid(vm, v) != 0)
            return fail(why, why_len, "KVM_SET_CPUID2: %s", strerror(errno));
        if (!o->kernel_irqchip && !vmm_fault(vm, "lapic-claimed") &&
            disable_apic(v) != 0)
            return fail(why, why_len, "KVM_SET_MSRS (APIC base): %s",
                        strerror(errno));
        if (set_tsc_offset(v, 0) != 0)
            return fail(why, why_len, "setting the TSC offset: %s",
                        strerror(errno));
        if (vm->sync_regs)
            v->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    }
    return 0;
}

int vmm_load_kernel(struct vmm *vm, char *why, size_t why_len)
{
    struct vmm_vcpu *v = &vm->vcpus[0];
    uint64_t entry, end;
    char ewhy[256];
    void *img = NULL;
    long len;
    FILE *f;
    int rc = -1;

    f = fopen(vm->opts.kernel, "rb");
    if (!f)
        return fail(why, why_len, "cannot open %s: %s", vm->opts.kernel,
                    strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fail(why, why_len, "cannot read %s: %s", vm->opts.kernel,
             strerror(errno));
        goto out;
    }
    img = malloc(len ? (size_t)len : 1);
    if (!img || fread(img, 1, (size_t)len, f) != (size_t)len) {
        fail(why, why_len, "cannot read %s", vm->opts.kernel);
        goto out;
    }
    /* RAM is fresh anonymous memory: already zero. */
    if (vmm_elf_load(img, (size_t)len, vm->ram, vm->ram_bytes, 1,
                     VMM_BOOTINFO_GPA + 0x2000, &entry, &end, ewhy,
                     sizeof(ewhy)) != 0) {
        fail(why, why_len, "%s: bad ELF image: %s", vm->opts.kernel, ewhy);
        goto out;
    }
    write_boot_structures(vm, end);
    boot_sregs(v, &v->start_sregs);
    memset(&v->start_regs, 0, sizeof(v->start_regs));
    v->start_regs.rip = entry;
    v->start_regs.rdi = VMM_BOOTINFO_GPA;
    v->start_regs.rflags = 0x2;
    v->start_pending = 1;
    v->started = 1;
    rc = 0;
out:
    free(img);
    fclose(f);
    return rc;
}

/* ---- vCPU threads
 * ---------------------------------------------------------------- */

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

static void take_upcalls(struct vmm_vcpu *v)
{
    uint32_t vec;

    if (!atomic_exchange(&v->kicked, 0))
        return;
    while (vmi_host_take_upcall(v->vm->host, v->id, &vec) == 1)
        inject(v, vec);
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
static int service_locked(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;

    for (;;) {
        if (vm->stop || v->stop_req)
            return 1;
        serve_flush_locked(v);
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
    if (ioctl(v->fd, KVM_SET_SREGS, &v->start_sregs) ||
        ioctl(v->fd, KVM_SET_REGS, &v->start_regs) ||
        ioctl(v->fd, KVM_SET_MP_STATE, &mp))
        return -1;
    return 0;
}

static struct kvm_regs *regs_of(struct vmm_vcpu *v, struct kvm_regs *tmp)
{
    if (v->vm->sync_regs)
        return &v->run->s.regs.regs;
    if (ioctl(v->fd, KVM_GET_REGS, tmp) != 0)
        return NULL;
    return tmp;
}

static int put_regs(struct vmm_vcpu *v, struct kvm_regs *r)
{
    if (v->vm->sync_regs) {
        v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
        return 0;
    }
    return ioctl(v->fd, KVM_SET_REGS, r);
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

        take_upcalls(v);
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
        if (service_locked(v)) {
            pthread_mutex_unlock(&vm->lock);
            return 1;
        }
        if (!atomic_load(&v->kicked) && !v->flush_req) {
            if (timed) {
                struct timespec ts;
                uint64_t target = vmm_now_ns() + wait_ns;

                deadline_ts(&ts, target);
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
static int hypercall(struct vmm_vcpu *v)
{
    struct vmm *vm = v->vm;
    struct vmi_host_call call;
    struct kvm_regs tmp, *r = regs_of(v, &tmp);
    struct kvm_sregs s;

    if (!r) {
        vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: KVM_GET_REGS: %s", v->id,
                 strerror(errno));
        return 1;
    }
    if (get_sregs(v, &s) != 0) {
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
    r = regs_of(v, &tmp);
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
    if (put_regs(v, r) != 0) {
        vmm_stop(vm, VMM_EXIT_ERROR, "vCPU %u: KVM_SET_REGS: %s", v->id,
                 strerror(errno));
        return 1;
    }
    return 0;
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

        take_upcalls(v);
        if (irq_queued(v) && if_set)
            return 0;
        pthread_mutex_lock(&vm->lock);
        r = service_locked(v);
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
            return hypercall(v);
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

/*
 * Steal time: how long this vCPU thread was runnable but waiting for a
 * host CPU (the run_delay field of /proc/thread-self/schedstat), handed to
 * host-lib at most every 10 ms so the cost stays off the exit path.
 */
struct steal_clock {
    int fd;
    uint64_t last_delay_ns;
    uint64_t next_check_ns;
};

static uint64_t read_run_delay(int fd)
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

static void steal_update(struct vmm_vcpu *v, struct steal_clock *sc)
{
    uint64_t now = vmm_now_ns(), delay;

    if (sc->fd < 0 || now < sc->next_check_ns)
        return;
    sc->next_check_ns = now + 10000000u;
    delay = read_run_delay(sc->fd);
    if (delay > sc->last_delay_ns)
        vmi_host_steal_account(v->vm->host, v->id, delay - sc->last_delay_ns);
    sc->last_delay_ns = delay;
}

/*
 * Timed waits end when asked, not up to 50 us later: Linux lets a normal
 * thread's timer expire late by its timer slack (50 us by default), which
 * would be most of a one-shot timer's lateness (VMI-TMR-021).
 */
static void tight_timer_slack(void)
{
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

static void *vcpu_thread(void *arg)
{
    struct vmm_vcpu *v = arg;
    struct vmm *vm = v->vm;
    struct steal_clock sc = {.fd = -1};

    this_run = v->run;
    tight_timer_slack(); /* BLOCK deadlines wait on this thread */
park:
    /* Parked until VCPU_START (vCPU 0 and restored vCPUs start at once). */
    pthread_mutex_lock(&vm->lock);
    for (;;) {
        if (service_locked(v)) {
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
            if (hypercall(v))
                goto out;
        }
    }
    sc.fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    sc.last_delay_ns = sc.fd >= 0 ? read_run_delay(sc.fd) : 0;
    sc.next_check_ns = 0;
    for (;;) {
        int r;

        take_upcalls(v);
        steal_update(v, &sc);
        pthread_mutex_lock(&vm->lock);
        r = service_locked(v);
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

/* Delivers expired timers; sleeps until the next deadline or a change. */
static void *timer_thread(void *arg)
{
    struct vmm *vm = arg;

    tight_timer_slack();
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

            deadline_ts(&ts, vmm_now_ns() + (next - now));
            pthread_cond_timedwait(&vm->timer_cond, &vm->lock, &ts);
        }
    }
    pthread_mutex_unlock(&vm->lock);
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
        kick_vcpu(&vm->vcpus[i]);
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
    err = pthread_create(&vm->timer_thread, NULL, timer_thread, vm);
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
            deadline_ts(&ts, until);
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

void vmm_print_stats(struct vmm *vm)
{
    struct vmi_host_stats st;

    vmi_host_get_stats(vm->host, &st);
    fprintf(stderr,
            "vmi-run: stats: run %.3f ms, hypercalls %llu, violations %llu, "
            "console bytes %llu (refused %llu), released pages %llu\n",
            (double)(vmm_now_ns() - vm->start_ns) / 1e6,
            (unsigned long long)st.hypercalls,
            (unsigned long long)st.violations,
            (unsigned long long)vm->console_bytes,
            (unsigned long long)vm->console_refused,
            (unsigned long long)st.released_pages);
    if (vm->vcpus[0].first_exit_ns)
        fprintf(stderr,
                "vmi-run: stats: VM setup (KVM, RAM, ELF, host-lib) %.3f ms; "
                "guest start to vCPU 0's first exit %.3f ms\n",
                (double)(vm->run_ns - vm->start_ns) / 1e6,
                (double)(vm->vcpus[0].first_exit_ns - vm->run_ns) / 1e6);
    for (uint32_t i = 0; i < vm->nvcpus; i++)
        fprintf(stderr,
                "vmi-run: stats: vCPU %u: exits %llu, io %llu, "
                "hypercalls %llu, upcalls %llu (refused by the APIC %llu), "
                "TLB flushes for other vCPUs %llu, spurious BLOCK wakes %llu\n",
                i, (unsigned long long)vm->vcpus[i].exits,
                (unsigned long long)vm->vcpus[i].io_exits,
                (unsigned long long)vm->vcpus[i].hypercalls,
                (unsigned long long)vm->vcpus[i].upcalls,
                (unsigned long long)vm->vcpus[i].upcalls_lost,
                (unsigned long long)vm->vcpus[i].remote_flushes,
                (unsigned long long)vm->vcpus[i].spurious_wakes);
    if (vm->released_bytes)
        fprintf(stderr,
                "vmi-run: stats: memory release: %llu KiB released, RSS "
                "dropped by %lld KiB\n",
                (unsigned long long)(vm->released_bytes >> 10),
                (long long)vm->rss_before_release_kib -
                    (long long)vm->rss_after_release_kib);
}

void vmm_destroy(struct vmm *vm)
{
    supported_cpuid_end(vm);
    for (uint32_t i = 0; i < VMM_MAX_VCPUS; i++) {
        struct vmm_vcpu *v = &vm->vcpus[i];

        if (v->run)
            munmap(v->run, v->run_size);
        if (v->fd >= 0)
            close(v->fd);
    }
    vmi_host_vm_destroy(vm->host);
    if (vm->ram)
        munmap(vm->ram, vm->ram_bytes);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    free(vm->cpuid);
    free(vm->supported);
    pthread_cond_destroy(&vm->cond);
    pthread_cond_destroy(&vm->timer_cond);
    pthread_cond_destroy(&vm->supported_cond);
    pthread_mutex_destroy(&vm->lock);
    pthread_mutex_destroy(&vm->console_lock);
}
