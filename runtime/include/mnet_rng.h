/* mnet_rng.h - counter-based random numbers (Philox4x32-10).
 *
 * Every random number is a pure function of
 *
 *     (seed, stream, element, step, index)
 *
 * so a draw does not depend on the thread count, on how the batch is split,
 * or on the order in which draws are made.  The generator is Philox4x32-10
 * (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2,
 * 3", SC11; checked against Random123's known-answer vectors in the tests):
 *
 *     key     = (seed & 0xffffffff, seed >> 32)
 *     counter = (index >> 1, step, element, stream)        four 32-bit words
 *     block   = philox4x32_10(counter, key)                 four 32-bit words
 *
 * One block gives two draws: index i takes words (0,1) when i is even and
 * words (2,3) when i is odd.  A uniform is the top 53 bits of the 64-bit
 * word pair, offset by half an ulp, so it lies strictly inside (0, 1).  A
 * Gaussian is Box-Muller on the block's two uniforms u1 = words (0,1),
 * u2 = words (2,3): sqrt(-2 ln u1) * cos(2 pi u2) for even i, * sin(...)
 * for odd i.  Uniforms and Gaussians at the same coordinates share a block,
 * so give them different streams when both are needed.
 *
 * Conventions: `element` is the global batch element (not the column in a
 * chunk), `step` the time step of the episode, `stream` names what the
 * numbers are for (hidden noise of layer l, action noise, task sampling...),
 * `index` the row/unit inside one (element, step).  Stream 0xffffffff is
 * reserved for the sequential generator below.
 *
 * The sequential generator `mnet_rng` is just (seed, counter): its draw
 * number k (uniform or normal) is the pure draw at (seed, stream =
 * MNET_RNG_STREAM_SEQ, element = k >> 32, step = 0, index = k & 0xffffffff).
 * Checkpoint it by saving the two integers.
 */
#ifndef MNET_RNG_H
#define MNET_RNG_H

#include <stdint.h>

#include "mnet_model.h"

#define MNET_RNG_STREAM_SEQ 0xffffffffu /* reserved for mnet_rng */

/* The raw generator: out = Philox4x32-10(ctr, key). */
void mnet_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Pure draws. */
double mnet_rng_uniform_at(uint64_t seed, uint32_t stream, uint32_t element,
                           uint32_t step, uint32_t index);   /* in (0, 1) */
double mnet_rng_normal_at(uint64_t seed, uint32_t stream, uint32_t element,
                          uint32_t step, uint32_t index);    /* N(0, 1)   */

/* out[r*ld + b] += sd * N(0,1) at (seed, stream, element0 + b, step, r)
 * for r < rows, b < n: the noise of a (rows x n) structure-of-arrays block
 * whose column b is batch element element0 + b.  Uses both halves of each
 * Box-Muller pair, so it costs one Philox block per two rows. */
void mnet_rng_add_normal(mnet_real *out, int rows, int n, int ld, double sd,
                         uint64_t seed, uint32_t stream, uint32_t element0,
                         uint32_t step);

/* Sequential generator: the whole state is (seed, counter). */
typedef struct mnet_rng {
    uint64_t seed;
    uint64_t counter;   /* draws made so far */
} mnet_rng;

void mnet_rng_seed(mnet_rng *r, uint64_t seed);   /* counter = 0 */
double mnet_rng_uniform(mnet_rng *r);             /* (0, 1)      */
double mnet_rng_normal(mnet_rng *r);              /* N(0, 1)     */

#endif
