/*
 * ssd.cu - the Mamba-2 SSD scan on the GPU.
 *
 * Step (T == 1) and short prompts use the recurrent form: one warp per
 * (sequence, head, ROWS channels p); lane l keeps h[p, n] for n = l, l+32,
 * ... in registers and a warp sum gives y_p = h_p . C.
 *
 * Prefill uses the chunked form of kernels/cpu/ssd.c (the result is the same
 * math whatever the chunk length Q), in five kernels (ssd_chunks.cuh):
 *   1. dt:    dt_t = clamp(softplus(dt_raw + bias)) and cum_i, the inclusive
 *             sum of dt A within the chunk              [batch, heads, nc, Q]
 *   2. state: S_c = sum_j (x_j w_j)^T B_j, w_j = dt_j exp(cum_last - cum_j),
 *             what chunk c adds to the state            [batch, nc, heads, P, N]
 *   3. pass:  runs the chunks in order, S_c <- h entering chunk c,
 *             h <- exp(cum_last) h + S_c; the final h goes to the slot
 *   4. cb:    C B^T within each chunk, once per group   [batch, nc, groups, Q, Q]
 *   5. scan:  Y = (mask o exp(cum_i - cum_j) dt_j o C B^T) X
 *                 + diag(exp(cum_i)) C h_enter^T + D x          [Q, P]
 * Kernels 2, 4 and 5 come in two kinds.  Exact (this file): Q = 64, 64x64
 * tiles of f32 FMAs (256 threads, 4x4 outputs each, k-slices of 16 through
 * shared memory), the same f32 arithmetic as the CPU reference, checked
 * against it at 1e-5.  With args.bf16_products (ssd_mma.cu, when head_dim
 * and d_state are multiples of 8): Q = 256 and the products on the tensor
 * cores, operands rounded to bf16, f32 accumulation; dt, the cumulative
 * sums, the decays and the passed state stay f32.
 */
#include "ssd_chunks.cuh"

/* ---- recurrent form ------------------------------------------------------------------------------------------------ */

#define WARPS 4
#define ROWS 4 /* channels p a warp carries: dt, B and C are read once for them, their loads overlap */
#define MAX_STATE BR_CUDA_SSD_MAX_STATE
#define PER_LANE (MAX_STATE / 32)

/* grid (ceil(P / (WARPS ROWS)), heads, batch): warp w takes channels p0 .. p0 + ROWS - 1. */
__global__ void __launch_bounds__(WARPS * 32) k_ssd_recurrent(br_ssd_args a) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int P = a.head_dim, N = a.d_state;
    const int h = blockIdx.y, b = blockIdx.z, p0 = (blockIdx.x * WARPS + warp) * ROWS;
    if (p0 >= P) return;
    const int g = h / (a.heads / a.groups), rows = min(ROWS, P - p0);
    float *st = a.state + a.slots[b] * a.state_stride + ((long)h * P + p0) * N;
    float hr[ROWS][PER_LANE];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int s = 0; s < PER_LANE; s++) hr[r][s] = r < rows && lane + 32 * s < N ? st[r * N + lane + 32 * s] : 0.0f;
    const float A = a.A[h], Dh = a.D ? a.D[h] : 0.0f;
    for (int t = 0; t < a.T; t++) {
        const long row = (long)b * a.T + t;
        const float dt = ssd_dt(a, row, h), dA = expf(dt * A);
        const float *B = a.B + row * a.ldB + (long)g * N, *C = a.C + row * a.ldC + (long)g * N;
        const float *x = a.x + row * a.ldx + (long)h * P + p0;
        float Bv[PER_LANE], Cv[PER_LANE], xv[ROWS], acc[ROWS];
#pragma unroll
        for (int s = 0; s < PER_LANE; s++) {
            const int n = lane + 32 * s;
            Bv[s] = n < N ? B[n] : 0.0f, Cv[s] = n < N ? C[n] : 0.0f;
        }
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            xv[r] = r < rows ? x[r] : 0.0f;
            acc[r] = 0.0f;
#pragma unroll
            for (int s = 0; s < PER_LANE; s++) {
                hr[r][s] = dA * hr[r][s] + dt * xv[r] * Bv[s];
                acc[r] += hr[r][s] * Cv[s];
            }
        }
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            const float v = br_warp_sum(acc[r]);
            if (lane == 0 && r < rows) a.y[row * a.ldy + (long)h * P + p0 + r] = v + Dh * xv[r];
        }
    }
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int s = 0; s < PER_LANE; s++)
            if (r < rows && lane + 32 * s < N) st[r * N + lane + 32 * s] = hr[r][s];
}

/* ---- chunked form -------------------------------------------------------------------------------------------------- */

#define Q SSD_EXACT_CHUNK /* the exact kind's chunk length = its tile edge */
#define KT 16      /* k-slice depth */
#define LDS 68     /* shared row stride: 64 + 4 keeps float4 alignment, spreads banks */
#define THREADS 256

/* grid (nc, heads, batch), q threads (the chunk length, a power of two): dt and the within-chunk
 * cumulative sum of dt A; q floats of dynamic shared memory. */
__global__ void k_ssd_dt(br_ssd_args a, float *dts, float *cum) {
    extern __shared__ float s[];
    const int q = blockDim.x, c = blockIdx.x, h = blockIdx.y, b = blockIdx.z, i = threadIdx.x, t = c * q + i;
    const float dt = t < a.T ? ssd_dt(a, (long)b * a.T + t, h) : 0.0f;
    s[i] = dt * a.A[h];
    __syncthreads();
    for (int o = 1; o < q; o <<= 1) { /* Hillis-Steele inclusive scan */
        float v = i >= o ? s[i - o] : 0.0f;
        __syncthreads();
        s[i] += v;
        __syncthreads();
    }
    const long at = (((long)b * a.heads + h) * gridDim.x + c) * q + i;
    dts[at] = dt;
    cum[at] = s[i];
}

/* acc[r][q] += sum_k As[k][ty*4 + r] * Bs[k][tx*4 + q] over one k-slice. */
__device__ __forceinline__ void tile_fma(float acc[4][4], const float (*As)[LDS], const float (*Bs)[LDS], int ty, int tx,
                                         int depth) {
#pragma unroll
    for (int k = 0; k < depth; k++) {
        const float4 av = *(const float4 *)&As[k][ty * 4], bv = *(const float4 *)&Bs[k][tx * 4];
        const float ar[4] = {av.x, av.y, av.z, av.w}, br[4] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
        for (int r = 0; r < 4; r++)
#pragma unroll
            for (int q = 0; q < 4; q++) acc[r][q] = fmaf(ar[r], br[q], acc[r][q]);
    }
}

/* Loads a KT x 64 slice: dst[k][i] = src[i * ld + k0 + k] for i < rows, k0 + k < depth (else 0);
 * the reads run along k (the contiguous axis of src). */
__device__ __forceinline__ void load_rows_t(float (*dst)[LDS], const float *src, long ld, int rows, int k0, int depth) {
    for (int e = threadIdx.x; e < KT * Q; e += THREADS) {
        const int i = e / KT, k = e % KT;
        dst[k][i] = i < rows && k0 + k < depth ? src[(long)i * ld + k0 + k] : 0.0f;
    }
}

/* Loads a KT x 64 slice: dst[k][i] = src[(k0 + k) * ld + i] * (scale ? scale[k0 + k] : 1) for k0 + k < rows, i < cols. */
__device__ __forceinline__ void load_cols(float (*dst)[LDS], const float *src, long ld, int rows, int cols, int k0,
                                          const float *scale) {
    for (int e = threadIdx.x; e < KT * Q; e += THREADS) {
        const int k = e / Q, i = e % Q, j = k0 + k;
        float v = 0.0f;
        if (j < rows && i < cols) v = src[(long)j * ld + i] * (scale ? scale[j] : 1.0f);
        dst[k][i] = v;
    }
}

/* grid (nc * ptiles * ntiles, heads, batch): S_c[p, n] = sum_j x_j[p] w_j B_j[n] for one 64 x 64 tile. */
__global__ void __launch_bounds__(THREADS) k_ssd_chunk_state(br_ssd_args a, const float *dts, const float *cum, float *S) {
    __shared__ __align__(16) float As[KT][LDS], Bs[KT][LDS];
    __shared__ float w[Q];
    const int P = a.head_dim, N = a.d_state, nc = (a.T + Q - 1) / Q;
    const int ptiles = (P + Q - 1) / Q, ntiles = (N + Q - 1) / Q;
    const int c = blockIdx.x / (ptiles * ntiles), pt = (blockIdx.x / ntiles) % ptiles, nt = blockIdx.x % ntiles;
    const int h = blockIdx.y, b = blockIdx.z, g = h / (a.heads / a.groups);
    const int t0 = c * Q, L = min(Q, a.T - t0), p0 = pt * Q, n0 = nt * Q;
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
    const long dq = (((long)b * a.heads + h) * nc + c) * Q;
    if (threadIdx.x < Q) {
        const int j = threadIdx.x;
        w[j] = j < L ? dts[dq + j] * expf(cum[dq + L - 1] - cum[dq + j]) : 0.0f;
    }
    const long row0 = (long)b * a.T + t0;
    const float *X = a.x + row0 * a.ldx + (long)h * P + p0, *B = a.B + row0 * a.ldB + (long)g * N + n0;
    float acc[4][4] = {};
    for (int j0 = 0; j0 < L; j0 += KT) {
        __syncthreads();
        load_cols(As, X, a.ldx, L, P - p0, j0, w);
        load_cols(Bs, B, a.ldB, L, N - n0, j0, NULL);
        __syncthreads();
        tile_fma(acc, As, Bs, ty, tx, KT);
    }
    float *out = S + (((long)b * nc + c) * a.heads + h) * P * N;
#pragma unroll
    for (int r = 0; r < 4; r++)
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const int p = p0 + ty * 4 + r, n = n0 + tx * 4 + q;
            if (p < P && n < N) out[(long)p * N + n] = acc[r][q];
        }
}

/* grid (ceil(P*N / 256), heads, batch): passes the state through the chunks in
 * order, loading PASS_AHEAD chunks' contributions at a time so the loads overlap. */
#define PASS_AHEAD 8
__global__ void k_ssd_pass(br_ssd_args a, int q, const float *cum, float *S, __nv_bfloat16 *Sb) {
    const long PN = (long)a.head_dim * a.d_state, e = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= PN) return;
    const int h = blockIdx.y, b = blockIdx.z, nc = (a.T + q - 1) / q;
    const float *last = cum + ((long)b * a.heads + h) * nc * q + q - 1; /* cum at each chunk's last slot */
    float *st = a.state + a.slots[b] * a.state_stride + h * PN + e;
    const long at = ((long)b * nc * a.heads + h) * PN + e;            /* chunk c at at + c * heads * PN */
    float *Sc = S + at;
    __nv_bfloat16 *Sbc = Sb ? Sb + at : nullptr;                        /* a bf16 copy of the entering states */
    const long cstride = (long)a.heads * PN;
    float run = *st;
    for (int c0 = 0; c0 < nc; c0 += PASS_AHEAD) {
        float add[PASS_AHEAD], decay[PASS_AHEAD];
#pragma unroll
        for (int u = 0; u < PASS_AHEAD; u++)
            if (c0 + u < nc) {
                add[u] = Sc[(c0 + u) * cstride];
                decay[u] = expf(last[(long)(c0 + u) * q]); /* padded slots add 0 to cum, so slot q-1 is the chunk's last */
            }
#pragma unroll
        for (int u = 0; u < PASS_AHEAD; u++)
            if (c0 + u < nc) {
                Sc[(c0 + u) * cstride] = run;
                if (Sbc) Sbc[(c0 + u) * cstride] = __float2bfloat16(run);
                run = decay[u] * run + add[u];
            }
    }
    *st = run;
}

/* grid (nc, groups, batch): CB[i][j] = C_i . B_j within a chunk, shared by the heads of a group. */
__global__ void __launch_bounds__(THREADS) k_ssd_cb(br_ssd_args a, float *CB) {
    __shared__ __align__(16) float As[KT][LDS], Bs[KT][LDS];
    const int N = a.d_state, nc = (a.T + Q - 1) / Q, c = blockIdx.x, g = blockIdx.y, b = blockIdx.z;
    const int t0 = c * Q, L = min(Q, a.T - t0), ty = threadIdx.x / 16, tx = threadIdx.x % 16;
    const long row0 = (long)b * a.T + t0;
    const float *B = a.B + row0 * a.ldB + (long)g * N, *C = a.C + row0 * a.ldC + (long)g * N;
    float acc[4][4] = {};
    for (int n0 = 0; n0 < N; n0 += KT) {
        __syncthreads();
        load_rows_t(As, C, a.ldC, L, n0, N);
        load_rows_t(Bs, B, a.ldB, L, n0, N);
        __syncthreads();
        tile_fma(acc, As, Bs, ty, tx, KT);
    }
    float *out = CB + (((long)b * nc + c) * a.groups + g) * Q * Q;
#pragma unroll
    for (int r = 0; r < 4; r++)
        *(float4 *)&out[(ty * 4 + r) * Q + tx * 4] = make_float4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
}

/* grid (nc * ptiles, heads, batch): the outputs of one chunk for a 64-wide tile of channels. */
__global__ void __launch_bounds__(THREADS) k_ssd_chunk_scan(br_ssd_args a, const float *dts, const float *cum,
                                                            const float *CB, const float *S) {
    __shared__ __align__(16) float As[KT][LDS], Bs[KT][LDS], Mt[Q][LDS]; /* Mt[j][i] = M[i][j] */
    __shared__ float cs[Q], ds[Q];
    const int P = a.head_dim, N = a.d_state, nc = (a.T + Q - 1) / Q, ptiles = (P + Q - 1) / Q;
    const int c = blockIdx.x / ptiles, pt = blockIdx.x % ptiles, h = blockIdx.y, b = blockIdx.z;
    const int g = h / (a.heads / a.groups), t0 = c * Q, L = min(Q, a.T - t0), p0 = pt * Q;
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
    const long dq = (((long)b * a.heads + h) * nc + c) * Q;
    if (threadIdx.x < Q) cs[threadIdx.x] = cum[dq + threadIdx.x], ds[threadIdx.x] = dts[dq + threadIdx.x];
    const long row0 = (long)b * a.T + t0;
    const float *X = a.x + row0 * a.ldx + (long)h * P + p0;
    const float *C = a.C + row0 * a.ldC + (long)g * N;
    const float *H0 = S + (((long)b * nc + c) * a.heads + h) * P * N + (long)p0 * N; /* [P, N], entering */

    /* M = C B^T (from k_ssd_cb) with causal mask, decay and dt_j; kept transposed in shared memory. */
    const float *cb = CB + (((long)b * nc + c) * a.groups + g) * Q * Q;
    __syncthreads(); /* cs, ds */
#pragma unroll
    for (int r = 0; r < 4; r++) {
        const int i = ty * 4 + r;
        const float4 v = *(const float4 *)&cb[i * Q + tx * 4];
        const float vr[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const int j = tx * 4 + q;
            Mt[j][i] = j <= i && i < L ? vr[q] * expf(cs[i] - cs[j]) * ds[j] : 0.0f;
        }
    }
    /* Y = C h_enter^T over N, scaled by exp(cum_i) ... */
    float y[4][4] = {};
    for (int n0 = 0; n0 < N; n0 += KT) {
        __syncthreads();
        load_rows_t(As, C, a.ldC, L, n0, N);
        load_rows_t(Bs, H0, N, P - p0, n0, N);
        __syncthreads();
        tile_fma(y, As, Bs, ty, tx, KT);
    }
#pragma unroll
    for (int r = 0; r < 4; r++) {
        const float e = expf(cs[ty * 4 + r]);
#pragma unroll
        for (int q = 0; q < 4; q++) y[r][q] *= e;
    }
    /* ... plus M X over the chunk's tokens. */
    for (int j0 = 0; j0 < L; j0 += KT) {
        __syncthreads();
        load_cols(Bs, X, a.ldx, L, P - p0, j0, NULL);
        __syncthreads();
        tile_fma(y, (const float(*)[LDS])&Mt[j0][0], Bs, ty, tx, KT);
    }
    const float Dh = a.D ? a.D[h] : 0.0f;
#pragma unroll
    for (int r = 0; r < 4; r++)
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const int i = ty * 4 + r, p = tx * 4 + q;
            if (i < L && p0 + p < P) {
                const long row = row0 + i;
                a.y[row * a.ldy + (long)h * P + p0 + p] = y[r][q] + Dh * a.x[row * a.ldx + (long)h * P + p0 + p];
            }
        }
}

static void exact_chunk_states(const br_device *dev, const br_ssd_args *a, const ssd_work &w) {
    const int ptiles = (a->head_dim + Q - 1) / Q, ntiles = (a->d_state + Q - 1) / Q;
    k_ssd_chunk_state<<<dim3(w.nc * ptiles * ntiles, a->heads, a->batch), THREADS, 0, br_stream(dev)>>>(
        *a, a->work + w.dts, a->work + w.cum, a->work + w.S);
}

static void exact_chunk_outputs(const br_device *dev, const br_ssd_args *a, const ssd_work &w) {
    const int ptiles = (a->head_dim + Q - 1) / Q;
    float *dts = a->work + w.dts, *cum = a->work + w.cum, *CB = a->work + w.CB, *S = a->work + w.S;
    k_ssd_cb<<<dim3(w.nc, a->groups, a->batch), THREADS, 0, br_stream(dev)>>>(*a, CB);
    k_ssd_chunk_scan<<<dim3(w.nc * ptiles, a->heads, a->batch), THREADS, 0, br_stream(dev)>>>(*a, dts, cum, CB, S);
}

/* ---- entry points -------------------------------------------------------------------------------------------------- */

/* Prompts this short run the recurrent form (one pass, no work buffer traffic). */
#define RECURRENT_MAX_T 16

extern "C" long br_cuda_ssd_work_floats(const br_device *dev, const br_ssd_args *a) {
    (void)dev;
    return ssd_work_layout(a).total;
}

static void recurrent(const br_device *dev, const br_ssd_args *a) {
    if (a->d_state > MAX_STATE) {
        br_cuda_note(dev, cudaErrorInvalidValue); /* d_state above 256 has no recurrent CUDA form yet */
        return;
    }
    dim3 grid(br_blocks(a->head_dim, WARPS * ROWS), (unsigned)a->heads, (unsigned)a->batch);
    k_ssd_recurrent<<<grid, 32 * WARPS, 0, br_stream(dev)>>>(*a);
    BR_CUDA_LAUNCHED(dev);
}

extern "C" void br_cuda_ssd_step(const br_device *dev, const br_ssd_args *a) {
    if (a->batch > 0 && a->heads > 0) recurrent(dev, a);
}

extern "C" void br_cuda_ssd_prefill(const br_device *dev, const br_ssd_args *a) {
    if (a->batch <= 0 || a->heads <= 0 || a->T <= 0) return;
    if (a->T <= RECURRENT_MAX_T && a->d_state <= MAX_STATE) {
        recurrent(dev, a);
        return;
    }
    const ssd_work w = ssd_work_layout(a);
    float *dts = a->work + w.dts, *cum = a->work + w.cum, *S = a->work + w.S;
    cudaStream_t s = br_stream(dev);
    k_ssd_dt<<<dim3(w.nc, a->heads, a->batch), w.q, w.q * sizeof(float), s>>>(*a, dts, cum);
    if (w.mma) ssd_mma_chunk_states(dev, a, w);
    else exact_chunk_states(dev, a, w);
    const long PN = (long)a->head_dim * a->d_state;
    __nv_bfloat16 *Sb = w.mma ? (__nv_bfloat16 *)(a->work + w.Sb) : nullptr;
    k_ssd_pass<<<dim3(br_blocks(PN, THREADS), a->heads, a->batch), THREADS, 0, s>>>(*a, w.q, cum, S, Sb);
    if (w.mma) ssd_mma_chunk_outputs(dev, a, w);
    else exact_chunk_outputs(dev, a, w);
    BR_CUDA_LAUNCHED(dev);
}
