/* SPDX-License-Identifier: MIT */
/* console.c: CONSOLE_WRITE with a token-bucket rate limit. */
#include "vm.h"

#define NS_PER_S UINT64_C(1000000000)

/* Refill the bucket from host time; tokens are bytes * 1e9.  Locked. */
static uint64_t refill(struct vmi_host_vm *vm)
{
    uint64_t cap = (uint64_t)vm->cfg.console_burst * NS_PER_S;
    uint64_t now = vm->ops->now_ns(vm->ctx);
    uint64_t dt = now > vm->tokens_ns ? now - vm->tokens_ns : 0;
    uint64_t add, t;

    vm->tokens_ns = now > vm->tokens_ns ? now : vm->tokens_ns;
    if (__builtin_mul_overflow(dt, (uint64_t)vm->cfg.console_rate, &add) ||
        __builtin_add_overflow(vm->tokens, add, &t) || t > cap)
        t = cap;
    vm->tokens = t;
    return t / NS_PER_S;
}

int64_t vmi__hc_console_write(struct vmi__ctx *c)
{
    struct vmi_host_vm *vm = c->vm;
    uint64_t gpa = c->call->args[0];
    uint64_t len = c->call->args[1];
    uint8_t *buf = vm->vcpus[c->vcpu].scratch;
    uint64_t n;

    if (len == 0)
        return 0;
    if (vmi__gmem_check(vm, gpa, len))
        return -VMI_E_FAULT;
    if (len > VMI__MAX_CONSOLE) {
        if (!VMI__FAULT_IS(vm, CONSOLE_LEN_UNCHECKED))
            return -VMI_E_RANGE;
        len = VMI__MAX_CONSOLE;
    }
    n = refill(vm);
    if (VMI__FAULT_IS(vm, CONSOLE_NO_RATE_LIMIT))
        n = len;
    n = vmi__min64(n, len);
    vm->tokens -= vmi__min64(vm->tokens, n * NS_PER_S);
    if (n && vmi__gmem_read(vm, gpa, buf, n))
        return -VMI_E_FAULT; /* checked above; RAM cannot shrink */
    c->call->rets[0] = n;
    if (n < len)
        vm->stats.console_dropped += len - n;
    if (n && vm->ops->console) {
        /* The sink runs without the VM lock; buf is this vCPU's scratch. */
        vmi__unlock(vm);
        vm->ops->console(vm->ctx, c->vcpu, (const char *)buf, (size_t)n);
        vmi__lock(vm);
    }
    return n < len ? -VMI_E_AGAIN : 0;
}
