/* jit_model.h - a compiled effector as an mnet_model table, through the
 * LLVM JIT: the same interface the C backend's generated file provides
 * (runtime/include/mnet_model.h), with no C compiler involved. */
#ifndef MNET_JIT_MODEL_H
#define MNET_JIT_MODEL_H

#include <stddef.h>

#include "model.h"
#include "mnet_model.h"

typedef struct mnet_jit_model mnet_jit_model;

/* JIT-compiles the nine interface functions of eff (effector_functions)
 * in the given precision (the table's functions then take float or double
 * arrays: check real_size).  The table and its name arrays are owned by the result and
 * independent of eff afterwards.  NULL with a message in err on failure. */
mnet_jit_model *jit_model_build(const mnet_effector *eff, const char *source_hash, int single_precision,
                                char *err, size_t n);
const mnet_model *jit_model_get(const mnet_jit_model *jm);
void jit_model_free(mnet_jit_model *jm);

#endif
