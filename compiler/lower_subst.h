/* lower_subst.h - symbolic placeholders and their substitution.
 *
 * The skeleton's equations of motion and each muscle's geometry are derived
 * once, symbolically, in terms of placeholder leaves (IR_VAR of the argument
 * SYM_ARG): q, qd, torques, end-point forces.  Each integration stage then
 * instantiates them by substituting the stage's nodes for the placeholders,
 * so derivatives (Jacobians, moment arms, Christoffel terms) are taken once.
 */
#ifndef MNET_LOWER_SUBST_H
#define MNET_LOWER_SUBST_H

#include "ir.h"

enum { SYM_ARG = 1000 };

typedef struct {
    ir_graph *g;
    int n_sym;             /* placeholders SYM_ARG rows 0..n_sym-1       */
    const ir_id *repl;     /* (n_sym) their replacements                 */
    ir_id *memo;           /* (memo_n) node -> substituted node, or -1   */
    int memo_n;
} ir_subst;

/* Prepares a substitution; returns 0 on allocation failure. */
int subst_begin(ir_subst *s, ir_graph *g, int n_sym, const ir_id *repl);
ir_id subst_apply(ir_subst *s, ir_id root);
void subst_end(ir_subst *s);

#endif
