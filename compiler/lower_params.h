/* lower_params.h - parameter values: defaults, overrides, units, the table.
 *
 * Scalar parameters become entries of the run-time parameter table (IR_PARAM
 * leaves: changing one needs no recompile).  Vector parameters and values
 * the structure depends on (ranges) are compile-time constants.
 */
#ifndef MNET_LOWER_PARAMS_H
#define MNET_LOWER_PARAMS_H

#include "model.h"

/* Checks a literal's unit against a parameter's documented dimension. */
int check_dim(mnet_ctx *ctx, const value *v, unit_dim declared, const char *name, src_loc loc);

/* Adds table entry `name`: the value of `given` if present, else of
 * `default_expr`, else `fallback`.  Returns the table index or -1. */
int param_scalar(eval_env *E, mnet_effector *eff, const char *name, const ast_arg *given,
                 const ast_expr *default_expr, double fallback, unit_dim dim);

/* A constant [lo, hi] from a named arg (kept when arg is NULL). */
int param_pair(eval_env *E, const ast_arg *arg, unit_dim dim, double out[2]);
int const_pair(eval_env *E, scope *s, const ast_expr *e, unit_dim dim, double out[2]);

/* The `param` statements of a definition body with overrides applied.
 * Builds *run (scalars as IR_PARAM, table entries "prefix.name") and *cst
 * (every parameter as a constant).  Returns 1 on success. */
int user_params(eval_env *E, mnet_effector *eff, const ast_stmt *body, const ast_arg *overrides,
                const char *def_name, const char *prefix, scope **run, scope **cst);

#endif
