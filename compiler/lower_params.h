/* lower_params.h - parameter values: defaults, overrides, units, the table.
 *
 * Scalar parameters become entries of the run-time parameter table (IR_PARAM
 * leaves: changing one needs no recompile).  Vector parameters and values
 * the structure depends on (ranges) are compile-time constants.
 */
#ifndef MNET_LOWER_PARAMS_H
#define MNET_LOWER_PARAMS_H

#include "model.h"

/* ---- the values a parameter may take (model.h: param_range) ------------ */

/* Any finite value: a new table entry's range. */
param_range param_range_any(void);
/* value > 0, value >= 0; `why` (static) says what a value outside breaks. */
param_range param_range_positive(const char *why);
param_range param_range_non_negative(const char *why);

/* Checks `value` (in the parameter's SI unit, as the table holds it) for
 * table entry `index` of eff against the entry's range.  Returns 0 when it is
 * finite and in range; else -1 with the reason in err (n bytes; err may be
 * NULL when n is 0), e.g.
 *   'upper.length' must be > 0 (got 0): a link of zero length does not move ...
 *   'a_min' must be in [0, 1) (got 1.5): ...
 *   'damping' must be a finite number (got nan)
 * An index outside [0, n_params) is refused too.  Pure: it changes nothing,
 * so a caller (`set`, a checkpoint restore) stores the value only on 0. */
int effector_param_check(const mnet_effector *eff, int index, double value, char *err, size_t n);

/* Gives table entry idx the range r and checks the entry's value against it
 * with effector_param_check: out of range is an error at `at` (where the
 * value was written).  Returns 1 when the value is in range. */
int param_set_range(mnet_ctx *ctx, mnet_effector *eff, int idx, param_range r, src_loc at);

/* ---- values, units, the table ------------------------------------------ */

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
