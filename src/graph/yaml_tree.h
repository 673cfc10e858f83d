/*
 * yaml_tree.h - a YAML document as a small tree that remembers where each
 * node came from.
 *
 * Specs are read in two passes: libyaml builds this tree (with file, line and
 * column on every node, 1-based), `extends:` merges trees, and the spec
 * reader interprets the result.  Keeping marks on nodes lets every later
 * error say "file:line:col: what was expected, what was found".
 * Anchors and aliases are resolved by copying (a node appears once per use).
 */
#ifndef BR_GRAPH_YAML_TREE_H
#define BR_GRAPH_YAML_TREE_H

#include <stddef.h>

#include "braid_status.h"

typedef enum br_ykind { BR_Y_SCALAR, BR_Y_SEQ, BR_Y_MAP } br_ykind;

typedef struct br_ynode {
    br_ykind kind;
    char *file;              /* source file name, for messages */
    int line, col;           /* 1-based position of the node's start */
    char *scalar;            /* BR_Y_SCALAR: the text */
    int quoted;              /* BR_Y_SCALAR: written in quotes (a string, never a keyword) */
    size_t n;                /* BR_Y_SEQ: items; BR_Y_MAP: key/value pairs */
    struct br_ynode **items; /* [n] sequence items, or map values */
    struct br_ynode **keys;  /* [n] map keys (scalars), NULL for sequences */
} br_ynode;

br_status br_yaml_load_file(const char *path, br_ynode **out, br_error *err);
br_status br_yaml_load_text(const char *text, size_t len, const char *name, br_ynode **out,
                            br_error *err);
void br_ynode_free(br_ynode *node);
br_status br_ynode_clone(const br_ynode *node, br_ynode **out, br_error *err);

/* Map lookup; NULL if `map` is not a map or has no such key. */
br_ynode *br_ymap_get(const br_ynode *map, const char *key);
/* Index of key in map, or -1. */
int br_ymap_index(const br_ynode *map, const char *key);
/* Removes key from map (freeing key and value); no-op when absent. */
void br_ymap_remove(br_ynode *map, const char *key);

/* Deep merge: for each key of `over`, a map value merges into the map
 * already under that key in `base`; anything else replaces it.  `over` is
 * consumed (its nodes move into base); base must be a map. */
br_status br_ymerge(br_ynode *base, br_ynode *over, br_error *err);

/* "seq", "map" or "scalar", for messages. */
const char *br_ykind_name(br_ykind kind);

/* Raises a spec error located at `node`: "file:line:col: <message>". */
br_status br_yfail(br_error *err, br_status status, const br_ynode *node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif /* BR_GRAPH_YAML_TREE_H */
