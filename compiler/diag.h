/* diag.h - the compilation context: sources, arena and collected diagnostics.
 *
 * Diagnostics are collected, never printed or exit()ed from inside the
 * library; the driver (mnetc, the REPL) decides what to do with them.  After
 * `max_errors` errors further ones are counted but not stored.
 */
#ifndef MNET_DIAG_H
#define MNET_DIAG_H

#include <stdio.h>

#include "ast.h"

typedef struct {
    char *path;         /* as given or resolved                     */
    char *real;         /* canonical path (realpath), for identity  */
    char *text;         /* NUL-terminated contents                  */
    long len;
    ast_stmt *items;    /* parsed top-level statements              */
    int parsed;         /* 1 once parsed (even with errors)         */
} mnet_source;

typedef struct {
    src_loc loc;
    int is_note;        /* a note attached to the previous error    */
    char *msg;
} mnet_diag;

typedef struct mnet_ctx {
    mnet_arena arena;           /* AST and strings of all sources          */
    mnet_source *sources;       /* (n_sources)                             */
    int n_sources, cap_sources;
    mnet_diag *diags;           /* (n_diags)                               */
    int n_diags, cap_diags;
    int n_errors;               /* all errors, stored or not               */
    int max_errors;             /* store at most this many (default 50)    */
    int suppress_notes;         /* the last error was a repeat: drop notes */
    const char **search_path;   /* directories searched for imports        */
    int n_search;
    /* memory mode (a checkpoint's sources): the files that exist, by
     * normalised name; nothing is read from disk */
    int n_memory;
    const char **memory_names;  /* (n_memory) in the arena                 */
    const char **memory_texts;  /* (n_memory) in the arena                 */
    long *memory_lens;          /* (n_memory)                              */
} mnet_ctx;

mnet_ctx *mnet_ctx_new(void);
void mnet_ctx_free(mnet_ctx *ctx);
void mnet_ctx_add_search_dir(mnet_ctx *ctx, const char *dir);

/* Memory mode: the n files (names, texts of lens bytes) are all there is;
 * loads and imports resolve among them by name (source.c) and the disk is
 * never read.  Copies everything.  0 or -1 (out of memory). */
int mnet_ctx_set_memory_sources(mnet_ctx *ctx, int n, const char *const *names, const char *const *texts,
                                const size_t *lens);

/* A path made plain without the file system: "." and empty components
 * dropped, "a/.." folded (a leading ".." of a relative path stays).
 * malloc'd. */
char *mnet_path_normalise(const char *path);

/* Adds a source from memory (for tests and the REPL); returns its index. */
int mnet_ctx_add_text(mnet_ctx *ctx, const char *name, const char *text, long len);

#if defined(__GNUC__)
#define MNET_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MNET_PRINTF(a, b)
#endif

void mnet_error(mnet_ctx *ctx, src_loc loc, const char *fmt, ...) MNET_PRINTF(3, 4);
void mnet_note(mnet_ctx *ctx, src_loc loc, const char *fmt, ...) MNET_PRINTF(3, 4);

/* FILE:LINE:COL: error: MESSAGE, the source line and a caret under COL. */
void mnet_print_diags(const mnet_ctx *ctx, FILE *out);

/* A location with no file (command-line, internal). */
src_loc mnet_no_loc(void);

#endif
