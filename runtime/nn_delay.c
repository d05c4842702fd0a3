/* nn_delay.c - the recurrent products of a layer, dense or, when modules
 * are connected with delays (mnet_nn_delays), one small GEMM per module
 * pair with the state that pair sees: h_{t-1-d} for a delay of d extra
 * steps (the state before the episode, h0, where t-1-d < 0).
 *
 * With delays, a pair's block W[b, a] (rows of module b in each gate
 * block, columns of module a) reads the delayed state in the forward
 * pass; in the backward pass its W^T dG goes to the step the state came
 * from, through the arena's dhd (added to dh when backward reaches that
 * step); its weight gradient pairs each step's dG with the same delayed
 * state.  Pairs are visited in a fixed order (gate, target, source), so
 * the sums do not depend on anything but the network. */
#include "nn_internal.h"

#include <stdio.h>

/* The arena column of the state h_{t-1-d}: h_prev at step t - d, which is
 * h0 (step 0's h_prev) for t - d <= 0. */
static long delayed_col(int t, int d, int B)
{
    return (long)(t - d > 0 ? t - d : 0) * B;
}

void nn_rec_forward(const nn_step *s, const mnet_nn_layer_acts *la, int nblk, const mnet_real *w,
                    mnet_real beta, mnet_real *out, long ldout)
{
    const int H = s->H, B = s->B;
    const long ld = s->ld;
    const mnet_nn_delays *dl = s->dl;
    if (!dl) {
        nn_gemm(0, 0, nblk * H, B, H, 1, w, H, la->h_prev + s->col, ld, beta, out, ldout);
        return;
    }
    if (beta == 0)
        nn_copy(out, ldout, NULL, 0, nblk * H, B);
    for (int q = 0; q < nblk; q++)
        for (int k = 0; k < dl->n_pairs; k++) {
            const int b = dl->pair_to[k], a = dl->pair_from[k];
            const long row = (long)q * H + dl->first[b];
            const mnet_real *src = la->h_prev + delayed_col(s->t, dl->steps[b][a], B) + (long)dl->first[a] * ld;
            nn_gemm(0, 0, dl->size[b], B, dl->size[a], 1, w + row * H + dl->first[a], H, src, ld, 1,
                    out + row * ldout, ldout);
        }
}

void nn_rec_backward(const nn_step *s, const mnet_nn_layer_acts *la, int nblk, const mnet_real *w,
                     const mnet_real *dG, long lddG, mnet_real *dh, long lddh)
{
    const int H = s->H, B = s->B;
    const long ld = s->ld;
    const mnet_nn_delays *dl = s->dl;
    if (!dl) {
        nn_gemm(1, 0, H, B, nblk * H, 1, w, H, dG, lddG, 1, dh, lddh);
        return;
    }
    for (int q = 0; q < nblk; q++)
        for (int k = 0; k < dl->n_pairs; k++) {
            const int b = dl->pair_to[k], a = dl->pair_from[k], d = dl->steps[b][a];
            const long row = (long)q * H + dl->first[b];
            mnet_real *dst = d == 0 ? dh + (long)dl->first[a] * lddh
                                    : la->dhd + delayed_col(s->t, d, B) + (long)dl->first[a] * ld;
            nn_gemm(1, 0, dl->size[a], B, dl->size[b], 1, w + row * H + dl->first[a], H, dG + row * lddG, lddG, 1,
                    dst, d == 0 ? lddh : ld);
        }
}

void nn_rec_weights(const nn_step *s, const mnet_nn_layer_acts *la, int nblk, const mnet_real *dG0,
                    mnet_real *gw, int t0, int t1)
{
    const int H = s->H, B = s->B;
    const long ld = s->ld;
    const mnet_nn_delays *dl = s->dl;
    if (t1 <= t0)
        return;
    if (!dl) {
        nn_gemm(0, 1, nblk * H, H, (t1 - t0) * B, 1, dG0 + (long)t0 * B, ld,
                la->h_prev + (long)t0 * B, ld, 1, gw, H);
        return;
    }
    for (int q = 0; q < nblk; q++)
        for (int k = 0; k < dl->n_pairs; k++) {
            const int b = dl->pair_to[k], a = dl->pair_from[k], d = dl->steps[b][a];
            const long row = (long)q * H + dl->first[b];
            const mnet_real *dG = dG0 + row * ld;
            const mnet_real *hs = la->h_prev + (long)dl->first[a] * ld;
            mnet_real *g = gw + row * H + dl->first[a];
            /* steps whose source lies before the episode: h0 */
            int t = t0;
            for (; t < t1 && t - d < 0; t++)
                nn_gemm(0, 1, dl->size[b], dl->size[a], B, 1, dG + (long)t * B, ld, hs, ld, 1, g, H);
            /* the rest at once: step t pairs with h_prev at step t - d */
            if (t < t1)
                nn_gemm(0, 1, dl->size[b], dl->size[a], (t1 - t) * B, 1, dG + (long)t * B, ld, hs + (long)(t - d) * B,
                        ld, 1, g, H);
        }
}

int mnet_nn_set_delays(mnet_nn *nn, const mnet_nn_modular *md, int T, char *err, size_t n)
{
    const int M = md->n_modules, H = nn->cfg.n_hidden;
    if (M < 1 || M > MNET_NN_MAX_MODULES)
        return nn_fail(err, n, "delays: %d modules (1 to %d)", M, MNET_NN_MAX_MODULES);
    int max = 0;
    long total = 0;
    for (int b = 0; b < M; b++) {
        total += md->size[b];
        for (int a = 0; a < M; a++) {
            const int d = md->delay_steps[b][a];
            if (d < 0 || d >= T)
                return nn_fail(err, n, "connection '%s' -> '%s': a delay of %d steps %s", md->name[a], md->name[b], d,
                     d < 0 ? "is negative" : "is not shorter than the episode");
            if (d > max)
                max = d;
        }
    }
    if (max == 0)
        return 0;
    if ((nn->cfg.cell != MNET_NN_GRU && nn->cfg.cell != MNET_NN_RNN) || nn->cfg.n_layers != 1)
        return nn_fail(err, n, "delays between modules need one layer of a gru or rnn cell");
    if (total != H)
        return nn_fail(err, n, "delays: the module sizes add up to %ld, but the network has %d units", total, H);
    if (nn->delays.n_modules > 0)
        return nn_fail(err, n, "delays: already set");
    mnet_nn_delays *dl = &nn->delays;
    dl->n_modules = M;
    dl->max = max;
    for (int b = 0, u = 0; b < M; b++) {
        dl->first[b] = u;
        dl->size[b] = md->size[b];
        u += md->size[b];
        for (int a = 0; a < M; a++) {
            dl->steps[b][a] = md->delay_steps[b][a];
            if (md->frac[b][a] > 0 && md->p[b][a] > 0) {
                dl->pair_to[dl->n_pairs] = (unsigned char)b;
                dl->pair_from[dl->n_pairs++] = (unsigned char)a;
            }
        }
    }
    nn->act_rows += H; /* dhd of the one layer */
    return 0;
}
