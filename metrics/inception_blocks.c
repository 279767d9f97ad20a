// inception_blocks.c — the forward passes of Inception-v3's Mixed blocks as pytorch-fid runs
// them: FIDInceptionA (5b-d), InceptionB (6a), FIDInceptionC (6b-e), InceptionD (7a),
// FIDInceptionE_1 (7b, average branch pool) and FIDInceptionE_2 (7c, max branch pool). Every
// branch writes straight into its channels of the block's output (torch.cat order). An average-
// pooled branch_pool (A, C, E_1) runs its 1x1 convolution before the pool (incep_pool_conv_relu).
//
// With net->merged (the default), the 1x1 convolutions that read the block's input run as one
// product (incep_merge, stacked in the order inception.c gives) whose output channels the next
// convolutions read as views: in A and C it is written into the block's output, where the first
// member's channels are already in place and the others wait in channels that later branches
// overwrite only after reading them; in D and E into scratch. Every convolution computes what it
// computes unmerged (the same sums in the same order), so the outputs are bit-identical
// (tests/test_inception_merge.c).
#include "inception_internal.h"

int incep_block_out_size(const incep_block *b, int s) {
    return (b->kind == BLOCK_B || b->kind == BLOCK_D) ? (s - 3) / 2 + 1 : s;
}

// A scratch tensor [n, c, h, w] at the start of buffer t.
static cg_tensor tmp(cl_mem t, cg_tensor like, int c, int h, int w) { return cg_view(t, 0, like.n, c, h, w); }

// x: [N, cin, S, S] -> y: [N, 224 + pool_features, S, S]
static cg_status block_a(cg_inception *net, int f, int m, cg_tensor x, cg_tensor y, cl_mem t0, cl_mem t1) {
    int pf = net->convs[f + 6].cout;
    if (m >= 0) {
        // y[0, 176): [branch1x1 (final) | branch3x3dbl_1 | branch5x5_1]
        CG_TRY(incep_merge_relu(net, m, x, cg_channels(y, 0, 176)));
        cg_tensor b = tmp(t1, x, 96, x.h, x.w);
        CG_TRY(incep_conv_relu(net, f + 4, cg_channels(y, 64, 64), b));
        CG_TRY(incep_conv_relu(net, f + 2, cg_channels(y, 128, 48), cg_channels(y, 64, 64)));
        CG_TRY(incep_conv_relu(net, f + 5, b, cg_channels(y, 128, 96)));
        return incep_pool_conv_relu(net, f + 6, x, cg_channels(y, 224, pf), t0);
    }
    CG_TRY(incep_conv_relu(net, f + 0, x, cg_channels(y, 0, 64)));
    cg_tensor a = tmp(t0, x, 48, x.h, x.w);
    CG_TRY(incep_conv_relu(net, f + 1, x, a));
    CG_TRY(incep_conv_relu(net, f + 2, a, cg_channels(y, 64, 64)));
    a = tmp(t0, x, 64, x.h, x.w);
    cg_tensor b = tmp(t1, x, 96, x.h, x.w);
    CG_TRY(incep_conv_relu(net, f + 3, x, a));
    CG_TRY(incep_conv_relu(net, f + 4, a, b));
    CG_TRY(incep_conv_relu(net, f + 5, b, cg_channels(y, 128, 96)));
    return incep_pool_conv_relu(net, f + 6, x, cg_channels(y, 224, pf), t0);
}

// x: [N, 288, 35, 35] -> y: [N, 768, 17, 17]
static cg_status block_b(cg_inception *net, int f, cg_tensor x, cg_tensor y, cl_mem t0, cl_mem t1) {
    CG_TRY(incep_conv_relu(net, f + 0, x, cg_channels(y, 0, 384)));
    cg_tensor a = tmp(t0, x, 64, x.h, x.w), b = tmp(t1, x, 96, x.h, x.w);
    CG_TRY(incep_conv_relu(net, f + 1, x, a));
    CG_TRY(incep_conv_relu(net, f + 2, a, b));
    CG_TRY(incep_conv_relu(net, f + 3, b, cg_channels(y, 384, 96)));
    return net->max3s2->ops->forward(net->max3s2, &net->ctx, x, cg_channels(y, 480, x.c), 0);
}

// x: [N, 768, 17, 17] -> y: [N, 768, 17, 17]
static cg_status block_c(cg_inception *net, int f, int m, cg_tensor x, cg_tensor y, cl_mem t0, cl_mem t1) {
    int c7 = net->convs[f + 1].cout; // <= 192
    cg_tensor a = tmp(t0, x, c7, x.h, x.w), b = tmp(t1, x, c7, x.h, x.w);
    if (m >= 0) {
        // y[0, 192 + 2 c7): [branch1x1 (final) | branch7x7_1 | branch7x7dbl_1]; the dbl branch
        // first, as its output [384, 576) starts at or past branch7x7_1's end.
        CG_TRY(incep_merge_relu(net, m, x, cg_channels(y, 0, 192 + 2 * c7)));
        CG_TRY(incep_conv_relu(net, f + 5, cg_channels(y, 192 + c7, c7), a));
        CG_TRY(incep_conv_relu(net, f + 6, a, b));
        CG_TRY(incep_conv_relu(net, f + 7, b, a));
        CG_TRY(incep_conv_relu(net, f + 8, a, cg_channels(y, 384, 192)));
        CG_TRY(incep_conv_relu(net, f + 2, cg_channels(y, 192, c7), a));
        CG_TRY(incep_conv_relu(net, f + 3, a, cg_channels(y, 192, 192)));
        return incep_pool_conv_relu(net, f + 9, x, cg_channels(y, 576, 192), t0);
    }
    CG_TRY(incep_conv_relu(net, f + 0, x, cg_channels(y, 0, 192)));
    CG_TRY(incep_conv_relu(net, f + 1, x, a));
    CG_TRY(incep_conv_relu(net, f + 2, a, b));
    CG_TRY(incep_conv_relu(net, f + 3, b, cg_channels(y, 192, 192)));
    CG_TRY(incep_conv_relu(net, f + 4, x, a));
    CG_TRY(incep_conv_relu(net, f + 5, a, b));
    CG_TRY(incep_conv_relu(net, f + 6, b, a));
    CG_TRY(incep_conv_relu(net, f + 7, a, b));
    CG_TRY(incep_conv_relu(net, f + 8, b, cg_channels(y, 384, 192)));
    return incep_pool_conv_relu(net, f + 9, x, cg_channels(y, 576, 192), t0);
}

// x: [N, 768, 17, 17] -> y: [N, 1280, 8, 8]
static cg_status block_d(cg_inception *net, int f, int m, cg_tensor x, cg_tensor y, cl_mem t0, cl_mem t1) {
    cg_tensor a = tmp(t0, x, 192, x.h, x.w), b = tmp(t1, x, 192, x.h, x.w);
    if (m >= 0) {
        // t0: [branch3x3_1 | branch7x7x3_1], both read before a overwrites them
        cg_tensor both = tmp(t0, x, 384, x.h, x.w);
        CG_TRY(incep_merge_relu(net, m, x, both));
        CG_TRY(incep_conv_relu(net, f + 1, cg_channels(both, 0, 192), cg_channels(y, 0, 320)));
        CG_TRY(incep_conv_relu(net, f + 3, cg_channels(both, 192, 192), b));
    } else {
        CG_TRY(incep_conv_relu(net, f + 0, x, a));
        CG_TRY(incep_conv_relu(net, f + 1, a, cg_channels(y, 0, 320)));
        CG_TRY(incep_conv_relu(net, f + 2, x, a));
        CG_TRY(incep_conv_relu(net, f + 3, a, b));
    }
    CG_TRY(incep_conv_relu(net, f + 4, b, a));
    CG_TRY(incep_conv_relu(net, f + 5, a, cg_channels(y, 320, 192)));
    return net->max3s2->ops->forward(net->max3s2, &net->ctx, x, cg_channels(y, 512, x.c), 0);
}

// x: [N, cin, 8, 8] -> y: [N, 2048, 8, 8]; the branch pool is average (E_1) or max (E_2)
static cg_status block_e(cg_inception *net, int f, int m, int max_pool, cg_tensor x, cg_tensor y, cl_mem t0,
                         cl_mem t1) {
    cg_tensor b = tmp(t1, x, 384, x.h, x.w);
    if (m >= 0) {
        // t0: [branch1x1 | branch3x3_1 | branch3x3dbl_1]; branch1x1's channels copied into y
        // (branch3x3_2a would otherwise overwrite its own input)
        cg_tensor all = tmp(t0, x, 1152, x.h, x.w), s = cg_channels(all, 0, 320), d = cg_channels(y, 0, 320);
        CG_TRY(incep_merge_relu(net, m, x, all));
        for (int n = 0; n < x.n; n++)
            CG_TRY(cg_tensor_copy(net->ctx.rt, cg_view(d.buf, d.off + n * cg_sample_stride(d), 1, 320, x.h, x.w),
                                  cg_view(s.buf, s.off + n * cg_sample_stride(s), 1, 320, x.h, x.w)));
        CG_TRY(incep_conv_relu(net, f + 2, cg_channels(all, 320, 384), cg_channels(y, 320, 384)));
        CG_TRY(incep_conv_relu(net, f + 3, cg_channels(all, 320, 384), cg_channels(y, 704, 384)));
        CG_TRY(incep_conv_relu(net, f + 5, cg_channels(all, 704, 448), b));
    } else {
        CG_TRY(incep_conv_relu(net, f + 0, x, cg_channels(y, 0, 320)));
        cg_tensor a = tmp(t0, x, 384, x.h, x.w);
        CG_TRY(incep_conv_relu(net, f + 1, x, a));
        CG_TRY(incep_conv_relu(net, f + 2, a, cg_channels(y, 320, 384)));
        CG_TRY(incep_conv_relu(net, f + 3, a, cg_channels(y, 704, 384)));
        a = tmp(t0, x, 448, x.h, x.w);
        CG_TRY(incep_conv_relu(net, f + 4, x, a));
        CG_TRY(incep_conv_relu(net, f + 5, a, b));
    }
    CG_TRY(incep_conv_relu(net, f + 6, b, cg_channels(y, 1088, 384)));
    CG_TRY(incep_conv_relu(net, f + 7, b, cg_channels(y, 1472, 384)));
    if (!max_pool) return incep_pool_conv_relu(net, f + 8, x, cg_channels(y, 1856, 192), t0);
    cg_tensor a = tmp(t0, x, x.c, x.h, x.w);
    CG_TRY(net->max3s1->ops->forward(net->max3s1, &net->ctx, x, a, 0));
    return incep_conv_relu(net, f + 8, a, cg_channels(y, 1856, 192));
}

cg_status incep_block_forward(cg_inception *net, const incep_block *b, cg_tensor x, cg_tensor y, cl_mem t0,
                              cl_mem t1) {
    int m = net->merged ? b->merge : -1;
    switch (b->kind) {
    case BLOCK_A: return block_a(net, b->first, m, x, y, t0, t1);
    case BLOCK_B: return block_b(net, b->first, x, y, t0, t1);
    case BLOCK_C: return block_c(net, b->first, m, x, y, t0, t1);
    case BLOCK_D: return block_d(net, b->first, m, x, y, t0, t1);
    case BLOCK_E1: return block_e(net, b->first, m, 0, x, y, t0, t1);
    case BLOCK_E2: return block_e(net, b->first, m, 1, x, y, t0, t1);
    }
    return cg_fail(CG_ERR_INVALID_ARG, "inception: unknown block kind");
}
