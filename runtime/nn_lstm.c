/* nn_lstm.c - one LSTM layer, one time step: forward and backward side by
 * side.
 *
 * PyTorch gate equations (rows of every stacked block in the order i, f,
 * g, o; c is the cell state, zero before step 0):
 *   a_i = W_ii x + b_ii + W_hi h + b_hi        i  = sig(a_i)
 *   a_f = W_if x + b_if + W_hf h + b_hf        f  = sig(a_f)
 *   a_g = W_ig x + b_ig + W_hg h + b_hg + noise  g = tanh(a_g)
 *   a_o = W_io x + b_io + W_ho h + b_ho        o  = sig(a_o)
 *   c'  = f c + i g                            h' = o tanh(c')
 * Backward, with gh = d loss / d h' and gc = d loss / d c' through the
 * later steps (the arena's dc, written by step t+1's backward):
 *   tc   = tanh(c')                 (recomputed, not stored)
 *   dc   = gc + gh o (1 - tc^2)
 *   da_i = dc g i (1 - i)           da_f = dc c f (1 - f)
 *   da_g = dc i (1 - g^2)           da_o = gh tc o (1 - o)
 *   dG   = [da_i; da_f; da_g; da_o] (grad of W_i x + b_i and of W_h h + b_h)
 *   d c  = dc f                     (to step t-1's dc)
 *   dh   = W_h^T dG                 dx = W_i^T dG
 *   dW_i += dG x^T   db_i += sum_b dG   dW_h += dG h^T   db_h += sum_b dG
 */
#include "nn_internal.h"

#include "mnet_rng.h"

/* The gates of one unit j over B columns, in place: on entry i, f, g, o
 * hold W_i x + W_h h (+ noise on g); on exit the activated gates, c the
 * new cell state and ho = h'.  cp: the previous cell state (at step 0 a
 * row of zeros).  No branch in the loop: it vectorises at -O2. */
NN_CLONES static void lstm_cell_row(mnet_real *restrict i, mnet_real *restrict f,
                                    mnet_real *restrict g, mnet_real *restrict o,
                                    const mnet_real *restrict cp, mnet_real *restrict c,
                                    mnet_real *restrict ho, mnet_real bi, mnet_real bf,
                                    mnet_real bg, mnet_real bo, int B)
{
    for (int b = 0; b < B; b++) {
        mnet_real ib = nn_sigmoid(i[b] + bi);
        mnet_real fb = nn_sigmoid(f[b] + bf);
        mnet_real gb = nn_tanh(g[b] + bg);
        mnet_real ob = nn_sigmoid(o[b] + bo);
        mnet_real cb = fb * cp[b] + ib * gb;
        i[b] = ib;
        f[b] = fb;
        g[b] = gb;
        o[b] = ob;
        c[b] = cb;
        ho[b] = ob * nn_tanh(cb);
    }
}

void lstm_forward(const mnet_nn_layer_params *p, const mnet_nn_layer_acts *la, const nn_step *s,
                  const mnet_real *x, long ldx, const mnet_real *hp, long ldhp,
                  const mnet_nn_noise *noise, int l)
{
    const int H = s->H, B = s->B, Ni = s->n_in;
    const long ld = s->ld;
    mnet_real *h_prev = la->h_prev + s->col; /* (H x B)  */
    mnet_real *gate = la->gate + s->col;     /* (4H x B) */
    mnet_real *c = la->c + s->col;           /* (H x B)  */
    mnet_real *dc = la->dc + s->col;         /* (H x B)  */
    mnet_real *h = la->h + s->col;           /* (H x B)  */
    /* (H x B) c of step t-1; at step 0 the zeroed dc block stands for 0 */
    const mnet_real *cp = s->col >= B ? c - B : dc;

    nn_copy(h_prev, ld, hp, ldhp, H, B);
    nn_copy(dc, ld, NULL, 0, H, B); /* the next step's backward writes it */

    /* gate (4H x B) = W_i x + W_h h; the biases are added in the cell loop */
    nn_gemm(0, 0, 4 * H, B, Ni, 1, p->w_in, Ni, x, ldx, 0, gate, ld);
    nn_gemm(0, 0, 4 * H, B, H, 1, p->w_rec, H, h_prev, ld, 1, gate, ld);
    if (noise && noise->sd != 0.0)
        mnet_rng_add_normal(gate + 2 * H * ld, H, B, (int)ld, noise->sd, noise->seed,
                            noise->stream + (uint32_t)l, noise->element0, noise->step);

    for (int j = 0; j < H; j++)
        lstm_cell_row(gate + j * ld, gate + (H + j) * ld, gate + (2 * H + j) * ld,
                      gate + (3 * H + j) * ld, cp + j * ld, c + j * ld, h + j * ld,
                      p->b_in[j] + p->b_rec[j],
                      p->b_in[H + j] + p->b_rec[H + j], p->b_in[2 * H + j] + p->b_rec[2 * H + j],
                      p->b_in[3 * H + j] + p->b_rec[3 * H + j], B);
}

/* The backward of lstm_cell_row, in place: i, f, g, o become da_i, da_f,
 * da_g, da_o; gh (d loss / d h') is read; dc (d loss / d c' from later
 * steps) is read, and dcp (step t-1's dc) gets dc f.  At step 0 (cp and
 * dcp NULL) c_prev is 0: da_f = 0 and nothing goes further back.  Two
 * loops without branches inside: both vectorise at -O2. */
NN_CLONES static void lstm_cell_row_backward(mnet_real *restrict i, mnet_real *restrict f,
                                             mnet_real *restrict g, mnet_real *restrict o,
                                             const mnet_real *restrict cp,
                                             const mnet_real *restrict c,
                                             const mnet_real *restrict dc,
                                             mnet_real *restrict dcp,
                                             const mnet_real *restrict gh, int B)
{
    if (cp) {
        for (int b = 0; b < B; b++) {
            mnet_real ib = i[b], fb = f[b], gb = g[b], ob = o[b], hb = gh[b];
            mnet_real tc = nn_tanh(c[b]);
            mnet_real dcb = dc[b] + hb * ob * (1 - tc * tc);
            i[b] = dcb * gb * ib * (1 - ib);
            f[b] = dcb * cp[b] * fb * (1 - fb);
            g[b] = dcb * ib * (1 - gb * gb);
            o[b] = hb * tc * ob * (1 - ob);
            dcp[b] = dcb * fb;
        }
    } else {
        for (int b = 0; b < B; b++) {
            mnet_real ib = i[b], gb = g[b], ob = o[b], hb = gh[b];
            mnet_real tc = nn_tanh(c[b]);
            mnet_real dcb = dc[b] + hb * ob * (1 - tc * tc);
            i[b] = dcb * gb * ib * (1 - ib);
            f[b] = 0;
            g[b] = dcb * ib * (1 - gb * gb);
            o[b] = hb * tc * ob * (1 - ob);
        }
    }
}

void lstm_backward(const mnet_nn_layer_params *p, const nn_step *s, const mnet_nn_layer_acts *la,
                   mnet_real *dh, long lddh, mnet_real *dx, long lddx, mnet_real beta_dx)
{
    const int H = s->H, B = s->B, Ni = s->n_in;
    const long ld = s->ld;
    mnet_real *gate = la->gate + s->col;       /* (4H x B) i, f, g, o -> dG */
    const mnet_real *c = la->c + s->col;       /* (H x B)                   */
    const mnet_real *dc = la->dc + s->col;     /* (H x B)                   */
    const int first = s->col < B;              /* step 0: c_prev = 0        */
    const mnet_real *cp = first ? NULL : c - B;
    mnet_real *dcp = first ? NULL : la->dc + s->col - B;

    for (int j = 0; j < H; j++)
        lstm_cell_row_backward(gate + j * ld, gate + (H + j) * ld, gate + (2 * H + j) * ld,
                               gate + (3 * H + j) * ld, cp ? cp + j * ld : NULL, c + j * ld,
                               dc + j * ld, dcp ? dcp + j * ld : NULL, dh + j * lddh, B);
    /* dh = W_h^T dG (h' has no direct path to h) */
    nn_gemm(1, 0, H, B, 4 * H, 1, p->w_rec, H, gate, ld, 0, dh, lddh);
    if (dx)
        nn_gemm(1, 0, Ni, B, 4 * H, 1, p->w_in, Ni, gate, ld, beta_dx, dx, lddx);
}

void lstm_weights(const mnet_nn_layer_params *g, const mnet_nn_layer_acts *la, const nn_step *s,
                  const mnet_real *x, long col0, long ncols)
{
    const int H = s->H, Ni = s->n_in;
    const long ld = s->ld;
    const mnet_real *gate = la->gate + col0;     /* (4H x ncols) dG */
    const mnet_real *h_prev = la->h_prev + col0; /* (H x ncols)     */
    const int K = (int)ncols;

    nn_gemm(0, 1, 4 * H, Ni, K, 1, gate, ld, x, ld, 1, g->w_in, Ni);
    nn_gemm(0, 1, 4 * H, H, K, 1, gate, ld, h_prev, ld, 1, g->w_rec, H);
    nn_add_rowsum(g->b_in, gate, ld, 4 * H, K);
    nn_add_rowsum(g->b_rec, gate, ld, 4 * H, K);
}
