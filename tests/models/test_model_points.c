/* test_model_points.c - the body's drawing points (mnet_model.h's points):
 * which points each kind of skeleton gives, and their names; the points
 * against closed forms (a point mass's position, the two-link arm's elbow
 * and hand, the three-link chain's joints, a user skeleton's bodies in 3-D);
 * and the function of every library model and example effector through the
 * C emitter (gcc) and the JIT, bit for bit against the interpreter in double.
 * (test_model_jit and test_model_emit check the whole tables' points too.) */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir_llvm.h"
#include "model_util.h"
#include "test_support.h"

static const struct {
    const char *file, *effector;
} models[] = {
    {"models/ReluPointMass24.mnet", "ReluPointMass24"},
    {"models/FreePointMass24.mnet", "FreePointMass24"},
    {"models/RigidTendonArm26.mnet", "RigidTendonArm26"},
    {"models/CompliantTendonArm26.mnet", "CompliantTendonArm26"},
    {"models/Reacher.mnet", "Reacher"},
    {"models/arm210.mnet", "arm210"},
    {"examples/centre_out_curl.mnet", "arm26_thelen"},
    {"examples/user_muscle.mnet", "hill_point_mass"},
    {"examples/three_link.mnet", "three_link_arm"},
};
enum { N_MODELS = sizeof models / sizeof models[0] };

/* user skeletons: one without bodies (1-D joint, 2-D end point), one in 3-D
 * with two bodies */
static const char *user_source =
    "import \"lib/muscles.mnet\";\n"
    "skeleton pendulum {\n"
    "  param l: m = 0.5, m1: kg = 1;\n"
    "  joint q(velocity = dq, range = [-1, 1]);\n"
    "  mass_matrix [[m1 * l ^ 2]];\n"
    "  bias [0];\n"
    "  endpoint [l * sin(q), -l * cos(q)];\n"
    "}\n"
    "skeleton crane {\n"
    "  param l: m = 0.7, h: m = 0.2, m1: kg = 2;\n"
    "  joint q(velocity = dq, range = [-1, 1]);\n"
    "  mass_matrix [[m1 * l ^ 2]];\n"
    "  bias [0];\n"
    "  endpoint [l * cos(q), l * sin(q), h];\n"
    "  body mast(origin = [0, 0, 0]);\n"
    "  body jib(origin = [0, 0, h]);\n"
    "}\n"
    "effector bare {\n"
    "  skeleton pendulum;\n"
    "  muscles relu(max_force = 100 N) { muscle a { moment_arm [1]; } }\n"
    "}\n"
    "effector lifter {\n"
    "  skeleton crane;\n"
    "  muscles relu(max_force = 100 N) { muscle a { moment_arm [1]; } }\n"
    "}\n";

static int param_index(const mnet_effector *e, const char *name)
{
    for (int i = 0; i < e->n_params; i++)
        if (!strcmp(e->params[i].name, name))
            return i;
    printf("\n  %s: no parameter '%s'", e->name, name);
    return -1;
}

/* The points of a consistent state (tm_random_state: init, then steps)
 * through the interpreter; state and points (rows x B) malloc'd. */
static void points_of(const mnet_effector *e, const double *params, int B, unsigned long long seed, double **state,
                      double **pts)
{
    *state = calloc((size_t)e->n_state * B, sizeof(double));
    *pts = calloc((size_t)(e->n_points * e->space_dim) * B, sizeof(double));
    tm_random_state(e, params, B, 3, &seed, *state);
    const double *in[] = {*state};
    tm_eval(e, &e->fn_points, B, in, pts, params);
}

static void check_names(const mnet_effector *e, int n, const char *const *names)
{
    CU_ASSERT_EQUAL(e->n_points, n);
    CU_ASSERT_EQUAL(e->fn_points.n_outputs, n * e->space_dim);
    CU_ASSERT_EQUAL(e->fn_points.n_in_args, 1);
    CU_ASSERT_EQUAL(e->fn_points.n_out_args, 1);
    for (int k = 0; k < n && k < e->n_points; k++)
        if (strcmp(e->point_names[k], names[k]) != 0) {
            printf("\n  %s: point %d is '%s', expected '%s'", e->name, k, e->point_names[k], names[k]);
            CU_FAIL("point name");
        }
    /* output k*P + i is row k*P + i of out[0] */
    for (int r = 0; r < e->fn_points.n_outputs; r++) {
        CU_ASSERT_EQUAL(e->fn_points.outputs[r].arg, 0);
        CU_ASSERT_EQUAL(e->fn_points.outputs[r].row, r);
    }
}

static void test_points_per_skeleton(void)
{
    static const char *const pm[] = {"point"}, *const arm[] = {"upper_arm", "forearm", "endpoint"},
                             *const chain[] = {"upper_arm", "forearm", "hand", "endpoint"},
                             *const bare[] = {"endpoint"}, *const crane[] = {"mast", "jib", "endpoint"};
    for (int i = 0; i < N_MODELS; i++) {
        mnet_compilation *c = tm_compile_file(models[i].file, models[i].effector);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        const mnet_effector *e = c->eff;
        if (i == 2) {
            /* --dump-model names them */
            char *text = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&text, &len);
            CU_ASSERT_PTR_NOT_NULL_FATAL(f);
            effector_dump(e, f);
            fclose(f);
            CU_ASSERT_PTR_NOT_NULL(strstr(text, "drawing points (points, 3 x 2 rows): upper_arm, forearm, endpoint\n"));
            free(text);
        }
        if (e->skeleton == SKEL_POINT_MASS)
            check_names(e, 1, pm);
        else if (e->skeleton == SKEL_PLANAR_CHAIN)
            check_names(e, 4, chain);
        else
            check_names(e, 3, arm);
        mnet_compilation_free(c);
    }
    mnet_compilation *c = tm_compile_text(user_source, "bare");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    check_names(c->eff, 1, bare);
    mnet_compilation_free(c);
    c = tm_compile_text(user_source, "lifter");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->eff->space_dim, 3);
    check_names(c->eff, 3, crane);
    mnet_compilation_free(c);
}

/* The last point is the state's end point rows, copied: bit for bit. */
static int endpoint_is_state(const mnet_effector *e, int B, const double *state, const double *pts)
{
    int P = e->space_dim, last = (e->n_points - 1) * P;
    return memcmp(pts + (size_t)last * B, state + (size_t)e->cart_off * B, (size_t)P * B * sizeof(double)) == 0;
}

static void test_closed_forms(void)
{
    const int B = 16;
    double worst = 0;
    for (int i = 0; i < N_MODELS; i++) {
        mnet_compilation *c = tm_compile_file(models[i].file, models[i].effector);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        const mnet_effector *e = c->eff;
        double *params = tm_params(e), *state, *pts;
        points_of(e, params, B, 99 + (unsigned long long)i, &state, &pts);
        CU_ASSERT(endpoint_is_state(e, B, state, pts));
#define ST(r, b) state[(size_t)(r) * B + (b)]
#define PT(r, b) pts[(size_t)(r) * B + (b)]
        double err = 0;
        for (int b = 0; b < B; b++) {
            if (e->skeleton == SKEL_POINT_MASS) {
                /* the mass's position: q, the joint rows */
                for (int k = 0; k < e->space_dim; k++)
                    CU_ASSERT(PT(k, b) == ST(e->joint_off + k, b));
            } else if (e->skeleton == SKEL_USER) {
                /* two_link_arm: shoulder at the origin, elbow l1 e(q1), hand
                 * l1 e(q1) + l2 e(q1 + q2) (the state's end point rows) */
                int i1 = param_index(e, "skeleton.l1"), i2 = param_index(e, "skeleton.l2");
                CU_ASSERT_FATAL(i1 >= 0 && i2 >= 0);
                double l1 = params[i1], l2 = params[i2], q1 = ST(e->joint_off, b), q2 = ST(e->joint_off + 1, b);
                CU_ASSERT(PT(0, b) == 0 && PT(1, b) == 0);
                CU_ASSERT(PT(2, b) == l1 * cos(q1) && PT(3, b) == l1 * sin(q1));
                double hx = l1 * cos(q1) + l2 * cos(q1 + q2), hy = l1 * sin(q1) + l2 * sin(q1 + q2);
                err = fmax(err, fmax(fabs(PT(4, b) - hx), fabs(PT(5, b) - hy)));
            } else {
                /* planar chain: origin_{i+1} = origin_i + l_i e(q_1 + ... + q_i) */
                double x = 0, y = 0, angle = 0;
                for (int j = 0; j <= e->n_dof; j++) {
                    err = fmax(err, fmax(fabs(PT(2 * j, b) - x), fabs(PT(2 * j + 1, b) - y)));
                    if (j == e->n_dof)
                        break;
                    char name[64];
                    snprintf(name, sizeof name, "%s.length", e->body_names[j]);
                    int li = param_index(e, name);
                    CU_ASSERT_FATAL(li >= 0);
                    angle += ST(e->joint_off + j, b);
                    x += params[li] * cos(angle);
                    y += params[li] * sin(angle);
                }
            }
        }
#undef ST
#undef PT
        printf("\n  %-22s %d points, closed form %.1e", e->name, e->n_points, err);
        CU_ASSERT(err <= 1e-15);
        worst = fmax(worst, err);
        free(params);
        free(state);
        free(pts);
        mnet_compilation_free(c);
    }
    /* the 3-D user skeleton's bodies */
    mnet_compilation *c = tm_compile_text(user_source, "lifter");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const mnet_effector *e = c->eff;
    double *params = tm_params(e), *state, *pts;
    points_of(e, params, B, 5, &state, &pts);
    CU_ASSERT(endpoint_is_state(e, B, state, pts));
    double h = params[param_index(e, "skeleton.h")], l = params[param_index(e, "skeleton.l")];
    for (int b = 0; b < B; b++) {
        double q = state[(size_t)e->joint_off * B + b];
        double want[9] = {0, 0, 0, 0, 0, h, l * cos(q), l * sin(q), h};
        for (int r = 0; r < 9; r++)
            CU_ASSERT(pts[(size_t)r * B + b] == want[r]);
    }
    free(params);
    free(state);
    free(pts);
    mnet_compilation_free(c);
    printf("\n  worst closed-form difference %.1e", worst);
}

static int have_cc(void)
{
    return system("command -v cc >/dev/null 2>&1") == 0;
}

/* points through the C emitter alone (the function emit_model_c writes) and
 * through the JIT alone, double and float, against the interpreter. */
static void test_backends(void)
{
    char dir[] = "/tmp/mnet_points_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    int cc = have_cc();
    if (!cc)
        printf("\n  cc not installed: the C backend skipped");
    const int B = 13; /* not a multiple of the JIT's vector width */
    for (int i = 0; i < N_MODELS; i++) {
        mnet_compilation *c = tm_compile_file(models[i].file, models[i].effector);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        const mnet_effector *e = c->eff;
        int NP = e->n_points * e->space_dim, S = e->n_state;
        double *params = tm_params(e), *state, *ref;
        points_of(e, params, B, 7 + (unsigned long long)i, &state, &ref);
        const double *in[] = {state};
        int in_rows[] = {S}, out_rows[] = {NP};
        for (int single = 0; single <= 1; single++) {
            double *got = calloc((size_t)NP * B, sizeof(double)), *jit_got = calloc((size_t)NP * B, sizeof(double));
            /* the JIT */
            char err[512];
            mnet_jit *jit = mnet_jit_new(err, sizeof err);
            CU_ASSERT_PTR_NOT_NULL_FATAL(jit);
            int unit = mnet_jit_add(jit, e->g, 1, &e->fn_points, single, 0, err, sizeof err);
            CU_ASSERT(unit >= 0);
            void *p = unit >= 0 ? mnet_jit_lookup_unit(jit, unit, "points") : NULL;
            CU_ASSERT_PTR_NOT_NULL(p);
            double ej = -1, ec = -1;
            if (p) {
                mnet_fn f;
                memcpy(&f, &p, sizeof f);
                tm_run_fn(f, single, B, 1, in, in_rows, 1, &got, out_rows, params, e->n_params);
                ej = mnet_max_rel_err(got, ref, NP * B);
                memcpy(jit_got, got, (size_t)NP * B * sizeof(double));
                CU_ASSERT(single ? ej <= 2.2e-7 * 4 : memcmp(got, ref, (size_t)NP * B * sizeof(double)) == 0);
            }
            mnet_jit_free(jit);
            /* the C emitter */
            if (cc) {
                char cpath[128], so[128], cmd[512];
                snprintf(cpath, sizeof cpath, "%s/%s_%d.c", dir, e->name, single);
                snprintf(so, sizeof so, "%s/%s_%d.so", dir, e->name, single);
                FILE *f = fopen(cpath, "w");
                CU_ASSERT_PTR_NOT_NULL_FATAL(f);
                fprintf(f, "#include <math.h>\ntypedef %s real;\n", single ? "float" : "double");
                fprintf(f, "void points(int n, int ld, const real *const *in, real *const *out, const real *params);\n");
                CU_ASSERT(ir_emit_c(f, e->g, &e->fn_points, single) == 0);
                CU_ASSERT(fclose(f) == 0);
                snprintf(cmd, sizeof cmd, "cc -std=c11 -Wall -Wextra -Werror -O2 -shared -fPIC -o %s %s -lm", so,
                         cpath);
                int rc = system(cmd);
                CU_ASSERT_EQUAL(rc, 0);
                void *h = rc == 0 ? dlopen(so, RTLD_NOW | RTLD_LOCAL) : NULL;
                CU_ASSERT_PTR_NOT_NULL(h);
                void *sym = h ? dlsym(h, "points") : NULL;
                if (sym) {
                    mnet_fn fn;
                    memcpy(&fn, &sym, sizeof fn);
                    memset(got, 0, (size_t)NP * B * sizeof(double));
                    tm_run_fn(fn, single, B, 1, in, in_rows, 1, &got, out_rows, params, e->n_params);
                    ec = mnet_max_rel_err(got, ref, NP * B);
                    CU_ASSERT(single ? ec <= 2.2e-7 * 4
                                     : memcmp(got, ref, (size_t)NP * B * sizeof(double)) == 0);
                    /* and the two backends agree bit for bit in float too */
                    CU_ASSERT(!p || memcmp(got, jit_got, (size_t)NP * B * sizeof(double)) == 0);
                }
                if (h)
                    dlclose(h);
                remove(so);
                remove(cpath);
            }
            printf("\n  %-22s %-6s points: JIT %.1e  C %.1e", e->name, single ? "float" : "double", ej, ec);
            free(got);
            free(jit_got);
        }
        free(params);
        free(state);
        free(ref);
        mnet_compilation_free(c);
    }
    rmdir(dir);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"points and names per kind of skeleton", test_points_per_skeleton},
        {"points against closed forms", test_closed_forms},
        {"points through the C emitter and the JIT", test_backends},
        {NULL, NULL}};
    return mnet_test_main("model_points", tests);
}
