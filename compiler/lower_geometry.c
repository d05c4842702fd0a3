/* lower_geometry.c - muscle geometry: paths, polynomials, constant arms. */
#include "lower_geometry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lower_skeleton.h"
#include "lower_subst.h"

static int body_index(const mnet_effector *eff, const char *name)
{
    if (!strcmp(name, "world"))
        return 0;
    for (int b = 0; b < eff->n_bodies; b++)
        if (!strcmp(eff->body_names[b], name))
            return b + 1;
    return -1;
}

static int const_vector(eval_env *E, const ast_expr *e, int n, const char *what, double *out)
{
    value v = eval_expr(E, NULL, e);
    if (v.kind == V_ERR)
        return 0;
    /* n == 1: a scalar, or a vector of one (one joint) */
    if (v.kind != V_NUM || (n == 1 ? !(v.ndim == 0 || (v.ndim == 1 && v.rows == 1)) : (v.ndim != 1 || v.rows != n))) {
        char buf[64];
        if (n == 1)
            mnet_error(E->ctx, e->loc, "%s must be a number, got %s", what, value_shape(&v, buf, sizeof buf));
        else
            mnet_error(E->ctx, e->loc, "%s must be a vector of %d (one per joint), got %s", what, n,
                       value_shape(&v, buf, sizeof buf));
        return 0;
    }
    for (int k = 0; k < n; k++) {
        const ir_node *node = ir_get(E->g, v.ndim == 0 ? v.scalar : v.v[k]);
        if (node->op != IR_CONST) {
            mnet_error(E->ctx, e->loc, "%s must be known at compile time", what);
            return 0;
        }
        out[k] = node->value;
    }
    return 1;
}

/* The value of x (in placeholders) with every joint at the middle of its
 * range and at rest: the configuration the initial state is drawn around.
 * NaN when x does not fold to a constant there. */
static double centre_value(ir_graph *g, const mnet_effector *eff, ir_id x)
{
    int n = eff->skel->n_sym;
    ir_id *repl = malloc((size_t)n * sizeof(ir_id));
    ir_subst sub;
    double v = NAN;
    if (repl) {
        for (int k = 0; k < n; k++)
            repl[k] = ir_const(g, k < eff->n_dof ? 0.5 * (eff->pos_lo[k] + eff->pos_hi[k]) : 0);
        if (subst_begin(&sub, g, n, repl)) {
            const ir_node *c = ir_get(g, subst_apply(&sub, x));
            if (c && c->op == IR_CONST)
                v = c->value;
            subst_end(&sub);
        }
    }
    free(repl);
    return v;
}

/* World position of a path point, in placeholders. */
static void point_world(ir_graph *g, const mnet_effector *eff, const path_point *p, ir_id *out)
{
    int sp = eff->space_dim;
    if (p->body == 0) {
        for (int k = 0; k < sp; k++)
            out[k] = ir_const(g, p->coord[k]);
        return;
    }
    const skeleton_desc *d = eff->skel;
    int b = p->body - 1;
    const ir_id *o = &d->body_origin[b * sp];
    if (d->body_angle[b] < 0) {
        for (int k = 0; k < sp; k++)
            out[k] = ir_add(g, o[k], ir_const(g, p->coord[k]));
        return;
    }
    ir_id c = ir_unary(g, IR_COS, d->body_angle[b]), s = ir_unary(g, IR_SIN, d->body_angle[b]);
    ir_id x = ir_const(g, p->coord[0]), y = ir_const(g, p->coord[1]);
    out[0] = ir_add(g, o[0], ir_sub(g, ir_mul(g, c, x), ir_mul(g, s, y)));
    out[1] = ir_add(g, o[1], ir_add(g, ir_mul(g, s, x), ir_mul(g, c, y)));
}

static int lower_path(eval_env *E, mnet_effector *eff, model_muscle *m, const ast_stmt *st)
{
    int sp = eff->space_dim;
    if (st->nargs < 2) {
        mnet_error(E->ctx, st->loc, "a path needs at least two points");
        return 0;
    }
    m->points = calloc((size_t)st->nargs, sizeof(path_point));
    if (!m->points)
        return 0;
    m->geometry = GEOM_PATH;
    m->n_points = 0;
    for (const ast_arg *a = st->args; a; a = a->next) {
        const ast_expr *c = a->value;
        if (a->name || !c || c->kind != EX_CALL) {
            mnet_error(E->ctx, a->loc, "a path point is BODY(x, y): world(0.1, 0.02), forearm(0.04, 0)");
            return 0;
        }
        int b = body_index(eff, c->name);
        if (b < 0) {
            mnet_error(E->ctx, c->loc, "unknown body '%s' in path of '%s'", c->name, m->name);
            char list[512] = "world";
            for (int k = 0; k < eff->n_bodies; k++) {
                size_t used = strlen(list);
                int w = snprintf(list + used, sizeof list - used, ", %s", eff->body_names[k]);
                if (w < 0 || (size_t)w >= sizeof list - used) { /* keep whole names only */
                    snprintf(list + used, sizeof list - used, ", ...");
                    break;
                }
            }
            mnet_note(E->ctx, c->loc, "bodies are: %s", list);
            return 0;
        }
        if (c->nargs != sp) {
            mnet_error(E->ctx, c->loc, "point on '%s' has %d coordinate%s; the space has %d dimension%s",
                       c->name, c->nargs, c->nargs == 1 ? "" : "s", sp, sp == 1 ? "" : "s");
            return 0;
        }
        path_point *p = &m->points[m->n_points++];
        p->body = b;
        p->loc = c->loc;
        int k = 0;
        for (const ast_arg *x = c->args; x; x = x->next, k++) {
            if (x->name) {
                mnet_error(E->ctx, x->loc, "point coordinates are positional");
                return 0;
            }
            if (!const_vector(E, x->value, 1, "a coordinate", &p->coord[k]))
                return 0;
        }
    }
    return 1;
}

int geometry_lower(eval_env *E, mnet_effector *eff, model_muscle *m, const ast_stmt *body,
                   const double *poly_offset, muscle_geometry *out)
{
    ir_graph *g = E->g;
    int dof = eff->n_dof, sp = eff->space_dim, seen = 0;
    const ast_stmt *geom = NULL;
    for (const ast_stmt *st = body; st; st = st->next) {
        if (st->kind == ST_SETTING && !st->has_body &&
            (!strcmp(st->head, "path") || !strcmp(st->head, "polynomial") || !strcmp(st->head, "moment_arm"))) {
            if (seen++) {
                mnet_error(E->ctx, st->loc, "muscle '%s' has more than one geometry", m->name);
                return 1;
            }
            geom = st;
        } else {
            mnet_error(E->ctx, st->loc, "a muscle block holds one geometry: path, polynomial or moment_arm");
            return 1;
        }
    }
    if (!geom) {
        mnet_error(E->ctx, m->loc, "muscle '%s' has no geometry (path, polynomial or moment_arm)", m->name);
        return 1;
    }
    out->arms = calloc((size_t)dof, sizeof(ir_id));
    ir_id *q = calloc((size_t)dof, sizeof(ir_id));
    if (!out->arms || !q) {
        free(q);
        return 1;
    }
    for (int j = 0; j < dof; j++)
        q[j] = ir_var(g, SYM_ARG, j);
    int ok = 1;
    if (!strcmp(geom->head, "moment_arm")) {
        m->geometry = GEOM_CONSTANT;
        m->arms = calloc((size_t)dof, sizeof(double));
        ok = m->arms && geom->nargs == 1 && !geom->args->name &&
             const_vector(E, geom->args->value, dof, "moment_arm", m->arms);
        if (ok && geom->nargs != 1)
            mnet_error(E->ctx, geom->loc, "moment_arm expects one vector");
        /* MODELS 5.3: constant arms, l_mt = v_mt = 0 */
        out->lmt = out->vmt = ir_const(g, 0);
        for (int j = 0; ok && j < dof; j++)
            out->arms[j] = ir_const(g, m->arms[j]);
        free(q);
        return !ok;
    }
    if (!strcmp(geom->head, "polynomial")) {
        static const char *const allowed[] = {"a0", "a1", "a2", NULL};
        m->geometry = GEOM_POLYNOMIAL;
        m->a1 = calloc((size_t)dof, sizeof(double));
        m->a2 = calloc((size_t)dof, sizeof(double));
        m->offset = calloc((size_t)dof, sizeof(double));
        const ast_arg *a0 = find_arg(geom->args, "a0"), *a1 = find_arg(geom->args, "a1"),
                      *a2 = find_arg(geom->args, "a2");
        ok = m->a1 && m->a2 && m->offset && check_args(E->ctx, geom->args, allowed, "polynomial");
        if (ok && (!a0 || !a1)) {
            mnet_error(E->ctx, geom->loc, "polynomial needs a0 and a1 (a2 defaults to zeros)");
            ok = 0;
        }
        ok = ok && const_vector(E, a0->value, 1, "a0", &m->a0) &&
             const_vector(E, a1->value, dof, "a1", m->a1) &&
             (!a2 || const_vector(E, a2->value, dof, "a2", m->a2));
        if (ok) {
            /* l_mt = a0 + sum_j (a1_j + a2_j q~_j) q~_j, q~ = q - offset */
            ir_id l = ir_const(g, m->a0);
            for (int j = 0; j < dof; j++) {
                m->offset[j] = poly_offset ? poly_offset[j] : 0;
                ir_id qt = ir_sub(g, q[j], ir_const(g, m->offset[j]));
                ir_id coef = ir_add(g, ir_const(g, m->a1[j]), ir_mul(g, ir_const(g, m->a2[j]), qt));
                l = ir_add(g, l, ir_mul(g, coef, qt));
            }
            out->lmt = l;
        }
    } else {
        ok = lower_path(E, eff, m, geom);
        ir_id *p0 = calloc((size_t)sp, sizeof(ir_id)), *p1 = calloc((size_t)sp, sizeof(ir_id));
        ok = ok && p0 && p1;
        if (ok) {
            /* l_mt = sum_k |p_{k+1} - p_k| */
            ir_id l = ir_const(g, 0);
            point_world(g, eff, &m->points[0], p0);
            for (int k = 1; k < m->n_points; k++) {
                point_world(g, eff, &m->points[k], p1);
                ir_id sq = ir_const(g, 0);
                for (int d = 0; d < sp; d++) {
                    ir_id diff = ir_sub(g, p1[d], p0[d]);
                    sq = ir_add(g, sq, ir_mul(g, diff, diff));
                }
                const ir_node *n = ir_get(g, sq);
                double at_centre = n->op == IR_CONST ? n->value : centre_value(g, eff, sq);
                if (at_centre == 0) {
                    mnet_error(E->ctx, m->points[k].loc,
                               "path points %d and %d of '%s' coincide %s: the length has no derivative there",
                               k, k + 1, m->name, n->op == IR_CONST ? "everywhere" : "at the centre of the joint ranges");
                    ok = 0;
                    break;
                }
                l = ir_add(g, l, ir_unary(g, IR_SQRT, sq));
                memcpy(p0, p1, (size_t)sp * sizeof(ir_id));
            }
            out->lmt = l;
        }
        free(p0);
        free(p1);
    }
    if (ok) {
        ir_id one = ir_const(g, 1);
        ok = ir_vjp(g, 1, &out->lmt, &one, dof, q, out->arms) == 0;
        /* v_mt = r . qd; the reference's path muscles instead weight r_j by
         * qd_1 + ... + qd_j (a link's absolute angular velocity in a planar
         * chain): kept as the `path_velocity motornet` mode. */
        ir_id v = ir_const(g, 0), w = ir_const(g, 0);
        for (int j = 0; ok && j < dof; j++) {
            ir_id qd = ir_var(g, SYM_ARG, dof + j);
            w = ir_add(g, w, qd);
            int quirk = eff->path_velocity_motornet && m->geometry == GEOM_PATH;
            v = ir_add(g, v, ir_mul(g, out->arms[j], quirk ? w : qd));
        }
        out->vmt = v;
    }
    free(q);
    return !ok;
}
