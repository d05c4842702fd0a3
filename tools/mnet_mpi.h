/* mnet_mpi.h - mnet across processes with Open MPI (docs/cluster.md).
 *
 * Two users:
 *   `mpirun -np R mnet train ...`  data-parallel training: every rank
 *       holds the whole trainer and computes its share of each batch's
 *       fixed slices; the exchange (mnet_train_exchange, mnet_train.h)
 *       completes the slices' losses and sums their gradients in slice
 *       order, so each rank has the numbers of one process, bit for bit,
 *       and takes the same Adam step.  Rank 0 alone writes.
 *   `mpirun -np R mnet sweep ...`  (tools/mnet_sweep.c, issue 14 item 3):
 *       the ranks share the sweep's runs through a dynamic queue
 *       (mnet_mpi_queue below), one run per rank at a time.
 *
 * MPI is optional at build time: tools/CMakeLists.txt defines
 * MNET_HAVE_MPI when CMake finds it.  Without it every function here
 * still exists: mnet_mpi_init fails with how to get MPI, and a process
 * started by mpirun says so instead of training R copies of the run.
 *
 * Only the process that called mnet_mpi_init may call the rest; one thread
 * (MPI_THREAD_FUNNELED: the trainer's worker threads never call MPI).
 */
#ifndef MNET_MPI_H
#define MNET_MPI_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "mnet_train.h"

/* ---- the launcher ------------------------------------------------------ */

/* The processes an MPI launcher (mpirun, or srun with PMI/PMIx) started
 * this job with, read from the environment: 0 when not started by one, or
 * when MNET_MPI=0 is set (mnet_mpi_init sets it, so an `mnet` a rank
 * starts - a sweep's `mnet train` child - runs on its own). */
int mnet_mpi_launched(void);

/* This process's rank as the launcher's environment says (0 without one):
 * to let only rank 0 speak before MPI is initialised. */
int mnet_mpi_env_rank(void);

/* 1 when this mnet was built with MPI. */
int mnet_mpi_available(void);

/* One line saying how to get MPI into mnet (for messages). */
const char *mnet_mpi_how_to_get(void);

/* ---- the world --------------------------------------------------------- */

/* Initialises MPI (MPI_THREAD_FUNNELED) once.  0, or -1 with a message
 * (no MPI in this build: how to get it). */
int mnet_mpi_init(char *err, size_t n);
/* MPI_Finalize when initialised (safe to call twice). */
void mnet_mpi_finalize(void);
/* Ends every rank of the job with `status` (MPI_Abort), or exit(status)
 * without MPI.  Does not return. */
void mnet_mpi_abort(int status);

int mnet_mpi_rank(void);       /* 0 before init / without MPI               */
int mnet_mpi_size(void);       /* 1 before init / without MPI               */
int mnet_mpi_local_size(void); /* ranks on this node (1 without MPI)        */

/* Collective: the largest status of all ranks (status without MPI). */
int mnet_mpi_agree(int status);

/* Collective: -1 when some rank's n bytes at p differ from rank 0's (its
 * rank in *which), else 0. */
int mnet_mpi_same(const void *p, size_t n, int *which);

/* Collective: rank 0 prints each rank's line "rank r: pid P on HOST, what"
 * to out (others: out unused). */
void mnet_mpi_describe(FILE *out, const char *what);

/* ---- data-parallel training ---------------------------------------------
 *
 * The slices of a batch go to the ranks in contiguous blocks, rank r
 * taking slices r*n/R .. (r+1)*n/R - 1 (uneven when R does not divide n;
 * a rank gets none when R > n: mnet train warns).  The exchange:
 *   losses  MPI_Allgatherv of the slices' loss rows (doubles), and an
 *           MPI_Allreduce(MAX) of the ranks' stop flags (Ctrl-C, SIGTERM),
 *           so every rank stops after the same batch;
 *   grads   a pipelined chain: the first rank with slices sends its
 *           in-order partial sum to the next, which adds its slices in
 *           order and passes it on, chunk by chunk (MNET_MPI_CHUNK
 *           reals), so the sum is the one-process sum ((g0 + g1) + g2) ...
 *           bit for bit; the last rank then broadcasts it (MPI_Bcast).
 *           Cost: (R_busy - 1 + chunks) chunk hops plus a broadcast of
 *           the gradient (docs/cluster.md models it). */
enum { MNET_MPI_CHUNK = 8192 };

typedef struct mnet_mpi_train mnet_mpi_train;

/* Attaches the exchange to tr (mnet_train_set_exchange).  raw_stop: the
 * flag this rank's signal handler sets; agreed_stop: set to the ranks'
 * maximum at every batch - give the training loop agreed_stop.  NULL with
 * a message in err. */
mnet_mpi_train *mnet_mpi_train_attach(mnet_train *tr, volatile sig_atomic_t *raw_stop,
                                      volatile sig_atomic_t *agreed_stop, char *err, size_t n);
/* Mean milliseconds per batch this rank spent in the exchange (losses and
 * gradients, waiting for slower ranks included). */
double mnet_mpi_train_exchange_ms(const mnet_mpi_train *x);
/* Detaches (NULL: nothing). */
void mnet_mpi_train_detach(mnet_mpi_train *x, mnet_train *tr);

/* Rank r's slices of a batch of n_slices: [*k0, *k1). */
void mnet_mpi_slices(int rank, int size, int n_slices, int *k0, int *k1);

/* ---- the hook for `mnet sweep` across ranks (issue 14, item 3) -----------
 *
 * A dynamic queue of items 0 .. n_items-1 (the sweep's runs, in the order
 * the sweep lists them), handed out one at a time to whichever rank asks
 * next.  Rank 0 keeps the counter and works too: it answers the other
 * ranks' requests whenever it calls mnet_mpi_queue_next or
 * mnet_mpi_queue_serve, so while its own run goes (a child process) it
 * must call mnet_mpi_queue_serve every few tens of milliseconds, e.g. in
 * its waitpid(WNOHANG) loop.  The other ranks block in
 * mnet_mpi_queue_next.  A sweep under mpirun:
 *
 *     mnet_mpi_init(err, n);                   (every rank)
 *     q = mnet_mpi_queue_new(n_runs, err, n);  (collective)
 *     for (long i; (i = mnet_mpi_queue_next(q)) >= 0;)
 *         run i: skip it when finished, resume it from its checkpoint when
 *                not (the rules of one machine), in DIR/<run>/ on a shared
 *                filesystem; rank 0 calls mnet_mpi_queue_serve(q) while
 *                it waits for its child
 *     failed = mnet_mpi_queue_free(q, my_failures);  (collective: returns
 *                                      the failed runs of all ranks)
 *     rank 0 alone writes DIR/summary.csv from the run directories.
 *     mnet_mpi_finalize();
 *
 * Children inherit MNET_MPI=0 (set by mnet_mpi_init), so the `mnet train`
 * a rank starts trains on its own, not as a rank. */
typedef struct mnet_mpi_queue mnet_mpi_queue;

/* Collective.  NULL with a message in err (out of memory, no MPI). */
mnet_mpi_queue *mnet_mpi_queue_new(long n_items, char *err, size_t n);
/* The next item for this rank, or -1 when every item has been handed out. */
long mnet_mpi_queue_next(mnet_mpi_queue *q);
/* Rank 0: answers every request waiting now (others: nothing). */
void mnet_mpi_queue_serve(mnet_mpi_queue *q);
/* Collective: rank 0 answers until every rank has been told -1, then all
 * return the sum of `failures` over the ranks; frees q. */
long mnet_mpi_queue_free(mnet_mpi_queue *q, long failures);

#endif
