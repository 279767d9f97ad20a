// test_preprocess_partial.c — decoding only the part of an image the device reads
// (cg_image_load_region: libjpeg's jpeg_skip_scanlines, an early stop and jpeg_crop_scanline with a
// column margin) on real CelebA JPEGs ($CLGAN_SHARED_DATA: 100 full-size 178x218 and 100 half-size
// 89x109 with odd sides, 4:2:0 chroma, where fancy upsampling mixes neighbouring rows and columns):
// every asked pixel is bit-identical to the full decode's, for rectangles that start and end inside
// and at the edges of iMCUs and of the image; rows outside are zero. Negative controls: the same
// comparison one row further up (a region one row too small decoded) finds differences; and built
// with -DCG_JPEG_COL_MARGIN=0 (no column margin) this test fails (667 checks on 2026-12-04: columns
// next to the iMCU-aligned crop edge differ, as the edge is upsampled as the image's edge). Then the
// pipeline: cg_preprocess_run on the full-size images with the official landmarks, decoding only the
// rows (default) and whole images (whole_images = 1), writes the same dataset bytes and takes the same
// decisions, with the zoomed face crop and the centre crop. Built without libjpeg (stb_image decodes
// whole images), the rows are still the full decode's and the pipeline's datasets still agree.
#include "celeba_test_util.h"
#include "preprocess.h"

static celeba_test ct;

// ctx: {y0, y1, x0, x1}; a negative or zero end counts from the bottom or right edge.
static void crop_rows(void *ctx, int w, int h, int reg[4]) {
    const int *r = ctx;
    reg[0] = r[2];
    reg[1] = r[0];
    reg[2] = r[3] > 0 ? r[3] : w + r[3];
    reg[3] = r[1] > 0 ? r[1] : h + r[1];
}

// Row ranges: the top, the bottom, inside iMCU rows (16 for 4:2:0), at their edges, one row; column
// ranges: whole rows, the face's columns, inside and at the edges of iMCU columns, one column.
static const int ranges[][4] = {{0, 50, 0, 0},    {70, 0, 0, 0},    {37, 151, 0, 0},   {16, 32, 0, 0},
                                {15, 33, 0, 0},   {1, -1, 0, 0},    {100, 101, 0, 0},  {48, 200, 0, 0},
                                {80, 185, 45, 133}, {0, 0, 17, 31}, {20, 90, 16, 32},  {5, 60, 33, 34},
                                {0, 0, 1, -1},    {60, 0, 40, 0},   {0, 70, 0, 60},    {30, 31, 70, 71}};
#define N_RANGES (sizeof ranges / sizeof ranges[0])

static void test_rows(const char *dir, int count, int libjpeg, size_t *control_differs, size_t *control_total) {
    for (int i = 1; i <= count; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%06d.jpg", dir, i);
        cg_decoded whole;
        cg_image_load(path, 8192, &whole);
        CHECK(whole.ok, "%s: %s", path, whole.detail);
        if (!whole.ok) continue;
        size_t stride = (size_t)whole.w * 3;
        for (size_t k = 0; k < N_RANGES; k++) {
            cg_region rows = {crop_rows, (void *)ranges[k]};
            cg_decoded part;
            cg_image_load_region(path, 8192, &rows, &part);
            int y0 = ranges[k][0], y1 = ranges[k][1] > 0 ? ranges[k][1] : whole.h + ranges[k][1];
            int x0 = ranges[k][2], x1 = ranges[k][3] > 0 ? ranges[k][3] : whole.w + ranges[k][3];
            if (y1 > whole.h) y1 = whole.h;
            if (x1 > whole.w) x1 = whole.w;
            if (y0 >= y1 || x0 >= x1) {
                cg_decoded_release(&part);
                continue;
            }
            CHECK(part.ok && part.w == whole.w && part.h == whole.h, "%s rows %d-%d: %s", path, y0, y1, part.detail);
            if (!part.ok) continue;
            size_t diff = 0, outside = 0;
            for (int y = y0; y < y1; y++)
                for (size_t b = (size_t)y * stride + (size_t)x0 * 3; b < (size_t)y * stride + (size_t)x1 * 3; b++)
                    diff += part.pixels[b] != whole.pixels[b];
            CHECK(diff == 0, "%s rows %d-%d, columns %d-%d: %zu bytes differ from the full decode", path, y0, y1, x0,
                  x1, diff);
            for (size_t b = 0; libjpeg && b < (size_t)whole.h * stride; b++)
                outside += (b < (size_t)y0 * stride || b >= (size_t)y1 * stride) && part.pixels[b] != 0;
            CHECK(outside == 0, "%s rows %d-%d: %zu bytes outside them are not zero", path, y0, y1, outside);
            if (libjpeg && y0 > 0) { // negative control: one row more than was decoded
                size_t d = 0;
                for (size_t b = (size_t)(y0 - 1) * stride + (size_t)x0 * 3; b < (size_t)(y0 - 1) * stride + (size_t)x1 * 3;
                     b++)
                    d += part.pixels[b] != whole.pixels[b];
                (*control_total)++;
                *control_differs += d > 0;
            }
            cg_decoded_release(&part);
        }
        cg_decoded_release(&whole);
    }
}

static void test_pipeline(cg_runtime *rt, int zoom) {
    cg_pp_result *r[2] = {NULL, NULL};
    for (int whole = 0; whole < 2; whole++) {
        char out[1200];
        snprintf(out, sizeof out, "%s/%s%d.cgds", ct.work, zoom ? "zoom" : "centre", whole);
        cg_pp_params p;
        cg_pp_params_default(&p);
        p.input = ct.full;
        p.images = ct.full;
        p.landmarks = ct.lm;
        p.attributes = "none";
        p.partitions = "none";
        p.output = out;
        p.reject_sheets = 1;
        p.zoom = zoom;
        p.limit = 100;
        p.batch = 16; // several batches
        p.whole_images = whole;
        CHECK_OK(cg_preprocess_run(rt, &p, NULL, &r[whole]));
    }
    if (!r[0] || !r[1]) goto done;
    CHECK(r[0]->written == r[1]->written && r[0]->written > 50, "%s: %zu written from rows, %zu from whole images",
          zoom ? "zoom" : "centre", r[0]->written, r[1]->written);
    CHECK(r[0]->checksum == r[1]->checksum, "%s: dataset checksum %016llx from rows, %016llx from whole images",
          zoom ? "zoom" : "centre", (unsigned long long)r[0]->checksum, (unsigned long long)r[1]->checksum);
    size_t same = 0;
    for (size_t i = 0; i < r[0]->set.n; i++) {
        const cg_pp_item *a = &r[0]->items[i], *b = &r[1]->items[i];
        same += a->outcome == b->outcome && !memcmp(&a->sun_score, &b->sun_score, sizeof a->sun_score) &&
                !memcmp(&a->ref_mean, &b->ref_mean, sizeof a->ref_mean);
    }
    CHECK(same == r[0]->set.n, "%s: %zu of %zu entries decided alike", zoom ? "zoom" : "centre", same, r[0]->set.n);
    int sheets_equal = r[0]->sheet_n[0] == r[1]->sheet_n[0] && r[0]->sheet_n[0] > 0 && r[0]->sheet[0] &&
                       !memcmp(r[0]->sheet[0], r[1]->sheet[0], (size_t)r[0]->sheet_n[0] * 64 * 64 * 3);
    CHECK(sheets_equal, "%s: the frontal rejects' contact sheets differ (%d and %d crops)", zoom ? "zoom" : "centre",
          r[0]->sheet_n[0], r[1]->sheet_n[0]);
    printf("%s crop: %zu images, checksum %016llx from rows and from whole images\n", zoom ? "zoomed face" : "centre",
           r[0]->written, (unsigned long long)r[0]->checksum);
done:
    cg_pp_result_free(r[0]);
    cg_pp_result_free(r[1]);
}

int main(void) {
    celeba_test_paths(&ct);
    celeba_test_need(&ct, ct.full, ct.half, ct.lm);
    int libjpeg = !strncmp(cg_image_jpeg_decoder(), "libjpeg", 7);
    printf("JPEG decoder: %s\n", cg_image_jpeg_decoder());
    size_t differs = 0, total = 0;
    test_rows(ct.full, 100, libjpeg, &differs, &total);
    test_rows(ct.half, 100, libjpeg, &differs, &total);
    if (libjpeg)
        CHECK(total > 0 && differs * 10 >= total * 9, "negative control: the row above the decoded ones differs in "
                                                       "only %zu of %zu cases",
              differs, total);
    printf("regions: all equal to the full decode; the row above differs in %zu of %zu cases\n", differs, total);

    cg_runtime *rt = test_runtime();
    if (celeba_test_workdir(&ct, "preprocess_partial") != 0) return 1;
    test_pipeline(rt, 1);
    test_pipeline(rt, 0);
    test_rm_rf(ct.work);
    cg_runtime_free(rt);
    return test_finish("test_preprocess_partial");
}
