/* pca.c - principal components by LAPACK's dsyev; see pca.h. */
#include "pca.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK (OpenBLAS provides it): the eigenvalues (ascending) and, with
 * jobz = 'V', the eigenvectors (columns of a, column-major) of the
 * symmetric n x n matrix a, of which the triangle uplo is read.  The two
 * trailing lengths are the hidden lengths of the character arguments
 * (gfortran's convention; ignored by a C LAPACK). */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                   double *w, double *work, const int *lwork, int *info, size_t jobz_len,
                   size_t uplo_len);

#define PCA_CHUNK 2048   /* rows centred at a time */

void mnet_pca_free(mnet_pca *p)
{
    free(p->mean);
    free(p->components);
    free(p->variance);
    memset(p, 0, sizeof *p);
}

int mnet_pca_fit(mnet_pca *p, const double *x, long n, int d, int k, char *err, size_t errn)
{
    memset(p, 0, sizeof *p);
    if (n < 2 || d < 1 || k < 1 || k > d) {
        snprintf(err, errn, "PCA of %ld points of dimension %d into %d components: needs 2 or more "
                 "points and 1 <= components <= dimension", n, d, k);
        return -1;
    }
    double *cov = calloc((size_t)d * d, sizeof *cov);          /* (d x d) */
    double *chunk = malloc((size_t)PCA_CHUNK * d * sizeof *chunk);
    double *w = malloc((size_t)d * sizeof *w);
    double *work = NULL;
    p->mean = calloc((size_t)d, sizeof *p->mean);
    p->components = malloc((size_t)k * d * sizeof *p->components);
    p->variance = malloc((size_t)k * sizeof *p->variance);
    if (!cov || !chunk || !w || !p->mean || !p->components || !p->variance) {
        snprintf(err, errn, "PCA of %ld x %d values: out of memory", n, d);
        goto fail;
    }
    for (long i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            p->mean[j] += x[i * d + j];
    for (int j = 0; j < d; j++)
        p->mean[j] /= (double)n;
    /* cov (upper triangle, row-major) = sum over chunks of Xc^T Xc */
    for (long r0 = 0; r0 < n; r0 += PCA_CHUNK) {
        int rows = (int)(n - r0 < PCA_CHUNK ? n - r0 : PCA_CHUNK);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < d; j++)
                chunk[(size_t)i * d + j] = x[(size_t)(r0 + i) * d + j] - p->mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, rows, 1.0 / (double)(n - 1), chunk, d,
                    1.0, cov, d);
    }
    /* the row-major upper triangle is LAPACK's (column-major) lower one */
    int nd = d, lwork = -1, info = 0;
    double wq;
    dsyev_("V", "L", &nd, cov, &nd, w, &wq, &lwork, &info, 1, 1);
    if (info != 0) {
        snprintf(err, errn, "PCA: LAPACK dsyev's workspace query failed (info %d)", info);
        goto fail;
    }
    lwork = (int)wq;
    if (lwork < 3 * d)
        lwork = 3 * d;
    if (!(work = malloc((size_t)lwork * sizeof *work))) {
        snprintf(err, errn, "PCA of %d dimensions: out of memory", d);
        goto fail;
    }
    dsyev_("V", "L", &nd, cov, &nd, w, work, &lwork, &info, 1, 1);
    if (info != 0) {
        snprintf(err, errn, "PCA: LAPACK dsyev failed (info %d%s)", info,
                 info > 0 ? ": no convergence; are the hidden states finite?" : "");
        goto fail;
    }
    p->dim = d;
    p->n_comp = k;
    p->total_variance = 0;
    for (int j = 0; j < d; j++)
        p->total_variance += w[j] > 0 ? w[j] : 0;
    /* ascending -> descending; eigenvector j is column j (cov + j d) */
    for (int c = 0; c < k; c++) {
        int j = d - 1 - c;
        const double *v = cov + (size_t)j * d;
        int big = 0;
        for (int i = 1; i < d; i++)
            if (fabs(v[i]) > fabs(v[big]))
                big = i;
        double sign = v[big] < 0 ? -1 : 1;
        for (int i = 0; i < d; i++)
            p->components[(size_t)c * d + i] = sign * v[i];
        p->variance[c] = w[j] > 0 ? w[j] : 0;   /* round-off below 0 */
    }
    free(cov);
    free(chunk);
    free(w);
    free(work);
    return 0;
fail:
    free(cov);
    free(chunk);
    free(w);
    free(work);
    mnet_pca_free(p);
    return -1;
}

void mnet_pca_project(const mnet_pca *p, const double *x, long n, double *out)
{
    int d = p->dim, k = p->n_comp;
    for (long i = 0; i < n; i++)
        for (int c = 0; c < k; c++) {
            const double *v = p->components + (size_t)c * d;
            double s = 0;
            for (int j = 0; j < d; j++)
                s += (x[(size_t)i * d + j] - p->mean[j]) * v[j];
            out[(size_t)i * k + c] = s;
        }
}
