/*
 * fields.c - the generic reader and writer behind every block's YAML keys.
 */
#include "graph/fields.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"

int br_yscalar_is_none(const br_ynode *node) {
    if (!node || node->kind != BR_Y_SCALAR || node->quoted) return 0;
    const char *s = node->scalar;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0 || strcmp(s, "none") == 0 || strcmp(s, "None") == 0;
}

static br_status need_scalar(const br_ynode *node, const char *what, const char *expected, br_error *err) {
    if (node->kind == BR_Y_SCALAR) return BR_OK;
    return br_yfail(err, BR_ERR_SPEC, node, "%s: expected %s, found a %s", what, expected,
                    br_ykind_name(node->kind));
}

br_status br_yscalar_int(const br_ynode *node, const char *what, long long min, long long max,
                         long long *out, br_error *err) {
    BR_TRY(need_scalar(node, what, "an integer", err));
    char *end;
    errno = 0;
    long long v = strtoll(node->scalar, &end, 10);
    if (node->scalar[0] == '\0' || *end != '\0' || errno)
        return br_yfail(err, BR_ERR_SPEC, node, "%s: expected an integer, found '%s'", what, node->scalar);
    if (v < min || v > max) {
        if (v < 0 && min >= 0)
            return br_yfail(err, BR_ERR_SPEC, node, "%s: expected a non-negative size, found %lld", what, v);
        return br_yfail(err, BR_ERR_SPEC, node, "%s: expected an integer in [%lld, %lld], found %lld", what, min,
                        max, v);
    }
    *out = v;
    return BR_OK;
}

br_status br_yscalar_float(const br_ynode *node, const char *what, double *out, br_error *err) {
    BR_TRY(need_scalar(node, what, "a number", err));
    const char *s = node->scalar;
    int neg = s[0] == '-';
    const char *t = (s[0] == '-' || s[0] == '+') ? s + 1 : s;
    if (strcasecmp(t, ".inf") == 0 || strcasecmp(t, "inf") == 0 || strcasecmp(t, "infinity") == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return BR_OK;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (s[0] == '\0' || *end != '\0' || errno || isnan(v))
        return br_yfail(err, BR_ERR_SPEC, node, "%s: expected a number, found '%s'", what, s);
    *out = v;
    return BR_OK;
}

br_status br_yscalar_bool(const br_ynode *node, const char *what, int *out, br_error *err) {
    BR_TRY(need_scalar(node, what, "true or false", err));
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "on", NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no", "off", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcmp(node->scalar, yes[i]) == 0) return *out = 1, BR_OK;
    for (int i = 0; no[i]; i++)
        if (strcmp(node->scalar, no[i]) == 0) return *out = 0, BR_OK;
    return br_yfail(err, BR_ERR_SPEC, node, "%s: expected true or false, found '%s'", what, node->scalar);
}

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 64;
    size_t prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

const char *br_closest_word(const char *word, const char *const *candidates) {
    const char *best = NULL;
    size_t best_d = 3; /* only suggest close matches */
    for (int i = 0; candidates && candidates[i]; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

void br_fields_defaults(const br_field *fields, void *cfg) {
    for (const br_field *f = fields; f->key; f++) {
        char *p = (char *)cfg + f->offset;
        switch (f->kind) {
        case BR_FIELD_INT:
        case BR_FIELD_BOOL:
        case BR_FIELD_ENUM: *(int *)p = (int)f->def; break;
        case BR_FIELD_FLOAT: *(double *)p = f->def; break;
        case BR_FIELD_FLOAT_LIST: memset(p, 0, sizeof(br_float_list)); break;
        }
    }
}

static void join_names(const char *const *names, char *buf, size_t cap) {
    buf[0] = '\0';
    for (int i = 0; names[i]; i++) {
        size_t n = strlen(buf);
        snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", names[i]);
    }
}

static br_status parse_field(const br_field *f, const br_ynode *v, const char *what, void *cfg, br_error *err) {
    char label[192];
    snprintf(label, sizeof label, "%s: '%s'", what, f->key);
    char *p = (char *)cfg + f->offset;
    switch (f->kind) {
    case BR_FIELD_INT: {
        long long x;
        long long lo = f->min <= f->max ? (long long)f->min : -2147483647LL;
        long long hi = f->min <= f->max ? (long long)f->max : 2147483647LL;
        BR_TRY(br_yscalar_int(v, label, lo, hi, &x, err));
        *(int *)p = (int)x;
        return BR_OK;
    }
    case BR_FIELD_FLOAT: {
        double x;
        BR_TRY(br_yscalar_float(v, label, &x, err));
        if (f->min <= f->max && (x < f->min || x > f->max))
            return br_yfail(err, BR_ERR_SPEC, v, "%s: expected a number in [%g, %g], found %g", label, f->min,
                            f->max, x);
        *(double *)p = x;
        return BR_OK;
    }
    case BR_FIELD_BOOL: return br_yscalar_bool(v, label, (int *)p, err);
    case BR_FIELD_ENUM: {
        BR_TRY(need_scalar(v, label, "a name", err));
        for (int i = 0; f->names[i]; i++)
            if (strcmp(v->scalar, f->names[i]) == 0) return *(int *)p = i, BR_OK;
        char all[512];
        join_names(f->names, all, sizeof all);
        return br_yfail(err, BR_ERR_SPEC, v, "%s: expected one of [%s], found '%s'", label, all, v->scalar);
    }
    case BR_FIELD_FLOAT_LIST: {
        br_float_list *l = (br_float_list *)p;
        if (v->kind != BR_Y_SEQ)
            return br_yfail(err, BR_ERR_SPEC, v, "%s: expected a list of numbers, found a %s", label,
                            br_ykind_name(v->kind));
        if ((f->list_len && (int)v->n != f->list_len) || v->n > BR_FLOAT_LIST_MAX)
            return br_yfail(err, BR_ERR_SPEC, v, "%s: expected %d numbers, found %zu", label,
                            f->list_len ? f->list_len : BR_FLOAT_LIST_MAX, v->n);
        l->n = (int)v->n;
        for (size_t i = 0; i < v->n; i++) BR_TRY(br_yscalar_float(v->items[i], label, &l->v[i], err));
        return BR_OK;
    }
    }
    return BR_OK;
}

br_status br_fields_parse(const br_field *fields, const br_ynode *map, const char *const *skip,
                          const char *what, void *cfg, br_error *err) {
    if (map->kind != BR_Y_MAP)
        return br_yfail(err, BR_ERR_SPEC, map, "%s: expected a mapping of settings, found a %s", what,
                        br_ykind_name(map->kind));
    for (size_t i = 0; i < map->n; i++) {
        const char *key = map->keys[i]->scalar;
        int skipped = 0;
        for (int s = 0; skip && skip[s]; s++) skipped |= strcmp(skip[s], key) == 0;
        if (skipped) continue;
        const br_field *f = fields;
        while (f->key && strcmp(f->key, key) != 0) f++;
        if (!f->key) {
            const char *names[64];
            int n = 0;
            for (const br_field *g = fields; g->key && n < 62; g++) names[n++] = g->key;
            for (int s = 0; skip && skip[s] && n < 63; s++) names[n++] = skip[s];
            names[n] = NULL;
            const char *hint = br_closest_word(key, names);
            char all[1024];
            join_names(names, all, sizeof all);
            if (hint)
                return br_yfail(err, BR_ERR_SPEC, map->keys[i], "%s: unknown key '%s' (did you mean '%s'?)", what,
                                key, hint);
            return br_yfail(err, BR_ERR_SPEC, map->keys[i], "%s: unknown key '%s' (expected one of: %s)", what,
                            key, all);
        }
        BR_TRY(parse_field(f, map->items[i], what, cfg, err));
    }
    return BR_OK;
}

void br_fmt_double(char *buf, size_t cap, double v) {
    if (isinf(v)) {
        snprintf(buf, cap, "%s", v > 0 ? ".inf" : "-.inf");
        return;
    }
    char tmp[64];
    for (int digits = 6; digits <= 17; digits++) { /* shortest text that reads back exactly */
        snprintf(tmp, sizeof tmp, "%.*g", digits, v);
        if (strtod(tmp, NULL) == v) break;
    }
    char *e = strchr(tmp, 'e');
    if (!strpbrk(tmp, ".en")) strcat(tmp, ".0");
    else if (e && !memchr(tmp, '.', (size_t)(e - tmp))) { /* YAML 1.1 wants 1.0e-05, not 1e-05 */
        char tail[32];
        snprintf(tail, sizeof tail, "%s", e);
        snprintf(e, sizeof tmp - (size_t)(e - tmp), ".0%s", tail);
    }
    snprintf(buf, cap, "%s", tmp);
}

void br_emit_double(FILE *out, double v) {
    char buf[64];
    br_fmt_double(buf, sizeof buf, v);
    fputs(buf, out);
}

void br_fields_emit(const br_field *fields, const void *cfg, int indent, FILE *out) {
    for (const br_field *f = fields; f->key; f++) {
        const char *p = (const char *)cfg + f->offset;
        fprintf(out, "%*s%s: ", indent, "", f->key);
        switch (f->kind) {
        case BR_FIELD_INT: fprintf(out, "%d", *(const int *)p); break;
        case BR_FIELD_FLOAT: br_emit_double(out, *(const double *)p); break;
        case BR_FIELD_BOOL: fputs(*(const int *)p ? "true" : "false", out); break;
        case BR_FIELD_ENUM: fputs(f->names[*(const int *)p], out); break;
        case BR_FIELD_FLOAT_LIST: {
            const br_float_list *l = (const br_float_list *)p;
            fputc('[', out);
            for (int i = 0; i < l->n; i++) {
                if (i) fputs(", ", out);
                br_emit_double(out, l->v[i]);
            }
            fputc(']', out);
            break;
        }
        }
        fputc('\n', out);
    }
}
