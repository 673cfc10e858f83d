/*
 * cudnn_attention.cu - cuDNN's fused flash attention through the backend
 * API (cudnn_attention.h says what and why).
 *
 * Tensors of the graph ([batch, heads, rows, cols] with element strides):
 *   Q  [1, H, T, hd]    bf16, strides (T*H*hd, hd, H*hd, 1)    uid 1
 *   Kt [1, KVH, hd, S]  bf16, strides (S*row, hd, 1, row)      uid 2  (K^T: the cache rows)
 *   V  [1, KVH, S, hd]  bf16, strides (S*row, hd, row, 1)      uid 3
 *   O  [1, H, T, hd]    bf16, like Q                           uid 4
 *   by value: scale (f32, 5), -inf (f32, 6), S and T (int32, 7, 8), window bound (f32, 9)
 * Row i of the scores sees key j when i + (S - T) >= j and, with a window
 * W, when j + W - (S - T) > i (the masks cuDNN's frontend writes for
 * causal_mask_bottom_right and a left bound).
 */
#include <cuda_bf16.h>
#include <cudnn.h>
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert.cuh"
#include "cuda_common.cuh"
#include "cudnn_attention.h"

extern "C" {
#include "base/notice.h"
}

#define CUDNN_OLDEST 90600 /* bottom-right causal masks at any length */
#define PLANS 32           /* execution plans kept per device */
#define STRUCTURES 8       /* kernel caches kept per device (one per graph structure) */
#define ALIGN 256

/* ---- the library, loaded once per process ------------------------------------------------------------------------ */

typedef struct cudnn_api {
    size_t (*GetVersion)(void);
    const char *(*GetErrorString)(cudnnStatus_t);
    void (*GetLastErrorString)(char *, size_t);
    cudnnStatus_t (*Create)(cudnnHandle_t *);
    cudnnStatus_t (*Destroy)(cudnnHandle_t);
    cudnnStatus_t (*SetStream)(cudnnHandle_t, cudaStream_t);
    cudnnStatus_t (*CreateDescriptor)(cudnnBackendDescriptorType_t, cudnnBackendDescriptor_t *);
    cudnnStatus_t (*DestroyDescriptor)(cudnnBackendDescriptor_t);
    cudnnStatus_t (*SetAttribute)(cudnnBackendDescriptor_t, cudnnBackendAttributeName_t, cudnnBackendAttributeType_t,
                                  int64_t, const void *);
    cudnnStatus_t (*GetAttribute)(cudnnBackendDescriptor_t, cudnnBackendAttributeName_t, cudnnBackendAttributeType_t,
                                  int64_t, int64_t *, void *);
    cudnnStatus_t (*Finalize)(cudnnBackendDescriptor_t);
    cudnnStatus_t (*Execute)(cudnnHandle_t, cudnnBackendDescriptor_t, cudnnBackendDescriptor_t);
} cudnn_api;

static cudnn_api api;
static int api_state; /* 0 not tried, 1 loaded, -1 unusable */
static char api_why[160];
static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;

static int load_api(void) {
    pthread_mutex_lock(&api_lock);
    if (!api_state) {
        void *so = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
        if (!so) so = dlopen("libcudnn.so", RTLD_NOW | RTLD_LOCAL);
        api_state = -1;
        if (!so) {
            snprintf(api_why, sizeof api_why, "libcudnn.so.9 not found");
        } else {
#define SYM(field, name) *(void **)&api.field = dlsym(so, name)
            SYM(GetVersion, "cudnnGetVersion");
            SYM(GetErrorString, "cudnnGetErrorString");
            SYM(GetLastErrorString, "cudnnGetLastErrorString");
            SYM(Create, "cudnnCreate");
            SYM(Destroy, "cudnnDestroy");
            SYM(SetStream, "cudnnSetStream");
            SYM(CreateDescriptor, "cudnnBackendCreateDescriptor");
            SYM(DestroyDescriptor, "cudnnBackendDestroyDescriptor");
            SYM(SetAttribute, "cudnnBackendSetAttribute");
            SYM(GetAttribute, "cudnnBackendGetAttribute");
            SYM(Finalize, "cudnnBackendFinalize");
            SYM(Execute, "cudnnBackendExecute");
#undef SYM
            if (!api.GetVersion || !api.GetErrorString || !api.GetLastErrorString || !api.Create || !api.Destroy ||
                !api.SetStream || !api.CreateDescriptor || !api.DestroyDescriptor || !api.SetAttribute ||
                !api.GetAttribute || !api.Finalize || !api.Execute) {
                snprintf(api_why, sizeof api_why, "libcudnn.so.9 lacks the backend API");
            } else if (api.GetVersion() < CUDNN_OLDEST) {
                size_t v = api.GetVersion();
                snprintf(api_why, sizeof api_why, "cuDNN %zu.%zu.%zu is older than 9.6", v / 10000, v / 100 % 100, v % 100);
            } else {
                api_state = 1;
            }
        }
    }
    const int ok = api_state == 1;
    pthread_mutex_unlock(&api_lock);
    return ok;
}

/* ---- per device -------------------------------------------------------------------------------------------------- */

/* What makes two calls share an execution plan (T, S) or a kernel cache (the rest). */
typedef struct sdpa_key {
    int T, S, heads, kv_heads, head_dim, ldkv, window, bottom_right;
} sdpa_key;

typedef struct sdpa_plan {
    sdpa_key key;
    int used, refused;
    uint64_t last_use;
    cudnnBackendDescriptor_t plan;
    int64_t workspace;
    cudnnBackendDescriptor_t *descs; /* every descriptor made for it, destroyed with it */
    int n_descs;
} sdpa_plan;

typedef struct sdpa_structure {
    sdpa_key key; /* T and S zero */
    int used;
    cudnnBackendDescriptor_t cache; /* kernel cache, finalized with the first graph of this structure */
    int finalized;
    int static_only;                /* dynamic shapes failed once: build plans without them */
} sdpa_structure;

struct br_cudnn {
    cudnnHandle_t handle;
    char version[16];
    sdpa_plan plans[PLANS];
    sdpa_structure structures[STRUCTURES];
    uint64_t clock;
    long runs; /* attention calls cuDNN ran */
};

struct br_cudnn *br_cudnn_open(cudaStream_t stream, char *why, size_t why_size) {
    const char *env = getenv("BRAID_CUDNN");
    if (env && !strcmp(env, "0")) {
        snprintf(why, why_size, "turned off by BRAID_CUDNN=0");
        return NULL;
    }
    if (!load_api()) {
        snprintf(why, why_size, "%s", api_why);
        return NULL;
    }
    struct br_cudnn *c = (struct br_cudnn *)calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, why_size, "out of host memory");
        return NULL;
    }
    cudnnStatus_t st = api.Create(&c->handle);
    if (st == CUDNN_STATUS_SUCCESS) st = api.SetStream(c->handle, stream);
    if (st != CUDNN_STATUS_SUCCESS) {
        snprintf(why, why_size, "cudnnCreate failed: %s", api.GetErrorString(st));
        if (c->handle) api.Destroy(c->handle);
        free(c);
        return NULL;
    }
    const size_t v = api.GetVersion();
    snprintf(c->version, sizeof c->version, "%zu.%zu.%zu", v / 10000, v / 100 % 100, v % 100);
    return c;
}

static void plan_drop(sdpa_plan *p) {
    for (int i = p->n_descs - 1; i >= 0; i--) api.DestroyDescriptor(p->descs[i]);
    free(p->descs);
    memset(p, 0, sizeof *p);
}

void br_cudnn_close(struct br_cudnn *c) {
    if (!c) return;
    for (int i = 0; i < PLANS; i++) plan_drop(&c->plans[i]);
    for (int i = 0; i < STRUCTURES; i++)
        if (c->structures[i].cache) api.DestroyDescriptor(c->structures[i].cache);
    api.Destroy(c->handle);
    free(c);
}

const char *br_cudnn_version(const struct br_cudnn *c) { return c ? c->version : ""; }

/* ---- building a graph -------------------------------------------------------------------------------------------- */

typedef struct gbuild {
    sdpa_plan *p;                   /* owns the descriptors */
    int cap_descs;
    cudnnBackendDescriptor_t ops[24];
    int n_ops;
    int64_t next_uid;
    cudnnStatus_t st;               /* first failure */
    char what[96];                  /* where it happened */
} gbuild;

static cudnnBackendDescriptor_t make(gbuild *g, cudnnBackendDescriptorType_t type, const char *what) {
    if (g->st != CUDNN_STATUS_SUCCESS) return NULL;
    if (g->p->n_descs == g->cap_descs) {
        int cap = g->cap_descs ? 2 * g->cap_descs : 64;
        void *grown = realloc(g->p->descs, (size_t)cap * sizeof *g->p->descs);
        if (!grown) {
            g->st = CUDNN_STATUS_ALLOC_FAILED;
            snprintf(g->what, sizeof g->what, "%s (host memory)", what);
            return NULL;
        }
        g->p->descs = (cudnnBackendDescriptor_t *)grown;
        g->cap_descs = cap;
    }
    cudnnBackendDescriptor_t d = NULL;
    g->st = api.CreateDescriptor(type, &d);
    if (g->st != CUDNN_STATUS_SUCCESS) {
        snprintf(g->what, sizeof g->what, "create %s", what);
        return NULL;
    }
    g->p->descs[g->p->n_descs++] = d;
    return d;
}

static void set(gbuild *g, cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                int64_t count, const void *value, const char *what) {
    if (g->st != CUDNN_STATUS_SUCCESS) return;
    g->st = api.SetAttribute(d, name, type, count, value);
    if (g->st != CUDNN_STATUS_SUCCESS) snprintf(g->what, sizeof g->what, "set %s", what);
}

/* Sets a descriptor-valued attribute. */
static void set_ref(gbuild *g, cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name, cudnnBackendDescriptor_t value,
                    const char *what) {
    set(g, d, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &value, what);
}

static void finish(gbuild *g, cudnnBackendDescriptor_t d, const char *what) {
    if (g->st != CUDNN_STATUS_SUCCESS) return;
    g->st = api.Finalize(d);
    if (g->st != CUDNN_STATUS_SUCCESS) snprintf(g->what, sizeof g->what, "finalize %s", what);
}

/* A tensor: uid < 0 takes the next virtual uid. */
static cudnnBackendDescriptor_t tensor(gbuild *g, int64_t uid, cudnnDataType_t dt, const int64_t dims[4],
                                       const int64_t strides[4], bool is_virtual, bool by_value) {
    cudnnBackendDescriptor_t t = make(g, CUDNN_BACKEND_TENSOR_DESCRIPTOR, "tensor");
    if (uid < 0) uid = g->next_uid++;
    const int64_t align = 16;
    set(g, t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt, "tensor type");
    set(g, t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims, "tensor dims");
    set(g, t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides, "tensor strides");
    set(g, t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid, "tensor uid");
    set(g, t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align, "tensor alignment");
    set(g, t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual, "tensor virtual");
    if (by_value) set(g, t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &by_value, "tensor by value");
    finish(g, t, "tensor");
    return t;
}

static cudnnBackendDescriptor_t scalar(gbuild *g, int64_t uid, cudnnDataType_t dt) {
    const int64_t one[4] = {1, 1, 1, 1};
    return tensor(g, uid, dt, one, one, false, true);
}

/* A virtual tensor shaped like dims/strides. */
static cudnnBackendDescriptor_t virt(gbuild *g, cudnnDataType_t dt, const int64_t dims[4], const int64_t strides[4]) {
    return tensor(g, -1, dt, dims, strides, true, false);
}

static void add_op(gbuild *g, cudnnBackendDescriptor_t op, const char *what) {
    finish(g, op, what);
    if (g->st == CUDNN_STATUS_SUCCESS) g->ops[g->n_ops++] = op;
}

/* y = mode(x[, b[, t]]) computed in `prec`; axis >= 0 for GEN_INDEX. */
static void pointwise(gbuild *g, cudnnPointwiseMode_t mode, cudnnDataType_t prec, int64_t axis,
                      cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t t,
                      cudnnBackendDescriptor_t y) {
    cudnnBackendDescriptor_t pw = make(g, CUDNN_BACKEND_POINTWISE_DESCRIPTOR, "pointwise");
    set(g, pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode, "pointwise mode");
    set(g, pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec, "pointwise precision");
    if (axis >= 0) set(g, pw, CUDNN_ATTR_POINTWISE_AXIS, CUDNN_TYPE_INT64, 1, &axis, "pointwise axis");
    finish(g, pw, "pointwise");
    cudnnBackendDescriptor_t op = make(g, CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR, "pointwise op");
    set_ref(g, op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw, "pointwise desc");
    set_ref(g, op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x, "pointwise x");
    if (b) set_ref(g, op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, b, "pointwise b");
    if (t) set_ref(g, op, CUDNN_ATTR_OPERATION_POINTWISE_TDESC, t, "pointwise t");
    set_ref(g, op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y, "pointwise y");
    add_op(g, op, "pointwise op");
}

static void reduction(gbuild *g, cudnnReduceTensorOp_t how, cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t y) {
    const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
    cudnnBackendDescriptor_t r = make(g, CUDNN_BACKEND_REDUCTION_DESCRIPTOR, "reduction");
    set(g, r, CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &how, "reduction operator");
    set(g, r, CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &f32, "reduction precision");
    finish(g, r, "reduction");
    cudnnBackendDescriptor_t op = make(g, CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR, "reduction op");
    set_ref(g, op, CUDNN_ATTR_OPERATION_REDUCTION_DESC, r, "reduction desc");
    set_ref(g, op, CUDNN_ATTR_OPERATION_REDUCTION_XDESC, x, "reduction x");
    set_ref(g, op, CUDNN_ATTR_OPERATION_REDUCTION_YDESC, y, "reduction y");
    add_op(g, op, "reduction op");
}

static void matmul(gbuild *g, cudnnBackendDescriptor_t a, cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t c) {
    const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
    cudnnBackendDescriptor_t mm = make(g, CUDNN_BACKEND_MATMUL_DESCRIPTOR, "matmul");
    set(g, mm, CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &f32, "matmul precision");
    finish(g, mm, "matmul");
    cudnnBackendDescriptor_t op = make(g, CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR, "matmul op");
    set_ref(g, op, CUDNN_ATTR_OPERATION_MATMUL_DESC, mm, "matmul desc");
    set_ref(g, op, CUDNN_ATTR_OPERATION_MATMUL_ADESC, a, "matmul a");
    set_ref(g, op, CUDNN_ATTR_OPERATION_MATMUL_BDESC, b, "matmul b");
    set_ref(g, op, CUDNN_ATTR_OPERATION_MATMUL_CDESC, c, "matmul c");
    add_op(g, op, "matmul op");
}

enum { UID_Q = 1, UID_K, UID_V, UID_O, UID_SCALE, UID_NEG_INF, UID_S, UID_T, UID_LEFT };

/* The operations of the SDPA graph for key k (see the header comment). */
static void build_ops(gbuild *g, const sdpa_key *k) {
    const int64_t T = k->T, S = k->S, H = k->heads, KVH = k->kv_heads, hd = k->head_dim, row = k->ldkv;
    const cudnnDataType_t bf16 = CUDNN_DATA_BFLOAT16, f32 = CUDNN_DATA_FLOAT, i32 = CUDNN_DATA_INT32,
                          boolean = CUDNN_DATA_BOOLEAN;
    const int64_t q_dims[4] = {1, H, T, hd}, q_str[4] = {T * H * hd, hd, H * hd, 1};
    const int64_t kt_dims[4] = {1, KVH, hd, S}, kt_str[4] = {S * row, hd, 1, row};
    const int64_t v_dims[4] = {1, KVH, S, hd}, v_str[4] = {S * row, hd, row, 1};
    const int64_t s_dims[4] = {1, H, T, S}, s_str[4] = {H * T * S, T * S, S, 1};
    const int64_t r_dims[4] = {1, H, T, 1}, r_str[4] = {H * T, T, 1, 1};
    g->next_uid = 100;
    cudnnBackendDescriptor_t Q = tensor(g, UID_Q, bf16, q_dims, q_str, false, false);
    cudnnBackendDescriptor_t Kt = tensor(g, UID_K, bf16, kt_dims, kt_str, false, false);
    cudnnBackendDescriptor_t V = tensor(g, UID_V, bf16, v_dims, v_str, false, false);
    cudnnBackendDescriptor_t O = tensor(g, UID_O, bf16, q_dims, q_str, false, false);
    cudnnBackendDescriptor_t scale = scalar(g, UID_SCALE, f32), neg_inf = scalar(g, UID_NEG_INF, f32);
    /* scores, scaled */
    cudnnBackendDescriptor_t s0 = virt(g, f32, s_dims, s_str), s1 = virt(g, f32, s_dims, s_str);
    matmul(g, Q, Kt, s0);
    pointwise(g, CUDNN_POINTWISE_MUL, f32, -1, s0, scale, NULL, s1);
    /* causal: row (+ S - T) >= col */
    cudnnBackendDescriptor_t row_i = virt(g, i32, s_dims, s_str), col_i = virt(g, i32, s_dims, s_str);
    pointwise(g, CUDNN_POINTWISE_GEN_INDEX, f32, 2, s1, NULL, NULL, row_i);
    pointwise(g, CUDNN_POINTWISE_GEN_INDEX, f32, 3, s1, NULL, NULL, col_i);
    if (k->bottom_right) {
        cudnnBackendDescriptor_t s_len = scalar(g, UID_S, i32), t_len = scalar(g, UID_T, i32);
        cudnnBackendDescriptor_t plus = virt(g, i32, s_dims, s_str), shifted = virt(g, i32, s_dims, s_str);
        pointwise(g, CUDNN_POINTWISE_ADD, i32, -1, row_i, s_len, NULL, plus);
        pointwise(g, CUDNN_POINTWISE_SUB, i32, -1, plus, t_len, NULL, shifted);
        row_i = shifted;
    }
    cudnnBackendDescriptor_t keep = virt(g, boolean, s_dims, s_str), s2 = virt(g, f32, s_dims, s_str);
    pointwise(g, CUDNN_POINTWISE_CMP_GE, boolean, -1, row_i, col_i, NULL, keep);
    pointwise(g, CUDNN_POINTWISE_BINARY_SELECT, f32, -1, s1, neg_inf, keep, s2);
    if (k->window) { /* col + (W - (S - T)) > row */
        cudnnBackendDescriptor_t left = scalar(g, UID_LEFT, f32);
        cudnnBackendDescriptor_t row2 = virt(g, i32, s_dims, s_str), col2 = virt(g, i32, s_dims, s_str);
        cudnnBackendDescriptor_t colw = virt(g, f32, s_dims, s_str), keep2 = virt(g, boolean, s_dims, s_str);
        cudnnBackendDescriptor_t s3 = virt(g, f32, s_dims, s_str);
        pointwise(g, CUDNN_POINTWISE_GEN_INDEX, f32, 2, s2, NULL, NULL, row2);
        pointwise(g, CUDNN_POINTWISE_GEN_INDEX, f32, 3, s2, NULL, NULL, col2);
        pointwise(g, CUDNN_POINTWISE_ADD, f32, -1, col2, left, NULL, colw);
        pointwise(g, CUDNN_POINTWISE_CMP_GT, boolean, -1, colw, row2, NULL, keep2);
        pointwise(g, CUDNN_POINTWISE_BINARY_SELECT, f32, -1, s2, neg_inf, keep2, s3);
        s2 = s3;
    }
    /* softmax with its (virtual) statistics */
    cudnnBackendDescriptor_t mx = virt(g, f32, r_dims, r_str), sub = virt(g, f32, s_dims, s_str);
    cudnnBackendDescriptor_t ex = virt(g, f32, s_dims, s_str), sum = virt(g, f32, r_dims, r_str);
    cudnnBackendDescriptor_t lg = virt(g, f32, r_dims, r_str), stats = virt(g, f32, r_dims, r_str);
    cudnnBackendDescriptor_t P = virt(g, bf16, s_dims, s_str);
    reduction(g, CUDNN_REDUCE_TENSOR_MAX, s2, mx);
    pointwise(g, CUDNN_POINTWISE_SUB, f32, -1, s2, mx, NULL, sub);
    pointwise(g, CUDNN_POINTWISE_EXP, f32, -1, sub, NULL, NULL, ex);
    reduction(g, CUDNN_REDUCE_TENSOR_ADD, ex, sum);
    pointwise(g, CUDNN_POINTWISE_LOG, f32, -1, sum, NULL, NULL, lg);
    pointwise(g, CUDNN_POINTWISE_ADD, f32, -1, mx, lg, NULL, stats);
    pointwise(g, CUDNN_POINTWISE_DIV, f32, -1, ex, sum, NULL, P);
    matmul(g, P, V, O);
}

/* The first execution plan cuDNN's heuristics offer that finalizes, or failure in g->st. */
static void build_plan(gbuild *g, cudnnHandle_t handle, sdpa_structure *sc, int dynamic) {
    cudnnBackendDescriptor_t graph = make(g, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, "operation graph");
    set(g, graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle, "graph handle");
    set(g, graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, g->n_ops, g->ops, "graph ops");
    if (dynamic) {
        const bool on = true;
        set(g, graph, CUDNN_ATTR_OPERATIONGRAPH_IS_DYNAMIC_SHAPE_ENABLED, CUDNN_TYPE_BOOLEAN, 1, &on, "dynamic shapes");
    }
    finish(g, graph, "operation graph");
    if (dynamic && g->st == CUDNN_STATUS_SUCCESS && !sc->finalized) {
        g->st = api.CreateDescriptor(CUDNN_BACKEND_KERNEL_CACHE_DESCRIPTOR, &sc->cache);
        if (g->st == CUDNN_STATUS_SUCCESS)
            g->st = api.SetAttribute(sc->cache, CUDNN_ATTR_KERNEL_CACHE_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                     &graph);
        if (g->st == CUDNN_STATUS_SUCCESS) g->st = api.Finalize(sc->cache);
        if (g->st != CUDNN_STATUS_SUCCESS) {
            snprintf(g->what, sizeof g->what, "kernel cache");
            if (sc->cache) api.DestroyDescriptor(sc->cache);
            sc->cache = NULL;
            return;
        }
        sc->finalized = 1;
    }
    const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
    cudnnBackendDescriptor_t heur = make(g, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, "heuristics");
    set(g, heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph, "heuristics graph");
    set(g, heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode, "heuristics mode");
    finish(g, heur, "heuristics");
    int64_t n = 0;
    if (g->st == CUDNN_STATUS_SUCCESS) g->st = api.GetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, NULL);
    if (g->st != CUDNN_STATUS_SUCCESS || n <= 0) {
        if (g->st == CUDNN_STATUS_SUCCESS) g->st = CUDNN_STATUS_NOT_SUPPORTED;
        snprintf(g->what, sizeof g->what, "heuristics offered no engine");
        return;
    }
    if (n > 16) n = 16;
    cudnnBackendDescriptor_t cfgs[16];
    for (int i = 0; i < n; i++) cfgs[i] = make(g, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, "engine config");
    int64_t got = 0;
    if (g->st == CUDNN_STATUS_SUCCESS)
        g->st = api.GetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, n, &got, cfgs);
    if (g->st != CUDNN_STATUS_SUCCESS) {
        snprintf(g->what, sizeof g->what, "heuristics results");
        return;
    }
    cudnnStatus_t last = CUDNN_STATUS_NOT_SUPPORTED;
    for (int i = 0; i < got; i++) {
        cudnnBackendDescriptor_t plan = make(g, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, "plan");
        set(g, plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle, "plan handle");
        set(g, plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfgs[i], "plan config");
        if (dynamic)
            set(g, plan, CUDNN_ATTR_EXECUTION_PLAN_KERNEL_CACHE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &sc->cache,
                "plan kernel cache");
        if (g->st != CUDNN_STATUS_SUCCESS) return;
        last = api.Finalize(plan);
        if (last != CUDNN_STATUS_SUCCESS) continue; /* this engine does not take it: try the next */
        int64_t ws = 0, cnt = 0;
        g->st = api.GetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &cnt, &ws);
        if (g->st != CUDNN_STATUS_SUCCESS) {
            snprintf(g->what, sizeof g->what, "plan workspace size");
            return;
        }
        g->p->plan = plan;
        g->p->workspace = ws;
        return;
    }
    g->st = last;
    snprintf(g->what, sizeof g->what, "no engine finalized a plan (of %lld offered)", (long long)got);
}

static int key_equal(const sdpa_key *a, const sdpa_key *b) { return !memcmp(a, b, sizeof *a); }

static sdpa_structure *structure_for(struct br_cudnn *c, const sdpa_key *k) {
    sdpa_key sk = *k;
    sk.T = sk.S = 0;
    for (int i = 0; i < STRUCTURES; i++)
        if (c->structures[i].used && key_equal(&c->structures[i].key, &sk)) return &c->structures[i];
    for (int i = 0; i < STRUCTURES; i++)
        if (!c->structures[i].used) {
            c->structures[i].used = 1;
            c->structures[i].key = sk;
            return &c->structures[i];
        }
    return NULL; /* full: build without a kernel cache */
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Empties plan slot p and claims it for key k. */
static void plan_claim(struct br_cudnn *c, sdpa_plan *p, const sdpa_key *k) {
    plan_drop(p);
    p->used = 1;
    p->key = *k;
    p->last_use = c->clock;
}

/* Builds key k's graph and plan into slot p afresh (with dynamic shapes and sc's kernel cache, or without). */
static gbuild build(struct br_cudnn *c, sdpa_plan *p, const sdpa_key *k, sdpa_structure *sc, int dynamic) {
    plan_claim(c, p, k);
    gbuild g = {}; /* st: CUDNN_STATUS_SUCCESS */
    g.p = p;
    build_ops(&g, k);
    build_plan(&g, c->handle, sc, dynamic);
    return g;
}

/* The plan for k: cached, or built now (NULL when cuDNN refuses the shape; said once). */
static sdpa_plan *plan_for(struct br_cudnn *c, const sdpa_key *k) {
    sdpa_plan *slot = &c->plans[0];
    for (int i = 0; i < PLANS; i++) {
        sdpa_plan *p = &c->plans[i];
        if (p->used && key_equal(&p->key, k)) {
            p->last_use = ++c->clock;
            return p->refused ? NULL : p;
        }
        if (!p->used || p->last_use < slot->last_use) slot = p;
    }
    ++c->clock;
    const double t0 = now_ms();
    sdpa_structure *sc = structure_for(c, k);
    const int dynamic = sc && !sc->static_only;
    gbuild g = build(c, slot, k, sc, dynamic);
    if (dynamic && g.st != CUDNN_STATUS_SUCCESS) { /* again without dynamic shapes, for this structure from now on */
        sc->static_only = 1;
        g = build(c, slot, k, sc, 0);
    }
    if (g.st != CUDNN_STATUS_SUCCESS) {
        char detail[256] = "";
        api.GetLastErrorString(detail, sizeof detail);
        br_notice("cuDNN %s does not take attention with %d heads, %d kv heads, head_dim %d%s%s (%s: %s%s%s); braid's "
                  "own kernel runs it", c->version, k->heads, k->kv_heads, k->head_dim,
                  k->window ? ", a sliding window" : "", k->bottom_right ? " after cached keys" : "", g.what,
                  api.GetErrorString(g.st), detail[0] ? "; " : "", detail);
        plan_claim(c, slot, k);
        slot->refused = 1;
        return NULL;
    }
    if (getenv("BRAID_CUDNN_DEBUG"))
        br_notice("cuDNN attention plan T=%d S=%d heads %d/%d head_dim %d%s built in %.1f ms, workspace %lld bytes",
                  k->T, k->S, k->heads, k->kv_heads, k->head_dim, k->window ? " window" : "", now_ms() - t0,
                  (long long)slot->workspace);
    return slot;
}

/* ---- running ----------------------------------------------------------------------------------------------------- */

static size_t round_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

int br_cudnn_attention(const br_device *dev, const br_attn_args *a) {
    struct br_cudnn *c = dev->cuda->cudnn;
    if (!c) {
        if (a->kv_dtype == BR_BF16)
            br_notice("cuDNN is not usable (%s): prefill attention runs on braid's own kernel", dev->cuda->cudnn_why);
        return 0;
    }
    /* what the fused kernels take: bf16 keys, aligned rows, the last query seeing the last key */
    if (a->kv_dtype != BR_BF16 || a->head_dim % 8 || a->head_dim > 256 || a->ldkv % 8 || a->S < a->T ||
        a->q_pos0 - a->k_pos0 != (int64_t)a->S - a->T || a->heads % a->kv_heads)
        return 0;
    const sdpa_key key = {a->T, a->S, a->heads, a->kv_heads, a->head_dim, a->ldkv, a->window, a->S > a->T};
    sdpa_plan *p = plan_for(c, &key);
    if (!p) return 0;
    const int width = a->heads * a->head_dim;
    const size_t qbytes = round_up((size_t)a->T * width * sizeof(__nv_bfloat16));
    char *ws = (char *)br_cuda_workspace(dev, 2 * qbytes + round_up((size_t)p->workspace));
    if (!ws) return 1; /* the failure is noted on the device: the pass reports it */
    __nv_bfloat16 *qb = (__nv_bfloat16 *)ws, *ob = (__nv_bfloat16 *)(ws + qbytes); /* [T, H*hd] each */
    br_cuda_convert_rows(dev, a->T, width, a->q, a->ldq, qb, width);
    float scale = a->scale, neg_inf = -INFINITY, left = (float)a->window - (float)(a->S - a->T);
    int32_t s_len = a->S, t_len = a->T;
    int64_t uids[9] = {UID_Q, UID_K, UID_V, UID_O, UID_SCALE, UID_NEG_INF};
    void *ptrs[9] = {qb, (void *)a->k, (void *)a->v, ob, &scale, &neg_inf};
    int64_t nv = 6;
    if (key.bottom_right) uids[nv] = UID_S, ptrs[nv++] = &s_len, uids[nv] = UID_T, ptrs[nv++] = &t_len;
    if (key.window) uids[nv] = UID_LEFT, ptrs[nv++] = &left;
    void *workspace = ws + 2 * qbytes;
    cudnnBackendDescriptor_t pack = NULL;
    cudnnStatus_t st = api.CreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &pack);
    if (st == CUDNN_STATUS_SUCCESS)
        st = api.SetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, nv, uids);
    if (st == CUDNN_STATUS_SUCCESS)
        st = api.SetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, nv, ptrs);
    if (st == CUDNN_STATUS_SUCCESS)
        st = api.SetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
    if (st == CUDNN_STATUS_SUCCESS) st = api.Finalize(pack);
    if (st == CUDNN_STATUS_SUCCESS) st = api.Execute(c->handle, p->plan, pack);
    if (pack) api.DestroyDescriptor(pack);
    if (st != CUDNN_STATUS_SUCCESS) {
        char detail[256] = "";
        api.GetLastErrorString(detail, sizeof detail);
        br_notice("cuDNN %s failed to run attention (%d x %d rows): %s%s%s; braid's own kernel runs it from now on",
                  c->version, a->T, a->S, api.GetErrorString(st), detail[0] ? ": " : "", detail);
        p->refused = 1;
        return 0;
    }
    br_cuda_convert_rows(dev, a->T, width, (const __nv_bfloat16 *)ob, width, a->o, a->ldo);
    c->runs++;
    return 1;
}

extern "C" long br_cuda_cudnn_attention_runs(const br_device *dev) {
    return dev->cuda->cudnn ? dev->cuda->cudnn->runs : -1;
}
