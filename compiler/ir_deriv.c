/* ir_deriv.c - reverse mode: the vector-Jacobian product built into the graph.
 *
 * Node ids are a topological order (operands are built before users), so one
 * sweep from the highest forward id down to 0 visits every node after all of
 * its users: when a node is reached its adjoint is complete, and it pushes a
 * contribution to each operand.  Adjoints are accumulated by addition of new
 * nodes that reuse the forward nodes (y = exp(x) gives x the contribution
 * g*y, not g*exp(x)), so the backward graph is a constant factor of the
 * forward one: no expression swell.
 *
 * Two prunings keep it small: a contribution is built only for an operand
 * whose cone contains a wrt node (need[] below: constants, parameters that
 * are not asked for, etc. get nothing), and a contribution that simplifies to
 * the constant 0 is dropped.
 *
 * Conventions at non-smooth points follow the PyTorch reference and are
 * written next to each rule below; docs/compiler.md lists them too. */
#include "ir.h"

#include <stdlib.h>

typedef struct {
    ir_graph *g;
    ir_id *adj;          /* (nfwd) adjoint of each forward node, -1 = zero so far */
    unsigned char *need; /* (nfwd) 1 when some wrt node is the node or below it   */
    int failed;          /* a builder returned -1                                 */
} vjp_state;

static int is_zero(const ir_graph *g, ir_id id)
{
    const ir_node *n = ir_get(g, id);
    return n->op == IR_CONST && n->value == 0;
}

/* adj[target] += contrib */
static void accumulate(vjp_state *s, ir_id target, ir_id contrib)
{
    if (contrib < 0) {
        s->failed = 1;
        return;
    }
    if (is_zero(s->g, contrib))
        return;
    ir_id sum = s->adj[target] < 0 ? contrib : ir_add(s->g, s->adj[target], contrib);
    if (sum < 0)
        s->failed = 1;
    else
        s->adj[target] = sum;
}

/* adj[target] -= contrib, without a separate negation node when possible */
static void accumulate_neg(vjp_state *s, ir_id target, ir_id contrib)
{
    if (contrib < 0) {
        s->failed = 1;
        return;
    }
    if (is_zero(s->g, contrib))
        return;
    ir_id sum = s->adj[target] < 0 ? ir_neg(s->g, contrib)
                                   : ir_sub(s->g, s->adj[target], contrib);
    if (sum < 0)
        s->failed = 1;
    else
        s->adj[target] = sum;
}

/* Push the adjoint ga of node id (y = op(a, b, c)) to its operands. */
static void backprop_node(vjp_state *s, ir_id id, ir_id ga)
{
    ir_graph *g = s->g;
    const ir_node n = *ir_get(g, id); /* a copy: building may move the nodes */
    const ir_id y = id, a = n.a, b = n.b, c = n.c;
    const int need_a = a >= 0 && s->need[a];
    const int need_b = b >= 0 && s->need[b];
    const int need_c = c >= 0 && s->need[c];

    switch (n.op) {
    case IR_CONST:
    case IR_VAR:
    case IR_PARAM:
    case IR_NOPS:
        break;

    case IR_NEG: /* d(-a) = -da */
        if (need_a)
            accumulate_neg(s, a, ga);
        break;

    case IR_ADD: /* d(a + b) = da + db */
        if (need_a)
            accumulate(s, a, ga);
        if (need_b)
            accumulate(s, b, ga);
        break;

    case IR_SUB: /* d(a - b) = da - db */
        if (need_a)
            accumulate(s, a, ga);
        if (need_b)
            accumulate_neg(s, b, ga);
        break;

    case IR_MUL: /* d(a b) = b da + a db */
        if (need_a)
            accumulate(s, a, ir_mul(g, ga, b));
        if (need_b)
            accumulate(s, b, ir_mul(g, ga, a));
        break;

    case IR_DIV: { /* y = a/b: da/b - y db/b; q = g/b is shared */
        ir_id q = ir_div(g, ga, b);
        if (need_a)
            accumulate(s, a, q);
        if (need_b)
            accumulate_neg(s, b, ir_mul(g, q, y));
        break;
    }

    case IR_POW: /* y = a^b: b a^(b-1) da + y log(a) db */
        if (need_a) {
            ir_id am1 = ir_binary(g, IR_POW, a, ir_sub(g, b, ir_const(g, 1)));
            accumulate(s, a, ir_mul(g, ga, ir_mul(g, b, am1)));
        }
        if (need_b) /* never for a constant b: need[] is 0 for constants */
            accumulate(s, b, ir_mul(g, ga, ir_mul(g, y, ir_unary(g, IR_LOG, a))));
        break;

    case IR_EXP: /* d exp(a) = y da */
        if (need_a)
            accumulate(s, a, ir_mul(g, ga, y));
        break;

    case IR_LOG: /* d log(a) = da / a */
        if (need_a)
            accumulate(s, a, ir_div(g, ga, a));
        break;

    case IR_SQRT: /* d sqrt(a) = 0.5/sqrt(a) da = (0.5/y) da */
        if (need_a)
            accumulate(s, a, ir_mul(g, ga, ir_div(g, ir_const(g, 0.5), y)));
        break;

    case IR_SIN: /* d sin(a) = cos(a) da */
        if (need_a)
            accumulate(s, a, ir_mul(g, ga, ir_unary(g, IR_COS, a)));
        break;

    case IR_COS: /* d cos(a) = -sin(a) da */
        if (need_a)
            accumulate_neg(s, a, ir_mul(g, ga, ir_unary(g, IR_SIN, a)));
        break;

    case IR_TANH: { /* d tanh(a) = (1 - y^2) da */
        if (need_a) {
            ir_id one = ir_const(g, 1);
            accumulate(s, a, ir_mul(g, ga, ir_sub(g, one, ir_mul(g, y, y))));
        }
        break;
    }

    case IR_SIGMOID: { /* d sigmoid(a) = y (1 - y) da */
        if (need_a) {
            ir_id one = ir_const(g, 1);
            accumulate(s, a, ir_mul(g, ga, ir_mul(g, y, ir_sub(g, one, y))));
        }
        break;
    }

    case IR_ABS: { /* d|a| = sign(a) da, sign(0) = 0: (a > 0) - (a < 0) */
        if (need_a) {
            ir_id zero = ir_const(g, 0);
            ir_id sign = ir_sub(g, ir_binary(g, IR_GT, a, zero), ir_binary(g, IR_LT, a, zero));
            accumulate(s, a, ir_mul(g, ga, sign));
        }
        break;
    }

    case IR_MIN:   /* min(a, b): all to the smaller; a tie a == b gives each half */
    case IR_MAX: { /* max(a, b): all to the larger; a tie gives each half       */
        ir_id zero = ir_const(g, 0);
        ir_id half = ir_select(g, ir_binary(g, IR_EQ, a, b),
                               ir_mul(g, ir_const(g, 0.5), ga), zero);
        /* a wins min when a < b, max when b < a; both as LT nodes so min and
         * max of the same pair share them */
        if (need_a) {
            ir_id a_wins = n.op == IR_MIN ? ir_binary(g, IR_LT, a, b) : ir_binary(g, IR_LT, b, a);
            accumulate(s, a, ir_select(g, a_wins, ga, half));
        }
        if (need_b) {
            ir_id b_wins = n.op == IR_MIN ? ir_binary(g, IR_LT, b, a) : ir_binary(g, IR_LT, a, b);
            accumulate(s, b, ir_select(g, b_wins, ga, half));
        }
        break;
    }

    case IR_CLAMP: { /* clamp(x=a, lo=b, hi=c): x gets the gradient iff
                      * lo <= x <= hi (inclusive), lo iff x < lo, hi iff x > hi */
        ir_id zero = ir_const(g, 0);
        if (need_a) {
            ir_id inside = ir_binary(g, IR_AND, ir_binary(g, IR_LE, b, a),
                                     ir_binary(g, IR_LE, a, c));
            accumulate(s, a, ir_select(g, inside, ga, zero));
        }
        if (need_b)
            accumulate(s, b, ir_select(g, ir_binary(g, IR_LT, a, b), ga, zero));
        if (need_c)
            accumulate(s, c, ir_select(g, ir_binary(g, IR_GT, a, c), ga, zero));
        break;
    }

    case IR_LT: /* comparisons and logic are piecewise constant: zero gradient */
    case IR_LE:
    case IR_GT:
    case IR_GE:
    case IR_EQ:
    case IR_NE:
    case IR_AND:
    case IR_OR:
    case IR_NOT:
        break;

    case IR_SELECT: { /* select(c=a, x=b, y=c): the chosen branch gets it all, c none */
        ir_id zero = ir_const(g, 0);
        if (need_b)
            accumulate(s, b, ir_select(g, a, ga, zero));
        if (need_c)
            accumulate(s, c, ir_select(g, a, zero, ga));
        break;
    }
    }
}

int ir_vjp(ir_graph *g, int n_out, const ir_id *outs, const ir_id *seeds,
           int n_wrt, const ir_id *wrt, ir_id *grads)
{
    const int nfwd = ir_count(g); /* nodes built from here on are backward nodes */
    for (int j = 0; j < n_wrt; j++)
        grads[j] = -1;
    for (int k = 0; k < n_out; k++)
        if (outs[k] < 0 || outs[k] >= nfwd || seeds[k] < 0 || seeds[k] >= nfwd)
            return -1;
    for (int j = 0; j < n_wrt; j++)
        if (wrt[j] < 0 || wrt[j] >= nfwd)
            return -1;

    vjp_state s = {.g = g, .failed = 0};
    s.adj = malloc(sizeof(*s.adj) * ((size_t)nfwd + 1));
    s.need = calloc((size_t)nfwd + 1, 1);
    if (!s.adj || !s.need) {
        free(s.adj);
        free(s.need);
        return -1;
    }
    for (int id = 0; id < nfwd; id++)
        s.adj[id] = -1;

    /* need: a wrt node is this node or in its cone (forward sweep) */
    for (int j = 0; j < n_wrt; j++)
        s.need[wrt[j]] = 1;
    for (int id = 0; id < nfwd; id++) {
        const ir_node *n = ir_get(g, id);
        if ((n->a >= 0 && s.need[n->a]) || (n->b >= 0 && s.need[n->b]) ||
            (n->c >= 0 && s.need[n->c]))
            s.need[id] = 1;
    }

    /* seed: adj[outs[k]] += seeds[k] */
    for (int k = 0; k < n_out; k++)
        if (s.need[outs[k]])
            accumulate(&s, outs[k], seeds[k]);

    /* reverse sweep: every user of a node has a higher id */
    for (int id = nfwd - 1; id >= 0 && !s.failed; id--) {
        ir_id ga = s.adj[id];
        if (ga < 0 || is_zero(g, ga))
            continue;
        backprop_node(&s, id, ga);
    }

    if (!s.failed) {
        ir_id zero = ir_const(g, 0);
        if (zero < 0)
            s.failed = 1;
        for (int j = 0; j < n_wrt; j++)
            grads[j] = s.adj[wrt[j]] >= 0 ? s.adj[wrt[j]] : zero;
    }
    free(s.adj);
    free(s.need);
    if (s.failed) {
        for (int j = 0; j < n_wrt; j++)
            grads[j] = -1;
        return -1;
    }
    return 0;
}
