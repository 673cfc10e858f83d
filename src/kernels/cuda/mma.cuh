/*
 * mma.cuh - 64 x 64 tiles of bf16 products on the tensor cores (mma.sync
 * m16n8k16, f32 accumulation), operands staged in shared memory.
 *
 * A staged operand is a 64 x 64 tile of bf16, rows MMA_LD halves apart
 * (64 + 8: the eight 16-byte rows an ldmatrix reads fall on different
 * banks).  It comes from bf16 in global memory by cp.async (16 bytes a
 * copy, no registers, so the next tile loads while the tensor cores work
 * on this one), or from registers when it is computed (mma_stage).  Four
 * warps share a 64 x 64 output tile, each a 32 x 32 quarter (2 x 4
 * fragments of 16 x 8):
 *   acc[m][n] += sum_k A[m][k] B[n][k]
 * Each operand is held either with k along its rows (A as [m][k], B as
 * [n][k]) or transposed (A as [k][m], B as [k][n]: a tile copied as it lies
 * in a row-major activation); ldmatrix, or ldmatrix.trans for the second,
 * hands out the fragments of the PTX ISA's layout either way: with
 * g = lane / 4 and q = lane % 4, A rows g and g + 8 at k 2q, 2q + 1 and
 * 2q + 8, 2q + 9; B column g at the same k; accumulators rows g and g + 8,
 * columns 2q and 2q + 1.
 */
#ifndef BR_KERNELS_CUDA_MMA_CUH
#define BR_KERNELS_CUDA_MMA_CUH

#include <cuda_bf16.h>
#include <stdint.h>

#define MMA_TILE 64                 /* output tile edge and k-step of the staged operands */
#define MMA_LD (MMA_TILE + 8)       /* shared row stride in halves */
#define MMA_THREADS 128             /* four warps, 2 x 2 quarters of 32 x 32 */
#define MMA_MIN_BLOCKS 3            /* blocks an SM should hold: up to 168 registers a thread */
#define MMA_CHUNK 8                 /* halves in one 16-byte cp.async */

typedef __nv_bfloat16 mma_tile_t[MMA_TILE][MMA_LD]; /* one staged operand */

/* The accumulators of one warp's 32 x 32 quarter: [m16 block][n8 block][4]. */
struct mma_acc {
    float v[2][4][4];
};

__device__ __forceinline__ void mma_zero(mma_acc &c) {
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) c.v[i][j][e] = 0.0f;
}

__device__ __forceinline__ void mma_16816(float c[4], const uint32_t a[4], const uint32_t b[2]) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/* Four 8 x 8 matrices from shared memory: lane l names row l % 8 of matrix l / 8; TRANS hands each
 * matrix out transposed. */
template <bool TRANS> __device__ __forceinline__ void mma_ldmatrix_x4(uint32_t r[4], const __nv_bfloat16 *row) {
    const unsigned a = (unsigned)__cvta_generic_to_shared(row);
    if (TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                     : "r"(a));
    else
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                     : "r"(a));
}

/* The warp's quarter of the tile: rows mma_row0() .. +32, columns mma_col0() .. +32. */
__device__ __forceinline__ int mma_row0() { return (threadIdx.x >> 6) * 32; }
__device__ __forceinline__ int mma_col0() { return ((threadIdx.x >> 5) & 1) * 32; }

/* acc += A B^T over the tiles' 64 k.  A_KM: A held as [k][m]; B_KN: B held as [k][n].  The four
 * matrices of an A fragment are (m +0, k +0), (m +8, k +0), (m +0, k +8), (m +8, k +8); of a pair of
 * B's n8 blocks (n +0, k +0), (n +0, k +8), (n +8, k +0), (n +8, k +8). */
template <bool A_KM, bool B_KN> __device__ __forceinline__ void mma_tile(mma_acc &c, const mma_tile_t &A, const mma_tile_t &B) {
    const int lane = threadIdx.x & 31, mi = lane >> 3, l8 = lane & 7, r0 = mma_row0(), c0 = mma_col0();
#pragma unroll
    for (int k = 0; k < MMA_TILE; k += 16) {
        uint32_t a[2][4], b[4][2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int m = r0 + 16 * i + (mi & 1) * 8, kk = k + (mi >> 1) * 8;
            mma_ldmatrix_x4<A_KM>(a[i], A_KM ? &A[kk + l8][m] : &A[m + l8][kk]);
        }
#pragma unroll
        for (int j = 0; j < 4; j += 2) {
            const int n = c0 + 8 * j + (mi >> 1) * 8, kk = k + (mi & 1) * 8;
            uint32_t t[4];
            mma_ldmatrix_x4<B_KN>(t, B_KN ? &B[kk + l8][n] : &B[n + l8][kk]);
            b[j][0] = t[0], b[j][1] = t[1], b[j + 1][0] = t[2], b[j + 1][1] = t[3];
        }
#pragma unroll
        for (int i = 0; i < 2; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) mma_16816(c.v[i][j], a[i], b[j]);
    }
}

/* Visits the thread's accumulators with their tile coordinates: f(row, col, value&). */
template <typename F> __device__ __forceinline__ void mma_each(mma_acc &c, F f) {
    const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3, r0 = mma_row0(), c0 = mma_col0();
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) f(r0 + 16 * i + g + 8 * (e >> 1), c0 + 8 * j + 2 * q + (e & 1), c.v[i][j][e]);
}

/* Scales the accumulators' rows: row m by f(m), f called once for each row the thread holds. */
template <typename F> __device__ __forceinline__ void mma_scale_rows(mma_acc &c, F f) {
    const int g = (threadIdx.x & 31) >> 2, r0 = mma_row0();
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const float s = f(r0 + 16 * i + g + 8 * half);
#pragma unroll
            for (int j = 0; j < 4; j++) c.v[i][j][2 * half] *= s, c.v[i][j][2 * half + 1] *= s;
        }
}

/* ---- staging ------------------------------------------------------------------------------------------------------ */

/* Starts copying dst[r][c] = src[r * ld + c] for r < rows, c < cols (cols and ld multiples of
 * MMA_CHUNK, src 16-byte aligned); the rest of the tile is zero-filled.  mma_async_wait() ends it. */
__device__ __forceinline__ void mma_async_tile(mma_tile_t &dst, const __nv_bfloat16 *src, long ld, int rows, int cols) {
    constexpr int PER_ROW = MMA_TILE / MMA_CHUNK;
#pragma unroll
    for (int it = 0; it < MMA_TILE * PER_ROW / MMA_THREADS; it++) {
        const int e = threadIdx.x + it * MMA_THREADS, r = e / PER_ROW, c = (e % PER_ROW) * MMA_CHUNK;
        const bool in = r < rows && c < cols;
        const unsigned d = (unsigned)__cvta_generic_to_shared(&dst[r][c]);
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(in ? src + r * ld + c : src),
                     "r"(in ? 16 : 0));
    }
}
__device__ __forceinline__ void mma_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
/* Waits until at most `pending` committed groups are still in flight. */
template <int pending> __device__ __forceinline__ void mma_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(pending));
}

/* Stages a computed tile: pair(r, k) gives the f32 values of dst[r][k] and dst[r][k + 1].  A warp
 * takes one row's 64 values; a thread's k is always mma_stage_k(). */
#define MMA_STAGE_ITER (MMA_TILE * MMA_TILE / 2 / MMA_THREADS)
static_assert(MMA_THREADS % (MMA_TILE / 2) == 0, "a thread keeps one k when staging");
__device__ __forceinline__ int mma_stage_k() { return 2 * (threadIdx.x % (MMA_TILE / 2)); }
template <typename F> __device__ __forceinline__ void mma_stage(mma_tile_t &dst, F pair) {
    const int k = mma_stage_k();
#pragma unroll
    for (int it = 0; it < MMA_STAGE_ITER; it++) {
        const int r = (threadIdx.x + it * MMA_THREADS) / (MMA_TILE / 2);
        const float2 v = pair(r, k);
        *(__nv_bfloat162 *)&dst[r][k] = __floats2bfloat162_rn(v.x, v.y);
    }
}

/* A k-loop of `steps` 64-wide steps with two steps' copies in flight: issue(s, buf) starts step s's
 * copies into buffer buf, use(s, buf) runs once they have landed (between barriers). */
template <typename Issue, typename Use> __device__ __forceinline__ void mma_pipeline(int steps, Issue issue, Use use) {
    issue(0, 0);
    mma_async_commit();
    for (int s = 0; s < steps; s++) {
        if (s + 1 < steps) {
            issue(s + 1, (s + 1) & 1);
            mma_async_commit();
            mma_async_wait<1>();
        } else {
            mma_async_wait<0>();
        }
        __syncthreads();
        use(s, s & 1);
        __syncthreads(); /* buffer s & 1 is free for step s + 2 */
    }
}

/* acc += A B^T over k < K for A [rows_a, K] and B [rows_b, K], bf16 with k along their rows (strides
 * lda, ldb, multiples of MMA_CHUNK), through the double buffers As and Bs. */
__device__ __forceinline__ void mma_rows_product(mma_acc &acc, mma_tile_t (&As)[2], mma_tile_t (&Bs)[2],
                                                 const __nv_bfloat16 *A, long lda, int rows_a, const __nv_bfloat16 *B,
                                                 long ldb, int rows_b, int K) {
    mma_pipeline(
        (K + MMA_TILE - 1) / MMA_TILE,
        [&](int s, int buf) {
            const int k0 = s * MMA_TILE;
            mma_async_tile(As[buf], A + k0, lda, rows_a, K - k0);
            mma_async_tile(Bs[buf], B + k0, ldb, rows_b, K - k0);
        },
        [&](int, int buf) { mma_tile<false, false>(acc, As[buf], Bs[buf]); });
}

#endif /* BR_KERNELS_CUDA_MMA_CUH */
