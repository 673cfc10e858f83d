/*
 * weights.h - the named parameter table of a model.
 *
 * Every tensor a plan declares lives here under its braid name
 * ("layers.3.0.mamba.in_proj.weight", "shared.attn.q_proj.weight",
 * "embed.weight"), with its shape and how to fill it at random.  Matrix
 * tensors (matmul) are f32, bf16 or f16; the rest are f32.  A matrix loaded
 * from a checkpoint in its own type may point into the checkpoint's mapped
 * file instead of a copy (mapped): the table then keeps the mapping (the
 * borrowed object) until no tensor points into it.
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
    void *data;    /* [numel] of dtype, on the weights' device; NULL until filled */
    int mapped;    /* data points into the weights' borrowed mapping (read-only, not owned) */
    int filled;    /* set once data holds values (random or loaded) */
    int derived;   /* computed from other tensors at load (A = -exp(A_log)); not a parameter */
    int matmul;    /* read only by matrix products and lookups: may be stored narrower */
    br_dtype dtype;/* element type of data: f32, or bf16/f16 for matmul tensors */
} br_param;

typedef struct br_weights {
    const br_device *dev; /* where data live: NULL or the CPU = host */
    br_param *items;
    size_t n, cap;
    size_t *slots;    /* open-addressing hash: index + 1, 0 = empty */
    size_t n_slots;
    void *borrowed;                 /* what mapped tensors point into (a checkpoint archive), or NULL */
    void (*borrowed_free)(void *);  /* releases it */
} br_weights;

br_status br_weights_add(br_weights *w, const char *name, int ndim, const int64_t *shape, br_init init,
                         br_error *err);
/* Stores every tensor on `dev` with matmul tensors as `matmul_dtype` and
 * the rest as f32: tensors move from the host to a GPU (host copies are
 * freed), and on the host, matrices of another type are converted.  New
 * copies are made first, so a failure leaves every tensor as it was. */
br_status br_weights_place(br_weights *w, const br_device *dev, br_dtype matmul_dtype, br_error *err);
/* Keeps `obj` (what mapped tensors point into) with free_fn to release it
 * once no tensor does; at once if none does now. */
void br_weights_borrow(br_weights *w, void *obj, void (*free_fn)(void *));
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

/* Allocates the data of one tensor in its dtype (zeroed) without filling it. */
br_status br_param_alloc(br_param *p, br_error *err);

/* "[4096, 14336]" into buf. */
void br_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

struct br_param_sink {
    br_weights *weights;
    char prefix[192];
};

#endif /* BR_GRAPH_WEIGHTS_H */
