/* lower_loss.h - the per-step loss of a task as a graph with its VJP.
 *
 * Every loss term whose value at step t depends on that step's state alone
 * is compiled into the effector's graph, as one output row per term:
 *
 *   loss      in: state (n_state), target (space_dim)   out: value (n_loss)
 *   loss_vjp  in: state, target, g_value (n_loss)        out: g_state
 *
 * These are the terms a user writes (`loss NAME(weight = W, value = EXPR);`)
 * and the built-in kinds position_l1, position_l2, speed, activation_l2 and
 * muscle_force when they have no derivative weight.  Terms that couple
 * steps (a derivative weight, jerk) or read the network (hidden_l2) stay in
 * the runtime's loss library (runtime/loss.c), which sums every term over
 * time and batch with its weight (definitions in runtime/include/mnet_task.h).
 *
 * Names a written value may use, each the quantity at the step (vectors
 * over space dimensions, joints or muscles):
 *   position, velocity        end point (space_dim)
 *   target                    the position the task asks for (space_dim)
 *   q, qd                     joint angles and velocities (dof)
 *   l_mt, v_mt                musculotendon length and velocity (M)
 *   ROW                       each state row of the muscle model, e.g.
 *                             activation, force (M)
 *   PARAM                     each parameter of the muscle model, e.g.
 *                             max_force (M)
 *   n_muscles                 M
 * The value must be a scalar (e.g. sum(abs(position - target))).
 */
#ifndef MNET_LOWER_LOSS_H
#define MNET_LOWER_LOSS_H

#include "model.h"
#include "task_check.h"

/* Lowers the compiled terms of `task` (NULL: the reference recipe, one
 * position_l1 term) into eff: fn_loss, fn_loss_vjp, n_loss, loss_names,
 * loss_term.  Errors go to E->ctx with the position of the term; returns 1
 * on success. */
int lower_loss(eval_env *E, mnet_effector *eff, const task_spec *task);

/* Whether task term `l` is compiled (see above). */
int loss_is_compiled(const task_loss *l);

#endif
