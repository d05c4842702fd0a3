/* ast.c - the arena and the syntax-tree builders. */
#include "ast.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
    arena_chunk *next;
    size_t used, size;
    max_align_t data[]; /* aligned storage */
};

void *arena_alloc(mnet_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t cap = size > 60000 ? size : 60000;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->size = cap;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(mnet_arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void arena_free(mnet_arena *a)
{
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

static int max3(int x, int y, int z)
{
    int m = x > y ? x : y;
    return m > z ? m : z;
}

static int depth_of(const ast_expr *e)
{
    return e ? e->depth : 0;
}

static ast_expr *new_expr(mnet_arena *a, expr_kind kind, src_loc loc)
{
    ast_expr *e = arena_alloc(a, sizeof *e);
    if (e) {
        e->kind = kind;
        e->loc = loc;
        e->depth = 1;
    }
    return e;
}

ast_expr *ast_num(mnet_arena *a, src_loc loc, double v, const char *unit, src_loc unit_loc)
{
    ast_expr *e = new_expr(a, EX_NUM, loc);
    if (e) {
        e->num = v;
        e->unit = unit;
        e->unit_loc = unit_loc;
    }
    return e;
}

ast_expr *ast_leaf(mnet_arena *a, expr_kind kind, src_loc loc, const char *text)
{
    ast_expr *e = new_expr(a, kind, loc);
    if (e) {
        if (kind == EX_STR)
            e->str = text;
        else
            e->name = text;
    }
    return e;
}

ast_expr *ast_unary(mnet_arena *a, src_loc loc, ast_op op, ast_expr *x)
{
    ast_expr *e = new_expr(a, EX_UNARY, loc);
    if (e) {
        e->op = op;
        e->a = x;
        e->depth = 1 + depth_of(x);
    }
    return e;
}

ast_expr *ast_binary(mnet_arena *a, src_loc loc, ast_op op, ast_expr *x, ast_expr *y)
{
    ast_expr *e = new_expr(a, EX_BINARY, loc);
    if (e) {
        e->op = op;
        e->a = x;
        e->b = y;
        e->depth = 1 + max3(depth_of(x), depth_of(y), 0);
    }
    return e;
}

ast_expr *ast_if(mnet_arena *a, src_loc loc, ast_expr *c, ast_expr *t, ast_expr *f)
{
    ast_expr *e = new_expr(a, EX_IF, loc);
    if (e) {
        e->a = c;
        e->b = t;
        e->c = f;
        e->depth = 1 + max3(depth_of(c), depth_of(t), depth_of(f));
    }
    return e;
}

ast_expr *ast_call(mnet_arena *a, src_loc loc, expr_kind kind, const char *name, ast_arg *args)
{
    ast_expr *e = new_expr(a, kind, loc);
    if (e) {
        e->name = name;
        e->args = args;
        e->nargs = ast_arg_count(args);
        int d = 0;
        for (ast_arg *x = args; x; x = x->next)
            if (depth_of(x->value) > d)
                d = depth_of(x->value);
        e->depth = 1 + d;
    }
    return e;
}

ast_expr *ast_member(mnet_arena *a, src_loc loc, ast_expr *x, const char *name)
{
    ast_expr *e = new_expr(a, EX_MEMBER, loc);
    if (e) {
        e->a = x;
        e->name = name;
        e->depth = 1 + depth_of(x);
    }
    return e;
}

ast_expr *ast_index(mnet_arena *a, src_loc loc, ast_expr *x, ast_expr *i)
{
    ast_expr *e = new_expr(a, EX_INDEX, loc);
    if (e) {
        e->a = x;
        e->b = i;
        e->depth = 1 + max3(depth_of(x), depth_of(i), 0);
    }
    return e;
}

ast_arg *ast_arg_new(mnet_arena *a, src_loc loc, const char *name, const char *unit, ast_expr *v)
{
    ast_arg *x = arena_alloc(a, sizeof *x);
    if (x) {
        x->loc = loc;
        x->name = name;
        x->unit = unit;
        x->value = v;
    }
    return x;
}

ast_arg *ast_arg_append(ast_arg *list, ast_arg *x)
{
    if (!list)
        return x;
    ast_arg *p = list;
    while (p->next)
        p = p->next;
    p->next = x;
    return list;
}

int ast_arg_count(const ast_arg *list)
{
    int n = 0;
    for (; list; list = list->next)
        n++;
    return n;
}

ast_stmt *ast_stmt_new(mnet_arena *a, stmt_kind kind, src_loc loc, const char *head)
{
    ast_stmt *s = arena_alloc(a, sizeof *s);
    if (s) {
        s->kind = kind;
        s->loc = loc;
        s->head = head;
    }
    return s;
}

ast_stmt *ast_stmt_append(ast_stmt *list, ast_stmt *x)
{
    if (!list)
        return x;
    if (!x)
        return list;
    ast_stmt *p = list;
    while (p->next)
        p = p->next;
    p->next = x;
    return list;
}

const char *ast_op_text(ast_op op)
{
    static const char *const text[] = {
        [OP_NEG] = "-", [OP_NOT] = "not", [OP_ADD] = "+", [OP_SUB] = "-",
        [OP_MUL] = "*", [OP_DIV] = "/", [OP_POW] = "^", [OP_LT] = "<",
        [OP_LE] = "<=", [OP_GT] = ">", [OP_GE] = ">=", [OP_EQ] = "==",
        [OP_NE] = "!=", [OP_AND] = "and", [OP_OR] = "or",
    };
    return text[op];
}

static void print_args(FILE *out, const ast_arg *args)
{
    for (const ast_arg *x = args; x; x = x->next) {
        if (x != args)
            fputs(", ", out);
        if (x->name)
            fprintf(out, "%s%s", x->name, x->value ? " = " : "");
        if (x->value)
            ast_expr_print(out, x->value);
    }
}

void ast_expr_print(FILE *out, const ast_expr *e)
{
    if (!e) {
        fputs("?", out);
        return;
    }
    switch (e->kind) {
    case EX_NUM:
        fprintf(out, "%.17g%s%s", e->num, e->unit ? " " : "", e->unit ? e->unit : "");
        break;
    case EX_STR:
        fprintf(out, "\"%s\"", e->str);
        break;
    case EX_ID:
        fputs(e->name, out);
        break;
    case EX_UNARY:
        fprintf(out, "%s%s(", ast_op_text(e->op), e->op == OP_NOT ? " " : "");
        ast_expr_print(out, e->a);
        fputs(")", out);
        break;
    case EX_BINARY:
        fputs("(", out);
        ast_expr_print(out, e->a);
        fprintf(out, " %s ", ast_op_text(e->op));
        ast_expr_print(out, e->b);
        fputs(")", out);
        break;
    case EX_IF:
        fputs("(if ", out);
        ast_expr_print(out, e->a);
        fputs(" then ", out);
        ast_expr_print(out, e->b);
        fputs(" else ", out);
        ast_expr_print(out, e->c);
        fputs(")", out);
        break;
    case EX_CALL:
        fprintf(out, "%s(", e->name);
        print_args(out, e->args);
        fputs(")", out);
        break;
    case EX_VEC:
        fputs("[", out);
        print_args(out, e->args);
        fputs("]", out);
        break;
    case EX_MEMBER:
        ast_expr_print(out, e->a);
        fprintf(out, ".%s", e->name);
        break;
    case EX_INDEX:
        ast_expr_print(out, e->a);
        fputs("[", out);
        ast_expr_print(out, e->b);
        fputs("]", out);
        break;
    }
}
