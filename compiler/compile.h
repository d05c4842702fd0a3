/* compile.h - the compiler as one call: file -> checked, lowered effector.
 * For tools and tests; mnetc's driver does the same with more options. */
#ifndef MNET_COMPILE_H
#define MNET_COMPILE_H

#include <stdio.h>

#include "diag.h"
#include "model.h"
#include "program.h"

typedef struct {
    mnet_ctx *ctx;
    mnet_program prog;
    mnet_effector *eff;     /* NULL when compilation failed              */
    char source_hash[17];   /* FNV-1a over every loaded source (hex)     */
} mnet_compilation;

/* Loads `path` (and its imports; the standard library is on the search
 * path), checks it and lowers `effector` (NULL: the file's last effector).
 * Diagnostics are printed to `diag` when not NULL.  Never returns NULL
 * except when out of memory; check ->eff. */
mnet_compilation *mnet_compile(const char *path, const char *effector, FILE *diag);
/* Same, searching `extra_dir` (when not NULL) for imports before the
 * standard search path: a checkpoint's stored sources shadow the library. */
mnet_compilation *mnet_compile_ex(const char *path, const char *effector, FILE *diag, const char *extra_dir);
/* Same from text in memory (name is used in diagnostics). */
mnet_compilation *mnet_compile_text(const char *name, const char *text, const char *effector, FILE *diag);
void mnet_compilation_free(mnet_compilation *c);

/* Lowers effector `effector` (NULL: the one the main file's task drives,
 * else its last) with the loss terms of the main file's last task when that
 * task drives it, else the reference recipe's position_l1 (lower_loss.h).
 * `used` (may be NULL) gets the task settings that go with it: that task's,
 * or the reference recipe's (task_spec_default, task_spec_recipe_loss);
 * the names and AST they point to belong to prog and ctx. */
struct task_spec_s;
mnet_effector *lower_main_effector(mnet_ctx *ctx, const mnet_program *prog, const char *effector,
                                   struct task_spec_s *used);

/* Writes the effector's C to `path` atomically (temporary file + rename). */
int mnet_write_c(const mnet_compilation *c, const char *path, const char *source, int single_precision);

#endif
