/* nn_gru.c - one GRU layer, one time step: forward and backward side by side.
 *
 * PyTorch gate equations (rows of every stacked block in the order r, z, n):
 *   a_r = W_ir x + b_ir + W_hr h + b_hr        r = sig(a_r)
 *   a_z = W_iz x + b_iz + W_hz h + b_hz        z = sig(a_z)
 *   c   = W_hn h + b_hn                        (kept: "ghn")
 *   a_n = W_in x + b_in + r * c + noise        n = tanh(a_n)
 *   h'  = (1 - z) * n + z * h
 * (with the rectified-tanh candidate n = max(0, tanh(a_n)), and 1 - n^2
 * below becomes 0 where n = 0; with delays between modules, each W_h h
 * takes each module pair's delayed state, nn_delay.c)
 * Backward, with g = d loss / d h':
 *   da_n = g (1 - z) (1 - n^2)
 *   da_z = g (h - n) z (1 - z)
 *   da_r = da_n c r (1 - r)
 *   dc   = da_n r
 *   dG_i = [da_r; da_z; da_n]  (grad of W_i x + b_i)
 *   dG_h = [da_r; da_z; dc]    (grad of W_h h + b_h)
 *   dh   = g z + W_h^T dG_h    dx = W_i^T dG_i
 *   dW_i += dG_i x^T   db_i += sum_b dG_i   dW_h += dG_h h^T   db_h += sum_b dG_h
 */
#include "nn_internal.h"

#include "mnet_rng.h"

/* The gate nonlinearities of one unit j over B columns, in place: on entry
 * r, z, n, c hold W_ir x + W_hr h, W_iz x + W_hz h, W_in x (+ noise) and
 * W_hn h; on exit r, z, n and c = W_hn h + b_hn, and ho = h'. */
NN_CLONES static void gru_cell_row(mnet_real *restrict r, mnet_real *restrict z, mnet_real *restrict n,
                         mnet_real *restrict c, const mnet_real *restrict hj,
                         mnet_real *restrict ho, mnet_real br, mnet_real bz, mnet_real bn,
                         mnet_real bc, mnet_real lo, int B)
{
    for (int b = 0; b < B; b++) {
        mnet_real rb = nn_sigmoid(r[b] + br);
        mnet_real zb = nn_sigmoid(z[b] + bz);
        mnet_real cb = c[b] + bc;
        mnet_real nb = nn_tanh(n[b] + bn + rb * cb);
        nb = nb < lo ? lo : nb; /* lo -2: tanh; 0: rectified */
        r[b] = rb;
        z[b] = zb;
        n[b] = nb;
        c[b] = cb;
        ho[b] = nb + zb * (hj[b] - nb);
    }
}

void gru_forward(const mnet_nn_layer_params *p, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long ldx, const mnet_real *hp, long ldhp,
                 const mnet_nn_noise *noise, int l)
{
    const int H = s->H, B = s->B, Ni = s->n_in;
    const long ld = s->ld;
    mnet_real *h_prev = la->h_prev + s->col; /* (H x B)  */
    mnet_real *gate = la->gate + s->col;     /* (3H x B) */
    mnet_real *ghn = la->ghn + s->col;       /* (H x B)  */
    mnet_real *h = la->h + s->col;           /* (H x B)  */

    nn_copy(h_prev, ld, hp, ldhp, H, B);

    /* gate (3H x B) = W_i x; rows r, z += W_h h; ghn = W_hn h.  The
     * biases are added in the cell loop. */
    nn_gemm(0, 0, 3 * H, B, Ni, 1, p->w_in, Ni, x, ldx, 0, gate, ld);
    nn_rec_forward(s, la, 2, p->w_rec, 1, gate, ld);
    nn_rec_forward(s, la, 1, p->w_rec + 2 * H * H, 0, ghn, ld);
    if (noise && noise->sd != 0.0)
        mnet_rng_add_normal(gate + 2 * H * ld, H, B, (int)ld, noise->sd, noise->seed,
                            noise->stream + (uint32_t)l, noise->element0, noise->step);

    for (int j = 0; j < H; j++)
        gru_cell_row(gate + j * ld, gate + (H + j) * ld, gate + (2 * H + j) * ld, ghn + j * ld,
                     h_prev + j * ld, h + j * ld, p->b_in[j] + p->b_rec[j],
                     p->b_in[H + j] + p->b_rec[H + j], p->b_in[2 * H + j], p->b_rec[2 * H + j],
                     s->cand_lo, B);
}

/* The backward of gru_cell_row, in place: r, z, n, c become da_r, da_z,
 * da_n, dc; g (d loss / d h') becomes its direct part g z. */
NN_CLONES static void gru_cell_row_backward(mnet_real *restrict r, mnet_real *restrict z,
                                  mnet_real *restrict n, mnet_real *restrict c,
                                  const mnet_real *restrict hj, mnet_real *restrict g,
                                  mnet_real lo, int B)
{
    for (int b = 0; b < B; b++) {
        mnet_real rb = r[b], zb = z[b], nb = n[b], gb = g[b];
        mnet_real dn = 1 - nb * nb;
        dn = nb > lo ? dn : 0; /* the rectified candidate's flat part */
        mnet_real dan = gb * (1 - zb) * dn;
        mnet_real daz = gb * (hj[b] - nb) * zb * (1 - zb);
        mnet_real dar = dan * c[b] * rb * (1 - rb);
        r[b] = dar;
        z[b] = daz;
        n[b] = dan;
        c[b] = dan * rb;
        g[b] = gb * zb;
    }
}

void gru_backward(const mnet_nn_layer_params *p, const nn_step *s, const mnet_nn_layer_acts *la,
                  mnet_real *dh, long lddh, mnet_real *dx, long lddx, mnet_real beta_dx)
{
    const int H = s->H, B = s->B, Ni = s->n_in;
    const long ld = s->ld;
    const mnet_real *h_prev = la->h_prev + s->col; /* (H x B)  */
    mnet_real *gate = la->gate + s->col;           /* (3H x B) r, z, n -> dG_i */
    mnet_real *ghn = la->ghn + s->col;             /* (H x B)  c -> dc         */

    for (int j = 0; j < H; j++)
        gru_cell_row_backward(gate + j * ld, gate + (H + j) * ld, gate + (2 * H + j) * ld,
                              ghn + j * ld, h_prev + j * ld, dh + j * lddh, s->cand_lo, B);
    /* dh += W_h^T dG_h: rows r, z from gate, row n from ghn */
    nn_rec_backward(s, la, 2, p->w_rec, gate, ld, dh, lddh);
    nn_rec_backward(s, la, 1, p->w_rec + 2 * H * H, ghn, ld, dh, lddh);
    if (dx)
        nn_gemm(1, 0, Ni, B, 3 * H, 1, p->w_in, Ni, gate, ld, beta_dx, dx, lddx);
}

void gru_weights(const mnet_nn_layer_params *g, const mnet_nn_layer_acts *la, const nn_step *s,
                 const mnet_real *x, long col0, long ncols)
{
    const int H = s->H, Ni = s->n_in;
    const long ld = s->ld;
    const mnet_real *gate = la->gate + col0;     /* (3H x ncols) dG_i         */
    const mnet_real *ghn = la->ghn + col0;       /* (H x ncols)  n rows of dG_h */
    const int K = (int)ncols, t0 = (int)(col0 / s->B), t1 = t0 + K / s->B;

    nn_gemm(0, 1, 3 * H, Ni, K, 1, gate, ld, x, ld, 1, g->w_in, Ni);
    nn_rec_weights(s, la, 2, la->gate, g->w_rec, t0, t1);
    nn_rec_weights(s, la, 1, la->ghn, g->w_rec + 2 * H * H, t0, t1);
    nn_add_rowsum(g->b_in, gate, ld, 3 * H, K);
    nn_add_rowsum(g->b_rec, gate, ld, 2 * H, K);
    nn_add_rowsum(g->b_rec + 2 * H, ghn, ld, H, K);
}
