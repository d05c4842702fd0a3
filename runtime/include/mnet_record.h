/* mnet_record.h - everything recorded: a trained network rolled out on a
 * set of episodes, every array of the rollout written into one safetensors
 * file (mnet_safetensors.h), for analysis in numpy / PyTorch.
 *
 * The episodes file (format "mnet-episodes", version 1).  Every tensor is
 * F32, BATCH-MAJOR: [episode, step, row] (numpy's C order: the row varies
 * fastest).  With N episodes of T steps, and the sizes I (network inputs),
 * H (hidden units per layer), M (muscles), D (joint coordinates),
 * P (space dimensions), NL = P + D (load rows), K (body points):
 *
 *   tensor          shape        meaning
 *   obs             [N,T,I]      network input of step t (with its noise);
 *                                rows named by names.obs
 *   hidden.<l>      [N,T,H]      layer l's state h'_t after step t
 *                                (l = 0 .. L-1, the bottom layer first)
 *   output          [N,T,M]      network output y_t, before action noise
 *   action          [N,T,M]      y_t + action noise: what the effector got
 *                                (it clamps what it must)
 *   load            [N,T,NL]     load applied at step t: end point force
 *                                (P rows, N), then joint torques (D, N m)
 *   joint.q         [N,T+1,D]    joint position of state s_t (s_0 initial)
 *   joint.qd        [N,T+1,D]    joint velocity
 *   endpoint.pos    [N,T+1,P]    end point position (m)
 *   endpoint.vel    [N,T+1,P]    end point velocity (m/s)
 *   muscle.<row>    [N,T+1,M]    each muscle state row of the model
 *                                (names.muscle_row: activation, force, ...)
 *   body.points     [N,T+1,K,P]  the model's body points (mnet_model.h;
 *                                only for a model with a `points` function)
 *   target          [N,T+1,P]    position the loss asks for at s_t
 *   goal, start     [N,P]        the reach goal (a catch trial: the start),
 *                                the end point of the initial state
 *   go_time         [N]          drawn go cue (s); 0 without a cue
 *   catch           [N]          1.0: catch trial, else 0.0
 *   loss.<term>     [N,T+1]      each loss term's value per step, UNWEIGHTED
 *                                and without its derivative part: the sum
 *                                over the term's rows of phi(q_t) as
 *                                mnet_task.h defines the term; state terms
 *                                at t = 0 .. T, JERK from t = 2 (NaN
 *                                before), HIDDEN_L2 at t = 0 .. T-1 (the
 *                                outputs h'_t; NaN at T), a compiled term
 *                                its row of the model's loss function.
 *                                The term's loss is weight * the mean over
 *                                the episodes and the non-NaN steps (plus
 *                                deriv_weight times its derivative part,
 *                                which is not recorded).
 *
 * Step t's network input, hidden states, output, action and load belong to
 * the transition s_t -> s_{t+1}; the state arrays have T+1 entries, s_0 to
 * s_T.  A term name that occurs twice gets ".<k>" (its index) appended.
 *
 * __metadata__ (all values strings):
 *   format          "pt" (written by mnet_safetensors_save for every file)
 *   mnet.format     "mnet-episodes"          version   "1"
 *   layout          "batch-major [episode, step, row]"
 *   step            seconds per step (%.17g)
 *   n_episodes, n_steps                      N and T
 *   names.joint     D joint names, comma-separated
 *   names.muscle    M muscle names
 *   names.muscle_row  the muscle state rows (the muscle.<row> tensors)
 *   names.point     K point names ("" without points)
 *   names.load      NL load rows: endpoint.<axis>..., joint.<joint>...
 *   names.obs       I input rows: goal.<axis>, go (delayed reach),
 *                   vision.<axis>@t-<a>, proprio.length.<muscle>@t-<a>,
 *                   proprio.velocity.<muscle>@t-<a>, action.<muscle>@t-<f>:
 *                   "@t-a" is the step the value was sensed at (the state
 *                   s_{t-a}; before s_0 the initial state) or for an action
 *                   frame the step it was taken (zeros before step 0)
 *   names.loss      the loss terms (the loss.<term> tensors, in order)
 *   loss.weight, loss.deriv_weight  their weights, comma-separated %.17g
 *   noise           "off", or "seed=<s> element0=<e>" (episode b's draws at
 *                   element e + b)
 *   names.hidden    a modular network only: each hidden unit's module and
 *                   its index within it, "pmd:0,pmd:1,...,m1:31" (the rows
 *                   of hidden.0, in unit order)
 * and the caller's pairs after them (a key the file already has is
 * refused).  Axes are named x, y, z.
 *
 * A rollout whose loss is not finite is recorded as it is (NaNs and all).
 * The file is written atomically.  Its data are the sum of the tensors'
 * sizes (mnet_record_bytes); the rollout (every state row) and the tensors
 * are held in memory, as mnet_real, while it is written
 * (mnet_record_memory).
 */
#ifndef MNET_RECORD_H
#define MNET_RECORD_H

#include <stddef.h>

#include "mnet_task.h"
#include "mnet_train.h"

#define MNET_RECORD_VERSION 1

/* The data bytes (after the header) of the episodes file of n_episodes
 * episodes of the run tr: for refusing what would not fit.  0 when the
 * size does not fit a size_t. */
size_t mnet_record_bytes(const mnet_train *tr, int n_episodes);

/* The memory mnet_record_episodes takes at most for n_episodes episodes
 * (bytes; 0 when it does not fit a size_t). */
size_t mnet_record_memory(const mnet_train *tr, int n_episodes);

/* Rolls the network of tr out on the ep->n_cols episodes of ep (any
 * number; B columns at a time, as mnet_train_eval, with noise nz: NULL or
 * nz->on == 0 for none) and writes everything to path (the layout above).
 * meta_kv: NULL, or extra "key", "value", ... pairs ending with NULL (the
 * run text, the task, the effector...).  0, or -1 with a message in err;
 * the previous file at path, if any, is then unchanged. */
int mnet_record_episodes(mnet_train *tr, const mnet_episode *ep, const mnet_noise_key *nz,
                         const char *const *meta_kv, const char *path, char *err, size_t n);

#endif
