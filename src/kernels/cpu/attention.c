/*
 * attention.c (cpu) - RoPE and causal (optionally windowed) attention with
 * GQA.  Per query head and block of up to 128 query rows:
 *   S = scale Q K^T (BLAS), mask, P = softmax(S) with the sum in double,
 *   O = P V (BLAS)
 * so long prefills run at BLAS speed on every core.  Decoding (one query
 * per sequence over its cache ring) scores the keys twice, once for the
 * max and once for the sums, in double, and needs no scratch.
 */
#include "kernels/attention.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define Q_BLOCK 128

void br_cpu_rope(const br_device *dev, int n, int heads, int head_dim, int rot_dim, float theta, br_rope_style style, const int64_t *pos,
                 float *x, int ldx) {
    if (style == BR_ROPE_NONE || rot_dim <= 0) return;
    const int half = rot_dim / 2;
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

long br_attn_work_floats(const br_attn_args *a) {
    long rows = a->T < Q_BLOCK ? a->T : Q_BLOCK;
    return rows * (a->S > 0 ? a->S : 1);
}

/* Softmax of one score row over its visible keys, in place; masked keys get 0. */
static void softmax_row(float *s, int S, int64_t qpos, int64_t k_pos0, int window) {
    double mx = -INFINITY, sum = 0;
    int lo = 0, hi = S; /* visible keys: k_pos0 + j in (qpos - window, qpos] */
    if (qpos - k_pos0 + 1 < hi) hi = (int)(qpos - k_pos0 + 1);
    if (window > 0 && qpos - window + 1 - k_pos0 > lo) lo = (int)(qpos - window + 1 - k_pos0);
    if (hi < 0) hi = 0;
    for (int j = lo; j < hi; j++) mx = s[j] > mx ? s[j] : mx;
    for (int j = lo; j < hi; j++) sum += exp((double)s[j] - mx);
    for (int j = 0; j < S; j++) s[j] = (j >= lo && j < hi && sum > 0) ? (float)(exp((double)s[j] - mx) / sum) : 0.0f;
}

void br_cpu_attention(const br_device *dev, const br_attn_args *a) {
    const int hd = a->head_dim, group = a->heads / a->kv_heads;
    float *P = a->work;
    for (int h = 0; h < a->heads; h++) {
        const int kh = h / group;
        const float *K = a->k + (long)kh * hd, *V = a->v + (long)kh * hd;
        for (int i0 = 0; i0 < a->T; i0 += Q_BLOCK) {
            const int rows = a->T - i0 < Q_BLOCK ? a->T - i0 : Q_BLOCK;
            const float *Q = a->q + (long)i0 * a->ldq + (long)h * hd;
            float *O = a->o + (long)i0 * a->ldo + (long)h * hd;
            if (a->S == 0) {
                for (int r = 0; r < rows; r++)
                    for (int d = 0; d < hd; d++) O[(long)r * a->ldo + d] = 0.0f;
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, a->S, hd, a->scale, Q, a->ldq, K, a->ldk, 0.0f, P,
                        a->S);
            for (int r = 0; r < rows; r++) softmax_row(P + (long)r * a->S, a->S, a->q_pos0 + i0 + r, a->k_pos0, a->window);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, a->S, 1.0f, P, a->S, V, a->ldv, 0.0f, O,
                        a->ldo);
        }
    }
}

static inline float *cache_row(float *pool, const br_attn_decode_args *a, int b, int64_t p) {
    const long row = (long)a->kv_heads * a->head_dim;
    return pool + ((long)a->slots[b] * a->cap + p % a->cap) * row;
}

void br_cpu_kv_append(const br_device *dev, const br_attn_decode_args *a) {
    const long row = (long)a->kv_heads * a->head_dim;
    for (int b = 0; b < a->batch; b++) {
        memcpy(cache_row(a->k_cache, a, b, a->pos[b]), a->k_new + (long)b * a->ldkv, (size_t)row * sizeof(float));
        memcpy(cache_row(a->v_cache, a, b, a->pos[b]), a->v_new + (long)b * a->ldkv, (size_t)row * sizeof(float));
    }
}

void br_cpu_attention_decode(const br_device *dev, const br_attn_decode_args *a) {
    const int hd = a->head_dim, group = a->heads / a->kv_heads;
    for (int b = 0; b < a->batch; b++) {
        const int64_t pos = a->pos[b], lo = a->window > 0 && pos - a->window + 1 > 0 ? pos - a->window + 1 : 0;
        for (int h = 0; h < a->heads; h++) {
            const int kh = h / group;
            const float *q = a->q + (long)b * a->ldq + (long)h * hd;
            float *o = a->o + (long)b * a->ldo + (long)h * hd;
            double mx = -INFINITY, sum = 0, acc[hd];
            for (int64_t p = lo; p <= pos; p++) {
                const float *k = cache_row(a->k_cache, a, b, p) + (long)kh * hd;
                float dot = 0.0f;
                for (int d = 0; d < hd; d++) dot += q[d] * k[d];
                mx = dot * a->scale > mx ? dot * a->scale : mx;
            }
            for (int d = 0; d < hd; d++) acc[d] = 0;
            for (int64_t p = lo; p <= pos; p++) {
                const float *k = cache_row(a->k_cache, a, b, p) + (long)kh * hd;
                const float *v = cache_row(a->v_cache, a, b, p) + (long)kh * hd;
                float dot = 0.0f;
                for (int d = 0; d < hd; d++) dot += q[d] * k[d];
                const double w = exp((double)(dot * a->scale) - mx);
                sum += w;
                for (int d = 0; d < hd; d++) acc[d] += w * v[d];
            }
            for (int d = 0; d < hd; d++) o[d] = (float)(acc[d] / sum);
        }
    }
}
