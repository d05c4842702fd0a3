/* mnet_model_so.h - loading a compiled model's C through the system compiler.
 *
 * The route when no JIT is used: `mnetc model.mnet -o model.c`, then
 * `cc -O2 -shared -fPIC` into a private temporary directory and dlopen.
 * The compiler is $CC when set, else `cc`. */
#ifndef MNET_MODEL_SO_H
#define MNET_MODEL_SO_H

#include <stddef.h>

#include "mnet_model.h"

typedef struct mnet_model_so mnet_model_so;

/* Compiles c_path and loads it.  Returns NULL with a message in err. */
mnet_model_so *mnet_model_so_build(const char *c_path, char *err, size_t err_size);
/* The model table (its functions use the precision it was emitted for:
 * check ->real_size). */
const mnet_model *mnet_model_so_get(const mnet_model_so *so);
void mnet_model_so_free(mnet_model_so *so);

#endif
