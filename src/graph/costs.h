/*
 * costs.h - what a forward pass must move and compute, for rooflines.
 *
 * Decode (one step of `batch` sequences at `context` tokens each) reads
 * every weight a step touches once - a shared block once per invocation, an
 * untied input embedding one row per sequence, routed experts the share
 * that `batch` tokens are expected to hit, 1 - (1 - top_k/E)^batch - and
 * reads and writes each sequence's recurrent state and reads its KV cache:
 *   bytes = dense + experts (1 - (1 - s)^B) + B (row + 2 state + kv(context))
 * Prefill spends per token 2 FLOPs per active matrix parameter outside the
 * embeddings, plus attention's FLOPs per attended token times the average
 * context (L + 1) / 2 of a causal prompt of L tokens (capped by windows).
 */
#ifndef BR_GRAPH_COSTS_H
#define BR_GRAPH_COSTS_H

#include <stdint.h>

#include "graph/plan.h"

typedef struct br_plan_costs {
    double dense_bytes;       /* weights every step reads in full, shared blocks per invocation */
    double expert_bytes;      /* routed experts' weights */
    double routed_share;      /* top_k / experts (0 without MoE) */
    double row_bytes;         /* one row of an untied input embedding (0 when tied) */
    double state_bytes;       /* recurrent state of one sequence (f32) */
    double matrix_flops;      /* per token: 2 x active matrix parameters outside the embeddings */
    int n_attention;          /* attention invocations */
    double attn_flops[64];    /* per invocation: FLOPs per attended token */
    int64_t attn_window[64];  /* per invocation: its window (0: none) */
    double kv_bytes_per_token[64];
} br_plan_costs;

/* The costs of `plan` with its weights as stored and KV caches of `kv_dtype`. */
void br_plan_costs_compute(const br_plan *plan, br_dtype kv_dtype, br_plan_costs *out);
/* Bytes one decode step of `batch` sequences at `context` tokens moves. */
double br_costs_decode_bytes(const br_plan_costs *c, int batch, int64_t context);
/* FLOPs per token of a prompt of `length` tokens. */
double br_costs_prefill_flops(const br_plan_costs *c, int64_t length);

#endif /* BR_GRAPH_COSTS_H */
