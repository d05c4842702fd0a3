/* ir_emit_c.c - C source for one batched function of the expression graph.
 *
 * The shape (docs/compiler.md, "Emitted C"):
 *
 *   void NAME(int n, int ld, const real *const *in, real *const *out,
 *             const real *params)
 *   {
 *       const real *restrict in0 = in[0];
 *       real *restrict out0 = out[0];
 *       for (int b = 0; b < n; b++) {
 *           const real flce_17 = in0[3*ld + b] * params[4]; // line 12
 *           ...
 *           out0[ld + b] = flce_17;
 *       }
 *   }
 *
 * One const local per reachable non-leaf node, in id order (topological);
 * leaves are read inline.  Nodes that depend only on constants and
 * parameters are computed once before the batch loop.  Each op prints exactly the expression that
 * ir_eval_op computes, so the interpreter is the reference for the output.
 * The caller emits `#include <math.h>` and `typedef double real;` (or float)
 * before the function.  In float, sin, cos and exp are not libm's: they are
 * static inline helpers (mnet_vm_sinf, ...; ir_vmath.h) printed before the
 * first function that calls them, the operations the LLVM backend's
 * sin.vec, cos.vec and exp.vec perform, so the two backends agree bit for
 * bit.  Output arrays must not overlap input arrays (restrict
 * lets the compiler vectorise the batch loop). */
#include "ir.h"
#include "ir_vmath.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>



/* A constant as a C expression of type real: the shortest of "%.15g",
 * "%.16g", "%.17g" that reads back as the same double (0.2, not
 * 0.20000000000000001; "%.17g" always round-trips).  A locale that writes ','
 * for the decimal point is undone here, because the compiler may run inside a
 * host program that called setlocale (strtod reads the same locale back). */
static void print_const(FILE *out, double v)
{
    if (isnan(v)) {
        fputs("(real)NAN", out);
        return;
    }
    if (isinf(v)) {
        fputs(v < 0 ? "(real)-INFINITY" : "(real)INFINITY", out);
        return;
    }
    if (v == 0 && signbit(v)) { /* "(real)-0" would be the int 0: +0.0 */
        fputs("(real)-0.0", out);
        return;
    }
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof(buf), "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    for (char *p = buf; *p; p++)
        if (!isdigit((unsigned char)*p) && *p != 'e' && *p != '-' && *p != '+')
            *p = '.';
    fprintf(out, "(real)%s", buf);
}

/* A double constant as a C hexadecimal literal (exact); the locale's radix
 * character, if it is not '.', is turned back into one. */
static void print_hex(FILE *out, double v)
{
    char buf[40];
    snprintf(buf, sizeof(buf), "%a", v);
    for (char *p = buf; *p; p++)
        if (!isxdigit((unsigned char)*p) && *p != 'x' && *p != 'p' && *p != '-' && *p != '+')
            *p = '.';
    fputs(buf, out);
}

/* Horner steps `acc = acc * z; acc = acc + coef[k];` for k = n-2 .. 0,
 * acc starting at coef[n-1]: one operation per statement. */
static void print_horner(FILE *out, const char *acc, const char *z, const double *coef, int n)
{
    fprintf(out, "    double %s = ", acc);
    print_hex(out, coef[n - 1]);
    fputs(";\n", out);
    for (int k = n - 2; k >= 0; k--) {
        /* a - c is a + (-c) in IEEE arithmetic: the JIT's fadd of -c */
        fprintf(out, "    %s = %s * %s;\n    %s = %s %c ", acc, acc, z, acc, acc,
                coef[k] < 0 ? '-' : '+');
        print_hex(out, fabs(coef[k]));
        fputs(";\n", out);
    }
}

/* The float sin, cos and exp of the emitted code (ir_vmath.h has the
 * algorithm and the constants; ir_emit_llvm.c's sin.vec, cos.vec and exp.vec
 * are the same operations on vectors).  Each helper is printed before the
 * first single-precision function that uses it, under an include guard of
 * its own, so a file holds it once and holds only those it calls (clang
 * warns about an unused static function). */
static void print_vm_common(FILE *out)
{
    fputs("#ifndef MNET_VM_BITS\n"
          "#define MNET_VM_BITS\n"
          "#include <stdint.h>\n"
          "/* sin, cos and exp of a float in double arithmetic, one IEEE operation per\n"
          " * statement (no contraction), rounded to float once: what the JIT computes,\n"
          " * bit for bit (mnet's compiler/ir_vmath.h and docs/compiler.md, \"sin, cos\n"
          " * and exp in float\").  No call but sin's and cos's fallback to libm for\n"
          " * |x| > 2^20, NaN and infinities; exp has no branch. */\n"
          "typedef union {\n    double d;\n    uint64_t u;\n} mnet_vm_bits;\n"
          "#endif\n\n", out);
}

static void print_vm_sincos(FILE *out)
{
    static const double sin_coef[] = VM_SIN_COEFS, cos_coef[] = VM_COS_COEFS;
    fputs("#ifndef MNET_VM_SINCOS\n"
          "#define MNET_VM_SINCOS\n"
          "/* sin(r) and cos(r), |r| <= pi/4, z = r*r: fdlibm's kernels */\n"
          "static inline double mnet_vm_sin_kernel(double r, double z)\n{\n", out);
    print_horner(out, "s", "z", sin_coef, VM_SIN_NCOEF);
    fputs("    const double rz = r * z;\n"
          "    const double sp = rz * s;\n"
          "    return r + sp;\n}\n\n"
          "static inline double mnet_vm_cos_kernel(double z)\n{\n", out);
    print_horner(out, "c", "z", cos_coef, VM_SIN_NCOEF);
    fputs("    const double zz = z * z;\n"
          "    const double cp = zz * c;\n"
          "    const double hz = 0.5 * z;\n"
          "    const double c0 = 1.0 - hz;\n"
          "    return c0 + cp;\n}\n\n"
          "/* sin(x) (quadrant 0) or cos(x) (quadrant 1), |x| <= 2^20.  The\n"
          " * kernel a quadrant needs: scalar code computes one, vector code both\n"
          " * and picks, with the same bits. */\n"
          "static inline double mnet_vm_sincos(double x, uint64_t quadrant)\n{\n"
          "    mnet_vm_bits t;\n    const double xs = x * ", out);
    print_hex(out, VM_TWO_OVER_PI);
    fputs("; /* 2/pi */\n    t.d = xs + ", out);
    print_hex(out, VM_SHIFTER);
    fputs("; /* n = round(x 2/pi) in t's low bits */\n    const double nd = t.d - ", out);
    print_hex(out, VM_SHIFTER);
    fputs(";\n    const double a1 = nd * ", out);
    print_hex(out, VM_PIO2_1);
    fputs(";\n    const double r1 = x - a1;\n    const double a2 = nd * ", out);
    print_hex(out, VM_PIO2_2);
    fputs(";\n    const double r2 = r1 - a2;\n    const double a3 = nd * ", out);
    print_hex(out, VM_PIO2_2T);
    fputs(";\n    const double r = r2 - a3; /* x - n pi/2, in [-pi/4, pi/4] */\n"
          "    const double z = r * r;\n"
          "    const uint64_t q = t.u + quadrant;\n"
          "    const double v = (q & 1) != 0 ? mnet_vm_cos_kernel(z) : mnet_vm_sin_kernel(r, z);\n"
          "    return (q & 2) != 0 ? -v : v;\n}\n"
          "#endif\n\n", out);
}

/* mnet_vm_sinf (cosine 0) or mnet_vm_cosf (1) */
static void print_vm_sin_or_cos(FILE *out, int cosine)
{
    const char *fn = cosine ? "cos" : "sin", *up = cosine ? "COS" : "SIN";
    fprintf(out, "#ifndef MNET_VM_%sF\n#define MNET_VM_%sF\n"
                 "static inline float mnet_vm_%sf(float x)\n{\n    const double xd = x;\n"
                 "    return fabs(xd) <= ", up, up, fn);
    print_hex(out, VM_SINCOS_LIMIT);
    fprintf(out, " ? (float)mnet_vm_sincos(xd, %d) : %sf(x);\n}\n#endif\n\n", cosine, fn);
}

static void print_vm_exp(FILE *out)
{
    static const double exp_coef[] = VM_EXP_COEFS;
    fputs("#ifndef MNET_VM_EXPF\n#define MNET_VM_EXPF\n"
          "static inline float mnet_vm_expf(float x)\n{\n"
          "    const double xd = x;\n    const double xc = xd < ", out);
    print_hex(out, -VM_EXP_CLAMP);
    fputs(" ? ", out);
    print_hex(out, -VM_EXP_CLAMP);
    fputs(" : xd > ", out);
    print_hex(out, VM_EXP_CLAMP);
    fputs(" ? ", out);
    print_hex(out, VM_EXP_CLAMP);
    fputs(" : xd;\n    mnet_vm_bits t, scale;\n    const double xs = xc * ", out);
    print_hex(out, VM_INV_LN2);
    fputs("; /* 1/ln 2 */\n    t.d = xs + ", out);
    print_hex(out, VM_SHIFTER);
    fputs("; /* k = round(x/ln 2) in t's low bits */\n    const double kd = t.d - ", out);
    print_hex(out, VM_SHIFTER);
    fputs(";\n    const double a1 = kd * ", out);
    print_hex(out, VM_LN2_HI);
    fputs(";\n    const double r1 = xc - a1;\n    const double a2 = kd * ", out);
    print_hex(out, VM_LN2_LO);
    fputs(";\n    const double r = r1 - a2; /* x - k ln 2, in [-ln2/2, ln2/2] */\n", out);
    print_horner(out, "p", "r", exp_coef, VM_EXP_NCOEF);
    fputs("    scale.u = (t.u + 1023) << 52; /* 2^k */\n"
          "    const double y = p * scale.d;\n"
          "    return (float)y;\n}\n"
          "#endif\n\n", out);
}

/* The helpers a function calls: uses[op] for IR_SIN, IR_COS, IR_EXP. */
static void print_vm_helpers(FILE *out, const unsigned char *uses)
{
    print_vm_common(out);
    if (uses[IR_SIN] || uses[IR_COS])
        print_vm_sincos(out);
    if (uses[IR_SIN])
        print_vm_sin_or_cos(out, 0);
    if (uses[IR_COS])
        print_vm_sin_or_cos(out, 1);
    if (uses[IR_EXP])
        print_vm_exp(out);
}

/* An operand: leaves inline, other nodes by their local's name. */
static void print_operand(FILE *out, const ir_graph *g, ir_id id)
{
    const ir_node *n = ir_get(g, id);
    char name[IR_TEMP_NAME_MAX];
    switch (n->op) {
    case IR_CONST:
        print_const(out, n->value);
        break;
    case IR_VAR:
        if (n->row == 0)
            fprintf(out, "in%d[b]", n->arg);
        else if (n->row == 1)
            fprintf(out, "in%d[ld + b]", n->arg);
        else
            fprintf(out, "in%d[%d*ld + b]", n->arg, n->row);
        break;
    case IR_PARAM:
        fprintf(out, "params[%d]", n->row);
        break;
    default:
        ir_temp_name(g, id, name);
        fputs(name, out);
        break;
    }
}

/* The right-hand side of one node, the same expression as ir_eval_op. */
static void print_expr(FILE *out, const ir_graph *g, const ir_node *n, int single)
{
    const char *f = single ? "f" : ""; /* expf vs exp */
    /* in float, sin, cos and exp are the straight-line helpers (vm_helpers) */
    const char *vm = single ? "mnet_vm_" : "";
    const char *infix = NULL, *call = NULL, *cmp = NULL;
    switch (n->op) {
    case IR_ADD: infix = " + "; break;
    case IR_SUB: infix = " - "; break;
    case IR_MUL: infix = " * "; break;
    case IR_DIV: infix = " / "; break;
    case IR_POW: call = "pow"; break;
    case IR_EXP: call = "exp"; break;
    case IR_LOG: call = "log"; break;
    case IR_SQRT: call = "sqrt"; break;
    case IR_SIN: call = "sin"; break;
    case IR_COS: call = "cos"; break;
    case IR_TANH: call = "tanh"; break;
    case IR_ABS: call = "fabs"; break;
    case IR_LT: cmp = " < "; break;
    case IR_LE: cmp = " <= "; break;
    case IR_GT: cmp = " > "; break;
    case IR_GE: cmp = " >= "; break;
    case IR_EQ: cmp = " == "; break;
    case IR_NE: cmp = " != "; break;
    default: break;
    }
    if (infix) {
        print_operand(out, g, n->a);
        fputs(infix, out);
        print_operand(out, g, n->b);
    } else if (call) {
        int helper = n->op == IR_EXP || n->op == IR_SIN || n->op == IR_COS;
        fprintf(out, "%s%s%s(", helper ? vm : "", call, f);
        print_operand(out, g, n->a);
        if (n->op == IR_POW) {
            fputs(", ", out);
            print_operand(out, g, n->b);
        }
        fputs(")", out);
    } else if (cmp) {
        fputs("(real)(", out);
        print_operand(out, g, n->a);
        fputs(cmp, out);
        print_operand(out, g, n->b);
        fputs(")", out);
    } else {
        switch (n->op) {
        case IR_NEG:
            fputs("-", out);
            print_operand(out, g, n->a);
            break;
        case IR_SIGMOID: /* 1 / (1 + exp(-x)) */
            fprintf(out, "(real)1 / ((real)1 + %sexp%s(-", vm, f);
            print_operand(out, g, n->a);
            fputs("))", out);
            break;
        case IR_MIN: /* (a < b || a != a) ? a : b: a NaN in either comes out */
        case IR_MAX: {
            /* a constant a is never NaN here (min(NaN, x) folds to a NaN
             * constant only when x is constant too), so drop the test */
            int test_nan = ir_get(g, n->a)->op != IR_CONST || isnan(ir_get(g, n->a)->value);
            fputs("(", out);
            print_operand(out, g, n->a);
            fputs(n->op == IR_MIN ? " < " : " > ", out);
            print_operand(out, g, n->b);
            if (test_nan) {
                fputs(" || ", out);
                print_operand(out, g, n->a);
                fputs(" != ", out);
                print_operand(out, g, n->a);
            }
            fputs(") ? ", out);
            print_operand(out, g, n->a);
            fputs(" : ", out);
            print_operand(out, g, n->b);
            break;
        }
        case IR_CLAMP: /* x < lo ? lo : x > hi ? hi : x */
            print_operand(out, g, n->a);
            fputs(" < ", out);
            print_operand(out, g, n->b);
            fputs(" ? ", out);
            print_operand(out, g, n->b);
            fputs(" : ", out);
            print_operand(out, g, n->a);
            fputs(" > ", out);
            print_operand(out, g, n->c);
            fputs(" ? ", out);
            print_operand(out, g, n->c);
            fputs(" : ", out);
            print_operand(out, g, n->a);
            break;
        case IR_AND:
        case IR_OR:
            fputs("(real)(", out);
            print_operand(out, g, n->a);
            fputs(n->op == IR_AND ? " != 0 && " : " != 0 || ", out);
            print_operand(out, g, n->b);
            fputs(" != 0)", out);
            break;
        case IR_NOT:
            fputs("(real)(", out);
            print_operand(out, g, n->a);
            fputs(" == 0)", out);
            break;
        case IR_SELECT:
            print_operand(out, g, n->a);
            fputs(" != 0 ? ", out);
            print_operand(out, g, n->b);
            fputs(" : ", out);
            print_operand(out, g, n->c);
            break;
        default:
            break;
        }
    }
}

static int is_identifier(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

int ir_emit_c(FILE *out, const ir_graph *g, const ir_function *f, int single_precision)
{
    const int nnode = ir_count(g);
    /* mnet_vm_*: the helpers' names (print_vm_helpers) */
    if (!is_identifier(f->name) || strncmp(f->name, "mnet_vm_", 8) == 0 || f->n_in_args < 0 ||
        f->n_out_args < 0 || f->n_outputs < 0)
        return -1;
    ir_id *roots = malloc(sizeof(*roots) * ((size_t)f->n_outputs + 1));
    unsigned char *mark = malloc((size_t)nnode + 1);
    unsigned char *in_used = calloc((size_t)f->n_in_args + 1, 1);
    unsigned char *out_used = calloc((size_t)f->n_out_args + 1, 1);
    int status = -1;
    if (!roots || !mark || !in_used || !out_used)
        goto done;

    /* Check everything before writing anything, and find which arguments
     * are used, so that none is declared unused (-Werror). */
    int uses_ld = 0, uses_params = 0, ntemp = 0;
    unsigned char uses_op[IR_NOPS] = {0}; /* sin, cos, exp (sigmoid's too) */
    for (int k = 0; k < f->n_outputs; k++) {
        const ir_output *o = &f->outputs[k];
        if (o->node < 0 || o->node >= nnode || o->arg < 0 || o->arg >= f->n_out_args ||
            o->row < 0)
            goto done;
        roots[k] = o->node;
        out_used[o->arg] = 1;
        uses_ld |= o->row > 0;
    }
    ir_mark_reachable(g, f->n_outputs, roots, mark);
    for (int id = 0; id < nnode; id++) {
        if (!mark[id])
            continue;
        const ir_node *n = ir_get(g, id);
        if (n->op == IR_VAR) {
            if (n->arg >= f->n_in_args)
                goto done;
            in_used[n->arg] = 1;
            uses_ld |= n->row > 0;
        } else if (n->op == IR_PARAM) {
            uses_params = 1;
        } else if (n->op != IR_CONST) {
            ntemp++;
            uses_op[n->op == IR_SIGMOID ? IR_EXP : n->op] = 1;
        }
    }

    if (single_precision && (uses_op[IR_SIN] || uses_op[IR_COS] || uses_op[IR_EXP]))
        print_vm_helpers(out, uses_op);

    fprintf(out, "/* %s: %d outputs, %d temporaries, %s precision */\n", f->name,
            f->n_outputs, ntemp, single_precision ? "single" : "double");
    fprintf(out, "void %s(int n, int ld, const real *const *in, real *const *out,\n", f->name);
    fprintf(out, "%*sconst real *params)\n{\n", (int)strlen(f->name) + 6, "");
    int any_in = 0, any_out = 0;
    for (int a = 0; a < f->n_in_args; a++)
        if (in_used[a]) {
            fprintf(out, "    const real *restrict in%d = in[%d];\n", a, a);
            any_in = 1;
        }
    for (int a = 0; a < f->n_out_args; a++)
        if (out_used[a]) {
            fprintf(out, "    real *restrict out%d = out[%d];\n", a, a);
            any_out = 1;
        }
    if (!any_in)
        fputs("    (void)in;\n", out);
    if (!any_out)
        fputs("    (void)out;\n", out);
    if (!uses_params)
        fputs("    (void)params;\n", out);
    if (!uses_ld)
        fputs("    (void)ld;\n", out);

    /* Values that depend only on constants and parameters are the same for
     * every batch element: computed once, before the batch loop (pass 0),
     * the rest inside it (pass 1).  mark[id] becomes 2 for such values. */
    for (int id = 0; id < nnode; id++) {
        if (!mark[id])
            continue;
        const ir_node *n = ir_get(g, id);
        int invariant = n->op != IR_VAR;
        ir_id ops[3] = {n->a, n->b, n->c};
        for (int k = 0; k < 3 && invariant; k++)
            invariant = ops[k] < 0 || mark[ops[k]] == 2;
        if (invariant)
            mark[id] = 2;
    }
    char name[IR_TEMP_NAME_MAX];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            fputs("    for (int b = 0; b < n; b++) {\n", out);
        const char *indent = pass ? "        " : "    ";
        for (int id = 0; id < nnode; id++) {
            const ir_node *n = ir_get(g, id);
            if (!mark[id] || (mark[id] == 2) != (pass == 0) || n->op == IR_CONST || n->op == IR_VAR ||
                n->op == IR_PARAM)
                continue;
            ir_temp_name(g, id, name);
            fprintf(out, "%sconst real %s = ", indent, name);
            print_expr(out, g, n, single_precision);
            if (ir_line(g, id) > 0)
                fprintf(out, "; /* line %d */\n", ir_line(g, id));
            else
                fputs(";\n", out);
        }
    }
    for (int k = 0; k < f->n_outputs; k++) {
        const ir_output *o = &f->outputs[k];
        if (o->row == 0)
            fprintf(out, "        out%d[b] = ", o->arg);
        else if (o->row == 1)
            fprintf(out, "        out%d[ld + b] = ", o->arg);
        else
            fprintf(out, "        out%d[%d*ld + b] = ", o->arg, o->row);
        print_operand(out, g, o->node);
        fputs(";\n", out);
    }
    fputs("    }\n}\n", out);
    status = ferror(out) ? -1 : 0;
done:
    free(roots);
    free(mark);
    free(in_used);
    free(out_used);
    return status;
}
