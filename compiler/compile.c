/* compile.c - the compiler as one call. */
#include "compile.h"

#include <stdlib.h>
#include <string.h>

#include "emit_model.h"
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

mnet_effector *lower_main_effector(mnet_ctx *ctx, const mnet_program *prog, const char *effector, task_spec *used)
{
    /* The loss terms compiled with the effector are those of the main
     * file's (last) task when it drives this effector; the task's effector
     * is the one compiled when none is named. */
    const mnet_def *task = NULL;
    for (int i = 0; i < prog->n_defs; i++)
        if (prog->defs[i].kind == DEF_TASK && prog->defs[i].loc.file == 0)
            task = &prog->defs[i];
    task_spec spec;
    const task_spec *losses = NULL;
    if (task && task_check(ctx, prog, task, &spec) == 0 && spec.effector &&
        (!effector || !strcmp(effector, spec.effector))) {
        losses = &spec;
        effector = spec.effector;
    }
    if (used) {
        if (losses) {
            *used = spec;
        } else { /* the reference recipe */
            task_spec_default(used);
            task_spec_recipe_loss(used);
        }
    }
    return ctx->n_errors ? NULL : lower_effector_task(ctx, prog, effector, losses);
}

static mnet_compilation *finish(mnet_compilation *c, const char *effector, FILE *diag)
{
    if (c->ctx->n_errors == 0)
        program_collect(c->ctx, &c->prog);
    if (c->ctx->n_errors == 0)
        c->eff = lower_main_effector(c->ctx, &c->prog, effector, NULL);
    hash_sources(c);
    if (diag && c->ctx->n_errors)
        mnet_print_diags(c->ctx, diag);
    return c;
}

static mnet_compilation *start(const char *extra_dir)
{
    mnet_compilation *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ctx = mnet_ctx_new();
    if (!c->ctx) {
        free(c);
        return NULL;
    }
    if (extra_dir)
        mnet_ctx_add_search_dir(c->ctx, extra_dir);
    const char *p = getenv("MNET_PATH");
    if (p) {
        char *copy = strdup(p), *save = NULL;
        for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
            if (*d)
                mnet_ctx_add_search_dir(c->ctx, d);
        free(copy);
    }
    mnet_ctx_add_search_dir(c->ctx, MNET_MODELS_DIR);
    return c;
}

mnet_compilation *mnet_compile(const char *path, const char *effector, FILE *diag)
{
    return mnet_compile_ex(path, effector, diag, NULL);
}

mnet_compilation *mnet_compile_ex(const char *path, const char *effector, FILE *diag, const char *extra_dir)
{
    mnet_compilation *c = start(extra_dir);
    if (!c)
        return NULL;
    mnet_load_file(c->ctx, path, mnet_no_loc());
    return finish(c, effector, diag);
}

mnet_compilation *mnet_compile_text(const char *name, const char *text, const char *effector, FILE *diag)
{
    mnet_compilation *c = start(NULL);
    if (!c)
        return NULL;
    mnet_load_text(c->ctx, name, text, (long)strlen(text));
    return finish(c, effector, diag);
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
    if (!c->eff)
        return -1;
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int bad = !f;
    if (f) {
        bad = emit_model_c(f, c->eff, source, c->source_hash, single_precision) != 0;
        bad |= fclose(f) != 0;
    }
    if (!bad)
        bad = rename(tmp, path) != 0;
    if (bad)
        remove(tmp);
    free(tmp);
    return bad ? -1 : 0;
}
