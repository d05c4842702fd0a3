/* mnet_session.c - a training session shared by `mnet train` and the REPL. */
#include "mnet_session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval.h"

void session_init(mnet_session *s)
{
    memset(s, 0, sizeof *s);
}

static void drop_trainer(mnet_session *s)
{
    mnet_train_free(s->tr);
    s->tr = NULL;
    s->batches_done = 0;
    s->n_losses = 0;
    s->ms_total = s->net_ms_total = 0;
}

void session_close(mnet_session *s)
{
    drop_trainer(s);
    if (s->loaded)
        mnet_run_close(&s->run);
    if (s->log.f)
        mnet_trainlog_close(&s->log, NULL, 0);
    free(s->losses);
    memset(s, 0, sizeof *s);
}

int session_load(mnet_session *s, const char *path, const char *task, FILE *diag, FILE *out)
{
    double t0 = 1e3 * mnet_progress_now();
    mnet_run r;
    char err[1024];
    int rc = mnet_run_open(&r, path, task, s->backend, diag, err, sizeof err);
    if (rc) {
        if (rc == 2)
            fprintf(diag, "mnet: %s\n", err);
        mnet_run_close(&r);
        return 1; /* the session keeps what it had */
    }
    drop_trainer(s);
    if (s->loaded)
        mnet_run_close(&s->run);
    s->run = r;
    s->loaded = 1;
    snprintf(s->path, sizeof s->path, "%s", path);
    snprintf(s->task, sizeof s->task, "%s", task ? task : "");
    if (out)
        fprintf(out, "loaded %s: effector %s (%d muscles, %d state rows, %d parameters), task %s, in %.0f ms (%s)\n",
                path, r.model->name, r.model->n_muscles, r.model->n_state, r.model->n_params,
                r.task_name, 1e3 * mnet_progress_now() - t0, r.backend == MNET_BACKEND_JIT ? "LLVM JIT" : "C compiler");
    return 0;
}

static int ensure_trainer(mnet_session *s, FILE *out)
{
    if (s->tr)
        return 0;
    char err[1024];
    s->tr = mnet_train_new(s->run.model, s->run.params, &s->run.cfg, err, sizeof err);
    if (!s->tr) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    return 0;
}

static int record_loss(mnet_session *s, double loss)
{
    if (s->n_losses >= s->cap) {
        long cap = s->cap ? 2 * s->cap : 1024;
        double *p = realloc(s->losses, (size_t)cap * sizeof *p);
        if (!p)
            return 1;
        s->losses = p;
        s->cap = cap;
    }
    s->losses[s->n_losses++] = loss;
    s->batches_done++;
    return 0;
}

int session_train(mnet_session *s, long n, volatile sig_atomic_t *stop, FILE *out)
{
    if (!s->loaded) {
        fprintf(out, "mnet: no model loaded (load FILE.mnet)\n");
        return 1;
    }
    if (ensure_trainer(s, out))
        return 1;
    /* progress over this call's batches: a redrawn line on a terminal,
     * plain lines otherwise (mnet_log.h) */
    mnet_progress bar;
    mnet_progress_init(&bar, out, 0, n, -1, 0);
    long start = s->batches_done, i;
    for (i = 0; i < n && !(stop && *stop); i++) {
        double tb = 1e3 * mnet_progress_now(), loss;
        if (mnet_train_step(s->tr, s->batches_done, &loss) != 0) {
            mnet_progress_finish(&bar);
            fprintf(out, "mnet: stopped at batch %ld: %s (the parameters are those before it)\n", s->batches_done,
                    mnet_train_error(s->tr));
            return 1;
        }
        double t1 = 1e3 * mnet_progress_now();
        s->ms_total += t1 - tb;
        s->net_ms_total += s->tr->net_ms;
        int logged = !s->log.f || mnet_trainlog_write(&s->log, s->batches_done, loss, s->tr->loss_terms,
                                                      s->tr->grad_norm, s->tr->opt.last_lr, t1 - tb) == 0;
        if (record_loss(s, loss))
            return 1;
        if (!logged) { /* the batch is trained (and counted): stop, the log cannot follow */
            mnet_progress_finish(&bar);
            fprintf(out, "mnet: %s\n", s->log.err);
            return 1;
        }
        mnet_progress_update(&bar, i, loss);
    }
    mnet_progress_finish(&bar);
    if (stop && *stop)
        fprintf(out, "interrupted after %ld batches (kept)\n", s->batches_done - start);
    return 0;
}

int session_open_log(mnet_session *s, const char *dir, FILE *out)
{
    char path[8192], err[1024];
    const char *names[MNET_TASK_MAX_LOSSES];
    for (int i = 0; i < s->run.cfg.n_losses; i++)
        names[i] = mnet_loss_name(s->run.model, &s->run.cfg.loss[i]);
    snprintf(path, sizeof path, "%s/log.csv", dir);
    if (mnet_trainlog_open(&s->log, path, s->run.cfg.n_losses, names, s->batches_done, err, sizeof err) != 0) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    return 0;
}

double session_loss_last(const mnet_session *s, long k)
{
    long n = s->n_losses, k0 = n > k ? n - k : 0;
    if (n == 0)
        return NAN;
    double sum = 0;
    for (long i = k0; i < n; i++)
        sum += s->losses[i];
    return sum / (n - k0);
}

/* ---- set --------------------------------------------------------------- */

/* "50 ms", "0.05", "1e-3" -> SI value. */
static int parse_value(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text)
        return 0;
    while (*end == ' ')
        end++;
    if (*end) {
        double f;
        unit_dim d;
        if (!unit_lookup(end, &f, &d))
            return 0;
        v *= f;
    }
    *out = v;
    return 1;
}

typedef enum { REBUILD_KEEP, REBUILD_NEW } rebuild_kind;

static const struct {
    const char *name;
    rebuild_kind rebuild;   /* NEW: the network's shape may change */
} settings[] = {
    {"duration", REBUILD_KEEP}, {"delay.proprioception", REBUILD_KEEP}, {"delay.vision", REBUILD_KEEP},
    {"action_frames", REBUILD_NEW}, {"noise.action", REBUILD_KEEP}, {"noise.proprioception", REBUILD_KEEP},
    {"noise.vision", REBUILD_KEEP}, {"noise.observation", REBUILD_KEEP}, {"noise.hidden", REBUILD_KEEP},
    {"lr", REBUILD_KEEP}, {"batch", REBUILD_KEEP}, {"clip_norm", REBUILD_KEEP}, {"seed", REBUILD_KEEP},
    {"weight_decay", REBUILD_KEEP}, {"hidden", REBUILD_NEW}, {"layers", REBUILD_NEW}, {"curl", REBUILD_KEEP},
    {"catch_fraction", REBUILD_KEEP}, {"exact_delays", REBUILD_KEEP},
};

static int apply_setting(mnet_task_config *c, const char *name, double v)
{
    if (!strcmp(name, "duration")) c->duration = v;
    else if (!strcmp(name, "delay.proprioception")) c->proprio_delay = v;
    else if (!strcmp(name, "delay.vision")) c->vision_delay = v;
    else if (!strcmp(name, "action_frames")) c->action_frames = (int)v;
    else if (!strcmp(name, "noise.action")) c->action_noise = v;
    else if (!strcmp(name, "noise.proprioception")) c->proprio_noise = v;
    else if (!strcmp(name, "noise.vision")) c->vision_noise = v;
    else if (!strcmp(name, "noise.observation")) c->obs_noise = v;
    else if (!strcmp(name, "noise.hidden")) c->hidden_noise = v;
    else if (!strcmp(name, "lr")) c->lr = v;
    else if (!strcmp(name, "batch")) c->batch_size = (int)v;
    else if (!strcmp(name, "clip_norm")) c->clip_norm = v;
    else if (!strcmp(name, "seed")) c->seed = (uint64_t)v;
    else if (!strcmp(name, "weight_decay")) c->weight_decay = v;
    else if (!strcmp(name, "hidden")) c->n_hidden = (int)v;
    else if (!strcmp(name, "layers")) c->n_layers = (int)v;
    else if (!strcmp(name, "curl")) c->curl = v;
    else if (!strcmp(name, "catch_fraction")) c->centre_out.catch_fraction = c->delayed.catch_fraction = v;
    else if (!strcmp(name, "exact_delays")) c->exact_delays = (int)v;
    else return 0;
    return 1;
}

int session_set(mnet_session *s, const char *name, const char *text, FILE *out)
{
    if (!s->loaded) {
        fprintf(out, "mnet: no model loaded (load FILE.mnet)\n");
        return 1;
    }
    double v, t0 = 1e3 * mnet_progress_now();
    if (!parse_value(text, &v)) {
        fprintf(out, "mnet: '%s' is not a number (units allowed: 50 ms, 10 deg, ...)\n", text);
        return 1;
    }
    const mnet_model *m = s->run.model;
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->param_names[i], name)) {
            s->run.params[i] = (mnet_real)v;
            if (s->tr)
                s->tr->model_params[i] = (mnet_real)v;
            fprintf(out, "model parameter %s = %g (run-time data: no recompile, %.2f ms)\n", name, v,
                    1e3 * mnet_progress_now() - t0);
            return 0;
        }
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
        if (strcmp(settings[k].name, name) != 0)
            continue;
        mnet_task_config c = s->run.cfg;
        apply_setting(&c, name, v);
        char err[1024];
        if (mnet_task_check(&c, m, err, sizeof err) != 0) {
            fprintf(out, "mnet: %s\n", err);
            return 1;
        }
        s->run.cfg = c;
        if (!s->tr) {
            fprintf(out, "task setting %s = %g (applies from the next training)\n", name, v);
            return 0;
        }
        mnet_train *nt = mnet_train_new(m, s->run.params, &c, err, sizeof err);
        if (!nt) {
            fprintf(out, "mnet: %s\n", err);
            return 1;
        }
        int kept = nt->n_params == s->tr->n_params && settings[k].rebuild == REBUILD_KEEP;
        if (kept) {
            memcpy(nt->params, s->tr->params, nt->n_params * sizeof(mnet_real));
            memcpy(nt->adam_m, s->tr->adam_m, nt->n_params * sizeof(mnet_real));
            memcpy(nt->adam_v, s->tr->adam_v, nt->n_params * sizeof(mnet_real));
            nt->opt.t = s->tr->opt.t;
        }
        long done = s->batches_done;
        mnet_train_free(s->tr);
        s->tr = nt;
        if (!kept) {
            s->batches_done = 0;
            s->n_losses = 0;
        } else {
            s->batches_done = done;
        }
        fprintf(out, "task setting %s = %g: trainer rebuilt in %.1f ms, %s (no recompile)\n", name, v,
                1e3 * mnet_progress_now() - t0, kept ? "network and optimiser kept" : "network re-initialised");
        return 0;
    }
    fprintf(out, "mnet: unknown parameter or setting '%s' (show lists them)\n", name);
    return 1;
}

int session_eval(mnet_session *s, FILE *out)
{
    if (!s->loaded) {
        fprintf(out, "mnet: no model loaded (load FILE.mnet)\n");
        return 1;
    }
    if (ensure_trainer(s, out))
        return 1;
    char err[1024];
    mnet_episode ep;
    int B = s->run.cfg.batch_size, T = s->tr->T;
    if (mnet_episode_alloc(&ep, s->run.model, B, T, err, sizeof err) != 0) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    double loss = NAN;
    int rc = mnet_task_generate(&s->run.cfg, s->run.model, s->run.params, 1, s->run.cfg.seed, 0, B, &ep, err,
                                sizeof err);
    if (rc == 0) {
        mnet_rollout ro = {NULL, NULL, NULL, NULL};
        rc = mnet_train_eval(s->tr, &ep, NULL, &ro, &loss);
        if (rc)
            snprintf(err, sizeof err, "%s", mnet_train_error(s->tr));
    }
    mnet_episode_free(&ep);
    if (rc) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    fprintf(out, "eval: %d validation episodes, mean loss %.6f (after %ld batches)\n", B, loss, s->batches_done);
    return 0;
}

void session_show(const mnet_session *s, FILE *out)
{
    if (!s->loaded) {
        fprintf(out, "no model loaded\n");
        return;
    }
    const mnet_model *m = s->run.model;
    const mnet_task_config *c = &s->run.cfg;
    fprintf(out, "model %s from %s\n", m->name, s->path);
    fprintf(out, "  %d dof, %d-D end point, %d muscles x %d rows, %d state rows, step %g s x %d ministeps\n",
            m->n_dof, m->space_dim, m->n_muscles, m->n_muscle_rows, m->n_state, m->step_size, m->n_ministeps);
    fprintf(out, "  muscles:");
    for (int i = 0; i < m->n_muscles; i++)
        fprintf(out, " %s", m->muscle_names[i]);
    fprintf(out, "\n  parameters:\n");
    for (int i = 0; i < m->n_params; i++)
        fprintf(out, "    %-32s %g\n", m->param_names[i], (double)s->run.params[i]);
    fprintf(out, "task %s: duration %g s, delays proprioception %g s vision %g s, %d action frames\n",
            s->run.task_name, c->duration, c->proprio_delay, c->vision_delay, c->action_frames);
    fprintf(out, "  noise action %g proprioception %g vision %g observation %g hidden %g\n", c->action_noise,
            c->proprio_noise, c->vision_noise, c->obs_noise, c->hidden_noise);
    fprintf(out, "  policy %s %d x %d, batch %d, lr %g, clip_norm %g, seed %llu\n",
            c->cell == MNET_NN_GRU ? "gru" : c->cell == MNET_NN_RNN ? "rnn" : "mlp", c->n_layers, c->n_hidden,
            c->batch_size, c->lr, c->clip_norm, (unsigned long long)c->seed);
    fprintf(out, "  trained %ld batches", s->batches_done);
    if (s->batches_done)
        fprintf(out, ", loss of the last 100: %.6f", session_loss_last(s, 100));
    fprintf(out, "\n  settings: ");
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++)
        fprintf(out, "%s%s", k ? ", " : "", settings[k].name);
    fputc('\n', out);
}

char **session_names(const mnet_session *s)
{
    int n = (int)(sizeof settings / sizeof settings[0]) + (s->loaded ? s->run.model->n_params : 0);
    char **names = calloc((size_t)n + 1, sizeof(char *));
    if (!names)
        return NULL;
    int k = 0;
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        names[k++] = strdup(settings[i].name);
    for (int i = 0; s->loaded && i < s->run.model->n_params; i++)
        names[k++] = strdup(s->run.model->param_names[i]);
    return names;
}
