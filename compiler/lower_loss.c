/* lower_loss.c - the per-step loss terms of a task as graph outputs, and
 * their VJP (what is compiled and what the runtime keeps: lower_loss.h). */
#include "lower_loss.h"

#include <stdlib.h>
#include <string.h>

enum { ARG_STATE = 0, ARG_TARGET = 1, ARG_GLOSS = 2 };

int loss_is_compiled(const task_loss *l)
{
    if (l->value)
        return 1;
    static const char *const per_step[] = {"position_l1", "position_l2", "speed", "activation_l2",
                                           "muscle_force", NULL};
    for (const char *const *k = per_step; *k; k++)
        if (!strcmp(*k, l->name))
            return l->derivative_weight == 0;
    return 0;
}

/* The state rows of the step, read from arg 0. */
typedef struct {
    ir_id *pos, *vel, *target;     /* (space_dim)                          */
    ir_id *q, *qd;                 /* (dof)                                */
    ir_id *rows;                   /* (n_rows x M) muscle block            */
    ir_id *lmt, *vmt;              /* (M)                                  */
} step_vars;

static ir_id muscle_param(const mnet_effector *e, ir_graph *g, int m, const char *name)
{
    for (int i = 0; i < e->model.n_params; i++)
        if (!strcmp(e->model.param_names[i], name))
            return ir_param(g, e->muscles[m].param_base + i);
    return -1;
}

/* sum over i < n of f(x_i), f = |x| (l1), x^2 (l2) or x (plain) */
typedef enum { SUM_ABS, SUM_SQUARE, SUM_PLAIN } sum_kind;

static ir_id sum_of(ir_graph *g, int n, const ir_id *x, const ir_id *minus, const ir_id *scale, sum_kind k)
{
    ir_id acc = ir_const(g, 0);
    for (int i = 0; i < n; i++) {
        ir_id v = minus ? ir_sub(g, x[i], minus[i]) : x[i];
        if (scale)
            v = ir_mul(g, v, scale[i]);
        v = k == SUM_ABS ? ir_unary(g, IR_ABS, v) : k == SUM_SQUARE ? ir_mul(g, v, v) : v;
        acc = ir_add(g, acc, v);
    }
    return acc;
}

/* The built-in per-step terms (definitions in runtime/include/mnet_task.h). */
static ir_id builtin_term(eval_env *E, const mnet_effector *e, const step_vars *s, const task_loss *l)
{
    ir_graph *g = E->g;
    const int P = e->space_dim, M = e->n_muscles;
    if (!strcmp(l->name, "position_l1"))
        return sum_of(g, P, s->pos, s->target, NULL, SUM_ABS);
    if (!strcmp(l->name, "position_l2"))
        return sum_of(g, P, s->pos, s->target, NULL, SUM_SQUARE);
    if (!strcmp(l->name, "speed"))
        return sum_of(g, P, s->vel, NULL, NULL, SUM_SQUARE);
    if (!strcmp(l->name, "muscle_force")) {
        if (e->model.force_row < 0) {
            mnet_error(E->ctx, l->loc, "muscle_force: muscle model '%s' has no 'force' row", e->model.name);
            return -1;
        }
        return sum_of(g, M, s->rows + (size_t)e->model.force_row * M, NULL, NULL, SUM_PLAIN);
    }
    /* activation_l2: activation * F_max / mean(F_max), squared */
    if (e->model.activation_row < 0) {
        mnet_error(E->ctx, l->loc, "activation_l2: muscle model '%s' has no 'activation' row", e->model.name);
        return -1;
    }
    ir_id *scale = calloc((size_t)M + 1, sizeof(ir_id)), total = ir_const(g, 0);
    if (!scale) {
        mnet_error(E->ctx, l->loc, "out of memory");
        return -1;
    }
    for (int m = 0; m < M; m++) {
        scale[m] = muscle_param(e, g, m, "max_force");
        if (scale[m] < 0) {
            mnet_error(E->ctx, l->loc, "activation_l2 weighs activations by F_max: muscle model '%s' has no "
                       "parameter 'max_force'", e->model.name);
            free(scale);
            return -1;
        }
        total = ir_add(g, total, scale[m]);
    }
    ir_id mean = ir_div(g, total, ir_const(g, M));
    for (int m = 0; m < M; m++)
        scale[m] = ir_div(g, scale[m], mean);
    ir_id v = sum_of(g, M, s->rows + (size_t)e->model.activation_row * M, NULL, scale, SUM_SQUARE);
    free(scale);
    return v;
}

static scope *bind_vector(eval_env *E, scope *parent, const char *name, int n, const ir_id *x, src_loc loc)
{
    value v = value_vector(E, n, loc);
    if (v.kind == V_ERR)
        return NULL;
    for (int i = 0; i < n; i++)
        v.v[i] = x[i];
    return scope_bind(E, parent, name, v, loc);
}

/* The scope of a written value (names in lower_loss.h). */
static scope *loss_scope(eval_env *E, const mnet_effector *e, const step_vars *s, src_loc loc)
{
    const int P = e->space_dim, M = e->n_muscles, dof = e->n_dof;
    scope *sc = NULL;
    ir_id *tmp = calloc((size_t)M + 1, sizeof(ir_id));
    if (!tmp)
        return NULL;
    for (int i = 0; i < e->model.n_params; i++) {
        for (int m = 0; m < M; m++)
            tmp[m] = ir_param(E->g, e->muscles[m].param_base + i);
        sc = bind_vector(E, sc, e->model.param_names[i], M, tmp, loc);
    }
    free(tmp);
    for (int r = 0; r < e->model.n_rows; r++)
        sc = bind_vector(E, sc, e->model.row_names[r], M, s->rows + (size_t)r * M, loc);
    sc = bind_vector(E, sc, "l_mt", M, s->lmt, loc);
    sc = bind_vector(E, sc, "v_mt", M, s->vmt, loc);
    sc = bind_vector(E, sc, "q", dof, s->q, loc);
    sc = bind_vector(E, sc, "qd", dof, s->qd, loc);
    sc = bind_vector(E, sc, "position", P, s->pos, loc);
    sc = bind_vector(E, sc, "velocity", P, s->vel, loc);
    sc = bind_vector(E, sc, "target", P, s->target, loc);
    return scope_bind(E, sc, "n_muscles", value_scalar(ir_const(E->g, M), loc), loc);
}

static void read_vars(ir_graph *g, const mnet_effector *e, step_vars *s, ir_id *mem)
{
    const int P = e->space_dim, M = e->n_muscles, dof = e->n_dof, R = e->model.n_rows;
    s->pos = mem, s->vel = mem + P, s->target = mem + 2 * P;
    s->q = mem + 3 * P, s->qd = s->q + dof;
    s->rows = s->qd + dof, s->lmt = s->rows + (size_t)R * M, s->vmt = s->lmt + M;
    for (int i = 0; i < P; i++) {
        s->pos[i] = ir_var(g, ARG_STATE, e->cart_off + i);
        s->vel[i] = ir_var(g, ARG_STATE, e->cart_off + P + i);
        s->target[i] = ir_var(g, ARG_TARGET, i);
    }
    for (int j = 0; j < dof; j++) {
        s->q[j] = ir_var(g, ARG_STATE, e->joint_off + j);
        s->qd[j] = ir_var(g, ARG_STATE, e->joint_off + dof + j);
    }
    for (int k = 0; k < R * M; k++)
        s->rows[k] = ir_var(g, ARG_STATE, e->muscle_off + k);
    for (int m = 0; m < M; m++) {
        s->lmt[m] = ir_var(g, ARG_STATE, e->geom_off + m);
        s->vmt[m] = ir_var(g, ARG_STATE, e->geom_off + M + m);
    }
}

int lower_loss(eval_env *E, mnet_effector *e, const task_spec *task)
{
    ir_graph *g = E->g;
    task_spec recipe;
    if (!task) {
        task_spec_default(&recipe);
        task_spec_recipe_loss(&recipe);
        task = &recipe;
    }
    const int P = e->space_dim, M = e->n_muscles, S = e->n_state;
    size_t nvars = 3 * (size_t)P + 2 * (size_t)e->n_dof + ((size_t)e->model.n_rows + 2) * M;
    ir_id *mem = calloc(nvars + 1, sizeof(ir_id));
    const int n_terms = task->cfg.n_losses;
    ir_output *outs = calloc((size_t)n_terms + 1, sizeof *outs);
    e->loss_names = calloc((size_t)n_terms + 1, sizeof(char *));
    e->loss_term = calloc((size_t)n_terms + 1, sizeof(int));
    ir_id *roots = NULL, *seeds = NULL, *wrt = NULL, *grads = NULL;
    ir_output *gouts = NULL;
    int ok = mem && outs && e->loss_names && e->loss_term;
    step_vars s;
    if (ok)
        read_vars(g, e, &s, mem);
    int bad_terms = 0; /* every term is lowered, so each error is reported */
    for (int i = 0; ok && i < n_terms; i++) {
        const task_loss term = task_loss_at(task, i), *l = &term;
        if (!loss_is_compiled(l))
            continue;
        ir_id v;
        if (l->value) {
            scope *sc = loss_scope(E, e, &s, l->loc);
            v = sc ? eval_scalar(E, sc, l->value, "a loss value") : -1;
        } else {
            v = builtin_term(E, e, &s, l);
        }
        if (v < 0) {
            bad_terms++;
            continue;
        }
        ir_set_name(g, v, l->name, l->loc.line);
        int k = e->n_loss++;
        e->loss_names[k] = strdup(l->name);
        e->loss_term[k] = i;
        outs[k] = (ir_output){0, k, v};
        ok = e->loss_names[k] != NULL;
    }
    /* the VJP: seeds from arg 2, gradients w.r.t. every state row */
    const int n = e->n_loss;
    ok = ok && bad_terms == 0;
    if (ok) {
        seeds = calloc((size_t)n + 1, sizeof(ir_id));
        roots = calloc((size_t)n + 1, sizeof(ir_id));
        wrt = calloc((size_t)S, sizeof(ir_id));
        grads = calloc((size_t)S, sizeof(ir_id));
        gouts = calloc((size_t)S, sizeof *gouts);
        ok = seeds && roots && wrt && grads && gouts;
    }
    for (int k = 0; ok && k < n; k++) {
        roots[k] = outs[k].node;
        seeds[k] = ir_var(g, ARG_GLOSS, k);
    }
    for (int r = 0; ok && r < S; r++)
        wrt[r] = ir_var(g, ARG_STATE, r);
    ok = ok && ir_vjp(g, n, roots, seeds, S, wrt, grads) == 0;
    for (int r = 0; ok && r < S; r++)
        gouts[r] = (ir_output){0, r, grads[r]};
    if (ok) {
        e->fn_loss = (ir_function){"loss", 2, 1, n, outs};
        e->fn_loss_vjp = (ir_function){"loss_vjp", 3, 1, S, gouts};
        outs = NULL;
        gouts = NULL;
    } else if (E->ctx->n_errors == 0) {
        mnet_error(E->ctx, e->loc, "out of memory lowering the loss of effector '%s'", e->name);
    }
    free(mem);
    free(outs);
    free(gouts);
    free(seeds);
    free(roots);
    free(wrt);
    free(grads);
    return ok;
}
