/* parse.h - the lexer and parser of one source file.
 *
 * Both are reentrant (flex `reentrant`, bison `api.pure`); their state lives
 * in mnet_parse_state, so the compiler can run many times in one process. */
#ifndef MNET_PARSE_H
#define MNET_PARSE_H

#include "diag.h"

enum {
    MNET_MAX_NESTING = 100,     /* brackets and blocks open at once       */
    MNET_MAX_EXPR_DEPTH = 200,  /* operators in one chain, nested calls    */
};

typedef struct {
    mnet_ctx *ctx;
    int file;                   /* source index                          */
    ast_stmt *items;            /* result: top-level statements          */
    int nesting;                /* brackets open now (lexer)             */
    src_loc open_at[MNET_MAX_NESTING]; /* where each open bracket is     */
    char open_ch[MNET_MAX_NESTING];
    int nesting_reported;       /* the nesting error was given: stop     */
    int depth_reported;         /* expression-depth error in this stmt   */
    int lex_error;              /* a lexical error in this statement:
                                   the syntax error it causes is not news */
    int line, col;              /* lexer position of the next byte       */
} mnet_parse_state;

/* Parses ctx->sources[file] into ctx->sources[file].items, reporting syntax
 * errors into ctx.  Returns the number of errors found. */
int mnet_parse(mnet_ctx *ctx, int file);

#endif
