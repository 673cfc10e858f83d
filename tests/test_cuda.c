/*
 * test_cuda.c - the CUDA backend against the CPU reference.
 *
 * Every CUDA kernel runs on fresh random inputs next to its CPU twin and
 * must agree to f32 rounding (relative L2 error < 1e-5).  Then whole
 * models: the tiny family specs with random weights on the GPU against the
 * same weights on the CPU, decoding against prefill on the GPU, and every
 * transformers fixture on the GPU against its reference logits.  Without a
 * CUDA build or without a GPU the tests skip and say so.
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "base/file.h"
#include "base/npy.h"
#include "braid.h"
#include "gpu_util.h"
#include "test_util.h"

#ifdef BRAID_HAVE_CUDA
#include "kernels/act.h"
#include "kernels/conv1d.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/norm.h"
#include "kernels/scan.h"
#include "kernels/ssd.h"
#endif

#define TOL 1e-5
#define BF16_TOL 1e-2 /* kernels that round their operands to bf16 */

#ifdef BRAID_HAVE_CUDA
#define gpu (br_gpu_test_dev())
#define host_rand br_gpu_host_rand
#define to_gpu br_gpu_to_dev
#define from_gpu br_gpu_from_dev

static void same(const char *what, float *d_got, const float *cpu, size_t n) { br_gpu_check(what, d_got, cpu, n, TOL); }

#define CPU (&br_cpu_device)

static void test_elementwise_and_linear(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    const int R = 37, C = 300, ld = 310, V = 50;
    float *x = host_rand((size_t)R * ld, -1, 1), *y0 = host_rand((size_t)R * ld, -1, 1), *z = host_rand((size_t)R * ld, -3, 3);
    float *y = malloc((size_t)R * ld * 4);
    float *dx = to_gpu(x, (size_t)R * ld * 4), *dz = to_gpu(z, (size_t)R * ld * 4);
    memcpy(y, y0, (size_t)R * ld * 4);
    float *dy = to_gpu(y0, (size_t)R * ld * 4);
    br_cpu_axpby(CPU, R, C, 0.7f, x, ld, -1.3f, y, ld);
    br_cuda_axpby(gpu, R, C, 0.7f, dx, ld, -1.3f, dy, ld);
    same("axpby", dy, y, (size_t)R * ld);
    memcpy(y, y0, (size_t)R * ld * 4);
    dy = to_gpu(y0, (size_t)R * ld * 4);
    br_cpu_copy2d(CPU, R, C, x, ld, y, ld);
    br_cuda_copy2d(gpu, R, C, dx, ld, dy, ld);
    same("copy2d", dy, y, (size_t)R * ld);
    memcpy(y, y0, (size_t)R * ld * 4);
    dy = to_gpu(y0, (size_t)R * ld * 4);
    br_cpu_scale2d(CPU, R, C, 0.3f, y, ld);
    br_cuda_scale2d(gpu, R, C, 0.3f, dy, ld);
    same("scale2d", dy, y, (size_t)R * ld);
    memcpy(y, y0, (size_t)R * ld * 4);
    dy = to_gpu(y0, (size_t)R * ld * 4);
    br_cpu_mul_silu(CPU, R, C, y, ld, z, ld);
    br_cuda_mul_silu(gpu, R, C, dy, ld, dz, ld);
    same("mul_silu", dy, y, (size_t)R * ld);
    /* embedding, gather */
    int32_t ids[37];
    for (int i = 0; i < R; i++) ids[i] = (int32_t)((i * 17 + 5) % V);
    int32_t perm[37];
    for (int i = 0; i < R; i++) perm[i] = (int32_t)((i * 11) % R); /* distinct */
    float *table = host_rand((size_t)V * C, -1, 1), *dtable = to_gpu(table, (size_t)V * C * 4);
    int32_t *dids = to_gpu(ids, sizeof ids), *dperm = to_gpu(perm, sizeof perm);
    float *e = malloc((size_t)R * C * 4), *de = br_dev_alloc(gpu, (size_t)R * C * 4, NULL);
    br_cpu_embed(CPU, R, C, ids, br_mat_f32(table), 1.5f, e);
    br_cuda_embed(gpu, R, C, dids, br_mat_f32(dtable), 1.5f, de);
    same("embed", de, e, (size_t)R * C);
    de = br_dev_alloc(gpu, (size_t)R * C * 4, NULL);
    br_cpu_gather_rows(CPU, R, C, perm, x, ld, e, C);
    br_cuda_gather_rows(gpu, R, C, dperm, dx, ld, de, C);
    same("gather_rows", de, e, (size_t)R * C);
    /* linear with bias and strided input, overwrite and accumulate */
    const int IN = 300, OUT = 129;
    float *W = host_rand((size_t)OUT * IN, -0.1f, 0.1f), *b = host_rand(OUT, -1, 1);
    float *dW = to_gpu(W, (size_t)OUT * IN * 4), *db = to_gpu(b, OUT * 4);
    for (int beta = 0; beta < 2; beta++) {
        float *out = host_rand((size_t)R * OUT, -1, 1), *dout = to_gpu(out, (size_t)R * OUT * 4);
        br_cpu_linear(CPU, R, IN, OUT, x, ld, br_mat_f32(W), b, (float)beta, out, OUT);
        br_cuda_linear(gpu, R, IN, OUT, dx, ld, br_mat_f32(dW), db, (float)beta, dout, OUT);
        same(beta ? "linear (accumulate)" : "linear", dout, out, (size_t)R * OUT);
        free(out);
    }
    { /* bf16 weights on the tensor cores: within bf16 rounding of the f32 product */
        uint16_t *Wb = malloc((size_t)OUT * IN * 2);
        br_from_f32(Wb, W, BR_BF16, (size_t)OUT * IN);
        void *dWb = to_gpu(Wb, (size_t)OUT * IN * 2);
        float *out = malloc((size_t)R * OUT * 4), *dout = br_dev_alloc(gpu, (size_t)R * OUT * 4, NULL);
        br_cpu_linear(CPU, R, IN, OUT, x, ld, br_mat_f32(W), b, 0.0f, out, OUT);
        br_cuda_linear(gpu, R, IN, OUT, dx, ld, (br_mat){dWb, BR_BF16}, db, 0.0f, dout, OUT);
        float *got = from_gpu(dout, (size_t)R * OUT);
        double e = br_test_rel_err(got, out, (size_t)R * OUT);
        fprintf(stderr, "  %-28s rel err %.2e (bf16)\n", "linear, bf16 weights", e);
        assert_true(e < 1e-2);
        free(got), free(out), free(Wb);
        br_dev_free(gpu, dout), br_dev_free(gpu, dWb);
    }
    { /* decode-sized batches of bf16 weights run on braid's GEMV: f32 math on the bf16 values, so f32 tolerance */
        const int GI = 512, GO = 130, ldg = 520;
        float *Wg = host_rand((size_t)GO * GI, -0.1f, 0.1f), *bg = host_rand(GO, -1, 1), *xg = host_rand((size_t)8 * ldg, -1, 1);
        uint16_t *Wgb = malloc((size_t)GO * GI * 2);
        br_from_f32(Wgb, Wg, BR_BF16, (size_t)GO * GI);
        br_to_f32(Wg, Wgb, BR_BF16, (size_t)GO * GI); /* the CPU multiplies by the rounded weights */
        void *dWg = to_gpu(Wgb, (size_t)GO * GI * 2);
        float *dbg = to_gpu(bg, GO * 4), *dxg = to_gpu(xg, (size_t)8 * ldg * 4);
        const int ns[4] = {1, 3, 5, 8};
        for (int k = 0; k < 4; k++)
            for (int beta = 0; beta < 2; beta++) {
                const int ng = ns[k];
                float *out = host_rand((size_t)ng * GO, -1, 1), *dout = to_gpu(out, (size_t)ng * GO * 4);
                br_cpu_linear(CPU, ng, GI, GO, xg, ldg, br_mat_f32(Wg), bg, (float)beta, out, GO);
                br_cuda_linear(gpu, ng, GI, GO, dxg, ldg, (br_mat){dWg, BR_BF16}, dbg, (float)beta, dout, GO);
                char what[64];
                snprintf(what, sizeof what, "GEMV bf16, %d rows%s", ng, beta ? ", accumulate" : "");
                same(what, dout, out, (size_t)ng * GO);
                free(out);
            }
        for (int k = 0; k < 2; k++) { /* three maps of one input in one launch (q, k, v), outputs 130, 64, 64 rows */
            const int ng = k ? 5 : 1, outs_n[3] = {GO, 64, 64}, offs[3] = {0, 0, 64};
            float *want = malloc((size_t)ng * GO * 3 * 4);
            br_linear_out co[3], go[3];
            float *dys[3];
            for (int i = 0; i < 3; i++) { /* the 2nd and 3rd maps are rows 0..63 and 64..127 of the weights */
                co[i] = (br_linear_out){outs_n[i], br_mat_f32(Wg + (long)offs[i] * GI), i ? NULL : bg,
                                        want + (long)i * ng * GO, outs_n[i]};
                dys[i] = br_dev_alloc(gpu, (size_t)ng * outs_n[i] * 4, NULL);
                go[i] = (br_linear_out){outs_n[i], br_mat_at((br_mat){dWg, BR_BF16}, (long)offs[i] * GI), i ? NULL : dbg,
                                        dys[i], outs_n[i]};
            }
            br_cpu_linear_multi(CPU, ng, GI, xg, ldg, 3, co);
            br_cuda_linear_multi(gpu, ng, GI, dxg, ldg, 3, go);
            for (int i = 0; i < 3; i++) {
                char what[64];
                snprintf(what, sizeof what, "GEMV of 3 maps, %d rows, map %d", ng, i);
                same(what, dys[i], co[i].y, (size_t)ng * outs_n[i]);
            }
            free(want);
        }
        free(Wg), free(bg), free(xg), free(Wgb);
        br_dev_free(gpu, dWg), br_dev_free(gpu, dbg), br_dev_free(gpu, dxg);
    }
    float *out1 = malloc(OUT * 4), *dout1 = br_dev_alloc(gpu, OUT * 4, NULL);
    br_cpu_linear(CPU, 1, IN, OUT, x, ld, br_mat_f32(W), NULL, 0.0f, out1, OUT);
    br_cuda_linear(gpu, 1, IN, OUT, dx, ld, br_mat_f32(dW), NULL, 0.0f, dout1, OUT);
    same("linear (one row)", dout1, out1, OUT);
    free(out1), free(W), free(b), free(e), free(table), free(x), free(y), free(y0), free(z);
    br_dev_free(gpu, dW), br_dev_free(gpu, db), br_dev_free(gpu, dtable);
    br_dev_free(gpu, dids), br_dev_free(gpu, dperm), br_dev_free(gpu, dx), br_dev_free(gpu, dz);
}

static void test_norms_and_activations(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    const int R = 19, D = 384, G = 96, ld = 400;
    float *x = host_rand((size_t)R * ld, -2, 2), *z = host_rand((size_t)R * ld, -2, 2);
    float *w = host_rand(D, 0.5f, 1.5f), *b = host_rand(D, -0.5f, 0.5f);
    float *dx = to_gpu(x, (size_t)R * ld * 4), *dz = to_gpu(z, (size_t)R * ld * 4), *dw = to_gpu(w, D * 4), *db = to_gpu(b, D * 4);
    float *y = malloc((size_t)R * D * 4), *dy = br_dev_alloc(gpu, (size_t)R * D * 4, NULL);
    br_cpu_rmsnorm(CPU, R, D, x, ld, w, 1e-5f, 0, y, D);
    br_cuda_rmsnorm(gpu, R, D, dx, ld, dw, 1e-5f, 0, dy, D);
    same("rmsnorm", dy, y, (size_t)R * D);
    dy = br_dev_alloc(gpu, (size_t)R * D * 4, NULL);
    br_cpu_rmsnorm(CPU, R, D, x, ld, w, 1e-6f, 1, y, D);
    br_cuda_rmsnorm(gpu, R, D, dx, ld, dw, 1e-6f, 1, dy, D);
    same("rmsnorm (1 + w)", dy, y, (size_t)R * D);
    dy = br_dev_alloc(gpu, (size_t)R * D * 4, NULL);
    br_cpu_layernorm(CPU, R, D, x, ld, w, b, 1e-5f, y, D);
    br_cuda_layernorm(gpu, R, D, dx, ld, dw, db, 1e-5f, dy, D);
    same("layernorm", dy, y, (size_t)R * D);
    for (int before = 0; before < 2; before++) {
        dy = br_dev_alloc(gpu, (size_t)R * D * 4, NULL);
        br_cpu_gated_rmsnorm(CPU, R, D, G, x, ld, z, ld, w, 1e-5f, before, y, D);
        br_cuda_gated_rmsnorm(gpu, R, D, G, dx, ld, dz, ld, dw, 1e-5f, before, dy, D);
        same(before ? "gated rmsnorm (norm first)" : "gated rmsnorm (gate first)", dy, y, (size_t)R * D);
    }
    for (int many = 0; many < 2; many++) { /* rows wider than the kernels keep in registers (8192); many rows */
        const int Rw = many ? 300 : 3, Dw = many ? 384 : 9000;
        float *xw = host_rand((size_t)Rw * Dw, -2, 2), *zw = host_rand((size_t)Rw * Dw, -2, 2), *ww = host_rand(Dw, 0.5f, 1.5f);
        float *dxw = to_gpu(xw, (size_t)Rw * Dw * 4), *dzw = to_gpu(zw, (size_t)Rw * Dw * 4), *dww = to_gpu(ww, Dw * 4);
        float *yw = malloc((size_t)Rw * Dw * 4), *dyw = br_dev_alloc(gpu, (size_t)Rw * Dw * 4, NULL);
        br_cpu_rmsnorm(CPU, Rw, Dw, xw, Dw, ww, 1e-5f, 0, yw, Dw);
        br_cuda_rmsnorm(gpu, Rw, Dw, dxw, Dw, dww, 1e-5f, 0, dyw, Dw);
        same(many ? "rmsnorm 300 rows" : "rmsnorm 9000 wide", dyw, yw, (size_t)Rw * Dw);
        dyw = br_dev_alloc(gpu, (size_t)Rw * Dw * 4, NULL);
        br_cpu_gated_rmsnorm(CPU, Rw, Dw, Dw, xw, Dw, zw, Dw, ww, 1e-5f, 0, yw, Dw);
        br_cuda_gated_rmsnorm(gpu, Rw, Dw, Dw, dxw, Dw, dzw, Dw, dww, 1e-5f, 0, dyw, Dw);
        same(many ? "gated rmsnorm 300 rows" : "gated rmsnorm 9000 wide", dyw, yw, (size_t)Rw * Dw);
        free(xw), free(zw), free(ww), free(yw);
        br_dev_free(gpu, dxw), br_dev_free(gpu, dzw), br_dev_free(gpu, dww);
    }
    for (int act = 0; act < BR_ACT_COUNT; act++) {
        char what[64];
        snprintf(what, sizeof what, "act %s", br_act_names[act]);
        dy = br_dev_alloc(gpu, (size_t)R * D * 4, NULL);
        br_cpu_act(CPU, (br_act)act, (size_t)R * D, x, y);
        br_cuda_act(gpu, (br_act)act, (size_t)R * D, dx, dy);
        same(what, dy, y, (size_t)R * D);
        snprintf(what, sizeof what, "gated act %s", br_act_names[act]);
        dy = br_dev_alloc(gpu, (size_t)R * (D / 2) * 4, NULL);
        br_cpu_gated_act(CPU, (br_act)act, R, D / 2, x, ld, 0.8f, y);
        br_cuda_gated_act(gpu, (br_act)act, R, D / 2, dx, ld, 0.8f, dy);
        same(what, dy, y, (size_t)R * (D / 2));
    }
    free(x), free(z), free(w), free(b), free(y);
    br_dev_free(gpu, dx), br_dev_free(gpu, dz), br_dev_free(gpu, dw), br_dev_free(gpu, db);
}

/* ---- recurrent kernels: a state pool of 3 slots, batch rows in slots {2, 0} ---------------------------------------- */

/* conv1d of width K over T tokens (T == 1: the step kernel), batch rows in slots {2, 0} of 3. */
static void check_conv(int T, int K) {
    const int B = 2, n = B * T, Cn = 200, ld = 210;
    const long stride = (long)Cn * (K - 1);
    int32_t slots[2] = {2, 0};
    int32_t *dslots = to_gpu(slots, sizeof slots);
    float *x = host_rand((size_t)n * ld, -1, 1), *w = host_rand((size_t)Cn * K, -1, 1), *b = host_rand(Cn, -1, 1);
    float *st = host_rand((size_t)3 * stride, -1, 1), *y = malloc((size_t)n * Cn * 4);
    float *dx = to_gpu(x, (size_t)n * ld * 4), *dw = to_gpu(w, (size_t)Cn * K * 4), *db = to_gpu(b, Cn * 4);
    float *dst = to_gpu(st, (size_t)3 * stride * 4), *dy = br_dev_alloc(gpu, (size_t)n * Cn * 4, NULL);
    br_conv1d_args a = {B, T, Cn, K, x, ld, w, b, y, Cn, st, slots, stride, 1};
    br_conv1d_args g = {B, T, Cn, K, dx, ld, dw, db, dy, Cn, dst, dslots, stride, 1};
    if (T == 1) {
        br_cpu_conv1d_step(CPU, &a);
        br_cuda_conv1d_step(gpu, &g);
    } else {
        br_cpu_conv1d_prefill(CPU, &a);
        br_cuda_conv1d_prefill(gpu, &g);
    }
    char name[64];
    snprintf(name, sizeof name, "conv1d K=%d T=%d", K, T);
    same(name, dy, y, (size_t)n * Cn);
    snprintf(name, sizeof name, "conv1d K=%d T=%d state", K, T);
    same(name, dst, st, (size_t)3 * stride);
    free(x), free(w), free(b), free(st), free(y);
    br_dev_free(gpu, dx), br_dev_free(gpu, dw), br_dev_free(gpu, db), br_dev_free(gpu, dslots);
}

/* Mamba-1 scan over T tokens (T == 1: the step entries), batch rows in slots {2, 0} of 3.  gated: with z;
 * without softplus, delta and its bias are positive (dt is used as it is). */
static void check_scan(const char *what, int B, int T, int Di, int N, int H, int gated, int softplus) {
    const int n = B * T, HN = H * N;
    const long stride = (long)Di * N;
    int32_t slots[2] = {2, 0};
    int32_t *dslots = to_gpu(slots, sizeof slots);
    const float dlo = softplus ? -3 : 0, blo = softplus ? -1 : 0;
    const size_t nd = (size_t)n * Di;
    float *u = host_rand(nd, -1, 1), *delta = host_rand(nd, dlo, 1), *bias = host_rand(Di, blo, 0.5f);
    float *A = host_rand((size_t)Di * N, -3, -0.2f), *Bm = host_rand((size_t)n * HN, -1, 1);
    float *Cm = host_rand((size_t)n * HN, -1, 1), *D = host_rand(Di, -1, 1), *z = gated ? host_rand(nd, -2, 2) : NULL;
    float *st = host_rand((size_t)3 * stride, -0.5f, 0.5f), *y = malloc(nd * 4);
    float *du = to_gpu(u, nd * 4), *ddelta = to_gpu(delta, nd * 4), *dbias = to_gpu(bias, Di * 4);
    float *dA = to_gpu(A, (size_t)Di * N * 4), *dB = to_gpu(Bm, (size_t)n * HN * 4);
    float *dC = to_gpu(Cm, (size_t)n * HN * 4), *dD = to_gpu(D, Di * 4), *dz = gated ? to_gpu(z, nd * 4) : NULL;
    float *dst = to_gpu(st, (size_t)3 * stride * 4), *dy = br_dev_alloc(gpu, nd * 4, NULL);
    br_scan_args a = {B, T, Di, N, H, u, Di, delta, Di, bias, softplus, A, Bm, HN, Cm, HN, D, z, Di, y, Di, st, slots,
                      stride};
    br_scan_args g = {B, T, Di, N, H, du, Di, ddelta, Di, dbias, softplus, dA, dB, HN, dC, HN, dD, dz, Di, dy, Di, dst,
                      dslots, stride};
    if (T == 1) {
        br_cpu_scan_step(CPU, &a);
        br_cuda_scan_step(gpu, &g);
    } else {
        br_cpu_scan_prefill(CPU, &a);
        br_cuda_scan_prefill(gpu, &g);
    }
    char name[64];
    snprintf(name, sizeof name, "mamba-1 scan %s", what);
    same(name, dy, y, nd);
    snprintf(name, sizeof name, "mamba-1 scan %s state", what);
    same(name, dst, st, (size_t)3 * stride);
    free(u), free(delta), free(bias), free(A), free(Bm), free(Cm), free(D), free(z), free(st), free(y);
    br_dev_free(gpu, du), br_dev_free(gpu, ddelta), br_dev_free(gpu, dbias), br_dev_free(gpu, dA), br_dev_free(gpu, dB);
    br_dev_free(gpu, dC), br_dev_free(gpu, dD), br_dev_free(gpu, dz), br_dev_free(gpu, dslots);
}

static void test_conv_scan(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    check_conv(1, 4);
    check_conv(2, 4); /* shorter than the window: the state keeps old inputs */
    check_conv(29, 4);
    check_conv(70, 4); /* three tiles */
    check_conv(70, 3); /* a width the kernel does not specialise */
    check_conv(1, 3);
    check_scan("zamba T=29", 2, 29, 96, 16, 2, 1, 1); /* two heads of B/C, 48 channels each */
    check_scan("step", 2, 1, 96, 16, 2, 1, 1);
    check_scan("T=200", 2, 200, 96, 16, 2, 1, 1); /* several chunks, the last one short */
    check_scan("mamba-2.8b T=1000", 1, 1000, 5120, 16, 1, 1, 1);
    check_scan("N=64 T=200", 2, 200, 128, 64, 1, 1, 1);
    check_scan("N=256 T=100", 2, 100, 64, 256, 2, 1, 1);
    check_scan("N=40 no gate, no softplus", 2, 70, 96, 40, 2, 0, 0); /* d_state padded to 64 */
    check_scan("75 channels a head T=40", 2, 40, 150, 16, 2, 1, 1); /* one channel a block */
}

/* SSD prefill on the GPU (recurrent form for short prompts; else 64-token chunks of f32 FMAs, or with
 * bf16 256-token chunks on the tensor cores) against the CPU's chunked prefill with chunks of 8, batch
 * rows in slots {2, 0}. */
static void check_ssd(const char *what, int T, int H, int P, int N, int G, int bf16) {
    const int B = 2, n = B * T, HP = H * P, GN = G * N;
    const long stride = (long)H * P * N;
    int32_t slots[2] = {2, 0};
    int32_t *dslots = to_gpu(slots, sizeof slots);
    float *x = host_rand((size_t)n * HP, -1, 1), *dt = host_rand((size_t)n * H, -3, 1), *dtb = host_rand(H, -1, 0.5f);
    float *A = host_rand(H, -2, -0.1f), *Bm = host_rand((size_t)n * GN, -1, 1), *Cm = host_rand((size_t)n * GN, -1, 1);
    float *D = host_rand(H, 0, 1), *st = host_rand((size_t)3 * stride, -0.5f, 0.5f), *y = malloc((size_t)n * HP * 4);
    float *dx = to_gpu(x, (size_t)n * HP * 4), *ddt = to_gpu(dt, (size_t)n * H * 4), *ddtb = to_gpu(dtb, H * 4);
    float *dA = to_gpu(A, H * 4), *dB = to_gpu(Bm, (size_t)n * GN * 4), *dC = to_gpu(Cm, (size_t)n * GN * 4);
    float *dD = to_gpu(D, H * 4), *dst = to_gpu(st, (size_t)3 * stride * 4), *dy = br_dev_alloc(gpu, (size_t)n * HP * 4, NULL);
    br_ssd_args a = {B, T, H, P, N, G, 8, x, HP, dt, H, dtb, 0.0f, INFINITY, A, Bm, GN, Cm, GN, D, y, HP, st, slots, stride,
                     NULL, 0};
    a.work = malloc((size_t)br_cpu_ssd_work_floats(CPU, &a) * 4);
    const double tol = bf16 ? BF16_TOL : TOL;
    br_cpu_ssd_prefill(CPU, &a);
    br_ssd_args g = {B, T, H, P, N, G, 8, dx, HP, ddt, H, ddtb, 0.0f, INFINITY, dA, dB, GN, dC, GN, dD, dy, HP, dst, dslots,
                     stride, NULL, bf16};
    g.work = br_dev_alloc(gpu, (size_t)br_cuda_ssd_work_floats(gpu, &g) * 4, NULL);
    assert_non_null(g.work);
    br_cuda_ssd_prefill(gpu, &g);
    char name[64];
    snprintf(name, sizeof name, "ssd %s%s", what, bf16 ? " bf16" : "");
    br_gpu_check(name, dy, y, (size_t)n * HP, tol);
    snprintf(name, sizeof name, "ssd %s%s state", what, bf16 ? " bf16" : "");
    br_gpu_check(name, dst, st, (size_t)3 * stride, tol);
    free(a.work), free(x), free(dt), free(dtb), free(A), free(Bm), free(Cm), free(D), free(st), free(y);
    br_dev_free(gpu, g.work), br_dev_free(gpu, dx), br_dev_free(gpu, ddt), br_dev_free(gpu, ddtb), br_dev_free(gpu, dA);
    br_dev_free(gpu, dB), br_dev_free(gpu, dC), br_dev_free(gpu, dD), br_dev_free(gpu, dslots);
}

static void test_ssd(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    for (int bf16 = 0; bf16 <= 1; bf16++) {
        check_ssd("recurrent T=5", 5, 8, 32, 64, 2, bf16);
        check_ssd("1 chunk T=29", 29, 8, 32, 64, 2, bf16);
        check_ssd("4 chunks T=200 P=80 N=144", 200, 6, 80, 144, 3, bf16);
        check_ssd("mamba2 shape T=300", 300, 4, 64, 128, 1, bf16);
    }
    /* The tensor-core kind's own edges: exactly one 256-token chunk, one token past it, 2.5 chunks
     * with partial token tiles, d_state below one tile, and head_dim 128 (two channel tiles). */
    check_ssd("T=256", 256, 4, 64, 128, 1, 1);
    check_ssd("T=257", 257, 4, 64, 128, 1, 1);
    check_ssd("T=650 P=128 N=16 G=2", 650, 4, 128, 16, 2, 1);
    check_ssd("T=1100 mamba2-2.7b heads", 1100, 80, 64, 128, 1, 1);
}

#endif /* BRAID_HAVE_CUDA */

/* ---- whole models ------------------------------------------------------------------------------------------------ */

static void logits_of(br_model *m, const int32_t *ids, int T, int step, float *out) {
    br_state *s = NULL;
    br_error err = {0};
    int slot = 0;
    const int V = br_model_vocab_size(m);
    assert_int_equal(br_state_create(m, 1, T, &s, &err), BR_OK);
    if (!step) {
        br_status st = br_model_prefill(m, s, 1, &slot, ids, T, BR_LOGITS_ALL, out, &err);
        if (st != BR_OK) fprintf(stderr, "prefill: %s\n", err.message);
        assert_int_equal(st, BR_OK);
    } else {
        for (int t = 0; t < T; t++) {
            br_status st = br_model_step(m, s, 1, &slot, ids + t, out + (long)t * V, &err);
            if (st != BR_OK) fprintf(stderr, "step: %s\n", err.message);
            assert_int_equal(st, BR_OK);
        }
    }
    br_state_free(s);
}

/* Random models of the named families on the GPU with `weights` matrices against the CPU (prefill),
 * and the GPU's steps against its prefill: relative errors below tol_cpu and tol_step. */
static void models_vs_cpu(const char *const *specs, size_t n, const char *seed_name, br_dtype weights, double tol_cpu,
                          double tol_step) {
    uint64_t seed = br_test_seed(seed_name);
    for (size_t k = 0; k < n; k++) {
        br_model *cpu = br_test_random_model(specs[k], seed), *g = br_test_random_model(specs[k], seed);
        br_error err = {0};
        assert_int_equal(br_model_use_gpu(g, 0, weights, &err), BR_OK);
        const int V = br_model_vocab_size(cpu), T = 23;
        int32_t ids[23];
        for (int i = 0; i < T; i++) ids[i] = (int32_t)((i * 37 + (int)(seed % 11)) % V);
        float *a = malloc((size_t)T * V * 4), *b = malloc((size_t)T * V * 4), *c = malloc((size_t)T * V * 4);
        logits_of(cpu, ids, T, 0, a);
        logits_of(g, ids, T, 0, b);
        logits_of(g, ids, T, 1, c);
        double e1 = br_test_rel_err(b, a, (size_t)T * V), e2 = br_test_rel_err(c, b, (size_t)T * V);
        fprintf(stderr, "  %-12s %s GPU vs f32 CPU prefill %.2e   GPU step vs prefill %.2e\n", specs[k],
                br_dtype_name(weights), e1, e2);
        assert_true(e1 < tol_cpu);
        assert_true(e2 < tol_step);
        free(a), free(b), free(c);
        br_model_free(cpu);
        br_model_free(g);
    }
}

static void test_random_models_gpu_vs_cpu(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    const char *specs[] = {"mamba", "jamba", "zamba", "zamba2", "bamba", "falcon_h1", "nemotron_h", "llama"};
    models_vs_cpu(specs, sizeof specs / sizeof specs[0], "gpu_models", BR_F32, 1e-4, 1e-5);
}

/* Recorded steps (CUDA graphs) give the logits unrecorded steps give, MoE
 * models (Jamba, Nemotron-H) included: 3 sequences prefilled to different
 * lengths, then batched steps. */
static void batched_steps(br_model *m, int steps, float *out) {
    br_state *s = NULL;
    br_error err = {0};
    const int V = br_model_vocab_size(m), lens[3] = {5, 17, 9};
    int slots[3] = {1, 2, 0};
    float *scratch = malloc((size_t)17 * V * 4);
    assert_int_equal(br_state_create(m, 3, 64, &s, &err), BR_OK);
    for (int b = 0; b < 3; b++) {
        int32_t ids[17];
        for (int i = 0; i < lens[b]; i++) ids[i] = (int32_t)((i * 13 + b * 7 + 1) % V);
        assert_int_equal(br_model_prefill(m, s, 1, &slots[b], ids, lens[b], BR_LOGITS_LAST, scratch, &err), BR_OK);
    }
    for (int t = 0; t < steps; t++) {
        int32_t next[3] = {(int32_t)((t * 5 + 2) % V), (int32_t)((t * 11 + 3) % V), (int32_t)((t * 3 + 4) % V)};
        br_status st = br_model_step(m, s, 3, slots, next, out + (long)t * 3 * V, &err);
        if (st != BR_OK) fprintf(stderr, "step: %s\n", err.message);
        assert_int_equal(st, BR_OK);
    }
    free(scratch);
    br_state_free(s);
}

static void test_step_graphs(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    const char *specs[] = {"mamba", "zamba", "zamba2", "bamba", "falcon_h1", "llama", "jamba", "nemotron_h"};
    uint64_t seed = br_test_seed("step_graphs");
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
        br_model *g = br_test_random_model(specs[k], seed);
        br_error err = {0};
        assert_int_equal(br_model_use_gpu(g, 0, BR_BF16, &err), BR_OK);
        const int V = br_model_vocab_size(g), steps = 7;
        float *plain = malloc((size_t)steps * 3 * V * 4), *rec = malloc((size_t)steps * 3 * V * 4);
        setenv("BRAID_STEP_GRAPHS", "0", 1);
        batched_steps(g, steps, plain);
        unsetenv("BRAID_STEP_GRAPHS");
        batched_steps(g, steps, rec);
        double e = br_test_rel_err(rec, plain, (size_t)steps * 3 * V);
        fprintf(stderr, "  %-12s recorded vs unrecorded steps %.2e\n", specs[k], e);
        assert_true(e < 1e-6);
        free(plain), free(rec);
        br_model_free(g);
    }
}

/* A block the CUDA kernels cannot run is refused when the model moves, naming it. */
static void test_gpu_limits(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    const char *yaml = "name: big-state\nmodel: {d_model: 64, vocab_size: 32}\n"
                       "blocks: {ssm: {type: mamba2, heads: 2, head_dim: 32, d_state: 512}}\n"
                       "layers: [{repeat: 2, layers: [ssm]}]\n";
    br_spec *spec = NULL;
    br_model *m = NULL;
    br_error err = {0};
    assert_int_equal(br_spec_parse(yaml, strlen(yaml), "big-state.yaml", &spec, &err), BR_OK);
    assert_int_equal(br_model_create_random(spec, 1, &m, &err), BR_OK);
    assert_int_equal(br_model_use_gpu(m, 0, BR_BF16, &err), BR_ERR_UNSUPPORTED);
    fprintf(stderr, "  refused: %s\n", err.message);
    assert_non_null(strstr(err.message, "'ssm'"));
    assert_non_null(strstr(err.message, "d_state 512"));
    int32_t ids[3] = {1, 2, 3}; /* still usable on the CPU */
    float *lg = malloc(3 * 32 * sizeof *lg);
    br_state *s = NULL;
    int slot = 0;
    assert_int_equal(br_state_create(m, 1, 8, &s, &err), BR_OK);
    assert_int_equal(br_model_prefill(m, s, 1, &slot, ids, 3, BR_LOGITS_ALL, lg, &err), BR_OK);
    free(lg);
    br_state_free(s);
    br_model_free(m);
}

/* bf16 matrix weights: logits within bf16 rounding of the CPU's f32 logits; steps
 * within bf16 rounding of prefill (prefill attention runs on cuDNN with bf16
 * queries and probabilities, steps on braid's decode kernel with f32 queries). */
static void test_random_models_gpu_bf16(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    const char *specs[] = {"mamba", "jamba", "zamba2", "bamba", "falcon_h1", "nemotron_h"};
    models_vs_cpu(specs, sizeof specs / sizeof specs[0], "gpu_models_bf16", BR_BF16, 3e-2, 1e-2);
}

static void test_fixtures_on_gpu(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    DIR *d = opendir(br_test_path("tests/data/fixtures"));
    assert_non_null(d);
    struct dirent *ent;
    int n = 0;
    while ((ent = readdir(d))) {
        char dir[4400], path[4600];
        snprintf(dir, sizeof dir, "%s/%s", br_test_path("tests/data/fixtures"), ent->d_name);
        snprintf(path, sizeof path, "%s/reference.json", dir);
        if (ent->d_name[0] == '.' || !br_file_exists(path)) continue;
        json_error_t je;
        json_t *ref = json_load_file(path, 0, &je);
        int T;
        int32_t *ids = br_test_json_ids(json_object_get(ref, "prompt_ids"), &T);
        for (int bf16 = 0; bf16 < 2; bf16++) { /* f32: to f32 rounding; bf16 weights and KV: to bf16 rounding */
            br_model *m = NULL;
            br_error err = {0};
            assert_int_equal(br_model_load(dir, NULL, &m, NULL, &err), BR_OK);
            assert_int_equal(br_model_use_gpu(m, 0, bf16 ? BR_BF16 : BR_F32, &err), BR_OK);
            const int V = br_model_vocab_size(m);
            float *lg = malloc((size_t)T * V * 4);
            double errs[2];
            for (int mode = 0; mode < 2; mode++) {
                logits_of(m, ids, T, mode, lg);
                snprintf(path, sizeof path, "%s/%s", dir,
                         json_string_value(json_object_get(ref, mode ? "logits_step" : "logits_prefill")));
                float *want = NULL;
                int nd;
                int64_t sh[8];
                assert_int_equal(br_npy_read_f32(path, &want, &nd, sh, &err), BR_OK);
                errs[mode] = bf16 ? br_test_rel_err(lg, want, (size_t)T * V) : br_test_max_err_scaled(lg, want, (size_t)T * V);
                free(want);
            }
            fprintf(stderr, "  %-28s GPU %s prefill %.2e  step %.2e\n", ent->d_name, bf16 ? "bf16" : "f32 ", errs[0],
                    errs[1]);
            const double tol = bf16 ? 3e-2 : 1e-4; /* bf16: relative L2, as the random bf16 models */
            assert_true(errs[0] < tol && errs[1] < tol);
            free(lg);
            br_model_free(m);
        }
        free(ids);
        json_decref(ref);
        n++;
    }
    closedir(d);
    assert_true(n >= 11);
}

int main(void) {
    if (!br_gpu_test_have()) return BR_TEST_SKIPPED; /* said why; ctest reports the program as skipped */
    const struct CMUnitTest tests[] = {
#ifdef BRAID_HAVE_CUDA
        cmocka_unit_test(test_elementwise_and_linear),
        cmocka_unit_test(test_norms_and_activations),
        cmocka_unit_test(test_conv_scan),
        cmocka_unit_test(test_ssd),
#endif
        cmocka_unit_test(test_random_models_gpu_vs_cpu),
        cmocka_unit_test(test_random_models_gpu_bf16),
        cmocka_unit_test(test_step_graphs),
        cmocka_unit_test(test_gpu_limits),
        cmocka_unit_test(test_fixtures_on_gpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
