/* test_train_arm26.c - the training core on a real compiled effector:
 * models/RigidTendonArm26.mnet through the C route (mnetc's C, the system
 * compiler, dlopen).  The reference observation stream env_reach_delays
 * end to end (model init / step / sense + the observation pipeline), the
 * episode gradient against finite differences through the compiled VJPs,
 * the load-gradient probe, and a short training run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "golden.h"
#include "mnet_model_so.h"
#include "mnet_rng.h"
#include "mnet_train.h"
#include "test_support.h"

static mnet_model_so *so, *so_losses;
static const mnet_model *arm, *arm_losses;

/* Through the C route: the compilation's C, the system compiler, dlopen. */
static int build_so(mnet_compilation *comp, const char *path, mnet_model_so **out_so, const mnet_model **out)
{
    char err[512] = "";
    if (!comp || !comp->eff) {
        mnet_compilation_free(comp);
        return -1;
    }
    char dir[] = "/tmp/test_train_arm26_XXXXXX", cpath[64];
    int ok = mkdtemp(dir) != NULL;
    snprintf(cpath, sizeof cpath, "%s/model.c", dir);
    ok = ok && mnet_write_c(comp, cpath, path, sizeof(mnet_real) == 4) == 0 &&
         (*out_so = mnet_model_so_build(cpath, err, sizeof err)) != NULL;
    if (!ok)
        fprintf(stderr, "test_train_arm26: compiled route failed: %s\n", err);
    remove(cpath);
    rmdir(dir);
    mnet_compilation_free(comp);
    if (!ok)
        return -1;
    *out = mnet_model_so_get(*out_so);
    return 0;
}

static int build_arm(void)
{
    if (arm)
        return 0;
    char path[1024];
    snprintf(path, sizeof path, "%s/models/RigidTendonArm26.mnet", MNET_SOURCE_DIR);
    return build_so(mnet_compile(path, NULL, stderr), path, &so, &arm);
}

/* The arm with a task whose five per-step built-in terms are compiled
 * (rows 0..4: position_l1, position_l2, speed, activation_l2,
 * muscle_force) and a written one (row 5). */
static int build_arm_losses(void)
{
    if (arm_losses)
        return 0;
    char text[2048];
    snprintf(text, sizeof text,
             "import \"%s/models/RigidTendonArm26.mnet\";\n"
             "task t {\n  effector RigidTendonArm26;\n"
             "  loss position_l1;\n  loss position_l2;\n  loss speed;\n  loss activation_l2;\n"
             "  loss muscle_force;\n"
             "  loss written(value = sum(abs(position - target)) ^ 1.5 + 0.01 * sum(force ^ 2) / n_muscles);\n}\n",
             MNET_SOURCE_DIR);
    return build_so(mnet_compile_text("<arm26 losses>", text, NULL, stderr), "<arm26 losses>", &so_losses,
                    &arm_losses);
}

/* env_reach_delays: the file's initial joints and actions through the
 * compiled arm, the sensed values through the delay buffers and frames;
 * every entry of the 51 x 3 x 28 stream compared. */
static void test_stream(void)
{
    CU_ASSERT_FATAL(build_arm() == 0);
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/env_reach_delays.golden", golden_dir());
    golden_case *gc = golden_load(path, err, sizeof err);
    CU_ASSERT_FATAL(gc != NULL);
    const golden_array *gobs = golden_array_get(gc, "obs"), *gact = golden_array_get(gc, "actions"),
                       *gtip = golden_array_get(gc, "fingertip"),
                       *ggoal = golden_array_get(gc, "goal"),
                       *gj0 = golden_array_get(gc, "initial_joint");
    const int T = gact->dims[0], B = gact->dims[1], M = arm->n_muscles, P = arm->space_dim;
    const int S = arm->n_state, NS = arm->n_sense, NL = arm->n_load, W = gobs->dims[2];
    CU_ASSERT_FATAL(M == 6 && P == 2 && W == 28 && arm->real_size == (int)sizeof(mnet_real));

    mnet_task_config c = mnet_task_config_default();
    c.vision_delay = 0.05;
    c.proprio_delay = 0.02;
    c.action_frames = 2;
    mnet_obs o;
    CU_ASSERT_FATAL(mnet_obs_setup(&o, &c, P, M, arm->step_size, err, sizeof err) == 0);
    const int ld = B;
    mnet_real *params = malloc((size_t)arm->n_params * sizeof *params);
    for (int i = 0; i < arm->n_params; i++)
        params[i] = (mnet_real)arm->param_defaults[i];
    mnet_real *s = calloc((size_t)S * ld, sizeof *s), *s1 = calloc((size_t)S * ld, sizeof *s1);
    mnet_real *hist = calloc((size_t)(T + 2) * NS * ld, sizeof *hist);
    mnet_real *act = calloc((size_t)T * M * ld, sizeof *act);
    mnet_real *sensed = calloc((size_t)NS * ld, sizeof *sensed);
    mnet_real *load = calloc((size_t)NL * ld, sizeof *load);
    mnet_real joint0[4 * 8], goal[2 * 8], obs[28 * 8];
    CU_ASSERT_FATAL(B <= 8);
    for (int b = 0; b < B; b++) {
        for (int k = 0; k < 4; k++)
            joint0[k * ld + b] = (mnet_real)gj0->data[b * 4 + k];
        for (int i = 0; i < P; i++)
            goal[i * ld + b] = (mnet_real)ggoal->data[b * P + i];
        for (int t = 0; t < T; t++)
            for (int m = 0; m < M; m++)
                act[(t * M + m) * ld + b] = (mnet_real)gact->data[((size_t)t * B + b) * M + m];
    }
    const mnet_real *in0[1] = {joint0};
    mnet_real *out0[1] = {s};
    arm->init(B, ld, in0, out0, params);
    double err_tip = 0, tip_scale = 0;
    for (int t = 0; t <= T; t++) {
        const mnet_real *in[1] = {s};
        mnet_real *out[1] = {sensed};
        arm->sense(B, ld, in, out, params);
        mnet_obs_record(&o, hist, t, sensed, B, ld, NULL);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < P; i++) {
                double g = gtip->data[((size_t)t * B + b) * P + i];
                err_tip = fmax(err_tip, fabs(s[(arm->cartesian_offset + i) * ld + b] - g));
                tip_scale = fmax(tip_scale, fabs(g));
            }
        if (t == T)
            break;
        const mnet_real *ins[3] = {s, act + (size_t)t * M * ld, load};
        mnet_real *outs[1] = {s1};
        arm->step(B, ld, ins, outs, params);
        memcpy(s, s1, (size_t)S * ld * sizeof *s);
    }
    double err_obs = 0, scale = 0, err_prop = 0;
    for (int t = 0; t <= T; t++) {
        mnet_obs_build(&o, t, goal, NULL, hist, act, obs, B, ld, NULL);
        for (int b = 0; b < B; b++)
            for (int r = 0; r < W; r++) {
                double g = gobs->data[((size_t)t * B + b) * W + r];
                double e = fabs(obs[r * ld + b] - g);
                err_obs = fmax(err_obs, e);
                scale = fmax(scale, fabs(g));
                if (r >= o.proprio_row && r < o.action_row)
                    err_prop = fmax(err_prop, e);
            }
    }
    printf("\n    env_reach_delays through the compiled arm: obs %.2e, proprioception %.2e, "
           "fingertip %.2e (max |ours - golden| / max |golden|)\n",
           err_obs / scale, err_prop / scale, err_tip / tip_scale);
    const double tol = sizeof(mnet_real) == 8 ? 1e-7 : 2e-3;
    CU_ASSERT(err_obs / scale <= tol);
    CU_ASSERT(err_tip / tip_scale <= tol);
    free(params);
    free(s);
    free(s1);
    free(hist);
    free(act);
    free(sensed);
    free(load);
    golden_free(gc);
}

/* Moves every network weight by up to +-0.1 (seeded): away from the
 * initialisation's symmetric values. */
static void perturb_weights(mnet_train *tr, uint64_t seed)
{
    mnet_rng r;
    mnet_rng_seed(&r, seed);
    for (size_t i = 0; i < tr->n_params; i++)
        tr->params[i] += (mnet_real)(0.1 * (2 * mnet_rng_uniform(&r) - 1));
}

static mnet_task_config small_config(void)
{
    mnet_task_config c = mnet_task_config_default();
    c.duration = 0.06;
    c.batch_size = 2;
    c.n_hidden = 4;
    c.readout_bias = -1;
    c.proprio_delay = 0.02;
    c.vision_delay = 0.03;
    c.action_frames = 2;
    c.action_noise = 0.02;
    c.proprio_noise = 0.01;
    c.vision_noise = 0.01;
    c.obs_noise = 0.01;
    c.hidden_noise = 0.02;
    c.endpoint_load[1] = -2;
    c.seed = 3;
    c.n_losses = 7;
    c.loss[0] = (mnet_loss_term){MNET_LOSS_POSITION_L1, 1.0, 1e-3, 0, ""};
    c.loss[1] = (mnet_loss_term){MNET_LOSS_POSITION_L2, 2.0, 1e-3, 0, ""};
    c.loss[2] = (mnet_loss_term){MNET_LOSS_SPEED, 0.5, 1e-3, 0, ""};
    c.loss[3] = (mnet_loss_term){MNET_LOSS_JERK, 1e-4, 1e-8, 0, ""};
    c.loss[4] = (mnet_loss_term){MNET_LOSS_ACTIVATION_L2, 5.0, 0.02, 0, ""};
    c.loss[5] = (mnet_loss_term){MNET_LOSS_MUSCLE_FORCE, 1e-3, 1e-6, 0, ""};
    c.loss[6] = (mnet_loss_term){MNET_LOSS_HIDDEN_L2, 0.1, 0.002, 0, ""};
    /* the model's compiled per-step loss (position_l1 of a file without a
     * task): its VJP joins the episode gradient */
    c.loss[7] = (mnet_loss_term){MNET_LOSS_COMPILED, 0.7, 0, 0, ""};
    c.n_losses = 8;
    return c;
}

static void test_episode_grad(void)
{
    CU_ASSERT_FATAL(build_arm() == 0);
    if (sizeof(mnet_real) != 8)
        return; /* finite differences need double */
    char err[512];
    mnet_task_config c = small_config();
    mnet_train *tr = mnet_train_new(arm, NULL, &c, err, sizeof err);
    if (!tr)
        printf("\n    %s\n", err);
    CU_ASSERT_FATAL(tr != NULL);
    perturb_weights(tr, 5);
    double loss;
    CU_ASSERT_FATAL(mnet_train_loss_grad(tr, 2, &loss) == 0);
    const size_t np = tr->n_params;
    double *g = malloc(np * sizeof *g), *fd = malloc(np * sizeof *fd);
    for (size_t i = 0; i < np; i++)
        g[i] = tr->grad[i];
    for (size_t i = 0; i < np; i++) {
        mnet_real p0 = tr->params[i];
        double lp, lm;
        tr->params[i] = p0 + 1e-6;
        CU_ASSERT(mnet_train_loss(tr, 2, &lp) == 0);
        tr->params[i] = p0 - 1e-6;
        CU_ASSERT(mnet_train_loss(tr, 2, &lm) == 0);
        tr->params[i] = p0;
        fd[i] = (lp - lm) / 2e-6;
    }
    double rel = mnet_max_rel_err(g, fd, (int)np);
    printf("\n    RigidTendonArm26, GRU H=4, T=6, B=2, all losses, noise: loss %.5f, %zu params, "
           "max rel err %.2e\n",
           loss, np, rel);
    CU_ASSERT(rel <= 1e-6);
    free(g);
    free(fd);
    mnet_train_free(tr);
}

/* The compiled built-in terms against the runtime's hand-written library
 * (two independent implementations of mnet_task.h's definitions): every
 * term's value and the whole gradient, one term at a time, on the same
 * episode. */
static void test_compiled_loss_equals_library(void)
{
    CU_ASSERT_FATAL(build_arm_losses() == 0);
    CU_ASSERT_EQUAL_FATAL(arm_losses->n_loss, 6);
    CU_ASSERT_STRING_EQUAL(arm_losses->loss_names[3], "activation_l2");
    static const mnet_loss_kind library[5] = {MNET_LOSS_POSITION_L1, MNET_LOSS_POSITION_L2, MNET_LOSS_SPEED, MNET_LOSS_ACTIVATION_L2, MNET_LOSS_MUSCLE_FORCE};
    static const double weights[5] = {1.0, 2.0, 0.5, 5.0, 1e-3};
    const double tol = sizeof(mnet_real) == 8 ? 1e-11 : 1e-4;
    double worst_v = 0, worst_g = 0;
    for (int k = 0; k < 5; k++) {
        double value[2];
        mnet_real *grad[2];
        size_t np = 0;
        for (int compiled = 0; compiled <= 1; compiled++) {
            mnet_task_config c = small_config();
            c.n_losses = 1;
            c.loss[0] = (mnet_loss_term){compiled ? MNET_LOSS_COMPILED : library[k], weights[k], 0, k, ""};
            char err[512];
            mnet_train *tr = mnet_train_new(arm_losses, NULL, &c, err, sizeof err);
            if (!tr)
                printf("\n    %s", err);
            CU_ASSERT_FATAL(tr != NULL);
            perturb_weights(tr, 11);
            CU_ASSERT_FATAL(mnet_train_loss_grad(tr, 1, &value[compiled]) == 0);
            CU_ASSERT(value[compiled] == tr->loss_terms[0]);
            np = tr->n_params;
            grad[compiled] = malloc(np * sizeof(mnet_real));
            memcpy(grad[compiled], tr->grad, np * sizeof(mnet_real));
            mnet_train_free(tr);
        }
        double dv = fabs(value[1] - value[0]) / fabs(value[0]);
        double scale = 0, dg = 0;
        for (size_t i = 0; i < np; i++) {
            scale = fmax(scale, fabs((double)grad[0][i]));
            dg = fmax(dg, fabs((double)grad[1][i] - (double)grad[0][i]));
        }
        dg /= scale > 0 ? scale : 1;
        printf("\n    %-13s library %.10g compiled %.10g: value %.1e, gradient %.1e", arm_losses->loss_names[k],
               value[0], value[1], dv, dg);
        CU_ASSERT(value[0] > 0);
        CU_ASSERT(dv <= tol);
        CU_ASSERT(dg <= tol * 10);
        worst_v = fmax(worst_v, dv);
        worst_g = fmax(worst_g, dg);
        free(grad[0]);
        free(grad[1]);
    }
    printf("\n    worst: value %.1e, gradient %.1e\n", worst_v, worst_g);
}

/* The REPL's `set biceps.max_force 4140` after the trainer is built: the
 * library's activation_l2 reads F_max from the trainer's model parameters at
 * every evaluation, as the compiled term does, so the two still agree (they
 * used to differ: 0.1203 against 0.1075), and both differ from the value
 * before the change. */
static void test_activation_fmax_change(void)
{
    CU_ASSERT_FATAL(build_arm_losses() == 0);
    const mnet_model *m = arm_losses;
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->muscle_max_force);
    int biceps = -1;
    for (int k = 0; k < m->n_muscles; k++)
        if (!strcmp(m->muscle_names[k], "biceps"))
            biceps = m->muscle_max_force[k];
    CU_ASSERT_FATAL(biceps >= 0 && biceps < m->n_params);
    CU_ASSERT_STRING_EQUAL(m->param_names[biceps], "biceps.max_force");
    CU_ASSERT_EQUAL(m->param_defaults[biceps], 414);
    CU_ASSERT_STRING_EQUAL_FATAL(m->loss_names[3], "activation_l2");
    const double tol = sizeof(mnet_real) == 8 ? 1e-11 : 1e-4;
    double value[2][2]; /* [before, after the change][library, compiled] */
    for (int compiled = 0; compiled <= 1; compiled++) {
        mnet_task_config c = small_config();
        c.n_losses = 1;
        c.loss[0] = compiled ? (mnet_loss_term){.kind = MNET_LOSS_COMPILED, .weight = 5.0, .compiled = 3}
                             : (mnet_loss_term){.kind = MNET_LOSS_ACTIVATION_L2, .weight = 5.0};
        char err[512];
        mnet_train *tr = mnet_train_new(m, NULL, &c, err, sizeof err);
        if (!tr)
            printf("\n    %s", err);
        CU_ASSERT_FATAL(tr != NULL);
        perturb_weights(tr, 11);
        CU_ASSERT_FATAL(mnet_train_loss(tr, 1, &value[0][compiled]) == 0);
        tr->model_params[biceps] = 4140;
        CU_ASSERT_FATAL(mnet_train_loss(tr, 1, &value[1][compiled]) == 0);
        mnet_train_free(tr);
    }
    printf("\n    activation_l2, biceps.max_force 414: library %.10g compiled %.10g; 4140: library %.10g "
           "compiled %.10g\n",
           value[0][0], value[0][1], value[1][0], value[1][1]);
    for (int i = 0; i < 2; i++)
        CU_ASSERT(fabs(value[i][1] - value[i][0]) <= tol * fabs(value[i][0]));
    CU_ASSERT(fabs(value[1][0] - value[0][0]) > 1e-3 * fabs(value[0][0]));
}

/* A written term's episode gradient against finite differences (through
 * the compiled loss_vjp, the step VJPs and the network). */
static void test_written_loss_grad(void)
{
    CU_ASSERT_FATAL(build_arm_losses() == 0);
    if (sizeof(mnet_real) != 8)
        return;
    mnet_task_config c = small_config();
    c.n_losses = 1;
    c.loss[0] = (mnet_loss_term){MNET_LOSS_COMPILED, 1.0, 0, 5, ""};
    c.action_noise = c.proprio_noise = c.vision_noise = c.obs_noise = c.hidden_noise = 0;
    char err[512];
    mnet_train *tr = mnet_train_new(arm_losses, NULL, &c, err, sizeof err);
    CU_ASSERT_FATAL(tr != NULL);
    perturb_weights(tr, 13);
    double loss;
    CU_ASSERT_FATAL(mnet_train_loss_grad(tr, 4, &loss) == 0);
    const size_t np = tr->n_params;
    double *g = malloc(np * sizeof *g), worst = 0, scale = 0;
    for (size_t i = 0; i < np; i++)
        g[i] = tr->grad[i], scale = fmax(scale, fabs(g[i]));
    for (size_t i = 0; i < np; i += 7) { /* every 7th weight: the test stays short */
        mnet_real p0 = tr->params[i];
        double h = 1e-6, lp, lm;
        tr->params[i] = p0 + (mnet_real)h;
        mnet_train_loss(tr, 4, &lp);
        tr->params[i] = p0 - (mnet_real)h;
        mnet_train_loss(tr, 4, &lm);
        tr->params[i] = p0;
        worst = fmax(worst, fabs((lp - lm) / (2 * h) - g[i]));
    }
    printf("\n    written loss: episode gradient vs FD, max abs err %.2e (scale %.2e)\n", worst, scale);
    CU_ASSERT(worst <= 1e-6 * scale);
    free(g);
    mnet_train_free(tr);
}

static void test_probe_and_training(void)
{
    CU_ASSERT_FATAL(build_arm() == 0);
    char err[512] = "";
    mnet_task_config c = small_config();
    c.curl = 5;
    mnet_train *tr = mnet_train_new(arm, NULL, &c, err, sizeof err);
    if (tr) { /* a compiler that emits the load gradient: fine too */
        printf("\n    the compiled arm writes d/d load (out[2])");
        mnet_train_free(tr);
    } else {
        CU_ASSERT(strstr(err, "out[2]") != NULL);
        printf("\n    curl on the compiled arm: %s", err);
    }

    /* a short run of the reference recipe (lr raised for a short test) */
    c = mnet_task_config_default();
    c.duration = 0.3;
    c.batch_size = 16;
    c.n_hidden = 32;
    c.proprio_delay = 0.02;
    c.vision_delay = 0.05;
    c.lr = 3e-3;
    c.seed = 2;
    tr = mnet_train_new(arm, NULL, &c, err, sizeof err);
    CU_ASSERT_FATAL(tr != NULL);
    double first = 0, last = 0;
    const int N = 60;
    for (int k = 0; k < N; k++) {
        double l = mnet_train_batch(tr, k);
        CU_ASSERT_FATAL(isfinite(l));
        if (k < 10)
            first += l / 10;
        if (k >= N - 10)
            last += l / 10;
    }
    printf("\n    RigidTendonArm26 training (B 16, T 30, H 32): loss %.4f (first 10) -> %.4f "
           "(last 10)\n",
           first, last);
    CU_ASSERT(last < first);
    mnet_train_free(tr);
}

static const mnet_test tests[] = {
    {"env_reach_delays through the compiled arm", test_stream},
    {"episode gradient vs FD on the compiled arm", test_episode_grad},
    {"compiled loss terms equal the library's", test_compiled_loss_equals_library},
    {"activation_l2 after a max_force change: compiled equals library", test_activation_fmax_change},
    {"written loss term: episode gradient vs FD", test_written_loss_grad},
    {"load probe and a short training run", test_probe_and_training},
    {NULL, NULL},
};

int main(void)
{
    int rc = mnet_test_main("train_arm26", tests);
    mnet_model_so_free(so);
    mnet_model_so_free(so_losses);
    return rc;
}
