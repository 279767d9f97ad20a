// test_faceness.c — the face-ness score (metrics/faceness.h) on CelebA faces of
// ../shared/data/celeba_align_fullres_100: the central 128x128 of each image reduced to 64x64 must
// score high, and two negative controls must score far below: uniform noise, and the same faces
// box-blurred twice with radius 8 at 64x64 (one pass still scored 0.30: MTCNN sees through it;
// measured: faces 1.00, noise 0.00, blurred 0.01). The faces and the noise also go through `clgan score --metrics
// faceness` (no Inception weights anywhere), which must agree with the library. MTCNN weights are
// converted at test time from $CLGAN_SHARED_DATA/mtcnn_facenet_pytorch/f32.
#include "cli_test_util.h"
#include "faceness.h"
#include "image_loader.h"
#include "train.h"

#include <cJSON.h>

#define DIR "test-faceness-out" // under the build folder, like the other CLI tests (cli_setup makes it)
#define N 100
#define SIDE 64
#define CROP 128
#define BLUR 8
#define BLUR_PASSES 2
#define PIX (SIDE * SIDE * 3)

static uint8_t faces[N][PIX], noise[N][PIX], blurred[N][PIX];

static cg_status fill(void *user, int64_t i, cg_image *img) {
    uint8_t(*set)[PIX] = user;
    *img = (cg_image){SIDE, SIDE, 3, set[i], NULL};
    return CG_OK;
}

// The central CROP x CROP of a 178x218 image, averaged over 2x2 blocks.
static int load_face(const char *data, int i, uint8_t *out) {
    char path[1024];
    snprintf(path, sizeof path, "%s/celeba_align_fullres_100/img_align_celeba/%06d.jpg", data, i + 1);
    cg_decoded d;
    cg_image_load(path, 4096, &d);
    int ok = d.ok && d.w >= CROP && d.h >= CROP;
    int x0 = (d.w - CROP) / 2, y0 = (d.h - CROP) / 2, f = CROP / SIDE;
    for (int y = 0; ok && y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0;
                for (int dy = 0; dy < f; dy++)
                    for (int dx = 0; dx < f; dx++) s += d.pixels[((size_t)(y0 + y * f + dy) * d.w + x0 + x * f + dx) * 3 + c];
                out[(y * SIDE + x) * 3 + c] = (uint8_t)((s + f * f / 2) / (f * f));
            }
    cg_decoded_release(&d);
    return ok;
}

// Box blur of radius r, the window clipped at the borders.
static void box_blur(const uint8_t *in, uint8_t *out, int r) {
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0, n = 0;
                for (int v = y - r; v <= y + r; v++)
                    for (int u = x - r; u <= x + r; u++)
                        if (v >= 0 && v < SIDE && u >= 0 && u < SIDE) s += in[(v * SIDE + u) * 3 + c], n++;
                out[(y * SIDE + x) * 3 + c] = (uint8_t)((s + n / 2) / n);
            }
}

static cg_faceness_result score(cg_mtcnn *m, uint8_t (*set)[PIX], const char *what) {
    cg_mtcnn_params p = cg_mtcnn_defaults();
    cg_image_source *src = NULL;
    cg_faceness_result r = {0};
    CHECK_OK(cg_source_callback(N, fill, set, NULL, &src));
    if (src) CHECK_OK(cg_faceness(m, &p, src, CG_RESIZE_BILINEAR, 0, NULL, &r, NULL));
    cg_source_close(src);
    printf("%-8s faceness %.3f (%lld of %lld), mean probability %.3f\n", what, r.share, (long long)r.faces,
           (long long)r.n, r.mean_prob);
    return r;
}

static void write_pngs(const char *dir, uint8_t (*set)[PIX]) {
    static float chw[PIX];
    mkdir(dir, 0755);
    for (int i = 0; i < N; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%06d.png", dir, i);
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < SIDE * SIDE; k++) chw[c * SIDE * SIDE + k] = set[i][k * 3 + c] / 127.5f - 1.0f;
        CHECK_OK(cg_image_write_png(path, chw, 3, SIDE, SIDE));
    }
}

// `clgan score --metrics faceness` on a folder; the JSON's share and mean probability.
static int score_cli(const char *images, const char *json, double *share, double *mean) {
    int rc = cli_run(DIR "/err.txt", "score", "--images", images, "--metrics", "faceness", "--out", json, NULL);
    CHECK(rc == 0, "clgan score --metrics faceness --images %s -> %d", images, rc);
    char *text = rc == 0 ? cli_slurp(json, NULL) : NULL;
    cJSON *j = text ? cJSON_Parse(text) : NULL, *f = cJSON_GetObjectItem(j, "faceness"),
          *p = cJSON_GetObjectItem(j, "faceness_mean_prob");
    int ok = cJSON_IsNumber(f) && cJSON_IsNumber(p);
    CHECK(ok, "%s has faceness and faceness_mean_prob", json);
    if (ok) *share = f->valuedouble, *mean = p->valuedouble;
    cJSON_Delete(j);
    free(text);
    return ok;
}

int main(void) {
    const char *data = getenv("CLGAN_SHARED_DATA"), *src = getenv("CLGAN_SOURCE_DIR"), *py = getenv("CLGAN_PYTHON");
    cli_setup(DIR);
    if (!data || !src || !py) test_skip("data", "CLGAN_SHARED_DATA, CLGAN_SOURCE_DIR or CLGAN_PYTHON unset");
    char script[1024], f32[1024];
    snprintf(script, sizeof script, "%s/tools/convert_mtcnn.py", src);
    snprintf(f32, sizeof f32, "%s/mtcnn_facenet_pytorch/f32", data);
    const char *weights = DIR "/mtcnn.safetensors";
    if (test_run("/dev/null", NULL, NULL, py, script, "--f32", f32, weights, (char *)NULL) != 0)
        test_skip("data", "cannot convert the MTCNN weights from %s", f32);
    for (int i = 0; i < N; i++)
        if (!load_face(data, i, faces[i])) test_skip("data", "cannot read CelebA image %d under %s", i + 1, data);
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < PIX; k++) noise[i][k] = (uint8_t)((seed = seed * 1664525u + 1013904223u) >> 24);
        static uint8_t tmp[PIX];
        box_blur(faces[i], blurred[i], BLUR);
        for (int k = 1; k < BLUR_PASSES; k++) memcpy(tmp, blurred[i], PIX), box_blur(tmp, blurred[i], BLUR);
    }

    cg_runtime *rt = test_runtime();
    cg_mtcnn *m = NULL;
    CHECK_OK(cg_mtcnn_create(rt, weights, &m));
    if (m) {
        cg_faceness_result rf = score(m, faces, "faces"), rn = score(m, noise, "noise"),
                           rb = score(m, blurred, "blurred");
        CHECK(rf.n == N && rn.n == N && rb.n == N, "every image scored");
        CHECK(rf.share >= 0.8, "real faces: faceness %.3f < 0.8", rf.share);
        CHECK(rn.share <= 0.2 && rb.share <= 0.2, "negative controls: noise %.3f, blurred %.3f (limit 0.2)", rn.share,
              rb.share);
        CHECK(rf.mean_prob > rn.mean_prob + 0.5 && rf.mean_prob > rb.mean_prob + 0.5,
              "mean probability: faces %.3f, noise %.3f, blurred %.3f", rf.mean_prob, rn.mean_prob, rb.mean_prob);

        // The CLI, weights from $CLGAN_MTCNN_WEIGHTS and no Inception weights: the same numbers.
        setenv("CLGAN_MTCNN_WEIGHTS", weights, 1);
        setenv("CLGAN_INCEPTION_WEIGHTS", DIR "/no-inception.safetensors", 1);
        write_pngs(DIR "/faces", faces);
        write_pngs(DIR "/noise", noise);
        double share = NAN, mean = NAN;
        if (score_cli(DIR "/faces", DIR "/faces.json", &share, &mean))
            CHECK(fabs(share - rf.share) < 1e-9 && fabs(mean - rf.mean_prob) < 1e-5,
                  "CLI faces: %.6f, %.6f; library %.6f, %.6f", share, mean, rf.share, rf.mean_prob);
        CHECK(cli_contains(DIR "/err.txt", "faceness"), "progress on stderr");
        if (score_cli(DIR "/noise", DIR "/noise.json", &share, &mean))
            CHECK(fabs(share - rn.share) < 1e-9 && fabs(mean - rn.mean_prob) < 1e-5,
                  "CLI noise: %.6f, %.6f; library %.6f, %.6f", share, mean, rn.share, rn.mean_prob);
        // Missing weights name where they were looked for.
        setenv("CLGAN_MTCNN_WEIGHTS", DIR "/missing.safetensors", 1);
        int rc = cli_run(DIR "/err.txt", "score", "--images", DIR "/noise", "--metrics", "faceness", "--out",
                         DIR "/x.json", NULL);
        CHECK(rc == 1 && cli_contains(DIR "/err.txt", DIR "/missing.safetensors"), "missing MTCNN weights: rc %d", rc);
        cg_mtcnn_free(m);
    }
    cg_runtime_free(rt);
    if (!test_failures) test_rm_rf(DIR);
    return test_finish("faceness");
}
