/* SPDX-License-Identifier: MIT */
/*
 * rt_core.c: the part of the example guests' runtime (see rt.h) that is
 * the same on every architecture: console, formatting, panic and exit,
 * the command line, locks, per-vCPU OpenVMI state and secondary vCPUs.
 * The architecture's part (x86_64/rt.c, aarch64/rt.c) boots, takes
 * interrupts and provides the hooks of rt_internal.h.
 */
#include "rt.h"

#include "rt_internal.h"
#include "rt_scan.h"

struct vmi_guest rt_vmi;
struct rt_boot rt__boot;
char rt__cmdline[RT_CMDLINE_MAX];

static struct rt_cpu rt_cpus[RT_MAX_CPUS];
static char console_page[4096] __attribute__((aligned(4096)));
/*
 * rt_printf's output buffer (under console_lock); lines end at 511 bytes.
 * Aligned to its size, so it never crosses a page: one contiguous GPA range.
 */
#define RT_PRINTF_MAX 512u
static char printf_page[RT_PRINTF_MAX] __attribute__((aligned(RT_PRINTF_MAX)));
static rt_lock_t console_lock;

void rt_lock(rt_lock_t *l)
{
    while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
            rt_cpu_relax();
}

void rt_unlock(rt_lock_t *l)
{
    __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* ---- formatting ------------------------------------------------------------
 */

struct out {
    char *buf;
    size_t cap, n;
};

static void put(struct out *o, char c)
{
    if (o->n + 1 < o->cap)
        o->buf[o->n] = c;
    o->n++;
}

int rt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = {buf, cap, 0};

    for (; *fmt; fmt++) {
        char tmp[24], pad = ' ';
        int width = 0, left = 0, lng = 0, len = 0;
        uint64_t u;
        const char *s;

        if (*fmt != '%') {
            /* Literal runs in one copy: guest CPL0 code may be emulated
             * instruction by instruction (KVM-PVM), so count them. */
            size_t run = scan(fmt, '%');

            if (o.n + run < o.cap) {
                memcpy(o.buf + o.n, fmt, run);
                o.n += run;
            } else {
                for (size_t i = 0; i < run; i++)
                    put(&o, fmt[i]);
            }
            fmt += run - 1;
            continue;
        }
        fmt++;
        if (*fmt == '-') {
            left = 1;
            fmt++;
        }
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            s = tmp;
            len = 1;
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            len = (int)strlen(s);
            break;
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            int neg = v < 0;

            u = neg ? -(uint64_t)v : (uint64_t)v;
            s = tmp + sizeof(tmp);
            do {
                *(char *)--s = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            if (neg)
                *(char *)--s = '-';
            len = (int)(tmp + sizeof(tmp) - s);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'p': {
            unsigned base = *fmt == 'u' ? 10 : 16;
            const char *dig =
                *fmt == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";

            if (*fmt == 'p')
                u = (uint64_t)(uintptr_t)va_arg(ap, void *);
            else
                u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            s = tmp + sizeof(tmp);
            do {
                *(char *)--s = dig[u % base];
                u /= base;
            } while (u);
            len = (int)(tmp + sizeof(tmp) - s);
            break;
        }
        case '%':
            put(&o, '%');
            continue;
        default:
            put(&o, '%');
            if (!*fmt)
                goto done;
            put(&o, *fmt);
            continue;
        }
        if (!left)
            for (; width > len; width--)
                put(&o, pad);
        if (o.n + (size_t)len < o.cap) {
            memcpy(o.buf + o.n, s, (size_t)len);
            o.n += (size_t)len;
        } else {
            for (int i = 0; i < len; i++)
                put(&o, s[i]);
        }
        for (; width > len; width--)
            put(&o, ' ');
    }
done:
    if (cap)
        buf[o.n < cap ? o.n : cap - 1] = 0;
    return (int)o.n;
}

int rt_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = rt_vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

void rt_write(const char *s, size_t n)
{
    rt_lock(&console_lock);
    if (rt__boot.vmi) {
        vmi_guest_console_write(&rt_vmi, s, n);
    } else {
        rt__raw_write(s, n);
    }
    rt_unlock(&console_lock);
}

void rt_printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    if (rt__boot.vmi) {
        /*
         * Format straight into a buffer the host reads (identity mapped,
         * so its GPA is its address): no copy into guest-lib's bounce page.
         */
        rt_lock(&console_lock);
        n = rt_vsnprintf(printf_page, RT_PRINTF_MAX, fmt, ap);
        if (n > (int)RT_PRINTF_MAX - 1)
            n = RT_PRINTF_MAX - 1;
        vmi_guest_console_write_phys(&rt_vmi, (uint64_t)(uintptr_t)printf_page,
                                     (size_t)n);
        rt_unlock(&console_lock);
    } else {
        n = rt_vsnprintf(buf, sizeof(buf), fmt, ap);
        if (n > (int)sizeof(buf) - 1)
            n = sizeof(buf) - 1;
        rt_write(buf, (size_t)n);
    }
    va_end(ap);
}

_Noreturn void rt_exit(unsigned status)
{
    if (rt__boot.vmi)
        vmi_guest_shutdown(&rt_vmi, VMI_SHUTDOWN_POWEROFF, status);
    rt__raw_exit(status);
}

_Noreturn void rt_panic(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    n = rt_snprintf(buf, sizeof(buf), "PANIC: ");
    va_start(ap, fmt);
    n += rt_vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    rt_write(buf, (size_t)n);
    if (rt__boot.vmi)
        vmi_guest_shutdown(&rt_vmi, VMI_SHUTDOWN_CRASH, 1);
    rt__raw_exit(0x7F);
}

int rt_cmdline_u64(const char *cl, const char *key, uint64_t *val)
{
    size_t kl = strlen(key);

    for (const char *p = cl; *p;) {
        while (*p == ' ')
            p++;
        if (memcmp(p, key, kl) == 0 && p[kl] == '=') {
            uint64_t v = 0;
            unsigned base = 10;

            p += kl + 1;
            if (p[0] == '0' && p[1] == 'x') {
                base = 16;
                p += 2;
            }
            for (;; p++) {
                unsigned d;

                if (*p >= '0' && *p <= '9')
                    d = (unsigned)(*p - '0');
                else if (base == 16 && *p >= 'a' && *p <= 'f')
                    d = (unsigned)(*p - 'a' + 10);
                else
                    break;
                v = v * base + d;
            }
            *val = v;
            return 1;
        }
        p += scan(p, ' '); /* to the next space or the end */
    }
    return 0;
}

/* ---- per-vCPU state -------------------------------------------------------
 */

struct rt_cpu *rt_cpu(uint32_t id)
{
    return id < RT_MAX_CPUS ? &rt_cpus[id] : 0;
}

uint64_t rt_now(void)
{
    struct rt_cpu *cpu = rt_this_cpu();
    uint64_t ns = 0;

    if (cpu->v.clock)
        return vmi_guest_clock_now(&cpu->v);
    vmi_guest_time_read(&rt_vmi, &ns, 0);
    return ns;
}

/* Register this vCPU's clock and event records (events unmasked). */
static int cpu_vmi_init(struct rt_cpu *cpu)
{
    int rc = 0;

    vmi_guest_vcpu_init(&cpu->v, &rt_vmi, cpu->id);
    if (rt_vmi.features & VMI_F_CLOCK) {
        rc = vmi_guest_clock_register(&cpu->v, &cpu->clock);
        if (rc)
            return rc;
    }
    if (rt_vmi.features & VMI_F_EVENTS) {
        rc = vmi_guest_event_register(&cpu->v, &cpu->events, RT_EVENT_VECTOR);
        if (rc)
            return rc;
        rt_apic_enable();
    }
    return 0;
}

int rt_vmi_setup(uint64_t want, uint64_t *granted)
{
    int rc;

    if (!rt__boot.vmi)
        return -VMI_E_NOSYS;
    rc = vmi_guest_negotiate(&rt_vmi, want, granted);
    if (rc)
        return rc;
    return cpu_vmi_init(rt_this_cpu());
}

void rt_ap_start(struct rt_cpu *cpu)
{
    int rc;

    rt__cpu_bind(cpu, cpu->id);
    rc = cpu_vmi_init(cpu);
    if (rc)
        rt_panic("vCPU %u: clock/event registration failed: %s", cpu->id,
                 vmi_guest_status_name(rc));
    __atomic_store_n(&cpu->online, 1, __ATOMIC_RELEASE);
    cpu->fn(cpu, cpu->arg);
    rt_panic("vCPU %u: function returned", cpu->id);
}

int rt_start_cpu(uint32_t id, void (*fn)(struct rt_cpu *cpu, void *arg),
                 void *arg)
{
    struct rt_cpu *cpu = rt_cpu(id);

    if (!cpu)
        return -VMI_E_RANGE;
    cpu->id = id;
    cpu->fn = fn;
    cpu->arg = arg;
    cpu->start.entry_gva = (uint64_t)(uintptr_t)rt_ap_entry;
    cpu->start.stack_gva = (uint64_t)(uintptr_t)(cpu->stack + RT_CPU_STACK);
    cpu->start.page_table_gpa = rt_page_table_root();
    cpu->start.arg = (uint64_t)(uintptr_t)cpu;
    cpu->start.flags = 0;
    return vmi_guest_vcpu_start(&rt_vmi, id, &cpu->start);
}

/* ---- boot ------------------------------------------------------------------
 */

static uint64_t virt_to_phys(void *ctx, const void *va)
{
    (void)ctx;
    return (uint64_t)(uintptr_t)va; /* identity mapped */
}

_Noreturn void rt__boot_finish(int may_probe)
{
    static const struct vmi_guest_ops ops = {.virt_to_phys = virt_to_phys};
    int rc;

    rt__boot.cmdline = rt__cmdline;
    vmi_guest_init(&rt_vmi, &ops, console_page);
    rc = may_probe ? vmi_guest_probe(&rt_vmi) : -VMI_E_NOSYS;
    rt__boot.vmi = rc == 0;
    /* Without vmi-run's record, OpenVMI's discovery gives the vCPU count. */
    if (rt__boot.vmi && !rt__boot.vmm && rt_vmi.info.vcpu_count)
        rt__boot.vcpu_count = rt_vmi.info.vcpu_count;
    if (rc && rc != -VMI_E_NOSYS)
        rt_printf("rt: OpenVMI probe failed: %s\n", vmi_guest_status_name(rc));
    rt_exit((unsigned)kmain(&rt__boot));
}
