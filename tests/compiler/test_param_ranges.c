/* test_param_ranges.c - every run-time parameter carries the values it may
 * take; effector_param_check accepts each library model's defaults and
 * refuses what makes no physical sense with the compile-time words. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lower_params.h"
#include "model_util.h"
#include "test_support.h"

/* Every model file of the library and the examples, with its effector. */
static const struct {
    const char *file, *effector;
} library[] = {
    {"models/ReluPointMass24.mnet", "ReluPointMass24"},
    {"models/FreePointMass24.mnet", "FreePointMass24"},
    {"models/Reacher.mnet", "Reacher"},
    {"models/RigidTendonArm26.mnet", "RigidTendonArm26"},
    {"models/CompliantTendonArm26.mnet", "CompliantTendonArm26"},
    {"models/arm210.mnet", "arm210"},
    {"examples/three_link.mnet", NULL},
    {"examples/user_muscle.mnet", NULL},
};
enum { N_LIBRARY = sizeof library / sizeof library[0] };

static int param_index(const mnet_effector *e, const char *name)
{
    for (int i = 0; i < e->n_params; i++)
        if (!strcmp(e->params[i].name, name))
            return i;
    return -1;
}

/* Asserts that `value` for parameter `name` is refused with exactly `want`. */
static void expect_refused(const mnet_effector *e, const char *name, double value, const char *want)
{
    int i = param_index(e, name);
    CU_ASSERT_FATAL(i >= 0);
    char err[512] = "";
    int rc = effector_param_check(e, i, value, err, sizeof err);
    if (rc != -1 || strcmp(err, want) != 0)
        printf("\n  %s = %.17g: rc %d, got \"%s\"\n  want \"%s\"", name, value, rc, err, want);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_STRING_EQUAL(err, want);
}

static void expect_accepted(const mnet_effector *e, const char *name, double value)
{
    int i = param_index(e, name);
    CU_ASSERT_FATAL(i >= 0);
    char err[512] = "";
    int rc = effector_param_check(e, i, value, err, sizeof err);
    if (rc != 0)
        printf("\n  %s = %.17g refused: %s", name, value, err);
    CU_ASSERT_EQUAL(rc, 0);
}

/* The default of every parameter of every library model is accepted; the
 * ranges the compiler gave are the ones the models' parameters need. */
static void test_defaults_accepted(void)
{
    int n_bounded = 0;
    for (int k = 0; k < N_LIBRARY; k++) {
        mnet_compilation *c = tm_compile_file(library[k].file, library[k].effector);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        const mnet_effector *e = c->eff;
        CU_ASSERT(e->n_params > 0);
        for (int i = 0; i < e->n_params; i++) {
            const model_param *p = &e->params[i];
            char err[512] = "";
            if (effector_param_check(e, i, p->value, err, sizeof err) != 0)
                printf("\n  %s: default refused: %s", library[k].file, err);
            CU_ASSERT_EQUAL(effector_param_check(e, i, p->value, err, sizeof err), 0);
            int bounded = p->range.lo > -INFINITY || p->range.hi < INFINITY;
            n_bounded += bounded;
            CU_ASSERT(!bounded || p->range.why != NULL); /* every bound says why */
            /* the names the compiler bounds, and only those */
            const char *dot = strrchr(p->name, '.');
            const char *last = dot ? dot + 1 : p->name;
            static const char *const named[] = {"max_force", "optimal_length", "tendon_slack", "tau_act",
                                                "tau_deact", "a_min", "mass", "length", "inertia", "viscosity",
                                                "m1", "m2", "i1", "i2"};
            int expect = 0;
            for (size_t j = 0; j < sizeof named / sizeof named[0]; j++)
                expect |= !strcmp(last, named[j]);
            if (expect != bounded)
                printf("\n  %s: '%s' %s", library[k].file, p->name, bounded ? "bounded" : "unbounded");
            CU_ASSERT_EQUAL(expect, bounded);
        }
        mnet_compilation_free(c);
    }
    CU_ASSERT(n_bounded > 100); /* arm210 alone: ten muscles of six bounded parameters */
}

/* The values the issue lists, refused with the compile-time wording. */
static void test_bad_values_refused(void)
{
    mnet_compilation *c = tm_compile_file("models/ReluPointMass24.mnet", "ReluPointMass24");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const mnet_effector *e = c->eff;
    const char *m = e->muscles[0].name;
    char name[64];
    expect_refused(e, "skeleton.mass", -1,
                   "'skeleton.mass' must be > 0 (got -1): a point mass without positive mass has no equation of motion");
    expect_refused(e, "skeleton.mass", 0,
                   "'skeleton.mass' must be > 0 (got 0): a point mass without positive mass has no equation of motion");
    expect_accepted(e, "skeleton.mass", 1e-3);
    snprintf(name, sizeof name, "%s.max_force", m);
    char want[512];
    snprintf(want, sizeof want, "'%s' must be > 0 (got -500): a muscle without a positive maximal force does not pull",
             name);
    expect_refused(e, name, -500, want);
    expect_accepted(e, name, 4140);
    snprintf(name, sizeof name, "%s.tau_act", m);
    snprintf(want, sizeof want,
             "'%s' must be > 0 (got 0): activation follows the excitation with a positive time constant", name);
    expect_refused(e, name, 0, want);
    snprintf(name, sizeof name, "%s.tau_deact", m);
    snprintf(want, sizeof want,
             "'%s' must be > 0 (got -0.05): deactivation follows the excitation with a positive time constant", name);
    expect_refused(e, name, -0.05, want);
    snprintf(name, sizeof name, "%s.a_min", m);
    snprintf(want, sizeof want,
             "'%s' must be in [0, 1) (got 1): activation lies in [a_min, 1]: below 0 a muscle pushes, at 1 it never "
             "changes",
             name);
    expect_refused(e, name, 1, want);
    expect_accepted(e, name, 0);
    /* a value just outside a bound is printed with every digit it needs */
    snprintf(want, sizeof want,
             "'%s' must be in [0, 1) (got 1.0000000000000002): activation lies in [a_min, 1]: below 0 a muscle "
             "pushes, at 1 it never changes",
             name);
    expect_refused(e, name, nextafter(1, 2), want);
    expect_accepted(e, name, nextafter(1, 0));
    /* not a number, or infinite: refused even where any value is allowed */
    expect_refused(e, "damping", NAN, "'damping' must be a finite number (got nan)");
    expect_refused(e, "damping", INFINITY, "'damping' must be a finite number (got inf)");
    expect_accepted(e, "damping", -3);
    expect_refused(e, "skeleton.mass", INFINITY,
                   "'skeleton.mass' must be > 0 (got inf): a point mass without positive mass has no equation of motion");
    /* an index outside the table; a buffer too short is cut, not overrun */
    char err[16];
    CU_ASSERT_EQUAL(effector_param_check(e, e->n_params, 1, err, sizeof err), -1);
    CU_ASSERT_EQUAL(effector_param_check(e, -1, 1, err, sizeof err), -1);
    memset(err, 'x', sizeof err);
    CU_ASSERT_EQUAL(effector_param_check(e, param_index(e, "skeleton.mass"), -1, err, 8), -1);
    CU_ASSERT_EQUAL(strlen(err), 7);
    CU_ASSERT_EQUAL(err[8], 'x');
    CU_ASSERT_EQUAL(effector_param_check(e, param_index(e, "skeleton.mass"), -1, NULL, 0), -1);
    CU_ASSERT_EQUAL(effector_param_check(e, param_index(e, "skeleton.mass"), 2, NULL, 0), 0);
    mnet_compilation_free(c);

    /* a rigid-tendon arm: the user skeleton's masses and inertias, the Hill
     * muscle's lengths */
    c = tm_compile_file("models/RigidTendonArm26.mnet", "RigidTendonArm26");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    e = c->eff;
    expect_refused(e, "skeleton.m1", -1, "'skeleton.m1' must be >= 0 (got -1): a mass is not negative");
    expect_accepted(e, "skeleton.m1", 0);
    expect_refused(e, "skeleton.i2", -0.01, "'skeleton.i2' must be >= 0 (got -0.01): a moment of inertia is not negative");
    expect_accepted(e, "skeleton.l1", -0.3); /* a length in m: not bounded */
    expect_refused(e, "skeleton.viscosity", -0.1,
                   "'skeleton.viscosity' must be >= 0 (got -0.1): a negative viscosity feeds energy into the joints");
    expect_refused(e, "biceps.optimal_length", 0,
                   "'biceps.optimal_length' must be > 0 (got 0): fibre lengths and velocities are divided by it");
    expect_refused(e, "biceps.tendon_slack", -0.2,
                   "'biceps.tendon_slack' must be >= 0 (got -0.2): a negative slack length makes the fibre longer than "
                   "the whole muscle-tendon path");
    expect_accepted(e, "biceps.tendon_slack", 0);
    expect_refused(e, "biceps.max_force", -1,
                   "'biceps.max_force' must be > 0 (got -1): a muscle without a positive maximal force does not pull");
    mnet_compilation_free(c);

    /* a planar chain: a zero-length link, a negative viscosity */
    c = tm_compile_file("examples/three_link.mnet", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    e = c->eff;
    expect_refused(e, "upper_arm.length", 0,
                   "'upper_arm.length' must be > 0 (got 0): a link of zero length does not move the end point, so the "
                   "loss cannot depend on the network");
    expect_refused(e, "hand.inertia", 0,
                   "'hand.inertia' must be > 0 (got 0): a link's moment of inertia about its centre of mass is positive");
    expect_refused(e, "forearm.mass", -1, "'forearm.mass' must be > 0 (got -1): a link has mass");
    expect_accepted(e, "forearm.com", -0.1); /* a counterweight */
    expect_refused(e, "skeleton.viscosity", -0.1,
                   "'skeleton.viscosity' must be >= 0 (got -0.1): a negative viscosity feeds energy into the joints");
    expect_accepted(e, "skeleton.viscosity", 0);
    mnet_compilation_free(c);
}

/* The run time's words are the compiler's: the error for a constant written
 * in the file is the message effector_param_check gives for a value set
 * later. */
static void test_same_words(void)
{
    static const char fmt[] = "import \"lib/muscles.mnet\";\n"
                              "effector e {\n"
                              "  skeleton point_mass(%s);\n"
                              "  muscles relu(%s) { muscle a { path world(1, 1), point(0, 0); } }\n"
                              "}\n";
    static const struct {
        const char *skeleton, *muscles; /* the file with a bad constant */
        const char *param;
        double value;                   /* the same value set later     */
    } cases[] = {
        {"dim = 2, mass = -2 kg", "max_force = 7 N", "skeleton.mass", -2},
        {"dim = 2", "max_force = -7 N", "a.max_force", -7},
        {"dim = 2", "max_force = 7 N, a_min = 1.5", "a.a_min", 1.5},
        {"dim = 2", "max_force = 7 N, tau_act = 0 s", "a.tau_act", 0},
    };
    char text[1024];
    snprintf(text, sizeof text, fmt, "dim = 2", "max_force = 7 N");
    mnet_compilation *good = tm_compile_text(text, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(text, sizeof text, fmt, cases[k].skeleton, cases[k].muscles);
        mnet_compilation *bad = mnet_compile_text("t.mnet", text, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
        CU_ASSERT_PTR_NULL(bad->eff);
        CU_ASSERT_EQUAL_FATAL(bad->ctx->n_diags, 1);
        int i = param_index(good->eff, cases[k].param);
        CU_ASSERT_FATAL(i >= 0);
        char err[512] = "";
        CU_ASSERT_EQUAL(effector_param_check(good->eff, i, cases[k].value, err, sizeof err), -1);
        if (strcmp(err, bad->ctx->diags[0].msg) != 0)
            printf("\n  compile: %s\n  run:     %s", bad->ctx->diags[0].msg, err);
        CU_ASSERT_STRING_EQUAL(err, bad->ctx->diags[0].msg);
        mnet_compilation_free(bad);
    }
    mnet_compilation_free(good);
}

int main(void)
{
    static const mnet_test tests[] = {{"every library default is in range", test_defaults_accepted},
                                      {"physically meaningless values refused", test_bad_values_refused},
                                      {"the compiler's words at run time", test_same_words},
                                      {NULL, NULL}};
    return mnet_test_main("param_ranges", tests);
}
