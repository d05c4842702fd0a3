/* test_plot.c - `mnet plot` (tools/mnet_plot.c), its SVG writer
 * (tools/svg.c) and PCA (tools/pca.c).
 *
 * The episodes come from a fixture written here in the recorder's layout
 * (runtime/record.c): synthetic straight reaches from a centre to points on
 * a circle, so the paths' extreme points are known; the hidden states are
 * a smooth function of the reach.  The fixture is a safetensors file
 * written by this file's own writer (F32, the metadata of mnet_record.h),
 * so the tests can also write files of another version; cli/plot.sh plots
 * what runtime/record.c writes.
 *
 * The binary doubles as a driver for tests/cli/plot.sh and
 * bench/plot_bench.sh:
 *   test_plot --write-fixture DIR N T H [--curl K] [--no-body]
 *             (DIR/episodes.safetensors and DIR/log.csv)
 *   test_plot plot ARGS...     (mnet_plot_main, as `mnet plot ARGS...`)
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnet_plot.h"
#include "mnet_safetensors.h"
#include "pca.h"
#include "svg.h"
#include "test_support.h"

/* ==== the fixture ==== */

#define FX_CX 0.05     /* the centre of the reaches (m) */
#define FX_CY 0.40
#define FX_R 0.10      /* their length (m)              */
#define FX_STEP 0.01   /* s                             */
#define FX_M 6         /* muscles                       */

typedef struct fx_tensor {
    char name[32];
    int ndim;
    int64_t shape[4];
    float *data;
} fx_tensor;

typedef struct fx_opts {
    int N, T, H;
    double curl;           /* 0: no load.curl line                    */
    int no_body;           /* leave body.points out                   */
    const char *format;    /* mnet.format, default "mnet-episodes"    */
    const char *version;   /* version, default "1"                    */
    int bad_hidden;        /* hidden.0 with one episode too few       */
    const char *hidden_names; /* names.hidden (a modular network), or NULL */
} fx_opts;

static size_t fx_count(const fx_tensor *t)
{
    size_t c = 1;
    for (int i = 0; i < t->ndim; i++)
        c *= (size_t)t->shape[i];
    return c;
}

static fx_tensor *fx_add(fx_tensor *ts, int *nt, const char *name, int ndim, int64_t a, int64_t b,
                         int64_t c, int64_t d)
{
    fx_tensor *t = &ts[(*nt)++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    int64_t s[4] = {a, b, c, d};
    memcpy(t->shape, s, sizeof s);
    t->data = calloc(fx_count(t), sizeof *t->data);
    return t;
}

/* A JSON string (the metadata values hold line breaks). */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

/* The safetensors layout: u64 header length, the JSON header padded with
 * spaces to a multiple of 8, the tensors' bytes (F32, little-endian). */
static int fx_write_st(const char *path, const fx_tensor *ts, int nt, const char *const *meta)
{
    char *hdr = NULL;
    size_t hlen = 0;
    FILE *m = open_memstream(&hdr, &hlen);
    if (!m)
        return -1;
    fputs("{\"__metadata__\":{", m);
    for (int i = 0; meta[i]; i += 2) {
        fputs(i ? "," : "", m);
        json_str(m, meta[i]);
        fputc(':', m);
        json_str(m, meta[i + 1]);
    }
    fputc('}', m);
    uint64_t off = 0;
    for (int i = 0; i < nt; i++) {
        fprintf(m, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[", ts[i].name);
        for (int k = 0; k < ts[i].ndim; k++)
            fprintf(m, "%s%lld", k ? "," : "", (long long)ts[i].shape[k]);
        uint64_t bytes = fx_count(&ts[i]) * 4;
        fprintf(m, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                (unsigned long long)(off + bytes));
        off += bytes;
    }
    fputc('}', m);
    while (ftell(m) % 8)
        fputc(' ', m);
    fclose(m);
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(hdr);
        return -1;
    }
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(hdr, 1, hlen, f);
    for (int i = 0; i < nt; i++)   /* x86 and arm64 hosts are little-endian */
        fwrite(ts[i].data, 4, fx_count(&ts[i]), f);
    free(hdr);
    return fclose(f) == 0 ? 0 : -1;
}

/* Minimum-jerk position and speed profile at tau in [0, 1]. */
static double mj(double tau)
{
    return tau * tau * tau * (10 - 15 * tau + 6 * tau * tau);
}

static double mj_d(double tau)
{
    return 30 * tau * tau * (1 - tau) * (1 - tau);
}

/* Writes dir/episodes.safetensors: episode e reaches from the centre
 * towards angle 2 pi e / N over the T steps. */
static int fx_write(const char *path, const fx_opts *o)
{
    int N = o->N, T = o->T, T1 = T + 1, H = o->H, M = FX_M, K = 3;
    fx_tensor ts[24];
    int nt = 0;
    fx_tensor *obs = fx_add(ts, &nt, "obs", 3, N, T, 6, 1);
    fx_tensor *hid = fx_add(ts, &nt, "hidden.0", 3, o->bad_hidden ? N - 1 : N, T, H, 1);
    fx_tensor *outp = fx_add(ts, &nt, "output", 3, N, T, M, 1);
    fx_tensor *act = fx_add(ts, &nt, "action", 3, N, T, M, 1);
    fx_add(ts, &nt, "load", 3, N, T, 2, 1);
    fx_tensor *q = fx_add(ts, &nt, "joint.q", 3, N, T1, 2, 1);
    fx_add(ts, &nt, "joint.qd", 3, N, T1, 2, 1);
    fx_tensor *pos = fx_add(ts, &nt, "endpoint.pos", 3, N, T1, 2, 1);
    fx_tensor *vel = fx_add(ts, &nt, "endpoint.vel", 3, N, T1, 2, 1);
    fx_tensor *ma = fx_add(ts, &nt, "muscle.activation", 3, N, T1, M, 1);
    fx_tensor *mf = fx_add(ts, &nt, "muscle.force", 3, N, T1, M, 1);
    fx_tensor *body = o->no_body ? NULL : fx_add(ts, &nt, "body.points", 4, N, T1, K, 2);
    fx_tensor *tgt = fx_add(ts, &nt, "target", 3, N, T1, 2, 1);
    fx_tensor *goal = fx_add(ts, &nt, "goal", 2, N, 2, 1, 1);
    fx_tensor *start = fx_add(ts, &nt, "start", 2, N, 2, 1, 1);
    fx_tensor *go = fx_add(ts, &nt, "go_time", 1, N, 1, 1, 1);
    fx_add(ts, &nt, "catch", 1, N, 1, 1, 1);
    fx_tensor *lp = fx_add(ts, &nt, "loss.position", 2, N, T1, 1, 1);
    int ok = 1;
    for (int i = 0; i < nt; i++)
        ok = ok && ts[i].data;
    for (int e = 0; ok && e < N; e++) {
        double th = 2 * M_PI * e / N, ux = cos(th), uy = sin(th);
        double gx = FX_CX + FX_R * ux, gy = FX_CY + FX_R * uy;
        goal->data[e * 2] = (float)gx;
        goal->data[e * 2 + 1] = (float)gy;
        start->data[e * 2] = (float)FX_CX;
        start->data[e * 2 + 1] = (float)FX_CY;
        go->data[e] = 0;
        for (int t = 0; t < T1; t++) {
            double tau = (double)t / T, s = mj(tau), sd = mj_d(tau) / (T * FX_STEP);
            size_t i2 = ((size_t)e * T1 + t) * 2;
            double px = FX_CX + FX_R * s * ux, py = FX_CY + FX_R * s * uy;
            pos->data[i2] = (float)px;
            pos->data[i2 + 1] = (float)py;
            vel->data[i2] = (float)(FX_R * sd * ux);
            vel->data[i2 + 1] = (float)(FX_R * sd * uy);
            tgt->data[i2] = (float)gx;
            tgt->data[i2 + 1] = (float)gy;
            lp->data[(size_t)e * T1 + t] = (float)((px - gx) * (px - gx) + (py - gy) * (py - gy));
            /* a two-link arm (0.3 m links) from the origin to the hand */
            double dist = hypot(px, py), al = acos(fmin(1, dist / 0.6)), base = atan2(py, px);
            q->data[i2] = (float)(base + al);
            q->data[i2 + 1] = (float)(-2 * al);
            if (body) {
                float *b = body->data + ((size_t)e * T1 + t) * K * 2;
                b[0] = 0, b[1] = 0;
                b[2] = (float)(0.3 * cos(base + al));
                b[3] = (float)(0.3 * sin(base + al));
                b[4] = (float)px, b[5] = (float)py;
            }
            for (int m = 0; m < M; m++) {
                double a = 0.1 + 0.8 * mj_d(tau) / 1.875 * (0.5 + 0.5 * cos(th - m * M_PI / 3));
                ma->data[((size_t)e * T1 + t) * M + m] = (float)a;
                mf->data[((size_t)e * T1 + t) * M + m] = (float)(800 * a);
                if (t < T) {
                    act->data[((size_t)e * T + t) * M + m] = (float)a;
                    outp->data[((size_t)e * T + t) * M + m] = (float)a;
                }
            }
            if (t < T)
                for (int i = 0; i < 6; i++)
                    obs->data[((size_t)e * T + t) * 6 + i] = (float)(i < 2 ? (i ? py : px) : s);
        }
    }
    for (int e = 0; ok && e < hid->shape[0]; e++) {
        double th = 2 * M_PI * e / N;
        for (int t = 0; t < T; t++) {
            double tau = (t + 1.0) / T, s = mj(tau), sd = mj_d(tau);
            float *h = hid->data + ((size_t)e * T + t) * H;
            for (int u = 0; u < H; u++)
                h[u] = (float)tanh(s * cos(th + u) + 0.5 * sd * sin(0.7 * u) + 0.1 * sin(3 * tau + u));
        }
    }
    char run[256], step[32];
    snprintf(run, sizeof run, "task.kind=centre_out_reach\n%sseed=1\n",
             o->curl != 0 ? "load.curl=15\n" : "");
    if (o->curl != 0)
        snprintf(run, sizeof run, "task.kind=centre_out_reach\nload.curl=%g\nseed=1\n", o->curl);
    snprintf(step, sizeof step, "%g", FX_STEP);
    char sizes[2][16];
    snprintf(sizes[0], sizeof sizes[0], "%d", N);
    snprintf(sizes[1], sizeof sizes[1], "%d", T);
    const char *meta[] = {"format", "pt", "mnet.format", o->format ? o->format : "mnet-episodes",
                          "version", o->version ? o->version : "1",
                          "layout", "batch-major [episode, step, row]", "step", step,
                          "n_episodes", sizes[0], "n_steps", sizes[1],
                          "names.joint", "shoulder,elbow",
                          "names.muscle", "pectoralis,deltoid,brachioradialis,tricepslat,biceps,tricepslong",
                          "names.muscle_row", "activation,force",
                          "names.point", o->no_body ? "" : "base,elbow,endpoint", "run", run,
                          o->hidden_names ? "names.hidden" : NULL, o->hidden_names, NULL};
    int rc = ok ? fx_write_st(path, ts, nt, meta) : -1;
    for (int i = 0; i < nt; i++)
        free(ts[i].data);
    return rc;
}

/* A training log of `rows` batches: the loss and two terms falling
 * exponentially (loss_b = 10^(-b / 100)). */
static int fx_write_log(const char *path, int rows)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("batch,loss,position,\"activation,l2\",grad_norm,lr,ms\n", f);
    for (int b = 1; b <= rows; b++) {
        double l = pow(10, -b / 100.0);
        fprintf(f, "%d,%.9g,%.9g,%.9g,%.6g,%.6g,%.3f\n", b, l, 0.9 * l, 0.1 * l * (1 + 0.3 * sin(b)),
                0.5, 1e-3, 3.0);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* ==== helpers ==== */

static char tmp_root[256];

static void make_tmp(char *dir, size_t n, const char *tag)
{
    snprintf(dir, n, "%s/%s", tmp_root, tag);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Files in dir (0 when it does not exist). */
static int count_files(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int k = 0;
    if (p) {
        if (fscanf(p, "%d", &k) != 1)
            k = -1;
        pclose(p);
    }
    return k;
}

/* Runs mnet_plot_main with argv (NULL-terminated); stdout and stderr go to
 * a file whose text ends up in out (n bytes). */
static int run_plot(char *out, size_t n, const char *const *argv)
{
    char **args = NULL;
    int argc = 0;
    while (argv[argc])
        argc++;
    args = calloc((size_t)argc + 1, sizeof *args);
    for (int i = 0; i < argc; i++)
        args[i] = (char *)argv[i];
    char path[300];
    snprintf(path, sizeof path, "%s/plot_out.txt", tmp_root);
    fflush(stdout);
    fflush(stderr);
    int save1 = dup(1), save2 = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int rc = mnet_plot_main(argc, args);
    fflush(stdout);
    fflush(stderr);
    dup2(save1, 1);
    dup2(save2, 2);
    close(save1);
    close(save2);
    free(args);
    long len = 0;
    char *text = mnet_read_file(path, &len);
    snprintf(out, n, "%s", text ? text : "");
    free(text);
    unlink(path);
    return rc;
}

/* ==== SVG reading: the numbers of our own figures ==== */

/* The value of attribute `name` in the element starting at el (before its
 * first '>'), or NaN. */
static double attr_num(const char *el, const char *name)
{
    char key[48];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *gt = strchr(el, '>');
    const char *a = strstr(el, key);
    if (!a || (gt && a > gt))
        return NAN;
    return strtod(a + strlen(key), NULL);
}

/* Fits pixel = k value + c over the ticks of class `cls` (tick-x, tick-y);
 * values are the label's text (log10 of data-value on a log axis).  The
 * largest residual goes to *resid.  Number of ticks. */
static int fit_ticks(const char *svg, const char *cls, int use_log, double *k, double *c,
                     double *resid)
{
    double v[64], px[64];
    int n = 0;
    char key[48];
    snprintf(key, sizeof key, "class=\"%s\"", cls);
    for (const char *p = strstr(svg, key); p && n < 64; p = strstr(p + 1, key)) {
        const char *el = p;
        while (el > svg && *el != '<')
            el--;
        px[n] = attr_num(el, cls[5] == 'x' ? "x" : "y");
        if (use_log)
            v[n] = log10(attr_num(el, "data-value"));
        else
            v[n] = strtod(strchr(p, '>') + 1, NULL);   /* the label as drawn */
        n++;
    }
    if (n < 2)
        return n;
    double mv = 0, mp = 0, svv = 0, svp = 0;
    for (int i = 0; i < n; i++)
        mv += v[i] / n, mp += px[i] / n;
    for (int i = 0; i < n; i++)
        svv += (v[i] - mv) * (v[i] - mv), svp += (v[i] - mv) * (px[i] - mp);
    *k = svp / svv;
    *c = mp - *k * mv;
    *resid = 0;
    for (int i = 0; i < n; i++)
        *resid = fmax(*resid, fabs(*k * v[i] + *c - px[i]));
    /* y labels sit 4 units below their tick (baseline): the tick lines are
     * where the values are, so measure at the lines instead */
    return n;
}

/* The points of every polyline between `from` and `to` into xs, ys
 * (at most cap).  Number read. */
static int read_points(const char *from, const char *to, double *xs, double *ys, int cap)
{
    int n = 0;
    for (const char *p = strstr(from, "points=\""); p && p < to; p = strstr(p + 1, "points=\"")) {
        const char *s = p + 8;
        while (*s != '"' && n < cap) {
            char *e;
            double x = strtod(s, &e);
            if (e == s || *e != ',')
                break;
            double y = strtod(e + 1, &e);
            xs[n] = x, ys[n] = y, n++;
            s = e;
            while (*s == ' ')
                s++;
        }
    }
    return n;
}

/* ==== tests: the SVG writer ==== */

static void test_nice_numbers(void)
{
    CU_ASSERT_DOUBLE_EQUAL(svg_nice_num(0.97, 0), 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(svg_nice_num(0.13, 1), 0.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(svg_nice_num(0.13, 0), 0.2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(svg_nice_num(340, 1), 500, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(svg_nice_num(7.5, 1), 10, 1e-12);
    double lo, hi, s;
    svg_nice_range(0, 0.97, 6, &lo, &hi, &s);
    CU_ASSERT_DOUBLE_EQUAL(lo, 0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hi, 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s, 0.2, 1e-12);
    svg_nice_range(-0.13, 0.11, 5, &lo, &hi, &s);   /* 0.24 / 4 = 0.06 -> 0.05 */
    CU_ASSERT_DOUBLE_EQUAL(lo, -0.15, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hi, 0.15, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s, 0.05, 1e-12);
    svg_nice_range(0, 0.6, 4, &lo, &hi, &s);        /* a time axis: no room wasted */
    CU_ASSERT_DOUBLE_EQUAL(hi, 0.6, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s, 0.2, 1e-12);
    svg_nice_range(1, 1000, 5, &lo, &hi, &s);   /* 1..1000 by 200 */
    CU_ASSERT_DOUBLE_EQUAL(s, 200, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(lo, 0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(hi, 1000, 1e-9);
    svg_nice_range(3, 3, 5, &lo, &hi, &s);      /* one value: widened around it */
    CU_ASSERT(lo < 3 && hi > 3 && s > 0);
    /* a value a rounding error past a tick stays on it */
    svg_nice_range(0, 0.1 + 1e-15, 6, &lo, &hi, &s);
    CU_ASSERT_DOUBLE_EQUAL(hi, 0.1, 1e-12);
}

static void test_viridis(void)
{
    char hex[8];
    svg_viridis(0, hex);
    CU_ASSERT_STRING_EQUAL(hex, "#440154");
    svg_viridis(1, hex);
    CU_ASSERT_STRING_EQUAL(hex, "#fde725");
    svg_viridis(0.5, hex);
    CU_ASSERT_STRING_EQUAL(hex, "#21918c");
    svg_viridis(-3, hex);
    CU_ASSERT_STRING_EQUAL(hex, "#440154");
    svg_viridis(NAN, hex);
    CU_ASSERT_STRING_EQUAL(hex, "#440154");
    /* halfway between two control points: their mean */
    int c[3];
    svg_viridis_rgb(1.0 / 32, c);
    CU_ASSERT_EQUAL(c[0], 70);   /* (0x44 + 0x48) / 2 */
    CU_ASSERT_EQUAL(c[1], 13);   /* (0x01 + 0x18) / 2 = 12.5, rounded */
    /* perceptually ordered: the luminance rises all the way */
    double last = -1;
    int rising = 1;
    for (int i = 0; i <= 64; i++) {
        svg_viridis_rgb(i / 64.0, c);
        double y = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
        if (!(y > last))
            rising = 0;
        last = y;
    }
    CU_ASSERT(rising);
}

static void test_svg_escapes_and_axes(void)
{
    svg_doc d;
    CU_ASSERT_EQUAL(svg_begin(&d, 100, 80, "a<b & \"c\""), 0);
    svg_text(&d, 1, 2, NULL, "%s", "x</text><script>");
    svg_axes a;
    svg_axes_fit(&a, 10, 10, 80, 60, 0.02, 0.93, 0, 1e-3, 2, 1, 5, 5);
    CU_ASSERT_DOUBLE_EQUAL(a.x_lo, 0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.x_hi, 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.y_lo, -3, 1e-12);   /* decades 1e-3 .. 10 */
    CU_ASSERT_DOUBLE_EQUAL(a.y_hi, 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(svg_axes_x(&a, 0.5), 50, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(svg_axes_y(&a, 1e-3), 70, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(svg_axes_y(&a, 10), 10, 1e-9);
    CU_ASSERT(isnan(svg_axes_y(&a, 0)));         /* no place for 0 on a log axis */
    svg_axes_draw(&d, &a, "x (m)", "y (1)", NULL);
    CU_ASSERT_EQUAL(svg_end(&d), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.buf, "<title>a&lt;b &amp; &quot;c&quot;</title>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.buf, "x&lt;/text&gt;&lt;script&gt;"));
    CU_ASSERT_PTR_NULL(strstr(d.buf, "<script>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.buf, "data-value=\"1e-3\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.buf, ">0.2</text>"));
    /* equal axes: one metre as long on both */
    svg_axes_fit_equal(&a, 0, 0, 400, 300, -0.05, 0.15, 0.3, 0.5, 6);
    double kx = (svg_axes_x(&a, 1) - svg_axes_x(&a, 0));
    double ky = (svg_axes_y(&a, 0) - svg_axes_y(&a, 1));
    CU_ASSERT_DOUBLE_EQUAL(kx, ky, 1e-9);
    CU_ASSERT(svg_axes_x(&a, -0.05) >= -1e-9 && svg_axes_x(&a, 0.15) <= 400 + 1e-9);
    CU_ASSERT(svg_axes_y(&a, 0.3) <= 300 + 1e-9 && svg_axes_y(&a, 0.5) >= -1e-9);
    svg_free(&d);
}

/* ==== tests: PCA ==== */

/* Ten points on the plane through c spanned by the orthonormal u, v of
 * R^5: x = c + a u + b v, a in {-2..2}, b in {-1, 1}.  The sample
 * covariance (n - 1 = 9) is (20/9) u u^T + (10/9) v v^T: PC1 = u with
 * variance 20/9, PC2 = v with 10/9, the rest 0, and each point's
 * coordinates are (a, b). */
static void test_pca_plane(void)
{
    double u[5] = {1, 2, 0, 2, 0}, v[5] = {2, -1, 0, 0, 2}, c[5] = {3, -1, 4, 1, 5};
    for (int i = 0; i < 5; i++)
        u[i] /= 3, v[i] /= 3;   /* |u| = |v| = 1, u.v = 0 */
    double x[10 * 5], ab[10][2];
    int n = 0;
    for (int a = -2; a <= 2; a++)
        for (int b = -1; b <= 1; b += 2) {
            for (int i = 0; i < 5; i++)
                x[n * 5 + i] = c[i] + a * u[i] + b * v[i];
            ab[n][0] = a, ab[n][1] = b;
            n++;
        }
    mnet_pca p;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(mnet_pca_fit(&p, x, n, 5, 3, err, sizeof err), 0);
    double max_err = 0;
    max_err = fmax(max_err, fabs(p.variance[0] - 20.0 / 9));
    max_err = fmax(max_err, fabs(p.variance[1] - 10.0 / 9));
    max_err = fmax(max_err, fabs(p.variance[2]));
    max_err = fmax(max_err, fabs(p.total_variance - 30.0 / 9));
    double du = 0, dv = 0;
    for (int i = 0; i < 5; i++) {
        du += p.components[i] * u[i];
        dv += p.components[5 + i] * v[i];
        max_err = fmax(max_err, fabs(p.mean[i] - c[i]));
    }
    max_err = fmax(max_err, fabs(fabs(du) - 1));
    max_err = fmax(max_err, fabs(fabs(dv) - 1));
    double z[10 * 3];
    mnet_pca_project(&p, x, n, z);
    for (int k = 0; k < n; k++) {
        max_err = fmax(max_err, fabs(z[k * 3] - (du > 0 ? 1 : -1) * ab[k][0]));
        max_err = fmax(max_err, fabs(z[k * 3 + 1] - (dv > 0 ? 1 : -1) * ab[k][1]));
        max_err = fmax(max_err, fabs(z[k * 3 + 2]));
    }
    printf("\n    PCA of a plane in R^5: max error %.3g\n", max_err);
    CU_ASSERT(max_err < 1e-12);
    /* the sign convention: each component's largest entry is positive */
    for (int k = 0; k < 2; k++) {
        int big = 0;
        for (int i = 1; i < 5; i++)
            if (fabs(p.components[k * 5 + i]) > fabs(p.components[k * 5 + big]))
                big = i;
        CU_ASSERT(p.components[k * 5 + big] > 0);
    }
    mnet_pca_free(&p);
}

/* Four points +-alpha u1, +-beta u2 with u1 = (1, 1)/sqrt2, u2 = (1, -1)/sqrt2,
 * alpha^2 = 4.5, beta^2 = 1.5: covariance [[2, 1], [1, 2]], eigenvalues 3
 * and 1. */
static void test_pca_2d(void)
{
    double al = sqrt(4.5) / sqrt(2), be = sqrt(1.5) / sqrt(2);
    double x[8] = {al, al, -al, -al, be, -be, -be, be};
    mnet_pca p;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(mnet_pca_fit(&p, x, 4, 2, 2, err, sizeof err), 0);
    CU_ASSERT_DOUBLE_EQUAL(p.variance[0], 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p.variance[1], 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(fabs(p.components[0]), sqrt(0.5), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p.components[0] * p.components[1], 0.5, 1e-12);   /* along (1, 1) */
    CU_ASSERT_DOUBLE_EQUAL(p.components[2] * p.components[3], -0.5, 1e-12);  /* along (1, -1) */
    mnet_pca_free(&p);
    /* bad sizes: an error, nothing allocated */
    CU_ASSERT_EQUAL(mnet_pca_fit(&p, x, 1, 2, 1, err, sizeof err), -1);
    CU_ASSERT_PTR_NULL(p.mean);
    CU_ASSERT_EQUAL(mnet_pca_fit(&p, x, 4, 2, 3, err, sizeof err), -1);
}

/* ==== tests: the figures ==== */

static const char *const figure_files[] = {"loss.svg", "paths.svg", "body.svg", "speed.svg",
                                           "muscles.svg", "hidden_heatmap.svg", "hidden_pca.svg",
                                           "replay.svg"};
#define N_FIGURES 8

/* A run directory: log.csv of 300 batches and 8 episodes of 60 steps. */
static void make_run(char *dir, size_t n, const char *tag, const fx_opts *o)
{
    make_tmp(dir, n, tag);
    char path[400];
    snprintf(path, sizeof path, "%s/episodes.safetensors", dir);
    CU_ASSERT_EQUAL_FATAL(fx_write(path, o), 0);
    snprintf(path, sizeof path, "%s/log.csv", dir);
    CU_ASSERT_EQUAL_FATAL(fx_write_log(path, 300), 0);
}

static void test_all_figures(void)
{
    char dir[300], out[400], msg[8192], path[500];
    fx_opts o = {.N = 8, .T = 60, .H = 16, .curl = 15};
    make_run(dir, sizeof dir, "all", &o);
    snprintf(out, sizeof out, "%s/figs/a/b", dir);   /* parents created */
    int rc = run_plot(msg, sizeof msg, (const char *[]){dir, "--out", out, "--episode", "3", NULL});
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        printf("\n%s\n", msg);
    CU_ASSERT_EQUAL(count_files(out), N_FIGURES);   /* no temporaries left */
    for (int f = 0; f < N_FIGURES; f++) {
        snprintf(path, sizeof path, "%s/%s", out, figure_files[f]);
        long len = 0;
        char *s = mnet_read_file(path, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT(!strncmp(s, "<?xml", 5));
        CU_ASSERT(len > 7 && !strcmp(s + len - 7, "</svg>\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, figure_files[f]));
        if (!strcmp(figure_files[f], "paths.svg")) {
            CU_ASSERT_PTR_NOT_NULL(strstr(s, "id=\"curl-field\" data-curl=\"15\""));
            CU_ASSERT_PTR_NOT_NULL(strstr(s, "class=\"target\" data-episode=\"7\""));
        }
        if (!strcmp(figure_files[f], "replay.svg")) {
            CU_ASSERT_PTR_NOT_NULL(strstr(s, "<animateMotion"));
            CU_ASSERT_PTR_NOT_NULL(strstr(s, "attributeName=\"points\""));
            CU_ASSERT_PTR_NOT_NULL(strstr(s, "Replay, episode 3"));
        }
        if (!strcmp(figure_files[f], "muscles.svg"))
            CU_ASSERT_PTR_NOT_NULL(strstr(s, ">brachioradialis</text>"));
        if (!strcmp(figure_files[f], "loss.svg"))
            CU_ASSERT_PTR_NOT_NULL(strstr(s, ">activation,l2</text>"));   /* quoted CSV name */
        free(s);
    }
    /* no curl: no field drawn */
    fx_opts o2 = {.N = 4, .T = 20, .H = 4};
    make_run(dir, sizeof dir, "nocurl", &o2);
    CU_ASSERT_EQUAL(run_plot(msg, sizeof msg, (const char *[]){dir, NULL}), 0);
    snprintf(path, sizeof path, "%s/figures/paths.svg", dir);
    char *s = mnet_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NULL(strstr(s, "curl-field"));
    free(s);
}

/* The hand paths' extreme points land where the axes' tick labels say. */
static void test_paths_map_data(void)
{
    char dir[300], msg[4096], path[400];
    fx_opts o = {.N = 8, .T = 50, .H = 8};
    make_run(dir, sizeof dir, "map", &o);
    CU_ASSERT_EQUAL_FATAL(run_plot(msg, sizeof msg, (const char *[]){dir, NULL}), 0);
    snprintf(path, sizeof path, "%s/figures/paths.svg", dir);
    char *s = mnet_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    double kx, cx, ky, cy, rx, ry;
    CU_ASSERT_FATAL(fit_ticks(s, "tick-x", 0, &kx, &cx, &rx) >= 3);
    CU_ASSERT_FATAL(fit_ticks(s, "tick-y", 0, &ky, &cy, &ry) >= 3);
    CU_ASSERT(rx < 0.02);     /* ticks evenly spaced for their labels */
    CU_ASSERT(ry < 0.02);
    CU_ASSERT(kx > 0 && ky < 0);
    CU_ASSERT_DOUBLE_EQUAL(kx, -ky, 1e-6 * kx);   /* equal aspect */
    cy -= 4;                  /* y labels sit 4 below their tick's line */
    /* every episode's points: extremes over all, and episode 0's end */
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY, end[2] = {NAN, NAN};
    int episodes = 0;
    static double xs[20000], ys[20000];
    for (const char *g = strstr(s, "<g id=\"path-"); g; g = strstr(g + 1, "<g id=\"path-")) {
        const char *ge = strstr(g, "</g>");
        int k = read_points(g, ge, xs, ys, 20000);
        CU_ASSERT(k > o.T);
        for (int i = 0; i < k; i++) {
            double x = (xs[i] - cx) / kx, y = (ys[i] - cy) / ky;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
        }
        if (episodes == 0 && k > 0)
            end[0] = (xs[k - 1] - cx) / kx, end[1] = (ys[k - 1] - cy) / ky;
        episodes++;
    }
    CU_ASSERT_EQUAL(episodes, o.N);
    double tol = 0.011 / kx + 1e-6;   /* two roundings to 0.01 unit (point, tick) */
    double e1 = fmax(fmax(fabs(xhi - (FX_CX + FX_R)), fabs(xlo - (FX_CX - FX_R))),
                     fmax(fabs(yhi - (FX_CY + FX_R)), fabs(ylo - (FX_CY - FX_R))));
    double e2 = fmax(fabs(end[0] - (FX_CX + FX_R)), fabs(end[1] - FX_CY));
    printf("\n    paths: extremes x [%.5f, %.5f] y [%.5f, %.5f] m, max error %.2g m (tolerance %.2g)\n",
           xlo, xhi, ylo, yhi, fmax(e1, e2), tol);
    CU_ASSERT(e1 < tol);
    CU_ASSERT(e2 < tol);
    /* the targets' circles at the goals */
    const char *t = strstr(s, "class=\"target\" data-episode=\"2\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    while (t > s && *t != '<')
        t--;
    CU_ASSERT_DOUBLE_EQUAL((attr_num(t, "cx") - cx) / kx, FX_CX, tol);   /* 90 deg: straight up */
    CU_ASSERT_DOUBLE_EQUAL((attr_num(t, "cy") - cy) / ky, FX_CY + FX_R, tol);
    free(s);

    /* loss.svg: the first point of the loss where its log axis says */
    snprintf(path, sizeof path, "%s/figures/loss.svg", dir);
    s = mnet_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_FATAL(fit_ticks(s, "tick-y", 1, &ky, &cy, &ry) >= 2);
    CU_ASSERT_FATAL(fit_ticks(s, "tick-x", 0, &kx, &cx, &rx) >= 2);
    cy -= 4;
    const char *g = strstr(s, "<g id=\"loss-1\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    int k = read_points(g, strstr(g, "</g>"), xs, ys, 20000);
    CU_ASSERT_EQUAL(k, 300);
    CU_ASSERT_DOUBLE_EQUAL((xs[0] - cx) / kx, 1, 0.01);
    CU_ASSERT_DOUBLE_EQUAL((ys[0] - cy) / ky, -0.01, 1e-3);      /* log10(10^-0.01) */
    CU_ASSERT_DOUBLE_EQUAL((ys[299] - cy) / ky, -3.0, 1e-3);     /* batch 300 */
    free(s);
}

/* The PCA figure's variances are those of the hidden states. */
static void test_pca_figure(void)
{
    char dir[300], msg[4096], path[400];
    fx_opts o = {.N = 6, .T = 30, .H = 10};
    make_run(dir, sizeof dir, "pcafig", &o);
    CU_ASSERT_EQUAL_FATAL(run_plot(msg, sizeof msg, (const char *[]){dir, NULL}), 0);
    snprintf(path, sizeof path, "%s/figures/hidden_pca.svg", dir);
    char *s = mnet_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *dsc = strstr(s, "<desc id=\"pca-variance\">");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dsc);
    double v1 = 0, v2 = 0, v3 = 0, tot = 0;
    CU_ASSERT_EQUAL(sscanf(strchr(dsc, '>') + 1, "%lf %lf %lf of %lf", &v1, &v2, &v3, &tot), 4);
    /* the same states, from the file, by a direct covariance */
    mnet_safetensors st;
    char err[256];
    snprintf(path, sizeof path, "%s/episodes.safetensors", dir);
    CU_ASSERT_EQUAL_FATAL(mnet_safetensors_open(path, &st, err, sizeof err), 0);
    int n = o.N * o.T, H = o.H;
    double *h = malloc((size_t)n * H * sizeof *h), mean[16] = {0}, trace = 0;
    CU_ASSERT_EQUAL(mnet_safetensors_read(&st, "hidden.0", h, (size_t)n * H, err, sizeof err), 0);
    mnet_safetensors_close(&st);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < H; j++)
            mean[j] += h[i * H + j] / n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < H; j++)
            trace += (h[i * H + j] - mean[j]) * (h[i * H + j] - mean[j]) / (n - 1);
    CU_ASSERT_DOUBLE_EQUAL(tot, trace, 1e-7 * trace);   /* printed with 9 digits */
    CU_ASSERT(v1 >= v2 && v2 >= v3 && v3 >= 0 && v1 + v2 + v3 <= tot * (1 + 1e-9));
    free(h);
    free(s);
}

/* A modular network (names.hidden): the heat map's rows are grouped by
 * module in their order and sorted by the step of the peak within each; a
 * line between modules, a label per module; each module's own principal
 * components in hidden_pca_modules.svg.  names.hidden of the wrong length:
 * the plain figures. */
static void test_modules(void)
{
    enum { H = 10, MODS = 3 };
    static const char *const mod_name[MODS] = {"pmd", "m1", "s<1"};   /* escaped in the SVG */
    static const int first[MODS + 1] = {0, 3, 7, 10};
    char dir[300], msg[4096], path[400];
    fx_opts o = {.N = 5, .T = 40, .H = H, .hidden_names =
                 "pmd:0,pmd:1,pmd:2,m1:0,m1:1,m1:2,m1:3,s<1:0,s<1:1,s<1:2"};
    make_run(dir, sizeof dir, "modules", &o);
    CU_ASSERT_EQUAL_FATAL(run_plot(msg, sizeof msg, (const char *[]){dir, "--episode", "2", NULL}), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "hidden_pca_modules.svg"));
    /* the expected order: episode 2's peaks, from the file */
    mnet_safetensors st;
    char err[256];
    snprintf(path, sizeof path, "%s/episodes.safetensors", dir);
    CU_ASSERT_EQUAL_FATAL(mnet_safetensors_open(path, &st, err, sizeof err), 0);
    int n = o.N * o.T;
    double *h = malloc((size_t)n * H * sizeof *h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mnet_safetensors_read(&st, "hidden.0", h, (size_t)n * H, err, sizeof err), 0);
    mnet_safetensors_close(&st);
    int peak[H], want[H];
    const double *h2 = h + (size_t)2 * o.T * H;
    for (int u = 0; u < H; u++) {
        peak[u] = 0;
        for (int t = 1; t < o.T; t++)
            if (fabs(h2[t * H + u]) > fabs(h2[peak[u] * H + u]))
                peak[u] = t;
    }
    int distinct = 0;   /* some module's units are not in unit order */
    for (int m = 0, r = 0; m < MODS; m++)
        for (int k = first[m]; k < first[m + 1]; k++) {
            /* insertion by (peak, unit) within the module */
            int j = r++;
            while (j > first[m] && (peak[want[j - 1]] > peak[k] ||
                                    (peak[want[j - 1]] == peak[k] && want[j - 1] > k))) {
                want[j] = want[j - 1];
                j--;
            }
            want[j] = k;
        }
    for (int r = 0; r < H; r++)
        distinct |= want[r] != r;
    CU_ASSERT(distinct);   /* else the fixture does not test the sorting */

    snprintf(path, sizeof path, "%s/figures/hidden_heatmap.svg", dir);
    char *s = mnet_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *dsc = strstr(s, "<desc id=\"heatmap-order\">");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dsc);
    dsc = strchr(dsc, '>') + 1;
    for (int r = 0; r < H; r++) {
        char *e;
        long u = strtol(dsc, &e, 10);
        CU_ASSERT_EQUAL(u, want[r]);
        dsc = e;
    }
    /* inside the heat map's group: M - 1 separators at the modules' first
     * rows, then each module's label (name, units) in unit order */
    const char *g = strstr(s, "<g id=\"heatmap\"");
    const char *mods = strstr(s, "<g id=\"heatmap-modules\" data-modules=\"3\">");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mods);
    CU_ASSERT(mods > g && mods < strstr(g, "<desc id=\"heatmap-order\">"));
    const char *p = mods;
    int n_sep = 0, n_label = 0;
    for (const char *q = strstr(p, "class=\"module-sep\""); q; q = strstr(q + 1, "class=\"module-sep\"")) {
        CU_ASSERT(n_sep < MODS - 1);
        if (n_sep < MODS - 1)
            CU_ASSERT_EQUAL((int)attr_num(q - 1, "data-row"), first[n_sep + 1]);
        n_sep++;
    }
    CU_ASSERT_EQUAL(n_sep, MODS - 1);
    for (const char *q = strstr(p, "class=\"module-label\""); q; q = strstr(q + 1, "class=\"module-label\"")) {
        if (n_label < MODS) {
            char want_text[32];
            snprintf(want_text, sizeof want_text, ">%s</text>", n_label == 2 ? "s&lt;1" : mod_name[n_label]);
            CU_ASSERT(!strncmp(strchr(q, '>'), want_text, strlen(want_text)));
            CU_ASSERT_EQUAL((int)attr_num(q - 1, "data-units"), first[n_label + 1] - first[n_label]);
        }
        n_label++;
    }
    CU_ASSERT_EQUAL(n_label, MODS);
    free(s);

    /* each module's PCA: its total variance is the trace of its units'
     * covariance */
    snprintf(path, sizeof path, "%s/figures/hidden_pca_modules.svg", dir);
    s = mnet_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    int panels = 0;
    for (const char *q = strstr(s, "class=\"module-pca\""); q; q = strstr(q + 1, "class=\"module-pca\"")) {
        CU_ASSERT_FATAL(panels < MODS);
        int m = panels++;
        double trace = 0;
        for (int u = first[m]; u < first[m + 1]; u++) {
            double mean = 0, ss = 0;
            for (int i = 0; i < n; i++)
                mean += h[i * H + u] / n;
            for (int i = 0; i < n; i++)
                ss += (h[i * H + u] - mean) * (h[i * H + u] - mean);
            trace += ss / (n - 1);
        }
        const char *v = strstr(q, "data-variance=\"");
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        double v1, v2, tot;
        CU_ASSERT_EQUAL(sscanf(v + 15, "%lf %lf of %lf", &v1, &v2, &tot), 3);
        CU_ASSERT_DOUBLE_EQUAL(tot, trace, 1e-7 * trace);
        CU_ASSERT(v1 >= v2 && v2 >= 0 && v1 + v2 <= tot * (1 + 1e-9));
        CU_ASSERT_EQUAL((int)attr_num(q - 1, "data-units"), first[m + 1] - first[m]);
    }
    CU_ASSERT_EQUAL(panels, MODS);
    free(s);
    free(h);

    /* names.hidden naming 9 of the 10 units: a plain network's figures */
    o.hidden_names = "pmd:0,pmd:1,pmd:2,m1:0,m1:1,m1:2,m1:3,s1:0,s1:1";
    make_run(dir, sizeof dir, "modules_bad", &o);
    CU_ASSERT_EQUAL_FATAL(run_plot(msg, sizeof msg, (const char *[]){dir, NULL}), 0);
    CU_ASSERT_PTR_NULL(strstr(msg, "hidden_pca_modules"));
    snprintf(path, sizeof path, "%s/figures/hidden_heatmap.svg", dir);
    s = mnet_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NULL(strstr(s, "module-"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "unit (sorted by time of peak |h|)"));
    free(s);
}

static void test_body_absent(void)
{
    char dir[300], msg[4096], path[400];
    fx_opts o = {.N = 4, .T = 20, .H = 4, .no_body = 1};
    make_run(dir, sizeof dir, "nobody", &o);
    CU_ASSERT_EQUAL(run_plot(msg, sizeof msg, (const char *[]){dir, NULL}), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "body.svg skipped"));
    snprintf(path, sizeof path, "%s/figures/body.svg", dir);
    CU_ASSERT(!exists(path));
    snprintf(path, sizeof path, "%s/figures", dir);
    CU_ASSERT_EQUAL(count_files(path), N_FIGURES - 1);
    /* the replay moves the hand alone */
    snprintf(path, sizeof path, "%s/figures/replay.svg", dir);
    char *s = mnet_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "id=\"replay-hand\""));
    CU_ASSERT_PTR_NULL(strstr(s, "id=\"replay-body\""));
    free(s);
    /* the episodes file alone: figures/ beside it, no loss.svg */
    snprintf(path, sizeof path, "%s/episodes.safetensors", dir);
    char out[400];
    snprintf(out, sizeof out, "%s/only", dir);
    CU_ASSERT_EQUAL(run_plot(msg, sizeof msg, (const char *[]){path, "--out", out, NULL}), 0);
    CU_ASSERT_EQUAL(count_files(out), N_FIGURES - 2);
}

/* Bad input: a clear message, a non-zero status, nothing written. */
static void expect_refused(const char *what, const char *const *argv, const char *out,
                           const char *want)
{
    char msg[4096];
    int before = count_files(out);
    int rc = run_plot(msg, sizeof msg, argv);
    int after = count_files(out);
    if (rc == 0 || !strstr(msg, want) || after != before)
        printf("\n    %s: status %d, files %d -> %d, said: %s", what, rc, before, after, msg);
    CU_ASSERT(rc != 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
    CU_ASSERT_EQUAL(after, before);
}

static void test_bad_input(void)
{
    char dir[300], path[400], out[400], other[400];
    fx_opts o = {.N = 4, .T = 20, .H = 4};
    make_run(dir, sizeof dir, "bad", &o);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(path, sizeof path, "%s/episodes.safetensors", dir);

    snprintf(other, sizeof other, "%s/missing", dir);
    expect_refused("missing dir", (const char *[]){other, "--out", out, NULL}, out,
                   "No such file or directory");
    /* a directory that is no run */
    snprintf(other, sizeof other, "%s/empty", dir);
    mkdir(other, 0755);
    expect_refused("empty dir", (const char *[]){other, "--out", out, NULL}, out,
                   "neither log.csv nor episodes.safetensors");
    /* truncated */
    long len = 0;
    char *bytes = mnet_read_file(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    snprintf(other, sizeof other, "%s/trunc.safetensors", dir);
    FILE *f = fopen(other, "wb");
    fwrite(bytes, 1, (size_t)len / 2, f);
    fclose(f);
    free(bytes);
    expect_refused("truncated", (const char *[]){other, "--out", out, NULL}, out, "trunc.safetensors");
    /* foreign: network weights */
    snprintf(other, sizeof other, "%s/weights.safetensors", dir);
    double w[6] = {1, 2, 3, 4, 5, 6};
    mnet_st_tensor t = {"fc.weight", 2, {2, 3}, w};
    char err[256];
    CU_ASSERT_EQUAL_FATAL(mnet_safetensors_save(other, &t, 1, NULL, MNET_ST_F32, err, sizeof err), 0);
    expect_refused("foreign", (const char *[]){other, "--out", out, NULL}, out,
                   "is not a recording of mnet episodes (its mnet.format is '(none)', format 'pt'");
    /* another version, by key and by format */
    fx_opts ov = o;
    ov.version = "2";
    snprintf(other, sizeof other, "%s/v2.safetensors", dir);
    CU_ASSERT_EQUAL_FATAL(fx_write(other, &ov), 0);
    expect_refused("version 2", (const char *[]){other, "--out", out, NULL}, out, "another version");
    ov.version = NULL;
    ov.format = "mnet-episodes-2";   /* a successor's name */
    CU_ASSERT_EQUAL_FATAL(fx_write(other, &ov), 0);
    expect_refused("format 2", (const char *[]){other, "--out", out, NULL}, out, "another version");
    /* a tensor of the wrong shape */
    fx_opts ob = o;
    ob.bad_hidden = 1;
    snprintf(other, sizeof other, "%s/shape.safetensors", dir);
    CU_ASSERT_EQUAL_FATAL(fx_write(other, &ob), 0);
    expect_refused("hidden shape", (const char *[]){other, "--out", out, NULL}, out,
                   "tensor 'hidden.0' has shape [3, 20, 4], expected [N, T, H] = [4, 20, H]");
    /* a log that is no log, in an otherwise good run: nothing drawn */
    snprintf(other, sizeof other, "%s/badlog", dir);
    mkdir(other, 0755);
    char p2[500];
    snprintf(p2, sizeof p2, "%s/log.csv", other);
    f = fopen(p2, "w");
    fputs("hello,world\n1,2\n", f);
    fclose(f);
    expect_refused("bad log", (const char *[]){other, "--out", out, NULL}, out,
                   "is not an mnet training log");
    f = fopen(p2, "w");
    fputs("batch,loss,grad_norm,lr,ms\n1,0.5,1,1e-3,2\n2,0.4,x1,1e-3,2\n", f);
    fclose(f);
    expect_refused("bad number", (const char *[]){other, "--out", out, NULL}, out,
                   "log.csv:3: field 3 is not a number");
    /* an episode that is not there */
    expect_refused("episode", (const char *[]){dir, "--out", out, "--episode", "4", NULL}, out,
                   "holds episodes 0 to 3");
    /* usage */
    char msg[2048];
    CU_ASSERT_EQUAL(run_plot(msg, sizeof msg, (const char *[]){NULL}), 2);
    CU_ASSERT_EQUAL(run_plot(msg, sizeof msg, (const char *[]){dir, "--bogus", NULL}), 2);
    CU_ASSERT_EQUAL(run_plot(msg, sizeof msg, (const char *[]){dir, "--episode", "-1", NULL}), 2);
    CU_ASSERT(!exists(out));
    /* --out an existing file: refused, the file untouched */
    snprintf(other, sizeof other, "%s/afile", dir);
    f = fopen(other, "w");
    fputs("keep\n", f);
    fclose(f);
    expect_refused("out is a file", (const char *[]){dir, "--out", other, NULL}, dir,
                   "is not a directory");
    char *keep = mnet_read_file(other, NULL);
    CU_ASSERT(keep && !strcmp(keep, "keep\n"));
    free(keep);
}

/* Figures already there are replaced whole, and a failed run keeps them. */
static void test_replace(void)
{
    char dir[300], msg[4096], path[400];
    fx_opts o = {.N = 4, .T = 20, .H = 4};
    make_run(dir, sizeof dir, "replace", &o);
    CU_ASSERT_EQUAL_FATAL(run_plot(msg, sizeof msg, (const char *[]){dir, NULL}), 0);
    snprintf(path, sizeof path, "%s/figures/paths.svg", dir);
    char *first = mnet_read_file(path, NULL);
    /* the episodes file goes bad: refused, the old figures stay */
    char ep[400];
    snprintf(ep, sizeof ep, "%s/episodes.safetensors", dir);
    CU_ASSERT_EQUAL(truncate(ep, 100), 0);
    CU_ASSERT_NOT_EQUAL(run_plot(msg, sizeof msg, (const char *[]){dir, NULL}), 0);
    char *again = mnet_read_file(path, NULL);
    CU_ASSERT(first && again && !strcmp(first, again));
    snprintf(path, sizeof path, "%s/figures", dir);
    CU_ASSERT_EQUAL(count_files(path), N_FIGURES);
    free(first);
    free(again);
}

/* ==== the driver ==== */

static int write_fixture_cli(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_plot --write-fixture DIR N T H [--curl K] [--no-body]\n");
        return 2;
    }
    fx_opts o = {.N = atoi(argv[1]), .T = atoi(argv[2]), .H = atoi(argv[3])};
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--curl") && i + 1 < argc)
            o.curl = atof(argv[++i]);
        else if (!strcmp(argv[i], "--no-body"))
            o.no_body = 1;
    }
    if (o.N < 1 || o.T < 1 || o.H < 1)
        return 2;
    mkdir(argv[0], 0755);
    char path[4096];
    snprintf(path, sizeof path, "%s/episodes.safetensors", argv[0]);
    if (fx_write(path, &o) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/log.csv", argv[0]);
    if (fx_write_log(path, 2000) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--write-fixture"))
        return write_fixture_cli(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "plot"))
        return mnet_plot_main(argc - 2, argv + 2);
    snprintf(tmp_root, sizeof tmp_root, "%s/test_plot.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    static const mnet_test tests[] = {
        {"nice numbers", test_nice_numbers},
        {"viridis", test_viridis},
        {"svg escapes and axes", test_svg_escapes_and_axes},
        {"pca: a plane in R^5", test_pca_plane},
        {"pca: a 2-d covariance", test_pca_2d},
        {"all figures", test_all_figures},
        {"paths and loss map the data", test_paths_map_data},
        {"pca figure", test_pca_figure},
        {"modules", test_modules},
        {"body absent", test_body_absent},
        {"bad input", test_bad_input},
        {"replace", test_replace},
        {NULL, NULL},
    };
    int rc = mnet_test_main("plot", tests);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0)
        fprintf(stderr, "test_plot: could not remove %s\n", tmp_root);
    return rc;
}
