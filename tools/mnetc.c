/* mnetc - the .mnet compiler driver.
 *
 *   mnetc [options] FILE.mnet
 *     --check              check every definition; print all errors
 *     --dump-model         print the resolved effector
 *     --stats              node counts of the generated functions
 *     -o FILE.c            write the standalone C of the effector
 *   At least one of -o, --check, --dump-model, --stats is required.
 *     --precision P        float or double (default double)
 *     --effector NAME      which effector (default: the last one in FILE)
 *     --emit-llvm          write the functions as LLVM IR (-o FILE.ll) instead of C
 *     --check-finite       generated step checks every state for NaN/Inf and
 *                          records the first offending row and batch element
 *                          (mnet_model.first_nonfinite, state_names)
 *     -I DIR               add DIR to the import search path
 *
 * Exit status: 0 success, 1 errors in the input, 2 usage errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

static void usage(FILE *out)
{
    fputs("usage: mnetc [--check | --dump-model | --stats] [-o FILE.c] [--precision float|double]\n"
          "             [--effector NAME] [--check-finite] [--emit-llvm] [-I DIR] FILE.mnet\n",
          out);
}

/* FNV-1a over every loaded source, so a model records what it came from. */
int main(int argc, char **argv)
{
    const char *file = NULL, *output = NULL, *effector = NULL;
    int check = 0, dump = 0, stats = 0, single = 0, check_finite = 0, emit_llvm = 0;
    const char **include = calloc((size_t)argc + 1, sizeof *include);
    int n_include = 0;
    if (!include) {
        fputs("mnetc: out of memory\n", stderr);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--check")) {
            check = 1;
        } else if (!strcmp(a, "--dump-model")) {
            dump = 1;
        } else if (!strcmp(a, "--emit-llvm")) {
            emit_llvm = 1;
        } else if (!strcmp(a, "--check-finite")) {
            check_finite = 1;
        } else if (!strcmp(a, "--stats")) {
            stats = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(include);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--precision") || !strcmp(a, "--effector") ||
                    !strcmp(a, "-I")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "-o"))
                output = v;
            else if (!strcmp(a, "--effector"))
                effector = v;
            else if (!strcmp(a, "-I"))
                include[n_include++] = v;
            else if (!strcmp(v, "float") || !strcmp(v, "double"))
                single = v[0] == 'f';
            else {
                fprintf(stderr, "mnetc: --precision must be float or double, not '%s'\n", v);
                free(include);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "mnetc: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            free(include);
            return 2;
        } else if (file) {
            fprintf(stderr, "mnetc: more than one input file ('%s' and '%s')\n", file, a);
            free(include);
            return 2;
        } else {
            file = a;
        }
    }
    if (!file) {
        usage(stderr);
        free(include);
        return 2;
    }
    if (!output && !check && !dump && !stats) { /* nothing asked for: say what to ask */
        fprintf(stderr, "mnetc: nothing to do for '%s': give -o FILE.c (or -o FILE.ll with --emit-llvm), "
                        "or --check, --dump-model, --stats\n", file);
        usage(stderr);
        free(include);
        return 2;
    }
    /* the one pipeline (compile.h): load, collect, check, the task, lower */
    mnet_compile_options o = {.path = file, .effector = effector, .include = include, .n_include = n_include,
                              .check_all = check, .no_lower = !(dump || stats || output)};
    mnet_compilation *c = mnet_compile_opts(&o, NULL);
    free(include);
    if (!c) {
        fputs("mnetc: out of memory\n", stderr);
        return 2;
    }
    int status = 0;
    const mnet_effector *eff = c->eff;
    if (c->ctx->n_errors == 0 && eff) {
        if (dump)
            mnet_compilation_dump(c, stdout);
        if (stats)
            mnet_compilation_stats(c, stdout);
        if (output) {
            /* the run, for a standalone trainer (mnet_model.task) */
            char *run_text = mnet_compilation_run_text(c);
            mnet_output_options oo = {single, check_finite, emit_llvm, run_text};
            if (mnet_write_output(c, output, file, &oo) != 0) {
                fprintf(stderr, "mnetc: cannot write '%s': %s\n", output, strerror(errno));
                status = 1;
            }
            free(run_text);
        }
    }
    if (c->ctx->n_errors) {
        mnet_print_diags(c->ctx, stderr);
        status = 1;
    }
    mnet_compilation_free(c);
    return status;
}
