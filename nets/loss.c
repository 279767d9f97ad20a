// loss.c — GAN losses (BCE with logits, Wasserstein critic term): the scalar mean loss and its
// gradient, computed by one work-group per call so the reduction order is fixed (cl/loss.cl).
#include "nets.h"

// Checks the views a loss takes: a non-empty input, a gradient of the same shape, a loss view of
// at least one float.
static cg_status check_views(const char *fn, cg_tensor in, cg_tensor loss, cg_tensor grad) {
    if (!in.buf || !grad.buf || !loss.buf) return cg_fail(CG_ERR_INVALID_ARG, "%s: a tensor has no buffer", fn);
    if (in.n <= 0 || in.c <= 0 || in.h <= 0 || in.w <= 0)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: empty input [%d, %d, %d, %d]", fn, in.n, in.c, in.h, in.w);
    if (grad.n != in.n || grad.c != in.c || grad.h != in.h || grad.w != in.w)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: gradient [%d, %d, %d, %d] does not match input [%d, %d, %d, %d]", fn,
                       grad.n, grad.c, grad.h, grad.w, in.n, in.c, in.h, in.w);
    if (loss.n < 1 || loss.c < 1 || loss.h < 1 || loss.w < 1)
        return cg_fail(CG_ERR_INVALID_ARG, "%s: the loss view holds no float", fn);
    return CG_OK;
}

// Runs `kernel` as one work-group: (in, grad) as strided views, the scalar `a` (target or sign).
static cg_status launch(cg_ctx *ctx, const char *kernel, cg_tensor in, float a, cg_tensor loss, cg_tensor grad) {
    CG_TRY(check_views(kernel, in, loss, grad));
    cg_runtime *rt = ctx->rt;
    cl_kernel k;
    CG_TRY(cg_kernel_get(rt, "loss", kernel, &k));
    cl_ulong x_off = in.off, x_stride = cg_sample_stride(in), d_off = grad.off, d_stride = cg_sample_stride(grad);
    cl_ulong s = cg_sample_size(in), n = cg_numel(in), l_off = loss.off;
    cl_float fa = a;
    // One work-group; cg_launch_groups sizes the scratch it appends to match the group.
    cg_status st = cg_launch_groups(rt, k, 1, CG_ARG(in.buf), CG_ARG(x_off), CG_ARG(x_stride), CG_ARG(grad.buf),
                                    CG_ARG(d_off), CG_ARG(d_stride), CG_ARG(s), CG_ARG(n), CG_ARG(fa),
                                    CG_ARG(loss.buf), CG_ARG(l_off));
    if (st != CG_OK) return cg_fail_context(st, "%s over %llu elements", kernel, (unsigned long long)n);
    return CG_OK;
}

cg_status cg_bce_logits(cg_ctx *ctx, cg_tensor logits, float target, cg_tensor loss, cg_tensor dlogits) {
    return launch(ctx, "bce_logits", logits, target, loss, dlogits);
}

cg_status cg_wasserstein(cg_ctx *ctx, cg_tensor score, float sign, cg_tensor loss, cg_tensor dscore) {
    return launch(ctx, "wasserstein", score, sign, loss, dscore);
}
