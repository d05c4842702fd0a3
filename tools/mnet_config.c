/* mnet_config.c - a task as written (task_spec) to the runtime's
 * configuration (mnet_task_config); shared by mnet and mnetc (which embeds
 * it in the C it emits for standalone trainers). */
#include "mnet_config.h"

#include <stdio.h>
#include <string.h>

void mnet_run_config(const task_spec *t, const mnet_effector *eff, mnet_task_config *c)
{
    *c = mnet_task_config_default();
    c->kind = !strcmp(t->kind, "centre_out_reach") ? MNET_TASK_CENTRE_OUT
              : !strcmp(t->kind, "delayed_reach")  ? MNET_TASK_DELAYED_REACH
                                                   : MNET_TASK_RANDOM_REACH;
    c->duration = t->duration;
    c->proprio_delay = t->proprioception_delay < 0 ? 0 : t->proprioception_delay;
    c->vision_delay = t->vision_delay < 0 ? 0 : t->vision_delay;
    c->exact_delays = t->exact_delays;
    c->action_frames = t->action_frames;
    c->action_noise = t->noise_action;
    c->proprio_noise = t->noise_proprioception;
    c->vision_noise = t->noise_vision;
    c->obs_noise = t->noise_observation;
    c->hidden_noise = t->noise_hidden;
    c->centre_out.go_cue_lo = c->delayed.go_cue_lo = t->go_cue[0];
    c->centre_out.go_cue_hi = c->delayed.go_cue_hi = t->go_cue[1];
    c->centre_out.catch_fraction = t->catch_fraction;
    c->centre_out.distance = t->validation_distance;
    c->centre_out.angle_step_deg = t->validation_every * 180 / 3.14159265358979323846;
    for (int k = 0; k < MNET_TASK_MAX_SPACE && k < 3; k++)
        c->endpoint_load[k] = t->endpoint_load[k];
    for (int k = 0; k < MNET_TASK_MAX_DOF && k < 16; k++)
        c->joint_load[k] = t->joint_load[k];
    c->curl = t->curl;
    c->channel_stiffness = t->channel_stiffness;
    c->channel_damping = t->channel_damping;
    /* each term: compiled with the effector (row k of its loss function),
     * or one of the runtime's library */
    c->n_losses = 0;
    for (int i = 0; i < t->n_losses && i < MNET_TASK_MAX_LOSSES; i++) {
        mnet_loss_term *l = &c->loss[c->n_losses];
        l->kind = MNET_LOSS_N_KINDS;
        for (int k = 0; eff && k < eff->n_loss; k++)
            if (eff->loss_term[k] == i) {
                l->kind = MNET_LOSS_COMPILED;
                l->compiled = k;
            }
        for (int k = 0; l->kind == MNET_LOSS_N_KINDS && k < MNET_LOSS_COMPILED; k++)
            if (!strcmp(mnet_loss_name(NULL, &(mnet_loss_term){(mnet_loss_kind)k, 0, 0, 0}), t->losses[i].name))
                l->kind = (mnet_loss_kind)k;
        if (l->kind == MNET_LOSS_N_KINDS)
            continue; /* a written term of another effector's compilation */
        l->weight = t->losses[i].weight;
        l->deriv_weight = t->losses[i].derivative_weight;
        c->n_losses++;
    }
    /* F_max of each muscle, for the force-weighted activation loss */
    c->n_muscle_fmax = 0;
    for (int m = 0; eff && m < eff->n_muscles && m < MNET_TASK_MAX_MUSCLES; m++) {
        char name[256];
        snprintf(name, sizeof name, "%s.max_force", eff->muscles[m].name);
        for (int i = 0; i < eff->n_params; i++)
            if (!strcmp(eff->params[i].name, name)) {
                c->muscle_fmax[m] = eff->params[i].value;
                c->n_muscle_fmax = m + 1;
            }
    }
    if (c->n_muscle_fmax != (eff ? eff->n_muscles : 0))
        c->n_muscle_fmax = 0;
    c->cell = !strcmp(t->policy, "rnn") ? MNET_NN_RNN : !strcmp(t->policy, "mlp") ? MNET_NN_MLP : MNET_NN_GRU;
    c->n_hidden = t->hidden;
    c->n_layers = t->layers;
    c->batch_size = t->batch;
    c->n_batches = t->batches;
    c->lr = t->lr;
    c->clip_norm = t->clip_norm;
    c->weight_decay = t->weight_decay;
    c->sched.kind = !strcmp(t->schedule, "cosine") ? MNET_SCHED_COSINE
                    : !strcmp(t->schedule, "step") ? MNET_SCHED_STEP
                                                   : MNET_SCHED_CONSTANT;
    if (c->sched.kind == MNET_SCHED_COSINE) {
        c->sched.t_max = t->batches;
        c->sched.eta_min = 0;
    } else if (c->sched.kind == MNET_SCHED_STEP) {
        c->sched.step_size = t->batches / 3 > 0 ? t->batches / 3 : 1;
        c->sched.gamma = 0.1;
    }
    c->seed = (uint64_t)t->seed;
}
