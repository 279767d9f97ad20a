// test_preprocess_kernels.c — the device image kernels (cl/image.cl and cl/image_resize.cl through
// cg_image_ops_run) against a plain C reference of the same math: crop + antialiased resize within 1
// grey level, grey sums over rectangles exactly. The resize cg_image_ops_run uses on CPU devices
// (image_resize.cl's separable resize_rows_rgb + resize_cols_rgb, tap weights cached, the plain
// loops past CG_RESIZE_TAPS taps) and its one-pass fallback crop_resize_taps_rgb (launched directly:
// cg_image_ops_run takes it only when the row sums exceed the largest allocation) must also give
// image.cl's crop_resize_rgb's bytes exactly (GPUs run that one itself), on every batch; negative
// control: crop_resize_rgb with the boxes moved by a quarter pixel differs. Odd shapes: batch 1,
// 1x1 and non-square images, mixed sizes in one batch, crop boxes partly or wholly outside the image
// (edge repeat), upscaling, non-square boxes, output sides 1, 7 and 64, whole-image, empty and edge
// rectangles, and a reused (growing) buffer set.
// Invalid batches (an image or a rectangle outside its bounds) are refused before any launch.
// oclgrind: run
#include "preprocess.h"
#include "test_util.h"

#include <stdint.h>

static int quick(void) {
    const char *q = getenv("CLGAN_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() % 100000) / 100000.0f; }

// ---- reference: the math of crop_resize_rgb, operation for operation ----------------------------
static float tent(int j, float centre, float inv_r) {
    float d = fabsf(((float)j + 0.5f - centre) * inv_r);
    return d < 1.0f ? 1.0f - d : 0.0f;
}
static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void ref_crop_resize(const uint8_t *img, int w, int h, cg_box box, int size, uint8_t *out) {
    float sx = box.w / (float)size, sy = box.h / (float)size;
    float rx = fmaxf(sx, 1.0f), ry = fmaxf(sy, 1.0f), irx = 1.0f / rx, iry = 1.0f / ry;
    for (int oy = 0; oy < size; oy++)
        for (int ox = 0; ox < size; ox++)
            for (int c = 0; c < 3; c++) {
                float cx = box.x0 + ((float)ox + 0.5f) * sx, cy = box.y0 + ((float)oy + 0.5f) * sy;
                int x_lo = (int)floorf(cx - rx), x_hi = (int)ceilf(cx + rx);
                int y_lo = (int)floorf(cy - ry), y_hi = (int)ceilf(cy + ry);
                float wx_sum = 0, wy_sum = 0, acc = 0;
                for (int x = x_lo; x <= x_hi; x++) wx_sum += tent(x, cx, irx);
                for (int y = y_lo; y <= y_hi; y++) {
                    float wy = tent(y, cy, iry);
                    if (wy == 0.0f) continue;
                    wy_sum += wy;
                    const uint8_t *row = img + (size_t)clampi(y, 0, h - 1) * (size_t)w * 3;
                    float line = 0;
                    for (int x = x_lo; x <= x_hi; x++) {
                        float wx = tent(x, cx, irx);
                        if (wx == 0.0f) continue;
                        line += wx * (float)row[(size_t)clampi(x, 0, w - 1) * 3 + (size_t)c];
                    }
                    acc += wy * line;
                }
                float v = floorf(acc / (wx_sum * wy_sum) + 0.5f);
                size_t at = ((size_t)oy * (size_t)size + (size_t)ox) * 3 + (size_t)c;
                out[at] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
}

static uint64_t ref_grey_sum(const uint8_t *img, int w, cg_ibox b) {
    uint64_t s = 0;
    for (int y = b.y0; y < b.y1; y++)
        for (int x = b.x0; x < b.x1; x++) {
            const uint8_t *p = img + ((size_t)y * (size_t)w + (size_t)x) * 3;
            s += 299u * p[0] + 587u * p[1] + 114u * p[2];
        }
    return s;
}

// ---- one batch: device vs reference ------------------------------------------------------------
typedef struct {
    int w, h;
    cg_box crop;
    cg_ibox rect[3]; // summed: reference, left eye, right eye
} case_img;

static void fill_image(uint8_t *p, int w, int h, int kind) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                uint8_t v = kind == 0 ? (uint8_t)rnd()                                  // noise
                            : kind == 1 ? (uint8_t)((x * 255) / (w > 1 ? w - 1 : 1))     // ramp
                                        : (uint8_t)(((x / 3 + y / 3) & 1) * 255);        // checkers
                p[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] = (uint8_t)(v ^ (c * 37));
            }
}

static cg_runtime *g_rt;
static size_t one_pass_total, one_pass_differs; // batches compared, and negative controls that differed
// The one pass's buffers live until the end: Oclgrind gives a released buffer's id to the next
// allocation without its record of initialised bytes (see preprocess/image_ops.c's reserve), which
// would flag cg_image_ops_run's later buffers.
static cl_mem kept[256];
static int n_kept;

// A one-pass resize kernel (image.cl's crop_resize_rgb, which the faster ones must equal byte for
// byte, or image_resize.cl's crop_resize_taps_rgb) on the batch.
static void one_pass_kernel(const char *family, const char *name, const cg_image_batch *b, int size, uint8_t *out) {
    cl_context ctx = cg_runtime_context(g_rt);
    cl_int e[5];
    size_t n = (size_t)b->n, bytes = n * (size_t)size * (size_t)size * 3;
    cl_mem src = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, b->pixel_bytes, (void *)b->pixels, &e[0]);
    cl_mem offs = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * 8, (void *)b->offset, &e[1]);
    cl_mem wh = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * 8, (void *)b->wh, &e[2]);
    cl_mem box = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * 16, (void *)b->crop, &e[3]);
    cl_mem o = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, bytes, NULL, &e[4]);
    CHECK(!e[0] && !e[1] && !e[2] && !e[3] && !e[4], "one-pass buffers: %d %d %d %d %d", e[0], e[1], e[2], e[3], e[4]);
    cl_kernel k = NULL;
    CHECK_OK(cg_kernel_get(g_rt, family, name, &k));
    cl_ulong total = (cl_ulong)n * (cl_ulong)size * (cl_ulong)size;
    cl_int sz = size;
    if (k && o)
        CHECK_OK(cg_launch1d(g_rt, k, (size_t)total, CG_ARG(src), CG_ARG(offs), CG_ARG(wh), CG_ARG(box), CG_ARG(sz),
                             CG_ARG(total), CG_ARG(o)));
    if (o) CHECK(clEnqueueReadBuffer(cg_runtime_queue(g_rt), o, CL_TRUE, 0, bytes, out, 0, NULL, NULL) == CL_SUCCESS,
                 "one-pass read-back");
    cl_mem all[5] = {src, offs, wh, box, o};
    for (int i = 0; i < 5; i++)
        if (all[i] && n_kept < 256) kept[n_kept++] = all[i];
        else if (all[i]) clReleaseMemObject(all[i]);
}

static void one_pass(const cg_image_batch *b, int size, uint8_t *out) {
    one_pass_kernel("image", "crop_resize_rgb", b, size, out);
}

static void run_batch(cg_image_ops *ops, const case_img *cs, int n, int size, const char *label) {
    uint64_t *off = calloc((size_t)n, sizeof *off);
    int *wh = calloc(2 * (size_t)n, sizeof *wh);
    cg_box *crop = calloc((size_t)n, sizeof *crop);
    cg_ibox *rect = calloc(3 * (size_t)n, sizeof *rect);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        off[i] = total;
        total += (size_t)cs[i].w * (size_t)cs[i].h * 3;
        wh[2 * i] = cs[i].w;
        wh[2 * i + 1] = cs[i].h;
        crop[i] = cs[i].crop;
        for (int k = 0; k < 3; k++) rect[3 * i + k] = cs[i].rect[k];
    }
    uint8_t *px = malloc(total), *out = malloc((size_t)n * (size_t)size * (size_t)size * 3);
    uint8_t *ref = malloc((size_t)size * (size_t)size * 3);
    uint64_t *sums = malloc(3 * (size_t)n * sizeof *sums);
    for (int i = 0; i < n; i++) fill_image(px + off[i], cs[i].w, cs[i].h, i % 3);
    cg_image_batch b = {n, px, off, wh, crop, rect, total};
    CHECK_OK(cg_image_ops_run(ops, &b, size, out, sums, NULL));
    size_t out_bytes = (size_t)n * (size_t)size * (size_t)size * 3;
    uint8_t *once = malloc(out_bytes);
    one_pass(&b, size, once);
    size_t differ = 0;
    for (size_t k = 0; k < out_bytes; k++) differ += out[k] != once[k];
    CHECK(differ == 0, "%s: %zu of %zu bytes differ from image.cl's one-pass crop_resize_rgb", label, differ, out_bytes);
    uint8_t *taps = malloc(out_bytes);
    one_pass_kernel("image_resize", "crop_resize_taps_rgb", &b, size, taps);
    differ = 0;
    for (size_t k = 0; k < out_bytes; k++) differ += taps[k] != once[k];
    CHECK(differ == 0, "%s: crop_resize_taps_rgb: %zu of %zu bytes differ from crop_resize_rgb", label, differ,
          out_bytes);
    free(taps);
    for (int i = 0; i < n; i++) crop[i].x0 += 0.25f, crop[i].y0 += 0.25f; // negative control
    one_pass(&b, size, once);
    for (int i = 0; i < n; i++) crop[i] = cs[i].crop;
    one_pass_total++;
    one_pass_differs += memcmp(out, once, out_bytes) != 0;
    free(once);
    int worst = 0;
    size_t off_by_one = 0, bytes = 0;
    for (int i = 0; i < n; i++) {
        ref_crop_resize(px + off[i], cs[i].w, cs[i].h, cs[i].crop, size, ref);
        const uint8_t *dev = out + (size_t)i * (size_t)size * (size_t)size * 3;
        for (size_t k = 0; k < (size_t)size * (size_t)size * 3; k++) {
            int d = abs((int)dev[k] - (int)ref[k]);
            if (d > worst) worst = d;
            off_by_one += d == 1;
            bytes++;
        }
        for (int k = 0; k < 3; k++) {
            uint64_t want = ref_grey_sum(px + off[i], cs[i].w, cs[i].rect[k]);
            CHECK(sums[3 * i + k] == want, "%s image %d (%dx%d) sum %d: device %llu, reference %llu", label, i,
                  cs[i].w, cs[i].h, k, (unsigned long long)sums[3 * i + k], (unsigned long long)want);
        }
    }
    CHECK(worst <= 1, "%s: crop/resize differs from the reference by %d grey levels", label, worst);
    printf("%-34s %2d images -> %3dx%-3d worst |device - reference| = %d (%zu of %zu bytes off by one)\n", label, n,
           size, size, worst, off_by_one, bytes);
    free(off);
    free(wh);
    free(crop);
    free(rect);
    free(px);
    free(out);
    free(ref);
    free(sums);
}

static cg_ibox ibox(int x0, int y0, int x1, int y1) { return (cg_ibox){x0, y0, x1, y1}; }

int main(void) {
    cg_runtime *rt = test_runtime();
    g_rt = rt;
    cg_image_ops *ops = NULL;
    CHECK_OK(cg_image_ops_create(rt, &ops));
    if (!ops) return test_finish("test_preprocess_kernels");
    int q = quick();
    int big = q ? 16 : 64;

    // Batch 1: a 1x1 image (every tap repeats the single pixel).
    case_img one = {1, 1, {0, 0, 1, 1}, {ibox(0, 0, 1, 1), ibox(0, 0, 1, 1), ibox(0, 0, 0, 0)}};
    run_batch(ops, &one, 1, 7, "1x1 image, batch 1");

    // Mixed sizes in one batch, boxes inside, partly outside, wholly outside, upscaled, non-square.
    int mw = q ? 45 : 89, mh = q ? 55 : 109, fw = q ? 60 : 178, fh = q ? 73 : 218;
    case_img mixed[] = {
        {3, 5, {0, 0, 3, 5}, {ibox(0, 0, 3, 5), ibox(0, 0, 3, 2), ibox(1, 3, 3, 5)}},          // non-square box
        {17, 9, {-4.5f, -2.25f, 12, 12}, {ibox(0, 0, 8, 7), ibox(0, 0, 0, 0), ibox(16, 8, 17, 9)}}, // partly out
        {mw, mh, {10.3f, 20.7f, 40.2f, 40.2f}, {ibox(10, 21, 45, 55), ibox(5, 6, 14, 15), ibox(20, 6, 29, 15)}},
        {24, 30, {30, 40, 8, 8}, {ibox(0, 0, 24, 30), ibox(0, 0, 24, 30), ibox(23, 29, 24, 30)}}, // wholly out
        {40, 31, {12.5f, 9.25f, 5.5f, 5.5f}, {ibox(13, 9, 18, 15), ibox(2, 3, 3, 4), ibox(0, 0, 40, 1)}}, // upscale
        {fw, fh, {0, 0, (float)fw, (float)fh}, {ibox(0, 0, fw, fh), ibox(1, 1, 9, 9), ibox(0, 0, 0, 0)}},
    };
    int nm = (int)(sizeof mixed / sizeof mixed[0]);
    run_batch(ops, mixed, nm, big, "mixed sizes and boxes");
    run_batch(ops, mixed, nm, 1, "output side 1");
    for (int i = 0; i < nm; i++) mixed[i].rect[1] = mixed[i].rect[2] = ibox(0, 0, 0, 0);
    run_batch(ops, mixed, nm, 7, "output side 7, empty eye boxes");

    // Random batches: random sizes, boxes (some beyond the edges) and rectangles; the buffers grow.
    int rounds = q ? 1 : 4;
    for (int r = 0; r < rounds; r++) {
        int n = q ? 3 : 5 + r * 4;
        case_img *cs = calloc((size_t)n, sizeof *cs);
        for (int i = 0; i < n; i++) {
            int w = 1 + (int)(rnd() % (q ? 40u : 200u)), h = 1 + (int)(rnd() % (q ? 40u : 240u));
            float side = rndf(0.2f, 1.3f) * (float)(w < h ? w : h) + 0.5f;
            cs[i] = (case_img){w, h, {rndf(-0.2f * (float)w, 0.8f * (float)w), rndf(-0.2f * (float)h, 0.8f * (float)h),
                                      side, side * rndf(0.8f, 1.25f)}, {{0}}};
            for (int k = 0; k < 3; k++) {
                int x0 = (int)(rnd() % (unsigned)w), y0 = (int)(rnd() % (unsigned)h);
                cs[i].rect[k] = ibox(x0, y0, x0 + (int)(rnd() % (unsigned)(w - x0 + 1)),
                                     y0 + (int)(rnd() % (unsigned)(h - y0 + 1)));
            }
        }
        char label[64];
        snprintf(label, sizeof label, "random batch %d", r + 1);
        run_batch(ops, cs, n, r % 2 ? big : 13, label);
        free(cs);
    }

    // Most batches change when their boxes move by a quarter pixel (a 1x1 image or side 1 may not).
    CHECK(one_pass_differs * 2 > one_pass_total, "only %zu of %zu batches changed with boxes moved by 1/4 px",
          one_pass_differs, one_pass_total);
    printf("one-pass crop_resize_rgb: equal on all %zu batches; %zu changed with the boxes moved\n", one_pass_total,
           one_pass_differs);

    // Invalid batches are refused, not launched.
    uint8_t px[12] = {0};
    uint64_t off = 8, sums[3];
    int wh[2] = {2, 2};
    cg_box crop = {0, 0, 2, 2};
    cg_ibox rect[3] = {ibox(0, 0, 2, 2), ibox(0, 0, 1, 1), ibox(0, 0, 1, 1)};
    uint8_t out[3];
    cg_image_batch bad = {1, px, &off, wh, &crop, rect, sizeof px};
    CHECK_FAILS(cg_image_ops_run(ops, &bad, 1, out, sums, NULL), CG_ERR_INVALID_ARG, "outside the batch");
    off = 0;
    rect[2] = ibox(1, 1, 3, 2);
    CHECK_FAILS(cg_image_ops_run(ops, &bad, 1, out, sums, NULL), CG_ERR_INVALID_ARG, "rectangle 2 of image 0");

    cg_image_ops_free(ops);
    for (int i = 0; i < n_kept; i++) clReleaseMemObject(kept[i]);
    cg_runtime_free(rt);
    return test_finish("test_preprocess_kernels");
}
