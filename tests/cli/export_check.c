/* export_check.c - checks a controller written by `mnet export` against the
 * runtime and against `mnet eval`'s recorded episodes (tests/cli/export.sh).
 *
 *   cc -DCTRL_FILE='"controller.c"' export_check.c -I runtime/include
 *      libmnetrt.a (double) or libmnetrt_f.a (-DMNET_REAL_FLOAT) -lopenblas -lm
 *   export_check EPISODES.safetensors WEIGHTS.safetensors
 *
 * The exported file is included first (with --with-plant it brings the
 * effector and mnet_model.h, which the runtime's headers then find
 * included).  Its precision must be the runtime's it is linked with.
 *
 * Controller: every validation episode's recorded observations are fed to
 * mnet_ctrl_step and to the runtime's mnet_nn_forward (the weights of
 * WEIGHTS); the actions are compared with each other and with the recorded
 * `output`.  Required: double, export vs runtime <= 1e-12; float, export
 * vs recorded <= 1e-5.
 * Plant (MNET_SIM_N_STATE defined): the runtime rolls the validation set
 * out with the exported file's own effector (mnet_compiled_model), run text
 * and WEIGHTS (mnet_train_eval, no noise); the loop is driven with the same
 * episodes and every observation, action and state row compared at every
 * step, relative to 1 + |value|.  Required: double <= 1e-12, float <= 1e-5;
 * the loop's own validation table must equal the runtime's set (float)
 * or be it rounded to float (double); against the recording (float, the
 * JIT's effector) the differences are printed.
 * Prints the maximum differences; exit status 1 when a check fails. */
#include CTRL_FILE

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_nn.h"
#include "mnet_safetensors.h"
#include "mnet_settings.h"
#include "mnet_train.h"

#if !defined(MNET_REAL_FLOAT)
#define CHECK_DOUBLE 1
#else
#define CHECK_DOUBLE 0
#endif

_Static_assert(sizeof(mnet_ctrl_real) == sizeof(mnet_real), "the controller's precision is the runtime's");

static int failures;

static void check(const char *what, double value, double limit)
{
    int ok = value <= limit;
    printf("%s: %s %.3g (limit %.3g)\n", ok ? "ok" : "FAIL", what, value, limit);
    if (!ok)
        failures++;
}

static double *read_tensor(const mnet_safetensors *st, const char *name, int64_t *shape, int ndim)
{
    char err[512];
    const mnet_st_info *t = mnet_safetensors_find(st, name);
    if (!t || t->ndim != ndim) {
        fprintf(stderr, "export_check: %s missing or of the wrong rank\n", name);
        exit(2);
    }
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t)(shape[i] = t->shape[i]);
    double *v = malloc(count * sizeof *v);
    if (!v || mnet_safetensors_read(st, name, v, count, err, sizeof err) != 0) {
        fprintf(stderr, "export_check: %s: %s\n", name, err);
        exit(2);
    }
    return v;
}

static int meta_int(const mnet_safetensors *st, const char *key)
{
    const char *v = mnet_safetensors_meta(st, key);
    if (!v) {
        fprintf(stderr, "export_check: the weights lack %s\n", key);
        exit(2);
    }
    return atoi(v);
}

/* |a - b| and |a - b| / (1 + |b|) into the maxima */
static void diff(double a, double b, double *abs_max, double *rel_max)
{
    double d = fabs(a - b);
    if (d != d)
        d = INFINITY;
    if (d > *abs_max)
        *abs_max = d;
    if (d / (1 + fabs(b)) > *rel_max)
        *rel_max = d / (1 + fabs(b));
}

/* ---- the controller on the recorded observations ---- */

static void check_controller(const mnet_safetensors *ep, const char *weights)
{
    char err[512];
    int64_t so[3], sy[3];
    double *obs = read_tensor(ep, "obs", so, 3), *out = read_tensor(ep, "output", sy, 3);
    const int N = (int)so[0], T = (int)so[1], I = (int)so[2], O = (int)sy[2];
    if (I != MNET_CTRL_N_INPUT || O != MNET_CTRL_N_OUTPUT) {
        fprintf(stderr, "export_check: the episodes have %d inputs and %d outputs, the controller %d and %d\n", I, O,
                MNET_CTRL_N_INPUT, MNET_CTRL_N_OUTPUT);
        exit(2);
    }

    /* the runtime's network with the run's weights */
    mnet_safetensors st;
    if (mnet_safetensors_open(weights, &st, err, sizeof err) != 0) {
        fprintf(stderr, "export_check: %s\n", err);
        exit(2);
    }
    const char *cell = mnet_safetensors_meta(&st, "mnet.cell");
    mnet_nn_config cfg = {.cell = !cell || !strcmp(cell, "gru") ? MNET_NN_GRU
                                  : !strcmp(cell, "rnn")         ? MNET_NN_RNN
                                                                 : MNET_NN_MLP,
                          .n_input = meta_int(&st, "mnet.n_input"),
                          .n_hidden = meta_int(&st, "mnet.n_hidden"),
                          .n_layers = meta_int(&st, "mnet.n_layers"),
                          .n_output = meta_int(&st, "mnet.n_output")};
    const char *cand = mnet_safetensors_meta(&st, "mnet.candidate"), *h0 = mnet_safetensors_meta(&st, "mnet.initial_state");
    cfg.candidate = cand && !strcmp(cand, "rectified_tanh") ? MNET_NN_CANDIDATE_RECTIFIED_TANH : MNET_NN_CANDIDATE_TANH;
    cfg.learn_h0 = h0 && !strcmp(h0, "learned");
    /* the modules ("NAME:UNITS:EXC ...") and their delays ("FROM>TO:STEPS ...") */
    mnet_nn_modular md;
    memset(&md, 0, sizeof md);
    const char *mods = mnet_safetensors_meta(&st, "mnet.modules"), *dels = mnet_safetensors_meta(&st, "mnet.delays");
    for (const char *q = mods; q && *q && md.n_modules < MNET_NN_MAX_MODULES;) {
        int used = 0, m = md.n_modules;
        if (sscanf(q, "%31[^:]:%d:%*[^ ]%n", md.name[m], &md.size[m], &used) < 2 || used == 0)
            break;
        md.n_modules++;
        q += used;
        while (*q == ' ')
            q++;
    }
    for (int b = 0; b < md.n_modules; b++)
        for (int a = 0; a < md.n_modules; a++)
            md.frac[b][a] = md.p[b][a] = 1;
    for (const char *q = dels; q && *q;) {
        char from[32], to[32];
        int steps, used = 0, a = -1, b = -1;
        if (sscanf(q, "%31[^>]>%31[^:]:%d%n", from, to, &steps, &used) < 3 || used == 0)
            break;
        for (int m = 0; m < md.n_modules; m++) {
            a = strcmp(md.name[m], from) ? a : m;
            b = strcmp(md.name[m], to) ? b : m;
        }
        if (a >= 0 && b >= 0)
            md.delay_steps[b][a] = steps;
        q += used;
        while (*q == ' ')
            q++;
    }
    printf("network: %s, candidate %s, initial state %s, %d modules, delays '%s'\n", cell ? cell : "gru",
           cand ? cand : "tanh", h0 ? h0 : "zero", md.n_modules, dels ? dels : "");
    mnet_safetensors_close(&st); /* the metadata strings go with it */
    mnet_nn nn;
    if (mnet_nn_setup(&nn, &cfg, err, sizeof err) != 0 ||
        (md.n_modules > 0 && mnet_nn_set_delays(&nn, &md, T, err, sizeof err) != 0)) {
        fprintf(stderr, "export_check: %s\n", err);
        exit(2);
    }
    mnet_real *params = malloc(nn.n_params * sizeof *params);
    mnet_real *arena = malloc((size_t)T * mnet_nn_act_size(&nn, 1) * sizeof *arena);
    if (!params || !arena || mnet_safetensors_load_nn(weights, &nn, params, err, sizeof err) != 0) {
        fprintf(stderr, "export_check: %s\n", err);
        exit(2);
    }
    mnet_nn_params p;
    mnet_nn_acts acts;
    mnet_nn_bind_params(&nn, params, &p);
    mnet_nn_bind_acts(&nn, arena, T, 1, &acts);

    static mnet_ctrl c;
    mnet_ctrl_init(&c);
    double vs_runtime = 0, vs_recorded = 0, runtime_vs_recorded = 0, rel = 0;
    for (int e = 0; e < N; e++) {
        mnet_ctrl_reset(&c);
        for (int t = 0; t < T; t++) {
            mnet_ctrl_real x[MNET_CTRL_N_INPUT], a[MNET_CTRL_N_OUTPUT];
            mnet_real xr[MNET_CTRL_N_INPUT], yr[MNET_CTRL_N_OUTPUT];
            for (int i = 0; i < I; i++)
                xr[i] = x[i] = (mnet_ctrl_real)obs[((size_t)e * T + t) * I + i];
            mnet_ctrl_step(&c, x, a);
            mnet_nn_forward(&nn, &p, &acts, t, xr, NULL, yr, 1, NULL);
            for (int o = 0; o < O; o++) {
                double rec = out[((size_t)e * T + t) * O + o];
                diff(a[o], yr[o], &vs_runtime, &rel);
                diff(a[o], rec, &vs_recorded, &rel);
                diff(yr[o], rec, &runtime_vs_recorded, &rel);
            }
        }
    }
    printf("controller (%s), %d episodes x %d steps: max |export - runtime %s| %.3g, "
           "max |export - recorded| %.3g, max |runtime - recorded| %.3g\n",
           CHECK_DOUBLE ? "double" : "float", N, T, CHECK_DOUBLE ? "double" : "float", vs_runtime, vs_recorded,
           runtime_vs_recorded);
    if (CHECK_DOUBLE)
        check("controller, double: export vs the runtime's network in double", vs_runtime, 1e-12);
    else
        check("controller, float: export vs mnet eval's recorded output", vs_recorded, 1e-5);
    free(obs);
    free(out);
    free(params);
    free(arena);
}

/* ---- the closed loop ---- */

#ifdef MNET_SIM_N_STATE
static void check_loop(const mnet_safetensors *rec, const char *weights)
{
    char err[512];
    const mnet_model *m = mnet_compiled_model;
    mnet_task_config cfg;
    double *values = malloc(((size_t)m->n_params + 1) * sizeof *values);
    mnet_real *params = malloc(((size_t)m->n_params + 1) * sizeof *params);
    for (int i = 0; i < m->n_params; i++)
        values[i] = m->param_defaults[i];
    if (!m->task || mnet_run_text_parse(m->task, &cfg, m, values, err, sizeof err) != 0) {
        fprintf(stderr, "export_check: the embedded run text: %s\n", m->task ? err : "none");
        exit(2);
    }
    for (int i = 0; i < m->n_params; i++) {
        params[i] = (mnet_real)values[i];
        if (params[i] != sim_params[i]) {
            printf("FAIL: sim_params[%d] (%s) %.17g, the run text %.17g\n", i, m->param_names[i],
                   (double)sim_params[i], (double)params[i]);
            failures++;
        }
    }
    mnet_train *tr = mnet_train_new(m, params, &cfg, err, sizeof err);
    if (!tr || mnet_safetensors_load_nn(weights, &tr->nn, tr->params, err, sizeof err) != 0) {
        fprintf(stderr, "export_check: %s\n", tr ? err : err);
        exit(2);
    }
    const int T = tr->T, S = m->n_state, M = m->n_muscles, I = tr->I, P = m->space_dim, D = m->n_dof;
    const int N = MNET_SIM_N_VALIDATION;
    mnet_episode ep;
    if (T != MNET_SIM_STEPS || mnet_episode_alloc(&ep, m, N, T, err, sizeof err) != 0 ||
        mnet_task_generate(&cfg, m, params, 1, cfg.seed, 0, N, &ep, err, sizeof err) != 0) {
        fprintf(stderr, "export_check: the validation set: %s (T %d, the loop's %d)\n", err, T, MNET_SIM_STEPS);
        exit(2);
    }
    mnet_real *state = malloc((size_t)(T + 1) * S * N * sizeof *state);
    mnet_real *obs = malloc((size_t)T * I * N * sizeof *obs);
    mnet_real *output = malloc((size_t)T * M * N * sizeof *output);
    mnet_rollout ro = {state, NULL, obs, NULL};
    mnet_rollout_more more = {output, NULL, NULL};
    mnet_noise_key off = {0, 0, 0};
    double loss;
    if (mnet_train_eval_more(tr, &ep, &off, &ro, &more, &loss) != 0) {
        fprintf(stderr, "export_check: %s\n", mnet_train_error(tr));
        exit(2);
    }

    /* the recording (the float run, the JIT's effector) */
    int64_t sh[3];
    double *r_obs = read_tensor(rec, "obs", sh, 3);
    double *r_out = read_tensor(rec, "output", sh, 3);
    double *r_q = read_tensor(rec, "joint.q", sh, 3);
    double *r_pos = read_tensor(rec, "endpoint.pos", sh, 3);
    if (sh[0] != N || sh[1] != T + 1) {
        fprintf(stderr, "export_check: the recording has %d episodes of %d steps, the loop %d of %d\n",
                (int)sh[0], (int)sh[1] - 1, N, T);
        exit(2);
    }

    double table = 0, rt_abs = 0, rt_rel = 0, rec_abs = 0, rec_rel = 0, rec_pos = 0, dummy = 0;
    static mnet_sim L;
    for (int e = 0; e < N; e++) {
        real joint0[2 * MNET_SIM_N_DOF], goal[MNET_SIM_SPACE_DIM], rj[2 * MNET_SIM_N_DOF],
            rg[MNET_SIM_SPACE_DIM];
        int go, rgo = ep.go_step[e] > T ? -1 : ep.go_step[e];
        mnet_sim_validation(e, joint0, goal, &go);
        for (int j = 0; j < 2 * D; j++) {
            rj[j] = ep.joint0[j * ep.B + e];
            diff(joint0[j], CHECK_DOUBLE ? (double)(float)rj[j] : rj[j], &table, &dummy);
        }
        for (int i = 0; i < P; i++) {
            rg[i] = ep.goal[i * ep.B + e];
            diff(goal[i], CHECK_DOUBLE ? (double)(float)rg[i] : rg[i], &table, &dummy);
        }
        if (go != rgo)
            table = INFINITY;
        /* the runtime's own episode (in double its goals are double's) */
        mnet_sim_reset(&L, rj, rg, rgo);
        for (int i = 0; i < S; i++)
            diff(L.state[i], state[(size_t)i * N + e], &rt_abs, &rt_rel);
        for (int t = 0; t < T; t++) {
            mnet_sim_step(&L);
            for (int i = 0; i < I; i++) {
                diff(L.obs[i], obs[((size_t)t * I + i) * N + e], &rt_abs, &rt_rel);
                diff(L.obs[i], r_obs[((size_t)e * T + t) * I + i], &rec_abs, &rec_rel);
            }
            for (int k = 0; k < M; k++) {
                diff(L.action[k], output[((size_t)t * M + k) * N + e], &rt_abs, &rt_rel);
                diff(L.action[k], r_out[((size_t)e * T + t) * M + k], &rec_abs, &rec_rel);
            }
            for (int i = 0; i < S; i++)
                diff(L.state[i], state[((size_t)(t + 1) * S + i) * N + e], &rt_abs, &rt_rel);
            for (int j = 0; j < D; j++)
                diff(L.state[MNET_SIM_JOINT_OFFSET + j], r_q[((size_t)e * (T + 1) + t + 1) * D + j], &rec_abs,
                     &rec_rel);
            for (int i = 0; i < P; i++)
                diff(L.state[MNET_SIM_CARTESIAN_OFFSET + i], r_pos[((size_t)e * (T + 1) + t + 1) * P + i],
                     &rec_pos, &dummy);
        }
    }
    printf("closed loop (%s), %d episodes x %d steps: vs the runtime's rollout (%s, this effector): "
           "max abs %.3g, max rel %.3g; vs the recording (float, JIT): max abs %.3g, max rel %.3g, "
           "end point max abs %.3g m; validation table vs the runtime's set %.3g\n",
           CHECK_DOUBLE ? "double" : "float", N, T, CHECK_DOUBLE ? "double" : "float", rt_abs, rt_rel, rec_abs,
           rec_rel, rec_pos, table);
    check("closed loop: the validation table is the runtime's validation set", table, 0);
    check("closed loop: every obs, action and state row vs the runtime's rollout (relative to 1 + |value|)", rt_rel,
          CHECK_DOUBLE ? 1e-12 : 1e-5);
    if (!CHECK_DOUBLE)
        check("closed loop, float: obs, actions and joints vs mnet eval's recording (relative to 1 + |value|)",
              rec_rel, 1e-5);
    free(r_obs);
    free(r_out);
    free(r_q);
    free(r_pos);
    free(state);
    free(obs);
    free(output);
    mnet_episode_free(&ep);
    mnet_train_free(tr);
    free(values);
    free(params);
}
#endif

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: export_check EPISODES.safetensors WEIGHTS.safetensors\n");
        return 2;
    }
    char err[512];
    mnet_safetensors ep;
    if (mnet_safetensors_open(argv[1], &ep, err, sizeof err) != 0) {
        fprintf(stderr, "export_check: %s\n", err);
        return 2;
    }
    check_controller(&ep, argv[2]);
#ifdef MNET_SIM_N_STATE
    check_loop(&ep, argv[2]);
#endif
    mnet_safetensors_close(&ep);
    return failures ? 1 : 0;
}
