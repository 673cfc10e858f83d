/*
 * cli_model.c - loading a checkpoint folder for a subcommand, with the
 * options every checkpoint command shares (--spec FILE, --init-missing),
 * and parsing of --ids lists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "cli.h"

int cli_model_opt(int argc, char **argv, int *i, cli_model_opts *o, int *bad) {
    if (cli_opt_str(argc, argv, i, "--spec", &o->spec_path, bad)) return 1;
    if (cli_opt_long(argc, argv, i, "--gpu", 0, 1024, &o->gpu, bad)) return 1;
    if (cli_opt_str(argc, argv, i, "--weights", &o->weights, bad)) {
        const int dt = *bad ? -1 : br_dtype_parse(o->weights);
        if (!*bad && dt != BR_F32 && dt != BR_BF16) {
            fprintf(stderr, "braid: --weights expects bf16 or f32, got '%s'\n", o->weights);
            *bad = 1;
        }
        return 1;
    }
    if (strcmp(argv[*i], "--init-missing") == 0) return o->init_missing = 1, 1;
    return 0;
}

int cli_check_model_dir(const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "braid: '%s' is not a folder; a checkpoint is a folder with config.json and model weights\n", dir);
        return 1;
    }
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (stat(cfg, &sb) != 0) {
        fprintf(stderr, "braid: '%s' has no config.json; it is not a Hugging Face checkpoint folder\n", dir);
        return 1;
    }
    return 0;
}

int cli_load_model(const char *dir, const cli_model_opts *o, br_model **out) {
    br_error err = {0};
    br_load_options lo = {.spec_path = o->spec_path, .init_missing = o->init_missing, .seed = 1,
                          .weights = !o->weights                           ? BR_WEIGHTS_STORED
                                     : br_dtype_parse(o->weights) == BR_F32 ? BR_WEIGHTS_F32
                                                                            : BR_WEIGHTS_BF16};
    br_load_report rep;
    if (br_model_load(dir, &lo, out, &rep, &err) != BR_OK) return cli_fail(&err);
    if (rep.tensors_random)
        fprintf(stderr, "braid: %d tensors are not in the checkpoint and got random values (e.g. %s)\n",
                rep.tensors_random, rep.first_random);
    if (rep.tensors_unused)
        fprintf(stderr, "braid: %d checkpoint tensors are not used by the spec (e.g. %s)\n", rep.tensors_unused,
                rep.first_unused);
    if (cli_place_model(*out, o->gpu, o->weights) != 0) {
        br_model_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

int cli_place_model(br_model *m, long long gpu, const char *weights) {
    if (gpu < 0 && !weights) return 0;
    int dt = weights ? br_dtype_parse(weights) : BR_BF16;
    if (dt != BR_F32 && dt != BR_BF16) {
        fprintf(stderr, "braid: --weights expects bf16 or f32, got '%s'\n", weights);
        return 2;
    }
    br_error err = {0};
    br_status st = gpu >= 0 ? br_model_use_gpu(m, (int)gpu, (br_dtype)dt, &err)
                            : br_model_convert_weights(m, (br_dtype)dt, &err);
    return st == BR_OK ? 0 : cli_fail(&err);
}

int cli_parse_ids(const char *s, int32_t **ids, int *n) {
    int cap = 16, k = 0;
    int32_t *v = malloc((size_t)cap * sizeof *v);
    if (!v) return -1;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > 2147483647L) {
            fprintf(stderr, "braid: --ids expects comma-separated non-negative integers, got '%s'\n", s);
            free(v);
            return -1;
        }
        if (k == cap) {
            int32_t *w = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            if (!w) {
                free(v);
                return -1;
            }
            v = w;
        }
        v[k++] = (int32_t)x;
        p = end;
        if (*p == ',') p++;
        else if (*p) {
            fprintf(stderr, "braid: --ids: unexpected '%c' in '%s'\n", *p, s);
            free(v);
            return -1;
        }
    }
    if (!k) {
        fprintf(stderr, "braid: --ids is empty\n");
        free(v);
        return -1;
    }
    *ids = v;
    *n = k;
    return 0;
}
