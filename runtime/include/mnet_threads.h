/* mnet_threads.h - the trainer's worker threads (threads.c): a small pool
 * of POSIX threads created once per trainer, which runs a phase of
 * independent tasks (the batch's slices, or pieces of a reduction) and
 * returns when every task is done - one barrier per phase.
 *
 * Which thread runs which task is not fixed (a free thread takes the next
 * task), so a task must write only what is its own: the trainer's tasks are
 * fixed slices of the batch, each with its own columns and its own gradient
 * buffer, summed afterwards in slice order.  That is why the result does
 * not depend on the thread count (mnet_train.h).
 *
 * The workers block every signal: Ctrl-C reaches the thread that created
 * the pool, whose handler sets the stop flag the training loop reads
 * between batches. */
#ifndef MNET_THREADS_H
#define MNET_THREADS_H

#include <stddef.h>

typedef struct mnet_pool mnet_pool;

/* fn(ctx, task, thread): task 0 .. n_tasks-1, thread 0 .. threads-1 (0 is
 * the caller of mnet_pool_run). */
typedef void (*mnet_pool_fn)(void *ctx, int task, int thread);

/* A pool of n_threads threads in all: the caller and n_threads - 1
 * workers (n_threads <= 1: none, every phase runs in the caller).  NULL
 * with a message in err when a thread could not be created. */
mnet_pool *mnet_pool_new(int n_threads, char *err, size_t err_size);

/* Stops and joins the workers, frees the pool (NULL: nothing). */
void mnet_pool_free(mnet_pool *p);

/* Threads of the pool, the caller included (NULL: 1). */
int mnet_pool_threads(const mnet_pool *p);

/* From the next phase on, use only threads 0 .. k-1 (the caller and k - 1
 * workers; k clamped to 1 .. mnet_pool_threads): the others sleep through
 * the phases.  Cheap: what mnet_thread_tuner switches between.  Not during
 * a phase. */
void mnet_pool_set_active(mnet_pool *p, int k);
int mnet_pool_active(const mnet_pool *p);

/* ---- the automatic thread count (thread_tune.c) ----
 *
 * With the thread count left to mnet (train.threads 0), a pool of all the
 * cores is not always faster than one thread: on a machine whose other
 * cores are busy, a slice whose worker is descheduled keeps the whole
 * batch waiting (docs/bench.md measured 0.7x on a loaded 2-core machine).
 * The tuner measures instead of guessing.  Every batch asks it how many
 * threads to use and tells it how long the batch took (wall clock):
 *   - the first WARMUP batches, and at least 0.25 s of batches, use all
 *     threads, unmeasured;
 *   - a probe runs 2 PROBE slots, all threads and one thread in the
 *     order A B B A A B B A (a drift of the load hits both alike), and
 *     keeps one thread when its median slot is faster than 0.95 times
 *     the median of all threads, else all threads.  A slot is one batch,
 *     or as many as last about 25 ms when batches are shorter (pm's 2 ms
 *     batches: groups of 15), so that one hiccup does not decide;
 *   - probes repeat while the run lasts, every max(16 batches, 20 s of
 *     batches at the last probe's pace), so a change of the load is
 *     followed within about 20 s.
 * The numbers do not depend on it: every thread count gives the same
 * result bit for bit (mnet_train.h).  It only chooses between one thread
 * and all of them. */
enum { MNET_TUNE_WARMUP = 2, MNET_TUNE_PROBE = 4 };

typedef struct mnet_thread_tuner {
    int n_max;                  /* the pool's threads; <= 1: nothing to tune */
    int choice;                 /* what the last probe kept (n_max or 1)   */
    long seen;                  /* batches asked for                        */
    long next_probe;            /* the batch where the next probe starts    */
    int in_probe;               /* batches of the current probe done        */
    double t_max[MNET_TUNE_PROBE], t_one[MNET_TUNE_PROBE]; /* its slots' mean
                                   batch times (s)                          */
    int group, in_group;        /* batches per slot, done in this slot      */
    double slot_sum, last;      /* this slot's seconds; the last batch's    */
    double elapsed;             /* seconds of all batches so far            */
    int asked;                  /* the count the last mnet_tune_pick gave    */
    long n_probes, batches_one; /* probes run; batches run on one thread    */
} mnet_thread_tuner;

/* Starts a tuner over n_max threads (<= 1: always 1). */
void mnet_tune_init(mnet_thread_tuner *t, int n_max);

/* The threads the next batch should use. */
int mnet_tune_pick(mnet_thread_tuner *t);

/* That batch took `seconds` (wall clock). */
void mnet_tune_record(mnet_thread_tuner *t, double seconds);

/* Runs fn on tasks 0 .. n_tasks-1 and returns when all are done.  Not
 * reentrant: one phase at a time, from the thread that made the pool. */
void mnet_pool_run(mnet_pool *p, int n_tasks, mnet_pool_fn fn, void *ctx);

/* The processors online (at least 1): the default thread count. */
int mnet_cpu_count(void);

/* Tells OpenBLAS to run every call in the calling thread: mnet's own
 * threads split the batch, and OpenBLAS's threads on these small per-step
 * GEMMs were measured slower than one thread (issue 13).  The setting is
 * OpenBLAS's, for the whole process.  Does nothing with another BLAS. */
void mnet_blas_single_thread(void);

#endif
