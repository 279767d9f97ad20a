// test_preprocess_detect.c — `clgan preprocess` with landmarks = detect and the shipped frontal and
// sunglasses settings (configs/preprocess.ini) on the half-resolution CelebA images rows 1-1,000,
// against the same command given the official landmark list: the frontal filter's keep/reject
// decision per image from the detected list (what the pipeline read: the file the run wrote next to
// its dataset) against the decision from the official landmarks (an image without a detected face
// counts as rejected). Both runs' frontal stage counts in their JSON reports must equal the
// decisions recomputed here, so the decisions compared are the pipeline's. The agreement (0.892
// measured; the issue aims at 0.9) must be >= 0.87 and at most 0.01 below the agreement of
// facenet-pytorch's MTCNN landmarks on the same files (0.885; tests/reference/
// mtcnn_accuracy_reference.py): the shortfall is the detector's, not the pipeline's (docs/landmarks.md).
// Negative controls: pairing each image's detected decision with the next image's official one,
// and keeping every image, agree far less. The kept fraction on all 10,000 images is a measurement
// in docs/landmarks.md.
#include "cJSON.h"
#include "cli_test_util.h"
#include "preprocess.h"

// All 1,000 under ASan+UBSan too: on a subset the agreement and facenet-pytorch's differ by its
// sampling, not by the detector.
#define N_IMG 1000
#define N_IMG_S "1000"
// A test_tmpdir folder: other build folders' test runs may run this test at the same time.
static char dir[1024];
// dir/name, in one of 8 rotating buffers (for the call it is passed to).
static const char *at(const char *name) {
    static char buf[8][1100];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

// The "kept" count of stage `name` in a preprocess JSON report; -1 when absent.
static long stage_kept(const char *report, const char *name) {
    size_t len;
    char *text = cli_slurp(report, &len);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    long kept = -1;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(root, "stages")) {
        const cJSON *n = cJSON_GetObjectItem(s, "stage"), *k = cJSON_GetObjectItem(s, "kept");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name) && cJSON_IsNumber(k)) kept = (long)k->valuedouble;
    }
    cJSON_Delete(root);
    free(text);
    return kept;
}

int main(void) {
    const char *data = getenv("CLGAN_SHARED_DATA"), *src = getenv("CLGAN_SOURCE_DIR"), *py = getenv("CLGAN_PYTHON");
    if (test_tmpdir(dir, sizeof dir, "preprocess_detect") != 0) return 1;
    cli_setup(dir);
    if (!data || !src || !py) test_skip("data", "CLGAN_SHARED_DATA, CLGAN_SOURCE_DIR or CLGAN_PYTHON unset");
    char conv[1024], f32[1024], half[1024], official[1024], config[1024], wset[1200], lset[1100];
    snprintf(conv, sizeof conv, "%s/tools/convert_mtcnn.py", src);
    snprintf(f32, sizeof f32, "%s/mtcnn_facenet_pytorch/f32", data);
    snprintf(half, sizeof half, "%s/celeba_align_halfres_89x109_10k/img_align_celeba_89x109", data);
    snprintf(official, sizeof official, "%s/celeba_landmarks_subset/list_landmarks_align_celeba_000001-001000.txt",
             data);
    snprintf(config, sizeof config, "%s/configs/preprocess.ini", src);
    char weights[1100], err[1100];
    snprintf(weights, sizeof weights, "%s", at("mtcnn.safetensors"));
    snprintf(err, sizeof err, "%s", at("err.txt"));
    if (test_run("/dev/null", NULL, NULL, py, conv, "--f32", f32, weights, (char *)NULL) != 0)
        test_skip("data", "cannot convert the MTCNN weights from %s", f32);
    if (!cli_exists(half) || !cli_exists(official)) test_skip("data", "%s or %s missing", half, official);
    snprintf(wset, sizeof wset, "landmarks.weights=%s", weights);
    snprintf(lset, sizeof lset, "preprocess.landmarks=%s", official);

    int rc = cli_run(err, "preprocess", "--config", config, "--input", half, "--out", at("det.cgds"), "--limit",
                     N_IMG_S, "--set", "preprocess.landmarks=detect", "--set", wset, "--set",
                     "preprocess.reject_sheets=false", NULL);
    CHECK(rc == 0, "preprocess with landmarks = detect: exit %d (see %s)", rc, err);
    rc = cli_run(err, "preprocess", "--config", config, "--input", half, "--out", at("off.cgds"), "--limit", N_IMG_S,
                 "--set", lset, "--set", "preprocess.reject_sheets=false", NULL);
    CHECK(rc == 0, "preprocess with the official landmarks: exit %d (see %s)", rc, err);

    cg_pp_params p;
    cg_pp_params_default(&p);
    cg_celeba_set det, off;
    cg_celeba_paths pd = {half, at("det_landmarks.txt"), NULL, NULL}, po = {half, official, NULL, NULL};
    if (cg_celeba_read(&pd, &det) != CG_OK || cg_celeba_read(&po, &off) != CG_OK) {
        CHECK(0, "reading the landmark lists: %s", cg_last_error());
        return test_finish("preprocess_detect");
    }
    CHECK(det.n >= N_IMG && off.n >= N_IMG, "%zu and %zu entries", det.n, off.n);
    int n = det.n >= N_IMG && off.n >= N_IMG ? N_IMG : 0;
    int agree = 0, shifted = 0, keep_all = 0, kept_det = 0, kept_off = 0, no_face = 0;
    int both_keep = 0, only_det = 0, only_off = 0;
    char *dec_off = calloc(N_IMG + 1, 1);
    for (int i = 0; i < n; i++) {
        const cg_celeba_entry *d = &det.entries[i], *o = &off.entries[i];
        CHECK(!strcmp(d->name, o->name) && o->has_landmarks, "entry %d: %s / %s", i, d->name, o->name);
        cg_frontal_metrics mo = cg_frontal_measure(&o->lm), md;
        dec_off[i] = (char)cg_frontal_pass(&mo, &p);
        int dd = 0;
        if (d->has_landmarks) {
            md = cg_frontal_measure(&d->lm);
            dd = cg_frontal_pass(&md, &p);
        } else no_face++;
        kept_det += dd, kept_off += dec_off[i];
        agree += dd == dec_off[i];
        keep_all += dec_off[i];
        both_keep += dd && dec_off[i], only_det += dd && !dec_off[i], only_off += !dd && dec_off[i];
    }
    for (int i = 0; i < n; i++) {
        const cg_celeba_entry *d = &det.entries[i];
        int dd = 0;
        if (d->has_landmarks) {
            cg_frontal_metrics md = cg_frontal_measure(&d->lm);
            dd = cg_frontal_pass(&md, &p);
        }
        shifted += dd == dec_off[(i + 1) % n];
    }
    long rep_det = stage_kept(at("det_report.json"), "frontal"), rep_off = stage_kept(at("off_report.json"), "frontal");
    CHECK(rep_det == kept_det, "detect run: the report's frontal stage kept %ld, recomputed %d", rep_det, kept_det);
    CHECK(rep_off == kept_off, "official run: the report's frontal stage kept %ld, recomputed %d", rep_off, kept_off);
    double a = n ? (double)agree / n : 0, as = n ? (double)shifted / n : 0, ak = n ? (double)keep_all / n : 0;
    printf("rows 1-%d: frontal kept %d from detected landmarks (%d without a face), %d from the official ones\n", n,
           kept_det, no_face, kept_off);
    printf("both keep %d, only detected keeps %d, only official keeps %d, both reject %d\n", both_keep, only_det,
           only_off, n - both_keep - only_det - only_off);
    printf("agreement %.4f; controls: next image's official decision %.4f, keep every image %.4f\n", a, as, ak);
    CHECK(a >= 0.87, "agreement %.4f < 0.87", a);
    // facenet-pytorch's landmarks of the same files -> the same decisions.
    char script[1024], lim[16];
    snprintf(script, sizeof script, "%s/tests/reference/mtcnn_accuracy_reference.py", src);
    snprintf(lim, sizeof lim, "%d", n);
    const char *argv[] = {py, script, half, lim, NULL}, *pydeps = getenv("CLGAN_PYDEPS");
    int prc = test_spawn(argv, at("ref.txt"), NULL, pydeps ? pydeps : "");
    if (prc == 77) test_skip_part(test_missing_dep(py, pydeps, "facenet-pytorch"), "facenet-pytorch not importable");
    else {
        CHECK(prc == 0, "the reference script failed (see above)");
        FILE *f = fopen(at("ref.txt"), "r");
        int rows = 0, ref_agree = 0;
        for (int i = 0; f && i < n; i++, rows++) {
            char name[256];
            int found = 0, dr = 0;
            if (fscanf(f, "%255s %d", name, &found) != 2) break;
            if (found) {
                float v[11];
                for (int k = 0; k < 11; k++)
                    if (fscanf(f, "%f", &v[k]) != 1) v[k] = 0;
                cg_landmarks lm; // 89x109 pixels -> the 178x218 frame, as mtcnn_list.c writes
                for (int k = 0; k < CG_LM_POINTS; k++)
                    lm.x[k] = (v[k] + 0.5f) * 2.0f - 0.5f, lm.y[k] = (v[5 + k] + 0.5f) * 2.0f - 0.5f;
                cg_frontal_metrics mr = cg_frontal_measure(&lm);
                dr = cg_frontal_pass(&mr, &p);
            }
            ref_agree += dr == dec_off[i];
        }
        if (f) fclose(f);
        CHECK(rows == n, "%d reference rows, expected %d", rows, n);
        double ar = n ? (double)ref_agree / n : 0;
        printf("facenet-pytorch's landmarks: agreement %.4f\n", ar);
        CHECK(a >= ar - 0.01, "agreement %.4f more than 0.01 below facenet-pytorch's %.4f", a, ar);
    }
    CHECK(as < a - 0.1 && ak < a - 0.1, "controls %.4f and %.4f not far below %.4f", as, ak, a);
    free(dec_off);
    cg_celeba_free(&det);
    cg_celeba_free(&off);
    if (!test_failures) test_rm_rf(dir);
    return test_finish("preprocess_detect");
}
