/* mock_effector.h - a small hand-written mnet_model for the runtime tests:
 * a 2-D point mass pulled by 4 muscles, with exact hand-derived VJPs.
 *
 * Muscle m runs from the mass at q to an anchor A_m at (+-2, +-2) (order
 * ur, ul, lr, ll as ReluPointMass24).  With l = |q - A_m|, e = (q - A_m)/l
 * (the unit vector from the anchor to the mass):
 *   activation  a' = a + dt (u - a) / tau         (no clamping: smooth)
 *   force       F  = a Fmax (old activation), pulling the mass towards A_m
 *   skeleton    qdd = (-sum_m F_m e_m + f_end + f_joint - c qd) / mass
 *               qd' = qd + dt qdd,  q' = q + dt qd'   (semi-implicit Euler)
 * State rows (MODELS.md section 1, 40 rows):
 *   joint      q (2), qd (2)
 *   cartesian  q (2), qd (2)
 *   muscle     activation, length = l, velocity = e . qd, force = a Fmax
 *   geometry   l_mt = l, v_mt = e . qd, moment arms e_x, e_y
 * Sense: [q, length / l_o, velocity / vmax].  Points: one, "point", the
 * cartesian rows.
 * Parameters: mass, damping, tau, then per muscle <name>.max_force, <name>.l_o,
 * <name>.vmax (muscle_max_force points at the first).  step_vjp writes out[2] = d / d load when
 * out[2] != NULL (the runtime always passes it). */
#ifndef MNET_MOCK_EFFECTOR_H
#define MNET_MOCK_EFFECTOR_H

#include "mnet_model.h"

extern const mnet_model mnet_mock_pm4;

/* The model without the load gradient (step_vjp ignores out[2]), as a
 * compiled model that predates it. */
extern const mnet_model mnet_mock_pm4_noload;

/* Row and parameter indices. */
enum {
    MOCK_NQ = 2,
    MOCK_NM = 4,
    MOCK_JOINT = 0,
    MOCK_CART = 4,
    MOCK_MUSCLE = 8,  /* activation 8..11, length 12..15, velocity 16..19, force 20..23 */
    MOCK_GEOM = 24,   /* l_mt 24..27, v_mt 28..31, arm x 32..35, arm y 36..39 */
    MOCK_NSTATE = 40,
    MOCK_NSENSE = 10,
    MOCK_NLOAD = 4,
    MOCK_P_MASS = 0,
    MOCK_P_DAMPING = 1,
    MOCK_P_TAU = 2,
    MOCK_P_MUSCLE = 3, /* + 3m: Fmax, l_o, vmax */
    MOCK_NPARAMS = 15
};

#endif
