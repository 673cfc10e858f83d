/*
 * elementwise.h - the data movement and small arithmetic the executor and
 * layers need between the big kernels, so that no layer touches tensor
 * memory from the host.  Strides count elements.
 *
 *   axpby         y[r, c] = a x[r, c] + b y[r, c]   (b = 0: y is only written)
 *   copy2d        dst[r, c] = src[r, c]                       (rows x cols)
 *   scale2d       x[r, c] *= s
 *   mul_silu      y[r, c] *= silu(z[r, c])
 *   embed         out[i, :] = table[ids[i], :] * scale   (table f32 or bf16)
 *   gather_rows   dst[r, :] = src[idx[r], :]
 * Index arrays are int32 on the same device as the data.
 */
#ifndef BR_KERNELS_ELEMENTWISE_H
#define BR_KERNELS_ELEMENTWISE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/device.h"

void br_cpu_axpby(const br_device *dev, int rows, int cols, float a, const float *x, int ldx, float b, float *y, int ldy);
void br_cpu_copy2d(const br_device *dev, int rows, int cols, const float *src, int lds, float *dst, int ldd);
void br_cpu_scale2d(const br_device *dev, int rows, int cols, float s, float *x, int ldx);
void br_cpu_mul_silu(const br_device *dev, int rows, int cols, float *y, int ldy, const float *z, int ldz);
void br_cpu_embed(const br_device *dev, int n, int dim, const int32_t *ids, br_mat table, float scale, float *out);
void br_cpu_gather_rows(const br_device *dev, int rows, int cols, const int32_t *idx, const float *src, int lds,
                        float *dst, int ldd);

#ifdef BRAID_HAVE_CUDA
void br_cuda_axpby(const br_device *dev, int rows, int cols, float a, const float *x, int ldx, float b, float *y,
                   int ldy);
void br_cuda_copy2d(const br_device *dev, int rows, int cols, const float *src, int lds, float *dst, int ldd);
void br_cuda_scale2d(const br_device *dev, int rows, int cols, float s, float *x, int ldx);
void br_cuda_mul_silu(const br_device *dev, int rows, int cols, float *y, int ldy, const float *z, int ldz);
void br_cuda_embed(const br_device *dev, int n, int dim, const int32_t *ids, br_mat table, float scale, float *out);
void br_cuda_gather_rows(const br_device *dev, int rows, int cols, const int32_t *idx, const float *src, int lds,
                         float *dst, int ldd);
#endif

#endif /* BR_KERNELS_ELEMENTWISE_H */
