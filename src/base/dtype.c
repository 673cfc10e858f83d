/*
 * dtype.c - element-type names and bulk f32 <-> bf16/f16 conversion.
 */
#include "base/dtype.h"

#include <math.h>

static const char *const dtype_names[BR_DTYPE_COUNT] = {"f32", "bf16", "f16"};
static const size_t dtype_sizes[BR_DTYPE_COUNT] = {4, 2, 2};

size_t br_dtype_size(br_dtype dtype) { return dtype < BR_DTYPE_COUNT ? dtype_sizes[dtype] : 0; }

const char *br_dtype_name(br_dtype dtype) { return dtype < BR_DTYPE_COUNT ? dtype_names[dtype] : "?"; }

int br_dtype_parse(const char *name) {
    static const struct { const char *name; br_dtype dtype; } names[] = {
        {"f32", BR_F32},   {"float32", BR_F32},   {"fp32", BR_F32},
        {"bf16", BR_BF16}, {"bfloat16", BR_BF16},
        {"f16", BR_F16},   {"float16", BR_F16},   {"fp16", BR_F16},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) return (int)names[i].dtype;
    return -1;
}

float br_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    float f;
    if (exp == 0) {
        f = ldexpf((float)mant, -24); /* zero or subnormal */
        uint32_t u;
        memcpy(&u, &f, 4);
        u |= sign;
        memcpy(&f, &u, 4);
        return f;
    }
    uint32_t u = exp == 0x1f ? sign | 0x7f800000u | (mant << 13)
                             : sign | ((exp + 112) << 23) | (mant << 13);
    memcpy(&f, &u, 4);
    return f;
}

uint16_t br_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    float a = fabsf(f);
    if (isnan(f)) return sign | 0x7e00;
    if (a >= 65520.0f) return sign | 0x7c00; /* rounds to infinity */
    if (a < 6.103515625e-05f) {             /* subnormal range: multiples of 2^-24 */
        return sign | (uint16_t)lrintf(a * 16777216.0f);
    }
    uint32_t e = ((u >> 23) & 0xff) - 112;
    uint32_t m = u & 0x7fffff;
    uint32_t r = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return sign | (uint16_t)r;
}

void br_to_f32(float *dst, const void *src, br_dtype dtype, size_t n) {
    const uint16_t *h = src;
    switch (dtype) {
    case BR_F32: memmove(dst, src, n * 4); break;
    case BR_BF16: for (size_t i = 0; i < n; i++) dst[i] = br_bf16_to_f32(h[i]); break;
    case BR_F16: for (size_t i = 0; i < n; i++) dst[i] = br_f16_to_f32(h[i]); break;
    default: break;
    }
}

void br_from_f32(void *dst, const float *src, br_dtype dtype, size_t n) {
    uint16_t *h = dst;
    switch (dtype) {
    case BR_F32: memmove(dst, src, n * 4); break;
    case BR_BF16: for (size_t i = 0; i < n; i++) h[i] = br_f32_to_bf16(src[i]); break;
    case BR_F16: for (size_t i = 0; i < n; i++) h[i] = br_f32_to_f16(src[i]); break;
    default: break;
    }
}

void br_convert(void *dst, br_dtype to, const void *src, br_dtype from, size_t n) {
    if (from == to) {
        memmove(dst, src, n * br_dtype_size(to));
        return;
    }
    if (from == BR_F32) {
        br_from_f32(dst, src, to, n);
        return;
    }
    if (to == BR_F32) {
        br_to_f32(dst, src, from, n);
        return;
    }
    float buf[256];
    const size_t in = br_dtype_size(from), out = br_dtype_size(to);
    for (size_t i = 0; i < n; i += 256) {
        const size_t k = n - i < 256 ? n - i : 256;
        br_to_f32(buf, (const char *)src + i * in, from, k);
        br_from_f32((char *)dst + i * out, buf, to, k);
    }
}
