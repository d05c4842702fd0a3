/* api_env.c - the public layer's environment: a task over an effector,
 * stepped by the caller (mnet.h).  The step is mnet_train_forward's, split
 * where the network sits, with the same runtime functions in the same
 * order (obs.c, task.c, rng.c, loss.c), so a rollout through here equals
 * the trainer's and `mnet eval`'s bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "mnet_rng.h"

struct mn_env {
    mn_effector *e;
    const mnet_model *m;        /* e's float table                          */
    mnet_task_config cfg;
    double *values;             /* (n_params) parameter values              */
    mnet_real *params;          /* (n_params) the same in float             */
    char *run_text;
    mnet_obs obs;
    int n, T, S, M, P, NS, NL, I, L;
    mnet_episode ep;            /* n columns of T steps                     */
    mnet_noise_key nz;          /* the episodes' noise                      */
    int t;                      /* the current step; -1 before a reset     */
    /* the episode so far, ld = n */
    mnet_real *state;           /* (T+1 x S x n)                            */
    mnet_real *action;          /* (T x M x n)   noisy actions              */
    mnet_real *load;            /* (T x NL x n)                             */
    mnet_real *hist;            /* (T+2 x NS x n) sense history (obs.c)     */
    mnet_real *sensed;          /* (NS x n)                                 */
    mnet_real *loss_scratch;
    double *loss_steps;         /* (3 x L x n) a window of mnet_loss_steps  */
    void *mem;
};

/* Each term by name, as the trainer does (mnet_train_new): the model's
 * compiled row of that name, else the runtime's library kind. */
void mn__resolve_losses(mnet_task_config *cfg, const mnet_model *m, int fresh)
{
    (void)fresh;
    for (int k = 0; k < cfg->n_losses; k++) {
        mnet_loss_term l = cfg->loss[k];
        if (mnet_task_resolve_loss(&l, m, NULL, 0) == 0)
            cfg->loss[k] = l;
    }
}

int mn__run_parse(mn_effector *e, const char *text, int fresh, mnet_task_config *cfg, double *values, char *err,
                  size_t errlen)
{
    const mnet_model *m = mn__float_model(e, err, errlen);
    if (!m)
        return MN_ECOMPILE;
    if (!text)
        text = mn_effector_run_text(e);
    if (!text)
        return mn__fail(err, errlen, MN_ENOMEM, "out of memory");
    memcpy(values, e->values, (size_t)m->n_params * sizeof *values);
    char msg[1024];
    if (mnet_run_text_parse(text, cfg, m, values, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EINVAL, "%s", msg);
    for (int i = 0; i < m->n_params; i++)
        if (mnet_compilation_param_check(e->comp, i, values[i], msg, sizeof msg) != 0)
            return mn__fail(err, errlen, MN_EINVAL, "run text: %s = %g: %s", m->param_names[i], values[i], msg);
    if (mnet_task_check(cfg, m, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EINVAL, "%s", msg);
    mn__resolve_losses(cfg, m, fresh);
    return MN_OK;
}

void mn_env_free(mn_env *env)
{
    if (!env)
        return;
    mnet_episode_free(&env->ep);
    free(env->mem);
    free(env->values);
    free(env->params);
    free(env->run_text);
    free(env);
}

mn_env *mn_env_new(mn_effector *e, const char *run_text, int n, char *err, size_t errlen)
{
    if (!e) {
        mn__fail(err, errlen, MN_EINVAL, "mn_env_new: the effector is NULL");
        return NULL;
    }
    if (n < 1) {
        mn__fail(err, errlen, MN_EINVAL, "mn_env_new: n = %d episodes (need at least 1)", n);
        return NULL;
    }
    mn_env *env = calloc(1, sizeof *env);
    if (!env || !(env->values = malloc(((size_t)e->md->n_params + 1) * sizeof *env->values))) {
        free(env);
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        return NULL;
    }
    env->e = e;
    env->t = -1;
    if (mn__run_parse(e, run_text, 0, &env->cfg, env->values, err, errlen) != MN_OK)
        goto fail;
    const mnet_model *m = env->m = e->mf;
    env->params = mn__params_real(env->values, m->n_params);
    env->run_text = mnet_run_text_alloc(&env->cfg, m, env->values);
    if (!env->params || !env->run_text) {
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        goto fail;
    }
    env->n = n;
    env->T = mnet_task_steps(&env->cfg, m);
    env->S = m->n_state, env->M = m->n_muscles, env->P = m->space_dim;
    env->NS = m->n_sense, env->NL = m->n_load, env->L = env->cfg.n_losses;
    if (mnet_obs_setup(&env->obs, &env->cfg, env->P, env->M, m->step_size, err, errlen) != 0)
        goto fail;
    env->I = env->obs.n_obs;
    const size_t T = (size_t)env->T, N = (size_t)n;
    const size_t reals = (T + 1) * env->S * N + T * env->M * N + T * env->NL * N + (T + 2) * env->NS * N +
                         env->NS * N + mnet_loss_scratch_size(m, 0, n);
    const size_t doubles = 3 * (size_t)(env->L > 0 ? env->L : 1) * N;
    if ((double)T * (double)N * (env->S + env->NS + env->M + env->NL) > 1e10) {
        mn__fail(err, errlen, MN_EINVAL, "mn_env_new: %d episodes of %d steps are too many for memory", n, env->T);
        goto fail;
    }
    env->mem = calloc(1, doubles * sizeof(double) + reals * sizeof(mnet_real));
    if (!env->mem) {
        mn__fail(err, errlen, MN_ENOMEM, "out of memory (%d episodes of %d steps)", n, env->T);
        goto fail;
    }
    env->loss_steps = env->mem;
    mnet_real *p = (mnet_real *)(env->loss_steps + doubles);
    env->state = p, p += (T + 1) * env->S * N;
    env->action = p, p += T * env->M * N;
    env->load = p, p += T * env->NL * N;
    env->hist = p, p += (T + 2) * env->NS * N;
    env->sensed = p, p += env->NS * N;
    env->loss_scratch = p;
    char msg[512];
    if (mnet_episode_alloc(&env->ep, m, n, env->T, msg, sizeof msg) != 0) {
        mn__fail(err, errlen, MN_ENOMEM, "%s", msg);
        goto fail;
    }
    return env;
fail:
    mn_env_free(env);
    return NULL;
}

int mn_env_size(const mn_env *env, int which)
{
    if (!env)
        return -1;
    switch (which) {
    case MN_ENV_N: return env->n;
    case MN_ENV_STEPS: return env->T;
    case MN_ENV_OBS: return env->I;
    case MN_ENV_ACTIONS: return env->M;
    case MN_ENV_STATE: return env->S;
    case MN_ENV_SPACE_DIM: return env->P;
    case MN_ENV_LOSSES: return env->L;
    case MN_ENV_T: return env->t;
    default: return -1;
    }
}

const char *mn_env_loss_name(const mn_env *env, int k)
{
    return env && k >= 0 && k < env->L ? mnet_loss_name(env->m, &env->cfg.loss[k]) : NULL;
}

double mn_env_loss_weight(const mn_env *env, int k)
{
    return env && k >= 0 && k < env->L ? env->cfg.loss[k].weight : NAN;
}

const char *mn_env_run_text(const mn_env *env) { return env ? env->run_text : NULL; }

/* sensed = sense(state) */
static void sense(mn_env *env, const mnet_real *state)
{
    const mnet_real *in[1] = {state};
    mnet_real *const out[1] = {env->sensed};
    env->m->sense(env->n, env->n, in, out, env->params);
}

int mn_env_reset(mn_env *env, uint64_t seed, int flags, float *obs, char *err, size_t errlen)
{
    if (!env || !obs)
        return mn__fail(err, errlen, MN_EINVAL, "mn_env_reset: %s is NULL", env ? "obs" : "the environment");
    if (flags & ~(MN_RESET_VALIDATION | MN_RESET_NO_NOISE))
        return mn__fail(err, errlen, MN_EINVAL, "mn_env_reset: unknown flags %#x", (unsigned)flags);
    const int n = env->n, validation = (flags & MN_RESET_VALIDATION) != 0;
    char msg[512];
    env->t = -1;
    /* as `mnet eval`: episodes 0 .. n-1 of the seed, noise keyed by the
     * same seed and episode (none for the validation set) */
    if (mnet_task_generate(&env->cfg, env->m, env->params, validation, seed, 0, n, &env->ep, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_ERUN, "%s", msg);
    env->nz = (mnet_noise_key){seed, 0, !validation && !(flags & MN_RESET_NO_NOISE)};
    /* s_0 = init(joint0); its sensed values fill the buffers */
    const mnet_real *in[1] = {env->ep.joint0};
    mnet_real *const out[1] = {env->state};
    env->m->init(n, n, in, out, env->params);
    sense(env, env->state);
    mnet_obs_record(&env->obs, env->hist, 0, env->sensed, n, n, &env->nz);
    mnet_obs_build(&env->obs, 0, env->ep.goal_obs, env->ep.go_obs, env->hist, env->action, obs, n, n, &env->nz);
    env->t = 0;
    return MN_OK;
}

int mn_env_step(mn_env *env, const float *action, float *obs, double *reward, double *terms, int *done,
                char *err, size_t errlen)
{
    if (!env || !action || !obs)
        return mn__fail(err, errlen, MN_EINVAL, "mn_env_step: %s is NULL",
                        !env ? "the environment" : !action ? "action" : "obs");
    if (env->t < 0)
        return mn__fail(err, errlen, MN_ESTATE, "mn_env_step: reset the environment first");
    if (env->t >= env->T)
        return mn__fail(err, errlen, MN_ESTATE, "mn_env_step: the episodes are done (%d steps): reset", env->T);
    const mnet_model *m = env->m;
    const int n = env->n, t = env->t, S = env->S, M = env->M, P = env->P, NL = env->NL, L = env->L;
    mnet_real *s = env->state + (size_t)t * S * n, *s1 = s + (size_t)S * n;
    mnet_real *a = env->action + (size_t)t * M * n, *lt = env->load + (size_t)t * NL * n;
    memcpy(a, action, (size_t)M * n * sizeof *a);
    if (env->nz.on && env->cfg.action_noise != 0)
        mnet_rng_add_normal(a, M, n, n, env->cfg.action_noise, env->nz.seed, MNET_STREAM_NOISE_ACTION,
                            env->nz.element0, (uint32_t)t);
    mnet_task_load(&env->cfg, m, &env->ep, s, lt, n, n);
    const mnet_real *in[3] = {s, a, lt};
    mnet_real *const out[1] = {s1};
    m->step(n, n, in, out, env->params);
    sense(env, s1);
    mnet_obs_record(&env->obs, env->hist, t + 1, env->sensed, n, n, &env->nz);
    env->t = t + 1;
    /* obs_{t+1} reads what step t+1 of the trainer reads (obs_T too: the
     * buffers hold T+1 goals and T+2 history slots) */
    mnet_obs_build(&env->obs, t + 1, env->ep.goal_obs + (size_t)(t + 1) * P * n, env->ep.go_obs + (size_t)(t + 1) * n,
                   env->hist, env->action, obs, n, n, &env->nz);
    if (reward || terms) {
        /* each term at s_{t+1}: mnet_loss_steps over the last three states
         * (the jerk's reach), its last row */
        const int k0 = t + 1 >= 2 ? t - 1 : 0;
        mnet_loss_ctx c;
        memset(&c, 0, sizeof c);
        c.m = m;
        c.T = t + 1 - k0;
        c.n = n;
        c.ld = n;
        c.step = m->step_size;
        c.state = env->state + (size_t)k0 * S * n;
        c.target = env->ep.target + (size_t)k0 * P * n;
        c.scratch = env->loss_scratch;
        c.params = env->params;
        mnet_loss_steps(&c, env->cfg.loss, L, env->loss_steps, n);
        const double *row = env->loss_steps + (size_t)c.T * L * n;
        if (terms)
            memcpy(terms, row, (size_t)L * n * sizeof *terms);
        for (int b = 0; reward && b < n; b++) {
            double r = 0;
            for (int k = 0; k < L; k++)
                if (!isnan(row[(size_t)k * n + b]))
                    r -= env->cfg.loss[k].weight * row[(size_t)k * n + b];
            reward[b] = r;
        }
    }
    if (done)
        *done = env->t == env->T;
    return MN_OK;
}

int mn_env_get(const mn_env *env, int what, float *out, char *err, size_t errlen)
{
    if (!env || !out)
        return mn__fail(err, errlen, MN_EINVAL, "mn_env_get: %s is NULL", env ? "out" : "the environment");
    if (env->t < 0)
        return mn__fail(err, errlen, MN_ESTATE, "mn_env_get: reset the environment first");
    const int n = env->n, t = env->t, P = env->P;
    const mnet_real *src;
    int rows;
    switch (what) {
    case MN_ENV_GET_STATE: src = env->state + (size_t)t * env->S * n, rows = env->S; break;
    case MN_ENV_GET_ACTION:
    case MN_ENV_GET_LOAD:
        if (t == 0)
            return mn__fail(err, errlen, MN_ESTATE, "mn_env_get: no step taken since the reset");
        rows = what == MN_ENV_GET_ACTION ? env->M : env->NL;
        src = (what == MN_ENV_GET_ACTION ? env->action : env->load) + (size_t)(t - 1) * rows * n;
        break;
    case MN_ENV_GET_TARGET: src = env->ep.target + (size_t)t * P * n, rows = P; break;
    case MN_ENV_GET_GOAL: src = env->ep.goal, rows = P; break;
    case MN_ENV_GET_START: src = env->ep.start, rows = P; break;
    default: return mn__fail(err, errlen, MN_EINVAL, "mn_env_get: unknown array %d", what);
    }
    memcpy(out, src, (size_t)rows * n * sizeof *out);
    return MN_OK;
}

/* for the policy (api_run.c) */
int mn__env_key(const mn_env *env, mnet_noise_key *nz, int *T, int *n, int *I, int *M, double *hidden_noise);
int mn__env_key(const mn_env *env, mnet_noise_key *nz, int *T, int *n, int *I, int *M, double *hidden_noise)
{
    *nz = env->nz;
    *T = env->T, *n = env->n, *I = env->I, *M = env->M;
    *hidden_noise = env->cfg.hidden_noise;
    return env->t;
}
