/* test_nn_modular.c - a modular network's masks and Dale's law
 * (runtime/nn_modular.c): the description's errors, the mask statistics
 * against the requested probabilities (fixed seed, 5 binomial standard
 * deviations), Dale's structure, the draw as a pure function of the seed,
 * whole-episode gradients of the masked network against central
 * differences, and 100 Adam steps after which masked weights and their
 * gradients are exactly 0 and every Dale sign holds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_nn.h"
#include "mnet_optim.h"
#include "mnet_rng.h"
#include "test_support.h"

static mnet_nn_modular three_modules(void)
{
    mnet_nn_modular md;
    memset(&md, 0, sizeof md);
    md.n_modules = 3;
    const char *names[3] = {"pmd", "m1", "spinal"};
    const int sizes[3] = {5, 4, 3};
    for (int m = 0; m < 3; m++) {
        snprintf(md.name[m], MNET_NN_NAME, "%s", names[m]);
        md.size[m] = sizes[m];
        md.excitatory[m] = 0.75;
        md.p[m][m] = 1;
        md.frac[m][m] = 1;
    }
    md.drives_readout[2] = 1;
    md.frac[1][0] = 1, md.p[1][0] = 0.6; /* pmd -> m1 */
    md.frac[2][1] = 1, md.p[2][1] = 0.6; /* m1 -> spinal */
    md.frac[0][1] = 0.5, md.p[0][1] = 1; /* m1 -> pmd (feedback) */
    md.n_sources = 2;
    snprintf(md.source_name[0], MNET_NN_NAME, "vision");
    md.source_first[0] = 0, md.source_count[0] = 2;
    snprintf(md.source_name[1], MNET_NN_NAME, "proprioception");
    md.source_first[1] = 2, md.source_count[1] = 1;
    md.reach[0][0] = 1;               /* vision to pmd only */
    md.reach[1][2] = 1, md.reach[1][1] = 0.5;
    return md;
}

static void setup_h0(mnet_nn *nn, mnet_nn_cell cell, int I, int H, int L, int O, int learn_h0)
{
    mnet_nn_config cfg = {cell, I, H, L, O, MNET_NN_ORTHO_STACKED, -1.0, MNET_NN_READOUT_SIGMOID,
                          MNET_NN_CANDIDATE_TANH, learn_h0};
    CU_ASSERT_FATAL(mnet_nn_setup(nn, &cfg, NULL, 0) == 0);
}

static void setup(mnet_nn *nn, mnet_nn_cell cell, int I, int H, int L, int O)
{
    setup_h0(nn, cell, I, H, L, O, 0);
}

/* three_modules with delays: pmd -> m1 2 extra steps, m1 -> spinal 3 (at
 * T = 5 most of its steps reach back before the episode), m1 -> pmd 1 */
static mnet_nn_modular delayed_modules(void)
{
    mnet_nn_modular md = three_modules();
    md.delay_steps[1][0] = 2;
    md.delay_steps[2][1] = 3;
    md.delay_steps[0][1] = 1;
    return md;
}

/* ---- errors name the module or source ---- */

static void expect_err(const mnet_nn *nn, const mnet_nn_modular *md, const char *msg)
{
    char err[200] = "";
    int rc = mnet_nn_modular_check(nn, md, err, sizeof err);
    printf("\n    %s", err);
    CU_ASSERT(rc == -1);
    CU_ASSERT(strstr(err, msg) != NULL);
}

static void test_errors(void)
{
    mnet_nn nn;
    setup(&nn, MNET_NN_GRU, 4, 12, 1, 2);
    mnet_nn_modular md = three_modules();
    char err[200] = "";
    CU_ASSERT(mnet_nn_modular_check(&nn, &md, err, sizeof err) == 0);
    md.size[1] = 5;
    expect_err(&nn, &md, "the module sizes add up to 13, but the network has 12 units");
    md = three_modules();
    md.p[1][0] = 1.5;
    expect_err(&nn, &md, "connection 'pmd' -> 'm1': probability 1.5 is outside [0, 1]");
    md = three_modules();
    md.frac[2][1] = -0.1;
    expect_err(&nn, &md, "connection 'm1' -> 'spinal': fraction of projecting units -0.1");
    md = three_modules();
    md.reach[1][0] = NAN;
    expect_err(&nn, &md, "input 'proprioception' -> module 'pmd': probability nan");
    md = three_modules();
    md.excitatory[2] = 2;
    expect_err(&nn, &md, "module 'spinal': excitatory proportion 2 is outside [0, 1]");
    md = three_modules();
    md.size[0] = 0, md.size[1] = 9;
    expect_err(&nn, &md, "module 'pmd': size 0");
    md = three_modules();
    md.source_count[1] = 3;
    expect_err(&nn, &md, "input 'proprioception': columns 2 .. 4 are outside the network's 4 inputs");
    md = three_modules();
    md.source_first[1] = 1;
    expect_err(&nn, &md, "inputs 'vision' and 'proprioception' overlap");
    md = three_modules();
    md.drives_readout[2] = 0;
    expect_err(&nn, &md, "no module drives the read-out");
    md = three_modules();
    mnet_nn two;
    setup(&two, MNET_NN_GRU, 4, 12, 2, 2);
    expect_err(&two, &md, "modules need one layer");
    setup(&two, MNET_NN_LSTM, 4, 12, 1, 2);
    expect_err(&two, &md, "modules need a gru or rnn cell");
    printf("\n");
}

/* ---- statistics of the draw ---- */

/* |kept - n p| <= 5 sqrt(n p (1 - p)) (+1 for the rounding of tiny n) */
static int near(const char *what, long kept, long n, double p)
{
    double sd = sqrt((double)n * p * (1 - p)), dev = fabs((double)kept - (double)n * p);
    printf("\n    %-34s %6ld of %6ld kept (%.4f, asked %.2f; %.1f sd)", what, kept, n,
           (double)kept / (double)n, p, sd > 0 ? dev / sd : 0);
    return dev <= 5 * sd + 1e-9;
}

static void test_statistics(void)
{
    /* the size: five modules of 64 units and one of 16 */
    const int M = 6, H = 336, I = 20, O = 6;
    mnet_nn nn;
    setup(&nn, MNET_NN_GRU, I, H, 1, O);
    mnet_nn_modular md;
    memset(&md, 0, sizeof md);
    md.n_modules = M;
    for (int m = 0; m < M; m++) {
        snprintf(md.name[m], MNET_NN_NAME, "m%d", m);
        md.size[m] = m < 5 ? 64 : 16;
        md.excitatory[m] = 0.8;
        for (int a = 0; a < M; a++) {
            md.frac[m][a] = a == m ? 1 : 0.5;
            md.p[m][a] = a == m ? 0.9 : 0.3;
        }
    }
    md.drives_readout[5] = 1;
    md.n_sources = 2;
    snprintf(md.source_name[0], MNET_NN_NAME, "vision");
    md.source_first[0] = 0, md.source_count[0] = 10;
    snprintf(md.source_name[1], MNET_NN_NAME, "proprioception");
    md.source_first[1] = 10, md.source_count[1] = 10;
    for (int m = 0; m < M; m++) {
        md.reach[0][m] = 0.25;
        md.reach[1][m] = 0.75;
    }
    size_t np = nn.n_params;
    mnet_real *mask = malloc(np * sizeof *mask), *sign = malloc(np * sizeof *sign);
    mnet_real *mask2 = malloc(np * sizeof *mask), *sign2 = malloc(np * sizeof *sign);
    CU_ASSERT_FATAL(mask && sign && mask2 && sign2);
    CU_ASSERT_FATAL(mnet_nn_modular_masks(&nn, &md, 5, mask, sign) == 0);
    /* a pure function of the seed */
    CU_ASSERT_FATAL(mnet_nn_modular_masks(&nn, &md, 5, mask2, sign2) == 0);
    CU_ASSERT(memcmp(mask, mask2, np * sizeof *mask) == 0 && memcmp(sign, sign2, np * sizeof *sign) == 0);
    CU_ASSERT_FATAL(mnet_nn_modular_masks(&nn, &md, 6, mask2, sign2) == 0);
    CU_ASSERT(memcmp(mask, mask2, np * sizeof *mask) != 0);

    mnet_nn_params pm, ps;
    mnet_nn_bind_params(&nn, mask, &pm);
    mnet_nn_bind_params(&nn, sign, &ps);
    int mod[336];
    for (int u = 0; u < H; u++)
        mod[u] = u < 320 ? u / 64 : 5;
    /* inputs: units reached per source, every gate and column agreeing */
    long reach[2] = {0, 0}, agree = 1;
    for (int j = 0; j < H; j++)
        for (int s = 0; s < 2; s++) {
            mnet_real k = pm.layer[0].w_in[(size_t)j * I + 10 * s];
            reach[s] += k != 0;
            for (int q = 0; q < 3; q++)
                for (int c = 0; c < 10; c++)
                    agree &= pm.layer[0].w_in[((size_t)q * H + j) * I + 10 * s + c] == k;
        }
    CU_ASSERT(agree);
    CU_ASSERT(near("vision reaches a unit (p 0.25)", reach[0], H, 0.25));
    CU_ASSERT(near("proprioception reaches a unit (0.75)", reach[1], H, 0.75));
    /* recurrent: within a module, connections kept with 0.9; between
     * modules, an excitatory unit projects to a module with 0.5 (counted
     * over (unit, module) pairs: a projecting unit reaches at least one of
     * 16 or 64 units at 0.3 but with probability 0.997 or more), and a
     * projecting unit's connections are kept with 0.3 (counted over the
     * pairs that project); inhibitory units: none */
    long within = 0, n_within = 0, between = 0, n_between = 0, inh_out = 0, sign_bad = 0;
    long exc = 0, pairs = 0, n_pairs = 0;
    for (int i = 0; i < H; i++) {
        int first = mod[i] * 64, size = mod[i] < 5 ? 64 : 16;
        int e = i - first < (int)floor(0.8 * size + 0.5);
        exc += e;
        long to[6] = {0, 0, 0, 0, 0, 0};
        for (int j = 0; j < H; j++)
            to[mod[j]] += pm.layer[0].w_rec[(size_t)j * H + i] != 0;
        for (int b = 0; b < 6; b++)
            if (e && b != mod[i]) {
                n_pairs++;
                pairs += to[b] > 0;
                if (to[b] > 0) {
                    between += to[b];
                    n_between += b < 5 ? 64 : 16;
                }
            }
        for (int j = 0; j < H; j++) {
            mnet_real k = pm.layer[0].w_rec[(size_t)j * H + i];
            mnet_real sg = ps.layer[0].w_rec[(size_t)j * H + i];
            for (int q = 1; q < 3; q++)
                CU_ASSERT(pm.layer[0].w_rec[((size_t)q * H + j) * H + i] == k);
            sign_bad += k != 0 && sg != (e ? 1 : -1);
            sign_bad += k == 0 && sg != 0;
            if (mod[j] == mod[i]) {
                within += k != 0;
                n_within++;
            } else if (!e) {
                inh_out += k != 0;
            }
        }
    }
    CU_ASSERT(exc == 5 * 51 + 13); /* round(0.8 * 64) = 51, round(0.8 * 16) = 13 */
    CU_ASSERT(near("within a module (0.9)", within, n_within, 0.9));
    CU_ASSERT(near("excitatory unit projects to a module", pairs, n_pairs, 0.5));
    CU_ASSERT(near("a projecting unit's connections", between, n_between, 0.3));
    printf("\n    inhibitory units projecting out of their module: %ld; wrong signs: %ld", inh_out,
           sign_bad);
    CU_ASSERT(inh_out == 0);
    CU_ASSERT(sign_bad == 0);
    /* the read-out: the excitatory units of m5 only, positive */
    long out = 0;
    for (int o = 0; o < O; o++)
        for (int i = 0; i < H; i++) {
            mnet_real k = pm.w_out[(size_t)o * H + i];
            int want = mod[i] == 5 && i - 320 < 13;
            CU_ASSERT(k == (want ? 1 : 0));
            CU_ASSERT(ps.w_out[(size_t)o * H + i] == (want ? 1 : 0));
            out += k != 0;
        }
    CU_ASSERT(out == 13 * O);
    /* biases free */
    for (int r = 0; r < 3 * H; r++)
        CU_ASSERT(pm.layer[0].b_in[r] == 1 && pm.layer[0].b_rec[r] == 1 && ps.layer[0].b_in[r] == 0);
    printf("\n");
    free(mask);
    free(sign);
    free(mask2);
    free(sign2);
}

/* ---- gradients and training ---- */

typedef struct episode {
    mnet_nn nn;
    mnet_nn_params p, g;
    mnet_real *w, *grad, *arena, *x, *dy, *dh, *mask, *sign;
    mnet_nn_acts a;
    int T, B;
} episode;

static void episode_open_delays(episode *e, mnet_nn_cell cell, int delays, int learn_h0)
{
    memset(e, 0, sizeof *e);
    const int I = 4, H = 12, O = 2;
    e->T = 5, e->B = 3;
    setup_h0(&e->nn, cell, I, H, 1, O, learn_h0);
    if (delays) {
        mnet_nn_modular dm = delayed_modules();
        char err[200];
        CU_ASSERT_FATAL(mnet_nn_set_delays(&e->nn, &dm, e->T, err, sizeof err) == 0);
    }
    size_t np = e->nn.n_params;
    e->w = malloc(np * sizeof *e->w);
    e->grad = malloc(np * sizeof *e->grad);
    e->mask = malloc(np * sizeof *e->mask);
    e->sign = malloc(np * sizeof *e->sign);
    e->arena = malloc((size_t)e->T * mnet_nn_act_size(&e->nn, e->B) * sizeof *e->arena);
    e->x = malloc((size_t)e->T * I * e->B * sizeof *e->x);
    e->dy = malloc((size_t)O * e->B * sizeof *e->dy);
    e->dh = malloc((size_t)H * e->B * sizeof *e->dh);
    CU_ASSERT_FATAL(e->w && e->grad && e->mask && e->sign && e->arena && e->x && e->dy && e->dh);
    mnet_nn_bind_params(&e->nn, e->w, &e->p);
    mnet_nn_bind_params(&e->nn, e->grad, &e->g);
    mnet_nn_bind_acts(&e->nn, e->arena, e->T, e->B, &e->a);
    mnet_nn_modular md = three_modules();
    CU_ASSERT_FATAL(mnet_nn_modular_masks(&e->nn, &md, 3, e->mask, e->sign) == 0);
    CU_ASSERT_FATAL(mnet_nn_init_params(&e->nn, e->w, 9) == 0);
    /* larger than the init, so that the loss feels every weight */
    for (size_t i = 0; i < np; i++)
        e->w[i] *= 2;
    mnet_nn_constrain_init(e->w, e->mask, e->sign, np);
    mnet_rng r;
    mnet_rng_seed(&r, 77);
    for (int i = 0; i < e->T * I * e->B; i++)
        e->x[i] = (mnet_real)(2 * mnet_rng_uniform(&r) - 1);
    if (e->p.h0) /* a learned initial state away from 0 */
        for (int j = 0; j < H; j++)
            e->p.h0[j] = (mnet_real)(mnet_rng_uniform(&r) - 0.5);
}

static void episode_open(episode *e, mnet_nn_cell cell)
{
    episode_open_delays(e, cell, 0, 0);
}

static void episode_close(episode *e)
{
    free(e->w), free(e->grad), free(e->mask), free(e->sign), free(e->arena), free(e->x);
    free(e->dy), free(e->dh);
}

/* loss = sum over steps and columns of (y - 0.3 (o + 1))^2 / 2 */
static double target(int o) { return 0.3 * (o + 1); }

static double episode_loss(episode *e)
{
    const int I = e->nn.cfg.n_input, O = e->nn.cfg.n_output, B = e->B;
    double sum = 0;
    for (int t = 0; t < e->T; t++) {
        mnet_nn_forward(&e->nn, &e->p, &e->a, t, e->x + (size_t)t * I * B, NULL, NULL, B, NULL);
        for (int o = 0; o < O; o++)
            for (int b = 0; b < B; b++) {
                double d = e->a.y[o * e->a.ld + (long)t * B + b] - target(o);
                sum += 0.5 * d * d;
            }
    }
    return sum;
}

/* the masked gradient of episode_loss into e->grad; returns the loss */
static double episode_grad(episode *e)
{
    const int I = e->nn.cfg.n_input, H = e->nn.cfg.n_hidden, O = e->nn.cfg.n_output, B = e->B;
    double loss = episode_loss(e);
    memset(e->grad, 0, e->nn.n_params * sizeof *e->grad);
    memset(e->dh, 0, (size_t)H * B * sizeof *e->dh);
    (void)I;
    for (int t = e->T - 1; t >= 0; t--) {
        for (int o = 0; o < O; o++)
            for (int b = 0; b < B; b++)
                e->dy[o * B + b] = e->a.y[o * e->a.ld + (long)t * B + b] - (mnet_real)target(o);
        mnet_nn_backward(&e->nn, &e->p, &e->g, &e->a, t, e->dy, NULL, e->dh, NULL, B, 1);
    }
    mnet_nn_backward_weights(&e->nn, &e->g, &e->a, 0, e->T);
    mnet_nn_mask_grad(e->grad, e->mask, e->nn.n_params);
    return loss;
}

static void check_fd_delays(mnet_nn_cell cell, int delays, int learn_h0, const char *name)
{
    episode e;
    episode_open_delays(&e, cell, delays, learn_h0);
    episode_grad(&e);
    size_t np = e.nn.n_params;
    double *an = malloc(np * sizeof *an), *fd = malloc(np * sizeof *fd);
    CU_ASSERT_FATAL(an && fd);
    int n = 0, zero_bad = 0;
    for (size_t i = 0; i < np; i++) {
        if (e.mask[i] == 0) {
            zero_bad += e.grad[i] != 0 || e.w[i] != 0;
            continue;
        }
        mnet_real keep = e.w[i];
        const double h = 1e-5;
        e.w[i] = (mnet_real)(keep + h);
        double lp = episode_loss(&e);
        e.w[i] = (mnet_real)(keep - h);
        double lm = episode_loss(&e);
        e.w[i] = keep;
        fd[n] = (lp - lm) / (2 * h);
        an[n] = e.grad[i];
        n++;
    }
    double err = mnet_max_rel_err(an, fd, n);
    printf("\n    %s: %d free weights of %zu, d loss / d w max rel err %.3e; masked weights or "
           "gradients not 0: %d", name, n, np, err, zero_bad);
#ifndef MNET_REAL_FLOAT
    CU_ASSERT(err <= 1e-6);
#endif
    CU_ASSERT(zero_bad == 0);
    free(an);
    free(fd);
    episode_close(&e);
}

static void check_fd(mnet_nn_cell cell, const char *name)
{
    check_fd_delays(cell, 0, 0, name);
}

static double sig(double a) { return 1 / (1 + exp(-a)); }

/* The delayed modular GRU written out unit by unit, in double, from the
 * equations (mnet_nn_delays): the source of W_h[j][i] at step t is the
 * state of unit i at t - 1 - d(module of j, module of i), h0 before the
 * episode.  Compared with the runtime's read-out at every step. */
static void test_delays_forward(void)
{
    episode e;
    episode_open_delays(&e, MNET_NN_GRU, 1, 1);
    const int I = 4, H = 12, O = 2, T = e.T, B = e.B;
    mnet_nn_modular md = delayed_modules();
    int mod[12];
    for (int u = 0, m = 0; m < 3; m++)
        for (int k = 0; k < md.size[m]; k++)
            mod[u++] = m;
    double *h = calloc((size_t)(T + 1) * H * B, sizeof *h); /* h[(t+1)][j][b]: state after t */
    CU_ASSERT_FATAL(h != NULL);
    for (int j = 0; j < H; j++)
        for (int b = 0; b < B; b++)
            h[j * B + b] = e.p.h0[j];
    episode_loss(&e); /* the runtime's forward over all T steps */
    const mnet_nn_layer_params *lp = &e.p.layer[0];
    double worst = 0;
    for (int t = 0; t < T; t++) {
        const mnet_real *x = e.x + (size_t)t * I * B;
        for (int j = 0; j < H; j++)
            for (int b = 0; b < B; b++) {
                double a[3], c = lp->b_rec[2 * H + j];
                for (int q = 0; q < 3; q++) {
                    a[q] = lp->b_in[q * H + j];
                    for (int k = 0; k < I; k++)
                        a[q] += lp->w_in[(q * H + j) * I + k] * x[k * B + b];
                }
                a[0] += lp->b_rec[j];
                a[1] += lp->b_rec[H + j];
                for (int i = 0; i < H; i++) {
                    int src = t - md.delay_steps[mod[j]][mod[i]]; /* h after step src-1 */
                    double hs = h[((size_t)(src > 0 ? src : 0) * H + i) * B + b];
                    a[0] += lp->w_rec[j * H + i] * hs;
                    a[1] += lp->w_rec[(H + j) * H + i] * hs;
                    c += lp->w_rec[(2 * H + j) * H + i] * hs;
                }
                double r = sig(a[0]), z = sig(a[1]), n = tanh(a[2] + r * c);
                h[((size_t)(t + 1) * H + j) * B + b] = (1 - z) * n + z * h[((size_t)t * H + j) * B + b];
            }
        for (int o = 0; o < O; o++)
            for (int b = 0; b < B; b++) {
                double y = e.p.b_out[o];
                for (int j = 0; j < H; j++)
                    y += e.p.w_out[o * H + j] * h[((size_t)(t + 1) * H + j) * B + b];
                worst = fmax(worst, fabs(sig(y) - e.a.y[o * e.a.ld + (long)t * B + b]));
            }
    }
    printf("\n    delayed modular GRU (delays 2, 3, 1 steps; learned h0) vs the equations unit by "
           "unit: max |dy| %.3e\n", worst);
#ifdef MNET_REAL_FLOAT
    CU_ASSERT(worst <= 1e-5);
#else
    CU_ASSERT(worst <= 1e-13);
#endif
    free(h);
    episode_close(&e);
}

static void test_delays_errors(void)
{
    mnet_nn nn;
    setup(&nn, MNET_NN_GRU, 4, 12, 1, 2);
    mnet_nn_modular md = delayed_modules();
    char err[200] = "";
    md.delay_steps[2][1] = 5;
    CU_ASSERT(mnet_nn_set_delays(&nn, &md, 5, err, sizeof err) == -1);
    printf("\n    %s", err);
    CU_ASSERT(strstr(err, "connection 'm1' -> 'spinal': a delay of 5 steps is not shorter than the episode") != NULL);
    md.delay_steps[2][1] = -1;
    CU_ASSERT(mnet_nn_set_delays(&nn, &md, 5, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "is negative") != NULL);
    mnet_nn lstm;
    setup(&lstm, MNET_NN_LSTM, 4, 12, 1, 2);
    md = delayed_modules();
    CU_ASSERT(mnet_nn_set_delays(&lstm, &md, 5, err, sizeof err) == -1);
    printf("\n    %s\n", err);
    CU_ASSERT(strstr(err, "gru or rnn") != NULL);
    /* no delay at all: the dense path, the arena unchanged */
    md = three_modules();
    size_t rows = nn.act_rows;
    CU_ASSERT(mnet_nn_set_delays(&nn, &md, 5, err, sizeof err) == 0);
    CU_ASSERT(nn.delays.n_modules == 0 && (size_t)nn.act_rows == rows);
}

static void test_gradients(void)
{
    check_fd_delays(MNET_NN_GRU, 1, 0, "delayed modular GRU");
    check_fd_delays(MNET_NN_GRU, 1, 1, "delayed modular GRU, learned h0");
    check_fd_delays(MNET_NN_RNN, 1, 1, "delayed modular RNN, learned h0");
    check_fd(MNET_NN_GRU, "modular GRU");
    check_fd(MNET_NN_RNN, "modular RNN");
    printf("\n");
}

static void test_adam_keeps_rules(void)
{
    episode e;
    episode_open(&e, MNET_NN_GRU);
    size_t np = e.nn.n_params;
    mnet_real *m = calloc(np, sizeof *m), *v = calloc(np, sizeof *v);
    CU_ASSERT_FATAL(m && v);
    mnet_adam_config ac = mnet_adam_default_config();
    ac.lr = 3e-2; /* large steps: many weights try to cross zero */
    mnet_adam opt;
    mnet_adam_init(&opt, &ac);
    double first = 0, last = 0;
    long bad = 0, clamped = 0;
    for (int k = 0; k < 100; k++) {
        last = episode_grad(&e);
        if (k == 0)
            first = last;
        for (size_t i = 0; i < np; i++)
            bad += e.mask[i] == 0 && e.grad[i] != 0;
        mnet_adam_step(&opt, e.w, e.grad, m, v, np);
        for (size_t i = 0; i < np; i++)
            clamped += e.sign[i] * e.w[i] < 0;
        mnet_nn_constrain(e.w, e.mask, e.sign, np);
        for (size_t i = 0; i < np; i++) {
            bad += e.mask[i] == 0 && e.w[i] != 0;
            bad += e.sign[i] * e.w[i] < 0;
        }
    }
    long zeros = 0, dale = 0;
    for (size_t i = 0; i < np; i++) {
        zeros += e.mask[i] == 0;
        dale += e.sign[i] != 0;
    }
    printf("\n    100 Adam steps: loss %.4f -> %.4f; %ld masked weights, %ld sign-constrained, %ld "
           "sign crossings clamped; violations %ld\n", first, last, zeros, dale, clamped, bad);
    CU_ASSERT(bad == 0);
    CU_ASSERT(last < first);
    CU_ASSERT(zeros > 0 && dale > 0 && clamped > 0);
    free(m);
    free(v);
    episode_close(&e);
}

static const mnet_test tests[] = {
    {"bad descriptions: errors name the module or source", test_errors},
    {"mask statistics against the probabilities (6 modules, 336 units)", test_statistics},
    {"masked network: gradients vs finite differences, masked gradients 0", test_gradients},
    {"100 Adam steps: masked weights and gradients 0, Dale signs hold", test_adam_keeps_rules},
    {"delays between modules: forward = the equations unit by unit", test_delays_forward},
    {"delays: errors", test_delays_errors},
    {NULL, NULL},
};

int main(void) { return mnet_test_main("nn_modular", tests); }
