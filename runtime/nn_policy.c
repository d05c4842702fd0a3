/* nn_policy.c - the policy network: sizes and parameter layout,
 * initialisation, the arena, and the step loop over layers plus the
 * read-out (forward beside backward).  The cells are in nn_gru.c,
 * nn_lstm.c and nn_rnn.c; shapes and layout are described in mnet_nn.h. */
#include "nn_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_rng.h"

#define NN_MAX_SIZE (1 << 20) /* bound on I, H, O: keeps int arithmetic safe */

/* RNG streams of the initialisation (mnet_nn_init_params). */
enum {
    NN_STREAM_W_IN = 0,    /* + 4*l */
    NN_STREAM_W_REC = 1,   /* + 4*l */
    NN_STREAM_W_OUT = 4 * MNET_NN_MAX_LAYERS
};

/* ---- small helpers shared with the cell files ---- */

int nn_fail(char *err, size_t n, const char *fmt, ...)
{
    if (err && n > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void nn_copy(mnet_real *dst, long ldd, const mnet_real *src, long lds, int rows, int n)
{
    if (dst == src && ldd == lds)
        return; /* in place already (a learned h0 broadcast into h_prev) */
    for (int i = 0; i < rows; i++) {
        if (src)
            memcpy(dst + i * ldd, src + i * lds, (size_t)n * sizeof *dst);
        else
            for (int b = 0; b < n; b++)
                dst[i * ldd + b] = 0;
    }
}

void nn_prefetch(const mnet_real *p, long ld, int rows, int n)
{
    const int line = 64 / (int)sizeof *p;
    for (int i = 0; i < rows; i++) {
        for (int b = 0; b < n; b += line)
            __builtin_prefetch(p + i * ld + b, 1, 3);
        __builtin_prefetch(p + i * ld + n - 1, 1, 3);
    }
}

NN_CLONES void nn_add_row(mnet_real *restrict dst, const mnet_real *restrict src, int n)
{
    for (int b = 0; b < n; b++)
        dst[b] += src[b];
}

/* Eight partial sums per row: independent chains instead of one serial
 * dependency (the compiler may not reassociate; we keep -ffast-math off). */
void nn_add_rowsum(mnet_real *db, const mnet_real *dG, long ld, int rows, int n)
{
    for (int i = 0; i < rows; i++) {
        const mnet_real *d = dG + i * ld;
        mnet_real acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int b = 0;
        for (; b + 8 <= n; b += 8)
            for (int k = 0; k < 8; k++)
                acc[k] += d[b + k];
        mnet_real sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) +
                        ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; b < n; b++)
            sum += d[b];
        db[i] += sum;
    }
}

/* y (n) = sig(y + bias), in place */
NN_CLONES static void nn_sigmoid_row(mnet_real *restrict y, mnet_real bias, int n)
{
    for (int b = 0; b < n; b++)
        y[b] = nn_sigmoid(y[b] + bias);
}

/* y (n) = dy y (1 - y), in place: the gradient of the pre-activation */
NN_CLONES static void nn_sigmoid_row_backward(mnet_real *restrict y, const mnet_real *restrict dy, int n)
{
    for (int b = 0; b < n; b++)
        y[b] = dy[b] * y[b] * (1 - y[b]);
}

/* y (n) = y + bias, in place (linear read-out) */
NN_CLONES static void nn_linear_row(mnet_real *restrict y, mnet_real bias, int n)
{
    for (int b = 0; b < n; b++)
        y[b] = y[b] + bias;
}

/* y (n) = max(0, y + bias), in place (ReLU read-out; NaN stays NaN) */
NN_CLONES static void nn_relu_row(mnet_real *restrict y, mnet_real bias, int n)
{
    for (int b = 0; b < n; b++) {
        mnet_real a = y[b] + bias;
        y[b] = a < 0 ? 0 : a;
    }
}

/* y (n) = dy where y > 0, else 0, in place: the ReLU's backward from y */
NN_CLONES static void nn_relu_row_backward(mnet_real *restrict y, const mnet_real *restrict dy, int n)
{
    for (int b = 0; b < n; b++)
        y[b] = y[b] > 0 ? dy[b] : 0;
}

/* ---- sizes and layout ---- */

/* activation rows per step of one layer: GRU h_prev, gate (3H), ghn, h;
 * LSTM h_prev, gate (4H), c, dc, h; RNN h_prev, gate, h; MLP gate, h */
static int layer_act_rows(mnet_nn_cell cell, int H)
{
    switch (cell) {
    case MNET_NN_GRU: return 6 * H;
    case MNET_NN_LSTM: return 8 * H;
    case MNET_NN_RNN: return 3 * H;
    default: return 2 * H;
    }
}

int mnet_nn_setup(mnet_nn *nn, const mnet_nn_config *cfg, char *err, size_t err_size)
{
    const char *msg = NULL;
    if (cfg->cell != MNET_NN_GRU && cfg->cell != MNET_NN_RNN && cfg->cell != MNET_NN_MLP &&
        cfg->cell != MNET_NN_LSTM)
        msg = "unknown cell type";
    else if (cfg->readout != MNET_NN_READOUT_SIGMOID && cfg->readout != MNET_NN_READOUT_LINEAR &&
             cfg->readout != MNET_NN_READOUT_RELU)
        msg = "unknown read-out nonlinearity";
    else if (cfg->n_layers < 1 || cfg->n_layers > MNET_NN_MAX_LAYERS)
        msg = "layer count out of range";
    else if (cfg->n_input < 1 || cfg->n_input > NN_MAX_SIZE)
        msg = "input size out of range";
    else if (cfg->n_hidden < 1 || cfg->n_hidden > NN_MAX_SIZE)
        msg = "hidden size out of range";
    else if (cfg->n_output < 1 || cfg->n_output > NN_MAX_SIZE)
        msg = "output size out of range";
    else if (cfg->ortho != MNET_NN_ORTHO_STACKED && cfg->ortho != MNET_NN_ORTHO_BLOCK)
        msg = "unknown recurrent initialisation";
    else if (cfg->candidate != MNET_NN_CANDIDATE_TANH &&
             cfg->candidate != MNET_NN_CANDIDATE_RECTIFIED_TANH)
        msg = "unknown candidate activation";
    else if (cfg->candidate != MNET_NN_CANDIDATE_TANH && cfg->cell == MNET_NN_LSTM)
        msg = "the rectified-tanh candidate is for gru, rnn and mlp cells (the lstm keeps tanh)";
    else if (cfg->learn_h0 != 0 && cfg->learn_h0 != 1)
        msg = "learn_h0 is 0 or 1";
    else if (cfg->learn_h0 && cfg->cell == MNET_NN_MLP)
        msg = "an mlp has no state to learn an initial value of";
    if (msg) {
        if (err && err_size > 0)
            snprintf(err, err_size, "network: %s (cell %d, I %d, H %d, L %d, O %d)", msg,
                     (int)cfg->cell, cfg->n_input, cfg->n_hidden, cfg->n_layers,
                     cfg->n_output);
        return -1;
    }

    memset(nn, 0, sizeof *nn);
    nn->cfg = *cfg;
    const int H = cfg->n_hidden, L = cfg->n_layers;
    const int rec = cfg->cell != MNET_NN_MLP;
    nn->n_gates = cfg->cell == MNET_NN_GRU ? 3 : cfg->cell == MNET_NN_LSTM ? 4 : 1;
    const size_t GH = (size_t)nn->n_gates * (size_t)H;
    size_t off = 0;
    long rows = cfg->n_input + cfg->n_output;
    for (int l = 0; l < L; l++) {
        int n_in = l == 0 ? cfg->n_input : H;
        nn->layer_n_in[l] = n_in;
        nn->layer_offset[l] = off;
        off += GH * (size_t)n_in + GH;               /* w_in, b_in   */
        if (rec)
            off += GH * (size_t)H + GH;              /* w_rec, b_rec */
        rows += layer_act_rows(cfg->cell, H);
    }
    nn->out_offset = off;
    off += (size_t)cfg->n_output * (size_t)H + (size_t)cfg->n_output;
    nn->h0_offset = off;
    if (cfg->learn_h0)
        off += (size_t)L * (size_t)H;
    nn->n_params = off;
    nn->act_rows = (int)rows;
    return 0;
}

void mnet_nn_bind_params(const mnet_nn *nn, mnet_real *buf, mnet_nn_params *p)
{
    const int H = nn->cfg.n_hidden;
    const size_t GH = (size_t)nn->n_gates * (size_t)H;
    memset(p, 0, sizeof *p);
    for (int l = 0; l < nn->cfg.n_layers; l++) {
        mnet_nn_layer_params *lp = &p->layer[l];
        mnet_real *q = buf + nn->layer_offset[l];
        lp->w_in = q;
        q += GH * (size_t)nn->layer_n_in[l];
        if (nn->cfg.cell != MNET_NN_MLP) {
            lp->w_rec = q;
            q += GH * (size_t)H;
        }
        lp->b_in = q;
        q += GH;
        if (nn->cfg.cell != MNET_NN_MLP)
            lp->b_rec = q;
    }
    p->w_out = buf + nn->out_offset;
    p->b_out = p->w_out + (size_t)nn->cfg.n_output * (size_t)H;
    p->h0 = nn->cfg.learn_h0 ? buf + nn->h0_offset : NULL;
}

/* ---- initialisation ---- */

/* w (rows x cols) uniform in [-a, a], a = sqrt(6 / (cols + rows)). */
static void init_xavier(mnet_real *w, int rows, int cols, uint64_t seed, uint32_t stream)
{
    double a = sqrt(6.0 / (double)(rows + cols));
    size_t n = (size_t)rows * (size_t)cols;
    for (size_t i = 0; i < n; i++) {
        /* index = i mod 2^32, element = i / 2^32: unique for any size */
        double u = mnet_rng_uniform_at(seed, stream, (uint32_t)(i >> 32), 0, (uint32_t)i);
        w[i] = (mnet_real)(a * (2.0 * u - 1.0));
    }
}

/* q (rows x cols, rows >= cols, double): Gaussian entries, then modified
 * Gram-Schmidt over the columns, each column orthogonalised twice ("twice
 * is enough", Giraud et al. 2005) so that Q^T Q = I to rounding whatever
 * the conditioning.  This is the QR factor with diag(R) > 0, i.e. what
 * torch.nn.init.orthogonal_ returns after its sign correction.  Returns -1
 * for a (probability zero) rank-deficient draw. */
static int orthonormal_columns(double *q, int rows, int cols, uint64_t seed, uint32_t stream,
                               uint32_t element)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            q[(size_t)i * cols + j] =
                mnet_rng_normal_at(seed, stream, element, (uint32_t)j, (uint32_t)i);
    for (int j = 0; j < cols; j++) {
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < j; k++) {
                double dot = 0;
                for (int i = 0; i < rows; i++)
                    dot += q[(size_t)i * cols + k] * q[(size_t)i * cols + j];
                for (int i = 0; i < rows; i++)
                    q[(size_t)i * cols + j] -= dot * q[(size_t)i * cols + k];
            }
        double norm = 0;
        for (int i = 0; i < rows; i++)
            norm += q[(size_t)i * cols + j] * q[(size_t)i * cols + j];
        norm = sqrt(norm);
        if (!(norm > 1e-300))
            return -1;
        for (int i = 0; i < rows; i++)
            q[(size_t)i * cols + j] /= norm;
    }
    return 0;
}

/* w (G*H x H): orthogonal, stacked (one (GH x H) matrix) or per block. */
static int init_orthogonal(mnet_real *w, int G, int H, mnet_nn_ortho mode, uint64_t seed,
                           uint32_t stream)
{
    size_t n = (size_t)G * (size_t)H * (size_t)H;
    double *q = malloc(n * sizeof *q);
    if (!q)
        return -1;
    int rc = 0;
    if (mode == MNET_NN_ORTHO_STACKED) {
        rc = orthonormal_columns(q, G * H, H, seed, stream, 0);
    } else {
        for (int k = 0; k < G && rc == 0; k++)
            rc = orthonormal_columns(q + (size_t)k * H * H, H, H, seed, stream, (uint32_t)k);
    }
    for (size_t i = 0; i < n; i++)
        w[i] = (mnet_real)q[i];
    free(q);
    return rc;
}

int mnet_nn_init_params(const mnet_nn *nn, mnet_real *buf, uint64_t seed)
{
    const int H = nn->cfg.n_hidden, G = nn->n_gates;
    mnet_nn_params p;
    mnet_nn_bind_params(nn, buf, &p);
    memset(buf, 0, nn->n_params * sizeof *buf); /* every bias 0 */
    for (int l = 0; l < nn->cfg.n_layers; l++) {
        const mnet_nn_layer_params *lp = &p.layer[l];
        init_xavier(lp->w_in, G * H, nn->layer_n_in[l], seed,
                    NN_STREAM_W_IN + 4 * (uint32_t)l);
        if (lp->w_rec &&
            init_orthogonal(lp->w_rec, G, H, nn->cfg.ortho, seed,
                            NN_STREAM_W_REC + 4 * (uint32_t)l) != 0)
            return -1;
    }
    init_xavier(p.w_out, nn->cfg.n_output, H, seed, NN_STREAM_W_OUT);
    for (int o = 0; o < nn->cfg.n_output; o++)
        p.b_out[o] = (mnet_real)nn->cfg.readout_bias;
    return 0;
}

/* ---- the arena ---- */

size_t mnet_nn_act_size(const mnet_nn *nn, int B)
{
    return (size_t)nn->act_rows * (size_t)B;
}

void mnet_nn_bind_acts(const mnet_nn *nn, mnet_real *arena, int T, int B, mnet_nn_acts *a)
{
    const int H = nn->cfg.n_hidden, G = nn->n_gates;
    const size_t ld = (size_t)T * (size_t)B;
    memset(a, 0, sizeof *a);
    a->T = T;
    a->B = B;
    a->ld = (long)ld;
    mnet_real *q = arena;
    a->x = q;
    q += (size_t)nn->cfg.n_input * ld;
    for (int l = 0; l < nn->cfg.n_layers; l++) {
        mnet_nn_layer_acts *la = &a->layer[l];
        if (nn->cfg.cell != MNET_NN_MLP) {
            la->h_prev = q;
            q += (size_t)H * ld;
        }
        la->gate = q;
        q += (size_t)G * H * ld;
        if (nn->cfg.cell == MNET_NN_GRU) {
            la->ghn = q;
            q += (size_t)H * ld;
        }
        if (nn->cfg.cell == MNET_NN_LSTM) {
            la->c = q;
            q += (size_t)H * ld;
            la->dc = q;
            q += (size_t)H * ld;
        }
        la->h = q;
        q += (size_t)H * ld;
        if (nn->delays.n_modules > 0) {
            la->dhd = q;
            q += (size_t)H * ld;
        }
    }
    a->y = q;
}

mnet_real *mnet_nn_state(const mnet_nn *nn, const mnet_nn_acts *a, int t, int l)
{
    (void)nn;
    return a->layer[l].h + (long)t * a->B;
}

static nn_step step_of(const mnet_nn *nn, const mnet_nn_acts *a, int t, int l)
{
    nn_step s;
    s.col = (long)t * a->B;
    s.ld = a->ld;
    s.B = a->B;
    s.n_in = nn->layer_n_in[l];
    s.H = nn->cfg.n_hidden;
    s.t = t;
    s.cand_lo = nn->cfg.candidate == MNET_NN_CANDIDATE_RECTIFIED_TANH ? 0 : -2;
    s.dl = nn->delays.n_modules > 0 ? &nn->delays : NULL;
    return s;
}

/* ---- forward and backward of one step ---- */

void mnet_nn_forward(const mnet_nn *nn, const mnet_nn_params *p, const mnet_nn_acts *a,
                     int t, const mnet_real *x, const mnet_real *h0, mnet_real *y, int ld,
                     const mnet_nn_noise *noise)
{
    const int H = nn->cfg.n_hidden, O = nn->cfg.n_output, L = nn->cfg.n_layers, B = a->B;
    const long col = (long)t * B;
    if (B <= 0)
        return;

    /* the arena is one (act_rows x T*B) matrix (mnet_nn_bind_acts): fetch
     * the next step's columns while this one computes */
    if (t + 1 < a->T)
        nn_prefetch(a->x + col + B, a->ld, nn->act_rows, B);
    nn_copy(a->x + col, a->ld, x, ld, nn->cfg.n_input, B);
    for (int l = 0; l < L; l++) {
        nn_step s = step_of(nn, a, t, l);
        const mnet_real *in = l == 0 ? a->x + col : a->layer[l - 1].h + col; /* (Ni x B) */
        const mnet_real *hp;  /* (H x B) previous state */
        long ldhp;
        if (t > 0) {
            hp = a->layer[l].h + col - B;
            ldhp = a->ld;
        } else if (!h0 && p->h0) {
            /* the learned initial state in every column, in place */
            mnet_real *hb = a->layer[l].h_prev;
            for (int j = 0; j < H; j++)
                for (int b = 0; b < B; b++)
                    hb[j * a->ld + b] = p->h0[(long)l * H + j];
            hp = hb;
            ldhp = a->ld;
        } else {
            hp = h0 ? h0 + (long)l * H * ld : NULL;
            ldhp = ld;
        }
        if (a->layer[l].dhd)
            nn_copy(a->layer[l].dhd + col, a->ld, NULL, 0, H, B);
        if (nn->cfg.cell == MNET_NN_GRU)
            gru_forward(&p->layer[l], &a->layer[l], &s, in, a->ld, hp, ldhp, noise, l);
        else if (nn->cfg.cell == MNET_NN_LSTM)
            lstm_forward(&p->layer[l], &a->layer[l], &s, in, a->ld, hp, ldhp, noise, l);
        else
            rnn_forward(&p->layer[l], &a->layer[l], &s, in, a->ld, hp, ldhp, noise, l);
    }

    /* read-out: y (O x B) = phi(W_o h_top + b_o) */
    mnet_real *ys = a->y + col;
    nn_gemm(0, 0, O, B, H, 1, p->w_out, H, a->layer[L - 1].h + col, a->ld, 0, ys, a->ld);
    for (int o = 0; o < O; o++) {
        if (nn->cfg.readout == MNET_NN_READOUT_LINEAR)
            nn_linear_row(ys + o * a->ld, p->b_out[o], B);
        else if (nn->cfg.readout == MNET_NN_READOUT_RELU)
            nn_relu_row(ys + o * a->ld, p->b_out[o], B);
        else
            nn_sigmoid_row(ys + o * a->ld, p->b_out[o], B);
    }
    if (y)
        nn_copy(y, ld, ys, a->ld, O, B);
}

/* g += read-out gradients over arena columns col0 .. col0+ncols-1 */
static void readout_weights(const mnet_nn *nn, const mnet_nn_params *g, const mnet_nn_acts *a,
                            long col0, long ncols)
{
    const int H = nn->cfg.n_hidden, O = nn->cfg.n_output;
    const mnet_real *dy = a->y + col0;                            /* (O x ncols) */
    const mnet_real *h = a->layer[nn->cfg.n_layers - 1].h + col0; /* (H x ncols) */
    nn_gemm(0, 1, O, H, (int)ncols, 1, dy, a->ld, h, a->ld, 1, g->w_out, H);
    nn_add_rowsum(g->b_out, dy, a->ld, O, (int)ncols);
}

static void layer_weights(const mnet_nn *nn, const mnet_nn_params *g, const mnet_nn_acts *a,
                          int l, long col0, long ncols)
{
    nn_step s = step_of(nn, a, 0, l);
    const mnet_real *x = l == 0 ? a->x + col0 : a->layer[l - 1].h + col0;
    if (nn->cfg.cell == MNET_NN_GRU)
        gru_weights(&g->layer[l], &a->layer[l], &s, x, col0, ncols);
    else if (nn->cfg.cell == MNET_NN_LSTM)
        lstm_weights(&g->layer[l], &a->layer[l], &s, x, col0, ncols);
    else
        rnn_weights(&g->layer[l], &a->layer[l], &s, x, col0, ncols);
}

void mnet_nn_backward(const mnet_nn *nn, const mnet_nn_params *p, const mnet_nn_params *g,
                      const mnet_nn_acts *a, int t, const mnet_real *dy,
                      const mnet_real *dh_ext, mnet_real *dh, mnet_real *dx, int ld,
                      int defer_weights)
{
    const int H = nn->cfg.n_hidden, O = nn->cfg.n_output, L = nn->cfg.n_layers, B = a->B;
    const long col = (long)t * B;
    if (B <= 0)
        return;

    if (t > 0) /* the previous step's columns, backward's next */
        nn_prefetch(a->x + col - B, a->ld, nn->act_rows, B);

    /* dh (LH x B) = d loss / d h'_t: later steps + direct + read-out */
    if (dh_ext)
        for (int i = 0; i < L * H; i++)
            nn_add_row(dh + (long)i * ld, dh_ext + (long)i * ld, B);

    /* read-out: dpre (O x B) = dy * phi'(y), in place of y */
    mnet_real *dpre = a->y + col;
    for (int o = 0; o < O; o++) {
        mnet_real *yo = dpre + o * a->ld;
        if (!dy)
            memset(yo, 0, (size_t)B * sizeof *yo);
        else if (nn->cfg.readout == MNET_NN_READOUT_LINEAR)
            memcpy(yo, dy + o * ld, (size_t)B * sizeof *yo);
        else if (nn->cfg.readout == MNET_NN_READOUT_RELU)
            nn_relu_row_backward(yo, dy + o * ld, B);
        else
            nn_sigmoid_row_backward(yo, dy + o * ld, B);
    }
    mnet_real *dh_top = dh + (long)(L - 1) * H * ld;
    nn_gemm(1, 0, H, B, O, 1, p->w_out, H, dpre, a->ld, 1, dh_top, ld);
    if (!defer_weights)
        readout_weights(nn, g, a, col, B);

    /* layers top-down: layer l adds its input gradient into dh of layer
     * l-1 (beta 1), or writes dx (beta 0) for l = 0 */
    for (int l = L - 1; l >= 0; l--) {
        nn_step s = step_of(nn, a, t, l);
        mnet_real *dhl = dh + (long)l * H * ld;
        mnet_real *din = l > 0 ? dh + (long)(l - 1) * H * ld : dx;
        mnet_real beta = l > 0 ? 1 : 0;
        if (nn->cfg.cell == MNET_NN_GRU)
            gru_backward(&p->layer[l], &s, &a->layer[l], dhl, ld, din, ld, beta);
        else if (nn->cfg.cell == MNET_NN_LSTM)
            lstm_backward(&p->layer[l], &s, &a->layer[l], dhl, ld, din, ld, beta);
        else
            rnn_backward(&p->layer[l], &s, &a->layer[l], dhl, ld, din, ld, beta);
        if (a->layer[l].dhd) /* what the later steps' delayed connections sent here */
            for (int j = 0; j < H; j++)
                nn_add_row(dhl + (long)j * ld, a->layer[l].dhd + col + (long)j * a->ld, B);
        if (!defer_weights)
            layer_weights(nn, g, a, l, col, B);
    }
    if (t == 0 && g->h0)
        nn_add_rowsum(g->h0, dh, ld, L * H, B);
}

void mnet_nn_backward_weights(const mnet_nn *nn, const mnet_nn_params *g,
                              const mnet_nn_acts *a, int t0, int t1)
{
    if (t1 <= t0 || a->B <= 0)
        return;
    const long col0 = (long)t0 * a->B, ncols = (long)(t1 - t0) * a->B;
    readout_weights(nn, g, a, col0, ncols);
    for (int l = 0; l < nn->cfg.n_layers; l++)
        layer_weights(nn, g, a, l, col0, ncols);
}
