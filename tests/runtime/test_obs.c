/* test_obs.c - the observation pipeline: row layout, delay semantics
 * (the reference quirk and exact delays) against hand-computed tables,
 * action frame order, where noise goes, the backward pass against finite
 * differences, and the reference observation stream (env_reach_delays). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "mnet_rng.h"
#include "mnet_train.h"
#include "test_support.h"

#define STEP 0.01

static mnet_obs make_obs(mnet_task_kind kind, int P, int M, double dv, double dp, int exact,
                         int k)
{
    mnet_task_config c = mnet_task_config_default();
    c.kind = kind;
    c.vision_delay = dv;
    c.proprio_delay = dp;
    c.exact_delays = exact;
    c.action_frames = k;
    mnet_obs o;
    char err[200];
    CU_ASSERT(mnet_obs_setup(&o, &c, P, M, STEP, err, sizeof err) == 0);
    return o;
}

static void test_layout(void)
{
    mnet_obs o = make_obs(MNET_TASK_RANDOM_REACH, 2, 3, 0, 0, 0, 2);
    CU_ASSERT(o.goal_row == 0 && o.go_row == -1 && o.vision_row == 2 && o.proprio_row == 4 &&
              o.action_row == 10 && o.n_obs == 16 && o.n_sense == 8);
    CU_ASSERT(o.d_vision == 1 && o.d_proprio == 1);
    o = make_obs(MNET_TASK_DELAYED_REACH, 2, 6, 0.05, 0.02, 0, 2);
    CU_ASSERT(o.go_row == 2 && o.vision_row == 3 && o.proprio_row == 5 && o.action_row == 17 &&
              o.n_obs == 29);
    CU_ASSERT(o.d_vision == 5 && o.d_proprio == 2);
    o = make_obs(MNET_TASK_CENTRE_OUT, 3, 1, 0.03, 0.004, 1, 0);
    CU_ASSERT(o.go_row == -1 && o.n_obs == 3 + 3 + 2 && o.d_vision == 3 && o.d_proprio == 1);
    CU_ASSERT(o.exact == 1);
}

/* The sensed value of state j, row r, column b (no noise). */
static double sval(int j, int r, int b) { return 100.0 * j + 10.0 * r + b; }

/* Fills hist slots 0 .. T+1 from states 0 .. T. */
static void record_all(const mnet_obs *o, mnet_real *hist, int T, int n, int ld,
                       const mnet_noise_key *nz)
{
    mnet_real *sensed = calloc((size_t)o->n_sense * ld, sizeof *sensed);
    for (int j = 0; j <= T; j++) {
        for (int r = 0; r < o->n_sense; r++)
            for (int b = 0; b < n; b++)
                sensed[r * ld + b] = (mnet_real)sval(j, r, b);
        mnet_obs_record(o, hist, j, sensed, n, ld, nz);
    }
    free(sensed);
}

/* Which state does obs_t's vision / proprioception show?  Checks every row
 * and column against the table. */
static int shows(const mnet_obs *o, const mnet_real *obs, int ld, int n, int first_row, int rows,
                 int sense_row0, int j)
{
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < n; b++)
            if (obs[(first_row + r) * ld + b] != (mnet_real)sval(j, sense_row0 + r, b))
                return 0;
    (void)o;
    return 1;
}

static void test_delays(void)
{
    /* state shown at steps t = 0..7, worked out by hand from the buffer
     * rule.  Quirk, d = 3: buffer [s0 s0 s0] -> step 0 shifts in s0, reads
     * s0; step 1 [s0 s0 s1] reads s0; step 2 [s0 s1 s2] reads s0; step 3
     * reads s1 ...  Quirk, d = 1: the current state.  Exact: d steps
     * old, s0 before. */
    static const int quirk_d3[8] = {0, 0, 0, 1, 2, 3, 4, 5};
    static const int quirk_d1[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    static const int exact_d3[8] = {0, 0, 0, 0, 1, 2, 3, 4};
    static const int exact_d1[8] = {0, 0, 1, 2, 3, 4, 5, 6};
    const int T = 8, n = 2, ld = 3, P = 2, M = 1;
    for (int exact = 0; exact < 2; exact++) {
        mnet_obs o = make_obs(MNET_TASK_RANDOM_REACH, P, M, 0.03, 0.0, exact, 0);
        mnet_real *hist = calloc((size_t)(T + 2) * o.n_sense * ld, sizeof *hist);
        mnet_real obs[8 * 3], goal[2 * 3] = {7, 7, 7, 8, 8, 8};
        record_all(&o, hist, T, n, ld, NULL);
        int ok = 1;
        for (int t = 0; t < 8; t++) {
            mnet_obs_build(&o, t, goal, NULL, hist, NULL, obs, n, ld, NULL);
            int jv = exact ? exact_d3[t] : quirk_d3[t], jp = exact ? exact_d1[t] : quirk_d1[t];
            ok &= shows(&o, obs, ld, n, o.vision_row, P, 0, jv);
            ok &= shows(&o, obs, ld, n, o.proprio_row, 2 * M, P, jp);
            ok &= obs[0] == 7 && obs[ld + 1] == 8;
        }
        CU_ASSERT(ok);
        free(hist);
    }
    /* with sensor noise, the buffer fill is its own draw (the reference
     * fills the buffer with one get_vision() and then shifts in another):
     * quirk d = 3 shows the fill at steps 0 and 1 ([f f s0'] and
     * [f s0' s1] read f), state 0's own draw at step 2 ([s0' s1 s2]);
     * quirk d = 1 never shows the fill */
    mnet_obs o = make_obs(MNET_TASK_RANDOM_REACH, P, M, 0.03, 0.0, 0, 0);
    o.sd_vision = 0.1;
    o.sd_proprio = 0.1;
    mnet_noise_key nz = {5, 40, 1};
    mnet_real *hist = calloc((size_t)(T + 2) * o.n_sense * ld, sizeof *hist);
    record_all(&o, hist, T, n, ld, &nz);
    mnet_real o0[8 * 3], o1[8 * 3], o2[8 * 3];
    mnet_obs_build(&o, 0, NULL, NULL, hist, NULL, o0, n, ld, NULL);
    mnet_obs_build(&o, 1, NULL, NULL, hist, NULL, o1, n, ld, NULL);
    mnet_obs_build(&o, 2, NULL, NULL, hist, NULL, o2, n, ld, NULL);
    int vr = o.vision_row;
    CU_ASSERT(o0[vr * ld] == o1[vr * ld]);  /* the fill, twice */
    CU_ASSERT(o0[vr * ld] != o2[vr * ld]);  /* state 0's own draw */
    CU_ASSERT(fabs(o0[vr * ld] - sval(0, 0, 0)) < 1 && fabs(o2[vr * ld] - sval(0, 0, 0)) < 1);
    CU_ASSERT(o0[vr * ld] != (mnet_real)sval(0, 0, 0));
    /* the draws: fill at (VISION_FILL, step 0), state j at (VISION, step j) */
    double z = mnet_rng_normal_at(5, MNET_STREAM_NOISE_VISION_FILL, 40, 0, 0);
    CU_ASSERT(fabs(o0[vr * ld] - (sval(0, 0, 0) + 0.1 * z)) < 1e-12);
    z = mnet_rng_normal_at(5, MNET_STREAM_NOISE_VISION, 41, 0, 1);
    CU_ASSERT(fabs(o2[(vr + 1) * ld + 1] - (sval(0, 1, 1) + 0.1 * z)) < 1e-12);
    z = mnet_rng_normal_at(5, MNET_STREAM_NOISE_PROPRIO, 40, 2, 0); /* state 2, proprio row 0 */
    CU_ASSERT(fabs(o2[o.proprio_row * ld] - (sval(2, P, 0) + 0.1 * z)) < 1e-12);
    free(hist);
}

static void test_action_frames(void)
{
    const int T = 6, n = 2, ld = 2, M = 2, k = 3;
    mnet_obs o = make_obs(MNET_TASK_RANDOM_REACH, 2, M, 0, 0, 0, k);
    mnet_real *hist = calloc((size_t)(T + 2) * o.n_sense * ld, sizeof *hist);
    mnet_real act[6 * 2 * 2], obs[32 * 2];
    for (int t = 0; t < T; t++)
        for (int m = 0; m < M; m++)
            for (int b = 0; b < n; b++)
                act[(t * M + m) * ld + b] = (mnet_real)(1000 * (t + 1) + 10 * m + b);
    /* frame f of obs_t holds the action of step t - k + f (older first),
     * zeros before step 0: by hand for k = 3 */
    static const int want[6][3] = {{-1, -1, -1}, {-1, -1, 0}, {-1, 0, 1},
                                   {0, 1, 2},    {1, 2, 3},   {2, 3, 4}};
    int ok = 1;
    for (int t = 0; t < T; t++) {
        mnet_obs_build(&o, t, NULL, NULL, hist, act, obs, n, ld, NULL);
        for (int f = 0; f < k; f++)
            for (int m = 0; m < M; m++)
                for (int b = 0; b < n; b++) {
                    double v = obs[(o.action_row + f * M + m) * ld + b];
                    double w = want[t][f] < 0 ? 0 : 1000 * (want[t][f] + 1) + 10 * m + b;
                    ok &= v == w;
                }
    }
    CU_ASSERT(ok);
    free(hist);
}

/* Rows that differ between two observations. */
static void diff_rows(const mnet_real *a, const mnet_real *b, int rows, int n, int ld, int *d)
{
    for (int r = 0; r < rows; r++) {
        d[r] = 0;
        for (int c = 0; c < n; c++)
            d[r] |= a[r * ld + c] != b[r * ld + c];
    }
}

static void test_noise_placement(void)
{
    const int T = 4, n = 3, ld = 3, P = 2, M = 2;
    mnet_obs base = make_obs(MNET_TASK_DELAYED_REACH, P, M, 0.02, 0.03, 0, 2);
    const int I = base.n_obs;
    mnet_real goal[2 * 3] = {1, 2, 3, 4, 5, 6}, go[3] = {0, 1, 1};
    mnet_real act[4 * 2 * 3];
    for (int i = 0; i < 4 * 2 * 3; i++)
        act[i] = (mnet_real)(0.1 * i);
    mnet_real *hist0 = calloc((size_t)(T + 2) * base.n_sense * ld, sizeof *hist0);
    mnet_real *hist1 = calloc((size_t)(T + 2) * base.n_sense * ld, sizeof *hist1);
    mnet_real clean[32 * 3], noisy[32 * 3];
    int d[32];
    record_all(&base, hist0, T, n, ld, NULL);
    mnet_obs_build(&base, 3, goal, go, hist0, act, clean, n, ld, NULL);
    mnet_noise_key nz = {9, 0, 1};
    for (int which = 0; which < 3; which++) {
        mnet_obs o = base;
        if (which == 0)
            o.sd_vision = 0.1;
        else if (which == 1)
            o.sd_proprio = 0.1;
        else
            o.sd_obs = 0.1;
        record_all(&o, hist1, T, n, ld, &nz);
        mnet_obs_build(&o, 3, goal, go, hist1, act, noisy, n, ld, &nz);
        diff_rows(clean, noisy, I, n, ld, d);
        for (int r = 0; r < I; r++) {
            int want;
            if (r < o.vision_row)
                want = 0; /* goal and go: never */
            else if (which == 0)
                want = r >= o.vision_row && r < o.proprio_row;
            else if (which == 1)
                want = r >= o.proprio_row && r < o.action_row;
            else
                want = 1;
            CU_ASSERT(d[r] == want);
        }
        /* noise off: nothing moves even with the sds set */
        mnet_noise_key off = {9, 0, 0};
        record_all(&o, hist1, T, n, ld, &off);
        mnet_obs_build(&o, 3, goal, go, hist1, act, noisy, n, ld, &off);
        diff_rows(clean, noisy, I, n, ld, d);
        for (int r = 0; r < I; r++)
            CU_ASSERT(d[r] == 0);
    }
    /* observation noise statistics over many columns: mean 0, sd 0.1 */
    const int N = 4000;
    mnet_obs o = make_obs(MNET_TASK_RANDOM_REACH, P, M, 0, 0, 0, 0);
    o.sd_obs = 0.1;
    mnet_real *ob = calloc((size_t)o.n_obs * N, sizeof *ob);
    mnet_real *h = calloc((size_t)(T + 2) * o.n_sense * N, sizeof *h);
    mnet_obs_build(&o, 2, NULL, NULL, h, NULL, ob, N, N, &nz);
    double s = 0, s2 = 0;
    for (int r = o.vision_row; r < o.n_obs; r++)
        for (int b = 0; b < N; b++)
            s += ob[r * N + b], s2 += ob[r * N + b] * ob[r * N + b];
    double cnt = (double)(o.n_obs - o.vision_row) * N, mean = s / cnt,
           sd = sqrt(s2 / cnt - mean * mean);
    printf("\n    obs noise: mean %.4f, sd %.4f over %.0f draws (sd 0.1)\n", mean, sd, cnt);
    CU_ASSERT(fabs(mean) < 5 * 0.1 / sqrt(cnt));
    CU_ASSERT(fabs(sd - 0.1) < 5 * 0.1 / sqrt(2 * cnt));
    for (int b = 0; b < N; b++)
        CU_ASSERT(ob[b] == 0 && ob[N + b] == 0); /* goal rows (NULL goal: zeros) */
    free(ob);
    free(h);
    free(hist0);
    free(hist1);
}

/* <w, obs_t(hist, actions)> against the backward pass, every input
 * (the map is affine: the differences are exact up to rounding). */
static void test_backward_fd(void)
{
    const int T = 7, n = 2, ld = 3, P = 2, M = 2;
    for (int exact = 0; exact < 2; exact++) {
        mnet_obs o = make_obs(MNET_TASK_DELAYED_REACH, P, M, 0.03, 0.02, exact, 2);
        o.sd_vision = o.sd_proprio = o.sd_obs = 0.05;
        const int I = o.n_obs, NS = o.n_sense;
        const size_t nh = (size_t)(T + 2) * NS * ld, na = (size_t)T * M * ld;
        mnet_real *hist = malloc(nh * sizeof *hist), *act = malloc(na * sizeof *act);
        mnet_real *gh = calloc(nh, sizeof *gh), *ga = calloc(na, sizeof *ga);
        mnet_real w[32 * 3], obs[32 * 3], goal[2 * 3] = {0}, go[3] = {0};
        mnet_rng r;
        mnet_rng_seed(&r, 3 + exact);
        for (size_t i = 0; i < nh; i++)
            hist[i] = (mnet_real)mnet_rng_normal(&r);
        for (size_t i = 0; i < na; i++)
            act[i] = (mnet_real)mnet_rng_normal(&r);
        for (int i = 0; i < I * ld; i++)
            w[i] = (mnet_real)mnet_rng_normal(&r);
        mnet_noise_key nz = {1, 0, 1};
        double err = 0, scale = 0;
        for (int t = 0; t < T; t++) {
            memset(gh, 0, nh * sizeof *gh);
            memset(ga, 0, na * sizeof *ga);
            mnet_obs_backward(&o, t, w, gh, ga, n, ld);
            for (int which = 0; which < 2; which++) {
                mnet_real *x = which ? act : hist;
                const mnet_real *g = which ? ga : gh;
                size_t cnt = which ? na : nh;
                for (size_t i = 0; i < cnt; i++) {
                    if ((int)(i % ld) >= n)
                        continue;
                    mnet_real x0 = x[i];
                    double f[2];
                    for (int k = 0; k < 2; k++) {
                        x[i] = x0 + (k ? -0.5 : 0.5);
                        mnet_obs_build(&o, t, goal, go, hist, act, obs, n, ld, &nz);
                        f[k] = 0;
                        for (int q = 0; q < I; q++)
                            for (int b = 0; b < n; b++)
                                f[k] += (double)w[q * ld + b] * obs[q * ld + b];
                    }
                    x[i] = x0;
                    double fd = f[0] - f[1];
                    err = fmax(err, fabs(fd - g[i]));
                    scale = fmax(scale, fabs(fd));
                }
            }
        }
        printf("\n    obs backward vs FD (%s delays): max err %.2e of %.2f", exact ? "exact" : "quirk",
               err, scale);
        CU_ASSERT(err <= 1e-12 * scale);
        free(hist);
        free(act);
        free(gh);
        free(ga);
    }
    printf("\n");
}

/* MotorNet's observation stream on the 6-muscle arm: vision delay 5
 * steps, proprioception 2, two action frames, no noise.  Vision and the
 * action frames are rebuilt from the file's fingertip and actions; the
 * proprioceptive values of state j come from the stream itself at step
 * j+1 (2-step quirk delay), so the check there is the buffer fill: step 0
 * must show state 0 too. */
static void test_golden_stream(void)
{
    char path[1024], err[512];
    const char *dir = golden_dir();
    CU_ASSERT_FATAL(dir != NULL);
    snprintf(path, sizeof path, "%s/env_reach_delays.golden", dir);
    golden_case *gc = golden_load(path, err, sizeof err);
    if (!gc)
        printf("\n    %s\n", err);
    CU_ASSERT_FATAL(gc != NULL);
    const golden_array *gobs = golden_array_get(gc, "obs"), *gact = golden_array_get(gc, "actions"),
                       *gtip = golden_array_get(gc, "fingertip"),
                       *ggoal = golden_array_get(gc, "goal");
    CU_ASSERT_FATAL(gobs && gact && gtip && ggoal);
    const int T = gact->dims[0], B = gact->dims[1], M = gact->dims[2], P = 2;
    const int W = gobs->dims[2];
    CU_ASSERT_FATAL(W == 28 && M == 6 && gobs->dims[0] == T + 1);
    const double dt = golden_meta_double(gc, "dt", 0);
    CU_ASSERT_FATAL(dt == STEP);

    mnet_task_config c = mnet_task_config_default();
    c.vision_delay = 0.05;
    c.proprio_delay = 0.02;
    c.action_frames = 2;
    mnet_obs o;
    CU_ASSERT_FATAL(mnet_obs_setup(&o, &c, P, M, dt, err, sizeof err) == 0);
    CU_ASSERT_FATAL(o.n_obs == W);
    const int NS = o.n_sense, ld = B;
    mnet_real *hist = calloc((size_t)(T + 2) * NS * ld, sizeof *hist);
    mnet_real *act = calloc((size_t)T * M * ld, sizeof *act);
    mnet_real *sensed = calloc((size_t)NS * ld, sizeof *sensed);
    mnet_real goal[2 * 16], obs[28 * 16];
    CU_ASSERT_FATAL(B <= 16);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            for (int m = 0; m < M; m++)
                act[(t * M + m) * ld + b] = (mnet_real)gact->data[((size_t)t * B + b) * M + m];
    for (int b = 0; b < B; b++)
        for (int i = 0; i < P; i++)
            goal[i * ld + b] = (mnet_real)ggoal->data[b * P + i];
    for (int j = 0; j < T; j++) { /* state j: fingertip j, proprio shown at step j+1 */
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < P; i++)
                sensed[i * ld + b] = (mnet_real)gtip->data[((size_t)j * B + b) * P + i];
            for (int r = 0; r < 2 * M; r++)
                sensed[(P + r) * ld + b] =
                    (mnet_real)gobs->data[((size_t)(j + 1) * B + b) * W + o.proprio_row + r];
        }
        mnet_obs_record(&o, hist, j, sensed, B, ld, NULL);
    }
    double err_all = 0, scale = 0, err_vision = 0, err_act = 0, err_prop0 = 0;
    for (int t = 0; t <= T; t++) {
        mnet_obs_build(&o, t, goal, NULL, hist, act, obs, B, ld, NULL);
        for (int b = 0; b < B; b++)
            for (int r = 0; r < W; r++) {
                double g = gobs->data[((size_t)t * B + b) * W + r];
                double e = fabs(obs[r * ld + b] - g);
                scale = fmax(scale, fabs(g));
                err_all = fmax(err_all, e);
                if (r >= o.vision_row && r < o.proprio_row)
                    err_vision = fmax(err_vision, e);
                if (r >= o.action_row)
                    err_act = fmax(err_act, e);
                if (t == 0 && r >= o.proprio_row && r < o.action_row)
                    err_prop0 = fmax(err_prop0, e);
            }
    }
    printf("\n    env_reach_delays (B %d, T %d): max |ours - golden| / max |golden| = %.2e "
           "(vision %.1e, action frames %.1e, step-0 proprio %.1e)\n",
           B, T, err_all / scale, err_vision, err_act, err_prop0);
    CU_ASSERT(err_all / scale <= 1e-12);
    free(hist);
    free(act);
    free(sensed);
    golden_free(gc);
}

static const mnet_test tests[] = {
    {"row layout", test_layout},
    {"delay semantics (quirk and exact, fill draw)", test_delays},
    {"action frames, older first", test_action_frames},
    {"noise only where specified", test_noise_placement},
    {"backward vs finite differences", test_backward_fd},
    {"reference stream env_reach_delays", test_golden_stream},
    {NULL, NULL},
};

int main(void) { return mnet_test_main("obs", tests); }
