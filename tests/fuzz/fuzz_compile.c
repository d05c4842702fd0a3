/* fuzz_compile.c - libFuzzer target: arbitrary bytes as a .mnet file.
 *
 * Runs what `mnetc --check` and `mnetc` run on the input: load (with its
 * imports; the standard library is on the search path), collect, check every
 * definition, lower the effector if there is one; then prints the
 * diagnostics and frees everything.  Besides what AddressSanitizer and
 * UndefinedBehaviorSanitizer catch (and leaks), it aborts when an invariant
 * of the diagnostics breaks:
 *   - every diagnostic has a file, a line and a column;
 *   - a failed lowering has reported an error.
 *
 * Build and run: tests/fuzz/run.sh [SECONDS] (docs/language.md, "Fuzzing"). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "compile.h"
#include "diag.h"
#include "model.h"
#include "program.h"
#include "source.h"

static void require(int ok, const char *what, const mnet_ctx *ctx)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_compile: invariant broken: %s\n", what);
    mnet_print_diags(ctx, stderr);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    mnet_ctx *ctx = mnet_ctx_new();
    if (!ctx)
        return 0;
    mnet_ctx_add_search_dir(ctx, MNET_MODELS_DIR);
    mnet_ctx_add_search_dir(ctx, MNET_MODELS_DIR "/lib");
    mnet_program prog = {0};
    mnet_load_text(ctx, "fuzz.mnet", (const char *)data, (long)size);
    if (ctx->n_errors == 0)
        program_collect(ctx, &prog);
    if (ctx->n_errors == 0)
        check_program(ctx, &prog);
    if (ctx->n_errors == 0) {
        /* as mnetc: the main file's task's effector with its loss terms */
        mnet_effector *eff = lower_main_effector(ctx, &prog, NULL, NULL);
        require(eff || ctx->n_errors > 0, "lowering failed without an error", ctx);
        effector_free(eff);
    }
    for (int i = 0; i < ctx->n_diags; i++) {
        const mnet_diag *d = &ctx->diags[i];
        require(d->loc.file >= 0 && d->loc.file < ctx->n_sources && d->loc.line >= 1 && d->loc.col >= 1,
                "a diagnostic without a position", ctx);
    }
    if (sink)
        mnet_print_diags(ctx, sink);
    program_free(&prog);
    mnet_ctx_free(ctx);
    return 0;
}
