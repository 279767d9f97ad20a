// mtcnn.c — the MTCNN detector as facenet-pytorch's detect_face runs it: P-Net over the image
// pyramid (same-size images batched: one launch per scale), NMS per scale (IoU 0.5) and across
// scales (0.7), box regression, square boxes; R-Net and O-Net on area-resampled 24x24 and 48x48
// crops (cl/mtcnn.cl) batched over every candidate of every image; NMS on the host in float, in torchvision's and numpy's arithmetic.
#include "mtcnn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// P-Net runs same-size images together, up to this many source pixels per launch (640x480: 13
// images; CelebA 178x218: 108).
#ifndef CG_MTCNN_PNET_PIXELS
#define CG_MTCNN_PNET_PIXELS (1 << 22)
#endif

struct cg_mtcnn {
    cg_ctx ctx;
    mtcnn_net net[3];
};

typedef struct {
    float b[4], score, reg[4];
    int img;
    float pts[10];
} cand;

typedef struct {
    cand *v;
    int n, cap;
} cands;

static cg_status push(cands *c, cand x) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 256;
        cand *v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        c->v = v, c->cap = cap;
    }
    c->v[c->n++] = x;
    return CG_OK;
}

cg_mtcnn_params cg_mtcnn_defaults(void) { return (cg_mtcnn_params){20, 0.709, {0.6f, 0.7f, 0.7f}}; }

cg_status cg_mtcnn_create(cg_runtime *rt, const char *weights, cg_mtcnn **out) {
    *out = NULL;
    cg_mtcnn *m = calloc(1, sizeof *m);
    if (!m) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    m->ctx.rt = rt;
    cg_status st = mtcnn_nets_load(rt, weights, m->net);
    if (st != CG_OK) {
        cg_mtcnn_free(m);
        return st;
    }
    *out = m;
    return CG_OK;
}

void cg_mtcnn_free(cg_mtcnn *m) {
    if (!m) return;
    for (int i = 0; i < 3; i++) mtcnn_net_free(&m->net[i]);
    cg_workspace_free(&m->ctx.ws);
    free(m);
}

static int by_score_desc(const void *a, const void *b) {
    float x = ((const cand *)a)->score, y = ((const cand *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

// Greedy NMS within each image over c (sorted here by decreasing score): IoU without +1
// (torchvision), or 'Min' with +1 (facenet-pytorch's numpy NMS). Keeps survivors in place.
static void nms(cands *c, float thresh, int min_mode) {
    if (c->n == 0) return;
    qsort(c->v, (size_t)c->n, sizeof *c->v, by_score_desc);
    char *dead = calloc((size_t)c->n + 1, 1);
    int k = 0;
    for (int i = 0; i < c->n; i++) {
        if (dead[i]) continue;
        const float *a = c->v[i].b;
        float e = min_mode ? 1.0f : 0.0f;
        float area_a = (a[2] - a[0] + e) * (a[3] - a[1] + e);
        for (int j = i + 1; j < c->n; j++) {
            if (dead[j] || c->v[j].img != c->v[i].img) continue;
            const float *b = c->v[j].b;
            float w = fmaxf(0.0f, fminf(a[2], b[2]) - fmaxf(a[0], b[0]) + e);
            float h = fmaxf(0.0f, fminf(a[3], b[3]) - fmaxf(a[1], b[1]) + e);
            float inter = w * h, area_b = (b[2] - b[0] + e) * (b[3] - b[1] + e);
            float o = min_mode ? inter / fminf(area_a, area_b) : inter / (area_a + area_b - inter);
            if (o > thresh) dead[j] = 1;
        }
        c->v[k++] = c->v[i];
    }
    c->n = k;
    free(dead);
}

static void rerec(float *b) {
    float h = b[3] - b[1], w = b[2] - b[0], l = fmaxf(w, h);
    b[0] = b[0] + w * 0.5f - l * 0.5f;
    b[1] = b[1] + h * 0.5f - l * 0.5f;
    b[2] = b[0] + l;
    b[3] = b[1] + l;
}

static void bbreg(float *b, const float *reg) {
    float w = b[2] - b[0] + 1, h = b[3] - b[1] + 1;
    float n[4] = {b[0] + reg[0] * w, b[1] + reg[1] * h, b[2] + reg[2] * w, b[3] + reg[3] * h};
    memcpy(b, n, sizeof n);
}

static float face_prob(float l0, float l1) {
    float m = fmaxf(l0, l1), e0 = expf(l0 - m), e1 = expf(l1 - m);
    return e1 / (e0 + e1);
}

// Crops of the candidates' padded boxes (facenet-pytorch's pad: truncated, clipped to 1..w/h,
// rows y-1 .. ey-1) resampled to size x size into a fresh device tensor [n, 3, size, size].
// Candidates whose crop would be empty are dropped first.
static cg_status crops(cg_runtime *rt, cl_mem imgs, const size_t *img_off, const cg_mtcnn_image *im, cands *c,
                       int size, cl_mem *buf) {
    int k = 0;
    cl_long *tab = malloc(((size_t)c->n + 1) * 6 * sizeof *tab);
    if (!tab) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; i < c->n; i++) {
        const cg_mtcnn_image *m = &im[c->v[i].img];
        int x = (int)c->v[i].b[0], y = (int)c->v[i].b[1], ex = (int)c->v[i].b[2], ey = (int)c->v[i].b[3];
        if (x < 1) x = 1;
        if (y < 1) y = 1;
        if (ex > m->w) ex = m->w;
        if (ey > m->h) ey = m->h;
        if (!(ey > y - 1 && ex > x - 1)) continue;
        cl_long *e = tab + 6 * (size_t)k;
        e[0] = (cl_long)img_off[c->v[i].img], e[1] = m->w, e[2] = x - 1, e[3] = y - 1, e[4] = ex - x + 1,
        e[5] = ey - y + 1;
        c->v[k++] = c->v[i];
    }
    c->n = k;
    cg_status st = CG_OK;
    if (k > 0) {
        cl_int err;
        cl_mem t = clCreateBuffer(cg_runtime_context(rt), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                  (size_t)k * 6 * sizeof *tab, tab, &err);
        if (err != CL_SUCCESS) st = cg_fail(err, "mtcnn: crop table of %d boxes", k);
        if (st == CG_OK && (st = cg_buffer_alloc(rt, (size_t)k * 3 * size * size, buf)) != CG_OK)
            st = cg_fail_context(st, "MTCNN: the %d crops of %dx%d", k, size, size);
        cl_kernel kern;
        if (st == CG_OK) st = cg_kernel_get(rt, "mtcnn", "mtcnn_area_crop", &kern);
        cl_uint oh = (cl_uint)size, ow = (cl_uint)size, n = (cl_uint)(k * 3 * size * size);
        if (st == CG_OK)
            st = cg_launch1d(rt, kern, n, CG_ARG(imgs), CG_ARG(t), CG_ARG(*buf), CG_ARG(oh), CG_ARG(ow), CG_ARG(n));
        if (t) clReleaseMemObject(t);
    }
    free(tab);
    return st;
}

// P-Net over every scale of the g images idx[0..g), all of one size: per scale one resampling
// launch and one forward for the whole group; each image's candidates after its per-scale NMS are
// appended to per[idx[k]].
static cg_status stage1(cg_mtcnn *m, const cg_mtcnn_params *p, cl_mem imgs, const size_t *off, const cg_mtcnn_image *ims,
                        const int *idx, int g, cands *per) {
    cg_runtime *rt = m->ctx.rt;
    int w = ims[idx[0]].w, h = ims[idx[0]].h;
    double s = 12.0 / p->min_face, minl = (w < h ? w : h) * s;
    cl_long *tab = malloc((size_t)g * 6 * sizeof *tab);
    if (!tab) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int k = 0; k < g; k++) {
        cl_long *e = tab + 6 * (size_t)k;
        e[0] = (cl_long)off[idx[k]], e[1] = w, e[2] = 0, e[3] = 0, e[4] = w, e[5] = h;
    }
    cl_int err;
    cl_mem t = clCreateBuffer(cg_runtime_context(rt), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                              (size_t)g * 6 * sizeof *tab, tab, &err);
    free(tab);
    if (err != CL_SUCCESS) return cg_fail(err, "mtcnn: pyramid table of %d images", g);
    cg_status st = CG_OK;
    for (; minl >= 12 && st == CG_OK; s *= p->factor, minl *= p->factor) {
        int hs = (int)(h * s + 1), ws = (int)(w * s + 1);
        cl_mem in = NULL;
        cl_kernel kern;
        cl_uint oh = (cl_uint)hs, ow = (cl_uint)ws, n = (cl_uint)((size_t)g * 3 * hs * ws);
        st = cg_buffer_alloc(rt, n, &in);
        if (st != CG_OK) st = cg_fail_context(st, "MTCNN: P-Net's input of %d images at %dx%d", g, hs, ws);
        if (st == CG_OK) st = cg_kernel_get(rt, "mtcnn", "mtcnn_area_crop", &kern);
        if (st == CG_OK)
            st = cg_launch1d(rt, kern, n, CG_ARG(imgs), CG_ARG(t), CG_ARG(in), CG_ARG(oh), CG_ARG(ow), CG_ARG(n));
        cg_tensor y;
        // x: [g, 3, hs, ws] -> y: [g, 6, oh, ow]
        if (st == CG_OK) st = mtcnn_net_forward(&m->ctx, &m->net[0], cg_view(in, 0, g, 3, hs, ws), &y);
        float *o = NULL;
        if (st == CG_OK && !(o = malloc(cg_numel(y) * sizeof *o))) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
        if (st == CG_OK) st = cg_tensor_read(rt, y, o);
        size_t plane = st == CG_OK ? (size_t)y.h * y.w : 0;
        float fs = (float)s;
        for (int k = 0; st == CG_OK && k < g; k++) {
            const float *ok = o + (size_t)k * 6 * plane;
            cands sc = {0};
            for (int r = 0; st == CG_OK && r < y.h; r++)
                for (int q = 0; st == CG_OK && q < y.w; q++) {
                    size_t at = (size_t)r * y.w + q;
                    float prob = face_prob(ok[at], ok[plane + at]);
                    if (!(prob >= p->thresh[0])) continue;
                    cand c = {{floorf((2.0f * q + 1) / fs), floorf((2.0f * r + 1) / fs), floorf((2.0f * q + 12) / fs),
                               floorf((2.0f * r + 12) / fs)},
                              prob,
                              {ok[2 * plane + at], ok[3 * plane + at], ok[4 * plane + at], ok[5 * plane + at]},
                              idx[k],
                              {0}};
                    st = push(&sc, c);
                }
            nms(&sc, 0.5f, 0);
            for (int j = 0; st == CG_OK && j < sc.n; j++) st = push(&per[idx[k]], sc.v[j]);
            free(sc.v);
        }
        free(o);
        cg_buffer_release(in);
    }
    clReleaseMemObject(t);
    return st;
}

// P-Net over every image, same-size images grouped (up to CG_MTCNN_PNET_PIXELS source pixels per
// group); candidates go to out image by image, in the order of the images.
static cg_status pnet_all(cg_mtcnn *m, const cg_mtcnn_params *p, cl_mem imgs, const size_t *off,
                          const cg_mtcnn_image *ims, int n, cands *out) {
    cands *per = calloc((size_t)n + 1, sizeof *per);
    int *idx = malloc(((size_t)n + 1) * sizeof *idx);
    char *done = calloc((size_t)n + 1, 1);
    cg_status st = per && idx && done ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; st == CG_OK && i < n; i++) {
        if (done[i]) continue;
        size_t px = (size_t)ims[i].w * ims[i].h, cap = px ? CG_MTCNN_PNET_PIXELS / px : 1;
        int g = 0;
        for (int j = i; j < n && (g == 0 || (size_t)g < cap); j++)
            if (!done[j] && ims[j].w == ims[i].w && ims[j].h == ims[i].h) idx[g++] = j, done[j] = 1;
        st = stage1(m, p, imgs, off, ims, idx, g, per);
    }
    for (int i = 0; st == CG_OK && i < n; i++)
        for (int k = 0; st == CG_OK && k < per[i].n; k++) st = push(out, per[i].v[k]);
    for (int i = 0; per && i < n; i++) free(per[i].v);
    free(per);
    free(idx);
    free(done);
    return st;
}

// R-Net (size 24, outputs 6) or O-Net (48, 16) over the candidates' crops; keeps those above thresh.
static cg_status refine(cg_mtcnn *m, int which, float thresh, cl_mem imgs, const size_t *off, const cg_mtcnn_image *im,
                        cands *c) {
    int size = which == 1 ? 24 : 48;
    cl_mem buf = NULL;
    CG_TRY(crops(m->ctx.rt, imgs, off, im, c, size, &buf));
    if (c->n == 0) return CG_OK;
    cg_tensor y;
    // x: [n, 3, size, size] -> y: [n, 6 or 16, 1, 1]
    cg_status st = mtcnn_net_forward(&m->ctx, &m->net[which], cg_view(buf, 0, c->n, 3, size, size), &y);
    float *o = NULL;
    if (st == CG_OK && !(o = malloc(cg_numel(y) * sizeof *o))) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (st == CG_OK) st = cg_tensor_read(m->ctx.rt, y, o);
    int k = 0;
    for (int i = 0; st == CG_OK && i < c->n; i++) {
        const float *r = o + (size_t)i * y.c;
        float prob = face_prob(r[0], r[1]);
        if (!(prob > thresh)) continue;
        cand x = c->v[i];
        x.score = prob;
        memcpy(x.reg, r + 2, sizeof x.reg);
        if (which == 2) memcpy(x.pts, r + 6, sizeof x.pts);
        c->v[k++] = x;
    }
    if (st == CG_OK) c->n = k;
    free(o);
    cg_buffer_release(buf);
    return st;
}

cg_status cg_mtcnn_detect(cg_mtcnn *m, const cg_mtcnn_params *p, const cg_mtcnn_image *imgs, int n, cg_face **faces,
                          int *counts) {
    cg_runtime *rt = m->ctx.rt;
    for (int i = 0; i < n; i++) faces[i] = NULL, counts[i] = 0;
    if (p->min_face < 1) return cg_fail(CG_ERR_INVALID_ARG, "mtcnn: minimum face size %d", p->min_face);
    size_t *off = malloc(((size_t)n + 1) * sizeof *off), total = 0;
    if (!off) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; i < n; i++) off[i] = total, total += (size_t)imgs[i].w * imgs[i].h * 3;
    float *host = malloc((total + 1) * sizeof *host);
    cl_mem dev = NULL;
    cands c = {0};
    cg_status st = host ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; st == CG_OK && i < n; i++)
        for (size_t k = 0; k < (size_t)imgs[i].w * imgs[i].h * 3; k++) host[off[i] + k] = imgs[i].rgb[k];
    if (st == CG_OK && (st = cg_buffer_alloc(rt, total + 1, &dev)) != CG_OK)
        st = cg_fail_context(st, "MTCNN: the %d images' pixels", n);
    if (st == CG_OK && total) st = cg_tensor_write(rt, cg_view(dev, 0, 1, 1, 1, (int)total), host);
    free(host);
    if (st == CG_OK) st = pnet_all(m, p, dev, off, imgs, n, &c);
    if (st == CG_OK) {
        nms(&c, 0.7f, 0);
        for (int i = 0; i < c.n; i++) {
            float *b = c.v[i].b, rw = b[2] - b[0], rh = b[3] - b[1];
            float q[4] = {b[0] + c.v[i].reg[0] * rw, b[1] + c.v[i].reg[1] * rh, b[2] + c.v[i].reg[2] * rw,
                          b[3] + c.v[i].reg[3] * rh};
            memcpy(b, q, sizeof q);
            rerec(b);
        }
        st = refine(m, 1, p->thresh[1], dev, off, imgs, &c);
    }
    if (st == CG_OK) {
        nms(&c, 0.7f, 0);
        for (int i = 0; i < c.n; i++) {
            bbreg(c.v[i].b, c.v[i].reg);
            rerec(c.v[i].b);
        }
        st = refine(m, 2, p->thresh[2], dev, off, imgs, &c);
    }
    if (st == CG_OK) {
        for (int i = 0; i < c.n; i++) {
            float *b = c.v[i].b, w = b[2] - b[0] + 1, h = b[3] - b[1] + 1, pts[10];
            for (int k = 0; k < 5; k++) {
                pts[k] = w * c.v[i].pts[k] + b[0] - 1;
                pts[5 + k] = h * c.v[i].pts[5 + k] + b[1] - 1;
            }
            memcpy(c.v[i].pts, pts, sizeof pts);
            bbreg(b, c.v[i].reg);
        }
        nms(&c, 0.7f, 1);
        for (int i = 0; st == CG_OK && i < c.n; i++) {
            int im = c.v[i].img;
            cg_face *f = realloc(faces[im], ((size_t)counts[im] + 1) * sizeof *f);
            if (!f) {
                st = cg_fail(CG_ERR_NOMEM, "out of host memory");
                break;
            }
            faces[im] = f;
            cg_face *x = &f[counts[im]++];
            memcpy(x->box, c.v[i].b, sizeof x->box);
            x->prob = c.v[i].score;
            for (int k = 0; k < 5; k++) x->lm.x[k] = c.v[i].pts[k], x->lm.y[k] = c.v[i].pts[5 + k];
        }
    }
    free(c.v);
    free(off);
    cg_buffer_release(dev);
    if (st != CG_OK)
        for (int i = 0; i < n; i++) free(faces[i]), faces[i] = NULL, counts[i] = 0;
    return st;
}
