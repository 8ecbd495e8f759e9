/* SPDX-License-Identifier: MIT */
/* suite.c: the list of case tables that make up the suite, in run order. */
#include "../cases/cases.h"

const struct vmi_conform_area *const vmi_conform_areas[] = {
    &vmi_conform_area_discovery, &vmi_conform_area_core,
    &vmi_conform_area_clock,     &vmi_conform_area_timer,
    &vmi_conform_area_event,     &vmi_conform_area_vcpu,
    &vmi_conform_area_tlb,       &vmi_conform_area_pt,
    &vmi_conform_area_mem,       &vmi_conform_area_system,
    &vmi_conform_area_save,      &vmi_conform_area_x86,
    &vmi_conform_area_aarch64,
};
const uint32_t vmi_conform_area_count =
    sizeof(vmi_conform_areas) / sizeof(vmi_conform_areas[0]);
