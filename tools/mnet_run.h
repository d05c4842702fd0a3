/* mnet_run.h - what the `mnet` driver and REPL share: a loaded model and
 * task, from .mnet source to a trainer. */
#ifndef MNET_RUN_H
#define MNET_RUN_H

#include <stdio.h>

#include "compile.h"
#include "mnet_config.h"
#include "mnet_model_so.h"
#include "mnet_train.h"
#include "task_check.h"

/* A file with an effector but no task trains the reference recipe's
 * random-target reaching (MODELS.md 8) under this name. */
#define MNET_DEFAULT_TASK "default_reach"

typedef enum { MNET_BACKEND_JIT, MNET_BACKEND_C } mnet_backend;

typedef struct mnet_jit_model mnet_jit_model;

typedef struct {
    mnet_backend backend;       /* how the model was built               */
    mnet_compilation *comp;     /* the compiled sources                  */
    const mnet_def *task_def;   /* the task trained (NULL: the default)   */
    const char *task_name;      /* its name, or MNET_DEFAULT_TASK         */
    task_spec spec;             /* its settings as written               */
    mnet_task_config cfg;       /* ... for the runtime                   */
    mnet_model_so *so;          /* the model, compiled and loaded (C)    */
    mnet_jit_model *jit;        /* ... or JIT-compiled                    */
    double ms_compile;          /* front end + backend                    */
    const mnet_model *model;
    mnet_real *params;          /* the model's parameter table           */
} mnet_run;

/* Compiles `path`, picks task `task` (NULL: the file's last task), builds
 * the model through the C backend.  Diagnostics go to diag.  Returns 0, 1
 * (errors in the input) or 2 (setup failure, message in err). */
int mnet_run_open(mnet_run *r, const char *path, const char *task, mnet_backend backend, FILE *diag, char *err,
                  size_t n);
/* The same, with `search_first` searched for imports before the library. */
int mnet_run_open_ex(mnet_run *r, const char *path, const char *task, mnet_backend backend, const char *search_first,
                     FILE *diag, char *err, size_t n);
void mnet_run_close(mnet_run *r);

#endif
