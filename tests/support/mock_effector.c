/* mock_effector.c - the hand-written point-mass effector of the runtime
 * tests (equations in mock_effector.h), forward beside backward. */
#include "mock_effector.h"

#include <math.h>
#include <stddef.h>

static const double anchor[MOCK_NM][2] = {{2, 2}, {-2, 2}, {2, -2}, {-2, -2}};

#define ROW(a, r) ((a) + (size_t)(r) * ld)

/* Geometry of muscle m at column b: l and e. */
static void geom(const mnet_real *q0, const mnet_real *q1, int b, int m, double *l, double e[2])
{
    double dx = (double)q0[b] - anchor[m][0], dy = (double)q1[b] - anchor[m][1];
    *l = sqrt(dx * dx + dy * dy);
    e[0] = dx / *l;
    e[1] = dy / *l;
}

/* Writes the derived rows of column b of state s from q, qd, a (already in
 * their rows). */
static void derive(mnet_real *s, int ld, int b, const mnet_real *params)
{
    for (int i = 0; i < 2; i++) {
        ROW(s, MOCK_CART + i)[b] = ROW(s, MOCK_JOINT + i)[b];
        ROW(s, MOCK_CART + 2 + i)[b] = ROW(s, MOCK_JOINT + 2 + i)[b];
    }
    const double qd0 = ROW(s, 2)[b], qd1 = ROW(s, 3)[b];
    for (int m = 0; m < MOCK_NM; m++) {
        double l, e[2];
        geom(ROW(s, 0), ROW(s, 1), b, m, &l, e);
        double v = e[0] * qd0 + e[1] * qd1;
        ROW(s, MOCK_MUSCLE + 4 + m)[b] = (mnet_real)l;
        ROW(s, MOCK_MUSCLE + 8 + m)[b] = (mnet_real)v;
        ROW(s, MOCK_MUSCLE + 12 + m)[b] =
            (mnet_real)(ROW(s, MOCK_MUSCLE + m)[b] * params[MOCK_P_MUSCLE + 3 * m]);
        ROW(s, MOCK_GEOM + m)[b] = (mnet_real)l;
        ROW(s, MOCK_GEOM + 4 + m)[b] = (mnet_real)v;
        ROW(s, MOCK_GEOM + 8 + m)[b] = (mnet_real)e[0];
        ROW(s, MOCK_GEOM + 12 + m)[b] = (mnet_real)e[1];
    }
}

/* Backward of derive at column b: from g (40 rows) of the derived state
 * with q, qd (s) to gq[2], gqd[2], ga[4] (overwritten). */
static void derive_vjp(const mnet_real *s, const mnet_real *g, int ld, int b,
                       const mnet_real *params, double gq[2], double gqd[2], double ga[4])
{
    const double qd[2] = {ROW(s, 2)[b], ROW(s, 3)[b]};
    for (int i = 0; i < 2; i++) {
        gq[i] = (double)ROW(g, MOCK_JOINT + i)[b] + (double)ROW(g, MOCK_CART + i)[b];
        gqd[i] = (double)ROW(g, MOCK_JOINT + 2 + i)[b] + (double)ROW(g, MOCK_CART + 2 + i)[b];
    }
    for (int m = 0; m < MOCK_NM; m++) {
        double l, e[2];
        geom(ROW(s, 0), ROW(s, 1), b, m, &l, e);
        double gl = (double)ROW(g, MOCK_MUSCLE + 4 + m)[b] + (double)ROW(g, MOCK_GEOM + m)[b];
        double gv = (double)ROW(g, MOCK_MUSCLE + 8 + m)[b] + (double)ROW(g, MOCK_GEOM + 4 + m)[b];
        double ge[2] = {(double)ROW(g, MOCK_GEOM + 8 + m)[b] + gv * qd[0],
                        (double)ROW(g, MOCK_GEOM + 12 + m)[b] + gv * qd[1]};
        /* d l / d q = e;  d e / d q = (I - e e^T) / l  (symmetric) */
        double edg = e[0] * ge[0] + e[1] * ge[1];
        for (int i = 0; i < 2; i++) {
            gq[i] += gl * e[i] + (ge[i] - e[i] * edg) / l;
            gqd[i] += gv * e[i];
        }
        ga[m] = (double)ROW(g, MOCK_MUSCLE + m)[b] +
                (double)ROW(g, MOCK_MUSCLE + 12 + m)[b] * params[MOCK_P_MUSCLE + 3 * m];
    }
}

/* in: joint0 (4)   out: state (40) */
static void mock_init(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                      const mnet_real *params)
{
    const mnet_real *j = in[0];
    mnet_real *s = out[0];
    for (int b = 0; b < n; b++) {
        for (int r = 0; r < 4; r++)
            ROW(s, MOCK_JOINT + r)[b] = ROW(j, r)[b];
        for (int m = 0; m < MOCK_NM; m++)
            ROW(s, MOCK_MUSCLE + m)[b] = 0;
        derive(s, ld, b, params);
    }
}

/* in: joint0, g_state   out: g_joint0 */
static void mock_init_vjp(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                          const mnet_real *params)
{
    const mnet_real *j = in[0], *g = in[1];
    mnet_real *gj = out[0];
    for (int b = 0; b < n; b++) {
        /* derive_vjp reads q, qd at rows 0..3: the joint0 layout */
        double gq[2], gqd[2], ga[4];
        derive_vjp(j, g, ld, b, params, gq, gqd, ga);
        for (int i = 0; i < 2; i++) {
            ROW(gj, i)[b] = (mnet_real)gq[i];
            ROW(gj, 2 + i)[b] = (mnet_real)gqd[i];
        }
    }
}

/* in: state, action, load   out: next */
static void mock_step(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                      const mnet_real *params)
{
    const mnet_real *s = in[0], *u = in[1], *load = in[2];
    mnet_real *s1 = out[0];
    const double dt = 0.01, mass = params[MOCK_P_MASS], c = params[MOCK_P_DAMPING],
                 tau = params[MOCK_P_TAU];
    for (int b = 0; b < n; b++) {
        double f[2] = {(double)ROW(load, 0)[b] + (double)ROW(load, 2)[b],
                       (double)ROW(load, 1)[b] + (double)ROW(load, 3)[b]};
        for (int m = 0; m < MOCK_NM; m++) {
            double l, e[2];
            geom(ROW(s, 0), ROW(s, 1), b, m, &l, e);
            double a = ROW(s, MOCK_MUSCLE + m)[b];
            double F = a * params[MOCK_P_MUSCLE + 3 * m];
            f[0] -= F * e[0];
            f[1] -= F * e[1];
            ROW(s1, MOCK_MUSCLE + m)[b] = (mnet_real)(a + dt * ((double)ROW(u, m)[b] - a) / tau);
        }
        for (int i = 0; i < 2; i++) {
            double qd = ROW(s, 2 + i)[b];
            double qdd = (f[i] - c * qd) / mass;
            double qd1 = qd + dt * qdd;
            ROW(s1, 2 + i)[b] = (mnet_real)qd1;
            ROW(s1, i)[b] = (mnet_real)((double)ROW(s, i)[b] + dt * qd1);
        }
        derive(s1, ld, b, params);
    }
}

/* in: state, action, load, g_next   out: g_state, g_action, g_load (if
 * out[2] != NULL and with_load) */
static void step_vjp(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                     const mnet_real *params, int with_load)
{
    const mnet_real *s = in[0], *load = in[2], *g1 = in[3];
    mnet_real *gs = out[0], *gu = out[1], *gl = with_load ? out[2] : NULL;
    const double dt = 0.01, mass = params[MOCK_P_MASS], c = params[MOCK_P_DAMPING],
                 tau = params[MOCK_P_TAU];
    (void)load;
    for (int b = 0; b < n; b++) {
        /* next state's q', qd', a' are needed by derive_vjp: recompute them */
        mnet_real s1q[4]; /* q0, q1, qd0, qd1 of the next state, ld 1 */
        double f[2] = {(double)ROW(load, 0)[b] + (double)ROW(load, 2)[b],
                       (double)ROW(load, 1)[b] + (double)ROW(load, 3)[b]};
        double e_old[MOCK_NM][2], l_old[MOCK_NM], F[MOCK_NM];
        for (int m = 0; m < MOCK_NM; m++) {
            geom(ROW(s, 0), ROW(s, 1), b, m, &l_old[m], e_old[m]);
            F[m] = (double)ROW(s, MOCK_MUSCLE + m)[b] * params[MOCK_P_MUSCLE + 3 * m];
            f[0] -= F[m] * e_old[m][0];
            f[1] -= F[m] * e_old[m][1];
        }
        for (int i = 0; i < 2; i++) {
            double qd = ROW(s, 2 + i)[b];
            double qd1 = qd + dt * (f[i] - c * qd) / mass;
            s1q[2 + i] = (mnet_real)qd1;
            s1q[i] = (mnet_real)((double)ROW(s, i)[b] + dt * qd1);
        }
        /* derive_vjp on a one-column view: rows of the next state at ld 1
         * for q, qd; g rows at the caller's ld (column b) */
        double gq1[2], gqd1[2], ga1[4];
        {
            /* derive_vjp indexes s and g with one ld; give it g's column
             * through a local copy of the 40 rows */
            mnet_real gcol[MOCK_NSTATE], scol[4];
            for (int r = 0; r < MOCK_NSTATE; r++)
                gcol[r] = ROW(g1, r)[b];
            for (int r = 0; r < 4; r++)
                scol[r] = s1q[r];
            derive_vjp(scol, gcol, 1, 0, params, gq1, gqd1, ga1);
        }
        /* q' = q + dt qd';  qd' = qd + dt qdd */
        double gq[2], gqd[2], gf[2];
        for (int i = 0; i < 2; i++) {
            double gqd1_tot = gqd1[i] + dt * gq1[i];
            gq[i] = gq1[i];
            double gqdd = dt * gqd1_tot;
            gqd[i] = gqd1_tot - c / mass * gqdd;
            gf[i] = gqdd / mass;
        }
        /* f = -sum F_m e_m(q) + loads */
        for (int r = 0; r < MOCK_NSTATE; r++)
            ROW(gs, r)[b] = 0;
        for (int m = 0; m < MOCK_NM; m++) {
            const double *e = e_old[m];
            double egf = e[0] * gf[0] + e[1] * gf[1];
            /* d(-F e)/dq^T gf = -F (gf - e (e.gf)) / l */
            for (int i = 0; i < 2; i++)
                gq[i] -= F[m] * (gf[i] - e[i] * egf) / l_old[m];
            double gF = -egf;
            double ga = ga1[m] * (1 - dt / tau) + gF * params[MOCK_P_MUSCLE + 3 * m];
            ROW(gs, MOCK_MUSCLE + m)[b] = (mnet_real)ga;
            ROW(gu, m)[b] = (mnet_real)(ga1[m] * dt / tau);
        }
        for (int i = 0; i < 2; i++) {
            ROW(gs, i)[b] = (mnet_real)gq[i];
            ROW(gs, 2 + i)[b] = (mnet_real)gqd[i];
        }
        if (gl)
            for (int i = 0; i < 2; i++) {
                ROW(gl, i)[b] = (mnet_real)gf[i];
                ROW(gl, 2 + i)[b] = (mnet_real)gf[i];
            }
    }
}

static void mock_step_vjp(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                          const mnet_real *params)
{
    step_vjp(n, ld, in, out, params, 1);
}

static void mock_step_vjp_noload(int n, int ld, const mnet_real *const *in,
                                 mnet_real *const *out, const mnet_real *params)
{
    step_vjp(n, ld, in, out, params, 0);
}

/* in: state   out: sense (10) */
static void mock_sense(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                       const mnet_real *params)
{
    const mnet_real *s = in[0];
    mnet_real *o = out[0];
    for (int b = 0; b < n; b++) {
        for (int i = 0; i < 2; i++)
            ROW(o, i)[b] = ROW(s, MOCK_CART + i)[b];
        for (int m = 0; m < MOCK_NM; m++) {
            ROW(o, 2 + m)[b] = ROW(s, MOCK_MUSCLE + 4 + m)[b] / params[MOCK_P_MUSCLE + 3 * m + 1];
            ROW(o, 6 + m)[b] = ROW(s, MOCK_MUSCLE + 8 + m)[b] / params[MOCK_P_MUSCLE + 3 * m + 2];
        }
    }
}

/* in: state   out: points: the mass's position, the cartesian rows (as the
 * compiler's point mass) */
static void mock_points(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                        const mnet_real *params)
{
    (void)params;
    for (int b = 0; b < n; b++)
        for (int i = 0; i < 2; i++)
            ROW(out[0], i)[b] = ROW(in[0], MOCK_CART + i)[b];
}

/* in: state, g_sense   out: g_state */
static void mock_sense_vjp(int n, int ld, const mnet_real *const *in, mnet_real *const *out,
                           const mnet_real *params)
{
    const mnet_real *g = in[1];
    mnet_real *gs = out[0];
    for (int b = 0; b < n; b++) {
        for (int r = 0; r < MOCK_NSTATE; r++)
            ROW(gs, r)[b] = 0;
        for (int i = 0; i < 2; i++)
            ROW(gs, MOCK_CART + i)[b] = ROW(g, i)[b];
        for (int m = 0; m < MOCK_NM; m++) {
            ROW(gs, MOCK_MUSCLE + 4 + m)[b] = ROW(g, 2 + m)[b] / params[MOCK_P_MUSCLE + 3 * m + 1];
            ROW(gs, MOCK_MUSCLE + 8 + m)[b] = ROW(g, 6 + m)[b] / params[MOCK_P_MUSCLE + 3 * m + 2];
        }
    }
}

static const char *const param_names[MOCK_NPARAMS] = {
    "mass",  "damping", "tau",
    "ur.max_force", "ur.l_o", "ur.vmax",
    "ul.max_force", "ul.l_o", "ul.vmax",
    "lr.max_force", "lr.l_o", "lr.vmax",
    "ll.max_force", "ll.l_o", "ll.vmax"};
static const double param_defaults[MOCK_NPARAMS] = {
    1.0, 2.0, 0.05, 20, 2.8, 1.0, 30, 2.9, 1.5, 25, 2.7, 1.2, 35, 3.0, 0.8};
static const char *const muscle_names[MOCK_NM] = {"ur", "ul", "lr", "ll"};
static const int muscle_max_force[MOCK_NM] = {MOCK_P_MUSCLE, MOCK_P_MUSCLE + 3, MOCK_P_MUSCLE + 6,
                                              MOCK_P_MUSCLE + 9};
static const char *const row_names[4] = {"activation", "length", "velocity", "force"};
static const char *const point_names[1] = {"point"};
static const double pos_lower[2] = {-0.4, -0.4}, pos_upper[2] = {0.4, 0.4};

#define MOCK_MODEL(vjp)                                                                     \
    {                                                                                       \
        .abi = MNET_MODEL_ABI, .real_size = (int)sizeof(mnet_real), .name = "mock_pm4",    \
        .source_hash = "0", .n_dof = 2, .space_dim = 2, .n_muscles = MOCK_NM,               \
        .n_muscle_rows = 4, .n_state = MOCK_NSTATE, .joint_offset = MOCK_JOINT,             \
        .cartesian_offset = MOCK_CART, .muscle_offset = MOCK_MUSCLE,                        \
        .geometry_offset = MOCK_GEOM, .n_load = MOCK_NLOAD, .n_sense = MOCK_NSENSE,         \
        .step_size = 0.01, .n_ministeps = 1, .n_params = MOCK_NPARAMS,                      \
        .param_names = param_names, .param_defaults = param_defaults,                       \
        .muscle_names = muscle_names, .muscle_max_force = muscle_max_force,                 \
        .muscle_row_names = row_names, .pos_lower = pos_lower, .pos_upper = pos_upper,      \
        .init = mock_init, .init_vjp = mock_init_vjp, .step = mock_step, .step_vjp = vjp,   \
        .sense = mock_sense, .sense_vjp = mock_sense_vjp, .n_points = 1,                    \
        .point_names = point_names, .points = mock_points                                   \
    }

const mnet_model mnet_mock_pm4 = MOCK_MODEL(mock_step_vjp);
const mnet_model mnet_mock_pm4_noload = MOCK_MODEL(mock_step_vjp_noload);
