/*
 * map_jamba.c - Jamba (model_type "jamba").
 *
 *   layer i: h = h + (Attn | Mamba)(RMSNorm(h)); h = h + (MoE | MLP)(RMSNorm(h))
 * attention where i % attn_layer_period == attn_layer_offset (no RoPE),
 * MoE where i % expert_layer_period == expert_layer_offset (softmax router,
 * top-k weights not renormalised); the Mamba mixer has weighted RMS norms
 * on dt, B and C.  Names: model.embed_tokens, model.layers.N.{
 * input_layernorm, self_attn.* | mamba.*, pre_ff_layernorm, feed_forward.*},
 * model.final_layernorm, lm_head.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    br_sw_nums ns = {0};
    long long H, V, L, I, heads, kv, hd, E, k, ap, ao, ep, eo, N, K, expand, R, ctx;
    int tie, conv_bias, proj_bias;
    double eps;
    const char *act;
    BR_TRY(br_hf_int(c, "hidden_size", 4096, 1, 1 << 20, &H, err));
    BR_TRY(br_hf_int(c, "vocab_size", 65536, 1, 1 << 24, &V, err));
    BR_TRY(br_hf_int(c, "num_hidden_layers", 32, 1, 100000, &L, err));
    BR_TRY(br_hf_int(c, "intermediate_size", 14336, 1, 1 << 24, &I, err));
    BR_TRY(br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &heads, err));
    BR_TRY(br_hf_int(c, "num_key_value_heads", 8, 1, 1 << 16, &kv, err));
    BR_TRY(br_hf_int(c, "head_dim", H / heads, 1, 1 << 16, &hd, err));
    BR_TRY(br_hf_int(c, "num_experts", 16, 1, 1 << 16, &E, err));
    BR_TRY(br_hf_int(c, "num_experts_per_tok", 2, 1, 1 << 16, &k, err));
    BR_TRY(br_hf_int(c, "attn_layer_period", 8, 1, 100000, &ap, err));
    BR_TRY(br_hf_int(c, "attn_layer_offset", 4, 0, ap - 1, &ao, err));
    BR_TRY(br_hf_int(c, "expert_layer_period", 2, 1, 100000, &ep, err));
    BR_TRY(br_hf_int(c, "expert_layer_offset", 1, 0, ep - 1, &eo, err));
    BR_TRY(br_hf_int(c, "mamba_d_state", 16, 1, 4096, &N, err));
    BR_TRY(br_hf_int(c, "mamba_d_conv", 4, 1, 16, &K, err));
    BR_TRY(br_hf_int(c, "mamba_expand", 2, 1, 1024, &expand, err));
    json_t *rank = br_hf_get(c, "mamba_dt_rank");
    if (rank && json_is_string(rank)) R = (H + 15) / 16;
    else BR_TRY(br_hf_int(c, "mamba_dt_rank", (H + 15) / 16, 1, 1 << 20, &R, err));
    BR_TRY(br_hf_int(c, "max_position_embeddings", 262144, 1, 1LL << 40, &ctx, err));
    BR_TRY(br_hf_bool(c, "tie_word_embeddings", 0, &tie, err));
    BR_TRY(br_hf_bool(c, "mamba_conv_bias", 1, &conv_bias, err));
    BR_TRY(br_hf_bool(c, "mamba_proj_bias", 0, &proj_bias, err));
    BR_TRY(br_hf_float(c, "rms_norm_eps", 1e-6, &eps, err));
    BR_TRY(br_sw_act(c, "hidden_act", "silu", &act, err));
    if (strcmp(act, "silu") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: hidden_act '%s' also drives Jamba's Mamba conv; braid uses SiLU there",
                       c->path, act);
    br_sw_model m = {H, V, ctx, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb,
                     "blocks:\n"
                     "  mamba: {type: mamba, d_inner: %lld, d_state: %lld, d_conv: %lld, dt_rank: %lld, conv_bias: %s, "
                     "proj_bias: %s, bcdt_norm: rms_weighted, bcdt_eps: %s}\n"
                     "  attn: {type: attention, heads: %lld, kv_heads: %lld, head_dim: %lld, rope: none}\n"
                     "  mlp: {type: mlp, hidden: %lld, activation: silu}\n"
                     "  moe: {type: moe, experts: %lld, top_k: %lld, hidden: %lld, activation: silu, router: softmax, "
                     "normalize: false}\n"
                     "symbols: {m: [mamba, mlp], M: [mamba, moe], a: [attn, mlp], A: [attn, moe]}\n"
                     "layers: '",
                     expand * H, N, K, R, conv_bias ? "true" : "false", proj_bias ? "true" : "false", br_sw_n(&ns, eps), heads,
                     kv, hd, I, E, k, I);
    for (long long i = 0; i < L; i++) {
        int attn = i % ap == ao, moe = i % ep == eo;
        br_strbuf_printf(sb, "%c", attn ? (moe ? 'A' : 'a') : (moe ? 'M' : 'm'));
    }
    br_strbuf_printf(sb, "'\n");
    return BR_OK;
}

static const br_hf_block_map blocks[] = {
    {"mamba", "mamba.", BR_HF_MAMBA1},
    {"attn", "self_attn.", BR_HF_ATTENTION},
    {"mlp", "feed_forward.", BR_HF_GATED_MLP},
    {NULL, NULL, 0},
};
static const br_hf_layout layout = {"model.embed_tokens.weight", NULL, "model.final_layernorm", "model.layers.%d.",
                                    {"input_layernorm", "pre_ff_layernorm"}, blocks};

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    char name[BR_HF_NAME_MAX];
    if (n->kind == BR_PN_BLOCK && strcmp(n->block, "moe") == 0) {
        if (strcmp(n->rest, "router.weight") == 0) {
            snprintf(name, sizeof name, "model.layers.%d.feed_forward.router.weight", n->layer);
            return br_hf_put_same(ctx, p, name, err);
        }
        if (strncmp(n->rest, "experts.", 8) == 0) {
            snprintf(name, sizeof name, "model.layers.%d.feed_forward.experts.%%d.", n->layer);
            return br_hf_fill_experts(ctx, p, n->rest + 8, name, "gate_proj", "up_proj", "down_proj", err);
        }
    }
    return br_hf_fill_layout(ctx, p, n, &layout, err);
}

const br_family br_family_jamba = {"jamba", write_spec, NULL, fill};
