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
#include "emit_model.h"
#include "ir_llvm.h"
#include "mnet_settings.h"

static void usage(FILE *out)
{
    fputs("usage: mnetc [--check | --dump-model | --stats] [-o FILE.c] [--precision float|double]\n"
          "             [--effector NAME] [--check-finite] [--emit-llvm] [-I DIR] FILE.mnet\n",
          out);
}

/* FNV-1a over every loaded source, so a model records what it came from. */
/* The run text a standalone trainer reads (mnet_model.task): the task's
 * configuration and the parameter values the effector was compiled with. */
static char *run_text(const task_spec *spec, const mnet_effector *eff)
{
    double *params = calloc((size_t)eff->n_params + 1, sizeof *params);
    const char *names[1] = {NULL};
    mnet_model m = {.name = eff->name, .n_params = eff->n_params, .param_names = names};
    char *text = NULL;
    const char **pn = calloc((size_t)eff->n_params + 1, sizeof *pn);
    if (params && pn) {
        for (int i = 0; i < eff->n_params; i++) {
            params[i] = eff->params[i].value;
            pn[i] = eff->params[i].name;
        }
        m.param_names = pn;
        text = mnet_run_text_alloc(&spec->cfg, &m, params);
    }
    free(params);
    free(pn);
    return text;
}

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
            effector_dump(eff, stdout);
        if (stats)
            effector_print_stats(eff, stdout);
        if (output) {
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s.tmp", output);
            FILE *f = fopen(tmp, "w");
            if (!f) {
                fprintf(stderr, "mnetc: cannot write '%s': %s\n", tmp, strerror(errno));
                status = 1;
            } else {
                /* the run, for a standalone trainer (mnet_model.task) */
                char *task_text = run_text(&c->task, eff);
                emit_options opt = {single, check_finite, task_text};
                int bad;
                if (emit_llvm) {
                    const ir_function *fp[EFFECTOR_N_FUNCTIONS];
                    ir_function fns[EFFECTOR_N_FUNCTIONS];
                    int nf = effector_functions(eff, fp);
                    for (int k = 0; k < nf; k++)
                        fns[k] = *fp[k];
                    bad = ir_emit_llvm_ir(f, eff->g, nf, fns, single) != 0;
                } else {
                    bad = emit_model_c_opts(f, eff, file, c->source_hash, &opt) != 0;
                }
                bad |= fclose(f) != 0;
                free(task_text);
                if (bad || rename(tmp, output) != 0) {
                    fprintf(stderr, "mnetc: cannot write '%s'\n", output);
                    remove(tmp);
                    status = 1;
                }
            }
        }
    }
    if (c->ctx->n_errors) {
        mnet_print_diags(c->ctx, stderr);
        status = 1;
    }
    mnet_compilation_free(c);
    return status;
}
