/* test_parse.c - the lexer and parser on in-memory sources.
 *
 * Each case parses a text with mnet_parse and inspects the syntax tree:
 * statement forms, arguments, operator precedence (checked through the fully
 * parenthesised printer ast_expr_print), numbers, units, strings, comments,
 * functions, source positions, and recovery from several syntax errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "test_support.h"

/* ---- helpers -------------------------------------------------------------- */

typedef struct {
    mnet_ctx *ctx;
    int file;
    int errors;         /* what mnet_parse returned */
    ast_stmt *items;
} parsed;

static parsed parse(const char *text)
{
    parsed p;
    p.ctx = mnet_ctx_new();
    CU_ASSERT_FATAL(p.ctx != NULL);
    p.file = mnet_ctx_add_text(p.ctx, "t.mnet", text, (long)strlen(text));
    CU_ASSERT_FATAL(p.file >= 0);
    p.errors = mnet_parse(p.ctx, p.file);
    p.items = p.ctx->sources[p.file].items;
    CU_ASSERT(p.ctx->sources[p.file].parsed);
    return p;
}

static void done(parsed *p)
{
    mnet_ctx_free(p->ctx);
}

static int count_stmts(const ast_stmt *s)
{
    int n = 0;
    for (; s; s = s->next)
        n++;
    return n;
}

/* The expression printed fully parenthesised, into buf. */
static const char *show(const ast_expr *e, char *buf, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CU_ASSERT_FATAL(f != NULL);
    ast_expr_print(f, e);
    fclose(f);
    snprintf(buf, n, "%s", text);
    free(text);
    return buf;
}

/* Parses `const x = SRC;` and returns the printed value of x. */
static void expect_expr(const char *src, const char *want)
{
    char text[512], got[512];
    snprintf(text, sizeof text, "const x = %s;\n", src);
    parsed p = parse(text);
    if (p.errors != 0 || !p.items || !p.items->args || !p.items->args->value) {
        fprintf(stderr, "\n  '%s': %d errors\n", src, p.errors);
        CU_FAIL("expression did not parse");
        done(&p);
        return;
    }
    show(p.items->args->value, got, sizeof got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  '%s' parsed as '%s', expected '%s'\n", src, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
    done(&p);
}

/* The error diagnostics, in order, must be at these positions and contain
 * these substrings. */
typedef struct {
    int line, col;
    const char *msg;
} want_diag;

static void expect_errors(const parsed *p, int n, const want_diag *want)
{
    int k = 0;
    for (int i = 0; i < p->ctx->n_diags; i++) {
        const mnet_diag *d = &p->ctx->diags[i];
        if (d->is_note)
            continue;
        if (k < n) {
            int ok = d->loc.file == p->file && d->loc.line == want[k].line && d->loc.col == want[k].col &&
                     strstr(d->msg, want[k].msg) != NULL;
            if (!ok)
                fprintf(stderr, "\n  error %d: %d:%d '%s', expected %d:%d '%s'\n", k, d->loc.line,
                        d->loc.col, d->msg, want[k].line, want[k].col, want[k].msg);
            CU_ASSERT(ok);
        }
        k++;
    }
    if (k != n)
        fprintf(stderr, "\n  %d errors, expected %d\n", k, n);
    CU_ASSERT_EQUAL(k, n);
    CU_ASSERT_EQUAL(p->ctx->n_errors, n);
}

/* ---- statement forms ------------------------------------------------------- */

static void test_setting_forms(void)
{
    parsed p = parse("integrator euler;\n"
                     "step 10 ms;\n"
                     "effector E {\n"
                     "  ministeps 2;\n"
                     "  muscles relu(max_force = 500 N) { muscle A { path world(1, 2), point(0, 0); } }\n"
                     "}\n"
                     "init { x = 1 + 2; }\n"
                     ";;\n"
                     "damping;\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    CU_ASSERT_EQUAL(count_stmts(p.items), 5); /* the empty statements leave nothing */
    const ast_stmt *s = p.items;
    CU_ASSERT_EQUAL(s->kind, ST_SETTING);
    CU_ASSERT_STRING_EQUAL(s->head, "integrator");
    CU_ASSERT_EQUAL(s->nargs, 1);
    CU_ASSERT_FALSE(s->has_body);
    CU_ASSERT_EQUAL(s->args->value->kind, EX_ID);
    CU_ASSERT_STRING_EQUAL(s->args->value->name, "euler");
    CU_ASSERT_PTR_NULL(s->args->name);

    s = s->next; /* step 10 ms */
    CU_ASSERT_STRING_EQUAL(s->head, "step");
    CU_ASSERT_EQUAL(s->args->value->kind, EX_NUM);
    CU_ASSERT_DOUBLE_EQUAL(s->args->value->num, 10, 0);
    CU_ASSERT_STRING_EQUAL(s->args->value->unit, "ms");
    CU_ASSERT_EQUAL(s->args->value->unit_loc.line, 2);
    CU_ASSERT_EQUAL(s->args->value->unit_loc.col, 9);

    s = s->next; /* effector E { ... } */
    CU_ASSERT_STRING_EQUAL(s->head, "effector");
    CU_ASSERT_TRUE(s->has_body);
    CU_ASSERT_EQUAL(count_stmts(s->body), 2);
    CU_ASSERT_STRING_EQUAL(s->body->head, "ministeps");
    const ast_stmt *mu = s->body->next;
    CU_ASSERT_STRING_EQUAL(mu->head, "muscles");
    CU_ASSERT_TRUE(mu->has_body);
    CU_ASSERT_EQUAL(mu->args->value->kind, EX_CALL);
    CU_ASSERT_STRING_EQUAL(mu->args->value->name, "relu");
    CU_ASSERT_STRING_EQUAL(mu->body->head, "muscle");
    CU_ASSERT_STRING_EQUAL(mu->body->body->head, "path");
    CU_ASSERT_EQUAL(mu->body->body->nargs, 2);

    s = s->next; /* init { x = 1 + 2; } */
    CU_ASSERT_EQUAL(s->body->kind, ST_ASSIGN);
    CU_ASSERT_STRING_EQUAL(s->body->head, "x");
    CU_ASSERT_EQUAL(s->body->value->kind, EX_BINARY);
    CU_ASSERT_EQUAL(s->body->value->op, OP_ADD);

    s = s->next; /* damping; (no args) */
    CU_ASSERT_STRING_EQUAL(s->head, "damping");
    CU_ASSERT_EQUAL(s->nargs, 0);
    CU_ASSERT_PTR_NULL(s->args);
    CU_ASSERT_PTR_NULL(s->next);
    done(&p);
}

static void test_empty_source(void)
{
    parsed p = parse("");
    CU_ASSERT_EQUAL(p.errors, 0);
    CU_ASSERT_PTR_NULL(p.items);
    done(&p);
    p = parse("# only a comment\n\n   \t\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    CU_ASSERT_PTR_NULL(p.items);
    done(&p);
}

static void test_arguments(void)
{
    parsed p = parse("param max_force: N, a_min = 0, tau: s = 15 ms, k;\n"
                     "noise action = 0.1, 2, vision = [1, 2];\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    const ast_stmt *s = p.items;
    CU_ASSERT_EQUAL(s->nargs, 4);
    const ast_arg *a = s->args;
    /* max_force: N */
    CU_ASSERT_STRING_EQUAL(a->name, "max_force");
    CU_ASSERT_STRING_EQUAL(a->unit, "N");
    CU_ASSERT_PTR_NULL(a->value);
    CU_ASSERT_EQUAL(a->loc.line, 1);
    CU_ASSERT_EQUAL(a->loc.col, 7);
    /* a_min = 0 */
    a = a->next;
    CU_ASSERT_STRING_EQUAL(a->name, "a_min");
    CU_ASSERT_PTR_NULL(a->unit);
    CU_ASSERT_DOUBLE_EQUAL(a->value->num, 0, 0);
    /* tau: s = 15 ms */
    a = a->next;
    CU_ASSERT_STRING_EQUAL(a->name, "tau");
    CU_ASSERT_STRING_EQUAL(a->unit, "s");
    CU_ASSERT_DOUBLE_EQUAL(a->value->num, 15, 0);
    CU_ASSERT_STRING_EQUAL(a->value->unit, "ms");
    /* k: positional name */
    a = a->next;
    CU_ASSERT_PTR_NULL(a->name);
    CU_ASSERT_EQUAL(a->value->kind, EX_ID);
    CU_ASSERT_STRING_EQUAL(a->value->name, "k");
    CU_ASSERT_PTR_NULL(a->next);

    s = s->next; /* named and positional mixed */
    CU_ASSERT_EQUAL(s->nargs, 3);
    a = s->args;
    CU_ASSERT_STRING_EQUAL(a->name, "action");
    CU_ASSERT_PTR_NULL(a->next->name);
    CU_ASSERT_DOUBLE_EQUAL(a->next->value->num, 2, 0);
    CU_ASSERT_STRING_EQUAL(a->next->next->name, "vision");
    CU_ASSERT_EQUAL(a->next->next->value->kind, EX_VEC);
    CU_ASSERT_EQUAL(a->next->next->value->nargs, 2);
    done(&p);
}

static void test_call_arguments(void)
{
    parsed p = parse("const x = f(1, y = 2, [3, 4])[0];\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    const ast_expr *e = p.items->args->value;
    CU_ASSERT_EQUAL(e->kind, EX_INDEX);
    const ast_expr *c = e->a;
    CU_ASSERT_EQUAL(c->kind, EX_CALL);
    CU_ASSERT_STRING_EQUAL(c->name, "f");
    CU_ASSERT_EQUAL(c->nargs, 3);
    CU_ASSERT_PTR_NULL(c->args->name);
    CU_ASSERT_STRING_EQUAL(c->args->next->name, "y");
    CU_ASSERT_EQUAL(c->args->next->next->value->kind, EX_VEC);
    char buf[128];
    CU_ASSERT_STRING_EQUAL(show(e, buf, sizeof buf), "f(1, y = 2, [3, 4])[0]");
    done(&p);
}

/* ---- precedence -------------------------------------------------------------- */

static void test_precedence_arithmetic(void)
{
    expect_expr("a + b * c", "(a + (b * c))");
    expect_expr("a * b + c", "((a * b) + c)");
    expect_expr("a - b - c", "((a - b) - c)");
    expect_expr("a / b / c", "((a / b) / c)");
    expect_expr("a - b + c * d / e", "((a - b) + ((c * d) / e))");
    expect_expr("(a + b) * c", "((a + b) * c)");
    expect_expr("-x ^ 2", "-((x ^ 2))");
    expect_expr("-x * y", "(-(x) * y)");
    expect_expr("2 * -3", "(2 * -(3))");
    expect_expr("a ^ b ^ c", "(a ^ (b ^ c))");
    expect_expr("a ^ -b", "(a ^ -(b))");
    expect_expr("- - a", "-(-(a))");
    expect_expr("+a", "a");
    expect_expr("a * (b - c) ^ 2", "(a * ((b - c) ^ 2))");
}

static void test_precedence_logic(void)
{
    expect_expr("a < b + 1", "(a < (b + 1))");
    expect_expr("a + 1 >= b * 2", "((a + 1) >= (b * 2))");
    expect_expr("a == b", "(a == b)");
    expect_expr("a != b", "(a != b)");
    expect_expr("a <= b and c > d", "((a <= b) and (c > d))");
    expect_expr("a or b and c", "(a or (b and c))");
    expect_expr("a and b or c", "((a and b) or c)");
    expect_expr("not a and b", "(not (a) and b)");
    expect_expr("not a < b", "not ((a < b))");
    expect_expr("not not a", "not (not (a))");
    expect_expr("a < b and c >= d or not e", "(((a < b) and (c >= d)) or not (e))");
}

static void test_precedence_if(void)
{
    expect_expr("if a then b else c", "(if a then b else c)");
    expect_expr("if a then b else c + 1", "(if a then b else (c + 1))");
    expect_expr("if a > 0 and b then x * 2 else -x", "(if ((a > 0) and b) then (x * 2) else -(x))");
    expect_expr("if a then if b then c else d else e", "(if a then (if b then c else d) else e)");
    expect_expr("if a then b else if c then d else e", "(if a then b else (if c then d else e))");
    expect_expr("1 + (if a then b else c)", "(1 + (if a then b else c))");
    expect_expr("max(if a then 1 else 2, 3)", "max((if a then 1 else 2), 3)");
}

static void test_comparisons_do_not_chain(void)
{
    parsed p = parse("const x = a < b < c;\n");
    const want_diag want[] = {{1, 17, "syntax error"}};
    expect_errors(&p, 1, want);
    done(&p);
}

static void test_vectors_and_index(void)
{
    expect_expr("[1, 2, 3]", "[1, 2, 3]");
    expect_expr("[[1, 0], [0, 1]]", "[[1, 0], [0, 1]]");
    expect_expr("v[0] + m[1][2]", "(v[0] + m[1][2])");
    expect_expr("[a + b, -c][1]", "[(a + b), -(c)][1]");
    expect_expr("p.x", "p.x");
}

/* ---- tokens -------------------------------------------------------------------- */

static void test_numbers(void)
{
    static const struct {
        const char *text;
        double value;
    } cases[] = {
        {"12", 12}, {"0.5", 0.5}, {".5", 0.5}, {"5.", 5}, {"1e-3", 1e-3}, {"2.5E+2", 250},
        {"007", 7}, {"1.5e2", 150},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "const x = %s;", cases[i].text);
        parsed p = parse(text);
        CU_ASSERT_EQUAL(p.errors, 0);
        CU_ASSERT_EQUAL_FATAL(p.items->args->value->kind, EX_NUM);
        CU_ASSERT_DOUBLE_EQUAL(p.items->args->value->num, cases[i].value, 1e-15 * cases[i].value);
        CU_ASSERT_PTR_NULL(p.items->args->value->unit);
        done(&p);
    }
}

static void test_numbers_with_units(void)
{
    parsed p = parse("const a = 10 ms, b = 90 deg, c = 1.82 kg, d = [0 deg, 135 deg];\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    const ast_arg *a = p.items->args;
    CU_ASSERT_STRING_EQUAL(a->value->unit, "ms");
    CU_ASSERT_DOUBLE_EQUAL(a->value->num, 10, 0);
    CU_ASSERT_EQUAL(a->value->loc.col, 11);
    CU_ASSERT_EQUAL(a->value->unit_loc.col, 14);
    CU_ASSERT_STRING_EQUAL(a->next->value->unit, "deg");
    CU_ASSERT_STRING_EQUAL(a->next->next->value->unit, "kg");
    const ast_expr *d = a->next->next->next->value;
    CU_ASSERT_EQUAL(d->kind, EX_VEC);
    CU_ASSERT_STRING_EQUAL(d->args->value->unit, "deg");
    CU_ASSERT_STRING_EQUAL(d->args->next->value->unit, "deg");
    /* the unit is only a name after a number: the parser does not judge it */
    done(&p);
    p = parse("const a = 2 parsec;\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    CU_ASSERT_STRING_EQUAL(p.items->args->value->unit, "parsec");
    done(&p);
}

static void test_number_out_of_range(void)
{
    parsed p = parse("const a = 1e400;\n");
    const want_diag want[] = {{1, 11, "number '1e400' is out of range"}};
    expect_errors(&p, 1, want);
    done(&p);
}

static void test_strings(void)
{
    parsed p = parse("import \"lib/muscles.mnet\";\nimport \"\";\nconst s = \"# not a comment\";\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    CU_ASSERT_EQUAL(count_stmts(p.items), 3);
    CU_ASSERT_EQUAL(p.items->args->value->kind, EX_STR);
    CU_ASSERT_STRING_EQUAL(p.items->args->value->str, "lib/muscles.mnet");
    CU_ASSERT_EQUAL(p.items->args->value->loc.col, 8);
    CU_ASSERT_STRING_EQUAL(p.items->next->args->value->str, "");
    CU_ASSERT_STRING_EQUAL(p.items->next->next->args->value->str, "# not a comment");
    done(&p);
}

static void test_comments_and_whitespace(void)
{
    parsed p = parse("# a comment; with a semicolon { and a brace\n"
                     "step 1; # trailing comment\n"
                     "\t ministeps  2 ;\r\n"
                     "#last line without newline");
    CU_ASSERT_EQUAL(p.errors, 0);
    CU_ASSERT_EQUAL(count_stmts(p.items), 2);
    CU_ASSERT_STRING_EQUAL(p.items->head, "step");
    CU_ASSERT_EQUAL(p.items->loc.line, 2);
    CU_ASSERT_EQUAL(p.items->loc.col, 1);
    /* a tab is one byte: the column counts bytes */
    CU_ASSERT_STRING_EQUAL(p.items->next->head, "ministeps");
    CU_ASSERT_EQUAL(p.items->next->loc.line, 3);
    CU_ASSERT_EQUAL(p.items->next->loc.col, 3);
    CU_ASSERT_EQUAL(p.items->next->args->value->loc.col, 14);
    done(&p);
    /* non-ASCII bytes are fine inside comments and strings */
    p = parse("# caf\xc3\xa9 \xe2\x80\x94 comment\nconst s = \"\xc3\xa9\";\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    CU_ASSERT_EQUAL(count_stmts(p.items), 1);
    done(&p);
}

static void test_keywords_are_reserved(void)
{
    parsed p = parse("const if = 1;\n");
    CU_ASSERT(p.errors > 0);
    done(&p);
    /* names that start with a keyword are names */
    p = parse("const iffy = 1, android = 2, notable = 3, fnord = 4, orbit = 5;\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    CU_ASSERT_EQUAL(p.items->nargs, 5);
    done(&p);
}

/* ---- functions ------------------------------------------------------------------ */

static void test_fn_expression_body(void)
{
    parsed p = parse("fn sq(x) = x * x;\nfn zero() = 0;\nfn add3(a, b, c) = a + b + c;\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    const ast_stmt *s = p.items;
    CU_ASSERT_EQUAL(s->kind, ST_FN);
    CU_ASSERT_STRING_EQUAL(s->head, "sq");
    CU_ASSERT_EQUAL(s->loc.col, 4); /* the function's name */
    CU_ASSERT_EQUAL(s->nargs, 1);
    CU_ASSERT_STRING_EQUAL(s->args->name, "x");
    CU_ASSERT_FALSE(s->has_body);
    char buf[64];
    CU_ASSERT_STRING_EQUAL(show(s->value, buf, sizeof buf), "(x * x)");
    s = s->next;
    CU_ASSERT_STRING_EQUAL(s->head, "zero");
    CU_ASSERT_EQUAL(s->nargs, 0);
    s = s->next;
    CU_ASSERT_EQUAL(s->nargs, 3);
    CU_ASSERT_STRING_EQUAL(s->args->next->next->name, "c");
    done(&p);
}

static void test_fn_block_body(void)
{
    parsed p = parse("fn rate(u, a) {\n"
                     "  let uc = clamp(u, 0, 1), ac = a;\n"
                     "  let tau = if uc > ac then 1 else 2;\n"
                     "  return (uc - ac) / tau;\n"
                     "}\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    const ast_stmt *s = p.items;
    CU_ASSERT_EQUAL(s->kind, ST_FN);
    CU_ASSERT_TRUE(s->has_body);
    CU_ASSERT_PTR_NULL(s->value);
    CU_ASSERT_EQUAL(count_stmts(s->body), 3);
    CU_ASSERT_STRING_EQUAL(s->body->head, "let");
    CU_ASSERT_EQUAL(s->body->nargs, 2);
    CU_ASSERT_STRING_EQUAL(s->body->args->name, "uc");
    const ast_stmt *r = s->body->next->next;
    CU_ASSERT_STRING_EQUAL(r->head, "return");
    CU_ASSERT_EQUAL(r->loc.line, 4);
    char buf[64];
    CU_ASSERT_STRING_EQUAL(show(r->args->value, buf, sizeof buf), "((uc - ac) / tau)");
    done(&p);
}

static void test_fn_syntax_errors(void)
{
    parsed p = parse("fn (x) = x;\n"
                     "fn f(1) = 1;\n"
                     "fn g(x) = ;\n"
                     "fn h(, x) = x;\n"
                     "fn k(x,) = x;\n");
    const want_diag want[] = {
        {1, 4, "syntax error, unexpected '('"},
        {2, 6, "syntax error, unexpected number"},
        {3, 11, "syntax error, unexpected ';'"},
        {4, 6, "syntax error, unexpected ','"},
        {5, 8, "syntax error, unexpected ')'"},
    };
    expect_errors(&p, 5, want);
    done(&p);
}

/* ---- positions -------------------------------------------------------------------- */

static void test_positions(void)
{
    parsed p = parse("effector E {\n"
                     "    step 1 + 2 * x;\n"
                     "  skeleton point_mass(dim = 2);\n"
                     "}\n");
    CU_ASSERT_EQUAL(p.errors, 0);
    const ast_stmt *e = p.items;
    CU_ASSERT_EQUAL(e->loc.line, 1);
    CU_ASSERT_EQUAL(e->loc.col, 1);
    CU_ASSERT_EQUAL(e->args->value->loc.col, 10);
    const ast_stmt *st = e->body;
    CU_ASSERT_EQUAL(st->loc.line, 2);
    CU_ASSERT_EQUAL(st->loc.col, 5);
    const ast_expr *v = st->args->value; /* 1 + (2 * x): a binary is at its operator */
    CU_ASSERT_EQUAL(v->loc.col, 12);
    CU_ASSERT_EQUAL(v->a->loc.col, 10);
    CU_ASSERT_EQUAL(v->b->loc.col, 16);
    CU_ASSERT_EQUAL(v->b->b->loc.col, 18);
    const ast_stmt *sk = st->next;
    CU_ASSERT_EQUAL(sk->loc.line, 3);
    CU_ASSERT_EQUAL(sk->loc.col, 3);
    const ast_arg *dim = sk->args->value->args;
    CU_ASSERT_EQUAL(dim->loc.col, 23);
    CU_ASSERT_EQUAL(dim->value->loc.col, 29);
    for (const ast_stmt *s = p.items; s; s = s->next)
        CU_ASSERT_EQUAL(s->loc.file, p.file);
    done(&p);
}

/* ---- error recovery ----------------------------------------------------------------- */

static void test_recovery_reports_every_error(void)
{
    parsed p = parse("const a = 1;\n"
                     "const b = (2 + ;\n"         /* 2:16 */
                     "const c = 3;\n"
                     "step 10 ms\n"               /* missing ';': found at 5:1 */
                     "integrator euler;\n"
                     "x = = 2;\n"                 /* 6:5 */
                     "effector E {\n"
                     "  ministeps 1 2;\n"          /* 8:15 */
                     "  integrator rk4;\n"
                     "}\n"
                     "const d = [1, 2;\n");        /* 11:16 */
    const want_diag want[] = {
        {2, 16, "syntax error, unexpected ';'"},
        {5, 1, "syntax error, unexpected name"},
        {6, 5, "syntax error, unexpected '='"},
        {8, 15, "syntax error, unexpected number"},
        {11, 16, "syntax error, unexpected ';'"},
    };
    expect_errors(&p, 5, want);
    CU_ASSERT_EQUAL(p.errors, 5);
    /* what parsed between the errors is kept */
    int consts = 0, effectors = 0;
    for (const ast_stmt *s = p.items; s; s = s->next) {
        consts += !strcmp(s->head, "const");
        if (!strcmp(s->head, "effector")) {
            effectors++;
            CU_ASSERT_EQUAL(count_stmts(s->body), 1); /* integrator rk4 */
        }
    }
    CU_ASSERT_EQUAL(consts, 2);
    CU_ASSERT_EQUAL(effectors, 1);
    done(&p);
}

static void test_recovery_unbalanced(void)
{
    parsed p = parse("effector E {\n  step 1;\n");
    const want_diag want[] = {{3, 1, "syntax error, unexpected end of file"}};
    expect_errors(&p, 1, want);
    /* a note points at the brace left open */
    CU_ASSERT_EQUAL_FATAL(p.ctx->n_diags, 2);
    CU_ASSERT_TRUE(p.ctx->diags[1].is_note);
    CU_ASSERT_EQUAL(p.ctx->diags[1].loc.line, 1);
    CU_ASSERT_EQUAL(p.ctx->diags[1].loc.col, 12);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.ctx->diags[1].msg, "this '{' is not closed"));
    done(&p);
    p = parse("}\nconst a = 1;\n");
    const want_diag want2[] = {{1, 1, "syntax error, unexpected '}'"}};
    expect_errors(&p, 1, want2);
    CU_ASSERT_EQUAL(count_stmts(p.items), 1);
    done(&p);
}

/* A missing ';' before '}' costs one error: the '}' still closes its block. */
static void test_recovery_missing_semicolon(void)
{
    parsed p = parse("effector E {\n"
                     "  muscles relu { muscle A { path world(1, 1), point(0, 0) } }\n"
                     "  step 10 ms\n"
                     "}\n"
                     "const a = 1;\n"
                     "fn f(x) { return x }\n"
                     "const b = 2;\n");
    const want_diag want[] = {
        {2, 59, "syntax error, unexpected '}'"},
        {4, 1, "syntax error, unexpected '}'"},
        {6, 20, "syntax error, unexpected '}'"},
    };
    expect_errors(&p, 3, want);
    /* the effector, both constants and the function are there */
    CU_ASSERT_EQUAL(count_stmts(p.items), 4);
    const ast_stmt *e = p.items;
    CU_ASSERT_STRING_EQUAL(e->head, "effector");
    CU_ASSERT_EQUAL(count_stmts(e->body), 1); /* muscles; the bad step is dropped */
    CU_ASSERT_STRING_EQUAL(e->body->head, "muscles");
    CU_ASSERT_STRING_EQUAL(e->body->body->head, "muscle");
    CU_ASSERT_STRING_EQUAL(e->next->head, "const");
    CU_ASSERT_EQUAL(e->next->next->kind, ST_FN);
    CU_ASSERT_STRING_EQUAL(e->next->next->next->args->name, "b");
    done(&p);
}

/* A lexical error explains the syntax error it causes: one error each. */
static void test_lexical_error_is_not_repeated(void)
{
    parsed p = parse("const z = 1 $ 2;\n"
                     "const y = 10ms;\n"
                     "const s = \"open;\n"
                     "const t = 2;\n"
                     "const u = = 3;\n");
    const want_diag want[] = {
        {1, 13, "unexpected character '$'"},
        {2, 11, "malformed number '10ms'"},
        {3, 11, "unterminated string"},
        {5, 11, "syntax error, unexpected '='"},
    };
    expect_errors(&p, 4, want);
    done(&p);
}

/* Lists grow in constant time: 200k statements, and one statement of 100k
 * arguments, parse in linear time and keep their order. */
static void test_long_lists(void)
{
    int n = 200000;
    char *text = malloc((size_t)n * 24 + 100000 * 8 + 64);
    CU_ASSERT_FATAL(text != NULL);
    char *p = text;
    for (int i = 0; i < n; i++)
        p += sprintf(p, "const c%d = %d;\n", i, i);
    p += sprintf(p, "v ");
    for (int i = 0; i < 100000; i++)
        p += sprintf(p, i ? ", %d" : "%d", i);
    sprintf(p, ";\n");
    clock_t t0 = clock();
    parsed r = parse(text);
    double dt = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CU_ASSERT_EQUAL(r.errors, 0);
    CU_ASSERT_EQUAL(count_stmts(r.items), n + 1);
    CU_ASSERT_STRING_EQUAL(r.items->args->name, "c0");
    CU_ASSERT_STRING_EQUAL(r.items->next->args->name, "c1");
    const ast_stmt *last = r.items;
    while (last->next)
        last = last->next;
    CU_ASSERT_EQUAL(last->nargs, 100000);
    CU_ASSERT_DOUBLE_EQUAL(last->args->value->num, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(last->args->next->value->num, 1, 0);
    if (dt > 5)
        fprintf(stderr, "\n  parsing took %.1f s\n", dt);
    CU_ASSERT(dt < 5);
    done(&r);
    free(text);
}

/* The parser keeps no global state: two contexts parse side by side. */
static void test_reentrant(void)
{
    parsed a = parse("const a = 1 + 2;\n");
    parsed b = parse("const b = (;\n");
    parsed c = parse("const c = 3;\n");
    CU_ASSERT_EQUAL(a.errors, 0);
    CU_ASSERT_EQUAL(b.errors, 1);
    CU_ASSERT_EQUAL(c.errors, 0);
    CU_ASSERT_STRING_EQUAL(a.items->args->name, "a");
    CU_ASSERT_STRING_EQUAL(c.items->args->name, "c");
    done(&a);
    done(&b);
    done(&c);
    /* two files of one context: positions name their file */
    mnet_ctx *ctx = mnet_ctx_new();
    int f0 = mnet_ctx_add_text(ctx, "one.mnet", "const a = 1;\n", 13);
    int f1 = mnet_ctx_add_text(ctx, "two.mnet", "\n\nconst b = ;\n", 14);
    CU_ASSERT_EQUAL(mnet_parse(ctx, f0), 0);
    CU_ASSERT_EQUAL(mnet_parse(ctx, f1), 1);
    CU_ASSERT_EQUAL(ctx->n_diags, 1);
    CU_ASSERT_EQUAL(ctx->diags[0].loc.file, f1);
    CU_ASSERT_EQUAL(ctx->diags[0].loc.line, 3);
    CU_ASSERT_EQUAL(ctx->diags[0].loc.col, 11);
    mnet_ctx_free(ctx);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"setting forms", test_setting_forms},
        {"empty source", test_empty_source},
        {"named, positional and unit arguments", test_arguments},
        {"call arguments", test_call_arguments},
        {"precedence: arithmetic", test_precedence_arithmetic},
        {"precedence: comparisons and logic", test_precedence_logic},
        {"precedence: if-then-else", test_precedence_if},
        {"comparisons do not chain", test_comparisons_do_not_chain},
        {"vectors and indexing", test_vectors_and_index},
        {"numbers", test_numbers},
        {"numbers with units", test_numbers_with_units},
        {"number out of range", test_number_out_of_range},
        {"strings", test_strings},
        {"comments and whitespace", test_comments_and_whitespace},
        {"keywords are reserved", test_keywords_are_reserved},
        {"fn with an expression body", test_fn_expression_body},
        {"fn with a block body", test_fn_block_body},
        {"fn syntax errors", test_fn_syntax_errors},
        {"source positions", test_positions},
        {"recovery reports every error", test_recovery_reports_every_error},
        {"recovery from unbalanced braces", test_recovery_unbalanced},
        {"recovery from a missing ';' before '}'", test_recovery_missing_semicolon},
        {"a lexical error is not repeated", test_lexical_error_is_not_repeated},
        {"long lists", test_long_lists},
        {"reentrant", test_reentrant},
        {NULL, NULL},
    };
    return mnet_test_main("parse", tests);
}
