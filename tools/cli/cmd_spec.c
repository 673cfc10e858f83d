/*
 * cmd_spec.c - `braid spec MODEL_DIR [-o FILE]`: the YAML spec braid derives
 * from a checkpoint's config.json.  Edit it and run the same weights under
 * the edited spec with `--spec FILE` (dropped layers keep their weights;
 * new blocks need --init-missing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_spec(int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: braid spec MODEL_DIR [-o FILE]\n  prints the spec derived from MODEL_DIR/config.json\n");
            return 0;
        }
        if (cli_opt_str(argc, argv, &i, "-o", &out, &bad)) continue;
        if (argv[i][0] == '-') return cli_usage_error("spec", "unknown option '%s'", argv[i]);
        if (dir) return cli_usage_error("spec", "more than one folder given");
        dir = argv[i];
    }
    if (bad) return 2;
    if (!dir) return cli_usage_error("spec", "no checkpoint folder given");
    br_error err = {0};
    char *yaml = NULL;
    if (br_checkpoint_spec(dir, &yaml, &err) != BR_OK) return cli_fail(&err);
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "braid spec: cannot write %s\n", out);
        free(yaml);
        return 1;
    }
    fputs(yaml, f);
    if (out) fclose(f);
    free(yaml);
    return 0;
}
