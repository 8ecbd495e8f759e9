/* SPDX-License-Identifier: MIT */
/* vm.c: VM creation and destruction, configuration checks, locks, stats. */
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static void set_why(char *why, size_t why_len, const char *msg)
{
    if (why && why_len) {
        strncpy(why, msg, why_len - 1);
        why[why_len - 1] = '\0';
    }
}

/* Features offered must be closed under their requirements. */
/*
 * The first feature of f whose requirements f lacks: its bit number, and
 * the missing requirements in *missing; -1 when f is closed.
 */
int vmi__features_unmet(uint64_t f, uint64_t *missing)
{
    static const uint64_t req[VMI_F_COUNT] = VMI_F_REQUIRES_BY_BIT;
    for (int i = 0; i < VMI_F_COUNT; i++)
        if ((f & (UINT64_C(1) << i)) && (f & req[i]) != req[i]) {
            if (missing)
                *missing = req[i] & ~f;
            return i;
        }
    return -1;
}

static const char *check_config(const struct vmi_host_config *cfg)
{
    const struct vmi_host_ops *o = cfg->ops;

    if (!o)
        return "ops is NULL";
    if (!o->map || !o->now_ns || !o->rdtsc || !o->kick)
        return "ops: map, now_ns, rdtsc and kick are required";
    if (cfg->vcpu_count < 1 || cfg->vcpu_count > VMI_HOST_MAX_VCPUS)
        return "vcpu_count out of range";
    if (cfg->timer_count < 1 || cfg->timer_count > VMI_HOST_MAX_TIMERS)
        return "timer_count out of range";
    if ((cfg->features & VMI_F_TIMER) && cfg->timer_count < cfg->vcpu_count)
        return "timer_count below vcpu_count: VMI-DSC-030 wants a timer per "
               "vCPU when VMI_F_TIMER is offered";
    if (cfg->tsc_stable && cfg->clock_skew_ns)
        return "clock_skew_ns with tsc_stable: one TSC means no skew";
    if (cfg->tsc_hz < 1000 || cfg->tsc_hz > (UINT64_C(1) << 40))
        return "tsc_hz out of range";
    if (cfg->features & ~VMI_F_ALL_1_0)
        return "features: unknown bits";
    if (vmi__features_unmet(cfg->features, NULL) >= 0)
        return "features: a feature is offered without its requirements";
    if ((cfg->features & VMI_F_MEM) && (!o->release || !o->reclaim))
        return "VMI_F_MEM needs ops release and reclaim";
    if ((cfg->features & VMI_F_VCPU) && !o->start_vcpu)
        return "VMI_F_VCPU needs ops start_vcpu";
    if ((cfg->features & VMI_F_TLB) && !o->flush_tlb)
        return "VMI_F_TLB needs ops flush_tlb";
    if (cfg->transports &
        ~(uint32_t)(VMI_TRANSPORT_VMCALL | VMI_TRANSPORT_VMMCALL |
                    VMI_TRANSPORT_PORTIO | VMI_TRANSPORT_HVC))
        return "transports: unknown bits";
    /* Port 0 reads, in CPUID, like "no doorbell". */
    if ((cfg->transports & VMI_TRANSPORT_PORTIO) && cfg->port == 0)
        return "port: VMI_TRANSPORT_PORTIO needs a non-zero doorbell port";
    if (cfg->reserved0)
        return "reserved0 must be zero";
    if (cfg->ram_bytes == 0 || (cfg->ram_bytes & (VMI_PAGE_SIZE - 1)))
        return "ram_bytes must be a non-zero multiple of the page size";
    if (cfg->vendor && strlen(cfg->vendor) > VMI_VENDOR_ID_SIZE)
        return "vendor longer than 48 bytes";
    if (cfg->max_batch > (1u << 24) || cfg->max_pinned > (1u << 20) ||
        cfg->max_released_extents > (1u << 24))
        return "a limit is too large";
    if ((cfg->features & VMI_F_PT) && cfg->max_pinned &&
        cfg->max_pinned < vmi__pin_minimum(cfg->ram_bytes))
        return "max_pinned below the larger of 64 and RAM / 2 MiB "
               "(VMI-DSC-042)";
    return NULL;
}

static void apply_defaults(struct vmi_host_config *c)
{
    if (!c->timer_min_delta_ns)
        c->timer_min_delta_ns = 10000;
    if (!c->timer_resolution_ns)
        c->timer_resolution_ns = 1000000;
    if (!c->clock_skew_ns && !c->tsc_stable)
        c->clock_skew_ns = 1000000;
    if (!c->max_batch)
        c->max_batch = 65536;
    if (!c->work_per_call)
        c->work_per_call = 64;
    if (!c->max_pinned)
        c->max_pinned = 4096 > vmi__pin_minimum(c->ram_bytes)
                            ? 4096
                            : vmi__pin_minimum(c->ram_bytes);
    if (!c->max_released_extents)
        c->max_released_extents = 65536;
    if (!c->console_rate)
        c->console_rate = 65536;
    if (!c->console_burst)
        c->console_burst = 16384;
    if (!(c->features & VMI_F_PT))
        c->max_pinned = 0;
}

VMI_HOST_API int vmi_host_vm_create(const struct vmi_host_config *cfg,
                                    struct vmi_host_vm **out, char *why,
                                    size_t why_len)
{
    struct vmi_host_vm *vm = NULL;
    const char *msg;
    int ret = -VMI_E_LIMIT;

    if (!cfg || !out) {
        set_why(why, why_len, "cfg or out is NULL");
        return -VMI_E_INVAL;
    }
    *out = NULL;
    msg = check_config(cfg);
    if (msg) {
        set_why(why, why_len, msg);
        return -VMI_E_INVAL;
    }
    vm = calloc(1, sizeof(*vm));
    if (!vm)
        goto nomem;
    vm->cfg = *cfg;
    apply_defaults(&vm->cfg);
#ifdef VMI_HOST_FAULTS
    if (vmi__fault_from_env(&vm->fault, why, why_len) < 0) {
        ret = -VMI_E_INVAL;
        goto out;
    }
#endif
    vm->ops = cfg->ops;
    vm->ctx = cfg->ctx;
    if (cfg->vendor)
        memcpy(vm->vendor, cfg->vendor, strlen(cfg->vendor));
    vm->cfg.vendor = NULL;
    vm->cfg.platform_ids = NULL; /* copied into the vCPUs below */

    /* Everything the hypercall path needs is allocated here, once. */
    vm->vcpus = calloc(cfg->vcpu_count, sizeof(*vm->vcpus));
    vm->timers = calloc(cfg->timer_count, sizeof(*vm->timers));
    vm->heap = calloc(cfg->timer_count, sizeof(*vm->heap));
    vm->pins =
        calloc(vm->cfg.max_pinned ? vm->cfg.max_pinned : 1, sizeof(*vm->pins));
    vm->extents = calloc(vm->cfg.max_released_extents, sizeof(*vm->extents));
    if (!vm->vcpus || !vm->timers || !vm->heap || !vm->pins || !vm->extents)
        goto nomem;
    for (uint32_t i = 0; i < cfg->vcpu_count; i++) {
        struct vmi__vcpu *v = &vm->vcpus[i];
        v->clock_gpa = v->event_gpa = v->steal_gpa = VMI_GPA_NONE;
        v->old_event_gpa = VMI_GPA_NONE;
        v->platform_id = cfg->platform_ids ? cfg->platform_ids[i] : i;
        v->scratch = malloc(VMI__SCRATCH_BYTES);
        if (!v->scratch)
            goto nomem;
    }
    vm->vcpus[0].started = 1;
    for (uint32_t i = 0; i < cfg->timer_count; i++)
        vm->timers[i].heap_pos = VMI__NOT_ARMED;
    if (pthread_mutex_init(&vm->lock, NULL))
        goto nomem;
    if (pthread_mutex_init(&vm->mem_lock, NULL)) {
        pthread_mutex_destroy(&vm->lock);
        goto nomem;
    }
    vm->lifecycle = VMI_LIFECYCLE_INITIAL;
    vmi__clock_init(vm);
    vm->tokens = (uint64_t)vm->cfg.console_burst * 1000000000u;
    vm->tokens_ns = vm->ops->now_ns(vm->ctx);
    *out = vm;
    return 0;
nomem:
    set_why(why, why_len, "out of memory");
    ret = -VMI_E_LIMIT;
out: /* also the unknown $VMI_HOST_FAULT of the test variant */
    __attribute__((unused));
    if (vm) {
        if (vm->vcpus)
            for (uint32_t i = 0; i < cfg->vcpu_count; i++)
                free(vm->vcpus[i].scratch);
        free(vm->vcpus);
        free(vm->timers);
        free(vm->heap);
        free(vm->pins);
        free(vm->extents);
        free(vm);
    }
    return ret;
}

VMI_HOST_API void vmi_host_vm_destroy(struct vmi_host_vm *vm)
{
    if (!vm)
        return;
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++)
        free(vm->vcpus[i].scratch);
    pthread_mutex_destroy(&vm->lock);
    pthread_mutex_destroy(&vm->mem_lock);
    free(vm->vcpus);
    free(vm->timers);
    free(vm->heap);
    free(vm->pins);
    free(vm->extents);
    free(vm);
}

void vmi__lock(struct vmi_host_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
}

void vmi__unlock(struct vmi_host_vm *vm)
{
    pthread_mutex_unlock(&vm->lock);
}

void vmi__ctx_init(struct vmi__ctx *c, struct vmi_host_vm *vm, uint32_t vcpu,
                   struct vmi_host_call *call)
{
    c->vm = vm;
    c->vcpu = vcpu;
    c->call = call;
    c->kick_used = 0;
    for (uint32_t w = 0; w < VMI__KICK_WORDS; w++)
        c->stop[w] = 0;
    c->timers_changed = 0;
    c->record_uninit = 0;
    c->clause = NULL;
    c->what = NULL;
}

/* Remember to kick `vcpu` once the lock is dropped. */
void vmi__kick_later(struct vmi__ctx *c, uint32_t vcpu)
{
    uint32_t w = vcpu / 64;
    uint64_t bit = UINT64_C(1) << (vcpu % 64);

    if (!(c->kick_used & (1u << w))) {
        c->kick_used |= 1u << w;
        c->kick[w] = bit;
    } else {
        c->kick[w] |= bit;
    }
}

/*
 * Make the callbacks collected under the lock.  Called without the lock:
 * kick, timers_changed and violation never run with host-lib locks held.
 */
void vmi__ctx_finish(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;

    if (c->clause && vm->cfg.strict && vm->ops->violation)
        vm->ops->violation(vm->ctx, c->vcpu, c->clause, c->what);
    /* RESET: the other vCPUs stop before the call returns. */
    for (uint32_t w = 0; w < VMI__KICK_WORDS; w++) {
        uint64_t bits = c->stop[w];

        while (bits) {
            uint32_t b = (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            vm->ops->stop_vcpu(vm->ctx, c->vcpu, w * 64 + b);
        }
    }
    while (c->kick_used) {
        uint32_t w = (uint32_t)__builtin_ctz(c->kick_used);
        uint64_t bits = c->kick[w];
        c->kick_used &= ~(1u << w);
        while (bits) {
            uint32_t b = (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            vm->ops->kick(vm->ctx, w * 64 + b);
        }
    }
    if (c->timers_changed && vm->ops->timers_changed)
        vm->ops->timers_changed(vm->ctx);
}

VMI_HOST_API int vmi_host_shutdown_info(struct vmi_host_vm *vm,
                                        uint32_t *reason, uint32_t *status)
{
    int ret = 0;

    if (!vm)
        return -VMI_E_INVAL;
    vmi__lock(vm);
    if (vm->lifecycle != VMI_LIFECYCLE_SHUTDOWN) {
        ret = -VMI_E_STATE;
        goto out;
    }
    if (reason)
        *reason = vm->shutdown_reason;
    if (status)
        *status = vm->shutdown_status;
out:
    vmi__unlock(vm);
    return ret;
}

VMI_HOST_API void vmi_host_get_stats(struct vmi_host_vm *vm,
                                     struct vmi_host_stats *st)
{
    if (!vm || !st)
        return;
    vmi__lock(vm);
    *st = vm->stats;
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++)
        st->hypercalls +=
            __atomic_load_n(&vm->vcpus[i].nop_calls, __ATOMIC_RELAXED);
    st->released_pages = vm->released_pages;
    st->armed_timers = vm->heap_len;
    st->pinned_tables = vm->pin_count;
    vmi__unlock(vm);
}

VMI_HOST_API const char *vmi_host_status_name(int64_t status)
{
    static const char *const names[VMI_STATUS_COUNT] = {
        "VMI_OK",       "VMI_E_NOSYS",   "VMI_E_PERM",  "VMI_E_STATE",
        "VMI_E_NOTSUP", "VMI_E_INVAL",   "VMI_E_ALIGN", "VMI_E_FAULT",
        "VMI_E_RANGE",  "VMI_E_NOENT",   "VMI_E_BUSY",  "VMI_E_LIMIT",
        "VMI_E_AGAIN",  "VMI_E_VERSION",
    };
    if (status > 0 || status <= -(int64_t)VMI_STATUS_COUNT)
        return "VMI_E_UNKNOWN";
    return names[-status];
}
