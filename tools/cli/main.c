/*
 * main.c - `braid <command> ...`: dispatch to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"plan", cmd_plan, "print the layer table, parameter counts, state and KV-cache sizes of a spec"},
    {"run", cmd_run, "run a spec with random weights: prefill, decode, timings"},
    {"spec", cmd_spec, "print the spec braid derives from a Hugging Face checkpoint folder"},
    {"generate", cmd_generate, "generate text (or ids) from a checkpoint folder, streaming"},
    {"logits", cmd_logits, "write the logits of a token sequence as a .npy file (prefill or step mode)"},
    {"ppl", cmd_ppl, "perplexity of a checkpoint over a text file"},
    {"bench", cmd_bench, "prefill and decode throughput of a spec (random weights) or a checkpoint"},
    {"compare", cmd_compare, "layer-by-layer differences against another implementation's hidden states"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: braid <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'braid <command> --help' describes a command's options.\n");
}

/* The library's notices (a fast path this machine lacks, and what runs instead), one line each. */
static void print_notice(void *user, const char *message) {
    (void)user;
    fprintf(stderr, "braid: note: %s\n", message);
}

int main(int argc, char **argv) {
    br_set_notice_handler(print_notice, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0); /* each result line leaves at once, also into a pipe or a file */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "braid: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
