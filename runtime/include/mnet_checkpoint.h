/* mnet_checkpoint.h - a training run on disk: one self-describing binary
 * file that holds everything a run needs to resume, or to be evaluated with
 * nothing else at hand: the model's .mnet sources, a metadata block, the
 * network parameters, Adam's state, and the RNG state and batch count.
 *
 * File format, version 2 (version 1 is read too: the same layout with
 * byte 72 zero).  Every integer and real is little-endian
 * (whatever the host; a big-endian host converts); reals are IEEE-754 of
 * the size the header names.
 *
 *   header (80 bytes)
 *     0  char[8]  magic "MNETCKPT"
 *     8  u32      format version: 1 when the network options (72) are 0,
 *                 else 2 (MNET_CHECKPOINT_VERSION), so that a build that
 *                 does not know the options says the file is newer
 *    12  u32      endianness marker 0x01020304 (bytes 04 03 02 01)
 *    16  u32      sizeof(mnet_real) of the writer: 4 (float) or 8 (double)
 *    20  u32      header size (80)
 *    24  u32      number of sections (6)
 *    28  u32      network cell (mnet_nn_cell)
 *    32  i32 x 4  n_input, n_hidden, n_layers, n_output
 *    48  u32      recurrent initialisation (mnet_nn_ortho)
 *    52  u32      read-out nonlinearity (mnet_nn_readout; 0 sigmoid, as
 *                 files written before it existed)
 *    56  u64      n_params
 *    64  f64      readout_bias
 *    72  u32      network options: bits 0-7 the candidate activation
 *                 (mnet_nn_candidate), bit 8 a learned initial state
 *                 (learn_h0); no other bit may be set
 *    76  u32      CRC32 of bytes 0 .. 75
 *   then six sections in this order, each
 *     0  char[4]  tag
 *     4  u32      CRC32 of the tag, the length field and the payload
 *     8  u64      payload length in bytes
 *    16  payload
 *   tag   name       payload
 *   SRCS  sources    u32 n_sources, u32 hash_len, hash (hash_len bytes),
 *                    then per source: u32 name_len, u64 text_len, name,
 *                    text (no NUL terminators)
 *   META  metadata   text: key=value lines
 *   PARM  params     n_params reals
 *   ADMM  adam_m     n_params reals
 *   ADMV  adam_v     n_params reals
 *   STAT  state      i64 adam_t, u64 rng seed, u64 rng counter,
 *                    i64 n_batches
 *   MASK  masks      (modular networks only: then the header says 7
 *                    sections and the version is 2) n_params reals of the
 *                    mask, then n_params of the signs (mnet_nn.h: mask 0
 *                    or 1; sign -1, 0 or 1, 0 where the mask is 0); checked
 *                    when loaded
 *   and nothing after the last section.
 *
 * A modular network's masks and Dale's signs are drawn from the run's seed
 * and description when it starts, and stored (MASK): a run reopened or
 * resumed keeps the connectivity it was trained with, whatever a later
 * build draws from the same seed.  A file without MASK (written before it
 * existed) has its masks drawn again.  weights.safetensors carries them
 * too, for analysis (mnet_safetensors_save_modular).
 *
 * CRC32 is the IEEE 802.3 / zlib polynomial (reflected 0xEDB88320,
 * initial and final XOR 0xffffffff): crc32("123456789") = 0xcbf43926.
 *
 * Saving is atomic: the file is written to path.tmp.XXXXXX beside path,
 * flushed and fsynced, renamed over path, and the directory is fsynced; a
 * failed save leaves the previous file as it was and no temporary file.
 * Loading checks everything before it trusts it (sizes against the file's
 * length before any allocation, CRCs of the header and every section), and
 * every error names the file, the section and the byte offset.
 */
#ifndef MNET_CHECKPOINT_H
#define MNET_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "mnet_model.h"
#include "mnet_nn.h"
#include "mnet_rng.h"
#include "mnet_task.h"

#define MNET_CHECKPOINT_MAGIC "MNETCKPT"
#define MNET_CHECKPOINT_VERSION 2u

/* Bounds the loader enforces (and the saver, so that what is saved loads). */
#define MNET_CHECKPOINT_MAX_SOURCES 4096          /* .mnet files          */
#define MNET_CHECKPOINT_MAX_NAME 4096             /* bytes of a file name */
#define MNET_CHECKPOINT_MAX_HASH 256              /* bytes of the hash    */

/* One .mnet file the model was compiled from. */
typedef struct mnet_checkpoint_source {
    const char *name;       /* path as the compiler loaded it              */
    const char *text;       /* its contents (NUL-terminated after a load)  */
    size_t len;             /* bytes of text, not counting a NUL           */
} mnet_checkpoint_source;

/* Everything a checkpoint holds.  Saving: the caller fills the fields and
 * owns every buffer (owned_ stays NULL).  Loading: the loader allocates,
 * and mnet_checkpoint_free releases. */
typedef struct mnet_checkpoint {
    /* (a) the model: every source file the compiler loaded (the main file
     * first, then its imports, in load order) and the hash the compiler
     * computed over them (mnet_compilation.source_hash; stored verbatim). */
    int n_sources;
    const mnet_checkpoint_source *sources;  /* (n_sources)                 */
    const char *source_hash;                /* NULL on save: ""            */

    /* (b) metadata: "key=value\n" lines (mnet_checkpoint_format_meta
     * writes the standard ones; read one with mnet_checkpoint_meta_get).
     * NULL on save: empty. */
    const char *meta;

    /* (c) the network and its optimiser: params, adam_m and adam_v are
     * (n_params) each, in mnet_nn_bind_params' layout for `net`;
     * n_params must equal what mnet_nn_setup gives for net. */
    mnet_nn_config net;
    size_t n_params;
    mnet_real *params;      /* (n_params) network parameters              */
    mnet_real *adam_m;      /* (n_params) first moment                     */
    mnet_real *adam_v;      /* (n_params) second moment                    */
    long adam_t;            /* Adam updates made (mnet_adam.t)             */

    /* (d) where the run is */
    mnet_rng rng;           /* the run's sequential generator              */
    long n_batches;         /* batches done: the next batch index          */

    /* (e) a modular network's masks and Dale's signs (mnet_nn.h), the
     * trained network's own: NULL, NULL for a plain network (and in files
     * written before masks were stored) */
    const mnet_real *mask;  /* (n_params) 1: the weight exists, 0: it is 0 */
    const mnet_real *sign;  /* (n_params) +1 / -1: Dale's sign; 0: free    */

    void *owned_[6];        /* the loader's allocations; NULL on save      */
} mnet_checkpoint;

/* Writes ck to path atomically (see above).  0, or -1 with a message in
 * err (an invalid ck is refused before anything is written). */
int mnet_checkpoint_save(const char *path, const mnet_checkpoint *ck, char *err, size_t n);

/* Reads path into *out (zeroed first; on failure nothing stays allocated).
 * The file must have been written with this build's precision.  0, or -1
 * with a message in err. */
int mnet_checkpoint_load(const char *path, mnet_checkpoint *out, char *err, size_t n);

/* Frees what mnet_checkpoint_load allocated and zeroes ck.  Safe on a
 * zeroed struct; does nothing to a caller-filled one's buffers. */
void mnet_checkpoint_free(mnet_checkpoint *ck);

/* ---- metadata ---- */

/* Finds `key` in meta ("key=value" lines; the first match wins) and copies
 * its value (NUL-terminated, cut to n-1 bytes) to val.  Returns the value's
 * full length, or -1 when the key is absent. */
long mnet_checkpoint_meta_get(const char *meta, const char *key, char *val, size_t n);

/* Writes the standard metadata lines to buf (n bytes): effector, task (its
 * name), task_kind, network (a one-line summary) and its fields, the task
 * configuration summary (duration, batch_size, n_batches, lr, seed, the
 * noises and the loss terms), mnet_version and created (UTC, ISO 8601).
 * cfg may be NULL (no task lines).  Returns the length written, or -1 when
 * buf is too small (buf then holds a cut, NUL-terminated text). */
long mnet_checkpoint_format_meta(char *buf, size_t n, const char *effector, const char *task,
                                 const mnet_nn_config *net, const mnet_task_config *cfg);

/* The whole metadata of a run's checkpoint, malloc'd: the standard lines
 * (mnet_checkpoint_format_meta) and then the run text (mnet_settings.h)
 * with each line prefixed "run.".  NULL when out of memory. */
char *mnet_checkpoint_meta_run(const char *effector, const char *task, const mnet_nn_config *net,
                               const mnet_task_config *cfg, const char *run_text);
/* The run text stored in meta (its "run." lines, the prefix dropped),
 * malloc'd ("" when there is none; NULL when out of memory). */
char *mnet_checkpoint_run_text(const char *meta);

/* CRC32 (the polynomial above) of n bytes, continuing from crc (start with
 * 0): mnet_crc32(mnet_crc32(0, a, na), b, nb) == crc of a then b. */
uint32_t mnet_crc32(uint32_t crc, const void *data, size_t n);

/* The runtime's version string (version.c). */
const char *mnet_runtime_version(void);

#endif
