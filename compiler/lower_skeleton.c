/* lower_skeleton.c - skeletons: point mass, planar N-link chain, user-written.
 *
 * In an effector:
 *   skeleton point_mass(dim = 2, mass = 1 kg, range = [-1, 1], velocity_range = [-1000, 1000]);
 *   skeleton planar_chain { link upper_arm(mass = 1.82 kg, length = 0.309 m, com = 0.135 m,
 *                                          inertia = 0.051, range = [0 deg, 135 deg]); ... }
 *   skeleton two_link_arm(m1 = 1.82 kg, ...);      (a top-level `skeleton` definition)
 */
#include "lower_skeleton.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lower_params.h"
#include "lower_subst.h"

const ast_arg *find_arg(const ast_arg *args, const char *name)
{
    for (; args; args = args->next)
        if (args->name && strcmp(args->name, name) == 0)
            return args;
    return NULL;
}

int check_args(mnet_ctx *ctx, const ast_arg *args, const char *const *allowed, const char *what)
{
    int ok = 1;
    for (const ast_arg *a = args; a; a = a->next) {
        if (!a->name) {
            mnet_error(ctx, a->loc, "%s takes named arguments only (name = value)", what);
            ok = 0;
            continue;
        }
        int known = 0;
        for (const char *const *p = allowed; *p; p++)
            if (strcmp(*p, a->name) == 0)
                known = 1;
        for (const ast_arg *b = args; b != a; b = b->next)
            if (b->name && strcmp(b->name, a->name) == 0) {
                mnet_error(ctx, a->loc, "'%s' is given twice", a->name);
                ok = 0;
            }
        if (!known) {
            char list[256] = "";
            for (const char *const *p = allowed; *p; p++) {
                strncat(list, *p, sizeof list - strlen(list) - 1);
                if (p[1])
                    strncat(list, ", ", sizeof list - strlen(list) - 1);
            }
            mnet_error(ctx, a->loc, "%s has no parameter '%s' (known: %s)", what, a->name, list);
            ok = 0;
        }
    }
    return ok;
}

void skeleton_desc_free(skeleton_desc *d)
{
    if (!d)
        return;
    free(d->qdd);
    free(d->pos);
    free(d->vel);
    free(d->jtf);
    free(d->body_origin);
    free(d->body_angle);
    free(d->mass_matrix);
    free(d->bias);
    free(d);
}

int solve_spd(ir_graph *g, int n, const ir_id *M, const ir_id *b, ir_id *x)
{
    ir_id *a = malloc((size_t)(n * n + n) * sizeof(ir_id));
    if (!a)
        return 0;
    ir_id *r = a + n * n;
    memcpy(a, M, (size_t)(n * n) * sizeof(ir_id));
    memcpy(r, b, (size_t)n * sizeof(ir_id));
    /* Gaussian elimination without pivoting: M is symmetric positive
     * definite, so every pivot is positive. */
    for (int k = 0; k < n; k++)
        for (int i = k + 1; i < n; i++) {
            ir_id f = ir_div(g, a[i * n + k], a[k * n + k]);
            for (int j = k; j < n; j++)
                a[i * n + j] = ir_sub(g, a[i * n + j], ir_mul(g, f, a[k * n + j]));
            r[i] = ir_sub(g, r[i], ir_mul(g, f, r[k]));
        }
    for (int i = n - 1; i >= 0; i--) {
        ir_id acc = r[i];
        for (int j = i + 1; j < n; j++)
            acc = ir_sub(g, acc, ir_mul(g, a[i * n + j], x[j]));
        x[i] = ir_div(g, acc, a[i * n + i]);
    }
    free(a);
    return 1;
}

static ir_id sym(ir_graph *g, int row)
{
    return ir_var(g, SYM_ARG, row);
}

static int alloc_desc(mnet_effector *eff)
{
    int dof = eff->n_dof, sp = eff->space_dim;
    skeleton_desc *d = calloc(1, sizeof *d);
    if (!d)
        return 0;
    eff->skel = d;
    d->n_sym = 3 * dof + sp;
    d->qdd = calloc((size_t)dof, sizeof(ir_id));
    d->pos = calloc((size_t)sp, sizeof(ir_id));
    d->vel = calloc((size_t)sp, sizeof(ir_id));
    d->jtf = calloc((size_t)dof, sizeof(ir_id));
    d->body_origin = calloc((size_t)(eff->n_bodies * sp + 1), sizeof(ir_id));
    d->body_angle = calloc((size_t)(eff->n_bodies + 1), sizeof(ir_id));
    d->mass_matrix = calloc((size_t)(dof * dof), sizeof(ir_id));
    d->bias = calloc((size_t)dof, sizeof(ir_id));
    eff->joint_names = calloc((size_t)dof, sizeof(char *));
    eff->pos_lo = calloc((size_t)dof, sizeof(double));
    eff->pos_hi = calloc((size_t)dof, sizeof(double));
    eff->vel_lo = calloc((size_t)dof, sizeof(double));
    eff->vel_hi = calloc((size_t)dof, sizeof(double));
    eff->body_names = calloc((size_t)(eff->n_bodies + 1), sizeof(char *));
    return d->qdd && d->pos && d->vel && d->jtf && d->body_origin && d->body_angle &&
           d->mass_matrix && d->bias && eff->joint_names && eff->pos_lo && eff->pos_hi &&
           eff->vel_lo && eff->vel_hi && eff->body_names;
}

/* From M, C and p (all in placeholders) derive qdd, velocity and J^T F. */
static int derive_dynamics(eval_env *E, mnet_effector *eff)
{
    ir_graph *g = E->g;
    skeleton_desc *d = eff->skel;
    int dof = eff->n_dof, sp = eff->space_dim;
    ir_id *rhs = malloc((size_t)dof * sizeof(ir_id));
    ir_id *q = malloc((size_t)dof * sizeof(ir_id));
    ir_id *grad = malloc((size_t)dof * sizeof(ir_id));
    ir_id *seeds = malloc((size_t)sp * sizeof(ir_id));
    int ok = rhs && q && grad && seeds;
    for (int j = 0; ok && j < dof; j++) {
        q[j] = sym(g, j);
        rhs[j] = ir_sub(g, sym(g, 2 * dof + j), d->bias[j]);
    }
    ok = ok && solve_spd(g, dof, d->mass_matrix, rhs, d->qdd);
    /* J^T F in one reverse pass: seeds are the force placeholders. */
    for (int k = 0; ok && k < sp; k++)
        seeds[k] = sym(g, 3 * dof + k);
    ok = ok && ir_vjp(g, sp, d->pos, seeds, dof, q, d->jtf) == 0;
    /* velocity = J qd, one row of J at a time */
    for (int k = 0; ok && k < sp; k++) {
        ir_id one = ir_const(g, 1);
        ok = ir_vjp(g, 1, &d->pos[k], &one, dof, q, grad) == 0;
        ir_id v = ir_const(g, 0);
        for (int j = 0; ok && j < dof; j++)
            v = ir_add(g, v, ir_mul(g, grad[j], sym(g, dof + j)));
        d->vel[k] = v;
    }
    free(rhs);
    free(q);
    free(grad);
    free(seeds);
    if (!ok)
        mnet_error(E->ctx, eff->loc, "out of memory deriving the equations of motion");
    return ok;
}

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

/* ---- physical sense ---------------------------------------------------- */

/* A negative mass, a link of zero length (the end point never moves, so the
 * loss cannot depend on the network) or a zero inertia trained without a
 * word: each such parameter carries the range of values that make physical
 * sense (param_set_range), a constant outside it is an error at the value
 * the user wrote, and a value set at run time is checked against the same
 * range (effector_param_check), with the same words. */

static const char negative_viscosity[] = "a negative viscosity feeds energy into the joints";

/* ---- point mass -------------------------------------------------------- */

static int lower_point_mass(eval_env *E, mnet_effector *eff, const ast_stmt *stmt, const ast_expr *call)
{
    static const char *const allowed[] = {"dim", "mass", "range", "velocity_range", NULL};
    const ast_arg *args = call->kind == EX_CALL ? call->args : NULL;
    if (!check_args(E->ctx, args, allowed, "point_mass"))
        return 1;
    double dim = 2;
    const ast_arg *a;
    if ((a = find_arg(args, "dim")) && !eval_const(E, NULL, a->value, "dim", &dim))
        return 1;
    if (dim != 1 && dim != 2 && dim != 3) {
        mnet_error(E->ctx, a ? a->value->loc : stmt->loc, "a point mass has 1, 2 or 3 dimensions, not %g", dim);
        return 1;
    }
    eff->skeleton = SKEL_POINT_MASS;
    eff->n_dof = eff->space_dim = (int)dim;
    eff->n_bodies = 1;
    if (!alloc_desc(eff))
        return 1;
    eff->body_names[0] = dupstr("point");
    double range[2] = {-1, 1}, vrange[2] = {-1000, 1000};
    if (!param_pair(E, find_arg(args, "range"), DIM_LENGTH, range) ||
        !param_pair(E, find_arg(args, "velocity_range"), DIM_VELOCITY, vrange))
        return 1;
    const ast_arg *mass_arg = find_arg(args, "mass");
    int mass = param_scalar(E, eff, "skeleton.mass", mass_arg, NULL, 1.0, DIM_MASS);
    if (mass < 0)
        return 1;
    param_range positive = param_range_positive("a point mass without positive mass has no equation of motion");
    if (!param_set_range(E->ctx, eff, mass, positive, mass_arg ? mass_arg->value->loc : eff->params[mass].loc))
        return 1;
    ir_graph *g = E->g;
    static const char *const axis[] = {"x", "y", "z"};
    int n = eff->n_dof;
    for (int j = 0; j < n; j++) {
        eff->joint_names[j] = dupstr(axis[j]);
        eff->pos_lo[j] = range[0];
        eff->pos_hi[j] = range[1];
        eff->vel_lo[j] = vrange[0];
        eff->vel_hi[j] = vrange[1];
        for (int k = 0; k < n; k++)
            eff->skel->mass_matrix[j * n + k] = j == k ? ir_param(g, mass) : ir_const(g, 0);
        eff->skel->bias[j] = ir_const(g, 0);
        eff->skel->pos[j] = sym(g, j);
        eff->skel->body_origin[j] = sym(g, j);
    }
    eff->skel->body_angle[0] = -1;
    return !derive_dynamics(E, eff);
}

/* ---- planar chain ------------------------------------------------------ */

static int lower_planar_chain(eval_env *E, mnet_effector *eff, const ast_stmt *stmt)
{
    static const char *const link_args[] = {"mass", "length", "com", "inertia", "range",
                                            "velocity_range", NULL};
    int n = 0;
    double viscosity_default = 0;
    const ast_arg *viscosity = NULL;
    for (const ast_stmt *s = stmt->body; s; s = s->next) {
        if (s->kind == ST_SETTING && !strcmp(s->head, "link"))
            n++;
        else if (s->kind == ST_SETTING && !strcmp(s->head, "viscosity") && s->nargs == 1)
            viscosity = s->args;
        else
            mnet_error(E->ctx, s->loc, "a planar_chain holds 'link NAME(...)' and 'viscosity VALUE;'");
    }
    if (n < 1 || n > 12) {
        mnet_error(E->ctx, stmt->loc, "a planar_chain needs 1 to 12 links, has %d", n);
        return 1;
    }
    eff->skeleton = SKEL_PLANAR_CHAIN;
    eff->n_dof = n;
    eff->space_dim = 2;
    eff->n_bodies = n;
    if (!alloc_desc(eff))
        return 1;
    ir_graph *g = E->g;
    int *mass = calloc((size_t)n, sizeof(int)), *len = calloc((size_t)n, sizeof(int));
    int *com = calloc((size_t)n, sizeof(int)), *inertia = calloc((size_t)n, sizeof(int));
    int ok = mass && len && com && inertia;
    int i = 0;
    for (const ast_stmt *s = stmt->body; ok && s; s = s->next) {
        if (s->kind != ST_SETTING || strcmp(s->head, "link") != 0)
            continue;
        const ast_expr *c = s->nargs == 1 && !s->args->name ? s->args->value : NULL;
        if (!c || (c->kind != EX_CALL && c->kind != EX_ID)) {
            mnet_error(E->ctx, s->loc, "link expects NAME(mass = ..., length = ..., com = ..., inertia = ...)");
            ok = 0;
            break;
        }
        for (int k = 0; k < i; k++)
            if (!strcmp(eff->body_names[k], c->name)) {
                mnet_error(E->ctx, c->loc, "link '%s' is defined twice", c->name);
                ok = 0;
            }
        const ast_arg *args = c->kind == EX_CALL ? c->args : NULL;
        if (!check_args(E->ctx, args, link_args, "link"))
            ok = 0;
        eff->body_names[i] = dupstr(c->name);
        eff->joint_names[i] = dupstr(c->name);
        size_t name_len = strlen(c->name) + sizeof "inertia" + 1;
        char *name = arena_alloc(E->arena, name_len);
        if (!name) {
            mnet_error(E->ctx, c->loc, "out of memory");
            ok = 0;
            break;
        }
        static const char *const req[] = {"mass", "length", "com", "inertia"};
        static const unit_dim dims[] = {DIM_MASS, DIM_LENGTH, DIM_LENGTH, DIM_INERTIA};
        /* com may lie outside the link (a counterweight); the others are positive */
        static const char *const why[] = {
            "a link has mass",
            "a link of zero length does not move the end point, so the loss cannot depend on the network",
            NULL,
            "a link's moment of inertia about its centre of mass is positive",
        };
        int *slots[] = {mass, len, com, inertia};
        for (int k = 0; k < 4; k++) {
            const ast_arg *a = find_arg(args, req[k]);
            if (!a) {
                mnet_error(E->ctx, c->loc, "link '%s' needs '%s'", c->name, req[k]);
                ok = 0;
                continue;
            }
            snprintf(name, name_len, "%s.%s", c->name, req[k]);
            slots[k][i] = param_scalar(E, eff, name, a, NULL, 0, dims[k]);
            if (slots[k][i] < 0)
                ok = 0;
            else if (why[k] &&
                     !param_set_range(E->ctx, eff, slots[k][i], param_range_positive(why[k]), a->value->loc))
                ok = 0;
        }
        double range[2] = {-M_PI, M_PI}, vrange[2] = {-1000, 1000};
        if (!param_pair(E, find_arg(args, "range"), DIM_ANGLE, range) ||
            !param_pair(E, find_arg(args, "velocity_range"), DIM_VELOCITY, vrange))
            ok = 0;
        eff->pos_lo[i] = range[0];
        eff->pos_hi[i] = range[1];
        eff->vel_lo[i] = vrange[0];
        eff->vel_hi[i] = vrange[1];
        i++;
    }
    int visc = ok ? param_scalar(E, eff, "skeleton.viscosity", viscosity, NULL, viscosity_default,
                                 DIM_NONE)
                  : -1;
    param_range non_negative = param_range_non_negative(negative_viscosity);
    if (visc >= 0 &&
        !param_set_range(E->ctx, eff, visc, non_negative, viscosity ? viscosity->value->loc : eff->params[visc].loc))
        visc = -1;
    if (!ok || visc < 0) {
        free(mass);
        free(len);
        free(com);
        free(inertia);
        return 1;
    }
    /* Kinematics: angle_i = q_1 + ... + q_i; origin_{i+1} = origin_i + l_i e(angle_i). */
    skeleton_desc *d = eff->skel;
    ir_id ox = ir_const(g, 0), oy = ir_const(g, 0), angle = ir_const(g, 0);
    ir_id *cx = malloc((size_t)n * sizeof(ir_id)), *cy = malloc((size_t)n * sizeof(ir_id));
    ir_id *q = malloc((size_t)n * sizeof(ir_id));
    ir_id *gx = malloc((size_t)n * sizeof(ir_id)), *gy = malloc((size_t)n * sizeof(ir_id));
    ir_id *dM = malloc((size_t)(n * n * n) * sizeof(ir_id));
    ok = cx && cy && q && gx && gy && dM;
    for (i = 0; ok && i < n; i++) {
        q[i] = sym(g, i);
        angle = ir_add(g, angle, q[i]);
        d->body_origin[2 * i] = ox;
        d->body_origin[2 * i + 1] = oy;
        d->body_angle[i] = angle;
        ir_id c = ir_unary(g, IR_COS, angle), s = ir_unary(g, IR_SIN, angle);
        cx[i] = ir_add(g, ox, ir_mul(g, ir_param(g, com[i]), c));
        cy[i] = ir_add(g, oy, ir_mul(g, ir_param(g, com[i]), s));
        ox = ir_add(g, ox, ir_mul(g, ir_param(g, len[i]), c));
        oy = ir_add(g, oy, ir_mul(g, ir_param(g, len[i]), s));
    }
    if (ok) {
        d->pos[0] = ox;
        d->pos[1] = oy;
    }
    /* M = sum_i m_i J_ci^T J_ci + I_i J_wi^T J_wi, with J_ci by differentiation
     * and J_wi = [1 ... 1 0 ... 0] (the link's angle is q_1 + ... + q_i). */
    for (int r = 0; ok && r < n * n; r++)
        d->mass_matrix[r] = ir_const(g, 0);
    ir_id one = ir_const(g, 1);
    for (i = 0; ok && i < n; i++) {
        ok = ir_vjp(g, 1, &cx[i], &one, n, q, gx) == 0 && ir_vjp(g, 1, &cy[i], &one, n, q, gy) == 0;
        for (int j = 0; ok && j < n; j++)
            for (int k = 0; k < n; k++) {
                ir_id t = ir_mul(g, ir_param(g, mass[i]),
                                 ir_add(g, ir_mul(g, gx[j], gx[k]), ir_mul(g, gy[j], gy[k])));
                if (j <= i && k <= i)
                    t = ir_add(g, t, ir_param(g, inertia[i]));
                d->mass_matrix[j * n + k] = ir_add(g, d->mass_matrix[j * n + k], t);
            }
    }
    /* C_i = sum_jk (dM_ij/dq_k - 1/2 dM_jk/dq_i) qd_j qd_k + viscosity qd_i */
    for (int r = 0; ok && r < n * n; r++)
        ok = ir_vjp(g, 1, &d->mass_matrix[r], &one, n, q, &dM[r * n]) == 0;
    for (i = 0; ok && i < n; i++) {
        ir_id acc = ir_mul(g, ir_param(g, visc), sym(g, n + i));
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++) {
                ir_id gam = ir_sub(g, dM[(i * n + j) * n + k],
                                   ir_mul(g, ir_const(g, 0.5), dM[(j * n + k) * n + i]));
                acc = ir_add(g, acc, ir_mul(g, gam, ir_mul(g, sym(g, n + j), sym(g, n + k))));
            }
        d->bias[i] = acc;
    }
    free(mass);
    free(len);
    free(com);
    free(inertia);
    free(cx);
    free(cy);
    free(q);
    free(gx);
    free(gy);
    free(dM);
    if (!ok) {
        mnet_error(E->ctx, stmt->loc, "out of memory deriving the planar chain");
        return 1;
    }
    return !derive_dynamics(E, eff);
}

/* ---- user-written skeletons -------------------------------------------- */

/*   skeleton NAME {
 *     param m1 = 1.82 kg, ..., shoulder_range = [0 deg, 140 deg];
 *     joint q1(velocity = dq1, range = shoulder_range, velocity_range = [-1000, 1000]);
 *     let c2 = cos(q2);
 *     mass_matrix [[...], [...]];   bias [...];   endpoint [x, y];
 *     body upper_arm(origin = [0, 0], angle = q1);
 *   }
 */
enum { MAX_USER_JOINTS = 64 }; /* the mass matrix is solved symbolically */

/* A user skeleton's parameters declared as a mass (kg, g) or an inertia
 * (kgm2) are not negative (zero may be meant: an optional payload), and a
 * parameter named viscosity means what the planar chain's does.  The table
 * entries from first on are this skeleton's; each is "skeleton.NAME",
 * located at the value that was used. */
static int check_user_params(eval_env *E, mnet_effector *eff, const ast_stmt *body, int first)
{
    int ok = 1;
    for (const ast_stmt *s = body; s; s = s->next) {
        if (s->kind != ST_SETTING || strcmp(s->head, "param") != 0)
            continue;
        for (const ast_arg *a = s->args; a; a = a->next) {
            double factor;
            unit_dim dim = DIM_NONE;
            const char *name = a->name ? a->name : a->value && a->value->kind == EX_ID ? a->value->name : NULL;
            if (!name || (a->unit && !unit_lookup(a->unit, &factor, &dim)))
                continue;
            const char *why;
            if (dim == DIM_MASS)
                why = "a mass is not negative";
            else if (dim == DIM_INERTIA)
                why = "a moment of inertia is not negative";
            else if (!strcmp(name, "viscosity"))
                why = negative_viscosity;
            else
                continue;
            for (int i = first; i < eff->n_params; i++) {
                const char *p = eff->params[i].name;
                if (strncmp(p, "skeleton.", 9) != 0 || strcmp(p + 9, name) != 0)
                    continue; /* (a vector parameter has no table entry) */
                if (!param_set_range(E->ctx, eff, i, param_range_non_negative(why), eff->params[i].loc))
                    ok = 0;
                break;
            }
        }
    }
    return ok;
}

static int lower_user_skeleton(eval_env *E, mnet_effector *eff, const mnet_def *def,
                               const ast_expr *call)
{
    mnet_ctx *ctx = E->ctx;
    const ast_stmt *body = def->stmt->body;
    const ast_arg *overrides = call->kind == EX_CALL ? call->args : NULL;
    int n_joints = 0, n_bodies = 0;
    const ast_expr *mass_matrix = NULL, *bias = NULL, *endpoint = NULL;
    for (const ast_stmt *s = body; s; s = s->next) {
        if (s->kind != ST_SETTING || s->has_body) {
            mnet_error(ctx, s->loc, "unexpected statement in skeleton '%s'", def->name);
            return 1;
        }
        if (!strcmp(s->head, "joint"))
            n_joints += s->nargs;
        else if (!strcmp(s->head, "body"))
            n_bodies += s->nargs;
        else if (!strcmp(s->head, "mass_matrix") && s->nargs == 1)
            mass_matrix = s->args->value;
        else if (!strcmp(s->head, "bias") && s->nargs == 1)
            bias = s->args->value;
        else if (!strcmp(s->head, "endpoint") && s->nargs == 1)
            endpoint = s->args->value;
        else if (strcmp(s->head, "param") != 0 && strcmp(s->head, "let") != 0) {
            mnet_error(ctx, s->loc,
                       "unknown statement '%s' in skeleton (expected param, joint, let, mass_matrix, "
                       "bias, endpoint or body)",
                       s->head);
            return 1;
        }
    }
    if (!n_joints || !mass_matrix || !bias || !endpoint) {
        mnet_error(ctx, def->loc, "skeleton '%s' needs joint, mass_matrix, bias and endpoint statements",
                   def->name);
        return 1;
    }
    if (n_joints > MAX_USER_JOINTS) {
        mnet_error(ctx, def->loc, "skeleton '%s' has %d joints; at most %d are supported", def->name,
                   n_joints, MAX_USER_JOINTS);
        return 1;
    }
    eff->skeleton = SKEL_USER;
    eff->n_dof = n_joints;
    eff->n_bodies = n_bodies;
    /* space dimension = length of the endpoint vector: count its entries */
    eff->space_dim = endpoint->kind == EX_VEC ? endpoint->nargs : 0;
    if (eff->space_dim < 1 || eff->space_dim > 3) {
        mnet_error(ctx, endpoint->loc, "endpoint must be a vector literal of 1 to 3 entries");
        return 1;
    }
    if (!alloc_desc(eff))
        return 1;
    /* parameters: run-time scope and a constant scope (for ranges) */
    scope *run = NULL, *cst = NULL;
    int first_param = eff->n_params;
    if (!user_params(E, eff, body, overrides, def->name, "skeleton", &run, &cst))
        return 1;
    if (!check_user_params(E, eff, body, first_param))
        return 1;
    /* joints */
    ir_graph *g = E->g;
    int j = 0;
    for (const ast_stmt *s = body; s; s = s->next) {
        if (s->kind != ST_SETTING || strcmp(s->head, "joint") != 0)
            continue;
        for (const ast_arg *a = s->args; a; a = a->next, j++) {
            const ast_expr *c = a->value;
            if (a->name || !c || (c->kind != EX_CALL && c->kind != EX_ID)) {
                mnet_error(ctx, a->loc, "joint expects NAME(velocity = NAME, range = [lo, hi])");
                return 1;
            }
            static const char *const allowed[] = {"velocity", "range", "velocity_range", NULL};
            const ast_arg *args = c->kind == EX_CALL ? c->args : NULL;
            if (!check_args(ctx, args, allowed, "joint"))
                return 1;
            const ast_arg *v = find_arg(args, "velocity");
            if (!v || v->value->kind != EX_ID) {
                mnet_error(ctx, c->loc, "joint '%s' needs 'velocity = NAME'", c->name);
                return 1;
            }
            eff->joint_names[j] = dupstr(c->name);
            double range[2] = {-M_PI, M_PI}, vrange[2] = {-1000, 1000};
            const ast_arg *r = find_arg(args, "range"), *vr = find_arg(args, "velocity_range");
            if ((r && !const_pair(E, cst, r->value, DIM_ANGLE, range)) ||
                (vr && !const_pair(E, cst, vr->value, DIM_VELOCITY, vrange)))
                return 1;
            eff->pos_lo[j] = range[0];
            eff->pos_hi[j] = range[1];
            eff->vel_lo[j] = vrange[0];
            eff->vel_hi[j] = vrange[1];
            run = scope_bind(E, run, c->name, value_scalar(sym(g, j), c->loc), c->loc);
            run = scope_bind(E, run, v->value->name, value_scalar(sym(g, eff->n_dof + j), v->loc), v->loc);
        }
    }
    for (const ast_stmt *s = body; s; s = s->next)
        if (s->kind == ST_SETTING && !strcmp(s->head, "let"))
            for (const ast_arg *a = s->args; a; a = a->next) {
                if (!a->name || !a->value) {
                    mnet_error(ctx, a->loc, "let expects 'name = expr'");
                    return 1;
                }
                scope *lazy = scope_bind_lazy(E, run, a->name, a->value);
                if (lazy != run)
                    lazy->loc = a->loc; /* a note on a cycle names the let */
                run = lazy;
            }
    int n = eff->n_dof, sp = eff->space_dim;
    value M = eval_expr(E, run, mass_matrix), C = eval_expr(E, run, bias), P = eval_expr(E, run, endpoint);
    if (M.kind == V_ERR || C.kind == V_ERR || P.kind == V_ERR)
        return 1;
    if (M.kind != V_NUM || !((M.ndim == 2 && M.rows == n && M.cols == n) || (n == 1 && M.ndim == 0))) {
        mnet_error(ctx, mass_matrix->loc, "mass_matrix must be %dx%d (one row and column per joint)", n, n);
        return 1;
    }
    if (C.kind != V_NUM || !((C.ndim == 1 && C.rows == n) || (n == 1 && C.ndim == 0))) {
        mnet_error(ctx, bias->loc, "bias must be a vector of %d (one entry per joint)", n);
        return 1;
    }
    skeleton_desc *d = eff->skel;
    for (int k = 0; k < n * n; k++)
        d->mass_matrix[k] = M.ndim ? M.v[k] : M.scalar;
    for (int k = 0; k < n; k++)
        d->bias[k] = C.ndim ? C.v[k] : C.scalar;
    for (int k = 0; k < sp; k++)
        d->pos[k] = P.v[k];
    /* bodies */
    int b = 0;
    for (const ast_stmt *s = body; s; s = s->next) {
        if (s->kind != ST_SETTING || strcmp(s->head, "body") != 0)
            continue;
        for (const ast_arg *a = s->args; a; a = a->next, b++) {
            const ast_expr *c = a->value;
            static const char *const allowed[] = {"origin", "angle", NULL};
            if (a->name || !c || c->kind != EX_CALL || !check_args(ctx, c->args, allowed, "body")) {
                if (!(c && c->kind == EX_CALL))
                    mnet_error(ctx, a->loc, "body expects NAME(origin = [x, y], angle = expr)");
                return 1;
            }
            eff->body_names[b] = dupstr(c->name);
            const ast_arg *o = find_arg(c->args, "origin"), *an = find_arg(c->args, "angle");
            if (!o) {
                mnet_error(ctx, c->loc, "body '%s' needs an origin", c->name);
                return 1;
            }
            value O = eval_expr(E, run, o->value);
            if (O.kind == V_ERR)
                return 1;
            if (O.kind != V_NUM || O.ndim != 1 || O.rows != sp) {
                mnet_error(ctx, o->value->loc, "origin of body '%s' must be a vector of %d", c->name, sp);
                return 1;
            }
            for (int k = 0; k < sp; k++)
                d->body_origin[b * sp + k] = O.v[k];
            d->body_angle[b] = -1;
            if (an) {
                if (sp != 2) {
                    mnet_error(ctx, an->loc, "a body angle needs a planar (2-D) skeleton");
                    return 1;
                }
                d->body_angle[b] = eval_scalar(E, run, an->value, "angle");
                if (d->body_angle[b] < 0)
                    return 1;
            }
        }
    }
    return !derive_dynamics(E, eff);
}

int skeleton_lower(eval_env *E, mnet_effector *eff, const ast_stmt *stmt)
{
    const ast_expr *c = stmt->nargs == 1 && !stmt->args->name ? stmt->args->value : NULL;
    if (!c || (c->kind != EX_CALL && c->kind != EX_ID)) {
        mnet_error(E->ctx, stmt->loc,
                   "skeleton expects a kind: point_mass(...), planar_chain { ... } or a skeleton name");
        return 1;
    }
    if (!strcmp(c->name, "planar_chain")) {
        if (!stmt->has_body || c->kind == EX_CALL) {
            mnet_error(E->ctx, stmt->loc, "planar_chain takes a block of links: planar_chain { link ...; }");
            return 1;
        }
        return lower_planar_chain(E, eff, stmt);
    }
    if (stmt->has_body) {
        mnet_error(E->ctx, stmt->loc, "only planar_chain takes a block");
        return 1;
    }
    if (!strcmp(c->name, "point_mass"))
        return lower_point_mass(E, eff, stmt, c);
    const mnet_def *def = program_find(E->prog, c->name);
    if (!def || def->kind != DEF_SKELETON) {
        mnet_error(E->ctx, c->loc, "unknown skeleton '%s' (point_mass, planar_chain or a skeleton definition)",
                   c->name);
        return 1;
    }
    return lower_user_skeleton(E, eff, def, c);
}
