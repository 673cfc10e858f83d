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
    br_sw_nums ns = {0};
    long long H, V, L, I, heads, kv, hd, mh, mp, G, N, K, expand, d_ssm, chunk, ctx;
    int tie, conv_bias, in_bias, out_bias, attn_bias, mlp_bias, rms_norm, before_gate;
    double eps, theta, frac, lim[2], emb, lm, key, a_in, a_out, s_in, s_out, mlp_mult[2] = {1, 1},
                                                                           ssm_mult[5] = {1, 1, 1, 1, 1};
    const char *act;
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 128000, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 32, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "intermediate_size", 14336, 1, 1 << 24, &I, err));
    BR_TRY(br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &heads, err));
    BR_TRY(br_hf_int(c, "num_key_value_heads", 8, 1, 1 << 16, &kv, err));
    BR_TRY(br_hf_int(c, "head_dim", H / heads, 1, 1 << 16, &hd, err));
    BR_TRY(br_hf_int(c, "mamba_expand", 2, 1, 1024, &expand, err));
    BR_TRY(br_hf_int(c, "mamba_d_ssm", expand * H, 1, 1 << 24, &d_ssm, err));
    BR_TRY(br_hf_int(c, "mamba_n_heads", 128, 1, 1 << 20, &mh, err));
    json_t *dh = br_hf_get(c, "mamba_d_head");
    if (dh && json_is_string(dh)) mp = d_ssm / mh;
    else BR_TRY(br_hf_int(c, "mamba_d_head", d_ssm / mh, 1, 1 << 16, &mp, err));
    BR_TRY(br_hf_int(c, "mamba_n_groups", 1, 1, 1 << 16, &G, err));
    BR_TRY(br_hf_int(c, "mamba_d_state", 256, 1, 4096, &N, err));
    BR_TRY(br_hf_int(c, "mamba_d_conv", 4, 1, 16, &K, err));
    BR_TRY(br_hf_int(c, "mamba_chunk_size", 256, 1, 1 << 20, &chunk, err));
    BR_TRY(br_hf_int(c, "max_position_embeddings", 8192, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "mamba_conv_bias", 1, &conv_bias, err));
    BR_TRY(br_hf_bool(c, "mamba_proj_bias", 0, &in_bias, err));
    BR_TRY(br_hf_bool(c, "projectors_bias", 0, &out_bias, err));
    BR_TRY(br_hf_bool(c, "attention_bias", 0, &attn_bias, err));
    BR_TRY(br_hf_bool(c, "mlp_bias", 0, &mlp_bias, err));
    BR_TRY(br_hf_bool(c, "mamba_rms_norm", 0, &rms_norm, err));
    BR_TRY(br_hf_bool(c, "mamba_norm_before_gate", 1, &before_gate, err));
    BR_TRY(br_hf_float(c, "rms_norm_eps", 1e-5, &eps, err));
    BR_TRY(br_hf_float(c, "embedding_multiplier", 1.0, &emb, err));
    BR_TRY(br_hf_float(c, "lm_head_multiplier", 1.0, &lm, err));
    BR_TRY(br_hf_float(c, "key_multiplier", 1.0, &key, err));
    BR_TRY(br_hf_float(c, "attention_in_multiplier", 1.0, &a_in, err));
    BR_TRY(br_hf_float(c, "attention_out_multiplier", 1.0, &a_out, err));
    BR_TRY(br_hf_float(c, "ssm_in_multiplier", 1.0, &s_in, err));
    BR_TRY(br_hf_float(c, "ssm_out_multiplier", 1.0, &s_out, err));
    if (br_hf_has(c, "mlp_multipliers")) BR_TRY(br_hf_float_list(c, "mlp_multipliers", 2, mlp_mult, NULL, err));
    if (br_hf_has(c, "ssm_multipliers")) BR_TRY(br_hf_float_list(c, "ssm_multipliers", 5, ssm_mult, NULL, err));
    BR_TRY(br_sw_rope(c, 10000.0, 1.0, &theta, &frac, err));
    BR_TRY(br_sw_dt_limit(c, lim, err));
    BR_TRY(br_sw_act(c, "hidden_act", "silu", &act, err));
    if (strcmp(act, "silu") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: hidden_act '%s' also drives the Mamba conv; braid uses SiLU there",
                       c->path, act);
    if (mh * mp != d_ssm)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: mamba_n_heads * mamba_d_head (%lld) != mamba_d_ssm (%lld)", c->path,
                       mh * mp, d_ssm);
    br_sw_model m = {H, V, ctx, tie, eps, emb, lm, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb,
                     "blocks:\n"
                     "  attn: {type: attention, heads: %lld, kv_heads: %lld, head_dim: %lld, rope: neox, rope_theta: %s, "
                     "rope_fraction: %s, key_scale: %s, qkv_bias: %s, out_bias: %s, in_scale: %s, out_scale: %s}\n",
                     heads, kv, hd, br_sw_n(&ns, theta), br_sw_n(&ns, frac), br_sw_n(&ns, key), attn_bias ? "true" : "false",
                     attn_bias ? "true" : "false", br_sw_n(&ns, a_in), br_sw_n(&ns, a_out));
    br_strbuf_printf(sb,
                     "  mamba: {type: mamba2, heads: %lld, head_dim: %lld, d_state: %lld, groups: %lld, d_conv: %lld, "
                     "conv_bias: %s, in_bias: %s, out_bias: %s, norm: %s, norm_before_gate: %s, norm_groups: %lld, "
                     "norm_eps: %s, dt_min: %s, dt_max: %s, chunk: %lld, in_scale: %s, out_scale: %s, "
                     "in_scales: [%s, %s, %s, %s, %s]}\n",
                     mh, mp, N, G, K, conv_bias ? "true" : "false", in_bias ? "true" : "false",
                     out_bias ? "true" : "false", rms_norm ? "gated" : "none", before_gate ? "true" : "false", G,
                     br_sw_n(&ns, eps), br_sw_n(&ns, lim[0]), br_sw_n(&ns, lim[1]), chunk, br_sw_n(&ns, s_in), br_sw_n(&ns, s_out),
                     br_sw_n(&ns, ssm_mult[0]), br_sw_n(&ns, ssm_mult[1]), br_sw_n(&ns, ssm_mult[2]), br_sw_n(&ns, ssm_mult[3]),
                     br_sw_n(&ns, ssm_mult[4]));
    br_strbuf_printf(sb,
                     "  mlp: {type: mlp, hidden: %lld, activation: silu, bias: %s, gate_scale: %s, out_scale: %s}\n"
                     "layers:\n  - {repeat: %lld, layers: [[{parallel: [attn, mamba]}, mlp]]}\n",
                     I, mlp_bias ? "true" : "false", br_sw_n(&ns, mlp_mult[0]), br_sw_n(&ns, mlp_mult[1]), L);
    return BR_OK;
}

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    char name[256];
    switch (n->kind) {
    case BR_PN_EMBED: return br_hf_put_same(ctx, p, "model.embed_tokens.weight", err);
    case BR_PN_LM_HEAD: return br_hf_put_same(ctx, p, "lm_head.weight", err);
    case BR_PN_FINAL_NORM:
        snprintf(name, sizeof name, "model.final_layernorm.%s", n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_UNIT_NORM:
        snprintf(name, sizeof name, "model.layers.%d.%s.%s", n->layer, n->unit == 0 ? "input_layernorm" : "pre_ff_layernorm",
                 n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_BLOCK:
        if (strcmp(n->block, "mamba") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.mamba.", n->layer);
            return br_hf_fill_mamba2(ctx, p, n->rest, name, err);
        }
        if (strcmp(n->block, "attn") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.self_attn.", n->layer);
            return br_hf_fill_attention(ctx, p, n->rest, name, err);
        }
        if (strcmp(n->block, "mlp") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.feed_forward.", n->layer);
            return br_hf_fill_gated_mlp(ctx, p, n->rest, name, "gate_proj", "up_proj", "down_proj", err);
        }
        break;
    default: break;
    }
    return br_hf_unmapped(ctx, p, err);
}

const br_family br_family_falcon_h1 = {"falcon_h1", write_spec, NULL, fill};
