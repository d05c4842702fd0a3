/* test_rng.c - Philox4x32-10 counter-based random numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_rng.h"
#include "test_support.h"

/* Random123's known-answer vectors (kat_vectors, philox4x32 10). */
static void test_known_answers(void)
{
    static const uint32_t cases[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int c = 0; c < 3; c++) {
        uint32_t out[4];
        mnet_philox4x32_10(cases[c], cases[c] + 4, out);
        CU_ASSERT(memcmp(out, cases[c] + 6, sizeof out) == 0);
    }
}

/* Same coordinates, same number; the order of the calls does not matter. */
static void test_call_order(void)
{
    enum { NE = 5, NS = 7, NI = 6 };
    double fwd[NE][NS][NI], uni[NE][NS][NI];
    for (int e = 0; e < NE; e++)
        for (int s = 0; s < NS; s++)
            for (int i = 0; i < NI; i++) {
                fwd[e][s][i] = mnet_rng_normal_at(77, 4, (uint32_t)e, (uint32_t)s, (uint32_t)i);
                uni[e][s][i] = mnet_rng_uniform_at(77, 4, (uint32_t)e, (uint32_t)s, (uint32_t)i);
            }
    int same = 1;
    for (int i = NI - 1; i >= 0; i--) /* reversed, index-major */
        for (int s = NS - 1; s >= 0; s--)
            for (int e = NE - 1; e >= 0; e--) {
                same &= mnet_rng_normal_at(77, 4, (uint32_t)e, (uint32_t)s, (uint32_t)i) ==
                        fwd[e][s][i];
                same &= mnet_rng_uniform_at(77, 4, (uint32_t)e, (uint32_t)s, (uint32_t)i) ==
                        uni[e][s][i];
            }
    CU_ASSERT(same);

    /* the block fill = the pure draws, however the batch is split (as
     * threads would split it): one call of 5 columns vs 2 + 3 */
    mnet_real all[NI * NE], split[NI * NE];
    memset(all, 0, sizeof all);
    memset(split, 0, sizeof split);
    mnet_rng_add_normal(all, NI, NE, NE, 0.5, 77, 4, 0, 3);
    mnet_rng_add_normal(split, NI, 2, NE, 0.5, 77, 4, 0, 3);
    mnet_rng_add_normal(split + 2, NI, 3, NE, 0.5, 77, 4, 2, 3);
    CU_ASSERT(memcmp(all, split, sizeof all) == 0);
    for (int i = 0; i < NI; i++)
        for (int e = 0; e < NE; e++)
            CU_ASSERT(all[i * NE + e] == (mnet_real)(0.5 * fwd[e][3][i]));

    /* every coordinate matters */
    double x = mnet_rng_uniform_at(77, 4, 1, 2, 3);
    CU_ASSERT(x != mnet_rng_uniform_at(78, 4, 1, 2, 3));
    CU_ASSERT(x != mnet_rng_uniform_at(77, 5, 1, 2, 3));
    CU_ASSERT(x != mnet_rng_uniform_at(77, 4, 0, 2, 3));
    CU_ASSERT(x != mnet_rng_uniform_at(77, 4, 1, 1, 3));
    CU_ASSERT(x != mnet_rng_uniform_at(77, 4, 1, 2, 2));
    CU_ASSERT(x != mnet_rng_uniform_at(77ull | (1ull << 40), 4, 1, 2, 3)); /* high seed bits */
}

/* The sequential generator: state (seed, counter) is the whole story. */
static void test_sequential(void)
{
    mnet_rng a, b;
    mnet_rng_seed(&a, 2024);
    mnet_rng_seed(&b, 2024);
    for (int k = 0; k < 10; k++)
        CU_ASSERT(mnet_rng_uniform(&a) == mnet_rng_uniform(&b));
    mnet_rng saved = a; /* checkpoint */
    double next[4];
    for (int k = 0; k < 4; k++)
        next[k] = k % 2 ? mnet_rng_normal(&a) : mnet_rng_uniform(&a);
    CU_ASSERT(a.counter == 14);
    a = saved; /* restore */
    for (int k = 0; k < 4; k++)
        CU_ASSERT(next[k] == (k % 2 ? mnet_rng_normal(&a) : mnet_rng_uniform(&a)));
    /* draw k = the pure draw at (seed, SEQ stream, k >> 32, 0, k) */
    mnet_rng c = {2024, (1ull << 32) + 5};
    CU_ASSERT(mnet_rng_uniform(&c) == mnet_rng_uniform_at(2024, MNET_RNG_STREAM_SEQ, 1, 0, 5));
    CU_ASSERT(mnet_rng_normal(&c) == mnet_rng_normal_at(2024, MNET_RNG_STREAM_SEQ, 1, 0, 6));
}

/* Moments for a fixed seed, with 5-sigma bounds:
 *   uniform:  mean 1/2, sd of the mean sqrt(1/12/N); variance 1/12, sd of
 *             the estimate sqrt((1/80 - 1/144)/N)
 *   Gaussian: mean 0, sd 1/sqrt(N); variance 1, sd sqrt(2/N)
 * and the correlation of neighbouring streams, sd 1/sqrt(N). */
static void test_moments(void)
{
    enum { N = 200000 };
    double su = 0, suu = 0, sn = 0, snn = 0, cross = 0, umin = 1, umax = 0;
    for (int k = 0; k < N; k++) {
        uint32_t e = (uint32_t)(k % 100), s = (uint32_t)(k / 100 % 50), i = (uint32_t)(k / 5000);
        double u = mnet_rng_uniform_at(12345, 1, e, s, i);
        double n = mnet_rng_normal_at(12345, 2, e, s, i);
        double n2 = mnet_rng_normal_at(12345, 3, e, s, i);
        su += u, suu += u * u, sn += n, snn += n * n, cross += n * n2;
        umin = fmin(umin, u), umax = fmax(umax, u);
    }
    double um = su / N, uv = suu / N - um * um, nm = sn / N, nv = snn / N - nm * nm;
    double corr = cross / N;
    printf("\n    uniform mean %.5f var %.5f (1/12 = %.5f) range [%.2e, 1 - %.2e]"
           "\n    normal mean %.5f var %.5f; neighbour-stream correlation %.5f\n",
           um, uv, 1.0 / 12, umin, 1 - umax, nm, nv, corr);
    CU_ASSERT(umin > 0 && umax < 1);
    CU_ASSERT(fabs(um - 0.5) <= 5 * sqrt(1.0 / 12 / N));
    CU_ASSERT(fabs(uv - 1.0 / 12) <= 5 * sqrt((1.0 / 80 - 1.0 / 144) / N));
    CU_ASSERT(fabs(nm) <= 5 / sqrt((double)N));
    CU_ASSERT(fabs(nv - 1) <= 5 * sqrt(2.0 / N));
    CU_ASSERT(fabs(corr) <= 5 / sqrt((double)N));

    /* the sequential generator too */
    mnet_rng r;
    mnet_rng_seed(&r, 7);
    double s1 = 0, s2 = 0;
    for (int k = 0; k < N; k++) {
        double n = mnet_rng_normal(&r);
        s1 += n, s2 += n * n;
    }
    CU_ASSERT(fabs(s1 / N) <= 5 / sqrt((double)N));
    CU_ASSERT(fabs(s2 / N - (s1 / N) * (s1 / N) - 1) <= 5 * sqrt(2.0 / N));
}

static const mnet_test tests[] = {
    {"Philox4x32-10 known answers", test_known_answers},
    {"pure function of coordinates, call order irrelevant", test_call_order},
    {"sequential generator and checkpoint", test_sequential},
    {"uniform and Gaussian moments", test_moments},
    {NULL, NULL},
};

int main(void) { return mnet_test_main("rng", tests); }
