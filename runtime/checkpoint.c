/* checkpoint.c - the run checkpoint: atomic save, checked load, metadata
 * helpers and CRC32.  The format is described in mnet_checkpoint.h. */
#include "mnet_checkpoint.h"
#include "mnet_settings.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io_internal.h"

#define CKPT_HEADER_SIZE 80u
#define CKPT_SECTION_HEAD 16u
#define CKPT_ENDIAN 0x01020304u
#define CKPT_STATE_SIZE 32u

/* the six sections every file has, then MASK when the network is modular */
enum { SEC_SOURCES, SEC_META, SEC_PARAMS, SEC_ADAM_M, SEC_ADAM_V, SEC_STATE, SEC_MASK, CKPT_MAX_SECTIONS };
#define CKPT_N_SECTIONS 6

static const struct {
    char tag[5];
    const char *name;
} ckpt_sections[CKPT_MAX_SECTIONS] = {
    {"SRCS", "sources"}, {"META", "metadata"}, {"PARM", "params"}, {"ADMM", "adam_m"},
    {"ADMV", "adam_v"},  {"STAT", "state"},    {"MASK", "masks"},
};

/* The first index where (mask, sign) break the rules of mnet_nn.h (mask 0
 * or 1; sign -1, 0 or 1, and 0 where the mask is), or -1. */
static long bad_mask(const mnet_real *mask, const mnet_real *sign, size_t np)
{
    for (size_t i = 0; i < np; i++)
        if (!(mask[i] == 0 || mask[i] == 1) || !(sign[i] == 0 || sign[i] == 1 || sign[i] == -1) ||
            (mask[i] == 0 && sign[i] != 0))
            return (long)i;
    return -1;
}

typedef unsigned long long ull;

/* ==== CRC32 (IEEE 802.3, reflected 0xEDB88320) ==== */

static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
    0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
    0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
    0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
    0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
    0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
    0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
    0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
    0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
    0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
    0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

uint32_t mnet_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

static const char *cell_name(mnet_nn_cell c)
{
    const char *name = mnet_name_of(mnet_cell_names, (int)c);
    return name ? name : "?";
}

static const char *precision_name(unsigned size)
{
    return size == 4 ? "float" : size == 8 ? "double" : "unknown";
}

/* ==== save ==== */

/* One contiguous piece of a section's payload; `reals` marks an array of
 * mnet_real (len bytes), converted to little-endian on a big-endian host. */
typedef struct piece {
    const void *data;
    size_t len;
    int reals;
} piece;

typedef struct writer {
    io_atomic af;
    const char *path;
    ull off;               /* bytes written so far         */
    const char *section;   /* section being written        */
} writer;

/* Calls fn(ctx, bytes, n) on the little-endian bytes of a piece. */
static void piece_bytes(const piece *pc, void (*fn)(void *, const void *, size_t), void *ctx)
{
    if (!pc->reals || io_host_le()) {
        fn(ctx, pc->data, pc->len);
        return;
    }
    mnet_real tmp[512];
    const unsigned char *p = pc->data;
    for (size_t done = 0; done < pc->len;) {
        size_t k = pc->len - done < sizeof tmp ? pc->len - done : sizeof tmp;
        memcpy(tmp, p + done, k);
        io_swap_bytes(tmp, k / sizeof(mnet_real), sizeof(mnet_real));
        fn(ctx, tmp, k);
        done += k;
    }
}

static void crc_fn(void *ctx, const void *p, size_t n)
{
    uint32_t *crc = ctx;
    *crc = mnet_crc32(*crc, p, n);
}

typedef struct write_ctx {
    writer *w;
    int failed;
    int err_no;
} write_ctx;

static void write_fn(void *ctx, const void *p, size_t n)
{
    write_ctx *c = ctx;
    if (c->failed || n == 0)
        return;
    if (fwrite(p, 1, n, c->w->af.f) != n) {
        c->failed = 1;
        c->err_no = errno;
        return;
    }
    c->w->off += n;
}

static int write_fail(writer *w, int e, char *err, size_t n)
{
    io_err(err, n,
           "cannot write checkpoint '%s': %s (section '%s', byte offset %llu); the previous "
           "checkpoint, if any, is unchanged (hint: is the disk full or a file size limit set?)",
           w->path, strerror(e ? e : EIO), w->section, w->off);
    io_atomic_abort(&w->af);
    return -1;
}

/* Writes one section: head (tag, CRC, length) and the pieces. */
static int write_section(writer *w, int idx, const piece *pcs, int npc, char *err, size_t n)
{
    ull len = 0;
    for (int i = 0; i < npc; i++)
        len += pcs[i].len;
    unsigned char head[CKPT_SECTION_HEAD];
    memcpy(head, ckpt_sections[idx].tag, 4);
    io_put_u64(head + 8, len);
    uint32_t crc = mnet_crc32(0, head, 4);
    crc = mnet_crc32(crc, head + 8, 8);
    for (int i = 0; i < npc; i++)
        piece_bytes(&pcs[i], crc_fn, &crc);
    io_put_u32(head + 4, crc);

    w->section = ckpt_sections[idx].name;
    write_ctx c = {w, 0, 0};
    piece hp = {head, sizeof head, 0};
    piece_bytes(&hp, write_fn, &c);
    for (int i = 0; i < npc && !c.failed; i++)
        piece_bytes(&pcs[i], write_fn, &c);
    return c.failed ? write_fail(w, c.err_no, err, n) : 0;
}

/* Refuses a checkpoint that could not be loaded back. */
static int check_for_save(const mnet_checkpoint *ck, mnet_nn *nn, char *err, size_t n)
{
    char msg[200];
    if (mnet_nn_setup(nn, &ck->net, msg, sizeof msg) != 0)
        return io_err(err, n, "%s", msg);
    if (ck->n_params != nn->n_params)
        return io_err(err, n, "n_params %zu does not match the network (%s I=%d H=%d L=%d O=%d "
                      "has %zu parameters)", ck->n_params, cell_name(ck->net.cell),
                      ck->net.n_input, ck->net.n_hidden, ck->net.n_layers, ck->net.n_output,
                      nn->n_params);
    if (!ck->params || !ck->adam_m || !ck->adam_v)
        return io_err(err, n, "params, adam_m and adam_v must all be given");
    if (ck->adam_t < 0 || ck->n_batches < 0)
        return io_err(err, n, "adam_t (%ld) and n_batches (%ld) must be >= 0", ck->adam_t,
                      ck->n_batches);
    if (ck->n_sources < 0 || ck->n_sources > MNET_CHECKPOINT_MAX_SOURCES)
        return io_err(err, n, "n_sources %d out of range 0 .. %d", ck->n_sources,
                      MNET_CHECKPOINT_MAX_SOURCES);
    if (ck->n_sources > 0 && !ck->sources)
        return io_err(err, n, "n_sources is %d but sources is NULL", ck->n_sources);
    for (int i = 0; i < ck->n_sources; i++) {
        const mnet_checkpoint_source *s = &ck->sources[i];
        if (!s->name || strlen(s->name) > MNET_CHECKPOINT_MAX_NAME)
            return io_err(err, n, "source %d: missing or over-long name", i);
        if (s->len > 0 && !s->text)
            return io_err(err, n, "source %d ('%s'): text is NULL", i, s->name);
    }
    if (ck->source_hash && strlen(ck->source_hash) > MNET_CHECKPOINT_MAX_HASH)
        return io_err(err, n, "source_hash longer than %d bytes", MNET_CHECKPOINT_MAX_HASH);
    if (!ck->mask != !ck->sign)
        return io_err(err, n, "mask and sign go together (one is NULL)");
    long bad = ck->mask ? bad_mask(ck->mask, ck->sign, ck->n_params) : -1;
    if (bad >= 0)
        return io_err(err, n, "parameter %ld has mask %g and sign %g", bad, (double)ck->mask[bad],
                      (double)ck->sign[bad]);
    return 0;
}

int mnet_checkpoint_save(const char *path, const mnet_checkpoint *ck, char *err, size_t n)
{
    mnet_nn nn;
    char msg[320];
    if (!ck || check_for_save(ck, &nn, msg, sizeof msg) != 0)
        return io_err(err, n, "cannot save checkpoint '%s': %s", path ? path : "(null)",
                      ck ? msg : "no checkpoint given");

    /* sources payload: counts, hash, then (name_len, text_len, name, text) */
    const int ns = ck->n_sources;
    const char *hash = ck->source_hash ? ck->source_hash : "";
    const char *meta = ck->meta ? ck->meta : "";
    unsigned char *heads = malloc((size_t)ns * 12 + 8);
    piece *pcs = malloc(((size_t)ns * 3 + 2) * sizeof *pcs);
    if (!heads || !pcs) {
        free(heads);
        free(pcs);
        return io_err(err, n, "cannot save checkpoint '%s': out of memory", path);
    }
    int npc = 0;
    io_put_u32(heads, (uint32_t)ns);
    io_put_u32(heads + 4, (uint32_t)strlen(hash));
    pcs[npc++] = (piece){heads, 8, 0};
    pcs[npc++] = (piece){hash, strlen(hash), 0};
    for (int i = 0; i < ns; i++) {
        const mnet_checkpoint_source *s = &ck->sources[i];
        unsigned char *h = heads + 8 + 12 * (size_t)i;
        io_put_u32(h, (uint32_t)strlen(s->name));
        io_put_u64(h + 4, (uint64_t)s->len);
        pcs[npc++] = (piece){h, 12, 0};
        pcs[npc++] = (piece){s->name, strlen(s->name), 0};
        pcs[npc++] = (piece){s->text, s->len, 0};
    }

    unsigned char hdr[CKPT_HEADER_SIZE] = {0};
    memcpy(hdr, MNET_CHECKPOINT_MAGIC, 8);
    const uint32_t options = (uint32_t)ck->net.candidate | (ck->net.learn_h0 ? 1u << 8 : 0);
    io_put_u32(hdr + 8, options || ck->mask ? MNET_CHECKPOINT_VERSION : 1u);
    io_put_u32(hdr + 12, CKPT_ENDIAN);
    io_put_u32(hdr + 16, (uint32_t)sizeof(mnet_real));
    io_put_u32(hdr + 20, CKPT_HEADER_SIZE);
    io_put_u32(hdr + 24, ck->mask ? CKPT_N_SECTIONS + 1 : CKPT_N_SECTIONS);
    io_put_u32(hdr + 28, (uint32_t)ck->net.cell);
    io_put_u32(hdr + 32, (uint32_t)ck->net.n_input);
    io_put_u32(hdr + 36, (uint32_t)ck->net.n_hidden);
    io_put_u32(hdr + 40, (uint32_t)ck->net.n_layers);
    io_put_u32(hdr + 44, (uint32_t)ck->net.n_output);
    io_put_u32(hdr + 48, (uint32_t)ck->net.ortho);
    io_put_u32(hdr + 52, (uint32_t)ck->net.readout);
    io_put_u64(hdr + 56, (uint64_t)ck->n_params);
    io_put_f64(hdr + 64, ck->net.readout_bias);
    io_put_u32(hdr + 72, options);
    io_put_u32(hdr + 76, mnet_crc32(0, hdr, 76));

    unsigned char state[CKPT_STATE_SIZE];
    io_put_u64(state, (uint64_t)ck->adam_t);
    io_put_u64(state + 8, ck->rng.seed);
    io_put_u64(state + 16, ck->rng.counter);
    io_put_u64(state + 24, (uint64_t)ck->n_batches);

    const size_t nb = ck->n_params * sizeof(mnet_real);
    const piece p_meta = {meta, strlen(meta), 0};
    const piece p_params = {ck->params, nb, 1};
    const piece p_m = {ck->adam_m, nb, 1};
    const piece p_v = {ck->adam_v, nb, 1};
    const piece p_state = {state, sizeof state, 0};

    writer w = {.path = path, .section = "header"};
    int rc = io_atomic_open(&w.af, path, "checkpoint", err, n);
    if (rc == 0) {
        write_ctx c = {&w, 0, 0};
        piece ph = {hdr, sizeof hdr, 0};
        piece_bytes(&ph, write_fn, &c);
        rc = c.failed ? write_fail(&w, c.err_no, err, n) : 0;
    }
    if (rc == 0)
        rc = write_section(&w, SEC_SOURCES, pcs, npc, err, n);
    if (rc == 0)
        rc = write_section(&w, SEC_META, &p_meta, 1, err, n);
    if (rc == 0)
        rc = write_section(&w, SEC_PARAMS, &p_params, 1, err, n);
    if (rc == 0)
        rc = write_section(&w, SEC_ADAM_M, &p_m, 1, err, n);
    if (rc == 0)
        rc = write_section(&w, SEC_ADAM_V, &p_v, 1, err, n);
    if (rc == 0)
        rc = write_section(&w, SEC_STATE, &p_state, 1, err, n);
    if (rc == 0 && ck->mask) {
        const piece p_mask[2] = {{ck->mask, nb, 1}, {ck->sign, nb, 1}};
        rc = write_section(&w, SEC_MASK, p_mask, 2, err, n);
    }
    if (rc == 0)
        rc = io_atomic_commit(&w.af, err, n);
    free(heads);
    free(pcs);
    return rc;
}

/* ==== load ==== */

typedef struct reader {
    FILE *f;
    const char *path;
    ull size;      /* file length                          */
    ull off;       /* offset of the next unread byte       */
    char *err;
    size_t n;
    int n_sections; /* the header's: 6, or 7 with the masks */
} reader;

/* Escapes up to 8 bytes for a message ("\x89PNG\r\n\x1a\n"). */
static void escape_start(const unsigned char *p, size_t len, char *out, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 5 < n; i++) {
        unsigned char c = p[i];
        if (c == '\n')
            k += (size_t)snprintf(out + k, n - k, "\\n");
        else if (c == '\r')
            k += (size_t)snprintf(out + k, n - k, "\\r");
        else if (c >= 32 && c < 127 && c != '"' && c != '\\')
            out[k++] = (char)c;
        else
            k += (size_t)snprintf(out + k, n - k, "\\x%02x", c);
    }
    out[k] = 0;
}

static int bad_magic(reader *r, const unsigned char *h, size_t len)
{
    char start[48];
    escape_start(h, len < 8 ? len : 8, start, sizeof start);
    const char *hint = "";
    if (len >= 9 && h[8] == '{' && io_get_u64(h) < r->size)
        hint = "; this looks like a .safetensors weights file, which holds no run state";
    else if (len >= 4 && memcmp(h, "\x89PNG", 4) == 0)
        hint = "; this looks like a PNG image";
    return io_err(r->err, r->n,
                  "'%s': not an mnet checkpoint (bad magic: the file starts with \"%s\", a "
                  "checkpoint with \"%s\")%s",
                  r->path, start, MNET_CHECKPOINT_MAGIC, hint);
}

static int truncated(reader *r, const char *section, ull off, ull need)
{
    return io_err(r->err, r->n,
                  "'%s': truncated in section '%s' at byte offset %llu: %llu bytes needed, "
                  "the file ends at byte %llu (hint: an interrupted copy or a full disk? the "
                  "run's previous checkpoint may be intact)",
                  r->path, section, off, need, r->size);
}

static int read_at(reader *r, void *dst, size_t len, const char *section)
{
    if (len == 0)
        return 0;
    if (fread(dst, 1, len, r->f) != len) {
        if (ferror(r->f))
            return io_err(r->err, r->n, "'%s': read error in section '%s' at byte offset "
                          "%llu: %s", r->path, section, r->off, strerror(errno));
        return truncated(r, section, r->off, len);  /* the file shrank under us */
    }
    r->off += len;
    return 0;
}

/* Reads the head of section idx; checks its tag and that the payload
 * fits the file (and is `want` bytes when want != ULLONG_MAX). */
static int section_head(reader *r, int idx, ull want, ull *len, uint32_t *crc)
{
    const char *name = ckpt_sections[idx].name;
    if (r->size - r->off < CKPT_SECTION_HEAD)
        return truncated(r, name, r->off, CKPT_SECTION_HEAD);
    ull at = r->off;
    unsigned char head[CKPT_SECTION_HEAD];
    if (read_at(r, head, sizeof head, name) != 0)
        return -1;
    if (memcmp(head, ckpt_sections[idx].tag, 4) != 0) {
        char tag[24];
        escape_start(head, 4, tag, sizeof tag);
        return io_err(r->err, r->n,
                      "'%s': corrupt file: expected section '%s' (tag %s) at byte offset %llu, "
                      "found tag \"%s\"", r->path, name, ckpt_sections[idx].tag, at, tag);
    }
    *crc = io_get_u32(head + 4);
    *len = io_get_u64(head + 8);
    if (want != ULLONG_MAX && *len != want)
        return io_err(r->err, r->n,
                      "'%s': corrupt section '%s' at byte offset %llu: payload length %llu, "
                      "expected %llu", r->path, name, at, *len, want);
    if (*len > r->size - r->off)
        return io_err(r->err, r->n,
                      "'%s': truncated in section '%s' at byte offset %llu: its payload of "
                      "%llu bytes would end past the end of the file (byte %llu) - the file is "
                      "cut short or the length field is corrupt",
                      r->path, name, r->off, *len, r->size);
    return 0;
}

/* Reads the payload (len bytes) into dst and checks the section's CRC. */
static int section_body(reader *r, int idx, void *dst, ull len, uint32_t crc)
{
    const char *name = ckpt_sections[idx].name;
    ull at = r->off;
    if (read_at(r, dst, (size_t)len, name) != 0)
        return -1;
    unsigned char lenb[8];
    io_put_u64(lenb, len);
    uint32_t c = mnet_crc32(0, ckpt_sections[idx].tag, 4);
    c = mnet_crc32(c, lenb, 8);
    c = mnet_crc32(c, dst, (size_t)len);
    if (c != crc)
        return io_err(r->err, r->n,
                      "'%s': CRC mismatch in section '%s' (payload at byte offset %llu, %llu "
                      "bytes): stored %08x, computed %08x - the section is corrupt",
                      r->path, name, at, len, (unsigned)crc, (unsigned)c);
    return 0;
}

static int malformed(reader *r, const char *section, ull off, const char *what)
{
    return io_err(r->err, r->n, "'%s': section '%s' is malformed at byte offset %llu: %s",
                  r->path, section, off, what);
}

/* Parses the sources payload p (len bytes, at file offset base) into one
 * allocation: the array, then the hash and every name and text, each with
 * a NUL. */
static int parse_sources(reader *r, const unsigned char *p, ull len, ull base,
                         mnet_checkpoint *out)
{
    const char *sec = "sources";
    if (len < 8)
        return malformed(r, sec, base, "shorter than its 8-byte counts");
    const uint32_t ns = io_get_u32(p), hl = io_get_u32(p + 4);
    if (ns > MNET_CHECKPOINT_MAX_SOURCES)
        return malformed(r, sec, base, "absurd number of source files");
    if (hl > MNET_CHECKPOINT_MAX_HASH || hl > len - 8)
        return malformed(r, sec, base + 4, "absurd hash length");
    ull pos = 8 + hl;
    ull total = (ull)ns * sizeof(mnet_checkpoint_source) + hl + 1;
    for (uint32_t i = 0; i < ns; i++) {
        const ull at = pos;
        if (len - pos < 12)
            return malformed(r, sec, base + at, "a source's lengths run past the section");
        ull nl = io_get_u32(p + pos), tl = io_get_u64(p + pos + 4);
        pos += 12;
        if (nl > MNET_CHECKPOINT_MAX_NAME || nl > len - pos)
            return malformed(r, sec, base + at, "absurd file name length");
        pos += nl;
        if (tl > len - pos)
            return malformed(r, sec, base + at + 4, "a source text runs past the section");
        pos += tl;
        total += nl + tl + 2;
    }
    if (pos != len)
        return malformed(r, sec, base + pos, "unexpected bytes after the last source");

    char *mem = malloc((size_t)total);
    if (!mem)
        return io_err(r->err, r->n, "'%s': out of memory for the sources (%llu bytes)", r->path,
                      total);
    mnet_checkpoint_source *src = (mnet_checkpoint_source *)mem;
    char *s = mem + (size_t)ns * sizeof *src;
    memcpy(s, p + 8, hl);
    s[hl] = 0;
    out->source_hash = s;
    s += hl + 1;
    pos = 8 + hl;
    for (uint32_t i = 0; i < ns; i++) {
        size_t nl = io_get_u32(p + pos), tl = (size_t)io_get_u64(p + pos + 4);
        pos += 12;
        memcpy(s, p + pos, nl);
        s[nl] = 0;
        src[i].name = s;
        s += nl + 1;
        pos += nl;
        memcpy(s, p + pos, tl);
        s[tl] = 0;
        src[i].text = s;
        src[i].len = tl;
        s += tl + 1;
        pos += tl;
    }
    out->owned_[0] = mem;
    out->sources = src;
    out->n_sources = (int)ns;
    return 0;
}

static int load_header(reader *r, mnet_checkpoint *out)
{
    unsigned char h[CKPT_HEADER_SIZE];
    size_t got = r->size < sizeof h ? (size_t)r->size : sizeof h;
    if (got == 0)
        return io_err(r->err, r->n, "'%s': not an mnet checkpoint (bad magic: the file is empty)",
                      r->path);
    if (fread(h, 1, got, r->f) != got)
        return io_err(r->err, r->n, "'%s': cannot read the header: %s", r->path,
                      ferror(r->f) ? strerror(errno) : "unexpected end of file");
    if (memcmp(h, MNET_CHECKPOINT_MAGIC, got < 8 ? got : 8) != 0)
        return bad_magic(r, h, got);
    if (got < 12)
        return truncated(r, "header", got, 12 - got);
    uint32_t version = io_get_u32(h + 8);
    if (version != MNET_CHECKPOINT_VERSION && version != 1)
        return io_err(r->err, r->n,
                      "'%s': checkpoint format version %u, this build reads version %u (%s)",
                      r->path, (unsigned)version, MNET_CHECKPOINT_VERSION,
                      version > MNET_CHECKPOINT_VERSION
                          ? "written by a newer mnet: upgrade this one"
                          : "written by an older mnet: it cannot be read by this one");
    if (got < CKPT_HEADER_SIZE)
        return truncated(r, "header", got, CKPT_HEADER_SIZE - got);
    r->off = CKPT_HEADER_SIZE;
    uint32_t crc = io_get_u32(h + 76), c = mnet_crc32(0, h, 76);
    if (crc != c)
        return io_err(r->err, r->n,
                      "'%s': CRC mismatch in section 'header' (byte offset 0, 76 bytes): stored "
                      "%08x, computed %08x - the header is corrupt",
                      r->path, (unsigned)crc, (unsigned)c);
    if (io_get_u32(h + 12) != CKPT_ENDIAN)
        return io_err(r->err, r->n, "'%s': bad endianness marker 0x%08x (expected 0x%08x)",
                      r->path, (unsigned)io_get_u32(h + 12), CKPT_ENDIAN);
    uint32_t rs = io_get_u32(h + 16);
    if (rs != sizeof(mnet_real))
        return io_err(r->err, r->n,
                      "'%s': precision mismatch: the checkpoint holds %s reals (%u bytes), this "
                      "build uses %s (%u bytes) (hint: load it with the %s build of mnet)",
                      r->path, precision_name(rs), (unsigned)rs,
                      precision_name((unsigned)sizeof(mnet_real)), (unsigned)sizeof(mnet_real),
                      precision_name(rs));
    const uint32_t options = io_get_u32(h + 72);
    if ((version == 1 && options != 0) || (options & ~0x1ffu) != 0)
        return io_err(r->err, r->n, "'%s': corrupt header: unknown network options 0x%08x at byte 72 "
                      "(format version %u)", r->path, (unsigned)options, (unsigned)version);
    r->n_sections = (int)io_get_u32(h + 24);
    if (io_get_u32(h + 20) != CKPT_HEADER_SIZE ||
        (r->n_sections != CKPT_N_SECTIONS && !(version > 1 && r->n_sections == CKPT_N_SECTIONS + 1)))
        return io_err(r->err, r->n, "'%s': corrupt header: header size %u, %u sections "
                      "(expected %u and %u)", r->path, (unsigned)io_get_u32(h + 20),
                      (unsigned)io_get_u32(h + 24), CKPT_HEADER_SIZE, CKPT_N_SECTIONS);

    ull np = io_get_u64(h + 56);
    mnet_nn_config *net = &out->net;
    net->cell = (mnet_nn_cell)io_get_u32(h + 28);
    net->n_input = (int)io_get_u32(h + 32);
    net->n_hidden = (int)io_get_u32(h + 36);
    net->n_layers = (int)io_get_u32(h + 40);
    net->n_output = (int)io_get_u32(h + 44);
    net->ortho = (mnet_nn_ortho)io_get_u32(h + 48);
    net->readout = (mnet_nn_readout)io_get_u32(h + 52);
    net->readout_bias = io_get_f64(h + 64);
    net->candidate = (mnet_nn_candidate)(options & 0xffu);
    net->learn_h0 = (int)(options >> 8 & 1u);
    mnet_nn nn;
    char msg[200];
    if (mnet_nn_setup(&nn, net, msg, sizeof msg) != 0)
        return io_err(r->err, r->n, "'%s': header: %s", r->path, msg);
    /* The file's length is not checked here: a truncated file is reported
     * by the section where it ends.  Every allocation below is bounded by
     * the bytes the file really has. */
    if (np != nn.n_params)
        return io_err(r->err, r->n,
                      "'%s': absurd size in the header: %llu parameters, but its network (%s "
                      "I=%d H=%d L=%d O=%d) has %zu", r->path, np, cell_name(net->cell),
                      net->n_input, net->n_hidden, net->n_layers, net->n_output, nn.n_params);
    out->n_params = (size_t)np;
    return 0;
}

/* Section idx: n reals, allocated once its length is known to be in the
 * file (*owned, for mnet_checkpoint_free), in the host's byte order, into
 * *out.  0, or -1 with the message in r. */
static int read_reals(reader *r, int idx, size_t n, void **owned, mnet_real **out)
{
    ull len;
    uint32_t crc;
    const size_t rs = sizeof(mnet_real);
    if (section_head(r, idx, (ull)n * rs, &len, &crc) != 0)
        return -1;
    mnet_real *arr = malloc(n ? n * rs : 1);
    if (!arr)
        return io_err(r->err, r->n, "'%s': out of memory for section '%s' (%zu reals)", r->path,
                      ckpt_sections[idx].name, n);
    *owned = arr;
    if (section_body(r, idx, arr, len, crc) != 0)
        return -1;
    if (!io_host_le())
        io_swap_bytes(arr, n, rs);
    *out = arr;
    return 0;
}

static int load_sections(reader *r, mnet_checkpoint *out)
{
    ull len;
    uint32_t crc;

    /* sources: read whole (bounded by the file length), then parsed */
    if (section_head(r, SEC_SOURCES, ULLONG_MAX, &len, &crc) != 0)
        return -1;
    ull base = r->off;
    unsigned char *buf = malloc(len ? (size_t)len : 1);
    if (!buf)
        return io_err(r->err, r->n, "'%s': out of memory for section 'sources' (%llu bytes)",
                      r->path, len);
    int rc = section_body(r, SEC_SOURCES, buf, len, crc);
    if (rc == 0)
        rc = parse_sources(r, buf, len, base, out);
    free(buf);
    if (rc != 0)
        return -1;

    /* metadata */
    if (section_head(r, SEC_META, ULLONG_MAX, &len, &crc) != 0)
        return -1;
    char *meta = malloc((size_t)len + 1);
    if (!meta)
        return io_err(r->err, r->n, "'%s': out of memory for section 'metadata'", r->path);
    out->owned_[1] = meta;
    base = r->off;
    if (section_body(r, SEC_META, meta, len, crc) != 0)
        return -1;
    meta[len] = 0;
    if (strlen(meta) != (size_t)len)
        return malformed(r, "metadata", base + strlen(meta), "a NUL byte in the text");
    out->meta = meta;

    /* params, adam_m, adam_v */
    const size_t np = out->n_params, rs = sizeof(mnet_real);
    mnet_real **dst[3] = {&out->params, &out->adam_m, &out->adam_v};
    for (int k = 0; k < 3; k++)
        if (read_reals(r, SEC_PARAMS + k, np, &out->owned_[2 + k], dst[k]) != 0)
            return -1;

    /* state */
    unsigned char st[CKPT_STATE_SIZE];
    if (section_head(r, SEC_STATE, CKPT_STATE_SIZE, &len, &crc) != 0)
        return -1;
    base = r->off;
    if (section_body(r, SEC_STATE, st, len, crc) != 0)
        return -1;
    uint64_t t = io_get_u64(st), nb = io_get_u64(st + 24);
    if (t > (uint64_t)LONG_MAX || nb > (uint64_t)LONG_MAX)
        return malformed(r, "state", base, "negative Adam step or batch count");
    out->adam_t = (long)t;
    out->rng.seed = io_get_u64(st + 8);
    out->rng.counter = io_get_u64(st + 16);
    out->n_batches = (long)nb;

    /* a modular network's masks and signs (2 n_params reals) */
    if (r->n_sections > CKPT_N_SECTIONS) {
        mnet_real *arr;
        base = r->off + CKPT_SECTION_HEAD;
        if (read_reals(r, SEC_MASK, 2 * np, &out->owned_[5], &arr) != 0)
            return -1;
        long bad = bad_mask(arr, arr + np, np);
        if (bad >= 0) {
            char what[160];
            snprintf(what, sizeof what, "parameter %ld has mask %g and sign %g (a mask is 0 or 1, a sign -1, 0 "
                     "or 1, and 0 where the mask is)", bad, (double)arr[bad], (double)arr[np + bad]);
            return malformed(r, "masks", base + (ull)bad * rs, what);
        }
        out->mask = arr;
        out->sign = arr + np;
    }

    if (r->off != r->size)
        return io_err(r->err, r->n,
                      "'%s': %llu unexpected bytes after the last section, at byte offset %llu "
                      "(corrupt, or not written by mnet)", r->path, r->size - r->off, r->off);
    return 0;
}

int mnet_checkpoint_load(const char *path, mnet_checkpoint *out, char *err, size_t n)
{
    if (!out)
        return io_err(err, n, "mnet_checkpoint_load: no output struct");
    memset(out, 0, sizeof *out);
    if (!path)
        return io_err(err, n, "mnet_checkpoint_load: no path");
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer
     * forever; fstat then refuses anything but a regular file */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return io_err(err, n, "cannot open checkpoint '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return io_err(err, n, "cannot stat checkpoint '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        if (S_ISDIR(st.st_mode))
            return io_err(err, n, "'%s' is a directory, not a checkpoint file", path);
        return io_err(err, n, "'%s' is not a regular file (%s); a checkpoint is a file written by mnet",
                      path, S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISCHR(st.st_mode) ? "a character device"
                          : S_ISBLK(st.st_mode) ? "a block device" : S_ISSOCK(st.st_mode) ? "a socket"
                          : "a special file");
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int e = errno;
        close(fd);
        return io_err(err, n, "cannot open checkpoint '%s': %s", path, strerror(e));
    }
    int rc;
    {
        reader r = {f, path, (ull)st.st_size, 0, err, n, 0};
        rc = load_header(&r, out);
        if (rc == 0)
            rc = load_sections(&r, out);
    }
    fclose(f);
    if (rc != 0)
        mnet_checkpoint_free(out);
    return rc;
}

void mnet_checkpoint_free(mnet_checkpoint *ck)
{
    if (!ck)
        return;
    for (int i = 0; i < 6; i++)
        free(ck->owned_[i]);
    memset(ck, 0, sizeof *ck);
}

/* ==== metadata ==== */

long mnet_checkpoint_meta_get(const char *meta, const char *key, char *val, size_t n)
{
    if (!meta || !key)
        return -1;
    size_t kl = strlen(key);
    for (const char *line = meta; *line;) {
        const char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        if (ll > kl && memcmp(line, key, kl) == 0 && line[kl] == '=') {
            const char *v = line + kl + 1;
            size_t vl = ll - kl - 1;
            if (vl > 0 && v[vl - 1] == '\r')
                vl--;
            if (val && n > 0) {
                size_t k = vl < n - 1 ? vl : n - 1;
                memcpy(val, v, k);
                val[k] = 0;
            }
            return (long)vl;
        }
        if (!end)
            break;
        line = end + 1;
    }
    return -1;
}

typedef struct meta_buf {
    char *buf;
    size_t n, len;
    int over;
} meta_buf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void meta_add(meta_buf *b, const char *fmt, ...)
{
    if (b->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->buf + b->len, b->n - b->len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= b->n - b->len) {
        b->over = 1;
        return;
    }
    b->len += (size_t)k;
}

/* Adds "key=value\n" with any line break in value replaced by a space, so
 * a name cannot break the line structure. */
static void meta_add_str(meta_buf *b, const char *key, const char *value)
{
    meta_add(b, "%s=", key);
    for (const char *p = value ? value : ""; *p && !b->over; p++)
        meta_add(b, "%c", *p == '\n' || *p == '\r' ? ' ' : *p);
    meta_add(b, "\n");
}

long mnet_checkpoint_format_meta(char *buf, size_t n, const char *effector, const char *task,
                                 const mnet_nn_config *net, const mnet_task_config *cfg)
{
    if (!buf || n == 0)
        return -1;
    buf[0] = 0;
    meta_buf b = {buf, n, 0, 0};
    meta_add_str(&b, "effector", effector);
    meta_add_str(&b, "task", task);
    if (cfg) {
        const char *kind = mnet_name_of(mnet_task_kind_names, (int)cfg->kind);
        meta_add(&b, "task.kind=%s\n", kind ? kind : "?");
    }
    if (net) {
        meta_add(&b, "network=%s I=%d H=%d L=%d O=%d\n", cell_name(net->cell), net->n_input,
                 net->n_hidden, net->n_layers, net->n_output);
        meta_add(&b, "network.cell=%s\n", cell_name(net->cell));
        meta_add(&b, "network.n_input=%d\n", net->n_input);
        meta_add(&b, "network.n_hidden=%d\n", net->n_hidden);
        meta_add(&b, "network.n_layers=%d\n", net->n_layers);
        meta_add(&b, "network.n_output=%d\n", net->n_output);
        meta_add(&b, "network.ortho=%s\n", net->ortho == MNET_NN_ORTHO_BLOCK ? "block" : "stacked");
        meta_add(&b, "network.readout_bias=%.17g\n", net->readout_bias);
        const char *ro = mnet_name_of(mnet_readout_names, (int)net->readout);
        meta_add(&b, "network.readout=%s\n", ro ? ro : "?");
        const char *cd = mnet_name_of(mnet_candidate_names, (int)net->candidate);
        meta_add(&b, "network.candidate=%s\n", cd ? cd : "?");
        meta_add(&b, "network.initial_state=%s\n", net->learn_h0 ? "learned" : "zero");
    }
    if (cfg) {
        meta_add(&b, "task.duration=%.17g\n", cfg->duration);
        meta_add(&b, "task.batch_size=%d\n", cfg->batch_size);
        meta_add(&b, "task.n_batches=%ld\n", cfg->n_batches);
        meta_add(&b, "task.lr=%.17g\n", cfg->lr);
        meta_add(&b, "task.clip_norm=%.17g\n", cfg->clip_norm);
        meta_add(&b, "task.seed=%llu\n", (ull)cfg->seed);
        meta_add(&b, "task.noise=action %g proprio %g vision %g obs %g hidden %g\n",
                 cfg->action_noise, cfg->proprio_noise, cfg->vision_noise, cfg->obs_noise,
                 cfg->hidden_noise);
        meta_add(&b, "task.delays=proprio %g vision %g%s\n", cfg->proprio_delay,
                 cfg->vision_delay, cfg->exact_delays ? " exact" : "");
        meta_add(&b, "task.loss=");
        for (int i = 0; i < cfg->n_losses && i < MNET_TASK_MAX_LOSSES; i++) {
            unsigned k = (unsigned)cfg->loss[i].kind;
            meta_add(&b, "%s%s", i ? "," : "", k < MNET_LOSS_N_KINDS ? mnet_loss_name(NULL, &cfg->loss[i]) : "?");
            if (k == MNET_LOSS_COMPILED)
                meta_add(&b, "%d", cfg->loss[i].compiled);
            meta_add(&b, ":%g:%g", cfg->loss[i].weight, cfg->loss[i].deriv_weight);
        }
        meta_add(&b, "\n");
    }
    meta_add(&b, "precision=%s\n", precision_name((unsigned)sizeof(mnet_real)));
    meta_add(&b, "mnet_version=%s\n", mnet_runtime_version());
    time_t now = time(NULL);
    struct tm tm;
    char when[32] = "unknown";
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    meta_add(&b, "created=%s\n", when);
    if (b.over) {
        buf[b.len] = 0;
        return -1;
    }
    return (long)b.len;
}

/* ==== the run in the metadata ==== */

char *mnet_checkpoint_meta_run(const char *effector, const char *task, const mnet_nn_config *net,
                               const mnet_task_config *cfg, const char *run_text)
{
    enum { HEAD_MAX = 16384 }; /* the standard lines: a few hundred bytes */
    size_t lines = 1;
    for (const char *p = run_text; *p; p++)
        lines += *p == '\n';
    size_t cap = HEAD_MAX + strlen(run_text) + 4 * lines + 1;
    char *meta = malloc(cap);
    long at = meta ? mnet_checkpoint_format_meta(meta, HEAD_MAX, effector, task, net, cfg) : -1;
    if (at < 0) {
        free(meta);
        return NULL;
    }
    for (const char *p = run_text; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        at += snprintf(meta + at, cap - (size_t)at, "run.%.*s\n", (int)len, p);
        p = end ? end + 1 : p + len;
    }
    return meta;
}

char *mnet_checkpoint_run_text(const char *meta)
{
    if (!meta)
        meta = "";
    char *text = malloc(strlen(meta) + 1);
    size_t at = 0;
    for (const char *p = meta; text && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 4 && !strncmp(p, "run.", 4)) {
            memcpy(text + at, p + 4, len - 4);
            at += len - 4;
            text[at++] = '\n';
        }
        p = end ? end + 1 : p + len;
    }
    if (text)
        text[at] = 0;
    return text;
}
