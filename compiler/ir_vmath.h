/* ir_vmath.h - sin, cos and exp of a float as straight-line double
 * arithmetic: the one definition of the constants that both emitters print,
 * ir_emit_c.c as C (static inline mnet_vm_sinf, mnet_vm_cosf, mnet_vm_expf)
 * and ir_emit_llvm.c as IR on <8 x float> (sin.vec, cos.vec, exp.vec).
 * Both compute the same IEEE operations in the same order, one operation
 * per C statement (no contraction into FMA), so they agree bit for bit, and
 * the C form has no call and no branch but sin's and cos's rare fallback,
 * so a compiler can vectorise it (docs/compiler.md, "sin, cos and exp in
 * float").  Double precision keeps libm's sin, cos and exp.
 *
 * The float argument is widened to double (exactly) and the result rounded
 * back to float once; the double computation is accurate to a few double
 * ulp, so the float result is the correctly rounded one except where the
 * exact value lies within about 1e-16 (relative) of a midpoint between two
 * floats.
 *
 * sin(x), cos(x), |x| <= VM_SINCOS_LIMIT (otherwise, and for NaN and
 * infinities, libm's sinf / cosf):
 *   t  = x * (2/pi) + 1.5 * 2^52      t's low bits hold n = round(x * 2/pi)
 *   nd = t - 1.5 * 2^52               n as a double
 *   r  = ((x - nd*P1) - nd*P2) - nd*P2T      in [-pi/4, pi/4]; nd*P1 and
 *                                     nd*P2 are exact for |n| < 2^20
 *   z = r*r;  s = r + (r*z) * S(z);  c = (1 - 0.5*z) + (z*z) * C(z)
 *   q = bits(t) (+1 for cos):  v = q&1 ? c : s;  v = q&2 ? -v : v
 * S and C are fdlibm's __kernel_sin / __kernel_cos polynomials (error below
 * 2^-58 on [-pi/4, pi/4]), in Horner form from the highest coefficient.
 *
 * exp(x), every float x:
 *   xc = x < -150 ? -150 : x > 150 ? 150 : x     (NaN passes; the clamped
 *                                     values give 0 and inf in float)
 *   t  = xc * (1/ln 2) + 1.5 * 2^52;  kd = t - 1.5 * 2^52    k = round(x/ln 2)
 *   r  = (xc - kd*LN2_HI) - kd*LN2_LO  in [-ln2/2, ln2/2]; kd*LN2_HI exact
 *   p  = 1 + r*(1 + r*(1/2! + r*(1/3! + ... + r*(1/12!))))   (Taylor, the
 *        remainder below 2e-16)
 *   2^k = bits((bits(t) + 1023) << 52)         (k + 1023 in [806, 1240])
 *   exp = p * 2^k, rounded to float */
#ifndef MNET_IR_VMATH_H
#define MNET_IR_VMATH_H

#define VM_SHIFTER 0x1.8p52              /* 1.5 * 2^52: x + it rounds x to an integer */
#define VM_TWO_OVER_PI 0x1.45f306dc9c883p-1
#define VM_PIO2_1 0x1.921fb544p0          /* pi/2: the first 33 bits        */
#define VM_PIO2_2 0x1.0b4611a6p-34        /* the next 33                    */
#define VM_PIO2_2T 0x1.3198a2e037073p-69  /* pi/2 - P1 - P2, rounded        */
#define VM_SINCOS_LIMIT 0x1p20            /* |x| above: libm (|n| < 2^20)   */

/* fdlibm's __kernel_sin S1..S6 and __kernel_cos C1..C6 */
#define VM_SIN_NCOEF 6
#define VM_SIN_COEFS                                                                           \
    {-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,      \
     2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10}
#define VM_COS_COEFS                                                                           \
    {4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,       \
     -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11}

#define VM_EXP_CLAMP 150.0
#define VM_INV_LN2 0x1.71547652b82fep0
#define VM_LN2_HI 0x1.62e42feep-1         /* ln 2: the first 32 bits (k*it exact) */
#define VM_LN2_LO 0x1.a39ef35793c76p-33   /* ln 2 - LN2_HI, rounded         */
/* exp's Taylor polynomial: 1/k! for k = 0..12 (the doubles nearest to them) */
#define VM_EXP_NCOEF 13
#define VM_EXP_COEFS                                                                           \
    {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,       \
     1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600}

#endif
