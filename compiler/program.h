/* program.h - the global definitions of all loaded sources.
 *
 * Top level of a .mnet file:
 *   import "file";                      (handled by source.c)
 *   fn name(x, y) = expr;
 *   const name = expr;
 *   muscle_model name { ... }
 *   skeleton name { ... }
 *   effector name { ... }   |   effector name = base(overrides);
 *   task name { ... }
 * Names share one namespace across all imported files.
 */
#ifndef MNET_PROGRAM_H
#define MNET_PROGRAM_H

#include "diag.h"

typedef enum {
    DEF_FN, DEF_CONST, DEF_MUSCLE_MODEL, DEF_SKELETON, DEF_EFFECTOR, DEF_TASK
} def_kind;

typedef struct {
    def_kind kind;
    const char *name;
    src_loc loc;
    const ast_stmt *stmt;
    const ast_arg *arg;  /* DEF_CONST: its `name = value` in stmt; else NULL */
} mnet_def;

struct mnet_program {
    mnet_ctx *ctx;
    mnet_def *defs;      /* (n_defs) in source order */
    int n_defs, cap_defs;
    int *index;          /* (cap_index) def by name hash, -1 empty */
    int cap_index;
};
typedef struct mnet_program mnet_program;

/* Collects every definition of every loaded source; reports duplicates and
 * unknown top-level statements.  Returns 0 on success. */
int program_collect(mnet_ctx *ctx, mnet_program *prog);
void program_free(mnet_program *prog);
const mnet_def *program_find(const mnet_program *prog, const char *name);
const mnet_def *program_find_kind(const mnet_program *prog, const char *name, def_kind kind);
const char *def_kind_name(def_kind kind);

#endif
