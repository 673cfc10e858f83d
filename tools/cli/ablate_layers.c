/*
 * ablate_layers.c - `braid ablate layers MODEL_DIR --text FILE --out DIR`:
 * held-out perplexity of a checkpoint under each variant of ablate.h, in
 * one process.
 *
 * The text is encoded once; each variant then loads the checkpoint under
 * its spec (braid's API binds a checkpoint's tensors to one spec at load,
 * so a variant is a reload; the safetensors are mapped and matrices of the
 * stored type are used in place, so a reload costs its f32 conversions, and
 * results.json says how long all loads took) and scores the same windows as
 * `braid ppl` (cli_ppl_eval).  A progress line per variant goes to stderr.
 * A variant that fails (a spec error, a tensor the checkpoint lacks without
 * --init-missing) keeps its error in its row and the run goes on; only a
 * failed baseline, or outputs that cannot be written, fail the command.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ablate.h"
#include "base/error.h"
#include "base/file.h"
#include "base/strbuf.h"
#include "cli.h"
#include "cli_ppl.h"

#define DEFAULT_MAX_BYTES 8000

static void usage(FILE *out) {
    fprintf(out,
            "usage: braid ablate layers MODEL_DIR --text FILE --out DIR [--variant SPEC.yaml ...] [--init-missing]\n"
            "                           [--max-bytes N] [--window W] [--gpu N]\n"
            "Held-out perplexity of a checkpoint with each layer dropped, all attention layers dropped, each\n"
            "attention unit removed or replaced by the nearest Mamba unit (with that unit's weights), and\n"
            "each --variant; writes DIR/results.{csv,json,md}, DIR/results.gp (and .svg with gnuplot) and\n"
            "the variants' specs under DIR/specs/.\n"
            "  --text FILE       held-out text (e.g. MODEL_DIR/val.txt)\n"
            "  --out DIR         where the results go (made if absent)\n"
            "  --variant FILE    a spec of your own to measure too (repeatable); it extends the model's spec\n"
            "                    (`braid spec MODEL_DIR > model.yaml`, then `extends: model.yaml`)\n"
            "  --init-missing    random values for tensors a variant needs that the checkpoint lacks\n"
            "  --max-bytes N     score the first N bytes of the text (default %d; 0: all of it)\n"
            "  --window W        tokens per independently scored window, as `braid ppl` (default 1024)\n"
            "  --gpu N           run on GPU N (CUDA builds; bf16 matrix weights)\n",
            DEFAULT_MAX_BYTES);
}

typedef struct opts {
    const char *dir, *text, *out;
    const char **variants;
    int n_variants, init_missing;
    long long max_bytes, window, gpu;
} opts;

/* Writes DIR/specs/base.yaml (the model's spec) and a spec per derived variant; reads the model's spec back. */
static br_status write_specs(const opts *o, ab_list *list, br_spec **spec, br_error *err) {
    char *yaml = NULL, *specs = br_path_join(o->out, "specs", err);
    if (!specs) return BR_ERR_NOMEM;
    br_status st = ab_make_dir(specs, err);
    if (st == BR_OK) st = br_checkpoint_spec(o->dir, &yaml, err);
    if (st == BR_OK) st = ab_write_file(specs, "base.yaml", yaml, err);
    char *base = st == BR_OK ? br_path_join(specs, "base.yaml", err) : NULL;
    if (st == BR_OK && !base) st = BR_ERR_NOMEM;
    if (st == BR_OK) st = br_spec_load(base, spec, err);
    if (st == BR_OK) st = ab_variants_derive(*spec, list, err);
    for (int i = 0; i < list->n && st == BR_OK; i++) {
        ab_variant *v = &list->v[i];
        char file[96];
        snprintf(file, sizeof file, "%s.yaml", v->name);
        br_strbuf sb = {0};
        br_strbuf_printf(&sb, "# braid ablate layers: %s (%s)\nextends: base.yaml\nname: %s\n%s", ab_kind_name(v->kind),
                         v->what, v->name, v->edit);
        st = br_strbuf_status(&sb, err);
        if (st == BR_OK) st = ab_write_file(specs, file, sb.data, err);
        if (st == BR_OK && !(v->spec_path = br_path_join(specs, file, err))) st = BR_ERR_NOMEM;
        br_strbuf_free(&sb);
    }
    for (int i = 0; i < o->n_variants && st == BR_OK; i++) st = ab_variants_add_user(list, o->variants[i], err);
    free(base);
    free(yaml);
    free(specs);
    return st;
}

/* Loads the checkpoint under v's spec and scores it; the outcome goes into v. */
static void run_variant(const opts *o, const int32_t *ids, size_t n, ab_variant *v, ab_run *run) {
    br_error err = {0};
    br_load_options lo = {.spec_path = v->spec_path, .init_missing = o->init_missing, .seed = 1};
    br_load_report rep = {0};
    br_model *m = NULL;
    const double t0 = cli_now();
    br_status st = br_model_load(o->dir, &lo, &m, &rep, &err);
    if (st == BR_OK && o->gpu >= 0) st = br_model_use_gpu(m, (int)o->gpu, BR_BF16, &err);
    run->load_seconds += cli_now() - t0;
    if (st == BR_OK && !run->device[0]) snprintf(run->device, sizeof run->device, "%s", br_model_device_info(m));
    cli_ppl r;
    if (st == BR_OK) st = cli_ppl_eval(m, ids, n, (int)o->window, -1, NULL, &r, &err);
    v->seconds = cli_now() - t0;
    v->tensors_random = rep.tensors_random;
    if (st == BR_OK) {
        v->ok = 1;
        v->ppl = r.ppl;
        v->nll_mean = r.nll / (double)r.scored;
        v->scored = r.scored;
        run->window = r.window;
    } else {
        snprintf(v->error, sizeof v->error, "%s: %s%s", br_status_str(err.status), err.message,
                 !o->init_missing && strstr(err.message, "checkpoint has no tensor")
                     ? " (--init-missing gives such tensors random values)" : "");
    }
    br_model_free(m);
}

static void progress_before(const ab_list *list, int i, double t_start) {
    const ab_variant *v = &list->v[i];
    char eta[48] = "";
    if (i > 0) snprintf(eta, sizeof eta, ", about %.0f s", (cli_now() - t_start) / i * (list->n - i));
    fprintf(stderr, "braid ablate: [%d/%d] %s (%s%s%s); %d left%s\n", i + 1, list->n, v->name, ab_kind_name(v->kind),
            v->what[0] && strcmp(v->what, "-") ? ": " : "", strcmp(v->what, "-") ? v->what : "", list->n - i - 1, eta);
}

static void progress_after(const ab_variant *v) {
    if (v->ok) fprintf(stderr, "    perplexity %.4f (%+.2f %%) in %.1f s\n", v->ppl, v->change_pct, v->seconds);
    else fprintf(stderr, "    failed: %s\n", v->error);
}

/* "kjv-bamba-11m" for "models/kjv-bamba-11m/" */
static void base_name(const char *path, char *buf, size_t cap) {
    size_t len = strlen(path), start;
    while (len > 1 && path[len - 1] == '/') len--;
    for (start = len; start > 0 && path[start - 1] != '/';) start--;
    snprintf(buf, cap, "%.*s", (int)(len - start), path + start);
}

static int run_all(const opts *o) {
    br_error err = {0};
    br_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t n = 0, bytes = 0;
    ab_list list = {0};
    br_spec *spec = NULL;
    ab_run run = {.model_dir = o->dir, .text_path = o->text, .out_dir = o->out, .init_missing = o->init_missing,
                  .window = (int)o->window, .list = &list};
    base_name(o->dir, run.model_name, sizeof run.model_name);
    const double t0 = cli_now();
    int rc = 0;
    if (cli_ppl_encode(o->dir, o->text, (size_t)o->max_bytes, &tok, &ids, &n, &bytes, &err) != BR_OK ||
        write_specs(o, &list, &spec, &err) != BR_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    run.text_bytes = bytes;
    run.tokens = n;
    fprintf(stderr, "braid ablate: %d variants of %s on %zu tokens (%zu bytes of %s)\n", list.n, run.model_name, n,
            bytes, o->text);
    for (int i = 0; i < list.n; i++) {
        progress_before(&list, i, t0);
        ab_variant *v = &list.v[i];
        run_variant(o, ids, n, v, &run);
        v->change_pct = v->ok && list.v[0].ok ? 100.0 * (v->ppl / list.v[0].ppl - 1.0) : NAN;
        progress_after(v);
    }
    run.seconds = cli_now() - t0;
    if (ab_report_write(&run, &err) != BR_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    printf("%d variants in %.1f s (%.1f s loading); results in %s/results.{md,csv,json}\n", list.n, run.seconds,
           run.load_seconds, o->out);
    if (!list.v[0].ok) {
        fprintf(stderr, "braid ablate: the baseline failed, so no change can be measured: %s\n", list.v[0].error);
        rc = 1;
    }
done:
    br_spec_free(spec);
    ab_list_free(&list);
    free(ids);
    br_tokenizer_free(tok);
    return rc;
}

int ablate_layers(int argc, char **argv) {
    opts o = {.window = 1024, .gpu = -1, .max_bytes = DEFAULT_MAX_BYTES};
    int bad = 0, rc;
    o.variants = calloc((size_t)argc, sizeof *o.variants);
    if (!o.variants) return fprintf(stderr, "braid ablate: out of memory\n"), 1;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            free(o.variants);
            return usage(stdout), 0;
        }
        const char *variant = NULL;
        if (cli_opt_str(argc, argv, &i, "--text", &o.text, &bad) || cli_opt_str(argc, argv, &i, "--out", &o.out, &bad) ||
            cli_opt_long(argc, argv, &i, "--max-bytes", 0, 1LL << 40, &o.max_bytes, &bad) ||
            cli_opt_long(argc, argv, &i, "--window", 2, 1 << 24, &o.window, &bad) ||
            cli_opt_long(argc, argv, &i, "--gpu", 0, 1024, &o.gpu, &bad))
            continue;
        if (cli_opt_str(argc, argv, &i, "--variant", &variant, &bad)) {
            if (variant) o.variants[o.n_variants++] = variant;
        } else if (strcmp(argv[i], "--init-missing") == 0) {
            o.init_missing = 1;
        } else if (argv[i][0] == '-') {
            free(o.variants);
            return cli_usage_error("ablate layers", "unknown option '%s'", argv[i]);
        } else if (!o.dir) {
            o.dir = argv[i];
        } else {
            free(o.variants);
            return cli_usage_error("ablate layers", "unexpected argument '%s' (one MODEL_DIR)", argv[i]);
        }
    }
    if (bad) rc = 2;
    else if (!o.dir || !o.text || !o.out) rc = cli_usage_error("ablate layers", "need MODEL_DIR, --text FILE and --out DIR");
    else if (cli_check_model_dir(o.dir) != 0) rc = 1;
    else rc = run_all(&o);
    free(o.variants);
    return rc;
}
