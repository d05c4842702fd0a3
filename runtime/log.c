/* log.c - the training log (CSV), the progress display, and validation
 * trajectories (CSV); see mnet_log.h. */
#include "mnet_log.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io_internal.h"

/* ==== CSV fields ==== */

/* Writes s as one CSV field: quoted (with doubled quotes) when it holds a
 * comma, a quote or a line break. */
static void csv_field(FILE *f, const char *prefix, const char *s)
{
    int quote = strpbrk(s, ",\"\r\n") != NULL || strpbrk(prefix, ",\"\r\n") != NULL;
    if (!quote) {
        fprintf(f, "%s%s", prefix, s);
        return;
    }
    fputc('"', f);
    for (int part = 0; part < 2; part++)
        for (const char *p = part ? s : prefix; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
    fputc('"', f);
}

/* ==== (a) the training log ==== */

static int write_log_header(FILE *f, int n_terms, const char *const *names)
{
    fputs("batch,loss", f);
    for (int i = 0; i < n_terms; i++) {
        fputc(',', f);
        csv_field(f, "", names && names[i] ? names[i] : "");
    }
    fputs(",grad_norm,lr,ms\n", f);
    return ferror(f) ? -1 : 0;
}

/* The header line as mnet_trainlog_open writes it (malloc'd), via a
 * memory stream. */
static char *log_header(int n_terms, const char *const *names)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    int bad = write_log_header(m, n_terms, names);
    if (fclose(m) != 0 || bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Resume: check the header of the open log f, cut it after the last row
 * of a batch < resume_batch (and any partial line), position at the end. */
static int log_resume(FILE *f, const char *path, const char *header, long resume_batch,
                      char *err, size_t n)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    int rc = 0;
    if (len < 0 && !ferror(f)) {
        /* an empty log (the run died before its first row): start over */
        free(line);
        if (fseeko(f, 0, SEEK_SET) != 0 || fputs(header, f) == EOF || fflush(f) != 0)
            return io_err(err, n, "cannot write training log '%s': %s", path, strerror(errno));
        return 0;
    }
    if (len < 0 || strcmp(line, header) != 0) {
        size_t hl = strcspn(header, "\n");
        rc = io_err(err, n,
                    "training log '%s' does not match this run: its first line is \"%.*s\", "
                    "this run writes \"%.*s\" (hint: resume with the same loss terms, or move "
                    "the old log away)",
                    path, len > 0 ? (int)strcspn(line, "\n") : 0, len > 0 ? line : "",
                    (int)hl, header);
        free(line);
        return rc;
    }
    off_t keep = (off_t)len;
    long lineno = 1;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n')
            break;                          /* a partial last line: cut it */
        char *end;
        errno = 0;
        long b = strtol(line, &end, 10);
        if (end == line || *end != ',' || errno) {
            rc = io_err(err, n, "training log '%s', line %ld: not a log row (\"%.40s\")", path,
                        lineno, line);
            break;
        }
        if (b >= resume_batch)
            break;
        keep += (off_t)len;
    }
    free(line);
    if (rc == 0 && (fflush(f) != 0 || ftruncate(fileno(f), keep) != 0 ||
                    fseeko(f, 0, SEEK_END) != 0))
        rc = io_err(err, n, "cannot cut training log '%s' at batch %ld: %s", path, resume_batch,
                    strerror(errno));
    return rc;
}

int mnet_trainlog_open(mnet_trainlog *lg, const char *path, int n_terms,
                       const char *const *term_names, long resume_batch, char *err, size_t n)
{
    memset(lg, 0, sizeof *lg);
    if (!path || n_terms < 0 || (n_terms > 0 && !term_names))
        return io_err(err, n, "training log: bad arguments (path or term names missing)");
    char *header = log_header(n_terms, term_names);
    if (!header)
        return io_err(err, n, "training log '%s': out of memory", path);
    FILE *f = NULL;
    int rc = 0;
    if (resume_batch >= 0) {
        f = fopen(path, "r+");
        if (f && log_resume(f, path, header, resume_batch, err, n) != 0) {
            fclose(f);
            free(header);
            return -1;
        }
        if (!f && errno != ENOENT)
            rc = io_err(err, n, "cannot open training log '%s': %s", path, strerror(errno));
    }
    if (!f && rc == 0) {
        f = fopen(path, "w");
        if (!f)
            rc = io_err(err, n, "cannot create training log '%s': %s (hint: does the directory "
                        "exist, and is it writable?)", path, strerror(errno));
        else if (fputs(header, f) == EOF || fflush(f) != 0) {
            rc = io_err(err, n, "cannot write training log '%s': %s", path, strerror(errno));
            fclose(f);
            f = NULL;
        }
    }
    free(header);
    if (rc != 0)
        return -1;
    /* rows go to the descriptor from here on: the stream's buffer is empty
     * (flushed above), its offset the end of the last whole row */
    off_t end = lseek(fileno(f), 0, SEEK_END);
    lg->path = strdup(path);
    lg->row_cap = 64 + 32 * ((size_t)n_terms + 4);
    lg->row = malloc(lg->row_cap);
    if (end < 0 || !lg->path || !lg->row) {
        rc = io_err(err, n, "training log '%s': %s", path,
                    end < 0 ? strerror(errno) : "out of memory");
        fclose(f);
        free(lg->path);
        free(lg->row);
        memset(lg, 0, sizeof *lg);
        return rc;
    }
    lg->f = f;
    lg->n_terms = n_terms;
    lg->good_end = (long long)end;
    return 0;
}

/* Appends printf output to the row being formatted (*len bytes so far),
 * growing the buffer as needed.  0, or -1 (out of memory). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int row_add(mnet_trainlog *lg, size_t *len, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(lg->row + *len, lg->row_cap - *len, fmt, ap);
        va_end(ap);
        if (k < 0)
            return -1;
        if (*len + (size_t)k < lg->row_cap) {
            *len += (size_t)k;
            return 0;
        }
        size_t cap = 2 * (lg->row_cap + (size_t)k);
        char *p = realloc(lg->row, cap);
        if (!p)
            return -1;
        lg->row = p;
        lg->row_cap = cap;
    }
}

/* Writes all len bytes of buf to fd (retrying short writes and EINTR).
 * 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t k = write(fd, buf, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        buf += k;
        len -= (size_t)k;
    }
    return 0;
}

int mnet_trainlog_write(mnet_trainlog *lg, long batch, double loss, const double *terms,
                        double grad_norm, double lr, double ms)
{
    if (!lg->f)
        return io_err(lg->err, sizeof lg->err, "training log is not open");
    if (lg->failed)
        return -1;                          /* lg->err still says why */
    size_t len = 0;
    int bad = row_add(lg, &len, "%ld,%.9g", batch, loss);
    for (int i = 0; i < lg->n_terms && !bad; i++)
        bad = row_add(lg, &len, ",%.9g", terms ? terms[i] : NAN);
    if (!bad)
        bad = row_add(lg, &len, ",%.6g,%.6g,%.3f\n", grad_norm, lr, ms);
    if (bad)
        return io_err(lg->err, sizeof lg->err, "training log '%s' (batch %ld): out of memory",
                      lg->path, batch);
    int fd = fileno(lg->f);
    if (write_all(fd, lg->row, len) == 0) {
        lg->good_end += (long long)len;
        return 0;
    }
    int e = errno;
    lg->failed = 1;
    /* cut what reached the file of this row, so the log ends with a whole
     * row (a device such as /dev/full cannot be cut, and needs no cut) */
    const char *cut = "";
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (ftruncate(fd, (off_t)lg->good_end) != 0 || lseek(fd, (off_t)lg->good_end, SEEK_SET) < 0))
        cut = " (and its partial row could not be cut off)";
    return io_err(lg->err, sizeof lg->err,
                  "cannot write training log '%s' at batch %ld: %s; the log keeps the rows before "
                  "it%s (hint: is the disk full, or a file size limit set with ulimit -f?)",
                  lg->path, batch, strerror(e), cut);
}

int mnet_trainlog_close(mnet_trainlog *lg, char *err, size_t n)
{
    if (!lg->f)
        return 0;
    int bad = 0;
    if (!lg->failed && ferror(lg->f))     /* a failed row was reported by its write */
        bad = io_err(err, n, "training log '%s': a write failed", lg->path);
    if (fclose(lg->f) != 0 && !bad)
        bad = io_err(err, n, "training log '%s': close failed: %s", lg->path, strerror(errno));
    free(lg->path);
    free(lg->row);
    lg->f = NULL;
    lg->path = lg->row = NULL;
    lg->row_cap = 0;
    return bad ? -1 : 0;
}

/* ==== (b) the progress display ==== */

#define PROGRESS_EMA 0.98
#define PROGRESS_BAR 20

double mnet_progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void mnet_progress_init(mnet_progress *p, FILE *out, long first, long total, int mode,
                        long every)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->first = first;
    p->total = total;
    p->tty = mode < 0 ? (out && isatty(fileno(out))) : mode != 0;
    if (every <= 0) {
        long span = total - first;
        every = span > 0 ? (span + 9) / 10 : 1;
        if (every > 100)
            every = 100;
        if (every < 1)
            every = 1;
    }
    p->every = every;
    p->t_start = mnet_progress_now();
}

static void fmt_duration(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, n, "--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void mnet_progress_update_at(mnet_progress *p, long batch, double loss, double now)
{
    if (isfinite(loss)) {
        p->ema = PROGRESS_EMA * p->ema + (1 - PROGRESS_EMA) * loss;
        p->ema_w = PROGRESS_EMA * p->ema_w + (1 - PROGRESS_EMA);
    }
    if (!p->out)
        return;
    const long done = batch + 1;
    const int last = done >= p->total;
    if (p->tty) {
        if (p->drawn && !last && now - p->t_draw < 0.1)
            return;
    } else if ((done - p->first) % p->every != 0 && !last) {
        return;
    }

    double elapsed = now - p->t_start, rate = 0;
    if (elapsed > 0 && done > p->first)
        rate = (double)(done - p->first) / elapsed;
    char eta[32], avg[32], rs[32];
    fmt_duration(rate > 0 ? (double)(p->total - done) / rate : -1, eta, sizeof eta);
    if (p->ema_w > 0)
        snprintf(avg, sizeof avg, "%.4g", p->ema / p->ema_w);
    else
        snprintf(avg, sizeof avg, "--");
    if (rate > 0)
        snprintf(rs, sizeof rs, "%.1f", rate);
    else
        snprintf(rs, sizeof rs, "--");
    double frac = p->total > 0 ? (double)done / (double)p->total : 1;
    if (frac > 1)
        frac = 1;

    if (p->tty) {
        char bar[PROGRESS_BAR + 1];
        int fill = (int)(frac * PROGRESS_BAR);
        for (int i = 0; i < PROGRESS_BAR; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[PROGRESS_BAR] = 0;
        fprintf(p->out, "\r[%s] %5.1f%% %ld/%ld loss %.4g avg %s %s b/s ETA %s\033[K", bar,
                100 * frac, done, p->total, loss, avg, rs, eta);
        p->drawn = 1;
        p->t_draw = now;
    } else {
        fprintf(p->out, "batch %ld/%ld (%.1f%%) loss %.4g avg %s %s batch/s ETA %s\n", done,
                p->total, 100 * frac, loss, avg, rs, eta);
    }
    fflush(p->out);
}

void mnet_progress_update(mnet_progress *p, long batch, double loss)
{
    mnet_progress_update_at(p, batch, loss, mnet_progress_now());
}

void mnet_progress_finish(mnet_progress *p)
{
    if (p->out && p->tty && p->drawn) {
        fputc('\n', p->out);
        fflush(p->out);
    }
    p->drawn = 0;
}

/* ==== (c) validation trajectories ==== */

#ifdef MNET_REAL_FLOAT
#define TRAJ_FMT ",%.9g"
#else
#define TRAJ_FMT ",%.12g"
#endif

static int traj_check(const mnet_traj *tr, char *err, size_t n)
{
    if (!tr)
        return io_err(err, n, "no trajectories given");
    if (tr->n_episodes < 1 || tr->n_steps < 1)
        return io_err(err, n, "%d episodes of %d steps: need at least one of each",
                      tr->n_episodes, tr->n_steps);
    if (tr->space_dim < 1 || tr->space_dim > 3)
        return io_err(err, n, "space_dim %d (1 .. 3 supported)", tr->space_dim);
    if (tr->n_muscles < 0)
        return io_err(err, n, "n_muscles %d < 0", tr->n_muscles);
    if (!tr->pos || !tr->vel || !tr->goal)
        return io_err(err, n, "pos, vel and goal must be given");
    return 0;
}

static int joints_check(const mnet_traj_joints *j, char *err, size_t n)
{
    if (!j || j->n_dof == 0)
        return 0;
    if (j->n_dof < 0)
        return io_err(err, n, "n_dof %d < 0", j->n_dof);
    if (!j->q || !j->qd)
        return io_err(err, n, "joint columns without q and qd");
    return 0;
}

int mnet_traj_write_csv_file(FILE *f, const mnet_traj *tr, char *err, size_t n)
{
    return mnet_traj_write_csv_file_joints(f, tr, NULL, err, n);
}

int mnet_traj_write_csv_file_joints(FILE *f, const mnet_traj *tr, const mnet_traj_joints *joints,
                                    char *err, size_t n)
{
    char msg[160];
    if (traj_check(tr, msg, sizeof msg) != 0 || joints_check(joints, msg, sizeof msg) != 0)
        return io_err(err, n, "validation trajectories: %s", msg);
    const int E = tr->n_episodes, T = tr->n_steps, P = tr->space_dim, M = tr->n_muscles;
    const int D = joints ? joints->n_dof : 0;
    static const char *const axis[3] = {"x", "y", "z"};

    fputs("episode,step,t", f);
    for (int i = 0; i < P; i++)
        fprintf(f, ",%s", axis[i]);
    for (int i = 0; i < P; i++)
        fprintf(f, ",v%s", axis[i]);
    for (int i = 0; i < P; i++)
        fprintf(f, ",goal_%s", axis[i]);
    for (int kind = 0; kind < 2; kind++)
        for (int j = 0; j < D; j++) {
            char num[16];
            snprintf(num, sizeof num, "%d", j);
            fputc(',', f);
            csv_field(f, kind ? "qd_" : "q_",
                      joints->names && joints->names[j] ? joints->names[j] : num);
        }
    for (int kind = 0; kind < 2; kind++) {
        if (!(kind ? tr->force : tr->act))
            continue;
        for (int m = 0; m < M; m++) {
            char num[16];
            snprintf(num, sizeof num, "%d", m);
            fputc(',', f);
            const char *name = tr->muscle_names && tr->muscle_names[m] ? tr->muscle_names[m] : num;
            csv_field(f, kind ? "force_" : "act_", name);
        }
    }
    if (fputc('\n', f) == EOF || ferror(f))
        return io_err(err, n, "validation trajectories: cannot write the header: %s",
                      strerror(errno));

    for (int e = 0; e < E; e++)
        for (int t = 0; t < T; t++) {
            fprintf(f, "%d,%d,%.9g", e, t, t * tr->dt);
            const mnet_real *blocks[3] = {tr->pos, tr->vel, tr->goal};
            for (int k = 0; k < 3; k++)
                for (int i = 0; i < P; i++)
                    fprintf(f, TRAJ_FMT, (double)blocks[k][((size_t)t * P + i) * E + e]);
            for (int k = 0; k < 2 && D > 0; k++) {
                const mnet_real *jq = k ? joints->qd : joints->q;
                for (int j = 0; j < D; j++)
                    fprintf(f, TRAJ_FMT, (double)jq[((size_t)t * D + j) * E + e]);
            }
            const mnet_real *mus[2] = {tr->act, tr->force};
            for (int k = 0; k < 2; k++)
                for (int m = 0; mus[k] && m < M; m++)
                    fprintf(f, TRAJ_FMT, (double)mus[k][((size_t)t * M + m) * E + e]);
            /* a failed write: stop at once, with the errno of the failure */
            if (fputc('\n', f) == EOF || ferror(f))
                return io_err(err, n, "validation trajectories: write failed at episode %d, "
                              "step %d: %s", e, t, strerror(errno));
        }
    if (fflush(f) != 0 || ferror(f))
        return io_err(err, n, "validation trajectories: write failed: %s", strerror(errno));
    return 0;
}

int mnet_traj_write_csv(const char *path, const mnet_traj *tr, char *err, size_t n)
{
    return mnet_traj_write_csv_joints(path, tr, NULL, err, n);
}

int mnet_traj_write_csv_joints(const char *path, const mnet_traj *tr,
                               const mnet_traj_joints *joints, char *err, size_t n)
{
    char msg[160];
    if (traj_check(tr, msg, sizeof msg) != 0 || joints_check(joints, msg, sizeof msg) != 0)
        return io_err(err, n, "cannot write trajectories '%s': %s", path ? path : "", msg);
    io_atomic af;
    if (io_atomic_open(&af, path, "trajectory file", err, n) != 0)
        return -1;
    if (mnet_traj_write_csv_file_joints(af.f, tr, joints, msg, sizeof msg) != 0) {
        io_err(err, n, "cannot write trajectories '%s': %s; the previous file, if any, is "
               "unchanged", path, msg);
        io_atomic_abort(&af);
        return -1;
    }
    return io_atomic_commit(&af, err, n);
}
