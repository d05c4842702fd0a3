/* task_check.c - checking and resolving `task` blocks against their schema. */
#include "task_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "ir.h"
#include "parse.h"

void task_spec_default(task_spec *t)
{
    memset(t, 0, sizeof *t);
    t->cfg = mnet_task_config_default();
}

void task_spec_recipe_loss(task_spec *t)
{
    memset(t->cfg.loss, 0, sizeof t->cfg.loss);
    memset(t->loss_value, 0, sizeof t->loss_value);
    t->cfg.loss[0].kind = MNET_LOSS_POSITION_L1;
    t->cfg.loss[0].weight = 1;
    strcpy(t->cfg.loss[0].name, "position_l1");
    t->cfg.n_losses = 1;
}

task_loss task_loss_at(const task_spec *t, int i)
{
    return (task_loss){mnet_loss_name(NULL, &t->cfg.loss[i]), t->cfg.loss[i].deriv_weight, t->loss_value[i],
                       t->loss_loc[i]};
}

typedef struct {
    mnet_ctx *ctx;
    eval_env E;
    int errors;
    int modular;            /* the policy has a body: a modular network  */
    int policy;             /* the task writes a policy                  */
    src_loc policy_loc;     /* where                                     */
} checker;

static void error_at(checker *C, src_loc loc, const char *msg)
{
    mnet_error(C->ctx, loc, "%s", msg);
    C->errors++;
}

/* The number(s) expression e gives, with the dimension of a written unit:
 * n values into v (at most max).  0, or -1 after reporting. */
static int numbers(checker *C, const ast_expr *e, const char *what, double *v, int max, int *n, unit_dim *dim)
{
    value x = eval_expr(&C->E, NULL, e);
    if (x.kind == V_ERR) {
        C->errors++;
        return -1;
    }
    if (x.kind != V_NUM || x.ndim > 1) {
        mnet_error(C->ctx, e->loc, "%s takes a number or a vector of numbers", what);
        C->errors++;
        return -1;
    }
    int count = x.ndim == 0 ? 1 : x.rows;
    if (count > max) {
        mnet_error(C->ctx, e->loc, "%s takes at most %d value%s (got %d)", what, max, max == 1 ? "" : "s", count);
        C->errors++;
        return -1;
    }
    const ir_id *ids = x.ndim == 0 ? &x.scalar : x.v;
    for (int k = 0; k < count; k++) {
        const ir_node *node = ir_get(C->E.g, ids[k]);
        if (node->op != IR_CONST) {
            mnet_error(C->ctx, e->loc, "%s must be a constant (it cannot depend on a parameter or a state)", what);
            C->errors++;
            return -1;
        }
        v[k] = node->value;
    }
    *n = count;
    *dim = x.dim;
    return 0;
}

/* The value of setting s from expression e (a name for an enumeration),
 * through the settings table's checks. */
static void apply(checker *C, mnet_task_config *cfg, const mnet_setting *s, const ast_expr *e)
{
    char err[512];
    if (s->type == MNET_SETTING_NAME) {
        const char *name = e->kind == EX_ID || e->kind == EX_CALL ? e->name : NULL;
        if (!name) {
            mnet_name_list(s->names, err, sizeof err);
            mnet_error(C->ctx, e->loc, "%s is one of %s", s->name, err);
            C->errors++;
        } else if (mnet_setting_set(cfg, s, NULL, 0, name, err, sizeof err) != 0) {
            error_at(C, e->loc, err);
        }
        return;
    }
    double v[MNET_TASK_MAX_DOF + 2];
    int n;
    unit_dim dim;
    int max = s->type == MNET_SETTING_VECTOR ? s->max_count : s->type == MNET_SETTING_RANGE ? 2 : 1;
    if (numbers(C, e, s->name, v, max, &n, &dim) != 0)
        return;
    /* a written unit must be the setting's; a bare number is SI */
    unit_dim want = s->unit[0] ? unit_dim_of(s->unit) : DIM_NONE;
    if (dim != DIM_NONE && dim != want) {
        if (want == DIM_NONE)
            mnet_error(C->ctx, e->loc, "'%s' takes no unit, but the value given is %s", s->name, unit_dim_name(dim));
        else
            mnet_error(C->ctx, e->loc, "'%s' is %s, but the value given is %s", s->name, unit_dim_name(want),
                       unit_dim_name(dim));
        C->errors++;
        return;
    }
    if (mnet_setting_set(cfg, s, v, n, NULL, err, sizeof err) != 0)
        error_at(C, e->loc, err);
}

/* The settings whose names start with "prefix." as "a, b, c". */
static void list_settings(const char *prefix, char *buf, size_t n)
{
    size_t at = 0, lp = strlen(prefix);
    buf[0] = 0;
    for (int i = 0; i < mnet_setting_count() && at < n; i++) {
        const char *name = mnet_setting_at(i)->name;
        if (!strncmp(name, prefix, lp) && name[lp] == '.')
            at += (size_t)snprintf(buf + at, n - at, "%s%s", at ? ", " : "", name + lp + 1);
    }
}

static const mnet_setting *setting_named(const char *name)
{
    for (int i = 0; i < mnet_setting_count(); i++)
        if (!strcmp(mnet_setting_at(i)->name, name))
            return mnet_setting_at(i);
    return NULL;
}

/* HEAD a = V, b = W;  ->  settings HEAD.a, HEAD.b */
static void named_settings(checker *C, mnet_task_config *cfg, const char *head, const ast_arg *args, src_loc loc)
{
    char list[512];
    list_settings(head, list, sizeof list);
    if (!args) {
        mnet_error(C->ctx, loc, "%s expects named values (%s)", head, list);
        C->errors++;
    }
    for (const ast_arg *a = args; a; a = a->next) {
        char full[160];
        snprintf(full, sizeof full, "%s.%s", head, a->name ? a->name : "");
        const mnet_setting *s = a->name && a->value ? setting_named(full) : NULL;
        if (!strcmp(head, "train") && a->name && !strcmp(a->name, "optimizer") && a->value) {
            if (a->value->kind != EX_ID || strcmp(a->value->name, "adam") != 0) {
                mnet_error(C->ctx, a->value->loc, "unknown optimizer (expected adam)");
                C->errors++;
            }
            continue;
        }
        if (!s) {
            if (a->name)
                mnet_error(C->ctx, a->loc, "%s has no setting '%s' (expected %s)", head, a->name, list);
            else
                mnet_error(C->ctx, a->loc, "%s takes named values: %s", head, list);
            C->errors++;
            continue;
        }
        apply(C, cfg, s, a->value);
    }
}

static const ast_expr *one_value(checker *C, const ast_stmt *s)
{
    if (s->nargs != 1 || s->args->name || s->has_body) {
        mnet_error(C->ctx, s->loc, "%s expects one value", s->head);
        C->errors++;
        return NULL;
    }
    return s->args->value;
}

/* loss NAME(weight = W, derivative = W'[, value = EXPR]) */
static void loss_term(checker *C, task_spec *t, const ast_expr *x)
{
    mnet_task_config *cfg = &t->cfg;
    if (x->kind != EX_ID && x->kind != EX_CALL) {
        mnet_error(C->ctx, x->loc, "a loss is written NAME(weight = W) or NAME(weight = W, value = EXPR)");
        C->errors++;
        return;
    }
    const ast_arg *value = NULL;
    for (const ast_arg *a = x->kind == EX_CALL ? x->args : NULL; a; a = a->next)
        if (a->name && !strcmp(a->name, "value"))
            value = a;
    int kind;
    int builtin = mnet_name_lookup(mnet_loss_kind_names, x->name, &kind) == 0;
    if (value && builtin) {
        mnet_error(C->ctx, x->loc, "'%s' is a built-in loss; give a loss with a value of your own another name",
                   x->name);
        C->errors++;
        return;
    }
    if (!value && !builtin) {
        char list[256];
        mnet_name_list(mnet_loss_kind_names, list, sizeof list);
        mnet_error(C->ctx, x->loc, "unknown loss (expected %s, or one of your own: loss NAME(value = EXPR))", list);
        C->errors++;
        return;
    }
    int i = mnet_setting_loss_index(cfg, x->name);
    if (i >= 0) {
        mnet_error(C->ctx, x->loc, "loss '%s' is defined twice", x->name);
        mnet_note(C->ctx, t->loss_loc[i], "first defined here");
        C->errors++;
        return;
    }
    if (cfg->n_losses == MNET_TASK_MAX_LOSSES) {
        mnet_error(C->ctx, x->loc, "at most %d loss terms", MNET_TASK_MAX_LOSSES);
        C->errors++;
        return;
    }
    if (strlen(x->name) >= MNET_LOSS_NAME_MAX) {
        mnet_error(C->ctx, x->loc, "loss name '%s' is longer than %d characters", x->name, MNET_LOSS_NAME_MAX - 1);
        C->errors++;
        return;
    }
    i = cfg->n_losses++;
    mnet_loss_term *l = &cfg->loss[i];
    memset(l, 0, sizeof *l);
    l->kind = builtin ? (mnet_loss_kind)kind : MNET_LOSS_COMPILED;
    l->weight = 1;
    snprintf(l->name, sizeof l->name, "%s", x->name);
    t->loss_value[i] = value ? value->value : NULL;
    t->loss_loc[i] = x->loc;
    for (const ast_arg *a = x->kind == EX_CALL ? x->args : NULL; a; a = a->next) {
        int is_weight = a->name && !strcmp(a->name, "weight");
        if (a->name && !strcmp(a->name, "value"))
            continue;
        if (!is_weight && !(a->name && !strcmp(a->name, "derivative") && !value)) {
            mnet_error(C->ctx, a->loc,
                       value ? "a loss of your own takes weight = W and value = EXPR (no derivative)"
                             : "a loss takes weight = W and derivative = W");
            C->errors++;
            continue;
        }
        double v;
        int n;
        unit_dim dim;
        char what[64], err[256];
        snprintf(what, sizeof what, "loss.%s.%s", x->name, a->name);
        if (numbers(C, a->value, what, &v, 1, &n, &dim) != 0)
            continue;
        if (dim != DIM_NONE) {
            mnet_error(C->ctx, a->value->loc, "'%s' takes no unit, but the value given is %s", what,
                       unit_dim_name(dim));
            C->errors++;
        } else if (mnet_setting_set_loss(cfg, x->name, a->name, v, err, sizeof err) != 0) {
            error_at(C, a->value->loc, err);
        }
    }
}

/* policy CELL(hidden = N, layers = N, init = stacked, readout_bias = B) */
static void policy(checker *C, mnet_task_config *cfg, const ast_expr *x)
{
    apply(C, cfg, setting_named("policy"), x);
    if (x->kind == EX_CALL)
        named_settings(C, cfg, "policy", x->args, x->loc);
}

/* ---- a modular network: the policy's body -----------------------------
 *
 *   policy gru(hidden = 160) {
 *     module pmd(size = 64, excitatory = 0.8);   (excitatory: Dale's law)
 *     module m1(size = 96);
 *     input vision(to = [pmd], p = 0.5);         (p: reach probability, 1)
 *     connect pmd(to = m1, fraction = 0.5, p = 0.3);   (both default 1)
 *     connect m1(to = pmd, delay = 20 ms);       (or delay = 2: steps)
 *     readout m1;
 *   }
 */

/* One number in [lo, hi] with no unit from e: 0, or -1 after reporting. */
static int unit_number(checker *C, const ast_expr *e, const char *what, double lo, double hi, double *out)
{
    double v;
    int n;
    unit_dim dim;
    if (numbers(C, e, what, &v, 1, &n, &dim) != 0)
        return -1;
    if (dim != DIM_NONE) {
        mnet_error(C->ctx, e->loc, "'%s' takes no unit, but the value given is %s", what, unit_dim_name(dim));
        C->errors++;
        return -1;
    }
    if (!(v >= lo && v <= hi)) {
        mnet_error(C->ctx, e->loc, "%s must lie in [%g, %g] (got %.15g)", what, lo, hi, v);
        C->errors++;
        return -1;
    }
    *out = v;
    return 0;
}

/* The module e names (an identifier), or -1 after reporting. */
static int module_named(checker *C, const mnet_nn_modular *md, const ast_expr *e)
{
    if (e->kind == EX_ID)
        for (int m = 0; m < md->n_modules; m++)
            if (!strcmp(md->name[m], e->name))
                return m;
    char list[MNET_NN_MAX_MODULES * (MNET_NN_NAME + 2)];
    size_t at = 0;
    list[0] = 0;
    for (int m = 0; m < md->n_modules; m++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", m ? ", " : "", md->name[m]);
    if (e->kind == EX_ID)
        mnet_error(C->ctx, e->loc, "unknown module '%s' (the policy's modules: %s)", e->name,
                   md->n_modules ? list : "none");
    else
        mnet_error(C->ctx, e->loc, "expected a module name (the policy's modules: %s)", md->n_modules ? list : "none");
    C->errors++;
    return -1;
}

/* The modules e names (a name or [a, b]) as flags in on[]: 0, or -1. */
static int module_set(checker *C, const mnet_nn_modular *md, const ast_expr *e, int *on)
{
    int rc = 0;
    if (e->kind == EX_VEC) {
        for (const ast_arg *a = e->args; a; a = a->next) {
            int m = a->value && !a->name ? module_named(C, md, a->value) : module_named(C, md, e);
            if (m < 0)
                rc = -1;
            else
                on[m] = 1;
        }
        return rc;
    }
    int m = module_named(C, md, e);
    if (m < 0)
        return -1;
    on[m] = 1;
    return 0;
}

/* NAME(a = .., b = ..): the statement's one call, or NULL after reporting. */
static const ast_expr *body_call(checker *C, const ast_stmt *s, const char *form)
{
    const ast_expr *x = s->nargs == 1 && !s->args->name && !s->has_body ? s->args->value : NULL;
    if (!x || (x->kind != EX_CALL && x->kind != EX_ID)) {
        mnet_error(C->ctx, s->loc, "%s is written %s", s->head, form);
        C->errors++;
        return NULL;
    }
    return x;
}

static void modular_module(checker *C, mnet_nn_modular *md, const ast_stmt *s)
{
    const ast_expr *x = body_call(C, s, "module NAME(size = N, excitatory = P)");
    if (!x)
        return;
    for (int m = 0; m < md->n_modules; m++)
        if (!strcmp(md->name[m], x->name)) {
            mnet_error(C->ctx, x->loc, "module '%s' is defined twice", x->name);
            C->errors++;
            return;
        }
    if (strlen(x->name) >= MNET_NN_NAME) {
        mnet_error(C->ctx, x->loc, "module name '%s' is longer than %d characters", x->name, MNET_NN_NAME - 1);
        C->errors++;
        return;
    }
    if (md->n_modules == MNET_NN_MAX_MODULES) {
        mnet_error(C->ctx, x->loc, "at most %d modules", MNET_NN_MAX_MODULES);
        C->errors++;
        return;
    }
    const int m = md->n_modules++;
    snprintf(md->name[m], MNET_NN_NAME, "%s", x->name);
    md->excitatory[m] = -1;
    md->frac[m][m] = md->p[m][m] = 1;
    int sized = 0;
    for (const ast_arg *a = x->kind == EX_CALL ? x->args : NULL; a; a = a->next) {
        double v;
        if (a->name && a->value && !strcmp(a->name, "size")) {
            if (unit_number(C, a->value, "module size", 1, 65536, &v) != 0) {
                /* reported */
            } else if (v != floor(v)) {
                mnet_error(C->ctx, a->value->loc, "module size must be a whole number (got %.17g)", v);
                C->errors++;
            } else {
                md->size[m] = (int)v;
            }
            sized = 1;
        } else if (a->name && a->value && !strcmp(a->name, "excitatory")) {
            if (unit_number(C, a->value, "excitatory proportion", 0, 1, &v) == 0)
                md->excitatory[m] = v;
        } else {
            mnet_error(C->ctx, a->loc, "a module takes size = N and excitatory = P");
            C->errors++;
        }
    }
    if (!sized) {
        mnet_error(C->ctx, x->loc, "module '%s' needs a size (module %s(size = N))", x->name, x->name);
        C->errors++;
    }
}

static void modular_input(checker *C, mnet_nn_modular *md, const ast_stmt *s)
{
    const ast_expr *x = body_call(C, s, "input SOURCE(to = [MODULE, ...], p = P)");
    if (!x)
        return;
    int part;
    if (mnet_name_lookup(mnet_obs_part_names, x->name, &part) != 0) {
        char list[160];
        mnet_name_list(mnet_obs_part_names, list, sizeof list);
        mnet_error(C->ctx, x->loc, "unknown input '%s' (expected %s)", x->name, list);
        C->errors++;
        return;
    }
    int on[MNET_NN_MAX_MODULES] = {0}, have_to = 0, bad = 0;
    double p = 1;
    for (const ast_arg *a = x->kind == EX_CALL ? x->args : NULL; a; a = a->next) {
        if (a->name && a->value && !strcmp(a->name, "to")) {
            bad |= module_set(C, md, a->value, on) != 0;
            have_to = 1;
        } else if (a->name && a->value && !strcmp(a->name, "p")) {
            bad |= unit_number(C, a->value, "input probability", 0, 1, &p) != 0;
        } else {
            mnet_error(C->ctx, a->loc, "an input takes to = MODULE or [MODULE, ...] and p = P");
            C->errors++;
            bad = 1;
        }
    }
    if (!have_to) {
        mnet_error(C->ctx, x->loc, "input '%s' names no module (to = [MODULE, ...])", x->name);
        C->errors++;
    }
    if (bad || !have_to)
        return;
    /* the sources in the table's order: find or insert this one */
    int k = 0;
    while (k < md->n_sources) {
        int q;
        mnet_name_lookup(mnet_obs_part_names, md->source_name[k], &q);
        if (q >= part)
            break;
        k++;
    }
    if (k == md->n_sources || strcmp(md->source_name[k], x->name) != 0) {
        for (int j = md->n_sources; j > k; j--) {
            memcpy(md->source_name[j], md->source_name[j - 1], MNET_NN_NAME);
            memcpy(md->reach[j], md->reach[j - 1], sizeof md->reach[j]);
        }
        md->n_sources++;
        snprintf(md->source_name[k], MNET_NN_NAME, "%s", x->name);
        for (int m = 0; m < MNET_NN_MAX_MODULES; m++)
            md->reach[k][m] = -1; /* not given yet */
    }
    for (int m = 0; m < md->n_modules; m++)
        if (on[m]) {
            if (md->reach[k][m] >= 0) {
                mnet_error(C->ctx, x->loc, "input '%s' reaches module '%s' twice", x->name, md->name[m]);
                C->errors++;
            }
            md->reach[k][m] = p;
        }
}

/* delay = 20 ms (a time, seconds into *time) or delay = 2 (whole steps
 * into *steps): 0, or -1 after reporting.  A time is checked against the
 * episode here; steps once the effector's step is known
 * (task_check_delays). */
static int connect_delay(checker *C, const ast_expr *e, int *steps, double *time)
{
    double v;
    int n;
    unit_dim dim;
    if (numbers(C, e, "delay", &v, 1, &n, &dim) != 0)
        return -1;
    if (dim != DIM_NONE && dim != DIM_TIME) {
        mnet_error(C->ctx, e->loc, "a delay is a time (e.g. 20 ms) or a number of steps, but the value given is %s",
                   unit_dim_name(dim));
    } else if (!(v >= 0) || !isfinite(v)) {
        mnet_error(C->ctx, e->loc, "a delay must be 0 or more (got %.15g)", v);
    } else if (dim == DIM_NONE && (v != floor(v) || v > 1e8)) {
        mnet_error(C->ctx, e->loc, "a delay in steps must be a whole number (got %.15g; write a time with its "
                   "unit, e.g. 20 ms)", v);
    } else {
        *steps = dim == DIM_NONE ? (int)v : 0;
        *time = dim == DIM_TIME ? v : 0;
        return 0;
    }
    C->errors++;
    return -1;
}

static void modular_connect(checker *C, mnet_task_config *cfg, const ast_stmt *s, int given[][MNET_NN_MAX_MODULES],
                            task_spec *t)
{
    mnet_nn_modular *md = &cfg->modular;
    const ast_expr *x = body_call(C, s, "connect FROM(to = MODULE or [MODULE, ...], fraction = F, p = P, delay = D)");
    if (!x)
        return;
    const ast_expr id = {.kind = EX_ID, .loc = x->loc, .name = x->name};
    const int a = module_named(C, md, &id);
    int on[MNET_NN_MAX_MODULES] = {0}, have_to = 0, bad = a < 0, dsteps = 0;
    double frac = 1, p = 1, dtime = 0;
    src_loc dloc = x->loc;
    for (const ast_arg *g = x->kind == EX_CALL ? x->args : NULL; g; g = g->next) {
        if (g->name && g->value && !strcmp(g->name, "to")) {
            bad |= module_set(C, md, g->value, on) != 0;
            have_to = 1;
        } else if (g->name && g->value && !strcmp(g->name, "fraction")) {
            bad |= unit_number(C, g->value, "projecting fraction", 0, 1, &frac) != 0;
        } else if (g->name && g->value && !strcmp(g->name, "p")) {
            bad |= unit_number(C, g->value, "connection probability", 0, 1, &p) != 0;
        } else if (g->name && g->value && !strcmp(g->name, "delay")) {
            bad |= connect_delay(C, g->value, &dsteps, &dtime) != 0;
            dloc = g->value->loc;
        } else {
            mnet_error(C->ctx, g->loc,
                       "a connection takes to = MODULE or [MODULE, ...], fraction = F, p = P and delay = D");
            C->errors++;
            bad = 1;
        }
    }
    if (!have_to) {
        mnet_error(C->ctx, x->loc, "connect '%s' names no target (to = MODULE)", x->name);
        C->errors++;
    }
    if (bad || !have_to)
        return;
    for (int b = 0; b < md->n_modules; b++)
        if (on[b]) {
            if (given[b][a]) {
                mnet_error(C->ctx, x->loc, "connection '%s' -> '%s' is given twice", md->name[a], md->name[b]);
                C->errors++;
            }
            given[b][a] = 1;
            md->frac[b][a] = frac;
            md->p[b][a] = p;
            md->delay_steps[b][a] = dsteps;
            md->delay_time[b][a] = dtime;
            if (t)
                t->delay_loc[b][a] = dloc;
        }
}

/* The statements of the policy's body into cfg->modular: modules first
 * (so the others may name a module written later), then the rest. */
static void modular_body(checker *C, mnet_task_config *cfg, const ast_stmt *policy_stmt, task_spec *t)
{
    mnet_nn_modular *md = &cfg->modular;
    memset(md, 0, sizeof *md);
    /* (to x from) 1: the pair was written */
    int (*conn)[MNET_NN_MAX_MODULES] = calloc(MNET_NN_MAX_MODULES, sizeof *conn);
    if (!conn) {
        mnet_error(C->ctx, policy_stmt->loc, "out of memory");
        C->errors++;
        return;
    }
    C->modular = 1;
    C->policy_loc = policy_stmt->loc;
    for (const ast_stmt *s = policy_stmt->body; s; s = s->next)
        if (s->kind == ST_SETTING && !strcmp(s->head, "module"))
            modular_module(C, md, s);
    for (const ast_stmt *s = policy_stmt->body; s; s = s->next) {
        if (s->kind == ST_SETTING && !strcmp(s->head, "module"))
            continue;
        if (s->kind == ST_SETTING && !strcmp(s->head, "input")) {
            modular_input(C, md, s);
        } else if (s->kind == ST_SETTING && !strcmp(s->head, "connect")) {
            modular_connect(C, cfg, s, conn, t);
        } else if (s->kind == ST_SETTING && !strcmp(s->head, "readout") && s->nargs >= 1 && !s->has_body) {
            for (const ast_arg *a = s->args; a; a = a->next) {
                int on[MNET_NN_MAX_MODULES] = {0};
                if (a->name || !a->value) {
                    mnet_error(C->ctx, a->loc, "readout is written readout MODULE, ...;");
                    C->errors++;
                } else if (module_set(C, md, a->value, on) == 0) {
                    for (int m = 0; m < md->n_modules; m++)
                        md->drives_readout[m] |= on[m];
                }
            }
        } else {
            mnet_error(C->ctx, s->loc,
                       "a policy's body holds module, input, connect and readout statements (got '%s')",
                       s->kind == ST_SETTING || s->kind == ST_ASSIGN ? s->head : "?");
            C->errors++;
        }
    }
    free(conn);
    /* a source not written to a module does not reach it */
    for (int k = 0; k < md->n_sources; k++)
        for (int m = 0; m < MNET_NN_MAX_MODULES; m++)
            if (md->reach[k][m] < 0)
                md->reach[k][m] = 0;
    if (md->n_modules == 0) {
        mnet_error(C->ctx, policy_stmt->loc, "the policy's body defines no module (module NAME(size = N);)");
        C->errors++;
    }
}

/* Checks the statements of a task body into t. */
static void check_body(checker *C, const mnet_program *prog, const mnet_def *def, task_spec *t, int *named_effector)
{
    const ast_expr *x;
    for (const ast_stmt *s = def->stmt->body; s; s = s->next) {
        const char *h = s->head;
        if (s->kind != ST_SETTING || (s->has_body && strcmp(h, "policy") != 0)) {
            mnet_error(C->ctx, s->loc, "a task holds settings like 'duration 1 s;'");
            C->errors++;
            continue;
        }
        int twice = 0;
        for (const ast_stmt *p = def->stmt->body; p != s && !twice; p = p->next)
            if (p->kind == ST_SETTING && !strcmp(p->head, h) && strcmp(h, "loss") != 0) {
                mnet_error(C->ctx, s->loc, "'%s' is given twice in task '%s'", h, def->name);
                mnet_note(C->ctx, p->loc, "first given here");
                C->errors++;
                twice = 1;
            }
        if (twice)
            continue;
        if (!strcmp(h, "effector")) {
            *named_effector = 1;
            if ((x = one_value(C, s))) {
                const mnet_def *e = x->kind == EX_ID ? program_find(prog, x->name) : NULL;
                if (!e || e->kind != DEF_EFFECTOR) {
                    mnet_error(C->ctx, x->loc, "'%s' is not an effector", x->kind == EX_ID ? x->name : "?");
                    C->errors++;
                } else {
                    t->effector = e->name;
                }
            }
        } else if (!strcmp(h, "loss")) {
            if ((x = one_value(C, s)))
                loss_term(C, t, x);
        } else if (!strcmp(h, "policy")) {
            if (s->nargs != 1 || s->args->name) {
                mnet_error(C->ctx, s->loc, "policy is written policy CELL(hidden = N, ...) with an optional "
                                           "{ module ...; } body");
                C->errors++;
            } else {
                C->policy_loc = s->loc;
                C->policy = 1;
                policy(C, &t->cfg, s->args->value);
                if (s->has_body)
                    modular_body(C, &t->cfg, s, t);
            }
        } else if (setting_named(h) && !(s->nargs >= 1 && s->args->name)) {
            if ((x = one_value(C, s)))
                apply(C, &t->cfg, setting_named(h), x);
        } else {
            char probe[160];
            list_settings(h, probe, sizeof probe);
            if (probe[0]) {
                named_settings(C, &t->cfg, h, s->args, s->loc);
            } else {
                mnet_error(C->ctx, s->loc,
                           "unknown task setting '%s' (effector, kind, duration, delay, exact_delays, "
                           "action_frames, noise, go_cue, catch_fraction, validation, load, force_channel, "
                           "loss, policy, train)",
                           h);
                C->errors++;
            }
        }
    }
}

int task_check(mnet_ctx *ctx, const mnet_program *prog, const mnet_def *def, task_spec *out)
{
    task_spec t;
    task_spec_default(&t);
    t.cfg.n_losses = 0;
    mnet_arena arena = {0};
    checker C = {.ctx = ctx, .E = {.ctx = ctx, .g = ir_new(), .arena = &arena, .prog = prog}};
    if (!C.E.g)
        return 1;
    int named_effector = 0;
    check_body(&C, prog, def, &t, &named_effector);
    if (!named_effector) {
        mnet_error(ctx, def->loc, "task '%s' names no effector (add 'effector NAME;')", def->name);
        C.errors++;
    }
    if (t.cfg.n_losses == 0)
        task_spec_recipe_loss(&t);
    char err[512];
    if (C.errors == 0) /* positioned, before the same check without a position below */
        C.errors += task_check_delays(ctx, &t, 0);
    if (C.errors == 0 && C.modular && mnet_modular_check(&t.cfg, err, sizeof err) != 0) {
        mnet_error(ctx, C.policy_loc, "%s", err);
        C.errors++;
    }
    if (C.errors == 0 && C.policy && mnet_policy_check(&t.cfg, err, sizeof err) != 0) {
        mnet_error(ctx, C.policy_loc, "%s", err);
        C.errors++;
    }
    if (C.errors == 0 && mnet_run_check(&t.cfg, err, sizeof err) != 0) {
        mnet_error(ctx, def->loc, "task '%s': %s", def->name, err);
        C.errors++;
    }
    ir_free(C.E.g);
    arena_free(&arena);
    if (out)
        *out = t;
    return C.errors;
}

int task_check_delays(mnet_ctx *ctx, const task_spec *t, double step)
{
    const mnet_nn_modular *md = &t->cfg.modular;
    const double T = step > 0 ? (double)lround(t->cfg.duration / step) : 0;
    int errors = 0;
    for (int b = 0; b < md->n_modules && b < MNET_NN_MAX_MODULES; b++)
        for (int a = 0; a < md->n_modules && a < MNET_NN_MAX_MODULES; a++) {
            const double time = md->delay_time[b][a];
            if (step <= 0 && time > 0 && time >= t->cfg.duration) {
                mnet_error(ctx, t->delay_loc[b][a],
                           "connection '%s' -> '%s': a delay of %g ms is not shorter than the episode (%g ms)",
                           md->name[a], md->name[b], time * 1e3, t->cfg.duration * 1e3);
                errors++;
                continue;
            }
            /* in steps, as the trainer will count them (-1: too many) */
            const double d = step > 0 ? mnet_modular_delay_steps(md, b, a, step) : 0;
            if (!(d >= 0 && (step <= 0 || d < T))) {
                mnet_error(ctx, t->delay_loc[b][a],
                           "connection '%s' -> '%s': a delay of %.0f steps is not shorter than the episode (%.0f "
                           "steps of %g ms)",
                           md->name[a], md->name[b], d >= 0 ? d : md->delay_steps[b][a] + time / step, T, step * 1e3);
                errors++;
            }
        }
    return errors;
}

/* ---- set NAME VALUE ------------------------------------------------------ */

/* A value written as .mnet text, parsed as a constant's value. */
typedef struct {
    mnet_ctx *ctx;
    mnet_program prog;
    char *src;
    mnet_arena arena;
    checker C;
    const ast_expr *e;      /* NULL: the text did not parse (reported)   */
} set_value;

static int value_open(set_value *v, const char *text)
{
    memset(v, 0, sizeof *v);
    size_t len = strlen(text) + 64;
    v->src = malloc(len);
    v->ctx = mnet_ctx_new();
    if (!v->src || !v->ctx)
        return -1;
    snprintf(v->src, len, "const set_value = %s;\n", text);
    int file = mnet_ctx_add_text(v->ctx, "set", v->src, (long)strlen(v->src));
    if (file >= 0)
        mnet_parse(v->ctx, file);
    if (v->ctx->n_errors == 0)
        program_collect(v->ctx, &v->prog);
    const mnet_def *d = v->ctx->n_errors == 0 ? program_find(&v->prog, "set_value") : NULL;
    if (v->ctx->n_errors == 0 && (!d || !d->arg || !d->arg->value))
        mnet_error(v->ctx, mnet_no_loc(), "'%s' is not a value", text);
    v->C = (checker){.ctx = v->ctx, .E = {.ctx = v->ctx, .g = ir_new(), .arena = &v->arena, .prog = &v->prog}};
    if (!v->C.E.g)
        return -1;
    if (v->ctx->n_errors == 0)
        v->e = d->arg->value;
    return 0;
}

/* 0, or -1 with the first message in err; frees v. */
static int value_close(set_value *v, const char *text, char *err, size_t n)
{
    int rc = !v->ctx || !v->C.E.g ? -1 : v->ctx->n_errors ? -1 : 0;
    if (!v->ctx || !v->C.E.g)
        snprintf(err, n, "out of memory");
    else if (rc && v->ctx->n_diags > 0)
        snprintf(err, n, "%s", v->ctx->diags[0].msg);
    else if (rc)
        snprintf(err, n, "'%s' is not a value", text);
    ir_free(v->C.E.g);
    arena_free(&v->arena);
    program_free(&v->prog);
    mnet_ctx_free(v->ctx);
    free(v->src);
    return rc;
}

int task_eval_number(const char *name, const char *text, int want, double *out, char *err, size_t n)
{
    set_value v;
    if (value_open(&v, text) == 0 && v.e) {
        double x;
        int count;
        unit_dim dim;
        if (numbers(&v.C, v.e, name, &x, 1, &count, &dim) == 0) {
            if (want >= 0 && want != DIM_NONE && dim != DIM_NONE && dim != (unit_dim)want)
                mnet_error(v.ctx, v.e->loc, "'%s' is %s, but the value given is %s", name, unit_dim_name((unit_dim)want),
                           unit_dim_name(dim));
            else if (!isfinite(x))
                mnet_error(v.ctx, v.e->loc, "'%s' must be finite", name);
            else
                *out = x;
        }
    }
    return value_close(&v, text, err, n);
}

int task_set(mnet_task_config *cfg, const char *name, const char *text, int *reshapes, char *err, size_t n)
{
    if (reshapes)
        *reshapes = 0;
    mnet_task_config c = *cfg;
    set_value v;
    if (value_open(&v, text) == 0 && v.e) {
        mnet_ctx *ctx = v.ctx;
        const ast_expr *e = v.e;
        char msg[512];
        const mnet_setting *s;
        if (!strncmp(name, "loss.", 5)) {
            /* loss.NAME.weight, loss.NAME.derivative */
            char term[MNET_LOSS_NAME_MAX + 16];
            snprintf(term, sizeof term, "%s", name + 5);
            char *dot = strrchr(term, '.');
            double x;
            int count;
            unit_dim dim;
            if (!dot) {
                mnet_error(ctx, mnet_no_loc(), "a loss term is set as loss.NAME.weight or loss.NAME.derivative");
            } else if (numbers(&v.C, e, name, &x, 1, &count, &dim) == 0) {
                *dot = 0;
                if (dim != DIM_NONE)
                    mnet_error(ctx, e->loc, "'%s' takes no unit, but the value given is %s", name, unit_dim_name(dim));
                else if (mnet_setting_set_loss(&c, term, dot + 1, x, msg, sizeof msg) != 0)
                    mnet_error(ctx, e->loc, "%s", msg);
            }
        } else if (!(s = mnet_setting_find(name, msg, sizeof msg))) {
            mnet_error(ctx, mnet_no_loc(), "%s", msg);
        } else {
            apply(&v.C, &c, s, e);
            if (reshapes)
                *reshapes = (s->flags & MNET_SETTING_RESHAPES) != 0;
            if (ctx->n_errors == 0 && mnet_run_check(&c, msg, sizeof msg) != 0)
                mnet_error(ctx, e->loc, "%s", msg);
        }
    }
    int rc = value_close(&v, text, err, n);
    if (rc == 0)
        *cfg = c;
    return rc;
}
