/* SPDX-License-Identifier: MIT */
/* call.c: initialisation, the hypercall dispatcher, shared helpers, names. */
#include "internal.h"

/* Words of this type may alias any object (the copy helpers below). */
typedef uint64_t __attribute__((may_alias)) vmi_word;

/*
 * No memset/memcpy exists in the freestanding build; these loops are not
 * turned into calls to them (-fno-tree-loop-distribute-patterns).
 */
void vmi__zero(void *dst, size_t n)
{
    unsigned char *d = (unsigned char *)dst;

    for (; n && ((uintptr_t)d & 7); n--)
        *d++ = 0;
    for (; n >= 8; n -= 8, d += 8)
        *(vmi_word *)d = 0;
    for (; n; n--)
        *d++ = 0;
}

void vmi__copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;

    if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
        for (; n && ((uintptr_t)d & 7); n--)
            *d++ = *s++;
        for (; n >= 8; n -= 8, d += 8, s += 8)
            *(vmi_word *)d = *(const vmi_word *)s;
    }
    for (; n; n--)
        *d++ = *s++;
}

int vmi_guest_init(struct vmi_guest *g, const struct vmi_guest_ops *ops,
                   void *console_page)
{
    if (!g || !ops || !ops->virt_to_phys)
        return -VMI_E_INVAL;
    vmi__zero(g, sizeof(*g));
    g->ops.ctx = ops->ctx;
    g->ops.virt_to_phys = ops->virt_to_phys;
    g->ops.log = ops->log;
    g->ops.cpuid = ops->cpuid;
    g->ops.rdtsc = ops->rdtsc;
    g->ops.hypercall = ops->hypercall;
    g->console_page = (char *)console_page;
    if (console_page)
        g->console_page_gpa = ops->virt_to_phys(ops->ctx, console_page);
    return 0;
}

void vmi_guest_vcpu_init(struct vmi_guest_vcpu *v, struct vmi_guest *g,
                         uint32_t id)
{
    v->g = g;
    v->id = id;
    v->vector = 0;
    v->clock = 0;
    v->events = 0;
    v->steal = 0;
}

int64_t vmi_guest_call(const struct vmi_guest *g, uint32_t nr,
                       const uint64_t args[VMI_HC_MAX_ARGS],
                       uint64_t rets[VMI_HC_MAX_RETS])
{
    uint64_t a[VMI_HC_MAX_ARGS] = {0, 0, 0, 0, 0};
    uint64_t r[VMI_HC_MAX_RETS] = {0, 0};
    int64_t st;
    unsigned i;

    if (args)
        for (i = 0; i < VMI_HC_MAX_ARGS; i++)
            a[i] = args[i];
    switch (g->transport) {
    case VMI_GUEST_T_FUNCTION:
        st = g->ops.hypercall(g->ops.ctx, nr, a, r);
        break;
    case VMI_GUEST_T_NONE:
        st = -VMI_E_NOSYS;
        break;
    default:
        st = vmi__arch_call(g->transport, g->info.port, nr, a, r);
        break;
    }
    if (rets)
        for (i = 0; i < VMI_HC_MAX_RETS; i++)
            rets[i] = r[i];
    return st;
}

int64_t vmi__call5(const struct vmi_guest *g, uint32_t nr, uint64_t a0,
                   uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                   uint64_t rets[VMI_HC_MAX_RETS])
{
    uint64_t a[VMI_HC_MAX_ARGS];

    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
    a[4] = a4;
    return vmi_guest_call(g, nr, a, rets);
}

uint64_t vmi__phys(const struct vmi_guest *g, const void *va)
{
    return g->ops.virt_to_phys(g->ops.ctx, va);
}

uint64_t vmi__rdtsc(const struct vmi_guest *g)
{
    if (g->ops.rdtsc)
        return g->ops.rdtsc(g->ops.ctx);
    return vmi__arch_rdtsc();
}

int vmi__batch(const struct vmi_guest *g, uint32_t nr, const void *va,
               uint32_t count, uint32_t *done, uint32_t *calls)
{
    const unsigned char *base = (const unsigned char *)va;
    uint32_t win = g->info.max_batch ? g->info.max_batch : count;
    uint32_t off = 0, ncalls = 0;
    int st = 0;

    while (off < count) {
        uint32_t n = count - off < win ? count - off : win;
        uint64_t gpa = vmi__phys(g, base + (size_t)off * 16u);
        uint32_t start = 0;

        /* One window: restart at rets[0] after VMI_E_AGAIN. */
        for (;;) {
            uint64_t rets[VMI_HC_MAX_RETS];
            int64_t r = vmi__call5(g, nr, gpa, n, start, 0, 0, rets);

            ncalls++;
            if (r == 0) {
                start = n;
                break;
            }
            /* A completed index outside (start, n] is a host bug: stop. */
            if (r == -VMI_E_AGAIN && rets[0] > start && rets[0] <= n) {
                start = (uint32_t)rets[0];
                if (start == n)
                    break;
                continue;
            }
            st = (int)r;
            if (rets[0] >= start && rets[0] < n)
                start = (uint32_t)rets[0];
            break;
        }
        off += start;
        if (st)
            break;
    }
    if (done)
        *done = off;
    if (calls)
        *calls = ncalls;
    return st;
}

static const char *const status_names[VMI_STATUS_COUNT] = {
    "VMI_OK",       "VMI_E_NOSYS",   "VMI_E_PERM",  "VMI_E_STATE",
    "VMI_E_NOTSUP", "VMI_E_INVAL",   "VMI_E_ALIGN", "VMI_E_FAULT",
    "VMI_E_RANGE",  "VMI_E_NOENT",   "VMI_E_BUSY",  "VMI_E_LIMIT",
    "VMI_E_AGAIN",  "VMI_E_VERSION",
};

const char *vmi_guest_status_name(int64_t status)
{
    uint64_t code = status < 0 ? 0 - (uint64_t)status : (uint64_t)status;

    if (code < VMI_STATUS_COUNT)
        return status_names[code];
    return "VMI_E_UNKNOWN";
}
