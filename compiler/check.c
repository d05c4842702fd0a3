/* check.c - checking every definition of a program (mnetc --check).
 *
 * Each definition is checked by lowering it, so the checker and the compiler
 * can never disagree: effectors are lowered whole; a muscle model no
 * effector uses is instantiated once with symbolic parameters and geometry;
 * a skeleton whose parameters all have defaults is lowered with them;
 * constants are evaluated; functions are checked for the names and calls
 * they use (their shapes depend on the arguments); tasks are checked against
 * their schema (task_check.c). */
#include <stdlib.h>
#include <string.h>

#include "lower_muscle.h"
#include "lower_skeleton.h"
#include "model.h"
#include "task_check.h"

/* All constants are evaluated in one graph, so each is evaluated (and each
 * cycle reported) once. */
static void check_const(eval_env *E, const mnet_def *def)
{
    ast_expr use;
    memset(&use, 0, sizeof use);
    use.kind = EX_ID;
    use.loc = def->loc;
    use.name = def->name;
    if (E->g)
        eval_expr(E, NULL, &use);
}

/* `skeleton NAME;` in a throwaway effector, when no parameter needs a value. */
static void check_skeleton(mnet_ctx *ctx, const mnet_program *prog, const mnet_def *def)
{
    for (const ast_stmt *s = def->stmt->body; s; s = s->next)
        if (s->kind == ST_SETTING && !strcmp(s->head, "param"))
            for (const ast_arg *a = s->args; a; a = a->next)
                if (!a->name || !a->value)
                    return; /* checked where an effector gives the value */
    ast_expr id;
    memset(&id, 0, sizeof id);
    id.kind = EX_ID;
    id.loc = def->loc;
    id.name = def->name;
    ast_arg arg;
    memset(&arg, 0, sizeof arg);
    arg.value = &id;
    arg.loc = def->loc;
    ast_stmt use;
    memset(&use, 0, sizeof use);
    use.kind = ST_SETTING;
    use.loc = def->loc;
    use.head = "skeleton";
    use.args = &arg;
    use.nargs = 1;
    mnet_effector *eff = calloc(1, sizeof *eff);
    mnet_arena arena = {0};
    if (eff) {
        eff->name = strdup(def->name);
        eff->loc = def->loc;
        eff->g = ir_new();
        eval_env E = {.ctx = ctx, .g = eff->g, .arena = &arena, .prog = prog};
        if (eff->name && eff->g)
            skeleton_lower(&E, eff, &use);
    }
    arena_free(&arena);
    effector_free(eff);
}

static void check_muscle_model(mnet_ctx *ctx, const mnet_program *prog, const mnet_def *def)
{
    muscle_model mm;
    if (muscle_model_resolve(ctx, def, &mm)) {
        muscle_model_free(&mm);
        return;
    }
    ir_graph *g = ir_new();
    mnet_arena arena = {0};
    eval_env E = {.ctx = ctx, .g = g, .arena = &arena, .prog = prog};
    ir_id params[256], rows[256], ders[256], out[256];
    int ok = g && mm.n_params < 256 && mm.n_rows < 256;
    /* parameters with defaults take them; the others are symbols */
    scope *cst = NULL;
    for (int i = 0; ok && i < mm.n_params; i++) {
        params[i] = ir_param(g, i);
        if (mm.param_defaults[i]) {
            value v = eval_expr(&E, cst, mm.param_defaults[i]);
            if (v.kind == V_ERR)
                ok = 0;
            else
                cst = scope_bind(&E, cst, mm.param_names[i], v, mm.loc);
        }
    }
    if (ok) {
        scope *ps = muscle_param_scope(&E, &mm, params);
        muscle_io io = {ir_var(g, 0, 0), ir_var(g, 0, 1), ir_var(g, 0, 2), ir_var(g, 0, 3)};
        for (int r = 0; r < mm.n_rows; r++)
            rows[r] = ir_var(g, 1, r);
        ok = muscle_init(&E, &mm, ps, &io, out) && muscle_ode(&E, &mm, ps, rows, &io, ders);
        for (int r = 0; ok && r < mm.n_rows; r++)
            if (ders[r] >= 0)
                ders[r] = ir_var(g, 2, r);
        ok = ok && muscle_update(&E, &mm, ps, rows, ders, &io, out);
        ir_id l, v;
        ok = ok && muscle_sense(&E, &mm, ps, rows, &io, &l, &v);
    }
    (void)ok;
    arena_free(&arena);
    ir_free(g);
    muscle_model_free(&mm);
}

int check_program(mnet_ctx *ctx, const mnet_program *prog)
{
    int before = ctx->n_errors;
    mnet_arena arena = {0};
    eval_env consts = {.ctx = ctx, .g = ir_new(), .arena = &arena, .prog = prog};
    char *effector_ok = calloc((size_t)prog->n_defs + 1, 1);
    for (int i = 0; i < prog->n_defs; i++) {
        const mnet_def *d = &prog->defs[i];
        if (d->kind == DEF_MUSCLE_MODEL) {
            check_muscle_model(ctx, prog, d);
        } else if (d->kind == DEF_CONST) {
            check_const(&consts, d);
        } else if (d->kind == DEF_FN) {
            eval_check_fn(ctx, prog, d->stmt);
        } else if (d->kind == DEF_SKELETON) {
            check_skeleton(ctx, prog, d);
        } else if (d->kind == DEF_EFFECTOR) {
            mnet_effector *e = lower_effector(ctx, prog, d->name);
            if (effector_ok)
                effector_ok[i] = e != NULL;
            effector_free(e);
        }
    }
    /* tasks last: their settings, then their loss terms lowered with their
     * effector when that effector is sound (its own errors are reported
     * once, above) */
    for (int i = 0; i < prog->n_defs; i++) {
        const mnet_def *d = &prog->defs[i];
        if (d->kind != DEF_TASK)
            continue;
        task_spec spec;
        task_check(ctx, prog, d, &spec);
        const mnet_def *e = spec.effector ? program_find(prog, spec.effector) : NULL;
        if (e && effector_ok && effector_ok[e - prog->defs])
            effector_free(lower_effector_task(ctx, prog, spec.effector, &spec));
    }
    free(effector_ok);
    arena_free(&arena);
    ir_free(consts.g);
    return ctx->n_errors - before;
}
