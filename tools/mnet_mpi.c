/* mnet_mpi.c - mnet across processes with Open MPI (mnet_mpi.h).  With
 * MNET_HAVE_MPI the real thing; without it, the same functions saying how
 * to get MPI. */
#include "mnet_mpi.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef MNET_HAVE_MPI
#include <mpi.h>
#endif

static void msg(char *err, size_t n, const char *fmt, ...)
{
    if (!err || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

static int env_int(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : -1;
}

/* ---- the launcher ------------------------------------------------------ */

int mnet_mpi_launched(void)
{
    const char *off = getenv("MNET_MPI");
    if (off && !strcmp(off, "0"))
        return 0;
    /* Open MPI's mpirun; MPICH/Slurm PMI; PMIx (srun --mpi=pmix) */
    int n = env_int("OMPI_COMM_WORLD_SIZE");
    if (n < 1)
        n = env_int("PMI_SIZE");
    if (n < 1 && getenv("PMIX_RANK"))
        n = env_int("SLURM_NTASKS") > 0 ? env_int("SLURM_NTASKS") : 1;
    return n > 0 ? n : 0;
}

int mnet_mpi_env_rank(void)
{
    const char *names[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"};
    for (int i = 0; i < 3; i++)
        if (env_int(names[i]) >= 0)
            return env_int(names[i]);
    return 0;
}

const char *mnet_mpi_how_to_get(void)
{
    return "this mnet was built without MPI: install Open MPI (Debian/Ubuntu: apt-get install libopenmpi-dev "
           "openmpi-bin; ./build.sh installs them) and rebuild (cmake finds it), or on a cluster load its MPI "
           "module before configuring (docs/cluster.md)";
}

void mnet_mpi_slices(int rank, int size, int n_slices, int *k0, int *k1)
{
    *k0 = (int)((long long)rank * n_slices / size);
    *k1 = (int)((long long)(rank + 1) * n_slices / size);
}

#ifdef MNET_HAVE_MPI

/* ======================================================================== */

static int g_init, g_rank, g_size = 1, g_local = 1;

/* FNV-1a over n bytes */
static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

int mnet_mpi_available(void) { return 1; }

int mnet_mpi_init(char *err, size_t n)
{
    if (g_init)
        return 0;
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        msg(err, n, "MPI_Init_thread failed");
        return -1;
    }
    g_init = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_size(local, &g_local);
        MPI_Comm_free(&local);
    }
    /* an mnet this rank starts (a sweep's child) is not a rank */
    setenv("MNET_MPI", "0", 1);
    return 0;
}

void mnet_mpi_finalize(void)
{
    int fin = 0;
    if (g_init && MPI_Finalized(&fin) == MPI_SUCCESS && !fin)
        MPI_Finalize();
    g_init = 0;
}

void mnet_mpi_abort(int status)
{
    fflush(stdout);
    fflush(stderr);
    if (g_init)
        MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

int mnet_mpi_rank(void) { return g_rank; }
int mnet_mpi_size(void) { return g_size; }
int mnet_mpi_local_size(void) { return g_local; }

int mnet_mpi_agree(int status)
{
    if (!g_init)
        return status;
    int all = status;
    MPI_Allreduce(&status, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

int mnet_mpi_same(const void *p, size_t n, int *which)
{
    if (!g_init || g_size == 1)
        return 0;
    unsigned long long h = hash_bytes(p, n), h0 = h;
    MPI_Bcast(&h0, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    int mine = h == h0 ? g_size : g_rank, first = g_size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == g_size)
        return 0;
    if (which)
        *which = first;
    return -1;
}

void mnet_mpi_describe(FILE *out, const char *what)
{
    enum { LINE = 256 };
    char line[LINE], host[128] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(line, sizeof line, "rank %d: pid %ld on %s, %s", g_rank, (long)getpid(), host, what);
    char *all = g_rank == 0 ? malloc((size_t)g_size * LINE) : NULL;
    if (g_init)
        MPI_Gather(line, LINE, MPI_CHAR, all, LINE, MPI_CHAR, 0, MPI_COMM_WORLD);
    else if (all)
        memcpy(all, line, LINE);
    for (int r = 0; all && r < g_size; r++)
        fprintf(out, "mnet: %s\n", all + (size_t)r * LINE);
    fflush(out);
    free(all);
}

/* ---- data-parallel training ---------------------------------------------- */

struct mnet_mpi_train {
    mnet_train_exchange x;
    volatile sig_atomic_t *raw_stop, *agreed_stop;
    int *counts, *displs;       /* (size) the losses' Allgatherv            */
    MPI_Request *req;           /* (chunks) the chain's sends               */
    double exchange_s;          /* seconds spent in the exchange (waiting
                                   for the other ranks included)            */
    long n_batches;             /* batches exchanged                        */
};

static MPI_Datatype real_type(void)
{
    return sizeof(mnet_real) == sizeof(float) ? MPI_FLOAT : MPI_DOUBLE;
}

static void x_slices(void *ctx, int n_slices, int *k0, int *k1)
{
    (void)ctx;
    mnet_mpi_slices(g_rank, g_size, n_slices, k0, k1);
}

static int x_losses(void *ctx, double *slice_loss, int n_slices, int stride, char *err, size_t n)
{
    mnet_mpi_train *t = ctx;
    const double t0 = MPI_Wtime();
    for (int r = 0; r < g_size; r++) {
        int k0, k1;
        mnet_mpi_slices(r, g_size, n_slices, &k0, &k1);
        t->counts[r] = (k1 - k0) * stride;
        t->displs[r] = k0 * stride;
    }
    if (MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, slice_loss, t->counts, t->displs, MPI_DOUBLE,
                       MPI_COMM_WORLD) != MPI_SUCCESS) {
        msg(err, n, "MPI_Allgatherv of the slices' losses failed");
        return -1;
    }
    /* every rank stops after the same batch */
    int mine = *t->raw_stop != 0, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    *t->agreed_stop = any;
    t->exchange_s += MPI_Wtime() - t0;
    t->n_batches++;
    return 0;
}

static int x_grads(void *ctx, mnet_real *grad, const mnet_real *local, size_t np, int n_slices, int k0, int k1,
                   char *err, size_t n)
{
    mnet_mpi_train *t = ctx;
    const double t0 = MPI_Wtime();
    /* the chain: the ranks with slices, in rank (= slice) order */
    int prev = -1, next = -1, last = -1;
    for (int r = 0; r < g_size; r++) {
        int a, b;
        mnet_mpi_slices(r, g_size, n_slices, &a, &b);
        if (a == b)
            continue;
        if (r < g_rank)
            prev = r;
        if (r > g_rank && next < 0)
            next = r;
        last = r;
    }
    if (last < 0) { /* no slice at all: a zero gradient, as one process */
        memset(grad, 0, np * sizeof *grad);
        t->exchange_s += MPI_Wtime() - t0;
        return 0;
    }
    MPI_Datatype type = real_type();
    const size_t chunk = MNET_MPI_CHUNK;
    int n_req = 0;
    if (k1 > k0) {
        for (size_t i0 = 0; i0 < np; i0 += chunk) {
            const int len = (int)(np - i0 < chunk ? np - i0 : chunk);
            mnet_real *restrict g = grad + i0;
            int first = 0;
            if (prev >= 0) {
                if (MPI_Recv(g, len, type, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS)
                    goto fail;
            } else {
                if (g != local + i0) /* the batch's only slice may be grad */
                    memcpy(g, local + i0, (size_t)len * sizeof *g);
                first = 1;
            }
            /* in slice order, as reduce_piece (train.c) */
            for (int k = first; k < k1 - k0; k++) {
                const mnet_real *restrict gk = local + (size_t)k * np + i0;
                for (int i = 0; i < len; i++)
                    g[i] += gk[i];
            }
            if (next >= 0 &&
                MPI_Isend(g, len, type, next, 0, MPI_COMM_WORLD, &t->req[n_req++]) != MPI_SUCCESS)
                goto fail;
        }
        if (n_req && MPI_Waitall(n_req, t->req, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
            goto fail;
    }
    /* the sum is the last rank's: everyone gets it */
    for (size_t i0 = 0; i0 < np; i0 += (size_t)1 << 28) {
        const int len = (int)(np - i0 < ((size_t)1 << 28) ? np - i0 : ((size_t)1 << 28));
        if (MPI_Bcast(grad + i0, len, type, last, MPI_COMM_WORLD) != MPI_SUCCESS)
            goto fail;
    }
    t->exchange_s += MPI_Wtime() - t0;
    return 0;
fail:
    msg(err, n, "the gradient exchange between the ranks failed");
    return -1;
}

mnet_mpi_train *mnet_mpi_train_attach(mnet_train *tr, volatile sig_atomic_t *raw_stop,
                                      volatile sig_atomic_t *agreed_stop, char *err, size_t n)
{
    size_t np;
    mnet_train_params(tr, &np);
    const size_t chunks = (np + MNET_MPI_CHUNK - 1) / MNET_MPI_CHUNK + 1;
    mnet_mpi_train *t = calloc(1, sizeof *t);
    if (t) {
        t->counts = calloc((size_t)g_size, sizeof *t->counts);
        t->displs = calloc((size_t)g_size, sizeof *t->displs);
        t->req = calloc(chunks, sizeof *t->req);
    }
    if (!t || !t->counts || !t->displs || !t->req) {
        msg(err, n, "out of memory");
        mnet_mpi_train_detach(t, NULL);
        return NULL;
    }
    t->raw_stop = raw_stop;
    t->agreed_stop = agreed_stop;
    t->x.ctx = t;
    t->x.slices = x_slices;
    t->x.losses = x_losses;
    t->x.grads = x_grads;
    mnet_train_set_exchange(tr, &t->x);
    return t;
}

double mnet_mpi_train_exchange_ms(const mnet_mpi_train *t)
{
    return t && t->n_batches ? 1e3 * t->exchange_s / (double)t->n_batches : 0;
}

void mnet_mpi_train_detach(mnet_mpi_train *t, mnet_train *tr)
{
    if (tr)
        mnet_train_set_exchange(tr, NULL);
    if (!t)
        return;
    free(t->counts);
    free(t->displs);
    free(t->req);
    free(t);
}

/* ---- the sweep's queue -------------------------------------------------- */

enum { TAG_ASK = 101, TAG_ITEM = 102 };

struct mnet_mpi_queue {
    long n_items;
    long next_item;             /* rank 0: the next item to hand out        */
    int n_told_done;            /* rank 0: ranks told -1                     */
};

mnet_mpi_queue *mnet_mpi_queue_new(long n_items, char *err, size_t n)
{
    if (!g_init) {
        msg(err, n, "mnet_mpi_queue_new: MPI is not initialised (mnet_mpi_init)");
        return NULL;
    }
    mnet_mpi_queue *q = calloc(1, sizeof *q);
    if (!q) {
        msg(err, n, "out of memory");
        return NULL;
    }
    q->n_items = n_items;
    MPI_Barrier(MPI_COMM_WORLD);
    return q;
}

static long take(mnet_mpi_queue *q)
{
    return q->next_item < q->n_items ? q->next_item++ : -1;
}

void mnet_mpi_queue_serve(mnet_mpi_queue *q)
{
    if (g_rank != 0)
        return;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            return;
        int dummy;
        MPI_Recv(&dummy, 1, MPI_INT, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        long item = take(q);
        if (item < 0)
            q->n_told_done++;
        MPI_Send(&item, 1, MPI_LONG, st.MPI_SOURCE, TAG_ITEM, MPI_COMM_WORLD);
    }
}

long mnet_mpi_queue_next(mnet_mpi_queue *q)
{
    if (g_rank == 0) {
        mnet_mpi_queue_serve(q);
        return take(q);
    }
    int ask = 1;
    long item = -1;
    MPI_Send(&ask, 1, MPI_INT, 0, TAG_ASK, MPI_COMM_WORLD);
    MPI_Recv(&item, 1, MPI_LONG, 0, TAG_ITEM, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return item;
}

long mnet_mpi_queue_free(mnet_mpi_queue *q, long failures)
{
    if (!q)
        return failures;
    if (g_rank == 0)
        while (q->n_told_done < g_size - 1) {
            mnet_mpi_queue_serve(q);
            if (q->n_told_done < g_size - 1)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
    long all = failures;
    MPI_Allreduce(&failures, &all, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    free(q);
    return all;
}

#else /* no MPI in this build ============================================== */

int mnet_mpi_available(void) { return 0; }

int mnet_mpi_init(char *err, size_t n)
{
    msg(err, n, "%s", mnet_mpi_how_to_get());
    return -1;
}

void mnet_mpi_finalize(void) {}
void mnet_mpi_abort(int status)
{
    fflush(stdout);
    exit(status);
}
int mnet_mpi_rank(void) { return 0; }
int mnet_mpi_size(void) { return 1; }
int mnet_mpi_local_size(void) { return 1; }
int mnet_mpi_agree(int status) { return status; }
int mnet_mpi_same(const void *p, size_t n, int *which)
{
    (void)p;
    (void)n;
    (void)which;
    return 0;
}
void mnet_mpi_describe(FILE *out, const char *what)
{
    fprintf(out, "mnet: rank 0: pid %ld, %s\n", (long)getpid(), what);
}

mnet_mpi_train *mnet_mpi_train_attach(mnet_train *tr, volatile sig_atomic_t *raw_stop,
                                      volatile sig_atomic_t *agreed_stop, char *err, size_t n)
{
    (void)tr;
    (void)raw_stop;
    (void)agreed_stop;
    msg(err, n, "%s", mnet_mpi_how_to_get());
    return NULL;
}
void mnet_mpi_train_detach(mnet_mpi_train *x, mnet_train *tr)
{
    (void)x;
    (void)tr;
}
double mnet_mpi_train_exchange_ms(const mnet_mpi_train *x)
{
    (void)x;
    return 0;
}

struct mnet_mpi_queue {
    long n_items, next_item;
};

/* one process: the queue is a counter (a sweep may call these anyway) */
mnet_mpi_queue *mnet_mpi_queue_new(long n_items, char *err, size_t n)
{
    mnet_mpi_queue *q = calloc(1, sizeof *q);
    if (!q)
        msg(err, n, "out of memory");
    else
        q->n_items = n_items;
    return q;
}
long mnet_mpi_queue_next(mnet_mpi_queue *q) { return q->next_item < q->n_items ? q->next_item++ : -1; }
void mnet_mpi_queue_serve(mnet_mpi_queue *q) { (void)q; }
long mnet_mpi_queue_free(mnet_mpi_queue *q, long failures)
{
    free(q);
    return failures;
}

#endif
