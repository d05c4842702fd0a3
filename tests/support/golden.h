/* golden.h - reader for the reference golden files (format: shared/golden/README.md).
 *
 * A golden file is text:
 *
 *   mnet-golden 1                      magic and format version, first line
 *   meta KEY VALUE...                  any number; VALUE is the rest of the line
 *   array NAME D1 ... Dk               1 <= k <= GOLDEN_MAX_DIM, every Di >= 1,
 *   x x x ... (Dk numbers)             then D1*...*D(k-1) rows of Dk numbers
 *
 * golden_load() reads a whole file into a golden_case: plain arrays, owned by
 * the case and released by golden_free(). On any error it returns NULL and
 * writes "FILE:LINE: what went wrong (hint)" into the caller's buffer
 * (errors that concern the whole file, such as a file that cannot be opened,
 * read "FILE: what went wrong (hint)"). Nothing is printed, nothing exits.
 *
 * Numbers are parsed with strtod in the C locale: exponents, "-0", "nan",
 * "inf" are accepted; values too large for a double are an error. */
#ifndef MNET_GOLDEN_H
#define MNET_GOLDEN_H

#include <stddef.h>

#define GOLDEN_MAX_DIM 8

typedef struct {
    char *name;                  /* array name, e.g. "joint" */
    int ndim;                    /* number of dimensions, 1..GOLDEN_MAX_DIM */
    int dims[GOLDEN_MAX_DIM];    /* sizes, outermost first (ndim used) */
    long count;                  /* dims[0] * ... * dims[ndim-1] */
    double *data;                /* (count) values, row-major (C order) */
    int line;                    /* line of the "array" header in the file */
} golden_array;

typedef struct {
    char *path;                  /* path the case was loaded from */
    int n_meta;                  /* number of meta entries */
    char **meta_keys;            /* (n_meta) keys, in file order */
    char **meta_values;          /* (n_meta) values, in file order */
    int n_arrays;                /* number of arrays */
    golden_array *arrays;        /* (n_arrays) arrays, in file order */
} golden_case;

/* Loads a golden file; NULL with a message in err (if err && errlen) on error. */
golden_case *golden_load(const char *path, char *err, size_t errlen);

/* Frees a case and everything it owns; NULL is allowed. */
void golden_free(golden_case *c);

/* The value of meta KEY, or NULL if the file has no such entry. */
const char *golden_meta(const golden_case *c, const char *key);

/* meta KEY as an int / a double; dflt when absent or when the whole value is
 * not a number of that kind (e.g. "3x", "", out of range for int). */
int golden_meta_int(const golden_case *c, const char *key, int dflt);
double golden_meta_double(const golden_case *c, const char *key, double dflt);

/* The array called NAME, or NULL if the file has none. */
const golden_array *golden_array_get(const golden_case *c, const char *name);

/* The directory of the golden files: the environment variable MNET_GOLDEN_DIR
 * when set and non-empty, else the compile-time macro MNET_GOLDEN_DIR, else
 * NULL when neither exists. */
const char *golden_dir(void);

/* Lists the paths "DIR/NAME.golden" of the *.golden files in DIR, sorted by
 * name, in a NULL-terminated malloc'd array (*n gets the count when n is not
 * NULL). NULL with a message in err when DIR cannot be read. An empty
 * directory gives an array holding only NULL. Free with golden_free_list(). */
char **golden_list(const char *dir, int *n, char *err, size_t errlen);
void golden_free_list(char **paths);

#endif
