/* test_check_finite.c - `--check-finite` code reports the first non-finite
 * state row and batch element, by name. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emit_model.h"
#include "mnet_model.h"
#include "mnet_model_so.h"
#include "model_util.h"
#include "test_support.h"

static void test_reports_first_nonfinite(void)
{
    mnet_compilation *c = tm_compile_file("models/ReluPointMass24.mnet", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const mnet_effector *e = c->eff;
    char dir[] = "/tmp/mnet_finite_XXXXXX", path[64], err[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.c", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    emit_options opt = {0, 1, NULL};
    CU_ASSERT_EQUAL(emit_model_c_opts(f, e, "test", "0", &opt), 0);
    fclose(f);
    mnet_model_so *so = mnet_model_so_build(path, err, sizeof err);
    remove(path);
    rmdir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(so);
    const mnet_model *m = mnet_model_so_get(so);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->first_nonfinite);
    const int B = 3;
    int S = m->n_state, row = -1, batch = -1;
    double *params = tm_params(e), *s = calloc((size_t)S * B, sizeof(double)), *n = calloc((size_t)S * B, sizeof(double));
    double j0[4 * 3] = {0.1, 0.2, -0.1, 0.3, 0.1, 0, 0, 0, 0, 0, 0, 0};
    double act[4 * 3], load[4 * 3] = {0};
    for (int k = 0; k < 12; k++)
        act[k] = 0.5;
    const double *in0[] = {j0};
    double *out0[] = {s};
    m->init(B, B, in0, out0, params);
    const double *in[] = {s, act, load};
    double *out[] = {n};
    m->step(B, B, in, out, params);
    CU_ASSERT_EQUAL(m->first_nonfinite(&row, &batch), 0);
    act[2 * B + 1] = NAN; /* muscle 2, element 1 */
    m->step(B, B, in, out, params);
    CU_ASSERT_EQUAL_FATAL(m->first_nonfinite(&row, &batch), 1);
    CU_ASSERT_EQUAL(batch, 1);
    printf("\n  first non-finite: row %d (%s), batch element %d", row, m->state_names[row], batch);
    /* the NaN enters at the activation of muscle 2 (LowerRight) */
    CU_ASSERT_STRING_EQUAL(m->state_names[row], "muscle.activation.LowerRight");
    CU_ASSERT_EQUAL(m->first_nonfinite(&row, &batch), 0); /* reported once */
    free(params);
    free(s);
    free(n);
    mnet_model_so_free(so);
    mnet_compilation_free(c);
}

int main(void)
{
    static const mnet_test tests[] = {{"check-finite names the first bad state", test_reports_first_nonfinite},
                                      {NULL, NULL}};
    return mnet_test_main("check_finite", tests);
}
