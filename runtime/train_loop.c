/* train_loop.c - the training loop every front end calls (mnet_train.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mnet_log.h"
#include "mnet_train.h"

enum { ZERO_GRAD_WARN = 10 };

double mnet_loop_loss_last100(const mnet_loop *loop)
{
    long k = loop->n_trained < 100 ? loop->n_trained : 100;
    if (k == 0)
        return NAN;
    double sum = 0;
    for (long i = 0; i < k; i++)
        sum += loop->ring[(loop->n_trained - 1 - i) % 100];
    return sum / (double)k;
}

static int save(mnet_loop *loop, char *err, size_t n)
{
    return loop->checkpoint ? loop->checkpoint(loop->checkpoint_ctx, err, n) : 0;
}

int mnet_train_loop(mnet_train *tr, mnet_loop *loop, long end, long first_of_run, long end_of_run, FILE *warn,
                    char *err, size_t n)
{
    mnet_progress bar;
    if (loop->progress)
        mnet_progress_init(&bar, loop->progress, first_of_run, end_of_run, loop->progress_mode, 0);
    loop->interrupted = 0;
    int status = 0;
    long since_save = 0;
    while (loop->batch < end) {
        if (loop->stop && *loop->stop) {
            loop->interrupted = 1;
            break;
        }
        double t0 = mnet_progress_now(), loss;
        if (mnet_train_step(tr, loop->batch, &loss) != 0) {
            snprintf(err, n, "stopped: %s", mnet_train_error(tr));
            if (tr->undone) /* the previous batch's update was undone */
                loop->batch--;
            status = -1;
            break;
        }
        double ms = 1e3 * (mnet_progress_now() - t0);
        loop->ms_total += ms;
        loop->net_ms_total += tr->net_ms;
        loop->ring[loop->n_trained++ % 100] = loss;
        if (loop->log && mnet_trainlog_write(loop->log, loop->batch, loss, tr->loss_terms, tr->grad_norm,
                                             tr->opt.last_lr, ms) != 0) {
            snprintf(err, n, "%s", loop->log->err);
            loop->batch++; /* the update was made: the checkpoint holds it */
            status = -1;
            break;
        }
        /* a gradient of exactly zero batch after batch trains nothing */
        loop->zero_grad = tr->grad_norm == 0 ? loop->zero_grad + 1 : 0;
        if (warn && loop->zero_grad == ZERO_GRAD_WARN) {
            if (loop->progress)
                mnet_progress_finish(&bar);
            fprintf(warn,
                    "mnet: warning: the gradient has been exactly zero for %d batches (%ld..%ld): nothing is "
                    "learning.  Likely: the network's outputs all lie where the effector clamps them (e.g. a "
                    "muscle's a_min above the read-out's output: sigmoid(readout_bias) = %.3g), or every loss "
                    "weight is 0\n",
                    ZERO_GRAD_WARN, loop->batch - ZERO_GRAD_WARN + 1, loop->batch,
                    1 / (1 + exp(-tr->cfg.readout_bias)));
        }
        if (loop->progress)
            mnet_progress_update(&bar, loop->batch, loss);
        loop->batch++;
        if (loop->checkpoint_every > 0 && ++since_save >= loop->checkpoint_every && loop->batch < end) {
            since_save = 0;
            if (save(loop, err, n) != 0) {
                status = -1;
                break;
            }
        }
    }
    if (loop->progress)
        mnet_progress_finish(&bar);
    /* the state at the end (or the last good one: a failed batch made no
     * update) is saved whatever happened */
    char serr[512] = "";
    if (save(loop, serr, sizeof serr) != 0) {
        if (status == 0)
            snprintf(err, n, "%s", serr);
        else if (warn)
            fprintf(warn, "mnet: %s\n", serr);
        status = -1;
    }
    return status;
}
