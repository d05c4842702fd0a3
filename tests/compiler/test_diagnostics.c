/* test_diagnostics.c - one case per kind of diagnostic the front end gives.
 *
 * Each case writes a small source in which a backquote (`) marks where the
 * error must be reported and a tilde (~) where its note must be; the markers
 * are removed before compiling.  The case asserts the message (a substring
 * of it), the line and the column, and that the error is the only one: a
 * mistake gives one error, not a cascade.  Every diagnostic of every case
 * must carry a position, and printing them must show FILE:LINE:COL.
 *
 * `check` runs what `mnetc --check` runs (load, collect, check every
 * definition); `compile` what `mnetc` runs (load, collect, lower the
 * effector). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "model.h"
#include "program.h"
#include "source.h"
#include "test_support.h"

/* ---- helpers ---------------------------------------------------------------- */

typedef enum { CHECK, COMPILE } mode;

typedef struct {
    mnet_ctx *ctx;
    mnet_program prog;
} run;

static run run_text(const char *text, long len, mode m)
{
    run r;
    memset(&r, 0, sizeof r);
    r.ctx = mnet_ctx_new();
    CU_ASSERT_FATAL(r.ctx != NULL);
    mnet_ctx_add_search_dir(r.ctx, MNET_SOURCE_DIR "/models");
    mnet_load_text(r.ctx, "t.mnet", text, len);
    if (r.ctx->n_errors == 0)
        program_collect(r.ctx, &r.prog);
    if (r.ctx->n_errors == 0) {
        if (m == CHECK)
            check_program(r.ctx, &r.prog);
        else
            effector_free(lower_effector(r.ctx, &r.prog, NULL));
    }
    return r;
}

static run run_file(const char *path, mode m)
{
    run r;
    memset(&r, 0, sizeof r);
    r.ctx = mnet_ctx_new();
    CU_ASSERT_FATAL(r.ctx != NULL);
    mnet_ctx_add_search_dir(r.ctx, MNET_SOURCE_DIR "/models");
    mnet_load_file(r.ctx, path, mnet_no_loc());
    if (r.ctx->n_errors == 0)
        program_collect(r.ctx, &r.prog);
    if (r.ctx->n_errors == 0) {
        if (m == CHECK)
            check_program(r.ctx, &r.prog);
        else
            effector_free(lower_effector(r.ctx, &r.prog, NULL));
    }
    return r;
}

static void run_free(run *r)
{
    program_free(&r->prog);
    mnet_ctx_free(r->ctx);
}

/* What mnet_print_diags writes (malloc'd). */
static char *printed(const mnet_ctx *ctx)
{
    /* the stream's buffer pointer lives on the heap: gcc 12 at -O3 takes
     * the address of a local given to open_memstream for a pointer into
     * that local (-Wdangling-pointer) */
    struct {
        char *text;
        size_t len;
    } *buf = calloc(1, sizeof *buf);
    CU_ASSERT_FATAL(buf != NULL);
    FILE *f = open_memstream(&buf->text, &buf->len);
    CU_ASSERT_FATAL(f != NULL);
    mnet_print_diags(ctx, f);
    fclose(f);
    char *text = buf->text;
    free(buf);
    return text;
}

static void dump(const mnet_ctx *ctx)
{
    char *text = printed(ctx);
    fprintf(stderr, "\n---- diagnostics ----\n%s---------------------\n", text);
    free(text);
}

/* Every diagnostic has a file, a line and a column. */
static void assert_positioned(const mnet_ctx *ctx)
{
    for (int i = 0; i < ctx->n_diags; i++) {
        const mnet_diag *d = &ctx->diags[i];
        int ok = d->loc.file >= 0 && d->loc.file < ctx->n_sources && d->loc.line >= 1 && d->loc.col >= 1;
        if (!ok)
            fprintf(stderr, "\n  unpositioned %s: '%s'\n", d->is_note ? "note" : "error", d->msg);
        CU_ASSERT(ok);
    }
}

/* Removes the markers; the positions of ` and ~ go to err and note (line 0
 * when absent). */
static char *strip(const char *src, src_loc *err, src_loc *note)
{
    char *out = malloc(strlen(src) + 1);
    CU_ASSERT_FATAL(out != NULL);
    memset(err, 0, sizeof *err);
    memset(note, 0, sizeof *note);
    int line = 1, col = 1;
    size_t n = 0;
    for (const char *p = src; *p; p++) {
        if (*p == '`' || *p == '~') {
            src_loc *l = *p == '`' ? err : note;
            l->line = line;
            l->col = col;
            continue;
        }
        out[n++] = *p;
        if (*p == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    out[n] = '\0';
    return out;
}

static int diag_matches(const mnet_diag *d, int file, src_loc at, const char *msg)
{
    return d->loc.file == file && d->loc.line == at.line && d->loc.col == at.col && strstr(d->msg, msg);
}

/* The source gives exactly `n_errors` errors; the first is `msg` at the `
 * marker, followed by the note `note_msg` at the ~ marker when given. */
static void expect_n(mode m, const char *src, int n_errors, const char *msg, const char *note_msg)
{
    src_loc at, note_at;
    char *text = strip(src, &at, &note_at);
    CU_ASSERT_FATAL(at.line > 0); /* the case marks where the error goes */
    run r = run_text(text, (long)strlen(text), m);
    int ok = r.ctx->n_diags > 0 && !r.ctx->diags[0].is_note && diag_matches(&r.ctx->diags[0], 0, at, msg);
    if (!ok)
        fprintf(stderr, "\n  expected error at %d:%d containing \"%s\"", at.line, at.col, msg);
    CU_ASSERT(ok);
    if (note_msg) {
        int found = 0;
        for (int i = 1; i < r.ctx->n_diags && r.ctx->diags[i].is_note && !found; i++)
            found = diag_matches(&r.ctx->diags[i], 0, note_at, note_msg);
        if (!found)
            fprintf(stderr, "\n  expected note at %d:%d containing \"%s\"", note_at.line, note_at.col,
                    note_msg);
        CU_ASSERT(found);
    }
    if (r.ctx->n_errors != n_errors)
        fprintf(stderr, "\n  %d errors, expected %d", r.ctx->n_errors, n_errors);
    CU_ASSERT_EQUAL(r.ctx->n_errors, n_errors);
    assert_positioned(r.ctx);
    /* the printed form names the file, line and column */
    char head[64];
    snprintf(head, sizeof head, "t.mnet:%d:%d: error: ", at.line, at.col);
    char *out = printed(r.ctx);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, head));
    free(out);
    if (!ok || r.ctx->n_errors != n_errors)
        dump(r.ctx);
    run_free(&r);
    free(text);
}

static void expect(mode m, const char *src, const char *msg)
{
    expect_n(m, src, 1, msg, NULL);
}

static void expect_note(mode m, const char *src, const char *msg, const char *note)
{
    expect_n(m, src, 1, msg, note);
}

static void expect_clean(mode m, const char *src)
{
    run r = run_text(src, (long)strlen(src), m);
    if (r.ctx->n_errors)
        dump(r.ctx);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 0);
    run_free(&r);
}

/* A muscle model and an effector around it; MODEL_EXTRA, MUSCLE and
 * EFFECTOR_EXTRA are spliced in by the cases. */
#define MODEL(EXTRA)                                              \
    "muscle_model m {\n"                                          \
    "  param max_force: N, tau: s = 20 ms;\n"                     \
    "  input u;\n"                                                \
    "  geometry l_mt, v_mt;\n"                                    \
    "  state activation = 0, force;\n"                            \
    "  der activation = (u - activation) / tau;\n"                \
    "  update {\n"                                                \
    "    activation = activation + dt * der(activation);\n"       \
    "    force = activation * max_force;\n"                       \
    "  }\n"                                                       \
    "  sense l_mt, v_mt;\n" EXTRA "}\n"

#define EFFECTOR(SKELETON, MUSCLES, EXTRA)                        \
    MODEL("")                                                     \
    "effector E {\n"                                              \
    "  skeleton " SKELETON ";\n"                                  \
    "  muscles m(max_force = 100 N) {\n" MUSCLES "  }\n" EXTRA "}\n"

#define PM "point_mass(dim = 2, mass = 1 kg)"
#define MUSCLE_A "    muscle A { path world(1, 1), point(0, 0); }\n"

/* ---- the lexer and parser ------------------------------------------------------ */

static void test_syntax_error(void)
{
    expect(CHECK, "const x = (1 + `;\n", "syntax error, unexpected ';'");
    expect(CHECK, "const a = 1;\n`}\n", "syntax error, unexpected '}'");
    expect(CHECK, "step 10 ms\n`integrator euler;\n", "syntax error, unexpected name, expecting ';' or '{'");
}

static void test_unclosed_brace(void)
{
    expect_note(CHECK, "effector E ~{\n  step 1;\n`", "unexpected end of file", "this '{' is not closed");
}

static void test_unterminated_string(void)
{
    expect(CHECK, "const s = `\"abc;\nconst t = 1;\n", "unterminated string");
}

static void test_malformed_number(void)
{
    expect(CHECK, "const step = `10ms;\n", "malformed number '10ms' (a unit needs a space: '10 ms')");
    expect(CHECK, "const x = `1.5.2;\n", "malformed number '1.5.2'");
}

static void test_unknown_character(void)
{
    expect(CHECK, "const x = 1 `@ 2;\n", "unexpected character '@'");
    expect(CHECK, "const `\xc3\xa9 = 1;\n", "unexpected byte 0xc3");
    expect(CHECK, "const x = 1 `\x01 2;\n", "unexpected byte 0x01");
}

static void test_binary_file(void)
{
    static const char text[] = "const x = 1;\nconst \0y = 2;\n";
    run r = run_text(text, (long)sizeof text - 1, CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 1);
    CU_ASSERT_EQUAL_FATAL(r.ctx->n_diags, 1);
    src_loc at = {0, 2, 7};
    CU_ASSERT(diag_matches(&r.ctx->diags[0], 0, at, "'t.mnet' looks like a binary file (NUL byte)"));
    char *out = printed(r.ctx); /* the NUL is shown as '?' */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "t.mnet:2:7: error: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "const ?y = 2;"));
    free(out);
    run_free(&r);
}

static void test_brackets_too_deep(void)
{
    /* 101 brackets: the 101st is refused, once, and parsing stops */
    char src[512] = "const x = ";
    for (int i = 0; i < 101; i++)
        strcat(src, i == 100 ? "`(" : "(");
    strcat(src, "1");
    for (int i = 0; i < 101; i++)
        strcat(src, ")");
    strcat(src, ";\n");
    expect(CHECK, src, "brackets nested deeper than 100 levels");
    /* 100 are fine */
    char ok[512] = "const x = ";
    for (int i = 0; i < 100; i++)
        strcat(ok, "(");
    strcat(ok, "1");
    for (int i = 0; i < 100; i++)
        strcat(ok, ")");
    strcat(ok, ";\n");
    run r = run_text(ok, (long)strlen(ok), CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 0);
    run_free(&r);
    /* blocks count too */
    char blocks[1024] = "";
    for (int i = 0; i < 101; i++)
        strcat(blocks, i == 100 ? "a `{ " : "a { ");
    expect(CHECK, blocks, "brackets nested deeper than 100 levels");
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* "const x = 1+1+...+1;" with n terms, the `+` number `mark` (1-based)
 * marked; then a second bad statement whose error must still be found. */
static char *sum_chain(int n, int mark)
{
    char *s = malloc((size_t)n * 2 + 64);
    CU_ASSERT_FATAL(s != NULL);
    char *p = s + sprintf(s, "const x = 1");
    for (int i = 1; i < n; i++)
        p += sprintf(p, i == mark ? "`+1" : "+1");
    sprintf(p, ";\nconst y = (;\n");
    return s;
}

static void test_expression_too_deep(void)
{
    /* 300 terms: the chain is refused where it passes 200 levels */
    char *src = sum_chain(300, 200);
    expect_n(CHECK, src, 2, "expression nested deeper than 200 levels", NULL);
    free(src);
    /* 200 operators are fine */
    char *ok = sum_chain(200, 0);
    *strchr(ok, '\n') = '\0';
    expect_clean(CHECK, ok);
    free(ok);
    /* 100k terms: one error, quickly, and the next statement still checked */
    double t0 = seconds();
    src = sum_chain(100000, 200);
    expect_n(CHECK, src, 2, "expression nested deeper than 200 levels", NULL);
    free(src);
    /* 100k prefix operators fill the parser's stack: the same error */
    size_t n = 100000;
    src = malloc(n * 4 + 64);
    CU_ASSERT_FATAL(src != NULL);
    strcpy(src, "const x = ");
    for (size_t i = 0; i < n; i++)
        strcat(src + 10 + 2 * i, "- ");
    strcat(src, "1;\n");
    run r = run_text(src, (long)strlen(src), CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.ctx->diags[0].msg, "expression nested deeper than 200 levels"));
    CU_ASSERT_EQUAL(r.ctx->diags[0].loc.line, 1);
    assert_positioned(r.ctx);
    run_free(&r);
    free(src);
    static const char *const chains[] = {"2 ^ ", "not ", "if 1 then "};
    for (int c = 0; c < 3; c++) {
        src = malloc(n * 12 + 64);
        CU_ASSERT_FATAL(src != NULL);
        char *p = src + sprintf(src, "const x = ");
        for (size_t i = 0; i < n; i++)
            p += sprintf(p, "%s", chains[c]);
        sprintf(p, "1;\n");
        r = run_text(src, (long)strlen(src), CHECK);
        CU_ASSERT_EQUAL(r.ctx->n_errors, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.ctx->diags[0].msg, "nested deeper than"));
        assert_positioned(r.ctx);
        run_free(&r);
        free(src);
    }
    double dt = seconds() - t0;
    if (dt > 5)
        fprintf(stderr, "\n  deep expressions took %.1f s\n", dt);
    CU_ASSERT(dt < 5);
}

/* A 1 MB line with the error at its end: the position is exact and the
 * printed source line is a short window with the caret under the error. */
static void test_very_long_line(void)
{
    size_t n = 1 << 20;
    char *src = malloc(n + 64);
    CU_ASSERT_FATAL(src != NULL);
    memcpy(src, "const x = ", 10);
    memset(src + 10, ' ', n);
    strcpy(src + 10 + n, "1 $;\n");
    run r = run_text(src, (long)strlen(src), CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 1);
    CU_ASSERT_EQUAL_FATAL(r.ctx->n_diags, 1);
    CU_ASSERT_EQUAL(r.ctx->diags[0].loc.line, 1);
    CU_ASSERT_EQUAL(r.ctx->diags[0].loc.col, (int)n + 13);
    char *out = printed(r.ctx);
    /* three lines: the header, the window, the caret */
    char *l1 = out, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1, *end = strchr(l3, '\n');
    CU_ASSERT_FATAL(end != NULL);
    CU_ASSERT(l3 - l2 < 300);
    CU_ASSERT(end - l3 < 300);
    long caret = strchr(l3, '^') - l3;
    CU_ASSERT(caret < l3 - l2);
    CU_ASSERT_EQUAL(l2[caret], '$');
    free(out);
    run_free(&r);
    free(src);
}

/* An empty file defines nothing: fine to check (a library may be empty), an
 * error to compile, positioned at its start. */
static void test_empty_file(void)
{
    expect_clean(CHECK, "");
    expect_clean(CHECK, "# nothing here\n");
    expect(COMPILE, "`", "no effector is defined");
    expect(COMPILE, "`const a = 1;\n", "no effector is defined");
}

/* ---- names, functions, shapes, units -------------------------------------------- */

static void test_unknown_name(void)
{
    expect(CHECK, "const x = `y + 1;\n", "unknown name 'y'");
    expect(CHECK, "fn f(a) = a + `b;\n", "unknown name 'b'");
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "  step `stepsize;\n"), "unknown name 'stepsize'");
    expect(CHECK, MODEL("  let vmax = 10 * `optmal_length;\n  sense vmax, v_mt;\n"),
           "unknown name 'optmal_length'");
}

static void test_unknown_function(void)
{
    expect(CHECK, "const x = `foo(1);\n", "unknown function 'foo'");
    expect(CHECK, "fn f(a) = `sqr(a);\n", "unknown function 'sqr'");
    expect(CHECK, "const k = 1;\nconst x = `k(1);\n", "'k' is a constant, not a function");
}

static void test_wrong_arity_builtin(void)
{
    expect(CHECK, "const x = `exp(1, 2);\n", "exp() takes 1 argument, got 2");
    expect(CHECK, "const x = `clamp(1, 2);\n", "clamp() takes 3 arguments, got 2");
    expect(CHECK, "fn f(a) = `max(a);\n", "max() takes 2 arguments, got 1");
}

static void test_wrong_arity_user_fn(void)
{
    expect_note(CHECK, "fn ~f(a, b) = a + b;\nconst x = `f(1);\n", "f() takes 2 arguments, got 1",
                "'f' is defined here");
    expect_note(CHECK, "fn ~f(a, b) = a + b;\nfn g(x) = `f(x, x, x);\n", "f() takes 2 arguments, got 3",
                "'f' is defined here");
    expect(CHECK, "fn f(a, b) = a + b;\nconst x = f(1, `c = 2);\n", "f() has no parameter 'c'");
    expect(CHECK, "fn f(a, b) = a + b;\nconst x = f(1, `a = 2);\n", "f(): 'a' is given twice");
    expect_clean(CHECK, "fn f(a, b) = a - b;\nconst x = f(b = 1, a = 2);\n");
}

static void test_named_arg_to_builtin(void)
{
    expect(CHECK, "const x = max(`a = 1, 2);\n", "max() takes no named arguments");
}

static void test_shape_mismatch(void)
{
    expect(CHECK, "const x = [1, 2] `+ [1, 2, 3];\n",
           "shape mismatch in '+': a vector of 2 and a vector of 3");
    expect(CHECK, "const x = [[1, 2], [3, 4]] `* [1, 2];\n",
           "shape mismatch in '*': a 2x2 matrix and a vector of 2");
    expect(CHECK, "const x = [1, `[2, 3]];\n", "vector entries differ in shape: a scalar and a vector of 2");
    expect(CHECK, "const x = `dot(1, [2]);\n", "dot() takes two vectors");
    expect(CHECK, "const v = [1, 2];\nconst x = v[`2];\n", "index 2 out of range 0..1");
}

static const char *const ARM =
    "skeleton arm {\n"
    "  param m1: kg = 1, l1: m = 0.3;\n"
    "  joint q1(velocity = dq1, range = [0 deg, 90 deg]);\n"
    "  joint q2(velocity = dq2);\n"
    "  mass_matrix %s;\n"
    "  bias [0, 0];\n"
    "  endpoint [l1 * cos(q1), l1 * sin(q1)];\n"
    "  body upper(origin = [0, 0], angle = q1);\n"
    "}\n";

static void test_mass_matrix_shape(void)
{
    char src[1024];
    snprintf(src, sizeof src, ARM, "`[[m1, 0, 0], [0, m1, 0], [0, 0, m1]]");
    expect(CHECK, src, "mass_matrix must be 2x2 (one row and column per joint)");
    snprintf(src, sizeof src, ARM, "`[m1, m1]");
    expect(CHECK, src, "mass_matrix must be 2x2");
    snprintf(src, sizeof src, ARM, "[[m1, 0], [0, m1]]");
    expect_clean(CHECK, src);
}

static void test_point_coordinates(void)
{
    expect(COMPILE, EFFECTOR(PM, "    muscle A { path `world(1, 1, 0), point(0, 0); }\n", ""),
           "point on 'world' has 3 coordinates; the space has 2 dimensions");
    expect(COMPILE,
           EFFECTOR("point_mass(dim = 3)", "    muscle A { path world(1, 1, 1), `point(0, 0); }\n", ""),
           "point on 'point' has 2 coordinates; the space has 3 dimensions");
}

static void test_unknown_unit(void)
{
    expect(CHECK, "const x = 2 `parsec;\n", "unknown unit 'parsec' (known: rad deg s ms m cm mm kg g N Nm");
    expect(CHECK, MODEL("  param `k: furlong = 1;\n"), "unknown unit 'furlong' for parameter 'k'");
}

static void test_unit_dimension_mismatch(void)
{
    expect(COMPILE, EFFECTOR(PM, "    muscle A(max_force = `2 m) { path world(1, 1), point(0, 0); }\n", ""),
           "'max_force' is a force, but the value given is a length");
    expect(COMPILE, EFFECTOR("point_mass(dim = 2, mass = `3 s)", MUSCLE_A, ""),
           "'skeleton.mass' is a mass, but the value given is a time");
    expect(COMPILE, EFFECTOR(PM, "    muscle A(tau = `5 N) { path world(1, 1), point(0, 0); }\n", ""),
           "'tau' is a time, but the value given is a force");
}

/* ---- definitions ---------------------------------------------------------------- */

static void test_duplicate_definition(void)
{
    expect_note(CHECK, "const ~x = 1;\nconst `x = 2;\n", "'x' is already defined (as a constant)",
                "previous definition of 'x' is here");
    expect_note(CHECK, "fn ~g(a) = a;\nconst a = 1, `g = 2;\n", "'g' is already defined (as a function)",
                "previous definition of 'g' is here");
    expect_note(CHECK, "skeleton ~m { }\nmuscle_model `m { }\n", "'m' is already defined (as a skeleton)",
                "previous definition of 'm' is here");
}

static void test_duplicate_muscle(void)
{
    expect_note(COMPILE,
                EFFECTOR(PM,
                         "    muscle ~A { path world(1, 1), point(0, 0); }\n"
                         "    muscle `A { path world(-1, 1), point(0, 0); }\n",
                         ""),
                "muscle 'A' is defined twice", "first defined here");
}

static void test_duplicate_state(void)
{
    expect(CHECK, MODEL("  state `force;\n"), "'force' is declared twice in muscle model 'm'");
    expect(CHECK, MODEL("  param `u;\n"), "'u' is declared twice in muscle model 'm'");
    expect(CHECK, MODEL("  der `activation = 0;\n"), "der activation is given twice");
}

/* ---- imports -------------------------------------------------------------------- */

static char tmp_dir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void make_tmp(void)
{
    strcpy(tmp_dir, "/tmp/mnet_diag_XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(tmp_dir) != NULL);
}

static void remove_tmp(const char *const *names)
{
    char path[256];
    for (const char *const *n = names; *n; n++) {
        snprintf(path, sizeof path, "%s/%s", tmp_dir, *n);
        remove(path);
    }
    rmdir(tmp_dir);
}

static const mnet_diag *first_error(const mnet_ctx *ctx)
{
    for (int i = 0; i < ctx->n_diags; i++)
        if (!ctx->diags[i].is_note)
            return &ctx->diags[i];
    return NULL;
}

/* Where the error is: the path of its file and its line and column. */
static void assert_at(const run *r, const mnet_diag *d, const char *file, int line, int col, const char *msg)
{
    CU_ASSERT_FATAL(d != NULL);
    CU_ASSERT_FATAL(d->loc.file >= 0);
    const char *path = r->ctx->sources[d->loc.file].path;
    size_t n = strlen(path), m = strlen(file);
    int ok = n >= m && !strcmp(path + n - m, file) && d->loc.line == line && d->loc.col == col &&
             strstr(d->msg, msg);
    if (!ok)
        fprintf(stderr, "\n  %s:%d:%d '%s', expected %s:%d:%d '%s'\n", path, d->loc.line, d->loc.col, d->msg,
                file, line, col, msg);
    CU_ASSERT(ok);
}

static void test_import_cycle(void)
{
    make_tmp();
    write_file("a.mnet", "import \"b.mnet\";\nconst a = 1;\n");
    write_file("b.mnet", "# b imports c\nimport \"c.mnet\";\n");
    write_file("c.mnet", "const c = 3;\n  import \"a.mnet\";\n");
    char path[256];
    snprintf(path, sizeof path, "%s/a.mnet", tmp_dir);
    run r = run_file(path, CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 1);
    assert_at(&r, first_error(r.ctx), "/c.mnet", 2, 10, "import cycle: ");
    const char *msg = first_error(r.ctx)->msg;
    const char *pa = strstr(msg, "a.mnet' -> '"), *pb = strstr(msg, "b.mnet' -> '"),
               *pc = strstr(msg, "c.mnet' -> '");
    CU_ASSERT(pa && pb && pc && pa < pb && pb < pc);
    /* notes at the imports that close the chain */
    CU_ASSERT_EQUAL_FATAL(r.ctx->n_diags, 3);
    assert_at(&r, &r.ctx->diags[1], "/a.mnet", 1, 8, "'");
    assert_at(&r, &r.ctx->diags[2], "/b.mnet", 2, 8, "'");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.ctx->diags[1].msg, "b.mnet' is imported here"));
    assert_positioned(r.ctx);
    run_free(&r);
    /* a file importing itself */
    write_file("self.mnet", "import \"self.mnet\";\n");
    snprintf(path, sizeof path, "%s/self.mnet", tmp_dir);
    r = run_file(path, CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 1);
    assert_at(&r, first_error(r.ctx), "/self.mnet", 1, 8, "import cycle: ");
    assert_positioned(r.ctx);
    run_free(&r);
    /* importing one file twice (a diamond) is not a cycle */
    write_file("top.mnet", "import \"a2.mnet\";\nimport \"c2.mnet\";\n");
    write_file("a2.mnet", "import \"c2.mnet\";\n");
    write_file("c2.mnet", "const c2 = 1;\n");
    snprintf(path, sizeof path, "%s/top.mnet", tmp_dir);
    r = run_file(path, CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 0);
    CU_ASSERT_EQUAL(r.ctx->n_sources, 3);
    run_free(&r);
    static const char *const names[] = {"a.mnet", "b.mnet", "c.mnet", "self.mnet", "top.mnet", "a2.mnet",
                                        "c2.mnet", NULL};
    remove_tmp(names);
}

static void test_missing_import(void)
{
    make_tmp();
    write_file("m.mnet", "const a = 1;\nimport \"nope.mnet\";\n");
    char path[256];
    snprintf(path, sizeof path, "%s/m.mnet", tmp_dir);
    run r = run_file(path, CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 1);
    assert_at(&r, first_error(r.ctx), "/m.mnet", 2, 8, "cannot open '");
    CU_ASSERT_PTR_NOT_NULL(strstr(first_error(r.ctx)->msg, "nope.mnet': No such file or directory"));
    assert_positioned(r.ctx);
    run_free(&r);
    static const char *const names[] = {"m.mnet", NULL};
    remove_tmp(names);
    expect(CHECK, "import `\"no/such/file.mnet\";\n", "cannot open 'no/such/file.mnet'");
    expect(CHECK, "`import 3;\n", "import expects one file name in quotes");
}

static void test_import_directory(void)
{
    make_tmp();
    char path[256];
    snprintf(path, sizeof path, "%s/sub", tmp_dir);
    CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
    write_file("d.mnet", "import \"sub\";\n");
    snprintf(path, sizeof path, "%s/d.mnet", tmp_dir);
    run r = run_file(path, CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 1);
    assert_at(&r, first_error(r.ctx), "/d.mnet", 1, 8, "sub' is a directory, not a .mnet file");
    assert_positioned(r.ctx);
    run_free(&r);
    static const char *const names[] = {"d.mnet", "sub", NULL};
    remove_tmp(names);
}

/* ---- self-reference ----------------------------------------------------------------- */

static void test_recursive_fn(void)
{
    expect_note(CHECK, "fn ~r(a) = `r(a) + 1;\n", "recursive call of 'r' (functions cannot call themselves)",
                "'r' is defined here");
    /* through another function: found where it is used */
    expect_note(CHECK, "fn ~f(x) = g(x) * 2;\nfn g(x) = `f(x);\nconst c = f(1);\n", "recursive call of 'f'",
                "'f' is defined here");
    /* f(x) + f(x) down a chain is evaluated once per level, not 2^40 times */
    char src[4096] = "";
    for (int i = 0; i < 40; i++)
        snprintf(src + strlen(src), sizeof src - strlen(src), "fn f%d(x) = f%d(x) + f%d(x);\n", i, i + 1, i + 1);
    strcat(src, "fn f40(x) = x;\nconst c = f0(1);\n");
    double t0 = seconds();
    expect_clean(CHECK, src);
    CU_ASSERT(seconds() - t0 < 2);
}

static void test_self_referential_let(void)
{
    expect_note(CHECK, MODEL("  let ~k = `k + 1;\n  der force = k;\n"), "'k' is defined in terms of itself",
                "definition of 'k'");
    expect_note(CHECK, "const ~x = `x + 1;\n", "constant 'x' is defined in terms of itself",
                "definition of 'x'");
    expect_note(CHECK, "const ~a = 2 * b;\nconst b = `a;\n", "constant 'a' is defined in terms of itself",
                "definition of 'a'");
}

/* ---- statements in blocks -------------------------------------------------------------- */

static void test_unknown_statement_effector(void)
{
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "  `stepsize 10 ms;\n"), "unknown statement 'stepsize' in effector");
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "  `x = 1;\n"), "unknown statement 'x' in effector");
}

static void test_unknown_statement_muscle_model(void)
{
    expect(CHECK, MODEL("  `wobble 3;\n"), "unknown statement 'wobble' in muscle model");
    expect(CHECK, MODEL("  `k = 3;\n"), "'k = ...' belongs in an update or init block");
}

static void test_unknown_statement_task(void)
{
    expect(CHECK, EFFECTOR(PM, MUSCLE_A, "") "task t {\n  effector E;\n  `frobnicate 1;\n}\n",
           "unknown task setting 'frobnicate'");
}

static void test_unknown_statement_top_level(void)
{
    expect(CHECK, "const a = 1;\n`model x { }\n", "unknown top-level statement 'model'");
    expect(CHECK, "`x = 1;\n", "assignment 'x = ...' outside a block (write 'const x = ...;')");
}

/* ---- parameters -------------------------------------------------------------------------- */

static void test_missing_required_parameter(void)
{
    expect(COMPILE,
           MODEL("") "effector E {\n  skeleton " PM ";\n  muscles m {\n"
                     "    muscle `A { path world(1, 1), point(0, 0); }\n  }\n}\n",
           "muscle 'A' needs a value for 'max_force' (no default in 'm')");
    /* a skeleton parameter without a default needs a value where it is used */
    expect(COMPILE,
           "skeleton s {\n  param `len: m;\n  joint q(velocity = dq);\n  mass_matrix [[1]];\n"
           "  bias [0];\n  endpoint [len * q, 0];\n}\n" MODEL("") "effector E {\n  skeleton s;\n"
           "  muscles m(max_force = 1) { muscle A { moment_arm [1]; } }\n}\n",
           "parameter 'len' of 's' has no default and no value was given");
}

static void test_unknown_parameter_override(void)
{
    expect(COMPILE, EFFECTOR(PM, "    muscle A(`speed = 2) { path world(1, 1), point(0, 0); }\n", ""),
           "muscle model 'm' has no parameter 'speed'");
    expect(COMPILE,
           MODEL("") "effector E {\n  skeleton " PM ";\n  muscles m(`maxforce = 1) {\n" MUSCLE_A "  }\n}\n",
           "muscle model 'm' has no parameter 'maxforce'");
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "") "effector F = E(`bogus = 1);\n",
           "effector 'E' has no parameter or setting 'bogus'");
    expect(COMPILE, EFFECTOR("point_mass(dim = 2, `weight = 2)", MUSCLE_A, ""),
           "point_mass has no parameter 'weight' (known: dim, mass, range, velocity_range)");
}

static void test_effector_without_skeleton_or_muscles(void)
{
    expect(COMPILE, MODEL("") "effector `E {\n  muscles m(max_force = 1) {\n" MUSCLE_A "  }\n}\n",
           "effector 'E' has no skeleton");
    expect(COMPILE, MODEL("") "effector `E {\n  skeleton " PM ";\n}\n", "effector 'E' has no muscles");
    expect(COMPILE, MODEL("") "effector E {\n  skeleton " PM ";\n  `muscles m(max_force = 1) { }\n}\n",
           "an effector needs at least one muscle");
}

static void test_effector_alias_errors(void)
{
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "") "effector F = E(step = 5 ms);\neffector G = `F(step = 1 ms);\n",
           "an effector alias of an alias cannot add overrides ('F' is 'E(...)')");
    expect_clean(COMPILE, EFFECTOR(PM, MUSCLE_A, "") "effector F = E;\neffector G = F(step = 1 ms);\n");
    expect(COMPILE, "effector `A = A;\n", "effector 'A': its aliases form a cycle through 'A'");
    expect(COMPILE, "effector C = B;\neffector B = C;\neffector `A = B;\n",
           "effector 'A': its aliases form a cycle through 'B'");
    expect(COMPILE, "effector `A = 3;\n", "effector 'A' must be 'NAME = BASE(overrides)'");
    expect(COMPILE, "const k = 1;\neffector A = `k(step = 1);\n", "'k' is not an effector");
}

/* Names are not cut short: two long muscle names that differ at the end
 * are two muscles. */
static void test_long_names(void)
{
    char name[401];
    memset(name, 'a', 400);
    name[400] = '\0';
    char src[4096];
    snprintf(src, sizeof src,
             EFFECTOR(PM, "    muscle %s { path world(1, 1), point(0, 0); }\n"
                          "    muscle %sb { path world(-1, 1), point(0, 0); }\n", ""),
             name, name);
    expect_clean(COMPILE, src);
}

/* ---- geometry and skeletons --------------------------------------------------------------- */

static void test_unknown_body(void)
{
    expect_note(COMPILE, EFFECTOR(PM, "    muscle A { path world(1, 1), `~hand(0, 0); }\n", ""),
                "unknown body 'hand' in path of 'A'", "bodies are: world, point");
}

/* The note names every body, however many the skeleton has. */
static void test_unknown_body_lists_all(void)
{
    expect_note(COMPILE,
                EFFECTOR("planar_chain {\n"
                         "    link upper_arm(mass = 1 kg, length = 0.3 m, com = 0.15 m, inertia = 0.05);\n"
                         "    link forearm(mass = 1 kg, length = 0.3 m, com = 0.15 m, inertia = 0.05);\n"
                         "    link hand(mass = 0.4 kg, length = 0.1 m, com = 0.05 m, inertia = 0.001);\n"
                         "  }",
                         "    muscle A { path world(1, 1), `~wrist(0, 0); }\n", ""),
                "unknown body 'wrist' in path of 'A'", "bodies are: world, upper_arm, forearm, hand");
}

/* Independent mistakes in one effector are all reported in one run, each
 * once: an unknown statement, a bad path in two muscles and an unknown
 * parameter in a third, step, integrator and a load (the checker does not
 * stop at the effector's first error), in --check and in compilation. */
static void test_independent_errors(void)
{
    static const char src[] = MODEL("")
        "effector E {\n"                                               /* 13 */
        "  skeleton " PM ";\n"                                         /* 14 */
        "  muscles m(max_force = 100 N) {\n"                           /* 15 */
        "    muscle A { path world(1, 1), hand(0, 0); }\n"             /* 16 */
        "    muscle B(bogus = 3) { path world(-1, 1), point(0, 0); }\n" /* 17 */
        "    muscle C { path world(1, -1), foot(0, 0); }\n"            /* 18 */
        "  }\n"                                                        /* 19 */
        "  step -1 ms;\n"                                              /* 20 */
        "  integrator leapfrog;\n"                                     /* 21 */
        "  frobnicate 3;\n"                                            /* 22 */
        "  endpoint_load [1, 2, 3];\n"                                 /* 23 */
        "}\n";
    static const struct {
        int line, col;
        const char *msg;
    } want[] = {
        {22, 3, "unknown statement 'frobnicate' in effector"},
        {16, 34, "unknown body 'hand' in path of 'A'"},
        {17, 14, "muscle model 'm' has no parameter 'bogus'"},
        {18, 35, "unknown body 'foot' in path of 'C'"},
        {20, 8, "step must be positive"},
        {21, 14, "unknown integrator"},
        {23, 17, "endpoint_load must be a vector of 2"},
    };
    int n_want = (int)(sizeof want / sizeof want[0]);
    for (int m = CHECK; m <= COMPILE; m++) {
        run r = run_text(src, (long)sizeof src - 1, (mode)m);
        int order = 0; /* the errors come in the order above */
        for (int k = 0; k < n_want; k++) {
            int found = -1;
            for (int i = 0; i < r.ctx->n_diags && found < 0; i++)
                if (!r.ctx->diags[i].is_note && r.ctx->diags[i].loc.line == want[k].line &&
                    strstr(r.ctx->diags[i].msg, want[k].msg))
                    found = i;
            if (found < 0)
                fprintf(stderr, "\n  %s: no error at line %d containing \"%s\"", m == CHECK ? "check" : "compile",
                        want[k].line, want[k].msg);
            CU_ASSERT(found >= 0);
            CU_ASSERT(found < 0 || r.ctx->diags[found].loc.col == want[k].col);
            CU_ASSERT(found < 0 || found >= order);
            if (found >= 0)
                order = found;
        }
        if (r.ctx->n_errors != n_want) {
            fprintf(stderr, "\n  %s: %d errors, expected %d", m == CHECK ? "check" : "compile", r.ctx->n_errors,
                    n_want);
            dump(r.ctx);
        }
        CU_ASSERT_EQUAL(r.ctx->n_errors, n_want);
        assert_positioned(r.ctx);
        run_free(&r);
    }
}

static void test_coincident_path_points(void)
{
    expect(COMPILE, EFFECTOR(PM, "    muscle A { path world(1, 1), `world(1, 1), point(0, 0); }\n", ""),
           "path points 1 and 2 of 'A' coincide");
    expect(COMPILE, EFFECTOR(PM, "    muscle A { path point(1, 1), `point(1, 1); }\n", ""),
           "path points 1 and 2 of 'A' coincide");
    expect(COMPILE, EFFECTOR(PM, "    muscle A { `path world(1, 1); }\n", ""), "a path needs at least two points");
}

/* One joint: a vector of one is the per-joint vector. */
static void test_one_joint_vectors(void)
{
    expect_clean(COMPILE, MODEL("") "effector E {\n  skeleton planar_chain {\n"
                          "    link a(mass = 1 kg, length = 1 m, com = 0.5 m, inertia = 0.1);\n  }\n"
                          "  muscles m(max_force = 1 N) {\n    muscle p { polynomial a0 = 1, a1 = [1]; }\n"
                          "    muscle q { moment_arm [0.1]; }\n    muscle r { moment_arm 0.1; }\n  }\n}\n");
    expect(COMPILE, MODEL("") "effector E {\n  skeleton planar_chain {\n"
                    "    link a(mass = 1 kg, length = 1 m, com = 0.5 m, inertia = 0.1);\n  }\n"
                    "  muscles m(max_force = 1 N) {\n    muscle q { moment_arm `[0.1, 0.2]; }\n  }\n}\n",
           "moment_arm must be a number, got a vector of 2");
}

static void test_bad_ranges(void)
{
    expect(COMPILE, EFFECTOR("point_mass(dim = 2, range = `[1, -1])", MUSCLE_A, ""),
           "empty range: lower bound 1 is not below upper bound -1");
    expect(COMPILE, EFFECTOR("point_mass(dim = 2, velocity_range = `[5, 5])", MUSCLE_A, ""),
           "empty range: lower bound 5 is not below upper bound 5");
    expect(COMPILE, EFFECTOR("point_mass(dim = 2, range = `[1, 2, 3])", MUSCLE_A, ""),
           "a range is a vector of two values: [lo, hi]");
    char src[1024];
    snprintf(src, sizeof src, ARM, "[[m1, 0], [0, m1]]");
    char *p = strstr(src, "[0 deg, 90 deg]");
    CU_ASSERT_FATAL(p != NULL);
    memcpy(p, "[9 deg, 0 deg] ", 15);
    char marked[1100];
    snprintf(marked, sizeof marked, "%.*s`%s", (int)(p - src), src, p);
    expect(CHECK, marked, "empty range: lower bound 0.15");
}

static void test_invalid_integrator(void)
{
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "  integrator `leapfrog;\n"),
           "unknown integrator (euler, rk4 or motornet_rk4)");
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "  integrator `2;\n"), "unknown integrator");
}

static void test_ministeps_out_of_range(void)
{
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "  ministeps `0;\n"), "ministeps must be a whole number from 1 to 1000");
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "  ministeps `1001;\n"), "ministeps must be a whole number");
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "  ministeps `2.5;\n"), "ministeps must be a whole number");
    expect(COMPILE, EFFECTOR(PM, MUSCLE_A, "  step `-1 ms;\n"), "step must be positive");
}

/* ---- muscle-model blocks ------------------------------------------------------------------ */

static void test_der_of_non_state(void)
{
    expect(CHECK, MODEL("  der `speed = 1;\n"), "der: 'speed' is not a state of 'm' (declare it with 'state' first)");
    /* der(x) of a row without a der equation, inside update */
    expect(CHECK,
           "muscle_model m {\n  param max_force: N;\n  input u;\n  geometry l_mt, v_mt;\n"
           "  state activation = 0, force;\n  der activation = u - activation;\n"
           "  update { force = der(`force); }\n  sense l_mt, v_mt;\n}\n",
           "'force' is not a state with a 'der' equation");
    /* der() outside an update block */
    expect(CHECK, MODEL("  der force = `der(activation);\n"), "der(...) is only available inside an update block");
}

static void test_update_assigns_non_row(void)
{
    expect(CHECK,
           "muscle_model m {\n  param max_force: N;\n  input u;\n  geometry l_mt, v_mt;\n"
           "  state activation = 0, force;\n  update {\n    `speed = 1;\n  }\n  sense l_mt, v_mt;\n}\n",
           "'speed' is not a state row of 'm'");
    expect(CHECK,
           "muscle_model m {\n  param max_force: N;\n  input u;\n  geometry l_mt, v_mt;\n"
           "  state activation = 0, force;\n  update {\n    force = `[1, 2];\n  }\n  sense l_mt, v_mt;\n}\n",
           "force must be a scalar, got a vector of 2");
    expect(CHECK,
           "muscle_model m {\n  param max_force: N;\n  input u;\n  geometry l_mt, v_mt;\n"
           "  state activation = 0, force;\n  update {\n    `wiggle 1;\n  }\n  sense l_mt, v_mt;\n}\n",
           "an update block holds 'state = expr;' and 'let x = expr;'");
}

/* ---- tasks ------------------------------------------------------------------------------ */

#define TASK(BODY) EFFECTOR(PM, MUSCLE_A, "") "task t {\n  effector E;\n" BODY "}\n"

static void test_task_settings(void)
{
    expect_clean(CHECK, TASK("  duration 1 s;\n  loss position_l1(weight = 1);\n"));
    expect(CHECK, TASK("  duration `-1 s;\n"), "duration must be > 0 (got -1)");
    expect(CHECK, TASK("  delay `touch = 1;\n"), "delay has no setting 'touch' (expected proprioception, vision)");
    expect(CHECK, TASK("  delay proprioception = `-1 ms;\n"), "delay.proprioception must be >= 0");
    expect(CHECK, TASK("  noise action = `-1;\n"), "noise.action must be >= 0 (got -1)");
    expect(CHECK, TASK("  go_cue `[1, 0];\n"), "go_cue range must satisfy earliest <= latest");
    expect(CHECK, TASK("  catch_fraction `2;\n"), "catch_fraction must be >= 0 and <= 1 (got 2)");
    expect(CHECK, TASK("  kind `sprint;\n"), "kind must be one of random_target_reach, centre_out_reach, delayed_reach");
    expect(CHECK, TASK("  loss `wiggle;\n"), "unknown loss (expected position_l1");
    expect(CHECK, TASK("  loss speed(`gain = 1);\n"), "a loss takes weight = W and derivative = W");
    expect(CHECK, TASK("  policy `transformer;\n"), "policy must be one of gru, rnn, mlp, lstm (got 'transformer')");
    expect_clean(CHECK, TASK("  policy lstm(hidden = 16, layers = 2, readout = linear);\n"));
    expect_clean(CHECK, TASK("  policy gru(readout = relu);\n"));
    expect(CHECK, TASK("  policy lstm(readout = `tanh);\n"),
           "policy.readout must be one of sigmoid, linear, relu (got 'tanh')");
    expect(CHECK, TASK("  policy gru(hidden = `0);\n"), "policy.hidden must be a whole number >= 1 and <= 65536 (got 0)");
    expect(CHECK, TASK("  train batch = `0;\n"), "train.batch must be a whole number >= 1 and <= 1048576 (got 0)");
    expect(CHECK, TASK("  train schedule = `linear;\n"), "train.schedule must be one of constant, step, cosine (got 'linear')");
    expect(CHECK, TASK("  load endpoint = `[1, 2, 3, 4];\n"), "load.endpoint takes at most 3 values (got 4)");
    expect(CHECK, TASK("  action_frames `2.5;\n"), "action_frames must be a whole number (got 2.5)");
    expect_note(CHECK, TASK("  ~duration 1 s;\n  `duration 2 s;\n"), "'duration' is given twice in task 't'",
                "first given here");
    expect(CHECK, EFFECTOR(PM, MUSCLE_A, "") "task t {\n  effector `F;\n}\n", "'F' is not an effector");
    expect(CHECK, EFFECTOR(PM, MUSCLE_A, "") "task `t {\n  duration 1 s;\n}\n",
           "task 't' names no effector (add 'effector NAME;')");
}

/* A modular policy: two modules of 4 and 8 units (hidden 12) and BODY. */
#define MODULAR(HEAD, BODY)                                                                        \
    TASK("  " HEAD " {\n    module a(size = 4, excitatory = 0.75);\n    module b(size = 8);\n" BODY "  }\n")

static void test_task_modular(void)
{
    expect_clean(CHECK, MODULAR("policy gru(hidden = 12)", "    input vision(to = [a, b], p = 0.5);\n"
                                                            "    connect a(to = b, fraction = 0.5, p = 0.3);\n"
                                                            "    readout b;\n"));
    expect_clean(CHECK, MODULAR("policy rnn(hidden = 12)", "    readout a, b;\n"));
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    input vision(to = [a, `c]);\n    readout b;\n"),
           "unknown module 'c' (the policy's modules: a, b)");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    input `sound(to = a);\n    readout b;\n"),
           "unknown input 'sound' (expected goal, go, vision, proprioception, actions)");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    connect `c(to = a);\n    readout b;\n"),
           "unknown module 'c'");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    connect a(to = `z);\n    readout b;\n"), "unknown module 'z'");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    readout `q;\n"), "unknown module 'q'");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    input goal(to = a, p = `1.5);\n    readout b;\n"),
           "input probability must lie in [0, 1] (got 1.5)");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    connect a(to = b, p = `-0.1);\n    readout b;\n"),
           "connection probability must lie in [0, 1] (got -0.1)");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    connect a(to = b, fraction = `2);\n    readout b;\n"),
           "projecting fraction must lie in [0, 1] (got 2)");
    expect(CHECK, TASK("  policy gru(hidden = 4) {\n    module a(size = 4, excitatory = `1.2);\n    readout a;\n  }\n"),
           "excitatory proportion must lie in [0, 1] (got 1.2)");
    expect(CHECK, MODULAR("`policy gru(hidden = 16)", "    readout b;\n"),
           "modular network: the module sizes add up to 12, but policy.hidden is 16");
    expect(CHECK, MODULAR("`policy gru(hidden = 12)", ""), "modular network: no module drives the read-out");
    expect(CHECK, MODULAR("`policy lstm(hidden = 12)", "    readout b;\n"),
           "modular network: modules need a gru or rnn policy (got lstm)");
    expect(CHECK, MODULAR("`policy gru(hidden = 12, layers = 2)", "    readout b;\n"),
           "modular network: modules need one layer");
    expect(CHECK, MODULAR("`policy gru(hidden = 12)", "    input go(to = a);\n    readout b;\n"),
           "input 'go' exists only in a delayed_reach task");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    module `a(size = 1);\n    readout b;\n"),
           "module 'a' is defined twice");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    `wire a;\n    readout b;\n"),
           "a policy's body holds module, input, connect and readout statements (got 'wire')");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    connect a(to = b);\n    connect `a(to = b);\n    readout b;\n"),
           "connection 'a' -> 'b' is given twice");
    /* delays between modules */
    expect_clean(CHECK, MODULAR("policy gru(hidden = 12, candidate = rectified_tanh, initial_state = learned)",
                                "    connect a(to = b, delay = 20 ms);\n    connect b(to = a, delay = 2);\n"
                                "    readout b;\n"));
    expect(CHECK, MODULAR("duration 1 s;\n  policy gru(hidden = 12)",
                                         "    connect a(to = b, delay = `1200 ms);\n    readout b;\n"),
           "connection 'a' -> 'b': a delay of 1200 ms is not shorter than the episode (1000 ms)");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    connect a(to = b, delay = `3 kg);\n    readout b;\n"),
           "a delay is a time (e.g. 20 ms) or a number of steps, but the value given is");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    connect a(to = b, delay = `1.5);\n    readout b;\n"),
           "a delay in steps must be a whole number (got 1.5; write a time with its unit, e.g. 20 ms)");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    connect a(to = b, delay = `-1);\n    readout b;\n"),
           "a delay must be 0 or more (got -1)");
    expect(CHECK, MODULAR("policy gru(hidden = 12)", "    connect a(to = b, `wait = 1);\n    readout b;\n"),
           "a connection takes to = MODULE or [MODULE, ...], fraction = F, p = P and delay = D");
    expect(CHECK, TASK("  `policy lstm(candidate = rectified_tanh);\n"),
           "the rectified-tanh candidate is for gru, rnn and mlp cells");
    expect(CHECK, TASK("  `policy mlp(initial_state = learned);\n"), "an mlp has no state to learn");
    expect(CHECK, TASK("  policy gru(candidate = `relu);\n"),
           "policy.candidate must be one of tanh, rectified_tanh (got 'relu')");
}

/* ---- the error cap --------------------------------------------------------------------------- */

static void test_error_cap(void)
{
    char src[8192] = "";
    for (int i = 0; i < 80; i++)
        strcat(src, "const x = (;\n");
    run r = run_text(src, (long)strlen(src), CHECK);
    CU_ASSERT_EQUAL(r.ctx->n_errors, 80);
    CU_ASSERT_EQUAL(r.ctx->n_diags, 50);
    char *out = printed(r.ctx);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "30 more errors not shown"));
    free(out);
    run_free(&r);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"syntax error", test_syntax_error},
        {"unclosed brace", test_unclosed_brace},
        {"unterminated string", test_unterminated_string},
        {"malformed number", test_malformed_number},
        {"unknown character", test_unknown_character},
        {"binary file", test_binary_file},
        {"brackets nested too deep", test_brackets_too_deep},
        {"expression nested too deep", test_expression_too_deep},
        {"very long line", test_very_long_line},
        {"empty file", test_empty_file},
        {"unknown name", test_unknown_name},
        {"unknown function", test_unknown_function},
        {"wrong arity: builtin", test_wrong_arity_builtin},
        {"wrong arity: user fn", test_wrong_arity_user_fn},
        {"named arg to a builtin", test_named_arg_to_builtin},
        {"shape mismatch", test_shape_mismatch},
        {"mass_matrix of the wrong shape", test_mass_matrix_shape},
        {"point coordinates vs space dimension", test_point_coordinates},
        {"unknown unit", test_unknown_unit},
        {"unit dimension mismatch", test_unit_dimension_mismatch},
        {"duplicate definition", test_duplicate_definition},
        {"duplicate muscle", test_duplicate_muscle},
        {"duplicate state in a muscle model", test_duplicate_state},
        {"import cycle", test_import_cycle},
        {"missing import", test_missing_import},
        {"import of a directory", test_import_directory},
        {"recursive fn", test_recursive_fn},
        {"self-referential let and const", test_self_referential_let},
        {"unknown statement in effector", test_unknown_statement_effector},
        {"unknown statement in muscle_model", test_unknown_statement_muscle_model},
        {"unknown statement in task", test_unknown_statement_task},
        {"unknown top-level statement", test_unknown_statement_top_level},
        {"missing required parameter", test_missing_required_parameter},
        {"unknown parameter override", test_unknown_parameter_override},
        {"effector without skeleton or muscles", test_effector_without_skeleton_or_muscles},
        {"effector alias errors", test_effector_alias_errors},
        {"long names", test_long_names},
        {"unknown body in a path", test_unknown_body},
        {"unknown body: the note names every body", test_unknown_body_lists_all},
        {"independent errors in one effector", test_independent_errors},
        {"coincident path points", test_coincident_path_points},
        {"one-joint vectors", test_one_joint_vectors},
        {"bad ranges", test_bad_ranges},
        {"invalid integrator", test_invalid_integrator},
        {"ministeps out of range", test_ministeps_out_of_range},
        {"der of a non-state", test_der_of_non_state},
        {"update assigning a non-row", test_update_assigns_non_row},
        {"task settings", test_task_settings},
        {"modular policies", test_task_modular},
        {"error cap", test_error_cap},
        {NULL, NULL},
    };
    return mnet_test_main("diagnostics", tests);
}
