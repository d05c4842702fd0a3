/* test_api.c - libmnet's C API (mnet.h) through the shared library only:
 * version and ABI; compile errors returned as diagnostics; sizes and names;
 * step_vjp against central differences; an environment's episode (its
 * order of calls refused when wrong); a run trained in memory and into a
 * directory, opened again and its policy stepped; and every entry point
 * given NULL handles and buffers returns an error instead of crashing.
 * Exits non-zero on any failure.  usage: test_api SOURCE_DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet.h"

static int failures;
#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            failures++;                                                                   \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            printf(__VA_ARGS__);                                                          \
            printf("\n");                                                                 \
        }                                                                                 \
    } while (0)

static void test_null_handles(void)
{
    char err[256];
    double d[64] = {0};
    float f[64] = {0};
    int done;
    CHECK(mn_compile(NULL, err, sizeof err) == NULL && err[0], "mn_compile(NULL)");
    CHECK(mn_compile_text("x", NULL, err, sizeof err) == NULL, "mn_compile_text NULL text");
    CHECK(mn_effector_step(NULL, 1, d, d, NULL, d, err, sizeof err) == MN_EINVAL, "step NULL effector");
    CHECK(mn_effector_step_vjp(NULL, 1, d, d, NULL, d, d, d, NULL, err, sizeof err) == MN_EINVAL, "vjp NULL");
    CHECK(mn_effector_init(NULL, 1, d, d, NULL, 0) == MN_EINVAL, "init NULL, no err buffer");
    CHECK(mn_effector_size(NULL, MN_N_STATE) == -1 && mn_effector_names(NULL, 0, 0) == NULL, "sizes NULL");
    CHECK(isnan(mn_effector_step_size(NULL)) && mn_effector_run_text(NULL) == NULL, "step size NULL");
    CHECK(mn_env_new(NULL, NULL, 1, err, sizeof err) == NULL, "env NULL effector");
    CHECK(mn_env_reset(NULL, 1, 0, f, err, sizeof err) == MN_EINVAL, "reset NULL");
    CHECK(mn_env_step(NULL, f, f, NULL, NULL, &done, err, sizeof err) == MN_EINVAL, "env step NULL");
    CHECK(mn_env_get(NULL, 0, f, err, sizeof err) == MN_EINVAL && mn_env_size(NULL, 0) == -1, "env get NULL");
    CHECK(mn_run_open(NULL, err, sizeof err) == NULL && mn_run_text(NULL) == NULL, "run NULL");
    CHECK(mn_run_weights(NULL, f, 1, err, sizeof err) == MN_EINVAL && mn_run_net(NULL, 0) == -1, "weights NULL");
    CHECK(mn_policy_new(NULL, err, sizeof err) == NULL, "policy NULL run");
    CHECK(mn_policy_reset(NULL, NULL, err, sizeof err) == MN_EINVAL, "policy reset NULL");
    CHECK(mn_policy_act(NULL, f, f, err, sizeof err) == MN_EINVAL, "policy act NULL");
    CHECK(mn_trainer_new(NULL, NULL, NULL, err, sizeof err) == NULL, "trainer NULL");
    CHECK(mn_trainer_resume(NULL, err, sizeof err) == NULL, "resume NULL");
    CHECK(mn_trainer_train(NULL, 1, err, sizeof err) == MN_EINVAL && mn_trainer_batches(NULL) == -1, "train NULL");
    mn_trainer_stop(NULL);
    mn_effector_free(NULL);
    mn_env_free(NULL);
    mn_run_free(NULL);
    mn_policy_free(NULL);
    mn_trainer_free(NULL);
}

static void test_compile_errors(void)
{
    char err[4096] = "";
    mn_effector *e = mn_compile_text("bad.mnet", "effector x {", err, sizeof err);
    CHECK(!e && strstr(err, "bad.mnet:1:") && strstr(err, "^"), "diagnostics returned: %s", err);
    e = mn_compile_file("/nonexistent/x.mnet", err, sizeof err);
    CHECK(!e && err[0], "missing file: %s", err);
}

static void test_effector(mn_effector *e)
{
    char err[512];
    const int n = 2, S = mn_effector_size(e, MN_N_STATE), M = mn_effector_size(e, MN_N_MUSCLES),
              D = mn_effector_size(e, MN_N_DOF), NL = mn_effector_size(e, MN_N_LOAD);
    CHECK(S > 0 && M > 0 && D > 0 && NL > 0, "sizes %d %d %d %d", S, M, D, NL);
    CHECK(mn_effector_names(e, MN_NAMES_STATE, 0) && !mn_effector_names(e, MN_NAMES_STATE, S), "names");
    CHECK(mn_effector_size(e, 99) == -1 && mn_effector_names(e, 99, 0) == NULL, "unknown size / list");
    double lo[16], hi[16], *joint0 = calloc((size_t)2 * D * n, sizeof(double));
    double *s = malloc(sizeof(double) * S * n), *s1 = malloc(sizeof(double) * S * n),
           *s2 = malloc(sizeof(double) * S * n), *g = malloc(sizeof(double) * S * n),
           *gs = malloc(sizeof(double) * S * n), *ga = malloc(sizeof(double) * M * n),
           *a = malloc(sizeof(double) * M * n);
    mn_effector_joint_range(e, lo, hi, err, sizeof err);
    for (int j = 0; j < D; j++)
        for (int b = 0; b < n; b++)
            joint0[j * n + b] = lo[j] + (hi[j] - lo[j]) * (0.4 + 0.1 * b);
    CHECK(mn_effector_init(e, n, joint0, s, err, sizeof err) == MN_OK, "init: %s", err);
    for (int i = 0; i < M * n; i++)
        a[i] = 0.3 + 0.05 * (i % 7);
    for (int i = 0; i < S * n; i++)
        g[i] = sin(1.0 + i);
    CHECK(mn_effector_step_vjp(e, n, s, a, NULL, g, gs, ga, NULL, err, sizeof err) == MN_OK, "vjp: %s", err);
    double worst = 0;
    for (int k = 0; k < M; k++) {
        const double h = 1e-6;
        for (int b = 0; b < n; b++) {
            a[k * n + b] += h;
            mn_effector_step(e, n, s, a, NULL, s1, err, sizeof err);
            a[k * n + b] -= 2 * h;
            mn_effector_step(e, n, s, a, NULL, s2, err, sizeof err);
            a[k * n + b] += h;
            double fd = 0;
            for (int r = 0; r < S; r++)
                fd += (s1[r * n + b] - s2[r * n + b]) * g[r * n + b] / (2 * h);
            double rel = fabs(fd - ga[k * n + b]) / (1e-6 + fabs(fd));
            worst = rel > worst ? rel : worst;
        }
    }
    printf("step_vjp d/d action against central differences: max relative error %.2e\n", worst);
    CHECK(worst < 1e-5, "step_vjp error %g", worst);
    CHECK(mn_effector_step(e, 0, s, a, NULL, s1, err, sizeof err) == MN_EINVAL, "n = 0 refused");
    CHECK(mn_effector_step(e, n, s, NULL, NULL, s1, err, sizeof err) == MN_EINVAL && strstr(err, "NULL"),
          "NULL buffer refused: %s", err);
    CHECK(mn_effector_set_param(e, 0, NAN, err, sizeof err) == MN_EINVAL, "NaN parameter refused");
    CHECK(mn_effector_set_param(e, 99999, 1, err, sizeof err) == MN_EINVAL, "parameter index refused");
    free(joint0), free(s), free(s1), free(s2), free(g), free(gs), free(ga), free(a);
}

static void test_env(mn_effector *e)
{
    char err[512];
    CHECK(mn_env_new(e, NULL, 0, err, sizeof err) == NULL, "n = 0 refused");
    CHECK(mn_env_new(e, "frobnicate=1\n", 2, err, sizeof err) == NULL && strstr(err, "frobnicate"),
          "unknown setting refused: %s", err);
    mn_env *env = mn_env_new(e, NULL, 3, err, sizeof err);
    CHECK(env != NULL, "env: %s", err);
    if (!env)
        return;
    const int n = 3, I = mn_env_size(env, MN_ENV_OBS), M = mn_env_size(env, MN_ENV_ACTIONS),
              T = mn_env_size(env, MN_ENV_STEPS), L = mn_env_size(env, MN_ENV_LOSSES);
    float *obs = malloc(sizeof(float) * I * n), *act = malloc(sizeof(float) * M * n);
    double reward[3], *terms = malloc(sizeof(double) * (L + 1) * n);
    int done = 0;
    for (int i = 0; i < M * n; i++)
        act[i] = 0.2f;
    CHECK(mn_env_step(env, act, obs, reward, terms, &done, err, sizeof err) == MN_ESTATE, "step before reset");
    CHECK(mn_env_reset(env, 7, 0, obs, err, sizeof err) == MN_OK, "reset: %s", err);
    CHECK(mn_env_reset(env, 7, 64, obs, err, sizeof err) == MN_EINVAL, "unknown flag refused");
    CHECK(mn_env_reset(env, 7, 0, obs, err, sizeof err) == MN_OK, "reset: %s", err);
    int steps = 0;
    while (!done && steps < T + 5) {
        CHECK(mn_env_step(env, act, obs, reward, terms, &done, err, sizeof err) == MN_OK, "step: %s", err);
        steps++;
        CHECK(isfinite(reward[0]) && reward[0] <= 0, "reward %g", reward[0]);
    }
    CHECK(steps == T && mn_env_size(env, MN_ENV_T) == T, "an episode is %d steps (took %d)", T, steps);
    CHECK(mn_env_step(env, act, obs, reward, terms, &done, err, sizeof err) == MN_ESTATE, "step past done");
    mn_env_free(env);
    free(obs), free(act), free(terms);
}

static void test_training(mn_effector *e)
{
    char err[1024], dir[] = "/tmp/mnet_test_api_XXXXXX", run_dir[600];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    /* a short run: 4 batches of 4 episodes */
    const char *base = mn_effector_run_text(e);
    size_t len = strlen(base) + 64;
    char *text = malloc(len);
    snprintf(text, len, "%strain.batch=4\ntrain.batches=4\n", base);
    /* in memory */
    mn_trainer *t = mn_trainer_new(e, text, NULL, err, sizeof err);
    CHECK(t && mn_trainer_train(t, 2, err, sizeof err) == MN_OK && mn_trainer_batches(t) == 2, "in memory: %s", err);
    mn_trainer_free(t);
    /* into a directory, then opened as a run */
    t = mn_trainer_new(e, text, run_dir, err, sizeof err);
    CHECK(t != NULL, "trainer: %s", err);
    CHECK(mn_trainer_new(e, text, run_dir, err, sizeof err) == NULL, "a second trainer in the same directory");
    CHECK(t && mn_trainer_train(t, 0, err, sizeof err) == MN_OK && mn_trainer_batches(t) == 4, "train: %s", err);
    CHECK(t && isfinite(mn_trainer_loss(t)), "loss");
    mn_trainer_free(t);
    mn_run *r = mn_run_open(run_dir, err, sizeof err);
    CHECK(r != NULL, "run: %s", err);
    if (r) {
        CHECK(mn_run_batches(r) == 4, "batches %ld", mn_run_batches(r));
        mn_env *env = mn_env_new(mn_run_effector(r), mn_run_text(r), 2, err, sizeof err);
        mn_policy *p = mn_policy_new(r, err, sizeof err);
        const int I = mn_env_size(env, MN_ENV_OBS), M = mn_env_size(env, MN_ENV_ACTIONS);
        float *obs = malloc(sizeof(float) * I * 2), *y = malloc(sizeof(float) * M * 2);
        int done = 0;
        CHECK(mn_policy_reset(p, env, err, sizeof err) == MN_ESTATE, "policy before the env's reset");
        CHECK(mn_env_reset(env, 1, 0, obs, err, sizeof err) == MN_OK, "reset");
        CHECK(mn_policy_act(p, obs, y, err, sizeof err) == MN_ESTATE, "act before reset");
        CHECK(mn_policy_reset(p, env, err, sizeof err) == MN_OK, "policy reset: %s", err);
        while (!done) {
            CHECK(mn_policy_act(p, obs, y, err, sizeof err) == MN_OK, "act: %s", err);
            CHECK(y[0] > 0 && y[0] < 1, "output %g", y[0]);
            CHECK(mn_env_step(env, y, obs, NULL, NULL, &done, err, sizeof err) == MN_OK, "step: %s", err);
        }
        free(obs), free(y);
        mn_policy_free(p);
        mn_env_free(env);
        mn_run_free(r);
    }
    t = mn_trainer_resume(run_dir, err, sizeof err);
    CHECK(t && mn_trainer_train(t, 6, err, sizeof err) == MN_OK && mn_trainer_batches(t) == 6, "resume: %s", err);
    mn_trainer_free(t);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
    free(text);
}

int main(int argc, char **argv)
{
    CHECK(mn_abi() == MN_ABI && !strcmp(mn_version(), MN_VERSION), "ABI %d, version %s", mn_abi(), mn_version());
    test_null_handles();
    test_compile_errors();
    char path[4096], err[4096];
    snprintf(path, sizeof path, "%s/examples/reach_point_mass.mnet", argc > 1 ? argv[1] : ".");
    mn_effector *e = mn_compile_file(path, err, sizeof err);
    CHECK(e != NULL, "compile %s: %s", path, err);
    if (e) {
        test_effector(e);
        test_env(e);
        test_training(e);
        mn_effector_free(e);
    }
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
