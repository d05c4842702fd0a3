/* test_library_check.c - every shipped model file passes `mnetc --check`.
 *
 * The directories models/, models/lib/ and examples/ are listed when the test
 * runs, so a file added there is checked without touching this test.  Each
 * file is loaded (with its imports), its definitions collected and every one
 * of them checked, exactly as mnetc --check does; any diagnostic fails the
 * test and is printed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "model.h"
#include "program.h"
#include "source.h"
#include "test_support.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks every .mnet file of SOURCE_DIR/dir; returns how many there were
 * (-1 when the directory does not exist). */
static int check_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", MNET_SOURCE_DIR, dir);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    char **names = NULL;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".mnet"))
            continue;
        char **grown = realloc(names, (size_t)(n + 1) * sizeof *names);
        CU_ASSERT_FATAL(grown != NULL);
        names = grown;
        names[n] = strdup(e->d_name);
        CU_ASSERT_FATAL(names[n] != NULL);
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s/%s", MNET_SOURCE_DIR, dir, names[i]);
        mnet_ctx *ctx = mnet_ctx_new();
        CU_ASSERT_FATAL(ctx != NULL);
        mnet_ctx_add_search_dir(ctx, MNET_SOURCE_DIR "/models");
        mnet_program prog;
        memset(&prog, 0, sizeof prog);
        mnet_load_file(ctx, path, mnet_no_loc());
        if (ctx->n_errors == 0)
            program_collect(ctx, &prog);
        if (ctx->n_errors == 0)
            check_program(ctx, &prog);
        printf("\n    %s/%s: %d definitions, %d errors", dir, names[i], prog.n_defs, ctx->n_errors);
        if (ctx->n_errors) {
            fprintf(stderr, "\n");
            mnet_print_diags(ctx, stderr);
        }
        CU_ASSERT_EQUAL(ctx->n_errors, 0);
        CU_ASSERT_EQUAL(ctx->n_diags, 0);
        program_free(&prog);
        mnet_ctx_free(ctx);
        free(names[i]);
    }
    free(names);
    return n;
}

static void test_models(void)
{
    int n = check_dir("models");
    CU_ASSERT(n >= 1); /* the bundled models are there */
}

static void test_models_lib(void)
{
    int n = check_dir("models/lib");
    CU_ASSERT(n >= 1);
}

static void test_examples(void)
{
    int n = check_dir("examples");
    CU_ASSERT(n >= -1); /* examples/ may be empty or absent */
}

int main(void)
{
    static const mnet_test tests[] = {
        {"models/*.mnet", test_models},
        {"models/lib/*.mnet", test_models_lib},
        {"examples/*.mnet", test_examples},
        {NULL, NULL},
    };
    return mnet_test_main("library check", tests);
}
