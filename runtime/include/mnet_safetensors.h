/* mnet_safetensors.h - network weights as a .safetensors file (the format
 * of Hugging Face's safetensors, read by `safetensors.torch.load_file`):
 *
 *   u64 (little-endian)  N, the header length
 *   N bytes              JSON header, padded with spaces to a multiple of 8
 *                        (so the data starts 8-byte aligned):
 *                        {"__metadata__": {"key": "value", ...},
 *                         "name": {"dtype": "F32" | "F64", "shape": [..],
 *                                  "data_offsets": [begin, end]}, ...}
 *   the data             each tensor row-major, little-endian, at
 *                        [begin, end) bytes from the end of the header;
 *                        tensors contiguous, in header order, no holes
 *
 * The network's tensors carry PyTorch's names and shapes, so a module
 *
 *   gru = nn.GRU(I, H, L)                      (cell gru)
 *   rnn = nn.RNN(I, H, L, nonlinearity="tanh") (cell rnn)
 *   mlp = nn.ModuleList(nn.Linear(Ni, H) for each layer; tanh after each)
 *                                              (cell mlp)
 *   fc  = nn.Linear(H, O)                      (sigmoid read-out)
 *
 * loads them with load_state_dict as they are:
 *
 *   cell  per layer l = 0 .. L-1                               shape
 *   gru   gru.weight_ih_l<l>  gru.weight_hh_l<l>               (3H x Ni) (3H x H)
 *         gru.bias_ih_l<l>    gru.bias_hh_l<l>                 (3H)      (3H)
 *         (gate rows r, z, n as PyTorch)
 *   rnn   rnn.weight_ih_l<l>  rnn.weight_hh_l<l>               (H x Ni)  (H x H)
 *         rnn.bias_ih_l<l>    rnn.bias_hh_l<l>                 (H)       (H)
 *   mlp   mlp.<l>.weight      mlp.<l>.bias                     (H x Ni)  (H)
 *   all   fc.weight  fc.bias                                   (O x H)   (O)
 *
 * in that order (layer by layer, then the read-out).  __metadata__ holds
 * "format": "pt", the network's sizes ("mnet.cell", "mnet.n_input",
 * "mnet.n_hidden", "mnet.n_layers", "mnet.n_output", "mnet.readout") and the caller's
 * pairs.  Writing is atomic (a temporary file renamed over path).
 *
 * The reader is small but checks what it reads: a strict JSON parser for
 * the header, every tensor's extent against its dtype, shape and the data
 * length, no overlaps or holes.
 */
#ifndef MNET_SAFETENSORS_H
#define MNET_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "mnet_model.h"
#include "mnet_nn.h"

#define MNET_ST_MAX_DIM 8
#define MNET_ST_MAX_HEADER (100u << 20)  /* bytes of JSON (the format's own cap) */

typedef enum mnet_st_dtype {
    MNET_ST_NATIVE,   /* mnet_real: F64 in the double build, F32 in float */
    MNET_ST_F32,
    MNET_ST_F64
} mnet_st_dtype;

/* One tensor to write. */
typedef struct mnet_st_tensor {
    const char *name;
    int ndim;                         /* 1 .. MNET_ST_MAX_DIM              */
    int64_t shape[MNET_ST_MAX_DIM];   /* each >= 1                         */
    const mnet_real *data;            /* prod(shape) values, row-major     */
} mnet_st_tensor;

/* Writes n_tensors tensors to path as dtype (values converted when it is
 * not the build's precision).  meta: NULL, or "key", "value", ... pairs
 * ending with NULL, added to __metadata__ after "format": "pt".  0, or -1
 * with a message in err. */
int mnet_safetensors_save(const char *path, const mnet_st_tensor *tensors, int n_tensors,
                          const char *const *meta, mnet_st_dtype dtype, char *err, size_t n);

/* The network's tensors (the table above) over params (nn->n_params,
 * mnet_nn_bind_params layout), written with mnet_safetensors_save. */
int mnet_safetensors_save_nn(const char *path, const mnet_nn *nn, const mnet_real *params,
                             const char *const *meta, mnet_st_dtype dtype, char *err,
                             size_t n);

/* The same plus, for a modular network (md with n_modules > 0, mask and
 * sign its arrays, mnet_nn.h "modular networks"; NULL: none), analysis
 * tensors that are not parameters (mnet_safetensors_load_nn skips them):
 *   <cell>.mask_ih_l0  (GH x I)   1 where the input weight exists
 *   <cell>.mask_hh_l0  (GH x H)   1 where the recurrent weight exists
 *   <cell>.sign_hh_l0  (GH x H)   Dale's sign (+1 / -1), 0 where free
 *   fc.mask_weight     (O x H)    read-out weights that exist
 *   fc.sign_weight     (O x H)    their signs
 * and the metadata "mnet.modules": "NAME:UNITS:EXCITATORY ..." in unit
 * order (EXCITATORY -1: no Dale's law). */
int mnet_safetensors_save_modular(const char *path, const mnet_nn *nn, const mnet_real *params,
                                  const mnet_nn_modular *md, const mnet_real *mask, const mnet_real *sign,
                                  const char *const *meta, mnet_st_dtype dtype, char *err, size_t n);

/* ---- reading ---- */

typedef struct mnet_st_info {
    char *name;
    char dtype[8];                    /* as written: "F32", "F64", "I64"... */
    int dtype_size;                   /* bytes per element                  */
    int ndim;
    int64_t shape[MNET_ST_MAX_DIM];
    uint64_t begin, end;              /* data_offsets: from the data start  */
} mnet_st_info;

typedef struct mnet_safetensors {
    int n_tensors;
    mnet_st_info *tensors;            /* (n_tensors) in header order        */
    int n_meta;
    char **meta_key, **meta_value;    /* (n_meta) __metadata__ pairs        */
    uint64_t header_len;              /* N                                  */
    char *header;                     /* the N header bytes, NUL-terminated */
    uint64_t data_len;                /* bytes after the header             */
    unsigned char *data;              /* (data_len) the tensors' bytes      */
} mnet_safetensors;

/* Reads the whole file and checks its header.  0, or -1 with a message
 * (st is then empty). */
int mnet_safetensors_open(const char *path, mnet_safetensors *st, char *err, size_t n);
void mnet_safetensors_close(mnet_safetensors *st);

/* The tensor named `name`, or NULL. */
const mnet_st_info *mnet_safetensors_find(const mnet_safetensors *st, const char *name);
/* The metadata value of `key`, or NULL. */
const char *mnet_safetensors_meta(const mnet_safetensors *st, const char *key);

/* Copies tensor `name` (F32 or F64) to out (exactly `count` values, its
 * element count) as doubles.  0, or -1 with a message. */
int mnet_safetensors_read(const mnet_safetensors *st, const char *name, double *out,
                          size_t count, char *err, size_t n);

/* Fills params (nn->n_params) from a file of the network's tensors: every
 * tensor must be there with its shape (F32 or F64, converted), and no
 * other (but a modular network's masks and signs, which are skipped).  0, or -1 with a message naming the tensor. */
int mnet_safetensors_load_nn(const char *path, const mnet_nn *nn, mnet_real *params, char *err,
                             size_t n);

#endif
