/* io_internal.h - private helpers of the run-persistence files
 * (checkpoint.c, safetensors.c, log.c): formatted errors, little-endian
 * encoding, and atomic file replacement.  Not installed. */
#ifndef MNET_IO_INTERNAL_H
#define MNET_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Writes a formatted message to err (when err && n > 0); returns -1 so a
 * caller can `return io_err(err, n, ...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int io_err(char *err, size_t n, const char *fmt, ...);

/* ---- little-endian encoding (the byte order of every file we write) ---- */

static inline void io_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void io_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t io_get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline uint64_t io_get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void io_put_f64(unsigned char *p, double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    io_put_u64(p, u);
}

static inline double io_get_f64(const unsigned char *p)
{
    uint64_t u = io_get_u64(p);
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* 1 when the host stores integers and reals little-endian: arrays of
 * reals then go to and from disk without conversion. */
int io_host_le(void);

/* Reverses the bytes of each of n elements of `size` bytes (4 or 8). */
void io_swap_bytes(void *buf, size_t n, size_t size);

/* ---- atomic replacement ----
 * io_atomic_open creates `path`.tmp.XXXXXX (mkstemp) in the directory of
 * path and opens it for writing; io_atomic_commit flushes, fsyncs and
 * closes it, renames it over path and fsyncs the directory, so a reader
 * sees either the old file or the complete new one, also after a crash.
 * A new file gets mode 0644, a replaced file keeps its mode.  On any
 * failure (of commit too) the temporary file is removed; io_atomic_abort
 * does that after the caller's own failure.  `what` names the file's kind
 * in messages ("checkpoint", "safetensors file"). */
typedef struct io_atomic {
    FILE *f;
    char *path;     /* final path (copy)                   */
    char *tmp;      /* the temporary file, path.tmp.XXXXXX */
    const char *what;
} io_atomic;

int io_atomic_open(io_atomic *af, const char *path, const char *what, char *err, size_t n);
int io_atomic_commit(io_atomic *af, char *err, size_t n);
void io_atomic_abort(io_atomic *af);

#endif
