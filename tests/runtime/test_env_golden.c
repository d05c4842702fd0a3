/* test_env_golden.c - the observation stream of the reference's reaching
 * task (golden env_reach_delays: RigidTendonArm26, proprioception delay
 * 20 ms, vision delay 50 ms, two action frames, no noise) reproduced by the
 * compiled model and the runtime's observation pipeline. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "golden.h"
#include "mnet_model_so.h"
#include "mnet_train.h"
#include "test_support.h"

static void test_env_reach_delays(void)
{
    char err[512], path[1024];
    snprintf(path, sizeof path, "%s/env_reach_delays.golden", golden_dir());
    golden_case *gc = golden_load(path, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gc);
    snprintf(path, sizeof path, "%s/models/RigidTendonArm26.mnet", MNET_SOURCE_DIR);
    mnet_compilation *c = mnet_compile(path, NULL, stderr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->eff);
    char dir[] = "/tmp/mnet_env_XXXXXX", cpath[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(cpath, sizeof cpath, "%s/m.c", dir);
    CU_ASSERT_EQUAL_FATAL(mnet_write_c(c, cpath, "RigidTendonArm26", 0), 0);
    mnet_model_so *so = mnet_model_so_build(cpath, err, sizeof err);
    remove(cpath);
    rmdir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(so);
    const mnet_model *m = mnet_model_so_get(so);
    CU_ASSERT_EQUAL_FATAL(m->real_size, (int)sizeof(mnet_real));

    int B = golden_meta_int(gc, "batch", 0), T = golden_meta_int(gc, "steps", 0);
    int S = m->n_state, M = m->n_muscles, P = m->space_dim, NS = m->n_sense;
    mnet_task_config cfg = mnet_task_config_default();
    cfg.proprio_delay = 0.02;
    cfg.vision_delay = 0.05;
    cfg.action_frames = 2;
    mnet_obs o;
    CU_ASSERT_EQUAL_FATAL(mnet_obs_setup(&o, &cfg, P, M, m->step_size, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(o.n_obs, golden_meta_int(gc, "obs_dim", -1));
    const golden_array *gi = golden_array_get(gc, "initial_joint"), *gg = golden_array_get(gc, "goal");
    const golden_array *ga = golden_array_get(gc, "actions"), *gobs = golden_array_get(gc, "obs");
    const golden_array *gf = golden_array_get(gc, "fingertip");
    mnet_real *state = calloc((size_t)(T + 1) * S * B, sizeof(mnet_real));
    mnet_real *hist = calloc((size_t)(T + 2) * NS * B, sizeof(mnet_real));
    mnet_real *acts = calloc((size_t)T * M * B, sizeof(mnet_real));
    mnet_real *goal = calloc((size_t)P * B, sizeof(mnet_real)), *j0 = calloc((size_t)4 * B, sizeof(mnet_real));
    mnet_real *sensed = calloc((size_t)NS * B, sizeof(mnet_real)), *obs = calloc((size_t)o.n_obs * B, sizeof(mnet_real));
    mnet_real *load = calloc((size_t)m->n_load * B, sizeof(mnet_real));
    double *ours = calloc((size_t)(T + 1) * B * o.n_obs, sizeof(double));
    double *tip = calloc((size_t)(T + 1) * B * P, sizeof(double));
    for (int b = 0; b < B; b++) {
        for (int k = 0; k < 4; k++)
            j0[k * B + b] = gi->data[b * 4 + k];
        for (int k = 0; k < P; k++)
            goal[k * B + b] = gg->data[b * P + k];
    }
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < M; k++)
                acts[((long)t * M + k) * B + b] = ga->data[((long)t * B + b) * M + k];
    mnet_noise_key nz = {0, 0, 0};
    const mnet_real *in0[] = {j0};
    mnet_real *out0[] = {state};
    mnet_real *params = malloc((size_t)m->n_params * sizeof(mnet_real));
    for (int i = 0; i < m->n_params; i++)
        params[i] = (mnet_real)m->param_defaults[i];
    m->init(B, B, in0, out0, params);
    for (int t = 0; t <= T; t++) {
        mnet_real *s = state + (long)t * S * B;
        const mnet_real *sin_[] = {s};
        mnet_real *sout[] = {sensed};
        m->sense(B, B, sin_, sout, params);
        mnet_obs_record(&o, hist, t, sensed, B, B, &nz);
        mnet_obs_build(&o, t, goal, NULL, hist, acts, obs, B, B, &nz);
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < o.n_obs; k++)
                ours[((long)t * B + b) * o.n_obs + k] = obs[k * B + b];
            for (int k = 0; k < P; k++)
                tip[((long)t * B + b) * P + k] = s[(m->cartesian_offset + k) * B + b];
        }
        if (t == T)
            break;
        const mnet_real *in[] = {s, acts + (long)t * M * B, load};
        mnet_real *out[] = {s + (long)S * B};
        m->step(B, B, in, out, params);
    }
    double e_obs = mnet_max_rel_err(ours, gobs->data, (int)gobs->count);
    double e_tip = mnet_max_rel_err(tip, gf->data, (int)gf->count);
    printf("\n  golden env_reach_delays obs max_rel_err=%.3g fingertip max_rel_err=%.3g", e_obs, e_tip);
    CU_ASSERT(e_obs <= 1e-7);
    CU_ASSERT(e_tip <= 1e-7);
    free(state);
    free(hist);
    free(acts);
    free(goal);
    free(j0);
    free(sensed);
    free(obs);
    free(load);
    free(ours);
    free(tip);
    free(params);
    mnet_model_so_free(so);
    mnet_compilation_free(c);
    golden_free(gc);
}

int main(void)
{
    static const mnet_test tests[] = {{"observation stream of env_reach_delays", test_env_reach_delays},
                                      {NULL, NULL}};
    return mnet_test_main("env_golden", tests);
}
