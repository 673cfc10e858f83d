/*
 * weights.h - the named parameter table of a model.
 *
 * Every tensor a plan declares lives here under its braid name
 * ("layers.3.0.mamba.in_proj.weight", "shared.attn.q_proj.weight",
 * "embed.weight"), with its shape and how to fill it at random.  Data are
 * f32 on the CPU backend (bf16/f16 checkpoints are widened when loaded).
 * Lookup by name is a hash probe; blocks bind by name, never by position.
 */
#ifndef BR_GRAPH_WEIGHTS_H
#define BR_GRAPH_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/device.h"
#include "layers/layer.h"

typedef struct br_param {
    char *name;
    int ndim;
    int64_t shape[BR_MAX_DIMS];
    int64_t numel;
    br_init init;
    float *data;   /* [numel] f32, owned, on the weights' device; NULL until filled */
    int filled;    /* set once data holds values (random or loaded) */
    int derived;   /* computed from other tensors at load (A = -exp(A_log)); not a parameter */
    int matmul;    /* read only by matrix products and lookups: may be stored narrower on a GPU */
    br_dtype dtype;/* element type of data: f32, or the GPU's matrix type for matmul tensors */
} br_param;

typedef struct br_weights {
    const br_device *dev; /* where data live: NULL or the CPU = host */
    br_param *items;
    size_t n, cap;
    size_t *slots;    /* open-addressing hash: index + 1, 0 = empty */
    size_t n_slots;
} br_weights;

br_status br_weights_add(br_weights *w, const char *name, int ndim, const int64_t *shape, br_init init,
                         br_error *err);
/* Moves every tensor to `dev` (host copies are freed); matmul tensors are
 * stored as `matmul_dtype` there (f32 or bf16), the rest stay f32. */
br_status br_weights_upload(br_weights *w, const br_device *dev, br_dtype matmul_dtype, br_error *err);
br_param *br_weights_find(const br_weights *w, const char *name);
/* Refuses, before anything is allocated, weights that do not fit in what
 * `dev` has available, stored with matmul tensors as matmul_dtype and the
 * rest as f32; `what` names the model in the message. */
br_status br_weights_check_fits(const br_weights *w, const br_device *dev, br_dtype matmul_dtype, const char *what,
                                br_error *err);
/* Bytes the tensors take as they are stored now. */
int64_t br_weights_bytes(const br_weights *w);
void br_weights_clear(br_weights *w);

/* Allocates every unfilled tensor and fills it from its init rule with a
 * stream derived from (seed, name), so a tensor's values do not depend on
 * which other tensors exist. */
br_status br_weights_randomize(br_weights *w, uint64_t seed, br_error *err);

/* Allocates the data of one tensor (zeroed) without filling it. */
br_status br_param_alloc(br_param *p, br_error *err);

/* "[4096, 14336]" into buf. */
void br_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

struct br_param_sink {
    br_weights *weights;
    char prefix[192];
};

#endif /* BR_GRAPH_WEIGHTS_H */
