/* golden_check - replay a reference case through a compiled model.
 *
 *   golden_check MODEL.mnet CASE.golden [--effector NAME] [--precision double|float]
 *                [--route interp|c]
 *
 * Builds the model and checks that its own settings are the case's: damping
 * (meta damping), loads (arrays endpoint_load, joint_load) and joint limits
 * (pos_lower_bound, pos_upper_bound); a difference is a failure that prints
 * both values,
 *   golden CASE damping model=X case=Y  (differs)
 * Then it replays the case's initial joint states and actions with the
 * model's own damping and loads, and compares every array of the case
 * (joint, cartesian, muscle rows, geometry, the loss and both gradients) as
 * max |ours - golden| / max |golden|.  Prints one line per array,
 *   golden CASE ARRAY max_rel_err=X
 * then `golden CASE ok` or `golden CASE FAIL`; exits 0 or 1 (2 on usage or
 * setup errors).  Tolerances (golden/README.md): 1e-7 in double; 2e-3 on
 * states in float (gradients are reported, not judged, in float).
 *
 * CASE.golden without a '/' is looked up in golden_dir() (the environment
 * variable MNET_GOLDEN_DIR, else the build's tests/golden/data).
 *
 * Routes: `interp` evaluates the expression graph directly (double only);
 * `c` emits C, compiles it with the system compiler and loads it (the
 * route `mnet train` uses).  Default: interp for double, c for float.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "golden.h"
#include "ir.h"
#include "mnet_model_so.h"
#include "model_util.h"
#include "test_support.h"
#include <unistd.h>

typedef struct {
    const mnet_effector *eff;
    const mnet_model *so;      /* compiled route, else NULL */
    int single;
    double *params;            /* (n_params) */
} runner;

enum { F_INIT, F_INIT_VJP, F_STEP, F_STEP_VJP };

static const ir_function *graph_fn(const mnet_effector *e, int which)
{
    const ir_function *f[] = {&e->fn_init, &e->fn_init_vjp, &e->fn_step, &e->fn_step_vjp};
    return f[which];
}

static mnet_fn so_fn(const mnet_model *m, int which)
{
    mnet_fn f[] = {m->init, m->init_vjp, m->step, m->step_vjp};
    return f[which];
}

/* Runs function `which` on double arrays (rows x ld), whatever the route. */
static void call(const runner *r, int which, int n, int ld, int n_in, const double *const *in, const int *in_rows,
                 int n_out, double *const *out, const int *out_rows)
{
    if (!r->so) {
        ir_eval(r->eff->g, graph_fn(r->eff, which), n, ld, in, out, r->params);
        return;
    }
    (void)ld; /* golden_check lays every array out with ld == n */
    tm_run_fn(so_fn(r->so, which), r->single, n, n_in, in, in_rows, n_out, out, out_rows, r->params,
              r->eff->n_params);
}

static int failed;

/* Settings agree when equal to 1e-12 of their scale: the case's numbers are
 * printed with %.17g from the reference's own conversions (e.g. 135 deg in
 * radians), the model's come from the compiler's. */
static int same_setting(double model, double want)
{
    return fabs(model - want) <= 1e-12 * fmax(1.0, fabs(want));
}

/* One setting of the model against the case: NAME[k] for k < n. A missing
 * array in the case is a failure too (every effector case has them). */
static void check_setting(const char *cs, const char *name, const double *model, int n, const golden_array *g)
{
    if (!g || g->count != n) {
        printf("golden %s %s: model has %d values, case %ld  (differs)\n", cs, name, n, g ? g->count : 0L);
        failed = 1;
        return;
    }
    for (int k = 0; k < n; k++)
        if (!same_setting(model[k], g->data[k])) {
            printf("golden %s %s[%d] model=%.17g case=%.17g  (differs)\n", cs, name, k, model[k], g->data[k]);
            failed = 1;
        }
}

static void report(const char *cs, const char *name, const double *ours, const golden_array *g, double tol)
{
    double err = mnet_max_rel_err(ours, g->data, (int)g->count);
    int bad = !(err <= tol);
    printf("golden %s %s max_rel_err=%.3g%s\n", cs, name, err, bad ? "  (over tolerance)" : "");
    failed |= bad;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *case_path = NULL, *effector = NULL, *route = NULL;
    int single = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--effector") && i + 1 < argc)
            effector = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc)
            single = !strcmp(argv[++i], "float");
        else if (!strcmp(argv[i], "--route") && i + 1 < argc)
            route = argv[++i];
        else if (!model_path)
            model_path = argv[i];
        else if (!case_path)
            case_path = argv[i];
        else {
            fprintf(stderr, "usage: golden_check MODEL.mnet CASE.golden [--effector NAME] [--precision double|float] [--route interp|c]\n");
            return 2;
        }
    }
    if (!model_path || !case_path) {
        fprintf(stderr, "usage: golden_check MODEL.mnet CASE.golden [--effector NAME] [--precision double|float] [--route interp|c]\n");
        return 2;
    }
    if (!route)
        route = single ? "c" : "interp";
    if (single && !strcmp(route, "interp")) {
        fprintf(stderr, "golden_check: the interpreter runs in double only\n");
        return 2;
    }
    char err[512], found[4096];
    if (!strchr(case_path, '/')) {
        const char *dir = golden_dir();
        if (!dir) {
            fprintf(stderr, "golden_check: no golden directory for %s (hint: set MNET_GOLDEN_DIR)\n", case_path);
            return 2;
        }
        snprintf(found, sizeof found, "%s/%s", dir, case_path);
        case_path = found;
    }
    golden_case *gc = golden_load(case_path, err, sizeof err);
    if (!gc) {
        fprintf(stderr, "golden_check: %s\n", err);
        return 2;
    }
    const char *cs = golden_meta(gc, "case");
    mnet_compilation *comp = mnet_compile(model_path, effector, stderr);
    if (!comp || !comp->eff) {
        fprintf(stderr, "golden_check: %s did not compile\n", model_path);
        mnet_compilation_free(comp);
        golden_free(gc);
        return 2;
    }
    const mnet_effector *e = comp->eff;
    int B = golden_meta_int(gc, "batch", 0), T = golden_meta_int(gc, "steps", 0);
    int dof = e->n_dof, sp = e->space_dim, M = e->n_muscles, R = e->model.n_rows, S = e->n_state;
    /* the case must describe this effector */
    const char *integ = golden_meta(gc, "integration");
    int want_integ = integ && !strcmp(integ, "rk4") ? INTEG_MOTORNET_RK4 : INTEG_EULER;
    if (golden_meta_int(gc, "dof", -1) != dof || golden_meta_int(gc, "n_muscles", -1) != M ||
        golden_meta_int(gc, "space_dim", -1) != sp ||
        fabs(golden_meta_double(gc, "dt", 0) - e->step) > 1e-12 * e->step ||
        golden_meta_int(gc, "n_ministeps", 1) != e->n_ministeps || (int)e->integrator != want_integ) {
        fprintf(stderr, "golden_check: case %s does not describe effector %s (dof %d, muscles %d, step %g, "
                        "%d ministeps, integrator %d)\n",
                cs, e->name, dof, M, e->step, e->n_ministeps, e->integrator);
        mnet_compilation_free(comp);
        golden_free(gc);
        return 2;
    }
    /* the model's own settings must be the case's: they are replayed as the
     * model states them, never overwritten from the case */
    double damping = e->params[e->damping_param].value, want_damping = golden_meta_double(gc, "damping", NAN);
    if (!same_setting(damping, want_damping)) {
        printf("golden %s damping model=%.17g case=%.17g  (differs)\n", cs, damping, want_damping);
        failed = 1;
    }
    check_setting(cs, "endpoint_load", e->endpoint_load, sp, golden_array_get(gc, "endpoint_load"));
    check_setting(cs, "joint_load", e->joint_load, dof, golden_array_get(gc, "joint_load"));
    check_setting(cs, "pos_lower_bound", e->pos_lo, dof, golden_array_get(gc, "pos_lower_bound"));
    check_setting(cs, "pos_upper_bound", e->pos_hi, dof, golden_array_get(gc, "pos_upper_bound"));
    runner r = {e, NULL, single, NULL};
    r.params = malloc((size_t)e->n_params * sizeof(double));
    for (int i = 0; i < e->n_params; i++)
        r.params[i] = e->params[i].value;
    mnet_model_so *so = NULL;
    if (!strcmp(route, "c")) {
        char dir[] = "/tmp/golden_check_XXXXXX", cpath[64];
        int ok = mkdtemp(dir) != NULL;
        snprintf(cpath, sizeof cpath, "%s/model.c", dir);
        if (!ok || mnet_write_c(comp, cpath, model_path, single) != 0 ||
            !(so = mnet_model_so_build(cpath, err, sizeof err))) {
            fprintf(stderr, "golden_check: compiled route failed: %s\n", ok ? err : "mkdtemp");
            remove(cpath);
            rmdir(dir);
            return 2;
        }
        remove(cpath);
        rmdir(dir);
        r.so = mnet_model_so_get(so);
    }
    const golden_array *a_init = golden_array_get(gc, "initial_joint"), *a_act = golden_array_get(gc, "actions");
    const golden_array *a_fmax = golden_array_get(gc, "max_isometric_force");
    /* states: (T+1) x (S x B) */
    double *st = calloc((size_t)(T + 1) * S * B, sizeof(double));
    double *joint0 = calloc((size_t)2 * dof * B, sizeof(double));
    double *act = calloc((size_t)M * B, sizeof(double)), *load = calloc((size_t)(sp + dof) * B, sizeof(double));
    for (int b = 0; b < B; b++) {
        for (int k = 0; k < 2 * dof; k++)
            joint0[k * B + b] = a_init->data[b * 2 * dof + k];
        for (int k = 0; k < sp; k++)
            load[k * B + b] = e->endpoint_load[k];
        for (int j = 0; j < dof; j++)
            load[(sp + j) * B + b] = e->joint_load[j];
    }
    {
        const double *in[] = {joint0};
        double *out[] = {st};
        int ir[] = {2 * dof}, orr[] = {S};
        call(&r, F_INIT, B, B, 1, in, ir, 1, out, orr);
    }
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++)
            for (int m = 0; m < M; m++)
                act[m * B + b] = a_act->data[((long)t * B + b) * M + m];
        const double *in[] = {st + (long)t * S * B, act, load};
        double *out[] = {st + (long)(t + 1) * S * B};
        int ir[] = {S, M, sp + dof}, orr[] = {S};
        call(&r, F_STEP, B, B, 3, in, ir, 1, out, orr);
    }
    /* states in the golden layout */
    long nj = (long)(T + 1) * B * 2 * dof, nc = (long)(T + 1) * B * 2 * sp;
    long nm = (long)(T + 1) * B * R * M, ng = (long)(T + 1) * B * (2 + dof) * M;
    double *joint = malloc(nj * sizeof(double)), *cart = malloc(nc * sizeof(double));
    double *mus = malloc(nm * sizeof(double)), *geo = malloc(ng * sizeof(double));
    for (int t = 0; t <= T; t++)
        for (int b = 0; b < B; b++) {
            const double *s = st + (long)t * S * B;
            for (int k = 0; k < 2 * dof; k++)
                joint[((long)t * B + b) * 2 * dof + k] = s[(e->joint_off + k) * B + b];
            for (int k = 0; k < 2 * sp; k++)
                cart[((long)t * B + b) * 2 * sp + k] = s[(e->cart_off + k) * B + b];
            for (int k = 0; k < R * M; k++)
                mus[((long)t * B + b) * R * M + k] = s[(e->muscle_off + k) * B + b];
            for (int k = 0; k < (2 + dof) * M; k++)
                geo[((long)t * B + b) * (2 + dof) * M + k] = s[(e->geom_off + k) * B + b];
        }
    if (getenv("MNET_GOLDEN_TRACE")) { /* first steps of element 0, ours | golden */
        const golden_array *gm = golden_array_get(gc, "muscle"), *gj = golden_array_get(gc, "joint");
        for (int t = 0; t < 3 && t <= T; t++) {
            printf("t=%d joint", t);
            for (int k = 0; k < 2 * dof; k++)
                printf(" %.9g|%.9g", joint[(long)t * B * 2 * dof + k], gj->data[(long)t * B * 2 * dof + k]);
            printf("\n");
            for (int rr = 0; rr < R; rr++) {
                printf("  row %d:", rr);
                for (int m = 0; m < M; m++)
                    printf(" %.6g|%.6g", mus[(long)t * B * R * M + rr * M + m], gm->data[(long)t * B * R * M + rr * M + m]);
                printf("\n");
            }
        }
    }
    double state_tol = single ? 2e-3 : 1e-7, grad_tol = single ? INFINITY : 1e-7;
    report(cs, "joint", joint, golden_array_get(gc, "joint"), state_tol);
    report(cs, "cartesian", cart, golden_array_get(gc, "cartesian"), state_tol);
    report(cs, "muscle", mus, golden_array_get(gc, "muscle"), state_tol);
    report(cs, "geometry", geo, golden_array_get(gc, "geometry"), state_tol);
    /* loss = sum W_cartesian . cartesian[1:] + sum W_force . force[1:] / F_max */
    const golden_array *wc = golden_array_get(gc, "W_cartesian"), *wf = golden_array_get(gc, "W_force");
    int fr = e->model.force_row;
    double loss = 0;
    for (int t = 1; t <= T; t++)
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < 2 * sp; k++)
                loss += wc->data[((long)(t - 1) * B + b) * 2 * sp + k] * cart[((long)t * B + b) * 2 * sp + k];
            for (int m = 0; m < M; m++)
                loss += wf->data[((long)(t - 1) * B + b) * M + m] * mus[((long)t * B + b) * R * M + fr * M + m] /
                        a_fmax->data[m];
        }
    report(cs, "loss", &loss, golden_array_get(gc, "loss"), state_tol);
    /* backward: g_state[t] = dL/ds_t; actions get step_vjp's second output */
    double *g = calloc((size_t)S * B, sizeof(double)), *gprev = calloc((size_t)S * B, sizeof(double));
    double *gact = calloc((size_t)M * B, sizeof(double)), *gload = calloc((size_t)(sp + dof) * B, sizeof(double));
    double *grad_actions = calloc((size_t)T * B * M, sizeof(double));
    for (int t = T; t >= 1; t--) {
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < 2 * sp; k++)
                g[(e->cart_off + k) * B + b] += wc->data[((long)(t - 1) * B + b) * 2 * sp + k];
            for (int m = 0; m < M; m++)
                g[(e->muscle_off + fr * M + m) * B + b] += wf->data[((long)(t - 1) * B + b) * M + m] / a_fmax->data[m];
        }
        for (int b = 0; b < B; b++)
            for (int m = 0; m < M; m++)
                act[m * B + b] = a_act->data[((long)(t - 1) * B + b) * M + m];
        const double *in[] = {st + (long)(t - 1) * S * B, act, load, g};
        double *out[] = {gprev, gact, gload};
        int ir[] = {S, M, sp + dof, S}, orr[] = {S, M, sp + dof};
        call(&r, F_STEP_VJP, B, B, 4, in, ir, 3, out, orr);
        for (int b = 0; b < B; b++)
            for (int m = 0; m < M; m++)
                grad_actions[((long)(t - 1) * B + b) * M + m] = gact[m * B + b];
        double *tmp = g;
        g = gprev;
        gprev = tmp;
    }
    double *gj = calloc((size_t)2 * dof * B, sizeof(double)), *grad_init = calloc((size_t)2 * dof * B, sizeof(double));
    {
        const double *in[] = {joint0, g};
        double *out[] = {gj};
        int ir[] = {2 * dof, S}, orr[] = {2 * dof};
        call(&r, F_INIT_VJP, B, B, 2, in, ir, 1, out, orr);
    }
    for (int b = 0; b < B; b++)
        for (int k = 0; k < 2 * dof; k++)
            grad_init[b * 2 * dof + k] = gj[k * B + b];
    report(cs, "grad_actions", grad_actions, golden_array_get(gc, "grad_actions"), grad_tol);
    report(cs, "grad_initial_joint", grad_init, golden_array_get(gc, "grad_initial_joint"), grad_tol);
    printf("golden %s %s\n", cs, failed ? "FAIL" : "ok");
    free(st);
    free(joint0);
    free(act);
    free(load);
    free(joint);
    free(cart);
    free(mus);
    free(geo);
    free(g);
    free(gprev);
    free(gact);
    free(gload);
    free(grad_actions);
    free(gj);
    free(grad_init);
    free(r.params);
    mnet_model_so_free(so);
    mnet_compilation_free(comp);
    golden_free(gc);
    return failed ? 1 : 0;
}
