// test_score_paths.c — `clgan stats` and `clgan score` with paths that hold a space, quotes and
// non-ASCII letters (image folder, --weights, --out, --ref): stats writes the .npz, score --metrics
// fid against it exits 0 and writes its JSON. Inception is the random-weights stand-in of
// test_score_cli (score_cli_reference.py, converted; skipped as torch / pytorch-fid when missing).
#include "cli_test_util.h"
#include "train.h"

#include <cJSON.h>
#include <math.h>

#define OUT "test-score-paths-out/it's \"quoted\" dür"
#define IMGS OUT "/images 'ä' \"b\""
#define WEIGHTS OUT "/inception \"w\" é.safetensors"
#define NPZ OUT "/ref stats ü.npz"
#define JSON OUT "/score \"ö\" 1.json"

static const char *err = OUT "/err.txt";

static int make_inception(void) { return test_inception_stand_in(OUT "/inception ü.pth", WEIGHTS); }

static void write_images(int n) {
    CHECK(mkdir(IMGS, 0755) == 0, "cannot create %s", IMGS);
    float *img = malloc(sizeof(float) * 3 * 32 * 32);
    for (int i = 0; i < n && img; i++) {
        cg_rng_uniform_host((cg_rng){11, (uint64_t)i}, 0, img, 3 * 32 * 32);
        for (int k = 0; k < 3 * 32 * 32; k++) img[k] = 2 * img[k] - 1;
        char path[600];
        snprintf(path, sizeof path, "%s/img %d ß.png", IMGS, i);
        CHECK_OK(cg_image_write_png(path, img, 3, 32, 32));
    }
    free(img);
}

int main(void) {
    mkdir("test-score-paths-out", 0755);
    cli_setup(OUT);
    write_images(6);
    if (make_inception() != 0) return test_finish("score_paths");
    int rc = cli_run(err, "stats", "--images", IMGS, "--weights", WEIGHTS, "--out", NPZ, NULL);
    char *text = cli_slurp(err, NULL);
    CHECK(rc == 0 && cli_exists(NPZ), "stats -> %d, %s %s: %.600s", rc, NPZ, cli_exists(NPZ) ? "written" : "missing",
          text ? text : "");
    free(text);
    rc = cli_run(err, "score", "--images", IMGS, "--weights", WEIGHTS, "--metrics", "fid", "--ref", NPZ, "--out", JSON,
                 NULL);
    text = cli_slurp(err, NULL);
    CHECK(rc == 0, "score --metrics fid --ref '%s' -> %d: %.600s", NPZ, rc, text ? text : "");
    free(text);
    char *json = cli_slurp(JSON, NULL);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    cJSON *fid = j ? cJSON_GetObjectItem(j, "fid") : NULL;
    // The same images as the reference: a finite FID, near 0 up to the square root of a
    // rank-deficient sigma (6 images).
    CHECK(cJSON_IsNumber(fid) && isfinite(fid->valuedouble) && fid->valuedouble > -1e-3, "%s: fid %s (file: %.300s)",
          JSON, cJSON_IsNumber(fid) ? "not finite or negative" : "missing", json ? json : "(none)");
    if (cJSON_IsNumber(fid)) printf("  FID of the images against their own statistics: %.3g\n", fid->valuedouble);
    cJSON_Delete(j);
    free(json);
    return test_finish("score_paths");
}
