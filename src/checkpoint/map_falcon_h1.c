/*
 * map_falcon_h1.c - Falcon-H1 (model_type "falcon_h1").
 *
 *   h = embed * embedding_multiplier
 *   layer: u = RMSNorm(h)
 *          h = h + Mamba2(u * ssm_in) * ssm_out + Attn(u * attn_in) * attn_out
 *          h = h + down(up(u') * silu(gate(u') * mlp_mult[0])) * mlp_mult[1]
 *   logits = lm_head(norm(h)) * lm_head_multiplier
 * The mixer scales its in_proj output per segment (ssm_multipliers over
 * z, x, B, C, dt); its gated norm is optional (mamba_rms_norm), grouped by
 * n_groups, with the gate before or after the norm (mamba_norm_before_gate,
 * default true).  mamba_proj_bias is the in_proj bias, projectors_bias the
 * out_proj bias.  Keys are scaled by key_multiplier before RoPE.
 * Names: model.embed_tokens, model.layers.N.{input_layernorm, mamba.*,
 * self_attn.*, pre_ff_layernorm, feed_forward.*}, model.final_layernorm.
 */
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    long long H, V, L, I, expand, d_ssm, ctx;
    int tie, mlp_bias, rms_norm, before_gate, out_bias;
    double eps, emb, lm, mlp_mult[2] = {1, 1};
    br_sw_mamba2 m2;
    br_sw_attention at = {0};
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 128000, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 32, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "intermediate_size", 14336, 1, 1 << 24, &I, err));
    BR_TRY(br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &at.heads, err));
    BR_TRY(br_hf_int(c, "num_key_value_heads", 8, 1, 1 << 16, &at.kv_heads, err));
    BR_TRY(br_hf_int(c, "head_dim", H / at.heads, 1, 1 << 16, &at.head_dim, err));
    BR_TRY(br_hf_int(c, "mamba_expand", 2, 1, 1024, &expand, err));
    BR_TRY(br_hf_int(c, "mamba_d_ssm", expand * H, 1, 1 << 24, &d_ssm, err));
    BR_TRY(br_hf_int(c, "max_position_embeddings", 8192, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "projectors_bias", 0, &out_bias, err));
    BR_TRY(br_hf_bool(c, "attention_bias", 0, &at.bias, err));
    BR_TRY(br_hf_bool(c, "mlp_bias", 0, &mlp_bias, err));
    BR_TRY(br_hf_bool(c, "mamba_rms_norm", 0, &rms_norm, err));
    BR_TRY(br_hf_bool(c, "mamba_norm_before_gate", 1, &before_gate, err));
    BR_TRY(br_hf_float(c, "rms_norm_eps", 1e-5, &eps, err));
    BR_TRY(br_hf_float(c, "embedding_multiplier", 1.0, &emb, err));
    BR_TRY(br_hf_float(c, "lm_head_multiplier", 1.0, &lm, err));
    BR_TRY(br_hf_float(c, "key_multiplier", 1.0, &at.key_scale, err));
    BR_TRY(br_hf_float(c, "attention_in_multiplier", 1.0, &at.in_scale, err));
    BR_TRY(br_hf_float(c, "attention_out_multiplier", 1.0, &at.out_scale, err));
    BR_TRY(br_sw_rope(c, 10000.0, 1.0, &at.rope_theta, &at.rope_fraction, err));
    BR_TRY(br_sw_require_silu(c, "hidden_act", err));
    BR_TRY(br_sw_read_mamba2(c, d_ssm, eps, &m2, err));
    BR_TRY(br_hf_float(c, "ssm_in_multiplier", 1.0, &m2.in_scale, err));
    BR_TRY(br_hf_float(c, "ssm_out_multiplier", 1.0, &m2.out_scale, err));
    if (br_hf_has(c, "mlp_multipliers")) BR_TRY(br_hf_float_list(c, "mlp_multipliers", 2, mlp_mult, NULL, err));
    m2.n_in_scales = 5;
    for (int i = 0; i < 5; i++) m2.in_scales[i] = 1.0;
    if (br_hf_has(c, "ssm_multipliers")) BR_TRY(br_hf_float_list(c, "ssm_multipliers", 5, m2.in_scales, NULL, err));
    m2.out_bias = out_bias; /* mamba_proj_bias is the in_proj bias only */
    m2.gated = rms_norm;
    m2.norm_before_gate = before_gate;
    at.rope = 1;
    br_sw_model m = {H, V, ctx, tie, eps, emb, lm, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb, "blocks:\n");
    br_sw_emit_attention(sb, "attn", &at);
    br_sw_emit_mamba2(sb, "mamba", &m2);
    br_sw_nums ns = {0};
    br_strbuf_printf(sb,
                     "  mlp: {type: mlp, hidden: %lld, activation: silu, bias: %s, gate_scale: %s, out_scale: %s}\n"
                     "layers:\n  - {repeat: %lld, layers: [[{parallel: [attn, mamba]}, mlp]]}\n",
                     I, mlp_bias ? "true" : "false", br_sw_n(&ns, mlp_mult[0]), br_sw_n(&ns, mlp_mult[1]), L);
    return BR_OK;
}

/* Falcon-H1 names its modules as Bamba does (mamba., self_attn., feed_forward., pre_ff_layernorm). */
const br_family br_family_falcon_h1 = {"falcon_h1", write_spec, NULL, br_hf_fill_bamba_names};
