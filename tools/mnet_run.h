/* mnet_run.h - what the `mnet` driver and REPL share: a run, from .mnet
 * source (or a checkpoint's stored sources) to a loaded model, its
 * parameter table and the run's configuration. */
#ifndef MNET_RUN_H
#define MNET_RUN_H

#include <stdio.h>

#include "compile.h"
#include "mnet_model_so.h"
#include "mnet_settings.h"
#include "mnet_train.h"

typedef enum { MNET_BACKEND_JIT, MNET_BACKEND_C } mnet_backend;

/* A run's owners: cfg is THE configuration (the task as checked, then as
 * `set` and the command line change it); params is THE parameter table
 * (the trainer reads it, never a copy).  The compilation keeps the sources
 * and the task as written. */
typedef struct {
    mnet_backend backend;       /* how the model was built               */
    mnet_compilation *comp;     /* the compiled sources                  */
    const char *task_name;      /* comp->task_name                        */
    mnet_task_config cfg;       /* the run's configuration               */
    mnet_model_so *so;          /* the model, compiled and loaded (C)    */
    mnet_jit_model *jit;        /* ... or JIT-compiled                    */
    double ms_compile;          /* front end + backend                    */
    const mnet_model *model;
    double *param_values;       /* (model->n_params) the parameter values
                                   as written (the owner: the run text
                                   holds these)                          */
    mnet_real *params;          /* (model->n_params) the same in the
                                   model's precision, what the model and
                                   the trainer read (mnet_run_set_param
                                   keeps the two together)               */
} mnet_run;

/* Runs the compiler pipeline on o and builds the model (backend).
 * Diagnostics go to diag.  Returns 0, 1 (errors in the input) or 2 (setup
 * failure, message in err). */
int mnet_run_open(mnet_run *r, const mnet_compile_options *o, mnet_backend backend, FILE *diag, char *err,
                  size_t n);
void mnet_run_close(mnet_run *r);

/* Parameter i = v in both tables. */
void mnet_run_set_param(mnet_run *r, int i, double v);
/* Checks value v of parameter i against the range the compiler gave it
 * (a positive mass, a link of non-zero length, ...).  0, or -1 with the
 * compiler's message in err. */
int mnet_run_check_param(const mnet_run *r, int i, double v, char *err, size_t n);
/* The same for every value of a table of r's parameters. */
int mnet_run_check_params(const mnet_run *r, const double *values, char *err, size_t n);

/* The index of parameter `name` of r's model, or -1. */
int mnet_run_param_index(const mnet_run *r, const char *name);

/* NAME = VALUE (.mnet text) on a configuration and parameter table of run
 * r, as a .mnet file would give it: a model parameter (its unit, its range)
 * or a setting or loss weight (task_set).  0, or -1 with the language's
 * message in err; nothing changes then. */
int mnet_run_apply(const mnet_run *r, mnet_task_config *cfg, double *values, const char *name, const char *value,
                   char *err, size_t n);

/* params from param_values (after reading a run text into them). */
void mnet_run_sync_params(mnet_run *r);

/* The run text of r (configuration and parameter values), malloc'd. */
char *mnet_run_text(const mnet_run *r);

#endif
