// test_landmarks_cli.c — `clgan landmarks` and `clgan preprocess` with landmarks = detect on
// ../shared/data images (ivan.jpg, multiface.jpg, no-faces.jpg, CelebA 000001-000010): the list reads
// back through the CelebA reader with a row per image with a face, no-faces.jpg reported and left
// out, the CelebA landmarks near the official ones (normalised mean error over the inter-ocular
// distance); the weights lookup order ([landmarks] weights, $CLGAN_MTCNN_WEIGHTS, the cache) and
// the missing-weights error; usage errors. Weights are converted at test time from
// $CLGAN_SHARED_DATA/mtcnn_facenet_pytorch/f32.
#include "cli_test_util.h"
#include "preprocess.h"

#include <math.h>

#define DIR "test-landmarks-cli-out" // under the build folder, like the other CLI tests (cli_setup makes it)
#define N_CELEBA 10

static int copy_in(const char *data, const char *rel, const char *name) {
    char from[1024], to[1024];
    snprintf(from, sizeof from, "%s/%s", data, rel);
    snprintf(to, sizeof to, DIR "/imgs/%s", name);
    return cli_copy(from, to);
}

// Mean distance over the five points / the official inter-ocular distance.
static double nme(const cg_landmarks *got, const cg_landmarks *ref) {
    double iod = hypot(ref->x[CG_LM_RIGHT_EYE] - ref->x[CG_LM_LEFT_EYE], ref->y[CG_LM_RIGHT_EYE] - ref->y[CG_LM_LEFT_EYE]);
    double s = 0;
    for (int k = 0; k < CG_LM_POINTS; k++) s += hypot(got->x[k] - ref->x[k], got->y[k] - ref->y[k]);
    return s / CG_LM_POINTS / iod;
}

static void check_list(const char *data, const char *list, const char *err) {
    char official[1024];
    snprintf(official, sizeof official, "%s/celeba_landmarks_subset/list_landmarks_align_celeba_000001-001000.txt",
             data);
    cg_celeba_set got, ref;
    cg_celeba_paths pg = {DIR "/imgs", list, NULL, NULL}, pr = {DIR "/imgs", official, NULL, NULL};
    CHECK(cg_celeba_read(&pg, &got) == CG_OK, "%s", cg_last_error());
    CHECK(cg_celeba_read(&pr, &ref) == CG_OK, "%s", cg_last_error());
    CHECK(got.has_landmark_file && got.n_notes == 0 && got.issues.n == 0, "the list reads back cleanly (%d notes)",
          got.n_notes);
    CHECK(got.landmark_rows == N_CELEBA + 2, "%zu rows, expected %d (CelebA, ivan, multiface)", got.landmark_rows,
          N_CELEBA + 2);
    CHECK(cli_contains(err, "no face: no-faces.jpg"), "no-faces.jpg reported");
    double sum = 0, worst = 0;
    int n = 0;
    for (size_t i = 0; i < got.n; i++) {
        const cg_celeba_entry *g = &got.entries[i], *r = NULL;
        for (size_t j = 0; j < ref.n && !r; j++)
            if (!strcmp(ref.entries[j].name, g->name)) r = &ref.entries[j];
        if (!g->has_file || !r) continue;
        if (!strcmp(g->name, "no-faces.jpg")) CHECK(!g->has_landmarks, "no-faces.jpg has no row");
        else CHECK(g->has_landmarks, "%s has a row", g->name);
        if (!r->has_landmarks || !g->has_landmarks) continue;
        double e = nme(&g->lm, &r->lm);
        sum += e, worst = fmax(worst, e), n++;
    }
    CHECK(n == N_CELEBA, "%d CelebA images compared", n);
    printf("normalised mean error on %d CelebA images: mean %.4f, worst %.4f\n", n, n ? sum / n : NAN, worst);
    CHECK(n && sum / n < 0.1, "mean NME %.4f >= 0.1", n ? sum / n : NAN);
    CHECK(worst < 0.2, "worst NME %.4f >= 0.2", worst);
    cg_celeba_free(&got);
    cg_celeba_free(&ref);
}

int main(void) {
    const char *data = getenv("CLGAN_SHARED_DATA"), *src = getenv("CLGAN_SOURCE_DIR"), *py = getenv("CLGAN_PYTHON");
    const char *cache = getenv("CLGAN_CACHE_DIR");
    cli_setup(DIR);
    if (!data || !src || !py || !cache) test_skip("data", "CLGAN_SHARED_DATA, CLGAN_SOURCE_DIR, CLGAN_PYTHON or "
                                                          "CLGAN_CACHE_DIR unset");
    char script[1024], f32[1024], cached[1024];
    snprintf(script, sizeof script, "%s/tools/convert_mtcnn.py", src);
    snprintf(f32, sizeof f32, "%s/mtcnn_facenet_pytorch/f32", data);
    snprintf(cached, sizeof cached, "%s/mtcnn.safetensors", cache);
    const char *weights = DIR "/mtcnn.safetensors", *err = DIR "/err.txt", *list = DIR "/out/list.txt";
    if (test_run("/dev/null", NULL, NULL, py, script, "--f32", f32, weights, (char *)NULL) != 0)
        test_skip("data", "cannot convert the MTCNN weights from %s", f32);
    mkdir(DIR "/imgs", 0755);
    mkdir(DIR "/one", 0755);
    int ok = copy_in(data, "mtcnn_ipazc_testimage/ivan.jpg", "ivan.jpg") &&
             copy_in(data, "mtcnn_ipazc_testimage/no-faces.jpg", "no-faces.jpg") &&
             copy_in(data, "mtcnn_facenet_pytorch/multiface.jpg", "multiface.jpg");
    for (int i = 1; ok && i <= N_CELEBA; i++) {
        char rel[256], name[32];
        snprintf(name, sizeof name, "%06d.jpg", i);
        snprintf(rel, sizeof rel, "celeba_align_fullres_100/img_align_celeba/%s", name);
        ok = copy_in(data, rel, name);
    }
    if (!ok) test_skip("data", "cannot copy the test images from %s", data);
    ok = cli_copy(DIR "/imgs/000001.jpg", DIR "/one/000001.jpg");
    CHECK(ok, "copy");

    // Usage errors and --help.
    CHECK(cli_run(err, "landmarks", "--help", NULL) == 0, "--help");
    CHECK(cli_run(err, "landmarks", "--input", DIR "/imgs", NULL) == 2, "no --out: usage error");
    CHECK(cli_run(err, "landmarks", "--input", DIR "/imgs", "--out", list, "--bogus", NULL) == 2, "unknown option");
    CHECK(cli_run(err, "landmarks", "--input", DIR "/imgs", "--out", DIR "/imgs/list.txt", NULL) == 2,
          "an output among the images");

    // Weights: none anywhere -> the error names all three places.
    unsetenv("CLGAN_MTCNN_WEIGHTS");
    unlink(cached);
    int rc = cli_run(err, "landmarks", "--input", DIR "/one", "--out", list, NULL);
    CHECK(rc == 1 && cli_contains(err, "[landmarks] weights (unset)") && cli_contains(err, "$CLGAN_MTCNN_WEIGHTS (unset)") &&
              cli_contains(err, cached) && cli_contains(err, "convert_mtcnn.py"),
          "missing weights: rc %d, the error names where it looked", rc);
    CHECK(!cli_exists(list), "no list written without weights");
    // $CLGAN_MTCNN_WEIGHTS wins over the cache, [landmarks] weights over $CLGAN_MTCNN_WEIGHTS.
    CHECK(cg_mkdir_p(cache) == CG_OK && cli_copy(weights, cached), "copy the weights into the cache");
    setenv("CLGAN_MTCNN_WEIGHTS", DIR "/missing.safetensors", 1);
    rc = cli_run(err, "landmarks", "--input", DIR "/one", "--out", list, NULL);
    CHECK(rc == 1 && cli_contains(err, DIR "/missing.safetensors"), "$CLGAN_MTCNN_WEIGHTS before the cache: rc %d", rc);
    rc = cli_run(err, "landmarks", "--input", DIR "/one", "--out", list, "--set", "landmarks.weights=" DIR
                 "/mtcnn.safetensors", NULL);
    CHECK(rc == 0 && cli_exists(list), "[landmarks] weights before $CLGAN_MTCNN_WEIGHTS: rc %d", rc);
    unsetenv("CLGAN_MTCNN_WEIGHTS");

    // The folder, weights from the cache.
    rc = cli_run(err, "landmarks", "--input", DIR "/imgs", "--out", list, "--boxes", DIR "/out/boxes.csv", NULL);
    CHECK(rc == 0, "clgan landmarks -> %d", rc);
    CHECK(cli_contains(err, "images/s"), "the rate is reported");
    CHECK(cli_temp_files(DIR "/out") == 0, "no temporary files left");
    if (rc == 0) check_list(data, list, err);
    CHECK(cli_contains(DIR "/out/boxes.csv", "\nivan.jpg,") && !cli_contains(DIR "/out/boxes.csv", "no-faces"),
          "boxes.csv rows");

    // preprocess with landmarks = detect on the same folder.
    rc = cli_run(err, "preprocess", "--input", DIR "/imgs", "--out", DIR "/pp/faces.cgds", "--set",
                 "preprocess.landmarks=detect", "--set", "preprocess.size=32", "--set", "preprocess.reject_sheets=false",
                 NULL);
    CHECK(rc == 0, "clgan preprocess landmarks = detect -> %d", rc);
    CHECK(cli_exists(DIR "/pp/faces_landmarks.txt"), "the detected list is kept next to the dataset");
    cg_dataset *ds = NULL;
    if (rc == 0 && cg_dataset_open(DIR "/pp/faces.cgds", 1, &ds) == CG_OK) {
        uint32_t kept = cg_dataset_count(ds);
        printf("preprocess with detected landmarks: kept %u of %d images\n", kept, N_CELEBA + 3);
        CHECK(kept >= N_CELEBA / 2 && kept <= N_CELEBA + 2, "kept %u of %d", kept, N_CELEBA + 3);
        cg_dataset_close(ds);
    } else CHECK(0, "cannot open the dataset: %s", cg_last_error());
    unlink(cached);
    if (!test_failures) test_rm_rf(DIR);
    return test_finish("landmarks_cli");
}
