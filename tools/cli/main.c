/*
 * main.c - `braid <command> ...`: dispatch to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"plan", cmd_plan, "print the layer table, parameter counts, state and KV-cache sizes of a spec"},
    {"run", cmd_run, "run a spec with random weights: prefill, decode, timings"},
    {"spec", cmd_spec, "print the spec braid derives from a Hugging Face checkpoint folder"},
    {"generate", cmd_generate, "generate text (or ids) from a checkpoint folder, streaming"},
    {"logits", cmd_logits, "write the logits of a token sequence as a .npy file (prefill or step mode)"},
    {"ppl", cmd_ppl, "perplexity of a checkpoint over a text file"},
    {"bench", cmd_bench, "prefill and decode throughput of a spec (random weights) or a checkpoint"},
    {"compare", cmd_compare, "layer-by-layer differences against another implementation's hidden states"},
    {"ablate", cmd_ablate, "experiments over many variants of a model: 'ablate layers' (checkpoint surgery)"},
};

/* The library's notices (a fast path this machine lacks, and what runs instead), one line each. */
static void print_notice(void *user, const char *message) {
    (void)user;
    fprintf(stderr, "braid: note: %s\n", message);
}

int main(int argc, char **argv) {
    br_set_notice_handler(print_notice, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0); /* each result line leaves at once, also into a pipe or a file */
    return cli_dispatch(commands, sizeof commands / sizeof commands[0], "braid", "command", argc,
                        argv);
}
