/*
 * test_kernels.c - CPU kernels against independent references, on fresh
 * random inputs every run (the seed is printed):
 *   - chunked SSD prefill == the sequential recurrence, for chunk sizes that
 *     do and do not divide T, with a non-zero entering state and G > 1;
 *   - SSD, selective scan and conv1d: prefill of T tokens == T steps;
 *   - attention (GQA, causal, windowed) == a direct double-precision sum;
 *   - gated RMSNorm in both gate orders == its formula.
 * Tolerance: relative L2 error below 1e-5 (f32).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/act.h"
#include "kernels/attention.h"
#include "kernels/conv1d.h"
#include "kernels/norm.h"
#include "kernels/scan.h"
#include "kernels/ssd.h"
#include "base/dtype.h"
#include "test_util.h"

#define TOL 1e-5
#define CPU (&br_cpu_device)

static float *rnd(size_t n, float lo, float hi, uint64_t *rng) {
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    br_test_fill_uniform(x, n, lo, hi, rng);
    return x;
}

static float *dup(const float *x, size_t n) {
    float *y = malloc(n * sizeof *y);
    assert_non_null(y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

/* ---- SSD ------------------------------------------------------------------------------------- */

typedef struct ssd_case {
    int batch, T, heads, P, N, G, chunk;
} ssd_case;

static void check_ssd(const ssd_case *c, uint64_t *rng) {
    const int n = c->batch * c->T, HP = c->heads * c->P, GN = c->G * c->N;
    float *x = rnd((size_t)n * HP, -1, 1, rng), *dt = rnd((size_t)n * c->heads, -3, 1, rng);
    float *B = rnd((size_t)n * GN, -1, 1, rng), *C = rnd((size_t)n * GN, -1, 1, rng);
    float *dtb = rnd((size_t)c->heads, -1, 0.5f, rng), *A = rnd((size_t)c->heads, -2, -0.1f, rng);
    float *D = rnd((size_t)c->heads, 0, 1, rng);
    const size_t st = (size_t)c->heads * c->P * c->N;
    float *h0 = rnd((size_t)c->batch * st, -0.5f, 0.5f, rng);
    float *h_ref = dup(h0, c->batch * st), *h_chk = dup(h0, c->batch * st), *h_stp = dup(h0, c->batch * st);
    float *y_ref = calloc((size_t)n * HP, 4), *y_chk = calloc((size_t)n * HP, 4), *y_stp = calloc((size_t)n * HP, 4);
    int32_t slots[8];
    for (int b = 0; b < c->batch; b++) slots[b] = b;
    br_ssd_args a = {c->batch, c->T, c->heads, c->P, c->N, c->G, c->chunk, x, HP, dt, c->heads, dtb, 0.0f, INFINITY,
                     A, B, GN, C, GN, D, y_ref, HP, h_ref, slots, (long)st, NULL, 0};
    br_cpu_ssd_scan_ref(CPU, &a);
    a.y = y_chk;
    a.state = h_chk;
    a.work = malloc((size_t)br_cpu_ssd_work_floats(&br_cpu_device, &a) * sizeof(float));
    br_cpu_ssd_prefill(CPU, &a);
    assert_true(br_test_rel_err(y_chk, y_ref, (size_t)n * HP) < TOL);
    assert_true(br_test_rel_err(h_chk, h_ref, c->batch * st) < TOL);
    /* T single steps, one batch row each time */
    for (int b = 0; b < c->batch; b++)
        for (int t = 0; t < c->T; t++) {
            long row = (long)b * c->T + t;
            br_ssd_args s = a;
            s.batch = 1, s.T = 1, s.x = x + row * HP, s.dt = dt + row * c->heads, s.B = B + row * GN;
            s.C = C + row * GN, s.y = y_stp + row * HP, s.state = h_stp, s.slots = &slots[b];
            br_cpu_ssd_step(CPU, &s);
        }
    assert_true(br_test_rel_err(y_stp, y_ref, (size_t)n * HP) < TOL);
    assert_true(br_test_rel_err(h_stp, h_ref, c->batch * st) < TOL);
    free(a.work);
    free(x), free(dt), free(B), free(C), free(dtb), free(A), free(D), free(h0), free(h_ref), free(h_chk), free(h_stp);
    free(y_ref), free(y_chk), free(y_stp);
}

static void test_ssd_chunked_matches_recurrence(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("ssd");
    const ssd_case cases[] = {
        {1, 16, 4, 8, 16, 1, 16},   /* one exact chunk */
        {2, 37, 4, 8, 16, 2, 8},    /* several chunks, ragged tail, groups */
        {1, 64, 6, 16, 32, 3, 5},   /* chunk that divides nothing */
        {3, 1, 2, 4, 8, 1, 256},    /* single token */
        {1, 300, 8, 8, 8, 8, 64},   /* "Nemotron-H SSD multi-chunk": G == heads */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_ssd(&cases[i], &rng);
}

static void test_ssd_dt_clamp(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("ssd_clamp");
    /* With dt_max tiny every step barely moves the state: y ~ D x. */
    float x[8], dt[2], B[4], C[4], A[2] = {-1, -1}, D[2] = {0.5f, 0.5f}, h[16] = {0}, y[8];
    br_test_fill_uniform(x, 8, -1, 1, &rng);
    br_test_fill_uniform(dt, 2, 5, 6, &rng);
    br_test_fill_uniform(B, 4, -1, 1, &rng);
    br_test_fill_uniform(C, 4, -1, 1, &rng);
    int32_t slot = 0;
    br_ssd_args a = {1, 1, 2, 4, 2, 1, 4, x, 8, dt, 2, NULL, 0.0f, 1e-6f, A, B, 2, C, 2, D, y, 8, h, &slot, 16, NULL, 0};
    br_cpu_ssd_step(CPU, &a);
    for (int i = 0; i < 8; i++) assert_true(fabsf(y[i] - 0.5f * x[i]) < 1e-5f);
}

/* ---- Mamba-1 scan and conv1d -------------------------------------------------------------------- */

static void test_scan_prefill_matches_steps(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("scan");
    const int batch = 2, T = 13, Di = 24, N = 6, H = 3, n = batch * T;
    float *u = rnd((size_t)n * Di, -1, 1, &rng), *delta = rnd((size_t)n * Di, -3, 1, &rng);
    float *bias = rnd(Di, -1, 0.5f, &rng), *A = rnd((size_t)Di * N, -3, -0.2f, &rng);
    float *B = rnd((size_t)n * H * N, -1, 1, &rng), *C = rnd((size_t)n * H * N, -1, 1, &rng);
    float *D = rnd(Di, -1, 1, &rng), *z = rnd((size_t)n * Di, -2, 2, &rng);
    float *h1 = rnd((size_t)batch * Di * N, -.5f, .5f, &rng), *h2 = dup(h1, (size_t)batch * Di * N);
    float *y1 = calloc((size_t)n * Di, 4), *y2 = calloc((size_t)n * Di, 4), *yr = calloc((size_t)n * Di, 4);
    int32_t slots[2] = {0, 1};
    /* reference: direct formula in double */
    double *hr = calloc((size_t)batch * Di * N, sizeof(double));
    for (int i = 0; i < batch * Di * N; i++) hr[i] = h1[i];
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < T; t++) {
            long row = (long)b * T + t;
            for (int c = 0; c < Di; c++) {
                int g = c / (Di / H);
                double dt = log1p(exp((double)delta[row * Di + c] + bias[c])), acc = 0;
                for (int s = 0; s < N; s++) {
                    double *hh = &hr[((long)b * Di + c) * N + s];
                    *hh = exp(dt * A[c * N + s]) * *hh + dt * B[row * H * N + g * N + s] * u[row * Di + c];
                    acc += C[row * H * N + g * N + s] * *hh;
                }
                acc += D[c] * u[row * Di + c];
                double zz = z[row * Di + c];
                yr[row * Di + c] = (float)(acc * zz / (1 + exp(-zz)));
            }
        }
    br_scan_args a = {batch, T, Di, N, H, u, Di, delta, Di, bias, 1, A, B, H * N, C, H * N, D, z, Di, y1, Di, h1, slots,
                      (long)Di * N};
    br_cpu_scan_prefill(CPU, &a);
    assert_true(br_test_rel_err(y1, yr, (size_t)n * Di) < TOL);
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < T; t++) {
            long row = (long)b * T + t;
            br_scan_args s = a;
            s.batch = 1, s.T = 1, s.u = u + row * Di, s.delta = delta + row * Di, s.B = B + row * H * N;
            s.C = C + row * H * N, s.z = z + row * Di, s.y = y2 + row * Di, s.state = h2, s.slots = &slots[b];
            br_cpu_scan_step(CPU, &s);
        }
    assert_true(br_test_rel_err(y2, yr, (size_t)n * Di) < TOL);
    assert_true(br_test_rel_err(h2, h1, (size_t)batch * Di * N) < TOL);
    free(u), free(delta), free(bias), free(A), free(B), free(C), free(D), free(z), free(h1), free(h2);
    free(y1), free(y2), free(yr), free(hr);
}

static void test_conv1d_prefill_matches_steps(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("conv1d");
    const int batch = 2, T = 9, Cn = 10, K = 4, n = batch * T, ld = 13; /* strided rows */
    float *x = rnd((size_t)n * ld, -1, 1, &rng), *w = rnd((size_t)Cn * K, -1, 1, &rng), *b = rnd(Cn, -1, 1, &rng);
    float *st1 = rnd((size_t)batch * Cn * (K - 1), -1, 1, &rng), *st2 = dup(st1, (size_t)batch * Cn * (K - 1));
    float *st0 = dup(st1, (size_t)batch * Cn * (K - 1));
    float *y1 = calloc((size_t)n * Cn, 4), *y2 = calloc((size_t)n * Cn, 4), *yr = calloc((size_t)n * Cn, 4);
    for (int bb = 0; bb < batch; bb++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < Cn; c++) {
                double acc = b[c];
                for (int k = 0; k < K; k++) {
                    int tt = t - (K - 1) + k;
                    double v = tt >= 0 ? x[((long)bb * T + tt) * ld + c] : st0[((long)bb * Cn + c) * (K - 1) + (K - 1 + tt)];
                    acc += w[c * K + k] * v;
                }
                yr[((long)bb * T + t) * Cn + c] = (float)(acc / (1 + exp(-acc)));
            }
    int32_t slots[2] = {0, 1};
    br_conv1d_args a = {batch, T, Cn, K, x, ld, w, b, y1, Cn, st1, slots, (long)Cn * (K - 1), 1};
    br_cpu_conv1d_prefill(CPU, &a);
    assert_true(br_test_rel_err(y1, yr, (size_t)n * Cn) < TOL);
    for (int bb = 0; bb < batch; bb++)
        for (int t = 0; t < T; t++) {
            br_conv1d_args s = a;
            s.batch = 1, s.T = 1, s.x = x + ((long)bb * T + t) * ld, s.y = y2 + ((long)bb * T + t) * Cn, s.state = st2;
            s.slots = &slots[bb];
            br_cpu_conv1d_step(CPU, &s);
        }
    assert_true(br_test_rel_err(y2, yr, (size_t)n * Cn) < TOL);
    assert_true(br_test_rel_err(st2, st1, (size_t)batch * Cn * (K - 1)) < TOL);
    /* the state holds the last K-1 inputs */
    for (int c = 0; c < Cn; c++)
        for (int k = 0; k < K - 1; k++) assert_true(st1[c * (K - 1) + k] == x[(long)(T - (K - 1) + k) * ld + c]);
    free(x), free(w), free(b), free(st0), free(st1), free(st2), free(y1), free(y2), free(yr);
}

/* ---- attention -------------------------------------------------------------------------------- */

/* The attention of queries at 5..11 over keys 0..11 (GQA, optional window), summed directly in double. */
static void attention_direct(const float *q, const float *k, const float *v, int window, float *r) {
    const int T = 7, S = 12, H = 6, KVH = 2, hd = 8;
    const int64_t qp0 = 5, kp0 = 0;
    for (int i = 0; i < T; i++)
        for (int h = 0; h < H; h++) {
            int kh = h / (H / KVH);
            double p[S], mx = -INFINITY, sum = 0;
            for (int j = 0; j < S; j++) {
                int64_t qpos = qp0 + i, kpos = kp0 + j;
                if (kpos > qpos || (window && qpos - kpos >= window)) {
                    p[j] = -INFINITY;
                    continue;
                }
                double s = 0;
                for (int d = 0; d < hd; d++) s += (double)q[(i * H + h) * hd + d] * k[(j * KVH + kh) * hd + d];
                p[j] = s * 0.3;
                mx = p[j] > mx ? p[j] : mx;
            }
            for (int j = 0; j < S; j++) sum += p[j] == -INFINITY ? 0 : exp(p[j] - mx);
            for (int d = 0; d < hd; d++) {
                double acc = 0;
                for (int j = 0; j < S; j++)
                    if (p[j] != -INFINITY) acc += exp(p[j] - mx) / sum * v[(j * KVH + kh) * hd + d];
                r[(i * H + h) * hd + d] = (float)acc;
            }
        }
}

static void test_attention_matches_direct_sum(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("attention");
    const int T = 7, S = 12, H = 6, KVH = 2, hd = 8, window_cases[] = {0, 4};
    const size_t nk = (size_t)S * KVH * hd;
    float *q = rnd((size_t)T * H * hd, -1, 1, &rng), *k = rnd(nk, -1, 1, &rng), *v = rnd(nk, -1, 1, &rng);
    float *o = calloc((size_t)T * H * hd, 4), *r = calloc((size_t)T * H * hd, 4);
    uint16_t *kb = malloc(nk * 2), *vb = malloc(nk * 2);
    float *kr = malloc(nk * 4), *vr = malloc(nk * 4); /* the values the bf16 keys hold */
    br_from_f32(kb, k, BR_BF16, nk), br_from_f32(vb, v, BR_BF16, nk);
    br_to_f32(kr, kb, BR_BF16, nk), br_to_f32(vr, vb, BR_BF16, nk);
    for (int dt = 0; dt < 2; dt++)
        for (int w = 0; w < 2; w++) {
            const int window = window_cases[w];
            attention_direct(q, dt ? kr : k, dt ? vr : v, window, r);
            br_attn_args a = {.T = T, .S = S, .heads = H, .kv_heads = KVH, .head_dim = hd, .q = q, .ldq = H * hd,
                              .k = dt ? (const void *)kb : k, .v = dt ? (const void *)vb : v, .ldkv = KVH * hd,
                              .kv_dtype = dt ? BR_BF16 : BR_F32, .q_pos0 = 5, .k_pos0 = 0, .window = window,
                              .scale = 0.3f, .o = o, .ldo = H * hd};
            a.work = malloc((size_t)br_attn_work_floats(&a) * sizeof(float));
            br_cpu_attention(CPU, &a);
            free(a.work);
            assert_true(br_test_rel_err(o, r, (size_t)T * H * hd) < TOL);
        }
    free(q), free(k), free(v), free(o), free(r), free(kb), free(vb), free(kr), free(vr);
}

static void test_rope_is_a_rotation_by_position(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("rope");
    const int hd = 8, rot = 4;
    float x[2 * hd], y[2 * hd];
    br_test_fill_uniform(x, 2 * hd, -1, 1, &rng);
    memcpy(y, x, sizeof x);
    int64_t pos[2] = {0, 3};
    br_cpu_rope(CPU, 2, 1, hd, rot, 10000.0f, BR_ROPE_NEOX, pos, y, hd);
    for (int d = 0; d < hd; d++) assert_true(y[d] == x[d]); /* position 0: identity */
    for (int d = rot; d < hd; d++) assert_true(y[hd + d] == x[hd + d]); /* unrotated tail */
    for (int f = 0; f < rot / 2; f++) {
        double ang = 3.0 * pow(10000.0, -2.0 * f / rot);
        double a = x[hd + f], b = x[hd + f + rot / 2];
        assert_true(fabs(y[hd + f] - (a * cos(ang) - b * sin(ang))) < 1e-5);
        assert_true(fabs(y[hd + f + rot / 2] - (b * cos(ang) + a * sin(ang))) < 1e-5);
    }
}

static void test_gated_rmsnorm_formula(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("gated_norm");
    const int n = 3, dim = 12, group = 4;
    float x[n * dim], z[n * dim], w[dim], y[n * dim];
    br_test_fill_uniform(x, n * dim, -2, 2, &rng);
    br_test_fill_uniform(z, n * dim, -2, 2, &rng);
    br_test_fill_uniform(w, dim, 0.5f, 1.5f, &rng);
    for (int before = 0; before < 2; before++) {
        br_cpu_gated_rmsnorm(CPU, n, dim, group, x, dim, z, dim, w, 1e-5f, before, y, dim);
        for (int i = 0; i < n; i++)
            for (int g = 0; g < dim; g += group) {
                double ss = 0;
                for (int j = g; j < g + group; j++) {
                    double v = before ? x[i * dim + j] : x[i * dim + j] * br_silu(z[i * dim + j]);
                    ss += v * v;
                }
                double r = 1 / sqrt(ss / group + 1e-5);
                for (int j = g; j < g + group; j++) {
                    double s = br_silu(z[i * dim + j]);
                    double want = before ? x[i * dim + j] * r * w[j] * s : x[i * dim + j] * s * r * w[j];
                    assert_true(fabs(y[i * dim + j] - want) < 1e-5 * (1 + fabs(want)));
                }
            }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssd_chunked_matches_recurrence), cmocka_unit_test(test_ssd_dt_clamp),
        cmocka_unit_test(test_scan_prefill_matches_steps),     cmocka_unit_test(test_conv1d_prefill_matches_steps),
        cmocka_unit_test(test_attention_matches_direct_sum),   cmocka_unit_test(test_rope_is_a_rotation_by_position),
        cmocka_unit_test(test_gated_rmsnorm_formula),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
