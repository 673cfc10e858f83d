/*
 * safetensors.h - memory-mapped reader for safetensors checkpoints.
 *
 * src/checkpoint/ is braid's checkpoint-import concern: it turns files
 * published on the Hugging Face hub into named tensors.  This header is its
 * lowest layer: it opens one .safetensors file, or a directory holding
 * model.safetensors or model.safetensors.index.json plus its shards, and
 * lists the tensors in them without copying any tensor bytes.
 *
 * File format (all integers little-endian):
 *   u64 N | N bytes of UTF-8 JSON header (may end in padding spaces) | data
 *   header = { name: {"dtype": "BF16", "shape": [d0, d1, ...],
 *                     "data_offsets": [begin, end]}, ...,
 *              "__metadata__": {str: str} }          (metadata optional)
 *   Offsets are relative to the start of the data section; a tensor's bytes
 *   are data[begin, end), row-major, little-endian.
 *
 * Validation: every header field is checked before a tensor is exposed, so a
 * br_st_tensor's data[0, nbytes) always lies inside the mapping.  Errors name
 * the file and, where one is at fault, the tensor.  Status per failure:
 *   BR_ERR_IO          file or shard missing or unreadable; file shorter than
 *                      8 bytes; header length or a tensor's end beyond the end
 *                      of the file (a truncated download)
 *   BR_ERR_PARSE       header length over 100 MB; header not JSON or not an
 *                      object (duplicate keys are rejected); an entry missing
 *                      dtype/shape/data_offsets or with wrong JSON types;
 *                      unknown dtype; negative or non-integer dims; begin > end;
 *                      end - begin != numel * dtype size; overlapping
 *                      tensors; __metadata__ not {str: str}; index JSON not
 *                      valid or without an object "weight_map"
 *   BR_ERR_UNSUPPORTED more than BR_ST_MAX_DIMS dims
 *   BR_ERR_CHECKPOINT  index names a tensor its shard does not hold; one
 *                      tensor name in two shards
 * Gaps between tensors and bytes after the last one are accepted (the Rust
 * reference rejects them; they cannot make a tensor read out of bounds).
 *
 * Sharded checkpoints follow transformers: the index's "weight_map" is
 * authoritative for which shard holds a name; tensors in a shard that the
 * index does not list are ignored (not findable).  Each shard is mapped once.
 *
 * Ownership: br_st_open_* returns an archive the caller frees with
 * br_st_close.  Every pointer obtained from an archive (tensors, names,
 * data, file paths, metadata strings) is owned by it and valid until then.
 * tensor->data is NOT necessarily aligned to its element size (a header
 * length that is not a multiple of 8 shifts everything); read it with
 * memcpy or br_st_read_f32.  The reader assumes nothing about host byte
 * order: br_st_read_f32 decodes little-endian bytes explicitly.
 */
#ifndef BR_CHECKPOINT_SAFETENSORS_H
#define BR_CHECKPOINT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "braid.h"

#define BR_ST_MAX_DIMS 8
/* The Rust reference (safetensors crate) refuses headers above this size. */
#define BR_ST_MAX_HEADER_BYTES 100000000u

/* Every dtype the format defines, as of safetensors 0.8 (its 22 names). */
typedef enum br_st_dtype {
    BR_ST_F32 = 0,
    BR_ST_BF16,
    BR_ST_F16,
    BR_ST_F64,
    BR_ST_I64,
    BR_ST_I32,
    BR_ST_I16,
    BR_ST_I8,
    BR_ST_U64,
    BR_ST_U32,
    BR_ST_U16,
    BR_ST_U8,
    BR_ST_BOOL,
    BR_ST_F8_E4M3,      /* torch.float8_e4m3fn                       */
    BR_ST_F8_E5M2,      /* torch.float8_e5m2                         */
    BR_ST_F8_E4M3FNUZ,  /* torch.float8_e4m3fnuz                     */
    BR_ST_F8_E5M2FNUZ,  /* torch.float8_e5m2fnuz                     */
    BR_ST_F8_E8M0,      /* torch.float8_e8m0fnu (MX scales)          */
    BR_ST_F6_E2M3,      /* 6 bits per element, packed                */
    BR_ST_F6_E3M2,      /* 6 bits per element, packed                */
    BR_ST_F4,           /* float4_e2m1, 2 elements per byte          */
    BR_ST_C64,          /* complex64: two f32                        */
    BR_ST_DTYPE_COUNT
} br_st_dtype;

typedef struct br_st_tensor {
    const char *name;
    br_st_dtype dtype;
    int ndim;                      /* 0..BR_ST_MAX_DIMS; 0 is a scalar (1 element) */
    int64_t shape[BR_ST_MAX_DIMS]; /* outermost first; entries past ndim are 0     */
    const void *data;              /* into the mapping; unaligned; valid while open */
    size_t nbytes;                 /* end - begin = numel * bits / 8                */
    const char *file;              /* path of the shard that holds it               */
} br_st_tensor;

typedef struct br_st_archive br_st_archive;

/* Opens one .safetensors file.  *out is set only on success. */
br_status br_st_open_file(const char *path, br_st_archive **out, br_error *err);

/* Opens an index file ({"weight_map": {name: shard file}}) and its shards,
 * which are looked up in the index's directory.  Shard names must be
 * relative paths without ".." components.  Every shard is checked to exist
 * before any is mapped; the first missing one (in sorted order, as
 * transformers loads them) is named with a tensor that points to it. */
br_status br_st_open_index(const char *index_path, br_st_archive **out, br_error *err);

/* dir: model.safetensors, else model.safetensors.index.json (the order
 * transformers tries them).  If neither exists, the error says which files
 * it looked for. */
br_status br_st_open_dir(const char *dir, br_st_archive **out, br_error *err);

void br_st_close(br_st_archive *a); /* NULL-safe */

size_t br_st_count(const br_st_archive *a);
/* i in [0, count): tensors sorted by name (strcmp order); NULL past the end. */
const br_st_tensor *br_st_at(const br_st_archive *a, size_t i);
/* Binary search: O(log n).  NULL if absent. */
const br_st_tensor *br_st_find(const br_st_archive *a, const char *name);

/* Value of `key` in the "__metadata__" of the file (for a sharded archive,
 * of the first shard, in sorted order, that has it); NULL if absent. */
const char *br_st_metadata(const br_st_archive *a, const char *key);

/* "F32", "BF16", ... exactly as in the format; "?" if out of range. */
const char *br_st_dtype_name(br_st_dtype d);
/* Inverse of br_st_dtype_name; -1 if `name` is not a format dtype. */
int br_st_dtype_parse(const char *name);
/* Bits per element: 64, 32, 16, 8 (BOOL too), 6 or 4; 0 if out of range. */
int br_st_dtype_bits(br_st_dtype d);

/* For braid's weights: 1 and *out set when the dtype is one braid computes
 * with (F32, BF16, F16); 0 otherwise (*out untouched). */
int br_st_to_br_dtype(br_st_dtype d, br_dtype *out);

/* Number of elements (product of shape; 1 for a scalar). */
size_t br_st_numel(const br_st_tensor *t);

/* Copies tensor t widened to float32 into dst (br_st_numel(t) floats).
 * BR_ERR_UNSUPPORTED, naming the tensor and its dtype, for dtypes other
 * than F32/BF16/F16. */
br_status br_st_read_f32(const br_st_tensor *t, float *dst, br_error *err);

#endif /* BR_CHECKPOINT_SAFETENSORS_H */
