/* jit_model.c - a compiled effector as an mnet_model table through the JIT. */
#include "jit_model.h"

#include <stdlib.h>
#include <string.h>

#include "emit_model.h"
#include "ir_llvm.h"

struct mnet_jit_model {
    mnet_jit *jit;
    mnet_model table;
    char *name, *hash;
    char **param_names, **muscle_names, **row_names, **state_names, **loss_names, **point_names;
    double *param_defaults, *pos_lower, *pos_upper;
    int *muscle_max_force;
    int n_params, n_muscles, n_rows, n_state, n_loss, n_points;
};

static char **copy_names(int n, char *const *src)
{
    char **out = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; out && i < n; i++)
        out[i] = strdup(src[i]);
    return out;
}

static void free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

void jit_model_free(mnet_jit_model *jm)
{
    if (!jm)
        return;
    mnet_jit_free(jm->jit);
    free(jm->name);
    free(jm->hash);
    free_names(jm->param_names, jm->n_params);
    free_names(jm->muscle_names, jm->n_muscles);
    free_names(jm->row_names, jm->n_rows);
    free_names(jm->state_names, jm->n_state);
    free_names(jm->loss_names, jm->n_loss);
    free_names(jm->point_names, jm->n_points);
    free(jm->param_defaults);
    free(jm->muscle_max_force);
    free(jm->pos_lower);
    free(jm->pos_upper);
    free(jm);
}

const mnet_model *jit_model_get(const mnet_jit_model *jm)
{
    return &jm->table;
}

mnet_jit_model *jit_model_build(const mnet_effector *e, const char *source_hash, int single, char *err, size_t n)
{
    mnet_jit_model *jm = calloc(1, sizeof *jm);
    if (!jm) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    jm->jit = mnet_jit_new(err, n);
    if (!jm->jit) {
        jit_model_free(jm);
        return NULL;
    }
    enum { N_FNS = EFFECTOR_N_FUNCTIONS };
    const ir_function *fp[N_FNS];
    effector_functions(e, fp);
    /* All nine at O0 (fast instruction selection, no IR passes): the
     * emitter already shares every value and vectorises the batch loop
     * itself (ir_emit_llvm.c), so O1 gains little on the functions that run
     * every step (per batch of 64: RigidTendonArm26's step, VJP and loss
     * 3.1 -> 1.9 Mcycles of a 65 ms batch, CompliantTendonArm26 31 -> 23)
     * for three to six times the compile time.  The step-rate functions
     * (step, its VJP, the loss and its VJP) and the once-per-episode ones
     * are separate units, so a level can be set for each; MNET_JIT_OPT=0..3
     * sets the level of all nine. */
    const char *opt = getenv("MNET_JIT_OPT");
    int forced = opt && opt[0] >= '0' && opt[0] <= '3' && !opt[1] ? opt[0] - '0' : -1;
    int hot_level = forced >= 0 ? forced : 0;
    ir_function hot[N_FNS], cold[N_FNS];
    int is_hot[N_FNS], n_hot = 0, n_cold = 0;
    for (int i = 0; i < N_FNS; i++) {
        is_hot[i] = fp[i] == &e->fn_step || fp[i] == &e->fn_step_vjp || fp[i] == &e->fn_loss ||
                    fp[i] == &e->fn_loss_vjp;
        if (is_hot[i])
            hot[n_hot++] = *fp[i];
        else
            cold[n_cold++] = *fp[i];
    }
    int unit_hot = mnet_jit_add(jm->jit, e->g, n_hot, hot, single, hot_level, err, n);
    int unit_cold =
        unit_hot < 0 ? -1 : mnet_jit_add(jm->jit, e->g, n_cold, cold, single, forced >= 0 ? forced : 0, err, n);
    if (unit_hot < 0 || unit_cold < 0) {
        jit_model_free(jm);
        return NULL;
    }
    mnet_fn f[N_FNS];
    for (int i = 0; i < N_FNS; i++) {
        void *p = mnet_jit_lookup_unit(jm->jit, is_hot[i] ? unit_hot : unit_cold, fp[i]->name);
        if (!p) {
            snprintf(err, n, "the JIT lost function '%s'", fp[i]->name);
            jit_model_free(jm);
            return NULL;
        }
        memcpy(&f[i], &p, sizeof f[i]);
    }
    jm->n_params = e->n_params;
    jm->n_muscles = e->n_muscles;
    jm->n_rows = e->model.n_rows;
    jm->n_state = e->n_state;
    jm->name = strdup(e->name);
    jm->hash = strdup(source_hash ? source_hash : "");
    jm->param_names = calloc((size_t)e->n_params + 1, sizeof(char *));
    jm->param_defaults = calloc((size_t)e->n_params + 1, sizeof(double));
    for (int i = 0; jm->param_names && jm->param_defaults && i < e->n_params; i++) {
        jm->param_names[i] = strdup(e->params[i].name);
        jm->param_defaults[i] = e->params[i].value;
    }
    jm->muscle_names = calloc((size_t)e->n_muscles + 1, sizeof(char *));
    jm->muscle_max_force = calloc((size_t)e->n_muscles + 1, sizeof(int));
    for (int m = 0; jm->muscle_names && jm->muscle_max_force && m < e->n_muscles; m++) {
        jm->muscle_names[m] = strdup(e->muscles[m].name);
        jm->muscle_max_force[m] = effector_muscle_max_force(e, m);
    }
    jm->row_names = copy_names(e->model.n_rows, (char *const *)e->model.row_names);
    jm->state_names = effector_state_names(e);
    jm->n_loss = e->n_loss;
    jm->loss_names = copy_names(e->n_loss, e->loss_names);
    jm->n_points = e->n_points;
    jm->point_names = copy_names(e->n_points, e->point_names);
    jm->pos_lower = malloc((size_t)e->n_dof * sizeof(double));
    jm->pos_upper = malloc((size_t)e->n_dof * sizeof(double));
    if (!jm->name || !jm->hash || !jm->param_names || !jm->param_defaults || !jm->muscle_names ||
        !jm->muscle_max_force || !jm->row_names || !jm->state_names || !jm->loss_names || !jm->point_names || !jm->pos_lower ||
        !jm->pos_upper) {
        snprintf(err, n, "out of memory");
        jit_model_free(jm);
        return NULL;
    }
    memcpy(jm->pos_lower, e->pos_lo, (size_t)e->n_dof * sizeof(double));
    memcpy(jm->pos_upper, e->pos_hi, (size_t)e->n_dof * sizeof(double));
    mnet_model *t = &jm->table;
    t->abi = MNET_MODEL_ABI;
    t->real_size = single ? (int)sizeof(float) : (int)sizeof(double);
    t->name = jm->name;
    t->source_hash = jm->hash;
    t->n_dof = e->n_dof;
    t->space_dim = e->space_dim;
    t->n_muscles = e->n_muscles;
    t->n_muscle_rows = e->model.n_rows;
    t->n_state = e->n_state;
    t->joint_offset = e->joint_off;
    t->cartesian_offset = e->cart_off;
    t->muscle_offset = e->muscle_off;
    t->geometry_offset = e->geom_off;
    t->n_load = e->n_load;
    t->n_sense = e->n_sense;
    t->step_size = e->step;
    t->n_ministeps = e->n_ministeps;
    t->n_params = e->n_params;
    t->param_names = (const char *const *)jm->param_names;
    t->param_defaults = jm->param_defaults;
    t->muscle_names = (const char *const *)jm->muscle_names;
    t->muscle_max_force = jm->muscle_max_force;
    t->muscle_row_names = (const char *const *)jm->row_names;
    t->pos_lower = jm->pos_lower;
    t->pos_upper = jm->pos_upper;
    t->init = f[0];
    t->init_vjp = f[1];
    t->step = f[2];
    t->step_vjp = f[3];
    t->sense = f[4];
    t->sense_vjp = f[5];
    t->state_names = (const char *const *)jm->state_names;
    t->first_nonfinite = NULL;
    t->n_loss = e->n_loss;
    t->loss_names = (const char *const *)jm->loss_names;
    t->n_points = e->n_points;
    t->point_names = (const char *const *)jm->point_names;
    t->points = f[6];
    t->loss = f[7];
    t->loss_vjp = f[8];
    return jm;
}
