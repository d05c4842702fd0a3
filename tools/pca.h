/* pca.h - principal components of a set of points (the hidden states of
 * `mnet plot`'s hidden_pca.svg): the eigenvectors of the sample covariance
 *
 *   C = (X - 1 mu^T)^T (X - 1 mu^T) / (n - 1)          (d x d)
 *
 * of the n points X (n x d), from LAPACK's dsyev (OpenBLAS), in order of
 * decreasing variance.  Each component's sign is fixed so its entry of
 * largest magnitude is positive (the same data give the same figure).
 */
#ifndef MNET_PCA_H
#define MNET_PCA_H

#include <stddef.h>

typedef struct mnet_pca {
    int dim;              /* d: the points' dimension                        */
    int n_comp;           /* k: components kept, k <= d                      */
    double *mean;         /* (d) mu                                          */
    double *components;   /* (k x d) row c: the c-th unit eigenvector        */
    double *variance;     /* (k) the c-th eigenvalue: variance along it      */
    double total_variance;/* trace(C): all d eigenvalues together           */
} mnet_pca;

/* Fits k components to the n x d points x (row-major, n >= 2, 1 <= k <= d).
 * 0, or -1 with a message (out of memory, LAPACK failed, bad sizes); p is
 * then empty. */
int mnet_pca_fit(mnet_pca *p, const double *x, long n, int d, int k, char *err, size_t errn);

/* out (n x k): the coordinates of the n points x (n x d) along the
 * components, about the mean. */
void mnet_pca_project(const mnet_pca *p, const double *x, long n, double *out);

void mnet_pca_free(mnet_pca *p);

#endif
