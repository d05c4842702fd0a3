/* outdir.c - the output directory of a training run: path check, creation,
 * lock, mode check, removal of orphaned temporaries (see mnet_outdir.h). */

/* open-file-description locks (F_OFD_SETLK) are a GNU extension of fcntl;
 * without them the classic per-process F_SETLK is used (see lock_dir). */
#define _GNU_SOURCE
#include "mnet_outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io_internal.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif
#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* The files of a run; the first three are written atomically (and may
 * leave NAME.tmp.XXXXXX behind). */
static const char *const run_files[] = {MNET_OUTDIR_CHECKPOINT, MNET_OUTDIR_WEIGHTS,
                                        MNET_OUTDIR_VALIDATION, MNET_OUTDIR_LOG};
#define N_ATOMIC_FILES 3
#define N_RUN_FILES 4
#define TMP_SUFFIX_LEN 11   /* ".tmp.XXXXXX" (io_atomic.c) */

/* ==== 1. the path ==== */

/* The longest name written into DIR: a temporary of an atomic save. */
static size_t longest_name(void)
{
    size_t len = strlen(MNET_OUTDIR_LOCK);
    for (int i = 0; i < N_RUN_FILES; i++) {
        size_t l = strlen(run_files[i]) + (i < N_ATOMIC_FILES ? TMP_SUFFIX_LEN : 0);
        if (l > len)
            len = l;
    }
    return len;
}

static int check_path(const char *dir, char *err, size_t n)
{
    if (!dir || !*dir)
        return io_err(err, n, "no output directory given (an empty path)");
    size_t len = strlen(dir), inside = longest_name();
    if (len + 1 + inside >= PATH_MAX)
        return io_err(err, n,
                      "output directory path is too long: %zu bytes, and the files in it "
                      "(up to %zu bytes more) would pass the system's limit of %d bytes "
                      "(PATH_MAX); nothing was created (hint: choose a shorter path)",
                      len, 1 + inside, PATH_MAX - 1);
    for (const char *p = dir; *p;) {
        size_t c = strcspn(p, "/");
        if (c > NAME_MAX)
            return io_err(err, n,
                          "output directory '%s': the component '%.40s...' is %zu bytes long, "
                          "more than the system's limit of %d (NAME_MAX); nothing was created",
                          dir, p, c, NAME_MAX);
        p += c;
        p += strspn(p, "/");
    }
    return 0;
}

/* ==== 2. creation ==== */

/* mkdir -p: creates the missing components of dir (checked by check_path,
 * so it fits in PATH_MAX). */
static int make_dirs(const char *dir, char *err, size_t n)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    size_t len = strlen(p);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i - 1] == '/')
            continue;                       /* "a//b" or a trailing slash */
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            io_err(err, n, "cannot create output directory '%s': cannot make '%s': %s", dir, p,
                   strerror(e));
            return -1;
        }
        p[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0)
        return io_err(err, n, "cannot create output directory '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return io_err(err, n, "output directory '%s' exists and is not a directory", dir);
    return 0;
}

/* ==== 3. the lock ==== */

#ifdef F_OFD_SETLK
/* An open-file-description lock: also two opens in one process exclude each
 * other, and closing another descriptor of the file does not drop it. */
#define LOCK_CMD F_OFD_SETLK
#else
/* A process lock: the kernel drops it when any descriptor of the lock file
 * in this process is closed; nothing else here opens the file. */
#define LOCK_CMD F_SETLK
#endif

/* Copies src into dst (at most n - 1 bytes), printable ASCII only: the
 * lock file is anyone's input. */
static void printable(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++)
        dst[i] = src[i] >= 32 && src[i] < 127 ? src[i] : '?';
    dst[i] = '\0';
}

/* The "in use" message from the holder's lock file (read through fd). */
static int in_use(int fd, const char *dir, char *err, size_t n)
{
    char buf[512];
    ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
    buf[k > 0 ? k : 0] = '\0';
    long pid = -1;
    char host[256] = "", since[64] = "", h[256], s[64];
    for (char *line = buf; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!strncmp(line, "pid ", 4))
            pid = strtol(line + 4, NULL, 10);
        else if (!strncmp(line, "host ", 5))
            snprintf(host, sizeof host, "%s", line + 5);
        else if (!strncmp(line, "since ", 6))
            snprintf(since, sizeof since, "%s", line + 6);
        line = next;
    }
    if (pid <= 0)
        return io_err(err, n,
                      "'%s' is in use by another process (it has not yet written its name into "
                      "%s/" MNET_OUTDIR_LOCK "); wait for it, or choose another output directory",
                      dir, dir);
    printable(h, sizeof h, host[0] ? host : "?");
    printable(s, sizeof s, since[0] ? since : "?");
    return io_err(err, n,
                  "'%s' is in use by pid %ld on %s since %s (another run is writing there); "
                  "wait for it, or choose another output directory",
                  dir, pid, h, s);
}

/* Writes the holder's line ("pid N\nhost H\nsince TIME\n") into the lock
 * file. */
static int write_holder(int fd, const char *lock_path, char *err, size_t n)
{
    char host[256] = "unknown", since[64] = "unknown", buf[512];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S %z", &tm);
    int len = snprintf(buf, sizeof buf, "pid %ld\nhost %s\nsince %s\n", (long)getpid(), host, since);
    if (len < 0 || (size_t)len >= sizeof buf)
        len = (int)strlen(buf);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != (ssize_t)len)
        return io_err(err, n, "cannot write the lock file '%s': %s", lock_path,
                      errno ? strerror(errno) : "short write");
    return 0;
}

/* Opens and write-locks DIR/.mnet.lock: the descriptor, or -1. */
static int lock_dir(const char *dir, char *err, size_t n)
{
    char lock_path[PATH_MAX];
    snprintf(lock_path, sizeof lock_path, "%s/%s", dir, MNET_OUTDIR_LOCK);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        io_err(err, n, "cannot open the lock file '%s': %s (hint: is the directory writable?)",
               lock_path, strerror(errno));
        return -1;
    }
    struct flock fl;
    memset(&fl, 0, sizeof fl);     /* l_pid must be 0 for an OFD lock */
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;        /* l_start = l_len = 0: the whole file */
    if (fcntl(fd, LOCK_CMD, &fl) != 0) {
        int e = errno;
        if (e == EACCES || e == EAGAIN)
            in_use(fd, dir, err, n);
        else
            io_err(err, n, "cannot lock '%s': %s (hint: does this file system support fcntl "
                   "locks?)", lock_path, strerror(e));
        close(fd);
        return -1;
    }
    errno = 0;
    if (write_holder(fd, lock_path, err, n) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ==== 4. the mode ==== */

/* 1 when DIR/name exists (as anything), 0 when not, -1 on another error. */
static int exists(const char *dir, const char *name, char *err, size_t n)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    if (lstat(p, &st) == 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    return io_err(err, n, "cannot look at '%s': %s", p, strerror(errno));
}

static int check_mode(const char *dir, int mode, char *err, size_t n)
{
    if (mode == MNET_OUTDIR_RESUME) {
        int r = exists(dir, MNET_OUTDIR_CHECKPOINT, err, n);
        if (r == 0)
            return io_err(err, n, "'%s' holds no run (no " MNET_OUTDIR_CHECKPOINT " in it)", dir);
        return r < 0 ? -1 : 0;
    }
    if (mode == MNET_OUTDIR_NEW) {
        for (int i = 0; i < N_RUN_FILES; i++) {
            if (strcmp(run_files[i], MNET_OUTDIR_CHECKPOINT) && strcmp(run_files[i], MNET_OUTDIR_LOG))
                continue;
            int r = exists(dir, run_files[i], err, n);
            if (r < 0)
                return -1;
            if (r > 0)
                return io_err(err, n, "'%s' already holds a run (%s); --force overwrites it "
                              "(mnet train --resume continues it)", dir, run_files[i]);
        }
        return 0;
    }
    /* FORCE: the old run goes, so no file of it outlives the new one's start */
    for (int i = 0; i < N_RUN_FILES; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, run_files[i]);
        if (unlink(p) != 0 && errno != ENOENT)
            return io_err(err, n, "cannot remove '%s' of the run being overwritten: %s", p,
                          strerror(errno));
    }
    return 0;
}

/* ==== 5. orphaned temporaries ==== */

static int remove_temps(const char *dir, int *removed, char *err, size_t n)
{
    *removed = 0;
    DIR *d = opendir(dir);
    if (!d)
        return io_err(err, n, "cannot read output directory '%s': %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        int ours = 0;
        for (int i = 0; i < N_ATOMIC_FILES && !ours; i++)
            ours = mnet_atomic_is_temp_of(de->d_name, run_files[i]);
        if (!ours)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;                      /* only plain files are ours */
        if (unlink(p) != 0 && errno != ENOENT)
            rc = io_err(err, n, "cannot remove the orphaned temporary file '%s': %s", p,
                        strerror(errno));
        else
            ++*removed;
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = io_err(err, n, "cannot read output directory '%s': %s", dir, strerror(errno));
    closedir(d);
    return rc;
}

/* ==== the interface ==== */

int mnet_outdir_open(mnet_outdir *o, const char *dir, int mode, char *err, size_t n)
{
    o->lock_fd = -1;
    o->n_removed = 0;
    o->created = 0;
    if (mode != MNET_OUTDIR_NEW && mode != MNET_OUTDIR_RESUME && mode != MNET_OUTDIR_FORCE)
        return io_err(err, n, "output directory: unknown mode %d", mode);
    if (check_path(dir, err, n) != 0)
        return -1;

    /* a write past a file size limit: EFBIG, reported, instead of death */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGXFSZ, &sa, NULL);

    if (mode == MNET_OUTDIR_RESUME) {
        struct stat st;
        if (stat(dir, &st) != 0)
            return io_err(err, n, "no run in '%s': %s", dir, strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return io_err(err, n, "no run in '%s': not a directory", dir);
    } else {
        struct stat st;
        int existed = stat(dir, &st) == 0;
        if (make_dirs(dir, err, n) != 0)
            return -1;
        o->created = !existed;
    }
    int fd = lock_dir(dir, err, n);
    if (fd < 0)
        return -1;
    o->lock_fd = fd;
    if (check_mode(dir, mode, err, n) != 0 || remove_temps(dir, &o->n_removed, err, n) != 0) {
        mnet_outdir_close(o);
        return -1;
    }
    return 0;
}

void mnet_outdir_abandon(mnet_outdir *o, const char *dir)
{
    const int held = o->lock_fd >= 0, created = o->created;
    mnet_outdir_close(o);
    if (!held || !created)
        return;
    char lock[PATH_MAX];
    if (snprintf(lock, sizeof lock, "%s/%s", dir, MNET_OUTDIR_LOCK) < (int)sizeof lock && unlink(lock) == 0)
        rmdir(dir); /* fails, harmlessly, when something else is there */
    o->created = 0;
}

void mnet_outdir_close(mnet_outdir *o)
{
    if (o->lock_fd < 0)
        return;
    /* empty the file first, so no stale name is left behind; the lock goes
     * with the descriptor (a failed truncation leaves a file that is no
     * lock: harmless) */
    if (ftruncate(o->lock_fd, 0) != 0) {
    }
    close(o->lock_fd);
    o->lock_fd = -1;
}
