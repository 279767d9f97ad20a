// image_ops.c — runs the image kernels on a batch: uploads the packed images and their boxes,
// crops/resizes into uint8 NHWC and sums grey levels (cl/image.cl), then reads the results back.
// The resize on CPU devices is cl/image_resize.cl's separable pair resize_rows_rgb + resize_cols_rgb
// (image.cl's crop_resize_rgb byte for byte, each source row's horizontal sum computed once per
// output column instead of once per output pixel), or its crop_resize_taps_rgb (the same bytes, one
// pass) when the row sums would not fit one allocation; GPUs keep crop_resize_rgb, which recomputes
// its weights in registers rather than holding arrays.
// Device buffers grow to the largest batch seen and are reused.
#include "image_ops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { B_SRC, B_OFFS, B_WH, B_BOX, B_RECTS, B_OUT, B_ROWS, B_TOTALS, B_ROWSUM, B_WXSUM, N_BUFS };

struct cg_image_ops {
    cg_runtime *rt;
    cl_kernel crop, rows, totals;
    cl_kernel sep_rows, sep_cols; // CPU devices: the separable resize (NULL elsewhere)
    int two_pass;                 // the current batch uses sep_rows + sep_cols
    cl_mem buf[N_BUFS];
    size_t cap[N_BUFS]; // bytes
};

cg_status cg_image_ops_create(cg_runtime *rt, cg_image_ops **out) {
    *out = NULL;
    cg_image_ops *ops = calloc(1, sizeof *ops);
    if (!ops) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    ops->rt = rt;
    int cpu = (cg_runtime_device(rt)->type & CL_DEVICE_TYPE_CPU) != 0;
    cg_status st = cpu ? cg_kernel_get(rt, "image_resize", "crop_resize_taps_rgb", &ops->crop)
                       : cg_kernel_get(rt, "image", "crop_resize_rgb", &ops->crop);
    if (st == CG_OK && cpu) st = cg_kernel_get(rt, "image_resize", "resize_rows_rgb", &ops->sep_rows);
    if (st == CG_OK && cpu) st = cg_kernel_get(rt, "image_resize", "resize_cols_rgb", &ops->sep_cols);
    if (st == CG_OK) st = cg_kernel_get(rt, "image", "grey_row_sums", &ops->rows);
    if (st == CG_OK) st = cg_kernel_get(rt, "image", "grey_totals", &ops->totals);
    if (st != CG_OK) {
        free(ops);
        return st;
    }
    *out = ops;
    return CG_OK;
}

void cg_image_ops_free(cg_image_ops *ops) {
    if (!ops) return;
    for (int i = 0; i < N_BUFS; i++)
        if (ops->buf[i]) clReleaseMemObject(ops->buf[i]);
    free(ops);
}

// Makes buffer i hold at least `bytes`; a replaced buffer goes to *old, for the caller to release
// once every new buffer exists (OpenCL frees it when queued commands using it complete). Releasing
// only after all allocations keeps Oclgrind (21.10) quiet: it hands a released buffer's id to the
// next allocation without growing its record of initialised bytes, and would then report
// device-written data past the old size as uninitialised.
static cg_status reserve(cg_image_ops *ops, int i, size_t bytes, cl_mem *old) {
    static const char *const names[N_BUFS] = {"source pixels", "offsets", "sizes", "crop boxes",
                                              "brightness boxes", "output pixels", "row sums", "totals",
                                              "resize row sums", "resize weight sums"};
    if (bytes <= ops->cap[i] && ops->buf[i]) return CG_OK;
    const cg_device_info *dev = cg_runtime_device(ops->rt);
    size_t max = dev->max_alloc ? (size_t)dev->max_alloc : (size_t)-1;
    if (bytes > max)
        return cg_fail(CL_INVALID_BUFFER_SIZE, "a preprocessing batch's %s need %zu bytes, more than %s's largest "
                                               "allocation (%zu bytes)",
                       names[i], bytes, dev->name, max);
    // Headroom for the next, slightly larger batch, within the largest allocation.
    size_t want = bytes + bytes / 2 + 64;
    if (want > max) want = max;
    cl_int err;
    cl_mem m = clCreateBuffer(cg_runtime_context(ops->rt), CL_MEM_READ_WRITE, want, NULL, &err);
    if (err != CL_SUCCESS)
        return cg_fail(err, "allocating %zu bytes on %s for a preprocessing batch: %s", want,
                       cg_runtime_device(ops->rt)->name, cg_status_name(err));
    *old = ops->buf[i];
    ops->buf[i] = m;
    ops->cap[i] = want;
    return CG_OK;
}

static int max_height(const cg_image_batch *b) {
    int h = 1;
    for (int i = 0; i < b->n; i++)
        if (b->wh[2 * i + 1] > h) h = b->wh[2 * i + 1];
    return h;
}

static cg_status upload(cg_image_ops *ops, const cg_image_batch *b, int size, int hmax) {
    size_t n = (size_t)b->n;
    // The separable resize's row sums: [n, hmax, size, 3] float, when one allocation holds them.
    const cg_device_info *dev = cg_runtime_device(ops->rt);
    size_t max = dev->max_alloc ? (size_t)dev->max_alloc : (size_t)-1;
    size_t rowsum = n * (size_t)hmax * (size_t)size * 3 * sizeof(cl_float);
    int fits = rowsum / ((size_t)hmax * (size_t)size * 3 * sizeof(cl_float)) == n && rowsum <= max;
    ops->two_pass = ops->sep_rows && fits;
    size_t need[N_BUFS] = {b->pixel_bytes,
                           n * sizeof(cl_ulong),
                           n * 2 * sizeof(cl_int),
                           n * 4 * sizeof(cl_float),
                           n * 12 * sizeof(cl_int),
                           n * (size_t)size * (size_t)size * 3,
                           n * (size_t)hmax * 3 * sizeof(cl_uint),
                           n * 3 * sizeof(cl_ulong),
                           ops->two_pass ? rowsum : 0,
                           ops->two_pass ? n * (size_t)size * 3 * sizeof(cl_float) : 0};
    cl_mem old[N_BUFS] = {0};
    cg_status st = CG_OK;
    for (int i = 0; i < N_BUFS && st == CG_OK; i++)
        if (need[i]) st = reserve(ops, i, need[i], &old[i]);
    for (int i = 0; i < N_BUFS; i++)
        if (old[i]) clReleaseMemObject(old[i]);
    CG_TRY(st);
    cl_command_queue q = cg_runtime_queue(ops->rt);
    _Static_assert(sizeof(cg_box) == 4 * sizeof(float) && sizeof(cg_ibox) == 4 * sizeof(int), "box layout");
    CG_CL(clEnqueueWriteBuffer(q, ops->buf[B_SRC], CL_FALSE, 0, b->pixel_bytes, b->pixels, 0, NULL, NULL));
    CG_CL(clEnqueueWriteBuffer(q, ops->buf[B_OFFS], CL_FALSE, 0, n * sizeof(cl_ulong), b->offset, 0, NULL, NULL));
    CG_CL(clEnqueueWriteBuffer(q, ops->buf[B_WH], CL_FALSE, 0, n * 2 * sizeof(cl_int), b->wh, 0, NULL, NULL));
    CG_CL(clEnqueueWriteBuffer(q, ops->buf[B_BOX], CL_FALSE, 0, n * 4 * sizeof(cl_float), b->crop, 0, NULL, NULL));
    CG_CL(clEnqueueWriteBuffer(q, ops->buf[B_RECTS], CL_FALSE, 0, n * 12 * sizeof(cl_int), b->boxes, 0, NULL, NULL));
    return CG_OK;
}

static cg_status launch_crop(cg_image_ops *ops, const cg_image_batch *b, int size, int hmax) {
    cl_ulong total = (cl_ulong)b->n * (cl_ulong)size * (cl_ulong)size; // output pixels
    cl_int sz = size, hm = hmax;
    if (ops->two_pass) {
        cl_ulong cols = (cl_ulong)b->n * (cl_ulong)size; // output columns (and rows)
        CG_TRY(cg_launch1d(ops->rt, ops->sep_rows, (size_t)cols, CG_ARG(ops->buf[B_SRC]), CG_ARG(ops->buf[B_OFFS]),
                           CG_ARG(ops->buf[B_WH]), CG_ARG(ops->buf[B_BOX]), CG_ARG(sz), CG_ARG(hm), CG_ARG(cols),
                           CG_ARG(ops->buf[B_ROWSUM]), CG_ARG(ops->buf[B_WXSUM])));
        return cg_launch1d(ops->rt, ops->sep_cols, (size_t)cols, CG_ARG(ops->buf[B_ROWSUM]),
                           CG_ARG(ops->buf[B_WXSUM]), CG_ARG(ops->buf[B_WH]), CG_ARG(ops->buf[B_BOX]), CG_ARG(sz),
                           CG_ARG(hm), CG_ARG(cols), CG_ARG(ops->buf[B_OUT]));
    }
    return cg_launch1d(ops->rt, ops->crop, (size_t)total, CG_ARG(ops->buf[B_SRC]), CG_ARG(ops->buf[B_OFFS]),
                       CG_ARG(ops->buf[B_WH]), CG_ARG(ops->buf[B_BOX]), CG_ARG(sz), CG_ARG(total),
                       CG_ARG(ops->buf[B_OUT]));
}

static cg_status launch_brightness(cg_image_ops *ops, const cg_image_batch *b, int hmax) {
    cl_ulong n_rows = (cl_ulong)b->n * (cl_ulong)hmax, n_tot = (cl_ulong)b->n * 3;
    cl_int hm = hmax;
    CG_TRY(cg_launch1d(ops->rt, ops->rows, (size_t)n_rows, CG_ARG(ops->buf[B_SRC]), CG_ARG(ops->buf[B_OFFS]),
                       CG_ARG(ops->buf[B_WH]), CG_ARG(ops->buf[B_RECTS]), CG_ARG(hm), CG_ARG(n_rows),
                       CG_ARG(ops->buf[B_ROWS])));
    return cg_launch1d(ops->rt, ops->totals, (size_t)n_tot, CG_ARG(ops->buf[B_ROWS]), CG_ARG(ops->buf[B_WH]),
                       CG_ARG(hm), CG_ARG(n_tot), CG_ARG(ops->buf[B_TOTALS]));
}

static cg_status read_back(cg_image_ops *ops, const cg_image_batch *b, int size, uint8_t *out, uint64_t *sums,
                           cl_event *done) {
    cl_command_queue q = cg_runtime_queue(ops->rt);
    size_t n = (size_t)b->n;
    cl_bool block = done ? CL_FALSE : CL_TRUE;
    CG_CL(clEnqueueReadBuffer(q, ops->buf[B_OUT], CL_FALSE, 0, n * (size_t)size * (size_t)size * 3, out, 0, NULL,
                              NULL));
    // The queue is in order: the last command completing means the whole batch has.
    CG_CL(clEnqueueReadBuffer(q, ops->buf[B_TOTALS], block, 0, n * 3 * sizeof(cl_ulong), sums, 0, NULL, done));
    if (done) CG_CL(clFlush(q));
    return CG_OK;
}

static cg_status check_batch(const cg_image_batch *b, int size) {
    if (!b || b->n < 1 || !b->pixels || !b->offset || !b->wh || !b->crop || !b->boxes || size < 1)
        return cg_fail(CG_ERR_INVALID_ARG, "cg_image_ops_run: an empty or incomplete batch");
    for (int i = 0; i < b->n; i++) {
        size_t w = (size_t)b->wh[2 * i], h = (size_t)b->wh[2 * i + 1];
        if (w < 1 || h < 1 || w > 16384 || b->offset[i] + w * h * 3 > b->pixel_bytes)
            return cg_fail(CG_ERR_INVALID_ARG, "cg_image_ops_run: image %d (%zux%zu) lies outside the batch", i, w, h);
        for (int k = 0; k < 3; k++) {
            cg_ibox r = b->boxes[3 * i + k];
            if (r.x0 < 0 || r.y0 < 0 || r.x0 > r.x1 || r.y0 > r.y1 || (size_t)r.x1 > w || (size_t)r.y1 > h)
                return cg_fail(CG_ERR_INVALID_ARG, "cg_image_ops_run: rectangle %d of image %d lies outside it", k, i);
        }
    }
    return CG_OK;
}

cg_status cg_image_ops_run(cg_image_ops *ops, const cg_image_batch *b, int size, uint8_t *out, uint64_t *sums,
                           cl_event *done) {
    CG_TRY(check_batch(b, size));
    int hmax = max_height(b);
    cg_status st = upload(ops, b, size, hmax);
    if (st == CG_OK) st = launch_crop(ops, b, size, hmax);
    if (st == CG_OK) st = launch_brightness(ops, b, hmax);
    if (st == CG_OK) st = read_back(ops, b, size, out, sums, done);
    // A failure can leave transfers queued that read b's pixels or write out: they finish before the
    // caller frees those (AddressSanitizer saw PoCL copy from freed pixels after a failed launch).
    if (st != CG_OK) clFinish(cg_runtime_queue(ops->rt));
    return st;
}

cg_status cg_image_ops_time(cg_image_ops *ops, const cg_image_batch *b, int size, uint8_t *out, uint64_t *sums,
                            double seconds[3]) {
    CG_TRY(check_batch(b, size));
    int hmax = max_height(b);
    CG_TRY(cg_runtime_finish(ops->rt));
    double t0 = cg_now_s();
    CG_TRY(upload(ops, b, size, hmax));
    CG_TRY(cg_runtime_finish(ops->rt));
    double t1 = cg_now_s();
    CG_TRY(launch_crop(ops, b, size, hmax));
    CG_TRY(cg_runtime_finish(ops->rt));
    double t2 = cg_now_s();
    CG_TRY(launch_brightness(ops, b, hmax));
    CG_TRY(cg_runtime_finish(ops->rt));
    double t3 = cg_now_s();
    seconds[0] += t1 - t0;
    seconds[1] += t2 - t1;
    seconds[2] += t3 - t2;
    return read_back(ops, b, size, out, sums, NULL);
}
