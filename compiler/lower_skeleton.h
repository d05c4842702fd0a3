/* lower_skeleton.h - skeletons: equations of motion derived symbolically.
 *
 * Every skeleton, built in or written by the user, is reduced to
 *   M(q) qdd + C(q, qd) = tau,   end point p(q),   body frames (origin, angle)
 * in terms of placeholders (lower_subst.h), rows:
 *   q 0..dof-1, qd dof..2dof-1, tau 2dof..3dof-1, F 3dof..3dof+space-1.
 * From these the compiler derives qdd = M^-1 (tau - C), the end-point
 * velocity J qd and J^T F by symbolic differentiation of p.
 */
#ifndef MNET_LOWER_SKELETON_H
#define MNET_LOWER_SKELETON_H

#include "model.h"

struct skeleton_desc {
    int n_sym;            /* 3*dof + space                                */
    ir_id *qdd;           /* (dof)                                        */
    ir_id *pos;           /* (space)                                      */
    ir_id *vel;           /* (space)                                      */
    ir_id *jtf;           /* (dof)                                        */
    ir_id *body_origin;   /* (n_bodies x space)                           */
    ir_id *body_angle;    /* (n_bodies) rotation in the plane, -1: none   */
    ir_id *mass_matrix;   /* (dof x dof) for checks and dumps             */
    ir_id *bias;          /* (dof)                                        */
};

/* Lowers the effector's `skeleton ...` statement into eff (sizes, names,
 * ranges, params) and eff->skel.  Returns 0 on success. */
int skeleton_lower(eval_env *E, mnet_effector *eff, const ast_stmt *stmt);
void skeleton_desc_free(skeleton_desc *d);

/* Symbolic solve of M x = b (M symmetric positive definite, n x n). */
int solve_spd(ir_graph *g, int n, const ir_id *M, const ir_id *b, ir_id *x);

/* Looks up a named arg of a call/setting; NULL if absent. */
const ast_arg *find_arg(const ast_arg *args, const char *name);
/* Reports named args not in `allowed` (NULL-terminated). */
int check_args(mnet_ctx *ctx, const ast_arg *args, const char *const *allowed, const char *what);

#endif
