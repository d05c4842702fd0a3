/* mnet_session.h - one interactive or batch training session: a run (the
 * loaded model, its parameter table and configuration), the trainer, and
 * the loop's state.  Shared by `mnet train`, `mnet eval` and the REPL so
 * all behave the same. */
#ifndef MNET_SESSION_H
#define MNET_SESSION_H

#include <signal.h>
#include <stdio.h>

#include "mnet_log.h"
#include "mnet_run.h"

typedef struct {
    mnet_run run;
    int loaded;
    mnet_backend backend;       /* JIT (default) or the C compiler        */
    char path[4096];            /* the .mnet file or checkpoint loaded    */
    mnet_train *tr;             /* created on first use                   */
    mnet_loop loop;             /* batches done, the last-100 ring, ...   */
    mnet_trainlog log;          /* OUT/log.csv when open (log.f)          */
    char ckpt[4200];            /* where the loop checkpoints ("": none)  */
} mnet_session;

void session_init(mnet_session *s);
void session_close(mnet_session *s);

/* Loads (or reloads) a model file; diagnostics to diag.  0 or 1. */
int session_load(mnet_session *s, const char *path, const char *task, FILE *diag, FILE *out);

/* Trains up to batch index `end` (the run's length is cfg.n_batches; the
 * progress display counts over the whole run when end is that), printing
 * progress to out (a bar on a terminal); stops after the current batch
 * when *stop becomes non-zero.  Checkpoints to s->ckpt when set.  0, or 1
 * when a batch or a write failed (message printed). */
int session_train_to(mnet_session *s, long end, volatile sig_atomic_t *stop, FILE *out);
/* n more batches (the REPL's `train N`). */
int session_train(mnet_session *s, long n, volatile sig_atomic_t *stop, FILE *out);

/* Opens DIR/log.csv (continuing at the current batch when resuming).  0/1. */
int session_open_log(mnet_session *s, const char *dir, FILE *out);

/* Batches trained in the run (the next batch index). */
long session_batches(const mnet_session *s);
/* Mean loss of the last 100 batches trained here (NaN when none). */
double session_loss_last100(const mnet_session *s);

/* set NAME VALUE: a model parameter (its value in the run's table, no
 * recompile), a setting of the run or a loss weight (loss.NAME.weight,
 * loss.NAME.derivative), through the language's checks; the trainer is
 * rebuilt when it exists, keeping the network when its shape is unchanged.
 * Says what it did.  0 or 1. */
int session_set(mnet_session *s, const char *name, const char *value, FILE *out);

/* Deterministic validation rollout: prints the mean loss.  0 or 1. */
int session_eval(mnet_session *s, FILE *out);

/* Prints the loaded model and the run text. */
void session_show(const mnet_session *s, FILE *out);

/* Names for completion: NULL-terminated, malloc'd array of strdup'd names
 * (settings, loss weights, model parameters). */
char **session_names(const mnet_session *s);

/* Writes the session's model as standalone C with its run (settings and
 * parameter values) embedded.  0 or 1. */
int session_emit(mnet_session *s, const char *path, int single_precision, FILE *out);

/* ---- persistence (mnet_persist.c) ---- */

/* Writes a self-contained checkpoint (sources, run text, network,
 * optimiser, batch count) atomically.  0 or 1 (message printed). */
int session_save(mnet_session *s, const char *path, FILE *out);

/* Opens a checkpoint: compiles its stored sources from memory (nothing is
 * written to disk, no import is read from anywhere else), rebuilds the run
 * from its run text, restores the network, optimiser and batch count.
 * 0 or 1. */
int session_open(mnet_session *s, const char *path, FILE *diag, FILE *out);

/* Writes DIR/weights.safetensors and DIR/validation.csv (validation
 * trajectories of the current network).  0 or 1. */
int session_write_outputs(mnet_session *s, const char *dir, FILE *out);

#endif
