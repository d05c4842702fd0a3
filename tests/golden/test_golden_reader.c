/* test_golden_reader.c - the golden-file reader (tests/support/golden.c).
 *
 * Every file in the golden directory is loaded and checked against facts read
 * independently of the reader (the raw text scanned with sscanf, and values
 * copied from the files by hand); malformed files written to /tmp must be
 * refused with a message that names the file and the offending line. */
#include "golden.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

/* Loads NAME.golden from the golden directory; prints the error on failure. */
static golden_case *load_named(const char *name)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s.golden", golden_dir(), name);
    golden_case *c = golden_load(path, err, sizeof err);
    if (!c)
        fprintf(stderr, "\n    %s\n", err);
    return c;
}

static int dims_are(const golden_array *a, int ndim, const int *dims)
{
    if (!a || a->ndim != ndim)
        return 0;
    for (int i = 0; i < ndim; i++)
        if (a->dims[i] != dims[i])
            return 0;
    return 1;
}

/* Number of comma-separated items in s. */
static int count_items(const char *s)
{
    int n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

/* ---------------------------------------------------------------- all files */

/* Checks one loaded case against its raw text, scanned without the reader:
 * the "array" headers, the number of lines, the first and last number of
 * every array. */
static void check_against_text(const golden_case *c)
{
    long len = 0;
    char *text = mnet_read_file(c->path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int nlines = 0, narrays = 0, nmeta = 0;
    long rows = 0;
    char *line = text;
    while (*line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        nlines++;
        if (strncmp(line, "meta ", 5) == 0)
            nmeta++;
        if (strncmp(line, "array ", 6) == 0) {
            const golden_array *a = narrays < c->n_arrays ? &c->arrays[narrays] : NULL;
            narrays++;
            CU_ASSERT_PTR_NOT_NULL_FATAL(a);
            char name[128];
            int d[9], off = 0, nd = 0;
            CU_ASSERT_FATAL(sscanf(line + 6, "%127s%n", name, &off) == 1);
            CU_ASSERT_STRING_EQUAL(a->name, name);
            CU_ASSERT_EQUAL(a->line, nlines);
            for (int used; nd < 9 && sscanf(line + 6 + off, "%d%n", &d[nd], &used) == 1;
                 off += used)
                nd++;
            CU_ASSERT(dims_are(a, nd, d));
            long nr = 1;
            for (int i = 0; i + 1 < nd; i++)
                nr *= d[i];
            rows += nr;
            /* first number of the array: first token of the next line */
            double first;
            CU_ASSERT_FATAL(nl != NULL && sscanf(nl + 1, "%lf", &first) == 1);
            CU_ASSERT(memcmp(&first, &a->data[0], sizeof first) == 0 ||
                      (isnan(first) && isnan(a->data[0])));
            /* last number: last token of the array's last row */
            char *p = nl + 1;
            for (long i = 0; i + 1 < nr; i++)
                p = strchr(p, '\n') + 1;
            char *e = strchr(p, '\n');
            char *q = e ? e : p + strlen(p);
            while (q > p && q[-1] != ' ')
                q--;
            double last;
            CU_ASSERT_FATAL(sscanf(q, "%lf", &last) == 1);
            CU_ASSERT(memcmp(&last, &a->data[a->count - 1], sizeof last) == 0 ||
                      (isnan(last) && isnan(a->data[a->count - 1])));
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    CU_ASSERT_EQUAL(narrays, c->n_arrays);
    CU_ASSERT_EQUAL(nmeta, c->n_meta);
    CU_ASSERT_EQUAL(nlines, 1 + nmeta + narrays + rows); /* no blank lines in these files */
    free(text);
}

/* Shapes that the README promises, from the case's own meta. */
static void check_shapes(const golden_case *c)
{
    int B = golden_meta_int(c, "batch", -1), T = golden_meta_int(c, "steps", -1);
    CU_ASSERT(B > 0 && T > 0);
    CU_ASSERT(golden_meta_double(c, "dt", -1) > 0);
    if (golden_meta(c, "obs_dim")) { /* observation stream (env_reach_delays) */
        int obs = golden_meta_int(c, "obs_dim", -1);
        CU_ASSERT(dims_are(golden_array_get(c, "initial_joint"), 2, (int[]){B, 4}));
        CU_ASSERT(dims_are(golden_array_get(c, "goal"), 2, (int[]){B, 2}));
        CU_ASSERT(dims_are(golden_array_get(c, "actions"), 3, (int[]){T, B, 6}));
        CU_ASSERT(dims_are(golden_array_get(c, "obs"), 3, (int[]){T + 1, B, obs}));
        CU_ASSERT(dims_are(golden_array_get(c, "fingertip"), 3, (int[]){T + 1, B, 2}));
        return;
    }
    int dof = golden_meta_int(c, "dof", -1), sd = golden_meta_int(c, "space_dim", -1);
    int M = golden_meta_int(c, "n_muscles", -1);
    CU_ASSERT(dof > 0 && sd > 0 && M > 0);
    CU_ASSERT(golden_meta_int(c, "n_ministeps", -1) >= 1);
    const char *integ = golden_meta(c, "integration");
    CU_ASSERT(integ && (strcmp(integ, "euler") == 0 || strcmp(integ, "rk4") == 0));
    const char *states = golden_meta(c, "muscle_states"), *names = golden_meta(c, "muscle_names");
    CU_ASSERT_PTR_NOT_NULL_FATAL(states);
    CU_ASSERT_PTR_NOT_NULL_FATAL(names);
    int rows = count_items(states);
    CU_ASSERT_EQUAL(count_items(names), M);
    CU_ASSERT(dims_are(golden_array_get(c, "max_isometric_force"), 1, (int[]){M}));
    CU_ASSERT(dims_are(golden_array_get(c, "pos_lower_bound"), 1, (int[]){dof}));
    CU_ASSERT(dims_are(golden_array_get(c, "pos_upper_bound"), 1, (int[]){dof}));
    CU_ASSERT(dims_are(golden_array_get(c, "endpoint_load"), 1, (int[]){sd}));
    CU_ASSERT(dims_are(golden_array_get(c, "joint_load"), 1, (int[]){dof}));
    CU_ASSERT(dims_are(golden_array_get(c, "initial_joint"), 2, (int[]){B, 2 * dof}));
    CU_ASSERT(dims_are(golden_array_get(c, "actions"), 3, (int[]){T, B, M}));
    CU_ASSERT(dims_are(golden_array_get(c, "joint"), 3, (int[]){T + 1, B, 2 * dof}));
    CU_ASSERT(dims_are(golden_array_get(c, "cartesian"), 3, (int[]){T + 1, B, 2 * sd}));
    CU_ASSERT(dims_are(golden_array_get(c, "muscle"), 4, (int[]){T + 1, B, rows, M}));
    CU_ASSERT(dims_are(golden_array_get(c, "geometry"), 4, (int[]){T + 1, B, 2 + dof, M}));
    CU_ASSERT(dims_are(golden_array_get(c, "W_cartesian"), 3, (int[]){T, B, 2 * sd}));
    CU_ASSERT(dims_are(golden_array_get(c, "W_force"), 3, (int[]){T, B, M}));
    CU_ASSERT(dims_are(golden_array_get(c, "loss"), 1, (int[]){1}));
    CU_ASSERT(dims_are(golden_array_get(c, "grad_actions"), 3, (int[]){T, B, M}));
    CU_ASSERT(dims_are(golden_array_get(c, "grad_initial_joint"), 2, (int[]){B, 2 * dof}));
    /* the initial joint state is the first row of the trajectory */
    const golden_array *ij = golden_array_get(c, "initial_joint");
    const golden_array *j = golden_array_get(c, "joint");
    CU_ASSERT(ij && j && memcmp(ij->data, j->data, (size_t)ij->count * sizeof(double)) == 0);
}

static void test_load_all(void)
{
    const char *dir = golden_dir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char err[512];
    int n = 0;
    char **paths = golden_list(dir, &n, err, sizeof err);
    if (!paths)
        fprintf(stderr, "\n    %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(paths);
    CU_ASSERT(n >= 10);
    for (int i = 0; i < n; i++) {
        golden_case *c = golden_load(paths[i], err, sizeof err);
        if (!c)
            fprintf(stderr, "\n    %s\n", err);
        CU_ASSERT_PTR_NOT_NULL(c);
        if (!c)
            continue;
        CU_ASSERT_STRING_EQUAL(c->path, paths[i]);
        /* meta case is the file's base name */
        const char *base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
        const char *name = golden_meta(c, "case");
        CU_ASSERT(name && strlen(base) == strlen(name) + 7 &&
                  strncmp(base, name, strlen(name)) == 0);
        CU_ASSERT_PTR_NOT_NULL(golden_meta(c, "description"));
        long total = 0;
        for (int k = 0; k < c->n_arrays; k++) {
            const golden_array *a = &c->arrays[k];
            long prod = 1;
            for (int d = 0; d < a->ndim; d++)
                prod *= a->dims[d];
            CU_ASSERT_EQUAL(a->count, prod);
            CU_ASSERT(golden_array_get(c, a->name) == a);
            for (long e = 0; e < a->count; e++)
                if (!isfinite(a->data[e])) {
                    CU_FAIL("non-finite value in a golden file");
                    break;
                }
            total += a->count;
        }
        check_against_text(c);
        check_shapes(c);
        printf("\n    %-28s %2d meta %2d arrays %7ld numbers", name ? name : "?", c->n_meta,
               c->n_arrays, total);
        golden_free(c);
    }
    golden_free_list(paths);
}

/* Values copied by hand from arm26_rigid_euler.golden. */
static void test_known_values(void)
{
    golden_case *c = load_named("arm26_rigid_euler");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const golden_array *f = golden_array_get(c, "max_isometric_force");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const double fmax[6] = {838, 1207, 1422, 1549, 414, 603};
    CU_ASSERT_EQUAL_FATAL(f->count, 6);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(f->data[i], fmax[i]);
    const golden_array *ij = golden_array_get(c, "initial_joint");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ij);
    CU_ASSERT_EQUAL(ij->data[0], 1.2489115572984515);
    CU_ASSERT_EQUAL(ij->data[1], 1.5218978870206143);
    CU_ASSERT(ij->data[3] == 0 && signbit(ij->data[3]));  /* written "-0" */
    CU_ASSERT(ij->data[2] == 0 && !signbit(ij->data[2]));
    CU_ASSERT_EQUAL(ij->data[4], 0.73234078267734637);
    const golden_array *loss = golden_array_get(c, "loss");
    CU_ASSERT(loss && loss->count == 1 && loss->data[0] == -13.487037537668625);
    const golden_array *ub = golden_array_get(c, "pos_upper_bound");
    CU_ASSERT(ub && ub->data[0] == 2.3561944901923448 && ub->data[1] == 2.7052603405912108);

    CU_ASSERT_EQUAL(c->n_meta, 16);
    CU_ASSERT_EQUAL(c->n_arrays, 16);
    CU_ASSERT_STRING_EQUAL(c->meta_keys[0], "case");
    CU_ASSERT_STRING_EQUAL(golden_meta(c, "description"),
                           "RigidTendonArm26 with the rigid-tendon Hill muscle of Kistemaker et "
                           "al. 2010, euler, dt 0.01");
    CU_ASSERT_STRING_EQUAL(golden_meta(c, "muscle_names"),
                           "pectoralis,deltoid,brachioradialis,tricepslat,biceps,tricepslong");
    CU_ASSERT_EQUAL(golden_meta_int(c, "batch", -1), 3);
    CU_ASSERT_EQUAL(golden_meta_int(c, "steps", -1), 100);
    CU_ASSERT_EQUAL(golden_meta_double(c, "dt", -1), 0.01);
    CU_ASSERT_EQUAL(golden_meta_double(c, "damping", -1), 0);
    /* absent keys and non-numbers give the default */
    CU_ASSERT_PTR_NULL(golden_meta(c, "no_such_key"));
    CU_ASSERT_EQUAL(golden_meta_int(c, "no_such_key", 42), 42);
    CU_ASSERT_EQUAL(golden_meta_double(c, "no_such_key", 2.5), 2.5);
    CU_ASSERT_EQUAL(golden_meta_int(c, "integration", 7), 7);
    CU_ASSERT_EQUAL(golden_meta_int(c, "dt", 7), 7); /* "0.01" is not an int */
    CU_ASSERT_EQUAL(golden_meta_double(c, "muscle_model", 1.5), 1.5);
    CU_ASSERT_PTR_NULL(golden_array_get(c, "no_such_array"));
    CU_ASSERT_PTR_NULL(golden_array_get(NULL, "joint"));
    CU_ASSERT_PTR_NULL(golden_meta(NULL, "case"));
    golden_free(c);
    golden_free(NULL);
}

/* The largest file (1.8 MB) must load in well under a test's patience. */
static void test_speed(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    golden_case *c = load_named("ct26_rk4");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("\n    ct26_rk4.golden loaded in %.4f s", s);
    CU_ASSERT(s < 0.2);
    const golden_array *m = golden_array_get(c, "muscle");
    CU_ASSERT(dims_are(m, 4, (int[]){501, 2, 7, 6}));
    golden_free(c);
}

static void test_golden_dir(void)
{
    const char *old = getenv("MNET_GOLDEN_DIR");
    char *saved = old ? strdup(old) : NULL;
    CU_ASSERT_FATAL(setenv("MNET_GOLDEN_DIR", "/some/where", 1) == 0);
    CU_ASSERT_STRING_EQUAL(golden_dir(), "/some/where");
    CU_ASSERT_FATAL(setenv("MNET_GOLDEN_DIR", "", 1) == 0);
    CU_ASSERT_STRING_EQUAL(golden_dir(), MNET_GOLDEN_DIR);
    CU_ASSERT_FATAL(unsetenv("MNET_GOLDEN_DIR") == 0);
    CU_ASSERT_STRING_EQUAL(golden_dir(), MNET_GOLDEN_DIR);
    if (saved)
        CU_ASSERT(setenv("MNET_GOLDEN_DIR", saved, 1) == 0);
    free(saved);

    char err[256];
    int n = -1;
    CU_ASSERT_PTR_NULL(golden_list("/nonexistent/mnet-golden-dir", &n, err, sizeof err));
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/mnet-golden-dir: "));
}

/* ---------------------------------------------------------------- malformed files */

/* Writes text to a fresh file under /tmp; path receives its name. */
static void write_temp(char path[64], const char *text, size_t len)
{
    strcpy(path, "/tmp/mnet_golden_XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, len) == (ssize_t)len);
    CU_ASSERT_FATAL(close(fd) == 0);
}

/* Loads text from a temp file and expects a refusal that starts with
 * "PATH:LINE: " and contains word. */
static void expect_error_n(const char *text, size_t len, int line, const char *word)
{
    char path[64], err[512], want[96];
    write_temp(path, text, len);
    golden_case *c = golden_load(path, err, sizeof err);
    CU_ASSERT_PTR_NULL(c);
    golden_free(c);
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    int ok = strncmp(err, want, strlen(want)) == 0 && strstr(err, word) != NULL &&
             strchr(err, '(') != NULL; /* every message carries a hint */
    if (!ok)
        fprintf(stderr, "\n    expected '%s...%s...(hint)', got '%s'\n", want, word, err);
    CU_ASSERT(ok);
    remove(path);
}

static void expect_error(const char *text, int line, const char *word)
{
    expect_error_n(text, strlen(text), line, word);
}

static void test_bad_header(void)
{
    expect_error("", 1, "empty file");
    expect_error("hello world\n", 1, "not a golden file");
    expect_error("\n", 1, "not a golden file");
    expect_error("mnet-golden 2\narray a 1\n1\n", 1, "version '2'");
    expect_error("mnet-golden\narray a 1\n1\n", 1, "version");
    expect_error("mnet-golden 1 extra\narray a 1\n1\n", 1, "version");
    expect_error("mnet-golden 1\n", 2, "no array");
    expect_error("mnet-golden 1\nmeta case x\n", 3, "no array");
    expect_error("mnet-golden 1\nmeta\narray a 1\n1\n", 2, "key and a value");
    expect_error("mnet-golden 1\nmeta lonely   \narray a 1\n1\n", 2, "key and a value");
    expect_error("mnet-golden 1\nmeta k 1\nmeta k 2\narray a 1\n1\n", 3, "duplicate meta key 'k'");
    expect_error("mnet-golden 1\narray a 1\n1\nbogus line\n", 4, "unknown line 'bogus'");
    static const char nul[] = "mnet-golden 1\narray a 2\n1 \0 2\n";
    expect_error_n(nul, sizeof nul - 1, 3, "NUL byte");
}

static void test_bad_dims(void)
{
    expect_error("mnet-golden 1\narray\n", 2, "no name");
    expect_error("mnet-golden 1\narray a\n1\n", 2, "no dimensions");
    expect_error("mnet-golden 1\narray a -3 2\n1 2\n", 2, "'-3'");
    expect_error("mnet-golden 1\narray a 0 2\n", 2, "at least 1");
    expect_error("mnet-golden 1\narray a 2.5\n1 2\n", 2, "not an integer");
    expect_error("mnet-golden 1\narray a 2x\n1 2\n", 2, "not an integer");
    expect_error("mnet-golden 1\narray a 99999999999999999999\n1\n", 2, "absurdly large");
    expect_error("mnet-golden 1\narray a 100000 100000 100000\n1\n", 2, "absurdly large");
    expect_error("mnet-golden 1\narray a 2147483647 2147483647 2147483647 2147483647\n1\n", 2,
                 "absurdly large");
    expect_error("mnet-golden 1\narray a 1 1 1 1 1 1 1 1 1\n1\n", 2, "more than 8 dimensions");
    expect_error("mnet-golden 1\narray a 1\n1\narray a 1\n2\n", 4, "duplicate array 'a'");
    /* a large but possible count with little data behind it: reported at the
     * end of the file, without allocating the declared size */
    expect_error("mnet-golden 1\narray a 50000000 2\n1 2\n", 4, "1 of 50000000 rows");
}

static void test_bad_rows(void)
{
    /* truncated at a row boundary, in the middle of a row, inside a number */
    expect_error("mnet-golden 1\narray a 3 2\n1 2\n3 4\n", 5, "unexpected end of file");
    expect_error("mnet-golden 1\narray a 3 2\n1 2\n3 4", 4, "2 of 3 rows");
    expect_error("mnet-golden 1\narray a 3 2\n1 2\n3", 4, "too few numbers: 1, expected 2");
    expect_error("mnet-golden 1\nmeta x y\narray a 3 2\n1 2\n3 4\n5 6\narray b 2 2\n1 2\n",
                 9, "array 'b' declared at line 7 has 1 of 2 rows");
    expect_error("mnet-golden 1\narray a 2 2\n1 2\n\n", 4, "too few numbers: 0");
    expect_error("mnet-golden 1\narray a 2 2\n1 2\n3 x4\n", 4, "'x4' is not a number");
    expect_error("mnet-golden 1\narray a 2 2\n1 2\n3 4x\n", 4, "column 3: '4x'");
    expect_error("mnet-golden 1\narray a 2 2\n1 2\n1.5.3 4\n", 4, "'1.5.3'");
    expect_error("mnet-golden 1\narray a 2 2\n1 2\n3 1e999\n", 4, "out of range");
    expect_error("mnet-golden 1\narray a 2 2\n1 2 3\n3 4\n", 3, "too many numbers: 3, expected 2");
    expect_error("mnet-golden 1\narray a 1 2\n1 2\n3 4\n", 4, "numbers after the last row");
    expect_error("mnet-golden 1\narray a 1 2\n1 2\nnan 4\n", 4, "numbers after the last row");
    expect_error("mnet-golden 1\narray a 2 2\n1 2\n-\n", 4, "'-' is not a number");
}

/* Files the reader must accept although the golden files do not exercise it. */
static void test_accepted(void)
{
    const char text[] = "mnet-golden 1\r\n"
                        "meta  key   spaced value  \t\r\n"
                        "\r\n"
                        "array special 2 3\r\n"
                        "nan inf -inf\r\n"
                        "\t-0   1e-3 -2.5E+2\r\n"
                        "meta after 12\n"
                        "array tiny 1 1 1\n"
                        "4.9406564584124654e-324";
    char path[64], err[256];
    write_temp(path, text, strlen(text));
    golden_case *c = golden_load(path, err, sizeof err);
    if (!c)
        fprintf(stderr, "\n    %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(golden_meta(c, "key"), "spaced value");
    CU_ASSERT_EQUAL(golden_meta_int(c, "after", 0), 12);
    const golden_array *a = golden_array_get(c, "special");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT(dims_are(a, 2, (int[]){2, 3}) && a->count == 6 && a->line == 4);
    CU_ASSERT(isnan(a->data[0]));
    CU_ASSERT(isinf(a->data[1]) && a->data[1] > 0);
    CU_ASSERT(isinf(a->data[2]) && a->data[2] < 0);
    CU_ASSERT(a->data[3] == 0 && signbit(a->data[3]));
    CU_ASSERT_EQUAL(a->data[4], 1e-3);
    CU_ASSERT_EQUAL(a->data[5], -250.0);
    const golden_array *t = golden_array_get(c, "tiny");
    CU_ASSERT(t && t->count == 1 && t->data[0] > 0 && t->data[0] < 1e-323); /* subnormal */
    golden_free(c);
    remove(path);

    /* small or missing error buffers */
    char small[8];
    CU_ASSERT_PTR_NULL(golden_load("/nonexistent/x.golden", small, sizeof small));
    CU_ASSERT_EQUAL(strlen(small), sizeof small - 1);
    CU_ASSERT_PTR_NULL(golden_load("/nonexistent/x.golden", NULL, 0));
    CU_ASSERT_PTR_NULL(golden_load("/nonexistent/x.golden", err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/x.golden: cannot open"));
    CU_ASSERT_PTR_NULL(golden_load("/tmp", err, sizeof err)); /* a directory */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/tmp: "));
}

static const mnet_test tests[] = {
    {"load_all", test_load_all},
    {"known_values", test_known_values},
    {"speed", test_speed},
    {"golden_dir", test_golden_dir},
    {"bad_header", test_bad_header},
    {"bad_dims", test_bad_dims},
    {"bad_rows", test_bad_rows},
    {"accepted", test_accepted},
    {NULL, NULL},
};

int main(void)
{
    return mnet_test_main("golden_reader", tests);
}
