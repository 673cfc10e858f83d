/*
 * attention.cu - RoPE and causal (windowed) attention with GQA.
 *
 * Attention: one block of 128 threads per (query row, head) walks the
 * visible keys (of a prompt, or of a sequence's cache ring when decoding)
 * in tiles of 128: each thread scores one key, the block keeps
 * a running max and sum (online softmax) and each thread accumulates
 * output dims d = tid, tid+128 (head_dim up to 256).  Exact f32 math; no
 * tensor cores yet (cuDNN's fused attention is the next step for long
 * prefills).
 */
#include <math.h>
#include <stdint.h>

#include "cuda_common.cuh"

extern "C" {
#include "kernels/attention.h"
}

#define THREADS 128
#define MAX_HD BR_CUDA_ATTN_MAX_HEAD_DIM

__global__ void k_rope(int n, int heads, int hd, int rot, float theta, int style, const int64_t *__restrict__ pos,
                       float *x, int ldx) {
    const int half = rot / 2;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)n * heads * half; i += (long)gridDim.x * blockDim.x) {
        const long r = i / ((long)heads * half);
        const int h = (int)(i / half % heads), f = (int)(i % half);
        const float inv_freq = 1.0f / powf(theta, (float)(2 * f) / (float)rot);
        const float ang = (float)pos[r] * inv_freq;
        float s, c;
        sincosf(ang, &s, &c);
        float *v = x + r * ldx + (long)h * hd;
        const int i0 = style == BR_ROPE_NEOX ? f : 2 * f, i1 = style == BR_ROPE_NEOX ? f + half : 2 * f + 1;
        const float a0 = v[i0], a1 = v[i1];
        v[i0] = a0 * c - a1 * s;
        v[i1] = a1 * c + a0 * s;
    }
}

extern "C" void br_cuda_rope(const br_device *dev, int n, int heads, int head_dim, int rot_dim, float theta,
                             br_rope_style style, const int64_t *pos, float *x, int ldx) {
    if (style == BR_ROPE_NONE || rot_dim <= 0 || n <= 0) return;
    long work = (long)n * heads * (rot_dim / 2), blocks = (work + 255) / 256;
    k_rope<<<(unsigned)(blocks < 1048576 ? blocks : 1048576), 256, 0, br_stream(dev)>>>(n, heads, head_dim, rot_dim, theta,
                                                                                         (int)style, pos, x, ldx);
    BR_CUDA_LAUNCHED(dev);
}

/* One query row q (head_dim hd) over keys j in [lo, hi) whose rows sit at
 * k + (j % cap) * ldk (v likewise): the block of THREADS threads scores a
 * tile of keys (one each), keeps the running max and sum, and thread tid
 * accumulates output dims tid and tid + THREADS. */
__device__ void attend_row(const float *qi, const float *k, const float *v, long ldk, long ldv, int64_t lo, int64_t hi,
                           int64_t cap, int hd, float scale, float *o) {
    __shared__ float q[MAX_HD], p[THREADS], red[32];
    const int tid = threadIdx.x;
    for (int d = tid; d < hd; d += THREADS) q[d] = qi[d];
    float m = -INFINITY, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
    __syncthreads();
    for (int64_t j0 = lo; j0 < hi; j0 += THREADS) {
        const int64_t j = j0 + tid;
        float s = -INFINITY;
        if (j < hi) {
            const float *kr = k + (j % cap) * ldk;
            float dot = 0.0f;
            for (int d = 0; d < hd; d++) dot += q[d] * kr[d];
            s = dot * scale;
        }
        /* the tile's max over the block */
        float mv = br_warp_max(s);
        __syncthreads();
        if ((tid & 31) == 0) red[tid >> 5] = mv;
        __syncthreads();
        mv = (tid & 31) < (THREADS >> 5) ? red[tid & 31] : -INFINITY;
        const float mt = br_warp_max(mv);
        const float m_new = fmaxf(m, mt);
        const float alpha = m == -INFINITY ? 0.0f : expf(m - m_new);
        const float pj = j < hi ? expf(s - m_new) : 0.0f;
        __syncthreads();
        p[tid] = pj;
        const float psum = br_block_sum(pj, red);
        l = l * alpha + psum;
        acc0 *= alpha;
        acc1 *= alpha;
        const int jn = (int)min((int64_t)THREADS, hi - j0);
        for (int t = 0; t < jn; t++) {
            const float *vr = v + ((j0 + t) % cap) * ldv;
            if (tid < hd) acc0 += p[t] * vr[tid];
            if (tid + THREADS < hd) acc1 += p[t] * vr[tid + THREADS];
        }
        m = m_new;
        __syncthreads();
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    if (tid < hd) o[tid] = acc0 * inv;
    if (tid + THREADS < hd) o[tid + THREADS] = acc1 * inv;
}

/* grid (T, heads): query row i of a prompt over the keys it sees. */
__global__ void k_attention(br_attn_args a) {
    const int i = blockIdx.x, h = blockIdx.y, hd = a.head_dim, kh = h / (a.heads / a.kv_heads);
    const long qpos = a.q_pos0 + i;
    int lo = 0, hi = a.S; /* visible keys: k_pos0 + j in (qpos - window, qpos] */
    if (qpos - a.k_pos0 + 1 < hi) hi = (int)(qpos - a.k_pos0 + 1);
    if (a.window > 0 && qpos - a.window + 1 - a.k_pos0 > lo) lo = (int)(qpos - a.window + 1 - a.k_pos0);
    attend_row(a.q + (long)i * a.ldq + (long)h * hd, a.k + (long)kh * hd, a.v + (long)kh * hd, a.ldk, a.ldv, lo, hi,
               INT64_MAX, hd, a.scale, a.o + (long)i * a.ldo + (long)h * hd);
}

/* grid (batch, heads): the new token of sequence b over its cache ring. */
__global__ void k_attention_decode(br_attn_decode_args a) {
    const int b = blockIdx.x, h = blockIdx.y, hd = a.head_dim, kh = h / (a.heads / a.kv_heads);
    const long row = (long)a.kv_heads * hd;
    const int64_t pos = a.pos[b], lo = a.window > 0 && pos - a.window + 1 > 0 ? pos - a.window + 1 : 0;
    const long base = (long)a.slots[b] * a.cap * row + (long)kh * hd;
    attend_row(a.q + (long)b * a.ldq + (long)h * hd, a.k_cache + base, a.v_cache + base, row, row, lo, pos + 1, a.cap,
               hd, a.scale, a.o + (long)b * a.ldo + (long)h * hd);
}

/* grid (batch), 128 threads: writes the new k, v rows into the cache rings. */
__global__ void k_kv_append(br_attn_decode_args a) {
    const int b = blockIdx.x;
    const long row = (long)a.kv_heads * a.head_dim, at = ((long)a.slots[b] * a.cap + a.pos[b] % a.cap) * row;
    for (long d = threadIdx.x; d < row; d += blockDim.x) {
        a.k_cache[at + d] = a.k_new[(long)b * a.ldkv + d];
        a.v_cache[at + d] = a.v_new[(long)b * a.ldkv + d];
    }
}

extern "C" void br_cuda_kv_append(const br_device *dev, const br_attn_decode_args *a) {
    if (a->batch <= 0) return;
    k_kv_append<<<(unsigned)a->batch, THREADS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_attention_decode(const br_device *dev, const br_attn_decode_args *a) {
    if (a->batch <= 0) return;
    if (a->head_dim > MAX_HD) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* head_dim above 256 has no CUDA attention yet */
        return;
    }
    k_attention_decode<<<dim3((unsigned)a->batch, (unsigned)a->heads), THREADS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_attention(const br_device *dev, const br_attn_args *a) {
    if (a->T <= 0) return;
    if (a->head_dim > MAX_HD) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* head_dim above 256 has no CUDA attention yet */
        return;
    }
    dim3 grid((unsigned)a->T, (unsigned)a->heads);
    k_attention<<<grid, THREADS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}
