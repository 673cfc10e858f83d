/*
 * scan.h - the Mamba-1 selective scan.
 *
 * Per channel c (head g = c / (d_inner/heads) selects B, C columns) and token t:
 *   dt   = softplus(delta[t, c] + delta_bias[c])   (softplus only if set)
 *   h    = exp(dt * A[c, :]) * h + dt * B[t, g, :] * u[t, c]      h: [N]
 *   y    = C[t, g, :] . h + D[c] * u[t, c]
 *   y   *= silu(z[t, c])                                        (if z)
 * with A = -exp(A_log) precomputed.  h is carried per sequence in
 * state [d_inner, N].  Prefill walks T tokens; step is T == 1.
 */
#ifndef BR_KERNELS_SCAN_H
#define BR_KERNELS_SCAN_H

#include <stdint.h>

#include "kernels/device.h"

typedef struct br_scan_args {
    int batch, T, d_inner, d_state, heads;
    const float *u; int ldu;          /* [n_tok, d_inner] */
    const float *delta; int lddelta;  /* [n_tok, d_inner] */
    const float *delta_bias;          /* [d_inner] or NULL */
    int delta_softplus;
    const float *A;                   /* [d_inner, N] */
    const float *B; int ldB;          /* [n_tok, heads*N] */
    const float *C; int ldC;          /* [n_tok, heads*N] */
    const float *D;                   /* [d_inner] or NULL */
    const float *z; int ldz;          /* [n_tok, d_inner] or NULL */
    float *y; int ldy;                /* [n_tok, d_inner] */
    float *state;             /* state pool [n_slots, ...]; sequence b uses slot slots[b]: [d_inner, N] */
    const int32_t *slots;     /* [batch] slot of each sequence (on the device) */
    long state_stride;        /* elements per slot */
} br_scan_args;

void br_cpu_scan_prefill(const br_device *dev, const br_scan_args *a);
void br_cpu_scan_step(const br_device *dev, const br_scan_args *a); /* T == 1 */

#ifdef BRAID_HAVE_CUDA
void br_cuda_scan_prefill(const br_device *dev, const br_scan_args *a);
void br_cuda_scan_step(const br_device *dev, const br_scan_args *a);
#endif

/* The CUDA scan keeps a channel's state in the registers of up to 32 threads, 8 entries each: d_state up to this. */
#define BR_CUDA_SCAN_MAX_STATE 256

#endif /* BR_KERNELS_SCAN_H */
