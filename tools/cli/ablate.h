/*
 * ablate.h - `braid ablate layers`: checkpoint surgery measured by held-out
 * perplexity.
 *
 * A run takes the spec braid derives from a checkpoint (written as
 * DIR/specs/base.yaml) and derives variants from it, each a small spec that
 * `extends: base.yaml` (DIR/specs/<name>.yaml, runnable on its own with
 * `braid ppl MODEL_DIR TEXT --spec FILE`):
 *   baseline          the spec unchanged
 *   drop-L            layer L dropped (`drop: [L]`)
 *   drop-attention    every layer with an attention block dropped (unless that is every layer)
 *   attn-L-identity   the attention unit of layer L removed, the layer's other units kept
 *                     (a layer of one unit: the same as drop-L, so not run twice)
 *   attn-L-from-K     the attention unit of layer L replaced by the same unit of the
 *                     nearest layer K whose unit there is Mamba or Mamba-2, with K's
 *                     weights (`overrides: {L: [{from: [K, u]}, ...]}`)
 *   user variants     each --variant FILE as given (it extends the model's spec itself)
 * Every variant reloads the checkpoint under its spec (ablate_layers.c) and
 * is scored by cli_ppl_eval on the same tokens as `braid ppl`.
 * ablate_variants.c derives the list, ablate_report.c writes the results.
 */
#ifndef BR_CLI_ABLATE_H
#define BR_CLI_ABLATE_H

#include <stddef.h>

#include "braid.h"
#include "graph/spec.h"

typedef enum ab_kind { AB_BASELINE, AB_DROP, AB_DROP_ATTENTION, AB_IDENTITY, AB_COPY, AB_USER, AB_KIND_COUNT } ab_kind;
/* "baseline", "drop", "drop-attention", "identity", "copy", "user" */
const char *ab_kind_name(ab_kind kind);

typedef struct ab_variant {
    char name[64];          /* names its spec file and its row: "drop-3", "attn-2-from-1" */
    ab_kind kind;
    int layer;              /* the layer it changes (its index in the model's spec); -1 for several or none */
    char what[128];         /* what it changes, for people: "3", "2, 6, 10", "2 unit 0 <- layer 1" */
    char type[64];          /* the type of what it changes: "mamba2+mlp" (a layer), "attention" (a unit) */
    char *edit;             /* YAML written over base.yaml (malloc'd); NULL for a user's file */
    char *spec_path;        /* the spec it runs (malloc'd) */
    /* results */
    int ok;                 /* scored */
    double ppl, nll_mean, change_pct, seconds; /* change_pct: vs the baseline, NaN when either failed */
    size_t scored;
    int tensors_random;     /* tensors given random values (--init-missing) */
    char error[BR_ERROR_MESSAGE_MAX + 96]; /* "<status>: <message>", and a hint */
} ab_variant;

typedef struct ab_list {
    ab_variant *v;
    int n, cap;
} ab_list;

/* Appends the variants derived from `spec` (the model's), in the order above. */
br_status ab_variants_derive(const br_spec *spec, ab_list *list, br_error *err);
/* Appends a user's variant file. */
br_status ab_variants_add_user(ab_list *list, const char *path, br_error *err);
void ab_list_free(ab_list *list);
/* "mamba2+mlp": the block types of a layer's units ('+'), parallel blocks joined by '|'. */
void ab_layer_type(const br_spec *spec, const br_layer_def *layer, char *buf, size_t cap);

/* What a run measured, for the report. */
typedef struct ab_run {
    const char *model_dir, *text_path, *out_dir;
    char model_name[128];   /* the checkpoint folder's base name */
    size_t text_bytes, tokens;
    int window;
    char device[160];       /* "CPU", or the GPU braid reports */
    int init_missing;
    double seconds, load_seconds; /* whole run, and the part spent loading checkpoints */
    const ab_list *list;
} ab_run;

/* The `braid ablate layers` command (argv[0] is "layers"); the exit status. */
int ablate_layers(int argc, char **argv);

/* Makes dir and any missing parents. */
br_status ab_make_dir(const char *dir, br_error *err);
/* Writes text to dir/name, replacing it. */
br_status ab_write_file(const char *dir, const char *name, const char *text, br_error *err);

/* Writes results.csv, results.json, results.md and results.gp into run->out_dir and runs gnuplot on
 * results.gp to make results.svg; without gnuplot it says, in one line on stderr, how to make the plot.
 * Fails only when a file cannot be written. */
br_status ab_report_write(const ab_run *run, br_error *err);

#endif /* BR_CLI_ABLATE_H */
