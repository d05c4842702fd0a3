/* optim_adam.c - Adam (torch semantics), clip_grad_norm_, lr schedules. */
#include "mnet_optim.h"

#include <math.h>

static const double pi = 3.14159265358979323846264338327950288;

mnet_adam_config mnet_adam_default_config(void)
{
    mnet_adam_config c = {0};
    c.lr = 1e-3;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.weight_decay = 0.0;
    c.decoupled = 0;
    c.clip_norm = 1.0;
    c.sched.kind = MNET_SCHED_CONSTANT;
    c.sched.step_size = 1;
    c.sched.gamma = 1.0;
    c.sched.t_max = 1;
    c.sched.eta_min = 0.0;
    return c;
}

void mnet_adam_init(mnet_adam *opt, const mnet_adam_config *cfg)
{
    opt->cfg = *cfg;
    opt->t = 0;
    opt->last_norm = 0.0;
    opt->last_lr = cfg->lr;
}

double mnet_sched_lr(const mnet_sched *s, double base_lr, long k)
{
    switch (s->kind) {
    case MNET_SCHED_STEP:
        if (s->step_size <= 0)
            return base_lr;
        return base_lr * pow(s->gamma, (double)(k / s->step_size));
    case MNET_SCHED_COSINE:
        if (s->t_max <= 0 || k >= s->t_max)
            return s->t_max <= 0 ? base_lr : s->eta_min;
        return s->eta_min +
               (base_lr - s->eta_min) * (1.0 + cos(pi * (double)k / (double)s->t_max)) / 2.0;
    case MNET_SCHED_CONSTANT:
    default:
        return base_lr;
    }
}

double mnet_clip_grad_norm(mnet_real *grad, size_t n, double max_norm)
{
    double sumsq = 0.0;
    for (size_t i = 0; i < n; i++)
        sumsq += (double)grad[i] * (double)grad[i];
    double norm = sqrt(sumsq);
    double coef = max_norm / (norm + 1e-6);
    if (!(coef >= 1.0)) /* also scales (to NaN) when the norm is NaN, as torch */
        for (size_t i = 0; i < n; i++)
            grad[i] = (mnet_real)((double)grad[i] * coef);
    return norm;
}

double mnet_adam_step(mnet_adam *opt, mnet_real *p, mnet_real *grad,
                      mnet_real *m, mnet_real *v, size_t n)
{
    const mnet_adam_config *c = &opt->cfg;
    double norm = 0.0;
    if (c->clip_norm > 0.0)
        norm = mnet_clip_grad_norm(grad, n, c->clip_norm);

    double lr = mnet_sched_lr(&c->sched, c->lr, opt->t);
    opt->t++;
    double bc1 = 1.0 - pow(c->beta1, (double)opt->t);
    double bc2 = 1.0 - pow(c->beta2, (double)opt->t);
    double step = lr / bc1;
    double bc2_sqrt = sqrt(bc2);
    double l2 = c->decoupled ? 0.0 : c->weight_decay;
    double shrink = c->decoupled ? 1.0 - lr * c->weight_decay : 1.0;

    for (size_t i = 0; i < n; i++) {
        double pi_ = (double)p[i] * shrink;
        double g = (double)grad[i] + l2 * (double)p[i];
        double mi = c->beta1 * (double)m[i] + (1.0 - c->beta1) * g;
        double vi = c->beta2 * (double)v[i] + (1.0 - c->beta2) * g * g;
        m[i] = (mnet_real)mi;
        v[i] = (mnet_real)vi;
        p[i] = (mnet_real)(pi_ - step * mi / (sqrt(vi) / bc2_sqrt + c->eps));
    }
    opt->last_norm = norm;
    opt->last_lr = lr;
    return norm;
}
