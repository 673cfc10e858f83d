/*
 * fuzz_targets.c - the bodies of braid's fuzz targets (fuzz_targets.h).
 * Inputs that name a file (config.json, .safetensors, tokenizer.json) are
 * written into one private temporary folder per process.
 */
#include "fuzz_targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "braid.h"
#include "checkpoint/safetensors.h"

const br_fuzz_target br_fuzz_targets[] = {
    {"spec", br_fuzz_spec},     {"config", br_fuzz_config}, {"safetensors", br_fuzz_safetensors},
    {"tokenizer", br_fuzz_tokenizer}, {"encode", br_fuzz_encode}, {NULL, NULL},
};

/* dir/name holding data; the path in a static buffer. */
static const char *write_input(const char *name, const uint8_t *data, size_t size) {
    static char dir[256], path[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/braid-fuzz-XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    return path;
}

int br_fuzz_spec(const uint8_t *data, size_t size) {
    br_spec *spec = NULL;
    br_error err = {0};
    if (br_spec_parse((const char *)data, size, "fuzz.yaml", &spec, &err) == BR_OK) br_spec_free(spec);
    return 0;
}

int br_fuzz_config(const uint8_t *data, size_t size) {
    const char *path = write_input("config.json", data, size);
    char dir[512];
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
    char *yaml = NULL;
    br_error err = {0};
    if (br_checkpoint_spec(dir, &yaml, &err) == BR_OK) { /* what braid derives must itself be a valid spec */
        br_spec *spec = NULL;
        br_status st = br_spec_parse(yaml, strlen(yaml), "derived.yaml", &spec, &err);
        if (st != BR_OK && st != BR_ERR_SPEC) { /* sizes may still be refused by the spec's own checks */
            fprintf(stderr, "derived spec does not parse: %s\n%s\n", err.message, yaml);
            abort();
        }
        br_spec_free(spec);
    }
    free(yaml);
    return 0;
}

int br_fuzz_safetensors(const uint8_t *data, size_t size) {
    const char *path = write_input("model.safetensors", data, size);
    br_st_archive *a = NULL;
    br_error err = {0};
    if (br_st_open_file(path, &a, &err) != BR_OK) return 0;
    for (size_t i = 0; i < br_st_count(a); i++) {
        const br_st_tensor *t = br_st_at(a, i);
        const uint64_t n = br_st_numel(t);
        if (n > (1u << 20)) continue; /* bounded work: a header may promise anything its bytes hold */
        float *f = malloc((n ? n : 1) * sizeof *f);
        if (!f) abort();
        br_st_read_f32(t, f, &err);
        free(f);
    }
    br_st_close(a);
    return 0;
}

int br_fuzz_tokenizer(const uint8_t *data, size_t size) {
    const char *path = write_input("tokenizer.json", data, size);
    br_tokenizer *tok = NULL;
    br_error err = {0};
    if (br_tokenizer_load(path, &tok, &err) != BR_OK) return 0;
    static const char text[] = "Hello, world! 123 caf\xc3\xa9 <s> \xf0\x9f\x98\x80";
    int32_t *ids = NULL;
    size_t n = 0;
    if (br_tokenizer_encode(tok, text, sizeof text - 1, 1, &ids, &n, &err) == BR_OK) {
        char *out = NULL;
        size_t len = 0;
        if (br_tokenizer_decode(tok, ids, n, 0, &out, &len, &err) == BR_OK) free(out);
    }
    free(ids);
    br_tokenizer_free(tok);
    return 0;
}

/* The committed tokenizers, loaded once. */
static br_tokenizer **committed(int *count) {
    static br_tokenizer *toks[16];
    static int n = -1;
    if (n < 0) {
        const char *root = getenv("BRAID_SOURCE_DIR");
        const char *files[] = {"models/kjv-bamba-11m/tokenizer.json",
                               "tests/data/real/state-spaces__mamba-2.8b-hf/tokenizer.json",
                               "tests/data/real/NousResearch__Llama-2-7b-hf/tokenizer.json",
                               "tests/data/real/mistralai__Mistral-7B-v0.1/tokenizer.json",
                               "tests/data/tokenizer/synth_bytelevel_llama3.json",
                               "tests/data/tokenizer/synth_metaspace_fallback.json",
                               "tests/data/tokenizer/synth_suffix_unk.json"};
        n = 0;
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", root ? root : ".", files[i]);
            br_error err = {0};
            if (br_tokenizer_load(path, &toks[n], &err) == BR_OK) n++;
            else fprintf(stderr, "fuzz encode: %s\n", err.message);
        }
        if (!n) abort(); /* run from the source tree, or set BRAID_SOURCE_DIR */
    }
    *count = n;
    return toks;
}

int br_fuzz_encode(const uint8_t *data, size_t size) {
    int n_tok;
    br_tokenizer **toks = committed(&n_tok);
    for (int k = 0; k < n_tok; k++)
        for (int special = 0; special < 2; special++) {
            int32_t *ids = NULL;
            size_t n = 0;
            br_error err = {0};
            if (br_tokenizer_encode(toks[k], (const char *)data, size, special, &ids, &n, &err) != BR_OK) continue;
            for (int skip = 0; skip < 2; skip++) {
                char *whole = NULL, *streamed = NULL;
                size_t wlen = 0, slen = 0;
                br_detokenizer *d = NULL;
                if (br_tokenizer_decode(toks[k], ids, n, skip, &whole, &wlen, &err) != BR_OK ||
                    br_detokenizer_new(toks[k], skip, &d, &err) != BR_OK)
                    abort(); /* ids the tokenizer made must decode */
                streamed = malloc(wlen + 64);
                for (size_t i = 0; i <= n; i++) {
                    const char *delta;
                    size_t dl;
                    br_status st = i < n ? br_detokenizer_push(d, ids[i], &delta, &dl, &err)
                                         : br_detokenizer_flush(d, &delta, &dl, &err);
                    if (st != BR_OK || slen + dl > wlen) {
                        fprintf(stderr, "streamed decode runs past the whole decode (tokenizer %d)\n", k);
                        abort();
                    }
                    memcpy(streamed + slen, delta, dl);
                    slen += dl;
                }
                if (slen != wlen || memcmp(streamed, whole, wlen) != 0) {
                    fprintf(stderr, "streamed decode differs from the whole decode (tokenizer %d, skip %d)\n", k, skip);
                    abort();
                }
                br_detokenizer_free(d);
                free(whole);
                free(streamed);
            }
            free(ids);
        }
    return 0;
}
