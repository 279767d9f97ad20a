// im2col.c — launches of the im2col.cl and bias.cl kernels for the convolution and linear layers,
// and the batch chunking that keeps their scratch columns under a cap.
#include "kernel_profile.h"
#include "nets_internal.h"
#include "seq_limits.h"

#include <limits.h>

static size_t chunk_cap = CG_CHUNK_CAP_DEFAULT;
static cg_im2col_mode forced_mode = CG_IM2COL_AUTO;

cg_im2col_mode cg_im2col_force(cg_im2col_mode mode) {
    cg_im2col_mode old = forced_mode;
    forced_mode = mode;
    return old;
}

int cg_rows_variant(const cg_ctx *ctx) {
    if (forced_mode != CG_IM2COL_AUTO) return forced_mode == CG_IM2COL_ROWS;
    return (cg_runtime_device(ctx->rt)->type & CL_DEVICE_TYPE_CPU) != 0;
}

size_t cg_set_chunk_cap(size_t floats) {
    size_t old = chunk_cap;
    chunk_cap = floats ? floats : CG_CHUNK_CAP_DEFAULT;
    return old;
}

// The smallest largest-allocation (in floats) of the devices whose nets were checked
// (cg_chunk_fit_device): a chunk's scratch is one workspace buffer, so it must fit one allocation.
static size_t device_cap = (size_t)-1;

void cg_chunk_fit_device(const cg_runtime *rt) {
    uint64_t max_alloc = cg_runtime_device(rt)->max_alloc;
    if (max_alloc && max_alloc / sizeof(float) < device_cap) device_cap = (size_t)(max_alloc / sizeof(float));
}

size_t cg_chunk_cap(void) { return chunk_cap < device_cap ? chunk_cap : device_cap; }

int cg_chunk_samples(size_t per_sample, int n) {
    if (n <= 1 || per_sample == 0) return n < 1 ? 1 : n;
    size_t nb = cg_chunk_cap() / per_sample;
    if (nb < 1) nb = 1;
    return nb < (size_t)n ? (int)nb : n;
}

// Kernels index a chunk with 32-bit integers (with room for a work-group's stride past the end).
static cg_status check_total(size_t total, const char *what) {
    if (total > UINT_MAX / 2)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: %zu elements in one chunk exceed the 32-bit index range", what,
                       total);
    return CG_OK;
}

static size_t sample_offset(cg_tensor t, int n0) { return t.off + (size_t)n0 * cg_sample_stride(t); }

// One window position covering the whole image without padding: the column matrix [C*H*W, nb] is
// the transpose of the samples (cl/im2col.cl im2col_full / col2im_full, 8 x 8 tiles; CPUs).
static int full_window(const cg_im2col_geom *g) {
    return g->oh == 1 && g->ow == 1 && g->kh == g->h && g->kw == g->w && g->ph == 0 && g->pw == 0;
}

// DCGAN's window (4 x 4, stride 2, padding 1) halving an image whose output width is a multiple of 4
// (cl/im2col.cl im2col_s2k4; CPUs).
static int dcgan_window(const cg_im2col_geom *g) {
    return g->kh == 4 && g->kw == 4 && g->sh == 2 && g->sw == 2 && g->ph == 1 && g->pw == 1 && g->h == 2 * g->oh &&
           g->w == 2 * g->ow && g->ow % 4 == 0;
}

static size_t full_tiles(const cg_im2col_geom *g, int nb) { return (cg_geom_rows(g) + 7) / 8 * (((size_t)nb + 7) / 8); }

cg_status cg_im2col(cg_ctx *ctx, const cg_im2col_geom *g, cg_tensor img, int n0, int nb, cl_mem cols,
                    size_t cols_off) {
    CG_ASSERT(img.c == g->c && img.h == g->h && img.w == g->w && n0 >= 0 && nb >= 1 && n0 + nb <= img.n);
    size_t total = cg_geom_rows(g) * nb * cg_geom_positions(g);
    CG_TRY(check_total(total, "im2col"));
    cl_kernel k;
    int rows = cg_rows_variant(ctx);
    if (rows && dcgan_window(g)) {
        cl_ulong off = sample_offset(img, n0), sn = cg_sample_stride(img), coff = cols_off;
        cl_uint n = (cl_uint)((size_t)nb * g->c);
        CG_TRY(cg_kernel_get(ctx->rt, "im2col", "im2col_s2k4", &k));
        cg_profile_work(ctx->rt, 0, sizeof(float) * ((double)total + (double)nb * g->c * g->h * g->w));
        return cg_launch1d(ctx->rt, k, n, CG_ARG(img.buf), CG_ARG(off), CG_ARG(sn), CG_ARG(g->h), CG_ARG(g->w),
                           CG_ARG(g->oh), CG_ARG(g->ow), CG_ARG(nb), CG_ARG(cols), CG_ARG(coff), CG_ARG(n));
    }
    if (rows && full_window(g)) {
        cl_ulong off = sample_offset(img, n0), sn = cg_sample_stride(img), coff = cols_off;
        cl_uint K = (cl_uint)cg_geom_rows(g), n = (cl_uint)full_tiles(g, nb);
        CG_TRY(cg_kernel_get(ctx->rt, "im2col", "im2col_full", &k));
        cg_profile_work(ctx->rt, 0, 2.0 * sizeof(float) * (double)total);
        return cg_launch1d(ctx->rt, k, n, CG_ARG(img.buf), CG_ARG(off), CG_ARG(sn), CG_ARG(K), CG_ARG(nb), CG_ARG(cols),
                           CG_ARG(coff), CG_ARG(n));
    }
    CG_TRY(cg_kernel_get(ctx->rt, "im2col", rows ? "im2col_rows" : "im2col", &k));
    cl_ulong off = sample_offset(img, n0), sn = cg_sample_stride(img), coff = cols_off;
    // Rows: a work-item per image plane (channel, sample).
    size_t items = rows ? (size_t)nb * g->c : total;
    cl_uint n = (cl_uint)items;
    // Bytes for the profile: the columns written, the samples read once.
    cg_profile_work(ctx->rt, 0, sizeof(float) * ((double)total + (double)nb * g->c * g->h * g->w));
    return cg_launch1d(ctx->rt, k, items, CG_ARG(img.buf), CG_ARG(off), CG_ARG(sn), CG_ARG(g->h), CG_ARG(g->w),
                       CG_ARG(g->kh), CG_ARG(g->kw), CG_ARG(g->sh), CG_ARG(g->sw), CG_ARG(g->ph), CG_ARG(g->pw),
                       CG_ARG(g->oh), CG_ARG(g->ow), CG_ARG(nb), CG_ARG(cols), CG_ARG(coff), CG_ARG(n));
}

cg_status cg_col2im(cg_ctx *ctx, const cg_im2col_geom *g, cl_mem cols, size_t cols_off, cg_tensor img, int n0,
                    int nb, const cg_tensor *bias) {
    CG_ASSERT(img.c == g->c && img.h == g->h && img.w == g->w && n0 >= 0 && nb >= 1 && n0 + nb <= img.n);
    size_t total = (size_t)nb * cg_sample_size(img);
    CG_TRY(check_total(total, "col2im"));
    CG_TRY(check_total(cg_geom_rows(g) * nb * cg_geom_positions(g), "col2im columns"));
    cl_kernel k;
    int rows = cg_rows_variant(ctx);
    cl_ulong coff = cols_off, off = sample_offset(img, n0), sn = cg_sample_stride(img);
    int has_bias = bias != NULL;
    cl_mem bbuf = bias ? bias->buf : cols; // any valid buffer when unused
    cl_ulong boff = bias ? bias->off : 0;
    if (rows && full_window(g)) {
        cl_uint K = (cl_uint)cg_geom_rows(g), hw = (cl_uint)((size_t)g->h * g->w), n = (cl_uint)full_tiles(g, nb);
        CG_TRY(cg_kernel_get(ctx->rt, "im2col", "col2im_full", &k));
        cg_profile_work(ctx->rt, 0, 2.0 * sizeof(float) * (double)total);
        return cg_launch1d(ctx->rt, k, n, CG_ARG(cols), CG_ARG(coff), CG_ARG(K), CG_ARG(hw), CG_ARG(nb),
                           CG_ARG(img.buf), CG_ARG(off), CG_ARG(sn), CG_ARG(has_bias), CG_ARG(bbuf), CG_ARG(boff),
                           CG_ARG(n));
    }
    CG_TRY(cg_kernel_get(ctx->rt, "im2col", rows ? "col2im_rows" : "col2im", &k));
    // Rows: a work-item per image plane (sample, channel).
    size_t items = rows ? (size_t)nb * g->c : total;
    cl_uint n = (cl_uint)items;
    cg_profile_work(ctx->rt, 0, sizeof(float) * ((double)cg_geom_rows(g) * nb * cg_geom_positions(g) + (double)total));
    return cg_launch1d(ctx->rt, k, items, CG_ARG(cols), CG_ARG(coff), CG_ARG(g->c), CG_ARG(g->h), CG_ARG(g->w),
                       CG_ARG(g->kh), CG_ARG(g->kw), CG_ARG(g->sh), CG_ARG(g->sw), CG_ARG(g->ph), CG_ARG(g->pw),
                       CG_ARG(g->oh), CG_ARG(g->ow), CG_ARG(nb), CG_ARG(img.buf), CG_ARG(off), CG_ARG(sn),
                       CG_ARG(has_bias), CG_ARG(bbuf), CG_ARG(boff), CG_ARG(n));
}

cg_status cg_nchw_to_wide(cg_ctx *ctx, cg_tensor t, int n0, int nb, cl_mem dst, size_t dst_off) {
    CG_ASSERT(n0 >= 0 && nb >= 1 && n0 + nb <= t.n);
    size_t p = (size_t)t.h * t.w, total = (size_t)nb * cg_sample_size(t);
    CG_TRY(check_total(total, "nchw_to_wide"));
    cl_kernel k;
    // CPUs with runs of P >= 4 floats: a work-item per run (nb * C of them).
    int rows = cg_rows_variant(ctx) && p >= 4;
    CG_TRY(cg_kernel_get(ctx->rt, "im2col", rows ? "nchw_to_wide_rows" : "nchw_to_wide", &k));
    cl_ulong off = sample_offset(t, n0), sn = cg_sample_stride(t), doff = dst_off;
    size_t items = rows ? (size_t)nb * t.c : total;
    cl_uint pp = (cl_uint)p, n = (cl_uint)items;
    cg_profile_work(ctx->rt, 0, 2.0 * sizeof(float) * (double)total);
    return cg_launch1d(ctx->rt, k, items, CG_ARG(t.buf), CG_ARG(off), CG_ARG(sn), CG_ARG(pp), CG_ARG(nb), CG_ARG(dst),
                       CG_ARG(doff), CG_ARG(n));
}

cg_status cg_wide_to_nchw(cg_ctx *ctx, cl_mem src, size_t src_off, cg_tensor t, int n0, int nb,
                          const cg_tensor *bias) {
    CG_ASSERT(n0 >= 0 && nb >= 1 && n0 + nb <= t.n);
    size_t p = (size_t)t.h * t.w, total = (size_t)nb * cg_sample_size(t);
    CG_TRY(check_total(total, "wide_to_nchw"));
    cl_kernel k;
    int rows = cg_rows_variant(ctx) && p >= 4; // as cg_nchw_to_wide
    CG_TRY(cg_kernel_get(ctx->rt, "im2col", rows ? "wide_to_nchw_rows" : "wide_to_nchw", &k));
    cl_ulong soff = src_off, off = sample_offset(t, n0), sn = cg_sample_stride(t);
    size_t items = rows ? (size_t)nb * t.c : total;
    cl_uint pp = (cl_uint)p, n = (cl_uint)items;
    int has_bias = bias != NULL;
    cl_mem bbuf = bias ? bias->buf : src;
    cl_ulong boff = bias ? bias->off : 0;
    cg_profile_work(ctx->rt, 0, 2.0 * sizeof(float) * (double)total);
    return cg_launch1d(ctx->rt, k, items, CG_ARG(src), CG_ARG(soff), CG_ARG(t.c), CG_ARG(pp), CG_ARG(nb),
                       CG_ARG(t.buf), CG_ARG(off), CG_ARG(sn), CG_ARG(has_bias), CG_ARG(bbuf), CG_ARG(boff),
                       CG_ARG(n));
}

cg_status cg_bias_add(cg_ctx *ctx, cg_tensor y, cg_tensor bias) {
    size_t total = cg_numel(y);
    if (total == 0) return CG_OK;
    CG_TRY(check_total(total, "bias_add"));
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "bias", "bias_add", &k));
    cl_ulong off = y.off, sn = cg_sample_stride(y), boff = bias.off;
    cl_uint p = (cl_uint)((size_t)y.h * y.w), n = (cl_uint)total;
    return cg_launch1d(ctx->rt, k, total, CG_ARG(y.buf), CG_ARG(off), CG_ARG(sn), CG_ARG(y.c), CG_ARG(p),
                       CG_ARG(bias.buf), CG_ARG(boff), CG_ARG(n));
}

cg_status cg_bias_act(cg_ctx *ctx, cg_tensor y, const cg_tensor *bias, int relu) {
    size_t total = cg_numel(y);
    if (total == 0 || (!bias && !relu)) return CG_OK;
    CG_TRY(check_total(total, "bias_act"));
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "bias", "bias_act", &k));
    cl_mem bbuf = bias ? bias->buf : y.buf;
    cl_ulong off = y.off, sn = cg_sample_stride(y), boff = bias ? bias->off : 0;
    size_t plane = (size_t)y.h * y.w, segs = (plane + 63) / 64; // BIAS_ACT_SEG in cl/bias.cl
    size_t items = (size_t)y.n * y.c * segs;
    cl_uint p = (cl_uint)plane, n = (cl_uint)items;
    cl_int has_bias = bias != NULL, act = relu != 0;
    cg_profile_work(ctx->rt, 0, 2.0 * sizeof(float) * (double)total);
    return cg_launch1d(ctx->rt, k, items, CG_ARG(y.buf), CG_ARG(off), CG_ARG(sn), CG_ARG(y.c), CG_ARG(p),
                       CG_ARG(bbuf), CG_ARG(boff), CG_ARG(n), CG_ARG(has_bias), CG_ARG(act));
}

cg_status cg_bias_grad(cg_ctx *ctx, cg_tensor dy, cg_tensor db) {
    if (dy.c == 0 || dy.h == 0 || dy.w == 0) return CG_OK;
    size_t p = (size_t)dy.h * dy.w, count = (size_t)dy.n * p;
    CG_TRY(check_total(count, "bias_grad"));
    cl_kernel k;
    CG_TRY(cg_kernel_get(ctx->rt, "bias", "bias_grad", &k));
    cl_ulong off = dy.off, sn = cg_sample_stride(dy), dboff = db.off;
    cl_uint pp = (cl_uint)p, cnt = (cl_uint)count;
    // One work-group per channel, of whatever size the kernel allows.
    return cg_launch_per_group(ctx->rt, k, (size_t)dy.c, CG_ARG(dy.buf), CG_ARG(off), CG_ARG(sn), CG_ARG(dy.c),
                               CG_ARG(pp), CG_ARG(cnt), CG_ARG(db.buf), CG_ARG(dboff));
}
