/* ir_graph.c - node storage, hash-consing and the simplifying builders of the
 * expression graph (interface in ir.h).
 *
 * Nodes live in one growable array indexed by id.  A node's operands are
 * always built before it, so ids are a topological order of the DAG and every
 * later stage (vjp, eval, emit) can sweep ids in order without sorting.
 *
 * Every builder first folds and simplifies (the identities are listed, with
 * their NaN treatment, in docs/compiler.md, section "Expression graph"), then
 * hash-conses: an open-addressing table keyed on the whole node returns the
 * existing id when an identical node was built before.  Building is O(1)
 * amortised per node. */
#include "ir.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ir_graph {
    ir_node *node;    /* (nnode) the nodes, operands before users          */
    char **node_name; /* (nnode) strdup'ed human name, NULL when none      */
    int *node_line;   /* (nnode) .mnet source line, 0 when none            */
    int nnode;        /* number of nodes                                   */
    int maxnode;      /* allocated length of the three arrays above        */
    ir_id *table;     /* (ntable) hash set of node ids, -1 = empty slot     */
    int ntable;       /* a power of two, kept >= 2 * nnode (load <= 1/2)   */
};

/*---------------------------------------------------------------------------
 * Op table
 *---------------------------------------------------------------------------*/

static const struct {
    const char *name;
    int arity;
    int commutative; /* operands put in id order before hash-consing */
} op_info[IR_NOPS] = {
    [IR_CONST] = {"const", 0, 0},     [IR_VAR] = {"var", 0, 0},
    [IR_PARAM] = {"param", 0, 0},     [IR_NEG] = {"neg", 1, 0},
    [IR_ADD] = {"add", 2, 1},         [IR_SUB] = {"sub", 2, 0},
    [IR_MUL] = {"mul", 2, 1},         [IR_DIV] = {"div", 2, 0},
    [IR_POW] = {"pow", 2, 0},         [IR_EXP] = {"exp", 1, 0},
    [IR_LOG] = {"log", 1, 0},         [IR_SQRT] = {"sqrt", 1, 0},
    [IR_SIN] = {"sin", 1, 0},         [IR_COS] = {"cos", 1, 0},
    [IR_TANH] = {"tanh", 1, 0},       [IR_SIGMOID] = {"sigmoid", 1, 0},
    [IR_ABS] = {"abs", 1, 0},         [IR_MIN] = {"min", 2, 1},
    [IR_MAX] = {"max", 2, 1},         [IR_CLAMP] = {"clamp", 3, 0},
    [IR_LT] = {"lt", 2, 0},           [IR_LE] = {"le", 2, 0},
    [IR_GT] = {"gt", 2, 0},           [IR_GE] = {"ge", 2, 0},
    [IR_EQ] = {"eq", 2, 1},           [IR_NE] = {"ne", 2, 1},
    [IR_AND] = {"and", 2, 1},         [IR_OR] = {"or", 2, 1},
    [IR_NOT] = {"not", 1, 0},         [IR_SELECT] = {"select", 3, 0},
};

const char *ir_op_name(ir_op op)
{
    if ((int)op < 0 || op >= IR_NOPS)
        return "?";
    return op_info[op].name;
}

int ir_op_arity(ir_op op)
{
    if ((int)op < 0 || op >= IR_NOPS)
        return -1;
    return op_info[op].arity;
}

/*---------------------------------------------------------------------------
 * Storage
 *---------------------------------------------------------------------------*/

enum { IR_INITIAL_NODES = 256, IR_INITIAL_TABLE = 1024 };

ir_graph *ir_new(void)
{
    ir_graph *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->maxnode = IR_INITIAL_NODES;
    g->node = malloc(sizeof(*g->node) * (size_t)g->maxnode);
    g->node_name = malloc(sizeof(*g->node_name) * (size_t)g->maxnode);
    g->node_line = malloc(sizeof(*g->node_line) * (size_t)g->maxnode);
    g->ntable = IR_INITIAL_TABLE;
    g->table = malloc(sizeof(*g->table) * (size_t)g->ntable);
    if (!g->node || !g->node_name || !g->node_line || !g->table) {
        ir_free(g);
        return NULL;
    }
    memset(g->table, 0xff, sizeof(*g->table) * (size_t)g->ntable); /* all -1 */
    return g;
}

void ir_free(ir_graph *g)
{
    if (!g)
        return;
    if (g->node_name)
        for (int i = 0; i < g->nnode; i++)
            free(g->node_name[i]);
    free(g->node);
    free(g->node_name);
    free(g->node_line);
    free(g->table);
    free(g);
}

int ir_count(const ir_graph *g)
{
    return g->nnode;
}

static int is_node(const ir_graph *g, ir_id id)
{
    return id >= 0 && id < g->nnode;
}

const ir_node *ir_get(const ir_graph *g, ir_id id)
{
    return is_node(g, id) ? &g->node[id] : NULL;
}

/*---------------------------------------------------------------------------
 * Hash-consing
 *---------------------------------------------------------------------------*/

static uint64_t double_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

/* FNV-style combination of all fields, finished with the splitmix64
 * avalanche so that the low bits (the table index) depend on every field. */
static uint64_t node_hash(const ir_node *n)
{
    uint64_t h = 0xcbf29ce484222325u;
    const uint64_t prime = 0x100000001b3u;
    h = (h ^ (uint64_t)n->op) * prime;
    h = (h ^ (uint64_t)(uint32_t)n->a) * prime;
    h = (h ^ (uint64_t)(uint32_t)n->b) * prime;
    h = (h ^ (uint64_t)(uint32_t)n->c) * prime;
    h = (h ^ double_bits(n->value)) * prime;
    h = (h ^ (uint64_t)(uint32_t)n->arg) * prime;
    h = (h ^ (uint64_t)(uint32_t)n->row) * prime;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebu;
    h ^= h >> 31;
    return h;
}

/* Constants compare by bit pattern: 0.0 and -0.0 are different nodes (their
 * reciprocals differ), and a NaN constant equals itself. */
static int node_equal(const ir_node *x, const ir_node *y)
{
    return x->op == y->op && x->a == y->a && x->b == y->b && x->c == y->c &&
           x->arg == y->arg && x->row == y->row &&
           double_bits(x->value) == double_bits(y->value);
}

/* Slot holding a node equal to key, or the empty slot where it would go. */
static int table_slot(const ir_graph *g, const ir_node *key)
{
    unsigned mask = (unsigned)g->ntable - 1;
    unsigned i = (unsigned)node_hash(key) & mask;
    while (g->table[i] >= 0 && !node_equal(&g->node[g->table[i]], key))
        i = (i + 1) & mask;
    return (int)i;
}

static int grow_table(ir_graph *g)
{
    if (g->ntable > INT_MAX / 2)
        return -1;
    int ntable = 2 * g->ntable;
    ir_id *table = malloc(sizeof(*table) * (size_t)ntable);
    if (!table)
        return -1;
    memset(table, 0xff, sizeof(*table) * (size_t)ntable);
    free(g->table);
    g->table = table;
    g->ntable = ntable;
    for (int id = 0; id < g->nnode; id++)
        g->table[table_slot(g, &g->node[id])] = id;
    return 0;
}

static int grow_nodes(ir_graph *g)
{
    if (g->maxnode > INT_MAX / 4) /* the table must stay twice as large */
        return -1;
    size_t maxnode = 2 * (size_t)g->maxnode;
    ir_node *node = realloc(g->node, sizeof(*node) * maxnode);
    if (!node)
        return -1;
    g->node = node;
    char **name = realloc(g->node_name, sizeof(*name) * maxnode);
    if (!name)
        return -1;
    g->node_name = name;
    int *line = realloc(g->node_line, sizeof(*line) * maxnode);
    if (!line)
        return -1;
    g->node_line = line;
    g->maxnode = (int)maxnode;
    return 0;
}

/* The id of a node equal to key, appending it when new. */
static ir_id intern(ir_graph *g, const ir_node *key)
{
    int slot = table_slot(g, key);
    if (g->table[slot] >= 0)
        return g->table[slot];
    if (g->nnode == g->maxnode && grow_nodes(g) != 0)
        return -1;
    if (2 * (g->nnode + 1) > g->ntable) {
        if (grow_table(g) != 0)
            return -1;
        slot = table_slot(g, key);
    }
    ir_id id = g->nnode++;
    g->node[id] = *key;
    g->node_name[id] = NULL;
    g->node_line[id] = 0;
    g->table[slot] = id;
    return id;
}

/* A non-leaf node, no simplification. */
static ir_id make(ir_graph *g, ir_op op, ir_id a, ir_id b, ir_id c)
{
    ir_node key = {.op = op, .a = a, .b = b, .c = c, .value = 0, .arg = 0, .row = 0};
    return intern(g, &key);
}

/*---------------------------------------------------------------------------
 * Leaves
 *---------------------------------------------------------------------------*/

ir_id ir_const(ir_graph *g, double v)
{
    ir_node key = {.op = IR_CONST, .a = -1, .b = -1, .c = -1, .value = v, .arg = 0, .row = 0};
    return intern(g, &key);
}

ir_id ir_var(ir_graph *g, int arg, int row)
{
    if (arg < 0 || row < 0)
        return -1;
    ir_node key = {.op = IR_VAR, .a = -1, .b = -1, .c = -1, .value = 0, .arg = arg, .row = row};
    return intern(g, &key);
}

ir_id ir_param(ir_graph *g, int index)
{
    if (index < 0)
        return -1;
    ir_node key = {.op = IR_PARAM, .a = -1, .b = -1, .c = -1, .value = 0, .arg = 0, .row = index};
    return intern(g, &key);
}

/*---------------------------------------------------------------------------
 * Simplifying builders
 *---------------------------------------------------------------------------*/

static int is_const(const ir_graph *g, ir_id id)
{
    return g->node[id].op == IR_CONST;
}

/* True for a constant equal to v; 0.0 and -0.0 both count as zero. */
static int is_value(const ir_graph *g, ir_id id, double v)
{
    return g->node[id].op == IR_CONST && g->node[id].value == v;
}

static int is_op(const ir_graph *g, ir_id id, ir_op op)
{
    return g->node[id].op == op;
}

ir_id ir_unary(ir_graph *g, ir_op op, ir_id a)
{
    if (ir_op_arity(op) != 1 || !is_node(g, a))
        return -1;
    if (is_const(g, a))
        return ir_const(g, ir_eval_op(op, g->node[a].value, 0, 0));
    switch (op) {
    case IR_NEG:
        if (is_op(g, a, IR_NEG)) /* -(-x) = x */
            return g->node[a].a;
        break;
    case IR_ABS:
        if (is_op(g, a, IR_ABS)) /* |(|x|)| = |x| */
            return a;
        if (is_op(g, a, IR_NEG)) /* |-x| = |x|, same derivative sign(x) */
            return ir_unary(g, IR_ABS, g->node[a].a);
        break;
    default:
        break;
    }
    return make(g, op, a, -1, -1);
}

/* A constant that is an integer of magnitude <= 8: pow becomes products. */
static int small_integer(const ir_graph *g, ir_id id, int *n)
{
    if (!is_const(g, id))
        return 0;
    double v = g->node[id].value;
    if (!(v >= -8 && v <= 8) || v != floor(v))
        return 0;
    *n = (int)v;
    return 1;
}

ir_id ir_binary(ir_graph *g, ir_op op, ir_id a, ir_id b)
{
    if (ir_op_arity(op) != 2 || !is_node(g, a) || !is_node(g, b))
        return -1;
    if (is_const(g, a) && is_const(g, b))
        return ir_const(g, ir_eval_op(op, g->node[a].value, g->node[b].value, 0));
    if (op_info[op].commutative && a > b) { /* a+b and b+a: one node */
        ir_id t = a;
        a = b;
        b = t;
    }
    switch (op) {
    case IR_ADD:
        if (is_value(g, a, 0)) /* 0 + x = x */
            return b;
        if (is_value(g, b, 0)) /* x + 0 = x */
            return a;
        if (is_op(g, b, IR_NEG)) /* x + (-y) = x - y, exact in IEEE */
            return ir_binary(g, IR_SUB, a, g->node[b].a);
        if (is_op(g, a, IR_NEG)) /* (-x) + y = y - x */
            return ir_binary(g, IR_SUB, b, g->node[a].a);
        break;
    case IR_SUB:
        if (is_value(g, b, 0)) /* x - 0 = x */
            return a;
        if (is_value(g, a, 0)) /* 0 - x = -x */
            return ir_unary(g, IR_NEG, b);
        if (a == b) /* x - x = 0, wrong for x = +-Inf or NaN */
            return ir_const(g, 0);
        if (is_op(g, b, IR_NEG)) /* x - (-y) = x + y, exact */
            return ir_binary(g, IR_ADD, a, g->node[b].a);
        break;
    case IR_MUL:
        if (is_value(g, a, 1)) /* 1 * x = x */
            return b;
        if (is_value(g, b, 1)) /* x * 1 = x */
            return a;
        if (is_value(g, a, 0) || is_value(g, b, 0)) /* x * 0 = 0, wrong for Inf/NaN */
            return ir_const(g, 0);
        if (is_value(g, a, -1)) /* -1 * x = -x, exact */
            return ir_unary(g, IR_NEG, b);
        if (is_value(g, b, -1))
            return ir_unary(g, IR_NEG, a);
        break;
    case IR_DIV:
        if (is_value(g, b, 1)) /* x / 1 = x */
            return a;
        if (is_value(g, b, -1)) /* x / -1 = -x, exact */
            return ir_unary(g, IR_NEG, a);
        break;
    case IR_POW: {
        int n;
        if (small_integer(g, b, &n)) /* a ^ n, |n| <= 8: products */
            return ir_powi(g, a, n);
        break;
    }
    case IR_MIN:
    case IR_MAX:
        if (a == b) /* min(x, x) = max(x, x) = x; a tie's halves add to 1 */
            return a;
        break;
    default:
        break;
    }
    return make(g, op, a, b, -1);
}

ir_id ir_clamp(ir_graph *g, ir_id x, ir_id lo, ir_id hi)
{
    if (!is_node(g, x) || !is_node(g, lo) || !is_node(g, hi))
        return -1;
    if (is_const(g, x) && is_const(g, lo) && is_const(g, hi))
        return ir_const(g, ir_eval_op(IR_CLAMP, g->node[x].value, g->node[lo].value,
                                      g->node[hi].value));
    /* clamp(x, x, x) = x.  clamp(x, c, c) is NOT rewritten to c: the
     * convention gives x the gradient at x == c, and c would drop it. */
    if (x == lo && lo == hi)
        return x;
    return make(g, IR_CLAMP, x, lo, hi);
}

ir_id ir_select(ir_graph *g, ir_id cond, ir_id a, ir_id b)
{
    if (!is_node(g, cond) || !is_node(g, a) || !is_node(g, b))
        return -1;
    if (is_const(g, cond)) /* NaN counts as true, as c != 0 does at run time */
        return g->node[cond].value != 0 ? a : b;
    if (a == b) /* select(c, x, x) = x */
        return a;
    if (is_op(g, cond, IR_NOT)) /* select(!c, a, b) = select(c, b, a), exact */
        return ir_select(g, g->node[cond].a, b, a);
    return make(g, IR_SELECT, cond, a, b);
}

/* a^n by repeated squaring: a^13 = a * a^4 * a^8, 5 products. */
ir_id ir_powi(ir_graph *g, ir_id a, int n)
{
    if (!is_node(g, a))
        return -1;
    if (n == 0) /* a^0 = 1, as C's pow gives even for NaN */
        return ir_const(g, 1);
    unsigned m = n < 0 ? 0u - (unsigned)n : (unsigned)n;
    ir_id result = -1, base = a;
    for (;;) {
        if (m & 1) {
            result = result < 0 ? base : ir_mul(g, result, base);
            if (result < 0)
                return -1;
        }
        m >>= 1;
        if (!m)
            break;
        base = ir_mul(g, base, base);
        if (base < 0)
            return -1;
    }
    return n < 0 ? ir_div(g, ir_const(g, 1), result) : result;
}

ir_id ir_add(ir_graph *g, ir_id a, ir_id b) { return ir_binary(g, IR_ADD, a, b); }
ir_id ir_sub(ir_graph *g, ir_id a, ir_id b) { return ir_binary(g, IR_SUB, a, b); }
ir_id ir_mul(ir_graph *g, ir_id a, ir_id b) { return ir_binary(g, IR_MUL, a, b); }
ir_id ir_div(ir_graph *g, ir_id a, ir_id b) { return ir_binary(g, IR_DIV, a, b); }
ir_id ir_neg(ir_graph *g, ir_id a) { return ir_unary(g, IR_NEG, a); }

/*---------------------------------------------------------------------------
 * Names and reachability
 *---------------------------------------------------------------------------*/

void ir_set_name(ir_graph *g, ir_id id, const char *name, int line)
{
    if (!is_node(g, id))
        return;
    /* Names are cosmetic: if strdup fails the node simply stays unnamed. */
    if (name && !g->node_name[id])
        g->node_name[id] = strdup(name);
    if (line > 0 && g->node_line[id] == 0)
        g->node_line[id] = line;
}

const char *ir_name(const ir_graph *g, ir_id id)
{
    return is_node(g, id) ? g->node_name[id] : NULL;
}

int ir_line(const ir_graph *g, ir_id id)
{
    return is_node(g, id) ? g->node_line[id] : 0;
}

/* Operands have smaller ids than their users, so one sweep from the top id
 * down marks everything reachable. */
int ir_mark_reachable(const ir_graph *g, int n_roots, const ir_id *roots,
                      unsigned char *mark)
{
    memset(mark, 0, (size_t)g->nnode);
    for (int k = 0; k < n_roots; k++)
        if (is_node(g, roots[k]))
            mark[roots[k]] = 1;
    int count = 0;
    for (int id = g->nnode - 1; id >= 0; id--) {
        if (!mark[id])
            continue;
        count++;
        const ir_node *n = &g->node[id];
        if (n->a >= 0)
            mark[n->a] = 1;
        if (n->b >= 0)
            mark[n->b] = 1;
        if (n->c >= 0)
            mark[n->c] = 1;
    }
    return count;
}

int ir_count_reachable(const ir_graph *g, int n_roots, const ir_id *roots)
{
    unsigned char *mark = malloc((size_t)g->nnode + 1);
    if (!mark)
        return -1;
    int count = ir_mark_reachable(g, n_roots, roots, mark);
    free(mark);
    return count;
}

void ir_temp_name(const ir_graph *g, ir_id id, char *buf)
{
    enum { NAME_STEM_MAX = 40 };
    const char *name = ir_name(g, id);
    if (!name || !name[0]) {
        snprintf(buf, IR_TEMP_NAME_MAX, "t%d", id);
        return;
    }
    char stem[NAME_STEM_MAX + 2];
    int len = 0;
    if (!isalpha((unsigned char)name[0]))
        stem[len++] = 'v';
    for (const char *p = name; *p && len < NAME_STEM_MAX; p++)
        stem[len++] = isalnum((unsigned char)*p) ? *p : '_';
    stem[len] = '\0';
    snprintf(buf, IR_TEMP_NAME_MAX, "%s_%d", stem, id);
}
