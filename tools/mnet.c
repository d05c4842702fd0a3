/* mnet - train and evaluate controllers of .mnet models.
 *
 *   mnet train FILE.mnet [--task NAME] [--batches N] [--seed S] [--out DIR]
 *              [--backend jit|c] [--force]
 *   mnet train --resume --out DIR [--batches N]
 *   mnet eval DIR
 *   mnet                      the REPL (mnet_repl.c)
 *   mnet --version
 *
 * `train` compiles the file's effector (LLVM JIT, or the system C compiler),
 * trains the task the file declares and writes DIR/log.csv (a line per
 * batch), DIR/checkpoint.mnetckpt (atomically, ten times per run and at the
 * end; it carries the sources, so `eval` and `--resume` need nothing else),
 * DIR/weights.safetensors and DIR/validation.csv; it ends with one line
 *   done batches=N loss_last100=X ms_per_batch=Y
 * DIR is locked for the whole run, and a new run refuses a DIR that holds
 * one unless --force (mnet_outdir.h).
 * Exit status: 0 success, 1 errors in the input or a failed run, 2 usage.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mnet_outdir.h"
#include "mnet_repl.h"
#include "mnet_session.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int usage(FILE *out, int status)
{
    fputs("usage: mnet train FILE.mnet [--task NAME] [--batches N] [--seed S] [--out DIR] [--backend jit|c]\n"
          "                  [--force]\n"
          "       mnet train --resume --out DIR [--batches N]\n"
          "       mnet eval DIR\n"
          "       mnet                 (interactive prompt)\n"
          "       mnet -c 'load FILE.mnet; train 100; eval'\n"
          "       mnet --version\n",
          out);
    return status;
}

static int cmd_train(int argc, char **argv)
{
    const char *file = NULL, *task = NULL, *out = "mnet_out";
    long batches = -1;
    mnet_backend backend = MNET_BACKEND_JIT;
    int resume = 0, force = 0;
    double seed = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--task") || !strcmp(a, "--batches") || !strcmp(a, "--seed") || !strcmp(a, "--out")) &&
            i + 1 < argc) {
            const char *v = argv[++i];
            char *end;
            if (!strcmp(a, "--task"))
                task = v;
            else if (!strcmp(a, "--out"))
                out = v;
            else if (!strcmp(a, "--batches")) {
                batches = strtol(v, &end, 10);
                if (*end || batches < 0) {
                    fprintf(stderr, "mnet: --batches needs a whole number, not '%s'\n", v);
                    return 2;
                }
            } else {
                seed = strtod(v, &end);
                if (*end || seed < 0) {
                    fprintf(stderr, "mnet: --seed needs a non-negative number, not '%s'\n", v);
                    return 2;
                }
            }
        } else if (!strcmp(a, "--resume")) {
            resume = 1;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--backend") && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "jit") && strcmp(v, "c")) {
                fprintf(stderr, "mnet: --backend is jit or c, not '%s'\n", v);
                return 2;
            }
            backend = v[0] == 'c' ? MNET_BACKEND_C : MNET_BACKEND_JIT;
        } else if (a[0] == '-') {
            fprintf(stderr, "mnet: unknown or incomplete option '%s'\n", a);
            return usage(stderr, 2);
        } else if (file) {
            fprintf(stderr, "mnet: more than one model file\n");
            return 2;
        } else {
            file = a;
        }
    }
    if (!file && !resume)
        return usage(stderr, 2);
    if (resume && force) {
        fprintf(stderr, "mnet: --resume continues the run in --out, --force replaces it: not both\n");
        return 2;
    }
    /* DIR: created, checked and locked until the end of the run */
    mnet_outdir od = MNET_OUTDIR_INIT;
    char oerr[1024];
    if (mnet_outdir_open(&od, out, resume ? MNET_OUTDIR_RESUME : force ? MNET_OUTDIR_FORCE : MNET_OUTDIR_NEW,
                         oerr, sizeof oerr) != 0) {
        fprintf(stderr, "mnet: %s\n", oerr);
        return 1;
    }
    if (od.n_removed > 0)
        printf("mnet: removed %d orphaned temporary file%s in '%s' (left by a killed run)\n", od.n_removed,
               od.n_removed == 1 ? "" : "s", out);
    mnet_session s;
    session_init(&s);
    s.backend = backend;
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.mnetckpt", out);
    if (resume) {
        if (session_open(&s, ckpt, stderr, stdout) != 0) {
            session_close(&s);
            mnet_outdir_close(&od);
            return 1;
        }
    } else if (session_load(&s, file, task, stderr, stdout) != 0) {
        session_close(&s);
        mnet_outdir_close(&od);
        return 1;
    }
    if (batches >= 0)
        s.run.cfg.n_batches = batches;
    if (seed >= 0 && !resume)
        s.run.cfg.seed = (uint64_t)seed;
    if (session_open_log(&s, out, stderr) != 0) {
        session_close(&s);
        mnet_outdir_close(&od);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    long N = s.run.cfg.n_batches, todo = N - s.batches_done;
    printf("mnet: training task '%s' on %s: batches %ld..%ld of %d episodes, %d steps each\n",
           s.run.task_name, s.run.model->name, s.batches_done, N, s.run.cfg.batch_size,
           mnet_task_steps(&s.run.cfg, s.run.model));
    /* train in chunks, checkpointing between them, so a crash loses little */
    long chunk = todo / 10 > 50 ? todo / 10 : 50;
    int status = 0;
    while (s.batches_done < N && !interrupted && status == 0) {
        long k = N - s.batches_done < chunk ? N - s.batches_done : chunk;
        status = session_train(&s, k, &interrupted, stdout);
        /* a failed batch left the parameters as they were: that state is
         * the last good checkpoint */
        if (s.tr && session_save(&s, ckpt, stderr) != 0)
            status = 1;
    }
    if (s.tr && status == 0)
        status = session_write_outputs(&s, out, stdout);
    long done = s.n_losses;
    printf("done batches=%ld loss_last100=%.6g ms_per_batch=%.3f net_ms_per_batch=%.3f\n", s.batches_done,
           session_loss_last(&s, 100), done ? s.ms_total / done : 0.0, done ? s.net_ms_total / done : 0.0);
    session_close(&s);
    mnet_outdir_close(&od);
    return status;
}

static int cmd_eval(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-')
        return usage(stderr, 2);
    const char *dir = argv[0];
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.mnetckpt", dir);
    mnet_session s;
    session_init(&s);
    int status = session_open(&s, ckpt, stderr, stdout) || session_eval(&s, stdout) ||
                 session_write_outputs(&s, dir, stdout);
    session_close(&s);
    return status ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return mnet_repl_main(NULL);
    if (!strcmp(argv[1], "-c")) {
        if (argc != 3)
            return usage(stderr, 2);
        return mnet_repl_main(argv[2]);
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mnet 0.1.0\n");
        return 0;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return usage(stdout, 0);
    if (!strcmp(argv[1], "train"))
        return cmd_train(argc - 2, argv + 2);
    if (!strcmp(argv[1], "eval"))
        return cmd_eval(argc - 2, argv + 2);
    fprintf(stderr, "mnet: unknown command '%s'\n", argv[1]);
    return usage(stderr, 2);
}
