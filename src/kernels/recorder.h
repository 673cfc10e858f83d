/*
 * recorder.h - decode steps recorded once and replayed (CUDA graphs), for
 * any executor and any layer type.
 *
 * A step is a body of kernel launches whose arguments depend only on a key
 * (the batch size and the scratch layout), since slots and positions are
 * read from device memory.  The first time a key is seen the body runs
 * plainly (it may grow workspaces and scratch); the second time it is
 * recorded, and later it is replayed in one launch.  A recording the device
 * refuses (a body that waits for the host, say) turns recording off for
 * this recorder: the body runs plainly from then on.  The CPU records
 * nothing; BRAID_STEP_GRAPHS=0 turns recording off.
 */
#ifndef BR_KERNELS_RECORDER_H
#define BR_KERNELS_RECORDER_H

#include <stdint.h>

#include "kernels/device.h"

typedef struct br_rec_key {
    int64_t v[4];
} br_rec_key;

/* Runs the step; *result is what it hands back (e.g. the device logits), the
 * same on every replay.  It must start from the same scratch state every time. */
typedef br_status (*br_rec_body)(void *ctx, void **result, br_error *err);

typedef struct br_recorder {
    int off;            /* recording refused or turned off */
    int warm;           /* the key below was run plainly once */
    br_rec_key warm_key;
    void *graph;        /* the recording, for graph_key */
    br_rec_key graph_key;
    void *graph_result;
} br_recorder;

br_status br_recorder_run(br_recorder *r, const br_device *dev, const br_rec_key *key, br_rec_body body, void *ctx,
                          void **result, br_error *err);
/* Frees the recording (the recorder may be reused). */
void br_recorder_clear(br_recorder *r, const br_device *dev);
/* Forgets everything: what it recorded and what it saw run (the buffers a
 * recording names have moved, e.g. a KV cache that grew). */
void br_recorder_reset(br_recorder *r, const br_device *dev);

#endif /* BR_KERNELS_RECORDER_H */
