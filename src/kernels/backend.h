/*
 * backend.h - how layers call kernels.
 *
 * Each op family has one header in src/kernels/ declaring its argument
 * struct and the kernels br_cpu_<op> (src/kernels/cpu/<family>.c) and
 * br_cuda_<op> (src/kernels/cuda/<family>.cu), with one signature whose
 * first argument is the device.  Layers call BR_K(dev, op, args...), which
 * runs the kernel of the backend the device belongs to.  The CPU backend is
 * the reference every other backend is tested against.
 */
#ifndef BR_KERNELS_BACKEND_H
#define BR_KERNELS_BACKEND_H

#include "kernels/device.h"

#ifdef BRAID_HAVE_CUDA
#define BR_K(dev, op, ...) \
    ((dev)->backend == BR_BACKEND_CUDA ? br_cuda_##op((dev), __VA_ARGS__) : br_cpu_##op((dev), __VA_ARGS__))
#else
#define BR_K(dev, op, ...) br_cpu_##op((dev), __VA_ARGS__)
#endif

#endif /* BR_KERNELS_BACKEND_H */
