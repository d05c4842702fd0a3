/* mnet_log.h - what a training run shows and leaves behind besides its
 * checkpoints: the training log (CSV), the progress display, and
 * validation trajectories (CSV).
 *
 * CSV files have a header line, comma separators and '\n' line ends;
 * reals are written with %.9g (losses, trajectories of the float build) or
 * %.12g (trajectories of the double build), non-finite values as nan / inf
 * (read by numpy, pandas and R as they are).  A field that contains a
 * comma, a quote or a line break is quoted (RFC 4180).
 */
#ifndef MNET_LOG_H
#define MNET_LOG_H

#include <stddef.h>
#include <stdio.h>

#include "mnet_model.h"

/* ==== (a) the training log ====
 *
 *   batch,loss,<one column per loss term>,grad_norm,lr,ms
 *
 * one row per batch: the batch index, the total loss (nan for a skipped
 * batch), each term's value, the gradient norm before clipping, the
 * learning rate of the update and the batch's wall time in milliseconds.
 * Every row goes to the kernel in one write(2) as it is written, so a crash
 * of the process loses nothing already logged.  A row that cannot be
 * written (a full disk, a file size limit: EFBIG once SIGXFSZ is ignored,
 * see mnet_outdir.h) is an error: the partial row is cut off, so the file
 * keeps whole rows only, and no later row is written. */
typedef struct mnet_trainlog {
    FILE *f;              /* the open log (NULL: closed); rows are written to
                             its descriptor, nothing waits in its buffer     */
    int n_terms;
    char *path;           /* the log's path (copy), for messages             */
    long long good_end;   /* bytes of the file that are whole rows           */
    int failed;           /* a row could not be written: no more are         */
    char *row;            /* (row_cap) the row being formatted               */
    size_t row_cap;
    char err[512];        /* message of the last failure                     */
} mnet_trainlog;

/* Opens the log at path with the given term names (n_terms of them).
 * resume_batch < 0: a new log (an existing file is replaced).
 * resume_batch >= 0: the run resumes at that batch (from a checkpoint):
 * an existing log must have the same header; its rows of batches >=
 * resume_batch (written after that checkpoint) and a partial last line
 * are cut off, and rows are appended.  A missing file starts a new log.
 * 0, or -1 with a message in err. */
int mnet_trainlog_open(mnet_trainlog *lg, const char *path, int n_terms,
                       const char *const *term_names, long resume_batch, char *err, size_t n);

/* One row; terms has n_terms values.  0, or -1 with a message in lg->err
 * (naming the file, the batch and the system's reason); after a failure
 * every later call fails too. */
int mnet_trainlog_write(mnet_trainlog *lg, long batch, double loss, const double *terms,
                        double grad_norm, double lr, double ms);

/* Closes the log.  0, or -1 with a message (the close failed; a row that
 * could not be written was reported by mnet_trainlog_write). */
int mnet_trainlog_close(mnet_trainlog *lg, char *err, size_t n);

/* ==== (b) the progress display ====
 *
 * On a terminal: one line redrawn in place (at most ~10 times a second,
 * and always for the last batch):
 *   [#########...........]  45.0% 4500/10000 loss 0.0123 avg 0.0131 52.1 b/s ETA 1:45
 * Otherwise (a log file, a pipe): a plain line every `every` batches and
 * at the last one:
 *   batch 4500/10000 (45.0%) loss 0.0123 avg 0.0131 52.1 batch/s ETA 1:45
 * `avg` is an exponential moving average of the loss (weight 0.98 per
 * batch, bias-corrected, skipped batches left out); the rate and ETA count
 * the batches done since mnet_progress_init.  The final summary line is
 * the caller's. */
typedef struct mnet_progress {
    FILE *out;
    int tty;              /* 1: a redrawn line; 0: plain lines          */
    long first, total;    /* batches first .. total-1 run here          */
    long every;           /* plain mode: a line every `every` batches   */
    double t_start;       /* seconds (mnet_progress_now) at init        */
    double t_draw;        /* last redraw (tty)                          */
    double ema, ema_w;    /* smoothed loss and its bias correction      */
    int drawn;            /* tty: a line is on screen                   */
} mnet_progress;

/* mode: -1 decides by isatty(out), 0 plain, 1 terminal.  every <= 0: the
 * default, a line every min(100, ceil((total - first) / 10)) batches (at
 * least every 10% and every 100 batches). */
void mnet_progress_init(mnet_progress *p, FILE *out, long first, long total, int mode,
                        long every);
/* Batch `batch` (0-based) is done with this loss. */
void mnet_progress_update(mnet_progress *p, long batch, double loss);
/* The same at time `now` (seconds on the mnet_progress_now clock; tests
 * pass their own). */
void mnet_progress_update_at(mnet_progress *p, long batch, double loss, double now);
/* Ends the terminal line (a newline) so the caller's summary starts on a
 * fresh one; nothing in plain mode. */
void mnet_progress_finish(mnet_progress *p);
/* A monotonic clock in seconds. */
double mnet_progress_now(void);

/* ==== (c) validation trajectories ====
 *
 *   episode,step,t,x,y[,z],vx,vy[,vz],goal_x,goal_y[,goal_z],
 *   q_<joint>...,qd_<joint>...,act_<muscle>...,force_<muscle>...
 *
 * one row per (episode, step), episode-major: the end point, its velocity,
 * the goal asked for, the joint positions (rad for a rotation, m for a
 * slide) and velocities (the joint columns only from
 * mnet_traj_write_csv_joints), each muscle's activation and force.  Arrays
 * are the runtime's structure-of-arrays time series: (T x rows x E), value
 * (step t, row r, episode e) at a[(t*rows + r)*E + e]. */
typedef struct mnet_traj {
    int n_episodes;               /* E                                     */
    int n_steps;                  /* T: rows per episode                   */
    int space_dim;                /* P: 2 or 3                             */
    int n_muscles;                /* M (0: no muscle columns)              */
    double dt;                    /* seconds per step: t = step * dt       */
    const mnet_real *pos;         /* (T x P x E) end point position        */
    const mnet_real *vel;         /* (T x P x E) end point velocity        */
    const mnet_real *goal;        /* (T x P x E) goal asked for            */
    const mnet_real *act;         /* (T x M x E) activation; NULL: omitted */
    const mnet_real *force;       /* (T x M x E) muscle force; NULL: omitted */
    const char *const *muscle_names; /* (M) column suffixes; NULL: 0, 1, ... */
} mnet_traj;

/* The joint columns (a struct of their own: callers initialise mnet_traj
 * by position). */
typedef struct mnet_traj_joints {
    int n_dof;                    /* D (0: no joint columns)               */
    const mnet_real *q;           /* (T x D x E) joint positions           */
    const mnet_real *qd;          /* (T x D x E) joint velocities          */
    const char *const *names;     /* (D) column suffixes; NULL: 0, 1, ...  */
} mnet_traj_joints;

/* Writes the CSV to path atomically.  0, or -1 with a message. */
int mnet_traj_write_csv(const char *path, const mnet_traj *tr, char *err, size_t n);
/* The same to an open stream (not closed).  0, or -1 with a message. */
int mnet_traj_write_csv_file(FILE *f, const mnet_traj *tr, char *err, size_t n);
/* The same with the joint columns (joints NULL: none). */
int mnet_traj_write_csv_joints(const char *path, const mnet_traj *tr,
                               const mnet_traj_joints *joints, char *err, size_t n);
int mnet_traj_write_csv_file_joints(FILE *f, const mnet_traj *tr,
                                    const mnet_traj_joints *joints, char *err, size_t n);

#endif
