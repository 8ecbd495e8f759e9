/* SPDX-License-Identifier: MIT */
/* dispatch.c: the hypercall table, the central checks, NOP, NEGOTIATE and
 * SHUTDOWN. */
#include "vm.h"

/* Handler of each VMI_HC_LIST name. */
#define HANDLER_NOP vmi__hc_nop
#define HANDLER_NEGOTIATE vmi__hc_negotiate
#define HANDLER_CONSOLE_WRITE vmi__hc_console_write
#define HANDLER_SHUTDOWN vmi__hc_shutdown
#define HANDLER_CLOCK_REGISTER vmi__hc_clock_register
#define HANDLER_TIME_READ vmi__hc_time_read
#define HANDLER_STEAL_REGISTER vmi__hc_steal_register
#define HANDLER_TIMER_ARM vmi__hc_timer_arm
#define HANDLER_TIMER_CANCEL vmi__hc_timer_cancel
#define HANDLER_EVENT_REGISTER vmi__hc_event_register
#define HANDLER_EVENT_SEND vmi__hc_event_send
#define HANDLER_BLOCK vmi__hc_block
#define HANDLER_VCPU_START vmi__hc_vcpu_start
#define HANDLER_TLB_FLUSH vmi__hc_tlb_flush
#define HANDLER_PT_UPDATE vmi__hc_pt_update
#define HANDLER_PT_PIN vmi__hc_pt_pin
#define HANDLER_PT_UNPIN vmi__hc_pt_unpin
#define HANDLER_MEM_RELEASE vmi__hc_mem_release
#define HANDLER_MEM_RECLAIM vmi__hc_mem_reclaim
#define HANDLER_QUERY vmi__hc_query
#define HANDLER_RESET vmi__hc_reset
#define HANDLER_VCPU_STOP vmi__hc_vcpu_stop

/*
 * Numbers are (area << 8) | index; the table is indexed by
 * (area << 3) | index, which every 1.0 number fits (checked below).
 */
#define KEY_BITS 3u
#define TABLE_SIZE 128u
#define KEY(nr) ((((uint32_t)(nr) >> 8) << KEY_BITS) | ((uint32_t)(nr)&0xFFu))

struct hc_desc {
    vmi__handler fn;
    uint64_t feature;
    uint8_t priv;
    uint8_t before_negotiate;
    uint8_t rets;
};

#define FITS(name, nr, priv, bn, feat, nargs, nrets)                           \
    _Static_assert(((nr)&0xFFu) < (1u << KEY_BITS) && KEY(nr) < TABLE_SIZE,    \
                   #name " fits the dispatch table");
VMI_HC_LIST(FITS)
#undef FITS

#define ENTRY(name, nr, priv_, bn, feat, nargs, nrets)                         \
    [KEY(nr)] = {.fn = HANDLER_##name,                                         \
                 .feature = (feat),                                            \
                 .priv = (priv_),                                              \
                 .before_negotiate = (bn),                                     \
                 .rets = (nrets)},
static const struct hc_desc table[TABLE_SIZE] = {VMI_HC_LIST(ENTRY)};
#undef ENTRY

static const struct hc_desc *lookup(uint64_t nr)
{
    uint64_t key;

    if (nr > 0xFFFFu || (nr & 0xFFu) >= (1u << KEY_BITS) ||
        KEY(nr) >= TABLE_SIZE)
        return NULL;
    key = vmi__nospec(KEY(nr), TABLE_SIZE);
    return table[key].fn ? &table[key] : NULL;
}

static int64_t check_state(const struct vmi_host_vm *vm,
                           const struct hc_desc *d)
{
    if (vm->lifecycle == VMI_LIFECYCLE_SHUTDOWN)
        return -VMI_E_STATE;
    if (vm->lifecycle == VMI_LIFECYCLE_INITIAL && !d->before_negotiate)
        return -VMI_E_STATE;
    return 0;
}

static int64_t check_feature(const struct vmi_host_vm *vm,
                             const struct hc_desc *d)
{
    uint64_t have = vm->features;

    if (VMI__FAULT_IS(vm, FEATURE_NOT_ENFORCED) &&
        vm->lifecycle == VMI_LIFECYCLE_NEGOTIATED)
        have = vm->cfg.features;
    if (d->feature && !(have & d->feature))
        return -VMI_E_NOTSUP;
    return 0;
}

/* The checks every call passes, in the status precedence order. */
static int64_t check_call(const struct vmi_host_vm *vm, const struct hc_desc *d,
                          uint32_t user)
{
    int64_t ret;

    if (!d)
        return -VMI_E_NOSYS;
    /*
     * User mode calls nothing unless the kernel requested VMI_F_USER
     * (VMI-CALL-034); the first draft's host let it make `any` calls
     * always, and the injected fault brings that back.
     */
    if (user && !(vm->features & VMI_F_USER) &&
        !VMI__FAULT_IS(vm, USER_CALLS_WITHOUT_GRANT))
        return -VMI_E_PERM;
    if (d->priv == VMI_PRIV_KERNEL && user &&
        !VMI__FAULT_IS(vm, USER_CALL_ALLOWED))
        return -VMI_E_PERM;
    if (VMI__FAULT_IS(vm, NO_STATUS_PRECEDENCE)) {
        ret = check_feature(vm, d);
        return ret ? ret : check_state(vm, d);
    }
    ret = check_state(vm, d);
    return ret ? ret : check_feature(vm, d);
}

VMI_HOST_API int vmi_host_hypercall(struct vmi_host_vm *vm, uint32_t vcpu,
                                    struct vmi_host_call *call)
{
    const struct hc_desc *d;
    struct vmi__ctx c;
    int64_t status;

    if (!vm || !call || vcpu >= vm->cfg.vcpu_count)
        return -VMI_E_INVAL;
    /* Results a call does not set read as zero: no stale data leaks. */
    for (unsigned i = 0; i < VMI_HC_MAX_RETS; i++)
        call->rets[i] = 0;
    call->action = VMI_HOST_RESUME;
    call->deadline_ns = VMI_DEADLINE_NONE;
    /*
     * NOP reads and changes no state, and of all checks only the lifecycle
     * one applies to it: it is answered without the VM lock, so vCPUs that
     * call it (it is the cost floor of a hypercall) do not contend.  Any
     * injected fault takes the general path.
     */
    if (call->nr == VMI_HC_NOP && !VMI__FAULT_ANY(vm) &&
        !vm->vcpus[vcpu].blocked &&
        (!call->user ||
         (__atomic_load_n(&vm->features, __ATOMIC_RELAXED) & VMI_F_USER)) &&
        __atomic_load_n(&vm->lifecycle, __ATOMIC_ACQUIRE) !=
            VMI_LIFECYCLE_SHUTDOWN) {
        struct vmi__vcpu *v = &vm->vcpus[vcpu];

        __atomic_store_n(&v->nop_calls, v->nop_calls + 1, __ATOMIC_RELAXED);
        call->status = 0;
        return 0;
    }
    d = lookup(call->nr);
    vmi__ctx_init(&c, vm, vcpu, call);
    vmi__lock(vm);
    /*
     * The vCPU runs, so any BLOCK it was in is over: the embedder resumed
     * it without vmi_host_block_check, or re-issues the BLOCK after a
     * restore.  Otherwise it could leave a BLOCK that can never end (no
     * record, no deadline), a state no restore accepts.
     */
    vm->vcpus[vcpu].blocked = 0;
    vm->stats.hypercalls++;
    if (!d && VMI__FAULT_IS(vm, UNKNOWN_CALL_OK))
        status = 0;
    else
        status = check_call(vm, d, call->user);
    if (!status && d)
        status = d->fn(&c);
    /*
     * A vCPU that completes a call is running, however it was started (an
     * embedder that runs a vCPU without VCPU_START): record it, so that
     * the saved state never shows a vCPU in BLOCK that was never started
     * (VMI-SAV-028).  A refused call changes nothing (VMI-STS-004), and a
     * vCPU that VCPU_STOP just stopped is not running.
     */
    if (!status && call->action != VMI_HOST_STOP)
        vm->vcpus[vcpu].started = 1;
    /* On the vCPU's own thread, outside guest code: keep its record valid. */
    vmi__clock_refresh(vm, vcpu);
    /* A status TIME_READ's "Statuses" row does not list (VMI-STS-008). */
    if (VMI__FAULT_IS(vm, STATUS_NOT_LISTED) && !status &&
        call->nr == VMI_HC_TIME_READ && call->args[0])
        status = -VMI_E_INVAL;
    if (VMI__FAULT_IS(vm, RESULTS_NOT_ZEROED))
        for (unsigned i = d ? d->rets : 0; i < VMI_HC_MAX_RETS; i++)
            call->rets[i] = UINT64_C(0x5a5a5a5a5a5a5a5a);
    vmi__strict_note(&c, call->nr, status);
    vmi__unlock(vm);
    call->status = status;
    vmi__ctx_finish(&c);
    return 0;
}

int64_t vmi__hc_nop(struct vmi__ctx *c)
{
    (void)c;
    return 0;
}

/* Drop every granted feature whose requirements were not all granted. */
static uint64_t close_features(uint64_t f)
{
    static const uint64_t req[VMI_F_COUNT] = VMI_F_REQUIRES_BY_BIT;
    uint64_t prev;

    do {
        prev = f;
        for (unsigned i = 0; i < VMI_F_COUNT; i++)
            if ((f & (UINT64_C(1) << i)) && (f & req[i]) != req[i])
                f &= ~(UINT64_C(1) << i);
    } while (f != prev);
    return f;
}

int64_t vmi__hc_negotiate(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t version = c->call->args[0];
    uint64_t req = c->call->args[1];
    uint64_t major = version >> 16, minor = version & 0xFFFFu;
    /* Bits the agreed version does not define are ignored (VMI-VER-029):
     * a later guest asks for what it knows, this host grants what it knows.
     * This host implements one version, so "agreed" is 1.0's set. */
    uint64_t known = req & VMI_F_ALL_1_0;
    uint64_t granted;

    if (vm->lifecycle != VMI_LIFECYCLE_INITIAL &&
        !VMI__FAULT_IS(vm, NEGOTIATE_TWICE))
        return -VMI_E_STATE;
    if ((req & ~VMI_F_ALL_1_0) &&
        VMI__FAULT_IS(vm, NEGOTIATE_REJECTS_UNDEFINED))
        return -VMI_E_INVAL;
    /* A requested feature must come with everything it requires. */
    if (close_features(known) != known)
        return -VMI_E_INVAL;
    /*
     * The highest version both implement (VMI-VER-030/031): the guest
     * implements every minor of its major up to its own, this host 1.0 to
     * 1.VMI_SPEC_VERSION_MINOR of major VMI_SPEC_VERSION_MAJOR.
     */
    if (major != VMI_SPEC_VERSION_MAJOR &&
        !VMI__FAULT_IS(vm, NEGOTIATE_ANY_MAJOR))
        return -VMI_E_VERSION;
    if (VMI__FAULT_IS(vm, VERSION_EXACT_MATCH) &&
        minor != VMI_SPEC_VERSION_MINOR)
        return -VMI_E_VERSION;
    if (!VMI__FAULT_IS(vm, VERSION_NOT_CLAMPED))
        minor = vmi__min64(minor, VMI_SPEC_VERSION_MINOR);
    granted = close_features(known & vm->cfg.features);
    if (VMI__FAULT_IS(vm, NEGOTIATE_GRANTS_UNDEFINED))
        granted |= req & ~VMI_F_ALL_1_0;
    __atomic_store_n(&vm->lifecycle, VMI_LIFECYCLE_NEGOTIATED,
                     __ATOMIC_RELEASE);
    vm->version = VMI_VERSION(major, minor);
    vm->features = granted;
    c->call->rets[0] = vm->version;
    c->call->rets[1] = granted;
    /*
     * Firmware's starts end here (VMI-CPU-029): SeaBIOS and OVMF start
     * every AP with INIT and SIPI and park it, and the guest must be able
     * to start it with VMI_HC_VCPU_START.  Nothing is registered on them
     * yet; the embedder stops them before the call returns.
     */
    if (vm->ops->stop_vcpu &&
        !VMI__FAULT_IS(vm, NEGOTIATE_KEEPS_FIRMWARE_VCPUS)) {
        for (uint32_t i = 1; i < vm->cfg.vcpu_count; i++) {
            if (i == c->vcpu || !vm->vcpus[i].started)
                continue;
            vm->vcpus[i].started = 0;
            vm->vcpus[i].stops++;
            c->stop[i / 64] |= UINT64_C(1) << (i % 64);
        }
    }
    return 0;
}

int64_t vmi__hc_shutdown(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t reason = c->call->args[0], status = c->call->args[1];

    if (reason != VMI_SHUTDOWN_POWEROFF && reason != VMI_SHUTDOWN_REBOOT &&
        reason != VMI_SHUTDOWN_CRASH)
        return -VMI_E_INVAL;
    if (status > VMI_SHUTDOWN_STATUS_MAX &&
        !VMI__FAULT_IS(vm, SHUTDOWN_STATUS_UNCHECKED))
        return -VMI_E_RANGE;
    __atomic_store_n(&vm->lifecycle, VMI_LIFECYCLE_SHUTDOWN, __ATOMIC_RELEASE);
    vm->shutdown_reason = (uint32_t)reason;
    vm->shutdown_status = (uint32_t)(status & 0xFFu);
    c->call->action = VMI_HOST_SHUTDOWN;
    return 0;
}
