/*
 * attention.h - rotary embeddings, KV caches and causal softmax attention.
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
 * Queries and outputs are f32; keys and values are read in the cache's
 * element type (f32, or bf16 on a GPU in bf16 mode) and math is f32.
 */
#ifndef BR_KERNELS_ATTENTION_H
#define BR_KERNELS_ATTENTION_H

#include "kernels/device.h"

#include <stdint.h>

typedef enum br_rope_style { BR_ROPE_NONE = 0, BR_ROPE_NEOX, BR_ROPE_GPTJ, BR_ROPE_STYLE_COUNT } br_rope_style;

/* x [n, ldx] holds heads*head_dim per row; pos [n] absolute positions. */
void br_cpu_rope(const br_device *dev, int n, int heads, int head_dim, int rot_dim, float theta, br_rope_style style, const int64_t *pos,
                 float *x, int ldx);

/* One attention invocation's KV cache for every slot of a state pool:
 * k, v [n_slots, cap, row] of `dtype`, row = kv_heads * head_dim.  The row of
 * position p of slot s sits at s * cap + p % cap (a ring when cap is a
 * sliding window, a plain array otherwise). */
typedef struct br_kv_cache {
    void *k, *v;
    br_dtype dtype;
    int64_t cap;
    int row;
} br_kv_cache;

/* Writes `rows` new f32 rows k, v [rows, ld] of slot `slot` at positions pos0 .. pos0+rows-1. */
void br_cpu_kv_store(const br_device *dev, const br_kv_cache *c, int slot, int64_t pos0, int rows, const float *k,
                     const float *v, int ld);
/* Copies slot `slot`'s rows of positions pos0 .. pos0+rows-1 into kk, vv [rows, row] (the cache's dtype). */
void br_cpu_kv_gather(const br_device *dev, const br_kv_cache *c, int slot, int64_t pos0, int rows, void *kk, void *vv);

typedef struct br_attn_args {
    int T, S, heads, kv_heads, head_dim;
    const float *q; int ldq;        /* [T, heads*hd] f32 */
    const void *k, *v; int ldkv;    /* [S, kv_heads*hd] of kv_dtype */
    br_dtype kv_dtype;
    int64_t q_pos0, k_pos0;
    int window;
    float scale;
    float *o; int ldo;              /* [T, heads*hd] f32 */
    float *work;                    /* br_attn_work_floats(args) floats */
} br_attn_args;

long br_attn_work_floats(const br_attn_args *a);
void br_cpu_attention(const br_device *dev, const br_attn_args *a);

/* Decoding: each of `batch` sequences adds one token at absolute position
 * pos[b] in cache slot slots[b].  kv_append writes the new k, v rows there,
 * then attention_decode attends q_b over positions (pos[b] - window, pos[b]].
 * slots and pos live on the device, so a recorded step replays unchanged.
 * The CUDA decode splits long caches across blocks (flash-decoding) and
 * keeps the splits' partial results in `work`. */
typedef struct br_attn_decode_args {
    int batch, heads, kv_heads, head_dim;
    const float *q; int ldq;              /* [batch, heads*hd] */
    const float *k_new, *v_new; int ldkv; /* [batch, kv_heads*hd] */
    br_kv_cache cache;
    const int32_t *slots;                 /* [batch] */
    const int64_t *pos;                   /* [batch] */
    int window;
    float scale;
    float *o; int ldo;                    /* [batch, heads*hd] */
    float *work;                          /* attention_decode_work_floats(dev, args) floats */
} br_attn_decode_args;

void br_cpu_kv_append(const br_device *dev, const br_attn_decode_args *a);
/* A decode step's q and new k rotated by their positions pos[b] (in place),
 * then kv_append: one launch on a GPU. */
typedef struct br_rope_args {
    int rot_dim;
    float theta;
    br_rope_style style;
} br_rope_args;
void br_cpu_rope_kv_append(const br_device *dev, const br_attn_decode_args *a, const br_rope_args *r);
long br_cpu_attention_decode_work_floats(const br_device *dev, const br_attn_decode_args *a);
void br_cpu_attention_decode(const br_device *dev, const br_attn_decode_args *a);

#ifdef BRAID_HAVE_CUDA
void br_cuda_rope(const br_device *dev, int n, int heads, int head_dim, int rot_dim, float theta, br_rope_style style, const int64_t *pos,
                 float *x, int ldx);
void br_cuda_kv_store(const br_device *dev, const br_kv_cache *c, int slot, int64_t pos0, int rows, const float *k,
                      const float *v, int ld);
void br_cuda_kv_gather(const br_device *dev, const br_kv_cache *c, int slot, int64_t pos0, int rows, void *kk, void *vv);
/* Runs on cuDNN's fused flash attention when the runtime has it and takes
 * the shape (bf16 keys, head_dim a multiple of 8 up to 256, the last query
 * seeing the last key), else on braid's own kernel. */
void br_cuda_attention(const br_device *dev, const br_attn_args *a);
/* Prefill attention calls cuDNN ran on this device so far; -1 when cuDNN is not loaded (BRAID_CUDNN=0 turns it off). */
long br_cuda_cudnn_attention_runs(const br_device *dev);
void br_cuda_kv_append(const br_device *dev, const br_attn_decode_args *a);
void br_cuda_rope_kv_append(const br_device *dev, const br_attn_decode_args *a, const br_rope_args *r);
long br_cuda_attention_decode_work_floats(const br_device *dev, const br_attn_decode_args *a);
void br_cuda_attention_decode(const br_device *dev, const br_attn_decode_args *a);
#endif

/* The CUDA attention kernels handle head_dim up to this. */
#define BR_CUDA_ATTN_MAX_HEAD_DIM 256

#endif /* BR_KERNELS_ATTENTION_H */
