/* ir_emit_llvm.c - the LLVM backend: functions of the expression graph as an
 * LLVM module (through the LLVM C API), printed as textual IR or compiled
 * in-process and linked by ORC LLJIT.
 *
 * Each ir_function NAME becomes (docs/compiler.md, "LLVM backend"):
 *
 *   define void @NAME(i32 %n, i32 %ld, double** %in, double** %out, double* %params)
 *     loads in[a] and out[a] for the arguments the function uses and calls
 *   define internal void @NAME.body(i32 %n, i32 %ld, double* noalias %in0, ...,
 *                                   double* noalias %out0, ..., double* noalias %params)
 *     alwaysinline, so the optimiser sees the arrays as `restrict` (noalias
 *     parameters become scoped alias metadata when inlined), as the C
 *     emitter's `const real *restrict in0 = in[0];` locals say:
 *
 *     entry:  [scratch alloca]; a block of (rows x W) reals for each array
 *             used (rows: its highest row used + 1); br (n > 0) ? pre : exit
 *     pre:    nv = n & -W (n - n % W), rem = n - nv
 *             br (nv > 0) ? chunk : tailin
 *     tailin: tail.in(block_a, in_a + nv, ld, rem, runs_a, ..) per input:
 *             the rem last elements of each row the function reads, the
 *             lanes past them filled with the row's first (real data: no
 *             subnormal or NaN the data has not)
 *             br chunk
 *     chunk:  the arrays, leading dimension and end of the vector loop:
 *               in_a, out_a, ld, nv    from pre (the caller's)
 *               block_a, W, W          from tailin (one iteration)
 *             out_a + row*ld for each output; br vloop
 *     vloop:  b = phi [0, chunk], [b + W, vloop]: W batch elements at once,
 *             W = 256 bits of reals (4 doubles, 8 floats; LLVM splits the
 *             vectors in two where the CPU has SSE only)
 *             the function's reachable non-leaf nodes in id order, one
 *             instruction group each on <W x real>; a leaf is made where it
 *             is first used: in_a[row*ld + b .. b+W-1] one unaligned vector
 *             load (align = a real's), params[i] a scalar load splat to W
 *             lanes, a constant a vector constant; then the vector stores
 *             of the outputs in output order
 *             br (b + W < end) ? vloop : chunk.end
 *     chunk.end: br (came from tailin) ? tailout : rest
 *     rest:   br (nv < n) ? tailin : exit
 *     tailout: tail.out(out_a + nv, block_a, ld, rem, runs_a, ..) per
 *             output array: the rem valid elements of each row written
 *     exit:   ret void
 *
 * So the last n % W elements (all of them when n < W) run through the same
 * vector code as the others, on copies: the code of a function exists once
 * (an earlier version had a scalar copy of it for them, which doubled the
 * compile time).  Each lane computes what the C code computes for its
 * element; the filled lanes compute values nobody reads.  Nothing outside
 * (row, 0..n-1) of a row used is read or written: the copies go by the
 * runs of rows (first row, count) the function reads or writes, from
 * private constant tables NAME.inA.rows / NAME.outA.rows, so a row
 * of an output array that the function does not compute is not touched.
 * The copies are loops in two internal functions of the module,
 *   define internal void @tail.in(real* %blk, real* %arr, i64 %ld, i64 %rem,
 *                                 i32* %runs, i32 %nruns)          noinline
 *   define internal void @tail.out(real* %arr, real* %blk, ...)    noinline
 * so the code's size does not grow with the number of rows.  The blocks
 * take (highest row used + 1) x W reals of stack per array used.
 *
 * Vector code is exact lane by lane: fadd fsub fmul fdiv fneg fcmp select
 * uitofp and llvm.sqrt/fabs on <W x real> are the scalar IEEE operations on
 * each lane.  The libm functions are not: a vector variant (libmvec, or a
 * vector intrinsic lowered to one) is another function and gives other bits.
 * So exp, log, sin, cos, tanh and pow on a vector call
 *   define internal <W x real> @OP.lanes(<W x real> %0[, <W x real> %1])  noinline
 * which calls the scalar function (the same intrinsic or libm call as the
 * C code) on each lane: extractelement, call, insertelement.  One such
 * function per op and module, made on first use: the lanes inline at every
 * node tripled the compile time.  Except in float: there sin, cos and exp
 * call
 *   define internal <8 x float> @OP.vec(<8 x float> %0)  noinline
 * straight-line double arithmetic on the 8 lanes (ir_vmath.h), the
 * operations of the C emitter's mnet_vm_sinf / mnet_vm_cosf / mnet_vm_expf
 * in the same order; sin.vec and cos.vec take sin.lanes' / cos.lanes'
 * value for a lane beyond 2^20, NaN or infinite, as the C does.
 *
 * A function of more than PART_NODES nodes is cut, in id order, into parts
 *   define internal void @NAME.vpartP(i64 %b, i64 %ld, double* %in0, ...,
 *                                     double* %params, <W x double>* %scratch)
 * (noinline) that each compute the nodes of their range for batch elements
 * b..b+W-1; vloop calls the parts in order (on the caller's arrays or on
 * the blocks, as chunk says) and then stores the outputs.  A value read by
 * a later part goes through `scratch`, an alloca of the body of one
 * <W x real> per slot (aligned to W reals), one slot per value live across
 * a part boundary, slots reused once their last reader has run.  LLVM's
 * instruction selection and register allocation are superlinear in the size
 * of a basic block; parts keep compile time linear in the graph.
 *
 * The optimiser's loop vectoriser is off, as the loop is vectorised already.
 *
 * Every op is the expression ir_emit_c prints and ir_eval_op computes, with
 * no fast-math flags, so the JIT and the C backend agree bit for bit:
 *   + - * / neg        fadd fsub fmul fdiv fneg
 *   exp log sqrt sin cos abs
 *                      llvm.exp/log/sqrt/sin/cos/fabs (exp, log, sin, cos
 *                      lower to the libm calls the C code makes; sqrt and
 *                      fabs to the instructions gcc uses for them); in
 *                      float, exp, sin and cos are OP.vec
 *   pow                a call of libm pow/powf marked `nobuiltin`: LLVM
 *                      rewrites llvm.pow(x, 0.5) as sqrt and pow(2, x) as
 *                      exp2 even without fast-math flags, and glibc's pow
 *                      differs from those in the last bit for about 1 in
 *                      1000 arguments; gcc keeps the pow call
 *   tanh               a call of libm tanh/tanhf (LLVM has no intrinsic)
 *   sigmoid            1 / (1 + exp(-x))
 *   min, max           select((a < b) | (a uno a), a, b); the NaN test is
 *                      left out for a constant non-NaN a, as in C
 *   clamp              select(x < lo, lo, select(x > hi, hi, x))
 *   comparisons        fcmp olt/ole/ogt/oge/oeq/une, uitofp to real
 *   and, or, not       fcmp une 0 (oeq 0 for not), and/or, uitofp
 *   select             select(fcmp une c, 0, a, b)
 */
#include "ir_llvm.h"
#include "ir_vmath.h"

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

/* The libm functions the emitted code calls.  A function of one of these
 * names would, compiled from the text output, be what the calls reach; the
 * JIT's prefixed symbols could not clash, but the rule is the same for both. */
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

/* Reachable non-leaf nodes per part function.  One basic block of 25k nodes
 * takes 15 s to compile at -O2 and one of 120k over 2 minutes; in parts of
 * 1000 the cost is linear, about 35 us a node at -O0 and 140 us at -O2, and
 * the scratch traffic costs about 6% of run time (test_ir_emit_llvm). */
enum { PART_NODES = 1000 };

/* The vector loop handles VECTOR_BITS / (8 * sizeof(real)) batch elements
 * per iteration: 4 doubles or 8 floats, one AVX register (two SSE registers
 * where the CPU has no AVX: LLVM splits the vector). */
enum { VECTOR_BITS = 256, MAX_WIDTH = VECTOR_BITS / 32 };

typedef struct {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef bld;
    int single;                  /* float instead of double              */
    int named;                   /* value names for text output          */
    LLVMTypeRef real, i1, i32, i64, void_ty;
    LLVMTypeRef real_ptr, real_ptr_ptr;
    LLVMTypeRef fn1, fn2;        /* real(real), real(real, real)         */
    LLVMValueRef math[IR_NOPS];  /* the function each math op calls      */
    unsigned width;              /* W: batch elements per vector         */
    unsigned real_size;          /* bytes of a real                      */
    LLVMTypeRef vreal, vreal_ptr, vfn1; /* <W x real>, vreal(vreal)      */
    LLVMValueRef vsqrt, vfabs;   /* llvm.sqrt/fabs on <W x real>         */
    LLVMValueRef lanes[IR_NOPS]; /* OP.lanes, made on first use          */
    LLVMValueRef vec[IR_NOPS];   /* float sin/cos/exp.vec, made on first use */
    LLVMValueRef tail_in, tail_out; /* the tail's copy functions, made on
                                    first use                             */
    const char *prefix;          /* of the module's symbols              */
    LLVMAttributeRef nobuiltin, noalias, nocapture, readonly, writeonly, nounwind,
        alwaysinline, noinline;

    /* per node, (nnode) each, reused by every function */
    unsigned char *mark;         /* reachable from the function's outputs */
    LLVMValueRef *value;         /* its value in the LLVM function being written */
    int *value_in;               /* the part `value` belongs to, -1 none  */
    int *part;                   /* the part that computes it (non-leaf)  */
    int *last_use;               /* the last part that reads it; n_parts:
                                    the output stores                     */
    int *slot;                   /* scratch slot when it crosses parts    */
    int *next;                   /* links of the lists by last_use        */

    /* the code being written: batch elements b..b+W-1 of every value */
    int cur;                     /* its region: a part function or the
                                    body's loop (value_in)                */
    int n_regions;               /* regions so far in this ir_function    */
    LLVMValueRef b, ld;          /* first batch element, leading dim (i64) */
    LLVMValueRef *in;            /* (n_in_args) input arrays, NULL unused */
    LLVMValueRef params;         /* parameter table, NULL when unused     */
    LLVMValueRef scratch;        /* values crossing parts, <W x real>*    */
} llvm_emitter;

static LLVMAttributeRef enum_attr(LLVMContextRef ctx, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    return LLVMCreateEnumAttribute(ctx, kind, 0);
}

static LLVMValueRef intrinsic(llvm_emitter *e, const char *name, LLVMTypeRef type)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    return LLVMGetIntrinsicDeclaration(e->mod, id, &type, 1);
}

static LLVMValueRef libm_function(llvm_emitter *e, const char *name, LLVMTypeRef type)
{
    char full[16];
    snprintf(full, sizeof(full), "%s%s", name, e->single ? "f" : "");
    LLVMValueRef fn = LLVMAddFunction(e->mod, full, type);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->nounwind);
    return fn;
}

/* Types, attributes, math declarations, scratch; mod and ctx already set. */
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
    e->real_size = e->single ? 4 : 8;
    e->width = VECTOR_BITS / (8 * e->real_size);
    e->vreal = LLVMVectorType(e->real, e->width);
    e->vreal_ptr = LLVMPointerType(e->vreal, 0);
    e->vfn1 = LLVMFunctionType(e->vreal, &e->vreal, 1, 0);
    e->nobuiltin = enum_attr(c, "nobuiltin");
    e->noalias = enum_attr(c, "noalias");
    e->nocapture = enum_attr(c, "nocapture");
    e->readonly = enum_attr(c, "readonly");
    e->writeonly = enum_attr(c, "writeonly");
    e->nounwind = enum_attr(c, "nounwind");
    e->alwaysinline = enum_attr(c, "alwaysinline");
    e->noinline = enum_attr(c, "noinline");
    e->math[IR_EXP] = intrinsic(e, "llvm.exp", e->real);
    e->math[IR_SIGMOID] = e->math[IR_EXP];
    e->math[IR_LOG] = intrinsic(e, "llvm.log", e->real);
    e->math[IR_SIN] = intrinsic(e, "llvm.sin", e->real);
    e->math[IR_COS] = intrinsic(e, "llvm.cos", e->real);
    e->vsqrt = intrinsic(e, "llvm.sqrt", e->vreal);
    e->vfabs = intrinsic(e, "llvm.fabs", e->vreal);
    e->math[IR_POW] = libm_function(e, "pow", e->fn2);
    e->math[IR_TANH] = libm_function(e, "tanh", e->fn1);
    size_t n = (size_t)nnode + 1;
    e->mark = malloc(n);
    e->value = calloc(n, sizeof(*e->value));
    e->value_in = malloc(n * sizeof(int));
    e->part = malloc(n * sizeof(int));
    e->last_use = malloc(n * sizeof(int));
    e->slot = malloc(n * sizeof(int));
    e->next = malloc(n * sizeof(int));
    return e->bld && e->mark && e->value && e->value_in && e->part && e->last_use &&
                   e->slot && e->next
               ? 0
               : -1;
}

/* Frees the builder and scratch; not the module or the context. */
static void emitter_free(llvm_emitter *e)
{
    if (e->bld)
        LLVMDisposeBuilder(e->bld);
    free(e->mark);
    free(e->value);
    free(e->value_in);
    free(e->part);
    free(e->last_use);
    free(e->slot);
    free(e->next);
}


static int is_leaf(const ir_node *n)
{
    return n->op == IR_CONST || n->op == IR_VAR || n->op == IR_PARAM;
}

static LLVMValueRef index_i64(llvm_emitter *e, long long v)
{
    return LLVMConstInt(e->i64, (unsigned long long)v, 1);
}

/* A constant: W copies of it. */
static LLVMValueRef real_const(llvm_emitter *e, double v)
{
    LLVMValueRef c = LLVMConstReal(e->real, v);
    LLVMValueRef lanes[MAX_WIDTH];
    for (unsigned l = 0; l < e->width; l++)
        lanes[l] = c;
    return LLVMConstVector(lanes, e->width);
}

static LLVMValueRef lane_index(llvm_emitter *e, unsigned l)
{
    return LLVMConstInt(e->i32, l, 0);
}

/* A value name: the node's C name or `base`. */
static void value_name(llvm_emitter *e, const ir_graph *g, ir_id id, const char *base,
                       char *name /* IR_TEMP_NAME_MAX + 8 */)
{
    name[0] = '\0';
    if (!e->named)
        return;
    if (base)
        snprintf(name, IR_TEMP_NAME_MAX, "%s", base);
    else
        ir_temp_name(g, id, name);
}

/* The load of the W reals from `at` (a real*) on (unaligned: only the
 * element's alignment is known). */
static LLVMValueRef load_at(llvm_emitter *e, LLVMValueRef at, const char *name)
{
    at = LLVMBuildBitCast(e->bld, at, e->vreal_ptr, "");
    LLVMValueRef v = LLVMBuildLoad2(e->bld, e->vreal, at, name);
    LLVMSetAlignment(v, e->real_size);
    return v;
}

static void store_at(llvm_emitter *e, LLVMValueRef v, LLVMValueRef at)
{
    at = LLVMBuildBitCast(e->bld, at, e->vreal_ptr, "");
    LLVMSetAlignment(LLVMBuildStore(e->bld, v, at), e->real_size);
}

/* Scratch slot k: a <W x real> (the alloca is aligned to W reals). */
static LLVMValueRef slot_address(llvm_emitter *e, int k)
{
    LLVMValueRef idx = index_i64(e, k);
    return LLVMBuildInBoundsGEP2(e->bld, e->vreal, e->scratch, &idx, 1, "");
}

static unsigned slot_align(const llvm_emitter *e)
{
    return e->real_size * e->width;
}

/* The value of node id in the code being written, made on first use:
 * constants inline (W copies), the W elements from in_arg[row*ld + b] on,
 * params[index] (splat), or, for a node of an earlier part, its scratch
 * slot. */
static LLVMValueRef operand(llvm_emitter *e, const ir_graph *g, ir_id id)
{
    if (e->value_in[id] == e->cur)
        return e->value[id];
    LLVMBuilderRef B = e->bld;
    const ir_node *n = ir_get(g, id);
    char name[IR_TEMP_NAME_MAX + 8] = "";
    LLVMValueRef v;
    if (n->op == IR_CONST) {
        v = real_const(e, n->value);
    } else if (n->op == IR_VAR) {
        LLVMValueRef at = e->in[n->arg];
        if (n->row > 0) {
            LLVMValueRef off = LLVMBuildNSWMul(B, index_i64(e, n->row), e->ld, "");
            at = LLVMBuildInBoundsGEP2(B, e->real, at, &off, 1, "");
        }
        at = LLVMBuildInBoundsGEP2(B, e->real, at, &e->b, 1, "");
        char base[32];
        snprintf(base, sizeof(base), "in%d_%d", n->arg, n->row);
        value_name(e, g, id, base, name);
        v = load_at(e, at, name);
    } else if (n->op == IR_PARAM) {
        LLVMValueRef idx = index_i64(e, n->row);
        LLVMValueRef at = LLVMBuildInBoundsGEP2(B, e->real, e->params, &idx, 1, "");
        char base[32];
        snprintf(base, sizeof(base), "p%d", n->row);
        value_name(e, g, id, base, name);
        v = LLVMBuildLoad2(B, e->real, at, ""); /* one load, W copies */
        LLVMValueRef undef = LLVMGetUndef(e->vreal);
        v = LLVMBuildInsertElement(B, undef, v, lane_index(e, 0), "");
        v = LLVMBuildShuffleVector(B, v, undef, LLVMConstNull(LLVMVectorType(e->i32, e->width)),
                                   name);
    } else {
        value_name(e, g, id, NULL, name);
        v = LLVMBuildLoad2(B, e->vreal, slot_address(e, e->slot[id]), name);
        LLVMSetAlignment(v, slot_align(e));
    }
    e->value[id] = v;
    e->value_in[id] = e->cur;
    return v;
}

/* The function `<W x real> OP.lanes(<W x real> x[, <W x real> y])` of the
 * module, made on first use: the scalar libm call of op (exp, log, sin, cos,
 * tanh, pow) on each lane, extractelement / call / insertelement.  The same
 * glibc function as in the C code, never a vector variant (libmvec's are
 * other functions and give other bits).  One noinline function per op rather
 * than the lanes inline at every node: the code of a node stays one call, so
 * compile time stays that of the scalar code (W calls inline at each of the
 * nodes took 3 to 4 times longer to compile), and the run time is the libm
 * calls' either way. */
static LLVMValueRef lanes_function(llvm_emitter *e, ir_op op)
{
    if (e->lanes[op])
        return e->lanes[op];
    static const char *const names[IR_NOPS] = {[IR_EXP] = "exp", [IR_LOG] = "log",
                                               [IR_SIN] = "sin", [IR_COS] = "cos",
                                               [IR_TANH] = "tanh", [IR_POW] = "pow"};
    const unsigned nargs = op == IR_POW ? 2 : 1;
    char name[96];
    snprintf(name, sizeof(name), "%s%s.lanes", e->prefix, names[op]);
    LLVMTypeRef two[2] = {e->vreal, e->vreal};
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, LLVMFunctionType(e->vreal, two, nargs, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->noinline);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->nounwind);
    LLVMBuilderRef B = e->bld;
    LLVMBasicBlockRef at = LLVMGetInsertBlock(B);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(e->ctx, fn, "entry"));
    LLVMValueRef v = LLVMGetUndef(e->vreal);
    for (unsigned l = 0; l < e->width; l++) {
        LLVMValueRef idx = LLVMConstInt(e->i32, l, 0), lane[2];
        for (unsigned k = 0; k < nargs; k++)
            lane[k] = LLVMBuildExtractElement(B, LLVMGetParam(fn, k), idx, "");
        LLVMValueRef call = LLVMBuildCall2(B, nargs == 2 ? e->fn2 : e->fn1, e->math[op], lane,
                                           nargs, "");
        if (op == IR_POW)
            LLVMAddCallSiteAttribute(call, LLVMAttributeFunctionIndex, e->nobuiltin);
        v = LLVMBuildInsertElement(B, v, call, idx, "");
    }
    LLVMBuildRet(B, v);
    LLVMPositionBuilderAtEnd(B, at);
    return e->lanes[op] = fn;
}

/* W copies of a double constant, or of a 64-bit integer. */
static LLVMValueRef dvec_const(llvm_emitter *e, double v)
{
    LLVMValueRef c = LLVMConstReal(LLVMDoubleTypeInContext(e->ctx), v);
    LLVMValueRef lanes[MAX_WIDTH];
    for (unsigned l = 0; l < e->width; l++)
        lanes[l] = c;
    return LLVMConstVector(lanes, e->width);
}

static LLVMValueRef ivec_const(llvm_emitter *e, unsigned long long v)
{
    LLVMValueRef c = LLVMConstInt(e->i64, v, 0);
    LLVMValueRef lanes[MAX_WIDTH];
    for (unsigned l = 0; l < e->width; l++)
        lanes[l] = c;
    return LLVMConstVector(lanes, e->width);
}

/* Horner steps acc = acc * z; acc = acc + coef[k] for k = n-2 .. 0, acc
 * starting at coef[n-1] (ir_emit_c.c's print_horner). */
static LLVMValueRef vm_horner(llvm_emitter *e, LLVMValueRef z, const double *coef, int n)
{
    LLVMValueRef acc = dvec_const(e, coef[n - 1]);
    for (int k = n - 2; k >= 0; k--)
        acc = LLVMBuildFAdd(e->bld, LLVMBuildFMul(e->bld, acc, z, ""), dvec_const(e, coef[k]), "");
    return acc;
}

/* The function `<8 x float> OP.vec(<8 x float> x)` of the module for float
 * sin, cos and exp, made on first use: ir_vmath.h's straight-line double
 * arithmetic on the W lanes, the same operations in the same order as the C
 * emitter's mnet_vm_sinf / mnet_vm_cosf / mnet_vm_expf (ir_emit_c.c), so
 * the two agree bit for bit.  sin and cos of a lane beyond
 * VM_SINCOS_LIMIT, NaN or infinite take libm's value (OP.lanes, only when a
 * lane needs it), as the C helper's ternary does.  noinline, as OP.lanes:
 * one call per node keeps the compile time of a node small. */
static LLVMValueRef vec_function(llvm_emitter *e, ir_op op)
{
    if (e->vec[op])
        return e->vec[op];
    static const double sin_coef[] = VM_SIN_COEFS, cos_coef[] = VM_COS_COEFS;
    static const double exp_coef[] = VM_EXP_COEFS;
    LLVMValueRef slow_fn = op == IR_EXP ? NULL : lanes_function(e, op);
    char name[96];
    const char *base = op == IR_EXP ? "exp" : op == IR_SIN ? "sin" : "cos";
    snprintf(name, sizeof(name), "%s%s.vec", e->prefix, base);
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, e->vfn1);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->noinline);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->nounwind);
    LLVMBuilderRef B = e->bld;
    LLVMBasicBlockRef at = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMTypeRef vdouble = LLVMVectorType(LLVMDoubleTypeInContext(e->ctx), e->width);
    LLVMTypeRef vi64 = LLVMVectorType(e->i64, e->width);
    LLVMValueRef x = LLVMGetParam(fn, 0);
    LLVMValueRef xd = LLVMBuildFPExt(B, x, vdouble, "xd");
    LLVMValueRef result;
    if (op == IR_EXP) {
        /* xc = xd < -150 ? -150 : xd > 150 ? 150 : xd */
        LLVMValueRef lo = dvec_const(e, -VM_EXP_CLAMP), hi = dvec_const(e, VM_EXP_CLAMP);
        LLVMValueRef xc = LLVMBuildSelect(
            B, LLVMBuildFCmp(B, LLVMRealOLT, xd, lo, ""), lo,
            LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOGT, xd, hi, ""), hi, xd, ""), "xc");
        LLVMValueRef xs = LLVMBuildFMul(B, xc, dvec_const(e, VM_INV_LN2), "");
        LLVMValueRef t = LLVMBuildFAdd(B, xs, dvec_const(e, VM_SHIFTER), "t");
        LLVMValueRef kd = LLVMBuildFSub(B, t, dvec_const(e, VM_SHIFTER), "kd");
        LLVMValueRef r1 =
            LLVMBuildFSub(B, xc, LLVMBuildFMul(B, kd, dvec_const(e, VM_LN2_HI), ""), "");
        LLVMValueRef r =
            LLVMBuildFSub(B, r1, LLVMBuildFMul(B, kd, dvec_const(e, VM_LN2_LO), ""), "r");
        LLVMValueRef p = vm_horner(e, r, exp_coef, VM_EXP_NCOEF);
        LLVMValueRef bits =
            LLVMBuildAdd(B, LLVMBuildBitCast(B, t, vi64, ""), ivec_const(e, 1023), "");
        LLVMValueRef scale =
            LLVMBuildBitCast(B, LLVMBuildShl(B, bits, ivec_const(e, 52), ""), vdouble, "scale");
        result = LLVMBuildFPTrunc(B, LLVMBuildFMul(B, p, scale, ""), e->vreal, "");
        LLVMBuildRet(B, result);
    } else {
        LLVMValueRef xs = LLVMBuildFMul(B, xd, dvec_const(e, VM_TWO_OVER_PI), "");
        LLVMValueRef t = LLVMBuildFAdd(B, xs, dvec_const(e, VM_SHIFTER), "t");
        LLVMValueRef nd = LLVMBuildFSub(B, t, dvec_const(e, VM_SHIFTER), "nd");
        LLVMValueRef r1 =
            LLVMBuildFSub(B, xd, LLVMBuildFMul(B, nd, dvec_const(e, VM_PIO2_1), ""), "");
        LLVMValueRef r2 =
            LLVMBuildFSub(B, r1, LLVMBuildFMul(B, nd, dvec_const(e, VM_PIO2_2), ""), "");
        LLVMValueRef r =
            LLVMBuildFSub(B, r2, LLVMBuildFMul(B, nd, dvec_const(e, VM_PIO2_2T), ""), "r");
        LLVMValueRef z = LLVMBuildFMul(B, r, r, "z");
        LLVMValueRef s = vm_horner(e, z, sin_coef, VM_SIN_NCOEF);
        LLVMValueRef sin_r =
            LLVMBuildFAdd(B, r, LLVMBuildFMul(B, LLVMBuildFMul(B, r, z, ""), s, ""), "sin_r");
        LLVMValueRef c = vm_horner(e, z, cos_coef, VM_SIN_NCOEF);
        LLVMValueRef cp = LLVMBuildFMul(B, LLVMBuildFMul(B, z, z, ""), c, "");
        LLVMValueRef c0 =
            LLVMBuildFSub(B, dvec_const(e, 1.0), LLVMBuildFMul(B, dvec_const(e, 0.5), z, ""), "");
        LLVMValueRef cos_r = LLVMBuildFAdd(B, c0, cp, "cos_r");
        LLVMValueRef q =
            LLVMBuildAdd(B, LLVMBuildBitCast(B, t, vi64, ""), ivec_const(e, op == IR_COS), "q");
        LLVMValueRef zero = ivec_const(e, 0);
        LLVMValueRef odd =
            LLVMBuildICmp(B, LLVMIntNE, LLVMBuildAnd(B, q, ivec_const(e, 1), ""), zero, "");
        LLVMValueRef v = LLVMBuildSelect(B, odd, cos_r, sin_r, "");
        LLVMValueRef neg =
            LLVMBuildICmp(B, LLVMIntNE, LLVMBuildAnd(B, q, ivec_const(e, 2), ""), zero, "");
        v = LLVMBuildSelect(B, neg, LLVMBuildFNeg(B, v, ""), v, "");
        LLVMValueRef fast = LLVMBuildFPTrunc(B, v, e->vreal, "fast");
        /* lanes where !(|x| <= limit) take libm's sinf / cosf */
        LLVMValueRef ax = LLVMBuildCall2(B, LLVMFunctionType(vdouble, &vdouble, 1, 0),
                                         intrinsic(e, "llvm.fabs", vdouble), &xd, 1, "");
        LLVMValueRef bad = LLVMBuildFCmp(B, LLVMRealUGT, ax, dvec_const(e, VM_SINCOS_LIMIT), "bad");
        LLVMValueRef any = LLVMBuildICmp(
            B, LLVMIntNE, LLVMBuildBitCast(B, bad, LLVMIntTypeInContext(e->ctx, e->width), ""),
            LLVMConstInt(LLVMIntTypeInContext(e->ctx, e->width), 0, 0), "");
        LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(e->ctx, fn, "slow");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, fn, "done");
        LLVMBuildCondBr(B, any, slow, done);
        LLVMPositionBuilderAtEnd(B, slow);
        LLVMValueRef libm = LLVMBuildCall2(B, e->vfn1, slow_fn, &x, 1, "");
        LLVMValueRef mixed = LLVMBuildSelect(B, bad, libm, fast, "");
        LLVMBuildBr(B, done);
        LLVMPositionBuilderAtEnd(B, done);
        result = LLVMBuildPhi(B, e->vreal, "");
        LLVMValueRef vals[2] = {fast, mixed};
        LLVMBasicBlockRef from[2] = {entry, slow};
        LLVMAddIncoming(result, vals, from, 2);
        LLVMBuildRet(B, result);
    }
    LLVMPositionBuilderAtEnd(B, at);
    return e->vec[op] = fn;
}

/* A call of libm function op (or of the intrinsic that lowers to it) on
 * each lane of one or two vectors (lanes_function); in float, sin, cos and
 * exp are vec_function's instead. */
static LLVMValueRef libm_call(llvm_emitter *e, ir_op op, LLVMValueRef *args, const char *name)
{
    LLVMValueRef fn = e->single && (op == IR_EXP || op == IR_SIN || op == IR_COS)
                          ? vec_function(e, op)
                          : lanes_function(e, op);
    return LLVMBuildCall2(e->bld, LLVMGlobalGetValueType(fn), fn, args, op == IR_POW ? 2 : 1, name);
}

static LLVMValueRef to_real(llvm_emitter *e, LLVMValueRef flag, const char *name)
{
    return LLVMBuildUIToFP(e->bld, flag, e->vreal, name);
}

static LLVMValueRef is_true(llvm_emitter *e, LLVMValueRef x) /* x != 0, NaN is true */
{
    return LLVMBuildFCmp(e->bld, LLVMRealUNE, x, real_const(e, 0), "");
}

/* One non-leaf node: the expression of ir_eval_op (see the table above). */
static LLVMValueRef emit_op(llvm_emitter *e, const ir_graph *g, const ir_node *n,
                            const char *name)
{
    LLVMBuilderRef B = e->bld;
    LLVMValueRef a = operand(e, g, n->a);
    LLVMValueRef b = n->b >= 0 ? operand(e, g, n->b) : NULL;
    LLVMValueRef c = n->c >= 0 ? operand(e, g, n->c) : NULL;
    LLVMRealPredicate cmp = LLVMRealPredicateFalse;
    switch (n->op) {
    case IR_NEG: return LLVMBuildFNeg(B, a, name);
    case IR_ADD: return LLVMBuildFAdd(B, a, b, name);
    case IR_SUB: return LLVMBuildFSub(B, a, b, name);
    case IR_MUL: return LLVMBuildFMul(B, a, b, name);
    case IR_DIV: return LLVMBuildFDiv(B, a, b, name);
    case IR_POW: {
        LLVMValueRef args[2] = {a, b};
        return libm_call(e, IR_POW, args, name);
    }
    case IR_SQRT: /* instructions, exact lane by lane */
    case IR_ABS:
        return LLVMBuildCall2(B, e->vfn1, n->op == IR_SQRT ? e->vsqrt : e->vfabs, &a, 1, name);
    case IR_EXP:
    case IR_LOG:
    case IR_SIN:
    case IR_COS:
    case IR_TANH:
        return libm_call(e, n->op, &a, name);
    case IR_SIGMOID: { /* 1 / (1 + exp(-x)) */
        LLVMValueRef one = real_const(e, 1);
        LLVMValueRef neg = LLVMBuildFNeg(B, a, "");
        LLVMValueRef ex = libm_call(e, IR_EXP, &neg, "");
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
        return to_real(e, LLVMBuildFCmp(B, LLVMRealOEQ, a, real_const(e, 0), ""),
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

/* The nodes of part p in id order, at the builder's position; a value read
 * by a later part is stored to its scratch slot.  -1 on an unknown op. */
static int emit_part(llvm_emitter *e, const ir_graph *g, int p)
{
    char name[IR_TEMP_NAME_MAX + 8] = "";
    for (int id = 0; id < ir_count(g); id++) {
        const ir_node *n = ir_get(g, id);
        if (!e->mark[id] || is_leaf(n) || e->part[id] != p)
            continue;
        value_name(e, g, id, NULL, name);
        LLVMValueRef v = emit_op(e, g, n, name);
        if (!v)
            return -1;
        e->value[id] = v;
        e->value_in[id] = e->cur;
        if (e->slot[id] >= 0)
            LLVMSetAlignment(LLVMBuildStore(e->bld, v, slot_address(e, e->slot[id])),
                             slot_align(e));
    }
    return 0;
}

/* Cuts the function's reachable non-leaf nodes (marked) into parts of
 * PART_NODES in id order and gives each value read by a later part (or by the
 * output stores) a scratch slot, reusing the slots of values whose last
 * reader has run.  Returns the number of parts (1: no scratch) and sets
 * *n_slots, or -1 on allocation failure. */
static int plan_parts(llvm_emitter *e, const ir_graph *g, const ir_function *f, int *n_slots)
{
    const int nnode = ir_count(g);
    int count = 0;
    for (int id = 0; id < nnode; id++) {
        e->slot[id] = -1;
        e->last_use[id] = -1;
        e->part[id] = -1;
        if (e->mark[id] && !is_leaf(ir_get(g, id)))
            e->part[id] = count++ / PART_NODES;
    }
    *n_slots = 0;
    int n_parts = count > PART_NODES ? (count + PART_NODES - 1) / PART_NODES : 1;
    if (n_parts == 1) {
        for (int id = 0; id < nnode; id++)
            e->part[id] = e->part[id] >= 0 ? 0 : -1;
        return 1;
    }
    for (int id = 0; id < nnode; id++) {
        const ir_node *n = ir_get(g, id);
        if (e->part[id] < 0)
            continue;
        ir_id ops[3] = {n->a, n->b, n->c};
        for (int k = 0; k < 3; k++)
            if (ops[k] >= 0 && e->part[ops[k]] >= 0 && e->last_use[ops[k]] < e->part[id])
                e->last_use[ops[k]] = e->part[id];
    }
    for (int k = 0; k < f->n_outputs; k++)
        if (e->part[f->outputs[k].node] >= 0)
            e->last_use[f->outputs[k].node] = n_parts;
    /* lists of the crossing values by their last reader */
    int *head = malloc(sizeof(int) * ((size_t)n_parts + 1));
    int *free_slots = malloc(sizeof(int) * ((size_t)count + 1));
    if (!head || !free_slots) {
        free(head);
        free(free_slots);
        return -1;
    }
    for (int p = 0; p <= n_parts; p++)
        head[p] = -1;
    for (int id = nnode - 1; id >= 0; id--)
        if (e->part[id] >= 0 && e->last_use[id] > e->part[id]) {
            e->next[id] = head[e->last_use[id]];
            head[e->last_use[id]] = id;
        }
    /* After part p: slots for its crossing values first, then free the
     * slots of values last read in p (they were read during p, so the two
     * sets must not share a slot). */
    int n_free = 0, id = 0;
    for (int p = 0; p < n_parts; p++) {
        for (; id < nnode && (e->part[id] < 0 || e->part[id] <= p); id++)
            if (e->part[id] == p && e->last_use[id] > p)
                e->slot[id] = n_free > 0 ? free_slots[--n_free] : (*n_slots)++;
        for (int k = head[p]; k >= 0; k = e->next[k])
            free_slots[n_free++] = e->slot[k];
    }
    free(head);
    free(free_slots);
    return n_parts;
}

static void add_param_attrs(llvm_emitter *e, LLVMValueRef fn, unsigned index, LLVMAttributeRef rw)
{
    LLVMAddAttributeAtIndex(fn, index, e->noalias);
    LLVMAddAttributeAtIndex(fn, index, e->nocapture);
    if (rw)
        LLVMAddAttributeAtIndex(fn, index, rw);
}

static void name_value(LLVMValueRef v, const char *fmt, int k)
{
    char name[IR_TEMP_NAME_MAX];
    snprintf(name, sizeof(name), fmt, k);
    LLVMSetValueName2(v, name, strlen(name));
}

/* Starts the code of a new region (a part function or the body's loop): the
 * values of earlier regions are not reused in it. */
static void new_region(llvm_emitter *e)
{
    e->cur = e->n_regions++;
}

/* A part function: void SYMBOL.vpartP(i64 b, i64 ld, real *in.., real *params,
 * <W x real> *scratch), batch elements b..b+W-1.  in_used: (n_in_args). */
static int emit_part_function(llvm_emitter *e, const ir_graph *g, const ir_function *f,
                              const char *symbol, const unsigned char *in_used, int uses_params,
                              int p, LLVMValueRef *fn_out)
{
    int n_used = 0;
    for (int a = 0; a < f->n_in_args; a++)
        n_used += in_used[a];
    LLVMTypeRef *t = malloc(sizeof(*t) * ((size_t)n_used + 4));
    size_t len = strlen(symbol) + 24;
    char *name = malloc(len);
    if (!t || !name) {
        free(t);
        free(name);
        return -1;
    }
    unsigned np = 0;
    t[np++] = e->i64;
    t[np++] = e->i64;
    for (int a = 0; a < n_used; a++)
        t[np++] = e->real_ptr;
    if (uses_params)
        t[np++] = e->real_ptr;
    t[np++] = e->vreal_ptr;
    snprintf(name, len, "%s.vpart%d", symbol, p);
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, LLVMFunctionType(e->void_ty, t, np, 0));
    free(name);
    free(t);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->noinline);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->nounwind);
    unsigned k = 0;
    e->b = LLVMGetParam(fn, k++);
    e->ld = LLVMGetParam(fn, k++);
    LLVMSetValueName2(e->b, "b", 1);
    LLVMSetValueName2(e->ld, "ld", 2);
    for (int a = 0; a < f->n_in_args; a++) {
        e->in[a] = NULL;
        if (in_used[a]) {
            add_param_attrs(e, fn, k + 1, e->readonly);
            e->in[a] = LLVMGetParam(fn, k++);
            name_value(e->in[a], "in%d", a);
        }
    }
    e->params = NULL;
    if (uses_params) {
        add_param_attrs(e, fn, k + 1, e->readonly);
        e->params = LLVMGetParam(fn, k++);
        LLVMSetValueName2(e->params, "params", 6);
    }
    add_param_attrs(e, fn, k + 1, NULL);
    e->scratch = LLVMGetParam(fn, k);
    LLVMSetValueName2(e->scratch, "scratch", 7);
    new_region(e);
    LLVMPositionBuilderAtEnd(e->bld, LLVMAppendBasicBlockInContext(e->ctx, fn, "entry"));
    if (emit_part(e, g, p) != 0)
        return -1;
    LLVMBuildRetVoid(e->bld);
    *fn_out = fn;
    return 0;
}

/* in[arg] / out[arg] in the wrapper */
static LLVMValueRef load_array(llvm_emitter *e, LLVMValueRef arrays, int arg)
{
    LLVMValueRef idx = index_i64(e, arg);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(e->bld, e->real_ptr, arrays, &idx, 1, "");
    return LLVMBuildLoad2(e->bld, e->real_ptr, slot, "");
}

/* A counted loop `for (i = start; i < end; i++)` (start and end of one
 * integer type) in function fn, its body block `name` and i `var`: loop_open
 * ends the block the builder is at with the test start < end and returns i,
 * at the start of the loop's body;
 * loop_close ends the body (the block the builder is at then) and leaves the
 * builder after the loop. */
typedef struct {
    LLVMBasicBlockRef from, body, exit;
    LLVMValueRef i, start, end;
} counted_loop;

static LLVMValueRef loop_open(llvm_emitter *e, counted_loop *c, LLVMValueRef fn,
                              LLVMValueRef start, LLVMValueRef end, const char *name,
                              const char *var)
{
    LLVMBuilderRef B = e->bld;
    c->from = LLVMGetInsertBlock(B);
    c->body = LLVMAppendBasicBlockInContext(e->ctx, fn, name);
    c->exit = LLVMAppendBasicBlockInContext(e->ctx, fn, "");
    c->start = start;
    c->end = end;
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, start, end, ""), c->body, c->exit);
    LLVMPositionBuilderAtEnd(B, c->body);
    return c->i = LLVMBuildPhi(B, LLVMTypeOf(start), var);
}

static void loop_close(llvm_emitter *e, counted_loop *c)
{
    LLVMBuilderRef B = e->bld;
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(B);
    LLVMValueRef next = LLVMBuildNSWAdd(B, c->i, LLVMConstInt(LLVMTypeOf(c->i), 1, 0), "");
    LLVMAddIncoming(c->i, &c->start, &c->from, 1);
    LLVMAddIncoming(c->i, &next, &latch, 1);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, next, c->end, ""), c->body, c->exit);
    LLVMPositionBuilderAtEnd(B, c->exit);
}

/* The tail's copies between a caller's array and a block of (rows x W)
 * reals, one function of each per module, made on first use:
 *   void tail.in(real *blk, real *arr, i64 ld, i64 rem, i32 *runs, i32 nruns)
 *     blk[r*W + l] = arr[r*ld + (l < rem ? l : 0)], l < W
 *   void tail.out(real *arr, real *blk, i64 ld, i64 rem, i32 *runs, i32 nruns)
 *     arr[r*ld + l] = blk[r*W + l], l < rem
 * for the rows r of the runs (first row, count) in runs[0 .. 2 nruns); arr
 * points at the first element of the tail in row 0.  tail.in reads the rem
 * elements of the tail and nothing else, and fills the lanes past them with
 * the first element of the row: a value of the data, so the unused lanes
 * compute nothing (a subnormal, say) the used ones would not. */
static LLVMValueRef tail_function(llvm_emitter *e, int out)
{
    LLVMValueRef *made = out ? &e->tail_out : &e->tail_in;
    if (*made)
        return *made;
    LLVMTypeRef t[6] = {e->real_ptr, e->real_ptr, e->i64, e->i64,
                        LLVMPointerType(e->i32, 0), e->i32};
    char name[96];
    snprintf(name, sizeof(name), "%stail.%s", e->prefix, out ? "out" : "in");
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, LLVMFunctionType(e->void_ty, t, 6, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->noinline);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, e->nounwind);
    add_param_attrs(e, fn, 1, e->writeonly);
    add_param_attrs(e, fn, 2, e->readonly);
    LLVMAddAttributeAtIndex(fn, 5, e->nocapture);
    LLVMAddAttributeAtIndex(fn, 5, e->readonly);
    static const char *const names[2][6] = {{"blk", "arr", "ld", "rem", "runs", "nruns"},
                                            {"arr", "blk", "ld", "rem", "runs", "nruns"}};
    LLVMValueRef p[6];
    for (unsigned i = 0; i < 6; i++) {
        p[i] = LLVMGetParam(fn, i);
        LLVMSetValueName2(p[i], names[out][i], strlen(names[out][i]));
    }
    LLVMBuilderRef B = e->bld;
    LLVMBasicBlockRef at = LLVMGetInsertBlock(B);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(e->ctx, fn, "entry"));
    LLVMValueRef dst = p[0], src = p[1], ld = p[2], rem = p[3];
    LLVMValueRef blk = out ? src : dst, arr = out ? dst : src;
    LLVMValueRef width = index_i64(e, e->width), zero = index_i64(e, 0);
    counted_loop runs, rows, lanes;
    LLVMValueRef k = loop_open(e, &runs, fn, LLVMConstInt(e->i32, 0, 0), p[5], "runs", "k");
    LLVMValueRef k2 = LLVMBuildSExt(B, LLVMBuildNSWMul(B, k, LLVMConstInt(e->i32, 2, 0), ""),
                                    e->i64, "");
    LLVMValueRef k2p1 = LLVMBuildNSWAdd(B, k2, index_i64(e, 1), "");
    LLVMValueRef at_first = LLVMBuildInBoundsGEP2(B, e->i32, p[4], &k2, 1, "");
    LLVMValueRef at_count = LLVMBuildInBoundsGEP2(B, e->i32, p[4], &k2p1, 1, "");
    LLVMValueRef first = LLVMBuildSExt(B, LLVMBuildLoad2(B, e->i32, at_first, ""), e->i64, "");
    LLVMValueRef count = LLVMBuildSExt(B, LLVMBuildLoad2(B, e->i32, at_count, ""), e->i64, "");
    LLVMValueRef r = loop_open(e, &rows, fn, first, LLVMBuildNSWAdd(B, first, count, ""), "rows",
                              "r");
    LLVMValueRef off = LLVMBuildNSWMul(B, r, width, "");
    LLVMValueRef blk_row = LLVMBuildInBoundsGEP2(B, e->real, blk, &off, 1, "");
    off = LLVMBuildNSWMul(B, r, ld, "");
    LLVMValueRef arr_row = LLVMBuildInBoundsGEP2(B, e->real, arr, &off, 1, "");
    LLVMValueRef l = loop_open(e, &lanes, fn, zero, out ? rem : width, "lanes", "l");
    LLVMValueRef from = out ? l : LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, l, rem, ""),
                                                  l, zero, "");
    LLVMValueRef src_at = LLVMBuildInBoundsGEP2(B, e->real, out ? blk_row : arr_row, &from, 1, "");
    LLVMValueRef dst_at = LLVMBuildInBoundsGEP2(B, e->real, out ? arr_row : blk_row, &l, 1, "");
    LLVMBuildStore(B, LLVMBuildLoad2(B, e->real, src_at, ""), dst_at);
    loop_close(e, &lanes);
    loop_close(e, &rows);
    loop_close(e, &runs);
    LLVMBuildRetVoid(B);
    LLVMPositionBuilderAtEnd(B, at);
    return *made = fn;
}

/* The runs of consecutive rows r < nrows with used[r], as a private constant
 * i32 array (first row, count, first row, count, ...) SYMBOL.WHAT.rows;
 * returns its address (i32*) and sets *n_runs, or NULL on allocation
 * failure. */
static LLVMValueRef runs_table(llvm_emitter *e, const char *symbol, const char *what,
                               const unsigned char *used, int nrows, int *n_runs)
{
    LLVMValueRef *v = malloc(sizeof(*v) * ((size_t)nrows + 1) * 2);
    size_t len = strlen(symbol) + strlen(what) + 8;
    char *name = malloc(len);
    if (!v || !name) {
        free(v);
        free(name);
        return NULL;
    }
    unsigned n = 0;
    for (int r = 0; r < nrows;) {
        if (!used[r]) {
            r++;
            continue;
        }
        int first = r;
        while (r < nrows && used[r])
            r++;
        v[n++] = LLVMConstInt(e->i32, (unsigned)first, 0);
        v[n++] = LLVMConstInt(e->i32, (unsigned)(r - first), 0);
    }
    snprintf(name, len, "%s.%s.rows", symbol, what);
    LLVMTypeRef type = LLVMArrayType(e->i32, n);
    LLVMValueRef table = LLVMAddGlobal(e->mod, type, name);
    LLVMSetInitializer(table, LLVMConstArray(e->i32, v, n));
    LLVMSetGlobalConstant(table, 1);
    LLVMSetLinkage(table, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(table, LLVMGlobalUnnamedAddr);
    free(v);
    free(name);
    *n_runs = (int)(n / 2);
    return LLVMConstBitCast(table, LLVMPointerType(e->i32, 0));
}

/* One array argument of the body: the caller's, the tail's block of
 * (rows x W) reals for it, and the runs of rows the function reads (input)
 * or writes (output). */
typedef struct {
    LLVMValueRef arr, blk;  /* NULL: the function does not use it */
    LLVMValueRef runs;      /* i32* */
    int n_runs, rows;       /* rows: the highest used row + 1 */
    LLVMValueRef cur;       /* in the chunk loop: arr or blk */
} body_array;

/* What the body's loop needs. */
typedef struct {
    const unsigned char *in_used; /* (n_in_args) */
    int uses_params, n_parts;
    LLVMValueRef *parts;          /* (n_parts) vector parts; NULL: one part */
    LLVMValueRef *in;             /* (n_in_args) the chunk's input arrays, NULL unused */
    LLVMValueRef params;          /* NULL when unused */
    LLVMValueRef scratch;         /* <W x real>*, NULL without parts */
    LLVMValueRef ld;              /* the chunk's, i64 */
    LLVMValueRef *out_row;        /* (n_outputs) out_arg + row*ld of the chunk */
    LLVMValueRef *args;           /* room for a part call's arguments */
} body_loop;

/* The vector loop in block `loop`, entered from block `from`: b = 0, W, ...
 * while b < end (end > 0, a multiple of W); then to `exit`.  Each iteration
 * computes the nodes (or calls the parts) for batch elements b..b+W-1 and
 * stores the outputs.  -1 on an unknown op. */
static int emit_loop(llvm_emitter *e, const ir_graph *g, const ir_function *f,
                     const body_loop *L, LLVMBasicBlockRef loop, LLVMBasicBlockRef from,
                     LLVMValueRef end, LLVMBasicBlockRef exit)
{
    LLVMBuilderRef B = e->bld;
    LLVMPositionBuilderAtEnd(B, loop);
    new_region(e);
    LLVMValueRef bi = LLVMBuildPhi(B, e->i64, "b");
    e->b = bi;
    e->ld = L->ld;
    for (int a = 0; a < f->n_in_args; a++)
        e->in[a] = L->in[a];
    e->params = L->params;
    e->scratch = L->scratch;
    if (L->n_parts == 1) {
        if (emit_part(e, g, 0) != 0)
            return -1;
    } else { /* the output stores then read the scratch */
        for (int p = 0; p < L->n_parts; p++) {
            unsigned na = 0;
            L->args[na++] = bi;
            L->args[na++] = L->ld;
            for (int a = 0; a < f->n_in_args; a++)
                if (L->in_used[a])
                    L->args[na++] = L->in[a];
            if (L->uses_params)
                L->args[na++] = L->params;
            L->args[na++] = e->scratch;
            LLVMValueRef part = L->parts[p];
            LLVMBuildCall2(B, LLVMGlobalGetValueType(part), part, L->args, na, "");
        }
    }
    for (int o = 0; o < f->n_outputs; o++) {
        LLVMValueRef at = LLVMBuildInBoundsGEP2(B, e->real, L->out_row[o], &bi, 1, "");
        store_at(e, operand(e, g, f->outputs[o].node), at);
    }
    LLVMValueRef next = LLVMBuildNSWAdd(B, bi, index_i64(e, e->width), "b.next");
    LLVMValueRef zero = index_i64(e, 0);
    LLVMAddIncoming(bi, &zero, &from, 1);
    LLVMAddIncoming(bi, &next, &loop, 1);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, next, end, "again"), loop, exit);
    return 0;
}

/* The rows of each array the function uses, its block and runs table.
 * which: "in" or "out".  -1 on allocation failure. */
static int plan_arrays(llvm_emitter *e, const char *symbol, const char *which, int n_args,
                       body_array *arrays, const int *rows_arg, const int *rows_row, int n_rows)
{
    for (int a = 0; a < n_args; a++) {
        body_array *A = &arrays[a];
        if (!A->arr)
            continue;
        A->rows = 0;
        for (int k = 0; k < n_rows; k++)
            if (rows_arg[k] == a && rows_row[k] + 1 > A->rows)
                A->rows = rows_row[k] + 1;
        unsigned char *used = calloc((size_t)A->rows + 1, 1);
        if (!used)
            return -1;
        for (int k = 0; k < n_rows; k++)
            if (rows_arg[k] == a)
                used[rows_row[k]] = 1;
        char what[32];
        snprintf(what, sizeof(what), "%s%d", which, a);
        A->runs = runs_table(e, symbol, what, used, A->rows, &A->n_runs);
        free(used);
        if (!A->runs)
            return -1;
    }
    return 0;
}

/* Calls tail.in (out = 0) or tail.out for each array used: element nv on of
 * the caller's rows to or from the blocks. */
static void copy_tails(llvm_emitter *e, int out, int n_args, const body_array *arrays,
                       LLVMValueRef nv, LLVMValueRef ld, LLVMValueRef rem)
{
    LLVMValueRef fn = tail_function(e, out);
    for (int a = 0; a < n_args; a++) {
        const body_array *A = &arrays[a];
        if (!A->arr)
            continue;
        LLVMValueRef arr = LLVMBuildInBoundsGEP2(e->bld, e->real, A->arr, &nv, 1, "");
        LLVMValueRef args[6] = {out ? arr : A->blk, out ? A->blk : arr, ld, rem, A->runs,
                                LLVMConstInt(e->i32, (unsigned)A->n_runs, 0)};
        LLVMBuildCall2(e->bld, LLVMGlobalGetValueType(fn), fn, args, 6, "");
    }
}

/* The blocks of the arrays used, in the entry block: (rows x W) reals each,
 * aligned to W reals. */
static void alloc_blocks(llvm_emitter *e, int n_args, body_array *arrays, const char *fmt)
{
    for (int a = 0; a < n_args; a++) {
        body_array *A = &arrays[a];
        if (!A->arr)
            continue;
        LLVMValueRef v = LLVMBuildArrayAlloca(e->bld, e->vreal,
                                              LLVMConstInt(e->i32, (unsigned)A->rows, 0), "");
        LLVMSetAlignment(v, e->real_size * e->width);
        A->blk = LLVMBuildBitCast(e->bld, v, e->real_ptr, "");
        name_value(A->blk, fmt, a);
    }
}

/* The chunk's array of each array used: the caller's (from pre) or the
 * block (from tailin). */
static void chunk_arrays(llvm_emitter *e, int n_args, body_array *arrays, const char *fmt,
                         LLVMBasicBlockRef pre, LLVMBasicBlockRef tailin)
{
    for (int a = 0; a < n_args; a++) {
        body_array *A = &arrays[a];
        if (!A->arr)
            continue;
        char name[32] = "";
        if (e->named)
            snprintf(name, sizeof(name), fmt, a);
        A->cur = LLVMBuildPhi(e->bld, e->real_ptr, name);
        LLVMValueRef v[2] = {A->arr, A->blk};
        LLVMBasicBlockRef from[2] = {pre, tailin};
        LLVMAddIncoming(A->cur, v, from, 2);
    }
}

/* Emits function f as `symbol`, with `symbol.body` and its parts.  f has
 * been checked.  Returns 0, or -1 on allocation failure. */
static int emit_function(llvm_emitter *e, const ir_graph *g, const ir_function *f,
                         const char *symbol)
{
    const int nnode = ir_count(g);
    LLVMBuilderRef B = e->bld;
    int status = -1;
    unsigned char *in_used = calloc((size_t)f->n_in_args + 1, 1);
    unsigned char *out_used = calloc((size_t)f->n_out_args + 1, 1);
    ir_id *roots = malloc(sizeof(*roots) * ((size_t)f->n_outputs + 1));
    LLVMValueRef *out_row = malloc(sizeof(*out_row) * ((size_t)f->n_outputs + 1));
    unsigned n_body = 2 + (unsigned)f->n_in_args + (unsigned)f->n_out_args + 1;
    LLVMTypeRef *body_types = malloc(sizeof(*body_types) * n_body);
    LLVMValueRef *args = malloc(sizeof(*args) * n_body);   /* calls' arguments */
    body_array *ins = calloc((size_t)f->n_in_args + 1, sizeof(*ins));
    body_array *outs = calloc((size_t)f->n_out_args + 1, sizeof(*outs));
    LLVMValueRef *chunk_in = calloc((size_t)f->n_in_args + 1, sizeof(*chunk_in));
    int *var_arg = malloc(sizeof(int) * ((size_t)nnode + 1));
    int *var_row = malloc(sizeof(int) * ((size_t)nnode + 1));
    int *out_arg = malloc(sizeof(int) * ((size_t)f->n_outputs + 1));
    int *out_rown = malloc(sizeof(int) * ((size_t)f->n_outputs + 1));
    LLVMValueRef *parts = NULL; /* (n_parts) */
    e->in = calloc((size_t)f->n_in_args + 1, sizeof(*e->in));
    size_t symlen = strlen(symbol);
    char *body_name = malloc(symlen + sizeof(".body"));
    if (!in_used || !out_used || !roots || !out_row || !body_types || !args || !ins ||
        !outs || !chunk_in || !var_arg || !var_row || !out_arg || !out_rown || !e->in ||
        !body_name)
        goto done;
    memcpy(body_name, symbol, symlen);
    memcpy(body_name + symlen, ".body", sizeof(".body"));

    /* which arrays and rows the function uses, whether it reads params, the parts */
    for (int k = 0; k < f->n_outputs; k++) {
        roots[k] = f->outputs[k].node;
        out_used[f->outputs[k].arg] = 1;
        out_arg[k] = f->outputs[k].arg;
        out_rown[k] = f->outputs[k].row;
    }
    ir_mark_reachable(g, f->n_outputs, roots, e->mark);
    int uses_params = 0, n_vars = 0;
    for (int id = 0; id < nnode; id++) {
        e->value_in[id] = -1;
        const ir_node *n = ir_get(g, id);
        if (e->mark[id] && n->op == IR_VAR) {
            in_used[n->arg] = 1;
            var_arg[n_vars] = n->arg;
            var_row[n_vars++] = n->row;
        }
        uses_params |= e->mark[id] && n->op == IR_PARAM;
    }
    int n_slots = 0;
    int n_parts = plan_parts(e, g, f, &n_slots);
    if (n_parts < 0)
        goto done;
    e->n_regions = 0;
    if (n_parts > 1) {
        if (!(parts = malloc(sizeof(*parts) * (size_t)n_parts)))
            goto done;
        for (int p = 0; p < n_parts; p++)
            if (emit_part_function(e, g, f, symbol, in_used, uses_params, p, &parts[p]) != 0)
                goto done;
    }

    /* the body: noalias arrays, the batch loop */
    n_body = 0;
    body_types[n_body++] = e->i32;
    body_types[n_body++] = e->i32;
    for (int a = 0; a < f->n_in_args; a++)
        if (in_used[a])
            body_types[n_body++] = e->real_ptr;
    for (int a = 0; a < f->n_out_args; a++)
        if (out_used[a])
            body_types[n_body++] = e->real_ptr;
    if (uses_params)
        body_types[n_body++] = e->real_ptr;
    LLVMValueRef body = LLVMAddFunction(e->mod, body_name,
                                        LLVMFunctionType(e->void_ty, body_types, n_body, 0));
    LLVMSetLinkage(body, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(body, LLVMAttributeFunctionIndex, e->alwaysinline);
    LLVMAddAttributeAtIndex(body, LLVMAttributeFunctionIndex, e->nounwind);
    unsigned k = 0;
    LLVMValueRef n32 = LLVMGetParam(body, k++), ld32 = LLVMGetParam(body, k++);
    LLVMSetValueName2(n32, "n", 1);
    LLVMSetValueName2(ld32, "ld", 2);
    for (int a = 0; a < f->n_in_args; a++)
        if (in_used[a]) {
            add_param_attrs(e, body, k + 1, e->readonly);
            ins[a].arr = LLVMGetParam(body, k++);
            name_value(ins[a].arr, "in%d", a);
        }
    for (int a = 0; a < f->n_out_args; a++)
        if (out_used[a]) {
            add_param_attrs(e, body, k + 1, e->writeonly);
            outs[a].arr = LLVMGetParam(body, k++);
            name_value(outs[a].arr, "out%d", a);
        }
    LLVMValueRef body_params = NULL;
    if (uses_params) {
        add_param_attrs(e, body, k + 1, e->readonly);
        body_params = LLVMGetParam(body, k++);
        LLVMSetValueName2(body_params, "params", 6);
    }
    if (plan_arrays(e, symbol, "in", f->n_in_args, ins, var_arg, var_row, n_vars) != 0 ||
        plan_arrays(e, symbol, "out", f->n_out_args, outs, out_arg, out_rown, f->n_outputs) != 0)
        goto done;

    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->ctx, body, "entry");
    LLVMBasicBlockRef pre = LLVMAppendBasicBlockInContext(e->ctx, body, "pre");
    LLVMBasicBlockRef tailin = LLVMAppendBasicBlockInContext(e->ctx, body, "tailin");
    LLVMBasicBlockRef chunk = LLVMAppendBasicBlockInContext(e->ctx, body, "chunk");
    LLVMBasicBlockRef vloop = LLVMAppendBasicBlockInContext(e->ctx, body, "vloop");
    LLVMBasicBlockRef chunk_end = LLVMAppendBasicBlockInContext(e->ctx, body, "chunk.end");
    LLVMBasicBlockRef rest = LLVMAppendBasicBlockInContext(e->ctx, body, "rest");
    LLVMBasicBlockRef tailout = LLVMAppendBasicBlockInContext(e->ctx, body, "tailout");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(e->ctx, body, "exit");

    /* entry: the scratch and the tail's blocks */
    LLVMPositionBuilderAtEnd(B, entry);
    body_loop L = {.in_used = in_used, .uses_params = uses_params, .n_parts = n_parts,
                   .parts = parts, .in = chunk_in, .params = body_params, .out_row = out_row,
                   .args = args};
    if (n_slots > 0) { /* W elements' values that cross parts */
        L.scratch = LLVMBuildArrayAlloca(B, e->vreal, LLVMConstInt(e->i32, (unsigned)n_slots, 0),
                                         "scratch");
        LLVMSetAlignment(L.scratch, e->real_size * e->width);
    }
    alloc_blocks(e, f->n_in_args, ins, "in%d.tail");
    alloc_blocks(e, f->n_out_args, outs, "out%d.tail");
    LLVMValueRef any = LLVMBuildICmp(B, LLVMIntSGT, n32, LLVMConstInt(e->i32, 0, 0), "any");
    LLVMBuildCondBr(B, any, pre, exit);

    /* pre: nv = n - n % W elements in the caller's arrays, rem in the blocks */
    LLVMPositionBuilderAtEnd(B, pre);
    LLVMValueRef n64 = LLVMBuildSExt(B, n32, e->i64, "n64");
    LLVMValueRef ld64 = LLVMBuildSExt(B, ld32, e->i64, "ld64");
    LLVMValueRef nv = LLVMBuildAnd(B, n64, index_i64(e, -(long long)e->width), "nv");
    LLVMValueRef rem = LLVMBuildNSWSub(B, n64, nv, "rem");
    LLVMValueRef zero64 = index_i64(e, 0), width = index_i64(e, e->width);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSGT, nv, zero64, "vectors"), chunk, tailin);

    /* tailin: the rem last elements of the inputs' rows into the blocks */
    LLVMPositionBuilderAtEnd(B, tailin);
    copy_tails(e, 0, f->n_in_args, ins, nv, ld64, rem);
    LLVMBuildBr(B, chunk);

    /* chunk: the arrays, leading dimension and end of the vector loop: the
     * caller's (from pre) or the blocks' (from tailin, one iteration) */
    LLVMPositionBuilderAtEnd(B, chunk);
    LLVMBasicBlockRef from[2] = {pre, tailin};
    chunk_arrays(e, f->n_in_args, ins, "in%d.c", pre, tailin);
    chunk_arrays(e, f->n_out_args, outs, "out%d.c", pre, tailin);
    L.ld = LLVMBuildPhi(B, e->i64, "ld.c");
    LLVMValueRef lds[2] = {ld64, width};
    LLVMAddIncoming(L.ld, lds, from, 2);
    LLVMValueRef end = LLVMBuildPhi(B, e->i64, "end");
    LLVMValueRef ends[2] = {nv, width};
    LLVMAddIncoming(end, ends, from, 2);
    LLVMValueRef in_tail = LLVMBuildPhi(B, e->i1, "tail");
    LLVMValueRef flags[2] = {LLVMConstInt(e->i1, 0, 0), LLVMConstInt(e->i1, 1, 0)};
    LLVMAddIncoming(in_tail, flags, from, 2);
    for (int a = 0; a < f->n_in_args; a++)
        chunk_in[a] = ins[a].cur;
    for (int o = 0; o < f->n_outputs; o++) {
        const ir_output *out = &f->outputs[o];
        out_row[o] = outs[out->arg].cur;
        if (out->row > 0) {
            LLVMValueRef off = LLVMBuildNSWMul(B, index_i64(e, out->row), L.ld, "");
            out_row[o] = LLVMBuildInBoundsGEP2(B, e->real, out_row[o], &off, 1, "");
        }
    }
    LLVMBuildBr(B, vloop);

    /* vloop: elements b..b+W-1 as vectors, b = 0, W, ..., end - W */
    if (emit_loop(e, g, f, &L, vloop, chunk, end, chunk_end) != 0)
        goto done;
    LLVMPositionBuilderAtEnd(B, chunk_end);
    LLVMBuildCondBr(B, in_tail, tailout, rest);
    /* rest: the last n % W elements (all n when n < W) through the blocks */
    LLVMPositionBuilderAtEnd(B, rest);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, nv, n64, "more"), tailin, exit);
    /* tailout: the rem valid elements of the outputs' rows from the blocks */
    LLVMPositionBuilderAtEnd(B, tailout);
    copy_tails(e, 1, f->n_out_args, outs, nv, ld64, rem);
    LLVMBuildBr(B, exit);
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
    unsigned na = 0;
    args[na++] = LLVMGetParam(wrap, 0);
    args[na++] = LLVMGetParam(wrap, 1);
    for (int a = 0; a < f->n_in_args; a++)
        if (in_used[a]) {
            args[na] = load_array(e, LLVMGetParam(wrap, 2), a);
            name_value(args[na++], "in%d", a);
        }
    for (int a = 0; a < f->n_out_args; a++)
        if (out_used[a]) {
            args[na] = load_array(e, LLVMGetParam(wrap, 3), a);
            name_value(args[na++], "out%d", a);
        }
    if (uses_params)
        args[na++] = LLVMGetParam(wrap, 4);
    LLVMBuildCall2(B, LLVMGlobalGetValueType(body), body, args, na, "");
    LLVMBuildRetVoid(B);
    status = 0;
done:
    free(in_used);
    free(out_used);
    free(roots);
    free(out_row);
    free(body_types);
    free(args);
    free(ins);
    free(outs);
    free(chunk_in);
    free(var_arg);
    free(var_row);
    free(out_arg);
    free(out_rown);
    free(parts);
    free(e->in);
    e->in = NULL;
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
    e.prefix = prefix;
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
    LLVMOrcResourceTrackerRef tracker; /* NULL: a free slot                 */
    unsigned long serial;              /* adding order, for lookup by name  */
    int n_fns;
    char **names;                      /* (n_fns) ir_function names         */
    void **entry;                      /* (n_fns) machine code entry points */
} jit_unit;

/* We compile modules to object files ourselves and give LLJIT only objects
 * to link: that way the code generator's optimisation level follows each
 * add's opt_level (LLJIT's own compiler has one level for its lifetime). */
struct mnet_jit {
    LLVMOrcLLJITRef lljit;
    LLVMTargetRef target;
    LLVMTargetMachineRef tm[4];        /* host CPU, by codegen level 0..3,
                                          made on first use               */
    char session_error[512];           /* last report of the session      */
    unsigned long next_serial;         /* symbols are mnet.u<serial>.NAME  */
    int n_units;
    jit_unit *units;                   /* (n_units)                        */
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

/* The target machine of a codegen level: the host CPU and its features, the
 * JIT's code model, as LLJIT's own would be. */
static LLVMTargetMachineRef target_machine(mnet_jit *jit, int level)
{
    if (!jit->tm[level]) {
        static const LLVMCodeGenOptLevel levels[4] = {
            LLVMCodeGenLevelNone, LLVMCodeGenLevelLess, LLVMCodeGenLevelDefault,
            LLVMCodeGenLevelAggressive};
        char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
        jit->tm[level] = LLVMCreateTargetMachine(jit->target,
                                                 LLVMOrcLLJITGetTripleString(jit->lljit), cpu,
                                                 features, levels[level], LLVMRelocDefault,
                                                 LLVMCodeModelJITDefault);
        LLVMDisposeMessage(cpu);
        LLVMDisposeMessage(features);
    }
    return jit->tm[level];
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
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &jit->target, &msg)) {
        set_error(err, errlen, "target %s: %s", triple, msg ? msg : "");
        LLVMDisposeMessage(msg);
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

/* Emits, verifies, optimises and compiles the module of fns to an object
 * file in memory.  Returns NULL with a message on failure. */
static LLVMMemoryBufferRef compile_object(mnet_jit *jit, const ir_graph *g, int n_fns,
                                          const ir_function *fns, int single, int level,
                                          const char *prefix, char *err, size_t errlen)
{
    LLVMTargetMachineRef tm = target_machine(jit, level);
    if (!tm) {
        set_error(err, errlen, "no target machine for %s",
                  LLVMOrcLLJITGetTripleString(jit->lljit));
        return NULL;
    }
    LLVMMemoryBufferRef obj = NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMContextSetDiscardValueNames(ctx, 1);
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext(prefix, ctx);
    LLVMSetDataLayout(mod, LLVMOrcLLJITGetDataLayoutStr(jit->lljit));
    LLVMSetTarget(mod, LLVMOrcLLJITGetTripleString(jit->lljit));
    char *msg = NULL;
    if (emit_module(ctx, mod, g, n_fns, fns, single, 0, prefix) != 0) {
        set_error(err, errlen, "out of memory");
        goto done;
    }
    if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
        set_error(err, errlen, "internal error, the emitted module is invalid: %s",
                  msg ? msg : "");
        goto done;
    }
    char pipeline[32];
    snprintf(pipeline, sizeof(pipeline), "default<O%d>", level);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    /* The body's loop is vectorised already and cannot be widened further;
     * the tail's copy loops run W or fewer times per row.  (When the body
     * still had a scalar loop for the rest, the loop vectoriser widened and
     * interleaved it, which doubled the -O1 compile time of small models
     * for nothing.) */
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 0);
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, 0);
    LLVMErrorRef e = LLVMRunPasses(mod, pipeline, tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (e) {
        set_llvm_error(err, errlen, "optimising", e);
        goto done;
    }
    LLVMDisposeMessage(msg);
    msg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &obj)) {
        set_error(err, errlen, "generating code: %s", msg ? msg : "");
        obj = NULL;
    }
done:
    LLVMDisposeMessage(msg);
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return obj;
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

    char prefix[48];
    snprintf(prefix, sizeof(prefix), "mnet.u%lu.", u->serial);
    int level = opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level;
    LLVMMemoryBufferRef obj = compile_object(jit, g, n_fns, fns, single_precision, level,
                                             prefix, err, errlen);
    if (!obj) {
        unit_clear(u);
        return -1;
    }
    /* into the JIT, under a tracker of its own so it can be removed alone */
    u->tracker = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(jit->lljit));
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(jit->lljit, u->tracker, obj); /* takes obj */
    if (e) {
        set_llvm_error(err, errlen, "adding the object", e);
        goto fail;
    }
    /* link now: the first lookup loads the whole object */
    for (int k = 0; k < n_fns; k++) {
        size_t len = strlen(prefix) + strlen(fns[k].name) + 1;
        char *symbol = malloc(len);
        if (!symbol) {
            set_error(err, errlen, "out of memory");
            goto fail;
        }
        snprintf(symbol, len, "%s%s", prefix, fns[k].name);
        LLVMOrcExecutorAddress addr = 0;
        jit->session_error[0] = '\0';
        e = LLVMOrcLLJITLookup(jit->lljit, &addr, symbol);
        free(symbol);
        if (e) {
            char *what = LLVMGetErrorMessage(e);
            set_error(err, errlen, "linking '%s': %s%s%s", fns[k].name, what ? what : "",
                      jit->session_error[0] ? ": " : "", jit->session_error);
            LLVMDisposeErrorMessage(what);
            goto fail;
        }
        u->entry[k] = (void *)(uintptr_t)addr;
    }
    return slot;
fail:
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
    for (int level = 0; level < 4; level++)
        if (jit->tm[level])
            LLVMDisposeTargetMachine(jit->tm[level]);
    free(jit);
}
