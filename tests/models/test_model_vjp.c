/* test_model_vjp.c - every library model's backward functions (step, sense,
 * init and loss VJPs) against central finite differences of its own forward
 * graph. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_util.h"
#include "test_support.h"

static const struct {
    const char *file, *effector;
} models[] = {
    {"models/ReluPointMass24.mnet", "ReluPointMass24"},
    {"models/FreePointMass24.mnet", "FreePointMass24"},
    {"models/RigidTendonArm26.mnet", "RigidTendonArm26"},
    {"tests/models/golden_effectors.mnet", "arm26_thelen"},
    {"tests/models/golden_effectors.mnet", "arm26_mujoco"},
    {"tests/models/golden_effectors.mnet", "pm_path_rk4"},
    {"models/CompliantTendonArm26.mnet", "CompliantTendonArm26"},
    {"models/Reacher.mnet", "Reacher"},
    {"models/arm210.mnet", "arm210"},
    {"examples/user_muscle.mnet", "hill_point_mass"},
    {"examples/three_link.mnet", "three_link_arm"},
};

/* The relative step of the central differences.  The loss rows sum
 * muscle forces of thousands of newtons: a larger step keeps their
 * differences above the rounding of the sums. */
static double fd_step = 1e-6;

/* Checks vjp(fwd) against central differences of fwd.  fwd reads n_in
 * arrays; the VJP reads the same arrays plus the cotangent and writes the
 * gradients of the first n_wrt inputs.  Scalarised: L = sum_k w_k out_k. */
static double check_fn(const mnet_effector *e, const ir_function *fwd, const ir_function *vjp, int n_in,
                       double **in, const int *in_rows, int n_wrt, const double *params, int out_rows,
                       unsigned long long *seed)
{
    const int B = 3;
    double *w = malloc((size_t)out_rows * B * sizeof(double)), *out = malloc((size_t)out_rows * B * sizeof(double));
    for (int k = 0; k < out_rows * B; k++)
        w[k] = tm_uniform(seed, -1, 1);
    double *grads[4];
    const double *vin[6];
    for (int a = 0; a < n_in; a++)
        vin[a] = in[a];
    vin[n_in] = w;
    for (int a = 0; a < n_wrt; a++)
        grads[a] = calloc((size_t)in_rows[a] * B, sizeof(double));
    tm_eval(e, vjp, B, vin, grads, params);
    double worst = 0;
    for (int a = 0; a < n_wrt; a++) {
        double scale = 0, err = 0;
        for (int k = 0; k < in_rows[a] * B; k++)
            if (fabs(grads[a][k]) > scale)
                scale = fabs(grads[a][k]);
        for (int k = 0; k < in_rows[a] * B; k++) {
            /* loads enter one step linearly (through qdd): a larger step
             * keeps the difference above rounding of the weighted sum */
            double x = in[a][k], h = (a == 2 ? 1e-3 : fd_step) * (fabs(x) > 1 ? fabs(x) : 1), lp = 0, lm = 0;
            in[a][k] = x + h;
            tm_eval(e, fwd, B, (const double *const *)in, &out, params);
            for (int r = 0; r < out_rows * B; r++)
                lp += w[r] * out[r];
            in[a][k] = x - h;
            tm_eval(e, fwd, B, (const double *const *)in, &out, params);
            for (int r = 0; r < out_rows * B; r++)
                lm += w[r] * out[r];
            in[a][k] = x;
            /* each element only affects its own batch column: the FD of the
             * whole sum is the gradient of that element */
            double fd = (lp - lm) / (2 * h), d = fabs(fd - grads[a][k]);
            if (d > err)
                err = d;
        }
        double rel = err / (scale > 1e-12 ? scale : 1e-12);
        if (rel > worst)
            worst = rel;
        free(grads[a]);
    }
    free(w);
    free(out);
    return worst;
}

/* The loss rows of tm_compile_with_losses by hand, worst relative error. */
static double check_loss_values(const mnet_effector *e, const double *params, double *state, double *target,
                                int B)
{
    const int P = e->space_dim, M = e->n_muscles, dof = e->n_dof;
    double *out = malloc((size_t)e->n_loss * B * sizeof(double));
    const double *in[] = {state, target};
    tm_eval(e, &e->fn_loss, B, in, &out, params);
    int fmax_at = -1;
    for (int i = 0; i < e->model.n_params; i++)
        if (!strcmp(e->model.param_names[i], "max_force"))
            fmax_at = i;
#define X(row, b) state[(row) * B + (b)]
    double worst = 0;
    for (int b = 0; b < B; b++) {
        double want[6] = {0}, norm2 = 0, fsum = 0;
        for (int i = 0; i < P; i++) {
            double d = X(e->cart_off + i, b) - target[i * B + b], v = X(e->cart_off + P + i, b);
            want[0] += fabs(d);
            want[1] += d * d;
            want[2] += v * v;
            norm2 += d * d;
        }
        for (int m = 0; m < M; m++)
            fsum += params[e->muscles[m].param_base + fmax_at];
        want[5] = sqrt(norm2);
        for (int j = 0; j < dof; j++)
            want[5] += exp(-X(e->joint_off + j, b)) * X(e->joint_off + dof + j, b) * X(e->joint_off + dof + j, b);
        for (int m = 0; m < M; m++) {
            double fm = params[e->muscles[m].param_base + fmax_at];
            double a = X(e->muscle_off + e->model.activation_row * M + m, b);
            double f = X(e->muscle_off + e->model.force_row * M + m, b);
            want[3] += (a * fm / (fsum / M)) * (a * fm / (fsum / M));
            want[4] += f;
            want[5] += f * a / fm + X(e->geom_off + m, b) * X(e->geom_off + M + m, b) / M;
        }
        for (int k = 0; k < 6; k++) {
            double d = fabs(out[k * B + b] - want[k]) / (fabs(want[k]) > 1e-300 ? fabs(want[k]) : 1);
            if (d > worst)
                worst = d;
        }
    }
#undef X
    free(out);
    return worst;
}

static void test_library_vjps(void)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        mnet_compilation *c = tm_compile_with_losses(models[i].file, models[i].effector);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        const mnet_effector *e = c->eff;
        const int B = 3;
        int S = e->n_state, M = e->n_muscles, dof = e->n_dof;
        unsigned long long seed = 0x9e3779b97f4a7c15ULL + i;
        double *params = tm_params(e);
        double *state = calloc((size_t)S * B, sizeof(double));
        /* A generic state: some steps from a random start (the compliant
         * arm's 0.2 ms step needs more to move), but away from the joint
         * limits, where clipping is a kink finite differences cannot see. */
        for (int steps = e->step < 1e-3 ? 40 : 5;; steps--) {
            unsigned long long s0 = seed;
            tm_random_state(e, params, B, steps, &s0, state);
            int inside = 1;
            for (int j = 0; j < dof; j++)
                for (int b = 0; b < B; b++) {
                    double q = state[(e->joint_off + j) * B + b], w = e->pos_hi[j] - e->pos_lo[j];
                    inside &= q > e->pos_lo[j] + 0.02 * w && q < e->pos_hi[j] - 0.02 * w;
                }
            if (inside || steps == 0) {
                seed = s0;
                break;
            }
        }
        double *act = malloc((size_t)M * B * sizeof(double)), *load = malloc((size_t)e->n_load * B * sizeof(double));
        for (int k = 0; k < M * B; k++)
            act[k] = tm_uniform(&seed, 0.1, 0.9);
        for (int k = 0; k < e->n_load * B; k++)
            load[k] = tm_uniform(&seed, -1, 1);
        double *step_in[] = {state, act, load};
        int step_rows[] = {S, M, e->n_load};
        double err_step = check_fn(e, &e->fn_step, &e->fn_step_vjp, 3, step_in, step_rows, 3, params, S, &seed);
        double *sense_in[] = {state};
        int sense_rows[] = {S};
        double err_sense = check_fn(e, &e->fn_sense, &e->fn_sense_vjp, 1, sense_in, sense_rows, 1, params,
                                    e->n_sense, &seed);
        double *j0 = malloc((size_t)2 * dof * B * sizeof(double));
        for (int j = 0; j < dof; j++)
            for (int b = 0; b < B; b++) {
                double lo = e->pos_lo[j], hi = e->pos_hi[j], wd = hi - lo;
                j0[j * B + b] = tm_uniform(&seed, lo + 0.3 * wd, hi - 0.3 * wd);
                j0[(dof + j) * B + b] = tm_uniform(&seed, -0.5, 0.5);
            }
        double *init_in[] = {j0};
        int init_rows[] = {2 * dof};
        double err_init = check_fn(e, &e->fn_init, &e->fn_init_vjp, 1, init_in, init_rows, 1, params, S, &seed);
        /* the loss: six rows (five built-in terms and the written one) */
        CU_ASSERT_EQUAL(e->n_loss, 6);
        double *target = tm_loss_target(e, state, B, &seed);
        double *loss_in[] = {state, target};
        int loss_rows[] = {S, e->space_dim};
        fd_step = 1e-5;
        double err_loss = check_fn(e, &e->fn_loss, &e->fn_loss_vjp, 2, loss_in, loss_rows, 1, params, e->n_loss,
                                   &seed);
        fd_step = 1e-6;
        double err_loss_value = check_loss_values(e, params, state, target, B);
        CU_ASSERT(err_loss_value <= 1e-13);
        if (err_loss_value > 1e-13)
            printf("\n  %s: loss rows differ from the definitions by %.2e", e->name, err_loss_value);
        printf("\n  %-22s step_vjp %.2e  sense_vjp %.2e  init_vjp %.2e  loss_vjp %.2e (max rel err vs central FD)",
               e->name, err_step, err_sense, err_init, err_loss);
        CU_ASSERT(err_step <= 1e-6);
        CU_ASSERT(err_sense <= 1e-6);
        CU_ASSERT(err_init <= 1e-6);
        CU_ASSERT(err_loss <= 1e-6);
        free(target);
        free(params);
        free(state);
        free(act);
        free(load);
        free(j0);
        mnet_compilation_free(c);
    }
}

int main(void)
{
    static const mnet_test tests[] = {{"library VJPs vs finite differences", test_library_vjps}, {NULL, NULL}};
    return mnet_test_main("model_vjp", tests);
}
