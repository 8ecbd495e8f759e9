/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c: saving a paused VM to a file and continuing it in a new
 * vmi-run process.
 *
 * File format (vmi-run private, host byte order, not the OpenVMI save
 * format, which is the host-lib blob embedded in it):
 *   struct snap_header
 *   vcpu_count x struct vmm_vcpu_state (KVM regs, sregs, LAPIC, events)
 *   host-lib blob (vmi_host_save: all paravirtual state)
 *   nonzero guest RAM pages: { uint64_t gpa; uint8_t data[4096]; } ...
 * The VM clock continues from its saved value (host-lib rebases it and
 * rewrites the clock records; the raw guest TSC does jump); a vCPU saved inside
 * BLOCK is saved after its OUT with the call still in its registers, and the
 * restoring process issues that BLOCK again before running it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "vmm.h"

#define SNAP_MAGIC "VMIRSNP1"
#define SNAP_VERSION 2u /* 2: doorbell port in the header */
#define PAGE 4096u

struct snap_header {
    char magic[8];
    uint32_t version;
    uint32_t vcpu_count;
    uint64_t mem_bytes;
    uint64_t guest_tsc;
    uint64_t tsc_hz;
    uint64_t host_blob_len;
    uint64_t page_count;
    uint32_t state_size;
    uint32_t port; /* doorbell port announced to the guest */
};

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

int vmm_snapshot_save(struct vmm *vm, const char *path, char *why,
                      size_t why_len)
{
    static const uint8_t zero[PAGE];
    struct snap_header h;
    size_t blen = 0;
    void *blob = NULL;
    FILE *f = NULL;
    int rc = -1;

    memset(&h, 0, sizeof(h));
    memcpy(h.magic, SNAP_MAGIC, 8);
    h.version = SNAP_VERSION;
    h.vcpu_count = vm->nvcpus;
    h.mem_bytes = vm->ram_bytes;
    h.guest_tsc = __rdtsc() + (uint64_t)vm->tsc_offset;
    h.tsc_hz = vm->tsc_hz;
    h.state_size = sizeof(struct vmm_vcpu_state);
    h.port = vm->opts.port;
    if (vmi_host_save(vm->host, NULL, 0, &blen) != 0 ||
        !(blob = malloc(blen)) ||
        vmi_host_save(vm->host, blob, blen, &blen) != 0) {
        fail(why, why_len, "host-lib could not save its state");
        goto out;
    }
    h.host_blob_len = blen;
    for (uint64_t a = 0; a < vm->ram_bytes; a += PAGE)
        if (memcmp(vm->ram + a, zero, PAGE) != 0)
            h.page_count++;
    f = fopen(path, "wb");
    if (!f) {
        fail(why, why_len, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    if (fwrite(&h, sizeof(h), 1, f) != 1)
        goto io;
    for (uint32_t i = 0; i < vm->nvcpus; i++)
        if (fwrite(&vm->vcpus[i].saved, sizeof(vm->vcpus[i].saved), 1, f) != 1)
            goto io;
    if (fwrite(blob, 1, blen, f) != blen)
        goto io;
    for (uint64_t a = 0; a < vm->ram_bytes; a += PAGE) {
        if (memcmp(vm->ram + a, zero, PAGE) == 0)
            continue;
        if (fwrite(&a, sizeof(a), 1, f) != 1 ||
            fwrite(vm->ram + a, PAGE, 1, f) != 1)
            goto io;
    }
    if (fclose(f) != 0) {
        f = NULL;
        goto io;
    }
    f = NULL;
    rc = 0;
    goto out;
io:
    fail(why, why_len, "writing %s: %s", path, strerror(errno));
out:
    if (f)
        fclose(f);
    free(blob);
    return rc;
}

static int read_header(FILE *f, struct snap_header *h, char *why,
                       size_t why_len)
{
    if (fread(h, sizeof(*h), 1, f) != 1)
        return fail(why, why_len, "file too short for a snapshot header");
    if (memcmp(h->magic, SNAP_MAGIC, 8) != 0)
        return fail(why, why_len, "not a vmi-run snapshot (bad magic)");
    if (h->version != SNAP_VERSION)
        return fail(why, why_len, "snapshot format version %u, expected %u",
                    h->version, SNAP_VERSION);
    if (h->state_size != sizeof(struct vmm_vcpu_state))
        return fail(why, why_len, "vCPU state size %u, expected %zu",
                    h->state_size, sizeof(struct vmm_vcpu_state));
    if (h->vcpu_count < 1 || h->vcpu_count > VMM_MAX_VCPUS)
        return fail(why, why_len, "bad vCPU count %u", h->vcpu_count);
    if (h->mem_bytes < (2u << 20) || h->mem_bytes > (3072ull << 20) ||
        h->mem_bytes % (1u << 20))
        return fail(why, why_len, "bad memory size %llu",
                    (unsigned long long)h->mem_bytes);
    if (h->host_blob_len > (64u << 20))
        return fail(why, why_len, "host-lib state too large");
    if (h->page_count > h->mem_bytes / PAGE)
        return fail(why, why_len, "bad page count");
    if (h->port < 1 || h->port > 0xFFFF)
        return fail(why, why_len, "bad doorbell port %u", h->port);
    return 0;
}

int vmm_snapshot_peek(const char *path, struct vmm_opts *o, char *why,
                      size_t why_len)
{
    struct snap_header h;
    FILE *f = fopen(path, "rb");
    int rc;

    if (!f)
        return fail(why, why_len, "cannot open: %s", strerror(errno));
    rc = read_header(f, &h, why, why_len);
    fclose(f);
    if (rc != 0)
        return rc;
    if (o->port_set && o->port != h.port)
        return fail(why, why_len,
                    "--port 0x%x given, but the saved guest uses doorbell "
                    "port 0x%x (leave --port out to keep it)",
                    o->port, h.port);
    o->mem_mib = h.mem_bytes >> 20;
    o->vcpus = h.vcpu_count;
    o->port = (uint16_t)h.port;
    return 0;
}

int vmm_snapshot_restore(struct vmm *vm, const char *path, char *why,
                         size_t why_len)
{
    struct snap_header h;
    char hwhy[256] = "";
    void *blob = NULL;
    FILE *f;
    int rc = -1;

    f = fopen(path, "rb");
    if (!f)
        return fail(why, why_len, "cannot open %s: %s", path, strerror(errno));
    if (read_header(f, &h, why, why_len) != 0)
        goto out;
    if (h.vcpu_count != vm->nvcpus || h.mem_bytes != vm->ram_bytes) {
        fail(why, why_len, "snapshot does not match the VM");
        goto out;
    }
    for (uint32_t i = 0; i < h.vcpu_count; i++) {
        if (fread(&vm->vcpus[i].saved, sizeof(vm->vcpus[i].saved), 1, f) != 1)
            goto trunc;
    }
    blob = malloc(h.host_blob_len ? h.host_blob_len : 1);
    if (!blob || fread(blob, 1, h.host_blob_len, f) != h.host_blob_len)
        goto trunc;
    for (uint64_t i = 0; i < h.page_count; i++) {
        uint64_t gpa;

        if (fread(&gpa, sizeof(gpa), 1, f) != 1)
            goto trunc;
        if (gpa % PAGE || gpa >= vm->ram_bytes) {
            fail(why, why_len, "page at bad address 0x%llx",
                 (unsigned long long)gpa);
            goto out;
        }
        if (fread(vm->ram + gpa, PAGE, 1, f) != 1)
            goto trunc;
    }
    if (h.tsc_hz != vm->tsc_hz)
        fprintf(stderr, "vmi-run: warning: TSC was %llu Hz, now %llu Hz\n",
                (unsigned long long)h.tsc_hz, (unsigned long long)vm->tsc_hz);
    /*
     * The guest TSC stays the host TSC (offset 0: KVM-PVM applies no TSC
     * offset, so vmi-run never relies on one).  The VM clock continues
     * anyway: host-lib rebases it on the saved value and rewrites every
     * clock record (new tsc_timestamp, system_time, GUEST_STOPPED), and a
     * guest reads the clock through the record, as pvclock intends.
     */
    rc = vmi_host_restore(vm->host, blob, h.host_blob_len, hwhy, sizeof(hwhy));
    if (rc != 0) {
        fail(why, why_len, "host-lib rejected the saved state (%s): %s",
             vmi_host_status_name(rc), hwhy);
        rc = -1;
        goto out;
    }
    vmm_set_wall_clock(vm);
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        struct vmm_vcpu *v = &vm->vcpus[i];

        v->started = (int)v->saved.started;
        v->restore_pending = (int)v->saved.started;
        /*
         * An upcall that was due when the VM was saved (an event set
         * pending just before the pause) is due again in the restored
         * state, but nothing kicks this process for it: have each vCPU's
         * first look ask host-lib.  Without it a vCPU whose BLOCK returns
         * for that event never took the upcall and spun in its wait loop.
         */
        atomic_store(&v->kicked, 1);
    }
    rc = 0;
    goto out;
trunc:
    fail(why, why_len, "%s is truncated", path);
out:
    free(blob);
    fclose(f);
    return rc;
}
