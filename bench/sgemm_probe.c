/* sgemm_probe.c - OpenBLAS sgemm speed at a GRU policy's own matrix sizes.
 *
 * Times the GEMMs of one training batch of a one-layer GRU (PyTorch gates)
 * with a linear read-out, and prints GFLOP/s: the ceiling that BLAS alone
 * would give mnet's network at these sizes.
 *
 *   sgemm_probe I H O B T [SECONDS]
 *   -> sgemm I=.. H=.. O=.. B=.. T=.. flops_per_batch=F gflops=G per_step_gflops=P
 *      cpu_ms_per_batch=C wall_best_gflops=W reps=R clock=cpu
 *
 * B is the number of columns of each per-step GEMM: bench/run passes the
 * width of mnet's batch slices (train.slice), which is what mnet's GEMMs
 * run on whatever the thread count.
 *
 * Shapes (row-major, features x columns; x (I x B), h (H x B), y (O x B)),
 * for each of the T steps:
 *   forward   gate(3H x B) += W_in (3H x I) x          M=3H N=B K=I
 *             gate_rz(2H x B) += W_rz (2H x H) h       M=2H N=B K=H
 *             ghn(H x B) += W_hn (H x H) h             M=H  N=B K=H
 *             y(O x B) = W_out (O x H) h'              M=O  N=B K=H
 *   backward  dh += W_out^T dy                         M=H  N=B K=O
 *             dh += W_rz^T dG_rz                       M=H  N=B K=2H
 *             dh += W_hn^T dc                          M=H  N=B K=H
 *             dx = W_in^T dG_i                         M=I  N=B K=3H
 * and the weight gradients
 *             dW_in += dG_i x^T                        M=3H N=I K
 *             dW_rz += dG_rz h^T                       M=2H N=H K
 *             dW_hn += dc h^T                          M=H  N=H K
 *             dW_out += dy h'^T                        M=O  N=H K
 * with K = B per step (as PyTorch's autograd does them: per_step_gflops) or
 * K = T*B once per batch over activations laid out (rows x T*B), as mnet's
 * runtime does them (gflops, the figure bench/run reports).
 * Flops per batch (both ways): 6 T B (3H (I + H) + O H).
 *
 * Single-threaded: OpenBLAS is told so (openblas_set_num_threads(1), and
 * bench/run sets OPENBLAS_NUM_THREADS=1), so the figure is one core's.
 *
 * Timed in CPU time (clock_gettime(CLOCK_PROCESS_CPUTIME_ID)), not wall
 * clock: a neighbour that takes the core away for a while then costs
 * nothing, where the wall-clock best-of swung 39-98 GFLOP/s with the
 * machine's load.  The repetitions that fit in SECONDS of CPU time (default
 * 0.3 s per layout; at least 3, the first a warm-up) are timed one by one
 * and the MEDIAN is reported (gflops, per_step_gflops); wall_best_gflops is
 * the old figure (wall clock, best repetition) for comparison.
 *
 * What CPU time does not remove: a neighbour on the other hyperthread of
 * the same core, or one that evicts the caches, still slows a repetition. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, CLOCK_PROCESS_CPUTIME_ID */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }
static double wall_now(void) { return clock_s(CLOCK_MONOTONIC); }

/* OpenBLAS's own setter, weak: absent with another CBLAS. */
extern void openblas_set_num_threads(int num_threads) __attribute__((weak));

/* C (M x N, ldc) += op(A) op(B), row-major */
static void gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *Bm,
                 int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, 1.0f, A, lda, Bm, ldb, beta, C, ldc);
}

typedef struct {
    int ni, nh, no, nb, nt;         /* inputs, hidden, outputs, batch, steps */
    float *w_in, *w_rec, *w_out;    /* (3H x I), (3H x H), (O x H) */
    float *g_in, *g_rec, *g_out;    /* their gradients */
    float *x, *hp, *gate, *ghn, *h, *dy; /* activations, (rows x T*B) */
    float *dx, *dh;                 /* (I x B), (H x B) */
} probe;

static float *fill(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "sgemm_probe: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((double)((i * 2654435761u) % 1000) / 1000.0 - 0.5) * 0.1f;
    return p;
}

/* One batch's GEMMs; batched != 0: weight gradients once with K = T*B. */
static void one_batch(probe *p, int batched)
{
    const int ni = p->ni, nh = p->nh, no = p->no, nb = p->nb, nt = p->nt;
    const int ld = nt * nb;
    float *w_hn = p->w_rec + 2 * nh * nh, *g_hn = p->g_rec + 2 * nh * nh;
    for (int t = 0; t < nt; t++) {
        const int c = t * nb;
        gemm(0, 0, 3 * nh, nb, ni, p->w_in, ni, p->x + c, ld, 1, p->gate + c, ld);
        gemm(0, 0, 2 * nh, nb, nh, p->w_rec, nh, p->hp + c, ld, 1, p->gate + c, ld);
        gemm(0, 0, nh, nb, nh, w_hn, nh, p->hp + c, ld, 1, p->ghn + c, ld);
        gemm(0, 0, no, nb, nh, p->w_out, nh, p->h + c, ld, 0, p->dy + c, ld);
    }
    for (int t = nt - 1; t >= 0; t--) {
        const int c = t * nb;
        gemm(1, 0, nh, nb, no, p->w_out, nh, p->dy + c, ld, 0, p->dh, nb);
        gemm(1, 0, nh, nb, 2 * nh, p->w_rec, nh, p->gate + c, ld, 1, p->dh, nb);
        gemm(1, 0, nh, nb, nh, w_hn, nh, p->ghn + c, ld, 1, p->dh, nb);
        gemm(1, 0, ni, nb, 3 * nh, p->w_in, ni, p->gate + c, ld, 0, p->dx, nb);
        if (!batched) {
            gemm(0, 1, 3 * nh, ni, nb, p->gate + c, ld, p->x + c, ld, 1, p->g_in, ni);
            gemm(0, 1, 2 * nh, nh, nb, p->gate + c, ld, p->hp + c, ld, 1, p->g_rec, nh);
            gemm(0, 1, nh, nh, nb, p->ghn + c, ld, p->hp + c, ld, 1, g_hn, nh);
            gemm(0, 1, no, nh, nb, p->dy + c, ld, p->h + c, ld, 1, p->g_out, nh);
        }
    }
    if (batched) {
        gemm(0, 1, 3 * nh, ni, ld, p->gate, ld, p->x, ld, 1, p->g_in, ni);
        gemm(0, 1, 2 * nh, nh, ld, p->gate, ld, p->hp, ld, 1, p->g_rec, nh);
        gemm(0, 1, nh, nh, ld, p->ghn, ld, p->hp, ld, 1, g_hn, nh);
        gemm(0, 1, no, nh, ld, p->dy, ld, p->h, ld, 1, p->g_out, nh);
    }
}

enum { MAX_REPS = 1000 };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double cpu_median; /* CPU seconds per batch, median of the timed repetitions */
    double wall_best;  /* wall seconds per batch, best repetition */
    int reps;          /* timed repetitions */
} timing;

/* One layout timed: at least 3 repetitions (the first a warm-up, untimed),
 * more while the CPU-time budget lasts. */
static timing time_layout(probe *p, int batched, double budget)
{
    static double cpu[MAX_REPS];
    timing r = {0, 1e30, 0};
    double start = cpu_now();
    for (int rep = 0; rep < MAX_REPS + 1 && (rep < 3 || cpu_now() - start < budget); rep++) {
        double c0 = cpu_now(), w0 = wall_now();
        one_batch(p, batched);
        double dw = wall_now() - w0, dc = cpu_now() - c0;
        if (rep == 0)
            continue;
        cpu[r.reps++] = dc;
        if (dw < r.wall_best)
            r.wall_best = dw;
    }
    qsort(cpu, (size_t)r.reps, sizeof cpu[0], cmp_double);
    r.cpu_median = r.reps % 2 ? cpu[r.reps / 2] : 0.5 * (cpu[r.reps / 2 - 1] + cpu[r.reps / 2]);
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 7) {
        fprintf(stderr, "usage: sgemm_probe I H O B T [SECONDS]\n");
        return 2;
    }
    probe p = {.ni = atoi(argv[1]), .nh = atoi(argv[2]), .no = atoi(argv[3]),
               .nb = atoi(argv[4]), .nt = atoi(argv[5])};
    double budget = argc == 7 ? atof(argv[6]) : 0.3;
    if (openblas_set_num_threads)
        openblas_set_num_threads(1);
    if (p.ni < 1 || p.nh < 1 || p.no < 1 || p.nb < 1 || p.nt < 1 ||
        (double)p.nt * p.nb > 1e7 || (double)p.nh * p.nh > 1e8) {
        fprintf(stderr, "sgemm_probe: bad sizes\n");
        return 2;
    }
    const size_t ni = (size_t)p.ni, nh = (size_t)p.nh, no = (size_t)p.no, nb = (size_t)p.nb;
    const size_t ntb = (size_t)p.nt * nb;
    p.w_in = fill(3 * nh * ni);
    p.w_rec = fill(3 * nh * nh);
    p.w_out = fill(no * nh);
    p.g_in = fill(3 * nh * ni);
    p.g_rec = fill(3 * nh * nh);
    p.g_out = fill(no * nh);
    p.x = fill(ni * ntb);
    p.hp = fill(nh * ntb);
    p.gate = fill(3 * nh * ntb);
    p.ghn = fill(nh * ntb);
    p.h = fill(nh * ntb);
    p.dy = fill(no * ntb);
    p.dx = fill(ni * nb);
    p.dh = fill(nh * nb);

    double flops = 6.0 * (double)ntb * (3.0 * (double)nh * (double)(ni + nh) + (double)(no * nh));
    timing batched = time_layout(&p, 1, budget);
    timing step = time_layout(&p, 0, budget);
    printf("sgemm I=%d H=%d O=%d B=%d T=%d flops_per_batch=%.6g gflops=%.2f "
           "per_step_gflops=%.2f cpu_ms_per_batch=%.3f wall_best_gflops=%.2f reps=%d clock=cpu\n",
           p.ni, p.nh, p.no, p.nb, p.nt, flops, flops / batched.cpu_median * 1e-9,
           flops / step.cpu_median * 1e-9, batched.cpu_median * 1e3, flops / batched.wall_best * 1e-9,
           batched.reps);
    float *all[] = {p.w_in, p.w_rec, p.w_out, p.g_in, p.g_rec, p.g_out, p.x,
                    p.hp,   p.gate,  p.ghn,   p.h,    p.dy,    p.dx,    p.dh};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    return 0;
}
