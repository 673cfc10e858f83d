/*
 * attention.cu - RoPE, KV caches and causal (windowed) attention with GQA.
 *
 * Prefill: cuDNN's fused flash attention when it takes the call
 * (cudnn_attention.cu); otherwise braid's own kernel, one block of 128
 * threads per (query row, head) walking the visible keys in tiles of 128
 * (each thread scores one key; running max and sum, online softmax; thread
 * tid accumulates output dims tid and tid + 128).
 *
 * Decode (flash-decoding): block (split, kv head [x head group], sequence)
 * scores one chunk of the sequence's visible keys for up to 8 query heads
 * of the group, so each key row is read once per group.  Four warps take
 * keys in turn; lane l holds dims l*DPL .. l*DPL+DPL-1 of q, k, v and the
 * output, a warp sum gives each score, and each warp keeps a running max,
 * sum and output per head.  The warps merge in shared memory; with one
 * split the block writes o, else its (max, sum, output) go to the work
 * buffer and a second kernel merges the splits:
 *   M = max_s m_s,  o = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s
 * The split count depends only on the cache capacity, the batch and the
 * heads, so a recorded step replays with the same launch as positions grow.
 * Keys and values are f32 or bf16 (the cache's type); math is f32.
 */
#include <cuda_bf16.h>
#include <math.h>
#include <stdint.h>

#include "convert.cuh"
#include "cuda_common.cuh"
#include "cudnn_attention.h"

extern "C" {
#include "kernels/attention.h"
}

#define THREADS 128
#define MAX_HD BR_CUDA_ATTN_MAX_HEAD_DIM

/* Rotates pair f of one head's row v by position pos (attention.h gives the pairs of each style). */
__device__ __forceinline__ void rope_pair(float *v, int f, int rot, float theta, int style, int64_t pos) {
    const int half = rot / 2;
    const float inv_freq = 1.0f / powf(theta, (float)(2 * f) / (float)rot);
    float s, c;
    sincosf((float)pos * inv_freq, &s, &c);
    const int i0 = style == BR_ROPE_NEOX ? f : 2 * f, i1 = style == BR_ROPE_NEOX ? f + half : 2 * f + 1;
    const float a0 = v[i0], a1 = v[i1];
    v[i0] = a0 * c - a1 * s;
    v[i1] = a1 * c + a0 * s;
}

__global__ void k_rope(int n, int heads, int hd, int rot, float theta, int style, const int64_t *__restrict__ pos,
                       float *x, int ldx) {
    const int half = rot / 2;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)n * heads * half; i += (long)gridDim.x * blockDim.x) {
        const long r = i / ((long)heads * half);
        const int h = (int)(i / half % heads), f = (int)(i % half);
        rope_pair(x + r * ldx + (long)h * hd, f, rot, theta, style, pos[r]);
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

/* ---- KV cache rows ----------------------------------------------------------------------------------------------- */

/* grid-stride over rows x row: k, v row j -> cache row (slot, pos0 + j). */
template <typename KT>
__global__ void k_kv_store(br_kv_cache c, int slot, int64_t pos0, int rows, const float *__restrict__ k,
                           const float *__restrict__ v, int ld) {
    KT *kc = (KT *)c.k, *vc = (KT *)c.v;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)rows * c.row; i += (long)gridDim.x * blockDim.x) {
        const long j = i / c.row, d = i % c.row;
        const long at = ((long)slot * c.cap + (pos0 + j) % c.cap) * c.row + d;
        kc[at] = br_f32_as<KT>(k[j * ld + d]);
        vc[at] = br_f32_as<KT>(v[j * ld + d]);
    }
}

template <typename KT>
__global__ void k_kv_gather(br_kv_cache c, int slot, int64_t pos0, int rows, KT *__restrict__ kk, KT *__restrict__ vv) {
    const KT *kc = (const KT *)c.k, *vc = (const KT *)c.v;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)rows * c.row; i += (long)gridDim.x * blockDim.x) {
        const long j = i / c.row, d = i % c.row;
        const long at = ((long)slot * c.cap + (pos0 + j) % c.cap) * c.row + d;
        kk[i] = kc[at];
        vv[i] = vc[at];
    }
}

static unsigned grid_for(long n) { return br_grid_stride(n, 256); }

extern "C" void br_cuda_kv_store(const br_device *dev, const br_kv_cache *c, int slot, int64_t pos0, int rows,
                                 const float *k, const float *v, int ld) {
    if (rows <= 0) return;
    if (c->dtype == BR_BF16)
        k_kv_store<__nv_bfloat16><<<grid_for((long)rows * c->row), 256, 0, br_stream(dev)>>>(*c, slot, pos0, rows, k, v, ld);
    else
        k_kv_store<float><<<grid_for((long)rows * c->row), 256, 0, br_stream(dev)>>>(*c, slot, pos0, rows, k, v, ld);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_kv_gather(const br_device *dev, const br_kv_cache *c, int slot, int64_t pos0, int rows, void *kk,
                                  void *vv) {
    if (rows <= 0) return;
    if (c->dtype == BR_BF16)
        k_kv_gather<__nv_bfloat16><<<grid_for((long)rows * c->row), 256, 0, br_stream(dev)>>>(
            *c, slot, pos0, rows, (__nv_bfloat16 *)kk, (__nv_bfloat16 *)vv);
    else
        k_kv_gather<float><<<grid_for((long)rows * c->row), 256, 0, br_stream(dev)>>>(*c, slot, pos0, rows, (float *)kk,
                                                                                      (float *)vv);
    BR_CUDA_LAUNCHED(dev);
}

/* Sequence b's new rows k (given) and v into its cache row at pos[b]; called by every thread of the block. */
template <typename KT>
__device__ void append_row(const br_attn_decode_args &a, int b, const float *k) {
    const br_kv_cache c = a.cache;
    const long at = ((long)a.slots[b] * c.cap + a.pos[b] % c.cap) * c.row;
    for (long d = threadIdx.x; d < c.row; d += blockDim.x) {
        ((KT *)c.k)[at + d] = br_f32_as<KT>(k[d]);
        ((KT *)c.v)[at + d] = br_f32_as<KT>(a.v_new[(long)b * a.ldkv + d]);
    }
}

/* grid (batch), 128 threads: writes the new k, v rows into the cache rings. */
template <typename KT>
__global__ void k_kv_append(br_attn_decode_args a) {
    append_row<KT>(a, blockIdx.x, a.k_new + (long)blockIdx.x * a.ldkv);
}

extern "C" void br_cuda_kv_append(const br_device *dev, const br_attn_decode_args *a) {
    if (a->batch <= 0) return;
    if (a->cache.dtype == BR_BF16) k_kv_append<__nv_bfloat16><<<(unsigned)a->batch, THREADS, 0, br_stream(dev)>>>(*a);
    else k_kv_append<float><<<(unsigned)a->batch, THREADS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

/* grid (batch), 128 threads: rotates sequence b's q and k rows (as k_rope), then writes k, v into its cache row. */
template <typename KT>
__global__ void k_rope_kv_append(br_attn_decode_args a, br_rope_args r) {
    const int b = blockIdx.x, hd = a.head_dim, half = r.rot_dim / 2;
    const int64_t pos = a.pos[b];
    float *q = (float *)a.q + (long)b * a.ldq, *k = (float *)a.k_new + (long)b * a.ldkv;
    for (int i = threadIdx.x; i < (a.heads + a.kv_heads) * half; i += blockDim.x) {
        const int h = i / half;
        rope_pair(h < a.heads ? q + (long)h * hd : k + (long)(h - a.heads) * hd, i % half, r.rot_dim, r.theta, r.style,
                  pos);
    }
    __syncthreads();
    append_row<KT>(a, b, k);
}

extern "C" void br_cuda_rope_kv_append(const br_device *dev, const br_attn_decode_args *a, const br_rope_args *r) {
    if (a->batch <= 0) return;
    if (r->style == BR_ROPE_NONE || r->rot_dim <= 0) {
        br_cuda_kv_append(dev, a);
        return;
    }
    if (a->cache.dtype == BR_BF16) k_rope_kv_append<__nv_bfloat16><<<(unsigned)a->batch, THREADS, 0, br_stream(dev)>>>(*a, *r);
    else k_rope_kv_append<float><<<(unsigned)a->batch, THREADS, 0, br_stream(dev)>>>(*a, *r);
    BR_CUDA_LAUNCHED(dev);
}

/* ---- prefill: braid's own kernel --------------------------------------------------------------------------------- */

/* One query row q (head_dim hd) over keys j in [lo, hi) at k + j * ld (v likewise):
 * the block scores a tile of keys (one per thread), keeps the running max and
 * sum, and thread tid accumulates output dims tid and tid + THREADS. */
template <typename KT>
__device__ void attend_row(const float *qi, const KT *k, const KT *v, long ld, int lo, int hi, int hd, float scale,
                           float *o) {
    __shared__ float q[MAX_HD], p[THREADS], red[32];
    const int tid = threadIdx.x;
    for (int d = tid; d < hd; d += THREADS) q[d] = qi[d];
    float m = -INFINITY, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
    __syncthreads();
    for (int j0 = lo; j0 < hi; j0 += THREADS) {
        const int j = j0 + tid;
        float s = -INFINITY;
        if (j < hi) {
            const KT *kr = k + (long)j * ld;
            float dot = 0.0f;
            for (int d = 0; d < hd; d++) dot += q[d] * br_as_f32(kr[d]);
            s = dot * scale;
        }
        float mv = br_warp_max(s); /* the tile's max over the block */
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
        const int jn = min(THREADS, hi - j0);
        for (int t = 0; t < jn; t++) {
            const KT *vr = v + (long)(j0 + t) * ld;
            if (tid < hd) acc0 += p[t] * br_as_f32(vr[tid]);
            if (tid + THREADS < hd) acc1 += p[t] * br_as_f32(vr[tid + THREADS]);
        }
        m = m_new;
        __syncthreads();
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    if (tid < hd) o[tid] = acc0 * inv;
    if (tid + THREADS < hd) o[tid + THREADS] = acc1 * inv;
}

/* grid (T, heads): query row i of a prompt over the keys it sees. */
template <typename KT>
__global__ void k_attention(br_attn_args a) {
    const int i = blockIdx.x, h = blockIdx.y, hd = a.head_dim, kh = h / (a.heads / a.kv_heads);
    const long qpos = a.q_pos0 + i;
    int lo = 0, hi = a.S; /* visible keys: k_pos0 + j in (qpos - window, qpos] */
    if (qpos - a.k_pos0 + 1 < hi) hi = (int)(qpos - a.k_pos0 + 1);
    if (a.window > 0 && qpos - a.window + 1 - a.k_pos0 > lo) lo = (int)(qpos - a.window + 1 - a.k_pos0);
    attend_row<KT>(a.q + (long)i * a.ldq + (long)h * hd, (const KT *)a.k + (long)kh * hd, (const KT *)a.v + (long)kh * hd,
                   a.ldkv, lo, hi, hd, a.scale, a.o + (long)i * a.ldo + (long)h * hd);
}

extern "C" void br_cuda_attention(const br_device *dev, const br_attn_args *a) {
    if (a->T <= 0) return;
    if (a->head_dim > MAX_HD) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* head_dim above 256 has no CUDA attention yet */
        return;
    }
    if (br_cudnn_attention(dev, a)) return;
    dim3 grid((unsigned)a->T, (unsigned)a->heads);
    if (a->kv_dtype == BR_BF16) k_attention<__nv_bfloat16><<<grid, THREADS, 0, br_stream(dev)>>>(*a);
    else k_attention<float><<<grid, THREADS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

/* ---- decode: flash-decoding -------------------------------------------------------------------------------------- */

#define DEC_WARPS 4
#define DEC_HEADS 8   /* query heads one block serves */
#define DEC_MIN_KEYS 32 /* fewest keys a split is given */

typedef struct dec_geom {
    int hgroups; /* blocks per kv head: ceil(group / DEC_HEADS) */
    int splits;  /* chunks of the visible keys, one block each */
    int chunk;   /* keys per split */
} dec_geom;

/* The launch of a decode for these arguments: enough blocks to fill the GPU twice, no split under DEC_MIN_KEYS. */
static dec_geom decode_geom(const br_device *dev, const br_attn_decode_args *a) {
    const int group = a->heads / a->kv_heads;
    dec_geom g;
    g.hgroups = (group + DEC_HEADS - 1) / DEC_HEADS;
    const long per_split = (long)a->batch * a->kv_heads * g.hgroups, target = 2L * dev->cuda->sm_count;
    long splits = (target + per_split - 1) / per_split;
    const long most = (a->cache.cap + DEC_MIN_KEYS - 1) / DEC_MIN_KEYS;
    if (splits > most) splits = most;
    if (splits < 1) splits = 1;
    g.splits = (int)splits;
    g.chunk = (int)((a->cache.cap + splits - 1) / splits);
    return g;
}

extern "C" long br_cuda_attention_decode_work_floats(const br_device *dev, const br_attn_decode_args *a) {
    const dec_geom g = decode_geom(dev, a);
    return g.splits > 1 ? (long)a->batch * a->heads * g.splits * (a->head_dim + 2) : 0;
}

/* grid (splits, kv_heads * hgroups, batch), DEC_WARPS warps; DPL dims per lane (hd <= 32 * DPL). */
template <typename KT, int DPL>
__global__ void __launch_bounds__(DEC_WARPS * 32) k_attention_decode(br_attn_decode_args a, dec_geom g) {
    __shared__ float sm_m[DEC_WARPS][DEC_HEADS], sm_l[DEC_WARPS][DEC_HEADS];
    __shared__ float sm_o[DEC_WARPS][DEC_HEADS][DPL * 32];
    const int split = blockIdx.x, kh = blockIdx.y / g.hgroups, hg = blockIdx.y % g.hgroups, b = blockIdx.z;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, hd = a.head_dim;
    const int group = a.heads / a.kv_heads, h0 = kh * group + hg * DEC_HEADS;
    const int nh = min(DEC_HEADS, group - hg * DEC_HEADS);
    const int64_t pos = a.pos[b], lo = a.window > 0 && pos - a.window + 1 > 0 ? pos - a.window + 1 : 0;
    const int64_t start = lo + (int64_t)split * g.chunk, end = min(start + g.chunk, pos + 1);
    const br_kv_cache c = a.cache;
    const KT *kc = (const KT *)c.k + (long)kh * hd, *vc = (const KT *)c.v + (long)kh * hd;
    const long slot_base = (long)a.slots[b] * c.cap;
    float q[DEC_HEADS][DPL], acc[DEC_HEADS][DPL], m[DEC_HEADS], l[DEC_HEADS];
#pragma unroll
    for (int g2 = 0; g2 < DEC_HEADS; g2++) {
        m[g2] = -INFINITY, l[g2] = 0.0f;
#pragma unroll
        for (int i = 0; i < DPL; i++) {
            const int d = lane * DPL + i;
            q[g2][i] = g2 < nh && d < hd ? a.q[(long)b * a.ldq + (long)(h0 + g2) * hd + d] : 0.0f;
            acc[g2][i] = 0.0f;
        }
    }
#pragma unroll 2
    for (int64_t j = start + warp; j < end; j += DEC_WARPS) {
        const long at = (slot_base + j % c.cap) * c.row;
        float kf[DPL], vf[DPL];
#pragma unroll
        for (int i = 0; i < DPL; i++) {
            const int d = lane * DPL + i;
            kf[i] = d < hd ? br_as_f32(kc[at + d]) : 0.0f;
            vf[i] = d < hd ? br_as_f32(vc[at + d]) : 0.0f;
        }
#pragma unroll
        for (int g2 = 0; g2 < DEC_HEADS; g2++) {
            if (g2 >= nh) break;
            float dot = 0.0f;
#pragma unroll
            for (int i = 0; i < DPL; i++) dot += q[g2][i] * kf[i];
            const float s = br_warp_sum(dot) * a.scale;
            const float m_new = fmaxf(m[g2], s), corr = expf(m[g2] - m_new), p = expf(s - m_new);
            l[g2] = l[g2] * corr + p;
#pragma unroll
            for (int i = 0; i < DPL; i++) acc[g2][i] = acc[g2][i] * corr + p * vf[i];
            m[g2] = m_new;
        }
    }
#pragma unroll
    for (int g2 = 0; g2 < DEC_HEADS; g2++) {
        if (lane == 0) sm_m[warp][g2] = m[g2], sm_l[warp][g2] = l[g2];
#pragma unroll
        for (int i = 0; i < DPL; i++) sm_o[warp][g2][lane * DPL + i] = acc[g2][i];
    }
    __syncthreads();
    /* merge the warps: warp w finishes heads w, w + DEC_WARPS, ... */
    for (int g2 = warp; g2 < nh; g2 += DEC_WARPS) {
        float M = -INFINITY;
        for (int w = 0; w < DEC_WARPS; w++) M = fmaxf(M, sm_m[w][g2]);
        float L = 0.0f, scale[DEC_WARPS];
        for (int w = 0; w < DEC_WARPS; w++) {
            scale[w] = M == -INFINITY ? 0.0f : expf(sm_m[w][g2] - M);
            L += sm_l[w][g2] * scale[w];
        }
        const int h = h0 + g2;
        const long part = ((long)b * a.heads + h) * g.splits + split;
        for (int d = lane; d < hd; d += 32) {
            float o = 0.0f;
            for (int w = 0; w < DEC_WARPS; w++) o += sm_o[w][g2][d] * scale[w];
            if (g.splits == 1) a.o[(long)b * a.ldo + (long)h * hd + d] = L > 0.0f ? o / L : 0.0f;
            else a.work[part * (hd + 2) + 2 + d] = o;
        }
        if (g.splits > 1 && lane == 0) a.work[part * (hd + 2)] = M, a.work[part * (hd + 2) + 1] = L;
    }
}

/* grid (batch * heads), 128 threads: merges the splits of one (sequence, head). */
__global__ void k_decode_merge(br_attn_decode_args a, int splits) {
    const int b = blockIdx.x / a.heads, h = blockIdx.x % a.heads, hd = a.head_dim;
    const float *part = a.work + ((long)b * a.heads + h) * splits * (hd + 2);
    float M = -INFINITY;
    for (int s = 0; s < splits; s++) M = fmaxf(M, part[(long)s * (hd + 2)]);
    float L = 0.0f;
    for (int s = 0; s < splits; s++) {
        const float ms = part[(long)s * (hd + 2)];
        if (ms != -INFINITY) L += part[(long)s * (hd + 2) + 1] * expf(ms - M);
    }
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float o = 0.0f;
        for (int s = 0; s < splits; s++) {
            const float ms = part[(long)s * (hd + 2)];
            if (ms != -INFINITY) o += part[(long)s * (hd + 2) + 2 + d] * expf(ms - M);
        }
        a.o[(long)b * a.ldo + (long)h * hd + d] = L > 0.0f ? o / L : 0.0f;
    }
}

template <typename KT>
static void launch_decode(const br_device *dev, const br_attn_decode_args *a, dec_geom g) {
    dim3 grid((unsigned)g.splits, (unsigned)(a->kv_heads * g.hgroups), (unsigned)a->batch);
    const int dpl = (a->head_dim + 31) / 32;
    cudaStream_t s = br_stream(dev);
    if (dpl <= 2) k_attention_decode<KT, 2><<<grid, DEC_WARPS * 32, 0, s>>>(*a, g);
    else if (dpl <= 4) k_attention_decode<KT, 4><<<grid, DEC_WARPS * 32, 0, s>>>(*a, g);
    else k_attention_decode<KT, 8><<<grid, DEC_WARPS * 32, 0, s>>>(*a, g);
}

extern "C" void br_cuda_attention_decode(const br_device *dev, const br_attn_decode_args *a) {
    if (a->batch <= 0) return;
    if (a->head_dim > MAX_HD) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* head_dim above 256 has no CUDA attention yet */
        return;
    }
    const dec_geom g = decode_geom(dev, a);
    if (a->cache.dtype == BR_BF16) launch_decode<__nv_bfloat16>(dev, a, g);
    else launch_decode<float>(dev, a, g);
    BR_CUDA_LAUNCHED(dev);
    if (g.splits > 1) {
        k_decode_merge<<<(unsigned)(a->batch * a->heads), THREADS, 0, br_stream(dev)>>>(*a, g.splits);
        BR_CUDA_LAUNCHED(dev);
    }
}
