/* task.c - the task configuration, the episode generators and the
 * external loads (forward beside backward).  Semantics in mnet_task.h. */
#include "mnet_task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_rng.h"
#include "mnet_settings.h"
#include "mnet_validation.h"

#define MNET_PI 3.14159265358979323846

static void set_err(char *err, size_t n, const char *fmt, const char *a, double x)
{
    if (err && n > 0)
        snprintf(err, n, fmt, a, x);
}

int mnet_task_steps(const mnet_task_config *cfg, const mnet_model *m)
{
    double s = cfg->duration / m->step_size;
    if (!(s >= 0.5 && s < 1e8))
        return s >= 1e8 ? -1 : 0;
    return (int)lround(s);
}

int mnet_task_delay_steps(double delay, double step)
{
    double d = delay / step;
    if (!(d < 1e8))
        return -1;
    long r = lround(d);
    return r < 1 ? 1 : (int)r;
}

int mnet_task_load_is_dynamic(const mnet_task_config *cfg)
{
    return cfg->curl != 0 || cfg->channel_stiffness != 0 || cfg->channel_damping != 0;
}


int mnet_task_check(const mnet_task_config *cfg, const mnet_model *m, char *err, size_t n)
{
    const int P = m->space_dim, D = m->n_dof;
    if (P < 1 || P > MNET_TASK_MAX_SPACE || D < 1 || D > MNET_TASK_MAX_DOF) {
        if (err && n > 0)
            snprintf(err, n, "task: model '%s' has space_dim %d and %d joints (at most %d and %d)",
                     m->name ? m->name : "?", P, D, MNET_TASK_MAX_SPACE, MNET_TASK_MAX_DOF);
        return -1;
    }
    if (cfg->kind != MNET_TASK_RANDOM_REACH && cfg->kind != MNET_TASK_CENTRE_OUT &&
        cfg->kind != MNET_TASK_DELAYED_REACH) {
        set_err(err, n, "task: unknown kind%s %g", "", (double)cfg->kind);
        return -1;
    }
    if (!(m->step_size > 0) || !isfinite(m->step_size)) {
        set_err(err, n, "task: model step %s%g is not positive", "", m->step_size);
        return -1;
    }
    int T = mnet_task_steps(cfg, m);
    if (!(cfg->duration > 0) || T < 1) {
        if (err && n > 0)
            snprintf(err, n, "task: duration %g s gives %d steps of %g s (need at least one)",
                     cfg->duration, T < 0 ? 0 : T, m->step_size);
        return -1;
    }
    if (mnet_run_check(cfg, err, n) != 0)
        return -1;
    if (mnet_task_delay_steps(cfg->proprio_delay, m->step_size) < 0 ||
        mnet_task_delay_steps(cfg->vision_delay, m->step_size) < 0) {
        set_err(err, n, "task: delay %s%g s is too long", "",
                fmax(cfg->proprio_delay, cfg->vision_delay));
        return -1;
    }
    if (cfg->validation.n_centre != 0 && cfg->validation.n_centre != D) {
        if (err && n > 0)
            snprintf(err, n, "task: validation.centre has %d values for the %d joints of model '%s'",
                     cfg->validation.n_centre, D, m->name ? m->name : "?");
        return -1;
    }
    if (cfg->kind != MNET_TASK_RANDOM_REACH && P < 2) {
        set_err(err, n, "task: %s reaches need space_dim >= 2 (model has %g)",
                cfg->kind == MNET_TASK_CENTRE_OUT ? "centre-out" : "delayed", (double)P);
        return -1;
    }
    if (cfg->curl != 0 && (P != 2 || !isfinite(cfg->curl))) {
        set_err(err, n, "task: the curl field needs space_dim 2 and a finite strength (%s%g)", "",
                cfg->curl);
        return -1;
    }
    for (int i = 0; i < P; i++)
        if (!isfinite(cfg->endpoint_load[i])) {
            set_err(err, n, "task: %s[%g] is not finite", "endpoint_load", (double)i);
            return -1;
        }
    for (int i = 0; i < D; i++)
        if (!isfinite(cfg->joint_load[i])) {
            set_err(err, n, "task: %s[%g] is not finite", "joint_load", (double)i);
            return -1;
        }
    for (int k = 0; k < cfg->n_losses; k++) {
        mnet_loss_term l = cfg->loss[k];
        if (mnet_task_resolve_loss(&l, m, err, n) != 0)
            return -1;
    }
    if (cfg->batch_size < 1) {
        set_err(err, n, "task: batch_size %s%g must be at least 1", "", (double)cfg->batch_size);
        return -1;
    }
    return 0;
}

/* ---- episodes ------------------------------------------------------------ */

int mnet_episode_alloc(mnet_episode *ep, const mnet_model *m, int B, int T, char *err, size_t n)
{
    memset(ep, 0, sizeof *ep);
    if (B < 1 || T < 1 || (double)B * (double)(T + 2) * (double)m->n_state > 1e12) {
        if (err && n > 0)
            snprintf(err, n, "episode: bad size B %d T %d", B, T);
        return -1;
    }
    const size_t P = (size_t)m->space_dim, D = (size_t)m->n_dof, b = (size_t)B;
    const size_t nreal = 4 * D * b + 2 * P * b + 2 * (size_t)(T + 1) * P * b +
                         (size_t)(T + 1) * b + (size_t)m->n_state * b;
    const size_t bytes = nreal * sizeof(mnet_real) + b * (sizeof(double) + sizeof(int) + 1);
    char *mem = malloc(bytes);
    if (!mem) {
        if (err && n > 0)
            snprintf(err, n, "episode: out of memory (%zu bytes)", bytes);
        return -1;
    }
    ep->mem = mem;
    ep->B = B;
    ep->T = T;
    ep->n_dof = (int)D;
    ep->space_dim = (int)P;
    ep->n_state = m->n_state;
    /* doubles first, then reals, then ints, then bytes: each aligned */
    ep->go_time = (double *)(void *)mem;
    mnet_real *r = (mnet_real *)(void *)(mem + b * sizeof(double));
    ep->joint0 = r, r += 2 * D * b;
    ep->goal_joint = r, r += 2 * D * b;
    ep->start = r, r += P * b;
    ep->goal = r, r += P * b;
    ep->goal_obs = r, r += (size_t)(T + 1) * P * b;
    ep->target = r, r += (size_t)(T + 1) * P * b;
    ep->go_obs = r, r += (size_t)(T + 1) * b;
    ep->scratch = r, r += (size_t)m->n_state * b;
    ep->go_step = (int *)(void *)r;
    ep->catch_trial = (unsigned char *)(ep->go_step + b);
    memset(mem, 0, bytes);
    return 0;
}

void mnet_episode_free(mnet_episode *ep)
{
    free(ep->mem);
    memset(ep, 0, sizeof *ep);
}

/* End points (P x B) of joint states (2D x B) through the model's init:
 * the cartesian position rows of the initial state. */
static void end_points(const mnet_model *m, const mnet_real *params, const mnet_real *joint,
                       mnet_real *scratch, mnet_real *out, int n, int ld)
{
    const mnet_real *in[1] = {joint};
    mnet_real *const o[1] = {scratch};
    m->init(n, ld, in, o, params);
    for (int i = 0; i < m->space_dim; i++)
        memcpy(out + (size_t)i * ld, scratch + (size_t)(m->cartesian_offset + i) * ld,
               (size_t)n * sizeof *out);
}

/* Joint states (2D x ld) uniform in the model's range, zero velocity. */
static void draw_joints(const mnet_model *m, uint64_t seed, uint32_t stream, uint32_t element0,
                        mnet_real *joint, int n, int ld)
{
    const int D = m->n_dof;
    for (int j = 0; j < D; j++)
        for (int b = 0; b < n; b++) {
            double u = mnet_rng_uniform_at(seed, stream, element0 + (uint32_t)b, 0, (uint32_t)j);
            double lo = m->pos_lower[j], hi = m->pos_upper[j];
            joint[(size_t)j * ld + b] = (mnet_real)(lo + (hi - lo) * u);
            joint[(size_t)(D + j) * ld + b] = 0;
        }
}

/* The workspace centre as a joint position. */
static double centre_joint(const mnet_task_config *cfg, const mnet_model *m, int j)
{
    if (cfg->validation.n_centre > j)
        return cfg->validation.centre[j];
    return m->pos_lower[j] + (m->pos_upper[j] - m->pos_lower[j]) / 2;
}

/* Fills goal_obs / target / go_obs of column b from start, goal, go_step
 * and the kind. */
static void fill_series(const mnet_task_config *cfg, mnet_episode *ep, int b)
{
    const int P = ep->space_dim, T = ep->T, B = ep->B;
    const int go = ep->go_step[b];
    for (int t = 0; t <= T; t++) {
        int going = t >= go;
        for (int i = 0; i < P; i++) {
            mnet_real s = ep->start[i * B + b], g = ep->goal[i * B + b];
            size_t k = ((size_t)t * P + i) * B + b;
            switch (cfg->kind) {
            case MNET_TASK_CENTRE_OUT:
                ep->goal_obs[k] = ep->target[k] = going ? g : s;
                break;
            case MNET_TASK_DELAYED_REACH:
                ep->goal_obs[k] = g;
                ep->target[k] = going ? g : s;
                break;
            default:
                ep->goal_obs[k] = ep->target[k] = g;
            }
        }
        ep->go_obs[(size_t)t * B + b] =
            (mnet_real)(cfg->kind == MNET_TASK_DELAYED_REACH && going ? 1 : 0);
    }
}

static int go_step_of(double c, double step, int T)
{
    double s = floor(c / step + 1e-9);
    return s > T + 1 ? T + 1 : (int)s;
}

int mnet_task_validation_directions(const mnet_task_config *cfg)
{
    if (cfg->kind == MNET_TASK_RANDOM_REACH)
        return 0;
    double step = cfg->validation.every; /* rad */
    int n = (int)ceil(2 * MNET_PI / step - 1e-9);
    return n < 1 ? 1 : n;
}

int mnet_task_validation_size(const mnet_task_config *cfg, int batch_size)
{
    int n = mnet_task_validation_directions(cfg);
    return n > 0 ? n : batch_size;
}

int mnet_task_generate(const mnet_task_config *cfg, const mnet_model *m, const mnet_real *params,
                       int validation, uint64_t seed, uint32_t element0, int n,
                       mnet_episode *ep, char *err, size_t err_size)
{
    if (n < 0 || n > ep->B) {
        if (err && err_size > 0)
            snprintf(err, err_size, "task: %d episodes asked of an episode buffer of %d", n,
                     ep->B);
        return -1;
    }
    const int P = m->space_dim, D = m->n_dof, B = ep->B, T = ep->T;
    const double dt = m->step_size;
    ep->n_cols = n;
    int fixed_geometry = validation && cfg->kind != MNET_TASK_RANDOM_REACH;

    /* start: joint0 and its end point */
    if (fixed_geometry) {
        for (int j = 0; j < D; j++)
            for (int b = 0; b < n; b++) {
                ep->joint0[j * B + b] = (mnet_real)centre_joint(cfg, m, j);
                ep->joint0[(D + j) * B + b] = 0;
            }
    } else {
        draw_joints(m, seed, MNET_STREAM_TASK_START, element0, ep->joint0, n, B);
    }
    end_points(m, params, ep->joint0, ep->scratch, ep->start, n, B);

    /* goal */
    if (fixed_geometry) {
        double step = cfg->validation.every;
        int n_angles = mnet_task_validation_directions(cfg);
        for (int b = 0; b < n; b++) {
            int k = (int)((element0 + (uint32_t)b) % (uint32_t)n_angles);
            double a = k * step;
            for (int i = 0; i < P; i++) {
                double off = i == 0 ? cos(a) : i == 1 ? sin(a) : 0;
                ep->goal[i * B + b] =
                    (mnet_real)(ep->start[i * B + b] + cfg->validation.distance * off);
            }
        }
    } else {
        draw_joints(m, seed, MNET_STREAM_TASK_GOAL, element0, ep->goal_joint, n, B);
        end_points(m, params, ep->goal_joint, ep->scratch, ep->goal, n, B);
    }

    /* cue and catch */
    for (int b = 0; b < n; b++) {
        uint32_t e = element0 + (uint32_t)b;
        const double lo = cfg->go_cue_lo, hi = cfg->go_cue_hi, pc = cfg->catch_fraction;
        if (cfg->kind == MNET_TASK_RANDOM_REACH) {
            ep->go_time[b] = 0;
            ep->go_step[b] = 0;
            ep->catch_trial[b] = 0;
        } else {
            double c = validation ? lo + (hi - lo) / 2
                                  : lo + (hi - lo) * mnet_rng_uniform_at(
                                                         seed, MNET_STREAM_TASK_CUE, e, 0, 0);
            int is_catch =
                !validation && mnet_rng_uniform_at(seed, MNET_STREAM_TASK_CUE, e, 0, 1) < pc;
            ep->go_time[b] = c;
            ep->catch_trial[b] = (unsigned char)is_catch;
            ep->go_step[b] = is_catch ? T + 1 : go_step_of(c, dt, T);
            if (is_catch)
                for (int i = 0; i < P; i++)
                    ep->goal[i * B + b] = ep->start[i * B + b];
        }
        fill_series(cfg, ep, b);
    }
    (void)err;
    return 0;
}

int mnet_task_fixed(const mnet_task_config *cfg, const mnet_model *m, const mnet_real *params,
                    const mnet_real *joint0, const mnet_real *goal, int ld, int n,
                    mnet_episode *ep, char *err, size_t err_size)
{
    if (n < 0 || n > ep->B || ld < n) {
        if (err && err_size > 0)
            snprintf(err, err_size, "task: %d fixed reaches (ld %d) for an episode buffer of %d",
                     n, ld, ep->B);
        return -1;
    }
    const int P = m->space_dim, D = m->n_dof, B = ep->B;
    ep->n_cols = n;
    for (int j = 0; j < 2 * D; j++)
        memcpy(ep->joint0 + (size_t)j * B, joint0 + (size_t)j * ld, (size_t)n * sizeof *joint0);
    end_points(m, params, ep->joint0, ep->scratch, ep->start, n, B);
    mnet_task_config plain = *cfg;
    plain.kind = MNET_TASK_RANDOM_REACH; /* shown and asked for from step 0 */
    for (int b = 0; b < n; b++) {
        for (int i = 0; i < P; i++)
            ep->goal[i * B + b] = goal[(size_t)i * ld + b];
        ep->go_time[b] = 0;
        ep->go_step[b] = 0;
        ep->catch_trial[b] = 0;
        fill_series(&plain, ep, b);
    }
    return 0;
}

static void copy_rows(mnet_real *dst, int ldd, const mnet_real *src, int lds, size_t rows, int n)
{
    for (size_t i = 0; i < rows; i++)
        memcpy(dst + i * (size_t)ldd, src + i * (size_t)lds, (size_t)n * sizeof *dst);
}

void mnet_episode_copy_cols(mnet_episode *dst, const mnet_episode *src, int c0, int n)
{
    const size_t P = (size_t)src->space_dim, D = (size_t)src->n_dof, T1 = (size_t)src->T + 1;
    const int ld = dst->B, ls = src->B;
    copy_rows(dst->joint0, ld, src->joint0 + c0, ls, 2 * D, n);
    copy_rows(dst->goal_joint, ld, src->goal_joint + c0, ls, 2 * D, n);
    copy_rows(dst->start, ld, src->start + c0, ls, P, n);
    copy_rows(dst->goal, ld, src->goal + c0, ls, P, n);
    copy_rows(dst->goal_obs, ld, src->goal_obs + c0, ls, T1 * P, n);
    copy_rows(dst->target, ld, src->target + c0, ls, T1 * P, n);
    copy_rows(dst->go_obs, ld, src->go_obs + c0, ls, T1, n);
    for (int b = 0; b < n; b++) {
        dst->go_step[b] = src->go_step[c0 + b];
        dst->go_time[b] = src->go_time[c0 + b];
        dst->catch_trial[b] = src->catch_trial[c0 + b];
    }
    dst->n_cols = n;
}

/* ---- loads ---------------------------------------------------------------- */

/* The channel's projector Q (P x P, row-major) of column b: orthogonal to
 * the start-goal line, or the identity when the line is degenerate. */
static void channel_projector(const mnet_episode *ep, int b, double *Q)
{
    const int P = ep->space_dim, B = ep->B;
    double u[MNET_TASK_MAX_SPACE], len2 = 0;
    for (int i = 0; i < P; i++) {
        u[i] = (double)ep->goal[i * B + b] - (double)ep->start[i * B + b];
        len2 += u[i] * u[i];
    }
    double inv = len2 > 1e-24 ? 1.0 / len2 : 0.0;
    for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++)
            Q[i * P + j] = (i == j) - u[i] * u[j] * inv;
}

void mnet_task_load(const mnet_task_config *cfg, const mnet_model *m, const mnet_episode *ep,
                    const mnet_real *state, mnet_real *load, int n, int ld)
{
    const int P = m->space_dim, D = m->n_dof;
    for (int i = 0; i < P; i++)
        for (int b = 0; b < n; b++)
            load[i * ld + b] = (mnet_real)cfg->endpoint_load[i];
    for (int j = 0; j < D; j++)
        for (int b = 0; b < n; b++)
            load[(P + j) * ld + b] = (mnet_real)cfg->joint_load[j];
    const mnet_real *x = state + (size_t)m->cartesian_offset * ld;  /* (P x ld) */
    const mnet_real *v = x + (size_t)P * ld;                          /* (P x ld) */
    if (cfg->curl != 0) { /* F = k [[0, 1], [-1, 0]] v */
        for (int b = 0; b < n; b++) {
            load[b] += (mnet_real)(cfg->curl * v[ld + b]);
            load[ld + b] -= (mnet_real)(cfg->curl * v[b]);
        }
    }
    if (cfg->channel_stiffness != 0 || cfg->channel_damping != 0) {
        double Q[MNET_TASK_MAX_SPACE * MNET_TASK_MAX_SPACE];
        for (int b = 0; b < n; b++) {
            channel_projector(ep, b, Q);
            for (int i = 0; i < P; i++) {
                double f = 0;
                for (int j = 0; j < P; j++) {
                    double r = (double)x[j * ld + b] - (double)ep->start[j * ep->B + b];
                    f -= Q[i * P + j] *
                         (cfg->channel_stiffness * r + cfg->channel_damping * v[j * ld + b]);
                }
                load[i * ld + b] += (mnet_real)f;
            }
        }
    }
}

void mnet_task_load_vjp(const mnet_task_config *cfg, const mnet_model *m,
                        const mnet_episode *ep, const mnet_real *g_load, mnet_real *g_state,
                        int n, int ld)
{
    const int P = m->space_dim;
    mnet_real *gx = g_state + (size_t)m->cartesian_offset * ld; /* (P x ld) */
    mnet_real *gv = gx + (size_t)P * ld;                         /* (P x ld) */
    if (cfg->curl != 0) {
        for (int b = 0; b < n; b++) {
            gv[ld + b] += (mnet_real)(cfg->curl * g_load[b]);
            gv[b] -= (mnet_real)(cfg->curl * g_load[ld + b]);
        }
    }
    if (cfg->channel_stiffness != 0 || cfg->channel_damping != 0) {
        double Q[MNET_TASK_MAX_SPACE * MNET_TASK_MAX_SPACE];
        for (int b = 0; b < n; b++) {
            channel_projector(ep, b, Q);
            for (int j = 0; j < P; j++) {
                double qg = 0; /* (Q^T g)_j, Q symmetric */
                for (int i = 0; i < P; i++)
                    qg += Q[i * P + j] * (double)g_load[i * ld + b];
                gx[j * ld + b] -= (mnet_real)(cfg->channel_stiffness * qg);
                gv[j * ld + b] -= (mnet_real)(cfg->channel_damping * qg);
            }
        }
    }
}
