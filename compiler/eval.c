/* eval.c - symbolic evaluation of expressions into the expression graph. */
#include "eval.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"

enum { MAX_CALL_DEPTH = 64, MAX_VALUE_ELEMS = 1 << 16 };

/* Expressions one lowering may evaluate.  Functions and lazy lets are
 * expanded where they are used, so a chain of definitions each using the
 * next twice costs 2^n: refuse that instead of running for hours. */
static const long MAX_EVAL_STEPS = 20000000;
enum { MAX_EVAL_DEPTH = 1000 };

/* A user function being called (for recursion), and a constant's value in
 * this graph (each constant is evaluated once per graph). */
struct eval_frame {
    const ast_stmt *fn;
    const eval_frame *up;
};
typedef struct const_memo const_memo;
struct const_memo {
    const ast_arg *def;
    int busy;               /* being evaluated: a use now is a cycle */
    value v;
    const_memo *next;
};
struct eval_memo {
    const_memo **bucket;    /* (n_buckets) by definition, a power of 2 */
    size_t n_buckets, n;
};

/* The memo tables (constants, calls) chain entries in buckets allocated from
 * the arena and double the buckets when they hold as many entries, so each
 * lookup stays constant time however many constants or distinct calls a
 * program has (a fixed 1,024 buckets made --check quadratic in them). */
enum { MEMO_MIN_BUCKETS = 64 };

static size_t mix_hash(size_t h)
{
    h ^= h >> 16;
    h *= 0x45d9f3bu;
    h ^= h >> 16;
    return h;
}

/* ---- units ------------------------------------------------------------- */

static const struct {
    const char *name;
    double factor;  /* to SI (radians for angles) */
    unit_dim dim;
} units[] = {
    {"rad", 1, DIM_ANGLE},       {"deg", M_PI / 180, DIM_ANGLE},
    {"s", 1, DIM_TIME},          {"ms", 1e-3, DIM_TIME},
    {"m", 1, DIM_LENGTH},        {"cm", 1e-2, DIM_LENGTH},     {"mm", 1e-3, DIM_LENGTH},
    {"kg", 1, DIM_MASS},         {"g", 1e-3, DIM_MASS},
    {"N", 1, DIM_FORCE},         {"Nm", 1, DIM_TORQUE},
    {"kgm2", 1, DIM_INERTIA},    {"mps", 1, DIM_VELOCITY},     {"Hz", 1, DIM_FREQUENCY},
};

int unit_lookup(const char *name, double *factor, unit_dim *dim)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(units[i].name, name) == 0) {
            *factor = units[i].factor;
            *dim = units[i].dim;
            return 1;
        }
    return 0;
}

unit_dim unit_dim_of(const char *unit)
{
    double f;
    unit_dim d;
    return unit_lookup(unit, &f, &d) ? d : DIM_NONE;
}

const char *unit_dim_name(unit_dim d)
{
    static const char *const names[] = {
        [DIM_NONE] = "a plain number", [DIM_ANGLE] = "an angle", [DIM_TIME] = "a time",
        [DIM_LENGTH] = "a length",     [DIM_MASS] = "a mass",    [DIM_FORCE] = "a force",
        [DIM_TORQUE] = "a torque",     [DIM_INERTIA] = "an inertia",
        [DIM_VELOCITY] = "a velocity", [DIM_FREQUENCY] = "a frequency",
    };
    return names[d];
}

/* ---- values ------------------------------------------------------------ */

value value_error(void)
{
    value v;
    memset(&v, 0, sizeof v);
    v.kind = V_ERR;
    return v;
}

value value_scalar(ir_id id, src_loc loc)
{
    value v;
    memset(&v, 0, sizeof v);
    v.kind = id < 0 ? V_ERR : V_NUM;
    v.rows = v.cols = 1;
    v.scalar = id;
    v.v = NULL; /* scalars use .scalar; see elems() */
    v.loc = loc;
    return v;
}

static value make_array(eval_env *E, int ndim, int rows, int cols, src_loc loc)
{
    value v = value_error();
    long n = (long)rows * cols;
    if (n > MAX_VALUE_ELEMS) {
        mnet_error(E->ctx, loc, "value of %ld elements is too large", n);
        return v;
    }
    v.v = arena_alloc(E->arena, (size_t)(n ? n : 1) * sizeof(ir_id));
    if (!v.v) {
        mnet_error(E->ctx, loc, "out of memory");
        return v;
    }
    v.kind = V_NUM;
    v.ndim = ndim;
    v.rows = rows;
    v.cols = cols;
    v.loc = loc;
    return v;
}

value value_vector(eval_env *E, int n, src_loc loc)
{
    return make_array(E, 1, n, 1, loc);
}

value value_matrix(eval_env *E, int rows, int cols, src_loc loc)
{
    return make_array(E, 2, rows, cols, loc);
}

int value_count(const value *v)
{
    return v->kind == V_NUM ? v->rows * v->cols : 0;
}

/* Elements of a numeric value, scalars included. */
static ir_id *elems(value *v)
{
    return v->ndim == 0 ? &v->scalar : v->v;
}

const char *value_shape(const value *v, char *buf, size_t n)
{
    switch (v->kind) {
    case V_NUM:
        if (v->ndim == 0)
            snprintf(buf, n, "a scalar");
        else if (v->ndim == 1)
            snprintf(buf, n, "a vector of %d", v->rows);
        else
            snprintf(buf, n, "a %dx%d matrix", v->rows, v->cols);
        break;
    case V_STR:
        snprintf(buf, n, "a string");
        break;
    case V_NAME:
        snprintf(buf, n, "the name '%s'", v->str);
        break;
    default:
        snprintf(buf, n, "an invalid value");
    }
    return buf;
}

/* ---- scopes ------------------------------------------------------------ */

scope *scope_bind(eval_env *E, const scope *parent, const char *name, value v, src_loc loc)
{
    scope *s = arena_alloc(E->arena, sizeof *s);
    if (!s)
        return (scope *)parent;
    s->parent = parent;
    s->name = name;
    s->kind = B_VALUE;
    s->val = v;
    if (v.ndim == 0)
        s->val.v = NULL;
    s->loc = loc;
    return s;
}

scope *scope_bind_lazy(eval_env *E, const scope *parent, const char *name, const ast_expr *e)
{
    scope *s = arena_alloc(E->arena, sizeof *s);
    if (!s)
        return (scope *)parent;
    s->parent = parent;
    s->name = name;
    s->kind = B_LAZY;
    s->expr = e;
    s->loc = e->loc;
    return s;
}

scope *scope_find(const scope *s, const char *name)
{
    for (; s; s = s->parent)
        if (s->name && strcmp(s->name, name) == 0)
            return (scope *)s;
    return NULL;
}

/* ---- arithmetic with broadcasting -------------------------------------- */

static ir_op binary_ir_op(ast_op op)
{
    switch (op) {
    case OP_ADD: return IR_ADD;
    case OP_SUB: return IR_SUB;
    case OP_MUL: return IR_MUL;
    case OP_DIV: return IR_DIV;
    case OP_POW: return IR_POW;
    case OP_LT: return IR_LT;
    case OP_LE: return IR_LE;
    case OP_GT: return IR_GT;
    case OP_GE: return IR_GE;
    case OP_EQ: return IR_EQ;
    case OP_NE: return IR_NE;
    case OP_AND: return IR_AND;
    case OP_OR: return IR_OR;
    default: return IR_ADD;
    }
}

static int require_num(eval_env *E, value *v, src_loc loc, const char *what)
{
    if (v->kind == V_NUM)
        return 1;
    if (v->kind != V_ERR) {
        char buf[64];
        mnet_error(E->ctx, loc, "%s needs a number, got %s", what, value_shape(v, buf, sizeof buf));
    }
    return 0;
}

/* Applies f element-wise over up to three operands, broadcasting scalars. */
typedef ir_id (*elem_fn)(eval_env *E, const void *data, const ir_id *x);

static value map_elems(eval_env *E, int n_ops, value *ops, src_loc loc, const char *what,
                       elem_fn f, const void *data)
{
    value *shape = NULL;
    for (int i = 0; i < n_ops; i++) {
        if (!require_num(E, &ops[i], loc, what))
            return value_error();
        if (ops[i].ndim == 0)
            continue;
        if (!shape) {
            shape = &ops[i];
        } else if (shape->rows != ops[i].rows || shape->cols != ops[i].cols) {
            char a[64], b[64];
            mnet_error(E->ctx, loc, "shape mismatch in %s: %s and %s", what,
                       value_shape(shape, a, sizeof a), value_shape(&ops[i], b, sizeof b));
            return value_error();
        }
    }
    value out = shape ? make_array(E, shape->ndim, shape->rows, shape->cols, loc)
                      : value_scalar(0, loc);
    if (out.kind == V_ERR)
        return out;
    int n = shape ? shape->rows * shape->cols : 1;
    E->steps += n;
    ir_id *dst = elems(&out);
    for (int k = 0; k < n; k++) {
        ir_id x[3] = {-1, -1, -1};
        for (int i = 0; i < n_ops; i++)
            x[i] = elems(&ops[i])[ops[i].ndim == 0 ? 0 : k];
        dst[k] = f(E, data, x);
        if (dst[k] < 0)
            return value_error();
    }
    return out;
}

static ir_id f_binary(eval_env *E, const void *data, const ir_id *x)
{
    ir_op op = *(const ir_op *)data;
    if (op == IR_POW) {
        const ir_node *b = ir_get(E->g, x[1]);
        if (b->op == IR_CONST && b->value == floor(b->value) && fabs(b->value) <= 64)
            return ir_powi(E->g, x[0], (int)b->value);
    }
    return ir_binary(E->g, op, x[0], x[1]);
}

static ir_id f_unary(eval_env *E, const void *data, const ir_id *x)
{
    return ir_unary(E->g, *(const ir_op *)data, x[0]);
}

static ir_id f_select(eval_env *E, const void *data, const ir_id *x)
{
    (void)data;
    return ir_select(E->g, x[0], x[1], x[2]);
}

static ir_id f_clamp(eval_env *E, const void *data, const ir_id *x)
{
    (void)data;
    return ir_clamp(E->g, x[0], x[1], x[2]);
}

/* ---- calls ------------------------------------------------------------- */

static const struct {
    const char *name;
    ir_op op;
} unary_builtins[] = {
    {"exp", IR_EXP},   {"log", IR_LOG},   {"sqrt", IR_SQRT}, {"sin", IR_SIN},
    {"cos", IR_COS},   {"tanh", IR_TANH}, {"sigmoid", IR_SIGMOID}, {"abs", IR_ABS},
};

static int check_positional(eval_env *E, const ast_expr *call, int min, int max)
{
    for (const ast_arg *a = call->args; a; a = a->next)
        if (a->name) {
            mnet_error(E->ctx, a->loc, "%s() takes no named arguments", call->name);
            return 0;
        }
    if (call->nargs < min || call->nargs > max) {
        if (min == max)
            mnet_error(E->ctx, call->loc, "%s() takes %d argument%s, got %d", call->name, min,
                       min == 1 ? "" : "s", call->nargs);
        else
            mnet_error(E->ctx, call->loc, "%s() takes %d to %d arguments, got %d", call->name, min,
                       max, call->nargs);
        return 0;
    }
    return 1;
}

static value eval_args(eval_env *E, scope *s, const ast_expr *call, value *out)
{
    int i = 0;
    for (const ast_arg *a = call->args; a; a = a->next, i++) {
        out[i] = eval_expr(E, s, a->value);
        if (out[i].kind == V_ERR)
            return value_error();
    }
    value ok = value_scalar(0, call->loc);
    return ok;
}

static ir_id f_sum(eval_env *E, const value *v)
{
    ir_id acc = ir_const(E->g, 0);
    const ir_id *x = v->ndim == 0 ? &v->scalar : v->v;
    for (int k = 0; k < v->rows * v->cols; k++)
        acc = ir_add(E->g, acc, x[k]);
    return acc;
}

/* fn name(x) { let a = ...; return expr; }: lets in order, then the result. */
static value eval_fn_body(eval_env *E, scope *s, const ast_stmt *fn)
{
    for (const ast_stmt *st = fn->body; st; st = st->next) {
        if (st->kind == ST_SETTING && !strcmp(st->head, "let") && !st->has_body) {
            for (const ast_arg *a = st->args; a; a = a->next) {
                if (!a->name || !a->value) {
                    mnet_error(E->ctx, a->loc, "let expects 'name = expr'");
                    return value_error();
                }
                value v = eval_expr(E, s, a->value);
                if (v.kind == V_ERR)
                    return v;
                s = scope_bind(E, s, a->name, v, a->loc);
            }
        } else if (st->kind == ST_SETTING && !strcmp(st->head, "return") && !st->has_body) {
            if (st->nargs != 1 || st->args->name) {
                mnet_error(E->ctx, st->loc, "return expects one expression");
                return value_error();
            }
            if (st->next) {
                mnet_error(E->ctx, st->next->loc, "statement after return in '%s'", fn->head);
                return value_error();
            }
            return eval_expr(E, s, st->args->value);
        } else {
            mnet_error(E->ctx, st->loc, "a function body holds 'let name = expr;' and ends with 'return expr;'");
            return value_error();
        }
    }
    mnet_error(E->ctx, fn->loc, "function '%s' has no return statement", fn->head);
    return value_error();
}

/* Values equal node for node (the graph is hash-consed, so equal nodes are
 * equal expressions). */
static int same_value(const value *a, const value *b)
{
    if (a->kind != b->kind || a->ndim != b->ndim || a->rows != b->rows || a->cols != b->cols ||
        a->dim != b->dim)
        return 0;
    if (a->kind == V_STR || a->kind == V_NAME)
        return a->str && b->str && strcmp(a->str, b->str) == 0;
    if (a->kind != V_NUM)
        return 0;
    const ir_id *x = a->ndim ? a->v : &a->scalar, *y = b->ndim ? b->v : &b->scalar;
    return memcmp(x, y, (size_t)a->rows * (size_t)a->cols * sizeof(ir_id)) == 0;
}

static unsigned value_hash(unsigned h, const value *v)
{
    h = (h ^ (unsigned)v->kind) * 16777619u;
    if (v->kind == V_NUM) {
        const ir_id *x = v->ndim ? v->v : &v->scalar;
        for (int k = 0; k < v->rows * v->cols; k++)
            h = (h ^ (unsigned)x[k]) * 16777619u;
    }
    return h;
}

/* A call's result in this graph: a function sees only its arguments and the
 * constants, so equal arguments give the same value, and f(x) + f(x), or a
 * chain of such, is evaluated once per distinct call (not 2^depth times). */
typedef struct call_memo call_memo;
struct call_memo {
    const ast_stmt *fn;
    unsigned hash;
    const value *args;      /* (fn->nargs) in parameter order */
    value result;
    call_memo *next;
};
struct eval_calls {
    call_memo **bucket;     /* (n_buckets) by hash, a power of 2 */
    size_t n_buckets, n;
};

static call_memo *find_call(eval_env *E, const ast_stmt *fn, const value *args, unsigned h)
{
    if (!E->calls || !E->calls->bucket)
        return NULL;
    size_t k = mix_hash(h) & (E->calls->n_buckets - 1);
    for (call_memo *m = E->calls->bucket[k]; m; m = m->next) {
        if (m->fn != fn || m->hash != h)
            continue;
        int same = 1;
        for (int i = 0; same && i < fn->nargs; i++)
            same = same_value(&m->args[i], &args[i]);
        if (same)
            return m;
    }
    return NULL;
}

/* Room for one more call in the table; 0 when out of memory. */
static int grow_calls(eval_env *E)
{
    eval_calls *t = E->calls;
    if (t->bucket && t->n < t->n_buckets)
        return 1;
    size_t cap = t->bucket ? 2 * t->n_buckets : MEMO_MIN_BUCKETS;
    call_memo **b = arena_alloc(E->arena, cap * sizeof *b);
    if (!b)
        return 0;
    for (size_t i = 0; i < t->n_buckets; i++)
        for (call_memo *m = t->bucket[i], *next; m; m = next) {
            next = m->next;
            size_t k = mix_hash(m->hash) & (cap - 1);
            m->next = b[k];
            b[k] = m;
        }
    t->bucket = b;
    t->n_buckets = cap;
    return 1;
}

static void remember_call(eval_env *E, const ast_stmt *fn, const value *args, unsigned h, value r)
{
    if (!E->calls)
        E->calls = arena_alloc(E->arena, sizeof *E->calls);
    call_memo *m = E->calls && grow_calls(E) ? arena_alloc(E->arena, sizeof *m) : NULL;
    if (!m)
        return; /* only a lost shortcut */
    m->fn = fn;
    m->hash = h;
    m->args = args;
    m->result = r;
    size_t k = mix_hash(h) & (E->calls->n_buckets - 1);
    m->next = E->calls->bucket[k];
    E->calls->bucket[k] = m;
    E->calls->n++;
}

static value call_user_fn(eval_env *E, scope *s, const ast_expr *call, const ast_stmt *fn)
{
    for (const eval_frame *f = E->frames; f; f = f->up)
        if (f->fn == fn) {
            mnet_error(E->ctx, call->loc, "recursive call of '%s' (functions cannot call themselves)",
                       call->name);
            mnet_note(E->ctx, fn->loc, "'%s' is defined here", fn->head);
            return value_error();
        }
    if (E->call_depth >= MAX_CALL_DEPTH) {
        mnet_error(E->ctx, call->loc, "calls nested deeper than %d (does '%s' call itself?)",
                   MAX_CALL_DEPTH, call->name);
        return value_error();
    }
    int nparams = fn->nargs;
    if (call->nargs != nparams) {
        mnet_error(E->ctx, call->loc, "%s() takes %d argument%s, got %d", call->name, nparams,
                   nparams == 1 ? "" : "s", call->nargs);
        mnet_note(E->ctx, fn->loc, "'%s' is defined here", fn->head);
        return value_error();
    }
    /* Positional arg k binds parameter k, a named arg its parameter; each
     * parameter exactly once. */
    value *vals = arena_alloc(E->arena, (size_t)(nparams + 1) * sizeof *vals);
    const ast_arg **bound = arena_alloc(E->arena, (size_t)(nparams + 1) * sizeof *bound);
    if (!vals || !bound) {
        mnet_error(E->ctx, call->loc, "out of memory");
        return value_error();
    }
    int ok = 1, k = 0;
    for (const ast_arg *a = call->args; a; a = a->next, k++) {
        int i = k;
        if (a->name) {
            i = 0;
            const ast_arg *q = fn->args;
            while (q && strcmp(q->name, a->name) != 0)
                q = q->next, i++;
            if (!q) {
                mnet_error(E->ctx, a->loc, "%s() has no parameter '%s'", call->name, a->name);
                ok = 0;
                continue;
            }
        }
        if (bound[i]) {
            const ast_arg *q = fn->args;
            for (int j = 0; j < i; j++)
                q = q->next;
            mnet_error(E->ctx, a->loc, "%s(): '%s' is given twice", call->name, q->name);
            ok = 0;
            continue;
        }
        bound[i] = a;
        vals[i] = eval_expr(E, s, a->value);
        if (vals[i].kind == V_ERR)
            ok = 0;
    }
    if (!ok)
        return value_error();
    /* functions see only their parameters and globals */
    scope *inner = NULL;
    unsigned h = (unsigned)(size_t)fn * 2654435761u;
    int i = 0;
    for (const ast_arg *p = fn->args; p; p = p->next, i++) {
        inner = scope_bind(E, inner, p->name, vals[i], bound[i]->loc);
        h = value_hash(h, &vals[i]);
    }
    /* der(x) inside the body depends on the update block: no memo there */
    call_memo *m = E->ders ? NULL : find_call(E, fn, vals, h);
    if (m)
        return m->result;
    eval_frame frame = {fn, E->frames};
    E->frames = &frame;
    E->call_depth++;
    value r = fn->has_body ? eval_fn_body(E, inner, fn) : eval_expr(E, inner, fn->value);
    E->call_depth--;
    E->frames = frame.up;
    if (r.kind == V_NUM && r.ndim == 0)
        r.v = NULL;
    if (!E->ders)
        remember_call(E, fn, vals, h, r);
    return r;
}

static value eval_call(eval_env *E, scope *s, const ast_expr *e)
{
    const char *name = e->name;
    value args[8];
    for (size_t i = 0; i < sizeof unary_builtins / sizeof unary_builtins[0]; i++) {
        if (strcmp(name, unary_builtins[i].name) != 0)
            continue;
        if (!check_positional(E, e, 1, 1) || eval_args(E, s, e, args).kind == V_ERR)
            return value_error();
        return map_elems(E, 1, args, e->loc, name, f_unary, &unary_builtins[i].op);
    }
    if (strcmp(name, "min") == 0 || strcmp(name, "max") == 0) {
        ir_op op = name[1] == 'i' ? IR_MIN : IR_MAX;
        if (!check_positional(E, e, 2, 2) || eval_args(E, s, e, args).kind == V_ERR)
            return value_error();
        return map_elems(E, 2, args, e->loc, name, f_binary, &op);
    }
    if (strcmp(name, "clamp") == 0) {
        if (!check_positional(E, e, 3, 3) || eval_args(E, s, e, args).kind == V_ERR)
            return value_error();
        return map_elems(E, 3, args, e->loc, name, f_clamp, NULL);
    }
    if (strcmp(name, "sum") == 0 || strcmp(name, "norm") == 0) {
        if (!check_positional(E, e, 1, 1) || eval_args(E, s, e, args).kind == V_ERR)
            return value_error();
        if (!require_num(E, &args[0], e->loc, name))
            return value_error();
        if (name[0] == 's')
            return value_scalar(f_sum(E, &args[0]), e->loc);
        ir_op mul = IR_MUL;
        value pair[2] = {args[0], args[0]};
        value sq = map_elems(E, 2, pair, e->loc, name, f_binary, &mul);
        if (sq.kind == V_ERR)
            return sq;
        return value_scalar(ir_unary(E->g, IR_SQRT, f_sum(E, &sq)), e->loc);
    }
    if (strcmp(name, "dot") == 0) {
        if (!check_positional(E, e, 2, 2) || eval_args(E, s, e, args).kind == V_ERR)
            return value_error();
        if (args[0].ndim != 1 || args[1].ndim != 1) {
            mnet_error(E->ctx, e->loc, "dot() takes two vectors");
            return value_error();
        }
        ir_op mul = IR_MUL;
        value p = map_elems(E, 2, args, e->loc, name, f_binary, &mul);
        return p.kind == V_ERR ? p : value_scalar(f_sum(E, &p), e->loc);
    }
    if (strcmp(name, "der") == 0) {
        if (!check_positional(E, e, 1, 1))
            return value_error();
        const ast_expr *x = e->args->value;
        if (!E->ders) {
            mnet_error(E->ctx, e->loc, "der(...) is only available inside an update block");
            return value_error();
        }
        if (x->kind != EX_ID) {
            mnet_error(E->ctx, x->loc, "der() takes the name of a state");
            return value_error();
        }
        for (int i = 0; i < E->ders->n; i++)
            if (strcmp(E->ders->names[i], x->name) == 0)
                return value_scalar(E->ders->values[i], e->loc);
        mnet_error(E->ctx, x->loc, "'%s' is not a state with a 'der' equation", x->name);
        return value_error();
    }
    const mnet_def *d = E->prog ? program_find(E->prog, name) : NULL;
    if (d && d->kind == DEF_FN)
        return call_user_fn(E, s, e, d->stmt);
    if (d) {
        mnet_error(E->ctx, e->loc, "'%s' is a %s, not a function", name, def_kind_name(d->kind));
        return value_error();
    }
    mnet_error(E->ctx, e->loc, "unknown function '%s'", name);
    return value_error();
}

/* ---- expressions ------------------------------------------------------- */

/* The value of constant `def` (used at `use`): evaluated once per graph, in
 * no scope and outside any update block, so it is the same everywhere. */
/* Room for one more constant in the table; 0 when out of memory. */
static int grow_consts(eval_env *E)
{
    eval_memo *t = E->consts;
    if (t->bucket && t->n < t->n_buckets)
        return 1;
    size_t cap = t->bucket ? 2 * t->n_buckets : MEMO_MIN_BUCKETS;
    const_memo **b = arena_alloc(E->arena, cap * sizeof *b);
    if (!b)
        return 0;
    for (size_t i = 0; i < t->n_buckets; i++)
        for (const_memo *m = t->bucket[i], *next; m; m = next) {
            next = m->next;
            size_t k = mix_hash((size_t)m->def) & (cap - 1);
            m->next = b[k];
            b[k] = m;
        }
    t->bucket = b;
    t->n_buckets = cap;
    return 1;
}

static value const_value(eval_env *E, const ast_expr *use, const ast_arg *def)
{
    if (!E->consts)
        E->consts = arena_alloc(E->arena, sizeof *E->consts);
    if (!E->consts || !grow_consts(E)) {
        mnet_error(E->ctx, use->loc, "out of memory");
        return value_error();
    }
    const_memo **bucket = &E->consts->bucket[mix_hash((size_t)def) & (E->consts->n_buckets - 1)];
    const_memo *m = *bucket;
    while (m && m->def != def)
        m = m->next;
    if (m && m->busy) {
        mnet_error(E->ctx, use->loc, "constant '%s' is defined in terms of itself", def->name);
        mnet_note(E->ctx, def->loc, "definition of '%s'", def->name);
        return value_error();
    }
    if (m)
        return m->v; /* an error was reported when it was first evaluated */
    if (E->call_depth >= MAX_CALL_DEPTH) {
        mnet_error(E->ctx, use->loc, "definitions nested deeper than %d levels (through '%s')",
                   MAX_CALL_DEPTH, def->name);
        return value_error();
    }
    m = arena_alloc(E->arena, sizeof *m);
    if (!m) {
        mnet_error(E->ctx, use->loc, "out of memory");
        return value_error();
    }
    m->def = def;
    m->busy = 1;
    m->next = *bucket;
    *bucket = m;
    E->consts->n++;
    const der_table *ders = E->ders;
    E->ders = NULL;
    E->call_depth++;
    value v = eval_expr(E, NULL, def->value);
    E->call_depth--;
    E->ders = ders;
    if (v.kind == V_NUM && v.ndim == 0)
        v.v = NULL;
    m->v = v;
    m->busy = 0;
    return v;
}

static value eval_id(eval_env *E, scope *s, const ast_expr *e)
{
    scope *b = scope_find(s, e->name);
    if (b && b->kind == B_VALUE) {
        value v = b->val;
        if (v.ndim == 0)
            v.v = NULL;
        return v;
    }
    if (b && b->kind == B_LAZY) {
        if (b->memo_scope == s && b->memo.kind != V_ERR)
            return b->memo;
        if (b->busy) {
            mnet_error(E->ctx, e->loc, "'%s' is defined in terms of itself", e->name);
            mnet_note(E->ctx, b->loc, "definition of '%s'", e->name);
            return value_error();
        }
        if (E->call_depth >= MAX_CALL_DEPTH) {
            mnet_error(E->ctx, e->loc, "definitions nested deeper than %d levels (through '%s')",
                       MAX_CALL_DEPTH, e->name);
            return value_error();
        }
        b->busy = 1;
        E->call_depth++;
        value v = eval_expr(E, s, b->expr);
        E->call_depth--;
        b->busy = 0;
        b->memo_scope = s;
        b->memo = v;
        return v;
    }
    const mnet_def *d = E->prog ? program_find(E->prog, e->name) : NULL;
    if (d && d->kind == DEF_CONST && d->arg)
        return const_value(E, e, d->arg);
    if (d) {
        value v = value_error();
        v.kind = V_NAME;
        v.str = d->name;
        v.loc = e->loc;
        return v;
    }
    if (strcmp(e->name, "pi") == 0)
        return value_scalar(ir_const(E->g, M_PI), e->loc);
    mnet_error(E->ctx, e->loc, "unknown name '%s'", e->name);
    return value_error();
}

static value eval_vec(eval_env *E, scope *s, const ast_expr *e)
{
    int n = e->nargs, i = 0;
    if (n == 0) {
        mnet_error(E->ctx, e->loc, "empty vector");
        return value_error();
    }
    value *items = arena_alloc(E->arena, (size_t)n * sizeof *items);
    if (!items)
        return value_error();
    for (const ast_arg *a = e->args; a; a = a->next, i++) {
        if (a->name) {
            mnet_error(E->ctx, a->loc, "named entry '%s' inside a vector", a->name);
            return value_error();
        }
        items[i] = eval_expr(E, s, a->value);
        if (!require_num(E, &items[i], a->loc, "a vector entry"))
            return value_error();
        if (items[i].ndim != items[0].ndim || items[i].rows != items[0].rows) {
            char x[64], y[64];
            mnet_error(E->ctx, a->loc, "vector entries differ in shape: %s and %s",
                       value_shape(&items[0], x, sizeof x), value_shape(&items[i], y, sizeof y));
            return value_error();
        }
        if (items[i].ndim == 2) {
            mnet_error(E->ctx, a->loc, "arrays of more than two dimensions are not supported");
            return value_error();
        }
    }
    int cols = items[0].ndim == 0 ? 1 : items[0].rows;
    value out = items[0].ndim == 0 ? value_vector(E, n, e->loc) : value_matrix(E, n, cols, e->loc);
    if (out.kind == V_ERR)
        return out;
    for (i = 0; i < n; i++)
        for (int j = 0; j < cols; j++)
            out.v[i * cols + j] = elems(&items[i])[j];
    /* A vector of literals with one unit keeps it, for documentation checks. */
    out.dim = items[0].dim;
    for (i = 1; i < n; i++)
        if (items[i].dim != out.dim)
            out.dim = DIM_NONE;
    return out;
}

static value eval_index(eval_env *E, scope *s, const ast_expr *e)
{
    value base = eval_expr(E, s, e->a);
    if (!require_num(E, &base, e->loc, "indexing"))
        return value_error();
    double idx;
    if (!eval_const(E, s, e->b, "an index", &idx))
        return value_error();
    if (base.ndim == 0) {
        mnet_error(E->ctx, e->loc, "cannot index a scalar");
        return value_error();
    }
    if (idx != floor(idx) || idx < 0 || idx >= base.rows) {
        mnet_error(E->ctx, e->b->loc, "index %g out of range 0..%d", idx, base.rows - 1);
        return value_error();
    }
    int i = (int)idx;
    if (base.ndim == 1)
        return value_scalar(base.v[i], e->loc);
    value row = value_vector(E, base.cols, e->loc);
    if (row.kind != V_ERR)
        memcpy(row.v, base.v + (size_t)i * base.cols, (size_t)base.cols * sizeof(ir_id));
    return row;
}

static value eval_node(eval_env *E, scope *s, const ast_expr *e);

/* Evaluation recurses through expressions, calls and lets: each expression
 * is at most MNET_MAX_EXPR_DEPTH deep, but calls nest them, so the whole
 * depth is bounded too (the stack is finite, and smaller under sanitizers). */
value eval_expr(eval_env *E, scope *s, const ast_expr *e)
{
    if (!e)
        return value_error();
    if (E->depth >= MAX_EVAL_DEPTH) {
        if (!E->depth_reported)
            mnet_error(E->ctx, e->loc,
                       "expressions nested deeper than %d levels through function calls and lets",
                       MAX_EVAL_DEPTH);
        E->depth_reported = 1;
        return value_error();
    }
    E->depth++;
    value v = eval_node(E, s, e);
    if (--E->depth == 0)
        E->depth_reported = 0;
    return v;
}

static value eval_node(eval_env *E, scope *s, const ast_expr *e)
{
    if (++E->steps > MAX_EVAL_STEPS) {
        if (E->steps < LONG_MAX / 4) /* once: then every evaluation fails */
            mnet_error(E->ctx, e->loc,
                       "too much to evaluate (more than %ld steps): do definitions use each other "
                       "many times over?",
                       MAX_EVAL_STEPS);
        E->steps = LONG_MAX / 2;
        return value_error();
    }
    switch (e->kind) {
    case EX_NUM: {
        double factor = 1;
        unit_dim dim = DIM_NONE;
        if (e->unit && !unit_lookup(e->unit, &factor, &dim)) {
            mnet_error(E->ctx, e->unit_loc,
                       "unknown unit '%s' (known: rad deg s ms m cm mm kg g N Nm kgm2 mps Hz)",
                       e->unit);
            return value_error();
        }
        value v = value_scalar(ir_const(E->g, e->num * factor), e->loc);
        v.dim = dim;
        return v;
    }
    case EX_STR: {
        value v = value_error();
        v.kind = V_STR;
        v.str = e->str;
        v.loc = e->loc;
        return v;
    }
    case EX_ID:
        return eval_id(E, s, e);
    case EX_UNARY: {
        value x = eval_expr(E, s, e->a);
        ir_op op = e->op == OP_NEG ? IR_NEG : IR_NOT;
        value r = map_elems(E, 1, &x, e->loc, e->op == OP_NEG ? "negation" : "'not'", f_unary, &op);
        if (r.kind == V_NUM && e->op == OP_NEG)
            r.dim = x.dim;
        return r;
    }
    case EX_BINARY: {
        value xy[2] = {eval_expr(E, s, e->a), eval_expr(E, s, e->b)};
        if (xy[0].kind == V_ERR || xy[1].kind == V_ERR)
            return value_error();
        ir_op op = binary_ir_op(e->op);
        char what[32];
        snprintf(what, sizeof what, "'%s'", ast_op_text(e->op));
        if (op == IR_DIV && xy[1].kind == V_NUM) {
            /* a division the simplifier proves is by zero has no value and
             * no derivative anywhere: refuse it where it is written */
            const ir_id *d = xy[1].ndim == 0 ? &xy[1].scalar : xy[1].v;
            for (int k = 0; k < value_count(&xy[1]); k++) {
                const ir_node *n = ir_get(E->g, d[k]);
                if (n && n->op == IR_CONST && n->value == 0) {
                    char text[160] = "";
                    FILE *mem = fmemopen(text, sizeof text - 1, "w");
                    if (mem) {
                        ast_expr_print(mem, e->b);
                        fclose(mem);
                    }
                    mnet_error(E->ctx, e->loc, "division by zero: the divisor '%s' simplifies to 0", text);
                    return value_error();
                }
            }
        }
        return map_elems(E, 2, xy, e->loc, what, f_binary, &op);
    }
    case EX_IF: {
        value cte[3] = {eval_expr(E, s, e->a), eval_expr(E, s, e->b), eval_expr(E, s, e->c)};
        if (cte[0].kind == V_ERR || cte[1].kind == V_ERR || cte[2].kind == V_ERR)
            return value_error();
        return map_elems(E, 3, cte, e->loc, "'if'", f_select, NULL);
    }
    case EX_CALL:
        return eval_call(E, s, e);
    case EX_VEC:
        return eval_vec(E, s, e);
    case EX_INDEX:
        return eval_index(E, s, e);
    case EX_MEMBER:
        mnet_error(E->ctx, e->loc, "'.%s': member access is not allowed in this expression", e->name);
        return value_error();
    }
    return value_error();
}

ir_id eval_scalar(eval_env *E, scope *s, const ast_expr *e, const char *what)
{
    value v = eval_expr(E, s, e);
    if (v.kind == V_ERR)
        return -1;
    if (v.kind != V_NUM || v.ndim != 0) {
        char buf[64];
        mnet_error(E->ctx, e->loc, "%s must be a scalar, got %s", what, value_shape(&v, buf, sizeof buf));
        return -1;
    }
    return v.scalar;
}

int eval_const(eval_env *E, scope *s, const ast_expr *e, const char *what, double *out)
{
    ir_id id = eval_scalar(E, s, e, what);
    if (id < 0)
        return 0;
    const ir_node *n = ir_get(E->g, id);
    if (n->op != IR_CONST) {
        mnet_error(E->ctx, e->loc, "%s must be a constant known at compile time", what);
        return 0;
    }
    *out = n->value;
    return 1;
}

/* ---- checking a function without calling it ------------------------------ */

/* Arguments a built-in takes, or -1 for a name that is not one. */
static int builtin_arity(const char *name)
{
    for (size_t i = 0; i < sizeof unary_builtins / sizeof unary_builtins[0]; i++)
        if (strcmp(name, unary_builtins[i].name) == 0)
            return 1;
    static const struct {
        const char *name;
        int arity;
    } others[] = {{"min", 2}, {"max", 2}, {"clamp", 3}, {"sum", 1}, {"norm", 1}, {"dot", 2}, {"der", 1}};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (strcmp(name, others[i].name) == 0)
            return others[i].arity;
    return -1;
}

typedef struct {
    eval_env *E;
    const ast_stmt *fn;     /* the function checked                    */
    const char **names;     /* (n) parameters and the lets made so far */
    int n;
} fn_names;

static int is_local(const fn_names *L, const char *name)
{
    for (int i = 0; i < L->n; i++)
        if (strcmp(L->names[i], name) == 0)
            return 1;
    return 0;
}

/* Reports what evaluating e in the function would report whatever the
 * arguments: unknown names and functions, wrong argument counts. */
static void check_names(fn_names *L, const ast_expr *e)
{
    eval_env *E = L->E;
    if (!e)
        return;
    if (e->kind == EX_ID) {
        if (!is_local(L, e->name) && !program_find(E->prog, e->name) && strcmp(e->name, "pi") != 0)
            mnet_error(E->ctx, e->loc, "unknown name '%s'", e->name);
        return;
    }
    if (e->kind == EX_MEMBER) {
        mnet_error(E->ctx, e->loc, "'.%s': member access is not allowed in this expression", e->name);
        return;
    }
    if (e->kind == EX_CALL) {
        int arity = builtin_arity(e->name);
        const mnet_def *d = arity < 0 ? program_find(E->prog, e->name) : NULL;
        if (arity >= 0) {
            check_positional(E, e, arity, arity);
            if (strcmp(e->name, "der") == 0)
                return; /* a state of the update block it is used in */
        } else if (d && d->kind == DEF_FN) {
            const ast_stmt *fn = d->stmt;
            if (fn == L->fn) {
                mnet_error(E->ctx, e->loc, "recursive call of '%s' (functions cannot call themselves)",
                           e->name);
                mnet_note(E->ctx, fn->loc, "'%s' is defined here", fn->head);
            } else if (e->nargs != fn->nargs) {
                mnet_error(E->ctx, e->loc, "%s() takes %d argument%s, got %d", e->name, fn->nargs,
                           fn->nargs == 1 ? "" : "s", e->nargs);
                mnet_note(E->ctx, fn->loc, "'%s' is defined here", fn->head);
            }
            for (const ast_arg *a = e->args; a; a = a->next) {
                const ast_arg *q = fn->args;
                while (a->name && q && strcmp(q->name, a->name) != 0)
                    q = q->next;
                if (a->name && !q)
                    mnet_error(E->ctx, a->loc, "%s() has no parameter '%s'", e->name, a->name);
            }
        } else if (d) {
            mnet_error(E->ctx, e->loc, "'%s' is a %s, not a function", e->name, def_kind_name(d->kind));
        } else {
            mnet_error(E->ctx, e->loc, "unknown function '%s'", e->name);
        }
    }
    check_names(L, e->a);
    check_names(L, e->b);
    check_names(L, e->c);
    for (const ast_arg *a = e->args; a; a = a->next)
        check_names(L, a->value);
}

int eval_check_fn(mnet_ctx *ctx, const mnet_program *prog, const ast_stmt *fn)
{
    int before = ctx->n_errors;
    eval_env E;
    memset(&E, 0, sizeof E);
    E.ctx = ctx;
    E.prog = prog;
    int cap = fn->nargs + 1;
    for (const ast_stmt *st = fn->body; st; st = st->next)
        cap += st->nargs;
    fn_names L = {&E, fn, malloc((size_t)cap * sizeof(char *)), 0};
    if (!L.names) {
        mnet_error(ctx, fn->loc, "out of memory");
        return 1;
    }
    for (const ast_arg *p = fn->args; p; p = p->next) {
        for (const ast_arg *q = fn->args; q != p; q = q->next)
            if (strcmp(q->name, p->name) == 0)
                mnet_error(ctx, p->loc, "parameter '%s' of '%s' is named twice", p->name, fn->head);
        L.names[L.n++] = p->name;
    }
    if (!fn->has_body) {
        check_names(&L, fn->value);
    } else {
        int returned = 0;
        for (const ast_stmt *st = fn->body; st && !returned; st = st->next) {
            if (st->kind == ST_SETTING && !strcmp(st->head, "let") && !st->has_body) {
                for (const ast_arg *a = st->args; a; a = a->next) {
                    if (!a->name || !a->value) {
                        mnet_error(ctx, a->loc, "let expects 'name = expr'");
                        continue;
                    }
                    check_names(&L, a->value);
                    L.names[L.n++] = a->name;
                }
            } else if (st->kind == ST_SETTING && !strcmp(st->head, "return") && !st->has_body) {
                if (st->nargs != 1 || st->args->name)
                    mnet_error(ctx, st->loc, "return expects one expression");
                else
                    check_names(&L, st->args->value);
                if (st->next)
                    mnet_error(ctx, st->next->loc, "statement after return in '%s'", fn->head);
                returned = 1;
            } else {
                mnet_error(ctx, st->loc,
                           "a function body holds 'let name = expr;' and ends with 'return expr;'");
            }
        }
        if (!returned)
            mnet_error(ctx, fn->loc, "function '%s' has no return statement", fn->head);
    }
    free(L.names);
    return ctx->n_errors - before;
}
