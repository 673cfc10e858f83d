/*
 * tokenizer.c - loading tokenizer.json, the public encode / decode calls and
 * the id <-> token tables (see tokenizer.h for the pipeline).
 *
 * Load order matters: the normalizer is parsed before the added tokens,
 * because normalized added tokens are matched in normalized form.  The id
 * tables are built last, with added tokens overriding model tokens, which
 * is how the library resolves ids in both directions.  Like the library,
 * id -> token shows a normalized added token in normalized form (Llama-2's
 * "<s>" reads "\u2581<s>"), and skip_special only drops ids whose shown
 * text is the content of a special token.
 */
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "tokenizer/tkjson.h"
#include "tokenizer/unicode.h"

void br_tokenizer_free(br_tokenizer *tok) {
    if (!tok) return;
    tk_bpe_free(tok->model);
    tk_normalizer_free(tok->normalizer);
    tk_pretok_free(tok->pretok);
    tk_post_free(tok->post);
    tk_decoder_free(tok->decoder);
    tk_added_free(&tok->added);
    tk_strmap_free(&tok->token_ids);
    free(tok->id_token);
    free(tok->id_token_len);
    free(tok->id_special);
    free(tok->id_byte);
    free(tok);
}

static br_status parse_model(br_tokenizer *tok, const json_t *model, br_error *err) {
    if (!json_is_object(model))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "model: expected an object, found %s", tk_json_kind(model));
    const json_t *type = json_object_get(model, "type");
    if (!type && json_object_get(model, "merges")) return tk_bpe_parse(model, &tok->model, err); /* old files */
    if (!json_is_string(type))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "model.type: expected a string, found %s", tk_json_kind(type));
    if (strcmp(json_string_value(type), "BPE") != 0)
        return BR_FAIL(err, BR_ERR_TOKENIZER, "model.type: unknown model type \"%s\" (braid handles BPE)",
                       json_string_value(type));
    return tk_bpe_parse(model, &tok->model, err);
}

static int is_byte_token(const char *s, size_t len) {
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'))) return 0;
    }
    return 1;
}

static br_status build_tables(br_tokenizer *tok, br_error *err) {
    const tk_strmap *vocab = tk_bpe_vocab(tok->model);
    int32_t max_id = -1;
    for (size_t i = 0; i < vocab->cap; i++)
        if (vocab->slots[i].key && vocab->slots[i].val > max_id) max_id = vocab->slots[i].val;
    for (size_t i = 0; i < tok->added.n; i++)
        if (tok->added.tokens[i].id > max_id) max_id = tok->added.tokens[i].id;
    tok->vocab_size = max_id + 1;
    size_t n = (size_t)tok->vocab_size;
    tok->id_token = br_calloc(n, sizeof *tok->id_token, err);
    tok->id_token_len = br_calloc(n, sizeof *tok->id_token_len, err);
    tok->id_special = br_calloc(n, 1, err);
    tok->id_byte = br_calloc(n, 1, err);
    if (!tok->id_token || !tok->id_token_len || !tok->id_special || !tok->id_byte) return BR_ERR_NOMEM;
    for (size_t i = 0; i < vocab->cap; i++) {
        const tk_strmap_slot *s = &vocab->slots[i];
        if (!s->key) continue;
        const char *stored;
        BR_TRY(tk_strmap_put(&tok->token_ids, s->key, s->len, s->val, &stored, err));
        tok->id_token[s->val] = stored;
        tok->id_token_len[s->val] = s->len;
    }
    tk_strmap specials = {0};
    br_status st = BR_OK;
    for (size_t i = 0; i < tok->added.n && st == BR_OK; i++) {
        const tk_added_token *t = &tok->added.tokens[i];
        st = tk_strmap_put(&tok->token_ids, t->content, t->len, t->id, NULL, err);
        tok->id_token[t->id] = t->shown;
        tok->id_token_len[t->id] = t->shown_len;
        if (st == BR_OK && t->special) st = tk_strmap_put(&specials, t->content, t->len, 1, NULL, err);
    }
    for (size_t id = 0; id < n && st == BR_OK; id++) {
        int32_t one;
        if (!tok->id_token[id]) continue;
        tok->id_special[id] = (uint8_t)tk_strmap_get(&specials, tok->id_token[id], tok->id_token_len[id], &one);
        tok->id_byte[id] = (uint8_t)is_byte_token(tok->id_token[id], tok->id_token_len[id]);
    }
    tk_strmap_free(&specials);
    return st;
}

static br_status load_root(br_tokenizer *tok, const json_t *root, br_error *err) {
    if (!json_is_object(root))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "expected a JSON object at the top level, found %s", tk_json_kind(root));
    BR_TRY(parse_model(tok, json_object_get(root, "model"), err));
    BR_TRY(tk_normalizer_parse(json_object_get(root, "normalizer"), "normalizer", &tok->normalizer, err));
    BR_TRY(tk_pretok_parse(json_object_get(root, "pre_tokenizer"), "pre_tokenizer", &tok->pretok, err));
    BR_TRY(tk_post_parse(json_object_get(root, "post_processor"), "post_processor", &tok->post, err));
    BR_TRY(tk_decoder_parse(json_object_get(root, "decoder"), "decoder", &tok->decoder, err));
    BR_TRY(tk_added_parse(json_object_get(root, "added_tokens"), tok->normalizer, &tok->added, err));
    tok->byte_fallback_decoder = tk_decoder_has_byte_fallback(tok->decoder);
    /* "truncation" and "padding" shape batches for training; braid encodes one text at a time. */
    return build_tables(tok, err);
}

br_status br_tokenizer_load(const char *path, br_tokenizer **out, br_error *err) {
    if (!path || !out) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_tokenizer_load: path and out must not be NULL");
    *out = NULL;
    json_t *root = NULL;
    BR_TRY(br_json_load_file(path, &root, err));
    br_tokenizer *tok = br_calloc(1, sizeof *tok, err);
    if (!tok) {
        json_decref(root);
        return BR_ERR_NOMEM;
    }
    br_status st = load_root(tok, root, err);
    json_decref(root);
    if (st != BR_OK) {
        br_error_prefix(err, "%s", path);
        br_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return BR_OK;
}

int32_t br_tokenizer_vocab_size(const br_tokenizer *tok) { return tok ? tok->vocab_size : 0; }

int32_t br_tokenizer_token_to_id(const br_tokenizer *tok, const char *token) {
    int32_t id;
    if (!tok || !token || !tk_strmap_get(&tok->token_ids, token, strlen(token), &id)) return -1;
    return id;
}

const char *br_tokenizer_id_to_token(const br_tokenizer *tok, int32_t id) {
    if (!tok || id < 0 || id >= tok->vocab_size) return NULL;
    return tok->id_token[id];
}

/* Runs the pipeline on text into *out (without post-processing). */
static br_status encode_pieces(const br_tokenizer *tok, tk_rx_ctx *rx, const char *text, size_t len, tk_ids *out,
                               br_error *err) {
    tk_pieces a = {0}, b = {0};
    tk_bpe_work w = {0};
    br_status st = tk_added_extract(&tok->added, tok->normalizer, rx, text, len, &a, &b, err);
    if (st == BR_OK) st = tk_pretokenize(tok->pretok, rx, &a, &b, err);
    for (size_t i = 0; i < a.n && st == BR_OK; i++) {
        if (a.v[i].id >= 0) st = tk_ids_push(out, a.v[i].id, err);
        else st = tk_bpe_tokenize(tok->model, &w, tk_piece_text(&a, i), a.v[i].len, out, err);
    }
    tk_pieces_free(&a);
    tk_pieces_free(&b);
    tk_bpe_work_free(&w);
    return st;
}

br_status br_tokenizer_encode(const br_tokenizer *tok, const char *text, size_t len, int add_special,
                              int32_t **ids, size_t *n_ids, br_error *err) {
    if (!tok || !ids || !n_ids || (!text && len))
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_tokenizer_encode: tok, ids, n_ids (and text when len > 0) must not be NULL");
    *ids = NULL;
    *n_ids = 0;
    size_t valid = len ? tk_utf8_valid_prefix(text, len) : 0;
    if (valid != len)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "encode: invalid UTF-8 at byte offset %zu (byte 0x%02X)", valid,
                       (unsigned char)text[valid]);
    tk_rx_ctx rx;
    BR_TRY(tk_rx_ctx_init(&rx, err));
    tk_ids out = {0};
    br_status st = encode_pieces(tok, &rx, len ? text : "", len, &out, err);
    if (st == BR_OK && add_special) st = tk_post_apply(tok->post, &out, err);
    if (st == BR_OK && !out.v) { /* callers always get a pointer to free */
        out.v = br_malloc(sizeof *out.v, err);
        if (!out.v) st = BR_ERR_NOMEM;
    }
    tk_rx_ctx_free(&rx);
    if (st != BR_OK) {
        tk_ids_free(&out);
        return st;
    }
    *ids = out.v;
    *n_ids = out.n;
    return BR_OK;
}

br_status tk_decode_ids(const br_tokenizer *tok, tk_rx_ctx *rx, const int32_t *ids, size_t n, int skip_special,
                        tk_pieces *a, tk_pieces *b, tk_buf *out, br_error *err) {
    tk_pieces_clear(a);
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= tok->vocab_size)
            return BR_FAIL(err, BR_ERR_RANGE, "decode: token id %d at position %zu is out of range (vocab size %d)", id,
                           i, tok->vocab_size);
        if (!tok->id_token[id] || (skip_special && tok->id_special[id])) continue;
        BR_TRY(tk_pieces_add(a, tok->id_token[id], tok->id_token_len[id], -1, 0, err));
    }
    return tk_decode_tokens(tok->decoder, rx, a, b, out, err);
}

br_status br_tokenizer_decode(const br_tokenizer *tok, const int32_t *ids, size_t n, int skip_special,
                              char **text, size_t *len, br_error *err) {
    if (!tok || !text || (!ids && n))
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_tokenizer_decode: tok, text (and ids when n > 0) must not be NULL");
    *text = NULL;
    if (len) *len = 0;
    tk_rx_ctx rx;
    BR_TRY(tk_rx_ctx_init(&rx, err));
    tk_pieces a = {0}, b = {0};
    tk_buf out = {0};
    br_status st = tk_decode_ids(tok, &rx, ids, n, skip_special, &a, &b, &out, err);
    if (st == BR_OK) st = tk_buf_reserve(&out, 0, err);
    tk_pieces_free(&a);
    tk_pieces_free(&b);
    tk_rx_ctx_free(&rx);
    if (st != BR_OK) {
        tk_buf_free(&out);
        return st;
    }
    out.data[out.len] = '\0';
    *text = out.data;
    if (len) *len = out.len;
    return BR_OK;
}
