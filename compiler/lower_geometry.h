/* lower_geometry.h - muscle geometry in terms of the skeleton placeholders.
 *
 *   path world(-0.15, 0.03), upper_arm(0.094, 0.017);   points on bodies
 *   polynomial a0 = 0.151, a1 = [-0.03, 0], a2 = [0, 0]; lumped (MODELS 5.2)
 *   moment_arm [-1, 0];                                   constant arms
 *
 * For paths and polynomials l_mt(q) is built symbolically and the moment
 * arms are its derivatives dl_mt/dq, taken by the compiler; v_mt = r . qd.
 */
#ifndef MNET_LOWER_GEOMETRY_H
#define MNET_LOWER_GEOMETRY_H

#include "model.h"

typedef struct {
    ir_id lmt;      /* l_mt(q) in placeholders            */
    ir_id vmt;      /* v_mt(q, qd)                        */
    ir_id *arms;    /* (dof) moment arms r_j(q)           */
} muscle_geometry;

/* Parses the geometry statements of one muscle block into m (and its
 * symbolic form into *out).  Returns 0 on success. */
int geometry_lower(eval_env *E, mnet_effector *eff, model_muscle *m, const ast_stmt *body,
                   const double *poly_offset, muscle_geometry *out);

#endif
