/*
 * sampler.c - choosing the next token from logits.
 *
 * src/generate/ holds what turns a model into a text generator (sampling,
 * stop conditions); the model itself knows nothing of it.
 *
 * Order of operations, as in transformers' logits processors:
 *   1. repetition penalty: a logit of a token already seen is divided by
 *      the penalty if positive, multiplied if negative;
 *   2. greedy (temperature 0): argmax, lowest id on ties;
 *   3. logits / temperature, softmax;
 *   4. top-k, then top-p (smallest set whose mass reaches p), then min-p
 *      (drop tokens below min_p * the top probability);
 *   5. draw from the renormalised rest with the sampler's own xorshift
 *      stream, so a seed reproduces a generation exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "braid.h"

struct br_sampler {
    br_sampler_params p;
    uint64_t rng;
    int vocab;
    float *scratch;   /* [vocab] penalised logits */
    int *order;       /* [vocab] token ids by logit, descending */
    double *probs;    /* [vocab] */
};

br_status br_sampler_new(const br_sampler_params *params, int vocab, br_sampler **out, br_error *err) {
    if (!params || !out || vocab < 1) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_sampler_new: bad arguments");
    const br_sampler_params *q = params;
    if (!(q->temperature >= 0) || q->top_k < 0 || !(q->top_p > 0 && q->top_p <= 1) || !(q->min_p >= 0 && q->min_p < 1) ||
        !(q->repetition_penalty > 0))
        return BR_FAIL(err, BR_ERR_INVALID_ARG,
                       "sampling: need temperature >= 0 (got %g), top_k >= 0 (%d), 0 < top_p <= 1 (%g), 0 <= min_p < 1 "
                       "(%g), repetition_penalty > 0 (%g)",
                       q->temperature, q->top_k, q->top_p, q->min_p, q->repetition_penalty);
    br_sampler *s = br_calloc(1, sizeof *s, err);
    if (!s) return BR_ERR_NOMEM;
    s->p = *params;
    s->vocab = vocab;
    s->rng = params->seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    s->scratch = br_malloc((size_t)vocab * sizeof *s->scratch, err);
    s->order = br_malloc((size_t)vocab * sizeof *s->order, err);
    s->probs = br_malloc((size_t)vocab * sizeof *s->probs, err);
    if (!s->scratch || !s->order || !s->probs) {
        br_sampler_free(s);
        return BR_ERR_NOMEM;
    }
    *out = s;
    return BR_OK;
}

void br_sampler_free(br_sampler *s) {
    if (!s) return;
    free(s->scratch);
    free(s->order);
    free(s->probs);
    free(s);
}

br_sampler_params br_sampler_defaults(void) {
    return (br_sampler_params){.temperature = 0.0, .top_k = 0, .top_p = 1.0, .min_p = 0.0, .repetition_penalty = 1.0,
                               .seed = 0};
}

static double next_unit(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static int by_logit_desc(const void *a, const void *b, void *key) {
    const float *l = key;
    float x = l[*(const int *)a], y = l[*(const int *)b];
    if (x != y) return x < y ? 1 : -1;
    return *(const int *)a - *(const int *)b;
}

int32_t br_sampler_pick(br_sampler *s, const float *logits, const int32_t *history, size_t n_history) {
    const int V = s->vocab;
    float *l = s->scratch;
    memcpy(l, logits, (size_t)V * sizeof *l);
    if (s->p.repetition_penalty != 1.0)
        for (size_t i = 0; i < n_history; i++) {
            int32_t t = history[i];
            if (t < 0 || t >= V) continue;
            /* applied once per distinct token: mark by the sign of the penalty's effect */
            float orig = logits[t];
            if (l[t] != orig) continue;
            l[t] = orig > 0 ? orig / (float)s->p.repetition_penalty : orig * (float)s->p.repetition_penalty;
        }
    int best = 0;
    for (int i = 1; i < V; i++)
        if (l[i] > l[best]) best = i;
    if (s->p.temperature == 0.0) return best;
    int n = V;
    for (int i = 0; i < V; i++) s->order[i] = i;
    qsort_r(s->order, (size_t)V, sizeof *s->order, by_logit_desc, l);
    if (s->p.top_k > 0 && s->p.top_k < n) n = s->p.top_k;
    /* probabilities of the kept prefix, in sorted order */
    double mx = l[s->order[0]] / s->p.temperature, total = 0;
    double *pr = s->probs;
    for (int i = 0; i < n; i++) total += pr[i] = exp(l[s->order[i]] / s->p.temperature - mx);
    double cum = 0;
    int keep = n;
    for (int i = 0; i < n; i++) {
        cum += pr[i] / total;
        if (cum >= s->p.top_p) {
            keep = i + 1;
            break;
        }
    }
    n = keep;
    double top = pr[0];
    for (int i = 1; i < n; i++)
        if (pr[i] < s->p.min_p * top) {
            n = i;
            break;
        }
    total = 0;
    for (int i = 0; i < n; i++) total += pr[i];
    double u = next_unit(&s->rng) * total;
    int pick = s->order[n - 1];
    for (int i = 0; i < n; i++) {
        if (u < pr[i]) {
            pick = s->order[i];
            break;
        }
        u -= pr[i];
    }
    return pick;
}

uint64_t br_sampler_rng(const br_sampler *s) { return s->rng; }

void br_sampler_set_rng(br_sampler *s, uint64_t rng) { s->rng = rng; }
