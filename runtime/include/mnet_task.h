/* mnet_task.h - what a training run asks of the effector: the task
 * configuration, the episodes its generators draw, and the external loads.
 *
 * Semantics are those of MotorNet's environments (MODELS.md section 8);
 * where this runtime goes beyond the reference the choice is documented
 * beside the field.  Shape letters as in mnet_nn.h, plus
 *   S  effector state rows (model->n_state)    P  space_dim
 *   D  joint coordinates (model->n_dof)         M  muscles
 *   T  steps of an episode                      B  batch columns
 * and every array is structure-of-arrays: a (rows x B) block has element
 * (row, b) at a[row*B + b]; a time series is T such blocks one after the
 * other, "(T x rows x B)", step t at a + t*rows*B.
 *
 * Random numbers (mnet_rng.h) are pure functions of (seed, stream, element,
 * step, index); `element` is the global episode number (batch_index * B + b
 * in training), so an episode does not depend on the batch split.  The
 * streams are listed in mnet_task_stream; none collides with the streams of
 * mnet_nn_init_params (0 .. 4*MNET_NN_MAX_LAYERS).
 */
#ifndef MNET_TASK_H
#define MNET_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "mnet_model.h"
#include "mnet_nn.h"
#include "mnet_optim.h"

#define MNET_TASK_MAX_LOSSES 16
#define MNET_TASK_MAX_SPACE 3     /* space_dim bound                      */
#define MNET_TASK_MAX_DOF 16      /* n_dof bound                          */

typedef enum mnet_task_kind {
    /* MotorNet RandomTargetReach: start and goal are the end points of
     * joint states drawn uniformly in the joint range (zero velocity); the
     * goal is shown and asked for from step 0. */
    MNET_TASK_RANDOM_REACH,
    /* MotorNet (v0.1) CentreOutReach.  Training: random start and goal as
     * above, a go cue drawn uniformly in [go_cue_lo, go_cue_hi] s, a
     * fraction catch_fraction of catch trials.  Validation: every reach
     * starts at the workspace centre, goals at validation.distance every
     * validation.every radians (element b gets angle (b mod n) * every, in
     * the plane of the first two space axes), go cue at the middle of the
     * range, no catch trials.  Before the go step the goal SHOWN and the
     * position ASKED FOR are the start position (the cue is the jump of the
     * shown goal); a catch trial shows and asks for the start throughout
     * (its `goal` is the start). */
    MNET_TASK_CENTRE_OUT,
    /* MotorNet (v0.1) DelayedReach: random start and goal; the goal is
     * shown from step 0, one extra observation row (after the goal) is the
     * go signal, 0 before the go step and 1 from it on (the reference used
     * a one-step pulse; a level is kinder to a network and says the same);
     * the loss asks for the start position before the go step and the goal
     * from it on.  Catch trials (catch_fraction) never get the go signal
     * and ask for the start throughout.  Validation: the centre-out
     * geometry, go cue at the middle of the range, no catch. */
    MNET_TASK_DELAYED_REACH
} mnet_task_kind;

/* The go step of a cue drawn at c seconds is floor(c / step) (as the
 * reference's int(c / dt)): the goal is shown / asked for / signalled at
 * steps t >= go_step. */

/* Losses.  Each kind is a quantity q_t (n rows per batch column) at the
 * times listed; a term {kind, weight w, deriv_weight w'} adds
 *
 *   w  * mean_{b, t}      sum_i phi(q_t,i)
 *   w' * mean_{b, t > t0} sum_i ((q_t,i - q_{t-1},i) / step)^2
 *
 * (means over batch columns and over the listed times, resp. over the
 * consecutive pairs of them; sums over the n rows; the derivative is per
 * second, as the reference's L2xDx losses).  State quantities are taken at
 * t = 0 .. T, the initial state INCLUDED (as the reference recipe's L1);
 * hidden ones at the network outputs t = 0 .. T-1.
 *
 *   kind             q_t                                   phi   rows
 *   POSITION_L1      end point - target_t                  |x|   P
 *   POSITION_L2      end point - target_t                  x^2   P
 *   SPEED            end point velocity                    x^2   P
 *   JERK             (v_t - 2 v_{t-1} + v_{t-2}) / step^2  x^2   P   t = 2 .. T
 *   ACTIVATION_L2    activation * F_max / mean(F_max)      x^2   M
 *   MUSCLE_FORCE     muscle force (N, the "force" row)     x     M   (force >= 0:
 *                                                                     its L1)
 *   HIDDEN_L2        h' of every layer                     x^2   L*H
 *
 * The reference recipe is one term {POSITION_L1, 1, 0}.  Converting other
 * conventions: a mean over the rows instead of the sum divides w and w' by
 * n; a per-step difference without the division by the step multiplies w'
 * by step^2; a loss weight applied to "value + d * derivative" (the
 * reference's L2xDx losses) is w = weight, w' = weight * d.  E.g. the older
 * recipe's hidden penalty (weight 0.1, derivative weight 0.05, means over
 * the H units) is {HIDDEN_L2, 0.1/H, 0.005/H}; its activation penalty
 * (weight 5, means over the M muscles) is {ACTIVATION_L2, 5/M, 5*d/M}.
 * The jerk of a reference that takes diff(v, n=2) without the step is
 * w = weight * step^4.
 *
 *   COMPILED         row `compiled` of the model's loss     the row
 *                    function: a scalar per step, the
 *                    term's own penalty (mnet_model.h)
 *
 * A compiled term adds w * mean_{b, t = 0..T} of its row (deriv_weight
 * must be 0): the compiler writes the position_l1, position_l2, speed,
 * activation_l2 and muscle_force terms of a .mnet task this way when they
 * have no derivative weight, with the definitions above, and every term the
 * user writes as `loss NAME(value = EXPR)`. */
typedef enum mnet_loss_kind {
    MNET_LOSS_POSITION_L1,
    MNET_LOSS_POSITION_L2,
    MNET_LOSS_SPEED,
    MNET_LOSS_JERK,
    MNET_LOSS_ACTIVATION_L2,
    MNET_LOSS_MUSCLE_FORCE,
    MNET_LOSS_HIDDEN_L2,
    MNET_LOSS_COMPILED,
    MNET_LOSS_N_KINDS
} mnet_loss_kind;

/* A loss term of the configuration is its name, weight and derivative
 * weight; how it is computed is resolved against the model when a trainer
 * is built (mnet_task_resolve_loss): a term whose name is a row of the
 * model's compiled loss function, with no derivative weight, is that row
 * (COMPILED); otherwise a built-in name is the runtime library's kind; any
 * other name is an error.  A term without a name ({kind, w, w'}, as
 * literal initialisers give) is taken as its kind (and row) says. */
#define MNET_LOSS_NAME_MAX 32
typedef struct mnet_loss_term {
    mnet_loss_kind kind;  /* the built-in kind; COMPILED: resolved row   */
    double weight;        /* w  of the value                            */
    double deriv_weight;  /* w' of the time derivative (0: none)        */
    int compiled;         /* COMPILED: the row of the model's loss      */
    char name[MNET_LOSS_NAME_MAX]; /* as the .mnet task writes it ("":
                                      the kind's name)                  */
} mnet_loss_term;

/* A term's name: the name it was given, else its kind as the .mnet file
 * writes it ("position_l1", ...), else for a compiled term the name model m
 * gives its row ("compiled" when m is NULL).  (loss.c) */
const char *mnet_loss_name(const mnet_model *m, const mnet_loss_term *term);

/* Resolves term (in place) against model m as described above: kind and
 * compiled.  0, or -1 with a message naming the term. */
int mnet_task_resolve_loss(mnet_loss_term *term, const mnet_model *m, char *err, size_t err_size);

/* The whole configuration of a run: a plain struct (the .mnet `task`
 * block fills it), defaults from mnet_task_config_default(). */
typedef struct mnet_task_config {
    mnet_task_kind kind;          /* default MNET_TASK_RANDOM_REACH        */
    double duration;              /* s; T = round(duration / step).  1.0   */

    /* ---- observation: [goal (P), go (1, delayed reach only), vision (P),
     * proprioception (2M: length / l_o, velocity / vmax), the last k
     * actions (k*M, the older frame first)] */
    double proprio_delay;         /* s; d = round(delay / step), a value   */
    double vision_delay;          /* under one step counts as d = 1 (the
                                     reference default).  0, 0            */
    int exact_delays;             /* 0: the reference quirk - a buffer of
                                     d values starting full of the initial
                                     value, shift in the current, read the
                                     oldest: the value is d-1 steps old.
                                     1: exactly d steps old (the initial
                                     value before that).  0               */
    int action_frames;            /* k >= 0; frames start as zeros and
                                     shift in each noisy action.  0       */

    /* ---- noise: standard deviations of additive Gaussians, fixed given
     * (seed, batch index) so finite differences see the same draws */
    double action_noise;          /* on the network output before the
                                     effector step (the effector clamps)  */
    double proprio_noise;         /* on proprioception before buffering   */
    double vision_noise;          /* on vision before buffering           */
    double obs_noise;             /* on the whole observation except the
                                     goal (and go) rows                   */
    double hidden_noise;          /* on the network's hidden
                                     pre-activation (mnet_nn_noise)       */
                                  /* all 0                                */

    /* ---- go cue and catch trials (centre-out and delayed reaching) */
    double go_cue_lo, go_cue_hi;  /* s: the cue is drawn uniformly in
                                     [lo, hi].  0.05, 0.25               */
    double catch_fraction;        /* P(catch trial).  0.5                 */

    /* ---- validation geometry (centre-out and delayed reaching): reaches
     * from the workspace centre to `distance` every `every` radians */
    struct {
        double distance;              /* m.  0.1                          */
        double every;                 /* rad.  15 deg                     */
        int n_centre;                 /* 0: the centre is the middle of
                                         the joint range (the reference);
                                         n_dof: centre[] gives it          */
        double centre[MNET_TASK_MAX_DOF]; /* workspace centre as a joint
                                         position (rad / m): the end point
                                         of this configuration            */
    } validation;

    /* ---- loads (n_load = P + D rows: end point force, joint torque) */
    double endpoint_load[MNET_TASK_MAX_SPACE]; /* N, every step.  0      */
    double joint_load[MNET_TASK_MAX_DOF];      /* N m, every step.  0    */
    double curl;                  /* N s/m: end point force
                                     k * [[0, 1], [-1, 0]] * velocity
                                     (P == 2 only).  0                    */
    double channel_stiffness;     /* N/m    force channel: a spring and a  */
    double channel_damping;       /* N s/m  damper pulling the end point
                                     onto the straight start-goal line:
                                     F = -K Q (x - start) - C Q v with Q
                                     the projector orthogonal to the line
                                     (Q = I when goal == start: a catch
                                     trial is held at the start).  0, 0   */
    /* Curl and channel depend on the state and are differentiated through
     * (the gradient needs the model's step_vjp to write d/d load into
     * out[2], see mnet_train.h). */

    /* ---- losses */
    int n_losses;                          /* 1                           */
    mnet_loss_term loss[MNET_TASK_MAX_LOSSES]; /* {POSITION_L1, 1, 0}     */

    /* ---- policy network (mnet_nn.h) */
    mnet_nn_cell cell;            /* MNET_NN_GRU                          */
    int n_hidden;                 /* 128                                  */
    int n_layers;                 /* 1                                    */
    mnet_nn_ortho ortho;          /* MNET_NN_ORTHO_STACKED (PyTorch)      */
    double readout_bias;          /* -5 (the reference)                   */
    mnet_nn_readout readout;      /* MNET_NN_READOUT_SIGMOID              */
    mnet_nn_candidate candidate;  /* MNET_NN_CANDIDATE_TANH               */
    int learn_h0;                 /* 0: the state starts at 0; 1: a
                                     learned initial state               */
    double spectral_radius;       /* 0: off; > 0: each recurrent gate block
                                     scaled at init to this largest
                                     |eigenvalue| (after masks and signs) */
    /* A modular network (mnet_nn.h, "modular networks"), as the task's
     * `policy CELL(...) { module ...; input ...; connect ...; readout ...; }`
     * writes it; n_modules 0: a plain network.  The description as written:
     * the sources are observation parts named by mnet_obs_part_names, in
     * that table's order, with source_first / source_count unused (0); the
     * trainer resolves them to input columns (mnet_obs_part_columns).
     * Defaults of a pair not written: a module's units connect to their own
     * module (frac = p = 1), not to another (0); a source not written
     * reaches every unit.  Checked by mnet_run_check. */
    mnet_nn_modular modular;

    /* ---- training (mnet_optim.h): the reference recipe */
    int batch_size;               /* B.  32                               */
    long n_batches;               /* 10000 (for the driver)               */
    int batch_slice;              /* columns per slice: the batch is cut
                                     into slices of this many columns,
                                     each computed on its own, their
                                     losses and weight gradients summed in
                                     slice order (mnet_train.h).  Part of
                                     the run: the numbers depend on it,
                                     not on the thread count.  0: chosen
                                     from B (mnet_train_slice_auto)       */
    int threads;                  /* threads a trainer uses (0: the
                                     machine's cores).  NOT part of the
                                     run: every count gives the same
                                     numbers bit for bit, so it is not in
                                     the run text (MNET_SETTING_NOT_RUN)  */
    double lr;                    /* 1e-3                                 */
    double clip_norm;             /* 1 (<= 0: no clipping)                */
    double weight_decay;          /* 0                                    */
    int decoupled_decay;          /* 0: Adam's L2, 1: AdamW               */
    double beta1, beta2, eps;     /* 0.9, 0.999, 1e-8                     */
    mnet_sched sched;             /* constant.  STEP: lr * gamma every
                                     step_size batches (0: a third of the
                                     run), gamma 0.1; COSINE: from lr to
                                     eta_min (0) over the run: t_max is
                                     always n_batches (the trainer sets
                                     it), so --batches reshapes it        */
    uint64_t seed;                /* 1: network init, episodes, noise     */
} mnet_task_config;

mnet_task_config mnet_task_config_default(void);

/* The configuration as text (the run text), its settings by name and
 * their checks: mnet_settings.h. */

/* The parts of the observation, as a modular network's `input` names them
 * (name table mnet_obs_part_names, mnet_settings.h). */
typedef enum mnet_obs_part {
    MNET_OBS_GOAL,      /* goal (P rows)                                   */
    MNET_OBS_GO,        /* go signal (1 row, delayed reach only)           */
    MNET_OBS_VISION,    /* delayed end point position (P rows)            */
    MNET_OBS_PROPRIO,   /* delayed muscle lengths and velocities (2M rows) */
    MNET_OBS_ACTIONS,   /* the last k actions (k*M rows, action_frames)   */
    MNET_OBS_N_PARTS
} mnet_obs_part;

/* RNG streams (the `stream` coordinate of every draw of a run). */
enum mnet_task_stream {
    MNET_STREAM_TASK_START = 0x100,   /* uniform, index j: start joint j  */
    MNET_STREAM_TASK_GOAL = 0x101,    /* uniform, index j: goal joint j   */
    MNET_STREAM_TASK_CUE = 0x102,     /* uniform, index 0: go cue, 1: catch */
    MNET_STREAM_NOISE_ACTION = 0x110, /* normal, step t, index muscle     */
    MNET_STREAM_NOISE_VISION = 0x111, /* normal, step t (state t), index  */
    MNET_STREAM_NOISE_PROPRIO = 0x112,
    MNET_STREAM_NOISE_VISION_FILL = 0x113,  /* the initial buffer fill    */
    MNET_STREAM_NOISE_PROPRIO_FILL = 0x114,
    MNET_STREAM_NOISE_OBS = 0x115,    /* normal, step t, index row - first
                                         noisy row                        */
    MNET_STREAM_NOISE_HIDDEN = 0x120  /* + layer l (mnet_nn_noise.stream) */
};

/* Checks cfg against model m (sizes, ranges, kinds).  0, or -1 with a
 * message naming the field. */
int mnet_task_check(const mnet_task_config *cfg, const mnet_model *m, char *err, size_t err_size);

/* Steps of an episode (round(duration / step)) and of a delay (at least 1). */
int mnet_task_steps(const mnet_task_config *cfg, const mnet_model *m);
int mnet_task_delay_steps(double delay, double step);

/* ---- episodes ----------------------------------------------------------- */

/* One batch of episodes: what a generator draws and a rollout reads.  One
 * allocation (mem) with named pointers. */
typedef struct mnet_episode {
    int B, T;                 /* columns, steps                              */
    int n_dof, space_dim, n_state;
    int n_cols;               /* columns filled (<= B)                      */
    mnet_real *joint0;        /* (2D x B)  initial joint state: q, then qd  */
    mnet_real *goal_joint;    /* (2D x B)  joint state of a drawn goal (the
                                           goal is its end point); unset for
                                           validation and fixed reaches      */
    mnet_real *start;         /* (P x B)   end point of joint0              */
    mnet_real *goal;          /* (P x B)   the reach goal (a catch trial:
                                           the start)                        */
    mnet_real *goal_obs;      /* (T+1 x P x B) goal shown at step t          */
    mnet_real *target;        /* (T+1 x P x B) position the loss asks for    */
    mnet_real *go_obs;        /* (T+1 x B) go signal (delayed reach)         */
    int *go_step;             /* (B) first step of the go period (T+1: none) */
    double *go_time;          /* (B) drawn cue time (s); 0 without a cue     */
    unsigned char *catch_trial; /* (B) 1: catch trial                         */
    mnet_real *scratch;       /* (n_state x B) for the generators            */
    void *mem;
} mnet_episode;

/* Allocates ep for B columns of T steps of model m.  0 or -1 (message). */
int mnet_episode_alloc(mnet_episode *ep, const mnet_model *m, int B, int T, char *err,
                       size_t err_size);
void mnet_episode_free(mnet_episode *ep);

/* Draws n <= ep->B episodes (columns 0 .. n-1): column b is episode
 * element0 + b of the stream keyed by seed.  validation != 0 gives the
 * validation set of the kind (see mnet_task_kind; the random reach has
 * none: it draws as in training, so give it its own seed or episode
 * range).  params is the model parameter table.  0 or -1 (message). */
int mnet_task_generate(const mnet_task_config *cfg, const mnet_model *m, const mnet_real *params,
                       int validation, uint64_t seed, uint32_t element0, int n,
                       mnet_episode *ep, char *err, size_t err_size);

/* Fixed reaches (an evaluation goal set): column b starts at joint state
 * joint0[:, b] (2D x ld) and reaches for goal[:, b] (P x ld), shown and
 * asked for from step 0, no cue, no catch.  0 or -1 (message). */
int mnet_task_fixed(const mnet_task_config *cfg, const mnet_model *m, const mnet_real *params,
                    const mnet_real *joint0, const mnet_real *goal, int ld, int n,
                    mnet_episode *ep, char *err, size_t err_size);

/* dst columns 0 .. n-1 = src columns c0 .. c0+n-1 (same model and T);
 * dst->n_cols = n. */
void mnet_episode_copy_cols(mnet_episode *dst, const mnet_episode *src, int c0, int n);

/* ---- loads (forward beside backward) -------------------------------------
 * load (n_load x ld), n columns: the load of step t given the state
 * (n_state x ld) before the step: constant end point and joint loads, plus
 * the curl field and the force channel (columns' start / goal from ep). */
void mnet_task_load(const mnet_task_config *cfg, const mnet_model *m, const mnet_episode *ep,
                    const mnet_real *state, mnet_real *load, int n, int ld);
/* g_state (n_state x ld) += (d load / d state)^T g_load (n_load x ld). */
void mnet_task_load_vjp(const mnet_task_config *cfg, const mnet_model *m,
                        const mnet_episode *ep, const mnet_real *g_load, mnet_real *g_state,
                        int n, int ld);
/* 1 when the load depends on the state (curl or channel on). */
int mnet_task_load_is_dynamic(const mnet_task_config *cfg);

#endif
