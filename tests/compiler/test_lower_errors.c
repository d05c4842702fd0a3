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

int main(void)
{
    static const mnet_test tests[] = {{"division the simplifier proves is by zero", test_division_by_zero},
                                      {"coincident path points", test_coincident_path_points},
                                      {NULL, NULL}};
    return mnet_test_main("lower_errors", tests);
}
