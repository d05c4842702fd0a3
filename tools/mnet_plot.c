/* mnet_plot.c - `mnet plot`: the figures of a run as SVG; see mnet_plot.h
 * and docs/plots.md.
 *
 * Three stages, one section each:
 *   (a) read: log.csv into plot_log, episodes.safetensors into
 *       plot_episodes, every shape checked against the recorder's layout;
 *   (b) draw: one function per figure, into an svg_doc in memory;
 *   (c) write: every figure to a temporary file, then all renamed.
 *
 * Shape letters (runtime/record.c's layout, batch-major):
 *   N episodes, T steps (T+1 states), P space dimensions, M muscles,
 *   K body points, H hidden units (all layers together).
 */
#include "mnet_plot.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnet_record.h"
#include "mnet_safetensors.h"
#include "pca.h"
#include "svg.h"

#define PLOT_FORMAT "mnet-episodes"  /* __metadata__ "mnet.format" of a recording */
#define PLOT_MAX_LAYERS 16
#define PLOT_MAX_MROWS 4             /* muscle rows drawn (activation, force first) */
#define PLOT_ERR 1024

/* ==== (a) reading ==== */

/* log.csv: batch, loss, <terms...>, grad_norm, lr, ms */
typedef struct plot_log {
    int n_rows, n_cols;
    char **names;            /* (n_cols) header fields                 */
    double *v;               /* (n_rows x n_cols) values, NaN if empty */
} plot_log;

typedef struct plot_mrow {
    char *name;              /* after "muscle.": activation, force, ... */
    double *v;               /* (N x T+1 x M)                           */
} plot_mrow;

typedef struct plot_episodes {
    int N, T, P, M, K, H;
    double step;             /* s per step                               */
    double *pos, *vel;       /* (N x T+1 x P) end point; vel derived if absent */
    double *target;          /* (N x T+1 x P) or NULL                    */
    double *goal, *start;    /* (N x P) or NULL                          */
    double *go_time;         /* (N) s, or NULL                           */
    double *body;            /* (N x T+1 x K x P) or NULL                */
    double *hidden;          /* (N x T x H) all layers side by side, or NULL */
    int n_layers;
    int n_mrows;
    plot_mrow mrow[PLOT_MAX_MROWS];
    char **muscle_names;     /* (M) from names.muscle, or NULL           */
    int n_modules;           /* modules of a modular network (names.hidden), or 0 */
    char **module_names;     /* (n_modules) in the order of their first unit */
    int *unit_module;        /* (H) each unit's module, or NULL          */
    double curl;             /* load.curl of the run text (0: none)      */
} plot_episodes;

static void log_free(plot_log *lg)
{
    for (int i = 0; i < lg->n_cols; i++)
        free(lg->names[i]);
    free(lg->names);
    free(lg->v);
    memset(lg, 0, sizeof *lg);
}

static void episodes_free(plot_episodes *ep)
{
    free(ep->pos);
    free(ep->vel);
    free(ep->target);
    free(ep->goal);
    free(ep->start);
    free(ep->go_time);
    free(ep->body);
    free(ep->hidden);
    for (int i = 0; i < ep->n_mrows; i++) {
        free(ep->mrow[i].name);
        free(ep->mrow[i].v);
    }
    if (ep->muscle_names)
        for (int i = 0; i < ep->M; i++)
            free(ep->muscle_names[i]);
    free(ep->muscle_names);
    for (int i = 0; i < ep->n_modules; i++)
        free(ep->module_names[i]);
    free(ep->module_names);
    free(ep->unit_module);
    memset(ep, 0, sizeof *ep);
}

/* One CSV field at *p (quoted with doubled quotes, or plain), copied to a
 * malloc'd string; *p moves past it and its comma.  *end set at the line's
 * end.  NULL: out of memory or an unterminated quote (*bad set). */
static char *csv_next(const char **p, int *end, int *bad)
{
    const char *s = *p;
    size_t cap = 16, k = 0;
    char *out = malloc(cap);
    if (!out) {
        *bad = 1;
        return NULL;
    }
    int quoted = *s == '"';
    if (quoted)
        s++;
    for (;;) {
        char c = *s;
        if (quoted) {
            if (!c) {
                *bad = 1;
                free(out);
                return NULL;
            }
            if (c == '"' && s[1] == '"')
                s++;
            else if (c == '"') {
                quoted = 0;
                s++;
                continue;
            }
        } else if (!c || c == ',' || c == '\n' || c == '\r') {
            break;
        }
        if (k + 2 > cap) {
            char *q = realloc(out, cap *= 2);
            if (!q) {
                free(out);
                *bad = 1;
                return NULL;
            }
            out = q;
        }
        out[k++] = c;
        s++;
    }
    out[k] = '\0';
    if (*s == ',') {
        s++;
        *end = 0;
    } else {
        if (*s == '\r')
            s++;
        if (*s == '\n')
            s++;
        *end = 1;
    }
    *p = s;
    return out;
}

/* Reads the training log.  0, or -1 with a message. */
static int read_log(const char *path, plot_log *lg, char *err, size_t n)
{
    memset(lg, 0, sizeof *lg);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, n, "cannot read the training log '%s': %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 + 1 > cap) {
            char *t = realloc(text, cap = 2 * cap + 65536 + 1);
            if (!t) {
                fclose(f);
                free(text);
                snprintf(err, n, "'%s': out of memory", path);
                return -1;
            }
            text = t;
        }
        size_t k = fread(text + len, 1, 65536, f);
        len += k;
        if (k < 65536)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(text);
        snprintf(err, n, "cannot read the training log '%s'", path);
        return -1;
    }
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        free(text);
        snprintf(err, n, "'%s' is not a training log (it holds NUL bytes)", path);
        return -1;
    }
    /* the header */
    const char *p = text;
    int end = 0, bad = 0;
    while (!end && !bad && *p) {
        char *name = csv_next(&p, &end, &bad);
        if (!name)
            break;
        char **nn = realloc(lg->names, ((size_t)lg->n_cols + 1) * sizeof *nn);
        if (!nn) {
            free(name);
            bad = 1;
            break;
        }
        lg->names = nn;
        lg->names[lg->n_cols++] = name;
    }
    if (bad || lg->n_cols < 5 || strcmp(lg->names[0], "batch") || strcmp(lg->names[1], "loss") ||
        strcmp(lg->names[lg->n_cols - 3], "grad_norm") || strcmp(lg->names[lg->n_cols - 2], "lr") ||
        strcmp(lg->names[lg->n_cols - 1], "ms")) {
        free(text);
        log_free(lg);
        snprintf(err, n, "'%s' is not an mnet training log: its header should read "
                 "batch,loss,<terms...>,grad_norm,lr,ms", path);
        return -1;
    }
    /* the rows; a last line without its line break is a row being written
     * (a running training) and left out */
    size_t rows_cap = 0;
    for (int line = 2; *p; line++) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            break;
        if (eol == p || (eol == p + 1 && *p == '\r')) {
            p = eol + 1;
            continue;
        }
        if ((size_t)lg->n_rows + 1 > rows_cap) {
            rows_cap = rows_cap ? 2 * rows_cap : 256;
            double *v = realloc(lg->v, rows_cap * (size_t)lg->n_cols * sizeof *v);
            if (!v) {
                free(text);
                log_free(lg);
                snprintf(err, n, "'%s': out of memory", path);
                return -1;
            }
            lg->v = v;
        }
        double *row = lg->v + (size_t)lg->n_rows * lg->n_cols;
        int col = 0;
        end = 0;
        while (!end) {
            const char *f0 = p;
            while (*p && *p != ',' && *p != '\n' && *p != '\r')
                p++;
            char *q;
            double x = NAN;
            if (p > f0) {
                errno = 0;
                x = strtod(f0, &q);
                if (q != p) {
                    free(text);
                    log_free(lg);
                    snprintf(err, n, "%s:%d: field %d is not a number", path, line, col + 1);
                    return -1;
                }
            }
            if (col < lg->n_cols)
                row[col] = x;
            col++;
            if (*p == ',')
                p++;
            else {
                if (*p == '\r')
                    p++;
                if (*p == '\n')
                    p++;
                end = 1;
            }
        }
        if (col != lg->n_cols) {
            snprintf(err, n, "%s:%d: %d fields, the header has %d", path, line, col, lg->n_cols);
            free(text);
            log_free(lg);
            return -1;
        }
        lg->n_rows++;
    }
    free(text);
    if (lg->n_rows == 0) {
        log_free(lg);
        snprintf(err, n, "the training log '%s' has no rows yet", path);
        return -1;
    }
    return 0;
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

/* Tensor `name` with shape `shape` (ndim), read as doubles into a new
 * array.  Absent: NULL, an error when required.  *bad set on any error. */
static double *read_tensor(const mnet_safetensors *st, const char *path, const char *name,
                           int ndim, const int64_t *shape, const char *letters, int required,
                           int *bad, char *err, size_t n)
{
    const mnet_st_info *t = mnet_safetensors_find(st, name);
    if (!t) {
        if (required) {
            snprintf(err, n, "'%s' has no tensor '%s' %s (hint: is it a recording of mnet's "
                     "episodes?)", path, name, letters);
            *bad = 1;
        }
        return NULL;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char got[128], want[128];
        shape_str(t->shape, t->ndim, got, sizeof got);
        shape_str(shape, ndim, want, sizeof want);
        snprintf(err, n, "'%s': tensor '%s' has shape %s, expected %s = %s", path, name, got,
                 letters, want);
        *bad = 1;
        return NULL;
    }
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t)shape[i];
    double *v = malloc(count * sizeof *v);
    if (!v) {
        snprintf(err, n, "'%s': tensor '%s': out of memory", path, name);
        *bad = 1;
        return NULL;
    }
    char e2[512];
    if (mnet_safetensors_read(st, name, v, count, e2, sizeof e2) != 0) {
        snprintf(err, n, "'%s': %s", path, e2);
        free(v);
        *bad = 1;
        return NULL;
    }
    return v;
}

/* names.muscle: names separated by commas (brackets, quotes and spaces
 * around them ignored).  NULL unless there are exactly m. */
static char **split_names(const char *s, int m)
{
    if (!s || m <= 0)
        return NULL;
    char **out = calloc((size_t)m, sizeof *out);
    if (!out)
        return NULL;
    int k = 0;
    const char *p = s;
    while (*p) {
        const char *q = p;
        while (*q && *q != ',')
            q++;
        const char *a = p, *b = q;
        while (a < b && strchr(" \t\n[]\"'", *a))
            a++;
        while (b > a && strchr(" \t\n[]\"'", b[-1]))
            b--;
        if (k == m) {
            k++;
            break;
        }
        out[k] = malloc((size_t)(b - a) + 1);
        if (!out[k])
            break;
        memcpy(out[k], a, (size_t)(b - a));
        out[k][b - a] = '\0';
        k++;
        p = *q ? q + 1 : q;
    }
    if (k != m) {
        for (int i = 0; i < m; i++)
            free(out[i]);
        free(out);
        return NULL;
    }
    return out;
}

/* names.hidden (a modular network: "pmd:0,pmd:1,...,m1:0,..."): each
 * unit's module, the name before its last ':'.  Modules are numbered in
 * the order of their first unit.  0 with ep->unit_module set; 0 and
 * nothing set when there is no names.hidden or it does not name exactly H
 * units (the figures are then a plain network's); -1 out of memory. */
static int read_modules(plot_episodes *ep, const char *s)
{
    char **unit = split_names(s, ep->H);
    if (!unit)
        return 0;
    int rc = 0;
    ep->unit_module = malloc((size_t)ep->H * sizeof *ep->unit_module);
    ep->module_names = calloc((size_t)ep->H, sizeof *ep->module_names);
    if (!ep->unit_module || !ep->module_names)
        rc = -1;
    for (int u = 0; !rc && u < ep->H; u++) {
        char *colon = strrchr(unit[u], ':');
        if (colon)
            *colon = '\0';
        int m = 0;
        while (m < ep->n_modules && strcmp(ep->module_names[m], unit[u]) != 0)
            m++;
        if (m == ep->n_modules) {
            if (!(ep->module_names[m] = strdup(unit[u]))) {
                rc = -1;
                break;
            }
            ep->n_modules++;
        }
        ep->unit_module[u] = m;
    }
    for (int u = 0; u < ep->H; u++)
        free(unit[u]);
    free(unit);
    if (rc) {
        for (int m = 0; m < ep->n_modules; m++)
            free(ep->module_names[m]);
        free(ep->module_names);
        free(ep->unit_module);
        ep->module_names = NULL;
        ep->unit_module = NULL;
        ep->n_modules = 0;
    }
    return rc;
}

/* load.curl=<k> in the run text, or 0. */
static double run_curl(const char *run)
{
    for (const char *p = run; p && *p;) {
        if (!strncmp(p, "load.curl=", 10)) {
            char *e;
            double k = strtod(p + 10, &e);
            return isfinite(k) ? k : 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return 0;
}

/* Reads and checks a recording.  0, or -1 with a message. */
static int read_episodes(const char *path, plot_episodes *ep, char *err, size_t n)
{
    memset(ep, 0, sizeof *ep);
    mnet_safetensors st;
    char e2[512];
    if (mnet_safetensors_open(path, &st, e2, sizeof e2) != 0) {
        snprintf(err, n, "%s", e2);
        return -1;
    }
    int bad = 0;
    /* mnet.format and version (mnet_record.h); "format" is safetensors' own */
    const char *format = mnet_safetensors_meta(&st, "mnet.format");
    const char *version = mnet_safetensors_meta(&st, "version");
    char want_version[16];
    snprintf(want_version, sizeof want_version, "%d", MNET_RECORD_VERSION);
    if (!format || strncmp(format, PLOT_FORMAT, strlen(PLOT_FORMAT)) != 0) {
        const char *f2 = mnet_safetensors_meta(&st, "format");
        snprintf(err, n, "'%s' is not a recording of mnet episodes (its mnet.format is '%s', format "
                 "'%s'; expected mnet.format '" PLOT_FORMAT "', as `mnet probe` writes)", path,
                 format ? format : "(none)", f2 ? f2 : "(none)");
        bad = 1;
    } else if (strcmp(format, PLOT_FORMAT) != 0 || !version || strcmp(version, want_version)) {
        snprintf(err, n, "'%s' is a recording of another version (mnet.format '%s', version '%s'); "
                 "this mnet reads '" PLOT_FORMAT "' version %s (hint: plot it with the mnet that "
                 "recorded it)", path, format, version ? version : "(none)", want_version);
        bad = 1;
    }
    const char *step = mnet_safetensors_meta(&st, "step");
    if (!bad) {
        char *e = NULL;
        ep->step = step ? strtod(step, &e) : NAN;
        if (!step || *e || !(ep->step > 0) || !isfinite(ep->step)) {
            snprintf(err, n, "'%s': metadata 'step' is '%s', expected the step in seconds (> 0)",
                     path, step ? step : "(none)");
            bad = 1;
        }
    }
    /* the sizes, from the end point's positions */
    const mnet_st_info *pi = bad ? NULL : mnet_safetensors_find(&st, "endpoint.pos");
    if (!bad && (!pi || pi->ndim != 3 || pi->shape[1] < 2 || pi->shape[0] > INT_MAX ||
                 pi->shape[1] > INT_MAX || pi->shape[2] > 16)) {
        char got[128] = "absent";
        if (pi)
            shape_str(pi->shape, pi->ndim, got, sizeof got);
        snprintf(err, n, "'%s': tensor 'endpoint.pos' is %s, expected [N, T+1, P] with T >= 1 and "
                 "P <= 16", path, got);
        bad = 1;
    }
    if (!bad) {
        ep->N = (int)pi->shape[0];
        ep->T = (int)pi->shape[1] - 1;
        ep->P = (int)pi->shape[2];
    }
    int64_t N = ep->N, T1 = ep->T + 1, P = ep->P;
    if (!bad)
        ep->pos = read_tensor(&st, path, "endpoint.pos", 3, (int64_t[]){N, T1, P}, "[N, T+1, P]", 1,
                              &bad, err, n);
    if (!bad)
        ep->vel = read_tensor(&st, path, "endpoint.vel", 3, (int64_t[]){N, T1, P}, "[N, T+1, P]", 0,
                              &bad, err, n);
    if (!bad)
        ep->target = read_tensor(&st, path, "target", 3, (int64_t[]){N, T1, P}, "[N, T+1, P]", 0,
                                 &bad, err, n);
    if (!bad)
        ep->goal = read_tensor(&st, path, "goal", 2, (int64_t[]){N, P}, "[N, P]", 0, &bad, err, n);
    if (!bad)
        ep->start = read_tensor(&st, path, "start", 2, (int64_t[]){N, P}, "[N, P]", 0, &bad, err, n);
    if (!bad)
        ep->go_time = read_tensor(&st, path, "go_time", 1, (int64_t[]){N}, "[N]", 0, &bad, err, n);
    /* the body's points: K from the file */
    const mnet_st_info *bi = bad ? NULL : mnet_safetensors_find(&st, "body.points");
    if (bi && bi->ndim == 4 && bi->shape[2] >= 1 && bi->shape[2] <= 64) {
        ep->K = (int)bi->shape[2];
        ep->body = read_tensor(&st, path, "body.points", 4, (int64_t[]){N, T1, ep->K, P},
                               "[N, T+1, K, P]", 0, &bad, err, n);
    } else if (bi) {
        char got[128];
        shape_str(bi->shape, bi->ndim, got, sizeof got);
        snprintf(err, n, "'%s': tensor 'body.points' has shape %s, expected [N, T+1, K, P] with "
                 "1 <= K <= 64", path, got);
        bad = 1;
    }
    /* hidden.0, hidden.1, ...: [N, T, H_l], side by side */
    const mnet_st_info *hl[PLOT_MAX_LAYERS];
    for (int l = 0; !bad && l < PLOT_MAX_LAYERS; l++) {
        char name[32];
        snprintf(name, sizeof name, "hidden.%d", l);
        if (!(hl[l] = mnet_safetensors_find(&st, name)))
            break;
        if (hl[l]->ndim != 3 || hl[l]->shape[0] != N || hl[l]->shape[1] != ep->T ||
            hl[l]->shape[2] < 1 || hl[l]->shape[2] > 1 << 16) {
            char got[128];
            shape_str(hl[l]->shape, hl[l]->ndim, got, sizeof got);
            snprintf(err, n, "'%s': tensor '%s' has shape %s, expected [N, T, H] = [%d, %d, H]",
                     path, name, got, ep->N, ep->T);
            bad = 1;
            break;
        }
        ep->n_layers++;
        ep->H += (int)hl[l]->shape[2];
    }
    if (!bad && ep->n_layers > 0) {
        size_t NT = (size_t)ep->N * ep->T;
        ep->hidden = malloc(NT * ep->H * sizeof *ep->hidden);
        if (!ep->hidden) {
            snprintf(err, n, "'%s': the hidden states: out of memory", path);
            bad = 1;
        }
        for (int l = 0, off = 0; !bad && l < ep->n_layers; l++) {
            int H = (int)hl[l]->shape[2];
            double *v = read_tensor(&st, path, hl[l]->name, 3, hl[l]->shape, "[N, T, H]", 1, &bad,
                                    err, n);
            for (size_t r = 0; v && r < NT; r++)
                memcpy(ep->hidden + r * ep->H + off, v + r * H, (size_t)H * sizeof *v);
            free(v);
            off += H;
        }
    }
    /* muscle.<row>: [N, T+1, M]; activation and force first */
    static const char *const first[] = {"muscle.activation", "muscle.force"};
    for (int pass = 0; pass < 3 && !bad; pass++)
        for (int i = 0; i < st.n_tensors && !bad && ep->n_mrows < PLOT_MAX_MROWS; i++) {
            const mnet_st_info *t = &st.tensors[i];
            if (strncmp(t->name, "muscle.", 7) != 0 || !t->name[7])
                continue;
            int is_first = !strcmp(t->name, first[0]) || !strcmp(t->name, first[1]);
            if (pass < 2 ? strcmp(t->name, first[pass]) != 0 : is_first)
                continue;
            if (t->ndim != 3 || t->shape[0] != N || t->shape[1] != T1 || t->shape[2] < 1 ||
                t->shape[2] > 4096 || (ep->M && t->shape[2] != ep->M)) {
                char got[128];
                shape_str(t->shape, t->ndim, got, sizeof got);
                char m[24] = "M";
                if (ep->M)
                    snprintf(m, sizeof m, "%d", ep->M);
                snprintf(err, n, "'%s': tensor '%s' has shape %s, expected [N, T+1, M] = [%d, %d, %s]",
                         path, t->name, got, ep->N, ep->T + 1, m);
                bad = 1;
                break;
            }
            ep->M = (int)t->shape[2];
            plot_mrow *r = &ep->mrow[ep->n_mrows];
            r->v = read_tensor(&st, path, t->name, 3, t->shape, "[N, T+1, M]", 1, &bad, err, n);
            r->name = strdup(t->name + 7);
            ep->n_mrows++;
            if (!bad && !r->name) {
                snprintf(err, n, "out of memory");
                bad = 1;
            }
        }
    if (!bad) {
        ep->muscle_names = split_names(mnet_safetensors_meta(&st, "names.muscle"), ep->M);
        ep->curl = run_curl(mnet_safetensors_meta(&st, "run"));
        if (ep->hidden && read_modules(ep, mnet_safetensors_meta(&st, "names.hidden")) != 0) {
            snprintf(err, n, "out of memory");
            bad = 1;
        }
    }
    /* the velocity: recorded, or by differences of the positions */
    if (!bad && !ep->vel) {
        size_t cnt = (size_t)N * T1 * P;
        if (!(ep->vel = malloc(cnt * sizeof *ep->vel))) {
            snprintf(err, n, "out of memory");
            bad = 1;
        }
        for (int e = 0; !bad && e < ep->N; e++)
            for (int t = 0; t <= ep->T; t++)
                for (int i = 0; i < ep->P; i++) {
                    int a = t ? t - 1 : 0, b = t ? t : 1;
                    const double *x = ep->pos + (size_t)e * T1 * P;
                    ep->vel[((size_t)e * T1 + t) * P + i] =
                        (x[(size_t)b * P + i] - x[(size_t)a * P + i]) / ep->step;
                }
    }
    mnet_safetensors_close(&st);
    if (bad) {
        episodes_free(ep);
        return -1;
    }
    return 0;
}

/* ==== (b) drawing ==== */

typedef struct plot_input {
    const plot_log *log;          /* or NULL */
    const plot_episodes *ep;      /* or NULL */
    int episode;                  /* K       */
} plot_input;

/* A figure: 0 drawn, 1 skipped (note says why), 2 not a figure of this
 * recording (skipped without a note), -1 failed (note says why). */
typedef int (*plot_draw_fn)(svg_doc *d, const plot_input *in, char *note, size_t n);

/* The colour of series i of n: viridis without its light yellow end,
 * which is hard to see on white. */
static void series_color(int i, int n, char hex[8])
{
    svg_viridis(n > 1 ? 0.85 * i / (n - 1) : 0, hex);
}

static void min_max(const double *v, size_t count, size_t stride, double *lo, double *hi)
{
    for (size_t i = 0; i < count; i++) {
        double x = v[i * stride];
        if (isfinite(x)) {
            if (x < *lo)
                *lo = x;
            if (x > *hi)
                *hi = x;
        }
    }
}

/* --- loss.svg --- */

#define LOSS_MAX_POINTS 4000   /* more rows: each bucket's min and max */

static int draw_loss(svg_doc *d, const plot_input *in, char *note, size_t n)
{
    const plot_log *lg = in->log;
    if (!lg) {
        snprintf(note, n, "no training log (log.csv)");
        return 1;
    }
    int n_series = lg->n_cols - 4;     /* loss and the terms */
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    min_max(lg->v, (size_t)lg->n_rows, (size_t)lg->n_cols, &xlo, &xhi);
    for (int r = 0; r < lg->n_rows; r++)
        for (int s = 0; s < n_series; s++) {
            double y = lg->v[(size_t)r * lg->n_cols + 1 + s];
            if (y > 0 && isfinite(y)) {
                ylo = fmin(ylo, y);
                yhi = fmax(yhi, y);
            }
        }
    svg_begin(d, 680, 440, "Training loss");
    svg_axes a;
    svg_axes_fit(&a, 80, 40, 420, 340, xlo, xhi, 0, ylo, yhi, 1, 6, 5);
    svg_axes_draw(d, &a, "batch", "loss (log scale)", "Training loss");
    svg_axes_clip(d, &a, "clip-loss");
    int bucket = (lg->n_rows + LOSS_MAX_POINTS / 2 - 1) / (LOSS_MAX_POINTS / 2);
    if (lg->n_rows <= LOSS_MAX_POINTS)
        bucket = 1;
    double *xs = malloc(2 * ((size_t)lg->n_rows + 1) * sizeof *xs);
    double *ys = malloc(2 * ((size_t)lg->n_rows + 1) * sizeof *ys);
    svg_legend_entry *le = malloc((size_t)n_series * sizeof *le);
    char (*colors)[8] = malloc((size_t)n_series * sizeof *colors);
    if (!xs || !ys || !le || !colors) {
        free(xs), free(ys), free(le), free(colors);
        d->failed = 1;
        return -1;
    }
    for (int s = n_series - 1; s >= 0; s--) {   /* the total loss on top */
        int col = 1 + s, k = 0;
        if (s == 0)
            snprintf(colors[s], 8, "#000000");
        else
            series_color(s - 1, n_series - 1, colors[s]);
        for (int r0 = 0; r0 < lg->n_rows; r0 += bucket) {
            int r1 = r0 + bucket < lg->n_rows ? r0 + bucket : lg->n_rows;
            int rmin = -1, rmax = -1;
            for (int r = r0; r < r1; r++) {
                double y = lg->v[(size_t)r * lg->n_cols + col];
                if (!(y > 0) || !isfinite(y))
                    continue;
                if (rmin < 0 || y < lg->v[(size_t)rmin * lg->n_cols + col])
                    rmin = r;
                if (rmax < 0 || y > lg->v[(size_t)rmax * lg->n_cols + col])
                    rmax = r;
            }
            if (rmin < 0) {          /* nothing plottable: a gap */
                xs[k] = ys[k] = NAN;
                k++;
                continue;
            }
            int rr[2] = {rmin < rmax ? rmin : rmax, rmin < rmax ? rmax : rmin};
            for (int j = 0; j < (rr[0] == rr[1] ? 1 : 2); j++) {
                xs[k] = svg_axes_x(&a, lg->v[(size_t)rr[j] * lg->n_cols]);
                ys[k] = svg_axes_y(&a, lg->v[(size_t)rr[j] * lg->n_cols + col]);
                k++;
            }
        }
        char attrs[128];
        snprintf(attrs, sizeof attrs, "class=\"series\" data-column=\"%d\" stroke=\"%s\" "
                 "stroke-width=\"%s\" stroke-linejoin=\"round\"", col, colors[s],
                 s == 0 ? "1.6" : "1.1");
        svg_printf(d, "<g id=\"loss-%d\">\n", col);
        svg_polyline(d, xs, ys, k, attrs);
        if (k == 1 && isfinite(xs[0]))
            svg_circle(d, xs[0], ys[0], 2, "fill=\"#000000\"");
        svg_printf(d, "</g>\n");
        le[s] = (svg_legend_entry){lg->names[col], colors[s], 0, NULL};
    }
    svg_printf(d, "</g>\n");
    svg_legend(d, 510, 40, le, n_series);
    free(xs), free(ys), free(le), free(colors);
    (void)in;
    return 0;
}

/* --- paths.svg --- */

/* Widens [*lo, *hi] and [*lo2, *hi2] by 5 % of the larger span on each
 * side, so nothing drawn at the data's edge touches the frame. */
static void pad_ranges(double *lo, double *hi, double *lo2, double *hi2)
{
    double span = fmax(*hi - *lo, *hi2 - *lo2);
    if (!(span > 0) || !isfinite(span))
        return;
    *lo -= 0.05 * span, *hi += 0.05 * span;
    *lo2 -= 0.05 * span, *hi2 += 0.05 * span;
}

/* The position of episode e at state t, coordinate i. */
static double at(const plot_episodes *ep, const double *v, int e, int t, int i)
{
    return v[((size_t)e * (ep->T + 1) + t) * ep->P + i];
}

/* Where episode e is asked to go: goal, else the last target, else NaN. */
static void goal_of(const plot_episodes *ep, int e, double g[2])
{
    for (int i = 0; i < 2; i++)
        g[i] = ep->goal ? ep->goal[(size_t)e * ep->P + i]
             : ep->target ? at(ep, ep->target, e, ep->T, i) : NAN;
}

/* The curl field's inset: at eight outward velocities around a centre,
 * the force F = k [[0, 1], [-1, 0]] v (runtime/task.c) in red. */
static void curl_inset(svg_doc *d, double cx, double cy, double curl)
{
    svg_printf(d, "<g id=\"curl-field\" data-curl=\"%g\">\n", curl);
    svg_text(d, cx, cy - 50, "text-anchor=\"middle\" font-weight=\"bold\"", "curl field");
    svg_text(d, cx, cy - 37, "text-anchor=\"middle\" font-size=\"10\"", "load.curl = %g N s/m", curl);
    double sg = curl > 0 ? 1 : -1;
    for (int j = 0; j < 8; j++) {
        double th = j * M_PI / 4, vx = cos(th), vy = sin(th);
        double x0 = cx + 8 * vx, y0 = cy - 8 * vy, x1 = cx + 24 * vx, y1 = cy - 24 * vy;
        svg_arrow(d, x0, y0, x1, y1, 4, "#777777", 0.8);
        /* F direction: sg * (vy, -vx) in data space, y flipped on screen */
        svg_arrow(d, x1, y1, x1 + 13 * sg * vy, y1 + 13 * sg * vx, 4.5, "#d62728", 1.3);
    }
    svg_text(d, cx, cy + 46, "text-anchor=\"middle\" font-size=\"10\"", "grey: velocity");
    svg_text(d, cx, cy + 58, "text-anchor=\"middle\" font-size=\"10\" fill=\"#d62728\"",
             "red: force");
    svg_printf(d, "</g>\n");
}

static int draw_paths(svg_doc *d, const plot_input *in, char *note, size_t n)
{
    const plot_episodes *ep = in->ep;
    if (ep->P < 2) {
        snprintf(note, n, "the end point moves in %d dimension(s), paths need 2", ep->P);
        return 1;
    }
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    size_t states = (size_t)ep->N * (ep->T + 1);
    min_max(ep->pos, states, (size_t)ep->P, &xlo, &xhi);
    min_max(ep->pos + 1, states, (size_t)ep->P, &ylo, &yhi);
    for (int e = 0; e < ep->N; e++) {
        double g[2];
        goal_of(ep, e, g);
        min_max(g, 1, 1, &xlo, &xhi);
        min_max(g + 1, 1, 1, &ylo, &yhi);
    }
    svg_begin(d, 680, 480, "Hand paths");
    svg_axes a;
    pad_ranges(&xlo, &xhi, &ylo, &yhi);
    svg_axes_fit_equal(&a, 80, 40, 420, 380, xlo, xhi, ylo, yhi, 6);
    svg_axes_draw(d, &a, "x (m)", "y (m)", "Hand paths");
    svg_axes_clip(d, &a, "clip-paths");
    /* each path in pieces, each piece coloured by its time */
    int pieces = 6000 / (ep->N > 0 ? ep->N : 1);
    pieces = pieces < 4 ? 4 : pieces > ep->T ? ep->T : pieces;
    double xs[64], ys[64];
    for (int e = 0; e < ep->N; e++) {
        svg_printf(d, "<g id=\"path-%d\" data-episode=\"%d\" stroke-width=\"1.2\" "
                   "stroke-linecap=\"round\">\n", e, e);
        for (int p = 0; p < pieces; p++) {
            int t0 = (int)((long)ep->T * p / pieces), t1 = (int)((long)ep->T * (p + 1) / pieces);
            char hex[8], attrs[64];
            svg_viridis((t0 + t1) * 0.5 / ep->T, hex);
            snprintf(attrs, sizeof attrs, "stroke=\"%s\"", hex);
            /* at most 64 points a piece: longer pieces are split */
            for (int s = t0; s < t1; s += 63) {
                int k = 0;
                for (int t = s; t <= t1 && k < 64; t++, k++) {
                    xs[k] = svg_axes_x(&a, at(ep, ep->pos, e, t, 0));
                    ys[k] = svg_axes_y(&a, at(ep, ep->pos, e, t, 1));
                }
                svg_polyline(d, xs, ys, k, attrs);
            }
        }
        svg_printf(d, "</g>\n");
    }
    for (int e = 0; e < ep->N; e++) {
        double g[2];
        goal_of(ep, e, g);
        if (isfinite(g[0]) && isfinite(g[1])) {
            char attrs[128];
            snprintf(attrs, sizeof attrs, "class=\"target\" data-episode=\"%d\" fill=\"none\" "
                     "stroke=\"#d62728\" stroke-width=\"1.2\"", e);
            svg_circle(d, svg_axes_x(&a, g[0]), svg_axes_y(&a, g[1]), 4, attrs);
        }
        if (ep->start)
            svg_circle(d, svg_axes_x(&a, ep->start[(size_t)e * ep->P]),
                       svg_axes_y(&a, ep->start[(size_t)e * ep->P + 1]), 2.5,
                       "class=\"start\" fill=\"#444444\"");
    }
    svg_printf(d, "</g>\n");
    svg_colorbar(d, 530, 40, 14, 200, 0, ep->T * ep->step, "time (s)", "time-gradient");
    svg_legend_entry le[2] = {{"target", "#d62728", 1, NULL}, {"start", "#444444", 1, NULL}};
    svg_legend(d, 525, 260, le, ep->start ? 2 : 1);
    if (ep->curl != 0)
        curl_inset(d, 575, 385, ep->curl);
    return 0;
}

/* --- body.svg --- */

#define BODY_SNAPSHOTS 6

static int draw_body(svg_doc *d, const plot_input *in, char *note, size_t n)
{
    const plot_episodes *ep = in->ep;
    if (!ep->body) {
        snprintf(note, n, "the recording has no body.points (the effector's drawing points)");
        return 1;
    }
    if (ep->P < 2) {
        snprintf(note, n, "the body moves in %d dimension(s), drawing it needs 2", ep->P);
        return 1;
    }
    int e = in->episode, K = ep->K, P = ep->P;
    const double *b = ep->body + (size_t)e * (ep->T + 1) * K * P;
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    min_max(b, (size_t)(ep->T + 1) * K, (size_t)P, &xlo, &xhi);
    min_max(b + 1, (size_t)(ep->T + 1) * K, (size_t)P, &ylo, &yhi);
    double g[2];
    goal_of(ep, e, g);
    min_max(g, 1, 1, &xlo, &xhi);
    min_max(g + 1, 1, 1, &ylo, &yhi);
    char title[64];
    snprintf(title, sizeof title, "Body, episode %d", e);
    svg_begin(d, 680, 480, title);
    svg_axes a;
    pad_ranges(&xlo, &xhi, &ylo, &yhi);
    svg_axes_fit_equal(&a, 80, 40, 420, 380, xlo, xhi, ylo, yhi, 6);
    svg_axes_draw(d, &a, "x (m)", "y (m)", title);
    svg_axes_clip(d, &a, "clip-body");
    /* the hand's path */
    double *xs = malloc((size_t)(ep->T + 1 + K) * sizeof *xs);
    double *ys = malloc((size_t)(ep->T + 1 + K) * sizeof *ys);
    if (!xs || !ys) {
        free(xs), free(ys);
        d->failed = 1;
        return -1;
    }
    for (int t = 0; t <= ep->T; t++) {
        xs[t] = svg_axes_x(&a, at(ep, ep->pos, e, t, 0));
        ys[t] = svg_axes_y(&a, at(ep, ep->pos, e, t, 1));
    }
    svg_polyline(d, xs, ys, ep->T + 1,
                 "id=\"hand-path\" stroke=\"#888888\" stroke-width=\"1\" stroke-dasharray=\"3 2\"");
    for (int s = 0; s < BODY_SNAPSHOTS; s++) {
        int t = (int)lround((double)ep->T * s / (BODY_SNAPSHOTS - 1));
        char hex[8], attrs[160];
        svg_viridis(0.9 * s / (BODY_SNAPSHOTS - 1), hex);
        for (int k = 0; k < K; k++) {
            xs[k] = svg_axes_x(&a, b[((size_t)t * K + k) * P]);
            ys[k] = svg_axes_y(&a, b[((size_t)t * K + k) * P + 1]);
        }
        snprintf(attrs, sizeof attrs, "class=\"snapshot\" data-step=\"%d\" stroke=\"%s\" "
                 "stroke-width=\"3\" stroke-linejoin=\"round\" stroke-linecap=\"round\"", t, hex);
        svg_polyline(d, xs, ys, K, attrs);
        snprintf(attrs, sizeof attrs, "fill=\"#ffffff\" stroke=\"%s\" stroke-width=\"1.5\"", hex);
        for (int k = 0; k < K; k++)
            svg_circle(d, xs[k], ys[k], k == 0 || k == K - 1 ? 3.5 : 2.5, attrs);
    }
    if (isfinite(g[0]) && isfinite(g[1]))
        svg_circle(d, svg_axes_x(&a, g[0]), svg_axes_y(&a, g[1]), 5,
                   "class=\"target\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\"");
    svg_printf(d, "</g>\n");
    free(xs), free(ys);
    svg_colorbar(d, 530, 40, 14, 200, 0, ep->T * ep->step, "time (s)", "time-gradient");
    svg_legend_entry le[2] = {{"hand path", "#888888", 0, "3 2"}, {"target", "#d62728", 1, NULL}};
    svg_legend(d, 525, 260, le, 2);
    return 0;
}

/* --- speed.svg --- */

static int draw_speed(svg_doc *d, const plot_input *in, char *note, size_t n)
{
    const plot_episodes *ep = in->ep;
    int T1 = ep->T + 1;
    double *sp = malloc((size_t)ep->N * T1 * sizeof *sp);   /* (N x T+1) */
    double *mean = calloc((size_t)T1, sizeof *mean);
    double *xs = malloc((size_t)T1 * sizeof *xs), *ys = malloc((size_t)T1 * sizeof *ys);
    if (!sp || !mean || !xs || !ys) {
        free(sp), free(mean), free(xs), free(ys);
        d->failed = 1;
        return -1;
    }
    double hi = 0;
    for (int e = 0; e < ep->N; e++)
        for (int t = 0; t < T1; t++) {
            double s2 = 0;
            for (int i = 0; i < ep->P; i++)
                s2 += at(ep, ep->vel, e, t, i) * at(ep, ep->vel, e, t, i);
            double s = sqrt(s2);
            sp[(size_t)e * T1 + t] = s;
            mean[t] += s / ep->N;
            if (isfinite(s) && s > hi)
                hi = s;
        }
    svg_begin(d, 680, 440, "End-point speed");
    svg_axes a;
    svg_axes_fit(&a, 80, 40, 420, 340, 0, ep->T * ep->step, 0, 0, hi, 0, 6, 5);
    svg_axes_draw(d, &a, "time (s)", "speed (m/s)", "End-point speed");
    svg_axes_clip(d, &a, "clip-speed");
    for (int t = 0; t < T1; t++)
        xs[t] = svg_axes_x(&a, t * ep->step);
    svg_printf(d, "<g id=\"speed-episodes\" stroke=\"#b0b0b0\" stroke-width=\"0.7\">\n");
    for (int e = 0; e < ep->N; e++) {
        for (int t = 0; t < T1; t++)
            ys[t] = svg_axes_y(&a, sp[(size_t)e * T1 + t]);
        svg_polyline(d, xs, ys, T1, NULL);
    }
    svg_printf(d, "</g>\n");
    for (int t = 0; t < T1; t++)
        ys[t] = svg_axes_y(&a, mean[t]);
    svg_polyline(d, xs, ys, T1, "id=\"speed-mean\" stroke=\"#000000\" stroke-width=\"2\"");
    for (int t = 0; t < T1; t++)
        ys[t] = svg_axes_y(&a, sp[(size_t)in->episode * T1 + t]);
    char hex[8], attrs[96];
    svg_viridis(0.35, hex);
    snprintf(attrs, sizeof attrs, "id=\"speed-episode\" stroke=\"%s\" stroke-width=\"1.6\"", hex);
    svg_polyline(d, xs, ys, T1, attrs);
    double go = ep->go_time ? ep->go_time[in->episode] : NAN;
    int show_go = go >= 0 && go <= ep->T * ep->step;
    if (show_go)
        svg_line(d, svg_axes_x(&a, go), a.py, svg_axes_x(&a, go), a.py + a.ph,
                 "id=\"go-time\" stroke=\"#d62728\" stroke-width=\"1\" stroke-dasharray=\"4 3\"");
    svg_printf(d, "</g>\n");
    char l0[48], l2[48], l3[48];
    snprintf(l0, sizeof l0, "episodes (%d)", ep->N);
    snprintf(l2, sizeof l2, "episode %d", in->episode);
    snprintf(l3, sizeof l3, "go cue (episode %d)", in->episode);
    svg_legend_entry le[4] = {{l0, "#b0b0b0", 0, NULL}, {"mean", "#000000", 0, NULL},
                              {l2, hex, 0, NULL}, {l3, "#d62728", 0, "4 3"}};
    svg_legend(d, 510, 40, le, show_go ? 4 : 3);
    free(sp), free(mean), free(xs), free(ys);
    (void)note, (void)n;
    return 0;
}

/* --- muscles.svg --- */

/* The unit of a muscle row, by name (one table). */
static const struct {
    const char *row, *label;
} muscle_units[] = {
    {"activation", "activation"},
    {"excitation", "excitation"},
    {"force", "force (N)"},
    {"length", "length (m)"},
    {"velocity", "velocity (m/s)"},
    {"fiber_length", "fiber length (m)"},
    {"fiber_velocity", "fiber velocity (m/s)"},
};

static const char *muscle_label(const char *row)
{
    for (size_t i = 0; i < sizeof muscle_units / sizeof muscle_units[0]; i++)
        if (!strcmp(muscle_units[i].row, row))
            return muscle_units[i].label;
    return row;
}

#define MUSCLE_COLS 6          /* panels per line of muscles       */
#define MUSCLE_OTHERS 64       /* other episodes drawn in grey, at most */

static int draw_muscles(svg_doc *d, const plot_input *in, char *note, size_t n)
{
    const plot_episodes *ep = in->ep;
    if (ep->n_mrows == 0) {
        snprintf(note, n, "the recording has no muscle.<row> tensors");
        return 1;
    }
    int M = ep->M, R = ep->n_mrows, T1 = ep->T + 1;
    int cols = M < MUSCLE_COLS ? M : MUSCLE_COLS, lines = (M + cols - 1) / cols;
    double cw = 170, ch = 110, left = 70, top = 50;
    double W = left + cols * cw + 20, H = top + lines * (R * ch + 30) + 30;
    double *xs = malloc((size_t)T1 * sizeof *xs), *ys = malloc((size_t)T1 * sizeof *ys);
    if (!xs || !ys) {
        free(xs), free(ys);
        d->failed = 1;
        return -1;
    }
    char title[64];
    snprintf(title, sizeof title, "Muscles, episode %d", in->episode);
    svg_begin(d, W, H, title);
    svg_text(d, W / 2, 22, "text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\"", "%s", title);
    char hex[8];
    svg_viridis(0.35, hex);
    int step_e = ep->N > MUSCLE_OTHERS ? (ep->N + MUSCLE_OTHERS - 1) / MUSCLE_OTHERS : 1;
    for (int r = 0; r < R; r++) {
        /* one y range per row: the muscles compare */
        double lo = INFINITY, hi = -INFINITY;
        min_max(ep->mrow[r].v, (size_t)ep->N * T1 * M, 1, &lo, &hi);
        if (lo > 0 && (!strcmp(ep->mrow[r].name, "activation") || !strcmp(ep->mrow[r].name, "force")))
            lo = 0;
        for (int m = 0; m < M; m++) {
            int line = m / cols, col = m % cols;
            svg_axes a;
            svg_axes_fit(&a, left + col * cw, top + line * (R * ch + 30) + r * ch + 8, cw - 40,
                         ch - 45, 0, ep->T * ep->step, 0, lo, hi, 0, 4, 3);
            char cname[64];
            if (ep->muscle_names)
                snprintf(cname, sizeof cname, "%s", ep->muscle_names[m]);
            else
                snprintf(cname, sizeof cname, "muscle %d", m);
            svg_printf(d, "<g id=\"muscle-%d-%d\" data-muscle=\"%d\">\n", r, m, m);
            svg_axes_draw(d, &a, r == R - 1 ? "time (s)" : NULL,
                          col == 0 ? muscle_label(ep->mrow[r].name) : NULL, r == 0 ? cname : NULL);
            char clip[48];
            snprintf(clip, sizeof clip, "clip-m%d-%d", r, m);
            svg_axes_clip(d, &a, clip);
            for (int t = 0; t < T1; t++)
                xs[t] = svg_axes_x(&a, t * ep->step);
            for (int e = 0; e < ep->N; e += step_e) {
                if (e == in->episode)
                    continue;
                for (int t = 0; t < T1; t++)
                    ys[t] = svg_axes_y(&a, ep->mrow[r].v[((size_t)e * T1 + t) * M + m]);
                svg_polyline(d, xs, ys, T1, "stroke=\"#c8c8c8\" stroke-width=\"0.6\"");
            }
            for (int t = 0; t < T1; t++)
                ys[t] = svg_axes_y(&a, ep->mrow[r].v[((size_t)in->episode * T1 + t) * M + m]);
            char attrs[64];
            snprintf(attrs, sizeof attrs, "stroke=\"%s\" stroke-width=\"1.5\"", hex);
            svg_polyline(d, xs, ys, T1, attrs);
            svg_printf(d, "</g>\n</g>\n");
        }
    }
    free(xs), free(ys);
    (void)note;
    return 0;
}

/* --- hidden_heatmap.svg --- */

typedef struct unit_order {
    int unit;
    int module;   /* its module (0 in a plain network) */
    int peak;     /* the step of the unit's largest |h| */
} unit_order;

/* By module, then by the step of the peak, then by unit: sorted within a
 * module, never across modules. */
static int by_peak(const void *a, const void *b)
{
    const unit_order *x = a, *y = b;
    if (x->module != y->module)
        return (x->module > y->module) - (x->module < y->module);
    return x->peak != y->peak ? (x->peak > y->peak) - (x->peak < y->peak)
                              : (x->unit > y->unit) - (x->unit < y->unit);
}

/* A modular network's modules beside the heat map: a white line across the
 * cells between two modules, and on the right a bracket and the name of
 * each (rows ord[0..H), bottom up, grouped by module). */
static void heatmap_modules(svg_doc *d, const plot_episodes *ep, const unit_order *ord,
                            const svg_axes *a)
{
    int H = ep->H;
    double chh = a->ph / H, x1 = a->px + a->pw;
    svg_printf(d, "<g id=\"heatmap-modules\" data-modules=\"%d\">\n", ep->n_modules);
    for (int r0 = 0, r1; r0 < H; r0 = r1) {
        int m = ord[r0].module;
        for (r1 = r0 + 1; r1 < H && ord[r1].module == m; r1++)
            ;
        double y_bot = a->py + a->ph - r0 * chh, y_top = a->py + a->ph - r1 * chh;
        if (r0 > 0) {
            char attrs[96];
            snprintf(attrs, sizeof attrs, "class=\"module-sep\" data-row=\"%d\" stroke=\"#fff\" "
                     "stroke-width=\"1.5\"", r0);
            svg_line(d, a->px, y_bot, x1, y_bot, attrs);
        }
        svg_line(d, x1 + 4, y_bot - 1, x1 + 4, y_top + 1, "class=\"module-bracket\" stroke=\"#000\"");
        double band = y_bot - y_top, fs = band < 6 ? 6 : band > 10 ? 10 : band;
        char attrs[128];
        snprintf(attrs, sizeof attrs, "class=\"module-label\" data-units=\"%d\" font-size=\"%.0f\"",
                 r1 - r0, fs);
        svg_text(d, x1 + 8, 0.5 * (y_bot + y_top) + 0.35 * fs, attrs, "%s", ep->module_names[m]);
    }
    svg_printf(d, "</g>\n");
}

static int draw_heatmap(svg_doc *d, const plot_input *in, char *note, size_t n)
{
    const plot_episodes *ep = in->ep;
    if (!ep->hidden) {
        snprintf(note, n, "the recording has no hidden.<layer> tensors");
        return 1;
    }
    int H = ep->H, T = ep->T;
    const double *h = ep->hidden + (size_t)in->episode * T * H;   /* (T x H) */
    unit_order *ord = malloc((size_t)H * sizeof *ord);
    if (!ord) {
        d->failed = 1;
        return -1;
    }
    double lo = INFINITY, hi = -INFINITY;
    min_max(h, (size_t)T * H, 1, &lo, &hi);
    for (int u = 0; u < H; u++) {
        ord[u].unit = u;
        ord[u].module = ep->unit_module ? ep->unit_module[u] : 0;
        ord[u].peak = 0;
        for (int t = 1; t < T; t++)
            if (fabs(h[(size_t)t * H + u]) > fabs(h[(size_t)ord[u].peak * H + u]))
                ord[u].peak = t;
    }
    qsort(ord, (size_t)H, sizeof *ord, by_peak);
    if (!(hi > lo)) {
        double c = isfinite(lo) ? lo : 0;
        lo = c - 1;
        hi = c + 1;
    }
    /* a modular network's names need room right of the cells */
    double names_w = 0;
    for (int m = 0; m < ep->n_modules; m++) {
        double w = 14 + 6.0 * (double)strlen(ep->module_names[m]);
        names_w = w > names_w ? (w < 160 ? w : 160) : names_w;
    }
    double ph = H * 4.0 < 200 ? 200 : H * 4.0 > 560 ? 560 : H * 4.0;
    char title[64];
    snprintf(title, sizeof title, "Hidden units, episode %d", in->episode);
    svg_begin(d, 680 + names_w, ph + 100, title);
    /* the cells fill [0, T step] x [0, H] exactly: the axes are not widened */
    svg_axes a = {.px = 80, .py = 40, .pw = 440, .ph = ph, .x_lo = 0, .x_hi = T * ep->step,
                  .y_lo = 0, .y_hi = H};
    double lo_, hi_;
    svg_nice_range(0, T * ep->step, 6, &lo_, &hi_, &a.x_step);
    svg_nice_range(0, H, 6, &lo_, &hi_, &a.y_step);
    double cw = a.pw / T, chh = a.ph / H;
    svg_printf(d, "<g id=\"heatmap\" shape-rendering=\"crispEdges\" data-units=\"%d\" "
               "data-steps=\"%d\">\n", H, T);
    for (int r = 0; r < H; r++) {
        int u = ord[r].unit;
        double y = a.py + a.ph - (r + 1) * chh;
        for (int t = 0; t < T; t++) {
            char hex[8];
            svg_viridis((h[(size_t)t * H + u] - lo) / (hi - lo), hex);
            /* a hair wider than the cell: no seams between cells */
            char fill[24];
            snprintf(fill, sizeof fill, "fill=\"%s\"", hex);
            svg_rect(d, a.px + t * cw, y, cw + 0.3, chh + 0.3, fill);
        }
    }
    if (ep->n_modules > 0)
        heatmap_modules(d, ep, ord, &a);
    svg_printf(d, "</g>\n<desc id=\"heatmap-order\">");   /* the unit of each row, bottom up */
    for (int r = 0; r < H; r++)
        svg_printf(d, "%s%d", r ? " " : "", ord[r].unit);
    svg_printf(d, "</desc>\n");
    svg_axes_draw(d, &a, "time (s)", ep->n_modules > 0 ? "unit by module, sorted by peak |h|"
                                                   : "unit (sorted by time of peak |h|)", title);
    svg_colorbar(d, 540 + names_w, 40, 14, ph < 260 ? ph : 260, lo, hi, "hidden state h",
                 "heat-gradient");
    free(ord);
    return 0;
}

/* --- hidden_pca.svg --- */

static int draw_pca(svg_doc *d, const plot_input *in, char *note, size_t n)
{
    const plot_episodes *ep = in->ep;
    if (!ep->hidden) {
        snprintf(note, n, "the recording has no hidden.<layer> tensors");
        return 1;
    }
    long NT = (long)ep->N * ep->T;
    if (NT < 2) {
        snprintf(note, n, "one hidden state is too few for principal components");
        return 1;
    }
    int k = ep->H < 3 ? ep->H : 3, T = ep->T;
    mnet_pca pca;
    char err[256];
    if (mnet_pca_fit(&pca, ep->hidden, NT, ep->H, k, err, sizeof err) != 0) {
        snprintf(note, n, "%s", err);
        return -1;
    }
    double *z = malloc((size_t)NT * k * sizeof *z);   /* (N x T x k) */
    double *xs = malloc((size_t)T * sizeof *xs), *ys = malloc((size_t)T * sizeof *ys);
    if (!z || !xs || !ys) {
        free(z), free(xs), free(ys);
        mnet_pca_free(&pca);
        d->failed = 1;
        return -1;
    }
    mnet_pca_project(&pca, ep->hidden, NT, z);
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (int c = 0; c < k; c++)
        min_max(z + c, (size_t)NT, (size_t)k, &lo[c], &hi[c]);
    char lab[3][64];
    for (int c = 0; c < k; c++)
        snprintf(lab[c], sizeof lab[c], "PC%d (%.1f %% of variance)", c + 1,
                 pca.total_variance > 0 ? 100 * pca.variance[c] / pca.total_variance : 0);
    svg_begin(d, 900, 460, "Hidden state, principal components");
    /* left: PC1 vs PC2 (PC1 vs time's PC1 when only one) */
    svg_axes a;
    int c2 = k > 1 ? 1 : 0;
    svg_axes_fit(&a, 80, 40, 340, 340, lo[0], hi[0], 0, lo[c2], hi[c2], 0, 5, 5);
    svg_axes_draw(d, &a, lab[0], lab[c2], "PC1 vs PC2");
    svg_axes_clip(d, &a, "clip-pca");
    for (int e = 0; e < ep->N; e++) {
        char hex[8], attrs[96];
        series_color(e, ep->N, hex);
        for (int t = 0; t < T; t++) {
            xs[t] = svg_axes_x(&a, z[((size_t)e * T + t) * k]);
            ys[t] = svg_axes_y(&a, z[((size_t)e * T + t) * k + c2]);
        }
        snprintf(attrs, sizeof attrs, "class=\"pc-traj\" data-episode=\"%d\" stroke=\"%s\" "
                 "stroke-width=\"%s\"", e, hex, e == in->episode ? "2" : "0.9");
        svg_polyline(d, xs, ys, T, attrs);
        snprintf(attrs, sizeof attrs, "fill=\"%s\"", hex);
        svg_circle(d, xs[0], ys[0], 2, attrs);
    }
    svg_printf(d, "</g>\n");
    svg_text(d, 250, 440, "text-anchor=\"middle\" font-size=\"10\"",
             "one line per episode (colour), dot: first step");
    /* right: each component over time */
    for (int c = 0; c < k; c++) {
        svg_axes b;
        svg_axes_fit(&b, 560, 40 + c * 130, 300, 90, 0, T * ep->step, 0, lo[c], hi[c], 0, 5, 3);
        char yl[8], clip[16];
        snprintf(yl, sizeof yl, "PC%d", c + 1);
        svg_axes_draw(d, &b, c == k - 1 ? "time (s)" : NULL, yl, c == 0 ? "components over time" : NULL);
        snprintf(clip, sizeof clip, "clip-pc%d", c);
        svg_axes_clip(d, &b, clip);
        for (int t = 0; t < T; t++)
            xs[t] = svg_axes_x(&b, (t + 1) * ep->step);
        for (int e = 0; e < ep->N; e++) {
            char hex[8], attrs[64];
            series_color(e, ep->N, hex);
            for (int t = 0; t < T; t++)
                ys[t] = svg_axes_y(&b, z[((size_t)e * T + t) * k + c]);
            snprintf(attrs, sizeof attrs, "stroke=\"%s\" stroke-width=\"%s\"", hex,
                     e == in->episode ? "1.8" : "0.7");
            svg_polyline(d, xs, ys, T, attrs);
        }
        svg_printf(d, "</g>\n");
    }
    svg_printf(d, "<desc id=\"pca-variance\">");
    for (int c = 0; c < k; c++)
        svg_printf(d, "%s%.9g", c ? " " : "", pca.variance[c]);
    svg_printf(d, " of %.9g</desc>\n", pca.total_variance);
    free(z), free(xs), free(ys);
    mnet_pca_free(&pca);
    return 0;
}

/* --- hidden_pca_modules.svg --- */

#define PCA_MOD_COLS 3

/* A modular network: each module's own principal components (fitted to its
 * units alone), PC1 vs PC2, one panel per module.  Not drawn (2, no note)
 * for a plain network. */
static int draw_pca_modules(svg_doc *d, const plot_input *in, char *note, size_t n)
{
    const plot_episodes *ep = in->ep;
    if (!ep->hidden || ep->n_modules == 0)
        return 2;
    long NT = (long)ep->N * ep->T;
    if (NT < 2) {
        snprintf(note, n, "one hidden state is too few for principal components");
        return 1;
    }
    int H = ep->H, T = ep->T, M = ep->n_modules;
    int cols = M < PCA_MOD_COLS ? M : PCA_MOD_COLS, rows = (M + cols - 1) / cols;
    double *sub = malloc((size_t)NT * H * sizeof *sub);   /* (NT x H_m) */
    double *z = malloc((size_t)NT * 2 * sizeof *z);       /* (N x T x k) */
    double *xs = malloc((size_t)T * sizeof *xs), *ys = malloc((size_t)T * sizeof *ys);
    if (!sub || !z || !xs || !ys) {
        free(sub), free(z), free(xs), free(ys);
        d->failed = 1;
        return -1;
    }
    svg_begin(d, 40 + cols * 300, 40 + rows * 280, "Hidden state by module, principal components");
    int rc = 0;
    for (int m = 0; m < M && !rc; m++) {
        int Hm = 0;
        for (int u = 0; u < H; u++)
            Hm += ep->unit_module[u] == m;
        for (int u = 0, j = 0; u < H; u++)   /* the columns of module m, in unit order */
            if (ep->unit_module[u] == m) {
                for (long i = 0; i < NT; i++)
                    sub[i * Hm + j] = ep->hidden[i * H + u];
                j++;
            }
        int k = Hm < 2 ? Hm : 2;
        mnet_pca pca;
        char err[256];
        if (mnet_pca_fit(&pca, sub, NT, Hm, k, err, sizeof err) != 0) {
            snprintf(note, n, "%s", err);
            rc = -1;
            break;
        }
        mnet_pca_project(&pca, sub, NT, z);
        /* a module of one unit: its PC1 over time */
        double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
        for (int c = 0; c < k; c++)
            min_max(z + c, (size_t)NT, (size_t)k, &lo[c], &hi[c]);
        char lab[2][64], title[160];
        for (int c = 0; c < k; c++)
            snprintf(lab[c], sizeof lab[c], "PC%d (%.1f %%)", c + 1,
                     pca.total_variance > 0 ? 100 * pca.variance[c] / pca.total_variance : 0);
        snprintf(title, sizeof title, "%.120s (%d units)", ep->module_names[m], Hm);
        double px = 80 + (m % cols) * 300, py = 40 + (m / cols) * 280;
        svg_axes a;
        if (k == 2)
            svg_axes_fit(&a, px, py, 200, 200, lo[0], hi[0], 0, lo[1], hi[1], 0, 4, 4);
        else
            svg_axes_fit(&a, px, py, 200, 200, 0, T * ep->step, 0, lo[0], hi[0], 0, 4, 4);
        svg_axes_draw(d, &a, k == 2 ? lab[0] : "time (s)", k == 2 ? lab[1] : lab[0], title);
        char clip[32];
        snprintf(clip, sizeof clip, "clip-module-%d", m);
        svg_axes_clip(d, &a, clip);
        svg_printf(d, "<g class=\"module-pca\" data-module=\"");
        svg_escaped(d, ep->module_names[m]);
        svg_printf(d, "\" data-units=\"%d\" data-variance=\"", Hm);
        for (int c = 0; c < k; c++)
            svg_printf(d, "%.9g ", pca.variance[c]);
        svg_printf(d, "of %.9g\">\n", pca.total_variance);
        for (int e = 0; e < ep->N; e++) {
            char hex[8], attrs[96];
            series_color(e, ep->N, hex);
            for (int t = 0; t < T; t++) {
                const double *zt = z + ((size_t)e * T + t) * k;
                xs[t] = svg_axes_x(&a, k == 2 ? zt[0] : (t + 1) * ep->step);
                ys[t] = svg_axes_y(&a, k == 2 ? zt[1] : zt[0]);
            }
            snprintf(attrs, sizeof attrs, "data-episode=\"%d\" stroke=\"%s\" stroke-width=\"%s\"", e,
                     hex, e == in->episode ? "2" : "0.9");
            svg_polyline(d, xs, ys, T, attrs);
            snprintf(attrs, sizeof attrs, "fill=\"%s\"", hex);
            svg_circle(d, xs[0], ys[0], 2, attrs);
        }
        svg_printf(d, "</g>\n</g>\n");
        mnet_pca_free(&pca);
    }
    svg_text(d, 20 + cols * 150, 20 + rows * 280, "text-anchor=\"middle\" font-size=\"10\"",
             "each module's own components; one line per episode (colour), dot: first step");
    free(sub), free(z), free(xs), free(ys);
    return rc;
}

/* --- replay.svg --- */

#define REPLAY_MAX_FRAMES 240

static int draw_replay(svg_doc *d, const plot_input *in, char *note, size_t n)
{
    const plot_episodes *ep = in->ep;
    if (ep->P < 2) {
        snprintf(note, n, "the end point moves in %d dimension(s), the replay needs 2", ep->P);
        return 1;
    }
    int e = in->episode, T1 = ep->T + 1, K = ep->K, P = ep->P;
    const double *b = ep->body ? ep->body + (size_t)e * T1 * K * P : NULL;
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    const double *pos = ep->pos + (size_t)e * T1 * P;
    min_max(pos, (size_t)T1, (size_t)P, &xlo, &xhi);
    min_max(pos + 1, (size_t)T1, (size_t)P, &ylo, &yhi);
    if (b) {
        min_max(b, (size_t)T1 * K, (size_t)P, &xlo, &xhi);
        min_max(b + 1, (size_t)T1 * K, (size_t)P, &ylo, &yhi);
    }
    if (ep->target) {
        min_max(ep->target + (size_t)e * T1 * P, (size_t)T1, (size_t)P, &xlo, &xhi);
        min_max(ep->target + (size_t)e * T1 * P + 1, (size_t)T1, (size_t)P, &ylo, &yhi);
    }
    double dur = ep->T * ep->step;
    int stride = (T1 + REPLAY_MAX_FRAMES - 1) / REPLAY_MAX_FRAMES;
    char title[64];
    snprintf(title, sizeof title, "Replay, episode %d (%.2f s, loops)", e, dur);
    svg_begin(d, 560, 520, title);
    svg_axes a;
    pad_ranges(&xlo, &xhi, &ylo, &yhi);
    svg_axes_fit_equal(&a, 80, 40, 440, 400, xlo, xhi, ylo, yhi, 6);
    svg_axes_draw(d, &a, "x (m)", "y (m)", title);
    svg_axes_clip(d, &a, "clip-replay");
    /* the whole path, faint */
    double *xs = malloc((size_t)T1 * sizeof *xs), *ys = malloc((size_t)T1 * sizeof *ys);
    if (!xs || !ys) {
        free(xs), free(ys);
        d->failed = 1;
        return -1;
    }
    for (int t = 0; t < T1; t++) {
        xs[t] = svg_axes_x(&a, pos[(size_t)t * P]);
        ys[t] = svg_axes_y(&a, pos[(size_t)t * P + 1]);
    }
    svg_polyline(d, xs, ys, T1, "stroke=\"#cccccc\" stroke-width=\"1\"");
    /* the target, moving when it moves */
    if (ep->target) {
        const double *tg = ep->target + (size_t)e * T1 * P;
        svg_printf(d, "<circle id=\"replay-target\" cx=\"%.2f\" cy=\"%.2f\" r=\"6\" fill=\"none\" "
                   "stroke=\"#d62728\" stroke-width=\"1.5\">\n",
                   svg_axes_x(&a, tg[0]), svg_axes_y(&a, tg[1]));
        for (int c = 0; c < 2; c++) {
            svg_anim_begin(d, c ? "cy" : "cx", dur);
            for (int t = 0; t < T1; t += stride)
                svg_printf(d, "%s%.2f", t ? ";" : "",
                           c ? svg_axes_y(&a, tg[(size_t)t * P + 1]) : svg_axes_x(&a, tg[(size_t)t * P]));
            svg_anim_end(d);
        }
        svg_printf(d, "</circle>\n");
    }
    /* the body: its points' polyline, animated */
    if (b) {
        svg_printf(d, "<polyline id=\"replay-body\" fill=\"none\" stroke=\"#3b528b\" stroke-width=\"4\" "
                   "stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"");
        for (int k = 0; k < K; k++)
            svg_printf(d, "%s%.2f,%.2f", k ? " " : "", svg_axes_x(&a, b[(size_t)k * P]),
                       svg_axes_y(&a, b[(size_t)k * P + 1]));
        svg_printf(d, "\">\n");
        svg_anim_begin(d, "points", dur);
        for (int t = 0; t < T1; t += stride) {
            if (t)
                svg_printf(d, ";");
            for (int k = 0; k < K; k++)
                svg_printf(d, "%s%.2f,%.2f", k ? " " : "", svg_axes_x(&a, b[((size_t)t * K + k) * P]),
                           svg_axes_y(&a, b[((size_t)t * K + k) * P + 1]));
        }
        svg_anim_end(d);
        svg_printf(d, "</polyline>\n");
    }
    /* the hand: drawn at its first position, moved by offsets from there */
    svg_printf(d, "<circle id=\"replay-hand\" cx=\"%.2f\" cy=\"%.2f\" r=\"5\" fill=\"#21918c\" "
               "stroke=\"#000000\" stroke-width=\"0.8\">\n", xs[0], ys[0]);
    svg_anim_motion_begin(d, dur);
    for (int t = 0; t < T1; t += stride)
        svg_printf(d, "%s%.2f,%.2f", t ? ";" : "", xs[t] - xs[0], ys[t] - ys[0]);
    svg_anim_end(d);
    svg_printf(d, "</circle>\n</g>\n");
    /* a time bar under the plot */
    double bx = a.px, by = a.py + a.ph + 40, bw = a.pw;
    if (by + 20 > d->height)
        by = d->height - 20;
    svg_rect(d, bx, by, bw, 6, "fill=\"#eeeeee\"");
    svg_printf(d, "<rect id=\"replay-time\" x=\"%.2f\" y=\"%.2f\" width=\"0\" height=\"6\" "
               "fill=\"#21918c\">\n", bx, by);
    svg_anim_begin(d, "width", dur);
    svg_printf(d, "0;%.2f", bw);
    svg_anim_end(d);
    svg_printf(d, "</rect>\n");
    svg_text(d, bx, by + 18, NULL, "0 s");
    svg_text(d, bx + bw, by + 18, "text-anchor=\"end\"", "%.2f s", dur);
    free(xs), free(ys);
    return 0;
}

/* ==== the figures (one table) ==== */

static const struct {
    const char *file;
    plot_draw_fn draw;
    int needs_episodes; /* skipped, with a note, without a recording */
} plot_figures[] = {
    {"loss.svg", draw_loss, 0},
    {"paths.svg", draw_paths, 1},
    {"body.svg", draw_body, 1},
    {"speed.svg", draw_speed, 1},
    {"muscles.svg", draw_muscles, 1},
    {"hidden_heatmap.svg", draw_heatmap, 1},
    {"hidden_pca.svg", draw_pca, 1},
    {"hidden_pca_modules.svg", draw_pca_modules, 1},
    {"replay.svg", draw_replay, 1},
};
#define PLOT_N_FIGURES ((int)(sizeof plot_figures / sizeof plot_figures[0]))

/* ==== (c) writing, and the command ==== */

static int usage(FILE *out, int status)
{
    fputs("usage: mnet plot DIR|episodes.safetensors|log.csv [--out DIR] [--episode K]\n"
          "  DIR: a run's directory (its log.csv and episodes.safetensors)\n"
          "  --out DIR      where the figures go (default: figures/ beside the input)\n"
          "  --episode K    the episode of body, muscles, hidden_heatmap and replay (default 0)\n",
          out);
    return status;
}

/* mkdir -p.  0, or -1 with a message. */
static int make_dirs(const char *path, char *err, size_t n)
{
    char *p = strdup(path);
    if (!p) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char c = *s;
        *s = '\0';
        struct stat sb;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            snprintf(err, n, "cannot create the directory '%s': %s", p, strerror(errno));
            free(p);
            return -1;
        }
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            snprintf(err, n, "cannot write figures into '%s': '%s' is not a directory", path, p);
            free(p);
            return -1;
        }
        if (!c)
            break;
        *s = c;
    }
    free(p);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* dir/name, malloc'd */
static char *join(const char *dir, const char *name)
{
    size_t k = strlen(dir) + strlen(name) + 2;
    char *s = malloc(k);
    if (s)
        snprintf(s, k, "%s%s%s", dir, ends_with(dir, "/") ? "" : "/", name);
    return s;
}

int mnet_plot_main(int argc, char **argv)
{
    const char *input = NULL, *out_opt = NULL;
    long episode = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        if (!strcmp(a, "--out") && i + 1 < argc) {
            out_opt = argv[++i];
        } else if (!strcmp(a, "--episode") && i + 1 < argc) {
            char *e;
            errno = 0;
            episode = strtol(argv[++i], &e, 10);
            if (*e || e == argv[i] || errno || episode < 0) {
                fprintf(stderr, "mnet plot: --episode takes an episode number (0, 1, ...), not '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "mnet plot: unknown or incomplete option '%s'\n", a);
            return usage(stderr, 2);
        } else if (input) {
            fprintf(stderr, "mnet plot: more than one input ('%s' and '%s')\n", input, a);
            return usage(stderr, 2);
        } else {
            input = a;
        }
    }
    if (!input || !*input) {
        fprintf(stderr, "mnet plot: no input: give a run's directory or an episodes file\n");
        return usage(stderr, 2);
    }

    /* (a) what to read */
    char err[PLOT_ERR] = "";
    char *log_path = NULL, *ep_path = NULL, *out_dir = NULL;
    plot_log lg = {0};
    plot_episodes ep = {0};
    int have_log = 0, have_ep = 0, status = 1;
    svg_doc docs[PLOT_N_FIGURES];
    char *tmps[PLOT_N_FIGURES] = {0}, *finals[PLOT_N_FIGURES] = {0};
    int drawn[PLOT_N_FIGURES] = {0};
    memset(docs, 0, sizeof docs);
    struct stat sb;
    if (stat(input, &sb) != 0) {
        fprintf(stderr, "mnet plot: cannot read '%s': %s\n", input, strerror(errno));
        return 1;
    }
    if (S_ISDIR(sb.st_mode)) {
        log_path = join(input, "log.csv");
        ep_path = join(input, "episodes.safetensors");
        out_dir = out_opt ? strdup(out_opt) : join(input, "figures");
        if (!log_path || !ep_path || !out_dir)
            goto oom;
        have_log = access(log_path, F_OK) == 0;
        have_ep = access(ep_path, F_OK) == 0;
        if (!have_log && !have_ep) {
            fprintf(stderr, "mnet plot: '%s' holds neither log.csv nor episodes.safetensors "
                    "(hint: give the --out directory of `mnet train`)\n", input);
            goto done;
        }
    } else {
        /* a file: figures/ beside it */
        char *dir = strdup(input);
        if (!dir)
            goto oom;
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[1] = '\0';
        out_dir = out_opt ? strdup(out_opt) : join(slash ? dir : ".", "figures");
        free(dir);
        if (ends_with(input, ".csv")) {
            log_path = strdup(input);
            have_log = 1;
        } else {
            ep_path = strdup(input);
            have_ep = 1;
        }
        if (!out_dir || (!log_path && !ep_path))
            goto oom;
    }
    if (have_log && read_log(log_path, &lg, err, sizeof err) != 0) {
        fprintf(stderr, "mnet plot: %s\n", err);
        goto done;
    }
    if (have_ep && read_episodes(ep_path, &ep, err, sizeof err) != 0) {
        fprintf(stderr, "mnet plot: %s\n", err);
        goto done;
    }
    if (have_ep && episode >= ep.N) {
        fprintf(stderr, "mnet plot: --episode %ld: '%s' holds episodes 0 to %d\n", episode, ep_path,
                ep.N - 1);
        goto done;
    }
    if (!have_ep && episode != 0)
        printf("mnet plot: note: --episode %ld: there are no recorded episodes to choose from\n", episode);

    /* (b) every figure in memory */
    plot_input in = {have_log ? &lg : NULL, have_ep ? &ep : NULL, (int)episode};
    int n_drawn = 0;
    for (int f = 0; f < PLOT_N_FIGURES; f++) {
        char note[512] = "";
        if (plot_figures[f].needs_episodes && !in.ep)
            continue; /* a log alone: its figure only */
        int rc = plot_figures[f].draw(&docs[f], &in, note, sizeof note);
        if (rc == 2) {
            svg_free(&docs[f]);   /* not a figure of this recording (a plain network's) */
            continue;
        }
        if (rc == 1) {
            printf("mnet plot: note: %s skipped: %s\n", plot_figures[f].file, note);
            continue;
        }
        if (rc != 0 || svg_end(&docs[f]) != 0) {
            fprintf(stderr, "mnet plot: %s: %s\n", plot_figures[f].file,
                    note[0] ? note : "out of memory while drawing");
            goto done;
        }
        drawn[f] = 1;
        n_drawn++;
    }
    if (!have_ep)
        printf("mnet plot: note: no episodes.safetensors: only the loss is drawn "
               "(hint: record episodes to draw paths, muscles and hidden states)\n");

    /* (c) all written to temporaries, then all renamed */
    if (make_dirs(out_dir, err, sizeof err) != 0) {
        fprintf(stderr, "mnet plot: %s\n", err);
        goto done;
    }
    for (int f = 0; f < PLOT_N_FIGURES; f++) {
        if (!drawn[f])
            continue;
        if (!(finals[f] = join(out_dir, plot_figures[f].file)))
            goto oom;
        if (svg_write_temp(&docs[f], finals[f], &tmps[f], err, sizeof err) != 0) {
            fprintf(stderr, "mnet plot: %s\n", err);
            goto done;
        }
    }
    for (int f = 0; f < PLOT_N_FIGURES; f++) {
        if (!tmps[f])
            continue;
        if (svg_commit(tmps[f], finals[f], err, sizeof err) != 0) {
            fprintf(stderr, "mnet plot: %s\n", err);
            free(tmps[f]);
            tmps[f] = NULL;
            goto done;
        }
        free(tmps[f]);
        tmps[f] = NULL;
        printf("wrote %s\n", finals[f]);
    }
    (void)n_drawn;
    status = 0;
    goto done;
oom:
    fprintf(stderr, "mnet plot: out of memory\n");
done:
    for (int f = 0; f < PLOT_N_FIGURES; f++) {
        if (tmps[f]) {
            unlink(tmps[f]);
            free(tmps[f]);
        }
        free(finals[f]);
        svg_free(&docs[f]);
    }
    free(log_path);
    free(ep_path);
    free(out_dir);
    log_free(&lg);
    episodes_free(&ep);
    return status;
}
