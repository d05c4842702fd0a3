/* api_run.c - the public layer's trained runs, policies and training
 * (mnet.h): a run directory opened from its checkpoint (the sources stored
 * in it compiled from memory, as `mnet eval` does), its network stepped one
 * observation at a time, and runs trained through the one training loop
 * (mnet_train_new + mnet_train_loop) into a directory `mnet` reads. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "mnet_checkpoint.h"
#include "mnet_safetensors.h"

int mn__env_key(const mn_env *env, mnet_noise_key *nz, int *T, int *n, int *I, int *M, double *hidden_noise);

/* ---- opening a checkpoint ------------------------------------------------------ */

int mn__open_checkpoint(const char *dir, mnet_checkpoint *ck, mn_effector **out, char *err, size_t errlen)
{
    char path[PATH_MAX], msg[1024];
    *out = NULL;
    memset(ck, 0, sizeof *ck);
    if (!dir)
        return mn__fail(err, errlen, MN_EINVAL, "no run directory (NULL)");
    if (snprintf(path, sizeof path, "%s/%s", dir, MNET_OUTDIR_CHECKPOINT) >= (int)sizeof path)
        return mn__fail(err, errlen, MN_EINVAL, "the path '%s' is too long", dir);
    if (mnet_checkpoint_load(path, ck, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EIO, "no run in %s: %s", dir, msg);
    if (ck->n_sources < 1) {
        mnet_checkpoint_free(ck);
        return mn__fail(err, errlen, MN_EIO, "%s holds no model sources", path);
    }
    /* the stored sources compiled from memory: their names are keys, never
     * paths (nothing is read from disk) */
    int n = ck->n_sources, rc = MN_OK;
    const char **names = calloc((size_t)n, sizeof *names), **texts = calloc((size_t)n, sizeof *texts);
    size_t *lens = calloc((size_t)n, sizeof *lens);
    char task[256] = "", *run_text = mnet_checkpoint_run_text(ck->meta);
    char *buf = NULL;
    size_t len = 0;
    FILE *diag = open_memstream(&buf, &len);
    mnet_compilation *c = NULL;
    if (!names || !texts || !lens || !run_text || !diag) {
        rc = mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        names[i] = ck->sources[i].name;
        texts[i] = ck->sources[i].text;
        lens[i] = ck->sources[i].len;
    }
    mnet_checkpoint_meta_get(ck->meta, "task", task, sizeof task);
    mnet_compile_options o;
    memset(&o, 0, sizeof o);
    o.task = task[0] ? task : NULL;
    o.n_sources = n;
    o.source_names = names;
    o.source_texts = texts;
    o.source_lens = lens;
    c = mnet_compile_opts(&o, diag);
    fclose(diag);
    diag = NULL;
    if (!c || c->ctx->n_errors || !c->eff) {
        rc = mn__fail(err, errlen, MN_ECOMPILE, "cannot rebuild the model stored in %s: %s", path,
                      buf && buf[0] ? buf : "out of memory");
        mnet_compilation_free(c);
        goto done;
    }
    mn_effector *e = mn__effector_from(c, buf, err, errlen);
    if (!e) {
        rc = MN_ECOMPILE;
        goto done;
    }
    /* the run as it was: the stored run text over the sources' defaults */
    if (run_text[0]) {
        mnet_task_config cfg;
        double *values = malloc(((size_t)e->md->n_params + 1) * sizeof *values);
        if (!values)
            rc = mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        else if ((rc = mn__run_parse(e, run_text, 0, &cfg, values, msg, sizeof msg)) != MN_OK)
            mn__fail(err, errlen, rc, "%s: the stored run: %s", path, msg);
        else {
            e->cfg = cfg;
            memcpy(e->values, values, (size_t)e->md->n_params * sizeof *values);
        }
        free(values);
    }
    if (rc != MN_OK)
        mn_effector_free(e);
    else
        *out = e;
done:
    if (diag)
        fclose(diag);
    free(buf);
    free(names);
    free(texts);
    free(lens);
    free(run_text);
    if (rc != MN_OK)
        mnet_checkpoint_free(ck);
    return rc;
}

/* The network of configuration cfg on model m (the observation's size from
 * the task).  A status. */
static int net_of(const mnet_task_config *cfg, const mnet_model *m, mnet_nn *nn, mnet_obs *obs, char *err,
                  size_t errlen)
{
    char msg[512];
    if (mnet_obs_setup(obs, cfg, m->space_dim, m->n_muscles, m->step_size, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EINVAL, "%s", msg);
    if (mnet_train_network(cfg, m, obs->n_obs, nn, NULL, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EINVAL, "%s", msg);
    return MN_OK;
}

/* ---- runs ------------------------------------------------------------------------------ */

struct mn_run {
    mn_effector *e;             /* the model rebuilt from the stored sources */
    char *run_text;
    mnet_nn nn;
    mnet_real *params;          /* (nn.n_params)                             */
    long batches;
};

mn_run *mn_run_open(const char *dir, char *err, size_t errlen)
{
    mnet_checkpoint ck;
    mn_effector *e;
    if (mn__open_checkpoint(dir, &ck, &e, err, errlen) != MN_OK)
        return NULL;
    mn_run *r = calloc(1, sizeof *r);
    mnet_obs obs;
    if (!r) {
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        goto fail;
    }
    r->e = e;
    if (net_of(&e->cfg, e->md, &r->nn, &obs, err, errlen) != MN_OK)
        goto fail;
    if (r->nn.n_params != ck.n_params) {
        mn__fail(err, errlen, MN_EIO, "%s: the network has %zu parameters, the stored run's network %zu", dir,
                 r->nn.n_params, ck.n_params);
        goto fail;
    }
    r->params = malloc(ck.n_params * sizeof *r->params);
    r->run_text = strdup(mn_effector_run_text(e) ? e->run_text : "");
    if (!r->params || !r->run_text) {
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(r->params, ck.params, ck.n_params * sizeof *r->params);
    r->batches = ck.n_batches;
    mnet_checkpoint_free(&ck);
    return r;
fail:
    mnet_checkpoint_free(&ck);
    if (r)
        mn_run_free(r);
    else
        mn_effector_free(e);
    return NULL;
}

void mn_run_free(mn_run *r)
{
    if (!r)
        return;
    mn_effector_free(r->e);
    free(r->params);
    free(r->run_text);
    free(r);
}

const char *mn_run_text(const mn_run *r) { return r ? r->run_text : NULL; }
mn_effector *mn_run_effector(mn_run *r) { return r ? r->e : NULL; }
long mn_run_batches(const mn_run *r) { return r ? r->batches : -1; }

long mn_run_net(const mn_run *r, int which)
{
    if (!r)
        return -1;
    switch (which) {
    case MN_NET_INPUTS: return r->nn.cfg.n_input;
    case MN_NET_HIDDEN: return r->nn.cfg.n_hidden;
    case MN_NET_LAYERS: return r->nn.cfg.n_layers;
    case MN_NET_OUTPUTS: return r->nn.cfg.n_output;
    case MN_NET_CELL: return (long)r->nn.cfg.cell;
    case MN_NET_WEIGHTS: return (long)r->nn.n_params;
    default: return -1;
    }
}

int mn_run_weights(const mn_run *r, float *out, size_t n, char *err, size_t errlen)
{
    if (!r || !out)
        return mn__fail(err, errlen, MN_EINVAL, "mn_run_weights: %s is NULL", r ? "out" : "the run");
    if (n != r->nn.n_params)
        return mn__fail(err, errlen, MN_EINVAL, "mn_run_weights: the network has %zu parameters, not %zu",
                        r->nn.n_params, n);
    for (size_t i = 0; i < n; i++)
        out[i] = (float)r->params[i];
    return MN_OK;
}

/* ---- policies ------------------------------------------------------------------------ */

struct mn_policy {
    mnet_nn nn;
    mnet_real *params;          /* (nn.n_params) a copy of the run's        */
    mnet_nn_params p;
    mnet_real *arena;           /* T * mnet_nn_act_size(nn, n)              */
    size_t n_arena;
    /* The columns in the trainer's slices (groups of the run's batch B,
     * each cut into slices of its slice size, mnet_train.h): the same
     * GEMM shapes as mnet eval's, so the same numbers bit for bit (BLAS's
     * rounding may depend on a product's column count). */
    int batch, slice;           /* the run's B and slice size               */
    int n_slices;
    int *slice_col;             /* (n_slices) first column of each          */
    mnet_nn_acts *acts;         /* (n_slices) each slice's arena            */
    int T, n, t;                /* t: the next step; -1 before a reset      */
    mnet_noise_key nz;
    double hidden_noise;
};

mn_policy *mn_policy_new(const mn_run *r, char *err, size_t errlen)
{
    if (!r) {
        mn__fail(err, errlen, MN_EINVAL, "mn_policy_new: the run is NULL");
        return NULL;
    }
    mn_policy *p = calloc(1, sizeof *p);
    if (!p || !(p->params = malloc(r->nn.n_params * sizeof *p->params))) {
        free(p);
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        return NULL;
    }
    p->nn = r->nn;
    p->batch = r->e->cfg.batch_size > 0 ? r->e->cfg.batch_size : 1;
    mnet_train_plan(&r->e->cfg, -1, &p->slice);
    if (p->slice < 1)
        p->slice = p->batch;
    memcpy(p->params, r->params, r->nn.n_params * sizeof *p->params);
    mnet_nn_bind_params(&p->nn, p->params, &p->p);
    p->t = -1;
    return p;
}

void mn_policy_free(mn_policy *p)
{
    if (!p)
        return;
    free(p->params);
    free(p->arena);
    free(p->slice_col);
    free(p->acts);
    free(p);
}

int mn_policy_reset(mn_policy *p, const mn_env *env, char *err, size_t errlen)
{
    if (!p || !env)
        return mn__fail(err, errlen, MN_EINVAL, "mn_policy_reset: %s is NULL", p ? "the environment" : "the policy");
    int T, n, I, M;
    mnet_noise_key nz;
    double hn;
    if (mn__env_key(env, &nz, &T, &n, &I, &M, &hn) < 0)
        return mn__fail(err, errlen, MN_ESTATE, "mn_policy_reset: reset the environment first");
    if (I != p->nn.cfg.n_input || M != p->nn.cfg.n_output)
        return mn__fail(err, errlen, MN_EINVAL,
                        "the environment does not fit the network: its observation has %d rows and its effector %d "
                        "muscles; the network takes %d inputs and drives %d muscles",
                        I, M, p->nn.cfg.n_input, p->nn.cfg.n_output);
    size_t need = (size_t)T * mnet_nn_act_size(&p->nn, n);
    if ((double)T * n >= 2147483647.0)
        return mn__fail(err, errlen, MN_EINVAL, "mn_policy_reset: %d steps x %d episodes is too large", T, n);
    if (need > p->n_arena) {
        mnet_real *a = realloc(p->arena, need * sizeof *a);
        if (!a)
            return mn__fail(err, errlen, MN_ENOMEM, "out of memory (%d episodes of %d steps)", n, T);
        p->arena = a;
        p->n_arena = need;
    }
    /* the slices: groups of B columns, each in slices of `slice` (at
     * most n of them: a slice has a column at least) */
    int *col = malloc((size_t)(n > 0 ? n : 1) * sizeof *col);
    mnet_nn_acts *acts = malloc((size_t)(n > 0 ? n : 1) * sizeof *acts);
    if (!col || !acts) {
        free(col), free(acts);
        return mn__fail(err, errlen, MN_ENOMEM, "out of memory (%d episodes)", n);
    }
    free(p->slice_col), free(p->acts);
    p->slice_col = col, p->acts = acts, p->n_slices = 0;
    for (int c0 = 0; c0 < n; c0 += p->batch) {
        const int nb = n - c0 < p->batch ? n - c0 : p->batch;
        for (int s0 = 0; s0 < nb; s0 += p->slice) {
            const int k = p->n_slices++;
            col[k] = c0 + s0;
            mnet_nn_bind_acts(&p->nn, p->arena + (size_t)T * mnet_nn_act_size(&p->nn, col[k]), T,
                              nb - s0 < p->slice ? nb - s0 : p->slice, &acts[k]);
        }
    }
    p->T = T, p->n = n, p->t = 0;
    p->nz = nz;
    p->hidden_noise = hn;
    return MN_OK;
}

int mn_policy_act(mn_policy *p, const float *obs, float *output, char *err, size_t errlen)
{
    if (!p || !obs || !output)
        return mn__fail(err, errlen, MN_EINVAL, "mn_policy_act: %s is NULL",
                        !p ? "the policy" : !obs ? "obs" : "output");
    if (p->t < 0)
        return mn__fail(err, errlen, MN_ESTATE, "mn_policy_act: reset the policy with an environment first");
    if (p->t >= p->T)
        return mn__fail(err, errlen, MN_ESTATE, "mn_policy_act: the episodes are done (%d steps)", p->T);
    /* mnet_train_forward's network step, slice by slice */
    for (int k = 0; k < p->n_slices; k++) {
        const int c0 = p->slice_col[k];
        mnet_nn_noise hn = {p->hidden_noise, p->nz.seed, MNET_STREAM_NOISE_HIDDEN, p->nz.element0 + (uint32_t)c0,
                            (uint32_t)p->t};
        mnet_nn_forward(&p->nn, &p->p, &p->acts[k], p->t, obs + c0, NULL, output + c0, p->n,
                        p->nz.on ? &hn : NULL);
    }
    p->t++;
    return MN_OK;
}

/* ---- training ------------------------------------------------------------------------ */

struct mn_trainer {
    mn_effector *e;             /* the model                                 */
    int own_e;                  /* 1: e is ours (a resumed run's)            */
    mnet_task_config cfg;       /* the run's configuration                   */
    double *values;             /* (n_params) its parameter values           */
    mnet_real *params;          /* the same in float: the trainer reads it   */
    mnet_train *tr;
    mnet_loop loop;
    volatile sig_atomic_t stop;
    mnet_trainlog log;
    int have_log;
    mnet_outdir od;
    char *dir;
    char *run_text;
};

void mn_trainer_free(mn_trainer *t)
{
    if (!t)
        return;
    if (t->have_log)
        mnet_trainlog_close(&t->log, NULL, 0);
    mnet_outdir_close(&t->od);
    mnet_train_free(t->tr);
    if (t->own_e)
        mn_effector_free(t->e);
    free(t->values);
    free(t->params);
    free(t->dir);
    free(t->run_text);
    free(t);
}

const char *mn_trainer_run_text(mn_trainer *t)
{
    if (!t)
        return NULL;
    char *text = mnet_run_text_alloc(&t->cfg, t->e->mf, t->values);
    if (text) {
        free(t->run_text);
        t->run_text = text;
    }
    return t->run_text;
}

/* The checkpoint, as `mnet train` writes it: the sources, the standard
 * metadata and the run text as "run." lines, the network and Adam. */
static int save_checkpoint(void *ctx, char *err, size_t errlen)
{
    mn_trainer *t = ctx;
    const mnet_ctx *cx = t->e->comp->ctx;
    const mnet_model *m = t->e->mf;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", t->dir, MNET_OUTDIR_CHECKPOINT);
    mnet_checkpoint_source *src = calloc((size_t)cx->n_sources + 1, sizeof *src);
    char *run = mnet_run_text_alloc(&t->cfg, m, t->values);
    char *meta = run ? mnet_checkpoint_meta_run(m->name, t->e->comp->task_name, &t->tr->nn.cfg, &t->cfg, run) : NULL;
    int rc = -1;
    if (!src || !meta) {
        snprintf(err, errlen, "out of memory writing %s", path);
        goto done;
    }
    for (int i = 0; i < cx->n_sources; i++) {
        src[i].name = cx->sources[i].path;
        src[i].text = cx->sources[i].text;
        src[i].len = (size_t)cx->sources[i].len;
    }
    mnet_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.n_sources = cx->n_sources;
    ck.sources = src;
    ck.source_hash = t->e->comp->source_hash;
    ck.meta = meta;
    ck.net = t->tr->nn.cfg;
    ck.n_params = t->tr->n_params;
    ck.params = t->tr->params;
    ck.adam_m = t->tr->adam_m;
    ck.adam_v = t->tr->adam_v;
    ck.mask = t->tr->mask;
    ck.sign = t->tr->sign;
    ck.adam_t = t->tr->opt.t;
    mnet_rng_seed(&ck.rng, t->cfg.seed);
    ck.n_batches = t->loop.batch;
    rc = mnet_checkpoint_save(path, &ck, err, errlen);
done:
    free(src);
    free(meta);
    free(run);
    return rc;
}

/* The run's outputs at its end: weights.safetensors and validation.csv. */
static int write_outputs(mn_trainer *t, char *err, size_t errlen)
{
    char path[PATH_MAX], msg[1024];
    snprintf(path, sizeof path, "%s/%s", t->dir, MNET_OUTDIR_WEIGHTS);
    if (mnet_safetensors_save_modular(path, &t->tr->nn, t->tr->params, &t->tr->modular, t->tr->mask, t->tr->sign, NULL, MNET_ST_F32, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EIO, "%s", msg);
    snprintf(path, sizeof path, "%s/%s", t->dir, MNET_OUTDIR_VALIDATION);
    if (mnet_train_write_validation(t->tr, t->params, path, NULL, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EIO, "%s", msg);
    return MN_OK;
}

/* Common to new and resumed runs: the directory locked, the trainer, the
 * log.  resume_batch < 0: a new run. */
static int trainer_setup(mn_trainer *t, const char *dir, long resume_batch, char *err, size_t errlen)
{
    char msg[1024];
    const mnet_model *m = t->e->mf;
    t->params = mn__params_real(t->values, m->n_params);
    if (!t->params)
        return mn__fail(err, errlen, MN_ENOMEM, "out of memory");
    t->tr = mnet_train_new(m, t->params, &t->cfg, msg, sizeof msg);
    if (!t->tr)
        return mn__fail(err, errlen, MN_ERUN, "%s", msg);
    t->loop.stop = &t->stop;
    t->loop.progress_mode = 0;
    if (!dir)
        return MN_OK;
    if (!(t->dir = strdup(dir)))
        return mn__fail(err, errlen, MN_ENOMEM, "out of memory");
    if (resume_batch < 0 && mnet_outdir_open(&t->od, dir, MNET_OUTDIR_NEW, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EIO, "%s", msg);
    const char *names[MNET_TASK_MAX_LOSSES];
    for (int i = 0; i < t->cfg.n_losses; i++)
        names[i] = mnet_loss_name(m, &t->cfg.loss[i]);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, MNET_OUTDIR_LOG);
    if (mnet_trainlog_open(&t->log, path, t->cfg.n_losses, names, resume_batch, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_EIO, "%s", msg);
    t->have_log = 1;
    t->loop.log = &t->log;
    t->loop.checkpoint = save_checkpoint;
    t->loop.checkpoint_ctx = t;
    return MN_OK;
}

mn_trainer *mn_trainer_new(mn_effector *e, const char *run_text, const char *dir, char *err, size_t errlen)
{
    if (!e) {
        mn__fail(err, errlen, MN_EINVAL, "mn_trainer_new: the effector is NULL");
        return NULL;
    }
    mn_trainer *t = calloc(1, sizeof *t);
    if (!t || !(t->values = malloc(((size_t)e->md->n_params + 1) * sizeof *t->values))) {
        free(t);
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        return NULL;
    }
    t->e = e;
    t->od = (mnet_outdir)MNET_OUTDIR_INIT;
    if (mn__run_parse(e, run_text, 1, &t->cfg, t->values, err, errlen) != MN_OK ||
        trainer_setup(t, dir, -1, err, errlen) != MN_OK) {
        mn_trainer_free(t);
        return NULL;
    }
    return t;
}

mn_trainer *mn_trainer_resume(const char *dir, char *err, size_t errlen)
{
    mn_trainer *t = calloc(1, sizeof *t);
    if (!t) {
        mn__fail(err, errlen, MN_ENOMEM, "out of memory");
        return NULL;
    }
    t->od = (mnet_outdir)MNET_OUTDIR_INIT;
    char msg[1024];
    if (!dir) {
        mn__fail(err, errlen, MN_EINVAL, "mn_trainer_resume: no directory (NULL)");
        goto fail;
    }
    /* locked before it is read: a run training there is not read mid-save */
    if (mnet_outdir_open(&t->od, dir, MNET_OUTDIR_RESUME, msg, sizeof msg) != 0) {
        mn__fail(err, errlen, MN_EIO, "%s", msg);
        goto fail;
    }
    mnet_checkpoint ck;
    if (mn__open_checkpoint(dir, &ck, &t->e, err, errlen) != MN_OK)
        goto fail;
    t->own_e = 1;
    t->cfg = t->e->cfg;
    t->values = malloc(((size_t)t->e->md->n_params + 1) * sizeof *t->values);
    int rc = t->values ? MN_OK : mn__fail(err, errlen, MN_ENOMEM, "out of memory");
    if (rc == MN_OK) {
        memcpy(t->values, t->e->values, (size_t)t->e->md->n_params * sizeof *t->values);
        mnet_outdir od = t->od; /* trainer_setup must not open it again */
        rc = trainer_setup(t, dir, ck.n_batches, err, errlen);
        t->od = od;
    }
    if (rc == MN_OK && mnet_train_restore(t->tr, &ck, msg, sizeof msg) != 0)
        rc = mn__fail(err, errlen, MN_EIO, "%s: %s", dir, msg);
    if (rc == MN_OK)
        t->loop.batch = ck.n_batches;
    mnet_checkpoint_free(&ck);
    if (rc != MN_OK)
        goto fail;
    return t;
fail:
    mn_trainer_free(t);
    return NULL;
}

int mn_trainer_train(mn_trainer *t, long end, char *err, size_t errlen)
{
    if (!t)
        return mn__fail(err, errlen, MN_EINVAL, "mn_trainer_train: the trainer is NULL");
    if (end <= 0)
        end = t->cfg.n_batches;
    t->stop = 0;
    long todo = end - t->loop.batch;
    t->loop.checkpoint_every = todo / 10 > 50 ? todo / 10 : 50;
    char msg[1024];
    if (mnet_train_loop(t->tr, &t->loop, end, t->loop.batch, end, NULL, msg, sizeof msg) != 0)
        return mn__fail(err, errlen, MN_ERUN, "%s", msg);
    if (t->dir && !t->loop.interrupted && t->loop.batch >= t->cfg.n_batches)
        return write_outputs(t, err, errlen);
    return MN_OK;
}

void mn_trainer_stop(mn_trainer *t)
{
    if (t)
        t->stop = 1;
}

long mn_trainer_batches(const mn_trainer *t) { return t ? t->loop.batch : -1; }
double mn_trainer_loss(const mn_trainer *t) { return t ? mnet_loop_loss_last100(&t->loop) : NAN; }
