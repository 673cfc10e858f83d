/*
 * model.h - a spec with its plan and filled weights, ready to run.
 *
 * Creation is two-phase so that checkpoint import can sit in the middle:
 * br_model_begin declares every tensor (unfilled); a loader fills them (or
 * br_weights_randomize does); br_model_finish computes derived tensors and
 * binds blocks to their tensors.  br_model_use_gpu later moves the weights
 * to a GPU and binds again; br_model_convert_weights changes their type on
 * the CPU and binds again.
 */
#ifndef BR_GRAPH_MODEL_H
#define BR_GRAPH_MODEL_H

#include "braid.h"
#include "graph/plan.h"
#include "kernels/device.h"

struct br_model {
    br_spec *spec;             /* owned */
    br_plan plan;
    const br_device *dev;      /* where weights live and forward passes run */
    br_device *owned_dev;      /* a GPU device opened for this model, or NULL */
    br_dtype weights_dtype;    /* element type of its matrix weights (br_param.matmul) */
    br_dtype kv_dtype;         /* element type of the KV caches of states made for it */
    char device_info[256];     /* where it runs, for people (br_model_device_info) */
};

/* Takes ownership of spec in every case (freed on failure). */
br_status br_model_begin(br_spec *spec, struct br_model **out, br_error *err);
br_status br_model_finish(struct br_model *m, br_error *err);

#endif /* BR_GRAPH_MODEL_H */
