// test_mtcnn.c — the MTCNN detector against facenet-pytorch's MTCNN (tests/reference/mtcnn_reference.py)
// on ivan.jpg, multiface.jpg, two CelebA images and no-faces.jpg: the same number of faces, boxes and
// landmarks within 1 px, probabilities within 1e-4. Both sides get the same decoded pixels (PPM).
// Weights are converted at test time from $CLGAN_SHARED_DATA/mtcnn_facenet_pytorch/f32.
#include "image_loader.h"
#include "mtcnn.h"
#include "test_util.h"

#include <math.h>

#define N_IMG 5

int main(void) {
    const char *data = getenv("CLGAN_SHARED_DATA"), *src = getenv("CLGAN_SOURCE_DIR");
    const char *py = getenv("CLGAN_PYTHON"), *pydeps = getenv("CLGAN_PYDEPS");
    if (!data || !src || !py) test_skip("data", "CLGAN_SHARED_DATA, CLGAN_SOURCE_DIR or CLGAN_PYTHON unset");
    const char *rel[N_IMG] = {"mtcnn_ipazc_testimage/ivan.jpg", "mtcnn_facenet_pytorch/multiface.jpg",
                              "celeba_align_fullres_100/img_align_celeba/000001.jpg",
                              "celeba_align_fullres_100/img_align_celeba/000002.jpg", "mtcnn_ipazc_testimage/no-faces.jpg"};
    char dir[128], path[1024], weights[1100], script[1100], f32[1100], out[1100];
    if (test_tmpdir(dir, sizeof dir, "mtcnn") != 0) return 1;
    snprintf(weights, sizeof weights, "%s/mtcnn.safetensors", dir);
    snprintf(script, sizeof script, "%s/tools/convert_mtcnn.py", src);
    snprintf(f32, sizeof f32, "%s/mtcnn_facenet_pytorch/f32", data);
    if (test_run("/dev/null", NULL, NULL, py, script, "--f32", f32, weights, (char *)NULL) != 0)
        test_skip("data", "cannot convert the MTCNN weights from %s", f32);
    cg_decoded dec[N_IMG];
    cg_mtcnn_image im[N_IMG];
    char ppm[N_IMG][1100];
    const char *argv[N_IMG + 3] = {py, NULL};
    snprintf(path, sizeof path, "%s/tests/reference/mtcnn_reference.py", src);
    argv[1] = path;
    for (int i = 0; i < N_IMG; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", data, rel[i]);
        cg_image_load(p, 8192, &dec[i]);
        if (!dec[i].ok) test_skip("data", "cannot load %s: %s", p, dec[i].detail);
        im[i] = (cg_mtcnn_image){dec[i].pixels, dec[i].w, dec[i].h};
        snprintf(ppm[i], sizeof ppm[i], "%s/%d.ppm", dir, i);
        FILE *f = fopen(ppm[i], "wb");
        fprintf(f, "P6\n%d %d\n255\n", dec[i].w, dec[i].h);
        fwrite(dec[i].pixels, 3, (size_t)dec[i].w * dec[i].h, f);
        fclose(f);
        argv[2 + i] = ppm[i];
    }
    argv[N_IMG + 2] = NULL;
    cg_runtime *rt = test_runtime();
    cg_mtcnn *m = NULL;
    CHECK(cg_mtcnn_create(rt, weights, &m) == CG_OK, "see above");
    if (!m) return test_finish("mtcnn");
    cg_face *faces[N_IMG];
    int counts[N_IMG];
    cg_mtcnn_params p = cg_mtcnn_defaults();
    CHECK(cg_mtcnn_detect(m, &p, im, N_IMG, faces, counts) == CG_OK, "see above");
    CHECK(counts[0] >= 1 && counts[N_IMG - 1] == 0, "ivan.jpg: %d faces, no-faces.jpg: %d", counts[0], counts[N_IMG - 1]);
    snprintf(out, sizeof out, "%s/ref.txt", dir);
    int rc = test_spawn(argv, out, NULL, pydeps ? pydeps : "");
    if (rc == 77) test_skip_part(test_missing_dep(py, pydeps, "facenet-pytorch"), "facenet-pytorch MTCNN not importable");
    else {
        CHECK(rc == 0, "see above");
        FILE *f = fopen(out, "r");
        for (int i = 0; f && i < N_IMG; i++) {
            char name[1100];
            int n = -1;
            CHECK(fscanf(f, "%1099s %d", name, &n) == 2, "see above");
            CHECK(n == counts[i], "see above");
            if (n != counts[i]) fprintf(stderr, "%s: %d faces, reference %d\n", rel[i], counts[i], n);
            for (int j = 0; j < n; j++) {
                float r[15];
                for (int k = 0; k < 15; k++) CHECK(fscanf(f, "%f", &r[k]) == 1, "see above");
                float best = INFINITY;
                const cg_face *b = NULL;
                for (int q = 0; q < counts[i]; q++) {
                    float d = fabsf(faces[i][q].box[0] - r[0]) + fabsf(faces[i][q].box[1] - r[1]);
                    if (d < best) best = d, b = &faces[i][q];
                }
                if (!b) continue;
                float dbox = 0, dlm = 0;
                for (int k = 0; k < 4; k++) dbox = fmaxf(dbox, fabsf(b->box[k] - r[k]));
                for (int k = 0; k < 5; k++)
                    dlm = fmaxf(dlm, fmaxf(fabsf(b->lm.x[k] - r[5 + k]), fabsf(b->lm.y[k] - r[10 + k])));
                float dp = fabsf(b->prob - r[4]);
                if (dbox > 1 || dlm > 1 || dp > 1e-4f)
                    fprintf(stderr, "%s face %d: box off %.3f px, landmarks %.3f px, prob %.2g\n", rel[i], j, dbox,
                            dlm, dp);
                CHECK(dbox <= 1.0f, "see above");
                CHECK(dlm <= 1.0f, "see above");
                CHECK(dp <= 1e-4f, "see above");
            }
        }
        if (f) fclose(f);
    }
    for (int i = 0; i < N_IMG; i++) free(faces[i]), cg_decoded_release(&dec[i]);
    cg_mtcnn_free(m);
    cg_runtime_free(rt);
    test_rm_rf(dir);
    return test_finish("mtcnn");
}
