/* ir_llvm.h - the LLVM backend: the functions of one expression graph as an
 * LLVM module, written as textual IR or compiled in-process by ORC LLJIT.
 *
 * Each ir_function becomes a function of the batched model interface
 *
 *   void NAME(int n, int ld, const real *const *in, real *const *out,
 *             const real *params)
 *
 * that computes exactly what the C emitter's function computes (ir_emit_c.c,
 * docs/compiler.md "LLVM backend"): the same operations in the same order,
 * no fast-math flags, the same libm calls, so results agree bit for bit.
 * The batch loop runs W elements at once on LLVM vectors (W = 4 doubles or
 * 8 floats; libm is called lane by lane); the last n % W elements go through
 * the same code on W-wide copies of their rows, of which only the valid
 * elements are read from the inputs and written to the outputs.  The split
 * changes no bit.
 * As for the C emitter, output arrays must not overlap input arrays or the
 * parameter table.
 *
 * The header needs no LLVM headers: the JIT is an opaque object.
 *
 * Lifetimes: a mnet_jit owns every unit (one mnet_jit_add) added to it and
 * their machine code.  A function pointer stays valid until its unit is
 * removed or the JIT is freed.  The graph is read only during the call; it may
 * be freed as soon as mnet_jit_add returns.  A mnet_jit must not be used from
 * two threads at once; separate mnet_jits are independent.
 */
#ifndef MNET_IR_LLVM_H
#define MNET_IR_LLVM_H

#include "ir.h"

#include <stddef.h>
#include <stdio.h>

/* The emitted functions, as C function pointer types.  mnet_jit_lookup
 * returns void *; convert with memcpy (ISO C has no object-to-function cast):
 *   mnet_jit_fn_d f; void *p = mnet_jit_lookup(jit, "step"); memcpy(&f, &p, sizeof f); */
typedef void (*mnet_jit_fn_d)(int n, int ld, const double *const *in, double *const *out,
                              const double *params);
typedef void (*mnet_jit_fn_f)(int n, int ld, const float *const *in, float *const *out,
                              const float *params);

/* Writes the functions fns[0..n_fns) of g as one textual LLVM IR module
 * (unoptimised, value names from ir_set_name as in the C emitter), each
 * under its own name: `clang -O2 -c out.ll` gives an object with the same
 * functions as the C emitter's source.  Checks everything before writing
 * anything, as ir_emit_c: a name that is not a C identifier, two functions of
 * one name, an output or VAR argument out of range, or a node not in g return
 * -1 with nothing written; a write error returns -1.  Returns 0 on success. */
int ir_emit_llvm_ir(FILE *out, const ir_graph *g, int n_fns, const ir_function *fns,
                    int single_precision);

/*---------------------------------------------------------------------------
 * The JIT
 *---------------------------------------------------------------------------*/

typedef struct mnet_jit mnet_jit;

/* A JIT for the host CPU.  Returns NULL with a message in err on failure
 * (err may be NULL; errlen bytes including the NUL). */
mnet_jit *mnet_jit_new(char *err, size_t errlen);

/* Compiles fns[0..n_fns) of g into a new unit of the JIT: emits the module,
 * verifies it, optimises it with the new pass manager's "default<O{opt_level}>"
 * pipeline, generates machine code at the same level (opt_level 0..3,
 * clamped) and links it now, so that errors show here and lookups cost
 * nothing.  Level 0 compiles 2 to 6 times faster than 1 or 2; with the
 * batch loop vectorised by the emitter its code is within about 25% of level
 * 1's and 2's (figures in docs/compiler.md).
 * Returns the unit's id (>= 0; ids of removed units are reused), or -1 with a
 * message in err; a failed add leaves nothing behind in the JIT.
 * The same function names may be added again in a later unit (a REPL
 * recompiling a model): each unit has its own symbols.
 * A function of more than 1000 nodes keeps the values that cross between its
 * parts on the stack of the caller: 32 bytes (one vector of W reals) per
 * value live across a part boundary, 560 KiB for a 124k-node step and its
 * VJP.  The copies of the last n % W elements take 32 bytes of stack per row
 * (up to the highest row used) of each array the function uses. */
int mnet_jit_add(mnet_jit *jit, const ir_graph *g, int n_fns, const ir_function *fns,
                 int single_precision, int opt_level, char *err, size_t errlen);

/* The entry point of function `name` in the most recently added unit that
 * has one (still live), or NULL. */
void *mnet_jit_lookup(const mnet_jit *jit, const char *name);

/* The entry point of function `name` in unit `unit`, or NULL. */
void *mnet_jit_lookup_unit(const mnet_jit *jit, int unit, const char *name);

/* Frees the machine code and bookkeeping of one unit; its function pointers
 * become invalid.  Returns 0, or -1 (not a live unit, or LLVM failed to
 * release it; err says which). */
int mnet_jit_remove(mnet_jit *jit, int unit, char *err, size_t errlen);

/* Frees the JIT and every unit in it.  NULL is allowed. */
void mnet_jit_free(mnet_jit *jit);

#endif
