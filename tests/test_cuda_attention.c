/*
 * test_cuda_attention.c - the CUDA attention kernels against the CPU
 * reference on fresh random inputs: RoPE, KV-cache writes and gathers
 * (f32 and bf16 caches), prefill attention on cuDNN's fused flash attention
 * (bf16: relative error < 1e-2) and on braid's own kernel (the same keys:
 * < 1e-5), with GQA ratios 1, 4 and 8, head_dim 64, 128 and 256, lengths 1,
 * 17, 512 and 4099, sliding windows and prefill after cached context; and
 * flash-decoding over cache rings at contexts that do and do not divide
 * into its splits.  Without a CUDA build or a GPU the tests skip and say so.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "gpu_util.h"
#include "test_util.h"

#ifdef BRAID_HAVE_CUDA
#include "kernels/attention.h"

#define CPU (&br_cpu_device)
#define TOL 1e-5
#define TOL_BF16 1e-2

/* A bf16 copy of n floats, and the f32 values it holds. */
static uint16_t *to_bf16(const float *x, size_t n, float *rounded) {
    uint16_t *b = malloc(n * 2);
    br_from_f32(b, x, BR_BF16, n);
    if (rounded) br_to_f32(rounded, b, BR_BF16, n);
    return b;
}

static void test_rope(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    br_device *gpu = br_gpu_test_dev();
    const int T = 21, H = 8, hd = 128, rot = 64;
    float *q = br_gpu_host_rand((size_t)T * H * hd, -1, 1);
    int64_t pos[21];
    for (int i = 0; i < T; i++) pos[i] = 1000 + 7 * i;
    float *dq = br_gpu_to_dev(q, (size_t)T * H * hd * 4);
    int64_t *dpos = br_gpu_to_dev(pos, sizeof pos);
    br_cpu_rope(CPU, T, H, hd, rot, 10000.0f, BR_ROPE_NEOX, pos, q, H * hd);
    br_cuda_rope(gpu, T, H, hd, rot, 10000.0f, BR_ROPE_NEOX, dpos, dq, H * hd);
    br_gpu_check("rope (positions ~1000)", dq, q, (size_t)T * H * hd, TOL);
    free(q);
    br_dev_free(gpu, dpos);
}

/* kv_store into rings of 3 slots (wrapping) and kv_gather back, GPU against CPU, in f32 and bf16. */
static void test_kv_store_gather(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    br_device *gpu = br_gpu_test_dev();
    const int row = 96, rows = 23, ld = 100;
    const int64_t cap = 16;
    for (int dt = 0; dt < 2; dt++) {
        const br_dtype type = dt ? BR_BF16 : BR_F32;
        const size_t es = br_dtype_size(type), pool = (size_t)3 * cap * row;
        float *k = br_gpu_host_rand((size_t)rows * ld, -1, 1), *v = br_gpu_host_rand((size_t)rows * ld, -1, 1);
        void *kc = calloc(pool, es), *vc = calloc(pool, es);
        br_kv_cache c = {.k = kc, .v = vc, .dtype = type, .cap = cap, .row = row};
        br_kv_cache g = {.k = br_gpu_to_dev(kc, pool * es), .v = br_gpu_to_dev(vc, pool * es), .dtype = type, .cap = cap,
                         .row = row};
        float *dk = br_gpu_to_dev(k, (size_t)rows * ld * 4), *dv = br_gpu_to_dev(v, (size_t)rows * ld * 4);
        br_cpu_kv_store(CPU, &c, 2, 13, 9, k, v, ld); /* positions 13..21 wrap at 16 */
        br_cuda_kv_store(gpu, &g, 2, 13, 9, dk, dv, ld);
        const int n_get = 12;
        void *kk = malloc((size_t)n_get * row * es), *vv = malloc((size_t)n_get * row * es);
        void *dkk = br_gpu_to_dev(kk, (size_t)n_get * row * es), *dvv = br_gpu_to_dev(vv, (size_t)n_get * row * es);
        br_cpu_kv_gather(CPU, &c, 2, 10, n_get, kk, vv);
        br_cuda_kv_gather(gpu, &g, 2, 10, n_get, dkk, dvv);
        void *got = malloc((size_t)n_get * row * es);
        br_error err = {0};
        assert_int_equal(br_dev_sync(gpu, &err), BR_OK);
        for (int which = 0; which < 2; which++) {
            assert_int_equal(br_dev_download(gpu, got, which ? dvv : dkk, (size_t)n_get * row * es, &err), BR_OK);
            assert_memory_equal(got, which ? vv : kk, (size_t)n_get * row * es);
        }
        fprintf(stderr, "  kv_store + kv_gather (%s): identical\n", br_dtype_name(type));
        free(k), free(v), free(kc), free(vc), free(kk), free(vv), free(got);
        br_dev_free(gpu, g.k), br_dev_free(gpu, g.v), br_dev_free(gpu, dk), br_dev_free(gpu, dv);
        br_dev_free(gpu, dkk), br_dev_free(gpu, dvv);
    }
}

typedef struct prefill_case {
    const char *what;
    int T, S, heads, kv_heads, head_dim, window;
} prefill_case;

/* One prefill attention: T queries at positions S-T.. over S keys, GPU against CPU on the same (rounded) keys.
 * bf16 keys expect cuDNN where it is loaded (expect_cudnn) and bf16 tolerance; f32 keys run braid's kernel. */
static void check_prefill(const prefill_case *pc, br_dtype kv_type, int expect_cudnn) {
    br_device *gpu = br_gpu_test_dev();
    const int T = pc->T, S = pc->S, H = pc->heads, KVH = pc->kv_heads, hd = pc->head_dim;
    const int qd = H * hd, row = KVH * hd, ldq = qd + 8; /* a strided query */
    const size_t nq = (size_t)T * ldq, nk = (size_t)S * row, es = br_dtype_size(kv_type);
    float *q = br_gpu_host_rand(nq, -1, 1), *k = br_gpu_host_rand(nk, -1, 1), *v = br_gpu_host_rand(nk, -1, 1);
    void *kt = k, *vt = v, *kb = NULL, *vb = NULL;
    if (kv_type == BR_BF16) { /* the CPU reads the same rounded values */
        kt = kb = to_bf16(k, nk, NULL);
        vt = vb = to_bf16(v, nk, NULL);
    }
    float *o = malloc((size_t)T * qd * 4);
    br_attn_args a = {.T = T, .S = S, .heads = H, .kv_heads = KVH, .head_dim = hd, .q = q, .ldq = ldq, .k = kt, .v = vt,
                      .ldkv = row, .kv_dtype = kv_type, .q_pos0 = S - T, .k_pos0 = 0, .window = pc->window,
                      .scale = 1.0f / sqrtf((float)hd), .o = o, .ldo = qd};
    a.work = malloc((size_t)br_attn_work_floats(&a) * 4);
    br_cpu_attention(CPU, &a);
    br_attn_args g = a;
    g.q = br_gpu_to_dev(q, nq * 4);
    g.k = br_gpu_to_dev(kt, nk * es);
    g.v = br_gpu_to_dev(vt, nk * es);
    g.o = br_dev_alloc(gpu, (size_t)T * qd * 4, NULL);
    g.work = br_dev_alloc(gpu, (size_t)br_attn_work_floats(&a) * 4, NULL);
    const long runs0 = br_cuda_cudnn_attention_runs(gpu);
    br_cuda_attention(gpu, &g);
    const long runs1 = br_cuda_cudnn_attention_runs(gpu);
    const int on_cudnn = runs1 > runs0;
    char name[160];
    snprintf(name, sizeof name, "%s %s (%s)", pc->what, br_dtype_name(kv_type), on_cudnn ? "cuDNN" : "braid");
    br_gpu_check(name, g.o, o, (size_t)T * qd, on_cudnn ? TOL_BF16 : TOL);
    if (expect_cudnn && runs0 >= 0) assert_true(on_cudnn); /* cuDNN is loaded: it must take these shapes */
    free(q), free(k), free(v), free(kb), free(vb), free(o), free(a.work);
    br_dev_free(gpu, (void *)g.q), br_dev_free(gpu, (void *)g.k), br_dev_free(gpu, (void *)g.v), br_dev_free(gpu, g.work);
}

static void test_prefill_attention(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    fprintf(stderr, "  cuDNN: %s\n", br_cuda_cudnn_attention_runs(br_gpu_test_dev()) >= 0 ? "loaded" : "not loaded");
    const prefill_case cudnn_cases[] = {
        {"GQA 1, hd 64, 17 rows", 17, 17, 4, 4, 64, 0},
        {"GQA 4, hd 128, 512 rows", 512, 512, 8, 2, 128, 0},
        {"GQA 8, hd 256, 1 row", 1, 1, 16, 2, 256, 0},
        {"GQA 4, hd 128, 4099 rows", 4099, 4099, 8, 2, 128, 0},
        {"GQA 4, hd 128, 17 rows after 300 cached", 17, 317, 8, 2, 128, 0},
        {"GQA 8, hd 64, 1 row after 512 cached", 1, 513, 16, 2, 64, 0},
        {"GQA 4, hd 128, 512 rows, window 64", 512, 512, 8, 2, 128, 64},
        {"GQA 4, hd 128, 17 rows after 63 cached, window 64", 17, 80, 8, 2, 128, 64},
    };
    for (size_t i = 0; i < sizeof cudnn_cases / sizeof cudnn_cases[0]; i++)
        check_prefill(&cudnn_cases[i], BR_BF16, cudnn_cases[i].window == 0);
    const prefill_case own_cases[] = {
        {"GQA 4, hd 96, 21 rows after 49 cached", 21, 70, 8, 2, 96, 0},
        {"GQA 4, hd 96, 21 rows after 49 cached, window 24", 21, 70, 8, 2, 96, 24},
        {"GQA 1, hd 256, 17 rows", 17, 17, 2, 2, 256, 0},
    };
    for (size_t i = 0; i < sizeof own_cases / sizeof own_cases[0]; i++) check_prefill(&own_cases[i], BR_F32, 0);
}

/* Decode: 3 sequences in slots {2, 0, 1} of cache rings at positions pos[], one step each; with rot_dim > 0
 * q and k are rotated first (rope_kv_append, NEOX), else appended as they are (kv_append). */
static void check_decode(const char *what, br_dtype type, int H, int KVH, int hd, int window, int64_t cap,
                         const int64_t *pos, int rot_dim) {
    br_device *gpu = br_gpu_test_dev();
    const int B = 3, qd = H * hd, kd = KVH * hd;
    const size_t pool = (size_t)3 * cap * kd, es = br_dtype_size(type);
    int32_t slots[3] = {2, 0, 1};
    float *q = br_gpu_host_rand((size_t)B * qd, -1, 1), *kn = br_gpu_host_rand((size_t)B * kd, -1, 1);
    float *vn = br_gpu_host_rand((size_t)B * kd, -1, 1);
    float *kf = br_gpu_host_rand(pool, -1, 1), *vf = br_gpu_host_rand(pool, -1, 1), *o = malloc((size_t)B * qd * 4);
    void *kc = type == BR_BF16 ? (void *)to_bf16(kf, pool, NULL) : (void *)kf;
    void *vc = type == BR_BF16 ? (void *)to_bf16(vf, pool, NULL) : (void *)vf;
    void *dkc = br_gpu_to_dev(kc, pool * es), *dvc = br_gpu_to_dev(vc, pool * es);
    br_attn_decode_args a = {.batch = B, .heads = H, .kv_heads = KVH, .head_dim = hd, .q = q, .ldq = qd, .k_new = kn,
                             .v_new = vn, .ldkv = kd, .cache = {kc, vc, type, cap, kd}, .slots = slots, .pos = pos,
                             .window = window, .scale = 0.1f, .o = o, .ldo = qd};
    br_attn_decode_args g = a; /* device copies first: the CPU rotates q and k in place */
    g.q = br_gpu_to_dev(q, (size_t)B * qd * 4);
    g.k_new = br_gpu_to_dev(kn, (size_t)B * kd * 4);
    g.v_new = br_gpu_to_dev(vn, (size_t)B * kd * 4);
    g.cache.k = dkc, g.cache.v = dvc;
    g.slots = br_gpu_to_dev(slots, sizeof slots);
    g.pos = br_gpu_to_dev(pos, 3 * sizeof *pos);
    g.o = br_dev_alloc(gpu, (size_t)B * qd * 4, NULL);
    const br_rope_args rope = {.rot_dim = rot_dim, .theta = 10000.0f, .style = BR_ROPE_NEOX};
    if (rot_dim) br_cpu_rope_kv_append(CPU, &a, &rope);
    else br_cpu_kv_append(CPU, &a);
    br_cpu_attention_decode(CPU, &a);
    const long work = br_cuda_attention_decode_work_floats(gpu, &g);
    g.work = work ? br_dev_alloc(gpu, (size_t)work * 4, NULL) : NULL;
    if (rot_dim) br_cuda_rope_kv_append(gpu, &g, &rope);
    else br_cuda_kv_append(gpu, &g);
    br_cuda_attention_decode(gpu, &g);
    char name[160];
    snprintf(name, sizeof name, "decode %s%s %s (%ld work floats)", what, rot_dim ? ", rope" : "", br_dtype_name(type),
             work);
    br_gpu_check(name, g.o, o, (size_t)B * qd, TOL);
    float *kw = malloc(pool * 4), *kg = malloc(pool * 4);
    void *raw = malloc(pool * es);
    br_error err = {0};
    assert_int_equal(br_dev_download(gpu, raw, dkc, pool * es, &err), BR_OK);
    br_to_f32(kg, raw, type, pool);
    br_to_f32(kw, kc, type, pool);
    /* the appended rows landed where the CPU put them (rotated keys: within f32 rounding, one bf16 step at most) */
    if (rot_dim) assert_true(br_test_rel_err(kg, kw, pool) < (type == BR_BF16 ? 4e-3 : TOL));
    else assert_memory_equal(kg, kw, pool * 4);
    free(q), free(kn), free(vn), free(kf), free(vf), free(o), free(kw), free(kg), free(raw);
    if (type == BR_BF16) free(kc), free(vc);
    br_dev_free(gpu, (void *)g.q), br_dev_free(gpu, (void *)g.k_new), br_dev_free(gpu, (void *)g.v_new);
    br_dev_free(gpu, dkc), br_dev_free(gpu, dvc), br_dev_free(gpu, (void *)g.slots), br_dev_free(gpu, (void *)g.pos);
    br_dev_free(gpu, g.work);
}

static void test_decode_attention(void **state) {
    (void)state;
    if (!br_gpu_test_have()) skip();
    const int64_t wrapped[3] = {3, 37, 15}, plain[3] = {0, 300, 129}, longer[3] = {4500, 4999, 17};
    const int64_t full[3] = {4095, 2048, 4000};
    for (int dt = 0; dt < 2; dt++) {
        const br_dtype type = dt ? BR_BF16 : BR_F32;
        check_decode("window 8 in a 16-row ring", type, 8, 2, 96, 8, 16, wrapped, 0);
        check_decode("GQA 4, 301 rows", type, 8, 2, 128, 0, 301, plain, 64);
        check_decode("GQA 12 (two head groups), hd 64, 5000 rows", type, 24, 2, 64, 0, 5000, longer, 0);
        check_decode("GQA 1, hd 256, 4096 rows", type, 4, 4, 256, 0, 4096, full, 256);
        check_decode("window 1000 in 1000 rows, past the ring", type, 8, 2, 128, 1000, 1000, longer, 128);
    }
}

int main(void) {
    if (!br_gpu_test_have()) return BR_TEST_SKIPPED; /* said why; ctest reports the program as skipped */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rope),
        cmocka_unit_test(test_kv_store_gather),
        cmocka_unit_test(test_prefill_attention),
        cmocka_unit_test(test_decode_attention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void) {
    fprintf(stderr, "braid was built without CUDA: the CUDA attention tests are skipped\n");
    return BR_TEST_SKIPPED;
}
#endif /* BRAID_HAVE_CUDA */
