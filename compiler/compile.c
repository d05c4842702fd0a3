/* compile.c - the compiler as one call. */
#include "compile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emit_model.h"
#include "ir_llvm.h"
#include "jit_model.h"
#include "lower_loss.h"
#include "lower_params.h"
#include "source.h"
#include "task_check.h"

static void hash_sources(mnet_compilation *c)
{
    unsigned long long h = 1469598103934665603ULL;
    for (int i = 0; i < c->ctx->n_sources; i++)
        for (long k = 0; k < c->ctx->sources[i].len; k++) {
            h ^= (unsigned char)c->ctx->sources[i].text[k];
            h *= 1099511628211ULL;
        }
    snprintf(c->source_hash, sizeof c->source_hash, "%016llx", h);
}

/* Picks and checks the task: by name, else the main file's last task, else
 * the reference recipe on the main file's (last) effector.  Returns the
 * errors found. */
static int select_task(mnet_ctx *ctx, const mnet_program *prog, const char *name, task_spec *spec,
                       const mnet_def **task_def, const char **task_name)
{
    const mnet_def *task = NULL;
    for (int i = 0; i < prog->n_defs; i++) {
        const mnet_def *d = &prog->defs[i];
        if (d->kind == DEF_TASK && (name ? !strcmp(d->name, name) : d->loc.file == 0))
            task = d;
    }
    *task_def = task;
    *task_name = task ? task->name : MNET_DEFAULT_TASK;
    if (task)
        return task_check(ctx, prog, task, spec);
    if (name && strcmp(name, MNET_DEFAULT_TASK) != 0) {
        mnet_error(ctx, mnet_no_loc(), "no task named '%s' in %s", name,
                   ctx->n_sources ? ctx->sources[0].path : "the sources");
        return 1;
    }
    const mnet_def *eff = NULL;
    for (int i = 0; i < prog->n_defs; i++)
        if (prog->defs[i].kind == DEF_EFFECTOR && (prog->defs[i].loc.file == 0 || !eff))
            eff = &prog->defs[i];
    task_spec_default(spec);
    task_spec_recipe_loss(spec);
    spec->effector = eff ? eff->name : NULL;
    return 0;
}

/* Lowers `effector` (NULL: the task's) with the task's loss terms when the
 * task drives it, else the recipe's. */
static mnet_effector *lower_for(mnet_ctx *ctx, const mnet_program *prog, const char *effector, const task_spec *spec)
{
    if (!effector)
        effector = spec->effector;
    int own = spec->effector && !strcmp(effector ? effector : "", spec->effector);
    task_spec recipe;
    if (!own) {
        task_spec_default(&recipe);
        task_spec_recipe_loss(&recipe);
    }
    return ctx->n_errors ? NULL : lower_effector_task(ctx, prog, effector, own ? spec : &recipe);
}

mnet_effector *lower_main_effector(mnet_ctx *ctx, const mnet_program *prog, const char *effector, task_spec *used)
{
    task_spec spec;
    const mnet_def *def;
    const char *name;
    select_task(ctx, prog, NULL, &spec, &def, &name);
    if (used)
        *used = spec;
    return lower_for(ctx, prog, effector, &spec);
}

/* The task's configuration becomes the run's; each loss term keeps the
 * value expression and position it was written with. */
static void adopt_run(mnet_ctx *ctx, task_spec *t, const mnet_task_config *run)
{
    task_spec was = *t;
    t->cfg = *run;
    for (int i = 0; i < run->n_losses; i++) {
        const char *name = mnet_loss_name(NULL, &run->loss[i]);
        int k = mnet_setting_loss_index(&was.cfg, name), kind;
        t->loss_value[i] = k >= 0 ? was.loss_value[k] : NULL;
        t->loss_loc[i] = k >= 0 ? was.loss_loc[k] : mnet_no_loc();
        if (k < 0 && mnet_name_lookup(mnet_loss_kind_names, name, &kind) != 0)
            mnet_error(ctx, mnet_no_loc(), "loss '%s' has no value: a term of your own is written in the task", name);
    }
}

static mnet_compilation *finish(mnet_compilation *c, const mnet_compile_options *o, FILE *diag)
{
    mnet_ctx *ctx = c->ctx;
    task_spec_default(&c->task);
    c->task_name = MNET_DEFAULT_TASK;
    if (ctx->n_errors == 0)
        program_collect(ctx, &c->prog);
    if (ctx->n_errors == 0 && o->check_all)
        check_program(ctx, &c->prog);
    if (ctx->n_errors == 0)
        select_task(ctx, &c->prog, o->task, &c->task, &c->task_def, &c->task_name);
    if (ctx->n_errors == 0 && o->run)
        adopt_run(ctx, &c->task, o->run);
    /* no effector at all: lowering says so, at the main file */
    if (ctx->n_errors == 0 && !o->no_lower)
        c->eff = lower_for(ctx, &c->prog, o->effector, &c->task);
    /* the module delays in steps need the effector's step */
    if (ctx->n_errors == 0 && c->eff && c->task.effector && !strcmp(c->eff->name, c->task.effector))
        task_check_delays(ctx, &c->task, c->eff->step);
    hash_sources(c);
    if (diag && ctx->n_errors)
        mnet_print_diags(ctx, diag);
    return c;
}

double *mnet_compilation_param_defaults(const mnet_compilation *c)
{
    if (!c->eff || c->eff->n_params < 1)
        return NULL;
    double *p = malloc((size_t)c->eff->n_params * sizeof *p);
    for (int i = 0; p && i < c->eff->n_params; i++)
        p[i] = c->eff->params[i].value;
    return p;
}

/* MNET_PATH's directories, then the standard library. */
static void add_search_path(mnet_ctx *ctx)
{
    const char *p = getenv("MNET_PATH");
    if (p) {
        char *copy = strdup(p), *save = NULL;
        for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
            if (*d)
                mnet_ctx_add_search_dir(ctx, d);
        free(copy);
    }
    mnet_ctx_add_search_dir(ctx, MNET_MODELS_DIR);
}

mnet_compilation *mnet_compile_opts(const mnet_compile_options *o, FILE *diag)
{
    mnet_compilation *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ctx = mnet_ctx_new();
    if (!c->ctx) {
        free(c);
        return NULL;
    }
    if (o->n_sources > 0) {
        /* from memory: the sources are the whole world */
        if (mnet_ctx_set_memory_sources(c->ctx, o->n_sources, o->source_names, o->source_texts, o->source_lens) != 0)
            mnet_error(c->ctx, mnet_no_loc(), "out of memory");
        else
            mnet_load_file(c->ctx, o->source_names[0], mnet_no_loc());
        return finish(c, o, diag);
    }
    for (int i = 0; i < o->n_include; i++)
        mnet_ctx_add_search_dir(c->ctx, o->include[i]);
    add_search_path(c->ctx);
    if (o->text)
        mnet_load_text(c->ctx, o->path, o->text, (long)strlen(o->text));
    else
        mnet_load_file(c->ctx, o->path, mnet_no_loc());
    return finish(c, o, diag);
}

mnet_compilation *mnet_compile(const char *path, const char *effector, FILE *diag)
{
    return mnet_compile_ex(path, effector, diag, NULL);
}

mnet_compilation *mnet_compile_ex(const char *path, const char *effector, FILE *diag, const char *extra_dir)
{
    const char *inc[1] = {extra_dir};
    mnet_compile_options o = {.path = path, .effector = effector, .include = inc, .n_include = extra_dir ? 1 : 0};
    return mnet_compile_opts(&o, diag);
}

mnet_compilation *mnet_compile_text(const char *name, const char *text, const char *effector, FILE *diag)
{
    mnet_compile_options o = {.path = name, .text = text, .effector = effector};
    return mnet_compile_opts(&o, diag);
}

void mnet_compilation_free(mnet_compilation *c)
{
    if (!c)
        return;
    effector_free(c->eff);
    program_free(&c->prog);
    mnet_ctx_free(c->ctx);
    free(c);
}

int mnet_write_c(const mnet_compilation *c, const char *path, const char *source, int single_precision)
{
    return mnet_write_c_run(c, path, source, single_precision, NULL);
}

int mnet_write_c_run(const mnet_compilation *c, const char *path, const char *source, int single_precision,
                     const char *run_text)
{
    mnet_output_options o = {single_precision, 0, 0, run_text};
    return mnet_write_output(c, path, source, &o);
}

int mnet_write_output(const mnet_compilation *c, const char *path, const char *source, const mnet_output_options *o)
{
    if (!c->eff)
        return -1;
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int bad = !f, saved = errno;
    if (f) {
        if (o->llvm_ir) {
            const ir_function *fp[EFFECTOR_N_FUNCTIONS];
            ir_function fns[EFFECTOR_N_FUNCTIONS];
            int nf = effector_functions(c->eff, fp);
            for (int k = 0; k < nf; k++)
                fns[k] = *fp[k];
            bad = ir_emit_llvm_ir(f, c->eff->g, nf, fns, o->single_precision) != 0;
        } else {
            emit_options opt = {o->single_precision, o->check_finite, o->run_text};
            bad = emit_model_c_opts(f, c->eff, source, c->source_hash, &opt) != 0;
        }
        bad |= fclose(f) != 0;
        saved = errno;
    }
    if (!bad) {
        bad = rename(tmp, path) != 0;
        saved = errno;
    }
    if (bad)
        remove(tmp);
    free(tmp);
    errno = saved;
    return bad ? -1 : 0;
}

char *mnet_compilation_run_text(const mnet_compilation *c)
{
    const mnet_effector *eff = c->eff;
    if (!eff)
        return NULL;
    double *values = calloc((size_t)eff->n_params + 1, sizeof *values);
    const char **names = calloc((size_t)eff->n_params + 1, sizeof *names);
    char *text = NULL;
    if (values && names) {
        for (int i = 0; i < eff->n_params; i++) {
            values[i] = eff->params[i].value;
            names[i] = eff->params[i].name;
        }
        /* the run text names parameters through a model table */
        mnet_model m = {.name = eff->name, .n_params = eff->n_params, .param_names = names};
        text = mnet_run_text_alloc(&c->task.cfg, &m, values);
    }
    free(values);
    free(names);
    return text;
}

void mnet_compilation_dump(const mnet_compilation *c, FILE *out)
{
    if (c->eff)
        effector_dump(c->eff, out);
}

void mnet_compilation_stats(const mnet_compilation *c, FILE *out)
{
    if (c->eff)
        effector_print_stats(c->eff, out);
}

int mnet_compilation_param_check(const mnet_compilation *c, int i, double v, char *err, size_t n)
{
    if (!c->eff || i < 0 || i >= c->eff->n_params)
        return 0;
    return effector_param_check(c->eff, i, v, err, n);
}

int mnet_compilation_param_dim(const mnet_compilation *c, int i)
{
    return c->eff && i >= 0 && i < c->eff->n_params ? (int)c->eff->params[i].dim : -1;
}

int mnet_loss_term_compiles(const char *name, double derivative_weight, int has_value)
{
    task_loss l = {name, derivative_weight, has_value ? (const ast_expr *)1 : NULL, mnet_no_loc()};
    return loss_is_compiled(&l);
}

mnet_jit_model *mnet_compilation_jit(const mnet_compilation *c, int single_precision, char *err, size_t n)
{
    return jit_model_build(c->eff, c->source_hash, single_precision, err, n);
}

const mnet_model *mnet_jit_model_table(const mnet_jit_model *jm)
{
    return jit_model_get(jm);
}

void mnet_jit_model_release(mnet_jit_model *jm)
{
    jit_model_free(jm);
}
