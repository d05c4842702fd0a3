/* test_program.c - the global definitions and the constants' values.
 *
 * Definitions are found through a hash table, and constants and function
 * calls are remembered per graph in tables that grow with the program (a
 * fixed table made `mnetc --check` quadratic in the number of constants).
 * These cases check what must not change with that: a duplicate name is
 * still reported at the second definition with a note at the first, a
 * constant of a multi-name `const` statement is found, and values are right
 * after the tables have grown many times, also while a constant is being
 * evaluated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "eval.h"
#include "model.h"
#include "program.h"
#include "source.h"
#include "test_support.h"

typedef struct {
    mnet_ctx *ctx;
    mnet_program prog;
} run;

/* Loads `text`, collects, and (without errors so far) checks the program. */
static run run_text(const char *text)
{
    run r;
    memset(&r, 0, sizeof r);
    r.ctx = mnet_ctx_new();
    CU_ASSERT_FATAL(r.ctx != NULL);
    mnet_load_text(r.ctx, "t.mnet", text, (long)strlen(text));
    if (r.ctx->n_errors == 0)
        program_collect(r.ctx, &r.prog);
    if (r.ctx->n_errors == 0)
        check_program(r.ctx, &r.prog);
    return r;
}

static void run_free(run *r)
{
    program_free(&r->prog);
    mnet_ctx_free(r->ctx);
}

static void assert_diag(const run *r, int i, int is_note, int line, int col, const char *msg)
{
    CU_ASSERT_FATAL(r->ctx->n_diags > i);
    const mnet_diag *d = &r->ctx->diags[i];
    int ok = d->is_note == is_note && d->loc.line == line && d->loc.col == col && strstr(d->msg, msg);
    if (!ok)
        fprintf(stderr, "\n  %d:%d '%s', expected %d:%d '%s'\n", d->loc.line, d->loc.col, d->msg, line,
                col, msg);
    CU_ASSERT(ok);
}

/* Evaluates the constant `name` of r's program; returns 1 and sets *out. */
static int const_of(run *r, const char *name, double *out)
{
    mnet_arena arena = {0};
    eval_env E = {.ctx = r->ctx, .g = ir_new(), .arena = &arena, .prog = &r->prog};
    CU_ASSERT_FATAL(E.g != NULL);
    ast_expr use;
    memset(&use, 0, sizeof use);
    use.kind = EX_ID;
    use.loc = (src_loc){0, 1, 1};
    use.name = name;
    int ok = eval_const(&E, NULL, &use, name, out);
    arena_free(&arena);
    ir_free(E.g);
    return ok;
}

/* ---- duplicates ------------------------------------------------------------ */

static void test_duplicate_const(void)
{
    run r = run_text("const a = 1;\nconst b = 2;\nconst a = 3;\n");
    CU_ASSERT_EQUAL(r.ctx->n_errors, 1);
    CU_ASSERT_EQUAL(r.ctx->n_diags, 2);
    assert_diag(&r, 0, 0, 3, 7, "'a' is already defined (as a constant)");
    assert_diag(&r, 1, 1, 1, 7, "previous definition of 'a' is here");
    run_free(&r);

    /* within one statement, and against a function */
    r = run_text("fn f(x) = x;\nconst p = 1, q = 2, p = 4, f = 5;\n");
    CU_ASSERT_EQUAL(r.ctx->n_errors, 2);
    assert_diag(&r, 0, 0, 2, 21, "'p' is already defined (as a constant)");
    assert_diag(&r, 1, 1, 2, 7, "previous definition of 'p' is here");
    assert_diag(&r, 2, 0, 2, 28, "'f' is already defined (as a function)");
    assert_diag(&r, 3, 1, 1, 4, "previous definition of 'f' is here");
    run_free(&r);
}

/* 20,000 constants, then a duplicate of the first and of the last: both are
 * still found once the table has grown. */
static void test_duplicate_among_many(void)
{
    enum { N = 20000 };
    size_t cap = (size_t)N * 32 + 64;
    char *text = malloc(cap);
    CU_ASSERT_FATAL(text != NULL);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "const c%d = %d;\n", i, i);
    snprintf(text + len, cap - len, "const c0 = 1;\nconst c%d = 2;\n", N - 1);
    run r = run_text(text);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 2);
    assert_diag(&r, 0, 0, N + 1, 7, "'c0' is already defined");
    assert_diag(&r, 1, 1, 1, 7, "previous definition of 'c0' is here");
    assert_diag(&r, 2, 0, N + 2, 7, "'c19999' is already defined");
    assert_diag(&r, 3, 1, N, 7, "previous definition of 'c19999' is here");
    run_free(&r);
    free(text);
}

/* ---- values ---------------------------------------------------------------- */

/* c0 = 1, ci = c(i/2) + 1: ci is 1 + the bit length of i; the table grows
 * while constants are being evaluated through one another.  The constants
 * sit in one `const` statement (found by their own name = value). */
static void test_many_constant_values(void)
{
    enum { N = 5000 };
    size_t cap = (size_t)N * 80 + 64; /* 22 + 43 bytes a constant, at most */
    char *text = malloc(cap);
    CU_ASSERT_FATAL(text != NULL);
    size_t len = (size_t)snprintf(text, cap, "fn twice(x) = 2 * x;\nconst c0 = 1");
    for (int i = 1; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, ",\n  c%d = c%d + 1", i, i / 2);
    len += (size_t)snprintf(text + len, cap - len, ";\n");
    /* distinct calls: the call memo grows too */
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "const d%d = twice(%d) + twice(c%d);\n", i, i, i);
    run r = run_text(text);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 0);
    static const int probes[] = {0, 1, 2, 3, 64, 1000, 4095, 4096, N - 1};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        int i = probes[k], bits = 0;
        for (int x = i; x; x >>= 1)
            bits++;
        char name[32];
        double v = -1;
        snprintf(name, sizeof name, "c%d", i);
        CU_ASSERT(const_of(&r, name, &v) && v == 1 + bits);
        snprintf(name, sizeof name, "d%d", i);
        CU_ASSERT(const_of(&r, name, &v) && v == 2.0 * i + 2.0 * (1 + bits));
    }
    run_free(&r);
    free(text);
}

/* A constant defined through itself is still caught after many others. */
static void test_self_reference_among_many(void)
{
    enum { N = 3000 };
    size_t cap = (size_t)N * 32 + 128;
    char *text = malloc(cap);
    CU_ASSERT_FATAL(text != NULL);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "const c%d = %d;\n", i, i);
    snprintf(text + len, cap - len, "const x = y + 1;\nconst y = c7 * x;\n");
    run r = run_text(text);
    CU_ASSERT(r.ctx->n_errors >= 1);
    int found = 0;
    for (int i = 0; i < r.ctx->n_diags; i++)
        found |= !r.ctx->diags[i].is_note && strstr(r.ctx->diags[i].msg, "defined in terms of itself");
    CU_ASSERT(found);
    run_free(&r);
    free(text);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"duplicate constants", test_duplicate_const},
        {"duplicates among 20,000 constants", test_duplicate_among_many},
        {"values of 5,000 constants and calls", test_many_constant_values},
        {"self-reference among many constants", test_self_reference_among_many},
        {NULL, NULL},
    };
    return mnet_test_main("program", tests);
}
