/* settings.c - the run's settings by name (mnet_settings.h): the
 * defaults, the name tables, the settings table and its checks.
 *
 * Nothing here depends on the precision of mnet_real: the compiler's task
 * checker links this object as it is, and so do both runtimes (run_text.c,
 * which reads parameter values, is the runtime's own). */
#include "mnet_settings.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- name tables -------------------------------------------------------- */

const mnet_name mnet_task_kind_names[] = {
    {"random_target_reach", MNET_TASK_RANDOM_REACH},
    {"centre_out_reach", MNET_TASK_CENTRE_OUT},
    {"delayed_reach", MNET_TASK_DELAYED_REACH},
    {NULL, 0},
};
const mnet_name mnet_cell_names[] = {
    {"gru", MNET_NN_GRU}, {"rnn", MNET_NN_RNN}, {"mlp", MNET_NN_MLP}, {"lstm", MNET_NN_LSTM}, {NULL, 0},
};
const mnet_name mnet_readout_names[] = {
    {"sigmoid", MNET_NN_READOUT_SIGMOID}, {"linear", MNET_NN_READOUT_LINEAR}, {"relu", MNET_NN_READOUT_RELU},
    {NULL, 0},
};
const mnet_name mnet_candidate_names[] = {
    {"tanh", MNET_NN_CANDIDATE_TANH}, {"rectified_tanh", MNET_NN_CANDIDATE_RECTIFIED_TANH}, {NULL, 0},
};
const mnet_name mnet_initial_state_names[] = {
    {"zero", 0}, {"learned", 1}, {NULL, 0},
};
const mnet_name mnet_ortho_names[] = {
    {"stacked", MNET_NN_ORTHO_STACKED}, {"block", MNET_NN_ORTHO_BLOCK}, {NULL, 0},
};
const mnet_name mnet_sched_names[] = {
    {"constant", MNET_SCHED_CONSTANT}, {"step", MNET_SCHED_STEP}, {"cosine", MNET_SCHED_COSINE}, {NULL, 0},
};
const mnet_name mnet_loss_kind_names[] = {
    {"position_l1", MNET_LOSS_POSITION_L1},     {"position_l2", MNET_LOSS_POSITION_L2},
    {"speed", MNET_LOSS_SPEED},                 {"jerk", MNET_LOSS_JERK},
    {"activation_l2", MNET_LOSS_ACTIVATION_L2}, {"muscle_force", MNET_LOSS_MUSCLE_FORCE},
    {"hidden_l2", MNET_LOSS_HIDDEN_L2},         {NULL, 0},
};

const mnet_name mnet_obs_part_names[] = {
    {"goal", MNET_OBS_GOAL},     {"go", MNET_OBS_GO},         {"vision", MNET_OBS_VISION},
    {"proprioception", MNET_OBS_PROPRIO}, {"actions", MNET_OBS_ACTIONS}, {NULL, 0},
};

int mnet_name_lookup(const mnet_name *t, const char *name, int *value)
{
    for (; name && t->name; t++)
        if (!strcmp(t->name, name)) {
            *value = t->value;
            return 0;
        }
    return -1;
}

const char *mnet_name_of(const mnet_name *t, int value)
{
    for (; t->name; t++)
        if (t->value == value)
            return t->name;
    return NULL;
}

void mnet_name_list(const mnet_name *t, char *buf, size_t n)
{
    size_t at = 0;
    if (n)
        buf[0] = 0;
    for (; t->name && at < n; t++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s", at ? ", " : "", t->name);
}

mnet_task_config mnet_task_config_default(void)
{
    mnet_task_config c;
    memset(&c, 0, sizeof c);
    c.kind = MNET_TASK_RANDOM_REACH;
    c.duration = 1.0;
    c.proprio_delay = 0;
    c.vision_delay = 0;
    c.exact_delays = 0;
    c.action_frames = 0;
    c.go_cue_lo = 0.05;
    c.go_cue_hi = 0.25;
    c.catch_fraction = 0.5;
    c.validation.distance = 0.1;
    c.validation.every = 15 * 3.14159265358979323846 / 180;
    c.n_losses = 1;
    c.loss[0] = (mnet_loss_term){MNET_LOSS_POSITION_L1, 1.0, 0.0, 0, ""};
    c.cell = MNET_NN_GRU;
    c.n_hidden = 128;
    c.n_layers = 1;
    c.ortho = MNET_NN_ORTHO_STACKED;
    c.readout_bias = -5.0;
    c.batch_size = 32;
    c.n_batches = 10000;
    c.lr = 1e-3;
    c.clip_norm = 1.0;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.sched.kind = MNET_SCHED_CONSTANT;
    c.sched.gamma = 0.1;
    c.seed = 1;
    return c;
}

/* ---- loss terms by name ----------------------------------------------- */

const char *mnet_loss_name(const mnet_model *m, const mnet_loss_term *term)
{
    if (term->name[0])
        return term->name;
    if (term->kind == MNET_LOSS_COMPILED)
        return m && term->compiled >= 0 && term->compiled < m->n_loss && m->loss_names
                   ? m->loss_names[term->compiled]
                   : "compiled";
    const char *name = mnet_name_of(mnet_loss_kind_names, (int)term->kind);
    return name ? name : "loss";
}

int mnet_task_resolve_loss(mnet_loss_term *term, const mnet_model *m, char *err, size_t n)
{
    const char *name = mnet_loss_name(NULL, term);
    if ((int)term->kind < 0 || term->kind > MNET_LOSS_COMPILED) {
        if (err && n)
            snprintf(err, n, "loss '%s' has an unknown kind (%d)", name, (int)term->kind);
        return -1;
    }
    if (!term->name[0]) { /* given by kind (and row): taken as it is */
        if (term->kind != MNET_LOSS_COMPILED || (term->compiled >= 0 && term->compiled < m->n_loss))
            return 0;
        if (err && n)
            snprintf(err, n, "loss term asks for compiled row %d of a model that has %d", term->compiled, m->n_loss);
        return -1;
    }
    int kind;
    int builtin = mnet_name_lookup(mnet_loss_kind_names, name, &kind) == 0;
    /* the model's compiled row of that name, when the term has no
     * derivative weight (a row is a per-step value) */
    for (int k = 0; term->deriv_weight == 0 && m->loss && m->loss_names && k < m->n_loss; k++)
        if (m->loss_names[k] && !strcmp(m->loss_names[k], name)) {
            term->kind = MNET_LOSS_COMPILED;
            term->compiled = k;
            return 0;
        }
    if (builtin) {
        term->kind = (mnet_loss_kind)kind;
        term->compiled = 0;
        return 0;
    }
    if (err && n)
        snprintf(err, n,
                 "loss '%s' is a term of your own that model '%s' does not compute%s (its value is compiled "
                 "from the .mnet task that writes it)",
                 name, m->name ? m->name : "?", term->deriv_weight != 0 ? " with a derivative weight" : "");
    return -1;
}

/* ---- the table ----------------------------------------------------------- */

#define OFF(f) offsetof(mnet_task_config, f)
#define INF HUGE_VAL
#define LO MNET_SETTING_LO_OPEN
#define HI MNET_SETTING_HI_OPEN
#define RESHAPE MNET_SETTING_RESHAPES

/* name, type, offset, max_count, count_offset, names, lo, hi, flags, unit, doc */
static const mnet_setting settings[] = {
    {"kind", MNET_SETTING_NAME, OFF(kind), 1, 0, mnet_task_kind_names, 0, 0, 0, "", "what the task trains"},
    {"duration", MNET_SETTING_REAL, OFF(duration), 1, 0, NULL, 0, INF, LO, "s", "episode length"},
    {"delay.proprioception", MNET_SETTING_REAL, OFF(proprio_delay), 1, 0, NULL, 0, INF, 0, "s",
     "proprioceptive delay (under one step: one step)"},
    {"delay.vision", MNET_SETTING_REAL, OFF(vision_delay), 1, 0, NULL, 0, INF, 0, "s",
     "visual delay (under one step: one step)"},
    {"exact_delays", MNET_SETTING_INT, OFF(exact_delays), 1, 0, NULL, 0, 1, 0, "",
     "1: a delay of d steps is exactly d steps old (0: the reference's d-1)"},
    {"action_frames", MNET_SETTING_INT, OFF(action_frames), 1, 0, NULL, 0, 64, RESHAPE, "",
     "last actions fed back as input"},
    {"noise.action", MNET_SETTING_REAL, OFF(action_noise), 1, 0, NULL, 0, INF, 0, "", "sd on the network's output"},
    {"noise.proprioception", MNET_SETTING_REAL, OFF(proprio_noise), 1, 0, NULL, 0, INF, 0, "",
     "sd on proprioception"},
    {"noise.vision", MNET_SETTING_REAL, OFF(vision_noise), 1, 0, NULL, 0, INF, 0, "", "sd on vision"},
    {"noise.observation", MNET_SETTING_REAL, OFF(obs_noise), 1, 0, NULL, 0, INF, 0, "",
     "sd on the observation (goal rows excepted)"},
    {"noise.hidden", MNET_SETTING_REAL, OFF(hidden_noise), 1, 0, NULL, 0, INF, 0, "",
     "sd on the hidden pre-activation"},
    {"go_cue", MNET_SETTING_RANGE, OFF(go_cue_lo), 2, 0, NULL, 0, INF, 0, "s",
     "[earliest, latest] go cue (centre-out, delayed reach)"},
    {"catch_fraction", MNET_SETTING_REAL, OFF(catch_fraction), 1, 0, NULL, 0, 1, 0, "",
     "fraction of catch trials (centre-out, delayed reach)"},
    {"validation.distance", MNET_SETTING_REAL, OFF(validation.distance), 1, 0, NULL, 0, INF, LO, "m",
     "validation reach length"},
    {"validation.every", MNET_SETTING_REAL, OFF(validation.every), 1, 0, NULL, 0, 2 * 3.14159265358979323846, LO,
     "rad", "angle between validation directions"},
    {"validation.centre", MNET_SETTING_VECTOR, OFF(validation.centre), MNET_TASK_MAX_DOF, OFF(validation.n_centre),
     NULL, -INF, INF, 0, "", "workspace centre as a joint position ([]: the middle of the joint range)"},
    {"load.endpoint", MNET_SETTING_VECTOR, OFF(endpoint_load), MNET_TASK_MAX_SPACE, 0, NULL, -INF, INF, 0, "N",
     "constant end point force"},
    {"load.joint", MNET_SETTING_VECTOR, OFF(joint_load), MNET_TASK_MAX_DOF, 0, NULL, -INF, INF, 0, "Nm",
     "constant joint torques"},
    {"load.curl", MNET_SETTING_REAL, OFF(curl), 1, 0, NULL, -INF, INF, 0, "", "curl field strength (N s/m)"},
    {"force_channel.stiffness", MNET_SETTING_REAL, OFF(channel_stiffness), 1, 0, NULL, 0, INF, 0, "",
     "force channel spring (N/m)"},
    {"force_channel.damping", MNET_SETTING_REAL, OFF(channel_damping), 1, 0, NULL, 0, INF, 0, "",
     "force channel damper (N s/m)"},
    {"policy", MNET_SETTING_NAME, OFF(cell), 1, 0, mnet_cell_names, 0, 0, RESHAPE, "", "network cell"},
    {"policy.hidden", MNET_SETTING_INT, OFF(n_hidden), 1, 0, NULL, 1, 65536, RESHAPE, "", "units per layer"},
    {"policy.layers", MNET_SETTING_INT, OFF(n_layers), 1, 0, NULL, 1, 8, RESHAPE, "", "stacked layers"},
    {"policy.init", MNET_SETTING_NAME, OFF(ortho), 1, 0, mnet_ortho_names, 0, 0, RESHAPE, "",
     "orthogonal recurrent init: stacked (PyTorch) or block (per gate)"},
    {"policy.readout_bias", MNET_SETTING_REAL, OFF(readout_bias), 1, 0, NULL, -INF, INF, RESHAPE, "",
     "initial read-out bias"},
    {"policy.readout", MNET_SETTING_NAME, OFF(readout), 1, 0, mnet_readout_names, 0, 0, RESHAPE, "",
     "read-out nonlinearity: sigmoid (the reference), linear or relu"},
    {"policy.candidate", MNET_SETTING_NAME, OFF(candidate), 1, 0, mnet_candidate_names, 0, 0, RESHAPE, "",
     "candidate activation of the gru, rnn and mlp: tanh or rectified_tanh (max(0, tanh))"},
    {"policy.initial_state", MNET_SETTING_NAME, OFF(learn_h0), 1, 0, mnet_initial_state_names, 0, 0, RESHAPE,
     "", "the state before the first step: zero, or learned (a trained parameter)"},
    {"policy.spectral_radius", MNET_SETTING_REAL, OFF(spectral_radius), 1, 0, NULL, 0, INF, RESHAPE, "",
     "recurrent init: each gate block's largest |eigenvalue| (0: off, the orthogonal init as it is)"},
    {"train.batch", MNET_SETTING_INT, OFF(batch_size), 1, 0, NULL, 1, 1 << 20, 0, "", "episodes per batch"},
    {"train.batches", MNET_SETTING_LONG, OFF(n_batches), 1, 0, NULL, 0, 1e9, 0, "",
     "length of the run (schedules follow it)"},
    {"train.slice", MNET_SETTING_INT, OFF(batch_slice), 1, 0, NULL, 0, 1 << 20, 0, "",
     "columns per slice of the batch, summed in order (0: from the batch size)"},
    {"train.threads", MNET_SETTING_INT, OFF(threads), 1, 0, NULL, 0, 1024, MNET_SETTING_NOT_RUN, "",
     "threads (0: the machine's cores); not part of the run: every count gives the same numbers"},
    {"train.lr", MNET_SETTING_REAL, OFF(lr), 1, 0, NULL, 0, INF, LO, "", "learning rate"},
    {"train.clip_norm", MNET_SETTING_REAL, OFF(clip_norm), 1, 0, NULL, 0, INF, 0, "",
     "gradient norm clipping (0: none)"},
    {"train.weight_decay", MNET_SETTING_REAL, OFF(weight_decay), 1, 0, NULL, 0, INF, 0, "", "weight decay"},
    {"train.decoupled_decay", MNET_SETTING_INT, OFF(decoupled_decay), 1, 0, NULL, 0, 1, 0, "",
     "1: AdamW's decoupled decay (0: Adam's L2)"},
    {"train.beta1", MNET_SETTING_REAL, OFF(beta1), 1, 0, NULL, 0, 1, HI, "", "Adam's first moment decay"},
    {"train.beta2", MNET_SETTING_REAL, OFF(beta2), 1, 0, NULL, 0, 1, HI, "", "Adam's second moment decay"},
    {"train.eps", MNET_SETTING_REAL, OFF(eps), 1, 0, NULL, 0, INF, LO, "", "Adam's epsilon"},
    {"train.schedule", MNET_SETTING_NAME, OFF(sched.kind), 1, 0, mnet_sched_names, 0, 0, 0, "",
     "learning-rate schedule"},
    {"train.step_every", MNET_SETTING_LONG, OFF(sched.step_size), 1, 0, NULL, 0, 1e9, 0, "",
     "step schedule: batches between steps (0: a third of the run)"},
    {"train.step_factor", MNET_SETTING_REAL, OFF(sched.gamma), 1, 0, NULL, 0, 1, LO, "",
     "step schedule: lr factor per step"},
    {"train.min_lr", MNET_SETTING_REAL, OFF(sched.eta_min), 1, 0, NULL, 0, INF, 0, "",
     "cosine schedule: lr at the end of the run"},
    {"train.seed", MNET_SETTING_SEED, OFF(seed), 1, 0, NULL, 0, 9007199254740992.0, 0, "",
     "network init, episodes and noise"},
};

enum { N_SETTINGS = sizeof settings / sizeof settings[0] };

int mnet_setting_count(void) { return N_SETTINGS; }

const mnet_setting *mnet_setting_at(int i) { return i >= 0 && i < N_SETTINGS ? &settings[i] : NULL; }

static void fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t n, const char *fmt, ...)
{
    if (!err || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

const mnet_setting *mnet_setting_find(const char *name, char *err, size_t n)
{
    for (int i = 0; i < N_SETTINGS; i++)
        if (!strcmp(settings[i].name, name))
            return &settings[i];
    const mnet_setting *hit = NULL;
    char cands[512] = "";
    int n_hits = 0;
    if (!strchr(name, '.'))
        for (int i = 0; i < N_SETTINGS; i++) {
            const char *dot = strrchr(settings[i].name, '.');
            if (dot && !strcmp(dot + 1, name)) {
                hit = &settings[i];
                size_t at = strlen(cands);
                snprintf(cands + at, sizeof cands - at, "%s%s", n_hits++ ? " or " : "", settings[i].name);
            }
        }
    if (n_hits == 1)
        return hit;
    if (n_hits > 1)
        fail(err, n, "'%s' is ambiguous: %s", name, cands);
    else
        fail(err, n, "unknown setting '%s' (show lists the settings)", name);
    return NULL;
}

static int is_whole(const mnet_setting *s)
{
    return s->type == MNET_SETTING_INT || s->type == MNET_SETTING_LONG || s->type == MNET_SETTING_SEED;
}

/* The range as text: "> 0", "from 0 to 1", "in [0, 1)". */
static void range_text(const mnet_setting *s, char *buf, size_t n)
{
    int lo_inf = isinf(s->lo), hi_inf = isinf(s->hi);
    const char *ge = s->flags & LO ? ">" : ">=", *le = s->flags & HI ? "<" : "<=";
    if (lo_inf && hi_inf)
        snprintf(buf, n, "finite");
    else if (hi_inf)
        snprintf(buf, n, "%s %.15g", ge, s->lo);
    else if (lo_inf)
        snprintf(buf, n, "%s %.15g", le, s->hi);
    else
        snprintf(buf, n, "%s %.15g and %s %.15g", ge, s->lo, le, s->hi);
}

/* Checks one value of s; 0 or -1 with a message. */
static int check_value(const mnet_setting *s, double v, char *err, size_t n)
{
    char range[96];
    range_text(s, range, sizeof range);
    int ok = isfinite(v) && (s->flags & LO ? v > s->lo : v >= s->lo) && (s->flags & HI ? v < s->hi : v <= s->hi);
    if (ok && is_whole(s) && v != floor(v)) {
        fail(err, n, "%s must be a whole number (got %.17g)", s->name, v);
        return -1;
    }
    if (!ok) {
        fail(err, n, "%s must be %s%s (got %.17g)", s->name, is_whole(s) ? "a whole number " : "", range, v);
        return -1;
    }
    return 0;
}

static void *field(mnet_task_config *c, size_t off) { return (char *)c + off; }
static const void *cfield(const mnet_task_config *c, size_t off) { return (const char *)c + off; }

int mnet_setting_set(mnet_task_config *cfg, const mnet_setting *s, const double *v, int nv, const char *name,
                     char *err, size_t n)
{
    if (s->type == MNET_SETTING_NAME) {
        int value;
        if (!name || mnet_name_lookup(s->names, name, &value) != 0) {
            char list[256];
            mnet_name_list(s->names, list, sizeof list);
            fail(err, n, "%s must be one of %s (got '%s')", s->name, list, name ? name : "a number");
            return -1;
        }
        *(int *)field(cfg, s->offset) = value;
        return 0;
    }
    if (name) {
        fail(err, n, "%s takes a number, not the name '%s'", s->name, name);
        return -1;
    }
    int want = s->type == MNET_SETTING_RANGE ? 2 : 1;
    if (s->type == MNET_SETTING_VECTOR ? nv > s->max_count : nv != want) {
        if (s->type == MNET_SETTING_VECTOR)
            fail(err, n, "%s takes at most %d values (got %d)", s->name, s->max_count, nv);
        else if (want == 2)
            fail(err, n, "%s is a range [earliest, latest] (got %d value%s)", s->name, nv, nv == 1 ? "" : "s");
        else
            fail(err, n, "%s takes one value (got %d)", s->name, nv);
        return -1;
    }
    for (int k = 0; k < nv; k++)
        if (check_value(s, v[k], err, n) != 0)
            return -1;
    switch (s->type) {
    case MNET_SETTING_REAL: *(double *)field(cfg, s->offset) = v[0]; break;
    case MNET_SETTING_INT: *(int *)field(cfg, s->offset) = (int)v[0]; break;
    case MNET_SETTING_LONG: *(long *)field(cfg, s->offset) = (long)v[0]; break;
    case MNET_SETTING_SEED: *(uint64_t *)field(cfg, s->offset) = (uint64_t)v[0]; break;
    case MNET_SETTING_RANGE:
        if (!(v[0] <= v[1])) {
            fail(err, n, "%s range must satisfy earliest <= latest (got [%.17g, %.17g])", s->name, v[0], v[1]);
            return -1;
        }
        memcpy(field(cfg, s->offset), v, 2 * sizeof(double));
        break;
    default: { /* VECTOR */
        double *dst = field(cfg, s->offset);
        for (int k = 0; k < s->max_count; k++)
            dst[k] = k < nv ? v[k] : 0;
        if (s->count_offset)
            *(int *)field(cfg, s->count_offset) = nv;
        break;
    }
    }
    return 0;
}

/* The values of s in cfg: count, and the doubles. */
static int values_of(const mnet_task_config *cfg, const mnet_setting *s, double *v)
{
    switch (s->type) {
    case MNET_SETTING_REAL: v[0] = *(const double *)cfield(cfg, s->offset); return 1;
    case MNET_SETTING_INT:
    case MNET_SETTING_NAME: v[0] = *(const int *)cfield(cfg, s->offset); return 1;
    case MNET_SETTING_LONG: v[0] = (double)*(const long *)cfield(cfg, s->offset); return 1;
    case MNET_SETTING_SEED: v[0] = (double)*(const uint64_t *)cfield(cfg, s->offset); return 1;
    case MNET_SETTING_RANGE: memcpy(v, cfield(cfg, s->offset), 2 * sizeof(double)); return 2;
    default: {
        int count = s->count_offset ? *(const int *)cfield(cfg, s->count_offset) : s->max_count;
        if (count < 0 || count > s->max_count)
            count = s->max_count;
        memcpy(v, cfield(cfg, s->offset), (size_t)count * sizeof(double));
        return count;
    }
    }
}

int mnet_setting_format(const mnet_task_config *cfg, const mnet_setting *s, char *buf, size_t n)
{
    if (s->type == MNET_SETTING_NAME) {
        const char *name = mnet_name_of(s->names, *(const int *)cfield(cfg, s->offset));
        return snprintf(buf, n, "%s", name ? name : "?");
    }
    if (s->type == MNET_SETTING_SEED)
        return snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)cfield(cfg, s->offset));
    if (s->type == MNET_SETTING_LONG)
        return snprintf(buf, n, "%ld", *(const long *)cfield(cfg, s->offset));
    double v[MNET_TASK_MAX_DOF > 2 ? MNET_TASK_MAX_DOF : 2];
    int count = values_of(cfg, s, v), at = 0;
    if (n)
        buf[0] = 0;
    /* a vector without a count field writes its trailing zeros too: its
     * length is the model's, which the text does not know */
    for (int k = 0; k < count; k++) {
        int w = snprintf(n > (size_t)at ? buf + at : NULL, n > (size_t)at ? n - (size_t)at : 0, "%s%.17g",
                         k ? " " : "", v[k]);
        if (w < 0)
            return -1;
        at += w;
    }
    return at;
}

int mnet_setting_loss_index(const mnet_task_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_losses; i++)
        if (!strcmp(mnet_loss_name(NULL, &cfg->loss[i]), name))
            return i;
    return -1;
}

int mnet_setting_set_loss(mnet_task_config *cfg, const char *name, const char *fieldname, double v, char *err,
                          size_t n)
{
    int is_weight = !strcmp(fieldname, "weight");
    if (!is_weight && strcmp(fieldname, "derivative") != 0) {
        fail(err, n, "a loss term has a weight and a derivative, not '%s'", fieldname);
        return -1;
    }
    if (!isfinite(v) || v < 0) {
        fail(err, n, "loss.%s.%s must be a finite number >= 0 (got %.17g)", name, fieldname, v);
        return -1;
    }
    int i = mnet_setting_loss_index(cfg, name);
    if (i < 0) {
        int kind;
        if (mnet_name_lookup(mnet_loss_kind_names, name, &kind) != 0) {
            char list[256];
            mnet_name_list(mnet_loss_kind_names, list, sizeof list);
            fail(err, n,
                 "the run has no loss term '%s' (add a built-in one: %s; a term of your own needs its value "
                 "written in the .mnet file)",
                 name, list);
            return -1;
        }
        if (cfg->n_losses >= MNET_TASK_MAX_LOSSES) {
            fail(err, n, "at most %d loss terms", MNET_TASK_MAX_LOSSES);
            return -1;
        }
        i = cfg->n_losses++;
        memset(&cfg->loss[i], 0, sizeof cfg->loss[i]);
        cfg->loss[i].kind = (mnet_loss_kind)kind;
        snprintf(cfg->loss[i].name, sizeof cfg->loss[i].name, "%s", name);
    }
    if (is_weight)
        cfg->loss[i].weight = v;
    else
        cfg->loss[i].deriv_weight = v;
    return 0;
}

static int in_unit(double p) { return p >= 0 && p <= 1; } /* NaN fails */

int mnet_modular_check(const mnet_task_config *cfg, char *err, size_t n)
{
    const mnet_nn_modular *md = &cfg->modular;
    const int M = md->n_modules;
    if (M == 0)
        return 0;
    if (M < 0 || M > MNET_NN_MAX_MODULES) {
        fail(err, n, "modular network: %d modules (1 to %d)", M, MNET_NN_MAX_MODULES);
        return -1;
    }
    if (cfg->cell != MNET_NN_GRU && cfg->cell != MNET_NN_RNN) {
        fail(err, n, "modular network: modules need a gru or rnn policy (got %s)",
             mnet_name_of(mnet_cell_names, (int)cfg->cell) ? mnet_name_of(mnet_cell_names, (int)cfg->cell) : "?");
        return -1;
    }
    if (cfg->n_layers != 1) {
        fail(err, n, "modular network: modules need one layer (policy.layers is %d)", cfg->n_layers);
        return -1;
    }
    long total = 0;
    int readout = 0;
    for (int m = 0; m < M; m++) {
        const char *nm = md->name[m];
        if (!memchr(nm, 0, MNET_NN_NAME) || !nm[0] || strchr(nm, ' ') || strchr(nm, '.') || strchr(nm, '=')) {
            fail(err, n, "modular network: module %d has no name, or a bad one", m);
            return -1;
        }
        for (int a = 0; a < m; a++)
            if (!strcmp(md->name[a], nm)) {
                fail(err, n, "modular network: module '%s' is given twice", nm);
                return -1;
            }
        if (md->size[m] < 1) {
            fail(err, n, "module '%s': size %d (at least 1 unit)", nm, md->size[m]);
            return -1;
        }
        total += md->size[m];
        if (md->excitatory[m] != md->excitatory[m] || md->excitatory[m] > 1) {
            fail(err, n, "module '%s': excitatory proportion %g is outside [0, 1]", nm, md->excitatory[m]);
            return -1;
        }
        readout |= md->drives_readout[m] != 0;
        for (int a = 0; a < M; a++) {
            if (!in_unit(md->frac[m][a]) || !in_unit(md->p[m][a])) {
                fail(err, n, "connection '%s' -> '%s': fraction %g and probability %g must lie in [0, 1]",
                     md->name[a], nm, md->frac[m][a], md->p[m][a]);
                return -1;
            }
            if (md->delay_steps[m][a] < 0 || !(md->delay_time[m][a] >= 0 && md->delay_time[m][a] < 1e6)) {
                fail(err, n, "connection '%s' -> '%s': delay of %d steps and %g s (both 0 or more)", md->name[a], nm,
                     md->delay_steps[m][a], md->delay_time[m][a]);
                return -1;
            }
            if (md->delay_time[m][a] > 0 && cfg->duration > 0 && md->delay_time[m][a] >= cfg->duration) {
                fail(err, n, "connection '%s' -> '%s': a delay of %g s is not shorter than the episode (%g s)",
                     md->name[a], nm, md->delay_time[m][a], cfg->duration);
                return -1;
            }
        }
    }
    if (total != cfg->n_hidden) {
        fail(err, n, "modular network: the module sizes add up to %ld, but policy.hidden is %d", total,
             cfg->n_hidden);
        return -1;
    }
    if (!readout) {
        fail(err, n, "modular network: no module drives the read-out (add 'readout NAME;')");
        return -1;
    }
    if (md->n_sources < 0 || md->n_sources > MNET_NN_MAX_SOURCES) {
        fail(err, n, "modular network: %d input sources (0 to %d)", md->n_sources, MNET_NN_MAX_SOURCES);
        return -1;
    }
    int last = -1;
    for (int s = 0; s < md->n_sources; s++) {
        int part;
        const char *sn = md->source_name[s];
        if (!memchr(sn, 0, MNET_NN_NAME) || mnet_name_lookup(mnet_obs_part_names, sn, &part) != 0) {
            char list[160];
            mnet_name_list(mnet_obs_part_names, list, sizeof list);
            fail(err, n, "modular network: unknown input '%.*s' (expected %s)", MNET_NN_NAME - 1, sn, list);
            return -1;
        }
        if (part <= last) {
            fail(err, n, "modular network: input '%s' is given twice or out of the order %s", sn,
                 "goal, go, vision, proprioception, actions");
            return -1;
        }
        last = part;
        if (part == MNET_OBS_GO && cfg->kind != MNET_TASK_DELAYED_REACH) {
            fail(err, n, "modular network: input 'go' exists only in a delayed_reach task (kind is %s)",
                 mnet_name_of(mnet_task_kind_names, (int)cfg->kind) ? mnet_name_of(mnet_task_kind_names, (int)cfg->kind)
                                                                    : "?");
            return -1;
        }
        if (part == MNET_OBS_ACTIONS && cfg->action_frames < 1) {
            fail(err, n, "modular network: input 'actions' needs action_frames >= 1");
            return -1;
        }
        for (int m = 0; m < M; m++)
            if (!in_unit(md->reach[s][m])) {
                fail(err, n, "input '%s' -> module '%s': probability %g is outside [0, 1]", sn, md->name[m],
                     md->reach[s][m]);
                return -1;
            }
    }
    return 0;
}

double mnet_modular_delay_steps(const mnet_nn_modular *md, int to, int from, double step)
{
    const double s = md->delay_time[to][from] / step;
    if (!(s >= 0 && s < 1e8) || md->delay_steps[to][from] < 0)
        return -1;
    return md->delay_steps[to][from] + (double)lround(s);
}

int mnet_policy_check(const mnet_task_config *cfg, char *err, size_t n)
{
    if (cfg->spectral_radius > 0 && cfg->cell == MNET_NN_MLP) {
        fail(err, n, "policy.spectral_radius needs recurrent weights (policy is mlp)");
        return -1;
    }
    if (cfg->candidate != MNET_NN_CANDIDATE_TANH && cfg->cell == MNET_NN_LSTM) {
        fail(err, n, "policy.candidate: the rectified-tanh candidate is for gru, rnn and mlp cells (the lstm "
                     "keeps tanh)");
        return -1;
    }
    if (cfg->learn_h0 && cfg->cell == MNET_NN_MLP) {
        fail(err, n, "policy.initial_state: an mlp has no state to learn an initial value of");
        return -1;
    }
    return 0;
}

int mnet_run_check(const mnet_task_config *cfg, char *err, size_t n)
{
    for (int i = 0; i < N_SETTINGS; i++) {
        const mnet_setting *s = &settings[i];
        double v[MNET_TASK_MAX_DOF > 2 ? MNET_TASK_MAX_DOF : 2];
        int count = values_of(cfg, s, v);
        if (s->type == MNET_SETTING_NAME) {
            if (!mnet_name_of(s->names, (int)v[0])) {
                fail(err, n, "%s has no value numbered %d", s->name, (int)v[0]);
                return -1;
            }
            continue;
        }
        if (s->count_offset && *(const int *)cfield(cfg, s->count_offset) > s->max_count) {
            fail(err, n, "%s has more than %d values", s->name, s->max_count);
            return -1;
        }
        for (int k = 0; k < count; k++)
            if (check_value(s, v[k], err, n) != 0)
                return -1;
    }
    if (!(cfg->go_cue_lo <= cfg->go_cue_hi)) {
        fail(err, n, "go_cue range must satisfy earliest <= latest (got [%.17g, %.17g])", cfg->go_cue_lo,
             cfg->go_cue_hi);
        return -1;
    }
    const double delays[2] = {cfg->proprio_delay, cfg->vision_delay};
    for (int k = 0; k < 2; k++)
        if (!(delays[k] < cfg->duration)) {
            fail(err, n, "%s (%.17g s) must be shorter than the episode (duration %.17g s)",
                 k ? "delay.vision" : "delay.proprioception", delays[k], cfg->duration);
            return -1;
        }
    if (cfg->kind != MNET_TASK_RANDOM_REACH && !(cfg->go_cue_hi < cfg->duration)) {
        fail(err, n, "go_cue's latest time (%.17g s) must lie within the episode (duration %.17g s)",
             cfg->go_cue_hi, cfg->duration);
        return -1;
    }
    if (cfg->n_losses < 0 || cfg->n_losses > MNET_TASK_MAX_LOSSES) {
        fail(err, n, "%d loss terms (at most %d)", cfg->n_losses, MNET_TASK_MAX_LOSSES);
        return -1;
    }
    if (mnet_modular_check(cfg, err, n) != 0 || mnet_policy_check(cfg, err, n) != 0)
        return -1;
    for (int i = 0; i < cfg->n_losses; i++) {
        const mnet_loss_term *l = &cfg->loss[i];
        const char *name = mnet_loss_name(NULL, l);
        if (!(isfinite(l->weight) && l->weight >= 0) || !(isfinite(l->deriv_weight) && l->deriv_weight >= 0)) {
            fail(err, n, "loss %s's weights must be finite numbers >= 0 (got %.17g, derivative %.17g)", name,
                 l->weight, l->deriv_weight);
            return -1;
        }
        if (memchr(l->name, 0, sizeof l->name) == NULL) {
            fail(err, n, "loss %d's name is not terminated", i);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(mnet_loss_name(NULL, &cfg->loss[j]), name)) {
                fail(err, n, "loss %s is given twice", name);
                return -1;
            }
    }
    return 0;
}

