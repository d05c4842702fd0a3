/* compile.h - the compiler as one call: file -> checked, lowered effector.
 * For tools and tests; mnetc's driver does the same with more options. */
#ifndef MNET_COMPILE_H
#define MNET_COMPILE_H

#include <stdio.h>

#include "diag.h"
#include "model.h"
#include "mnet_model.h"
#include "program.h"
#include "task_check.h"

/* A file with an effector but no task trains the reference recipe's
 * random-target reaching (MODELS.md 8) under this name. */
#define MNET_DEFAULT_TASK "default_reach"

typedef struct {
    mnet_ctx *ctx;
    mnet_program prog;
    const mnet_def *task_def; /* the task compiled (NULL: the recipe)       */
    const char *task_name;    /* its name, or MNET_DEFAULT_TASK             */
    task_spec task;           /* its configuration, effector and losses     */
    mnet_effector *eff;       /* NULL when compilation failed               */
    char source_hash[17];     /* FNV-1a over every loaded source (hex)      */
} mnet_compilation;

/* What to compile.  The pipeline (one for every tool): load the main file
 * and its imports, collect definitions, pick the task (`task`: by name;
 * NULL: the main file's last task; none: the reference recipe on the main
 * file's last effector, named MNET_DEFAULT_TASK), check it, and lower its
 * effector once with its loss terms.  `effector` names another effector to
 * lower (with the task's losses only when the task drives it, else the
 * recipe's). */
typedef struct {
    const char *path;            /* the main file                            */
    const char *text;            /* its text (NULL: read path)               */
    const char *task;            /* NULL: as above                           */
    const char *effector;        /* NULL: the task's                         */
    const char *const *include;  /* n_include directories searched first     */
    int n_include;
    /* compile from memory: n_sources files by name (the main file first);
     * imports resolve among them and nothing is read from disk (a
     * checkpoint's sources) */
    int n_sources;
    const char *const *source_names;
    const char *const *source_texts;
    const size_t *source_lens;
    int check_all;               /* 1: check every definition first (--check) */
    int no_lower;                /* 1: stop after checking the task          */
    /* the run's configuration, when it has moved on from the task as
     * written (the REPL's set): the task's configuration becomes this one,
     * and its loss terms are the ones compiled (a term of the user's own
     * keeps its written value; a new term must be a built-in kind) */
    const mnet_task_config *run;
} mnet_compile_options;

/* Runs the pipeline; diagnostics printed to `diag` when not NULL.  Never
 * returns NULL except when out of memory; check ctx->n_errors and ->eff. */
mnet_compilation *mnet_compile_opts(const mnet_compile_options *o, FILE *diag);

/* Shorthands: a file (effector NULL: the task's), the same with a
 * directory searched first, text in memory (name used in diagnostics). */
mnet_compilation *mnet_compile(const char *path, const char *effector, FILE *diag);
mnet_compilation *mnet_compile_ex(const char *path, const char *effector, FILE *diag, const char *extra_dir);
mnet_compilation *mnet_compile_text(const char *name, const char *text, const char *effector, FILE *diag);
void mnet_compilation_free(mnet_compilation *c);

/* The pipeline's last stages on a collected program: picks the task as
 * above, checks it into *used (may be NULL) and lowers the effector.
 * NULL on errors (reported to ctx).  For drivers that run the earlier
 * stages themselves (the fuzz target). */
mnet_effector *lower_main_effector(mnet_ctx *ctx, const mnet_program *prog, const char *effector,
                                   task_spec *used);

/* The parameter table of c's effector at its defaults: (n_params) values,
 * malloc'd (NULL: none or out of memory). */
double *mnet_compilation_param_defaults(const mnet_compilation *c);

/* Writes the effector's C to `path` atomically (temporary file + rename),
 * with `run_text` (NULL: none) embedded as the task of a standalone
 * trainer. */
int mnet_write_c(const mnet_compilation *c, const char *path, const char *source, int single_precision);
int mnet_write_c_run(const mnet_compilation *c, const char *path, const char *source, int single_precision,
                     const char *run_text);

/* What to write (mnetc -o): the C (with the run a standalone trainer
 * reads, and optionally NaN checks) or the functions as LLVM IR. */
typedef struct {
    int single_precision;
    int check_finite;           /* the step records its first non-finite row */
    int llvm_ir;                /* LLVM IR instead of C                       */
    const char *run_text;       /* embedded in the C (NULL: none)             */
} mnet_output_options;
/* Writes the output to path atomically.  0, or -1 with errno's reason. */
int mnet_write_output(const mnet_compilation *c, const char *path, const char *source,
                      const mnet_output_options *o);

/* The run text of c's task with its effector's parameter values (what a
 * standalone trainer reads, mnet_settings.h), malloc'd. */
char *mnet_compilation_run_text(const mnet_compilation *c);

/* --dump-model and --stats of c's effector. */
void mnet_compilation_dump(const mnet_compilation *c, FILE *out);
void mnet_compilation_stats(const mnet_compilation *c, FILE *out);

/* Parameter i of c's effector at value v: within the range the compiler
 * gave it (effector_param_check)?  0, or -1 with the message. */
int mnet_compilation_param_check(const mnet_compilation *c, int i, double v, char *err, size_t n);

/* The documented dimension (unit_dim) of parameter i of c's effector, for
 * task_eval_number; -1 when unknown. */
int mnet_compilation_param_dim(const mnet_compilation *c, int i);

/* Whether a loss term of this name and derivative weight is compiled into
 * the model (lower_loss.h: a term of the user's own, or a per-step
 * built-in kind without a derivative weight). */
int mnet_loss_term_compiles(const char *name, double derivative_weight, int has_value);

/* The LLVM JIT backend: c's effector as a loaded model table. */
typedef struct mnet_jit_model mnet_jit_model;
mnet_jit_model *mnet_compilation_jit(const mnet_compilation *c, int single_precision, char *err, size_t n);
const mnet_model *mnet_jit_model_table(const mnet_jit_model *jm);
void mnet_jit_model_release(mnet_jit_model *jm);

#endif
