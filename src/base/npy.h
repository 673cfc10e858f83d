/*
 * npy.h - float32 arrays to and from NumPy .npy files, for dumping
 * activations and comparing them with PyTorch / NumPy.
 *
 * Format (numpy.lib.format): "\x93NUMPY", major, minor, header length
 * (u16 LE for v1.0, u32 LE for v2.0/v3.0), then an ASCII (v3: UTF-8)
 * Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n' so that the data starts at a multiple
 * of 64 bytes, then the raw little-endian elements in C order.
 */
#ifndef BR_BASE_NPY_H
#define BR_BASE_NPY_H

#include <stdint.h>

#include "braid_status.h"

#define BR_NPY_MAX_DIMS 8

/* Writes data[numel] as a v1.0 '<f4' C-order array of shape[ndim]
 * (ndim 0..8; 0 is a scalar).  The bytes equal numpy.save's for the same
 * array (numpy >= 1.24 header layout, including its spare header space).
 * data may be NULL when numel is 0. */
br_status br_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape,
                           br_error *err);

/* Reads a '<f4' C-order .npy (v1.0, v2.0 or v3.0).  On success *data is a
 * fresh array of numel floats (at least one allocated byte even when numel
 * is 0) that the caller frees with free(); *ndim and shape[0..ndim) are set.
 * Other dtypes, Fortran order, more than 8 dims, a malformed header and a
 * data size that does not match the shape are errors naming the file. */
br_status br_npy_read_f32(const char *path, float **data, int *ndim, int64_t shape[BR_NPY_MAX_DIMS],
                          br_error *err);

#endif /* BR_BASE_NPY_H */
