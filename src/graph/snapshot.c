/*
 * snapshot.c - one sequence of a state pool saved to a file and restored
 * (br_state_save / br_state_load), so a conversation can stop and go on
 * later with bit-identical results.
 *
 * File (little-endian), all of it covered by the checksum at the end:
 *   "BRAIDST\0"  u32 version  u32 kv dtype
 *   u64 structure hash (spec name, widths, every state and KV entry's size)
 *   u64 weights hash (the first values of every tensor, as bf16 bits, so the
 *       same checkpoint hashes alike on the CPU and on a GPU)
 *   i64 position  u64 sampler stream  u32 has sampler  u32 0  i64 history length
 *   per recurrent entry: conv then SSM floats of the slot
 *   per KV entry: i64 rows (min(position, capacity)), then K rows and V rows
 *       of positions position-rows .. position-1, in the cache's type
 *   i32 history ids
 *   u64 FNV-1a of everything above
 * Saving writes a temporary file beside the target and renames it, so a
 * crash leaves the old snapshot or the new one, never half of one.
 * Loading checks size, checksum, model and type before touching the slot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/dtype.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "graph/model.h"
#include "graph/state.h"

#define MAGIC "BRAIDST"
#define VERSION 1u

static uint64_t structure_hash(const struct br_model *m) {
    const br_plan *plan = &m->plan;
    uint64_t h = br_fnv1a(BR_FNV1A_START, m->spec->name, strlen(m->spec->name));
    const int64_t dims[3] = {m->spec->d_model, m->spec->vocab_size, plan->n_units};
    h = br_fnv1a(h, dims, sizeof dims);
    for (int e = 0; e < plan->n_state; e++) {
        h = br_fnv1a(h, &plan->state_need[e].conv_elems, sizeof(int64_t));
        h = br_fnv1a(h, &plan->state_need[e].ssm_elems, sizeof(int64_t));
    }
    for (int k = 0; k < plan->n_kv; k++) {
        h = br_fnv1a(h, &plan->kv_need[k].kv_elems_per_token, sizeof(int64_t));
        h = br_fnv1a(h, &plan->kv_need[k].kv_window, sizeof(int));
    }
    return h;
}

/* The first values of every stored tensor as bf16 bits: the same on every device and matrix type. */
static br_status weights_hash(const struct br_model *m, uint64_t *out, br_error *err) {
    uint64_t h = BR_FNV1A_START;
    for (size_t i = 0; i < m->plan.weights.n; i++) {
        const br_param *p = &m->plan.weights.items[i];
        if (p->derived || !p->data) continue;
        const size_t n = p->numel < 16 ? (size_t)p->numel : 16, es = br_dtype_size(p->dtype);
        unsigned char raw[16 * 4];
        float f[16];
        uint16_t b[16];
        BR_TRY(br_dev_download(m->dev, raw, p->data, n * es, err));
        br_to_f32(f, raw, p->dtype, n);
        br_from_f32(b, f, BR_BF16, n);
        h = br_fnv1a(h, p->name, strlen(p->name));
        h = br_fnv1a(h, b, n * sizeof *b);
    }
    *out = h;
    return BR_OK;
}

typedef struct header {
    char magic[8];
    uint32_t version, kv_dtype;
    uint64_t structure, weights;
    int64_t position;
    uint64_t sampler_rng;
    uint32_t has_sampler, zero;
    int64_t n_history;
} header;

/* The ring rows of positions [p0, p0 + rows) of `slot` are at most two runs: calls fn on each. */
typedef br_status (*run_fn)(void *ctx, size_t cache_off, size_t file_off, size_t bytes, br_error *err);
static br_status each_run(const struct br_state *s, int k, int slot, int64_t p0, int64_t rows, run_fn fn, void *ctx,
                          size_t file_off, br_error *err) {
    const int64_t cap = s->kv_cap[k];
    const size_t row = (size_t)(s->plan->kv_need[k].kv_elems_per_token / 2) * br_dtype_size(s->kv_dtype);
    int64_t done = 0;
    while (done < rows) {
        const int64_t at = (p0 + done) % cap, len = rows - done < cap - at ? rows - done : cap - at;
        BR_TRY(fn(ctx, ((size_t)slot * (size_t)cap + (size_t)at) * row, file_off + (size_t)done * row, (size_t)len * row, err));
        done += len;
    }
    return BR_OK;
}

typedef struct io_ctx {
    const br_device *dev;
    char *file;        /* the snapshot bytes */
    char *cache;       /* K or V pool */
} io_ctx;

static br_status run_down(void *p, size_t cache_off, size_t file_off, size_t bytes, br_error *err) {
    io_ctx *c = p;
    return br_dev_download(c->dev, c->file + file_off, c->cache + cache_off, bytes, err);
}

static br_status run_up(void *p, size_t cache_off, size_t file_off, size_t bytes, br_error *err) {
    io_ctx *c = p;
    return br_dev_upload(c->dev, c->cache + cache_off, c->file + file_off, bytes, err);
}

/* KV rows of entry k a sequence at `position` holds: its last `window` positions (a ring), or all of them
 * (a cache that grows; br_state_reserve makes room before rows are moved). */
static int64_t rows_held(const struct br_state *s, int k, int64_t position) {
    const int64_t window = s->plan->kv_need[k].kv_window;
    return window && window < position ? window : position;
}

/* Bytes of K (or V) rows of entry k at `position`. */
static size_t kv_half_bytes(const struct br_state *s, int k, int64_t position) {
    return (size_t)rows_held(s, k, position) * (size_t)(s->plan->kv_need[k].kv_elems_per_token / 2) *
           br_dtype_size(s->kv_dtype);
}

/* Bytes of the body after the header for this state and position (the same on save and load). */
static size_t body_bytes(const struct br_state *s, int64_t position, int64_t n_history) {
    size_t n = 0;
    for (int e = 0; e < s->plan->n_state; e++)
        n += (size_t)(s->plan->state_need[e].conv_elems + s->plan->state_need[e].ssm_elems) * sizeof(float);
    for (int k = 0; k < s->plan->n_kv; k++) n += sizeof(int64_t) + 2 * kv_half_bytes(s, k, position);
    return n + (size_t)n_history * sizeof(int32_t);
}

/* Copies the slot's states and KV rows between the device and buf (down: save; else load). */
static br_status move_slot(struct br_state *s, int slot, int64_t position, char *buf, int down, br_error *err) {
    const br_plan *plan = s->plan;
    size_t off = 0;
    for (int e = 0; e < plan->n_state; e++) {
        const int64_t parts[2] = {plan->state_need[e].conv_elems, plan->state_need[e].ssm_elems};
        float *pools[2] = {s->conv[e], s->ssm[e]};
        for (int j = 0; j < 2; j++) {
            if (!parts[j]) continue;
            const size_t bytes = (size_t)parts[j] * sizeof(float);
            float *at = pools[j] + (size_t)slot * (size_t)parts[j];
            BR_TRY(down ? br_dev_download(s->dev, buf + off, at, bytes, err) : br_dev_upload(s->dev, at, buf + off, bytes, err));
            off += bytes;
        }
    }
    for (int k = 0; k < plan->n_kv; k++) {
        const int64_t rows = rows_held(s, k, position);
        const size_t half = kv_half_bytes(s, k, position);
        if (down) memcpy(buf + off, &rows, sizeof rows);
        off += sizeof rows;
        io_ctx kc = {s->dev, buf, s->k[k]}, vc = {s->dev, buf, s->v[k]};
        BR_TRY(each_run(s, k, slot, position - rows, rows, down ? run_down : run_up, &kc, off, err));
        BR_TRY(each_run(s, k, slot, position - rows, rows, down ? run_down : run_up, &vc, off + half, err));
        off += 2 * half;
    }
    return BR_OK;
}

br_status br_state_save(const br_model *m, const br_state *state, int slot, const char *path, const br_sampler *sampler,
                        const int32_t *history, size_t n_history, br_error *err) {
    struct br_state *s = (struct br_state *)state;
    if (!m || !s || !path || s->plan != &m->plan) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_state_save: bad arguments");
    if (slot < 0 || slot >= s->n_slots) return BR_FAIL(err, BR_ERR_RANGE, "br_state_save: slot %d out of range", slot);
    if (s->broken[slot])
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "slot %d holds no sequence (its last call failed part-way)", slot);
    header h = {MAGIC, VERSION, (uint32_t)s->kv_dtype, structure_hash(m), 0, s->pos[slot],
                sampler ? br_sampler_rng(sampler) : 0, sampler != NULL, 0, (int64_t)n_history};
    BR_TRY(weights_hash(m, &h.weights, err));
    BR_TRY(br_dev_sync(s->dev, err));
    const size_t body = body_bytes(s, h.position, h.n_history), total = sizeof h + body + sizeof(uint64_t);
    char *buf = br_malloc(total, err);
    if (!buf) return BR_ERR_NOMEM;
    memcpy(buf, &h, sizeof h);
    br_status st = move_slot(s, slot, h.position, buf + sizeof h, 1, err);
    if (st == BR_OK && n_history) memcpy(buf + total - sizeof(uint64_t) - n_history * sizeof(int32_t), history,
                                         n_history * sizeof(int32_t));
    const uint64_t sum = br_fnv1a(BR_FNV1A_START, buf, total - sizeof sum);
    memcpy(buf + total - sizeof sum, &sum, sizeof sum);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = st == BR_OK ? fopen(tmp, "wb") : NULL;
    if (st == BR_OK && !f) st = BR_FAIL(err, BR_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
    if (f) {
        const int ok = fwrite(buf, 1, total, f) == total && fflush(f) == 0 && fsync(fileno(f)) == 0;
        if (fclose(f) != 0 || !ok) st = BR_FAIL(err, BR_ERR_IO, "%s: cannot write (%s)", tmp, strerror(errno));
        if (st == BR_OK && rename(tmp, path) != 0) st = BR_FAIL(err, BR_ERR_IO, "%s: cannot rename to %s (%s)", tmp, path,
                                                                strerror(errno));
        if (st != BR_OK) unlink(tmp);
    }
    free(buf);
    return st;
}

br_status br_state_load(const br_model *m, br_state *s, int slot, const char *path, br_sampler *sampler,
                        int32_t **history, size_t *n_history, br_error *err) {
    if (history) *history = NULL;
    if (n_history) *n_history = 0;
    if (!m || !s || !path || s->plan != &m->plan) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_state_load: bad arguments");
    if (slot < 0 || slot >= s->n_slots) return BR_FAIL(err, BR_ERR_RANGE, "br_state_load: slot %d out of range", slot);
    char *buf = NULL;
    size_t len = 0;
    BR_TRY(br_read_file(path, &buf, &len, err));
    header h;
    br_status st = BR_OK;
    uint64_t want_w = 0;
    if (len < sizeof h + sizeof(uint64_t) || memcmp(buf, MAGIC, 8) != 0) {
        st = BR_FAIL(err, BR_ERR_PARSE, "%s: not a braid state snapshot (too short, or no BRAIDST header)", path);
    } else {
        memcpy(&h, buf, sizeof h);
        uint64_t sum;
        memcpy(&sum, buf + len - sizeof sum, sizeof sum);
        if (h.version != VERSION)
            st = BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: snapshot version %u; this braid reads version %u", path, h.version,
                         VERSION);
        else if (h.position < 0 || h.n_history < 0 || h.position > s->max_context ||
                 len != sizeof h + body_bytes(s, h.position, h.n_history) + sizeof(uint64_t))
            st = BR_FAIL(err, BR_ERR_PARSE, "%s: %zu bytes, which is not the size of a snapshot of this model at "
                         "position %lld (truncated, or made for another model or context)", path, len,
                         (long long)h.position);
        else if (br_fnv1a(BR_FNV1A_START, buf, len - sizeof sum) != sum)
            st = BR_FAIL(err, BR_ERR_PARSE, "%s: the checksum does not match: the file is damaged", path);
        else if (h.structure != structure_hash(m))
            st = BR_FAIL(err, BR_ERR_INVALID_ARG, "%s: the snapshot was made by another model (its layers and sizes "
                         "differ from %s)", path, m->spec->name);
        else if ((st = weights_hash(m, &want_w, err)) == BR_OK && h.weights != want_w)
            st = BR_FAIL(err, BR_ERR_INVALID_ARG, "%s: the snapshot was made with other weights than this %s", path,
                         m->spec->name);
        else if (h.kv_dtype != (uint32_t)s->kv_dtype)
            st = BR_FAIL(err, BR_ERR_INVALID_ARG, "%s: the snapshot's KV cache is %s, this state's is %s", path,
                         br_dtype_name((br_dtype)h.kv_dtype), br_dtype_name(s->kv_dtype));
    }
    if (st == BR_OK) st = br_state_reserve(s, h.position, err); /* the caches hold its rows (nothing changes if not) */
    if (st != BR_OK) {
        free(buf);
        return st;
    }
    s->broken[slot] = 1; /* until every byte is in place */
    st = move_slot(s, slot, h.position, buf + sizeof h, 0, err);
    if (st == BR_OK) st = br_dev_sync(s->dev, err);
    if (st == BR_OK) {
        s->broken[slot] = 0;
        s->pos[slot] = h.position;
        if (sampler && h.has_sampler) br_sampler_set_rng(sampler, h.sampler_rng);
        if (history && n_history && h.n_history) {
            *history = br_malloc((size_t)h.n_history * sizeof(int32_t), err);
            if (!*history) st = BR_ERR_NOMEM;
            else memcpy(*history, buf + len - sizeof(uint64_t) - (size_t)h.n_history * sizeof(int32_t),
                        (size_t)h.n_history * sizeof(int32_t));
            if (*history) *n_history = (size_t)h.n_history;
        }
    }
    free(buf);
    return st;
}
