/* mnet_outdir.h - the output directory of a training run: created, checked
 * and locked before anything is written into it.
 *
 * A run writes DIR/log.csv, DIR/checkpoint.mnetckpt, DIR/weights.safetensors
 * and DIR/validation.csv (the last three atomically: written to
 * NAME.tmp.XXXXXX beside NAME, then renamed over it; io_atomic.c).  Before
 * the first of them, mnet_outdir_open:
 *
 *   1. checks the path: DIR plus the longest name written into it must fit
 *      in PATH_MAX, and no component may be longer than NAME_MAX; a path
 *      that does not fit is refused before any directory is created;
 *   2. creates DIR and its missing parents (not for RESUME: a run to resume
 *      must exist);
 *   3. locks DIR: DIR/.mnet.lock, held with an fcntl write lock for as long
 *      as the mnet_outdir is open.  The lock belongs to the open file, so
 *      the kernel drops it when the process ends however it ends (kill -9
 *      included): a lock file left behind is not a lock.  The holder writes
 *      "pid N\nhost H\nsince TIME\n" into it, and a second writer is refused
 *      with "DIR is in use by pid N on HOST since TIME";
 *   4. checks what DIR holds against the mode (below);
 *   5. removes orphaned temporaries (NAME.tmp.XXXXXX of the three atomic
 *      files, left by a process killed while saving): once DIR is locked, no
 *      save can be in progress.
 *
 * It also sets SIGXFSZ to be ignored, so a write past a file size limit
 * (ulimit -f) fails with EFBIG and is reported like a full disk, instead of
 * killing the process without a word. */
#ifndef MNET_OUTDIR_H
#define MNET_OUTDIR_H

#include <stddef.h>

/* What the run is going to do with DIR. */
typedef enum mnet_outdir_mode {
    MNET_OUTDIR_NEW,     /* a new run: DIR must not hold a run (a checkpoint or a
                            training log) already                               */
    MNET_OUTDIR_RESUME,  /* continue the run in DIR: DIR/checkpoint.mnetckpt must
                            exist                                               */
    MNET_OUTDIR_FORCE    /* a new run over whatever DIR holds: the old run's
                            files (checkpoint, log, weights, validation) are
                            removed once DIR is locked                          */
} mnet_outdir_mode;

typedef struct mnet_outdir {
    int lock_fd;          /* DIR/.mnet.lock, write-locked; -1: not open         */
    int n_removed;        /* orphaned temporaries removed by mnet_outdir_open   */
    int created;          /* 1: DIR itself did not exist before the open        */
} mnet_outdir;

/* An mnet_outdir that holds nothing (mnet_outdir_close does nothing). */
#define MNET_OUTDIR_INIT {-1, 0, 0}

/* Opens DIR for a run in `mode` (an mnet_outdir_mode), as described above.
 * 0, or -1 with a message in err; on failure nothing is held, and nothing
 * was created when the path itself was refused. */
int mnet_outdir_open(mnet_outdir *o, const char *dir, int mode, char *err, size_t n);

/* Releases the lock (and empties the lock file).  Safe to call twice, on
 * an mnet_outdir whose open failed and on MNET_OUTDIR_INIT. */
void mnet_outdir_close(mnet_outdir *o);

/* For a run that never started (its file did not compile, say): closes o
 * and, when the open created DIR, removes the lock file and DIR again if
 * nothing else was put there, so a refused run leaves nothing behind. */
void mnet_outdir_abandon(mnet_outdir *o, const char *dir);

/* The file names a run writes into DIR. */
#define MNET_OUTDIR_LOCK ".mnet.lock"
#define MNET_OUTDIR_CHECKPOINT "checkpoint.mnetckpt"
#define MNET_OUTDIR_LOG "log.csv"
#define MNET_OUTDIR_WEIGHTS "weights.safetensors"
#define MNET_OUTDIR_VALIDATION "validation.csv"

/* 1 when `name` (a file name, no directory) is a temporary file of an
 * atomic save of `base`: base ".tmp." and the six characters mkstemp put
 * in place of XXXXXX (io_atomic.c, which makes these names). */
int mnet_atomic_is_temp_of(const char *name, const char *base);

#endif
