/*
 * ssd_mma.cu - the SSD chunk products on the tensor cores (bf16 operands,
 * f32 accumulation), for prefill with args.bf16_products (ssd_chunks.cuh
 * names the five kernels; dt and the state pass are ssd.cu's).
 *
 * x, B and C are first copied to bf16 (the work buffer's xb, Bb, Cb); the
 * pass leaves a bf16 copy of the entering states (Sb).  Chunks of Q = 256
 * tokens, cut in QT = 4 tiles of 64 tokens; every product is a 64 x 64
 * output tile of mma.cuh (128 threads) whose operand tiles arrive by
 * cp.async, two k-steps in flight:
 *   state  S_c[p, n] = sum_j x_j[p] (w_j B_j[n])              k = the chunk's tokens
 *          w_j = dt_j exp(cum_last - cum_j), applied to the staged B tile
 *   cb     CB[i, j]  = C_i . B_j (kept in bf16), tiles at or below the diagonal only   k = N
 *   scan   Y[i, p]   = exp(cum_i) sum_n C_i[n] h_enter[p, n]           k = N
 *                    + sum_{j <= i} M[i, j] x_j[p]                     k = tokens up to i
 *          M[i, j]   = CB[i, j] exp(cum_i - cum_j) dt_j, made in place from the staged CB tile
 *          (the decay split in a row and a column factor off the diagonal tile, see the kernel)
 *                    + D x_i[p]
 * x and B are read as they lie ([token][channel]) and handed to the tensor
 * cores transposed by ldmatrix.trans.  Per token and head (P = 64, N = 128)
 * that is 2PN + 2PN + QP = 49k FLOPs; one 256-token chunk state per head
 * instead of four 64-token ones makes the state pass and its traffic four
 * times smaller than the exact kind's.
 */
#include "convert.cuh"
#include "mma.cuh"
#include "ssd_chunks.cuh"

#define QC SSD_MMA_CHUNK
#define QT (QC / MMA_TILE)             /* token tiles per chunk */
#define TILE_PAIRS (QT * (QT + 1) / 2) /* (i, j) tiles of C B^T with j <= i */

typedef __nv_bfloat16 bf16;

__host__ __device__ static inline int tiles_of(int n) { return (n + MMA_TILE - 1) / MMA_TILE; }

/* The bf16 copies in the work buffer. */
struct mma_operands {
    const bf16 *x, *B, *C, *S; /* [n_tok, heads*P], [n_tok, groups*N] twice, [batch, nc, heads, P, N] */
};
static mma_operands operands_of(const br_ssd_args *a, const ssd_work &w) {
    return {(const bf16 *)(a->work + w.xb), (const bf16 *)(a->work + w.Bb), (const bf16 *)(a->work + w.Cb),
            (const bf16 *)(a->work + w.Sb)};
}

/* grid (nc * ptiles * ntiles, heads, batch): S_c[p, n] = sum_j x_j[p] w_j B_j[n] for one 64 x 64 tile. */
__global__ void __launch_bounds__(MMA_THREADS, MMA_MIN_BLOCKS)
    k_mma_chunk_state(br_ssd_args a, int nc, mma_operands o, const float *dts, const float *cum, float *S) {
    __shared__ __align__(128) mma_tile_t Xs[2], Bs[2]; /* [token][p], [token][n] */
    __shared__ float w[QC];
    const int P = a.head_dim, N = a.d_state, HP = a.heads * P, GN = a.groups * N, ptiles = tiles_of(P), ntiles = tiles_of(N);
    const int c = blockIdx.x / (ptiles * ntiles), pt = (blockIdx.x / ntiles) % ptiles, nt = blockIdx.x % ntiles;
    const int h = blockIdx.y, b = blockIdx.z, g = h / (a.heads / a.groups);
    const int t0 = c * QC, L = min(QC, a.T - t0), p0 = pt * MMA_TILE, n0 = nt * MMA_TILE;
    const long dq = (((long)b * a.heads + h) * nc + c) * QC, row0 = (long)b * a.T + t0;
    for (int j = threadIdx.x; j < QC; j += MMA_THREADS)
        w[j] = j < L ? dts[dq + j] * expf(cum[dq + L - 1] - cum[dq + j]) : 0.0f;
    const bf16 *X = o.x + row0 * HP + (long)h * P + p0, *B = o.B + row0 * GN + (long)g * N + n0;
    mma_acc acc;
    mma_zero(acc);
    mma_pipeline(
        (L + MMA_TILE - 1) / MMA_TILE,
        [&](int s, int buf) {
            const int j0 = s * MMA_TILE;
            mma_async_tile(Xs[buf], X + (long)j0 * HP, HP, L - j0, P - p0);
            mma_async_tile(Bs[buf], B + (long)j0 * GN, GN, L - j0, N - n0);
        },
        [&](int s, int buf) {
            /* B_j <- w_j B_j, eight values a thread at a time */
            for (int e = threadIdx.x; e < MMA_TILE * MMA_TILE / MMA_CHUNK; e += MMA_THREADS) {
                const int r = e / (MMA_TILE / MMA_CHUNK), k = (e % (MMA_TILE / MMA_CHUNK)) * MMA_CHUNK;
                const float wr = w[s * MMA_TILE + r];
                __nv_bfloat162 *v = (__nv_bfloat162 *)&Bs[buf][r][k];
#pragma unroll
                for (int u = 0; u < MMA_CHUNK / 2; u++) {
                    const float2 f = __bfloat1622float2(v[u]);
                    v[u] = __floats2bfloat162_rn(f.x * wr, f.y * wr);
                }
            }
            __syncthreads();
            mma_tile<true, true>(acc, Xs[buf], Bs[buf]);
        });
    float *out = S + (((long)b * nc + c) * a.heads + h) * P * N;
    mma_each(acc, [&](int r, int col, float &v) {
        const int p = p0 + r, n = n0 + col;
        if (p < P && n < N) out[(long)p * N + n] = v;
    });
}

/* grid (nc * TILE_PAIRS, groups, batch): CB[i, j] = C_i . B_j for one 64 x 64 tile at or below the diagonal. */
__global__ void __launch_bounds__(MMA_THREADS, MMA_MIN_BLOCKS) k_mma_cb(br_ssd_args a, int nc, mma_operands o, bf16 *CB) {
    __shared__ __align__(128) mma_tile_t Cs[2], Bs[2]; /* [token][n] */
    const int N = a.d_state, GN = a.groups * N, c = blockIdx.x / TILE_PAIRS, pair = blockIdx.x % TILE_PAIRS;
    const int g = blockIdx.y, b = blockIdx.z;
    int ti = 0;
    while ((ti + 1) * (ti + 2) / 2 <= pair) ti++;
    const int tj = pair - ti * (ti + 1) / 2, t0 = c * QC, L = min(QC, a.T - t0), i0 = ti * MMA_TILE, j0 = tj * MMA_TILE;
    if (i0 >= L) return; /* past the last token: no output row reads this tile */
    const long row0 = (long)b * a.T + t0;
    const bf16 *C = o.C + (row0 + i0) * GN + (long)g * N, *B = o.B + (row0 + j0) * GN + (long)g * N;
    mma_acc acc;
    mma_zero(acc);
    mma_rows_product(acc, Cs, Bs, C, GN, L - i0, B, GN, L - j0, N);
    bf16 *out = CB + (((long)b * nc + c) * a.groups + g) * QC * QC;
    mma_each(acc, [&](int r, int col, float &v) { out[(long)(i0 + r) * QC + j0 + col] = __float2bfloat16(v); });
}

/* grid (nc * QT * ptiles, heads, batch): the outputs of one 64-token tile of a chunk for 64 channels. */
__global__ void __launch_bounds__(MMA_THREADS, MMA_MIN_BLOCKS)
    k_mma_chunk_scan(br_ssd_args a, int nc, mma_operands o, const float *dts, const float *cum, const bf16 *CB) {
    __shared__ __align__(128) mma_tile_t As[2], Bs[2]; /* C [i][n] and h_enter [p][n]; then CB -> M [i][j] and x [j][p] */
    __shared__ float cs[QC], ds[QC];
    const int P = a.head_dim, N = a.d_state, HP = a.heads * P, GN = a.groups * N, ptiles = tiles_of(P);
    const int c = blockIdx.x / (QT * ptiles), ti = (blockIdx.x / ptiles) % QT, pt = blockIdx.x % ptiles;
    const int h = blockIdx.y, b = blockIdx.z, g = h / (a.heads / a.groups);
    const int t0 = c * QC, L = min(QC, a.T - t0), i0 = ti * MMA_TILE, p0 = pt * MMA_TILE;
    if (i0 >= L) return;
    const long dq = (((long)b * a.heads + h) * nc + c) * QC, row0 = (long)b * a.T + t0;
    for (int j = threadIdx.x; j < QC; j += MMA_THREADS) cs[j] = cum[dq + j], ds[j] = dts[dq + j];
    __syncthreads();
    const bf16 *C = o.C + (row0 + i0) * GN + (long)g * N, *X = o.x + row0 * HP + (long)h * P + p0;
    const bf16 *H0 = o.S + (((long)b * nc + c) * a.heads + h) * P * N + (long)p0 * N; /* [P, N] */
    const bf16 *cb = CB + (((long)b * nc + c) * a.groups + g) * QC * QC + (long)i0 * QC; /* this tile's rows */

    /* With c0 = cum just before this tile (0 for the first), every decay splits into two factors of
     * at most 1: exp(cum_i - cum_j) = exp(cum_i - c0) exp(c0 - cum_j) for j < i0 <= i.  So
     *   Y = diag(exp(cum_i - c0)) [exp(c0) C h_enter^T + sum_{j < i0} CB[i, j] exp(c0 - cum_j) dt_j x_j]
     *     + sum_{i0 <= j <= i} CB[i, j] exp(cum_i - cum_j) dt_j x_j
     * and only the diagonal tile takes an exponential per element. */
    const float c0 = i0 > 0 ? cs[i0 - 1] : 0.0f;
    mma_acc acc;
    mma_zero(acc);
    mma_rows_product(acc, As, Bs, C, GN, L - i0, H0, N, P - p0, N);
    const float e0 = expf(c0);
    mma_scale_rows(acc, [&](int) { return e0; });

    /* CB arrives in As and becomes M there (in place), x in Bs. */
    mma_pipeline(
        ti + 1,
        [&](int s, int buf) {
            const int j0 = s * MMA_TILE;
            mma_async_tile(As[buf], cb + j0, QC, L - i0, MMA_TILE);
            mma_async_tile(Bs[buf], X + (long)j0 * HP, HP, L - j0, P - p0);
        },
        [&](int s, int buf) {
            const int k = mma_stage_k(), ja = s * MMA_TILE + k, jb = ja + 1; /* a thread's two columns */
            if (s < ti) {
                const float fa = expf(c0 - cs[ja]) * ds[ja], fb = expf(c0 - cs[jb]) * ds[jb];
                mma_stage(As[buf], [&](int r, int) {
                    const float2 v = __bfloat1622float2(*(const __nv_bfloat162 *)&As[buf][r][k]);
                    return make_float2(v.x * fa, v.y * fb);
                });
            } else {
                mma_scale_rows(acc, [&](int r) { return expf(cs[i0 + r] - c0); });
                const float cja = cs[ja], cjb = cs[jb], dja = ds[ja], djb = ds[jb];
                mma_stage(As[buf], [&](int r, int) {
                    const int i = i0 + r;
                    const float2 v = __bfloat1622float2(*(const __nv_bfloat162 *)&As[buf][r][k]);
                    return make_float2(ja <= i ? v.x * expf(cs[i] - cja) * dja : 0.0f,
                                       jb <= i ? v.y * expf(cs[i] - cjb) * djb : 0.0f);
                });
            }
            __syncthreads();
            mma_tile<false, true>(acc, As[buf], Bs[buf]);
        });

    /* + D x, every x read before the first store (y may alias x, so reads after a store would wait on it) */
    if (a.D) {
        const float Dh = a.D[h];
        mma_each(acc, [&](int r, int col, float &v) {
            if (i0 + r < L && p0 + col < P) v += Dh * a.x[(row0 + i0 + r) * a.ldx + (long)h * P + p0 + col];
        });
    }
    mma_each(acc, [&](int r, int col, float &v) {
        if (i0 + r < L && p0 + col < P) a.y[(row0 + i0 + r) * a.ldy + (long)h * P + p0 + col] = v;
    });
}

void ssd_mma_chunk_states(const br_device *dev, const br_ssd_args *a, const ssd_work &w) {
    const int n_tok = a->batch * a->T, HP = a->heads * a->head_dim, GN = a->groups * a->d_state;
    bf16 *xb = (bf16 *)(a->work + w.xb), *Bb = (bf16 *)(a->work + w.Bb), *Cb = (bf16 *)(a->work + w.Cb);
    br_cuda_convert_rows(dev, n_tok, HP, a->x, a->ldx, xb, HP);
    br_cuda_convert_rows(dev, n_tok, GN, a->B, a->ldB, Bb, GN);
    br_cuda_convert_rows(dev, n_tok, GN, a->C, a->ldC, Cb, GN);
    const int tiles = tiles_of(a->head_dim) * tiles_of(a->d_state);
    k_mma_chunk_state<<<dim3(w.nc * tiles, a->heads, a->batch), MMA_THREADS, 0, br_stream(dev)>>>(
        *a, w.nc, operands_of(a, w), a->work + w.dts, a->work + w.cum, a->work + w.S);
}

void ssd_mma_chunk_outputs(const br_device *dev, const br_ssd_args *a, const ssd_work &w) {
    cudaStream_t s = br_stream(dev);
    const mma_operands o = operands_of(a, w);
    bf16 *CB = (bf16 *)(a->work + w.CB);
    k_mma_cb<<<dim3(w.nc * TILE_PAIRS, a->groups, a->batch), MMA_THREADS, 0, s>>>(*a, w.nc, o, CB);
    k_mma_chunk_scan<<<dim3(w.nc * QT * tiles_of(a->head_dim), a->heads, a->batch), MMA_THREADS, 0, s>>>(
        *a, w.nc, o, a->work + w.dts, a->work + w.cum, CB);
}
