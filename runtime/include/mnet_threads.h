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
