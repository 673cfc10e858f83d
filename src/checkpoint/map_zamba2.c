/*
 * map_zamba2.c - Zamba2 (model_type "zamba2").
 *
 *   mamba layer:  h = h + Mamba2(RMSNorm(h))
 *   hybrid layer k (block b = k % num_mem_blocks):
 *     a = RMSNorm([h, emb]) -> shared attention b (+ per-invocation LoRA on
 *         q/k/v when use_shared_attention_adapter; RoPE when use_mem_rope;
 *         scale (hd/2)^-0.5) -> RMSNorm -> shared MLP b (+ per-invocation
 *         LoRA on gate_up) ; t = linear_i(a) ; h = h + Mamba2(RMSNorm(h + t))
 * The Mamba-2 gated norm is grouped by mamba_ngroups with eps 1e-5; the
 * conv always has a bias; dt is not clamped (transformers clamps at
 * time_step_min in prefill only: docs/families.md D2).  A shared block's
 * weights sit under the first hybrid layer using it, holding the adapters
 * of all its invocations (indexed by the invocation ordinal k).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "checkpoint/family.h"
#include "checkpoint/spec_writer.h"
#include "checkpoint/zamba_layers.h"

static br_status layers(const br_hf_config *c, br_zamba_layers *z, long long *blocks, br_error *err) {
    long long L;
    BR_TRY(br_hf_int(c, "num_hidden_layers", 54, 1, BR_ZAMBA_MAX_LAYERS, &L, err));
    BR_TRY(br_hf_int(c, "num_mem_blocks", 1, 1, 64, blocks, err));
    z->n_layers = (int)L;
    /* transformers' default (Zamba2-2.7B): m + (5m h) x 7 + 4m h 3m h 2m */
    static const char def[] = "mmmmmmhmmmmmhmmmmmhmmmmmhmmmmmhmmmmmhmmmmmhmmmmhmmmhmm";
    for (int i = 0; i < z->n_layers; i++) z->kind[i] = i < (int)sizeof def - 1 ? def[i] : 'm';
    if (!br_hf_has(c, "layers_block_type") && L != (long long)sizeof def - 1)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: num_hidden_layers is %lld but there is no layers_block_type", c->path, L);
    return br_zamba_layers_read(c, z, err);
}

static void hybrid_symbol(br_strbuf *sb, long long b, int attn_adapter, long long rank) {
    br_strbuf_printf(sb, "  '%lld': [{block: attn%lld, input: concat_embedding, combine: pass", b, b);
    if (attn_adapter) br_strbuf_printf(sb, ", adapters: {rank: %lld, targets: [q_proj, k_proj, v_proj]}", rank);
    br_strbuf_printf(sb, "},\n        {block: mlp%lld, input: previous, combine: pass, adapters: {rank: %lld, targets: "
                         "[gate_up_proj]}},\n        {block: proj, input: previous, norm: none, combine: inject}, mamba]\n",
                     b, rank);
}

static br_status write_spec(const br_hf_config *c, br_strbuf *sb, br_error *err) {
    br_sw_nums ns = {0};
    long long H, V, I, heads, kv, mh, G, N, K, expand, chunk, B, rank, ctx;
    int tie, bias, attn_adapter, rope;
    double eps, theta, frac;
    const char *act;
    br_zamba_layers *z = br_malloc(sizeof *z, err);
    if (!z) return BR_ERR_NOMEM;
    br_status st = layers(c, z, &B, err);
    if (st == BR_OK) st = br_hf_int(c, "hidden_size", 2560, 1, 1 << 20, &H, err);
    if (st == BR_OK) st = br_hf_int(c, "vocab_size", 32000, 1, 1 << 24, &V, err);
    if (st == BR_OK) st = br_hf_int(c, "intermediate_size", 4 * H, 1, 1 << 24, &I, err);
    if (st == BR_OK) st = br_hf_int(c, "num_attention_heads", 32, 1, 1 << 16, &heads, err);
    if (st == BR_OK) st = br_hf_int(c, "num_key_value_heads", heads, 1, 1 << 16, &kv, err);
    if (st == BR_OK) st = br_hf_int(c, "n_mamba_heads", 8, 1, 1 << 16, &mh, err);
    if (st == BR_OK) st = br_hf_int(c, "mamba_ngroups", 1, 1, 1 << 16, &G, err);
    if (st == BR_OK) st = br_hf_int(c, "mamba_d_state", 64, 1, 4096, &N, err);
    if (st == BR_OK) st = br_hf_int(c, "mamba_d_conv", 4, 1, 16, &K, err);
    if (st == BR_OK) st = br_hf_int(c, "mamba_expand", 2, 1, 1024, &expand, err);
    if (st == BR_OK) st = br_hf_int(c, "chunk_size", 256, 1, 1 << 20, &chunk, err);
    if (st == BR_OK) st = br_hf_int(c, "adapter_rank", 128, 1, 1 << 16, &rank, err);
    if (st == BR_OK) st = br_hf_int(c, "max_position_embeddings", 4096, 1, 1LL << 40, &ctx, err);
    if (st == BR_OK) st = br_hf_bool(c, "tie_word_embeddings", 1, &tie, err);
    if (st == BR_OK) st = br_hf_bool(c, "add_bias_linear", 0, &bias, err);
    if (st == BR_OK) st = br_hf_bool(c, "use_shared_attention_adapter", 0, &attn_adapter, err);
    if (st == BR_OK) st = br_hf_bool(c, "use_mem_rope", 0, &rope, err);
    if (st == BR_OK) st = br_hf_float(c, "rms_norm_eps", 1e-5, &eps, err);
    if (st == BR_OK) st = br_sw_rope(c, 10000.0, 1.0, &theta, &frac, err);
    if (st == BR_OK) st = br_sw_act(c, "hidden_act", "gelu", &act, err);
    if (st == BR_OK && ((expand * H) % mh || (2 * H) % heads))
        st = BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: mamba or attention widths do not divide by their head counts", c->path);
    if (st != BR_OK) {
        free(z);
        return st;
    }
    const long long hd = 2 * H / heads;
    br_sw_model m = {H, V, ctx, tie, eps, 1, 1, 1};
    br_sw_header(sb, c, &m);
    br_strbuf_printf(sb,
                     "blocks:\n"
                     "  mamba: {type: mamba2, heads: %lld, head_dim: %lld, d_state: %lld, groups: %lld, d_conv: %lld, "
                     "conv_bias: true, in_bias: %s, out_bias: %s, norm: gated, norm_groups: %lld, norm_eps: 1.0e-5, "
                     "chunk: %lld}\n"
                     "  proj: {type: linear}\n",
                     mh, expand * H / mh, N, G, K, bias ? "true" : "false", bias ? "true" : "false", G, chunk);
    for (long long b = 0; b < B; b++)
        br_strbuf_printf(sb,
                         "  attn%lld: {type: attention, shared: true, heads: %lld, kv_heads: %lld, head_dim: %lld, rope: %s, "
                         "rope_theta: %s, scale: %s}\n"
                         "  mlp%lld: {type: mlp, shared: true, hidden: %lld, activation: %s, bias: %s}\n",
                         b, heads, kv, hd, rope ? "neox" : "none", br_sw_n(&ns, theta), br_sw_n(&ns, 1.0 / sqrt(hd / 2.0)), b, I, act,
                         bias ? "true" : "false");
    br_strbuf_printf(sb, "symbols:\n  m: mamba\n");
    for (long long b = 0; b < B; b++) hybrid_symbol(sb, b, attn_adapter, rank);
    br_strbuf_printf(sb, "layers: '");
    for (int i = 0; i < z->n_layers; i++)
        br_strbuf_printf(sb, "%c", z->kind[i] == 'h' ? (char)('0' + z->ordinal[i] % B) : 'm');
    br_strbuf_printf(sb, "'\n");
    if (B > 10) st = BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: more than 10 shared blocks", c->path);
    free(z);
    return st;
}

typedef struct zamba2_fam {
    br_zamba_layers z;
    long long blocks;
} zamba2_fam;

static br_status prepare(br_hf_ctx *ctx, br_error *err) {
    zamba2_fam *f = br_malloc(sizeof *f, err);
    if (!f) return BR_ERR_NOMEM;
    ctx->fam = f;
    return layers(ctx->config, &f->z, &f->blocks, err);
}

static br_status fill_shared(br_hf_ctx *ctx, br_param *p, const br_pname *n, const zamba2_fam *f, br_error *err) {
    char name[BR_HF_NAME_MAX];
    int attn = strncmp(n->block, "attn", 4) == 0, mlp = strncmp(n->block, "mlp", 3) == 0;
    long long b = atoll(n->block + (attn ? 4 : 3));
    if ((!attn && !mlp) || b < 0 || b >= f->blocks || b >= f->z.n_hybrid) return br_hf_unmapped(ctx, p, err);
    const int first = f->z.hybrid_ids[b];
    if (strcmp(n->rest, "pre_norm.weight") == 0) {
        snprintf(name, sizeof name, "model.layers.%d.shared_transformer.%s.weight", first,
                 attn ? "input_layernorm" : "pre_ff_layernorm");
        return br_hf_put_same(ctx, p, name, err);
    }
    snprintf(name, sizeof name, "model.layers.%d.shared_transformer.%s.%s", first, attn ? "self_attn" : "feed_forward",
             n->rest);
    return br_hf_put_same(ctx, p, name, err);
}

static br_status fill_adapter(br_hf_ctx *ctx, br_param *p, const br_pname *n, const zamba2_fam *f, br_error *err) {
    const int k = n->layer >= 0 && n->layer < f->z.n_layers ? f->z.ordinal[n->layer] : -1;
    if (k < 0) return br_hf_unmapped(ctx, p, err);
    const int first = f->z.hybrid_ids[k % f->blocks];
    const int which = strcmp(n->rest, "a") == 0 ? 0 : 1;
    char name[BR_HF_NAME_MAX];
    if (strcmp(n->block, "gate_up_proj") == 0)
        snprintf(name, sizeof name, "model.layers.%d.shared_transformer.feed_forward.gate_up_proj_adapter_list.%d.%d.weight",
                 first, k, which);
    else if (strlen(n->block) == 6 && strcmp(n->block + 1, "_proj") == 0)
        snprintf(name, sizeof name, "model.layers.%d.shared_transformer.self_attn.linear_%c_adapter_list.%d.%d.weight",
                 first, n->block[0], k, which);
    else return br_hf_unmapped(ctx, p, err);
    return br_hf_put_same(ctx, p, name, err);
}

static br_status fill(br_hf_ctx *ctx, br_param *p, const br_pname *n, br_error *err) {
    const zamba2_fam *f = ctx->fam;
    if (n->kind == BR_PN_SHARED) return fill_shared(ctx, p, n, f, err);
    if (n->kind == BR_PN_ADAPTER) return fill_adapter(ctx, p, n, f, err);
    if (n->kind == BR_PN_BLOCK && strcmp(n->block, "mamba") == 0) {
        char prefix[BR_HF_NAME_MAX / 2];
        br_zamba_mamba_prefix(&f->z, n->layer, prefix, sizeof prefix);
        return br_hf_fill_mamba2(ctx, p, n->rest, prefix, err);
    }
    return br_zamba_fill_common(ctx, p, n, &f->z, err);
}

const br_family br_family_zamba2 = {"zamba2", write_spec, prepare, fill};
