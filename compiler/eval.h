/* eval.h - symbolic evaluation of .mnet expressions into the expression graph.
 *
 * Every number the user writes becomes an ir node; parameters become
 * IR_PARAM leaves and states IR_VAR leaves, bound by the lowering passes.
 * Values have a shape (scalar, vector, matrix) checked at every operation,
 * so a shape error is reported where the user wrote it.
 */
#ifndef MNET_EVAL_H
#define MNET_EVAL_H

#include "ast.h"
#include "diag.h"
#include "ir.h"

typedef enum {
    V_ERR,      /* evaluation failed (already reported)             */
    V_NUM,      /* scalar (ndim 0), vector (ndim 1), matrix (ndim 2) */
    V_STR,      /* "text"                                           */
    V_NAME,     /* a bare name standing for an entity or a keyword  */
} value_kind;

/* Physical dimensions of units, for documentation checks. */
typedef enum {
    DIM_NONE, DIM_ANGLE, DIM_TIME, DIM_LENGTH, DIM_MASS, DIM_FORCE, DIM_TORQUE,
    DIM_INERTIA, DIM_VELOCITY, DIM_FREQUENCY, DIM_COUNT_
} unit_dim;

typedef struct {
    value_kind kind;
    int ndim, rows, cols;   /* scalar: 0,1,1; vector: 1,n,1; matrix: 2,r,c */
    ir_id *v;               /* rows*cols nodes, row-major                 */
    ir_id scalar;           /* storage for scalars (v points here)        */
    const char *str;        /* V_STR text, V_NAME name                    */
    unit_dim dim;           /* dimension of a literal with a unit         */
    src_loc loc;
} value;

/* A scope is a chain of single bindings (immutable once linked). */
typedef enum {
    B_VALUE,    /* an evaluated value                                   */
    B_LAZY,     /* `let` at model level: evaluated where it is used     */
} binding_kind;

typedef struct scope scope;
struct scope {
    const scope *parent;
    const char *name;
    binding_kind kind;
    value val;                 /* B_VALUE                               */
    const ast_expr *expr;      /* B_LAZY                                */
    src_loc loc;
    /* lazy evaluation: guard against self-reference, memo per scope */
    int busy;
    const scope *memo_scope;
    value memo;
};

/* Derivatives available to `der(x)` inside update blocks. */
typedef struct {
    int n;
    const char *const *names;  /* (n) state rows                         */
    const ir_id *values;       /* (n) derivative nodes                   */
} der_table;

typedef struct mnet_program mnet_program;
typedef struct eval_frame eval_frame;
typedef struct eval_memo eval_memo;
typedef struct eval_calls eval_calls;

/* The fields after call_depth are eval.c's own; users zero-initialise them. */
typedef struct {
    mnet_ctx *ctx;
    ir_graph *g;
    mnet_arena *arena;          /* values and scopes of this lowering     */
    const mnet_program *prog;   /* user functions and constants           */
    const der_table *ders;      /* NULL outside update blocks             */
    int call_depth;
    const eval_frame *frames;   /* user functions being called, innermost */
    eval_memo *consts;          /* constants evaluated into g (memo)      */
    eval_calls *calls;          /* function results in g (memo)           */
    long steps;                 /* expressions evaluated, bounded         */
    int depth, depth_reported;  /* eval_expr nesting, bounded             */
} eval_env;

value eval_expr(eval_env *E, scope *s, const ast_expr *e);
/* Evaluates and requires a scalar; returns -1 (after reporting) otherwise. */
ir_id eval_scalar(eval_env *E, scope *s, const ast_expr *e, const char *what);
/* Evaluates to a compile-time constant scalar; returns 0 and reports if not. */
int eval_const(eval_env *E, scope *s, const ast_expr *e, const char *what, double *out);

/* Checks a function's body without calling it: names, functions and
 * argument counts (shapes and units are checked where it is called).
 * Returns the number of errors. */
int eval_check_fn(mnet_ctx *ctx, const mnet_program *prog, const ast_stmt *fn);

scope *scope_bind(eval_env *E, const scope *parent, const char *name, value v, src_loc loc);
scope *scope_bind_lazy(eval_env *E, const scope *parent, const char *name, const ast_expr *e);
scope *scope_find(const scope *s, const char *name);

value value_scalar(ir_id id, src_loc loc);
value value_error(void);
value value_vector(eval_env *E, int n, src_loc loc);  /* nodes to fill */
value value_matrix(eval_env *E, int rows, int cols, src_loc loc);
int value_count(const value *v);
const char *value_shape(const value *v, char *buf, size_t n);

/* Units: returns 1 and fills factor and dimension, 0 if unknown. */
int unit_lookup(const char *name, double *factor, unit_dim *dim);
const char *unit_dim_name(unit_dim d);
unit_dim unit_dim_of(const char *unit); /* DIM_NONE when unknown */

#endif
