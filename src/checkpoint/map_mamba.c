/*
 * map_mamba.c - Mamba (model_type "mamba") and FalconMamba ("falcon_mamba").
 *
 *   h = h + MambaMixer(RMSNorm(h))  per layer; norm_f; tied or untied head
 * FalconMamba adds weightless RMS norms on dt, B and C (mixer_rms_eps).
 * An explicit intermediate_size beats expand * hidden_size (as in
 * transformers).  Names: backbone.embeddings (older: backbone.embedding),
 * backbone.layers.N.{norm, mixer.*}, backbone.norm_f, lm_head.
 */
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    br_sw_nums ns = {0};
    long long H, V, L, N, K, expand, Di, R;
    int conv_bias, bias, tie;
    double eps, rms_eps;
    const char *act, *mt, *rank_str = NULL;
    BR_TRY(br_hf_str(c, "model_type", "mamba", &mt, err));
    int falcon = strcmp(mt, "falcon_mamba") == 0;
    BR_TRY(br_hf_int(c, "hidden_size", 768, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 50280, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 32, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "state_size", 16, 1, 4096, &N, err));
    BR_TRY(br_hf_int(c, "conv_kernel", 4, 1, 16, &K, err));
    BR_TRY(br_hf_int(c, "expand", 2, 1, 1024, &expand, err));
    BR_TRY(br_hf_int(c, "intermediate_size", expand * H, 1, 1 << 24, &Di, err));
    json_t *rank = br_hf_get(c, "time_step_rank");
    if (rank && json_is_string(rank)) rank_str = json_string_value(rank);
    if (rank_str && strcmp(rank_str, "auto") != 0)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: 'time_step_rank' must be an integer or \"auto\"", c->path);
    if (rank_str || !rank) R = (H + 15) / 16;
    else BR_TRY(br_hf_int(c, "time_step_rank", 0, 1, 1 << 20, &R, err));
    BR_TRY(br_hf_bool(c, "use_conv_bias", 1, &conv_bias, err));
    BR_TRY(br_hf_bool(c, "use_bias", 0, &bias, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 1, &tie, err));
    BR_TRY(br_hf_float(c, "layer_norm_epsilon", 1e-5, &eps, err));
    BR_TRY(br_hf_float(c, "mixer_rms_eps", 1e-6, &rms_eps, err));
    BR_TRY(br_sw_act(c, "hidden_act", "silu", &act, err));
    if (strcmp(act, "silu") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: hidden_act '%s': braid's Mamba conv uses SiLU", c->path, act);
    br_sw_model m = {H, V, 1 << 20, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb, "blocks:\n  mixer: {type: mamba, d_inner: %lld, d_state: %lld, d_conv: %lld, dt_rank: %lld, "
                         "conv_bias: %s, proj_bias: %s",
                     Di, N, K, R, conv_bias ? "true" : "false", bias ? "true" : "false");
    if (falcon) br_strbuf_printf(sb, ", bcdt_norm: rms, bcdt_eps: %s", br_sw_n(&ns, rms_eps));
    br_strbuf_printf(sb, "}\nlayers:\n  - {repeat: %lld, layers: [mixer]}\n", L);
    return BR_OK;
}

static const br_hf_block_map blocks[] = {{"mixer", "mixer.", BR_HF_MAMBA1}, {NULL, NULL, 0}};
static const br_hf_layout layout = {"backbone.embeddings.weight", "backbone.embedding.weight", "backbone.norm_f",
                                    "backbone.layers.%d.", {"norm"}, blocks};

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    return br_hf_fill_layout(ctx, p, n, &layout, err);
}

const br_family br_family_mamba = {"mamba", write_spec, NULL, fill};
const br_family br_family_falcon_mamba = {"falcon_mamba", write_spec, NULL, fill};
