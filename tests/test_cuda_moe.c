/*
 * test_cuda_moe.c - the CUDA mixture-of-experts kernels against the CPU
 * reference on fresh random inputs: the router picks the same experts with
 * the same weights from the same logits (softmax and sigmoid scores, with
 * and without selection bias and expert groups, with near ties), the sort
 * by expert is identical, the grouped products agree on the device path
 * (decode-sized) and the host-synchronised one (prompt-sized), in f32 and
 * bf16, and the weighted combination agrees.  Without a CUDA build or a
 * GPU the tests skip and say so.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "gpu_util.h"
#include "test_util.h"

#ifdef BRAID_HAVE_CUDA
#include "kernels/moe.h"

#define CPU (&br_cpu_device)

typedef struct route_case {
    const char *what;
    int n, experts, top_k;
    br_moe_router router;
    int bias, groups, topk_groups, normalize;
    float route_scale;
} route_case;

static void *download(const void *d, size_t bytes) {
    br_error err = {0};
    void *h = malloc(bytes);
    assert_int_equal(br_dev_sync(br_gpu_test_dev(), &err), BR_OK);
    assert_int_equal(br_dev_download(br_gpu_test_dev(), h, d, bytes, &err), BR_OK);
    return h;
}

static void check_route(const route_case *rc) {
    br_device *gpu = br_gpu_test_dev();
    const int n = rc->n, E = rc->experts, K = rc->top_k;
    float *logits = br_gpu_host_rand((size_t)n * E, -3, 3), *bias = br_gpu_host_rand((size_t)E, -0.2f, 0.2f);
    for (int t = 0; t < n; t += 3) logits[(long)t * E + 5] = logits[(long)t * E + 2]; /* exact ties */
    int32_t *ids = malloc((size_t)n * K * 4);
    float *wts = malloc((size_t)n * K * 4);
    br_moe_route_args a = {.n = n, .experts = E, .top_k = K, .logits = logits, .router = rc->router,
                           .sel_bias = rc->bias ? bias : NULL, .groups = rc->groups, .topk_groups = rc->topk_groups,
                           .normalize = rc->normalize, .route_scale = rc->route_scale, .ids = ids, .wts = wts};
    br_cpu_moe_route(CPU, &a);
    br_moe_route_args g = a;
    g.logits = br_gpu_to_dev(logits, (size_t)n * E * 4);
    g.sel_bias = rc->bias ? br_gpu_to_dev(bias, (size_t)E * 4) : NULL;
    g.ids = br_dev_alloc(gpu, (size_t)n * K * 4, NULL);
    g.wts = br_dev_alloc(gpu, (size_t)n * K * 4, NULL);
    br_cuda_moe_route(gpu, &g);
    int32_t *gids = download(g.ids, (size_t)n * K * 4);
    float *gwts = download(g.wts, (size_t)n * K * 4);
    int same_ids = !memcmp(gids, ids, (size_t)n * K * 4), same_wts = !memcmp(gwts, wts, (size_t)n * K * 4);
    fprintf(stderr, "  route %-40s picks %s, weights %s\n", rc->what, same_ids ? "identical" : "DIFFER",
            same_wts ? "identical" : "DIFFER");
    assert_true(same_ids && same_wts);
    free(logits), free(bias), free(ids), free(wts), free(gids), free(gwts);
    br_dev_free(gpu, (void *)g.logits), br_dev_free(gpu, (void *)g.sel_bias), br_dev_free(gpu, g.ids);
    br_dev_free(gpu, g.wts);
}

static void test_route(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    const route_case cases[] = {
        {"softmax 64 experts top 6, normalised", 300, 64, 6, BR_MOE_SOFTMAX, 0, 1, 1, 1, 1.0f},
        {"softmax 16 experts top 2 (Jamba)", 77, 16, 2, BR_MOE_SOFTMAX, 0, 1, 1, 0, 1.0f},
        {"sigmoid 128 experts top 6, bias, scale 2.5", 200, 128, 6, BR_MOE_SIGMOID, 1, 1, 1, 1, 2.5f},
        {"sigmoid 256 experts, 8 groups keep 4, top 8", 90, 256, 8, BR_MOE_SIGMOID, 1, 8, 4, 1, 2.5f},
        {"softmax 512 experts top 32", 5, 512, 32, BR_MOE_SOFTMAX, 0, 1, 1, 1, 1.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_route(&cases[i]);
}

/* Sort, gather-free grouped products (device path and host path, f32 and bf16 weights) and the combination. */
static void check_experts(int n, int E, int K, int in, int out, br_dtype wtype) {
    br_device *gpu = br_gpu_test_dev();
    const int rows = n * K;
    int32_t *ids = malloc((size_t)rows * 4);
    uint64_t *rng = br_gpu_test_rng();
    for (int t = 0; t < n; t++) /* K distinct experts per token, skewed so that some experts get none */
        for (int k = 0; k < K; k++) {
            *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
            ids[t * K + k] = (int32_t)(((*rng >> 33) % (uint64_t)(E / K)) * K + k) % E;
        }
    int32_t *off = malloc((size_t)(E + 1) * 4), *rt = malloc((size_t)rows * 4), *ro = malloc((size_t)rows * 4);
    br_moe_sort_args s = {.pairs = rows, .experts = E, .top_k = K, .ids = ids, .offsets = off, .rows_token = rt,
                          .row_of = ro};
    br_cpu_moe_sort(CPU, &s);
    br_moe_sort_args gs = s;
    gs.ids = br_gpu_to_dev(ids, (size_t)rows * 4);
    gs.offsets = br_dev_alloc(gpu, (size_t)(E + 1) * 4, NULL);
    gs.rows_token = br_dev_alloc(gpu, (size_t)rows * 4, NULL);
    gs.row_of = br_dev_alloc(gpu, (size_t)rows * 4, NULL);
    br_cuda_moe_sort(gpu, &gs);
    int32_t *goff = download(gs.offsets, (size_t)(E + 1) * 4), *grt = download(gs.rows_token, (size_t)rows * 4);
    int32_t *gro = download(gs.row_of, (size_t)rows * 4);
    assert_memory_equal(goff, off, (size_t)(E + 1) * 4);
    assert_memory_equal(grt, rt, (size_t)rows * 4);
    assert_memory_equal(gro, ro, (size_t)rows * 4);
    /* grouped product over the sorted rows */
    float *x = br_gpu_host_rand((size_t)rows * in, -1, 1), *w = br_gpu_host_rand((size_t)E * out * in, -0.1f, 0.1f);
    float *y = malloc((size_t)rows * out * 4);
    void *wdev;
    if (wtype == BR_BF16) { /* the CPU multiplies by the rounded weights */
        uint16_t *wb = malloc((size_t)E * out * in * 2);
        br_from_f32(wb, w, BR_BF16, (size_t)E * out * in);
        br_to_f32(w, wb, BR_BF16, (size_t)E * out * in);
        wdev = br_gpu_to_dev(wb, (size_t)E * out * in * 2);
        free(wb);
    } else {
        wdev = br_gpu_to_dev(w, (size_t)E * out * in * 4);
    }
    br_moe_linear_args l = {.rows = rows, .in = in, .out = out, .experts = E, .offsets = off, .x = x, .ldx = in,
                            .w = br_mat_f32(w), .y = y, .ldy = out};
    br_cpu_moe_linear(CPU, &l);
    br_moe_linear_args gl = l;
    gl.offsets = gs.offsets;
    gl.x = br_gpu_to_dev(x, (size_t)rows * in * 4);
    gl.w = (br_mat){wdev, wtype};
    gl.y = br_dev_alloc(gpu, (size_t)rows * out * 4, NULL);
    br_cuda_moe_linear(gpu, &gl);
    char name[128];
    snprintf(name, sizeof name, "moe_linear %d rows (%s), %s weights", rows,
             rows <= BR_CUDA_MOE_DEVICE_ROWS ? "device" : "host-synchronised", br_dtype_name(wtype));
    /* bf16 weights reach the tensor cores with bf16 activations on the cuBLAS path */
    br_gpu_check(name, gl.y, y, (size_t)rows * out,
                 wtype == BR_BF16 && rows > BR_CUDA_MOE_DEVICE_ROWS ? 1e-2 : 1e-5);
    /* the weighted combination */
    float *wts = br_gpu_host_rand((size_t)rows, 0, 1), *yc = malloc((size_t)n * out * 4);
    br_cpu_moe_combine(CPU, n, K, out, ro, wts, y, out, yc, out);
    float *dwts = br_gpu_to_dev(wts, (size_t)rows * 4), *dy = br_gpu_to_dev(y, (size_t)rows * out * 4);
    float *dyc = br_dev_alloc(gpu, (size_t)n * out * 4, NULL);
    br_cuda_moe_combine(gpu, n, K, out, gs.row_of, dwts, dy, out, dyc, out);
    br_gpu_check("moe_combine", dyc, yc, (size_t)n * out, 1e-6);
    free(ids), free(off), free(rt), free(ro), free(goff), free(grt), free(gro), free(x), free(w), free(y), free(wts);
    free(yc);
    br_dev_free(gpu, (void *)gs.ids), br_dev_free(gpu, gs.offsets), br_dev_free(gpu, gs.rows_token);
    br_dev_free(gpu, gs.row_of), br_dev_free(gpu, (void *)gl.x), br_dev_free(gpu, wdev), br_dev_free(gpu, dwts);
    br_dev_free(gpu, dy);
}

static void test_sort_linear_combine(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    check_experts(1, 64, 6, 1536, 1024, BR_BF16);   /* a decode step of Granite-4.0-H-Tiny's shape */
    check_experts(64, 128, 6, 2688, 1856, BR_BF16); /* batch 64 of Nemotron-3-Nano's shape */
    check_experts(37, 16, 2, 300, 130, BR_F32);     /* widths the 8-wide loads cannot take */
    check_experts(700, 64, 6, 512, 256, BR_F32);    /* past the device path: the host-synchronised one */
    check_experts(700, 64, 6, 512, 256, BR_BF16);
}

int main(void) {
    if (!br_gpu_test_have()) return BR_TEST_SKIPPED; /* said why; ctest reports the program as skipped */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_sort_linear_combine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void) {
    fprintf(stderr, "braid was built without CUDA: the CUDA MoE tests are skipped\n");
    return BR_TEST_SKIPPED;
}
#endif /* BRAID_HAVE_CUDA */
