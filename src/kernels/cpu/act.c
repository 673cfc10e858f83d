/*
 * act.c (cpu) - activations and the gated (GLU) product.
 */
#include "kernels/act.h"

const char *const br_act_names[] = {"silu", "gelu", "gelu_tanh", "relu", "relu2", NULL};

float br_act_apply1(br_act act, float x) {
    switch (act) {
    case BR_ACT_SILU: return br_silu(x);
    case BR_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case BR_ACT_GELU_TANH: {
        float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        return 0.5f * x * (1.0f + tanhf(inner));
    }
    case BR_ACT_RELU: return x > 0 ? x : 0.0f;
    case BR_ACT_RELU2: return x > 0 ? x * x : 0.0f;
    default: return x;
    }
}

void br_cpu_act(const br_device *dev, br_act act, size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = br_act_apply1(act, x[i]);
}

void br_cpu_gated_act(const br_device *dev, br_act act, int n, int f, const float *gu, int ldgu, float gate_scale, float *y) {
    for (int i = 0; i < n; i++) {
        const float *g = gu + (long)i * ldgu, *u = g + f;
        float *yi = y + (long)i * f;
        for (int j = 0; j < f; j++) yi[j] = br_act_apply1(act, gate_scale * g[j]) * u[j];
    }
}
