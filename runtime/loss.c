/* loss.c - the loss library: every term is a quantity q_t read from the
 * states (or the hidden states) at a range of times, a penalty phi of its
 * value and an L2 penalty of its time derivative (definitions in
 * mnet_task.h).  The value and the gradient are computed in one pass over
 * time (forward beside backward): the gradient of q_t is complete once
 * q_{t+1} has been seen, and is then scattered back to the rows q_t was
 * read from. */
#include "mnet_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A term's quantity: rows, time range [t0, t1]. */
typedef struct loss_q {
    mnet_loss_kind kind;
    int rows, t0, t1;
    int weighted;               /* ACTIVATION_L2: every muscle has F_max    */
    double fmax_mean;           /* ACTIVATION_L2: their mean, now           */
} loss_q;

static int hidden_rows(const mnet_loss_ctx *c)
{
    return c->nn ? c->nn->cfg.n_layers * c->nn->cfg.n_hidden : 0;
}

/* Index in the parameter table of muscle k's F_max, -1: none. */
static int fmax_index(const mnet_loss_ctx *c, int k)
{
    const mnet_model *m = c->m;
    const int i = m->muscle_max_force && c->params ? m->muscle_max_force[k] : -1;
    return i >= 0 && i < m->n_params ? i : -1;
}

/* F_max of muscle k as the parameter table holds it now: a value changed
 * since the trainer was built counts. */
static double muscle_fmax(const mnet_loss_ctx *c, int k)
{
    return (double)c->params[fmax_index(c, k)];
}

/* ACTIVATION_L2's weight of muscle k: F_max / mean(F_max) (mnet_task.h);
 * 1 for a model without every muscle's F_max (mnet_train_new refuses such
 * a model for a weighted ACTIVATION_L2 term). */
static double act_scale(const mnet_loss_ctx *c, const loss_q *lq, int k)
{
    return lq->weighted ? muscle_fmax(c, k) / lq->fmax_mean : 1.0;
}

static loss_q quantity_of(const mnet_loss_ctx *c, mnet_loss_kind kind)
{
    loss_q q = {kind, c->m->space_dim, 0, c->T, 0, 0};
    switch (kind) {
    case MNET_LOSS_JERK: q.t0 = 2; break;
    case MNET_LOSS_ACTIVATION_L2: {
        const int M = c->m->n_muscles;
        q.rows = M;
        q.weighted = 1;
        double sum = 0;
        for (int k = 0; k < M && q.weighted; k++) {
            q.weighted = fmax_index(c, k) >= 0;
            sum += q.weighted ? muscle_fmax(c, k) : 0;
        }
        q.fmax_mean = sum / M;
        break;
    }
    case MNET_LOSS_MUSCLE_FORCE: q.rows = c->m->n_muscles; break;
    case MNET_LOSS_HIDDEN_L2:
        q.rows = hidden_rows(c);
        q.t1 = c->T - 1;
        break;
    default: break;
    }
    return q;
}

size_t mnet_loss_scratch_size(const mnet_model *m, int n_hidden_rows, int ld)
{
    int r = m->space_dim;
    if (m->n_muscles > r)
        r = m->n_muscles;
    if (n_hidden_rows > r)
        r = n_hidden_rows;
    /* the library's four blocks; the compiled terms' values, seeds and
     * state gradient of one step */
    size_t lib = 4 * (size_t)r * (size_t)ld;
    size_t compiled = (2 * (size_t)m->n_loss + (size_t)m->n_state) * (size_t)ld;
    return lib > compiled ? lib : compiled;
}

/* state block of step t, row r: (n columns) */
static const mnet_real *srow(const mnet_loss_ctx *c, int t, int r)
{
    return c->state + ((size_t)t * c->m->n_state + (size_t)r) * c->ld;
}

static mnet_real *grow(const mnet_loss_ctx *c, mnet_real *g, int t, int r)
{
    return g + ((size_t)t * c->m->n_state + (size_t)r) * c->ld;
}

/* q (rows x ld) = the quantity at step t */
static void quantity(const mnet_loss_ctx *c, const loss_q *lq, int t, mnet_real *q)
{
    const mnet_model *m = c->m;
    const int P = m->space_dim, M = m->n_muscles, n = c->n, ld = c->ld;
    const int cart = m->cartesian_offset;
    const double idt2 = 1.0 / (c->step * c->step);
    switch (lq->kind) {
    case MNET_LOSS_POSITION_L1:
    case MNET_LOSS_POSITION_L2:
        for (int i = 0; i < P; i++) {
            const mnet_real *x = srow(c, t, cart + i);
            const mnet_real *g = c->target + ((size_t)t * P + i) * ld;
            for (int b = 0; b < n; b++)
                q[i * ld + b] = x[b] - g[b];
        }
        break;
    case MNET_LOSS_SPEED:
        for (int i = 0; i < P; i++)
            memcpy(q + (size_t)i * ld, srow(c, t, cart + P + i), (size_t)n * sizeof *q);
        break;
    case MNET_LOSS_JERK:
        for (int i = 0; i < P; i++) {
            const mnet_real *v0 = srow(c, t, cart + P + i), *v1 = srow(c, t - 1, cart + P + i),
                            *v2 = srow(c, t - 2, cart + P + i);
            for (int b = 0; b < n; b++)
                q[i * ld + b] = (mnet_real)(((double)v0[b] - 2.0 * v1[b] + v2[b]) * idt2);
        }
        break;
    case MNET_LOSS_ACTIVATION_L2:
        for (int k = 0; k < M; k++) {
            const mnet_real *a = srow(c, t, m->muscle_offset + k);
            const double s = act_scale(c, lq, k);
            for (int b = 0; b < n; b++)
                q[k * ld + b] = (mnet_real)(a[b] * s);
        }
        break;
    case MNET_LOSS_MUSCLE_FORCE: {
        const int force_row = m->muscle_offset + (m->n_muscle_rows - 1) * M;
        for (int k = 0; k < M; k++)
            memcpy(q + (size_t)k * ld, srow(c, t, force_row + k), (size_t)n * sizeof *q);
        break;
    }
    case MNET_LOSS_HIDDEN_L2: {
        const int H = c->nn->cfg.n_hidden;
        for (int l = 0; l < c->nn->cfg.n_layers; l++) {
            const mnet_real *h = mnet_nn_state(c->nn, c->acts, t, l); /* (H x B), ld acts->ld */
            for (int j = 0; j < H; j++)
                memcpy(q + (size_t)(l * H + j) * ld, h + (size_t)j * c->acts->ld,
                       (size_t)n * sizeof *q);
        }
        break;
    }
    default: break;
    }
}

/* g_state / g_hidden += d q_t / d (rows)^T gq */
static void scatter(const mnet_loss_ctx *c, const loss_q *lq, int t, const mnet_real *gq,
                    mnet_real *g_state, mnet_real *g_hidden)
{
    const mnet_model *m = c->m;
    const int P = m->space_dim, M = m->n_muscles, n = c->n, ld = c->ld;
    const int cart = m->cartesian_offset;
    const double idt2 = 1.0 / (c->step * c->step);
    switch (lq->kind) {
    case MNET_LOSS_POSITION_L1:
    case MNET_LOSS_POSITION_L2:
    case MNET_LOSS_SPEED: {
        int r0 = lq->kind == MNET_LOSS_SPEED ? cart + P : cart;
        for (int i = 0; i < P; i++) {
            mnet_real *g = grow(c, g_state, t, r0 + i);
            for (int b = 0; b < n; b++)
                g[b] += gq[i * ld + b];
        }
        break;
    }
    case MNET_LOSS_JERK:
        for (int i = 0; i < P; i++) {
            mnet_real *g0 = grow(c, g_state, t, cart + P + i),
                      *g1 = grow(c, g_state, t - 1, cart + P + i),
                      *g2 = grow(c, g_state, t - 2, cart + P + i);
            for (int b = 0; b < n; b++) {
                double v = gq[i * ld + b] * idt2;
                g0[b] += (mnet_real)v;
                g1[b] -= (mnet_real)(2.0 * v);
                g2[b] += (mnet_real)v;
            }
        }
        break;
    case MNET_LOSS_ACTIVATION_L2:
        for (int k = 0; k < M; k++) {
            mnet_real *g = grow(c, g_state, t, m->muscle_offset + k);
            const double s = act_scale(c, lq, k);
            for (int b = 0; b < n; b++)
                g[b] += (mnet_real)(gq[k * ld + b] * s);
        }
        break;
    case MNET_LOSS_MUSCLE_FORCE: {
        const int force_row = m->muscle_offset + (m->n_muscle_rows - 1) * M;
        for (int k = 0; k < M; k++) {
            mnet_real *g = grow(c, g_state, t, force_row + k);
            for (int b = 0; b < n; b++)
                g[b] += gq[k * ld + b];
        }
        break;
    }
    case MNET_LOSS_HIDDEN_L2: {
        const int R = lq->rows;
        mnet_real *g = g_hidden + (size_t)t * R * ld;
        for (int r = 0; r < R; r++)
            for (int b = 0; b < n; b++)
                g[r * ld + b] += gq[r * ld + b];
        break;
    }
    default: break;
    }
}

/* phi and its derivative */
static double phi(mnet_loss_kind k, double x, double *dphi)
{
    switch (k) {
    case MNET_LOSS_POSITION_L1:
        *dphi = x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
        return fabs(x);
    case MNET_LOSS_MUSCLE_FORCE:
        *dphi = 1.0;
        return x;
    default:
        *dphi = 2.0 * x;
        return x * x;
    }
}

static double term_loss(const mnet_loss_ctx *c, const mnet_loss_term *term, mnet_real *g_state,
                        mnet_real *g_hidden)
{
    const loss_q lq = quantity_of(c, term->kind);
    const int N = lq.t1 - lq.t0 + 1, R = lq.rows, n = c->n, ld = c->ld;
    if (N < 1 || R < 1 || n < 1 || (term->weight == 0 && term->deriv_weight == 0))
        return 0;
    const int grad = g_state != NULL && g_hidden != NULL;
    const double nm = c->n_mean > 0 ? c->n_mean : n; /* the mean's columns */
    const double cv = term->weight / (nm * N);
    const double cd = N > 1 ? term->deriv_weight / (nm * (N - 1) * c->step * c->step) : 0;
    const size_t blk = (size_t)R * ld;
    mnet_real *q_prev = c->scratch, *q_cur = q_prev + blk;
    mnet_real *g_prev = q_cur + blk, *g_cur = g_prev + blk;
    double value = 0;
    for (int t = lq.t0; t <= lq.t1; t++) {
        quantity(c, &lq, t, q_cur);
        for (int r = 0; r < R; r++)
            for (int b = 0; b < n; b++) {
                double dp, v = phi(term->kind, (double)q_cur[r * ld + b], &dp);
                value += cv * v;
                if (grad)
                    g_cur[r * ld + b] = (mnet_real)(cv * dp);
            }
        if (t > lq.t0 && cd != 0) {
            for (int r = 0; r < R; r++)
                for (int b = 0; b < n; b++) {
                    double d = (double)q_cur[r * ld + b] - (double)q_prev[r * ld + b];
                    value += cd * d * d;
                    if (grad) {
                        g_cur[r * ld + b] += (mnet_real)(2.0 * cd * d);
                        g_prev[r * ld + b] -= (mnet_real)(2.0 * cd * d);
                    }
                }
        }
        if (grad && t > lq.t0)
            scatter(c, &lq, t - 1, g_prev, g_state, g_hidden);
        mnet_real *sw = q_prev;
        q_prev = q_cur, q_cur = sw;
        sw = g_prev;
        g_prev = g_cur, g_cur = sw;
    }
    if (grad)
        scatter(c, &lq, lq.t1, g_prev, g_state, g_hidden);
    return value;
}

/* The compiled terms: the model's loss function gives every compiled row of
 * step t in one call; term k adds w_k * mean_{b, t} of its row.  Backward:
 * the seeds are the constant weights, and loss_vjp gives d/d s_t. */
static void compiled_terms(const mnet_loss_ctx *c, const mnet_loss_term *terms, int n_terms, double *value,
                           mnet_real *g_state)
{
    const mnet_model *m = c->m;
    const int L = m->n_loss, S = m->n_state, P = m->space_dim, n = c->n, ld = c->ld;
    if (L == 0 || n < 1)
        return;
    const double nm = c->n_mean > 0 ? c->n_mean : n; /* the mean's columns */
    mnet_real *val = c->scratch, *seed = val + (size_t)L * ld, *gs = seed + (size_t)L * ld;
    double *cv = calloc((size_t)L, sizeof *cv);
    if (!cv)
        return;
    int any = 0;
    for (int k = 0; k < n_terms; k++)
        if (terms[k].kind == MNET_LOSS_COMPILED && terms[k].weight != 0) {
            cv[terms[k].compiled] += terms[k].weight / (nm * (c->T + 1));
            any = 1;
        }
    if (!any) {
        free(cv);
        return;
    }
    if (g_state)
        for (int j = 0; j < L; j++)
            for (int b = 0; b < n; b++)
                seed[(size_t)j * ld + b] = (mnet_real)cv[j];
    for (int t = 0; t <= c->T; t++) {
        const mnet_real *in[3] = {srow(c, t, 0), c->target + (size_t)t * P * ld, seed};
        if (value) {
            mnet_real *const out[1] = {val};
            m->loss(n, ld, in, out, c->params);
            for (int k = 0; k < n_terms; k++) {
                if (terms[k].kind != MNET_LOSS_COMPILED || terms[k].weight == 0)
                    continue;
                const mnet_real *row = val + (size_t)terms[k].compiled * ld;
                double sum = 0;
                for (int b = 0; b < n; b++)
                    sum += row[b];
                value[k] += terms[k].weight / (nm * (c->T + 1)) * sum;
            }
        }
        if (g_state) {
            mnet_real *const out[1] = {gs};
            m->loss_vjp(n, ld, in, out, c->params);
            for (int r = 0; r < S; r++) {
                mnet_real *g = grow(c, g_state, t, r);
                const mnet_real *d = gs + (size_t)r * ld;
                for (int b = 0; b < n; b++)
                    g[b] += d[b];
            }
        }
    }
    free(cv);
}

double mnet_loss(const mnet_loss_ctx *c, const mnet_loss_term *terms, int n_terms,
                 double *per_term, mnet_real *g_state, mnet_real *g_hidden)
{
    double total = 0, compiled[MNET_TASK_MAX_LOSSES] = {0};
    const int grad = g_state != NULL && g_hidden != NULL;
    if (n_terms > MNET_TASK_MAX_LOSSES)
        n_terms = MNET_TASK_MAX_LOSSES;
    compiled_terms(c, terms, n_terms, per_term || !grad ? compiled : NULL, grad ? g_state : NULL);
    for (int k = 0; k < n_terms; k++) {
        double v = 0;
        if (terms[k].kind == MNET_LOSS_COMPILED)
            v = compiled[k];
        else if (terms[k].kind != MNET_LOSS_HIDDEN_L2 || (c->nn && c->acts))
            v = term_loss(c, &terms[k], g_state, g_hidden);
        if (per_term)
            per_term[k] = v;
        total += v;
    }
    return total;
}

/* ---- per step: each term's unweighted value (mnet_train.h) ---- */

void mnet_loss_steps(const mnet_loss_ctx *c, const mnet_loss_term *terms, int n_terms,
                     double *out, int ldo)
{
    const mnet_model *m = c->m;
    const int n = c->n, ld = c->ld, T = c->T, P = m->space_dim;
    if (n_terms > MNET_TASK_MAX_LOSSES)
        n_terms = MNET_TASK_MAX_LOSSES;
#define OUT(t, k, b) out[((size_t)(t) * n_terms + (size_t)(k)) * ldo + (size_t)(b)]
    for (int t = 0; t <= T; t++)
        for (int k = 0; k < n_terms; k++)
            for (int b = 0; b < n; b++)
                OUT(t, k, b) = NAN;
    mnet_real *q = c->scratch; /* (rows x ld); compiled: (n_loss x ld) */
    for (int k = 0; k < n_terms; k++) {
        if (terms[k].kind == MNET_LOSS_COMPILED) {
            const int row = terms[k].compiled;
            if (!m->loss || row < 0 || row >= m->n_loss)
                continue;
            for (int t = 0; t <= T; t++) {
                const mnet_real *in[2] = {srow(c, t, 0), c->target + (size_t)t * P * ld};
                mnet_real *const o[1] = {q};
                m->loss(n, ld, in, o, c->params);
                for (int b = 0; b < n; b++)
                    OUT(t, k, b) = (double)q[(size_t)row * ld + b];
            }
            continue;
        }
        if (terms[k].kind == MNET_LOSS_HIDDEN_L2 && !(c->nn && c->acts))
            continue;
        const loss_q lq = quantity_of(c, terms[k].kind);
        for (int t = lq.t0; t <= lq.t1; t++) {
            quantity(c, &lq, t, q);
            for (int b = 0; b < n; b++) {
                double sum = 0, dp;
                for (int r = 0; r < lq.rows; r++)
                    sum += phi(terms[k].kind, (double)q[(size_t)r * ld + b], &dp);
                OUT(t, k, b) = sum;
            }
        }
    }
#undef OUT
}
