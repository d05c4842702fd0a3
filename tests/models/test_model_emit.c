/* test_model_emit.c - every library model emitted as C in both precisions,
 * compiled with gcc and clang under -Wall -Wextra -Werror, loaded and run:
 * its functions must agree with the interpreter of the same graph (step,
 * step_vjp, loss, loss_vjp; points bit for bit in double), and with the
 * JIT's table bit for bit in both precisions (every function, on a batch
 * that fills the JIT's vectors and leaves a rest; in float, sin, cos and
 * exp are the emitters' own straight-line functions, ir_vmath.h). */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit_model.h"
#include "mnet_model.h"
#include "model_util.h"
#include "test_support.h"

static const struct {
    const char *file, *effector;
} models[] = {
    {"models/ReluPointMass24.mnet", "ReluPointMass24"}, {"models/FreePointMass24.mnet", "FreePointMass24"},
    {"models/RigidTendonArm26.mnet", "RigidTendonArm26"}, {"tests/models/golden_effectors.mnet", "arm26_mujoco"},
    {"models/CompliantTendonArm26.mnet", "CompliantTendonArm26"}, {"models/Reacher.mnet", "Reacher"},
    {"models/arm210.mnet", "arm210"}, {"examples/user_muscle.mnet", "hill_point_mass"},
};

/* The inputs of the bit-for-bit comparison of the C and the JIT: a batch of
 * BB columns (2 vectors of 8 floats and 5 more; 5 vectors of 4 doubles and
 * 1 more), random states and cotangents; the loss's and its VJP's too. */
enum { BB = 21 };
typedef struct {
    double *state, *act, *load, *gnext, *j0, *gsense, *target, *gloss;
} bb_inputs;

static void bb_make(const mnet_effector *e, const double *params, unsigned long long *seed, bb_inputs *v)
{
    int S = e->n_state, M = e->n_muscles, D = e->n_dof;
    v->state = calloc((size_t)S * BB, sizeof(double));
    tm_random_state(e, params, BB, 3, seed, v->state);
    v->act = malloc((size_t)M * BB * sizeof(double));
    v->load = malloc((size_t)e->n_load * BB * sizeof(double));
    v->gnext = malloc((size_t)S * BB * sizeof(double));
    v->j0 = malloc((size_t)2 * D * BB * sizeof(double));
    v->gsense = malloc((size_t)e->n_sense * BB * sizeof(double));
    v->gloss = malloc((size_t)e->n_loss * BB * sizeof(double));
    for (int k = 0; k < M * BB; k++)
        v->act[k] = tm_uniform(seed, 0.1, 0.9);
    for (int k = 0; k < e->n_load * BB; k++)
        v->load[k] = tm_uniform(seed, -1, 1);
    for (int k = 0; k < S * BB; k++)
        v->gnext[k] = tm_uniform(seed, -1, 1);
    for (int k = 0; k < 2 * D * BB; k++)
        v->j0[k] = v->state[k]; /* the joint rows come first in the state */
    for (int k = 0; k < e->n_sense * BB; k++)
        v->gsense[k] = tm_uniform(seed, -1, 1);
    for (int k = 0; k < e->n_loss * BB; k++)
        v->gloss[k] = tm_uniform(seed, -1, 1);
    v->target = tm_loss_target(e, v->state, BB, seed);
}

static void bb_free(bb_inputs *v)
{
    free(v->state);
    free(v->act);
    free(v->load);
    free(v->gnext);
    free(v->j0);
    free(v->gsense);
    free(v->target);
    free(v->gloss);
}

/* Function f of two tables on the same inputs: the number of output
 * elements whose bits differ (outputs widened to double; any NaN equals any
 * NaN). */
static long bb_differ(mnet_fn fc, mnet_fn fj, int single, int n_in, const double *const *in, const int *in_rows,
                      int n_out, const int *out_rows, const double *params, int n_params)
{
    double *oc[3], *oj[3];
    for (int a = 0; a < n_out; a++) {
        oc[a] = calloc((size_t)out_rows[a] * BB, sizeof(double));
        oj[a] = calloc((size_t)out_rows[a] * BB, sizeof(double));
    }
    tm_run_fn(fc, single, BB, n_in, in, in_rows, n_out, oc, out_rows, params, n_params);
    tm_run_fn(fj, single, BB, n_in, in, in_rows, n_out, oj, out_rows, params, n_params);
    long differ = 0;
    for (int a = 0; a < n_out; a++) {
        for (int k = 0; k < out_rows[a] * BB; k++)
            differ += memcmp(&oc[a][k], &oj[a][k], sizeof(double)) != 0 && !(isnan(oc[a][k]) && isnan(oj[a][k]));
        free(oc[a]);
        free(oj[a]);
    }
    return differ;
}

/* Every function of the C table c against the JIT table j: bit for bit. */
static long bb_compare(const mnet_effector *e, const mnet_model *c, const mnet_model *j, int single,
                       const bb_inputs *v, const double *params)
{
    int S = e->n_state, M = e->n_muscles, L = e->n_load, P = e->space_dim, NL = e->n_loss;
    int D2 = 2 * e->n_dof, NS = e->n_sense, NP = e->n_points * P, np = e->n_params;
    const double *i_step[] = {v->state, v->act, v->load}, *i_vjp[] = {v->state, v->act, v->load, v->gnext};
    const double *i_init[] = {v->j0}, *i_ivjp[] = {v->j0, v->gnext}, *i_s[] = {v->state};
    const double *i_svjp[] = {v->state, v->gsense}, *i_loss[] = {v->state, v->target};
    const double *i_lvjp[] = {v->state, v->target, v->gloss};
    int r_step[] = {S, M, L}, r_vjp[] = {S, M, L, S}, r_s[] = {S}, r_init[] = {D2}, r_ivjp[] = {D2, S};
    int r_sense[] = {NS}, r_svjp[] = {S, NS}, r_loss[] = {S, P}, r_l[] = {NL}, r_lvjp[] = {S, P, NL};
    int r_pts[] = {NP};
    long d = 0;
    d += bb_differ(c->step, j->step, single, 3, i_step, r_step, 1, r_s, params, np);
    d += bb_differ(c->step_vjp, j->step_vjp, single, 4, i_vjp, r_vjp, 3, r_step, params, np);
    d += bb_differ(c->init, j->init, single, 1, i_init, r_init, 1, r_s, params, np);
    d += bb_differ(c->init_vjp, j->init_vjp, single, 2, i_ivjp, r_ivjp, 1, r_init, params, np);
    d += bb_differ(c->sense, j->sense, single, 1, i_s, r_s, 1, r_sense, params, np);
    d += bb_differ(c->sense_vjp, j->sense_vjp, single, 2, i_svjp, r_svjp, 1, r_s, params, np);
    d += bb_differ(c->loss, j->loss, single, 2, i_loss, r_loss, 1, r_l, params, np);
    d += bb_differ(c->loss_vjp, j->loss_vjp, single, 3, i_lvjp, r_lvjp, 1, r_s, params, np);
    d += bb_differ(c->points, j->points, single, 1, i_s, r_s, 1, r_pts, params, np);
    return d;
}

static int have(const char *cc)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", cc);
    return system(cmd) == 0;
}


static void test_emit_compile_run(void)
{
    static const char *const compilers[] = {"gcc", "clang"};
    char dir[] = "/tmp/mnet_emit_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        mnet_compilation *c = tm_compile_with_losses(models[i].file, models[i].effector);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        const mnet_effector *e = c->eff;
        const int B = 5;
        int S = e->n_state, M = e->n_muscles, P = e->space_dim, NL = e->n_loss;
        unsigned long long seed = 12345 + i;
        double *params = tm_params(e), *state = calloc((size_t)S * B, sizeof(double));
        tm_random_state(e, params, B, 3, &seed, state);
        double *act = malloc((size_t)M * B * sizeof(double)), *load = calloc((size_t)e->n_load * B, sizeof(double));
        double *gnext = malloc((size_t)S * B * sizeof(double));
        for (int k = 0; k < M * B; k++)
            act[k] = tm_uniform(&seed, 0.1, 0.9);
        for (int k = 0; k < S * B; k++)
            gnext[k] = tm_uniform(&seed, -1, 1);
        /* reference: the interpreter */
        double *ref_next = calloc((size_t)S * B, sizeof(double)), *ref_gs = calloc((size_t)S * B, sizeof(double));
        double *ref_ga = calloc((size_t)M * B, sizeof(double)), *ref_gl = calloc((size_t)e->n_load * B, sizeof(double));
        const double *sin_[] = {state, act, load}, *vin[] = {state, act, load, gnext};
        double *sout[] = {ref_next}, *vout[] = {ref_gs, ref_ga, ref_gl};
        tm_eval(e, &e->fn_step, B, sin_, sout, params);
        tm_eval(e, &e->fn_step_vjp, B, vin, vout, params);
        /* the loss rows and their VJP */
        double *target = tm_loss_target(e, state, B, &seed), *gloss = malloc((size_t)NL * B * sizeof(double));
        for (int k = 0; k < NL * B; k++)
            gloss[k] = tm_uniform(&seed, -1, 1);
        double *ref_loss = calloc((size_t)NL * B, sizeof(double)), *ref_lg = calloc((size_t)S * B, sizeof(double));
        const double *lin[] = {state, target}, *lvin[] = {state, target, gloss};
        tm_eval(e, &e->fn_loss, B, lin, &ref_loss, params);
        tm_eval(e, &e->fn_loss_vjp, B, lvin, &ref_lg, params);
        /* the drawing points */
        int NP = e->n_points * P;
        double *ref_pts = calloc((size_t)NP * B, sizeof(double));
        const double *pin[] = {state};
        tm_eval(e, &e->fn_points, B, pin, &ref_pts, params);
        bb_inputs bb;
        bb_make(e, params, &seed, &bb);
        for (int single = 0; single <= 1; single++) {
            char cpath[128];
            snprintf(cpath, sizeof cpath, "%s/%s_%d.c", dir, e->name, single);
            CU_ASSERT_FATAL(mnet_write_c(c, cpath, models[i].file, single) == 0);
            char jerr[512];
            mnet_jit_model *jm = jit_model_build(e, c->source_hash, single, jerr, sizeof jerr);
            CU_ASSERT_PTR_NOT_NULL(jm);
            if (!jm)
                printf("\n  %s: %s", e->name, jerr);
            for (int k = 0; k < 2; k++) {
                if (!have(compilers[k])) {
                    printf("\n  %s not installed: skipped", compilers[k]);
                    continue;
                }
                char so[160], cmd[512];
                snprintf(so, sizeof so, "%s/%s_%d_%s.so", dir, e->name, single, compilers[k]);
                snprintf(cmd, sizeof cmd, "%s -std=c11 -Wall -Wextra -Werror -O1 -shared -fPIC -o %s %s -lm",
                         compilers[k], so, cpath);
                int rc = system(cmd);
                CU_ASSERT_EQUAL(rc, 0);
                if (rc != 0)
                    continue;
                void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
                CU_ASSERT_PTR_NOT_NULL(h);
                if (!h)
                    continue;
                const mnet_model *const *pm = dlsym(h, "mnet_compiled_model");
                CU_ASSERT_PTR_NOT_NULL_FATAL(pm);
                const mnet_model *m = *pm;
                CU_ASSERT_EQUAL(m->real_size, single ? 4 : 8);
                CU_ASSERT_EQUAL(m->n_state, S);
                CU_ASSERT_EQUAL(m->n_params, e->n_params);
                /* every muscle's F_max index names "<muscle>.max_force" */
                int with_force = 0;
                CU_ASSERT_EQUAL(tm_check_max_force(m, e->name, &with_force), 0);
                CU_ASSERT_EQUAL(with_force, M);
                double *next = calloc((size_t)S * B, sizeof(double)), *gs = calloc((size_t)S * B, sizeof(double));
                double *ga = calloc((size_t)M * B, sizeof(double)), *gl = calloc((size_t)e->n_load * B, sizeof(double));
                int sr[] = {S, M, e->n_load}, vr[] = {S, M, e->n_load, S}, o1[] = {S}, o2[] = {S, M, e->n_load};
                double *so1[] = {next}, *so2[] = {gs, ga, gl};
                tm_run_fn(m->step, single, B, 3, sin_, sr, 1, so1, o1, params, e->n_params);
                tm_run_fn(m->step_vjp, single, B, 4, vin, vr, 3, so2, o2, params, e->n_params);
                double e1 = mnet_max_rel_err(next, ref_next, S * B), e2 = mnet_max_rel_err(gs, ref_gs, S * B);
                double e3 = mnet_max_rel_err(ga, ref_ga, M * B), tol = single ? 1e-3 : 1e-12;
                printf("\n  %-22s %-5s %-6s step %.1e  step_vjp %.1e %.1e", e->name, compilers[k],
                       single ? "float" : "double", e1, e2, e3);
                CU_ASSERT(e1 <= tol);
                CU_ASSERT(e2 <= tol * (single ? 10 : 1));
                CU_ASSERT(e3 <= tol * (single ? 10 : 1));
                CU_ASSERT(mnet_max_rel_err(gl, ref_gl, e->n_load * B) <= tol * (single ? 10 : 1));
                double *lv = calloc((size_t)NL * B, sizeof(double)), *lg = calloc((size_t)S * B, sizeof(double));
                int lr[] = {S, P}, lvr[] = {S, P, NL}, lo[] = {NL};
                CU_ASSERT_EQUAL_FATAL(m->n_loss, NL);
                tm_run_fn(m->loss, single, B, 2, lin, lr, 1, &lv, lo, params, e->n_params);
                tm_run_fn(m->loss_vjp, single, B, 3, lvin, lvr, 1, &lg, o1, params, e->n_params);
                double e4 = mnet_max_rel_err(lv, ref_loss, NL * B), e5 = mnet_max_rel_err(lg, ref_lg, S * B);
                printf("  loss %.1e  loss_vjp %.1e", e4, e5);
                CU_ASSERT(e4 <= tol);
                CU_ASSERT(e5 <= tol * (single ? 10 : 1));
                free(lv);
                free(lg);
                CU_ASSERT_EQUAL_FATAL(m->n_points, e->n_points);
                CU_ASSERT_PTR_NOT_NULL_FATAL(m->points);
                for (int p = 0; p < e->n_points; p++)
                    CU_ASSERT_STRING_EQUAL(m->point_names[p], e->point_names[p]);
                double *pts = calloc((size_t)NP * B, sizeof(double));
                int pr[] = {NP};
                tm_run_fn(m->points, single, B, 1, pin, o1, 1, &pts, pr, params, e->n_params);
                double e6 = mnet_max_rel_err(pts, ref_pts, NP * B);
                printf("  points %.1e", e6);
                CU_ASSERT(single ? e6 <= tol : memcmp(pts, ref_pts, (size_t)NP * B * sizeof(double)) == 0);
                free(pts);
                if (jm) { /* the two backends: the same bits */
                    long d = bb_compare(e, m, jit_model_get(jm), single, &bb, params);
                    printf("  = JIT: %ld differ", d);
                    CU_ASSERT_EQUAL(d, 0);
                }
                free(gl);
                free(next);
                free(gs);
                free(ga);
                dlclose(h);
                remove(so);
            }
            remove(cpath);
            jit_model_free(jm);
        }
        bb_free(&bb);
        free(params);
        free(state);
        free(act);
        free(load);
        free(gnext);
        free(ref_next);
        free(ref_gs);
        free(ref_ga);
        free(ref_gl);
        free(target);
        free(gloss);
        free(ref_loss);
        free(ref_lg);
        free(ref_pts);
        mnet_compilation_free(c);
    }
    rmdir(dir);
}

int main(void)
{
    static const mnet_test tests[] = {{"emit, compile (gcc, clang, -Werror) and run", test_emit_compile_run},
                                      {NULL, NULL}};
    return mnet_test_main("model_emit", tests);
}
