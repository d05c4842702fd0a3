/* test_outdir.c - the output directory (mnet_outdir.h): paths too long,
 * creation, the lock between processes (and after kill -9), the modes
 * (new, resume, force), removal of orphaned temporaries, and a training log
 * written past a file size limit (SIGXFSZ ignored, EFBIG reported, whole
 * rows kept). */
#define _GNU_SOURCE   /* F_OFD_SETLK, when the runtime uses it */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mnet_log.h"
#include "mnet_outdir.h"
#include "test_support.h"

/* ---- helpers ---- */

static char base[64];   /* a fresh temporary directory per test */

static void make_base(void)
{
    snprintf(base, sizeof base, "/tmp/mnet_outdir_XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(base) != NULL);
}

/* rm -r of what the tests make (files and directories, no links followed) */
static void remove_tree(const char *p)
{
    struct stat st;
    if (lstat(p, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(p);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char *q = malloc(strlen(p) + strlen(de->d_name) + 2);
            sprintf(q, "%s/%s", p, de->d_name);
            remove_tree(q);
            free(q);
        }
        if (d)
            closedir(d);
        rmdir(p);
    } else {
        unlink(p);
    }
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int k = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        k += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return k;
}

static void touch(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("x\n", f);
    CU_ASSERT(fclose(f) == 0);
}

static int present(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return lstat(p, &st) == 0;
}

static int contains(const char *s, const char *part)
{
    if (!strstr(s, part))
        fprintf(stderr, "\n  '%s' not in: %s\n", part, s);
    return strstr(s, part) != NULL;
}

/* ---- paths ---- */

/* A path longer than PATH_MAX, or a component longer than NAME_MAX, is
 * refused with a clear message before anything is created. */
static void test_path_too_long(void)
{
    make_base();
    char err[512];
    mnet_outdir o = MNET_OUTDIR_INIT;

    size_t n = strlen(base) + 2 * (PATH_MAX / 2) + 16;
    char *dir = malloc(n);
    int len = sprintf(dir, "%s", base);
    while ((size_t)len < (size_t)PATH_MAX + 2)
        len += sprintf(dir + len, "/a");          /* short components, long path */
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == -1);
    CU_ASSERT(contains(err, "too long"));
    CU_ASSERT(contains(err, "PATH_MAX"));
    CU_ASSERT(contains(err, "nothing was created"));
    CU_ASSERT_EQUAL(count_entries(base), 0);

    /* just short enough for the longest file inside (30 bytes after a
     * slash): accepted; components of up to 100 bytes */
    len = sprintf(dir, "%s", base);
    while (len + 1 + 30 < PATH_MAX - 1) {
        int room = PATH_MAX - 1 - 31 - len - 1;   /* bytes a component may add */
        int c = room > 100 ? 100 : room;
        dir[len++] = '/';
        memset(dir + len, 'a', (size_t)c);
        len += c;
        dir[len] = '\0';
    }
    CU_ASSERT_EQUAL(len, PATH_MAX - 1 - 31);
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == 0);
    mnet_outdir_close(&o);
    strcat(dir, "a");                             /* one byte more: refused */
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == -1);
    CU_ASSERT(contains(err, "PATH_MAX"));
    free(dir);

    /* one component past NAME_MAX */
    dir = malloc(strlen(base) + NAME_MAX + 64);
    len = sprintf(dir, "%s/ok/", base);
    memset(dir + len, 'b', NAME_MAX + 1);
    strcpy(dir + len + NAME_MAX + 1, "/c");
    remove_tree(base);
    CU_ASSERT_FATAL(mkdir(base, 0700) == 0);
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == -1);
    CU_ASSERT(contains(err, "NAME_MAX"));
    CU_ASSERT_EQUAL(count_entries(base), 0);      /* not even "ok" */
    free(dir);

    CU_ASSERT(mnet_outdir_open(&o, "", MNET_OUTDIR_NEW, err, sizeof err) == -1);
    mnet_outdir_close(&o);                        /* harmless after a failed open */
    remove_tree(base);
}

/* ---- creation, modes ---- */

static void test_modes(void)
{
    make_base();
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/x//y/run/", base);   /* parents, doubled and trailing slashes */
    mnet_outdir o = MNET_OUTDIR_INIT;

    /* resume: the directory must exist (and is not created) */
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_RESUME, err, sizeof err) == -1);
    CU_ASSERT(contains(err, "no run in"));
    CU_ASSERT_EQUAL(count_entries(base), 0);

    /* new: created with its parents; the lock file names this process */
    CU_ASSERT_FATAL(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == 0);
    CU_ASSERT(o.lock_fd >= 0);
    char lock[512], want[64];
    snprintf(lock, sizeof lock, "%s/" MNET_OUTDIR_LOCK, dir);
    long len;
    char *text = mnet_read_file(lock, &len);
    CU_ASSERT_FATAL(text != NULL);
    snprintf(want, sizeof want, "pid %ld\nhost ", (long)getpid());
    CU_ASSERT(strncmp(text, want, strlen(want)) == 0);
    CU_ASSERT(contains(text, "\nsince "));
    free(text);
    mnet_outdir_close(&o);
    CU_ASSERT_EQUAL(o.lock_fd, -1);
    mnet_outdir_close(&o);                        /* twice: nothing */
    text = mnet_read_file(lock, &len);            /* emptied: no stale name */
    CU_ASSERT(text && len == 0);
    free(text);

    /* an empty directory (or one with other files) is not a run */
    touch(dir, "notes.txt");
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == 0);
    mnet_outdir_close(&o);
    /* resume without a checkpoint */
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_RESUME, err, sizeof err) == -1);
    CU_ASSERT(contains(err, "holds no run"));

    /* a log or a checkpoint makes it a run: refused without force */
    const char *runs[] = {"log.csv", "checkpoint.mnetckpt"};
    for (int i = 0; i < 2; i++) {
        touch(dir, runs[i]);
        CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == -1);
        CU_ASSERT(contains(err, "already holds a run"));
        CU_ASSERT(contains(err, runs[i]));
        CU_ASSERT(contains(err, "--resume"));
        CU_ASSERT(contains(err, "--force"));
        CU_ASSERT(o.lock_fd == -1);
    }
    CU_ASSERT(present(dir, "log.csv") && present(dir, "checkpoint.mnetckpt"));

    /* resume with the checkpoint: nothing removed */
    touch(dir, "weights.safetensors");
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_RESUME, err, sizeof err) == 0);
    mnet_outdir_close(&o);
    CU_ASSERT(present(dir, "log.csv") && present(dir, "checkpoint.mnetckpt"));

    /* force: the old run's files go, other files stay */
    touch(dir, "validation.csv");
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_FORCE, err, sizeof err) == 0);
    CU_ASSERT(!present(dir, "log.csv") && !present(dir, "checkpoint.mnetckpt"));
    CU_ASSERT(!present(dir, "weights.safetensors") && !present(dir, "validation.csv"));
    CU_ASSERT(present(dir, "notes.txt"));
    mnet_outdir_close(&o);

    /* a file where the directory should be */
    snprintf(dir, sizeof dir, "%s/x/y/run/notes.txt", base);
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == -1);
    CU_ASSERT(contains(err, "not a directory"));
    snprintf(dir, sizeof dir, "%s/x/y/run/notes.txt/deeper", base);
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == -1);
    CU_ASSERT(contains(err, "cannot create output directory"));
    CU_ASSERT(mnet_outdir_open(&o, base, 7, err, sizeof err) == -1);
    remove_tree(base);
}

/* ---- the lock ---- */

/* In a child: opens dir and reports through its exit status: 0 refused
 * naming pid `holder` (holder > 0), 1 opened, 2 refused otherwise. */
static int child_open(const char *dir, long holder)
{
    pid_t pid = fork();
    if (pid == 0) {
        mnet_outdir o = MNET_OUTDIR_INIT;
        char err[512], want[64];
        if (mnet_outdir_open(&o, dir, MNET_OUTDIR_FORCE, err, sizeof err) == 0) {
            mnet_outdir_close(&o);
            _exit(1);
        }
        snprintf(want, sizeof want, "in use by pid %ld on ", holder);
        if (!strstr(err, want))
            fprintf(stderr, "\n  child: '%s'\n", err);
        _exit(strstr(err, want) ? 0 : 2);
    }
    int st = -1;
    CU_ASSERT_FATAL(pid > 0 && waitpid(pid, &st, 0) == pid);
    CU_ASSERT_FATAL(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_lock_between_processes(void)
{
    make_base();
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/run", base);
    mnet_outdir o = MNET_OUTDIR_INIT;
    CU_ASSERT_FATAL(mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) == 0);
    /* a second process is refused, and told who holds the directory */
    CU_ASSERT_EQUAL(child_open(dir, (long)getpid()), 0);
#ifdef F_OFD_SETLK
    /* the lock belongs to the open file: a second open in this process is
     * refused too, and does not disturb the first */
    mnet_outdir o2 = MNET_OUTDIR_INIT;
    CU_ASSERT(mnet_outdir_open(&o2, dir, MNET_OUTDIR_FORCE, err, sizeof err) == -1);
    CU_ASSERT(contains(err, "in use by pid"));
    CU_ASSERT_EQUAL(child_open(dir, (long)getpid()), 0);
#endif
    mnet_outdir_close(&o);
    /* released: the next process gets it */
    CU_ASSERT_EQUAL(child_open(dir, 0), 1);

    /* a holder killed with SIGKILL leaves no lock that matters */
    int ready[2];
    CU_ASSERT_FATAL(pipe(ready) == 0);
    pid_t holder = fork();
    CU_ASSERT_FATAL(holder >= 0);
    if (holder == 0) {
        close(ready[0]);
        mnet_outdir h = MNET_OUTDIR_INIT;
        char e[512];
        char ok = mnet_outdir_open(&h, dir, MNET_OUTDIR_FORCE, e, sizeof e) == 0 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    close(ready[1]);
    char ok = 0;
    CU_ASSERT(read(ready[0], &ok, 1) == 1 && ok == 'y');
    close(ready[0]);
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_FORCE, err, sizeof err) == -1);
    char want[64];
    snprintf(want, sizeof want, "in use by pid %ld", (long)holder);
    CU_ASSERT(contains(err, want));
    kill(holder, SIGKILL);
    int st;
    CU_ASSERT(waitpid(holder, &st, 0) == holder && WIFSIGNALED(st));
    char lock[512];
    snprintf(lock, sizeof lock, "%s/" MNET_OUTDIR_LOCK, dir);
    CU_ASSERT(access(lock, F_OK) == 0);           /* the file is left ... */
    CU_ASSERT(mnet_outdir_open(&o, dir, MNET_OUTDIR_FORCE, err, sizeof err) == 0); /* ... no lock */
    mnet_outdir_close(&o);
    remove_tree(base);
}

/* ---- orphaned temporaries ---- */

static void test_temp_cleanup(void)
{
    make_base();
    char dir[256], err[512], p[512];
    snprintf(dir, sizeof dir, "%s/run", base);
    CU_ASSERT_FATAL(mkdir(dir, 0777) == 0);
    touch(dir, "checkpoint.mnetckpt");
    /* the temporaries a killed save leaves: made as io_atomic.c makes them */
    const char *atomic[] = {"checkpoint.mnetckpt", "weights.safetensors", "validation.csv"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s.tmp.XXXXXX", dir, atomic[i]);
        int fd = mkstemp(p);
        CU_ASSERT_FATAL(fd >= 0);
        close(fd);
        CU_ASSERT(mnet_atomic_is_temp_of(strrchr(p, '/') + 1, atomic[i]));
    }
    /* names that only look like them, and a directory: kept */
    const char *keep[] = {"checkpoint.mnetckpt.tmp.AB", "checkpoint.mnetckpt.tmp.ABCDEFG",
                          "notes.csv.tmp.abcdef", "checkpoint.mnetckpt.tmp.ab-def", "log.csv.tmp.abcdef"};
    for (int i = 0; i < 5; i++) {
        touch(dir, keep[i]);
        CU_ASSERT(!mnet_atomic_is_temp_of(keep[i], "checkpoint.mnetckpt"));
    }
    snprintf(p, sizeof p, "%s/validation.csv.tmp.qwerty", dir);
    CU_ASSERT_FATAL(mkdir(p, 0777) == 0);
    CU_ASSERT_EQUAL(count_entries(dir), 1 + 3 + 5 + 1);

    mnet_outdir o = MNET_OUTDIR_INIT;
    CU_ASSERT_FATAL(mnet_outdir_open(&o, dir, MNET_OUTDIR_RESUME, err, sizeof err) == 0);
    CU_ASSERT_EQUAL(o.n_removed, 3);
    mnet_outdir_close(&o);
    for (int i = 0; i < 5; i++)
        CU_ASSERT(present(dir, keep[i]));
    CU_ASSERT(present(dir, "validation.csv.tmp.qwerty"));
    CU_ASSERT(present(dir, "checkpoint.mnetckpt"));
    CU_ASSERT_EQUAL(count_entries(dir), 1 + 5 + 1 + 1);   /* and the lock file */
    remove_tree(base);
}

/* ---- a file size limit ---- */

/* A child opens an output directory (which ignores SIGXFSZ), limits files
 * to 300 bytes and logs rows until one fails.  Exit status: 0 the write
 * failed with EFBIG's message after some rows; 1.. something else. */
static void test_log_past_file_size_limit(void)
{
    make_base();
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/run", base);
    snprintf(path, sizeof path, "%s/log.csv", dir);
    const char *terms[] = {"position_l1"};
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        mnet_outdir o = MNET_OUTDIR_INIT;
        mnet_trainlog lg;
        char err[512];
        if (mnet_outdir_open(&o, dir, MNET_OUTDIR_NEW, err, sizeof err) != 0)
            _exit(1);
        struct rlimit rl = {300, 300};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(2);
        if (mnet_trainlog_open(&lg, path, 1, terms, -1, err, sizeof err) != 0)
            _exit(3);
        double t = 0.123456789;
        long b = 0;
        while (b < 1000 && mnet_trainlog_write(&lg, b, 0.987654321, &t, 1.5, 1e-3, 12.5) == 0)
            b++;
        int good = b > 2 && b < 1000 && strstr(lg.err, strerror(EFBIG)) && strstr(lg.err, "log.csv") &&
                   strstr(lg.err, "ulimit");
        if (!good)
            fprintf(stderr, "\n  child: %ld rows, '%s'\n", b, lg.err);
        /* no row after a failure */
        if (mnet_trainlog_write(&lg, b, 1, &t, 1, 1, 1) == 0)
            good = 0;
        mnet_trainlog_close(&lg, err, sizeof err);
        mnet_outdir_close(&o);
        _exit(good ? 0 : 4);
    }
    int st = -1;
    CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
    CU_ASSERT(WIFEXITED(st));                    /* not killed by SIGXFSZ */
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* the log holds whole rows only: the partial one was cut off */
    long len;
    char *s = mnet_read_file(path, &len);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(len > 0 && len <= 300 && s[len - 1] == '\n');
    int lines = 0;
    for (char *line = s; *line; lines++) {
        char *end = strchr(line, '\n');
        CU_ASSERT_FATAL(end != NULL);
        int commas = 0;
        for (char *c = line; c < end; c++)
            commas += *c == ',';
        CU_ASSERT_EQUAL(commas, 5);               /* batch,loss,position_l1,grad_norm,lr,ms */
        line = end + 1;
    }
    CU_ASSERT(lines >= 3);
    free(s);
    remove_tree(base);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"paths past PATH_MAX / NAME_MAX refused, nothing created", test_path_too_long},
        {"creation; new, resume and force", test_modes},
        {"the lock between processes, and after kill -9", test_lock_between_processes},
        {"orphaned temporaries removed, look-alikes kept", test_temp_cleanup},
        {"a log past ulimit -f: EFBIG reported, whole rows kept", test_log_past_file_size_limit},
        {NULL, NULL},
    };
    return mnet_test_main("outdir", tests);
}
