/* test_ir_deriv.c - reverse mode (compiler/ir_deriv.c) against central finite
 * differences, the non-smooth conventions at exact kinks, and the size of the
 * backward graph.
 *
 * Every case is y = f(x0, x1, x2, p) with x rows of input array 0 and p
 * parameter 0; the vjp with a random cotangent s (input array 1) gives
 * s * dy/d(x0, x1, x2, p), evaluated by ir_eval on B random points away from
 * kinks and compared with s * (y(v + h) - y(v - h)) / 2h. */
#include "ir.h"
#include "test_support.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 64, NX = 3, NWRT = NX + 1 };

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static double uniform(double lo, double hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct {
    ir_graph *g;
    ir_id y;            /* the forward output                  */
    ir_id grad[NWRT];   /* s * dy/dx0, dx1, dx2, dp             */
    ir_output outs[1 + NWRT];
    ir_function fy, fgrad;
    int nforward;       /* nodes before the vjp                 */
} deriv_graph;

typedef ir_id (*build_fn)(ir_graph *g, const ir_id *x, ir_id p);

/* Builds y and its vjp; returns 0 on success. */
static int make_deriv_graph(deriv_graph *d, build_fn build)
{
    d->g = ir_new();
    if (!d->g)
        return -1;
    ir_id wrt[NWRT];
    for (int i = 0; i < NX; i++)
        wrt[i] = ir_var(d->g, 0, i);
    wrt[NX] = ir_param(d->g, 0);
    ir_id seed = ir_var(d->g, 1, 0);
    d->y = build(d->g, wrt, wrt[NX]);
    d->nforward = ir_count(d->g);
    if (d->y < 0 || ir_vjp(d->g, 1, &d->y, &seed, NWRT, wrt, d->grad) != 0)
        return -1;
    d->outs[0] = (ir_output){0, 0, d->y};
    for (int j = 0; j < NWRT; j++)
        d->outs[1 + j] = (ir_output){0, j, d->grad[j]};
    d->fy = (ir_function){"y", 2, 1, 1, &d->outs[0]};
    d->fgrad = (ir_function){"grad", 2, 1, NWRT, &d->outs[1]};
    return 0;
}

/* x: (NX, B), s: (B), y: (B) */
static void eval_y(const deriv_graph *d, const double *x, const double *s, double p, double *y)
{
    const double *in[2] = {x, s};
    double *out[1] = {y};
    ir_eval(d->g, &d->fy, B, B, in, out, &p);
}

/* grad: (NWRT, B) */
static void eval_grad(const deriv_graph *d, const double *x, const double *s, double p,
                      double *grad)
{
    const double *in[2] = {x, s};
    double *out[1] = {grad};
    ir_eval(d->g, &d->fgrad, B, B, in, out, &p);
}

/*---------------------------------------------------------------------------
 * Finite-difference cases: every op, away from its kinks
 *---------------------------------------------------------------------------*/

typedef struct {
    const char *name;
    build_fn build;
    double lo[NX], hi[NX]; /* sampling box of x0, x1, x2 */
    double min_gap;        /* reject points with |x0 - x1| < min_gap (ties) */
    double min_abs;        /* reject points with |x0| < min_abs (abs at 0)   */
} fd_case;

static ir_id b_neg(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_neg(g, ir_mul(g, x[0], x[1])); }
static ir_id b_add(ir_graph *g, const ir_id *x, ir_id p) { return ir_add(g, ir_add(g, x[0], x[1]), p); }
static ir_id b_sub(ir_graph *g, const ir_id *x, ir_id p) { return ir_sub(g, ir_sub(g, x[0], x[1]), p); }
static ir_id b_mul(ir_graph *g, const ir_id *x, ir_id p) { return ir_mul(g, ir_mul(g, x[0], x[1]), p); }
static ir_id b_square(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_mul(g, x[0], x[0]); }
static ir_id b_div(ir_graph *g, const ir_id *x, ir_id p) { return ir_div(g, ir_mul(g, x[0], p), x[1]); }
static ir_id b_pow(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_binary(g, IR_POW, x[0], x[1]); }
static ir_id b_pow_real(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_binary(g, IR_POW, x[0], ir_const(g, 2.5)); }
static ir_id b_pow_param(ir_graph *g, const ir_id *x, ir_id p) { return ir_binary(g, IR_POW, x[0], p); }
static ir_id b_powi5(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_binary(g, IR_POW, x[0], ir_const(g, 5)); }
static ir_id b_powi_m3(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_powi(g, x[0], -3); }
static ir_id b_pow_big(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_binary(g, IR_POW, x[0], ir_const(g, 11)); }
static ir_id unary_of(ir_graph *g, ir_op op, const ir_id *x, ir_id p) { return ir_unary(g, op, ir_mul(g, x[0], p)); }
static ir_id b_exp(ir_graph *g, const ir_id *x, ir_id p) { return unary_of(g, IR_EXP, x, p); }
static ir_id b_log(ir_graph *g, const ir_id *x, ir_id p) { return unary_of(g, IR_LOG, x, p); }
static ir_id b_sqrt(ir_graph *g, const ir_id *x, ir_id p) { return unary_of(g, IR_SQRT, x, p); }
static ir_id b_sin(ir_graph *g, const ir_id *x, ir_id p) { return unary_of(g, IR_SIN, x, p); }
static ir_id b_cos(ir_graph *g, const ir_id *x, ir_id p) { return unary_of(g, IR_COS, x, p); }
static ir_id b_tanh(ir_graph *g, const ir_id *x, ir_id p) { return unary_of(g, IR_TANH, x, p); }
static ir_id b_sigmoid(ir_graph *g, const ir_id *x, ir_id p) { return unary_of(g, IR_SIGMOID, x, p); }
static ir_id b_abs(ir_graph *g, const ir_id *x, ir_id p) { return unary_of(g, IR_ABS, x, p); }
static ir_id b_min(ir_graph *g, const ir_id *x, ir_id p) { return ir_mul(g, ir_binary(g, IR_MIN, x[0], x[1]), p); }
static ir_id b_max(ir_graph *g, const ir_id *x, ir_id p) { return ir_mul(g, ir_binary(g, IR_MAX, x[0], x[1]), p); }
static ir_id b_clamp(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_clamp(g, x[0], x[1], x[2]); }
static ir_id b_clamp_param(ir_graph *g, const ir_id *x, ir_id p) { return ir_clamp(g, x[0], ir_neg(g, p), p); }
static ir_id b_select(ir_graph *g, const ir_id *x, ir_id p)
{
    return ir_select(g, ir_binary(g, IR_LT, x[0], x[1]), ir_mul(g, x[0], x[2]),
                     ir_unary(g, IR_SIN, ir_mul(g, x[1], p)));
}
/* y = cmp(x0, x1) * x2 + x0: dx0 = 1, dx1 = 0, dx2 = cmp */
static ir_id cmp_case(ir_graph *g, ir_op op, const ir_id *x)
{
    return ir_add(g, ir_mul(g, ir_binary(g, op, x[0], x[1]), x[2]), x[0]);
}
static ir_id b_lt(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return cmp_case(g, IR_LT, x); }
static ir_id b_le(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return cmp_case(g, IR_LE, x); }
static ir_id b_gt(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return cmp_case(g, IR_GT, x); }
static ir_id b_ge(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return cmp_case(g, IR_GE, x); }
static ir_id b_eq(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return cmp_case(g, IR_EQ, x); }
static ir_id b_ne(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return cmp_case(g, IR_NE, x); }
static ir_id b_logic(ir_graph *g, const ir_id *x, ir_id p)
{
    ir_id zero = ir_const(g, 0);
    ir_id a = ir_binary(g, IR_LT, x[0], zero), b = ir_binary(g, IR_LT, x[1], zero);
    ir_id l = ir_add(g, ir_binary(g, IR_AND, a, b),
                     ir_add(g, ir_binary(g, IR_OR, a, b), ir_unary(g, IR_NOT, a)));
    return ir_add(g, ir_mul(g, l, ir_mul(g, x[2], p)), x[0]);
}

/* A muscle-like composite: active force-length (Gaussian), force-velocity
 * (tanh), a passive exponential, activation by sigmoid, clipped length,
 * reciprocal and square root, sharing subexpressions. */
static ir_id b_composite(ir_graph *g, const ir_id *x, ir_id p)
{
    ir_id one = ir_const(g, 1);
    ir_id l = ir_clamp(g, x[0], ir_const(g, 0.2), ir_const(g, 1.8)); /* normalised length */
    ir_id dl = ir_div(g, ir_sub(g, l, one), ir_const(g, 0.45));
    ir_id fl = ir_unary(g, IR_EXP, ir_neg(g, ir_powi(g, dl, 2)));
    ir_id fv = ir_add(g, one, ir_unary(g, IR_TANH, ir_mul(g, x[1], p)));
    ir_id act = ir_unary(g, IR_SIGMOID, x[2]);
    ir_id passive = ir_mul(g, ir_sub(g, ir_unary(g, IR_EXP, ir_mul(g, ir_const(g, 4), ir_sub(g, l, one))), one),
                           ir_const(g, 0.1));
    ir_id f = ir_add(g, ir_mul(g, ir_mul(g, act, fl), fv), ir_binary(g, IR_MAX, passive, ir_const(g, 0)));
    ir_id r = ir_div(g, f, ir_unary(g, IR_SQRT, ir_add(g, ir_mul(g, l, l), one)));
    ir_id w = ir_binary(g, IR_POW, ir_add(g, act, one), ir_unary(g, IR_SIN, l));
    return ir_add(g, ir_mul(g, r, w), ir_unary(g, IR_LOG, ir_add(g, fl, one)));
}

static const fd_case fd_cases[] = {
    /* name        build          lo of x0,x1,x2     hi of x0,x1,x2   gap  abs */
    {"neg", b_neg, {-2, -2, -2}, {2, 2, 2}, 0, 0},
    {"add", b_add, {-2, -2, -2}, {2, 2, 2}, 0, 0},
    {"sub", b_sub, {-2, -2, -2}, {2, 2, 2}, 0, 0},
    {"mul", b_mul, {-2, -2, -2}, {2, 2, 2}, 0, 0},
    {"mul_same", b_square, {-2, -2, -2}, {2, 2, 2}, 0, 0},
    {"div", b_div, {-2, 0.5, -2}, {2, 2, 2}, 0, 0},
    {"pow", b_pow, {0.3, -2, 0}, {2, 2, 1}, 0, 0},
    {"pow_real_const", b_pow_real, {0.3, 0, 0}, {2, 1, 1}, 0, 0},
    {"pow_param", b_pow_param, {0.3, 0, 0}, {2, 1, 1}, 0, 0},
    {"pow_int5", b_powi5, {-2, 0, 0}, {2, 1, 1}, 0, 0},
    {"powi_minus3", b_powi_m3, {0.5, 0, 0}, {2, 1, 1}, 0, 0},
    {"pow_int11", b_pow_big, {-1.5, 0, 0}, {1.5, 1, 1}, 0, 0},
    {"exp", b_exp, {-2, 0, 0}, {2, 1, 1}, 0, 0},
    {"log", b_log, {0.2, 0, 0}, {3, 1, 1}, 0, 0},
    {"sqrt", b_sqrt, {0.2, 0, 0}, {3, 1, 1}, 0, 0},
    {"sin", b_sin, {-3, 0, 0}, {3, 1, 1}, 0, 0},
    {"cos", b_cos, {-3, 0, 0}, {3, 1, 1}, 0, 0},
    {"tanh", b_tanh, {-2, 0, 0}, {2, 1, 1}, 0, 0},
    {"sigmoid", b_sigmoid, {-4, 0, 0}, {4, 1, 1}, 0, 0},
    {"abs", b_abs, {-2, 0, 0}, {2, 1, 1}, 0, 0.05},
    {"min", b_min, {-2, -2, 0}, {2, 2, 1}, 0.05, 0},
    {"max", b_max, {-2, -2, 0}, {2, 2, 1}, 0.05, 0},
    {"clamp", b_clamp, {-2, -1, 0.5}, {2, -0.5, 1}, 0, 0},
    {"clamp_param", b_clamp_param, {-2, 0, 0}, {2, 1, 1}, 0, 0},
    {"select", b_select, {-2, -2, -2}, {2, 2, 2}, 0.05, 0},
    {"lt", b_lt, {-2, -2, -2}, {2, 2, 2}, 0.05, 0},
    {"le", b_le, {-2, -2, -2}, {2, 2, 2}, 0.05, 0},
    {"gt", b_gt, {-2, -2, -2}, {2, 2, 2}, 0.05, 0},
    {"ge", b_ge, {-2, -2, -2}, {2, 2, 2}, 0.05, 0},
    {"eq", b_eq, {-2, -2, -2}, {2, 2, 2}, 0.05, 0},
    {"ne", b_ne, {-2, -2, -2}, {2, 2, 2}, 0.05, 0},
    {"and_or_not", b_logic, {-2, -2, -2}, {2, 2, 2}, 0, 0.05},
    {"composite", b_composite, {0, -2, -3}, {2, 2, 3}, 0, 0},
};

/* Distance of a point from the clamp bounds of the cases that clamp. */
static int near_clamp_kink(const fd_case *c, const double *x, int b, double p)
{
    double v = x[b];
    if (c->build == b_clamp)
        return fabs(v - x[B + b]) < 0.05 || fabs(v - x[2 * B + b]) < 0.05;
    if (c->build == b_clamp_param)
        return fabs(fabs(v) - p) < 0.05;
    if (c->build == b_composite) /* clamp at 0.2 and 1.8, max(passive, 0) at l = 1 */
        return fabs(v - 0.2) < 0.05 || fabs(v - 1.8) < 0.05 || fabs(v - 1) < 0.05;
    return 0;
}

/* Max over points and inputs of |analytic - fd| / (1 + |analytic|). */
static double fd_check(const fd_case *c)
{
    deriv_graph d;
    if (make_deriv_graph(&d, c->build) != 0) {
        ir_free(d.g);
        return INFINITY;
    }
    double x[NX * B], s[B], grad[NWRT * B], xp[NX * B], yp[B], ym[B];
    double p = uniform(0.5, 1.5);
    for (int b = 0; b < B; b++) {
        for (;;) {
            for (int i = 0; i < NX; i++)
                x[i * B + b] = uniform(c->lo[i], c->hi[i]);
            if (fabs(x[b] - x[B + b]) < c->min_gap || fabs(x[b]) < c->min_abs ||
                (c->build == b_logic && fabs(x[B + b]) < c->min_abs) ||
                near_clamp_kink(c, x, b, p))
                continue;
            break;
        }
        s[b] = uniform(-2, 2);
    }
    eval_grad(&d, x, s, p, grad);

    double err = 0;
    for (int i = 0; i < NWRT; i++) {
        double hstep[B];
        if (i < NX) {
            for (int sign = 1; sign >= -1; sign -= 2) {
                memcpy(xp, x, sizeof(x));
                for (int b = 0; b < B; b++) {
                    double h = 1e-6 * (1 + fabs(x[i * B + b]));
                    xp[i * B + b] = x[i * B + b] + sign * h;
                }
                eval_y(&d, xp, s, p, sign > 0 ? yp : ym);
                for (int b = 0; b < B; b++) /* the step actually taken */
                    hstep[b] = sign > 0 ? xp[i * B + b] : hstep[b] - xp[i * B + b];
            }
        } else {
            double h = 1e-6 * (1 + fabs(p));
            eval_y(&d, x, s, (p + h), yp);
            eval_y(&d, x, s, (p - h), ym);
            for (int b = 0; b < B; b++)
                hstep[b] = (p + h) - (p - h);
        }
        for (int b = 0; b < B; b++) {
            double fd = s[b] * (yp[b] - ym[b]) / hstep[b];
            double an = grad[i * B + b];
            double e = fabs(an - fd) / (1 + fabs(an));
            if (!(e <= err)) {
                err = isnan(e) ? INFINITY : e;
                if (e > 1e-6)
                    fprintf(stderr, "  %s: d/d%s%d at b=%d: vjp %.10g, fd %.10g\n", c->name,
                            i < NX ? "x" : "p", i < NX ? i : 0, b, an, fd);
            }
        }
    }
    ir_free(d.g);
    return err;
}

static void test_every_op_vs_fd(void)
{
    double worst = 0;
    const char *worst_name = "";
    printf("\n");
    for (size_t k = 0; k < sizeof(fd_cases) / sizeof(fd_cases[0]); k++) {
        double err = fd_check(&fd_cases[k]);
        printf("  %-15s max |vjp - fd| / (1 + |vjp|) = %.2e\n", fd_cases[k].name, err);
        CU_ASSERT(err < 1e-6);
        if (!(err <= worst)) {
            worst = err;
            worst_name = fd_cases[k].name;
        }
    }
    printf("  worst: %s %.2e\n", worst_name, worst);
}

/* Every op appears in the cases above. */
static void test_every_op_covered(void)
{
    int seen[IR_NOPS] = {0};
    for (size_t k = 0; k < sizeof(fd_cases) / sizeof(fd_cases[0]); k++) {
        deriv_graph d;
        d.g = NULL;
        CU_ASSERT_FATAL(make_deriv_graph(&d, fd_cases[k].build) == 0);
        for (int id = 0; id < d.nforward; id++)
            seen[ir_get(d.g, id)->op] = 1;
        ir_free(d.g);
    }
    for (int op = 0; op < IR_NOPS; op++) {
        if (!seen[op])
            fprintf(stderr, "  op %s not covered\n", ir_op_name((ir_op)op));
        CU_ASSERT(seen[op]);
    }
}

/*---------------------------------------------------------------------------
 * Conventions at exact kinks, against hand-computed values
 *---------------------------------------------------------------------------*/

/* Evaluates s * dy/d(x0, x1, x2) at one point (batch element 0). */
static void grad_at(build_fn build, double x0, double x1, double x2, double s0, double *grad)
{
    deriv_graph d;
    CU_ASSERT_FATAL(make_deriv_graph(&d, build) == 0);
    double x[NX * B] = {0}, s[B] = {0}, all[NWRT * B];
    x[0] = x0;
    x[B] = x1;
    x[2 * B] = x2;
    s[0] = s0;
    eval_grad(&d, x, s, 1.0, all);
    for (int i = 0; i < NWRT; i++)
        grad[i] = all[i * B];
    ir_free(d.g);
}

static ir_id b_min_plain(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_binary(g, IR_MIN, x[0], x[1]); }
static ir_id b_max_plain(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_binary(g, IR_MAX, x[0], x[1]); }
static ir_id b_relu(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_binary(g, IR_MAX, x[0], ir_const(g, 0)); }
static ir_id b_abs_plain(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_unary(g, IR_ABS, x[0]); }
static ir_id b_select_var(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_select(g, x[2], x[0], x[1]); }
static ir_id b_clamp_self(ir_graph *g, const ir_id *x, ir_id p) { (void)p; return ir_clamp(g, x[0], x[0], x[1]); }

#define CHECK_GRAD(g0, g1, g2, w0, w1, w2)                                           \
    do {                                                                             \
        CU_ASSERT_EQUAL((g0), (w0));                                                 \
        CU_ASSERT_EQUAL((g1), (w1));                                                 \
        CU_ASSERT_EQUAL((g2), (w2));                                                 \
    } while (0)

static void test_kink_conventions(void)
{
    double gr[NWRT];
    const double s = 1.5;
    /* clamp(x, lo=-1, hi=1): x inclusive at both bounds, lo below, hi above */
    grad_at(b_clamp, -1.0, -1.0, 1.0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
    grad_at(b_clamp, 1.0, -1.0, 1.0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
    grad_at(b_clamp, 0.25, -1.0, 1.0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
    grad_at(b_clamp, -2.0, -1.0, 1.0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], 0, s, 0);
    grad_at(b_clamp, 2.0, -1.0, 1.0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], 0, 0, s);
    /* lo == hi == x: x still gets it all (inclusive) */
    grad_at(b_clamp, 0.5, 0.5, 0.5, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
    /* clamp(x, x, hi) kept as a clamp: x gets it up to and including hi */
    grad_at(b_clamp_self, 0.5, 0.5, 0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
    grad_at(b_clamp_self, 0.7, 0.5, 0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], 0, s, 0);
    /* min / max: a tie splits half and half, otherwise the winner takes all */
    grad_at(b_min_plain, 0.5, 0.5, 0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], 0.5 * s, 0.5 * s, 0);
    grad_at(b_min_plain, 0.25, 0.5, 0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
    grad_at(b_min_plain, 0.75, 0.5, 0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], 0, s, 0);
    grad_at(b_max_plain, 0.5, 0.5, 0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], 0.5 * s, 0.5 * s, 0);
    grad_at(b_max_plain, 0.25, 0.5, 0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], 0, s, 0);
    grad_at(b_max_plain, 0.75, 0.5, 0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
    /* relu as max(x, 0): half at 0 */
    grad_at(b_relu, 0.0, 0, 0, s, gr);
    CU_ASSERT_EQUAL(gr[0], 0.5 * s);
    grad_at(b_relu, -0.0, 0, 0, s, gr);
    CU_ASSERT_EQUAL(gr[0], 0.5 * s);
    grad_at(b_relu, -1e-300, 0, 0, s, gr);
    CU_ASSERT_EQUAL(gr[0], 0);
    /* abs: sign(x), 0 at 0 */
    grad_at(b_abs_plain, 0.0, 0, 0, s, gr);
    CU_ASSERT_EQUAL(gr[0], 0);
    grad_at(b_abs_plain, -0.25, 0, 0, s, gr);
    CU_ASSERT_EQUAL(gr[0], -s);
    grad_at(b_abs_plain, 1e-300, 0, 0, s, gr);
    CU_ASSERT_EQUAL(gr[0], s);
    /* select: chosen branch only, none to the condition */
    grad_at(b_select_var, 0.3, 0.7, 1.0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
    grad_at(b_select_var, 0.3, 0.7, 0.0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], 0, s, 0);
    grad_at(b_select_var, 0.3, 0.7, -2.0, s, gr); /* any nonzero is true */
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
    /* comparisons at a tie: zero gradient, whatever the value */
    grad_at(b_le, 0.5, 0.5, 2.0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, s);
    grad_at(b_lt, 0.5, 0.5, 2.0, s, gr);
    CHECK_GRAD(gr[0], gr[1], gr[2], s, 0, 0);
}

/*---------------------------------------------------------------------------
 * Structure: seeds, several outputs, independent inputs, size
 *---------------------------------------------------------------------------*/

static void test_structure(void)
{
    ir_graph *g = ir_new();
    ir_id x = ir_var(g, 0, 0), y = ir_var(g, 0, 1), z = ir_var(g, 0, 2), p = ir_param(g, 0);
    ir_id s0 = ir_var(g, 1, 0), s1 = ir_var(g, 1, 1);
    ir_id u = ir_mul(g, x, y), v = ir_unary(g, IR_SIN, x);
    ir_id outs[3] = {u, v, u}; /* u twice: its seeds add */
    ir_id seeds[3] = {s0, s1, s1};
    ir_id wrt[4] = {x, y, z, p};
    ir_id gr[4];
    CU_ASSERT_FATAL(ir_vjp(g, 3, outs, seeds, 4, wrt, gr) == 0);
    /* independent inputs get the constant 0 node */
    CU_ASSERT(ir_get(g, gr[2])->op == IR_CONST && ir_get(g, gr[2])->value == 0);
    CU_ASSERT(ir_get(g, gr[3])->op == IR_CONST && ir_get(g, gr[3])->value == 0);
    /* dy = (s0 + s1) x, dx = (s0 + s1) y + s1 cos(x) */
    ir_output o[2] = {{0, 0, gr[0]}, {0, 1, gr[1]}};
    ir_function f = {"g", 2, 1, 2, o};
    double in0[3] = {0.3, -1.1, 5}, in1[2] = {0.7, -0.4}, res[2], par = 2;
    const double *in[2] = {in0, in1};
    double *out[1] = {res};
    ir_eval(g, &f, 1, 1, in, out, &par);
    CU_ASSERT(fabs(res[0] - ((0.7 - 0.4) * -1.1 + -0.4 * cos(0.3))) < 1e-15);
    CU_ASSERT(fabs(res[1] - (0.7 - 0.4) * 0.3) < 1e-15);

    /* a zero seed builds nothing for that output */
    ir_id zero = ir_const(g, 0);
    ir_id w = ir_unary(g, IR_EXP, ir_mul(g, y, z));
    int before = ir_count(g);
    ir_id gz[3];
    CU_ASSERT(ir_vjp(g, 1, &w, &zero, 3, wrt, gz) == 0);
    CU_ASSERT(ir_count(g) == before);
    CU_ASSERT(gz[0] == zero && gz[1] == zero && gz[2] == zero);

    /* d/dx of x is the seed itself, no new node */
    before = ir_count(g);
    ir_id gx;
    CU_ASSERT(ir_vjp(g, 1, &x, &s0, 1, &x, &gx) == 0 && gx == s0);
    CU_ASSERT(ir_count(g) == before);

    /* wrt an intermediate node: its adjoint */
    ir_id t = ir_add(g, x, y), q = ir_mul(g, t, t);
    ir_id gt;
    CU_ASSERT(ir_vjp(g, 1, &q, &s0, 1, &t, &gt) == 0);
    ir_output ot = {0, 0, gt};
    ir_function ft = {"gt", 2, 1, 1, &ot};
    ir_eval(g, &ft, 1, 1, in, out, &par);
    CU_ASSERT(fabs(res[0] - 2 * 0.7 * (0.3 - 1.1)) < 1e-15);

    /* pow with a constant exponent: no log(a) branch for the exponent */
    ir_id pw = ir_binary(g, IR_POW, x, ir_const(g, 2.5)), gp;
    before = ir_count(g);
    CU_ASSERT(ir_vjp(g, 1, &pw, &s0, 1, &x, &gp) == 0);
    for (int id = before; id < ir_count(g); id++)
        CU_ASSERT(ir_get(g, id)->op != IR_LOG);

    /* bad ids */
    ir_id bad = 1 << 29, gb[1];
    CU_ASSERT(ir_vjp(g, 1, &bad, &s0, 1, &x, gb) == -1 && gb[0] == -1);
    CU_ASSERT(ir_vjp(g, 1, &u, &s0, 1, &bad, gb) == -1);
    ir_free(g);
}

/* A chain of n mixed ops: builds forward, then vjp; returns backward/forward. */
static double chain_ratio(int n, int *nforward, int *nbackward)
{
    ir_graph *g = ir_new();
    ir_id x = ir_var(g, 0, 0), y = ir_var(g, 0, 1), p = ir_param(g, 0);
    ir_id acc = x;
    for (int i = 0; i < n; i++) {
        ir_id k = ir_const(g, 0.5 + 0.001 * i);
        switch (i % 12) {
        case 0: acc = ir_mul(g, acc, y); break;
        case 1: acc = ir_unary(g, IR_SIN, acc); break;
        case 2: acc = ir_add(g, acc, ir_mul(g, k, p)); break;
        case 3: acc = ir_div(g, acc, ir_add(g, y, k)); break;
        case 4: acc = ir_unary(g, IR_TANH, acc); break;
        case 5: acc = ir_binary(g, IR_MAX, acc, ir_mul(g, k, y)); break;
        case 6: acc = ir_unary(g, IR_EXP, acc); break;
        case 7: acc = ir_clamp(g, acc, ir_neg(g, p), p); break;
        case 8: acc = ir_unary(g, IR_SIGMOID, acc); break;
        case 9: acc = ir_binary(g, IR_POW, acc, k); break;
        case 10: acc = ir_select(g, ir_binary(g, IR_LT, acc, y), acc, ir_mul(g, acc, k)); break;
        default: acc = ir_unary(g, IR_SQRT, ir_add(g, ir_mul(g, acc, acc), k)); break;
        }
    }
    *nforward = ir_count(g);
    ir_id seed = ir_var(g, 1, 0), wrt[3] = {x, y, p}, gr[3];
    CU_ASSERT(ir_vjp(g, 1, &acc, &seed, 3, wrt, gr) == 0);
    *nbackward = ir_count(g) - *nforward;
    ir_free(g);
    return (double)*nbackward / *nforward;
}

static void test_backward_size(void)
{
    int nf, nb;
    double r = chain_ratio(1000, &nf, &nb);
    printf("\n  chain of 1000 ops: forward %d nodes, backward %d nodes, ratio %.2f\n", nf, nb, r);
    CU_ASSERT(r < 4);
    /* linear, not worse: the ratio does not grow with the chain */
    double r_big = chain_ratio(100000, &nf, &nb);
    printf("  chain of 100000 ops: forward %d nodes, backward %d nodes, ratio %.2f\n", nf, nb,
           r_big);
    CU_ASSERT(r_big < 4 && fabs(r_big - r) < 0.1);
}

static const mnet_test tests[] = {
    {"every_op_vs_fd", test_every_op_vs_fd},
    {"every_op_covered", test_every_op_covered},
    {"kink_conventions", test_kink_conventions},
    {"structure", test_structure},
    {"backward_size", test_backward_size},
    {NULL, NULL},
};

int main(void)
{
    return mnet_test_main("ir_deriv", tests);
}
