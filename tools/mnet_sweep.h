/* mnet_sweep.h - a study on one machine: `mnet sweep` trains the Cartesian
 * product of seeds and settings, each run in its own directory, several at
 * once, by running this same binary's `mnet train` as a child process per
 * run; `mnet plot` and `mnet eval` of a sweep directory (docs/sweeps.md).
 *
 *   mnet sweep FILE.mnet [--task NAME] --seeds 1-10 [--set NAME=V1,V2,...]...
 *              [--jobs N] [--batches N] [--yes] --out DIR
 *   mpirun -np R mnet sweep ...           the runs shared by R ranks
 *                                         (--jobs per rank; docs/cluster.md)
 *   mnet plot SWEEP_DIR [--out DIR]       loss by condition (mean +- sd)
 *   mnet eval SWEEP_DIR [eval options]    mnet eval of every finished run
 */
#ifndef MNET_SWEEP_H
#define MNET_SWEEP_H

/* 1 when the command line argv (argv[1] the command) is the sweep's:
 * `sweep`, or `plot`/`eval` of a directory holding a sweep.txt. */
int mnet_sweep_owns(int argc, char **argv);

/* Runs it; argv[0] is the command ("sweep", "plot" or "eval").  The exit
 * status: 0, 1 (a run failed), 2 (refused before anything ran), 130
 * (interrupted). */
int mnet_sweep_main(int argc, char **argv);

#endif
