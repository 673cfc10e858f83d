/*
 * norm.h - row normalisations.
 *
 *   rmsnorm:   y = x / sqrt(mean(x^2) + eps) * w          (w' = 1 + w if unit_offset)
 *   layernorm: y = (x - mean) / sqrt(var + eps) * w + b   (biased variance)
 *   gated rmsnorm (Mamba-2), per group of `group` channels:
 *     norm_before_gate = 0:  y = rms_g(x * silu(z)) * w
 *     norm_before_gate = 1:  y = rms_g(x) * w * silu(z)
 *   w or z may be NULL (no weight / no gate).  x, y: [n, dim]; y may alias x.
 */
#ifndef BR_KERNELS_NORM_H
#define BR_KERNELS_NORM_H

#include "kernels/device.h"

void br_cpu_rmsnorm(const br_device *dev, int n, int dim, const float *x, int ldx, const float *w, float eps, int unit_offset, float *y,
                    int ldy);
void br_cpu_layernorm(const br_device *dev, int n, int dim, const float *x, int ldx, const float *w, const float *b, float eps, float *y,
                      int ldy);
void br_cpu_gated_rmsnorm(const br_device *dev, int n, int dim, int group, const float *x, int ldx, const float *z, int ldz,
                          const float *w, float eps, int norm_before_gate, float *y, int ldy);

#ifdef BRAID_HAVE_CUDA
void br_cuda_rmsnorm(const br_device *dev, int n, int dim, const float *x, int ldx, const float *w, float eps, int unit_offset, float *y,
                    int ldy);
void br_cuda_layernorm(const br_device *dev, int n, int dim, const float *x, int ldx, const float *w, const float *b, float eps, float *y,
                      int ldy);
void br_cuda_gated_rmsnorm(const br_device *dev, int n, int dim, int group, const float *x, int ldx, const float *z, int ldz,
                          const float *w, float eps, int norm_before_gate, float *y, int ldy);
#endif

#endif /* BR_KERNELS_NORM_H */
