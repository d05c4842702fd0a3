/* effector_probe.c - the compiled effector's step and step VJP alone, timed
 * as the trainer calls them (float, one slice of columns of a batch).
 *
 *   effector_probe FILE.mnet [--so MODEL.so] [--columns N] [--batch B]
 *                  [--steps T] [--reps R]
 *
 * Compiles FILE's effector through the JIT (as `mnet train` does), or loads
 * the C backend's table from MODEL.so (`mnetc FILE -o m.c --precision float;
 * cc -std=c11 -O2 -shared -fPIC m.c -o m.so`), then R times: a rollout of T
 * steps from random joint states (random activations in [0.1, 0.9], no
 * load) on columns 0..N-1 of (rows x B) arrays, then T step VJPs backwards
 * with random cotangents.  Prints the best and the median over R of the
 * thread's CPU time per column and step:
 *
 *   effector FILE backend=jit|c columns=N step_ns=.. step_vjp_ns=.. (best)
 *            step_ns_med=.. step_vjp_ns_med=.. checksum=..
 *
 * The checksum (the sum of the last states and cotangents) is there so two
 * builds can be seen to compute the same thing.  Built with the compiler
 * library (compiler/CMakeLists.txt: target effector_probe). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile.h"
#include "mnet_model.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return 1e9 * (double)ts.tv_sec + (double)ts.tv_nsec;
}

static double uniform(unsigned long long *s, double lo, double hi)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (double)(*s >> 11) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *so_path = NULL;
    int N = 64, B = 0, T = 100, R = 20;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--so") == 0 && i + 1 < argc)
            so_path = argv[++i];
        else if (strcmp(argv[i], "--columns") == 0 && i + 1 < argc)
            N = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            B = atoi(argv[++i]);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            T = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            R = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: effector_probe FILE.mnet [--so MODEL.so] [--columns N] [--batch B] "
                            "[--steps T] [--reps R]\n");
            return 2;
        }
    }
    if (B < N)
        B = N;
    if (!path || N < 1 || T < 1 || R < 1) {
        fprintf(stderr, "effector_probe: a .mnet file and positive sizes, please\n");
        return 2;
    }
    mnet_compilation *c = mnet_compile(path, NULL, stderr);
    if (!c || !c->eff) {
        fprintf(stderr, "effector_probe: %s does not compile\n", path);
        mnet_compilation_free(c);
        return 1;
    }
    char err[1024];
    const mnet_model *m = NULL;
    mnet_jit_model *jm = NULL;
    void *so = NULL;
    if (so_path) {
        so = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
        const mnet_model *const *pm = so ? dlsym(so, "mnet_compiled_model") : NULL;
        if (!pm) {
            fprintf(stderr, "effector_probe: %s: %s\n", so_path, dlerror());
            mnet_compilation_free(c);
            return 1;
        }
        m = *pm;
    } else {
        jm = mnet_compilation_jit(c, 1, err, sizeof err);
        if (!jm) {
            fprintf(stderr, "effector_probe: JIT: %s\n", err);
            mnet_compilation_free(c);
            return 1;
        }
        m = mnet_jit_model_table(jm);
    }
    if (m->real_size != (int)sizeof(float)) {
        fprintf(stderr, "effector_probe: the model is not single precision\n");
        return 1;
    }
    const int S = m->n_state, M = m->n_muscles, L = m->n_load, D = m->n_dof;
    float *params = malloc((size_t)m->n_params * sizeof(float));
    for (int i = 0; i < m->n_params; i++)
        params[i] = (float)m->param_defaults[i];
    float *state = calloc((size_t)(T + 1) * S * B, sizeof(float));
    float *act = malloc((size_t)T * M * B * sizeof(float));
    float *load = calloc((size_t)L * B, sizeof(float));
    float *j0 = calloc((size_t)2 * D * B, sizeof(float));
    float *g = malloc((size_t)S * B * sizeof(float)), *g2 = malloc((size_t)S * B * sizeof(float));
    float *ga = malloc((size_t)M * B * sizeof(float)), *gl = malloc((size_t)L * B * sizeof(float));
    double *t_step = malloc((size_t)R * sizeof(double)), *t_vjp = malloc((size_t)R * sizeof(double));
    unsigned long long seed = 12345;
    double checksum = 0;
    for (int r = 0; r < R; r++) {
        for (int d = 0; d < D; d++)
            for (int b = 0; b < N; b++)
                j0[d * B + b] = (float)uniform(&seed, m->pos_lower[d], m->pos_upper[d]);
        for (size_t k = 0; k < (size_t)T * M * B; k++)
            act[k] = (float)uniform(&seed, 0.1, 0.9);
        for (size_t k = 0; k < (size_t)S * B; k++)
            g[k] = (float)uniform(&seed, -1e-3, 1e-3);
        {
            const float *in[1] = {j0};
            float *const out[1] = {state};
            m->init(N, B, in, out, params);
        }
        double t0 = now_ns();
        for (int t = 0; t < T; t++) {
            const float *in[3] = {state + (size_t)t * S * B, act + (size_t)t * M * B, load};
            float *const out[1] = {state + (size_t)(t + 1) * S * B};
            m->step(N, B, in, out, params);
        }
        double t1 = now_ns();
        for (int t = T - 1; t >= 0; t--) {
            const float *in[4] = {state + (size_t)t * S * B, act + (size_t)t * M * B, load, g};
            float *const out[3] = {g2, ga, gl};
            m->step_vjp(N, B, in, out, params);
            float *tmp = g; /* the next cotangent: this one's g_state */
            g = g2;
            g2 = tmp;
        }
        double t2 = now_ns();
        t_step[r] = (t1 - t0) / ((double)T * N);
        t_vjp[r] = (t2 - t1) / ((double)T * N);
        for (int s = 0; s < S; s++)
            for (int b = 0; b < N; b++)
                checksum += (double)state[((size_t)T * S + (size_t)s) * B + b] + (double)g[s * B + b];
    }
    qsort(t_step, (size_t)R, sizeof(double), cmp_double);
    qsort(t_vjp, (size_t)R, sizeof(double), cmp_double);
    printf("effector %s backend=%s columns=%d batch=%d steps=%d reps=%d step_ns=%.1f step_vjp_ns=%.1f "
           "step_ns_med=%.1f step_vjp_ns_med=%.1f checksum=%.9g\n",
           path, so_path ? "c" : "jit", N, B, T, R, t_step[0], t_vjp[0], t_step[R / 2], t_vjp[R / 2], checksum);
    free(params);
    free(state);
    free(act);
    free(load);
    free(j0);
    free(g);
    free(g2);
    free(ga);
    free(gl);
    free(t_step);
    free(t_vjp);
    mnet_jit_model_release(jm);
    if (so)
        dlclose(so);
    mnet_compilation_free(c);
    return 0;
}
