/* test_record.c - the episodes file (mnet_record.h) on the mock point mass
 * with a two-layer GRU: every recorded array equals the trainer's own
 * rollout of the same episodes (mnet_train_eval, and mnet_train_forward's
 * arena for a batch) bit for bit after float32 conversion; the loads, the
 * read-out and the loss arrays against their definitions; shapes, names
 * and metadata in the header; a truncated file refused by the reader; the
 * loss.<term> arrays averaged as mnet_task.h says reproduce the rollout's
 * loss terms; validation.csv's joint columns against the rollout.
 *
 * `runtime_test_record --write DIR` writes DIR/episodes.safetensors and
 * DIR/weights.safetensors for tests/runtime/read_episodes.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet_record.h"
#include "mnet_safetensors.h"
#include "mnet_train.h"
#include "mnet_validation.h"
#include "mock_effector.h"
#include "test_support.h"

/* ---- the mock with a compiled loss row: dist2 = |x - target|^2 ---- */

static void dist2(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                  const mnet_real *params)
{
    (void)params;
    for (int b = 0; b < n; b++) {
        double s = 0;
        for (int i = 0; i < 2; i++) {
            double d = (double)in[0][(MOCK_CART + i) * ld + b] - (double)in[1][i * ld + b];
            s += d * d;
        }
        out[0][b] = (mnet_real)s;
    }
}

static void dist2_vjp(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                      const mnet_real *params)
{
    (void)params;
    for (int r = 0; r < MOCK_NSTATE; r++)
        for (int b = 0; b < n; b++)
            out[0][r * ld + b] = 0;
    for (int i = 0; i < 2; i++)
        for (int b = 0; b < n; b++)
            out[0][(MOCK_CART + i) * ld + b] =
                (mnet_real)(2 * ((double)in[0][(MOCK_CART + i) * ld + b] - in[1][i * ld + b]) *
                            in[2][b]);
}

static const char *const loss_names[1] = {"dist2"};
static mnet_model model;
static mnet_real params[MOCK_NPARAMS];

static void setup_model(void)
{
    model = mnet_mock_pm4;
    model.n_loss = 1;
    model.loss_names = loss_names;
    model.loss = dist2;
    model.loss_vjp = dist2_vjp;
    for (int i = 0; i < MOCK_NPARAMS; i++)
        params[i] = (mnet_real)model.param_defaults[i];
}

enum { NTERMS = 8 };

/* Centre-out reaching (cues, catch trials), delays, two action frames,
 * every noise, curl and constant loads, every loss kind with no
 * derivative weight (wd: the same with one), two GRU layers. */
static mnet_task_config config(int with_deriv)
{
    mnet_task_config c = mnet_task_config_default();
    c.kind = MNET_TASK_CENTRE_OUT;
    c.duration = 0.08; /* T = 8 */
    c.go_cue_lo = 0.01, c.go_cue_hi = 0.05;
    c.catch_fraction = 0.3;
    c.batch_size = 4;
    c.n_hidden = 5;
    c.n_layers = 2;
    c.cell = MNET_NN_GRU;
    c.readout_bias = -1.0;
    c.proprio_delay = 0.02; /* 2 steps: s_{t-1} (the reference's quirk) */
    c.vision_delay = 0.03;  /* 3 steps: s_{t-2} */
    c.action_frames = 2;
    c.action_noise = 0.05;
    c.proprio_noise = 0.01;
    c.vision_noise = 0.01;
    c.obs_noise = 0.02;
    c.hidden_noise = 0.05;
    c.curl = 8.0;
    c.endpoint_load[0] = 0.3, c.endpoint_load[1] = -0.2;
    c.joint_load[0] = 0.1, c.joint_load[1] = 0.05;
    c.seed = 11;
    c.n_losses = NTERMS;
    const double wd = with_deriv ? 1e-3 : 0;
    c.loss[0] = (mnet_loss_term){MNET_LOSS_POSITION_L1, 1.0, wd, 0, ""};
    c.loss[1] = (mnet_loss_term){MNET_LOSS_POSITION_L2, 2.0, wd, 0, ""};
    c.loss[2] = (mnet_loss_term){MNET_LOSS_SPEED, 0.5, wd, 0, ""};
    c.loss[3] = (mnet_loss_term){MNET_LOSS_JERK, 1e-4, wd * 1e-6, 0, ""};
    c.loss[4] = (mnet_loss_term){MNET_LOSS_ACTIVATION_L2, 5.0, wd, 0, ""};
    c.loss[5] = (mnet_loss_term){MNET_LOSS_MUSCLE_FORCE, 0.01, wd, 0, ""};
    c.loss[6] = (mnet_loss_term){MNET_LOSS_HIDDEN_L2, 0.1, wd, 0, ""};
    c.loss[7] = (mnet_loss_term){MNET_LOSS_COMPILED, 3.0, 0, 0, ""};
    return c;
}

/* A trainer after a few batches, and N drawn episodes. */
static mnet_train *trained(int with_deriv, int N, mnet_episode *ep)
{
    char err[256];
    setup_model();
    mnet_task_config c = config(with_deriv);
    mnet_train *tr = mnet_train_new(&model, params, &c, err, sizeof err);
    if (!tr)
        printf("\n    %s\n", err);
    CU_ASSERT_FATAL(tr != NULL);
    for (int k = 0; k < 4; k++)
        CU_ASSERT(isfinite(mnet_train_batch(tr, k)));
    CU_ASSERT_FATAL(mnet_episode_alloc(ep, &model, N, tr->T, err, sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_task_generate(&c, &model, params, 0, 77, 3000, N, ep, err, sizeof err) ==
                    0);
    return tr;
}

/* p (256 bytes) = a temporary file's path */
static const char *tmp_path(char *p, const char *name)
{
    snprintf(p, 256, "/tmp/mnet_test_record_%d_%s", (int)getpid(), name);
    return p;
}

/* Tensor `name` as doubles, its shape checked against (ndim, shape). */
static double *get(const mnet_safetensors *st, const char *name, int ndim, const int64_t *shape)
{
    const mnet_st_info *t = mnet_safetensors_find(st, name);
    if (!t) {
        printf("\n    tensor %s missing", name);
        CU_FAIL("tensor missing");
        return NULL;
    }
    int same = t->ndim == ndim && !strcmp(t->dtype, "F32");
    size_t count = 1;
    for (int d = 0; d < ndim && same; d++) {
        same &= t->shape[d] == shape[d];
        count *= (size_t)shape[d];
    }
    if (!same) {
        printf("\n    tensor %s: wrong dtype or shape", name);
        CU_FAIL("shape");
        return NULL;
    }
    double *v = malloc(count * sizeof *v);
    char err[200];
    CU_ASSERT_FATAL(v && mnet_safetensors_read(st, name, v, count, err, sizeof err) == 0);
    return v;
}

/* Counts the entries of file [N, Tn, R] that differ from float(src), src
 * time-major (Tn x rows x ld), rows r0 .. r0+R-1. */
static long diff_tm(const double *file, const mnet_real *src, int N, int Tn, int rows, int r0,
                    int R, int ld)
{
    long bad = 0;
    for (int b = 0; b < N; b++)
        for (int t = 0; t < Tn; t++)
            for (int r = 0; r < R; r++) {
                float want = (float)src[((size_t)t * rows + r0 + r) * ld + b];
                bad += file[((size_t)b * Tn + t) * R + r] != (double)want;
            }
    return bad;
}

static int count_commas(const char *s)
{
    int k = 0;
    for (; s && *s; s++)
        k += *s == ',';
    return k;
}

/* ---- every array against the trainer's rollout ---- */

static void test_arrays(void)
{
    const int N = 10; /* B = 4: chunks of 4, 4, 2 */
    mnet_episode ep;
    mnet_train *tr = trained(0, N, &ep);
    const int T = tr->T, S = tr->S, M = tr->M, I = tr->I, LH = tr->LH, H = 5, P = 2, D = 2,
              NL = tr->NL;
    const mnet_noise_key nz = {99, 500, 1};
    const char *meta[] = {"run", "the run text", "effector", "mock_pm4", NULL};
    char err[256];
    char pbuf[256];
    const char *path = tmp_path(pbuf, "arrays.safetensors");
    int rc = mnet_record_episodes(tr, &ep, &nz, meta, path, err, sizeof err);
    if (rc)
        printf("\n    %s", err);
    CU_ASSERT_FATAL(rc == 0);

    /* the trainer's own rollout */
    mnet_real *st = calloc((size_t)(T + 1) * S * N, sizeof *st);
    mnet_real *ac = calloc((size_t)T * M * N, sizeof *ac);
    mnet_real *ob = calloc((size_t)T * I * N, sizeof *ob);
    mnet_real *hd = calloc((size_t)T * LH * N, sizeof *hd);
    mnet_rollout ro = {st, ac, ob, hd};
    double loss;
    CU_ASSERT_FATAL(mnet_train_eval(tr, &ep, &nz, &ro, &loss) == 0);

    mnet_safetensors f;
    CU_ASSERT_FATAL(mnet_safetensors_open(path, &f, err, sizeof err) == 0);
    CU_ASSERT(f.data_len == mnet_record_bytes(tr, N));
    const int64_t sh_obs[] = {N, T, I}, sh_h[] = {N, T, H}, sh_m[] = {N, T, M},
                  sh_l[] = {N, T, NL}, sh_d[] = {N, T + 1, D}, sh_p[] = {N, T + 1, P},
                  sh_mu[] = {N, T + 1, M}, sh_np[] = {N, P}, sh_n[] = {N};
    long bad = 0;
    double *x;
    x = get(&f, "obs", 3, sh_obs);
    bad += x ? diff_tm(x, ob, N, T, I, 0, I, N) : 1;
    free(x);
    for (int l = 0; l < 2; l++) {
        char name[32];
        snprintf(name, sizeof name, "hidden.%d", l);
        x = get(&f, name, 3, sh_h);
        bad += x ? diff_tm(x, hd, N, T, LH, l * H, H, N) : 1;
        free(x);
    }
    x = get(&f, "action", 3, sh_m);
    bad += x ? diff_tm(x, ac, N, T, M, 0, M, N) : 1;
    free(x);
    x = get(&f, "joint.q", 3, sh_d);
    bad += x ? diff_tm(x, st, N, T + 1, S, MOCK_JOINT, D, N) : 1;
    free(x);
    x = get(&f, "joint.qd", 3, sh_d);
    bad += x ? diff_tm(x, st, N, T + 1, S, MOCK_JOINT + D, D, N) : 1;
    free(x);
    x = get(&f, "endpoint.pos", 3, sh_p);
    bad += x ? diff_tm(x, st, N, T + 1, S, MOCK_CART, P, N) : 1;
    free(x);
    x = get(&f, "endpoint.vel", 3, sh_p);
    bad += x ? diff_tm(x, st, N, T + 1, S, MOCK_CART + P, P, N) : 1;
    free(x);
    static const char *const rows[4] = {"activation", "length", "velocity", "force"};
    for (int r = 0; r < 4; r++) {
        char name[32];
        snprintf(name, sizeof name, "muscle.%s", rows[r]);
        x = get(&f, name, 3, sh_mu);
        bad += x ? diff_tm(x, st, N, T + 1, S, MOCK_MUSCLE + r * M, M, N) : 1;
        free(x);
    }
    x = get(&f, "target", 3, sh_p);
    bad += x ? diff_tm(x, ep.target, N, T + 1, P, 0, P, ep.B) : 1;
    free(x);
    x = get(&f, "goal", 2, sh_np);
    bad += x ? diff_tm(x, ep.goal, N, 1, P, 0, P, ep.B) : 1;
    free(x);
    x = get(&f, "start", 2, sh_np);
    bad += x ? diff_tm(x, ep.start, N, 1, P, 0, P, ep.B) : 1;
    free(x);
    int n_catch = 0, n_cue = 0;
    x = get(&f, "go_time", 1, sh_n);
    for (int b = 0; x && b < N; b++) {
        bad += x[b] != (double)(float)ep.go_time[b];
        n_cue += x[b] > 0;
    }
    free(x);
    x = get(&f, "catch", 1, sh_n);
    for (int b = 0; x && b < N; b++) {
        bad += x[b] != (ep.catch_trial[b] ? 1.0 : 0.0);
        n_catch += ep.catch_trial[b] != 0;
    }
    free(x);
    CU_ASSERT(bad == 0);
    CU_ASSERT(n_cue == N && n_catch > 0 && n_catch < N); /* the draws are varied */

    /* the body points, where the model has them: its points function on
     * the rollout's states */
    long bad_points = 0;
    CU_ASSERT(model.points && model.n_points == 1); /* the mock's mass */
    if (model.points && model.n_points > 0) {
        const int K = model.n_points;
        const int64_t sh_k[] = {N, T + 1, K, P};
        x = get(&f, "body.points", 4, sh_k);
        mnet_real *pts = malloc((size_t)K * P * N * sizeof *pts);
        for (int t = 0; x && t <= T; t++) {
            const mnet_real *in[1] = {st + (size_t)t * S * N};
            mnet_real *const out[1] = {pts};
            model.points(N, N, in, out, params);
            for (int b = 0; b < N; b++)
                for (int r = 0; r < K * P; r++)
                    bad_points += x[((size_t)b * (T + 1) + t) * K * P + r] != (double)(float)pts[r * N + b];
        }
        free(pts);
        free(x);
        CU_ASSERT(mnet_safetensors_find(&f, "body.points") != NULL);
    }
    CU_ASSERT(bad_points == 0);

    /* output and load: the arena of mnet_train_forward on the last chunk
     * (columns 8, 9; noise at element0 + 8) */
    double *out = get(&f, "output", 3, sh_m), *act = get(&f, "action", 3, sh_m),
           *ld = get(&f, "load", 3, sh_l), *vel = get(&f, "endpoint.vel", 3, sh_p),
           *h0 = get(&f, "hidden.0", 3, sh_h), *h1 = get(&f, "hidden.1", 3, sh_h);
    CU_ASSERT_FATAL(out && act && ld && vel && h0 && h1);
    {
        const int c0 = 8, n = 2, B = tr->B;
        mnet_episode_copy_cols(&tr->ep, &ep, c0, n);
        mnet_noise_key key = {nz.seed, nz.element0 + c0, 1};
        mnet_train_forward(tr, n, &key);
        long bad_arena = 0;
        for (int b = 0; b < n; b++)
            for (int t = 0; t < T; t++) {
                for (int k = 0; k < M; k++) {
                    size_t i = ((size_t)(c0 + b) * T + t) * M + k;
                    bad_arena += out[i] != (double)(float)tr->acts.y[(size_t)k * tr->acts.ld + t * n + b];
                    bad_arena += act[i] != (double)(float)tr->action[((size_t)t * M + k) * B + b];
                }
                for (int k = 0; k < NL; k++)
                    bad_arena += ld[((size_t)(c0 + b) * T + t) * NL + k] !=
                                 (double)(float)tr->load[((size_t)t * NL + k) * B + b];
                for (int l = 0; l < 2; l++)
                    for (int j = 0; j < H; j++) {
                        const mnet_real *h = mnet_nn_state(&tr->nn, &tr->acts, t, l);
                        const double *fh = l ? h1 : h0;
                        bad_arena += fh[((size_t)(c0 + b) * T + t) * H + j] !=
                                     (double)(float)h[(size_t)j * tr->acts.ld + b];
                    }
            }
        CU_ASSERT(bad_arena == 0);
        printf("\n    arena of the last chunk: %ld differences", bad_arena);
    }

    /* the loads by their definition: constant + curl k [[0, 1], [-1, 0]] v
     * of the state before the step (float tolerance); the read-out by its
     * definition, sig(W_o h_top + b_o), from the recorded top layer */
    double err_load = 0, err_out = 0, noise_mag = 0;
    for (int b = 0; b < N; b++)
        for (int t = 0; t < T; t++) {
            const double *v = vel + ((size_t)b * (T + 1) + t) * P;
            const double *l = ld + ((size_t)b * T + t) * NL;
            err_load = fmax(err_load, fabs(l[0] - (0.3 + 8.0 * v[1])));
            err_load = fmax(err_load, fabs(l[1] - (-0.2 - 8.0 * v[0])));
            err_load = fmax(err_load, fabs(l[2] - 0.1));
            err_load = fmax(err_load, fabs(l[3] - 0.05));
            for (int k = 0; k < M; k++) {
                double z = tr->p.b_out[k];
                for (int j = 0; j < H; j++)
                    z += tr->p.w_out[k * H + j] * h1[((size_t)b * T + t) * H + j];
                size_t i = ((size_t)b * T + t) * M + k;
                err_out = fmax(err_out, fabs(out[i] - 1 / (1 + exp(-z))));
                noise_mag = fmax(noise_mag, fabs(act[i] - out[i]));
            }
        }
    CU_ASSERT(err_load < 1e-5);
    CU_ASSERT(err_out < 1e-6);
    CU_ASSERT(noise_mag > 1e-3); /* the action carries its noise, the output not */
    printf("\n    %d episodes x %d steps: 0 differences from the rollout; loads %.2g, read-out "
           "%.2g from their definitions; action - output up to %.3g",
           N, T, err_load, err_out, noise_mag);
    free(out), free(act), free(ld), free(vel), free(h0), free(h1);

    /* the header: metadata and names */
    const char *v;
    CU_ASSERT((v = mnet_safetensors_meta(&f, "mnet.format")) && !strcmp(v, "mnet-episodes"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "version")) && !strcmp(v, "1"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "layout")) &&
              !strcmp(v, "batch-major [episode, step, row]"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "step")) && atof(v) == 0.01);
    CU_ASSERT((v = mnet_safetensors_meta(&f, "n_episodes")) && !strcmp(v, "10"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "n_steps")) && !strcmp(v, "8"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "names.muscle")) && !strcmp(v, "ur,ul,lr,ll"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "names.point")) && !strcmp(v, "point"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "names.muscle_row")) &&
              !strcmp(v, "activation,length,velocity,force"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "names.joint")) && !strcmp(v, "q0,q1"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "names.load")) &&
              !strcmp(v, "endpoint.x,endpoint.y,joint.q0,joint.q1"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "names.loss")) &&
              !strcmp(v, "position_l1,position_l2,speed,jerk,activation_l2,muscle_force,"
                         "hidden_l2,dist2"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "loss.weight")) &&
              !strcmp(v, "1,2,0.5,0.0001,5,0.01,0.10000000000000001,3"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "noise")) && !strcmp(v, "seed=99 element0=500"));
    CU_ASSERT(mnet_safetensors_meta(&f, "names.hidden") == NULL); /* modular networks only */
    CU_ASSERT((v = mnet_safetensors_meta(&f, "run")) && !strcmp(v, "the run text"));
    CU_ASSERT((v = mnet_safetensors_meta(&f, "effector")) && !strcmp(v, "mock_pm4"));
    /* the observation rows: goal (2), vision (2, s_{t-2}), proprioception
     * (8, s_{t-1}), two action frames (8, older first) */
    v = mnet_safetensors_meta(&f, "names.obs");
    CU_ASSERT_FATAL(v != NULL);
    CU_ASSERT(count_commas(v) + 1 == I && I == 20);
    CU_ASSERT(!strncmp(v, "goal.x,goal.y,vision.x@t-2,vision.y@t-2,proprio.length.ur@t-1,", 62));
    CU_ASSERT(strstr(v, ",proprio.velocity.ll@t-1,action.ur@t-2,") != NULL);
    CU_ASSERT(strlen(v) > 14 && !strcmp(v + strlen(v) - 14, ",action.ll@t-1"));
    printf("\n    names.obs = %s", v);
    /* the tensors in file order, nothing else */
    static const char *const order[] = {
        "obs", "hidden.0", "hidden.1", "output", "action", "load", "joint.q", "joint.qd",
        "endpoint.pos", "endpoint.vel", "muscle.activation", "muscle.length", "muscle.velocity",
        "muscle.force", "body.points", "target", "goal", "start", "go_time", "catch",
        "loss.position_l1", "loss.position_l2", "loss.speed", "loss.jerk", "loss.activation_l2",
        "loss.muscle_force", "loss.hidden_l2", "loss.dist2"};
    int k = 0, in_order = 1;
    for (int i = 0; i < (int)(sizeof order / sizeof *order); i++) {
        in_order &= k < f.n_tensors && !strcmp(f.tensors[k].name, order[i]);
        k++;
    }
    CU_ASSERT(in_order && k == f.n_tensors);

    mnet_safetensors_close(&f);
    remove(path);
    free(st), free(ac), free(ob), free(hd);
    mnet_episode_free(&ep);
    mnet_train_free(tr);
    printf("\n");
}

/* ---- the loss arrays ---- */

static void test_losses(void)
{
    const int N = 10;
    mnet_episode ep;
    mnet_train *tr = trained(0, N, &ep);
    const int T = tr->T, B = tr->B, L = NTERMS, M = 4, H = 5;
    const mnet_noise_key nz = {5, 40, 1};

    /* the rollout's loss terms, chunk by chunk as mnet_train_eval runs
     * them, weighted by the chunk's columns */
    double want[NTERMS] = {0};
    for (int c0 = 0; c0 < N; c0 += B) {
        int n = N - c0 < B ? N - c0 : B;
        mnet_episode_copy_cols(&tr->ep, &ep, c0, n);
        mnet_noise_key key = {nz.seed, nz.element0 + (uint32_t)c0, 1};
        mnet_train_forward(tr, n, &key);
        for (int k = 0; k < L; k++)
            want[k] += tr->loss_terms[k] * n / N;
    }
    /* the per-step values (double), averaged as mnet_task.h says */
    double *ls = malloc((size_t)(T + 1) * L * N * sizeof *ls);
    mnet_rollout_more more = {NULL, NULL, ls};
    CU_ASSERT_FATAL(mnet_train_eval_more(tr, &ep, &nz, NULL, &more, NULL) == 0);
    double worst = 0;
    long nan_ok = 1;
    for (int k = 0; k < L; k++) {
        const mnet_loss_term *term = &tr->cfg.loss[k];
        int t0 = term->kind == MNET_LOSS_JERK ? 2 : 0;
        int t1 = term->kind == MNET_LOSS_HIDDEN_L2 ? T - 1 : T;
        double sum = 0;
        for (int t = 0; t <= T; t++)
            for (int b = 0; b < N; b++) {
                double v = ls[((size_t)t * L + k) * N + b];
                if (t < t0 || t > t1)
                    nan_ok &= isnan(v);
                else
                    sum += v;
            }
        double got = term->weight * sum / ((double)N * (t1 - t0 + 1));
        double rel = fabs(got - want[k]) / fabs(want[k]);
        worst = fmax(worst, rel);
        printf("\n    %-14s %.12g (rollout %.12g) rel %.2g", mnet_loss_name(&model, term), got,
               want[k], rel);
        CU_ASSERT(want[k] > 0 && rel <= 1e-12);
    }
    CU_ASSERT(nan_ok);

    /* the file: float32 of those values, bit for bit, and each term's
     * values by its definition from the recorded arrays (float tolerance) */
    char err[256];
    char pbuf[256];
    const char *path = tmp_path(pbuf, "losses.safetensors");
    CU_ASSERT_FATAL(mnet_record_episodes(tr, &ep, &nz, NULL, path, err, sizeof err) == 0);
    mnet_safetensors f;
    CU_ASSERT_FATAL(mnet_safetensors_open(path, &f, err, sizeof err) == 0);
    const int64_t sh_l[] = {N, T + 1}, sh_p[] = {N, T + 1, 2}, sh_m[] = {N, T + 1, M},
                  sh_h[] = {N, T, H};
    double *pos = get(&f, "endpoint.pos", 3, sh_p), *vel = get(&f, "endpoint.vel", 3, sh_p),
           *tgt = get(&f, "target", 3, sh_p), *act = get(&f, "muscle.activation", 3, sh_m),
           *frc = get(&f, "muscle.force", 3, sh_m), *h0 = get(&f, "hidden.0", 3, sh_h),
           *h1 = get(&f, "hidden.1", 3, sh_h);
    CU_ASSERT_FATAL(pos && vel && tgt && act && frc && h0 && h1);
    double fmax_k[4], fmean = 0;
    for (int k = 0; k < M; k++)
        fmean += (fmax_k[k] = params[model.muscle_max_force[k]]) / M;
    long bad = 0;
    double err_def = 0;
    for (int k = 0; k < L; k++) {
        char name[64];
        snprintf(name, sizeof name, "loss.%s", mnet_loss_name(&model, &tr->cfg.loss[k]));
        double *x = get(&f, name, 2, sh_l);
        CU_ASSERT_FATAL(x != NULL);
        for (int b = 0; b < N; b++)
            for (int t = 0; t <= T; t++) {
                double v = ls[((size_t)t * L + k) * N + b], fv = x[(size_t)b * (T + 1) + t];
                bad += isnan(v) ? !isnan(fv) : fv != (double)(float)v;
                const size_t ip = ((size_t)b * (T + 1) + t) * 2, im = ((size_t)b * (T + 1) + t) * M;
                double d = NAN;
                switch (tr->cfg.loss[k].kind) {
                case MNET_LOSS_POSITION_L1:
                    d = fabs(pos[ip] - tgt[ip]) + fabs(pos[ip + 1] - tgt[ip + 1]);
                    break;
                case MNET_LOSS_POSITION_L2:
                case MNET_LOSS_COMPILED:
                    d = pow(pos[ip] - tgt[ip], 2) + pow(pos[ip + 1] - tgt[ip + 1], 2);
                    break;
                case MNET_LOSS_SPEED: d = vel[ip] * vel[ip] + vel[ip + 1] * vel[ip + 1]; break;
                case MNET_LOSS_JERK:
                    if (t >= 2) {
                        d = 0;
                        for (int i = 0; i < 2; i++)
                            d += pow((vel[ip + i] - 2 * vel[ip + i - 2] + vel[ip + i - 4]) / 1e-4, 2);
                    }
                    break;
                case MNET_LOSS_ACTIVATION_L2:
                    d = 0;
                    for (int m = 0; m < M; m++)
                        d += pow(act[im + m] * fmax_k[m] / fmean, 2);
                    break;
                case MNET_LOSS_MUSCLE_FORCE:
                    d = 0;
                    for (int m = 0; m < M; m++)
                        d += frc[im + m];
                    break;
                case MNET_LOSS_HIDDEN_L2:
                    if (t < T) {
                        d = 0;
                        for (int j = 0; j < H; j++)
                            d += pow(h0[((size_t)b * T + t) * H + j], 2) +
                                 pow(h1[((size_t)b * T + t) * H + j], 2);
                    }
                    break;
                default: break;
                }
                if (isnan(d))
                    bad += !isnan(fv);
                else if (tr->cfg.loss[k].kind != MNET_LOSS_JERK) /* jerk: cancellation */
                    err_def = fmax(err_def, fabs(fv - d) / (fabs(d) + 1e-2));
            }
        free(x);
    }
    CU_ASSERT(bad == 0);
    CU_ASSERT(err_def < 1e-5);
    printf("\n    averaged per-step values vs the rollout's terms: worst rel %.2g; file vs "
           "definitions (float): %.2g (|diff| / (|value| + 0.01))\n", worst, err_def);
    free(pos), free(vel), free(tgt), free(act), free(frc), free(h0), free(h1);
    mnet_safetensors_close(&f);
    remove(path);

    /* derivative weights change the terms, not the recorded values */
    mnet_episode ep2;
    mnet_train *tr2 = trained(1, N, &ep2);
    memcpy(tr2->params, tr->params, tr->n_params * sizeof *tr->params);
    double *ls2 = malloc((size_t)(T + 1) * L * N * sizeof *ls2);
    mnet_rollout_more more2 = {NULL, NULL, ls2};
    CU_ASSERT_FATAL(mnet_train_eval_more(tr2, &ep, &nz, NULL, &more2, NULL) == 0);
    long same = 0;
    for (size_t i = 0; i < (size_t)(T + 1) * L * N; i++)
        same += (isnan(ls[i]) && isnan(ls2[i])) || ls[i] == ls2[i];
    CU_ASSERT(same == (long)((T + 1) * L * N));
    free(ls2);
    mnet_episode_free(&ep2);
    mnet_train_free(tr2);

    free(ls);
    mnet_episode_free(&ep);
    mnet_train_free(tr);
}

/* ---- no noise; sizes; refusals ---- */

static void test_refusals(void)
{
    const int N = 3;
    mnet_episode ep;
    mnet_train *tr = trained(0, N, &ep);
    const int T = tr->T;
    char err[256];
    char pbuf[256], cbuf[256];
    const char *path = tmp_path(pbuf, "plain.safetensors");

    /* without noise the action is the output */
    CU_ASSERT_FATAL(mnet_record_episodes(tr, &ep, NULL, NULL, path, err, sizeof err) == 0);
    mnet_safetensors f;
    CU_ASSERT_FATAL(mnet_safetensors_open(path, &f, err, sizeof err) == 0);
    const int64_t sh_m[] = {N, T, 4};
    double *out = get(&f, "output", 3, sh_m), *act = get(&f, "action", 3, sh_m);
    CU_ASSERT_FATAL(out && act);
    CU_ASSERT(memcmp(out, act, (size_t)N * T * 4 * sizeof *out) == 0);
    const char *v = mnet_safetensors_meta(&f, "noise");
    CU_ASSERT(v && !strcmp(v, "off"));
    CU_ASSERT(f.data_len == mnet_record_bytes(tr, N));
    CU_ASSERT(mnet_record_memory(tr, N) > mnet_record_bytes(tr, N));
    free(out), free(act);
    mnet_safetensors_close(&f);

    /* a model without points: no body.points */
    model.points = NULL;
    model.n_points = 0;
    CU_ASSERT_FATAL(mnet_record_episodes(tr, &ep, NULL, NULL, path, err, sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_safetensors_open(path, &f, err, sizeof err) == 0);
    CU_ASSERT(mnet_safetensors_find(&f, "body.points") == NULL);
    CU_ASSERT((v = mnet_safetensors_meta(&f, "names.point")) && !strcmp(v, ""));
    CU_ASSERT(f.data_len == mnet_record_bytes(tr, N));
    mnet_safetensors_close(&f);
    model.points = mnet_mock_pm4.points;
    model.n_points = mnet_mock_pm4.n_points;
    CU_ASSERT_FATAL(mnet_record_episodes(tr, &ep, NULL, NULL, path, err, sizeof err) == 0);

    /* a truncated file: the reader refuses it (cut in the data, in the
     * header, in the length) */
    long len;
    char *bytes = mnet_read_file(path, &len);
    CU_ASSERT_FATAL(bytes != NULL && len > 100);
    const long cuts[] = {len - 1, len - 4 * (long)(T + 1), 200, 5};
    for (int i = 0; i < 4; i++) {
        const char *cut = tmp_path(cbuf, "cut.safetensors");
        FILE *fp = fopen(cut, "wb");
        CU_ASSERT_FATAL(fp != NULL);
        CU_ASSERT(fwrite(bytes, 1, (size_t)cuts[i], fp) == (size_t)cuts[i]);
        fclose(fp);
        err[0] = '\0';
        CU_ASSERT(mnet_safetensors_open(cut, &f, err, sizeof err) != 0);
        CU_ASSERT(err[0] != '\0');
        if (i == 0)
            printf("\n    cut by a byte: %s", err);
        remove(cut);
    }
    free(bytes);

    /* the caller's key may not be one of the file's own; the previous file
     * stays */
    const char *meta[] = {"n_steps", "9", NULL};
    CU_ASSERT(mnet_record_episodes(tr, &ep, NULL, meta, path, err, sizeof err) != 0);
    CU_ASSERT(strstr(err, "n_steps") != NULL);
    CU_ASSERT(mnet_safetensors_open(path, &f, err, sizeof err) == 0);
    mnet_safetensors_close(&f);
    const char *meta2[] = {"format", "x", NULL};
    CU_ASSERT(mnet_record_episodes(tr, &ep, NULL, meta2, path, err, sizeof err) != 0);
    /* episodes of another length; none */
    mnet_episode other;
    CU_ASSERT_FATAL(mnet_episode_alloc(&other, &model, 2, T + 1, err, sizeof err) == 0);
    other.n_cols = 2;
    CU_ASSERT(mnet_record_episodes(tr, &other, NULL, NULL, path, err, sizeof err) != 0);
    CU_ASSERT(strstr(err, "steps") != NULL);
    mnet_episode_free(&other);
    ep.n_cols = 0;
    CU_ASSERT(mnet_record_episodes(tr, &ep, NULL, NULL, path, err, sizeof err) != 0);
    ep.n_cols = N;
    /* a directory that does not exist */
    CU_ASSERT(mnet_record_episodes(tr, &ep, NULL, NULL, "/nonexistent/dir/e.safetensors", err,
                                   sizeof err) != 0);
    printf("\n    %s\n", err);
    /* the sizes: bytes of every tensor, exactly */
    const size_t I = (size_t)tr->I, Tz = (size_t)T;
    const size_t per = Tz * I + 2 * Tz * 5 + 2 * Tz * 4 + Tz * 4 + 2 * (Tz + 1) * 2 +
                       2 * (Tz + 1) * 2 + 4 * (Tz + 1) * 4 + (Tz + 1) * 2 + 2 * 2 + 2 +
                       NTERMS * (Tz + 1);
    const size_t points = (Tz + 1) * (size_t)model.n_points * 2;
    CU_ASSERT(mnet_record_bytes(tr, 7) == 7 * 4 * (per + points));
    remove(path);
    mnet_episode_free(&ep);
    mnet_train_free(tr);
}

/* ---- validation.csv: the joint columns ---- */

static void test_validation_joints(void)
{
    mnet_episode ep;
    mnet_train *tr = trained(0, 1, &ep);
    mnet_episode_free(&ep);
    const int T = tr->T, S = tr->S;
    /* joint names as a compiled model gives them (only the joint rows are
     * read) */
    static const char *state_names[MOCK_NSTATE] = {"joint.sx", "joint.sy", "joint.dsx",
                                                   "joint.dsy"};
    for (int named = 0; named < 2; named++) {
        model.state_names = named ? state_names : NULL;
        char err[256], pbuf[256];
        const char *path = tmp_path(pbuf, "validation.csv");
        double loss;
        CU_ASSERT_FATAL(mnet_train_write_validation(tr, NULL, path, &loss, err, sizeof err) == 0);
        /* the same set, rolled out here */
        const int E = mnet_task_validation_size(&tr->cfg, tr->cfg.batch_size);
        CU_ASSERT(E == 24);
        mnet_episode v;
        CU_ASSERT_FATAL(mnet_episode_alloc(&v, &model, E, T, err, sizeof err) == 0);
        CU_ASSERT_FATAL(mnet_task_generate(&tr->cfg, &model, params, 1, tr->cfg.seed, 0, E, &v,
                                           err, sizeof err) == 0);
        mnet_real *st = malloc((size_t)(T + 1) * S * E * sizeof *st);
        mnet_rollout ro = {st, NULL, NULL, NULL};
        CU_ASSERT_FATAL(mnet_train_eval(tr, &v, NULL, &ro, NULL) == 0);

        long len;
        char *csv = mnet_read_file(path, &len);
        CU_ASSERT_FATAL(csv != NULL);
        const char *want_header =
            named ? "episode,step,t,x,y,vx,vy,goal_x,goal_y,q_sx,q_sy,qd_sx,qd_sy,act_ur,"
                  : "episode,step,t,x,y,vx,vy,goal_x,goal_y,q_0,q_1,qd_0,qd_1,act_ur,";
        CU_ASSERT(!strncmp(csv, want_header, strlen(want_header)));
        /* every row's joint columns (9 .. 12) against the rollout's state */
        double worst = 0;
        long rows = 0;
        char *line = strchr(csv, '\n');
        while (line && line[1]) {
            line++;
            double f[13];
            char *p = line;
            for (int k = 0; k < 13; k++) {
                f[k] = strtod(p, &p);
                p += *p == ',';
            }
            const int e = (int)f[0], t = (int)f[1];
            CU_ASSERT_FATAL(e >= 0 && e < E && t >= 0 && t <= T);
            for (int j = 0; j < 4; j++) {
                double want = st[((size_t)t * S + MOCK_JOINT + j) * E + e];
                worst = fmax(worst, fabs(f[9 + j] - want) / fmax(fabs(want), 1e-3));
            }
            rows++;
            line = strchr(line, '\n');
        }
        CU_ASSERT(rows == (long)E * (T + 1));
        CU_ASSERT(worst < 1e-10);
        printf("\n    validation.csv (%s joints): %ld rows, q/qd against the rollout: rel %.2g",
               named ? "named" : "unnamed", rows, worst);
        free(csv);
        free(st);
        mnet_episode_free(&v);
        remove(path);
    }
    printf("\n");
    model.state_names = NULL;
    mnet_train_free(tr);
}

/* ---- the sample for read_episodes.py ---- */

static int write_sample(const char *dir)
{
    char err[256], path[512];
    setup_model();
    mnet_task_config c = config(0);
    c.hidden_noise = 0; /* so that torch.nn.GRU on the recorded obs gives the states */
    mnet_train *tr = mnet_train_new(&model, params, &c, err, sizeof err);
    if (!tr) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (int k = 0; k < 4; k++)
        mnet_train_batch(tr, k);
    mnet_episode ep;
    const int N = 6;
    int rc = mnet_episode_alloc(&ep, &model, N, tr->T, err, sizeof err) ||
             mnet_task_generate(&c, &model, params, 0, 77, 0, N, &ep, err, sizeof err);
    const mnet_noise_key nz = {3, 0, 1};
    snprintf(path, sizeof path, "%s/episodes.safetensors", dir);
    rc = rc || mnet_record_episodes(tr, &ep, &nz, NULL, path, err, sizeof err);
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    rc = rc || mnet_safetensors_save_nn(path, &tr->nn, tr->params, NULL, MNET_ST_F32, err,
                                        sizeof err);
    if (rc)
        fprintf(stderr, "%s\n", err);
    mnet_episode_free(&ep);
    mnet_train_free(tr);
    return rc ? 1 : 0;
}

static const mnet_test tests[] = {
    {"every recorded array equals the rollout; header and names", test_arrays},
    {"loss arrays: per-step values average to the rollout's terms", test_losses},
    {"no noise, sizes, truncated files and refusals", test_refusals},
    {"validation.csv: joint positions and velocities", test_validation_joints},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write"))
        return write_sample(argv[2]);
    return mnet_test_main("record", tests);
}
