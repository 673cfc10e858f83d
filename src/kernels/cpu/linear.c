/*
 * linear.c (cpu) - dense products.  f32 weights go to the BLAS (OpenBLAS
 * sgemv / sgemm, on its own threads); bf16 and f16 weights, used where they
 * are stored, go to the fastest 16-bit kernel this CPU runs (linear16.h),
 * with rows of W split into tasks over braid's thread pool (pool.h).
 *
 * Batch invariance: below BR_LINEAR16_GEMM_ROWS rows of x, a row's result
 * does not depend on the rows it shares the call with, so a sequence
 * decoded in a batch gets the bits it gets alone.  The 16-bit kernels take
 * per-row dot products there; f32 goes row by row through sgemv (sgemm
 * blocks its sums differently for different row counts).  Past it, products
 * are blocked for speed and a row's last bits may depend on the batch.
 */
#include "kernels/linear.h"

#include <cblas.h>
#include <stdlib.h>

#include "kernels/cpu/linear16.h"
#include "kernels/cpu/pool.h"

/* The least work worth a task of its own (multiply-adds): handing a task
 * to another thread costs about a microsecond. */
#define TASK_MIN_MACS (128 * 1024)
#define TASKS_PER_THREAD 4 /* smaller tasks even out threads slowed by the machine */
#define ROW_STEP 8         /* tasks start on a multiple of the dot products' widest tile */
#define GEMM_ROW_STEP 64   /* and of the packed blocks of the matrix-matrix product */

typedef struct linear16_job {
    br_linear16_args a;
    br_linear16_fn run;
    int rows;    /* per task */
    float *work; /* BR_LINEAR16_WORK_FLOATS per thread, or NULL */
} linear16_job;

static void linear16_task(void *arg, int i, int thread) {
    const linear16_job *j = arg;
    const int o0 = i * j->rows, o1 = o0 + j->rows < j->a.out ? o0 + j->rows : j->a.out;
    j->run(&j->a, o0, o1, j->work ? j->work + (long)thread * BR_LINEAR16_WORK_FLOATS : NULL);
}

static void linear16(int n, int in, int out, const float *x, int ldx, br_mat w, const float *b, float beta, float *y,
                     int ldy) {
    const int threads = br_pool_threads(), gemm = n >= BR_LINEAR16_GEMM_ROWS;
    linear16_job j = {
        .a = {.n = n, .in = in, .out = out, .x = x, .ldx = ldx, .w = w.data, .dtype = w.dtype, .b = b, .beta = beta,
              .y = y, .ldy = ldy},
        .run = br_linear16_best()->run,
        /* without it (no memory) the kernels take dot products: slower, as right */
        .work = gemm ? malloc((size_t)threads * BR_LINEAR16_WORK_FLOATS * sizeof(float)) : NULL,
    };
    const int step = gemm ? GEMM_ROW_STEP : ROW_STEP;
    const double macs = (double)n * out * in;
    long tasks = threads * TASKS_PER_THREAD;
    if (tasks > macs / TASK_MIN_MACS) tasks = (long)(macs / TASK_MIN_MACS);
    if (tasks > out / step) tasks = out / step;
    if (tasks <= 1) {
        j.run(&j.a, 0, out, j.work);
    } else {
        j.rows = (int)((out + tasks - 1) / tasks);
        j.rows = (j.rows + step - 1) / step * step;
        br_pool_run((out + j.rows - 1) / j.rows, linear16_task, &j);
    }
    free(j.work);
}

void br_cpu_linear(const br_device *dev, int n, int in, int out, const float *x, int ldx, br_mat w, const float *b,
                   float beta, float *y, int ldy) {
    if (n <= 0 || out <= 0) return;
    if (w.dtype != BR_F32) {
        linear16(n, in, out, x, ldx, w, b, beta, y, ldy);
        return;
    }
    if (n < BR_LINEAR16_GEMM_ROWS) /* batch invariance: see the header */
        for (int i = 0; i < n; i++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, w.data, in, x + (long)i * ldx, 1, beta,
                        y + (long)i * ldy, 1);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, ldx, w.data, in, beta, y, ldy);
    if (b)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < out; j++) y[(long)i * ldy + j] += b[j];
}

void br_cpu_linear_multi(const br_device *dev, int n, int in, const float *x, int ldx, int count, const br_linear_out *outs) {
    for (int i = 0; i < count; i++)
        br_cpu_linear(dev, n, in, outs[i].out, x, ldx, outs[i].w, outs[i].b, 0.0f, outs[i].y, outs[i].ldy);
}
