/* record.c - everything recorded: a rollout of the trained network on a set
 * of episodes (mnet_train_eval, time-major) transposed to batch-major
 * tensors and written as one safetensors file.  The file's layout is
 * described in mnet_record.h. */
#include "mnet_record.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_safetensors.h"

static void msg(char *err, size_t n, const char *fmt, ...)
{
    if (!err || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

/* Body points (mnet_model.h): K = n_points, the function's row k*P + i is
 * coordinate i of point k. */
static int n_points(const mnet_model *m) { return m->points && m->n_points > 0 ? m->n_points : 0; }

static const char *point_name(const mnet_model *m, int k)
{
    return m->point_names && m->point_names[k] ? m->point_names[k] : NULL;
}

/* ---- the tensors of a file ---------------------------------------------- */

enum rec_kind {
    REC_OBS, REC_HIDDEN, REC_OUTPUT, REC_ACTION, REC_LOAD, REC_Q, REC_QD, REC_POS, REC_VEL,
    REC_MUSCLE, REC_POINTS, REC_TARGET, REC_GOAL, REC_START, REC_GO_TIME, REC_CATCH, REC_LOSS
};

#define REC_NAME 80

typedef struct rec_tensor {
    enum rec_kind kind;
    int index;                      /* layer, muscle row or loss term       */
    char name[REC_NAME];
    int ndim;
    int64_t shape[4];
    size_t count;                   /* elements                             */
} rec_tensor;

/* The tensors of N episodes of run tr, in file order: t (n_max entries).
 * Returns the count. */
static int plan(const mnet_train *tr, int N, rec_tensor *t)
{
    const mnet_model *m = tr->model;
    const int64_t T = tr->T, K = n_points(m);
    int k = 0;
#define ADD(kind_, idx, nd, s0, s1, s2, s3, ...)                                        \
    do {                                                                                \
        rec_tensor *x = &t[k++];                                                        \
        x->kind = (kind_), x->index = (idx), x->ndim = (nd);                            \
        x->shape[0] = (s0), x->shape[1] = (s1), x->shape[2] = (s2), x->shape[3] = (s3); \
        snprintf(x->name, sizeof x->name, __VA_ARGS__);                                 \
        x->count = 1;                                                                   \
        for (int d_ = 0; d_ < x->ndim; d_++)                                            \
            x->count *= (size_t)x->shape[d_];                                           \
    } while (0)
    ADD(REC_OBS, 0, 3, N, T, tr->I, 0, "obs");
    for (int l = 0; l < tr->cfg.n_layers; l++)
        ADD(REC_HIDDEN, l, 3, N, T, tr->cfg.n_hidden, 0, "hidden.%d", l);
    ADD(REC_OUTPUT, 0, 3, N, T, tr->M, 0, "output");
    ADD(REC_ACTION, 0, 3, N, T, tr->M, 0, "action");
    ADD(REC_LOAD, 0, 3, N, T, tr->NL, 0, "load");
    ADD(REC_Q, 0, 3, N, T + 1, tr->D, 0, "joint.q");
    ADD(REC_QD, 0, 3, N, T + 1, tr->D, 0, "joint.qd");
    ADD(REC_POS, 0, 3, N, T + 1, tr->P, 0, "endpoint.pos");
    ADD(REC_VEL, 0, 3, N, T + 1, tr->P, 0, "endpoint.vel");
    for (int r = 0; r < m->n_muscle_rows; r++)
        ADD(REC_MUSCLE, r, 3, N, T + 1, tr->M, 0, "muscle.%s",
            m->muscle_row_names && m->muscle_row_names[r] ? m->muscle_row_names[r] : "row");
    if (K > 0)
        ADD(REC_POINTS, 0, 4, N, T + 1, K, tr->P, "body.points");
    ADD(REC_TARGET, 0, 3, N, T + 1, tr->P, 0, "target");
    ADD(REC_GOAL, 0, 2, N, tr->P, 0, 0, "goal");
    ADD(REC_START, 0, 2, N, tr->P, 0, 0, "start");
    ADD(REC_GO_TIME, 0, 1, N, 0, 0, 0, "go_time");
    ADD(REC_CATCH, 0, 1, N, 0, 0, 0, "catch");
    for (int j = 0; j < tr->cfg.n_losses; j++)
        ADD(REC_LOSS, j, 2, N, T + 1, 0, 0, "loss.%s", mnet_loss_name(m, &tr->cfg.loss[j]));
#undef ADD
    /* a name that occurs twice (two terms of one name, a muscle row named
     * like another): the later ones get ".<index>" */
    for (int i = 0; i < k; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(t[i].name, t[j].name)) {
                size_t len = strlen(t[i].name);
                if (len > REC_NAME - 12)
                    len = REC_NAME - 12;
                snprintf(t[i].name + len, REC_NAME - len, ".%d", t[i].index);
                j = -1; /* check the new name against all again */
            }
    return k;
}

static int max_tensors(const mnet_train *tr)
{
    return 16 + tr->cfg.n_layers + tr->model->n_muscle_rows + tr->cfg.n_losses;
}

size_t mnet_record_bytes(const mnet_train *tr, int n_episodes)
{
    if (!tr || n_episodes < 1)
        return 0;
    rec_tensor *t = malloc((size_t)max_tensors(tr) * sizeof *t);
    if (!t)
        return 0;
    const int k = plan(tr, n_episodes, t);
    /* in double, so that an overflow of size_t is seen */
    double total = 0;
    for (int i = 0; i < k; i++) {
        double c = 4;
        for (int d = 0; d < t[i].ndim; d++)
            c *= (double)t[i].shape[d];
        total += c;
    }
    free(t);
    return total < (double)SIZE_MAX / 4 ? (size_t)total : 0;
}

size_t mnet_record_memory(const mnet_train *tr, int n_episodes)
{
    const size_t bytes = mnet_record_bytes(tr, n_episodes);
    if (bytes == 0)
        return 0;
    const double N = n_episodes, T = tr->T, L = tr->cfg.n_losses > 0 ? tr->cfg.n_losses : 1;
    const double roll = N * ((T + 1) * tr->S + T * (2.0 * tr->M + tr->I + tr->LH + tr->NL));
    const double total = (roll + bytes / 4.0) * sizeof(mnet_real) + N * (T + 1) * L * sizeof(double);
    return total < (double)SIZE_MAX / 2 ? (size_t)total : 0;
}

/* ---- names for the metadata ------------------------------------------------ */

/* A growing, NUL-terminated string; oom set on a failed allocation. */
typedef struct rec_str {
    char *p;
    size_t len, cap;
    int oom;
} rec_str;

static void put(rec_str *s, const char *fmt, ...)
{
    if (s->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            s->oom = 1;
            return;
        }
        if (s->p && s->len + (size_t)k < s->cap) {
            s->len += (size_t)k;
            return;
        }
        size_t cap = (s->cap ? 2 * s->cap : 256) + (size_t)k + 1;
        char *np = realloc(s->p, cap);
        if (!np) {
            s->oom = 1;
            return;
        }
        s->p = np, s->cap = cap;
        s->p[s->len] = '\0';
    }
}

static const char *const axis_name[3] = {"x", "y", "z"};

static const char *axis(int i) { return i < 3 ? axis_name[i] : "w"; }

/* The name of joint j: the model's state name without "joint.", else q<j>. */
static void joint_name(const mnet_model *m, int j, char *buf, size_t n)
{
    const char *s = m->state_names ? m->state_names[m->joint_offset + j] : NULL;
    if (s && !strncmp(s, "joint.", 6))
        snprintf(buf, n, "%s", s + 6);
    else
        snprintf(buf, n, "q%d", j);
}

static const char *muscle_name(const mnet_model *m, int k, char *buf, size_t n)
{
    if (m->muscle_names && m->muscle_names[k])
        return m->muscle_names[k];
    snprintf(buf, n, "%d", k);
    return buf;
}

/* "@t" or "@t-a" */
static void put_age(rec_str *s, int age)
{
    if (age > 0)
        put(s, "@t-%d", age);
    else
        put(s, "@t");
}

/* names.obs: one name per network input row (mnet_obs's layout). */
static void obs_names(const mnet_train *tr, rec_str *s)
{
    const mnet_obs *o = &tr->obs;
    const mnet_model *m = tr->model;
    const int P = o->space_dim, M = o->n_muscles;
    /* the state read at step t is s_{t-d+1} (reference quirk) or s_{t-d} */
    const int age_v = o->exact ? o->d_vision : o->d_vision - 1;
    const int age_p = o->exact ? o->d_proprio : o->d_proprio - 1;
    char buf[32];
    int first = 1;
#define SEP() (first ? (first = 0, "") : ",")
    for (int i = 0; i < P; i++)
        put(s, "%sgoal.%s", SEP(), axis(i));
    if (o->go_row >= 0)
        put(s, "%sgo", SEP());
    for (int i = 0; i < P; i++) {
        put(s, "%svision.%s", SEP(), axis(i));
        put_age(s, age_v);
    }
    for (int kind = 0; kind < 2; kind++)
        for (int k = 0; k < M; k++) {
            put(s, "%sproprio.%s.%s", SEP(), kind ? "velocity" : "length",
                muscle_name(m, k, buf, sizeof buf));
            put_age(s, age_p);
        }
    for (int f = 0; f < o->n_frames; f++) /* frame f: the action of step t-k+f */
        for (int k = 0; k < M; k++) {
            put(s, "%saction.%s", SEP(), muscle_name(m, k, buf, sizeof buf));
            put_age(s, o->n_frames - f);
        }
#undef SEP
}

/* ---- transposing ------------------------------------------------------------- */

/* dst [N, Tn, R] (batch-major) = rows r0 .. r0+R-1 of src (Tn x rows x ld),
 * columns 0 .. N-1 (time-major). */
static void batch_major(mnet_real *dst, const mnet_real *src, int Tn, int rows, int r0, int R,
                        int ld, int N)
{
    for (int t = 0; t < Tn; t++)
        for (int r = 0; r < R; r++) {
            const mnet_real *s = src + ((size_t)t * rows + (size_t)(r0 + r)) * (size_t)ld;
            for (int b = 0; b < N; b++)
                dst[((size_t)b * Tn + (size_t)t) * R + (size_t)r] = s[b];
        }
}

/* Fills tensor x's data (dst, x->count values) from the rollout. */
static int fill(const mnet_train *tr, const mnet_episode *ep, const rec_tensor *x,
                const mnet_rollout *ro, const mnet_rollout_more *more, mnet_real *dst,
                char *err, size_t n)
{
    const mnet_model *m = tr->model;
    const int N = ep->n_cols, T = tr->T, S = tr->S, M = tr->M, P = tr->P, D = tr->D,
              H = tr->cfg.n_hidden;
    switch (x->kind) {
    case REC_OBS: batch_major(dst, ro->obs, T, tr->I, 0, tr->I, N, N); break;
    case REC_HIDDEN: batch_major(dst, ro->hidden, T, tr->LH, x->index * H, H, N, N); break;
    case REC_OUTPUT: batch_major(dst, more->output, T, M, 0, M, N, N); break;
    case REC_ACTION: batch_major(dst, ro->action, T, M, 0, M, N, N); break;
    case REC_LOAD: batch_major(dst, more->load, T, tr->NL, 0, tr->NL, N, N); break;
    case REC_Q: batch_major(dst, ro->state, T + 1, S, m->joint_offset, D, N, N); break;
    case REC_QD: batch_major(dst, ro->state, T + 1, S, m->joint_offset + D, D, N, N); break;
    case REC_POS: batch_major(dst, ro->state, T + 1, S, m->cartesian_offset, P, N, N); break;
    case REC_VEL:
        batch_major(dst, ro->state, T + 1, S, m->cartesian_offset + P, P, N, N);
        break;
    case REC_MUSCLE:
        batch_major(dst, ro->state, T + 1, S, m->muscle_offset + x->index * M, M, N, N);
        break;
    case REC_TARGET: batch_major(dst, ep->target, T + 1, P, 0, P, ep->B, N); break;
    case REC_GOAL: batch_major(dst, ep->goal, 1, P, 0, P, ep->B, N); break;
    case REC_START: batch_major(dst, ep->start, 1, P, 0, P, ep->B, N); break;
    case REC_GO_TIME:
        for (int b = 0; b < N; b++)
            dst[b] = (mnet_real)ep->go_time[b];
        break;
    case REC_CATCH:
        for (int b = 0; b < N; b++)
            dst[b] = ep->catch_trial[b] ? 1 : 0;
        break;
    case REC_LOSS: {
        const int L = tr->cfg.n_losses, j = x->index;
        for (int t = 0; t <= T; t++)
            for (int b = 0; b < N; b++)
                dst[(size_t)b * (T + 1) + t] =
                    (mnet_real)more->loss_step[((size_t)t * L + j) * N + b];
        break;
    }
    case REC_POINTS: {
        const int K = (int)x->shape[2];
        mnet_real *pts = malloc((size_t)K * P * N * sizeof *pts); /* (K*P x N) */
        if (!pts) {
            msg(err, n, "record: out of memory for the body points");
            return -1;
        }
        for (int t = 0; t <= T; t++) {
            const mnet_real *in[1] = {ro->state + (size_t)t * S * N};
            mnet_real *const out[1] = {pts};
            m->points(N, N, in, out, tr->model_params);
            for (int b = 0; b < N; b++)
                for (int r = 0; r < K * P; r++)
                    dst[((size_t)b * (T + 1) + t) * K * P + r] = pts[(size_t)r * N + b];
        }
        free(pts);
        break;
    }
    }
    (void)err;
    (void)n;
    return 0;
}

/* ---- the file ------------------------------------------------------------------ */

/* The metadata's own keys (mnet_record.h), for the check of the caller's. */
static const char *const own_keys[] = {
    "format", "mnet.format", "version", "layout", "step", "n_episodes", "n_steps",
    "names.joint", "names.muscle", "names.muscle_row", "names.point", "names.load", "names.obs",
    "names.loss", "loss.weight", "loss.deriv_weight", "noise", "names.hidden", NULL};
#define N_OWN 16 /* the keys above less "format" (mnet_safetensors_save's) and
                    "names.hidden" (written for a modular network only) */

int mnet_record_episodes(mnet_train *tr, const mnet_episode *ep, const mnet_noise_key *nz,
                         const char *const *meta_kv, const char *path, char *err, size_t n)
{
    const mnet_model *m = tr->model;
    const int N = ep->n_cols, T = tr->T, L = tr->cfg.n_losses;
    if (N < 1) {
        msg(err, n, "record: no episodes to record");
        return -1;
    }
    if (ep->T != T || ep->space_dim != tr->P || ep->n_dof != tr->D) {
        msg(err, n, "record: the episodes have %d steps (space_dim %d, dof %d), the run %d (%d, %d)",
            ep->T, ep->space_dim, ep->n_dof, T, tr->P, tr->D);
        return -1;
    }
    for (int i = 0; meta_kv && meta_kv[i]; i += 2) {
        if (!meta_kv[i + 1]) {
            msg(err, n, "record: metadata key '%s' has no value", meta_kv[i]);
            return -1;
        }
        for (int k = 0; own_keys[k]; k++)
            if (!strcmp(meta_kv[i], own_keys[k])) {
                msg(err, n, "record: metadata key '%s' is the file's own (mnet_record.h)",
                    meta_kv[i]);
                return -1;
            }
    }
    if (mnet_record_bytes(tr, N) == 0) {
        msg(err, n, "record: %d episodes of %d steps are too large to record", N, T);
        return -1;
    }

    int rc = -1;
    rec_tensor *t = malloc((size_t)max_tensors(tr) * sizeof *t);
    mnet_st_tensor *st = malloc((size_t)max_tensors(tr) * sizeof *st);
    mnet_real *roll = NULL, *data = NULL;
    double *loss_step = NULL;
    const char **meta = NULL;
    rec_str names[8] = {{0}};
    char num[4][40];
    if (!t || !st)
        goto oom;
    const int k = plan(tr, N, t);

    /* the rollout, time-major (mnet_train_eval) */
    const size_t Nz = (size_t)N, Tz = (size_t)T;
    const size_t n_state = (Tz + 1) * tr->S * Nz, n_action = Tz * tr->M * Nz,
                 n_obs = Tz * tr->I * Nz, n_hidden = Tz * tr->LH * Nz, n_load = Tz * tr->NL * Nz;
    roll = malloc((n_state + 2 * n_action + n_obs + n_hidden + n_load) * sizeof *roll);
    loss_step = malloc(((Tz + 1) * (size_t)(L > 0 ? L : 1) * Nz) * sizeof *loss_step);
    if (!roll || !loss_step)
        goto oom;
    mnet_rollout ro;
    mnet_rollout_more more;
    ro.state = roll;
    ro.action = ro.state + n_state;
    more.output = ro.action + n_action;
    ro.obs = more.output + n_action;
    ro.hidden = ro.obs + n_obs;
    more.load = ro.hidden + n_hidden;
    more.loss_step = loss_step;
    /* the shapes were checked above: a failure here is a loss that is not
     * finite, and such a rollout is recorded as it is (NaNs and all) */
    (void)mnet_train_eval_more(tr, ep, nz, &ro, &more, NULL);

    /* batch-major tensors, one block */
    size_t total = 0;
    for (int i = 0; i < k; i++)
        total += t[i].count;
    data = malloc(total * sizeof *data);
    if (!data)
        goto oom;
    size_t off = 0;
    for (int i = 0; i < k; i++) {
        if (fill(tr, ep, &t[i], &ro, &more, data + off, err, n) != 0)
            goto done;
        st[i].name = t[i].name;
        st[i].ndim = t[i].ndim;
        for (int d = 0; d < MNET_ST_MAX_DIM; d++)
            st[i].shape[d] = d < t[i].ndim ? t[i].shape[d] : 0;
        st[i].data = data + off;
        off += t[i].count;
    }
    free(roll), roll = NULL;
    free(loss_step), loss_step = NULL;

    /* the metadata */
    char buf[32];
    for (int j = 0; j < tr->D; j++) {
        joint_name(m, j, buf, sizeof buf);
        put(&names[0], "%s%s", j ? "," : "", buf);
    }
    for (int j = 0; j < tr->M; j++)
        put(&names[1], "%s%s", j ? "," : "", muscle_name(m, j, buf, sizeof buf));
    for (int j = 0; j < m->n_muscle_rows; j++)
        put(&names[2], "%s%s", j ? "," : "",
            m->muscle_row_names && m->muscle_row_names[j] ? m->muscle_row_names[j] : "row");
    put(&names[3], "%s", "");
    for (int j = 0; j < n_points(m); j++) {
        const char *pn = point_name(m, j);
        if (pn)
            put(&names[3], "%s%s", j ? "," : "", pn);
        else
            put(&names[3], "%s%d", j ? "," : "", j);
    }
    for (int j = 0; j < tr->P; j++)
        put(&names[4], "%sendpoint.%s", j ? "," : "", axis(j));
    for (int j = 0; j < tr->D; j++) {
        joint_name(m, j, buf, sizeof buf);
        put(&names[4], ",joint.%s", buf);
    }
    put(&names[5], "%s", "");
    obs_names(tr, &names[5]);
    put(&names[6], "%s", "");
    put(&names[7], "%s", "");
    rec_str dw = {0};
    for (int j = 0; j < L; j++) {
        const rec_tensor *lt = &t[k - L + j];
        put(&names[6], "%s%s", j ? "," : "", lt->name + 5); /* less "loss." */
        put(&names[7], "%s%.17g", j ? "," : "", tr->cfg.loss[j].weight);
        put(&dw, "%s%.17g", j ? "," : "", tr->cfg.loss[j].deriv_weight);
    }
    put(&dw, "%s", "");
    char noise[80];
    if (nz && nz->on)
        snprintf(noise, sizeof noise, "seed=%llu element0=%u", (unsigned long long)nz->seed,
                 (unsigned)nz->element0);
    else
        snprintf(noise, sizeof noise, "off");
    snprintf(num[0], sizeof num[0], "%.17g", m->step_size);
    snprintf(num[1], sizeof num[1], "%d", N);
    snprintf(num[2], sizeof num[2], "%d", T);
    snprintf(num[3], sizeof num[3], "%d", MNET_RECORD_VERSION);
    int n_extra = 0;
    for (int i = 0; meta_kv && meta_kv[i]; i += 2)
        n_extra++;
    /* names.hidden (a modular network): each unit's module and its index
     * within it, "pmd:0,...,m1:31", for every layer's rows */
    rec_str hid = {0};
    const mnet_nn_modular *md = &tr->cfg.modular;
    put(&hid, "%s", "");
    for (int m = 0, u = 0; m < md->n_modules; m++)
        for (int k = 0; k < md->size[m]; k++)
            put(&hid, "%s%s:%d", u++ ? "," : "", md->name[m], k);
    meta = malloc((size_t)(2 * (N_OWN + 1 + n_extra) + 1) * sizeof *meta);
    int bad = !meta || dw.oom || hid.oom;
    for (int i = 0; i < 8; i++)
        bad |= names[i].oom;
    if (bad) {
        free(dw.p);
        free(hid.p);
        goto oom;
    }
    const char *own[2 * N_OWN] = {
        "mnet.format", "mnet-episodes", "version", num[3],
        "layout", "batch-major [episode, step, row]", "step", num[0],
        "n_episodes", num[1], "n_steps", num[2],
        "names.joint", names[0].p, "names.muscle", names[1].p,
        "names.muscle_row", names[2].p, "names.point", names[3].p,
        "names.load", names[4].p, "names.obs", names[5].p,
        "names.loss", names[6].p, "loss.weight", names[7].p,
        "loss.deriv_weight", dw.p, "noise", noise};
    int q = 0;
    for (int i = 0; i < 2 * N_OWN; i++)
        meta[q++] = own[i];
    if (md->n_modules > 0) {
        meta[q++] = "names.hidden";
        meta[q++] = hid.p;
    }
    for (int i = 0; meta_kv && meta_kv[i]; i++)
        meta[q++] = meta_kv[i];
    meta[q] = NULL;
    rc = mnet_safetensors_save(path, st, k, meta, MNET_ST_F32, err, n) == 0 ? 0 : -1;
    free(dw.p);
    free(hid.p);
    goto done;
oom:
    msg(err, n, "record: out of memory for %d episodes of %d steps (about %zu bytes of data)", N,
        T, mnet_record_bytes(tr, N));
done:
    for (int i = 0; i < 8; i++)
        free(names[i].p);
    free(meta);
    free(data);
    free(roll);
    free(loss_step);
    free(st);
    free(t);
    return rc;
}
