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
// Two decompositions of every kernel here give bit-identical results: one work-item per element
// (GPUs: neighbouring work-items touch neighbouring addresses) and the *_rows kernels, one per
// column block of P columns, image plane or run of P floats (CPUs: the index arithmetic runs once
// per block, and the block is moved with explicit vectors). The host picks by device type.
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

// The CPU variants below (PoCL) run each work-item's loops as scalar code, so they copy or sum 8
// (or 4) consecutive elements at a time with explicit vectors where a row's elements all lie
// inside the image, and go one by one at the borders. A last partial chunk is redone as a full
// chunk ending at the border (it writes the same values again). Vectors change no element's value
// or summation order, so every variant gives the same bits.

// Eight input elements e, e + 2, ..., e + 14 of a row of W >= 16 (0 <= e, e + 14 < W): the even lanes
// of the 16 floats from e, or the odd lanes of the 16 from e - 1 where those would pass the row's end.
// (Lanes picked one by one rather than with .even / .odd: Oclgrind treats those swizzles' undefined
// second shuffle operand as uninitialised data; compilers emit the same shuffle either way.)
inline float8 im2col_even8(__global const float *row, int e, int W) {
    if (e + 16 <= W) {
        float16 v = vload16(0, row + e);
        return (float8)(v.s0, v.s2, v.s4, v.s6, v.s8, v.sa, v.sc, v.se);
    }
    float16 v = vload16(0, row + e - 1);
    return (float8)(v.s1, v.s3, v.s5, v.s7, v.s9, v.sb, v.sd, v.sf);
}
inline float4 im2col_even4(__global const float *row, int e, int W) {
    if (e + 8 <= W) {
        float8 v = vload8(0, row + e);
        return (float4)(v.s0, v.s2, v.s4, v.s6);
    }
    float8 v = vload8(0, row + e - 1);
    return (float4)(v.s1, v.s3, v.s5, v.s7);
}

// One im2col output row segment: d[ow] = src[iw0 + ow * sw] for lo <= ow < hi, 0 elsewhere in
// [0, OW).
inline void im2col_segment(__global float *d, __global const float *src, int iw0, int lo, int hi, int sw, int OW,
                           int W) {
    int ow = 0;
    for (; ow < lo; ow++) d[ow] = 0.0f;
    int n = hi - lo;
    if (sw == 1 && n >= 8) {
        for (; ow + 8 <= hi; ow += 8) vstore8(vload8(0, src + iw0 + ow), 0, d + ow);
        if (ow < hi) vstore8(vload8(0, src + iw0 + hi - 8), 0, d + hi - 8);
        ow = hi;
    } else if (sw == 1 && n >= 4) {
        for (; ow + 4 <= hi; ow += 4) vstore4(vload4(0, src + iw0 + ow), 0, d + ow);
        if (ow < hi) vstore4(vload4(0, src + iw0 + hi - 4), 0, d + hi - 4);
        ow = hi;
    } else if (sw == 2 && n >= 8 && W >= 16) {
        for (; ow + 8 <= hi; ow += 8) vstore8(im2col_even8(src, iw0 + 2 * ow, W), 0, d + ow);
        if (ow < hi) vstore8(im2col_even8(src, iw0 + 2 * (hi - 8), W), 0, d + hi - 8);
        ow = hi;
    } else if (sw == 2 && n >= 4 && W >= 8) {
        for (; ow + 4 <= hi; ow += 4) vstore4(im2col_even4(src, iw0 + 2 * ow, W), 0, d + ow);
        if (ow < hi) vstore4(im2col_even4(src, iw0 + 2 * (hi - 4), W), 0, d + hi - 4);
        ow = hi;
    }
    for (; ow < hi; ow++) d[ow] = src[iw0 + ow * sw];
    for (; ow < OW; ow++) d[ow] = 0.0f;
}

// im2col_rows: the same matrix, one work-item per image plane (c, n), i = c * nb + n: the kh * kw
// column rows r = (c * kh + ki) * kw + kj each take P = OH * OW consecutive columns from it
// (column n * P), as OH row segments of OW; total = C * nb. Index arithmetic once per plane, and
// the plane stays in cache while its kh * kw blocks are written.
__kernel void im2col_rows(__global const float *img, ulong img_off, ulong img_sn, int H, int W, int kh, int kw,
                          int sh, int sw, int ph, int pw, int OH, int OW, int nb, __global float *cols,
                          ulong cols_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint c = i / (uint)nb, n = i % (uint)nb;
    uint P = (uint)OH * (uint)OW, Q = (uint)nb * P;
    __global const float *plane = img + img_off + n * img_sn + (ulong)c * (ulong)H * (ulong)W;
    for (int ki = 0; ki < kh; ki++)
        for (int kj = 0; kj < kw; kj++) {
            uint r = ((uint)c * (uint)kh + (uint)ki) * (uint)kw + (uint)kj;
            __global float *d = cols + cols_off + (ulong)r * Q + n * P;
            // Column ow reads input column iw0 + ow * sw; it lies inside the row for lo <= ow < hi.
            int iw0 = kj - pw;
            int lo = iw0 >= 0 ? 0 : sw == 1 ? -iw0 : (-iw0 + sw - 1) / sw;
            int hi = iw0 >= W ? 0 : sw == 1 ? W - iw0 : (W - 1 - iw0) / sw + 1;
            lo = min(lo, OW);
            hi = clamp(hi, lo, OW);
            int ih = ki - ph;
            for (int oh = 0; oh < OH; oh++, ih += sh, d += OW) {
                if (ih >= 0 && ih < H) {
                    im2col_segment(d, plane + (uint)ih * (uint)W, iw0, lo, hi, sw, OW, W);
                } else {
                    int ow = 0;
                    for (; ow + 8 <= OW; ow += 8) vstore8((float8)(0.0f), 0, d + ow);
                    for (; ow < OW; ow++) d[ow] = 0.0f;
                }
            }
        }
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

// One image element of col2im_rows: the same sum as col2im's, for column w of a row whose first
// window row is ki0 at position oh0; rows points at column row (c, 0, 0) of sample n.
inline float col2im_at(__global const float *rows, float b, int w, int ki0, int oh0, int kh, int kw, int sh,
                       int sw, int pw, int OH, int OW, uint Q) {
    float acc = b;
    int ow0 = (w + pw) / sw, kj0 = (w + pw) % sw;
    for (int ki = ki0, oh = oh0; ki < kh && oh >= 0; ki += sh, oh--) {
        if (oh >= OH) continue;
        for (int kj = kj0, ow = ow0; kj < kw && ow >= 0; kj += sw, ow--) {
            if (ow >= OW) continue;
            acc += rows[(ulong)(ki * kw + kj) * Q + (uint)(oh * OW + ow)];
        }
    }
    return acc;
}

// Lanes o .. o + 3 of column row rp, where only lanes inside [0, OW) are terms: a vector load when
// all are, else a gather of the clamped positions; *ok marks the terms (-1) for select.
inline float4 col2im_lanes4(__global const float *rp, int o, int OW, int4 *ok) {
    if (o >= 0 && o + 4 <= OW) {
        *ok = (int4)(-1);
        return vload4(0, rp + o);
    }
    int4 ow = (int4)(o) + (int4)(0, 1, 2, 3);
    *ok = (ow >= (int4)(0)) & (ow < (int4)(OW));
    int4 at = clamp(ow, (int4)(0), (int4)(OW - 1));
    return (float4)(rp[at.s0], rp[at.s1], rp[at.s2], rp[at.s3]);
}

// col2im_rows: the same sums in the same order, one work-item per image plane (n, c) of H rows of W
// elements, i = c * nb + n; total = C * nb planes. Each row goes in chunks of lanes j: stride 1, element w = j sums
// kernel columns kj = 0.. at ow = j + pw - kj; stride 2 (kw >= 2), elements 2j and 2j + 1 (phases
// f = 0, 1) sum kj = kjf + 2m at ow = j + owf - m, kjf = (f + pw) % 2, owf = (f + pw) / 2, and are
// summed apart and interleaved. Chunks of 8 lanes whose every term lies inside the column rows
// read them with vector loads; other chunks go 4 lanes at a time, adding only the terms inside
// (select); lanes past the last chunk (odd widths) one by one.
__kernel void col2im_rows(__global const float *cols, ulong cols_off, int C, int H, int W, int kh, int kw, int sh,
                          int sw, int ph, int pw, int OH, int OW, int nb, __global float *img, ulong img_off,
                          ulong img_sn, int has_bias, __global const float *bias, ulong bias_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint c = i / (uint)nb, n = i % (uint)nb; // consecutive work-items read consecutive column blocks
    uint P = (uint)OH * (uint)OW, Q = (uint)nb * P;
    float b = has_bias ? bias[bias_off + c] : 0.0f;
    __global float *d = img + img_off + n * img_sn + (ulong)c * (ulong)H * (ulong)W;
    __global const float *rows = cols + cols_off + (ulong)c * (uint)(kh * kw) * Q + n * P;
    // Lanes [vlo, vhi) have all their terms inside the column rows; J lanes fit the row.
    int J = 0, vlo = 0, vhi = 0;
    int kj0e = pw % 2, kj0o = (1 + pw) % 2, ow0e = pw / 2, ow0o = (1 + pw) / 2;
    if (sw == 1) {
        J = W;
        vlo = max(kw - 1 - pw, 0);
        vhi = min(OW - pw, W);
    } else if (sw == 2 && kw >= 2) {
        J = W / 2;
        vlo = max(max((kw - 1 - kj0e) / 2 - ow0e, (kw - 1 - kj0o) / 2 - ow0o), 0);
        vhi = min(OW - ow0o, J);
    }
    int ki0 = ph % sh, oh0 = ph / sh;
    for (int h = 0; h < H; h++, d += W) {
        int j = 0;
        while (j + 4 <= J) {
            if (j >= vlo && j + 8 <= vhi) {
                if (sw == 1) {
                    float8 acc = (float8)(b);
                    for (int ki = ki0, oh = oh0; ki < kh && oh >= 0; ki += sh, oh--) {
                        if (oh >= OH) continue;
                        __global const float *rp = rows + (ulong)(ki * kw) * Q + (uint)(oh * OW + j + pw);
                        for (int kj = 0; kj < kw; kj++) acc += vload8(0, rp + (ulong)kj * Q - kj);
                    }
                    vstore8(acc, 0, d + j);
                } else {
                    float8 e = (float8)(b), o = (float8)(b);
                    for (int ki = ki0, oh = oh0; ki < kh && oh >= 0; ki += sh, oh--) {
                        if (oh >= OH) continue;
                        __global const float *rp = rows + (ulong)(ki * kw) * Q + (uint)(oh * OW + j);
                        for (int kj = kj0e, m = 0; kj < kw; kj += 2, m++)
                            e += vload8(0, rp + (ulong)kj * Q + ow0e - m);
                        for (int kj = kj0o, m = 0; kj < kw; kj += 2, m++)
                            o += vload8(0, rp + (ulong)kj * Q + ow0o - m);
                    }
                    vstore16((float16)(e.s0, o.s0, e.s1, o.s1, e.s2, o.s2, e.s3, o.s3, e.s4, o.s4, e.s5, o.s5, e.s6,
                                       o.s6, e.s7, o.s7),
                             0, d + 2 * j);
                }
                j += 8;
                continue;
            }
            int4 ok;
            if (sw == 1) {
                float4 acc = (float4)(b);
                for (int ki = ki0, oh = oh0; ki < kh && oh >= 0; ki += sh, oh--) {
                    if (oh >= OH) continue;
                    __global const float *rp = rows + (ulong)(ki * kw) * Q + (uint)(oh * OW);
                    for (int kj = 0; kj < kw; kj++) {
                        float4 v = col2im_lanes4(rp + (ulong)kj * Q, j + pw - kj, OW, &ok);
                        acc = select(acc, acc + v, ok);
                    }
                }
                vstore4(acc, 0, d + j);
            } else {
                float4 e = (float4)(b), o = (float4)(b);
                for (int ki = ki0, oh = oh0; ki < kh && oh >= 0; ki += sh, oh--) {
                    if (oh >= OH) continue;
                    __global const float *rp = rows + (ulong)(ki * kw) * Q + (uint)(oh * OW);
                    for (int kj = kj0e, m = 0; kj < kw; kj += 2, m++) {
                        float4 v = col2im_lanes4(rp + (ulong)kj * Q, j + ow0e - m, OW, &ok);
                        e = select(e, e + v, ok);
                    }
                    for (int kj = kj0o, m = 0; kj < kw; kj += 2, m++) {
                        float4 v = col2im_lanes4(rp + (ulong)kj * Q, j + ow0o - m, OW, &ok);
                        o = select(o, o + v, ok);
                    }
                }
                vstore8((float8)(e.s0, o.s0, e.s1, o.s1, e.s2, o.s2, e.s3, o.s3), 0, d + 2 * j);
            }
            j += 4;
        }
        for (int w = J ? j * sw : 0; w < W; w++) d[w] = col2im_at(rows, b, w, ki0, oh0, kh, kw, sh, sw, pw, OH, OW, Q);
        if (++ki0 == sh) ki0 = 0, oh0++;
    }
}

// ---- DCGAN's window: 4 x 4, stride 2, padding 1, on an image of 2 OH x 2 OW, OW a multiple of 4 -----
// im2col_s2k4 (CPUs): im2col_rows' matrix, one work-item per image plane (c, n), i = c * nb + n;
// total = C * nb. Window row ki of position oh reads image row ih = 2 oh - 1 + ki (zeros outside);
// four positions ow0 .. ow0 + 3 read image columns 2 ow0 - 1 .. 2 ow0 + 6: one float8 e from
// 2 ow0 and its two neighbours give all four kernel columns, kj = 0: (left, e1, e3, e5),
// kj = 1: (e0, e2, e4, e6), kj = 2: (e1, e3, e5, e7), kj = 3: (e2, e4, e6, right), each stored as a
// float4 in its column row. A copy: the same bits as im2col.
__kernel void im2col_s2k4(__global const float *img, ulong img_off, ulong img_sn, int H, int W, int OH, int OW,
                          int nb, __global float *cols, ulong cols_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint c = i / (uint)nb, n = i % (uint)nb;
    uint P = (uint)OH * (uint)OW, Q = (uint)nb * P;
    __global const float *plane = img + img_off + n * img_sn + (ulong)c * (ulong)H * (ulong)W;
    for (int ki = 0; ki < 4; ki++) {
        __global float *d0 = cols + cols_off + (ulong)((c * 4 + (uint)ki) * 4) * Q + n * P;
        for (int oh = 0, ih = ki - 1; oh < OH; oh++, ih += 2) {
            __global float *d = d0 + (uint)(oh * OW);
            if (ih < 0 || ih >= H) {
                for (int ow = 0; ow < OW; ow += 4)
                    for (int kj = 0; kj < 4; kj++) vstore4((float4)(0.0f), 0, d + (ulong)kj * Q + ow);
                continue;
            }
            __global const float *row = plane + (uint)ih * (uint)W;
            for (int ow = 0; ow < OW; ow += 4) {
                float8 e = vload8(0, row + 2 * ow);
                float left = ow > 0 ? row[2 * ow - 1] : 0.0f, right = 2 * ow + 8 < W ? row[2 * ow + 8] : 0.0f;
                vstore4((float4)(left, e.s1, e.s3, e.s5), 0, d + ow);
                vstore4((float4)(e.s0, e.s2, e.s4, e.s6), 0, d + Q + ow);
                vstore4((float4)(e.s1, e.s3, e.s5, e.s7), 0, d + 2 * (ulong)Q + ow);
                vstore4((float4)(e.s2, e.s4, e.s6, right), 0, d + 3 * (ulong)Q + ow);
            }
        }
    }
}

// ---- one window over the whole image (kh = H, kw = W, no padding: one position, P = 1) -------------
// Then row r of the column matrix is element r of every sample: cols [K, nb] is the transpose of
// the samples [nb, K], K = C * H * W (a DCGAN discriminator's last convolution, a generator's first
// transposed one). The CPU variants below move 8 x 8 tiles (eight float8 loads, eight stores);
// tiles cut by K or nb go element by element. Work-item i = rt * ceil(nb / 8) + nt takes rows
// [8 rt, 8 rt + 8) and samples [8 nt, 8 nt + 8); total = ceil(K / 8) * ceil(nb / 8) tiles.

// im2col_full: cols[r, n] = img[n, r] (im2col's values; a copy, so the same bits).
__kernel void im2col_full(__global const float *img, ulong img_off, ulong img_sn, uint K, int nb,
                          __global float *cols, ulong cols_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint tiles_n = ((uint)nb + 7) / 8, rt = (uint)gid / tiles_n, nt = (uint)gid - rt * tiles_n;
    uint r0 = rt * 8, n0 = nt * 8;
    __global const float *src = img + img_off;
    __global float *dst = cols + cols_off;
    if (r0 + 8 <= K && n0 + 8 <= (uint)nb) {
        float8 a0 = vload8(0, src + (ulong)(n0 + 0) * img_sn + r0);
        float8 a1 = vload8(0, src + (ulong)(n0 + 1) * img_sn + r0);
        float8 a2 = vload8(0, src + (ulong)(n0 + 2) * img_sn + r0);
        float8 a3 = vload8(0, src + (ulong)(n0 + 3) * img_sn + r0);
        float8 a4 = vload8(0, src + (ulong)(n0 + 4) * img_sn + r0);
        float8 a5 = vload8(0, src + (ulong)(n0 + 5) * img_sn + r0);
        float8 a6 = vload8(0, src + (ulong)(n0 + 6) * img_sn + r0);
        float8 a7 = vload8(0, src + (ulong)(n0 + 7) * img_sn + r0);
        vstore8((float8)(a0.s0, a1.s0, a2.s0, a3.s0, a4.s0, a5.s0, a6.s0, a7.s0), 0, dst + (ulong)(r0 + 0) * (uint)nb + n0);
        vstore8((float8)(a0.s1, a1.s1, a2.s1, a3.s1, a4.s1, a5.s1, a6.s1, a7.s1), 0, dst + (ulong)(r0 + 1) * (uint)nb + n0);
        vstore8((float8)(a0.s2, a1.s2, a2.s2, a3.s2, a4.s2, a5.s2, a6.s2, a7.s2), 0, dst + (ulong)(r0 + 2) * (uint)nb + n0);
        vstore8((float8)(a0.s3, a1.s3, a2.s3, a3.s3, a4.s3, a5.s3, a6.s3, a7.s3), 0, dst + (ulong)(r0 + 3) * (uint)nb + n0);
        vstore8((float8)(a0.s4, a1.s4, a2.s4, a3.s4, a4.s4, a5.s4, a6.s4, a7.s4), 0, dst + (ulong)(r0 + 4) * (uint)nb + n0);
        vstore8((float8)(a0.s5, a1.s5, a2.s5, a3.s5, a4.s5, a5.s5, a6.s5, a7.s5), 0, dst + (ulong)(r0 + 5) * (uint)nb + n0);
        vstore8((float8)(a0.s6, a1.s6, a2.s6, a3.s6, a4.s6, a5.s6, a6.s6, a7.s6), 0, dst + (ulong)(r0 + 6) * (uint)nb + n0);
        vstore8((float8)(a0.s7, a1.s7, a2.s7, a3.s7, a4.s7, a5.s7, a6.s7, a7.s7), 0, dst + (ulong)(r0 + 7) * (uint)nb + n0);
        return;
    }
    for (uint r = r0; r < min(r0 + 8, K); r++)
        for (uint n = n0; n < min(n0 + 8, (uint)nb); n++) dst[(ulong)r * (uint)nb + n] = src[(ulong)n * img_sn + r];
}


// The bias of image element r (channel r / HW), or 0 (col2im's starting value).
inline float col2im_bias(int has_bias, __global const float *bias, uint r, uint HW) {
    return has_bias ? bias[r / HW] : 0.0f;
}

// col2im_full: img[n, r] = b[r / HW] + cols[r, n] (b = 0 without bias): col2im's sum, which has
// this one term here, so the same bits. HW = H * W.
__kernel void col2im_full(__global const float *cols, ulong cols_off, uint K, uint HW, int nb, __global float *img,
                          ulong img_off, ulong img_sn, int has_bias, __global const float *bias, ulong bias_off,
                          uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint tiles_n = ((uint)nb + 7) / 8, rt = (uint)gid / tiles_n, nt = (uint)gid - rt * tiles_n;
    uint r0 = rt * 8, n0 = nt * 8;
    __global const float *src = cols + cols_off, *bs = bias + bias_off;
    __global float *dst = img + img_off;
    if (r0 + 8 <= K && n0 + 8 <= (uint)nb) {
        float8 b = (float8)(col2im_bias(has_bias, bs, r0, HW), col2im_bias(has_bias, bs, r0 + 1, HW),
                            col2im_bias(has_bias, bs, r0 + 2, HW), col2im_bias(has_bias, bs, r0 + 3, HW),
                            col2im_bias(has_bias, bs, r0 + 4, HW), col2im_bias(has_bias, bs, r0 + 5, HW),
                            col2im_bias(has_bias, bs, r0 + 6, HW), col2im_bias(has_bias, bs, r0 + 7, HW));
        float8 a0 = vload8(0, src + (ulong)(r0 + 0) * (uint)nb + n0);
        float8 a1 = vload8(0, src + (ulong)(r0 + 1) * (uint)nb + n0);
        float8 a2 = vload8(0, src + (ulong)(r0 + 2) * (uint)nb + n0);
        float8 a3 = vload8(0, src + (ulong)(r0 + 3) * (uint)nb + n0);
        float8 a4 = vload8(0, src + (ulong)(r0 + 4) * (uint)nb + n0);
        float8 a5 = vload8(0, src + (ulong)(r0 + 5) * (uint)nb + n0);
        float8 a6 = vload8(0, src + (ulong)(r0 + 6) * (uint)nb + n0);
        float8 a7 = vload8(0, src + (ulong)(r0 + 7) * (uint)nb + n0);
        vstore8(b + (float8)(a0.s0, a1.s0, a2.s0, a3.s0, a4.s0, a5.s0, a6.s0, a7.s0), 0, dst + (ulong)(n0 + 0) * img_sn + r0);
        vstore8(b + (float8)(a0.s1, a1.s1, a2.s1, a3.s1, a4.s1, a5.s1, a6.s1, a7.s1), 0, dst + (ulong)(n0 + 1) * img_sn + r0);
        vstore8(b + (float8)(a0.s2, a1.s2, a2.s2, a3.s2, a4.s2, a5.s2, a6.s2, a7.s2), 0, dst + (ulong)(n0 + 2) * img_sn + r0);
        vstore8(b + (float8)(a0.s3, a1.s3, a2.s3, a3.s3, a4.s3, a5.s3, a6.s3, a7.s3), 0, dst + (ulong)(n0 + 3) * img_sn + r0);
        vstore8(b + (float8)(a0.s4, a1.s4, a2.s4, a3.s4, a4.s4, a5.s4, a6.s4, a7.s4), 0, dst + (ulong)(n0 + 4) * img_sn + r0);
        vstore8(b + (float8)(a0.s5, a1.s5, a2.s5, a3.s5, a4.s5, a5.s5, a6.s5, a7.s5), 0, dst + (ulong)(n0 + 5) * img_sn + r0);
        vstore8(b + (float8)(a0.s6, a1.s6, a2.s6, a3.s6, a4.s6, a5.s6, a6.s6, a7.s6), 0, dst + (ulong)(n0 + 6) * img_sn + r0);
        vstore8(b + (float8)(a0.s7, a1.s7, a2.s7, a3.s7, a4.s7, a5.s7, a6.s7, a7.s7), 0, dst + (ulong)(n0 + 7) * img_sn + r0);
        return;
    }
    for (uint n = n0; n < min(n0 + 8, (uint)nb); n++)
        for (uint r = r0; r < min(r0 + 8, K); r++)
            dst[(ulong)n * img_sn + r] = col2im_bias(has_bias, bs, r, HW) + src[(ulong)r * (uint)nb + n];
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

// nchw_to_wide_rows: the same copy, one work-item per run of P contiguous floats, dst row c from
// sample n, i = c * nb + n (consecutive work-items write consecutive runs); total = C * nb runs.
// For CPUs; the host uses it for P >= 4 (below, the element kernel does less index work per float).
__kernel void nchw_to_wide_rows(__global const float *src, ulong src_off, ulong src_sn, uint P, int nb,
                                __global float *dst, ulong dst_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint c = i / (uint)nb, n = i % (uint)nb;
    __global const float *s = src + src_off + n * src_sn + (ulong)c * P;
    __global float *d = dst + dst_off + (ulong)i * P;
    if (P >= 16) {
        uint p = 0;
        for (; p + 16 <= P; p += 16) vstore16(vload16(0, s + p), 0, d + p);
        if (p < P) vstore16(vload16(0, s + P - 16), 0, d + P - 16); // overlaps: same values again
    } else if (P >= 4) {
        uint p = 0;
        for (; p + 4 <= P; p += 4) vstore4(vload4(0, s + p), 0, d + p);
        if (p < P) vstore4(vload4(0, s + P - 4), 0, d + P - 4);
    } else {
        for (uint p = 0; p < P; p++) d[p] = s[p];
    }
}

// wide_to_nchw_rows: wide_to_nchw with one work-item per run of P floats, dst plane (n, c) from
// src row c, i = n * C + c; total = nb * C runs. The bias is added the same way, element by element.
__kernel void wide_to_nchw_rows(__global const float *src, ulong src_off, int C, uint P, int nb, __global float *dst,
                                ulong dst_off, ulong dst_sn, int has_bias, __global const float *bias,
                                ulong bias_off, uint total) {
    size_t gid = get_global_id(0);
    if (gid >= total) return;
    uint i = (uint)gid;
    uint n = i / (uint)C, c = i % (uint)C;
    __global const float *s = src + src_off + (ulong)c * ((ulong)nb * P) + n * P;
    __global float *d = dst + dst_off + n * dst_sn + (ulong)c * P;
    float b = has_bias ? bias[bias_off + c] : 0.0f;
    uint p = 0;
    if (has_bias) {
        for (; p + 16 <= P; p += 16) vstore16(vload16(0, s + p) + b, 0, d + p);
        for (; p < P; p++) d[p] = s[p] + b;
    } else {
        for (; p + 16 <= P; p += 16) vstore16(vload16(0, s + p), 0, d + p);
        for (; p < P; p++) d[p] = s[p];
    }
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
