/* source.h - reading .mnet files and following their imports. */
#ifndef MNET_SOURCE_H
#define MNET_SOURCE_H

#include "diag.h"

enum { MNET_MAX_SOURCE_BYTES = 16 << 20 }; /* 16 MiB: larger is not a model */

/* Reads, parses and recursively imports `path`.  `from` is the location of
 * the import statement (mnet_no_loc() for a file named on the command line).
 * A file imported twice (by canonical path) is loaded once; a cycle is an
 * error naming the chain.  Returns the source index, or -1. */
int mnet_load_file(mnet_ctx *ctx, const char *path, src_loc from);

/* Parses an in-memory text (REPL, tests) and follows its imports relative to
 * the search path.  Returns the source index, or -1. */
int mnet_load_text(mnet_ctx *ctx, const char *name, const char *text, long len);

#endif
