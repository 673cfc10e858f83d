/*
 * safetensors_dtype.c - the safetensors dtype table (names and bit widths),
 * the mapping onto braid's compute dtypes, and widening a tensor to f32.
 */
#include <string.h>

#include "base/dtype.h"
#include "base/error.h"
#include "checkpoint/safetensors.h"

static const struct {
    const char *name;
    int bits;
} dtype_table[BR_ST_DTYPE_COUNT] = {
    [BR_ST_F32] = {"F32", 32},
    [BR_ST_BF16] = {"BF16", 16},
    [BR_ST_F16] = {"F16", 16},
    [BR_ST_F64] = {"F64", 64},
    [BR_ST_I64] = {"I64", 64},
    [BR_ST_I32] = {"I32", 32},
    [BR_ST_I16] = {"I16", 16},
    [BR_ST_I8] = {"I8", 8},
    [BR_ST_U64] = {"U64", 64},
    [BR_ST_U32] = {"U32", 32},
    [BR_ST_U16] = {"U16", 16},
    [BR_ST_U8] = {"U8", 8},
    [BR_ST_BOOL] = {"BOOL", 8},
    [BR_ST_F8_E4M3] = {"F8_E4M3", 8},
    [BR_ST_F8_E5M2] = {"F8_E5M2", 8},
    [BR_ST_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8},
    [BR_ST_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8},
    [BR_ST_F8_E8M0] = {"F8_E8M0", 8},
    [BR_ST_F6_E2M3] = {"F6_E2M3", 6},
    [BR_ST_F6_E3M2] = {"F6_E3M2", 6},
    [BR_ST_F4] = {"F4", 4},
    [BR_ST_C64] = {"C64", 64},
};

static int dtype_valid(br_st_dtype d) { return (int)d >= 0 && d < BR_ST_DTYPE_COUNT; }

const char *br_st_dtype_name(br_st_dtype d) { return dtype_valid(d) ? dtype_table[d].name : "?"; }

int br_st_dtype_bits(br_st_dtype d) { return dtype_valid(d) ? dtype_table[d].bits : 0; }

int br_st_dtype_parse(const char *name) {
    for (int d = 0; d < BR_ST_DTYPE_COUNT; d++)
        if (strcmp(name, dtype_table[d].name) == 0) return d;
    return -1;
}

int br_st_to_br_dtype(br_st_dtype d, br_dtype *out) {
    switch (d) {
    case BR_ST_F32: *out = BR_F32; return 1;
    case BR_ST_BF16: *out = BR_BF16; return 1;
    case BR_ST_F16: *out = BR_F16; return 1;
    default: return 0;
    }
}

size_t br_st_numel(const br_st_tensor *t) {
    /* Validated at open: the product fits, as numel * bits / 8 == nbytes. */
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

br_status br_st_read_f32(const br_st_tensor *t, float *dst, br_error *err) {
    if (!t) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_st_read_f32: tensor is NULL");
    size_t n = br_st_numel(t);
    if (!dst && n > 0)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "%s: tensor '%s': destination is NULL", t->file,
                       t->name);
    /* Bytes are little-endian whatever the host; data may be unaligned. */
    const unsigned char *b = t->data;
    switch (t->dtype) {
    case BR_ST_F32:
        for (size_t i = 0; i < n; i++, b += 4) {
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                         (uint32_t)b[3] << 24;
            memcpy(&dst[i], &u, 4);
        }
        return BR_OK;
    case BR_ST_BF16:
        for (size_t i = 0; i < n; i++, b += 2) dst[i] = br_bf16_to_f32((uint16_t)(b[0] | b[1] << 8));
        return BR_OK;
    case BR_ST_F16:
        for (size_t i = 0; i < n; i++, b += 2) dst[i] = br_f16_to_f32((uint16_t)(b[0] | b[1] << 8));
        return BR_OK;
    default:
        return BR_FAIL(err, BR_ERR_UNSUPPORTED,
                       "%s: tensor '%s': dtype %s cannot be read as float32 (only F32, BF16, F16)",
                       t->file, t->name, br_st_dtype_name(t->dtype));
    }
}
