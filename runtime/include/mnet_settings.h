/* mnet_settings.h - the run's settings by name: one name table per
 * enumeration, one table of every setting, and the run text.
 *
 * A run is a task configuration (mnet_task_config) plus the model's
 * parameter values.  Every setting of the configuration has one entry in
 * the settings table (settings.c): its name as a .mnet task writes it
 * ("delay.vision", "train.lr", "policy.hidden"), the field it fills, its
 * type, its SI unit and its range.  The compiler's task checker, the REPL's
 * `set`, `show` and completion, the run text (checkpoints, mnetc's embedded
 * task) all go through this table, so a setting means the same everywhere
 * and adding one is one line here.
 *
 * The run text is the whole run, one "name=values" line each, every value
 * exact (%.17g), names of enumerations by name:
 *
 *   kind=centre_out_reach
 *   duration=1
 *   delay.vision=0.05
 *   ...
 *   loss.position_l1=1 0               (weight, derivative weight; in order)
 *   param.biceps.max_force=414         (model parameters, when given)
 *
 * A modular network (mnet_task_config.modular) adds, after the settings:
 *
 *   policy.modules=pmd m1              (the modules, in unit order)
 *   policy.module.pmd=64 0.8 0         (units, excitatory proportion or -1
 *                                       for no Dale's law, drives the
 *                                       read-out 0 / 1)
 *   policy.input.vision=0.5 0          (a source's reach probability per
 *                                       module, in module order)
 *   policy.connect.pmd.m1=0.5 0.3      (from pmd to m1: projecting
 *                                       fraction, connection probability;
 *                                       every pair)
 *
 * These are not settings of the table: `set` cannot change them, and a
 * `set` that would break them (policy.hidden, policy, policy.layers, kind,
 * action_frames) fails mnet_run_check.
 *
 * Reading it back starts from the defaults, so a text holds what it holds
 * and nothing else changes; it round-trips exactly.
 */
#ifndef MNET_SETTINGS_H
#define MNET_SETTINGS_H

#include <stddef.h>

#include "mnet_model.h"
#include "mnet_task.h"

/* ---- name tables: one per enumeration, NULL-name terminated ---------- */

typedef struct mnet_name {
    const char *name;   /* as the .mnet file writes it */
    int value;          /* the enumerator              */
} mnet_name;

extern const mnet_name mnet_task_kind_names[];   /* mnet_task_kind          */
extern const mnet_name mnet_cell_names[];        /* mnet_nn_cell            */
extern const mnet_name mnet_readout_names[];     /* mnet_nn_readout         */
extern const mnet_name mnet_candidate_names[];   /* mnet_nn_candidate       */
extern const mnet_name mnet_initial_state_names[]; /* learn_h0: zero 0, learned 1 */
extern const mnet_name mnet_ortho_names[];       /* mnet_nn_ortho           */
extern const mnet_name mnet_sched_names[];       /* mnet_sched_kind         */
extern const mnet_name mnet_loss_kind_names[];   /* built-in mnet_loss_kind */
extern const mnet_name mnet_obs_part_names[];    /* mnet_obs_part: a modular
                                                    network's input sources */

/* 0 and *value, or -1 when name is not in the table. */
int mnet_name_lookup(const mnet_name *table, const char *name, int *value);
/* The name of value, or NULL. */
const char *mnet_name_of(const mnet_name *table, int value);
/* "a, b, c" (cut to n). */
void mnet_name_list(const mnet_name *table, char *buf, size_t n);

/* ---- the settings table ------------------------------------------------ */

typedef enum mnet_setting_type {
    MNET_SETTING_REAL,      /* double                                    */
    MNET_SETTING_INT,       /* int (whole numbers)                       */
    MNET_SETTING_LONG,      /* long (whole numbers)                      */
    MNET_SETTING_SEED,      /* uint64_t (whole numbers below 2^53)       */
    MNET_SETTING_NAME,      /* int, an enumerator of `names`             */
    MNET_SETTING_VECTOR,    /* double[max_count], count at count_offset  */
    MNET_SETTING_RANGE      /* double[2]: [lo, hi] with lo <= hi         */
} mnet_setting_type;

enum {
    MNET_SETTING_LO_OPEN = 1,   /* value > lo (else >= lo)               */
    MNET_SETTING_HI_OPEN = 2,   /* value < hi (else <= hi)               */
    MNET_SETTING_RESHAPES = 4,  /* changes the network's shape            */
    MNET_SETTING_HIDDEN = 8,    /* not written in a .mnet file (reserved) */
    MNET_SETTING_NOT_RUN = 16   /* how a run is computed, not what it is
                                   (train.threads): left out of the run
                                   text, so never a difference between
                                   runs; a checkpoint does not hold it    */
};

typedef struct mnet_setting {
    const char *name;           /* "delay.vision"                          */
    mnet_setting_type type;
    size_t offset;              /* of the field in mnet_task_config        */
    int max_count;              /* VECTOR: at most this many values        */
    size_t count_offset;        /* VECTOR: int field holding the count
                                   (0: none, the rest are zeroed)          */
    const mnet_name *names;     /* NAME                                    */
    double lo, hi;              /* range of every value                    */
    unsigned flags;
    const char *unit;           /* SI unit of the value ("" none): the
                                   compiler checks a written unit's
                                   dimension against it                    */
    const char *doc;            /* one line                                */
} mnet_setting;

int mnet_setting_count(void);
const mnet_setting *mnet_setting_at(int i);

/* The setting called `name`: its full name, or (for the REPL) a last
 * component that only one setting has ("lr" -> train.lr).  NULL with a
 * message in err (unknown, or ambiguous naming the candidates). */
const mnet_setting *mnet_setting_find(const char *name, char *err, size_t err_size);

/* Sets s in cfg to the n values v (SI units; a NAME setting takes `name`
 * instead), checking count, whole numbers and range.  Nothing changes on
 * failure: -1 with a message naming the setting and the value. */
int mnet_setting_set(mnet_task_config *cfg, const mnet_setting *s, const double *v, int n,
                     const char *name, char *err, size_t err_size);

/* Writes the value of s in cfg ("0.05", "1 0.5", "gru").  As snprintf. */
int mnet_setting_format(const mnet_task_config *cfg, const mnet_setting *s, char *buf, size_t n);

/* Loss terms by name: sets (adding it when absent) term `name`'s weight
 * (field "weight") or derivative weight ("derivative").  A term not yet in
 * cfg must be a built-in kind (a term of your own needs its value written
 * in the .mnet file).  0, or -1 with a message. */
int mnet_setting_set_loss(mnet_task_config *cfg, const char *name, const char *field, double v,
                          char *err, size_t err_size);

/* The index of loss term `name` in cfg, or -1. */
int mnet_setting_loss_index(const mnet_task_config *cfg, const char *name);

/* Checks between settings that no single range says: delays and go cue
 * within the episode, and every value against its range again (for a
 * configuration filled by hand).  0, or -1 with a message. */
int mnet_run_check(const mnet_task_config *cfg, char *err, size_t err_size);

/* Checks cfg's modular network (cfg->modular, when n_modules > 0) against
 * the rest of the run: a one-layer gru or rnn; names given, unique and
 * terminated; module sizes >= 1 adding up to policy.hidden; proportions
 * and probabilities in [0, 1] (an excitatory proportion < 0: no Dale's
 * law); a module that drives the read-out; sources named by
 * mnet_obs_part_names, once each, in its order, and present in the
 * observation (go: delayed reach; actions: action_frames > 0).  Called by
 * mnet_run_check.  0, or -1 with a message naming the module or source. */
int mnet_modular_check(const mnet_task_config *cfg, char *err, size_t err_size);

/* The delay of module pair [to][from] of md in steps of `step` seconds:
 * delay_steps plus round(delay_time / step); -1 when that is negative or
 * absurd (1e8 steps or more).  The one rule the compiler's check and the
 * trainer's network both use. */
double mnet_modular_delay_steps(const mnet_nn_modular *md, int to, int from, double step);

/* Checks the policy's options against its cell: spectral radius and a
 * learned initial state need a recurrent cell (not the mlp), the
 * rectified-tanh candidate is not the lstm's.  Called by mnet_run_check.
 * 0, or -1 with a message. */
int mnet_policy_check(const mnet_task_config *cfg, char *err, size_t err_size);

/* ---- the run text ------------------------------------------------------ */

/* Writes cfg and (when m and params are not NULL) the values of m's
 * parameters (as written: doubles, whatever the runtime's precision).  Returns the length it needs (as snprintf), -1 on error. */
long mnet_run_text_format(const mnet_task_config *cfg, const mnet_model *m, const double *params,
                          char *buf, size_t n);
/* The same into a malloc'd string (NULL when out of memory). */
char *mnet_run_text_alloc(const mnet_task_config *cfg, const mnet_model *m, const double *params);

/* Reads a run text: *cfg starts from the defaults; param lines need m and
 * params (which start from whatever the caller put there).  An unknown
 * name, a bad value or a failed check is an error: -1 with a message
 * naming the line; *cfg and params are then unchanged. */
int mnet_run_text_parse(const char *text, mnet_task_config *cfg, const mnet_model *m,
                        double *params, char *err, size_t err_size);

/* Lists, one "name: A -> B" per line into buf, the settings and parameters
 * on which two runs differ (for refusals: "the checkpoint's run differs").
 * Returns the number of differences. */
int mnet_run_diff(const mnet_task_config *a, const mnet_task_config *b, const mnet_model *m,
                  const double *pa, const double *pb, char *buf, size_t n);

#endif
