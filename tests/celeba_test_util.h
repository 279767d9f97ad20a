// celeba_test_util.h — the folder setup the real-CelebA pipeline tests share: the subsets' paths
// under $CLGAN_SHARED_DATA (../shared/data when unset; read in place, never copied), an honest skip
// ("data", exit 77) when one a test needs is absent, and the test's scratch folder.
#ifndef CLGAN_CELEBA_TEST_UTIL_H
#define CLGAN_CELEBA_TEST_UTIL_H

#include "test_util.h"

typedef struct {
    const char *data;  // the shared data folder
    char full[1024];   // the 100 full-resolution 178x218 images
    char half[1024];   // the 10,000 half-resolution 89x109 images
    char lm[1024];     // landmark rows 1-1,000 (official 178x218 coordinates)
    char attrs[1024];  // attribute rows 1-10,000
    char work[1024];   // the scratch folder (celeba_test_workdir)
} celeba_test;

static inline void celeba_test_paths(celeba_test *c) {
    memset(c, 0, sizeof *c);
    c->data = getenv("CLGAN_SHARED_DATA");
    if (!c->data || !*c->data) c->data = "../shared/data";
    snprintf(c->full, sizeof c->full, "%s/celeba_align_fullres_100/img_align_celeba", c->data);
    snprintf(c->half, sizeof c->half, "%s/celeba_align_halfres_89x109_10k/img_align_celeba_89x109", c->data);
    snprintf(c->lm, sizeof c->lm, "%s/celeba_landmarks_subset/list_landmarks_align_celeba_000001-001000.txt",
             c->data);
    snprintf(c->attrs, sizeof c->attrs, "%s/celeba_attr_subset/list_attr_celeba_000001-010000.txt", c->data);
}

// Skips the whole test ("data") unless the three paths the test cannot run without are readable.
static inline void celeba_test_need(const celeba_test *c, const char *a, const char *b, const char *d) {
    if (access(a, R_OK) || access(b, R_OK) || access(d, R_OK))
        test_skip("data", "the CelebA subsets are not in %s (need %s, %s and %s)", c->data, a, b, d);
}

// Makes c->work (test_tmpdir "clgan-<name>-XXXXXX"); 0 when made, else -1 after saying why.
static inline int celeba_test_workdir(celeba_test *c, const char *name) {
    return test_tmpdir(c->work, sizeof c->work, name);
}

#endif
