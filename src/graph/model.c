/*
 * model.c - model lifetime: declare, fill (random or loaded), bind, free.
 */
#include "graph/model.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "graph/state.h"
#include "kernels/cpu/linear16.h"
#include "kernels/cpu/pool.h"

br_status br_model_begin(br_spec *spec, struct br_model **out, br_error *err) {
    struct br_model *m = br_calloc(1, sizeof *m, err);
    if (!m) {
        br_spec_free(spec);
        return BR_ERR_NOMEM;
    }
    m->spec = spec;
    m->dev = &br_cpu_device;
    m->weights_dtype = m->kv_dtype = BR_F32;
    br_status st = br_plan_build(spec, &m->plan, err);
    if (st != BR_OK) {
        br_model_free(m);
        return st;
    }
    *out = m;
    return BR_OK;
}

/* "CPU, bf16 matrix weights (avx512 kernel, 2 threads), f32 KV cache" */
static void describe_cpu(struct br_model *m) {
    if (m->weights_dtype == BR_F32)
        snprintf(m->device_info, sizeof m->device_info, "CPU, f32 weights (BLAS), f32 KV cache");
    else
        snprintf(m->device_info, sizeof m->device_info, "CPU, %s matrix weights (%s kernel, %d threads), f32 KV cache",
                 br_dtype_name(m->weights_dtype), br_linear16_best()->name, br_pool_threads());
}

br_status br_model_finish(struct br_model *m, br_error *err) {
    describe_cpu(m);
    BR_TRY(br_plan_derive(&m->plan, err));
    return br_plan_bind(&m->plan, err);
}

br_status br_model_convert_weights(br_model *m, br_dtype weights, br_error *err) {
    if (!m) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_model_convert_weights: NULL model");
    if (m->dev->backend != BR_BACKEND_CPU)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "the model is on a GPU; its weights' type was chosen by br_model_use_gpu");
    if (weights != BR_F32 && weights != BR_BF16 && weights != BR_F16)
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_model_convert_weights: %d is not a br_dtype", (int)weights);
    if (weights == m->weights_dtype) return BR_OK;
    BR_TRY(br_weights_check_fits(&m->plan.weights, m->dev, weights, m->spec->name, err));
    br_plan_unbind(&m->plan);
    br_status st = br_weights_place(&m->plan.weights, m->dev, weights, err);
    if (st == BR_OK) {
        m->weights_dtype = weights;
        describe_cpu(m);
    }
    br_status bound = br_plan_bind(&m->plan, st == BR_OK ? err : NULL); /* as it was, after a failure */
    return st == BR_OK ? bound : st;
}

#ifdef BRAID_HAVE_CUDA
/* Every block within what the CUDA kernels handle, or a message naming the first that is not. */
static br_status check_gpu_kernels(const br_plan *plan, br_error *err) {
    for (int u = 0; u < plan->n_units; u++)
        for (int b = 0; b < plan->units[u].def->n_blocks; b++) {
            const br_block_inst *blk = plan->units[u].blocks[b];
            if (blk->type->gpu_check && blk->type->gpu_check(blk->cfg, &blk->dims, err) != BR_OK) {
                br_error_prefix(err, "block '%s' (layer %d) cannot run on the GPU", blk->def->name, plan->units[u].layer);
                return BR_ERR_UNSUPPORTED;
            }
        }
    return BR_OK;
}
#endif

br_status br_model_use_gpu(br_model *m, int ordinal, br_dtype weights, br_error *err) {
    if (!m) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_model_use_gpu: NULL model");
#ifdef BRAID_HAVE_CUDA
    if (m->owned_dev) return BR_FAIL(err, BR_ERR_INVALID_ARG, "the model is already on a GPU");
    BR_TRY(check_gpu_kernels(&m->plan, err));
    br_device *dev = NULL;
    BR_TRY(br_cuda_device_open(ordinal, &dev, err));
    if (weights != BR_F32 && weights != BR_BF16) {
        br_cuda_device_close(dev);
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "GPU matrix weights are f32 or bf16, not %s", br_dtype_name(weights));
    }
    br_status st = br_weights_check_fits(&m->plan.weights, dev, weights, m->spec->name, err);
    if (st != BR_OK) {
        br_cuda_device_close(dev);
        return st;
    }
    br_plan_unbind(&m->plan);
    st = br_weights_place(&m->plan.weights, dev, weights, err);
    if (st == BR_OK) {
        m->dev = m->owned_dev = dev;
        m->weights_dtype = m->kv_dtype = weights;
        char where[200];
        br_cuda_device_describe(dev, where, sizeof where);
        snprintf(m->device_info, sizeof m->device_info, "%s, %s weights, %s KV cache", where, br_dtype_name(weights),
                 br_dtype_name(weights));
        st = br_plan_bind(&m->plan, err);
    } else {
        br_cuda_device_close(dev);
        br_status again = br_plan_bind(&m->plan, NULL); /* back on the host, as before */
        (void)again;
    }
    return st;
#else
    (void)ordinal;
    (void)weights;
    return BR_FAIL(err, BR_ERR_UNSUPPORTED, "this braid was built without CUDA (no CUDA toolkit found by CMake)");
#endif
}

int br_gpu_count(void) {
#ifdef BRAID_HAVE_CUDA
    return br_cuda_device_count();
#else
    return 0;
#endif
}

br_status br_model_create_random(br_spec *spec, uint64_t seed, br_model **out, br_error *err) {
    if (!spec || !out) {
        br_spec_free(spec);
        return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_model_create_random: NULL argument");
    }
    struct br_model *m = NULL;
    BR_TRY(br_model_begin(spec, &m, err));
    br_status st = br_weights_check_fits(&m->plan.weights, &br_cpu_device, BR_F32, m->spec->name, err);
    if (st == BR_OK) st = br_weights_randomize(&m->plan.weights, seed, err);
    if (st == BR_OK) st = br_model_finish(m, err);
    if (st != BR_OK) {
        br_model_free(m);
        return st;
    }
    *out = m;
    return BR_OK;
}

void br_model_free(br_model *m) {
    if (!m) return;
    br_plan_free(&m->plan);
    br_spec_free(m->spec);
#ifdef BRAID_HAVE_CUDA
    br_cuda_device_close(m->owned_dev);
#endif
    free(m);
}

const br_spec *br_model_spec(const br_model *m) { return m ? m->spec : NULL; }

const char *br_model_device_info(const br_model *m) { return m ? m->device_info : ""; }

br_dtype br_model_kv_dtype(const br_model *m) { return m ? m->kv_dtype : BR_F32; }

int br_model_vocab_size(const br_model *m) { return m ? m->spec->vocab_size : 0; }

int br_model_n_layers(const br_model *m) { return m ? m->spec->n_layers : 0; }

br_status br_state_create(const br_model *m, int n_slots, int64_t max_context, br_state **out, br_error *err) {
    if (!m || !out) return BR_FAIL(err, BR_ERR_INVALID_ARG, "br_state_create: NULL argument");
    return br_state_create_for(&m->plan, m->dev, m->kv_dtype, n_slots, max_context, out, err);
}
