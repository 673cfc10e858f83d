/*
 * scan.cu - the Mamba-1 selective scan on the GPU, prefill and step in one kernel.
 *
 * A channel's recurrence runs in token order, and one token of one channel is
 * little arithmetic (d_state exps and FMAs), so a kernel that reads u, delta,
 * B, C and z from global memory at every token spends the token waiting for
 * memory (about a microsecond per token; ~23 ms per Mamba-2.8B layer at 8192
 * tokens).  Here the block reads tokens in chunks, with coalesced loads issued
 * one chunk ahead, and the recurrence only reads shared memory:
 *
 *   block   cpb consecutive channels of one sequence, all in one B/C group:
 *           the largest power of two up to CPB = THREADS / TPC that divides
 *           d_inner / heads, down to 1 (then warps without a channel only stage)
 *   thread  PER state entries of one channel in registers, with A log2(e);
 *           a channel's TPC threads hold its d_state entries, rounded up to
 *           NP = TPC * PER (the rest are zero), in float4 quads: thread j holds
 *           n = 4 (q TPC + j) + s, so a quad of B or C is one conflict-free load
 *   chunk   CT tokens: the u, delta, z of the block's channels and the B, C of
 *           its group, loaded into registers while the previous chunk is
 *           scanned, then stored in shared memory, transformed once per
 *           (token, channel): {dt = softplus(delta + bias), dt u, D u, silu(z)}
 *   scan    each thread walks the chunk in order over its entries,
 *             h = exp(dt A) h + dt u B,   partial = sum_n C h,
 *           a shuffle sum over the channel's TPC threads gives C.h and its
 *           first thread writes y = (C.h + D u) silu(z)
 *
 * exp(dt A) is ex2(dt A log2 e): one MUFU instruction where expf takes several;
 * it agrees with expf to a few ulp wherever exp(dt A) is not negligible, and
 * flushes results below 2^-126 to zero.  The state [d_inner, N] of sequence
 * b, in slot slots[b], is read at the start and written at the end.  A step
 * (T == 1) is a chunk of one token; shared memory is sized to min(T, CT)
 * tokens and registers leave room for MIN_BLOCKS blocks per SM, so decode
 * keeps enough loads in flight.
 *
 * Cost at Mamba-2.8B (d_inner 5120, N 16, batch 1, 8192 tokens): 671 MB of u,
 * delta, z and y (0.17 ms at 4 TB/s) hide behind ~7.5 warp instructions per
 * (token, channel): ~4.5 in the scan (one warp: 8 channels, ~36 a token) and
 * ~3 to stage (softplus and silu).  That is ~0.3 ms on 132 SMs, up to ~0.5 ms
 * since 640 warps do not spread evenly over 528 warp schedulers.
 */
#include "cuda_common.cuh"

extern "C" {
#include "kernels/scan.h"
}

#define THREADS 128       /* threads per block */
#define CHUNK_MAX 32      /* tokens per chunk, at most */
#define CHUNK_BC 2048     /* floats of B (and of C) a chunk stages, at most: fewer tokens for wide states */
#define MIN_BLOCKS 4      /* blocks per SM the registers leave room for (at most 128 a thread) */
#define SMEM_NO_OPT_IN (48 * 1024) /* shared memory a block takes without cudaFuncSetAttribute */
#define QUAD 4            /* state entries per float4 */
#define LOG2E 1.4426950408889634f
/* Tokens of a chunk in flight at once in the scan loop (a constant: #pragma unroll takes no macro). */
static constexpr int TOKEN_UNROLL = 4;

/* A block's shape for a state of up to TPC * PER entries. */
template <int TPC_, int PER_>
struct scan_tile {
    static constexpr int TPC = TPC_;                                 /* threads per channel */
    static constexpr int PER = PER_;                                 /* state entries per thread */
    static constexpr int QUADS = PER / QUAD;                         /* float4 quads per thread */
    static constexpr int NP = TPC * PER;                             /* entries per channel: d_state rounded up */
    static constexpr int CPB = THREADS / TPC;                        /* channels per block, at most */
    static constexpr int CT = CHUNK_BC / NP < CHUNK_MAX ? CHUNK_BC / NP : CHUNK_MAX; /* tokens per chunk */
    static constexpr int TOKS = (CT * CPB + THREADS - 1) / THREADS;  /* (token, channel) pairs a thread stages */
    static constexpr int BCS = CT * NP / THREADS;                    /* floats of B (and C) a thread stages */
    static_assert(PER % QUAD == 0 && TPC <= 32 && (TPC & (TPC - 1)) == 0, "a channel's threads share a warp");
    static_assert(CT * NP % THREADS == 0, "B and C tiles split evenly over the block");
    static_assert(CT * (CPB * sizeof(float4) + 2 * NP * sizeof(float)) <= SMEM_NO_OPT_IN, "shared memory");
};

/* 2^x in one MUFU instruction; results below 2^-126 flush to zero. */
__device__ __forceinline__ float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

/* One state entry over one token, w = {dt, dt u, D u, silu(z)}: h = exp(dt A) h + dt u B; returns p + C h. */
__device__ __forceinline__ float scan_entry(float &h, float A2, float4 w, float B, float C, float p) {
    h = ex2(w.x * A2) * h + w.y * B;
    return p + C * h;
}

/* What a thread stages of one chunk, read ahead into registers. */
template <class S>
struct chunk_regs {
    float u[S::TOKS], delta[S::TOKS], z[S::TOKS]; /* tokens t_first + k t_step of its staging channel */
    float B[S::BCS], C[S::BCS];                   /* floats tid + k THREADS of the chunk's [CT, NP] tiles */
};

/* grid (d_inner / cpb, batch), THREADS threads; shared memory for min(T, CT) tokens (see launch_tile). */
template <int TPC, int PER>
__global__ void __launch_bounds__(THREADS, MIN_BLOCKS) k_scan(br_scan_args a, int cpb) {
    using S = scan_tile<TPC, PER>;
    extern __shared__ float4 smem[];
    const int N = a.d_state, T = a.T, b = blockIdx.y, tid = threadIdx.x;
    const int c0 = blockIdx.x * cpb, g = c0 / (a.d_inner / a.heads), ct = min(S::CT, T);
    float4 *tok = smem;                                        /* [ct, cpb] {dt, dt u, D u, silu(z)} */
    float *Bs = (float *)(tok + ct * cpb), *Cs = Bs + ct * S::NP; /* [ct, NP] each, zero past N */

    /* staging role: one channel, tokens t_first, t_first + t_step, ... of each chunk */
    const int s_cl = tid % cpb, s_ch = c0 + s_cl, t_first = tid / cpb, t_step = THREADS / cpb;
    const float bias = a.delta_bias ? a.delta_bias[s_ch] : 0.0f, Ds = a.D ? a.D[s_ch] : 0.0f;
    /* scan role: thread j of channel cl.  A warp with a channel scans on all lanes (the shuffles take the
     * whole warp); lanes past the block's cpb channels repeat the last one and write nothing. */
    const int cl = min(tid / TPC, cpb - 1), j = tid % TPC, c = c0 + cl;
    const bool scans = (tid & ~31) < cpb * TPC, writes = tid / TPC < cpb;

    float *h_slot = a.state + a.slots[b] * a.state_stride + (long)c * N;
    float h[PER], A2[PER]; /* h[n], A[c, n] log2(e) for n = QUAD (q TPC + j) + s, at PER = QUAD q + s */
#pragma unroll
    for (int q = 0; q < S::QUADS; q++)
#pragma unroll
        for (int s = 0; s < QUAD; s++) {
            const int n = QUAD * (q * TPC + j) + s, e = QUAD * q + s;
            h[e] = n < N ? h_slot[n] : 0.0f;
            A2[e] = n < N ? a.A[(long)c * N + n] * LOG2E : 0.0f;
        }

    chunk_regs<S> r;
    auto load = [&](int t0) { /* chunk at token t0 into r, zero past the prompt and past N */
        const int nt = min(ct, T - t0);
        const long row0 = (long)b * T + t0;
        const float *u = a.u + row0 * a.ldu + s_ch, *dl = a.delta + row0 * a.lddelta + s_ch;
        const float *z = a.z ? a.z + row0 * a.ldz + s_ch : NULL;
        const float *Bg = a.B + row0 * a.ldB + (long)g * N, *Cg = a.C + row0 * a.ldC + (long)g * N;
#pragma unroll
        for (int k = 0; k < S::TOKS; k++) {
            const int t = t_first + k * t_step;
            const bool in = t < nt;
            r.u[k] = in ? u[t * a.ldu] : 0.0f;
            r.delta[k] = in ? dl[t * a.lddelta] : 0.0f;
            r.z[k] = in && z ? z[t * a.ldz] : 0.0f;
        }
#pragma unroll
        for (int k = 0; k < S::BCS; k++) {
            const int f = tid + k * THREADS, t = f / S::NP, n = f % S::NP;
            const bool in = t < nt && n < N;
            r.B[k] = in ? Bg[t * a.ldB + n] : 0.0f;
            r.C[k] = in ? Cg[t * a.ldC + n] : 0.0f;
        }
    };
    auto store = [&](int t0) { /* r into shared memory, dt and the gate computed once */
        const int nt = min(ct, T - t0);
#pragma unroll
        for (int k = 0; k < S::TOKS; k++) {
            const int t = t_first + k * t_step;
            if (t < nt) {
                float dt = r.delta[k] + bias;
                if (a.delta_softplus) dt = br_dev_softplus(dt);
                tok[t * cpb + s_cl] = make_float4(dt, dt * r.u[k], Ds * r.u[k], a.z ? br_dev_silu(r.z[k]) : 1.0f);
            }
        }
#pragma unroll
        for (int k = 0; k < S::BCS; k++) {
            const int f = tid + k * THREADS;
            if (f < nt * S::NP) Bs[f] = r.B[k], Cs[f] = r.C[k];
        }
    };

    load(0);
    for (int t0 = 0; t0 < T; t0 += ct) {
        const int nt = min(ct, T - t0);
        __syncthreads(); /* the previous chunk's scan is done with shared memory */
        store(t0);
        __syncthreads();
        if (t0 + ct < T) load(t0 + ct); /* in flight during this chunk's scan */
        if (!scans) continue;
        float *y = a.y + ((long)b * T + t0) * a.ldy + c;
#pragma unroll TOKEN_UNROLL
        for (int i = 0; i < nt; i++) {
            const float4 w = tok[i * cpb + cl];
            const float4 *Bi = (const float4 *)(Bs + i * S::NP), *Ci = (const float4 *)(Cs + i * S::NP);
            float p = 0.0f;
#pragma unroll
            for (int q = 0; q < S::QUADS; q++) {
                const float4 Bq = Bi[q * TPC + j], Cq = Ci[q * TPC + j];
                p = scan_entry(h[QUAD * q + 0], A2[QUAD * q + 0], w, Bq.x, Cq.x, p);
                p = scan_entry(h[QUAD * q + 1], A2[QUAD * q + 1], w, Bq.y, Cq.y, p);
                p = scan_entry(h[QUAD * q + 2], A2[QUAD * q + 2], w, Bq.z, Cq.z, p);
                p = scan_entry(h[QUAD * q + 3], A2[QUAD * q + 3], w, Bq.w, Cq.w, p);
            }
#pragma unroll
            for (int o = TPC / 2; o > 0; o >>= 1) p += __shfl_xor_sync(0xffffffffu, p, o);
            const float yi = (p + w.z) * w.w; /* y = (C.h + D u) silu(z) */
            if (writes && j == 0) *y = yi;
            y += a.ldy;
        }
    }
    if (!writes) return;
#pragma unroll
    for (int q = 0; q < S::QUADS; q++)
#pragma unroll
        for (int s = 0; s < QUAD; s++) {
            const int n = QUAD * (q * TPC + j) + s;
            if (n < N) h_slot[n] = h[QUAD * q + s];
        }
}

/* Channels per block: the largest power of two up to the tile's that divides the channels of a group. */
template <int TPC, int PER>
static void launch_tile(const br_device *dev, const br_scan_args *a) {
    using S = scan_tile<TPC, PER>;
    const int per_group = a->d_inner / a->heads;
    int cpb = S::CPB;
    while (per_group % cpb) cpb >>= 1;
    const int ct = a->T < S::CT ? a->T : S::CT;
    const size_t smem = (size_t)ct * (cpb * sizeof(float4) + 2 * S::NP * sizeof(float));
    const dim3 grid((unsigned)(a->d_inner / cpb), (unsigned)a->batch);
    k_scan<TPC, PER><<<grid, THREADS, smem, br_stream(dev)>>>(*a, cpb);
}

static void launch(const br_device *dev, const br_scan_args *a) {
    if (a->batch <= 0 || a->d_inner <= 0 || a->T <= 0) return;
    const int N = a->d_state;
    if (N > BR_CUDA_SCAN_MAX_STATE) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* d_state above 256 has no CUDA scan yet */
        return;
    }
    if (N <= 16) launch_tile<4, 4>(dev, a);
    else if (N <= 32) launch_tile<8, 4>(dev, a);
    else if (N <= 64) launch_tile<16, 4>(dev, a);
    else if (N <= 128) launch_tile<32, 4>(dev, a);
    else launch_tile<32, 8>(dev, a);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_scan_prefill(const br_device *dev, const br_scan_args *a) { launch(dev, a); }
extern "C" void br_cuda_scan_step(const br_device *dev, const br_scan_args *a) { launch(dev, a); }
