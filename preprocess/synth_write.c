// synth_write.c — writes a synthetic face dataset in CelebA's layout (JPEGs rendered on worker
// threads, then the landmark, attribute, partition and ground-truth lists written atomically), and
// contact sheets of faces as PNG.
#include "synth.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stb/stb_image_resize.h>
#include <stb/stb_image_write.h>

#include "encode.h"

#define W CG_SYNTH_W
#define H CG_SYNTH_H
#define MAX_THREADS 64
#define MAX_FACES 999999 // six-digit file names

typedef struct {
    float yaw, roll;
    int sunglasses, eyeglasses;
    int marks[10];
    signed char attrs[CG_SYNTH_N_ATTRS];
} face_record;

typedef struct {
    const char *dir;
    int n;
    uint64_t seed;
    face_record *rec;
    atomic_int next, done, failed;
    pthread_mutex_t lock;
    cg_status st;
    char err[1024];
} job;

static cg_status write_jpeg(const char *path, const uint8_t *rgb, cg_membuf *buf) {
    buf->len = 0;
    buf->oom = 0;
    if (!stbi_write_jpg_to_func(cg_membuf_put, buf, W, H, 3, rgb, CG_SYNTH_JPEG_QUALITY) || buf->oom)
        return cg_fail(CG_ERR_NOMEM, "cannot encode '%s': out of memory", path);
    FILE *fp = fopen(path, "wb");
    if (!fp) return cg_fail(CG_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    size_t put = fwrite(buf->data, 1, buf->len, fp);
    int err = errno;
    if (fclose(fp) != 0 && put == buf->len) {
        put = 0;
        err = errno;
    }
    if (put != buf->len) return cg_fail(CG_ERR_IO, "cannot write '%s': %s", path, strerror(err ? err : EIO));
    return CG_OK;
}

static void record(face_record *r, const cg_synth_face *f, const cg_synth_landmarks *m) {
    r->yaw = f->yaw_deg;
    r->roll = f->roll_deg;
    r->sunglasses = f->sunglasses;
    r->eyeglasses = f->eyeglasses;
    for (int k = 0; k < 10; k++) r->marks[k] = (int)lrintf(m->pt[k]);
    int a[CG_SYNTH_N_ATTRS];
    cg_synth_attributes(f, a);
    for (int k = 0; k < CG_SYNTH_N_ATTRS; k++) r->attrs[k] = (signed char)a[k];
}

static void fail_job(job *j, cg_status st) {
    pthread_mutex_lock(&j->lock);
    if (!atomic_load(&j->failed)) {
        j->st = st;
        snprintf(j->err, sizeof j->err, "%s", cg_last_error());
        atomic_store(&j->failed, 1);
    }
    pthread_mutex_unlock(&j->lock);
}

static void *worker(void *arg) {
    job *j = arg;
    uint8_t *rgb = malloc((size_t)W * H * 3);
    float *scratch = malloc(CG_SYNTH_SCRATCH_FLOATS * sizeof(float));
    cg_membuf buf = {0};
    if (!rgb || !scratch) fail_job(j, cg_fail(CG_ERR_NOMEM, "synth: out of memory for a render buffer"));
    char path[4096];
    while (!atomic_load(&j->failed)) {
        int i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n) break;
        cg_synth_face f;
        cg_synth_landmarks m;
        cg_synth_sample(j->seed, (uint64_t)i, &f);
        cg_synth_render(&f, rgb, scratch, &m);
        record(&j->rec[i], &f, &m);
        snprintf(path, sizeof path, "%s/img_align_celeba/%06d.jpg", j->dir, i + 1);
        cg_status st = write_jpeg(path, rgb, &buf);
        if (st != CG_OK) {
            fail_job(j, st);
            break;
        }
        atomic_fetch_add(&j->done, 1);
    }
    free(buf.data);
    free(scratch);
    free(rgb);
    return NULL;
}

typedef void (*row_fn)(FILE *f, const job *j);

static void landmark_rows(FILE *f, const job *j) {
    fprintf(f,
            "%d\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x "
            "rightmouth_y\n",
            j->n);
    for (int i = 0; i < j->n; i++) {
        fprintf(f, "%06d.jpg", i + 1);
        for (int k = 0; k < 10; k++) fprintf(f, "%5d", j->rec[i].marks[k]);
        fputc('\n', f);
    }
}

static void attr_rows(FILE *f, const job *j) {
    fprintf(f, "%d\n", j->n);
    for (int k = 0; k < CG_SYNTH_N_ATTRS; k++)
        fprintf(f, "%s%s", cg_synth_attr_names[k], k + 1 < CG_SYNTH_N_ATTRS ? " " : "\n");
    for (int i = 0; i < j->n; i++) {
        fprintf(f, "%06d.jpg", i + 1);
        for (int k = 0; k < CG_SYNTH_N_ATTRS; k++) fprintf(f, " %2d", j->rec[i].attrs[k]);
        fputc('\n', f);
    }
}

static void partition_rows(FILE *f, const job *j) {
    // contiguous blocks like CelebA's: 80% train, 10% validation, 10% test
    for (int i = 0; i < j->n; i++)
        fprintf(f, "%06d.jpg %d\n", i + 1,
                (int64_t)i * 10 < (int64_t)j->n * 8   ? 0
                : (int64_t)i * 10 < (int64_t)j->n * 9 ? 1
                                                      : 2);
}

static void truth_rows(FILE *f, const job *j) {
    fprintf(f, "image yaw_deg roll_deg sunglasses eyeglasses frontal\n");
    for (int i = 0; i < j->n; i++) {
        const face_record *r = &j->rec[i];
        fprintf(f, "%06d.jpg %.3f %.3f %d %d %d\n", i + 1, r->yaw, r->roll, r->sunglasses, r->eyeglasses,
                CG_SYNTH_IS_FRONTAL(r->yaw, r->roll) ? 1 : 0);
    }
}

static cg_status write_list(const job *j, const char *name, row_fn rows) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", j->dir, name);
    cg_atomic_file *af;
    CG_TRY(cg_atomic_open(path, &af));
    rows(cg_atomic_stream(af), j);
    return cg_atomic_commit(af);
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

cg_status cg_synth_write(const char *dir, int n, uint64_t seed, int threads, FILE *progress_log) {
    if (!dir || !*dir) return cg_fail(CG_ERR_INVALID_ARG, "synth: no output folder given");
    if (n < 1 || n > MAX_FACES)
        return cg_fail(CG_ERR_INVALID_ARG, "synth: the number of faces must be 1..%d, not %d", MAX_FACES, n);
    char img_dir[4096];
    snprintf(img_dir, sizeof img_dir, "%s/img_align_celeba", dir);
    CG_TRY(cg_mkdir_p(img_dir));
    if (access(img_dir, W_OK) != 0) return cg_fail(CG_ERR_IO, "cannot write into '%s': %s", img_dir, strerror(errno));
    if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads > n) threads = n;

    job j = {.dir = dir, .n = n, .seed = seed, .st = CG_OK};
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    atomic_init(&j.failed, 0);
    j.rec = calloc((size_t)n, sizeof *j.rec);
    if (!j.rec) return cg_fail(CG_ERR_NOMEM, "synth: out of memory for %d face records", n);
    pthread_mutex_init(&j.lock, NULL);
    pthread_t tid[MAX_THREADS];
    int started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, &j) != 0) break;
    if (started == 0) worker(&j); // no thread could start: render here
    cg_progress *prog = progress_log ? cg_progress_begin("synth", (uint64_t)n, "img", progress_log) : NULL;
    // this thread reports progress until the workers are done or one of them failed
    while (started > 0 && atomic_load(&j.done) < n && !atomic_load(&j.failed)) {
        if (prog) cg_progress_update(prog, (uint64_t)atomic_load(&j.done), NULL);
        sleep_s(0.05);
    }
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    if (prog) {
        cg_progress_update(prog, (uint64_t)atomic_load(&j.done), NULL);
        cg_progress_end(prog);
    }
    pthread_mutex_destroy(&j.lock);
    cg_status st = atomic_load(&j.failed) ? cg_fail(j.st, "%s", j.err) : CG_OK;
    if (st == CG_OK) st = write_list(&j, "list_landmarks_align_celeba.txt", landmark_rows);
    if (st == CG_OK) st = write_list(&j, "list_attr_celeba.txt", attr_rows);
    if (st == CG_OK) st = write_list(&j, "list_eval_partition.txt", partition_rows);
    if (st == CG_OK) st = write_list(&j, "synth_truth.txt", truth_rows);
    free(j.rec);
    return st;
}

cg_status cg_synth_sheet(const char *png_path, int n, uint64_t seed, int cols, int tile_w) {
    if (!png_path || !*png_path) return cg_fail(CG_ERR_INVALID_ARG, "synth: no contact sheet path given");
    if (n < 1 || n > 4096) return cg_fail(CG_ERR_INVALID_ARG, "synth: a contact sheet holds 1..4096 faces, not %d", n);
    if (cols < 1) cols = (int)ceil(sqrt((double)n));
    int tw = tile_w > 0 && tile_w < W ? tile_w : W, th = tw == W ? H : (int)lrint((double)tw * H / W);
    int rows = (n + cols - 1) / cols, sw = cols * tw, sh = rows * th;
    uint8_t *sheet = calloc((size_t)sw * sh * 3, 1), *rgb = malloc((size_t)W * H * 3),
            *tile = malloc((size_t)tw * th * 3);
    float *scratch = malloc(CG_SYNTH_SCRATCH_FLOATS * sizeof(float));
    cg_status st = CG_OK;
    if (!sheet || !rgb || !tile || !scratch)
        st = cg_fail(CG_ERR_NOMEM, "synth: out of memory for a %dx%d contact sheet", sw, sh);
    for (int i = 0; st == CG_OK && i < n; i++) {
        cg_synth_face f;
        cg_synth_sample(seed, (uint64_t)i, &f);
        cg_synth_render(&f, rgb, scratch, NULL);
        const uint8_t *src = rgb;
        if (tw != W) {
            stbir_resize_uint8(rgb, W, H, 0, tile, tw, th, 0, 3);
            src = tile;
        }
        int x0 = (i % cols) * tw, y0 = (i / cols) * th;
        for (int y = 0; y < th; y++)
            memcpy(sheet + 3 * ((size_t)(y0 + y) * sw + x0), src + 3 * (size_t)y * tw, 3 * (size_t)tw);
    }
    if (st == CG_OK) st = cg_png_write(png_path, sheet, sw, sh, 3);
    free(scratch);
    free(tile);
    free(rgb);
    free(sheet);
    return st;
}
