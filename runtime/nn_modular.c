/* nn_modular.c - a modular network's masks and Dale's law (mnet_nn.h,
 * "modular networks"): the check of the description, the draw of the
 * mask and sign arrays from the run's seed, and the projections that keep
 * them through training. */
#include "nn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet_rng.h"

/* RNG streams of the draw (the initialisation's are 0 .. 4L and 32). */
enum {
    NN_STREAM_REACH = 48,    /* element source, index unit               */
    NN_STREAM_PROJECT = 49,  /* element target module, index unit        */
    NN_STREAM_CONNECT = 50   /* step presynaptic unit, index target unit */
};

static int in_unit(double p) { return p >= 0 && p <= 1; } /* NaN fails */

int mnet_nn_modular_check(const mnet_nn *nn, const mnet_nn_modular *md, char *err, size_t n)
{
    const int H = nn->cfg.n_hidden, n_in = nn->cfg.n_input, M = md->n_modules;
    if (nn->cfg.cell != MNET_NN_GRU && nn->cfg.cell != MNET_NN_RNN)
        return nn_fail(err, n, "modular network: modules need a gru or rnn cell");
    if (nn->cfg.n_layers != 1)
        return nn_fail(err, n, "modular network: modules need one layer (got %d)", nn->cfg.n_layers);
    if (M < 1 || M > MNET_NN_MAX_MODULES)
        return nn_fail(err, n, "modular network: %d modules (1 to %d)", M, MNET_NN_MAX_MODULES);
    if (md->n_sources < 0 || md->n_sources > MNET_NN_MAX_SOURCES)
        return nn_fail(err, n, "modular network: %d input sources (0 to %d)", md->n_sources, MNET_NN_MAX_SOURCES);
    long total = 0;
    int readout = 0;
    for (int m = 0; m < M; m++) {
        const char *nm = md->name[m];
        if (md->size[m] < 1)
            return nn_fail(err, n, "module '%s': size %d (at least 1 unit)", nm, md->size[m]);
        total += md->size[m];
        if (md->excitatory[m] >= 0 && !in_unit(md->excitatory[m]))
            return nn_fail(err, n, "module '%s': excitatory proportion %g is outside [0, 1]", nm, md->excitatory[m]);
        if (md->excitatory[m] != md->excitatory[m])
            return nn_fail(err, n, "module '%s': excitatory proportion is not a number", nm);
        readout |= md->drives_readout[m] != 0;
        for (int a = 0; a < M; a++) {
            if (!in_unit(md->frac[m][a]))
                return nn_fail(err, n, "connection '%s' -> '%s': fraction of projecting units %g is outside [0, 1]",
                     md->name[a], nm, md->frac[m][a]);
            if (!in_unit(md->p[m][a]))
                return nn_fail(err, n, "connection '%s' -> '%s': probability %g is outside [0, 1]", md->name[a], nm,
                     md->p[m][a]);
        }
        for (int s = 0; s < md->n_sources; s++)
            if (!in_unit(md->reach[s][m]))
                return nn_fail(err, n, "input '%s' -> module '%s': probability %g is outside [0, 1]",
                     md->source_name[s], nm, md->reach[s][m]);
    }
    if (total != H)
        return nn_fail(err, n, "modular network: the module sizes add up to %ld, but the network has %d units",
             total, H);
    if (!readout)
        return nn_fail(err, n, "modular network: no module drives the read-out");
    for (int s = 0; s < md->n_sources; s++) {
        const int f = md->source_first[s], c = md->source_count[s];
        if (f < 0 || c < 1 || f > n_in - c)
            return nn_fail(err, n, "input '%s': columns %d .. %d are outside the network's %d inputs",
                 md->source_name[s], f, f + c - 1, n_in);
        for (int r = 0; r < s; r++)
            if (f < md->source_first[r] + md->source_count[r] && md->source_first[r] < f + c)
                return nn_fail(err, n, "inputs '%s' and '%s' overlap", md->source_name[r], md->source_name[s]);
    }
    return 0;
}

/* unit -> module (units are consecutive per module) */
static void unit_modules(const mnet_nn_modular *md, int *mod, int *first)
{
    for (int m = 0, u = 0; m < md->n_modules; m++) {
        first[m] = u;
        for (int k = 0; k < md->size[m]; k++)
            mod[u++] = m;
    }
}

/* +1 excitatory, -1 inhibitory, 0 no Dale in its module */
static int unit_sign(const mnet_nn_modular *md, const int *mod, const int *first, int u)
{
    const int m = mod[u];
    if (md->excitatory[m] < 0)
        return 0;
    const int n_exc = (int)floor(md->excitatory[m] * md->size[m] + 0.5);
    return u - first[m] < n_exc ? 1 : -1;
}

int mnet_nn_modular_masks(const mnet_nn *nn, const mnet_nn_modular *md, uint64_t seed,
                          mnet_real *mask, mnet_real *sign)
{
    if (mnet_nn_modular_check(nn, md, NULL, 0) != 0)
        return -1;
    const int H = nn->cfg.n_hidden, n_in = nn->cfg.n_input, O = nn->cfg.n_output, G = nn->n_gates;
    int first[MNET_NN_MAX_MODULES];
    int *mod = malloc((size_t)H * sizeof *mod); /* (H) module of each unit */
    if (!mod)
        return -1;
    unit_modules(md, mod, first);
    mnet_nn_params pm, ps;
    mnet_nn_bind_params(nn, mask, &pm);
    mnet_nn_bind_params(nn, sign, &ps);
    for (size_t i = 0; i < nn->n_params; i++) {
        mask[i] = 1; /* biases and uncovered input columns are free */
        sign[i] = 0;
    }

    /* inputs: unit j receives source s (all its columns, every gate) */
    const mnet_nn_layer_params *lm = &pm.layer[0];
    for (int s = 0; s < md->n_sources; s++)
        for (int j = 0; j < H; j++) {
            double u = mnet_rng_uniform_at(seed, NN_STREAM_REACH, (uint32_t)s, 0, (uint32_t)j);
            mnet_real keep = u < md->reach[s][mod[j]] ? 1 : 0;
            for (int q = 0; q < G; q++)
                for (int k = 0; k < md->source_count[s]; k++)
                    lm->w_in[((size_t)q * H + j) * n_in + md->source_first[s] + k] = keep;
        }

    /* recurrent: column i (presynaptic, module a) to row j (module b) */
    for (int i = 0; i < H; i++) {
        const int a = mod[i], sg = unit_sign(md, mod, first, i);
        int projects[MNET_NN_MAX_MODULES];
        for (int b = 0; b < md->n_modules; b++)
            projects[b] = mnet_rng_uniform_at(seed, NN_STREAM_PROJECT, (uint32_t)b, 0, (uint32_t)i) <
                          md->frac[b][a];
        for (int j = 0; j < H; j++) {
            const int b = mod[j];
            int keep = projects[b] &&
                       mnet_rng_uniform_at(seed, NN_STREAM_CONNECT, 0, (uint32_t)i, (uint32_t)j) <
                           md->p[b][a];
            if (sg < 0 && b != a)
                keep = 0; /* inhibitory units stay within their module */
            for (int q = 0; q < G; q++) {
                size_t at = ((size_t)q * H + j) * H + i;
                lm->w_rec[at] = keep ? 1 : 0;
                ps.layer[0].w_rec[at] = keep ? sg : 0;
            }
        }
        /* read-out: modules that drive it; inhibitory units do not leave
         * their module */
        int out = md->drives_readout[a] && sg >= 0;
        for (int o = 0; o < O; o++) {
            pm.w_out[(size_t)o * H + i] = out ? 1 : 0;
            ps.w_out[(size_t)o * H + i] = out ? sg : 0;
        }
    }
    free(mod);
    return 0;
}

void mnet_nn_constrain_init(mnet_real *w, const mnet_real *mask, const mnet_real *sign, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mnet_real v = mask[i] != 0 ? w[i] : 0;
        if (sign[i] != 0)
            v = sign[i] * (v < 0 ? -v : v);
        w[i] = v;
    }
}

void mnet_nn_constrain(mnet_real *w, const mnet_real *mask, const mnet_real *sign, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mnet_real v = mask[i] != 0 ? w[i] : 0;
        w[i] = sign[i] * v < 0 ? 0 : v;
    }
}

void mnet_nn_mask_grad(mnet_real *g, const mnet_real *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g[i] = mask[i] != 0 ? g[i] : 0;
}
