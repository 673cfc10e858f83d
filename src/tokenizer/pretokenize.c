/*
 * pretokenize.c - the pre-tokenizers: ByteLevel, Metaspace, Split, Digits,
 * Punctuation, Whitespace, WhitespaceSplit, BertPreTokenizer, CharDelimiterSplit,
 * Sequence.
 *
 * Every splitter produces segments {start, end, is_match} that tile the
 * piece, then apply_behavior() keeps / merges them exactly as the library's
 * SplitDelimiterBehavior does (including the empty matches a regex such as
 * x* reports, which can still move a merge boundary).  A sub-piece keeps
 * at_origin only when it starts at byte 0 of an at_origin piece.
 */
#include "tokenizer/pretokenize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tokenizer/bytelevel.h"
#include "tokenizer/tkjson.h"
#include "tokenizer/unicode.h"

/* GPT-2's word pattern, used by ByteLevel when use_regex is true. */
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

typedef enum {
    PT_BYTELEVEL, PT_METASPACE, PT_SPLIT, PT_DIGITS, PT_PUNCTUATION, PT_WHITESPACE, PT_WHITESPACE_SPLIT,
    PT_BERT, PT_CHAR_DELIMITER, PT_SEQUENCE,
} pt_kind;

typedef enum { B_ISOLATED, B_REMOVED, B_MERGED_PREV, B_MERGED_NEXT, B_CONTIGUOUS } pt_behavior;

typedef enum { PREPEND_NEVER, PREPEND_FIRST, PREPEND_ALWAYS } pt_prepend;

struct tk_pretok {
    pt_kind kind;
    int add_prefix_space, use_regex; /* ByteLevel */
    tk_regex *regex;                 /* ByteLevel (GPT-2 pattern), Split */
    uint32_t replacement;            /* Metaspace / CharDelimiterSplit: the code point, and its UTF-8 */
    char rep[4];
    size_t rep_len;
    pt_prepend prepend;
    int split;                       /* Metaspace */
    pt_behavior behavior;            /* Split, Punctuation */
    int invert;                      /* Split */
    int individual_digits;           /* Digits */
    tk_pretok **items;               /* Sequence: n_items children */
    size_t n_items;
};

void tk_pretok_free(tk_pretok *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_items; i++) tk_pretok_free(p->items[i]);
    free(p->items);
    tk_regex_free(p->regex);
    free(p);
}

static br_status parse_behavior(const json_t *j, const char *where, pt_behavior *out, br_error *err) {
    const char *s;
    BR_TRY(tk_json_opt_string(j, "behavior", where, &s, NULL, err));
    static const struct { const char *a, *b; pt_behavior v; } names[] = {
        {"Isolated", "isolated", B_ISOLATED}, {"Removed", "removed", B_REMOVED},
        {"MergedWithPrevious", "merged_with_previous", B_MERGED_PREV},
        {"MergedWithNext", "merged_with_next", B_MERGED_NEXT}, {"Contiguous", "contiguous", B_CONTIGUOUS},
    };
    if (!s) {
        *out = B_ISOLATED;
        return BR_OK;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].a) == 0 || strcmp(s, names[i].b) == 0) {
            *out = names[i].v;
            return BR_OK;
        }
    }
    return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.behavior: unknown split behavior \"%s\"", where, s);
}

static br_status parse_metaspace(tk_pretok *p, const json_t *j, const char *where, br_error *err) {
    const char *rep, *scheme;
    size_t len;
    BR_TRY(tk_json_opt_string(j, "replacement", where, &rep, &len, err));
    if (!rep) {
        rep = "\xE2\x96\x81";
        len = 3;
    }
    size_t i = 0;
    if (len == 0 || len > 4 || tk_utf8_valid_prefix(rep, len) != len || (tk_utf8_next(rep, &i), i != len))
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.replacement: expected exactly one character, found \"%s\"", where, rep);
    i = 0;
    p->replacement = tk_utf8_next(rep, &i);
    memcpy(p->rep, rep, len);
    p->rep_len = len;
    BR_TRY(tk_json_bool(j, "split", 1, where, &p->split, err));
    BR_TRY(tk_json_opt_string(j, "prepend_scheme", where, &scheme, NULL, err));
    if (!scheme) { /* legacy files: add_prefix_space instead of prepend_scheme */
        int aps;
        BR_TRY(tk_json_bool(j, "add_prefix_space", 1, where, &aps, err));
        p->prepend = aps ? PREPEND_ALWAYS : PREPEND_NEVER;
    } else if (strcasecmp(scheme, "always") == 0) {
        p->prepend = PREPEND_ALWAYS;
    } else if (strcasecmp(scheme, "first") == 0) {
        p->prepend = PREPEND_FIRST;
    } else if (strcasecmp(scheme, "never") == 0) {
        p->prepend = PREPEND_NEVER;
    } else {
        return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.prepend_scheme: unknown scheme \"%s\" (expected first, always or never)",
                       where, scheme);
    }
    return BR_OK;
}

static br_status parse_into(tk_pretok *p, const json_t *j, const char *where, br_error *err) {
    const char *type;
    BR_TRY(tk_json_type(j, where, &type, err));
    if (strcmp(type, "ByteLevel") == 0) {
        p->kind = PT_BYTELEVEL;
        BR_TRY(tk_json_bool(j, "add_prefix_space", 1, where, &p->add_prefix_space, err));
        BR_TRY(tk_json_bool(j, "use_regex", 1, where, &p->use_regex, err));
        if (p->use_regex) BR_TRY(tk_regex_new(GPT2_PATTERN, sizeof GPT2_PATTERN - 1, 0, &p->regex, err));
        return BR_OK;
    }
    if (strcmp(type, "Metaspace") == 0) {
        p->kind = PT_METASPACE;
        return parse_metaspace(p, j, where, err);
    }
    if (strcmp(type, "Split") == 0) {
        p->kind = PT_SPLIT;
        BR_TRY(tk_json_pattern(j, "pattern", where, &p->regex, err));
        BR_TRY(tk_json_bool(j, "invert", 0, where, &p->invert, err));
        return parse_behavior(j, where, &p->behavior, err);
    }
    if (strcmp(type, "Digits") == 0) {
        p->kind = PT_DIGITS;
        return tk_json_bool(j, "individual_digits", 0, where, &p->individual_digits, err);
    }
    if (strcmp(type, "Punctuation") == 0) {
        p->kind = PT_PUNCTUATION;
        return parse_behavior(j, where, &p->behavior, err);
    }
    if (strcmp(type, "Whitespace") == 0) {
        p->kind = PT_WHITESPACE;
        return BR_OK;
    }
    if (strcmp(type, "WhitespaceSplit") == 0) {
        p->kind = PT_WHITESPACE_SPLIT;
        return BR_OK;
    }
    if (strcmp(type, "BertPreTokenizer") == 0) {
        p->kind = PT_BERT;
        return BR_OK;
    }
    if (strcmp(type, "CharDelimiterSplit") == 0) {
        const char *d;
        size_t len, i = 0;
        p->kind = PT_CHAR_DELIMITER;
        BR_TRY(tk_json_string(j, "delimiter", where, &d, &len, err));
        if (len == 0 || tk_utf8_valid_prefix(d, len) != len || (p->replacement = tk_utf8_next(d, &i), i != len))
            return BR_FAIL(err, BR_ERR_TOKENIZER, "%s.delimiter: expected exactly one character, found \"%s\"", where, d);
        return BR_OK;
    }
    if (strcmp(type, "Sequence") == 0) {
        p->kind = PT_SEQUENCE;
        const json_t *arr;
        BR_TRY(tk_json_array(j, "pretokenizers", where, &arr, err));
        p->items = br_calloc(json_array_size(arr), sizeof *p->items, err);
        if (!p->items) return BR_ERR_NOMEM;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", where, i);
            BR_TRY(tk_pretok_parse(json_array_get(arr, i), sub, &p->items[i], err));
            p->n_items = i + 1;
            if (!p->items[i])
                return BR_FAIL(err, BR_ERR_TOKENIZER, "%s: expected a pre-tokenizer object, found null", sub);
        }
        return BR_OK;
    }
    return BR_FAIL(err, BR_ERR_TOKENIZER,
                   "%s.type: unknown pre-tokenizer type \"%s\" (braid handles ByteLevel, Metaspace, Split, Digits, "
                   "Punctuation, Whitespace, WhitespaceSplit, BertPreTokenizer, CharDelimiterSplit, Sequence)",
                   where, type);
}

br_status tk_pretok_parse(const json_t *j, const char *where, tk_pretok **out, br_error *err) {
    *out = NULL;
    if (!j || json_is_null(j)) return BR_OK;
    tk_pretok *p = br_calloc(1, sizeof *p, err);
    if (!p) return BR_ERR_NOMEM;
    br_status st = parse_into(p, j, where, err);
    if (st != BR_OK) {
        tk_pretok_free(p);
        return st;
    }
    *out = p;
    return BR_OK;
}

/* ---- segments and behaviors ------------------------------------------------ */

typedef struct seg {
    size_t start, end;
    int match;
} seg;

typedef struct work {
    tk_rx_ctx *rx;
    tk_spans spans;
    seg *segs; /* n_segs segments of the current piece */
    size_t n_segs, cap_segs;
    tk_buf text; /* rewritten piece text (prefix space, Metaspace replacement) */
} work;

static br_status seg_push(work *w, size_t start, size_t end, int match, br_error *err) {
    if (w->n_segs == w->cap_segs) {
        size_t ncap = w->cap_segs ? w->cap_segs * 2 : 64;
        seg *v = realloc(w->segs, ncap * sizeof *v);
        if (!v) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory growing split segments");
        w->segs = v;
        w->cap_segs = ncap;
    }
    w->segs[w->n_segs++] = (seg){start, end, match};
    return BR_OK;
}

/* Segments from a regex (Pattern for SysRegex::find_matches). */
static br_status segs_regex(work *w, const tk_regex *re, const char *s, size_t len, br_error *err) {
    w->n_segs = 0;
    if (len == 0) return seg_push(w, 0, 0, 0, err);
    BR_TRY(tk_regex_find_all(re, w->rx, s, len, &w->spans, err));
    size_t prev = 0;
    for (size_t k = 0; k < w->spans.n; k++) {
        if (prev != w->spans.v[k].start) BR_TRY(seg_push(w, prev, w->spans.v[k].start, 0, err));
        BR_TRY(seg_push(w, w->spans.v[k].start, w->spans.v[k].end, 1, err));
        prev = w->spans.v[k].end;
    }
    if (prev != len) BR_TRY(seg_push(w, prev, len, 0, err));
    return BR_OK;
}

/* Segments from a character predicate: every matching character is its own match. */
static br_status segs_pred(work *w, int (*pred)(uint32_t, const tk_pretok *), const tk_pretok *p, const char *s,
                           size_t len, br_error *err) {
    w->n_segs = 0;
    if (len == 0) return seg_push(w, 0, 0, 0, err);
    size_t last = 0;
    for (size_t i = 0; i < len;) {
        size_t start = i;
        uint32_t cp = tk_utf8_next(s, &i);
        if (!pred(cp, p)) continue;
        if (last < start) BR_TRY(seg_push(w, last, start, 0, err));
        BR_TRY(seg_push(w, start, i, 1, err));
        last = i;
    }
    if (last < len) BR_TRY(seg_push(w, last, len, 0, err));
    return BR_OK;
}

/* Rewrites w->segs in place into the kept ranges (match flag then means "remove"). */
static void apply_behavior(work *w, pt_behavior b) {
    seg *v = w->segs;
    size_t n = w->n_segs, o = 0;
    int prev_match = 0;
    switch (b) {
    case B_ISOLATED:
        for (size_t i = 0; i < n; i++) v[i].match = 0;
        return;
    case B_REMOVED:
        return;
    case B_CONTIGUOUS:
        for (size_t i = 0; i < n; i++) {
            int m = v[i].match;
            if (o > 0 && m == prev_match) v[o - 1].end = v[i].end;
            else v[o++] = (seg){v[i].start, v[i].end, 0};
            prev_match = m;
        }
        break;
    case B_MERGED_PREV:
        for (size_t i = 0; i < n; i++) {
            int m = v[i].match;
            if (m && !prev_match && o > 0) v[o - 1].end = v[i].end;
            else v[o++] = (seg){v[i].start, v[i].end, 0};
            prev_match = m;
        }
        break;
    case B_MERGED_NEXT: {
        /* walk backwards, writing kept ranges from the end, then shift down */
        size_t w_at = n;
        for (size_t i = n; i-- > 0;) {
            int m = v[i].match;
            if (m && !prev_match && w_at < n) v[w_at].start = v[i].start;
            else v[--w_at] = (seg){v[i].start, v[i].end, 0};
            prev_match = m;
        }
        o = n - w_at;
        memmove(v, v + w_at, o * sizeof *v);
        break;
    }
    }
    w->n_segs = o;
}

/* Pushes the kept segments of s as pieces (empty ones vanish). */
static br_status emit_segs(work *w, const char *s, int at_origin, tk_pieces *out, br_error *err) {
    for (size_t i = 0; i < w->n_segs; i++) {
        const seg *g = &w->segs[i];
        if (g->match || g->end <= g->start) continue;
        BR_TRY(tk_pieces_add(out, s + g->start, g->end - g->start, -1, at_origin && g->start == 0, err));
    }
    return BR_OK;
}

/* ---- the pre-tokenizers ------------------------------------------------------ */

static int is_numeric(uint32_t cp, const tk_pretok *p) { (void)p; return tk_is_numeric(cp); }
static int is_punct(uint32_t cp, const tk_pretok *p) { (void)p; return tk_is_punctuation(cp); }
static int is_space(uint32_t cp, const tk_pretok *p) { (void)p; return tk_is_whitespace(cp); }
static int is_rep(uint32_t cp, const tk_pretok *p) { return cp == p->replacement; }

static br_status bytelevel(const tk_pretok *p, work *w, const char *s, size_t len, int at_origin, tk_pieces *out,
                           br_error *err) {
    w->text.len = 0;
    if (p->add_prefix_space && s[0] != ' ') BR_TRY(tk_buf_append(&w->text, " ", 1, err));
    BR_TRY(tk_buf_append(&w->text, s, len, err));
    const char *t = w->text.data;
    if (p->use_regex) {
        BR_TRY(segs_regex(w, p->regex, t, w->text.len, err));
    } else {
        w->n_segs = 0;
        BR_TRY(seg_push(w, 0, w->text.len, 0, err));
    }
    for (size_t i = 0; i < w->n_segs; i++) {
        const seg *g = &w->segs[i];
        if (g->end <= g->start) continue;
        BR_TRY(tk_pieces_open(out, -1, at_origin && g->start == 0, err));
        BR_TRY(tk_buf_reserve(&out->text, 2 * (g->end - g->start), err));
        for (size_t k = g->start; k < g->end; k++)
            BR_TRY(tk_buf_append_cp(&out->text, tk_byte_to_cp((unsigned char)t[k]), err));
        tk_pieces_close(out);
    }
    return BR_OK;
}

static br_status metaspace(const tk_pretok *p, work *w, const char *s, size_t len, int at_origin, tk_pieces *out,
                           br_error *err) {
    tk_buf *t = &w->text;
    t->len = 0;
    /* the check runs after ' ' became the replacement */
    int starts_rep = s[0] == ' ' || (len >= p->rep_len && memcmp(s, p->rep, p->rep_len) == 0);
    if (!starts_rep && (p->prepend == PREPEND_ALWAYS || (p->prepend == PREPEND_FIRST && at_origin)))
        BR_TRY(tk_buf_append(t, p->rep, p->rep_len, err));
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') BR_TRY(tk_buf_append(t, p->rep, p->rep_len, err));
        else BR_TRY(tk_buf_append(t, s + i, 1, err));
    }
    if (!p->split) return tk_pieces_add(out, t->data, t->len, -1, at_origin, err);
    BR_TRY(segs_pred(w, is_rep, p, t->data, t->len, err));
    apply_behavior(w, B_MERGED_NEXT);
    return emit_segs(w, t->data, at_origin, out, err);
}

static int ws_class(uint32_t cp) { return tk_is_word(cp) ? 1 : tk_is_whitespace(cp) ? 0 : 2; }

/* Whitespace: the runs of \w+ and of [^\w\s]+ (White_Space is dropped). */
static br_status whitespace(const char *s, size_t len, int at_origin, tk_pieces *out, br_error *err) {
    for (size_t i = 0; i < len;) {
        size_t start = i;
        int cls = ws_class(tk_utf8_next(s, &i));
        if (cls == 0) continue;
        while (i < len) {
            size_t j = i;
            if (ws_class(tk_utf8_next(s, &j)) != cls) break;
            i = j;
        }
        BR_TRY(tk_pieces_add(out, s + start, i - start, -1, at_origin && start == 0, err));
    }
    return BR_OK;
}

static br_status split_piece(const tk_pretok *p, work *w, const char *s, size_t len, int at_origin, tk_pieces *out,
                             br_error *err) {
    switch (p->kind) {
    case PT_BYTELEVEL:
        return bytelevel(p, w, s, len, at_origin, out, err);
    case PT_METASPACE:
        return metaspace(p, w, s, len, at_origin, out, err);
    case PT_SPLIT:
        BR_TRY(segs_regex(w, p->regex, s, len, err));
        if (p->invert)
            for (size_t i = 0; i < w->n_segs; i++) w->segs[i].match = !w->segs[i].match;
        apply_behavior(w, p->behavior);
        return emit_segs(w, s, at_origin, out, err);
    case PT_DIGITS:
        BR_TRY(segs_pred(w, is_numeric, p, s, len, err));
        apply_behavior(w, p->individual_digits ? B_ISOLATED : B_CONTIGUOUS);
        return emit_segs(w, s, at_origin, out, err);
    case PT_PUNCTUATION:
        BR_TRY(segs_pred(w, is_punct, p, s, len, err));
        apply_behavior(w, p->behavior);
        return emit_segs(w, s, at_origin, out, err);
    case PT_WHITESPACE:
        return whitespace(s, len, at_origin, out, err);
    case PT_WHITESPACE_SPLIT:
        BR_TRY(segs_pred(w, is_space, p, s, len, err));
        apply_behavior(w, B_REMOVED);
        return emit_segs(w, s, at_origin, out, err);
    case PT_CHAR_DELIMITER:
        BR_TRY(segs_pred(w, is_rep, p, s, len, err));
        apply_behavior(w, B_REMOVED);
        return emit_segs(w, s, at_origin, out, err);
    case PT_BERT:
    case PT_SEQUENCE:
        break;
    }
    return BR_OK;
}

static br_status run_one(const tk_pretok *p, work *w, tk_pieces *io, tk_pieces *spare, br_error *err) {
    if (p->kind == PT_SEQUENCE) {
        for (size_t i = 0; i < p->n_items; i++) BR_TRY(run_one(p->items[i], w, io, spare, err));
        return BR_OK;
    }
    if (p->kind == PT_BERT) {
        static const tk_pretok ws = {.kind = PT_WHITESPACE_SPLIT};
        static const tk_pretok punct = {.kind = PT_PUNCTUATION, .behavior = B_ISOLATED};
        BR_TRY(run_one(&ws, w, io, spare, err));
        return run_one(&punct, w, io, spare, err);
    }
    tk_pieces_clear(spare);
    for (size_t i = 0; i < io->n; i++) {
        const tk_piece *pc = &io->v[i];
        if (pc->id >= 0) BR_TRY(tk_pieces_add(spare, tk_piece_text(io, i), pc->len, pc->id, pc->at_origin, err));
        else if (pc->len) BR_TRY(split_piece(p, w, tk_piece_text(io, i), pc->len, pc->at_origin, spare, err));
    }
    tk_pieces_swap(io, spare);
    return BR_OK;
}

br_status tk_pretokenize(const tk_pretok *p, tk_rx_ctx *rx, tk_pieces *io, tk_pieces *spare, br_error *err) {
    if (!p) return BR_OK;
    work w = {.rx = rx};
    br_status st = run_one(p, &w, io, spare, err);
    tk_spans_free(&w.spans);
    free(w.segs);
    tk_buf_free(&w.text);
    return st;
}
