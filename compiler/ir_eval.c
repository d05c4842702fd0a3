/* ir_eval.c - the reference interpreter of the expression graph.
 *
 * ir_eval_op is the one definition of what each op computes; constant
 * folding (ir_graph.c) calls it too, and the C emitter (ir_emit_c.c) prints
 * the same expressions.  ir_eval is slow but simple: the tests use it as the
 * reference for emitted code and, through finite differences, for ir_vjp. */
#include "ir.h"

#include <math.h>
#include <stdlib.h>

double ir_eval_op(ir_op op, double a, double b, double c)
{
    switch (op) {
    case IR_NEG: return -a;
    case IR_ADD: return a + b;
    case IR_SUB: return a - b;
    case IR_MUL: return a * b;
    case IR_DIV: return a / b;
    case IR_POW: return pow(a, b);
    case IR_EXP: return exp(a);
    case IR_LOG: return log(a);
    case IR_SQRT: return sqrt(a);
    case IR_SIN: return sin(a);
    case IR_COS: return cos(a);
    case IR_TANH: return tanh(a);
    case IR_SIGMOID: return 1 / (1 + exp(-a));
    case IR_ABS: return fabs(a);
    /* a != a is the NaN test: a NaN in either operand comes out. */
    case IR_MIN: return (a < b || a != a) ? a : b;
    case IR_MAX: return (a > b || a != a) ? a : b;
    case IR_CLAMP: return a < b ? b : a > c ? c : a;
    case IR_LT: return a < b;
    case IR_LE: return a <= b;
    case IR_GT: return a > b;
    case IR_GE: return a >= b;
    case IR_EQ: return a == b;
    case IR_NE: return a != b;
    case IR_AND: return a != 0 && b != 0;
    case IR_OR: return a != 0 || b != 0;
    case IR_NOT: return a == 0;
    case IR_SELECT: return a != 0 ? b : c;
    case IR_CONST:
    case IR_VAR:
    case IR_PARAM:
    case IR_NOPS:
        break;
    }
    return NAN;
}

/* On allocation failure the outputs are filled with NaN: the signature has no
 * error return, and NaN cannot be mistaken for a result. */
void ir_eval(const ir_graph *g, const ir_function *f, int n, int ld,
             const double *const *in, double *const *out, const double *params)
{
    int nnode = ir_count(g);
    ir_id *roots = malloc(sizeof(*roots) * ((size_t)f->n_outputs + 1));
    unsigned char *mark = malloc((size_t)nnode + 1);
    ir_id *order = malloc(sizeof(*order) * ((size_t)nnode + 1)); /* reachable ids, ascending */
    double *value = malloc(sizeof(*value) * ((size_t)nnode + 1)); /* (nnode) one batch element */
    if (!roots || !mark || !order || !value) {
        for (int k = 0; k < f->n_outputs; k++)
            for (int b = 0; b < n; b++)
                out[f->outputs[k].arg][f->outputs[k].row * ld + b] = NAN;
        goto done;
    }
    for (int k = 0; k < f->n_outputs; k++)
        roots[k] = f->outputs[k].node;
    ir_mark_reachable(g, f->n_outputs, roots, mark);
    int norder = 0;
    for (int id = 0; id < nnode; id++)
        if (mark[id])
            order[norder++] = id;

    for (int b = 0; b < n; b++) {
        for (int i = 0; i < norder; i++) {
            int id = order[i];
            const ir_node *nd = ir_get(g, id);
            switch (nd->op) {
            case IR_CONST: value[id] = nd->value; break;
            case IR_VAR: value[id] = in[nd->arg][nd->row * ld + b]; break;
            case IR_PARAM: value[id] = params[nd->row]; break;
            default:
                value[id] = ir_eval_op(nd->op, value[nd->a],
                                       nd->b >= 0 ? value[nd->b] : 0,
                                       nd->c >= 0 ? value[nd->c] : 0);
                break;
            }
        }
        for (int k = 0; k < f->n_outputs; k++) {
            const ir_output *o = &f->outputs[k];
            int valid = o->node >= 0 && o->node < nnode;
            out[o->arg][o->row * ld + b] = valid ? value[o->node] : NAN;
        }
    }
done:
    free(roots);
    free(mark);
    free(order);
    free(value);
}
