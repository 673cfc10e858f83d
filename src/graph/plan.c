/*
 * plan.c - unrolling a spec into instances, sites and tensors.
 */
#include "graph/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* Random norms are not the identity, so tests see their weights and biases. */
static const br_init INIT_NORM_WEIGHT = {BR_INIT_NORMAL, 0.1f, 1.0f};
static const br_init INIT_NORM_OFFSET = {BR_INIT_NORMAL, 0.1f, 0.0f};
static const br_init INIT_NORM_BIAS = {BR_INIT_NORMAL, 0.05f, 0.0f};

static br_status declare_norm(br_weights *w, const char *prefix, const br_norm_def *n, int width, br_error *err) {
    if (n->kind == BR_NORM_NONE) return BR_OK;
    char name[192];
    snprintf(name, sizeof name, "%sweight", prefix);
    BR_TRY(br_weights_add(w, name, 1, (int64_t[]){width}, n->unit_offset ? INIT_NORM_OFFSET : INIT_NORM_WEIGHT, err));
    if (n->bias) {
        snprintf(name, sizeof name, "%sbias", prefix);
        BR_TRY(br_weights_add(w, name, 1, (int64_t[]){width}, INIT_NORM_BIAS, err));
    }
    return BR_OK;
}

/* A unit's pre-norm is its own ("layers.L.U.norm."), except that a unit of
 * one shared block shares the block's pre-norm too ("shared.B.pre_norm."),
 * as Zamba's shared transformer does. */
static void unit_norm_prefix(const br_spec *spec, const br_plan_unit *pu, char *buf, size_t cap) {
    const br_block_def *b = &spec->blocks[pu->def->blocks[0]];
    if (pu->def->n_blocks == 1 && b->shared) snprintf(buf, cap, "shared.%s.pre_norm.", b->name);
    else snprintf(buf, cap, "%snorm.", pu->prefix);
}

static br_status new_instance(br_plan *plan, const br_spec *spec, int bi, const char *prefix, br_block_inst **out,
                              br_error *err) {
    const br_block_def *def = &spec->blocks[bi];
    int k = plan->n_insts++;
    br_block_inst *inst = &plan->insts[k];
    inst->def = def;
    inst->type = def->type;
    inst->cfg = def->cfg;
    inst->dims = (br_block_dims){spec->d_model, def->in_dim};
    snprintf(plan->inst_prefix[k], sizeof plan->inst_prefix[k], "%s", prefix);
    size_t before = plan->weights.n;
    br_param_sink sink = {&plan->weights, ""};
    snprintf(sink.prefix, sizeof sink.prefix, "%s", prefix);
    BR_TRY(def->type->params(def->cfg, &inst->dims, &sink, err));
    int64_t total = 0;
    for (size_t i = before; i < plan->weights.n; i++)
        if (!plan->weights.items[i].derived) total += plan->weights.items[i].numel;
    plan->inst_params[k] = total;
    *out = inst;
    return BR_OK;
}

static br_status add_site_state(br_plan *plan, br_block_inst *inst, br_site *site, br_error *err) {
    br_state_need need = {0};
    if (inst->type->state) inst->type->state(inst->cfg, &inst->dims, &need);
    site->state_id = site->kv_id = -1;
    if (need.conv_elems || need.ssm_elems) {
        br_state_need *p = realloc(plan->state_need, (size_t)(plan->n_state + 1) * sizeof *p);
        if (!p) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory planning state");
        plan->state_need = p;
        p[plan->n_state] = need;
        site->state_id = plan->n_state++;
    }
    if (need.kv_elems_per_token) {
        br_state_need *p = realloc(plan->kv_need, (size_t)(plan->n_kv + 1) * sizeof *p);
        if (!p) return BR_FAIL(err, BR_ERR_NOMEM, "out of memory planning KV cache");
        plan->kv_need = p;
        p[plan->n_kv] = need;
        site->kv_id = plan->n_kv++;
    }
    return BR_OK;
}

static br_status declare_adapters(br_plan *plan, br_plan_unit *pu, br_error *err) {
    const br_adapter_def *ad = &pu->def->adapters;
    br_block_inst *inst = pu->blocks[0];
    for (int t = 0; t < ad->n_targets; t++) {
        int out, in;
        inst->type->linear_shape(inst->cfg, &inst->dims, ad->targets[t], &out, &in);
        br_param_sink sink = {&plan->weights, ""};
        snprintf(sink.prefix, sizeof sink.prefix, "%sadapters.%s.", pu->prefix, ad->targets[t]);
        char a_name[256];
        snprintf(a_name, sizeof a_name, "%sa", sink.prefix);
        if (br_weights_find(&plan->weights, a_name)) continue; /* a unit taken twice with `from:` */
        BR_TRY(br_param_matrix(&sink, "a", 2, (int64_t[]){ad->rank, in}, (br_init){BR_INIT_NORMAL, 0.02f, 0}, err));
        BR_TRY(br_param_matrix(&sink, "b", 2, (int64_t[]){out, ad->rank}, (br_init){BR_INIT_NORMAL, 0.02f, 0}, err));
    }
    return BR_OK;
}

/* The instance whose tensors are named `prefix`, or NULL: a unit an override took with `from:` runs the
 * instance of the unit it names (one set of tensors at two depths). */
static br_block_inst *find_instance(const br_plan *plan, const char *prefix) {
    for (int i = 0; i < plan->n_insts; i++)
        if (strcmp(plan->inst_prefix[i], prefix) == 0) return &plan->insts[i];
    return NULL;
}

static br_status build(const br_spec *spec, br_plan *plan, br_error *err) {
    const int D = spec->d_model, V = spec->vocab_size;
    int n_units = 0, max_insts = spec->n_blocks, borrows = 0;
    for (int l = 0; l < spec->n_layers; l++) {
        n_units += spec->layers[l].n_units;
        for (int u = 0; u < spec->layers[l].n_units; u++) {
            const br_unit_def *U = &spec->layers[l].units[u];
            max_insts += U->n_blocks;
            borrows |= U->origin != spec->layers[l].origin || U->origin_unit != u;
        }
    }
    plan->units = br_calloc((size_t)n_units, sizeof *plan->units, err);
    plan->insts = br_calloc((size_t)max_insts, sizeof *plan->insts, err);
    plan->inst_prefix = br_calloc((size_t)max_insts, sizeof *plan->inst_prefix, err);
    plan->inst_params = br_calloc((size_t)max_insts, sizeof *plan->inst_params, err);
    int *shared_inst = br_calloc((size_t)spec->n_blocks, sizeof *shared_inst, err);
    if (!plan->units || !plan->insts || !plan->inst_prefix || !plan->inst_params || !shared_inst) {
        free(shared_inst);
        return BR_ERR_NOMEM;
    }
    br_param_sink root = {&plan->weights, ""};
    br_status st = br_param_matrix(&root, "embed.weight", 2, (int64_t[]){V, D}, (br_init){BR_INIT_NORMAL, 0.02f, 0}, err);
    for (int l = 0; l < spec->n_layers && st == BR_OK; l++) {
        const br_layer_def *L = &spec->layers[l];
        for (int u = 0; u < L->n_units && st == BR_OK; u++) {
            br_plan_unit *pu = &plan->units[plan->n_units++];
            pu->layer = l;
            pu->index = u;
            pu->def = &L->units[u];
            pu->width = pu->def->input == BR_INPUT_CONCAT_EMBEDDING ? 2 * D : D;
            plan->uses_embedding |= pu->def->input == BR_INPUT_CONCAT_EMBEDDING;
            snprintf(pu->prefix, sizeof pu->prefix, "layers.%d.%d.", pu->def->origin, pu->def->origin_unit);
            char norm_prefix[128], norm_weight[160];
            unit_norm_prefix(spec, pu, norm_prefix, sizeof norm_prefix);
            snprintf(norm_weight, sizeof norm_weight, "%sweight", norm_prefix);
            if (!br_weights_find(&plan->weights, norm_weight)) /* a shared pre-norm is declared once */
                st = declare_norm(&plan->weights, norm_prefix, &pu->def->norm, pu->width, err);
            for (int b = 0; b < pu->def->n_blocks && st == BR_OK; b++) {
                int bi = pu->def->blocks[b];
                const br_block_def *def = &spec->blocks[bi];
                char prefix[160];
                if (def->shared && shared_inst[bi]) {
                    pu->blocks[b] = &plan->insts[shared_inst[bi] - 1];
                } else {
                    if (def->shared) snprintf(prefix, sizeof prefix, "shared.%s.", def->name);
                    else snprintf(prefix, sizeof prefix, "%s%s.", pu->prefix, def->name);
                    pu->blocks[b] = borrows && !def->shared ? find_instance(plan, prefix) : NULL;
                    if (!pu->blocks[b]) st = new_instance(plan, spec, bi, prefix, &pu->blocks[b], err);
                    if (st == BR_OK && def->shared) shared_inst[bi] = plan->n_insts;
                }
                if (st == BR_OK) {
                    pu->sites[b].layer = l;
                    pu->sites[b].unit = u;
                    st = add_site_state(plan, pu->blocks[b], &pu->sites[b], err);
                }
            }
            if (st == BR_OK && pu->def->adapters.rank) st = declare_adapters(plan, pu, err);
        }
    }
    free(shared_inst);
    if (st == BR_OK) st = declare_norm(&plan->weights, "final_norm.", &spec->final_norm, D, err);
    if (st == BR_OK && !spec->tie_embeddings)
        st = br_param_matrix(&root, "lm_head.weight", 2, (int64_t[]){V, D}, (br_init){BR_INIT_NORMAL, 0.02f, 0}, err);
    return st;
}

br_status br_plan_build(const br_spec *spec, br_plan *plan, br_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->spec = spec;
    br_status st = build(spec, plan, err);
    if (st != BR_OK) br_plan_free(plan);
    return st;
}

static br_status bind_norm(const br_plan *plan, const char *prefix, const br_norm_def *n, int width,
                           const float **w, const float **b, br_error *err) {
    *w = *b = NULL;
    if (n->kind == BR_NORM_NONE) return BR_OK;
    br_wscope scope = {&plan->weights, ""};
    snprintf(scope.prefix, sizeof scope.prefix, "%s", prefix);
    BR_TRY(br_wscope_get(&scope, "weight", 1, (int64_t[]){width}, w, err));
    if (n->bias) BR_TRY(br_wscope_get(&scope, "bias", 1, (int64_t[]){width}, b, err));
    return BR_OK;
}

br_status br_plan_bind(br_plan *plan, br_error *err) {
    const br_spec *spec = plan->spec;
    const int D = spec->d_model, V = spec->vocab_size;
    br_wscope root = {&plan->weights, ""};
    BR_TRY(br_wscope_get_mat(&root, "embed.weight", 2, (int64_t[]){V, D}, &plan->embed, err));
    plan->lm_head = plan->embed;
    if (!spec->tie_embeddings) BR_TRY(br_wscope_get_mat(&root, "lm_head.weight", 2, (int64_t[]){V, D}, &plan->lm_head, err));
    BR_TRY(bind_norm(plan, "final_norm.", &spec->final_norm, D, &plan->final_w, &plan->final_b, err));
    for (int i = 0; i < plan->n_insts; i++) {
        br_block_inst *inst = &plan->insts[i];
        if (inst->bound) continue;
        br_wscope scope = {&plan->weights, ""};
        snprintf(scope.prefix, sizeof scope.prefix, "%s", plan->inst_prefix[i]);
        BR_TRY(inst->type->bind(inst->cfg, &inst->dims, &scope, &inst->bound, err));
    }
    for (int k = 0; k < plan->n_units; k++) {
        br_plan_unit *pu = &plan->units[k];
        char norm_prefix[128];
        unit_norm_prefix(spec, pu, norm_prefix, sizeof norm_prefix);
        BR_TRY(bind_norm(plan, norm_prefix, &pu->def->norm, pu->width, &pu->norm_w, &pu->norm_b, err));
        const br_adapter_def *ad = &pu->def->adapters;
        br_site *site = &pu->sites[0];
        site->n_adapters = ad->n_targets;
        for (int t = 0; t < ad->n_targets; t++) {
            int out, in;
            pu->blocks[0]->type->linear_shape(pu->blocks[0]->cfg, &pu->blocks[0]->dims, ad->targets[t], &out, &in);
            br_adapter *a = &site->adapters[t];
            a->target = ad->targets[t];
            a->rank = ad->rank;
            br_wscope scope = {&plan->weights, ""};
            snprintf(scope.prefix, sizeof scope.prefix, "%sadapters.%s.", pu->prefix, ad->targets[t]);
            BR_TRY(br_wscope_get_mat(&scope, "a", 2, (int64_t[]){ad->rank, in}, &a->a, err));
            BR_TRY(br_wscope_get_mat(&scope, "b", 2, (int64_t[]){out, ad->rank}, &a->b, err));
        }
    }
    return BR_OK;
}

br_status br_plan_derive(br_plan *plan, br_error *err) {
    for (int i = 0; i < plan->n_insts; i++) {
        const br_block_inst *inst = &plan->insts[i];
        if (!inst->type->derive) continue;
        br_wscope scope = {&plan->weights, ""};
        snprintf(scope.prefix, sizeof scope.prefix, "%s", plan->inst_prefix[i]);
        BR_TRY(inst->type->derive(inst->cfg, &inst->dims, &scope, err));
    }
    return BR_OK;
}

void br_plan_unbind(br_plan *plan) {
    for (int i = 0; i < plan->n_insts; i++) {
        if (plan->insts[i].bound && plan->insts[i].type->unbind) plan->insts[i].type->unbind(plan->insts[i].bound);
        plan->insts[i].bound = NULL;
    }
}

void br_plan_free(br_plan *plan) {
    if (!plan) return;
    br_plan_unbind(plan);
    free(plan->units);
    free(plan->insts);
    free(plan->inst_prefix);
    free(plan->inst_params);
    free(plan->state_need);
    free(plan->kv_need);
    br_weights_clear(&plan->weights);
    memset(plan, 0, sizeof *plan);
}

const br_adapter *br_site_adapter(const br_site *site, const char *target) {
    for (int i = 0; site && i < site->n_adapters; i++)
        if (strcmp(site->adapters[i].target, target) == 0) return &site->adapters[i];
    return NULL;
}

void br_plan_figures_compute(const br_plan *plan, br_dtype dtype, br_plan_figures *f) {
    memset(f, 0, sizeof *f);
    const int64_t esz = (int64_t)br_dtype_size(dtype);
    int64_t in_insts = 0, active_insts = 0;
    for (int i = 0; i < plan->n_insts; i++) {
        const br_block_inst *inst = &plan->insts[i];
        in_insts += plan->inst_params[i];
        active_insts += inst->type->active_params ? inst->type->active_params(inst->cfg, &inst->dims, plan->inst_params[i])
                                                  : plan->inst_params[i];
    }
    for (size_t i = 0; i < plan->weights.n; i++)
        if (!plan->weights.items[i].derived) f->params_total += plan->weights.items[i].numel;
    f->params_active = f->params_total - in_insts + active_insts;
    f->params_embedding = (int64_t)plan->spec->vocab_size * plan->spec->d_model * (plan->spec->tie_embeddings ? 1 : 2);
    for (int s = 0; s < plan->n_state; s++) {
        f->conv_state_bytes += plan->state_need[s].conv_elems * esz;
        f->ssm_state_bytes += plan->state_need[s].ssm_elems * esz;
    }
    for (int k = 0; k < plan->n_kv; k++) {
        f->kv_bytes_per_token += plan->kv_need[k].kv_elems_per_token * esz;
        if (plan->kv_need[k].kv_window > f->max_kv_window) f->max_kv_window = plan->kv_need[k].kv_window;
    }
    f->n_attention = plan->n_kv;
    f->n_recurrent = plan->n_state;
}

int64_t br_plan_kv_bytes(const br_plan *plan, br_dtype dtype, int64_t context) {
    int64_t total = 0, bytes;
    for (int k = 0; k < plan->n_kv; k++) {
        int64_t tokens = plan->kv_need[k].kv_window && plan->kv_need[k].kv_window < context ? plan->kv_need[k].kv_window
                                                                                            : context;
        if (__builtin_mul_overflow(tokens, plan->kv_need[k].kv_elems_per_token * (int64_t)br_dtype_size(dtype), &bytes) ||
            __builtin_add_overflow(total, bytes, &total))
            return -1;
    }
    return total;
}
