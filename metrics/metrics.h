// metrics.h — public API of clgan's scores on the host: feature statistics (mu, sigma), FID, IS and
// KID with the conventions of pytorch-fid 0.3.0 and torch-fidelity, numpy's legacy random
// permutations (so subsets and shuffles match torch-fidelity's), and .npy / .npz files.
// The Inception network that produces features and logits lives elsewhere; everything here takes
// plain host arrays.
#ifndef CLGAN_METRICS_H
#define CLGAN_METRICS_H

#include "runtime.h"

#include <stdint.h>

// ---------------------------------------------------------------------------------------------
// Statistics of features [N, d]: mu (mean) and sigma (covariance with N - 1), in float64, like
// pytorch-fid's np.mean(act, axis=0) and np.cov(act, rowvar=False). Accumulated in batches, so
// features never need to be held all at once.

typedef struct {
    int d;
    int64_t n;     // samples accumulated; 0 when loaded from a file (.npz files do not store it)
    double *mu;    // [d]
    double *sigma; // [d, d], row-major, symmetric
} cg_stats;

void cg_stats_free(cg_stats *s); // frees mu and sigma and zeroes the struct

typedef struct cg_stats_acc cg_stats_acc;
cg_status cg_stats_acc_create(int d, cg_stats_acc **out);
void cg_stats_acc_free(cg_stats_acc *a);
// Adds n rows of d values (row-major). Any batch sizes, in any number of calls.
cg_status cg_stats_acc_add_f32(cg_stats_acc *a, const float *x, int64_t n);
cg_status cg_stats_acc_add_f64(cg_stats_acc *a, const double *x, int64_t n);
int64_t cg_stats_acc_count(const cg_stats_acc *a);
// Fills *out (malloc'd mu and sigma; free with cg_stats_free). Needs at least 2 samples.
cg_status cg_stats_acc_finish(const cg_stats_acc *a, cg_stats *out);
// One call for features already in memory.
cg_status cg_stats_compute_f32(const float *x, int64_t n, int d, cg_stats *out);

// ---------------------------------------------------------------------------------------------
// FID = |mu1 - mu2|^2 + tr(s1) + tr(s2) - 2 tr(sqrtm(s1 s2)).
// tr(sqrtm(s1 s2)) is computed in the symmetric form tr(sqrt(sqrt(s1) s2 sqrt(s1))) with LAPACK's
// dsyevd; eigenvalues within rounding of zero (below d * DBL_EPSILON * largest) count as zero, so
// rank-deficient covariances (N <= d) give a finite, deterministic value. pytorch-fid's
// scipy.linalg.sqrtm agrees with it to ~1e-7 relative there, and to ~1e-14 on full-rank ones.
// eps > 0 adds eps to both diagonals inside the square-root term only, which is exactly what
// pytorch-fid's fallback does when sqrtm(s1 s2) is not finite (it uses eps = 1e-6); pass 0 otherwise.
// A clearly negative eigenvalue (below -1e-6, i.e. an imaginary part above 1e-3 after the square
// root, pytorch-fid's limit) of s1 or of sqrt(s1) s2 sqrt(s1) means the inputs are not covariances:
// CG_ERR_NUMERIC, as pytorch-fid raises "Imaginary component".
cg_status cg_fid(int d, const double *mu1, const double *sigma1, const double *mu2, const double *sigma2,
                 double eps, double *out);
cg_status cg_fid_stats(const cg_stats *a, const cg_stats *b, double *out); // eps = 0

// ---------------------------------------------------------------------------------------------
// numpy's legacy np.random.RandomState(seed) (MT19937, init_genrand seeding) and its
// permutation(n) (Fisher-Yates from the end with masked rejection sampling), bit for bit, so
// torch-fidelity's shuffles and subsets are reproduced exactly from its seed.

typedef struct {
    uint32_t key[624];
    int pos;
} cg_np_random;

void cg_np_random_seed(cg_np_random *r, uint32_t seed);
uint32_t cg_np_random_u32(cg_np_random *r);
// out[0..n) = RandomState.permutation(n); RandomState.choice(n, k, replace=False) is its first k.
void cg_np_random_permutation(cg_np_random *r, int64_t n, int64_t *out);

typedef struct {
    double mean;
    double std; // population std (numpy's np.std, ddof = 0), as torch-fidelity reports
} cg_score;

// ---------------------------------------------------------------------------------------------
// Inception Score, torch-fidelity's isc_features_to_metric: rows shuffled by
// RandomState(seed).permutation(N), softmax in float64, `splits` consecutive chunks
// [i*N/splits, (i+1)*N/splits), per chunk exp(mean_x KL(p(y|x) || p(y))); mean and np.std.
// Logits are pool3 · Wᵀ of the 1008-class head WITHOUT its bias.

typedef struct {
    int splits;          // 10
    int shuffle;         // 1 (torch-fidelity's samples_shuffle)
    uint32_t seed;       // 2020 (torch-fidelity's rng_seed)
    const int64_t *perm; // optional [N]: row perm[k] goes to position k; replaces shuffle and seed
} cg_is_options;

cg_is_options cg_is_defaults(void);
// opt NULL: defaults. Needs N >= splits.
cg_status cg_inception_score(const float *logits, int64_t n, int classes, const cg_is_options *opt,
                             cg_score *out);

// ---------------------------------------------------------------------------------------------
// Kernel Inception Distance, torch-fidelity's kid_features_to_metric: for each subset, rows drawn
// as RandomState(seed).choice(N1, m, replace=False) then choice(N2, m, ...) from one generator;
// kernel k(x, y) = (gamma x·y + coef0)^degree; unbiased MMD² =
// sum_{i!=j} (Kxx + Kyy) / (m (m-1)) - 2 sum Kxy / m²; mean and np.std over subsets.
// Computed in float64 throughout. torch-fidelity computes in its input's dtype: float32 for
// Inception features, so its published values carry float32 rounding (8e-7 relative on the test's
// data; more where MMD² is small against the kernel values); fed float64, it matches to ~1e-13.

typedef struct {
    int subsets;          // 100
    int64_t subset_size;  // 1000; clamped to min(N1, N2) (torch-fidelity refuses instead)
    int degree;           // 3
    double gamma;         // <= 0: 1 / d
    double coef0;         // 1
    uint32_t seed;        // 2020
    // Optional, both or neither: [subsets * subset_size] row indices of each subset, replacing the
    // seeded draws; subset_size must then not exceed N1 or N2.
    const int64_t *idx1, *idx2;
} cg_kid_options;

cg_kid_options cg_kid_defaults(void);
cg_status cg_kid(const float *f1, int64_t n1, const float *f2, int64_t n2, int d, const cg_kid_options *opt,
                 cg_score *out);

// ---------------------------------------------------------------------------------------------
// .npy and .npz files (numpy's formats). Read: .npy versions 1.0, 2.0 and 3.0 with descr '<f4',
// '<f8' (and big-endian '>f4', '>f8'), C or Fortran order; .npz archives written by np.savez
// (stored) or np.savez_compressed (deflate), zip64 records included. Write: .npy version 1.0 and
// .npz with stored entries, atomically. Errors name the file (and entry) and what is wrong.

#define CG_NPY_MAX_DIMS 8

typedef struct {
    int ndim;
    int64_t shape[CG_NPY_MAX_DIMS];
    int64_t count;  // product of shape
    int source_f64; // the file stored float64 (else float32)
    double *data;   // [count], C order; malloc'd: free with cg_array_free
} cg_array;

void cg_array_free(cg_array *a);

// Parses a .npy image in memory; `what` names it in errors ("stats.npz: mu.npy").
cg_status cg_npy_parse(const void *buf, size_t len, const char *what, cg_array *out);
cg_status cg_npy_read(const char *path, cg_array *out);
// Float32 arrays [N, ...] (e.g. latent vectors for `clgan sample --z`): float64 files are rounded.
// *data is malloc'd; shape receives *ndim entries.
cg_status cg_npy_read_f32(const char *path, float **data, int *ndim, int64_t shape[CG_NPY_MAX_DIMS]);
cg_status cg_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape);
cg_status cg_npy_write_f64(const char *path, const double *data, int ndim, const int64_t *shape);

// Reads entry `key` (without ".npy") of an .npz archive. CG_ERR_NOT_FOUND when absent.
cg_status cg_npz_read(const char *path, const char *key, cg_array *out);
// Writes float64 arrays as entries "<key>.npy", stored, like np.savez(path, key=array, ...).
cg_status cg_npz_write(const char *path, int count, const char *const *keys, const cg_array *arrays);

// pytorch-fid's statistics files (np.savez_compressed(path, mu=mu, sigma=sigma); loaded with
// np.load(path)['mu'], ['sigma']): mu [d] and sigma [d, d].
cg_status cg_stats_load(const char *path, cg_stats *out);
cg_status cg_stats_save(const char *path, const cg_stats *s);

#endif
