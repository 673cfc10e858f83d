/*
 * braid_status.h - status codes and the error record every fallible braid
 * function fills.
 *
 * Design (after libyaml and zstd): every function that can fail returns a
 * br_status and takes a `br_error *err` as its last argument.  `err` may be
 * NULL.  On failure the library writes a human-readable message into it that
 * names the file and line/column, the tensor, or the field at fault, what was
 * expected and what was found.  The library never prints, exits or aborts;
 * the CLI prints `err->message` and exits non-zero.
 *
 * This header is included by braid.h; it is separate so that low-level code
 * (kernels, readers) can report errors without seeing the model API.
 */
#ifndef BRAID_STATUS_H
#define BRAID_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum br_status {
    BR_OK = 0,
    BR_ERR_INVALID_ARG = 1,  /* a caller passed an impossible argument        */
    BR_ERR_IO = 2,           /* a file is missing, unreadable or truncated    */
    BR_ERR_PARSE = 3,        /* YAML / JSON / safetensors syntax              */
    BR_ERR_SPEC = 4,         /* a spec is well-formed but wrong               */
    BR_ERR_CHECKPOINT = 5,   /* a tensor is missing, mis-shaped or mis-typed  */
    BR_ERR_UNSUPPORTED = 6,  /* a valid input braid does not handle (yet)     */
    BR_ERR_NOMEM = 7,        /* an allocation failed                          */
    BR_ERR_RANGE = 8,        /* an index (token id, slot, position) too large */
    BR_ERR_BACKEND = 9,      /* CUDA / cuBLAS / cuDNN / BLAS failure           */
    BR_ERR_TOKENIZER = 10,   /* tokenizer.json content braid cannot honour     */
    BR_ERR_NUMERIC = 11,     /* a result holds NaN or an infinity              */
    BR_STATUS_COUNT
} br_status;

/* A short constant name for a status ("spec error"); never NULL. */
const char *br_status_str(br_status status);

#define BR_ERROR_MESSAGE_MAX 1024

/* Filled by a failing call.  `where` is the braid source file and line that
 * raised it (for bug reports; the CLI prints it under BRAID_DEBUG=1). */
typedef struct br_error {
    br_status status;
    char message[BR_ERROR_MESSAGE_MAX];
    const char *where_file;
    int where_line;
} br_error;

#ifdef __cplusplus
}
#endif
#endif /* BRAID_STATUS_H */
