/* test_optim.c - Adam (torch semantics), clip_grad_norm_, schedules. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mnet_optim.h"
#include "test_support.h"

#ifdef MNET_REAL_FLOAT
#define TOL 1e-6
#else
#define TOL 1e-13
#endif

static int near(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fmax(1.0, fabs(b));
}

/* Textbook Adam (Kingma & Ba, as torch.optim.Adam), written independently
 * of optim_adam.c: m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t). */
typedef struct ref_adam {
    double m[2], v[2];
    int t;
} ref_adam;

static void ref_step(ref_adam *s, double *p, const double *grad, double lr, double b1, double b2,
                     double eps, double wd, int decoupled)
{
    s->t++;
    for (int i = 0; i < 2; i++) {
        double g = grad[i];
        if (decoupled)
            p[i] -= lr * wd * p[i];
        else
            g += wd * p[i];
        s->m[i] = b1 * s->m[i] + (1 - b1) * g;
        s->v[i] = b2 * s->v[i] + (1 - b2) * g * g;
        double m_hat = s->m[i] / (1 - pow(b1, s->t));
        double v_hat = s->v[i] / (1 - pow(b2, s->t));
        p[i] -= lr * m_hat / (sqrt(v_hat) + eps);
    }
}

/* f(p) = 0.5 p0^2 + 2 p1^2: gradient (p0, 4 p1) */
static void quad_grad(const double *p, double *g)
{
    g[0] = p[0];
    g[1] = 4 * p[1];
}

/* Three steps, p = (1, -2), lr 0.1, betas (0.9, 0.999), eps 1e-8,
 * against the reference and against values worked out with a calculator:
 *   step 1: g = (1, -8); m_hat = g, v_hat = g^2, so each parameter moves by
 *           lr * |g| / (|g| + 1e-8): p0 = 1 - 0.1 / (1 + 1e-8) = 0.900000001,
 *           p1 = -2 + 0.1 * 8 / (8 + 1e-8) = -1.900000000125.
 *   step 2: g0 = 0.900000001, m0 = 0.09 + 0.0900000001 = 0.1800000001,
 *           v0 = 0.000999 + 0.001 * 0.810000001800 = 0.0018090000018,
 *           m_hat = m0 / 0.19 = 0.9473684215789,
 *           v_hat = v0 / 0.001999 = 0.9049524771386, sqrt = 0.9512899017327,
 *           p0 = 0.900000001 - 0.1 * 0.9958777128766 = 0.8004122297123.
 *   step 3: p0 = 0.701586274504415, p1 = -1.7006233916636408. */
static void test_adam_three_steps(void)
{
    mnet_adam_config cfg = mnet_adam_default_config();
    cfg.lr = 0.1;
    cfg.clip_norm = 0; /* off */
    mnet_adam opt;
    mnet_adam_init(&opt, &cfg);
    mnet_real p[2] = {1, -2}, g[2], m[2] = {0, 0}, v[2] = {0, 0};
    double rp[2] = {1, -2}, rg[2];
    ref_adam ref = {{0, 0}, {0, 0}, 0};
    const double lit[3][2] = {{0.900000001, -1.900000000125},
                              {0.8004122297123382, -1.8001664858630053},
                              {0.701586274504415, -1.7006233916636408}};
    double err = 0;
    for (int t = 0; t < 3; t++) {
        double pd[2] = {p[0], p[1]}, gd[2];
        quad_grad(pd, gd);
        g[0] = (mnet_real)gd[0], g[1] = (mnet_real)gd[1];
        mnet_adam_step(&opt, p, g, m, v, 2);
        quad_grad(rp, rg);
        ref_step(&ref, rp, rg, 0.1, 0.9, 0.999, 1e-8, 0, 0);
        for (int i = 0; i < 2; i++) {
            CU_ASSERT(near(p[i], rp[i], TOL));
            CU_ASSERT(near(p[i], lit[t][i], TOL));
            err = fmax(err, fabs(p[i] - lit[t][i]));
        }
    }
    CU_ASSERT(opt.t == 3);
    printf("\n    3 Adam steps: max |p - hand value| %.3e\n", err);
}

/* Weight decay both ways, and a schedule feeding the step, vs the reference. */
static void test_adam_decay_and_schedule(void)
{
    for (int decoupled = 0; decoupled < 2; decoupled++) {
        mnet_adam_config cfg = mnet_adam_default_config();
        cfg.lr = 0.05;
        cfg.beta1 = 0.8;
        cfg.beta2 = 0.99;
        cfg.eps = 1e-6;
        cfg.weight_decay = 0.3;
        cfg.decoupled = decoupled;
        cfg.clip_norm = 0;
        cfg.sched.kind = MNET_SCHED_STEP;
        cfg.sched.step_size = 2;
        cfg.sched.gamma = 0.5;
        mnet_adam opt;
        mnet_adam_init(&opt, &cfg);
        mnet_real p[2] = {0.7, -1.3}, g[2], m[2] = {0, 0}, v[2] = {0, 0};
        double rp[2] = {0.7, -1.3}, rg[2];
        ref_adam ref = {{0, 0}, {0, 0}, 0};
        for (int t = 0; t < 5; t++) {
            double pd[2] = {p[0], p[1]}, gd[2];
            quad_grad(pd, gd);
            g[0] = (mnet_real)gd[0], g[1] = (mnet_real)gd[1];
            mnet_adam_step(&opt, p, g, m, v, 2);
            /* update t+1 uses the rate after t updates: 0.05, 0.05, 0.025, 0.025, 0.0125 */
            double lr = 0.05 * pow(0.5, t / 2);
            CU_ASSERT(near(opt.last_lr, lr, 1e-15));
            quad_grad(rp, rg);
            ref_step(&ref, rp, rg, lr, 0.8, 0.99, 1e-6, 0.3, decoupled);
            CU_ASSERT(near(p[0], rp[0], TOL) && near(p[1], rp[1], TOL));
        }
    }
}

/* clip_grad_norm_: g = (3, 4), norm 5. */
static void test_clip(void)
{
    mnet_real g[2] = {3, 4};
    double norm = mnet_clip_grad_norm(g, 2, 1.0);
    CU_ASSERT(near(norm, 5.0, 1e-15));
    /* 3 / (5 + 1e-6) = 0.599999880000024, 4 / (5 + 1e-6) = 0.799999840000032 */
    CU_ASSERT(near(g[0], 0.599999880000024, TOL));
    CU_ASSERT(near(g[1], 0.799999840000032, TOL));

    /* below the limit: untouched */
    mnet_real h[2] = {3, 4};
    CU_ASSERT(near(mnet_clip_grad_norm(h, 2, 6.0), 5.0, 1e-15));
    CU_ASSERT(h[0] == 3 && h[1] == 4);

    /* exactly at the limit: torch still scales by 5 / (5 + 1e-6) */
    mnet_real k[2] = {3, 4};
    mnet_clip_grad_norm(k, 2, 5.0);
    CU_ASSERT(near(k[0], 2.99999940000012, TOL));

    /* non-finite norms are reported, not hidden */
    mnet_real bad[2] = {NAN, 1};
    CU_ASSERT(isnan(mnet_clip_grad_norm(bad, 2, 1.0)));

    /* inside Adam: clipped in place, norm before clipping returned */
    mnet_adam_config cfg = mnet_adam_default_config(); /* clip at 1 */
    mnet_adam opt;
    mnet_adam_init(&opt, &cfg);
    mnet_real p[2] = {0, 0}, gg[2] = {30, 40}, m[2] = {0, 0}, v[2] = {0, 0};
    CU_ASSERT(near(mnet_adam_step(&opt, p, gg, m, v, 2), 50.0, 1e-15));
    CU_ASSERT(near(gg[0], 30 / (50 + 1e-6), TOL) && near(gg[1], 40 / (50 + 1e-6), TOL));
    CU_ASSERT(near(opt.last_norm, 50.0, 1e-15));
}

static void test_schedules(void)
{
    mnet_sched c = {MNET_SCHED_CONSTANT, 0, 0, 0, 0};
    CU_ASSERT(mnet_sched_lr(&c, 0.1, 0) == 0.1 && mnet_sched_lr(&c, 0.1, 1000) == 0.1);

    mnet_sched s = {MNET_SCHED_STEP, 3, 0.5, 0, 0};
    const double step_lr[8] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025};
    for (int k = 0; k < 8; k++)
        CU_ASSERT(near(mnet_sched_lr(&s, 0.1, k), step_lr[k], 1e-15));

    mnet_sched cs = {MNET_SCHED_COSINE, 0, 0, 10, 0.1};
    CU_ASSERT(near(mnet_sched_lr(&cs, 1.0, 0), 1.0, 1e-15));
    /* 0.1 + 0.9 (1 + cos(pi/5)) / 2 = 0.9140576474687263 */
    CU_ASSERT(near(mnet_sched_lr(&cs, 1.0, 2), 0.9140576474687263, 1e-15));
    CU_ASSERT(near(mnet_sched_lr(&cs, 1.0, 5), 0.55, 1e-15));
    CU_ASSERT(near(mnet_sched_lr(&cs, 1.0, 10), 0.1, 1e-15));
    CU_ASSERT(near(mnet_sched_lr(&cs, 1.0, 25), 0.1, 1e-15)); /* stays at eta_min */
    /* monotone decreasing over the annealing */
    for (int k = 0; k < 10; k++)
        CU_ASSERT(mnet_sched_lr(&cs, 1.0, k + 1) < mnet_sched_lr(&cs, 1.0, k));
}

static const mnet_test tests[] = {
    {"Adam three steps (hand values)", test_adam_three_steps},
    {"Adam weight decay (L2, decoupled) and schedule", test_adam_decay_and_schedule},
    {"clip_grad_norm_", test_clip},
    {"learning-rate schedules", test_schedules},
    {NULL, NULL},
};

int main(void) { return mnet_test_main("optim", tests); }
