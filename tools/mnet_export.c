/* mnet_export.c - `mnet export`: the trained network (and optionally its
 * plant) as one C file.  See mnet_export.h and docs/export.md.
 *
 * The generated forward pass is runtime/nn_gru.c, nn_rnn.c and
 * nn_policy.c's for one column, with the GEMMs written as dot products:
 *   GRU  gate (3H) = W_ih x;  gate[0 .. 2H) += W_hh[0 .. 2H) h;
 *        c (H) = W_hh[2H .. 3H) h;
 *        r = sig(gate_r + (b_ir + b_hr))   z = sig(gate_z + (b_iz + b_hz))
 *        n = tanh(gate_n + b_in + r * (c + b_hn))   h' = n + z * (h - n)
 *   RNN  a (H) = W_ih x;  a += W_hh h;  h' = tanh(a + (b_ih + b_hh))
 *   MLP  a (H) = W x;  h' = tanh(a + b)
 *   read-out  y = sig(W_o h_top + b_o)
 * with the bias sums, the operand order and the activations of
 * runtime/nn_internal.h (in float its own expf / tanhf, copied here line by
 * line: tests/cli/export.sh checks that the coefficients are the
 * runtime's).  Only the summation order inside a dot product differs from
 * BLAS's, so the outputs agree to rounding. */
#include "mnet_export.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnet_session.h"
#include "mnet_validation.h"

/* ---- the arguments ---- */

typedef struct {
    const char *dir;     /* the run directory                 */
    const char *out;     /* -o FILE.c                         */
    int single;          /* --precision float (the default)   */
    int with_plant;      /* --with-plant                      */
} export_args;

static int usage(FILE *f, int status)
{
    fputs("usage: mnet export DIR -o FILE.c [--precision float|double] [--with-plant]\n", f);
    return status;
}

static int parse_args(export_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->single = 1;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-o") || !strcmp(s, "--out")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "mnet export: %s needs a file name\n", s);
                return -1;
            }
            a->out = argv[++i];
        } else if (!strcmp(s, "--precision")) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            if (!strcmp(v, "float") || !strcmp(v, "single")) {
                a->single = 1;
            } else if (!strcmp(v, "double")) {
                a->single = 0;
            } else {
                fprintf(stderr, "mnet export: --precision takes float or double, not '%s'\n", v);
                return -1;
            }
        } else if (!strcmp(s, "--with-plant")) {
            a->with_plant = 1;
        } else if (s[0] == '-') {
            fprintf(stderr, "mnet export: unknown option '%s'\n", s);
            return -1;
        } else if (!a->dir) {
            a->dir = s;
        } else {
            fprintf(stderr, "mnet export: one run directory, not '%s' and '%s'\n", a->dir, s);
            return -1;
        }
    }
    if (!a->dir || !a->out) {
        fprintf(stderr, "mnet export: %s\n", !a->dir ? "which run? (mnet export DIR -o FILE.c)"
                                                     : "where to? (-o FILE.c)");
        return -1;
    }
    return 0;
}

/* ---- writing numbers ---- */

/* The literal of v in the output's precision, exact: %.9g of a float and
 * %.17g of a double round-trip.  A float literal gets its 'f' (and a '.'
 * when %g printed an integer, "-5" -> "-5.0f"). */
static const char *lit(char *buf, size_t n, double v, int single)
{
    if (single)
        snprintf(buf, n, "%.9g", (double)(float)v);
    else
        snprintf(buf, n, "%.17g", v);
    if (!strpbrk(buf, ".eE"))
        strncat(buf, ".0", n - strlen(buf) - 1);
    if (single)
        strncat(buf, "f", n - strlen(buf) - 1);
    return buf;
}

/* static const T name[count] = {...};  count >= 1 values, 4 or 6 a line. */
static void emit_array(FILE *f, const char *type, const char *name, const char *comment,
                       const mnet_real *v, size_t count, int single)
{
    char b[64];
    fprintf(f, "/* %s */\nstatic const %s %s[%zu] = {", comment, type, name, count);
    const size_t per_line = single ? 6 : 4;
    for (size_t i = 0; i < count; i++)
        fprintf(f, "%s%s%s", i % per_line ? " " : "\n    ", lit(b, sizeof b, (double)v[i], single),
                i + 1 < count ? "," : "");
    fputs("\n};\n\n", f);
}

static int all_finite(const mnet_real *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite((double)v[i]))
            return 0;
    return 1;
}

/* ---- the controller ---- */

static const char *cell_name(mnet_nn_cell c)
{
    return c == MNET_NN_GRU ? "gru" : c == MNET_NN_RNN ? "rnn" : c == MNET_NN_LSTM ? "lstm" : "mlp";
}

/* The activations: runtime/nn_internal.h's, as text (float: Cephes' expf
 * and tanhf in float arithmetic; double: libm's exp and expm1). */
static const char act_float[] =
    "#ifndef MNET_CTRL_LIBM\n"
    "/* e^x for x clamped to [-87.34, 88]: finite, at least FLT_MIN (Cephes'\n"
    " * expf, branch-free, as runtime/nn_internal.h: < 1 ulp). */\n"
    "static float ctrl_expf(float x)\n"
    "{\n"
    "    x = x < -87.33654f ? -87.33654f : x;\n"
    "    x = x > 88.0f ? 88.0f : x;\n"
    "    /* n = round(x / ln 2): adding 1.5 * 2^23 rounds to an integer */\n"
    "    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;\n"
    "    float r = x - n * 0.693359375f; /* Cody-Waite: ln 2 = C1 + C2 */\n"
    "    r = r - n * -2.12194440e-4f;\n"
    "    float p = 1.9875691500e-4f;     /* e^r - 1 - r, |r| <= ln 2 / 2 */\n"
    "    p = p * r + 1.3981999507e-3f;\n"
    "    p = p * r + 8.3334519073e-3f;\n"
    "    p = p * r + 4.1665795894e-2f;\n"
    "    p = p * r + 1.6666665459e-1f;\n"
    "    p = p * r + 5.0000001201e-1f;\n"
    "    p = p * (r * r) + r + 1.0f;\n"
    "    union { uint32_t u; float f; } scale; /* 2^n, -126 <= n <= 127 */\n"
    "    scale.u = (uint32_t)((int32_t)n + 127) << 23;\n"
    "    return p * scale.f;\n"
    "}\n"
    "\n"
    "static float ctrl_sigmoid(float x)\n"
    "{\n"
    "    return 1.0f / (1.0f + ctrl_expf(-x));\n"
    "}\n"
    "\n"
    "/* |x| < 0.625: x + x^3 P(x^2); else sign(x) (1 - 2 / (e^(2|x|) + 1)) */\n"
    "static float ctrl_tanh(float x)\n"
    "{\n"
    "    float a = x < 0 ? -x : x;\n"
    "    float z = x * x;\n"
    "    float p = -5.70498872745e-3f;\n"
    "    p = p * z + 2.06390887954e-2f;\n"
    "    p = p * z - 5.37397155531e-2f;\n"
    "    p = p * z + 1.33314422036e-1f;\n"
    "    p = p * z - 3.33332819422e-1f;\n"
    "    float small = p * z * x + x;\n"
    "    float big = 1.0f - 2.0f / (ctrl_expf(2.0f * a) + 1.0f);\n"
    "    big = x < 0 ? -big : big;\n"
    "    return a < 0.625f ? small : big;\n"
    "}\n"
    "#else\n"
    "/* the C library's expf and tanhf (link with -lm) */\n"
    "static float ctrl_sigmoid(float x)\n"
    "{\n"
    "    return 1.0f / (1.0f + expf(-x));\n"
    "}\n"
    "\n"
    "static float ctrl_tanh(float x)\n"
    "{\n"
    "    return tanhf(x);\n"
    "}\n"
    "#endif\n\n";

static const char act_double[] =
    "/* tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)), sign of x, and\n"
    " * 1 / (1 + exp(-x)): runtime/nn_internal.h's double activations */\n"
    "static double ctrl_tanh(double x)\n"
    "{\n"
    "    double e = expm1(-2.0 * fabs(x));\n"
    "    return copysign(-e / (2.0 + e), x);\n"
    "}\n"
    "\n"
    "static double ctrl_sigmoid(double x)\n"
    "{\n"
    "    return 1 / (1 + exp(-x));\n"
    "}\n\n";

/* Bytes of the weights and of the state struct (rounded as a compiler lays
 * it out: all members are T). */
typedef struct {
    size_t weights, state;
} ctrl_memory;

static ctrl_memory memory_of(const mnet_nn *nn, size_t real_size)
{
    const int H = nn->cfg.n_hidden, L = nn->cfg.n_layers, G = nn->n_gates;
    ctrl_memory m;
    m.weights = nn->n_params * real_size;
    /* h (L x H), gate (G H), ghn (H, GRU), hn (H), past (D x H, delays) */
    size_t reals = (size_t)L * H + (size_t)G * H + (nn->cfg.cell == MNET_NN_GRU ? (size_t)H : 0) + (size_t)H +
                   (size_t)nn->delays.max * H;
    m.state = reals * real_size;
    return m;
}

/* The names of the observation rows (as the episodes file's names.obs). */
static void describe_rows(FILE *f, const mnet_obs *o, const mnet_model *m)
{
    const int P = o->space_dim, M = o->n_muscles;
    static const char axis[] = "xyz";
    int av = o->exact ? o->d_vision : o->d_vision - 1, ap = o->exact ? o->d_proprio : o->d_proprio - 1;
    char tv[16] = "t", tp[16] = "t"; /* @t or @t-a, as the episodes file's names.obs */
    if (av > 0)
        snprintf(tv, sizeof tv, "t-%d", av);
    if (ap > 0)
        snprintf(tp, sizeof tp, "t-%d", ap);
    fprintf(f, " * Observation rows (MNET_CTRL_N_INPUT):\n");
    for (int i = 0; i < P; i++)
        fprintf(f, " *   %3d goal.%c            the goal shown\n", o->goal_row + i, axis[i]);
    if (o->go_row >= 0)
        fprintf(f, " *   %3d go                the go signal (0 before the cue, 1 from it)\n", o->go_row);
    for (int i = 0; i < P; i++)
        fprintf(f, " *   %3d vision.%c@%s        end point position (m)\n", o->vision_row + i, axis[i], tv);
    for (int k = 0; k < M; k++)
        fprintf(f, " *   %3d proprio.length.%s@%s   (length / optimal length)\n", o->proprio_row + k,
                m->muscle_names[k], tp);
    for (int k = 0; k < M; k++)
        fprintf(f, " *   %3d proprio.velocity.%s@%s (velocity / maximal velocity)\n", o->proprio_row + M + k,
                m->muscle_names[k], tp);
    for (int fr = 0; fr < o->n_frames; fr++)
        for (int k = 0; k < M; k++)
            fprintf(f, " *   %3d action.%s@t-%d\n", o->action_row + fr * M + k, m->muscle_names[k],
                    o->n_frames - fr);
    fprintf(f, " * Action rows (MNET_CTRL_N_OUTPUT), the muscles' excitations in (0, 1):\n");
    for (int k = 0; k < M; k++)
        fprintf(f, " *   %3d %s\n", k, m->muscle_names[k]);
}

static void emit_controller(FILE *f, const mnet_session *s, const char *dir, int single)
{
    const mnet_train *tr = s->tr;
    const mnet_nn *nn = &tr->nn;
    const mnet_nn_config *c = &nn->cfg;
    const int I = c->n_input, H = c->n_hidden, L = c->n_layers, O = c->n_output, G = nn->n_gates;
    const char *T = single ? "float" : "double";
    const char *cell = cell_name(c->cell);
    ctrl_memory mem = memory_of(nn, single ? 4 : 8);

    fprintf(f,
            "/* ---- the controller ----------------------------------------------------\n"
            " * The trained network of run %s: task %s, effector %s, %ld batches.\n"
            " * %s, %d layer%s of %d units, %d inputs, %d outputs (sigmoid read-out), in %s.\n"
            " *\n"
            " *   mnet_ctrl c;\n"
            " *   mnet_ctrl_init(&c);                     once: everything zero\n"
            " *   mnet_ctrl_reset(&c);                    each episode: the initial state\n"
            " *   mnet_ctrl_step(&c, observation, action); observation (MNET_CTRL_N_INPUT)\n"
            " *                                           -> action (MNET_CTRL_N_OUTPUT)\n"
            " *   mnet_ctrl_hidden(&c, l)                 layer l's state h' (MNET_CTRL_N_HIDDEN)\n"
            " *\n"
            " * No allocation, no I/O; %s\n"
            " * Memory: %zu bytes of weights (const: flash on a microcontroller) and\n"
            " * %zu bytes of state (sizeof(mnet_ctrl)); the step needs no stack arrays.\n"
            " * Cells (runtime/include/mnet_nn.h), x the layer input, h its state:\n"
            " *   GRU  r = sig(W_ir x + b_ir + W_hr h + b_hr)   z = sig(W_iz x + b_iz + W_hz h + b_hz)\n"
            " *        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   h' = (1 - z) n + z h\n"
            " *   RNN  h' = tanh(W x + b + U h + c)          MLP  h' = tanh(W x + b)\n"
            " *   read-out  y = sig(W_o h' + b_o) on the top layer\n"
            " * Weights: PyTorch's tensors (weights.safetensors), row-major.\n"
            " * Candidate: %s.  Initial state: %s.\n",
            dir, s->run.task_name, s->run.model->name, s->loop.batch, cell, L, L == 1 ? "" : "s", H, I, O,
            single ? "float" : "double",
            single ? "float: the runtime's own expf / tanhf below (no libm; define\n"
                     " * MNET_CTRL_LIBM to use the C library's expf and tanhf instead)."
                   : "double: exp, expm1, fabs, copysign (link with -lm).",
            mem.weights, mem.state,
            c->candidate == MNET_NN_CANDIDATE_RECTIFIED_TANH ? "max(0, tanh(.)) in place of tanh (rectified)" : "tanh",
            c->learn_h0 ? "learned (ctrl_h0)" : "0");
    const mnet_nn_delays *dl = &nn->delays;
    if (dl->n_modules > 0) {
        fprintf(f, " * Delays between modules: the recurrent input of a unit of module b from\n"
                   " * a unit of module a is the state ctrl_delay[b][a] steps older than h (the\n"
                   " * state before the episode, h0, before that); modules:");
        for (int m = 0; m < dl->n_modules; m++)
            fprintf(f, " %s (%d)", s->tr->modular.name[m], dl->size[m]);
        fprintf(f, ".\n");
    }
    describe_rows(f, &tr->obs, s->run.model);
    fprintf(f, " */\n");
    fprintf(f, "#define MNET_CTRL_N_INPUT %d\n#define MNET_CTRL_N_HIDDEN %d\n#define MNET_CTRL_N_LAYERS %d\n"
               "#define MNET_CTRL_N_OUTPUT %d\n#define MNET_CTRL_WEIGHT_BYTES %zu\n\n",
            I, H, L, O, mem.weights);
    fprintf(f, "typedef %s mnet_ctrl_real;\n\n", T);
    fprintf(f,
            "typedef struct mnet_ctrl {\n"
            "    mnet_ctrl_real h[%d][%d];   /* (L x H) each layer's state                 */\n"
            "    mnet_ctrl_real gate[%d];   /* (%dH) scratch: W_ih x (+ W_hh h)             */\n",
            L, H, G * H, G);
    if (c->cell == MNET_NN_GRU)
        fprintf(f, "    mnet_ctrl_real ghn[%d];    /* (H) scratch: W_hn h + b_hn                  */\n", H);
    if (dl->max > 0)
        fprintf(f, "    mnet_ctrl_real past[%d][%d]; /* (D x H) past[k]: the state k + 1 steps before h */\n",
                dl->max, H);
    fprintf(f, "    mnet_ctrl_real hn[%d];     /* (H) scratch: the layer's new state          */\n"
               "} mnet_ctrl;\n\n",
            H);
    fputs(single ? act_float : act_double, f);

    /* the weights */
    mnet_nn_params p;
    mnet_nn_bind_params(nn, tr->params, &p);
    char name[64], comment[160];
    for (int l = 0; l < L; l++) {
        const int Ni = nn->layer_n_in[l];
        const size_t GH = (size_t)G * H;
        if (c->cell == MNET_NN_MLP) {
            snprintf(name, sizeof name, "ctrl_w_in_l%d", l);
            snprintf(comment, sizeof comment, "mlp.%d.weight (%d x %d)", l, H, Ni);
            emit_array(f, "mnet_ctrl_real", name, comment, p.layer[l].w_in, GH * Ni, single);
            snprintf(name, sizeof name, "ctrl_b_in_l%d", l);
            snprintf(comment, sizeof comment, "mlp.%d.bias (%d)", l, H);
            emit_array(f, "mnet_ctrl_real", name, comment, p.layer[l].b_in, GH, single);
            continue;
        }
        snprintf(name, sizeof name, "ctrl_w_in_l%d", l);
        snprintf(comment, sizeof comment, "%s.weight_ih_l%d (%zu x %d)%s", cell, l, GH, Ni,
                 G == 3 ? ", gate rows r, z, n" : "");
        emit_array(f, "mnet_ctrl_real", name, comment, p.layer[l].w_in, GH * Ni, single);
        snprintf(name, sizeof name, "ctrl_w_rec_l%d", l);
        snprintf(comment, sizeof comment, "%s.weight_hh_l%d (%zu x %d)", cell, l, GH, H);
        emit_array(f, "mnet_ctrl_real", name, comment, p.layer[l].w_rec, GH * H, single);
        snprintf(name, sizeof name, "ctrl_b_in_l%d", l);
        snprintf(comment, sizeof comment, "%s.bias_ih_l%d (%zu)", cell, l, GH);
        emit_array(f, "mnet_ctrl_real", name, comment, p.layer[l].b_in, GH, single);
        snprintf(name, sizeof name, "ctrl_b_rec_l%d", l);
        snprintf(comment, sizeof comment, "%s.bias_hh_l%d (%zu)", cell, l, GH);
        emit_array(f, "mnet_ctrl_real", name, comment, p.layer[l].b_rec, GH, single);
    }
    snprintf(comment, sizeof comment, "fc.weight (%d x %d)", O, H);
    emit_array(f, "mnet_ctrl_real", "ctrl_w_out", comment, p.w_out, (size_t)O * H, single);
    snprintf(comment, sizeof comment, "fc.bias (%d)", O);
    emit_array(f, "mnet_ctrl_real", "ctrl_b_out", comment, p.b_out, (size_t)O, single);
    if (p.h0) {
        snprintf(comment, sizeof comment, "%s.h0 (%d x %d): the learned initial state", cell, L, H);
        emit_array(f, "mnet_ctrl_real", "ctrl_h0", comment, p.h0, (size_t)L * H, single);
    }
    if (dl->max > 0) {
        const int M = dl->n_modules;
        fprintf(f, "#define MNET_CTRL_N_MODULES %d\n#define MNET_CTRL_MAX_DELAY %d\n", M, dl->max);
        fprintf(f, "static const int ctrl_mod_first[%d] = {", M);
        for (int m = 0; m < M; m++)
            fprintf(f, "%s%d", m ? ", " : "", dl->first[m]);
        fprintf(f, "};\nstatic const int ctrl_mod_size[%d] = {", M);
        for (int m = 0; m < M; m++)
            fprintf(f, "%s%d", m ? ", " : "", dl->size[m]);
        fprintf(f, "};\n/* [to][from]: extra steps of delay; -1: no connection */\nstatic const int ctrl_delay[%d][%d] = {", M,
                M);
        int delay[MNET_NN_MAX_MODULES][MNET_NN_MAX_MODULES];
        for (int b = 0; b < M; b++)
            for (int a = 0; a < M; a++)
                delay[b][a] = -1;
        for (int k = 0; k < dl->n_pairs; k++)
            delay[dl->pair_to[k]][dl->pair_from[k]] = dl->steps[dl->pair_to[k]][dl->pair_from[k]];
        for (int b = 0; b < M; b++) {
            fprintf(f, "%s{", b ? ", " : "");
            for (int a = 0; a < M; a++)
                fprintf(f, "%s%d", a ? ", " : "", delay[b][a]);
            fprintf(f, "}");
        }
        fprintf(f, "};\n");
    }

    /* the layer tables */
    fprintf(f, "static const int ctrl_n_in[%d] = {", L);
    for (int l = 0; l < L; l++)
        fprintf(f, "%s%d", l ? ", " : "", nn->layer_n_in[l]);
    fprintf(f, "};\n");
    const char *tables[4] = {"w_in", "w_rec", "b_in", "b_rec"};
    for (int k = 0; k < (c->cell == MNET_NN_MLP ? 4 : 4); k++) {
        if (c->cell == MNET_NN_MLP && (k == 1 || k == 3))
            continue;
        fprintf(f, "static const mnet_ctrl_real *const ctrl_%s[%d] = {", tables[k], L);
        for (int l = 0; l < L; l++)
            fprintf(f, "%sctrl_%s_l%d", l ? ", " : "", tables[k], l);
        fprintf(f, "};\n");
    }
    fputs("\n", f);

    /* the API */
    fprintf(f,
            "void mnet_ctrl_init(mnet_ctrl *c);\n"
            "void mnet_ctrl_reset(mnet_ctrl *c);\n"
            "void mnet_ctrl_step(mnet_ctrl *c, const mnet_ctrl_real *observation, mnet_ctrl_real *action);\n"
            "const mnet_ctrl_real *mnet_ctrl_hidden(const mnet_ctrl *c, int layer);\n\n"
            "void mnet_ctrl_reset(mnet_ctrl *c)\n"
            "{\n"
            "    for (int l = 0; l < MNET_CTRL_N_LAYERS; l++)\n"
            "        for (int j = 0; j < MNET_CTRL_N_HIDDEN; j++)\n"
            "            c->h[l][j] = %s;\n"
            "%s"
            "}\n\n"
            "void mnet_ctrl_init(mnet_ctrl *c)\n"
            "{\n"
            "    mnet_ctrl_reset(c);\n"
            "    for (int i = 0; i < %d; i++)\n"
            "        c->gate[i] = 0;\n"
            "    for (int j = 0; j < MNET_CTRL_N_HIDDEN; j++) {\n"
            "%s"
            "        c->hn[j] = 0;\n"
            "    }\n"
            "}\n\n"
            "const mnet_ctrl_real *mnet_ctrl_hidden(const mnet_ctrl *c, int layer)\n"
            "{\n"
            "    return c->h[layer];\n"
            "}\n\n",
            p.h0 ? "ctrl_h0[l * MNET_CTRL_N_HIDDEN + j]" : "0",
            dl->max > 0 ? "    for (int k = 0; k < MNET_CTRL_MAX_DELAY; k++) /* before the episode: h0 */\n"
                          "        for (int j = 0; j < MNET_CTRL_N_HIDDEN; j++)\n"
                          "            c->past[k][j] = c->h[0][j];\n"
                        : "",
            G * H, c->cell == MNET_NN_GRU ? "        c->ghn[j] = 0;\n" : "");
    /* the candidate: tanh, or max(0, tanh) as the runtime's select */
    fprintf(f, "static mnet_ctrl_real ctrl_candidate(mnet_ctrl_real a)\n"
               "{\n"
               "%s"
               "}\n\n",
            c->candidate == MNET_NN_CANDIDATE_RECTIFIED_TANH
                ? "    mnet_ctrl_real v = ctrl_tanh(a);\n    return v < 0 ? 0 : v; /* rectified tanh */\n"
                : "    return ctrl_tanh(a);\n");
    if (dl->max > 0)
        fprintf(f,
                "/* out (nblk H) = [out +] W (nblk H x H) times, for each module pair, the\n"
                " * source module's state as old as the pair's delay: one product per pair,\n"
                " * each added to out, as the runtime's per-pair GEMMs (runtime/nn_delay.c) */\n"
                "static void ctrl_matvec_delayed(mnet_ctrl_real *out, const mnet_ctrl_real *w, int nblk,\n"
                "                                const mnet_ctrl *c, int add)\n"
                "{\n"
                "    const int H = MNET_CTRL_N_HIDDEN;\n"
                "    if (!add)\n"
                "        for (int i = 0; i < nblk * H; i++)\n"
                "            out[i] = 0;\n"
                "    for (int q = 0; q < nblk; q++)\n"
                "        for (int b = 0; b < MNET_CTRL_N_MODULES; b++)\n"
                "            for (int a = 0; a < MNET_CTRL_N_MODULES; a++) {\n"
                "                const int d = ctrl_delay[b][a];\n"
                "                if (d < 0)\n"
                "                    continue;\n"
                "                const mnet_ctrl_real *src = d == 0 ? c->h[0] : c->past[d - 1];\n"
                "                for (int j = ctrl_mod_first[b]; j < ctrl_mod_first[b] + ctrl_mod_size[b]; j++) {\n"
                "                    const mnet_ctrl_real *row = w + (q * H + j) * H;\n"
                "                    mnet_ctrl_real acc = 0;\n"
                "                    for (int i = ctrl_mod_first[a]; i < ctrl_mod_first[a] + ctrl_mod_size[a]; i++)\n"
                "                        acc += row[i] * src[i];\n"
                "                    out[q * H + j] += acc;\n"
                "                }\n"
                "            }\n"
                "}\n\n");

    fprintf(f,
            "/* out (rows) = W (rows x n, row-major, from row r0) x (n) */\n"
            "static void ctrl_matvec(mnet_ctrl_real *out, const mnet_ctrl_real *w, int rows, int n,\n"
            "                        const mnet_ctrl_real *x)\n"
            "{\n"
            "    for (int i = 0; i < rows; i++) {\n"
            "        mnet_ctrl_real acc = 0;\n"
            "        for (int k = 0; k < n; k++)\n"
            "            acc += w[i * n + k] * x[k];\n"
            "        out[i] = acc;\n"
            "    }\n"
            "}\n\n");
    if (c->cell != MNET_NN_MLP && nn->delays.max == 0)
        fprintf(f,
                "/* out (rows) += W (rows x n) x (n): the product first, then the sum, as\n"
                " * a GEMM with beta = 1 */\n"
                "static void ctrl_matvec_add(mnet_ctrl_real *out, const mnet_ctrl_real *w, int rows, int n,\n"
                "                            const mnet_ctrl_real *x)\n"
                "{\n"
                "    for (int i = 0; i < rows; i++) {\n"
                "        mnet_ctrl_real acc = 0;\n"
                "        for (int k = 0; k < n; k++)\n"
                "            acc += w[i * n + k] * x[k];\n"
                "        out[i] += acc;\n"
                "    }\n"
                "}\n\n");

    fprintf(f, "void mnet_ctrl_step(mnet_ctrl *c, const mnet_ctrl_real *observation, mnet_ctrl_real *action)\n"
               "{\n"
               "    const int H = MNET_CTRL_N_HIDDEN;\n"
               "    const mnet_ctrl_real *x = observation; /* the layer input (n_in) */\n"
               "    for (int l = 0; l < MNET_CTRL_N_LAYERS; l++) {\n"
               "        const mnet_ctrl_real *w_in = ctrl_w_in[l], *b_in = ctrl_b_in[l];\n"
               "        mnet_ctrl_real *h = c->h[l];\n");
    if (c->cell == MNET_NN_GRU)
        fprintf(f, "        const mnet_ctrl_real *w_rec = ctrl_w_rec[l], *b_rec = ctrl_b_rec[l];\n"
                   "        ctrl_matvec(c->gate, w_in, 3 * H, ctrl_n_in[l], x);   /* W_i x (r, z, n) */\n");
    if (c->cell == MNET_NN_GRU && dl->max > 0)
        fprintf(f, "        ctrl_matvec_delayed(c->gate, w_rec, 2, c, 1);         /* + W_h h (r, z)  */\n"
                   "        ctrl_matvec_delayed(c->ghn, w_rec + 2 * H * H, 1, c, 0); /* W_hn h        */\n");
    else if (c->cell == MNET_NN_GRU)
        fprintf(f, "        ctrl_matvec_add(c->gate, w_rec, 2 * H, H, h);         /* + W_h h (r, z)  */\n"
                   "        ctrl_matvec(c->ghn, w_rec + 2 * H * H, H, H, h);      /* W_hn h          */\n");
    if (c->cell == MNET_NN_GRU)
        fprintf(f, "        for (int j = 0; j < H; j++) {\n"
                   "            mnet_ctrl_real r = ctrl_sigmoid(c->gate[j] + (b_in[j] + b_rec[j]));\n"
                   "            mnet_ctrl_real z = ctrl_sigmoid(c->gate[H + j] + (b_in[H + j] + b_rec[H + j]));\n"
                   "            mnet_ctrl_real cb = c->ghn[j] + b_rec[2 * H + j];\n"
                   "            mnet_ctrl_real n = ctrl_candidate(c->gate[2 * H + j] + b_in[2 * H + j] + r * cb);\n"
                   "            c->ghn[j] = cb;\n"
                   "            c->hn[j] = n + z * (h[j] - n);\n"
                   "        }\n");
    else if (c->cell == MNET_NN_RNN)
        fprintf(f, "        const mnet_ctrl_real *w_rec = ctrl_w_rec[l], *b_rec = ctrl_b_rec[l];\n"
                   "        ctrl_matvec(c->gate, w_in, H, ctrl_n_in[l], x);       /* W x     */\n"
                   "%s"
                   "        for (int j = 0; j < H; j++)\n"
                   "            c->hn[j] = ctrl_candidate(c->gate[j] + (b_in[j] + b_rec[j]));\n",
                dl->max > 0 ? "        ctrl_matvec_delayed(c->gate, w_rec, 1, c, 1);         /* + U h   */\n"
                            : "        ctrl_matvec_add(c->gate, w_rec, H, H, h);             /* + U h   */\n");
    else
        fprintf(f, "        ctrl_matvec(c->gate, w_in, H, ctrl_n_in[l], x);       /* W x     */\n"
                   "        for (int j = 0; j < H; j++)\n"
                   "            c->hn[j] = ctrl_candidate(c->gate[j] + b_in[j]);\n");
    if (dl->max > 0) /* one layer: h becomes the newest of the past states */
        fprintf(f, "        for (int k = MNET_CTRL_MAX_DELAY - 1; k > 0; k--)\n"
                   "            for (int j = 0; j < H; j++)\n"
                   "                c->past[k][j] = c->past[k - 1][j];\n"
                   "        for (int j = 0; j < H; j++)\n"
                   "            c->past[0][j] = h[j];\n");
    fprintf(f, "        for (int j = 0; j < H; j++)\n"
               "            h[j] = c->hn[j];\n"
               "        x = h;\n"
               "    }\n"
               "    /* read-out: y = sig(W_o h_top + b_o) */\n"
               "    ctrl_matvec(action, ctrl_w_out, MNET_CTRL_N_OUTPUT, H, x);\n"
               "    for (int o = 0; o < MNET_CTRL_N_OUTPUT; o++)\n"
               "        action[o] = ctrl_sigmoid(action[o] + ctrl_b_out[o]);\n"
               "}\n\n");
}

/* ---- the plant and the closed loop ---- */

/* Why the closed loop of this run cannot be exported, or NULL. */
static const char *plant_refusal(const mnet_task_config *cfg)
{
    if (cfg->channel_stiffness != 0 || cfg->channel_damping != 0)
        return "the run has a force channel (force_channel.stiffness / .damping), whose load is not exported";
    return NULL;
}

/* The effector's C (the compiler's, with the run text) into f, through a
 * temporary file beside `out` (the compiler writes files).  0 or -1. */
static int emit_effector(FILE *f, const mnet_session *s, const char *out, int single, char *err, size_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.plant.XXXXXX", out);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, n, "cannot create a temporary file beside %s: %s", out, strerror(errno));
        return -1;
    }
    close(fd);
    char *text = mnet_run_text(&s->run);
    int rc = text ? mnet_write_c_run(s->run.comp, tmp, s->path, single, text) : -1;
    free(text);
    FILE *in = rc == 0 ? fopen(tmp, "rb") : NULL;
    if (!in) {
        snprintf(err, n, "cannot write the effector's C: %s", strerror(errno));
        unlink(tmp);
        return -1;
    }
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, got, f);
    rc = ferror(in) ? -1 : 0;
    fclose(in);
    unlink(tmp);
    if (rc)
        snprintf(err, n, "cannot read back the effector's C");
    return rc;
}

static void emit_loop(FILE *f, const mnet_session *s, const mnet_episode *ep, int single)
{
    const mnet_train *tr = s->tr;
    const mnet_model *m = s->run.model;
    const mnet_task_config *cfg = &s->run.cfg;
    const mnet_obs *o = &tr->obs;
    const int P = m->space_dim, D = m->n_dof, M = m->n_muscles, S = m->n_state, NS = m->n_sense;
    const int NL = m->n_load, K = o->n_frames;
    const int av = o->exact ? o->d_vision : o->d_vision - 1;
    const int ap = o->exact ? o->d_proprio : o->d_proprio - 1;
    const int A = av > ap ? av : ap;
    char b[64];
    const char *kind = cfg->kind == MNET_TASK_CENTRE_OUT    ? "centre-out reach: the goal shown is the start "
                                                              "before go_step"
                       : cfg->kind == MNET_TASK_DELAYED_REACH ? "delayed reach: the goal is shown from step 0, "
                                                                "the go row is 1 from go_step"
                                                              : "random target reach: the goal is shown from step 0";

    fprintf(f,
            "/* ---- the closed loop ---------------------------------------------------\n"
            " * The effector above (its step, sense and init) with the run's parameter\n"
            " * values, the observation pipeline of runtime/obs.c and the loads of\n"
            " * runtime/task.c, around the controller:\n"
            " *\n"
            " *   mnet_sim L;\n"
            " *   mnet_sim_reset(&L, joint0, goal, go_step);  joint0 (2 MNET_SIM_N_DOF: q, then qd),\n"
            " *                                 goal (MNET_SIM_SPACE_DIM; NULL: the start),\n"
            " *                                 go_step (the first step of the go period, -1: never)\n"
            " *   mnet_sim_step(&L);           one step of MNET_SIM_STEP_SIZE s: L.obs, L.action,\n"
            " *                                 L.load of step L.t, then L.state = s_{t+1}, L.t + 1\n"
            " *   mnet_sim_validation(k, joint0, goal, &go_step)   episode k of the run's\n"
            " *                                 validation set (k < MNET_SIM_N_VALIDATION)\n"
            " *\n"
            " * Task: %s.\n"
            " * Observation: vision %d and proprioception %d steps old (delays %d and %d steps%s),\n"
            " * %d action frame%s.  No noise: the loop is the run's validation rollout (mnet eval).\n"
            " * Loads: the run's constant end point and joint loads%s.\n"
            " * State rows: joint q, qd at MNET_SIM_JOINT_OFFSET; end point position, velocity\n"
            " * at MNET_SIM_CARTESIAN_OFFSET; muscle row r of muscle k at\n"
            " * MNET_SIM_MUSCLE_OFFSET + r * MNET_SIM_N_MUSCLES + k.\n"
            " */\n",
            kind, av, ap, o->d_vision, o->d_proprio, o->exact ? ", exact" : ", the reference's buffer", K,
            K == 1 ? "" : "s", cfg->curl != 0 ? " and the curl field" : "");
    fprintf(f,
            "#define MNET_SIM_N_STATE %d\n#define MNET_SIM_N_DOF %d\n#define MNET_SIM_SPACE_DIM %d\n"
            "#define MNET_SIM_N_MUSCLES %d\n#define MNET_SIM_N_MUSCLE_ROWS %d\n#define MNET_SIM_N_LOAD %d\n"
            "#define MNET_SIM_JOINT_OFFSET %d\n#define MNET_SIM_CARTESIAN_OFFSET %d\n"
            "#define MNET_SIM_MUSCLE_OFFSET %d\n#define MNET_SIM_STEPS %d /* the run's episode */\n"
            "#define MNET_SIM_STEP_SIZE %.17g\n#define MNET_SIM_N_VALIDATION %d\n\n",
            S, D, P, M, m->n_muscle_rows, NL, m->joint_offset, m->cartesian_offset, m->muscle_offset, tr->T,
            m->step_size, ep->n_cols);

    /* the parameter table */
    fprintf(f, "/* the run's parameter values (the run text's param.* above) */\n"
               "static const real sim_params[%d] = {\n",
            m->n_params > 0 ? m->n_params : 1);
    for (int i = 0; i < m->n_params; i++)
        fprintf(f, "    %s, /* %s */\n", lit(b, sizeof b, s->run.param_values[i], single), m->param_names[i]);
    if (m->n_params == 0)
        fprintf(f, "    0\n");
    fprintf(f, "};\n\n");

    fprintf(f,
            "typedef struct mnet_sim {\n"
            "    mnet_ctrl ctrl;\n"
            "    real state[%d];        /* (S) s_t                                      */\n"
            "    real next[%d];         /* (S) scratch: s_{t+1}                         */\n"
            "    real sensed[%d][%d];    /* (A+1 x NS) sense of s_k at row k mod (A+1)   */\n"
            "    real frames[%d][%d];    /* (k x M) the last actions, the older first    */\n"
            "    real obs[%d];          /* (I) the observation of step t                */\n"
            "    real action[%d];       /* (M) the action of step t                     */\n"
            "    real load[%d];         /* (NL) the load of step t                      */\n"
            "    real start[%d], goal[%d]; /* (P) the reach                              */\n"
            "    int go_step;          /* first step of the go period; -1: never        */\n"
            "    int t;                /* steps taken                                   */\n"
            "} mnet_sim;\n\n",
            S, S, A + 1, NS, K > 0 ? K : 1, M, o->n_obs, M, NL, P, P);

    fprintf(f,
            "void mnet_sim_reset(mnet_sim *L, const real *joint0, const real *goal, int go_step);\n"
            "void mnet_sim_step(mnet_sim *L);\n"
            "void mnet_sim_validation(int k, real *joint0, real *goal, int *go_step);\n\n"
            "static void sim_sense(mnet_sim *L)\n"
            "{\n"
            "    const real *in[1] = {L->state};\n"
            "    real *const out[1] = {L->sensed[L->t %% %d]};\n"
            "    mnet_compiled_model->sense(1, 1, in, out, sim_params);\n"
            "}\n\n"
            "void mnet_sim_reset(mnet_sim *L, const real *joint0, const real *goal, int go_step)\n"
            "{\n"
            "    mnet_ctrl_init(&L->ctrl);\n"
            "    const real *in[1] = {joint0};\n"
            "    real *const out[1] = {L->state};\n"
            "    mnet_compiled_model->init(1, 1, in, out, sim_params);\n"
            "    for (int i = 0; i < %d; i++) {\n"
            "        L->start[i] = L->state[%d + i];\n"
            "        L->goal[i] = goal ? goal[i] : L->start[i];\n"
            "    }\n"
            "    for (int f = 0; f < %d; f++)\n"
            "        for (int k = 0; k < %d; k++)\n"
            "            L->frames[f][k] = 0;\n"
            "    L->go_step = go_step;\n"
            "    L->t = 0;\n"
            "    sim_sense(L);\n"
            "}\n\n",
            A + 1, P, m->cartesian_offset, K > 0 ? K : 1, M);

    /* the observation */
    fprintf(f, "/* obs = [goal shown (P)%s, vision (P), proprioception (2M), frames (kM)] */\n"
               "static void sim_observe(mnet_sim *L)\n"
               "{\n"
               "    const int t = L->t;\n"
               "    const int going = L->go_step >= 0 && t >= L->go_step;\n"
               "    const real *sv = L->sensed[(t < %d ? 0 : t - %d) %% %d]; /* s_max(0, t-%d) */\n"
               "    const real *sp = L->sensed[(t < %d ? 0 : t - %d) %% %d]; /* s_max(0, t-%d) */\n"
               "    (void)going;\n"
               "    for (int i = 0; i < %d; i++) {\n",
            o->go_row >= 0 ? ", go (1)" : "", av, av, A + 1, av, ap, ap, A + 1, ap, P);
    if (cfg->kind == MNET_TASK_CENTRE_OUT)
        fprintf(f, "        L->obs[%d + i] = going ? L->goal[i] : L->start[i];\n", o->goal_row);
    else
        fprintf(f, "        L->obs[%d + i] = L->goal[i];\n", o->goal_row);
    fprintf(f, "        L->obs[%d + i] = sv[i];\n    }\n", o->vision_row);
    if (o->go_row >= 0)
        fprintf(f, "    L->obs[%d] = (real)(going ? 1 : 0);\n", o->go_row);
    fprintf(f, "    for (int i = 0; i < %d; i++)\n        L->obs[%d + i] = sp[%d + i];\n", 2 * M, o->proprio_row,
            P);
    if (K > 0)
        fprintf(f, "    for (int f = 0; f < %d; f++)\n        for (int k = 0; k < %d; k++)\n"
                   "            L->obs[%d + f * %d + k] = L->frames[f][k];\n",
                K, M, o->action_row, M);
    fprintf(f, "}\n\n");

    /* the loads */
    fprintf(f, "/* the load of step t from s_t: constant end point and joint loads%s */\n"
               "static void sim_load(mnet_sim *L)\n"
               "{\n",
            cfg->curl != 0 ? ", the curl field F = k [[0, 1], [-1, 0]] v" : "");
    for (int i = 0; i < P; i++)
        fprintf(f, "    L->load[%d] = (real)%s;\n", i, lit(b, sizeof b, cfg->endpoint_load[i], 0));
    for (int j = 0; j < D; j++)
        fprintf(f, "    L->load[%d] = (real)%s;\n", P + j, lit(b, sizeof b, cfg->joint_load[j], 0));
    if (cfg->curl != 0) {
        const char *k = lit(b, sizeof b, cfg->curl, 0);
        fprintf(f, "    const real *v = L->state + %d; /* end point velocity */\n", m->cartesian_offset + P);
        fprintf(f, "    L->load[0] += (real)(%s * (double)v[1]);\n", k);
        fprintf(f, "    L->load[1] -= (real)(%s * (double)v[0]);\n", k);
    } else {
        fprintf(f, "    (void)L;\n");
    }
    fprintf(f, "}\n\n");

    fprintf(f,
            "void mnet_sim_step(mnet_sim *L)\n"
            "{\n"
            "    sim_observe(L);\n"
            "    mnet_ctrl_step(&L->ctrl, L->obs, L->action);\n"
            "    sim_load(L);\n"
            "    const real *in[3] = {L->state, L->action, L->load};\n"
            "    real *const out[1] = {L->next};\n"
            "    mnet_compiled_model->step(1, 1, in, out, sim_params);\n"
            "    for (int i = 0; i < %d; i++)\n"
            "        L->state[i] = L->next[i];\n",
            S);
    if (K > 0)
        fprintf(f, "    for (int f = 0; f + 1 < %d; f++)\n        for (int k = 0; k < %d; k++)\n"
                   "            L->frames[f][k] = L->frames[f + 1][k];\n"
                   "    for (int k = 0; k < %d; k++)\n        L->frames[%d][k] = L->action[k];\n",
                K, M, M, K - 1);
    fprintf(f, "    L->t++;\n    sim_sense(L);\n}\n\n");

    /* the validation set */
    const int N = ep->n_cols, B = ep->B;
    fprintf(f, "/* the run's validation set (what mnet eval rolls out): joint0 (2D), goal (P),\n"
               " * go_step; the values of the trained run */\n");
    fprintf(f, "static const real sim_val_joint0[%d][%d] = {\n", N, 2 * D);
    for (int e = 0; e < N; e++) {
        fprintf(f, "    {");
        for (int j = 0; j < 2 * D; j++)
            fprintf(f, "%s%s", j ? ", " : "", lit(b, sizeof b, (double)ep->joint0[j * B + e], single));
        fprintf(f, "},\n");
    }
    fprintf(f, "};\nstatic const real sim_val_goal[%d][%d] = {\n", N, P);
    for (int e = 0; e < N; e++) {
        fprintf(f, "    {");
        for (int i = 0; i < P; i++)
            fprintf(f, "%s%s", i ? ", " : "", lit(b, sizeof b, (double)ep->goal[i * B + e], single));
        fprintf(f, "},\n");
    }
    fprintf(f, "};\nstatic const int sim_val_go_step[%d] = {", N);
    for (int e = 0; e < N; e++)
        fprintf(f, "%s%d", e ? ", " : "", ep->go_step[e] > tr->T ? -1 : ep->go_step[e]);
    fprintf(f, "};\n\n"
               "void mnet_sim_validation(int k, real *joint0, real *goal, int *go_step)\n"
               "{\n"
               "    for (int j = 0; j < %d; j++)\n"
               "        joint0[j] = sim_val_joint0[k][j];\n"
               "    for (int i = 0; i < %d; i++)\n"
               "        goal[i] = sim_val_goal[k][i];\n"
               "    *go_step = sim_val_go_step[k];\n"
               "}\n\n",
            2 * D, P);

    /* a main to try it */
    fprintf(f,
            "#ifdef MNET_EXPORT_MAIN\n"
            "#include <stdio.h>\n"
            "\n"
            "/* cc -DMNET_EXPORT_MAIN controller.c -lm && ./a.out: the validation set,\n"
            " * one line per episode: the end point after MNET_SIM_STEPS steps, the goal */\n"
            "int main(void)\n"
            "{\n"
            "    static mnet_sim L;\n"
            "    for (int k = 0; k < MNET_SIM_N_VALIDATION; k++) {\n"
            "        real joint0[2 * MNET_SIM_N_DOF], goal[MNET_SIM_SPACE_DIM];\n"
            "        int go;\n"
            "        mnet_sim_validation(k, joint0, goal, &go);\n"
            "        mnet_sim_reset(&L, joint0, goal, go);\n"
            "        for (int t = 0; t < MNET_SIM_STEPS; t++)\n"
            "            mnet_sim_step(&L);\n"
            "        printf(\"episode %%d: end point\", k);\n"
            "        for (int i = 0; i < MNET_SIM_SPACE_DIM; i++)\n"
            "            printf(\" %%.6f\", (double)L.state[MNET_SIM_CARTESIAN_OFFSET + i]);\n"
            "        printf(\"  goal\");\n"
            "        for (int i = 0; i < MNET_SIM_SPACE_DIM; i++)\n"
            "            printf(\" %%.6f\", (double)goal[i]);\n"
            "        printf(\"\\n\");\n"
            "    }\n"
            "    return 0;\n"
            "}\n"
            "#endif\n");
}

/* ---- the command ---- */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory part of path ("." when none). */
static void dir_of(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, n, ".");
    else if (slash == path)
        snprintf(out, n, "/");
    else
        snprintf(out, n, "%.*s", (int)(slash - path), path);
}

int mnet_export_main(int argc, char **argv)
{
    export_args a;
    if (parse_args(&a, argc, argv) != 0)
        return usage(stderr, 2);

    /* the run */
    char ckpt[4200], parent[4200];
    struct stat st;
    if (!is_dir(a.dir)) {
        fprintf(stderr, "mnet export: no run in '%s': not a directory\n", a.dir);
        return 1;
    }
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.mnetckpt", a.dir);
    if (stat(ckpt, &st) != 0) {
        fprintf(stderr, "mnet export: no run in '%s' (no checkpoint.mnetckpt: mnet train --out %s makes one)\n",
                a.dir, a.dir);
        return 1;
    }
    /* the output: a file in an existing directory, not a directory */
    size_t len = strlen(a.out);
    dir_of(a.out, parent, sizeof parent);
    if (is_dir(a.out) || a.out[len - 1] == '/') {
        fprintf(stderr, "mnet export: -o %s is a directory; give a file name (controller.c)\n", a.out);
        return 1;
    }
    if (!is_dir(parent)) {
        fprintf(stderr, "mnet export: -o %s: the directory '%s' does not exist\n", a.out, parent);
        return 1;
    }
    if (access(parent, W_OK) != 0) {
        fprintf(stderr, "mnet export: -o %s: cannot write in '%s': %s\n", a.out, parent, strerror(errno));
        return 1;
    }

    /* the session prints "opened ..." and errors to `said`: only errors
     * are shown */
    char *said = NULL;
    size_t said_len = 0;
    FILE *log = open_memstream(&said, &said_len);
    if (!log) {
        fprintf(stderr, "mnet export: out of memory\n");
        return 1;
    }
    mnet_session s;
    session_init(&s);
    int rc = session_open(&s, ckpt, log, log);
    fclose(log);
    if (rc != 0) {
        fprintf(stderr, "%s", said ? said : "");
        fprintf(stderr, "mnet export: cannot open the run in '%s'\n", a.dir);
        free(said);
        session_close(&s);
        return 1;
    }
    free(said);

    int status = 1;
    char err[1024], tmp[4300];
    FILE *f = NULL;
    mnet_episode ep;
    memset(&ep, 0, sizeof ep);
    tmp[0] = 0;
    const mnet_train *tr = s.tr;
    if (!all_finite(tr->params, tr->n_params)) {
        fprintf(stderr, "mnet export: the network of '%s' has a number that is not finite\n", a.dir);
        goto done;
    }
    if (tr->nn.cfg.cell == MNET_NN_LSTM || tr->nn.cfg.readout != MNET_NN_READOUT_SIGMOID) {
        fprintf(stderr, "mnet export: the run in '%s' has %s; export writes gru, rnn and mlp networks "
                "with the sigmoid read-out\n", a.dir,
                tr->nn.cfg.cell == MNET_NN_LSTM ? "an lstm network" : "a read-out other than the sigmoid");
        goto done;
    }
    if (a.with_plant) {
        const char *why = plant_refusal(&s.run.cfg);
        if (why) {
            fprintf(stderr, "mnet export: --with-plant: %s; export the controller alone (without --with-plant)\n",
                    why);
            goto done;
        }
        int N = mnet_task_validation_size(&s.run.cfg, s.run.cfg.batch_size);
        if (mnet_episode_alloc(&ep, s.run.model, N, tr->T, err, sizeof err) != 0 ||
            mnet_task_generate(&s.run.cfg, s.run.model, tr->model_params, 1, s.run.cfg.seed, 0, N, &ep, err,
                               sizeof err) != 0) {
            fprintf(stderr, "mnet export: the validation set: %s\n", err);
            goto done;
        }
    }

    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", a.out);
    int fd = mkstemp(tmp);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        fprintf(stderr, "mnet export: cannot create a file beside %s: %s\n", a.out, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        tmp[0] = 0;
        goto done;
    }
    const char *base = strrchr(a.out, '/') ? strrchr(a.out, '/') + 1 : a.out;
    fprintf(f,
            "/* %s - the trained controller of the mnet run %s%s, written by\n"
            " * `mnet export`: one C11 file, no dependencies%s.  Do not edit: export again.\n"
            " * docs/export.md describes it.\n"
            " */\n",
            base, a.dir, a.with_plant ? " with its effector (the closed loop)" : "",
            a.single ? " (in float not even libm,\n * unless MNET_CTRL_LIBM is defined)" : " but libm (-lm)");
    if (a.with_plant) {
        if (emit_effector(f, &s, tmp, a.single, err, sizeof err) != 0) {
            fprintf(stderr, "mnet export: %s\n", err);
            goto done;
        }
        fputs("\n", f);
    } else if (!a.single) {
        fputs("#include <math.h>\n", f);
    }
    if (a.single)
        fputs("#include <stdint.h>\n#ifdef MNET_CTRL_LIBM\n#include <math.h>\n#endif\n\n", f);
    else
        fputs("\n", f);
    emit_controller(f, &s, a.dir, a.single);
    if (a.with_plant)
        emit_loop(f, &s, &ep, a.single);
    if (ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(stderr, "mnet export: cannot write %s: %s\n", a.out, strerror(errno));
        goto done;
    }
    int cerr = fclose(f);
    f = NULL;
    if (cerr != 0 || rename(tmp, a.out) != 0) {
        fprintf(stderr, "mnet export: cannot write %s: %s\n", a.out, strerror(errno));
        goto done;
    }
    tmp[0] = 0;
    ctrl_memory mem = memory_of(&tr->nn, a.single ? 4 : 8);
    printf("wrote %s: %s %d x %d (%d inputs, %d outputs), %s; weights %zu bytes, state %zu bytes%s\n", a.out,
           cell_name(tr->nn.cfg.cell), tr->nn.cfg.n_layers, tr->nn.cfg.n_hidden, tr->nn.cfg.n_input,
           tr->nn.cfg.n_output, a.single ? "float" : "double", mem.weights, mem.state,
           a.with_plant ? "; with the plant (effector, observation, loads, validation set)" : "");
    status = 0;
done:
    if (f)
        fclose(f);
    if (tmp[0])
        unlink(tmp);
    mnet_episode_free(&ep);
    session_close(&s);
    return status;
}
