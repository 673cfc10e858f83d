/*
 * attention.h - rotary embeddings and causal softmax attention.
 *
 * RoPE rotates the first rot_dim dims of each head by angle pos * f_i with
 * f_i = theta^(-2i / rot_dim), computed in f32 as transformers does.  Style
 * NEOX pairs dim i with i + rot_dim/2 ("rotate_half"); GPTJ pairs 2i, 2i+1.
 *
 * Attention for one sequence: query row i sits at absolute position
 * q_pos0 + i, key row j at k_pos0 + j; row i sees keys with
 * pos_k <= pos_q and, with a window W > 0, pos_q - pos_k < W.  GQA: query
 * head h reads KV head h / (heads / kv_heads).
 *   o_i = softmax_j(scale * q_i . k_j) v_j
 */
#ifndef BR_KERNELS_ATTENTION_H
#define BR_KERNELS_ATTENTION_H

#include "kernels/device.h"

#include <stdint.h>

typedef enum br_rope_style { BR_ROPE_NONE = 0, BR_ROPE_NEOX, BR_ROPE_GPTJ, BR_ROPE_STYLE_COUNT } br_rope_style;

/* x [n, ldx] holds heads*head_dim per row; pos [n] absolute positions. */
void br_cpu_rope(const br_device *dev, int n, int heads, int head_dim, int rot_dim, float theta, br_rope_style style, const int64_t *pos,
                 float *x, int ldx);

typedef struct br_attn_args {
    int T, S, heads, kv_heads, head_dim;
    const float *q; int ldq;      /* [T, heads*hd] */
    const float *k; int ldk;      /* [S, kv_heads*hd] */
    const float *v; int ldv;      /* [S, kv_heads*hd] */
    int64_t q_pos0, k_pos0;
    int window;
    float scale;
    float *o; int ldo;            /* [T, heads*hd] */
    float *work;                  /* br_attn_work_floats(args) floats */
} br_attn_args;

long br_attn_work_floats(const br_attn_args *a);
void br_cpu_attention(const br_device *dev, const br_attn_args *a);

/* Decoding: each of `batch` sequences adds one token at absolute position
 * pos[b].  Its cache (slot slots[b] of the pools) keeps the row of position
 * p at p % cap; kv_append writes the new k, v rows there, then
 * attention_decode attends q_b over positions (pos[b] - window, pos[b]].
 * slots and pos live on the device, so a recorded step replays unchanged. */
typedef struct br_attn_decode_args {
    int batch, heads, kv_heads, head_dim;
    const float *q; int ldq;              /* [batch, heads*hd] */
    const float *k_new, *v_new; int ldkv; /* [batch, kv_heads*hd] */
    float *k_cache, *v_cache;             /* pools [n_slots, cap, kv_heads*hd] */
    int64_t cap;
    const int32_t *slots;                 /* [batch] */
    const int64_t *pos;                   /* [batch] */
    int window;
    float scale;
    float *o; int ldo;                    /* [batch, heads*hd] */
} br_attn_decode_args;

void br_cpu_kv_append(const br_device *dev, const br_attn_decode_args *a);
void br_cpu_attention_decode(const br_device *dev, const br_attn_decode_args *a);

#ifdef BRAID_HAVE_CUDA
void br_cuda_rope(const br_device *dev, int n, int heads, int head_dim, int rot_dim, float theta, br_rope_style style, const int64_t *pos,
                 float *x, int ldx);
void br_cuda_attention(const br_device *dev, const br_attn_args *a);
void br_cuda_kv_append(const br_device *dev, const br_attn_decode_args *a);
void br_cuda_attention_decode(const br_device *dev, const br_attn_decode_args *a);
#endif

/* The CUDA attention gives a query row's head dims two per thread of 128: head_dim up to this. */
#define BR_CUDA_ATTN_MAX_HEAD_DIM 256

#endif /* BR_KERNELS_ATTENTION_H */
