/* SPDX-License-Identifier: MIT */
/*
 * clock_scale32.c: the 32-bit (no __int128) path of vmi_guest_clock_scale,
 * compiled on this 64-bit host so test_clock can check it too.
 */
#undef __SIZEOF_INT128__
#include "vmi_guest_clock.h"

uint64_t scale32(uint64_t delta, uint32_t mul, int8_t shift);

uint64_t scale32(uint64_t delta, uint32_t mul, int8_t shift)
{
    return vmi_guest_clock_scale(delta, mul, shift);
}
