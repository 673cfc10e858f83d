/*
 * moe.c (cpu) - expert routing, the stable sort of picks by expert, grouped
 * products (one BLAS product per expert with rows) and the weighted
 * combination; kernels/moe.h gives the math.  Scores are computed in
 * double and rounded once, so the CUDA router, which does the same, picks
 * the same experts from the same logits.
 */
#include "kernels/moe.h"

#include <math.h>
#include <string.h>

#include "kernels/linear.h"

/* The top-k picks of one token: ids [k], wts [k]; score, pick [E] are scratch. */
static void route_token(const br_moe_route_args *a, const float *logits, int32_t *ids, float *wts, float *score,
                        float *pick) {
    const int E = a->experts, per_group = E / a->groups;
    if (a->router == BR_MOE_SOFTMAX) {
        double mx = -INFINITY, sum = 0;
        for (int e = 0; e < E; e++) mx = logits[e] > mx ? logits[e] : mx;
        for (int e = 0; e < E; e++) sum += exp((double)logits[e] - mx);
        for (int e = 0; e < E; e++) score[e] = (float)(exp((double)logits[e] - mx) / sum);
    } else {
        for (int e = 0; e < E; e++) score[e] = (float)(1.0 / (1.0 + exp(-(double)logits[e])));
    }
    for (int e = 0; e < E; e++) pick[e] = score[e] + (a->sel_bias ? a->sel_bias[e] : 0.0f);
    if (a->groups > 1) { /* keep the topk_groups groups whose best two picks sum highest */
        float gscore[a->groups];
        for (int g = 0; g < a->groups; g++) {
            float x = -INFINITY, y = -INFINITY;
            for (int e = g * per_group; e < (g + 1) * per_group; e++) {
                if (pick[e] > x) y = x, x = pick[e];
                else if (pick[e] > y) y = pick[e];
            }
            gscore[g] = per_group > 1 ? x + y : x;
        }
        for (int kept = 0; kept < a->topk_groups; kept++) {
            int best = -1;
            for (int g = 0; g < a->groups; g++)
                if (gscore[g] != -INFINITY && (best < 0 || gscore[g] > gscore[best])) best = g;
            if (best >= 0) gscore[best] = -INFINITY; /* mark kept */
        }
        for (int g = 0; g < a->groups; g++)
            if (gscore[g] != -INFINITY)
                for (int e = g * per_group; e < (g + 1) * per_group; e++) pick[e] = -INFINITY;
    }
    double total = 0;
    for (int k = 0; k < a->top_k; k++) {
        int best = 0;
        for (int e = 1; e < E; e++)
            if (pick[e] > pick[best]) best = e;
        ids[k] = best;
        wts[k] = score[best];
        total += score[best];
        pick[best] = -INFINITY;
    }
    for (int k = 0; k < a->top_k; k++) {
        if (a->normalize && total > 0) wts[k] = (float)(wts[k] / total);
        wts[k] *= a->route_scale;
    }
}

void br_cpu_moe_route(const br_device *dev, const br_moe_route_args *a) {
    float score[a->experts], pick[a->experts];
    for (int t = 0; t < a->n; t++)
        route_token(a, a->logits + (long)t * a->experts, a->ids + (long)t * a->top_k, a->wts + (long)t * a->top_k, score,
                    pick);
}

void br_cpu_moe_sort(const br_device *dev, const br_moe_sort_args *a) {
    int32_t *off = a->offsets;
    memset(off, 0, (size_t)(a->experts + 1) * sizeof *off);
    for (int i = 0; i < a->pairs; i++) off[a->ids[i] + 1]++;
    for (int e = 0; e < a->experts; e++) off[e + 1] += off[e];
    int32_t fill[a->experts];
    memcpy(fill, off, (size_t)a->experts * sizeof *fill);
    for (int i = 0; i < a->pairs; i++) {
        const int r = fill[a->ids[i]]++;
        a->rows_token[r] = i / a->top_k;
        a->row_of[i] = r;
    }
}

void br_cpu_moe_linear(const br_device *dev, const br_moe_linear_args *a) {
    for (int e = 0; e < a->experts; e++) {
        const int r0 = a->offsets[e], m = a->offsets[e + 1] - r0;
        if (m > 0)
            br_cpu_linear(dev, m, a->in, a->out, a->x + (long)r0 * a->ldx, a->ldx,
                          br_mat_at(a->w, (long)e * a->out * a->in), NULL, 0.0f, a->y + (long)r0 * a->ldy, a->ldy);
    }
}

void br_cpu_moe_combine(const br_device *dev, int n, int top_k, int cols, const int32_t *row_of, const float *wts,
                        const float *src, int lds, float *y, int ldy) {
    for (int t = 0; t < n; t++) {
        float *yt = y + (long)t * ldy;
        for (int c = 0; c < cols; c++) {
            float acc = 0.0f;
            for (int k = 0; k < top_k; k++)
                acc += wts[(long)t * top_k + k] * src[(long)row_of[(long)t * top_k + k] * lds + c];
            yt[c] = acc;
        }
    }
}
