/* emit_model.h - the standalone C file of a compiled effector. */
#ifndef MNET_EMIT_MODEL_H
#define MNET_EMIT_MODEL_H

#include <stdio.h>

#include "model.h"

/* Writes one self-contained C11 file (only <math.h>) defining the functions
 * of the model interface and `const mnet_model mnet_model_<name>` plus
 * `const mnet_model *mnet_compiled_model`.  `source` names the .mnet file
 * for comments; `source_hash` is stored in the table.  Returns 0 or -1. */
int emit_model_c(FILE *out, const mnet_effector *eff, const char *source, const char *source_hash,
                 int single_precision);

/* Emission options beyond the defaults. */
typedef struct {
    int single_precision;
    int check_finite;    /* step checks its outputs for NaN/Inf */
    const char *task;    /* the table's `task` text (NULL: none)  */
} emit_options;
int emit_model_c_opts(FILE *out, const mnet_effector *eff, const char *source, const char *source_hash,
                      const emit_options *opt);

/* The table's muscle_max_force (mnet_model.h): index in the parameter table
 * of muscle m's "max_force" parameter (its muscle model's), -1 when the
 * muscle model has none.  The C emitter and the JIT both fill the table
 * from this. */
int effector_muscle_max_force(const mnet_effector *eff, int m);

/* Names of the state rows (n_state strings, malloc'd; free with
 * effector_free_state_names). */
char **effector_state_names(const mnet_effector *eff);
void effector_free_state_names(const mnet_effector *eff, char **names);

/* The model interface's functions in the table's order (init, init_vjp,
 * step, step_vjp, sense, sense_vjp, points, loss, loss_vjp): their number,
 * and pointers into eff in fns[0..] when fns is not NULL (room for
 * EFFECTOR_N_FUNCTIONS).  The C emitter, --stats and --emit-llvm go by it. */
enum { EFFECTOR_N_FUNCTIONS = 9 };
int effector_functions(const mnet_effector *eff, const ir_function **fns);

/* --stats: node counts of every function. */
void effector_print_stats(const mnet_effector *eff, FILE *out);

#endif
