/*
 * linear16_c.c - the plain C 16-bit-weight kernel (linear16.h): the
 * reference the SIMD kernels are tested against, and what runs on CPUs
 * without them.  Sums in double, so it is also the most accurate; needs no
 * work memory.
 */
#include "base/dtype.h"
#include "kernels/cpu/linear16.h"

void br_linear16_c(const br_linear16_args *a, int o0, int o1, float *work) {
    for (int i = 0; i < a->n; i++)
        for (int o = o0; o < o1; o++) {
            const float *x = a->x + (long)i * a->ldx;
            const uint16_t *w = a->w + (long)o * a->in;
            double acc = 0;
            if (a->dtype == BR_BF16)
                for (int k = 0; k < a->in; k++) acc += (double)x[k] * br_bf16_to_f32(w[k]);
            else
                for (int k = 0; k < a->in; k++) acc += (double)x[k] * br_f16_to_f32(w[k]);
            float *y = a->y + (long)i * a->ldy + o;
            *y = (float)acc + (a->b ? a->b[o] : 0.0f) + (a->beta != 0.0f ? a->beta * *y : 0.0f);
        }
}
