/* validation.c - the validation set's trajectories, deterministically
 * (no noise), written as CSV (mnet_traj_write_csv_joints: end point,
 * velocity, goal, joint positions and velocities, each muscle's activation
 * and force): what `mnet train`,
 * `mnet eval` and a standalone trainer leave in their output directory.
 * The set has mnet_task_validation_size episodes: each direction of a
 * centre-out or delayed reach once, a batch for the random reach. */
#include "mnet_log.h"
#include "mnet_train.h"
#include "mnet_validation.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mnet_train_write_validation(mnet_train *tr, const mnet_real *model_params, const char *path, double *loss_out,
                                char *err, size_t n)
{
    if (!model_params)
        model_params = tr->model_params;
    const mnet_model *m = tr->model;
    /* B episodes; mnet_train_eval runs them a batch at a time */
    int B = mnet_task_validation_size(&tr->cfg, tr->cfg.batch_size), T = tr->T, S = m->n_state,
        P = m->space_dim, M = m->n_muscles, D = m->n_dof;
    mnet_episode ep;
    if (mnet_episode_alloc(&ep, m, B, T, err, n) != 0)
        return -1;
    mnet_real *state = calloc((size_t)(T + 1) * S * B, sizeof(mnet_real));
    mnet_real *pos = calloc((size_t)(T + 1) * P * B, sizeof(mnet_real));
    mnet_real *vel = calloc((size_t)(T + 1) * P * B, sizeof(mnet_real));
    mnet_real *act = calloc((size_t)(T + 1) * M * B, sizeof(mnet_real));
    mnet_real *force = calloc((size_t)(T + 1) * M * B, sizeof(mnet_real));
    mnet_real *q = calloc((size_t)(T + 1) * D * B, sizeof(mnet_real));
    mnet_real *qd = calloc((size_t)(T + 1) * D * B, sizeof(mnet_real));
    /* joint names: the model's state names less "joint." (NULL: numbers) */
    const char **jnames = calloc((size_t)D + 1, sizeof *jnames);
    double loss = NAN;
    int rc = !state || !pos || !vel || !act || !force || !q || !qd || !jnames;
    if (rc && err && n > 0)
        snprintf(err, n, "out of memory for the validation trajectories");
    if (!rc)
        rc = mnet_task_generate(&tr->cfg, m, model_params, 1, tr->cfg.seed, 0, B, &ep, err, n);
    if (!rc) {
        mnet_rollout ro = {state, NULL, NULL, NULL};
        rc = mnet_train_eval(tr, &ep, NULL, &ro, &loss);
        if (rc && err && n > 0)
            snprintf(err, n, "%s", mnet_train_error(tr));
    }
    if (!rc) {
        int fr = -1, ar = -1;
        for (int r = 0; r < m->n_muscle_rows; r++) {
            if (!strcmp(m->muscle_row_names[r], "force"))
                fr = r;
            if (!strcmp(m->muscle_row_names[r], "activation"))
                ar = r;
        }
        for (int t = 0; t <= T; t++)
            for (int b = 0; b < B; b++) {
                const mnet_real *st = state + (long)t * S * B;
                for (int k = 0; k < P; k++) {
                    pos[((long)t * P + k) * B + b] = st[(m->cartesian_offset + k) * B + b];
                    vel[((long)t * P + k) * B + b] = st[(m->cartesian_offset + P + k) * B + b];
                }
                for (int k = 0; k < M; k++) {
                    act[((long)t * M + k) * B + b] = ar < 0 ? 0 : st[(m->muscle_offset + ar * M + k) * B + b];
                    force[((long)t * M + k) * B + b] = fr < 0 ? 0 : st[(m->muscle_offset + fr * M + k) * B + b];
                }
                for (int j = 0; j < D; j++) {
                    q[((long)t * D + j) * B + b] = st[(m->joint_offset + j) * B + b];
                    qd[((long)t * D + j) * B + b] = st[(m->joint_offset + D + j) * B + b];
                }
            }
        int named = m->state_names != NULL;
        for (int j = 0; named && j < D; j++) {
            const char *sn = m->state_names[m->joint_offset + j];
            named = sn && !strncmp(sn, "joint.", 6);
            jnames[j] = named ? sn + 6 : NULL;
        }
        mnet_traj traj = {B, T + 1, P, M, m->step_size, pos, vel, ep.target, act, force, m->muscle_names};
        mnet_traj_joints joints = {D, q, qd, named ? jnames : NULL};
        rc = mnet_traj_write_csv_joints(path, &traj, &joints, err, n);
    }
    free(state);
    free(pos);
    free(vel);
    free(act);
    free(force);
    free(q);
    free(qd);
    free(jnames);
    mnet_episode_free(&ep);
    if (loss_out)
        *loss_out = loss;
    return rc ? -1 : 0;
}
