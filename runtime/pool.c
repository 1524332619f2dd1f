/* pool.c: the runtime's one thread pool.
 *
 * nn_set_threads(n) keeps n - 1 worker threads. nn_parallel runs part 0 of
 * a job on the calling thread; parts 1 .. parts-1 go to whichever thread
 * claims them first, the workers (spinning, they usually win, so part i
 * tends to stay on one core and keep its data in that core's L2) or the
 * caller once its own part is done. The part count is the caller's, from
 * the shapes: a job may have more parts than the pool has threads, and
 * which thread runs a part never changes what the part computes. A part is claimed by a compare-and-swap
 * on one word holding the job's number, its part count and the next part,
 * so a worker that wakes late can never take a part of the wrong job; and
 * a worker the OS has descheduled (a busy machine) delays a job by at most
 * the part it already holds, not by every part it would have run.
 *
 * OpenBLAS is told to use one thread: kernels split their products
 * themselves and call it inside each part, so nothing ever runs more busy
 * threads than the pool has (OpenBLAS's own pool and ours spinning side by
 * side on two cores is what makes torch's default slower than its
 * single-thread setting).
 *
 * Jobs come every few microseconds in a training step, far faster than a
 * sleeping thread wakes (~50 us through a futex), so an idle worker first
 * spins on the job word, and only after SPIN_NS without a job sleeps on the
 * condition variable. Workers run in the floating-point environment of the
 * thread that last called nn_set_threads (fegetenv covers x86's
 * flush-to-zero bits): results must not depend on which thread ran a part.
 */
#include <cblas.h>
#include <fenv.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#include "clock.h"
#include "nnrt.h"

#define MAX_THREADS 256
#define MAX_PARTS 0xffff /* the job word's 16-bit part count */
#define SPIN_NS 2000000 /* 2 ms: longer than any serial stretch of a training step */

/* The job word: job number (32 bits) | part count (16) | next unclaimed part (16) */
#define WORD(job, parts, next) ((uint64_t)(job) << 32 | (uint64_t)(parts) << 16 | (uint64_t)(next))
#define JOB(w) ((uint32_t)((w) >> 32))
#define PARTS(w) ((int)((w) >> 16 & 0xffff))
#define NEXT(w) ((int)((w)&0xffff))

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Atomic uint64_t word; /* the current job and the claiming of its parts */
    atomic_int done;       /* parts of the current job finished */
    atomic_int sleepers;   /* workers blocked (or about to block) on wake */
    atomic_int quit;
    void (*fn)(void *ctx, int part, int parts); /* the current job, valid while it runs */
    void *ctx;
    fenv_t env;
    pthread_t tid[MAX_THREADS];
    int n; /* threads, the caller's included */
} Pool;

static Pool pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .n = 1,
};

/* Set while a thread runs a part: a kernel called from inside a part runs
 * serially on that thread instead of re-entering the pool. */
static _Thread_local int in_part;
/* The thread's index in the pool: 0 for the caller, i for worker i */
static _Thread_local int slot;

/* Claims and runs unclaimed parts of job `job` until none is left */
static void run_parts(uint32_t job) {
    uint64_t w = atomic_load(&pool.word);
    while (JOB(w) == job && NEXT(w) < PARTS(w)) {
        if (!atomic_compare_exchange_weak(&pool.word, &w, w + 1))
            continue; /* w now holds the current word: try again */
        /* The job cannot end before this part is done, so fn and ctx are its own */
        pool.fn(pool.ctx, NEXT(w), PARTS(w));
        atomic_fetch_add(&pool.done, 1);
        w = atomic_load(&pool.word);
    }
}

/* Waits until the job word shows a job other than `seen` (or the pool quits) */
static uint32_t wait_for_job(uint32_t seen) {
    uint32_t job;
    double start = 1e9 * nn_seconds();
    for (int i = 0;; i++) {
        job = JOB(atomic_load(&pool.word));
        if (job != seen || atomic_load(&pool.quit))
            return job;
        cpu_relax();
        if ((i & 255) == 255 && 1e9 * nn_seconds() - start > SPIN_NS)
            break;
    }
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.sleepers, 1);
    while ((job = JOB(atomic_load(&pool.word))) == seen && !atomic_load(&pool.quit))
        pthread_cond_wait(&pool.wake, &pool.lock);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.lock);
    return job;
}

typedef struct {
    uint32_t job; /* the job number when the pool started */
    int slot;
} WorkerStart;

static void *worker(void *arg) {
    const WorkerStart *start = arg;
    uint32_t seen = start->job;
    slot = start->slot;
    fesetenv(&pool.env);
    in_part = 1;
    for (;;) {
        seen = wait_for_job(seen);
        if (atomic_load(&pool.quit))
            return NULL;
        run_parts(seen);
    }
}

static void stop_workers(void) {
    pthread_mutex_lock(&pool.lock);
    atomic_store(&pool.quit, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 1; i < pool.n; i++)
        pthread_join(pool.tid[i], NULL);
    atomic_store(&pool.quit, 0);
    pool.n = 1;
}

/* OPENBLAS_NUM_THREADS if set (scripts that pin OpenBLAS mean the whole
 * program), else one thread per online core */
static int default_threads(void) {
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

void nn_set_threads(int n) {
    n = n < 1 ? default_threads() : n > MAX_THREADS ? MAX_THREADS : n;
    openblas_set_num_threads(1);
    stop_workers();
    fegetenv(&pool.env);
    /* Workers learn the current job number from their argument, not by
     * reading the word when they start: a job may be posted before then. */
    static WorkerStart start[MAX_THREADS];
    const uint32_t job = JOB(atomic_load(&pool.word));
    for (int i = 1; i < n; i++) {
        start[i] = (WorkerStart){job, i};
        if (pthread_create(&pool.tid[i], NULL, worker, &start[i]) != 0) {
            fprintf(stderr, "nnrt: warning: could only start %d threads\n", i);
            n = i;
            break;
        }
    }
    pool.n = n;
}

int nn_threads(void) {
    return pool.n;
}

int nn_thread_slot(void) {
    return slot;
}

void nn_parallel(void (*fn)(void *ctx, int part, int parts), void *ctx, int parts) {
    parts = parts < 1 ? 1 : parts > MAX_PARTS ? MAX_PARTS : parts;
    if (parts == 1 || pool.n == 1 || in_part) {
        for (int part = 0; part < parts; part++)
            fn(ctx, part, parts);
        return;
    }
    const uint32_t job = JOB(atomic_load(&pool.word)) + 1;
    pool.fn = fn;
    pool.ctx = ctx;
    atomic_store(&pool.done, 0);
    atomic_store(&pool.word, WORD(job, parts, 1)); /* publishes fn and ctx with it */
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    in_part = 1;
    fn(ctx, 0, parts);
    run_parts(job);
    in_part = 0;
    while (atomic_load(&pool.done) < parts - 1)
        cpu_relax();
}

int nn_parts(double flops) {
    double parts = flops / 262144.0;
    return parts < 1.0 ? 1 : parts > MAX_THREADS ? MAX_THREADS : (int)parts;
}

int nn_blocks(double flops, size_t units) {
    const int parts = nn_parts(flops);
    const size_t cap = units < NN_MAX_BLOCKS ? units : NN_MAX_BLOCKS;
    return (size_t)parts < cap ? parts : cap < 1 ? 1 : (int)cap;
}

void nn_part(size_t n, int part, int parts, size_t align, size_t *lo, size_t *hi) {
    size_t units = (n + align - 1) / align;
    size_t a = units * (size_t)part / (size_t)parts, b = units * (size_t)(part + 1) / (size_t)parts;
    *lo = a * align < n ? a * align : n;
    *hi = b * align < n ? b * align : n;
}
