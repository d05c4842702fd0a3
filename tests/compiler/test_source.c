/* test_source.c - reading files and following imports: the nesting limit.
 *
 * A chain of 2,000 imports (f0 imports f1 imports f2 ...) once overflowed the
 * stack in load()/follow_imports().  It must give one positioned error at the
 * import that goes one level too deep, naming the limit; a chain within the
 * limit must still load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "source.h"
#include "test_support.h"

enum { LIMIT = 256 }; /* source.c's MAX_IMPORT_DEPTH */

static char tmp_dir[64];

static void chain_path(char *buf, size_t size, int i)
{
    snprintf(buf, size, "%s/f%d.mnet", tmp_dir, i);
}

/* f0 .. f(n-1); fi imports f(i+1) on its second line, column 8. */
static void write_chain(int n)
{
    strcpy(tmp_dir, "/tmp/mnet_src_XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(tmp_dir) != NULL);
    for (int i = 0; i < n; i++) {
        char path[128];
        chain_path(path, sizeof path, i);
        FILE *f = fopen(path, "w");
        CU_ASSERT_FATAL(f != NULL);
        fprintf(f, "const c%d = %d;\n", i, i);
        if (i + 1 < n)
            fprintf(f, "import \"f%d.mnet\";\n", i + 1);
        fclose(f);
    }
}

static void remove_chain(int n)
{
    for (int i = 0; i < n; i++) {
        char path[128];
        chain_path(path, sizeof path, i);
        remove(path);
    }
    rmdir(tmp_dir);
}

static int n_errors_only(const mnet_ctx *ctx)
{
    int n = 0;
    for (int i = 0; i < ctx->n_diags; i++)
        n += !ctx->diags[i].is_note;
    return n;
}

static void test_chain_too_deep(void)
{
    const int n = 2000;
    write_chain(n);
    mnet_ctx *ctx = mnet_ctx_new();
    CU_ASSERT_FATAL(ctx != NULL);
    char top[128];
    chain_path(top, sizeof top, 0);
    mnet_load_file(ctx, top, mnet_no_loc());
    CU_ASSERT_EQUAL(n_errors_only(ctx), 1);
    CU_ASSERT_FATAL(ctx->n_diags >= 1);
    const mnet_diag *d = &ctx->diags[0];
    /* at the import in f256 of f257, which would be level 257 */
    char want[32];
    snprintf(want, sizeof want, "/f%d.mnet", LIMIT);
    CU_ASSERT_FATAL(d->loc.file >= 0 && d->loc.file < ctx->n_sources);
    const char *path = ctx->sources[d->loc.file].path;
    size_t pl = strlen(path), wl = strlen(want);
    CU_ASSERT(pl >= wl && strcmp(path + pl - wl, want) == 0);
    CU_ASSERT_EQUAL(d->loc.line, 2);
    CU_ASSERT_EQUAL(d->loc.col, 8);
    CU_ASSERT_PTR_NOT_NULL(strstr(d->msg, "nested too deeply"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d->msg, "at most 256 deep"));
    if (ctx->n_diags >= 1 && !strstr(d->msg, "nested too deeply"))
        fprintf(stderr, "\n  %s:%d:%d %s\n", path, d->loc.line, d->loc.col, d->msg);
    /* the files up to the limit are loaded, none past it */
    CU_ASSERT_EQUAL(ctx->n_sources, LIMIT + 1);
    mnet_ctx_free(ctx);
    remove_chain(n);
}

static void test_chain_at_limit(void)
{
    const int n = LIMIT + 1; /* f0 (level 0) .. f256 (level 256) */
    write_chain(n);
    mnet_ctx *ctx = mnet_ctx_new();
    CU_ASSERT_FATAL(ctx != NULL);
    char top[128];
    chain_path(top, sizeof top, 0);
    CU_ASSERT(mnet_load_file(ctx, top, mnet_no_loc()) >= 0);
    CU_ASSERT_EQUAL(ctx->n_errors, 0);
    CU_ASSERT_EQUAL(ctx->n_sources, n);
    mnet_ctx_free(ctx);
    remove_chain(n);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"import chain of 2000 files: positioned error", test_chain_too_deep},
        {"import chain at the limit loads", test_chain_at_limit},
        {NULL, NULL},
    };
    return mnet_test_main("source", tests);
}
