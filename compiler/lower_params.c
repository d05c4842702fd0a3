/* lower_params.c - parameter values: defaults, overrides, units, the table. */
#include "lower_params.h"

#include "lower_skeleton.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the values a parameter may take ----------------------------------- */

param_range param_range_any(void)
{
    return (param_range){-INFINITY, INFINITY, 0, NULL};
}

param_range param_range_positive(const char *why)
{
    return (param_range){0, INFINITY, PARAM_LO_OPEN, why};
}

param_range param_range_non_negative(const char *why)
{
    return (param_range){0, INFINITY, 0, why};
}

/* x with %g, or with all its digits where %g would round it (a value just
 * outside a bound must not print as the bound). */
static void format_value(char *buf, size_t n, double x)
{
    snprintf(buf, n, "%g", x);
    if (isfinite(x) && strtod(buf, NULL) != x)
        snprintf(buf, n, "%.17g", x);
}

int effector_param_check(const mnet_effector *eff, int index, double value, char *err, size_t n)
{
    if (!eff || index < 0 || index >= eff->n_params) {
        if (n)
            snprintf(err, n, "no parameter #%d (the model has %d)", index, eff ? eff->n_params : 0);
        return -1;
    }
    const model_param *p = &eff->params[index];
    const param_range *r = &p->range;
    int lo_open = (r->flags & PARAM_LO_OPEN) != 0, hi_open = (r->flags & PARAM_HI_OPEN) != 0;
    int has_lo = r->lo > -INFINITY, has_hi = r->hi < INFINITY;
    if (isfinite(value) && (lo_open ? value > r->lo : value >= r->lo) &&
        (hi_open ? value < r->hi : value <= r->hi))
        return 0;
    if (!n)
        return -1;
    char got[32], lo[32], hi[32], want[96];
    format_value(got, sizeof got, value);
    format_value(lo, sizeof lo, r->lo);
    format_value(hi, sizeof hi, r->hi);
    if (has_lo && has_hi)
        snprintf(want, sizeof want, "in %c%s, %s%c", lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
    else if (has_lo)
        snprintf(want, sizeof want, "%s %s", lo_open ? ">" : ">=", lo);
    else if (has_hi)
        snprintf(want, sizeof want, "%s %s", hi_open ? "<" : "<=", hi);
    else
        snprintf(want, sizeof want, "a finite number");
    snprintf(err, n, "'%s' must be %s (got %s)%s%s", p->name, want, got, r->why ? ": " : "",
             r->why ? r->why : "");
    return -1;
}

int param_set_range(mnet_ctx *ctx, mnet_effector *eff, int idx, param_range r, src_loc at)
{
    eff->params[idx].range = r;
    char msg[512];
    if (effector_param_check(eff, idx, eff->params[idx].value, msg, sizeof msg) == 0)
        return 1;
    mnet_error(ctx, at, "%s", msg);
    return 0;
}

/* ---- values, units, the table ------------------------------------------ */

int check_dim(mnet_ctx *ctx, const value *v, unit_dim declared, const char *name, src_loc loc)
{
    if (declared == DIM_NONE || v->dim == DIM_NONE || v->dim == declared)
        return 1;
    mnet_error(ctx, loc, "'%s' is %s, but the value given is %s", name, unit_dim_name(declared),
               unit_dim_name(v->dim));
    return 0;
}

int effector_add_param(mnet_effector *eff, const char *name, double value, src_loc loc)
{
    for (int i = 0; i < eff->n_params; i++)
        if (!strcmp(eff->params[i].name, name))
            return -2;
    if (eff->n_params == eff->cap_params) {
        int cap = eff->cap_params ? 2 * eff->cap_params : 32;
        model_param *p = realloc(eff->params, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        eff->params = p;
        eff->cap_params = cap;
    }
    model_param *p = &eff->params[eff->n_params];
    p->name = strdup(name);
    if (!p->name)
        return -1;
    p->value = value;
    p->loc = loc;
    p->dim = DIM_NONE;
    p->range = param_range_any();
    return eff->n_params++;
}

int param_scalar(eval_env *E, mnet_effector *eff, const char *name, const ast_arg *given,
                 const ast_expr *default_expr, double fallback, unit_dim dim)
{
    const ast_expr *e = given ? given->value : default_expr;
    double v = fallback;
    src_loc loc = given ? given->loc : default_expr ? default_expr->loc : eff->loc;
    if (e) {
        value val = eval_expr(E, NULL, e);
        if (val.kind == V_ERR)
            return -1;
        if (val.kind != V_NUM || val.ndim != 0) {
            char buf[64];
            mnet_error(E->ctx, e->loc, "'%s' must be a number, got %s", name,
                       value_shape(&val, buf, sizeof buf));
            return -1;
        }
        if (!check_dim(E->ctx, &val, dim, name, e->loc))
            return -1;
        const ir_node *n = ir_get(E->g, val.scalar);
        if (n->op != IR_CONST) {
            mnet_error(E->ctx, e->loc, "'%s' must be a constant", name);
            return -1;
        }
        v = n->value;
    }
    int idx = effector_add_param(eff, name, v, loc);
    if (idx >= 0)
        eff->params[idx].dim = dim;
    if (idx == -2)
        mnet_error(E->ctx, loc, "parameter '%s' is defined twice", name);
    else if (idx < 0)
        mnet_error(E->ctx, loc, "out of memory");
    return idx < 0 ? -1 : idx;
}

int const_pair(eval_env *E, scope *s, const ast_expr *e, unit_dim dim, double out[2])
{
    value v = eval_expr(E, s, e);
    if (v.kind == V_ERR)
        return 0;
    if (v.kind != V_NUM || v.ndim != 1 || v.rows != 2) {
        mnet_error(E->ctx, e->loc, "a range is a vector of two values: [lo, hi]");
        return 0;
    }
    if (!check_dim(E->ctx, &v, dim, "range", e->loc))
        return 0;
    double r[2];
    for (int k = 0; k < 2; k++) {
        const ir_node *n = ir_get(E->g, v.v[k]);
        if (n->op != IR_CONST) {
            mnet_error(E->ctx, e->loc, "a range must be known at compile time");
            return 0;
        }
        r[k] = n->value;
    }
    if (!(r[0] < r[1])) {
        mnet_error(E->ctx, e->loc, "empty range: lower bound %g is not below upper bound %g", r[0], r[1]);
        return 0;
    }
    out[0] = r[0];
    out[1] = r[1];
    return 1;
}

int param_pair(eval_env *E, const ast_arg *arg, unit_dim dim, double out[2])
{
    return !arg || const_pair(E, NULL, arg->value, dim, out);
}

int user_params(eval_env *E, mnet_effector *eff, const ast_stmt *body, const ast_arg *overrides,
                const char *def_name, const char *prefix, scope **run, scope **cst)
{
    int ok = 1;
    /* every override must name a declared parameter */
    for (const ast_arg *o = overrides; o; o = o->next) {
        if (!o->name) {
            mnet_error(E->ctx, o->loc, "'%s' takes named arguments only (name = value)", def_name);
            ok = 0;
            continue;
        }
        int found = 0;
        for (const ast_stmt *s = body; s && !found; s = s->next)
            if (s->kind == ST_SETTING && !strcmp(s->head, "param"))
                for (const ast_arg *a = s->args; a; a = a->next) {
                    const char *n = a->name ? a->name : (a->value && a->value->kind == EX_ID ? a->value->name : "");
                    if (!strcmp(n, o->name))
                        found = 1;
                }
        if (!found) {
            mnet_error(E->ctx, o->loc, "'%s' has no parameter '%s'", def_name, o->name);
            ok = 0;
        }
    }
    for (const ast_stmt *s = body; s; s = s->next) {
        if (s->kind != ST_SETTING || strcmp(s->head, "param") != 0)
            continue;
        for (const ast_arg *a = s->args; a; a = a->next) {
            const char *name = a->name ? a->name : (a->value && a->value->kind == EX_ID ? a->value->name : NULL);
            if (!name) {
                mnet_error(E->ctx, a->loc, "param expects 'name', 'name = default' or 'name: unit = default'");
                ok = 0;
                continue;
            }
            unit_dim dim = a->unit ? unit_dim_of(a->unit) : DIM_NONE;
            if (a->unit && dim == DIM_NONE) {
                mnet_error(E->ctx, a->loc, "unknown unit '%s'", a->unit);
                ok = 0;
                continue;
            }
            const ast_arg *o = NULL;
            for (const ast_arg *x = overrides; x; x = x->next)
                if (x->name && !strcmp(x->name, name))
                    o = x;
            const ast_expr *e = o ? o->value : a->name ? a->value : NULL;
            if (!e) {
                mnet_error(E->ctx, a->loc, "parameter '%s' of '%s' has no default and no value was given",
                           name, def_name);
                ok = 0;
                continue;
            }
            value v = eval_expr(E, *cst, e);
            if (v.kind == V_ERR) {
                ok = 0;
                continue;
            }
            if (v.kind != V_NUM) {
                mnet_error(E->ctx, e->loc, "parameter '%s' must be a number or vector", name);
                ok = 0;
                continue;
            }
            if (!check_dim(E->ctx, &v, dim, name, e->loc)) {
                ok = 0;
                continue;
            }
            for (int k = 0; k < value_count(&v); k++) {
                const ir_node *n = ir_get(E->g, v.ndim ? v.v[k] : v.scalar);
                if (n->op != IR_CONST) {
                    mnet_error(E->ctx, e->loc, "parameter '%s' must be a constant", name);
                    ok = 0;
                    break;
                }
            }
            if (!ok)
                continue;
            *cst = scope_bind(E, *cst, name, v, a->loc);
            if (v.ndim == 0) {
                size_t len = strlen(prefix) + strlen(name) + 2;
                char *full = arena_alloc(E->arena, len);
                if (!full) {
                    mnet_error(E->ctx, a->loc, "out of memory");
                    ok = 0;
                    continue;
                }
                snprintf(full, len, "%s.%s", prefix, name);
                int idx = effector_add_param(eff, full, ir_get(E->g, v.scalar)->value, e->loc);
                if (idx >= 0)
                    eff->params[idx].dim = dim;
                if (idx < 0) {
                    mnet_error(E->ctx, a->loc, "parameter '%s' is defined twice", full);
                    ok = 0;
                    continue;
                }
                *run = scope_bind(E, *run, name, value_scalar(ir_param(E->g, idx), a->loc), a->loc);
            } else {
                *run = scope_bind(E, *run, name, v, a->loc);
            }
        }
    }
    return ok;
}
