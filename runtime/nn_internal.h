/* nn_internal.h - private interface between nn_policy.c and the cell files
 * (nn_gru.c, nn_lstm.c, nn_rnn.c).  Not installed; see mnet_nn.h for the shapes. */
#ifndef MNET_NN_INTERNAL_H
#define MNET_NN_INTERNAL_H

#include <cblas.h>
#include <math.h>

#include "mnet_nn.h"

/* Precision-generic BLAS. */
#ifdef MNET_REAL_FLOAT
#define NN_GEMM cblas_sgemm
#else
#define NN_GEMM cblas_dgemm
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

/* The activations, one value at a time, written so that the loops calling
 * them vectorise: no calls, no branches (the selects become blends when
 * the file is built without trapping math, runtime/CMakeLists.txt).
 *
 * Float: Cephes' expf and tanhf, branch-free, in float arithmetic.  Over
 * all floats (against double): exp < 1 ulp, sigmoid < 2.5 ulp, tanh
 * < 1.4 ulp (glibc's tanhf: 2.2).  NaN gives NaN; tanh(+-inf) = +-1,
 * sigmoid(+inf) = 1; below -87 sigmoid bottoms out at 6e-39 instead of
 * going to 0.
 * Double (what the gradient tests check): libm's exp and expm1. */
#ifdef MNET_REAL_FLOAT
#include <stdint.h>
#include <string.h>

/* e^x for x clamped to [-87.34, 88]: finite, at least FLT_MIN. */
static inline float nn_expf(float x)
{
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.0f ? 88.0f : x;
    /* n = round(x / ln 2): adding 1.5 * 2^23 rounds to an integer */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f; /* Cody-Waite: ln 2 = C1 + C2 */
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;     /* e^r - 1 - r, |r| <= ln 2 / 2 */
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* 2^n, -126 <= n <= 127 */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline mnet_real nn_sigmoid(mnet_real x)
{
    return 1.0f / (1.0f + nn_expf(-x));
}

/* |x| < 0.625: x + x^3 P(x^2); else sign(x) (1 - 2 / (e^(2|x|) + 1)).
 * Both are computed and one is selected. */
static inline mnet_real nn_tanh(mnet_real x)
{
    float a = x < 0 ? -x : x;
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    float big = 1.0f - 2.0f / (nn_expf(2.0f * a) + 1.0f);
    big = x < 0 ? -big : big;
    return a < 0.625f ? small : big;
}
#else
/* tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)), sign of x: within 3e-16
 * relative of tanh() and about 2.3x faster than glibc's tanh.  NaN gives
 * NaN, +-inf gives +-1. */
static inline mnet_real nn_tanh(mnet_real x)
{
    double e = expm1(-2.0 * fabs(x));
    return copysign(-e / (2.0 + e), x);
}

static inline mnet_real nn_sigmoid(mnet_real x)
{
    return 1 / (1 + exp(-x));
}
#endif

/* The per-column loops (activations and their derivatives) are also built
 * for AVX-512 and AVX2 and picked at load time on x86-64 (four and two
 * times the lanes of the baseline SSE2; the AVX-512 clone measured 3-6 %
 * less CPU per training batch than AVX2 alone on pm, arm26 and ct26, one
 * thread, docs/bench.md).  Every clone does the same IEEE operations in
 * the same order (no FMA: contraction is off in ISO C mode), so the
 * results do not depend on the clone taken (the weights of a run are the
 * same bytes either way). */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NN_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define NN_TSAN 1
#endif
/* ThreadSanitizer instruments the clones' ifunc resolver, which the
 * dynamic loader runs before TSan's runtime is up (a crash at start-up):
 * the TSan build (./build.sh --tsan) takes the baseline loop only. */
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && !defined(NN_TSAN)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

/* Starts loading the block (rows x n, ld) into the cache.  The arena's
 * arrays are (rows x T*B): a step's block is one short piece of each of
 * many rows, a stride the hardware prefetchers do not follow across
 * pages, so without this every row of every step is a cache miss. */
void nn_prefetch(const mnet_real *p, long ld, int rows, int n);

/* A check's failure: the message into err (when err and n > 0); -1. */
int nn_fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* dst (rows x n, ldd) = src (rows x n, lds); src NULL: zeros. */
void nn_copy(mnet_real *dst, long ldd, const mnet_real *src, long lds, int rows, int n);

/* dst (n) += src (n) */
void nn_add_row(mnet_real *restrict dst, const mnet_real *restrict src, int n);

/* db (rows) += row sums of dG (rows x n, ld). */
void nn_add_rowsum(mnet_real *db, const mnet_real *dG, long ld, int rows, int n);

/* Step context of one layer: columns col .. col+B-1 of the arena arrays. */
typedef struct nn_step {
    long col;             /* first arena column: t*B            */
    long ld;              /* arena leading dimension: T*B       */
    int B;                /* columns                            */
    int n_in, H;          /* Ni, H                              */
    int t;                /* the step (col / B)                 */
    mnet_real cand_lo;    /* the candidate is max(cand_lo, tanh): -2 for
                             tanh (never below -1), 0 for the
                             rectified tanh; psi' is 0 where psi <= cand_lo */
    const mnet_nn_delays *dl; /* NULL: no delays (dense products)  */
} nn_step;

/* The recurrent products of one layer, dense or per module pair with its
 * delay (nn_delay.c).  w holds nblk gate blocks (each H x H, ld H) of
 * W_h; dG / out are (nblk*H x B) with leading dimension ld.
 *   forward   out = beta out + W . h_src           (h_src: h_prev, or the
 *                                                   delayed state per pair)
 *   backward  dh += W^T dG, a delayed pair's part into la->dhd at the step
 *             it came from (dh: d loss / d h_{t-1}, lddh)
 *   weights   gw (nblk*H x H) += dG . h_src^T over steps t0 .. t1-1 */
void nn_rec_forward(const nn_step *s, const mnet_nn_layer_acts *la, int nblk, const mnet_real *w,
                    mnet_real beta, mnet_real *out, long ldout);
void nn_rec_backward(const nn_step *s, const mnet_nn_layer_acts *la, int nblk, const mnet_real *w,
                     const mnet_real *dG, long lddG, mnet_real *dh, long lddh);
void nn_rec_weights(const nn_step *s, const mnet_nn_layer_acts *la, int nblk, const mnet_real *dG0,
                    mnet_real *gw, int t0, int t1);

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
/* LSTM: also writes la->c and zeroes la->dc at the step's columns; the
 * previous cell state is la->c at the previous step's columns (zero at
 * step 0, s->col == 0). */
void lstm_forward(const mnet_nn_layer_params *p, const mnet_nn_layer_acts *la, const nn_step *s,
                  const mnet_real *x, long ldx, const mnet_real *hp, long ldhp,
                  const mnet_nn_noise *noise, int l);

/* Backward of one layer for one step.
 *   dh  (H x lddh)  in: d loss / d h'; out: d loss / d h_prev (MLP: zero)
 *   dx  (Ni x lddx) d loss / d x: dx = beta_dx * dx + W_i^T dG (NULL: skip)
 * Leaves dG_i (and for the GRU the n block of dG_h) in la->gate (la->ghn). */
void gru_backward(const mnet_nn_layer_params *p, const nn_step *s, const mnet_nn_layer_acts *la,
                  mnet_real *dh, long lddh, mnet_real *dx, long lddx, mnet_real beta_dx);
void rnn_backward(const mnet_nn_layer_params *p, const nn_step *s, const mnet_nn_layer_acts *la,
                  mnet_real *dh, long lddh, mnet_real *dx, long lddx, mnet_real beta_dx);
/* LSTM: reads la->dc at the step's columns and writes the previous step's
 * (d loss / d c through this step), so backward runs t = T-1 down to 0. */
void lstm_backward(const mnet_nn_layer_params *p, const nn_step *s, const mnet_nn_layer_acts *la,
                   mnet_real *dh, long lddh, mnet_real *dx, long lddx, mnet_real beta_dx);

/* g += weight and bias gradients over arena columns col0 .. col0+ncols-1:
 *   x (Ni x ld) the layer input at column col0 (arena array, ld = s->ld).
 * s->col and s->B are ignored; col0/ncols give the range. */
void gru_weights(const mnet_nn_layer_params *g, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long col0, long ncols);
void rnn_weights(const mnet_nn_layer_params *g, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long col0, long ncols);
void lstm_weights(const mnet_nn_layer_params *g, const mnet_nn_layer_acts *la, const nn_step *s,
                  const mnet_real *x, long col0, long ncols);

#endif
