/* mnet_sweep.c - `mnet sweep`: many runs of one file (docs/sweeps.md).
 *
 * The stages, in order:
 *   1. parse the command line into a grid (sweep_grid): the file, its task,
 *      the axes (--set NAME=V1,V2,...), the seeds, --batches;
 *   2. check the whole grid before anything is created: the file compiles,
 *      every value of every axis passes the language's checks (task_set or a
 *      model parameter's range, as `mnet train --set` does), every
 *      combination of values passes mnet_task_check, the grid has at most
 *      MNET_SWEEP_MAX_RUNS runs without --yes, and two runs never share a
 *      directory;
 *   3. DIR/sweep.txt: written on the first call; on a rerun the grid must be
 *      the one it records (else refused, with what differs);
 *   4. each run: finished (a checkpoint whose batch count is the run's
 *      length, and its outputs) is skipped; one with a checkpoint is resumed
 *      (`mnet train ... --resume`); any other starts anew (`--force`: a run
 *      killed before its first checkpoint left nothing worth keeping).
 *      Runs are children running this binary (/proc/self/exe train ...),
 *      --jobs at once, each with cores/jobs threads, their output appended
 *      to DIR/<run>/train.out;
 *   5. DIR/summary.csv: rebuilt from the run directories at the start and
 *      rewritten atomically after every run that ends.
 *
 * Under mpirun (`mpirun -np R mnet sweep ...`, issue 14 item 3) every rank
 * runs these stages: each checks the grid (rank 0 speaks), rank 0 alone
 * does 3 and 5 and holds DIR's lock, and the runs of 4 go to the ranks
 * through the dynamic queue of tools/mnet_mpi.h, --jobs at a time per rank
 * (see "across ranks" below).
 *
 * Exit status: 0; 1 when a run failed (named at the end); 2 when the grid is
 * refused (nothing was created or run); 130 when interrupted.
 */
#define _GNU_SOURCE /* sched_getaffinity: the cores mpirun bound a rank to */
#include "mnet_sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mnet_checkpoint.h"
#include "mnet_mpi.h"
#include "mnet_outdir.h"
#include "mnet_session.h"
#include "svg.h"

#define MNET_SWEEP_MAX_RUNS 10000       /* more needs --yes                  */
#define MNET_SWEEP_HARD_MAX 1000000     /* never more (memory, names)        */
#define MNET_SWEEP_MAX_AXES 64
#define MNET_SWEEP_NAME_MAX 200         /* bytes of a run's directory name   */
#define MNET_SWEEP_FILE "sweep.txt"
#define MNET_SWEEP_SUMMARY "summary.csv"
#define MNET_SWEEP_OUT "train.out"

/* ==== the grid ==== */

typedef struct {
    char *name;                 /* the setting or parameter, as given     */
    char *spec;                 /* "V1,V2,..." as given                   */
    int n_values;
    char **values;              /* (n_values) split at top-level commas   */
} sweep_axis;

typedef struct {
    const char *file;           /* FILE.mnet as given                     */
    char task[256];             /* the task trained (resolved)            */
    char hash[64];              /* the sources' hash (with imports)       */
    const char *batches;        /* --batches, or NULL (each run's own)    */
    char *seeds_spec;           /* canonical: "1-3,7"                     */
    int n_seeds;
    uint64_t *seeds;            /* (n_seeds)                              */
    int n_axes;
    sweep_axis axes[MNET_SWEEP_MAX_AXES];
    long n_combos, n_runs;      /* run r = combo (r / n_seeds), seed (r % n_seeds) */
} sweep_grid;

typedef enum { RUN_PENDING, RUN_RUNNING, RUN_DONE, RUN_FAILED, RUN_INTERRUPTED } run_state;

typedef struct {
    long batches;               /* rows of log.csv                        */
    double last100, best100;    /* rolling means of the loss (NAN: none)  */
    double val;                 /* validation mean loss (NAN: none)       */
    double train_s;             /* sum of log.csv's ms                    */
} run_metrics;

typedef struct {
    char *name;                 /* directory name under DIR               */
    long length;                /* batches the run trains                 */
    run_state state;
    int skipped;                /* finished before this call              */
    pid_t pid;
    double t_start;             /* seconds, when it was started           */
    int exit_code;              /* of a failed run                        */
    run_metrics m;
} sweep_run;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "mnet: sweep: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xcalloc(n + 1, 1);
    memcpy(p, s, n);
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void grid_free(sweep_grid *g)
{
    for (int k = 0; k < g->n_axes; k++) {
        for (int i = 0; i < g->axes[k].n_values; i++)
            free(g->axes[k].values[i]);
        free(g->axes[k].values);
        free(g->axes[k].name);
        free(g->axes[k].spec);
    }
    free(g->seeds);
    free(g->seeds_spec);
    memset(g, 0, sizeof *g);
}

/* NAME=V1,V2,... into axis a: values split at commas outside brackets (a
 * vector value "[0.5, -0.25]" is one value).  0, or -1 with a message. */
static int axis_parse(sweep_axis *a, const char *arg, char *err, size_t n)
{
    const char *eq = strchr(arg, '=');
    memset(a, 0, sizeof *a);
    if (!eq || eq == arg) {
        snprintf(err, n, "--set takes NAME=V1,V2,..., not '%s'", arg);
        return -1;
    }
    a->name = xcalloc((size_t)(eq - arg) + 1, 1);
    memcpy(a->name, arg, (size_t)(eq - arg));
    a->spec = xstrdup(eq + 1);
    int cap = 1;
    for (const char *p = eq + 1; *p; p++)
        cap += *p == ',';
    a->values = xcalloc((size_t)cap, sizeof *a->values);
    const char *start = eq + 1;
    int depth = 0;
    for (const char *p = start;; p++) {
        if (*p == '[' || *p == '(')
            depth++;
        else if ((*p == ']' || *p == ')') && depth > 0)
            depth--;
        if (*p == '\0' || (*p == ',' && depth == 0)) {
            const char *b = start, *e = p;
            while (b < e && (*b == ' ' || *b == '\t'))
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (b == e) {
                snprintf(err, n, "--set %s: an empty value in '%s'%s", a->name, a->spec,
                         *a->spec ? "" : " (give at least one value)");
                return -1;
            }
            char *v = xcalloc((size_t)(e - b) + 1, 1);
            memcpy(v, b, (size_t)(e - b));
            for (int i = 0; i < a->n_values; i++)
                if (!strcmp(a->values[i], v)) {
                    snprintf(err, n, "--set %s: the value '%s' is given twice", a->name, v);
                    free(v);
                    return -1;
                }
            a->values[a->n_values++] = v;
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* "1-10", "1,3,5", "1-3,7": the seeds, sorted, each once; the canonical
 * spec (ranges re-joined) in g->seeds_spec.  0, or -1 with a message. */
static int seeds_parse(sweep_grid *g, const char *spec, char *err, size_t n)
{
    size_t cap = 16, count = 0;
    uint64_t *s = xcalloc(cap, sizeof *s);
    const uint64_t max = (uint64_t)1 << 53;
    const char *p = spec;
    if (!*p) {
        snprintf(err, n, "--seeds: no seeds (give e.g. 1-10)");
        goto fail;
    }
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9') {
            snprintf(err, n, "--seeds: '%s' is not a list of whole numbers and ranges (e.g. 1-10 or 1,3,5-8)", spec);
            goto fail;
        }
        errno = 0;
        unsigned long long lo = strtoull(p, &end, 10), hi = lo;
        if (errno == 0 && *end == '-') {
            p = end + 1;
            if (*p < '0' || *p > '9') {
                snprintf(err, n, "--seeds: '%s' is not a list of whole numbers and ranges (e.g. 1-10)", spec);
                goto fail;
            }
            hi = strtoull(p, &end, 10);
        }
        if (errno != 0 || lo >= max || hi >= max) {
            snprintf(err, n, "--seeds: a seed in '%s' is not below 2^53", spec);
            goto fail;
        }
        if (hi < lo) {
            snprintf(err, n, "--seeds: the range %llu-%llu is empty (its end is below its start)", lo, hi);
            goto fail;
        }
        if (hi - lo >= (unsigned long long)MNET_SWEEP_HARD_MAX || count + (hi - lo + 1) > MNET_SWEEP_HARD_MAX) {
            snprintf(err, n, "--seeds: more than %d seeds", MNET_SWEEP_HARD_MAX);
            goto fail;
        }
        for (unsigned long long v = lo; v <= hi; v++) {
            if (count == cap) {
                cap *= 2;
                uint64_t *t = realloc(s, cap * sizeof *s);
                if (!t)
                    abort();
                s = t;
            }
            s[count++] = v;
        }
        if (*end == '\0')
            break;
        if (*end != ',') {
            snprintf(err, n, "--seeds: unexpected '%c' in '%s' (e.g. 1-10 or 1,3,5-8)", *end, spec);
            goto fail;
        }
        p = end + 1;
    }
    qsort(s, count, sizeof *s, cmp_u64);
    for (size_t i = 1; i < count; i++)
        if (s[i] == s[i - 1]) {
            snprintf(err, n, "--seeds: seed %llu is given twice in '%s'", (unsigned long long)s[i], spec);
            goto fail;
        }
    /* canonical: runs of consecutive seeds as ranges */
    size_t len = 0, scap = count * 44 + 1;
    char *c = xcalloc(scap, 1);
    for (size_t i = 0; i < count;) {
        size_t j = i;
        while (j + 1 < count && s[j + 1] == s[j] + 1)
            j++;
        if (j == i)
            len += (size_t)snprintf(c + len, scap - len, "%s%llu", i ? "," : "", (unsigned long long)s[i]);
        else
            len += (size_t)snprintf(c + len, scap - len, "%s%llu-%llu", i ? "," : "", (unsigned long long)s[i],
                                    (unsigned long long)s[j]);
        i = j + 1;
    }
    g->seeds = s;
    g->n_seeds = (int)count;
    g->seeds_spec = c;
    return 0;
fail:
    free(s);
    return -1;
}

/* The number of combinations and runs; -1 when over MNET_SWEEP_HARD_MAX. */
static int grid_count(sweep_grid *g)
{
    double runs = g->n_seeds;
    long combos = 1;
    for (int k = 0; k < g->n_axes; k++) {
        runs *= g->axes[k].n_values;
        if (runs > MNET_SWEEP_HARD_MAX)
            return -1;
        combos *= g->axes[k].n_values;
    }
    g->n_combos = combos;
    g->n_runs = combos * g->n_seeds;
    return 0;
}

/* The value index of axis k in combination c (the last axis varies fastest). */
static int combo_value(const sweep_grid *g, long c, int k)
{
    for (int j = g->n_axes - 1; j > k; j--)
        c /= g->axes[j].n_values;
    return (int)(c % g->axes[k].n_values);
}

/* ==== run names ==== */

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* "load.curl=15,seed=3": the axes' values, then the seed; every byte but
 * letters, digits and . _ + - = , becomes '_' (no '/', no space, no leading
 * '.'); a name longer than MNET_SWEEP_NAME_MAX is cut and ends with '~' and
 * a hash of the whole.  malloc'd. */
static char *run_name(const sweep_grid *g, long r)
{
    long c = r / g->n_seeds;
    size_t cap = 64;
    for (int k = 0; k < g->n_axes; k++)
        cap += strlen(g->axes[k].name) + strlen(g->axes[k].values[combo_value(g, c, k)]) + 2;
    char *s = xcalloc(cap, 1);
    size_t len = 0;
    for (int k = 0; k < g->n_axes; k++)
        len += (size_t)snprintf(s + len, cap - len, "%s=%s,", g->axes[k].name, g->axes[k].values[combo_value(g, c, k)]);
    snprintf(s + len, cap - len, "seed=%llu", (unsigned long long)g->seeds[r % g->n_seeds]);
    uint32_t h = fnv1a(s);
    for (char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                 ch == '_' || ch == '+' || ch == '-' || ch == '=' || ch == ',';
        if (!ok)
            *p = '_';
    }
    if (s[0] == '.')
        s[0] = '_';
    if (strlen(s) > MNET_SWEEP_NAME_MAX)
        snprintf(s + MNET_SWEEP_NAME_MAX - 9, 10, "~%08x", (unsigned)h);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The runs of g, named; two runs with one name are refused.  NULL with a
 * message. */
static sweep_run *runs_new(const sweep_grid *g, char *err, size_t n)
{
    sweep_run *runs = xcalloc((size_t)g->n_runs, sizeof *runs);
    char **names = xcalloc((size_t)g->n_runs, sizeof *names);
    for (long r = 0; r < g->n_runs; r++) {
        runs[r].name = run_name(g, r);
        runs[r].m.last100 = runs[r].m.best100 = runs[r].m.val = NAN;
        names[r] = runs[r].name;
    }
    qsort(names, (size_t)g->n_runs, sizeof *names, cmp_str);
    for (long r = 1; r < g->n_runs; r++)
        if (!strcmp(names[r], names[r - 1])) {
            snprintf(err, n, "two runs would share the directory '%s' (values that differ only in characters "
                             "a file name cannot hold); give the values in another form", names[r]);
            free(names);
            for (long q = 0; q < g->n_runs; q++)
                free(runs[q].name);
            free(runs);
            return NULL;
        }
    free(names);
    return runs;
}

static void runs_free(sweep_run *runs, long n)
{
    for (long r = 0; r < n && runs; r++)
        free(runs[r].name);
    free(runs);
}

/* ==== checking the grid (as `mnet train --set` checks each value) ==== */

/* NAME=VALUE on a configuration and parameter table of run r (as `mnet
 * train --set`: mnet_run_apply).  0, or -1 with the language's message. */
static int apply_one(const mnet_run *r, mnet_task_config *cfg, double *values, const char *name, const char *value,
                     char *err, size_t n)
{
    return mnet_run_apply(r, cfg, values, name, value, err, n);
}

/* The canonical name of a setting (train.lr for lr), or name itself. */
static const char *canonical(const char *name)
{
    char err[256];
    const mnet_setting *s = mnet_setting_find(name, err, sizeof err);
    return s ? s->name : name;
}

/* Compiles the file and checks every value and every combination; fills
 * the task, the hash and each run's length.  0, or -1 (message printed). */
static int grid_check(sweep_grid *g, const char *task, sweep_run *runs)
{
    mnet_session s;
    session_init(&s);
    char err[1024];
    int rc = -1;
    double *values = NULL;
    if (session_load(&s, g->file, task, stderr, NULL) != 0) {
        fprintf(stderr, "mnet: sweep: %s does not compile (nothing was created)\n", g->file);
        goto done;
    }
    snprintf(g->task, sizeof g->task, "%s", s.run.task_name);
    snprintf(g->hash, sizeof g->hash, "%s", s.run.comp->source_hash);
    int np = s.run.model->n_params;
    values = xcalloc((size_t)np + 1, sizeof *values);
    for (int k = 0; k < g->n_axes; k++) {
        const char *cn = canonical(g->axes[k].name);
        if (!strcmp(cn, "train.seed")) {
            fprintf(stderr, "mnet: sweep: --set %s: the seeds are --seeds\n", g->axes[k].name);
            goto done;
        }
        if (!strcmp(cn, "train.threads")) {
            fprintf(stderr, "mnet: sweep: --set %s: threads are not part of a run (the sweep gives each run "
                            "cores/jobs threads; --jobs)\n", g->axes[k].name);
            goto done;
        }
        if (!strcmp(cn, "train.batches") && g->batches) {
            fprintf(stderr, "mnet: sweep: --batches and --set %s: not both\n", g->axes[k].name);
            goto done;
        }
        for (int j = 0; j < k; j++)
            if (!strcmp(canonical(g->axes[j].name), cn)) {
                fprintf(stderr, "mnet: sweep: --set %s and --set %s name the same setting\n", g->axes[j].name,
                        g->axes[k].name);
                goto done;
            }
        for (int v = 0; v < g->axes[k].n_values; v++) {
            mnet_task_config cfg = s.run.cfg;
            memcpy(values, s.run.param_values, (size_t)np * sizeof *values);
            if (apply_one(&s.run, &cfg, values, g->axes[k].name, g->axes[k].values[v], err, sizeof err) != 0) {
                fprintf(stderr, "mnet: sweep: --set %s=%s: %s\n", g->axes[k].name, g->axes[k].values[v], err);
                goto done;
            }
        }
    }
    for (int i = 0; i < g->n_seeds; i++) {
        mnet_task_config cfg = s.run.cfg;
        char v[32];
        snprintf(v, sizeof v, "%llu", (unsigned long long)g->seeds[i]);
        if (task_set(&cfg, "train.seed", v, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "mnet: sweep: --seeds: %s\n", err);
            goto done;
        }
    }
    for (long c = 0; c < g->n_combos; c++) {
        mnet_task_config cfg = s.run.cfg;
        memcpy(values, s.run.param_values, (size_t)np * sizeof *values);
        char what[1024] = "";
        size_t len = 0;
        for (int k = 0; k < g->n_axes; k++) {
            const char *v = g->axes[k].values[combo_value(g, c, k)];
            len += (size_t)snprintf(what + len, len < sizeof what ? sizeof what - len : 0, "%s%s=%s",
                                    k ? ", " : "", g->axes[k].name, v);
            if (len >= sizeof what)
                len = sizeof what - 1;
            apply_one(&s.run, &cfg, values, g->axes[k].name, v, err, sizeof err);
        }
        if (g->batches && task_set(&cfg, "train.batches", g->batches, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "mnet: sweep: --batches: %s\n", err);
            goto done;
        }
        if (mnet_task_check(&cfg, s.run.model, err, sizeof err) != 0 ||
            mnet_run_check_params(&s.run, values, err, sizeof err) != 0) {
            fprintf(stderr, "mnet: sweep: the run %s is refused: %s\n", *what ? what : "of the file", err);
            goto done;
        }
        for (int i = 0; i < g->n_seeds; i++)
            runs[c * g->n_seeds + i].length = cfg.n_batches;
    }
    rc = 0;
done:
    free(values);
    session_close(&s);
    return rc;
}

/* ==== DIR/sweep.txt ==== */

/* The grid as sweep.txt holds it, malloc'd. */
static char *grid_text(const sweep_grid *g)
{
    size_t cap = 1024 + strlen(g->file) + strlen(g->seeds_spec);
    for (int k = 0; k < g->n_axes; k++)
        cap += strlen(g->axes[k].name) + strlen(g->axes[k].spec) + 8;
    char *t = xcalloc(cap, 1);
    size_t len = (size_t)snprintf(t, cap,
                                  "# mnet sweep: the grid of this directory (docs/sweeps.md); a rerun must give "
                                  "the same\nmnet_sweep 1\nfile %s\nsources %s\ntask %s\nbatches %s\n",
                                  g->file, g->hash, g->task, g->batches ? g->batches : "(each run's own)");
    for (int k = 0; k < g->n_axes; k++)
        len += (size_t)snprintf(t + len, cap - len, "set %s=%s\n", g->axes[k].name, g->axes[k].spec);
    snprintf(t + len, cap - len, "seeds %s\nruns %ld\n", g->seeds_spec, g->n_runs);
    return t;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = xcalloc(cap, 1);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            char *t = realloc(b, cap);
            if (!t)
                abort();
            b = t;
        }
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

/* The value of line "KEY VALUE" in text (the first), copied; NULL. */
static char *text_get(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t ll = e ? (size_t)(e - p) : strlen(p);
        if (ll > kl && !strncmp(p, key, kl) && p[kl] == ' ') {
            char *v = xcalloc(ll - kl, 1);
            memcpy(v, p + kl + 1, ll - kl - 1);
            return v;
        }
        p = e ? e + 1 : NULL;
    }
    return NULL;
}

/* The "set" lines of text joined by "; " (malloc'd). */
static char *text_sets(const char *text)
{
    size_t cap = strlen(text) + 16, len = 0;
    char *v = xcalloc(cap, 1);
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t ll = e ? (size_t)(e - p) : strlen(p);
        if (ll > 4 && !strncmp(p, "set ", 4))
            len += (size_t)snprintf(v + len, cap - len, "%s%.*s", len ? "; " : "", (int)(ll - 4), p + 4);
        p = e ? e + 1 : NULL;
    }
    if (!len)
        snprintf(v, cap, "(none)");
    return v;
}

/* Compares the stored grid with this one; prints what differs.  Returns the
 * number of differences. */
static int grid_compare(const char *stored, const char *now, const char *dir)
{
    static const char *const keys[] = {"mnet_sweep", "sources", "task", "batches", "seeds"};
    int nd = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char *a = text_get(stored, keys[i]), *b = text_get(now, keys[i]);
        if (!a || !b || strcmp(a, b)) {
            if (!nd++)
                fprintf(stderr, "mnet: sweep: %s holds another sweep (%s/%s); what differs:\n", dir, dir,
                        MNET_SWEEP_FILE);
            if (!strcmp(keys[i], "sources"))
                fprintf(stderr, "  the file (with its imports): sources hash %s -> %s (the file was edited)\n",
                        a ? a : "(none)", b ? b : "(none)");
            else
                fprintf(stderr, "  %s: %s -> %s\n", keys[i], a ? a : "(none)", b ? b : "(none)");
        }
        free(a);
        free(b);
    }
    char *a = text_sets(stored), *b = text_sets(now);
    if (strcmp(a, b)) {
        if (!nd++)
            fprintf(stderr, "mnet: sweep: %s holds another sweep (%s/%s); what differs:\n", dir, dir, MNET_SWEEP_FILE);
        fprintf(stderr, "  --set: %s -> %s\n", a, b);
    }
    free(a);
    free(b);
    if (nd)
        fprintf(stderr, "  (rerun the sweep's own command to continue it, or give another --out)\n");
    return nd;
}

/* Writes text to path atomically: a temporary file beside it, fsynced,
 * renamed over it, the directory fsynced.  0, or -1 with a message. */
static int write_atomic(const char *path, const char *text, size_t len, char *err, size_t n)
{
    size_t pl = strlen(path);
    char *tmp = xcalloc(pl + 16, 1);
    snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, n, "cannot create a temporary file beside %s: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int bad = off < len || fchmod(fd, 0644) != 0 || fsync(fd) != 0;
    if (close(fd) != 0)
        bad = 1;
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, n, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
    return 0;
}

/* ==== a run's state on disk ==== */

static char *join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *p = xcalloc(n, 1);
    if (c)
        snprintf(p, n, "%s/%s/%s", a, b, c);
    else
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Batches in the checkpoint of run directory rd (-1: none or unreadable). */
static long ckpt_batches(const char *rd)
{
    char *p = join(rd, MNET_OUTDIR_CHECKPOINT, NULL), err[512];
    long b = -1;
    if (exists(p)) {
        mnet_checkpoint ck;
        if (mnet_checkpoint_load(p, &ck, err, sizeof err) == 0)
            b = ck.n_batches;
        mnet_checkpoint_free(&ck);
    }
    free(p);
    return b;
}

/* Finished: a checkpoint at the run's length, the log and the outputs. */
static int run_finished(const char *dir, const sweep_run *r)
{
    char *rd = join(dir, r->name, NULL);
    static const char *const outs[] = {MNET_OUTDIR_LOG, MNET_OUTDIR_WEIGHTS, MNET_OUTDIR_VALIDATION};
    int ok = 1;
    for (size_t i = 0; i < 3 && ok; i++) {
        char *p = join(rd, outs[i], NULL);
        ok = exists(p);
        free(p);
    }
    ok = ok && ckpt_batches(rd) == r->length;
    free(rd);
    return ok;
}

/* The metrics of run directory rd from its log.csv (rolling means over 100
 * batches of the finite losses; time from the ms column) and train.out (the
 * last "validation: ... mean loss X"). */
static void run_read_metrics(const char *rd, run_metrics *m)
{
    m->batches = 0;
    m->last100 = m->best100 = m->val = NAN;
    m->train_s = 0;
    char *p = join(rd, MNET_OUTDIR_LOG, NULL);
    char *log = read_all(p, NULL);
    free(p);
    if (log) {
        double ring[100], sum = 0;
        long nfin = 0;
        char *line = strchr(log, '\n');
        while (line && line[1]) {
            line++;
            char *e = strchr(line, '\n');
            if (e)
                *e = '\0';
            char *end;
            strtol(line, &end, 10);
            if (end != line && *end == ',') {
                double loss = strtod(end + 1, NULL);
                char *ms = strrchr(line, ',');
                m->train_s += ms ? strtod(ms + 1, NULL) / 1e3 : 0;
                m->batches++;
                if (isfinite(loss)) {
                    if (nfin >= 100)
                        sum -= ring[nfin % 100];
                    ring[nfin % 100] = loss;
                    sum += loss;
                    nfin++;
                    double mean = sum / (double)(nfin < 100 ? nfin : 100);
                    m->last100 = mean;
                    if (nfin >= 100 && (isnan(m->best100) || mean < m->best100))
                        m->best100 = mean;
                }
            }
            line = e;
        }
        if (nfin > 0 && nfin < 100)
            m->best100 = m->last100;
        free(log);
    }
    p = join(rd, MNET_SWEEP_OUT, NULL);
    char *out = read_all(p, NULL);
    free(p);
    for (char *q = out; q && (q = strstr(q, "validation: ")) != NULL; q++) {
        char *ml = strstr(q, "mean loss ");
        char *nl = strchr(q, '\n');
        if (ml && (!nl || ml < nl) && (q == out || q[-1] == '\n'))
            m->val = strtod(ml + 10, NULL);
    }
    free(out);
}

/* The last line of train.out that says what went wrong (an "mnet:" line,
 * else the last line), into buf. */
static void run_last_words(const char *rd, char *buf, size_t n)
{
    char *p = join(rd, MNET_SWEEP_OUT, NULL);
    char *out = read_all(p, NULL);
    free(p);
    buf[0] = '\0';
    const char *best = NULL;
    size_t best_len = 0;
    for (char *q = out; q && *q;) {
        char *e = strchr(q, '\n');
        size_t ll = e ? (size_t)(e - q) : strlen(q);
        if (ll > 0 && (!strncmp(q, "mnet:", 5) || !best || strncmp(best, "mnet:", 5))) {
            if (strncmp(q, "done batches=", 13) && strncmp(q, "== mnet sweep", 13)) {
                best = q;
                best_len = ll;
            }
        }
        q = e ? e + 1 : NULL;
    }
    if (best)
        snprintf(buf, n, "%.*s", (int)(best_len < 300 ? best_len : 300), best);
    free(out);
}

/* ==== DIR/summary.csv ==== */

/* A growing text. */
typedef struct {
    char *b;
    size_t len, cap;
} sbuf;

static void sb_put(sbuf *s, const char *t, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = 2 * (s->cap + n + 1);
        char *b = realloc(s->b, s->cap);
        if (!b)
            abort();
        s->b = b;
    }
    memcpy(s->b + s->len, t, n);
    s->len += n;
    s->b[s->len] = '\0';
}

static void sb_str(sbuf *s, const char *t)
{
    sb_put(s, t, strlen(t));
}

/* A CSV field: quoted (RFC 4180) when it holds a comma, a quote or a
 * newline ("[0.5, -0.25]"). */
static void sb_field(sbuf *s, const char *t)
{
    if (!strpbrk(t, ",\"\n")) {
        sb_str(s, t);
        return;
    }
    sb_put(s, "\"", 1);
    for (; *t; t++) {
        if (*t == '"')
            sb_put(s, "\"", 1); /* a quote is doubled */
        sb_put(s, t, 1);
    }
    sb_put(s, "\"", 1);
}

/* A number, or an empty field when not finite. */
static void sb_num(sbuf *s, double v, const char *fmt)
{
    char t[64] = "";
    if (isfinite(v))
        snprintf(t, sizeof t, fmt, v);
    sb_str(s, t);
}

static const char *state_name(const sweep_run *r)
{
    switch (r->state) {
    case RUN_DONE:
        return "done";
    case RUN_FAILED:
        return "failed";
    case RUN_RUNNING:
        return "running";
    case RUN_INTERRUPTED:
        return "interrupted";
    default:
        return r->m.batches > 0 ? "unfinished" : "not run";
    }
}

/* DIR/summary.csv: a row per run of the grid, written atomically. */
static int summary_write(const char *dir, const sweep_grid *g, const sweep_run *runs)
{
    sbuf s = {NULL, 0, 0};
    sb_str(&s, "run");
    for (int k = 0; k < g->n_axes; k++) {
        sb_str(&s, ",");
        sb_field(&s, g->axes[k].name);
    }
    sb_str(&s, ",seed,status,batches,loss_last100,best_loss_last100,val_loss,train_s\n");
    for (long r = 0; r < g->n_runs; r++) {
        const sweep_run *u = &runs[r];
        char t[64];
        sb_field(&s, u->name);
        for (int k = 0; k < g->n_axes; k++) {
            sb_str(&s, ",");
            sb_field(&s, g->axes[k].values[combo_value(g, r / g->n_seeds, k)]);
        }
        snprintf(t, sizeof t, ",%llu,%s,%ld,", (unsigned long long)g->seeds[r % g->n_seeds], state_name(u),
                 u->m.batches);
        sb_str(&s, t);
        sb_num(&s, u->m.last100, "%.6g");
        sb_str(&s, ",");
        sb_num(&s, u->m.best100, "%.6g");
        sb_str(&s, ",");
        sb_num(&s, u->m.val, "%.6g");
        sb_str(&s, ",");
        sb_num(&s, u->m.train_s, "%.3f");
        sb_str(&s, "\n");
    }
    char *path = join(dir, MNET_SWEEP_SUMMARY, NULL), err[1024];
    int rc = write_atomic(path, s.b, s.len, err, sizeof err);
    if (rc)
        fprintf(stderr, "mnet: sweep: %s\n", err);
    free(path);
    free(s.b);
    return rc;
}

/* ==== the command line ==== */

typedef struct {
    sweep_grid g;
    const char *task, *out;
    int jobs, yes;
} sweep_cmd;

static int sweep_usage(void)
{
    fprintf(stderr, "usage: mnet sweep FILE.mnet [--task NAME] --seeds 1-10 [--set NAME=V1,V2,...]... [--jobs N]\n"
                    "                  [--batches N] [--yes] --out DIR\n");
    return 2;
}

static int cmd_parse(sweep_cmd *c, int argc, char **argv)
{
    char err[1024];
    const char *seeds = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--task") && has) {
            c->task = argv[++i];
        } else if (!strcmp(a, "--out") && has) {
            c->out = argv[++i];
        } else if (!strcmp(a, "--seeds") && has) {
            seeds = argv[++i];
        } else if (!strcmp(a, "--batches") && has) {
            c->g.batches = argv[++i];
        } else if (!strcmp(a, "--jobs") && has) {
            char *end;
            long j = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || j < 1 || j > 4096) {
                fprintf(stderr, "mnet: sweep: --jobs takes a whole number from 1 to 4096, not '%s'\n", argv[i]);
                return 2;
            }
            c->jobs = (int)j;
        } else if (!strcmp(a, "--set") && has) {
            if (c->g.n_axes == MNET_SWEEP_MAX_AXES) {
                fprintf(stderr, "mnet: sweep: at most %d --set options\n", MNET_SWEEP_MAX_AXES);
                return 2;
            }
            sweep_axis *ax = &c->g.axes[c->g.n_axes++];
            if (axis_parse(ax, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "mnet: sweep: %s\n", err);
                return 2;
            }
        } else if (!strcmp(a, "--yes")) {
            c->yes = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "mnet: sweep: unknown or incomplete option '%s'\n", a);
            return sweep_usage();
        } else if (c->g.file) {
            fprintf(stderr, "mnet: sweep: more than one model file\n");
            return 2;
        } else {
            c->g.file = a;
        }
    }
    if (!c->g.file || !c->out || !seeds) {
        fprintf(stderr, "mnet: sweep: %s\n", !c->g.file ? "no model file" : !c->out ? "no --out DIR" : "no --seeds");
        return sweep_usage();
    }
    if (seeds_parse(&c->g, seeds, err, sizeof err) != 0) {
        fprintf(stderr, "mnet: sweep: %s\n", err);
        return 2;
    }
    if (grid_count(&c->g) != 0) {
        fprintf(stderr, "mnet: sweep: the grid has more than %d runs\n", MNET_SWEEP_HARD_MAX);
        return 2;
    }
    if (c->g.n_runs > MNET_SWEEP_MAX_RUNS && !c->yes) {
        fprintf(stderr, "mnet: sweep: the grid has %ld runs (%ld combinations x %d seeds), more than %d: add --yes "
                        "to train them all\n",
                c->g.n_runs, c->g.n_combos, c->g.n_seeds, MNET_SWEEP_MAX_RUNS);
        return 2;
    }
    return 0;
}

/* ==== running ==== */

static volatile sig_atomic_t sweep_stop;

static void on_stop(int sig)
{
    (void)sig;
    sweep_stop = 1;
}

static int n_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Starts run u as a child: `mnet train FILE --task T --set ... --seed S
 * [--batches N] --threads K --out DIR/NAME --resume|--force`, its output
 * appended to DIR/NAME/train.out.  0, or -1 with a message. */
static int run_start(const sweep_cmd *c, sweep_run *runs, long r, int threads, int resume, char *err, size_t n)
{
    const sweep_grid *g = &c->g;
    sweep_run *u = &runs[r];
    char *rd = join(c->out, u->name, NULL);
    if (mkdir(rd, 0777) != 0 && errno != EEXIST) {
        snprintf(err, n, "cannot create %s: %s", rd, strerror(errno));
        free(rd);
        return -1;
    }
    char *outp = join(rd, MNET_SWEEP_OUT, NULL);
    int fd = open(outp, O_WRONLY | O_CREAT | O_APPEND, 0644);
    free(outp);
    if (fd < 0) {
        snprintf(err, n, "cannot open %s/%s: %s", rd, MNET_SWEEP_OUT, strerror(errno));
        free(rd);
        return -1;
    }
    /* argv: train FILE --task T (--set N=V)* --seed S [--batches B] --threads K --out RD MODE */
    int argc = 0;
    char **argv = xcalloc((size_t)(2 * g->n_axes + 20), sizeof *argv);
    char **owned = xcalloc((size_t)g->n_axes + 4, sizeof *owned);
    int n_owned = 0;
    char seed[32], th[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)g->seeds[r % g->n_seeds]);
    snprintf(th, sizeof th, "%d", threads);
    argv[argc++] = "mnet";
    argv[argc++] = "train";
    argv[argc++] = (char *)g->file;
    argv[argc++] = "--task";
    argv[argc++] = (char *)g->task;
    for (int k = 0; k < g->n_axes; k++) {
        const char *v = g->axes[k].values[combo_value(g, r / g->n_seeds, k)];
        size_t l = strlen(g->axes[k].name) + strlen(v) + 2;
        char *s = xcalloc(l, 1);
        snprintf(s, l, "%s=%s", g->axes[k].name, v);
        owned[n_owned++] = s;
        argv[argc++] = "--set";
        argv[argc++] = s;
    }
    argv[argc++] = "--seed";
    argv[argc++] = seed;
    if (g->batches) {
        argv[argc++] = "--batches";
        argv[argc++] = (char *)g->batches;
    }
    /* the trainer's threads (mnet train --threads: the same numbers for
     * every count, so the runs' cores are shared, not oversubscribed) */
    argv[argc++] = "--threads";
    argv[argc++] = th;
    argv[argc++] = "--out";
    argv[argc++] = rd;
    argv[argc++] = resume ? "--resume" : "--force";
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* the child: dies with the sweep (SIGINT: the trainer checkpoints
         * and stops after its current batch) */
        prctl(PR_SET_PDEATHSIG, SIGINT);
        if (getppid() != parent)
            _exit(130);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        char line[512];
        int l = snprintf(line, sizeof line, "== mnet sweep: %s run %s (pid %d, %s)\n",
                         resume ? "resuming" : "starting", u->name, (int)getpid(), resume ? "--resume" : "new");
        if (l > 0 && write(fd, line, (size_t)(l < (int)sizeof line ? l : (int)sizeof line - 1)) < 0)
            _exit(127);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "mnet: sweep: cannot run /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    close(fd);
    for (int i = 0; i < n_owned; i++)
        free(owned[i]);
    free(owned);
    free(argv);
    free(rd);
    if (pid < 0) {
        snprintf(err, n, "cannot start a process: %s", strerror(errno));
        return -1;
    }
    u->pid = pid;
    u->state = RUN_RUNNING;
    u->t_start = now_s();
    return 0;
}

typedef struct {
    long total, done, failed, running, skipped;
    double t0, sum_s;           /* wall seconds of runs trained here */
    long n_timed;
    int tty, jobs;
    int ranks;                  /* processes sharing the runs (mpirun -np R; 1 alone) */
    char who[32];               /* "rank R: " in this rank's lines under mpirun, else "" */
} sweep_progress;

static void fmt_eta(const sweep_progress *p, char *buf, size_t n)
{
    long left = p->total - p->done - p->failed;
    if (p->n_timed == 0 || left <= 0) {
        snprintf(buf, n, left <= 0 ? "0:00" : "?");
        return;
    }
    double per = p->sum_s / (double)p->n_timed;
    double eta = per * (double)left / (double)(p->jobs < left ? p->jobs : left);
    long s = (long)(eta + 0.5);
    if (s >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, n, "%ld:%02ld", s / 60, s % 60);
}

/* The status line (redrawn on a terminal; a plain line otherwise).  Not
 * under mpirun: no rank knows the others' runs as they end, so each rank
 * prints a line per run instead. */
static void progress_draw(const sweep_progress *p)
{
    if (p->ranks > 1)
        return;
    char eta[32];
    fmt_eta(p, eta, sizeof eta);
    printf("%ssweep: %ld/%ld done, %ld running, %ld failed, ETA %s%s", p->tty ? "\r\033[K" : "", p->done, p->total,
           p->running, p->failed, eta, p->tty ? "" : "\n");
    fflush(stdout);
}

/* A line above the status line. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void progress_say(const sweep_progress *p, const char *fmt, ...);
static void progress_say(const sweep_progress *p, const char *fmt, ...)
{
    va_list ap;
    if (p->tty)
        fputs("\r\033[K", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

/* ==== across ranks: mpirun -np R mnet sweep (docs/cluster.md) ====
 *
 * Every rank runs cmd_sweep.  Every rank parses and checks the grid (the
 * file compiled on each node: a node that sees another file is named);
 * rank 0 alone speaks while they do, compares and writes sweep.txt, locks
 * DIR for the whole sweep and writes summary.csv (at the start and at the
 * end, from the run directories).  The runs go out through the dynamic
 * queue (mnet_mpi_queue, tools/mnet_mpi.h) in the grid's order, --jobs at a
 * time per rank (1 by default); the rank that gets a run applies the rules
 * of one machine: finished -> skipped, a checkpoint -> resumed, else new. */

/* Silences stderr (a rank other than 0 while it checks what rank 0 checks
 * and explains); returns the saved descriptor, -1 when nothing was done. */
static int quiet_begin(int quiet)
{
    if (!quiet)
        return -1;
    fflush(stderr);
    int saved = dup(2), nul = open("/dev/null", O_WRONLY);
    if (saved >= 0 && nul >= 0)
        dup2(nul, 2);
    if (nul >= 0)
        close(nul);
    return saved;
}

static void quiet_end(int saved)
{
    if (saved < 0)
        return;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

/* The CPUs this process may use: its affinity mask (mpirun may bind a rank
 * to some cores), at least 1. */
static int n_cpus_allowed(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    return n_cores();
}

/* What every rank must agree on before a run starts: the grid (with the
 * sources' hash and the task) and each run's length, as text (malloc'd). */
static char *grid_fingerprint(const sweep_grid *g, const sweep_run *runs)
{
    char *t = grid_text(g);
    sbuf s = {NULL, 0, 0};
    sb_str(&s, t);
    free(t);
    for (long r = 0; r < g->n_runs; r++) {
        char v[32];
        snprintf(v, sizeof v, "%ld\n", runs[r].length);
        sb_str(&s, v);
    }
    return s.b;
}

/* Rank 0 (or the one process): everything about DIR before a run starts:
 * the stored grid compared, a directory that is not a sweep refused, DIR
 * created and locked (od), sweep.txt written.  0, or 2 (message printed). */
static int sweep_open_dir(const sweep_cmd *c, const sweep_run *runs, mnet_outdir *od)
{
    char err[1024];
    int status = 2;
    char *text = grid_text(&c->g), *txt_path = join(c->out, MNET_SWEEP_FILE, NULL);
    char *stored = read_all(txt_path, NULL);
    if (stored && grid_compare(stored, text, c->out) > 0)
        goto done;
    if (!stored && exists(c->out)) {
        /* a directory without sweep.txt becomes a sweep only when it holds
         * no run (an empty one, or one left by a sweep killed before it
         * wrote sweep.txt) */
        struct stat st;
        int n_runs = 0;
        for (long r = 0; r < c->g.n_runs && !n_runs; r++) {
            char *rd = join(c->out, runs[r].name, NULL);
            n_runs += exists(rd);
            free(rd);
        }
        char *log = join(c->out, MNET_OUTDIR_LOG, NULL), *ck = join(c->out, MNET_OUTDIR_CHECKPOINT, NULL);
        n_runs += exists(log) || exists(ck);
        free(log);
        free(ck);
        if (stat(c->out, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "mnet: sweep: %s is not a directory\n", c->out);
            goto done;
        }
        if (n_runs) {
            fprintf(stderr, "mnet: sweep: %s holds runs but no %s: not a sweep directory (give another --out)\n",
                    c->out, MNET_SWEEP_FILE);
            goto done;
        }
    }
    /* the grid is good: DIR is created and locked for the whole sweep */
    if (mnet_outdir_open(od, c->out, MNET_OUTDIR_NEW, err, sizeof err) != 0) {
        fprintf(stderr, "mnet: sweep: %s\n", err);
        goto done;
    }
    if (!stored && write_atomic(txt_path, text, strlen(text), err, sizeof err) != 0) {
        fprintf(stderr, "mnet: sweep: %s\n", err);
        goto done;
    }
    status = 0;
done:
    free(text);
    free(stored);
    free(txt_path);
    return status;
}

/* Parses and checks the grid on every rank (rank 0 speaks; a rank that
 * refuses what rank 0 passed says so itself), then DIR on rank 0.  0, or
 * the status every rank returns. */
static int sweep_prepare(sweep_cmd *c, int argc, char **argv, sweep_run **runs, mnet_outdir *od)
{
    const int rank = mnet_mpi_rank(), mpi = mnet_mpi_size() > 1;
    char err[1024];
    int quiet = quiet_begin(mpi && rank != 0);
    int status = cmd_parse(c, argc, argv);
    if (!status) {
        status = 2;
        *runs = runs_new(&c->g, err, sizeof err);
        if (!*runs)
            fprintf(stderr, "mnet: sweep: %s\n", err);
        else if (grid_check(&c->g, c->task, *runs) == 0)
            status = 0;
    }
    quiet_end(quiet);
    if (mpi) {
        /* rank 0's verdict first: a grid refused there is refused once */
        int st0 = mnet_mpi_agree(rank == 0 ? status : 0);
        if (st0)
            return st0;
        if (status) {
            char host[128] = "?";
            gethostname(host, sizeof host - 1);
            fprintf(stderr, "mnet: sweep: rank %d (pid %ld on %s) refuses the grid that rank 0 passed: does this "
                            "node see the same %s (and its imports) as rank 0, on a shared filesystem?\n",
                    rank, (long)getpid(), host, c->g.file);
            if (*runs)
                grid_check(&c->g, c->task, *runs); /* again, saying why */
        }
        if (mnet_mpi_agree(status))
            return 2;
        char *fp = grid_fingerprint(&c->g, *runs);
        int which = 0, differ = mnet_mpi_same(fp, strlen(fp), &which);
        free(fp);
        if (differ) {
            if (rank == 0)
                fprintf(stderr, "mnet: sweep: rank %d compiled another grid than rank 0 (the file or an import "
                                "differs on its node: sources, task or a run's length); every rank must see the "
                                "same files\n", which);
            return 2;
        }
    }
    if (status)
        return status;
    if (rank == 0)
        status = sweep_open_dir(c, *runs, od);
    return mnet_mpi_agree(status);
}

static int cmd_sweep(int argc, char **argv)
{
    sweep_cmd c;
    memset(&c, 0, sizeof c);
    sweep_run *runs = NULL;
    char err[1024];
    mnet_outdir od = MNET_OUTDIR_INIT;
    mnet_mpi_queue *q = NULL;

    /* under mpirun every rank runs the sweep (see above) */
    const int launched = mnet_mpi_launched();
    if (launched > 1 && !mnet_mpi_available()) {
        if (mnet_mpi_env_rank() == 0)
            fprintf(stderr, "mnet: sweep was started as %d MPI processes, but %s\n", launched, mnet_mpi_how_to_get());
        return 2;
    }
    if (launched && mnet_mpi_available() && mnet_mpi_init(err, sizeof err) != 0) {
        fprintf(stderr, "mnet: sweep: %s\n", err);
        return 2;
    }
    /* a run's `mnet train` trains alone, never as a rank of this job */
    setenv("MNET_MPI", "0", 1);
    const int rank = mnet_mpi_rank(), mpi = mnet_mpi_size() > 1, rank0 = rank == 0;

    int status = sweep_prepare(&c, argc, argv, &runs, &od);
    if (status)
        goto done;

    sweep_progress p;
    memset(&p, 0, sizeof p);
    p.total = c.g.n_runs;
    p.t0 = now_s();
    p.tty = !launched && isatty(STDOUT_FILENO); /* mpirun may give rank 0 a pty */
    p.ranks = mnet_mpi_size();
    if (mpi)
        snprintf(p.who, sizeof p.who, "rank %d: ", rank);
    int cores = n_cores(), mpi_threads = 1;
    if (mpi) {
        /* a rank's share of its node: its affinity mask, or the node's cores
         * over the ranks on it, whichever is fewer; --jobs of them at once */
        int share = n_cpus_allowed(), per_rank = cores / mnet_mpi_local_size();
        if (per_rank < share)
            share = per_rank;
        p.jobs = c.jobs ? c.jobs : 1;
        mpi_threads = share / p.jobs > 1 ? share / p.jobs : 1;
    } else {
        p.jobs = c.jobs ? c.jobs : cores;
    }

    /* what the run directories hold (rank 0; the others ask when a run
     * comes to them) */
    if (rank0) {
        long n_resume = 0, n_new = 0;
        for (long r = 0; r < c.g.n_runs; r++) {
            char *rd = join(c.out, runs[r].name, NULL);
            if (exists(rd))
                run_read_metrics(rd, &runs[r].m);
            free(rd);
            if (run_finished(c.out, &runs[r])) {
                runs[r].state = RUN_DONE;
                runs[r].skipped = 1;
                p.done++;
                p.skipped++;
            } else if (runs[r].m.batches > 0) {
                n_resume++;
            } else {
                n_new++;
            }
        }
        summary_write(c.out, &c.g, runs);
        printf("mnet: sweep of %s (task %s): %ld runs (%ld conditions x %d seeds): %ld finished before, %ld to "
               "resume, %ld to start; ",
               c.g.file, c.g.task, c.g.n_runs, c.g.n_combos, c.g.n_seeds, p.skipped, n_resume, n_new);
        if (mpi)
            printf("%d ranks x %d at once, %d thread%s each\n", p.ranks, p.jobs, mpi_threads,
                   mpi_threads == 1 ? "" : "s");
        else
            printf("%d at once\n", p.jobs);
        fflush(stdout);
    }
    if (mpi) {
        q = mnet_mpi_queue_new(c.g.n_runs, err, sizeof err);
        if (!q) {
            fprintf(stderr, "mnet: sweep: rank %d: %s\n", rank, err);
            mnet_mpi_abort(2);
        }
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    long next = 0;
    int exhausted = 0;          /* no run left to start (the queue said -1) */
    double last_draw = 0;
    while (!sweep_stop || p.running > 0) {
        /* start runs up to --jobs */
        while (!sweep_stop && !exhausted && p.running < p.jobs) {
            int threads;
            if (mpi) {
                next = mnet_mpi_queue_next(q);
                if (next < 0) {
                    exhausted = 1;
                    break;
                }
                /* rank 0 found it finished at the start, or it is: skipped */
                if (runs[next].state != RUN_PENDING || run_finished(c.out, &runs[next])) {
                    runs[next].state = RUN_DONE;
                    runs[next].skipped = 1;
                    continue;
                }
                threads = mpi_threads;
            } else {
                while (next < c.g.n_runs && runs[next].state != RUN_PENDING)
                    next++;
                if (next >= c.g.n_runs) {
                    exhausted = 1;
                    break;
                }
                long left = 0;
                for (long r = next; r < c.g.n_runs; r++)
                    left += runs[r].state == RUN_PENDING;
                long share = p.running + (left < p.jobs - p.running ? left : p.jobs - p.running);
                threads = cores / (int)(share > 0 ? share : 1);
            }
            char *rd = join(c.out, runs[next].name, NULL);
            long at = ckpt_batches(rd);
            free(rd);
            if (run_start(&c, runs, next, threads > 0 ? threads : 1, at >= 0, err, sizeof err) != 0) {
                progress_say(&p, "mnet: sweep: %s%s: %s\n", p.who, runs[next].name, err);
                runs[next].state = RUN_FAILED;
                runs[next].exit_code = -1;
                p.failed++;
                continue;
            }
            p.running++;
            if (at >= 0)
                progress_say(&p, "sweep: %sresuming %s at batch %ld of %ld\n", p.who, runs[next].name, at,
                             runs[next].length);
            else
                progress_say(&p, "sweep: %sstarting %s\n", p.who, runs[next].name);
            /* one run per pass under mpirun, so the other ranks' requests
             * (served below and in the next pass) come before this rank's
             * next slot: --jobs slots on rank 0 never take a run an idle
             * rank would have had */
            if (mpi)
                break;
        }
        if (mpi)
            mnet_mpi_queue_serve(q);
        if (p.running == 0)
            break;
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid == 0 || (pid < 0 && errno == EINTR)) {
            if (sweep_stop)
                for (long r = 0; r < c.g.n_runs; r++)
                    if (runs[r].state == RUN_RUNNING)
                        kill(runs[r].pid, SIGINT);
            if (p.tty && now_s() - last_draw > 0.5) {
                progress_draw(&p);
                last_draw = now_s();
            }
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (pid < 0)
            break;
        long r = 0;
        while (r < c.g.n_runs && !(runs[r].state == RUN_RUNNING && runs[r].pid == pid))
            r++;
        if (r == c.g.n_runs)
            continue;
        sweep_run *u = &runs[r];
        p.running--;
        double wall = now_s() - u->t_start;
        char *rd = join(c.out, u->name, NULL);
        run_read_metrics(rd, &u->m);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        char count[48] = "";
        if (code == 0 && run_finished(c.out, u)) {
            u->state = RUN_DONE;
            p.done++;
            p.sum_s += wall;
            p.n_timed++;
            char v[32] = "none";
            if (!isnan(u->m.val))
                snprintf(v, sizeof v, "%.4g", u->m.val);
            if (!mpi)
                snprintf(count, sizeof count, "[%ld/%ld] ", p.done + p.failed, p.total);
            progress_say(&p, "sweep: %s%sdone %s: loss_last100 %.4g, validation %s (%.1f s)\n", p.who, count,
                         u->name, u->m.last100, v, wall);
        } else if (sweep_stop && (code == 130 || code == 128 + SIGINT || code == 128 + SIGTERM)) {
            /* stopped with the sweep: by our SIGINT (a checkpoint after its
             * batch), or by a SIGTERM sent to every process of the job
             * (mpirun on Ctrl-C, Slurm at the time limit: its last
             * checkpoint stands) */
            u->state = RUN_INTERRUPTED;
            progress_say(&p, "sweep: %sinterrupted %s at batch %ld (resumed by the next call)\n", p.who, u->name,
                         u->m.batches);
        } else {
            char words[400];
            run_last_words(rd, words, sizeof words);
            u->state = RUN_FAILED;
            u->exit_code = code;
            p.failed++;
            if (!mpi)
                snprintf(count, sizeof count, "[%ld/%ld] ", p.done + p.failed, p.total);
            progress_say(&p, "sweep: %s%sFAILED %s (exit %d%s): %s\n", p.who, count, u->name, code,
                         code == 0 ? ", but the run is not finished" : "", words);
        }
        free(rd);
        if (!mpi) {
            summary_write(c.out, &c.g, runs);
            if (!p.tty)
                progress_draw(&p);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (p.tty)
        fputs("\r\033[K", stdout);
    long n_failed = p.failed;
    int stopped = sweep_stop != 0;
    if (mpi) {
        /* an interrupted rank takes what is left, so every rank hears -1
         * (rank 0's mnet_mpi_queue_free waits for that) */
        while (!exhausted && mnet_mpi_queue_next(q) >= 0)
            ;
        n_failed = mnet_mpi_queue_free(q, p.failed);
        q = NULL;
        stopped = mnet_mpi_agree(stopped);
        if (rank0) {
            /* the other ranks' runs, from their directories */
            p.done = 0;
            for (long r = 0; r < c.g.n_runs; r++) {
                sweep_run *u = &runs[r];
                if (u->state != RUN_DONE) {
                    char *rd = join(c.out, u->name, NULL);
                    if (exists(rd))
                        run_read_metrics(rd, &u->m);
                    free(rd);
                    if (run_finished(c.out, u))
                        u->state = RUN_DONE;
                    else if (u->state == RUN_PENDING && !stopped) {
                        u->state = RUN_FAILED; /* every run was tried: another rank's failed */
                        u->exit_code = INT_MIN; /* its exit status is that rank's */
                    }
                }
                p.done += u->state == RUN_DONE;
            }
            p.failed = n_failed;
        }
    }
    status = 0;
    if (rank0) {
        summary_write(c.out, &c.g, runs);
        printf("mnet: sweep: %ld of %ld runs done (%ld finished before), %ld failed; summary in %s/%s\n", p.done,
               p.total, p.skipped, p.failed, c.out, MNET_SWEEP_SUMMARY);
        if (p.failed) {
            printf("mnet: sweep: failed:");
            for (long r = 0; r < c.g.n_runs; r++)
                if (runs[r].state == RUN_FAILED) {
                    if (runs[r].exit_code != INT_MIN)
                        printf(" %s (exit %d, see %s/%s/%s)", runs[r].name, runs[r].exit_code, c.out, runs[r].name,
                               MNET_SWEEP_OUT);
                    else
                        printf(" %s (see %s/%s/%s)", runs[r].name, c.out, runs[r].name, MNET_SWEEP_OUT);
                }
            printf("\n");
        }
        if (stopped)
            printf("mnet: sweep: interrupted; the same command continues it\n");
        fflush(stdout);
    }
    if (n_failed)
        status = 1;
    if (stopped)
        status = 130;
done:
    mnet_outdir_close(&od);
    runs_free(runs, c.g.n_runs);
    grid_free(&c.g);
    mnet_mpi_finalize();
    return status;
}

/* ==== a sweep directory read back: plot and eval ==== */

/* The grid of sweep directory dir from its sweep.txt (no compile).  0, or
 * -1 with a message. */
static int grid_read(sweep_grid *g, const char *dir, char *err, size_t n)
{
    memset(g, 0, sizeof *g);
    char *path = join(dir, MNET_SWEEP_FILE, NULL);
    char *t = read_all(path, NULL);
    free(path);
    if (!t) {
        snprintf(err, n, "%s holds no %s", dir, MNET_SWEEP_FILE);
        return -1;
    }
    int rc = -1;
    char *seeds = text_get(t, "seeds");
    for (const char *p = t; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t ll = e ? (size_t)(e - p) : strlen(p);
        if (ll > 4 && !strncmp(p, "set ", 4) && g->n_axes < MNET_SWEEP_MAX_AXES) {
            char *line = xcalloc(ll - 3, 1);
            memcpy(line, p + 4, ll - 4);
            int bad = axis_parse(&g->axes[g->n_axes++], line, err, n);
            free(line);
            if (bad)
                goto out;
        }
        p = e ? e + 1 : NULL;
    }
    if (!seeds || seeds_parse(g, seeds, err, n) != 0 || grid_count(g) != 0) {
        if (!seeds)
            snprintf(err, n, "%s/%s has no seeds line", dir, MNET_SWEEP_FILE);
        goto out;
    }
    rc = 0;
out:
    free(seeds);
    free(t);
    return rc;
}

/* The condition of combination c: "load.curl=15, lr=0.01" ("all runs"
 * without axes), into buf. */
static void condition_label(const sweep_grid *g, long c, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < g->n_axes && len < n; k++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", k ? ", " : "", g->axes[k].name,
                                g->axes[k].values[combo_value(g, c, k)]);
    if (!g->n_axes)
        snprintf(buf, n, "all runs");
}

/* The finite losses of a run's log.csv by batch (NAN where missing or not
 * finite); *n the batches.  NULL when there is no log. */
static double *read_losses(const char *rd, long *n)
{
    char *p = join(rd, MNET_OUTDIR_LOG, NULL);
    char *log = read_all(p, NULL);
    free(p);
    *n = 0;
    if (!log)
        return NULL;
    long cap = 1024;
    double *v = xcalloc((size_t)cap, sizeof *v);
    char *line = strchr(log, '\n');
    while (line && line[1]) {
        line++;
        char *e = strchr(line, '\n');
        if (e)
            *e = '\0';
        char *end;
        long b = strtol(line, &end, 10);
        if (end != line && *end == ',' && b >= 0 && b < 100000000) {
            while (b >= cap) {
                double *t = realloc(v, (size_t)cap * 2 * sizeof *v);
                if (!t)
                    abort();
                v = t;
                cap *= 2;
            }
            for (long i = *n; i <= b; i++)
                v[i] = NAN;
            if (b + 1 > *n)
                *n = b + 1;
            v[b] = strtod(end + 1, NULL);
            if (!isfinite(v[b]))
                v[b] = NAN;
        }
        line = e;
    }
    free(log);
    return v;
}

/* Trailing rolling mean (window w, finite values only) of v in place. */
static void rolling_mean(double *v, long n, long w)
{
    double *out = xcalloc((size_t)n, sizeof *out), sum = 0;
    long cnt = 0;
    for (long i = 0; i < n; i++) {
        if (!isnan(v[i])) {
            sum += v[i];
            cnt++;
        }
        if (i >= w && !isnan(v[i - w])) {
            sum -= v[i - w];
            cnt--;
        }
        out[i] = cnt ? sum / (double)cnt : NAN;
    }
    memcpy(v, out, (size_t)n * sizeof *v);
    free(out);
}

/* A finished or started sweep's grid and runs, read from DIR for command
 * `what`: the runs, or NULL after saying why (g freed). */
static sweep_run *sweep_open(sweep_grid *g, const char *dir, const char *what)
{
    char err[1024];
    sweep_run *runs = NULL;
    if (grid_read(g, dir, err, sizeof err) != 0 || !(runs = runs_new(g, err, sizeof err))) {
        fprintf(stderr, "mnet: %s: %s\n", what, err);
        grid_free(g);
    }
    return runs;
}

/* mnet plot SWEEP_DIR [--out DIR]: DIR/figures/loss_by_condition.svg, the
 * loss (a rolling mean) of every run, faint, and per condition the mean
 * over its seeds with a band of +- one standard deviation. */
static int cmd_plot(int argc, char **argv)
{
    const char *dir = argv[0], *outdir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            outdir = argv[++i];
        } else {
            fprintf(stderr, "mnet: plot of a sweep: unknown option '%s' (mnet plot SWEEP_DIR [--out DIR])\n", argv[i]);
            return 2;
        }
    }
    sweep_grid g;
    sweep_run *runs = sweep_open(&g, dir, "plot");
    if (!runs)
        return 1;
    char err[1024];
    double **loss = xcalloc((size_t)g.n_runs, sizeof *loss);
    long *len = xcalloc((size_t)g.n_runs, sizeof *len), maxlen = 0, n_with = 0;
    for (long r = 0; r < g.n_runs; r++) {
        char *rd = join(dir, runs[r].name, NULL);
        loss[r] = read_losses(rd, &len[r]);
        free(rd);
        if (len[r] > maxlen)
            maxlen = len[r];
        n_with += len[r] > 0;
    }
    int status = 1;
    if (n_with == 0) {
        fprintf(stderr, "mnet: plot: no run of the sweep in %s has a log.csv yet\n", dir);
        goto out;
    }
    long w = maxlen / 20 < 1 ? 1 : maxlen / 20 > 100 ? 100 : maxlen / 20;
    double ymin = INFINITY, ymax = -INFINITY;
    for (long r = 0; r < g.n_runs; r++) {
        rolling_mean(loss[r], len[r], w);
        for (long i = 0; i < len[r]; i++)
            if (!isnan(loss[r][i])) {
                ymin = fmin(ymin, loss[r][i]);
                ymax = fmax(ymax, loss[r][i]);
            }
    }
    int ylog = ymin > 0 && ymax / ymin > 20;
    svg_doc d;
    double W = 900, H = 560, legend_w = 260;
    svg_begin(&d, W, H, "loss by condition");
    svg_axes a;
    svg_axes_fit(&a, 70, 40, W - 70 - legend_w - 30, H - 100, 0, (double)(maxlen > 1 ? maxlen - 1 : 1), 0, ymin,
                 ymax, ylog, 6, 6);
    char title[160];
    snprintf(title, sizeof title, "loss (rolling mean over %ld batch%s): mean +- sd over %d seed%s", w,
             w == 1 ? "" : "es", g.n_seeds, g.n_seeds == 1 ? "" : "s");
    svg_axes_draw(&d, &a, "batch", "loss", title);
    svg_axes_clip(&d, &a, "sweepclip");
    long step = maxlen > 1000 ? (maxlen + 999) / 1000 : 1;
    long np_max = maxlen / step + 2;
    double *xs = xcalloc((size_t)np_max * 2, sizeof *xs), *ys = xcalloc((size_t)np_max * 2, sizeof *ys);
    svg_legend_entry *leg = xcalloc((size_t)g.n_combos, sizeof *leg);
    char (*labels)[160] = xcalloc((size_t)g.n_combos, sizeof *labels);
    char (*colors)[8] = xcalloc((size_t)g.n_combos, sizeof *colors);
    for (long cidx = 0; cidx < g.n_combos; cidx++) {
        svg_viridis(g.n_combos > 1 ? 0.9 * (double)cidx / (double)(g.n_combos - 1) : 0.2, colors[cidx]);
        condition_label(&g, cidx, labels[cidx], sizeof labels[cidx]);
        leg[cidx].label = labels[cidx];
        leg[cidx].color = colors[cidx];
        char attrs[160];
        /* every run, faint */
        snprintf(attrs, sizeof attrs, "class=\"run\" stroke=\"%s\" stroke-width=\"0.8\" stroke-opacity=\"0.3\"",
                 colors[cidx]);
        for (int s = 0; s < g.n_seeds; s++) {
            long r = cidx * g.n_seeds + s;
            int k = 0;
            for (long i = 0; i < len[r]; i += step, k++) {
                xs[k] = svg_axes_x(&a, (double)i);
                ys[k] = isnan(loss[r][i]) ? NAN : svg_axes_y(&a, ylog ? log10(loss[r][i]) : loss[r][i]);
            }
            svg_polyline(&d, xs, ys, k, attrs);
        }
        /* mean and band over the seeds that reach each batch */
        int k = 0;
        double *lo = xs + np_max, *hi = ys + np_max;
        double *mx = xcalloc((size_t)np_max, sizeof *mx), *my = xcalloc((size_t)np_max, sizeof *my);
        for (long i = 0; i < maxlen; i += step) {
            double sum = 0, sq = 0;
            int cnt = 0;
            for (int s = 0; s < g.n_seeds; s++) {
                long r = cidx * g.n_seeds + s;
                if (i < len[r] && !isnan(loss[r][i])) {
                    sum += loss[r][i];
                    sq += loss[r][i] * loss[r][i];
                    cnt++;
                }
            }
            if (!cnt)
                continue;
            double mean = sum / cnt, sd = cnt > 1 ? sqrt(fmax(0, (sq - sum * mean) / (cnt - 1))) : 0;
            double l = mean - sd, h = mean + sd;
            if (ylog)
                l = l > 0 ? l : mean * 0.5;
            mx[k] = svg_axes_x(&a, (double)i);
            my[k] = svg_axes_y(&a, ylog ? log10(mean) : mean);
            lo[k] = svg_axes_y(&a, ylog ? log10(l) : l);
            hi[k] = svg_axes_y(&a, ylog ? log10(h) : h);
            k++;
        }
        if (k > 0) {
            svg_printf(&d, "<polygon class=\"band\" fill=\"%s\" fill-opacity=\"0.2\" stroke=\"none\" points=\"",
                       colors[cidx]);
            for (int i = 0; i < k; i++)
                svg_printf(&d, "%.2f,%.2f ", mx[i], hi[i]);
            for (int i = k - 1; i >= 0; i--)
                svg_printf(&d, "%.2f,%.2f ", mx[i], lo[i]);
            svg_printf(&d, "\"/>\n");
            snprintf(attrs, sizeof attrs, "class=\"mean\" stroke=\"%s\" stroke-width=\"2\"",
                     colors[cidx]);
            svg_polyline(&d, mx, my, k, attrs);
        }
        free(mx);
        free(my);
    }
    svg_printf(&d, "</g>\n");
    svg_legend(&d, W - legend_w - 10, 40, leg, (int)(g.n_combos < 30 ? g.n_combos : 30));
    svg_end(&d);
    free(xs);
    free(ys);
    free(leg);
    free(labels);
    free(colors);
    char *figs = outdir ? xstrdup(outdir) : join(dir, "figures", NULL);
    char *path = join(figs, "loss_by_condition.svg", NULL), *tmp = NULL;
    if (mkdir(figs, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mnet: plot: cannot create %s: %s\n", figs, strerror(errno));
    } else if (d.failed || svg_write_temp(&d, path, &tmp, err, sizeof err) != 0 ||
               svg_commit(tmp, path, err, sizeof err) != 0) {
        fprintf(stderr, "mnet: plot: %s\n", d.failed ? "out of memory" : err);
    } else {
        printf("plot: %ld runs with a log of %ld in %ld condition%s; wrote %s\n", n_with, g.n_runs, g.n_combos,
               g.n_combos == 1 ? "" : "s", path);
        status = 0;
    }
    free(tmp);
    free(path);
    free(figs);
    svg_free(&d);
out:
    for (long r = 0; r < g.n_runs; r++)
        free(loss[r]);
    free(loss);
    free(len);
    runs_free(runs, g.n_runs);
    grid_free(&g);
    return status;
}

/* mnet eval SWEEP_DIR [eval options]: `mnet eval RUN [options]` for every
 * run that has a checkpoint, one after another, each one's output in
 * RUN/eval.out; prints each run's mean loss and, per condition, the mean and
 * standard deviation over its seeds; DIR/eval.csv (atomically). */
static int cmd_eval(int argc, char **argv)
{
    const char *dir = argv[0];
    sweep_grid g;
    sweep_run *runs = sweep_open(&g, dir, "eval");
    if (!runs)
        return 1;
    char err[1024];
    int status = 0;
    sbuf csv = {NULL, 0, 0};
    sb_str(&csv, "run,seed,eval_loss\n");
    for (long r = 0; r < g.n_runs; r++) {
        char *rd = join(dir, runs[r].name, NULL);
        char *ck = join(rd, MNET_OUTDIR_CHECKPOINT, NULL);
        int have = exists(ck);
        free(ck);
        if (!have) {
            printf("eval: %s: no checkpoint (not trained yet)\n", runs[r].name);
            free(rd);
            continue;
        }
        char **cargv = xcalloc((size_t)argc + 4, sizeof *cargv);
        int k = 0;
        cargv[k++] = "mnet";
        cargv[k++] = "eval";
        cargv[k++] = rd;
        for (int i = 1; i < argc; i++)
            cargv[k++] = argv[i];
        char *outp = join(rd, "eval.out", NULL);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0)
                _exit(127);
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
            execv("/proc/self/exe", cargv);
            _exit(127);
        }
        int st = 0;
        while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        free(cargv);
        char *out = read_all(outp, NULL);
        free(outp);
        double v = NAN;
        char *line = out ? strstr(out, "eval: ") : NULL;
        char *ml = line ? strstr(line, "mean loss ") : NULL;
        if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && ml)
            v = strtod(ml + 10, NULL);
        runs[r].m.val = v;
        if (isnan(v)) {
            char words[400];
            char *nl = NULL;
            snprintf(words, sizeof words, "%s", out ? out : "");
            nl = strrchr(words, '\n');
            if (nl && !nl[1])
                *nl = '\0';
            nl = strrchr(words, '\n');
            printf("eval: %s: FAILED: %s (see %s/eval.out)\n", runs[r].name, nl ? nl + 1 : words, rd);
            status = 1;
        } else {
            printf("eval: %s: mean loss %.6g\n", runs[r].name, v);
        }
        free(out);
        free(rd);
        char t[64];
        sb_field(&csv, runs[r].name);
        snprintf(t, sizeof t, ",%llu,", (unsigned long long)g.seeds[r % g.n_seeds]);
        sb_str(&csv, t);
        sb_num(&csv, v, "%.6g");
        sb_str(&csv, "\n");
    }
    for (long c = 0; c < g.n_combos; c++) {
        double sum = 0, sq = 0;
        int n = 0;
        for (int s = 0; s < g.n_seeds; s++) {
            double v = runs[c * g.n_seeds + s].m.val;
            if (!isnan(v)) {
                sum += v;
                sq += v * v;
                n++;
            }
        }
        char label[400];
        condition_label(&g, c, label, sizeof label);
        if (n) {
            double mean = sum / n;
            printf("eval: %s: mean loss %.6g +- %.3g (sd over %d seed%s)\n", label, mean,
                   n > 1 ? sqrt(fmax(0, (sq - sum * mean) / (n - 1))) : 0.0, n, n == 1 ? "" : "s");
        }
    }
    char *path = join(dir, "eval.csv", NULL);
    if (write_atomic(path, csv.b, csv.len, err, sizeof err) != 0) {
        fprintf(stderr, "mnet: eval: %s\n", err);
        status = 1;
    }
    free(path);
    free(csv.b);
    runs_free(runs, g.n_runs);
    grid_free(&g);
    return status;
}

/* ==== entry ==== */

int mnet_sweep_owns(int argc, char **argv)
{
    if (argc < 2)
        return 0;
    if (!strcmp(argv[1], "sweep"))
        return 1;
    if ((strcmp(argv[1], "plot") && strcmp(argv[1], "eval")) || argc < 3 || argv[2][0] == '-')
        return 0;
    char *p = join(argv[2], MNET_SWEEP_FILE, NULL);
    int yes = exists(p);
    free(p);
    return yes;
}

int mnet_sweep_main(int argc, char **argv)
{
    if (!strcmp(argv[0], "plot"))
        return cmd_plot(argc - 1, argv + 1);
    if (!strcmp(argv[0], "eval"))
        return cmd_eval(argc - 1, argv + 1);
    return cmd_sweep(argc - 1, argv + 1);
}
