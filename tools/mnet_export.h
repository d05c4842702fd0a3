/* mnet_export.h - `mnet export`: a trained controller as one C file.
 *
 *   mnet export DIR -o FILE.c [--precision float|double] [--with-plant]
 *
 * Opens DIR/checkpoint.mnetckpt (the run, rebuilt from its stored sources:
 * session_open) and writes FILE.c holding the trained network's weights as
 * static const arrays (exact: %.9g in float, %.17g in double) and its
 * forward pass in plain loops, behind a small API:
 *
 *   mnet_ctrl c;
 *   mnet_ctrl_init(&c);                    everything zero
 *   mnet_ctrl_reset(&c);                   a new episode: hidden state 0
 *   mnet_ctrl_step(&c, observation, action);
 *
 * With --with-plant the file also holds the effector (the compiler's C
 * with the run text embedded, compile.h's mnet_write_c_run), the run's
 * parameter values, the observation pipeline (delays, action frames; no
 * noise, as the validation rollouts) and the task's loads, as a closed loop
 * (mnet_sim_reset / mnet_sim_step) plus the run's validation set.  A run
 * with a force channel is refused (its load is not exported).
 * docs/export.md describes the file, its memory and its precision.
 *
 * Everything is generated in memory and written to a temporary file beside
 * FILE.c, renamed over it at the end: on any error nothing is written. */
#ifndef MNET_EXPORT_H
#define MNET_EXPORT_H

/* argv: the arguments after "export".  Prints what it wrote (stdout) and
 * errors (stderr, "mnet export: ...").  Exit status: 0 written, 1 bad input
 * or a failed write, 2 usage. */
int mnet_export_main(int argc, char **argv);

#endif
