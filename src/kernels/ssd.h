/*
 * ssd.h - the Mamba-2 state-space dual (SSD) scan.
 *
 * Heads h share B, C within groups (group of h = h / (heads/groups)).  Per
 * token t:  dt = clamp(softplus(dt_raw + dt_bias), dt_min, dt_max)
 *           h_t = exp(dt A) h_{t-1} + dt x_t B_t^T          h: [P, N]
 *           y_t = h_t C_t + D x_t                           y: [P]
 * Prefill computes it in chunks of Q tokens (kernels/cpu/ssd.c): within a chunk the
 * quadratic form y = (L o C B^T) (dt x) with L[i,j] = exp(sum_{j<s<=i} dA_s),
 * plus the decayed contribution of the state entering the chunk; the state
 * is then passed to the next chunk.  `ssd_scan_ref` is the sequential
 * recurrence, kept as the reference the chunked form is tested against.
 */
#ifndef BR_KERNELS_SSD_H
#define BR_KERNELS_SSD_H

#include <stdint.h>

#include "kernels/device.h"

typedef struct br_ssd_args {
    int batch, T, heads, head_dim, d_state, groups, chunk;
    const float *x; int ldx;       /* [n_tok, heads*P] */
    const float *dt; int lddt;     /* [n_tok, heads] raw (before bias and softplus) */
    const float *dt_bias;          /* [heads] or NULL */
    float dt_min, dt_max;          /* clamp after softplus; (0, inf) = none */
    const float *A;                /* [heads], negative */
    const float *B; int ldB;       /* [n_tok, groups*N] */
    const float *C; int ldC;       /* [n_tok, groups*N] */
    const float *D;                /* [heads] or NULL */
    float *y; int ldy;             /* [n_tok, heads*P] */
    float *state;             /* state pool [n_slots, ...]; sequence b uses slot slots[b]: [heads, P, N] */
    const int32_t *slots;     /* [batch] slot of each sequence (on the device) */
    long state_stride;        /* elements per slot */
    float *work;                   /* prefill scratch: <backend>_ssd_work_floats(dev, args) floats */
    int bf16_products;             /* prefill may round the chunk products' operands to bf16 (f32
                                    * accumulation): the tensor cores on a GPU; 0 keeps f32 throughout */
} br_ssd_args;

/* Scratch (floats, on the device) the prefill of `a` needs; the backends
 * chunk differently, so each says: BR_K(dev, ssd_work_floats, a). */
long br_cpu_ssd_work_floats(const br_device *dev, const br_ssd_args *a);
void br_cpu_ssd_prefill(const br_device *dev, const br_ssd_args *a);
void br_cpu_ssd_step(const br_device *dev, const br_ssd_args *a); /* T == 1 */
void br_cpu_ssd_scan_ref(const br_device *dev, const br_ssd_args *a);

#ifdef BRAID_HAVE_CUDA
long br_cuda_ssd_work_floats(const br_device *dev, const br_ssd_args *a);
void br_cuda_ssd_prefill(const br_device *dev, const br_ssd_args *a);
void br_cuda_ssd_step(const br_device *dev, const br_ssd_args *a);
#endif

/* The CUDA recurrent SSD keeps a channel's state in one warp's registers: d_state up to this. */
#define BR_CUDA_SSD_MAX_STATE 256

#endif /* BR_KERNELS_SSD_H */
