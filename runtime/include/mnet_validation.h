/* mnet_validation.h - the size of a task's validation set (runtime/task.c).
 *
 * The centre-out and delayed reaches validate on reaches from the workspace
 * centre in fixed directions, one per angle step around a turn
 * (mnet_task_generate, validation != 0: column b gets direction
 * (element0 + b) mod n).  The set is deterministic (no noise, the go cue at
 * the middle of its range, no catch trials), so each direction is given
 * exactly once: a repeat adds nothing, and a partial one (24 directions
 * padded to a batch of 32) weighs some directions twice in the mean.
 * These belong beside mnet_task_generate in mnet_task.h. */
#ifndef MNET_VALIDATION_H
#define MNET_VALIDATION_H

#include "mnet_task.h"

/* The number of validation directions of a centre-out or delayed reach
 * (at least 1); 0 for the random reach, which has no fixed geometry. */
int mnet_task_validation_directions(const mnet_task_config *cfg);

/* How many validation episodes to generate (columns 0 .. n-1 from
 * element0 0): the number of directions for the centre-out and delayed
 * reaches, batch_size for the random reach (drawn as in training). */
int mnet_task_validation_size(const mnet_task_config *cfg, int batch_size);

#endif
