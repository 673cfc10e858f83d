/*
 * dtype.h - scalar conversions between f32, bf16 and f16.
 *
 * bf16 is the top 16 bits of an IEEE f32 (round-to-nearest-even on the way
 * down); f16 is IEEE binary16 with subnormals.  The CPU backend computes in
 * f32; its matrix products widen bf16/f16 weights element by element.
 */
#ifndef BR_BASE_DTYPE_H
#define BR_BASE_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "braid.h"

static inline float br_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t br_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
    return (uint16_t)(u >> 16);
}

float br_f16_to_f32(uint16_t h);
uint16_t br_f32_to_f16(float f);

/* Widens n elements of `src` (of type `dtype`) into f32 `dst`. */
void br_to_f32(float *dst, const void *src, br_dtype dtype, size_t n);
/* Narrows n f32 elements into `dst` of type `dtype` (round to nearest even). */
void br_from_f32(void *dst, const float *src, br_dtype dtype, size_t n);
/* Converts n elements of type `from` into `dst` of type `to` (a copy when the types agree). */
void br_convert(void *dst, br_dtype to, const void *src, br_dtype from, size_t n);

#endif /* BR_BASE_DTYPE_H */
