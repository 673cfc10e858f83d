/*
 * cmd_ablate.c - `braid ablate <experiment> ...`: experiments that run many
 * variants of a model in one process and write tables and plots.  Each
 * experiment is one row below and its own ablate_<name>.c (ablate.h).
 */
#include <stdio.h>
#include <string.h>

#include "ablate.h"
#include "cli.h"

static const cli_command experiments[] = {
    {"layers", ablate_layers, "checkpoint surgery: held-out perplexity with layers dropped or replaced"},
};

int cmd_ablate(int argc, char **argv) {
    return cli_dispatch(experiments, sizeof experiments / sizeof experiments[0], "braid ablate", "experiment", argc, argv);
}
