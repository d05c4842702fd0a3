/* api_internal.h - what the files of libmnet's public layer share: the
 * handles' contents and the error helper.  Nothing here is exported. */
#ifndef MNET_API_INTERNAL_H
#define MNET_API_INTERNAL_H

#include <signal.h>

#include "compile.h"
#include "mnet.h"
#include "mnet_log.h"
#include "mnet_outdir.h"
#include "mnet_settings.h"
#include "mnet_train.h"

/* A compiled effector: the compilation (sources, task), the model built
 * twice by the JIT - in double for the mn_effector_* functions, in float
 * (the runtime's precision, built when first needed) for environments,
 * policies and training - and THE parameter values and task configuration
 * (every environment and trainer starts from these). */
struct mn_effector {
    mnet_compilation *comp;
    mnet_jit_model *jit_d, *jit_f;
    const mnet_model *md;       /* double table: sizes, names, functions    */
    const mnet_model *mf;       /* float table; NULL until first needed     */
    double *values;             /* (n_params) parameter values              */
    mnet_task_config cfg;       /* the task's configuration                 */
    char *diag;                 /* the compiler's warnings                  */
    char *run_text;             /* the last mn_effector_run_text            */
    double *scratch;            /* (n_scratch) zero loads, unwanted g_load  */
    size_t n_scratch;
};

/* Writes the message and returns code (MN_OK: nothing written). */
int mn__fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* e's float model table, built on first use.  NULL with a message. */
const mnet_model *mn__float_model(mn_effector *e, char *err, size_t errlen);

/* An effector over compilation c (taken over: freed with it, or on
 * failure).  NULL with a message. */
mn_effector *mn__effector_from(mnet_compilation *c, const char *diag, char *err, size_t errlen);

/* The run a run text describes on e: cfg and parameter values (n_params,
 * starting from e's) read, every value checked (the compiler's ranges,
 * the task against the float model).  text NULL: e's own.  Loss terms are
 * resolved against the model (mn__resolve_losses).  A status. */
int mn__run_parse(mn_effector *e, const char *text, int fresh, mnet_task_config *cfg, double *values, char *err,
                  size_t errlen);

/* Resolves cfg's loss terms against model m.  fresh: every term as the
 * compiler gives a new run (a built-in term the model computes is its
 * compiled row: what `mnet train FILE` trains).  Else only the terms of the
 * user's own get their row, and a built-in term stays the runtime's, as
 * `mnet eval` and `mnet train --resume` read a stored run (the same
 * quantity; the last bits may differ). */
void mn__resolve_losses(mnet_task_config *cfg, const mnet_model *m, int fresh);

/* The float table of a double parameter table (n values), malloc'd. */
mnet_real *mn__params_real(const double *values, int n);

/* Opens DIR/checkpoint.mnetckpt and rebuilds its run: the effector from
 * the stored sources, the run's configuration and values in it.  *ck is
 * the loaded checkpoint (mnet_checkpoint_free).  A status. */
struct mnet_checkpoint;
int mn__open_checkpoint(const char *dir, struct mnet_checkpoint *ck, mn_effector **e, char *err, size_t errlen);

#endif
