/* ast.h - the syntax tree of a .mnet file, exactly as the user wrote it.
 *
 * The language has one statement form (see docs/language.md):
 *
 *   head arg, arg, ... ;                 a setting
 *   head arg, arg, ... { stmt ... }      a setting with a block
 *   name = expr ;                        an assignment (update/init blocks)
 *   fn name(x, y) = expr ;               a user function
 *
 * An arg is an expression, `name = expr` (named) or `name : unit [= expr]`
 * (a declaration with a documented unit).  Meaning is given to heads by the
 * semantic pass, not the grammar, so the parser stays small and its errors
 * are about syntax only.
 *
 * Every node carries its source position.  All nodes of a compilation live in
 * one arena (mnet_arena) owned by the compilation context: nothing is freed
 * node by node, and nothing leaks when the parser recovers from errors.
 */
#ifndef MNET_AST_H
#define MNET_AST_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    int file;   /* index into the context's source table */
    int line;   /* 1-based                               */
    int col;    /* 1-based, in bytes                     */
} src_loc;

/* A bump allocator: chunks freed all at once. */
typedef struct arena_chunk arena_chunk;
typedef struct {
    arena_chunk *head;
} mnet_arena;

void *arena_alloc(mnet_arena *a, size_t size);   /* zeroed; NULL on OOM */
char *arena_strndup(mnet_arena *a, const char *s, size_t n);
void arena_free(mnet_arena *a);

typedef enum {
    EX_NUM,     /* 1.5, 10 ms (num, unit)            */
    EX_STR,     /* "text" (str)                      */
    EX_ID,      /* name                              */
    EX_UNARY,   /* -a, not a (op)                    */
    EX_BINARY,  /* a op b                            */
    EX_IF,      /* if a then b else c                */
    EX_CALL,    /* name(args)                        */
    EX_VEC,     /* [args]                            */
    EX_MEMBER,  /* a.name                            */
    EX_INDEX,   /* a[b]                              */
} expr_kind;

typedef enum {
    OP_NEG, OP_NOT,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW,
    OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_AND, OP_OR,
} ast_op;

typedef struct ast_expr ast_expr;
typedef struct ast_arg ast_arg;

struct ast_arg {
    const char *name;       /* NULL for a positional arg          */
    const char *unit;       /* `name : unit` declarations, or NULL */
    ast_expr *value;        /* NULL for `name : unit` alone        */
    src_loc loc;
    ast_arg *next;
};

struct ast_expr {
    expr_kind kind;
    src_loc loc;
    int depth;              /* nesting depth, bounded by the parser */
    double num;             /* EX_NUM                               */
    const char *unit;       /* EX_NUM unit, or NULL                 */
    src_loc unit_loc;
    const char *name;       /* EX_ID, EX_CALL callee, EX_MEMBER     */
    const char *str;        /* EX_STR                               */
    ast_op op;              /* EX_UNARY, EX_BINARY                  */
    ast_expr *a, *b, *c;    /* operands                             */
    ast_arg *args;          /* EX_CALL, EX_VEC                      */
    int nargs;
};

typedef enum {
    ST_SETTING,   /* head args ; | head args { body }            */
    ST_ASSIGN,    /* name = value ;                               */
    ST_FN,        /* fn name(params) = value ;                    */
} stmt_kind;

typedef struct ast_stmt ast_stmt;
struct ast_stmt {
    stmt_kind kind;
    src_loc loc;
    const char *head;       /* setting keyword, assigned name, fn name */
    ast_arg *args;          /* ST_SETTING args; ST_FN parameters      */
    int nargs;
    int has_body;
    ast_stmt *body;         /* first statement of the block           */
    ast_expr *value;        /* ST_ASSIGN, ST_FN                       */
    ast_stmt *next;
};

/* Builders used by the parser (allocate in the arena). */
ast_expr *ast_num(mnet_arena *a, src_loc loc, double v, const char *unit, src_loc unit_loc);
ast_expr *ast_leaf(mnet_arena *a, expr_kind kind, src_loc loc, const char *text);
ast_expr *ast_unary(mnet_arena *a, src_loc loc, ast_op op, ast_expr *x);
ast_expr *ast_binary(mnet_arena *a, src_loc loc, ast_op op, ast_expr *x, ast_expr *y);
ast_expr *ast_if(mnet_arena *a, src_loc loc, ast_expr *c, ast_expr *t, ast_expr *e);
ast_expr *ast_call(mnet_arena *a, src_loc loc, expr_kind kind, const char *name, ast_arg *args);
ast_expr *ast_member(mnet_arena *a, src_loc loc, ast_expr *x, const char *name);
ast_expr *ast_index(mnet_arena *a, src_loc loc, ast_expr *x, ast_expr *i);
ast_arg *ast_arg_new(mnet_arena *a, src_loc loc, const char *name, const char *unit, ast_expr *v);
ast_arg *ast_arg_append(ast_arg *list, ast_arg *x);
ast_stmt *ast_stmt_new(mnet_arena *a, stmt_kind kind, src_loc loc, const char *head);
ast_stmt *ast_stmt_append(ast_stmt *list, ast_stmt *x);
int ast_arg_count(const ast_arg *list);

const char *ast_op_text(ast_op op);
/* Writes the expression back as source text (for diagnostics, dumps). */
void ast_expr_print(FILE *out, const ast_expr *e);

#endif
