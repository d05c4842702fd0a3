/* test_nn_activations.c - the float build's activations (runtime/
 * nn_internal.h: branch-free Cephes expf / tanhf, sigmoid) against double
 * libm, in ulps of the float result, over every 997th float of the range
 * that matters and at the special values.  (The double build uses libm's
 * exp and expm1; test_nn checks the network built on them.) */
#define MNET_REAL_FLOAT 1

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/nn_internal.h"
#include "test_support.h"

/* |got - ref| in units of the float spacing at ref */
static double ulps(float got, double ref)
{
    float rf = (float)ref;
    if (got == rf)
        return 0;
    double u = fabs((double)nextafterf(rf, INFINITY) - rf);
    if (!(u > 0) || isinf(u))
        u = fabs((double)rf - nextafterf(rf, 0));
    return fabs((double)got - ref) / u;
}

static void test_accuracy(void)
{
    double e_exp = 0, e_sig = 0, e_tanh = 0;
    long n = 0;
    for (uint32_t bits = 0; bits < 0x80000000u; bits += 997) {
        for (int sign = 0; sign < 2; sign++) {
            uint32_t b = bits | (sign ? 0x80000000u : 0);
            float x;
            memcpy(&x, &b, sizeof x);
            if (!(fabsf(x) <= 100.0f))
                continue;
            n++;
            double xd = x;
            if (fabsf(x) < 87.0f) {
                double e = ulps(nn_expf(x), exp(xd));
                e_exp = e > e_exp ? e : e_exp;
            }
            if (fabsf(x) < 80.0f) {
                double e = ulps(nn_sigmoid(x), 1.0 / (1.0 + exp(-xd)));
                e_sig = e > e_sig ? e : e_sig;
            }
            double e = ulps(nn_tanh(x), tanh(xd));
            e_tanh = e > e_tanh ? e : e_tanh;
        }
    }
    printf("\n  %ld values: exp %.2f ulp, sigmoid %.2f ulp, tanh %.2f ulp\n", n, e_exp, e_sig,
           e_tanh);
    CU_ASSERT(e_exp <= 1.5);
    CU_ASSERT(e_sig <= 3.0);
    CU_ASSERT(e_tanh <= 2.0);
}

static void test_special_values(void)
{
    CU_ASSERT(isnan(nn_sigmoid(NAN)));
    CU_ASSERT(isnan(nn_tanh(NAN)));
    CU_ASSERT(nn_sigmoid(0.0f) == 0.5f);
    CU_ASSERT(nn_sigmoid(INFINITY) == 1.0f);
    CU_ASSERT(nn_sigmoid(-INFINITY) >= 0.0f && nn_sigmoid(-INFINITY) < 1e-38f);
    CU_ASSERT(nn_sigmoid(-200.0f) >= 0.0f && nn_sigmoid(-200.0f) < 1e-38f);
    CU_ASSERT(nn_tanh(0.0f) == 0.0f);
    CU_ASSERT(nn_tanh(INFINITY) == 1.0f);
    CU_ASSERT(nn_tanh(-INFINITY) == -1.0f);
    CU_ASSERT(nn_tanh(1e-30f) == 1e-30f);
    CU_ASSERT(nn_tanh(-1e-30f) == -1e-30f);
    CU_ASSERT(nn_tanh(50.0f) == 1.0f && nn_tanh(-50.0f) == -1.0f);
    CU_ASSERT(isfinite(nn_expf(1000.0f)) && nn_expf(-1000.0f) > 0);
}

static const mnet_test tests[] = {
    {"float exp, sigmoid, tanh vs double libm (ulps)", test_accuracy},
    {"special values (NaN, infinities, zero, tiny, huge)", test_special_values},
    {NULL, NULL},
};

int main(void) { return mnet_test_main("nn_activations", tests); }
