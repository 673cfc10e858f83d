/*
 * model.h - a spec with its plan and filled weights, ready to run.
 *
 * Creation is two-phase so that checkpoint import can sit in the middle:
 * br_model_begin declares every tensor (unfilled); a loader fills them (or
 * br_weights_randomize does); br_model_finish binds blocks to their tensors.
 */
#ifndef BR_GRAPH_MODEL_H
#define BR_GRAPH_MODEL_H

#include "braid.h"
#include "graph/plan.h"

struct br_model {
    br_spec *spec; /* owned */
    br_plan plan;
};

/* Takes ownership of spec in every case (freed on failure). */
br_status br_model_begin(br_spec *spec, struct br_model **out, br_error *err);
br_status br_model_finish(struct br_model *m, br_error *err);

#endif /* BR_GRAPH_MODEL_H */
