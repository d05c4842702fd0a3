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
 */
#ifndef MNET_TASK_CHECK_H
#define MNET_TASK_CHECK_H

#include "program.h"

enum { TASK_MAX_LOSSES = 16 };

/* A loss term: a built-in kind, or one the user wrote,
 *   loss NAME(weight = W, value = EXPR);
 * EXPR is the term's per-step value, an expression over the names listed in
 * lower_loss.h (end point, target, joint and muscle states, muscle
 * parameters); the compiler lowers it with its VJP (lower_loss.c). */
typedef struct {
    char name[32];          /* position_l1, position_l2, speed, jerk, activation_l2,
                               muscle_force, hidden_l2, or the user's name   */
    double weight, derivative_weight;
    const ast_expr *value;  /* the user's per-step value; NULL: built in     */
    src_loc loc;            /* where the term is written                     */
} task_loss;

typedef struct task_spec_s {
    const char *effector;   /* effector name                                  */
    char kind[32];
    double duration;
    double proprioception_delay, vision_delay;
    int exact_delays;
    int action_frames;
    double noise_action, noise_proprioception, noise_vision, noise_observation, noise_hidden;
    double go_cue[2];
    double catch_fraction;
    double validation_distance, validation_every;
    double endpoint_load[3], joint_load[16], curl;
    double channel_stiffness, channel_damping;
    int n_losses;
    task_loss losses[TASK_MAX_LOSSES];
    char policy[16];
    int hidden, layers;
    int batch, batches;
    double lr, clip_norm, weight_decay;
    char schedule[16];
    double seed;
} task_spec;

void task_spec_default(task_spec *t);
/* Gives t the reference recipe's loss: one position_l1 term, weight 1 (a
 * task that writes no loss, or a file without a task). */
void task_spec_recipe_loss(task_spec *t);

/* Checks task `def`; fills *out (when not NULL).  Returns the errors found. */
int task_check(mnet_ctx *ctx, const mnet_program *prog, const mnet_def *def, task_spec *out);

#endif
