/* mnet - train and evaluate controllers of .mnet models.
 *
 *   mnet train FILE.mnet [--task NAME] [--batches N] [--seed S] [--out DIR]
 *   mnet --version
 *
 * `train` compiles the file's effector (C backend, system compiler), trains
 * the task the file declares, and writes DIR/log.csv; it ends with one line
 *   done batches=N loss_last100=X ms_per_batch=Y
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

#include "mnet_run.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int usage(FILE *out, int status)
{
    fputs("usage: mnet train FILE.mnet [--task NAME] [--batches N] [--seed S] [--out DIR]\n"
          "       mnet --version\n",
          out);
    return status;
}

static int make_dir(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static int cmd_train(int argc, char **argv)
{
    const char *file = NULL, *task = NULL, *out = "mnet_out";
    long batches = -1;
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
    if (!file)
        return usage(stderr, 2);
    char err[1024];
    mnet_run r;
    int rc = mnet_run_open(&r, file, task, stderr, err, sizeof err);
    if (rc) {
        if (rc == 2)
            fprintf(stderr, "mnet: %s\n", err);
        mnet_run_close(&r);
        return 1;
    }
    if (batches >= 0)
        r.cfg.n_batches = batches;
    if (seed >= 0)
        r.cfg.seed = (uint64_t)seed;
    mnet_train *tr = mnet_train_new(r.model, r.params, &r.cfg, err, sizeof err);
    if (!tr) {
        fprintf(stderr, "mnet: %s\n", err);
        mnet_run_close(&r);
        return 1;
    }
    if (make_dir(out) != 0) {
        fprintf(stderr, "mnet: cannot create output directory '%s': %s\n", out, strerror(errno));
        mnet_train_free(tr);
        mnet_run_close(&r);
        return 1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/log.csv", out);
    FILE *log = fopen(path, "w");
    if (!log) {
        fprintf(stderr, "mnet: cannot write '%s': %s\n", path, strerror(errno));
        mnet_train_free(tr);
        mnet_run_close(&r);
        return 1;
    }
    fprintf(log, "batch,loss,grad_norm,ms\n");
    signal(SIGINT, on_sigint);
    long N = r.cfg.n_batches, done = 0;
    double *losses = calloc((size_t)(N > 0 ? N : 1), sizeof(double));
    double t0 = now_ms(), last_print = t0;
    int status = 0;
    printf("mnet: training task '%s' on %s: %ld batches of %d, %d steps\n", r.task_def->name, r.model->name, N,
           r.cfg.batch_size, mnet_task_steps(&r.cfg, r.model));
    for (long b = 0; b < N && !interrupted; b++) {
        double tb = now_ms(), loss;
        if (mnet_train_step(tr, b, &loss) != 0) {
            fprintf(stderr, "mnet: stopped at batch %ld: %s\n", b, mnet_train_error(tr));
            status = 1;
            break;
        }
        losses[b] = loss;
        done = b + 1;
        double t1 = now_ms();
        fprintf(log, "%ld,%.9g,%.9g,%.3f\n", b, loss, tr->grad_norm, t1 - tb);
        fflush(log);
        if (t1 - last_print > 2000 || b + 1 == N) {
            double rate = done / ((t1 - t0) / 1e3);
            printf("batch %ld/%ld loss %.5f  %.1f batches/s  eta %.0f s\n", done, N, loss, rate,
                   (N - done) / (rate > 0 ? rate : 1));
            fflush(stdout);
            last_print = t1;
        }
    }
    double ms = done ? (now_ms() - t0) / done : 0, tail = 0;
    long k0 = done > 100 ? done - 100 : 0;
    for (long k = k0; k < done; k++)
        tail += losses[k];
    tail = done ? tail / (done - k0) : NAN;
    if (interrupted)
        printf("mnet: interrupted after %ld batches\n", done);
    printf("done batches=%ld loss_last100=%.6g ms_per_batch=%.3f\n", done, tail, ms);
    fclose(log);
    free(losses);
    mnet_train_free(tr);
    mnet_run_close(&r);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, 2);
    if (!strcmp(argv[1], "--version")) {
        printf("mnet 0.1.0\n");
        return 0;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return usage(stdout, 0);
    if (!strcmp(argv[1], "train"))
        return cmd_train(argc - 2, argv + 2);
    fprintf(stderr, "mnet: unknown command '%s'\n", argv[1]);
    return usage(stderr, 2);
}
