/*
 * attention.c (cpu) - RoPE and causal (optionally windowed) attention with
 * GQA.  Scores and the softmax are accumulated in double.
 */
#include "kernels/attention.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int n_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

long br_attn_work_doubles(const br_attn_args *a) { return (long)n_threads() * (a->S + a->head_dim + 1); }

void br_cpu_rope(int n, int heads, int head_dim, int rot_dim, float theta, br_rope_style style, const int64_t *pos,
                 float *x, int ldx) {
    if (style == BR_ROPE_NONE || rot_dim <= 0) return;
    const int half = rot_dim / 2;
#pragma omp parallel for if (n > 16)
    for (int i = 0; i < n; i++) {
        float *row = x + (long)i * ldx;
        for (int f = 0; f < half; f++) {
            /* as transformers: inv_freq = 1 / theta^(2f/rot_dim) and angle = pos * inv_freq, both in f32 */
            float inv_freq = 1.0f / powf(theta, (float)(2 * f) / (float)rot_dim);
            float ang = (float)pos[i] * inv_freq;
            float c = cosf(ang), s = sinf(ang);
            for (int h = 0; h < heads; h++) {
                float *v = row + (long)h * head_dim;
                int i0 = style == BR_ROPE_NEOX ? f : 2 * f, i1 = style == BR_ROPE_NEOX ? f + half : 2 * f + 1;
                float a = v[i0], b = v[i1];
                v[i0] = a * c - b * s;
                v[i1] = b * c + a * s;
            }
        }
    }
}

void br_cpu_attention(const br_attn_args *a) {
    const int hd = a->head_dim, group = a->heads / a->kv_heads;
#pragma omp parallel
    {
        double *p = a->work + (long)thread_id() * (a->S + hd + 1);
        double *acc = p + a->S;
#pragma omp for collapse(2)
        for (int i = 0; i < a->T; i++) {
            for (int h = 0; h < a->heads; h++) {
                const float *q = a->q + (long)i * a->ldq + (long)h * hd;
                const int kh = h / group;
                const int64_t qpos = a->q_pos0 + i;
                double mx = -INFINITY;
                for (int j = 0; j < a->S; j++) {
                    int64_t kpos = a->k_pos0 + j;
                    if (kpos > qpos || (a->window > 0 && qpos - kpos >= a->window)) {
                        p[j] = -INFINITY;
                        continue;
                    }
                    const float *k = a->k + (long)j * a->ldk + (long)kh * hd;
                    double s = 0;
                    for (int d = 0; d < hd; d++) s += (double)q[d] * k[d];
                    p[j] = s * a->scale;
                    if (p[j] > mx) mx = p[j];
                }
                double sum = 0;
                for (int d = 0; d < hd; d++) acc[d] = 0;
                for (int j = 0; j < a->S; j++) {
                    if (p[j] == -INFINITY) continue;
                    double e = exp(p[j] - mx);
                    sum += e;
                    const float *v = a->v + (long)j * a->ldv + (long)kh * hd;
                    for (int d = 0; d < hd; d++) acc[d] += e * v[d];
                }
                float *o = a->o + (long)i * a->ldo + (long)h * hd;
                for (int d = 0; d < hd; d++) o[d] = sum > 0 ? (float)(acc[d] / sum) : 0.0f;
            }
        }
    }
}
