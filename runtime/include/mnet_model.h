/* mnet_model.h - the interface between a compiled model and the runtime.
 *
 * `mnetc model.mnet -o model.c` writes one C file that defines a constant
 * `mnet_model` named `mnet_model_<effector>` (and `mnet_compiled_model`, a
 * pointer to it, so a loader needs one symbol).  The LLVM JIT fills the same
 * table.  Every function has one signature:
 *
 *   void f(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
 *          const mnet_real *params);
 *
 * n batch elements; each argument array is laid out (rows x ld), element
 * (row, b) at a[row*ld + b], so the batch loop is innermost and vectorises
 * (structure of arrays).  `params` is the parameter table (run-time data:
 * changing a value needs no recompile).
 *
 * State vector, rows in this order (MODELS.md section 1):
 *   joint      2*dof             q, then qd
 *   cartesian  2*space_dim       end point position, then velocity
 *   muscle     n_muscle_rows*M   row r of muscle m at muscle_offset + r*M + m
 *   geometry   (2+dof)*M         l_mt, v_mt, then one moment arm per joint
 */
#ifndef MNET_MODEL_H
#define MNET_MODEL_H

#ifdef MNET_REAL_FLOAT
typedef float mnet_real;
#else
typedef double mnet_real;
#endif

#define MNET_MODEL_ABI 4 /* 3: muscle_max_force; 4: points */

typedef void (*mnet_fn)(int n, int ld, const mnet_real *const *in,
                        mnet_real *const *out, const mnet_real *params);

typedef struct mnet_model {
    int abi;                        /* MNET_MODEL_ABI                       */
    int real_size;                  /* sizeof(mnet_real) it was built for  */
    const char *name;               /* effector name                        */
    const char *source_hash;        /* hash of the .mnet sources (hex)      */

    int n_dof;                      /* joint coordinates                    */
    int space_dim;                  /* end point dimensions                 */
    int n_muscles;                  /* M                                    */
    int n_muscle_rows;              /* rows of the muscle block             */
    int n_state;                    /* total state rows                     */
    int joint_offset, cartesian_offset, muscle_offset, geometry_offset;
    int n_load;                     /* space_dim + dof: endpoint, joint     */
    int n_sense;                    /* rows of the sensory map              */

    double step_size;               /* seconds per step (all ministeps)     */
    int n_ministeps;

    int n_params;
    const char *const *param_names;   /* (n_params)                         */
    const double *param_defaults;     /* (n_params)                         */
    const char *const *muscle_names;  /* (n_muscles)                        */
    /* F_max of muscle m is params[muscle_max_force[m]], the parameter
     * "<muscle>.max_force" of its muscle model.  The runtime reads it there
     * at every use (activation_l2's scaling), so a value changed in the
     * parameter table takes effect without a recompile. */
    const int *muscle_max_force;      /* (n_muscles) index into params, -1: none */
    const char *const *muscle_row_names; /* (n_muscle_rows)                 */
    const double *pos_lower, *pos_upper; /* (n_dof) joint range             */

    /* in: joint0 (2*dof)            out: state                              */
    mnet_fn init;
    /* in: joint0, g_state           out: g_joint0                           */
    mnet_fn init_vjp;
    /* in: state, action (M), load (n_load)   out: next state                */
    mnet_fn step;
    /* in: state, action, load, g_next   out: g_state, g_action, g_load      */
    mnet_fn step_vjp;
    /* in: state    out: sense: end point position (space_dim), muscle
     * length / l_o (M), muscle velocity / vmax (M)                          */
    mnet_fn sense;
    /* in: state, g_sense            out: g_state                            */
    mnet_fn sense_vjp;

    /* The body's drawing points, for figures: draw point 0, 1, ... n_points-1
     * joined in order.  A point mass: its position ("point", 1 point).  A
     * planar chain: the origin of each link, named after the link (the
     * base, then each joint), then "endpoint" (links + 1 points).  A user
     * skeleton: the origin of each declared `body`, named after it, in the
     * order written, then "endpoint" (bodies + 1 points).  The last point is
     * the state's end point rows (cartesian_offset ..), copied.
     * in: state    out: points (n_points*space_dim): coordinate i of point k
     * at row k*space_dim + i.  NULL (and n_points 0) when absent.          */
    int n_points;
    const char *const *point_names;   /* (n_points)                         */
    mnet_fn points;

    /* (n_state) "joint.q1", "muscle.force.biceps", "geometry.l_mt.biceps"... */
    const char *const *state_names;
    /* Compiled with `mnetc --check-finite`: step checks every state it writes;
     * this returns 1 and the first non-finite row and batch element seen
     * since the last call (then forgets them), or 0.  NULL otherwise. */
    int (*first_nonfinite)(int *row, int *batch);

    /* The per-step loss terms compiled with the model: the terms of the
     * task the .mnet file declares that read one step's state (written
     * `loss NAME(value = EXPR)`, and position_l1/l2, speed, activation_l2,
     * muscle_force without a derivative weight), or the reference recipe's
     * position_l1 for a file without a task.  The runtime weights them and
     * sums them over time and batch (mnet_task.h, MNET_LOSS_COMPILED).
     * in: state, target (space_dim)        out: loss (n_loss)               */
    int n_loss;
    const char *const *loss_names;    /* (n_loss)                           */
    mnet_fn loss;
    /* in: state, target, g_loss         out: g_state                        */
    mnet_fn loss_vjp;

    /* The run the .mnet file declares (or the reference recipe; or the
     * REPL session's, from `emit`) as run text (mnet_settings.h: every
     * setting and parameter value), for a standalone trainer:
     * `cc model.c -lmnetrt ... -o model && ./model train`.  NULL: none. */
    const char *task;
} mnet_model;

#endif
