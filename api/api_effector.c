/* api_effector.c - the public layer's compile and effector: mn_compile*,
 * sizes, names, parameters and the batched model functions in double
 * precision (mnet.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

int mn_abi(void) { return MN_ABI; }
const char *mn_version(void) { return MN_VERSION; }

int mn__fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

mnet_real *mn__params_real(const double *values, int n)
{
    mnet_real *p = malloc(((size_t)n + 1) * sizeof *p);
    for (int i = 0; p && i < n; i++)
        p[i] = (mnet_real)values[i];
    return p;
}

/* ---- compile ---------------------------------------------------------------- */

mn_effector *mn__effector_from(mnet_compilation *c, const char *diag, char *err, size_t errlen)
{
    mn_effector *e = calloc(1, sizeof *e);
    if (!e) {
        mnet_compilation_free(c);
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        return NULL;
    }
    e->comp = c;
    e->diag = strdup(diag ? diag : "");
    e->jit_d = mnet_compilation_jit(c, 0, err, errlen);
    if (!e->jit_d || !e->diag) {
        if (e->diag && !e->jit_d && err && errlen && !err[0])
            mn__fail(err, errlen, MN_ECOMPILE, "the JIT could not build the model");
        if (!e->diag)
            mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        mn_effector_free(e);
        return NULL;
    }
    e->md = mnet_jit_model_table(e->jit_d);
    e->values = mnet_compilation_param_defaults(c);
    if (!e->values && e->md->n_params > 0) {
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        mn_effector_free(e);
        return NULL;
    }
    e->cfg = c->task.cfg;
    return e;
}

mn_effector *mn_compile(const mn_compile_options *o, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!o || (!o->path && !o->text)) {
        mn__fail(err, errlen, MN_EINVAL, "mn_compile: no options, or neither a path nor a text");
        return NULL;
    }
    /* the diagnostics go to memory, never to the caller's terminal */
    char *buf = NULL;
    size_t len = 0;
    FILE *diag = open_memstream(&buf, &len);
    if (!diag) {
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        return NULL;
    }
    mnet_compile_options co;
    memset(&co, 0, sizeof co);
    co.path = o->path ? o->path : "<text>";
    co.text = o->text;
    co.task = o->task;
    co.effector = o->effector;
    mnet_compilation *c = mnet_compile_opts(&co, diag);
    fclose(diag);
    if (!c || c->ctx->n_errors || !c->eff) {
        if (!c)
            mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        else
            mn__fail(err, errlen, MN_ECOMPILE, "%s", buf && buf[0] ? buf : "the sources do not compile\n");
        mnet_compilation_free(c);
        free(buf);
        return NULL;
    }
    mn_effector *e = mn__effector_from(c, buf, err, errlen);
    free(buf);
    return e;
}

mn_effector *mn_compile_file(const char *path, char *err, size_t errlen)
{
    mn_compile_options o = {path, NULL, NULL, NULL};
    return mn_compile(&o, err, errlen);
}

mn_effector *mn_compile_text(const char *name, const char *text, char *err, size_t errlen)
{
    if (!text) {
        mn__fail(err, errlen, MN_EINVAL, "mn_compile_text: no text (NULL)");
        return NULL;
    }
    mn_compile_options o = {name ? name : "<text>", text, NULL, NULL};
    return mn_compile(&o, err, errlen);
}

void mn_effector_free(mn_effector *e)
{
    if (!e)
        return;
    mnet_jit_model_release(e->jit_f);
    mnet_jit_model_release(e->jit_d);
    mnet_compilation_free(e->comp);
    free(e->values);
    free(e->diag);
    free(e->run_text);
    free(e->scratch);
    free(e);
}

const mnet_model *mn__float_model(mn_effector *e, char *err, size_t errlen)
{
    if (!e->mf) {
        e->jit_f = mnet_compilation_jit(e->comp, 1, err, errlen);
        if (!e->jit_f)
            return NULL;
        e->mf = mnet_jit_model_table(e->jit_f);
    }
    return e->mf;
}

const char *mn_effector_diagnostics(const mn_effector *e) { return e ? e->diag : NULL; }
const char *mn_effector_name(const mn_effector *e) { return e ? e->md->name : NULL; }
const char *mn_effector_task(const mn_effector *e) { return e ? e->comp->task_name : NULL; }

const char *mn_effector_run_text(mn_effector *e)
{
    if (!e)
        return NULL;
    char *text = mnet_run_text_alloc(&e->cfg, e->md, e->values);
    if (!text)
        return NULL;
    free(e->run_text);
    e->run_text = text;
    return text;
}

/* ---- sizes, names, parameters -------------------------------------------------- */

int mn_effector_size(const mn_effector *e, int which)
{
    if (!e)
        return -1;
    const mnet_model *m = e->md;
    switch (which) {
    case MN_N_DOF: return m->n_dof;
    case MN_SPACE_DIM: return m->space_dim;
    case MN_N_MUSCLES: return m->n_muscles;
    case MN_N_MUSCLE_ROWS: return m->n_muscle_rows;
    case MN_N_STATE: return m->n_state;
    case MN_N_SENSE: return m->n_sense;
    case MN_N_LOAD: return m->n_load;
    case MN_N_PARAMS: return m->n_params;
    case MN_N_LOSS: return m->n_loss;
    case MN_N_POINTS: return m->points ? m->n_points : 0;
    case MN_N_MINISTEPS: return m->n_ministeps;
    default: return -1;
    }
}

double mn_effector_step_size(const mn_effector *e) { return e ? e->md->step_size : NAN; }

const char *mn_effector_names(const mn_effector *e, int which, int i)
{
    if (!e || i < 0)
        return NULL;
    const mnet_model *m = e->md;
    const char *const *list = NULL;
    int n = 0;
    switch (which) {
    case MN_NAMES_STATE: list = m->state_names, n = m->n_state; break;
    case MN_NAMES_MUSCLE: list = m->muscle_names, n = m->n_muscles; break;
    case MN_NAMES_MUSCLE_ROW: list = m->muscle_row_names, n = m->n_muscle_rows; break;
    case MN_NAMES_PARAM: list = m->param_names, n = m->n_params; break;
    case MN_NAMES_LOSS: list = m->loss_names, n = m->n_loss; break;
    case MN_NAMES_POINT: list = m->point_names, n = m->points ? m->n_points : 0; break;
    default: return NULL;
    }
    return list && i < n ? list[i] : NULL;
}

int mn_effector_param_index(const mn_effector *e, const char *name)
{
    for (int i = 0; e && name && i < e->md->n_params; i++)
        if (!strcmp(e->md->param_names[i], name))
            return i;
    return -1;
}

int mn_effector_get_param(const mn_effector *e, int i, double *value, char *err, size_t errlen)
{
    if (!e || !value)
        return mn__fail(err, errlen, MN_EINVAL, "mn_effector_get_param: %s is NULL", e ? "value" : "the effector");
    if (i < 0 || i >= e->md->n_params)
        return mn__fail(err, errlen, MN_EINVAL, "effector %s has %d parameters, not %d", e->md->name,
                        e->md->n_params, i + 1);
    *value = e->values[i];
    return MN_OK;
}

int mn_effector_set_param(mn_effector *e, int i, double value, char *err, size_t errlen)
{
    if (!e)
        return mn__fail(err, errlen, MN_EINVAL, "mn_effector_set_param: the effector is NULL");
    if (i < 0 || i >= e->md->n_params)
        return mn__fail(err, errlen, MN_EINVAL, "effector %s has %d parameters, not %d", e->md->name,
                        e->md->n_params, i + 1);
    char msg[512];
    if (!isfinite(value) || mnet_compilation_param_check(e->comp, i, value, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EINVAL, "%s = %g: %s", e->md->param_names[i], value,
                        isfinite(value) ? msg : "not a finite number");
    e->values[i] = value;
    return MN_OK;
}

int mn_effector_joint_range(const mn_effector *e, double *lower, double *upper, char *err, size_t errlen)
{
    if (!e || !lower || !upper)
        return mn__fail(err, errlen, MN_EINVAL, "mn_effector_joint_range: %s is NULL",
                        !e ? "the effector" : "a buffer");
    memcpy(lower, e->md->pos_lower, (size_t)e->md->n_dof * sizeof *lower);
    memcpy(upper, e->md->pos_upper, (size_t)e->md->n_dof * sizeof *upper);
    return MN_OK;
}

/* ---- the model functions in double ------------------------------------------------ */

/* The double table's functions take doubles (the JIT built them so); the
 * header's mnet_fn is typed for the runtime's float. */
typedef void (*fn_d)(int n, int ld, const double *const *in, double *const *out, const double *params);

static void call(mnet_fn f, int n, const double *const *in, double *const *out, const double *params)
{
    ((fn_d)(void (*)(void))f)(n, n, in, out, params);
}

/* Checks a call: the handle, n, every buffer given (NULL entries of
 * `bufs` are errors), and ensures rows*n doubles of zeroed scratch. */
static int check_call(mn_effector *e, const char *fn, int n, const void *const *bufs, int n_bufs, size_t scratch,
                      char *err, size_t errlen)
{
    if (!e)
        return mn__fail(err, errlen, MN_EINVAL, "%s: the effector is NULL", fn);
    if (n < 1)
        return mn__fail(err, errlen, MN_EINVAL, "%s: n = %d columns (need at least 1)", fn, n);
    for (int i = 0; i < n_bufs; i++)
        if (!bufs[i])
            return mn__fail(err, errlen, MN_EINVAL, "%s: buffer %d is NULL", fn, i + 1);
    if (scratch > e->n_scratch) {
        double *s = realloc(e->scratch, scratch * sizeof *s);
        if (!s)
            return mn__fail(err, errlen, MN_ENOMEM, "%s: out of memory", fn);
        e->scratch = s;
        e->n_scratch = scratch;
    }
    if (scratch)
        memset(e->scratch, 0, scratch * sizeof *e->scratch);
    return MN_OK;
}

int mn_effector_init(mn_effector *e, int n, const double *joint0, double *state, char *err, size_t errlen)
{
    const void *b[] = {joint0, state};
    int rc = check_call(e, "mn_effector_init", n, b, 2, 0, err, errlen);
    if (rc)
        return rc;
    const double *in[1] = {joint0};
    double *const out[1] = {state};
    call(e->md->init, n, in, out, e->values);
    return MN_OK;
}

int mn_effector_init_vjp(mn_effector *e, int n, const double *joint0, const double *g_state, double *g_joint0,
                         char *err, size_t errlen)
{
    const void *b[] = {joint0, g_state, g_joint0};
    int rc = check_call(e, "mn_effector_init_vjp", n, b, 3, 0, err, errlen);
    if (rc)
        return rc;
    if (!e->md->init_vjp)
        return mn__fail(err, errlen, MN_EINVAL, "effector %s has no init_vjp", e->md->name);
    const double *in[2] = {joint0, g_state};
    double *const out[1] = {g_joint0};
    call(e->md->init_vjp, n, in, out, e->values);
    return MN_OK;
}

int mn_effector_step(mn_effector *e, int n, const double *state, const double *action, const double *load,
                     double *next, char *err, size_t errlen)
{
    const void *b[] = {state, action, next};
    int rc = check_call(e, "mn_effector_step", n, b, 3, load || !e ? 0 : (size_t)e->md->n_load * (size_t)n, err,
                        errlen);
    if (rc)
        return rc;
    const double *in[3] = {state, action, load ? load : e->scratch};
    double *const out[1] = {next};
    call(e->md->step, n, in, out, e->values);
    return MN_OK;
}

int mn_effector_step_vjp(mn_effector *e, int n, const double *state, const double *action, const double *load,
                         const double *g_next, double *g_state, double *g_action, double *g_load, char *err,
                         size_t errlen)
{
    const void *b[] = {state, action, g_next, g_state, g_action};
    size_t NL = e ? (size_t)e->md->n_load * (size_t)n : 0;
    int rc = check_call(e, "mn_effector_step_vjp", n, b, 5, (load ? 0 : NL) + (g_load ? 0 : NL), err, errlen);
    if (rc)
        return rc;
    const double *in[4] = {state, action, load ? load : e->scratch, g_next};
    double *const out[3] = {g_state, g_action, g_load ? g_load : e->scratch + (load ? 0 : NL)};
    call(e->md->step_vjp, n, in, out, e->values);
    return MN_OK;
}

int mn_effector_sense(mn_effector *e, int n, const double *state, double *sense, char *err, size_t errlen)
{
    const void *b[] = {state, sense};
    int rc = check_call(e, "mn_effector_sense", n, b, 2, 0, err, errlen);
    if (rc)
        return rc;
    const double *in[1] = {state};
    double *const out[1] = {sense};
    call(e->md->sense, n, in, out, e->values);
    return MN_OK;
}

int mn_effector_sense_vjp(mn_effector *e, int n, const double *state, const double *g_sense, double *g_state,
                          char *err, size_t errlen)
{
    const void *b[] = {state, g_sense, g_state};
    int rc = check_call(e, "mn_effector_sense_vjp", n, b, 3, 0, err, errlen);
    if (rc)
        return rc;
    const double *in[2] = {state, g_sense};
    double *const out[1] = {g_state};
    call(e->md->sense_vjp, n, in, out, e->values);
    return MN_OK;
}

int mn_effector_points(mn_effector *e, int n, const double *state, double *points, char *err, size_t errlen)
{
    const void *b[] = {state, points};
    int rc = check_call(e, "mn_effector_points", n, b, 2, 0, err, errlen);
    if (rc)
        return rc;
    if (!e->md->points)
        return mn__fail(err, errlen, MN_EINVAL, "effector %s has no drawing points", e->md->name);
    const double *in[1] = {state};
    double *const out[1] = {points};
    call(e->md->points, n, in, out, e->values);
    return MN_OK;
}
