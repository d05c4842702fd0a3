/* test_ir_graph.c - hash-consing, constant folding and the simplifier of
 * compiler/ir_graph.c (identities listed in docs/compiler.md). */
#include "ir.h"
#include "test_support.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The value of node id at one point: x = in[0][0..], params. */
static double eval_at(const ir_graph *g, ir_id id, const double *x, const double *params)
{
    ir_output o = {0, 0, id};
    ir_function f = {"f", 1, 1, 1, &o};
    double y = 0;
    double *out[1] = {&y};
    const double *in[1] = {x};
    ir_eval(g, &f, 1, 1, in, out, params);
    return y;
}

static int is_const_value(const ir_graph *g, ir_id id, double v)
{
    const ir_node *n = ir_get(g, id);
    return n && n->op == IR_CONST && n->value == v;
}

static void test_leaves_hash_cons(void)
{
    ir_graph *g = ir_new();
    CU_ASSERT_FATAL(g != NULL);
    ir_id x = ir_var(g, 0, 3), x2 = ir_var(g, 0, 3), y = ir_var(g, 1, 3), z = ir_var(g, 0, 4);
    CU_ASSERT(x >= 0 && x == x2);
    CU_ASSERT(x != y && x != z && y != z);
    ir_id p = ir_param(g, 4);
    CU_ASSERT(p == ir_param(g, 4));
    CU_ASSERT(p != ir_param(g, 5));
    CU_ASSERT(ir_get(g, p)->op == IR_PARAM && ir_get(g, p)->row == 4);
    CU_ASSERT(ir_get(g, x)->op == IR_VAR && ir_get(g, x)->arg == 0 && ir_get(g, x)->row == 3);
    CU_ASSERT(ir_get(g, x)->a == -1 && ir_get(g, x)->b == -1 && ir_get(g, x)->c == -1);
    ir_id c = ir_const(g, 0.5);
    CU_ASSERT(c == ir_const(g, 0.5));
    CU_ASSERT(c != ir_const(g, 0.25));
    /* 0.0 and -0.0 are different constants (bitwise keys) */
    CU_ASSERT(ir_const(g, 0.0) != ir_const(g, -0.0));
    CU_ASSERT(ir_const(g, NAN) == ir_const(g, NAN));
    /* the same op on the same operands is one node */
    ir_id e1 = ir_unary(g, IR_EXP, x), e2 = ir_unary(g, IR_EXP, x);
    CU_ASSERT(e1 == e2);
    ir_id s1 = ir_sub(g, x, y), s2 = ir_sub(g, y, x);
    CU_ASSERT(s1 != s2); /* sub is not commutative */
    int n = ir_count(g);
    CU_ASSERT(ir_sub(g, x, y) == s1);
    CU_ASSERT(ir_count(g) == n);
    CU_ASSERT(ir_var(g, -1, 0) == -1 && ir_param(g, -1) == -1);
    ir_free(g);
}

static void test_commutative_order(void)
{
    ir_graph *g = ir_new();
    ir_id a = ir_var(g, 0, 0), b = ir_var(g, 0, 1);
    const ir_op comm[] = {IR_ADD, IR_MUL, IR_MIN, IR_MAX, IR_EQ, IR_NE, IR_AND, IR_OR};
    for (size_t i = 0; i < sizeof(comm) / sizeof(comm[0]); i++) {
        ir_id ab = ir_binary(g, comm[i], a, b), ba = ir_binary(g, comm[i], b, a);
        CU_ASSERT(ab >= 0 && ab == ba);
        CU_ASSERT(ir_get(g, ab)->a == a && ir_get(g, ab)->b == b); /* smaller id first */
    }
    const ir_op ordered[] = {IR_SUB, IR_DIV, IR_POW, IR_LT, IR_LE, IR_GT, IR_GE};
    for (size_t i = 0; i < sizeof(ordered) / sizeof(ordered[0]); i++)
        CU_ASSERT(ir_binary(g, ordered[i], a, b) != ir_binary(g, ordered[i], b, a));
    /* deeper: (x*y)+(y*x) is 2 products -> one product node */
    CU_ASSERT(ir_mul(g, a, b) == ir_mul(g, b, a));
    ir_free(g);
}

/* Every op with all-constant operands folds to the ir_eval_op value. */
static void test_constant_folding(void)
{
    ir_graph *g = ir_new();
    const double va = 0.7, vb = 1.9, vc = 0.4;
    ir_id a = ir_const(g, va), b = ir_const(g, vb), c = ir_const(g, vc);
    int nfolded = 0;
    for (int op = IR_NEG; op < IR_NOPS; op++) {
        ir_id r;
        switch (ir_op_arity((ir_op)op)) {
        case 1: r = ir_unary(g, (ir_op)op, a); break;
        case 2: r = ir_binary(g, (ir_op)op, a, b); break;
        default:
            r = op == IR_CLAMP ? ir_clamp(g, b, c, a) : ir_select(g, a, b, c);
            break;
        }
        const ir_node *n = ir_get(g, r);
        CU_ASSERT_FATAL(n != NULL);
        CU_ASSERT(n->op == IR_CONST);
        double want = op == IR_CLAMP ? ir_eval_op(IR_CLAMP, vb, vc, va)
                                     : ir_eval_op((ir_op)op, va, vb, vc);
        if (n->op == IR_CONST && memcmp(&n->value, &want, sizeof(want)) == 0)
            nfolded++;
        else
            fprintf(stderr, "fold %s: %.17g, want %.17g\n", ir_op_name((ir_op)op), n->value, want);
    }
    CU_ASSERT(nfolded == IR_NOPS - IR_NEG);
    /* spot checks of the semantics themselves */
    CU_ASSERT(is_const_value(g, ir_unary(g, IR_SIGMOID, ir_const(g, 0)), 0.5));
    CU_ASSERT(is_const_value(g, ir_binary(g, IR_LT, a, b), 1));
    CU_ASSERT(is_const_value(g, ir_binary(g, IR_GE, a, b), 0));
    CU_ASSERT(is_const_value(g, ir_binary(g, IR_AND, a, ir_const(g, 0)), 0));
    CU_ASSERT(is_const_value(g, ir_binary(g, IR_OR, a, ir_const(g, 0)), 1));
    CU_ASSERT(is_const_value(g, ir_unary(g, IR_NOT, ir_const(g, 0)), 1));
    CU_ASSERT(is_const_value(g, ir_clamp(g, ir_const(g, 5), c, a), va));
    CU_ASSERT(is_const_value(g, ir_clamp(g, ir_const(g, -5), c, a), vc));
    /* NaN propagates through min and max from either side */
    ir_id nan = ir_const(g, NAN);
    CU_ASSERT(isnan(ir_get(g, ir_binary(g, IR_MIN, nan, a))->value));
    CU_ASSERT(isnan(ir_get(g, ir_binary(g, IR_MIN, a, nan))->value));
    CU_ASSERT(isnan(ir_get(g, ir_binary(g, IR_MAX, nan, a))->value));
    CU_ASSERT(isnan(ir_get(g, ir_binary(g, IR_MAX, a, nan))->value));
    CU_ASSERT(isnan(ir_get(g, ir_clamp(g, nan, c, a))->value));
    ir_free(g);
}

static void test_identities(void)
{
    ir_graph *g = ir_new();
    ir_id x = ir_var(g, 0, 0), y = ir_var(g, 0, 1), c = ir_var(g, 0, 2);
    ir_id zero = ir_const(g, 0), nzero = ir_const(g, -0.0), one = ir_const(g, 1);
    ir_id mone = ir_const(g, -1);
    CU_ASSERT(ir_add(g, x, zero) == x);
    CU_ASSERT(ir_add(g, zero, x) == x);
    CU_ASSERT(ir_add(g, x, nzero) == x);
    CU_ASSERT(ir_sub(g, x, zero) == x);
    CU_ASSERT(ir_mul(g, x, one) == x);
    CU_ASSERT(ir_mul(g, one, x) == x);
    CU_ASSERT(ir_div(g, x, one) == x);
    ir_id nx = ir_sub(g, zero, x);
    CU_ASSERT(ir_get(g, nx)->op == IR_NEG && ir_get(g, nx)->a == x);
    CU_ASSERT(nx == ir_neg(g, x));
    CU_ASSERT(ir_neg(g, ir_neg(g, x)) == x);
    CU_ASSERT(is_const_value(g, ir_mul(g, x, zero), 0));
    CU_ASSERT(is_const_value(g, ir_mul(g, zero, x), 0));
    CU_ASSERT(is_const_value(g, ir_sub(g, x, x), 0));
    CU_ASSERT(ir_mul(g, x, mone) == nx);
    CU_ASSERT(ir_div(g, x, mone) == nx);
    /* negations fold into add/sub */
    CU_ASSERT(ir_add(g, x, ir_neg(g, y)) == ir_sub(g, x, y));
    CU_ASSERT(ir_add(g, ir_neg(g, x), y) == ir_sub(g, y, x));
    CU_ASSERT(ir_sub(g, x, ir_neg(g, y)) == ir_add(g, x, y));
    CU_ASSERT(is_const_value(g, ir_add(g, x, nx), 0));
    CU_ASSERT(ir_unary(g, IR_ABS, nx) == ir_unary(g, IR_ABS, x));
    CU_ASSERT(ir_unary(g, IR_ABS, ir_unary(g, IR_ABS, x)) == ir_unary(g, IR_ABS, x));
    /* select */
    CU_ASSERT(ir_select(g, one, x, y) == x);
    CU_ASSERT(ir_select(g, zero, x, y) == y);
    CU_ASSERT(ir_select(g, ir_const(g, NAN), x, y) == x); /* NaN != 0 is true */
    CU_ASSERT(ir_select(g, c, x, x) == x);
    CU_ASSERT(ir_select(g, ir_unary(g, IR_NOT, c), x, y) == ir_select(g, c, y, x));
    /* min, max, clamp with identical operands */
    CU_ASSERT(ir_binary(g, IR_MIN, x, x) == x);
    CU_ASSERT(ir_binary(g, IR_MAX, x, x) == x);
    CU_ASSERT(ir_clamp(g, x, x, x) == x);
    ir_id cl = ir_clamp(g, x, y, y); /* kept: x gets the gradient at x == y */
    CU_ASSERT(ir_get(g, cl)->op == IR_CLAMP);
    /* things that must not simplify */
    CU_ASSERT(ir_get(g, ir_div(g, x, x))->op == IR_DIV);
    CU_ASSERT(ir_get(g, ir_add(g, x, ir_const(g, 1e-300)))->op == IR_ADD);
    ir_free(g);
}

static void test_powi(void)
{
    ir_graph *g = ir_new();
    ir_id a = ir_var(g, 0, 0);
    CU_ASSERT(is_const_value(g, ir_powi(g, a, 0), 1));
    CU_ASSERT(ir_powi(g, a, 1) == a);
    ir_id a2 = ir_powi(g, a, 2);
    CU_ASSERT(ir_get(g, a2)->op == IR_MUL && ir_get(g, a2)->a == a && ir_get(g, a2)->b == a);
    /* a^8 = ((a^2)^2)^2: three products, all shared with a^2 */
    int before = ir_count(g);
    ir_id a8 = ir_powi(g, a, 8);
    CU_ASSERT(ir_count(g) - before == 2); /* a^4 and a^8 are new */
    /* a^13 = a * a^4 * a^8: no new squares, two new products */
    before = ir_count(g);
    ir_id a13 = ir_powi(g, a, 13);
    CU_ASSERT(ir_count(g) - before == 2);
    ir_id am3 = ir_powi(g, a, -3);
    CU_ASSERT(ir_get(g, am3)->op == IR_DIV);
    const double x[1] = {1.3};
    CU_ASSERT(fabs(eval_at(g, a8, x, NULL) - pow(1.3, 8)) < 1e-13 * pow(1.3, 8));
    CU_ASSERT(fabs(eval_at(g, a13, x, NULL) - pow(1.3, 13)) < 1e-13 * pow(1.3, 13));
    CU_ASSERT(fabs(eval_at(g, am3, x, NULL) - pow(1.3, -3)) < 1e-14);
    /* pow with a small constant integer exponent becomes products */
    CU_ASSERT(ir_binary(g, IR_POW, a, ir_const(g, 2)) == a2);
    CU_ASSERT(ir_binary(g, IR_POW, a, ir_const(g, 8)) == a8);
    CU_ASSERT(ir_binary(g, IR_POW, a, ir_const(g, 1)) == a);
    CU_ASSERT(is_const_value(g, ir_binary(g, IR_POW, a, ir_const(g, 0)), 1));
    CU_ASSERT(ir_binary(g, IR_POW, a, ir_const(g, -3)) == am3);
    CU_ASSERT(ir_get(g, ir_binary(g, IR_POW, a, ir_const(g, 9)))->op == IR_POW);
    CU_ASSERT(ir_get(g, ir_binary(g, IR_POW, a, ir_const(g, 2.5)))->op == IR_POW);
    /* constant base folds */
    CU_ASSERT(is_const_value(g, ir_powi(g, ir_const(g, 2), 10), 1024));
    CU_ASSERT(is_const_value(g, ir_powi(g, ir_const(g, 2), -2), 0.25));
    /* extreme exponents: no overflow in the exponent, a bounded product chain */
    CU_ASSERT(ir_powi(g, a, -2147483647 - 1) >= 0);
    ir_free(g);
}

static void test_bad_input(void)
{
    ir_graph *g = ir_new();
    ir_id x = ir_var(g, 0, 0);
    CU_ASSERT(ir_unary(g, IR_ADD, x) == -1);     /* wrong arity */
    CU_ASSERT(ir_binary(g, IR_EXP, x, x) == -1);
    CU_ASSERT(ir_binary(g, IR_CLAMP, x, x) == -1);
    CU_ASSERT(ir_unary(g, IR_CONST, x) == -1);
    CU_ASSERT(ir_unary(g, IR_EXP, 12345) == -1); /* no such node */
    CU_ASSERT(ir_add(g, x, -1) == -1);           /* failures propagate */
    CU_ASSERT(ir_select(g, -1, x, x) == -1);
    CU_ASSERT(ir_clamp(g, x, -1, x) == -1);
    CU_ASSERT(ir_powi(g, -1, 3) == -1);
    CU_ASSERT(ir_get(g, -1) == NULL && ir_get(g, ir_count(g)) == NULL);
    CU_ASSERT(strcmp(ir_op_name(IR_SIGMOID), "sigmoid") == 0);
    CU_ASSERT(strcmp(ir_op_name(IR_NOPS), "?") == 0);
    CU_ASSERT(ir_op_arity(IR_NOPS) == -1);
    ir_set_name(g, -1, "nothing", 3); /* ignored */
    ir_free(g);
    ir_free(NULL);
}

static void test_names(void)
{
    ir_graph *g = ir_new();
    ir_id x = ir_var(g, 0, 0);
    ir_id e = ir_unary(g, IR_EXP, x);
    CU_ASSERT(ir_name(g, e) == NULL && ir_line(g, e) == 0);
    char buf[16];
    strcpy(buf, "flce");
    ir_set_name(g, e, buf, 17);
    strcpy(buf, "clobbered"); /* the graph keeps its own copy */
    ir_set_name(g, e, "second", 99); /* first wins */
    CU_ASSERT(strcmp(ir_name(g, e), "flce") == 0);
    CU_ASSERT(ir_line(g, e) == 17);
    ir_id s = ir_unary(g, IR_SIN, x);
    ir_set_name(g, s, NULL, 5); /* a line without a name */
    ir_set_name(g, s, "later", 0);
    CU_ASSERT(ir_line(g, s) == 5 && strcmp(ir_name(g, s), "later") == 0);
    /* hash-consing returns the named node; the name stays */
    CU_ASSERT(ir_unary(g, IR_EXP, x) == e && strcmp(ir_name(g, e), "flce") == 0);
    ir_free(g);
}

static void test_reachable(void)
{
    ir_graph *g = ir_new();
    ir_id x = ir_var(g, 0, 0), y = ir_var(g, 0, 1), p = ir_param(g, 0);
    ir_id xy = ir_mul(g, x, y);
    ir_id u = ir_add(g, xy, p);                   /* x y xy p u: 5 */
    ir_id v = ir_unary(g, IR_EXP, xy);            /* x y xy v: 4   */
    ir_id unused = ir_unary(g, IR_SIN, p);
    (void)unused;
    CU_ASSERT(ir_count_reachable(g, 1, &u) == 5);
    CU_ASSERT(ir_count_reachable(g, 1, &v) == 4);
    ir_id both[2] = {u, v};
    CU_ASSERT(ir_count_reachable(g, 2, both) == 6);
    CU_ASSERT(ir_count(g) == 7);
    ir_free(g);
}

/* 200k distinct nodes, then the same build again: the second pass must find
 * every node (count unchanged), and both must be fast (O(1) hash-consing). */
static void test_large_graph(void)
{
    ir_graph *g = ir_new();
    const int n = 100000;
    ir_id last[2] = {-1, -1};
    for (int pass = 0; pass < 2; pass++) {
        ir_id acc = ir_var(g, 0, 0);
        for (int i = 0; i < n; i++) {
            ir_id t = ir_mul(g, acc, ir_var(g, 1, i % 97));
            acc = ir_add(g, t, ir_const(g, (double)i + 1));
        }
        last[pass] = acc;
        if (pass == 0)
            CU_ASSERT(ir_count(g) > 2 * n);
    }
    int count = ir_count(g);
    CU_ASSERT(last[0] == last[1] && last[0] >= 0);
    CU_ASSERT(ir_count_reachable(g, 1, &last[0]) == count);
    printf("\n  large graph: %d nodes\n", count);
    ir_free(g);
}

static const mnet_test tests[] = {
    {"leaves_hash_cons", test_leaves_hash_cons},
    {"commutative_order", test_commutative_order},
    {"constant_folding", test_constant_folding},
    {"identities", test_identities},
    {"powi", test_powi},
    {"bad_input", test_bad_input},
    {"names", test_names},
    {"reachable", test_reachable},
    {"large_graph", test_large_graph},
    {NULL, NULL},
};

int main(void)
{
    return mnet_test_main("ir_graph", tests);
}
