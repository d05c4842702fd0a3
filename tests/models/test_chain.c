/* test_chain.c - the compiler-derived planar N-link chain (MODELS.md 4.4):
 * for N = 2 it equals the closed-form two-link arm; for N = 3 with no input
 * and no damping, textbook RK4 at 1 ms conserves the kinetic energy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_util.h"
#include "test_support.h"

static const char *two_link_source =
    "import \"lib/muscles.mnet\";\n"
    "import \"lib/skeletons.mnet\";\n"
    "effector closed_form {\n"
    "  skeleton two_link_arm(m1 = 1.82 kg, m2 = 1.43 kg, l1g = 0.135 m, l2g = 0.165 m, i1 = 0.051,\n"
    "                        i2 = 0.057, l1 = 0.309 m, l2 = 0.333 m, viscosity = 0.1,\n"
    "                        shoulder_range = [0 deg, 135 deg], elbow_range = [0 deg, 155 deg]);\n"
    "  muscles relu(max_force = 100 N) {\n"
    "    muscle a { moment_arm [-1, 0.5]; }\n"
    "    muscle b { moment_arm [0.3, -1]; }\n"
    "  }\n"
    "}\n"
    "effector chain {\n"
    "  skeleton planar_chain {\n"
    "    link upper_arm(mass = 1.82 kg, length = 0.309 m, com = 0.135 m, inertia = 0.051,\n"
    "                   range = [0 deg, 135 deg]);\n"
    "    link forearm(mass = 1.43 kg, length = 0.333 m, com = 0.165 m, inertia = 0.057,\n"
    "                 range = [0 deg, 155 deg]);\n"
    "    viscosity 0.1;\n"
    "  }\n"
    "  muscles relu(max_force = 100 N) {\n"
    "    muscle a { moment_arm [-1, 0.5]; }\n"
    "    muscle b { moment_arm [0.3, -1]; }\n"
    "  }\n"
    "}\n";

static void test_two_link_equals_closed_form(void)
{
    mnet_compilation *cf = tm_compile_text(two_link_source, "closed_form");
    mnet_compilation *ch = tm_compile_text(two_link_source, "chain");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
    const mnet_effector *a = cf->eff, *b = ch->eff;
    CU_ASSERT_EQUAL_FATAL(a->n_state, b->n_state);
    const int B = 64;
    int S = a->n_state, M = a->n_muscles;
    unsigned long long seed = 42;
    double *pa = tm_params(a), *pb = tm_params(b);
    double *state = calloc((size_t)S * B, sizeof(double)), *act = malloc((size_t)M * B * sizeof(double));
    double *load = malloc((size_t)a->n_load * B * sizeof(double));
    double *na = calloc((size_t)S * B, sizeof(double)), *nb = calloc((size_t)S * B, sizeof(double));
    tm_random_state(a, pa, B, 0, &seed, state);
    /* random velocities too: the velocity terms must agree */
    for (int j = 0; j < 2; j++)
        for (int k = 0; k < B; k++)
            state[(a->joint_off + 2 + j) * B + k] = tm_uniform(&seed, -3, 3);
    for (int k = 0; k < M * B; k++)
        act[k] = tm_uniform(&seed, 0, 1);
    for (int k = 0; k < a->n_load * B; k++)
        load[k] = tm_uniform(&seed, -5, 5);
    const double *in[] = {state, act, load};
    double *oa[] = {na}, *ob[] = {nb};
    tm_eval(a, &a->fn_step, B, in, oa, pa);
    tm_eval(b, &b->fn_step, B, in, ob, pb);
    double err = mnet_max_rel_err(nb, na, S * B);
    printf("\n  planar_chain(2) vs two_link_arm: max rel err %.2e over %d states", err, B);
    CU_ASSERT(err <= 1e-12);
    free(pa);
    free(pb);
    free(state);
    free(act);
    free(load);
    free(na);
    free(nb);
    mnet_compilation_free(cf);
    mnet_compilation_free(ch);
}

static const char *three_link_source =
    "import \"lib/muscles.mnet\";\n"
    "effector three {\n"
    "  skeleton planar_chain {\n"
    "    link a(mass = 2 kg, length = 0.3 m, com = 0.15 m, inertia = 0.02, range = [-100, 100]);\n"
    "    link b(mass = 1.5 kg, length = 0.25 m, com = 0.1 m, inertia = 0.01, range = [-100, 100]);\n"
    "    link c(mass = 0.5 kg, length = 0.2 m, com = 0.08 m, inertia = 0.004, range = [-100, 100]);\n"
    "  }\n"
    "  muscles relu(max_force = 1 N) { muscle none { moment_arm [0, 0, 0]; } }\n"
    "  integrator rk4;\n"
    "  step 1 ms;\n"
    "}\n";

/* Kinetic energy from the link parameters, independently of the compiler:
 * v_ci = sum_{j<i} l_j w_j e'(theta_j) + c_i w_i e'(theta_i), w_i = sum qd. */
static double kinetic_energy(const double *q, const double *qd)
{
    const double m[3] = {2, 1.5, 0.5}, l[3] = {0.3, 0.25, 0.2}, c[3] = {0.15, 0.1, 0.08};
    const double I[3] = {0.02, 0.01, 0.004};
    double th = 0, w = 0, vx = 0, vy = 0, ke = 0;
    for (int i = 0; i < 3; i++) {
        th += q[i];
        w += qd[i];
        double cx = vx - c[i] * w * sin(th), cy = vy + c[i] * w * cos(th);
        ke += 0.5 * m[i] * (cx * cx + cy * cy) + 0.5 * I[i] * w * w;
        vx -= l[i] * w * sin(th);
        vy += l[i] * w * cos(th);
    }
    return ke;
}

static void test_three_link_energy(void)
{
    mnet_compilation *c = tm_compile_text(three_link_source, "three");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const mnet_effector *e = c->eff;
    CU_ASSERT_EQUAL(e->integrator, INTEG_RK4);
    const int B = 4;
    int S = e->n_state;
    double *p = tm_params(e), *j0 = malloc(6 * B * sizeof(double));
    double *s = calloc((size_t)S * B, sizeof(double)), *n = calloc((size_t)S * B, sizeof(double));
    double *act = calloc((size_t)B, sizeof(double)), *load = calloc((size_t)e->n_load * B, sizeof(double));
    unsigned long long seed = 7;
    for (int k = 0; k < 6 * B; k++)
        j0[k] = tm_uniform(&seed, -2, 2);
    const double *in0[] = {j0};
    double *out0[] = {s};
    tm_eval(e, &e->fn_init, B, in0, out0, p);
    double e0[4], worst = 0;
    for (int b = 0; b < B; b++) {
        double q[3], qd[3];
        for (int j = 0; j < 3; j++) {
            q[j] = s[j * B + b];
            qd[j] = s[(3 + j) * B + b];
        }
        e0[b] = kinetic_energy(q, qd);
    }
    for (int t = 0; t < 1000; t++) {
        const double *in[] = {s, act, load};
        double *out[] = {n};
        tm_eval(e, &e->fn_step, B, in, out, p);
        memcpy(s, n, (size_t)S * B * sizeof(double));
    }
    for (int b = 0; b < B; b++) {
        double q[3], qd[3];
        for (int j = 0; j < 3; j++) {
            q[j] = s[j * B + b];
            qd[j] = s[(3 + j) * B + b];
        }
        double drift = fabs(kinetic_energy(q, qd) - e0[b]) / e0[b];
        if (drift > worst)
            worst = drift;
    }
    printf("\n  3-link chain, textbook rk4, 1 ms, 1 s: max relative energy drift %.2e", worst);
    CU_ASSERT(worst < 1e-6);
    free(p);
    free(j0);
    free(s);
    free(n);
    free(act);
    free(load);
    mnet_compilation_free(c);
}

int main(void)
{
    static const mnet_test tests[] = {{"2-link chain equals the closed-form arm", test_two_link_equals_closed_form},
                                      {"3-link chain conserves energy under rk4", test_three_link_energy},
                                      {NULL, NULL}};
    return mnet_test_main("chain", tests);
}
