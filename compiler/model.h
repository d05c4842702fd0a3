/* model.h - a lowered effector: the flat, id-indexed model the user's tree
 * compiles to, plus its expression graph and the functions of the model
 * interface (runtime/include/mnet_model.h).
 *
 * Lifetimes (STYLE.md): the AST belongs to the mnet_ctx; a mnet_effector is
 * built from it by lower_effector() and owns its graph and tables; it stays
 * valid after the context is freed only for the fields marked (owned).
 */
#ifndef MNET_MODEL_H_COMPILER
#define MNET_MODEL_H_COMPILER

#include "eval.h"
#include "ir.h"
#include "program.h"

typedef enum { INTEG_EULER, INTEG_RK4, INTEG_MOTORNET_RK4 } integrator_kind;
typedef enum { GEOM_PATH, GEOM_POLYNOMIAL, GEOM_CONSTANT } geometry_kind;
typedef enum { SKEL_POINT_MASS, SKEL_PLANAR_CHAIN, SKEL_USER } skeleton_kind;

/* The values a parameter may take, decided where the compiler lowers it
 * (lower_skeleton.c, muscle_param_range): lo <= value <= hi, strictly at a
 * bound marked open.  A new table entry is unbounded ([-inf, inf]); every
 * value must be finite.  effector_param_check (lower_params.h) checks a value
 * against it, at compile time and for a value set at run time. */
enum {
    PARAM_LO_OPEN = 1u,  /* value > lo  (else value >= lo)                */
    PARAM_HI_OPEN = 2u,  /* value < hi  (else value <= hi)                */
};
typedef struct {
    double lo, hi;       /* in the parameter's SI unit                    */
    unsigned flags;      /* PARAM_LO_OPEN | PARAM_HI_OPEN                 */
    const char *why;     /* (static) what a value outside breaks, or NULL */
} param_range;

/* One entry of the run-time parameter table. */
typedef struct {
    char *name;          /* e.g. "biceps.max_force", "skeleton.m1"        */
    double value;        /* default after overrides and units             */
    src_loc loc;         /* where the value was written                   */
    unit_dim dim;        /* its documented dimension (DIM_NONE: any)      */
    param_range range;   /* the values it may take                        */
} model_param;

typedef struct {
    int body;            /* 0 = world, else skeleton body index + 1       */
    double coord[3];     /* in the body's frame                           */
    src_loc loc;
} path_point;

typedef struct {
    char *name;
    src_loc loc;
    int param_base;      /* first of the model's scalar params in table   */
    geometry_kind geometry;
    int n_points;
    path_point *points;  /* GEOM_PATH (n_points)                          */
    double a0;           /* GEOM_POLYNOMIAL                               */
    double *a1, *a2;     /* GEOM_POLYNOMIAL (dof)                         */
    double *offset;      /* GEOM_POLYNOMIAL (dof) subtracted from q       */
    double *arms;        /* GEOM_CONSTANT (dof)                           */
} model_muscle;

/* A muscle model as written (muscle_model NAME { ... }), resolved. */
typedef struct {
    const char *name;
    src_loc loc;
    int n_params;
    const char **param_names;      /* (n_params) scalar parameters         */
    const ast_expr **param_defaults; /* (n_params) NULL if required        */
    unit_dim *param_dims;          /* (n_params) documented units          */
    const char *input_name;        /* excitation                           */
    const char *lmt_name, *vmt_name;
    int n_rows;
    const char **row_names;        /* (n_rows)                             */
    const ast_expr **row_inits;    /* (n_rows) NULL = 0                    */
    const ast_expr **row_ders;     /* (n_rows) NULL = no derivative        */
    const ast_stmt *lets;          /* model-level statements (let)         */
    const ast_stmt *update;        /* update block body                    */
    const ast_stmt *init;          /* init block body, or NULL             */
    int has_init;
    const ast_expr *sense_length, *sense_velocity;
    int force_row, activation_row;
} muscle_model;

typedef struct skeleton_desc skeleton_desc;

typedef struct mnet_effector {
    char *name;                    /* (owned)                              */
    src_loc loc;

    /* skeleton */
    skeleton_kind skeleton;
    int n_dof, space_dim;
    char **joint_names;            /* (n_dof) (owned)                      */
    double *pos_lo, *pos_hi;       /* (n_dof) (owned)                      */
    double *vel_lo, *vel_hi;       /* (n_dof) (owned)                      */
    int n_bodies;                  /* besides the world                    */
    char **body_names;             /* (n_bodies) (owned)                   */
    skeleton_desc *skel;           /* how to evaluate it                   */

    /* muscles */
    muscle_model model;
    int n_muscles;
    model_muscle *muscles;         /* (n_muscles) (owned)                  */

    /* numerics */
    double step;                   /* seconds per step                     */
    int n_ministeps;
    integrator_kind integrator;
    int path_velocity_motornet;    /* reference quirk, see lower_geometry.c */
    double *endpoint_load;         /* (space_dim) default load (owned)     */
    double *joint_load;            /* (n_dof) default load (owned)         */
    int damping_param;             /* index in params                      */

    int n_params, cap_params;
    model_param *params;           /* (n_params) (owned)                   */

    /* state layout */
    int n_state, joint_off, cart_off, muscle_off, geom_off, n_load, n_sense;

    /* the graph and the interface functions (owned) */
    ir_graph *g;
    ir_function fn_init, fn_init_vjp, fn_step, fn_step_vjp, fn_sense, fn_sense_vjp;
    int fwd_nodes, bwd_nodes;      /* --stats                              */

    /* the body's drawing points (mnet_model.h's points): state -> (n_points
     * x space_dim); body origins (none for a point mass), then the end
     * point (owned) */
    ir_function fn_points;
    int n_points;
    char **point_names;            /* (n_points)                           */

    /* the per-step loss (lower_loss.h) (owned) */
    ir_function fn_loss, fn_loss_vjp;
    int n_loss;                    /* compiled terms, one output row each  */
    char **loss_names;             /* (n_loss)                             */
    int *loss_term;                /* (n_loss) index of the task's term    */
} mnet_effector;

/* Lowers effector `name` (or the only/last effector when name is NULL).
 * Errors go to ctx; returns NULL on error. */
mnet_effector *lower_effector(mnet_ctx *ctx, const mnet_program *prog, const char *name);
/* The same with the loss terms of a task (NULL: the reference recipe's
 * position_l1) compiled into it (lower_loss.h). */
struct task_spec_s;
mnet_effector *lower_effector_task(mnet_ctx *ctx, const mnet_program *prog, const char *name,
                                   const struct task_spec_s *task);
void effector_free(mnet_effector *eff);

/* Checks every definition of the program (muscle models, skeletons,
 * effectors, tasks) by lowering it; returns the number of errors. */
int check_program(mnet_ctx *ctx, const mnet_program *prog);

/* Resolves a muscle_model definition; returns 0 on success. */
int muscle_model_resolve(mnet_ctx *ctx, const mnet_def *def, muscle_model *mm);
void muscle_model_free(muscle_model *mm);

/* Human-readable dump of the resolved model (--dump-model). */
void effector_dump(const mnet_effector *eff, FILE *out);

/* Adds table entry `name` (dimension DIM_NONE, unbounded range); returns
 * its index, -2 when the name is taken, -1 when out of memory. */
int effector_add_param(mnet_effector *eff, const char *name, double value, src_loc loc);

#endif
