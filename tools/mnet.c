/* mnet - train and evaluate controllers of .mnet models.
 *
 *   mnet train FILE.mnet [--task NAME] [--batches N] [--seed S] [--out DIR]
 *              [--threads N] [--backend jit|c] [--force]
 *   mnet train --resume --out DIR [--batches N] [--threads N]
 *
 * --threads N (train.threads; default: the machine's cores) splits each
 * batch over N threads; the numbers are the same for every N, so it is not
 * part of the run and a run may be resumed with any count.
 *   mpirun -np R mnet train ...   the same run on R ranks (mnet_mpi.h,
 *                             docs/cluster.md): each rank computes its share
 *                             of every batch's slices, the same numbers bit
 *                             for bit; rank 0 alone writes and locks DIR;
 *                             threads default to the cores / ranks per node
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
#include <unistd.h>

#include "mnet_export.h"
#include "mnet_mpi.h"
#include "mnet_outdir.h"
#include "mnet_repl.h"
#include "mnet_plot.h"
#include "mnet_probe.h"
#include "mnet_session.h"
#include "mnet_sweep.h"
#include "mnet_threads.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Under mpirun: the ranks' agreed stop flag (the loop reads it), and what
 * SIGTERM - the launcher ending the job, e.g. when another rank died -
 * makes ranks 0 and 1 say (written in the handler: prepared beforehand). */
static volatile sig_atomic_t agreed_stop;
static char term_msg[4600];
static size_t term_len;

static void on_sigterm(int sig)
{
    (void)sig;
    interrupted = 1;
    if (term_len) {
        ssize_t w = write(STDERR_FILENO, term_msg, term_len);
        (void)w;
    }
}

static int usage(FILE *out, int status)
{
    fputs("usage: mnet train FILE.mnet [--task NAME] [--set NAME=VALUE]... [--batches N] [--seed S] [--out DIR]\n"
          "                  [--threads N] [--backend jit|c] [--force]\n"
          "       mnet train [FILE.mnet] --resume --out DIR [--batches N] [--threads N]\n"
          "       mnet eval DIR [FILE.mnet [--task NAME]] [--set NAME=VALUE]... [--episodes N] [--seed S]\n"
          "                     [--out FILE]   (default DIR/episodes.safetensors)\n"
          "       mnet sweep FILE.mnet [--task NAME] --seeds 1-10 [--set NAME=V1,V2,...]... [--jobs N] --out DIR\n"
          "       mnet plot DIR|EPISODES.safetensors [--out DIR] [--episode K]\n"
          "       mnet export DIR -o FILE.c [--precision float|double] [--with-plant]\n"
          "       mnet                 (interactive prompt)\n"
          "       mnet -c 'load FILE.mnet; train 100; eval'\n"
          "       mnet --version\n",
          out);
    return status;
}

static int save_checkpoint(void *ctx, char *err, size_t n)
{
    mnet_session *s = ctx;
    if (session_save(s, s->ckpt, stderr) != 0) {
        snprintf(err, n, "cannot write the checkpoint %s", s->ckpt);
        return -1;
    }
    return 0;
}

/* What the command line says of the run: --batches, --seed and --set
 * NAME=VALUE (a setting, a loss weight or a model parameter), each through
 * the language's own checks.  They are part of the run (its run text). */
typedef struct {
    const char *batches, *seed;
    const char *threads;        /* --threads: how, not what (not the run) */
    int n_sets;
    const char *sets[MNET_PROBE_MAX_SETS];
} cmdline_run;

/* Applies c to cfg and the parameter values of run r.  0 or 1 (message
 * printed). */
static int apply_cmdline(const mnet_run *r, mnet_task_config *cfg, double *values, const cmdline_run *c)
{
    char err[512];
    for (int k = 0; k < c->n_sets; k++) {
        const char *eq = strchr(c->sets[k], '=');
        char name[256];
        if (!eq || eq == c->sets[k] || !eq[1] || (size_t)(eq - c->sets[k]) >= sizeof name) {
            fprintf(stderr, "mnet: --set takes NAME=VALUE, not '%s'\n", c->sets[k]);
            return 1;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - c->sets[k]), c->sets[k]);
        if (mnet_run_apply(r, cfg, values, name, eq + 1, err, sizeof err) != 0) {
            fprintf(stderr, "mnet: --set %s: %s\n", c->sets[k], err);
            return 1;
        }
    }
    if (c->batches && task_set(cfg, "train.batches", c->batches, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "mnet: --batches: %s\n", err);
        return 1;
    }
    if (c->seed && task_set(cfg, "train.seed", c->seed, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "mnet: --seed: %s\n", err);
        return 1;
    }
    if (c->threads && task_set(cfg, "train.threads", c->threads, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "mnet: --threads: %s\n", err);
        return 1;
    }
    return 0;
}

/* A new run from FILE, or the run stored in OUT resumed: refused when FILE
 * (its sources or its run) or the command line would change it.  0, or
 * the exit status. */
static int start_run(mnet_session *s, const char *file, const char *task, int resume, const cmdline_run *c,
                     const char *out, int writer)
{
    char ckpt[4200], err[1024];
    const char *batches = c->batches, *seed = c->seed;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.mnetckpt", out);
    if (!resume) {
        if (session_load(s, file, task, stderr, stdout) != 0 ||
            apply_cmdline(&s->run, &s->run.cfg, s->run.param_values, c) != 0)
            return 1;
        mnet_run_sync_params(&s->run);
        if (mnet_task_check(&s->run.cfg, s->run.model, err, sizeof err) != 0) {
            fprintf(stderr, "mnet: %s\n", err);
            return 1;
        }
        return writer ? session_open_log(s, out, stderr) : 0;
    }
    if (session_open(s, ckpt, stderr, stdout) != 0)
        return 1;
    mnet_task_config want = s->run.cfg;
    double *values = malloc(((size_t)s->run.model->n_params + 1) * sizeof *values);
    if (!values)
        return 1;
    memcpy(values, s->run.param_values, (size_t)s->run.model->n_params * sizeof *values);
    int bad = apply_cmdline(&s->run, &want, values, c);
    if (!bad) {
        /* the --set settings must be the run's already: they would change it */
        mnet_task_config with = want;
        with.n_batches = s->run.cfg.n_batches;
        with.seed = s->run.cfg.seed;
        char diff[4096];
        if (mnet_run_diff(&s->run.cfg, &with, s->run.model, s->run.param_values, values, diff, sizeof diff) > 0) {
            fprintf(stderr, "mnet: --set would change the run in %s:\n%s", out, diff);
            bad = 1;
        }
    }
    free(values);
    if (bad)
        return 1;
    if (want.seed != s->run.cfg.seed) {
        fprintf(stderr, "mnet: the run in %s has seed %llu; --seed %s would make it another run (start a new one "
                        "in another --out)\n",
                out, (unsigned long long)s->run.cfg.seed, seed);
        return 1;
    }
    if (want.n_batches != s->run.cfg.n_batches && s->run.cfg.sched.kind != MNET_SCHED_CONSTANT) {
        fprintf(stderr, "mnet: the run in %s follows a %s schedule over %ld batches; --batches %s would change "
                        "the batches it already trained for (start a new run)\n",
                out, mnet_name_of(mnet_sched_names, (int)s->run.cfg.sched.kind), s->run.cfg.n_batches, batches);
        return 1;
    }
    if (file) {
        /* FILE must be the run's: the same sources and the same run */
        mnet_session f;
        session_init(&f);
        int rc = session_load(&f, file, task ? task : s->run.task_name, stderr, NULL);
        if (rc == 0 && strcmp(f.run.comp->source_hash, s->run.comp->source_hash) != 0) {
            fprintf(stderr, "mnet: %s (with its imports) is not what the run in %s was trained from: the sources "
                            "differ (hash %s, the run's %s); resume without FILE to continue the stored run, or "
                            "start a new run in another --out\n",
                    file, out, f.run.comp->source_hash, s->run.comp->source_hash);
            rc = 1;
        }
        if (rc == 0) {
            f.run.cfg.n_batches = want.n_batches;
            cmdline_run fc = *c;
            fc.batches = NULL;
            apply_cmdline(&f.run, &f.run.cfg, f.run.param_values, &fc);
            if (f.run.model->n_params == s->run.model->n_params) {
                char diff[4096];
                mnet_task_config stored = s->run.cfg; /* --batches may extend a constant-rate run */
                stored.n_batches = want.n_batches;
                if (mnet_run_diff(&stored, &f.run.cfg, s->run.model, s->run.param_values, f.run.param_values, diff,
                                  sizeof diff) > 0) {
                    fprintf(stderr, "mnet: %s's run differs from the run in %s:\n%s", file, out, diff);
                    rc = 1;
                }
            }
        }
        session_close(&f);
        if (rc)
            return 1;
    }
    s->run.cfg.n_batches = want.n_batches;
    s->run.cfg.threads = want.threads; /* any count: the same numbers */
    return writer ? session_open_log(s, out, stderr) : 0;
}

static int cmd_train(int argc, char **argv)
{
    const char *file = NULL, *task = NULL, *out = "mnet_out";
    cmdline_run cmd;
    memset(&cmd, 0, sizeof cmd);
    mnet_backend backend = MNET_BACKEND_JIT;
    int resume = 0, force = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--task") || !strcmp(a, "--batches") || !strcmp(a, "--seed") || !strcmp(a, "--out") ||
             !strcmp(a, "--threads")) &&
            i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--threads"))
                cmd.threads = v;
            else if (!strcmp(a, "--task"))
                task = v;
            else if (!strcmp(a, "--out"))
                out = v;
            else if (!strcmp(a, "--batches"))
                cmd.batches = v;
            else
                cmd.seed = v;
        } else if (!strcmp(a, "--set") && i + 1 < argc) {
            if (cmd.n_sets == MNET_PROBE_MAX_SETS) {
                fprintf(stderr, "mnet: at most %d --set options\n", MNET_PROBE_MAX_SETS);
                return 2;
            }
            cmd.sets[cmd.n_sets++] = argv[++i];
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
    /* under mpirun: every rank trains the run, rank 0 alone writes */
    int launched = mnet_mpi_launched();
    if (launched > 1 && !mnet_mpi_available()) {
        if (mnet_mpi_env_rank() == 0)
            fprintf(stderr, "mnet: train was started as %d MPI processes, but %s\n", launched,
                    mnet_mpi_how_to_get());
        return 1;
    }
    char merr[1024];
    if (launched && mnet_mpi_init(merr, sizeof merr) != 0) {
        fprintf(stderr, "mnet: %s\n", merr);
        return 1;
    }
    const int rank0 = mnet_mpi_rank() == 0, mpi = mnet_mpi_size() > 1;
    if (!rank0 && !freopen("/dev/null", "w", stdout))
        return 1;
    /* DIR: created, checked and locked until the end of the run (rank 0) */
    mnet_outdir od = MNET_OUTDIR_INIT;
    char oerr[1024];
    int status = 0;
    if (rank0 && mnet_outdir_open(&od, out, resume ? MNET_OUTDIR_RESUME : force ? MNET_OUTDIR_FORCE : MNET_OUTDIR_NEW,
                                  oerr, sizeof oerr) != 0) {
        fprintf(stderr, "mnet: %s\n", oerr);
        status = 1;
    }
    if (mnet_mpi_agree(status) != 0)
        return 1;
    if (od.n_removed > 0)
        printf("mnet: removed %d orphaned temporary file%s in '%s' (left by a killed run)\n", od.n_removed,
               od.n_removed == 1 ? "" : "s", out);
    mnet_session s;
    session_init(&s);
    s.backend = backend;
    /* rank 0 first (its messages are the run's), then the others */
    if (rank0)
        status = start_run(&s, file, task, resume, &cmd, out, 1);
    if (mpi && mnet_mpi_agree(status) == 0 && !rank0 && (status = start_run(&s, file, task, resume, &cmd, out, 0)))
        fprintf(stderr, "mnet: rank %d could not start the run (above): FILE and DIR must be readable on every "
                        "node\n", mnet_mpi_rank());
    if (mnet_mpi_agree(status) != 0) {
        session_close(&s);
        mnet_outdir_abandon(&od, out); /* a run that never started leaves no directory */
        return rank0 && status ? status : 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    if (mpi) {
        /* the cores of a node are shared by its ranks */
        if (!cmd.threads) {
            int t = mnet_cpu_count() / mnet_mpi_local_size();
            s.run.cfg.threads = t > 0 ? t : 1;
        }
        if (mnet_mpi_rank() <= 1) /* rank 1 speaks when rank 0 is the one that died */
            term_len = (size_t)snprintf(term_msg, sizeof term_msg,
                                        "mnet: rank %d: ended by the launcher (SIGTERM: a rank died, or the job was "
                                        "cancelled); the run in %s keeps its last checkpoint: mnet train --resume "
                                        "--out %s continues it on any number of ranks\n",
                                        mnet_mpi_rank(), out, out);
        if (term_len >= sizeof term_msg)
            term_len = sizeof term_msg - 1;
        sa.sa_handler = on_sigterm;
        sigaction(SIGTERM, &sa, NULL);
        if (!s.tr) {
            char err[1024];
            s.tr = mnet_train_new(s.run.model, s.run.params, &s.run.cfg, err, sizeof err);
            if (!s.tr) {
                fprintf(stderr, "mnet: %s\n", err);
                mnet_mpi_abort(1);
            }
        }
    }
    long N = s.run.cfg.n_batches, todo = N - session_batches(&s);
    /* a resumed run's trainer was built before --threads was read */
    if (s.tr && mnet_train_set_threads(s.tr, s.run.cfg.threads) != 0) {
        fprintf(stderr, "mnet: %s\n", mnet_train_error(s.tr));
        if (mpi)
            mnet_mpi_abort(1);
        session_close(&s);
        mnet_outdir_close(&od);
        return 1;
    }
    int slice, threads = mnet_train_plan(&s.run.cfg, -1, &slice);
    mnet_mpi_train *xm = NULL;
    if (mpi) {
        char err[1024];
        const int R = mnet_mpi_size(), n_slices = (s.run.cfg.batch_size + slice - 1) / slice;
        int k0, k1, which = 0;
        mnet_mpi_slices(mnet_mpi_rank(), R, n_slices, &k0, &k1);
        threads = mnet_train_plan(&s.run.cfg, -1, NULL);
        if (threads > k1 - k0 && k1 > k0)
            threads = k1 - k0;
        mnet_train_set_threads(s.tr, threads);
        xm = mnet_mpi_train_attach(s.tr, &interrupted, &agreed_stop, err, sizeof err);
        if (!xm) {
            fprintf(stderr, "mnet: rank %d: %s\n", mnet_mpi_rank(), err);
            mnet_mpi_abort(1);
        }
        /* every rank must start from the same state: the same network,
         * moments, optimiser step and batch */
        size_t np;
        long start[2] = {session_batches(&s), (long)s.tr->opt.t};
        if (mnet_mpi_same(s.tr->params, s.tr->n_params * sizeof *s.tr->params, &which) ||
            mnet_mpi_same(s.tr->adam_m, s.tr->n_params * sizeof *s.tr->adam_m, &which) ||
            mnet_mpi_same(s.tr->adam_v, s.tr->n_params * sizeof *s.tr->adam_v, &which) ||
            mnet_mpi_same(start, sizeof start, &which)) {
            if (rank0)
                fprintf(stderr, "mnet: rank %d does not start from rank 0's network (another FILE or checkpoint "
                                "on its node?): every rank must read the same files\n", which);
            mnet_mpi_abort(1);
        }
        mnet_train_params(s.tr, &np);
        char what[160];
        snprintf(what, sizeof what, "%d thread%s, slices %d..%d of %d", threads, threads == 1 ? "" : "s", k0,
                 k1 - 1, n_slices);
        if (k1 == k0)
            snprintf(what, sizeof what, "no slice (%d slices for %d ranks): it only waits", n_slices, R);
        printf("mnet: %d ranks share each batch's %d slices; the gradient exchange moves %zu parameters (%.0f kB) "
               "per batch\n", R, n_slices, np, np * sizeof(mnet_real) / 1e3);
        mnet_mpi_describe(stdout, what);
        if (rank0 && R > n_slices)
            fprintf(stderr, "mnet: warning: %d ranks but %d slices of %d episodes: %d rank%s have nothing to do "
                            "(a smaller train.slice makes more slices, and another run)\n", R, n_slices, slice,
                    R - n_slices, R - n_slices == 1 ? "" : "s");
    }
    /* the trainer (made at the first batch) tunes a count left to mnet */
    const int automatic = !mpi && s.run.cfg.threads <= 0 && threads > 1;
    printf("mnet: training task '%s' on %s: batches %ld..%ld of %d episodes, %d steps each, %d thread%s (slices of "
           "%d)%s%s\n",
           s.run.task_name, s.run.model->name, session_batches(&s), N, s.run.cfg.batch_size,
           mnet_task_steps(&s.run.cfg, s.run.model), threads, threads == 1 ? "" : "s", slice,
           mpi ? " on each rank" : "",
           automatic ? "; automatic: one thread while it measures faster (--threads N fixes the count)" : "");
    /* checkpoints ten times a run (at least every 50 batches) and at the
     * end, so a crash loses little; a failed batch made no update, so the
     * state saved then is the last good one */
    snprintf(s.ckpt, sizeof s.ckpt, "%s/checkpoint.mnetckpt", out);
    s.loop.checkpoint = rank0 ? save_checkpoint : NULL;
    s.loop.checkpoint_ctx = &s;
    s.loop.checkpoint_every = todo / 10 > 50 ? todo / 10 : 50;
    status = session_train_to(&s, N, mpi ? &agreed_stop : &interrupted, stdout);
    /* a write of rank 0's failed while the others went on to the next
     * batch's exchange: end them (a failed batch failed everywhere) */
    if (mpi && status != 0 && rank0 && !(s.tr && mnet_train_error(s.tr)[0])) {
        fprintf(stderr, "mnet: rank 0 could not write (above): ending every rank\n");
        mnet_mpi_abort(1);
    }
    if (s.tr && status == 0 && !s.loop.interrupted && rank0)
        status = session_write_outputs(&s, out, stdout);
    status = mnet_mpi_agree(status);
    if (xm && s.loop.n_trained)
        printf("mnet: rank 0 spent %.3f ms per batch in the exchange between the ranks (waiting for the slowest "
               "included)\n", mnet_mpi_train_exchange_ms(xm));
    mnet_mpi_train_detach(xm, s.tr);
    long done = s.loop.n_trained;
    /* no batch trained here: no mean to print ("none", not nan) */
    char last[32] = "none";
    if (done)
        snprintf(last, sizeof last, "%.6g", session_loss_last100(&s));
    if (automatic && done && s.tr && mnet_train_threads_auto(s.tr))
        printf("mnet: automatic threads: %ld of %ld batches on one thread, the rest on %d (%ld probes of 1 against %d)\n",
               s.tr->tune.batches_one, s.tr->tune.seen, s.tr->tune.n_max, s.tr->tune.n_probes, s.tr->tune.n_max);
    printf("done batches=%ld loss_last100=%s ms_per_batch=%.3f net_ms_per_batch=%.3f\n", session_batches(&s), last,
           done ? s.loop.ms_total / done : 0.0, done ? s.loop.net_ms_total / done : 0.0);
    if (status == 0 && s.loop.interrupted) {
        printf("mnet: interrupted; the run is saved in %s (mnet train --resume --out %s continues it)\n", out, out);
        status = 130;
    }
    session_close(&s);
    mnet_outdir_close(&od);
    return status;
}

/* mnet eval DIR [FILE.mnet [--task NAME]] [--set NAME=VALUE]... [--episodes N]
 *               [--seed S] [--out FILE]
 * Without a probe option it also rewrites DIR's weights and validation. */
static int cmd_eval(int argc, char **argv)
{
    if (argc < 1 || argv[0][0] == '-')
        return usage(stderr, 2);
    const char *dir = argv[0];
    mnet_probe p;
    if (probe_parse(&p, argc - 1, argv + 1, stderr) != 0) {
        probe_free(&p);
        return 2;
    }
    int plain = !p.file && !p.n_sets && !p.episodes && !p.have_seed;
    char episodes[4200];
    snprintf(episodes, sizeof episodes, "%s/episodes.safetensors", dir);
    if (!p.out)
        p.out = episodes;
    /* eval writes into DIR: DIR is locked as for --resume (it must hold a
     * checkpoint), so a run training there is not written under, and it
     * names its holder */
    mnet_outdir od = MNET_OUTDIR_INIT;
    char oerr[1024];
    if (mnet_outdir_open(&od, dir, MNET_OUTDIR_RESUME, oerr, sizeof oerr) != 0) {
        fprintf(stderr, "mnet: eval: %s\n", oerr);
        probe_free(&p);
        return 1;
    }
    if (od.n_removed > 0)
        printf("mnet: removed %d orphaned temporary file%s in '%s' (left by a killed run)\n", od.n_removed,
               od.n_removed == 1 ? "" : "s", dir);
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.mnetckpt", dir);
    mnet_session s;
    session_init(&s);
    int status = session_open(&s, ckpt, stderr, stdout) || session_probe(&s, &p, stdout) ||
                 (plain && session_write_outputs(&s, dir, stdout));
    session_close(&s);
    mnet_outdir_close(&od);
    probe_free(&p);
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
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return usage(stdout, 0);
    if (mnet_sweep_owns(argc, argv))
        return mnet_sweep_main(argc - 1, argv + 1);
    /* under mpirun only train (and sweep) work as ranks */
    if (mnet_mpi_launched() > 1 && strcmp(argv[1], "train") && strcmp(argv[1], "sweep")) {
        if (mnet_mpi_env_rank() == 0)
            fprintf(stderr, "mnet: %s runs in one process: start it without mpirun (mpirun -np R works for mnet "
                            "train)\n", argv[1]);
        return 2;
    }
    if (!strcmp(argv[1], "train")) {
        int rc = cmd_train(argc - 2, argv + 2);
        mnet_mpi_finalize();
        return rc;
    }
    if (!strcmp(argv[1], "plot"))
        return mnet_plot_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "eval"))
        return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(argv[1], "export"))
        return mnet_export_main(argc - 2, argv + 2);
    fprintf(stderr, "mnet: unknown command '%s'\n", argv[1]);
    return usage(stderr, 2);
}
