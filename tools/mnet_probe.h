/* mnet_probe.h - probing a trained network: run it, without training, on
 * its validation set or on any task its inputs fit (another task of a
 * file, other settings: a curl field, catch trials, longer delays, more
 * noise), deterministically from a seed, and record every episode
 * (runtime/include/mnet_record.h).  Shared by `mnet eval` and the REPL's
 * eval. */
#ifndef MNET_PROBE_H
#define MNET_PROBE_H

#include <stdio.h>

#include "mnet_session.h"

enum { MNET_PROBE_MAX_SETS = 64 };

typedef struct {
    const char *file;           /* another .mnet file's task (NULL: the run's) */
    const char *task;           /* its task (NULL: the file's last)            */
    int n_sets;
    const char *set_name[MNET_PROBE_MAX_SETS];  /* --set NAME=VALUE          */
    const char *set_value[MNET_PROBE_MAX_SETS];
    long episodes;              /* 0: the validation set; else N episodes
                                   drawn as in training from `seed`, with
                                   the task's noise                         */
    int have_seed;
    double seed;                /* the draws' seed (default: the run's)     */
    const char *out;            /* the episodes file (NULL: no file)        */
} mnet_probe;

/* Parses eval's options (argv after the command, DIR removed) into p.
 * 0, or -1 with a message printed to out (a usage error). */
int probe_parse(mnet_probe *p, int argc, char **argv, FILE *out);

void probe_free(mnet_probe *p);

/* Runs probe p on the session's trained network: prints the episodes'
 * mean loss and writes p->out.  A task whose observation does not fit the
 * network is refused with both sizes and the rows that differ; an episode
 * count whose arrays would not fit in memory is refused with the size.
 * Nothing is written on failure.  0 or 1. */
int session_probe(mnet_session *s, const mnet_probe *p, FILE *out);

#endif
