/*
 * json.h - reading JSON files the way Python's json module does.
 *
 * Hugging Face configs are written by Python, which emits the non-standard
 * literals NaN, Infinity and -Infinity (Nemotron-H: "time_step_limit":
 * [0.0, Infinity]).  jansson rejects them, so the loader rewrites each bare
 * literal (outside strings) into a marker string before parsing, and
 * br_json_number() turns markers back into doubles.  Everything else is
 * plain jansson.
 */
#ifndef BR_BASE_JSON_H
#define BR_BASE_JSON_H

#include <jansson.h>

#include "braid_status.h"

/* Parses the file at `path`.  On success *out owns a reference the caller
 * releases with json_decref.  Errors name the file, line and column. */
br_status br_json_load_file(const char *path, json_t **out, br_error *err);
/* Same for text in memory; `name` is used in error messages. */
br_status br_json_load_text(const char *text, size_t len, const char *name, json_t **out,
                            br_error *err);

/* 1 and *out set if `v` is a JSON number, a NaN/Infinity literal, or
 * transformers' {"__float__": "Infinity" | "-Infinity" | "NaN"}; else 0. */
int br_json_number(const json_t *v, double *out);

#endif /* BR_BASE_JSON_H */
