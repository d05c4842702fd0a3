/* model_util.c - test helpers around compiled effectors. */
#include "model_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mnet_compilation *tm_compile_file(const char *rel_path, const char *effector)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", MNET_SOURCE_DIR, rel_path);
    mnet_compilation *c = mnet_compile(path, effector, stderr);
    if (c && !c->eff) {
        mnet_compilation_free(c);
        return NULL;
    }
    return c;
}

mnet_compilation *tm_compile_text(const char *text, const char *effector)
{
    mnet_compilation *c = mnet_compile_text("<test>", text, effector, stderr);
    if (c && !c->eff) {
        mnet_compilation_free(c);
        return NULL;
    }
    return c;
}

mnet_compilation *tm_compile_with_losses(const char *file, const char *effector)
{
    char text[4096];
    snprintf(text, sizeof text,
             "import \"%s/%s\";\n"
             "task all_losses {\n"
             "  effector %s;\n"
             "  loss position_l1(weight = 1);\n"
             "  loss position_l2(weight = 2);\n"
             "  loss speed(weight = 0.5);\n"
             "  loss activation_l2(weight = 0.1);\n"
             "  loss muscle_force(weight = 1e-3);\n"
             "  loss written(value = norm(position - target) + sum(exp(-q) * qd ^ 2) +\n"
             "                      sum(force * activation / max_force) + sum(l_mt * v_mt) / n_muscles);\n"
             "}\n",
             MNET_SOURCE_DIR, file, effector);
    return tm_compile_text(text, effector);
}

double *tm_loss_target(const mnet_effector *e, const double *state, int B, unsigned long long *seed)
{
    double *target = malloc((size_t)e->space_dim * B * sizeof(double));
    for (int k = 0; target && k < e->space_dim * B; k++)
        target[k] = state[(e->cart_off + k / B) * B + k % B] + tm_uniform(seed, 0.05, 0.2);
    return target;
}

double *tm_params(const mnet_effector *e)
{
    double *p = malloc((size_t)(e->n_params + 1) * sizeof(double));
    for (int i = 0; p && i < e->n_params; i++)
        p[i] = e->params[i].value;
    return p;
}

void tm_eval(const mnet_effector *e, const ir_function *f, int B, const double *const *in, double *const *out,
             const double *params)
{
    ir_eval(e->g, f, B, B, in, out, params);
}

double tm_uniform(unsigned long long *s, double lo, double hi)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return lo + (hi - lo) * (double)(*s >> 11) / 9007199254740992.0;
}

void tm_random_state(const mnet_effector *e, const double *params, int B, int steps, unsigned long long *seed,
                     double *state)
{
    int dof = e->n_dof, M = e->n_muscles, S = e->n_state;
    double *j0 = calloc((size_t)2 * dof * B, sizeof(double));
    double *act = calloc((size_t)M * B, sizeof(double)), *load = calloc((size_t)e->n_load * B, sizeof(double));
    double *next = calloc((size_t)S * B, sizeof(double));
    for (int j = 0; j < dof; j++)
        for (int b = 0; b < B; b++) {
            double lo = e->pos_lo[j], hi = e->pos_hi[j], w = hi - lo;
            j0[j * B + b] = tm_uniform(seed, lo + 0.3 * w, hi - 0.3 * w);
            j0[(dof + j) * B + b] = tm_uniform(seed, -0.5, 0.5);
        }
    const double *in0[] = {j0};
    double *out0[] = {state};
    tm_eval(e, &e->fn_init, B, in0, out0, params);
    for (int t = 0; t < steps; t++) {
        for (int k = 0; k < M * B; k++)
            act[k] = tm_uniform(seed, 0.1, 0.9);
        const double *in[] = {state, act, load};
        double *out[] = {next};
        tm_eval(e, &e->fn_step, B, in, out, params);
        memcpy(state, next, (size_t)S * B * sizeof(double));
    }
    free(j0);
    free(act);
    free(load);
    free(next);
}

typedef void (*fn_float)(int n, int ld, const float *const *in, float *const *out, const float *params);

void tm_run_fn(mnet_fn f, int single, int B, int n_in, const double *const *in, const int *in_rows, int n_out,
               double *const *out, const int *out_rows, const double *params, int n_params)
{
    if (!single) {
        f(B, B, in, out, params);
        return;
    }
    float *fin[8] = {NULL}, *fout[8] = {NULL}, *fp = malloc((size_t)(n_params + 1) * sizeof(float));
    for (int i = 0; i < n_params; i++)
        fp[i] = (float)params[i];
    for (int a = 0; a < n_in; a++) {
        fin[a] = malloc((size_t)in_rows[a] * B * sizeof(float));
        for (int k = 0; k < in_rows[a] * B; k++)
            fin[a][k] = (float)in[a][k];
    }
    for (int a = 0; a < n_out; a++)
        fout[a] = calloc((size_t)out_rows[a] * B, sizeof(float));
    /* the table's pointer type says double; the function takes float */
    ((fn_float)(void (*)(void))f)(B, B, (const float *const *)fin, fout, fp);
    for (int a = 0; a < n_out; a++) {
        for (int k = 0; k < out_rows[a] * B; k++)
            out[a][k] = fout[a][k];
        free(fout[a]);
    }
    for (int a = 0; a < n_in; a++)
        free(fin[a]);
    free(fp);
}

int tm_check_max_force(const mnet_model *m, const char *what, int *with_force)
{
    int bad = 0, found = 0;
    if (!m->muscle_max_force) {
        printf("\n  %s: no muscle_max_force in the table", what);
        return m->n_muscles > 0 ? m->n_muscles : 1;
    }
    for (int k = 0; k < m->n_muscles; k++) {
        char name[256];
        snprintf(name, sizeof name, "%s.max_force", m->muscle_names[k]);
        int want = -1;
        for (int i = 0; i < m->n_params; i++)
            if (!strcmp(m->param_names[i], name))
                want = i;
        found += want >= 0;
        if (m->muscle_max_force[k] != want) {
            printf("\n  %s: muscle_max_force[%d] (%s) is %d, '%s' is parameter %d", what, k, m->muscle_names[k],
                   m->muscle_max_force[k], name, want);
            bad++;
        }
    }
    if (with_force)
        *with_force = found;
    return bad;
}
