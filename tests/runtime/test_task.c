/* test_task.c - the task layer: defaults and checks, the episode
 * generators checked statistically with fixed seeds (ranges, go cues,
 * catch fractions, validation directions), batch-split independence,
 * and the loads with their VJP. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_rng.h"
#include "mnet_settings.h"
#include "mnet_task.h"
#include "mnet_validation.h"
#include "mock_effector.h"
#include "test_support.h"

#define PI 3.14159265358979323846

static mnet_real params[MOCK_NPARAMS];
static const mnet_model *M_ = &mnet_mock_pm4;

static void setup_params(void)
{
    for (int i = 0; i < MOCK_NPARAMS; i++)
        params[i] = (mnet_real)M_->param_defaults[i];
}

static void test_defaults(void)
{
    mnet_task_config c = mnet_task_config_default();
    char err[256];
    CU_ASSERT(c.kind == MNET_TASK_RANDOM_REACH);
    CU_ASSERT(c.n_losses == 1 && c.loss[0].kind == MNET_LOSS_POSITION_L1 &&
              c.loss[0].weight == 1 && c.loss[0].deriv_weight == 0);
    CU_ASSERT(c.cell == MNET_NN_GRU && c.readout_bias == -5 && c.ortho == MNET_NN_ORTHO_STACKED);
    CU_ASSERT(c.lr == 1e-3 && c.clip_norm == 1 && c.beta1 == 0.9 && c.beta2 == 0.999);
    CU_ASSERT(c.go_cue_lo == 0.05 && c.go_cue_hi == 0.25 &&
              c.catch_fraction == 0.5 && c.validation.distance == 0.1 &&
              fabs(c.validation.every - 15 * PI / 180) < 1e-15);
    CU_ASSERT(mnet_task_check(&c, M_, err, sizeof err) == 0);
    CU_ASSERT(mnet_task_steps(&c, M_) == 100);
    /* delays: d = round(delay / step), at least 1 */
    CU_ASSERT(mnet_task_delay_steps(0, 0.01) == 1);
    CU_ASSERT(mnet_task_delay_steps(0.004, 0.01) == 1);
    CU_ASSERT(mnet_task_delay_steps(0.02, 0.01) == 2);
    CU_ASSERT(mnet_task_delay_steps(0.03, 0.01) == 3); /* 2.9999999999999996 */
    CU_ASSERT(mnet_task_delay_steps(0.05, 0.01) == 5);
    c.duration = 0.07;
    CU_ASSERT(mnet_task_steps(&c, M_) == 7);
    /* checks name the field */
    c = mnet_task_config_default();
    c.catch_fraction = 1.5;
    CU_ASSERT(mnet_task_check(&c, M_, err, sizeof err) == -1 && strstr(err, "catch") != NULL);
    c = mnet_task_config_default();
    c.go_cue_lo = 0.5;
    c.go_cue_hi = 0.4;
    CU_ASSERT(mnet_task_check(&c, M_, err, sizeof err) == -1 && strstr(err, "go_cue") != NULL);
    c = mnet_task_config_default();
    c.loss[0].kind = MNET_LOSS_N_KINDS;
    CU_ASSERT(mnet_task_check(&c, M_, err, sizeof err) == -1 && strstr(err, "loss") != NULL);
    c = mnet_task_config_default();
    c.proprio_delay = -0.01;
    CU_ASSERT(mnet_task_check(&c, M_, err, sizeof err) == -1 &&
              strstr(err, "delay.proprioception") != NULL);
}

/* |x - mean| <= 5 sigma */
static int within5(double x, double mean, double sigma) { return fabs(x - mean) <= 5 * sigma; }

static void test_random_reach(void)
{
    setup_params();
    char err[256];
    const int N = 4000, T = 4;
    mnet_task_config c = mnet_task_config_default();
    mnet_episode ep, part;
    CU_ASSERT_FATAL(mnet_episode_alloc(&ep, M_, N, T, err, sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_episode_alloc(&part, M_, 500, T, err, sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_task_generate(&c, M_, params, 0, 77, 0, N, &ep, err, sizeof err) == 0);
    int in_range = 1, series = 1, still = 1;
    double mean[2][2] = {{0, 0}, {0, 0}}; /* start / goal joint means */
    for (int b = 0; b < N; b++)
        for (int j = 0; j < 2; j++) {
            double lo = M_->pos_lower[j], hi = M_->pos_upper[j];
            double q0 = ep.joint0[j * N + b], qg = ep.goal_joint[j * N + b];
            in_range &= q0 >= lo && q0 <= hi && qg >= lo && qg <= hi;
            /* the mock's end point is q: goals inside the reachable box */
            in_range &= ep.goal[j * N + b] == qg && ep.start[j * N + b] == q0;
            still &= ep.joint0[(2 + j) * N + b] == 0 && ep.goal_joint[(2 + j) * N + b] == 0;
            mean[0][j] += q0 / N;
            mean[1][j] += qg / N;
            for (int t = 0; t <= T; t++)
                series &= ep.goal_obs[(t * 2 + j) * N + b] == ep.goal[j * N + b] &&
                          ep.target[(t * 2 + j) * N + b] == ep.goal[j * N + b];
        }
    CU_ASSERT(in_range);
    CU_ASSERT(still);
    CU_ASSERT(series);
    double sig = 0.8 / sqrt(12.0 * N);
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++)
            CU_ASSERT(within5(mean[k][j], 0, sig));
    printf("\n    random reach: start mean (%.4f, %.4f), goal mean (%.4f, %.4f), sigma %.4f\n",
           mean[0][0], mean[0][1], mean[1][0], mean[1][1], sig);
    /* start and goal independent: correlation near 0 */
    double cov = 0;
    for (int b = 0; b < N; b++)
        cov += (ep.joint0[b] - mean[0][0]) * (ep.goal_joint[b] - mean[1][0]) / N;
    CU_ASSERT(fabs(cov / (0.64 / 12)) < 5 / sqrt((double)N));
    /* episodes are numbered: a batch of 500 from episode 1000 is the same */
    CU_ASSERT_FATAL(mnet_task_generate(&c, M_, params, 0, 77, 1000, 500, &part, err,
                                       sizeof err) == 0);
    int same = 1;
    for (int b = 0; b < 500; b++)
        for (int j = 0; j < 2; j++)
            same &= part.joint0[j * 500 + b] == ep.joint0[j * N + 1000 + b] &&
                    part.goal[j * 500 + b] == ep.goal[j * N + 1000 + b];
    CU_ASSERT(same);
    /* another seed, other episodes */
    CU_ASSERT(mnet_task_generate(&c, M_, params, 0, 78, 1000, 500, &part, err, sizeof err) == 0);
    CU_ASSERT(part.joint0[0] != ep.joint0[1000]);
    mnet_episode_free(&ep);
    mnet_episode_free(&part);
}

static void test_centre_out_training(void)
{
    setup_params();
    char err[256];
    const int N = 4000, T = 40;
    mnet_task_config c = mnet_task_config_default();
    c.kind = MNET_TASK_CENTRE_OUT;
    c.go_cue_lo = 0.05;
    c.go_cue_hi = 0.25;
    c.catch_fraction = 0.3;
    mnet_episode ep;
    CU_ASSERT_FATAL(mnet_episode_alloc(&ep, M_, N, T, err, sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_task_generate(&c, M_, params, 0, 5, 0, N, &ep, err, sizeof err) == 0);
    double cue_mean = 0, cue_min = 1e9, cue_max = -1e9;
    int n_catch = 0, ok_steps = 1, ok_series = 1;
    for (int b = 0; b < N; b++) {
        double g = ep.go_time[b];
        cue_mean += g / N;
        cue_min = fmin(cue_min, g);
        cue_max = fmax(cue_max, g);
        int cat = ep.catch_trial[b];
        n_catch += cat;
        int want = cat ? T + 1 : (int)floor(g / 0.01 + 1e-9);
        ok_steps &= ep.go_step[b] == want;
        for (int t = 0; t <= T; t++)
            for (int i = 0; i < 2; i++) {
                double s = ep.start[i * N + b], gl = ep.goal[i * N + b];
                double shown = ep.goal_obs[(t * 2 + i) * N + b], asked = ep.target[(t * 2 + i) * N + b];
                double expect = (cat || t < ep.go_step[b]) ? s : gl;
                ok_series &= shown == expect && asked == expect;
                if (cat)
                    ok_series &= gl == s;
                ok_series &= ep.go_obs[t * N + b] == 0;
            }
    }
    double sig = 0.2 / sqrt(12.0 * N);
    double p = 0.3, sig_c = sqrt(N * p * (1 - p));
    printf("\n    centre-out: go cue in [%.4f, %.4f], mean %.5f (0.15 +- %.5f); catch %d of %d "
           "(%.0f +- %.1f)\n",
           cue_min, cue_max, cue_mean, 5 * sig, n_catch, N, N * p, 5 * sig_c);
    CU_ASSERT(cue_min >= 0.05 && cue_max <= 0.25);
    CU_ASSERT(within5(cue_mean, 0.15, sig));
    CU_ASSERT(within5(n_catch, N * p, sig_c));
    CU_ASSERT(ok_steps);
    CU_ASSERT(ok_series);
    /* the go cue is uniform: each fifth of the range holds ~N/5 draws */
    int bins[5] = {0};
    for (int b = 0; b < N; b++) {
        int k = (int)((ep.go_time[b] - 0.05) / 0.04);
        bins[k > 4 ? 4 : k]++;
    }
    for (int k = 0; k < 5; k++)
        CU_ASSERT(within5(bins[k], N / 5.0, sqrt(N * 0.2 * 0.8)));
    /* catch fractions 0 and 1 */
    c.catch_fraction = 0;
    CU_ASSERT(mnet_task_generate(&c, M_, params, 0, 5, 0, 500, &ep, err, sizeof err) == 0);
    int any = 0;
    for (int b = 0; b < 500; b++)
        any |= ep.catch_trial[b];
    CU_ASSERT(!any);
    c.catch_fraction = 1;
    CU_ASSERT(mnet_task_generate(&c, M_, params, 0, 5, 0, 500, &ep, err, sizeof err) == 0);
    int all = 1;
    for (int b = 0; b < 500; b++)
        all &= ep.catch_trial[b];
    CU_ASSERT(all);
    mnet_episode_free(&ep);
}

static void test_centre_out_validation(void)
{
    setup_params();
    char err[256];
    const int N = 60, T = 30;
    mnet_episode ep;
    CU_ASSERT_FATAL(mnet_episode_alloc(&ep, M_, N, T, err, sizeof err) == 0);
    for (int variant = 0; variant < 3; variant++) {
        mnet_task_config c = mnet_task_config_default();
        c.kind = variant == 2 ? MNET_TASK_DELAYED_REACH : MNET_TASK_CENTRE_OUT;
        double step = variant == 1 ? 45 : 15, d = variant == 1 ? 0.05 : 0.1;
        double cx = 0, cy = 0;
        c.validation.every = step * PI / 180;
        c.validation.distance = d;
        if (variant == 1) {
            c.validation.n_centre = 2;
            c.validation.centre[0] = cx = 0.1;
            c.validation.centre[1] = cy = -0.2;
        }
        CU_ASSERT_FATAL(mnet_task_generate(&c, M_, params, 1, 3, 0, N, &ep, err, sizeof err) ==
                        0);
        const int n_angles = (int)lround(360 / step);
        double worst_d = 0, worst_a = 0;
        int ok = 1;
        for (int b = 0; b < N; b++) {
            double sx = ep.start[b], sy = ep.start[N + b];
            ok &= sx == cx && sy == cy && ep.joint0[2 * N + b] == 0 && !ep.catch_trial[b];
            double dx = ep.goal[b] - sx, dy = ep.goal[N + b] - sy;
            worst_d = fmax(worst_d, fabs(hypot(dx, dy) - d));
            double want = (b % n_angles) * step * PI / 180;
            double a = atan2(dy, dx);
            double e = fabs(remainder(a - want, 2 * PI));
            worst_a = fmax(worst_a, e);
            /* the go cue at the middle of the range */
            double lo = variant == 2 ? c.go_cue_lo : c.go_cue_lo;
            double hi = variant == 2 ? c.go_cue_hi : c.go_cue_hi;
            ok &= fabs(ep.go_time[b] - (lo + hi) / 2) < 1e-15 &&
                  ep.go_step[b] == (int)fmin(floor(ep.go_time[b] / 0.01 + 1e-9), T + 1);
        }
        printf("\n    validation (%s, every %g deg at %g m): %d directions, max |dist err| "
               "%.1e, max angle err %.1e rad",
               variant == 2 ? "delayed" : "centre-out", step, d, n_angles, worst_d, worst_a);
        CU_ASSERT(ok);
        CU_ASSERT(worst_d <= 1e-12);
        CU_ASSERT(worst_a <= 1e-9);
    }
    printf("\n");
    mnet_episode_free(&ep);
}

/* The validation set holds each direction equally often: its size is the
 * number of directions (the set is deterministic, so a repeat adds nothing
 * and a partial one, 24 directions padded to a batch of 32, biased the mean
 * towards the first 8), whatever the batch size; the random reach keeps the
 * batch size.  Each goal's direction is read back from the episode. */
static void test_validation_balanced(void)
{
    setup_params();
    char err[256];
    const int T = 10;
    static const int batches[] = {1, 8, 24, 32, 64, 100};
    for (int kind = 0; kind < 2; kind++) {
        mnet_task_config c = mnet_task_config_default(); /* 15 deg: 24 directions */
        c.kind = kind ? MNET_TASK_DELAYED_REACH : MNET_TASK_CENTRE_OUT;
        const int D = 24;
        CU_ASSERT(mnet_task_validation_directions(&c) == D);
        for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
            int n = mnet_task_validation_size(&c, batches[i]);
            CU_ASSERT_EQUAL(n, D);
            if (n != D)
                continue;
            mnet_episode ep;
            CU_ASSERT_FATAL(mnet_episode_alloc(&ep, M_, n, T, err, sizeof err) == 0);
            CU_ASSERT_FATAL(mnet_task_generate(&c, M_, params, 1, 3, 0, n, &ep, err, sizeof err) == 0);
            int count[24] = {0}, odd = 0;
            for (int b = 0; b < n; b++) {
                double a = atan2(ep.goal[n + b] - ep.start[n + b], ep.goal[b] - ep.start[b]);
                double k = a / (2 * PI / D);
                long r = lround(k);
                odd |= fabs(k - (double)r) > 1e-6; /* a goal off the directions */
                count[((r % D) + D) % D]++;
            }
            CU_ASSERT(!odd);
            int lo = n, hi = 0;
            for (int k = 0; k < D; k++) {
                lo = count[k] < lo ? count[k] : lo;
                hi = count[k] > hi ? count[k] : hi;
            }
            if (lo != hi)
                printf("\n    %s, batch %d: directions seen %d..%d times", kind ? "delayed" : "centre-out",
                       batches[i], lo, hi);
            CU_ASSERT(lo == 1 && hi == 1);
            mnet_episode_free(&ep);
        }
    }
    /* the random reach has no directions: a batch of draws */
    mnet_task_config c = mnet_task_config_default();
    CU_ASSERT(mnet_task_validation_directions(&c) == 0);
    CU_ASSERT(mnet_task_validation_size(&c, 32) == 32);
}

static void test_delayed_reach(void)
{
    setup_params();
    char err[256];
    const int N = 2000, T = 80;
    mnet_task_config c = mnet_task_config_default();
    c.kind = MNET_TASK_DELAYED_REACH;
    c.go_cue_lo = 0.3;
    c.go_cue_hi = 0.6;
    c.catch_fraction = 0.2;
    mnet_episode ep;
    CU_ASSERT_FATAL(mnet_episode_alloc(&ep, M_, N, T, err, sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_task_generate(&c, M_, params, 0, 21, 0, N, &ep, err, sizeof err) == 0);
    int ok = 1, n_catch = 0;
    double mean = 0;
    for (int b = 0; b < N; b++) {
        int cat = ep.catch_trial[b];
        n_catch += cat;
        mean += ep.go_time[b] / N;
        ok &= ep.go_time[b] >= 0.3 && ep.go_time[b] <= 0.6;
        for (int t = 0; t <= T; t++) {
            int going = !cat && t >= ep.go_step[b];
            ok &= ep.go_obs[t * N + b] == (going ? 1 : 0);
            for (int i = 0; i < 2; i++) {
                ok &= ep.goal_obs[(t * 2 + i) * N + b] == ep.goal[i * N + b];
                ok &= ep.target[(t * 2 + i) * N + b] ==
                      (going ? ep.goal[i * N + b] : ep.start[i * N + b]);
            }
        }
    }
    CU_ASSERT(ok);
    CU_ASSERT(within5(mean, 0.45, 0.3 / sqrt(12.0 * N)));
    CU_ASSERT(within5(n_catch, 0.2 * N, sqrt(N * 0.2 * 0.8)));
    printf("\n    delayed: go mean %.4f (0.45), catch %d of %d (400)\n", mean, n_catch, N);
    mnet_episode_free(&ep);
}

static void test_loads(void)
{
    setup_params();
    char err[256];
    const int n = 3, ld = 4, S = MOCK_NSTATE;
    mnet_task_config c = mnet_task_config_default();
    c.endpoint_load[0] = 0.5;
    c.endpoint_load[1] = -1.5;
    c.joint_load[0] = 2;
    c.joint_load[1] = 3;
    mnet_episode ep;
    CU_ASSERT_FATAL(mnet_episode_alloc(&ep, M_, ld, 5, err, sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_task_generate(&c, M_, params, 0, 1, 0, n, &ep, err, sizeof err) == 0);
    mnet_real s[MOCK_NSTATE * 4], load[4 * 4], load2[4 * 4];
    mnet_rng r;
    mnet_rng_seed(&r, 4);
    for (int i = 0; i < S * ld; i++)
        s[i] = (mnet_real)(2 * mnet_rng_uniform(&r) - 1);
    CU_ASSERT(mnet_task_load_is_dynamic(&c) == 0);
    mnet_task_load(&c, M_, &ep, s, load, n, ld);
    for (int b = 0; b < n; b++)
        CU_ASSERT(load[b] == 0.5 && load[ld + b] == -1.5 && load[2 * ld + b] == 2 &&
                  load[3 * ld + b] == 3);
    /* curl: F = k [v_y, -v_x] */
    c.curl = 10;
    CU_ASSERT(mnet_task_load_is_dynamic(&c) == 1);
    mnet_task_load(&c, M_, &ep, s, load, n, ld);
    for (int b = 0; b < n; b++) {
        double vx = s[(MOCK_CART + 2) * ld + b], vy = s[(MOCK_CART + 3) * ld + b];
        CU_ASSERT(fabs(load[b] - (0.5 + 10 * vy)) < 1e-12);
        CU_ASSERT(fabs(load[ld + b] - (-1.5 - 10 * vx)) < 1e-12);
    }
    /* channel alone: the force is orthogonal to the start-goal line and
     * vanishes on it */
    c = mnet_task_config_default();
    c.channel_stiffness = 100;
    c.channel_damping = 5;
    mnet_task_load(&c, M_, &ep, s, load, n, ld);
    for (int b = 0; b < n; b++) {
        double ux = ep.goal[b] - ep.start[b], uy = ep.goal[ld + b] - ep.start[ld + b];
        CU_ASSERT(fabs(load[b] * ux + load[ld + b] * uy) < 1e-9 * (1 + fabs(load[b])));
    }
    mnet_real on_line[MOCK_NSTATE * 4];
    memcpy(on_line, s, sizeof on_line);
    for (int b = 0; b < n; b++)
        for (int i = 0; i < 2; i++) {
            double u = ep.goal[i * ld + b] - ep.start[i * ld + b];
            on_line[(MOCK_CART + i) * ld + b] = (mnet_real)(ep.start[i * ld + b] + 0.3 * u);
            on_line[(MOCK_CART + 2 + i) * ld + b] = (mnet_real)(2 * u);
        }
    mnet_task_load(&c, M_, &ep, on_line, load, n, ld);
    for (int b = 0; b < n; b++)
        CU_ASSERT(fabs(load[b]) < 1e-9 && fabs(load[ld + b]) < 1e-9);

    /* VJP of curl + channel + constants vs central differences */
    c.curl = -7;
    c.endpoint_load[0] = 1;
    mnet_real gl[4 * 4], gs[MOCK_NSTATE * 4];
    for (int i = 0; i < 4 * ld; i++)
        gl[i] = (mnet_real)(2 * mnet_rng_uniform(&r) - 1);
    memset(gs, 0, sizeof gs);
    mnet_task_load_vjp(&c, M_, &ep, gl, gs, n, ld);
    double err_max = 0, scale = 0;
    for (int i = 0; i < S; i++)
        for (int b = 0; b < n; b++) {
            mnet_real x0 = s[i * ld + b];
            double f[2];
            for (int k = 0; k < 2; k++) {
                s[i * ld + b] = x0 + (k ? -1e-6 : 1e-6);
                mnet_task_load(&c, M_, &ep, s, load2, n, ld);
                f[k] = 0;
                for (int q = 0; q < 4; q++)
                    f[k] += gl[q * ld + b] * load2[q * ld + b];
            }
            s[i * ld + b] = x0;
            double fd = (f[0] - f[1]) / 2e-6;
            err_max = fmax(err_max, fabs(fd - gs[i * ld + b]));
            scale = fmax(scale, fabs(fd));
        }
    printf("\n    load VJP vs FD: max err %.2e of %.1f\n", err_max, scale);
    CU_ASSERT(err_max <= 1e-7 * scale);
    mnet_episode_free(&ep);
}

/* The configuration as text (task_text.c): every field survives the round
 * trip exactly; bad text is refused with the line named. */
static void test_config_text(void)
{
    mnet_task_config c = mnet_task_config_default();
    c.kind = MNET_TASK_CENTRE_OUT;
    c.duration = 1.23456789012345678;
    c.vision_delay = 1.0 / 3.0;
    c.exact_delays = 1;
    c.action_frames = 3;
    c.hidden_noise = 1e-300;
    c.validation.n_centre = 2;
    c.validation.centre[1] = -0.7;
    c.catch_fraction = 0.25;
    c.endpoint_load[2] = -9.81;
    c.joint_load[MNET_TASK_MAX_DOF - 1] = 2.5;
    c.curl = -15;
    c.n_losses = 3;
    c.loss[1] = (mnet_loss_term){MNET_LOSS_COMPILED, 0.1, 0, 0, "reach"};
    c.loss[2] = (mnet_loss_term){MNET_LOSS_HIDDEN_L2, 1e-3, 5e-4, 0, "hidden_l2"};
    c.cell = MNET_NN_RNN;
    c.n_layers = 2;
    c.spectral_radius = 1.0 / 3.0;
    c.batch_size = 17;
    c.n_batches = 123456789;
    c.sched.kind = MNET_SCHED_COSINE;
    c.seed = 9007199254740991ULL;
    char a[16384], b[16384], err[512];
    long n = mnet_run_text_format(&c, NULL, NULL, a, sizeof a);
    CU_ASSERT(n > 0 && n < (long)sizeof a);
    CU_ASSERT(mnet_run_text_format(&c, NULL, NULL, NULL, 0) == n); /* the size it needs */
    /* every setting by its .mnet name, enumerations by name */
    CU_ASSERT(strstr(a, "kind=centre_out_reach\n") && strstr(a, "policy=rnn\n") &&
              strstr(a, "train.schedule=cosine\n") && strstr(a, "loss.reach=0.10000000000000001 0\n") &&
              strstr(a, "validation.centre=0 -0.69999999999999996\n") &&
              strstr(a, "policy.spectral_radius=0.33333333333333331\n"));
    mnet_task_config r;
    CU_ASSERT_FATAL(mnet_run_text_parse(a, &r, NULL, NULL, err, sizeof err) == 0);
    mnet_run_text_format(&r, NULL, NULL, b, sizeof b);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT(memcmp(&r, &c, sizeof r) == 0 || (r.duration == c.duration && r.seed == c.seed));
    CU_ASSERT(r.duration == c.duration && r.vision_delay == c.vision_delay && r.hidden_noise == c.hidden_noise);
    CU_ASSERT(r.kind == c.kind && r.loss[1].kind == MNET_LOSS_COMPILED && !strcmp(r.loss[1].name, "reach"));
    CU_ASSERT(r.joint_load[MNET_TASK_MAX_DOF - 1] == 2.5 && r.n_batches == c.n_batches && r.seed == c.seed);
    CU_ASSERT(r.validation.n_centre == 2 && r.validation.centre[1] == -0.7);
    CU_ASSERT(r.spectral_radius == 1.0 / 3.0);
    /* missing keys keep the defaults */
    CU_ASSERT_FATAL(mnet_run_text_parse("duration=2\n", &r, NULL, NULL, err, sizeof err) == 0);
    mnet_task_config d = mnet_task_config_default();
    CU_ASSERT(r.duration == 2 && r.batch_size == d.batch_size && r.lr == d.lr);
    /* bad text: unknown names, bad values, values out of range, enumerators
     * that do not exist - each names its line */
    static const char *const bad[] = {"duration=1\nfrobnicate=3\n", "duration=abc\n", "load.endpoint=1 2 3 4\n",
                                      "train.lr=1 2\n", "train.batch=99999999999\n", "no equals sign\n",
                                      "train.lr=-1\n", "train.clip_norm=nan\n", "train.seed=1.5\n",
                                      "kind=circle\n", "loss.position_l1=-1 0\n", "policy.hidden=0\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CU_ASSERT(mnet_run_text_parse(bad[i], &r, NULL, NULL, err, sizeof err) == -1);
        CU_ASSERT(strstr(err, "run text") != NULL);
    }
    mnet_run_text_parse("duration=1\nfrobnicate=3\n", &r, NULL, NULL, err, sizeof err);
    CU_ASSERT(strstr(err, "line 2: unknown setting 'frobnicate'") != NULL);
    /* a delay as long as the episode is refused (checks between settings) */
    CU_ASSERT(mnet_run_text_parse("delay.vision=50\n", &r, NULL, NULL, err, sizeof err) == -1 &&
              strstr(err, "shorter than the episode"));
}

/* A modular network's description round-trips in the run text, exactly;
 * a run text that breaks it is refused. */
static void test_modular_text(void)
{
    mnet_task_config c = mnet_task_config_default();
    c.kind = MNET_TASK_DELAYED_REACH;
    c.action_frames = 1;
    c.n_hidden = 13;
    mnet_nn_modular *md = &c.modular;
    md->n_modules = 3;
    const char *names[3] = {"pmd", "m1", "spinal"};
    const int sizes[3] = {5, 6, 2};
    for (int m = 0; m < 3; m++) {
        snprintf(md->name[m], MNET_NN_NAME, "%s", names[m]);
        md->size[m] = sizes[m];
        md->excitatory[m] = m == 2 ? -1 : 1.0 / 3.0 + m;
        if (md->excitatory[m] > 1)
            md->excitatory[m] = 0.8;
        for (int a = 0; a < 3; a++) {
            md->frac[m][a] = (m + 1.0) / (a + 7.0);
            md->p[m][a] = 1.0 / (3 * m + a + 1.0);
        }
    }
    md->drives_readout[2] = 1;
    md->delay_steps[1][0] = 2;     /* pmd -> m1: 2 steps */
    md->delay_time[0][1] = 0.02;   /* m1 -> pmd: 20 ms   */
    md->n_sources = 3;
    const char *src[3] = {"go", "proprioception", "actions"};
    for (int s = 0; s < 3; s++) {
        snprintf(md->source_name[s], MNET_NN_NAME, "%s", src[s]);
        for (int m = 0; m < 3; m++)
            md->reach[s][m] = (s + m) / 7.0;
    }
    char err[512];
    CU_ASSERT_FATAL(mnet_run_check(&c, err, sizeof err) == 0);
    char *a = mnet_run_text_alloc(&c, NULL, NULL);
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT(strstr(a, "policy.modules=pmd m1 spinal\n") && strstr(a, "policy.module.spinal=2 -1 1\n") &&
              strstr(a, "policy.input.go=0 0.14285714285714285 0.2857142857142857\n") &&
              strstr(a, "policy.connect.pmd.m1=") && strstr(a, " 2 0\npolicy.connect.pmd.spinal=") &&
              strstr(a, " 0 0.02\npolicy.connect.m1.m1="));
    mnet_task_config r;
    CU_ASSERT_FATAL(mnet_run_text_parse(a, &r, NULL, NULL, err, sizeof err) == 0);
    char *b = mnet_run_text_alloc(&r, NULL, NULL);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT(memcmp(&r.modular, &c.modular, sizeof r.modular) == 0);
    /* a difference in the description is a difference of the runs */
    r.modular.p[1][0] = 0.5;
    char diff[1024];
    CU_ASSERT(mnet_run_diff(&c, &r, NULL, NULL, NULL, diff, sizeof diff) == 1 && strstr(diff, "policy.connect.pmd.m1"));
    /* texts that break it: each refused with a message */
    struct {
        const char *from, *to, *msg;
    } bad[] = {
        {"policy.hidden=13", "policy.hidden=14", "add up to 13, but policy.hidden is 14"},
        {"policy=gru", "policy=lstm", "need a gru or rnn policy"},
        {"kind=delayed_reach", "kind=centre_out_reach", "input 'go' exists only"},
        {"action_frames=1", "action_frames=0", "input 'actions' needs action_frames"},
        {"policy.module.m1=6", "policy.module.m9=6", "no such module"},
        {"policy.module.spinal=2 -1 1", "policy.module.spinal=2 -1 0", "no module drives the read-out"},
        {"policy.input.go=0 ", "policy.input.go=2 ", "probability 2 is outside [0, 1]"},
        {"policy.connect.pmd.m1=", "policy.connect.pmd.m1=-1 1\n#", "must lie in [0, 1]"},
        {"policy.input.proprioception", "policy.input.smell", "unknown input 'smell'"},
        {"policy.connect.pmd.m1=", "policy.connect.pmd.m1=0.5 0.5 1.5 0\n#", "delay in steps must be a whole number"},
        {"policy.connect.pmd.m1=", "policy.connect.pmd.m1=0.5 0.5 0 -0.01\n#", "(both 0 or more)"},
        {"policy.connect.pmd.m1=", "policy.connect.pmd.m1=0.5 0.5 0 100\n#", "not shorter than the episode"},
        {"policy.connect.pmd.m1=", "policy.connect.pmd.m1=0.5 0.5 3\n#", "needs fraction, probability, delay steps"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t la = strlen(a), lf = strlen(bad[i].from), lt = strlen(bad[i].to);
        char *t = malloc(la + lt + 1), *at = strstr(a, bad[i].from);
        CU_ASSERT_FATAL(t && at);
        size_t k = (size_t)(at - a);
        memcpy(t, a, k);
        memcpy(t + k, bad[i].to, lt);
        strcpy(t + k + lt, at + lf);
        err[0] = 0;
        int rc = mnet_run_text_parse(t, &r, NULL, NULL, err, sizeof err);
        if (rc != -1 || !strstr(err, bad[i].msg))
            fprintf(stderr, "\n  case %zu: rc %d, '%s' (expected '%s')", i, rc, err, bad[i].msg);
        CU_ASSERT(rc == -1 && strstr(err, bad[i].msg));
        free(t);
    }
    /* a line written before delays existed (two numbers): no delay */
    {
        const char *from = "policy.connect.pmd.m1=", *to = "policy.connect.pmd.m1=0.5 0.5\n#";
        size_t la = strlen(a), lt = strlen(to);
        char *t = malloc(la + lt + 1), *at = strstr(a, from);
        CU_ASSERT_FATAL(t && at);
        memcpy(t, a, (size_t)(at - a));
        memcpy(t + (at - a), to, lt);
        strcpy(t + (at - a) + lt, at + strlen(from));
        CU_ASSERT(mnet_run_text_parse(t, &r, NULL, NULL, err, sizeof err) == 0);
        CU_ASSERT(r.modular.delay_steps[1][0] == 0 && r.modular.delay_time[1][0] == 0 && r.modular.p[1][0] == 0.5);
        free(t);
    }
    free(a);
    free(b);
}

static const mnet_test tests[] = {
    {"a modular network in the run text", test_modular_text},
    {"defaults and checks", test_defaults},
    {"configuration as text", test_config_text},
    {"random target reach", test_random_reach},
    {"centre-out training draws", test_centre_out_training},
    {"validation directions", test_centre_out_validation},
    {"validation: each direction equally often", test_validation_balanced},
    {"delayed reach", test_delayed_reach},
    {"loads and their VJP", test_loads},
    {NULL, NULL},
};

int main(void) { return mnet_test_main("task", tests); }
