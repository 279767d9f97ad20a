// test_cli_messages.c — bad input found early and named plainly (issue 14, item 9): a UTF-8 BOM
// in an INI file is accepted, a NUL byte is named with its line, an option passed on as a
// configuration value is named in its error; sample and score refuse a generator, stats Inception
// weights, with a NaN or Inf (naming file and tensor); sample refuses non-finite --z values and an
// --out of another image format and creates the folder of its output file; score checks --ref and
// the image count for IS before the Inception pass; an image folder's entries that are folders or
// dangling links are skipped with a warning; landmarks outside the image are refused, and file
// names with control or non-UTF-8 bytes are escaped in the preprocess report and on the terminal.
#include "cli_test_util.h"

#include <cJSON.h>
#include <stdint.h>

#define OUT "test-cli-messages-out"
#define CKPT OUT "/run/checkpoint.safetensors"

static const char *err = OUT "/err.txt";

static void expect(int want, const char *needle, const char *unwanted, const char *what, const char *const *args) {
    int rc = cli_wait(cli_spawn(err, args));
    char *text = cli_slurp(err, NULL);
    CHECK(rc == want, "%s: exit %d, expected %d (stderr: %.600s)", what, rc, want, text ? text : "");
    CHECK(text && strstr(text, needle), "%s: stderr lacks '%s': %.600s", what, needle, text ? text : "");
    CHECK(!unwanted || !text || !strstr(text, unwanted), "%s: stderr says '%s': %.600s", what, unwanted,
          text ? text : "");
    free(text);
}

#define EXPECT(want, needle, unwanted, ...)                                                                  \
    expect(want, needle, unwanted, #__VA_ARGS__, (const char *const[]){__VA_ARGS__, NULL})

static void config_bytes(void) {
    const char bom[] = "\xEF\xBB\xBF[synth]\nn = 2\nseed = 4\n";
    CHECK(cli_spit(OUT "/bom.ini", bom, sizeof bom - 1), "writing bom.ini");
    EXPECT(0, "wrote 2 faces", "syntax error", "synth", "--config", OUT "/bom.ini", "--out", OUT "/bom");
    const char nul[] = "[synth]\nn = 2\nseed\0 = 4\n";
    CHECK(cli_spit(OUT "/nul.ini", nul, sizeof nul - 1), "writing nul.ini");
    EXPECT(2, "NUL byte at line 3", "too long", "synth", "--config", OUT "/nul.ini", "--out", OUT "/nul");
    CHECK(!cli_exists(OUT "/nul"), "synth ran on a configuration with a NUL byte");
}

static void writes_z(const char *path, float bad) {
    struct {
        char magic[6];
        uint8_t major, minor;
        uint16_t len;
        char header[118];
    } head = {"\x93NUMPY", 1, 0, 118, ""};
    snprintf(head.header, sizeof head.header, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 16), }");
    size_t used = strlen(head.header);
    memset(head.header + used, ' ', sizeof head.header - used);
    head.header[sizeof head.header - 1] = '\n';
    float z[32] = {0};
    z[16 + 5] = bad;
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(&head, 1, 128, f);
    fwrite(z, sizeof z[0], 32, f);
    fclose(f);
}

static void sample_messages(void) {
    EXPECT(2, "not another image format", NULL, "sample", "--checkpoint", CKPT, "--out", OUT "/grid.jpg");
    CHECK(!cli_exists(OUT "/grid.jpg"), "sample --out grid.jpg created %s", OUT "/grid.jpg");
    EXPECT(0, "device", "error", "sample", "--checkpoint", CKPT, "--n", "4", "--out", OUT "/new dir/sub/grid.png");
    CHECK(cli_exists(OUT "/new dir/sub/grid.png"), "sample did not create the folder of its --out");
    writes_z(OUT "/nan.npy", NAN);
    EXPECT(1, "nan.npy: latent vector 1, element 5 is NaN", NULL, "sample", "--checkpoint", CKPT, "--z",
           OUT "/nan.npy", "--out", OUT "/nan.png");
    writes_z(OUT "/inf.npy", -INFINITY);
    EXPECT(1, "element 5 is infinite", NULL, "sample", "--checkpoint", CKPT, "--z", OUT "/inf.npy", "--out",
           OUT "/inf.png");
    writes_z(OUT "/ok.npy", 0.5f);
    EXPECT(0, "device", "error", "sample", "--checkpoint", CKPT, "--z", OUT "/ok.npy", "--out", OUT "/ok.png");
}

// score and stats: the weights here do not exist (their error names convert_inception_weights.py),
// so an error about anything else was found before the Inception network was even opened. Too few
// images for IS is a usage error (2), an input that cannot be read a failure (1).
static void score_messages(void) {
    const char *none = OUT "/no-weights.safetensors";
    EXPECT(2, "(from --resize) [score] resize = \"fuzzy\"", "--set", "stats", "--images", OUT "/imgs", "--resize",
           "fuzzy", "--out", OUT "/s.npz");
    EXPECT(2, "(from --batch) [score] batch = 0", "--set", "score", "--images", OUT "/imgs", "--batch", "0",
           "--metrics", "is");
    EXPECT(2, "IS needs at least 10 images", "convert_inception_weights", "score", "--images", OUT "/imgs", "--weights", none,
           "--metrics", "is", "--out", OUT "/s.json");
    EXPECT(2, "IS needs at least 10 images", "convert_inception_weights", "score", "--images", OUT "/faces.cgds", "--n", "9",
           "--weights", none, "--metrics", "is", "--out", OUT "/s.json");
    EXPECT(1, OUT "/absent-ref", "convert_inception_weights", "score", "--images", OUT "/faces.cgds", "--weights", none,
           "--metrics", "fid", "--ref", OUT "/absent-ref", "--out", OUT "/s.json");
    EXPECT(1, OUT "/absent.npz", "convert_inception_weights", "score", "--images", OUT "/faces.cgds", "--weights", none,
           "--metrics", "fid", "--ref", OUT "/absent.npz", "--out", OUT "/s.json");
    // A folder named like an image and a dangling link are skipped with a warning; the run goes on
    // (to the missing weights).
    mkdir(OUT "/imgs/folder.jpg", 0755);
    CHECK(symlink("nowhere.png", OUT "/imgs/dangling.png") == 0, "symlink");
    EXPECT(1, "skipping '" OUT "/imgs/folder.jpg': a folder", NULL, "stats", "--images", OUT "/imgs", "--weights",
           none, "--out", OUT "/s.npz");
    CHECK(cli_contains(err, "skipping '" OUT "/imgs/dangling.png': a dangling link") && cli_contains(err, none),
          "the dangling link is not reported, or the run stopped before the weights");
}

// Whether text is UTF-8 without control bytes other than tab and newline (what a JSON file and a
// terminal can take).
static int clean_utf8(const unsigned char *s) {
    while (*s) {
        int n = *s < 0x80 ? 1 : *s >= 0xC2 && *s <= 0xDF ? 2 : *s >= 0xE0 && *s <= 0xEF ? 3 : *s >= 0xF0 && *s <= 0xF4 ? 4 : 0;
        if (!n || (n == 1 && ((*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7f))) return 0;
        for (int k = 1; k < n; k++)
            if ((s[k] & 0xC0) != 0x80) return 0;
        s += n;
    }
    return 1;
}

// Landmark rows far outside the 178x218 image (x50, -5000, a negative y) are refused and reported,
// not kept as frontal faces cropped from the wrong place; a listed name with a control byte and a
// byte that is not UTF-8 reaches the report and the terminal escaped.
static void preprocess_messages(void) {
    int rc = cli_run(err, "synth", "--n", "6", "--seed", "5", "--out", OUT "/lm", NULL);
    CHECK(rc == 0, "synth -> %d", rc);
    const char *list = OUT "/lm/list_landmarks_align_celeba.txt";
    FILE *f = fopen(list, "w");
    if (!f) return;
    fprintf(f, "7\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x "
               "rightmouth_y\n");
    fprintf(f, "000001.jpg 3650 5400 5250 5450 3900 6700 3500 7500 4900 7600\n");
    fprintf(f, "000002.jpg -5000 108 105 109 78 134 70 150 98 152\n");
    fprintf(f, "000003.jpg 73 -108 105 -109 78 -134 70 -150 98 -152\n");
    for (int i = 4; i <= 6; i++) fprintf(f, "%06d.jpg 73 108 105 109 89 134 75 150 103 150\n", i);
    fprintf(f, "bad\x01name\xff.jpg 73 108 105 109 89 134 75 150 103 150\n");
    fclose(f);
    const char *log = OUT "/pp.log"; // the summary goes to stdout
    rc = test_run(log, log, NULL, cli_exe, "preprocess", "--input", OUT "/lm", "--out", OUT "/lm.cgds", "--set",
                  "preprocess.size=32", "--set", "preprocess.sunglasses=false", "--set",
                  "preprocess.reject_sheets=false", (char *)NULL);
    CHECK(rc == 0, "preprocess of rows with bad landmarks -> %d", rc);
    char *text = cli_slurp(log, NULL);
    CHECK(text && clean_utf8((const unsigned char *)text) && strstr(text, "bad\\x01name\\xff.jpg"),
          "the terminal got the raw name, or not the escaped one: %.800s", text ? text : "");
    free(text);
    char *report = cli_slurp(OUT "/lm_report.json", NULL);
    CHECK(report && clean_utf8((const unsigned char *)report), "the report is missing or not clean UTF-8");
    cJSON *j = report ? cJSON_Parse(report) : NULL;
    cJSON *items = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "problems"), "items");
    int outside = 0, escaped = 0;
    for (cJSON *it = items ? items->child : NULL; it; it = it->next) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(it, "name"));
        const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(it, "detail"));
        if (name && detail && strstr(detail, "outside the 178x218") &&
            (!strcmp(name, "000001.jpg") || !strcmp(name, "000002.jpg") || !strcmp(name, "000003.jpg")))
            outside++;
        escaped += name && !strcmp(name, "bad\\x01name\\xff.jpg");
    }
    CHECK(outside == 3, "%d of the 3 rows outside the image are reported", outside);
    CHECK(escaped == 1, "the bad name is not in the report, escaped");
    cJSON *out = cJSON_GetObjectItem(j, "output");
    double kept = cJSON_GetNumberValue(cJSON_GetObjectItem(out, "images"));
    CHECK(kept >= 1 && kept <= 3, "%g images kept, want the good rows only (at most 3)", kept);
    cJSON_Delete(j);
    free(report);
}

// A copy of the checkpoint with a NaN in its first tensor (by the header's order); that tensor's
// name into name.
static int poison_checkpoint(const char *from, const char *to, char *name, size_t len) {
    size_t n = 0;
    char *d = cli_slurp(from, &n);
    uint64_t hlen = 0;
    if (!d || n < 8) return free(d), 0;
    memcpy(&hlen, d, 8);
    char *json = hlen < n ? strndup(d + 8, (size_t)hlen) : NULL;
    cJSON *h = json ? cJSON_Parse(json) : NULL, *t = h ? h->child : NULL;
    while (t && !strcmp(t->string, "__metadata__")) t = t->next;
    cJSON *off = t ? cJSON_GetObjectItem(t, "data_offsets") : NULL;
    int ok = off && cJSON_GetArraySize(off) == 2;
    if (ok) {
        size_t at = 8 + (size_t)hlen + (size_t)cJSON_GetNumberValue(cJSON_GetArrayItem(off, 0));
        float nan = NAN;
        ok = at + 4 <= n;
        if (ok) memcpy(d + at, &nan, 4), snprintf(name, len, "%s", t->string);
    }
    ok = ok && cli_spit(to, d, n);
    cJSON_Delete(h);
    free(json);
    free(d);
    return ok;
}

// Weights with a NaN are refused naming the file and the tensor, before anything runs on them.
static void nan_weights(void) {
    char tensor[256] = "";
    CHECK(poison_checkpoint(CKPT, OUT "/nan-ckpt.safetensors", tensor, sizeof tensor), "writing a NaN checkpoint");
    char want[400];
    snprintf(want, sizeof want, "tensor %s holds NaN", tensor);
    EXPECT(1, want, NULL, "sample", "--checkpoint", OUT "/nan-ckpt.safetensors", "--out", OUT "/nan-ckpt.png");
    CHECK(!cli_exists(OUT "/nan-ckpt.png"), "sample wrote images from a generator with a NaN");
    EXPECT(1, want, NULL, "score", "--checkpoint", OUT "/nan-ckpt.safetensors", "--n", "10", "--metrics", "is",
           "--out", OUT "/nan.json");
    float w[4] = {0.1f, INFINITY, 0.2f, 0.3f};
    int shape[1] = {4};
    cg_st_tensor t = {"Conv2d_1a_3x3.conv.weight", shape, 1, w};
    CHECK_OK(cg_safetensors_write(OUT "/inf-weights.safetensors", &t, 1, NULL, NULL, 0));
    EXPECT(1, "--weights " OUT "/inf-weights.safetensors: tensor Conv2d_1a_3x3.conv.weight holds Inf at element 1",
           NULL, "stats", "--images", OUT "/imgs", "--weights", OUT "/inf-weights.safetensors", "--out", OUT "/w.npz");
    CHECK(!cli_exists(OUT "/w.npz"), "stats wrote statistics with non-finite weights");
}

int main(void) {
    cli_setup(OUT);
    if (!cli_make_run_setup(OUT, "24", 2)) return test_finish("cli_messages");
    int rc = cli_run(err, "train", "--config", OUT "/base.ini", NULL);
    CHECK(rc == 0, "train -> %d", rc);
    rc = cli_run(err, "sample", "--checkpoint", CKPT, "--n", "3", "--out", OUT "/imgs", NULL);
    CHECK(rc == 0, "sample into a folder -> %d", rc);
    config_bytes();
    sample_messages();
    score_messages();
    preprocess_messages();
    nan_weights();
    return test_finish("cli_messages");
}
