/* safetensors.c - network weights as .safetensors: the writer (atomic),
 * a strict little reader, and the network's tensor names (the table in
 * mnet_safetensors.h). */
#include "mnet_safetensors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io_internal.h"
#include "mnet_settings.h"

typedef unsigned long long ull;

#define ST_MAX_NN_TENSORS (4 * MNET_NN_MAX_LAYERS + 3)
#define ST_NAME 40

/* ==== a growable string ==== */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0)
        sb_add(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* A JSON string literal: quotes, backslashes and control bytes escaped;
 * other bytes (UTF-8) as they are. */
static void sb_json(sbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            sb_add(b, e, 2);
        } else if (*p < 0x20) {
            sb_printf(b, "\\u%04x", *p);
        } else {
            sb_add(b, (const char *)p, 1);
        }
    }
    sb_add(b, "\"", 1);
}

/* ==== writing ==== */

static int esize_of(mnet_st_dtype d)
{
    return d == MNET_ST_F32 ? 4 : d == MNET_ST_F64 ? 8 : (int)sizeof(mnet_real);
}

static ull numel(const mnet_st_tensor *t)
{
    ull k = 1;
    for (int d = 0; d < t->ndim; d++)
        k *= (ull)t->shape[d];
    return k;
}

static int check_tensors(const mnet_st_tensor *t, int nt, const char *const *meta, char *err,
                         size_t n)
{
    if (nt < 0 || (nt > 0 && !t))
        return io_err(err, n, "no tensors given");
    for (int i = 0; i < nt; i++) {
        if (!t[i].name || !t[i].name[0] || !strcmp(t[i].name, "__metadata__"))
            return io_err(err, n, "tensor %d: missing or reserved name", i);
        if (t[i].ndim < 1 || t[i].ndim > MNET_ST_MAX_DIM)
            return io_err(err, n, "tensor '%s': %d dimensions (1 .. %d allowed)", t[i].name,
                          t[i].ndim, MNET_ST_MAX_DIM);
        ull k = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            if (t[i].shape[d] < 1 || (ull)t[i].shape[d] > (1ull << 40) / k)
                return io_err(err, n, "tensor '%s': bad or absurd shape", t[i].name);
            k *= (ull)t[i].shape[d];
        }
        if (!t[i].data)
            return io_err(err, n, "tensor '%s': no data", t[i].name);
        for (int j = 0; j < i; j++)
            if (!strcmp(t[i].name, t[j].name))
                return io_err(err, n, "tensor name '%s' given twice", t[i].name);
    }
    for (int i = 0; meta && meta[i]; i += 2)
        if (!meta[i + 1])
            return io_err(err, n, "metadata key '%s' has no value (NULL)", meta[i]);
    return 0;
}

/* Writes count values of data as little-endian F32 / F64 (esize). */
static int write_values(FILE *f, const mnet_real *data, ull count, int esize)
{
    if (esize == (int)sizeof(mnet_real) && io_host_le())
        return fwrite(data, sizeof *data, (size_t)count, f) == (size_t)count ? 0 : -1;
    unsigned char buf[4096];
    const ull per = sizeof buf / (ull)esize;
    for (ull done = 0; done < count;) {
        ull k = count - done < per ? count - done : per;
        for (ull i = 0; i < k; i++) {
            double x = (double)data[done + i];
            if (esize == 8) {
                io_put_f64(buf + 8 * i, x);
            } else {
                float fx = (float)x;
                uint32_t u;
                memcpy(&u, &fx, sizeof u);
                io_put_u32(buf + 4 * i, u);
            }
        }
        if (fwrite(buf, (size_t)esize, (size_t)k, f) != (size_t)k)
            return -1;
        done += k;
    }
    return 0;
}

int mnet_safetensors_save(const char *path, const mnet_st_tensor *tensors, int n_tensors,
                          const char *const *meta, mnet_st_dtype dtype, char *err, size_t n)
{
    char msg[200];
    if (check_tensors(tensors, n_tensors, meta, msg, sizeof msg) != 0)
        return io_err(err, n, "cannot write safetensors file '%s': %s", path ? path : "", msg);
    const int es = esize_of(dtype);

    sbuf h = {0};
    sb_str(&h, "{\"__metadata__\":{\"format\":\"pt\"");
    for (int i = 0; meta && meta[i]; i += 2) {
        sb_str(&h, ",");
        sb_json(&h, meta[i]);
        sb_str(&h, ":");
        sb_json(&h, meta[i + 1]);
    }
    sb_str(&h, "}");
    ull off = 0;
    for (int i = 0; i < n_tensors; i++) {
        const mnet_st_tensor *t = &tensors[i];
        sb_str(&h, ",");
        sb_json(&h, t->name);
        sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", es == 8 ? "F64" : "F32");
        for (int d = 0; d < t->ndim; d++)
            sb_printf(&h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        ull bytes = numel(t) * (ull)es;
        sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", off, off + bytes);
        off += bytes;
    }
    sb_str(&h, "}");
    while (!h.oom && h.len % 8 != 0)
        sb_str(&h, " ");
    if (h.oom) {
        free(h.p);
        return io_err(err, n, "cannot write safetensors file '%s': out of memory", path);
    }

    io_atomic af;
    if (io_atomic_open(&af, path, "safetensors file", err, n) != 0) {
        free(h.p);
        return -1;
    }
    unsigned char len8[8];
    io_put_u64(len8, h.len);
    int bad = fwrite(len8, 1, 8, af.f) != 8 || fwrite(h.p, 1, h.len, af.f) != h.len;
    const char *where = "header";
    for (int i = 0; i < n_tensors && !bad; i++) {
        where = tensors[i].name;
        bad = write_values(af.f, tensors[i].data, numel(&tensors[i]), es) != 0;
    }
    free(h.p);
    if (bad) {
        int e = errno;
        io_err(err, n, "cannot write safetensors file '%s': %s (at %s); the previous file, if "
               "any, is unchanged", path, strerror(e ? e : EIO), where);
        io_atomic_abort(&af);
        return -1;
    }
    return io_atomic_commit(&af, err, n);
}

/* ---- the network's tensors ---- */

static const char *cell_prefix(mnet_nn_cell c)
{
    const char *name = mnet_name_of(mnet_cell_names, (int)c);
    return name ? name : "?";
}

/* Fills t (ST_MAX_NN_TENSORS) with the network's tensors over params;
 * names[i] holds t[i].name.  Returns the count. */
static int nn_tensors(const mnet_nn *nn, const mnet_real *params, mnet_st_tensor *t,
                      char names[][ST_NAME])
{
    mnet_nn_params p;
    /* bind only computes pointers: nothing is written through them */
    mnet_nn_bind_params(nn, (mnet_real *)params, &p);
    const char *pre = cell_prefix(nn->cfg.cell);
    const int64_t H = nn->cfg.n_hidden, GH = (int64_t)nn->n_gates * H;
    int k = 0;
    for (int l = 0; l < nn->cfg.n_layers; l++) {
        const mnet_nn_layer_params *lp = &p.layer[l];
        const int64_t Ni = nn->layer_n_in[l];
        if (nn->cfg.cell == MNET_NN_MLP) {
            snprintf(names[k], ST_NAME, "mlp.%d.weight", l);
            t[k] = (mnet_st_tensor){names[k], 2, {GH, Ni}, lp->w_in};
            k++;
            snprintf(names[k], ST_NAME, "mlp.%d.bias", l);
            t[k] = (mnet_st_tensor){names[k], 1, {GH}, lp->b_in};
            k++;
            continue;
        }
        snprintf(names[k], ST_NAME, "%s.weight_ih_l%d", pre, l);
        t[k] = (mnet_st_tensor){names[k], 2, {GH, Ni}, lp->w_in};
        k++;
        snprintf(names[k], ST_NAME, "%s.weight_hh_l%d", pre, l);
        t[k] = (mnet_st_tensor){names[k], 2, {GH, H}, lp->w_rec};
        k++;
        snprintf(names[k], ST_NAME, "%s.bias_ih_l%d", pre, l);
        t[k] = (mnet_st_tensor){names[k], 1, {GH}, lp->b_in};
        k++;
        snprintf(names[k], ST_NAME, "%s.bias_hh_l%d", pre, l);
        t[k] = (mnet_st_tensor){names[k], 1, {GH}, lp->b_rec};
        k++;
    }
    snprintf(names[k], ST_NAME, "fc.weight");
    t[k] = (mnet_st_tensor){names[k], 2, {nn->cfg.n_output, H}, p.w_out};
    k++;
    snprintf(names[k], ST_NAME, "fc.bias");
    t[k] = (mnet_st_tensor){names[k], 1, {nn->cfg.n_output}, p.b_out};
    k++;
    if (p.h0) { /* the learned initial state, as torch's h0 of one column */
        snprintf(names[k], ST_NAME, "%s.h0", pre);
        t[k] = (mnet_st_tensor){names[k], 2, {nn->cfg.n_layers, H}, p.h0};
        k++;
    }
    return k;
}

/* A modular network's analysis tensors (mask and sign of layer 0 and the
 * read-out) after the nt tensors of t.  Returns the new count. */
static int mask_tensors(const mnet_nn *nn, const mnet_real *mask, const mnet_real *sign, mnet_st_tensor *t,
                        char names[][ST_NAME], int nt)
{
    mnet_nn_params pm, ps;
    mnet_nn_bind_params(nn, (mnet_real *)mask, &pm);
    mnet_nn_bind_params(nn, (mnet_real *)sign, &ps);
    const char *pre = cell_prefix(nn->cfg.cell);
    const int64_t H = nn->cfg.n_hidden, GH = (int64_t)nn->n_gates * H, O = nn->cfg.n_output;
    snprintf(names[nt], ST_NAME, "%s.mask_ih_l0", pre);
    t[nt] = (mnet_st_tensor){names[nt], 2, {GH, nn->layer_n_in[0]}, pm.layer[0].w_in};
    nt++;
    snprintf(names[nt], ST_NAME, "%s.mask_hh_l0", pre);
    t[nt] = (mnet_st_tensor){names[nt], 2, {GH, H}, pm.layer[0].w_rec};
    nt++;
    snprintf(names[nt], ST_NAME, "%s.sign_hh_l0", pre);
    t[nt] = (mnet_st_tensor){names[nt], 2, {GH, H}, ps.layer[0].w_rec};
    nt++;
    snprintf(names[nt], ST_NAME, "fc.mask_weight");
    t[nt] = (mnet_st_tensor){names[nt], 2, {O, H}, pm.w_out};
    nt++;
    snprintf(names[nt], ST_NAME, "fc.sign_weight");
    t[nt] = (mnet_st_tensor){names[nt], 2, {O, H}, ps.w_out};
    nt++;
    return nt;
}

/* An analysis tensor of a modular network (not a parameter). */
static int is_mask_tensor(const char *name) { return strstr(name, ".mask_") || strstr(name, ".sign_"); }

int mnet_safetensors_save_nn(const char *path, const mnet_nn *nn, const mnet_real *params,
                             const char *const *meta, mnet_st_dtype dtype, char *err, size_t n)
{
    return mnet_safetensors_save_modular(path, nn, params, NULL, NULL, NULL, meta, dtype, err, n);
}

int mnet_safetensors_save_modular(const char *path, const mnet_nn *nn, const mnet_real *params,
                                  const mnet_nn_modular *md, const mnet_real *mask, const mnet_real *sign,
                                  const char *const *meta, mnet_st_dtype dtype, char *err, size_t n)
{
    if (!nn || !params)
        return io_err(err, n, "cannot write safetensors file '%s': no network or parameters",
                      path ? path : "");
    mnet_st_tensor t[ST_MAX_NN_TENSORS + 5];
    char names[ST_MAX_NN_TENSORS + 5][ST_NAME];
    int nt = nn_tensors(nn, params, t, names);
    const int modular = md && mask && sign && md->n_modules > 0 && nn->cfg.n_layers == 1 &&
                        nn->cfg.cell != MNET_NN_MLP;
    if (modular)
        nt = mask_tensors(nn, mask, sign, t, names, nt);
    /* "mnet.modules": "NAME:UNITS:EXCITATORY ..." in unit order (excitatory
     * -1: no Dale's law) */
    char *mods = NULL;
    if (modular) {
        size_t cap = (size_t)md->n_modules * (MNET_NN_NAME + 48) + 1, at = 0;
        if (!(mods = malloc(cap)))
            return io_err(err, n, "cannot write safetensors file '%s': out of memory", path);
        mods[0] = 0;
        for (int m = 0; m < md->n_modules; m++)
            at += (size_t)snprintf(mods + at, cap - at, "%s%.*s:%d:%.17g", m ? " " : "", MNET_NN_NAME - 1,
                                   md->name[m], md->size[m], md->excitatory[m] < 0 ? -1.0 : md->excitatory[m]);
    }

    /* "mnet.delays": "FROM>TO:STEPS ..." for the pairs with a delay */
    char *delays = NULL;
    if (modular) {
        size_t cap = (size_t)md->n_modules * md->n_modules * (2 * MNET_NN_NAME + 16) + 1, at = 0;
        if (!(delays = malloc(cap))) {
            free(mods);
            return io_err(err, n, "cannot write safetensors file '%s': out of memory", path);
        }
        delays[0] = 0;
        for (int b = 0; b < md->n_modules; b++)
            for (int a = 0; a < md->n_modules; a++)
                if (md->delay_steps[b][a] > 0)
                    at += (size_t)snprintf(delays + at, cap - at, "%s%.*s>%.*s:%d", at ? " " : "",
                                           MNET_NN_NAME - 1, md->name[a], MNET_NN_NAME - 1, md->name[b],
                                           md->delay_steps[b][a]);
    }

    char sz[8][24];
    snprintf(sz[0], sizeof sz[0], "%s", cell_prefix(nn->cfg.cell));
    snprintf(sz[1], sizeof sz[1], "%d", nn->cfg.n_input);
    snprintf(sz[2], sizeof sz[2], "%d", nn->cfg.n_hidden);
    snprintf(sz[3], sizeof sz[3], "%d", nn->cfg.n_layers);
    snprintf(sz[4], sizeof sz[4], "%d", nn->cfg.n_output);
    const char *ro = mnet_name_of(mnet_readout_names, (int)nn->cfg.readout);
    snprintf(sz[5], sizeof sz[5], "%s", ro ? ro : "?");
    const char *cd = mnet_name_of(mnet_candidate_names, (int)nn->cfg.candidate);
    snprintf(sz[6], sizeof sz[6], "%s", cd ? cd : "?");
    snprintf(sz[7], sizeof sz[7], "%s", nn->cfg.learn_h0 ? "learned" : "zero");
    int nm = 0;
    while (meta && meta[nm])
        nm += 2;
    const char **all = malloc(((size_t)nm + 21) * sizeof *all);
    if (!all) {
        free(mods);
        free(delays);
        return io_err(err, n, "cannot write safetensors file '%s': out of memory", path);
    }
    const char *keys[8] = {"mnet.cell",     "mnet.n_input",  "mnet.n_hidden",  "mnet.n_layers",
                           "mnet.n_output", "mnet.readout", "mnet.candidate", "mnet.initial_state"};
    int k = 0;
    for (int i = 0; i < 8; i++) {
        all[k++] = keys[i];
        all[k++] = sz[i];
    }
    if (mods) {
        all[k++] = "mnet.modules";
        all[k++] = mods;
        all[k++] = "mnet.delays";
        all[k++] = delays;
    }
    for (int i = 0; i < nm; i++)
        all[k++] = meta[i];
    all[k] = NULL;
    int rc = mnet_safetensors_save(path, t, nt, all, dtype, err, n);
    free(all);
    free(mods);
    free(delays);
    return rc;
}

/* ==== reading: a strict JSON parser for the header ==== */

typedef struct jparse {
    const char *s;
    size_t n, i;
    const char *msg;     /* first error */
    size_t at;
} jparse;

static int jfail(jparse *p, const char *msg)
{
    if (!p->msg) {
        p->msg = msg;
        p->at = p->i;
    }
    return -1;
}

static void jws(jparse *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                           p->s[p->i] == '\r'))
        p->i++;
}

static int jexpect(jparse *p, char c)
{
    jws(p);
    if (p->i >= p->n || p->s[p->i] != c) {
        static const char *const want[] = {"'{' expected", "'}' expected", "'[' expected",
                                           "']' expected", "':' expected", "',' expected"};
        const char *cs = "{}[]:,", *q = strchr(cs, c);
        return jfail(p, q ? want[q - cs] : "unexpected character");
    }
    p->i++;
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void utf8_put(sbuf *b, unsigned long cp)
{
    char u[4];
    size_t k;
    if (cp < 0x80) {
        u[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        k = 4;
    }
    sb_add(b, u, k);
}

static int jhex4(jparse *p, unsigned long *v)
{
    if (p->n - p->i < 4)
        return jfail(p, "short \\u escape");
    *v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->s[p->i + (size_t)k]);
        if (h < 0)
            return jfail(p, "bad \\u escape");
        *v = *v * 16 + (unsigned long)h;
    }
    p->i += 4;
    return 0;
}

/* A string literal, decoded into out (reset first; NUL-terminated). */
static int jstring(jparse *p, sbuf *out)
{
    out->len = 0;
    sb_add(out, "", 0);
    jws(p);
    if (p->i >= p->n || p->s[p->i] != '"')
        return jfail(p, "string expected");
    p->i++;
    for (;;) {
        if (p->i >= p->n)
            return jfail(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->i++];
        if (c == '"')
            break;
        if (c < 0x20)
            return jfail(p, "control character in a string");
        if (c != '\\') {
            sb_add(out, (const char *)&c, 1);
            continue;
        }
        if (p->i >= p->n)
            return jfail(p, "unterminated string");
        char e = p->s[p->i++];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *q = e ? strchr(from, e) : NULL;
        if (q) {
            sb_add(out, to + (q - from), 1);
        } else if (e == 'u') {
            unsigned long cp, lo;
            if (jhex4(p, &cp) != 0)
                return -1;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                    return jfail(p, "lone surrogate in \\u escape");
                p->i += 2;
                if (jhex4(p, &lo) != 0)
                    return -1;
                if (lo < 0xdc00 || lo >= 0xe000)
                    return jfail(p, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return jfail(p, "lone surrogate in \\u escape");
            }
            if (cp == 0)
                return jfail(p, "NUL in a string");
            utf8_put(out, cp);
        } else {
            return jfail(p, "bad escape in a string");
        }
    }
    return out->oom ? jfail(p, "out of memory") : 0;
}

/* A non-negative integer (JSON grammar: no leading zeros), < 2^62. */
static int juint(jparse *p, uint64_t *v)
{
    jws(p);
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
        return jfail(p, "non-negative integer expected");
    if (p->s[p->i] == '0' && p->i + 1 < p->n && p->s[p->i + 1] >= '0' && p->s[p->i + 1] <= '9')
        return jfail(p, "leading zero in a number");
    *v = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        if (*v > ((1ull << 62) - 10) / 10)
            return jfail(p, "number too large");
        *v = *v * 10 + (uint64_t)(p->s[p->i++] - '0');
    }
    if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
        return jfail(p, "integer expected");
    return 0;
}

/* ',' (returns 1: another element follows) or `close` (returns 0). */
static int jnext(jparse *p, char close)
{
    jws(p);
    if (p->i < p->n && p->s[p->i] == ',') {
        p->i++;
        return 1;
    }
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return 0;
    }
    return jfail(p, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
}

/* '[' integers ']' into v (at most cap); *count gets the number. */
static int juint_array(jparse *p, uint64_t *v, int cap, int *count)
{
    *count = 0;
    if (jexpect(p, '[') != 0)
        return -1;
    jws(p);
    if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        return 0;
    }
    for (;;) {
        if (*count == cap)
            return jfail(p, "too many array elements");
        if (juint(p, &v[(*count)++]) != 0)
            return -1;
        int r = jnext(p, ']');
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
    }
}

static const struct {
    const char *name;
    int size;
} st_dtypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},     {"I32", 4},
    {"I16", 2}, {"I8", 1},  {"U64", 8}, {"U32", 4},  {"U16", 2},     {"U8", 1},
    {"BOOL", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1},
};

static int parse_tensor(jparse *p, sbuf *tmp, mnet_st_info *t)
{
    int have[3] = {0, 0, 0};
    if (jexpect(p, '{') != 0)
        return -1;
    for (;;) {
        if (jstring(p, tmp) != 0 || jexpect(p, ':') != 0)
            return -1;
        if (!strcmp(tmp->p, "dtype")) {
            if (have[0]++)
                return jfail(p, "\"dtype\" given twice");
            if (jstring(p, tmp) != 0)
                return -1;
            t->dtype_size = 0;
            for (size_t k = 0; k < sizeof st_dtypes / sizeof st_dtypes[0]; k++)
                if (!strcmp(tmp->p, st_dtypes[k].name)) {
                    snprintf(t->dtype, sizeof t->dtype, "%s", st_dtypes[k].name);
                    t->dtype_size = st_dtypes[k].size;
                }
            if (!t->dtype_size)
                return jfail(p, "unknown dtype");
        } else if (!strcmp(tmp->p, "shape")) {
            if (have[1]++)
                return jfail(p, "\"shape\" given twice");
            uint64_t v[MNET_ST_MAX_DIM];
            if (juint_array(p, v, MNET_ST_MAX_DIM, &t->ndim) != 0)
                return -1;
            for (int d = 0; d < t->ndim; d++)
                t->shape[d] = (int64_t)v[d];
        } else if (!strcmp(tmp->p, "data_offsets")) {
            if (have[2]++)
                return jfail(p, "\"data_offsets\" given twice");
            uint64_t v[2];
            int c;
            if (juint_array(p, v, 2, &c) != 0)
                return -1;
            if (c != 2)
                return jfail(p, "data_offsets needs [begin, end]");
            t->begin = v[0];
            t->end = v[1];
        } else {
            return jfail(p, "unknown tensor field (dtype, shape, data_offsets expected)");
        }
        int r = jnext(p, '}');
        if (r < 0)
            return -1;
        if (r == 0)
            break;
    }
    if (!have[0] || !have[1] || !have[2])
        return jfail(p, "a tensor needs dtype, shape and data_offsets");
    return 0;
}

static int parse_meta(jparse *p, sbuf *tmp, mnet_safetensors *st)
{
    if (jexpect(p, '{') != 0)
        return -1;
    jws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        return 0;
    }
    for (;;) {
        if (jstring(p, tmp) != 0)
            return -1;
        for (int k = 0; k < st->n_meta; k++)
            if (!strcmp(st->meta_key[k], tmp->p))
                return jfail(p, "metadata key given twice");
        char **nk = realloc(st->meta_key, ((size_t)st->n_meta + 1) * sizeof *nk);
        if (nk)
            st->meta_key = nk;
        char **nv = realloc(st->meta_value, ((size_t)st->n_meta + 1) * sizeof *nv);
        if (nv)
            st->meta_value = nv;
        if (!nk || !nv)
            return jfail(p, "out of memory");
        st->meta_key[st->n_meta] = strdup(tmp->p);
        st->meta_value[st->n_meta] = NULL;
        st->n_meta++;
        if (!st->meta_key[st->n_meta - 1])
            return jfail(p, "out of memory");
        if (jexpect(p, ':') != 0)
            return -1;
        jws(p);
        if (p->i >= p->n || p->s[p->i] != '"')
            return jfail(p, "metadata values must be strings");
        if (jstring(p, tmp) != 0)
            return -1;
        if (!(st->meta_value[st->n_meta - 1] = strdup(tmp->p)))
            return jfail(p, "out of memory");
        int r = jnext(p, '}');
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
    }
}

static int parse_header(jparse *p, mnet_safetensors *st)
{
    sbuf tmp = {0};
    int rc = -1, seen_meta = 0;
    if (jexpect(p, '{') != 0)
        goto out;
    jws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
    } else {
        for (;;) {
            if (jstring(p, &tmp) != 0 || jexpect(p, ':') != 0)
                goto out;
            if (!strcmp(tmp.p, "__metadata__")) {
                if (seen_meta++) {
                    jfail(p, "__metadata__ given twice");
                    goto out;
                }
                if (parse_meta(p, &tmp, st) != 0)
                    goto out;
            } else {
                for (int k = 0; k < st->n_tensors; k++)
                    if (!strcmp(st->tensors[k].name, tmp.p)) {
                        jfail(p, "tensor name given twice");
                        goto out;
                    }
                mnet_st_info *nt = realloc(st->tensors, ((size_t)st->n_tensors + 1) * sizeof *nt);
                if (!nt) {
                    jfail(p, "out of memory");
                    goto out;
                }
                st->tensors = nt;
                mnet_st_info *t = &st->tensors[st->n_tensors++];
                memset(t, 0, sizeof *t);
                if (!(t->name = strdup(tmp.p))) {
                    jfail(p, "out of memory");
                    goto out;
                }
                if (parse_tensor(p, &tmp, t) != 0)
                    goto out;
            }
            int r = jnext(p, '}');
            if (r < 0)
                goto out;
            if (r == 0)
                break;
        }
    }
    jws(p);
    if (p->i != p->n) {
        jfail(p, "unexpected characters after the header object");
        goto out;
    }
    rc = 0;
out:
    free(tmp.p);
    return rc;
}

static int cmp_begin(const void *a, const void *b)
{
    const mnet_st_info *x = *(const mnet_st_info *const *)a, *y = *(const mnet_st_info *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* Every tensor's extent matches dtype x shape; together they tile the
 * data exactly. */
static int check_extents(const char *path, mnet_safetensors *st, char *err, size_t n)
{
    for (int i = 0; i < st->n_tensors; i++) {
        const mnet_st_info *t = &st->tensors[i];
        ull k = (ull)t->dtype_size;
        for (int d = 0; d < t->ndim; d++) {
            ull s = (ull)t->shape[d];
            if (s != 0 && k > (1ull << 62) / s)
                return io_err(err, n, "'%s': tensor '%s': absurd shape", path, t->name);
            k *= s;
        }
        if (t->end < t->begin || t->end - t->begin != k)
            return io_err(err, n, "'%s': tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, "
                          "its dtype and shape need %llu", path, t->name, (ull)t->begin,
                          (ull)t->end, (ull)(t->end - t->begin), k);
        if (t->end > st->data_len)
            return io_err(err, n, "'%s': tensor '%s' ends at data byte %llu, past the end of "
                          "the data (%llu bytes; truncated file?)", path, t->name, (ull)t->end,
                          (ull)st->data_len);
    }
    const mnet_st_info **by = malloc(((size_t)st->n_tensors + 1) * sizeof *by);
    if (!by)
        return io_err(err, n, "'%s': out of memory", path);
    for (int i = 0; i < st->n_tensors; i++)
        by[i] = &st->tensors[i];
    qsort(by, (size_t)st->n_tensors, sizeof *by, cmp_begin);
    ull pos = 0;
    int rc = 0;
    for (int i = 0; i < st->n_tensors && rc == 0; i++) {
        if (by[i]->begin != pos)
            rc = io_err(err, n, "'%s': tensor '%s' starts at data byte %llu, expected %llu (%s)",
                        path, by[i]->name, (ull)by[i]->begin, pos,
                        by[i]->begin < pos ? "overlap" : "hole");
        pos = by[i]->end;
    }
    if (rc == 0 && pos != st->data_len)
        rc = io_err(err, n, "'%s': %llu bytes of data after the last tensor", path,
                    (ull)st->data_len - pos);
    free(by);
    return rc;
}

int mnet_safetensors_open(const char *path, mnet_safetensors *st, char *err, size_t n)
{
    memset(st, 0, sizeof *st);
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return io_err(err, n, "cannot open safetensors file '%s': %s", path ? path : "",
                      strerror(errno));
    struct stat sb;
    int rc = -1;
    unsigned char len8[8];
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        io_err(err, n, "'%s' is not a regular file", path);
        goto out;
    }
    ull size = (ull)sb.st_size;
    if (size < 8 || fread(len8, 1, 8, f) != 8) {
        io_err(err, n, "'%s': not a safetensors file (shorter than its 8-byte header length)",
               path);
        goto out;
    }
    ull hl = io_get_u64(len8);
    if (hl < 2 || hl > MNET_ST_MAX_HEADER || hl > size - 8) {
        io_err(err, n, "'%s': absurd header length %llu (the file is %llu bytes; not a "
               "safetensors file, or truncated)", path, hl, size);
        goto out;
    }
    st->header_len = hl;
    st->data_len = size - 8 - hl;
    st->header = malloc((size_t)hl + 1);
    st->data = malloc(st->data_len ? (size_t)st->data_len : 1);
    if (!st->header || !st->data) {
        io_err(err, n, "'%s': out of memory", path);
        goto out;
    }
    if (fread(st->header, 1, (size_t)hl, f) != (size_t)hl ||
        fread(st->data, 1, (size_t)st->data_len, f) != (size_t)st->data_len) {
        io_err(err, n, "'%s': read error: %s", path, ferror(f) ? strerror(errno) : "short file");
        goto out;
    }
    st->header[hl] = 0;
    if (st->header[0] != '{') {
        io_err(err, n, "'%s': the header does not start with '{'", path);
        goto out;
    }
    jparse p = {st->header, (size_t)hl, 0, NULL, 0};
    if (memchr(st->header, 0, (size_t)hl)) {
        io_err(err, n, "'%s': NUL byte in the JSON header", path);
        goto out;
    }
    if (parse_header(&p, st) != 0) {
        io_err(err, n, "'%s': JSON header, byte %zu: %s", path, p.at, p.msg ? p.msg : "error");
        goto out;
    }
    rc = check_extents(path, st, err, n);
out:
    fclose(f);
    if (rc != 0)
        mnet_safetensors_close(st);
    return rc;
}

void mnet_safetensors_close(mnet_safetensors *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->n_tensors; i++)
        free(st->tensors[i].name);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_key[i]);
        free(st->meta_value[i]);
    }
    free(st->tensors);
    free(st->meta_key);
    free(st->meta_value);
    free(st->header);
    free(st->data);
    memset(st, 0, sizeof *st);
}

const mnet_st_info *mnet_safetensors_find(const mnet_safetensors *st, const char *name)
{
    for (int i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name))
            return &st->tensors[i];
    return NULL;
}

const char *mnet_safetensors_meta(const mnet_safetensors *st, const char *key)
{
    for (int i = 0; i < st->n_meta; i++)
        if (!strcmp(st->meta_key[i], key))
            return st->meta_value[i];
    return NULL;
}

static ull info_numel(const mnet_st_info *t)
{
    ull k = 1;
    for (int d = 0; d < t->ndim; d++)
        k *= (ull)t->shape[d];
    return k;
}

/* Element i of a F32 / F64 tensor. */
static double value_at(const mnet_safetensors *st, const mnet_st_info *t, ull i)
{
    const unsigned char *p = st->data + t->begin + i * (ull)t->dtype_size;
    if (t->dtype_size == 8)
        return io_get_f64(p);
    uint32_t u = io_get_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int float_dtype(const mnet_st_info *t)
{
    return !strcmp(t->dtype, "F32") || !strcmp(t->dtype, "F64");
}

int mnet_safetensors_read(const mnet_safetensors *st, const char *name, double *out,
                          size_t count, char *err, size_t n)
{
    const mnet_st_info *t = mnet_safetensors_find(st, name);
    if (!t)
        return io_err(err, n, "no tensor '%s'", name);
    if (!float_dtype(t))
        return io_err(err, n, "tensor '%s' has dtype %s (F32 or F64 expected)", name, t->dtype);
    if (info_numel(t) != count)
        return io_err(err, n, "tensor '%s' has %llu values, %zu asked for", name, info_numel(t),
                      count);
    for (size_t i = 0; i < count; i++)
        out[i] = value_at(st, t, i);
    return 0;
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

int mnet_safetensors_load_nn(const char *path, const mnet_nn *nn, mnet_real *params, char *err,
                             size_t n)
{
    mnet_safetensors st;
    if (mnet_safetensors_open(path, &st, err, n) != 0)
        return -1;
    mnet_st_tensor t[ST_MAX_NN_TENSORS];
    char names[ST_MAX_NN_TENSORS][ST_NAME];
    int nt = nn_tensors(nn, params, t, names);
    int rc = 0;
    for (int i = 0; i < nt && rc == 0; i++) {
        const mnet_st_info *s = mnet_safetensors_find(&st, t[i].name);
        int same = s && s->ndim == t[i].ndim;
        for (int d = 0; same && d < t[i].ndim; d++)
            same = s->shape[d] == t[i].shape[d];
        if (!s)
            rc = io_err(err, n, "'%s': tensor '%s' missing (a %s network of %d layers expected)",
                        path, t[i].name, cell_prefix(nn->cfg.cell), nn->cfg.n_layers);
        else if (!same) {
            char have[96], want[96];
            shape_str(s->shape, s->ndim, have, sizeof have);
            shape_str(t[i].shape, t[i].ndim, want, sizeof want);
            rc = io_err(err, n, "'%s': tensor '%s' has shape %s, the network needs %s", path,
                        t[i].name, have, want);
        }
        else if (!float_dtype(s))
            rc = io_err(err, n, "'%s': tensor '%s' has dtype %s (F32 or F64 expected)", path,
                        t[i].name, s->dtype);
        else {
            mnet_real *dst = params + (t[i].data - params);
            for (ull k = 0; k < numel(&t[i]); k++)
                dst[k] = (mnet_real)value_at(&st, s, k);
        }
    }
    int extra = 0; /* a modular network's masks and signs: not parameters */
    for (int i = 0; i < st.n_tensors; i++)
        extra += is_mask_tensor(st.tensors[i].name) != 0;
    if (rc == 0 && st.n_tensors - extra != nt)
        rc = io_err(err, n, "'%s': %d tensors, the network has %d (unexpected extra tensors)",
                    path, st.n_tensors - extra, nt);
    mnet_safetensors_close(&st);
    return rc;
}
