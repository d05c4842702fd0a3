/* test_support.h - shared helpers for the CUnit test binaries.
 *
 * Each test binary lists its cases in a NULL-terminated mnet_test array and
 * calls mnet_test_main(); the binary exits non-zero when any assertion fails,
 * so ctest (and CI) fail with it. */
#ifndef MNET_TEST_SUPPORT_H
#define MNET_TEST_SUPPORT_H

#include <CUnit/CUnit.h>

typedef struct {
    const char *name;
    void (*fn)(void);
} mnet_test;

int mnet_test_main(const char *suite, const mnet_test *tests);

/* max |a - b| / max(max |b|, tiny) over n values: the golden README's measure */
double mnet_max_rel_err(const double *a, const double *b, int n);

/* Reads a whole file into a NUL-terminated malloc'd buffer (NULL on error). */
char *mnet_read_file(const char *path, long *len);

#endif
