/* nn_internal.h - private interface between nn_policy.c and the cell files
 * (nn_gru.c, nn_rnn.c).  Not installed; see mnet_nn.h for the shapes. */
#ifndef MNET_NN_INTERNAL_H
#define MNET_NN_INTERNAL_H

#include <cblas.h>
#include <math.h>

#include "mnet_nn.h"

/* Precision-generic BLAS and elementary functions. */
#ifdef MNET_REAL_FLOAT
#define NN_GEMM cblas_sgemm
#define nn_exp expf
#else
#define NN_GEMM cblas_dgemm
#define nn_exp exp
#endif

/* C (M x N, ldc) = alpha * op(A) op(B) + beta * C, row-major, where op(A) is
 * (M x K) and op(B) is (K x N); ta / tb say whether A / B are stored
 * transposed.  K == 0 just scales C by beta (BLAS does the same). */
static inline void nn_gemm(int ta, int tb, int M, int N, int K, mnet_real alpha,
                           const mnet_real *A, long lda, const mnet_real *Bm, long ldb,
                           mnet_real beta, mnet_real *C, long ldc)
{
    NN_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
            M, N, K, alpha, A, (int)lda, Bm, (int)ldb, beta, C, (int)ldc);
}

/* tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)), sign of x: within 3e-16
 * relative of tanh() and about 2.3x faster than glibc's tanh (which
 * dominated the GRU forward step); evaluated in double in both precisions
 * (also faster than tanhf).  NaN gives NaN, +-inf gives +-1. */
static inline mnet_real nn_tanh(mnet_real x)
{
    double e = expm1(-2.0 * fabs((double)x));
    return (mnet_real)copysign(-e / (2.0 + e), (double)x);
}

static inline mnet_real nn_sigmoid(mnet_real x)
{
    return (mnet_real)1 / ((mnet_real)1 + nn_exp(-x));
}

/* dst (rows x n, ldd) = src (rows x n, lds); src NULL: zeros. */
void nn_copy(mnet_real *dst, long ldd, const mnet_real *src, long lds, int rows, int n);

/* C (rows x n, ldc) = bias broadcast along columns (bias2 added when not NULL). */
void nn_fill_bias(mnet_real *C, long ldc, const mnet_real *bias, const mnet_real *bias2,
                  int rows, int n);

/* db (rows) += row sums of dG (rows x n, ld). */
void nn_add_rowsum(mnet_real *db, const mnet_real *dG, long ld, int rows, int n);

/* Step context of one layer: columns col .. col+B-1 of the arena arrays. */
typedef struct nn_step {
    long col;             /* first arena column: t*B            */
    long ld;              /* arena leading dimension: T*B       */
    int B;                /* columns                            */
    int n_in, H;          /* Ni, H                              */
} nn_step;

/* Forward of one layer for one step.
 *   x  (Ni x ldx)  layer input (the arena's x or the lower layer's h)
 *   hp (H x ldhp)  previous state (NULL: zeros); copied into la->h_prev
 *   noise, l       hidden noise of layer l (NULL or sd 0: none)
 * Writes la->gate/ghn/h at the step's columns. */
void gru_forward(const mnet_nn_layer_params *p, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long ldx, const mnet_real *hp, long ldhp,
                 const mnet_nn_noise *noise, int l);
void rnn_forward(const mnet_nn_layer_params *p, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long ldx, const mnet_real *hp, long ldhp,
                 const mnet_nn_noise *noise, int l);   /* p->w_rec NULL: MLP */

/* Backward of one layer for one step.
 *   dh  (H x lddh)  in: d loss / d h'; out: d loss / d h_prev (MLP: zero)
 *   dx  (Ni x lddx) d loss / d x: dx = beta_dx * dx + W_i^T dG (NULL: skip)
 * Leaves dG_i (and for the GRU the n block of dG_h) in la->gate (la->ghn). */
void gru_backward(const mnet_nn_layer_params *p, const nn_step *s, const mnet_nn_layer_acts *la,
                  mnet_real *dh, long lddh, mnet_real *dx, long lddx, mnet_real beta_dx);
void rnn_backward(const mnet_nn_layer_params *p, const nn_step *s, const mnet_nn_layer_acts *la,
                  mnet_real *dh, long lddh, mnet_real *dx, long lddx, mnet_real beta_dx);

/* g += weight and bias gradients over arena columns col0 .. col0+ncols-1:
 *   x (Ni x ld) the layer input at column col0 (arena array, ld = s->ld).
 * s->col and s->B are ignored; col0/ncols give the range. */
void gru_weights(const mnet_nn_layer_params *g, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long col0, long ncols);
void rnn_weights(const mnet_nn_layer_params *g, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long col0, long ncols);

#endif
