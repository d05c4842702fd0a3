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
