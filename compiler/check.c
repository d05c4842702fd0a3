/* check.c - checking every definition of a program (mnetc --check).
 *
 * Each definition is checked by lowering it, so the checker and the compiler
 * can never disagree: effectors are lowered whole; a muscle model no
 * effector uses is instantiated once with symbolic parameters and geometry;
 * tasks are checked against their schema (task.c). */
#include <string.h>

#include "lower_muscle.h"
#include "model.h"
#include "task_check.h"

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
    for (int i = 0; i < prog->n_defs; i++) {
        const mnet_def *d = &prog->defs[i];
        if (d->kind == DEF_MUSCLE_MODEL) {
            check_muscle_model(ctx, prog, d);
        } else if (d->kind == DEF_EFFECTOR) {
            mnet_effector *e = lower_effector(ctx, prog, d->name);
            effector_free(e);
        } else if (d->kind == DEF_TASK) {
            task_check(ctx, prog, d, NULL);
        }
    }
    return ctx->n_errors - before;
}
