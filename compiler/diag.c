/* diag.c - compilation context and diagnostics. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

mnet_ctx *mnet_ctx_new(void)
{
    mnet_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx)
        ctx->max_errors = 50;
    return ctx;
}

void mnet_ctx_free(mnet_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < ctx->n_sources; i++) {
        free(ctx->sources[i].path);
        free(ctx->sources[i].real);
        free(ctx->sources[i].text);
    }
    free(ctx->sources);
    for (int i = 0; i < ctx->n_diags; i++)
        free(ctx->diags[i].msg);
    free(ctx->diags);
    free(ctx->search_path);
    free(ctx->memory_names);
    free(ctx->memory_texts);
    free(ctx->memory_lens);
    arena_free(&ctx->arena);
    free(ctx);
}

void mnet_ctx_add_search_dir(mnet_ctx *ctx, const char *dir)
{
    const char **p = realloc(ctx->search_path, (size_t)(ctx->n_search + 1) * sizeof *p);
    if (!p)
        return;
    ctx->search_path = p;
    p[ctx->n_search++] = arena_strndup(&ctx->arena, dir, strlen(dir));
}

int mnet_ctx_set_memory_sources(mnet_ctx *ctx, int n, const char *const *names, const char *const *texts,
                                const size_t *lens)
{
    ctx->memory_names = calloc((size_t)n + 1, sizeof *ctx->memory_names);
    ctx->memory_texts = calloc((size_t)n + 1, sizeof *ctx->memory_texts);
    ctx->memory_lens = calloc((size_t)n + 1, sizeof *ctx->memory_lens);
    if (!ctx->memory_names || !ctx->memory_texts || !ctx->memory_lens)
        return -1;
    for (int i = 0; i < n; i++) {
        char *name = mnet_path_normalise(names[i]);
        if (!name)
            return -1;
        ctx->memory_names[i] = arena_strndup(&ctx->arena, name, strlen(name));
        free(name);
        ctx->memory_texts[i] = arena_strndup(&ctx->arena, texts[i], lens[i]);
        ctx->memory_lens[i] = (long)lens[i];
        if (!ctx->memory_names[i] || !ctx->memory_texts[i])
            return -1;
    }
    ctx->n_memory = n;
    return 0;
}

char *mnet_path_normalise(const char *path)
{
    size_t len = strlen(path);
    char *out = malloc(len + 2), *copy = malloc(len + 1);
    if (!out || !copy) {
        free(out);
        free(copy);
        return NULL;
    }
    memcpy(copy, path, len + 1);
    int absolute = path[0] == '/';
    size_t at = 0;
    /* components kept so far: out[0 .. at), separated by '/' */
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            char *last = at ? out + at : NULL;
            while (last && last > out && last[-1] != '/')
                last--;
            if (last && strcmp(last, "..") != 0) { /* fold "a/.." */
                at = (size_t)(last - out);
                at = at ? at - 1 : 0;
                out[at] = 0;
                continue;
            }
            if (absolute) /* "/.." is "/" */
                continue;
        }
        if (at)
            out[at++] = '/';
        size_t cl = strlen(c);
        memcpy(out + at, c, cl);
        at += cl;
        out[at] = 0;
    }
    out[at] = 0;
    free(copy);
    if (absolute) {
        memmove(out + 1, out, at + 1);
        out[0] = '/';
    }
    return out;
}

int mnet_ctx_add_text(mnet_ctx *ctx, const char *name, const char *text, long len)
{
    if (ctx->n_sources == ctx->cap_sources) {
        int cap = ctx->cap_sources ? 2 * ctx->cap_sources : 8;
        mnet_source *s = realloc(ctx->sources, (size_t)cap * sizeof *s);
        if (!s)
            return -1;
        ctx->sources = s;
        ctx->cap_sources = cap;
    }
    mnet_source *src = &ctx->sources[ctx->n_sources];
    memset(src, 0, sizeof *src);
    src->path = strdup(name);
    src->text = malloc((size_t)len + 1);
    if (!src->path || !src->text) {
        free(src->path);
        free(src->text);
        return -1;
    }
    memcpy(src->text, text, (size_t)len);
    src->text[len] = '\0';
    src->len = len;
    return ctx->n_sources++;
}

src_loc mnet_no_loc(void)
{
    src_loc loc = {-1, 0, 0};
    return loc;
}

static void add_diag(mnet_ctx *ctx, src_loc loc, int is_note, const char *fmt, va_list ap)
{
    if (!is_note)
        ctx->n_errors++;
    /* Notes follow their error: drop them when the error was dropped. */
    if ((!is_note && ctx->n_errors > ctx->max_errors) ||
        (is_note && ctx->n_errors > ctx->max_errors))
        return;
    if (ctx->n_diags == ctx->cap_diags) {
        int cap = ctx->cap_diags ? 2 * ctx->cap_diags : 16;
        mnet_diag *d = realloc(ctx->diags, (size_t)cap * sizeof *d);
        if (!d)
            return;
        ctx->diags = d;
        ctx->cap_diags = cap;
    }
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    /* The same error at the same place (a definition checked through two
     * uses) is reported once. */
    for (int i = 0; i < ctx->n_diags; i++) {
        const mnet_diag *d = &ctx->diags[i];
        if (!is_note && !d->is_note && d->loc.file == loc.file && d->loc.line == loc.line &&
            d->loc.col == loc.col && strcmp(d->msg, buf) == 0) {
            ctx->n_errors--;
            ctx->suppress_notes = 1;
            return;
        }
    }
    if (!is_note)
        ctx->suppress_notes = 0;
    else if (ctx->suppress_notes)
        return;
    mnet_diag *d = &ctx->diags[ctx->n_diags];
    d->msg = strdup(buf);
    if (!d->msg)
        return;
    d->loc = loc;
    d->is_note = is_note;
    ctx->n_diags++;
}

void mnet_error(mnet_ctx *ctx, src_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_diag(ctx, loc, 0, fmt, ap);
    va_end(ap);
}

void mnet_note(mnet_ctx *ctx, src_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_diag(ctx, loc, 1, fmt, ap);
    va_end(ap);
}

/* Prints the source line of loc and a caret.  Long lines are shown as a
 * window around the column so a megabyte-long line stays readable. */
static void print_source_line(const mnet_source *src, src_loc loc, FILE *out)
{
    const char *p = src->text, *end = src->text + src->len;
    for (int line = 1; line < loc.line && p < end; p++)
        if (*p == '\n')
            line++;
    const char *eol = p;
    while (eol < end && *eol != '\n')
        eol++;
    long width = eol - p, col = loc.col - 1;
    if (col < 0)
        col = 0;
    if (col > width)
        col = width;
    long from = 0, to = width;
    enum { WINDOW = 100 };
    if (width > 2 * WINDOW) {
        from = col > WINDOW ? col - WINDOW : 0;
        to = from + 2 * WINDOW < width ? from + 2 * WINDOW : width;
    }
    fputs("  ", out);
    if (from > 0)
        fputs("...", out);
    for (long i = from; i < to; i++) {
        unsigned char c = (unsigned char)p[i];
        fputc(c == '\t' ? ' ' : (c < 32 || c == 127) ? '?' : c, out);
    }
    if (to < width)
        fputs("...", out);
    fputs("\n  ", out);
    if (from > 0)
        fputs("   ", out);
    for (long i = from; i < col; i++)
        fputc(' ', out);
    fputs("^\n", out);
}

void mnet_print_diags(const mnet_ctx *ctx, FILE *out)
{
    for (int i = 0; i < ctx->n_diags; i++) {
        const mnet_diag *d = &ctx->diags[i];
        const char *kind = d->is_note ? "note" : "error";
        if (d->loc.file >= 0 && d->loc.file < ctx->n_sources) {
            const mnet_source *src = &ctx->sources[d->loc.file];
            fprintf(out, "%s:%d:%d: %s: %s\n", src->path, d->loc.line, d->loc.col, kind, d->msg);
            if (d->loc.line > 0)
                print_source_line(src, d->loc, out);
        } else {
            fprintf(out, "mnetc: %s: %s\n", kind, d->msg);
        }
    }
    if (ctx->n_errors > ctx->max_errors)
        fprintf(out, "mnetc: %d more errors not shown\n", ctx->n_errors - ctx->max_errors);
}
