/* ir.h - the expression graph: a hash-consed DAG of scalar operations.
 *
 * Every quantity of a compiled model (one integration step, the initial-state
 * map, observation, loss) is a set of output nodes in one graph.  Nodes are
 * immutable and identified by a dense integer id; building the same operation
 * on the same operands twice returns the same id (hash-consing), so common
 * subexpressions are shared by construction.  The builders fold constants and
 * apply the algebraic identities listed in docs/compiler.md while building, so
 * a graph is always in simplified form.
 *
 * Leaves:
 *   IR_CONST  a double constant
 *   IR_VAR    row `row` of run-time array argument `arg` (one value per batch
 *             element; e.g. arg 0 = state, arg 1 = action)
 *   IR_PARAM  entry `index` of the model's parameter table (shared by the
 *             whole batch; run-time data, so changing it needs no recompile)
 *
 * Reverse mode (ir_vjp) builds the vector-Jacobian product in the same graph.
 * Conventions at non-smooth points follow the reference (golden/README.md):
 *   clamp(x, lo, hi)  gradient passes to x when lo <= x <= hi (inclusive)
 *   min/max(x, y)     x == y splits the gradient half and half
 *   select(c, a, b)   gradient goes to the chosen branch only; none to c
 *   comparisons, and/or/not: zero gradient
 */
#ifndef MNET_IR_H
#define MNET_IR_H

#include <stdio.h>

typedef int ir_id; /* node index; -1 = none */

typedef enum {
    IR_CONST,   /* value                         */
    IR_VAR,     /* arg, row                      */
    IR_PARAM,   /* index                         */
    IR_NEG,     /* -a                            */
    IR_ADD,     /* a + b                         */
    IR_SUB,     /* a - b                         */
    IR_MUL,     /* a * b                         */
    IR_DIV,     /* a / b                         */
    IR_POW,     /* a ^ b  (real exponent)        */
    IR_EXP, IR_LOG, IR_SQRT, IR_SIN, IR_COS, IR_TANH, IR_SIGMOID, IR_ABS,
    IR_MIN,     /* min(a, b)                     */
    IR_MAX,     /* max(a, b)                     */
    IR_CLAMP,   /* clamp(a, b=lo, c=hi)          */
    IR_LT, IR_LE, IR_GT, IR_GE, IR_EQ, IR_NE, /* 1.0 or 0.0        */
    IR_AND, IR_OR, IR_NOT,                    /* on 0/1 values     */
    IR_SELECT,  /* a != 0 ? b : c                */
    IR_NOPS
} ir_op;

typedef struct {
    ir_op op;
    ir_id a, b, c;  /* operands, -1 when unused       */
    double value;   /* IR_CONST                       */
    int arg, row;   /* IR_VAR: argument and row; IR_PARAM: row = index */
} ir_node;

typedef struct ir_graph ir_graph;

ir_graph *ir_new(void);
void ir_free(ir_graph *g);
int ir_count(const ir_graph *g);                 /* number of nodes */
const ir_node *ir_get(const ir_graph *g, ir_id id);
const char *ir_op_name(ir_op op);
/* Added: operand count of an op (0 for leaves, 1..3), -1 for a bad op. */
int ir_op_arity(ir_op op);
/* Added: the evaluation rule of one op on doubles, shared by constant folding
 * and ir_eval so the two can never disagree.  Unused operands are ignored.
 *   min(a, b) = (a < b || a != a) ? a : b     NaN in either operand -> NaN
 *   max(a, b) = (a > b || a != a) ? a : b
 *   clamp(x, lo, hi) = x < lo ? lo : x > hi ? hi : x   (lo <= hi assumed)
 *   sigmoid(x) = 1 / (1 + exp(-x)); comparisons and logic give 1.0 or 0.0,
 *   logic reads "true" as != 0; select(c, a, b) = c != 0 ? a : b. */
double ir_eval_op(ir_op op, double a, double b, double c);

/* Builders: fold and simplify, then hash-cons.
 * (Added:) A builder returns -1 on allocation failure, on an operand id that
 * is not a node of g, or on an op of the wrong arity; any builder given a -1
 * operand returns -1, so a failure propagates to the final result and can be
 * checked once.  The pointer ir_get returns is valid until the next build. */
ir_id ir_const(ir_graph *g, double v);
ir_id ir_var(ir_graph *g, int arg, int row);
ir_id ir_param(ir_graph *g, int index);
ir_id ir_unary(ir_graph *g, ir_op op, ir_id a);
ir_id ir_binary(ir_graph *g, ir_op op, ir_id a, ir_id b);
ir_id ir_clamp(ir_graph *g, ir_id x, ir_id lo, ir_id hi);
ir_id ir_select(ir_graph *g, ir_id cond, ir_id a, ir_id b);
/* a ^ n for integer n, as products (repeated squaring) */
ir_id ir_powi(ir_graph *g, ir_id a, int n);

/* Convenience */
ir_id ir_add(ir_graph *g, ir_id a, ir_id b);
ir_id ir_sub(ir_graph *g, ir_id a, ir_id b);
ir_id ir_mul(ir_graph *g, ir_id a, ir_id b);
ir_id ir_div(ir_graph *g, ir_id a, ir_id b);
ir_id ir_neg(ir_graph *g, ir_id a);

/* A human name and source line for a node, used by the C emitter for
 * temporaries and comments.  The first name given to a node wins. */
void ir_set_name(ir_graph *g, ir_id id, const char *name, int line);
/* Added: the name (NULL when none) and line (0 when none) of a node. */
const char *ir_name(const ir_graph *g, ir_id id);

/* The identifier both emitters give a non-leaf node: `t<id>`, or the node's
 * ir_set_name name made an identifier (other characters become '_', a
 * leading non-letter gets a 'v' before it) with `_<id>` after it.  Ids make
 * both unique and distinct from each other (`t5` has no underscore), so the
 * .ll reads beside the .c.  buf holds IR_TEMP_NAME_MAX bytes. */
enum { IR_TEMP_NAME_MAX = 64 };
void ir_temp_name(const ir_graph *g, ir_id id, char *buf);
int ir_line(const ir_graph *g, ir_id id);

/* Reverse mode.  Given outputs outs[k] with cotangents seeds[k] (nodes of the
 * same graph, usually IR_VARs of a cotangent argument), build into g the
 * nodes of d(sum_k seeds[k]*outs[k]) / d wrt[j] for each j, stored in
 * grads[j] (the constant 0 node when independent).  wrt may be any nodes,
 * typically IR_VARs.  Returns 0, or -1 on allocation failure. */
int ir_vjp(ir_graph *g, int n_out, const ir_id *outs, const ir_id *seeds,
           int n_wrt, const ir_id *wrt, ir_id *grads);

/* Nodes reachable from the given roots (sizing for --stats). */
int ir_count_reachable(const ir_graph *g, int n_roots, const ir_id *roots);
/* Added: mark[id] = 1 for every node reachable from the roots, else 0;
 * mark has ir_count(g) entries.  Returns the number marked.  O(nodes). */
int ir_mark_reachable(const ir_graph *g, int n_roots, const ir_id *roots,
                      unsigned char *mark);

/* A function of the batched model interface: outputs are (arg, row) slots of
 * output arrays, each computed from one node. */
typedef struct {
    int arg, row;
    ir_id node;
} ir_output;

typedef struct {
    const char *name;            /* C function name                     */
    int n_in_args, n_out_args;   /* arrays read and written             */
    int n_outputs;
    const ir_output *outputs;
} ir_function;

/* Interpreter: evaluate a function for n batch elements.  in[a] points to
 * array a, laid out (rows x ld): element (row, b) at in[a][row*ld + b].
 * out likewise.  params: the parameter table. */
void ir_eval(const ir_graph *g, const ir_function *f, int n, int ld,
             const double *const *in, double *const *out, const double *params);

/* C emitter.  Writes
 *   void NAME(int n, int ld, const real *const *in, real *const *out,
 *             const real *params)
 * with a batch loop `for (int b = 0; b < n; b++)` innermost-friendly (the
 * whole body inside one loop over b), every intermediate a named local.
 * `real` is a typedef the caller emits (float or double); math calls use the
 * matching precision (expf/exp).  Returns 0, or -1 on write error. */
int ir_emit_c(FILE *out, const ir_graph *g, const ir_function *f, int single_precision);

#endif
