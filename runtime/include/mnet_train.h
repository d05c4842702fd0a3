/* mnet_train.h - training a policy on a compiled effector by
 * backpropagation through time: the observation pipeline (obs.c), the loss
 * library (loss.c) and the episode arena with rollout, BPTT and one
 * optimisation step (train.c).  One section per file.
 *
 * Shape letters: those of mnet_nn.h and mnet_task.h, plus
 *   NS  sensed rows, model->n_sense = P + 2M     NL  load rows, P + D
 *   LH  hidden rows of all layers (L*H)          ld  leading dimension of
 *                                                    every (rows x ld) block
 * Time series are (T x rows x ld): step t's block at a + t*rows*ld.
 *
 * One episode step (MotorNet's order, MODELS.md section 8):
 *   obs_t   = [goal_t, go_t, vision, proprioception, last k actions] (+ noise)
 *   y_t     = net(obs_t, h_{t-1})             (h_{-1} = 0)
 *   a_t     = y_t + action noise              (the effector clamps)
 *   load_t  = task load of s_t                (curl, channel: from s_t)
 *   s_{t+1} = step(s_t, a_t, load_t)
 *   sense(s_{t+1}) (+ noise) enters the delay buffers
 * s_0 = init(joint0) is data: the gradient stops there.
 */
#ifndef MNET_TRAIN_H
#define MNET_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mnet_model.h"
#include "mnet_nn.h"
#include "mnet_optim.h"
#include "mnet_task.h"
#include "mnet_threads.h"

/* Where the noise of a batch of episodes comes from: the draws of column b
 * are at (seed, stream, element0 + b, step, index); on == 0: no noise at
 * all (MotorNet's deterministic=True). */
typedef struct mnet_noise_key {
    uint64_t seed;
    uint32_t element0;
    int on;
} mnet_noise_key;

/* ==== obs.c: delay buffers, action frames, noise (forward and backward) ====
 *
 * The delay buffers are kept as a sense history (T+2 x NS x ld): slot j+1
 * holds the noisy sensed values of state s_j, slot 0 the buffer's initial
 * fill (the initial value with its own noise draw, as the reference fills
 * its buffer with one draw and then shifts in another).  Step t reads, for
 * each of vision (rows 0 .. P-1 of a slot) and proprioception (rows
 * P .. P+2M-1), the state src = t - d + 1 (quirk) or t - d (exact), i.e.
 * slot src + 1, or the fill slot 0 when src < 0.  Backward routes the
 * gradient of each read to the slot it came from; sense_vjp then carries
 * slot j+1's gradient to s_j. */
typedef struct mnet_obs {
    int space_dim, n_muscles, n_sense;  /* P, M, NS = P + 2M             */
    int n_frames;                       /* k                             */
    int d_vision, d_proprio;            /* delays in steps (>= 1)        */
    int exact;                          /* 1: exact delays               */
    int goal_row;                       /* 0: P rows                     */
    int go_row;                         /* P (1 row), or -1 (none)       */
    int vision_row;                     /* P rows; first noisy row       */
    int proprio_row;                    /* 2M rows: length, velocity     */
    int action_row;                     /* k*M rows, older frame first   */
    int n_obs;                          /* I                             */
    double sd_vision, sd_proprio, sd_obs;
} mnet_obs;

/* Fills o from the task configuration and the model's sizes and step. */
int mnet_obs_setup(mnet_obs *o, const mnet_task_config *cfg, int space_dim, int n_muscles,
                   double step, char *err, size_t err_size);

/* The input columns of observation part `part` (a modular network's
 * source): *first and *count.  0, or -1 when the run's observation has no
 * such part (go outside the delayed reach, actions without frames). */
int mnet_obs_part_columns(const mnet_obs *o, mnet_obs_part part, int *first, int *count);

/* The history slot read at step t through a delay of d steps. */
int mnet_obs_slot(const mnet_obs *o, int d, int t);

/* hist slot t+1 (NS x ld) = sensed (NS x ld) of state t + sensor noise of
 * step t; at t == 0 also the fill slot 0 (its own draws).  n columns. */
void mnet_obs_record(const mnet_obs *o, mnet_real *hist, int t, const mnet_real *sensed, int n,
                     int ld, const mnet_noise_key *nz);

/* obs (I x ld) of step t from the goal shown (P x ld), the go signal
 * (1 x ld; NULL: none), the history (T+2 x NS x ld) and the noisy actions
 * (T x M x ld) of steps t-k .. t-1 (zeros before step 0), plus observation
 * noise on every row from vision_row on. */
void mnet_obs_build(const mnet_obs *o, int t, const mnet_real *goal, const mnet_real *go,
                    const mnet_real *hist, const mnet_real *actions, mnet_real *obs, int n,
                    int ld, const mnet_noise_key *nz);

/* Backward of mnet_obs_build: dobs (I x ld) is added to the history slots
 * (g_hist, T+2 x NS x ld) and the actions (g_actions, T x M x ld) it read;
 * goal and go rows are data. */
void mnet_obs_backward(const mnet_obs *o, int t, const mnet_real *dobs, mnet_real *g_hist,
                       mnet_real *g_actions, int n, int ld);

/* ==== loss.c: the loss library (forward and backward) ====
 * Term definitions in mnet_task.h (mnet_loss_kind). */
typedef struct mnet_loss_ctx {
    const mnet_model *m;
    int T, n, ld;               /* steps, columns used, leading dimension  */
    double step;                /* seconds per step                         */
    const mnet_real *state;     /* (T+1 x S x ld)                           */
    const mnet_real *target;    /* (T+1 x P x ld) position asked for        */
    const mnet_nn *nn;          /* hidden states: layer l at step t is      */
    const mnet_nn_acts *acts;   /* mnet_nn_state(nn, acts, t, l); NULL when
                                   no HIDDEN_L2 term                          */
    const double *act_scale;    /* (M) F_max / mean(F_max); NULL when no
                                   ACTIVATION_L2 term                         */
    mnet_real *scratch;         /* mnet_loss_scratch_size reals             */
    const mnet_real *params;    /* the model's parameters (COMPILED terms)  */
    int n_mean;                 /* columns the means are over (0: n): a
                                   slice of a batch gives its share of the
                                   batch's loss with n_mean = the batch's
                                   columns                                  */
} mnet_loss_ctx;

size_t mnet_loss_scratch_size(const mnet_model *m, int n_hidden_rows, int ld);

/* The loss: returns the total, writes each term's value to per_term (NULL:
 * not written).  With g_state (T+1 x S x ld) and g_hidden (T x LH x ld)
 * non-NULL it also ADDS the gradient of the total. */
double mnet_loss(const mnet_loss_ctx *c, const mnet_loss_term *terms, int n_terms,
                 double *per_term, mnet_real *g_state, mnet_real *g_hidden);

/* Each term's value per step and column, UNWEIGHTED and without its
 * derivative part: out (T+1 x n_terms x ldo), element (t, k, b) at
 * out[(t*n_terms + k)*ldo + b] for columns b = 0 .. c->n - 1, is
 * sum_i phi(q_t,i) of term k (mnet_task.h) at the times the term reads,
 * NaN at the others (JERK: t < 2; HIDDEN_L2: t = T, and every t when c has
 * no hidden states); COMPILED: the model's loss row, t = 0 .. T.  Term k's
 * value in mnet_loss is w_k * mean_{b, listed t} of these, plus its
 * derivative part when w'_k != 0. */
void mnet_loss_steps(const mnet_loss_ctx *c, const mnet_loss_term *terms, int n_terms,
                     double *out, int ldo);

/* ==== train.c: the run's data object ====
 *
 * mnet_train_new allocates everything once: network parameters, gradient
 * and Adam moments (one layout, mnet_nn_bind_params), the episode, and the
 * arena for T steps of B columns (states, actions, loads, delay history,
 * network activations, and the backward buffers).  Nothing is allocated
 * while training.
 *
 * Curl and channel loads depend on the state, so their gradient needs
 * d next / d load from the model: step_vjp is called with
 * out = {g_state, g_action, g_load} and must write out[2] (n_load x ld)
 * when those loads are on.  mnet_train_new probes this and fails with a
 * message when the model leaves out[2] unwritten. */
typedef struct mnet_train {
    /* ---- constant ---- */
    const mnet_model *model;
    mnet_task_config cfg;
    mnet_nn nn;
    mnet_obs obs;
    int T, B;                   /* steps, batch columns                     */
    int S, M, P, D, NS, NL, I, LH;
    int dynamic_load;           /* curl / channel on                        */
    double *act_scale;          /* (M) F_max / mean(F_max)                  */
    mnet_real *model_params;    /* (model->n_params) the effector's table:
                                   the caller's (read, never copied) or
                                   own_params                               */
    mnet_real *own_params;      /* the defaults, when the caller gave none  */

    /* ---- parameters: n_params each, one layout ---- */
    size_t n_params;
    mnet_real *params;          /* network parameters (checkpoint these)    */
    mnet_real *grad;            /* d loss / d params of the last backward   */
    mnet_real *adam_m, *adam_v; /* Adam moments (checkpoint these)          */
    mnet_real *backup;          /* (3 x n_params) params and moments before
                                   the last update (undone when it made a
                                   number non-finite, or when the next
                                   batch's loss or gradient is not finite)  */
    mnet_adam backup_opt;       /* the optimiser state then                 */
    long backup_batch;          /* the batch of that update (-1: none)      */
    int undone;                 /* the last failed step undid the previous
                                   batch's update (the run is one batch
                                   shorter)                                 */
    mnet_nn_params p, g;        /* named pieces of params and grad          */
    /* A modular network (cfg.modular.n_modules > 0; mnet_nn.h "modular
     * networks"): the masks are a pure function of (network, description,
     * cfg.seed), drawn again whenever a trainer is built, so a checkpoint
     * does not hold them.  The initialisation is constrained
     * (mnet_nn_constrain_init), the summed gradient masked before clipping
     * (mnet_nn_mask_grad: tr->grad of every backward), and the parameters
     * constrained after every Adam step (mnet_nn_constrain). */
    mnet_nn_modular modular;    /* the description with its sources' input
                                   columns (mnet_obs_part_columns)          */
    mnet_real *mask, *sign;     /* (n_params each) or NULL: not modular     */
    mnet_adam opt;              /* Adam state: opt.t updates made           */

    /* ---- the episode and the arena (ld = B; n_cols columns in use) ---- */
    mnet_episode ep;
    int n_cols;                 /* columns of the last forward              */
    mnet_noise_key noise;       /* noise of the last forward                */
    mnet_real *state;           /* (T+1 x S x B)  s_0 .. s_T                */
    mnet_real *action;          /* (T x M x B)    noisy actions a_t         */
    mnet_real *load;            /* (T x NL x B)   loads of each step        */
    mnet_real *hist;            /* (T+2 x NS x B) sense history (obs.c)     */
    mnet_real *nn_arena;        /* T * mnet_nn_act_size(nn, B): slice k's
                                   activations (T x its columns) at
                                   T * mnet_nn_act_size(nn, k * slice)      */
    mnet_nn_acts acts;          /* slice 0's (the whole batch when it is
                                   one slice); slice k: slice_acts[k]       */
    mnet_real *obs_buf;         /* (I x B)  observation of the current step */
    mnet_real *y;               /* (M x B)  network output                  */
    mnet_real *sensed;          /* (NS x B)                                 */
    /* backward */
    mnet_real *g_state_loss;    /* (T+1 x S x B) d loss / d s_t, direct     */
    mnet_real *g_hidden;        /* (T x LH x B)  d loss / d h'_t, direct    */
    mnet_real *g_action;        /* (T x M x B)   d loss / d a_t             */
    mnet_real *g_hist;          /* (T+2 x NS x B)                           */
    mnet_real *g_s, *g_s_next, *g_tmp; /* (S x B)                           */
    mnet_real *g_act_tmp;       /* (M x B)                                  */
    mnet_real *g_load;          /* (NL x B)                                 */
    mnet_real *dobs;            /* (I x B)                                  */
    mnet_real *dh;              /* (LH x B)                                 */
    mnet_real *loss_scratch;

    /* ---- slices and threads ----
     * The batch is cut into slices of `slice` columns (the last may be
     * narrower).  A slice's whole rollout, loss, BPTT and weight gradients
     * are computed on their own (its own GEMMs, its own gradient buffer),
     * then the slices' losses and gradients are summed in slice order.  A
     * thread takes a whole slice, so the numbers depend on the slice size
     * (part of the run) and never on the thread count. */
    int slice;                  /* columns per slice                        */
    int n_slices_max;           /* ceil(B / slice)                          */
    int n_slices;               /* slices of the last forward               */
    mnet_nn_acts *slice_acts;   /* (n_slices_max)                           */
    mnet_real *slice_grad;      /* (n_slices_max x n_params) each slice's
                                   gradient (NULL when one slice: tr->grad) */
    double *slice_loss;         /* (n_slices_max x (1 + MAX_LOSSES)) each
                                   slice's total, then its terms            */
    double *slice_ms;           /* (n_slices_max) network ms of each slice  */
    struct mnet_pool *pool;     /* the threads (mnet_threads.h)             */
    mnet_thread_tuner tune;     /* the automatic count (mnet_threads.h)     */
    /* data parallel (mnet_train_set_exchange): this process computes slices
     * k0 .. k1-1 of the last forward (0 .. n_slices-1 without an exchange,
     * and always for evaluation) */
    const struct mnet_train_exchange *xchg; /* NULL: every slice here     */
    int k0, k1;

    /* ---- results ---- */
    double loss;                /* total of the last forward                */
    double loss_terms[MNET_TASK_MAX_LOSSES]; /* each term's value          */
    double grad_norm;           /* 2-norm of the last gradient (pre clip)   */
    long n_skipped;             /* batches skipped for non-finite numbers   */
    double net_ms;              /* ms of the last forward and backward
                                   spent in the network (its passes and
                                   weight gradients), summed over the
                                   slices (over the threads: CPU time), for
                                   benchmarks                                */
    char err[256];              /* message of the last failure              */
    void *mem;
} mnet_train;

/* The policy network of configuration cfg on model m with n_input
 * inputs (the observation's rows): nn set up from the cell, sizes and
 * options of cfg and, for a modular network, given its delays between
 * modules (mnet_nn_set_delays) in steps: delay_steps plus
 * round(delay_time / the model's step) per pair, for episodes of the
 * task's length.  md (NULL: not wanted) receives cfg->modular with the
 * delays in steps (delay_time 0).  What the trainer, the probes and the
 * API build the same network with.  0, or -1 with a message. */
int mnet_train_network(const mnet_task_config *cfg, const mnet_model *m, int n_input, mnet_nn *nn,
                       mnet_nn_modular *md, char *err, size_t n);

/* Checks the model and configuration, sets the network up and initialises
 * its parameters from cfg->seed (mnet_nn_init_params), allocates the
 * arena.  params: the effector's parameter table (model->n_params), which
 * the trainer reads at every batch and must outlive it (NULL: a copy of
 * model->param_defaults).  Returns NULL with a message in err. */
mnet_train *mnet_train_new(const mnet_model *m, const mnet_real *params,
                           const mnet_task_config *cfg, char *err, size_t err_size);
void mnet_train_free(mnet_train *tr);

struct mnet_checkpoint;

/* Puts a stored run into tr (built from the run's stored configuration):
 * its parameters and Adam's state, and for a modular network the stored
 * masks and signs in place of the ones tr drew from the seed (a file
 * without them, written before they were stored, keeps the drawn ones).
 * Checked first, tr unchanged on failure: the parameter count, masks
 * only for a modular network, and every masked weight 0 and every sign
 * held by the stored parameters.  0, or -1 with a message. */
int mnet_train_restore(mnet_train *tr, const struct mnet_checkpoint *ck, char *err, size_t n);

/* The slice size of a batch of B columns when train.slice is 0: B up to
 * 16 columns, else B / 2 up to 64 columns (pieces of at least 16), else
 * 32 columns (so that 2 .. B/32 threads have work).  A function of B
 * alone: never of the machine. */
int mnet_train_slice_auto(int B);

/* The slice size and the threads a trainer of cfg uses (threads: n, or
 * cfg->threads when n is -1; 0: the machine's cores; never more than the
 * slices).  Returns the threads; *slice (may be NULL) gets the slice. */
int mnet_train_plan(const mnet_task_config *cfg, int n, int *slice);

/* Uses n threads from the next batch on (0: the machine's cores; never more
 * than the slices).  The numbers do not change.  0, or -1 (message in
 * tr->err; the trainer keeps its threads). */
int mnet_train_set_threads(mnet_train *tr, int n);
/* The threads in use (the most, with the automatic count). */
int mnet_train_threads(const mnet_train *tr);
/* 1 when the count was left to mnet (train.threads 0, more than one
 * thread possible): each batch then uses all of them or one, whichever
 * mnet_thread_tuner measured faster; tr->tune says how it went. */
int mnet_train_threads_auto(const mnet_train *tr);

/* ==== train.c: one batch across processes (data parallel) ====
 *
 * A front end that runs the same trainer in R processes (tools/mnet_mpi.c:
 * the ranks of mpirun) gives each an exchange.  A training batch
 * (mnet_train_loss, mnet_train_loss_grad, mnet_train_step) is then cut
 * into the same fixed slices as always; each process computes only its
 * slices (its threads take them) and the exchange completes the rest:
 *   losses  every slice's loss row, so each process sums them in slice
 *           order as one process would;
 *   grads   the sum of the slices' gradients, left to right in slice order
 *           ((g_0 + g_1) + g_2) + ..., the exact sum one process makes, on
 *           every process.
 * So every process holds the numbers of a single process bit for bit and
 * takes the same Adam step.  Evaluation (mnet_train_eval, mnet_train_forward,
 * the validation set) computes every slice in each process.  libmnetrt
 * knows nothing of MPI: the exchange is the front end's. */
typedef struct mnet_train_exchange {
    void *ctx;
    /* this process's slices [*k0, *k1) of a batch of n_slices (contiguous,
     * in process order; may be empty) */
    void (*slices)(void *ctx, int n_slices, int *k0, int *k1);
    /* slice_loss (n_slices x stride doubles): rows k0 .. k1-1 are this
     * process's; the exchange fills in every other row.  0, or -1 with a
     * message in err */
    int (*losses)(void *ctx, double *slice_loss, int n_slices, int stride, char *err, size_t n);
    /* grad (np) = the in-order sum of all n_slices slices' gradients;
     * local (k1-k0 x np) holds this process's slices k0 .. k1-1 (it may be
     * grad itself when the batch is one slice).  0, or -1 (message) */
    int (*grads)(void *ctx, mnet_real *grad, const mnet_real *local, size_t np, int n_slices, int k0, int k1,
                 char *err, size_t n);
} mnet_train_exchange;

/* Uses x (not copied: it must outlive its use) for the training batches
 * from now on; NULL: this process computes every slice (the default). */
void mnet_train_set_exchange(mnet_train *tr, const mnet_train_exchange *x);

/* One optimisation step on batch `batch_index`: the episodes and noise are
 * those of (cfg.seed, episodes batch_index*B .. +B-1), so a batch is
 * reproducible on its own.  Forward, BPTT, then - only when the loss and
 * every gradient are finite - clipping and Adam.  Returns the loss, or NaN
 * when the batch was skipped: n_skipped counts it and err names the batch;
 * the parameters are then the last state whose loss and gradient were
 * finite - unchanged, or, when the previous batch's update led to this
 * state, that update undone (tr->undone = 1).  (Episode
 * numbers are 32-bit: they wrap after 2^32 episodes.) */
double mnet_train_batch(mnet_train *tr, long batch_index);

/* The same with a status: 0, or -1 (message in tr->err); *loss gets the
 * loss either way. */
int mnet_train_step(mnet_train *tr, long batch_index, double *loss);

/* Loss and gradient (tr->grad) of batch `batch_index` at the current
 * parameters, no update (a modular network's gradient is masked: 0 on
 * every absent weight).  0 or -1 (non-finite; message). */
int mnet_train_loss_grad(mnet_train *tr, long batch_index, double *loss);
/* Loss only (forward). */
int mnet_train_loss(mnet_train *tr, long batch_index, double *loss);

/* The lower level: forward over columns 0 .. n-1 of tr->ep (already
 * filled) with noise nz; fills the arena, tr->loss, tr->loss_terms.
 * Backward after it: tr->grad = d loss / d params. */
double mnet_train_forward(mnet_train *tr, int n, const mnet_noise_key *nz);
void mnet_train_backward(mnet_train *tr);

/* Evaluation rollout of an episode set (any number of columns, T steps
 * equal to the run's), B columns at a time.  Each output array may be
 * NULL; all are (steps x rows x n) with n = ep->n_cols:
 *   state  (T+1 x S x n)   action (T x M x n)   (noisy actions)
 *   obs    (T x I x n)     hidden (T x LH x n)
and those of mnet_rollout_more (mnet_train_eval_more):
 *   output (T x M x n)     the network's output y_t, before action noise
 *   load   (T x NL x n)    the load applied at step t
 *   loss_step (T+1 x n_losses x n, double)  each loss term's value per
 *                          step and column (mnet_loss_steps)
 * noise: the noise of column b is at element nz->element0 + b (nz NULL or
 * nz->on == 0: deterministic).  *loss (may be NULL) gets the mean loss
 * over the set.  0 or -1 (message in tr->err). */
typedef struct mnet_rollout {
    mnet_real *state, *action, *obs, *hidden;
} mnet_rollout;
int mnet_train_eval(mnet_train *tr, const mnet_episode *ep, const mnet_noise_key *nz,
                    mnet_rollout *out, double *loss);

/* The same with the outputs of mnet_rollout_more too (more may be NULL).
 * They are a struct of their own because callers initialise mnet_rollout
 * by position (-Wmissing-field-initializers). */
typedef struct mnet_rollout_more {
    mnet_real *output, *load;
    double *loss_step;
} mnet_rollout_more;
int mnet_train_eval_more(mnet_train *tr, const mnet_episode *ep, const mnet_noise_key *nz,
                         mnet_rollout *out, const mnet_rollout_more *more, double *loss);

/* validation.c: the task's validation set (mnet_task_generate, validation
 * mode, batch_size episodes) rolled out without noise and written to `path`
 * as trajectory CSV (mnet_log.h: end point, velocity, target, each muscle's
 * activation and force).  model_params: the effector's table (NULL: the
 * trainer's).  *loss_out (may be NULL) gets the mean loss.  0 or -1. */
int mnet_train_write_validation(mnet_train *tr, const mnet_real *model_params, const char *path, double *loss_out,
                                char *err, size_t n);

/* ==== train_loop.c: the training loop ====
 *
 * Every front end trains through this one loop (`mnet train`, the REPL's
 * train, a standalone ./model train): step, log row, progress over the
 * whole run, the last-100 loss ring, checkpoints every so many batches,
 * the stop flag (Ctrl-C: after the current batch) and the stop on a
 * non-finite batch (whose update is not made).  The loop's state lives in
 * mnet_loop, so a run trained in pieces (the REPL's `train 100` twice)
 * counts as one. */
typedef struct mnet_loop {
    /* set by the caller */
    FILE *progress;             /* the progress display (NULL: none)        */
    int progress_mode;          /* mnet_progress_init's mode (-1: by tty)   */
    struct mnet_trainlog *log;  /* a row per batch (NULL: none)             */
    long checkpoint_every;      /* batches between checkpoints (0: only at
                                   the end of each call)                    */
    int (*checkpoint)(void *ctx, char *err, size_t n); /* saves the run    */
    void *checkpoint_ctx;
    volatile sig_atomic_t *stop; /* non-zero: stop after the batch          */
    /* the run so far */
    long batch;                 /* the next batch index                     */
    double ring[100];           /* losses of the last 100 batches trained   */
    long n_trained;             /* batches trained through this loop        */
    double ms_total;            /* their wall time                          */
    double net_ms_total;        /* ... of it in the network                 */
    int zero_grad;              /* consecutive batches with a zero gradient */
    int interrupted;            /* the last call stopped on *stop           */
} mnet_loop;

/* Trains batches loop->batch .. end-1 (the run's progress display counts
 * from first_of_run to end_of_run, e.g. 0 .. n_batches, whatever piece
 * this call trains).  Warns once on `warn` (may be NULL) when the gradient
 * is exactly zero for 10 batches in a row.  0: done or stopped on *stop
 * (loop->interrupted); -1: a batch failed or a write failed (message in
 * err; the parameters are those before the failed batch). */
int mnet_train_loop(mnet_train *tr, mnet_loop *loop, long end, long first_of_run, long end_of_run, FILE *warn,
                    char *err, size_t n);

/* The mean loss of the last min(100, n_trained) batches (NaN: none). */
double mnet_loop_loss_last100(const mnet_loop *loop);

/* The network parameters and Adam moments (n_params each), for
 * checkpoints; the optimiser's update count is tr->opt.t. */
mnet_real *mnet_train_params(mnet_train *tr, size_t *n);
const char *mnet_train_error(const mnet_train *tr);

#endif
