/* lower_muscle.c - resolving muscle_model definitions and instantiating them.
 *
 *   muscle_model NAME {
 *     param max_force: N, optimal_length: m, a_min = 0.001, ...;
 *     input u;                 geometry l_mt, v_mt;
 *     state activation = a_min, muscle_length, ..., force;
 *     let name = expr;         (evaluated where used: sees the rows then)
 *     der activation = expr;
 *     update { name = expr; let x = expr; ... }
 *     init { ...; update muscle_length = expr, dt = expr; }
 *     sense length_expr, velocity_expr;
 *   }
 */
#include "lower_muscle.h"

#include "lower_params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int find_name(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return i;
    return -1;
}

static int grow(void **p, int n, size_t elem)
{
    void *q = realloc(*p, (size_t)(n + 1) * elem);
    if (!q)
        return 0;
    *p = q;
    return 1;
}

/* Every name the model declares must be unique across params, rows, lets,
 * input and geometry, so a reference is never ambiguous. */
static int declare(mnet_ctx *ctx, const muscle_model *mm, const char *name, src_loc loc)
{
    int clash = find_name(mm->param_names, mm->n_params, name) >= 0 ||
                find_name(mm->row_names, mm->n_rows, name) >= 0 ||
                (mm->input_name && strcmp(mm->input_name, name) == 0) ||
                (mm->lmt_name && strcmp(mm->lmt_name, name) == 0) ||
                (mm->vmt_name && strcmp(mm->vmt_name, name) == 0) || strcmp(name, "dt") == 0;
    for (const ast_stmt *s = mm->lets; s && !clash; s = s->next)
        for (const ast_arg *a = s->args; a; a = a->next)
            if (a->name && strcmp(a->name, name) == 0)
                clash = 1;
    if (clash) {
        mnet_error(ctx, loc, "'%s' is declared twice in muscle model '%s'", name, mm->name);
        return 0;
    }
    return 1;
}

static const char *positional_name(mnet_ctx *ctx, const ast_arg *a, const char *what)
{
    if (a->name || !a->value || a->value->kind != EX_ID) {
        mnet_error(ctx, a->loc, "%s expects names", what);
        return NULL;
    }
    return a->value->name;
}

static void resolve_stmt(mnet_ctx *ctx, muscle_model *mm, const ast_stmt *s, const ast_stmt **last_let)
{
    const char *h = s->head;
    if (s->kind != ST_SETTING) {
        mnet_error(ctx, s->loc, "'%s = ...' belongs in an update or init block (or write 'let %s = ...;')",
                   h, h);
        return;
    }
    int block = !strcmp(h, "update") || !strcmp(h, "init");
    if (s->has_body != block) {
        mnet_error(ctx, s->loc, block ? "'%s' needs a block: %s { ... }" : "'%s' takes no block", h, h);
        return;
    }
    if (!strcmp(h, "param")) {
        for (const ast_arg *a = s->args; a; a = a->next) {
            const char *name = a->name ? a->name : positional_name(ctx, a, "param");
            if (!name || !declare(ctx, mm, name, a->loc))
                continue;
            unit_dim dim = DIM_NONE;
            if (a->unit) {
                dim = unit_dim_of(a->unit);
                if (dim == DIM_NONE) {
                    mnet_error(ctx, a->loc, "unknown unit '%s' for parameter '%s'", a->unit, name);
                    continue;
                }
            }
            if (!grow((void **)&mm->param_names, mm->n_params, sizeof(char *)) ||
                !grow((void **)&mm->param_defaults, mm->n_params, sizeof(ast_expr *)) ||
                !grow((void **)&mm->param_dims, mm->n_params, sizeof(unit_dim)))
                return;
            mm->param_names[mm->n_params] = name;
            mm->param_defaults[mm->n_params] = a->name ? a->value : NULL;
            mm->param_dims[mm->n_params] = dim;
            mm->n_params++;
        }
    } else if (!strcmp(h, "input")) {
        if (s->nargs != 1 || mm->input_name) {
            mnet_error(ctx, s->loc, mm->input_name ? "a muscle model has one input"
                                                   : "input expects one name: input u;");
            return;
        }
        const char *name = positional_name(ctx, s->args, "input");
        if (name && declare(ctx, mm, name, s->args->loc))
            mm->input_name = name;
    } else if (!strcmp(h, "geometry")) {
        if (s->nargs != 2 || mm->lmt_name) {
            mnet_error(ctx, s->loc, "geometry expects two names, once: geometry l_mt, v_mt;");
            return;
        }
        const char *l = positional_name(ctx, s->args, "geometry");
        const char *v = positional_name(ctx, s->args->next, "geometry");
        if (l && v && declare(ctx, mm, l, s->args->loc) && declare(ctx, mm, v, s->args->next->loc)) {
            mm->lmt_name = l;
            mm->vmt_name = v;
        }
    } else if (!strcmp(h, "state")) {
        for (const ast_arg *a = s->args; a; a = a->next) {
            const char *name = a->name ? a->name : positional_name(ctx, a, "state");
            if (!name || !declare(ctx, mm, name, a->loc))
                continue;
            if (!grow((void **)&mm->row_names, mm->n_rows, sizeof(char *)) ||
                !grow((void **)&mm->row_inits, mm->n_rows, sizeof(ast_expr *)) ||
                !grow((void **)&mm->row_ders, mm->n_rows, sizeof(ast_expr *)))
                return;
            mm->row_names[mm->n_rows] = name;
            mm->row_inits[mm->n_rows] = a->name ? a->value : NULL;
            mm->row_ders[mm->n_rows] = NULL;
            mm->n_rows++;
        }
    } else if (!strcmp(h, "let")) {
        for (const ast_arg *a = s->args; a; a = a->next) {
            if (!a->name || !a->value) {
                mnet_error(ctx, a->loc, "let expects 'name = expr'");
                return;
            }
            if (!declare(ctx, mm, a->name, a->loc))
                return;
        }
        /* keep the let statements as a list (a copy of the node, relinked) */
        ast_stmt *copy = arena_alloc(&ctx->arena, sizeof *copy);
        if (!copy)
            return;
        *copy = *s;
        copy->next = NULL;
        if (*last_let)
            ((ast_stmt *)*last_let)->next = copy;
        else
            mm->lets = copy;
        *last_let = copy;
    } else if (!strcmp(h, "der")) {
        for (const ast_arg *a = s->args; a; a = a->next) {
            if (!a->name || !a->value) {
                mnet_error(ctx, a->loc, "der expects 'state = expr'");
                continue;
            }
            int row = find_name(mm->row_names, mm->n_rows, a->name);
            if (row < 0) {
                mnet_error(ctx, a->loc, "der: '%s' is not a state of '%s' (declare it with 'state' first)",
                           a->name, mm->name);
                continue;
            }
            if (mm->row_ders[row]) {
                mnet_error(ctx, a->loc, "der %s is given twice", a->name);
                continue;
            }
            mm->row_ders[row] = a->value;
        }
    } else if (!strcmp(h, "update")) {
        if (mm->update) {
            mnet_error(ctx, s->loc, "a muscle model has one update block");
            return;
        }
        mm->update = s->body;
        if (!s->body)
            mm->update = NULL;
    } else if (!strcmp(h, "init")) {
        if (mm->has_init) {
            mnet_error(ctx, s->loc, "a muscle model has one init block");
            return;
        }
        mm->init = s->body;
        mm->has_init = 1;
    } else if (!strcmp(h, "sense")) {
        if (s->nargs != 2 || s->args->name || s->args->next->name) {
            mnet_error(ctx, s->loc, "sense expects two expressions: sense length, velocity;");
            return;
        }
        mm->sense_length = s->args->value;
        mm->sense_velocity = s->args->next->value;
    } else {
        mnet_error(ctx, s->loc,
                   "unknown statement '%s' in muscle model (expected param, input, geometry, state, "
                   "let, der, update, init or sense)",
                   h);
    }
}

int muscle_model_resolve(mnet_ctx *ctx, const mnet_def *def, muscle_model *mm)
{
    memset(mm, 0, sizeof *mm);
    mm->name = def->name;
    mm->loc = def->loc;
    mm->force_row = mm->activation_row = -1;
    int before = ctx->n_errors;
    const ast_stmt *last_let = NULL;
    for (const ast_stmt *s = def->stmt->body; s; s = s->next)
        resolve_stmt(ctx, mm, s, &last_let);
    if (ctx->n_errors > before)
        return 1;
    if (!mm->input_name)
        mnet_error(ctx, def->loc, "muscle model '%s' declares no input (add 'input u;')", mm->name);
    if (!mm->lmt_name)
        mnet_error(ctx, def->loc, "muscle model '%s' declares no geometry (add 'geometry l_mt, v_mt;')",
                   mm->name);
    mm->force_row = find_name(mm->row_names, mm->n_rows, "force");
    mm->activation_row = find_name(mm->row_names, mm->n_rows, "activation");
    if (mm->force_row < 0)
        mnet_error(ctx, def->loc, "muscle model '%s' has no state row named 'force'", mm->name);
    if (!mm->sense_length)
        mnet_error(ctx, def->loc,
                   "muscle model '%s' has no 'sense' statement (proprioceptive length, velocity)",
                   mm->name);
    return ctx->n_errors > before;
}

void muscle_model_free(muscle_model *mm)
{
    free(mm->param_names);
    free(mm->param_defaults);
    free(mm->param_dims);
    free(mm->row_names);
    free(mm->row_inits);
    free(mm->row_ders);
    memset(mm, 0, sizeof *mm);
}

/* ---- the values a muscle parameter may take ----------------------------- */

/* Parameters every muscle model means the same by (the run time finds
 * max_force by name too: muscle_max_force), whatever model declares them,
 * and the values that make physical sense.  One table. */
static const struct {
    const char *name;
    param_range range;
} muscle_ranges[] = {
    {"max_force", {0, INFINITY, PARAM_LO_OPEN, "a muscle without a positive maximal force does not pull"}},
    {"optimal_length", {0, INFINITY, PARAM_LO_OPEN, "fibre lengths and velocities are divided by it"}},
    {"tendon_slack",
     {0, INFINITY, 0, "a negative slack length makes the fibre longer than the whole muscle-tendon path"}},
    {"tau_act", {0, INFINITY, PARAM_LO_OPEN, "activation follows the excitation with a positive time constant"}},
    {"tau_deact", {0, INFINITY, PARAM_LO_OPEN, "deactivation follows the excitation with a positive time constant"}},
    {"a_min", {0, 1, PARAM_HI_OPEN, "activation lies in [a_min, 1]: below 0 a muscle pushes, at 1 it never changes"}},
};

param_range muscle_param_range(const char *name)
{
    for (size_t i = 0; i < sizeof muscle_ranges / sizeof muscle_ranges[0]; i++)
        if (!strcmp(muscle_ranges[i].name, name))
            return muscle_ranges[i].range;
    return param_range_any();
}

/* ---- instantiation ------------------------------------------------------ */

scope *muscle_param_scope(eval_env *E, const muscle_model *mm, const ir_id *param_nodes)
{
    scope *s = NULL;
    for (int i = 0; i < mm->n_params; i++)
        s = scope_bind(E, s, mm->param_names[i], value_scalar(param_nodes[i], mm->loc), mm->loc);
    for (const ast_stmt *l = mm->lets; l; l = l->next)
        for (const ast_arg *a = l->args; a; a = a->next) {
            scope *lazy = scope_bind_lazy(E, s, a->name, a->value);
            if (lazy != s)
                lazy->loc = a->loc; /* a note on a cycle names the let */
            s = lazy;
        }
    return s;
}

static scope *bind_io(eval_env *E, const muscle_model *mm, scope *s, const muscle_io *io)
{
    s = scope_bind(E, s, mm->lmt_name, value_scalar(io->lmt, mm->loc), mm->loc);
    s = scope_bind(E, s, mm->vmt_name, value_scalar(io->vmt, mm->loc), mm->loc);
    if (io->u >= 0)
        s = scope_bind(E, s, mm->input_name, value_scalar(io->u, mm->loc), mm->loc);
    if (io->dt >= 0)
        s = scope_bind(E, s, "dt", value_scalar(io->dt, mm->loc), mm->loc);
    return s;
}

static scope *bind_rows(eval_env *E, const muscle_model *mm, scope *s, const ir_id *rows)
{
    for (int r = 0; r < mm->n_rows; r++)
        s = scope_bind(E, s, mm->row_names[r], value_scalar(rows[r], mm->loc), mm->loc);
    return s;
}

int muscle_ode(eval_env *E, const muscle_model *mm, scope *params, const ir_id *rows,
               const muscle_io *io, ir_id *ders)
{
    scope *s = bind_rows(E, mm, bind_io(E, mm, params, io), rows);
    int ok = 1;
    for (int r = 0; r < mm->n_rows; r++) {
        ders[r] = -1;
        if (!mm->row_ders[r])
            continue;
        char what[96];
        snprintf(what, sizeof what, "der %s", mm->row_names[r]);
        ders[r] = eval_scalar(E, s, mm->row_ders[r], what);
        if (ders[r] < 0)
            ok = 0;
        else
            ir_set_name(E->g, ders[r], what + 4, mm->row_ders[r]->loc.line);
    }
    return ok;
}

/* Runs a block of `name = expr;` and `let name = expr;` statements in order;
 * rows[] is updated in place.  `update ...;` statements (init blocks only)
 * run the model's update block with the given derivatives. */
static int run_block(eval_env *E, const muscle_model *mm, scope *params, const ast_stmt *body,
                     ir_id *rows, const muscle_io *io, int allow_update);

static int run_update(eval_env *E, const muscle_model *mm, scope *params, scope *s, const ast_stmt *call,
                      ir_id *rows, const muscle_io *io)
{
    ir_id *ders = arena_alloc(E->arena, (size_t)(mm->n_rows + 1) * sizeof(ir_id));
    if (!ders)
        return 0;
    ir_id zero = ir_const(E->g, 0);
    for (int r = 0; r < mm->n_rows; r++)
        ders[r] = mm->row_ders[r] ? zero : -1;
    muscle_io sub = *io;
    int ok = 1;
    for (const ast_arg *a = call->args; a; a = a->next) {
        if (!a->name || !a->value) {
            mnet_error(E->ctx, a->loc, "update expects 'state = derivative' or 'dt = step'");
            ok = 0;
            continue;
        }
        ir_id v = eval_scalar(E, s, a->value, a->name);
        if (v < 0) {
            ok = 0;
            continue;
        }
        if (!strcmp(a->name, "dt")) {
            sub.dt = v;
            continue;
        }
        int r = find_name(mm->row_names, mm->n_rows, a->name);
        if (r < 0 || !mm->row_ders[r]) {
            mnet_error(E->ctx, a->loc, "'%s' is not a state with a der equation", a->name);
            ok = 0;
            continue;
        }
        ders[r] = v;
    }
    if (!ok)
        return 0;
    ir_id *out = arena_alloc(E->arena, (size_t)(mm->n_rows + 1) * sizeof(ir_id));
    if (!out || !muscle_update(E, mm, params, rows, ders, &sub, out))
        return 0;
    memcpy(rows, out, (size_t)mm->n_rows * sizeof(ir_id));
    return 1;
}

static int run_block(eval_env *E, const muscle_model *mm, scope *params, const ast_stmt *body,
                     ir_id *rows, const muscle_io *io, int allow_update)
{
    scope *s = bind_rows(E, mm, bind_io(E, mm, params, io), rows);
    int ok = 1;
    for (const ast_stmt *st = body; st; st = st->next) {
        if (st->kind == ST_ASSIGN) {
            int r = find_name(mm->row_names, mm->n_rows, st->head);
            if (r < 0) {
                mnet_error(E->ctx, st->loc, "'%s' is not a state row of '%s'", st->head, mm->name);
                ok = 0;
                continue;
            }
            ir_id v = eval_scalar(E, s, st->value, st->head);
            if (v < 0) {
                ok = 0;
                continue;
            }
            ir_set_name(E->g, v, st->head, st->loc.line);
            rows[r] = v;
            s = scope_bind(E, s, st->head, value_scalar(v, st->loc), st->loc);
        } else if (st->kind == ST_SETTING && !strcmp(st->head, "let") && !st->has_body) {
            for (const ast_arg *a = st->args; a; a = a->next) {
                if (!a->name || !a->value) {
                    mnet_error(E->ctx, a->loc, "let expects 'name = expr'");
                    ok = 0;
                    continue;
                }
                value v = eval_expr(E, s, a->value);
                if (v.kind == V_ERR) {
                    ok = 0;
                    continue;
                }
                if (v.kind == V_NUM && v.ndim == 0)
                    ir_set_name(E->g, v.scalar, a->name, a->loc.line);
                s = scope_bind(E, s, a->name, v, a->loc);
            }
        } else if (allow_update && st->kind == ST_SETTING && !strcmp(st->head, "update") &&
                   !st->has_body) {
            if (!run_update(E, mm, params, s, st, rows, io))
                ok = 0;
            s = bind_rows(E, mm, s, rows);
        } else {
            mnet_error(E->ctx, st->loc,
                       allow_update ? "an init block holds 'state = expr;', 'let x = expr;' and 'update ...;'"
                                    : "an update block holds 'state = expr;' and 'let x = expr;'");
            ok = 0;
        }
    }
    return ok;
}

int muscle_update(eval_env *E, const muscle_model *mm, scope *params, const ir_id *rows,
                  const ir_id *ders, const muscle_io *io, ir_id *rows_out)
{
    der_table table;
    const char **names = arena_alloc(E->arena, (size_t)(mm->n_rows + 1) * sizeof(char *));
    ir_id *values = arena_alloc(E->arena, (size_t)(mm->n_rows + 1) * sizeof(ir_id));
    if (!names || !values)
        return 0;
    table.n = 0;
    for (int r = 0; r < mm->n_rows; r++)
        if (ders[r] >= 0) {
            names[table.n] = mm->row_names[r];
            values[table.n] = ders[r];
            table.n++;
        }
    table.names = names;
    table.values = values;
    const der_table *saved = E->ders;
    E->ders = &table;
    memcpy(rows_out, rows, (size_t)mm->n_rows * sizeof(ir_id));
    int ok = run_block(E, mm, params, mm->update, rows_out, io, 0);
    E->ders = saved;
    return ok;
}

int muscle_init(eval_env *E, const muscle_model *mm, scope *params, const muscle_io *io,
                ir_id *rows_out)
{
    scope *s = bind_io(E, mm, params, io);
    int ok = 1;
    for (int r = 0; r < mm->n_rows; r++) {
        rows_out[r] = ir_const(E->g, 0);
        if (mm->row_inits[r]) {
            ir_id v = eval_scalar(E, s, mm->row_inits[r], mm->row_names[r]);
            if (v < 0)
                ok = 0;
            else
                rows_out[r] = v;
        }
        s = scope_bind(E, s, mm->row_names[r], value_scalar(rows_out[r], mm->loc), mm->loc);
    }
    if (!ok)
        return 0;
    if (mm->has_init)
        return run_block(E, mm, params, mm->init, rows_out, io, 1);
    /* default: one update with zero derivatives from the declared values */
    ast_stmt call;
    memset(&call, 0, sizeof call);
    call.kind = ST_SETTING;
    call.head = "update";
    call.loc = mm->loc;
    return run_update(E, mm, params, bind_rows(E, mm, s, rows_out), &call, rows_out, io);
}

int muscle_sense(eval_env *E, const muscle_model *mm, scope *params, const ir_id *rows,
                 const muscle_io *io, ir_id *length, ir_id *velocity)
{
    scope *s = bind_rows(E, mm, bind_io(E, mm, params, io), rows);
    *length = eval_scalar(E, s, mm->sense_length, "sensed length");
    *velocity = eval_scalar(E, s, mm->sense_velocity, "sensed velocity");
    return *length >= 0 && *velocity >= 0;
}
