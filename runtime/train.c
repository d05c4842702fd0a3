/* train.c - the run's data object: the episode arena, the forward rollout,
 * backpropagation through time and one optimisation step.  The step order
 * and the layout are described in mnet_train.h. */
#include "mnet_train.h"

#include "mnet_checkpoint.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_log.h"
#include "mnet_rng.h"
#include "mnet_settings.h"
#include "mnet_threads.h"

/* this runtime's library: one per size of mnet_real (runtime/CMakeLists.txt) */
#ifdef MNET_REAL_FLOAT
#define RUNTIME_LIB "libmnetrt_f"
#else
#define RUNTIME_LIB "libmnetrt"
#endif

static void msg(char *err, size_t n, const char *fmt, ...)
{
    if (!err || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

/* ---- checks and setup ------------------------------------------------------ */

static int check_model(const mnet_model *m, char *err, size_t n)
{
    const char *name = m && m->name ? m->name : "?";
    if (!m) {
        msg(err, n, "train: no model");
        return -1;
    }
    if (m->abi != MNET_MODEL_ABI) {
        msg(err, n, "train: model '%s' has ABI %d, this runtime expects %d (recompile it)", name,
            m->abi, MNET_MODEL_ABI);
        return -1;
    }
    if (m->real_size != (int)sizeof(mnet_real)) {
        /* the runtime built for the model's reals (runtime/CMakeLists.txt) */
        const char *lib = m->real_size == (int)sizeof(double)  ? "libmnetrt (-lmnetrt)"
                          : m->real_size == (int)sizeof(float) ? "libmnetrt_f (-lmnetrt_f)"
                                                               : NULL;
        if (lib)
            msg(err, n,
                "train: model '%s' was built for %d-byte reals, this runtime (%s) uses %d-byte "
                "reals: link %s",
                name, m->real_size, RUNTIME_LIB, (int)sizeof(mnet_real), lib);
        else
            msg(err, n,
                "train: model '%s' was built for %d-byte reals, no runtime has those (libmnetrt: "
                "8, libmnetrt_f: 4)",
                name, m->real_size);
        return -1;
    }
    if (!m->init || !m->step || !m->step_vjp || !m->sense || !m->sense_vjp) {
        msg(err, n, "train: model '%s' lacks init, step, step_vjp, sense or sense_vjp", name);
        return -1;
    }
    const int P = m->space_dim, M = m->n_muscles, D = m->n_dof;
    if (M < 1 || m->n_muscle_rows < 1 || m->n_sense != P + 2 * M || m->n_load != P + D ||
        m->cartesian_offset < 0 || m->cartesian_offset + 2 * P > m->n_state ||
        m->muscle_offset < 0 || m->muscle_offset + m->n_muscle_rows * M > m->n_state ||
        m->joint_offset < 0 || m->joint_offset + 2 * D > m->n_state) {
        msg(err, n,
            "train: model '%s' has inconsistent sizes (state %d, sense %d, load %d, "
            "space_dim %d, dof %d, %d muscles x %d rows)",
            name, m->n_state, m->n_sense, m->n_load, P, D, M, m->n_muscle_rows);
        return -1;
    }
    if (!m->pos_lower || !m->pos_upper) {
        msg(err, n, "train: model '%s' has no joint range", name);
        return -1;
    }
    for (int k = 0; m->muscle_max_force && k < M; k++)
        if (m->muscle_max_force[k] < -1 || m->muscle_max_force[k] >= m->n_params) {
            msg(err, n, "train: model '%s': muscle '%s' has max_force index %d, outside its %d parameters",
                name, m->muscle_names ? m->muscle_names[k] : "?", m->muscle_max_force[k], m->n_params);
            return -1;
        }
    return 0;
}

static int has_loss(const mnet_task_config *cfg, mnet_loss_kind k)
{
    for (int i = 0; i < cfg->n_losses; i++)
        if (cfg->loss[i].kind == k && (cfg->loss[i].weight != 0 || cfg->loss[i].deriv_weight != 0))
            return 1;
    return 0;
}

/* activation_l2 weighs each muscle's activation by F_max / mean(F_max),
 * F_max read at every use from the model parameter muscle_max_force points
 * at (loss.c): every muscle needs one, and the values must have a positive
 * sum now. */
static int check_fmax(const mnet_train *tr, char *err, size_t n)
{
    const mnet_model *m = tr->model;
    double sum = 0;
    for (int k = 0; k < tr->M; k++) {
        const int i = m->muscle_max_force ? m->muscle_max_force[k] : -1;
        if (i < 0) {
            msg(err, n,
                "train: activation_l2 weighs activations by F_max, but muscle '%s' of model '%s' "
                "has no max_force parameter (%s)",
                m->muscle_names ? m->muscle_names[k] : "?", m->name ? m->name : "?",
                m->muscle_max_force ? "its muscle model declares none"
                                    : "the model table has no muscle_max_force: recompile it");
            return -1;
        }
        sum += (double)tr->model_params[i];
    }
    if (!(sum > 0) || !isfinite(sum)) {
        msg(err, n, "train: activation_l2: the muscles' max_force values sum to %g (need a positive finite sum)",
            sum);
        return -1;
    }
    return 0;
}

/* Carves the arena: with base NULL only counts.  Returns the reals used. */
static size_t carve(mnet_train *tr, mnet_real *base)
{
    const size_t T = (size_t)tr->T, B = (size_t)tr->B, S = (size_t)tr->S, M = (size_t)tr->M;
    const size_t NS = (size_t)tr->NS, NL = (size_t)tr->NL, I = (size_t)tr->I,
                 LH = (size_t)tr->LH;
    size_t off = 0;
    /* every array starts on its own 64-byte line (relative to the base):
     * the threads' slices write neighbouring columns of the same rows, and
     * an array's end sharing a line with the next one's start made them
     * bounce it between cores (measured: pm at 2 threads 1.38-1.44x
     * instead of 1.20-1.29x; the numbers are unchanged) */
    const size_t line = 64 / sizeof(mnet_real);
#define TAKE(ptr, count)                                                                   \
    do {                                                                                   \
        off = (off + line - 1) / line * line;                                              \
        if (base)                                                                          \
            (ptr) = base + off;                                                            \
        off += (count);                                                                    \
    } while (0)
    TAKE(tr->own_params, (size_t)(tr->model->n_params > 0 ? tr->model->n_params : 1));
    TAKE(tr->params, tr->n_params);
    TAKE(tr->grad, tr->n_params);
    TAKE(tr->adam_m, tr->n_params);
    TAKE(tr->adam_v, tr->n_params);
    TAKE(tr->backup, 3 * tr->n_params);
    TAKE(tr->state, (T + 1) * S * B);
    TAKE(tr->action, T * M * B);
    TAKE(tr->load, T * NL * B);
    TAKE(tr->hist, (T + 2) * NS * B);
    TAKE(tr->nn_arena, T * mnet_nn_act_size(&tr->nn, tr->B));
    TAKE(tr->obs_buf, I * B);
    TAKE(tr->y, M * B);
    TAKE(tr->sensed, NS * B);
    TAKE(tr->g_state_loss, (T + 1) * S * B);
    TAKE(tr->g_hidden, T * LH * B);
    TAKE(tr->g_action, T * M * B);
    TAKE(tr->g_hist, (T + 2) * NS * B);
    TAKE(tr->g_s, S * B);
    TAKE(tr->g_s_next, S * B);
    TAKE(tr->g_tmp, S * B);
    TAKE(tr->g_act_tmp, M * B);
    TAKE(tr->g_load, NL * B);
    TAKE(tr->dobs, I * B);
    TAKE(tr->dh, LH * B);
    TAKE(tr->loss_scratch, mnet_loss_scratch_size(tr->model, tr->LH, tr->B));
    TAKE(tr->slice_grad, tr->n_slices_max > 1 ? (size_t)tr->n_slices_max * tr->n_params : 0);
    TAKE(tr->mask, tr->cfg.modular.n_modules > 0 ? tr->n_params : 0);
    TAKE(tr->sign, tr->cfg.modular.n_modules > 0 ? tr->n_params : 0);
#undef TAKE
    return off;
}

/* Does the model's step_vjp write d/d load into out[2]?  One column from
 * the middle of the joint range, zero seeds: out[2] must come back 0. */
static int probe_load_vjp(mnet_train *tr)
{
    const mnet_model *m = tr->model;
    const int B = tr->B, D = tr->D;
    for (int j = 0; j < D; j++) {
        tr->ep.joint0[j * B] = (mnet_real)((m->pos_lower[j] + m->pos_upper[j]) / 2);
        tr->ep.joint0[(D + j) * B] = 0;
    }
    const mnet_real *in0[1] = {tr->ep.joint0};
    mnet_real *const out0[1] = {tr->state};
    m->init(1, B, in0, out0, tr->model_params);
    for (int r = 0; r < tr->M; r++)
        tr->action[r * B] = 0;
    for (int r = 0; r < tr->NL; r++) {
        tr->load[r * B] = 0;
        tr->g_load[r * B] = (mnet_real)NAN;
    }
    for (int r = 0; r < tr->S; r++)
        tr->g_s_next[r * B] = 0;
    const mnet_real *in[4] = {tr->state, tr->action, tr->load, tr->g_s_next};
    mnet_real *const out[3] = {tr->g_s, tr->g_act_tmp, tr->g_load};
    m->step_vjp(1, B, in, out, tr->model_params);
    for (int r = 0; r < tr->NL; r++)
        if (!isfinite((double)tr->g_load[r * B]))
            return -1;
    return 0;
}

int mnet_train_network(const mnet_task_config *cfg, const mnet_model *m, int n_input, mnet_nn *nn,
                       mnet_nn_modular *md, char *err, size_t n)
{
    mnet_nn_config nc = {cfg->cell,         n_input,        cfg->n_hidden, cfg->n_layers,
                         m->n_muscles,      cfg->ortho,     cfg->readout_bias, cfg->readout,
                         cfg->candidate,    cfg->learn_h0};
    if (mnet_nn_setup(nn, &nc, err, n) != 0)
        return -1;
    mnet_nn_modular d = cfg->modular;
    for (int b = 0; b < d.n_modules && b < MNET_NN_MAX_MODULES; b++)
        for (int a = 0; a < d.n_modules && a < MNET_NN_MAX_MODULES; a++) {
            const double s = mnet_modular_delay_steps(&cfg->modular, b, a, m->step_size);
            if (s < 0) {
                msg(err, n, "train: connection '%.*s' -> '%.*s': a delay of %g s is negative or too long",
                    MNET_NN_NAME - 1, d.name[a], MNET_NN_NAME - 1, d.name[b], d.delay_time[b][a]);
                return -1;
            }
            d.delay_steps[b][a] = (int)s;
            d.delay_time[b][a] = 0;
        }
    char why[400];
    if (d.n_modules > 0 && mnet_nn_set_delays(nn, &d, mnet_task_steps(cfg, m), why, sizeof why) != 0) {
        msg(err, n, "train: %s", why);
        return -1;
    }
    if (md)
        *md = d;
    return 0;
}

/* tr->modular (the description with its delays in steps, tr->nn's): each
 * source's input columns, checked against the network.  0, or -1 with a
 * message. */
static int resolve_modular(mnet_train *tr, char *err, size_t n)
{
    mnet_nn_modular *md = &tr->modular;
    for (int s = 0; s < md->n_sources; s++) {
        int part;
        if (mnet_name_lookup(mnet_obs_part_names, md->source_name[s], &part) != 0 ||
            mnet_obs_part_columns(&tr->obs, (mnet_obs_part)part, &md->source_first[s], &md->source_count[s]) != 0) {
            msg(err, n, "train: modular network: the observation has no input '%.*s'", MNET_NN_NAME - 1,
                md->source_name[s]);
            return -1;
        }
    }
    char why[400];
    if (mnet_nn_modular_check(&tr->nn, md, why, sizeof why) != 0) {
        msg(err, n, "train: %s", why);
        return -1;
    }
    return 0;
}

mnet_train *mnet_train_new(const mnet_model *m, const mnet_real *params,
                           const mnet_task_config *cfg, char *err, size_t n)
{
    if (check_model(m, err, n) != 0 || mnet_task_check(cfg, m, err, n) != 0)
        return NULL;
    mnet_train *tr = calloc(1, sizeof *tr);
    if (!tr) {
        msg(err, n, "train: out of memory");
        return NULL;
    }
    tr->model = m;
    tr->cfg = *cfg;
    /* each term by name: the model's compiled row of that name, else the
     * runtime's library kind (mnet_task.h) */
    for (int k = 0; k < tr->cfg.n_losses; k++)
        if (mnet_task_resolve_loss(&tr->cfg.loss[k], m, err, n) != 0)
            goto fail;
    tr->T = mnet_task_steps(cfg, m);
    tr->B = cfg->batch_size;
    tr->S = m->n_state;
    tr->M = m->n_muscles;
    tr->P = m->space_dim;
    tr->D = m->n_dof;
    tr->NS = m->n_sense;
    tr->NL = m->n_load;
    tr->dynamic_load = mnet_task_load_is_dynamic(cfg);
    if ((double)tr->T * (double)tr->B >= 2147483647.0) {
        msg(err, n, "train: %d steps x %d columns is too large (T*B must fit an int)", tr->T,
            tr->B);
        goto fail;
    }
    if (mnet_obs_setup(&tr->obs, cfg, tr->P, tr->M, m->step_size, err, n) != 0)
        goto fail;
    tr->I = tr->obs.n_obs;
    if (mnet_train_network(cfg, m, tr->I, &tr->nn, &tr->modular, err, n) != 0)
        goto fail;
    if (cfg->modular.n_modules > 0 && resolve_modular(tr, err, n) != 0)
        goto fail;
    tr->LH = cfg->n_layers * cfg->n_hidden;
    tr->n_params = tr->nn.n_params;
    mnet_train_plan(cfg, -1, &tr->slice);
    tr->n_slices_max = (tr->B + tr->slice - 1) / tr->slice;

    /* one allocation for all the reals */
    size_t nreal = carve(tr, NULL);
    size_t bytes = nreal * sizeof(mnet_real);
    tr->mem = calloc(1, bytes);
    if (!tr->mem) {
        msg(err, n, "train: out of memory (%zu bytes for the arena)", bytes);
        goto fail;
    }
    carve(tr, (mnet_real *)tr->mem);
    if (tr->n_slices_max == 1)
        tr->slice_grad = NULL;
    if (cfg->modular.n_modules == 0)
        tr->mask = tr->sign = NULL;
    tr->slice_acts = calloc((size_t)tr->n_slices_max, sizeof *tr->slice_acts);
    tr->slice_loss = calloc((size_t)tr->n_slices_max * (1 + MNET_TASK_MAX_LOSSES), sizeof *tr->slice_loss);
    tr->slice_ms = calloc((size_t)tr->n_slices_max, sizeof *tr->slice_ms);
    if (!tr->slice_acts || !tr->slice_loss || !tr->slice_ms) {
        msg(err, n, "train: out of memory");
        goto fail;
    }
    mnet_blas_single_thread();
    if (mnet_train_set_threads(tr, cfg->threads) != 0) {
        msg(err, n, "%s", tr->err);
        goto fail;
    }
    /* the caller's table is read as it is (its owner may change a value
     * between batches); without one, a copy of the defaults */
    for (int i = 0; !params && i < m->n_params; i++)
        tr->own_params[i] = (mnet_real)m->param_defaults[i];
    tr->model_params = params ? (mnet_real *)params : tr->own_params;
    tr->backup_batch = -1;
    if (has_loss(cfg, MNET_LOSS_ACTIVATION_L2) && check_fmax(tr, err, n) != 0)
        goto fail;


    mnet_nn_bind_params(&tr->nn, tr->params, &tr->p);
    mnet_nn_bind_params(&tr->nn, tr->grad, &tr->g);
    if (mnet_nn_init_params(&tr->nn, tr->params, cfg->seed) != 0) {
        msg(err, n, "train: network initialisation failed (out of memory)");
        goto fail;
    }
    if (tr->mask) {
        if (mnet_nn_modular_masks(&tr->nn, &tr->modular, cfg->seed, tr->mask, tr->sign) != 0) {
            msg(err, n, "train: the modular network's masks could not be drawn (out of memory)");
            goto fail;
        }
        mnet_nn_constrain_init(tr->params, tr->mask, tr->sign, tr->n_params);
    }
    /* after the masks and Dale's signs: a positive factor keeps both */
    if (cfg->spectral_radius > 0 &&
        mnet_nn_scale_spectral_radius(&tr->nn, tr->params, cfg->spectral_radius) != 0) {
        msg(err, n, "train: spectral-radius scaling failed (out of memory, or LAPACK's dgeev)");
        goto fail;
    }
    mnet_adam_config ac = mnet_adam_default_config();
    ac.lr = cfg->lr;
    ac.beta1 = cfg->beta1;
    ac.beta2 = cfg->beta2;
    ac.eps = cfg->eps;
    ac.weight_decay = cfg->weight_decay;
    ac.decoupled = cfg->decoupled_decay;
    ac.clip_norm = cfg->clip_norm;
    /* the schedule follows the run's length (mnet_task.h) */
    ac.sched = cfg->sched;
    ac.sched.t_max = cfg->n_batches;
    if (ac.sched.kind == MNET_SCHED_STEP && ac.sched.step_size <= 0)
        ac.sched.step_size = cfg->n_batches / 3 > 0 ? cfg->n_batches / 3 : 1;
    mnet_adam_init(&tr->opt, &ac);

    if (mnet_episode_alloc(&tr->ep, m, tr->B, tr->T, err, n) != 0)
        goto fail;
    if (tr->dynamic_load && probe_load_vjp(tr) != 0) {
        msg(err, n,
            "train: the curl field / force channel need d next / d load, but model '%s' "
            "step_vjp leaves out[2] unwritten (rebuild it with a compiler that emits the load "
            "gradient, or turn those loads off)",
            m->name ? m->name : "?");
        goto fail;
    }
    return tr;
fail:
    mnet_train_free(tr);
    return NULL;
}

int mnet_train_restore(mnet_train *tr, const mnet_checkpoint *ck, char *err, size_t n)
{
    const size_t np = tr->n_params;
    if (ck->n_params != np) {
        msg(err, n, "the network has %zu parameters, the stored run's network %zu", np, ck->n_params);
        return -1;
    }
    if (ck->mask && !tr->mask) {
        msg(err, n, "the stored run holds masks, but its network is not modular");
        return -1;
    }
    const mnet_real *mask = ck->mask ? ck->mask : tr->mask, *sign = ck->mask ? ck->sign : tr->sign;
    for (size_t i = 0; mask && i < np; i++)
        if ((mask[i] == 0 && ck->params[i] != 0) || sign[i] * ck->params[i] < 0) {
            msg(err, n, "the stored parameter %zu (%g) breaks its %s (mask %g, sign %g): the file is corrupt", i,
                (double)ck->params[i], mask[i] == 0 ? "mask" : "sign", (double)mask[i], (double)sign[i]);
            return -1;
        }
    memcpy(tr->params, ck->params, np * sizeof *tr->params);
    memcpy(tr->adam_m, ck->adam_m, np * sizeof *tr->adam_m);
    memcpy(tr->adam_v, ck->adam_v, np * sizeof *tr->adam_v);
    tr->opt.t = ck->adam_t;
    if (ck->mask) {
        memcpy(tr->mask, ck->mask, np * sizeof *tr->mask);
        memcpy(tr->sign, ck->sign, np * sizeof *tr->sign);
    }
    return 0;
}

void mnet_train_free(mnet_train *tr)
{
    if (!tr)
        return;
    mnet_pool_free(tr->pool); /* joins the workers */
    mnet_episode_free(&tr->ep);
    free(tr->slice_acts);
    free(tr->slice_loss);
    free(tr->slice_ms);
    free(tr->mem);
    free(tr);
}

int mnet_train_slice_auto(int B)
{
    if (B <= 16)
        return B < 1 ? 1 : B;
    if (B <= 64)
        return (B + 1) / 2;
    return 32;
}

int mnet_train_plan(const mnet_task_config *cfg, int n, int *slice)
{
    const int B = cfg->batch_size > 0 ? cfg->batch_size : 1;
    const int sl = cfg->batch_slice > 0 && cfg->batch_slice < B ? cfg->batch_slice : mnet_train_slice_auto(B);
    const int n_slices = (B + sl - 1) / sl;
    if (slice)
        *slice = sl;
    if (n < 0)
        n = cfg->threads;
    if (n <= 0)
        n = mnet_cpu_count();
    return n < n_slices ? n : n_slices; /* a thread without a slice would only wait */
}

int mnet_train_set_threads(mnet_train *tr, int n)
{
    const int automatic = (n < 0 ? tr->cfg.threads : n) <= 0;
    n = mnet_train_plan(&tr->cfg, n, NULL);
    /* the count left to mnet: measured against one thread as the run goes */
    mnet_tune_init(&tr->tune, automatic ? n : 1);
    if (tr->pool)
        mnet_pool_set_active(tr->pool, n);
    if (tr->pool && mnet_pool_threads(tr->pool) == n)
        return 0;
    char err[200] = "";
    mnet_pool *p = mnet_pool_new(n, err, sizeof err);
    if (!p) {
        msg(tr->err, sizeof tr->err, "train: %s", err);
        return -1;
    }
    mnet_pool_free(tr->pool);
    tr->pool = p;
    return 0;
}

int mnet_train_threads(const mnet_train *tr) { return mnet_pool_threads(tr->pool); }

int mnet_train_threads_auto(const mnet_train *tr) { return tr->tune.n_max > 1; }

mnet_real *mnet_train_params(mnet_train *tr, size_t *n)
{
    if (n)
        *n = tr->n_params;
    return tr->params;
}

const char *mnet_train_error(const mnet_train *tr) { return tr->err; }

/* ---- forward --------------------------------------------------------------- */

/* Slice k of the last forward: its first column and its columns. */
static int slice_cols(const mnet_train *tr, int k, int *c0)
{
    *c0 = k * tr->slice;
    return tr->n_cols - *c0 < tr->slice ? tr->n_cols - *c0 : tr->slice;
}

/* The loss context of slice k: its columns (ld B), its activations, its
 * share of the batch's means (n_mean = the batch's columns). */
static mnet_loss_ctx loss_ctx(mnet_train *tr, int k)
{
    int c0, ns = slice_cols(tr, k, &c0);
    mnet_loss_ctx c;
    c.m = tr->model;
    c.T = tr->T;
    c.n = ns;
    c.ld = tr->B;
    c.step = tr->model->step_size;
    c.state = tr->state + c0;
    c.target = tr->ep.target + c0;
    c.nn = &tr->nn;
    c.acts = &tr->slice_acts[k];
    c.act_scale = NULL; /* loss.c reads F_max from params at every call */
    c.scratch = tr->loss_scratch + c0;
    c.params = tr->model_params;
    c.n_mean = tr->n_cols;
    return c;
}

/* The episode's columns c0 .. as an episode of their own (ld B). */
static mnet_episode episode_view(const mnet_episode *ep, int c0)
{
    mnet_episode v = *ep;
#define SHIFT(f) v.f = ep->f ? ep->f + c0 : NULL
    SHIFT(joint0);
    SHIFT(goal_joint);
    SHIFT(start);
    SHIFT(goal);
    SHIFT(goal_obs);
    SHIFT(target);
    SHIFT(go_obs);
    SHIFT(go_step);
    SHIFT(go_time);
    SHIFT(catch_trial);
    SHIFT(scratch);
#undef SHIFT
    return v;
}

/* sensed (NS x B) columns c0 .. c0+ns-1 = sense(state) */
static void sense(mnet_train *tr, const mnet_real *state, int c0, int ns)
{
    const mnet_real *in[1] = {state + c0};
    mnet_real *const out[1] = {tr->sensed + c0};
    tr->model->sense(ns, tr->B, in, out, tr->model_params);
}

/* The rollout of slice k: every step of its columns, then its loss. */
static void forward_slice(void *ctx, int k, int thread)
{
    (void)thread;
    mnet_train *tr = ctx;
    k += tr->k0; /* this process's slices (mnet_train_set_exchange) */
    const mnet_model *m = tr->model;
    const int T = tr->T, B = tr->B, S = tr->S, M = tr->M, P = tr->P, NL = tr->NL;
    int c0, ns = slice_cols(tr, k, &c0);
    mnet_noise_key nz = tr->noise;
    nz.element0 += (uint32_t)c0; /* column b is episode element0 + c0 + b */
    mnet_nn_acts *acts = &tr->slice_acts[k];
    mnet_nn_bind_acts(&tr->nn, tr->nn_arena + (size_t)T * mnet_nn_act_size(&tr->nn, c0), T, ns, acts);
    const mnet_episode ep = episode_view(&tr->ep, c0);
    const mnet_real *mp = tr->model_params;
    double net_ms = 0;

    /* s_0 = init(joint0); its sensed values fill the buffers */
    {
        const mnet_real *in[1] = {ep.joint0};
        mnet_real *const out[1] = {tr->state + c0};
        m->init(ns, B, in, out, mp);
    }
    sense(tr, tr->state, c0, ns);
    mnet_obs_record(&tr->obs, tr->hist + c0, 0, tr->sensed + c0, ns, B, &nz);

    for (int t = 0; t < T; t++) {
        mnet_real *s = tr->state + (size_t)t * S * B + c0;      /* (S x B)  */
        mnet_real *s1 = s + (size_t)S * B;                       /* (S x B)  */
        mnet_real *a = tr->action + (size_t)t * M * B + c0;      /* (M x B)  */
        mnet_real *lt = tr->load + (size_t)t * NL * B + c0;      /* (NL x B) */

        mnet_obs_build(&tr->obs, t, ep.goal_obs + (size_t)t * P * B, ep.go_obs + (size_t)t * B,
                       tr->hist + c0, tr->action + c0, tr->obs_buf + c0, ns, B, &nz);
        mnet_nn_noise hn = {tr->cfg.hidden_noise, nz.seed, MNET_STREAM_NOISE_HIDDEN, nz.element0,
                            (uint32_t)t};
        double t0 = 1e3 * mnet_progress_now();
        mnet_nn_forward(&tr->nn, &tr->p, acts, t, tr->obs_buf + c0, NULL, a, B, nz.on ? &hn : NULL);
        net_ms += 1e3 * mnet_progress_now() - t0;
        if (nz.on && tr->cfg.action_noise != 0)
            mnet_rng_add_normal(a, M, ns, B, tr->cfg.action_noise, nz.seed, MNET_STREAM_NOISE_ACTION,
                                nz.element0, (uint32_t)t);
        mnet_task_load(&tr->cfg, m, &ep, s, lt, ns, B);
        const mnet_real *in[3] = {s, a, lt};
        mnet_real *const out[1] = {s1};
        m->step(ns, B, in, out, mp);
        sense(tr, s1 - c0, c0, ns);
        mnet_obs_record(&tr->obs, tr->hist + c0, t + 1, tr->sensed + c0, ns, B, &nz);
    }

    mnet_loss_ctx c = loss_ctx(tr, k);
    double *out = tr->slice_loss + (size_t)k * (1 + MNET_TASK_MAX_LOSSES);
    out[0] = mnet_loss(&c, tr->cfg.loss, tr->cfg.n_losses, out + 1, NULL, NULL);
    tr->slice_ms[k] = net_ms;
}

/* The batch's columns and slices, before a forward. */
static void plan_forward(mnet_train *tr, int n, const mnet_noise_key *nz, int split)
{
    const mnet_noise_key off = {0, 0, 0};
    if (!nz)
        nz = &off;
    tr->n_cols = n;
    tr->n_slices = n > 0 ? (n + tr->slice - 1) / tr->slice : 0;
    tr->noise = *nz;
    tr->k0 = 0;
    tr->k1 = tr->n_slices;
    if (split && tr->xchg)
        tr->xchg->slices(tr->xchg->ctx, tr->n_slices, &tr->k0, &tr->k1);
}

static double sum_forward(mnet_train *tr);

/* The forward of every slice, or with split (a training batch under an
 * exchange) of this process's slices, the others' losses exchanged.
 * NaN with a message in tr->err when the exchange failed. */
static double forward(mnet_train *tr, int n, const mnet_noise_key *nz, int split)
{
    plan_forward(tr, n, nz, split);
    mnet_pool_run(tr->pool, tr->k1 - tr->k0, forward_slice, tr);
    return sum_forward(tr);
}

/* The slices' losses (exchanged, under an exchange) summed in slice
 * order: the same sums for any threads. */
static double sum_forward(mnet_train *tr)
{
    if ((tr->k0 > 0 || tr->k1 < tr->n_slices) &&
        tr->xchg->losses(tr->xchg->ctx, tr->slice_loss, tr->n_slices, 1 + MNET_TASK_MAX_LOSSES, tr->err,
                         sizeof tr->err) != 0) {
        tr->loss = NAN;
        return NAN;
    }
    /* the slices' shares in slice order: the same sums for any threads */
    const int L = tr->cfg.n_losses < MNET_TASK_MAX_LOSSES ? tr->cfg.n_losses : MNET_TASK_MAX_LOSSES;
    tr->net_ms = 0; /* the backward after this forward adds its share */
    for (int j = 0; j < L; j++)
        tr->loss_terms[j] = 0;
    for (int k = 0; k < tr->n_slices; k++) {
        const double *v = tr->slice_loss + (size_t)k * (1 + MNET_TASK_MAX_LOSSES);
        for (int j = 0; j < L; j++)
            tr->loss_terms[j] += v[1 + j];
        if (k >= tr->k0 && k < tr->k1) /* this process's time */
            tr->net_ms += tr->slice_ms[k];
    }
    tr->loss = 0;
    for (int j = 0; j < L; j++)
        tr->loss += tr->loss_terms[j];
    tr->acts = tr->slice_acts[0];
    return tr->loss;
}

double mnet_train_forward(mnet_train *tr, int n, const mnet_noise_key *nz)
{
    return forward(tr, n, nz, 0);
}

void mnet_train_set_exchange(mnet_train *tr, const mnet_train_exchange *x)
{
    tr->xchg = x;
}

/* ---- backward ------------------------------------------------------------- */

static void add_cols(mnet_real *dst, const mnet_real *src, int rows, int n, int ld)
{
    for (int i = 0; i < rows; i++) {
        mnet_real *d = dst + (size_t)i * ld;
        const mnet_real *s = src + (size_t)i * ld;
        for (int b = 0; b < n; b++)
            d[b] += s[b];
    }
}

/* dst (rows x ld): columns 0 .. n-1 = 0 */
static void zero_cols(mnet_real *dst, size_t rows, int n, int ld)
{
    for (size_t i = 0; i < rows; i++)
        memset(dst + i * (size_t)ld, 0, (size_t)n * sizeof *dst);
}

/* The gradient buffer of slice k. */
static mnet_real *slice_grad(mnet_train *tr, int k)
{
    return tr->slice_grad ? tr->slice_grad + (size_t)k * tr->n_params : tr->grad;
}

/* BPTT of slice k: its columns back through every step, then its weight
 * gradients into its own buffer. */
static void backward_slice(void *ctx, int k, int thread)
{
    (void)thread;
    mnet_train *tr = ctx;
    k += tr->k0; /* this process's slices (mnet_train_set_exchange) */
    const mnet_model *m = tr->model;
    const int T = tr->T, B = tr->B, S = tr->S, M = tr->M, NS = tr->NS, NL = tr->NL, LH = tr->LH;
    int c0, ns = slice_cols(tr, k, &c0);
    const mnet_real *mp = tr->model_params;
    const mnet_nn_acts *acts = &tr->slice_acts[k];
    const mnet_episode ep = episode_view(&tr->ep, c0);
    mnet_real *gbuf = slice_grad(tr, k);
    mnet_nn_params g;
    mnet_nn_bind_params(&tr->nn, gbuf, &g);
    double net_ms = 0;

    memset(gbuf, 0, tr->n_params * sizeof *gbuf);
    zero_cols(tr->g_state_loss + c0, (size_t)(T + 1) * S, ns, B);
    /* d loss / d h' directly: only a hidden-activity term writes it */
    const int hidden_loss = has_loss(&tr->cfg, MNET_LOSS_HIDDEN_L2);
    if (hidden_loss)
        zero_cols(tr->g_hidden + c0, (size_t)T * LH, ns, B);
    zero_cols(tr->g_action + c0, (size_t)T * M, ns, B);
    zero_cols(tr->g_hist + c0, (size_t)(T + 2) * NS, ns, B);
    zero_cols(tr->dh + c0, (size_t)LH, ns, B);

    /* direct gradients of the loss: d/d s_t (T+1 x S x B), d/d h'_t */
    mnet_loss_ctx c = loss_ctx(tr, k);
    mnet_loss(&c, tr->cfg.loss, tr->cfg.n_losses, NULL, tr->g_state_loss + c0, tr->g_hidden + c0);

    /* the slice's columns of the (S x B) buffers; swapped every step */
    mnet_real *g_s = tr->g_s + c0, *g_s_next = tr->g_s_next + c0;
    /* d loss / d s_T: the loss only (obs_T is never read) */
    zero_cols(g_s_next, (size_t)S, ns, B);
    add_cols(g_s_next, tr->g_state_loss + (size_t)T * S * B + c0, S, ns, B);

    for (int t = T - 1; t >= 0; t--) {
        const mnet_real *s = tr->state + (size_t)t * S * B + c0;
        const mnet_real *a = tr->action + (size_t)t * M * B + c0;
        const mnet_real *lt = tr->load + (size_t)t * NL * B + c0;
        mnet_real *ga = tr->g_action + (size_t)t * M * B + c0; /* (M x B) d loss / d a_t */

        /* s_{t+1} = step(s_t, a_t, load_t): g_s, g_a, g_load */
        {
            const mnet_real *in[4] = {s, a, lt, g_s_next};
            mnet_real *const out[3] = {g_s, tr->g_act_tmp + c0, tr->g_load + c0};
            m->step_vjp(ns, B, in, out, mp);
        }
        add_cols(ga, tr->g_act_tmp + c0, M, ns, B);

        /* a_t = net(obs_t) + noise: complete now (later observations read
         * a_t through the action frames, and they are done) */
        double t0 = 1e3 * mnet_progress_now();
        mnet_nn_backward(&tr->nn, &tr->p, &g, acts, t, ga,
                         hidden_loss ? tr->g_hidden + (size_t)t * LH * B + c0 : NULL, tr->dh + c0,
                         tr->dobs + c0, B, 1);
        net_ms += 1e3 * mnet_progress_now() - t0;
        mnet_obs_backward(&tr->obs, t, tr->dobs + c0, tr->g_hist + c0, tr->g_action + c0, ns, B);

        if (t == 0)
            break; /* s_0 is data */
        /* the rest of d loss / d s_t: the loss, the load, the sensors (slot
         * t+1 is complete: only observations at steps >= t read it) */
        add_cols(g_s, tr->g_state_loss + (size_t)t * S * B + c0, S, ns, B);
        if (tr->dynamic_load)
            mnet_task_load_vjp(&tr->cfg, m, &ep, tr->g_load + c0, g_s, ns, B);
        {
            const mnet_real *in[2] = {s, tr->g_hist + (size_t)(t + 1) * NS * B + c0};
            mnet_real *const out[1] = {tr->g_tmp + c0};
            m->sense_vjp(ns, B, in, out, mp);
        }
        add_cols(g_s, tr->g_tmp + c0, S, ns, B);
        mnet_real *sw = g_s;
        g_s = g_s_next;
        g_s_next = sw;
    }
    double t0 = 1e3 * mnet_progress_now();
    mnet_nn_backward_weights(&tr->nn, &g, acts, 0, T);
    tr->slice_ms[k] = net_ms + 1e3 * mnet_progress_now() - t0;
}

/* Pieces of the gradient's sum over slices: each element is summed in
 * slice order whichever thread takes its piece. */
enum { REDUCE_PIECES = 16 };
#define REDUCE_SERIAL_BELOW 1e6 /* parameters x slices */

static void reduce_piece(void *ctx, int piece, int thread)
{
    (void)thread;
    mnet_train *tr = ctx;
    const size_t np = tr->n_params, per = (np + REDUCE_PIECES - 1) / REDUCE_PIECES;
    const size_t i0 = (size_t)piece * per, i1 = i0 + per < np ? i0 + per : np;
    mnet_real *restrict g = tr->grad;
    for (size_t i = i0; i < i1; i++)
        g[i] = tr->slice_grad[i];
    for (int k = 1; k < tr->n_slices; k++) {
        const mnet_real *restrict gk = tr->slice_grad + (size_t)k * np;
        for (size_t i = i0; i < i1; i++)
            g[i] += gk[i];
    }
}

/* The slices' gradients, once every slice's backward is done: their sum
 * (under an exchange, the exchange's).  0, or -1 (message in tr->err). */
static int backward_sum(mnet_train *tr)
{
    if (tr->k0 > 0 || tr->k1 < tr->n_slices) {
        if (tr->xchg->grads(tr->xchg->ctx, tr->grad, slice_grad(tr, tr->k0), tr->n_params, tr->n_slices, tr->k0,
                            tr->k1, tr->err, sizeof tr->err) != 0)
            return -1;
    } else if (tr->slice_grad && tr->n_slices > 0) {
        /* a sum too small to be worth a phase of the pool (waking the
         * workers costs tens of microseconds) runs here; the same order
         * per element either way */
        if ((double)tr->n_params * tr->n_slices < REDUCE_SERIAL_BELOW)
            for (int k = 0; k < REDUCE_PIECES; k++)
                reduce_piece(tr, k, 0);
        else
            mnet_pool_run(tr->pool, REDUCE_PIECES, reduce_piece, tr);
    } else if (tr->n_slices == 0) {
        memset(tr->grad, 0, tr->n_params * sizeof *tr->grad);
    }
    /* the sum's absent weights: exactly 0, before clipping and Adam (an
     * element-wise product: the same for every thread and rank count) */
    if (tr->mask)
        mnet_nn_mask_grad(tr->grad, tr->mask, tr->n_params);
    return 0;
}

/* The slices of the last forward (this process's), then their sum. */
static int backward(mnet_train *tr)
{
    mnet_pool_run(tr->pool, tr->k1 - tr->k0, backward_slice, tr);
    for (int k = tr->k0; k < tr->k1; k++)
        tr->net_ms += tr->slice_ms[k];
    return backward_sum(tr);
}

void mnet_train_backward(mnet_train *tr)
{
    backward(tr);
}

/* A slice's forward and then its backward, one task: a batch without an
 * exchange needs no barrier between the two (a slice's backward reads its
 * own forward only), so the pool meets once per batch instead of twice. */
static void forward_backward_slice(void *ctx, int k, int thread)
{
    mnet_train *tr = ctx;
    forward_slice(ctx, k, thread);
    const double ms = tr->slice_ms[k + tr->k0];
    backward_slice(ctx, k, thread);
    tr->slice_ms[k + tr->k0] += ms;
}

/* ---- one batch --------------------------------------------------------------- */

static uint32_t element0_of(const mnet_train *tr, long batch_index)
{
    return (uint32_t)((uint64_t)batch_index * (uint64_t)tr->B);
}

/* Appends to tr->err where the rollout first went non-finite: the first
 * step whose state has a non-finite row, the row's name and the episode
 * (among this process's slices: the only columns it rolled out). */
static void name_nonfinite_state(mnet_train *tr)
{
    const int S = tr->S, B = tr->B, b0 = tr->k0 * tr->slice;
    const int n = tr->k1 * tr->slice < tr->n_cols ? tr->k1 * tr->slice : tr->n_cols;
    for (int t = 0; t <= tr->T; t++)
        for (int r = 0; r < S; r++)
            for (int b = b0; b < n; b++)
                if (!isfinite((double)tr->state[((size_t)t * S + r) * B + b])) {
                    size_t len = strlen(tr->err);
                    const char *name = tr->model->state_names ? tr->model->state_names[r] : NULL;
                    snprintf(tr->err + len, sizeof tr->err - len,
                             " (the state went non-finite first at step %d: row %d%s%s%s, episode %d)", t, r,
                             name ? " '" : "", name ? name : "", name ? "'" : "", b);
                    return;
                }
}

static int prepare(mnet_train *tr, long batch_index)
{
    tr->err[0] = '\0';
    return mnet_task_generate(&tr->cfg, tr->model, tr->model_params, 0, tr->cfg.seed,
                              element0_of(tr, batch_index), tr->B, &tr->ep, tr->err,
                              sizeof tr->err);
}

/* The batch's loss l, reported: 0, or -1 when it is not finite (the
 * message names where the rollout went non-finite). */
static int check_loss(mnet_train *tr, long batch_index, double l, double *loss)
{
    if (loss)
        *loss = l;
    if (!isfinite(l) && tr->err[0]) /* the exchange failed */
        return -1;
    if (!isfinite(l)) {
        msg(tr->err, sizeof tr->err, "batch %ld: the loss is %g", batch_index, l);
        name_nonfinite_state(tr);
        return -1;
    }
    return 0;
}

/* Training batch batch_index's episodes drawn and its slices planned
 * (noise on): 0, or -1 (message in tr->err). */
static int plan_batch(mnet_train *tr, long batch_index)
{
    if (prepare(tr, batch_index) != 0)
        return -1;
    mnet_noise_key nz = {tr->cfg.seed, element0_of(tr, batch_index), 1};
    plan_forward(tr, tr->B, &nz, 1);
    return 0;
}

int mnet_train_loss(mnet_train *tr, long batch_index, double *loss)
{
    if (plan_batch(tr, batch_index) != 0)
        return -1;
    mnet_pool_run(tr->pool, tr->k1 - tr->k0, forward_slice, tr);
    return check_loss(tr, batch_index, sum_forward(tr), loss);
}

int mnet_train_loss_grad(mnet_train *tr, long batch_index, double *loss)
{
    if (tr->xchg) { /* the losses are exchanged between forward and backward */
        if (mnet_train_loss(tr, batch_index, loss) != 0 || backward(tr) != 0)
            return -1;
    } else {
        if (plan_batch(tr, batch_index) != 0)
            return -1;
        mnet_pool_run(tr->pool, tr->k1 - tr->k0, forward_backward_slice, tr);
        /* net_ms: each slice's forward and backward */
        if (check_loss(tr, batch_index, sum_forward(tr), loss) != 0 || backward_sum(tr) != 0)
            return -1;
    }
    double ss = 0;
    for (size_t i = 0; i < tr->n_params; i++)
        ss += (double)tr->grad[i] * (double)tr->grad[i];
    tr->grad_norm = sqrt(ss);
    if (!isfinite(tr->grad_norm)) {
        msg(tr->err, sizeof tr->err, "batch %ld: non-finite gradient (norm %g)", batch_index,
            tr->grad_norm);
        return -1;
    }
    return 0;
}

/* Puts back the parameters, moments and optimiser state saved before the
 * last update. */
static void restore_backup(mnet_train *tr)
{
    const size_t np = tr->n_params;
    memcpy(tr->params, tr->backup, np * sizeof *tr->backup);
    memcpy(tr->adam_m, tr->backup + np, np * sizeof *tr->backup);
    memcpy(tr->adam_v, tr->backup + 2 * np, np * sizeof *tr->backup);
    tr->opt = tr->backup_opt;
    tr->backup_batch = -1;
}

int mnet_train_step(mnet_train *tr, long batch_index, double *loss)
{
    tr->undone = 0;
    /* a count left to mnet: this batch's, as the tuner says; a count
     * given stays as it is */
    const int automatic = mnet_train_threads_auto(tr);
    if (automatic)
        mnet_pool_set_active(tr->pool, mnet_tune_pick(&tr->tune));
    const double t0 = mnet_progress_now();
    const int rc = mnet_train_loss_grad(tr, batch_index, loss);
    if (automatic)
        mnet_tune_record(&tr->tune, mnet_progress_now() - t0);
    if (rc != 0) {
        tr->n_skipped++;
        size_t len = strlen(tr->err);
        /* the state this batch started from has no finite loss: the last
         * state that had one is the one before the previous update, when
         * that update was the previous batch's */
        if (tr->backup_batch >= 0 && tr->backup_batch == batch_index - 1) {
            restore_backup(tr);
            tr->undone = 1;
            if (len + 1 < sizeof tr->err)
                snprintf(tr->err + len, sizeof tr->err - len,
                         "; the update of batch %ld, which led here, is undone: the parameters are those before "
                         "it, the last whose loss and gradient were finite",
                         batch_index - 1);
        } else if (len + 1 < sizeof tr->err) {
            snprintf(tr->err + len, sizeof tr->err - len, "; parameters unchanged");
        }
        return -1;
    }
    /* the update itself must leave every number finite (a huge learning
     * rate can overflow): otherwise it is undone */
    const size_t np = tr->n_params;
    memcpy(tr->backup, tr->params, np * sizeof *tr->backup);
    memcpy(tr->backup + np, tr->adam_m, np * sizeof *tr->backup);
    memcpy(tr->backup + 2 * np, tr->adam_v, np * sizeof *tr->backup);
    tr->backup_opt = tr->opt;
    tr->backup_batch = batch_index;
    mnet_adam_step(&tr->opt, tr->params, tr->grad, tr->adam_m, tr->adam_v, np);
    if (tr->mask) /* absent weights 0, Dale's signs kept */
        mnet_nn_constrain(tr->params, tr->mask, tr->sign, np);
    int finite = 1;
    for (size_t i = 0; i < np; i++)
        finite &= isfinite((double)tr->params[i]) && isfinite((double)tr->adam_v[i]);
    if (!finite) {
        restore_backup(tr);
        tr->n_skipped++;
        msg(tr->err, sizeof tr->err,
            "batch %ld: the update made the parameters non-finite (learning rate %g too large?); parameters "
            "unchanged",
            batch_index, tr->opt.last_lr);
        return -1;
    }
    return 0;
}

double mnet_train_batch(mnet_train *tr, long batch_index)
{
    double loss = NAN;
    if (mnet_train_step(tr, batch_index, &loss) != 0)
        return NAN;
    return loss;
}

/* ---- evaluation ------------------------------------------------------------- */

/* dst (rows x ldd) columns c0 .. c0+n-1 = src (rows x lds) columns 0 .. n-1 */
static void put_cols(mnet_real *dst, int ldd, int c0, const mnet_real *src, long lds, int rows,
                     int n)
{
    for (int i = 0; i < rows; i++)
        memcpy(dst + (size_t)i * ldd + c0, src + (size_t)i * lds, (size_t)n * sizeof *dst);
}

int mnet_train_eval(mnet_train *tr, const mnet_episode *ep, const mnet_noise_key *nz,
                    mnet_rollout *out, double *loss)
{
    return mnet_train_eval_more(tr, ep, nz, out, NULL, loss);
}

int mnet_train_eval_more(mnet_train *tr, const mnet_episode *ep, const mnet_noise_key *nz,
                         mnet_rollout *out, const mnet_rollout_more *more, double *loss)
{
    mnet_rollout none = {NULL, NULL, NULL, NULL};
    const mnet_rollout_more no_more = {NULL, NULL, NULL};
    if (!out && more)
        out = &none;
    if (!more)
        more = &no_more;
    const int T = tr->T, B = tr->B, S = tr->S, M = tr->M, I = tr->I, H = tr->cfg.n_hidden;
    const int NL = tr->NL;
    tr->err[0] = '\0';
    if (ep->T != T || ep->space_dim != tr->P || ep->n_dof != tr->D) {
        msg(tr->err, sizeof tr->err,
            "eval: the episodes have %d steps (space_dim %d, dof %d), the run %d (%d, %d)",
            ep->T, ep->space_dim, ep->n_dof, T, tr->P, tr->D);
        return -1;
    }
    const int N = ep->n_cols;
    double total = 0;
    for (int c0 = 0; c0 < N; c0 += B) {
        int n = N - c0 < B ? N - c0 : B;
        mnet_episode_copy_cols(&tr->ep, ep, c0, n);
        mnet_noise_key key = {0, 0, 0};
        if (nz && nz->on)
            key = (mnet_noise_key){nz->seed, nz->element0 + (uint32_t)c0, 1};
        total += mnet_train_forward(tr, n, &key) * n;
        if (!out)
            continue;
        for (int k = 0; more->loss_step && k < tr->n_slices; k++) {
            int s0, ns = slice_cols(tr, k, &s0);
            mnet_loss_ctx c = loss_ctx(tr, k);
            (void)ns;
            mnet_loss_steps(&c, tr->cfg.loss, tr->cfg.n_losses, more->loss_step + c0 + s0, N);
        }
        for (int t = 0; t <= T; t++) {
            if (out->state)
                put_cols(out->state + (size_t)t * S * N, N, c0,
                         tr->state + (size_t)t * S * B, B, S, n);
            if (t == T)
                break;
            if (out->action)
                put_cols(out->action + (size_t)t * M * N, N, c0,
                         tr->action + (size_t)t * M * B, B, M, n);
            if (more->load)
                put_cols(more->load + (size_t)t * NL * N, N, c0, tr->load + (size_t)t * NL * B,
                         B, NL, n);
            /* the network's arrays: each slice's own (T x its columns) */
            for (int k = 0; k < tr->n_slices; k++) {
                int s0, ns = slice_cols(tr, k, &s0);
                const mnet_nn_acts *a = &tr->slice_acts[k];
                if (out->obs)
                    put_cols(out->obs + (size_t)t * I * N, N, c0 + s0, a->x + (size_t)t * ns, a->ld, I, ns);
                if (more->output) /* the read-out before action noise */
                    put_cols(more->output + (size_t)t * M * N, N, c0 + s0, a->y + (size_t)t * ns, a->ld, M,
                             ns);
                if (out->hidden)
                    for (int l = 0; l < tr->cfg.n_layers; l++)
                        put_cols(out->hidden + ((size_t)t * tr->LH + (size_t)l * H) * N, N, c0 + s0,
                                 mnet_nn_state(&tr->nn, a, t, l), a->ld, H, ns);
            }
        }
    }
    if (loss)
        *loss = N > 0 ? total / N : 0;
    if (N > 0 && !isfinite(total)) {
        msg(tr->err, sizeof tr->err, "eval: the loss is %g", total / N);
        return -1;
    }
    return 0;
}
