/*
 * fields.h - declarative tables of a block's YAML keys.
 *
 * Each layer type describes its configuration as a table of fields (key,
 * kind, offset into its config struct, default, allowed range, enum names).
 * One generic reader fills the struct from a YAML mapping: unknown keys,
 * wrong kinds, out-of-range or negative sizes all fail with the file, line
 * and column of the offending node, and with a "did you mean" hint.  The
 * same table writes the config back as YAML (`braid spec`), so reading and
 * writing cannot drift apart.
 */
#ifndef BR_GRAPH_FIELDS_H
#define BR_GRAPH_FIELDS_H

#include <stddef.h>
#include <stdio.h>

#include "graph/yaml_tree.h"

typedef enum br_field_kind {
    BR_FIELD_INT,        /* int                                   */
    BR_FIELD_FLOAT,      /* double (accepts .inf / inf)           */
    BR_FIELD_BOOL,       /* int 0/1                               */
    BR_FIELD_ENUM,       /* int index into `names`                */
    BR_FIELD_FLOAT_LIST, /* br_float_list                         */
} br_field_kind;

#define BR_FLOAT_LIST_MAX 8
typedef struct br_float_list {
    int n;
    double v[BR_FLOAT_LIST_MAX];
} br_float_list;

typedef struct br_field {
    const char *key;
    br_field_kind kind;
    size_t offset;            /* offsetof(config struct, member) */
    double def;               /* default (INT/FLOAT/BOOL/ENUM index) */
    double min, max;          /* inclusive range for INT/FLOAT (ignored if min > max) */
    const char *const *names; /* ENUM: NULL-terminated names */
    int list_len;             /* FLOAT_LIST: required length (0: any up to max) */
    const char *help;         /* one line, shown in docs and errors */
} br_field;

/* Table terminator. */
#define BR_FIELD_END {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL}

/* Writes every field's default into cfg. */
void br_fields_defaults(const br_field *fields, void *cfg);

/* Reads map's keys into cfg.  Keys listed in `skip` (NULL-terminated, may
 * be NULL) are ignored here because the caller handles them.  `what` names
 * the owner in messages ("block 'attn'"). */
br_status br_fields_parse(const br_field *fields, const br_ynode *map, const char *const *skip,
                          const char *what, void *cfg, br_error *err);

/* Writes "key: value" lines (with `indent` leading spaces) for every field. */
void br_fields_emit(const br_field *fields, const void *cfg, int indent, FILE *out);

/* Scalar readers shared by the spec reader; each fails at the node's mark. */
br_status br_yscalar_int(const br_ynode *node, const char *what, long long min, long long max,
                         long long *out, br_error *err);
br_status br_yscalar_float(const br_ynode *node, const char *what, double *out, br_error *err);
br_status br_yscalar_bool(const br_ynode *node, const char *what, int *out, br_error *err);
/* 1 if the scalar is YAML null (~, null, empty) or the word none. */
int br_yscalar_is_none(const br_ynode *node);

/* The candidate closest to `word` by edit distance, or NULL if none is close. */
const char *br_closest_word(const char *word, const char *const *candidates);

/* Writes a double the way YAML and Python read it back exactly (.inf, 1.0e-05). */
void br_emit_double(FILE *out, double v);
void br_fmt_double(char *buf, size_t cap, double v);

#endif /* BR_GRAPH_FIELDS_H */
