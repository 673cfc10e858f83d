/*
 * spec_writer.c - YAML helpers for derived specs.
 */
#include "checkpoint/spec_writer.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "graph/fields.h"

const char *br_sw_num(double v, char buf[40]) {
    br_fmt_double(buf, 40, v);
    return buf;
}

const char *br_sw_n(br_sw_nums *ns, double v) {
    if (ns->used == BR_SW_NUMS) return ".nan"; /* too many: the YAML then fails to parse, loudly */
    return br_sw_num(v, ns->buf[ns->used++]);
}

void br_sw_header(br_strbuf *sb, const br_hf_config *cfg, const br_sw_model *m) {
    br_sw_nums ns = {0};
    const char *src = NULL;
    br_hf_str(cfg, "_name_or_path", NULL, &src, NULL);
    if (!src || !*src) br_hf_str(cfg, "model_type", "model", &src, NULL);
    const char *base = strrchr(src, '/');
    base = base && base[1] ? base + 1 : src;
    char name[64];
    size_t n = 0;
    for (const char *c = base; *c && n + 1 < sizeof name; c++)
        name[n++] = (isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.') ? *c : '-';
    name[n] = '\0';
    br_strbuf_printf(sb, "name: %s\nmodel:\n  d_model: %lld\n  vocab_size: %lld\n  tie_embeddings: %s\n  context: %lld\n",
                     name[0] ? name : "model", m->d_model, m->vocab_size, m->tie_embeddings ? "true" : "false",
                     m->context);
    br_strbuf_printf(sb, "  norm: {type: rmsnorm, eps: %s}\n", br_sw_n(&ns, m->norm_eps));
    if (m->embedding_scale != 1.0) br_strbuf_printf(sb, "  embedding_scale: %s\n", br_sw_n(&ns, m->embedding_scale));
    if (m->logit_scale != 1.0) br_strbuf_printf(sb, "  logit_scale: %s\n", br_sw_n(&ns, m->logit_scale));
    if (m->residual_scale != 1.0) br_strbuf_printf(sb, "  residual_scale: %s\n", br_sw_n(&ns, m->residual_scale));
}

br_status br_sw_act(const br_hf_config *cfg, const char *key, const char *def, const char **out, br_error *err) {
    static const char *const map[][2] = {
        {"silu", "silu"}, {"swish", "silu"}, {"gelu", "gelu"}, {"gelu_pytorch_tanh", "gelu_tanh"},
        {"gelu_new", "gelu_tanh"}, {"relu", "relu"}, {"relu2", "relu2"},
    };
    const char *v;
    BR_TRY(br_hf_str(cfg, key, def, &v, err));
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(v, map[i][0]) == 0) return *out = map[i][1], BR_OK;
    return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: '%s' = '%s' is not an activation braid implements (silu, gelu, "
                   "gelu_pytorch_tanh, relu, relu2)", cfg->path, key, v);
}

br_status br_sw_dt_limit(const br_hf_config *cfg, double lim[2], br_error *err) {
    lim[0] = 0.0;
    lim[1] = INFINITY;
    int got = 0;
    double v[2];
    BR_TRY(br_hf_float_list(cfg, "time_step_limit", 2, v, &got, err));
    if (got == 2) lim[0] = v[0], lim[1] = v[1];
    else if (got) return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: 'time_step_limit' needs two numbers", cfg->path);
    return BR_OK;
}

static br_status rope_number(const br_hf_config *cfg, json_t *params, const char *key, double *out, int *found,
                             br_error *err) {
    json_t *v = params ? json_object_get(params, key) : NULL;
    double d;
    if (v && !json_is_null(v)) {
        if (!br_json_number(v, &d))
            return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: rope_parameters.%s must be a number", cfg->path, key);
        *out = d;
        *found = 1;
        return BR_OK;
    }
    if (br_hf_has(cfg, key)) {
        BR_TRY(br_hf_float(cfg, key, 0, out, err));
        *found = 1;
    }
    return BR_OK;
}

br_status br_sw_rope(const br_hf_config *cfg, double def_theta, double def_fraction, double *theta, double *fraction,
                     br_error *err) {
    json_t *params = br_hf_get(cfg, "rope_parameters");
    if (!params) params = br_hf_get(cfg, "rope_scaling");
    if (params && !json_is_object(params))
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: rope_parameters must be an object", cfg->path);
    const char *type = NULL;
    json_t *t = params ? json_object_get(params, "rope_type") : NULL;
    if (!t && params) t = json_object_get(params, "type");
    if (t && json_is_string(t)) type = json_string_value(t);
    if (type && strcmp(type, "default") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: RoPE scaling '%s' is not supported (braid implements plain RoPE)",
                       cfg->path, type);
    int found = 0;
    *theta = def_theta;
    *fraction = def_fraction;
    BR_TRY(rope_number(cfg, params, "rope_theta", theta, &found, err));
    found = 0;
    BR_TRY(rope_number(cfg, params, "partial_rotary_factor", fraction, &found, err));
    if (!(*theta > 0) || !(*fraction > 0 && *fraction <= 1))
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: rope_theta %g / partial_rotary_factor %g out of range", cfg->path,
                       *theta, *fraction);
    return BR_OK;
}

static const char *tf(int b) { return b ? "true" : "false"; }

void br_sw_emit_mamba2(br_strbuf *sb, const char *name, const br_sw_mamba2 *m) {
    br_sw_nums ns = {0};
    br_strbuf_printf(sb,
                     "  %s: {type: mamba2, heads: %lld, head_dim: %lld, d_state: %lld, groups: %lld, d_conv: %lld, "
                     "conv_bias: %s, in_bias: %s, out_bias: %s, norm: %s, norm_before_gate: %s, norm_groups: %lld, "
                     "norm_eps: %s, dt_min: %s, dt_max: %s, chunk: %lld",
                     name, m->heads, m->head_dim, m->d_state, m->groups, m->d_conv, tf(m->conv_bias), tf(m->in_bias),
                     tf(m->out_bias), m->gated ? "gated" : "none", tf(m->norm_before_gate), m->groups,
                     br_sw_n(&ns, m->norm_eps), br_sw_n(&ns, m->dt_min), br_sw_n(&ns, m->dt_max), m->chunk);
    if (m->in_scale != 1.0) br_strbuf_printf(sb, ", in_scale: %s", br_sw_n(&ns, m->in_scale));
    if (m->out_scale != 1.0) br_strbuf_printf(sb, ", out_scale: %s", br_sw_n(&ns, m->out_scale));
    if (m->n_in_scales) {
        br_strbuf_printf(sb, ", in_scales: [");
        for (int i = 0; i < m->n_in_scales; i++) br_strbuf_printf(sb, "%s%s", i ? ", " : "", br_sw_n(&ns, m->in_scales[i]));
        br_strbuf_printf(sb, "]");
    }
    br_strbuf_printf(sb, "}\n");
}

br_status br_sw_read_mamba2(const br_hf_config *c, long long inner, double norm_eps, br_sw_mamba2 *m, br_error *err) {
    double lim[2];
    int proj_bias;
    memset(m, 0, sizeof *m);
    m->gated = 1;
    m->norm_eps = norm_eps;
    m->in_scale = m->out_scale = 1.0;
    BR_TRY(br_hf_int(c, "mamba_n_heads", 128, 1, 1 << 20, &m->heads, err));
    json_t *dh = br_hf_get(c, "mamba_d_head");
    if (dh && json_is_string(dh)) m->head_dim = inner / m->heads;
    else BR_TRY(br_hf_int(c, "mamba_d_head", inner / m->heads, 1, 1 << 16, &m->head_dim, err));
    BR_TRY(br_hf_int(c, "mamba_n_groups", 1, 1, 1 << 16, &m->groups, err));
    BR_TRY(br_hf_int(c, "mamba_d_state", 256, 1, 4096, &m->d_state, err));
    BR_TRY(br_hf_int(c, "mamba_d_conv", 4, 1, 16, &m->d_conv, err));
    BR_TRY(br_hf_int(c, "mamba_chunk_size", 256, 1, 1 << 20, &m->chunk, err));
    BR_TRY(br_hf_bool(c, "mamba_conv_bias", 1, &m->conv_bias, err));
    BR_TRY(br_hf_bool(c, "mamba_proj_bias", 0, &proj_bias, err));
    BR_TRY(br_sw_dt_limit(c, lim, err));
    m->in_bias = m->out_bias = proj_bias;
    m->dt_min = lim[0];
    m->dt_max = lim[1];
    if (m->heads * m->head_dim != inner)
        return BR_FAIL(err, BR_ERR_CHECKPOINT, "%s: mamba_n_heads * mamba_d_head (%lld) != the Mamba inner width (%lld)",
                       c->path, m->heads * m->head_dim, inner);
    return BR_OK;
}

void br_sw_emit_attention(br_strbuf *sb, const char *name, const br_sw_attention *a) {
    br_sw_nums ns = {0};
    br_strbuf_printf(sb, "  %s: {type: attention, %sheads: %lld, kv_heads: %lld, head_dim: %lld, rope: %s", name,
                     a->shared ? "shared: true, " : "", a->heads, a->kv_heads, a->head_dim, a->rope ? "neox" : "none");
    if (a->rope)
        br_strbuf_printf(sb, ", rope_theta: %s, rope_fraction: %s", br_sw_n(&ns, a->rope_theta),
                         br_sw_n(&ns, a->rope_fraction));
    if (a->scale != 0) br_strbuf_printf(sb, ", scale: %s", br_sw_n(&ns, a->scale));
    if (a->key_scale != 1.0) br_strbuf_printf(sb, ", key_scale: %s", br_sw_n(&ns, a->key_scale));
    if (a->in_scale != 1.0) br_strbuf_printf(sb, ", in_scale: %s", br_sw_n(&ns, a->in_scale));
    if (a->out_scale != 1.0) br_strbuf_printf(sb, ", out_scale: %s", br_sw_n(&ns, a->out_scale));
    if (a->bias) br_strbuf_printf(sb, ", qkv_bias: true, out_bias: true");
    br_strbuf_printf(sb, "}\n");
}

br_status br_sw_require_silu(const br_hf_config *cfg, const char *key, br_error *err) {
    const char *act = NULL;
    BR_TRY(br_sw_act(cfg, key, "silu", &act, err));
    if (strcmp(act, "silu") != 0)
        return BR_FAIL(err, BR_ERR_UNSUPPORTED, "%s: %s '%s' drives the Mamba convolution; braid implements SiLU there",
                       cfg->path, key, act);
    return BR_OK;
}
