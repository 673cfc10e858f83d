/*
 * spec_writer.h - small helpers the family mappings use to write YAML specs:
 * the model header, numbers that read back exactly, and a safe spec name.
 */
#ifndef BR_CHECKPOINT_SPEC_WRITER_H
#define BR_CHECKPOINT_SPEC_WRITER_H

#include "base/strbuf.h"
#include "checkpoint/hf_config.h"

typedef struct br_sw_model {
    long long d_model, vocab_size, context;
    int tie_embeddings;
    double norm_eps;
    double embedding_scale, logit_scale, residual_scale; /* 1.0 = omitted */
} br_sw_model;

/* "name: ..." (from _name_or_path or model_type) and the model: mapping. */
void br_sw_header(br_strbuf *sb, const br_hf_config *cfg, const br_sw_model *m);
/* A number as YAML that reads back to the same double (.inf, 1.0e-05). */
const char *br_sw_num(double v, char buf[40]);
/* Numbers formatted for one YAML statement: each br_sw_n call takes the
 * next of the caller's buffers (declare `br_sw_nums ns = {0};`). */
#define BR_SW_NUMS 24
typedef struct br_sw_nums {
    char buf[BR_SW_NUMS][40];
    int used;
} br_sw_nums;
const char *br_sw_n(br_sw_nums *ns, double v);

/* Reads the "activation" of a family and maps it to braid's name; fails
 * for activations braid does not implement. */
br_status br_sw_act(const br_hf_config *cfg, const char *key, const char *def, const char **out, br_error *err);

/* time_step_limit as [lo, hi] (default [0, inf]). */
br_status br_sw_dt_limit(const br_hf_config *cfg, double lim[2], br_error *err);

/* RoPE settings: theta from rope_parameters.rope_theta, else rope_theta,
 * else def_theta; the rotated fraction from partial_rotary_factor (in
 * rope_parameters or at the top level), else def_fraction.  Scaled RoPE
 * variants (rope_type other than "default") are refused. */
br_status br_sw_rope(const br_hf_config *cfg, double def_theta, double def_fraction, double *theta, double *fraction,
                     br_error *err);

/* A mamba2 block's settings, and the YAML line "  <name>: {type: mamba2, ...}". */
typedef struct br_sw_mamba2 {
    long long heads, head_dim, d_state, groups, d_conv, chunk;
    int conv_bias, in_bias, out_bias;
    int gated;              /* gated RMSNorm (else y * silu(z)) */
    int norm_before_gate;
    double norm_eps, dt_min, dt_max;
    double in_scale, out_scale; /* block multipliers (1: omitted) */
    int n_in_scales;
    double in_scales[5];
} br_sw_mamba2;
void br_sw_emit_mamba2(br_strbuf *sb, const char *name, const br_sw_mamba2 *m);

/* Reads the mamba_* keys that Bamba, Granite and Falcon-H1 share (their
 * defaults are the same): mamba_n_heads, mamba_d_head ("auto" or absent:
 * inner / heads), mamba_n_groups, mamba_d_state, mamba_d_conv,
 * mamba_chunk_size, mamba_conv_bias, mamba_proj_bias (both biases), and
 * time_step_limit; checks heads * head_dim == inner.  The gated norm is on,
 * grouped by n_groups (the original math), with eps norm_eps. */
br_status br_sw_read_mamba2(const br_hf_config *cfg, long long inner, double norm_eps, br_sw_mamba2 *m, br_error *err);

/* An attention block's settings and its YAML line. */
typedef struct br_sw_attention {
    long long heads, kv_heads, head_dim;
    int rope;                  /* rotate (neox style) */
    double rope_theta, rope_fraction;
    double scale;              /* 0: 1/sqrt(head_dim) */
    double key_scale, in_scale, out_scale; /* 1: omitted */
    int bias;                  /* q, k, v and o biases */
    int shared;
} br_sw_attention;
void br_sw_emit_attention(br_strbuf *sb, const char *name, const br_sw_attention *a);

/* Fails unless the family's conv activation is SiLU (the only one braid's Mamba conv implements). */
br_status br_sw_require_silu(const br_hf_config *cfg, const char *key, br_error *err);

#endif /* BR_CHECKPOINT_SPEC_WRITER_H */
