/* task_text.c - a task configuration as text and back: one "key=values"
 * line per field, every value written so it reads back exactly (%.17g).
 * mnetc embeds this text in the C it emits, so a standalone trainer
 * (standalone_main.c) trains the task the .mnet file declares. */
#include "mnet_task.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { F_INT, F_LONG, F_U64, F_DOUBLE } field_type;

/* A field: `count` values of `type`, the first at `offset`, the next
 * `stride` bytes on (arrays, and arrays of structs such as the losses). */
typedef struct {
    const char *key;
    field_type type;
    size_t offset, stride;
    int count;
} field;

/* The enums are stored as int. */
_Static_assert(sizeof(mnet_task_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(mnet_loss_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(mnet_nn_cell) == sizeof(int), "enum size");
_Static_assert(sizeof(mnet_nn_ortho) == sizeof(int), "enum size");
_Static_assert(sizeof(mnet_sched_kind) == sizeof(int), "enum size");

#define ONE(k, t, f) {k, t, offsetof(mnet_task_config, f), 0, 1}
#define ARR(k, t, f, n) {k, t, offsetof(mnet_task_config, f), sizeof(((mnet_task_config *)0)->f[0]), n}
#define LOSS(k, t, f)                                                                                        \
    {k, t, offsetof(mnet_task_config, loss) + offsetof(mnet_loss_term, f), sizeof(mnet_loss_term),         \
     MNET_TASK_MAX_LOSSES}

static const field fields[] = {
    ONE("kind", F_INT, kind),
    ONE("duration", F_DOUBLE, duration),
    ONE("proprio_delay", F_DOUBLE, proprio_delay),
    ONE("vision_delay", F_DOUBLE, vision_delay),
    ONE("exact_delays", F_INT, exact_delays),
    ONE("action_frames", F_INT, action_frames),
    ONE("action_noise", F_DOUBLE, action_noise),
    ONE("proprio_noise", F_DOUBLE, proprio_noise),
    ONE("vision_noise", F_DOUBLE, vision_noise),
    ONE("obs_noise", F_DOUBLE, obs_noise),
    ONE("hidden_noise", F_DOUBLE, hidden_noise),
    ONE("centre_out.go_cue_lo", F_DOUBLE, centre_out.go_cue_lo),
    ONE("centre_out.go_cue_hi", F_DOUBLE, centre_out.go_cue_hi),
    ONE("centre_out.catch_fraction", F_DOUBLE, centre_out.catch_fraction),
    ONE("centre_out.distance", F_DOUBLE, centre_out.distance),
    ONE("centre_out.angle_step_deg", F_DOUBLE, centre_out.angle_step_deg),
    ONE("centre_out.centre_given", F_INT, centre_out.centre_given),
    ARR("centre_out.centre_joint", F_DOUBLE, centre_out.centre_joint, MNET_TASK_MAX_DOF),
    ONE("delayed.go_cue_lo", F_DOUBLE, delayed.go_cue_lo),
    ONE("delayed.go_cue_hi", F_DOUBLE, delayed.go_cue_hi),
    ONE("delayed.catch_fraction", F_DOUBLE, delayed.catch_fraction),
    ARR("endpoint_load", F_DOUBLE, endpoint_load, MNET_TASK_MAX_SPACE),
    ARR("joint_load", F_DOUBLE, joint_load, MNET_TASK_MAX_DOF),
    ONE("curl", F_DOUBLE, curl),
    ONE("channel_stiffness", F_DOUBLE, channel_stiffness),
    ONE("channel_damping", F_DOUBLE, channel_damping),
    ONE("n_losses", F_INT, n_losses),
    LOSS("loss.kind", F_INT, kind),
    LOSS("loss.weight", F_DOUBLE, weight),
    LOSS("loss.deriv_weight", F_DOUBLE, deriv_weight),
    LOSS("loss.compiled", F_INT, compiled),
    ONE("n_muscle_fmax", F_INT, n_muscle_fmax),
    ARR("muscle_fmax", F_DOUBLE, muscle_fmax, MNET_TASK_MAX_MUSCLES),
    ONE("cell", F_INT, cell),
    ONE("n_hidden", F_INT, n_hidden),
    ONE("n_layers", F_INT, n_layers),
    ONE("ortho", F_INT, ortho),
    ONE("readout_bias", F_DOUBLE, readout_bias),
    ONE("batch_size", F_INT, batch_size),
    ONE("n_batches", F_LONG, n_batches),
    ONE("lr", F_DOUBLE, lr),
    ONE("clip_norm", F_DOUBLE, clip_norm),
    ONE("weight_decay", F_DOUBLE, weight_decay),
    ONE("decoupled_decay", F_INT, decoupled_decay),
    ONE("beta1", F_DOUBLE, beta1),
    ONE("beta2", F_DOUBLE, beta2),
    ONE("eps", F_DOUBLE, eps),
    ONE("sched.kind", F_INT, sched.kind),
    ONE("sched.step_size", F_LONG, sched.step_size),
    ONE("sched.gamma", F_DOUBLE, sched.gamma),
    ONE("sched.t_max", F_LONG, sched.t_max),
    ONE("sched.eta_min", F_DOUBLE, sched.eta_min),
    ONE("seed", F_U64, seed),
};

enum { N_FIELDS = sizeof fields / sizeof fields[0] };

static int put(char *buf, size_t n, size_t *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int put(char *buf, size_t n, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(*at < n ? buf + *at : NULL, *at < n ? n - *at : 0, fmt, ap);
    va_end(ap);
    if (k < 0)
        return -1;
    *at += (size_t)k;
    return 0;
}

long mnet_task_config_format(const mnet_task_config *c, char *buf, size_t n)
{
    size_t at = 0;
    const char *base = (const char *)c;
    for (int i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        if (put(buf, n, &at, "%s=", f->key))
            return -1;
        for (int k = 0; k < f->count; k++) {
            const char *p = base + f->offset + (size_t)k * f->stride;
            const char *sep = k ? " " : "";
            int rc;
            switch (f->type) {
            case F_INT: rc = put(buf, n, &at, "%s%d", sep, *(const int *)(const void *)p); break;
            case F_LONG: rc = put(buf, n, &at, "%s%ld", sep, *(const long *)(const void *)p); break;
            case F_U64:
                rc = put(buf, n, &at, "%s%llu", sep, (unsigned long long)*(const uint64_t *)(const void *)p);
                break;
            default: rc = put(buf, n, &at, "%s%.17g", sep, *(const double *)(const void *)p); break;
            }
            if (rc)
                return -1;
        }
        if (put(buf, n, &at, "\n"))
            return -1;
    }
    if (n > 0 && at >= n)
        buf[n - 1] = 0;
    return (long)at;
}

static void set_err(char *err, size_t n, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_err(char *err, size_t n, int line, const char *fmt, ...)
{
    if (!err || n == 0)
        return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, n, "task text, line %d: %s", line, msg);
}

int mnet_task_config_parse(const char *text, mnet_task_config *out, char *err, size_t n)
{
    mnet_task_config c = mnet_task_config_default();
    char *base = (char *)&c;
    int line = 0;
    for (const char *p = text; p && *p;) {
        line++;
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char ln[2048];
        if (len >= sizeof ln) {
            set_err(err, n, line, "%s", "line too long");
            return -1;
        }
        memcpy(ln, p, len);
        ln[len] = 0;
        p = end ? end + 1 : p + len;
        if (len == 0)
            continue;
        char *eq = strchr(ln, '=');
        if (!eq) {
            set_err(err, n, line, "expected key=values, got '%s'", ln);
            return -1;
        }
        *eq = 0;
        const field *f = NULL;
        for (int i = 0; i < N_FIELDS && !f; i++)
            if (!strcmp(fields[i].key, ln))
                f = &fields[i];
        if (!f) {
            set_err(err, n, line, "unknown key '%s'", ln);
            return -1;
        }
        char *v = eq + 1;
        for (int k = 0; k < f->count; k++) {
            char *p_end;
            char *dst = base + f->offset + (size_t)k * f->stride;
            errno = 0;
            if (f->type == F_DOUBLE) {
                double x = strtod(v, &p_end);
                memcpy(dst, &x, sizeof x);
            } else if (f->type == F_U64) {
                uint64_t x = strtoull(v, &p_end, 10);
                memcpy(dst, &x, sizeof x);
            } else {
                long x = strtol(v, &p_end, 10);
                if (f->type == F_LONG) {
                    memcpy(dst, &x, sizeof x);
                } else {
                    int xi = (int)x;
                    if (x != xi)
                        errno = ERANGE;
                    memcpy(dst, &xi, sizeof xi);
                }
            }
            if (p_end == v || errno) {
                set_err(err, n, line, "bad or missing value for '%s'", f->key);
                return -1;
            }
            v = p_end;
        }
        while (*v == ' ')
            v++;
        if (*v) {
            set_err(err, n, line, "more values than '%s' takes", f->key);
            return -1;
        }
    }
    *out = c;
    return 0;
}
