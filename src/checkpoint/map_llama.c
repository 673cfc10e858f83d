/*
 * map_llama.c - Llama (model_type "llama"), the attention-only control.
 *
 *   h = h + Attn(RMSNorm(h)); h = h + SwiGLU(RMSNorm(h)); norm; lm_head
 * Names: model.embed_tokens, model.layers.N.{input_layernorm, self_attn.*,
 * post_attention_layernorm, mlp.*}, model.norm, lm_head.
 */
#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    long long H, V, L, I, ctx;
    int tie, mlp_bias;
    double eps;
    const char *act;
    br_sw_attention at = {0};
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 32000, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 32, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "intermediate_size", 11008, 1, 1 << 24, &I, err));
    BR_TRY(br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &at.heads, err));
    BR_TRY(br_hf_int(c, "num_key_value_heads", at.heads, 1, 1 << 16, &at.kv_heads, err));
    BR_TRY(br_hf_int(c, "head_dim", H / at.heads, 1, 1 << 16, &at.head_dim, err));
    BR_TRY(br_hf_int(c, "max_position_embeddings", 2048, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "attention_bias", 0, &at.bias, err));
    BR_TRY(br_hf_bool(c, "mlp_bias", 0, &mlp_bias, err));
    BR_TRY(br_hf_float(c, "rms_norm_eps", 1e-6, &eps, err));
    BR_TRY(br_sw_rope(c, 10000.0, 1.0, &at.rope_theta, &at.rope_fraction, err));
    BR_TRY(br_sw_act(c, "hidden_act", "silu", &act, err));
    at.rope = 1;
    at.key_scale = at.in_scale = at.out_scale = 1.0;
    br_sw_model m = {H, V, ctx, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb, "blocks:\n");
    br_sw_emit_attention(sb, "attn", &at);
    br_strbuf_printf(sb, "  mlp: {type: mlp, hidden: %lld, activation: %s, bias: %s}\n"
                         "layers:\n  - {repeat: %lld, layers: [[attn, mlp]]}\n",
                     I, act, mlp_bias ? "true" : "false", L);
    return BR_OK;
}

static const br_hf_block_map blocks[] = {
    {"attn", "self_attn.", BR_HF_ATTENTION},
    {"mlp", "mlp.", BR_HF_GATED_MLP},
    {NULL, NULL, 0},
};
static const br_hf_layout layout = {"model.embed_tokens.weight", NULL, "model.norm", "model.layers.%d.",
                                    {"input_layernorm", "post_attention_layernorm"}, blocks};

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    return br_hf_fill_layout(ctx, p, n, &layout, err);
}

const br_family br_family_llama = {"llama", write_spec, NULL, fill};
