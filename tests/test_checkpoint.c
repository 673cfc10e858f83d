/*
 * test_checkpoint.c - Hugging Face checkpoint folders end to end.
 *
 * Every fixture under tests/data/fixtures/ (tiny random checkpoints of each
 * family made by tools/fixtures/make_fixtures.py with transformers, f32 and
 * one bf16 sharded) must give its reference logits in prefill and in step
 * mode (max |diff| / max |logit| < 1e-4) and its greedy continuation
 * exactly.  Then bad folders: each must fail with a status and a message
 * naming the file, tensor or field, never a crash.  Edited specs run the
 * checkpoint's weights: dropped layers keep theirs, new blocks need
 * init_missing.  Matrices are used where they lie in the mapped file when
 * their type is the one asked for, and agree with their f32 widening.
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dtype.h"
#include "base/file.h"
#include "base/npy.h"
#include "braid.h"
#include "checkpoint/safetensors.h"
#include "graph/model.h"
#include "graph/spec.h"
#include "st_writer.h"
#include "test_util.h"
#include "tmpdir.h"

#define TOL 1e-4

static const char *fixtures_root(void) {
    static char buf[4096];
    const char *env = getenv("BRAID_FIXTURES");
    snprintf(buf, sizeof buf, "%s", env ? env : br_test_path("tests/data/fixtures"));
    return buf;
}

static double scaled_err(const float *a, const float *b, size_t n) { return br_test_max_err_scaled(a, b, n); }

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* Returns 1 if the fixture matched, printing one line either way. */
static int check_fixture(const char *dir, const char *name) {
    char path[4600];
    snprintf(path, sizeof path, "%s/reference.json", dir);
    json_error_t jerr;
    json_t *ref = json_load_file(path, 0, &jerr);
    assert_non_null(ref);
    int T, ok = 1;
    int32_t *ids = br_test_json_ids(json_object_get(ref, "prompt_ids"), &T);
    br_model *m = NULL;
    br_error err = {0};
    br_load_report rep;
    br_status st = br_model_load(dir, NULL, &m, &rep, &err);
    if (st != BR_OK) fprintf(stderr, "%s: %s\n", name, err.message);
    assert_int_equal(st, BR_OK);
    assert_int_equal(rep.tensors_random, 0);
    assert_int_equal(rep.tensors_unused, 0); /* every checkpoint tensor is used */
    const int V = br_model_vocab_size(m);
    float *lg = malloc((size_t)T * V * sizeof(float));
    double errs[2];
    for (int mode = 0; mode < 2; mode++) {
        br_state *s = NULL;
        int slot = 0;
        assert_int_equal(br_state_create(m, 1, T + 32, &s, &err), BR_OK);
        if (mode == 0) assert_int_equal(br_model_prefill(m, s, 1, &slot, ids, T, BR_LOGITS_ALL, lg, &err), BR_OK);
        else
            for (int t = 0; t < T; t++) assert_int_equal(br_model_step(m, s, 1, &slot, ids + t, lg + (long)t * V, &err), BR_OK);
        snprintf(path, sizeof path, "%s/%s", dir,
                 json_string_value(json_object_get(ref, mode == 0 ? "logits_prefill" : "logits_step")));
        float *want = NULL;
        int ndim;
        int64_t shape[8];
        assert_int_equal(br_npy_read_f32(path, &want, &ndim, shape, &err), BR_OK);
        assert_int_equal(ndim, 2);
        assert_int_equal(shape[0], T);
        assert_int_equal(shape[1], V);
        errs[mode] = scaled_err(lg, want, (size_t)T * V);
        ok &= errs[mode] < TOL;
        free(want);
        br_state_free(s);
    }
    /* greedy continuation: prefill the prompt, then argmax + step */
    json_t *g = json_object_get(ref, "greedy");
    int P, G;
    int32_t *gp = br_test_json_ids(json_object_get(g, "prompt_ids"), &P), *gw = br_test_json_ids(json_object_get(g, "ids"), &G);
    br_state *s = NULL;
    int slot = 0, same = 1;
    assert_int_equal(br_state_create(m, 1, P + G + 1, &s, &err), BR_OK);
    assert_int_equal(br_model_prefill(m, s, 1, &slot, gp, P, BR_LOGITS_LAST, lg, &err), BR_OK);
    for (int i = 0; i < G && same; i++) {
        int32_t next = argmax(lg, V);
        same = next == gw[i];
        assert_int_equal(br_model_step(m, s, 1, &slot, &next, lg, &err), BR_OK);
    }
    ok &= same;
    fprintf(stderr, "  %-28s prefill %.2e  step %.2e  greedy %s\n", name, errs[0], errs[1], same ? "same" : "DIFFERENT");
    br_state_free(s);
    free(gp), free(gw), free(lg), free(ids);
    br_model_free(m);
    json_decref(ref);
    return ok;
}

static void test_fixtures_match_reference(void **state) {
    (void)state;
    DIR *d = opendir(fixtures_root());
    assert_non_null(d);
    struct dirent *e;
    int n = 0, good = 0;
    while ((e = readdir(d))) {
        char dir[4400], refp[4500];
        snprintf(dir, sizeof dir, "%s/%s", fixtures_root(), e->d_name);
        snprintf(refp, sizeof refp, "%s/reference.json", dir);
        if (e->d_name[0] == '.' || !br_file_exists(refp)) continue;
        n++;
        good += check_fixture(dir, e->d_name);
    }
    closedir(d);
    assert_true(n >= 11); /* every family */
    assert_int_equal(good, n);
}

/* Every layer, not only the logits: the stream after each layer (br_model_prefill_hidden) against
 * transformers' (hidden_states.npy in a fixture, written by tools/compare/hidden_states.py with
 * transformers 5.17 on the CPU in f32), relative L2 error < 1e-4 per layer.  The mamba2 fixture has
 * none: unpatched transformers departs from the original there (docs/families.md, D3), which
 * `braid compare` pins to layer 0's mixer. */
static void test_fixtures_match_layer_by_layer(void **state) {
    (void)state;
    DIR *d = opendir(fixtures_root());
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        char dir[4400], path[4600];
        snprintf(dir, sizeof dir, "%s/%s", fixtures_root(), e->d_name);
        snprintf(path, sizeof path, "%s/hidden_states.npy", dir);
        if (e->d_name[0] == '.' || !br_file_exists(path)) continue;
        br_error err = {0};
        float *want = NULL;
        int nd = 0;
        int64_t sh[8];
        assert_int_equal(br_npy_read_f32(path, &want, &nd, sh, &err), BR_OK);
        snprintf(path, sizeof path, "%s/reference.json", dir);
        json_error_t je;
        json_t *ref = json_load_file(path, 0, &je);
        int T;
        int32_t *ids = br_test_json_ids(json_object_get(ref, "prompt_ids"), &T);
        br_model *m = NULL;
        br_state *s = NULL;
        assert_int_equal(br_model_load(dir, NULL, &m, NULL, &err), BR_OK);
        const int L = br_model_n_layers(m), D = br_model_spec(m)->d_model;
        assert_true(nd == 3 && sh[0] == L + 1 && sh[1] == T && sh[2] == D);
        float *got = malloc((size_t)(L + 1) * T * D * sizeof *got);
        assert_int_equal(br_state_create(m, 1, T, &s, &err), BR_OK);
        assert_int_equal(br_model_prefill_hidden(m, s, 0, ids, T, got, &err), BR_OK);
        double worst = 0;
        for (int l = 0; l <= L; l++) {
            const double e_l = br_test_rel_err(got + (size_t)l * T * D, want + (size_t)l * T * D, (size_t)T * D);
            if (!(e_l < 1e-4)) fprintf(stderr, "%s: layer %d differs by %.3g\n", e->d_name, l - 1, e_l);
            assert_true(e_l < 1e-4);
            worst = e_l > worst ? e_l : worst;
        }
        fprintf(stderr, "  %-28s %d layers, worst %.2e\n", e->d_name, L, worst);
        free(got), free(want), free(ids);
        json_decref(ref);
        br_state_free(s);
        br_model_free(m);
        n++;
    }
    closedir(d);
    assert_true(n >= 14);
}

/* ---- bad folders ---------------------------------------------------------------------------- */

/* A temporary folder with config.json and model.safetensors of folder `from`. */
static char *copy_checkpoint(const char *from) {
    char *tmp = br_test_mkdtemp("braid-ckpt");
    assert_non_null(tmp);
    const char *files[] = {"config.json", "model.safetensors"};
    for (int i = 0; i < 2; i++) {
        char src[4200], *text = NULL;
        size_t len;
        snprintf(src, sizeof src, "%s/%s", from, files[i]);
        br_error err = {0};
        assert_int_equal(br_read_file(src, &text, &len, &err), BR_OK);
        FILE *f = fopen(br_test_join(tmp, files[i]), "wb");
        assert_non_null(f);
        fwrite(text, 1, len, f);
        fclose(f);
        free(text);
    }
    return tmp;
}

static char *copy_fixture(const char *name) {
    char from[4200];
    snprintf(from, sizeof from, "%s/%s", fixtures_root(), name);
    return copy_checkpoint(from);
}

static void expect_load_fails(const char *dir, br_status want, const char *n1, const char *n2) {
    br_model *m = NULL;
    br_error err = {0};
    br_status st = br_model_load(dir, NULL, &m, NULL, &err);
    if (st != want || !strstr(err.message, n1) || (n2 && !strstr(err.message, n2)))
        fprintf(stderr, "status %d message: %s\n", st, err.message);
    assert_int_equal(st, want);
    assert_null(m);
    assert_non_null(strstr(err.message, n1));
    if (n2) assert_non_null(strstr(err.message, n2));
}

static void edit_config(const char *dir, const char *key, json_t *value) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_error_t jerr;
    json_t *cfg = json_load_file(path, 0, &jerr);
    assert_non_null(cfg);
    if (value) json_object_set_new(cfg, key, value);
    else json_object_del(cfg, key);
    assert_int_equal(json_dump_file(cfg, path, JSON_INDENT(2)), 0);
    json_decref(cfg);
}

static void test_bad_folders(void **state) {
    (void)state;
    expect_load_fails("/nonexistent/braid", BR_ERR_IO, "config.json", "/nonexistent/braid");

    char *dir = copy_fixture("llama");
    edit_config(dir, "model_type", json_string("mamba3"));
    expect_load_fails(dir, BR_ERR_UNSUPPORTED, "model_type 'mamba3' is not supported", "zamba2");
    edit_config(dir, "model_type", NULL);
    expect_load_fails(dir, BR_ERR_CHECKPOINT, "no 'model_type'", NULL);
    edit_config(dir, "model_type", json_string("llama"));
    edit_config(dir, "intermediate_size", json_integer(100));
    expect_load_fails(dir, BR_ERR_CHECKPOINT, "model.layers.0.mlp.gate_proj.weight", "expected shape [100, 64], found [");
    edit_config(dir, "intermediate_size", json_integer(64));
    edit_config(dir, "num_hidden_layers", json_integer(3));
    expect_load_fails(dir, BR_ERR_CHECKPOINT, "checkpoint has no tensor 'model.layers.2.", "layers.2.0.");
    edit_config(dir, "num_hidden_layers", json_integer(-1));
    expect_load_fails(dir, BR_ERR_CHECKPOINT, "'num_hidden_layers' is -1", NULL);
    edit_config(dir, "num_hidden_layers", json_integer(2));
    edit_config(dir, "hidden_size", json_real(1e30)); /* an integral float no integer holds: refused before converting */
    expect_load_fails(dir, BR_ERR_CHECKPOINT, "'hidden_size' is 1e+30", NULL);
    br_test_write_text(br_test_join(dir, "config.json"), "{\"model_type\": \"llama\",\n  \"hidden_size\": }");
    expect_load_fails(dir, BR_ERR_PARSE, "config.json:2:", NULL);
    br_test_rmtree(dir);

    /* a truncated download */
    dir = copy_fixture("mamba");
    char st_path[4200];
    snprintf(st_path, sizeof st_path, "%s", br_test_join(dir, "model.safetensors"));
    struct stat sb;
    assert_int_equal(stat(st_path, &sb), 0);
    assert_int_equal(truncate(st_path, sb.st_size / 2), 0);
    expect_load_fails(dir, BR_ERR_IO, "model.safetensors", NULL);
    /* a header that lies about where a tensor ends */
    const char *lie = "{\"backbone.embeddings.weight\": {\"dtype\": \"F32\", \"shape\": [256, 64], \"data_offsets\": [0, 999999]}}";
    assert_int_equal(br_test_st_write_header(st_path, lie, 16), 0);
    expect_load_fails(dir, BR_ERR_PARSE, "backbone.embeddings.weight", "data_offsets");
    /* no weights at all */
    assert_int_equal(unlink(st_path), 0);
    expect_load_fails(dir, BR_ERR_IO, "model.safetensors", "index");
    br_test_rmtree(dir);
}

/* A copy of the mamba fixture whose tensors pass through edit, which may change an entry (its data too,
 * memory it keeps until the file is written) or drop it by returning 0. */
typedef int (*tensor_edit)(br_test_st_entry *e, void *ctx);
static char *edited_mamba(tensor_edit edit, void *ctx) {
    char *dir = copy_fixture("mamba");
    char src[4200];
    snprintf(src, sizeof src, "%s/mamba/model.safetensors", fixtures_root());
    br_st_archive *a = NULL;
    br_error err = {0};
    assert_int_equal(br_st_open_file(src, &a, &err), BR_OK);
    size_t n = br_st_count(a), k = 0;
    br_test_st_entry *e = calloc(n, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        const br_st_tensor *t = br_st_at(a, i);
        e[k] = (br_test_st_entry){t->name, br_st_dtype_name(t->dtype), t->ndim, {0}, t->data, t->nbytes};
        memcpy(e[k].shape, t->shape, sizeof e[k].shape);
        if (edit(&e[k], ctx)) k++;
    }
    assert_int_equal(br_test_st_write(br_test_join(dir, "model.safetensors"), e, k, NULL, 8), 0);
    free(e);
    br_st_close(a);
    return dir;
}

static int drop_a_log(br_test_st_entry *e, void *ctx) {
    (void)ctx;
    return strcmp(e->name, "backbone.layers.1.mixer.A_log") != 0;
}

/* A checkpoint with one tensor left out: the error names it and the braid tensor. */
static void test_missing_tensor(void **state) {
    (void)state;
    char *dir = edited_mamba(drop_a_log, NULL);
    expect_load_fails(dir, BR_ERR_CHECKPOINT, "no tensor 'backbone.layers.1.mixer.A_log'", "layers.1.0.mixer.A_log");
    br_test_rmtree(dir);
}

/* Integers in config.json are range-checked before they are used: layer numbers, token ids. */
static void test_config_integers_checked(void **state) {
    (void)state;
    char *dir = copy_fixture("bamba");
    edit_config(dir, "attn_layer_indices", json_pack("[i, f]", 1, 1.5));
    expect_load_fails(dir, BR_ERR_CHECKPOINT, "attn_layer_indices[1] must be a layer number", NULL);
    edit_config(dir, "attn_layer_indices", json_pack("[i]", 99));
    expect_load_fails(dir, BR_ERR_CHECKPOINT, "attn_layer_indices[0] must be a layer number", NULL);
    edit_config(dir, "eos_token_id", json_integer(-3));
    int32_t ids[8];
    int n = 0;
    br_error err = {0};
    unlink(br_test_join(dir, "generation_config.json"));
    assert_int_equal(br_checkpoint_eos(dir, ids, 8, &n, &err), BR_ERR_CHECKPOINT);
    assert_non_null(strstr(err.message, "eos_token_id must be a token id"));
    edit_config(dir, "eos_token_id", json_pack("[i, I]", 2, (json_int_t)1 << 40));
    assert_int_equal(br_checkpoint_eos(dir, ids, 8, &n, &err), BR_ERR_CHECKPOINT);
    assert_non_null(strstr(err.message, "eos_token_id[1]"));
    br_test_rmtree(dir);
}

/* bf16 tensors (the bundled model's) in a checkpoint whose config says float16 (relabelled bytes look finite): a notice says so. */
static void test_dtype_mismatch_noticed(void **state) {
    (void)state;
    char *dir = copy_checkpoint(br_test_path("models/kjv-bamba-11m")); /* bf16 tensors */
    edit_config(dir, "dtype", json_string("float16"));
    br_test_catch_notices(1);
    br_model *m = NULL;
    br_error err = {0};
    assert_int_equal(br_model_load(dir, NULL, &m, NULL, &err), BR_OK);
    br_test_catch_notices(0);
    assert_non_null(strstr(br_test_last_notice(), "says dtype float16"));
    assert_non_null(strstr(br_test_last_notice(), "stored as bf16"));
    br_model_free(m);
    br_test_rmtree(dir);
}

typedef struct poison {
    float value, *data; /* the copy of layer 1's D with value at element 3 */
} poison;

static int poison_d(br_test_st_entry *e, void *ctx) {
    poison *p = ctx;
    if (strcmp(e->name, "backbone.layers.1.mixer.D") == 0) {
        assert_string_equal(e->dtype, "F32");
        p->data = malloc(e->nbytes);
        memcpy(p->data, e->data, e->nbytes);
        p->data[3] = p->value;
        e->data = p->data;
    }
    return 1;
}

/* The mamba fixture's matrices (2-D tensors but A_log) stored as bf16 or f16; `poison` (bits, 0: none) at
 * element 3 of layer 1's in_proj. */
typedef struct narrow_mats {
    br_dtype dtype;
    uint16_t poison;
    void *bufs[64];
    int n;
} narrow_mats;

static int narrow_matrices(br_test_st_entry *e, void *ctx) {
    narrow_mats *b = ctx;
    if (e->ndim != 2 || strstr(e->name, "A_log")) return 1;
    assert_string_equal(e->dtype, "F32");
    assert_true(b->n < 64);
    const size_t n = e->nbytes / 4;
    uint16_t *h = b->bufs[b->n++] = malloc(n * 2);
    br_from_f32(h, e->data, b->dtype, n);
    if (b->poison && strcmp(e->name, "backbone.layers.1.mixer.in_proj.weight") == 0) h[3] = b->poison;
    e->dtype = b->dtype == BR_BF16 ? "BF16" : "F16", e->data = h, e->nbytes = n * 2;
    return 1;
}

static char *narrowed_mamba(narrow_mats *b) {
    char *dir = edited_mamba(narrow_matrices, b);
    for (int i = 0; i < b->n; i++) free(b->bufs[i]);
    return dir;
}

static int poison_in_proj(br_test_st_entry *e, void *ctx) {
    poison *p = ctx;
    if (strcmp(e->name, "backbone.layers.1.mixer.in_proj.weight") == 0) {
        p->data = malloc(e->nbytes);
        memcpy(p->data, e->data, e->nbytes);
        p->data[3] = p->value;
        e->data = p->data;
    }
    return 1;
}

/* A weight that is not finite is refused at load, naming the tensor and the element: a vector read into
 * f32, and matrices used in place (f32 and bf16). */
static void test_nonfinite_weight(void **state) {
    (void)state;
    for (int inf = 0; inf < 2; inf++) {
        poison p = {inf ? -INFINITY : NAN, NULL};
        char *dir = edited_mamba(poison_d, &p);
        assert_non_null(p.data);
        free(p.data);
        expect_load_fails(dir, BR_ERR_CHECKPOINT, "'backbone.layers.1.mixer.D'", inf ? "an infinity at element 3"
                                                                                      : "NaN at element 3");
        br_test_rmtree(dir);
        p.data = NULL;
        dir = edited_mamba(poison_in_proj, &p);
        assert_non_null(p.data);
        free(p.data);
        expect_load_fails(dir, BR_ERR_CHECKPOINT, "'backbone.layers.1.mixer.in_proj.weight'",
                          inf ? "an infinity at element 3" : "NaN at element 3");
        br_test_rmtree(dir);
        narrow_mats b = {.dtype = BR_BF16, .poison = inf ? 0xff80 : 0x7fc1};
        dir = narrowed_mamba(&b);
        expect_load_fails(dir, BR_ERR_CHECKPOINT, "'backbone.layers.1.mixer.in_proj.weight'",
                          inf ? "an infinity at element 3" : "NaN at element 3");
        br_test_rmtree(dir);
    }
}

/* Last-token logits of a short prompt (malloc'd [vocab]). */
static float *some_logits(const br_model *m) {
    const int32_t ids[5] = {3, 1, 4, 1, 5};
    br_error err = {0};
    br_state *s = NULL;
    int slot = 0;
    float *lg = malloc((size_t)br_model_vocab_size(m) * sizeof *lg);
    assert_int_equal(br_state_create(m, 1, 8, &s, &err), BR_OK);
    assert_int_equal(br_model_prefill(m, s, 1, &slot, ids, 5, BR_LOGITS_LAST, lg, &err), BR_OK);
    br_state_free(s);
    return lg;
}

/* Every matrix of m has type dt and every other tensor is an f32 copy; when `mapped`, every matrix that
 * is one checkpoint tensor is used in place (gate_up_proj, two tensors, is a copy), else none is. */
static void expect_storage(const br_model *m, br_dtype dt, int mapped) {
    const br_weights *w = &m->plan.weights;
    for (size_t i = 0; i < w->n; i++) {
        const br_param *p = &w->items[i];
        if (!p->data) continue;
        assert_int_equal(p->dtype, p->matmul ? dt : BR_F32);
        assert_int_equal(p->mapped, p->matmul && mapped && !strstr(p->name, "gate_up_proj"));
    }
}

static br_model *load_as(const char *dir, br_weights_type weights) {
    br_load_options o = {.weights = weights};
    br_model *m = NULL;
    br_error err = {0};
    assert_int_equal(br_model_load(dir, &o, &m, NULL, &err), BR_OK);
    return m;
}

/* The bundled model's bf16 matrices are used in place by default and give the f32 model's logits to f32
 * rounding; converted to f32 they are that model, bit for bit; an f32 checkpoint's matrices narrowed to
 * bf16 give its logits to bf16 rounding. */
static void test_matrices_in_place(void **state) {
    (void)state;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", br_test_path("models/kjv-bamba-11m"));
    br_model *m16 = load_as(dir, BR_WEIGHTS_STORED), *m32 = load_as(dir, BR_WEIGHTS_F32);
    expect_storage(m16, BR_BF16, 1);
    expect_storage(m32, BR_F32, 0);
    const size_t V = (size_t)br_model_vocab_size(m16);
    float *l16 = some_logits(m16), *l32 = some_logits(m32);
    fprintf(stderr, "  bundled model, bf16 in place against f32: %.2e\n", scaled_err(l16, l32, V));
    assert_true(scaled_err(l16, l32, V) < 1e-5);
    br_error err = {0};
    assert_int_equal(br_model_convert_weights(m16, BR_F32, &err), BR_OK);
    expect_storage(m16, BR_F32, 0);
    float *again = some_logits(m16);
    assert_memory_equal(again, l32, V * sizeof *again);
    free(again);
    assert_int_equal(br_model_convert_weights(m16, BR_BF16, &err), BR_OK);
    expect_storage(m16, BR_BF16, 0);
    again = some_logits(m16);
    assert_memory_equal(again, l16, V * sizeof *again);
    free(again), free(l16), free(l32);
    br_model_free(m16), br_model_free(m32);

    snprintf(dir, sizeof dir, "%s/mamba", fixtures_root());
    m32 = load_as(dir, BR_WEIGHTS_STORED);
    m16 = load_as(dir, BR_WEIGHTS_BF16);
    expect_storage(m32, BR_F32, 1);
    expect_storage(m16, BR_BF16, 0);
    l16 = some_logits(m16), l32 = some_logits(m32);
    const size_t Vm = (size_t)br_model_vocab_size(m16);
    fprintf(stderr, "  mamba fixture, narrowed to bf16 against f32: %.2e\n", scaled_err(l16, l32, Vm));
    assert_true(scaled_err(l16, l32, Vm) < 1e-2);
    br_model_free(m16);
    free(l16);
    /* its matrices stored as f16: used in place by the f16 kernels */
    narrow_mats h = {.dtype = BR_F16};
    char *f16dir = narrowed_mamba(&h);
    m16 = load_as(f16dir, BR_WEIGHTS_STORED);
    expect_storage(m16, BR_F16, 1);
    l16 = some_logits(m16);
    fprintf(stderr, "  mamba fixture, f16 matrices in place against f32: %.2e\n", scaled_err(l16, l32, Vm));
    assert_true(scaled_err(l16, l32, Vm) < 1e-2);
    free(l16), free(l32);
    br_model_free(m16), br_model_free(m32);
    br_test_rmtree(f16dir);
}

/* The derived spec, edited: drop a layer (its weights go unused, the rest bind
 * by origin), or swap a block type (new tensors need init_missing). */
static void test_edited_spec(void **state) {
    (void)state;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/zamba2", fixtures_root());
    char *yaml = NULL;
    br_error err = {0};
    assert_int_equal(br_checkpoint_spec(dir, &yaml, &err), BR_OK);
    assert_non_null(strstr(yaml, "type: mamba2"));
    char *tmp = br_test_mkdtemp("braid-spec");
    char spec_path[4200];
    snprintf(spec_path, sizeof spec_path, "%s", br_test_join(tmp, "edited.yaml"));
    size_t len = strlen(yaml);
    char *text = malloc(len + 64);
    snprintf(text, len + 64, "%sdrop: [2]\n", yaml);
    assert_int_equal(br_test_write_text(spec_path, text), 0);
    br_load_options o = {.spec_path = spec_path, .seed = 1};
    br_load_report rep;
    br_model *m = NULL;
    br_status st = br_model_load(dir, &o, &m, &rep, &err);
    if (st != BR_OK) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, BR_OK);
    assert_true(rep.tensors_unused > 0); /* layer 2's weights */
    assert_int_equal(rep.tensors_random, 0);
    br_state *s = NULL;
    int slot = 0;
    int32_t ids[3] = {1, 2, 3};
    float *lg = malloc((size_t)br_model_vocab_size(m) * sizeof(float));
    assert_int_equal(br_state_create(m, 1, 8, &s, &err), BR_OK);
    assert_int_equal(br_model_prefill(m, s, 1, &slot, ids, 3, BR_LOGITS_LAST, lg, &err), BR_OK);
    br_state_free(s);
    br_model_free(m);
    /* layer 0 becomes a plain linear block: no such weights in the checkpoint */
    snprintf(text, len + 64, "%soverrides: {0: [proj]}\n", yaml);
    assert_int_equal(br_test_write_text(spec_path, text), 0);
    m = NULL;
    assert_int_equal(br_model_load(dir, &o, &m, &rep, &err), BR_ERR_CHECKPOINT);
    assert_non_null(strstr(err.message, "layers.0.0"));
    o.init_missing = 1;
    assert_int_equal(br_model_load(dir, &o, &m, &rep, &err), BR_OK);
    assert_true(rep.tensors_random > 0);
    br_model_free(m);
    free(lg), free(text), free(yaml);
    br_test_rmtree(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_match_reference),
        cmocka_unit_test(test_fixtures_match_layer_by_layer),
        cmocka_unit_test(test_bad_folders),
        cmocka_unit_test(test_missing_tensor),
        cmocka_unit_test(test_nonfinite_weight),
        cmocka_unit_test(test_matrices_in_place),
        cmocka_unit_test(test_config_integers_checked),
        cmocka_unit_test(test_dtype_mismatch_noticed),
        cmocka_unit_test(test_edited_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
