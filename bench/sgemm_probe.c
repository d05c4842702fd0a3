/* sgemm_probe.c - OpenBLAS sgemm speed at a GRU policy's own matrix sizes.
 *
 * Times the GEMMs of one training batch of a one-layer GRU (PyTorch gates)
 * with a linear read-out, and prints GFLOP/s: the ceiling that BLAS alone
 * would give mnet's network at these sizes.
 *
 *   sgemm_probe I H O B T [SECONDS]
 *   -> sgemm I=.. H=.. O=.. B=.. T=.. flops_per_batch=F gflops=G per_step_gflops=P
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
 * Run with OPENBLAS_NUM_THREADS=1 (bench/run does); the best of the
 * repetitions that fit in SECONDS (default 0.3 s per layout, at least 2) is reported. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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

/* Best seconds per batch within the budget (at least 3 runs, the first a warm-up). */
static double best_time(probe *p, int batched, double budget)
{
    double best = 1e30, start = now();
    for (int rep = 0; rep < 3 || (now() - start < budget && rep < 1000); rep++) {
        double t0 = now();
        one_batch(p, batched);
        double dt = now() - t0;
        if (rep > 0 && dt < best)
            best = dt;
    }
    return best;
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
    double t_batched = best_time(&p, 1, budget);
    double t_step = best_time(&p, 0, budget);
    printf("sgemm I=%d H=%d O=%d B=%d T=%d flops_per_batch=%.6g gflops=%.2f "
           "per_step_gflops=%.2f ms_per_batch=%.3f\n",
           p.ni, p.nh, p.no, p.nb, p.nt, flops, flops / t_batched * 1e-9,
           flops / t_step * 1e-9, t_batched * 1e3);
    float *all[] = {p.w_in, p.w_rec, p.w_out, p.g_in, p.g_rec, p.g_out, p.x,
                    p.hp,   p.gate,  p.ghn,   p.h,    p.dy,    p.dx,    p.dh};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    return 0;
}
