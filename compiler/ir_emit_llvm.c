/* ir_emit_llvm.c - the LLVM backend: functions of the expression graph as an
 * LLVM module (through the LLVM C API), printed as textual IR or compiled
 * in-process by ORC LLJIT.
 *
 * Each ir_function NAME becomes two LLVM functions (docs/compiler.md, "LLVM
 * backend"):
 *
 *   define void @NAME(i32 %n, i32 %ld, double** %in, double** %out, double* %params)
 *     loads in[a] and out[a] for the arguments the function uses and calls
 *   define internal void @NAME.body(i32 %n, i32 %ld, double* noalias %in0, ...,
 *                                   double* noalias %out0, ..., double* noalias %params)
 *     alwaysinline, so the optimiser sees the arrays as `restrict` (noalias
 *     parameters become scoped alias metadata when inlined), as the C
 *     emitter's `const real *restrict in0 = in[0];` locals say:
 *
 *   entry:   br (n > 0) ? pre : exit
 *   pre:     row pointers in_a + row*ld and out_a + row*ld, params[i] loads
 *   loop:    b = phi [0, pre], [b + 1, loop]
 *            one instruction group per reachable non-leaf node in id order,
 *            VAR leaves loaded where they first come in id order,
 *            then the stores of the outputs in output order
 *            br (b + 1 < n) ? loop : exit
 *   exit:    ret void
 *
 * Every op is the expression ir_emit_c prints and ir_eval_op computes, with
 * no fast-math flags, so the JIT and the C backend agree bit for bit:
 *   + - * / neg        fadd fsub fmul fdiv fneg
 *   exp log sqrt sin cos abs
 *                      llvm.exp/log/sqrt/sin/cos/fabs (exp, log, sin, cos
 *                      lower to the libm calls the C code makes; sqrt and
 *                      fabs to the instructions gcc uses for them)
 *   pow                a call of libm pow/powf marked `nobuiltin`: without
 *                      it LLVM rewrites pow(x, 0.5) as sqrt, which gcc does
 *                      not do without -ffast-math and which can differ in
 *                      the last bit
 *   tanh               a call of libm tanh/tanhf (LLVM has no intrinsic)
 *   sigmoid            1 / (1 + exp(-x))
 *   min, max           select((a < b) | (a uno a), a, b); the NaN test is
 *                      left out for a constant non-NaN a, as in C
 *   clamp              select(x < lo, lo, select(x > hi, hi, x))
 *   comparisons        fcmp olt/ole/ogt/oge/oeq/une, uitofp to real
 *   and, or, not       fcmp une 0 (oeq 0 for not), and/or, uitofp
 *   select             select(fcmp une c, 0, a, b)
 * Params are loaded once before the loop (C loads them every iteration; the
 * same values, because outputs may not overlap the parameter table).
 */
#include "ir_llvm.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { TEMP_NAME_MAX = 64, NAME_STEM_MAX = 40 };

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Takes (consumes) an LLVM error: its message after `what: ` into err. */
static void set_llvm_error(char *err, size_t errlen, const char *what, LLVMErrorRef e)
{
    char *msg = LLVMGetErrorMessage(e);
    set_error(err, errlen, "%s: %s", what, msg ? msg : "(no message)");
    LLVMDisposeErrorMessage(msg);
}

/*---------------------------------------------------------------------------
 * Checking the functions: everything is checked before anything is emitted
 *---------------------------------------------------------------------------*/

static int is_identifier(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* The libm functions the emitted code calls: a function of the same name
 * would replace them (text output) or shadow them (C output), so refuse it. */
static int is_libm_name(const char *s)
{
    static const char *const names[] = {"exp", "expf", "log", "logf", "sqrt", "sqrtf",
                                        "sin", "sinf", "cos", "cosf", "fabs", "fabsf",
                                        "pow", "powf", "tanh", "tanhf"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return 1;
    return 0;
}

/* mark: (nnode) scratch.  Returns 0, or -1 with a message. */
static int check_functions(const ir_graph *g, int n_fns, const ir_function *fns,
                           unsigned char *mark, char *err, size_t errlen)
{
    const int nnode = ir_count(g);
    if (n_fns < 0 || (n_fns > 0 && !fns)) {
        set_error(err, errlen, "bad function count %d", n_fns);
        return -1;
    }
    for (int k = 0; k < n_fns; k++) {
        const ir_function *f = &fns[k];
        if (!is_identifier(f->name)) {
            set_error(err, errlen, "function %d: name '%s' is not a C identifier", k,
                      f->name ? f->name : "(null)");
            return -1;
        }
        if (is_libm_name(f->name)) {
            set_error(err, errlen, "function '%s': the name of a libm function", f->name);
            return -1;
        }
        for (int j = 0; j < k; j++)
            if (strcmp(fns[j].name, f->name) == 0) {
                set_error(err, errlen, "function '%s' given twice", f->name);
                return -1;
            }
        if (f->n_in_args < 0 || f->n_out_args < 0 || f->n_outputs < 0 ||
            (f->n_outputs > 0 && !f->outputs)) {
            set_error(err, errlen, "function '%s': bad argument or output counts", f->name);
            return -1;
        }
        for (int o = 0; o < f->n_outputs; o++) {
            const ir_output *out = &f->outputs[o];
            if (out->node < 0 || out->node >= nnode || out->arg < 0 ||
                out->arg >= f->n_out_args || out->row < 0) {
                set_error(err, errlen,
                          "function '%s': output %d (arg %d, row %d, node %d) out of range",
                          f->name, o, out->arg, out->row, out->node);
                return -1;
            }
        }
        ir_id *roots = malloc(sizeof(*roots) * ((size_t)f->n_outputs + 1));
        if (!roots) {
            set_error(err, errlen, "out of memory");
            return -1;
        }
        for (int o = 0; o < f->n_outputs; o++)
            roots[o] = f->outputs[o].node;
        ir_mark_reachable(g, f->n_outputs, roots, mark);
        free(roots);
        for (int id = 0; id < nnode; id++) {
            const ir_node *n = ir_get(g, id);
            if (mark[id] && n->op == IR_VAR && (n->arg >= f->n_in_args || n->row < 0)) {
                set_error(err, errlen, "function '%s': node %d reads input %d row %d, "
                          "but the function has %d input arguments", f->name, id, n->arg,
                          n->row, f->n_in_args);
                return -1;
            }
        }
    }
    return 0;
}

/*---------------------------------------------------------------------------
 * Emitting a module
 *---------------------------------------------------------------------------*/

typedef struct {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef bld;
    int single;                  /* float instead of double             */
    int named;                   /* value names for text output         */
    LLVMTypeRef real, i1, i32, i64, void_ty;
    LLVMTypeRef real_ptr, real_ptr_ptr;
    LLVMTypeRef fn1, fn2;        /* real(real), real(real, real)        */
    LLVMValueRef math[IR_NOPS];  /* the function each math op calls     */
    LLVMAttributeRef nobuiltin, noalias, nocapture, readonly, writeonly,
        nounwind, alwaysinline;
    /* scratch, (nnode) each, reused by every function */
    unsigned char *mark;
    LLVMValueRef *value;         /* the value of each node this iteration */
    LLVMValueRef *row_ptr;       /* VAR nodes: in_arg + row*ld          */
} llvm_emitter;

static LLVMAttributeRef enum_attr(LLVMContextRef ctx, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    return LLVMCreateEnumAttribute(ctx, kind, 0);
}

static LLVMValueRef intrinsic(llvm_emitter *e, const char *name)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    return LLVMGetIntrinsicDeclaration(e->mod, id, &e->real, 1);
}

static LLVMValueRef libm_function(llvm_emitter *e, const char *name, LLVMTypeRef type)
{
    char full[16];
    snprintf(full, sizeof(full), "%s%s", name, e->single ? "f" : "");
    LLVMValueRef fn = LLVMAddFunction(e->mod, full, type);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->nounwind);
    return fn;
}

/* Types, attributes and math declarations; mod and ctx already set. */
static int emitter_init(llvm_emitter *e, int nnode)
{
    LLVMContextRef c = e->ctx;
    e->bld = LLVMCreateBuilderInContext(c);
    e->real = e->single ? LLVMFloatTypeInContext(c) : LLVMDoubleTypeInContext(c);
    e->i1 = LLVMInt1TypeInContext(c);
    e->i32 = LLVMInt32TypeInContext(c);
    e->i64 = LLVMInt64TypeInContext(c);
    e->void_ty = LLVMVoidTypeInContext(c);
    e->real_ptr = LLVMPointerType(e->real, 0);
    e->real_ptr_ptr = LLVMPointerType(e->real_ptr, 0);
    LLVMTypeRef two[2] = {e->real, e->real};
    e->fn1 = LLVMFunctionType(e->real, two, 1, 0);
    e->fn2 = LLVMFunctionType(e->real, two, 2, 0);
    e->nobuiltin = enum_attr(c, "nobuiltin");
    e->noalias = enum_attr(c, "noalias");
    e->nocapture = enum_attr(c, "nocapture");
    e->readonly = enum_attr(c, "readonly");
    e->writeonly = enum_attr(c, "writeonly");
    e->nounwind = enum_attr(c, "nounwind");
    e->alwaysinline = enum_attr(c, "alwaysinline");
    e->math[IR_EXP] = intrinsic(e, "llvm.exp");
    e->math[IR_SIGMOID] = e->math[IR_EXP];
    e->math[IR_LOG] = intrinsic(e, "llvm.log");
    e->math[IR_SQRT] = intrinsic(e, "llvm.sqrt");
    e->math[IR_SIN] = intrinsic(e, "llvm.sin");
    e->math[IR_COS] = intrinsic(e, "llvm.cos");
    e->math[IR_ABS] = intrinsic(e, "llvm.fabs");
    e->math[IR_POW] = libm_function(e, "pow", e->fn2);
    e->math[IR_TANH] = libm_function(e, "tanh", e->fn1);
    e->mark = malloc((size_t)nnode + 1);
    e->value = calloc((size_t)nnode + 1, sizeof(*e->value));
    e->row_ptr = calloc((size_t)nnode + 1, sizeof(*e->row_ptr));
    return e->bld && e->mark && e->value && e->row_ptr ? 0 : -1;
}

/* Frees the builder and scratch; not the module or the context. */
static void emitter_free(llvm_emitter *e)
{
    if (e->bld)
        LLVMDisposeBuilder(e->bld);
    free(e->mark);
    free(e->value);
    free(e->row_ptr);
}

/* The C emitter's name of a non-leaf node (temp_name in ir_emit_c.c), so the
 * .ll reads beside the .c: `t<id>`, or the ir_set_name name made an
 * identifier with `_<id>` after it. */
static void temp_name(const ir_graph *g, ir_id id, char *buf)
{
    const char *name = ir_name(g, id);
    if (!name || !name[0]) {
        snprintf(buf, TEMP_NAME_MAX, "t%d", id);
        return;
    }
    char stem[NAME_STEM_MAX + 2];
    int len = 0;
    if (!isalpha((unsigned char)name[0]))
        stem[len++] = 'v';
    for (const char *p = name; *p && len < NAME_STEM_MAX; p++)
        stem[len++] = isalnum((unsigned char)*p) ? *p : '_';
    stem[len] = '\0';
    snprintf(buf, TEMP_NAME_MAX, "%s_%d", stem, id);
}

static LLVMValueRef call1(llvm_emitter *e, LLVMValueRef fn, LLVMValueRef x, const char *name)
{
    return LLVMBuildCall2(e->bld, e->fn1, fn, &x, 1, name);
}

static LLVMValueRef to_real(llvm_emitter *e, LLVMValueRef flag, const char *name)
{
    return LLVMBuildUIToFP(e->bld, flag, e->real, name);
}

static LLVMValueRef is_true(llvm_emitter *e, LLVMValueRef x) /* x != 0, NaN is true */
{
    return LLVMBuildFCmp(e->bld, LLVMRealUNE, x, LLVMConstReal(e->real, 0), "");
}

/* One non-leaf node: the expression of ir_eval_op (see the table above). */
static LLVMValueRef emit_op(llvm_emitter *e, const ir_graph *g, const ir_node *n,
                            const char *name)
{
    LLVMBuilderRef B = e->bld;
    LLVMValueRef a = e->value[n->a];
    LLVMValueRef b = n->b >= 0 ? e->value[n->b] : NULL;
    LLVMValueRef c = n->c >= 0 ? e->value[n->c] : NULL;
    LLVMRealPredicate cmp = LLVMRealPredicateFalse;
    switch (n->op) {
    case IR_NEG: return LLVMBuildFNeg(B, a, name);
    case IR_ADD: return LLVMBuildFAdd(B, a, b, name);
    case IR_SUB: return LLVMBuildFSub(B, a, b, name);
    case IR_MUL: return LLVMBuildFMul(B, a, b, name);
    case IR_DIV: return LLVMBuildFDiv(B, a, b, name);
    case IR_POW: {
        LLVMValueRef args[2] = {a, b};
        LLVMValueRef call = LLVMBuildCall2(B, e->fn2, e->math[IR_POW], args, 2, name);
        LLVMAddCallSiteAttribute(call, LLVMAttributeFunctionIndex, e->nobuiltin);
        return call;
    }
    case IR_EXP:
    case IR_LOG:
    case IR_SQRT:
    case IR_SIN:
    case IR_COS:
    case IR_TANH:
    case IR_ABS:
        return call1(e, e->math[n->op], a, name);
    case IR_SIGMOID: { /* 1 / (1 + exp(-x)) */
        LLVMValueRef one = LLVMConstReal(e->real, 1);
        LLVMValueRef ex = call1(e, e->math[IR_SIGMOID], LLVMBuildFNeg(B, a, ""), "");
        return LLVMBuildFDiv(B, one, LLVMBuildFAdd(B, one, ex, ""), name);
    }
    case IR_MIN: /* (a < b || a != a) ? a : b */
    case IR_MAX: {
        LLVMValueRef pick = LLVMBuildFCmp(B, n->op == IR_MIN ? LLVMRealOLT : LLVMRealOGT,
                                          a, b, "");
        const ir_node *na = ir_get(g, n->a);
        if (na->op != IR_CONST || isnan(na->value))
            pick = LLVMBuildOr(B, pick, LLVMBuildFCmp(B, LLVMRealUNE, a, a, ""), "");
        return LLVMBuildSelect(B, pick, a, b, name);
    }
    case IR_CLAMP: { /* x < lo ? lo : x > hi ? hi : x */
        LLVMValueRef below = LLVMBuildFCmp(B, LLVMRealOLT, a, b, "");
        LLVMValueRef above = LLVMBuildFCmp(B, LLVMRealOGT, a, c, "");
        return LLVMBuildSelect(B, below, b, LLVMBuildSelect(B, above, c, a, ""), name);
    }
    case IR_LT: cmp = LLVMRealOLT; break;
    case IR_LE: cmp = LLVMRealOLE; break;
    case IR_GT: cmp = LLVMRealOGT; break;
    case IR_GE: cmp = LLVMRealOGE; break;
    case IR_EQ: cmp = LLVMRealOEQ; break;
    case IR_NE: cmp = LLVMRealUNE; break;
    case IR_AND: return to_real(e, LLVMBuildAnd(B, is_true(e, a), is_true(e, b), ""), name);
    case IR_OR: return to_real(e, LLVMBuildOr(B, is_true(e, a), is_true(e, b), ""), name);
    case IR_NOT:
        return to_real(e, LLVMBuildFCmp(B, LLVMRealOEQ, a, LLVMConstReal(e->real, 0), ""),
                       name);
    case IR_SELECT: return LLVMBuildSelect(B, is_true(e, a), b, c, name);
    case IR_CONST:
    case IR_VAR:
    case IR_PARAM:
    case IR_NOPS:
        break;
    }
    if (cmp != LLVMRealPredicateFalse)
        return to_real(e, LLVMBuildFCmp(B, cmp, a, b, ""), name);
    return NULL;
}

static void add_param_attrs(llvm_emitter *e, LLVMValueRef fn, unsigned index, int written)
{
    LLVMAddAttributeAtIndex(fn, index, e->noalias);
    LLVMAddAttributeAtIndex(fn, index, e->nocapture);
    LLVMAddAttributeAtIndex(fn, index, written ? e->writeonly : e->readonly);
}

/* in[arg] / out[arg] in the wrapper */
static LLVMValueRef load_array(llvm_emitter *e, LLVMValueRef arrays, int arg, const char *name)
{
    LLVMValueRef idx = LLVMConstInt(e->i64, (unsigned long long)arg, 0);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(e->bld, e->real_ptr, arrays, &idx, 1, "");
    return LLVMBuildLoad2(e->bld, e->real_ptr, slot, name);
}

/* base + row*ld, in the block the builder is in */
static LLVMValueRef row_pointer(llvm_emitter *e, LLVMValueRef base, int row, LLVMValueRef ld64,
                                const char *name)
{
    if (row == 0)
        return base;
    LLVMValueRef off = LLVMBuildNSWMul(e->bld, LLVMConstInt(e->i64, (unsigned long long)row, 0),
                                       ld64, "");
    return LLVMBuildInBoundsGEP2(e->bld, e->real, base, &off, 1, name);
}

/* Emits function f as `symbol` (and `symbol.body`).  f has been checked. */
static int emit_function(llvm_emitter *e, const ir_graph *g, const ir_function *f,
                         const char *symbol)
{
    const int nnode = ir_count(g);
    LLVMBuilderRef B = e->bld;
    int status = -1;
    int *in_param = malloc(sizeof(int) * ((size_t)f->n_in_args + 1));   /* body param, -1 unused */
    int *out_param = malloc(sizeof(int) * ((size_t)f->n_out_args + 1));
    ir_id *roots = malloc(sizeof(*roots) * ((size_t)f->n_outputs + 1));
    LLVMValueRef *out_row = malloc(sizeof(*out_row) * ((size_t)f->n_outputs + 1));
    unsigned n_body = 2 + (unsigned)f->n_in_args + (unsigned)f->n_out_args + 1;
    LLVMTypeRef *body_types = malloc(sizeof(*body_types) * n_body);
    LLVMValueRef *call_args = malloc(sizeof(*call_args) * n_body);
    size_t symlen = strlen(symbol);
    char *body_name = malloc(symlen + sizeof(".body"));
    if (!in_param || !out_param || !roots || !out_row || !body_types || !call_args || !body_name)
        goto done;
    memcpy(body_name, symbol, symlen);
    memcpy(body_name + symlen, ".body", sizeof(".body"));

    /* which arrays and whether params are used */
    for (int a = 0; a < f->n_in_args; a++)
        in_param[a] = -1;
    for (int a = 0; a < f->n_out_args; a++)
        out_param[a] = -1;
    for (int k = 0; k < f->n_outputs; k++) {
        roots[k] = f->outputs[k].node;
        out_param[f->outputs[k].arg] = 0;
    }
    ir_mark_reachable(g, f->n_outputs, roots, e->mark);
    int uses_params = 0;
    for (int id = 0; id < nnode; id++) {
        if (!e->mark[id])
            continue;
        const ir_node *n = ir_get(g, id);
        if (n->op == IR_VAR)
            in_param[n->arg] = 0;
        uses_params |= n->op == IR_PARAM;
    }
    n_body = 0;
    body_types[n_body++] = e->i32;
    body_types[n_body++] = e->i32;
    for (int a = 0; a < f->n_in_args; a++)
        if (in_param[a] == 0) {
            in_param[a] = (int)n_body;
            body_types[n_body++] = e->real_ptr;
        }
    for (int a = 0; a < f->n_out_args; a++)
        if (out_param[a] == 0) {
            out_param[a] = (int)n_body;
            body_types[n_body++] = e->real_ptr;
        }
    int params_param = uses_params ? (int)n_body : -1;
    if (uses_params)
        body_types[n_body++] = e->real_ptr;

    /* the body: noalias arrays, the batch loop */
    LLVMValueRef body = LLVMAddFunction(e->mod, body_name,
                                        LLVMFunctionType(e->void_ty, body_types, n_body, 0));
    LLVMSetLinkage(body, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(body, LLVMAttributeFunctionIndex, e->alwaysinline);
    LLVMAddAttributeAtIndex(body, LLVMAttributeFunctionIndex, e->nounwind);
    char name[TEMP_NAME_MAX];
    LLVMSetValueName2(LLVMGetParam(body, 0), "n", 1);
    LLVMSetValueName2(LLVMGetParam(body, 1), "ld", 2);
    for (int a = 0; a < f->n_in_args; a++)
        if (in_param[a] >= 0) {
            LLVMValueRef p = LLVMGetParam(body, (unsigned)in_param[a]);
            snprintf(name, sizeof(name), "in%d", a);
            LLVMSetValueName2(p, name, strlen(name));
            add_param_attrs(e, body, (unsigned)in_param[a] + 1, 0);
        }
    for (int a = 0; a < f->n_out_args; a++)
        if (out_param[a] >= 0) {
            LLVMValueRef p = LLVMGetParam(body, (unsigned)out_param[a]);
            snprintf(name, sizeof(name), "out%d", a);
            LLVMSetValueName2(p, name, strlen(name));
            add_param_attrs(e, body, (unsigned)out_param[a] + 1, 1);
        }
    if (uses_params) {
        LLVMSetValueName2(LLVMGetParam(body, (unsigned)params_param), "params", 6);
        add_param_attrs(e, body, (unsigned)params_param + 1, 0);
    }

    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->ctx, body, "entry");
    LLVMBasicBlockRef pre = LLVMAppendBasicBlockInContext(e->ctx, body, "pre");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(e->ctx, body, "loop");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(e->ctx, body, "exit");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef n32 = LLVMGetParam(body, 0);
    LLVMValueRef any = LLVMBuildICmp(B, LLVMIntSGT, n32, LLVMConstInt(e->i32, 0, 0), "any");
    LLVMBuildCondBr(B, any, pre, exit);

    /* pre: everything that does not change with b */
    LLVMPositionBuilderAtEnd(B, pre);
    LLVMValueRef n64 = LLVMBuildSExt(B, n32, e->i64, "n64");
    LLVMValueRef ld64 = LLVMBuildSExt(B, LLVMGetParam(body, 1), e->i64, "ld64");
    for (int id = 0; id < nnode; id++) {
        if (!e->mark[id])
            continue;
        const ir_node *n = ir_get(g, id);
        if (n->op == IR_CONST) {
            e->value[id] = LLVMConstReal(e->real, n->value);
        } else if (n->op == IR_VAR) {
            LLVMValueRef base = LLVMGetParam(body, (unsigned)in_param[n->arg]);
            e->row_ptr[id] = row_pointer(e, base, n->row, ld64, "");
        } else if (n->op == IR_PARAM) {
            LLVMValueRef idx = LLVMConstInt(e->i64, (unsigned long long)n->row, 0);
            LLVMValueRef params = LLVMGetParam(body, (unsigned)params_param);
            LLVMValueRef slot = LLVMBuildInBoundsGEP2(B, e->real, params, &idx, 1, "");
            if (e->named)
                snprintf(name, sizeof(name), "p%d", n->row);
            e->value[id] = LLVMBuildLoad2(B, e->real, slot, e->named ? name : "");
        }
    }
    for (int k = 0; k < f->n_outputs; k++) {
        const ir_output *o = &f->outputs[k];
        out_row[k] = row_pointer(e, LLVMGetParam(body, (unsigned)out_param[o->arg]), o->row,
                                 ld64, "");
    }
    LLVMBuildBr(B, loop);

    /* loop: one batch element */
    LLVMPositionBuilderAtEnd(B, loop);
    LLVMValueRef bi = LLVMBuildPhi(B, e->i64, "b");
    for (int id = 0; id < nnode; id++) {
        if (!e->mark[id])
            continue;
        const ir_node *n = ir_get(g, id);
        if (n->op == IR_CONST || n->op == IR_PARAM)
            continue;
        if (e->named && n->op == IR_VAR)
            snprintf(name, sizeof(name), "in%d_%d", n->arg, n->row);
        else if (e->named)
            temp_name(g, id, name);
        else
            name[0] = '\0';
        if (n->op == IR_VAR) {
            LLVMValueRef at = LLVMBuildInBoundsGEP2(B, e->real, e->row_ptr[id], &bi, 1, "");
            e->value[id] = LLVMBuildLoad2(B, e->real, at, name);
        } else {
            e->value[id] = emit_op(e, g, n, name);
            if (!e->value[id])
                goto done;
        }
    }
    for (int k = 0; k < f->n_outputs; k++) {
        LLVMValueRef at = LLVMBuildInBoundsGEP2(B, e->real, out_row[k], &bi, 1, "");
        LLVMBuildStore(B, e->value[f->outputs[k].node], at);
    }
    LLVMValueRef next = LLVMBuildNSWAdd(B, bi, LLVMConstInt(e->i64, 1, 0), "b.next");
    LLVMValueRef zero64 = LLVMConstInt(e->i64, 0, 0);
    LLVMAddIncoming(bi, &zero64, &pre, 1);
    LLVMAddIncoming(bi, &next, &loop, 1);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, next, n64, "more"), loop, exit);
    LLVMPositionBuilderAtEnd(B, exit);
    LLVMBuildRetVoid(B);

    /* the wrapper with the batched interface */
    LLVMTypeRef wrap_types[5] = {e->i32, e->i32, e->real_ptr_ptr, e->real_ptr_ptr, e->real_ptr};
    LLVMValueRef wrap = LLVMAddFunction(e->mod, symbol,
                                        LLVMFunctionType(e->void_ty, wrap_types, 5, 0));
    LLVMAddAttributeAtIndex(wrap, LLVMAttributeFunctionIndex, e->nounwind);
    static const char *const wrap_names[5] = {"n", "ld", "in", "out", "params"};
    for (unsigned i = 0; i < 5; i++)
        LLVMSetValueName2(LLVMGetParam(wrap, i), wrap_names[i], strlen(wrap_names[i]));
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(e->ctx, wrap, "entry"));
    call_args[0] = LLVMGetParam(wrap, 0);
    call_args[1] = LLVMGetParam(wrap, 1);
    for (int a = 0; a < f->n_in_args; a++)
        if (in_param[a] >= 0) {
            snprintf(name, sizeof(name), "in%d", a);
            call_args[in_param[a]] = load_array(e, LLVMGetParam(wrap, 2), a, name);
        }
    for (int a = 0; a < f->n_out_args; a++)
        if (out_param[a] >= 0) {
            snprintf(name, sizeof(name), "out%d", a);
            call_args[out_param[a]] = load_array(e, LLVMGetParam(wrap, 3), a, name);
        }
    if (uses_params)
        call_args[params_param] = LLVMGetParam(wrap, 4);
    LLVMBuildCall2(B, LLVMGlobalGetValueType(body), body, call_args, n_body, "");
    LLVMBuildRetVoid(B);
    status = 0;
done:
    free(in_param);
    free(out_param);
    free(roots);
    free(out_row);
    free(body_types);
    free(call_args);
    free(body_name);
    return status;
}

/* Emits fns into mod (in ctx) with symbol names prefix + name.  The functions
 * have been checked.  Returns 0, or -1 on allocation failure. */
static int emit_module(LLVMContextRef ctx, LLVMModuleRef mod, const ir_graph *g, int n_fns,
                       const ir_function *fns, int single, int named, const char *prefix)
{
    llvm_emitter e;
    memset(&e, 0, sizeof(e));
    e.ctx = ctx;
    e.mod = mod;
    e.single = single;
    e.named = named;
    int status = emitter_init(&e, ir_count(g));
    for (int k = 0; k < n_fns && status == 0; k++) {
        size_t len = strlen(prefix) + strlen(fns[k].name) + 1;
        char *symbol = malloc(len);
        if (!symbol) {
            status = -1;
            break;
        }
        snprintf(symbol, len, "%s%s", prefix, fns[k].name);
        status = emit_function(&e, g, &fns[k], symbol);
        free(symbol);
    }
    emitter_free(&e);
    return status;
}

int ir_emit_llvm_ir(FILE *out, const ir_graph *g, int n_fns, const ir_function *fns,
                    int single_precision)
{
    unsigned char *mark = malloc((size_t)ir_count(g) + 1);
    if (!mark || check_functions(g, n_fns, fns, mark, NULL, 0) != 0) {
        free(mark);
        return -1;
    }
    free(mark);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("mnet", ctx);
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMSetTarget(mod, triple);
    LLVMDisposeMessage(triple);
    int status = emit_module(ctx, mod, g, n_fns, fns, single_precision, 1, "");
    if (status == 0) {
        char *text = LLVMPrintModuleToString(mod);
        fputs(text, out);
        LLVMDisposeMessage(text);
        status = ferror(out) ? -1 : 0;
    }
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return status;
}

/*---------------------------------------------------------------------------
 * The JIT
 *---------------------------------------------------------------------------*/

/* One mnet_jit_add: its functions and the tracker that owns their code. */
typedef struct {
    LLVMOrcResourceTrackerRef tracker; /* NULL: a free slot               */
    unsigned long serial;              /* adding order, for lookup by name */
    int n_fns;
    char **names;                      /* (n_fns) ir_function names        */
    void **entry;                      /* (n_fns) machine code entry points */
} jit_unit;

struct mnet_jit {
    LLVMOrcLLJITRef lljit;
    LLVMTargetMachineRef tm;           /* host machine for the optimiser's
                                          cost models (the JIT's own is built
                                          the same way: host CPU, features) */
    char session_error[512];           /* last report of the session     */
    unsigned long next_serial;         /* symbols are mnet.u<serial>.NAME */
    int n_units;
    jit_unit *units;                   /* (n_units)                       */
};

/* LLVM's target registry is process-global: initialise it once. */
static pthread_once_t llvm_init_once = PTHREAD_ONCE_INIT;
static int llvm_init_failed;

static void llvm_init(void)
{
    llvm_init_failed = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter();
}

/* Errors the execution session cannot return to a caller (a symbol that does
 * not resolve while linking) would go to stderr; keep them for the message. */
static void session_error(void *ctx, LLVMErrorRef e)
{
    mnet_jit *jit = ctx;
    char *msg = LLVMGetErrorMessage(e);
    snprintf(jit->session_error, sizeof(jit->session_error), "%s", msg ? msg : "");
    LLVMDisposeErrorMessage(msg);
}

mnet_jit *mnet_jit_new(char *err, size_t errlen)
{
    pthread_once(&llvm_init_once, llvm_init);
    if (llvm_init_failed) {
        set_error(err, errlen, "LLVM has no native target for this machine");
        return NULL;
    }
    mnet_jit *jit = calloc(1, sizeof(*jit));
    if (!jit) {
        set_error(err, errlen, "out of memory");
        return NULL;
    }
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&jit->lljit, NULL); /* default builder: host */
    if (e) {
        set_llvm_error(err, errlen, "creating the JIT", e);
        free(jit);
        return NULL;
    }
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(jit->lljit),
                                            session_error, jit);
    /* libm (exp, pow, tanh, ...) resolves against the host process */
    LLVMOrcDefinitionGeneratorRef gen;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(jit->lljit), NULL, NULL);
    if (e) {
        set_llvm_error(err, errlen, "searching the process for libm", e);
        mnet_jit_free(jit);
        return NULL;
    }
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit->lljit), gen);

    const char *triple = LLVMOrcLLJITGetTripleString(jit->lljit);
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        set_error(err, errlen, "target %s: %s", triple, msg ? msg : "");
        LLVMDisposeMessage(msg);
        mnet_jit_free(jit);
        return NULL;
    }
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    jit->tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelDefault,
                                      LLVMRelocDefault, LLVMCodeModelJITDefault);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    if (!jit->tm) {
        set_error(err, errlen, "no target machine for %s", triple);
        mnet_jit_free(jit);
        return NULL;
    }
    return jit;
}

static void unit_clear(jit_unit *u)
{
    for (int k = 0; k < u->n_fns; k++)
        free(u->names[k]);
    free(u->names);
    free(u->entry);
    memset(u, 0, sizeof(*u));
}

/* Removes the unit's code from the JIT (when it has a tracker) and clears it. */
static LLVMErrorRef unit_remove(mnet_jit *jit, jit_unit *u)
{
    LLVMErrorRef e = NULL;
    if (u->tracker) {
        e = LLVMOrcResourceTrackerRemove(u->tracker);
        LLVMOrcReleaseResourceTracker(u->tracker);
        /* the removed symbols' names are now unused: free them */
        LLVMOrcSymbolStringPoolClearDeadEntries(LLVMOrcExecutionSessionGetSymbolStringPool(
            LLVMOrcLLJITGetExecutionSession(jit->lljit)));
    }
    unit_clear(u);
    return e;
}

/* A free slot, the table grown when there is none; -1 on allocation failure. */
static int free_slot(mnet_jit *jit)
{
    for (int i = 0; i < jit->n_units; i++)
        if (!jit->units[i].tracker)
            return i;
    jit_unit *grown = realloc(jit->units, sizeof(*grown) * ((size_t)jit->n_units * 2 + 4));
    if (!grown)
        return -1;
    memset(grown + jit->n_units, 0, sizeof(*grown) * ((size_t)jit->n_units + 4));
    jit->units = grown;
    int slot = jit->n_units;
    jit->n_units = jit->n_units * 2 + 4;
    return slot;
}

int mnet_jit_add(mnet_jit *jit, const ir_graph *g, int n_fns, const ir_function *fns,
                 int single_precision, int opt_level, char *err, size_t errlen)
{
    if (!jit || !g) {
        set_error(err, errlen, "no JIT or no graph");
        return -1;
    }
    unsigned char *mark = malloc((size_t)ir_count(g) + 1);
    if (!mark) {
        set_error(err, errlen, "out of memory");
        return -1;
    }
    int checked = check_functions(g, n_fns, fns, mark, err, errlen);
    free(mark);
    if (checked != 0)
        return -1;
    int slot = free_slot(jit);
    if (slot < 0) {
        set_error(err, errlen, "out of memory");
        return -1;
    }
    jit_unit *u = &jit->units[slot];
    u->serial = jit->next_serial++;
    u->names = calloc((size_t)n_fns + 1, sizeof(*u->names));
    u->entry = calloc((size_t)n_fns + 1, sizeof(*u->entry));
    if (!u->names || !u->entry) {
        set_error(err, errlen, "out of memory");
        unit_clear(u);
        return -1;
    }
    u->n_fns = n_fns;
    for (int k = 0; k < n_fns; k++)
        if (!(u->names[k] = strdup(fns[k].name))) {
            set_error(err, errlen, "out of memory");
            unit_clear(u);
            return -1;
        }

    /* the module, in a context of its own that goes with it into the JIT */
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "mnet.u%lu.", u->serial);
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext(prefix, ctx);
    LLVMSetDataLayout(mod, LLVMOrcLLJITGetDataLayoutStr(jit->lljit));
    LLVMSetTarget(mod, LLVMOrcLLJITGetTripleString(jit->lljit));
    if (emit_module(ctx, mod, g, n_fns, fns, single_precision, 0, prefix) != 0) {
        set_error(err, errlen, "out of memory");
        goto fail_module;
    }
    char *msg = NULL;
    if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
        set_error(err, errlen, "internal error, the emitted module is invalid: %s",
                  msg ? msg : "");
        LLVMDisposeMessage(msg);
        goto fail_module;
    }
    LLVMDisposeMessage(msg);
    char pipeline[32];
    snprintf(pipeline, sizeof(pipeline), "default<O%d>",
             opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(mod, pipeline, jit->tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (e) {
        set_llvm_error(err, errlen, "optimising", e);
        goto fail_module;
    }

    /* into the JIT, under a tracker of its own so it can be removed alone */
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
    LLVMOrcDisposeThreadSafeContext(tsc); /* the module holds it now */
    u->tracker = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(jit->lljit));
    e = LLVMOrcLLJITAddLLVMIRModuleWithRT(jit->lljit, u->tracker, tsm); /* takes tsm */
    if (e) {
        set_llvm_error(err, errlen, "adding the module", e);
        goto fail_unit;
    }
    /* compile now: the first lookup materialises the whole module */
    for (int k = 0; k < n_fns; k++) {
        size_t len = strlen(prefix) + strlen(fns[k].name) + 1;
        char *symbol = malloc(len);
        if (!symbol) {
            set_error(err, errlen, "out of memory");
            goto fail_unit;
        }
        snprintf(symbol, len, "%s%s", prefix, fns[k].name);
        LLVMOrcExecutorAddress addr = 0;
        jit->session_error[0] = '\0';
        e = LLVMOrcLLJITLookup(jit->lljit, &addr, symbol);
        free(symbol);
        if (e) {
            char *what = LLVMGetErrorMessage(e);
            set_error(err, errlen, "compiling '%s': %s%s%s", fns[k].name, what ? what : "",
                      jit->session_error[0] ? ": " : "", jit->session_error);
            LLVMDisposeErrorMessage(what);
            goto fail_unit;
        }
        u->entry[k] = (void *)(uintptr_t)addr;
    }
    return slot;

fail_module:
    LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    unit_clear(u);
    return -1;
fail_unit:
    e = unit_remove(jit, u);
    if (e)
        LLVMConsumeError(e);
    return -1;
}

void *mnet_jit_lookup_unit(const mnet_jit *jit, int unit, const char *name)
{
    if (!jit || !name || unit < 0 || unit >= jit->n_units || !jit->units[unit].tracker)
        return NULL;
    const jit_unit *u = &jit->units[unit];
    for (int k = 0; k < u->n_fns; k++)
        if (strcmp(u->names[k], name) == 0)
            return u->entry[k];
    return NULL;
}

void *mnet_jit_lookup(const mnet_jit *jit, const char *name)
{
    if (!jit)
        return NULL;
    void *found = NULL;
    unsigned long newest = 0;
    for (int i = 0; i < jit->n_units; i++) {
        void *p = mnet_jit_lookup_unit(jit, i, name);
        if (p && (!found || jit->units[i].serial > newest)) {
            found = p;
            newest = jit->units[i].serial;
        }
    }
    return found;
}

int mnet_jit_remove(mnet_jit *jit, int unit, char *err, size_t errlen)
{
    if (!jit || unit < 0 || unit >= jit->n_units || !jit->units[unit].tracker) {
        set_error(err, errlen, "unit %d is not in the JIT", unit);
        return -1;
    }
    LLVMErrorRef e = unit_remove(jit, &jit->units[unit]);
    if (e) {
        set_llvm_error(err, errlen, "removing a unit", e);
        return -1;
    }
    return 0;
}

void mnet_jit_free(mnet_jit *jit)
{
    if (!jit)
        return;
    for (int i = 0; i < jit->n_units; i++) {
        /* released, not removed: disposing the JIT frees all code at once */
        if (jit->units[i].tracker)
            LLVMOrcReleaseResourceTracker(jit->units[i].tracker);
        unit_clear(&jit->units[i]);
    }
    free(jit->units);
    if (jit->lljit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(jit->lljit);
        if (e)
            LLVMConsumeError(e);
    }
    if (jit->tm)
        LLVMDisposeTargetMachine(jit->tm);
    free(jit);
}
