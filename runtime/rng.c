/* rng.c - Philox4x32-10 counter-based random numbers (see mnet_rng.h). */
#include "mnet_rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u   /* round multipliers */
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u   /* key schedule (Weyl) increments */
#define PHILOX_W1 0xBB67AE85u

static const double two_pi = 6.283185307179586476925286766559;

void mnet_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* The block of index pair `block` at the given coordinates. */
static void rng_block(uint64_t seed, uint32_t stream, uint32_t element,
                      uint32_t step, uint32_t block, uint32_t out[4])
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {block, step, element, stream};
    mnet_philox4x32_10(ctr, key, out);
}

/* Two 32-bit words -> a double strictly inside (0, 1): the top 53 bits of
 * the 64-bit word, plus half an ulp (never 0, never 1, mean exactly 1/2). */
static double u01(uint32_t hi, uint32_t lo)
{
    uint64_t x = ((uint64_t)hi << 32) | lo;
    return ((double)(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double mnet_rng_uniform_at(uint64_t seed, uint32_t stream, uint32_t element,
                           uint32_t step, uint32_t index)
{
    uint32_t w[4];
    rng_block(seed, stream, element, step, index >> 1, w);
    return (index & 1) ? u01(w[2], w[3]) : u01(w[0], w[1]);
}

double mnet_rng_normal_at(uint64_t seed, uint32_t stream, uint32_t element,
                          uint32_t step, uint32_t index)
{
    uint32_t w[4];
    rng_block(seed, stream, element, step, index >> 1, w);
    double r = sqrt(-2.0 * log(u01(w[0], w[1])));
    double a = two_pi * u01(w[2], w[3]);
    return (index & 1) ? r * sin(a) : r * cos(a);
}

void mnet_rng_add_normal(mnet_real *out, int rows, int n, int ld, double sd,
                         uint64_t seed, uint32_t stream, uint32_t element0,
                         uint32_t step)
{
    for (int b = 0; b < n; b++) {
        uint32_t element = element0 + (uint32_t)b;
        for (int r = 0; r < rows; r += 2) {
            uint32_t w[4];
            rng_block(seed, stream, element, step, (uint32_t)r >> 1, w);
            double rad = sqrt(-2.0 * log(u01(w[0], w[1])));
            double a = two_pi * u01(w[2], w[3]);
            out[(long)r * ld + b] += (mnet_real)(sd * (rad * cos(a)));
            if (r + 1 < rows)
                out[(long)(r + 1) * ld + b] += (mnet_real)(sd * (rad * sin(a)));
        }
    }
}

void mnet_rng_seed(mnet_rng *r, uint64_t seed)
{
    r->seed = seed;
    r->counter = 0;
}

double mnet_rng_uniform(mnet_rng *r)
{
    uint64_t k = r->counter++;
    return mnet_rng_uniform_at(r->seed, MNET_RNG_STREAM_SEQ, (uint32_t)(k >> 32), 0,
                               (uint32_t)k);
}

double mnet_rng_normal(mnet_rng *r)
{
    uint64_t k = r->counter++;
    return mnet_rng_normal_at(r->seed, MNET_RNG_STREAM_SEQ, (uint32_t)(k >> 32), 0,
                              (uint32_t)k);
}
