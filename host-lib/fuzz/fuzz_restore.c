/* SPDX-License-Identifier: MIT */
/* fuzz_restore.c: random and mutated blobs into vmi_host_restore.  With the
 * first byte odd the checksum is fixed up first, so mutations reach the
 * section parsers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_host.h"

uint32_t vmi__crc32c(uint32_t crc, const void *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_host h;
    static uint8_t a[1 << 16], b[1 << 16];
    struct vmi_host_vm *vm;
    uint8_t *blob;
    size_t la, lb, n;
    char why[128];
    int fix;

    if (size < 1)
        return 0;
    fix = data[0] & 1;
    n = size - 1;
    blob = malloc(n ? n : 1);
    if (!blob)
        abort();
    memcpy(blob, data + 1, n);
    if (fix && n >= sizeof(struct vmi_save_header)) {
        const size_t at = offsetof(struct vmi_save_header, checksum);
        uint32_t crc;
        memset(blob + at, 0, 4);
        crc = vmi__crc32c(0, blob, n);
        memcpy(blob + at, &crc, 4);
    }
    memset(&h, 0, sizeof(h));
    h.tsc = 5000;
    vm = fz_vm(&h);
    if (vmi_host_save(vm, a, sizeof(a), &la) != 0)
        abort();
    if (vmi_host_restore(vm, blob, n, why, sizeof(why)) == 0) {
        /* Accepted: the state saves and restores again. */
        if (vmi_host_save(vm, a, sizeof(a), &la) != 0)
            abort();
        if (vmi_host_restore(vm, a, la, NULL, 0) != 0)
            abort();
        if (vmi_host_save(vm, b, sizeof(b), &lb) != 0 || la != lb ||
            memcmp(a, b, la) != 0)
            abort();
        /* And the VM keeps working. */
        struct vmi_host_call c;
        memset(&c, 0, sizeof(c));
        c.nr = VMI_HC_TIME_READ;
        if (vmi_host_hypercall(vm, 0, &c) != 0)
            abort();
        (void)vmi_host_timers_fire(vm, 64);
    } else {
        /* Rejected: the VM is untouched. */
        if (vmi_host_save(vm, b, sizeof(b), &lb) != 0 || la != lb ||
            memcmp(a, b, la) != 0)
            abort();
    }
    vmi_host_vm_destroy(vm);
    free(blob);
    return 0;
}
