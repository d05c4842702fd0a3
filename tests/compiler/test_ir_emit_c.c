/* test_ir_emit_c.c - the C emitter (compiler/ir_emit_c.c): generated code
 * compiles warning-free with gcc and clang in both precisions, and computes
 * what the interpreter ir_eval computes.
 *
 * Each function is written after `#include <math.h>` and `typedef ... real;`
 * into a temporary directory, compiled with
 *   CC -std=c11 -Wall -Wextra -Werror -O2 -shared -fPIC
 * loaded with dlopen and run on a batch with ld > n; the outputs are compared
 * with ir_eval, in double to 1e-14 and in float to 1e-5 of each output row's
 * scale (the float run's reference is ir_eval on the float-rounded inputs). */
#include "ir.h"
#include "test_support.h"

#include <dlfcn.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N = 37, LD = 40, MAX_ROWS = 64 };

typedef void (*double_fn)(int n, int ld, const double *const *in, double *const *out,
                          const double *params);
typedef void (*float_fn)(int n, int ld, const float *const *in, float *const *out,
                         const float *params);

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static double uniform(double lo, double hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

/*---------------------------------------------------------------------------
 * The functions under test
 *---------------------------------------------------------------------------*/

typedef struct {
    ir_graph *g;
    ir_output fwd_out[MAX_ROWS];
    ir_output vjp_out[4];
    ir_output chain_out[2];
    ir_output special_out[4];
    ir_function fn[5]; /* fwd, vjp, chain (a long vjp), specials, empty */
    int nfn;
} emit_fixture;

static int add_row(ir_output *o, int *n, int arg, ir_id node)
{
    if (*n >= MAX_ROWS || node < 0)
        return -1;
    o[*n] = (ir_output){arg, *n, node};
    (*n)++;
    return 0;
}

/* in0: x (3 rows), in1: cotangents; params: p0, p1 */
static int build_fixture(emit_fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    ir_graph *g = fx->g = ir_new();
    if (!g)
        return -1;
    ir_id x0 = ir_var(g, 0, 0), x1 = ir_var(g, 0, 1), x2 = ir_var(g, 0, 2);
    ir_id p0 = ir_param(g, 0), p1 = ir_param(g, 1);
    ir_id zero = ir_const(g, 0), half = ir_const(g, 0.5);
    ir_id sum = ir_add(g, x0, ir_mul(g, x1, p0));
    ir_set_name(g, sum, "flce", 7);
    ir_id odd = ir_mul(g, sum, x2);
    ir_set_name(g, odd, "2 odd.name-", 8);
    ir_id longn = ir_unary(g, IR_SIN, odd);
    ir_set_name(g, longn, "a_very_long_name_that_goes_on_and_on_well_past_forty_characters", 0);
    ir_id x1neg = ir_binary(g, IR_LT, x1, zero);

    ir_id rows[] = {
        sum, odd, longn,
        ir_sub(g, x0, x2),
        ir_div(g, ir_mul(g, x0, x1), x2),
        ir_neg(g, x1),
        ir_binary(g, IR_POW, x0, x2),
        ir_binary(g, IR_POW, x0, ir_const(g, 2.5)),
        ir_powi(g, x1, 3),
        ir_powi(g, x2, -2),
        ir_unary(g, IR_EXP, x1),
        ir_unary(g, IR_LOG, x2),
        ir_unary(g, IR_SQRT, x2),
        ir_unary(g, IR_COS, x1),
        ir_unary(g, IR_TANH, x1),
        ir_unary(g, IR_SIGMOID, ir_mul(g, x1, ir_const(g, 3))),
        ir_unary(g, IR_ABS, x1),
        ir_binary(g, IR_MIN, x0, x1),
        ir_binary(g, IR_MAX, x0, x1),
        ir_binary(g, IR_MIN, half, x1), /* a constant first operand */
        ir_clamp(g, x1, ir_const(g, -0.5), half),
        ir_clamp(g, x0, x1, x2),
        ir_binary(g, IR_LT, x0, x1),
        ir_binary(g, IR_LE, x1, ir_const(g, 0.25)),
        ir_binary(g, IR_GT, x0, x2),
        ir_binary(g, IR_GE, x1, ir_const(g, 0.25)),
        ir_binary(g, IR_EQ, x1, ir_const(g, 0.25)),
        ir_binary(g, IR_NE, x1, ir_const(g, 0.25)),
        ir_binary(g, IR_AND, x1neg, ir_binary(g, IR_GT, x2, ir_const(g, 1))),
        ir_binary(g, IR_OR, x1neg, ir_binary(g, IR_GT, x2, ir_const(g, 1))),
        ir_unary(g, IR_NOT, x1neg),
        ir_select(g, x1neg, ir_unary(g, IR_EXP, x0), ir_mul(g, x2, x0)),
        ir_mul(g, ir_const(g, -0.1), ir_add(g, x0, p1)), /* a negative constant */
        p1,                                               /* a leaf as output */
        ir_const(g, 1.0 / 3.0),                           /* a constant as output */
        x2,
    };
    int nrow = 0;
    for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++)
        if (add_row(fx->fwd_out, &nrow, 0, rows[k]) != 0)
            return -1;
    fx->fn[0] = (ir_function){"mnet_fwd", 1, 1, nrow, fx->fwd_out};

    /* vjp of all forward rows, cotangents in1 rows */
    ir_id outs[MAX_ROWS], seeds[MAX_ROWS], wrt[4] = {x0, x1, x2, p0}, grad[4];
    for (int k = 0; k < nrow; k++) {
        outs[k] = fx->fwd_out[k].node;
        seeds[k] = ir_var(g, 1, k);
    }
    if (ir_vjp(g, nrow, outs, seeds, 4, wrt, grad) != 0)
        return -1;
    for (int j = 0; j < 4; j++)
        fx->vjp_out[j] = (ir_output){0, j, grad[j]};
    fx->fn[1] = (ir_function){"mnet_vjp", 2, 1, 4, fx->vjp_out};

    /* a long chain and its vjp, written to two output arrays */
    ir_id acc = x0;
    for (int i = 0; i < 300; i++) {
        ir_id k = ir_const(g, 0.25 + 0.001 * i);
        switch (i % 4) {
        case 0: acc = ir_unary(g, IR_SIN, ir_add(g, acc, k)); break;
        case 1: acc = ir_mul(g, acc, ir_unary(g, IR_SIGMOID, x1)); break;
        case 2: acc = ir_add(g, acc, ir_mul(g, x2, k)); break;
        default: acc = ir_unary(g, IR_TANH, acc); break;
        }
    }
    ir_id s0 = ir_var(g, 1, 0), gx2;
    if (ir_vjp(g, 1, &acc, &s0, 1, &x2, &gx2) != 0)
        return -1;
    fx->chain_out[0] = (ir_output){0, 0, acc};
    fx->chain_out[1] = (ir_output){1, 2, gx2}; /* second output array, row 2 */
    fx->fn[2] = (ir_function){"mnet_chain", 2, 2, 2, fx->chain_out};

    /* special constants: printed as INFINITY / NAN, results still finite */
    ir_id inf = ir_const(g, INFINITY), ninf = ir_const(g, -INFINITY), nan = ir_const(g, NAN);
    fx->special_out[0] = (ir_output){0, 0, ir_binary(g, IR_MIN, x0, inf)};
    fx->special_out[1] = (ir_output){0, 1, ir_binary(g, IR_MAX, x0, ninf)};
    fx->special_out[2] = (ir_output){0, 2, ir_select(g, ir_binary(g, IR_LT, x0, nan), nan, x1)};
    fx->special_out[3] = (ir_output){0, 3, ir_const(g, -0.0)};
    fx->fn[3] = (ir_function){"mnet_specials", 1, 1, 4, fx->special_out};

    /* nothing at all: every argument unused */
    fx->fn[4] = (ir_function){"mnet_empty", 2, 1, 0, NULL};
    fx->nfn = 5;
    return 0;
}

/*---------------------------------------------------------------------------
 * Writing, compiling, loading
 *---------------------------------------------------------------------------*/

static int write_source(const char *path, const emit_fixture *fx, int single)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "#include <math.h>\ntypedef %s real;\n\n", single ? "float" : "double");
    int status = 0;
    for (int k = 0; k < fx->nfn; k++) {
        if (ir_emit_c(f, fx->g, &fx->fn[k], single) != 0)
            status = -1;
        fputs("\n", f);
    }
    if (fclose(f) != 0)
        status = -1;
    return status;
}

static int have_compiler(const char *cc)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", cc);
    return system(cmd) == 0;
}

/* Compiles src into lib; prints the compiler's messages on failure. */
static int compile(const char *cc, const char *src, const char *lib, const char *log)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "%s -std=c11 -Wall -Wextra -Werror -O2 -shared -fPIC -o %s %s -lm >%s 2>&1", cc,
             lib, src, log);
    int rc = system(cmd);
    if (rc != 0) {
        char *msg = mnet_read_file(log, NULL);
        fprintf(stderr, "\n%s failed on %s:\n%s\n", cc, src, msg ? msg : "(no log)");
        free(msg);
    }
    return rc;
}

/*---------------------------------------------------------------------------
 * Running against ir_eval
 *---------------------------------------------------------------------------*/

typedef struct {
    double x[3 * LD];     /* (3, LD) in0 */
    double s[MAX_ROWS * LD]; /* (MAX_ROWS, LD) in1 */
    double params[2];
} inputs;

static void make_inputs(inputs *v)
{
    for (int b = 0; b < LD; b++) {
        v->x[b] = uniform(0.5, 1.5);
        v->x[LD + b] = uniform(-1, 1);
        v->x[2 * LD + b] = uniform(0.2, 2);
    }
    v->x[LD + 3] = 0.25; /* x1 == 0.25 for eq, le, ge */
    v->x[LD + 5] = 0.5;  /* at the clamp bound */
    for (int i = 0; i < MAX_ROWS * LD; i++)
        v->s[i] = uniform(-1, 1);
    v->params[0] = 0.7;
    v->params[1] = -0.3;
}

static int n_out_rows(const ir_function *f, int arg)
{
    int rows = 0;
    for (int k = 0; k < f->n_outputs; k++)
        if (f->outputs[k].arg == arg && f->outputs[k].row + 1 > rows)
            rows = f->outputs[k].row + 1;
    return rows;
}

/* Max over the function's outputs of max_b |ours - ref| / max_b |ref| */
static double compare_rows(const ir_function *f, double *const *ours, double *const *ref)
{
    double worst = 0;
    for (int k = 0; k < f->n_outputs; k++) {
        const ir_output *o = &f->outputs[k];
        double e = mnet_max_rel_err(ours[o->arg] + o->row * LD, ref[o->arg] + o->row * LD, N);
        if (!(e <= worst))
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

/* Runs function k of the library at both precisions' reference; returns the
 * error against ir_eval. */
static double run_one(void *lib, const emit_fixture *fx, int k, int single, const inputs *v)
{
    const ir_function *f = &fx->fn[k];
    void *sym = dlsym(lib, f->name);
    CU_ASSERT_FATAL(sym != NULL);
    double *ref[2] = {NULL, NULL}, *ours[2] = {NULL, NULL};
    float *fout[2] = {NULL, NULL};
    for (int a = 0; a < f->n_out_args; a++) {
        int rows = n_out_rows(f, a) + 1;
        ref[a] = calloc((size_t)rows * LD, sizeof(double));
        ours[a] = calloc((size_t)rows * LD, sizeof(double));
        fout[a] = calloc((size_t)rows * LD, sizeof(float));
        CU_ASSERT_FATAL(ref[a] && ours[a] && fout[a]);
    }
    double err;
    if (!single) {
        const double *in[2] = {v->x, v->s};
        ir_eval(fx->g, f, N, LD, in, ref, v->params);
        double_fn fn;
        memcpy(&fn, &sym, sizeof(fn)); /* ISO C: no direct object-to-function cast */
        fn(N, LD, in, ours, v->params);
        err = compare_rows(f, ours, ref);
    } else {
        /* float inputs, and the reference on exactly those inputs */
        static float fx_[3 * LD], fs[MAX_ROWS * LD];
        static double dx[3 * LD], ds[MAX_ROWS * LD];
        float fp[2] = {(float)v->params[0], (float)v->params[1]};
        double dp[2] = {fp[0], fp[1]};
        for (int i = 0; i < 3 * LD; i++)
            dx[i] = fx_[i] = (float)v->x[i];
        for (int i = 0; i < MAX_ROWS * LD; i++)
            ds[i] = fs[i] = (float)v->s[i];
        const double *din[2] = {dx, ds};
        ir_eval(fx->g, f, N, LD, din, ref, dp);
        const float *fin[2] = {fx_, fs};
        float_fn fn;
        memcpy(&fn, &sym, sizeof(fn));
        fn(N, LD, fin, fout, fp);
        for (int a = 0; a < f->n_out_args; a++)
            for (int i = 0; i < (n_out_rows(f, a) + 1) * LD; i++)
                ours[a][i] = fout[a][i];
        err = compare_rows(f, ours, ref);
    }
    /* nothing written past n, nor to rows that are not outputs */
    for (int a = 0; a < f->n_out_args; a++) {
        int rows = n_out_rows(f, a) + 1;
        for (int r = 0; r < rows; r++)
            for (int b = 0; b < LD; b++) {
                int is_out = 0;
                for (int o = 0; o < f->n_outputs; o++)
                    is_out |= f->outputs[o].arg == a && f->outputs[o].row == r;
                if (b >= N || !is_out)
                    CU_ASSERT(ours[a][r * LD + b] == 0);
            }
    }
    for (int a = 0; a < 2; a++) {
        free(ref[a]);
        free(ours[a]);
        free(fout[a]);
    }
    return err;
}

static void compile_and_compare(const char *cc)
{
    if (!have_compiler(cc)) {
        printf("\n  %s not installed: skipped\n", cc);
        return;
    }
    emit_fixture fx;
    CU_ASSERT_FATAL(build_fixture(&fx) == 0);
    char dir[] = "/tmp/mnet_emit_XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    inputs v;
    make_inputs(&v);
    printf("\n");
    for (int single = 0; single <= 1; single++) {
        const char *prec = single ? "float" : "double";
        char src[256], lib[256], log[256];
        snprintf(src, sizeof(src), "%s/fn_%s.c", dir, prec);
        snprintf(lib, sizeof(lib), "%s/fn_%s_%s.so", dir, prec, cc);
        snprintf(log, sizeof(log), "%s/cc_%s.log", dir, prec);
        CU_ASSERT_FATAL(write_source(src, &fx, single) == 0);
        int rc = compile(cc, src, lib, log);
        CU_ASSERT(rc == 0);
        if (rc == 0) {
            void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
            CU_ASSERT_FATAL(h != NULL);
            for (int k = 0; k < fx.nfn; k++) {
                double err = run_one(h, &fx, k, single, &v);
                printf("  %-5s %-6s %-13s max rel err vs ir_eval %.2e\n", cc, prec,
                       fx.fn[k].name, err);
                CU_ASSERT(err <= (single ? 1e-5 : 1e-14));
            }
            dlclose(h);
        }
        remove(src);
        remove(lib);
        remove(log);
    }
    rmdir(dir);
    ir_free(fx.g);
}

static void test_gcc(void)
{
    compile_and_compare("gcc");
}

static void test_clang(void)
{
    compile_and_compare("clang");
}

/*---------------------------------------------------------------------------
 * Text: shape, names, determinism, errors
 *---------------------------------------------------------------------------*/

static char *emit_to_string(const ir_graph *g, const ir_function *f, int single, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    *rc = ir_emit_c(m, g, f, single);
    fclose(m);
    return buf;
}

static void test_text(void)
{
    emit_fixture fx;
    CU_ASSERT_FATAL(build_fixture(&fx) == 0);
    int rc1 = -1, rc2 = -1, rc3 = -1;
    char *a = emit_to_string(fx.g, &fx.fn[0], 0, &rc1);
    char *b = emit_to_string(fx.g, &fx.fn[0], 0, &rc2);
    char *s = emit_to_string(fx.g, &fx.fn[0], 1, &rc3);
    CU_ASSERT_FATAL(a && b && s);
    CU_ASSERT(rc1 == 0 && rc2 == 0 && rc3 == 0);
    CU_ASSERT(strcmp(a, b) == 0); /* deterministic */
    CU_ASSERT(strstr(a, "void mnet_fwd(int n, int ld, const real *const *in, real *const *out,") != NULL);
    CU_ASSERT(strstr(a, "const real *restrict in0 = in[0];") != NULL);
    CU_ASSERT(strstr(a, "real *restrict out0 = out[0];") != NULL);
    CU_ASSERT(strstr(a, "for (int b = 0; b < n; b++) {") != NULL);
    CU_ASSERT(strstr(a, "const real flce_") != NULL);
    CU_ASSERT(strstr(a, "/* line 7 */") != NULL);
    CU_ASSERT(strstr(a, "const real v2_odd_name__") != NULL);
    CU_ASSERT(strstr(a, "in0[2*ld + b]") != NULL);
    CU_ASSERT(strstr(a, "params[1]") != NULL);
    CU_ASSERT(strstr(a, "(real)0.5") != NULL);
    CU_ASSERT(strstr(a, "exp(") != NULL && strstr(a, "expf(") == NULL);
    CU_ASSERT(strstr(s, "expf(") != NULL && strstr(s, "powf(") != NULL);
    CU_ASSERT(strstr(a, "fmin") == NULL && strstr(a, "fmax") == NULL);
    free(a);
    free(b);
    free(s);
    a = emit_to_string(fx.g, &fx.fn[3], 0, &rc1);
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT(strstr(a, "(real)INFINITY") && strstr(a, "(real)-INFINITY") && strstr(a, "(real)NAN"));
    CU_ASSERT(strstr(a, "out0[3*ld + b] = (real)-0.0;") != NULL); /* not (real)-0, an int */
    free(a);

    /* errors: a bad name, an input argument out of range, a bad node */
    ir_function bad = fx.fn[0];
    bad.name = "not an identifier";
    char *t = emit_to_string(fx.g, &bad, 0, &rc1);
    CU_ASSERT(rc1 == -1 && t && t[0] == '\0'); /* nothing written */
    free(t);
    bad = fx.fn[1];
    bad.n_in_args = 1; /* the vjp reads in1 */
    t = emit_to_string(fx.g, &bad, 0, &rc1);
    CU_ASSERT(rc1 == -1 && t && t[0] == '\0');
    free(t);
    ir_output o = {0, 0, 1 << 29};
    bad = (ir_function){"f", 1, 1, 1, &o};
    t = emit_to_string(fx.g, &bad, 0, &rc1);
    CU_ASSERT(rc1 == -1);
    free(t);
    ir_free(fx.g);
}

/* A host program may have set a locale whose decimal point is ','. */
static void test_locale(void)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *old = setlocale(LC_NUMERIC, NULL);
    char saved[64];
    snprintf(saved, sizeof(saved), "%s", old ? old : "C");
    const char *got = NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (!got) {
        printf("\n  no locale with a decimal comma installed: skipped\n");
        return;
    }
    ir_graph *g = ir_new();
    ir_output o = {0, 0, ir_mul(g, ir_var(g, 0, 0), ir_const(g, 0.125))};
    ir_function f = {"f", 1, 1, 1, &o};
    int rc = -1;
    char *text = emit_to_string(g, &f, 0, &rc);
    setlocale(LC_NUMERIC, saved);
    CU_ASSERT(rc == 0 && text && strstr(text, "(real)0.125") != NULL);
    free(text);
    ir_free(g);
}

static const mnet_test tests[] = {
    {"text", test_text},
    {"locale", test_locale},
    {"gcc", test_gcc},
    {"clang", test_clang},
    {NULL, NULL},
};

int main(void)
{
    return mnet_test_main("ir_emit_c", tests);
}
