/*
 * backend.h - how layers call kernels.
 *
 * Each op family has one header in src/kernels/ declaring its argument
 * struct and the kernels br_cpu_<op> (src/kernels/cpu/<family>.c) and
 * br_cuda_<op> (src/kernels/cuda/<family>.cu), with one signature.  Layers
 * call BR_KERNEL(op, args...), which picks the backend the data live on.
 * The CPU backend is the reference every other backend is tested against.
 */
#ifndef BR_KERNELS_BACKEND_H
#define BR_KERNELS_BACKEND_H

#define BR_KERNEL(op, ...) br_cpu_##op(__VA_ARGS__)

#endif /* BR_KERNELS_BACKEND_H */
