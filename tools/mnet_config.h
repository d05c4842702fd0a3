/* mnet_config.h - task_spec (as written) -> mnet_task_config (runtime). */
#ifndef MNET_CONFIG_H
#define MNET_CONFIG_H

#include "mnet_task.h"
#include "model.h"
#include "task_check.h"

/* Fills cfg from the task's settings; the loss terms the effector compiled
 * (eff->loss_term) become MNET_LOSS_COMPILED rows, the others library
 * kinds.  eff may be NULL (no compiled terms, no F_max). */
void mnet_run_config(const task_spec *t, const mnet_effector *eff, mnet_task_config *cfg);

#endif
