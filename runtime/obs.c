/* obs.c - the observation pipeline: delay buffers kept as a sense history,
 * stacked action frames and noise, forward beside backward.  Layout and
 * semantics in mnet_train.h (section obs.c) and MODELS.md section 8. */
#include "mnet_train.h"

#include <stdio.h>
#include <string.h>

#include "mnet_rng.h"

int mnet_obs_setup(mnet_obs *o, const mnet_task_config *cfg, int space_dim, int n_muscles,
                   double step, char *err, size_t err_size)
{
    memset(o, 0, sizeof *o);
    if (space_dim < 1 || n_muscles < 1 || !(step > 0) || cfg->action_frames < 0) {
        if (err && err_size > 0)
            snprintf(err, err_size, "obs: bad sizes (space_dim %d, %d muscles, step %g, %d frames)",
                     space_dim, n_muscles, step, cfg->action_frames);
        return -1;
    }
    o->space_dim = space_dim;
    o->n_muscles = n_muscles;
    o->n_sense = space_dim + 2 * n_muscles;
    o->n_frames = cfg->action_frames;
    o->d_vision = mnet_task_delay_steps(cfg->vision_delay, step);
    o->d_proprio = mnet_task_delay_steps(cfg->proprio_delay, step);
    if (o->d_vision < 0 || o->d_proprio < 0 || !(cfg->vision_delay >= 0) ||
        !(cfg->proprio_delay >= 0)) {
        if (err && err_size > 0)
            snprintf(err, err_size, "obs: delays %g / %g s out of range", cfg->vision_delay,
                     cfg->proprio_delay);
        return -1;
    }
    o->exact = cfg->exact_delays != 0;
    int row = 0;
    o->goal_row = row, row += space_dim;
    o->go_row = cfg->kind == MNET_TASK_DELAYED_REACH ? row++ : -1;
    o->vision_row = row, row += space_dim;
    o->proprio_row = row, row += 2 * n_muscles;
    o->action_row = row, row += o->n_frames * n_muscles;
    o->n_obs = row;
    o->sd_vision = cfg->vision_noise;
    o->sd_proprio = cfg->proprio_noise;
    o->sd_obs = cfg->obs_noise;
    return 0;
}

int mnet_obs_part_columns(const mnet_obs *o, mnet_obs_part part, int *first, int *count)
{
    int f = -1, c = 0;
    switch (part) {
    case MNET_OBS_GOAL: f = o->goal_row, c = o->space_dim; break;
    case MNET_OBS_GO: f = o->go_row, c = o->go_row >= 0 ? 1 : 0; break;
    case MNET_OBS_VISION: f = o->vision_row, c = o->space_dim; break;
    case MNET_OBS_PROPRIO: f = o->proprio_row, c = 2 * o->n_muscles; break;
    case MNET_OBS_ACTIONS: f = o->action_row, c = o->n_frames * o->n_muscles; break;
    default: break;
    }
    *first = f;
    *count = c;
    return f >= 0 && c > 0 ? 0 : -1;
}

int mnet_obs_slot(const mnet_obs *o, int d, int t)
{
    int src = o->exact ? t - d : t - d + 1;
    return src < 0 ? 0 : src + 1;
}

/* ---- forward ---- */

void mnet_obs_record(const mnet_obs *o, mnet_real *hist, int t, const mnet_real *sensed, int n,
                     int ld, const mnet_noise_key *nz)
{
    const int P = o->space_dim, NS = o->n_sense;
    const int noisy = nz && nz->on;
    for (int pass = t == 0 ? 0 : 1; pass < 2; pass++) {
        /* pass 0: the fill slot (t == 0 only); pass 1: slot t+1 */
        mnet_real *slot = hist + (size_t)(pass ? t + 1 : 0) * NS * ld;
        for (int i = 0; i < NS; i++)
            memcpy(slot + (size_t)i * ld, sensed + (size_t)i * ld, (size_t)n * sizeof *slot);
        if (!noisy)
            continue;
        if (o->sd_vision != 0)
            mnet_rng_add_normal(slot, P, n, ld, o->sd_vision, nz->seed,
                                pass ? MNET_STREAM_NOISE_VISION : MNET_STREAM_NOISE_VISION_FILL,
                                nz->element0, (uint32_t)t);
        if (o->sd_proprio != 0)
            mnet_rng_add_normal(slot + (size_t)P * ld, NS - P, n, ld, o->sd_proprio, nz->seed,
                                pass ? MNET_STREAM_NOISE_PROPRIO : MNET_STREAM_NOISE_PROPRIO_FILL,
                                nz->element0, (uint32_t)t);
    }
}

static void copy_block(mnet_real *dst, const mnet_real *src, int rows, int n, int ld)
{
    for (int i = 0; i < rows; i++) {
        if (src)
            memcpy(dst + (size_t)i * ld, src + (size_t)i * ld, (size_t)n * sizeof *dst);
        else
            memset(dst + (size_t)i * ld, 0, (size_t)n * sizeof *dst);
    }
}

static void add_block(mnet_real *dst, const mnet_real *src, int rows, int n, int ld)
{
    for (int i = 0; i < rows; i++) {
        mnet_real *d = dst + (size_t)i * ld;
        const mnet_real *s = src + (size_t)i * ld;
        for (int b = 0; b < n; b++)
            d[b] += s[b];
    }
}

void mnet_obs_build(const mnet_obs *o, int t, const mnet_real *goal, const mnet_real *go,
                    const mnet_real *hist, const mnet_real *actions, mnet_real *obs, int n,
                    int ld, const mnet_noise_key *nz)
{
    const int P = o->space_dim, M = o->n_muscles, NS = o->n_sense, k = o->n_frames;
    copy_block(obs + (size_t)o->goal_row * ld, goal, P, n, ld);
    if (o->go_row >= 0)
        copy_block(obs + (size_t)o->go_row * ld, go, 1, n, ld);
    const mnet_real *sv = hist + (size_t)mnet_obs_slot(o, o->d_vision, t) * NS * ld;
    const mnet_real *sp = hist + (size_t)mnet_obs_slot(o, o->d_proprio, t) * NS * ld;
    copy_block(obs + (size_t)o->vision_row * ld, sv, P, n, ld);
    copy_block(obs + (size_t)o->proprio_row * ld, sp + (size_t)P * ld, 2 * M, n, ld);
    for (int f = 0; f < k; f++) {
        int tau = t - k + f; /* frame f holds the action of step tau */
        copy_block(obs + (size_t)(o->action_row + f * M) * ld,
                   tau >= 0 ? actions + (size_t)tau * M * ld : NULL, M, n, ld);
    }
    if (nz && nz->on && o->sd_obs != 0)
        mnet_rng_add_normal(obs + (size_t)o->vision_row * ld, o->n_obs - o->vision_row, n, ld,
                            o->sd_obs, nz->seed, MNET_STREAM_NOISE_OBS, nz->element0,
                            (uint32_t)t);
}

/* ---- backward ---- */

void mnet_obs_backward(const mnet_obs *o, int t, const mnet_real *dobs, mnet_real *g_hist,
                       mnet_real *g_actions, int n, int ld)
{
    const int P = o->space_dim, M = o->n_muscles, NS = o->n_sense, k = o->n_frames;
    mnet_real *gv = g_hist + (size_t)mnet_obs_slot(o, o->d_vision, t) * NS * ld;
    mnet_real *gp = g_hist + (size_t)mnet_obs_slot(o, o->d_proprio, t) * NS * ld;
    add_block(gv, dobs + (size_t)o->vision_row * ld, P, n, ld);
    add_block(gp + (size_t)P * ld, dobs + (size_t)o->proprio_row * ld, 2 * M, n, ld);
    for (int f = 0; f < k; f++) {
        int tau = t - k + f;
        if (tau >= 0)
            add_block(g_actions + (size_t)tau * M * ld,
                      dobs + (size_t)(o->action_row + f * M) * ld, M, n, ld);
    }
}
