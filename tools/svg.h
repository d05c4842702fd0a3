/* svg.h - a small SVG writer for the figures of `mnet plot`
 * (mnet_plot.c): a document built in memory, the drawing primitives, axes
 * whose ticks come from the nice-number algorithm (linear and log10),
 * legends, the viridis colour map, a colour bar and SMIL animation.
 *
 * Coordinates are SVG user units (1 unit = 1 px at 100 %), y down.  Every
 * text is XML-escaped; attribute strings (`attrs`) are written as given,
 * so they must come from the program, never from a file.
 *
 * A document is written to disk through svg_write_temp (a temporary file
 * beside the final path) and svg_commit (rename over it), so a reader never
 * sees half a figure, and a caller can write all its figures before it
 * renames any.
 */
#ifndef MNET_SVG_H
#define MNET_SVG_H

#include <stddef.h>

/* ==== the document ==== */

typedef struct svg_doc {
    char *buf;          /* (len) the text so far, NUL-terminated */
    size_t len, cap;
    int failed;         /* out of memory: the text is incomplete   */
    double width, height;
} svg_doc;

/* Starts a document of width x height with a white background and the
 * figure's title (<title>, escaped).  0, or -1 (out of memory). */
int svg_begin(svg_doc *d, double width, double height, const char *title);
/* Closes the root element.  0, or -1 when anything failed. */
int svg_end(svg_doc *d);
void svg_free(svg_doc *d);

/* Appends printf output as it is (markup). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void svg_printf(svg_doc *d, const char *fmt, ...);
/* Appends s XML-escaped (& < > " '). */
void svg_escaped(svg_doc *d, const char *s);

/* ==== primitives: attrs is extra attributes (stroke=..., id=...), or NULL ==== */

void svg_line(svg_doc *d, double x1, double y1, double x2, double y2, const char *attrs);
/* A polyline through n points (x[i], y[i]); points that are not finite
 * split it into several polylines (drawn with the same attrs). */
void svg_polyline(svg_doc *d, const double *x, const double *y, int n, const char *attrs);
/* "x,y x,y ..." of n points (all finite), for a points attribute or an
 * animation's values. */
void svg_points(svg_doc *d, const double *x, const double *y, int n);
void svg_circle(svg_doc *d, double cx, double cy, double r, const char *attrs);
void svg_rect(svg_doc *d, double x, double y, double w, double h, const char *attrs);
/* Text at (x, y); the formatted content is escaped. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
void svg_text(svg_doc *d, double x, double y, const char *attrs, const char *fmt, ...);
/* An arrow from (x1, y1) to (x2, y2) with a filled head of size `head`. */
void svg_arrow(svg_doc *d, double x1, double y1, double x2, double y2, double head,
               const char *color, double width);

/* ==== colour ==== */

/* The viridis colour map (matplotlib's, perceptually uniform, readable in
 * grey and by colour-blind readers) at t in [0, 1] (clamped): linear
 * interpolation between 17 control points.  hex gets "#rrggbb". */
void svg_viridis(double t, char hex[8]);
/* The same as 0..255 components. */
void svg_viridis_rgb(double t, int rgb[3]);

/* ==== ticks: the nice-number algorithm (Heckbert, Graphics Gems, 1990) ==== */

/* A "nice" number close to x > 0: 1, 2, 5 or 10 times a power of ten,
 * rounded (round != 0) or the smallest at least x. */
double svg_nice_num(double x, int round);

/* The range [lo, hi] widened to multiples of a nice step that gives about
 * `target` ticks (>= 2): the step is svg_nice_num((hi - lo) / (target - 1),
 * rounded).  A range of one value is widened around it.
 * Writes the widened range and the step. */
void svg_nice_range(double lo, double hi, int target, double *nice_lo, double *nice_hi,
                    double *step);

/* ==== axes ==== */

typedef struct svg_axes {
    double px, py, pw, ph;   /* the plot area: left, top, width, height      */
    int x_log, y_log;        /* log10 axis                                   */
    double x_lo, x_hi;       /* the range shown (log10 of it on a log axis)  */
    double y_lo, y_hi;
    double x_step, y_step;   /* tick step (in decades on a log axis)         */
} svg_axes;

/* Fits axes to the data range [xmin, xmax] x [ymin, ymax] (positive on a
 * log axis) with about nx, ny ticks.  Non-finite or empty ranges become
 * [0, 1]. */
void svg_axes_fit(svg_axes *a, double px, double py, double pw, double ph, double xmin,
                  double xmax, int x_log, double ymin, double ymax, int y_log, int nx, int ny);
/* The same, then widens the shorter range so one data unit is as long on
 * both axes (paths in space keep their shape), and shrinks the plot area
 * to fit the ticks' range exactly. */
void svg_axes_fit_equal(svg_axes *a, double px, double py, double pw, double ph, double xmin,
                        double xmax, double ymin, double ymax, int nticks);

/* Data to user units. */
double svg_axes_x(const svg_axes *a, double x);
double svg_axes_y(const svg_axes *a, double y);

/* Draws the frame, ticks with labels and (when given) the axis labels
 * (with units, e.g. "time (s)") and a title above.  Tick labels carry
 * class="tick-x" / "tick-y" and data-value, so a reader can map them. */
void svg_axes_draw(svg_doc *d, const svg_axes *a, const char *xlabel, const char *ylabel,
                   const char *title);
/* Opens a group clipped to the plot area (id: a unique clip id); close it
 * with svg_printf(d, "</g>\n"). */
void svg_axes_clip(svg_doc *d, const svg_axes *a, const char *id);

/* ==== legend and colour bar ==== */

typedef struct svg_legend_entry {
    const char *label;       /* escaped when written            */
    const char *color;       /* "#rrggbb"                       */
    int marker;              /* 0: a line swatch, 1: a circle   */
    const char *dash;        /* stroke-dasharray, or NULL       */
} svg_legend_entry;

/* A boxed legend with its top-left corner at (x, y). */
void svg_legend(svg_doc *d, double x, double y, const svg_legend_entry *e, int n);

/* A vertical viridis colour bar at (x, y, w, h) for values [lo, hi]
 * (lo at the bottom) with nice ticks and a label; id names its gradient. */
void svg_colorbar(svg_doc *d, double x, double y, double w, double h, double lo, double hi,
                  const char *label, const char *id);

/* ==== animation (SMIL) ==== */

/* <animate attributeName=attr dur=... repeatCount="indefinite" values="
 * ... the caller appends the values, separated by ';', then calls
 * svg_anim_end. */
void svg_anim_begin(svg_doc *d, const char *attr, double dur_s);
/* <animateMotion dur=... values=" ... (values "x,y;x,y;...", equal time
 * per value); closed with svg_anim_end. */
void svg_anim_motion_begin(svg_doc *d, double dur_s);
void svg_anim_end(svg_doc *d);

/* ==== writing ==== */

/* Writes the document to a new temporary file beside path (mkstemp,
 * path.tmp.XXXXXX); *tmp gets its name (malloc'd).  0, or -1 with a message
 * naming path (nothing left behind). */
int svg_write_temp(const svg_doc *d, const char *path, char **tmp, char *err, size_t n);
/* Renames tmp over path.  0, or -1 with a message (tmp removed). */
int svg_commit(const char *tmp, const char *path, char *err, size_t n);

#endif
