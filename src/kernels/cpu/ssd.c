/*
 * ssd.c (cpu) - Mamba-2 SSD: chunked prefill, recurrent step, and the
 * sequential reference scan.
 *
 * Chunked prefill, per sequence and head, for a chunk of L tokens entering
 * with state h0 [P, N] (cum_i = sum_{s<=i} dt_s A):
 *   M[i, j]  = (C_i . B_j) exp(cum_i - cum_j) dt_j        (j <= i)
 *   Y        = M X + diag(exp(cum)) C h0^T                [L, P]
 *   h1       = exp(cum_{L-1}) h0 + (X o w)^T B,  w_j = dt_j exp(cum_{L-1} - cum_j)
 * The products go through the BLAS; the chunk's decays stay bounded because
 * cumulative sums restart at each chunk.
 */
#include "kernels/ssd.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels/act.h"

static inline float step_dt(const br_ssd_args *a, long row, int h) {
    float dt = a->dt[row * a->lddt + h] + (a->dt_bias ? a->dt_bias[h] : 0.0f);
    dt = br_softplus(dt);
    if (dt < a->dt_min) dt = a->dt_min;
    if (dt > a->dt_max) dt = a->dt_max;
    return dt;
}

long br_cpu_ssd_work_floats(const br_device *dev, const br_ssd_args *a) {
    long Q = a->chunk, P = a->head_dim;
    return Q * Q + 3 * Q * P + 2 * Q;
}

/* One token of the recurrence for head h of sequence b (row = token row). */
static void recur_token(const br_ssd_args *a, int b, long row, int h) {
    const int P = a->head_dim, N = a->d_state, g = h / (a->heads / a->groups);
    float *st = a->state + a->slots[b] * a->state_stride + (long)h * P * N;
    float dt = step_dt(a, row, h), dA = expf(dt * a->A[h]);
    const float *x = a->x + row * a->ldx + (long)h * P;
    const float *B = a->B + row * a->ldB + (long)g * N, *C = a->C + row * a->ldC + (long)g * N;
    float *y = a->y + row * a->ldy + (long)h * P;
    for (int p = 0; p < P; p++) {
        float *hp = st + (long)p * N, acc = 0.0f, dx = dt * x[p];
        for (int n = 0; n < N; n++) {
            hp[n] = dA * hp[n] + dx * B[n];
            acc += hp[n] * C[n];
        }
        y[p] = acc + (a->D ? a->D[h] * x[p] : 0.0f);
    }
}

void br_cpu_ssd_step(const br_device *dev, const br_ssd_args *a) {
    for (int b = 0; b < a->batch; b++)
        for (int h = 0; h < a->heads; h++) recur_token(a, b, b, h);
}

void br_cpu_ssd_scan_ref(const br_device *dev, const br_ssd_args *a) {
    for (int b = 0; b < a->batch; b++)
        for (int t = 0; t < a->T; t++)
            for (int h = 0; h < a->heads; h++) recur_token(a, b, (long)b * a->T + t, h);
}

static void chunk(const br_ssd_args *a, int b, int h, int t0, int L) {
    const int P = a->head_dim, N = a->d_state, Q = a->chunk, g = h / (a->heads / a->groups);
    float *M = a->work, *Y = M + (long)Q * Q, *Xw = Y + (long)Q * P, *Yh = Xw + (long)Q * P;
    float *cum = Yh + (long)Q * P, *dts = cum + Q;
    const long row0 = (long)b * a->T + t0;
    const float *X = a->x + row0 * a->ldx + (long)h * P;
    const float *B = a->B + row0 * a->ldB + (long)g * N, *C = a->C + row0 * a->ldC + (long)g * N;
    float *h0 = a->state + a->slots[b] * a->state_stride + (long)h * P * N;
    float run = 0.0f;
    for (int i = 0; i < L; i++) {
        dts[i] = step_dt(a, row0 + i, h);
        run += dts[i] * a->A[h];
        cum[i] = run;
    }
    /* M = C B^T, then causal mask, decay and dt_j. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, N, 1.0f, C, a->ldC, B, a->ldB, 0.0f, M, L);
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++) M[(long)i * L + j] = j <= i ? M[(long)i * L + j] * expf(cum[i] - cum[j]) * dts[j] : 0.0f;
    /* Y = M X  +  diag(exp(cum)) C h0^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, P, L, 1.0f, M, L, X, a->ldx, 0.0f, Y, P);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, P, N, 1.0f, C, a->ldC, h0, N, 0.0f, Yh, P);
    for (int i = 0; i < L; i++) {
        float e = expf(cum[i]);
        float *yo = a->y + (row0 + i) * a->ldy + (long)h * P;
        const float *xi = X + (long)i * a->ldx;
        for (int p = 0; p < P; p++)
            yo[p] = Y[(long)i * P + p] + e * Yh[(long)i * P + p] + (a->D ? a->D[h] * xi[p] : 0.0f);
    }
    /* h1 = exp(cum_last) h0 + (X o w)^T B */
    const float last = cum[L - 1];
    for (int j = 0; j < L; j++) {
        float w = dts[j] * expf(last - cum[j]);
        for (int p = 0; p < P; p++) Xw[(long)j * P + p] = X[(long)j * a->ldx + p] * w;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, P, N, L, 1.0f, Xw, P, B, a->ldB, expf(last), h0, N);
}

void br_cpu_ssd_prefill(const br_device *dev, const br_ssd_args *a) {
    for (int b = 0; b < a->batch; b++)
        for (int h = 0; h < a->heads; h++)
            for (int t0 = 0; t0 < a->T; t0 += a->chunk) chunk(a, b, h, t0, a->T - t0 < a->chunk ? a->T - t0 : a->chunk);
}
