/*
 * pool.h - the CPU backend's threads: one process-wide pool that splits a
 * kernel's work into tasks.
 *
 *   br_pool_run(n, fn, arg): fn(arg, i, thread) for every i in [0, n),
 *   spread over the pool's threads (the caller is one of them, thread 0;
 *   thread < br_pool_threads(), one task at a time per thread, so per-thread
 *   scratch can be indexed by it); returns when all ran.
 *
 * The pool has one thread per online CPU (the caller included) and starts on
 * first use.  Between jobs its workers spin briefly (kernels of a forward
 * pass follow each other within microseconds), then sleep on a condition
 * variable, so an idle pool costs nothing and never spins against the BLAS's
 * own threads for long.  One job runs at a time: a job asked for while
 * another runs (a second caller thread, or fn itself calling br_pool_run)
 * runs on the caller's thread alone.  Tasks take i in increasing order from
 * a shared counter, so a thread slowed by the machine takes fewer.
 * If threads cannot be started the pool runs everything on the caller.
 */
#ifndef BR_KERNELS_CPU_POOL_H
#define BR_KERNELS_CPU_POOL_H

typedef void (*br_pool_task)(void *arg, int i, int thread);

void br_pool_run(int n, br_pool_task fn, void *arg);
/* Threads a job is spread over (the caller included); starts the pool. */
int br_pool_threads(void);

#endif /* BR_KERNELS_CPU_POOL_H */
