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

int session_save(mnet_session *s, const char *path, FILE *out)
{
    if (!s->loaded || !s->tr) {
        fprintf(out, "mnet: nothing to save: load a model and train first\n");
        return 1;
    }
    const mnet_ctx *ctx = s->run.comp->ctx;
    mnet_checkpoint_source *src = calloc((size_t)ctx->n_sources + 1, sizeof *src);
    char *meta = malloc(16384);
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
    mnet_checkpoint_format_meta(meta, 16384, s->run.model->name, s->run.task_name, &s->tr->nn.cfg,
                                &s->run.cfg);
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
    ck.adam_t = s->tr->opt.t;
    mnet_rng_seed(&ck.rng, s->run.cfg.seed);
    ck.n_batches = s->batches_done;
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

static int write_file(const char *path, const char *text, size_t len)
{
    char tmp[8192];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

/* Removes the private copy of the sources (depth-first). */
static void remove_tree(const char *dir, const mnet_checkpoint *ck)
{
    char path[8192];
    for (int i = 0; i < ck->n_sources; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, ck->sources[i].name);
        remove(path);
        /* and its now-empty parent directories up to dir */
        for (char *slash = strrchr(path, '/'); slash && slash > path + strlen(dir); slash = strrchr(path, '/')) {
            *slash = '\0';
            if (rmdir(path) != 0)
                break;
        }
    }
    rmdir(dir);
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
    /* The sources go into a private directory under their original paths,
     * so imports resolve among them (the copy of the library directory is
     * searched before the installed one). */
    char dir[] = "/tmp/mnet_ckpt_XXXXXX", file[8192], lib[8192], task[256] = "";
    if (!mkdtemp(dir)) {
        fprintf(out, "mnet: cannot create a temporary directory\n");
        mnet_checkpoint_free(&ck);
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < ck.n_sources && !bad; i++) {
        snprintf(file, sizeof file, "%s/%s", dir, ck.sources[i].name);
        bad = write_file(file, ck.sources[i].text, ck.sources[i].len) != 0;
    }
    snprintf(file, sizeof file, "%s/%s", dir, ck.sources[0].name);
    snprintf(lib, sizeof lib, "%s/%s", dir, MNET_MODELS_DIR);
    mnet_checkpoint_meta_get(ck.meta, "task", task, sizeof task);
    mnet_run r;
    int rc = bad ? 2 : mnet_run_open_ex(&r, file, task[0] ? task : NULL, s->backend, lib, diag, err, sizeof err);
    remove_tree(dir, &ck);
    if (bad || rc) {
        fprintf(out, "mnet: cannot rebuild the model stored in %s%s%s\n", path, rc == 2 ? ": " : "",
                rc == 2 ? err : "");
        if (!bad)
            mnet_run_close(&r);
        mnet_checkpoint_free(&ck);
        return 1;
    }
    if (ck.source_hash && strcmp(ck.source_hash, r.comp->source_hash) != 0)
        fprintf(out, "mnet: warning: the rebuilt sources hash to %s, the checkpoint says %s\n",
                r.comp->source_hash, ck.source_hash);
    mnet_train *tr = mnet_train_new(r.model, r.params, &r.cfg, err, sizeof err);
    if (!tr || tr->n_params != ck.n_params) {
        fprintf(out, "mnet: %s\n", tr ? "the checkpoint's network does not fit its task" : err);
        mnet_train_free(tr);
        mnet_run_close(&r);
        mnet_checkpoint_free(&ck);
        return 1;
    }
    memcpy(tr->params, ck.params, ck.n_params * sizeof(mnet_real));
    memcpy(tr->adam_m, ck.adam_m, ck.n_params * sizeof(mnet_real));
    memcpy(tr->adam_v, ck.adam_v, ck.n_params * sizeof(mnet_real));
    tr->opt.t = ck.adam_t;
    /* replace the session's model and trainer */
    mnet_train_free(s->tr);
    if (s->loaded)
        mnet_run_close(&s->run);
    s->run = r;
    s->loaded = 1;
    s->tr = tr;
    s->batches_done = ck.n_batches; /* the loss history starts over */
    s->n_losses = 0;
    s->ms_total = s->net_ms_total = 0;
    snprintf(s->path, sizeof s->path, "%s", path);
    if (out)
        fprintf(out, "opened %s: effector %s, task %s, %ld batches trained\n", path, r.model->name,
                r.task_name, s->batches_done);
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
    if (mnet_safetensors_save_nn(path, &s->tr->nn, s->tr->params, NULL, MNET_ST_F32, err, sizeof err) != 0) {
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
    int B = s->run.cfg.batch_size;
    fprintf(out, "validation: %d episodes, mean loss %.6f; wrote %s/weights.safetensors and %s/validation.csv\n", B,
            loss, dir, dir);
    return 0;
}
