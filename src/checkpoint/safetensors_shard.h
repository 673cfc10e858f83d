/*
 * safetensors_shard.h - internal to src/checkpoint: one mapped .safetensors
 * file with its header parsed and validated.  The archive (safetensors.c)
 * is built from one or more shards.
 */
#ifndef BR_CHECKPOINT_SAFETENSORS_SHARD_H
#define BR_CHECKPOINT_SAFETENSORS_SHARD_H

#include <jansson.h>

#include "base/file.h"
#include "checkpoint/safetensors.h"

typedef struct st_shard {
    char *path;            /* owned; every tensor's `file` points here          */
    br_mapped_file map;    /* the whole file                                    */
    json_t *header;        /* owns the tensor names and the metadata strings    */
    br_st_tensor *tensors; /* [n_tensors], sorted by name; owned                */
    size_t n_tensors;
} st_shard;

/* Maps and validates `path` (see safetensors.h for every check).  On
 * failure *out is left zeroed and nothing is held. */
br_status st_shard_open(const char *path, st_shard *out, br_error *err);
void st_shard_close(st_shard *s); /* safe on a zeroed struct */

/* Value of `key` in the shard's "__metadata__", or NULL. */
const char *st_shard_metadata(const st_shard *s, const char *key);

/* Binary search in `tensors[n]` sorted by name; NULL if absent. */
const br_st_tensor *st_tensors_find(const br_st_tensor *tensors, size_t n, const char *name);

/* Sorts `tensors[n]` by name (strcmp order). */
void st_tensors_sort(br_st_tensor *tensors, size_t n);

#endif /* BR_CHECKPOINT_SAFETENSORS_SHARD_H */
