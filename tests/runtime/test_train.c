/* test_train.c - the training core on the mock point-mass effector:
 * the mock's VJPs against finite differences, the gradient of a whole
 * episode loss (every loss kind, delays, action frames, curl / channel,
 * noise) w.r.t. every network parameter against central differences,
 * learning on the reaching task, bit-identical determinism, the
 * non-finite guard, model checks, and the evaluation rollout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_checkpoint.h"
#include "mnet_rng.h"
#include "mnet_train.h"
#include "mock_effector.h"
#include "test_support.h"

static mnet_real mock_params[MOCK_NPARAMS];

static void load_mock_params(void)
{
    for (int i = 0; i < MOCK_NPARAMS; i++)
        mock_params[i] = (mnet_real)mnet_mock_pm4.param_defaults[i];
}

/* ---- the mock effector's VJPs ------------------------------------------------ */

/* <w, f(x + h e_i)> central differences vs the VJP, for one function. */
static void test_mock_vjp(void)
{
    load_mock_params();
    const mnet_model *m = &mnet_mock_pm4;
    const int n = 3, ld = 4, S = MOCK_NSTATE;
    mnet_rng r;
    mnet_rng_seed(&r, 42);
    mnet_real j0[4 * 4], s[S * 4], u[4 * 4], load[4 * 4], gnext[S * 4], gsense[MOCK_NSENSE * 4];
    for (int i = 0; i < 4 * ld; i++)
        j0[i] = (i / ld < 2 ? 0.4 : 0.5) * (2 * mnet_rng_uniform(&r) - 1);
    const mnet_real *in_j[1] = {j0};
    mnet_real *out_s[1] = {s};
    m->init(n, ld, in_j, out_s, mock_params);
    for (int k = 0; k < 4; k++) /* nonzero activations */
        for (int b = 0; b < n; b++) {
            s[(MOCK_MUSCLE + k) * ld + b] = 0.2 + 0.6 * mnet_rng_uniform(&r);
            s[(MOCK_MUSCLE + 12 + k) * ld + b] =
                s[(MOCK_MUSCLE + k) * ld + b] * mock_params[MOCK_P_MUSCLE + 3 * k];
        }
    for (int i = 0; i < 4 * ld; i++) {
        u[i] = mnet_rng_uniform(&r);
        load[i] = 2 * mnet_rng_uniform(&r) - 1;
    }
    for (int i = 0; i < S * ld; i++)
        gnext[i] = 2 * mnet_rng_uniform(&r) - 1;
    for (int i = 0; i < MOCK_NSENSE * ld; i++)
        gsense[i] = 2 * mnet_rng_uniform(&r) - 1;

    /* analytic */
    mnet_real gs[S * 4], gu[4 * 4], gl[4 * 4], gj[4 * 4], gss[S * 4];
    {
        const mnet_real *in[4] = {s, u, load, gnext};
        mnet_real *out[3] = {gs, gu, gl};
        m->step_vjp(n, ld, in, out, mock_params);
        const mnet_real *in2[2] = {j0, gnext};
        mnet_real *out2[1] = {gj};
        m->init_vjp(n, ld, in2, out2, mock_params);
        const mnet_real *in3[2] = {s, gsense};
        mnet_real *out3[1] = {gss};
        m->sense_vjp(n, ld, in3, out3, mock_params);
    }
    /* numeric: perturb one input row of one column at a time */
    const double h = 1e-6;
    double err_step = 0, scale_step = 0, err_init = 0, scale_init = 0, err_sense = 0,
           scale_sense = 0;
    mnet_real next[S * 4], sen[MOCK_NSENSE * 4];
    for (int b = 0; b < n; b++) {
        /* step: state rows, actions, loads */
        for (int arg = 0; arg < 3; arg++) {
            mnet_real *x = arg == 0 ? s : arg == 1 ? u : load;
            int rows = arg == 0 ? S : 4;
            const mnet_real *ana = arg == 0 ? gs : arg == 1 ? gu : gl;
            for (int i = 0; i < rows; i++) {
                double f[2];
                mnet_real x0 = x[i * ld + b];
                for (int k = 0; k < 2; k++) {
                    x[i * ld + b] = x0 + (k ? -h : h);
                    const mnet_real *in[3] = {s, u, load};
                    mnet_real *out[1] = {next};
                    m->step(n, ld, in, out, mock_params);
                    f[k] = 0;
                    for (int q = 0; q < S; q++)
                        f[k] += gnext[q * ld + b] * next[q * ld + b];
                }
                x[i * ld + b] = x0;
                double fd = (f[0] - f[1]) / (2 * h);
                err_step = fmax(err_step, fabs(fd - ana[i * ld + b]));
                scale_step = fmax(scale_step, fabs(fd));
            }
        }
        /* init */
        for (int i = 0; i < 4; i++) {
            double f[2];
                mnet_real x0 = j0[i * ld + b];
            for (int k = 0; k < 2; k++) {
                j0[i * ld + b] = x0 + (k ? -h : h);
                const mnet_real *in[1] = {j0};
                mnet_real *out[1] = {next};
                m->init(n, ld, in, out, mock_params);
                f[k] = 0;
                for (int q = 0; q < S; q++)
                    f[k] += gnext[q * ld + b] * next[q * ld + b];
            }
            j0[i * ld + b] = x0;
            double fd = (f[0] - f[1]) / (2 * h);
            err_init = fmax(err_init, fabs(fd - gj[i * ld + b]));
            scale_init = fmax(scale_init, fabs(fd));
        }
        /* sense */
        for (int i = 0; i < S; i++) {
            double f[2];
                mnet_real x0 = s[i * ld + b];
            for (int k = 0; k < 2; k++) {
                s[i * ld + b] = x0 + (k ? -h : h);
                const mnet_real *in[1] = {s};
                mnet_real *out[1] = {sen};
                m->sense(n, ld, in, out, mock_params);
                f[k] = 0;
                for (int q = 0; q < MOCK_NSENSE; q++)
                    f[k] += gsense[q * ld + b] * sen[q * ld + b];
            }
            s[i * ld + b] = x0;
            double fd = (f[0] - f[1]) / (2 * h);
            err_sense = fmax(err_sense, fabs(fd - gss[i * ld + b]));
            scale_sense = fmax(scale_sense, fabs(fd));
        }
    }
    printf("\n    mock VJP vs FD: step %.2e, init %.2e, sense %.2e (max abs err / max |fd|)\n",
           err_step / scale_step, err_init / scale_init, err_sense / scale_sense);
    CU_ASSERT(err_step / scale_step <= 1e-7);
    CU_ASSERT(err_init / scale_init <= 1e-7);
    CU_ASSERT(err_sense / scale_sense <= 1e-7);
}

/* ---- the loss library by hand ------------------------------------------------ */

/* Each kind's value from its definition (mnet_task.h), written out
 * directly, and the gradient of the total against central differences. */
static void test_loss_values(void)
{
    load_mock_params();
    const mnet_model *m = &mnet_mock_pm4;
    enum { T = 4, n = 2, ld = 3, S = MOCK_NSTATE, H = 2 };
    const double dt = 0.01;
    mnet_nn nn;
    mnet_nn_config nc = {MNET_NN_GRU, 3, H, 1, 4, MNET_NN_ORTHO_STACKED, -5, MNET_NN_READOUT_SIGMOID, MNET_NN_CANDIDATE_TANH, 0};
    char err[200];
    CU_ASSERT_FATAL(mnet_nn_setup(&nn, &nc, err, sizeof err) == 0);
    mnet_real *arena = calloc((size_t)T * mnet_nn_act_size(&nn, n), sizeof *arena);
    mnet_nn_acts acts;
    mnet_nn_bind_acts(&nn, arena, T, n, &acts);
    mnet_real state[(T + 1) * S * ld], target[(T + 1) * 2 * ld];
    mnet_rng r;
    mnet_rng_seed(&r, 17);
    for (int i = 0; i < (T + 1) * S * ld; i++)
        state[i] = (mnet_real)(2 * mnet_rng_uniform(&r) - 1);
    for (int i = 0; i < (T + 1) * 2 * ld; i++)
        target[i] = (mnet_real)(2 * mnet_rng_uniform(&r) - 1);
    for (int t = 0; t < T; t++)
        for (int j = 0; j < H; j++)
            for (int b = 0; b < n; b++)
                acts.layer[0].h[j * acts.ld + t * n + b] = (mnet_real)(2 * mnet_rng_uniform(&r) - 1);
    /* F_max 10 30 16 24 (mean 20) in the parameter table: activation_l2
     * weighs the muscles 0.5 1.5 0.8 1.2 */
    const double scale[4] = {0.5, 1.5, 0.8, 1.2};
    for (int k = 0; k < 4; k++)
        mock_params[m->muscle_max_force[k]] = (mnet_real)(20 * scale[k]);
    mnet_real *scratch = malloc(mnet_loss_scratch_size(m, H, ld) * sizeof *scratch);
    mnet_loss_ctx c = {.m = m, .T = T, .n = n, .ld = ld, .step = dt, .state = state, .target = target,
                       .nn = &nn, .acts = &acts, .scratch = scratch, .params = mock_params};
#define ST(t, row, b) ((double)state[((t) * S + (row)) * ld + (b)])
    mnet_loss_term terms[MNET_LOSS_COMPILED];
    double want[MNET_LOSS_COMPILED], got[MNET_LOSS_COMPILED];
    for (int k = 0; k < MNET_LOSS_COMPILED; k++) {
        double w = 0.7 + k, wd = 1e-5 * (k + 1);
        terms[k] = (mnet_loss_term){(mnet_loss_kind)k, w, wd, 0, ""};
        double val = 0, der = 0;
        int t0 = k == MNET_LOSS_JERK ? 2 : 0, t1 = k == MNET_LOSS_HIDDEN_L2 ? T - 1 : T;
        int N = t1 - t0 + 1, R = k == MNET_LOSS_ACTIVATION_L2 || k == MNET_LOSS_MUSCLE_FORCE ? 4
                                 : k == MNET_LOSS_HIDDEN_L2                           ? H
                                                                                      : 2;
        double q[T + 1][4][n];
        for (int t = t0; t <= t1; t++)
            for (int i = 0; i < R; i++)
                for (int b = 0; b < n; b++) {
                    double x;
                    switch (k) {
                    case MNET_LOSS_POSITION_L1:
                    case MNET_LOSS_POSITION_L2:
                        x = ST(t, MOCK_CART + i, b) - target[(t * 2 + i) * ld + b];
                        break;
                    case MNET_LOSS_SPEED: x = ST(t, MOCK_CART + 2 + i, b); break;
                    case MNET_LOSS_JERK:
                        x = (ST(t, MOCK_CART + 2 + i, b) - 2 * ST(t - 1, MOCK_CART + 2 + i, b) +
                             ST(t - 2, MOCK_CART + 2 + i, b)) / (dt * dt);
                        break;
                    case MNET_LOSS_ACTIVATION_L2: x = ST(t, MOCK_MUSCLE + i, b) * scale[i]; break;
                    case MNET_LOSS_MUSCLE_FORCE: x = ST(t, MOCK_MUSCLE + 12 + i, b); break;
                    default: x = acts.layer[0].h[i * acts.ld + t * n + b];
                    }
                    q[t][i][b] = x;
                    val += k == MNET_LOSS_POSITION_L1 ? fabs(x)
                           : k == MNET_LOSS_MUSCLE_FORCE ? x
                                                         : x * x;
                    if (t > t0) {
                        double d = (x - q[t - 1][i][b]) / dt;
                        der += d * d;
                    }
                }
        want[k] = w * val / (n * N) + wd * der / (n * (N - 1));
    }
#undef ST
    double total = mnet_loss(&c, terms, MNET_LOSS_COMPILED, got, NULL, NULL);
    double worst = 0, sum = 0;
    for (int k = 0; k < MNET_LOSS_COMPILED; k++) {
        worst = fmax(worst, fabs(got[k] - want[k]) / fabs(want[k]));
        sum += got[k];
    }
    CU_ASSERT(worst <= 1e-13);
    CU_ASSERT(total == sum);
    /* the reference recipe: L1 over T+1 states including the initial */
    mnet_loss_term l1 = {MNET_LOSS_POSITION_L1, 1, 0, 0, ""};
    double by_hand = 0;
    for (int t = 0; t <= T; t++)
        for (int b = 0; b < n; b++)
            for (int i = 0; i < 2; i++)
                by_hand += fabs((double)state[(t * S + MOCK_CART + i) * ld + b] -
                                target[(t * 2 + i) * ld + b]);
    CU_ASSERT(fabs(mnet_loss(&c, &l1, 1, NULL, NULL, NULL) - by_hand / (n * (T + 1))) < 1e-15);

    /* each term's gradient vs central differences over every state and
     * hidden entry (per term: the scales differ by orders of magnitude) */
    mnet_real *gs = malloc((size_t)(T + 1) * S * ld * sizeof *gs);
    mnet_real *gh = malloc((size_t)T * H * ld * sizeof *gh);
    double worst_g = 0;
    for (int k = 0; k < MNET_LOSS_COMPILED; k++) {
        memset(gs, 0, (size_t)(T + 1) * S * ld * sizeof *gs);
        memset(gh, 0, (size_t)T * H * ld * sizeof *gh);
        mnet_loss(&c, &terms[k], 1, NULL, gs, gh);
        double e = 0, sc = 0;
        for (int which = 0; which < 2; which++) {
            int cnt = which ? T * H * n : (T + 1) * S * ld;
            for (int i = 0; i < cnt; i++) {
                mnet_real *x, g;
                if (which) {
                    int t = i / (H * n), j = (i / n) % H, b = i % n;
                    x = &acts.layer[0].h[j * acts.ld + t * n + b];
                    g = gh[(t * H + j) * ld + b];
                } else {
                    if (i % ld >= n)
                        continue;
                    x = &state[i];
                    g = gs[i];
                }
                mnet_real x0 = *x;
                double h = 1e-6;
                *x = x0 + h;
                double fp = mnet_loss(&c, &terms[k], 1, NULL, NULL, NULL);
                *x = x0 - h;
                double fm = mnet_loss(&c, &terms[k], 1, NULL, NULL, NULL);
                *x = x0;
                double fd = (fp - fm) / (2 * h);
                e = fmax(e, fabs(fd - g));
                sc = fmax(sc, fabs(fd));
            }
        }
        worst_g = fmax(worst_g, e / sc);
    }
    printf("\n    loss values vs definitions: max rel err %.1e; per-term gradient vs FD %.1e\n",
           worst, worst_g);
    CU_ASSERT(worst_g <= 1e-6);
    free(gs);
    free(gh);
    free(scratch);
    free(arena);
}

/* ---- configurations ----------------------------------------------------------- */

static mnet_task_config small_config(void)
{
    mnet_task_config c = mnet_task_config_default();
    c.duration = 0.06; /* T = 6 */
    c.batch_size = 2;
    c.n_hidden = 4;
    c.n_layers = 1;
    c.cell = MNET_NN_GRU;
    c.readout_bias = -1.0;
    c.proprio_delay = 0.02; /* 2 steps */
    c.vision_delay = 0.03;  /* 3 steps */
    c.action_frames = 2;
    c.action_noise = 0.05;
    c.proprio_noise = 0.01;
    c.vision_noise = 0.01;
    c.obs_noise = 0.02;
    c.hidden_noise = 0.05;
    c.curl = 8.0;
    c.seed = 7;
    c.n_losses = 7;
    c.loss[0] = (mnet_loss_term){MNET_LOSS_POSITION_L1, 1.0, 1e-3, 0, ""};
    c.loss[1] = (mnet_loss_term){MNET_LOSS_POSITION_L2, 2.0, 1e-3, 0, ""};
    c.loss[2] = (mnet_loss_term){MNET_LOSS_SPEED, 0.5, 1e-3, 0, ""};
    c.loss[3] = (mnet_loss_term){MNET_LOSS_JERK, 1e-4, 1e-8, 0, ""};
    c.loss[4] = (mnet_loss_term){MNET_LOSS_ACTIVATION_L2, 5.0, 0.02, 0, ""};
    c.loss[5] = (mnet_loss_term){MNET_LOSS_MUSCLE_FORCE, 0.01, 1e-4, 0, ""};
    c.loss[6] = (mnet_loss_term){MNET_LOSS_HIDDEN_L2, 0.1, 0.002, 0, ""};
    return c;
}

/* Gradient of the episode loss w.r.t. every network parameter vs central
 * differences.  Returns the max error (measure: max |g - fd| / max |fd|). */
static double episode_fd(const mnet_task_config *cfg, const char *label, long batch)
{
    char err[256];
    load_mock_params();
    mnet_train *tr = mnet_train_new(&mnet_mock_pm4, mock_params, cfg, err, sizeof err);
    if (!tr) {
        printf("\n    %s: %s\n", label, err);
        CU_FAIL("mnet_train_new");
        return INFINITY;
    }
    /* perturb the initial parameters a little so no gradient vanishes by
     * symmetry (biases start at 0) */
    mnet_rng r;
    mnet_rng_seed(&r, 99);
    for (size_t i = 0; i < tr->n_params; i++)
        tr->params[i] += (mnet_real)(0.1 * (2 * mnet_rng_uniform(&r) - 1));
    double loss;
    CU_ASSERT_FATAL(mnet_train_loss_grad(tr, batch, &loss) == 0);
    const size_t np = tr->n_params;
    double *g = malloc(np * sizeof *g), *fd = malloc(np * sizeof *fd);
    for (size_t i = 0; i < np; i++)
        g[i] = tr->grad[i];
    const double h = 1e-6;
    double worst_elem = 0;
    for (size_t i = 0; i < np; i++) {
        mnet_real p0 = tr->params[i];
        double lp, lm;
        tr->params[i] = p0 + h;
        CU_ASSERT(mnet_train_loss(tr, batch, &lp) == 0);
        tr->params[i] = p0 - h;
        CU_ASSERT(mnet_train_loss(tr, batch, &lm) == 0);
        tr->params[i] = p0;
        fd[i] = (lp - lm) / (2 * h);
        double e = fabs(g[i] - fd[i]) / fmax(fabs(fd[i]), 1e-4 * fabs(loss));
        worst_elem = fmax(worst_elem, e);
    }
    double rel = mnet_max_rel_err(g, fd, (int)np);
    double gmax = 0;
    for (size_t i = 0; i < np; i++)
        gmax = fmax(gmax, fabs(fd[i]));
    printf("\n    %s: loss %.6f (", label, loss);
    for (int k = 0; k < cfg->n_losses; k++)
        printf("%s%.3g", k ? " " : "", tr->loss_terms[k]);
    printf("), %zu params, max|fd| %.3g, max rel err %.2e (per element, floor 1e-4 loss: %.2e)\n",
           np, gmax, rel, worst_elem);
    free(g);
    free(fd);
    mnet_train_free(tr);
    return rel;
}

static void test_episode_grad_gru(void)
{
    mnet_task_config c = small_config();
    double rel = episode_fd(&c, "GRU H=4, T=6, B=2, delays 2/3, 2 frames, curl, noise", 3);
    CU_ASSERT(rel <= 1e-6);
}

static void test_episode_grad_variants(void)
{
    /* exact delays, 2-layer RNN, centre-out (the goal jumps at the cue),
     * force channel with a constant end point load */
    mnet_task_config c = small_config();
    c.kind = MNET_TASK_CENTRE_OUT;
    c.go_cue_lo = 0.01;
    c.go_cue_hi = 0.04;
    c.catch_fraction = 0.3;
    c.duration = 0.07;
    c.batch_size = 3;
    c.exact_delays = 1;
    c.cell = MNET_NN_RNN;
    c.n_layers = 2;
    c.n_hidden = 3;
    c.curl = 0;
    c.channel_stiffness = 50;
    c.channel_damping = 3;
    c.endpoint_load[0] = 0.5;
    c.joint_load[1] = -0.3;
    double rel = episode_fd(&c, "RNN 2x3, exact delays, centre-out, channel", 5);
    CU_ASSERT(rel <= 1e-6);

    /* delayed reach (go row), MLP, curl and channel together, 1-step delays */
    c = small_config();
    c.kind = MNET_TASK_DELAYED_REACH;
    c.go_cue_lo = 0.02;
    c.go_cue_hi = 0.05;
    c.catch_fraction = 0.5;
    c.cell = MNET_NN_MLP;
    c.proprio_delay = 0;
    c.vision_delay = 0.01;
    c.action_frames = 3;
    c.channel_stiffness = 20;
    rel = episode_fd(&c, "MLP, delayed reach, 1-step delays, 3 frames, curl + channel", 1);
    CU_ASSERT(rel <= 1e-6);
}

/* ---- learning ---------------------------------------------------------------------- */

static mnet_task_config reach_config(void)
{
    mnet_task_config c = mnet_task_config_default();
    c.duration = 0.4; /* 40 steps */
    c.batch_size = 32;
    c.n_hidden = 32;
    c.lr = 3e-3;
    c.seed = 11;
    return c;
}

static void test_learning(void)
{
    char err[256];
    load_mock_params();
    mnet_task_config c = reach_config();
    mnet_train *tr = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    if (!tr)
        printf("\n    %s\n", err);
    CU_ASSERT_FATAL(tr != NULL);
    const int N = 200;
    double first = 0, last = 0;
    printf("\n    loss (mean of 20 batches):");
    double acc = 0;
    for (int k = 0; k < N; k++) {
        double l = mnet_train_batch(tr, k);
        CU_ASSERT_FATAL(isfinite(l));
        acc += l;
        if (k % 20 == 19) {
            printf(" %.4f", acc / 20);
            if (k == 19)
                first = acc / 20;
            last = acc / 20;
            acc = 0;
        }
    }
    printf("\n    first 20: %.4f, last 20: %.4f (ratio %.2f), updates %ld, last |g| %.3g\n", first,
           last, last / first, tr->opt.t, tr->grad_norm);
    CU_ASSERT(last < 0.6 * first);
    CU_ASSERT(tr->opt.t == N);
    mnet_train_free(tr);
}

/* ---- a modular network with Dale's law ------------------------------------------- */

/* Two modules (a: 4 units, 3 excitatory; b: 8 units, half excitatory),
 * sparse inputs and connections, b drives the read-out. */
static mnet_task_config modular_config(void)
{
    mnet_task_config c = reach_config();
    c.duration = 0.2;
    c.batch_size = 8;
    c.batch_slice = 3;
    c.n_hidden = 12;
    c.action_frames = 1;
    c.lr = 3e-2; /* large steps: many weights try to cross their sign */
    mnet_nn_modular *md = &c.modular;
    md->n_modules = 2;
    strcpy(md->name[0], "a");
    strcpy(md->name[1], "b");
    md->size[0] = 4;
    md->size[1] = 8;
    md->excitatory[0] = 0.75;
    md->excitatory[1] = 0.5;
    md->drives_readout[1] = 1;
    md->frac[0][0] = md->frac[1][1] = 1;
    md->p[0][0] = md->p[1][1] = 0.8;
    md->frac[1][0] = 0.5, md->p[1][0] = 0.5; /* a -> b */
    md->frac[0][1] = 1, md->p[0][1] = 0.3;   /* b -> a */
    md->n_sources = 3;
    const char *src[3] = {"goal", "proprioception", "actions"};
    const double reach[3][2] = {{0, 0.5}, {0.7, 0}, {0, 1}};
    for (int k = 0; k < 3; k++) {
        strcpy(md->source_name[k], src[k]);
        md->reach[k][0] = reach[k][0];
        md->reach[k][1] = reach[k][1];
    }
    return c;
}

/* Violations of the masks and signs in w (n): masked weights not exactly
 * 0, weights of the wrong sign. */
static int violations(const mnet_real *w, const mnet_real *mask, const mnet_real *sign, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += (mask[i] == 0 && w[i] != 0) || sign[i] * w[i] < 0;
    return bad;
}

/* Through mnet_train_step: the init is constrained, every summed gradient
 * is 0 on masked weights, and after each of 100 Adam steps masked weights
 * are exactly 0 and Dale's signs hold; the masks are those the seed draws. */
static void test_modular_training(void)
{
    char err[512];
    load_mock_params();
    mnet_task_config c = modular_config();
    mnet_train *tr = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    if (!tr)
        printf("\n    %s\n", err);
    CU_ASSERT_FATAL(tr != NULL && tr->mask && tr->sign);
    const size_t np = tr->n_params;
    /* the masks are a pure function of (network, description, seed) */
    mnet_real *mask = malloc(np * sizeof *mask), *sign = malloc(np * sizeof *sign);
    CU_ASSERT_FATAL(mask && sign);
    CU_ASSERT(mnet_nn_modular_masks(&tr->nn, &tr->modular, c.seed, mask, sign) == 0);
    CU_ASSERT(memcmp(mask, tr->mask, np * sizeof *mask) == 0 && memcmp(sign, tr->sign, np * sizeof *sign) == 0);
    /* the sources' columns: goal 0-1, proprioception 4-11, actions 12-15 */
    CU_ASSERT(tr->modular.source_first[0] == 0 && tr->modular.source_count[0] == 2);
    CU_ASSERT(tr->modular.source_first[1] == 4 && tr->modular.source_count[1] == 8);
    CU_ASSERT(tr->modular.source_first[2] == 12 && tr->modular.source_count[2] == 4);
    int masked = 0, signed_ = 0;
    for (size_t i = 0; i < np; i++) {
        masked += mask[i] == 0;
        signed_ += sign[i] != 0;
    }
    CU_ASSERT(masked > 0 && signed_ > 0);
    CU_ASSERT(violations(tr->params, mask, sign, np) == 0);
    int bad_grad = 0, bad_w = 0;
    double first = 0, last = 0;
    for (long b = 0; b < 100; b++) {
        double loss;
        CU_ASSERT_FATAL(mnet_train_step(tr, b, &loss) == 0);
        for (size_t i = 0; i < np; i++)
            bad_grad += mask[i] == 0 && tr->grad[i] != 0;
        bad_w += violations(tr->params, mask, sign, np);
        if (b < 10)
            first += loss / 10;
        if (b >= 90)
            last += loss / 10;
    }
    int clamped = 0; /* Dale's weights held at 0 by the projection */
    for (size_t i = 0; i < np; i++)
        clamped += mask[i] != 0 && sign[i] != 0 && tr->params[i] == 0;
    printf("\n    %zu parameters, %d masked, %d sign-constrained; after 100 steps: %d at 0 by Dale, loss %.4f -> "
           "%.4f; masked gradients not 0: %d, violations: %d\n",
           np, masked, signed_, clamped, first, last, bad_grad, bad_w);
    CU_ASSERT(bad_grad == 0 && bad_w == 0);
    CU_ASSERT(clamped > 0);
    CU_ASSERT(last < first);
    mnet_train_free(tr);

    /* a description the observation cannot give is refused */
    c.action_frames = 0;
    CU_ASSERT(mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "actions") != NULL);
    free(mask);
    free(sign);
}

/* mnet_train_restore: a stored modular run's masks replace the drawn ones
 * (a later build may draw others from the same seed); stored parameters
 * that break their masks or signs are refused with tr unchanged; a plain
 * run's checkpoint cannot carry masks; a file without masks keeps the
 * drawn ones. */
static void test_restore_masks(void)
{
    char err[512];
    load_mock_params();
    mnet_task_config c = modular_config();
    mnet_train *tr = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    CU_ASSERT_FATAL(tr != NULL && tr->mask);
    const size_t np = tr->n_params;
    mnet_real *buf = calloc(6 * np, sizeof *buf);
    CU_ASSERT_FATAL(buf != NULL);
    mnet_real *params = buf, *m = buf + np, *v = buf + 2 * np, *mask = buf + 3 * np, *sign = buf + 4 * np;
    /* stored masks: the drawn ones with one more weight removed (a kept
     * recurrent one), the stored parameters obeying them */
    memcpy(mask, tr->mask, np * sizeof *mask);
    memcpy(sign, tr->sign, np * sizeof *sign);
    memcpy(params, tr->params, np * sizeof *params);
    size_t cut = 0;
    mnet_nn_params pp;
    mnet_nn_bind_params(&tr->nn, params, &pp);
    for (size_t i = (size_t)(pp.layer[0].w_rec - params); i < np && !cut; i++)
        if (mask[i] != 0 && params[i] != 0)
            cut = i;
    CU_ASSERT_FATAL(cut > 0);
    mask[cut] = 0;
    sign[cut] = 0;
    params[cut] = 0;
    for (size_t i = 0; i < np; i++)
        v[i] = (mnet_real)1e-6;
    mnet_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.n_params = np;
    ck.params = params, ck.adam_m = m, ck.adam_v = v, ck.adam_t = 7;
    ck.mask = mask, ck.sign = sign;
    CU_ASSERT(mnet_train_restore(tr, &ck, err, sizeof err) == 0);
    CU_ASSERT(tr->mask[cut] == 0 && memcmp(tr->mask, mask, np * sizeof *mask) == 0 && tr->opt.t == 7);
    /* and training keeps that weight at 0 */
    double loss;
    CU_ASSERT(mnet_train_step(tr, 0, &loss) == 0);
    CU_ASSERT(tr->params[cut] == 0);
    /* stored parameters that break a mask, or a sign: refused, nothing changed */
    mnet_real keep = tr->params[cut + 1];
    params[cut] = (mnet_real)0.5;
    ck.adam_t = 9;
    CU_ASSERT(mnet_train_restore(tr, &ck, err, sizeof err) == -1);
    printf("\n    %s", err);
    CU_ASSERT(strstr(err, "breaks its mask") != NULL && tr->opt.t != 9 && tr->params[cut + 1] == keep);
    params[cut] = 0;
    size_t s = 0;
    for (size_t i = 0; i < np && !s; i++)
        if (sign[i] != 0 && params[i] != 0)
            s = i;
    CU_ASSERT_FATAL(s > 0);
    params[s] = -params[s];
    CU_ASSERT(mnet_train_restore(tr, &ck, err, sizeof err) == -1);
    printf("\n    %s", err);
    CU_ASSERT(strstr(err, "breaks its sign") != NULL);
    params[s] = -params[s];
    /* a file without masks (before they were stored): the drawn ones */
    mnet_train *t2 = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    CU_ASSERT_FATAL(t2 != NULL);
    ck.mask = ck.sign = NULL;
    params[cut] = 0;
    CU_ASSERT(mnet_train_restore(t2, &ck, err, sizeof err) == 0);
    CU_ASSERT(t2->mask[cut] != 0);
    /* a plain network's run cannot carry masks */
    mnet_task_config p = modular_config();
    memset(&p.modular, 0, sizeof p.modular);
    mnet_train *t3 = mnet_train_new(&mnet_mock_pm4, mock_params, &p, err, sizeof err);
    CU_ASSERT_FATAL(t3 != NULL && t3->n_params == np);
    ck.mask = mask, ck.sign = sign;
    CU_ASSERT(mnet_train_restore(t3, &ck, err, sizeof err) == -1);
    printf("\n    %s\n", err);
    CU_ASSERT(strstr(err, "not modular") != NULL);
    mnet_train_free(t3);
    mnet_train_free(t2);
    mnet_train_free(tr);
    free(buf);
}

/* policy.spectral_radius: after mnet_train_new every recurrent gate block
 * has that largest |eigenvalue| (LAPACK's dgeev, double) to 1e-9, for a
 * two-layer GRU and for a modular GRU with Dale's law (masks and signs
 * kept); the same numbers for 1 and 4 threads, also after three steps; an
 * MLP refuses it. */
static void test_spectral_radius(void)
{
    char err[512];
    load_mock_params();
    mnet_task_config cs[2] = {modular_config(), small_config()};
    cs[1].duration = 0.2;
    cs[1].batch_size = 8;
    cs[1].n_hidden = 10;
    cs[1].n_layers = 2;
    const double want[2] = {1.3, 0.7};
    for (int k = 0; k < 2; k++) {
        mnet_task_config c = cs[k];
        mnet_train *plain = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
        c.spectral_radius = want[k];
        c.threads = 1;
        mnet_train *a = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
        c.threads = 4;
        mnet_train *b = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
        if (!a || !b || !plain)
            printf("\n    %s\n", err);
        CU_ASSERT_FATAL(a && b && plain);
        const int H = c.n_hidden, G = a->nn.n_gates;
        double worst = 0, before = 0;
        for (int l = 0; l < c.n_layers; l++)
            for (int q = 0; q < G; q++) {
                const size_t at = (size_t)q * H * H;
                double r, r0;
                CU_ASSERT_FATAL(mnet_nn_block_spectral_radius(a->p.layer[l].w_rec + at, H, &r) == 0);
                CU_ASSERT_FATAL(mnet_nn_block_spectral_radius(plain->p.layer[l].w_rec + at, H, &r0) == 0);
                worst = fmax(worst, fabs(r - want[k]));
                before = fmax(before, fabs(r0 - want[k]));
            }
        printf("\n    %s: largest |eigenvalue| off %.1e from %g (%.2f unscaled)", k ? "GRU 2 layers" : "modular, Dale",
               worst, want[k], before);
        CU_ASSERT(worst <= 1e-9);
        CU_ASSERT(before > 1e-3); /* the scaling did something */
        if (a->mask) {
            CU_ASSERT(violations(a->params, a->mask, a->sign, a->n_params) == 0);
            int zeros = 0, same_zeros = 1;
            for (size_t i = 0; i < a->n_params; i++) {
                zeros += a->mask[i] == 0;
                same_zeros &= (a->params[i] == 0) == (plain->params[i] == 0);
            }
            CU_ASSERT(zeros > 0 && same_zeros);
        }
        CU_ASSERT(memcmp(a->params, b->params, a->n_params * sizeof(mnet_real)) == 0);
        for (long s = 0; s < 3; s++) {
            double la, lb;
            CU_ASSERT_FATAL(mnet_train_step(a, s, &la) == 0 && mnet_train_step(b, s, &lb) == 0);
            CU_ASSERT(la == lb);
        }
        CU_ASSERT(memcmp(a->params, b->params, a->n_params * sizeof(mnet_real)) == 0);
        mnet_train_free(a);
        mnet_train_free(b);
        mnet_train_free(plain);
    }
    printf("\n");
    mnet_task_config c = small_config();
    c.cell = MNET_NN_MLP;
    c.spectral_radius = 1;
    CU_ASSERT(mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "spectral_radius") != NULL);
}

static void test_determinism(void)
{
    char err[256];
    load_mock_params();
    mnet_task_config c = small_config();
    c.duration = 0.2;
    c.batch_size = 8;
    c.n_hidden = 16;
    mnet_train *a = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    mnet_train *b = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    CU_ASSERT_FATAL(a && b);
    double la[10], lb[10];
    for (int k = 0; k < 10; k++)
        la[k] = mnet_train_batch(a, k);
    for (int k = 0; k < 10; k++)
        lb[k] = mnet_train_batch(b, k);
    CU_ASSERT(memcmp(la, lb, sizeof la) == 0);
    CU_ASSERT(memcmp(a->params, b->params, a->n_params * sizeof(mnet_real)) == 0);
    CU_ASSERT(memcmp(a->adam_m, b->adam_m, a->n_params * sizeof(mnet_real)) == 0);
    CU_ASSERT(memcmp(a->adam_v, b->adam_v, a->n_params * sizeof(mnet_real)) == 0);
    /* a batch is reproducible on its own: batch 5's loss at a's parameters
     * from a fresh run with the same parameters */
    mnet_train *d = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    CU_ASSERT_FATAL(d != NULL);
    memcpy(d->params, a->params, a->n_params * sizeof(mnet_real));
    double l1, l2;
    CU_ASSERT(mnet_train_loss(a, 5, &l1) == 0);
    CU_ASSERT(mnet_train_loss(d, 5, &l2) == 0);
    CU_ASSERT(l1 == l2);
    /* a different seed differs */
    c.seed = 8;
    mnet_train *e = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    CU_ASSERT_FATAL(e != NULL);
    CU_ASSERT(mnet_train_batch(e, 0) != la[0]);
    mnet_train_free(a);
    mnet_train_free(b);
    mnet_train_free(d);
    mnet_train_free(e);
}

static void test_nonfinite(void)
{
    char err[256];
    load_mock_params();
    mnet_task_config c = small_config();
    mnet_train *tr = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    CU_ASSERT_FATAL(tr != NULL);
    CU_ASSERT(isfinite(mnet_train_batch(tr, 0)));
    tr->params[3] = (mnet_real)NAN;
    size_t np = tr->n_params;
    mnet_real *p = malloc(np * sizeof *p), *m = malloc(np * sizeof *m), *v = malloc(np * sizeof *v);
    memcpy(p, tr->params, np * sizeof *p);
    memcpy(m, tr->adam_m, np * sizeof *m);
    memcpy(v, tr->adam_v, np * sizeof *v);
    long t0 = tr->opt.t;
    double l = mnet_train_batch(tr, 17);
    CU_ASSERT(isnan(l));
    CU_ASSERT(memcmp(p, tr->params, np * sizeof *p) == 0);
    CU_ASSERT(memcmp(m, tr->adam_m, np * sizeof *m) == 0);
    CU_ASSERT(memcmp(v, tr->adam_v, np * sizeof *v) == 0);
    CU_ASSERT(tr->opt.t == t0);
    CU_ASSERT(tr->n_skipped == 1);
    CU_ASSERT(strstr(mnet_train_error(tr), "batch 17") != NULL);
    CU_ASSERT(strstr(mnet_train_error(tr), "unchanged") != NULL);
    printf("\n    %s\n", mnet_train_error(tr));
    double loss;
    CU_ASSERT(mnet_train_step(tr, 18, &loss) == -1);
    CU_ASSERT(tr->n_skipped == 2);
    free(p);
    free(m);
    free(v);
    mnet_train_free(tr);
}

static int has_activation_l2(const mnet_task_config *c)
{
    for (int i = 0; i < c->n_losses; i++)
        if (c->loss[i].kind == MNET_LOSS_ACTIVATION_L2 && c->loss[i].weight != 0)
            return 1;
    return 0;
}

static void test_model_checks(void)
{
    char err[256] = "";
    load_mock_params();
    mnet_task_config c = small_config();
    /* the load gradient probe */
    mnet_train *tr = mnet_train_new(&mnet_mock_pm4_noload, mock_params, &c, err, sizeof err);
    CU_ASSERT(tr == NULL);
    CU_ASSERT(strstr(err, "out[2]") != NULL);
    printf("\n    %s\n", err);
    c.curl = 0;
    tr = mnet_train_new(&mnet_mock_pm4_noload, mock_params, &c, err, sizeof err);
    CU_ASSERT(tr != NULL);
    mnet_train_free(tr);
    /* precision: the message names the runtime built for the model's reals */
    mnet_model m = mnet_mock_pm4;
    m.real_size = (int)sizeof(mnet_real) == 8 ? 4 : 8;
    CU_ASSERT(mnet_train_new(&m, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, m.real_size == 4 ? "link libmnetrt_f (-lmnetrt_f)" : "link libmnetrt (-lmnetrt)") != NULL);
    printf("    %s\n", err);
    m.real_size = 2;
    CU_ASSERT(mnet_train_new(&m, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "no runtime") != NULL);
    printf("    %s\n", err);
    /* F_max: a muscle without max_force fails an activation_l2 term only */
    m = mnet_mock_pm4;
    int fmax_index[MOCK_NM];
    for (int k = 0; k < MOCK_NM; k++)
        fmax_index[k] = mnet_mock_pm4.muscle_max_force[k];
    fmax_index[1] = -1;
    m.muscle_max_force = fmax_index;
    CU_ASSERT(has_activation_l2(&c));
    CU_ASSERT(mnet_train_new(&m, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "'ul'") != NULL && strstr(err, "max_force") != NULL);
    printf("    %s\n", err);
    mnet_task_config c0 = c;
    for (int i = 0; i < c0.n_losses; i++)
        if (c0.loss[i].kind == MNET_LOSS_ACTIVATION_L2)
            c0.loss[i].weight = c0.loss[i].deriv_weight = 0;
    tr = mnet_train_new(&m, mock_params, &c0, err, sizeof err);
    CU_ASSERT(tr != NULL);
    mnet_train_free(tr);
    /* a table without the indices (built before them), one pointing outside */
    m.muscle_max_force = NULL;
    CU_ASSERT(mnet_train_new(&m, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "recompile") != NULL);
    printf("    %s\n", err);
    fmax_index[1] = MOCK_NPARAMS;
    m.muscle_max_force = fmax_index;
    CU_ASSERT(mnet_train_new(&m, mock_params, &c0, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "outside") != NULL);
    printf("    %s\n", err);
    /* F_max values that sum to zero */
    for (int k = 0; k < MOCK_NM; k++)
        mock_params[MOCK_P_MUSCLE + 3 * k] = 0;
    CU_ASSERT(mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "sum") != NULL);
    printf("    %s\n", err);
    load_mock_params();
    /* configuration errors name the field */
    c = small_config();
    c.duration = 0.001;
    CU_ASSERT(mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "duration") != NULL);
    c = small_config();
    c.vision_noise = -1;
    CU_ASSERT(mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "noise.vision") != NULL);
    c = small_config();
    c.n_hidden = 0;
    CU_ASSERT(mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "hidden") != NULL);
}

/* activation_l2 by hand (mnet_task.h): q = activation * F_max / mean(F_max)
 * of every muscle, w * mean over columns and steps 0..T of sum q^2, plus
 * wd * mean of sum ((q_t - q_{t-1}) / step)^2 over steps 1..T, from the
 * activations of the trainer's last forward. */
static double activation_l2_by_hand(const mnet_train *tr, const double f_max[MOCK_NM], double w, double wd)
{
    const int T = tr->T, n = tr->n_cols, B = tr->B, S = tr->S;
    const double dt = mnet_mock_pm4.step_size;
    double mean = 0;
    for (int k = 0; k < MOCK_NM; k++)
        mean += f_max[k] / MOCK_NM;
    double val = 0, der = 0;
    for (int t = 0; t <= T; t++)
        for (int k = 0; k < MOCK_NM; k++)
            for (int b = 0; b < n; b++) {
                double x = tr->state[((size_t)t * S + MOCK_MUSCLE + k) * B + b] * f_max[k] / mean;
                val += x * x;
                if (t > 0) {
                    double x0 = tr->state[((size_t)(t - 1) * S + MOCK_MUSCLE + k) * B + b] * f_max[k] / mean;
                    der += (x - x0) * (x - x0) / (dt * dt);
                }
            }
    return w * val / ((double)n * (T + 1)) + wd * der / ((double)n * T);
}

/* F_max is read from the trainer's model parameters at every evaluation:
 * a max_force changed between two evaluations (as the REPL's `set` does)
 * changes activation_l2 exactly as the formula says. */
static void test_activation_fmax_live(void)
{
    char err[256];
    load_mock_params();
    mnet_task_config c = small_config();
    const double w = 5.0, wd = 0.02;
    c.n_losses = 1;
    c.loss[0] = (mnet_loss_term){.kind = MNET_LOSS_ACTIVATION_L2, .weight = w, .deriv_weight = wd};
    mnet_train *tr = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    CU_ASSERT_FATAL(tr != NULL);
    /* the mock's F_max (mock_effector.c): ur 20, ul 30, lr 25, ll 35 */
    double f_max[MOCK_NM] = {20, 30, 25, 35};
    for (int k = 0; k < MOCK_NM; k++)
        CU_ASSERT_EQUAL(tr->model_params[mnet_mock_pm4.muscle_max_force[k]], f_max[k]);
    const double tol = sizeof(mnet_real) == 8 ? 1e-12 : 1e-5;
    double before, after;
    CU_ASSERT_FATAL(mnet_train_loss(tr, 3, &before) == 0);
    double want_before = activation_l2_by_hand(tr, f_max, w, wd);
    CU_ASSERT(fabs(before - want_before) <= tol * want_before);
    /* ul.max_force 30 -> 90 in the trainer's table */
    tr->model_params[MOCK_P_MUSCLE + 3] = 90;
    const double stale[MOCK_NM] = {20, 30, 25, 35};
    f_max[1] = 90;
    CU_ASSERT_FATAL(mnet_train_loss(tr, 3, &after) == 0);
    double want_after = activation_l2_by_hand(tr, f_max, w, wd);
    double with_stale = activation_l2_by_hand(tr, stale, w, wd);
    printf("\n    activation_l2: %.12g (by hand %.12g); ul.max_force 90: %.12g (by hand %.12g, with the "
           "old F_max %.12g)\n",
           before, want_before, after, want_after, with_stale);
    CU_ASSERT(fabs(after - want_after) <= tol * want_after);
    CU_ASSERT(fabs(after - with_stale) > 1e-2 * want_after);
    /* the backward reads the same F_max: its gradient against central
     * differences of the loss (every 5th network weight) */
    double again;
    CU_ASSERT_FATAL(mnet_train_loss_grad(tr, 3, &again) == 0);
    CU_ASSERT(again == after);
    if (sizeof(mnet_real) == 8) {
        const size_t np = tr->n_params;
        double *g = malloc(np * sizeof *g), worst = 0, scale = 0;
        CU_ASSERT_FATAL(g != NULL);
        for (size_t i = 0; i < np; i++)
            g[i] = tr->grad[i], scale = fmax(scale, fabs(g[i]));
        for (size_t i = 0; i < np; i += 5) {
            mnet_real p0 = tr->params[i];
            double h = 1e-6, lp, lm;
            tr->params[i] = p0 + (mnet_real)h;
            mnet_train_loss(tr, 3, &lp);
            tr->params[i] = p0 - (mnet_real)h;
            mnet_train_loss(tr, 3, &lm);
            tr->params[i] = p0;
            worst = fmax(worst, fabs((lp - lm) / (2 * h) - g[i]));
        }
        printf("    gradient after the change vs FD: max abs err %.2e (scale %.2e)\n", worst, scale);
        CU_ASSERT(worst <= 1e-6 * scale);
        free(g);
    }
    mnet_train_free(tr);
}

/* ---- evaluation ---------------------------------------------------------------------- */

static void test_eval(void)
{
    char err[256];
    load_mock_params();
    mnet_task_config c = small_config();
    c.batch_size = 4;
    mnet_train *tr = mnet_train_new(&mnet_mock_pm4, mock_params, &c, err, sizeof err);
    CU_ASSERT_FATAL(tr != NULL);
    for (int k = 0; k < 5; k++)
        mnet_train_batch(tr, k);
    const int N = 10, T = tr->T, S = tr->S, I = tr->I, M = tr->M, LH = tr->LH;
    mnet_episode ep, sub;
    CU_ASSERT_FATAL(mnet_episode_alloc(&ep, &mnet_mock_pm4, N, T, err, sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_episode_alloc(&sub, &mnet_mock_pm4, 4, T, err, sizeof err) == 0);
    /* a fixed goal set: starts at 0, goals on a circle */
    mnet_real joint0[4 * 10] = {0}, goal[2 * 10];
    for (int b = 0; b < N; b++) {
        joint0[b] = (mnet_real)(0.01 * b);
        goal[b] = (mnet_real)(0.1 * cos(b * 0.6));
        goal[N + b] = (mnet_real)(0.1 * sin(b * 0.6));
    }
    CU_ASSERT_FATAL(mnet_task_fixed(&c, &mnet_mock_pm4, mock_params, joint0, goal, N, N, &ep, err,
                                    sizeof err) == 0);
    CU_ASSERT(ep.n_cols == N);
    mnet_real *st = calloc((size_t)(T + 1) * S * N, sizeof *st);
    mnet_real *ac = calloc((size_t)T * M * N, sizeof *ac);
    mnet_real *ob = calloc((size_t)T * I * N, sizeof *ob);
    mnet_real *hd = calloc((size_t)T * LH * N, sizeof *hd);
    mnet_rollout out = {st, ac, ob, hd};
    for (int noisy = 0; noisy < 2; noisy++) {
        mnet_noise_key nz = {123, 1000, noisy};
        double loss_all, loss_sub;
        CU_ASSERT_FATAL(mnet_train_eval(tr, &ep, &nz, &out, &loss_all) == 0);
        CU_ASSERT(isfinite(loss_all));
        /* the initial state, the goal shown */
        for (int b = 0; b < N; b++) {
            CU_ASSERT(st[MOCK_CART * N + b] == joint0[b]);
            CU_ASSERT(ob[0 * N + b] == goal[b] && ob[1 * N + b] == goal[N + b]);
        }
        /* columns 4..7 evaluated alone (noise at element0 + 4) agree bit for bit */
        mnet_episode_copy_cols(&sub, &ep, 4, 4);
        mnet_real st2[(6 + 1) * MOCK_NSTATE * 4], hd2[6 * 4 * 4];
        mnet_rollout o2 = {st2, NULL, NULL, hd2};
        mnet_noise_key nz2 = {123, 1004, noisy};
        CU_ASSERT_FATAL(T == 6 && LH == 4);
        CU_ASSERT_FATAL(mnet_train_eval(tr, &sub, &nz2, &o2, &loss_sub) == 0);
        int same = 1;
        for (int t = 0; t <= T; t++)
            for (int r = 0; r < S; r++)
                for (int b = 0; b < 4; b++)
                    same &= st2[(t * S + r) * 4 + b] == st[(t * S + r) * N + 4 + b];
        for (int t = 0; t < T; t++)
            for (int r = 0; r < LH; r++)
                for (int b = 0; b < 4; b++)
                    same &= hd2[(t * LH + r) * 4 + b] == hd[(t * LH + r) * N + 4 + b];
        CU_ASSERT(same);
        /* the actions reported are those the effector got: replay them */
        mnet_real s[MOCK_NSTATE * 10], s1[MOCK_NSTATE * 10], load[4 * 10];
        double replay_err = 0;
        memcpy(s, st, sizeof s);
        for (int t = 0; t < T; t++) {
            mnet_task_load(&c, &mnet_mock_pm4, &ep, s, load, N, N);
            const mnet_real *in[3] = {s, ac + (size_t)t * M * N, load};
            mnet_real *o[1] = {s1};
            mnet_mock_pm4.step(N, N, in, o, mock_params);
            for (int i = 0; i < S * N; i++)
                replay_err = fmax(replay_err, fabs(s1[i] - st[(size_t)(t + 1) * S * N + i]));
            memcpy(s, s1, sizeof s);
        }
        CU_ASSERT(replay_err == 0);
        printf("\n    eval (%s): loss %.5f over 10 fixed reaches; 4-column subset agrees; "
               "replay err %g",
               noisy ? "noisy" : "deterministic", loss_all, replay_err);
    }
    printf("\n");
    free(st);
    free(ac);
    free(ob);
    free(hd);
    mnet_episode_free(&ep);
    mnet_episode_free(&sub);
    mnet_train_free(tr);
}

static const mnet_test tests[] = {
    {"mock effector VJPs vs finite differences", test_mock_vjp},
    {"loss library: values by hand, gradient vs FD", test_loss_values},
    {"episode gradient vs FD (GRU, all losses, curl, noise)", test_episode_grad_gru},
    {"episode gradient vs FD (RNN/MLP, centre-out/delayed, channel)", test_episode_grad_variants},
    {"loss decreases on the reaching task", test_learning},
    {"modular network: masks and Dale's signs through 100 steps", test_modular_training},
    {"restoring a stored run: its masks, checked against its parameters", test_restore_masks},
    {"policy.spectral_radius: eigenvalue, masks, threads", test_spectral_radius},
    {"determinism", test_determinism},
    {"non-finite guard", test_nonfinite},
    {"model and configuration checks", test_model_checks},
    {"activation_l2 reads F_max from the model parameters now", test_activation_fmax_live},
    {"evaluation rollout", test_eval},
    {NULL, NULL},
};

int main(void) { return mnet_test_main("train", tests); }
