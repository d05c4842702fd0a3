/* test_checkpoint.c - run checkpoints: bit-exact round trip, atomic
 * replacement (the old file survives a failed write, no temporary file is
 * left), and a clear error - never a crash - for every truncation, every
 * flipped byte, foreign files, other versions and precisions, and absurd
 * sizes.  Run it under ASan (MNET_SANITIZE=ON) too. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnet_checkpoint.h"
#include "test_support.h"

#define HDR 80
#define SEC_HEAD 16

static const char *const sec_names[6] = {"sources", "metadata", "params",
                                         "adam_m",  "adam_v",   "state"};

/* ---- a scratch directory per test ---- */

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/mnet_ckpt_XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            remove(p);
        }
    closedir(d);
    rmdir(dir);
}

static void path_in(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

/* Files in dir whose name contains ".tmp." */
static int count_tmp(void)
{
    DIR *d = opendir(dir);
    int k = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            k++;
    if (d)
        closedir(d);
    return k;
}

static int write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int bad = fwrite(p, 1, n, f) != n;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

static unsigned char *read_all(const char *path, long *len)
{
    return (unsigned char *)mnet_read_file(path, len);
}

/* ---- a checkpoint with awkward contents ---- */

typedef struct fixture {
    mnet_checkpoint ck;
    mnet_checkpoint_source src[3];
    mnet_real *buf;
    char meta[2048];
} fixture;

static const char main_text[] = "import \"lib/muscles.mnet\"\n# a model: caf\xc3\xa9\neffector e {}\n";
static const char lib_text[] = "muscle m {}\n";
static const char bin_text[5] = {'a', 0, 'b', '\n', (char)0xff}; /* bytes, NUL inside */

static void fixture_init_options(fixture *fx, mnet_nn_cell cell, int H, int L, uint64_t salt,
                                 mnet_nn_candidate candidate, int learn_h0)
{
    memset(fx, 0, sizeof *fx);
    mnet_checkpoint *ck = &fx->ck;
    ck->net = (mnet_nn_config){cell, 5, H, L, 3, MNET_NN_ORTHO_STACKED, -5.0, MNET_NN_READOUT_SIGMOID,
                               candidate, learn_h0};
    mnet_nn nn;
    char err[200];
    CU_ASSERT_FATAL(mnet_nn_setup(&nn, &ck->net, err, sizeof err) == 0);
    ck->n_params = nn.n_params;
    fx->buf = malloc(3 * nn.n_params * sizeof(mnet_real));
    CU_ASSERT_FATAL(fx->buf != NULL);
    /* parameters from a hash of the index: every bit pattern class, plus
     * -0, infinities, a NaN and a subnormal */
    uint64_t s = 0x9e3779b97f4a7c15ull ^ salt;
    for (size_t i = 0; i < 3 * nn.n_params; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        fx->buf[i] = (mnet_real)((double)(s >> 11) * 0x1p-53 * 2 - 1) *
                     (mnet_real)ldexp(1.0, (int)(s % 40) - 20);
    }
    fx->buf[0] = (mnet_real)-0.0;
    fx->buf[1] = (mnet_real)INFINITY;
    fx->buf[2] = (mnet_real)-INFINITY;
    fx->buf[3] = (mnet_real)NAN;
#ifdef MNET_REAL_FLOAT
    fx->buf[4] = 1e-40f;
#else
    fx->buf[4] = 4.9e-324;
#endif
    ck->params = fx->buf;
    ck->adam_m = fx->buf + nn.n_params;
    ck->adam_v = fx->buf + 2 * nn.n_params;
    ck->adam_t = 123456789012L;
    ck->rng.seed = 0xfedcba9876543210ull;
    ck->rng.counter = 0xffffffffffffffffull;
    ck->n_batches = 4242;

    fx->src[0] = (mnet_checkpoint_source){"examples/reach.mnet", main_text, sizeof main_text - 1};
    fx->src[1] = (mnet_checkpoint_source){"lib/muscles.mnet", lib_text, sizeof lib_text - 1};
    fx->src[2] = (mnet_checkpoint_source){"empty.mnet", NULL, 0};
    ck->n_sources = 3;
    ck->sources = fx->src;
    ck->source_hash = "0123456789abcdef";

    mnet_task_config cfg = mnet_task_config_default();
    long len = mnet_checkpoint_format_meta(fx->meta, sizeof fx->meta, "arm26", "reach",
                                           &ck->net, &cfg);
    CU_ASSERT_FATAL(len > 0);
    ck->meta = fx->meta;
}

static void fixture_init(fixture *fx, mnet_nn_cell cell, int H, int L, uint64_t salt)
{
    fixture_init_options(fx, cell, H, L, salt, MNET_NN_CANDIDATE_TANH, 0);
}

static void fixture_free(fixture *fx)
{
    free(fx->buf);
}

static int same_reals(const mnet_real *a, const mnet_real *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

static void assert_same(const mnet_checkpoint *a, const mnet_checkpoint *b)
{
    CU_ASSERT_EQUAL(a->n_sources, b->n_sources);
    for (int i = 0; i < a->n_sources && i < b->n_sources; i++) {
        CU_ASSERT_STRING_EQUAL(a->sources[i].name, b->sources[i].name);
        CU_ASSERT_EQUAL(a->sources[i].len, b->sources[i].len);
        if (a->sources[i].len == b->sources[i].len && a->sources[i].len > 0)
            CU_ASSERT(memcmp(a->sources[i].text, b->sources[i].text, a->sources[i].len) == 0);
    }
    CU_ASSERT_STRING_EQUAL(a->source_hash ? a->source_hash : "", b->source_hash);
    CU_ASSERT_STRING_EQUAL(a->meta ? a->meta : "", b->meta);
    CU_ASSERT(memcmp(&a->net, &b->net, sizeof a->net) == 0 ||
              (a->net.cell == b->net.cell && a->net.n_input == b->net.n_input &&
               a->net.n_hidden == b->net.n_hidden && a->net.n_layers == b->net.n_layers &&
               a->net.n_output == b->net.n_output && a->net.ortho == b->net.ortho &&
               memcmp(&a->net.readout_bias, &b->net.readout_bias, sizeof(double)) == 0 &&
               a->net.readout == b->net.readout && a->net.candidate == b->net.candidate &&
               a->net.learn_h0 == b->net.learn_h0));
    CU_ASSERT_EQUAL(a->n_params, b->n_params);
    if (a->n_params == b->n_params) {
        CU_ASSERT(same_reals(a->params, b->params, a->n_params));
        CU_ASSERT(same_reals(a->adam_m, b->adam_m, a->n_params));
        CU_ASSERT(same_reals(a->adam_v, b->adam_v, a->n_params));
    }
    CU_ASSERT_EQUAL(a->adam_t, b->adam_t);
    CU_ASSERT_EQUAL(a->rng.seed, b->rng.seed);
    CU_ASSERT_EQUAL(a->rng.counter, b->rng.counter);
    CU_ASSERT_EQUAL(a->n_batches, b->n_batches);
}

/* Section k's start in a file of len bytes (walks the length fields;
 * starts[6] is the end of the last section). */
static void section_starts(const unsigned char *f, long len, long starts[7])
{
    long off = HDR;
    for (int k = 0; k < 6; k++) {
        starts[k] = off;
        CU_ASSERT_FATAL(off + SEC_HEAD <= len);
        uint64_t l = 0;
        for (int i = 0; i < 8; i++)
            l |= (uint64_t)f[off + 8 + i] << (8 * i);
        off += SEC_HEAD + (long)l;
    }
    starts[6] = off;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void fix_header_crc(unsigned char *f)
{
    put32(f + 76, mnet_crc32(0, f, 76));
}

/* Recomputes the CRC of the section starting at off. */
static void fix_section_crc(unsigned char *f, long off)
{
    uint64_t l = 0;
    for (int i = 0; i < 8; i++)
        l |= (uint64_t)f[off + 8 + i] << (8 * i);
    uint32_t c = mnet_crc32(0, f + off, 4);
    c = mnet_crc32(c, f + off + 8, 8);
    c = mnet_crc32(c, f + off + SEC_HEAD, (size_t)l);
    put32(f + off + 4, c);
}

/* Loads path expecting failure; the message must contain every one of
 * the NULL-terminated needles, and nothing may stay allocated. */
static int expect_error(const char *path, const char *const *needles)
{
    mnet_checkpoint ck;
    char err[512] = "";
    int rc = mnet_checkpoint_load(path, &ck, err, sizeof err);
    int ok = rc == -1 && err[0] != 0;
    for (int i = 0; needles[i]; i++)
        if (!strstr(err, needles[i]))
            ok = 0;
    for (int i = 0; i < 5; i++)
        CU_ASSERT(ck.owned_[i] == NULL);
    if (!ok)
        fprintf(stderr, "\n  unexpected result %d: \"%s\"\n", rc, err);
    if (rc == 0)
        mnet_checkpoint_free(&ck);
    return ok;
}

/* ==== tests ==== */

static void test_crc32(void)
{
    CU_ASSERT_EQUAL(mnet_crc32(0, "123456789", 9), 0xcbf43926u);
    CU_ASSERT_EQUAL(mnet_crc32(0, "", 0), 0u);
    CU_ASSERT_EQUAL(mnet_crc32(mnet_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
    CU_ASSERT_EQUAL(mnet_crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414fa339u);
}

static void roundtrip_cell(mnet_nn_cell cell, int L)
{
    make_dir();
    fixture fx;
    fixture_init(&fx, cell, 7, L, (uint64_t)cell * 31 + (uint64_t)L);
    /* the LSTM's round trip carries a linear read-out (header byte 52) */
    if (cell == MNET_NN_LSTM)
        fx.ck.net.readout = MNET_NN_READOUT_LINEAR;
    char p1[128], p2[128], err[512] = "";
    path_in(p1, sizeof p1, "ck.bin");
    path_in(p2, sizeof p2, "ck2.bin");
    CU_ASSERT_FATAL(mnet_checkpoint_save(p1, &fx.ck, err, sizeof err) == 0);
    mnet_checkpoint back;
    int rc = mnet_checkpoint_load(p1, &back, err, sizeof err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_FATAL(rc == 0);
    assert_same(&fx.ck, &back);
    /* what was loaded saves to the same bytes */
    CU_ASSERT(mnet_checkpoint_save(p2, &back, err, sizeof err) == 0);
    long n1, n2;
    unsigned char *a = read_all(p1, &n1), *b = read_all(p2, &n2);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT(n1 == n2 && memcmp(a, b, (size_t)n1) == 0);
    /* the size is what the format says */
    size_t want = HDR + 6 * SEC_HEAD + 8 + 16 + 3 * 12 + strlen(fx.src[0].name) +
                  strlen(fx.src[1].name) + strlen(fx.src[2].name) + sizeof main_text - 1 +
                  sizeof lib_text - 1 + strlen(fx.meta) + 3 * fx.ck.n_params * sizeof(mnet_real) +
                  32;
    CU_ASSERT_EQUAL((size_t)n1, want);
    CU_ASSERT(memcmp(a, "MNETCKPT", 8) == 0);
    /* texts come back NUL-terminated */
    CU_ASSERT_EQUAL(back.sources[0].text[back.sources[0].len], 0);
    CU_ASSERT_EQUAL(back.sources[2].len, 0);
    CU_ASSERT_STRING_EQUAL(back.sources[2].text, "");
    free(a);
    free(b);
    mnet_checkpoint_free(&back);
    CU_ASSERT(back.params == NULL && back.owned_[0] == NULL);
    mnet_checkpoint_free(&back); /* twice is harmless */
    CU_ASSERT_EQUAL(count_tmp(), 0);
    fixture_free(&fx);
    remove_dir();
}

/* A modular network's masks and signs (section MASK): a version 2 file of
 * 7 sections that round-trips bit for bit, its MASK section last, 2
 * n_params reals; a mask or a sign that breaks the rules is refused at its
 * byte (CRC made right, so the check is the values'), and so is a save of
 * bad masks; every truncation inside MASK names it. */
static void test_roundtrip_masks(void)
{
    make_dir();
    fixture fx;
    fixture_init(&fx, MNET_NN_GRU, 7, 1, 77);
    const size_t np = fx.ck.n_params;
    mnet_real *ms = malloc(2 * np * sizeof *ms);
    CU_ASSERT_FATAL(ms != NULL);
    for (size_t i = 0; i < np; i++) {
        ms[i] = (mnet_real)(i % 3 != 0);
        ms[np + i] = ms[i] == 0 ? 0 : (mnet_real)(i % 5 == 0 ? -1 : i % 5 == 1 ? 1 : 0);
    }
    fx.ck.mask = ms;
    fx.ck.sign = ms + np;
    char p[128], err[512] = "";
    path_in(p, sizeof p, "mask.bin");
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == 0);
    mnet_checkpoint back;
    CU_ASSERT_FATAL(mnet_checkpoint_load(p, &back, err, sizeof err) == 0);
    assert_same(&fx.ck, &back);
    CU_ASSERT(back.mask && back.sign && memcmp(back.mask, ms, 2 * np * sizeof *ms) == 0 &&
              back.sign == back.mask + np);
    mnet_checkpoint_free(&back);
    long len;
    unsigned char *f = read_all(p, &len);
    CU_ASSERT_FATAL(f != NULL);
    long starts[8];
    section_starts(f, len, starts);
    const long mask_at = starts[6];
    CU_ASSERT(get32(f + 8) == 2 && get32(f + 24) == 7);
    CU_ASSERT(memcmp(f + mask_at, "MASK", 4) == 0 && mask_at + SEC_HEAD + (long)(2 * np * sizeof(mnet_real)) == len);
    /* a mask of 0.5 at parameter 4 */
    unsigned char *g = malloc((size_t)len);
    CU_ASSERT_FATAL(g != NULL);
    memcpy(g, f, (size_t)len);
    mnet_real half = (mnet_real)0.5;
    memcpy(g + mask_at + SEC_HEAD + 4 * sizeof(mnet_real), &half, sizeof half);
    fix_section_crc(g, mask_at);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0);
    const char *const w_half[] = {"section 'masks' is malformed", "parameter 4 has mask 0.5", NULL};
    CU_ASSERT(expect_error(p, w_half));
    /* a sign where the mask is 0 (parameter 0: mask 0) */
    memcpy(g, f, (size_t)len);
    mnet_real one = 1;
    memcpy(g + mask_at + SEC_HEAD + np * sizeof(mnet_real), &one, sizeof one);
    fix_section_crc(g, mask_at);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0);
    const char *const w_sign[] = {"section 'masks' is malformed", "parameter 0 has mask 0 and sign 1", NULL};
    CU_ASSERT(expect_error(p, w_sign));
    /* cut inside the masks */
    CU_ASSERT_FATAL(write_bytes(p, f, (size_t)(len - 3)) == 0);
    const char *const w_cut[] = {"masks", NULL};
    CU_ASSERT(expect_error(p, w_cut));
    /* 7 sections in a version 1 file */
    memcpy(g, f, (size_t)len);
    put32(g + 8, 1);
    fix_header_crc(g);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0);
    const char *const w_v1[] = {"corrupt header", "7 sections", NULL};
    CU_ASSERT(expect_error(p, w_v1));
    /* bad masks are not saved */
    ms[3] = 2;
    CU_ASSERT(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "parameter 3 has mask 2") != NULL);
    free(g);
    free(f);
    free(ms);
    fixture_free(&fx);
    remove_dir();
}

static void test_roundtrip_gru(void) { roundtrip_cell(MNET_NN_GRU, 2); }
static void test_roundtrip_rnn(void) { roundtrip_cell(MNET_NN_RNN, 1); }
static void test_roundtrip_mlp(void) { roundtrip_cell(MNET_NN_MLP, 3); }
static void test_roundtrip_lstm(void) { roundtrip_cell(MNET_NN_LSTM, 2); }

/* The network options (header byte 72): a rectified-tanh GRU with a
 * learned h0 comes back with both, its h0 among the params, in a version 2
 * file; a file without options is version 1 (what older builds read);
 * unknown option bits, or options in a version 1 file, are refused. */
static void test_roundtrip_options(void)
{
    make_dir();
    fixture fx;
    fixture_init_options(&fx, MNET_NN_GRU, 7, 2, 99, MNET_NN_CANDIDATE_RECTIFIED_TANH, 1);
    mnet_nn nn;
    CU_ASSERT_FATAL(mnet_nn_setup(&nn, &fx.ck.net, NULL, 0) == 0);
    CU_ASSERT(nn.n_params == fx.ck.n_params && nn.h0_offset + 14 == nn.n_params);
    char p[128], err[512] = "";
    path_in(p, sizeof p, "opt.bin");
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == 0);
    mnet_checkpoint back;
    CU_ASSERT_FATAL(mnet_checkpoint_load(p, &back, err, sizeof err) == 0);
    CU_ASSERT(back.net.candidate == MNET_NN_CANDIDATE_RECTIFIED_TANH && back.net.learn_h0 == 1);
    assert_same(&fx.ck, &back);
    mnet_checkpoint_free(&back);
    long len;
    unsigned char *f = read_all(p, &len);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(get32(f + 8) == 2 && get32(f + 72) == (1u | 1u << 8));
    put32(f + 72, 1u << 9);
    fix_header_crc(f);
    CU_ASSERT_FATAL(write_bytes(p, f, (size_t)len) == 0);
    const char *const unknown[] = {"unknown network options 0x00000200", "byte 72", NULL};
    CU_ASSERT(expect_error(p, unknown));
    put32(f + 8, 1);
    put32(f + 72, 1);
    fix_header_crc(f);
    CU_ASSERT_FATAL(write_bytes(p, f, (size_t)len) == 0);
    const char *const v1[] = {"unknown network options 0x00000001", "format version 1", NULL};
    CU_ASSERT(expect_error(p, v1));
    free(f);
    fixture_free(&fx);
    /* no options: version 1 */
    fixture_init(&fx, MNET_NN_GRU, 7, 1, 5);
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == 0);
    f = read_all(p, &len);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(get32(f + 8) == 1 && get32(f + 72) == 0);
    free(f);
    fixture_free(&fx);
    remove_dir();
}

/* Binary-safe source text (a NUL inside), no hash, no metadata, no sources
 * at all: all round-trip. */
static void test_roundtrip_minimal(void)
{
    make_dir();
    fixture fx;
    fixture_init(&fx, MNET_NN_GRU, 2, 1, 7);
    char p[128], err[512] = "";
    path_in(p, sizeof p, "ck.bin");
    mnet_checkpoint_source one = {"bin.mnet", bin_text, sizeof bin_text};
    fx.ck.sources = &one;
    fx.ck.n_sources = 1;
    fx.ck.source_hash = NULL;
    fx.ck.meta = NULL;
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == 0);
    mnet_checkpoint back;
    CU_ASSERT_FATAL(mnet_checkpoint_load(p, &back, err, sizeof err) == 0);
    CU_ASSERT_EQUAL(back.sources[0].len, sizeof bin_text);
    CU_ASSERT(memcmp(back.sources[0].text, bin_text, sizeof bin_text) == 0);
    CU_ASSERT_STRING_EQUAL(back.source_hash, "");
    CU_ASSERT_STRING_EQUAL(back.meta, "");
    mnet_checkpoint_free(&back);

    fx.ck.n_sources = 0;
    fx.ck.sources = NULL;
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_checkpoint_load(p, &back, err, sizeof err) == 0);
    CU_ASSERT_EQUAL(back.n_sources, 0);
    assert_same(&fx.ck, &back);
    mnet_checkpoint_free(&back);
    fixture_free(&fx);
    remove_dir();
}

static void test_overwrite(void)
{
    make_dir();
    fixture a, b;
    fixture_init(&a, MNET_NN_GRU, 3, 1, 1);
    fixture_init(&b, MNET_NN_RNN, 6, 2, 2);
    char p[128], err[512] = "";
    path_in(p, sizeof p, "ck.bin");
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &a.ck, err, sizeof err) == 0);
    chmod(p, 0640);
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &b.ck, err, sizeof err) == 0);
    struct stat st;
    CU_ASSERT(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640); /* the mode is kept */
    mnet_checkpoint back;
    CU_ASSERT_FATAL(mnet_checkpoint_load(p, &back, err, sizeof err) == 0);
    assert_same(&b.ck, &back);
    mnet_checkpoint_free(&back);
    CU_ASSERT_EQUAL(count_tmp(), 0);
    /* a new file is 0644 (not mkstemp's 0600) */
    char q[128];
    path_in(q, sizeof q, "new.bin");
    CU_ASSERT(mnet_checkpoint_save(q, &a.ck, err, sizeof err) == 0);
    CU_ASSERT(stat(q, &st) == 0 && (st.st_mode & 0777) == 0644);
    fixture_free(&a);
    fixture_free(&b);
    remove_dir();
}

/* The write fails midway (a file size limit: EFBIG in the params section):
 * the old checkpoint is intact and no temporary file is left. */
static void test_atomic_failed_write(void)
{
    make_dir();
    fixture small, big;
    fixture_init(&small, MNET_NN_GRU, 3, 1, 3);
    fixture_init(&big, MNET_NN_GRU, 64, 2, 4);
    char p[128], err[512] = "";
    path_in(p, sizeof p, "ck.bin");
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &small.ck, err, sizeof err) == 0);
    long n_old;
    unsigned char *old = read_all(p, &n_old);
    CU_ASSERT_FATAL(old != NULL);

    struct rlimit saved, lim;
    CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = saved;
    lim.rlim_cur = 16384;  /* the big checkpoint is ~150 KB */
    CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    int rc = mnet_checkpoint_save(p, &big.ck, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, prev);

    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT(strstr(err, "cannot write checkpoint") != NULL);
    CU_ASSERT(strstr(err, "section '") != NULL);
    CU_ASSERT(strstr(err, "unchanged") != NULL);
    long n_now;
    unsigned char *now = read_all(p, &n_now);
    CU_ASSERT(now && n_now == n_old && memcmp(now, old, (size_t)n_old) == 0);
    CU_ASSERT_EQUAL(count_tmp(), 0);
    mnet_checkpoint back;
    CU_ASSERT(mnet_checkpoint_load(p, &back, err, sizeof err) == 0);
    assert_same(&small.ck, &back);
    mnet_checkpoint_free(&back);
    free(old);
    free(now);
    fixture_free(&small);
    fixture_free(&big);
    remove_dir();
}

/* No directory, a read-only directory (not for root, who may write
 * anyway), an invalid checkpoint: refused, old file intact, no temp file. */
static void test_atomic_refused(void)
{
    make_dir();
    fixture fx;
    fixture_init(&fx, MNET_NN_GRU, 3, 1, 5);
    char p[128], err[512] = "";
    path_in(p, sizeof p, "nodir/ck.bin");
    CU_ASSERT(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "nodir") != NULL && strstr(err, "hint") != NULL);

    path_in(p, sizeof p, "ck.bin");
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == 0);
    long n_old;
    unsigned char *old = read_all(p, &n_old);

    /* an inconsistent checkpoint is refused before anything is written */
    mnet_checkpoint bad = fx.ck;
    bad.n_params += 1;
    CU_ASSERT(mnet_checkpoint_save(p, &bad, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "does not match the network") != NULL);
    bad = fx.ck;
    bad.adam_v = NULL;
    CU_ASSERT(mnet_checkpoint_save(p, &bad, err, sizeof err) == -1);
    bad = fx.ck;
    bad.net.n_layers = 0;
    CU_ASSERT(mnet_checkpoint_save(p, &bad, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "layer count") != NULL);

    if (geteuid() != 0) {
        CU_ASSERT(chmod(dir, 0555) == 0);
        fixture other;
        fixture_init(&other, MNET_NN_RNN, 4, 1, 6);
        CU_ASSERT(mnet_checkpoint_save(p, &other.ck, err, sizeof err) == -1);
        CU_ASSERT(strstr(err, "writable") != NULL);
        chmod(dir, 0755);
        fixture_free(&other);
    }
    long n_now;
    unsigned char *now = read_all(p, &n_now);
    CU_ASSERT(old && now && n_now == n_old && memcmp(now, old, (size_t)n_old) == 0);
    CU_ASSERT_EQUAL(count_tmp(), 0);
    free(old);
    free(now);
    fixture_free(&fx);
    remove_dir();
}

/* Every prefix of a checkpoint: an error that names the section where the
 * file ends, never a crash. */
static void test_truncated(void)
{
    make_dir();
    fixture fx;
    fixture_init(&fx, MNET_NN_GRU, 3, 1, 8);
    char p[128], q[128], err[512] = "";
    path_in(p, sizeof p, "ck.bin");
    path_in(q, sizeof q, "cut.bin");
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == 0);
    long len;
    unsigned char *f = read_all(p, &len);
    CU_ASSERT_FATAL(f != NULL);
    long st[7];
    section_starts(f, len, st);
    CU_ASSERT_EQUAL(st[6], len);
    int bad = 0;
    for (long cut = 0; cut < len; cut++) {
        CU_ASSERT_FATAL(write_bytes(q, f, (size_t)cut) == 0);
        const char *sec = "header";
        for (int k = 0; k < 6; k++)
            if (cut >= st[k])
                sec = sec_names[k];
        char quoted[32];
        snprintf(quoted, sizeof quoted, "'%s'", sec);
        const char *const empty[] = {"not an mnet checkpoint", "empty", NULL};
        const char *const trunc[] = {"truncated", quoted, "byte offset", "cut.bin", NULL};
        if (!expect_error(q, cut == 0 ? empty : trunc)) {
            if (bad++ < 5)
                fprintf(stderr, "  (cut at %ld, section %s)\n", cut, sec);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* and a byte too many */
    unsigned char *g = malloc((size_t)len + 1);
    memcpy(g, f, (size_t)len);
    g[len] = 0;
    CU_ASSERT_FATAL(write_bytes(q, g, (size_t)len + 1) == 0);
    const char *const extra[] = {"1 unexpected bytes after the last section", NULL};
    CU_ASSERT(expect_error(q, extra));
    free(g);
    free(f);
    fixture_free(&fx);
    remove_dir();
}

/* Every single flipped byte is caught; a flip inside a payload is a CRC
 * error naming the section. */
static void test_flipped(void)
{
    make_dir();
    fixture fx;
    fixture_init(&fx, MNET_NN_GRU, 3, 1, 9);
    char p[128], q[128], err[512] = "";
    path_in(p, sizeof p, "ck.bin");
    path_in(q, sizeof q, "flip.bin");
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &fx.ck, err, sizeof err) == 0);
    long len;
    unsigned char *f = read_all(p, &len);
    CU_ASSERT_FATAL(f != NULL);
    long st[7];
    section_starts(f, len, st);
    int bad = 0;
    for (long at = 0; at < len; at++)
        for (int v = 0; v < 2; v++) {
            unsigned char mask = v ? 0xff : 0x10;
            f[at] ^= mask;
            CU_ASSERT_FATAL(write_bytes(q, f, (size_t)len) == 0);
            f[at] ^= mask;
            const char *const any[] = {"flip.bin", NULL};
            char quoted[48];
            const char *const *want = any;
            const char *const crc_header[] = {"CRC mismatch in section 'header'", NULL};
            const char *const magic[] = {"bad magic", NULL};
            const char *const version[] = {"version", NULL};
            const char *const crc_sec[] = {"CRC mismatch", quoted, NULL};
            if (at < 8)
                want = magic;
            else if (at < 12)
                want = version;
            else if (at < HDR)
                want = crc_header;
            for (int k = 0; k < 6; k++)
                if (at >= st[k] + SEC_HEAD && at < st[k + 1]) {
                    snprintf(quoted, sizeof quoted, "section '%s'", sec_names[k]);
                    want = crc_sec;
                } else if (at >= st[k] + 4 && at < st[k] + 8) { /* the stored CRC */
                    snprintf(quoted, sizeof quoted, "section '%s'", sec_names[k]);
                    want = crc_sec;
                }
            if (!expect_error(q, want) && bad++ < 5)
                fprintf(stderr, "  (byte %ld ^ 0x%02x)\n", at, mask);
        }
    CU_ASSERT_EQUAL(bad, 0);
    free(f);
    fixture_free(&fx);
    remove_dir();
}

static void test_foreign(void)
{
    make_dir();
    char p[128];
    path_in(p, sizeof p, "image.png");
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                        0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1};
    CU_ASSERT_FATAL(write_bytes(p, png, sizeof png) == 0);
    const char *const w_png[] = {"not an mnet checkpoint (bad magic", "\\x89PNG", "PNG image",
                                 NULL};
    CU_ASSERT(expect_error(p, w_png));

    path_in(p, sizeof p, "notes.txt");
    const char *txt = "batch,loss\n0,1.5\n";
    CU_ASSERT_FATAL(write_bytes(p, txt, strlen(txt)) == 0);
    const char *const w_txt[] = {"not an mnet checkpoint (bad magic", "batch,lo", NULL};
    CU_ASSERT(expect_error(p, w_txt));

    path_in(p, sizeof p, "short.txt");
    CU_ASSERT_FATAL(write_bytes(p, "hi", 2) == 0);
    const char *const w_short[] = {"bad magic", NULL};
    CU_ASSERT(expect_error(p, w_short));

    path_in(p, sizeof p, "w.safetensors");
    const char st[] = "\x10\0\0\0\0\0\0\0{\"a\":1}        ";
    CU_ASSERT_FATAL(write_bytes(p, st, sizeof st - 1) == 0);
    const char *const w_st[] = {"bad magic", "safetensors", NULL};
    CU_ASSERT(expect_error(p, w_st));

    path_in(p, sizeof p, "missing.bin");
    const char *const w_missing[] = {"cannot open checkpoint", "missing.bin",
                                     "No such file", NULL};
    CU_ASSERT(expect_error(p, w_missing));
    const char *const w_dir[] = {"is a directory", NULL};
    CU_ASSERT(expect_error(dir, w_dir));
    remove_dir();
}

/* A FIFO is refused before anything waits on it (opening one for reading
 * blocked until a writer came: `mnet eval DIR` hung); so is a device.  An
 * alarm kills the test binary - a failure - should the load block again. */
static void test_special_files(void)
{
    make_dir();
    char p[128];
    path_in(p, sizeof p, "checkpoint.mnetckpt");
    CU_ASSERT_FATAL(mkfifo(p, 0600) == 0);
    alarm(20);
    const char *const w_fifo[] = {"checkpoint.mnetckpt", "is not a regular file", "a FIFO", NULL};
    CU_ASSERT(expect_error(p, w_fifo));
    const char *const w_dev[] = {"'/dev/null' is not a regular file", "a character device", NULL};
    CU_ASSERT(expect_error("/dev/null", w_dev));
    alarm(0);
    remove_dir();
}

/* Saves a checkpoint, lets patch() edit its bytes, writes them back. */
static unsigned char *saved_bytes(fixture *fx, const char *p, long *len)
{
    char err[512];
    fixture_init(fx, MNET_NN_GRU, 3, 1, 10);
    CU_ASSERT_FATAL(mnet_checkpoint_save(p, &fx->ck, err, sizeof err) == 0);
    unsigned char *f = read_all(p, len);
    CU_ASSERT_FATAL(f != NULL);
    return f;
}

static void test_version_and_precision(void)
{
    make_dir();
    fixture fx;
    char p[128];
    path_in(p, sizeof p, "ck.bin");
    long len;
    unsigned char *f = saved_bytes(&fx, p, &len);

    put32(f + 8, 3);
    fix_header_crc(f);
    CU_ASSERT_FATAL(write_bytes(p, f, (size_t)len) == 0);
    const char *const newer[] = {"format version 3", "reads version 2", "newer", NULL};
    CU_ASSERT(expect_error(p, newer));
    put32(f + 8, 0);
    CU_ASSERT_FATAL(write_bytes(p, f, (size_t)len) == 0); /* not even a valid CRC: still */
    const char *const older[] = {"format version 0", "older", NULL};
    CU_ASSERT(expect_error(p, older));
    put32(f + 8, 1);
    fix_header_crc(f);

    /* the other precision's header (4 for this double build, 8 for float) */
    unsigned other = sizeof(mnet_real) == 8 ? 4 : 8;
    put32(f + 16, other);
    fix_header_crc(f);
    CU_ASSERT_FATAL(write_bytes(p, f, (size_t)len) == 0);
#ifdef MNET_REAL_FLOAT
    const char *const prec[] = {"precision mismatch", "holds double reals (8 bytes)",
                                "this build uses float", NULL};
#else
    const char *const prec[] = {"precision mismatch", "holds float reals (4 bytes)",
                                "this build uses double", NULL};
#endif
    CU_ASSERT(expect_error(p, prec));
    put32(f + 16, (uint32_t)sizeof(mnet_real));

    put32(f + 12, 0x04030201u); /* a big-endian writer's marker */
    fix_header_crc(f);
    CU_ASSERT_FATAL(write_bytes(p, f, (size_t)len) == 0);
    const char *const endian[] = {"endianness", NULL};
    CU_ASSERT(expect_error(p, endian));
    free(f);
    fixture_free(&fx);
    remove_dir();
}

/* Sizes that would make a careless loader allocate the moon, each with
 * valid CRCs so that only the size checks stand in the way. */
static void test_absurd_sizes(void)
{
    make_dir();
    fixture fx;
    char p[128];
    path_in(p, sizeof p, "ck.bin");
    long len;
    unsigned char *f = saved_bytes(&fx, p, &len);
    unsigned char *g = malloc((size_t)len);
    long st[7];
    section_starts(f, len, st);

    memcpy(g, f, (size_t)len);
    put64(g + 56, 1ull << 60);
    fix_header_crc(g);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0);
    const char *const w_np[] = {"absurd size", "1152921504606846976 parameters", "has 102",
                                NULL};
    CU_ASSERT(expect_error(p, w_np));

    memcpy(g, f, (size_t)len);
    put32(g + 36, 1u << 30); /* n_hidden */
    fix_header_crc(g);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0);
    const char *const w_h[] = {"header", "hidden size out of range", NULL};
    CU_ASSERT(expect_error(p, w_h));

    memcpy(g, f, (size_t)len);
    put64(g + 56, fx.ck.n_params - 1);
    fix_header_crc(g);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0);
    const char *const w_mis[] = {"101 parameters, but its network (gru I=5 H=3 L=1 O=3)",
                                 NULL};
    CU_ASSERT(expect_error(p, w_mis));

    /* sources: 2^32-1 files */
    memcpy(g, f, (size_t)len);
    put32(g + st[0] + SEC_HEAD, 0xffffffffu);
    fix_section_crc(g, st[0]);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0);
    const char *const w_ns[] = {"section 'sources' is malformed", "absurd number", NULL};
    CU_ASSERT(expect_error(p, w_ns));

    /* sources: a text of 2^63 bytes */
    memcpy(g, f, (size_t)len);
    long first = st[0] + SEC_HEAD + 8 + (long)strlen(fx.ck.source_hash);
    put64(g + first + 4, 1ull << 63);
    fix_section_crc(g, st[0]);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0);
    const char *const w_tl[] = {"section 'sources' is malformed", "runs past", NULL};
    CU_ASSERT(expect_error(p, w_tl));

    /* a name of 2^32-1 bytes */
    memcpy(g, f, (size_t)len);
    put32(g + first, 0xffffffffu);
    fix_section_crc(g, st[0]);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0);
    const char *const w_nl[] = {"absurd file name length", NULL};
    CU_ASSERT(expect_error(p, w_nl));

    /* a section length of 2^62 */
    memcpy(g, f, (size_t)len);
    put64(g + st[1] + 8, 1ull << 62);
    CU_ASSERT_FATAL(write_bytes(p, g, (size_t)len) == 0); /* (no CRC can cover 2^62 bytes) */
    const char *const w_sl[] = {"'metadata'", "past the end of the file", NULL};
    CU_ASSERT(expect_error(p, w_sl));
    free(g);
    free(f);
    fixture_free(&fx);
    remove_dir();
}

static void test_metadata(void)
{
    const char *meta = "effector=arm26\ntask=reach\ntask.kind=centre_out_reach\nempty=\n"
                       "crlf=yes\r\nlast=no newline";
    char v[64];
    CU_ASSERT_EQUAL(mnet_checkpoint_meta_get(meta, "task", v, sizeof v), 5);
    CU_ASSERT_STRING_EQUAL(v, "reach");
    CU_ASSERT_EQUAL(mnet_checkpoint_meta_get(meta, "task.kind", v, sizeof v), 16);
    CU_ASSERT_STRING_EQUAL(v, "centre_out_reach");
    CU_ASSERT_EQUAL(mnet_checkpoint_meta_get(meta, "empty", v, sizeof v), 0);
    CU_ASSERT_STRING_EQUAL(v, "");
    CU_ASSERT_EQUAL(mnet_checkpoint_meta_get(meta, "crlf", v, sizeof v), 3);
    CU_ASSERT_STRING_EQUAL(v, "yes");
    CU_ASSERT_EQUAL(mnet_checkpoint_meta_get(meta, "last", v, sizeof v), 10);
    CU_ASSERT_EQUAL(mnet_checkpoint_meta_get(meta, "tas", v, sizeof v), -1);
    CU_ASSERT_EQUAL(mnet_checkpoint_meta_get(meta, "effector", v, 4), 5); /* cut */
    CU_ASSERT_STRING_EQUAL(v, "arm");

    char buf[2048];
    mnet_nn_config net = {MNET_NN_GRU, 12, 128, 1, 6, MNET_NN_ORTHO_STACKED, -5, MNET_NN_READOUT_SIGMOID, MNET_NN_CANDIDATE_TANH, 0};
    mnet_task_config cfg = mnet_task_config_default();
    long n = mnet_checkpoint_format_meta(buf, sizeof buf, "arm\n26", "reach", &net, &cfg);
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_EQUAL((size_t)n, strlen(buf));
    CU_ASSERT(mnet_checkpoint_meta_get(buf, "effector", v, sizeof v) > 0);
    CU_ASSERT_STRING_EQUAL(v, "arm 26"); /* a line break cannot split a line */
    CU_ASSERT(mnet_checkpoint_meta_get(buf, "network", v, sizeof v) > 0);
    CU_ASSERT_STRING_EQUAL(v, "gru I=12 H=128 L=1 O=6");
    CU_ASSERT(mnet_checkpoint_meta_get(buf, "task.kind", v, sizeof v) > 0);
    CU_ASSERT_STRING_EQUAL(v, "random_target_reach");
    CU_ASSERT(mnet_checkpoint_meta_get(buf, "task.loss", v, sizeof v) > 0);
    CU_ASSERT_STRING_EQUAL(v, "position_l1:1:0");
    CU_ASSERT(mnet_checkpoint_meta_get(buf, "mnet_version", v, sizeof v) > 0);
    CU_ASSERT_STRING_EQUAL(v, mnet_runtime_version());
    CU_ASSERT(mnet_checkpoint_meta_get(buf, "created", v, sizeof v) == 20); /* ...T..Z */
    CU_ASSERT(mnet_checkpoint_meta_get(buf, "precision", v, sizeof v) > 0);
    CU_ASSERT_STRING_EQUAL(v, sizeof(mnet_real) == 8 ? "double" : "float");
    /* too small a buffer: -1 and a cut, terminated text */
    char small[40];
    CU_ASSERT_EQUAL(mnet_checkpoint_format_meta(small, sizeof small, "arm26", "reach", &net,
                                                &cfg), -1);
    CU_ASSERT(strlen(small) < sizeof small);
}

int main(void)
{
    static const mnet_test tests[] = {
        {"crc32 known answers", test_crc32},
        {"round trip GRU, bit-exact", test_roundtrip_gru},
        {"round trip RNN, bit-exact", test_roundtrip_rnn},
        {"round trip MLP, bit-exact", test_roundtrip_mlp},
        {"round trip LSTM with a linear read-out, bit-exact", test_roundtrip_lstm},
        {"round trip of the network options (rectified tanh, learned h0)", test_roundtrip_options},
        {"a modular network's masks: round trip, bad values refused", test_roundtrip_masks},
        {"round trip: binary source, no hash, no metadata, no sources", test_roundtrip_minimal},
        {"overwrite keeps the mode, leaves no temp file", test_overwrite},
        {"failed write midway: old file intact, no temp file", test_atomic_failed_write},
        {"refused writes: old file intact", test_atomic_refused},
        {"every truncation: error naming the section", test_truncated},
        {"every flipped byte: error (CRC names the section)", test_flipped},
        {"foreign files: bad magic", test_foreign},
        {"a FIFO or a device: refused, no wait", test_special_files},
        {"other version, precision, byte order", test_version_and_precision},
        {"absurd sizes are refused before allocating", test_absurd_sizes},
        {"metadata lines", test_metadata},
        {NULL, NULL},
    };
    return mnet_test_main("checkpoint", tests);
}
