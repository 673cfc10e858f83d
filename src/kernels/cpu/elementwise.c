/*
 * elementwise.c (cpu) - data movement and small arithmetic between kernels.
 */
#include "kernels/elementwise.h"

#include <string.h>

#include "base/dtype.h"
#include "kernels/act.h"

void br_cpu_axpby(const br_device *dev, int rows, int cols, float a, const float *x, int ldx, float b, float *y, int ldy) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * ldx;
        float *yr = y + (long)r * ldy;
        if (b == 0.0f)
            for (int c = 0; c < cols; c++) yr[c] = a * xr[c];
        else
            for (int c = 0; c < cols; c++) yr[c] = a * xr[c] + b * yr[c];
    }
}

void br_cpu_copy2d(const br_device *dev, int rows, int cols, const float *src, int lds, float *dst, int ldd) {
    for (int r = 0; r < rows; r++) memmove(dst + (long)r * ldd, src + (long)r * lds, (size_t)cols * sizeof(float));
}

void br_cpu_scale2d(const br_device *dev, int rows, int cols, float s, float *x, int ldx) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) x[(long)r * ldx + c] *= s;
}

void br_cpu_mul_silu(const br_device *dev, int rows, int cols, float *y, int ldy, const float *z, int ldz) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) y[(long)r * ldy + c] *= br_silu(z[(long)r * ldz + c]);
}

void br_cpu_embed(const br_device *dev, int n, int dim, const int32_t *ids, br_mat table, float scale, float *out) {
    for (int i = 0; i < n; i++) {
        float *o = out + (long)i * dim;
        br_to_f32(o, (const char *)table.data + (long)ids[i] * dim * (long)br_dtype_size(table.dtype), table.dtype,
                  (size_t)dim);
        for (int j = 0; j < dim; j++) o[j] *= scale;
    }
}

void br_cpu_gather_rows(const br_device *dev, int rows, int cols, const int32_t *idx, const float *src, int lds,
                        float *dst, int ldd) {
    for (int r = 0; r < rows; r++) memcpy(dst + (long)r * ldd, src + (long)idx[r] * lds, (size_t)cols * sizeof(float));
}
