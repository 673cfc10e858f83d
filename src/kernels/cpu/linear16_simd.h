/*
 * linear16_simd.h - the body of the SIMD 16-bit-weight kernels (linear16.h),
 * written once against a few vector operations that the file including it
 * defines for its instruction set (linear16_avx512.c, linear16_avx2.c):
 *
 *   TARGET                  function attribute naming the instruction set
 *   V, VL                   f32 vector type and its lanes
 *   v_zero() v_load(p) v_store(p, v) v_set1(f)
 *   v_widen(p, dt)          VL 16-bit values of type dt from p, as f32
 *   v_add(a, b) v_fma(a, b, c)   a + b;  a * b + c
 *   v_sum4(a, b, c, d, out) out[0..3] = the lane sums of a, b, c, d
 *   v_transpose(r)          r[VL]: rows become columns
 *   KERNEL                  the name of the kernel it defines
 *
 * Two ways through, by the number of rows of x:
 *
 * Few rows (decode, n < BR_LINEAR16_GEMM_ROWS): dot products.  A tile is
 * MR rows of x by NR rows of W (NR a multiple of 4): MR * NR accumulators
 * of VL partial sums, fed by VL-wide steps along k, each W vector widened
 * in registers and used MR times, then summed across lanes.  The last in % VL elements go
 * through zero-padded copies.  The matrix is read once, as it is stored.
 *
 * Many rows (prefill): W is packed, a block of G_OB rows by G_KB columns at a
 * time, into the caller's work memory as f32 columns, pk[k][o] (widened,
 * then transposed VL x VL at a time), and every row of x passes over the
 * block: a tile is G_MR rows of x by G_NV vectors of outputs, each step
 * along k broadcasting one x value per row against G_NV vectors of pk, so
 * nothing is summed across lanes.  Partial sums over k blocks accumulate in
 * y.  Packing costs one widening per element of W per call, spread over the
 * n rows.
 *
 * Tiles at the edges that have fewer rows of x repeat a valid row and drop
 * its results; packed columns past the last row of W are zero.  MR, NR and
 * the like are constants in every inlined call, so accumulators live in
 * registers.
 */
#ifndef TARGET
#error "define the vector operations before including linear16_simd.h"
#endif

#define INLINE static inline __attribute__((always_inline)) TARGET
#define MR_MAX 4
#define NR_MAX 8
#define O_BLOCK 64 /* decode: W rows walked together (x rows stay in L1) */
#define G_MR 6
#define G_NV 4
#define G_OB (G_NV * VL)
#define G_KB 256

_Static_assert(G_KB * G_OB <= BR_LINEAR16_WORK_FLOATS, "the packed block must fit the work memory");
_Static_assert(G_KB % VL == 0, "blocks of k are whole vectors");

/* ---- few rows: dot products ---------------------------------------------------------------- */

INLINE void tile(const br_linear16_args *a, br_dtype dt, const int MR, const int NR, int i0, int mr, int o0, int nr) {
    const float *xr[MR_MAX];
    const uint16_t *wr[NR_MAX];
    for (int r = 0; r < MR; r++) xr[r] = a->x + (long)(i0 + (r < mr ? r : 0)) * a->ldx;
    for (int c = 0; c < NR; c++) wr[c] = a->w + (long)(o0 + (c < nr ? c : 0)) * a->in;
    V acc[MR_MAX][NR_MAX];
    for (int r = 0; r < MR; r++)
        for (int c = 0; c < NR; c++) acc[r][c] = v_zero();
    const int kv = a->in - a->in % VL;
    for (int k = 0; k < kv; k += VL) {
        V w[NR_MAX];
        for (int c = 0; c < NR; c++) w[c] = v_widen(wr[c] + k, dt);
        for (int r = 0; r < MR; r++) {
            const V x = v_load(xr[r] + k);
            for (int c = 0; c < NR; c++) acc[r][c] = v_fma(x, w[c], acc[r][c]);
        }
    }
    if (kv < a->in) { /* the tail, zero-padded to one vector */
        const int tail = a->in - kv;
        uint16_t wt[VL] = {0};
        float xt[VL] = {0};
        V w[NR_MAX];
        for (int c = 0; c < NR; c++) {
            memcpy(wt, wr[c] + kv, (size_t)tail * sizeof *wt);
            w[c] = v_widen(wt, dt);
        }
        for (int r = 0; r < MR; r++) {
            memcpy(xt, xr[r] + kv, (size_t)tail * sizeof *xt);
            const V x = v_load(xt);
            for (int c = 0; c < NR; c++) acc[r][c] = v_fma(x, w[c], acc[r][c]);
        }
    }
    for (int r = 0; r < mr; r++) {
        float s[NR_MAX];
        for (int c = 0; c < NR; c += 4) v_sum4(acc[r][c], acc[r][c + 1], acc[r][c + 2], acc[r][c + 3], s + c);
        float *y = a->y + (long)(i0 + r) * a->ldy + o0;
        for (int c = 0; c < nr; c++) y[c] = s[c] + (a->b ? a->b[o0 + c] : 0.0f) + (a->beta != 0.0f ? a->beta * y[c] : 0.0f);
    }
}

/* Rows [o0, o1) of W against x rows [i0, i0 + mr), NR rows at a time. */
INLINE void panel(const br_linear16_args *a, br_dtype dt, const int MR, const int NR, int i0, int mr, int o0, int o1) {
    for (int o = o0; o < o1; o += NR) tile(a, dt, MR, NR, i0, mr, o, o1 - o < NR ? o1 - o : NR);
}

INLINE void dot_rows(const br_linear16_args *a, br_dtype dt, int o0, int o1) {
    for (int ob = o0; ob < o1; ob += O_BLOCK) {
        const int oe = ob + (o1 - ob < O_BLOCK ? o1 - ob : O_BLOCK);
        for (int i0 = 0; i0 < a->n; i0 += MR_MAX) {
            switch (a->n - i0 < MR_MAX ? a->n - i0 : MR_MAX) {
            case 1: panel(a, dt, 1, 8, i0, 1, ob, oe); break;
            case 2: panel(a, dt, 2, 8, i0, 2, ob, oe); break;
            case 3: panel(a, dt, 3, 4, i0, 3, ob, oe); break;
            default: panel(a, dt, 4, 4, i0, 4, ob, oe); break;
            }
        }
    }
}

/* ---- many rows: a packed block of W ---------------------------------------------------------- */

/* pk[k][o] = W[o0 + o][k0 + k] for o < no, k < nk (as f32); zero for o in [no, G_OB). */
INLINE void pack(const br_linear16_args *a, br_dtype dt, int o0, int no, int k0, int nk, float *pk) {
    for (int ov = 0; ov < G_OB; ov += VL)
        for (int kv = 0; kv < nk; kv += VL) {
            V r[VL];
            const int kn = nk - kv < VL ? nk - kv : VL;
            for (int i = 0; i < VL; i++) {
                if (ov + i >= no) {
                    r[i] = v_zero();
                    continue;
                }
                const uint16_t *w = a->w + (long)(o0 + ov + i) * a->in + k0 + kv;
                if (kn == VL) {
                    r[i] = v_widen(w, dt);
                } else { /* the last columns of W, zero-padded */
                    uint16_t t[VL] = {0};
                    memcpy(t, w, (size_t)kn * sizeof *t);
                    r[i] = v_widen(t, dt);
                }
            }
            v_transpose(r);
            for (int i = 0; i < kn; i++) v_store(pk + (long)(kv + i) * G_OB + ov, r[i]);
        }
}

/* y[i0 .. i0 + mr, o0 .. o0 + no] (+)= x[i0 .., k0 .. k0 + nk] pk; `first`: the first block of k, which
 * also adds the bias and beta y. */
INLINE void gemm_tile(const br_linear16_args *a, int i0, int mr, const float *pk, int k0, int nk, int o0, int no,
                      int first) {
    const float *xr[G_MR];
    for (int r = 0; r < G_MR; r++) xr[r] = a->x + (long)(i0 + (r < mr ? r : 0)) * a->ldx + k0;
    V acc[G_MR][G_NV];
    for (int r = 0; r < G_MR; r++)
        for (int j = 0; j < G_NV; j++) acc[r][j] = v_zero();
    for (int k = 0; k < nk; k++) {
        V w[G_NV];
        for (int j = 0; j < G_NV; j++) w[j] = v_load(pk + (long)k * G_OB + j * VL);
        for (int r = 0; r < G_MR; r++) {
            const V x = v_set1(xr[r][k]);
            for (int j = 0; j < G_NV; j++) acc[r][j] = v_fma(x, w[j], acc[r][j]);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < G_NV && j * VL < no; j++) {
            float *y = a->y + (long)(i0 + r) * a->ldy + o0 + j * VL;
            const float *b = a->b ? a->b + o0 + j * VL : NULL;
            if (no - j * VL >= VL) { /* a whole vector of outputs */
                V s = acc[r][j];
                if (!first) s = v_add(s, v_load(y));
                else if (b) s = v_add(s, v_load(b));
                if (first && a->beta != 0.0f) s = v_fma(v_set1(a->beta), v_load(y), s);
                v_store(y, s);
                continue;
            }
            float s[VL];
            v_store(s, acc[r][j]);
            for (int c = 0; c < no - j * VL; c++)
                y[c] = !first ? y[c] + s[c] : s[c] + (b ? b[c] : 0.0f) + (a->beta != 0.0f ? a->beta * y[c] : 0.0f);
        }
}

INLINE void gemm_rows(const br_linear16_args *a, br_dtype dt, int o0, int o1, float *pk) {
    for (int ob = o0; ob < o1; ob += G_OB) {
        const int no = o1 - ob < G_OB ? o1 - ob : G_OB;
        for (int k0 = 0; k0 < a->in; k0 += G_KB) {
            const int nk = a->in - k0 < G_KB ? a->in - k0 : G_KB;
            pack(a, dt, ob, no, k0, nk, pk);
            for (int i0 = 0; i0 < a->n; i0 += G_MR)
                gemm_tile(a, i0, a->n - i0 < G_MR ? a->n - i0 : G_MR, pk, k0, nk, ob, no, k0 == 0);
        }
    }
}

TARGET void KERNEL(const br_linear16_args *a, int o0, int o1, float *work) {
    if (work && a->n >= BR_LINEAR16_GEMM_ROWS && a->in > 0) {
        if (a->dtype == BR_BF16) gemm_rows(a, BR_BF16, o0, o1, work);
        else gemm_rows(a, BR_F16, o0, o1, work);
    } else {
        if (a->dtype == BR_BF16) dot_rows(a, BR_BF16, o0, o1);
        else dot_rows(a, BR_F16, o0, o1);
    }
}

#undef INLINE
#undef MR_MAX
#undef NR_MAX
#undef O_BLOCK
#undef G_MR
#undef G_NV
#undef G_OB
#undef G_KB
