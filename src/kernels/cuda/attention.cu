/*
 * attention.cu - RoPE and causal (windowed) attention with GQA.
 *
 * Attention: one block of 128 threads per (query row, head) walks the
 * visible keys in tiles of 128: each thread scores one key, the block keeps
 * a running max and sum (online softmax) and each thread accumulates
 * output dims d = tid, tid+128 (head_dim up to 256).  Exact f32 math; no
 * tensor cores yet (cuDNN's fused attention is the next step for long
 * prefills).
 */
#include <math.h>

#include "cuda_common.cuh"

extern "C" {
#include "kernels/attention.h"
}

#define THREADS 128
#define MAX_HD 256

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

__global__ void k_attention(br_attn_args a) {
    __shared__ float q[MAX_HD], p[THREADS], red[32];
    const int i = blockIdx.x, h = blockIdx.y, tid = threadIdx.x, hd = a.head_dim;
    const int kh = h / (a.heads / a.kv_heads);
    const float *qi = a.q + (long)i * a.ldq + (long)h * hd;
    for (int d = tid; d < hd; d += THREADS) q[d] = qi[d];
    const long qpos = a.q_pos0 + i;
    int lo = 0, hi = a.S; /* visible keys: k_pos0 + j in (qpos - window, qpos] */
    if (qpos - a.k_pos0 + 1 < hi) hi = (int)(qpos - a.k_pos0 + 1);
    if (a.window > 0 && qpos - a.window + 1 - a.k_pos0 > lo) lo = (int)(qpos - a.window + 1 - a.k_pos0);
    float m = -INFINITY, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
    __syncthreads();
    for (int j0 = lo; j0 < hi; j0 += THREADS) {
        const int j = j0 + tid;
        float s = -INFINITY;
        if (j < hi) {
            const float *k = a.k + (long)j * a.ldk + (long)kh * hd;
            float dot = 0.0f;
            for (int d = 0; d < hd; d++) dot += q[d] * k[d];
            s = dot * a.scale;
        }
        /* the tile's max over the block */
        float v = br_warp_max(s);
        __syncthreads();
        if ((tid & 31) == 0) red[tid >> 5] = v;
        __syncthreads();
        v = (tid & 31) < (THREADS >> 5) ? red[tid & 31] : -INFINITY;
        const float mt = br_warp_max(v);
        const float m_new = fmaxf(m, mt);
        const float alpha = m == -INFINITY ? 0.0f : expf(m - m_new);
        const float pj = j < hi ? expf(s - m_new) : 0.0f;
        __syncthreads();
        p[tid] = pj;
        const float psum = br_block_sum(pj, red);
        l = l * alpha + psum;
        acc0 *= alpha;
        acc1 *= alpha;
        const int jn = min(THREADS, hi - j0);
        for (int t = 0; t < jn; t++) {
            const float *vrow = a.v + (long)(j0 + t) * a.ldv + (long)kh * hd;
            if (tid < hd) acc0 += p[t] * vrow[tid];
            if (tid + THREADS < hd) acc1 += p[t] * vrow[tid + THREADS];
        }
        m = m_new;
        __syncthreads();
    }
    float *o = a.o + (long)i * a.ldo + (long)h * hd;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    if (tid < hd) o[tid] = acc0 * inv;
    if (tid + THREADS < hd) o[tid + THREADS] = acc1 * inv;
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
