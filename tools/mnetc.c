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
#include "diag.h"
#include "mnet_settings.h"
#include "emit_model.h"
#include "ir_llvm.h"
#include "model.h"
#include "program.h"
#include "source.h"

static void usage(FILE *out)
{
    fputs("usage: mnetc [--check | --dump-model | --stats] [-o FILE.c] [--precision float|double]\n"
          "             [--effector NAME] [--check-finite] [--emit-llvm] [-I DIR] FILE.mnet\n",
          out);
}

/* FNV-1a over every loaded source, so a model records what it came from. */
static void source_hash(const mnet_ctx *ctx, char *out)
{
    unsigned long long h = 1469598103934665603ULL;
    for (int i = 0; i < ctx->n_sources; i++)
        for (long k = 0; k < ctx->sources[i].len; k++) {
            h ^= (unsigned char)ctx->sources[i].text[k];
            h *= 1099511628211ULL;
        }
    snprintf(out, 17, "%016llx", h);
}

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

static void add_env_path(mnet_ctx *ctx)
{
    const char *p = getenv("MNET_PATH");
    if (!p)
        return;
    char *copy = strdup(p), *save = NULL;
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
        if (*d)
            mnet_ctx_add_search_dir(ctx, d);
    free(copy);
}

int main(int argc, char **argv)
{
    const char *file = NULL, *output = NULL, *effector = NULL;
    int check = 0, dump = 0, stats = 0, single = 0, check_finite = 0, emit_llvm = 0;
    mnet_ctx *ctx = mnet_ctx_new();
    if (!ctx) {
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
            mnet_ctx_free(ctx);
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
                mnet_ctx_add_search_dir(ctx, v);
            else if (!strcmp(v, "float") || !strcmp(v, "double"))
                single = v[0] == 'f';
            else {
                fprintf(stderr, "mnetc: --precision must be float or double, not '%s'\n", v);
                mnet_ctx_free(ctx);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "mnetc: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            mnet_ctx_free(ctx);
            return 2;
        } else if (file) {
            fprintf(stderr, "mnetc: more than one input file ('%s' and '%s')\n", file, a);
            mnet_ctx_free(ctx);
            return 2;
        } else {
            file = a;
        }
    }
    if (!file) {
        usage(stderr);
        mnet_ctx_free(ctx);
        return 2;
    }
    if (!output && !check && !dump && !stats) { /* nothing asked for: say what to ask */
        fprintf(stderr, "mnetc: nothing to do for '%s': give -o FILE.c (or -o FILE.ll with --emit-llvm), "
                        "or --check, --dump-model, --stats\n", file);
        usage(stderr);
        mnet_ctx_free(ctx);
        return 2;
    }
    add_env_path(ctx);
    mnet_ctx_add_search_dir(ctx, MNET_MODELS_DIR);
    mnet_program prog = {0};
    int status = 0;
    mnet_load_file(ctx, file, mnet_no_loc());
    if (ctx->n_errors == 0)
        program_collect(ctx, &prog);
    if (ctx->n_errors == 0 && check)
        check_program(ctx, &prog);
    if (ctx->n_errors == 0 && (dump || stats || output)) {
        task_spec spec;
        mnet_effector *eff = lower_main_effector(ctx, &prog, effector, &spec);
        if (eff) {
            if (dump)
                effector_dump(eff, stdout);
            if (stats)
                effector_print_stats(eff, stdout);
            if (output) {
                char hash[17];
                source_hash(ctx, hash);
                char tmp[4096];
                snprintf(tmp, sizeof tmp, "%s.tmp", output);
                FILE *f = fopen(tmp, "w");
                if (!f) {
                    fprintf(stderr, "mnetc: cannot write '%s': %s\n", tmp, strerror(errno));
                    status = 1;
                } else {
                    /* the task, for a standalone trainer (mnet_model.task) */
                    char *task_text = run_text(&spec, eff);
                    emit_options opt = {single, check_finite, task_text};
                    int bad;
                    if (emit_llvm) {
                        const ir_function fns[8] = {eff->fn_init,     eff->fn_init_vjp, eff->fn_step,
                                                    eff->fn_step_vjp, eff->fn_sense,    eff->fn_sense_vjp,
                                                    eff->fn_loss,     eff->fn_loss_vjp};
                        bad = ir_emit_llvm_ir(f, eff->g, 8, fns, single) != 0;
                    } else {
                        bad = emit_model_c_opts(f, eff, file, hash, &opt) != 0;
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
            effector_free(eff);
        }
    }
    if (ctx->n_errors) {
        mnet_print_diags(ctx, stderr);
        status = 1;
    }
    program_free(&prog);
    mnet_ctx_free(ctx);
    return status;
}
