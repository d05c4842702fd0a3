/* test_lower_errors.c - equations whose derivative cannot exist where it is
 * needed are compile-time errors that name the equation and its position. */
#include <stdio.h>
#include <string.h>

#include "compile.h"
#include "test_support.h"

/* Compiles text; asserts exactly one stored error containing `want` at
 * line:col. */
static void expect_error(const char *text, const char *want, int line, int col)
{
    mnet_compilation *c = mnet_compile_text("t.mnet", text, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NULL(c->eff);
    CU_ASSERT_FATAL(c->ctx->n_diags >= 1);
    const mnet_diag *d = &c->ctx->diags[0];
    if (!strstr(d->msg, want) || d->loc.line != line || d->loc.col != col)
        printf("\n  got %d:%d: %s", d->loc.line, d->loc.col, d->msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(d->msg, want));
    CU_ASSERT_EQUAL(d->loc.line, line);
    CU_ASSERT_EQUAL(d->loc.col, col);
    mnet_compilation_free(c);
}

static void test_division_by_zero(void)
{
    expect_error("import \"lib/muscles.mnet\";\n"
                 "fn bad(x) = x / (x - x);\n"
                 "effector e {\n"
                 "  skeleton point_mass(dim = 2, mass = bad(1) * 1 kg);\n"
                 "  muscles relu(max_force = 10 N) { muscle a { path world(1, 1), point(0, 0); } }\n"
                 "}\n",
                 "division by zero: the divisor '(x - x)' simplifies to 0", 2, 15);
    /* a literal zero divisor, in a muscle model's update */
    expect_error("import \"lib/activation.mnet\";\n"
                 "muscle_model m {\n"
                 "  param max_force;\n"
                 "  input u; geometry l, v;\n"
                 "  state activation = 0, force;\n"
                 "  der activation = u - activation;\n"
                 "  update { force = activation * max_force / 0; }\n"
                 "  sense l, v;\n"
                 "}\n"
                 "effector e {\n"
                 "  skeleton point_mass(dim = 2);\n"
                 "  muscles m(max_force = 10 N) { muscle a { path world(1, 1), point(0, 0); } }\n"
                 "}\n",
                 "division by zero", 7, 43);
}

static void test_coincident_path_points(void)
{
    /* coincide everywhere: two points on the same body */
    expect_error("import \"lib/muscles.mnet\";\n"
                 "effector e {\n"
                 "  skeleton point_mass(dim = 2);\n"
                 "  muscles relu(max_force = 10 N) { muscle a { path point(0, 0), point(0, 0); } }\n"
                 "}\n",
                 "coincide everywhere", 4, 65);
    /* coincide at the centre of the joint ranges (where states start) */
    expect_error("import \"lib/muscles.mnet\";\n"
                 "effector e {\n"
                 "  skeleton point_mass(dim = 2);\n"
                 "  muscles relu(max_force = 10 N) { muscle a { path world(0, 0), point(0, 0); } }\n"
                 "}\n",
                 "coincide at the centre of the joint ranges", 4, 65);
}

/* An effector of `skeleton` (a point mass or a chain) and one relu muscle. */
#define PM_EFFECTOR(skel) \
    "import \"lib/muscles.mnet\";\n" \
    "effector e {\n" \
    "  skeleton " skel ";\n" \
    "  muscles relu(max_force = 10 N) { muscle a { path world(1, 1), point(0, 0); } }\n" \
    "}\n"
#define CHAIN_EFFECTOR(links) \
    "import \"lib/muscles.mnet\";\n" \
    "effector e {\n" \
    "  skeleton planar_chain {\n" links "  }\n" \
    "  muscles relu(max_force = 10 N) { muscle a { path world(0.1, 0.1), upper(0.1, 0); } }\n" \
    "}\n"

/* Compiles text; asserts it compiles without a diagnostic. */
static void expect_ok(const char *text)
{
    mnet_compilation *c = mnet_compile_text("t.mnet", text, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    if (c->ctx->n_diags)
        printf("\n  unexpected %d:%d: %s", c->ctx->diags[0].loc.line, c->ctx->diags[0].loc.col,
               c->ctx->diags[0].msg);
    CU_ASSERT_PTR_NOT_NULL(c->eff);
    CU_ASSERT_EQUAL(c->ctx->n_diags, 0);
    mnet_compilation_free(c);
}

/* Negative or zero masses, zero-length links, non-positive inertias and a
 * negative viscosity trained without a word; now each is an error at the
 * value written. */
static void test_physical_sense(void)
{
    /* point mass: mass > 0 (at the value, column 38) */
    expect_error(PM_EFFECTOR("point_mass(dim = 2, mass = -1 kg)"), "'skeleton.mass' must be > 0 (got -1)", 3,
                 39);
    expect_error(PM_EFFECTOR("point_mass(dim = 2, mass = 0 kg)"), "'skeleton.mass' must be > 0 (got 0)", 3, 39);
    expect_ok(PM_EFFECTOR("point_mass(dim = 2, mass = 2 g)"));

    /* planar chain: each link's mass, length, inertia > 0; com free */
    expect_ok(CHAIN_EFFECTOR("    link upper(mass = 1 kg, length = 0.3 m, com = -0.1 m, inertia = 0.05);\n"));
    expect_error(CHAIN_EFFECTOR("    link upper(mass = 1 kg, length = 0 m, com = 0.1 m, inertia = 0.05);\n"),
                 "'upper.length' must be > 0 (got 0): a link of zero length does not move the end point", 4,
                 38);
    expect_error(CHAIN_EFFECTOR("    link upper(mass = 1 kg, length = 0.3 m, com = 0.1 m, inertia = 0.05);\n"
                                "    link fore(mass = 1 kg, length = -0.2 m, com = 0.1 m, inertia = 0.05);\n"),
                 "'fore.length' must be > 0 (got -0.2)", 5, 37);
    expect_error(CHAIN_EFFECTOR("    link upper(mass = -1.5 kg, length = 0.3 m, com = 0.1 m, inertia = 0.05);\n"),
                 "'upper.mass' must be > 0 (got -1.5)", 4, 23);
    expect_error(CHAIN_EFFECTOR("    link upper(mass = 1 kg, length = 0.3 m, com = 0.1 m, inertia = 0);\n"),
                 "'upper.inertia' must be > 0 (got 0)", 4, 68);
    expect_error(CHAIN_EFFECTOR("    link upper(mass = 1 kg, length = 0.3 m, com = 0.1 m, inertia = -0.05);\n"),
                 "'upper.inertia' must be > 0 (got -0.05)", 4, 68);
    /* through a constant expression, reported at its operator */
    expect_error("const half = 0.5;\n" CHAIN_EFFECTOR(
                     "    link upper(mass = 1 kg, length = (half - 0.5) * 1 m, com = 0.1 m, inertia = 0.05);\n"),
                 "'upper.length' must be > 0 (got 0)", 5, 51);
    expect_error(CHAIN_EFFECTOR("    link upper(mass = 1 kg, length = 0.3 m, com = 0.1 m, inertia = 0.05);\n"
                                "    viscosity -0.1;\n"),
                 "'skeleton.viscosity' must be >= 0 (got -0.1)", 5, 15);
    expect_ok(CHAIN_EFFECTOR("    link upper(mass = 1 kg, length = 0.3 m, com = 0.1 m, inertia = 0.05);\n"
                             "    viscosity 0;\n"));

    /* a user skeleton: parameters in kg or kgm2 are not negative, from the
     * default or from an override */
    expect_error("import \"lib/skeletons.mnet\";\n"
                 "import \"lib/muscles.mnet\";\n"
                 "effector e {\n"
                 "  skeleton two_link_arm(m2 = -1.5 kg);\n"
                 "  muscles relu(max_force = 10 N) { muscle a { path world(0.1, 0.1), upper_arm(0.1, 0); } }\n"
                 "}\n",
                 "'skeleton.m2' must be >= 0 (got -1.5): a mass is not negative", 4, 30);
    expect_error("import \"lib/skeletons.mnet\";\n"
                 "import \"lib/muscles.mnet\";\n"
                 "effector e {\n"
                 "  skeleton two_link_arm(i1 = -0.01);\n"
                 "  muscles relu(max_force = 10 N) { muscle a { path world(0.1, 0.1), upper_arm(0.1, 0); } }\n"
                 "}\n",
                 "'skeleton.i1' must be >= 0 (got -0.01): a moment of inertia", 4, 30);
    /* a parameter named viscosity means what the planar chain's does */
    expect_error("import \"lib/skeletons.mnet\";\n"
                 "import \"lib/muscles.mnet\";\n"
                 "effector e {\n"
                 "  skeleton two_link_arm(viscosity = -0.5);\n"
                 "  muscles relu(max_force = 10 N) { muscle a { path world(0.1, 0.1), upper_arm(0.1, 0); } }\n"
                 "}\n",
                 "'skeleton.viscosity' must be >= 0 (got -0.5): a negative viscosity feeds energy into the joints", 4,
                 37);
    expect_ok("import \"lib/skeletons.mnet\";\n"
              "import \"lib/muscles.mnet\";\n"
              "effector e {\n"
              "  skeleton two_link_arm(m2 = 1 kg, l1 = -0.3);\n" /* a length in m: not checked */
              "  muscles relu(max_force = 10 N) { muscle a { path world(0.1, 0.1), upper_arm(0.1, 0); } }\n"
              "}\n");
}

/* An effector of a point mass and one muscle `a`: `model` is the muscles
 * block's model with its shared parameters, `own` the muscle's own. */
#define MUSCLE_EFFECTOR(model, own) \
    "import \"lib/muscles.mnet\";\n" \
    "effector e {\n" \
    "  skeleton point_mass(dim = 2);\n" \
    "  muscles " model " {\n" \
    "    muscle a" own " { path world(1, 1), point(0, 0); }\n" \
    "  }\n" \
    "}\n"

/* A negative maximal force, a zero time constant or optimal length, a
 * negative tendon slack length or an a_min outside [0, 1) trained without a
 * word; now each is an error at the value written, with the words a `set`
 * at run time gets (effector_param_check). */
static void test_muscle_ranges(void)
{
    /* max_force > 0: shared (line 4) or the muscle's own (line 5) */
    expect_error(MUSCLE_EFFECTOR("relu(max_force = 0 N)", ""),
                 "'a.max_force' must be > 0 (got 0): a muscle without a positive maximal force does not pull", 4,
                 28);
    expect_error(MUSCLE_EFFECTOR("relu(max_force = 10 N)", "(max_force = -5 N)"),
                 "'a.max_force' must be > 0 (got -5)", 5, 26);
    expect_ok(MUSCLE_EFFECTOR("relu(max_force = 10 N)", "(max_force = 1e-3 N)"));
    /* time constants > 0, in seconds */
    expect_error(MUSCLE_EFFECTOR("relu(max_force = 10 N, tau_act = 0 ms)", ""),
                 "'a.tau_act' must be > 0 (got 0): activation follows the excitation with a positive time constant",
                 4, 44);
    expect_error(MUSCLE_EFFECTOR("relu(max_force = 10 N)", "(tau_deact = -50 ms)"),
                 "'a.tau_deact' must be > 0 (got -0.05)", 5, 26);
    /* a_min in [0, 1) */
    expect_error(MUSCLE_EFFECTOR("relu(max_force = 10 N)", "(a_min = 1)"), "'a.a_min' must be in [0, 1) (got 1)", 5,
                 22);
    expect_error(MUSCLE_EFFECTOR("relu(max_force = 10 N)", "(a_min = -0.01)"),
                 "'a.a_min' must be in [0, 1) (got -0.01)", 5, 22);
    expect_ok(MUSCLE_EFFECTOR("relu(max_force = 10 N)", "(a_min = 0.99)"));
    /* optimal_length > 0, tendon_slack >= 0 */
    expect_error(MUSCLE_EFFECTOR("thelen(max_force = 10 N, tendon_slack = 0.1 m)", "(optimal_length = 0 m)"),
                 "'a.optimal_length' must be > 0 (got 0): fibre lengths and velocities are divided by it", 5, 31);
    expect_error(MUSCLE_EFFECTOR("thelen(max_force = 10 N, optimal_length = 0.1 m)", "(tendon_slack = -0.2 m)"),
                 "'a.tendon_slack' must be >= 0 (got -0.2)", 5, 29);
    expect_ok(MUSCLE_EFFECTOR("thelen(max_force = 10 N, optimal_length = 0.1 m)", "(tendon_slack = 0 m)"));
    /* through a constant expression, reported at its operator */
    expect_error("const f = 100;\n" MUSCLE_EFFECTOR("relu(max_force = (f - 100) * 1 N)", ""),
                 "'a.max_force' must be > 0 (got 0)", 5, 38);

    /* a user's muscle model: the same names mean the same; a default out of
     * range is reported at the default */
    static const char user[] = "import \"lib/activation.mnet\";\n"
                               "muscle_model m {\n"
                               "  param max_force, tau_act: s = -15 ms, gain = -2;\n"
                               "  input u; geometry l, v;\n"
                               "  state activation = 0, force;\n"
                               "  der activation = (u - activation) / tau_act;\n"
                               "  update { force = gain * activation * max_force; }\n"
                               "  sense l, v;\n"
                               "}\n"
                               "effector e {\n"
                               "  skeleton point_mass(dim = 2);\n"
                               "  muscles m(max_force = 10) { muscle a { path world(1, 1), point(0, 0); } }\n"
                               "}\n";
    expect_error(user, "'a.tau_act' must be > 0 (got -0.015)", 3, 33);

    /* every parameter out of range is reported, each at its value */
    mnet_compilation *c = mnet_compile_text(
        "t.mnet", MUSCLE_EFFECTOR("relu(max_force = -1 N)", "(tau_act = 0 s, tau_deact = 0 s)"), NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NULL(c->eff);
    CU_ASSERT_EQUAL_FATAL(c->ctx->n_diags, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(c->ctx->diags[0].msg, "'a.max_force' must be > 0 (got -1)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c->ctx->diags[1].msg, "'a.tau_act' must be > 0 (got 0)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c->ctx->diags[2].msg, "'a.tau_deact' must be > 0 (got 0)"));
    CU_ASSERT_EQUAL(c->ctx->diags[1].loc.col, 24);
    CU_ASSERT_EQUAL(c->ctx->diags[2].loc.col, 41);
    mnet_compilation_free(c);
}

int main(void)
{
    static const mnet_test tests[] = {{"division the simplifier proves is by zero", test_division_by_zero},
                                      {"coincident path points", test_coincident_path_points},
                                      {"physically meaningless skeleton values", test_physical_sense},
                                      {"physically meaningless muscle values", test_muscle_ranges},
                                      {NULL, NULL}};
    return mnet_test_main("lower_errors", tests);
}
