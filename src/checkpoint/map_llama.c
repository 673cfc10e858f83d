/*
 * map_llama.c - Llama (model_type "llama"), the attention-only control.
 *
 *   h = h + Attn(RMSNorm(h)); h = h + SwiGLU(RMSNorm(h)); norm; lm_head
 * Names: model.embed_tokens, model.layers.N.{input_layernorm, self_attn.*,
 * post_attention_layernorm, mlp.*}, model.norm, lm_head.
 */
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    br_sw_nums ns = {0};
    long long H, V, L, I, heads, kv, hd, ctx;
    int tie, attn_bias, mlp_bias;
    double eps, theta, frac;
    const char *act;
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 32000, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 32, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "intermediate_size", 11008, 1, 1 << 24, &I, err));
    BR_TRY(br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &heads, err));
    BR_TRY(br_hf_int(c, "num_key_value_heads", heads, 1, 1 << 16, &kv, err));
    BR_TRY(br_hf_int(c, "head_dim", H / heads, 1, 1 << 16, &hd, err));
    BR_TRY(br_hf_int(c, "max_position_embeddings", 2048, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "attention_bias", 0, &attn_bias, err));
    BR_TRY(br_hf_bool(c, "mlp_bias", 0, &mlp_bias, err));
    BR_TRY(br_hf_float(c, "rms_norm_eps", 1e-6, &eps, err));
    BR_TRY(br_sw_rope(c, 10000.0, 1.0, &theta, &frac, err));
    BR_TRY(br_sw_act(c, "hidden_act", "silu", &act, err));
    br_sw_model m = {H, V, ctx, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb,
                     "blocks:\n  attn: {type: attention, heads: %lld, kv_heads: %lld, head_dim: %lld, rope: neox, "
                     "rope_theta: %s, rope_fraction: %s, qkv_bias: %s, out_bias: %s}\n"
                     "  mlp: {type: mlp, hidden: %lld, activation: %s, bias: %s}\n"
                     "layers:\n  - {repeat: %lld, layers: [[attn, mlp]]}\n",
                     heads, kv, hd, br_sw_n(&ns, theta), br_sw_n(&ns, frac), attn_bias ? "true" : "false",
                     attn_bias ? "true" : "false", I, act, mlp_bias ? "true" : "false", L);
    return BR_OK;
}

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    char name[256];
    switch (n->kind) {
    case BR_PN_EMBED: return br_hf_put_same(ctx, p, "model.embed_tokens.weight", err);
    case BR_PN_LM_HEAD: return br_hf_put_same(ctx, p, "lm_head.weight", err);
    case BR_PN_FINAL_NORM:
        snprintf(name, sizeof name, "model.norm.%s", n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_UNIT_NORM:
        snprintf(name, sizeof name, "model.layers.%d.%s.%s", n->layer,
                 n->unit == 0 ? "input_layernorm" : "post_attention_layernorm", n->rest);
        return br_hf_put_same(ctx, p, name, err);
    case BR_PN_BLOCK:
        if (strcmp(n->block, "attn") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.self_attn.", n->layer);
            return br_hf_fill_attention(ctx, p, n->rest, name, err);
        }
        if (strcmp(n->block, "mlp") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.mlp.", n->layer);
            return br_hf_fill_gated_mlp(ctx, p, n->rest, name, "gate_proj", "up_proj", "down_proj", err);
        }
        break;
    default: break;
    }
    return br_hf_unmapped(ctx, p, err);
}

const br_family br_family_llama = {"llama", write_spec, NULL, fill};
