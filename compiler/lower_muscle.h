/* lower_muscle.h - instantiating a muscle model for one muscle.
 *
 * A muscle model is a small program over named state rows:
 *   der:     row derivatives from the current rows, input and geometry
 *   update:  new rows from the old rows, the supplied derivatives der(x),
 *            the step dt and the (old) geometry, run statement by statement
 *   init:    rows at the initial state from the geometry
 *   sense:   proprioceptive length and velocity
 * Each function below evaluates one of these into the graph for one muscle,
 * whose parameters are bound in `params` (see muscle_param_scope).
 */
#ifndef MNET_LOWER_MUSCLE_H
#define MNET_LOWER_MUSCLE_H

#include "model.h"

typedef struct {
    ir_id lmt, vmt;      /* geometry the model sees */
    ir_id u;             /* excitation (-1 where unused) */
    ir_id dt;            /* step of this update */
} muscle_io;

/* The values muscle parameter `name` (as the model declares it: "max_force")
 * may take: max_force, optimal_length, tau_act, tau_deact > 0; tendon_slack
 * >= 0; a_min in [0, 1); any other name is unbounded.  The same in every
 * muscle model, built in or written by the user. */
param_range muscle_param_range(const char *name);

scope *muscle_param_scope(eval_env *E, const muscle_model *mm, const ir_id *param_nodes);
int muscle_ode(eval_env *E, const muscle_model *mm, scope *params, const ir_id *rows,
               const muscle_io *io, ir_id *ders);
int muscle_update(eval_env *E, const muscle_model *mm, scope *params, const ir_id *rows,
                  const ir_id *ders, const muscle_io *io, ir_id *rows_out);
int muscle_init(eval_env *E, const muscle_model *mm, scope *params, const muscle_io *io,
                ir_id *rows_out);
int muscle_sense(eval_env *E, const muscle_model *mm, scope *params, const ir_id *rows,
                 const muscle_io *io, ir_id *length, ir_id *velocity);

#endif
