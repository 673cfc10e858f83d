/*
 * cudnn_attention.h - prefill attention on cuDNN's fused flash attention.
 *
 * cuDNN is loaded at run time (dlopen of libcudnn.so.9) when a GPU is
 * opened, so braid runs where it is missing; calls then take braid's own
 * kernel, and a notice says so once.  The graph is cuDNN's SDPA pattern
 * written with the backend API (C):
 *   S = Q K^T * scale -> causal mask (bottom-right aligned when the keys
 *   run past the queries: a chat turn over its cache) -> [window mask] ->
 *   softmax (max, exp, sum; the statistics stay virtual) -> P (bf16) -> O = P V
 * with Q, K, V, O in bf16 and f32 accumulation.  Execution plans are kept
 * per shape (T, S, heads, kv heads, head_dim, row stride, window) and built
 * with dynamic shapes and a kernel cache, so a new length reuses the
 * compiled kernel.  Needs cuDNN 9.6 or newer (bottom-right masks at any
 * length); nothing newer than 9.14 is used.
 */
#ifndef BR_KERNELS_CUDA_CUDNN_ATTENTION_H
#define BR_KERNELS_CUDA_CUDNN_ATTENTION_H

#include <cuda_runtime.h>
#include <stddef.h>

extern "C" {
#include "kernels/attention.h"
}

struct br_cudnn;

/* cuDNN for one device context (its stream); NULL with `why` filled when
 * the library is missing, too old or fails to start. */
struct br_cudnn *br_cudnn_open(cudaStream_t stream, char *why, size_t why_size);
void br_cudnn_close(struct br_cudnn *c); /* NULL-safe */
/* "9.14.0". */
const char *br_cudnn_version(const struct br_cudnn *c);

/* Runs the attention of `a` on cuDNN and returns 1, or returns 0 when cuDNN
 * is not there or does not take the call (the caller runs its own kernel). */
int br_cudnn_attention(const br_device *dev, const br_attn_args *a);

#endif /* BR_KERNELS_CUDA_CUDNN_ATTENTION_H */
