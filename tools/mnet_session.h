/* mnet_session.h - one interactive or batch training session: a loaded
 * model and task, the trainer, and what has been done so far.  Shared by
 * `mnet train` and the REPL so both behave the same. */
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
    char path[4096];            /* the .mnet file loaded                  */
    char task[128];             /* task name ("" = the file's last)       */
    mnet_train *tr;             /* created on first training              */
    long batches_done;
    double *losses;             /* (n_losses) loss of each batch run here */
    long n_losses;
    long cap;
    double ms_total;            /* time spent in training batches        */
    double net_ms_total;        /* ... of it in the network (benchmarks)  */
    mnet_trainlog log;          /* OUT/log.csv when open (log.f)          */
} mnet_session;

void session_init(mnet_session *s);
void session_close(mnet_session *s);

/* Loads (or reloads) a model file; diagnostics to diag.  0 or 1. */
int session_load(mnet_session *s, const char *path, const char *task, FILE *diag, FILE *out);

/* Trains n more batches, printing progress to out (a bar on a terminal);
 * stops early when *stop becomes non-zero (after the current batch).
 * 0, or 1 when a batch failed (message printed). */
int session_train(mnet_session *s, long n, volatile sig_atomic_t *stop, FILE *out);

/* Opens DIR/log.csv (continuing at the current batch when resuming).  0/1. */
int session_open_log(mnet_session *s, const char *dir, FILE *out);

/* Mean loss of the last k batches (NaN when none). */
double session_loss_last(const mnet_session *s, long k);

/* set NAME VALUE: a model parameter (no recompile), or a task/training
 * setting (the trainer is rebuilt, keeping the network when its shape is
 * unchanged).  Says what it did.  0 or 1. */
int session_set(mnet_session *s, const char *name, const char *value, FILE *out);

/* Deterministic validation rollout: prints the mean loss.  0 or 1. */
int session_eval(mnet_session *s, FILE *out);

/* Prints the loaded model and task. */
void session_show(const mnet_session *s, FILE *out);

/* Names for completion: NULL-terminated, malloc'd array of strdup'd names
 * (model parameters and settings). */
char **session_names(const mnet_session *s);

#endif

/* ---- persistence (mnet_persist.c) ---- */

/* Writes a self-contained checkpoint (sources, network, optimiser, batch
 * count) atomically.  0 or 1 (message printed). */
int session_save(mnet_session *s, const char *path, FILE *out);

/* Opens a checkpoint: recompiles its stored sources (nothing else is
 * needed), restores the network, optimiser and batch count.  0 or 1. */
int session_open(mnet_session *s, const char *path, FILE *diag, FILE *out);

/* Writes DIR/weights.safetensors and DIR/validation.csv (validation
 * trajectories of the current network).  0 or 1. */
int session_write_outputs(mnet_session *s, const char *dir, FILE *out);
