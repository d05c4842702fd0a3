/* threads.c - the trainer's worker pool (mnet_threads.h): one mutex, a
 * condition variable that starts a phase and one that reports its end.
 * Tasks are taken one at a time under the mutex; a task is a whole slice
 * of the batch (its rollout or its backward), so the lock is taken a few
 * times per phase, not per step. */
#include "mnet_threads.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mnet_pool {
    int n_threads;              /* the caller and n_threads - 1 workers    */
    pthread_t *tid;             /* (n_threads - 1) workers                 */
    int n_started;              /* workers created                         */
    pthread_mutex_t mu;
    pthread_cond_t start;       /* a new phase (gen changed) or quit       */
    pthread_cond_t done;        /* the last worker left the phase          */
    unsigned long gen;          /* phases started                          */
    int quit;
    /* the phase */
    mnet_pool_fn fn;
    void *ctx;
    int n_tasks, next;          /* tasks, the next one to take             */
    int busy;                   /* workers still in the phase              */
    int active;                 /* threads a phase uses (mnet_pool_set_active) */
    int phase_active;           /* ... the current phase's                 */
};

typedef struct worker_arg {
    mnet_pool *p;
    int thread;
} worker_arg;

/* Takes and runs tasks until none is left. */
static void work(mnet_pool *p, mnet_pool_fn fn, void *ctx, int n_tasks, int thread)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int k = p->next < n_tasks ? p->next++ : -1;
        pthread_mutex_unlock(&p->mu);
        if (k < 0)
            return;
        fn(ctx, k, thread);
    }
}

static void *worker(void *arg)
{
    worker_arg a = *(worker_arg *)arg;
    free(arg);
    mnet_pool *p = a.p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        if (a.thread >= p->phase_active)
            continue; /* not in this phase: wait for the next */
        mnet_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        int n_tasks = p->n_tasks;
        pthread_mutex_unlock(&p->mu);
        work(p, fn, ctx, n_tasks, a.thread);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

mnet_pool *mnet_pool_new(int n_threads, char *err, size_t err_size)
{
    mnet_pool *p = calloc(1, sizeof *p);
    if (!p) {
        if (err && err_size)
            snprintf(err, err_size, "threads: out of memory");
        return NULL;
    }
    p->n_threads = n_threads < 1 ? 1 : n_threads;
    p->active = p->n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    if (p->n_threads == 1)
        return p;
    p->tid = calloc((size_t)p->n_threads - 1, sizeof *p->tid);
    if (!p->tid) {
        if (err && err_size)
            snprintf(err, err_size, "threads: out of memory");
        mnet_pool_free(p);
        return NULL;
    }
    /* the workers inherit a full signal mask: signals go to the caller */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (int i = 0; i < p->n_threads - 1; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a) {
            rc = -1;
            break;
        }
        a->p = p;
        a->thread = i + 1;
        rc = pthread_create(&p->tid[i], NULL, worker, a);
        if (rc != 0) {
            free(a);
            break;
        }
        p->n_started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->n_started != p->n_threads - 1) {
        if (err && err_size)
            snprintf(err, err_size, "threads: could not start %d worker threads (%s)", p->n_threads - 1,
                     rc > 0 ? strerror(rc) : "out of memory");
        mnet_pool_free(p);
        return NULL;
    }
    return p;
}

void mnet_pool_free(mnet_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->start);
    pthread_mutex_destroy(&p->mu);
    free(p->tid);
    free(p);
}

int mnet_pool_threads(const mnet_pool *p) { return p ? p->n_threads : 1; }

void mnet_pool_set_active(mnet_pool *p, int k)
{
    if (p)
        p->active = k < 1 ? 1 : k > p->n_threads ? p->n_threads : k;
}

int mnet_pool_active(const mnet_pool *p) { return p ? p->active : 1; }

void mnet_pool_run(mnet_pool *p, int n_tasks, mnet_pool_fn fn, void *ctx)
{
    if (n_tasks <= 0)
        return;
    if (!p || p->active == 1 || n_tasks == 1) {
        for (int k = 0; k < n_tasks; k++)
            fn(ctx, k, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    p->next = 0;
    p->phase_active = p->active;
    p->busy = p->active - 1;
    p->gen++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    work(p, fn, ctx, n_tasks, 0);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int mnet_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

/* OpenBLAS's own setter, weak: absent with another BLAS. */
extern void openblas_set_num_threads(int num_threads) __attribute__((weak));

void mnet_blas_single_thread(void)
{
    if (openblas_set_num_threads)
        openblas_set_num_threads(1);
}
