/* xsmm_probe.c - would libxsmm's JIT small-matrix kernels beat OpenBLAS on
 * the GEMMs of mnet's GRU (issue 13: "pack weight matrices once per batch
 * ... through a library that exposes packed or JIT-generated small-matrix
 * kernels")?  libxsmm's kernels read the operands where they lie (no
 * packing copies), so if packing were what costs, they would win.
 *
 *   apt-get install libxsmm-dev    (the probe only; not a dependency of mnet)
 *   cc -O2 -std=c11 bench/xsmm_probe.c -o xsmm_probe -lxsmm -lopenblas -lpthread -lrt -ldl -lm
 *   ./xsmm_probe [B]               (B: the slice's columns, default 32)
 *
 * Per-step GEMMs of arm26's GRU (H 128, I 16), row-major on an arena of
 * leading dimension T*B as the runtime lays it out (mnet_nn.h), T = 100
 * steps, each shape timed over the T steps in CPU time, best of 7; then
 * the weight-gradient GEMM over all steps at once (dW_rz += dG h^T, K =
 * T*B), against the same cut into chunks.  Both single-threaded. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <libxsmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    int M, N, K, ta;
    const char *what;
} shape;

int main(int argc, char **argv)
{
    openblas_set_num_threads(1);
    libxsmm_init();
    const int B = argc > 1 ? atoi(argv[1]) : 32, T = 100, H = 128, NI = 16;
    const long ld = (long)T * B;
    float *W = malloc(sizeof(float) * 16 * H * H), *X = malloc(sizeof(float) * 4 * H * ld);
    float *C = calloc((size_t)(4 * H * ld), sizeof(float));
    if (!W || !X || !C || B < 1)
        return 1;
    for (long i = 0; i < 16L * H * H; i++)
        W[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    for (long i = 0; i < 4L * H * ld; i++)
        X[i] = (float)((i * 104729) % 1000) / 1000.f - 0.5f;
    const shape sh[4] = {{3 * H, B, NI, 0, "W_in x"}, {2 * H, B, H, 0, "W_rz h"}, {H, B, H, 0, "W_hn h"},
                         {H, B, 2 * H, 1, "W_rz^T dG"}};
    for (int s = 0; s < 4; s++) {
        const int M = sh[s].M, N = sh[s].N, K = sh[s].K, ta = sh[s].ta, lda = ta ? M : K;
        /* column-major: C^T (N x M) = B^T (N x K) A^T (K x M) */
        libxsmm_blasint m = N, n = M, k = K, la = (libxsmm_blasint)ld, lb = lda, lc = (libxsmm_blasint)ld;
        float alpha = 1, beta = 1;
        int flags = ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0;
        libxsmm_smmfunction f = libxsmm_smmdispatch(m, n, k, &la, &lb, &lc, &alpha, &beta, &flags, NULL);
        double best[2] = {1e9, 1e9};
        for (int rep = 0; rep < 7; rep++)
            for (int v = 0; v < 2; v++) {
                if (v == 1 && !f)
                    continue;
                double t0 = cpu_now();
                for (int t = 0; t < T; t++) {
                    const float *b = X + (long)t * B;
                    float *c = C + (long)t * B;
                    if (v == 0)
                        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N, K, 1.f, W, lda,
                                    b, (int)ld, 1.f, c, (int)ld);
                    else
                        f(b, W, c);
                }
                double dt = cpu_now() - t0;
                best[v] = dt < best[v] ? dt : best[v];
            }
        const double fl = 2.0 * M * N * K * T;
        printf("step %-10s M=%d N=%d K=%d: openblas %.1f GFLOP/s, libxsmm ", sh[s].what, M, N, K, fl / best[0] / 1e9);
        if (f)
            printf("%.1f GFLOP/s, openblas/libxsmm time %.2f\n", fl / best[1] / 1e9, best[0] / best[1]);
        else
            printf("has no kernel\n");
    }
    /* the weight gradient: dW_rz (2H x H) += dG (2H x T*B) h^T; libxsmm
     * would need h transposed (TRANS_A in column-major terms) */
    const int M = 2 * H, N = H, K = (int)ld, chunk = 256;
    libxsmm_blasint m = N, n = M, k = chunk, la = (libxsmm_blasint)ld, lb = (libxsmm_blasint)ld, lc = N;
    float alpha = 1, beta = 1;
    int flags = LIBXSMM_GEMM_FLAG_TRANS_A;
    libxsmm_smmfunction f = libxsmm_smmdispatch(m, n, k, &la, &lb, &lc, &alpha, &beta, &flags, NULL);
    double best[3] = {1e9, 1e9, 1e9};
    for (int rep = 0; rep < 5; rep++) {
        double t0 = cpu_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, X, (int)ld, X + (long)M * ld, (int)ld, 1.f,
                    C, N);
        double d = cpu_now() - t0;
        best[0] = d < best[0] ? d : best[0];
        t0 = cpu_now();
        for (int c = 0; c + chunk <= K; c += chunk)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, chunk, 1.f, X + c, (int)ld,
                        X + (long)M * ld + c, (int)ld, 1.f, C, N);
        d = cpu_now() - t0;
        best[1] = d < best[1] ? d : best[1];
        for (int c = 0; f && c + chunk <= K; c += chunk)
            f(X + (long)M * ld + c, X + c, C);
        d = cpu_now() - t0 - d;
        (void)d;
    }
    const double fl = 2.0 * M * N * K;
    printf("weights dW_rz M=%d N=%d K=%d: openblas at once %.1f GFLOP/s, in chunks of %d %.1f GFLOP/s, libxsmm %s\n",
           M, N, K, fl / best[0] / 1e9, chunk, fl / best[1] / 1e9, f ? "has a kernel" : "has no kernel (transposed A)");
    free(W);
    free(X);
    free(C);
    return 0;
}
