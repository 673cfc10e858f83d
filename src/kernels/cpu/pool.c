/*
 * pool.c - the process-wide CPU thread pool (pool.h).
 *
 * A job is (fn, arg, n) and a generation number.  One 64-bit word holds
 * the running job's generation (high half) and its next task index (low
 * half), so a task is claimed by a compare-and-swap that also proves the job
 * is still the one the thread joined: a worker that wakes late cannot take
 * a task of the next job by mistake.  The caller posts a job by writing
 * (fn, arg, n), then the word; it runs tasks itself and returns once `done`
 * counts all n.  Workers spin on the word for SPIN_NS, then sleep; a post
 * wakes sleepers only when there are some (Dekker style: both sides use
 * sequentially consistent atomics on `word` and `sleepers`).
 */
#include "kernels/cpu/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256
#define SPIN_NS 200000 /* how long an idle worker waits for the next job before sleeping */

typedef struct pool {
    int threads;                     /* workers + the caller */
    pthread_mutex_t job;             /* held while a job runs */
    pthread_mutex_t lock;            /* with `wake`: sleeping workers */
    pthread_cond_t wake;
    atomic_uint_fast64_t word;       /* generation << 32 | next task */
    atomic_int done;                 /* tasks of the current job finished */
    atomic_int sleepers;
    atomic_int n;                    /* the current job's tasks, and what runs them: */
    br_pool_task fn;                 /* written before `word`, read after a task is claimed */
    void *arg;
} pool;

static pool P = {.job = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};
static pthread_once_t started = PTHREAD_ONCE_INIT;

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs tasks of generation `gen` on `thread` until none is left or another job runs. */
static void drain(uint32_t gen, int thread) {
    uint64_t w = atomic_load(&P.word);
    while ((uint32_t)(w >> 32) == gen && (int)(uint32_t)w < atomic_load_explicit(&P.n, memory_order_relaxed)) {
        if (!atomic_compare_exchange_weak(&P.word, &w, w + 1)) continue;
        P.fn(P.arg, (int)(uint32_t)w, thread);
        atomic_fetch_add_explicit(&P.done, 1, memory_order_release);
        w = atomic_load(&P.word);
    }
}

/* The generation of the next job after `seen`: spins, then sleeps. */
static uint32_t next_job(uint32_t seen) {
    const uint64_t until = now_ns() + SPIN_NS;
    for (int k = 0;; k++) {
        uint32_t g = (uint32_t)(atomic_load_explicit(&P.word, memory_order_acquire) >> 32);
        if (g != seen) return g;
        relax();
        if ((k & 255) == 255 && now_ns() > until) break;
    }
    pthread_mutex_lock(&P.lock);
    atomic_fetch_add(&P.sleepers, 1);
    uint32_t g;
    while ((g = (uint32_t)(atomic_load(&P.word) >> 32)) == seen) pthread_cond_wait(&P.wake, &P.lock);
    atomic_fetch_sub(&P.sleepers, 1);
    pthread_mutex_unlock(&P.lock);
    return g;
}

static void *worker(void *index) {
    const int thread = (int)(intptr_t)index;
    uint32_t seen = 0;
    for (;;) drain(seen = next_job(seen), thread);
    return NULL;
}

static void start(void) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    P.threads = 1;
    for (long t = 1; t < (cpus < MAX_THREADS ? cpus : MAX_THREADS); t++) {
        pthread_t th;
        if (pthread_create(&th, NULL, worker, (void *)(intptr_t)P.threads) != 0) break;
        pthread_detach(th);
        P.threads++;
    }
}

int br_pool_threads(void) {
    pthread_once(&started, start);
    return P.threads;
}

void br_pool_run(int n, br_pool_task fn, void *arg) {
    if (n <= 0) return;
    if (n == 1 || br_pool_threads() == 1 || pthread_mutex_trylock(&P.job) != 0) {
        for (int i = 0; i < n; i++) fn(arg, i, 0);
        return;
    }
    P.fn = fn, P.arg = arg;
    atomic_store_explicit(&P.n, n, memory_order_relaxed);
    atomic_store(&P.done, 0);
    const uint32_t gen = (uint32_t)(atomic_load(&P.word) >> 32) + 1;
    atomic_store(&P.word, (uint64_t)gen << 32);
    if (atomic_load(&P.sleepers) > 0) {
        pthread_mutex_lock(&P.lock);
        pthread_cond_broadcast(&P.wake);
        pthread_mutex_unlock(&P.lock);
    }
    drain(gen, 0);
    for (int k = 0; atomic_load_explicit(&P.done, memory_order_acquire) < n; k++) {
        relax();
        if ((k & 1023) == 1023) sched_yield(); /* a worker holding a task may need this core */
    }
    pthread_mutex_unlock(&P.job);
}
