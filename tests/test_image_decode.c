// test_image_decode.c — JPEG decoding (cg_image_load) against PIL (tests/reference/jpeg_reference.py)
// on real CelebA JPEGs (100 full-size 178x218, 40 half-size 89x109 with odd sides, two MTCNN test
// photos) and on re-encodings of one of them (progressive, greyscale, Adobe CMYK, 4:4:4 and 4:2:2
// chroma). Built with libjpeg-turbo, clgan's decoder is the one PIL uses with the same defaults, so
// every pixel must match (CMYK within 1: PIL rounds its CMYK->RGB product differently); built with
// stb_image only, the mean difference per image must stay within a fraction of a level. Negative
// control: stb_image's decode (cg_image_load_stb) is not bit-identical to PIL on these files, so the
// exact comparison can fail. Also: the thread pool gives the serial decode's pixels, and damaged
// entropy data (an end marker inside the scan) is refused as corrupt with libjpeg's message.
#include "image_loader.h"
#include "test_util.h"

#define N_FULL 100
#define N_HALF 40
#define N_MAX 160

static const char *variant_names[] = {"progressive.jpg", "grey.jpg", "cmyk.jpg", "s444.jpg", "s422.jpg"};
#define N_VARIANTS 5

typedef struct {
    int w, h;
    uint8_t *px;
} ref_image;

static int read_refs(const char *path, ref_image *refs, int n) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int k = 0;
    for (; k < n; k++) {
        if (fscanf(f, "%d %d", &refs[k].w, &refs[k].h) != 2 || fgetc(f) != '\n') break;
        size_t bytes = (size_t)refs[k].w * (size_t)refs[k].h * 3;
        refs[k].px = malloc(bytes);
        if (!refs[k].px || fread(refs[k].px, 1, bytes, f) != bytes) break;
    }
    fclose(f);
    return k;
}

// Largest and mean absolute difference of d against r; -1 when the sizes differ.
static int compare(const cg_decoded *d, const ref_image *r, double *mean) {
    *mean = 0;
    if (!d->ok || d->w != r->w || d->h != r->h) return -1;
    size_t n = (size_t)r->w * (size_t)r->h * 3;
    int worst = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        int a = abs((int)d->pixels[i] - (int)r->px[i]);
        sum += a;
        if (a > worst) worst = a;
    }
    *mean = sum / (double)n;
    return worst;
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = b ? (size_t)n : 0;
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n, "cannot write %s", path);
    if (f) fclose(f);
}

// An end-of-image marker in the middle of the entropy-coded data: libjpeg warns (premature end of
// the data segment) and clgan refuses the file.
static void test_damaged(const char *src, const char *dir, int libjpeg) {
    size_t n;
    uint8_t *b = slurp(src, &n);
    CHECK(b != NULL, "cannot read %s", src);
    if (!b) return;
    size_t sos = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (b[i] == 0xff && b[i + 1] == 0xda) sos = i;
    CHECK(sos > 0 && sos + 200 < n, "%s: no scan", src);
    size_t mid = sos + (n - sos) / 2;
    b[mid] = 0xff;
    b[mid + 1] = 0xd9;
    char path[1100];
    snprintf(path, sizeof path, "%s/damaged.jpg", dir);
    spit(path, b, n);
    free(b);
    cg_decoded d;
    cg_image_load(path, 8192, &d);
    if (libjpeg)
        CHECK(!d.ok && d.issue == CG_ISSUE_CORRUPT && strstr(d.detail, "libjpeg"),
              "an end marker inside the scan: ok %d, issue %d, '%s'", d.ok, (int)d.issue, d.detail);
    else
        printf("stb_image on the damaged file: ok %d '%s'\n", d.ok, d.ok ? "" : d.detail);
    cg_decoded_release(&d);
}

int main(void) {
    const char *data = getenv("CLGAN_SHARED_DATA"), *src = getenv("CLGAN_SOURCE_DIR"), *py = getenv("CLGAN_PYTHON");
    if (!src || !py) test_skip("data", "CLGAN_SOURCE_DIR or CLGAN_PYTHON unset (run through ctest)");
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/celeba_align_fullres_100/img_align_celeba/000001.jpg", data ? data : "");
    if (!data || access(probe, R_OK) != 0) test_skip("data", "no CelebA JPEGs at %s", probe);
    const char *decoder = cg_image_jpeg_decoder();
    int libjpeg = !strncmp(decoder, "libjpeg", 7);
    printf("JPEG decoder: %s\n", decoder);

    char dir[512], script[1100], refs_path[1100];
    if (test_tmpdir(dir, sizeof dir, "image_decode") != 0) return 1;
    snprintf(script, sizeof script, "%s/tests/reference/jpeg_reference.py", src);
    snprintf(refs_path, sizeof refs_path, "%s/refs.bin", dir);
    int rc = test_run(NULL, NULL, NULL, py, script, "variants", probe, dir, (char *)NULL);
    if (rc == 77) test_skip("pil", "jpeg_reference.py: PIL not importable by %s (Debian python3-pil)", py);
    CHECK(rc == 0, "jpeg_reference.py variants exited with %d", rc);

    static char paths[N_MAX][1100];
    int n = 0;
    for (int i = 1; i <= N_FULL; i++)
        snprintf(paths[n++], sizeof paths[0], "%s/celeba_align_fullres_100/img_align_celeba/%06d.jpg", data, i);
    for (int i = 1; i <= N_HALF; i++)
        snprintf(paths[n++], sizeof paths[0], "%s/celeba_align_halfres_89x109_10k/img_align_celeba_89x109/%06d.jpg",
                 data, i);
    snprintf(paths[n++], sizeof paths[0], "%s/mtcnn_ipazc_testimage/ivan.jpg", data);
    snprintf(paths[n++], sizeof paths[0], "%s/mtcnn_ipazc_testimage/no-faces.jpg", data);
    int first_variant = n;
    for (int v = 0; v < N_VARIANTS; v++) snprintf(paths[n++], sizeof paths[0], "%s/%s", dir, variant_names[v]);

    const char *argv[N_MAX + 5] = {py, script, "decode", refs_path};
    for (int i = 0; i < n; i++) argv[4 + i] = paths[i];
    argv[4 + n] = NULL;
    rc = test_spawn(argv, NULL, NULL, NULL);
    CHECK(rc == 0, "jpeg_reference.py decode exited with %d", rc);
    static ref_image refs[N_MAX];
    int got = read_refs(refs_path, refs, n);
    CHECK(got == n, "read %d of %d reference images", got, n);

    static cg_decoded dec[N_MAX];
    int exact = 0, stb_exact = 0;
    double worst_mean = 0, stb_worst_mean = 0;
    for (int i = 0; i < got; i++) {
        cg_image_load(paths[i], 8192, &dec[i]);
        CHECK(dec[i].ok, "%s: %s", paths[i], dec[i].detail);
        double mean;
        int worst = compare(&dec[i], &refs[i], &mean);
        int cmyk = i == first_variant + 2;
        if (mean > worst_mean) worst_mean = mean;
        exact += worst == 0;
        if (libjpeg)
            CHECK(worst >= 0 && worst <= (cmyk ? 1 : 0), "%s: max |clgan - PIL| = %d (mean %.4f)", paths[i], worst,
                  mean);
        else // stb_image's IDCT and chroma upsampling differ from libjpeg's by rounding
            CHECK(worst >= 0 && mean <= (cmyk ? 2.0 : 1.0), "%s: mean |stb - PIL| = %.4f (max %d)", paths[i], mean,
                  worst);
        cg_decoded s;
        cg_image_load_stb(paths[i], 8192, &s);
        if (s.ok) {
            worst = compare(&s, &refs[i], &mean);
            stb_exact += worst == 0;
            if (mean > stb_worst_mean) stb_worst_mean = mean;
        }
        cg_decoded_release(&s);
    }
    printf("%d of %d images bit-identical to PIL (worst mean difference %.4f); stb_image: %d (worst mean %.4f)\n",
           exact, got, worst_mean, stb_exact, stb_worst_mean);
    // Negative control: a decoder with another IDCT/upsampling does not pass the exact comparison.
    CHECK(stb_exact < got, "stb_image matches PIL bit for bit on all %d images: the comparison cannot fail", got);
    CHECK(stb_worst_mean > 0.01, "stb_image's worst mean difference from PIL is only %.4f", stb_worst_mean);

    // The pool (2 threads) gives the serial decode's pixels.
    cg_decode_pool *pool = NULL;
    CHECK_OK(cg_decode_pool_create(2, 8192, &pool));
    if (pool) {
        static cg_decoded par[N_MAX];
        for (int i = 0; i < got; i++) CHECK_OK(cg_decode_pool_submit(pool, paths[i], &par[i]));
        int same = 0;
        for (int i = 0; i < got; i++) {
            cg_decode_pool_wait(pool, &par[i]);
            same += par[i].ok && dec[i].ok && par[i].w == dec[i].w && par[i].h == dec[i].h &&
                    !memcmp(par[i].pixels, dec[i].pixels, (size_t)dec[i].w * (size_t)dec[i].h * 3);
            cg_decoded_release(&par[i]);
        }
        CHECK(same == got, "the pool decoded %d of %d images as the serial decode did", same, got);
        cg_decode_pool_free(pool);
    }
    test_damaged(probe, dir, libjpeg);
    for (int i = 0; i < got; i++) {
        cg_decoded_release(&dec[i]);
        free(refs[i].px);
    }
    test_rm_rf(dir);
    return test_finish("image_decode");
}
