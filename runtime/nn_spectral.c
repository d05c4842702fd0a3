/* nn_spectral.c - spectral-radius scaling of the recurrent weights at
 * initialisation (mnet_nn.h, policy.spectral_radius). */
#include "nn_internal.h"

#include <math.h>
#include <stdlib.h>

/* LAPACK (OpenBLAS provides it): the eigenvalues wr + i wi of the general
 * n x n matrix a (column-major; overwritten); jobvl = jobvr = 'N' asks for
 * no eigenvectors.  The two trailing lengths are the hidden lengths of the
 * character arguments (gfortran's convention, as tools/pca.c). */
extern void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda, double *wr,
                   double *wi, double *vl, const int *ldvl, double *vr, const int *ldvr, double *work,
                   const int *lwork, int *info, size_t jobvl_len, size_t jobvr_len);

int mnet_nn_block_spectral_radius(const mnet_real *w, int H, double *radius)
{
    if (H < 1)
        return -1;
    const size_t hh = (size_t)H * H;
    /* the transpose (row-major read as column-major) has the same
     * eigenvalues */
    double *a = malloc((hh + 2 * (size_t)H) * sizeof *a);
    if (!a)
        return -1;
    double *wr = a + hh, *wi = wr + H;
    for (size_t i = 0; i < hh; i++)
        a[i] = (double)w[i];
    int n = H, one = 1, info = 0, lwork = -1;
    double wq = 0, dummy = 0;
    dgeev_("N", "N", &n, a, &n, wr, wi, &dummy, &one, &dummy, &one, &wq, &lwork, &info, 1, 1);
    lwork = info == 0 && wq >= 4.0 * H ? (int)wq : 4 * H;
    double *work = malloc((size_t)lwork * sizeof *work);
    if (!work) {
        free(a);
        return -1;
    }
    dgeev_("N", "N", &n, a, &n, wr, wi, &dummy, &one, &dummy, &one, work, &lwork, &info, 1, 1);
    double r = 0;
    for (int k = 0; info == 0 && k < H; k++)
        r = fmax(r, hypot(wr[k], wi[k]));
    free(work);
    free(a);
    if (info != 0)
        return -1;
    *radius = r;
    return 0;
}

int mnet_nn_scale_spectral_radius(const mnet_nn *nn, mnet_real *params, double radius)
{
    if (nn->cfg.cell == MNET_NN_MLP)
        return 0;
    const int H = nn->cfg.n_hidden, G = nn->n_gates;
    const size_t hh = (size_t)H * H;
    mnet_nn_params p;
    mnet_nn_bind_params(nn, params, &p);
    for (int l = 0; l < nn->cfg.n_layers; l++)
        for (int q = 0; q < G; q++) {
            mnet_real *w = p.layer[l].w_rec + (size_t)q * hh;
            double r;
            if (mnet_nn_block_spectral_radius(w, H, &r) != 0)
                return -1;
            if (!(r > 0) || !isfinite(r))
                continue;
            const double f = radius / r;
            for (size_t i = 0; i < hh; i++)
                w[i] = (mnet_real)((double)w[i] * f);
        }
    return 0;
}
