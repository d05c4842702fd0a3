/* model_util.h - test helpers around compiled effectors: run the graph's
 * functions through the interpreter on batches laid out (rows x B). */
#ifndef MNET_MODEL_UTIL_H
#define MNET_MODEL_UTIL_H

#include "compile.h"
#include "mnet_model.h"

/* Compiles a library model file (path relative to the source tree) or text.
 * Returns NULL (after printing diagnostics) on failure. */
mnet_compilation *tm_compile_file(const char *rel_path, const char *effector);
mnet_compilation *tm_compile_text(const char *text, const char *effector);
/* The effector of rel_path with a task that compiles every per-step
 * built-in loss term and a written one (lower_loss.h), rows in order:
 * position_l1, position_l2, speed, activation_l2, muscle_force, written =
 *   norm(position - target) + sum(exp(-q) * qd^2)
 *   + sum(force * activation / max_force) + sum(l_mt * v_mt) / n_muscles */
mnet_compilation *tm_compile_with_losses(const char *rel_path, const char *effector);
/* A loss target (space_dim x B, malloc'd) near the end point of state
 * (rows x B): each coordinate 0.05 .. 0.2 beyond it, so |position - target|
 * stays away from its kink at 0. */
double *tm_loss_target(const mnet_effector *e, const double *state, int B, unsigned long long *seed);

/* The default parameter table (malloc'd). */
double *tm_params(const mnet_effector *e);

/* Runs f on B elements: in/out arrays (rows x B). */
void tm_eval(const mnet_effector *e, const ir_function *f, int B, const double *const *in, double *const *out,
             const double *params);

/* Deterministic uniform numbers in [lo, hi) (xorshift, seeded). */
double tm_uniform(unsigned long long *state, double lo, double hi);

/* A generic state: random joint states well inside the range, then `steps`
 * steps with random actions in (0.1, 0.9).  state: (n_state x B). */
void tm_random_state(const mnet_effector *e, const double *params, int B, int steps, unsigned long long *seed,
                     double *state);

/* Runs a function of a compiled model table (C or JIT) on double arrays
 * (rows x B): directly for a double table, converting to and from float for
 * a float one (single != 0).  params: the model's table in double. */
void tm_run_fn(mnet_fn f, int single, int B, int n_in, const double *const *in, const int *in_rows, int n_out,
               double *const *out, const int *out_rows, const double *params, int n_params);

/* Checks a model table's muscle_max_force (C or JIT) against the names:
 * entry m must be the index of "<muscle m>.max_force" in param_names, or -1
 * when there is no such parameter.  Prints each mismatch; returns their
 * number.  `with_force` (may be NULL) gets the number of muscles that have
 * one. */
int tm_check_max_force(const mnet_model *m, const char *what, int *with_force);

#endif
