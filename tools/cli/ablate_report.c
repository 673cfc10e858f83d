/*
 * ablate_report.c - the files `braid ablate layers` writes: results.csv
 * (one row per variant), results.json (the run and its rows, through
 * jansson), results.md (a table to paste, and the mean change per kind of
 * variant and type of what it changed) and results.gp, a gnuplot script
 * whose data are inline, run here (in DIR) to make results.svg: a bar per
 * dropped layer, coloured by the layer's type.  Without gnuplot the script
 * stays and one line says how to make the plot.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ablate.h"
#include "base/error.h"
#include "base/file.h"
#include "base/strbuf.h"

br_status ab_make_dir(const char *dir, br_error *err) {
    char *p = br_strdup(dir, err);
    if (!p) return BR_ERR_NOMEM;
    br_status st = BR_OK;
    for (char *s = p + 1; st == BR_OK; s++) {
        const char c = *s;
        if (c != '/' && c != '\0') continue;
        *s = '\0';
        struct stat sb;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            st = BR_FAIL(err, BR_ERR_IO, "cannot make folder '%s': %s", p, strerror(errno));
        else if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
            st = BR_FAIL(err, BR_ERR_IO, "'%s' is in the way of folder '%s': it is not a folder", p, dir);
        *s = c;
        if (c == '\0') break;
    }
    free(p);
    return st;
}

br_status ab_write_file(const char *dir, const char *name, const char *text, br_error *err) {
    char *path = br_path_join(dir, name, err);
    if (!path) return BR_ERR_NOMEM;
    FILE *f = fopen(path, "w");
    br_status st = BR_OK;
    if (!f) st = BR_FAIL(err, BR_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    else if ((fputs(text, f) < 0) | (fclose(f) != 0))
        st = BR_FAIL(err, BR_ERR_IO, "writing '%s' failed: %s", path, strerror(errno));
    free(path);
    return st;
}

/* ---- the mean change per kind of variant and type of what it changed ----------------------- */

typedef struct group {
    ab_kind kind;
    const char *type;
    int n;
    double mean, median; /* of the change, % */
} group;

static int in_group(const ab_variant *v, const group *g) {
    return v->ok && !isnan(v->change_pct) && v->kind == g->kind && !strcmp(v->type, g->type);
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Groups the scored drop, identity and copy variants by kind and type, in order of first appearance; NULL
 * when out of memory. */
static group *summarize(const ab_list *list, int *n_groups) {
    group *g = calloc((size_t)list->n + 1, sizeof *g);
    double *x = calloc((size_t)list->n + 1, sizeof *x);
    *n_groups = 0;
    for (int i = 0; g && x && i < list->n; i++) {
        const ab_variant *v = &list->v[i];
        if (v->kind != AB_DROP && v->kind != AB_IDENTITY && v->kind != AB_COPY) continue;
        group G = {v->kind, v->type, 0, 0, 0};
        if (!in_group(v, &G)) continue;
        int k = 0;
        while (k < *n_groups && !(g[k].kind == v->kind && !strcmp(g[k].type, v->type))) k++;
        if (k < *n_groups) continue; /* done with its group */
        for (int j = i; j < list->n; j++)
            if (in_group(&list->v[j], &G)) G.mean += x[G.n++] = list->v[j].change_pct;
        G.mean /= G.n;
        qsort(x, (size_t)G.n, sizeof *x, cmp_double);
        G.median = G.n % 2 ? x[G.n / 2] : 0.5 * (x[G.n / 2 - 1] + x[G.n / 2]);
        g[(*n_groups)++] = G;
    }
    free(x);
    if (!x) free(g);
    return x ? g : NULL;
}

/* ---- CSV ------------------------------------------------------------------------------------- */

static void csv_str(br_strbuf *sb, const char *s, const char *sep) {
    br_strbuf_printf(sb, "\"");
    for (; *s; s++) br_strbuf_printf(sb, "%s%c", *s == '"' ? "\"" : "", *s); /* a quote is doubled */
    br_strbuf_printf(sb, "\"%s", sep);
}

static void write_csv(const ab_run *run, br_strbuf *sb) {
    br_strbuf_printf(sb, "variant,kind,changes,type,perplexity,change_pct,mean_nll,tokens,seconds,tensors_random,spec,"
                         "error\n");
    for (int i = 0; i < run->list->n; i++) {
        const ab_variant *v = &run->list->v[i];
        csv_str(sb, v->name, ",");
        csv_str(sb, ab_kind_name(v->kind), ",");
        csv_str(sb, v->what, ",");
        csv_str(sb, v->type, ",");
        if (v->ok) br_strbuf_printf(sb, "%.6f,", v->ppl);
        else br_strbuf_printf(sb, ",");
        if (!isnan(v->change_pct)) br_strbuf_printf(sb, "%.4f,", v->change_pct);
        else br_strbuf_printf(sb, ",");
        if (v->ok) br_strbuf_printf(sb, "%.6f,%zu,", v->nll_mean, v->scored);
        else br_strbuf_printf(sb, ",,");
        br_strbuf_printf(sb, "%.3f,%d,", v->seconds, v->tensors_random);
        csv_str(sb, v->spec_path ? v->spec_path : "", ",");
        csv_str(sb, v->error, "\n");
    }
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_t *num_or_null(int ok, double x) { return ok && isfinite(x) ? json_real(x) : json_null(); }

static json_t *make_json(const ab_run *run) {
    const ab_list *list = run->list;
    json_t *rows = json_array(), *sum = json_array();
    for (int i = 0; i < list->n; i++) {
        const ab_variant *v = &list->v[i];
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:f, s:i, s:o}", "name", v->name, "kind",
                            ab_kind_name(v->kind), "layer", v->layer >= 0 ? json_integer(v->layer) : json_null(),
                            "changes", v->what, "type", v->type, "spec", v->spec_path ? v->spec_path : "",
                            "perplexity", num_or_null(v->ok, v->ppl), "change_pct", num_or_null(1, v->change_pct),
                            "mean_nll", num_or_null(v->ok, v->nll_mean), "tokens", (json_int_t)v->scored, "seconds",
                            v->seconds, "tensors_random", v->tensors_random, "error",
                            v->ok ? json_null() : json_string(v->error)));
    }
    int n_groups;
    group *g = summarize(list, &n_groups);
    for (int k = 0; g && k < n_groups; k++)
        json_array_append_new(sum, json_pack("{s:s, s:s, s:i, s:f, s:f}", "kind", ab_kind_name(g[k].kind), "type",
                                             g[k].type, "variants", g[k].n, "mean_change_pct", g[k].mean,
                                             "median_change_pct", g[k].median));
    free(g);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:s, s:b, s:o, s:f, s:f, s:o, s:o}", "model", run->model_dir,
                     "model_name", run->model_name, "text", run->text_path, "text_bytes", (json_int_t)run->text_bytes,
                     "text_tokens", (json_int_t)run->tokens, "window", run->window, "device", run->device,
                     "init_missing", run->init_missing, "baseline_perplexity",
                     num_or_null(list->n && list->v[0].ok, list->n ? list->v[0].ppl : NAN), "seconds", run->seconds,
                     "load_seconds", run->load_seconds, "variants", rows, "summary", sum);
}

/* ---- Markdown -------------------------------------------------------------------------------- */

/* s with '|' escaped and line breaks as spaces, for a table cell. */
static void md_cell(br_strbuf *sb, const char *s) {
    for (; *s; s++) br_strbuf_printf(sb, "%s%c", *s == '|' ? "\\" : "", *s == '\n' ? ' ' : *s);
}

static void write_md(const ab_run *run, br_strbuf *sb) {
    const ab_list *list = run->list;
    br_strbuf_printf(sb, "# Layer ablations of %s\n\nHeld-out perplexity on the first %zu bytes of `%s` (%zu tokens, windows "
                     "of %d tokens), on the %s; made by `braid ablate layers` in %.1f s.\n\n",
                     run->model_name, run->text_bytes, run->text_path, run->tokens, run->window,
                     run->device[0] ? run->device : "CPU", run->seconds);
    br_strbuf_printf(sb, "| variant | changes | type | perplexity | change vs baseline | note |\n"
                         "|---|---|---|---:|---:|---|\n");
    for (int i = 0; i < list->n; i++) {
        const ab_variant *v = &list->v[i];
        br_strbuf_printf(sb, "| %s | ", v->name);
        md_cell(sb, v->what);
        br_strbuf_printf(sb, " | %s | ", v->type);
        if (v->ok) br_strbuf_printf(sb, "%.4f | ", v->ppl);
        else br_strbuf_printf(sb, "failed | ");
        if (!isnan(v->change_pct)) br_strbuf_printf(sb, "%+.2f %% | ", v->change_pct);
        else br_strbuf_printf(sb, " | ");
        if (!v->ok) md_cell(sb, v->error);
        else if (v->tensors_random) br_strbuf_printf(sb, "%d tensors random (--init-missing)", v->tensors_random);
        br_strbuf_printf(sb, " |\n");
    }
    int n_groups;
    group *g = summarize(list, &n_groups);
    if (g && n_groups) {
        br_strbuf_printf(sb, "\nMean change by what was removed or replaced:\n\n"
                             "| variants | type | count | mean change | median change |\n|---|---|---:|---:|---:|\n");
        for (int k = 0; k < n_groups; k++)
            br_strbuf_printf(sb, "| %s | %s | %d | %+.2f %% | %+.2f %% |\n", ab_kind_name(g[k].kind), g[k].type,
                             g[k].n, g[k].mean, g[k].median);
    }
    free(g);
    br_strbuf_printf(sb, "\n`drop-L`: layer L removed. `drop-attention`: every layer with an attention block removed. "
                         "`attn-L-identity`: the attention unit of layer L removed, the layer's other units (its MLP) "
                         "kept; in a layer of one unit that is `drop-L`. `attn-L-from-K`: the attention unit of layer "
                         "L replaced by the same unit of layer K, the nearest Mamba / Mamba-2 one, with K's weights. "
                         "Each variant's spec is in `specs/`: `braid ppl %s %s --max-bytes %zu --spec "
                         "%s/specs/NAME.yaml` gives its row.\n",
                     run->model_dir, run->text_path, run->text_bytes, run->out_dir);
}

/* ---- the plot -------------------------------------------------------------------------------- */

static const char *const colours[] = {"#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb"};

/* The gnuplot script of the drop rows; 0 when there is nothing to plot.  One layer that costs far more than
 * the rest (often the first) would flatten every other bar, so the axis then stops above the second
 * largest and that bar carries its value. */
static int write_gp(const ab_run *run, br_strbuf *sb) {
    const ab_list *list = run->list;
    const char *types[7];
    int n_types = 0, n_bars = 0, last = 0, top = -1;
    double first = -INFINITY, second = -INFINITY;
    for (int i = 0; i < list->n; i++) {
        const ab_variant *v = &list->v[i];
        if (v->kind != AB_DROP || isnan(v->change_pct)) continue;
        int t = 0;
        while (t < n_types && strcmp(types[t], v->type)) t++;
        if (t == n_types && n_types < 7) types[n_types++] = v->type;
        n_bars++;
        last = v->layer > last ? v->layer : last;
        if (v->change_pct > first) second = first, first = v->change_pct, top = i;
        else if (v->change_pct > second) second = v->change_pct;
    }
    if (!n_bars) return 0;
    br_strbuf_printf(sb, "# results.gp - made by `braid ablate layers`; to redraw: cd %s && gnuplot results.gp\n"
                         "set terminal svg size 960,520 dynamic background rgb 'white' font 'sans,12'\n"
                         "set output 'results.svg'\n"
                         "set title '%s: change in held-out perplexity when one layer is dropped' noenhanced\n"
                         "set xlabel 'layer dropped'\nset ylabel 'perplexity vs baseline (%%)'\n"
                         "set style fill solid 0.85 border -1\nset boxwidth 0.8\nset grid ytics\nset xzeroaxis\n"
                         "set key top right noenhanced\nset xtics 1\nset xrange [-0.7:%d.7]\n",
                     run->out_dir, run->model_name, last);
    if (second > 0 && first > 3 * second) {
        const double cap = 1.6 * second;
        br_strbuf_printf(sb, "set yrange [*:%.4f]\nset label 1 '%+.0f %%' at %d,%.4f center front font ',10' tc rgb 'white'\n", cap,
                         first, list->v[top].layer, 0.93 * cap);
    }
    br_strbuf_printf(sb, "\n$drops << EOD\n# layer change_pct type\n");
    for (int i = 0; i < list->n; i++) {
        const ab_variant *v = &list->v[i];
        if (v->kind != AB_DROP || isnan(v->change_pct)) continue;
        int t = 0;
        while (t < n_types && strcmp(types[t], v->type)) t++;
        br_strbuf_printf(sb, "%d %.4f %d\n", v->layer, v->change_pct, t);
    }
    br_strbuf_printf(sb, "EOD\n\nplot ");
    for (int t = 0; t < n_types; t++)
        br_strbuf_printf(sb, "%s$drops using 1:($3 == %d ? $2 : 1/0) with boxes lc rgb '%s' title '%s'",
                         t ? ", \\\n     " : "", t, colours[t], types[t]);
    br_strbuf_printf(sb, "\n");
    return 1;
}

/* Runs gnuplot on results.gp in dir; says how to make the plot when it cannot. */
static void run_gnuplot(const char *dir) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(126);
        execlp("gnuplot", "gnuplot", "results.gp", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 127)
        fprintf(stderr, "braid ablate: gnuplot is not installed, so there is no results.svg; make it with `cd %s && "
                        "gnuplot results.gp` (Debian: apt-get install gnuplot-nox)\n", dir);
    else if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "braid ablate: gnuplot failed on %s/results.gp (exit status %d); the tables are written\n", dir,
                WEXITSTATUS(status));
}

br_status ab_report_write(const ab_run *run, br_error *err) {
    br_strbuf csv = {0}, md = {0}, gp = {0};
    write_csv(run, &csv);
    write_md(run, &md);
    const int plot = write_gp(run, &gp);
    json_t *j = make_json(run);
    char *json = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    br_status st = br_strbuf_status(&csv, err);
    if (st == BR_OK) st = br_strbuf_status(&md, err);
    if (st == BR_OK) st = br_strbuf_status(&gp, err);
    if (st == BR_OK && !json)
        st = BR_FAIL(err, BR_ERR_NOMEM, "results.json could not be made (out of memory, or text that is not UTF-8)");
    if (st == BR_OK) st = ab_write_file(run->out_dir, "results.csv", csv.data, err);
    if (st == BR_OK) st = ab_write_file(run->out_dir, "results.json", json, err);
    if (st == BR_OK) st = ab_write_file(run->out_dir, "results.md", md.data, err);
    if (st == BR_OK && plot) st = ab_write_file(run->out_dir, "results.gp", gp.data, err);
    if (st == BR_OK && plot) run_gnuplot(run->out_dir);
    if (st == BR_OK && !plot) fprintf(stderr, "braid ablate: no dropped layer was scored, so there is no plot\n");
    free(json);
    br_strbuf_free(&csv);
    br_strbuf_free(&md);
    br_strbuf_free(&gp);
    return st;
}
