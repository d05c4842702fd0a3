/* mnet_run.c - from a .mnet file (or stored sources) to a loaded model, its
 * parameter table and the run's configuration. */
#include "mnet_run.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet_log.h"

int mnet_run_open(mnet_run *r, const mnet_compile_options *o, mnet_backend backend, FILE *diag, char *err, size_t n)
{
    memset(r, 0, sizeof *r);
    double t0 = 1e3 * mnet_progress_now();
    r->backend = backend;
    r->comp = mnet_compile_opts(o, diag);
    if (!r->comp) {
        snprintf(err, n, "out of memory");
        return 2;
    }
    if (r->comp->ctx->n_errors || !r->comp->eff)
        return 1;
    r->task_name = r->comp->task_name;
    r->cfg = r->comp->task.cfg;
    int single = sizeof(mnet_real) == sizeof(float);
    const char *name = o->n_sources > 0 ? o->source_names[0] : o->path;
    if (backend == MNET_BACKEND_JIT) {
        r->jit = mnet_compilation_jit(r->comp, single, err, n);
        if (!r->jit)
            return 2;
        r->model = mnet_jit_model_table(r->jit);
    } else {
        char dir[] = "/tmp/mnet_run_XXXXXX", cpath[64];
        if (!mkdtemp(dir)) {
            snprintf(err, n, "cannot create a temporary directory");
            return 2;
        }
        snprintf(cpath, sizeof cpath, "%s/model.c", dir);
        if (mnet_write_c(r->comp, cpath, name, single) != 0) {
            snprintf(err, n, "cannot write the generated C to %s", cpath);
            rmdir(dir);
            return 2;
        }
        r->so = mnet_model_so_build(cpath, err, n);
        remove(cpath);
        rmdir(dir);
        if (!r->so)
            return 2;
        r->model = mnet_model_so_get(r->so);
    }
    r->ms_compile = 1e3 * mnet_progress_now() - t0;
    r->params = malloc((size_t)(r->model->n_params + 1) * sizeof(mnet_real));
    r->param_values = malloc((size_t)(r->model->n_params + 1) * sizeof(double));
    if (!r->params || !r->param_values) {
        snprintf(err, n, "out of memory");
        return 2;
    }
    for (int i = 0; i < r->model->n_params; i++)
        r->param_values[i] = r->model->param_defaults[i];
    mnet_run_sync_params(r);
    return 0;
}

void mnet_run_set_param(mnet_run *r, int i, double v)
{
    r->param_values[i] = v;
    r->params[i] = (mnet_real)v;
}

int mnet_run_check_param(const mnet_run *r, int i, double v, char *err, size_t n)
{
    return mnet_compilation_param_check(r->comp, i, v, err, n);
}

int mnet_run_check_params(const mnet_run *r, const double *values, char *err, size_t n)
{
    for (int i = 0; i < r->model->n_params; i++)
        if (mnet_run_check_param(r, i, values[i], err, n) != 0)
            return -1;
    return 0;
}

int mnet_run_param_index(const mnet_run *r, const char *name)
{
    for (int i = 0; i < r->model->n_params; i++)
        if (!strcmp(r->model->param_names[i], name))
            return i;
    return -1;
}

int mnet_run_apply(const mnet_run *r, mnet_task_config *cfg, double *values, const char *name, const char *value,
                   char *err, size_t n)
{
    int i = mnet_run_param_index(r, name);
    if (i < 0)
        return task_set(cfg, name, value, NULL, err, n) ? -1 : 0;
    double v;
    if (task_eval_number(name, value, mnet_compilation_param_dim(r->comp, i), &v, err, n) != 0 ||
        mnet_run_check_param(r, i, v, err, n) != 0)
        return -1;
    values[i] = v;
    return 0;
}

void mnet_run_sync_params(mnet_run *r)
{
    for (int i = 0; i < r->model->n_params; i++)
        r->params[i] = (mnet_real)r->param_values[i];
}

void mnet_run_close(mnet_run *r)
{
    free(r->params);
    free(r->param_values);
    mnet_model_so_free(r->so);
    mnet_jit_model_release(r->jit);
    mnet_compilation_free(r->comp);
    memset(r, 0, sizeof *r);
}

char *mnet_run_text(const mnet_run *r)
{
    return mnet_run_text_alloc(&r->cfg, r->model, r->param_values);
}
