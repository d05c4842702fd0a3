/* test_ir_emit_llvm.c - the LLVM backend (compiler/ir_emit_llvm.c): the JIT
 * and the textual IR compute bit for bit what the C emitter's code computes.
 *
 * The reference is the C emitter's source for the same functions compiled
 * with `gcc -std=c11 -O2` (no -ffast-math, no -march: what a user's build
 * does), loaded with dlopen.  Against it, on a batch of 37 with ld = 40:
 *   jit-O0 .. jit-O3  mnet_jit_add at opt levels 0 to 3 (host CPU, so with
 *                     AVX2/FMA where the machine has them)
 *   ll                ir_emit_llvm_ir's text compiled by `clang -O2`
 * must give the same bits in every output (any NaN equals any NaN: payloads
 * are not part of the contract), in double and in float, on random inputs and
 * on inputs full of NaN, infinities, signed zeros and subnormals.  The
 * functions cover every op, a VJP, a 300-step chain, special constants, no
 * inputs, no outputs, and a function long enough to be cut into parts.  All
 * are also compared with the interpreter ir_eval (double 1e-14, float 1e-5
 * of each row's scale, as test_ir_emit_c).  Then: the time mnet_jit_add
 * takes for a graph of about 124k nodes at -O0 and -O2 (printed, not
 * asserted), re-adding the same names, 50 add/remove and 50 new/add/free
 * rounds without heap or mapping growth, errors, the text's shape, and
 * (vmath) float sin, cos and exp on 1M floats: the JIT at -O0 and -O2 and
 * the C under gcc -O2, clang -O2 and gcc -O3 -march=native bit for bit,
 * within 1 ulp of libm's double functions rounded to float. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "ir.h"
#include "ir_llvm.h"
#include "test_support.h"

#include <dlfcn.h>
#include <float.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { N = 37, LD = 40, MAX_ROWS = 64, MAX_FNS = 8, MAX_VARIANTS = 5 };

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static double uniform(double lo, double hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/*---------------------------------------------------------------------------
 * The functions under test: every op, a VJP, a long chain, special constants
 *---------------------------------------------------------------------------*/

typedef struct {
    ir_graph *g;
    ir_output fwd_out[MAX_ROWS];
    ir_output vjp_out[4];
    ir_output chain_out[2];
    ir_output special_out[6];
    ir_output param_out[1];
    ir_output gaps_out[4];
    ir_output long_out[3];
    ir_function fn[MAX_FNS]; /* fwd, vjp, chain, specials, params only, empty, gaps, long */
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

/* in0: x (3 rows), in1: cotangents; params: p0, p1.  The rows of test_ir_emit_c
 * plus the cases where LLVM could part from gcc: pow with a constant base or
 * exponent it knows a rewrite for, sin and cos of one argument (sincos),
 * min/max/select on NaN constants. */
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
    ir_id x1neg = ir_binary(g, IR_LT, x1, zero);
    ir_id nan = ir_const(g, NAN);

    ir_id rows[] = {
        sum, odd, ir_unary(g, IR_SIN, odd),
        ir_sub(g, x0, x2),
        ir_div(g, ir_mul(g, x0, x1), x2),
        ir_neg(g, x1),
        ir_binary(g, IR_POW, x0, x2),
        ir_binary(g, IR_POW, x0, ir_const(g, 2.5)),
        ir_binary(g, IR_POW, x2, half),             /* LLVM: sqrt     */
        ir_binary(g, IR_POW, x2, ir_const(g, -0.5)),
        ir_binary(g, IR_POW, ir_const(g, 2), x1),   /* LLVM: exp2     */
        ir_binary(g, IR_POW, ir_const(g, 10), x1),  /* LLVM: exp10    */
        ir_powi(g, x1, 3),
        ir_powi(g, x2, -2),
        ir_unary(g, IR_EXP, x1),
        ir_unary(g, IR_LOG, x2),
        ir_unary(g, IR_SQRT, x2),
        ir_unary(g, IR_SIN, x1),                    /* with cos: sincos */
        ir_unary(g, IR_COS, x1),
        ir_unary(g, IR_TANH, x1),
        ir_unary(g, IR_SIGMOID, ir_mul(g, x1, ir_const(g, 3))),
        ir_unary(g, IR_ABS, x1),
        ir_binary(g, IR_MIN, x0, x1),
        ir_binary(g, IR_MAX, x0, x1),
        ir_binary(g, IR_MIN, half, x1),             /* constant first: no NaN test */
        ir_binary(g, IR_MAX, nan, x1),              /* NaN constant first */
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
        ir_binary(g, IR_AND, x1, x2),               /* logic on non-0/1 values */
        ir_unary(g, IR_NOT, x1neg),
        ir_unary(g, IR_NOT, x0),
        ir_select(g, x1neg, ir_unary(g, IR_EXP, x0), ir_mul(g, x2, x0)),
        ir_select(g, x1, x0, x2),                   /* a non-0/1 condition */
        ir_mul(g, ir_const(g, -0.1), ir_add(g, x0, p1)),
        ir_add(g, ir_mul(g, x0, x1), x2),           /* would be an FMA if contracted */
        p1,
        ir_const(g, 1.0 / 3.0),
        x2,
    };
    int nrow = 0;
    for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++)
        if (add_row(fx->fwd_out, &nrow, 0, rows[k]) != 0)
            return -1;
    fx->fn[0] = (ir_function){"mnet_fwd", 1, 1, nrow, fx->fwd_out};

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

    ir_id inf = ir_const(g, INFINITY), ninf = ir_const(g, -INFINITY);
    fx->special_out[0] = (ir_output){0, 0, ir_binary(g, IR_MIN, x0, inf)};
    fx->special_out[1] = (ir_output){0, 1, ir_binary(g, IR_MAX, x0, ninf)};
    fx->special_out[2] = (ir_output){0, 2, ir_select(g, ir_binary(g, IR_LT, x0, nan), nan, x1)};
    fx->special_out[3] = (ir_output){0, 3, ir_const(g, -0.0)};
    fx->special_out[4] = (ir_output){0, 4, ir_binary(g, IR_MIN, nan, x0)};
    fx->special_out[5] = (ir_output){0, 5, ir_mul(g, x0, ir_const(g, 1e-310))}; /* subnormal */
    fx->fn[3] = (ir_function){"mnet_specials", 1, 1, 6, fx->special_out};

    fx->param_out[0] = (ir_output){0, 1, ir_unary(g, IR_EXP, p0)}; /* no input read */
    fx->fn[4] = (ir_function){"mnet_params", 0, 1, 1, fx->param_out};

    fx->fn[5] = (ir_function){"mnet_empty", 2, 1, 0, NULL};

    /* rows read and written with gaps between them (the tail's copies go
     * by runs of rows) */
    ir_id s1 = ir_var(g, 1, 1), s4 = ir_var(g, 1, 4), s5 = ir_var(g, 1, 5);
    fx->gaps_out[0] = (ir_output){0, 1, ir_add(g, ir_mul(g, x2, s1), s4)};
    fx->gaps_out[1] = (ir_output){0, 3, ir_unary(g, IR_EXP, s5)};
    fx->gaps_out[2] = (ir_output){1, 0, ir_sub(g, s4, x2)};
    fx->gaps_out[3] = (ir_output){1, 2, ir_unary(g, IR_SQRT, ir_unary(g, IR_ABS, s1))};
    fx->fn[6] = (ir_function){"mnet_gaps", 2, 2, 4, fx->gaps_out};

    /* longer than one part (PART_NODES in ir_emit_llvm.c): values cross
     * from part to part through the scratch array */
    acc = x0;
    ir_id acc2 = x1;
    for (int i = 0; i < 700; i++) {
        ir_id k = ir_const(g, 0.3 + 0.0005 * i);
        switch (i % 5) {
        case 0: acc = ir_unary(g, IR_SIN, ir_add(g, acc, ir_mul(g, acc2, k))); break;
        case 1: acc2 = ir_mul(g, acc2, ir_unary(g, IR_SIGMOID, ir_sub(g, acc, p0))); break;
        case 2: acc = ir_clamp(g, ir_add(g, acc, ir_mul(g, x2, k)), ir_const(g, -1.5), p1); break;
        case 3: acc2 = ir_binary(g, IR_MAX, ir_unary(g, IR_TANH, acc2), ir_mul(g, acc, k)); break;
        default: acc = ir_add(g, ir_binary(g, IR_POW, ir_unary(g, IR_ABS, acc), k), acc2); break;
        }
    }
    ir_id lw[3] = {x0, x1, x2}, lg[3], lout[2] = {acc, acc2}, lseed[2] = {s0, ir_var(g, 1, 1)};
    if (ir_vjp(g, 2, lout, lseed, 3, lw, lg) != 0)
        return -1;
    fx->long_out[0] = (ir_output){0, 0, ir_add(g, acc, acc2)};
    fx->long_out[1] = (ir_output){0, 1, lg[0]};
    fx->long_out[2] = (ir_output){0, 2, ir_sub(g, lg[1], lg[2])};
    fx->fn[7] = (ir_function){"mnet_long", 2, 1, 3, fx->long_out};
    fx->nfn = 8;
    return 0;
}

/*---------------------------------------------------------------------------
 * The reference: the C emitter's source compiled by gcc; the .ll by clang
 *---------------------------------------------------------------------------*/

static int have_compiler(const char *cc)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", cc);
    return system(cmd) == 0;
}

static int run_compiler(const char *cmd, const char *log)
{
    int rc = system(cmd);
    if (rc != 0) {
        char *msg = mnet_read_file(log, NULL);
        fprintf(stderr, "\n%s\nfailed:\n%s\n", cmd, msg ? msg : "(no log)");
        free(msg);
    }
    return rc;
}

/* Writes and compiles the fixture's functions into dir; returns the dlopen
 * handle or NULL.  as_ll: ir_emit_llvm_ir + clang, else ir_emit_c + gcc. */
static void *build_library(const emit_fixture *fx, const char *dir, int single, int as_ll)
{
    const char *prec = single ? "float" : "double";
    char src[256], lib[256], log[256], cmd[1024];
    snprintf(src, sizeof(src), "%s/fn_%s.%s", dir, prec, as_ll ? "ll" : "c");
    snprintf(lib, sizeof(lib), "%s/fn_%s_%s.so", dir, prec, as_ll ? "ll" : "c");
    snprintf(log, sizeof(log), "%s/cc.log", dir);
    FILE *f = fopen(src, "w");
    if (!f)
        return NULL;
    int status = 0;
    if (as_ll) {
        status = ir_emit_llvm_ir(f, fx->g, fx->nfn, fx->fn, single);
    } else {
        fprintf(f, "#include <math.h>\ntypedef %s real;\n\n", prec);
        for (int k = 0; k < fx->nfn; k++)
            status |= ir_emit_c(f, fx->g, &fx->fn[k], single);
    }
    if (fclose(f) != 0 || status != 0)
        return NULL;
    if (as_ll)
        snprintf(cmd, sizeof(cmd), "clang -O2 -shared -fPIC -o %s %s -lm >%s 2>&1", lib, src,
                 log);
    else
        snprintf(cmd, sizeof(cmd),
                 "gcc -std=c11 -Wall -Wextra -Werror -O2 -shared -fPIC -o %s %s -lm >%s 2>&1",
                 lib, src, log);
    int rc = run_compiler(cmd, log);
    void *h = rc == 0 ? dlopen(lib, RTLD_NOW | RTLD_LOCAL) : NULL;
    remove(src);
    remove(lib);
    remove(log);
    return h;
}

/*---------------------------------------------------------------------------
 * Running one compiled function
 *---------------------------------------------------------------------------*/

typedef struct {
    double x[3 * LD];        /* (3, LD) in0 */
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
    v->x[LD + 6] = 0;    /* and(x1, x2), not, select on exact zero */
    v->x[6] = v->x[LD + 7] = 0.75; /* min/max tie */
    for (int i = 0; i < MAX_ROWS * LD; i++)
        v->s[i] = uniform(-1, 1);
    v->params[0] = 0.7;
    v->params[1] = -0.3;
}

/* Every batch element of x has specials in some rows: NaN, infinities,
 * signed zeros, subnormals, huge values, ties. */
static void make_special_inputs(inputs *v)
{
    static const double special[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-310,
                                     -1e-310, 1e308, -1e308, 0.25, 0.5, -0.5, 1, -1, 710, -750};
    const int ns = (int)(sizeof(special) / sizeof(special[0]));
    make_inputs(v);
    for (int b = 0; b < LD; b++)
        for (int r = 0; r < 3; r++)
            if ((b + r) % 3 != 0)
                v->x[r * LD + b] = special[(b * 7 + r * 5) % ns];
}

static int n_out_rows(const ir_function *f, int arg)
{
    int rows = 0;
    for (int k = 0; k < f->n_outputs; k++)
        if (f->outputs[k].arg == arg && f->outputs[k].row + 1 > rows)
            rows = f->outputs[k].row + 1;
    return rows;
}

typedef struct {
    double *a[2]; /* (rows + 1, LD) per output argument, as double */
} outputs;

static void outputs_alloc(outputs *o, const ir_function *f)
{
    for (int a = 0; a < 2; a++)
        o->a[a] = calloc((size_t)(n_out_rows(f, a) + 1) * LD, sizeof(double));
}

static void outputs_free(outputs *o)
{
    free(o->a[0]);
    free(o->a[1]);
}

/* Calls entry (a function of the batched interface) in the given precision;
 * float runs read the float-rounded inputs and are widened back. */
static void run_entry(void *entry, const ir_function *f, int single, const inputs *v,
                      outputs *o)
{
    if (!single) {
        const double *in[2] = {v->x, v->s};
        double *out[2] = {o->a[0], o->a[1]};
        mnet_jit_fn_d fn;
        memcpy(&fn, &entry, sizeof(fn));
        fn(N, LD, in, out, v->params);
        return;
    }
    static float fx[3 * LD], fs[MAX_ROWS * LD], fo[2][(MAX_ROWS + 1) * LD];
    float fp[2] = {(float)v->params[0], (float)v->params[1]};
    for (int i = 0; i < 3 * LD; i++)
        fx[i] = (float)v->x[i];
    for (int i = 0; i < MAX_ROWS * LD; i++)
        fs[i] = (float)v->s[i];
    memset(fo, 0, sizeof(fo));
    const float *in[2] = {fx, fs};
    float *out[2] = {fo[0], fo[1]};
    mnet_jit_fn_f fn;
    memcpy(&fn, &entry, sizeof(fn));
    fn(N, LD, in, out, fp);
    for (int a = 0; a < f->n_out_args && a < 2; a++)
        for (int i = 0; i < (n_out_rows(f, a) + 1) * LD; i++)
            o->a[a][i] = fo[a][i];
}

/* ir_eval on the inputs the precision sees */
static void run_reference(const emit_fixture *fx, const ir_function *f, int single,
                          const inputs *v, outputs *o)
{
    static double dx[3 * LD], ds[MAX_ROWS * LD];
    double dp[2];
    for (int i = 0; i < 3 * LD; i++)
        dx[i] = single ? (double)(float)v->x[i] : v->x[i];
    for (int i = 0; i < MAX_ROWS * LD; i++)
        ds[i] = single ? (double)(float)v->s[i] : v->s[i];
    for (int i = 0; i < 2; i++)
        dp[i] = single ? (double)(float)v->params[i] : v->params[i];
    const double *in[2] = {dx, ds};
    double *out[2] = {o->a[0], o->a[1]};
    ir_eval(fx->g, f, N, LD, in, out, dp);
}

/* Distance in units in the last place of the precision (0 when the bits are
 * equal or both are NaN; huge when only one is NaN). */
static double ulps(double a, double b, int single)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0 : INFINITY;
    if (memcmp(&a, &b, sizeof(a)) == 0)
        return 0;
    if (a == b) /* +0 vs -0 */
        return 1;
    double m = fmax(fabs(a), fabs(b));
    double ulp = single ? ldexp(1.0, ilogb(m) - 23) : ldexp(1.0, ilogb(m) - 52);
    if (!(ulp > 0) || isinf(m))
        return INFINITY;
    return fabs(a - b) / ulp;
}

/* Over the function's outputs: how many values differ from ref in their bits
 * (NaN = NaN), and the largest difference in ulps. */
static int count_differences(const ir_function *f, const outputs *ours, const outputs *ref,
                             int single, double *max_ulps)
{
    int ndiff = 0;
    *max_ulps = 0;
    for (int k = 0; k < f->n_outputs; k++) {
        const ir_output *o = &f->outputs[k];
        for (int b = 0; b < N; b++) {
            double u = ulps(ours->a[o->arg][o->row * LD + b], ref->a[o->arg][o->row * LD + b],
                            single);
            if (u > 0) {
                ndiff++;
                if (u > *max_ulps)
                    *max_ulps = u;
            }
        }
    }
    return ndiff;
}

/* Nothing written past n, nor to rows that are not outputs. */
static int wrote_outside(const ir_function *f, const outputs *o)
{
    for (int a = 0; a < f->n_out_args && a < 2; a++)
        for (int r = 0; r < n_out_rows(f, a) + 1; r++)
            for (int b = 0; b < LD; b++) {
                int is_out = 0;
                for (int k = 0; k < f->n_outputs; k++)
                    is_out |= f->outputs[k].arg == a && f->outputs[k].row == r;
                if ((b >= N || !is_out) && o->a[a][r * LD + b] != 0)
                    return 1;
            }
    return 0;
}

/* mnet_max_rel_err, except that NaN = NaN and an infinity equals itself
 * (the fixture has rows that are NaN by design). */
static double rel_err(const double *a, const double *b, int n)
{
    double scale = 1e-300, err = 0;
    for (int i = 0; i < n; i++) {
        if (isfinite(b[i]) && fabs(b[i]) > scale)
            scale = fabs(b[i]);
        if ((isnan(a[i]) && isnan(b[i])) || a[i] == b[i])
            continue;
        double d = fabs(a[i] - b[i]);
        if (!(d <= err))
            err = isnan(d) || isinf(d) ? INFINITY : d;
    }
    return err / scale;
}

static double compare_rows(const ir_function *f, const outputs *ours, const outputs *ref)
{
    double worst = 0;
    for (int k = 0; k < f->n_outputs; k++) {
        const ir_output *o = &f->outputs[k];
        double e = rel_err(ours->a[o->arg] + o->row * LD, ref->a[o->arg] + o->row * LD, N);
        if (!(e <= worst))
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

/*---------------------------------------------------------------------------
 * Equivalence: JIT and .ll against gcc, bit for bit; all against ir_eval
 *---------------------------------------------------------------------------*/

typedef struct {
    const char *label;
    void *entry[MAX_FNS];
} variant;

static void test_equivalence(void)
{
    emit_fixture fx;
    CU_ASSERT_FATAL(build_fixture(&fx) == 0);
    int count = 0;
    for (int k = 0; k < fx.nfn; k++) {
        ir_id roots[MAX_ROWS];
        for (int o = 0; o < fx.fn[k].n_outputs; o++)
            roots[o] = fx.fn[k].outputs[o].node;
        count = ir_count_reachable(fx.g, fx.fn[k].n_outputs, roots);
    }
    CU_ASSERT(count > 2000); /* mnet_long is cut into parts */
    char dir[] = "/tmp/mnet_llvm_XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    int have_gcc = have_compiler("gcc"), have_clang = have_compiler("clang");
    if (!have_gcc)
        printf("\n  gcc not installed: no C reference, ir_eval only");
    char err[512] = "";
    mnet_jit *jit = mnet_jit_new(err, sizeof(err));
    if (!jit)
        fprintf(stderr, "\n%s\n", err);
    CU_ASSERT_FATAL(jit != NULL);
    printf("\n");
    for (int single = 0; single <= 1; single++) {
        const char *prec = single ? "float" : "double";
        void *h_c = have_gcc ? build_library(&fx, dir, single, 0) : NULL;
        void *h_ll = have_clang ? build_library(&fx, dir, single, 1) : NULL;
        CU_ASSERT(!have_gcc || h_c != NULL);
        CU_ASSERT(!have_clang || h_ll != NULL);
        variant var[MAX_VARIANTS];
        int nvar = 0;
        static const char *const level_labels[] = {"jit-O0", "jit-O1", "jit-O2", "jit-O3"};
        static const int levels[] = {0, 1, 2, 3};
        for (int l = 0; l < 4; l++) {
            int unit = mnet_jit_add(jit, fx.g, fx.nfn, fx.fn, single, levels[l], err,
                                    sizeof(err));
            if (unit < 0)
                fprintf(stderr, "\n%s\n", err);
            CU_ASSERT_FATAL(unit >= 0);
            var[nvar].label = level_labels[l];
            for (int k = 0; k < fx.nfn; k++) {
                var[nvar].entry[k] = mnet_jit_lookup_unit(jit, unit, fx.fn[k].name);
                CU_ASSERT_FATAL(var[nvar].entry[k] != NULL);
            }
            nvar++;
        }
        if (h_ll) {
            var[nvar].label = "ll";
            for (int k = 0; k < fx.nfn; k++) {
                var[nvar].entry[k] = dlsym(h_ll, fx.fn[k].name);
                CU_ASSERT_FATAL(var[nvar].entry[k] != NULL);
            }
            nvar++;
        }
        for (int set = 0; set < 2; set++) {
            inputs v;
            if (set == 0)
                make_inputs(&v);
            else
                make_special_inputs(&v);
            for (int k = 0; k < fx.nfn; k++) {
                const ir_function *f = &fx.fn[k];
                outputs ref_c, ref_eval;
                outputs_alloc(&ref_c, f);
                outputs_alloc(&ref_eval, f);
                run_reference(&fx, f, single, &v, &ref_eval);
                void *c_entry = h_c ? dlsym(h_c, f->name) : NULL;
                if (c_entry)
                    run_entry(c_entry, f, single, &v, &ref_c);
                printf("  %-6s %-7s %-13s", prec, set ? "special" : "random", f->name);
                for (int j = 0; j < nvar; j++) {
                    outputs ours;
                    outputs_alloc(&ours, f);
                    run_entry(var[j].entry[k], f, single, &v, &ours);
                    CU_ASSERT(!wrote_outside(f, &ours));
                    if (c_entry) {
                        double max_ulps;
                        int ndiff = count_differences(f, &ours, &ref_c, single, &max_ulps);
                        printf("  %s: %d diff", var[j].label, ndiff);
                        if (ndiff)
                            printf(" (max %.3g ulp)", max_ulps);
                        CU_ASSERT(ndiff == 0);
                    }
                    /* in float, mnet_long's 700 steps of max and clamp
                     * take other branches than in double: no reference */
                    if (set == 0 && !(single && strcmp(f->name, "mnet_long") == 0)) {
                        double e = compare_rows(f, &ours, &ref_eval);
                        if (j == 0)
                            printf("  vs ir_eval %.2e", e);
                        CU_ASSERT(e <= (single ? 1e-5 : 1e-14));
                    }
                    outputs_free(&ours);
                }
                printf("\n");
                outputs_free(&ref_c);
                outputs_free(&ref_eval);
            }
        }
        if (h_c)
            dlclose(h_c);
        if (h_ll)
            dlclose(h_ll);
    }
    mnet_jit_free(jit);
    rmdir(dir);
    ir_free(fx.g);
}

/*---------------------------------------------------------------------------
 * The vector loop and the scalar loop of the rest, batch size by batch size
 *---------------------------------------------------------------------------*/

/* W, the vector width of ir_emit_llvm.c: 256 bits */
static int vector_width(int single)
{
    return single ? 8 : 4;
}

enum { VMAX_N = 2 * 8 + 3, VLD = VMAX_N + 5 }; /* ld > n for every n below */

/* In and out arrays of (rows, VLD) doubles for one call at a column offset. */
typedef struct {
    double x[3 * VLD], s[MAX_ROWS * VLD], params[2];
    double out[2][(MAX_ROWS + 1) * VLD];
} vbatch;

/* Calls entry on n elements with leading dimension VLD, every array pointer
 * advanced by off elements (off = b, n = 1: element b alone, which only the
 * scalar loop handles).  Float runs see the float-rounded arrays; their
 * outputs are widened back (what the call did not write stays as it was). */
static void vcall(void *entry, int single, int n, int off, vbatch *v)
{
    if (!single) {
        const double *in[2] = {v->x + off, v->s + off};
        double *out[2] = {v->out[0] + off, v->out[1] + off};
        mnet_jit_fn_d fn;
        memcpy(&fn, &entry, sizeof(fn));
        fn(n, VLD, in, out, v->params);
        return;
    }
    static float fx[3 * VLD], fs[MAX_ROWS * VLD], fo[2][(MAX_ROWS + 1) * VLD];
    float fp[2] = {(float)v->params[0], (float)v->params[1]};
    for (int i = 0; i < 3 * VLD; i++)
        fx[i] = (float)v->x[i];
    for (int i = 0; i < MAX_ROWS * VLD; i++)
        fs[i] = (float)v->s[i];
    for (int a = 0; a < 2; a++)
        for (int i = 0; i < (MAX_ROWS + 1) * VLD; i++)
            fo[a][i] = (float)v->out[a][i];
    const float *in[2] = {fx + off, fs + off};
    float *out[2] = {fo[0] + off, fo[1] + off};
    mnet_jit_fn_f fn;
    memcpy(&fn, &entry, sizeof(fn));
    fn(n, VLD, in, out, fp);
    for (int a = 0; a < 2; a++)
        for (int i = 0; i < (MAX_ROWS + 1) * VLD; i++)
            v->out[a][i] = fo[a][i];
}

static int same_bits(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof(a)) == 0;
}

/* Elements of the output arrays that differ in their bits (NaN = NaN), over
 * every row and column: columns >= n and rows that are no output must still
 * hold what they held. */
static int vdiff(const vbatch *a, const vbatch *b)
{
    int ndiff = 0;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < (MAX_ROWS + 1) * VLD; i++)
            ndiff += !same_bits(a->out[k][i], b->out[k][i]);
    return ndiff;
}

/* The fixture's functions at n = 1, W-1, W, W+1, 2W+3 (ld = VLD > n), in
 * double and float, at -O0 and -O2, on random inputs and on the special
 * inputs shifted by 0..W-1 columns, so that every special value meets every
 * lane of the vector and the scalar rest: every output bit for bit equal to
 * the JIT's scalar loop alone (called element by element), to the gcc-compiled
 * C, and in double to ir_eval; nothing written outside the outputs' first n
 * columns.  mnet_long is cut into parts (vector and scalar ones). */
static void test_vector(void)
{
    emit_fixture fx;
    CU_ASSERT_FATAL(build_fixture(&fx) == 0);
    char dir[] = "/tmp/mnet_llvm_XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    int have_gcc = have_compiler("gcc");
    char err[512] = "";
    mnet_jit *jit = mnet_jit_new(err, sizeof(err));
    CU_ASSERT_FATAL(jit != NULL);
    static vbatch ours, scalar, ref;
    int runs = 0, failed = 0;
    printf("\n");
    for (int single = 0; single <= 1; single++) {
        const int w = vector_width(single);
        const int sizes[5] = {1, w - 1, w, w + 1, 2 * w + 3};
        void *h_c = have_gcc ? build_library(&fx, dir, single, 0) : NULL;
        CU_ASSERT(!have_gcc || h_c != NULL);
        static const int levels[2] = {0, 2};
        void *entry[2][MAX_FNS];
        for (int l = 0; l < 2; l++) {
            int unit = mnet_jit_add(jit, fx.g, fx.nfn, fx.fn, single, levels[l], err,
                                    sizeof(err));
            if (unit < 0)
                fprintf(stderr, "\n%s\n", err);
            CU_ASSERT_FATAL(unit >= 0);
            for (int k = 0; k < fx.nfn; k++) {
                entry[l][k] = mnet_jit_lookup_unit(jit, unit, fx.fn[k].name);
                CU_ASSERT_FATAL(entry[l][k] != NULL);
            }
        }
        for (int set = 0; set < 2; set++) {
            inputs base;
            if (set == 0)
                make_inputs(&base);
            else
                make_special_inputs(&base);
            for (int shift = 0; shift < (set ? w : 1); shift++) {
                memset(&ours, 0, sizeof(ours));
                for (int r = 0; r < 3; r++)
                    for (int b = 0; b < VLD; b++)
                        ours.x[r * VLD + b] = base.x[r * LD + b + shift];
                for (int r = 0; r < MAX_ROWS; r++)
                    for (int b = 0; b < VLD; b++)
                        ours.s[r * VLD + b] = base.s[r * LD + b + shift];
                memcpy(ours.params, base.params, sizeof(ours.params));
                for (int k = 0; k < fx.nfn; k++) {
                    const ir_function *f = &fx.fn[k];
                    void *c_entry = h_c ? dlsym(h_c, f->name) : NULL;
                    CU_ASSERT(!h_c || c_entry != NULL);
                    for (int si = 0; si < 5; si++) {
                        const int n = sizes[si];
                        for (int l = 0; l < 2; l++) {
                            memset(ours.out, 0, sizeof(ours.out));
                            scalar = ours;
                            vcall(entry[l][k], single, n, 0, &ours);
                            for (int b = 0; b < n; b++)
                                vcall(entry[l][k], single, 1, b, &scalar);
                            int d_scalar = vdiff(&ours, &scalar), d_c = 0, d_eval = 0;
                            if (c_entry) {
                                ref = scalar;
                                memset(ref.out, 0, sizeof(ref.out));
                                vcall(c_entry, single, n, 0, &ref);
                                d_c = vdiff(&ours, &ref);
                            }
                            if (!single) {
                                ref = scalar;
                                memset(ref.out, 0, sizeof(ref.out));
                                const double *in[2] = {ref.x, ref.s};
                                double *out[2] = {ref.out[0], ref.out[1]};
                                ir_eval(fx.g, f, n, VLD, in, out, ref.params);
                                d_eval = vdiff(&ours, &ref);
                            }
                            runs++;
                            if (d_scalar || d_c || d_eval) {
                                failed++;
                                printf("  %s %s %s shift %d n %d -O%d: %d differ from the "
                                       "scalar loop, %d from C, %d from ir_eval\n",
                                       single ? "float" : "double", set ? "special" : "random",
                                       f->name, shift, n, levels[l], d_scalar, d_c, d_eval);
                            }
                        }
                    }
                }
            }
        }
        if (h_c)
            dlclose(h_c);
    }
    printf("  %d runs (n = 1, W-1, W, W+1, 2W+3; ld %d), %d with differences%s\n", runs, VLD,
           failed, have_gcc ? "" : " (gcc not installed: no C reference)");
    CU_ASSERT(failed == 0);
    mnet_jit_free(jit);
    rmdir(dir);
    ir_free(fx.g);
}

/*---------------------------------------------------------------------------
 * The rest's bounds: nothing read or written past element (row, n-1)
 *---------------------------------------------------------------------------*/

/* count reals of `size` bytes that end where a PROT_NONE page begins:
 * touching the element after the last one faults. */
typedef struct {
    unsigned char *map;
    size_t map_len;
    void *at;
} guarded;

static int guarded_alloc(guarded *gd, size_t count, size_t size)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = count * size, data = (bytes + page - 1) / page * page;
    gd->map_len = data + page;
    gd->map = mmap(NULL, gd->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (gd->map == MAP_FAILED)
        return -1;
    if (mprotect(gd->map + data, page, PROT_NONE) != 0) {
        munmap(gd->map, gd->map_len);
        return -1;
    }
    gd->at = gd->map + data - bytes;
    return 0;
}

static void guarded_free(guarded *gd)
{
    munmap(gd->map, gd->map_len);
}

static double get_real(const void *a, int single, size_t i)
{
    return single ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

static void set_real(void *a, int single, size_t i, double v)
{
    if (single)
        ((float *)a)[i] = (float)v;
    else
        ((double *)a)[i] = v;
}

/* The bits of element i, widened to 64 bits. */
static uint64_t real_bits(const void *a, int single, size_t i)
{
    if (single) {
        uint32_t u;
        memcpy(&u, (const float *)a + i, sizeof(u));
        return u;
    }
    uint64_t u;
    memcpy(&u, (const double *)a + i, sizeof(u));
    return u;
}

/* A signalling NaN in element i. */
static void set_snan(void *a, int single, size_t i)
{
    if (single) {
        uint32_t u = 0x7f800001u;
        memcpy((float *)a + i, &u, sizeof(u));
    } else {
        uint64_t u = 0x7ff0000000000001u;
        memcpy((double *)a + i, &u, sizeof(u));
    }
}

/* The rows of input argument a the function reads (highest + 1). */
static int in_rows(const ir_graph *g, const ir_function *f, int a)
{
    ir_id roots[MAX_ROWS];
    for (int o = 0; o < f->n_outputs; o++)
        roots[o] = f->outputs[o].node;
    unsigned char *mark = malloc((size_t)ir_count(g) + 1);
    ir_mark_reachable(g, f->n_outputs, roots, mark);
    int rows = 0;
    for (int id = 0; id < ir_count(g); id++) {
        const ir_node *n = ir_get(g, id);
        if (mark[id] && n->op == IR_VAR && n->arg == a && n->row + 1 > rows)
            rows = n->row + 1;
    }
    free(mark);
    return rows;
}

/* Every function of the fixture at n = 1, W-1, W, W+1, 2W+3, ld = n and
 * ld = n + 3, in double and float, at -O0 and -O2, each array exactly as
 * long as the rows it uses ((rows - 1) * ld + n elements) and followed by a
 * page without access: reading past the last element of an input or writing
 * past the last one of an output faults.  The columns >= n of the inputs
 * hold signalling NaNs, the output arrays a marker: the outputs' first n
 * columns must have the bits of the same call on ordinary arrays (zeros
 * past n), everything else the marker. */
static void test_bounds(void)
{
    emit_fixture fx;
    CU_ASSERT_FATAL(build_fixture(&fx) == 0);
    char err[512] = "";
    mnet_jit *jit = mnet_jit_new(err, sizeof(err));
    CU_ASSERT_FATAL(jit != NULL);
    inputs base;
    make_special_inputs(&base);
    const double marker = -777.25;
    int runs = 0, failed = 0;
    for (int single = 0; single <= 1; single++) {
        const size_t rs = single ? sizeof(float) : sizeof(double);
        const int w = vector_width(single);
        const int sizes[5] = {1, w - 1, w, w + 1, 2 * w + 3};
        for (int level = 0; level <= 2; level += 2) {
            int unit = mnet_jit_add(jit, fx.g, fx.nfn, fx.fn, single, level, err, sizeof(err));
            if (unit < 0)
                fprintf(stderr, "\n%s\n", err);
            CU_ASSERT_FATAL(unit >= 0);
            for (int k = 0; k < fx.nfn; k++) {
                const ir_function *f = &fx.fn[k];
                void *entry = mnet_jit_lookup_unit(jit, unit, f->name);
                CU_ASSERT_FATAL(entry != NULL);
                int irows[2], orows[2];
                for (int a = 0; a < 2; a++) {
                    irows[a] = a < f->n_in_args ? in_rows(fx.g, f, a) : 0;
                    orows[a] = a < f->n_out_args ? n_out_rows(f, a) : 0;
                }
                for (int si = 0; si < 5; si++)
                    for (int pad = 0; pad <= 3; pad += 3) {
                        const int n = sizes[si], ld = n + pad;
                        const double *src[2] = {base.x, base.s};
                        guarded gin[2], gout[2];
                        void *plain_in[2], *plain_out[2], *params = malloc(2 * rs);
                        size_t ilen[2], olen[2];
                        for (int a = 0; a < 2; a++) {
                            ilen[a] = irows[a] ? (size_t)(irows[a] - 1) * ld + n : 1;
                            olen[a] = orows[a] ? (size_t)(orows[a] - 1) * ld + n : 1;
                            CU_ASSERT_FATAL(guarded_alloc(&gin[a], ilen[a], rs) == 0);
                            CU_ASSERT_FATAL(guarded_alloc(&gout[a], olen[a], rs) == 0);
                            plain_in[a] = calloc(ilen[a] + (size_t)ld, rs);
                            plain_out[a] = calloc(olen[a] + (size_t)ld, rs);
                            CU_ASSERT_FATAL(plain_in[a] && plain_out[a]);
                            for (size_t i = 0; i < ilen[a]; i++) {
                                int r = (int)(i / (size_t)ld), b = (int)(i % (size_t)ld);
                                double v = src[a][r * LD + b];
                                set_real(plain_in[a], single, i, b < n ? v : 0.5);
                                if (b < n)
                                    set_real(gin[a].at, single, i, v);
                                else
                                    set_snan(gin[a].at, single, i);
                            }
                            for (size_t i = 0; i < olen[a]; i++)
                                set_real(gout[a].at, single, i, marker);
                        }
                        for (int i = 0; i < 2; i++)
                            set_real(params, single, (size_t)i, base.params[i]);
                        const void *in_g[2] = {gin[0].at, gin[1].at};
                        void *out_g[2] = {gout[0].at, gout[1].at};
                        const void *in_p[2] = {plain_in[0], plain_in[1]};
                        typedef void (*fn_any)(int, int, const void *const *, void *const *,
                                               const void *);
                        fn_any fn;
                        memcpy(&fn, &entry, sizeof(fn));
                        fn(n, ld, in_g, out_g, params);
                        fn(n, ld, in_p, plain_out, params);
                        int bad = 0;
                        for (int a = 0; a < 2; a++)
                            for (size_t i = 0; i < olen[a] && orows[a]; i++) {
                                int r = (int)(i / (size_t)ld), b = (int)(i % (size_t)ld);
                                int is_out = 0;
                                for (int o = 0; o < f->n_outputs; o++)
                                    is_out |= f->outputs[o].arg == a && f->outputs[o].row == r;
                                if (is_out && b < n) {
                                    bad += !same_bits(get_real(gout[a].at, single, i),
                                                      get_real(plain_out[a], single, i));
                                } else {
                                    bad += get_real(gout[a].at, single, i) != marker;
                                    bad += real_bits(plain_out[a], single, i) != 0;
                                }
                            }
                        runs++;
                        if (bad) {
                            failed++;
                            printf("  %s -O%d %s n %d ld %d: %d elements wrong\n",
                                   single ? "float" : "double", level, f->name, n, ld, bad);
                        }
                        for (int a = 0; a < 2; a++) {
                            guarded_free(&gin[a]);
                            guarded_free(&gout[a]);
                            free(plain_in[a]);
                            free(plain_out[a]);
                        }
                        free(params);
                    }
            }
        }
    }
    printf("\n  %d runs at the end of mappings (n = 1, W-1, W, W+1, 2W+3; ld n, n + 3), %d "
           "wrong\n", runs, failed);
    CU_ASSERT(runs > 0 && failed == 0);
    mnet_jit_free(jit);
    ir_free(fx.g);
}

/*---------------------------------------------------------------------------
 * A graph of about 100k nodes: time to JIT
 *---------------------------------------------------------------------------*/

/* 8 coupled chains over 8 input rows, each step one of the model mix
 * (products, sums, sigmoid, tanh, exp, pow, clamp, min; every step maps
 * bounded values to bounded values, so 1500 steps stay finite), then the VJP
 * of all eight ends with respect to all eight inputs. */
static int build_large(ir_graph *g, int steps, ir_output *outs /* 16 */)
{
    enum { W = 8 };
    ir_id x[W], acc[W], ends[W], seeds[W], grads[W];
    for (int j = 0; j < W; j++)
        acc[j] = x[j] = ir_var(g, 0, j);
    for (int i = 0; i < steps; i++)
        for (int j = 0; j < W; j++) {
            ir_id k = ir_const(g, 0.3 + 0.4 * ((i * W + j) % 97) / 97.0);
            ir_id other = acc[(j + 1) % W];
            ir_id t;
            switch ((i + j) % 6) {
            case 0: t = ir_add(g, ir_mul(g, acc[j], k), ir_mul(g, other, ir_const(g, 0.1))); break;
            case 1: t = ir_mul(g, acc[j], ir_unary(g, IR_SIGMOID, ir_sub(g, other, k))); break;
            case 2: t = ir_unary(g, IR_TANH, ir_add(g, acc[j], ir_mul(g, x[j], k))); break;
            case 3: t = ir_clamp(g, ir_add(g, acc[j], other), ir_const(g, -2), ir_const(g, 2)); break;
            case 4:
                t = ir_mul(g, acc[j], ir_unary(g, IR_EXP, ir_mul(g, ir_unary(g, IR_ABS, other),
                                                                 ir_neg(g, k))));
                break;
            default:
                t = ir_add(g, ir_binary(g, IR_MIN, acc[j], k),
                           ir_mul(g, ir_const(g, 0.1),
                                  ir_binary(g, IR_POW,
                                            ir_add(g, ir_unary(g, IR_ABS, other), ir_const(g, 0.5)),
                                            ir_const(g, -1.5))));
                break;
            }
            acc[j] = t;
        }
    for (int j = 0; j < W; j++) {
        ends[j] = acc[j];
        seeds[j] = ir_var(g, 1, j);
    }
    if (ir_vjp(g, W, ends, seeds, W, x, grads) != 0)
        return -1;
    for (int j = 0; j < W; j++) {
        outs[j] = (ir_output){0, j, ends[j]};
        outs[W + j] = (ir_output){1, j, grads[j]};
        if (ends[j] < 0 || grads[j] < 0)
            return -1;
    }
    return 0;
}

static void test_large(void)
{
    ir_graph *g = ir_new();
    ir_output outs[16];
    CU_ASSERT_FATAL(build_large(g, 1500, outs) == 0);
    ir_function f = {"large", 2, 2, 16, outs};
    ir_id roots[16];
    for (int k = 0; k < 16; k++)
        roots[k] = outs[k].node;
    int reachable = ir_count_reachable(g, 16, roots);
    printf("\n  graph: %d nodes, %d reachable from the outputs\n", ir_count(g), reachable);
    CU_ASSERT(reachable >= 100000);

    static double x[8 * LD], s[8 * LD], ref0[8 * LD], ref1[8 * LD], o0[8 * LD], o1[8 * LD];
    for (int i = 0; i < 8 * LD; i++) {
        x[i] = uniform(-1, 1);
        s[i] = uniform(-1, 1);
    }
    const double *in[2] = {x, s};
    double *ref[2] = {ref0, ref1}, *out[2] = {o0, o1};
    ir_eval(g, &f, N, LD, in, ref, NULL);

    char err[512] = "";
    mnet_jit *jit = mnet_jit_new(err, sizeof(err));
    CU_ASSERT_FATAL(jit != NULL);
    static const int levels[] = {0, 2};
    for (int l = 0; l < 2; l++) {
        double t0 = now_s(), c0 = cpu_s();
        int unit = mnet_jit_add(jit, g, 1, &f, 0, levels[l], err, sizeof(err));
        double t1 = now_s(), c1 = cpu_s();
        if (unit < 0)
            fprintf(stderr, "\n%s\n", err);
        CU_ASSERT_FATAL(unit >= 0);
        void *entry = mnet_jit_lookup_unit(jit, unit, "large");
        CU_ASSERT_FATAL(entry != NULL);
        mnet_jit_fn_d fn;
        memcpy(&fn, &entry, sizeof(fn));
        memset(o0, 0, sizeof(o0));
        memset(o1, 0, sizeof(o1));
        double t2 = now_s();
        fn(N, LD, in, out, NULL);
        double t3 = now_s();
        double e = compare_rows(&f, &(outputs){{o0, o1}}, &(outputs){{ref0, ref1}});
        printf("  mnet_jit_add -O%d: %.2f s (%.2f s CPU); a call on %d elements %.2f ms;"
               " vs ir_eval %.2e\n", levels[l], t1 - t0, c1 - c0, N, 1e3 * (t3 - t2), e);
        CU_ASSERT(e <= 1e-14);
        CU_ASSERT(mnet_jit_remove(jit, unit, err, sizeof(err)) == 0);
    }
    mnet_jit_free(jit);
    ir_free(g);
}

/*---------------------------------------------------------------------------
 * Lifetime: the same names again, many rounds, no growth
 *---------------------------------------------------------------------------*/

static double call_scalar(void *entry, double x0, double param)
{
    double x[1] = {x0}, y[1] = {0}, p[1] = {param};
    const double *in[1] = {x};
    double *out[1] = {y};
    mnet_jit_fn_d fn;
    memcpy(&fn, &entry, sizeof(fn));
    fn(1, 1, in, out, p);
    return y[0];
}

/* f = x0 * c; a unit of its own per c */
static int add_scaled(mnet_jit *jit, ir_graph *g, double c)
{
    static ir_output o;
    o = (ir_output){0, 0, ir_mul(g, ir_var(g, 0, 0), ir_const(g, c))};
    ir_function f = {"f", 1, 1, 1, &o};
    char err[256];
    return mnet_jit_add(jit, g, 1, &f, 0, 1, err, sizeof(err));
}

static void test_same_names(void)
{
    ir_graph *g = ir_new();
    mnet_jit *jit = mnet_jit_new(NULL, 0);
    CU_ASSERT_FATAL(jit != NULL);
    int u2 = add_scaled(jit, g, 2), u3 = add_scaled(jit, g, 3);
    CU_ASSERT_FATAL(u2 >= 0 && u3 >= 0 && u2 != u3);
    CU_ASSERT(call_scalar(mnet_jit_lookup(jit, "f"), 5, 0) == 15); /* the newest */
    CU_ASSERT(call_scalar(mnet_jit_lookup_unit(jit, u2, "f"), 5, 0) == 10);
    CU_ASSERT(call_scalar(mnet_jit_lookup_unit(jit, u3, "f"), 5, 0) == 15);
    CU_ASSERT(mnet_jit_lookup(jit, "g") == NULL);
    CU_ASSERT(mnet_jit_lookup_unit(jit, u2, "g") == NULL);
    CU_ASSERT(mnet_jit_remove(jit, u3, NULL, 0) == 0);
    CU_ASSERT(call_scalar(mnet_jit_lookup(jit, "f"), 5, 0) == 10); /* back to the older */
    CU_ASSERT(mnet_jit_lookup_unit(jit, u3, "f") == NULL);
    int u4 = add_scaled(jit, g, 4); /* takes the freed slot */
    CU_ASSERT(u4 == u3);
    CU_ASSERT(call_scalar(mnet_jit_lookup(jit, "f"), 5, 0) == 20);
    CU_ASSERT(mnet_jit_remove(jit, u2, NULL, 0) == 0);
    CU_ASSERT(mnet_jit_remove(jit, u2, NULL, 0) == -1); /* twice */
    mnet_jit_free(jit); /* u4 still in it */
    mnet_jit_free(NULL);
    ir_free(g);
}

/* Under AddressSanitizer (its allocator and quarantine) or ThreadSanitizer
 * (its allocator and shadow) the sanitizer owns the heap and the mappings,
 * so the growth checks below mean nothing there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* Mapped memory, which holds the JIT's code and constants (not malloc'd). */
static long mapped_bytes(void)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * sysconf(_SC_PAGESIZE);
}

/* The REPL's pattern: recompile a model again and again in one process.
 * After round 10 and after round 50, heap in use must agree to 256 KiB and
 * mapped memory to 512 KiB: a unit's code and constants take about 24 KiB of
 * pages, so 40 leaked units would show as 1 MiB, while malloc's own mappings
 * come and go by up to about 150 KiB.  (Under AddressSanitizer mallinfo does
 * not see the heap; LeakSanitizer checks at exit instead.) */
static void test_repeat(void)
{
    emit_fixture fx;
    CU_ASSERT_FATAL(build_fixture(&fx) == 0);
    fx.nfn = 7; /* without mnet_long */
    inputs v;
    make_inputs(&v);
    outputs first, again;
    outputs_alloc(&first, &fx.fn[1]);
    outputs_alloc(&again, &fx.fn[1]);
    char err[512];
    size_t at10 = 0, at50 = 0;
    long map10 = 0, map50 = 0;
    /* what earlier tests left free at the top of the heap, which malloc
     * could otherwise give back between rounds 10 and 50 (8 MB once) */
    malloc_trim(0);
    double t0 = now_s();
    mnet_jit *jit = mnet_jit_new(err, sizeof(err));
    CU_ASSERT_FATAL(jit != NULL);
    for (int round = 1; round <= 50; round++) {
        int unit = mnet_jit_add(jit, fx.g, fx.nfn, fx.fn, 0, 2, err, sizeof(err));
        CU_ASSERT_FATAL(unit >= 0);
        void *entry = mnet_jit_lookup(jit, "mnet_vjp");
        CU_ASSERT_FATAL(entry != NULL);
        run_entry(entry, &fx.fn[1], 0, &v, round == 1 ? &first : &again);
        if (round > 1)
            CU_ASSERT(memcmp(first.a[0], again.a[0], sizeof(double) * 5 * LD) == 0);
        CU_ASSERT(mnet_jit_remove(jit, unit, err, sizeof(err)) == 0);
        if (round == 10) {
            at10 = heap_in_use();
            map10 = mapped_bytes();
        }
    }
    at50 = heap_in_use();
    map50 = mapped_bytes();
    mnet_jit_free(jit);
    double t1 = now_s();
    printf("\n  50 x add/lookup/call/remove in one JIT: %.2f s; round 10 -> 50: heap %+ld, "
           "mapped %+ld bytes\n", t1 - t0, (long)at50 - (long)at10, map50 - map10);
    CU_ASSERT(UNDER_ASAN || labs((long)at50 - (long)at10) < 256 * 1024);
    CU_ASSERT(UNDER_ASAN || labs(map50 - map10) < 512 * 1024);

    for (int round = 1; round <= 50; round++) {
        jit = mnet_jit_new(err, sizeof(err));
        CU_ASSERT_FATAL(jit != NULL);
        CU_ASSERT_FATAL(mnet_jit_add(jit, fx.g, fx.nfn, fx.fn, 0, 2, err, sizeof(err)) >= 0);
        void *entry = mnet_jit_lookup(jit, "mnet_vjp");
        CU_ASSERT_FATAL(entry != NULL);
        run_entry(entry, &fx.fn[1], 0, &v, &again);
        CU_ASSERT(memcmp(first.a[0], again.a[0], sizeof(double) * 5 * LD) == 0);
        mnet_jit_free(jit);
        if (round == 10) {
            at10 = heap_in_use();
            map10 = mapped_bytes();
        }
    }
    at50 = heap_in_use();
    map50 = mapped_bytes();
    printf("  50 x new/add/lookup/call/free: %.2f s; round 10 -> 50: heap %+ld, mapped %+ld "
           "bytes\n", now_s() - t1, (long)at50 - (long)at10, map50 - map10);
    CU_ASSERT(UNDER_ASAN || labs((long)at50 - (long)at10) < 256 * 1024);
    CU_ASSERT(UNDER_ASAN || labs(map50 - map10) < 512 * 1024);
    if (UNDER_ASAN)
        printf("  (a sanitizer build: growth not checked; ASan's LeakSanitizer checks at exit)\n");
    outputs_free(&first);
    outputs_free(&again);
    ir_free(fx.g);
}

/*---------------------------------------------------------------------------
 * Errors and text
 *---------------------------------------------------------------------------*/

static void test_errors(void)
{
    emit_fixture fx;
    CU_ASSERT_FATAL(build_fixture(&fx) == 0);
    char err[512];
    mnet_jit *jit = mnet_jit_new(err, sizeof(err));
    CU_ASSERT_FATAL(jit != NULL);
    ir_output o = {0, 0, 1 << 29};
    struct {
        ir_function f[2];
        int n;
        const char *says;
    } cases[] = {
        {{{"not an identifier", 1, 1, 0, NULL}}, 1, "not a C identifier"},
        {{{"tanh", 1, 1, 0, NULL}}, 1, "libm"},
        {{{"f", 1, 1, 0, NULL}, {"f", 1, 1, 0, NULL}}, 2, "twice"},
        {{fx.fn[1]}, 1, "input arguments"}, /* n_in_args lowered below */
        {{{"f", 1, 1, 1, &o}}, 1, "out of range"},
    };
    cases[3].f[0].n_in_args = 1; /* the vjp reads in1 */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        CU_ASSERT(mnet_jit_add(jit, fx.g, cases[i].n, cases[i].f, 0, 2, err, sizeof(err)) == -1);
        CU_ASSERT(strstr(err, cases[i].says) != NULL);
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        CU_ASSERT_FATAL(m != NULL);
        CU_ASSERT(ir_emit_llvm_ir(m, fx.g, cases[i].n, cases[i].f, 0) == -1);
        fclose(m);
        CU_ASSERT(len == 0); /* nothing written */
        free(buf);
    }
    /* the JIT is still usable, and nothing was left behind */
    CU_ASSERT(mnet_jit_lookup(jit, "f") == NULL);
    int unit = mnet_jit_add(jit, fx.g, fx.nfn, fx.fn, 1, 2, err, sizeof(err));
    CU_ASSERT(unit >= 0);
    CU_ASSERT(mnet_jit_remove(jit, 99, err, sizeof(err)) == -1);
    CU_ASSERT(mnet_jit_remove(jit, -1, err, sizeof(err)) == -1);
    CU_ASSERT(mnet_jit_lookup_unit(jit, 99, "mnet_fwd") == NULL);
    /* no functions at all is a valid unit */
    CU_ASSERT(mnet_jit_add(jit, fx.g, 0, NULL, 0, 0, err, sizeof(err)) >= 0);
    mnet_jit_free(jit);
    ir_free(fx.g);
}

static char *emit_to_string(const ir_graph *g, int n, const ir_function *f, int single, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    *rc = ir_emit_llvm_ir(m, g, n, f, single);
    fclose(m);
    return buf;
}

/* Every call on vectors is llvm.sqrt or llvm.fabs (exact instructions), of
 * an OP.lanes function, which calls libm per lane on scalars, or (float) of
 * sin.vec, cos.vec or exp.vec, straight-line IEEE arithmetic (ir_vmath.h). */
static int vector_calls_only_exact(const char *text)
{
    for (const char *c = strstr(text, "call "); c; c = strstr(c + 1, "call ")) {
        const char *eol = strchr(c, '\n');
        size_t len = eol ? (size_t)(eol - c) : strlen(c);
        char line[512];
        snprintf(line, sizeof(line), "%.*s", (int)(len < 511 ? len : 511), c);
        if (strncmp(line, "call void @", 11) == 0) /* the parts and the body */
            continue;
        if ((strstr(line, " x double>") || strstr(line, " x float>")) &&
            !strstr(line, "@llvm.sqrt.v") && !strstr(line, "@llvm.fabs.v") &&
            !strstr(line, ".lanes(") && !strstr(line, "@sin.vec(") && !strstr(line, "@cos.vec(") &&
            !strstr(line, "@exp.vec(")) {
            printf("\n  a call on vectors: %s\n", line);
            return 0;
        }
    }
    return 1;
}

static void test_text(void)
{
    emit_fixture fx;
    CU_ASSERT_FATAL(build_fixture(&fx) == 0);
    int rc1 = -1, rc2 = -1, rc3 = -1;
    char *a = emit_to_string(fx.g, fx.nfn, fx.fn, 0, &rc1);
    char *b = emit_to_string(fx.g, fx.nfn, fx.fn, 0, &rc2);
    char *s = emit_to_string(fx.g, fx.nfn, fx.fn, 1, &rc3);
    CU_ASSERT_FATAL(a && b && s);
    CU_ASSERT(rc1 == 0 && rc2 == 0 && rc3 == 0);
    CU_ASSERT(strcmp(a, b) == 0); /* deterministic */
    CU_ASSERT(strstr(a, "define void @mnet_fwd(i32 %n, i32 %ld, double** %in, double** %out, "
                        "double* %params)") != NULL);
    CU_ASSERT(strstr(a, "define internal void @mnet_fwd.body(") != NULL);
    CU_ASSERT(strstr(a, "double* noalias nocapture readonly %in0") != NULL);
    CU_ASSERT(strstr(a, "double* noalias nocapture writeonly %out0") != NULL);
    CU_ASSERT(strstr(a, "alwaysinline") != NULL);
    CU_ASSERT(strstr(a, "%flce_") != NULL);          /* the C emitter's names */
    CU_ASSERT(strstr(a, "%v2_odd_name__") != NULL);
    CU_ASSERT(strstr(a, "call double @llvm.exp.f64(") != NULL);
    CU_ASSERT(strstr(a, "call double @tanh(") != NULL);
    CU_ASSERT(strstr(a, "call double @pow(") != NULL && strstr(a, "nobuiltin") != NULL);
    CU_ASSERT(strstr(a, "fast") == NULL && strstr(a, "contract") == NULL); /* no FMF */
    CU_ASSERT(strstr(s, "call float @powf(") != NULL && strstr(s, "@tanhf(") != NULL);
    /* float: sin, cos and exp are the straight-line functions, in double
     * inside (ir_vmath.h); sin and cos fall back to libm lane by lane, exp
     * never calls libm; no double anywhere else */
    CU_ASSERT(strstr(s, "define internal <8 x float> @exp.vec(<8 x float> %0) #") != NULL);
    CU_ASSERT(strstr(s, "define internal <8 x float> @sin.vec(<8 x float> %0) #") != NULL);
    CU_ASSERT(strstr(s, "call <8 x float> @exp.vec(<8 x float> ") != NULL);
    CU_ASSERT(strstr(s, "%xd = fpext <8 x float> %0 to <8 x double>") != NULL);
    CU_ASSERT(strstr(s, "call <8 x float> @sin.lanes(<8 x float> %0)") != NULL);
    CU_ASSERT(strstr(s, "call float @llvm.sin.f32(") != NULL);
    CU_ASSERT(strstr(s, "call float @llvm.exp.f32(") == NULL && strstr(s, "@exp.lanes") == NULL);
    CU_ASSERT(strstr(s, "double*") == NULL && strstr(s, "call double") == NULL);
    /* the vector loop: W = 256 bits of elements, unaligned loads and stores,
     * libm called lane by lane (never a vector variant); the rest through
     * the same loop on (rows x W) blocks, copied by runs of rows; no scalar
     * copy of the code; a function in parts has vector parts only */
    CU_ASSERT(strstr(a, "vloop:") != NULL && strstr(a, "rest:") != NULL);
    CU_ASSERT(strstr(a, "tailin:") != NULL && strstr(a, "tailout:") != NULL);
    CU_ASSERT(strstr(a, "%nv = and i64 %n64, -4") != NULL);
    CU_ASSERT(strstr(s, "%nv = and i64 %n64, -8") != NULL);
    CU_ASSERT(strstr(a, "%ld.c = phi i64 [ %ld64, %pre ], [ 4, %tailin ]") != NULL);
    CU_ASSERT(strstr(s, "%ld.c = phi i64 [ %ld64, %pre ], [ 8, %tailin ]") != NULL);
    CU_ASSERT(strstr(a, "%in0.c = phi double* [ %in0, %pre ], [ %in0.tail, %tailin ]") != NULL);
    CU_ASSERT(strstr(a, "%in0.tail = bitcast <4 x double>* ") != NULL);
    CU_ASSERT(strstr(a, "define internal void @tail.in(double* noalias nocapture writeonly "
                        "%blk, double* noalias nocapture readonly %arr, i64 %ld, i64 %rem, ") !=
              NULL);
    CU_ASSERT(strstr(a, "define internal void @tail.out(double* noalias nocapture writeonly "
                        "%arr, double* noalias nocapture readonly %blk, ") != NULL);
    /* mnet_gaps: in1 rows 1, 4-5; out0 rows 1, 3; out1 rows 0, 2 */
    CU_ASSERT(strstr(a, "@mnet_gaps.in1.rows = private unnamed_addr constant [4 x i32] "
                        "[i32 1, i32 1, i32 4, i32 2]") != NULL);
    CU_ASSERT(strstr(a, "@mnet_gaps.out0.rows = private unnamed_addr constant [4 x i32] "
                        "[i32 1, i32 1, i32 3, i32 1]") != NULL);
    CU_ASSERT(strstr(a, "%in0_0 = load <4 x double>, <4 x double>* ") != NULL);
    CU_ASSERT(strstr(a, ".r = ") == NULL);
    CU_ASSERT(strstr(a, "load double, double* %") != NULL); /* params, tail copies */
    CU_ASSERT(strstr(a, "store <4 x double> ") != NULL);
    CU_ASSERT(strstr(s, "load <8 x float>, <8 x float>* ") != NULL);
    CU_ASSERT(strstr(a, "shufflevector <4 x double> ") != NULL); /* a parameter, splat */
    CU_ASSERT(strstr(a, "define internal <4 x double> @exp.lanes(<4 x double> %0) #") != NULL);
    CU_ASSERT(strstr(a, "define internal <4 x double> @pow.lanes(<4 x double> %0, "
                        "<4 x double> %1) #") != NULL);
    CU_ASSERT(strstr(a, "call <4 x double> @tanh.lanes(<4 x double> ") != NULL);
    CU_ASSERT(strstr(s, "define internal <8 x float> @sin.lanes(<8 x float> %0) #") != NULL);
    CU_ASSERT(strstr(a, "extractelement <4 x double> %0, i32 3") != NULL);
    CU_ASSERT(strstr(a, "call <4 x double> @llvm.sqrt.v4f64(") != NULL);
    CU_ASSERT(strstr(a, "fcmp olt <4 x double> ") != NULL);
    CU_ASSERT(strstr(a, "define internal void @mnet_long.vpart0(i64 %b, i64 %ld, ") != NULL);
    CU_ASSERT(strstr(a, ".part0(") == NULL);
    CU_ASSERT(strstr(a, "<4 x double>* noalias nocapture %scratch") != NULL);
    CU_ASSERT(vector_calls_only_exact(a) && vector_calls_only_exact(s));
    free(a);
    free(b);
    free(s);
    ir_free(fx.g);
}

/*---------------------------------------------------------------------------
 * Float sin, cos and exp (ir_vmath.h): the JIT's sin.vec, cos.vec and
 * exp.vec against the C emitter's helpers, bit for bit, and their accuracy
 *---------------------------------------------------------------------------*/

static float float_of_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static uint32_t bits_of_float(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

/* Distance in float ulps (of the larger magnitude's binade) between two
 * floats; 0 for two NaNs, a large number for one NaN. */
static double float_ulps(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0 : 1e30;
    if (a == b)
        return 0;
    if (isinf(a) || isinf(b))
        return 1e30;
    int e;
    frexp(fmax(fabs((double)a), fabs((double)b)), &e);
    double ulp = fmax(ldexp(1.0, e - 24), 0x1p-149);
    return fabs((double)a - (double)b) / ulp;
}

/* The inputs: a sweep of bit patterns over every sign and exponent, floats
 * next to multiples of pi/2 up to 2^21 (the hardest reductions), next to
 * 2^20 (sin's and cos's fallback threshold), next to exp's overflow, the
 * subnormal range and its clamp, and NaN, infinities, zeros, subnormals. */
static int vm_inputs(float *x, int cap)
{
    int n = 0;
    for (uint64_t u = 0; u < 0x100000000u && n < cap; u += 4099)
        x[n++] = float_of_bits((uint32_t)u);
    for (int k = 1; k < (1 << 21) && n + 6 < cap; k = k < 64 ? k + 1 : k + k / 7) {
        float c = (float)(k * 1.5707963267948966);
        x[n++] = c;
        x[n++] = nextafterf(c, 0);
        x[n++] = nextafterf(c, INFINITY);
        x[n++] = -c;
    }
    const float edges[] = {0x1p20f, 88.72283f, 88.7228394f, -87.33654f, -103.972084f, -103.97209f,
                           150.0f, -150.0f, 151.0f, -151.0f, 1e-30f, -1e-30f, 0x1p-149f, FLT_MAX,
                           -FLT_MAX, 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 0.78539816f, 2.3561945f};
    for (size_t k = 0; k < sizeof(edges) / sizeof(edges[0]) && n + 5 < cap; k++) {
        x[n++] = edges[k];
        x[n++] = nextafterf(edges[k], -INFINITY);
        x[n++] = nextafterf(edges[k], INFINITY);
        x[n++] = -edges[k];
    }
    return n;
}

static void test_vmath(void)
{
    ir_graph *g = ir_new();
    CU_ASSERT_FATAL(g != NULL);
    ir_id x = ir_var(g, 0, 0);
    ir_output outs[4] = {{0, 0, ir_unary(g, IR_SIN, x)}, {0, 1, ir_unary(g, IR_COS, x)},
                         {0, 2, ir_unary(g, IR_EXP, x)}, {0, 3, ir_unary(g, IR_SIGMOID, x)}};
    ir_function f = {"vm_test", 1, 1, 4, outs};
    enum { CAP = 1 << 21, NV = 4 };
    float *in = malloc(CAP * sizeof(float));
    CU_ASSERT_FATAL(in != NULL);
    const int n = vm_inputs(in, CAP);
    /* the C: gcc and clang at -O2, gcc at -O3 for the host's vector unit */
    static const char *const builds[] = {"gcc -std=c11 -O2", "clang -std=c11 -O2",
                                         "gcc -std=c11 -O3 -march=native"};
    const char *names[NV] = {"jit-O0", "jit-O2", "", ""};
    float *out[2 + 3];
    void *handles[3] = {NULL};
    int nrun = 0;
    char err[512] = "";
    mnet_jit *jit = mnet_jit_new(err, sizeof(err));
    CU_ASSERT_FATAL(jit != NULL);
    char dir[] = "/tmp/mnet_vm_XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    printf("\n  %d inputs", n);
    for (int v = 0; v < 5; v++) {
        void *entry = NULL;
        if (v < 2) {
            int unit = mnet_jit_add(jit, g, 1, &f, 1, v == 0 ? 0 : 2, err, sizeof(err));
            if (unit < 0)
                printf("\n  %s\n", err);
            CU_ASSERT_FATAL(unit >= 0);
            entry = mnet_jit_lookup_unit(jit, unit, "vm_test");
        } else {
            const char *cc = builds[v - 2];
            char cc_name[16];
            snprintf(cc_name, sizeof(cc_name), "%.*s", (int)strcspn(cc, " "), cc);
            if (!have_compiler(cc_name)) {
                printf("\n  %s not installed: skipped", cc_name);
                continue;
            }
            char src[256], lib[256], log[256], cmd[1024];
            snprintf(src, sizeof(src), "%s/vm.c", dir);
            snprintf(lib, sizeof(lib), "%s/vm%d.so", dir, v);
            snprintf(log, sizeof(log), "%s/cc.log", dir);
            FILE *fp = fopen(src, "w");
            CU_ASSERT_FATAL(fp != NULL);
            fputs("#include <math.h>\ntypedef float real;\n\n", fp);
            CU_ASSERT(ir_emit_c(fp, g, &f, 1) == 0);
            fclose(fp);
            snprintf(cmd, sizeof(cmd), "%s -Wall -Wextra -Werror -shared -fPIC -o %s %s -lm >%s 2>&1", cc,
                     lib, src, log);
            CU_ASSERT(run_compiler(cmd, log) == 0);
            handles[v - 2] = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
            CU_ASSERT(handles[v - 2] != NULL);
            entry = handles[v - 2] ? dlsym(handles[v - 2], "vm_test") : NULL;
            remove(src);
            remove(lib);
            remove(log);
        }
        CU_ASSERT_FATAL(entry != NULL);
        float *o = out[nrun] = malloc((size_t)4 * n * sizeof(float));
        CU_ASSERT_FATAL(o != NULL);
        mnet_jit_fn_f fn;
        memcpy(&fn, &entry, sizeof(fn));
        const float *ins[1] = {in};
        float *outp[1] = {o};
        fn(n, n, ins, outp, NULL);
        /* every build the same bits as the first (any NaN equal) */
        long diff = 0;
        for (long i = 0; nrun > 0 && i < 4L * n; i++)
            diff += bits_of_float(o[i]) != bits_of_float(out[0][i]) && !(isnan(o[i]) && isnan(out[0][i]));
        printf("\n  %-32s %ld differences from jit-O0", v < 2 ? names[v] : builds[v - 2], diff);
        CU_ASSERT(diff == 0);
        nrun++;
    }
    /* accuracy against libm's double functions rounded to float: within
     * 1 ulp (measured: equal, i.e. correctly rounded, on every input here);
     * beyond 2^20 sin and cos are libm's sinf and cosf themselves */
    const char *fn_names[3] = {"sin", "cos", "exp"};
    for (int k = 0; k < 3; k++) {
        double worst = 0;
        long not_cr = 0, not_glibc = 0, fallback_wrong = 0;
        for (int i = 0; i < n; i++) {
            double xd = in[i];
            float got = out[0][k * n + i];
            float ref = (float)(k == 0 ? sin(xd) : k == 1 ? cos(xd) : exp(xd));
            float glibc = k == 0 ? sinf(in[i]) : k == 1 ? cosf(in[i]) : expf(in[i]);
            if (k < 2 && !(fabs(xd) <= 0x1p20)) {
                fallback_wrong += float_ulps(got, glibc) != 0;
                continue;
            }
            double u = float_ulps(got, ref);
            worst = fmax(worst, u);
            not_cr += u != 0;
            not_glibc += float_ulps(got, glibc) != 0;
        }
        printf("\n  %s: worst %.2g ulp from the correctly rounded float, %ld not correctly rounded, "
               "%ld differ from glibc's %sf", fn_names[k], worst, not_cr, not_glibc, fn_names[k]);
        CU_ASSERT(worst <= 1);
        CU_ASSERT(fallback_wrong == 0);
    }
    /* sigmoid is 1 / (1 + exp(-x)) in float, with this (correctly rounded) exp */
    long sig_wrong = 0;
    for (int i = 0; i < n; i++) {
        float want = 1.0f / (1.0f + (float)exp(-(double)in[i]));
        sig_wrong += float_ulps(out[0][3 * n + i], want) > 1;
    }
    printf("\n  sigmoid: %ld inputs more than 1 ulp from 1 / (1 + exp(-x))", sig_wrong);
    CU_ASSERT(sig_wrong == 0);
    for (int v = 0; v < nrun; v++)
        free(out[v]);
    for (int v = 0; v < 3; v++)
        if (handles[v])
            dlclose(handles[v]);
    rmdir(dir);
    mnet_jit_free(jit);
    free(in);
    ir_free(g);
}

static const mnet_test tests[] = {
    {"text", test_text},
    {"errors", test_errors},
    {"equivalence", test_equivalence},
    {"same_names", test_same_names},
    {"repeat", test_repeat},
    {"vector", test_vector},
    {"bounds", test_bounds},
    {"large", test_large},
    {"vmath", test_vmath},
    {NULL, NULL},
};

int main(void)
{
    return mnet_test_main("ir_emit_llvm", tests);
}
