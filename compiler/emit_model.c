/* emit_model.c - the standalone C file of a compiled effector. */
#include "emit_model.h"

#include <stdlib.h>
#include <string.h>

extern const char mnet_model_header_text[];

enum { N_FUNCTIONS = EFFECTOR_N_FUNCTIONS };

static const ir_function *functions(const mnet_effector *e, int i)
{
    const ir_function *f[] = {&e->fn_init,       &e->fn_init_vjp, &e->fn_step, &e->fn_step_vjp, &e->fn_sense,
                              &e->fn_sense_vjp, &e->fn_points,   &e->fn_loss, &e->fn_loss_vjp};
    return i < N_FUNCTIONS ? f[i] : NULL;
}

int effector_functions(const mnet_effector *e, const ir_function **fns)
{
    for (int i = 0; fns && i < N_FUNCTIONS; i++)
        fns[i] = functions(e, i);
    return N_FUNCTIONS;
}

/* len characters of s as a C string literal */
static void print_c_chars(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            fputc('\\', out);
        if ((unsigned char)s[i] < 32)
            fprintf(out, "\\%03o", (unsigned char)s[i]);
        else
            fputc(s[i], out);
    }
    fputc('"', out);
}

static void print_c_string(FILE *out, const char *s)
{
    print_c_chars(out, s, strlen(s));
}

static void print_names(FILE *out, const char *var, int n, const char *const *names)
{
    fprintf(out, "static const char *const %s[%d] = {\n", var, n > 0 ? n : 1);
    for (int i = 0; i < n; i++) {
        fputs("    ", out);
        print_c_string(out, names[i]);
        fputs(",\n", out);
    }
    if (n == 0)
        fputs("    \"\",\n", out);
    fputs("};\n", out);
}

static void print_ints(FILE *out, const char *var, int n, const int *v)
{
    fprintf(out, "static const int %s[%d] = {", var, n > 0 ? n : 1);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s%d", i ? "," : "", i % 8 ? " " : "\n    ", v[i]);
    if (n == 0)
        fputs("0", out);
    fputs("\n};\n", out);
}

static void print_doubles(FILE *out, const char *var, int n, const double *v)
{
    fprintf(out, "static const double %s[%d] = {", var, n > 0 ? n : 1);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s%.17g", i ? "," : "", i % 4 ? " " : "\n    ", v[i]);
    if (n == 0)
        fputs("0", out);
    fputs("\n};\n", out);
}

char **effector_state_names(const mnet_effector *e)
{
    char **n = calloc((size_t)e->n_state, sizeof(char *));
    if (!n)
        return NULL;
    int dof = e->n_dof, sp = e->space_dim, M = e->n_muscles;
    char buf[256];
    static const char *const axis[] = {"x", "y", "z"};
    for (int r = 0; r < e->n_state; r++) {
        int k;
        if (r < e->cart_off) {
            k = r - e->joint_off;
            snprintf(buf, sizeof buf, "joint.%s%s", k < dof ? "" : "d", e->joint_names[k % dof]);
        } else if (r < e->muscle_off) {
            k = r - e->cart_off;
            snprintf(buf, sizeof buf, "cartesian.%s%s", k < sp ? "" : "v", axis[k % sp]);
        } else if (r < e->geom_off) {
            k = r - e->muscle_off;
            snprintf(buf, sizeof buf, "muscle.%s.%s", e->model.row_names[k / M], e->muscles[k % M].name);
        } else {
            k = r - e->geom_off;
            int row = k / M;
            if (row < 2)
                snprintf(buf, sizeof buf, "geometry.%s.%s", row ? "v_mt" : "l_mt", e->muscles[k % M].name);
            else
                snprintf(buf, sizeof buf, "geometry.moment_arm_%s.%s", e->joint_names[row - 2],
                         e->muscles[k % M].name);
        }
        n[r] = strdup(buf);
    }
    return n;
}

int effector_muscle_max_force(const mnet_effector *e, int m)
{
    for (int i = 0; i < e->model.n_params; i++)
        if (!strcmp(e->model.param_names[i], "max_force"))
            return e->muscles[m].param_base + i;
    return -1;
}

void effector_free_state_names(const mnet_effector *e, char **names)
{
    for (int r = 0; names && r < e->n_state; r++)
        free(names[r]);
    free(names);
}

int emit_model_c(FILE *out, const mnet_effector *e, const char *source, const char *source_hash,
                 int single_precision)
{
    emit_options opt = {single_precision, 0, NULL};
    return emit_model_c_opts(out, e, source, source_hash, &opt);
}

int emit_model_c_opts(FILE *out, const mnet_effector *e, const char *source, const char *source_hash,
                      const emit_options *opt)
{
    int single_precision = opt->single_precision;
    const char *nm = e->name;
    fprintf(out,
            "/* %s.c - effector '%s', compiled by mnetc from %s.\n"
            " *\n"
            " * Generated code: edit the .mnet source, not this file.  The interface\n"
            " * (mnet_model, batched functions, structure-of-arrays layout) is documented\n"
            " * in runtime/include/mnet_model.h, reproduced below.\n"
            " *\n"
            " * state rows: joint %d, cartesian %d, muscle %d x %d, geometry %d x %d (total %d)\n"
            " * precision: %s; %d step%s of %.17g s, %d ministep%s, %s integration\n"
            " */\n",
            nm, nm, source, 2 * e->n_dof, 2 * e->space_dim, e->model.n_rows, e->n_muscles, 2 + e->n_dof,
            e->n_muscles, e->n_state, single_precision ? "float" : "double", 1, "", e->step, e->n_ministeps,
            e->n_ministeps == 1 ? "" : "s",
            e->integrator == INTEG_EULER ? "euler" : e->integrator == INTEG_RK4 ? "rk4" : "motornet_rk4");
    fputs("#include <math.h>\n\n", out);
    if (single_precision)
        fputs("#ifndef MNET_REAL_FLOAT\n#define MNET_REAL_FLOAT 1\n#endif\n", out);
    fputs(mnet_model_header_text, out);
    fputs("\ntypedef mnet_real real;\n\n", out);
    for (int i = 0; i < N_FUNCTIONS; i++) {
        ir_function f = *functions(e, i);
        char name[256];
        snprintf(name, sizeof name, "mnet_%s_%s%s", nm, f.name,
                 opt->check_finite && functions(e, i) == &e->fn_step ? "_unchecked" : "");
        f.name = name;
        fprintf(out, "/* %s */\nvoid %s(int n, int ld, const real *const *in, real *const *out, const real *params);\n",
                functions(e, i)->name, name);
        if (ir_emit_c(out, e->g, &f, single_precision) != 0)
            return -1;
        fputs("\n", out);
    }
    if (opt->check_finite) {
        fprintf(out,
                "/* --check-finite: step checks every state it writes */\n"
                "static int nonfinite_row = -1, nonfinite_batch = -1;\n\n"
                "int mnet_%s_first_nonfinite(int *row, int *batch);\n"
                "int mnet_%s_first_nonfinite(int *row, int *batch)\n{\n"
                "    if (nonfinite_row < 0)\n        return 0;\n"
                "    *row = nonfinite_row;\n    *batch = nonfinite_batch;\n"
                "    nonfinite_row = nonfinite_batch = -1;\n    return 1;\n}\n\n"
                "void mnet_%s_step(int n, int ld, const real *const *in, real *const *out, const real *params);\n"
                "void mnet_%s_step(int n, int ld, const real *const *in, real *const *out, const real *params)\n{\n"
                "    mnet_%s_step_unchecked(n, ld, in, out, params);\n"
                "    for (int r = 0; r < %d && nonfinite_row < 0; r++)\n"
                "        for (int b = 0; b < n; b++)\n"
                "            if (!isfinite(out[0][r * ld + b])) {\n"
                "                nonfinite_row = r;\n                nonfinite_batch = b;\n                break;\n"
                "            }\n}\n\n",
                nm, nm, nm, nm, nm, e->n_state);
    }
    /* tables */
    char **pnames = malloc((size_t)(e->n_params + 1) * sizeof(char *));
    double *pvals = malloc((size_t)(e->n_params + 1) * sizeof(double));
    char **mnames = malloc((size_t)(e->n_muscles + 1) * sizeof(char *));
    int *mfmax = malloc((size_t)(e->n_muscles + 1) * sizeof(int));
    if (!pnames || !pvals || !mnames || !mfmax) {
        free(pnames);
        free(pvals);
        free(mnames);
        free(mfmax);
        return -1;
    }
    for (int i = 0; i < e->n_params; i++) {
        pnames[i] = e->params[i].name;
        pvals[i] = e->params[i].value;
    }
    for (int m = 0; m < e->n_muscles; m++) {
        mnames[m] = e->muscles[m].name;
        mfmax[m] = effector_muscle_max_force(e, m);
    }
    fprintf(out, "/* parameter table: run-time data, change values without recompiling */\n");
    print_names(out, "param_names", e->n_params, (const char *const *)pnames);
    print_doubles(out, "param_defaults", e->n_params, pvals);
    print_names(out, "muscle_names", e->n_muscles, (const char *const *)mnames);
    fprintf(out, "/* (n_muscles) index of each muscle's max_force in the parameter table, -1: none */\n");
    print_ints(out, "muscle_max_force", e->n_muscles, mfmax);
    print_names(out, "muscle_row_names", e->model.n_rows, e->model.row_names);
    char **snames = effector_state_names(e);
    if (!snames) {
        free(pnames);
        free(pvals);
        free(mnames);
        free(mfmax);
        return -1;
    }
    print_names(out, "state_names", e->n_state, (const char *const *)snames);
    effector_free_state_names(e, snames);
    print_doubles(out, "pos_lower", e->n_dof, e->pos_lo);
    print_doubles(out, "pos_upper", e->n_dof, e->pos_hi);
    print_names(out, "loss_names", e->n_loss, (const char *const *)e->loss_names);
    fprintf(out, "/* (n_points) the body's drawing points, each space_dim rows of points' output */\n");
    print_names(out, "point_names", e->n_points, (const char *const *)e->point_names);
    free(pnames);
    free(pvals);
    free(mnames);
    free(mfmax);
    fprintf(out, "\nconst mnet_model mnet_model_%s = {\n", nm);
    fprintf(out, "    .abi = MNET_MODEL_ABI,\n    .real_size = sizeof(real),\n    .name = ");
    print_c_string(out, nm);
    fprintf(out, ",\n    .source_hash = ");
    print_c_string(out, source_hash ? source_hash : "");
    fprintf(out,
            ",\n    .n_dof = %d, .space_dim = %d, .n_muscles = %d, .n_muscle_rows = %d, .n_state = %d,\n"
            "    .joint_offset = %d, .cartesian_offset = %d, .muscle_offset = %d, .geometry_offset = %d,\n"
            "    .n_load = %d, .n_sense = %d,\n    .step_size = %.17g, .n_ministeps = %d,\n"
            "    .n_params = %d, .param_names = param_names, .param_defaults = param_defaults,\n"
            "    .muscle_names = muscle_names, .muscle_max_force = muscle_max_force,\n"
            "    .muscle_row_names = muscle_row_names,\n"
            "    .pos_lower = pos_lower, .pos_upper = pos_upper, .state_names = state_names,\n",
            e->n_dof, e->space_dim, e->n_muscles, e->model.n_rows, e->n_state, e->joint_off, e->cart_off,
            e->muscle_off, e->geom_off, e->n_load, e->n_sense, e->step, e->n_ministeps, e->n_params);
    for (int i = 0; i < N_FUNCTIONS; i++)
        fprintf(out, "    .%s = mnet_%s_%s,\n", functions(e, i)->name, nm, functions(e, i)->name);
    fprintf(out, "    .n_loss = %d, .loss_names = loss_names,\n", e->n_loss);
    fprintf(out, "    .n_points = %d, .point_names = point_names,\n", e->n_points);
    if (opt->task) {
        /* one C string literal per line of the text */
        fputs("    .task =", out);
        for (const char *p = opt->task; *p;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
            fputs("\n        ", out);
            print_c_chars(out, p, len);
            p += len;
        }
        fputs(",\n", out);
    }
    if (opt->check_finite)
        fprintf(out, "    .first_nonfinite = mnet_%s_first_nonfinite,\n", nm);
    fprintf(out, "};\n\nconst mnet_model *mnet_compiled_model = &mnet_model_%s;\n", nm);
    return ferror(out) ? -1 : 0;
}

void effector_print_stats(const mnet_effector *e, FILE *out)
{
    fprintf(out, "effector %s: %d graph nodes in all\n", e->name, ir_count(e->g));
    for (int i = 0; i < N_FUNCTIONS; i++) {
        const ir_function *f = functions(e, i);
        ir_id *roots = malloc((size_t)(f->n_outputs + 1) * sizeof(ir_id));
        if (!roots)
            return;
        for (int k = 0; k < f->n_outputs; k++)
            roots[k] = f->outputs[k].node;
        fprintf(out, "  %-10s %6d outputs %8d nodes\n", f->name, f->n_outputs,
                ir_count_reachable(e->g, f->n_outputs, roots));
        free(roots);
    }
    fprintf(out, "  backward/forward (step_vjp/step): %.2f\n",
            e->fwd_nodes ? (double)e->bwd_nodes / e->fwd_nodes : 0.0);
}
