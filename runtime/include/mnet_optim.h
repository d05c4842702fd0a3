/* mnet_optim.h - Adam, gradient-norm clipping and learning-rate schedules.
 *
 * The optimiser works on flat arrays: parameters, gradients and the two
 * moment buffers share one layout (mnet_nn_bind_params names the pieces), so
 * an update is one loop over n values.  The caller owns all four arrays;
 * the optimiser state proper is the step counter.
 *
 * Semantics are those of PyTorch:
 *
 *   torch.optim.Adam (amsgrad=False, maximize=False), update t = 1, 2, ...:
 *     g  = grad + wd * p                        (L2 decay, decoupled == 0)
 *     p  = p * (1 - lr * wd)                    (AdamW decay, decoupled == 1)
 *     m  = beta1 * m + (1 - beta1) * g
 *     v  = beta2 * v + (1 - beta2) * g * g
 *     p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 *   (torch evaluates the last line as p -= (lr / bc1) * m / (sqrt(v) /
 *   sqrt(bc2) + eps); the same number up to rounding).  Element arithmetic
 *   is done in double whatever mnet_real is.
 *
 *   torch.nn.utils.clip_grad_norm_(max_norm, norm_type=2): the 2-norm of all
 *   gradients together; every gradient is multiplied by
 *   min(1, max_norm / (norm + 1e-6)).  A non-finite norm is returned as is
 *   (and, as in torch with error_if_nonfinite=False, scales the gradients
 *   to NaN): the caller checks isfinite() and skips the step.
 *
 *   Schedules, as functions of k = the number of updates already made (the
 *   update with counter t uses k = t - 1, i.e. scheduler.step() after
 *   optimizer.step()):
 *     CONSTANT  lr(k) = lr
 *     STEP      lr(k) = lr * gamma^floor(k / step_size)       (StepLR)
 *     COSINE    lr(k) = eta_min + (lr - eta_min) (1 + cos(pi k / t_max)) / 2
 *               for k <= t_max, eta_min after (CosineAnnealingLR, except
 *               that torch's curve rises again after t_max; ours stays).
 */
#ifndef MNET_OPTIM_H
#define MNET_OPTIM_H

#include <stddef.h>

#include "mnet_model.h"

typedef enum mnet_sched_kind {
    MNET_SCHED_CONSTANT,
    MNET_SCHED_STEP,
    MNET_SCHED_COSINE
} mnet_sched_kind;

typedef struct mnet_sched {
    mnet_sched_kind kind;
    long step_size;     /* STEP: multiply by gamma every step_size updates */
    double gamma;       /* STEP */
    long t_max;         /* COSINE: updates from lr to eta_min              */
    double eta_min;     /* COSINE */
} mnet_sched;

typedef struct mnet_adam_config {
    double lr;            /* base learning rate (reference 1e-3)            */
    double beta1, beta2;  /* 0.9, 0.999                                      */
    double eps;           /* 1e-8                                            */
    double weight_decay;  /* 0: none                                         */
    int decoupled;        /* 0: L2 (torch Adam), 1: decoupled (torch AdamW)  */
    double clip_norm;     /* > 0: clip_grad_norm_ before each update         */
    mnet_sched sched;
} mnet_adam_config;

typedef struct mnet_adam {
    mnet_adam_config cfg;
    long t;               /* updates made so far (torch's state['step'])    */
    double last_norm;     /* gradient norm of the last update (before clip) */
    double last_lr;       /* learning rate used by the last update          */
} mnet_adam;

/* The reference recipe: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no decay,
 * clipping at 1, constant schedule. */
mnet_adam_config mnet_adam_default_config(void);

void mnet_adam_init(mnet_adam *opt, const mnet_adam_config *cfg);

/* Learning rate after k updates (see the table above). */
double mnet_sched_lr(const mnet_sched *s, double base_lr, long k);

/* clip_grad_norm_: returns the total 2-norm before clipping. */
double mnet_clip_grad_norm(mnet_real *grad, size_t n, double max_norm);

/* One update of p (n) from grad (n) with moments m, v (n, zero before the
 * first update).  Clips grad in place when cfg.clip_norm > 0.  Returns the
 * gradient norm before clipping when clipping is on, else 0. */
double mnet_adam_step(mnet_adam *opt, mnet_real *p, mnet_real *grad,
                      mnet_real *m, mnet_real *v, size_t n);

#endif
