/* golden.c - reader for the reference golden files; see golden.h.
 *
 * The whole file is read into one buffer, split into lines in place ('\n'
 * and a trailing '\r' become NUL) and parsed line by line:
 *
 *   file   = magic { blank | meta | array }
 *   magic  = "mnet-golden" version            version must be 1
 *   meta   = "meta" KEY VALUE...              VALUE: rest of the line, trimmed
 *   array  = "array" NAME D1 ... Dk NL rows   rows: D1*...*D(k-1) lines of Dk numbers
 *
 * Sizes are guarded before anything is allocated: the file may be at most
 * GOLDEN_MAX_BYTES long, an array may declare at most as many numbers as such
 * a file could hold, and an array's buffer is never larger than the numbers
 * the rest of this file can hold (each needs a character and a separator), so
 * a lying header costs no more memory than the file itself. */
#include "golden.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_MAGIC "mnet-golden"
#define GOLDEN_VERSION 1
#define GOLDEN_MAX_BYTES (256L * 1024 * 1024)      /* largest file read */
#define GOLDEN_MAX_COUNT (GOLDEN_MAX_BYTES / 2)     /* most numbers it can hold */

/* ---------------------------------------------------------------- errors */

typedef struct {
    const char *path;   /* file being read, for messages */
    char *err;          /* caller's message buffer (may be NULL) */
    size_t errlen;      /* its size */
} gl_reader;

/* Writes "PATH:LINE: message" (or "PATH: message" when line is 0). */
static void gl_fail(const gl_reader *r, int line, const char *fmt, ...)
{
    if (!r->err || r->errlen == 0)
        return;
    int n = line > 0 ? snprintf(r->err, r->errlen, "%s:%d: ", r->path, line)
                     : snprintf(r->err, r->errlen, "%s: ", r->path);
    if (n < 0)
        n = 0;
    if ((size_t)n >= r->errlen)
        return; /* already truncated and terminated */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Copies at most 40 characters of a token for quoting, replacing anything
 * unprintable with '?'. out must hold 48 bytes. */
static const char *gl_quote(const char *s, char *out)
{
    int i = 0;
    for (; s[i] && s[i] != ' ' && s[i] != '\t' && i < 40; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i] && s[i] != ' ' && s[i] != '\t') {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* ---------------------------------------------------------------- reading */

/* Reads the whole file into a NUL-terminated buffer; NULL with a message. */
static char *gl_read_all(const gl_reader *r, long *len)
{
    FILE *f = fopen(r->path, "rb");
    if (!f) {
        gl_fail(r, 0, "cannot open: %s (hint: check the path, or set MNET_GOLDEN_DIR)",
                strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        gl_fail(r, 0, "out of memory reading the file");
        fclose(f);
        return NULL;
    }
    for (;;) {
        if (n + 1 >= cap) { /* full: the buffer keeps one byte for the final NUL */
            if (cap > (size_t)GOLDEN_MAX_BYTES) {
                gl_fail(r, 0, "file is larger than %ld bytes (hint: not a golden file?)",
                        GOLDEN_MAX_BYTES);
                goto fail;
            }
            size_t ncap = cap * 2;
            if (ncap > (size_t)GOLDEN_MAX_BYTES + 2)
                ncap = (size_t)GOLDEN_MAX_BYTES + 2; /* room to notice one byte too many */
            char *bigger = realloc(buf, ncap);
            if (!bigger) {
                gl_fail(r, 0, "out of memory reading the file (%zu bytes)", ncap);
                goto fail;
            }
            buf = bigger;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                gl_fail(r, 0, "read error: %s (hint: is it a regular file?)", strerror(errno));
                goto fail;
            }
            break;
        }
    }
    if (n > (size_t)GOLDEN_MAX_BYTES) {
        gl_fail(r, 0, "file is larger than %ld bytes (hint: not a golden file?)",
                GOLDEN_MAX_BYTES);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = (long)n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

static int gl_is_space(char c) { return c == ' ' || c == '\t'; }

static char *gl_skip_space(char *s)
{
    while (gl_is_space(*s))
        s++;
    return s;
}

/* Cuts the next whitespace-separated token out of *s (NUL-terminating it in
 * place) and advances *s past it; NULL when the line has no more tokens. */
static char *gl_token(char **s)
{
    char *t = gl_skip_space(*s);
    if (!*t) {
        *s = t;
        return NULL;
    }
    char *e = t;
    while (*e && !gl_is_space(*e))
        e++;
    if (*e)
        *e++ = '\0';
    *s = e;
    return t;
}

/* ---------------------------------------------------------------- building */

static int gl_add_meta(const gl_reader *r, golden_case *c, int *cap, int line,
                       const char *key, const char *value)
{
    for (int i = 0; i < c->n_meta; i++)
        if (strcmp(c->meta_keys[i], key) == 0) {
            char q[48];
            gl_fail(r, line, "duplicate meta key '%s' (hint: first given earlier in the file)",
                    gl_quote(key, q));
            return 0;
        }
    if (c->n_meta == *cap) {
        int ncap = *cap ? 2 * *cap : 16;
        char **k = realloc(c->meta_keys, (size_t)ncap * sizeof *k);
        if (k)
            c->meta_keys = k;
        char **v = realloc(c->meta_values, (size_t)ncap * sizeof *v);
        if (v)
            c->meta_values = v;
        if (!k || !v) {
            gl_fail(r, line, "out of memory");
            return 0;
        }
        *cap = ncap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        gl_fail(r, line, "out of memory");
        return 0;
    }
    c->meta_keys[c->n_meta] = k;
    c->meta_values[c->n_meta] = v;
    c->n_meta++;
    return 1;
}

/* Parses "array NAME D1 ... Dk" (s points after "array") and appends the
 * array, with a buffer of *ncap = min(count, max_numbers) doubles. */
static golden_array *gl_add_array(const gl_reader *r, golden_case *c, int *cap, int line,
                                  char *s, long max_numbers, long *ncap)
{
    char q[48];
    char *name = gl_token(&s);
    if (!name) {
        gl_fail(r, line, "array line has no name (hint: expected 'array NAME D1 ... Dk')");
        return NULL;
    }
    for (int i = 0; i < c->n_arrays; i++)
        if (strcmp(c->arrays[i].name, name) == 0) {
            gl_fail(r, line, "duplicate array '%s' (hint: first declared at line %d)",
                    gl_quote(name, q), c->arrays[i].line);
            return NULL;
        }
    golden_array a;
    memset(&a, 0, sizeof a);
    a.line = line;
    a.count = 1;
    for (char *t; (t = gl_token(&s));) {
        if (a.ndim == GOLDEN_MAX_DIM) {
            gl_fail(r, line, "array '%s' has more than %d dimensions (hint: bad header)",
                    gl_quote(name, q), GOLDEN_MAX_DIM);
            return NULL;
        }
        char *end;
        errno = 0;
        long d = strtol(t, &end, 10);
        if (end == t || *end) {
            gl_fail(r, line, "dimension '%s' of array '%s' is not an integer "
                    "(hint: expected 'array NAME D1 ... Dk')", gl_quote(t, q), name);
            return NULL;
        }
        if (d < 1) {
            gl_fail(r, line, "dimension '%s' of array '%s' must be at least 1 "
                    "(hint: bad dims)", gl_quote(t, q), name);
            return NULL;
        }
        if (errno == ERANGE || d > INT_MAX || d > GOLDEN_MAX_COUNT / a.count) {
            gl_fail(r, line, "array '%s' is absurdly large: dimension %d is '%s' and the "
                    "reader allows at most %ld numbers (hint: bad dims)",
                    name, a.ndim + 1, gl_quote(t, q), GOLDEN_MAX_COUNT);
            return NULL;
        }
        a.dims[a.ndim++] = (int)d;
        a.count *= d;
    }
    if (a.ndim == 0) {
        gl_fail(r, line, "array '%s' has no dimensions (hint: expected 'array NAME D1 ... Dk')",
                gl_quote(name, q));
        return NULL;
    }
    if (c->n_arrays == *cap) {
        int ncap = *cap ? 2 * *cap : 16;
        golden_array *arr = realloc(c->arrays, (size_t)ncap * sizeof *arr);
        if (!arr) {
            gl_fail(r, line, "out of memory");
            return NULL;
        }
        c->arrays = arr;
        *cap = ncap;
    }
    long n = a.count < max_numbers ? a.count : max_numbers;
    a.name = strdup(name);
    a.data = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!a.name || !a.data) {
        free(a.name);
        free(a.data);
        gl_fail(r, line, "out of memory for array '%s' (%ld numbers)", name, a.count);
        return NULL;
    }
    c->arrays[c->n_arrays] = a;
    *ncap = n;
    return &c->arrays[c->n_arrays++];
}

/* Parses one row of n numbers from line s into out; at most room values are
 * written. row/nrows/a are for messages. */
static int gl_parse_row(const gl_reader *r, int line, char *s, double *out, long room,
                        const golden_array *a, long row, long nrows)
{
    char q[48];
    const char *start = s;
    int n = a->dims[a->ndim - 1], k = 0;
    for (;;) {
        s = gl_skip_space(s);
        if (!*s)
            break;
        if (k >= room) { /* cannot happen: room covers every number the file holds */
            gl_fail(r, line, "more numbers than the file can hold (hint: reader bug in "
                    "tests/support/golden.c)");
            return 0;
        }
        if (k == n) {
            int extra = 0;
            for (char *t = s; *t;) {
                extra++;
                while (*t && !gl_is_space(*t))
                    t++;
                t = gl_skip_space(t);
            }
            gl_fail(r, line, "too many numbers: %d, expected %d (hint: row %ld of %ld of "
                    "array '%s' declared at line %d; wrong last dimension?)",
                    k + extra, n, row + 1, nrows, a->name, a->line);
            return 0;
        }
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || (*end && !gl_is_space(*end))) {
            gl_fail(r, line, "column %d: '%s' is not a number (hint: row %ld of array '%s' "
                    "declared at line %d)", (int)(s - start) + 1, gl_quote(s, q), row + 1,
                    a->name, a->line);
            return 0;
        }
        if (errno == ERANGE && isinf(v)) {
            gl_fail(r, line, "column %d: '%s' is out of range for a double (hint: row %ld of "
                    "array '%s')", (int)(s - start) + 1, gl_quote(s, q), row + 1, a->name);
            return 0;
        }
        out[k++] = v;
        s = end;
    }
    if (k < n) {
        gl_fail(r, line, "too few numbers: %d, expected %d (hint: row %ld of %ld of array '%s' "
                "declared at line %d; truncated file?)", k, n, row + 1, nrows, a->name, a->line);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- entry points */

golden_case *golden_load(const char *path, char *err, size_t errlen)
{
    gl_reader r = {path ? path : "(null)", err, errlen};
    if (err && errlen)
        err[0] = '\0';
    if (!path) {
        gl_fail(&r, 0, "no path given");
        return NULL;
    }
    long len = 0;
    char *buf = gl_read_all(&r, &len);
    if (!buf)
        return NULL;

    golden_case *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        gl_fail(&r, 0, "out of memory");
        goto fail;
    }
    if (len == 0) {
        gl_fail(&r, 1, "empty file (hint: expected '%s %d' on the first line)",
                GOLDEN_MAGIC, GOLDEN_VERSION);
        goto fail;
    }
    const char *nul = memchr(buf, '\0', (size_t)len);
    if (nul) {
        int line = 1;
        for (const char *p = buf; p < nul; p++)
            line += *p == '\n';
        gl_fail(&r, line, "NUL byte in file (hint: binary data, not a golden file?)");
        goto fail;
    }

    /* end of file: the line after the last newline, or the unfinished last line */
    int ends_with_newline = buf[len - 1] == '\n';
    int meta_cap = 0, array_cap = 0;
    golden_array *cur = NULL;  /* array whose rows are being read */
    long cur_cap = 0;          /* doubles in cur->data */
    long row = 0, nrows = 0;   /* next row of cur, and its row count */
    int line = 0;
    char *next = buf, *end = buf + len;
    while (next < end) {
        char *s = next;
        char *nl = memchr(s, '\n', (size_t)(end - s));
        if (nl) {
            *nl = '\0';
            next = nl + 1;
        } else {
            next = end;
        }
        size_t sl = strlen(s);
        if (sl && s[sl - 1] == '\r')
            s[sl - 1] = '\0';
        line++;

        if (line == 1) {
            /* magic = "mnet-golden" version */
            char q[48];
            char *magic = gl_token(&s), *version = gl_token(&s);
            if (!magic || strcmp(magic, GOLDEN_MAGIC) != 0) {
                gl_fail(&r, line, "not a golden file: first line starts with '%s' (hint: "
                        "expected '%s %d')", magic ? gl_quote(magic, q) : "",
                        GOLDEN_MAGIC, GOLDEN_VERSION);
                goto fail;
            }
            if (!version || strcmp(version, "1") != 0 || gl_token(&s)) {
                gl_fail(&r, line, "unsupported format version '%s' (hint: this reader knows "
                        "'%s %d'; regenerate the file or update tests/support/golden.c)",
                        version ? gl_quote(version, q) : "", GOLDEN_MAGIC, GOLDEN_VERSION);
                goto fail;
            }
            continue;
        }

        if (cur) {
            /* one row of cur, into what is left of its buffer */
            long at = row * cur->dims[cur->ndim - 1];
            if (!gl_parse_row(&r, line, s, cur->data + at, cur_cap - at, cur, row, nrows))
                goto fail;
            if (++row == nrows)
                cur = NULL;
            continue;
        }

        char *t = gl_token(&s);
        if (!t)
            continue; /* blank line between sections */
        if (strcmp(t, "meta") == 0) {
            /* meta = "meta" KEY VALUE... */
            char *key = gl_token(&s);
            char *value = gl_skip_space(s);
            size_t vl = strlen(value);
            while (vl && gl_is_space(value[vl - 1]))
                value[--vl] = '\0';
            if (!key || !vl) {
                gl_fail(&r, line, "meta line needs a key and a value (hint: expected "
                        "'meta KEY VALUE')");
                goto fail;
            }
            if (!gl_add_meta(&r, c, &meta_cap, line, key, value))
                goto fail;
        } else if (strcmp(t, "array") == 0) {
            /* array = "array" NAME D1 ... Dk */
            long rest = (long)(end - next);
            cur = gl_add_array(&r, c, &array_cap, line, s, (rest + 1) / 2, &cur_cap);
            if (!cur)
                goto fail;
            nrows = cur->count / cur->dims[cur->ndim - 1];
            row = 0;
        } else {
            char q[48];
            const golden_array *last = c->n_arrays ? &c->arrays[c->n_arrays - 1] : NULL;
            char *num_end;
            strtod(t, &num_end);
            if (last && num_end != t)
                gl_fail(&r, line, "numbers after the last row of array '%s' declared at line "
                        "%d (hint: its dims are too small?)", last->name, last->line);
            else
                gl_fail(&r, line, "unknown line '%s' (hint: expected 'meta' or 'array')",
                        gl_quote(t, q));
            goto fail;
        }
    }

    int eof_line = ends_with_newline ? line + 1 : line;
    if (cur) {
        gl_fail(&r, eof_line, "unexpected end of file: array '%s' declared at line %d has "
                "%ld of %ld rows (hint: truncated file?)", cur->name, cur->line, row, nrows);
        goto fail;
    }
    if (c->n_arrays == 0) {
        gl_fail(&r, eof_line, "no array in the file (hint: truncated after the header?)");
        goto fail;
    }
    free(buf);
    return c;
fail:
    free(buf);
    golden_free(c);
    return NULL;
}

void golden_free(golden_case *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_meta; i++) {
        free(c->meta_keys[i]);
        free(c->meta_values[i]);
    }
    free(c->meta_keys);
    free(c->meta_values);
    for (int i = 0; i < c->n_arrays; i++) {
        free(c->arrays[i].name);
        free(c->arrays[i].data);
    }
    free(c->arrays);
    free(c->path);
    free(c);
}

const char *golden_meta(const golden_case *c, const char *key)
{
    if (!c || !key)
        return NULL;
    for (int i = 0; i < c->n_meta; i++)
        if (strcmp(c->meta_keys[i], key) == 0)
            return c->meta_values[i];
    return NULL;
}

int golden_meta_int(const golden_case *c, const char *key, int dflt)
{
    const char *v = golden_meta(c, key);
    if (!v || !*v)
        return dflt;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (*end || errno == ERANGE || x < INT_MIN || x > INT_MAX)
        return dflt;
    return (int)x;
}

double golden_meta_double(const golden_case *c, const char *key, double dflt)
{
    const char *v = golden_meta(c, key);
    if (!v || !*v)
        return dflt;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (*end || (errno == ERANGE && isinf(x)))
        return dflt;
    return x;
}

const golden_array *golden_array_get(const golden_case *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (int i = 0; i < c->n_arrays; i++)
        if (strcmp(c->arrays[i].name, name) == 0)
            return &c->arrays[i];
    return NULL;
}

const char *golden_dir(void)
{
    const char *env = getenv("MNET_GOLDEN_DIR");
    if (env && *env)
        return env;
#ifdef MNET_GOLDEN_DIR
    return MNET_GOLDEN_DIR;
#else
    return NULL;
#endif
}

static int gl_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **golden_list(const char *dir, int *n, char *err, size_t errlen)
{
    gl_reader r = {dir ? dir : "(null)", err, errlen};
    if (err && errlen)
        err[0] = '\0';
    if (n)
        *n = 0;
    if (!dir) {
        gl_fail(&r, 0, "no golden directory (hint: set MNET_GOLDEN_DIR)");
        return NULL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        gl_fail(&r, 0, "cannot open directory: %s (hint: set MNET_GOLDEN_DIR)",
                strerror(errno));
        return NULL;
    }
    size_t dl = strlen(dir);
    int sep = dl && dir[dl - 1] != '/';
    int count = 0, cap = 16;
    char **paths = malloc((size_t)cap * sizeof *paths);
    if (!paths)
        goto oom;
    for (struct dirent *e; (e = readdir(d));) {
        size_t nl = strlen(e->d_name);
        if (nl <= 7 || strcmp(e->d_name + nl - 7, ".golden") != 0)
            continue;
        if (count + 1 >= cap) {
            char **bigger = realloc(paths, (size_t)cap * 2 * sizeof *paths);
            if (!bigger)
                goto oom;
            paths = bigger;
            cap *= 2;
        }
        char *p = malloc(dl + (size_t)sep + nl + 1);
        if (!p)
            goto oom;
        memcpy(p, dir, dl);
        if (sep)
            p[dl] = '/';
        memcpy(p + dl + sep, e->d_name, nl + 1);
        paths[count++] = p;
    }
    closedir(d);
    qsort(paths, (size_t)count, sizeof *paths, gl_cmp_str);
    paths[count] = NULL;
    if (n)
        *n = count;
    return paths;
oom:
    closedir(d);
    if (paths) {
        for (int i = 0; i < count; i++)
            free(paths[i]);
        free(paths);
    }
    gl_fail(&r, 0, "out of memory listing the directory");
    return NULL;
}

void golden_free_list(char **paths)
{
    if (!paths)
        return;
    for (char **p = paths; *p; p++)
        free(*p);
    free(paths);
}
