/*
 * map_bamba.c - Bamba (model_type "bamba").
 *
 *   layer i: h = h + (Attn if i in attn_layer_indices else Mamba2)(RMSNorm(h))
 *            h = h + SwiGLU(RMSNorm(h))
 * Attention rotates the first partial_rotary_factor (0.5 unless given) of
 * each head.  The Mamba-2 gated norm is grouped by n_groups (original
 * math; transformers uses the full width, docs/families.md D3).  Names:
 * model.embed_tokens, model.layers.N.{input_layernorm, mamba.* |
 * self_attn.*, pre_ff_layernorm, feed_forward.*}, model.final_layernorm,
 * lm_head.
 */
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    long long H, V, L, I, expand, ctx;
    int tie, mlp_bias;
    double eps;
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
    BR_TRY(br_hf_int(c, "max_position_embeddings", 262144, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "attention_bias", 0, &at.bias, err));
    BR_TRY(br_hf_bool(c, "mlp_bias", 0, &mlp_bias, err));
    BR_TRY(br_hf_float(c, "rms_norm_eps", 1e-5, &eps, err));
    BR_TRY(br_sw_rope(c, 10000.0, 0.5, &at.rope_theta, &at.rope_fraction, err));
    BR_TRY(br_sw_require_silu(c, "hidden_act", err));
    BR_TRY(br_sw_read_mamba2(c, expand * H, eps, &m2, err));
    at.rope = 1;
    at.key_scale = at.in_scale = at.out_scale = 1.0;
    br_sw_model m = {H, V, ctx, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb, "blocks:\n");
    br_sw_emit_mamba2(sb, "mamba", &m2);
    br_sw_emit_attention(sb, "attn", &at);
    br_strbuf_printf(sb, "  mlp: {type: mlp, hidden: %lld, activation: silu, bias: %s}\n"
                         "symbols: {m: [mamba, mlp], a: [attn, mlp]}\nlayers: '",
                     I, mlp_bias ? "true" : "false");
    json_t *idx = br_hf_get(c, "attn_layer_indices");
    if (idx && !json_is_array(idx))
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: 'attn_layer_indices' must be a list of layer numbers", c->path);
    for (size_t j = 0; idx && j < json_array_size(idx); j++) {
        const json_t *e = json_array_get(idx, j);
        if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) >= L)
            return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: attn_layer_indices[%zu] must be a layer number in [0, %lld)",
                           c->path, j, L);
    }
    for (long long i = 0; i < L; i++) {
        int attn = 0;
        for (size_t j = 0; idx && j < json_array_size(idx); j++) attn |= json_integer_value(json_array_get(idx, j)) == i;
        br_strbuf_printf(sb, "%c", attn ? 'a' : 'm');
    }
    br_strbuf_printf(sb, "'\n");
    return BR_OK;
}

static const br_hf_block_map blocks[] = {
    {"mamba", "mamba.", BR_HF_MAMBA2},
    {"attn", "self_attn.", BR_HF_ATTENTION},
    {"mlp", "feed_forward.", BR_HF_GATED_MLP},
    {NULL, NULL, 0},
};
static const br_hf_layout layout = {"model.embed_tokens.weight", NULL, "model.final_layernorm", "model.layers.%d.",
                                    {"input_layernorm", "pre_ff_layernorm"}, blocks};

br_status br_hf_fill_bamba_names(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    return br_hf_fill_layout(ctx, p, n, &layout, err);
}

const br_family br_family_bamba = {"bamba", write_spec, NULL, br_hf_fill_bamba_names};
