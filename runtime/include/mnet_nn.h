/* mnet_nn.h - the policy network: stacked recurrent layers and a read-out
 * (sigmoid, linear or ReLU), trained by backpropagation through time.
 *
 * Shape letters (used in every shape comment of the runtime):
 *   B  batch columns in this call        T  time steps held by the arena
 *   I  network inputs (observation)      H  hidden units per layer
 *   L  layers                            O  outputs (actions, one per muscle)
 *   G  gate blocks: 3 for GRU (r, z, n), 4 for LSTM (i, f, g, o), 1 for
 *      the tanh RNN and the MLP
 *   Ni inputs of layer l: I for l = 0, H above
 *
 * Cells (PyTorch equations), per layer, x the layer input, h its state:
 *   GRU  r  = sig(W_ir x + b_ir + W_hr h + b_hr)
 *        z  = sig(W_iz x + b_iz + W_hz h + b_hz)
 *        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn) + noise)
 *        h' = (1 - z) * n + z * h
 *   LSTM i  = sig(W_ii x + b_ii + W_hi h + b_hi)
 *        f  = sig(W_if x + b_if + W_hf h + b_hf)
 *        g  = tanh(W_ig x + b_ig + W_hg h + b_hg + noise)
 *        o  = sig(W_io x + b_io + W_ho h + b_ho)
 *        c' = f * c + i * g      h' = o * tanh(c')
 *   RNN  h' = tanh(W x + b + U h + c + noise)
 *   MLP  h' = tanh(W x + b + noise)          (no state: h is not used)
 * Read-out on the top layer: y = phi(W_o h' + b_o), phi the sigmoid (the
 * reference, cfg.readout), the identity or max(0, .).
 * `noise` (optional, mnet_nn_noise) is sd * N(0,1) added to the hidden
 * pre-activation: for the GRU the candidate n's, inside its tanh, after the
 * reset gate has been applied; for the LSTM the candidate g's; for the RNN
 * and MLP the layer's tanh argument.  It is a constant for
 * backpropagation.
 * The LSTM's cell state c lives in the arena only: the caller's state
 * blocks (h0, dh, dh_ext) hold h, and c starts at zero.
 *
 * Layout: feature-major structure of arrays, like the effector side
 * (mnet_model.h): a (rows x B) block has element (row, b) at a[row*ld + b].
 * Observations arrive and actions leave in that layout with no transpose,
 * and the network's GEMMs run on it directly (row-major BLAS):
 *   forward   G (GH x B)  = W (GH x Ni) . X (Ni x B)       NoTrans, NoTrans
 *   input     dX (Ni x B) = W^T . dG (GH x B)              Trans,   NoTrans
 *   weights   dW (GH x Ni) += dG (GH x TB) . X^T (TB x Ni) NoTrans, Trans
 * Caller-side blocks (x, h0, y, dy, dh, dh_ext, dx) all use one leading
 * dimension `ld` >= B, as an mnet_fn does.
 *
 * Parameters: one mnet_real array; mnet_nn_params names its pieces.  The
 * same binding names the pieces of the gradient and of Adam's moments.
 * Order: layer 0 (w_in, w_rec, b_in, b_rec), layer 1, ..., w_out, b_out;
 * within a GRU block the gate rows are r, z, n, as PyTorch's weight_ih_l0
 * (3H x Ni), weight_hh_l0 (3H x H), bias_ih_l0, bias_hh_l0; within an
 * LSTM block i, f, g, o (4H rows), as torch.nn.LSTM.
 *
 * Activations: one arena for T steps, T * mnet_nn_act_size(nn, B) reals.
 * It is a set of (rows x T*B) arrays (mnet_nn_acts); step t owns columns
 * t*B .. t*B + B - 1 of each, so a step's block is (rows x B) with
 * ld = T*B, and the blocks of all steps together are one (rows x T*B)
 * matrix.  That is what lets the weight gradients be one GEMM over all
 * steps (mnet_nn_backward_weights: K = T*B instead of T GEMMs with K = B).
 *
 * Backward overwrites the step's gate activations with the gradients of
 * the pre-activations (llm.c-style reuse; see mnet_nn_layer_acts), so an
 * arena serves one backward pass; run forward again before another.
 */
#ifndef MNET_NN_H
#define MNET_NN_H

#include <stddef.h>
#include <stdint.h>

#include "mnet_model.h"

#define MNET_NN_MAX_LAYERS 8
#define MNET_NN_MAX_MODULES 16

typedef enum mnet_nn_cell {
    MNET_NN_GRU,   /* gated recurrent unit, PyTorch gate equations */
    MNET_NN_RNN,   /* tanh RNN (Elman)                              */
    MNET_NN_MLP,   /* tanh feed-forward layers, no recurrence       */
    MNET_NN_LSTM   /* long short-term memory, PyTorch gate equations */
} mnet_nn_cell;

/* The read-out's nonlinearity phi (y = phi(W_o h + b_o)). */
typedef enum mnet_nn_readout {
    MNET_NN_READOUT_SIGMOID, /* 1 / (1 + e^-a): the reference, y in (0, 1) */
    MNET_NN_READOUT_LINEAR,  /* a                                          */
    MNET_NN_READOUT_RELU     /* max(0, a); phi' = 1 where y > 0, else 0  */
} mnet_nn_readout;

/* The candidate's activation psi of the GRU (n = psi(...)), of the RNN
 * and of the MLP (h' = psi(...)).  The LSTM keeps tanh. */
typedef enum mnet_nn_candidate {
    MNET_NN_CANDIDATE_TANH,          /* tanh (PyTorch)                       */
    MNET_NN_CANDIDATE_RECTIFIED_TANH /* max(0, tanh(a)); psi' = 1 - psi^2
                                        where psi > 0, else 0                */
} mnet_nn_candidate;

/* How the recurrent weights are initialised (both: Gram-Schmidt of a
 * Gaussian matrix, the QR with a positive diagonal of R, i.e. a Haar
 * orthogonal matrix).  For the RNN (G = 1) the two are the same. */
typedef enum mnet_nn_ortho {
    /* PyTorch / MotorNet: orthogonal_ on the stacked (GH x H) matrix: its
     * H columns are orthonormal (W^T W = I), a gate block alone is not. */
    MNET_NN_ORTHO_STACKED,
    /* each (H x H) gate block orthogonal on its own (B^T B = B B^T = I),
     * as Keras' GRU does per gate. */
    MNET_NN_ORTHO_BLOCK
} mnet_nn_ortho;

typedef struct mnet_nn_config {
    mnet_nn_cell cell;
    int n_input;           /* I                                   */
    int n_hidden;          /* H (every layer)                     */
    int n_layers;          /* L, 1 .. MNET_NN_MAX_LAYERS          */
    int n_output;          /* O                                   */
    mnet_nn_ortho ortho;   /* recurrent init                      */
    double readout_bias;   /* read-out bias init (reference -5)   */
    mnet_nn_readout readout; /* read-out nonlinearity (0: sigmoid) */
    mnet_nn_candidate candidate; /* candidate activation (0: tanh)    */
    int learn_h0;          /* 1: the initial state h0 (L x H) is a
                              trained parameter (mnet_nn_params.h0)
                              instead of zeros; not for the MLP.  The
                              LSTM's cell state still starts at 0  */
} mnet_nn_config;

/* Delays between the modules of a one-layer network (mnet_nn_set_delays):
 * the recurrent input unit j of module b gets from unit i of module a at
 * step t is h_i at step t - 1 - steps[b][a] instead of t - 1 (before the
 * episode the state is h0).  The gate interpolation z * h of the GRU uses
 * the unit's own h_{t-1} as always. */
typedef struct mnet_nn_delays {
    int n_modules;              /* 0: no delays (the dense path)             */
    int first[MNET_NN_MAX_MODULES], size[MNET_NN_MAX_MODULES]; /* units of each module */
    int steps[MNET_NN_MAX_MODULES][MNET_NN_MAX_MODULES];       /* [to][from] extra steps, >= 0 */
    /* the connected pairs (frac and p > 0), in the order the products run:
     * target b = pair_to[k], source a = pair_from[k]; a pair masked out
     * entirely is skipped */
    int n_pairs;
    unsigned char pair_to[MNET_NN_MAX_MODULES * MNET_NN_MAX_MODULES];
    unsigned char pair_from[MNET_NN_MAX_MODULES * MNET_NN_MAX_MODULES];
    int max;                    /* largest steps[][]                         */
} mnet_nn_delays;

/* The constant description of a network (sizes and offsets): fill it with
 * mnet_nn_setup (and mnet_nn_set_delays), then never change it. */
typedef struct mnet_nn {
    mnet_nn_config cfg;
    int n_gates;                          /* G                              */
    int layer_n_in[MNET_NN_MAX_LAYERS];   /* Ni                             */
    size_t layer_offset[MNET_NN_MAX_LAYERS]; /* first parameter of layer l  */
    size_t out_offset;                    /* first read-out parameter       */
    size_t h0_offset;                     /* the learned h0 (learn_h0)      */
    size_t n_params;                      /* total                          */
    mnet_nn_delays delays;                /* n_modules 0: none              */
    int act_rows;                         /* activation rows per step: the
                                             arena holds T*B*act_rows reals */
} mnet_nn;

typedef struct mnet_nn_layer_params {
    mnet_real *w_in;    /* (GH x Ni)  input weights W_i (rows r, z, n)      */
    mnet_real *w_rec;   /* (GH x H)   recurrent weights W_h; NULL for MLP   */
    mnet_real *b_in;    /* (GH)       input bias b_i                        */
    mnet_real *b_rec;   /* (GH)       recurrent bias b_h; NULL for MLP      */
} mnet_nn_layer_params;

typedef struct mnet_nn_params {
    mnet_nn_layer_params layer[MNET_NN_MAX_LAYERS];
    mnet_real *w_out;   /* (O x H) read-out weights                         */
    mnet_real *b_out;   /* (O)     read-out bias                            */
    mnet_real *h0;      /* (LH)    learned initial state, row l*H + j; NULL
                           unless cfg.learn_h0 (it follows b_out)           */
} mnet_nn_params;

/* One layer's activations, each a (rows x T*B) array, step t at column t*B. */
typedef struct mnet_nn_layer_acts {
    mnet_real *h_prev;  /* (H x TB)  state before the step; NULL for MLP     */
    mnet_real *gate;    /* (GH x TB) after forward: GRU r, z, n; LSTM i, f,
                           g, o; RNN/MLP:
                           not written (backward needs only h').
                           After backward: d loss / d pre-activation of each
                           gate block, i.e. dG_i, the gradient of
                           W_i x + b_i (rows r, z, n).                        */
    mnet_real *ghn;     /* (H x TB)  GRU only, else NULL.  After forward:
                           W_hn h + b_hn; after backward: its gradient
                           (= dG_i of n times r), the n block of dG_h.        */
    mnet_real *c;       /* (H x TB)  LSTM only, else NULL: cell state c'      */
    mnet_real *dc;      /* (H x TB)  LSTM only, else NULL: d loss / d c' from
                           the later steps; zeroed by forward, written by the
                           next step's backward                               */
    mnet_real *h;       /* (H x TB)  output state h'                          */
    mnet_real *dhd;     /* (H x TB)  with delays only, else NULL: at step t,
                           d loss / d h_{t-1} through the delayed
                           connections of the later steps (step 0 also
                           collects what reaches before the episode);
                           zeroed by forward, added by backward            */
} mnet_nn_layer_acts;

typedef struct mnet_nn_acts {
    int T, B;           /* steps held, batch columns                         */
    long ld;            /* T*B: leading dimension of every array             */
    mnet_real *x;       /* (I x TB)  network input                           */
    mnet_nn_layer_acts layer[MNET_NN_MAX_LAYERS];
    mnet_real *y;       /* (O x TB)  after forward: read-out y; after
                           backward: d loss / d (W_o h + b_o)                 */
} mnet_nn_acts;

/* Hidden-noise parameters of one forward step: the noise of unit j, layer
 * l, column b is sd * mnet_rng_normal_at(seed, stream + l, element0 + b,
 * step, j).  `step` is the episode step (not the arena slot). */
typedef struct mnet_nn_noise {
    double sd;          /* 0: no noise                                       */
    uint64_t seed;
    uint32_t stream;    /* first of L streams                                */
    uint32_t element0;  /* global batch index of column 0                    */
    uint32_t step;
} mnet_nn_noise;

/* Checks the configuration and fills nn.  Returns 0, or -1 with a message
 * in err (when err_size > 0). */
int mnet_nn_setup(mnet_nn *nn, const mnet_nn_config *cfg, char *err, size_t err_size);

/* Names the pieces of a flat array of nn->n_params reals (parameters,
 * gradient or optimiser moments). */
void mnet_nn_bind_params(const mnet_nn *nn, mnet_real *buf, mnet_nn_params *p);

/* Reference initialisation of buf (n_params), a pure function of seed:
 * W_i and W_o Xavier-uniform over the whole tensor (bound
 * sqrt(6 / (fan_in + fan_out)), fan_out = GH for a stacked W_i, as
 * torch.nn.init.xavier_uniform_), W_h orthogonal (cfg.ortho), biases 0,
 * b_o = cfg.readout_bias.  Returns 0, or -1 when out of memory. */
int mnet_nn_init_params(const mnet_nn *nn, mnet_real *buf, uint64_t seed);

/* Reals of activation memory per time step and batch column count B. */
size_t mnet_nn_act_size(const mnet_nn *nn, int B);

/* Names the arrays of an arena of T * mnet_nn_act_size(nn, B) reals
 * (T*B must fit an int: it is the BLAS leading dimension). */
void mnet_nn_bind_acts(const mnet_nn *nn, mnet_real *arena, int T, int B, mnet_nn_acts *a);

/* Forward step t (0 <= t < a->T).
 *   x     (I x ld)    input
 *   h0    (LH x ld)   state before the step, row l*H + j for unit j of
 *                     layer l; read only when t == 0 (NULL: zeros, or
 *                     the learned p->h0 in every column); for
 *                     t > 0 the state is step t-1's output in the arena
 *   y     (O x ld)    output (may be NULL: read it from a->y)
 *   noise             NULL or sd 0: no hidden noise */
void mnet_nn_forward(const mnet_nn *nn, const mnet_nn_params *p, const mnet_nn_acts *a,
                     int t, const mnet_real *x, const mnet_real *h0, mnet_real *y, int ld,
                     const mnet_nn_noise *noise);

/* Backward step t, after forward steps 0..t; run t = T-1 down to 0.
 *   dy     (O x ld)   d loss / d y_t (NULL: zero)
 *   dh_ext (LH x ld)  d loss / d h'_t taken directly (e.g. an activity
 *                     penalty on the hidden states); NULL: zero
 *   dh     (LH x ld)  in: d loss / d h'_t through later steps (zero before
 *                     t = T-1); out: d loss / d h_{t-1} (after t = 0: the
 *                     gradient w.r.t. h0).  Zero in and out for the MLP.
 *   dx     (I x ld)   out: d loss / d x_t (NULL: not computed)
 * With a learned initial state (g->h0), step 0 also adds the row sums of
 * d loss / d h0 into g->h0: the forward must have started from it (h0
 * NULL).
 * Parameter gradients are accumulated (+=) into g, except that with
 * defer_weights != 0 the GEMMs and bias sums of the weight gradients are
 * left to mnet_nn_backward_weights (what the step still needs is kept in
 * the arena). */
void mnet_nn_backward(const mnet_nn *nn, const mnet_nn_params *p, const mnet_nn_params *g,
                      const mnet_nn_acts *a, int t, const mnet_real *dy,
                      const mnet_real *dh_ext, mnet_real *dh, mnet_real *dx, int ld,
                      int defer_weights);

/* Accumulates (+=) into g the weight and bias gradients of steps
 * t0 .. t1-1, whose backward steps ran with defer_weights: per weight
 * matrix one GEMM with K = (t1 - t0)*B over the arena's stored inputs and
 * pre-activation gradients. */
void mnet_nn_backward_weights(const mnet_nn *nn, const mnet_nn_params *g,
                              const mnet_nn_acts *a, int t0, int t1);

/* The state h' of layer l after step t: a (H x B) block with ld = a->ld. */
mnet_real *mnet_nn_state(const mnet_nn *nn, const mnet_nn_acts *a, int t, int l);

/* ---- modular networks: masks and Dale's law (runtime/nn_modular.c) ----
 *
 * A modular network is a one-layer GRU (or RNN) whose H units are cut into
 * modules, consecutive in the unit order (module 0 first).  What connects
 * is decided once, from the run's seed, and kept in two arrays of the
 * parameter layout (n_params each, bound like the parameters):
 *   mask  1 where the weight exists, 0 where it is fixed at zero
 *   sign  +1 / -1 where Dale's law fixes the weight's sign, 0 where free
 * Rules (presynaptic = the column: an input or a unit):
 *   input source s -> module m   each unit of m receives the whole source
 *                                (all its columns, every gate) with
 *                                probability reach[s][m]
 *   module a -> module b         each unit of a projects to b with
 *                                probability frac[b][a]; each connection of
 *                                a projecting unit to a unit of b (every
 *                                gate) is then kept with probability
 *                                p[b][a]
 *   Dale (excitatory[m] >= 0)    the first round(excitatory[m] * size[m])
 *                                units of m are excitatory (+1), the rest
 *                                inhibitory (-1): the unit's outgoing
 *                                recurrent and read-out weights carry its
 *                                sign, and an inhibitory unit projects only
 *                                within its module
 *   read-out                     only the units of modules with
 *                                drives_readout[m] reach fc.weight
 * Biases are always free.  Training keeps the rules: the weight gradient
 * is multiplied by the mask before clipping and Adam
 * (mnet_nn_mask_grad), and after every update mnet_nn_constrain sets the
 * masked weights to 0 and a weight of the wrong sign to 0. */
#define MNET_NN_MAX_SOURCES 8
#define MNET_NN_NAME 32

typedef struct mnet_nn_modular {
    int n_modules;
    char name[MNET_NN_MAX_MODULES][MNET_NN_NAME];  /* module names       */
    int size[MNET_NN_MAX_MODULES];                 /* units; sum = H     */
    double excitatory[MNET_NN_MAX_MODULES];        /* in [0, 1]; < 0: no
                                                      Dale for the module */
    int drives_readout[MNET_NN_MAX_MODULES];       /* 0 / 1              */
    int n_sources;                                 /* input sources      */
    char source_name[MNET_NN_MAX_SOURCES][MNET_NN_NAME];
    int source_first[MNET_NN_MAX_SOURCES];         /* first input column */
    int source_count[MNET_NN_MAX_SOURCES];         /* its columns        */
    double reach[MNET_NN_MAX_SOURCES][MNET_NN_MAX_MODULES];   /* [s][m]  */
    double frac[MNET_NN_MAX_MODULES][MNET_NN_MAX_MODULES];    /* [to][from] */
    double p[MNET_NN_MAX_MODULES][MNET_NN_MAX_MODULES];       /* [to][from] */
    /* Delay of each pair [to][from] beyond the one step of recurrence
     * (mnet_nn_delays), as written: in steps, or as a time in seconds
     * that the trainer turns into steps (round(time / dt)) and adds to
     * delay_steps.  0, 0: none. */
    int delay_steps[MNET_NN_MAX_MODULES][MNET_NN_MAX_MODULES];
    double delay_time[MNET_NN_MAX_MODULES][MNET_NN_MAX_MODULES];
} mnet_nn_modular;

/* Checks the description against the network (one layer of a recurrent
 * cell; module sizes adding up to H; sources inside the input and not
 * overlapping; every probability and proportion in [0, 1]).  Returns 0, or
 * -1 with a message naming the module or source in err. */
int mnet_nn_modular_check(const mnet_nn *nn, const mnet_nn_modular *md, char *err, size_t n);

/* Draws mask and sign (n_params each) from seed: a pure function of
 * (network, description, seed).  Returns 0, or -1 when the description
 * does not fit (mnet_nn_modular_check). */
int mnet_nn_modular_masks(const mnet_nn *nn, const mnet_nn_modular *md, uint64_t seed,
                          mnet_real *mask, mnet_real *sign);

/* w (n) = mask * w, with the sign of sign where it is not 0, |w| kept:
 * what the initialisation does to a fresh draw (a weight of the wrong sign
 * is flipped, not zeroed, so the init keeps its scale). */
void mnet_nn_constrain_init(mnet_real *w, const mnet_real *mask, const mnet_real *sign, size_t n);

/* After an update: masked weights 0, a weight of the wrong sign 0. */
void mnet_nn_constrain(mnet_real *w, const mnet_real *mask, const mnet_real *sign, size_t n);

/* g (n) *= mask: the gradient of a masked weight is exactly 0. */
void mnet_nn_mask_grad(mnet_real *g, const mnet_real *mask, size_t n);

/* Gives nn the module pairs' delays of md (md->delay_steps, already in
 * steps: delay_time is not read) for episodes of T steps, after
 * mnet_nn_setup and before the arena is sized: with any delay > 0 the
 * recurrent products run per module pair (nn_delay.c) and the arena
 * gains dhd.  No delay: nothing changes.  A pair with frac or p 0 is
 * skipped.  Returns 0, or -1 with a message (md does not fit nn, or a
 * delay is negative or not shorter than the episode). */
int mnet_nn_set_delays(mnet_nn *nn, const mnet_nn_modular *md, int T, char *err, size_t n);

/* ---- spectral radius (nn_spectral.c) ------------------------------------ */

/* The largest |eigenvalue| of the (H x H) block w (row-major), by LAPACK's
 * dgeev (OpenBLAS) in double.  Returns 0, or -1 when out of memory or when
 * LAPACK fails. */
int mnet_nn_block_spectral_radius(const mnet_real *w, int H, double *radius);

/* Scales each recurrent gate block (H x H) of every layer of params
 * (n_params) so that its spectral radius is radius (> 0); a block whose
 * radius is 0 (all zero, or nilpotent) is left as it is.  What
 * policy.spectral_radius does to the initialisation, after the modular
 * masks and Dale's signs (a positive factor keeps both).  Nothing for an
 * MLP.  Returns 0, or -1 as mnet_nn_block_spectral_radius. */
int mnet_nn_scale_spectral_radius(const mnet_nn *nn, mnet_real *params, double radius);

#endif
