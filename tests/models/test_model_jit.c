/* test_model_jit.c - every library model through the LLVM JIT against the
 * interpreter (which the C backend matches bit for bit, test_model_emit):
 * init, step, step VJP, sense, sense VJP, points, loss and loss VJP on random
 * inputs, double and float.  In double the JIT computes the same operations in the same order
 * with the same libm calls, so the results must be identical. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit_model.h"
#include "model_util.h"
#include "test_support.h"

static const struct {
    const char *file, *effector;
} models[] = {
    {"models/ReluPointMass24.mnet", "ReluPointMass24"}, {"models/FreePointMass24.mnet", "FreePointMass24"},
    {"models/RigidTendonArm26.mnet", "RigidTendonArm26"}, {"tests/models/golden_effectors.mnet", "arm26_thelen"},
    {"tests/models/golden_effectors.mnet", "arm26_mujoco"}, {"tests/models/golden_effectors.mnet", "pm_path_rk4"},
    {"models/CompliantTendonArm26.mnet", "CompliantTendonArm26"}, {"models/Reacher.mnet", "Reacher"},
    {"models/arm210.mnet", "arm210"}, {"examples/user_muscle.mnet", "hill_point_mass"},
    {"examples/three_link.mnet", "three_link_arm"},
};


static double worst_single = 0;

/* Compares function `which` of the JIT table with the interpreter. */
static int compare(const mnet_effector *e, const mnet_model *m, int single, const ir_function *f, mnet_fn jf,
                   int n_in, const double *const *in, const int *in_rows, int n_out, const int *out_rows,
                   const double *params, const char *what)
{
    const int B = 5;
    double *ref[4], *got[4];
    for (int a = 0; a < n_out; a++) {
        ref[a] = calloc((size_t)out_rows[a] * B, sizeof(double));
        got[a] = calloc((size_t)out_rows[a] * B, sizeof(double));
    }
    tm_eval(e, f, B, in, ref, params);
    tm_run_fn(jf, single, B, n_in, in, in_rows, n_out, got, out_rows, params, m->n_params);
    int ok = 1;
    for (int a = 0; a < n_out; a++) {
        if (!single) {
            if (memcmp(ref[a], got[a], (size_t)out_rows[a] * B * sizeof(double)) != 0) {
                printf("\n  %s %s: double results differ from the interpreter (max rel %.2e)", e->name, what,
                       mnet_max_rel_err(got[a], ref[a], out_rows[a] * B));
                ok = 0;
            }
        } else {
            double err = mnet_max_rel_err(got[a], ref[a], out_rows[a] * B);
            if (err > worst_single)
                worst_single = err;
            if (err > 1e-3) {
                printf("\n  %s %s: float error %.2e", e->name, what, err);
                ok = 0;
            }
        }
        free(ref[a]);
        free(got[a]);
    }
    return ok;
}

static void test_jit_equals_interpreter(void)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        mnet_compilation *c = tm_compile_with_losses(models[i].file, models[i].effector);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        const mnet_effector *e = c->eff;
        const int B = 5;
        int S = e->n_state, M = e->n_muscles, dof = e->n_dof, L = e->n_load;
        unsigned long long seed = 777 + i;
        double *params = tm_params(e), *state = calloc((size_t)S * B, sizeof(double));
        tm_random_state(e, params, B, 3, &seed, state);
        double *act = malloc((size_t)M * B * sizeof(double)), *load = malloc((size_t)L * B * sizeof(double));
        double *gs = malloc((size_t)S * B * sizeof(double)), *gsense = malloc((size_t)e->n_sense * B * sizeof(double));
        double *j0 = malloc((size_t)2 * dof * B * sizeof(double));
        for (int k = 0; k < M * B; k++)
            act[k] = tm_uniform(&seed, 0.1, 0.9);
        for (int k = 0; k < L * B; k++)
            load[k] = tm_uniform(&seed, -1, 1);
        for (int k = 0; k < S * B; k++)
            gs[k] = tm_uniform(&seed, -1, 1);
        for (int k = 0; k < e->n_sense * B; k++)
            gsense[k] = tm_uniform(&seed, -1, 1);
        for (int k = 0; k < 2 * dof * B; k++)
            j0[k] = state[k]; /* joint rows first in the state */
        const int P = e->space_dim;
        double *target = tm_loss_target(e, state, B, &seed);
        double *gloss = malloc((size_t)e->n_loss * B * sizeof(double));
        for (int k = 0; k < e->n_loss * B; k++)
            gloss[k] = tm_uniform(&seed, -1, 1);
        for (int single = 0; single <= 1; single++) {
            char err[512];
            mnet_jit_model *jm = jit_model_build(e, c->source_hash, single, err, sizeof err);
            CU_ASSERT_PTR_NOT_NULL(jm);
            if (!jm) {
                printf("\n  %s: %s", e->name, err);
                continue;
            }
            const mnet_model *m = jit_model_get(jm);
            CU_ASSERT_EQUAL(m->n_state, S);
            CU_ASSERT_EQUAL(m->real_size, single ? 4 : 8);
            /* every muscle's F_max index names "<muscle>.max_force", as in
             * the C table (test_model_emit checks it against the same names) */
            int with_force = 0;
            CU_ASSERT_EQUAL(tm_check_max_force(m, e->name, &with_force), 0);
            CU_ASSERT_EQUAL(with_force, M);
            const double *in_init[] = {j0}, *in_step[] = {state, act, load}, *in_vjp[] = {state, act, load, gs};
            const double *in_ivjp[] = {j0, gs}, *in_sense[] = {state}, *in_svjp[] = {state, gsense};
            int r_init[] = {2 * dof}, r_state[] = {S}, r_step[] = {S, M, L}, r_vjp[] = {S, M, L, S};
            int r_ivjp[] = {2 * dof, S}, r_sense[] = {e->n_sense}, r_svjp[] = {S, e->n_sense}, r_vjpo[] = {S, M, L};
            int ok = compare(e, m, single, &e->fn_init, m->init, 1, in_init, r_init, 1, r_state, params, "init");
            ok &= compare(e, m, single, &e->fn_init_vjp, m->init_vjp, 2, in_ivjp, r_ivjp, 1, r_init, params,
                          "init_vjp");
            ok &= compare(e, m, single, &e->fn_step, m->step, 3, in_step, r_step, 1, r_state, params, "step");
            ok &= compare(e, m, single, &e->fn_step_vjp, m->step_vjp, 4, in_vjp, r_vjp, 3, r_vjpo, params,
                          "step_vjp");
            ok &= compare(e, m, single, &e->fn_sense, m->sense, 1, in_sense, r_state, 1, r_sense, params, "sense");
            ok &= compare(e, m, single, &e->fn_sense_vjp, m->sense_vjp, 2, in_svjp, r_svjp, 1, r_state, params,
                          "sense_vjp");
            /* the drawing points: the table's count and names are the effector's */
            int r_points[] = {e->n_points * e->space_dim};
            CU_ASSERT_EQUAL(m->n_points, e->n_points);
            CU_ASSERT_PTR_NOT_NULL_FATAL(m->points);
            for (int k = 0; k < e->n_points && k < m->n_points; k++)
                CU_ASSERT_STRING_EQUAL(m->point_names[k], e->point_names[k]);
            ok &= compare(e, m, single, &e->fn_points, m->points, 1, in_sense, r_state, 1, r_points, params,
                          "points");
            /* the loss: the state's own end point offset as the target */
            const double *in_loss[] = {state, target}, *in_lvjp[] = {state, target, gloss};
            int r_loss[] = {S, P}, r_lrows[] = {e->n_loss}, r_lvjp[] = {S, P, e->n_loss};
            CU_ASSERT_EQUAL(m->n_loss, 6);
            CU_ASSERT_STRING_EQUAL(m->loss_names[5], "written");
            ok &= compare(e, m, single, &e->fn_loss, m->loss, 2, in_loss, r_loss, 1, r_lrows, params, "loss");
            ok &= compare(e, m, single, &e->fn_loss_vjp, m->loss_vjp, 3, in_lvjp, r_lvjp, 1, r_state, params,
                          "loss_vjp");
            CU_ASSERT(ok);
            jit_model_free(jm);
        }
        printf("\n  %-22s JIT double identical to the interpreter: checked", e->name);
        free(params);
        free(state);
        free(act);
        free(load);
        free(gs);
        free(gsense);
        free(j0);
        free(target);
        free(gloss);
        mnet_compilation_free(c);
    }
    printf("\n  float: worst relative difference %.2e", worst_single);
}

int main(void)
{
    static const mnet_test tests[] = {{"JIT equals the interpreter on every library model", test_jit_equals_interpreter},
                                      {NULL, NULL}};
    return mnet_test_main("model_jit", tests);
}
