/* svg.c - the SVG writer of `mnet plot`; see svg.h. */
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SVG_FONT "font-family=\"Helvetica, Arial, sans-serif\""

/* ==== the document ==== */

static void put_raw(svg_doc *d, const char *s, size_t k)
{
    if (d->failed)
        return;
    if (d->len + k + 1 > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->len + k + 1)
            cap *= 2;
        char *p = realloc(d->buf, cap);
        if (!p) {
            d->failed = 1;
            return;
        }
        d->buf = p;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, s, k);
    d->len += k;
    d->buf[d->len] = '\0';
}

static void put_v(svg_doc *d, const char *fmt, va_list ap)
{
    if (d->failed)
        return;
    char small[512];
    va_list ap2;
    va_copy(ap2, ap);
    int k = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (k < 0) {
        d->failed = 1;
        return;
    }
    if ((size_t)k < sizeof small) {
        put_raw(d, small, (size_t)k);
        return;
    }
    char *big = malloc((size_t)k + 1);
    if (!big) {
        d->failed = 1;
        return;
    }
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    put_raw(d, big, (size_t)k);
    free(big);
}

/* x with two decimals, as printf's "%.2f" writes it (round half to even
 * aside: ties are rare in drawn coordinates), several times faster: the
 * figures print hundreds of thousands of coordinates. */
static void put_num(svg_doc *d, double x)
{
    char buf[32], *p = buf + sizeof buf;
    double r = x * 100;
    if (!isfinite(r) || fabs(r) > 9e15) {
        int k = snprintf(buf, sizeof buf, "%.2f", x);
        put_raw(d, buf, (size_t)(k > 0 ? k : 0));
        return;
    }
    long long v = llround(r);
    int neg = v < 0;
    unsigned long long u = neg ? (unsigned long long)(-v) : (unsigned long long)v;
    *--p = (char)('0' + u % 10);
    u /= 10;
    *--p = (char)('0' + u % 10);
    u /= 10;
    *--p = '.';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        *--p = '-';
    put_raw(d, p, (size_t)(buf + sizeof buf - p));
}

/* name="x" with put_num, and a leading space. */
static void put_attr(svg_doc *d, const char *name, double x)
{
    put_raw(d, " ", 1);
    put_raw(d, name, strlen(name));
    put_raw(d, "=\"", 2);
    put_num(d, x);
    put_raw(d, "\"", 1);
}

void svg_printf(svg_doc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_v(d, fmt, ap);
    va_end(ap);
}

void svg_escaped(svg_doc *d, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default:
            /* control characters are not allowed in XML 1.0 */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
                rep = "?";
        }
        if (rep) {
            put_raw(d, run, (size_t)(s - run));
            put_raw(d, rep, strlen(rep));
            run = s + 1;
        }
    }
    put_raw(d, run, (size_t)(s - run));
}

int svg_begin(svg_doc *d, double width, double height, const char *title)
{
    memset(d, 0, sizeof *d);
    d->width = width;
    d->height = height;
    svg_printf(d,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%g\" "
               "height=\"%g\" viewBox=\"0 0 %g %g\" " SVG_FONT " font-size=\"11\">\n<title>",
               width, height, width, height);
    svg_escaped(d, title ? title : "");
    svg_printf(d, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    return d->failed ? -1 : 0;
}

int svg_end(svg_doc *d)
{
    svg_printf(d, "</svg>\n");
    return d->failed ? -1 : 0;
}

void svg_free(svg_doc *d)
{
    free(d->buf);
    memset(d, 0, sizeof *d);
}

/* ==== primitives ==== */

static const char *opt(const char *attrs)
{
    return attrs ? attrs : "";
}

static void put_str(svg_doc *d, const char *s)
{
    put_raw(d, s, strlen(s));
}

void svg_line(svg_doc *d, double x1, double y1, double x2, double y2, const char *attrs)
{
    put_str(d, "<line");
    put_attr(d, "x1", x1);
    put_attr(d, "y1", y1);
    put_attr(d, "x2", x2);
    put_attr(d, "y2", y2);
    put_str(d, " ");
    put_str(d, opt(attrs));
    put_str(d, "/>\n");
}

void svg_polyline(svg_doc *d, const double *x, const double *y, int n, const char *attrs)
{
    int open = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) {
            if (open)
                put_str(d, "\"/>\n");
            open = 0;
            continue;
        }
        if (!open) {
            put_str(d, "<polyline fill=\"none\" ");
            put_str(d, opt(attrs));
            put_str(d, " points=\"");
        } else {
            put_raw(d, " ", 1);
        }
        put_num(d, x[i]);
        put_raw(d, ",", 1);
        put_num(d, y[i]);
        open = 1;
    }
    if (open)
        put_str(d, "\"/>\n");
}

void svg_points(svg_doc *d, const double *x, const double *y, int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            put_raw(d, " ", 1);
        put_num(d, x[i]);
        put_raw(d, ",", 1);
        put_num(d, y[i]);
    }
}

void svg_circle(svg_doc *d, double cx, double cy, double r, const char *attrs)
{
    put_str(d, "<circle");
    put_attr(d, "cx", cx);
    put_attr(d, "cy", cy);
    put_attr(d, "r", r);
    put_str(d, " ");
    put_str(d, opt(attrs));
    put_str(d, "/>\n");
}

void svg_rect(svg_doc *d, double x, double y, double w, double h, const char *attrs)
{
    put_str(d, "<rect");
    put_attr(d, "x", x);
    put_attr(d, "y", y);
    put_attr(d, "width", w);
    put_attr(d, "height", h);
    put_str(d, " ");
    put_str(d, opt(attrs));
    put_str(d, "/>\n");
}

void svg_text(svg_doc *d, double x, double y, const char *attrs, const char *fmt, ...)
{
    char small[512], *s = small;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (k < 0) {
        d->failed = 1;
        return;
    }
    if ((size_t)k >= sizeof small) {
        if (!(s = malloc((size_t)k + 1))) {
            d->failed = 1;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(s, (size_t)k + 1, fmt, ap);
        va_end(ap);
    }
    svg_printf(d, "<text x=\"%.2f\" y=\"%.2f\" %s>", x, y, opt(attrs));
    svg_escaped(d, s);
    svg_printf(d, "</text>\n");
    if (s != small)
        free(s);
}

void svg_arrow(svg_doc *d, double x1, double y1, double x2, double y2, double head,
               const char *color, double width)
{
    double dx = x2 - x1, dy = y2 - y1, len = hypot(dx, dy);
    if (!(len > 0))
        return;
    double ux = dx / len, uy = dy / len;
    double bx = x2 - ux * head, by = y2 - uy * head;  /* the head's base centre */
    svg_printf(d,
               "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
               "stroke-width=\"%g\"/>\n",
               x1, y1, bx, by, color, width);
    svg_printf(d, "<polygon points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f\" fill=\"%s\"/>\n", x2, y2,
               bx - uy * head * 0.45, by + ux * head * 0.45, bx + uy * head * 0.45,
               by - ux * head * 0.45, color);
}

/* ==== colour ==== */

/* matplotlib's viridis at t = 0, 1/16, ..., 1 */
static const unsigned char viridis_ctl[17][3] = {
    {0x44, 0x01, 0x54}, {0x48, 0x18, 0x6a}, {0x47, 0x2d, 0x7b}, {0x42, 0x40, 0x86},
    {0x3b, 0x52, 0x8b}, {0x33, 0x63, 0x8d}, {0x2c, 0x72, 0x8e}, {0x26, 0x82, 0x8e},
    {0x21, 0x91, 0x8c}, {0x1f, 0xa0, 0x88}, {0x28, 0xae, 0x80}, {0x3f, 0xbc, 0x73},
    {0x5e, 0xc9, 0x62}, {0x84, 0xd4, 0x4b}, {0xad, 0xdc, 0x30}, {0xd8, 0xe2, 0x19},
    {0xfd, 0xe7, 0x25},
};

void svg_viridis_rgb(double t, int rgb[3])
{
    if (!(t > 0))
        t = 0;          /* NaN too */
    if (t > 1)
        t = 1;
    double s = t * 16;
    int i = (int)s;
    if (i > 15)
        i = 15;
    double f = s - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(viridis_ctl[i][c] + f * (viridis_ctl[i + 1][c] - viridis_ctl[i][c]));
}

void svg_viridis(double t, char hex[8])
{
    int c[3];
    svg_viridis_rgb(t, c);
    snprintf(hex, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

/* ==== ticks ==== */

double svg_nice_num(double x, int round)
{
    if (!(x > 0) || !isfinite(x))
        return 1;
    double e = floor(log10(x));
    double p = pow(10, e);
    double f = x / p, nf;
    if (round)
        nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else
        nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * p;
}

void svg_nice_range(double lo, double hi, int target, double *nice_lo, double *nice_hi,
                    double *step)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (hi - lo <= 1e-12 * fmax(fabs(lo), fabs(hi)) || hi == lo) {
        double pad = lo != 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    if (target < 2)
        target = 2;
    /* Heckbert rounds the span up to a nice number first; the step from
     * the span itself wastes less of the axis (0..0.6 in 4 ticks: by 0.2
     * to 0.6, not by 0.5 to 1) */
    double s = svg_nice_num((hi - lo) / (target - 1), 1);
    /* a little slack so a value a rounding error past a tick stays inside */
    double eps = 1e-9 * s;
    *nice_lo = floor((lo + eps) / s) * s;
    *nice_hi = ceil((hi - eps) / s) * s;
    *step = s;
}

/* ==== axes ==== */

/* One axis: the data range [mn, mx] as shown (log10 when lg). */
static void fit_axis(double mn, double mx, int lg, int target, double *lo, double *hi,
                     double *step)
{
    if (lg) {
        if (!(mn > 0) || !isfinite(mn) || !(mx > 0) || !isfinite(mx)) {
            mn = 1;
            mx = 10;
        }
        *lo = floor(log10(mn) + 1e-9);
        *hi = ceil(log10(mx) - 1e-9);
        if (*hi <= *lo)
            *hi = *lo + 1;
        double s = ceil((*hi - *lo) / (target > 1 ? target : 2));
        *step = s < 1 ? 1 : s;
        *lo = floor(*lo / *step) * *step;
        *hi = ceil(*hi / *step) * *step;
        return;
    }
    if (!isfinite(mn) || !isfinite(mx) || mn > mx) {
        mn = 0;
        mx = 1;
    }
    svg_nice_range(mn, mx, target, lo, hi, step);
}

void svg_axes_fit(svg_axes *a, double px, double py, double pw, double ph, double xmin,
                  double xmax, int x_log, double ymin, double ymax, int y_log, int nx, int ny)
{
    a->px = px;
    a->py = py;
    a->pw = pw;
    a->ph = ph;
    a->x_log = x_log;
    a->y_log = y_log;
    fit_axis(xmin, xmax, x_log, nx, &a->x_lo, &a->x_hi, &a->x_step);
    fit_axis(ymin, ymax, y_log, ny, &a->y_lo, &a->y_hi, &a->y_step);
}

void svg_axes_fit_equal(svg_axes *a, double px, double py, double pw, double ph, double xmin,
                        double xmax, double ymin, double ymax, int nticks)
{
    if (!isfinite(xmin) || !isfinite(xmax) || xmin > xmax)
        xmin = 0, xmax = 1;
    if (!isfinite(ymin) || !isfinite(ymax) || ymin > ymax)
        ymin = 0, ymax = 1;
    /* one step for both axes: from the larger span */
    double span = fmax(xmax - xmin, ymax - ymin);
    double lo, hi, s;
    svg_nice_range(0, span > 0 ? span : 1, nticks, &lo, &hi, &s);
    a->px = px;
    a->py = py;
    a->x_log = a->y_log = 0;
    a->x_step = a->y_step = s;
    a->x_lo = floor(xmin / s + 1e-9) * s;
    a->x_hi = ceil(xmax / s - 1e-9) * s;
    a->y_lo = floor(ymin / s + 1e-9) * s;
    a->y_hi = ceil(ymax / s - 1e-9) * s;
    if (a->x_hi <= a->x_lo)
        a->x_hi = a->x_lo + s;
    if (a->y_hi <= a->y_lo)
        a->y_hi = a->y_lo + s;
    /* units per data unit: the smaller fit, the area centred in the box */
    double k = fmin(pw / (a->x_hi - a->x_lo), ph / (a->y_hi - a->y_lo));
    a->pw = k * (a->x_hi - a->x_lo);
    a->ph = k * (a->y_hi - a->y_lo);
    a->px = px + (pw - a->pw) / 2;
    a->py = py + (ph - a->ph) / 2;
}

double svg_axes_x(const svg_axes *a, double x)
{
    if (a->x_log)
        x = x > 0 ? log10(x) : NAN;
    return a->px + (x - a->x_lo) / (a->x_hi - a->x_lo) * a->pw;
}

double svg_axes_y(const svg_axes *a, double y)
{
    if (a->y_log)
        y = y > 0 ? log10(y) : NAN;
    return a->py + a->ph - (y - a->y_lo) / (a->y_hi - a->y_lo) * a->ph;
}

/* Decimals that show a tick step of s exactly (s a nice number). */
static int tick_decimals(double s)
{
    int dec = (int)ceil(-log10(s) - 1e-9);
    return dec < 0 ? 0 : dec > 12 ? 12 : dec;
}

/* The tick label of v: fixed decimals on a linear axis, 10^v on a log axis
 * (as 10 with a raised exponent).  axis 'x' or 'y'; (x, y) the anchor. */
static void tick_label(svg_doc *d, char axis, int lg, double v, double step, double x, double y)
{
    const char *anchor = axis == 'x' ? "middle" : "end";
    if (lg) {
        svg_printf(d,
                   "<text class=\"tick-%c\" data-value=\"1e%d\" x=\"%.2f\" y=\"%.2f\" "
                   "text-anchor=\"%s\">10<tspan dy=\"-5\" font-size=\"8\">%d</tspan></text>\n",
                   axis, (int)lround(v), x, y, anchor, (int)lround(v));
        return;
    }
    if (fabs(v) < 1e-9 * step)
        v = 0;   /* no "-0.00" */
    int dec = tick_decimals(step);
    svg_printf(d,
               "<text class=\"tick-%c\" data-value=\"%.*f\" x=\"%.2f\" y=\"%.2f\" "
               "text-anchor=\"%s\">%.*f</text>\n",
               axis, dec, v, x, y, anchor, dec, v);
}

void svg_axes_draw(svg_doc *d, const svg_axes *a, const char *xlabel, const char *ylabel,
                   const char *title)
{
    const char *tick = "stroke=\"#000000\" stroke-width=\"0.8\"";
    const char *minor = "stroke=\"#000000\" stroke-width=\"0.5\"";
    double bottom = a->py + a->ph;
    svg_printf(d, "<g class=\"axes\">\n");
    svg_rect(d, a->px, a->py, a->pw, a->ph, "fill=\"none\" stroke=\"#000000\" stroke-width=\"0.8\"");
    /* x ticks */
    for (int i = 0;; i++) {
        double v = a->x_lo + i * a->x_step;
        if (v > a->x_hi + 1e-9 * a->x_step)
            break;
        double x = a->px + (v - a->x_lo) / (a->x_hi - a->x_lo) * a->pw;
        svg_line(d, x, bottom, x, bottom + 4, tick);
        tick_label(d, 'x', a->x_log, v, a->x_step, x, bottom + 15);
    }
    for (int i = 0;; i++) {
        double v = a->y_lo + i * a->y_step;
        if (v > a->y_hi + 1e-9 * a->y_step)
            break;
        double y = bottom - (v - a->y_lo) / (a->y_hi - a->y_lo) * a->ph;
        svg_line(d, a->px - 4, y, a->px, y, tick);
        tick_label(d, 'y', a->y_log, v, a->y_step, a->px - 6, y + 4);
    }
    /* minor ticks of a log axis: 2..9 x 10^k while decades are few */
    if (a->y_log && a->y_step == 1 && a->y_hi - a->y_lo <= 8)
        for (double k = a->y_lo; k < a->y_hi; k++)
            for (int m = 2; m <= 9; m++) {
                double y = bottom - (k + log10(m) - a->y_lo) / (a->y_hi - a->y_lo) * a->ph;
                svg_line(d, a->px - 2, y, a->px, y, minor);
            }
    if (a->x_log && a->x_step == 1 && a->x_hi - a->x_lo <= 8)
        for (double k = a->x_lo; k < a->x_hi; k++)
            for (int m = 2; m <= 9; m++) {
                double x = a->px + (k + log10(m) - a->x_lo) / (a->x_hi - a->x_lo) * a->pw;
                svg_line(d, x, bottom, x, bottom + 2, minor);
            }
    if (xlabel)
        svg_text(d, a->px + a->pw / 2, bottom + 32, "text-anchor=\"middle\" font-size=\"12\"", "%s",
                 xlabel);
    if (ylabel) {
        double x = a->px - 46, y = a->py + a->ph / 2;
        char rot[96];
        snprintf(rot, sizeof rot, "text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 %.2f %.2f)\"",
                 x, y);
        svg_text(d, x, y, rot, "%s", ylabel);
    }
    if (title)
        svg_text(d, a->px + a->pw / 2, a->py - 8, "text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\"",
                 "%s", title);
    svg_printf(d, "</g>\n");
}

void svg_axes_clip(svg_doc *d, const svg_axes *a, const char *id)
{
    svg_printf(d,
               "<clipPath id=\"%s\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>"
               "</clipPath>\n<g clip-path=\"url(#%s)\">\n",
               id, a->px, a->py, a->pw, a->ph, id);
}

/* ==== legend and colour bar ==== */

void svg_legend(svg_doc *d, double x, double y, const svg_legend_entry *e, int n)
{
    double w = 0;
    for (int i = 0; i < n; i++)
        w = fmax(w, 6.2 * (double)strlen(e[i].label));
    double h = 16.0 * n + 6;
    svg_printf(d, "<g class=\"legend\">\n");
    svg_rect(d, x, y, w + 40, h,
             "fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#999999\" stroke-width=\"0.5\"");
    for (int i = 0; i < n; i++) {
        double cy = y + 11 + 16.0 * i;
        char attrs[128];
        if (e[i].marker) {
            snprintf(attrs, sizeof attrs, "fill=\"%s\"", e[i].color);
            svg_circle(d, x + 16, cy, 3.5, attrs);
        } else {
            snprintf(attrs, sizeof attrs, "stroke=\"%s\" stroke-width=\"2\"%s%s%s", e[i].color,
                     e[i].dash ? " stroke-dasharray=\"" : "", e[i].dash ? e[i].dash : "",
                     e[i].dash ? "\"" : "");
            svg_line(d, x + 6, cy, x + 26, cy, attrs);
        }
        svg_text(d, x + 32, cy + 4, NULL, "%s", e[i].label);
    }
    svg_printf(d, "</g>\n");
}

void svg_colorbar(svg_doc *d, double x, double y, double w, double h, double lo, double hi,
                  const char *label, const char *id)
{
    svg_printf(d, "<defs><linearGradient id=\"%s\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n", id);
    for (int i = 0; i <= 16; i++) {
        char hex[8];
        svg_viridis(i / 16.0, hex);
        svg_printf(d, "<stop offset=\"%.4f\" stop-color=\"%s\"/>\n", i / 16.0, hex);
    }
    svg_printf(d, "</linearGradient></defs>\n");
    char fill[64];
    snprintf(fill, sizeof fill, "fill=\"url(#%s)\" stroke=\"#000000\" stroke-width=\"0.5\"", id);
    svg_rect(d, x, y, w, h, fill);
    if (!(hi > lo)) {
        double c = isfinite(lo) ? lo : 0;
        lo = c - 1;
        hi = c + 1;
    }
    double nlo, nhi, s;
    svg_nice_range(lo, hi, 5, &nlo, &nhi, &s);
    for (int i = 0;; i++) {
        double v = nlo + i * s;
        if (v > hi + 1e-9 * s)
            break;
        if (v < lo - 1e-9 * s)
            continue;
        double ty = y + h - (v - lo) / (hi - lo) * h;
        svg_line(d, x + w, ty, x + w + 3, ty, "stroke=\"#000000\" stroke-width=\"0.8\"");
        if (fabs(v) < 1e-9 * s)
            v = 0;
        svg_text(d, x + w + 5, ty + 4, "class=\"tick-c\"", "%.*f", tick_decimals(s), v);
    }
    if (label) {
        double lx = x + w + 44, ly = y + h / 2;
        char rot[96];
        snprintf(rot, sizeof rot, "text-anchor=\"middle\" transform=\"rotate(-90 %.2f %.2f)\"", lx, ly);
        svg_text(d, lx, ly, rot, "%s", label);
    }
}

/* ==== animation ==== */

void svg_anim_begin(svg_doc *d, const char *attr, double dur_s)
{
    svg_printf(d, "<animate attributeName=\"%s\" dur=\"%.3fs\" repeatCount=\"indefinite\" "
                  "calcMode=\"linear\" values=\"", attr, dur_s);
}

void svg_anim_motion_begin(svg_doc *d, double dur_s)
{
    svg_printf(d, "<animateMotion dur=\"%.3fs\" repeatCount=\"indefinite\" calcMode=\"linear\" "
                  "values=\"", dur_s);
}

void svg_anim_end(svg_doc *d)
{
    svg_printf(d, "\"/>\n");
}

/* ==== writing ==== */

int svg_write_temp(const svg_doc *d, const char *path, char **tmp, char *err, size_t n)
{
    *tmp = NULL;
    if (d->failed || !d->buf) {
        snprintf(err, n, "%s: out of memory while drawing", path);
        return -1;
    }
    size_t k = strlen(path) + 16;
    char *name = malloc(k);
    if (!name) {
        snprintf(err, n, "%s: out of memory", path);
        return -1;
    }
    snprintf(name, k, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(name);
    if (fd < 0) {
        snprintf(err, n, "cannot create a temporary file beside %s: %s", path, strerror(errno));
        free(name);
        return -1;
    }
    /* mkstemp gives 0600; a figure is for everyone to read */
    (void)fchmod(fd, 0644);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        snprintf(err, n, "cannot write %s: %s", name, strerror(errno));
        close(fd);
        unlink(name);
        free(name);
        return -1;
    }
    size_t w = fwrite(d->buf, 1, d->len, f);
    int bad = w != d->len || fflush(f) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        snprintf(err, n, "cannot write %s: %s (hint: is the disk full?)", path, strerror(e));
        unlink(name);
        free(name);
        return -1;
    }
    *tmp = name;
    return 0;
}

int svg_commit(const char *tmp, const char *path, char *err, size_t n)
{
    if (rename(tmp, path) != 0) {
        snprintf(err, n, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
