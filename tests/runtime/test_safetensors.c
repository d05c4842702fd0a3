/* test_safetensors.c - network weights as .safetensors: PyTorch names and
 * shapes, header alignment and JSON validity, values bit-exact in the
 * build's precision and rounded once as F32, a strict reader that refuses
 * broken files, and (when python3 is there) a cross-check by Python's own
 * json and struct modules (numpy too, when it is installed). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet_safetensors.h"
#include "test_support.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/mnet_st_XXXXXX");
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

static void path_in(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
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

typedef struct net {
    mnet_nn nn;
    mnet_real *params;
} net;

static void net_init(net *w, mnet_nn_cell cell, int I, int H, int L, int O)
{
    mnet_nn_config cfg = {cell, I, H, L, O, MNET_NN_ORTHO_STACKED, -5, MNET_NN_READOUT_SIGMOID, MNET_NN_CANDIDATE_TANH, 0};
    char err[200];
    CU_ASSERT_FATAL(mnet_nn_setup(&w->nn, &cfg, err, sizeof err) == 0);
    w->params = malloc(w->nn.n_params * sizeof(mnet_real));
    CU_ASSERT_FATAL(w->params != NULL);
    CU_ASSERT_FATAL(mnet_nn_init_params(&w->nn, w->params, 42) == 0);
    /* distinct, inexact values in every slot (the init's zero biases too) */
    for (size_t i = 0; i < w->nn.n_params; i++)
        w->params[i] += (mnet_real)(1e-3 * sin(1.0 + (double)i));
}

/* The tensors a PyTorch module of this network has, in order. */
typedef struct expect {
    const char *name;
    int ndim;
    int64_t shape[2];
} expect;

static void check_against(const mnet_safetensors *st, const net *w, const expect *ex, int n,
                          const char *dtype)
{
    CU_ASSERT_EQUAL(st->n_tensors, n);
    mnet_nn_params p;
    mnet_nn_bind_params(&w->nn, w->params, &p);
    uint64_t off = 0;
    size_t pos = 0; /* tensors are the parameter buffer in order */
    for (int i = 0; i < n && i < st->n_tensors; i++) {
        const mnet_st_info *t = &st->tensors[i];
        CU_ASSERT_STRING_EQUAL(t->name, ex[i].name);
        CU_ASSERT_STRING_EQUAL(t->dtype, dtype);
        CU_ASSERT_EQUAL(t->ndim, ex[i].ndim);
        size_t count = 1;
        for (int d = 0; d < ex[i].ndim; d++) {
            CU_ASSERT_EQUAL(t->shape[d], ex[i].shape[d]);
            count *= (size_t)ex[i].shape[d];
        }
        CU_ASSERT_EQUAL(t->begin, off);
        CU_ASSERT_EQUAL(t->end, off + count * (size_t)t->dtype_size);
        off = t->end;
        double *v = malloc(count * sizeof *v);
        char err[200];
        CU_ASSERT_FATAL(mnet_safetensors_read(st, t->name, v, count, err, sizeof err) == 0);
        int same = 1;
        for (size_t k = 0; k < count; k++) {
            double want = t->dtype_size == 4 ? (double)(float)w->params[pos + k]
                                             : (double)w->params[pos + k];
            if (memcmp(&v[k], &want, sizeof want) != 0)
                same = 0;
        }
        CU_ASSERT(same);
        pos += count;
        free(v);
    }
    CU_ASSERT_EQUAL(pos, w->nn.n_params);
    CU_ASSERT_EQUAL(off, st->data_len);
}

static const char *native_dtype(void)
{
    return sizeof(mnet_real) == 8 ? "F64" : "F32";
}

static void test_gru_names_shapes_values(void)
{
    make_dir();
    net w;
    net_init(&w, MNET_NN_GRU, 5, 4, 2, 3);
    char p[128], err[300] = "";
    path_in(p, sizeof p, "w.safetensors");
    const char *meta[] = {"effector", "arm26", "note", "a \"quoted\"\nline\t\\ caf\xc3\xa9", NULL};
    CU_ASSERT_FATAL(mnet_safetensors_save_nn(p, &w.nn, w.params, meta, MNET_ST_NATIVE, err,
                                             sizeof err) == 0);
    CU_ASSERT_EQUAL(count_tmp(), 0);
    mnet_safetensors st;
    int rc = mnet_safetensors_open(p, &st, err, sizeof err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_FATAL(rc == 0);
    const expect ex[] = {
        {"gru.weight_ih_l0", 2, {12, 5}}, {"gru.weight_hh_l0", 2, {12, 4}},
        {"gru.bias_ih_l0", 1, {12}},      {"gru.bias_hh_l0", 1, {12}},
        {"gru.weight_ih_l1", 2, {12, 4}}, {"gru.weight_hh_l1", 2, {12, 4}},
        {"gru.bias_ih_l1", 1, {12}},      {"gru.bias_hh_l1", 1, {12}},
        {"fc.weight", 2, {3, 4}},         {"fc.bias", 1, {3}},
    };
    check_against(&st, &w, ex, 10, native_dtype());
    /* alignment: the data starts at a multiple of 8, the padding is spaces */
    CU_ASSERT_EQUAL(st.header_len % 8, 0);
    CU_ASSERT_EQUAL((8 + st.header_len) % 8, 0);
    size_t jl = strlen(st.header);
    while (jl > 0 && st.header[jl - 1] == ' ')
        jl--;
    CU_ASSERT(jl > 0 && st.header[jl - 1] == '}');
    CU_ASSERT(st.header_len - jl < 8);
    /* metadata */
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "format"), "pt");
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "mnet.cell"), "gru");
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "mnet.n_input"), "5");
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "mnet.n_hidden"), "4");
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "mnet.n_layers"), "2");
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "mnet.n_output"), "3");
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "effector"), "arm26");
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "note"), meta[3]);
    CU_ASSERT(mnet_safetensors_meta(&st, "nope") == NULL);
    CU_ASSERT(mnet_safetensors_find(&st, "gru.weight_ih_l2") == NULL);
    double v[3];
    CU_ASSERT(mnet_safetensors_read(&st, "fc.bias", v, 2, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "3 values") != NULL);
    mnet_safetensors_close(&st);

    /* the loader puts every value back where it was */
    mnet_real *back = calloc(w.nn.n_params, sizeof *back);
    CU_ASSERT_FATAL(mnet_safetensors_load_nn(p, &w.nn, back, err, sizeof err) == 0);
    CU_ASSERT(memcmp(back, w.params, w.nn.n_params * sizeof *back) == 0);
    free(back);
    free(w.params);
    remove_dir();
}

/* torch.nn.LSTM's names and shapes (4H rows: i, f, g, o), the read-out in
 * the metadata, and every value back bit for bit. */
static void test_lstm_names(void)
{
    make_dir();
    char p[128], err[300] = "";
    path_in(p, sizeof p, "w.safetensors");
    net w;
    net_init(&w, MNET_NN_LSTM, 3, 4, 2, 2);
    CU_ASSERT_FATAL(mnet_safetensors_save_nn(p, &w.nn, w.params, NULL, MNET_ST_NATIVE, err,
                                             sizeof err) == 0);
    mnet_safetensors st;
    CU_ASSERT_FATAL(mnet_safetensors_open(p, &st, err, sizeof err) == 0);
    const expect ex[] = {
        {"lstm.weight_ih_l0", 2, {16, 3}}, {"lstm.weight_hh_l0", 2, {16, 4}},
        {"lstm.bias_ih_l0", 1, {16}},      {"lstm.bias_hh_l0", 1, {16}},
        {"lstm.weight_ih_l1", 2, {16, 4}}, {"lstm.weight_hh_l1", 2, {16, 4}},
        {"lstm.bias_ih_l1", 1, {16}},      {"lstm.bias_hh_l1", 1, {16}},
        {"fc.weight", 2, {2, 4}},          {"fc.bias", 1, {2}},
    };
    check_against(&st, &w, ex, 10, native_dtype());
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "mnet.cell"), "lstm");
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "mnet.readout"), "sigmoid");
    mnet_safetensors_close(&st);
    mnet_real *back = calloc(w.nn.n_params, sizeof *back);
    CU_ASSERT_FATAL(back != NULL);
    CU_ASSERT_FATAL(mnet_safetensors_load_nn(p, &w.nn, back, err, sizeof err) == 0);
    CU_ASSERT(memcmp(back, w.params, w.nn.n_params * sizeof *back) == 0);
    /* a GRU of the same sizes does not read it */
    net g;
    net_init(&g, MNET_NN_GRU, 3, 4, 2, 2);
    CU_ASSERT(mnet_safetensors_load_nn(p, &g.nn, g.params, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "'gru.weight_ih_l0' missing") != NULL);
    free(back);
    free(g.params);
    free(w.params);
    remove_dir();
}

static void test_rnn_mlp_names(void)
{
    make_dir();
    char p[128], err[300] = "";
    path_in(p, sizeof p, "w.safetensors");
    net r;
    net_init(&r, MNET_NN_RNN, 3, 6, 1, 2);
    CU_ASSERT_FATAL(mnet_safetensors_save_nn(p, &r.nn, r.params, NULL, MNET_ST_NATIVE, err,
                                             sizeof err) == 0);
    mnet_safetensors st;
    CU_ASSERT_FATAL(mnet_safetensors_open(p, &st, err, sizeof err) == 0);
    const expect ex_r[] = {
        {"rnn.weight_ih_l0", 2, {6, 3}}, {"rnn.weight_hh_l0", 2, {6, 6}},
        {"rnn.bias_ih_l0", 1, {6}},      {"rnn.bias_hh_l0", 1, {6}},
        {"fc.weight", 2, {2, 6}},        {"fc.bias", 1, {2}},
    };
    check_against(&st, &r, ex_r, 6, native_dtype());
    CU_ASSERT_STRING_EQUAL(mnet_safetensors_meta(&st, "mnet.cell"), "rnn");
    mnet_safetensors_close(&st);

    net m;
    net_init(&m, MNET_NN_MLP, 3, 5, 2, 2);
    CU_ASSERT_FATAL(mnet_safetensors_save_nn(p, &m.nn, m.params, NULL, MNET_ST_NATIVE, err,
                                             sizeof err) == 0);
    CU_ASSERT_FATAL(mnet_safetensors_open(p, &st, err, sizeof err) == 0);
    const expect ex_m[] = {
        {"mlp.0.weight", 2, {5, 3}}, {"mlp.0.bias", 1, {5}}, {"mlp.1.weight", 2, {5, 5}},
        {"mlp.1.bias", 1, {5}},      {"fc.weight", 2, {2, 5}}, {"fc.bias", 1, {2}},
    };
    check_against(&st, &m, ex_m, 6, native_dtype());
    mnet_safetensors_close(&st);

    /* the MLP's file does not fit the RNN */
    CU_ASSERT(mnet_safetensors_load_nn(p, &r.nn, r.params, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "'rnn.weight_ih_l0' missing") != NULL);
    /* nor an MLP of another width */
    net m2;
    net_init(&m2, MNET_NN_MLP, 3, 7, 2, 2);
    CU_ASSERT(mnet_safetensors_load_nn(p, &m2.nn, m2.params, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "'mlp.0.weight' has shape [5, 3], the network needs [7, 3]") != NULL);
    /* nor one layer fewer (an extra tensor) */
    net m1;
    net_init(&m1, MNET_NN_MLP, 3, 5, 1, 2);
    CU_ASSERT(mnet_safetensors_load_nn(p, &m1.nn, m1.params, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "extra") != NULL);
    free(r.params);
    free(m.params);
    free(m2.params);
    free(m1.params);
    remove_dir();
}

/* F32 from the double build (what a float32 PyTorch module wants), F64
 * from the float build: each value converted once. */
static void test_other_dtype(void)
{
    make_dir();
    char p[128], err[300] = "";
    path_in(p, sizeof p, "w.safetensors");
    net w;
    net_init(&w, MNET_NN_GRU, 2, 3, 1, 2);
    mnet_st_dtype other = sizeof(mnet_real) == 8 ? MNET_ST_F32 : MNET_ST_F64;
    CU_ASSERT_FATAL(mnet_safetensors_save_nn(p, &w.nn, w.params, NULL, other, err,
                                             sizeof err) == 0);
    mnet_safetensors st;
    CU_ASSERT_FATAL(mnet_safetensors_open(p, &st, err, sizeof err) == 0);
    const expect ex[] = {
        {"gru.weight_ih_l0", 2, {9, 2}}, {"gru.weight_hh_l0", 2, {9, 3}},
        {"gru.bias_ih_l0", 1, {9}},      {"gru.bias_hh_l0", 1, {9}},
        {"fc.weight", 2, {2, 3}},        {"fc.bias", 1, {2}},
    };
    check_against(&st, &w, ex, 6, sizeof(mnet_real) == 8 ? "F32" : "F64");
    CU_ASSERT_EQUAL(st.header_len % 8, 0);
    mnet_safetensors_close(&st);
    mnet_real *back = calloc(w.nn.n_params, sizeof *back);
    CU_ASSERT_FATAL(mnet_safetensors_load_nn(p, &w.nn, back, err, sizeof err) == 0);
    for (size_t i = 0; i < w.nn.n_params; i++)
        CU_ASSERT_EQUAL((float)back[i], (float)w.params[i]);
    free(back);
    free(w.params);
    remove_dir();
}

/* A file with this JSON header (padded to 8) and `data` bytes of zeros;
 * the reader must refuse it with a message containing `want`. */
static void refuse_header(const char *json, size_t data, const char *want)
{
    char p[128], err[300] = "";
    path_in(p, sizeof p, "bad.safetensors");
    size_t jl = strlen(json), hl = (jl + 7) / 8 * 8;
    unsigned char *f = calloc(1, 8 + hl + data);
    for (int i = 0; i < 8; i++)
        f[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(f + 8, json, jl);
    memset(f + 8 + jl, ' ', hl - jl);
    CU_ASSERT_FATAL(write_bytes(p, f, 8 + hl + data) == 0);
    free(f);
    mnet_safetensors st;
    int rc = mnet_safetensors_open(p, &st, err, sizeof err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT(st.tensors == NULL && st.header == NULL && st.data == NULL);
    if (!strstr(err, want)) {
        fprintf(stderr, "\n  header %s: got \"%s\", wanted \"%s\"\n", json, err, want);
        CU_FAIL("message");
    }
    if (rc == 0)
        mnet_safetensors_close(&st);
}

static void test_reader_refuses(void)
{
    make_dir();
    const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    char p[128], err[300];
    /* the good one first, to know the others fail for their own reason */
    {
        path_in(p, sizeof p, "good.safetensors");
        size_t jl = strlen(ok), hl = (jl + 7) / 8 * 8;
        unsigned char f[256] = {0};
        f[0] = (unsigned char)hl;
        memcpy(f + 8, ok, jl);
        memset(f + 8 + jl, ' ', hl - jl);
        CU_ASSERT_FATAL(write_bytes(p, f, 8 + hl + 8) == 0);
        mnet_safetensors st;
        CU_ASSERT_FATAL(mnet_safetensors_open(p, &st, err, sizeof err) == 0);
        CU_ASSERT_EQUAL(st.n_tensors, 1);
        mnet_safetensors_close(&st);
    }
    refuse_header(ok, 4, "past the end of the data");
    refuse_header(ok, 12, "4 bytes of data after the last tensor");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", 8,
                  "unexpected characters after the header");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "needs dtype, shape and");
    refuse_header("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                  "unknown dtype");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                  "its dtype and shape need 12");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlap");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "hole");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                  "given twice");
    refuse_header("{\"a\\q\":{}}", 0, "bad escape");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4,
                  "leading zero");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                  "non-negative integer");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
                  "integer expected");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],}}", 4,
                  "string expected");
    refuse_header("{\"__metadata__\":{\"k\":1}}", 0, "metadata values must be strings");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4,
                  "',' or '}' expected");
    refuse_header("[]", 0, "does not start with '{'");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
                  "\"extra\":1}}", 4, "unknown tensor field");
    refuse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
                  "\"data_offsets\":[0,4]}}", 4, "number too large");

    /* broken length fields */
    path_in(p, sizeof p, "len.safetensors");
    unsigned char f[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    CU_ASSERT_FATAL(write_bytes(p, f, 16) == 0);
    mnet_safetensors st;
    CU_ASSERT(mnet_safetensors_open(p, &st, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "absurd header length") != NULL);
    CU_ASSERT_FATAL(write_bytes(p, f, 5) == 0);
    CU_ASSERT(mnet_safetensors_open(p, &st, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "shorter than") != NULL);
    path_in(p, sizeof p, "missing.safetensors");
    CU_ASSERT(mnet_safetensors_open(p, &st, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "No such file") != NULL);
    remove_dir();
}

/* Every truncation of a real file is refused cleanly. */
static void test_truncated(void)
{
    make_dir();
    char p[128], q[128], err[300];
    path_in(p, sizeof p, "w.safetensors");
    path_in(q, sizeof q, "cut.safetensors");
    net w;
    net_init(&w, MNET_NN_GRU, 2, 2, 1, 1);
    CU_ASSERT_FATAL(mnet_safetensors_save_nn(p, &w.nn, w.params, NULL, MNET_ST_NATIVE, err,
                                             sizeof err) == 0);
    long len;
    char *f = mnet_read_file(p, &len);
    CU_ASSERT_FATAL(f != NULL);
    int bad = 0;
    for (long cut = 0; cut < len; cut++) {
        CU_ASSERT_FATAL(write_bytes(q, f, (size_t)cut) == 0);
        mnet_safetensors st;
        if (mnet_safetensors_open(q, &st, err, sizeof err) != -1) {
            bad++;
            mnet_safetensors_close(&st);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(f);
    free(w.params);
    remove_dir();
}

static void test_writer_refuses(void)
{
    make_dir();
    char p[128], err[300];
    path_in(p, sizeof p, "w.safetensors");
    mnet_real x[2] = {1, 2};
    mnet_st_tensor t[2] = {{"a", 1, {2}, x}, {"a", 1, {2}, x}};
    CU_ASSERT(mnet_safetensors_save(p, t, 2, NULL, MNET_ST_NATIVE, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "given twice") != NULL);
    t[1].name = "__metadata__";
    CU_ASSERT(mnet_safetensors_save(p, t, 2, NULL, MNET_ST_NATIVE, err, sizeof err) == -1);
    t[1].name = "b";
    t[1].shape[0] = 0;
    CU_ASSERT(mnet_safetensors_save(p, t, 2, NULL, MNET_ST_NATIVE, err, sizeof err) == -1);
    t[1].shape[0] = 2;
    const char *meta[] = {"k", NULL};
    CU_ASSERT(mnet_safetensors_save(p, t, 2, meta, MNET_ST_NATIVE, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "no value") != NULL);
    CU_ASSERT(access(p, F_OK) != 0);
    path_in(p, sizeof p, "nodir/w.safetensors");
    CU_ASSERT(mnet_safetensors_save(p, t, 2, NULL, MNET_ST_NATIVE, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "hint") != NULL);
    CU_ASSERT_EQUAL(count_tmp(), 0);
    remove_dir();
}

/* Python's json module parses the header; struct (or numpy, when it is
 * installed) reads the values back. */
static const char *py_check =
    "import json, struct, sys\n"
    "path, want_dtype = sys.argv[1], sys.argv[2]\n"
    "raw = open(path, 'rb').read()\n"
    "n = struct.unpack('<Q', raw[:8])[0]\n"
    "assert n % 8 == 0, 'header length not a multiple of 8'\n"
    "hdr = json.loads(raw[8:8 + n].decode('utf-8'))\n"
    "data = raw[8 + n:]\n"
    "meta = hdr.pop('__metadata__')\n"
    "assert meta['format'] == 'pt' and meta['mnet.cell'] == 'gru', meta\n"
    "names = list(hdr)\n"
    "assert names[:4] == ['gru.weight_ih_l0', 'gru.weight_hh_l0', 'gru.bias_ih_l0',\n"
    "                     'gru.bias_hh_l0'] and names[-2:] == ['fc.weight', 'fc.bias'], names\n"
    "t = hdr['gru.weight_ih_l0']\n"
    "assert t['dtype'] == want_dtype and t['shape'] == [12, 5], t\n"
    "b, e = t['data_offsets']\n"
    "fmt = '<%d%s' % (60, 'd' if want_dtype == 'F64' else 'f')\n"
    "vals = struct.unpack(fmt, data[b:e])\n"
    "try:\n"
    "    import numpy as np\n"
    "    arr = np.frombuffer(data[b:e], dtype='<f8' if want_dtype == 'F64' else '<f4')\n"
    "    assert list(arr.reshape(12, 5).ravel()) == list(vals)\n"
    "except ImportError:\n"
    "    pass\n"
    "print(repr(vals[0]), repr(vals[59]))\n";

static void test_python_cross_check(void)
{
    if (system("python3 -c 'import json, struct' >/dev/null 2>&1") != 0) {
        fprintf(stderr, " (skipped: no python3) ");
        return;
    }
    make_dir();
    char p[128], script[128], out[128], err[300], cmd[512];
    path_in(p, sizeof p, "w.safetensors");
    path_in(script, sizeof script, "check.py");
    path_in(out, sizeof out, "out.txt");
    net w;
    net_init(&w, MNET_NN_GRU, 5, 4, 2, 3);
    CU_ASSERT_FATAL(mnet_safetensors_save_nn(p, &w.nn, w.params, NULL, MNET_ST_NATIVE, err,
                                             sizeof err) == 0);
    CU_ASSERT_FATAL(write_bytes(script, py_check, strlen(py_check)) == 0);
    snprintf(cmd, sizeof cmd, "python3 %s %s %s > %s 2>&1", script, p, native_dtype(), out);
    int rc = system(cmd);
    long len;
    char *txt = mnet_read_file(out, &len);
    if (rc != 0)
        fprintf(stderr, "\n  python: %s\n", txt ? txt : "(no output)");
    CU_ASSERT(rc == 0);
    /* python's repr of the first and last value is the shortest round-trip
     * form: parse it back and compare exactly */
    if (rc == 0 && txt) {
        double a, b;
        CU_ASSERT(sscanf(txt, "%lf %lf", &a, &b) == 2);
        CU_ASSERT_EQUAL(a, (double)w.params[0]);
        CU_ASSERT_EQUAL(b, (double)w.params[59]);
    }
    free(txt);
    free(w.params);
    remove_dir();
}

int main(void)
{
    static const mnet_test tests[] = {
        {"GRU: PyTorch names, shapes, offsets, values, metadata", test_gru_names_shapes_values},
        {"RNN and MLP names; shape and name mismatches", test_rnn_mlp_names},
        {"LSTM names (torch.nn.LSTM), read-out in the metadata, round trip", test_lstm_names},
        {"the other float dtype", test_other_dtype},
        {"reader refuses broken headers and extents", test_reader_refuses},
        {"reader refuses every truncation", test_truncated},
        {"writer refuses bad tensors", test_writer_refuses},
        {"python3 json/struct cross-check", test_python_cross_check},
        {NULL, NULL},
    };
    return mnet_test_main("safetensors", tests);
}
