/* nn_rnn.c - one tanh layer, one time step: the Elman RNN and, with no
 * recurrent weights (p->w_rec == NULL), the MLP's hidden layer.
 *   a  = W x + b + U h + c + noise    (MLP: W x + b + noise)
 *   h' = tanh(a)                      (rectified: max(0, tanh(a)))
 * Backward, with g = d loss / d h':
 *   da = g (1 - h'^2)                 (from the stored h', no a needed;
 *                                      rectified: 0 where h' = 0)
 *   dh = U^T da   (MLP: 0)            dx = W^T da
 *   dW += da x^T  db += sum_b da      dU += da h^T  dc += sum_b da
 */
#include "nn_internal.h"

#include "mnet_rng.h"

/* h (n) = max(lo, tanh(h + bias)), in place (lo -2: tanh) */
NN_CLONES static void rnn_cell_row(mnet_real *restrict h, mnet_real bias, mnet_real lo, int n)
{
    for (int b = 0; b < n; b++) {
        mnet_real v = nn_tanh(h[b] + bias);
        h[b] = v < lo ? lo : v;
    }
}

void rnn_forward(const mnet_nn_layer_params *p, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long ldx, const mnet_real *hp, long ldhp,
                 const mnet_nn_noise *noise, int l)
{
    const int H = s->H, B = s->B, Ni = s->n_in;
    const long ld = s->ld;
    mnet_real *h = la->h + s->col; /* (H x B): W x + U h (+ noise), then h' in place */

    nn_gemm(0, 0, H, B, Ni, 1, p->w_in, Ni, x, ldx, 0, h, ld);
    if (p->w_rec) {
        mnet_real *h_prev = la->h_prev + s->col; /* (H x B) */
        nn_copy(h_prev, ld, hp, ldhp, H, B);
        nn_rec_forward(s, la, 1, p->w_rec, 1, h, ld);
    }
    if (noise && noise->sd != 0.0)
        mnet_rng_add_normal(h, H, B, (int)ld, noise->sd, noise->seed,
                            noise->stream + (uint32_t)l, noise->element0, noise->step);
    for (int j = 0; j < H; j++)
        rnn_cell_row(h + j * ld, p->b_in[j] + (p->b_rec ? p->b_rec[j] : 0), s->cand_lo, B);
}

/* da (n) = g (1 - h'^2), 0 where h' <= lo */
NN_CLONES static void rnn_cell_row_backward(mnet_real *restrict da, const mnet_real *restrict h,
                                  const mnet_real *restrict g, mnet_real lo, int n)
{
    for (int b = 0; b < n; b++) {
        mnet_real d = 1 - h[b] * h[b];
        da[b] = g[b] * (h[b] > lo ? d : 0);
    }
}

void rnn_backward(const mnet_nn_layer_params *p, const nn_step *s, const mnet_nn_layer_acts *la,
                  mnet_real *dh, long lddh, mnet_real *dx, long lddx, mnet_real beta_dx)
{
    const int H = s->H, B = s->B, Ni = s->n_in;
    const long ld = s->ld;
    const mnet_real *h = la->h + s->col; /* (H x B) */
    mnet_real *da = la->gate + s->col;   /* (H x B) */

    for (int j = 0; j < H; j++)
        rnn_cell_row_backward(da + j * ld, h + j * ld, dh + j * lddh, s->cand_lo, B);
    nn_copy(dh, lddh, NULL, 0, H, B);
    if (p->w_rec)
        nn_rec_backward(s, la, 1, p->w_rec, da, ld, dh, lddh);
    if (dx)
        nn_gemm(1, 0, Ni, B, H, 1, p->w_in, Ni, da, ld, beta_dx, dx, lddx);
}

void rnn_weights(const mnet_nn_layer_params *g, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long col0, long ncols)
{
    const int H = s->H, Ni = s->n_in;
    const long ld = s->ld;
    const mnet_real *da = la->gate + col0; /* (H x ncols) */
    const int K = (int)ncols;

    nn_gemm(0, 1, H, Ni, K, 1, da, ld, x, ld, 1, g->w_in, Ni);
    nn_add_rowsum(g->b_in, da, ld, H, K);
    if (g->w_rec) {
        const int t0 = (int)(col0 / s->B);
        nn_rec_weights(s, la, 1, la->gate, g->w_rec, t0, t0 + K / s->B);
        nn_add_rowsum(g->b_rec, da, ld, H, K);
    }
}
