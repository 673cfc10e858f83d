/*
 * moe.h - mixture-of-experts routing and grouped expert products, on the
 * model's device (no routing decision goes through the host, so decode
 * steps of MoE models are recorded and replayed like the rest).
 *
 *   moe_route    per token t (router logits r [n, E]):
 *                  s = softmax(r) (in double) or sigmoid(r) (in double)
 *                  pick = s + selection_bias (f32)
 *                  groups > 1: keep the topk_groups groups whose best two
 *                  picks sum highest; the rest cannot be picked
 *                  top_k picks by value, ties to the lower expert index
 *                  w_k = s[pick_k] (/ sum_k s[pick_k] if normalize) * route_scale
 *                -> ids [n, K] int32, wts [n, K] f32
 *   moe_sort     groups the n*K (token, pick) pairs by expert, keeping pair
 *                order within an expert: the rows of expert e are
 *                offsets[e] .. offsets[e+1]-1; rows_token [n*K] names each
 *                row's token and row_of [n*K] each pair's row
 *   moe_linear   y[r, :] = x[r, :] W_e^T for every row r of expert e
 *                (W [E, out, in], f32 or bf16)
 *   moe_combine  y[t, :] = sum_k wts[t, k] src[row_of[t*K + k], :]   (in k order)
 * Index arrays are int32 on the same device as the data.
 */
#ifndef BR_KERNELS_MOE_H
#define BR_KERNELS_MOE_H

#include <stdint.h>

#include "kernels/device.h"

typedef enum br_moe_router { BR_MOE_SOFTMAX = 0, BR_MOE_SIGMOID = 1 } br_moe_router;

typedef struct br_moe_route_args {
    int n, experts, top_k;
    const float *logits;     /* [n, experts] */
    br_moe_router router;
    const float *sel_bias;   /* [experts] or NULL */
    int groups, topk_groups;
    int normalize;
    float route_scale;
    int32_t *ids;            /* [n, top_k] */
    float *wts;              /* [n, top_k] */
} br_moe_route_args;

typedef struct br_moe_sort_args {
    int pairs, experts, top_k; /* pairs = n * top_k */
    const int32_t *ids;        /* [pairs] */
    int32_t *offsets;          /* [experts + 1] */
    int32_t *rows_token;       /* [pairs] */
    int32_t *row_of;           /* [pairs] */
} br_moe_sort_args;

typedef struct br_moe_linear_args {
    int rows, in, out, experts;
    const int32_t *offsets;    /* [experts + 1] from moe_sort */
    const float *x; int ldx;   /* [rows, in] */
    br_mat w;                  /* [experts, out, in] */
    float *y; int ldy;         /* [rows, out] */
} br_moe_linear_args;

void br_cpu_moe_route(const br_device *dev, const br_moe_route_args *a);
void br_cpu_moe_sort(const br_device *dev, const br_moe_sort_args *a);
void br_cpu_moe_linear(const br_device *dev, const br_moe_linear_args *a);
void br_cpu_moe_combine(const br_device *dev, int n, int top_k, int cols, const int32_t *row_of, const float *wts,
                        const float *src, int lds, float *y, int ldy);

#ifdef BRAID_HAVE_CUDA
void br_cuda_moe_route(const br_device *dev, const br_moe_route_args *a);
void br_cuda_moe_sort(const br_device *dev, const br_moe_sort_args *a);
/* Up to BR_CUDA_MOE_DEVICE_ROWS rows run on braid's grouped kernel with no
 * host synchronisation (decode steps, short prompts); more rows read the
 * offsets on the host and run cuBLAS per expert (prefill: not recordable). */
void br_cuda_moe_linear(const br_device *dev, const br_moe_linear_args *a);
void br_cuda_moe_combine(const br_device *dev, int n, int top_k, int cols, const int32_t *row_of, const float *wts,
                         const float *src, int lds, float *y, int ldy);
#endif

/* The CUDA router keeps a token's scores in shared memory: experts up to this;
 * one lane of its warp finishes each pick's weight: top_k up to this. */
#define BR_CUDA_MOE_MAX_EXPERTS 512
#define BR_CUDA_MOE_MAX_TOP_K 32
#define BR_CUDA_MOE_DEVICE_ROWS 1024

#endif /* BR_KERNELS_MOE_H */
