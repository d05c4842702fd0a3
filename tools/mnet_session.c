/* mnet_session.c - a training session shared by `mnet train`, `mnet eval`
 * and the REPL. */
#include "mnet_session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet_settings.h"
#include "mnet_validation.h"

void session_init(mnet_session *s)
{
    memset(s, 0, sizeof *s);
}

static void drop_trainer(mnet_session *s)
{
    mnet_train_free(s->tr);
    s->tr = NULL;
}

/* The loop's state starts over (a new or re-initialised network). */
static void reset_loop(mnet_session *s)
{
    mnet_loop keep = s->loop;
    memset(&s->loop, 0, sizeof s->loop);
    s->loop.progress = keep.progress;
    s->loop.progress_mode = keep.progress_mode;
    s->loop.checkpoint_every = keep.checkpoint_every;
    s->loop.checkpoint = keep.checkpoint;
    s->loop.checkpoint_ctx = keep.checkpoint_ctx;
}

void session_close(mnet_session *s)
{
    drop_trainer(s);
    if (s->loaded)
        mnet_run_close(&s->run);
    if (s->log.f)
        mnet_trainlog_close(&s->log, NULL, 0);
    memset(s, 0, sizeof *s);
}

int session_load(mnet_session *s, const char *path, const char *task, FILE *diag, FILE *out)
{
    double t0 = 1e3 * mnet_progress_now();
    mnet_run r;
    char err[1024];
    mnet_compile_options o = {.path = path, .task = task};
    int rc = mnet_run_open(&r, &o, s->backend, diag, err, sizeof err);
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
    reset_loop(s);
    snprintf(s->path, sizeof s->path, "%s", path);
    if (out)
        fprintf(out, "loaded %s: effector %s (%d muscles, %d state rows, %d parameters), task %s, in %.0f ms (%s)\n",
                path, r.model->name, r.model->n_muscles, r.model->n_state, r.model->n_params, r.task_name,
                1e3 * mnet_progress_now() - t0, r.backend == MNET_BACKEND_JIT ? "LLVM JIT" : "C compiler");
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

long session_batches(const mnet_session *s)
{
    return s->loop.batch;
}

double session_loss_last100(const mnet_session *s)
{
    return mnet_loop_loss_last100(&s->loop);
}

int session_train_to(mnet_session *s, long end, volatile sig_atomic_t *stop, FILE *out)
{
    if (!s->loaded) {
        fprintf(out, "mnet: no model loaded (load FILE.mnet)\n");
        return 1;
    }
    if (ensure_trainer(s, out))
        return 1;
    char err[1024];
    long start = s->loop.batch;
    s->loop.progress = out;
    s->loop.progress_mode = -1;
    s->loop.log = s->log.f ? &s->log : NULL;
    s->loop.stop = stop;
    /* the display counts over the run when this trains to its end, else
     * over this piece */
    long first = end == s->run.cfg.n_batches ? 0 : start;
    int rc = mnet_train_loop(s->tr, &s->loop, end, first, end, out, err, sizeof err);
    if (rc != 0) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    if (s->loop.interrupted)
        fprintf(out, "interrupted after %ld batches (kept)\n", s->loop.batch - start);
    return 0;
}

int session_train(mnet_session *s, long n, volatile sig_atomic_t *stop, FILE *out)
{
    return session_train_to(s, s->loop.batch + n, stop, out);
}

int session_open_log(mnet_session *s, const char *dir, FILE *out)
{
    char path[8192], err[1024];
    const char *names[MNET_TASK_MAX_LOSSES];
    for (int i = 0; i < s->run.cfg.n_losses; i++)
        names[i] = mnet_loss_name(s->run.model, &s->run.cfg.loss[i]);
    snprintf(path, sizeof path, "%s/log.csv", dir);
    if (mnet_trainlog_open(&s->log, path, s->run.cfg.n_losses, names, s->loop.batch > 0 ? s->loop.batch : -1, err,
                           sizeof err) != 0) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    return 0;
}

/* ---- set --------------------------------------------------------------- */

/* The trainer again for configuration c: the network and optimiser kept
 * when the network's shape is unchanged. */
static int rebuild_trainer(mnet_session *s, const mnet_task_config *c, int reshapes, const char *what, double t0,
                           FILE *out)
{
    char err[1024];
    mnet_train *nt = mnet_train_new(s->run.model, s->run.params, c, err, sizeof err);
    if (!nt) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    int kept = !reshapes && nt->n_params == s->tr->n_params;
    if (kept) {
        memcpy(nt->params, s->tr->params, nt->n_params * sizeof(mnet_real));
        memcpy(nt->adam_m, s->tr->adam_m, nt->n_params * sizeof(mnet_real));
        memcpy(nt->adam_v, s->tr->adam_v, nt->n_params * sizeof(mnet_real));
        nt->opt.t = s->tr->opt.t;
    }
    mnet_train_free(s->tr);
    s->tr = nt;
    s->run.cfg = *c;
    if (!kept)
        reset_loop(s);
    fprintf(out, "%s: trainer rebuilt in %.1f ms, %s (no recompile)\n", what, 1e3 * mnet_progress_now() - t0,
            kept ? "network and optimiser kept" : "network re-initialised");
    return 0;
}

/* A term the compiler compiles (lower_loss.h) that the model lacks: a set
 * that adds one recompiles, so the run is the one a file writing the term
 * gives, bit for bit. */
static int needs_recompile(const mnet_task_config *c, const mnet_model *m)
{
    for (int i = 0; i < c->n_losses; i++) {
        const char *name = mnet_loss_name(NULL, &c->loss[i]);
        int have = 0;
        for (int k = 0; k < m->n_loss && m->loss_names; k++)
            have |= !strcmp(m->loss_names[k], name);
        if (!have && mnet_loss_term_compiles(name, c->loss[i].deriv_weight, 0))
            return 1;
    }
    return 0;
}

/* The session's sources compiled again (from memory) for configuration c;
 * parameter values, network and optimiser kept. */
static int recompile(mnet_session *s, const mnet_task_config *c, const char *what, double t0, FILE *out)
{
    const mnet_ctx *ctx = s->run.comp->ctx;
    int n = ctx->n_sources;
    const char **names = calloc((size_t)n + 1, sizeof *names), **texts = calloc((size_t)n + 1, sizeof *texts);
    size_t *lens = calloc((size_t)n + 1, sizeof *lens);
    char err[1024];
    int rc = 2;
    mnet_run r;
    memset(&r, 0, sizeof r);
    if (names && texts && lens) {
        for (int i = 0; i < n; i++) {
            names[i] = ctx->sources[i].path;
            texts[i] = ctx->sources[i].text;
            lens[i] = (size_t)ctx->sources[i].len;
        }
        mnet_compile_options o = {.task = s->run.task_name, .n_sources = n, .source_names = names,
                                  .source_texts = texts, .source_lens = lens, .run = c};
        rc = mnet_run_open(&r, &o, s->backend, out, err, sizeof err);
    } else {
        snprintf(err, sizeof err, "out of memory");
    }
    free(names);
    free(texts);
    free(lens);
    if (rc == 0 && r.model->n_params == s->run.model->n_params) {
        memcpy(r.param_values, s->run.param_values, (size_t)r.model->n_params * sizeof *r.param_values);
        mnet_run_sync_params(&r);
    }
    if (rc == 0 && mnet_task_check(&r.cfg, r.model, err, sizeof err) != 0)
        rc = 2;
    if (rc != 0) {
        fprintf(out, "mnet: set: recompiling for the new loss term: %s\n", rc == 2 ? err : "errors above");
        mnet_run_close(&r);
        return 1;
    }
    mnet_train *old = s->tr;
    mnet_train *nt = NULL;
    if (old) {
        nt = mnet_train_new(r.model, r.params, &r.cfg, err, sizeof err);
        if (!nt) {
            fprintf(out, "mnet: %s\n", err);
            mnet_run_close(&r);
            return 1;
        }
        memcpy(nt->params, old->params, nt->n_params * sizeof(mnet_real));
        memcpy(nt->adam_m, old->adam_m, nt->n_params * sizeof(mnet_real));
        memcpy(nt->adam_v, old->adam_v, nt->n_params * sizeof(mnet_real));
        nt->opt.t = old->opt.t;
    }
    mnet_train_free(old);
    mnet_run_close(&s->run);
    s->run = r;
    s->tr = nt;
    fprintf(out, "%s: a term the compiler compiles; the model recompiled in %.0f ms, network and optimiser kept\n",
            what, 1e3 * mnet_progress_now() - t0);
    return 0;
}

int session_set(mnet_session *s, const char *name, const char *text, FILE *out)
{
    if (!s->loaded) {
        fprintf(out, "mnet: no model loaded (load FILE.mnet)\n");
        return 1;
    }
    double t0 = 1e3 * mnet_progress_now();
    char err[1024];
    const mnet_model *m = s->run.model;
    int i = mnet_run_param_index(&s->run, name);
    if (i >= 0) {
        /* a model parameter: its unit and range, as in the file */
        double old = s->run.param_values[i];
        mnet_task_config c = s->run.cfg; /* a parameter leaves it as it is */
        if (mnet_run_apply(&s->run, &c, s->run.param_values, name, text, err, sizeof err) != 0) {
            fprintf(out, "mnet: set %s: %s\n", name, err);
            return 1;
        }
        double v = s->run.param_values[i];
        mnet_run_set_param(&s->run, i, v); /* the model's precision too */
        if (mnet_task_check(&c, m, err, sizeof err) != 0) {
            mnet_run_set_param(&s->run, i, old);
            fprintf(out, "mnet: set %s: %s\n", name, err);
            return 1;
        }
        fprintf(out, "model parameter %s = %.17g (run-time data: no recompile, %.2f ms)\n", name, (double)v,
                1e3 * mnet_progress_now() - t0);
        return 0;
    }
    mnet_task_config c = s->run.cfg;
    int reshapes = 0;
    if (task_set(&c, name, text, &reshapes, err, sizeof err) != 0) {
        fprintf(out, "mnet: set %s: %s\n", name, err);
        return 1;
    }
    char what[512];
    snprintf(what, sizeof what, "%s = %s", name, text);
    if (needs_recompile(&c, m))
        return recompile(s, &c, what, t0, out);
    if (mnet_task_check(&c, m, err, sizeof err) != 0) {
        fprintf(out, "mnet: set %s: %s\n", name, err);
        return 1;
    }
    if (!s->tr) {
        s->run.cfg = c;
        fprintf(out, "%s (applies from the next training)\n", what);
        return 0;
    }
    return rebuild_trainer(s, &c, reshapes, what, t0, out);
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
    /* the validation set: one episode per direction for the cued kinds */
    int n = mnet_task_validation_size(&s->run.cfg, s->run.cfg.batch_size), T = s->tr->T;
    if (mnet_episode_alloc(&ep, s->run.model, n, T, err, sizeof err) != 0) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    double loss = NAN;
    int rc = mnet_task_generate(&s->run.cfg, s->run.model, s->run.params, 1, s->run.cfg.seed, 0, n, &ep, err,
                                sizeof err);
    if (rc == 0) {
        mnet_rollout ro;
        memset(&ro, 0, sizeof ro);
        rc = mnet_train_eval(s->tr, &ep, NULL, &ro, &loss);
        if (rc)
            snprintf(err, sizeof err, "%s", mnet_train_error(s->tr));
    }
    mnet_episode_free(&ep);
    if (rc) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    fprintf(out, "eval: %d validation episodes, mean loss %.6f (after %ld batches)\n", n, loss, s->loop.batch);
    return 0;
}

void session_show(const mnet_session *s, FILE *out)
{
    if (!s->loaded) {
        fprintf(out, "no model loaded\n");
        return;
    }
    const mnet_model *m = s->run.model;
    fprintf(out, "model %s from %s\n", m->name, s->path);
    fprintf(out, "  %d dof, %d-D end point, %d muscles x %d rows, %d state rows, step %g s x %d ministeps\n",
            m->n_dof, m->space_dim, m->n_muscles, m->n_muscle_rows, m->n_state, m->step_size, m->n_ministeps);
    fprintf(out, "  muscles:");
    for (int i = 0; i < m->n_muscles; i++)
        fprintf(out, " %s", m->muscle_names[i]);
    fprintf(out, "\ntask %s, trained %ld batches", s->run.task_name, s->loop.batch);
    if (s->loop.n_trained)
        fprintf(out, ", loss of the last 100: %.6f", session_loss_last100(s));
    fprintf(out, "\nthe run (set NAME VALUE changes any line; units as in a .mnet file):\n");
    char *text = mnet_run_text(&s->run);
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        int len = end ? (int)(end - p) : (int)strlen(p);
        const char *eq = memchr(p, '=', (size_t)len);
        const mnet_setting *st = NULL;
        if (eq) {
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)(eq - p), p);
            for (int k = 0; k < mnet_setting_count() && !st; k++)
                if (!strcmp(mnet_setting_at(k)->name, key))
                    st = mnet_setting_at(k);
        }
        if (eq)
            fprintf(out, "  %-32.*s %.*s%s%s\n", (int)(eq - p), p, (int)(len - (eq - p) - 1), eq + 1,
                    st && st->unit[0] ? " " : "", st ? st->unit : "");
        p = end ? end + 1 : p + len;
    }
    free(text);
}

char **session_names(const mnet_session *s)
{
    int n_params = s->loaded ? s->run.model->n_params : 0, n_loss = s->loaded ? s->run.cfg.n_losses : 0;
    int n = mnet_setting_count() + 2 * n_loss + n_params;
    char **names = calloc((size_t)n + 1, sizeof(char *));
    if (!names)
        return NULL;
    int k = 0;
    for (int i = 0; i < mnet_setting_count(); i++)
        names[k++] = strdup(mnet_setting_at(i)->name);
    for (int i = 0; i < n_loss; i++) {
        const char *t = mnet_loss_name(NULL, &s->run.cfg.loss[i]);
        size_t len = strlen(t) + 16;
        char *a = malloc(len), *b = malloc(len);
        if (a)
            snprintf(a, len, "loss.%s.weight", t);
        if (b)
            snprintf(b, len, "loss.%s.derivative", t);
        names[k++] = a;
        names[k++] = b;
    }
    for (int i = 0; i < n_params; i++)
        names[k++] = strdup(s->run.model->param_names[i]);
    return names;
}

int session_emit(mnet_session *s, const char *path, int single, FILE *out)
{
    if (!s->loaded) {
        fprintf(out, "mnet: no model loaded (load FILE.mnet)\n");
        return 1;
    }
    char *text = mnet_run_text(&s->run);
    if (!text || mnet_write_c_run(s->run.comp, path, s->path, single, text) != 0) {
        fprintf(out, "mnet: cannot write '%s'\n", path);
        free(text);
        return 1;
    }
    free(text);
    fprintf(out, "wrote %s (effector %s, %s precision, the run embedded: ./model train trains it)\n", path,
            s->run.model->name, single ? "single" : "double");
    return 0;
}
