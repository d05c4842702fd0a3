/* mnet_repl.h - the `mnet` prompt: interactive, -c script, or a pipe. */
#ifndef MNET_REPL_H
#define MNET_REPL_H

/* script: commands separated by ';' (mnet -c), or NULL: read stdin (a
 * terminal gets line editing).  Returns the exit status. */
int mnet_repl_main(const char *script);

#endif
