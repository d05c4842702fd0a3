/* wake_probe.c - what one phase of mnet's thread pool costs when there is
 * no work in it: the t_phase of docs/bench.md's model of time per batch.
 *
 *   wake_probe [THREADS [IDLE_US [PHASES]]]     (default 2, 1000, 2000)
 *   -> wake THREADS=N idle_us=U phases=P median_us=M p90_us=Q max_us=X
 *
 * The pool is runtime/threads.c's scheme, copied: one mutex, a condition
 * variable that starts a phase (a generation counter) and one that the last
 * worker signals when it has left it.  Each phase here has one empty task
 * per thread, so what is timed is the broadcast, the wake-ups, the mutex and
 * the wait: from the caller's broadcast to its return from the wait.
 * Between phases the caller computes for IDLE_US microseconds while the
 * workers sleep, as they do while the caller runs the serial part of a
 * batch; after a long enough sleep an idle CPU (a virtual one especially)
 * goes into a deep state and the next wake-up costs more.
 *
 * Build: cc -O2 -pthread -o wake_probe bench/wake_probe.c */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    unsigned long gen;
    int quit, busy, next, n_tasks;
} pool;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e6 * (double)ts.tv_sec + 1e-3 * (double)ts.tv_nsec;
}

/* takes tasks (empty ones) until none is left, as threads.c's work() */
static void work(pool *p)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int k = p->next < p->n_tasks ? p->next++ : -1;
        pthread_mutex_unlock(&p->mu);
        if (k < 0)
            return;
    }
}

static void *worker(void *arg)
{
    pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        work(p);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2;
    double idle_us = argc > 2 ? atof(argv[2]) : 1000;
    int phases = argc > 3 ? atoi(argv[3]) : 2000;
    if (n < 2 || n > 1024 || idle_us < 0 || phases < 1 || phases > 1000000) {
        fprintf(stderr, "usage: wake_probe [THREADS>=2 [IDLE_US [PHASES]]]\n");
        return 2;
    }
    pool p = {.n_tasks = n};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.start, NULL);
    pthread_cond_init(&p.done, NULL);
    pthread_t *tid = malloc((size_t)(n - 1) * sizeof *tid);
    double *dt = malloc((size_t)phases * sizeof *dt);
    if (!tid || !dt) {
        fprintf(stderr, "wake_probe: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n - 1; i++)
        if (pthread_create(&tid[i], NULL, worker, &p) != 0) {
            fprintf(stderr, "wake_probe: cannot start thread %d\n", i + 1);
            return 1;
        }
    volatile double sink = 0;
    for (int ph = 0; ph < phases; ph++) {
        double t_idle = now_us(); /* the serial part: the workers sleep */
        while (now_us() - t_idle < idle_us)
            sink += 1;
        double t0 = now_us();
        pthread_mutex_lock(&p.mu);
        p.next = 0;
        p.busy = n - 1;
        p.gen++;
        pthread_cond_broadcast(&p.start);
        pthread_mutex_unlock(&p.mu);
        work(&p);
        pthread_mutex_lock(&p.mu);
        while (p.busy > 0)
            pthread_cond_wait(&p.done, &p.mu);
        pthread_mutex_unlock(&p.mu);
        dt[ph] = now_us() - t0;
    }
    pthread_mutex_lock(&p.mu);
    p.quit = 1;
    pthread_cond_broadcast(&p.start);
    pthread_mutex_unlock(&p.mu);
    for (int i = 0; i < n - 1; i++)
        pthread_join(tid[i], NULL);
    qsort(dt, (size_t)phases, sizeof *dt, cmp_double);
    printf("wake THREADS=%d idle_us=%g phases=%d median_us=%.1f p90_us=%.1f max_us=%.1f\n", n, idle_us,
           phases, dt[phases / 2], dt[phases * 9 / 10], dt[phases - 1]);
    free(dt);
    free(tid);
    pthread_cond_destroy(&p.done);
    pthread_cond_destroy(&p.start);
    pthread_mutex_destroy(&p.mu);
    return 0;
}
