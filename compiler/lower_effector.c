/* lower_effector.c - an effector from its definition: skeleton, muscles,
 * geometry, integrator, and the graphs of the model interface.
 *
 *   effector NAME {
 *     param muscle_model = rigid_hill;         (overridable: effector x = NAME(muscle_model = thelen);)
 *     skeleton ...;
 *     muscles MODEL(shared params) { polynomial_offset [90 deg, 0];
 *                                    muscle NAME(params) { geometry } ... }
 *     damping 0;  endpoint_load [0, 0];  joint_load [0, 0];
 *     integrator euler | rk4 | motornet_rk4;  ministeps 1;  step 10 ms;
 *   }
 *
 * One step (MODELS.md 6): k = ode(s); s' = step(dt, k, s), where step
 * integrates the muscles against the old geometry, then the skeleton, clips
 * (4.3), and recomputes geometry and end point from the new joint state.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lower_geometry.h"
#include "lower_loss.h"
#include "lower_muscle.h"
#include "lower_params.h"
#include "lower_skeleton.h"
#include "lower_subst.h"
#include "model.h"

typedef struct {
    ir_id *q, *qd;     /* (dof)                       */
    ir_id *cart;       /* (2 space)                   */
    ir_id *rows;       /* (rows x M)                  */
    ir_id *geom;       /* ((2 + dof) x M)             */
} sim_state;

typedef struct {
    ir_id *ders;       /* (rows x M), -1: no derivative */
    ir_id *qdd;        /* (dof)                         */
    ir_id *qd;         /* (dof) for textbook rk4        */
} sim_deriv;

typedef struct {
    eval_env E;
    mnet_effector *eff;
    muscle_geometry *geo;    /* (M)                   */
    scope **mparams;         /* (M) run-time params   */
    ir_id damping;
} builder;

static void *zalloc(builder *B, size_t n)
{
    return arena_alloc(B->E.arena, n ? n : 1);
}

static int alloc_state(builder *B, sim_state *s)
{
    const mnet_effector *e = B->eff;
    int M = e->n_muscles;
    s->q = zalloc(B, (size_t)e->n_dof * sizeof(ir_id));
    s->qd = zalloc(B, (size_t)e->n_dof * sizeof(ir_id));
    s->cart = zalloc(B, (size_t)(2 * e->space_dim) * sizeof(ir_id));
    s->rows = zalloc(B, (size_t)(e->model.n_rows * M) * sizeof(ir_id));
    s->geom = zalloc(B, (size_t)((2 + e->n_dof) * M) * sizeof(ir_id));
    return s->q && s->qd && s->cart && s->rows && s->geom;
}

static int alloc_deriv(builder *B, sim_deriv *k)
{
    const mnet_effector *e = B->eff;
    k->ders = zalloc(B, (size_t)(e->model.n_rows * e->n_muscles) * sizeof(ir_id));
    k->qdd = zalloc(B, (size_t)e->n_dof * sizeof(ir_id));
    k->qd = zalloc(B, (size_t)e->n_dof * sizeof(ir_id));
    return k->ders && k->qdd && k->qd;
}

/* Placeholder replacements: q, qd, tau, F. */
static ir_id *sym_values(builder *B, const ir_id *q, const ir_id *qd, const ir_id *tau, const ir_id *F)
{
    const mnet_effector *e = B->eff;
    int dof = e->n_dof, sp = e->space_dim;
    ir_id *r = zalloc(B, (size_t)(3 * dof + sp) * sizeof(ir_id));
    if (!r)
        return NULL;
    ir_id zero = ir_const(B->E.g, 0);
    for (int j = 0; j < dof; j++) {
        r[j] = q[j];
        r[dof + j] = qd ? qd[j] : zero;
        r[2 * dof + j] = tau ? tau[j] : zero;
    }
    for (int k = 0; k < sp; k++)
        r[3 * dof + k] = F ? F[k] : zero;
    return r;
}

/* Geometry and end point of the joint state (q, qd), into s. */
static int geometry_at(builder *B, sim_state *s)
{
    mnet_effector *e = B->eff;
    int dof = e->n_dof, sp = e->space_dim, M = e->n_muscles;
    ir_id *repl = sym_values(B, s->q, s->qd, NULL, NULL);
    ir_subst sub;
    if (!repl || !subst_begin(&sub, B->E.g, e->skel->n_sym, repl))
        return 0;
    for (int k = 0; k < sp; k++) {
        s->cart[k] = subst_apply(&sub, e->skel->pos[k]);
        s->cart[sp + k] = subst_apply(&sub, e->skel->vel[k]);
    }
    for (int m = 0; m < M; m++) {
        s->geom[0 * M + m] = subst_apply(&sub, B->geo[m].lmt);
        s->geom[1 * M + m] = subst_apply(&sub, B->geo[m].vmt);
        for (int j = 0; j < dof; j++)
            s->geom[(2 + j) * M + m] = subst_apply(&sub, B->geo[m].arms[j]);
    }
    subst_end(&sub);
    return 1;
}

static muscle_io io_of(const builder *B, const sim_state *s, int m, ir_id u, ir_id dt)
{
    int M = B->eff->n_muscles;
    muscle_io io = {s->geom[m], s->geom[M + m], u, dt};
    return io;
}

/* Muscle rows of muscle m gathered from the (row x M) layout. */
static void gather_rows(const builder *B, const ir_id *rows, int m, ir_id *out)
{
    int M = B->eff->n_muscles;
    for (int r = 0; r < B->eff->model.n_rows; r++)
        out[r] = rows[r * M + m];
}

static void scatter_rows(const builder *B, const ir_id *in, int m, ir_id *rows)
{
    int M = B->eff->n_muscles;
    for (int r = 0; r < B->eff->model.n_rows; r++)
        rows[r * M + m] = in[r];
}

/* k = ode(s): muscle derivatives and joint accelerations. */
static int ode(builder *B, const sim_state *s, const ir_id *u, const ir_id *load, sim_deriv *k)
{
    mnet_effector *e = B->eff;
    ir_graph *g = B->E.g;
    int dof = e->n_dof, sp = e->space_dim, M = e->n_muscles, R = e->model.n_rows;
    ir_id *rows = zalloc(B, (size_t)R * sizeof(ir_id)), *ders = zalloc(B, (size_t)R * sizeof(ir_id));
    ir_id *tau = zalloc(B, (size_t)dof * sizeof(ir_id));
    if (!rows || !ders || !tau)
        return 0;
    for (int m = 0; m < M; m++) {
        gather_rows(B, s->rows, m, rows);
        muscle_io io = io_of(B, s, m, u[m], -1);
        if (!muscle_ode(&B->E, &e->model, B->mparams[m], rows, &io, ders))
            return 0;
        scatter_rows(B, ders, m, k->ders);
    }
    /* generalised force: -sum_m f_m r_jm + joint_load - damping qd */
    for (int j = 0; j < dof; j++) {
        ir_id acc = ir_const(g, 0);
        for (int m = 0; m < M; m++)
            acc = ir_sub(g, acc, ir_mul(g, s->rows[e->model.force_row * M + m], s->geom[(2 + j) * M + m]));
        acc = ir_add(g, acc, load[sp + j]);
        tau[j] = ir_sub(g, acc, ir_mul(g, B->damping, s->qd[j]));
    }
    /* plus J^T endpoint_load, then qdd = M^-1 (tau - C) */
    ir_id *repl = sym_values(B, s->q, s->qd, NULL, load);
    ir_subst sub;
    if (!repl || !subst_begin(&sub, g, e->skel->n_sym, repl))
        return 0;
    for (int j = 0; j < dof; j++)
        tau[j] = ir_add(g, tau[j], subst_apply(&sub, e->skel->jtf[j]));
    subst_end(&sub);
    repl = sym_values(B, s->q, s->qd, tau, NULL);
    if (!repl || !subst_begin(&sub, g, e->skel->n_sym, repl))
        return 0;
    for (int j = 0; j < dof; j++) {
        k->qdd[j] = subst_apply(&sub, e->skel->qdd[j]);
        k->qd[j] = s->qd[j];
    }
    subst_end(&sub);
    return 1;
}

/* s' = step(dt, k, s).  textbook: q' = q + dt k.qd (true RK4); otherwise the
 * reference's q' = q + dt qd with the velocity of s. */
static int step_from(builder *B, ir_id dt, const sim_deriv *k, const sim_state *s, const ir_id *u,
                     int textbook, sim_state *out)
{
    mnet_effector *e = B->eff;
    ir_graph *g = B->E.g;
    int dof = e->n_dof, M = e->n_muscles, R = e->model.n_rows;
    ir_id *rows = zalloc(B, (size_t)R * sizeof(ir_id)), *ders = zalloc(B, (size_t)R * sizeof(ir_id));
    ir_id *next = zalloc(B, (size_t)R * sizeof(ir_id));
    if (!rows || !ders || !next)
        return 0;
    for (int m = 0; m < M; m++) {
        gather_rows(B, s->rows, m, rows);
        gather_rows(B, k->ders, m, ders);
        muscle_io io = io_of(B, s, m, u[m], dt);
        if (!muscle_update(&B->E, &e->model, B->mparams[m], rows, ders, &io, next))
            return 0;
        scatter_rows(B, next, m, out->rows);
    }
    for (int j = 0; j < dof; j++) {
        ir_id qd = ir_add(g, s->qd[j], ir_mul(g, dt, k->qdd[j]));
        ir_id q = ir_add(g, s->q[j], ir_mul(g, dt, textbook ? k->qd[j] : s->qd[j]));
        /* MODELS 4.3: clip velocity, stop at a limit, clip position */
        qd = ir_clamp(g, qd, ir_const(g, e->vel_lo[j]), ir_const(g, e->vel_hi[j]));
        ir_id zero = ir_const(g, 0);
        ir_id at_lo = ir_binary(g, IR_AND, ir_binary(g, IR_LT, qd, zero),
                                ir_binary(g, IR_LE, q, ir_const(g, e->pos_lo[j])));
        ir_id at_hi = ir_binary(g, IR_AND, ir_binary(g, IR_GT, qd, zero),
                                ir_binary(g, IR_GE, q, ir_const(g, e->pos_hi[j])));
        out->qd[j] = ir_select(g, ir_binary(g, IR_OR, at_lo, at_hi), zero, qd);
        out->q[j] = ir_clamp(g, q, ir_const(g, e->pos_lo[j]), ir_const(g, e->pos_hi[j]));
    }
    return geometry_at(B, out);
}

/* k = sum_i w_i k_i */
static int combine(builder *B, int n, const double *w, sim_deriv *const *ks, sim_deriv *out)
{
    const mnet_effector *e = B->eff;
    ir_graph *g = B->E.g;
    int nd = e->model.n_rows * e->n_muscles;
    for (int r = 0; r < nd; r++) {
        if (ks[0]->ders[r] < 0) {
            out->ders[r] = -1;
            continue;
        }
        ir_id acc = ir_const(g, 0);
        for (int i = 0; i < n; i++)
            acc = ir_add(g, acc, ir_mul(g, ir_const(g, w[i]), ks[i]->ders[r]));
        out->ders[r] = acc;
    }
    for (int j = 0; j < e->n_dof; j++) {
        ir_id a = ir_const(g, 0), v = ir_const(g, 0);
        for (int i = 0; i < n; i++) {
            a = ir_add(g, a, ir_mul(g, ir_const(g, w[i]), ks[i]->qdd[j]));
            v = ir_add(g, v, ir_mul(g, ir_const(g, w[i]), ks[i]->qd[j]));
        }
        out->qdd[j] = a;
        out->qd[j] = v;
    }
    return 1;
}

/* One ministep of the chosen integrator from s0 into out. */
static int ministep(builder *B, double h, const sim_state *s0, const ir_id *u, const ir_id *load,
                    sim_state *out)
{
    ir_graph *g = B->E.g;
    integrator_kind kind = B->eff->integrator;
    sim_deriv k1, k2, k3, k4, avg;
    if (!alloc_deriv(B, &k1) || !ode(B, s0, u, load, &k1))
        return 0;
    if (kind == INTEG_EULER)
        return step_from(B, ir_const(g, h), &k1, s0, u, 0, out);
    sim_state s1, s2, s3;
    int textbook = kind == INTEG_RK4;
    if (!alloc_state(B, &s1) || !alloc_state(B, &s2) || !alloc_state(B, &s3) || !alloc_deriv(B, &k2) ||
        !alloc_deriv(B, &k3) || !alloc_deriv(B, &k4) || !alloc_deriv(B, &avg))
        return 0;
    ir_id half = ir_const(g, h / 2), full = ir_const(g, h);
    /* textbook: every stage from s0; MotorNet: each stage from the last */
    if (!step_from(B, half, &k1, s0, u, textbook, &s1) || !ode(B, &s1, u, load, &k2))
        return 0;
    if (!step_from(B, half, &k2, textbook ? s0 : &s1, u, textbook, &s2) || !ode(B, &s2, u, load, &k3))
        return 0;
    if (!step_from(B, full, &k3, textbook ? s0 : &s2, u, textbook, &s3) || !ode(B, &s3, u, load, &k4))
        return 0;
    static const double w[4] = {1.0 / 6, 2.0 / 6, 2.0 / 6, 1.0 / 6};
    sim_deriv *ks[4] = {&k1, &k2, &k3, &k4};
    combine(B, 4, w, ks, &avg);
    return step_from(B, full, &avg, s0, u, textbook, out);
}

/* ---- reading the effector definition ------------------------------------ */

static const ast_stmt *find_stmt(const ast_stmt *body, const char *head)
{
    for (; body; body = body->next)
        if (body->kind == ST_SETTING && !strcmp(body->head, head))
            return body;
    return NULL;
}

/* The value of setting `head`: an alias override wins over the statement.
 * Returns NULL when neither is present (or after reporting a bad one). */
static const ast_expr *setting_value(builder *B, const ast_stmt *body, const ast_arg *overrides,
                                     const char *head, int *bad)
{
    const ast_arg *o = find_arg(overrides, head);
    if (o)
        return o->value;
    const ast_stmt *st = find_stmt(body, head);
    if (!st)
        return NULL;
    if (st->nargs != 1 || st->args->name || st->has_body) {
        mnet_error(B->E.ctx, st->loc, "%s expects one value", head);
        *bad = 1;
        return NULL;
    }
    return st->args->value;
}

static const mnet_def *resolve_model_name(builder *B, scope *eff_scope, const ast_expr *e)
{
    if (e->kind != EX_ID) {
        mnet_error(B->E.ctx, e->loc, "muscles expects a muscle model name");
        return NULL;
    }
    const char *name = e->name;
    const scope *p = scope_find(eff_scope, name);
    if (p && p->kind == B_VALUE && p->val.kind == V_NAME)
        name = p->val.str;
    const mnet_def *d = program_find(B->E.prog, name);
    if (!d || d->kind != DEF_MUSCLE_MODEL) {
        mnet_error(B->E.ctx, e->loc, "'%s' is not a muscle model", name);
        return NULL;
    }
    return d;
}

/* Muscle parameters: the muscle's own value, else the block's, else the
 * model's default (which may use earlier parameters). */
static int muscle_params(builder *B, model_muscle *m, const ast_arg *own, const ast_arg *shared,
                         scope **run)
{
    const muscle_model *mm = &B->eff->model;
    eval_env *E = &B->E;
    scope *cst = NULL;
    *run = NULL;
    int unknown = 0;
    for (const ast_arg *a = own; a; a = a->next) {
        int known = 0;
        for (int i = 0; i < mm->n_params; i++)
            known |= a->name && !strcmp(a->name, mm->param_names[i]);
        if (!known) {
            if (a->name)
                mnet_error(E->ctx, a->loc, "muscle model '%s' has no parameter '%s'", mm->name, a->name);
            else
                mnet_error(E->ctx, a->loc, "muscle parameters are named: max_force = 500 N");
            unknown = 1;
        }
    }
    if (unknown)
        return 0;
    m->param_base = B->eff->n_params;
    int in_range = 1; /* every parameter out of its range is reported */
    for (int i = 0; i < mm->n_params; i++) {
        const ast_arg *given = find_arg(own, mm->param_names[i]);
        if (!given)
            given = find_arg(shared, mm->param_names[i]);
        const ast_expr *e = given ? given->value : mm->param_defaults[i];
        if (!e) {
            mnet_error(E->ctx, m->loc, "muscle '%s' needs a value for '%s' (no default in '%s')", m->name,
                       mm->param_names[i], mm->name);
            return 0;
        }
        value v = eval_expr(E, cst, e);
        if (v.kind == V_ERR)
            return 0;
        if (v.kind != V_NUM || v.ndim != 0 || ir_get(E->g, v.scalar)->op != IR_CONST) {
            mnet_error(E->ctx, e->loc, "'%s' of muscle '%s' must be a constant number", mm->param_names[i],
                       m->name);
            return 0;
        }
        if (!check_dim(E->ctx, &v, mm->param_dims[i], mm->param_names[i], e->loc))
            return 0;
        size_t len = strlen(m->name) + strlen(mm->param_names[i]) + 2;
        char *full = zalloc(B, len);
        int idx = -1;
        if (full) {
            snprintf(full, len, "%s.%s", m->name, mm->param_names[i]);
            idx = effector_add_param(B->eff, full, ir_get(E->g, v.scalar)->value, e->loc);
            if (idx >= 0)
                B->eff->params[idx].dim = mm->param_dims[i];
        }
        if (idx == -2) {
            mnet_error(E->ctx, m->loc, "parameter '%s' is defined twice (does a link share the name of muscle '%s'?)",
                       full, m->name);
            return 0;
        }
        if (idx < 0) {
            mnet_error(E->ctx, m->loc, "out of memory");
            return 0;
        }
        if (!param_set_range(E->ctx, B->eff, idx, muscle_param_range(mm->param_names[i]), e->loc))
            in_range = 0;
        cst = scope_bind(E, cst, mm->param_names[i], v, e->loc);
    }
    if (!in_range)
        return 0;
    ir_id *nodes = zalloc(B, (size_t)(mm->n_params + 1) * sizeof(ir_id));
    if (!nodes)
        return 0;
    for (int i = 0; i < mm->n_params; i++)
        nodes[i] = ir_param(E->g, m->param_base + i);
    *run = muscle_param_scope(E, mm, nodes);
    return 1;
}

/* The muscles block.  Every muscle is checked even after an error in
 * another one (their errors are independent); returns nonzero on any error. */
static int lower_muscles(builder *B, const ast_stmt *st, scope *eff_scope)
{
    mnet_effector *e = B->eff;
    eval_env *E = &B->E;
    const ast_expr *c = st->nargs == 1 && !st->args->name ? st->args->value : NULL;
    if (!c || !st->has_body) {
        mnet_error(E->ctx, st->loc, "muscles expects MODEL(shared params) { muscle NAME(...) { ... } ... }");
        return 1;
    }
    const ast_arg *shared = NULL;
    const mnet_def *def;
    if (c->kind == EX_CALL) {
        ast_expr id = *c;
        id.kind = EX_ID;
        def = resolve_model_name(B, eff_scope, &id);
        shared = c->args;
    } else {
        def = resolve_model_name(B, eff_scope, c);
    }
    if (!def || muscle_model_resolve(E->ctx, def, &e->model))
        return 1;
    int failed = 0, shared_ok = 1;
    for (const ast_arg *a = shared; a; a = a->next) {
        int known = 0;
        for (int i = 0; i < e->model.n_params; i++)
            known |= a->name && !strcmp(a->name, e->model.param_names[i]);
        if (!known) {
            mnet_error(E->ctx, a->loc, "muscle model '%s' has no parameter '%s'", e->model.name,
                       a->name ? a->name : "(positional)");
            failed = 1;
            shared_ok = 0; /* the muscles' values would miss it (a misspelt name): geometry only */
        }
    }
    int n = 0;
    double *offset = zalloc(B, (size_t)e->n_dof * sizeof(double));
    if (!offset)
        return 1;
    for (const ast_stmt *s = st->body; s; s = s->next) {
        if (s->kind == ST_SETTING && !strcmp(s->head, "muscle")) {
            n++;
        } else if (s->kind == ST_SETTING && !strcmp(s->head, "polynomial_offset") && s->nargs == 1) {
            value v = eval_expr(E, NULL, s->args->value);
            if (v.kind != V_NUM || v.ndim != 1 || v.rows != e->n_dof) {
                if (v.kind != V_ERR)
                    mnet_error(E->ctx, s->loc, "polynomial_offset must be a vector of %d", e->n_dof);
                failed = 1;
                continue;
            }
            for (int j = 0; j < e->n_dof; j++)
                offset[j] = ir_get(E->g, v.v[j])->value;
        } else {
            mnet_error(E->ctx, s->loc, "a muscles block holds 'muscle NAME(...) { ... }' and 'polynomial_offset'");
            failed = 1;
        }
    }
    if (n == 0) {
        mnet_error(E->ctx, st->loc, "an effector needs at least one muscle");
        return 1;
    }
    e->n_muscles = n;
    e->muscles = calloc((size_t)n, sizeof(model_muscle));
    B->geo = calloc((size_t)n, sizeof(muscle_geometry));
    B->mparams = calloc((size_t)n, sizeof(scope *));
    if (!e->muscles || !B->geo || !B->mparams)
        return 1;
    int i = 0;
    for (const ast_stmt *s = st->body; s; s = s->next) {
        if (s->kind != ST_SETTING || strcmp(s->head, "muscle") != 0)
            continue;
        model_muscle *m = &e->muscles[i++];
        const ast_expr *mc = s->nargs == 1 && !s->args->name ? s->args->value : NULL;
        if (!mc || (mc->kind != EX_CALL && mc->kind != EX_ID) || !s->has_body) {
            mnet_error(E->ctx, s->loc, "muscle expects NAME(params) { geometry }");
            failed = 1;
            continue;
        }
        int twice = 0;
        for (int k = 0; k < i - 1 && !twice; k++)
            if (e->muscles[k].name && !strcmp(e->muscles[k].name, mc->name)) {
                mnet_error(E->ctx, mc->loc, "muscle '%s' is defined twice", mc->name);
                mnet_note(E->ctx, e->muscles[k].loc, "first defined here");
                twice = 1;
            }
        if (twice) { /* its parameters would clash with the first one's */
            failed = 1;
            continue;
        }
        m->name = strdup(mc->name);
        m->loc = mc->loc;
        if (!m->name)
            return 1;
        /* its parameters and its geometry are checked independently */
        if (!shared_ok || !muscle_params(B, m, mc->kind == EX_CALL ? mc->args : NULL, shared,
                                         &B->mparams[m - e->muscles]))
            failed = 1;
        if (geometry_lower(E, e, m, s->body, offset, &B->geo[m - e->muscles]))
            failed = 1;
    }
    return failed;
}

/* ---- the interface functions --------------------------------------------- */

enum { ARG_STATE = 0, ARG_ACTION = 1, ARG_LOAD = 2, ARG_GNEXT = 3 };

static int read_state(builder *B, int arg, sim_state *s)
{
    mnet_effector *e = B->eff;
    ir_graph *g = B->E.g;
    if (!alloc_state(B, s))
        return 0;
    for (int j = 0; j < e->n_dof; j++) {
        s->q[j] = ir_var(g, arg, e->joint_off + j);
        s->qd[j] = ir_var(g, arg, e->joint_off + e->n_dof + j);
    }
    for (int k = 0; k < 2 * e->space_dim; k++)
        s->cart[k] = ir_var(g, arg, e->cart_off + k);
    for (int k = 0; k < e->model.n_rows * e->n_muscles; k++)
        s->rows[k] = ir_var(g, arg, e->muscle_off + k);
    for (int k = 0; k < (2 + e->n_dof) * e->n_muscles; k++)
        s->geom[k] = ir_var(g, arg, e->geom_off + k);
    return 1;
}

static ir_output *state_outputs(builder *B, const sim_state *s, int arg)
{
    mnet_effector *e = B->eff;
    ir_output *o = calloc((size_t)e->n_state, sizeof *o);
    if (!o)
        return NULL;
    for (int r = 0; r < e->n_state; r++) {
        o[r].arg = arg;
        o[r].row = r;
    }
    for (int j = 0; j < e->n_dof; j++) {
        o[e->joint_off + j].node = s->q[j];
        o[e->joint_off + e->n_dof + j].node = s->qd[j];
    }
    for (int k = 0; k < 2 * e->space_dim; k++)
        o[e->cart_off + k].node = s->cart[k];
    for (int k = 0; k < e->model.n_rows * e->n_muscles; k++)
        o[e->muscle_off + k].node = s->rows[k];
    for (int k = 0; k < (2 + e->n_dof) * e->n_muscles; k++)
        o[e->geom_off + k].node = s->geom[k];
    return o;
}

static ir_function make_fn(const char *name, int n_in, int n_out, int n_outputs, ir_output *outs)
{
    ir_function f = {name, n_in, n_out, n_outputs, outs};
    return f;
}

/* Builds the VJP of fwd: cotangents from arg `seed_arg` (one per output),
 * gradients w.r.t. the rows of the given input args. */
static int make_vjp(builder *B, const ir_function *fwd, int seed_arg, int n_wrt_args,
                    const int *wrt_args, const int *wrt_rows, const char *name, ir_function *out)
{
    ir_graph *g = B->E.g;
    int n = fwd->n_outputs, nw = 0;
    for (int a = 0; a < n_wrt_args; a++)
        nw += wrt_rows[a];
    ir_id *outs = malloc((size_t)n * sizeof(ir_id)), *seeds = malloc((size_t)n * sizeof(ir_id));
    ir_id *wrt = malloc((size_t)nw * sizeof(ir_id)), *grads = malloc((size_t)nw * sizeof(ir_id));
    ir_output *o = calloc((size_t)nw, sizeof *o);
    int ok = outs && seeds && wrt && grads && o;
    for (int i = 0; ok && i < n; i++) {
        outs[i] = fwd->outputs[i].node;
        seeds[i] = ir_var(g, seed_arg, fwd->outputs[i].row);
    }
    int k = 0;
    for (int a = 0; ok && a < n_wrt_args; a++)
        for (int r = 0; r < wrt_rows[a]; r++, k++) {
            wrt[k] = ir_var(g, wrt_args[a], r);
            o[k].arg = a;
            o[k].row = r;
        }
    ok = ok && ir_vjp(g, n, outs, seeds, nw, wrt, grads) == 0;
    for (k = 0; ok && k < nw; k++)
        o[k].node = grads[k];
    free(outs);
    free(seeds);
    free(wrt);
    free(grads);
    if (!ok) {
        free(o);
        return 0;
    }
    *out = make_fn(name, seed_arg + 1, n_wrt_args, nw, o);
    return 1;
}

/* eff->fn_points, n_points and point_names from the state s (read_state). */
static int build_points(builder *B, const sim_state *s)
{
    mnet_effector *e = B->eff;
    int sp = e->space_dim;
    int n_origins = e->skeleton == SKEL_POINT_MASS ? 0 : e->n_bodies;
    int K = n_origins + 1;
    e->point_names = calloc((size_t)K, sizeof(char *));
    if (!e->point_names)
        return 0;
    e->n_points = K;
    for (int k = 0; k < K; k++) {
        const char *name = k < n_origins ? e->body_names[k] : e->skeleton == SKEL_POINT_MASS ? e->body_names[0]
                                                                                           : "endpoint";
        if (!(e->point_names[k] = strdup(name)))
            return 0;
    }
    ir_output *o = calloc((size_t)(K * sp), sizeof *o);
    if (!o)
        return 0;
    e->fn_points = make_fn("points", 1, 1, K * sp, o);
    for (int r = 0; r < K * sp; r++)
        o[r] = (ir_output){0, r, -1};
    if (n_origins > 0) {
        ir_id *repl = sym_values(B, s->q, s->qd, NULL, NULL);
        ir_subst sub;
        if (!repl || !subst_begin(&sub, B->E.g, e->skel->n_sym, repl))
            return 0;
        for (int r = 0; r < n_origins * sp; r++)
            o[r].node = subst_apply(&sub, e->skel->body_origin[r]);
        subst_end(&sub);
    }
    for (int i = 0; i < sp; i++)
        o[n_origins * sp + i].node = s->cart[i];
    for (int r = 0; r < K * sp; r++)
        if (o[r].node < 0)
            return 0;
    return 1;
}

static int build_functions(builder *B)
{
    mnet_effector *e = B->eff;
    ir_graph *g = B->E.g;
    int dof = e->n_dof, sp = e->space_dim, M = e->n_muscles, R = e->model.n_rows;

    /* init: joint0 -> state */
    sim_state s0;
    if (!alloc_state(B, &s0))
        return 0;
    for (int j = 0; j < dof; j++) {
        s0.q[j] = ir_var(g, 0, j);
        s0.qd[j] = ir_var(g, 0, dof + j);
    }
    if (!geometry_at(B, &s0))
        return 0;
    ir_id *rows = zalloc(B, (size_t)R * sizeof(ir_id));
    if (!rows)
        return 0;
    for (int m = 0; m < M; m++) {
        muscle_io io = io_of(B, &s0, m, -1, ir_const(g, e->step));
        if (!muscle_init(&B->E, &e->model, B->mparams[m], &io, rows))
            return 0;
        scatter_rows(B, rows, m, s0.rows);
    }
    ir_output *o = state_outputs(B, &s0, 0);
    if (!o)
        return 0;
    e->fn_init = make_fn("init", 1, 1, e->n_state, o);

    /* step: state, action, load -> next state (all ministeps) */
    sim_state s, cur;
    if (!read_state(B, ARG_STATE, &s))
        return 0;
    ir_id *u = zalloc(B, (size_t)M * sizeof(ir_id)), *load = zalloc(B, (size_t)(sp + dof) * sizeof(ir_id));
    if (!u || !load)
        return 0;
    for (int m = 0; m < M; m++)
        u[m] = ir_var(g, ARG_ACTION, m);
    for (int k = 0; k < sp + dof; k++)
        load[k] = ir_var(g, ARG_LOAD, k);
    cur = s;
    double h = e->step / e->n_ministeps;
    for (int i = 0; i < e->n_ministeps; i++) {
        sim_state next;
        if (!alloc_state(B, &next) || !ministep(B, h, &cur, u, load, &next))
            return 0;
        cur = next;
    }
    o = state_outputs(B, &cur, 0);
    if (!o)
        return 0;
    e->fn_step = make_fn("step", 3, 1, e->n_state, o);

    /* sense: state -> end point, muscle length / l_o, velocity / vmax */
    o = calloc((size_t)e->n_sense, sizeof *o);
    if (!o)
        return 0;
    for (int k = 0; k < sp; k++)
        o[k] = (ir_output){0, k, s.cart[k]};
    for (int m = 0; m < M; m++) {
        gather_rows(B, s.rows, m, rows);
        muscle_io io = io_of(B, &s, m, -1, -1);
        ir_id len, vel;
        if (!muscle_sense(&B->E, &e->model, B->mparams[m], rows, &io, &len, &vel)) {
            free(o);
            return 0;
        }
        o[sp + m] = (ir_output){0, sp + m, len};
        o[sp + M + m] = (ir_output){0, sp + M + m, vel};
    }
    e->fn_sense = make_fn("sense", 1, 1, e->n_sense, o);

    /* points: state -> the body's drawing points (mnet_model.h), each
     * space_dim rows: the origin of every body but a point mass's (whose one
     * body is its end point), in the order of body_names, then the end point,
     * copied from the state's cartesian rows as sense does */
    if (!build_points(B, &s))
        return 0;

    /* backward functions */
    int init_args[] = {0}, init_rows[] = {2 * dof};
    int step_args[] = {ARG_STATE, ARG_ACTION, ARG_LOAD}, step_rows[] = {e->n_state, M, sp + dof};
    int sense_args[] = {0}, sense_rows[] = {e->n_state};
    if (!make_vjp(B, &e->fn_init, 1, 1, init_args, init_rows, "init_vjp", &e->fn_init_vjp) ||
        !make_vjp(B, &e->fn_step, ARG_GNEXT, 3, step_args, step_rows, "step_vjp", &e->fn_step_vjp) ||
        !make_vjp(B, &e->fn_sense, 1, 1, sense_args, sense_rows, "sense_vjp", &e->fn_sense_vjp))
        return 0;
    /* The VJPs took their seeds from args 1 and 3; a gradient output of arg
     * index a goes to out[a]. */
    ir_id *roots = malloc((size_t)(e->fn_step.n_outputs + e->fn_step_vjp.n_outputs) * sizeof(ir_id));
    if (!roots)
        return 0;
    for (int k = 0; k < e->fn_step.n_outputs; k++)
        roots[k] = e->fn_step.outputs[k].node;
    e->fwd_nodes = ir_count_reachable(g, e->fn_step.n_outputs, roots);
    for (int k = 0; k < e->fn_step_vjp.n_outputs; k++)
        roots[k] = e->fn_step_vjp.outputs[k].node;
    e->bwd_nodes = ir_count_reachable(g, e->fn_step_vjp.n_outputs, roots);
    free(roots);
    return 1;
}

/* ---- the effector -------------------------------------------------------- */

/* The effector's body.  Independent parts are all checked, so one run
 * reports every error that does not follow from another: each override,
 * param and statement; the skeleton; the muscles (when the skeleton and the
 * params they may use are sound); step, ministeps, integrator and damping;
 * the loads (when the skeleton gives their sizes).  Returns nonzero on any
 * error. */
static int lower_body(builder *B, const ast_stmt *body, const ast_arg *overrides, const char *def_name)
{
    mnet_effector *e = B->eff;
    eval_env *E = &B->E;
    mnet_ctx *ctx = E->ctx;
    int failed = 0;
    /* effector params: names (a muscle model) or constants */
    scope *eff_scope = NULL;
    for (const ast_arg *o = overrides; o; o = o->next) {
        int found = 0;
        for (const ast_stmt *s = body; s; s = s->next)
            if (s->kind == ST_SETTING && !strcmp(s->head, "param"))
                for (const ast_arg *a = s->args; a; a = a->next)
                    found |= a->name && o->name && !strcmp(a->name, o->name);
        static const char *const settings[] = {"step", "ministeps", "integrator", "damping",
                                               "endpoint_load", "joint_load", NULL};
        for (const char *const *k = settings; !found && o->name && *k; k++)
            found = !strcmp(*k, o->name);
        if (!found) {
            mnet_error(ctx, o->loc, "effector '%s' has no parameter or setting '%s'", def_name,
                       o->name ? o->name : "?");
            failed = 1;
        }
    }
    int params_ok = 1; /* every param bound: what may use them can be checked */
    for (const ast_stmt *s = body; s; s = s->next) {
        if (s->kind != ST_SETTING || strcmp(s->head, "param") != 0)
            continue;
        for (const ast_arg *a = s->args; a; a = a->next) {
            if (!a->name || !a->value) {
                mnet_error(ctx, a->loc, "effector param expects 'name = default'");
                params_ok = 0;
                continue;
            }
            const ast_arg *o = find_arg(overrides, a->name);
            value v = eval_expr(E, NULL, o ? o->value : a->value);
            if (v.kind == V_ERR) {
                params_ok = 0;
                continue;
            }
            eff_scope = scope_bind(E, eff_scope, a->name, v, a->loc);
        }
    }
    failed |= !params_ok;
    static const char *const known[] = {"param", "skeleton", "muscles", "damping", "endpoint_load",
                                        "joint_load", "integrator", "ministeps", "step", "path_velocity",
                                        NULL};
    for (const ast_stmt *s = body; s; s = s->next) {
        int ok = s->kind == ST_SETTING;
        for (const char *const *k = known; ok && *k; k++)
            if (!strcmp(*k, s->head))
                ok = 2;
        if (ok != 2) {
            mnet_error(ctx, s->loc,
                       "unknown statement '%s' in effector (expected param, skeleton, muscles, damping, "
                       "endpoint_load, joint_load, integrator, ministeps, step or path_velocity)",
                       s->head);
            failed = 1;
            continue;
        }
        for (const ast_stmt *t = body; t != s; t = t->next)
            if (strcmp(s->head, "param") != 0 && !strcmp(t->head, s->head)) {
                mnet_error(ctx, s->loc, "'%s' is given twice in effector '%s'", s->head, def_name);
                mnet_note(ctx, t->loc, "first given here");
                failed = 1;
                break;
            }
    }
    const ast_stmt *sk = find_stmt(body, "skeleton");
    int skeleton_ok = 0;
    if (!sk)
        mnet_error(ctx, e->loc, "effector '%s' has no skeleton", def_name);
    else
        skeleton_ok = skeleton_lower(E, e, sk) == 0;
    failed |= !skeleton_ok;
    const ast_stmt *pv = find_stmt(body, "path_velocity");
    if (pv) {
        const ast_expr *x = pv->nargs == 1 && !pv->args->name ? pv->args->value : NULL;
        if (!x || x->kind != EX_ID || (strcmp(x->name, "exact") && strcmp(x->name, "motornet"))) {
            mnet_error(ctx, pv->loc, "path_velocity is 'exact' (default) or 'motornet'");
            failed = 1;
        } else {
            e->path_velocity_motornet = !strcmp(x->name, "motornet");
        }
    }
    const ast_stmt *mu = find_stmt(body, "muscles");
    if (!mu) {
        mnet_error(ctx, e->loc, "effector '%s' has no muscles", def_name);
        failed = 1;
    } else if (!skeleton_ok || !params_ok || lower_muscles(B, mu, eff_scope)) {
        failed = 1; /* muscles need the skeleton's bodies and joints */
    }
    if (!params_ok)
        return 1; /* the settings below may use a param */
    /* numerics */
    int bad = 0;
    const ast_expr *x;
    e->step = 0.01;
    e->n_ministeps = 1;
    e->integrator = INTEG_EULER;
    if ((x = setting_value(B, body, overrides, "step", &bad))) {
        if (!eval_const(E, eff_scope, x, "step", &e->step))
            failed = 1;
        else if (!(e->step > 0) || !isfinite(e->step)) {
            mnet_error(ctx, x->loc, "step must be positive");
            failed = 1;
        }
    }
    if ((x = setting_value(B, body, overrides, "ministeps", &bad))) {
        double n;
        if (!eval_const(E, eff_scope, x, "ministeps", &n)) {
            failed = 1;
        } else if (n != floor(n) || n < 1 || n > 1000) {
            mnet_error(ctx, x->loc, "ministeps must be a whole number from 1 to 1000");
            failed = 1;
        } else {
            e->n_ministeps = (int)n;
        }
    }
    if ((x = setting_value(B, body, overrides, "integrator", &bad))) {
        const char *nm = x->kind == EX_ID ? x->name : "";
        if (!strcmp(nm, "euler"))
            e->integrator = INTEG_EULER;
        else if (!strcmp(nm, "rk4"))
            e->integrator = INTEG_RK4;
        else if (!strcmp(nm, "motornet_rk4"))
            e->integrator = INTEG_MOTORNET_RK4;
        else {
            mnet_error(ctx, x->loc, "unknown integrator (euler, rk4 or motornet_rk4)");
            failed = 1;
        }
    }
    double damping = 0;
    if ((x = setting_value(B, body, overrides, "damping", &bad)) && !eval_const(E, eff_scope, x, "damping", &damping))
        failed = 1;
    e->damping_param = effector_add_param(e, "damping", damping, x ? x->loc : e->loc);
    if (e->damping_param < 0)
        return 1;
    B->damping = ir_param(E->g, e->damping_param);
    if (!skeleton_ok)
        return 1; /* the loads' sizes are the skeleton's */
    e->endpoint_load = calloc((size_t)e->space_dim, sizeof(double));
    e->joint_load = calloc((size_t)e->n_dof, sizeof(double));
    if (!e->endpoint_load || !e->joint_load)
        return 1;
    static const char *const loads[] = {"endpoint_load", "joint_load"};
    for (int i = 0; i < 2; i++) {
        if (!(x = setting_value(B, body, overrides, loads[i], &bad)))
            continue;
        int n = i == 0 ? e->space_dim : e->n_dof;
        double *dst = i == 0 ? e->endpoint_load : e->joint_load;
        value v = eval_expr(E, NULL, x);
        if (v.kind == V_ERR) {
            failed = 1;
            continue;
        }
        if (v.kind != V_NUM || v.ndim != 1 || v.rows != n) {
            mnet_error(ctx, x->loc, "%s must be a vector of %d", loads[i], n);
            failed = 1;
            continue;
        }
        for (int k = 0; k < n; k++) {
            const ir_node *nd = ir_get(E->g, v.v[k]);
            if (nd->op != IR_CONST) {
                mnet_error(ctx, x->loc, "%s must be constant", loads[i]);
                failed = 1;
                break;
            }
            dst[k] = nd->value;
        }
    }
    if (failed || bad)
        return 1;
    /* layout */
    int dof = e->n_dof, sp = e->space_dim, M = e->n_muscles;
    e->joint_off = 0;
    e->cart_off = 2 * dof;
    e->muscle_off = e->cart_off + 2 * sp;
    e->geom_off = e->muscle_off + e->model.n_rows * M;
    e->n_state = e->geom_off + (2 + dof) * M;
    e->n_load = sp + dof;
    e->n_sense = sp + 2 * M;
    if (!build_functions(B)) {
        if (ctx->n_errors == 0)
            mnet_error(ctx, e->loc, "out of memory building effector '%s'", e->name);
        return 1;
    }
    return 0;
}

mnet_effector *lower_effector(mnet_ctx *ctx, const mnet_program *prog, const char *name)
{
    return lower_effector_task(ctx, prog, name, NULL);
}

mnet_effector *lower_effector_task(mnet_ctx *ctx, const mnet_program *prog, const char *name,
                                   const task_spec *task)
{
    const mnet_def *def = NULL;
    if (name) {
        def = program_find(prog, name);
        if (!def || def->kind != DEF_EFFECTOR) {
            mnet_error(ctx, mnet_no_loc(), def ? "'%s' is not an effector" : "no effector named '%s'", name);
            return NULL;
        }
    } else {
        for (int i = 0; i < prog->n_defs; i++)
            if (prog->defs[i].kind == DEF_EFFECTOR && prog->defs[i].stmt->loc.file == 0)
                def = &prog->defs[i];
        if (!def)
            for (int i = 0; i < prog->n_defs; i++)
                if (prog->defs[i].kind == DEF_EFFECTOR)
                    def = &prog->defs[i];
        if (!def) {
            src_loc top = {0, 1, 1}; /* the start of the main file */
            mnet_error(ctx, ctx->n_sources > 0 ? top : mnet_no_loc(), "no effector is defined");
            return NULL;
        }
    }
    mnet_effector *e = calloc(1, sizeof *e);
    mnet_arena arena = {0};
    if (!e)
        return NULL;
    e->name = strdup(def->name);
    e->loc = def->loc;
    e->g = ir_new();
    builder B;
    memset(&B, 0, sizeof B);
    B.E.ctx = ctx;
    B.E.g = e->g;
    B.E.arena = &arena;
    B.E.prog = prog;
    B.eff = e;
    int before = ctx->n_errors, failed = !e->name || !e->g;
    /* effector x = base(overrides);  follows the chain to the definition */
    const mnet_def *base = def, *seen[18];
    const ast_arg *overrides = NULL;
    const ast_expr *over_at = NULL;
    for (int hops = 0; !failed && !base->stmt->has_body; hops++) {
        const ast_expr *c = base->stmt->args->value;
        if (!c || (c->kind != EX_CALL && c->kind != EX_ID)) {
            mnet_error(ctx, base->loc, "effector '%s' must be 'NAME = BASE(overrides)'", base->name);
            failed = 1;
            break;
        }
        int cycle = 0;
        for (int k = 0; k < hops && k < 17; k++)
            cycle |= seen[k] == base;
        if (cycle || hops > 16) {
            mnet_error(ctx, def->loc, cycle ? "effector '%s': its aliases form a cycle through '%s'"
                                            : "effector '%s': aliases nested deeper than 16",
                       def->name, base->name);
            failed = 1;
            break;
        }
        seen[hops] = base;
        if (overrides && c->kind == EX_CALL) {
            mnet_error(ctx, over_at->loc, "an effector alias of an alias cannot add overrides ('%s' is '%s(...)')",
                       base->name, c->name);
            failed = 1;
            break;
        }
        if (c->kind == EX_CALL) {
            overrides = c->args;
            over_at = c;
        }
        const mnet_def *b = program_find(prog, c->name);
        if (!b || b->kind != DEF_EFFECTOR) {
            mnet_error(ctx, c->loc, "'%s' is not an effector", c->name);
            failed = 1;
            break;
        }
        base = b;
    }
    if (!failed)
        failed = lower_body(&B, base->stmt->body, overrides, base->name);
    if (!failed && ctx->n_errors == before)
        failed = !lower_loss(&B.E, e, task);
    for (int m = 0; B.geo && m < e->n_muscles; m++)
        free(B.geo[m].arms);
    free(B.geo);
    free(B.mparams);
    arena_free(&arena);
    if (failed || ctx->n_errors > before) {
        effector_free(e);
        return NULL;
    }
    return e;
}

void effector_free(mnet_effector *e)
{
    if (!e)
        return;
    free(e->name);
    for (int j = 0; j < e->n_dof && e->joint_names; j++)
        free(e->joint_names[j]);
    free(e->joint_names);
    for (int b = 0; b < e->n_bodies && e->body_names; b++)
        free(e->body_names[b]);
    free(e->body_names);
    free(e->pos_lo);
    free(e->pos_hi);
    free(e->vel_lo);
    free(e->vel_hi);
    skeleton_desc_free(e->skel);
    for (int m = 0; m < e->n_muscles && e->muscles; m++) {
        model_muscle *mu = &e->muscles[m];
        free(mu->name);
        free(mu->points);
        free(mu->a1);
        free(mu->a2);
        free(mu->offset);
        free(mu->arms);
    }
    free(e->muscles);
    muscle_model_free(&e->model);
    free(e->endpoint_load);
    free(e->joint_load);
    for (int i = 0; i < e->n_params; i++)
        free(e->params[i].name);
    free(e->params);
    for (int k = 0; k < e->n_loss && e->loss_names; k++)
        free(e->loss_names[k]);
    free(e->loss_names);
    free(e->loss_term);
    for (int k = 0; k < e->n_points && e->point_names; k++)
        free(e->point_names[k]);
    free(e->point_names);
    ir_function *fns[] = {&e->fn_init,  &e->fn_init_vjp,  &e->fn_step, &e->fn_step_vjp, &e->fn_sense,
                          &e->fn_sense_vjp, &e->fn_points, &e->fn_loss, &e->fn_loss_vjp};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        free((void *)fns[i]->outputs);
    ir_free(e->g);
    free(e);
}
