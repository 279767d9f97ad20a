// faces_check.h — "do these images look like the data?" for the face-training test: per-channel
// mean and standard deviation within FC_MOMENT_TOL (relative) of the data's, AND two spatial
// statistics that per-channel moments cannot fake:
//   mean image   per channel, the Pearson correlation of the samples' mean image with the data's
//                (where the face, hair and background sit); the worst channel counts
//   block cov    the 64x64 covariance of 8x8 luminance blocks (the 16 disjoint blocks of every
//                image pooled), correlated entry by entry with the data's (local smoothness, edges)
// Images are [n, 3, h, w] in [0, 1], h and w multiples of 8. Thresholds: test_train_faces.c.
#ifndef CLGAN_FACES_CHECK_H
#define CLGAN_FACES_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FC_B 8 // block side
#define FC_D (FC_B * FC_B)

typedef struct {
    double mean[3], std[3];
    double *mean_img; // [3, h, w]
    double cov[FC_D * FC_D];
} fc_stats;

static fc_stats fc_measure(const float *x, int n, int h, int w) {
    fc_stats s;
    size_t hw = (size_t)h * w;
    s.mean_img = calloc(3 * hw, sizeof *s.mean_img);
    for (int c = 0; c < 3; c++) {
        double sum = 0, sq = 0;
        for (int i = 0; i < n; i++)
            for (size_t p = 0; p < hw; p++) {
                double v = x[((size_t)i * 3 + c) * hw + p];
                sum += v, sq += v * v;
                s.mean_img[c * hw + p] += v / n;
            }
        double m = sum / ((double)n * hw);
        s.mean[c] = m;
        s.std[c] = sqrt(fmax(sq / ((double)n * hw) - m * m, 0.0));
    }
    double mu[FC_D] = {0}, v[FC_D];
    for (int k = 0; k < FC_D * FC_D; k++) s.cov[k] = 0;
    long count = 0;
    for (int i = 0; i < n; i++)
        for (int by = 0; by + FC_B <= h; by += FC_B)
            for (int bx = 0; bx + FC_B <= w; bx += FC_B, count++) {
                for (int k = 0; k < FC_D; k++) {
                    size_t p = (size_t)(by + k / FC_B) * w + bx + k % FC_B, o = (size_t)i * 3 * hw + p;
                    v[k] = (x[o] + x[o + hw] + x[o + 2 * hw]) / 3.0;
                    mu[k] += v[k];
                }
                for (int a = 0; a < FC_D; a++)
                    for (int b = 0; b < FC_D; b++) s.cov[a * FC_D + b] += v[a] * v[b];
            }
    for (int k = 0; k < FC_D; k++) mu[k] /= (double)count;
    for (int a = 0; a < FC_D; a++)
        for (int b = 0; b < FC_D; b++) s.cov[a * FC_D + b] = s.cov[a * FC_D + b] / (double)count - mu[a] * mu[b];
    return s;
}

static void fc_free(fc_stats *s) {
    free(s->mean_img);
    s->mean_img = NULL;
}

static double fc_corr(const double *a, const double *b, size_t n) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) ma += a[i] / (double)n, mb += b[i] / (double)n;
    for (size_t i = 0; i < n; i++) {
        double da = a[i] - ma, db = b[i] - mb;
        sab += da * db, saa += da * da, sbb += db * db;
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}

typedef struct {
    double moment_tol, min_mean_corr, min_cov_corr;
} fc_limits;

typedef struct {
    int moments_bad; // of the six per-channel moments, how many lie outside moment_tol
    double mean_corr, cov_corr;
    int pass;
} fc_result;

// Compares samples with the data and prints every number; pass needs all three parts.
static fc_result faces_like_data(const char *what, const fc_stats *g, const fc_stats *d, int h, int w,
                                 fc_limits lim) {
    fc_result r = {0, 1.0, 0.0, 0};
    size_t hw = (size_t)h * w;
    fprintf(stderr, "%s:\n  moments:", what);
    for (int c = 0; c < 3; c++) {
        double em = fabs(g->mean[c] - d->mean[c]) / d->mean[c], es = fabs(g->std[c] - d->std[c]) / d->std[c];
        r.moments_bad += (em > lim.moment_tol) + (es > lim.moment_tol);
        fprintf(stderr, " c%d mean %.3f (data %.3f) std %.3f (data %.3f);", c, g->mean[c], d->mean[c], g->std[c],
                d->std[c]);
    }
    fprintf(stderr, " %d of 6 outside %.0f%%\n  mean image correlation per channel:", r.moments_bad,
            100 * lim.moment_tol);
    for (int c = 0; c < 3; c++) {
        double k = fc_corr(g->mean_img + c * hw, d->mean_img + c * hw, hw);
        r.mean_corr = fmin(r.mean_corr, k);
        fprintf(stderr, " %.3f", k);
    }
    r.cov_corr = fc_corr(g->cov, d->cov, FC_D * FC_D);
    r.pass = r.moments_bad == 0 && r.mean_corr >= lim.min_mean_corr && r.cov_corr >= lim.min_cov_corr;
    fprintf(stderr, " (worst %.3f, need >= %.2f)\n  8x8 block covariance correlation %.3f (need >= %.2f)\n  -> %s\n",
            r.mean_corr, lim.min_mean_corr, r.cov_corr, lim.min_cov_corr,
            r.pass ? "like the data" : "NOT like the data");
    return r;
}

#endif
