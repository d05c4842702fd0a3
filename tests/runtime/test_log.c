/* test_log.c - the training log CSV (contents, flushing, resuming), the
 * progress display (plain lines and the redrawn terminal line, at chosen
 * times), and the validation trajectory CSV. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet_log.h"
#include "test_support.h"

static char path[64];

static void make_path(void)
{
    snprintf(path, sizeof path, "/tmp/mnet_log_XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
}

static char *slurp(const char *p)
{
    long len;
    char *s = mnet_read_file(p, &len);
    CU_ASSERT_FATAL(s != NULL);
    return s;
}

/* What a FILE* holds (rewound and read). */
static char *stream_text(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    CU_ASSERT(fread(s, 1, (size_t)n, f) == (size_t)n);
    return s;
}

static int count_lines(const char *s)
{
    int k = 0;
    for (; *s; s++)
        k += *s == '\n';
    return k;
}

static void check_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n--- got:\n%s--- wanted:\n%s---\n", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* ==== the training log ==== */

static const char *const terms[] = {"position_l1", "hidden_l2"};

static void test_log_contents(void)
{
    make_path();
    mnet_trainlog lg;
    char err[300];
    CU_ASSERT_FATAL(mnet_trainlog_open(&lg, path, 2, terms, -1, err, sizeof err) == 0);
    double t0[2] = {0.25, 1e-7};
    CU_ASSERT(mnet_trainlog_write(&lg, 0, 0.2500001, t0, 3.5, 1e-3, 12.3456) == 0);
    /* every row reaches the file at once (nothing waits in a buffer) */
    char *mid = slurp(path);
    CU_ASSERT_EQUAL(count_lines(mid), 2);
    free(mid);
    double t1[2] = {0.125, NAN};
    CU_ASSERT(mnet_trainlog_write(&lg, 1, NAN, t1, INFINITY, 1e-3, 0.5) == 0);
    CU_ASSERT(mnet_trainlog_close(&lg, err, sizeof err) == 0);
    char *s = slurp(path);
    check_text(s, "batch,loss,position_l1,hidden_l2,grad_norm,lr,ms\n"
                  "0,0.2500001,0.25,1e-07,3.5,0.001,12.346\n"
                  "1,nan,0.125,nan,inf,0.001,0.500\n");
    free(s);
    /* no terms; a name that needs quoting */
    const char *odd[] = {"a,b \"c\""};
    CU_ASSERT_FATAL(mnet_trainlog_open(&lg, path, 1, odd, -1, err, sizeof err) == 0);
    CU_ASSERT(mnet_trainlog_close(&lg, err, sizeof err) == 0);
    s = slurp(path);
    check_text(s, "batch,loss,\"a,b \"\"c\"\"\",grad_norm,lr,ms\n");
    free(s);
    CU_ASSERT_FATAL(mnet_trainlog_open(&lg, path, 0, NULL, -1, err, sizeof err) == 0);
    CU_ASSERT(mnet_trainlog_write(&lg, 7, 1.5, NULL, 0, 0, 0) == 0);
    CU_ASSERT(mnet_trainlog_close(&lg, err, sizeof err) == 0);
    s = slurp(path);
    check_text(s, "batch,loss,grad_norm,lr,ms\n7,1.5,0,0,0.000\n");
    free(s);
    remove(path);
    CU_ASSERT(mnet_trainlog_open(&lg, "/nonexistent-dir/x.csv", 0, NULL, -1, err,
                                 sizeof err) == -1);
    CU_ASSERT(strstr(err, "hint") != NULL);
}

/* A run resumed from the checkpoint of batch 2: rows 2.. (written after it)
 * and the partial line of the crash are cut, new rows follow. */
static void test_log_resume(void)
{
    make_path();
    FILE *f = fopen(path, "w");
    fputs("batch,loss,position_l1,hidden_l2,grad_norm,lr,ms\n"
          "0,1,1,0,1,0.001,1.000\n"
          "1,0.9,0.9,0,1,0.001,1.000\n"
          "2,0.8,0.8,0,1,0.001,1.000\n"
          "3,0.7,0.7,0,1,0.0", f);
    fclose(f);
    mnet_trainlog lg;
    char err[300];
    CU_ASSERT_FATAL(mnet_trainlog_open(&lg, path, 2, terms, 2, err, sizeof err) == 0);
    double t[2] = {0.5, 0};
    CU_ASSERT(mnet_trainlog_write(&lg, 2, 0.5, t, 1, 0.001, 2) == 0);
    CU_ASSERT(mnet_trainlog_close(&lg, err, sizeof err) == 0);
    char *s = slurp(path);
    check_text(s, "batch,loss,position_l1,hidden_l2,grad_norm,lr,ms\n"
                  "0,1,1,0,1,0.001,1.000\n"
                  "1,0.9,0.9,0,1,0.001,1.000\n"
                  "2,0.5,0.5,0,1,0.001,2.000\n");
    free(s);

    /* resuming at batch 10 keeps everything */
    CU_ASSERT_FATAL(mnet_trainlog_open(&lg, path, 2, terms, 10, err, sizeof err) == 0);
    CU_ASSERT(mnet_trainlog_close(&lg, err, sizeof err) == 0);
    s = slurp(path);
    CU_ASSERT_EQUAL(count_lines(s), 4);
    free(s);

    /* other loss terms: refused, the log left alone */
    const char *other[] = {"position_l2"};
    CU_ASSERT(mnet_trainlog_open(&lg, path, 1, other, 1, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "does not match this run") != NULL);
    CU_ASSERT(strstr(err, "position_l2") != NULL);
    s = slurp(path);
    CU_ASSERT_EQUAL(count_lines(s), 4);
    free(s);

    /* a garbled row */
    f = fopen(path, "a");
    fputs("oops\n", f);
    fclose(f);
    CU_ASSERT(mnet_trainlog_open(&lg, path, 2, terms, 100, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "line 5") != NULL);

    /* an empty file and a missing one start a new log */
    f = fopen(path, "w");
    fclose(f);
    CU_ASSERT_FATAL(mnet_trainlog_open(&lg, path, 2, terms, 3, err, sizeof err) == 0);
    CU_ASSERT(mnet_trainlog_write(&lg, 3, 0.5, t, 1, 0.001, 2) == 0);
    CU_ASSERT(mnet_trainlog_close(&lg, err, sizeof err) == 0);
    s = slurp(path);
    check_text(s, "batch,loss,position_l1,hidden_l2,grad_norm,lr,ms\n"
                  "3,0.5,0.5,0,1,0.001,2.000\n");
    free(s);
    remove(path);
    CU_ASSERT_FATAL(mnet_trainlog_open(&lg, path, 2, terms, 3, err, sizeof err) == 0);
    CU_ASSERT(mnet_trainlog_close(&lg, err, sizeof err) == 0);
    s = slurp(path);
    CU_ASSERT_EQUAL(count_lines(s), 1);
    free(s);
    remove(path);
}

/* A full disk (/dev/full): opening fails on the header; a row that cannot
 * be written is an error naming the file, the batch and the reason, and no
 * later row is written. */
static void test_log_write_errors(void)
{
    mnet_trainlog lg;
    char err[600];
    CU_ASSERT(mnet_trainlog_open(&lg, "/dev/full", 2, terms, -1, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "/dev/full") != NULL);
    CU_ASSERT(strstr(err, strerror(ENOSPC)) != NULL);

    make_path();
    CU_ASSERT_FATAL(mnet_trainlog_open(&lg, path, 2, terms, -1, err, sizeof err) == 0);
    double t[2] = {0.5, 0.25};
    CU_ASSERT(mnet_trainlog_write(&lg, 0, 0.75, t, 1, 1e-3, 2) == 0);
    /* the disk fills up under the open log */
    int full = open("/dev/full", O_WRONLY);
    CU_ASSERT_FATAL(full >= 0);
    CU_ASSERT_FATAL(dup2(full, fileno(lg.f)) >= 0);
    close(full);
    CU_ASSERT(mnet_trainlog_write(&lg, 1, 0.75, t, 1, 1e-3, 2) == -1);
    CU_ASSERT(strstr(lg.err, "batch 1") != NULL);
    CU_ASSERT(strstr(lg.err, strerror(ENOSPC)) != NULL);
    CU_ASSERT(strstr(lg.err, path) != NULL);
    CU_ASSERT(strstr(lg.err, "hint") != NULL);
    /* and stays failed */
    CU_ASSERT(mnet_trainlog_write(&lg, 2, 0.75, t, 1, 1e-3, 2) == -1);
    CU_ASSERT(strstr(lg.err, "batch 1") != NULL);
    CU_ASSERT(mnet_trainlog_close(&lg, err, sizeof err) == 0);  /* reported once, above */
    CU_ASSERT(lg.f == NULL);
    char *s = slurp(path);          /* the file keeps the header and row 0 */
    CU_ASSERT_EQUAL(count_lines(s), 2);
    free(s);
    CU_ASSERT(mnet_trainlog_write(&lg, 3, 0.75, t, 1, 1e-3, 2) == -1);  /* closed */

    /* a row longer than the buffer sized at open: grown, written whole */
    CU_ASSERT_FATAL(mnet_trainlog_open(&lg, path, 1, terms, -1, err, sizeof err) == 0);
    CU_ASSERT(mnet_trainlog_write(&lg, 0, 1, t, 1, 1e-3, 1e250) == 0);
    CU_ASSERT(mnet_trainlog_close(&lg, err, sizeof err) == 0);
    s = slurp(path);
    CU_ASSERT_EQUAL(count_lines(s), 2);
    CU_ASSERT(strlen(s) > 250);
    free(s);
    remove(path);
}

/* ==== progress ==== */

static void test_progress_plain(void)
{
    FILE *f = tmpfile();
    CU_ASSERT_FATAL(f != NULL);
    mnet_progress p;
    mnet_progress_init(&p, f, 0, 25, 0, 0);
    CU_ASSERT_EQUAL(p.tty, 0);
    CU_ASSERT_EQUAL(p.every, 3); /* ceil(25 / 10) */
    /* 10 batches a second; the loss falls */
    for (long b = 0; b < 25; b++)
        mnet_progress_update_at(&p, b, 1.0 / (double)(b + 1), p.t_start + 0.1 * (double)(b + 1));
    mnet_progress_finish(&p);
    char *s = stream_text(f);
    /* batches 3, 6, ..., 24 and the last */
    CU_ASSERT_EQUAL(count_lines(s), 9);
    const char *first = "batch 3/25 (12.0%) loss 0.3333 avg ";
    CU_ASSERT(strncmp(s, first, strlen(first)) == 0);
    CU_ASSERT(strstr(s, " 10.0 batch/s ETA 0:02\n") != NULL);   /* 22 left at 10/s */
    const char *last = strstr(s, "batch 25/25 (100.0%) loss 0.04 avg ");
    CU_ASSERT(last != NULL);
    CU_ASSERT(last && strstr(last, "batch/s ETA 0:00\n") != NULL);
    CU_ASSERT(strchr(s, '\r') == NULL && strchr(s, '\033') == NULL);
    /* avg: the bias-corrected EMA of the losses seen (batch 1: exactly the
     * first loss) */
    double ema = 0, w = 0;
    for (int b = 0; b < 3; b++) {
        ema = 0.98 * ema + 0.02 / (b + 1);
        w = 0.98 * w + 0.02;
    }
    char avg[64];
    snprintf(avg, sizeof avg, "avg %.4g ", ema / w);
    CU_ASSERT(strstr(s, avg) != NULL);
    free(s);
    fclose(f);

    /* resumed at batch 9000 of 10000: a line every 100, rate counts only
     * this process's batches; a skipped batch (nan) does not spoil avg */
    f = tmpfile();
    mnet_progress_init(&p, f, 9000, 10000, 0, 0);
    CU_ASSERT_EQUAL(p.every, 100);
    for (long b = 9000; b < 9200; b++)
        mnet_progress_update_at(&p, b, b == 9050 ? NAN : 2.0,
                                p.t_start + 0.01 * (double)(b - 8999));
    s = stream_text(f);
    CU_ASSERT_EQUAL(count_lines(s), 2);
    CU_ASSERT(strncmp(s, "batch 9100/10000 (91.0%) loss 2 avg 2 100.0 batch/s ETA 0:09\n",
                      60) == 0);
    free(s);
    fclose(f);

    /* a given cadence */
    f = tmpfile();
    mnet_progress_init(&p, f, 0, 1000, 0, 250);
    for (long b = 0; b < 1000; b++)
        mnet_progress_update_at(&p, b, 1, p.t_start + (double)(b + 1));
    s = stream_text(f);
    CU_ASSERT_EQUAL(count_lines(s), 4);
    CU_ASSERT(strncmp(s, "batch 250/1000 (25.0%) loss 1 avg 1 1.0 batch/s ETA 12:30\n", 57) == 0);
    CU_ASSERT(strstr(s, "\nbatch 500/1000 ") && strstr(s, "\nbatch 750/1000 ") &&
              strstr(s, "\nbatch 1000/1000 "));
    free(s);
    fclose(f);
}

static void test_progress_eta_hours(void)
{
    FILE *f = tmpfile();
    mnet_progress p;
    mnet_progress_init(&p, f, 0, 100000, 0, 10);
    mnet_progress_update_at(&p, 9, 1, p.t_start + 10); /* 1 batch/s, 99990 left */
    char *s = stream_text(f);
    CU_ASSERT(strstr(s, "1.0 batch/s ETA 27:46:30\n") != NULL);
    free(s);
    fclose(f);
}

static int count_char(const char *s, char c)
{
    int k = 0;
    for (; *s; s++)
        k += *s == c;
    return k;
}

static void test_progress_tty(void)
{
    FILE *f = tmpfile();
    mnet_progress p;
    mnet_progress_init(&p, f, 0, 100, 1, 0);
    CU_ASSERT_EQUAL(p.tty, 1);
    /* 100 batches in one second: at most ~10 redraws, plus the last */
    for (long b = 0; b < 100; b++)
        mnet_progress_update_at(&p, b, 0.5, p.t_start + 0.01 * (double)(b + 1));
    char *s = stream_text(f);
    int draws = count_char(s, '\r');
    CU_ASSERT(draws >= 10 && draws <= 12);
    CU_ASSERT_EQUAL(count_char(s, '\n'), 0);
    const char *last = strrchr(s, '\r');
    CU_ASSERT(last && strncmp(last, "\r[####################] 100.0% 100/100 loss 0.5 avg 0.5 "
                              "100.0 b/s ETA 0:00\033[K", 75) == 0);
    CU_ASSERT(strstr(s, "\033[K") != NULL);
    free(s);
    mnet_progress_finish(&p);
    s = stream_text(f);
    CU_ASSERT_EQUAL(count_char(s, '\n'), 1);
    CU_ASSERT(s[strlen(s) - 1] == '\n');
    free(s);
    fclose(f);

    /* the first update always draws; a half-done bar */
    f = tmpfile();
    mnet_progress_init(&p, f, 0, 40, 1, 0);
    mnet_progress_update_at(&p, 19, 0.25, p.t_start + 2);
    s = stream_text(f);
    check_text(s, "\r[##########..........]  50.0% 20/40 loss 0.25 avg 0.25 10.0 b/s ETA 0:02"
                  "\033[K");
    free(s);
    fclose(f);
}

/* ==== trajectories ==== */

static void test_traj_csv(void)
{
    enum { E = 2, T = 3, P = 2, M = 2 };
    mnet_real pos[T * P * E], vel[T * P * E], goal[T * P * E], act[T * M * E], frc[T * M * E];
    /* value (t, r, e) = 100 t + 10 r + e (+ a kind offset) */
    for (int t = 0; t < T; t++)
        for (int r = 0; r < P; r++)
            for (int e = 0; e < E; e++) {
                int i = (t * P + r) * E + e;
                pos[i] = (mnet_real)(100 * t + 10 * r + e) / 8; /* exact in float too */
                vel[i] = (mnet_real)(-(100 * t + 10 * r + e));
                goal[i] = (mnet_real)(0.5 + e);
            }
    for (int t = 0; t < T; t++)
        for (int m = 0; m < M; m++)
            for (int e = 0; e < E; e++) {
                int i = (t * M + m) * E + e;
                act[i] = (mnet_real)(0.25 * (m + 1));
                frc[i] = (mnet_real)(100 * t + 10 * m + e);
            }
    const char *names[M] = {"biceps", "tri,ceps"};
    mnet_traj tr = {E, T, P, M, 0.01, pos, vel, goal, act, frc, names};
    FILE *f = tmpfile();
    char err[300];
    CU_ASSERT_FATAL(mnet_traj_write_csv_file(f, &tr, err, sizeof err) == 0);
    char *s = stream_text(f);
    fclose(f);
    check_text(s,
               "episode,step,t,x,y,vx,vy,goal_x,goal_y,act_biceps,\"act_tri,ceps\","
               "force_biceps,\"force_tri,ceps\"\n"
               "0,0,0,0,1.25,0,-10,0.5,0.5,0.25,0.5,0,10\n"
               "0,1,0.01,12.5,13.75,-100,-110,0.5,0.5,0.25,0.5,100,110\n"
               "0,2,0.02,25,26.25,-200,-210,0.5,0.5,0.25,0.5,200,210\n"
               "1,0,0,0.125,1.375,-1,-11,1.5,1.5,0.25,0.5,1,11\n"
               "1,1,0.01,12.625,13.875,-101,-111,1.5,1.5,0.25,0.5,101,111\n"
               "1,2,0.02,25.125,26.375,-201,-211,1.5,1.5,0.25,0.5,201,211\n");
    free(s);

    /* 3-D, no muscle columns, unnamed muscles; to a path, atomically */
    mnet_real p3[1 * 3 * 1] = {1, 2, 3}, v3[3] = {4, 5, 6}, g3[3] = {7, 8, 9}, a3[2] = {0.5, 1};
    mnet_traj t3 = {1, 1, 3, 2, 0.001, p3, v3, g3, a3, NULL, NULL};
    make_path();
    CU_ASSERT_FATAL(mnet_traj_write_csv(path, &t3, err, sizeof err) == 0);
    s = slurp(path);
    check_text(s, "episode,step,t,x,y,z,vx,vy,vz,goal_x,goal_y,goal_z,act_0,act_1\n"
                  "0,0,0,1,2,3,4,5,6,7,8,9,0.5,1\n");
    free(s);
    remove(path);

    t3.pos = NULL;
    CU_ASSERT(mnet_traj_write_csv(path, &t3, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "pos, vel and goal") != NULL);
    CU_ASSERT(access(path, F_OK) != 0);
    t3.pos = p3;
    t3.space_dim = 4;
    CU_ASSERT(mnet_traj_write_csv(path, &t3, err, sizeof err) == -1);
}

/* Trajectories to a full disk: an error with the system's reason. */
static void test_traj_write_errors(void)
{
    mnet_real v[2] = {1, 2};
    mnet_traj tr = {1, 1, 2, 0, 0.01, v, v, v, NULL, NULL, NULL};
    FILE *f = fopen("/dev/full", "w");
    CU_ASSERT_FATAL(f != NULL);
    char err[300];
    CU_ASSERT(mnet_traj_write_csv_file(f, &tr, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, strerror(ENOSPC)) != NULL);
    fclose(f);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"training log: header, rows, flushing, quoting", test_log_contents},
        {"training log: resume cuts rows after the checkpoint", test_log_resume},
        {"training log: a full disk is an error, once", test_log_write_errors},
        {"progress: plain lines", test_progress_plain},
        {"progress: ETA in hours", test_progress_eta_hours},
        {"progress: terminal line, redraw rate", test_progress_tty},
        {"trajectories CSV", test_traj_csv},
        {"trajectories CSV to a full disk", test_traj_write_errors},
        {NULL, NULL},
    };
    return mnet_test_main("log", tests);
}
