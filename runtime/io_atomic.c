/* io_atomic.c - helpers of the run-persistence files: formatted errors,
 * byte order, and atomic file replacement (see io_internal.h). */
#include "io_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnet_outdir.h"

/* The temporary file of an atomic save of PATH is PATH ATOMIC_TMP, the X's
 * replaced by mkstemp; mnet_atomic_is_temp_of recognises such names (an
 * output directory removes the ones a killed process left behind). */
#define ATOMIC_TMP ".tmp.XXXXXX"
#define ATOMIC_TMP_X 6            /* trailing X's of ATOMIC_TMP */

int io_err(char *err, size_t n, const char *fmt, ...)
{
    if (err && n > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int io_host_le(void)
{
    const uint32_t one = 1;
    unsigned char b[4];
    memcpy(b, &one, sizeof b);
    return b[0] == 1;
}

void io_swap_bytes(void *buf, size_t n, size_t size)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++, p += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* The directory part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        char *d = malloc(2);
        if (d)
            memcpy(d, ".", 2);
        return d;
    }
    size_t len = slash == path ? 1 : (size_t)(slash - path); /* "/x" -> "/" */
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, path, len);
        d[len] = 0;
    }
    return d;
}

int mnet_atomic_is_temp_of(const char *name, const char *base)
{
    const size_t nb = strlen(base), nfix = sizeof ATOMIC_TMP - 1 - ATOMIC_TMP_X;
    if (strncmp(name, base, nb) != 0 || strncmp(name + nb, ATOMIC_TMP, nfix) != 0)
        return 0;
    const char *x = name + nb + nfix;
    for (int i = 0; i < ATOMIC_TMP_X; i++)
        if (!isalnum((unsigned char)x[i]))
            return 0;
    return x[ATOMIC_TMP_X] == '\0';
}

static void atomic_clear(io_atomic *af)
{
    free(af->path);
    free(af->tmp);
    af->f = NULL;
    af->path = af->tmp = NULL;
}

int io_atomic_open(io_atomic *af, const char *path, const char *what, char *err, size_t n)
{
    memset(af, 0, sizeof *af);
    af->what = what;
    size_t len = path ? strlen(path) : 0;
    if (len == 0 || path[len - 1] == '/')
        return io_err(err, n, "cannot write %s '%s': not a file name", what, path ? path : "");
    af->path = malloc(len + 1);
    af->tmp = malloc(len + sizeof ATOMIC_TMP);
    if (!af->path || !af->tmp) {
        atomic_clear(af);
        return io_err(err, n, "cannot write %s '%s': out of memory", what, path);
    }
    memcpy(af->path, path, len + 1);
    snprintf(af->tmp, len + sizeof ATOMIC_TMP, "%s" ATOMIC_TMP, path);

    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        int e = errno;
        char *dir = dir_of(path);
        io_err(err, n,
               "cannot write %s '%s': cannot create a temporary file beside it: %s "
               "(hint: does the directory '%s' exist, and is it writable?)",
               what, path, strerror(e), dir ? dir : ".");
        free(dir);
        atomic_clear(af);
        return -1;
    }
    /* mkstemp makes the file 0600: give it the mode of the file it replaces,
     * or 0644 for a new one. */
    struct stat st;
    mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
    if (fchmod(fd, mode) != 0) {
        /* not fatal: the file keeps 0600 */
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int e = errno;
        close(fd);
        remove(af->tmp);
        io_err(err, n, "cannot write %s '%s': %s", what, path, strerror(e));
        atomic_clear(af);
        return -1;
    }
    return 0;
}

void io_atomic_abort(io_atomic *af)
{
    if (af->f)
        fclose(af->f);
    if (af->tmp)
        remove(af->tmp);
    atomic_clear(af);
}

int io_atomic_commit(io_atomic *af, char *err, size_t n)
{
    const char *step = "flush";
    int bad = fflush(af->f) != 0;
    if (!bad) {
        step = "fsync";
        bad = fsync(fileno(af->f)) != 0;
    }
    int e = errno;
    int closed = fclose(af->f);
    af->f = NULL;
    if (!bad && closed != 0) {
        step = "close";
        bad = 1;
        e = errno;
    }
    if (!bad && rename(af->tmp, af->path) != 0) {
        step = "rename";
        bad = 1;
        e = errno;
    }
    if (bad) {
        io_err(err, n, "cannot write %s '%s': %s failed: %s (the previous file, if any, is "
               "unchanged)", af->what, af->path, step, strerror(e));
        io_atomic_abort(af);
        return -1;
    }

    /* Make the rename itself durable.  A directory we cannot open (no read
     * permission) cannot be synced: the replacement is still atomic. */
    int rc = 0;
    char *dir = dir_of(af->path);
    int fd = dir ? open(dir, O_RDONLY) : -1;
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
            rc = io_err(err, n, "wrote %s '%s' but could not sync its directory '%s': %s",
                        af->what, af->path, dir, strerror(errno));
        close(fd);
    }
    free(dir);
    atomic_clear(af);
    return rc;
}
