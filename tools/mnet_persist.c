/* mnet_persist.c - sessions on disk: checkpoints, weights, trajectories. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnet_checkpoint.h"
#include "mnet_log.h"
#include "mnet_safetensors.h"
#include "mnet_session.h"
#include "mnet_validation.h"

int session_save(mnet_session *s, const char *path, FILE *out)
{
    if (!s->loaded || !s->tr) {
        fprintf(out, "mnet: nothing to save: load a model and train first\n");
        return 1;
    }
    const mnet_ctx *ctx = s->run.comp->ctx;
    mnet_checkpoint_source *src = calloc((size_t)ctx->n_sources + 1, sizeof *src);
    char *run = mnet_run_text(&s->run);
    char *meta = run ? mnet_checkpoint_meta_run(s->run.model->name, s->run.task_name, &s->tr->nn.cfg, &s->run.cfg,
                                                run)
                     : NULL;
    free(run);
    if (!src || !meta) {
        free(src);
        free(meta);
        fprintf(out, "mnet: out of memory\n");
        return 1;
    }
    for (int i = 0; i < ctx->n_sources; i++) {
        src[i].name = ctx->sources[i].path;
        src[i].text = ctx->sources[i].text;
        src[i].len = (size_t)ctx->sources[i].len;
    }
    mnet_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.n_sources = ctx->n_sources;
    ck.sources = src;
    ck.source_hash = s->run.comp->source_hash;
    ck.meta = meta;
    ck.net = s->tr->nn.cfg;
    ck.n_params = s->tr->n_params;
    ck.params = s->tr->params;
    ck.adam_m = s->tr->adam_m;
    ck.adam_v = s->tr->adam_v;
    ck.mask = s->tr->mask; /* NULL, NULL for a plain network */
    ck.sign = s->tr->sign;
    ck.adam_t = s->tr->opt.t;
    mnet_rng_seed(&ck.rng, s->run.cfg.seed);
    ck.n_batches = s->loop.batch;
    char err[1024];
    int rc = mnet_checkpoint_save(path, &ck, err, sizeof err);
    free(src);
    free(meta);
    if (rc) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    return 0;
}

int session_open(mnet_session *s, const char *path, FILE *diag, FILE *out)
{
    mnet_checkpoint ck;
    char err[1024];
    if (mnet_checkpoint_load(path, &ck, err, sizeof err) != 0) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    if (ck.n_sources < 1) {
        fprintf(out, "mnet: %s holds no model sources\n", path);
        mnet_checkpoint_free(&ck);
        return 1;
    }
    /* The stored sources are compiled from memory: their names are keys,
     * never paths (nothing is written, and no import is read from disk). */
    const char **names = calloc((size_t)ck.n_sources, sizeof *names);
    const char **texts = calloc((size_t)ck.n_sources, sizeof *texts);
    size_t *lens = calloc((size_t)ck.n_sources, sizeof *lens);
    char task[256] = "", *run_text = mnet_checkpoint_run_text(ck.meta);
    if (!names || !texts || !lens || !run_text) {
        fprintf(out, "mnet: out of memory\n");
        free(names);
        free(texts);
        free(lens);
        free(run_text);
        mnet_checkpoint_free(&ck);
        return 1;
    }
    for (int i = 0; i < ck.n_sources; i++) {
        names[i] = ck.sources[i].name;
        texts[i] = ck.sources[i].text;
        lens[i] = ck.sources[i].len;
    }
    mnet_checkpoint_meta_get(ck.meta, "task", task, sizeof task);
    mnet_compile_options o = {.task = task[0] ? task : NULL, .n_sources = ck.n_sources, .source_names = names,
                              .source_texts = texts, .source_lens = lens};
    mnet_run r;
    int rc = mnet_run_open(&r, &o, s->backend, diag, err, sizeof err);
    free(names);
    free(texts);
    free(lens);
    if (rc) {
        fprintf(out, "mnet: cannot rebuild the model stored in %s: %s\n", path,
                rc == 2 ? err : "its sources do not compile (errors above)");
        mnet_run_close(&r);
        free(run_text);
        mnet_checkpoint_free(&ck);
        return 1;
    }
    if (ck.source_hash && strcmp(ck.source_hash, r.comp->source_hash) != 0)
        fprintf(out, "mnet: warning: the rebuilt sources hash to %s, the checkpoint says %s\n", r.comp->source_hash,
                ck.source_hash);
    /* the run as it was: the stored run text over the sources' defaults
     * (a checkpoint without one is from before run texts: the sources'
     * own task) */
    if (run_text[0] && (mnet_run_text_parse(run_text, &r.cfg, r.model, r.param_values, err, sizeof err) != 0 ||
                        mnet_run_check_params(&r, r.param_values, err, sizeof err) != 0)) {
        fprintf(out, "mnet: %s: the stored run: %s\n", path, err);
        mnet_run_close(&r);
        free(run_text);
        mnet_checkpoint_free(&ck);
        return 1;
    }
    free(run_text);
    mnet_run_sync_params(&r);
    mnet_train *tr = mnet_train_new(r.model, r.params, &r.cfg, err, sizeof err);
    if (!tr || mnet_train_restore(tr, &ck, err, sizeof err) != 0) {
        fprintf(out, "mnet: %s: %s\n", path, err);
        mnet_train_free(tr);
        mnet_run_close(&r);
        mnet_checkpoint_free(&ck);
        return 1;
    }
    /* replace the session's model and trainer; the trainer reads the
     * run's parameter table where it now lives */
    mnet_train_free(s->tr);
    if (s->loaded)
        mnet_run_close(&s->run);
    s->run = r;
    s->loaded = 1;
    tr->model_params = s->run.params;
    s->tr = tr;
    memset(&s->loop, 0, sizeof s->loop);
    s->loop.batch = ck.n_batches; /* the loss history starts over */
    snprintf(s->path, sizeof s->path, "%s", path);
    if (out)
        fprintf(out, "opened %s: effector %s, task %s, %ld batches trained\n", path, r.model->name, r.task_name,
                s->loop.batch);
    mnet_checkpoint_free(&ck);
    return 0;
}

int session_write_outputs(mnet_session *s, const char *dir, FILE *out)
{
    if (!s->loaded || !s->tr) {
        fprintf(out, "mnet: nothing trained\n");
        return 1;
    }
    char path[8192], err[1024];
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    if (mnet_safetensors_save_modular(path, &s->tr->nn, s->tr->params, &s->tr->modular, s->tr->mask, s->tr->sign, NULL, MNET_ST_F32, err, sizeof err) != 0) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    /* validation trajectories */
    double loss = NAN;
    snprintf(path, sizeof path, "%s/validation.csv", dir);
    if (mnet_train_write_validation(s->tr, s->run.params, path, &loss, err, sizeof err) != 0) {
        fprintf(out, "mnet: %s\n", err);
        return 1;
    }
    int B = mnet_task_validation_size(&s->run.cfg, s->run.cfg.batch_size);
    fprintf(out, "validation: %d episodes, mean loss %.6f; wrote %s/weights.safetensors and %s/validation.csv\n", B,
            loss, dir, dir);
    return 0;
}
