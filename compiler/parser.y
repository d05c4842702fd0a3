/* parser.y - the grammar of the .mnet language.
 *
 * One statement form carries the whole language (see docs/language.md):
 *
 *   stmt   := IDENT args ';'                    a setting
 *           | IDENT args '{' stmt* '}'          a setting with a block
 *           | IDENT '=' expr ';'                an assignment
 *           | 'fn' IDENT '(' names ')' '=' expr ';'
 *           | 'fn' IDENT '(' names ')' '{' ('let' ...;)* 'return' expr ';' '}'
 *           | ';'
 *   args   := (arg (',' arg)*)?
 *   arg    := expr | IDENT '=' expr | IDENT ':' IDENT ('=' expr)?
 *
 * Errors recover at the next ';', or at the '}' that closes the block the
 * error is in, so one run reports every syntax error of a file.
 */
%define api.pure full
%define parse.error verbose
%locations
%parse-param {mnet_parse_state *st} {void *scanner}
%lex-param {void *scanner}

%code requires {
#include "parse.h"
}


%code {
#include <string.h>

#include "lexer.h"

static src_loc loc_of(const mnet_parse_state *st, YYLTYPE l)
{
    src_loc loc = {st->file, l.first_line, l.first_column};
    return loc;
}

static void yyerror(YYLTYPE *l, mnet_parse_state *st, void *scanner, const char *msg)
{
    (void)scanner;
    if (st->nesting_reported)
        return; /* the nesting error already explains why parsing stopped */
    if (strcmp(msg, "memory exhausted") == 0) {
        /* Only a chain of prefix or right-associative operators (- - - x,
         * not not x, a ^ b ^ c, if .. then if ..) fills bison's stack; the
         * parse stops here. */
        mnet_error(st->ctx, loc_of(st, *l), "expression nested deeper than %d levels",
                   MNET_MAX_EXPR_DEPTH);
        return;
    }
    if (st->lex_error)
        return; /* the lexical error in this statement explains it */
    mnet_error(st->ctx, loc_of(st, *l), "%s", msg);
    if (st->nesting > 0 && strstr(msg, "unexpected end of file"))
        mnet_note(st->ctx, st->open_at[st->nesting - 1], "this '%c' is not closed",
                  st->open_ch[st->nesting - 1]);
}

/* Bounds expression depth so later recursive passes stay shallow. */
static ast_expr *bounded(mnet_parse_state *st, ast_expr *e)
{
    if (!e || e->depth <= MNET_MAX_EXPR_DEPTH)
        return e;
    if (!st->depth_reported)
        mnet_error(st->ctx, e->loc, "expression nested deeper than %d levels", MNET_MAX_EXPR_DEPTH);
    st->depth_reported = 1;
    return ast_num(&st->ctx->arena, e->loc, 0, NULL, e->loc);
}

static ast_stmt *stmt_push(ast_stmt *rev, ast_stmt *x)
{
    if (!x)
        return rev;
    x->next = rev;
    return x;
}

static ast_stmt *stmt_reverse(ast_stmt *rev)
{
    ast_stmt *out = NULL;
    while (rev) {
        ast_stmt *next = rev->next;
        rev->next = out;
        out = rev;
        rev = next;
    }
    return out;
}

static ast_arg *arg_push(ast_arg *rev, ast_arg *x)
{
    if (!x)
        return rev;
    x->next = rev;
    return x;
}

static ast_arg *arg_reverse(ast_arg *rev)
{
    ast_arg *out = NULL;
    while (rev) {
        ast_arg *next = rev->next;
        rev->next = out;
        out = rev;
        rev = next;
    }
    return out;
}

#define A (&st->ctx->arena)
#define L(x) loc_of(st, x)
}

%union {
    double num;
    const char *str;
    ast_expr *expr;
    ast_arg *arg;
    ast_stmt *stmt;
}

%token <num> NUMBER "number"
%token <str> IDENT "name"
%token <str> STRING "string"
%token IF "if" THEN "then" ELSE "else" AND "and" OR "or" NOT "not" FN "fn"
%token LE "<=" GE ">=" EQ "==" NE "!="
%token BADCHAR "invalid character"

%type <expr> expr primary
%type <arg> args arglist arg names namelist
%type <stmt> top stmts stmt

%precedence ELSE
%left OR
%left AND
%precedence NOT
%nonassoc '<' LE '>' GE EQ NE
%left '+' '-'
%left '*' '/'
%precedence UMINUS
%right '^'

%%

file
    : top                   { st->items = stmt_reverse($1); }
    ;

/* Top level: a stray '}' is skipped. */
top
    : %empty                { $$ = NULL; }
    | top stmt              { $$ = stmt_push($1, $2); }
    | top error '}'         { $$ = $1; st->depth_reported = st->lex_error = 0; yyerrok; }
    ;

/* Lists are built newest first (constant time per item, so a file of a
 * million statements parses in linear time) and reversed once complete. */
stmts
    : %empty                { $$ = NULL; }
    | stmts stmt            { $$ = stmt_push($1, $2); }
    ;

stmt
    : IDENT args ';' {
          $$ = ast_stmt_new(A, ST_SETTING, L(@1), $1);
          if ($$) { $$->args = $2; $$->nargs = ast_arg_count($2); }
          st->depth_reported = st->lex_error = 0;
      }
    | IDENT args '{' stmts '}' {
          $$ = ast_stmt_new(A, ST_SETTING, L(@1), $1);
          if ($$) { $$->args = $2; $$->nargs = ast_arg_count($2); $$->has_body = 1; $$->body = stmt_reverse($4); }
          st->depth_reported = st->lex_error = 0;
      }
    /* An error in a block recovers at the next ';' (error ';' below) or at
     * the block's own '}', which then closes the block: 'x 1 }' (a missing
     * ';') costs one error, not a second one at the end of the file. */
    | IDENT args '{' stmts error '}' {
          $$ = ast_stmt_new(A, ST_SETTING, L(@1), $1);
          if ($$) { $$->args = $2; $$->nargs = ast_arg_count($2); $$->has_body = 1; $$->body = stmt_reverse($4); }
          st->depth_reported = st->lex_error = 0;
          yyerrok;
      }
    | IDENT '=' expr ';' {
          $$ = ast_stmt_new(A, ST_ASSIGN, L(@1), $1);
          if ($$) $$->value = $3;
          st->depth_reported = st->lex_error = 0;
      }
    | FN IDENT '(' names ')' '=' expr ';' {
          $$ = ast_stmt_new(A, ST_FN, L(@2), $2);
          if ($$) { $$->args = $4; $$->nargs = ast_arg_count($4); $$->value = $7; }
          st->depth_reported = st->lex_error = 0;
      }
    | FN IDENT '(' names ')' '{' stmts '}' {
          $$ = ast_stmt_new(A, ST_FN, L(@2), $2);
          if ($$) { $$->args = $4; $$->nargs = ast_arg_count($4); $$->has_body = 1; $$->body = stmt_reverse($7); }
          st->depth_reported = st->lex_error = 0;
      }
    | FN IDENT '(' names ')' '{' stmts error '}' {
          $$ = ast_stmt_new(A, ST_FN, L(@2), $2);
          if ($$) { $$->args = $4; $$->nargs = ast_arg_count($4); $$->has_body = 1; $$->body = stmt_reverse($7); }
          st->depth_reported = st->lex_error = 0;
          yyerrok;
      }
    | ';'                   { $$ = NULL; st->lex_error = 0; }
    | error ';'             { $$ = NULL; st->depth_reported = st->lex_error = 0; yyerrok; }
    ;

names
    : %empty                { $$ = NULL; }
    | namelist              { $$ = arg_reverse($1); }
    ;

namelist
    : IDENT                 { $$ = ast_arg_new(A, L(@1), $1, NULL, NULL); }
    | namelist ',' IDENT    { $$ = arg_push($1, ast_arg_new(A, L(@3), $3, NULL, NULL)); }
    ;

args
    : %empty                { $$ = NULL; }
    | arglist               { $$ = arg_reverse($1); }
    ;

arglist
    : arg                   { $$ = $1; }
    | arglist ',' arg       { $$ = arg_push($1, $3); }
    ;

arg
    : expr                          { $$ = ast_arg_new(A, L(@1), NULL, NULL, $1); }
    | IDENT '=' expr                { $$ = ast_arg_new(A, L(@1), $1, NULL, $3); }
    | IDENT ':' IDENT               { $$ = ast_arg_new(A, L(@1), $1, $3, NULL); }
    | IDENT ':' IDENT '=' expr      { $$ = ast_arg_new(A, L(@1), $1, $3, $5); }
    ;

expr
    : primary                       { $$ = $1; }
    | '-' expr %prec UMINUS         { $$ = bounded(st, ast_unary(A, L(@1), OP_NEG, $2)); }
    | '+' expr %prec UMINUS         { $$ = $2; }
    | NOT expr                      { $$ = bounded(st, ast_unary(A, L(@1), OP_NOT, $2)); }
    | expr '+' expr                 { $$ = bounded(st, ast_binary(A, L(@2), OP_ADD, $1, $3)); }
    | expr '-' expr                 { $$ = bounded(st, ast_binary(A, L(@2), OP_SUB, $1, $3)); }
    | expr '*' expr                 { $$ = bounded(st, ast_binary(A, L(@2), OP_MUL, $1, $3)); }
    | expr '/' expr                 { $$ = bounded(st, ast_binary(A, L(@2), OP_DIV, $1, $3)); }
    | expr '^' expr                 { $$ = bounded(st, ast_binary(A, L(@2), OP_POW, $1, $3)); }
    | expr '<' expr                 { $$ = bounded(st, ast_binary(A, L(@2), OP_LT, $1, $3)); }
    | expr LE expr                  { $$ = bounded(st, ast_binary(A, L(@2), OP_LE, $1, $3)); }
    | expr '>' expr                 { $$ = bounded(st, ast_binary(A, L(@2), OP_GT, $1, $3)); }
    | expr GE expr                  { $$ = bounded(st, ast_binary(A, L(@2), OP_GE, $1, $3)); }
    | expr EQ expr                  { $$ = bounded(st, ast_binary(A, L(@2), OP_EQ, $1, $3)); }
    | expr NE expr                  { $$ = bounded(st, ast_binary(A, L(@2), OP_NE, $1, $3)); }
    | expr AND expr                 { $$ = bounded(st, ast_binary(A, L(@2), OP_AND, $1, $3)); }
    | expr OR expr                  { $$ = bounded(st, ast_binary(A, L(@2), OP_OR, $1, $3)); }
    | IF expr THEN expr ELSE expr   { $$ = bounded(st, ast_if(A, L(@1), $2, $4, $6)); }
    ;

primary
    : NUMBER                        { $$ = ast_num(A, L(@1), $1, NULL, L(@1)); }
    | NUMBER IDENT                  { $$ = ast_num(A, L(@1), $1, $2, L(@2)); }
    | STRING                        { $$ = ast_leaf(A, EX_STR, L(@1), $1); }
    | IDENT                         { $$ = ast_leaf(A, EX_ID, L(@1), $1); }
    | IDENT '(' args ')'            { $$ = bounded(st, ast_call(A, L(@1), EX_CALL, $1, $3)); }
    | '[' args ']'                  { $$ = bounded(st, ast_call(A, L(@1), EX_VEC, NULL, $2)); }
    | '(' expr ')'                  { $$ = $2; }
    | primary '.' IDENT             { $$ = bounded(st, ast_member(A, L(@3), $1, $3)); }
    | primary '[' expr ']'          { $$ = bounded(st, ast_index(A, L(@2), $1, $3)); }
    ;

%%

int mnet_parse(mnet_ctx *ctx, int file)
{
    mnet_source *src = &ctx->sources[file];
    mnet_parse_state st = {0};
    st.ctx = ctx;
    st.file = file;
    st.line = 1;
    st.col = 1;
    int before = ctx->n_errors;
    yyscan_t scanner;
    if (yylex_init_extra(&st, &scanner) != 0) {
        mnet_error(ctx, mnet_no_loc(), "out of memory");
        return 1;
    }
    YY_BUFFER_STATE buf = yy_scan_bytes(src->text, (int)src->len, scanner);
    yyparse(&st, scanner);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    src->items = st.items;
    src->parsed = 1;
    return ctx->n_errors - before;
}
