/* task_check.h - the `task` block: what to train, checked and resolved.
 *
 *   task reach {
 *     effector RigidTendonArm26;            (an effector name)
 *     kind random_target_reach;             (centre_out_reach, delayed_reach)
 *     duration 1 s;
 *     delay proprioception = 20 ms, vision = 50 ms;
 *     exact_delays 0;                       (1: no reference off-by-one)
 *     action_frames 1;
 *     noise action = 0, proprioception = 0, vision = 0, observation = 0, hidden = 0;
 *     go_cue [50 ms, 250 ms];  catch_fraction 0.5;
 *     validation distance = 10 cm, every = 15 deg;
 *     load endpoint = [0, 0], joint = [0, 0], curl = 0;
 *     force_channel stiffness = 0, damping = 0;
 *     loss position_l1(weight = 1);         (one statement per term)
 *     policy gru(hidden = 128, layers = 1);
 *     train batch = 64, batches = 2000, lr = 1e-3, clip_norm = 1, seed = 1,
 *           schedule = constant, weight_decay = 0;
 *   }
 *
 * Every setting is an entry of the run's settings table (mnet_settings.h):
 * `HEAD VALUE;` is the setting HEAD, `HEAD a = V, b = W;` the settings
 * HEAD.a and HEAD.b, `policy CELL(hidden = N)` the settings policy and
 * policy.hidden.  The table gives each its unit, range and messages.
 */
#ifndef MNET_TASK_CHECK_H
#define MNET_TASK_CHECK_H

#include "mnet_settings.h"
#include "program.h"

/* A task as the compiler holds it: the run's configuration itself (the
 * runtime's struct, mnet_task.h: there is no second copy), the effector it
 * drives, and where each loss term was written with the value expression
 * of a term of the user's own:
 *
 *   loss NAME(weight = W, value = EXPR);
 *
 * EXPR is the term's per-step value, an expression over the names listed in
 * lower_loss.h (end point, target, joint and muscle states, muscle
 * parameters); the compiler lowers it with its VJP (lower_loss.c). */
typedef struct task_spec_s {
    const char *effector;                           /* effector name     */
    mnet_task_config cfg;                           /* the configuration */
    const ast_expr *loss_value[MNET_TASK_MAX_LOSSES]; /* NULL: built in  */
    src_loc loss_loc[MNET_TASK_MAX_LOSSES];         /* where written     */
    /* where each module pair's delay was written [to][from] */
    src_loc delay_loc[MNET_NN_MAX_MODULES][MNET_NN_MAX_MODULES];
} task_spec;

/* One loss term as the lowering reads it (a view into a task_spec). */
typedef struct {
    const char *name;
    double derivative_weight;
    const ast_expr *value;
    src_loc loc;
} task_loss;

task_loss task_loss_at(const task_spec *t, int i);

/* The defaults (mnet_task_config_default) and no effector. */
void task_spec_default(task_spec *t);
/* Gives t the reference recipe's loss: one position_l1 term, weight 1 (a
 * task that writes no loss, or a file without a task). */
void task_spec_recipe_loss(task_spec *t);

/* Checks task `def`; fills *out (when not NULL).  Returns the errors found. */
int task_check(mnet_ctx *ctx, const mnet_program *prog, const mnet_def *def, task_spec *out);

/* The module delays of t against its episode on an effector of step
 * `step` (s; 0: the times only, against the duration): each pair's
 * delay, in steps, must be shorter than the episode.  Reports at the
 * delay's position; returns the errors found. */
int task_check_delays(mnet_ctx *ctx, const task_spec *t, double step);

/* `set NAME VALUE`: the setting (or loss term weight, loss.NAME.weight /
 * loss.NAME.derivative) called name, to the value the .mnet text `value`
 * gives, through the same checks and messages as a task in a file (units,
 * dimensions, ranges, names).  On failure cfg is unchanged and err holds
 * the message.  *reshapes (may be NULL) gets 1 when the network's shape
 * may change.  0 or -1. */
/* The number .mnet text `value` gives, checked against dimension `want`
 * (DIM_NONE: none allowed but a bare number; -1: any) as a parameter's
 * value is: 0, or -1 with the message in err. */
int task_eval_number(const char *name, const char *value, int want, double *out, char *err, size_t err_size);

int task_set(mnet_task_config *cfg, const char *name, const char *value, int *reshapes, char *err,
             size_t err_size);

#endif
