/*
 * act.h - elementwise activations.
 *
 *   silu(x) = x * sigmoid(x)           gelu(x) = x * Phi(x) (erf form)
 *   gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 *   relu(x) = max(x, 0)                relu2(x) = relu(x)^2
 *   softplus(x) = log(1 + e^x), linear above 20 (as PyTorch)
 * Gated form (SwiGLU etc.): y[i, j] = act(s * g[i, j]) * u[i, j] with g, u the
 * two halves of a fused [n, 2f] gate_up row.
 */
#ifndef BR_KERNELS_ACT_H
#define BR_KERNELS_ACT_H

#include "kernels/device.h"

#include <math.h>
#include <stddef.h>

typedef enum br_act {
    BR_ACT_SILU = 0,
    BR_ACT_GELU,
    BR_ACT_GELU_TANH,
    BR_ACT_RELU,
    BR_ACT_RELU2,
    BR_ACT_COUNT
} br_act;

extern const char *const br_act_names[]; /* NULL-terminated, indexed by br_act */

static inline float br_silu(float x) { return x / (1.0f + expf(-x)); }
static inline float br_softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
float br_act_apply1(br_act act, float x);

void br_cpu_act(const br_device *dev, br_act act, size_t n, const float *x, float *y);
/* y[n, f] = act(gate_scale * gu[:, :f]) * gu[:, f:], gu rows of stride ldgu. */
void br_cpu_gated_act(const br_device *dev, br_act act, int n, int f, const float *gu, int ldgu, float gate_scale, float *y);

#ifdef BRAID_HAVE_CUDA
void br_cuda_act(const br_device *dev, br_act act, size_t n, const float *x, float *y);
void br_cuda_gated_act(const br_device *dev, br_act act, int n, int f, const float *gu, int ldgu, float gate_scale, float *y);
#endif

#endif /* BR_KERNELS_ACT_H */
