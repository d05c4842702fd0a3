/* program.c - collecting the global definitions of all loaded sources. */
#include "program.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *head;
    def_kind kind;
} block_heads[] = {
    {"muscle_model", DEF_MUSCLE_MODEL},
    {"skeleton", DEF_SKELETON},
    {"effector", DEF_EFFECTOR},
    {"task", DEF_TASK},
};

const char *def_kind_name(def_kind kind)
{
    static const char *const names[] = {
        [DEF_FN] = "function", [DEF_CONST] = "constant", [DEF_MUSCLE_MODEL] = "muscle model",
        [DEF_SKELETON] = "skeleton", [DEF_EFFECTOR] = "effector", [DEF_TASK] = "task",
    };
    return names[kind];
}

/* Names are looked up for every identifier evaluated: an open-addressing
 * table keeps that constant time however many definitions there are. */
static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

const mnet_def *program_find(const mnet_program *prog, const char *name)
{
    if (!prog->index)
        return NULL;
    unsigned mask = (unsigned)prog->cap_index - 1;
    for (unsigned k = name_hash(name) & mask;; k = (k + 1) & mask) {
        int i = prog->index[k];
        if (i < 0)
            return NULL;
        if (strcmp(prog->defs[i].name, name) == 0)
            return &prog->defs[i];
    }
}

/* Makes room for one more name (load at most 1/2); returns 0 when out of memory. */
static int grow_index(mnet_program *prog)
{
    if (2 * (prog->n_defs + 1) <= prog->cap_index)
        return 1;
    int cap = prog->cap_index ? 2 * prog->cap_index : 64;
    int *index = malloc((size_t)cap * sizeof *index);
    if (!index)
        return 0;
    for (int k = 0; k < cap; k++)
        index[k] = -1;
    for (int i = 0; i < prog->n_defs; i++) {
        unsigned k = name_hash(prog->defs[i].name) & (unsigned)(cap - 1);
        while (index[k] >= 0)
            k = (k + 1) & (unsigned)(cap - 1);
        index[k] = i;
    }
    free(prog->index);
    prog->index = index;
    prog->cap_index = cap;
    return 1;
}

const mnet_def *program_find_kind(const mnet_program *prog, const char *name, def_kind kind)
{
    const mnet_def *d = program_find(prog, name);
    return d && d->kind == kind ? d : NULL;
}

static void add_def(mnet_program *prog, def_kind kind, const char *name, src_loc loc,
                    const ast_stmt *stmt, const ast_arg *arg)
{
    const mnet_def *old = program_find(prog, name);
    if (old) {
        mnet_error(prog->ctx, loc, "'%s' is already defined (as a %s)", name, def_kind_name(old->kind));
        mnet_note(prog->ctx, old->loc, "previous definition of '%s' is here", name);
        return;
    }
    if (prog->n_defs == prog->cap_defs) {
        int cap = prog->cap_defs ? 2 * prog->cap_defs : 32;
        mnet_def *d = realloc(prog->defs, (size_t)cap * sizeof *d);
        if (!d) {
            mnet_error(prog->ctx, loc, "out of memory");
            return;
        }
        prog->defs = d;
        prog->cap_defs = cap;
    }
    if (!grow_index(prog)) {
        mnet_error(prog->ctx, loc, "out of memory");
        return;
    }
    unsigned mask = (unsigned)prog->cap_index - 1, k = name_hash(name) & mask;
    while (prog->index[k] >= 0)
        k = (k + 1) & mask;
    prog->index[k] = prog->n_defs;
    mnet_def *d = &prog->defs[prog->n_defs++];
    d->kind = kind;
    d->name = name;
    d->loc = loc;
    d->stmt = stmt;
    d->arg = arg;
}

static void collect_stmt(mnet_program *prog, const ast_stmt *s)
{
    mnet_ctx *ctx = prog->ctx;
    if (s->kind == ST_FN) {
        add_def(prog, DEF_FN, s->head, s->loc, s, NULL);
        return;
    }
    if (s->kind == ST_ASSIGN) {
        mnet_error(ctx, s->loc, "assignment '%s = ...' outside a block (write 'const %s = ...;')",
                   s->head, s->head);
        return;
    }
    if (strcmp(s->head, "import") == 0)
        return;
    if (strcmp(s->head, "const") == 0) {
        if (s->has_body || s->nargs < 1)
            mnet_error(ctx, s->loc, "const expects 'const name = value;'");
        for (const ast_arg *a = s->args; a; a = a->next) {
            if (!a->name || !a->value)
                mnet_error(ctx, a->loc, "const expects 'name = value'");
            else
                add_def(prog, DEF_CONST, a->name, a->loc, s, a);
        }
        return;
    }
    for (size_t i = 0; i < sizeof block_heads / sizeof block_heads[0]; i++) {
        if (strcmp(s->head, block_heads[i].head) != 0)
            continue;
        const ast_arg *a = s->args;
        if (s->nargs != 1) {
            mnet_error(ctx, s->loc, "%s expects one name: '%s NAME { ... }'", s->head, s->head);
            return;
        }
        if (a->name && a->value && block_heads[i].kind == DEF_EFFECTOR && !s->has_body) {
            add_def(prog, DEF_EFFECTOR, a->name, a->loc, s, NULL); /* effector x = base(...); */
            return;
        }
        if (a->name || !a->value || a->value->kind != EX_ID) {
            mnet_error(ctx, a->loc, "%s expects a name: '%s NAME { ... }'", s->head, s->head);
            return;
        }
        if (!s->has_body) {
            mnet_error(ctx, s->loc, "%s '%s' needs a body in braces", s->head, a->value->name);
            return;
        }
        add_def(prog, block_heads[i].kind, a->value->name, a->value->loc, s, NULL);
        return;
    }
    mnet_error(ctx, s->loc,
               "unknown top-level statement '%s' (expected import, fn, const, muscle_model, "
               "skeleton, effector or task)",
               s->head);
}

int program_collect(mnet_ctx *ctx, mnet_program *prog)
{
    memset(prog, 0, sizeof *prog);
    prog->ctx = ctx;
    int before = ctx->n_errors;
    for (int f = 0; f < ctx->n_sources; f++)
        for (const ast_stmt *s = ctx->sources[f].items; s; s = s->next)
            collect_stmt(prog, s);
    return ctx->n_errors > before;
}

void program_free(mnet_program *prog)
{
    free(prog->defs);
    free(prog->index);
    prog->defs = NULL;
    prog->index = NULL;
    prog->n_defs = prog->cap_defs = prog->cap_index = 0;
}
