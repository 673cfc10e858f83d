/*
 * costs.c - bytes and FLOPs of forward passes (costs.h gives the model).
 */
#include "graph/costs.h"

#include <math.h>
#include <string.h>

static double item_bytes(const br_param *p) { return (double)p->numel * (double)br_dtype_size(p->dtype); }

static br_block_costs block_costs(const br_block_inst *inst) {
    br_block_costs bc = {0};
    if (inst->type->costs) inst->type->costs(inst->cfg, &inst->dims, &bc);
    return bc;
}

void br_plan_costs_compute(const br_plan *plan, br_dtype kv_dtype, br_plan_costs *c) {
    memset(c, 0, sizeof *c);
    const struct br_spec *spec = plan->spec;
    double stored = (double)br_weights_bytes(&plan->weights);
    const br_param *embed = br_weights_find(&plan->weights, "embed.weight");
    if (embed && !spec->tie_embeddings) {
        stored -= item_bytes(embed);
        c->row_bytes = item_bytes(embed) / (double)spec->vocab_size;
    }
    /* one walk over the invocations: how often each instance runs, and the attention ones */
    int uses[plan->n_insts + 1];
    memset(uses, 0, sizeof uses);
    for (int u = 0; u < plan->n_units; u++)
        for (int b = 0; b < plan->units[u].def->n_blocks; b++) {
            const br_block_inst *inst = plan->units[u].blocks[b];
            const br_site *site = &plan->units[u].sites[b];
            uses[inst - plan->insts]++;
            if (site->kv_id >= 0 && c->n_attention < 64) {
                const br_state_need *n = &plan->kv_need[site->kv_id];
                c->attn_flops[c->n_attention] = block_costs(inst).flops_per_context;
                c->attn_window[c->n_attention] = n->kv_window;
                c->kv_bytes_per_token[c->n_attention] = (double)n->kv_elems_per_token * (double)br_dtype_size(kv_dtype);
                c->n_attention++;
            }
        }
    double active_params = 0;
    for (int i = 0; i < plan->n_insts; i++) {
        const br_block_inst *inst = &plan->insts[i];
        double bytes = 0;
        const size_t plen = strlen(plan->inst_prefix[i]);
        for (size_t k = 0; k < plan->weights.n; k++)
            if (!strncmp(plan->weights.items[k].name, plan->inst_prefix[i], plen)) bytes += item_bytes(&plan->weights.items[k]);
        const br_block_costs bc = block_costs(inst);
        const double total = (double)plan->inst_params[i];
        const double active = inst->type->active_params ? (double)inst->type->active_params(inst->cfg, &inst->dims,
                                                                                             plan->inst_params[i])
                                                        : total;
        if (bc.routed_share > 0 && bc.routed_share < 1 && total > 0) {
            /* the inactive parameters are the unused experts: experts = inactive / (1 - share) */
            const double expert_params = (total - active) / (1.0 - bc.routed_share), share_bytes = bytes / total;
            c->expert_bytes += uses[i] * expert_params * share_bytes;
            stored -= expert_params * share_bytes;
            c->routed_share = bc.routed_share;
        }
        stored += (uses[i] - 1) * bytes; /* a shared block is read at each invocation */
        active_params += uses[i] * active;
    }
    c->dense_bytes = stored;
    /* active matrix parameters per token: the blocks' active ones plus the logits head */
    c->matrix_flops = 2.0 * active_params;
    for (int s = 0; s < plan->n_state; s++)
        c->state_bytes += (double)(plan->state_need[s].conv_elems + plan->state_need[s].ssm_elems) * 4.0;
}

double br_costs_decode_bytes(const br_plan_costs *c, int batch, int64_t context) {
    double kv = 0;
    for (int k = 0; k < c->n_attention; k++) {
        const int64_t seen = c->attn_window[k] && c->attn_window[k] < context ? c->attn_window[k] : context;
        kv += c->kv_bytes_per_token[k] * (double)seen;
    }
    const double touched = c->routed_share > 0 ? 1.0 - pow(1.0 - c->routed_share, batch) : 0.0;
    return c->dense_bytes + c->expert_bytes * touched + batch * (c->row_bytes + 2.0 * c->state_bytes + kv);
}

double br_costs_prefill_flops(const br_plan_costs *c, int64_t length) {
    double attn = 0;
    for (int k = 0; k < c->n_attention; k++) {
        /* average keys a query of a causal prompt attends: (L + 1) / 2, or about the window once past it */
        const double L = (double)length, W = (double)c->attn_window[k];
        const double seen = W > 0 && W < L ? W - W * (W - 1) / (2.0 * L) : (L + 1) / 2.0;
        attn += c->attn_flops[k] * seen;
    }
    return c->matrix_flops + attn;
}
