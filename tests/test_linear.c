/*
 * test_linear.c - the CPU's 16-bit-weight products (kernels/cpu/linear16.h),
 * on fresh random inputs every run (the seed is printed):
 *   - every kernel this CPU runs == the plain C kernel, for bf16 and f16
 *     weights, by dot products and by packed blocks, odd sizes (in not a
 *     multiple of any vector width or block, out 1, 1..5 rows of x and
 *     prefill-like counts), row strides, bias and beta = 1: relative L2
 *     error below 1e-5 (f32 summation order);
 *   - br_cpu_linear with bf16 weights (threaded) == the BLAS on the same
 *     values widened to f32 (1e-5), and == the BLAS on the f32 matrix they
 *     were rounded from (1e-2: bf16's 8-bit mantissa).
 */
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "kernels/cpu/linear16.h"
#include "kernels/linear.h"
#include "test_util.h"

#define TOL_ORDER 1e-5 /* same values, another summation order */
#define TOL_BF16 1e-2  /* a matrix rounded to bf16 */

typedef struct lin_case {
    int n, in, out, ldx_pad, ldy_pad, bias;
    float beta;
} lin_case;

static float *rnd(size_t n, float lo, float hi, uint64_t *rng) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    br_test_fill_uniform(x, n, lo, hi, rng);
    return x;
}

/* One case on every kernel against the plain C one. */
static void check_kernels(const lin_case *c, br_dtype dt, uint64_t *rng) {
    const int ldx = c->in + c->ldx_pad, ldy = c->out + c->ldy_pad;
    float *x = rnd((size_t)c->n * ldx, -1, 1, rng), *wf = rnd((size_t)c->out * c->in, -1, 1, rng);
    float *b = c->bias ? rnd((size_t)c->out, -1, 1, rng) : NULL, *y0 = rnd((size_t)c->n * ldy, -1, 1, rng);
    uint16_t *w = malloc((size_t)c->out * c->in * sizeof *w + 2);
    float *want = malloc((size_t)c->n * ldy * sizeof *want), *got = malloc((size_t)c->n * ldy * sizeof *got);
    br_from_f32(w, wf, dt, (size_t)c->out * c->in);
    memcpy(want, y0, (size_t)c->n * ldy * sizeof *want);
    br_linear16_args a = {.n = c->n, .in = c->in, .out = c->out, .x = x, .ldx = ldx, .w = w, .dtype = dt, .b = b,
                          .beta = c->beta, .y = want, .ldy = ldy};
    br_linear16_c(&a, 0, c->out, NULL);
    int count;
    const br_linear16_kernel *k = br_linear16_kernels(&count);
    float *work = malloc(BR_LINEAR16_WORK_FLOATS * sizeof *work);
    for (int i = 0; i < count; i++)
        for (int packed = 0; packed < 2 && k[i].supported(); packed++) { /* dot products, and packed blocks */
            memcpy(got, y0, (size_t)c->n * ldy * sizeof *got);
            a.y = got;
            const int mid = c->out / 3; /* two row ranges, as threads get them */
            k[i].run(&a, 0, mid, packed ? work : NULL);
            k[i].run(&a, mid, c->out, packed ? work : NULL);
            const double e = br_test_rel_err(got, want, (size_t)c->n * ldy);
            if (e >= TOL_ORDER)
                fprintf(stderr, "  %s%s %s n %d in %d out %d: relative error %.2e\n", k[i].name, packed ? " packed" : "",
                        br_dtype_name(dt), c->n, c->in, c->out, e);
            assert_true(e < TOL_ORDER);
        }
    free(x), free(wf), free(b), free(y0), free(w), free(want), free(got), free(work);
}

static void test_kernels_match_plain_c(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("linear16_kernels");
    const lin_case cases[] = {
        {1, 256, 256, 0, 0, 0, 0.0f},  /* decode, sizes the kernels step over exactly */
        {1, 67, 1, 0, 0, 1, 0.0f},     /* one output, ragged in */
        {2, 33, 13, 5, 3, 0, 1.0f},    /* strides, accumulate */
        {3, 100, 37, 0, 0, 1, 0.0f},
        {4, 17, 9, 1, 0, 0, 0.0f},
        {5, 129, 70, 0, 2, 1, 1.0f},   /* a full tile of rows and one left */
        {1, 7, 3, 0, 0, 0, 0.0f},      /* in narrower than any vector */
        {3, 0, 5, 0, 0, 1, 0.0f},      /* nothing to sum: bias only */
        {9, 300, 130, 0, 0, 1, 0.0f},  /* several row blocks */
        {32, 16, 16, 0, 0, 0, 0.0f},   /* prefill-like from here: the fewest rows that pack */
        {35, 300, 130, 0, 0, 1, 0.0f}, /* in past one block of k, a ragged tile of rows */
        {40, 600, 200, 3, 1, 1, 1.0f}, /* strides, accumulate over three blocks of k */
        {66, 512, 64, 0, 0, 0, 0.0f},  /* whole blocks and tiles */
        {33, 5, 3, 0, 0, 1, 0.0f},     /* in and out smaller than a vector */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_kernels(&cases[i], BR_BF16, &rng);
        check_kernels(&cases[i], BR_F16, &rng);
    }
    fprintf(stderr, "  the CPU's kernel: %s\n", br_linear16_best()->name);
}

/* br_cpu_linear in bf16 against the BLAS in f32, on sizes that are split over threads. */
static void check_against_blas(int n, int in, int out, uint64_t *rng) {
    float *x = rnd((size_t)n * in, -1, 1, rng), *wf = rnd((size_t)out * in, -1, 1, rng), *b = rnd((size_t)out, -1, 1, rng);
    uint16_t *w = malloc((size_t)out * in * sizeof *w);
    float *ww = malloc((size_t)out * in * sizeof *ww);
    float *y16 = malloc((size_t)n * out * sizeof *y16), *yw = malloc((size_t)n * out * sizeof *yw);
    float *yf = malloc((size_t)n * out * sizeof *yf);
    br_from_f32(w, wf, BR_BF16, (size_t)out * in);
    br_to_f32(ww, w, BR_BF16, (size_t)out * in);
    const br_device *cpu = &br_cpu_device;
    br_cpu_linear(cpu, n, in, out, x, in, (br_mat){w, BR_BF16}, b, 0.0f, y16, out);
    br_cpu_linear(cpu, n, in, out, x, in, br_mat_f32(ww), b, 0.0f, yw, out);
    br_cpu_linear(cpu, n, in, out, x, in, br_mat_f32(wf), b, 0.0f, yf, out);
    const double same = br_test_rel_err(y16, yw, (size_t)n * out), rounded = br_test_rel_err(y16, yf, (size_t)n * out);
    fprintf(stderr, "  n %4d in %4d out %4d: against the widened matrix %.1e, against f32 %.1e\n", n, in, out, same,
            rounded);
    assert_true(same < TOL_ORDER);
    assert_true(rounded < TOL_BF16);
    free(x), free(wf), free(b), free(w), free(ww), free(y16), free(yw), free(yf);
}

static void test_bf16_matches_blas(void **state) {
    (void)state;
    uint64_t rng = br_test_seed("linear16_blas");
    check_against_blas(1, 1000, 1001, &rng);
    check_against_blas(5, 333, 700, &rng);
    check_against_blas(130, 257, 515, &rng);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_match_plain_c),
        cmocka_unit_test(test_bf16_matches_blas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
