// mtcnn.cl — MTCNN's input resampling: crops of RGB images (float HWC, values 0..255) resized
// with PyTorch's F.interpolate(mode='area') (adaptive average pooling: output row i averages input
// rows floor(i*H/OH) .. ceil((i+1)*H/OH) - 1, likewise columns), then normalised as facenet-pytorch
// does, (v - 127.5) * 0.0078125. The image pyramid is the crop of the whole image.
//
// tab: 6 longs per crop: element offset of the image in img, image width, crop x0, y0, width,
// height. y: [crops, 3, OH, OW]. One work-item per output element, n = crops * 3 * OH * OW.
__kernel void mtcnn_area_crop(__global const float *img, __global const long *tab, __global float *y, uint OH,
                              uint OW, uint n) {
    size_t gid = get_global_id(0);
    if (gid >= n) return;
    uint i = (uint)gid;
    uint ox = i % OW, t = i / OW;
    uint oy = t % OH;
    t /= OH;
    uint c = t % 3, j = t / 3;
    __global const long *e = tab + 6 * (size_t)j;
    long off = e[0], W = e[1], x0 = e[2], y0 = e[3], cw = e[4], ch = e[5];
    long ya = (long)oy * ch / OH, yb = ((long)(oy + 1) * ch + OH - 1) / OH;
    long xa = (long)ox * cw / OW, xb = ((long)(ox + 1) * cw + OW - 1) / OW;
    float sum = 0.0f;
    for (long r = ya; r < yb; r++)
        for (long q = xa; q < xb; q++) sum += img[off + ((y0 + r) * W + x0 + q) * 3 + c];
    float v = sum / (float)(yb - ya) / (float)(xb - xa);
    y[gid] = (v - 127.5f) * 0.0078125f;
}
