/* SPDX-License-Identifier: MIT */
/* strict.c: strict mode, mapping rejected calls to the guest clause that
 * forbids them. */
#include "clauses.h"
#include "vm.h"

/*
 * Called under the VM lock after each call; the report itself is made by
 * vmi__ctx_finish without the lock.
 */
void vmi__strict_note(struct vmi__ctx *c, uint64_t nr, int64_t status)
{
    const char *clause = NULL, *what = NULL;
    struct vmi__vcpu *v = &c->vm->vcpus[c->vcpu];
    int again_before = v->console_again;

    if (nr == VMI_HC_CONSOLE_WRITE)
        v->console_again = status == -VMI_E_AGAIN;
    if (nr == VMI_HC_BLOCK && status == 0 && c->call->irq_enabled) {
        /* Accepted, but an upcall may already have eaten the wakeup. */
        clause = VMI__CL_G_BLOCK_IF;
        what = "BLOCK called with interrupts enabled";
    }
    if (nr == VMI_HC_EVENT_REGISTER && status == 0 && c->record_uninit) {
        clause = VMI__CL_G_EVT_INIT;
        what = "event record registered with pending bits set";
    }
    switch (-status) {
    case VMI_E_NOSYS:
        clause = VMI__CL_G_NOSYS;
        what = "unknown call number";
        break;
    case VMI_E_PERM:
        clause = VMI__CL_G_PERM;
        what = "kernel call from user mode";
        break;
    case VMI_E_STATE:
        /* A call still in flight on another vCPU at SHUTDOWN is no fault. */
        if (c->vm->lifecycle == VMI_LIFECYCLE_SHUTDOWN)
            break;
        if (c->vm->lifecycle == VMI_LIFECYCLE_INITIAL) {
            clause = VMI__CL_G_STATE;
            what = "call not allowed before negotiation";
        } else if (nr == VMI_HC_NEGOTIATE) {
            clause = VMI__CL_G_TWICE;
            what = "second NEGOTIATE";
        } else {
            clause = VMI__CL_G_BLOCK;
            what = "BLOCK without an event record or a deadline";
        }
        break;
    case VMI_E_NOTSUP:
        clause = VMI__CL_G_NOTSUP;
        what = "call of a feature that was not granted";
        break;
    case VMI_E_INVAL:
        if (nr == VMI_HC_NEGOTIATE) {
            clause = VMI__CL_G_REQUIRES;
            what = "feature requested without the features it requires";
        } else if (nr == VMI_HC_VCPU_START) {
            clause = VMI__CL_G_INVAL;
            what = "reserved field of struct vmi_vcpu_start set";
        } else {
            clause = VMI__CL_G_VALUE;
            what = "flag, reserved bit or value the call does not define";
        }
        break;
    case VMI_E_ALIGN:
        clause = VMI__CL_G_ALIGN;
        what = "misaligned guest-physical address";
        break;
    case VMI_E_FAULT:
        clause = VMI__CL_G_FAULT;
        what = "guest-physical range outside RAM or wrapping";
        break;
    case VMI_E_RANGE:
        clause = VMI__CL_G_RANGE;
        what = "id or count beyond the announced limits";
        break;
    case VMI_E_AGAIN:
        /*
         * VMI-CON-007 forbids retrying at once, not hitting the limit: a
         * guest cannot see the bucket.  A write that follows an E_AGAIN and
         * is accepted nothing again was retried before any time passed.
         */
        if (nr == VMI_HC_CONSOLE_WRITE && again_before &&
            c->call->rets[0] == 0) {
            clause = VMI__CL_G_CONSOLE;
            what = "console write retried at once after VMI_E_AGAIN";
        }
        break;
    default:
        break;
    }
    if (!clause)
        return;
    c->vm->stats.violations++;
    c->clause = clause;
    c->what = what;
}
