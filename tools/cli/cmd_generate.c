/*
 * cmd_generate.c - `braid generate MODEL_DIR --prompt TEXT` (or --ids) streams
 * a continuation as it is produced.
 *
 * The prompt is encoded with the checkpoint's tokenizer.json (special
 * tokens such as BOS added as its post-processor says), prefilled in one
 * pass, then each token is sampled and fed back through the recurrent step
 * path.  Generation ends after -n tokens, at an end-of-sequence id
 * (generation_config.json / config.json), or at a --stop string, which is
 * not printed.  Text streams through the incremental detokenizer; stdout
 * gets the prompt and its continuation (--no-echo: the continuation only;
 * --print-ids: the generated ids on one line), stderr gets timings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "cli.h"

#define MAX_STOPS 8
#define MAX_EOS 16

static void usage(FILE *out) {
    fprintf(out,
            "usage: braid generate MODEL_DIR (--prompt TEXT | --ids 5,17,42) [options]\n"
            "  -n N                  tokens to generate at most (default 64)\n"
            "  --greedy              always the most likely token (the default unless --temp is given)\n"
            "  --temp T              sampling temperature (0 = greedy)\n"
            "  --top-k K             sample among the K most likely tokens\n"
            "  --top-p P             ... among the smallest set with probability mass P\n"
            "  --min-p P             ... dropping tokens below P times the top probability\n"
            "  --repeat-penalty R    divide logits of tokens already seen by R (> 1 discourages repeats)\n"
            "  --seed S              sampling seed (default 0)\n"
            "  --stop STR            stop before STR appears in the text (repeatable)\n"
            "  --ignore-eos          do not stop at end-of-sequence tokens\n"
            "  --print-ids           print the generated ids (not the prompt) on one line instead of text\n"
            "  --no-echo             print only the continuation, not the prompt before it\n"
            "  --save-state FILE     save the sequence (state, KV cache, ids, sampler) at the end\n"
            "  --load-state FILE     go on from a saved sequence; the prompt (if any) is the next turn\n"
            CLI_MODEL_OPTS_HELP);
}

typedef struct gen_opts {
    const char *dir, *prompt, *ids, *save_state, *load_state;
    long long n;
    br_sampler_params sp;
    const char *stops[MAX_STOPS];
    int n_stops, ignore_eos, print_ids, no_echo;
    cli_model_opts mo;
} gen_opts;

static int parse(int argc, char **argv, gen_opts *o) {
    int bad = 0, greedy = 0, temp_given = 0;
    o->n = 64;
    o->sp = br_sampler_defaults();
    o->sp.temperature = 0.8;
    long long k = 0, seed = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout), 0;
        const char *stop;
        if (cli_opt_str(argc, argv, &i, "--prompt", &o->prompt, &bad) || cli_opt_str(argc, argv, &i, "--ids", &o->ids, &bad) ||
            cli_opt_str(argc, argv, &i, "--save-state", &o->save_state, &bad) ||
            cli_opt_str(argc, argv, &i, "--load-state", &o->load_state, &bad) ||
            cli_opt_long(argc, argv, &i, "-n", 0, 1 << 24, &o->n, &bad) ||
            cli_opt_long(argc, argv, &i, "--top-k", 0, 1 << 24, &k, &bad) ||
            cli_opt_double(argc, argv, &i, "--top-p", &o->sp.top_p, &bad) ||
            cli_opt_double(argc, argv, &i, "--min-p", &o->sp.min_p, &bad) ||
            cli_opt_double(argc, argv, &i, "--repeat-penalty", &o->sp.repetition_penalty, &bad) ||
            cli_opt_long(argc, argv, &i, "--seed", 0, 1LL << 62, &seed, &bad) || cli_model_opt(argc, argv, &i, &o->mo, &bad))
            continue;
        if (cli_opt_double(argc, argv, &i, "--temp", &o->sp.temperature, &bad)) {
            temp_given = 1;
            continue;
        }
        if (cli_opt_str(argc, argv, &i, "--stop", &stop, &bad)) {
            if (o->n_stops == MAX_STOPS) return cli_usage_error("generate", "at most %d --stop strings", MAX_STOPS);
            if (!*stop) return cli_usage_error("generate", "--stop needs a non-empty string");
            o->stops[o->n_stops++] = stop;
            continue;
        }
        if (strcmp(argv[i], "--greedy") == 0) greedy = 1;
        else if (strcmp(argv[i], "--ignore-eos") == 0) o->ignore_eos = 1;
        else if (strcmp(argv[i], "--print-ids") == 0) o->print_ids = 1;
        else if (strcmp(argv[i], "--no-echo") == 0) o->no_echo = 1;
        else if (argv[i][0] == '-') return cli_usage_error("generate", "unknown option '%s'", argv[i]);
        else if (o->dir) return cli_usage_error("generate", "more than one folder given");
        else o->dir = argv[i];
    }
    if (bad) return 2;
    if (!o->dir) return cli_usage_error("generate", "no checkpoint folder given");
    if (o->prompt && o->ids) return cli_usage_error("generate", "give one of --prompt or --ids, not both");
    if (!o->prompt && !o->ids && !o->load_state)
        return cli_usage_error("generate", "give --prompt or --ids (or --load-state to go on from a saved sequence)");
    if ((greedy || !temp_given) && (k || o->sp.top_p != 1.0 || o->sp.min_p != 0.0))
        return cli_usage_error("generate", "--top-k, --top-p and --min-p shape sampling: give --temp T with them "
                                           "(greedy decoding, the default, would ignore them)");
    if (greedy || !temp_given) o->sp.temperature = 0.0;
    o->sp.top_k = (int)k;
    o->sp.seed = (uint64_t)seed;
    return -1; /* parsed; continue */
}

/* Text that streams out, holding back enough to recognise a stop string. */
typedef struct text_out {
    char *buf;
    size_t len, cap, printed;
    size_t hold; /* longest stop string - 1 */
    int stopped;
} text_out;

static int text_add(text_out *t, const char *s, size_t n, const gen_opts *o) {
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->cap ? t->cap * 2 : 4096) + n;
        char *b = realloc(t->buf, cap);
        if (!b) return -1;
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
    size_t cut = t->len;
    for (int i = 0; i < o->n_stops; i++) {
        /* search from where a stop string could start that was not yet fully seen */
        size_t from = t->printed;
        char *hit = strstr(t->buf + from, o->stops[i]);
        if (hit && (size_t)(hit - t->buf) < cut) cut = (size_t)(hit - t->buf), t->stopped = 1;
    }
    size_t upto = t->stopped ? cut : (t->len > t->hold ? t->len - t->hold : 0);
    if (upto > t->printed) {
        fwrite(t->buf + t->printed, 1, upto - t->printed, stdout);
        fflush(stdout);
        t->printed = upto;
    }
    return 0;
}

static void text_finish(text_out *t) {
    if (!t->stopped && t->len > t->printed) fwrite(t->buf + t->printed, 1, t->len - t->printed, stdout);
    fflush(stdout);
}

static int run(const gen_opts *o, br_model *m, br_tokenizer *tok) {
    br_error err = {0};
    int32_t *prompt = NULL, eos[MAX_EOS], *saved = NULL;
    int n_prompt = 0, n_eos = 0, rc = 0;
    size_t n_saved = 0;
    if (o->ids) {
        if (cli_parse_ids(o->ids, &prompt, &n_prompt) != 0) return 2;
    } else if (o->prompt) {
        size_t n = 0; /* a turn after a saved sequence starts mid-text: no BOS */
        if (br_tokenizer_encode(tok, o->prompt, strlen(o->prompt), !o->load_state, &prompt, &n, &err) != BR_OK)
            return cli_fail(&err);
        n_prompt = (int)n;
        if (!n_prompt) {
            free(prompt);
            fprintf(stderr, "braid generate: the prompt encodes to no tokens\n");
            return 2;
        }
    }
    if (!o->ignore_eos && br_checkpoint_eos(o->dir, eos, MAX_EOS, &n_eos, &err) != BR_OK) {
        free(prompt);
        return cli_fail(&err);
    }
    const int V = br_model_vocab_size(m), N = (int)o->n;
    br_state *s = NULL;
    br_sampler *smp = NULL;
    br_detokenizer *dt = NULL;
    float *logits = malloc((size_t)V * sizeof(float));
    int32_t *hist = NULL;
    text_out out = {0};
    for (int i = 0; i < o->n_stops; i++)
        if (strlen(o->stops[i]) - 1 > out.hold) out.hold = strlen(o->stops[i]) - 1;
    int slot = 0, gen = 0;
    double t0 = cli_now(), t_prefill = 0;
    /* KV caches grow as the sequence does: a saved sequence of any length fits under this context */
    const int64_t context = o->load_state ? (int64_t)1 << 30 : (int64_t)n_prompt + N + 1;
    if (!logits || br_state_create(m, 1, context, &s, &err) != BR_OK || br_sampler_new(&o->sp, V, &smp, &err) != BR_OK ||
        (!o->print_ids && br_detokenizer_new(tok, 1, &dt, &err) != BR_OK) ||
        (o->load_state && br_state_load(m, s, slot, o->load_state, smp, &saved, &n_saved, &err) != BR_OK)) {
        rc = logits ? cli_fail(&err) : 1;
        goto done;
    }
    /* the ids so far: the saved ones (the last may not have been fed yet), then this prompt */
    const int64_t fed = br_state_position(s, slot);
    const size_t n_hist0 = n_saved + (size_t)n_prompt;
    if (!(hist = malloc((n_hist0 + (size_t)N + 1) * sizeof *hist))) {
        fprintf(stderr, "braid generate: out of memory\n");
        rc = 1;
        goto done;
    }
    if (n_saved) memcpy(hist, saved, n_saved * sizeof *hist);
    if (n_prompt) memcpy(hist + n_saved, prompt, (size_t)n_prompt * sizeof *hist);
    const int64_t to_feed = (int64_t)n_hist0 - fed;
    if (to_feed < 1 || (int64_t)n_saved < fed) {
        fprintf(stderr, "braid generate: %s ends where its sequence ends; give --prompt or --ids for the next turn\n",
                o->load_state);
        rc = 2;
        goto done;
    }
    if (br_model_prefill(m, s, 1, &slot, hist + fed, (int)to_feed, BR_LOGITS_LAST, logits, &err) != BR_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    n_prompt = (int)n_hist0; /* from here on, hist[0 .. n_prompt) is the context before the continuation */
    const int n_fed = (int)to_feed;
    t_prefill = cli_now() - t0;
    if (o->prompt && !o->print_ids && !o->no_echo) { /* the continuation reads on from the prompt */
        fputs(o->prompt, stdout);
        fflush(stdout);
    }
    t0 = cli_now();
    const int decodable = tok ? br_tokenizer_vocab_size(tok) : V; /* ids past the tokenizer (padding rows) */
    for (gen = 0; gen < N && !out.stopped; gen++) {
        for (int v = decodable; v < V; v++) logits[v] = -INFINITY; /* are never picked: nothing could print them */
        int32_t next = br_sampler_pick(smp, logits, hist, (size_t)(n_prompt + gen));
        int is_eos = 0;
        for (int e = 0; e < n_eos; e++) is_eos |= next == eos[e];
        if (is_eos) break;
        hist[n_prompt + gen] = next;
        if (o->print_ids) {
            printf("%s%d", gen ? " " : "", next);
        } else {
            const char *delta;
            size_t dlen;
            if (br_detokenizer_push(dt, next, &delta, &dlen, &err) != BR_OK) {
                rc = cli_fail(&err);
                goto done;
            }
            if (text_add(&out, delta, dlen, o) != 0) {
                rc = 1;
                goto done;
            }
        }
        if (gen + 1 < N && br_model_step(m, s, 1, &slot, &next, logits, &err) != BR_OK) {
            rc = cli_fail(&err);
            goto done;
        }
    }
    if (o->print_ids) {
        printf("\n");
    } else {
        const char *delta;
        size_t dlen;
        if (!out.stopped && br_detokenizer_flush(dt, &delta, &dlen, &err) == BR_OK) text_add(&out, delta, dlen, o);
        text_finish(&out);
        printf("\n");
    }
    fflush(stdout);
    if (o->save_state &&
        br_state_save(m, s, slot, o->save_state, smp, hist, (size_t)n_prompt + (size_t)gen, &err) != BR_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    double t_gen = cli_now() - t0;
    fprintf(stderr, "braid: prompt %d tokens in %.3f s (%.1f tok/s); generated %d tokens in %.3f s (%.1f tok/s)\n",
            n_fed, t_prefill, n_fed / (t_prefill > 0 ? t_prefill : 1e-9), gen, t_gen,
            gen / (t_gen > 0 ? t_gen : 1e-9));
done:
    free(out.buf);
    free(prompt);
    free(saved);
    free(logits);
    free(hist);
    br_detokenizer_free(dt);
    br_sampler_free(smp);
    br_state_free(s);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    gen_opts o = {0};
    o.mo = (cli_model_opts)CLI_MODEL_OPTS_INIT;
    int p = parse(argc, argv, &o);
    if (p >= 0) return p;
    if (cli_check_model_dir(o.dir) != 0) return 1;
    br_tokenizer *tok = NULL;
    br_error err = {0};
    char *tok_path = br_path_join(o.dir, "tokenizer.json", &err);
    if (!tok_path) return cli_fail(&err);
    int need_tok = o.prompt || !o.print_ids;
    if (need_tok && !br_file_exists(tok_path)) {
        fprintf(stderr, "braid generate: %s does not exist; use --ids and --print-ids for a checkpoint without a "
                        "tokenizer\n", tok_path);
        free(tok_path);
        return 1;
    }
    if (need_tok && br_tokenizer_load(tok_path, &tok, &err) != BR_OK) {
        free(tok_path);
        return cli_fail(&err);
    }
    free(tok_path);
    br_model *m = NULL;
    int rc = cli_load_model(o.dir, &o.mo, &m);
    if (rc == 0 && tok && br_tokenizer_vocab_size(tok) > br_model_vocab_size(m)) {
        fprintf(stderr, "braid generate: %s/tokenizer.json has %d tokens but the model's vocabulary has %d rows; they "
                        "do not belong together\n", o.dir, br_tokenizer_vocab_size(tok), br_model_vocab_size(m));
        rc = 1;
    }
    if (rc == 0) rc = run(&o, m, tok);
    br_model_free(m);
    br_tokenizer_free(tok);
    return rc;
}
