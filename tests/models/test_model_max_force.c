/* test_model_max_force.c - the model table's muscle_max_force (mnet_model.h):
 * for every effector of every library model file (the .mnet files of
 * models/, listed when the test runs) the JIT's table points each muscle at its
 * "<muscle>.max_force" parameter; for a muscle model without max_force both
 * routes (the C emitter through the system compiler, and the JIT) give -1,
 * and the runtime refuses the model for activation_l2 only. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit_model.h"
#include "mnet_model_so.h"
#include "mnet_train.h"
#include "model_util.h"
#include "test_support.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* One effector through the JIT: the indices against the names. */
static void check_effector(const char *path, const char *effector, int *n_checked)
{
    mnet_compilation *c = mnet_compile(path, effector, stderr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_NULL(c->eff);
    if (!c->eff) {
        mnet_compilation_free(c);
        return;
    }
    char err[512];
    mnet_jit_model *jm = jit_model_build(c->eff, c->source_hash, 0, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(jm);
    if (jm) {
        const mnet_model *m = jit_model_get(jm);
        int with_force = 0;
        CU_ASSERT_EQUAL(tm_check_max_force(m, effector, &with_force), 0);
        CU_ASSERT_EQUAL(with_force, m->n_muscles); /* every library muscle has one */
        printf("\n    %s: %d muscles, max_force at", effector, m->n_muscles);
        for (int k = 0; k < m->n_muscles; k++)
            printf(" %d", m->muscle_max_force[k]);
        (*n_checked)++;
    } else {
        printf("\n    %s: %s", effector, err);
    }
    jit_model_free(jm);
    mnet_compilation_free(c);
}

static void test_library(void)
{
    char dir[2048], path[4096];
    snprintf(dir, sizeof dir, "%s/models", MNET_SOURCE_DIR);
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    int n_checked = 0;
    for (struct dirent *ent; (ent = readdir(d));) {
        if (ent->d_name[0] == '.' || !ends_with(ent->d_name, ".mnet"))
            continue;
        if (strlen(dir) + strlen(ent->d_name) + 2 > sizeof path)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        /* the file's effectors: every effector definition it loads */
        mnet_compilation *c = mnet_compile(path, NULL, stderr);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_PTR_NOT_NULL(c->eff);
        for (int i = 0; c->eff && i < c->prog.n_defs; i++)
            if (c->prog.defs[i].kind == DEF_EFFECTOR)
                check_effector(path, c->prog.defs[i].name, &n_checked);
        mnet_compilation_free(c);
    }
    closedir(d);
    printf("\n    %d effectors checked\n", n_checked);
    CU_ASSERT(n_checked >= 6);
}

/* A muscle model whose force parameter is called `strength`. */
static const char no_max_force[] =
    "import \"lib/activation.mnet\";\n"
    "muscle_model pull {\n"
    "  param strength: N;\n"
    "  param a_min = 0.01, tau_act: s = 15 ms, tau_deact: s = 50 ms;\n"
    "  input u;\n"
    "  geometry l_mt, v_mt;\n"
    "  state activation = a_min, muscle_length, muscle_velocity, force;\n"
    "  der activation = activation_rate(u, activation, a_min, tau_act, tau_deact);\n"
    "  update {\n"
    "    activation = clamp(activation + dt * der(activation), a_min, 1);\n"
    "    muscle_length = l_mt;\n"
    "    muscle_velocity = v_mt;\n"
    "    force = activation * strength;\n"
    "  }\n"
    "  sense muscle_length, muscle_velocity;\n"
    "}\n"
    "effector pull_mass {\n"
    "  skeleton point_mass(dim = 2, mass = 1 kg);\n"
    "  muscles pull(strength = 200 N) {\n"
    "    muscle right { path world(2, 0), point(0, 0); }\n"
    "    muscle left  { path world(-2, 0), point(0, 0); }\n"
    "  }\n"
    "  step 10 ms;\n"
    "}\n";

static void expect_refused(const mnet_model *m, const char *route)
{
    char err[512] = "";
    mnet_task_config cfg = mnet_task_config_default();
    cfg.duration = 0.05;
    cfg.batch_size = 2;
    cfg.n_hidden = 4;
    cfg.n_losses = 2;
    cfg.loss[0] = (mnet_loss_term){.kind = MNET_LOSS_POSITION_L1, .weight = 1};
    cfg.loss[1] = (mnet_loss_term){.kind = MNET_LOSS_ACTIVATION_L2, .weight = 0.5};
    mnet_train *tr = mnet_train_new(m, NULL, &cfg, err, sizeof err);
    CU_ASSERT_PTR_NULL(tr);
    CU_ASSERT(strstr(err, "'right'") != NULL && strstr(err, "max_force") != NULL);
    printf("\n    %s: %s", route, err);
    mnet_train_free(tr);
    cfg.loss[1].weight = 0; /* no activation term: no F_max needed */
    tr = mnet_train_new(m, NULL, &cfg, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(tr);
    if (!tr)
        printf("\n    %s: %s", route, err);
    double loss = 0;
    CU_ASSERT(tr && mnet_train_loss(tr, 0, &loss) == 0 && loss > 0);
    mnet_train_free(tr);
}

static void test_no_max_force(void)
{
    mnet_compilation *c = tm_compile_text(no_max_force, "pull_mass");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    char err[512];
    /* the JIT */
    mnet_jit_model *jm = jit_model_build(c->eff, c->source_hash, sizeof(mnet_real) == 4, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jm);
    const mnet_model *jt = jit_model_get(jm);
    int with_force = -1;
    CU_ASSERT_EQUAL(tm_check_max_force(jt, "pull_mass (JIT)", &with_force), 0);
    CU_ASSERT_EQUAL(with_force, 0);
    CU_ASSERT_EQUAL(jt->n_muscles, 2);
    CU_ASSERT(jt->muscle_max_force[0] == -1 && jt->muscle_max_force[1] == -1);
    expect_refused(jt, "JIT");
    /* the C emitter, through the system compiler */
    char dir[] = "/tmp/mnet_max_force_XXXXXX", cpath[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(cpath, sizeof cpath, "%s/model.c", dir);
    CU_ASSERT_FATAL(mnet_write_c(c, cpath, "<test>", sizeof(mnet_real) == 4) == 0);
    mnet_model_so *so = mnet_model_so_build(cpath, err, sizeof err);
    remove(cpath);
    rmdir(dir);
    CU_ASSERT_PTR_NOT_NULL(so);
    if (so) {
        const mnet_model *ct = mnet_model_so_get(so);
        CU_ASSERT_EQUAL(tm_check_max_force(ct, "pull_mass (C)", NULL), 0);
        for (int k = 0; k < ct->n_muscles; k++)
            CU_ASSERT_EQUAL(ct->muscle_max_force[k], jt->muscle_max_force[k]);
        expect_refused(ct, "C");
    } else {
        printf("\n    C route: %s", err);
    }
    printf("\n");
    mnet_model_so_free(so);
    jit_model_free(jm);
    mnet_compilation_free(c);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"every library effector: muscle_max_force names <muscle>.max_force", test_library},
        {"a muscle model without max_force: -1 in both routes, refused for activation_l2", test_no_max_force},
        {NULL, NULL}};
    return mnet_test_main("model_max_force", tests);
}
