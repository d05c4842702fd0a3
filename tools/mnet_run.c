/* mnet_run.c - from a .mnet file to a loaded model and a task config. */
#include "mnet_run.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit_model.h"
#include "mnet_log.h"

int mnet_run_open(mnet_run *r, const char *path, const char *task, mnet_backend backend, FILE *diag, char *err,
                  size_t n)
{
    return mnet_run_open_ex(r, path, task, backend, NULL, diag, err, n);
}

int mnet_run_open_ex(mnet_run *r, const char *path, const char *task, mnet_backend backend, const char *search_first,
                     FILE *diag, char *err, size_t n)
{
    memset(r, 0, sizeof *r);
    double t0 = 1e3 * mnet_progress_now();
    r->backend = backend;
    r->comp = mnet_compile_ex(path, NULL, NULL, search_first);
    if (!r->comp) {
        snprintf(err, n, "out of memory");
        return 2;
    }
    mnet_ctx *ctx = r->comp->ctx;
    mnet_program *prog = &r->comp->prog;
    /* the task: named, or the last one of the file named on the command line */
    if (ctx->n_errors == 0) {
        for (int i = 0; i < prog->n_defs; i++) {
            const mnet_def *d = &prog->defs[i];
            if (d->kind != DEF_TASK)
                continue;
            if (task ? !strcmp(d->name, task) : d->loc.file == 0)
                r->task_def = d;
        }
    }
    int default_task = ctx->n_errors == 0 && !r->task_def && (!task || !strcmp(task, MNET_DEFAULT_TASK));
    if (default_task) {
        /* no task: the reference recipe on the file's (last) effector */
        const mnet_def *eff = NULL;
        for (int i = 0; i < prog->n_defs; i++)
            if (prog->defs[i].kind == DEF_EFFECTOR && (prog->defs[i].loc.file == 0 || !eff))
                eff = &prog->defs[i];
        task_spec_default(&r->spec);
        r->spec.effector = eff ? eff->name : NULL;
        task_spec_recipe_loss(&r->spec);
        if (!eff)
            mnet_error(ctx, mnet_no_loc(), "%s defines no task and no effector", path);
    } else if (ctx->n_errors == 0 && !r->task_def) {
        mnet_error(ctx, mnet_no_loc(), "no task named '%s' in %s", task, path);
    }
    if (ctx->n_errors == 0 && !default_task)
        task_check(ctx, prog, r->task_def, &r->spec);
    r->task_name = r->task_def ? r->task_def->name : MNET_DEFAULT_TASK;
    if (ctx->n_errors == 0) {
        /* the effector the task names (the compilation lowered the last one) */
        effector_free(r->comp->eff);
        r->comp->eff = lower_effector_task(ctx, prog, r->spec.effector, &r->spec);
    }
    if (ctx->n_errors) {
        if (diag)
            mnet_print_diags(ctx, diag);
        return 1;
    }
    mnet_run_config(&r->spec, r->comp->eff, &r->cfg);
    int single = sizeof(mnet_real) == sizeof(float);
    if (backend == MNET_BACKEND_JIT) {
        r->jit = jit_model_build(r->comp->eff, r->comp->source_hash, single, err, n);
        if (!r->jit)
            return 2;
        r->model = jit_model_get(r->jit);
    } else {
        char dir[] = "/tmp/mnet_run_XXXXXX", cpath[64];
        if (!mkdtemp(dir)) {
            snprintf(err, n, "cannot create a temporary directory");
            return 2;
        }
        snprintf(cpath, sizeof cpath, "%s/model.c", dir);
        if (mnet_write_c(r->comp, cpath, path, single) != 0) {
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
    if (!r->params) {
        snprintf(err, n, "out of memory");
        return 2;
    }
    for (int i = 0; i < r->model->n_params; i++)
        r->params[i] = (mnet_real)r->model->param_defaults[i];
    return 0;
}

void mnet_run_close(mnet_run *r)
{
    free(r->params);
    mnet_model_so_free(r->so);
    jit_model_free(r->jit);
    mnet_compilation_free(r->comp);
    memset(r, 0, sizeof *r);
}
