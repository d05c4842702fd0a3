/* mnet_probe.c - a trained network on a probe task, recorded (mnet_probe.h). */
#include "mnet_probe.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet_record.h"
#include "mnet_settings.h"
#include "mnet_validation.h"

int probe_parse(mnet_probe *p, int argc, char **argv, FILE *out)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--task") && v) {
            p->task = v;
            i++;
        } else if (!strcmp(a, "--set") && v) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) {
                fprintf(out, "mnet: --set takes NAME=VALUE, not '%s'\n", v);
                return -1;
            }
            if (p->n_sets == MNET_PROBE_MAX_SETS) {
                fprintf(out, "mnet: at most %d --set options\n", MNET_PROBE_MAX_SETS);
                return -1;
            }
            /* the name is a copy (argv is the caller's); probe_free */
            char *name = strndup(v, (size_t)(eq - v));
            if (!name) {
                fprintf(out, "mnet: out of memory\n");
                return -1;
            }
            p->set_name[p->n_sets] = name;
            p->set_value[p->n_sets++] = eq + 1;
            i++;
        } else if (!strcmp(a, "--episodes") && v) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (*end || end == v || errno || n < 1 || n > 100000000) {
                fprintf(out, "mnet: --episodes takes a whole number from 1 to 100000000, not '%s'\n", v);
                return -1;
            }
            p->episodes = n;
            i++;
        } else if (!strcmp(a, "--seed") && v) {
            char *end;
            p->seed = strtod(v, &end);
            if (*end || end == v || !(p->seed >= 0) || p->seed != floor(p->seed) || p->seed > 9007199254740992.0) {
                fprintf(out, "mnet: --seed takes a whole number >= 0, not '%s'\n", v);
                return -1;
            }
            p->have_seed = 1;
            i++;
        } else if (!strcmp(a, "--out") && v) {
            p->out = v;
            i++;
        } else if (a[0] == '-') {
            fprintf(out, "mnet: unknown or incomplete option '%s'\n", a);
            return -1;
        } else if (!p->file) {
            p->file = a;
        } else {
            fprintf(out, "mnet: more than one model file ('%s' and '%s')\n", p->file, a);
            return -1;
        }
    }
    if (p->task && !p->file) {
        fprintf(out, "mnet: --task names a task of a FILE.mnet given with it\n");
        return -1;
    }
    return 0;
}

void probe_free(mnet_probe *p)
{
    for (int i = 0; i < p->n_sets; i++)
        free((char *)p->set_name[i]);
    p->n_sets = 0;
}

/* The observation's sections, for a refusal that says which rows differ. */
static void describe_obs(const mnet_obs *o, char *buf, size_t n)
{
    snprintf(buf, n, "goal %d, go %d, vision %d (delay %d steps), proprioception %d (delay %d steps), actions %d",
             o->space_dim, o->go_row >= 0 ? 1 : 0, o->space_dim, o->d_vision, 2 * o->n_muscles, o->d_proprio,
             o->n_frames * o->n_muscles);
}

static int network_fits(const mnet_train *trained, const mnet_train *probe, FILE *out)
{
    const mnet_nn_config *a = &trained->nn.cfg, *b = &probe->nn.cfg;
    if (a->n_input == b->n_input && a->n_output == b->n_output && a->n_hidden == b->n_hidden &&
        a->n_layers == b->n_layers && a->cell == b->cell && a->readout == b->readout &&
        a->candidate == b->candidate && a->learn_h0 == b->learn_h0 &&
        trained->n_params == probe->n_params)
        return 1;
    char da[256], db[256];
    describe_obs(&trained->obs, da, sizeof da);
    describe_obs(&probe->obs, db, sizeof db);
    fprintf(out,
            "mnet: the probe task does not fit the trained network: its observation has %d rows (%s) and its "
            "effector %d muscles; the network takes %d inputs (%s) and drives %d muscles\n",
            b->n_input, db, b->n_output, a->n_input, da, a->n_output);
    return 0;
}

/* Physical memory, for refusing a recording that cannot fit. */
static double memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 8e9;
}

int session_probe(mnet_session *s, const mnet_probe *p, FILE *out)
{
    if (!s->loaded || !s->tr) {
        fprintf(out, "mnet: no trained network (open a checkpoint, or load and train)\n");
        return 1;
    }
    char err[1024];
    int status = 1;
    mnet_run other;
    memset(&other, 0, sizeof other);
    mnet_run *run = &s->run;
    if (p->file) {
        mnet_compile_options o = {.path = p->file, .task = p->task};
        int rc = mnet_run_open(&other, &o, s->backend, out, err, sizeof err);
        if (rc) {
            if (rc == 2)
                fprintf(out, "mnet: %s\n", err);
            mnet_run_close(&other);
            return 1;
        }
        run = &other;
    }
    const mnet_model *m = run->model;
    mnet_task_config cfg = run->cfg;
    /* the network is the trained one, whatever the probe task says */
    cfg.cell = s->run.cfg.cell;
    cfg.n_hidden = s->run.cfg.n_hidden;
    cfg.n_layers = s->run.cfg.n_layers;
    cfg.ortho = s->run.cfg.ortho;
    cfg.readout_bias = s->run.cfg.readout_bias;
    cfg.readout = s->run.cfg.readout;
    cfg.candidate = s->run.cfg.candidate;
    cfg.learn_h0 = s->run.cfg.learn_h0;
    cfg.modular = s->run.cfg.modular; /* masks, and the delays the forward needs */
    cfg.spectral_radius = s->run.cfg.spectral_radius;
    double *values = malloc(((size_t)m->n_params + 1) * sizeof *values);
    mnet_real *params = malloc(((size_t)m->n_params + 1) * sizeof *params);
    mnet_train *tr = NULL;
    mnet_episode ep;
    memset(&ep, 0, sizeof ep);
    char *run_text = NULL;
    if (!values || !params) {
        fprintf(out, "mnet: out of memory\n");
        goto done;
    }
    memcpy(values, run->param_values, (size_t)m->n_params * sizeof *values);
    for (int k = 0; k < p->n_sets; k++) {
        const char *name = p->set_name[k], *text = p->set_value[k];
        if (mnet_run_param_index(run, name) < 0 && !strncmp(name, "policy", 6)) {
            fprintf(out, "mnet: --set %s: the network is the trained one (its policy settings cannot change)\n", name);
            goto done;
        }
        if (mnet_run_apply(run, &cfg, values, name, text, err, sizeof err) != 0) {
            fprintf(out, "mnet: --set %s=%s: %s\n", name, text, err);
            goto done;
        }
    }
    if (p->have_seed)
        cfg.seed = (uint64_t)p->seed;
    if (mnet_task_check(&cfg, m, err, sizeof err) != 0) {
        fprintf(out, "mnet: the probe task: %s\n", err);
        goto done;
    }
    for (int i = 0; i < m->n_params; i++)
        params[i] = (mnet_real)values[i];
    tr = mnet_train_new(m, params, &cfg, err, sizeof err);
    if (!tr) {
        fprintf(out, "mnet: %s\n", err);
        goto done;
    }
    if (!network_fits(s->tr, tr, out))
        goto done;
    memcpy(tr->params, s->tr->params, tr->n_params * sizeof *tr->params);
    /* the episodes: the validation set (no noise), or N drawn as in
     * training from the seed (with the task's noise) */
    long N = p->episodes ? p->episodes : mnet_task_validation_size(&cfg, cfg.batch_size);
    int n_int = N < 2147483647L ? (int)N : 2147483647;
    size_t rec = p->out ? mnet_record_memory(tr, n_int) : 0;
    double need = (p->out && rec == 0 ? HUGE_VAL : (double)rec) +
                  (double)N * (tr->T + 2) * (2.0 * tr->P + 1) * sizeof(mnet_real) * 2;
    if (need > memory_bytes() / 2) {
        fprintf(out, "mnet: %ld episodes of %d steps need about %.3g GB, more than half of this machine's %.3g GB: "
                     "record fewer (--episodes)\n",
                N, tr->T, need / 1e9, memory_bytes() / 1e9);
        goto done;
    }
    if (mnet_episode_alloc(&ep, m, (int)N, tr->T, err, sizeof err) != 0) {
        fprintf(out, "mnet: %s\n", err);
        goto done;
    }
    int drawn = p->episodes > 0;
    if (mnet_task_generate(&cfg, m, params, !drawn, cfg.seed, 0, (int)N, &ep, err, sizeof err) != 0) {
        fprintf(out, "mnet: %s\n", err);
        goto done;
    }
    mnet_noise_key nz = {cfg.seed, 0, drawn};
    double loss = NAN;
    mnet_rollout ro;
    memset(&ro, 0, sizeof ro);
    if (mnet_train_eval(tr, &ep, &nz, &ro, &loss) != 0) {
        fprintf(out, "mnet: %s\n", mnet_train_error(tr));
        goto done;
    }
    if (p->out) {
        run_text = mnet_run_text_alloc(&cfg, m, values);
        char batches[32];
        snprintf(batches, sizeof batches, "%ld", session_batches(s));
        const char *meta[] = {"run", run_text ? run_text : "", "task", run->task_name, "effector", m->name,
                              "episodes", drawn ? "drawn" : "validation", "trained_batches", batches, NULL};
        if (mnet_record_episodes(tr, &ep, &nz, meta, p->out, err, sizeof err) != 0) {
            fprintf(out, "mnet: %s\n", err);
            goto done;
        }
    }
    fprintf(out, "eval: %ld %s episodes of task %s, mean loss %.6f (after %ld batches)%s%s\n", N,
            drawn ? "drawn" : "validation", run->task_name, loss, session_batches(s), p->out ? "; wrote " : "",
            p->out ? p->out : "");
    status = 0;
done:
    free(run_text);
    mnet_episode_free(&ep);
    mnet_train_free(tr);
    free(values);
    free(params);
    if (p->file)
        mnet_run_close(&other);
    return status;
}
