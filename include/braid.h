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
#include "braid_tokenizer.h"

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

/* ---- architecture specs ---------------------------------------------------------------------
 * A spec is a YAML description of an architecture (docs/spec.md).  Loading
 * parses, merges `extends:`, expands the layer pattern and validates it.
 */
typedef struct br_spec br_spec;

/* Reads and validates the spec at `path`.  *out is owned by the caller
 * (br_spec_free).  Errors name the file, line and column. */
br_status br_spec_load(const char *path, br_spec **out, br_error *err);
/* Same, from text in memory; `name` labels messages.  `extends:` paths are
 * taken relative to the working directory. */
br_status br_spec_parse(const char *text, size_t len, const char *name, br_spec **out, br_error *err);
void br_spec_free(br_spec *spec);

/* ---- models and state -----------------------------------------------------------------------
 * A model is a spec with weights.  A state pool holds, for up to n_slots
 * sequences, the recurrent state of every Mamba invocation and the KV cache
 * of every attention invocation.  A model is read-only while it runs; one
 * state pool serves one caller at a time.
 */
typedef struct br_model br_model;
typedef struct br_state br_state;

/* A model with random weights (deterministic in seed).  Takes ownership of
 * spec in every case: it is freed with the model, or at once on failure. */
br_status br_model_create_random(br_spec *spec, uint64_t seed, br_model **out, br_error *err);
void br_model_free(br_model *model);
const br_spec *br_model_spec(const br_model *model);
/* Rows of the logits (the spec's vocab_size). */
int br_model_vocab_size(const br_model *model);

/* Moves the model's weights to GPU `ordinal`; states created afterwards
 * live there too and forward passes run there (CUDA builds; otherwise
 * BR_ERR_UNSUPPORTED).  Matrix weights (linear maps, experts, embeddings)
 * are stored as `weights`: BR_BF16 (tensor cores, f32 accumulation, half
 * the memory traffic; KV caches in bf16 too, and prefill attention on
 * cuDNN's fused flash attention where the runtime has it) or BR_F32
 * (everything f32: matches the CPU to f32 rounding); norms, SSM
 * parameters, activations and recurrent states stay f32.  On failure the
 * model stays usable on the CPU. */
br_status br_model_use_gpu(br_model *model, int ordinal, br_dtype weights, br_error *err);
/* Stores the matrix weights of a model on the CPU as `weights` (BR_F32,
 * BR_BF16 or BR_F16), converting each once (a copy replaces tensors used in
 * place from a checkpoint); the rest stay f32.  For models with random
 * weights, and to change the type after loading (br_load_options chooses it
 * at load without a second copy).  A model on a GPU refuses
 * (BR_ERR_INVALID_ARG); on failure the model is unchanged. */
br_status br_model_convert_weights(br_model *model, br_dtype weights, br_error *err);
/* GPUs braid can use (0 without CUDA, a driver or a device). */
int br_gpu_count(void);
/* Where the model runs, for people: "CPU", or the GPU with its weight and
 * KV-cache types and the attention kernels in use.  Owned by the model. */
const char *br_model_device_info(const br_model *model);
/* Element type of the KV caches of states created for the model (f32 on
 * the CPU; the weights' type on a GPU). */
br_dtype br_model_kv_dtype(const br_model *model);

/* ---- notices -------------------------------------------------------------------------------
 * The library never prints.  What a person running it should hear about (a
 * fast path this machine lacks, and what runs instead) goes to the notice
 * handler, each distinct message once per process; none is installed by
 * default.  The handler may be called from any thread that calls braid. */
typedef void (*br_notice_fn)(void *user, const char *message);
void br_set_notice_handler(br_notice_fn fn, void *user);

/* State for n_slots sequences of up to max_context tokens.  KV caches of
 * sliding-window layers hold only their window; the others start at a
 * couple of thousand tokens and double as sequences grow, so a long
 * max_context costs nothing until the tokens come.  Memory is checked
 * before it is taken: a pool (or a growth, at the call that needs it) that
 * does not fit in what the device has available is refused with the sizes,
 * and nothing changes.  Owned by the caller. */
br_status br_state_create(const br_model *model, int n_slots, int64_t max_context, br_state **out, br_error *err);
void br_state_free(br_state *state);
/* Empties one slot so a new sequence can start in it. */
br_status br_state_reset(br_state *state, int slot, br_error *err);
/* Tokens the sequence in `slot` has consumed; -1 for a bad slot. */
int64_t br_state_position(const br_state *state, int slot);

/* ---- snapshots: one sequence saved and restored ------------------------------------------
 * br_state_save writes the sequence in `slot` (its recurrent states, the KV
 * rows it sees, its position), with the sampler's random stream and the
 * token history when given (NULL / 0 otherwise), to `path`: a versioned,
 * checksummed file, written to a temporary file and renamed, so a crash
 * leaves either the old snapshot or the new one.  br_state_load restores it
 * into `slot` of a state of the same model (same weights, KV type, and a
 * context at least the snapshot's position): a truncated or damaged file,
 * another model or other weights get a named error before the slot
 * changes.  Restored and continued, a sequence gives bit-identical logits
 * to one that never stopped (on the same device).  *history (malloc'd, may
 * be NULL when history is NULL) gets the saved ids. */
typedef struct br_sampler br_sampler;
br_status br_state_save(const br_model *model, const br_state *state, int slot, const char *path,
                        const br_sampler *sampler, const int32_t *history, size_t n_history, br_error *err);
br_status br_state_load(const br_model *model, br_state *state, int slot, const char *path, br_sampler *sampler,
                        int32_t **history, size_t *n_history, br_error *err);

typedef enum br_logits_mode {
    BR_LOGITS_NONE = 0, /* no logits */
    BR_LOGITS_LAST,     /* logits [batch, vocab] of each sequence's last token */
    BR_LOGITS_ALL       /* logits [batch, T, vocab] of every token */
} br_logits_mode;

/* Feeds T new tokens to each of `batch` sequences at once (tokens
 * [batch, T]; sequence b lives in slots[b]), continuing from whatever each
 * slot already holds.  Inputs are checked before any state changes: a bad
 * token id, slot or context overflow leaves every slot untouched.  A call
 * that fails after the checks (memory running out inside a layer, a device
 * error, logits that hold NaN or an infinity: BR_ERR_NUMERIC) may have
 * advanced part of its sequences' states, so it marks the slots of its batch
 * broken: calls on them are refused until br_state_reset; other slots are
 * untouched.  Logits never leave the library non-finite; with
 * BRAID_CHECK_FINITE=1 every unit's output is checked and the error names
 * the first layer that produced a non-finite value. */
br_status br_model_prefill(const br_model *model, br_state *state, int batch, const int *slots,
                           const int32_t *tokens, int T, br_logits_mode logits_mode, float *logits,
                           br_error *err);
/* A prefill of one sequence that also hands back the residual stream after
 * every layer, to compare layer by layer with another implementation:
 * hidden [n_layers + 1, T, d_model] f32, row 0 the embeddings as the first
 * layer reads them, row l the stream after layer l-1, and the last row
 * after the final norm (transformers' output_hidden_states convention). */
br_status br_model_prefill_hidden(const br_model *model, br_state *state, int slot, const int32_t *tokens, int T,
                                  float *hidden, br_error *err);
/* The number of layers of the model's spec (rows of the hidden states above, less one). */
int br_model_n_layers(const br_model *model);
/* One decode step: one token per sequence through the recurrent paths;
 * logits [batch, vocab] (may be NULL).  On the CPU a sequence's logits are
 * the same bits in a batch (of fewer than 32 sequences) as alone, whatever
 * the other sequences' lengths; on a GPU they agree to rounding. */
br_status br_model_step(const br_model *model, br_state *state, int batch, const int *slots,
                        const int32_t *tokens, float *logits, br_error *err);

/* ---- Hugging Face checkpoints --------------------------------------------------------------
 * A checkpoint folder holds config.json and model.safetensors (or shards
 * with model.safetensors.index.json).  braid derives a spec from
 * config.json (one mapping per model_type) and binds the tensors by name.
 */
/* The type a checkpoint's matrix weights (linear maps, experts, embeddings)
 * take when loaded; norms, biases, SSM parameters and convolutions are f32. */
typedef enum br_weights_type {
    BR_WEIGHTS_STORED = 0, /* the checkpoint's own (the type most of its elements have): bf16 or f16 matrices
                              are used where they lie in the mapped file, with no copy when aligned */
    BR_WEIGHTS_F32 = 1,    /* f32: the exact reference, products through the BLAS */
    BR_WEIGHTS_BF16 = 2,   /* bf16, narrowed once where stored otherwise */
} br_weights_type;

typedef struct br_load_options {
    const char *spec_path;   /* run the weights under this spec (NULL: the derived one) */
    int init_missing;        /* random values for tensors the checkpoint lacks (edited specs) */
    uint64_t seed;           /* for those random values */
    br_weights_type weights; /* matrix weights' type (default: as stored) */
} br_load_options;

typedef struct br_load_report {
    int tensors_filled;     /* braid tensors read from the checkpoint */
    int tensors_random;     /* braid tensors given random values (init_missing) */
    int tensors_unused;     /* checkpoint tensors nothing read */
    char first_random[160]; /* an example of each, for messages */
    char first_unused[160];
} br_load_report;

/* Loads the checkpoint folder `dir`; opts and report may be NULL.  Bad
 * input (missing or truncated files, lying headers, wrong shapes, missing
 * tensors, unknown model_type) fails with a message naming the file and
 * tensor.  *out is owned by the caller (br_model_free). */
br_status br_model_load(const char *dir, const br_load_options *opts, br_model **out, br_load_report *report,
                        br_error *err);
/* The YAML spec braid derives from dir/config.json; *yaml is malloc'd. */
br_status br_checkpoint_spec(const char *dir, char **yaml, br_error *err);
/* End-of-sequence ids from generation_config.json, else config.json (0 ids if neither says). */
br_status br_checkpoint_eos(const char *dir, int32_t *ids, int max, int *n, br_error *err);

/* ---- sampling ----------------------------------------------------------------------------- */
typedef struct br_sampler_params {
    double temperature;        /* 0: greedy (argmax) */
    int top_k;                 /* 0: off */
    double top_p;              /* 1: off */
    double min_p;              /* 0: off */
    double repetition_penalty; /* 1: off */
    uint64_t seed;
} br_sampler_params;

br_sampler_params br_sampler_defaults(void); /* greedy */
br_status br_sampler_new(const br_sampler_params *params, int vocab, br_sampler **out, br_error *err);
void br_sampler_free(br_sampler *sampler);
/* The next token given logits [vocab] and the ids so far (for the
 * repetition penalty).  Deterministic for a given seed and history. */
int32_t br_sampler_pick(br_sampler *sampler, const float *logits, const int32_t *history, size_t n_history);
/* Where the sampler's random stream stands (saved with a sequence), and putting it back. */
uint64_t br_sampler_rng(const br_sampler *sampler);
void br_sampler_set_rng(br_sampler *sampler, uint64_t rng);

#ifdef __cplusplus
}
#endif
#endif /* BRAID_H */
