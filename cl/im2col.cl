// im2col.cl — the column matrices behind convolution and transposed convolution, and the layout
// moves between NCHW tensors and the "wide" [C, nb * P] matrices that one GEMM per chunk of samples
// works on.
//
// Geometry shared by every kernel here. The image is [nb, C, H, W] (sample stride img_sn, so a
// view into a wider tensor works); the kernel window is kh x kw, moved by sh, sw over the image
// padded by ph rows above and below and pw columns left and right; it takes OH x OW positions,
// P = OH * OW. The column matrix of nb samples is [C * kh * kw, nb * P], row-major, dense:
//   row    r = (c * kh + ki) * kw + kj
//   column q = n * P + oh * OW + ow
//   cols[r, q] = img[n, c, oh * sh - ph + ki, ow * sw - pw + kj]   (0 outside the image)
// Two decompositions of im2col and col2im give bit-identical results: one work-item per element
// (GPUs: neighbouring work-items touch neighbouring addresses) and one per row segment of OW
// columns or W image elements (CPUs: the index arithmetic runs once per segment, not once per
// element; 6-20x faster on PoCL). The host picks by device type.
// Index arithmetic inside a chunk is 32-bit (the host keeps every chunk below 2^31 elements):
// integer division is the bulk of these kernels on CPUs, and 32-bit division is the cheaper kind.
// Buffer offsets and sample strides are 64-bit.

// im2col: one work-item per element of the column matrix [C*kh*kw, nb*P]; reads one image
// element (or none, in the padding) and writes its column entry. Consecutive work-items write
// consecutive columns.
__kernel void im2col(__global const float *img, ulong img_off, ulong img_sn, int H, int W, int kh, int kw, int sh,
                     int sw, int ph, int pw, int OH, int OW, int nb, __global float *cols, ulong cols_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint P = (uint)OH * (uint)OW, Q = (uint)nb * P;
    uint r = i / Q, q = i % Q;
    uint n = q / P, p = q % P;
    uint oh = p / (uint)OW, ow = p % (uint)OW;
    uint t = r / (uint)kw, kj = r % (uint)kw;
    uint c = t / (uint)kh, ki = t % (uint)kh;
    int ih = (int)oh * sh - ph + (int)ki, iw = (int)ow * sw - pw + (int)kj;
    float v = 0.0f;
    if (ih >= 0 && ih < H && iw >= 0 && iw < W)
        v = img[img_off + n * img_sn + ((ulong)c * (ulong)H + (ulong)ih) * (ulong)W + (ulong)iw];
    cols[cols_off + i] = v;
}

// im2col_rows: the same matrix, one work-item per row segment (r, n, oh) of OW consecutive
// columns; total = C*kh*kw * nb * OH segments.
__kernel void im2col_rows(__global const float *img, ulong img_off, ulong img_sn, int H, int W, int kh, int kw,
                          int sh, int sw, int ph, int pw, int OH, int OW, int nb, __global float *cols,
                          ulong cols_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint per_row = (uint)nb * (uint)OH;
    uint r = i / per_row, s = i % per_row;
    uint n = s / (uint)OH, oh = s % (uint)OH;
    uint t = r / (uint)kw, kj = r % (uint)kw;
    uint c = t / (uint)kh, ki = t % (uint)kh;
    int ih = (int)oh * sh - ph + (int)ki;
    ulong dst = cols_off + (ulong)i * (uint)OW; // = row r, column n * P + oh * OW
    if (ih < 0 || ih >= H) {
        for (int ow = 0; ow < OW; ow++) cols[dst + ow] = 0.0f;
        return;
    }
    ulong src = img_off + n * img_sn + ((ulong)c * (ulong)H + (ulong)ih) * (ulong)W;
    int iw = (int)kj - pw;
    for (int ow = 0; ow < OW; ow++, iw += sw) cols[dst + ow] = iw >= 0 && iw < W ? img[src + (uint)iw] : 0.0f;
}

// col2im: the adjoint of im2col. One work-item per IMAGE element [nb, C, H, W]: it gathers every
// column entry that im2col would have read from this element, in a fixed order (kernel rows, then
// kernel columns), so the result is deterministic and needs no atomics. The sum, plus bias[c]
// when has_bias, OVERWRITES the image element.
__kernel void col2im(__global const float *cols, ulong cols_off, int C, int H, int W, int kh, int kw, int sh, int sw,
                     int ph, int pw, int OH, int OW, int nb, __global float *img, ulong img_off, ulong img_sn,
                     int has_bias, __global const float *bias, ulong bias_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint t = i / (uint)W, w = i % (uint)W;
    uint u = t / (uint)H, h = t % (uint)H;
    uint n = u / (uint)C, c = u % (uint)C;
    uint P = (uint)OH * (uint)OW, Q = (uint)nb * P;
    float acc = has_bias ? bias[bias_off + c] : 0.0f;
    // Window row ki covers image row h from position oh when h + ph = oh * sh + ki: the first such
    // ki is (h + ph) mod sh, and each further one (ki + sh) is one position up (oh - 1).
    uint hp = h + (uint)ph, wp = w + (uint)pw;
    int oh0 = (int)(hp / (uint)sh), ow0 = (int)(wp / (uint)sw);
    int ki0 = (int)(hp % (uint)sh), kj0 = (int)(wp % (uint)sw);
    for (int ki = ki0, oh = oh0; ki < kh && oh >= 0; ki += sh, oh--) {
        if (oh >= OH) continue;
        for (int kj = kj0, ow = ow0; kj < kw && ow >= 0; kj += sw, ow--) {
            if (ow >= OW) continue;
            uint r = (c * (uint)kh + (uint)ki) * (uint)kw + (uint)kj;
            acc += cols[cols_off + (ulong)r * Q + n * P + (uint)oh * (uint)OW + (uint)ow];
        }
    }
    img[img_off + n * img_sn + ((ulong)c * (ulong)H + h) * (ulong)W + w] = acc;
}

// col2im_rows: the same sums in the same order, one work-item per image row (n, c, h) of W
// elements; total = nb * C * H rows.
__kernel void col2im_rows(__global const float *cols, ulong cols_off, int C, int H, int W, int kh, int kw, int sh,
                          int sw, int ph, int pw, int OH, int OW, int nb, __global float *img, ulong img_off,
                          ulong img_sn, int has_bias, __global const float *bias, ulong bias_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint u = i / (uint)H, h = i % (uint)H;
    uint n = u / (uint)C, c = u % (uint)C;
    uint P = (uint)OH * (uint)OW, Q = (uint)nb * P;
    float b = has_bias ? bias[bias_off + c] : 0.0f;
    uint hp = h + (uint)ph;
    int oh0 = (int)(hp / (uint)sh), ki0 = (int)(hp % (uint)sh);
    // For column w: ow0 = (w + pw) / sw, kj0 = (w + pw) % sw, stepped along with w.
    int ow0 = pw / sw, kj0 = pw % sw;
    ulong dst = img_off + n * img_sn + ((ulong)c * (ulong)H + h) * (ulong)W;
    for (int w = 0; w < W; w++) {
        float acc = b;
        for (int ki = ki0, oh = oh0; ki < kh && oh >= 0; ki += sh, oh--) {
            if (oh >= OH) continue;
            for (int kj = kj0, ow = ow0; kj < kw && ow >= 0; kj += sw, ow--) {
                if (ow >= OW) continue;
                uint r = (c * (uint)kh + (uint)ki) * (uint)kw + (uint)kj;
                acc += cols[cols_off + (ulong)r * Q + n * P + (uint)oh * (uint)OW + (uint)ow];
            }
        }
        img[dst + (uint)w] = acc;
        if (++kj0 == sw) kj0 = 0, ow0++;
    }
}

// nchw_to_wide: dst[c, n * P + p] = src[n, c, p] for nb samples of a [nb, C, P] tensor with
// sample stride src_sn; dst is dense [C, nb * P]. One work-item per dst element.
__kernel void nchw_to_wide(__global const float *src, ulong src_off, ulong src_sn, uint P, int nb,
                           __global float *dst, ulong dst_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint Q = (uint)nb * P;
    uint c = i / Q, q = i % Q;
    uint n = q / P, p = q % P;
    dst[dst_off + i] = src[src_off + n * src_sn + (ulong)c * P + p];
}

// wide_to_nchw: dst[n, c, p] = src[c, n * P + p] (+ bias[c] when has_bias), the inverse of
// nchw_to_wide; dst has sample stride dst_sn (a channel slice of a wider tensor works). One
// work-item per dst element, in NCHW order.
__kernel void wide_to_nchw(__global const float *src, ulong src_off, int C, uint P, int nb, __global float *dst,
                           ulong dst_off, ulong dst_sn, int has_bias, __global const float *bias, ulong bias_off,
                           uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint t = i / P, p = i % P;
    uint n = t / (uint)C, c = t % (uint)C;
    float v = src[src_off + (ulong)c * ((ulong)nb * P) + n * P + p];
    if (has_bias) v += bias[bias_off + c];
    dst[dst_off + n * dst_sn + (ulong)c * P + p] = v;
}
