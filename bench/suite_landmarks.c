// suite_landmarks.c — the landmarks suite: the MTCNN detector (metrics/mtcnn.h, what `clgan
// landmarks` runs) on a batch of CelebA aligned images at 178x218 and on multiface.jpg resized to
// 640x480, images/s of cg_mtcnn_detect with the host-to-device upload included. The check before
// timing: every CelebA image has a face of probability >= 0.9 with its eyes inside the box, and
// every copy of the 640x480 picture the same number (>= 2) of faces. The row carries
// facenet-pytorch's MTCNN on the same files and batch (tests/reference/mtcnn_bench_reference.py
// through bench_python.c, 2 threads; its error column is its face count minus clgan's) when it is
// importable, else the reason (never a ratio); --quick skips it. Images and weights come from
// $CLGAN_SHARED_DATA (the f32 export converted with tools/convert_mtcnn.py), unless
// $CLGAN_MTCNN_WEIGHTS or the cache holds converted weights.
#include "bench.h"
#include "image_loader.h"
#include "mtcnn_list.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEER_SCRIPT "tests/reference/mtcnn_bench_reference.py"
#define CONVERT_SCRIPT "tools/convert_mtcnn.py"
#define CELEBA_DIR "celeba_align_fullres_100/img_align_celeba"
#define MULTIFACE "mtcnn_facenet_pytorch/multiface.jpg"
#define F32_DIR "mtcnn_facenet_pytorch/f32"
#define MAX_BATCH 16

static void data_path(const char *rel, char *buf, size_t len) {
    const char *d = getenv("CLGAN_SHARED_DATA"), *src = getenv("CLGAN_SOURCE_DIR");
    if (d && *d) snprintf(buf, len, "%s/%s", d, rel);
    else snprintf(buf, len, "%s/../shared/data/%s", src && *src ? src : ".", rel);
}

static int exists(const char *path) {
    struct stat s;
    return stat(path, &s) == 0;
}

typedef struct {
    cg_mtcnn *m;
    cg_mtcnn_params p;
    cg_mtcnn_image im[MAX_BATCH];
    int n, counts[MAX_BATCH];
    cg_face *faces[MAX_BATCH];
} lm_case;

static void drop_faces(lm_case *c) {
    for (int i = 0; i < c->n; i++) free(c->faces[i]), c->faces[i] = NULL;
}

static cg_status detect(void *p) {
    lm_case *c = p;
    drop_faces(c);
    return cg_mtcnn_detect(c->m, &c->p, c->im, c->n, c->faces, c->counts);
}

// Bilinear resize (pixel centres aligned) of an RGB image to w x h.
static void resize(const cg_decoded *d, int w, int h, uint8_t *out) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float sx = ((float)x + 0.5f) * d->w / w - 0.5f, sy = ((float)y + 0.5f) * d->h / h - 0.5f;
            sx = sx < 0 ? 0 : sx > d->w - 1 ? (float)(d->w - 1) : sx;
            sy = sy < 0 ? 0 : sy > d->h - 1 ? (float)(d->h - 1) : sy;
            int x0 = (int)sx, y0 = (int)sy, x1 = x0 + 1 < d->w ? x0 + 1 : x0, y1 = y0 + 1 < d->h ? y0 + 1 : y0;
            float fx = sx - x0, fy = sy - y0;
            for (int c = 0; c < 3; c++) {
                const uint8_t *p = d->pixels;
                float a = p[((size_t)y0 * d->w + x0) * 3 + c] * (1 - fx) + p[((size_t)y0 * d->w + x1) * 3 + c] * fx;
                float b = p[((size_t)y1 * d->w + x0) * 3 + c] * (1 - fx) + p[((size_t)y1 * d->w + x1) * 3 + c] * fx;
                out[((size_t)y * w + x) * 3 + c] = (uint8_t)(a * (1 - fy) + b * fy + 0.5f);
            }
        }
}

static cg_status check(lm_case *c, int celeba, double *err) {
    CG_TRY(detect(c));
    int bad = 0;
    for (int i = 0; i < c->n; i++) {
        if (celeba) {
            const cg_face *f = c->counts[i] ? &c->faces[i][0] : NULL;
            int ok = f && f->prob >= 0.9f;
            for (int k = 0; ok && k < 2; k++)
                ok = f->lm.x[k] > f->box[0] && f->lm.x[k] < f->box[2] && f->lm.y[k] > f->box[1] && f->lm.y[k] < f->box[3];
            bad += !ok;
        } else {
            bad += c->counts[i] < 2 || c->counts[i] != c->counts[0];
        }
    }
    *err = bad;
    if (bad)
        return cg_fail(CG_ERR_NUMERIC, "landmarks: %d of %d images %s", bad, c->n,
                       celeba ? "without a confident face with its eyes in the box" : "with a different or too small face count");
    return CG_OK;
}

static void fill_row(bench_row *row, cg_runtime *rt, int device_index, const bench_options *opt, const char *name,
                     int n) {
    snprintf(row->suite, sizeof row->suite, "landmarks");
    snprintf(row->name, sizeof row->name, "%s", name);
    snprintf(row->shape, sizeof row->shape, "%s batch %d, min_face 20", name, n);
    snprintf(row->device, sizeof row->device, "%s", cg_runtime_device(rt)->name);
    row->device_index = device_index;
    snprintf(row->impl, sizeof row->impl, "mtcnn");
    row->reps = opt->reps;
    row->work = n;
    snprintf(row->unit, sizeof row->unit, "images/s");
}

// One case: n images (CelebA files, or copies of multiface.jpg resized to 640x480).
static cg_status run_case(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep,
                          cg_mtcnn *m, const char *tmp, int celeba, int n) {
    const char *name = celeba ? "178x218" : "640x480";
    if (!bench_case_selected(opt, name)) return CG_OK;
    bench_row *row = bench_report_add(rep);
    if (!row) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    fill_row(row, rt, device_index, opt, name, n);
    lm_case c = {m, cg_mtcnn_defaults(), {{0}}, n, {0}, {0}};
    cg_decoded dec[MAX_BATCH] = {{0}};
    char paths[MAX_BATCH][1024];
    uint8_t *big = NULL;
    cg_status st = CG_OK;
    if (celeba) {
        for (int i = 0; i < n && st == CG_OK; i++) {
            char rel[128];
            snprintf(rel, sizeof rel, CELEBA_DIR "/%06d.jpg", i + 1);
            data_path(rel, paths[i], sizeof paths[i]);
            cg_image_load(paths[i], 8192, &dec[i]);
            if (!dec[i].ok) st = cg_fail(CG_ERR_IO, "landmarks bench: %s: %s", paths[i], dec[i].detail);
            else c.im[i] = (cg_mtcnn_image){dec[i].pixels, dec[i].w, dec[i].h};
        }
    } else {
        const int w = 640, h = 480;
        char src[1024];
        data_path(MULTIFACE, src, sizeof src);
        cg_image_load(src, 8192, &dec[0]);
        big = malloc((size_t)w * h * 3);
        if (!dec[0].ok) st = cg_fail(CG_ERR_IO, "landmarks bench: %s: %s", src, dec[0].detail);
        else if (!big) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
        if (st == CG_OK) {
            resize(&dec[0], w, h, big);
            snprintf(paths[0], sizeof paths[0], "%s/multiface_640x480.ppm", tmp);
            FILE *f = fopen(paths[0], "wb");
            if (!f) st = cg_fail(CG_ERR_IO, "landmarks bench: cannot write %s", paths[0]);
            else fprintf(f, "P6\n%d %d\n255\n", w, h), fwrite(big, 3, (size_t)w * h, f), fclose(f);
        }
        for (int i = 0; i < n; i++) {
            c.im[i] = (cg_mtcnn_image){big, w, h};
            if (i) memcpy(paths[i], paths[0], sizeof paths[0]);
        }
    }
    if (st == CG_OK) st = check(&c, celeba, &row->check_err);
    row->checked = st == CG_OK || st == CG_ERR_NUMERIC;
    int faces = 0;
    for (int i = 0; i < n; i++) faces += c.counts[i];
    if (st == CG_OK)
        st = bench_time(detect, &c, opt->warmup, opt->reps, BENCH_MIN_REP_S, &row->median_s, &row->min_s, &row->max_s);
    if (st == CG_OK) snprintf(row->status, sizeof row->status, "ok");
    else snprintf(row->status, sizeof row->status, "failed: %s", cg_last_error());
    // facenet-pytorch on the same files (bench_python.c), one detect() call per timed run.
    bench_peer peer = {0};
    char rs[16];
    snprintf(rs, sizeof rs, "%d", opt->reps);
    const char *args[MAX_BATCH + 2] = {rs};
    for (int i = 0; i < n; i++) args[1 + i] = paths[i];
    int have = st == CG_OK && !opt->quick && bench_peer_run(PEER_SCRIPT, args, &peer);
    double ref_faces = bench_peer_get(&peer, "faces");
    if (have) {
        bench_peer_apply(row, "facenet-pytorch", &peer, 1.0);
        row->ref_err = ref_faces - faces;
    } else if (st == CG_OK) {
        bench_peer_skip_note(row, "facenet-pytorch", opt->quick ? "quick shapes" : peer.skip);
    }
    if (opt->log) {
        fprintf(opt->log, "landmarks %-8s %-30s %8.1f images/s, %d faces  %s\n", name, row->shape,
                bench_row_rate(row), faces, row->status);
        if (have)
            fprintf(opt->log, "landmarks %-8s facenet-pytorch %.1f images/s, %.0f faces; clgan/facenet-pytorch rate %.2f\n",
                    name, n / row->ref_median_s, ref_faces, bench_row_ratio(row));
        else if (st == CG_OK) fprintf(opt->log, "landmarks %-8s %s\n", name, row->ref_skip);
    }
    drop_faces(&c);
    for (int i = 0; i < MAX_BATCH; i++) cg_decoded_release(&dec[i]);
    free(big);
    return st == CG_ERR_NOMEM ? st : CG_OK;
}

// The weights: $CLGAN_MTCNN_WEIGHTS or the cache, else the shared data's f32 export converted into tmp
// (tools/convert_mtcnn.py prints no time, so only the file tells whether it worked).
static cg_status weights_path(cg_runtime *rt, const char *tmp, char *buf, size_t len) {
    if (cg_mtcnn_find_weights(rt, "", buf, len) == CG_OK) return CG_OK;
    char f32[1024];
    data_path(F32_DIR, f32, sizeof f32);
    snprintf(buf, len, "%s/mtcnn.safetensors", tmp);
    const char *args[] = {"--f32", f32, buf, NULL};
    bench_peer peer;
    bench_peer_run(CONVERT_SCRIPT, args, &peer);
    if (!exists(buf))
        return cg_fail(CG_ERR_IO, "landmarks bench: no MTCNN weights ($CLGAN_MTCNN_WEIGHTS, the cache) and %s could "
                                  "not convert %s: %s",
                       CONVERT_SCRIPT, f32, peer.last[0] ? peer.last : peer.skip);
    return CG_OK;
}

static cg_status run_landmarks(cg_runtime *rt, int device_index, const bench_options *opt, bench_report *rep) {
    char tmp[] = "/tmp/clgan_bench_landmarks_XXXXXX", weights[1100];
    if (!mkdtemp(tmp)) return cg_fail(CG_ERR_IO, "landmarks bench: no temporary folder");
    cg_mtcnn *m = NULL;
    cg_status st = weights_path(rt, tmp, weights, sizeof weights);
    if (st == CG_OK) st = cg_mtcnn_create(rt, weights, &m);
    if (st != CG_OK) {
        bench_row *row = bench_report_add(rep);
        if (row) {
            fill_row(row, rt, device_index, opt, "178x218", 0);
            snprintf(row->status, sizeof row->status, "failed: %s", cg_last_error());
        }
        st = row ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    } else {
        st = run_case(rt, device_index, opt, rep, m, tmp, 1, opt->quick ? 2 : 16);
        if (st == CG_OK) st = run_case(rt, device_index, opt, rep, m, tmp, 0, opt->quick ? 1 : 4);
    }
    cg_mtcnn_free(m);
    char path[1100];
    const char *left[] = {"mtcnn.safetensors", "multiface_640x480.ppm"};
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, left[i]);
        unlink(path);
    }
    rmdir(tmp);
    return st;
}

static int landmarks_available(char *reason, size_t len) {
    char a[1024], b[1024], f32[1024];
    data_path(CELEBA_DIR "/000016.jpg", a, sizeof a);
    data_path(MULTIFACE, b, sizeof b);
    data_path(F32_DIR, f32, sizeof f32);
    const char *w = getenv("CLGAN_MTCNN_WEIGHTS");
    if (!exists(a) || !exists(b)) {
        snprintf(reason, len, "no CelebA images or multiface.jpg under $CLGAN_SHARED_DATA (%s)", a);
        return 0;
    }
    if (!(w && *w && exists(w)) && !exists(f32)) {
        snprintf(reason, len, "no MTCNN weights: set $CLGAN_MTCNN_WEIGHTS or provide %s", f32);
        return 0;
    }
    return 1;
}

const bench_suite bench_suite_landmarks = {
    "landmarks",
    "MTCNN (P-, R-, O-Net) on 16 CelebA images at 178x218 and 4 copies of a 640x480 photo: images/s, against "
    "facenet-pytorch's MTCNN on the CPU in the same run when it is importable",
    landmarks_available,
    run_landmarks,
};
