/*
 * braid.h - the public C API of braid, a runtime for hybrid language models
 * that interleave Mamba (selective SSM), Mamba-2 (SSD) and attention layers.
 *
 * Conventions (stated once, used everywhere):
 *  - Tensors are row-major; the last axis is contiguous.  Shapes are written
 *    outermost first: [rows, cols].
 *  - Activations of a batch are [n_tok, width] with n_tok = batch * T and
 *    token t of sequence b at row b*T + t ("sequence-major").
 *  - Linear weights are [out, in] (the PyTorch / safetensors layout): y = x W^T.
 *  - Strides, where they appear, count elements, never bytes.
 *  - Handles are opaque.  Each function says who owns what it returns;
 *    every br_X_free(NULL) is a no-op.
 *  - Every fallible function returns br_status and fills `br_error *err`
 *    (which may be NULL) with a message naming the file/line/column, tensor
 *    or field at fault.  The library never exits, aborts or prints.
 */
#ifndef BRAID_H
#define BRAID_H

#include <stddef.h>
#include <stdint.h>

#include "braid_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types of weights, states and caches. */
typedef enum br_dtype {
    BR_F32 = 0,
    BR_BF16 = 1,
    BR_F16 = 2,
    BR_DTYPE_COUNT
} br_dtype;

/* Bytes per element; "f32", "bf16", "f16". */
size_t br_dtype_size(br_dtype dtype);
const char *br_dtype_name(br_dtype dtype);
/* Parses "f32"/"float32", "bf16"/"bfloat16", "f16"/"float16"; -1 if unknown. */
int br_dtype_parse(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* BRAID_H */
