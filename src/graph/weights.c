/*
 * weights.c - parameter table: declaration, hashing, random fill, binding.
 */
#include "graph/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <unistd.h>

#include "base/dtype.h"
#include "base/error.h"
#include "base/hash.h"

/* FNV-1a of a name, from the start value braid has always used here (random weights depend on it) */
static uint64_t hash_str(const char *s) { return br_fnv1a(1469598103934665603ull, s, strlen(s)); }

static br_status rehash(br_weights *w, size_t n_slots, br_error *err) {
    size_t *slots = br_calloc(n_slots, sizeof *slots, err);
    if (!slots) return BR_ERR_NOMEM;
    for (size_t i = 0; i < w->n; i++) {
        size_t h = hash_str(w->items[i].name) & (n_slots - 1);
        while (slots[h]) h = (h + 1) & (n_slots - 1);
        slots[h] = i + 1;
    }
    free(w->slots);
    w->slots = slots;
    w->n_slots = n_slots;
    return BR_OK;
}

br_param *br_weights_find(const br_weights *w, const char *name) {
    if (!w->n_slots) return NULL;
    size_t h = hash_str(name) & (w->n_slots - 1);
    while (w->slots[h]) {
        br_param *p = &w->items[w->slots[h] - 1];
        if (strcmp(p->name, name) == 0) return p;
        h = (h + 1) & (w->n_slots - 1);
    }
    return NULL;
}

void br_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

br_status br_weights_add(br_weights *w, const char *name, int ndim, const int64_t *shape, br_init init,
                         br_error *err) {
    if (br_weights_find(w, name)) return BR_FAIL(err, BR_ERR_SPEC, "tensor '%s' declared twice", name);
    if (ndim < 1 || ndim > BR_MAX_DIMS) return BR_FAIL(err, BR_ERR_SPEC, "tensor '%s': %d dimensions", name, ndim);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0) return BR_FAIL(err, BR_ERR_SPEC, "tensor '%s': dimension %d is %lld", name, i, (long long)shape[i]);
        numel *= shape[i];
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        br_param *items = realloc(w->items, cap * sizeof *items);
        if (!items) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory declaring tensors");
        w->items = items;
        w->cap = cap;
    }
    br_param *p = &w->items[w->n];
    memset(p, 0, sizeof *p);
    p->name = br_strdup(name, err);
    if (!p->name) return BR_ERR_NOMEM;
    p->ndim = ndim;
    memcpy(p->shape, shape, (size_t)ndim * sizeof *shape);
    p->numel = numel;
    p->init = init;
    w->n++;
    if (w->n * 2 > w->n_slots) return rehash(w, w->n_slots ? w->n_slots * 2 : 1024, err);
    size_t h = hash_str(name) & (w->n_slots - 1);
    while (w->slots[h]) h = (h + 1) & (w->n_slots - 1);
    w->slots[h] = w->n;
    return BR_OK;
}

/* Lets go of p's data: frees it, or for a mapped tensor only forgets it. */
static void drop_data(br_weights *w, br_param *p) {
    if (!p->mapped) br_dev_free(w->dev ? w->dev : &br_cpu_device, p->data);
    p->data = NULL;
    p->mapped = 0;
}

/* Releases the borrowed mapping once no tensor points into it. */
static void release_borrowed(br_weights *w) {
    for (size_t i = 0; i < w->n; i++)
        if (w->items[i].mapped) return;
    if (w->borrowed) w->borrowed_free(w->borrowed);
    w->borrowed = NULL;
    w->borrowed_free = NULL;
}

void br_weights_borrow(br_weights *w, void *obj, void (*free_fn)(void *)) {
    w->borrowed = obj;
    w->borrowed_free = free_fn;
    release_borrowed(w);
}

void br_weights_clear(br_weights *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->items[i].name);
        drop_data(w, &w->items[i]);
    }
    release_borrowed(w);
    free(w->items);
    free(w->slots);
    memset(w, 0, sizeof *w);
}

br_status br_weights_check_fits(const br_weights *w, const br_device *dev, br_dtype matmul_dtype, const char *what,
                                br_error *err) {
    double need = 0;
    for (size_t i = 0; i < w->n; i++)
        need += (double)w->items[i].numel * (double)br_dtype_size(w->items[i].matmul ? matmul_dtype : BR_F32);
    char whose[256];
    snprintf(whose, sizeof whose, "%s, for its weights (%s),", what,
             matmul_dtype == BR_F32 ? "all in f32" : matmul_dtype == BR_BF16 ? "matrices in bf16, the rest in f32"
                                                                               : "matrices in f16, the rest in f32");
    return br_dev_check_room(dev, need, whose, "nothing was allocated", err);
}

int64_t br_weights_bytes(const br_weights *w) {
    int64_t total = 0;
    for (size_t i = 0; i < w->n; i++) total += w->items[i].numel * (int64_t)br_dtype_size(w->items[i].dtype);
    return total;
}

/* p's values as `dt` on `dev`, in fresh memory; NULL (err set) on failure. */
static void *placed_copy(const br_param *p, const br_device *dev, br_dtype dt, br_error *err) {
    const size_t n = (size_t)p->numel, bytes = n * br_dtype_size(dt);
    void *dst = br_dev_alloc(dev, bytes, err);
    if (!dst) return NULL;
    if (dev->backend == BR_BACKEND_CPU) {
        br_convert(dst, dt, p->data, p->dtype, n);
        return dst;
    }
    void *host = NULL; /* converted on the host first when the type changes */
    if (p->dtype != dt && !(host = br_malloc(bytes, err))) {
        br_dev_free(dev, dst);
        return NULL;
    }
    if (host) br_convert(host, dt, p->data, p->dtype, n);
    const br_status st = br_dev_upload(dev, dst, host ? host : p->data, bytes, err);
    free(host);
    if (st != BR_OK) {
        br_dev_free(dev, dst);
        return NULL;
    }
    return dst;
}

br_status br_weights_place(br_weights *w, const br_device *dev, br_dtype matmul_dtype, br_error *err) {
    const br_device *from = w->dev ? w->dev : &br_cpu_device;
    /* first make every new copy, then switch: a failure leaves the tensors as they were */
    void **made = br_calloc(w->n + 1, sizeof *made, err);
    if (!made) return BR_ERR_NOMEM;
    br_status st = BR_OK;
    for (size_t i = 0; i < w->n && st == BR_OK; i++) {
        const br_param *p = &w->items[i];
        const br_dtype dt = p->matmul ? matmul_dtype : BR_F32;
        if (!p->data || (from == dev && p->dtype == dt)) continue;
        if (from->backend != BR_BACKEND_CPU)
            st = BR_FAIL(err, BR_ERR_INVALID_ARG, "weights are already on a device; moving them or changing their type "
                         "there is not supported");
        else if (!(made[i] = placed_copy(p, dev, dt, err)))
            st = err ? err->status : BR_ERR_NOMEM;
        if (st != BR_OK) br_error_prefix(err, "placing tensor '%s'", p->name);
    }
    for (size_t i = 0; i < w->n; i++) {
        br_param *p = &w->items[i];
        if (st == BR_OK && made[i]) {
            drop_data(w, p);
            p->data = made[i];
            p->dtype = p->matmul ? matmul_dtype : BR_F32;
        } else {
            br_dev_free(dev, made[i]);
        }
    }
    free(made);
    if (st == BR_OK) {
        w->dev = dev;
        release_borrowed(w);
    }
    return st;
}

br_status br_param_alloc(br_param *p, br_error *err) {
    if (p->data) return BR_OK;
    p->data = br_calloc((size_t)p->numel, br_dtype_size(p->dtype), err);
    if (!p->data) {
        br_error_prefix(err, "tensor '%s'", p->name);
        return BR_ERR_NOMEM;
    }
    return BR_OK;
}

/* ---- random fill ---------------------------------------------------------------------------- */

static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *s) { return ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0; }

static void fill(br_param *p, uint64_t seed) {
    uint64_t s = seed ^ hash_str(p->name);
    float *x = p->data;
    int64_t n = p->numel, last = p->shape[p->ndim - 1];
    const float a = p->init.a, b = p->init.b;
    switch (p->init.kind) {
    case BR_INIT_NORMAL: /* mean b, standard deviation a; uniform, which is as good and 20x cheaper */
        for (int64_t i = 0; i < n; i++) x[i] = (float)(b + a * 1.7320508075688772 * (2.0 * next_unit(&s) - 1.0));
        break;
    case BR_INIT_UNIFORM:
        for (int64_t i = 0; i < n; i++) x[i] = (float)(a + (b - a) * next_unit(&s));
        break;
    case BR_INIT_CONST:
        for (int64_t i = 0; i < n; i++) x[i] = a;
        break;
    case BR_INIT_LOG_ARANGE:
        for (int64_t i = 0; i < n; i++) x[i] = (float)log((double)(i % last + 1));
        break;
    case BR_INIT_LOG_UNIFORM:
        for (int64_t i = 0; i < n; i++) x[i] = (float)log(a + (b - a) * next_unit(&s));
        break;
    case BR_INIT_DT_BIAS:
        for (int64_t i = 0; i < n; i++) {
            double dt = exp(log(a) + (log(b) - log(a)) * next_unit(&s));
            x[i] = (float)(dt + log(-expm1(-dt))); /* softplus^-1(dt) */
        }
        break;
    }
}

/* Tensors filled by one of several threads: each takes the next unfilled tensor. */
typedef struct fill_queue {
    br_weights *w;
    uint64_t seed;
    size_t next;
    pthread_mutex_t lock;
} fill_queue;

static void *fill_worker(void *arg) {
    fill_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        size_t i = q->next++;
        pthread_mutex_unlock(&q->lock);
        if (i >= q->w->n) return NULL;
        br_param *p = &q->w->items[i];
        if (!p->filled && !p->derived) fill(p, q->seed);
    }
}

br_status br_weights_randomize(br_weights *w, uint64_t seed, br_error *err) {
    for (size_t i = 0; i < w->n; i++) {
        br_param *p = &w->items[i];
        if (p->filled || p->derived) continue;
        if (p->dtype != BR_F32) { /* random values are made in f32 (a partial load's copy goes) */
            drop_data(w, p);
            p->dtype = BR_F32;
        }
        BR_TRY(br_param_alloc(p, err));
    }
    /* a tensor's values depend only on (seed, name), so tensors fill in any order, on every core */
    fill_queue q = {w, seed, 0, PTHREAD_MUTEX_INITIALIZER};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    pthread_t th[32];
    int started = 0;
    for (long t = 1; t < (cores < 32 ? cores : 32); t++)
        if (pthread_create(&th[started], NULL, fill_worker, &q) == 0) started++;
    fill_worker(&q);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    for (size_t i = 0; i < w->n; i++)
        if (!w->items[i].derived) w->items[i].filled = 1;
    return BR_OK;
}

/* ---- declaration and binding helpers used by layers ----------------------------------------- */

br_status br_param_declare(br_param_sink *sink, const char *name, int ndim, const int64_t *shape, br_init init,
                           br_error *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", sink->prefix, name);
    return br_weights_add(sink->weights, full, ndim, shape, init, err);
}

br_status br_param_matrix(br_param_sink *sink, const char *name, int ndim, const int64_t *shape, br_init init,
                          br_error *err) {
    BR_TRY(br_param_declare(sink, name, ndim, shape, init, err));
    sink->weights->items[sink->weights->n - 1].matmul = 1;
    return BR_OK;
}

br_status br_param_derived(br_param_sink *sink, const char *name, int ndim, const int64_t *shape, br_error *err) {
    BR_TRY(br_param_declare(sink, name, ndim, shape, (br_init){BR_INIT_CONST, 0.0f, 0.0f}, err));
    sink->weights->items[sink->weights->n - 1].derived = 1;
    return BR_OK;
}

float *br_wscope_derived(const br_wscope *scope, const char *name, br_error *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", scope->prefix, name);
    br_param *p = br_weights_find(scope->weights, full);
    if (!p || !p->derived) {
        BR_FAIL(err, BR_ERR_INVALID_ARG, "no derived tensor '%s'", full);
        return NULL;
    }
    if (br_param_alloc(p, err) != BR_OK) return NULL;
    p->filled = 1;
    return p->data;
}

br_status br_param1(br_param_sink *sink, const char *name, int64_t d0, br_init init, br_error *err) {
    return br_param_declare(sink, name, 1, (int64_t[]){d0}, init, err);
}

br_status br_param2(br_param_sink *sink, const char *name, int64_t d0, int64_t d1, br_init init, br_error *err) {
    return br_param_declare(sink, name, 2, (int64_t[]){d0, d1}, init, err);
}

br_status br_param3(br_param_sink *sink, const char *name, int64_t d0, int64_t d1, int64_t d2, br_init init,
                    br_error *err) {
    return br_param_declare(sink, name, 3, (int64_t[]){d0, d1, d2}, init, err);
}


static br_param *scope_param(const br_wscope *scope, const char *name, int ndim, const int64_t *shape,
                             br_error *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", scope->prefix, name);
    br_param *p = br_weights_find(scope->weights, full);
    if (!p) {
        BR_FAIL(err, BR_ERR_CHECKPOINT, "tensor '%s' is missing", full);
        return NULL;
    }
    int same = p->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = p->shape[i] == shape[i];
    if (!same) {
        char want[96], got[96];
        br_shape_str(ndim, shape, want, sizeof want);
        br_shape_str(p->ndim, p->shape, got, sizeof got);
        BR_FAIL(err, BR_ERR_CHECKPOINT, "tensor '%s': expected shape %s, found %s", full, want, got);
        return NULL;
    }
    if (!p->filled) {
        BR_FAIL(err, BR_ERR_CHECKPOINT, "tensor '%s' has no values", full);
        return NULL;
    }
    return p;
}

br_status br_wscope_get_mat(const br_wscope *scope, const char *name, int ndim, const int64_t *shape, br_mat *out,
                            br_error *err) {
    const br_param *p = scope_param(scope, name, ndim, shape, err);
    if (!p) return err ? err->status : BR_ERR_CHECKPOINT;
    out->data = p->data;
    out->dtype = p->dtype;
    return BR_OK;
}

br_status br_wscope_get(const br_wscope *scope, const char *name, int ndim, const int64_t *shape,
                        const float **out, br_error *err) {
    const br_param *p = scope_param(scope, name, ndim, shape, err);
    if (!p) return err ? err->status : BR_ERR_CHECKPOINT;
    if (p->dtype != BR_F32)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "tensor '%s' is stored as %s; this use needs f32", p->name,
                       br_dtype_name(p->dtype));
    *out = p->data;
    return BR_OK;
}
