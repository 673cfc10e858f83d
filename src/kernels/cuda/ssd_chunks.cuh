/*
 * ssd_chunks.cuh - what the two kinds of SSD chunk kernels share (ssd.cu:
 * exact f32 FMAs; ssd_mma.cu: bf16 products on the tensor cores): dt after
 * bias, softplus and clamp, and the layout of the prefill work buffer.
 *
 * Work (floats, one after the other, each part 256-byte aligned), for chunks
 * of q tokens, nc of them:
 *   dts, cum  [batch, heads, nc, q]       dt and its within-chunk sum of dt A
 *   CB        [batch, nc, groups, q, q]   C B^T of each chunk (bf16 in the tensor-core kind)
 *   S         [batch, nc, heads, P, N]    chunk states, then entering states
 * and for the tensor-core kind, bf16 copies of its operands:
 *   xb        [n_tok, heads * P]          x
 *   Bb, Cb    [n_tok, groups * N]         B, C
 *   Sb        [batch, nc, heads, P, N]    the entering states
 */
#ifndef BR_KERNELS_CUDA_SSD_CHUNKS_CUH
#define BR_KERNELS_CUDA_SSD_CHUNKS_CUH

#include <cuda_bf16.h>

#include "cuda_common.cuh"

extern "C" {
#include "kernels/ssd.h"
}

#define SSD_EXACT_CHUNK 64  /* f32 kind: chunk length = its tile edge */
#define SSD_MMA_CHUNK 256   /* tensor-core kind: four 64-token tiles */
#define SSD_MMA_ALIGN 8     /* the tensor-core kind copies 16-byte pieces: head_dim and d_state multiples of 8 */

__device__ __forceinline__ float ssd_dt(const br_ssd_args &a, long row, int h) {
    float dt = br_dev_softplus(a.dt[row * a.lddt + h] + (a.dt_bias ? a.dt_bias[h] : 0.0f));
    return fminf(fmaxf(dt, a.dt_min), a.dt_max);
}

struct ssd_work {
    bool mma;                      /* the tensor-core kind */
    int q, nc;                     /* chunk length, chunks per sequence */
    long dts, cum, CB, S;          /* offsets into args.work (floats) */
    long xb, Bb, Cb, Sb;           /* the same, of the bf16 copies (tensor-core kind) */
    long total;                    /* floats in all */
};

static inline ssd_work ssd_work_layout(const br_ssd_args *a) {
    ssd_work w;
    w.mma = a->bf16_products && a->head_dim % SSD_MMA_ALIGN == 0 && a->d_state % SSD_MMA_ALIGN == 0;
    w.q = w.mma ? SSD_MMA_CHUNK : SSD_EXACT_CHUNK;
    w.nc = (a->T + w.q - 1) / w.q;
    const long n_tok = (long)a->batch * a->T, st = (long)a->batch * w.nc * a->heads * a->head_dim * a->d_state;
    const long dq = (long)a->batch * a->heads * w.nc * w.q, cb = (long)a->batch * w.nc * a->groups * w.q * w.q;
    long at = 0;
    const auto part = [&at](long floats) {
        const long o = at;
        at += (floats + 63) / 64 * 64;
        return o;
    };
    w.dts = part(dq), w.cum = part(dq), w.CB = part(w.mma ? (cb + 1) / 2 : cb), w.S = part(st); /* CB: bf16 or f32 */
    w.xb = w.Bb = w.Cb = w.Sb = 0;
    if (w.mma) {
        const long gn = (long)a->groups * a->d_state;
        w.xb = part((n_tok * a->heads * a->head_dim + 1) / 2), w.Bb = part((n_tok * gn + 1) / 2);
        w.Cb = part((n_tok * gn + 1) / 2), w.Sb = part((st + 1) / 2);
    }
    w.total = at;
    return w;
}

/* The tensor-core kernels (ssd_mma.cu): 2. the bf16 operands and the chunk states into S;
 * 4 and 5. C B^T and the outputs (after the pass has left the entering states in Sb too). */
void ssd_mma_chunk_states(const br_device *dev, const br_ssd_args *a, const ssd_work &w);
void ssd_mma_chunk_outputs(const br_device *dev, const br_ssd_args *a, const ssd_work &w);

#endif /* BR_KERNELS_CUDA_SSD_CHUNKS_CUH */
