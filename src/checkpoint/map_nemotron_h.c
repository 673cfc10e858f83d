/*
 * map_nemotron_h.c - Nemotron-H and Nemotron-3 (model_type "nemotron_h").
 *
 *   layer i: h = h + Mixer_i(RMSNorm(h)), Mixer_i from the pattern:
 *     M Mamba-2 (gated norm grouped by n_groups), * attention (no RoPE),
 *     - relu2 MLP (not gated), E MoE (sigmoid router with a selection-only
 *     correction bias, expert groups, renormalised top-k, routed scaling,
 *     relu2 experts and one shared expert)
 * dt is not clamped: transformers clamps at time_step_min in prefill only,
 * the original model does not (docs/families.md D2).  Names: backbone.
 * embeddings, backbone.layers.N.{norm, mixer.*}, backbone.norm_f, lm_head.
 */
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

/* The layer pattern as M/ * /-/E characters into sb; *L set. */
static br_status write_pattern(const br_hf_config *c, br_strbuf *sb, long long *L, br_error *err) {
    const char *pat = NULL;
    BR_TRY(br_hf_str(c, "hybrid_override_pattern", NULL, &pat, err));
    json_t *types = br_hf_get(c, "layers_block_type");
    if (pat) {
        for (const char *p = pat; *p; p++)
            if (!strchr("M*-E", *p))
                return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: hybrid_override_pattern character '%c' at %ld (expected M, *, "
                               "- or E)", c->path, *p, (long)(p - pat));
        br_strbuf_printf(sb, "%s", pat);
        *L = (long long)strlen(pat);
        return BR_OK;
    }
    if (!types) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: neither hybrid_override_pattern nor layers_block_type", c->path);
    if (!json_is_array(types)) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: layers_block_type must be a list", c->path);
    static const char *const names[][2] = {{"mamba", "M"}, {"linear_attention", "M"}, {"attention", "*"},
                                           {"full_attention", "*"}, {"mlp", "-"}, {"moe", "E"}};
    for (size_t i = 0; i < json_array_size(types); i++) {
        const char *t = json_string_value(json_array_get(types, i)), *sym = NULL;
        for (size_t k = 0; t && k < sizeof names / sizeof names[0]; k++)
            if (strcmp(t, names[k][0]) == 0) sym = names[k][1];
        if (!sym) return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: layers_block_type[%zu] is '%s'", c->path, i, t ? t : "?");
        br_strbuf_printf(sb, "%s", sym);
    }
    *L = (long long)json_array_size(types);
    return BR_OK;
}

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    br_sw_nums ns = {0};
    long long H, V, I, heads, kv, hd, mh, mp, G, N, K, chunk, E, k, Imoe, Ish, ngroup, topk_group, latent, ctx, L;
    int tie, conv_bias, bias, mlp_bias, norm_topk;
    double eps, route_scale;
    const char *mlp_act, *mamba_act;
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 131072, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "intermediate_size", 21504, 1, 1 << 24, &I, err));
    BR_TRY(br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &heads, err));
    BR_TRY(br_hf_int(c, "num_key_value_heads", 8, 1, 1 << 16, &kv, err));
    BR_TRY(br_hf_int(c, "head_dim", 128, 1, 1 << 16, &hd, err));
    BR_TRY(br_hf_int(c, "mamba_num_heads", 128, 1, 1 << 20, &mh, err));
    BR_TRY(br_hf_int(c, "mamba_head_dim", 64, 1, 1 << 16, &mp, err));
    BR_TRY(br_hf_int(c, "n_groups", 8, 1, 1 << 16, &G, err));
    BR_TRY(br_hf_int(c, "ssm_state_size", 128, 1, 4096, &N, err));
    BR_TRY(br_hf_int(c, "conv_kernel", 4, 1, 16, &K, err));
    BR_TRY(br_hf_int(c, "chunk_size", 128, 1, 1 << 20, &chunk, err));
    BR_TRY(br_hf_int(c, "n_routed_experts", 8, 1, 1 << 16, &E, err));
    BR_TRY(br_hf_int(c, "num_experts_per_tok", 2, 1, 1 << 16, &k, err));
    BR_TRY(br_hf_int(c, "moe_intermediate_size", 7688, 1, 1 << 24, &Imoe, err));
    BR_TRY(br_hf_int(c, "moe_shared_expert_intermediate_size", 7688, 0, 1 << 24, &Ish, err));
    BR_TRY(br_hf_int(c, "n_group", 1, 1, 1 << 16, &ngroup, err));
    BR_TRY(br_hf_int(c, "topk_group", 1, 1, 1 << 16, &topk_group, err));
    BR_TRY(br_hf_int(c, "moe_latent_size", 0, 0, 1 << 24, &latent, err));
    BR_TRY(br_hf_int(c, "max_position_embeddings", 4096, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "use_conv_bias", 1, &conv_bias, err));
    BR_TRY(br_hf_bool(c, "use_bias", 0, &bias, err));
    BR_TRY(br_hf_bool(c, "mlp_bias", 0, &mlp_bias, err));
    BR_TRY(br_hf_bool(c, "norm_topk_prob", 1, &norm_topk, err));
    BR_TRY(br_hf_float(c, "layer_norm_epsilon", 1e-5, &eps, err));
    BR_TRY(br_hf_float(c, "routed_scaling_factor", 1.0, &route_scale, err));
    BR_TRY(br_sw_act(c, "mlp_hidden_act", "relu2", &mlp_act, err));
    BR_TRY(br_sw_act(c, "mamba_hidden_act", "silu", &mamba_act, err));
    if (latent) return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: moe_latent_size (latent MoE projections) is not supported", c->path);
    if (strcmp(mamba_act, "silu") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: mamba_hidden_act '%s': braid's Mamba conv uses SiLU", c->path, mamba_act);
    br_strbuf pattern = {0};
    br_status st = write_pattern(c, &pattern, &L, err);
    if (st == BR_OK) st = br_strbuf_status(&pattern, err);
    if (st != BR_OK) {
        br_strbuf_free(&pattern);
        return st;
    }
    br_sw_model m = {H, V, ctx, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb,
                     "blocks:\n"
                     "  mamba: {type: mamba2, heads: %lld, head_dim: %lld, d_state: %lld, groups: %lld, d_conv: %lld, "
                     "conv_bias: %s, in_bias: %s, out_bias: %s, norm: gated, norm_groups: %lld, norm_eps: %s, chunk: %lld}\n"
                     "  attn: {type: attention, heads: %lld, kv_heads: %lld, head_dim: %lld, rope: none}\n"
                     "  mlp: {type: mlp, hidden: %lld, activation: %s, gated: false, bias: %s}\n"
                     "  moe: {type: moe, experts: %lld, top_k: %lld, hidden: %lld, activation: %s, gated: false, "
                     "router: sigmoid, selection_bias: true, normalize: %s, route_scale: %s, groups: %lld, "
                     "topk_groups: %lld, shared_hidden: %lld}\n"
                     "symbols: {M: mamba, '*': attn, '-': mlp, E: moe}\n"
                     "layers: '%s'\n",
                     mh, mp, N, G, K, conv_bias ? "true" : "false", bias ? "true" : "false", bias ? "true" : "false", G,
                     br_sw_n(&ns, eps), chunk, heads, kv, hd, I, mlp_act, mlp_bias ? "true" : "false", E, k, Imoe, mlp_act,
                     norm_topk ? "true" : "false", br_sw_n(&ns, route_scale), ngroup, topk_group, Ish, pattern.data);
    br_strbuf_free(&pattern);
    return BR_OK;
}

static br_status fill_moe(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    char name[BR_HF_NAME_MAX];
    const char *r = n->rest;
    if (strcmp(r, "router.weight") == 0 || strcmp(r, "router.selection_bias") == 0) {
        snprintf(name, sizeof name, "backbone.layers.%d.mixer.gate.%s", n->layer,
                 strcmp(r, "router.weight") == 0 ? "weight" : "e_score_correction_bias");
        return br_hf_put_same(ctx, p, name, err);
    }
    if (strncmp(r, "shared_expert.", 14) == 0) {
        snprintf(name, sizeof name, "backbone.layers.%d.mixer.shared_experts.%s", n->layer, r + 14);
        return br_hf_put_same(ctx, p, name, err);
    }
    if (strncmp(r, "experts.", 8) == 0) {
        snprintf(name, sizeof name, "backbone.layers.%d.mixer.experts.%%d.", n->layer);
        return br_hf_fill_experts(ctx, p, r + 8, name, NULL, "up_proj", "down_proj", err);
    }
    return br_hf_unmapped(ctx, p, err);
}

static const br_hf_block_map blocks[] = {
    {"mamba", "mixer.", BR_HF_MAMBA2},
    {"attn", "mixer.", BR_HF_ATTENTION},
    {"mlp", "mixer.", BR_HF_SAME_NAMES},
    {NULL, NULL, 0},
};
static const br_hf_layout layout = {"backbone.embeddings.weight", NULL, "backbone.norm_f", "backbone.layers.%d.",
                                    {"norm"}, blocks};

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    if (n->kind == BR_PN_BLOCK && strcmp(n->block, "moe") == 0) return fill_moe(ctx, p, n, err);
    return br_hf_fill_layout(ctx, p, n, &layout, err);
}

const br_family br_family_nemotron_h = {"nemotron_h", write_spec, NULL, fill};
