/* test_threads.c - a batch split over threads gives the same numbers bit
 * for bit for every thread count (runtime/threads.c, train.c's slices):
 * losses, each term, gradients and weights after several Adam steps, and
 * an evaluation rollout, for 1, 2, 3 and 4 threads (more threads than this
 * machine's cores, and batches that no thread count divides), on every
 * cell type (gru, rnn, mlp) and a library model of each kind (a point
 * mass, arm26) compiled by the JIT.  Also: the pool runs every task once;
 * train.threads is not part of the run; Ctrl-C (SIGINT from inside a
 * threaded batch) stops the loop after that batch and the trainer's
 * threads are joined. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "mnet_settings.h"
#include "mnet_threads.h"
#include "mnet_train.h"
#include "test_support.h"

enum { N_BATCHES = 3, MAX_THREADS = 4 };

/* ---- the pool ---------------------------------------------------------------- */

typedef struct {
    int count[100];
    int thread_ok;
} pool_ctx;

static void count_task(void *ctx, int task, int thread)
{
    pool_ctx *c = ctx;
    c->count[task]++;
    if (thread < 0 || thread >= MAX_THREADS)
        c->thread_ok = 0;
}

static void test_pool(void)
{
    for (int n = 1; n <= MAX_THREADS; n++) {
        char err[200] = "";
        mnet_pool *p = mnet_pool_new(n, err, sizeof err);
        CU_ASSERT_FATAL(p != NULL);
        CU_ASSERT(mnet_pool_threads(p) == n);
        for (int rep = 0; rep < 20; rep++) {
            /* tasks fewer than, equal to and more than the threads */
            int tasks = rep % 7;
            pool_ctx c;
            memset(&c, 0, sizeof c);
            c.thread_ok = 1;
            mnet_pool_run(p, tasks, count_task, &c);
            int bad = 0;
            for (int k = 0; k < 100; k++)
                bad += c.count[k] != (k < tasks);
            CU_ASSERT(bad == 0);
            CU_ASSERT(c.thread_ok);
        }
        mnet_pool_free(p);
    }
    CU_ASSERT(mnet_cpu_count() >= 1);
    CU_ASSERT(mnet_pool_threads(NULL) == 1);
}

/* ---- the models ----------------------------------------------------------------- */

static mnet_compilation *comp_pm, *comp_arm;
static mnet_jit_model *jit_pm, *jit_arm;

static const mnet_model *jit_of(const char *file, mnet_compilation **comp, mnet_jit_model **jm)
{
    if (*jm)
        return mnet_jit_model_table(*jm);
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/models/%s", MNET_SOURCE_DIR, file);
    *comp = mnet_compile(path, NULL, stderr);
    if (!*comp)
        return NULL;
    *jm = mnet_compilation_jit(*comp, sizeof(mnet_real) == 4, err, sizeof err);
    if (!*jm) {
        fprintf(stderr, "test_threads: JIT of %s failed: %s\n", file, err);
        return NULL;
    }
    return mnet_jit_model_table(*jm);
}

static const mnet_model *point_mass(void) { return jit_of("FreePointMass24.mnet", &comp_pm, &jit_pm); }
static const mnet_model *arm26(void) { return jit_of("RigidTendonArm26.mnet", &comp_arm, &jit_arm); }

/* Everything that crosses columns or slices: noise on every path, action
 * frames, delays, a curl field (the load's gradient), every library loss
 * with derivative weights, hidden activity (the arena read by the loss). */
static mnet_task_config config(mnet_nn_cell cell, int batch, int slice)
{
    mnet_task_config c = mnet_task_config_default();
    c.duration = 0.12;
    c.batch_size = batch;
    c.batch_slice = slice;
    c.n_hidden = 8;
    c.n_layers = cell == MNET_NN_MLP ? 2 : 1;
    c.cell = cell;
    c.readout_bias = -1.0;
    c.proprio_delay = 0.02;
    c.vision_delay = 0.03;
    c.action_frames = 2;
    c.action_noise = 0.05;
    c.proprio_noise = 0.01;
    c.vision_noise = 0.01;
    c.obs_noise = 0.02;
    c.hidden_noise = 0.05;
    c.curl = 4.0;
    c.seed = 11;
    c.lr = 1e-2;
    c.n_losses = 5;
    c.loss[0] = (mnet_loss_term){MNET_LOSS_POSITION_L1, 1.0, 1e-3, 0, ""};
    c.loss[1] = (mnet_loss_term){MNET_LOSS_SPEED, 0.5, 1e-3, 0, ""};
    c.loss[2] = (mnet_loss_term){MNET_LOSS_JERK, 1e-6, 0, 0, ""};
    c.loss[3] = (mnet_loss_term){MNET_LOSS_ACTIVATION_L2, 0.5, 0.02, 0, ""};
    c.loss[4] = (mnet_loss_term){MNET_LOSS_HIDDEN_L2, 0.1, 0.002, 0, ""};
    return c;
}

/* What a run produces: every batch's loss and terms, the last gradient,
 * the weights and Adam moments after the last step, and a rollout of
 * another batch's episodes (states and hidden states). */
typedef struct {
    double loss[N_BATCHES][1 + MNET_TASK_MAX_LOSSES];
    double grad_norm;
    mnet_real *grad, *params, *m, *v, *state, *hidden;
    size_t n_params, n_state, n_hidden;
    double eval_loss;
    int threads;
} run_out;

static void run_free(run_out *o)
{
    free(o->grad);
    free(o->params);
    free(o->m);
    free(o->v);
    free(o->state);
    free(o->hidden);
}

static int run(const mnet_model *model, mnet_task_config cfg, int threads, run_out *o)
{
    char err[512] = "";
    memset(o, 0, sizeof *o);
    cfg.threads = threads;
    mnet_train *tr = mnet_train_new(model, NULL, &cfg, err, sizeof err);
    if (!tr) {
        fprintf(stderr, "test_threads: %s\n", err);
        return -1;
    }
    o->threads = mnet_train_threads(tr);
    for (long b = 0; b < N_BATCHES; b++) {
        double loss;
        if (mnet_train_step(tr, b, &loss) != 0) {
            fprintf(stderr, "test_threads: batch %ld: %s\n", b, tr->err);
            mnet_train_free(tr);
            return -1;
        }
        o->loss[b][0] = loss;
        memcpy(&o->loss[b][1], tr->loss_terms, sizeof tr->loss_terms);
    }
    const size_t np = tr->n_params;
    o->n_params = np;
    o->grad_norm = tr->grad_norm;
    o->grad = malloc(np * sizeof *o->grad);
    o->params = malloc(np * sizeof *o->params);
    o->m = malloc(np * sizeof *o->m);
    o->v = malloc(np * sizeof *o->v);
    memcpy(o->grad, tr->grad, np * sizeof *o->grad);
    memcpy(o->params, tr->params, np * sizeof *o->params);
    memcpy(o->m, tr->adam_m, np * sizeof *o->m);
    memcpy(o->v, tr->adam_v, np * sizeof *o->v);

    /* a rollout of 2B+1 episodes: whole and partial batches of slices */
    mnet_episode ep;
    const int N = 2 * cfg.batch_size + 1;
    int rc = mnet_episode_alloc(&ep, model, N, tr->T, err, sizeof err);
    if (rc == 0)
        rc = mnet_task_generate(&tr->cfg, model, tr->model_params, 0, 99, 1000, N, &ep, err, sizeof err);
    o->n_state = (size_t)(tr->T + 1) * tr->S * N;
    o->n_hidden = (size_t)tr->T * tr->LH * N;
    o->state = calloc(o->n_state, sizeof *o->state);
    o->hidden = calloc(o->n_hidden, sizeof *o->hidden);
    mnet_rollout out = {o->state, NULL, NULL, o->hidden};
    mnet_noise_key nz = {5, 77, 1};
    if (rc == 0)
        rc = mnet_train_eval(tr, &ep, &nz, &out, &o->eval_loss);
    if (rc != 0)
        fprintf(stderr, "test_threads: eval: %s %s\n", err, tr->err);
    mnet_episode_free(&ep);
    mnet_train_free(tr);
    return rc;
}

static int same(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

/* Runs cfg with 1..4 threads; every result must equal the 1-thread one
 * bit for bit.  Returns the number of runs that differ. */
static int check_threads(const char *what, const mnet_model *model, mnet_task_config cfg)
{
    run_out ref;
    if (run(model, cfg, 1, &ref) != 0)
        return 99;
    int differ = 0;
    for (int n = 2; n <= MAX_THREADS; n++) {
        run_out o;
        if (run(model, cfg, n, &o) != 0) {
            differ++;
            continue;
        }
        const size_t np = ref.n_params;
        int ok_loss = same(ref.loss, o.loss, sizeof ref.loss);
        int ok_grad = same(ref.grad, o.grad, np * sizeof *ref.grad) && ref.grad_norm == o.grad_norm;
        int ok_w = same(ref.params, o.params, np * sizeof *ref.params) &&
                   same(ref.m, o.m, np * sizeof *ref.m) && same(ref.v, o.v, np * sizeof *ref.v);
        int ok_eval = same(ref.state, o.state, ref.n_state * sizeof *ref.state) &&
                      same(ref.hidden, o.hidden, ref.n_hidden * sizeof *ref.hidden) &&
                      ref.eval_loss == o.eval_loss;
        if (!(ok_loss && ok_grad && ok_w && ok_eval)) {
            differ++;
            fprintf(stderr, "test_threads: %s, %d threads: loss %s, gradient %s, weights %s, rollout %s\n", what,
                    n, ok_loss ? "same" : "DIFFERS", ok_grad ? "same" : "DIFFERS", ok_w ? "same" : "DIFFERS",
                    ok_eval ? "same" : "DIFFERS");
        }
        run_free(&o);
    }
    printf("\n    %s: loss %.17g after %d batches, %zu parameters: 1..%d threads %s", what,
           ref.loss[N_BATCHES - 1][0], N_BATCHES, ref.n_params, MAX_THREADS, differ ? "DIFFER" : "bit-identical");
    CU_ASSERT(isfinite(ref.loss[N_BATCHES - 1][0]));
    run_free(&ref);
    return differ;
}

static void check_model(const char *name, const mnet_model *model)
{
    CU_ASSERT_FATAL(model != NULL);
    const mnet_nn_cell cells[4] = {MNET_NN_GRU, MNET_NN_RNN, MNET_NN_MLP, MNET_NN_LSTM};
    const char *cell_names[4] = {"gru", "rnn", "mlp", "lstm"};
    for (int c = 0; c < 4; c++) {
        char what[128];
        /* 7 columns in slices of 2: four slices, the last of one column */
        snprintf(what, sizeof what, "%s %s, batch 7 slice 2", name, cell_names[c]);
        CU_ASSERT(check_threads(what, model, config(cells[c], 7, 2)) == 0);
    }
    /* two stacked LSTM layers and a linear read-out */
    mnet_task_config c2 = config(MNET_NN_LSTM, 7, 2);
    c2.n_layers = 2;
    c2.readout = MNET_NN_READOUT_LINEAR;
    c2.readout_bias = 0.2;
    CU_ASSERT(check_threads("lstm x 2, linear read-out, batch 7 slice 2", model, c2) == 0);
    /* a modular GRU with Dale's law: masked gradients and the projection
     * after each step, the same for every thread count */
    mnet_task_config c3 = config(MNET_NN_GRU, 7, 2);
    mnet_nn_modular *md = &c3.modular;
    md->n_modules = 2;
    strcpy(md->name[0], "a");
    strcpy(md->name[1], "b");
    md->size[0] = 3;
    md->size[1] = 5;
    md->excitatory[0] = 2.0 / 3.0;
    md->excitatory[1] = 0.6;
    md->drives_readout[1] = 1;
    md->frac[0][0] = md->frac[1][1] = md->frac[1][0] = md->frac[0][1] = 1;
    md->p[0][0] = md->p[1][1] = 0.7;
    md->p[1][0] = md->p[0][1] = 0.4;
    md->n_sources = 1;
    strcpy(md->source_name[0], "vision");
    md->reach[0][0] = 1;
    CU_ASSERT(check_threads("modular gru with Dale's law, batch 7 slice 2", model, c3) == 0);
    /* the same with delays between the modules (2 steps a -> b, 1 step
     * b -> a), the rectified-tanh candidate and a learned initial state */
    md->delay_steps[1][0] = 2;
    md->delay_steps[0][1] = 1;
    c3.candidate = MNET_NN_CANDIDATE_RECTIFIED_TANH;
    c3.learn_h0 = 1;
    CU_ASSERT(check_threads("modular gru, delays, rectified, learned h0", model, c3) == 0);
    /* a plain rnn with a learned h0 and the rectified candidate */
    mnet_task_config c4 = config(MNET_NN_RNN, 7, 2);
    c4.candidate = MNET_NN_CANDIDATE_RECTIFIED_TANH;
    c4.learn_h0 = 1;
    CU_ASSERT(check_threads("rnn, rectified, learned h0", model, c4) == 0);
    /* the automatic slice: 37 columns in two slices of 19 and 18 */
    CU_ASSERT(mnet_train_slice_auto(37) == 19);
    CU_ASSERT(check_threads("gru, batch 37, automatic slices", model, config(MNET_NN_GRU, 37, 0)) == 0);
}

static void test_point_mass(void) { check_model("point mass", point_mass()); }
static void test_arm26(void) { check_model("arm26", arm26()); }

/* The slice size is part of the run: it is in the run text, and another
 * one gives other sums (here only checked to run and stay close). */
static void test_slice_is_run(void)
{
    const mnet_model *model = point_mass();
    CU_ASSERT_FATAL(model != NULL);
    run_out a, b;
    CU_ASSERT_FATAL(run(model, config(MNET_NN_GRU, 8, 8), 2, &a) == 0);
    CU_ASSERT_FATAL(run(model, config(MNET_NN_GRU, 8, 3), 2, &b) == 0);
    /* one batch in: the same parameters, the same episodes, sums in
     * another order - equal to rounding */
    double rel = fabs(a.loss[0][0] - b.loss[0][0]) / fabs(a.loss[0][0]);
    printf("\n    slice 8 vs slice 3: first loss rel. difference %.2e", rel);
    CU_ASSERT(rel < 1e-12);
    run_free(&a);
    run_free(&b);

    mnet_task_config c = config(MNET_NN_GRU, 8, 3);
    c.threads = 3;
    char *text = mnet_run_text_alloc(&c, NULL, NULL);
    CU_ASSERT_FATAL(text != NULL);
    CU_ASSERT(strstr(text, "train.slice=3\n") != NULL);
    CU_ASSERT(strstr(text, "threads") == NULL);
    mnet_task_config back;
    char err[256] = "";
    CU_ASSERT(mnet_run_text_parse(text, &back, NULL, NULL, err, sizeof err) == 0);
    CU_ASSERT(back.batch_slice == 3);
    CU_ASSERT(back.threads == 0);
    free(text);
    /* runs that differ only in threads do not differ */
    mnet_task_config d = c;
    d.threads = 1;
    char buf[256];
    CU_ASSERT(mnet_run_diff(&c, &d, NULL, NULL, NULL, buf, sizeof buf) == 0);
    d.batch_slice = 4;
    CU_ASSERT(mnet_run_diff(&c, &d, NULL, NULL, NULL, buf, sizeof buf) == 1);
    /* the table knows it, by name */
    char e2[256];
    const mnet_setting *s = mnet_setting_find("train.threads", e2, sizeof e2);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT((s->flags & MNET_SETTING_NOT_RUN) != 0);
}

/* ---- Ctrl-C during a threaded batch --------------------------------------------- */

static volatile sig_atomic_t stop_flag;
static void on_sigint(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static const mnet_model *real_model;
static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;
static long step_calls, kill_at;

/* The model's step, sending SIGINT to the process at call kill_at (from
 * whichever thread runs it: a worker blocks signals, so the main thread's
 * handler takes it). */
static void counting_step(int n, int ld, const mnet_real *const *in, mnet_real *const *out, const mnet_real *p)
{
    pthread_mutex_lock(&count_mu);
    long k = ++step_calls;
    pthread_mutex_unlock(&count_mu);
    if (k == kill_at)
        kill(getpid(), SIGINT);
    real_model->step(n, ld, in, out, p);
}

static void test_ctrl_c(void)
{
    real_model = point_mass();
    CU_ASSERT_FATAL(real_model != NULL);
    mnet_model wrapped = *real_model;
    wrapped.step = counting_step;
    mnet_task_config cfg = config(MNET_NN_GRU, 8, 2); /* four slices */
    cfg.threads = 3;
    char err[512] = "";
    mnet_train *tr = mnet_train_new(&wrapped, NULL, &cfg, err, sizeof err);
    CU_ASSERT_FATAL(tr != NULL);
    CU_ASSERT(mnet_train_threads(tr) == 3);
    /* steps per batch: T per slice; the signal comes in the middle of batch 2 */
    const long per_batch = (long)tr->T * tr->n_slices_max;
    pthread_mutex_lock(&count_mu);
    step_calls = 0;
    kill_at = 2 * per_batch + per_batch / 2;
    pthread_mutex_unlock(&count_mu);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    stop_flag = 0;
    mnet_loop loop;
    memset(&loop, 0, sizeof loop);
    loop.stop = &stop_flag;
    int rc = mnet_train_loop(tr, &loop, 100, 0, 100, NULL, err, sizeof err);
    sigaction(SIGINT, &old, NULL);
    CU_ASSERT(rc == 0);
    CU_ASSERT(loop.interrupted == 1);
    CU_ASSERT(stop_flag == 1);
    /* batch 2 was finished, then the loop stopped */
    CU_ASSERT(loop.batch == 3);
    CU_ASSERT(tr->opt.t == 3);
    int finite = 1;
    for (size_t i = 0; i < tr->n_params; i++)
        finite &= isfinite((double)tr->params[i]);
    CU_ASSERT(finite);
    printf("\n    SIGINT at step call %ld of batch 2: stopped after batch %ld", kill_at, loop.batch - 1);
    mnet_train_free(tr); /* joins the workers */
}

/* Changing the thread count of a trainer keeps its numbers. */
static void test_set_threads(void)
{
    const mnet_model *model = point_mass();
    CU_ASSERT_FATAL(model != NULL);
    mnet_task_config cfg = config(MNET_NN_GRU, 9, 2);
    char err[512] = "";
    cfg.threads = 1;
    mnet_train *a = mnet_train_new(model, NULL, &cfg, err, sizeof err);
    mnet_train *b = mnet_train_new(model, NULL, &cfg, err, sizeof err);
    CU_ASSERT_FATAL(a && b);
    int ok = 1;
    for (long k = 0; k < 4; k++) {
        CU_ASSERT(mnet_train_set_threads(b, 1 + (int)(k % 4)) == 0);
        CU_ASSERT(mnet_train_threads(b) == 1 + (int)(k % 4));
        double la, lb;
        CU_ASSERT(mnet_train_step(a, k, &la) == 0);
        CU_ASSERT(mnet_train_step(b, k, &lb) == 0);
        /* a count given is the count used, batch after batch */
        CU_ASSERT(mnet_pool_active(b->pool) == 1 + (int)(k % 4) && !mnet_train_threads_auto(b));
        ok &= la == lb;
    }
    ok &= memcmp(a->params, b->params, a->n_params * sizeof *a->params) == 0;
    CU_ASSERT(ok);
    /* never more threads than slices (9 columns: 5 slices) */
    CU_ASSERT(mnet_train_set_threads(b, 64) == 0);
    CU_ASSERT(mnet_train_threads(b) == 5);
    mnet_train_free(a);
    mnet_train_free(b);
}

/* The automatic count (thread_tune.c) on made-up timings: the first
 * MNET_TUNE_WARMUP batches on all threads, a probe of slots in the order
 * A B B A A B B A (A all threads, B one; a slot is one batch, or a group
 * lasting about 25 ms when batches are shorter), one thread kept only when
 * its median is under 0.95 of all threads', the next probe 16 batches on
 * at least, or 20 s at the measured pace. */

/* n batches through t, one of k threads taking time_of(k) seconds; the
 * counts asked for, in order, into asked (when not NULL, at most n). */
static void drive(mnet_thread_tuner *t, long n, double one, double all, int *asked)
{
    for (long b = 0; b < n; b++) {
        int k = mnet_tune_pick(t);
        if (asked)
            asked[b] = k;
        mnet_tune_record(t, k == 1 ? one : all);
    }
}

static void test_tuner(void)
{
    mnet_thread_tuner t;
    mnet_tune_init(&t, 4);
    int asked[64];
    /* warm-up (MNET_TUNE_WARMUP batches and 0.25 s: 7 batches of 40 ms),
     * then a probe of one-batch slots in which one thread is twice as fast
     * (a loaded machine) */
    drive(&t, 7, 0.040, 0.040, asked);
    CU_ASSERT(asked[0] == 4 && asked[6] == 4 && t.batches_one == 0);
    drive(&t, 8, 0.040, 0.080, asked);
    const int order[8] = {4, 1, 1, 4, 4, 1, 1, 4};
    int ok = 1;
    for (int k = 0; k < 8; k++)
        ok &= asked[k] == order[k];
    CU_ASSERT(ok && t.group == 1 && t.choice == 1 && t.n_probes == 1);
    /* 20 s at 40 ms a batch: the next probe 500 batches on, all on one thread */
    CU_ASSERT(t.next_probe == 7 + 8 + 500);
    long one_before = t.batches_one;
    drive(&t, 499, 0.040, 0.080, NULL);
    /* the load goes: one thread now takes 10 ms, all threads 5 ms; the
     * probe times slots of 3 batches (25 ms / 10 ms, rounded up), and all
     * threads come back */
    drive(&t, 1, 0.010, 0.005, NULL);
    CU_ASSERT(t.batches_one == one_before + 500);
    drive(&t, 24, 0.010, 0.005, asked);
    CU_ASSERT(t.group == 3 && t.n_probes == 2 && t.choice == 4);
    ok = 1;
    for (int k = 0; k < 24; k++)
        ok &= asked[k] == order[k / 3];
    CU_ASSERT(ok);
    /* at 5 ms a batch the next probe 4000 batches on */
    CU_ASSERT(t.next_probe == t.seen + 4000);
    /* a small gain of one thread (3 %) is not enough */
    mnet_tune_init(&t, 2);
    drive(&t, MNET_TUNE_WARMUP + 8, 0.97, 1.0, NULL); /* 1 s batches: warm after 2 */
    CU_ASSERT(t.choice == 2 && t.batches_one == 4);
    /* nothing to tune with one thread */
    mnet_tune_init(&t, 1);
    CU_ASSERT(mnet_tune_pick(&t) == 1);
    printf("\n    probes follow the made-up load: one thread kept when faster, all threads back when the load "
           "goes; short batches timed in groups");
}

/* A trainer whose count is left to mnet switches between one thread and
 * all of them batch by batch (probes every 16 batches or more): the
 * numbers are one thread's, bit for bit. */
static void test_auto_threads_numbers(void)
{
    const mnet_model *model = point_mass();
    CU_ASSERT_FATAL(model != NULL);
    mnet_task_config cfg = config(MNET_NN_GRU, 9, 2);
    char err[512] = "";
    cfg.threads = 1;
    mnet_train *a = mnet_train_new(model, NULL, &cfg, err, sizeof err);
    cfg.threads = 3;
    mnet_train *b = mnet_train_new(model, NULL, &cfg, err, sizeof err);
    CU_ASSERT_FATAL(a && b);
    mnet_tune_init(&b->tune, 3); /* as train.threads 0 on a 3-core machine would */
    int ok = 1;
    long k = 0;
    /* until a probe is done (its slots group short batches: a few hundred) */
    for (; k < 5000 && (k < 40 || b->tune.n_probes < 1); k++) {
        double la, lb;
        CU_ASSERT(mnet_train_step(a, k, &la) == 0);
        CU_ASSERT(mnet_train_step(b, k, &lb) == 0);
        ok &= la == lb;
    }
    ok &= memcmp(a->params, b->params, a->n_params * sizeof *a->params) == 0;
    printf("\n    %ld batches, %ld on one thread and %ld on three (%ld probes, slots of %d): the 1-thread numbers %s",
           k, b->tune.batches_one, k - b->tune.batches_one, b->tune.n_probes, b->tune.group,
           ok ? "bit for bit" : "DIFFER");
    CU_ASSERT(ok && b->tune.batches_one >= 4 && b->tune.n_probes >= 1);
    mnet_train_free(a);
    mnet_train_free(b);
}

static void test_cleanup(void)
{
    mnet_jit_model_release(jit_pm);
    mnet_jit_model_release(jit_arm);
    mnet_compilation_free(comp_pm);
    mnet_compilation_free(comp_arm);
    jit_pm = jit_arm = NULL;
    comp_pm = comp_arm = NULL;
}

int main(void)
{
    static const mnet_test tests[] = {
        {"pool runs every task once", test_pool},
        {"point mass: 1..4 threads bit-identical", test_point_mass},
        {"arm26: 1..4 threads bit-identical", test_arm26},
        {"slice size is the run, threads are not", test_slice_is_run},
        {"set_threads keeps the numbers", test_set_threads},
        {"the automatic count: probes on made-up timings", test_tuner},
        {"the automatic count: the numbers of one thread", test_auto_threads_numbers},
        {"Ctrl-C during a threaded batch", test_ctrl_c},
        {"cleanup", test_cleanup},
        {NULL, NULL},
    };
    return mnet_test_main("threads", tests);
}
