/* SPDX-License-Identifier: MIT */
/* vmm.h: internals of vmi-run, the reference OpenVMI hypervisor on KVM. */
#ifndef VMM_H
#define VMM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <vmi_host.h>

/* Exit codes of vmi-run (README.md and --help document them). */
enum vmm_exit {
    VMM_EXIT_GUEST_MAX = 118,  /* 0..118: guest POWEROFF status as is */
    VMM_EXIT_GUEST_HIGH = 119, /* POWEROFF with status 119..255 */
    VMM_EXIT_REBOOT = 120,     /* guest asked for a reboot */
    VMM_EXIT_FLOOD = 121,      /* console flood */
    VMM_EXIT_PANIC = 122,      /* SHUTDOWN with reason CRASH */
    VMM_EXIT_CRASH = 123,      /* triple fault, internal error, bad exit */
    VMM_EXIT_TIMEOUT = 124,    /* --timeout expired */
    VMM_EXIT_ERROR = 125,      /* vmi-run itself failed */
};

/*
 * Default doorbell port.  0x510-0x51b is QEMU's fw_cfg on pc and microvm;
 * 0x520 is decoded by no device of QEMU (pc, microvm), Firecracker or Cloud
 * Hypervisor.  Guests use the port discovery announces (--port changes it).
 */
#define VMM_DEFAULT_DOORBELL_PORT 0x0520
#define VMM_MAX_VCPUS 64u

struct vmm_opts {
    const char *kernel;
    const char *cmdline;
    uint64_t mem_mib;
    uint32_t vcpus;
    double timeout_s;
    int strict, quiet, stats;
    const char *save_file;
    int64_t save_after_ms; /* -1: on SIGUSR2 only */
    const char *restore_file;
    uint64_t console_flood_bytes;
    uint32_t timer_count;
    int kernel_irqchip; /* 1: in-kernel LAPIC + KVM_SIGNAL_MSI */
    int spurious_wakes; /* 1: every other BLOCK ends with VMI_WAKE_SPURIOUS */
    int pagetable;      /* 1: also offer the page-table profile (VMI_F_PT) */
    uint16_t port;      /* doorbell port announced in CPUID leaf B+1 */
    int port_set;       /* --port given on the command line */
};

/* Saved per-vCPU KVM state (snapshot). */
struct vmm_vcpu_state {
    uint32_t started;
    uint32_t blocked; /* RIP still at the BLOCK doorbell: re-executed */
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp;
    uint64_t irq_pending[4]; /* upcalls queued for KVM_INTERRUPT */
    uint32_t kernel_irqchip;
    uint32_t reserved0;
};

struct vmm;

/*
 * A vCPU's power-up state as KVM created it, loaded again before every
 * VCPU_START (VMI-CPU-025, VMI-CPU-026): a vCPU started a second time keeps
 * nothing of the life it stopped with.
 */
#define VMM_RESET_MSRS 48
struct vmm_reset {
    struct kvm_sregs sregs;
    struct kvm_xsave *xsave; /* NULL: no KVM_CAP_XSAVE, fpu instead */
    struct kvm_fpu fpu;
    struct kvm_xcrs xcrs;
    struct kvm_debugregs dregs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    int has_xcrs, has_dregs, has_lapic;
    uint32_t nmsrs; /* the MSRs KVM let vmi-run read */
    struct kvm_msr_entry msrs[VMM_RESET_MSRS];
};

struct vmm_vcpu {
    struct vmm *vm;
    uint32_t id;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    int thread_ok;
    uint64_t apic_base;
    atomic_int kicked;
    atomic_int in_run;
    /* Under vm->lock. */
    int started;             /* VCPU_START accepted (or vCPU 0) */
    int start_pending;       /* start state waiting to be applied */
    int stop_req;            /* VCPU_STOP, or RESET from another vCPU: park */
    uint64_t advance_ns;     /* BLOCK: spin this long before a deadline */
    uint64_t blocks_seen;    /* BLOCK waits begun (--spurious-wakes) */
    uint64_t spurious_wakes; /* BLOCKs ended with VMI_WAKE_SPURIOUS */
    int restore_pending;
    struct kvm_regs start_regs;
    struct kvm_sregs start_sregs;
    int start_reset; /* load `reset` before start_sregs (VCPU_START) */
    struct vmm_reset reset;
    int flush_req; /* TLB flush requested by another vCPU */
    int paused;
    int blocked;
    struct vmm_vcpu_state saved;
    /* Own thread only. */
    uint64_t exits, hypercalls, io_exits, upcalls, upcalls_lost;
    uint64_t last_rip;
    uint64_t first_exit_ns;
    uint64_t remote_flushes; /* MMU resets asked by other vCPUs */
    uint64_t irq_pending[4]; /* user-space injection: vectors to inject */
};

struct vmm {
    struct vmm_opts opts;
    const char *fault; /* VMI_RUN_FAULT (test only), or NULL */
    int kvm_fd, vm_fd;
    uint8_t *ram;
    uint64_t ram_bytes;
    uint32_t nvcpus;
    struct vmm_vcpu vcpus[VMM_MAX_VCPUS];
    struct vmi_host_vm *host;
    int sync_regs;
    uint64_t tsc_hz;
    int64_t tsc_offset; /* guest TSC = host TSC + tsc_offset */
    struct kvm_cpuid2 *cpuid;
    /*
     * KVM_GET_SUPPORTED_CPUID runs on a helper thread while vmm_create
     * creates the VM (it costs as much as KVM_CREATE_VM on KVM-PVM).
     */
    struct kvm_cpuid2 *supported;
    int supported_err;     /* errno of the query, 0 when it worked */
    int supported_done;    /* the query finished (under lock) */
    int supported_release; /* the helper may exit (under lock) */
    int supported_thread_live;
    pthread_t supported_thread;
    pthread_cond_t supported_cond; /* with lock: done, release */

    pthread_mutex_t lock;
    pthread_cond_t cond;       /* vCPU state changes, kicks, stop */
    pthread_cond_t timer_cond; /* the timer thread */
    pthread_t timer_thread;
    int timer_ok;
    int timers_changed;
    int timer_paused; /* the timer thread honours pause_req */
    int stop;
    int exit_code;
    char exit_msg[512];
    int pause_req;
    unsigned paused_count;

    pthread_mutex_t console_lock;
    uint64_t console_refused;
    uint64_t console_bytes;
    uint64_t rss_before_release_kib, rss_after_release_kib;
    uint64_t released_bytes;
    uint64_t start_ns;
    uint64_t run_ns; /* vCPU threads started */
};

/* vm.c: the KVM VM. */
int vmm_create(struct vmm *vm, const struct vmm_opts *o, char *why,
               size_t why_len);
int vmm_load_kernel(struct vmm *vm, char *why, size_t why_len);
void vmm_destroy(struct vmm *vm);
void vmm_stop(struct vmm *vm, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t vmm_now_ns(void);
void vmm_deadline_ts(struct timespec *ts, uint64_t mono_ns);
void vmm_print_stats(struct vmm *vm);
void vmm_tight_timer_slack(void);
int vmm_fault(const struct vmm *vm, const char *name);
/* Record vCPU v's power-up state (after its CPUID and APIC setup). */
int vmm_reset_capture(struct vmm_vcpu *v);
void vmm_reset_free(struct vmm_vcpu *v);

/* vcpu.c: the vCPU threads. */
int vmm_run(struct vmm *vm);
int vmm_pause_all(struct vmm *vm);
void vmm_sig_kick(int sig);
void vmm_kick_vcpu(struct vmm_vcpu *v);
int vmm_get_sregs(struct vmm_vcpu *v, struct kvm_sregs *s);
int vmm_service_locked(struct vmm_vcpu *v);
struct kvm_regs *vmm_regs_of(struct vmm_vcpu *v, struct kvm_regs *tmp);
int vmm_put_regs(struct vmm_vcpu *v, struct kvm_regs *r);

/* hostlib.c: host-lib's embedding. */
int vmm_host_create(struct vmm *vm, char *why, size_t why_len);
void vmm_set_wall_clock(struct vmm *vm);
int vmm_hypercall(struct vmm_vcpu *v);
void vmm_take_upcalls(struct vmm_vcpu *v);
void vmm_serve_flush_locked(struct vmm_vcpu *v);
void *vmm_timer_thread(void *arg);
/* Steal time from the vCPU thread's run delay (schedstat). */
struct steal_clock {
    int fd;
    uint64_t last_delay_ns;
    uint64_t next_check_ns;
};
uint64_t vmm_read_run_delay(int fd);
void vmm_steal_update(struct vmm_vcpu *v, struct steal_clock *sc);

/* snapshot.c */
int vmm_snapshot_save(struct vmm *vm, const char *path, char *why,
                      size_t why_len);
/*
 * Read the header of a snapshot into *o: memory size, vCPU count and the
 * doorbell port the guest learned.  Fails if o->port_set names another
 * port (the running guest keeps using the one it discovered).
 */
int vmm_snapshot_peek(const char *path, struct vmm_opts *o, char *why,
                      size_t why_len);
int vmm_snapshot_restore(struct vmm *vm, const char *path, char *why,
                         size_t why_len);

#endif /* VMM_H */
