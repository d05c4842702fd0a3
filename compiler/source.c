/* source.c - reading .mnet files and following their imports.
 *
 * Refuses what is not a model before the lexer sees it: a directory, an
 * unreadable or oversized file, a binary file (a NUL byte).  Imports are
 * resolved relative to the importing file first, then along the search path
 * (-I directories, MNET_PATH, the standard library).
 */
#include "source.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parse.h"

/* Imports nest at most this deep: each level is a stack frame of load() and
 * follow_imports() (a 1,500-file chain overflowed the stack). */
enum { MAX_IMPORT_DEPTH = 256 };

/* The chain of files being imported, for cycle detection. */
typedef struct import_frame {
    const char *real;
    const char *path;
    src_loc from;                       /* the import that loaded it */
    int depth;                          /* 0 for the top file, +1 per import */
    const struct import_frame *up;
} import_frame;

static int load(mnet_ctx *ctx, const char *path, src_loc from, const import_frame *up);

static int find_loaded(const mnet_ctx *ctx, const char *real)
{
    for (int i = 0; i < ctx->n_sources; i++)
        if (ctx->sources[i].real && strcmp(ctx->sources[i].real, real) == 0)
            return i;
    return -1;
}

static char *read_whole(mnet_ctx *ctx, const char *path, src_loc from, long *len)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        mnet_error(ctx, from, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        mnet_error(ctx, from, "'%s' is a directory, not a .mnet file", path);
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        mnet_error(ctx, from, "'%s' is not a regular file", path);
        return NULL;
    }
    if (sb.st_size > MNET_MAX_SOURCE_BYTES) {
        mnet_error(ctx, from, "'%s' is %lld bytes; model files are limited to %d MiB", path,
                   (long long)sb.st_size, MNET_MAX_SOURCE_BYTES >> 20);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        mnet_error(ctx, from, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        mnet_error(ctx, from, "cannot read '%s'%s", path, buf ? "" : ": out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = (long)n;
    return buf;
}

/* A NUL byte means a binary file: report it at its position and stop. */
static int check_text(mnet_ctx *ctx, int file)
{
    const mnet_source *src = &ctx->sources[file];
    const char *nul = memchr(src->text, '\0', (size_t)src->len);
    if (!nul)
        return 0;
    src_loc loc = {file, 1, 1};
    for (const char *p = src->text; p < nul; p++) {
        if (*p == '\n') {
            loc.line++;
            loc.col = 1;
        } else {
            loc.col++;
        }
    }
    mnet_error(ctx, loc, "'%s' looks like a binary file (NUL byte); expected .mnet text", src->path);
    return 1;
}

static char *join_dir(const char *base_file, const char *rel)
{
    const char *slash = base_file ? strrchr(base_file, '/') : NULL;
    size_t dlen = slash ? (size_t)(slash - base_file) : 0;
    char *out = malloc(dlen + strlen(rel) + 2);
    if (!out)
        return NULL;
    if (dlen) {
        memcpy(out, base_file, dlen);
        out[dlen] = '/';
        strcpy(out + dlen + 1, rel);
    } else {
        strcpy(out, rel);
    }
    return out;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Memory mode: the index of the file called (normalised) name, or -1. */
static int memory_find(const mnet_ctx *ctx, const char *name)
{
    for (int i = 0; i < ctx->n_memory; i++)
        if (!strcmp(ctx->memory_names[i], name))
            return i;
    return -1;
}

/* Memory mode: an import is the file at its importer-relative path, else
 * the first file whose name ends in the import's path (a library import
 * stored under wherever the library was); the disk is never looked at. */
static char *resolve_memory_import(const mnet_ctx *ctx, const char *importer, const char *rel)
{
    char *joined = rel[0] == '/' ? strdup(rel) : join_dir(importer, rel);
    char *p = joined ? mnet_path_normalise(joined) : NULL, *r = mnet_path_normalise(rel);
    free(joined);
    if (!p || !r || memory_find(ctx, p) >= 0 || rel[0] == '/' || !strncmp(r, "../", 3) || !strcmp(r, "..")) {
        free(r);
        return p;
    }
    size_t lr = strlen(r);
    for (int i = 0; i < ctx->n_memory; i++) {
        const char *name = ctx->memory_names[i];
        size_t ln = strlen(name);
        if ((ln == lr || (ln > lr && name[ln - lr - 1] == '/')) && !strcmp(name + ln - lr, r)) {
            free(p);
            p = strdup(name);
            break;
        }
    }
    free(r);
    return p;
}

/* Resolves an import: relative to the importer, then the search path. */
static char *resolve_import(const mnet_ctx *ctx, const char *importer, const char *rel)
{
    if (ctx->n_memory > 0)
        return resolve_memory_import(ctx, importer, rel);
    if (rel[0] == '/')
        return strdup(rel);
    char *p = join_dir(importer, rel);
    if (p && file_exists(p))
        return p;
    for (int i = 0; i < ctx->n_search; i++) {
        char *q = malloc(strlen(ctx->search_path[i]) + strlen(rel) + 2);
        if (!q)
            break;
        sprintf(q, "%s/%s", ctx->search_path[i], rel);
        if (file_exists(q)) {
            free(p);
            return q;
        }
        free(q);
    }
    return p; /* not found: report against the importer-relative path */
}

static void follow_imports(mnet_ctx *ctx, int file, const import_frame *frame)
{
    for (ast_stmt *s = ctx->sources[file].items; s; s = s->next) {
        if (s->kind != ST_SETTING || strcmp(s->head, "import") != 0)
            continue;
        if (s->nargs != 1 || s->args->name || !s->args->value || s->args->value->kind != EX_STR ||
            s->has_body) {
            mnet_error(ctx, s->loc, "import expects one file name in quotes: import \"lib/muscles.mnet\";");
            continue;
        }
        const char *rel = s->args->value->str;
        char *path = resolve_import(ctx, ctx->sources[file].path, rel);
        if (!path) {
            mnet_error(ctx, s->loc, "out of memory");
            return;
        }
        load(ctx, path, s->args->value->loc, frame);
        free(path);
    }
}

/* `top` imports `path`, which is `first` again: names the chain
 * first -> ... -> top -> first, and notes where each link is imported. */
static void report_cycle(mnet_ctx *ctx, const import_frame *first, const import_frame *top,
                         const char *path, src_loc from)
{
    const import_frame *chain[64];
    int n = 0;
    for (const import_frame *g = top; g && n < 64; g = g->up) {
        chain[n++] = g;
        if (g == first)
            break;
    }
    char msg[768] = "";
    size_t len = 0;
    for (int i = n - 1; i >= 0 && len < sizeof msg; i--)
        len += (size_t)snprintf(msg + len, sizeof msg - len, "'%s' -> ", chain[i]->path);
    if (len < sizeof msg)
        snprintf(msg + len, sizeof msg - len, "'%s'", path);
    mnet_error(ctx, from, "import cycle: %s", msg);
    for (int i = n - 2; i >= 0; i--)
        if (chain[i]->from.file >= 0)
            mnet_note(ctx, chain[i]->from, "'%s' is imported here", chain[i]->path);
}

static int load(mnet_ctx *ctx, const char *path, src_loc from, const import_frame *up)
{
    char real[PATH_MAX];
    int mem = -1;
    if (ctx->n_memory > 0) { /* a name among the memory sources is its identity */
        char *name = mnet_path_normalise(path);
        mem = name ? memory_find(ctx, name) : -1;
        if (mem < 0 || strlen(name) >= sizeof real) {
            mnet_error(ctx, from, "'%s' is not among the stored sources", path);
            free(name);
            return -1;
        }
        strcpy(real, name);
        free(name);
        path = ctx->memory_names[mem];
    } else if (!realpath(path, real)) {
        mnet_error(ctx, from, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    for (const import_frame *f = up; f; f = f->up) {
        if (strcmp(f->real, real) == 0) {
            report_cycle(ctx, f, up, path, from);
            return -1;
        }
    }
    int idx = find_loaded(ctx, real);
    if (idx >= 0)
        return idx;
    int depth = up ? up->depth + 1 : 0;
    if (depth > MAX_IMPORT_DEPTH) {
        mnet_error(ctx, from, "imports nested too deeply: importing '%s' would be level %d; "
                   "imports nest at most %d deep", path, depth, MAX_IMPORT_DEPTH);
        return -1;
    }
    long len = 0;
    char *text = mem >= 0 ? NULL : read_whole(ctx, path, from, &len);
    if (mem < 0 && !text)
        return -1;
    idx = mem >= 0 ? mnet_ctx_add_text(ctx, path, ctx->memory_texts[mem], ctx->memory_lens[mem])
                   : mnet_ctx_add_text(ctx, path, text, len);
    free(text);
    if (idx < 0) {
        mnet_error(ctx, from, "out of memory");
        return -1;
    }
    ctx->sources[idx].real = strdup(real);
    if (check_text(ctx, idx))
        return idx;
    mnet_parse(ctx, idx);
    import_frame frame = {ctx->sources[idx].real, ctx->sources[idx].path, from, depth, up};
    follow_imports(ctx, idx, &frame);
    return idx;
}

int mnet_load_file(mnet_ctx *ctx, const char *path, src_loc from)
{
    return load(ctx, path, from, NULL);
}

int mnet_load_text(mnet_ctx *ctx, const char *name, const char *text, long len)
{
    int idx = mnet_ctx_add_text(ctx, name, text, len);
    if (idx < 0)
        return -1;
    if (check_text(ctx, idx))
        return idx;
    mnet_parse(ctx, idx);
    import_frame frame = {"", name, mnet_no_loc(), 0, NULL};
    follow_imports(ctx, idx, &frame);
    return idx;
}
