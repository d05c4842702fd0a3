/* mnet.h - mnet from other programs: the one public header of libmnet.so.
 *
 *   compile      a .mnet file or text -> an effector (mn_effector), the LLVM
 *                JIT inside the library; diagnostics returned, never printed
 *   effector     sizes, names, parameters; batched init / step / sense /
 *                points and their vector-Jacobian products on your buffers
 *   environment  a task over an effector (mn_env): reset with a seed, step
 *                with actions -> observations, per-term losses, done - the
 *                task's delays, noise, loads and go cues as training uses
 *                them (the same runtime functions, in the same order)
 *   runs         a trained run directory (mn_run) and its policy (mn_policy)
 *   training     start, continue and stop a run (mn_trainer)
 *
 * Prefix: mn_ (the library's public layer; the compiler and runtime inside
 * it use mnet_ and export nothing).
 *
 * Layout.  Every array is structure of arrays, as the model functions use
 * it: a block of `rows` rows for n batch columns is (rows x n), element
 * (row, b) at a[row*n + b] - numpy's (rows, n) in C order, the transpose of
 * a (batch, rows) array.
 *
 * Precision.  The effector's functions (mn_effector_*) run a double
 * precision build of the model.  Environments, policies and training run
 * the single precision runtime that `mnet train` and `mnet eval` use, so
 * their arrays are float and a rollout equals `mnet eval`'s, bit for bit.
 *
 * Errors.  A function that can fail returns a status (MN_OK == 0, or a
 * negative mn_status) or NULL, and writes a message into the caller's
 * buffer err (errlen bytes; err may be NULL).  The library never prints,
 * never exits and never aborts on bad input: a NULL handle or buffer, a
 * size that does not fit, a call out of order, each is an error.
 *
 * Threads.  Separate handles may be used from separate threads at once.
 * One handle is used by one thread at a time, except mn_trainer_stop, which
 * any thread (or a signal handler) may call while mn_trainer_train runs.
 * An environment, policy or trainer reads the effector it was made from:
 * free the effector (or run) last.
 */
#ifndef MNET_H
#define MNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MN_API __attribute__((visibility("default")))
#else
#define MN_API
#endif

/* ---- version -------------------------------------------------------------
 * MN_ABI changes whenever a declaration here changes incompatibly; compare
 * mn_abi() (the library's) with MN_ABI (the header's) before anything else. */
#define MN_ABI 1
#define MN_VERSION "0.1.0"
MN_API int mn_abi(void);
MN_API const char *mn_version(void);

typedef enum mn_status {
    MN_OK = 0,
    MN_EINVAL = -1,   /* a bad argument: NULL handle or buffer, size, name    */
    MN_ECOMPILE = -2, /* the .mnet sources do not compile (diagnostics in err) */
    MN_EIO = -3,      /* a file could not be read or written                  */
    MN_ERUN = -4,     /* a run failed (a non-finite loss, a refused setting)  */
    MN_ENOMEM = -5,   /* out of memory                                        */
    MN_ESTATE = -6    /* a call out of order (step before reset, past done)   */
} mn_status;

typedef struct mn_effector mn_effector;
typedef struct mn_env mn_env;
typedef struct mn_run mn_run;
typedef struct mn_policy mn_policy;
typedef struct mn_trainer mn_trainer;

/* ==== compile ============================================================== */

typedef struct mn_compile_options {
    const char *path;     /* the main .mnet file (with text: its name)        */
    const char *text;     /* the file's text (NULL: read path)                */
    const char *task;     /* NULL: the file's last task (none: the reference
                             recipe's reaching task on its last effector)     */
    const char *effector; /* NULL: the task's effector                        */
} mn_compile_options;

/* Compiles; NULL on failure with the compiler's diagnostics (file:line:col,
 * the line and a caret) in err. */
MN_API mn_effector *mn_compile(const mn_compile_options *o, char *err, size_t errlen);
MN_API mn_effector *mn_compile_file(const char *path, char *err, size_t errlen);
MN_API mn_effector *mn_compile_text(const char *name, const char *text, char *err, size_t errlen);
MN_API void mn_effector_free(mn_effector *e);

/* The compiler's warnings ("" when none); the effector's name; the task's
 * name; the task's run text (every setting, then the parameter values as
 * they are now: mn_effector_set_param changes them). */
MN_API const char *mn_effector_diagnostics(const mn_effector *e);
MN_API const char *mn_effector_name(const mn_effector *e);
MN_API const char *mn_effector_task(const mn_effector *e);
MN_API const char *mn_effector_run_text(mn_effector *e);

/* ==== sizes, names, parameters ============================================ */

typedef enum mn_size {
    MN_N_DOF,          /* D   joint coordinates                              */
    MN_SPACE_DIM,      /* P   end point dimensions                           */
    MN_N_MUSCLES,      /* M   muscles: actions                               */
    MN_N_MUSCLE_ROWS,  /*     state rows per muscle                          */
    MN_N_STATE,        /* S   state rows                                     */
    MN_N_SENSE,        /* NS  sensed rows (P + 2M)                           */
    MN_N_LOAD,         /* NL  load rows (P end point force, D joint torques) */
    MN_N_PARAMS,       /*     model parameters                               */
    MN_N_LOSS,         /*     compiled per-step loss rows                    */
    MN_N_POINTS,       /* K   drawing points (mn_effector_points)            */
    MN_N_MINISTEPS     /*     integrator ministeps per step                  */
} mn_size;
/* The size, or -1 (NULL handle or unknown `which`). */
MN_API int mn_effector_size(const mn_effector *e, int which);
/* Seconds per step (NaN for a NULL handle). */
MN_API double mn_effector_step_size(const mn_effector *e);

typedef enum mn_names {
    MN_NAMES_STATE,      /* (S)  "joint.q1", "muscle.force.biceps", ...     */
    MN_NAMES_MUSCLE,     /* (M)                                              */
    MN_NAMES_MUSCLE_ROW, /* (muscle rows) "activation", "force", ...        */
    MN_NAMES_PARAM,      /* (parameters) "skeleton.mass", ...                */
    MN_NAMES_LOSS,       /* (compiled loss rows)                             */
    MN_NAMES_POINT       /* (K)                                              */
} mn_names;
/* Name i of a list, or NULL (out of range, NULL handle). */
MN_API const char *mn_effector_names(const mn_effector *e, int which, int i);

/* Parameter index by name (-1: none); value; set with the compiler's range
 * check (a positive mass, ...).  The values are run-time data: the next
 * call (and every environment or trainer made after it) uses them. */
MN_API int mn_effector_param_index(const mn_effector *e, const char *name);
MN_API int mn_effector_get_param(const mn_effector *e, int i, double *value, char *err, size_t errlen);
MN_API int mn_effector_set_param(mn_effector *e, int i, double value, char *err, size_t errlen);
/* The joint range: lower and upper (D) each. */
MN_API int mn_effector_joint_range(const mn_effector *e, double *lower, double *upper, char *err,
                                   size_t errlen);

/* ==== batched model functions (double precision) ==========================
 * n >= 1 columns; shapes in the layout above.  load may be NULL (no load).
 * A VJP writes (overwrites) the gradients of the inputs given the gradient
 * of the outputs; g_load may be NULL (not wanted). */
/* state (S x n) = init(joint0 (2D x n): q, then qd) */
MN_API int mn_effector_init(mn_effector *e, int n, const double *joint0, double *state, char *err,
                            size_t errlen);
/* g_joint0 (2D x n) = (d state / d joint0)^T g_state (S x n) */
MN_API int mn_effector_init_vjp(mn_effector *e, int n, const double *joint0, const double *g_state,
                                double *g_joint0, char *err, size_t errlen);
/* next (S x n) = step(state (S x n), action (M x n), load (NL x n)) */
MN_API int mn_effector_step(mn_effector *e, int n, const double *state, const double *action,
                            const double *load, double *next, char *err, size_t errlen);
/* g_state (S x n), g_action (M x n), g_load (NL x n) from g_next (S x n) */
MN_API int mn_effector_step_vjp(mn_effector *e, int n, const double *state, const double *action,
                                const double *load, const double *g_next, double *g_state,
                                double *g_action, double *g_load, char *err, size_t errlen);
/* sense (NS x n): end point position, muscle length / l_o, velocity / vmax */
MN_API int mn_effector_sense(mn_effector *e, int n, const double *state, double *sense, char *err,
                             size_t errlen);
MN_API int mn_effector_sense_vjp(mn_effector *e, int n, const double *state, const double *g_sense,
                                 double *g_state, char *err, size_t errlen);
/* points (K*P x n): coordinate i of point k at row k*P + i */
MN_API int mn_effector_points(mn_effector *e, int n, const double *state, double *points, char *err,
                              size_t errlen);

/* ==== environment ===========================================================
 * n episodes side by side (columns) of the task a run text describes (NULL:
 * the effector's task, mn_effector_run_text) on effector e, with e's
 * parameter values (the run text's param. lines override them).  One
 * episode is T steps; step t:
 *   obs_t     observation (I x n): goal, go signal (delayed reach), delayed
 *             and noisy vision and proprioception, the last k actions
 *   action_t  yours (M x n), plus the task's action noise (the effector
 *             clamps activations to [0, 1])
 *   load_t    the task's load of s_t (constant, curl, channel)
 *   s_{t+1} = step(s_t, action_t, load_t), sensed into the delay buffers
 * and returns obs_{t+1}, each loss term's UNWEIGHTED value at s_{t+1}
 * (terms x n, as `mnet eval` records loss.<term>; NaN where a term has no
 * value - jerk before step 2, hidden_l2 always: an environment has no
 * network), the reward -sum_k weight_k * value_k (NaN terms left out; the
 * derivative parts of the training loss are not per-step) and done (1 after
 * step T-1). */
MN_API mn_env *mn_env_new(mn_effector *e, const char *run_text, int n, char *err, size_t errlen);
MN_API void mn_env_free(mn_env *env);

typedef enum mn_env_dim {
    MN_ENV_N,          /* columns (episodes side by side)                    */
    MN_ENV_STEPS,      /* T steps per episode                                */
    MN_ENV_OBS,        /* I observation rows                                 */
    MN_ENV_ACTIONS,    /* M action rows                                      */
    MN_ENV_STATE,      /* S state rows                                       */
    MN_ENV_SPACE_DIM,  /* P                                                  */
    MN_ENV_LOSSES,     /* loss terms                                         */
    MN_ENV_T           /* the current step (0 after reset; -1 before)        */
} mn_env_dim;
MN_API int mn_env_size(const mn_env *env, int which);
/* Loss term k: its name and weight (NULL / NaN out of range). */
MN_API const char *mn_env_loss_name(const mn_env *env, int k);
MN_API double mn_env_loss_weight(const mn_env *env, int k);
/* The environment's run text (the task, its settings, the parameters). */
MN_API const char *mn_env_run_text(const mn_env *env);

enum {
    MN_RESET_VALIDATION = 1, /* the task's validation set: element b of the
                                fixed geometry (centre-out reaches), no noise */
    MN_RESET_NO_NOISE = 2    /* episodes drawn as in training, without noise  */
};
/* New episodes: column b is episode b drawn from `seed` as training and
 * `mnet eval --episodes N --seed S` draw them (with noise keyed by seed and
 * b), or the validation set.  obs (I x n): the first observation. */
MN_API int mn_env_reset(mn_env *env, uint64_t seed, int flags, float *obs, char *err, size_t errlen);
/* One step; obs (I x n); reward (n), terms (losses x n, double) and done may
 * be NULL. */
MN_API int mn_env_step(mn_env *env, const float *action, float *obs, double *reward, double *terms,
                       int *done, char *err, size_t errlen);

typedef enum mn_env_array {
    MN_ENV_GET_STATE,   /* (S x n)  s_t, the state now                        */
    MN_ENV_GET_ACTION,  /* (M x n)  the last action applied (noise included)  */
    MN_ENV_GET_LOAD,    /* (NL x n) the last load applied                     */
    MN_ENV_GET_TARGET,  /* (P x n)  the position the loss asks for at s_t     */
    MN_ENV_GET_GOAL,    /* (P x n)  the reach goal (a catch trial: the start) */
    MN_ENV_GET_START    /* (P x n)  the start position                        */
} mn_env_array;
MN_API int mn_env_get(const mn_env *env, int what, float *out, char *err, size_t errlen);

/* ==== trained runs and their policies ====================================== */

/* Opens the run in DIR (DIR/checkpoint.mnetckpt, as `mnet train` writes it):
 * the model rebuilt from the sources stored in it (nothing else is read),
 * the stored run text, the network. */
MN_API mn_run *mn_run_open(const char *dir, char *err, size_t errlen);
MN_API void mn_run_free(mn_run *r);
MN_API const char *mn_run_text(const mn_run *r);
/* The run's effector (owned by the run; its parameter values the run's). */
MN_API mn_effector *mn_run_effector(mn_run *r);
/* Batches trained. */
MN_API long mn_run_batches(const mn_run *r);

typedef enum mn_net_size {
    MN_NET_INPUTS,     /* I                                                   */
    MN_NET_HIDDEN,     /* H per layer                                         */
    MN_NET_LAYERS,     /* L                                                   */
    MN_NET_OUTPUTS,    /* M                                                   */
    MN_NET_CELL,       /* 0 GRU, 1 RNN, 2 MLP                                 */
    MN_NET_WEIGHTS     /* parameters (may not fit an int: mn_run_weights)     */
} mn_net_size;
MN_API long mn_run_net(const mn_run *r, int which);
/* The network's parameters (MN_NET_WEIGHTS floats, mnet_nn's layout:
 * PyTorch's weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..., then
 * the read-out weight and bias). */
MN_API int mn_run_weights(const mn_run *r, float *out, size_t n, char *err, size_t errlen);

/* A policy: the run's network stepped one observation at a time. */
MN_API mn_policy *mn_policy_new(const mn_run *r, char *err, size_t errlen);
MN_API void mn_policy_free(mn_policy *p);
/* Starts the episodes env has just been reset to: the state zero, the
 * hidden noise keyed as env's episodes (as training and `mnet eval` do).
 * Refused when env's observation or actions do not fit the network. */
MN_API int mn_policy_reset(mn_policy *p, const mn_env *env, char *err, size_t errlen);
/* output (M x n) = the network's output for obs (I x n), before action
 * noise (mn_env_step adds it) */
MN_API int mn_policy_act(mn_policy *p, const float *obs, float *output, char *err, size_t errlen);

/* ==== training ==============================================================
 * A new run of the task a run text describes (NULL: the effector's) on e,
 * written to DIR as `mnet train` writes it (DIR/checkpoint.mnetckpt,
 * log.csv, weights.safetensors, validation.csv: `mnet eval DIR`,
 * `mnet train --resume --out DIR` and mn_run_open read it); DIR NULL:
 * nothing is written.  DIR must not hold a run; it is locked while the
 * trainer lives. */
MN_API mn_trainer *mn_trainer_new(mn_effector *e, const char *run_text, const char *dir, char *err,
                                  size_t errlen);
/* Continues the run in DIR. */
MN_API mn_trainer *mn_trainer_resume(const char *dir, char *err, size_t errlen);
MN_API void mn_trainer_free(mn_trainer *t);
/* Trains batches up to `end` (<= 0: the run's train.batches), through the
 * one training loop; stops after the batch in progress when
 * mn_trainer_stop is called.  A checkpoint is written every tenth of the
 * run and at the end; at the run's last batch, weights and validation too. */
MN_API int mn_trainer_train(mn_trainer *t, long end, char *err, size_t errlen);
MN_API void mn_trainer_stop(mn_trainer *t);
MN_API long mn_trainer_batches(const mn_trainer *t);
/* The mean loss of the last min(100, trained) batches (NaN: none). */
MN_API double mn_trainer_loss(const mn_trainer *t);
MN_API const char *mn_trainer_run_text(mn_trainer *t);

#ifdef __cplusplus
}
#endif

#endif
