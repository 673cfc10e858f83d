/*
 * attention.c (cpu) - RoPE, KV caches and causal (optionally windowed)
 * attention with GQA.  Per query head and block of up to 128 query rows:
 *   S = scale Q K^T (BLAS), mask, P = softmax(S) with the sum in double,
 *   O = P V (BLAS)
 * so long prefills run at BLAS speed on every core (bf16 keys and values
 * are widened into the work buffer first).  Decoding (one query per
 * sequence over its cache ring) scores the keys twice, once for the max and
 * once for the sums, in double, and needs no scratch.
 */
#include "kernels/attention.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "base/dtype.h"

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

static size_t row_bytes(const br_kv_cache *c) { return (size_t)c->row * br_dtype_size(c->dtype); }

/* Byte offset of slot s, position p in a cache pool. */
static size_t cache_at(const br_kv_cache *c, int s, int64_t p) {
    return ((size_t)s * (size_t)c->cap + (size_t)(p % c->cap)) * row_bytes(c);
}

void br_cpu_kv_store(const br_device *dev, const br_kv_cache *c, int slot, int64_t pos0, int rows, const float *k,
                     const float *v, int ld) {
    for (int j = 0; j < rows; j++) {
        const size_t at = cache_at(c, slot, pos0 + j);
        br_from_f32((char *)c->k + at, k + (long)j * ld, c->dtype, (size_t)c->row);
        br_from_f32((char *)c->v + at, v + (long)j * ld, c->dtype, (size_t)c->row);
    }
}

void br_cpu_kv_gather(const br_device *dev, const br_kv_cache *c, int slot, int64_t pos0, int rows, void *kk, void *vv) {
    const size_t rb = row_bytes(c);
    for (int j = 0; j < rows; j++) {
        const size_t at = cache_at(c, slot, pos0 + j);
        memcpy((char *)kk + j * rb, (const char *)c->k + at, rb);
        memcpy((char *)vv + j * rb, (const char *)c->v + at, rb);
    }
}

long br_attn_work_floats(const br_attn_args *a) {
    long rows = a->T < Q_BLOCK ? a->T : Q_BLOCK, S = a->S > 0 ? a->S : 1;
    return rows * S + (a->kv_dtype != BR_F32 ? 2 * S * a->ldkv : 0);
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
    const float *Kf = a->k, *Vf = a->v;
    if (a->kv_dtype != BR_F32 && a->S > 0) { /* widen the keys and values once */
        const long rows = a->T < Q_BLOCK ? a->T : Q_BLOCK, n = (long)a->S * a->ldkv;
        float *kw = a->work + rows * a->S, *vw = kw + n;
        br_to_f32(kw, a->k, a->kv_dtype, (size_t)n);
        br_to_f32(vw, a->v, a->kv_dtype, (size_t)n);
        Kf = kw, Vf = vw;
    }
    for (int h = 0; h < a->heads; h++) {
        const int kh = h / group;
        const float *K = Kf + (long)kh * hd, *V = Vf + (long)kh * hd;
        for (int i0 = 0; i0 < a->T; i0 += Q_BLOCK) {
            const int rows = a->T - i0 < Q_BLOCK ? a->T - i0 : Q_BLOCK;
            const float *Q = a->q + (long)i0 * a->ldq + (long)h * hd;
            float *O = a->o + (long)i0 * a->ldo + (long)h * hd;
            if (a->S == 0) {
                for (int r = 0; r < rows; r++)
                    for (int d = 0; d < hd; d++) O[(long)r * a->ldo + d] = 0.0f;
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, a->S, hd, a->scale, Q, a->ldq, K, a->ldkv, 0.0f, P,
                        a->S);
            for (int r = 0; r < rows; r++) softmax_row(P + (long)r * a->S, a->S, a->q_pos0 + i0 + r, a->k_pos0, a->window);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, a->S, 1.0f, P, a->S, V, a->ldkv, 0.0f, O,
                        a->ldo);
        }
    }
}

void br_cpu_kv_append(const br_device *dev, const br_attn_decode_args *a) {
    for (int b = 0; b < a->batch; b++)
        br_cpu_kv_store(dev, &a->cache, a->slots[b], a->pos[b], 1, a->k_new + (long)b * a->ldkv,
                        a->v_new + (long)b * a->ldkv, a->ldkv);
}

void br_cpu_rope_kv_append(const br_device *dev, const br_attn_decode_args *a, const br_rope_args *r) {
    br_cpu_rope(dev, a->batch, a->heads, a->head_dim, r->rot_dim, r->theta, r->style, a->pos, (float *)a->q, a->ldq);
    br_cpu_rope(dev, a->batch, a->kv_heads, a->head_dim, r->rot_dim, r->theta, r->style, a->pos, (float *)a->k_new,
                a->ldkv);
    br_cpu_kv_append(dev, a);
}

long br_cpu_attention_decode_work_floats(const br_device *dev, const br_attn_decode_args *a) { return 0; }

/* Element d of the kv-head slice starting `at` bytes into a pool. */
static inline float cache_elem(const void *pool, br_dtype dt, size_t at, long d) {
    const char *p = (const char *)pool + at;
    return dt == BR_F32 ? ((const float *)p)[d] : br_bf16_to_f32(((const uint16_t *)p)[d]);
}

void br_cpu_attention_decode(const br_device *dev, const br_attn_decode_args *a) {
    const int hd = a->head_dim, group = a->heads / a->kv_heads;
    const br_kv_cache *c = &a->cache;
    const size_t head_bytes = (size_t)hd * br_dtype_size(c->dtype);
    for (int b = 0; b < a->batch; b++) {
        const int64_t pos = a->pos[b], lo = a->window > 0 && pos - a->window + 1 > 0 ? pos - a->window + 1 : 0;
        for (int h = 0; h < a->heads; h++) {
            const int kh = h / group;
            const float *q = a->q + (long)b * a->ldq + (long)h * hd;
            float *o = a->o + (long)b * a->ldo + (long)h * hd;
            double mx = -INFINITY, sum = 0, acc[hd];
            for (int64_t p = lo; p <= pos; p++) {
                const size_t at = cache_at(c, a->slots[b], p) + (size_t)kh * head_bytes;
                float dot = 0.0f;
                for (int d = 0; d < hd; d++) dot += q[d] * cache_elem(c->k, c->dtype, at, d);
                mx = dot * a->scale > mx ? dot * a->scale : mx;
            }
            for (int d = 0; d < hd; d++) acc[d] = 0;
            for (int64_t p = lo; p <= pos; p++) {
                const size_t at = cache_at(c, a->slots[b], p) + (size_t)kh * head_bytes;
                float dot = 0.0f;
                for (int d = 0; d < hd; d++) dot += q[d] * cache_elem(c->k, c->dtype, at, d);
                const double w = exp((double)(dot * a->scale) - mx);
                sum += w;
                for (int d = 0; d < hd; d++) acc[d] += w * cache_elem(c->v, c->dtype, at, d);
            }
            for (int d = 0; d < hd; d++) o[d] = (float)(acc[d] / sum);
        }
    }
}
