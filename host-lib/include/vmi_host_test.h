/* SPDX-License-Identifier: MIT */
/*
 * vmi_host_test.h: fault injection, only in the test variant of host-lib.
 *
 * The shipping libraries (libvmi-host.a and libvmi-host.so.1, what is
 * installed and found through pkg-config) are built without
 * VMI_HOST_FAULTS: they hold none of these functions, no fault names and
 * no mutation code, so nothing can switch a fault on in a product.
 *
 * The test variant is the same sources built with VMI_HOST_FAULTS, twice:
 *   - build/host-lib/test-variant/libvmi-host.so.1, the same soname as the
 *     shipping library.  Any embedder that links libvmi-host.so
 *     dynamically (vmi-run, vmi-conform's simulator, a QEMU build) runs on
 *     it when LD_LIBRARY_PATH names that directory; the environment
 *     variable VMI_HOST_FAULT then names the fault injected into every VM
 *     the process creates (vmi_host_vm_create fails, with the reason, on a
 *     name this build does not know);
 *   - vmi::host_test, static, for host-lib's own unit tests, which use the
 *     functions below.
 * Neither is installed.  A program that calls these functions and links
 * the shipping library fails to link, which is the point.
 */
#ifndef VMI_HOST_TEST_H
#define VMI_HOST_TEST_H

#include "vmi_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The faults this build can inject, each breaking exactly one host clause.
 * Returns the number of faults; fills names[i] (for example
 * "timer-early") and clauses[i] ("VMI-TMR-008") for i < cap.  Either array
 * may be NULL.  Any thread, any time.
 */
VMI_HOST_API unsigned vmi_host_test_faults(const char **names,
                                           const char **clauses, unsigned cap);

/*
 * Inject fault `name` into `vm` (NULL: none), replacing the one
 * VMI_HOST_FAULT gave it.  Call it right after vmi_host_vm_create, before
 * any other call on the VM.  Returns 0, or -VMI_E_INVAL for a NULL vm or
 * an unknown name (the VM is then unchanged).
 */
VMI_HOST_API int vmi_host_test_set_fault(struct vmi_host_vm *vm,
                                         const char *name);

/* The name of the fault injected into `vm`, or NULL. */
VMI_HOST_API const char *vmi_host_test_fault(const struct vmi_host_vm *vm);

#ifdef __cplusplus
}
#endif
#endif /* VMI_HOST_TEST_H */
