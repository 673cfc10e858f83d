/*
 * map_mamba2.c - Mamba-2 (model_type "mamba2").
 *
 *   h = h + Mamba2Mixer(RMSNorm(h)) per layer; norm_f; lm_head (tied or not)
 * The gated norm is grouped by n_groups as in the original mamba_ssm
 * (transformers normalises over the full width: docs/families.md D3).
 * dt is clamped to time_step_limit (default none) in prefill and decode.
 */
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    br_sw_nums ns = {0};
    long long H, V, L, heads, P, G, N, K, expand, chunk;
    int conv_bias, bias, tie;
    double eps, lim[2];
    const char *act;
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 32768, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 64, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "num_heads", 128, 1, 1 << 20, &heads, err));
    BR_TRY(br_hf_int(c, "head_dim", 64, 1, 1 << 16, &P, err));
    BR_TRY(br_hf_int(c, "expand", 2, 1, 1024, &expand, err));
    BR_TRY(br_hf_int(c, "n_groups", 8, 1, 1 << 16, &G, err));
    BR_TRY(br_hf_int(c, "state_size", 128, 1, 4096, &N, err));
    BR_TRY(br_hf_int(c, "conv_kernel", 4, 1, 16, &K, err));
    BR_TRY(br_hf_int(c, "chunk_size", 256, 1, 1 << 20, &chunk, err));
    BR_TRY(br_hf_bool(c, "use_conv_bias", 1, &conv_bias, err));
    BR_TRY(br_hf_bool(c, "use_bias", 0, &bias, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_float(c, "layer_norm_epsilon", 1e-5, &eps, err));
    BR_TRY(br_sw_dt_limit(c, lim, err));
    BR_TRY(br_sw_act(c, "hidden_act", "silu", &act, err));
    if (strcmp(act, "silu") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: hidden_act '%s': braid's Mamba-2 conv uses SiLU", c->path, act);
    if (heads * P != expand * H)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: num_heads * head_dim (%lld) != expand * hidden_size (%lld)", c->path,
                       heads * P, expand * H);
    br_sw_model m = {H, V, 1 << 20, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb,
                     "blocks:\n  mixer: {type: mamba2, heads: %lld, head_dim: %lld, d_state: %lld, groups: %lld, d_conv: "
                     "%lld, conv_bias: %s, in_bias: %s, out_bias: %s, norm: gated, norm_groups: %lld, norm_eps: %s, dt_min: %s, "
                     "dt_max: %s, chunk: %lld}\nlayers:\n  - {repeat: %lld, layers: [mixer]}\n",
                     heads, P, N, G, K, conv_bias ? "true" : "false", bias ? "true" : "false", bias ? "true" : "false", G, br_sw_n(&ns, eps),
                     br_sw_n(&ns, lim[0]), br_sw_n(&ns, lim[1]), chunk, L);
    return BR_OK;
}

static const br_hf_block_map blocks[] = {{"mixer", "mixer.", BR_HF_MAMBA2}, {NULL, NULL, 0}};
static const br_hf_layout layout = {"backbone.embeddings.weight", "backbone.embedding.weight", "backbone.norm_f",
                                    "backbone.layers.%d.", {"norm"}, blocks};

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    return br_hf_fill_layout(ctx, p, n, &layout, err);
}

const br_family br_family_mamba2 = {"mamba2", write_spec, NULL, fill};
