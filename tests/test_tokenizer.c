/*
 * test_tokenizer.c - tokenizer.json support against the Python `tokenizers`
 * library.
 *
 * tests/data/tokenizer/expected.json (written by tools/make_tokenizer_fixtures.py)
 * holds, for four published tokenizers and three small synthetic ones, the
 * library's ids for every test string with and without special tokens, its
 * decoded text with and without skipping special tokens, some id lists
 * decoded directly (random ids, byte soups that are invalid UTF-8), and
 * pre-tokenizer / normalizer probes.  Every check is exact equality.  The
 * streaming detokenizer must reproduce the full decode, and malformed
 * inputs must fail with a status and a message that names the problem.
 *
 * Set BRAID_TEST_VERBOSE=1 to print encode throughput.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file.h"
#include "braid_tokenizer.h"
#include "test_util.h"
#include "tokenizer/normalize.h"
#include "tokenizer/pretokenize.h"

static json_t *g_expected;

static int load_expected(void **state) {
    (void)state;
    char *text = NULL;
    size_t len = 0;
    br_error err = {0};
    if (br_read_file(br_test_path("tests/data/tokenizer/expected.json"), &text, &len, &err) != BR_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    json_error_t jerr;
    g_expected = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
    free(text);
    if (!g_expected) fprintf(stderr, "expected.json:%d: %s\n", jerr.line, jerr.text);
    return g_expected ? 0 : -1;
}

static int free_expected(void **state) {
    (void)state;
    json_decref(g_expected);
    return 0;
}

static int ids_equal(const int32_t *got, size_t n, const json_t *want, const char *what, const char *name,
                     size_t input) {
    size_t m = json_array_size(want);
    size_t i = 0;
    while (i < n && i < m && got[i] == json_integer_value(json_array_get(want, i))) i++;
    if (i == n && n == m) return 1;
    print_error("%s: %s of input %zu differ at position %zu (got %zu ids, want %zu): got %d, want %d\n", name, what,
                input, i, n, m, i < n ? got[i] : -1, i < m ? (int)json_integer_value(json_array_get(want, i)) : -1);
    return 0;
}

static int text_equal(const char *got, size_t n, const json_t *want, const char *what, const char *name,
                      size_t input) {
    size_t m = json_string_length(want);
    if (n == m && memcmp(got, json_string_value(want), n) == 0) return 1;
    size_t i = 0;
    while (i < n && i < m && got[i] == json_string_value(want)[i]) i++;
    print_error("%s: %s of input %zu differs at byte %zu (got %zu bytes, want %zu): got \"%.40s\", want \"%.40s\"\n",
                name, what, input, i, n, m, got + i, json_string_value(want) + i);
    return 0;
}

/* Pushes ids through a detokenizer; the pieces plus the flush must equal `want`. */
static int stream_equal(const br_tokenizer *tok, const json_t *ids, int skip, const json_t *want, const char *name,
                        size_t input) {
    br_detokenizer *d = NULL;
    br_error err = {0};
    assert_int_equal(br_detokenizer_new(tok, skip, &d, &err), BR_OK);
    char *acc = NULL;
    size_t len = 0;
    for (size_t i = 0; i <= json_array_size(ids); i++) {
        const char *delta;
        size_t n;
        br_status st = i < json_array_size(ids)
                           ? br_detokenizer_push(d, (int32_t)json_integer_value(json_array_get(ids, i)), &delta, &n, &err)
                           : br_detokenizer_flush(d, &delta, &n, &err);
        if (st != BR_OK) print_error("%s: stream of input %zu: %s\n", name, input, err.message);
        assert_int_equal(st, BR_OK);
        acc = realloc(acc, len + n + 1);
        assert_non_null(acc);
        memcpy(acc + len, delta, n);
        len += n;
        acc[len] = '\0';
    }
    int ok = text_equal(acc ? acc : "", len, want, skip ? "streamed text (skip special)" : "streamed text", name, input);
    free(acc);
    br_detokenizer_free(d);
    return ok;
}

static void check_tokenizer(const json_t *entry) {
    const char *name = json_string_value(json_object_get(entry, "name"));
    const json_t *inputs = json_object_get(g_expected, "inputs");
    br_tokenizer *tok = NULL;
    br_error err = {0};
    br_status st = br_tokenizer_load(br_test_path(json_string_value(json_object_get(entry, "path"))), &tok, &err);
    if (st != BR_OK) print_error("%s: %s\n", name, err.message);
    assert_int_equal(st, BR_OK);
    assert_int_equal(br_tokenizer_vocab_size(tok), json_integer_value(json_object_get(entry, "vocab_size")));

    const json_t *pair;
    size_t k;
    json_array_foreach(json_object_get(entry, "tokens"), k, pair) {
        /* [token, id, id_to_token(id)]: the last differs for normalized added tokens */
        const char *token = json_string_value(json_array_get(pair, 0));
        int32_t id = (int32_t)json_integer_value(json_array_get(pair, 1));
        assert_int_equal(br_tokenizer_token_to_id(tok, token), id);
        assert_string_equal(br_tokenizer_id_to_token(tok, id), json_string_value(json_array_get(pair, 2)));
    }
    assert_int_equal(br_tokenizer_token_to_id(tok, "\x01no such token\x02"), -1);
    assert_null(br_tokenizer_id_to_token(tok, br_tokenizer_vocab_size(tok)));
    assert_null(br_tokenizer_id_to_token(tok, -1));
    { /* no ids at all decodes to "" (the decoders meet empty pieces with no buffer behind them) */
        char *text = NULL;
        size_t len = 1;
        for (int skip = 0; skip < 2; skip++) {
            assert_int_equal(br_tokenizer_decode(tok, NULL, 0, skip, &text, &len, &err), BR_OK);
            assert_int_equal(len, 0);
            assert_string_equal(text, "");
            free(text);
        }
    }

    int ok = 1;
    const json_t *c;
    json_array_foreach(json_object_get(entry, "cases"), k, c) {
        const json_t *in = json_array_get(inputs, k);
        for (int special = 0; special < 2; special++) {
            int32_t *ids = NULL;
            size_t n = 0;
            st = br_tokenizer_encode(tok, json_string_value(in), json_string_length(in), special, &ids, &n, &err);
            if (st != BR_OK) print_error("%s: encode of input %zu: %s\n", name, k, err.message);
            assert_int_equal(st, BR_OK);
            ok &= ids_equal(ids, n, json_object_get(c, special ? "ids_special" : "ids"),
                            special ? "ids (add_special)" : "ids", name, k);
            free(ids);
        }
    }
    const char *lists[] = {"cases", "decode_cases"};
    for (int l = 0; l < 2; l++) {
        json_array_foreach(json_object_get(entry, lists[l]), k, c) {
            const json_t *ids = json_object_get(c, l == 0 ? "ids_special" : "ids");
            size_t n = json_array_size(ids);
            int32_t *v = malloc((n ? n : 1) * sizeof *v);
            assert_non_null(v);
            for (size_t i = 0; i < n; i++) v[i] = (int32_t)json_integer_value(json_array_get(ids, i));
            for (int skip = 0; skip < 2; skip++) {
                const json_t *want = json_object_get(c, skip ? "decoded_skip" : "decoded");
                char *text = NULL;
                size_t len = 0;
                st = br_tokenizer_decode(tok, v, n, skip, &text, &len, &err);
                if (st != BR_OK) print_error("%s: decode of %s %zu: %s\n", name, lists[l], k, err.message);
                assert_int_equal(st, BR_OK);
                assert_int_equal(text[len], '\0');
                ok &= text_equal(text, len, want, skip ? "decoded text (skip special)" : "decoded text", name, k);
                free(text);
                ok &= stream_equal(tok, ids, skip, want, name, k);
            }
            free(v);
        }
    }
    br_tokenizer_free(tok);
    assert_true(ok);
}

static const json_t *entry_named(const char *name) {
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(g_expected, "tokenizers"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0) return e;
    }
    fail_msg("no expected outputs for %s", name);
    return NULL;
}

static void test_mamba(void **state) { (void)state; check_tokenizer(entry_named("mamba-2.8b-hf")); }
static void test_gpt_neox(void **state) { (void)state; check_tokenizer(entry_named("gpt-neox-20b")); }
static void test_llama2(void **state) { (void)state; check_tokenizer(entry_named("llama-2-7b-hf")); }
static void test_mistral(void **state) { (void)state; check_tokenizer(entry_named("mistral-7b-v0.1")); }
static void test_synth_llama3(void **state) { (void)state; check_tokenizer(entry_named("synth_bytelevel_llama3")); }
static void test_synth_suffix(void **state) { (void)state; check_tokenizer(entry_named("synth_suffix_unk")); }
static void test_synth_metaspace(void **state) { (void)state; check_tokenizer(entry_named("synth_metaspace_fallback")); }

static void test_pretokenizer_probes(void **state) {
    (void)state;
    tk_rx_ctx rx;
    br_error err = {0};
    assert_int_equal(tk_rx_ctx_init(&rx, &err), BR_OK);
    tk_pieces io = {0}, spare = {0};
    int ok = 1;
    size_t i, k;
    const json_t *probe, *c;
    json_array_foreach(json_object_get(g_expected, "pretokenizers"), i, probe) {
        tk_pretok *p = NULL;
        assert_int_equal(tk_pretok_parse(json_object_get(probe, "config"), "probe", &p, &err), BR_OK);
        json_array_foreach(json_object_get(probe, "cases"), k, c) {
            const json_t *text = json_object_get(c, "text"), *want = json_object_get(c, "pieces");
            tk_pieces_clear(&io);
            if (json_string_length(text))
                assert_int_equal(tk_pieces_add(&io, json_string_value(text), json_string_length(text), -1, 1, &err), BR_OK);
            assert_int_equal(tk_pretokenize(p, &rx, &io, &spare, &err), BR_OK);
            int same = io.n == json_array_size(want);
            for (size_t j = 0; same && j < io.n; j++) {
                const json_t *w = json_array_get(want, j);
                same = io.v[j].len == json_string_length(w) &&
                       memcmp(tk_piece_text(&io, j), json_string_value(w), io.v[j].len) == 0;
            }
            if (!same) {
                char *cfg = json_dumps(json_object_get(probe, "config"), JSON_COMPACT);
                print_error("pre-tokenizer %s on probe %zu: got %zu pieces, want %zu\n", cfg, k, io.n,
                            json_array_size(want));
                for (size_t j = 0; j < io.n || j < json_array_size(want); j++)
                    print_error("  [%zu] got \"%.*s\" want \"%s\"\n", j, j < io.n ? (int)io.v[j].len : 0,
                                j < io.n ? tk_piece_text(&io, j) : "", j < json_array_size(want) ?
                                json_string_value(json_array_get(want, j)) : "");
                free(cfg);
                ok = 0;
            }
        }
        tk_pretok_free(p);
    }
    tk_pieces_free(&io);
    tk_pieces_free(&spare);
    tk_rx_ctx_free(&rx);
    assert_true(ok);
}

static void test_normalizer_probes(void **state) {
    (void)state;
    tk_rx_ctx rx;
    br_error err = {0};
    assert_int_equal(tk_rx_ctx_init(&rx, &err), BR_OK);
    tk_buf out = {0};
    int ok = 1;
    size_t i, k;
    const json_t *probe, *c;
    json_array_foreach(json_object_get(g_expected, "normalizers"), i, probe) {
        tk_normalizer *n = NULL;
        assert_int_equal(tk_normalizer_parse(json_object_get(probe, "config"), "probe", &n, &err), BR_OK);
        json_array_foreach(json_object_get(probe, "cases"), k, c) {
            const json_t *text = json_object_get(c, "text"), *want = json_object_get(c, "normalized");
            assert_int_equal(tk_normalize(n, &rx, json_string_value(text), json_string_length(text), &out, &err), BR_OK);
            if (out.len != json_string_length(want) || memcmp(out.data, json_string_value(want), out.len) != 0) {
                char *cfg = json_dumps(json_object_get(probe, "config"), JSON_COMPACT);
                print_error("normalizer %s on probe %zu: got \"%.*s\", want \"%s\"\n", cfg, k, (int)out.len, out.data,
                            json_string_value(want));
                free(cfg);
                ok = 0;
            }
        }
        tk_normalizer_free(n);
    }
    tk_buf_free(&out);
    tk_rx_ctx_free(&rx);
    assert_true(ok);
}


/* Concatenated stream pieces of ids[0..n) (then a flush) into buf; returns the length. */
static size_t stream_all(const br_tokenizer *tok, const int32_t *ids, size_t n, int skip, char *buf, size_t cap,
                         size_t *pieces_before_flush) {
    br_detokenizer *d = NULL;
    br_error err = {0};
    assert_int_equal(br_detokenizer_new(tok, skip, &d, &err), BR_OK);
    size_t len = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *delta;
        size_t dn;
        if (i == n && pieces_before_flush) *pieces_before_flush = len;
        br_status st = i < n ? br_detokenizer_push(d, ids[i], &delta, &dn, &err) : br_detokenizer_flush(d, &delta, &dn, &err);
        if (st != BR_OK) print_error("%s\n", err.message);
        assert_int_equal(st, BR_OK);
        assert_true(len + dn < cap);
        memcpy(buf + len, delta, dn);
        len += dn;
    }
    buf[len] = '\0';
    br_detokenizer_free(d);
    return len;
}

/* Byte-fallback runs: held back until a token that is not a byte ends them,
 * also across skipped special tokens, and repaired by the flush. */
static void test_stream_byte_runs(void **state) {
    (void)state;
    br_tokenizer *tok = NULL;
    br_error err = {0};
    assert_int_equal(br_tokenizer_load(br_test_path("tests/data/real/mistralai__Mistral-7B-v0.1/tokenizer.json"), &tok,
                                       &err), BR_OK);
    int32_t f0 = br_tokenizer_token_to_id(tok, "<0xF0>"), x9f = br_tokenizer_token_to_id(tok, "<0x9F>");
    int32_t x98 = br_tokenizer_token_to_id(tok, "<0x98>"), x80 = br_tokenizer_token_to_id(tok, "<0x80>");
    int32_t x49 = br_tokenizer_token_to_id(tok, "<0x49>"), xb0 = br_tokenizer_token_to_id(tok, "<0xB0>");
    int32_t a = br_tokenizer_token_to_id(tok, "\xE2\x96\x81" "a"), bos = br_tokenizer_token_to_id(tok, "<s>");
    assert_true(f0 >= 0 && x9f >= 0 && x98 >= 0 && x80 >= 0 && x49 >= 0 && xb0 >= 0 && a >= 0 && bos == 1);
    const int32_t emoji[] = {a, f0, x9f, x98, x80, a};
    const int32_t split[] = {a, x49, bos, xb0, a};  /* with <s> skipped, 49 B0 is one invalid run */
    const int32_t cut[] = {a, f0, x9f};             /* the stream ends inside a sequence */
    struct { const int32_t *ids; size_t n; } cases[] = {{emoji, 6}, {split, 5}, {cut, 3}};
    char buf[256];
    for (size_t c = 0; c < 3; c++) {
        for (int skip = 0; skip < 2; skip++) {
            char *full = NULL;
            size_t flen = 0, before = 0;
            assert_int_equal(br_tokenizer_decode(tok, cases[c].ids, cases[c].n, skip, &full, &flen, &err), BR_OK);
            size_t len = stream_all(tok, cases[c].ids, cases[c].n, skip, buf, sizeof buf, &before);
            assert_int_equal(len, flen);
            assert_memory_equal(buf, full, flen);
            if (c == 2) assert_int_equal(before, 1); /* only "a" before the flush */
            free(full);
        }
    }
    /* the emoji appears whole, with the token that ends its byte run */
    assert_int_equal(stream_all(tok, emoji, 6, 0, buf, sizeof buf, NULL), strlen("a\xF0\x9F\x98\x80 a"));
    assert_string_equal(buf, "a\xF0\x9F\x98\x80 a");
    br_tokenizer_free(tok);
}

/* ---- errors ----------------------------------------------------------------- */

/* Writes text to a fresh temporary file; returns its path (caller unlinks and frees). */
static char *temp_json(const char *text) {
    char *path = strdup("/tmp/braid_tok_XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static br_status load_text(const char *text, br_error *err) {
    char *path = temp_json(text);
    br_tokenizer *tok = NULL;
    br_status st = br_tokenizer_load(path, &tok, err);
    assert_true(st == BR_OK || tok == NULL);
    br_tokenizer_free(tok);
    unlink(path);
    free(path);
    return st;
}

#define TINY_MODEL "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}"

static void test_error_missing_file(void **state) {
    (void)state;
    br_tokenizer *tok = NULL;
    br_error err = {0};
    assert_int_equal(br_tokenizer_load("/nonexistent/tokenizer.json", &tok, &err), BR_ERR_IO);
    assert_null(tok);
    assert_non_null(strstr(err.message, "/nonexistent/tokenizer.json"));
}

static void test_error_invalid_json(void **state) {
    (void)state;
    br_error err = {0};
    assert_int_equal(load_text("{\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 0,}}}", &err), BR_ERR_PARSE);
    assert_non_null(strstr(err.message, ":2:"));
}

static void test_error_unknown_model(void **state) {
    (void)state;
    br_error err = {0};
    assert_int_equal(load_text("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", &err), BR_ERR_TOKENIZER);
    assert_non_null(strstr(err.message, "model.type"));
    assert_non_null(strstr(err.message, "Unigram"));
}

static void test_error_unknown_pretokenizer(void **state) {
    (void)state;
    br_error err = {0};
    assert_int_equal(load_text("{" TINY_MODEL ", \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": "
                               "[{\"type\": \"Whitespace\"}, {\"type\": \"Frobnicate\"}]}}", &err),
                     BR_ERR_TOKENIZER);
    assert_non_null(strstr(err.message, "pre_tokenizer.pretokenizers[1].type"));
    assert_non_null(strstr(err.message, "Frobnicate"));
    assert_int_equal(load_text("{" TINY_MODEL ", \"decoder\": {\"type\": \"CTC\"}}", &err), BR_ERR_TOKENIZER);
    assert_non_null(strstr(err.message, "CTC"));
    assert_int_equal(load_text("{" TINY_MODEL ", \"normalizer\": {\"type\": \"Precompiled\"}}", &err), BR_ERR_TOKENIZER);
    assert_non_null(strstr(err.message, "Precompiled"));
    assert_int_equal(load_text("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}", &err),
                     BR_ERR_TOKENIZER);
    assert_non_null(strstr(err.message, "model.merges[0]"));
    assert_int_equal(load_text("{" TINY_MODEL ", \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": "
                               "{\"Regex\": \"(unclosed\"}, \"behavior\": \"Isolated\", \"invert\": false}}", &err),
                     BR_ERR_TOKENIZER);
    assert_non_null(strstr(err.message, "(unclosed"));
}

static void test_tiny_tokenizer_and_errors(void **state) {
    (void)state;
    br_error err = {0};
    char *path = temp_json("{" TINY_MODEL ", \"added_tokens\": [{\"id\": 3, \"content\": \"<x>\", \"special\": true,"
                           " \"normalized\": false}], \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}}");
    br_tokenizer *tok = NULL;
    assert_int_equal(br_tokenizer_load(path, &tok, &err), BR_OK);
    unlink(path);
    free(path);
    assert_int_equal(br_tokenizer_vocab_size(tok), 4);

    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(br_tokenizer_encode(tok, "ab a<x>b", 8, 1, &ids, &n, &err), BR_OK);
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 0);
    assert_int_equal(ids[2], 3);
    assert_int_equal(ids[3], 1);
    free(ids);
    assert_int_equal(br_tokenizer_encode(tok, "", 0, 1, &ids, &n, &err), BR_OK);
    assert_int_equal(n, 0);
    assert_non_null(ids);
    free(ids);

    /* invalid UTF-8: a lone continuation byte at offset 3 */
    assert_int_equal(br_tokenizer_encode(tok, "ab \x80 a", 6, 0, &ids, &n, &err), BR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "byte offset 3"));
    assert_null(ids);
    /* a truncated 3-byte sequence at the end */
    assert_int_equal(br_tokenizer_encode(tok, "a\xE2\x82", 3, 0, &ids, &n, &err), BR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "byte offset 1"));

    /* out-of-range ids */
    const int32_t bad[] = {0, 4};
    char *text = NULL;
    assert_int_equal(br_tokenizer_decode(tok, bad, 2, 0, &text, NULL, &err), BR_ERR_RANGE);
    assert_non_null(strstr(err.message, "id 4"));
    assert_non_null(strstr(err.message, "vocab size 4"));
    assert_null(text);
    const int32_t neg[] = {-1};
    assert_int_equal(br_tokenizer_decode(tok, neg, 1, 0, &text, NULL, &err), BR_ERR_RANGE);
    br_detokenizer *d = NULL;
    assert_int_equal(br_detokenizer_new(tok, 0, &d, &err), BR_OK);
    const char *delta;
    size_t dn;
    assert_int_equal(br_detokenizer_push(d, 99, &delta, &dn, &err), BR_ERR_RANGE);
    br_detokenizer_free(d);

    /* no decoder: tokens are joined with spaces */
    const int32_t good[] = {2, 3, 1};
    size_t len = 0;
    assert_int_equal(br_tokenizer_decode(tok, good, 3, 0, &text, &len, &err), BR_OK);
    assert_string_equal(text, "ab <x> b");
    free(text);
    assert_int_equal(br_tokenizer_decode(tok, good, 3, 1, &text, &len, &err), BR_OK);
    assert_string_equal(text, "ab b");
    free(text);
    br_tokenizer_free(tok);
    br_tokenizer_free(NULL);
    br_detokenizer_free(NULL);
}

/* ~1 MB of varied text through GPT-NeoX: exact against a chunked encode, and timed. */
static void test_encode_throughput(void **state) {
    (void)state;
    br_tokenizer *tok = NULL;
    br_error err = {0};
    assert_int_equal(br_tokenizer_load(br_test_path("tests/data/real/EleutherAI__gpt-neox-20b/20B_tokenizer.json"),
                                       &tok, &err), BR_OK);
    const json_t *inputs = json_object_get(g_expected, "inputs");
    const json_t *cases = json_object_get(entry_named("gpt-neox-20b"), "cases");
    /* Concatenate the inputs that NFC leaves alone (their expected decode is the
     * input itself) until ~1 MB, so that decode(encode(text)) must give text back. */
    size_t cap = 1u << 20, len = 0;
    char *text = malloc(cap + 8192);
    assert_non_null(text);
    while (len < cap) {
        size_t i;
        const json_t *in;
        json_array_foreach(inputs, i, in) {
            const json_t *dec = json_object_get(json_array_get(cases, i), "decoded");
            size_t n = json_string_length(in);
            if (n != json_string_length(dec) || memcmp(json_string_value(in), json_string_value(dec), n) != 0) continue;
            if (len + n + 1 > cap + 8192) break;
            memcpy(text + len, json_string_value(in), n);
            len += n;
            text[len++] = '\n';
        }
    }
    int32_t *ids = NULL;
    size_t n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(br_tokenizer_encode(tok, text, len, 0, &ids, &n, &err), BR_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    char *back = NULL;
    size_t back_len = 0;
    assert_int_equal(br_tokenizer_decode(tok, ids, n, 0, &back, &back_len, &err), BR_OK);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, text, len);
    if (getenv("BRAID_TEST_VERBOSE"))
        printf("encode: %.2f MB -> %zu ids in %.3f s (%.2f MB/s)\n", (double)len / 1e6, n, s, (double)len / 1e6 / s);
    assert_true(s < 30.0);
    free(back);
    free(ids);
    free(text);
    br_tokenizer_free(tok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mamba),
        cmocka_unit_test(test_gpt_neox),
        cmocka_unit_test(test_llama2),
        cmocka_unit_test(test_mistral),
        cmocka_unit_test(test_synth_llama3),
        cmocka_unit_test(test_synth_suffix),
        cmocka_unit_test(test_synth_metaspace),
        cmocka_unit_test(test_pretokenizer_probes),
        cmocka_unit_test(test_normalizer_probes),
        cmocka_unit_test(test_stream_byte_runs),
        cmocka_unit_test(test_error_missing_file),
        cmocka_unit_test(test_error_invalid_json),
        cmocka_unit_test(test_error_unknown_model),
        cmocka_unit_test(test_error_unknown_pretokenizer),
        cmocka_unit_test(test_tiny_tokenizer_and_errors),
        cmocka_unit_test(test_encode_throughput),
    };
    return cmocka_run_group_tests(tests, load_expected, free_expected);
}
