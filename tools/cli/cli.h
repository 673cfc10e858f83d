/*
 * cli.h - the braid command-line tool: subcommands and shared helpers.
 *
 * Each subcommand lives in its own cmd_<name>.c with an entry point
 * `int cmd_<name>(int argc, char **argv)` (argv[0] is the subcommand) and
 * returns the process exit status.  Library errors are printed by
 * cli_fail(); only this tool ever exits.
 */
#ifndef BR_CLI_H
#define BR_CLI_H

#include <stdint.h>

#include "braid.h"

int cmd_plan(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_spec(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_ppl(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_ablate(int argc, char **argv);

/* A (sub)command: `braid <name>` or `braid <parent> <name>`. */
typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;
/* Runs the `noun` argv[1] names from `table` (argv[1..] passed on), or prints the table as usage
 * ("usage: <prefix> <noun> [options]", a row per entry) for --help, nothing or an unknown name;
 * returns the command's exit status, 0 for --help, 2 otherwise. */
int cli_dispatch(const cli_command *table, size_t n, const char *prefix, const char *noun, int argc, char **argv);

/* Options shared by commands that load a checkpoint folder. */
typedef struct cli_model_opts {
    const char *spec_path; /* --spec FILE: run the weights under an edited spec */
    int init_missing;      /* --init-missing: random values for tensors the checkpoint lacks */
    long long gpu;         /* --gpu N: run on GPU N (-1: the CPU) */
    const char *weights;   /* --weights bf16|f32: matrix weights' type (NULL: the default) */
} cli_model_opts;
#define CLI_MODEL_OPTS_INIT {NULL, 0, -1, NULL}
#define CLI_MODEL_OPTS_HELP                                                                        \
    "  --spec FILE     run the checkpoint's weights under this spec (see 'braid spec')\n"          \
    "  --init-missing  give random values to tensors the spec needs but the checkpoint lacks\n"    \
    "  --gpu N         run on GPU N (CUDA builds; default: the CPU)\n"                           \
    "  --weights T     matrix weights: bf16 or f32 (exact; the BLAS on the CPU); default: on the\n" \
    "                  CPU as the checkpoint stores them (bf16 used in place), bf16 on a GPU\n"
/* 1 if argv[*i] was one of them. */
int cli_model_opt(int argc, char **argv, int *i, cli_model_opts *o, int *bad);
/* 0 when dir is a folder with a config.json, else 1 with a message saying which it is not. */
int cli_check_model_dir(const char *dir);
/* Loads, printing the error or the load report's warnings, and moves the
 * model to the GPU if asked; 0 on success. */
int cli_load_model(const char *dir, const cli_model_opts *o, br_model **out);
/* Moves a model to GPU `gpu` with matrix weights of type `weights`
 * ("bf16"/"f32"; NULL: bf16), or on the CPU (gpu -1) converts its matrix
 * weights to `weights` when given; prints any error; 0 on success. */
int cli_place_model(br_model *m, long long gpu, const char *weights);
/* "5,17,42" -> malloc'd ids; 0 on success, -1 (message printed) otherwise. */
int cli_parse_ids(const char *s, int32_t **ids, int *n);

/* Prints "braid: <message>" (and where it arose under BRAID_DEBUG=1); returns 1. */
int cli_fail(const br_error *err);
/* Prints "braid <cmd>: <message>" and a hint to run --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...);

/* Option parsing: returns 1 and advances *i when argv[*i] is `name`
 * followed by a value; fails on a missing or malformed value. */
int cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out, int *bad);
int cli_opt_long(int argc, char **argv, int *i, const char *name, long long lo, long long hi, long long *out, int *bad);
int cli_opt_double(int argc, char **argv, int *i, const char *name, double *out, int *bad);

/* "12.3 MiB", "1.50 GiB" */
void cli_bytes(int64_t bytes, char *buf, int cap);
/* "2.77 B", "52.0 M" */
void cli_count(int64_t n, char *buf, int cap);
/* Monotonic seconds. */
double cli_now(void);

#endif /* BR_CLI_H */
