/* run_text.c - the run text (mnet_settings.h): the whole run as
 * "name=values" lines, read back exactly, and the difference of two runs. */
#include "mnet_settings.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- the run text ---------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t n, at;
    int bad;
} text_out;

static void put(text_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->at < o->n ? o->buf + o->at : NULL, o->at < o->n ? o->n - o->at : 0, fmt, ap);
    va_end(ap);
    if (k < 0)
        o->bad = 1;
    else
        o->at += (size_t)k;
}

long mnet_run_text_format(const mnet_task_config *cfg, const mnet_model *m, const double *params, char *buf,
                          size_t n)
{
    text_out o = {buf, n, 0, 0};
    if (n)
        buf[0] = 0;
    for (int i = 0; i < mnet_setting_count(); i++) {
        char v[1024];
        if (mnet_setting_at(i)->flags & MNET_SETTING_NOT_RUN)
            continue; /* the threads: not part of the run */
        if (mnet_setting_format(cfg, mnet_setting_at(i), v, sizeof v) < 0)
            return -1;
        put(&o, "%s=%s\n", mnet_setting_at(i)->name, v);
    }
    const mnet_nn_modular *md = &cfg->modular;
    if (md->n_modules > 0 && md->n_modules <= MNET_NN_MAX_MODULES && md->n_sources >= 0 &&
        md->n_sources <= MNET_NN_MAX_SOURCES) {
        const int M = md->n_modules;
        put(&o, "policy.modules=");
        for (int m = 0; m < M; m++)
            put(&o, "%s%.*s", m ? " " : "", MNET_NN_NAME - 1, md->name[m]);
        put(&o, "\n");
        for (int m = 0; m < M; m++)
            put(&o, "policy.module.%.*s=%d %.17g %d\n", MNET_NN_NAME - 1, md->name[m], md->size[m],
                md->excitatory[m] < 0 ? -1.0 : md->excitatory[m], md->drives_readout[m] != 0);
        for (int k = 0; k < md->n_sources; k++) {
            put(&o, "policy.input.%.*s=", MNET_NN_NAME - 1, md->source_name[k]);
            for (int m = 0; m < M; m++)
                put(&o, "%s%.17g", m ? " " : "", md->reach[k][m]);
            put(&o, "\n");
        }
        for (int a = 0; a < M; a++)
            for (int b = 0; b < M; b++)
                put(&o, "policy.connect.%.*s.%.*s=%.17g %.17g %d %.17g\n", MNET_NN_NAME - 1, md->name[a],
                    MNET_NN_NAME - 1, md->name[b], md->frac[b][a], md->p[b][a], md->delay_steps[b][a],
                    md->delay_time[b][a]);
    }
    for (int i = 0; i < cfg->n_losses && i < MNET_TASK_MAX_LOSSES; i++)
        put(&o, "loss.%s=%.17g %.17g\n", mnet_loss_name(NULL, &cfg->loss[i]), cfg->loss[i].weight,
            cfg->loss[i].deriv_weight);
    for (int i = 0; m && params && i < m->n_params; i++)
        put(&o, "param.%s=%.17g\n", m->param_names[i], params[i]);
    if (o.bad)
        return -1;
    if (n > 0 && o.at >= n)
        buf[n - 1] = 0;
    return (long)o.at;
}

char *mnet_run_text_alloc(const mnet_task_config *cfg, const mnet_model *m, const double *params)
{
    long len = mnet_run_text_format(cfg, m, params, NULL, 0);
    char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (s && mnet_run_text_format(cfg, m, params, s, (size_t)len + 1) != len) {
        free(s);
        return NULL;
    }
    return s;
}

/* The module called name (len characters) of md, or -1. */
static int module_index(const mnet_nn_modular *md, const char *name, size_t len)
{
    for (int m = 0; m < md->n_modules; m++)
        if (strlen(md->name[m]) == len && !strncmp(md->name[m], name, len))
            return m;
    return -1;
}

/* Defaults of a modular network of `names` (space separated): each module
 * connects fully within itself, not to the others, no Dale, no read-out.
 * 0, or -1 with a message. */
static int modular_modules(mnet_nn_modular *md, const char *names, char *msg, size_t n)
{
    memset(md, 0, sizeof *md);
    for (const char *at = names; *at;) {
        while (*at == ' ')
            at++;
        size_t len = strcspn(at, " ");
        if (!len)
            break;
        if (md->n_modules == MNET_NN_MAX_MODULES || len >= MNET_NN_NAME || module_index(md, at, len) >= 0) {
            snprintf(msg, n, "policy.modules: more than %d modules, a name longer than %d characters or a "
                     "name given twice", MNET_NN_MAX_MODULES, MNET_NN_NAME - 1);
            return -1;
        }
        const int m = md->n_modules++;
        memcpy(md->name[m], at, len);
        md->excitatory[m] = -1;
        md->frac[m][m] = md->p[m][m] = 1;
        at += len;
    }
    if (md->n_modules == 0) {
        snprintf(msg, n, "policy.modules names no module");
        return -1;
    }
    return 0;
}

/* Reads up to max numbers from v; the count, or -1 on a bad number. */
static int read_numbers(const char *v, double *out, int max);

/* One policy.module / policy.input / policy.connect line into md.  0, or
 * -1 with a message. */
static int modular_line(mnet_nn_modular *md, const char *key, const char *val, char *msg, size_t n)
{
    double v[MNET_NN_MAX_MODULES + 1];
    if (md->n_modules == 0) {
        snprintf(msg, n, "%.200s before policy.modules", key);
        return -1;
    }
    if (!strncmp(key, "policy.module.", 14)) {
        int m = module_index(md, key + 14, strlen(key + 14));
        if (m < 0) {
            snprintf(msg, n, "%.200s: no such module in policy.modules", key);
            return -1;
        }
        if (read_numbers(val, v, 3) != 3 || v[0] != floor(v[0]) || !(v[0] >= 1 && v[0] <= 65536) ||
            (v[2] != 0 && v[2] != 1)) {
            snprintf(msg, n, "%.200s needs units (a whole number >= 1), excitatory proportion (-1: none) and "
                     "read-out (0 or 1)", key);
            return -1;
        }
        md->size[m] = (int)v[0];
        md->excitatory[m] = v[1] < 0 ? -1 : v[1];
        md->drives_readout[m] = (int)v[2];
        return 0;
    }
    if (!strncmp(key, "policy.input.", 13)) {
        const char *name = key + 13;
        if (md->n_sources == MNET_NN_MAX_SOURCES || strlen(name) >= MNET_NN_NAME) {
            snprintf(msg, n, "%.200s: too many sources or too long a name", key);
            return -1;
        }
        if (read_numbers(val, v, md->n_modules) != md->n_modules) {
            snprintf(msg, n, "%.200s needs one probability per module (%d)", key, md->n_modules);
            return -1;
        }
        const int s = md->n_sources++;
        snprintf(md->source_name[s], MNET_NN_NAME, "%s", name);
        for (int m = 0; m < md->n_modules; m++)
            md->reach[s][m] = v[m];
        return 0;
    }
    if (!strncmp(key, "policy.connect.", 15)) {
        const char *from = key + 15, *dot = strchr(from, '.');
        int a = dot ? module_index(md, from, (size_t)(dot - from)) : -1;
        int b = dot ? module_index(md, dot + 1, strlen(dot + 1)) : -1;
        if (a < 0 || b < 0) {
            snprintf(msg, n, "%.200s: expected policy.connect.FROM.TO with modules of policy.modules", key);
            return -1;
        }
        /* four numbers: fraction, probability, delay in steps, delay in
         * seconds; runs written before delays existed have the first two */
        int got = read_numbers(val, v, 4);
        if (got != 2 && got != 4) {
            snprintf(msg, n, "%.200s needs fraction, probability, delay steps and delay time (s)", key);
            return -1;
        }
        if (got == 4 && (v[2] != floor(v[2]) || !(v[2] >= 0 && v[2] <= 1e8))) {
            snprintf(msg, n, "%.200s: the delay in steps must be a whole number of 0 or more (got %.17g)", key, v[2]);
            return -1;
        }
        md->frac[b][a] = v[0];
        md->p[b][a] = v[1];
        md->delay_steps[b][a] = got == 4 ? (int)v[2] : 0;
        md->delay_time[b][a] = got == 4 ? v[3] : 0;
        return 0;
    }
    snprintf(msg, n, "unknown setting '%.200s'", key);
    return -1;
}

/* Reads up to max numbers from v; the count, or -1 on a bad number. */
static int read_numbers(const char *v, double *out, int max)
{
    int k = 0;
    for (;;) {
        while (*v == ' ')
            v++;
        if (!*v)
            return k;
        if (k == max)
            return -1;
        char *end;
        errno = 0;
        out[k++] = strtod(v, &end);
        if (end == v || errno || (*end && *end != ' '))
            return -1;
        v = end;
    }
}

int mnet_run_text_parse(const char *text, mnet_task_config *out, const mnet_model *m, double *params,
                        char *err, size_t n)
{
    mnet_task_config c = mnet_task_config_default();
    int losses_given = 0, line = 0;
    double *p = NULL;
    if (m && params && m->n_params > 0) {
        p = malloc((size_t)m->n_params * sizeof *p);
        if (!p) {
            fail(err, n, "run text: out of memory");
            return -1;
        }
        memcpy(p, params, (size_t)m->n_params * sizeof *p);
    }
    char msg[4600];
    msg[0] = 0;
    for (const char *at = text; at && *at && !msg[0];) {
        line++;
        const char *end = strchr(at, '\n');
        size_t len = end ? (size_t)(end - at) : strlen(at);
        char ln[4096];
        if (len >= sizeof ln) {
            snprintf(msg, sizeof msg, "line too long");
            break;
        }
        memcpy(ln, at, len);
        ln[len] = 0;
        at = end ? end + 1 : at + len;
        if (len == 0 || ln[0] == '#')
            continue;
        char *eq = strchr(ln, '=');
        if (!eq) {
            snprintf(msg, sizeof msg, "expected name=values, got '%.200s'", ln);
            break;
        }
        *eq = 0;
        const char *key = ln, *val = eq + 1;
        double v[MNET_TASK_MAX_DOF + 1];
        if (!strncmp(key, "loss.", 5)) {
            if (!losses_given) {
                c.n_losses = 0;
                losses_given = 1;
            }
            if (read_numbers(val, v, 2) != 2) {
                snprintf(msg, sizeof msg, "%s needs two numbers (weight, derivative)", key);
                break;
            }
            const char *name = key + 5;
            int kind;
            if (!*name || strlen(name) >= MNET_LOSS_NAME_MAX || mnet_setting_loss_index(&c, name) >= 0 ||
                c.n_losses >= MNET_TASK_MAX_LOSSES) {
                snprintf(msg, sizeof msg, "bad, repeated or one loss term too many: '%.100s'", name);
                break;
            }
            mnet_loss_term *l = &c.loss[c.n_losses++];
            memset(l, 0, sizeof *l);
            l->kind = mnet_name_lookup(mnet_loss_kind_names, name, &kind) == 0 ? (mnet_loss_kind)kind
                                                                                : MNET_LOSS_COMPILED;
            snprintf(l->name, sizeof l->name, "%s", name);
            l->weight = v[0];
            l->deriv_weight = v[1];
        } else if (!strcmp(key, "policy.modules")) {
            if (c.modular.n_modules > 0) {
                snprintf(msg, sizeof msg, "policy.modules is given twice");
                break;
            }
            if (modular_modules(&c.modular, val, msg, sizeof msg) != 0)
                break;
        } else if (!strncmp(key, "policy.module.", 14) || !strncmp(key, "policy.input.", 13) ||
                   !strncmp(key, "policy.connect.", 15)) {
            if (modular_line(&c.modular, key, val, msg, sizeof msg) != 0)
                break;
        } else if (!strncmp(key, "param.", 6)) {
            int i = -1;
            for (int k = 0; m && k < m->n_params; k++)
                if (!strcmp(m->param_names[k], key + 6))
                    i = k;
            if (i < 0 || !p) {
                snprintf(msg, sizeof msg, "model %s has no parameter '%.200s'", m && m->name ? m->name : "(none)",
                         key + 6);
                break;
            }
            if (read_numbers(val, v, 1) != 1 || !isfinite(v[0])) {
                snprintf(msg, sizeof msg, "%s needs one finite number", key);
                break;
            }
            p[i] = v[0];
        } else {
            const mnet_setting *s = NULL;
            for (int i = 0; i < mnet_setting_count() && !s; i++)
                if (!strcmp(mnet_setting_at(i)->name, key))
                    s = mnet_setting_at(i);
            if (!s) {
                snprintf(msg, sizeof msg, "unknown setting '%.200s'", key);
                break;
            }
            if (s->type == MNET_SETTING_NAME) {
                if (mnet_setting_set(&c, s, NULL, 0, val, msg, sizeof msg) != 0)
                    break;
                continue;
            }
            int count = read_numbers(val, v, s->type == MNET_SETTING_VECTOR ? s->max_count : 2);
            if (count < 0) {
                snprintf(msg, sizeof msg, "bad value for %s: '%.200s'", key, val);
                break;
            }
            if (mnet_setting_set(&c, s, v, count, NULL, msg, sizeof msg) != 0)
                break;
        }
    }
    if (!msg[0] && mnet_run_check(&c, msg, sizeof msg) != 0)
        line = 0;
    if (msg[0]) {
        if (line)
            fail(err, n, "run text, line %d: %s", line, msg);
        else
            fail(err, n, "run text: %s", msg);
        free(p);
        return -1;
    }
    *out = c;
    if (p)
        memcpy(params, p, (size_t)m->n_params * sizeof *p);
    free(p);
    return 0;
}

/* The value of `key` in a run text (NULL when absent); *len its length. */
static const char *text_value(const char *text, const char *key, size_t *len)
{
    size_t k = strlen(key);
    for (const char *at = text; at && *at;) {
        const char *end = strchr(at, '\n');
        size_t l = end ? (size_t)(end - at) : strlen(at);
        if (l > k && at[k] == '=' && !strncmp(at, key, k)) {
            *len = l - k - 1;
            return at + k + 1;
        }
        at = end ? end + 1 : NULL;
    }
    return NULL;
}

int mnet_run_diff(const mnet_task_config *a, const mnet_task_config *b, const mnet_model *m, const double *pa,
                  const double *pb, char *buf, size_t n)
{
    char *ta = mnet_run_text_alloc(a, m, pa), *tb = mnet_run_text_alloc(b, m, pb);
    int diffs = 0;
    size_t at = 0;
    if (n)
        buf[0] = 0;
    for (int pass = 0; ta && tb && pass < 2; pass++) {
        /* pass 0: every line of a against b; pass 1: lines only b has */
        const char *x = pass ? tb : ta, *y = pass ? ta : tb;
        for (const char *line = x; *line;) {
            const char *end = strchr(line, '\n');
            size_t l = end ? (size_t)(end - line) : strlen(line);
            const char *eq = memchr(line, '=', l);
            if (eq) {
                char key[512];
                size_t kl = (size_t)(eq - line) < sizeof key ? (size_t)(eq - line) : sizeof key - 1;
                memcpy(key, line, kl);
                key[kl] = 0;
                size_t yl = 0, xl = l - kl - 1;
                const char *yv = text_value(y, key, &yl);
                int differs = pass ? !yv : (!yv || yl != xl || memcmp(yv, eq + 1, xl) != 0);
                if (differs) {
                    diffs++;
                    if (at < n) {
                        const char *av = pass ? NULL : eq + 1, *bv = pass ? eq + 1 : yv;
                        int w = snprintf(buf + at, n - at, "  %s: %.*s -> %.*s\n", key, av ? (int)(pass ? 0 : xl) : 6,
                                         av ? av : "(none)", bv ? (int)(pass ? xl : yl) : 6, bv ? bv : "(none)");
                        at += w > 0 ? (size_t)w : 0;
                    }
                }
            }
            line = end ? end + 1 : line + l;
        }
    }
    if (!ta || !tb) {
        snprintf(buf, n, "  (out of memory comparing the runs)\n");
        diffs = 1;
    }
    free(ta);
    free(tb);
    return diffs;
}
