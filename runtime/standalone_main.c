/* standalone_main.c - `main` for a model compiled to C and linked with the
 * runtime:
 *
 *   mnetc model.mnet -o model.c
 *   cc model.c -lmnetrt -lopenblas -lm -o model      (-lmnetrt_f for
 *   ./model train [--batches N] [--seed S] [--out DIR]  --precision float)
 *                 [--force]
 *   ./model info
 *
 * It trains the task the .mnet file declared (embedded by mnetc as
 * mnet_compiled_model->task; the reference recipe when there is none) and
 * writes DIR/log.csv, DIR/weights.safetensors and DIR/validation.csv, like
 * `mnet train` but without a checkpoint (that needs the .mnet sources: use
 * `mnet train` for resumable runs).  DIR is opened as `mnet train` opens it
 * (mnet_outdir.h: created with its parents, locked for the run, a DIR that
 * holds a run refused unless --force).  Exit status: 0 success, 1 a refused
 * DIR or a failed run, 2 usage or setup errors, 130 interrupted.
 *
 * It lives in the library as its own object, the way libfl provides a main
 * for flex scanners: a program that defines main (mnet, the tests) never
 * pulls it in; a generated model file, which defines only the model table,
 * gets it from the archive. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mnet_log.h"
#include "mnet_outdir.h"
#include "mnet_safetensors.h"
#include "mnet_settings.h"
#include "mnet_train.h"

extern const mnet_model *mnet_compiled_model;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s train [--batches N] [--seed S] [--out DIR] [--force]   train the compiled task\n"
            "       %s info                                                   the model and its task\n",
            prog, prog);
}

static int parse_long(const char *s, long lo, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo)
        return -1;
    *out = v;
    return 0;
}

/* The embedded run (mnetc's run text: settings and parameter values) over
 * the defaults. */
static int load_run(const mnet_model *m, mnet_task_config *cfg, mnet_real *params, char *err, size_t n)
{
    double *values = malloc(((size_t)m->n_params + 1) * sizeof *values);
    if (!values) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    for (int i = 0; i < m->n_params; i++)
        values[i] = m->param_defaults[i];
    *cfg = mnet_task_config_default();
    int rc = m->task ? mnet_run_text_parse(m->task, cfg, m, values, err, n) : 0;
    for (int i = 0; rc == 0 && i < m->n_params; i++)
        params[i] = (mnet_real)values[i];
    free(values);
    return rc;
}

static int info(const mnet_model *m, mnet_real *params)
{
    printf("model %s: %d joints, %d muscles, %d state rows, %d parameters, step %g s\n", m->name, m->n_dof,
           m->n_muscles, m->n_state, m->n_params, m->step_size);
    printf("compiled loss terms:");
    for (int k = 0; k < m->n_loss; k++)
        printf(" %s", m->loss_names[k]);
    if (!m->task) {
        printf("\nno task embedded: the reference recipe\n");
        return 0;
    }
    mnet_task_config cfg;
    char err[1024];
    if (load_run(m, &cfg, params, err, sizeof err) != 0) {
        fprintf(stderr, "the embedded run: %s\n", err);
        return 2;
    }
    /* the run's settings by name, with their units (the parameter values
     * are in the model; `info` lists the settings) */
    printf("\nthe embedded run:\n");
    for (int i = 0; i < mnet_setting_count(); i++) {
        const mnet_setting *st = mnet_setting_at(i);
        char v[1024];
        mnet_setting_format(&cfg, st, v, sizeof v);
        printf("  %-28s %s%s%s\n", st->name, v, st->unit[0] ? " " : "", st->unit);
    }
    for (int k = 0; k < cfg.n_losses; k++)
        printf("  loss %-23s weight %g, derivative %g\n", mnet_loss_name(m, &cfg.loss[k]), cfg.loss[k].weight,
               cfg.loss[k].deriv_weight);
    return 0;
}

static int train(const mnet_model *m, mnet_real *params, int argc, char **argv)
{
    char err[1024] = "";
    mnet_task_config cfg;
    if (load_run(m, &cfg, params, err, sizeof err) != 0) {
        fprintf(stderr, "%s: the embedded run: %s\n", argv[0], err);
        return 2;
    }
    const char *out = "run";
    int force = 0;
    for (int i = 2; i < argc; i++) {
        long v;
        if (!strcmp(argv[i], "--batches") && i + 1 < argc && parse_long(argv[i + 1], 0, &v) == 0) {
            cfg.n_batches = v;
            i++;
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc && parse_long(argv[i + 1], 0, &v) == 0) {
            cfg.seed = (uint64_t)v;
            i++;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--force")) {
            force = 1;
        } else {
            fprintf(stderr, "%s: bad or incomplete option '%s'\n", argv[0], argv[i]);
            usage(stderr, argv[0]);
            return 2;
        }
    }
    /* DIR: path checked, created with its parents and locked until the end
     * (mnet_outdir.h); a DIR that holds a run is refused unless --force.
     * There is no checkpoint, so nothing to resume. */
    mnet_outdir od = MNET_OUTDIR_INIT;
    if (mnet_outdir_open(&od, out, force ? MNET_OUTDIR_FORCE : MNET_OUTDIR_NEW, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 1;
    }
    mnet_train *tr = mnet_train_new(m, params, &cfg, err, sizeof err);
    if (!tr) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        mnet_outdir_close(&od);
        return 2;
    }
    char path[8192];
    const char *names[MNET_TASK_MAX_LOSSES];
    for (int k = 0; k < cfg.n_losses; k++)
        names[k] = mnet_loss_name(m, &cfg.loss[k]);
    mnet_trainlog lg;
    snprintf(path, sizeof path, "%s/log.csv", out);
    int status = 0;
    if (mnet_trainlog_open(&lg, path, cfg.n_losses, names, -1, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        mnet_train_free(tr);
        mnet_outdir_close(&od);
        return 2;
    }
    signal(SIGINT, on_sigint);
    mnet_loop loop;
    memset(&loop, 0, sizeof loop);
    loop.progress = stdout;
    loop.progress_mode = -1;
    loop.log = &lg;
    loop.stop = &interrupted;
    if (mnet_train_loop(tr, &loop, cfg.n_batches, 0, cfg.n_batches, stderr, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        status = 1;
    }
    if (loop.interrupted) {
        printf("interrupted after %ld batches\n", loop.n_trained);
        status = 130;
    }
    if (mnet_trainlog_close(&lg, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        status = 1;
    }
    snprintf(path, sizeof path, "%s/weights.safetensors", out);
    if (mnet_safetensors_save_modular(path, &tr->nn, tr->params, &tr->modular, tr->mask, tr->sign, NULL, MNET_ST_F32, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        status = 1;
    }
    double vloss = 0;
    snprintf(path, sizeof path, "%s/validation.csv", out);
    if (mnet_train_write_validation(tr, params, path, &vloss, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        status = 1;
    } else {
        printf("validation: %d episodes, mean loss %.6f; wrote %s/weights.safetensors and %s/validation.csv\n",
               cfg.batch_size, vloss, out, out);
    }
    long done = loop.n_trained;
    printf("done batches=%ld loss_last100=%.6g ms_per_batch=%.3f net_ms_per_batch=%.3f\n", loop.batch,
           done ? mnet_loop_loss_last100(&loop) : 0.0, done ? loop.ms_total / done : 0.0,
           done ? loop.net_ms_total / done : 0.0);
    mnet_train_free(tr);
    mnet_outdir_close(&od);
    return status;
}

int main(int argc, char **argv)
{
    const mnet_model *m = mnet_compiled_model;
    if (!m || m->abi != MNET_MODEL_ABI || m->real_size != (int)sizeof(mnet_real)) {
        int real = m ? m->real_size : -1;
        fprintf(stderr, "%s: the model was compiled for another runtime (ABI %d, %d-byte reals; this one: ABI %d, "
                        "%d-byte reals): link %s\n",
                argv[0], m ? m->abi : -1, real, MNET_MODEL_ABI, (int)sizeof(mnet_real),
                real == 4 ? "-lmnetrt_f (the single-precision runtime)" : "-lmnetrt (the double-precision runtime)");
        return 2;
    }
    mnet_real *params = malloc(((size_t)m->n_params + 1) * sizeof *params);
    if (!params) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 2;
    }
    int status;
    if (argc >= 2 && !strcmp(argv[1], "train"))
        status = train(m, params, argc, argv);
    else if (argc == 2 && !strcmp(argv[1], "info"))
        status = info(m, params);
    else {
        int help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
        usage(help ? stdout : stderr, argv[0]);
        status = help ? 0 : 2;
    }
    free(params);
    return status;
}
