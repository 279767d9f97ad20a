// test_preprocess_robust.c — broken inputs never stop a run: in a small CelebA-layout folder with
// good images, a corrupt, a truncated JPEG and PNG, an empty file, a text file named .jpg, a PNG
// whose header claims 20000x20000, a JPEG whose frame header claims 30000x30000, an image above
// max_side, a listed image with no file, an image without a landmark row, malformed and duplicate
// landmark rows, CRLF lines and a wrong count line, the pipeline completes, writes the good images,
// and counts and names every problem (in the result and in the JSON report). Also: attribute and
// partition lists (partition = train), a plain folder (no landmark filters), and the CLI's exit
// codes (0 ok, 1 failure, 2 configuration error).
#include "preprocess.h"
#include "test_util.h"

#include <cJSON.h>
#include <ftw.h>
#include <stb_image_write.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[1024], imgs[1200];

static void write_bytes(const char *name, const void *data, size_t len) {
    char p[1400];
    snprintf(p, sizeof p, "%s/%s", imgs, name);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL, "cannot create %s", p);
    if (!f) return;
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}

static char *read_back(const char *name, size_t *len) {
    char p[1400], *data = NULL;
    snprintf(p, sizeof p, "%s/%s", imgs, name);
    CHECK_OK(cg_read_file(p, &data, len));
    return data;
}

// A textured grey image: no dark eye boxes, so it passes the sunglasses filter.
static void write_good(const char *name, int w, int h, int png) {
    uint8_t *px = malloc((size_t)w * (size_t)h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                size_t at = ((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c;
                px[at] = (uint8_t)(110 + (x * 7 + y * 3 + c * 11) % 40);
            }
    char p[1400];
    snprintf(p, sizeof p, "%s/%s", imgs, name);
    int ok = png ? stbi_write_png(p, w, h, 3, px, w * 3) : stbi_write_jpg(p, w, h, 3, px, 90);
    CHECK(ok, "cannot write %s", p);
    free(px);
}

static void write_list(const char *name, const char *text) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    CHECK_OK(cg_write_file_atomic(p, text, strlen(text)));
}

#define FRONTAL_LM " 69 111 107 111 88 135 72 152 104 152"

static void make_dataset(void) {
    snprintf(imgs, sizeof imgs, "%s/img_align_celeba", dir);
    CHECK_OK(cg_mkdir_p(imgs));
    for (int i = 1; i <= 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "%06d.jpg", i);
        write_good(name, 178, 218, 0);
    }
    write_good("000012.jpg", 178, 218, 0); // no landmark row
    write_good("000014.jpg", 300, 300, 0); // above max_side = 256
    size_t len;
    char *jpg = read_back("000001.jpg", &len);
    if (jpg && len > 400) {
        char *bad = malloc(len);
        memcpy(bad, jpg, len);
        for (size_t k = 4; k < 300; k++) bad[k] = (char)(k * 37 + 11); // trashed header, markers kept later
        write_bytes("000007.jpg", bad, len);
        write_bytes("000008.jpg", jpg, len * 6 / 10); // truncated
        free(bad);
    }
    free(jpg);
    jpg = read_back("000001.jpg", &len);
    for (size_t k = 2; jpg && k + 9 < len; k++)
        if ((uint8_t)jpg[k] == 0xff && (uint8_t)jpg[k + 1] == 0xc0) { // frame header: claim 30000x30000
            jpg[k + 5] = jpg[k + 7] = 0x75;
            jpg[k + 6] = jpg[k + 8] = 0x30;
            write_bytes("000018.jpg", jpg, len);
            break;
        }
    free(jpg);
    write_bytes("000009.jpg", "", 0);
    write_bytes("000010.jpg", "this is not an image\n", 21);
    static const uint8_t huge_png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                       0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 8, 2, 0, 0, 0, 0x12, 0x34, 0x56, 0x78,
                                       0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    write_bytes("000011.png", huge_png, sizeof huge_png);
    write_good("000015.png", 178, 218, 1);
    char *png = read_back("000015.png", &len);
    if (png) write_bytes("000015.png", png, len / 2);
    free(png);
    write_bytes(".hidden.jpg", "x", 1); // hidden files are not listed
    char sub[1400];
    snprintf(sub, sizeof sub, "%s/folder.jpg", imgs); // nor are folders
    CHECK_OK(cg_mkdir_p(sub));

    // CRLF, a count line that disagrees, a header, rows for a subset, malformed and duplicate rows.
    char lm[4096];
    size_t o = (size_t)snprintf(lm, sizeof lm, "99\r\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
                                               "leftmouth_x leftmouth_y rightmouth_x rightmouth_y\r\n");
    const char *rows[] = {"000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg", "000005.jpg", "000006.jpg",
                          "000007.jpg", "000008.jpg", "000009.jpg", "000010.jpg", "000011.png", "000013.jpg",
                          "000014.jpg", "000015.png", "000018.jpg"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        o += (size_t)snprintf(lm + o, sizeof lm - o, "%s" FRONTAL_LM "\r\n", rows[i]);
    o += (size_t)snprintf(lm + o, sizeof lm - o, "000016.jpg 1 2 3\r\n000017.jpg 69 x 107 111 88 135 72 152 104 152\r\n"
                                                 "000001.jpg" FRONTAL_LM "\r\n\r\n");
    write_list("list_landmarks_align_celeba.txt", lm);
    write_list("list_attr_celeba.txt", "3\nEyeglasses Male \n000001.jpg  1 -1\n000002.jpg -1  1\n000003.jpg -1 -1\n");
    write_list("list_eval_partition.txt", "000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n000004.jpg 0\n000005.jpg 0\n"
                                          "000006.jpg 0\n000007.jpg 0\n000008.jpg 0\n");
}

static const cg_issue *find_issue(const cg_pp_result *r, const char *name) {
    for (size_t i = 0; i < r->issues.n; i++)
        if (!strcmp(r->issues.items[i].name, name)) return &r->issues.items[i];
    return NULL;
}

static void expect_issue(const cg_pp_result *r, const char *name, cg_issue_kind kind) {
    const cg_issue *is = find_issue(r, name);
    CHECK(is && is->kind == kind, "%s: expected a '%s' problem, got %s", name, cg_issue_kind_name(kind),
          is ? cg_issue_kind_name(is->kind) : "none");
}

static const cg_pp_stage *stage(const cg_pp_result *r, const char *name) {
    for (int i = 0; i < r->n_stages; i++)
        if (!strcmp(r->stages[i].name, name)) return &r->stages[i];
    return NULL;
}

static void expect_stage(const cg_pp_result *r, const char *name, size_t kept) {
    const cg_pp_stage *s = stage(r, name);
    CHECK(s && s->kept == kept, "stage %s: kept %zu, expected %zu", name, s ? s->kept : 0, kept);
}

static void test_broken_inputs(cg_runtime *rt) {
    cg_pp_params p;
    cg_pp_params_default(&p);
    char out[1200], report[1200];
    snprintf(out, sizeof out, "%s/out/faces.cgds", dir);
    snprintf(report, sizeof report, "%s/out/faces_report.json", dir);
    p.input = dir;
    p.output = out;
    p.max_side = 256;
    p.threads = 3;
    p.batch = 4; // several batches, so the double buffering turns over
    cg_pp_result *r = NULL;
    CHECK_OK(cg_preprocess_run(rt, &p, NULL, &r));
    if (!r) return;
    cg_pp_report_print(r, stdout);
    expect_stage(r, "listed", 16);
    expect_stage(r, "images", 15);
    expect_stage(r, "landmarks", 14);
    expect_stage(r, "frontal", 14);
    expect_stage(r, "decoded", 6);
    expect_stage(r, "sunglasses", 6);
    CHECK(r->written == 6, "written %zu", r->written);
    expect_issue(r, "000007.jpg", CG_ISSUE_CORRUPT);
    expect_issue(r, "000008.jpg", CG_ISSUE_TRUNCATED);
    expect_issue(r, "000009.jpg", CG_ISSUE_EMPTY);
    expect_issue(r, "000010.jpg", CG_ISSUE_NOT_IMAGE);
    expect_issue(r, "000011.png", CG_ISSUE_TOO_LARGE);
    expect_issue(r, "000013.jpg", CG_ISSUE_MISSING);
    expect_issue(r, "000014.jpg", CG_ISSUE_TOO_LARGE);
    expect_issue(r, "000015.png", CG_ISSUE_TRUNCATED);
    expect_issue(r, "000018.jpg", CG_ISSUE_TOO_LARGE);
    expect_issue(r, "list_landmarks_align_celeba.txt:18", CG_ISSUE_MALFORMED_ROW);
    expect_issue(r, "list_landmarks_align_celeba.txt:19", CG_ISSUE_MALFORMED_ROW);
    expect_issue(r, "list_landmarks_align_celeba.txt:000001.jpg", CG_ISSUE_MALFORMED_ROW);
    CHECK(r->issues.n == 12, "%zu problems, expected 12", r->issues.n);
    CHECK(r->issues.counts[CG_ISSUE_TOO_LARGE] == 3 && r->issues.counts[CG_ISSUE_MALFORMED_ROW] == 3, "counts");
    CHECK(r->n_notes >= 1 && strstr(r->notes[0], "count line says 99"), "count-line note: %s",
          r->n_notes ? r->notes[0] : "none");
    CHECK(r->set.n_attrs == 2 && r->set.attr_rows == 3, "attributes %d x %zu", r->set.n_attrs, r->set.attr_rows);
    CHECK(r->items[0].outcome == CG_PP_KEPT, "000001.jpg: %s", cg_pp_outcome_name((cg_pp_outcome)r->items[0].outcome));
    // The report names every problem.
    CHECK_OK(cg_pp_report_write(r, &p, report));
    char *text = NULL;
    size_t len = 0;
    CHECK_OK(cg_read_file(report, &text, &len));
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    cJSON *items = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "problems"), "items");
    CHECK(cJSON_GetArraySize(items) == 12, "report lists %d problems", cJSON_GetArraySize(items));
    CHECK(text && strstr(text, "\"000011.png\"") && strstr(text, "\"too_large\""), "report lacks 000011.png");
    cJSON_Delete(j);
    free(text);
    cg_dataset *ds = NULL;
    CHECK_OK(cg_dataset_open(out, 1, &ds));
    if (ds) {
        CHECK(cg_dataset_count(ds) == 6 && !strcmp(cg_dataset_name(ds, 5), "000006.jpg"), "dataset");
        cg_dataset_close(ds);
    }
    cg_pp_result_free(r);

    // Partition = train keeps 000001 and 000004-000008 (000007 and 000008 are broken).
    p.partition = "train";
    p.output = "";
    CHECK_OK(cg_preprocess_run(rt, &p, NULL, &r));
    if (r) {
        expect_stage(r, "partition", 6);
        CHECK(r->written == 4, "train written %zu", r->written);
        cg_pp_result_free(r);
    }
}

// A plain folder: no lists, so no landmark filters; every image is centre-cropped.
static void test_plain_folder(cg_runtime *rt) {
    cg_pp_params p;
    cg_pp_params_default(&p);
    p.input = imgs;
    p.output = "";
    p.max_side = 256;
    p.size = 32;
    cg_pp_result *r = NULL;
    CHECK_OK(cg_preprocess_run(rt, &p, NULL, &r));
    if (!r) return;
    CHECK(!r->landmark_filters && r->written == 7, "plain folder: filters %d, written %zu", r->landmark_filters,
          r->written);
    CHECK(stage(r, "frontal") == NULL && stage(r, "sunglasses") == NULL, "landmark stages in a plain folder");
    CHECK(r->issues.n == 8, "plain folder: %zu problems", r->issues.n);
    CHECK(r->n_notes >= 1 && strstr(r->notes[r->n_notes - 1], "no landmark list"), "no note on the filters");
    cg_pp_result_free(r);
    p.input = "/nonexistent/clgan/folder";
    CHECK_FAILS(cg_preprocess_run(rt, &p, NULL, &r), CG_ERR_NOT_FOUND, "cannot open the image folder");
}

// Runs clgan preprocess with the NULL-terminated arguments (no shell), output in dir/cli.log.
static int run_cli(const char *first, ...) {
    const char *argv[32] = {getenv("CLGAN_CLI"), "preprocess", first};
    int n = 3;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 31; n++) argv[n] = a = va_arg(ap, const char *);
    va_end(ap);
    argv[n] = NULL;
    char log[700];
    snprintf(log, sizeof log, "%s/cli.log", dir);
    return test_spawn(argv, log, log, NULL);
}

static void test_cli(void) {
    const char *cli = getenv("CLGAN_CLI"), *src = getenv("CLGAN_SOURCE_DIR");
    if (!cli || !*cli || access(cli, X_OK) != 0) {
        CHECK(0, "CLGAN_CLI is not set or not executable (run through ctest): the CLI checks cannot run");
        return;
    }
    char config[1400], out[1400];
    CHECK(run_cli("--help", (char *)NULL) == 0, "--help");
    snprintf(config, sizeof config, "%s/configs/preprocess.ini", src ? src : ".");
    snprintf(out, sizeof out, "%s/cli/faces.cgds", dir);
    int rc = run_cli("--config", config, "--input", dir, "--out", out, "--set", "preprocess.max_side=256", (char *)NULL);
    CHECK(rc == 0, "a run over broken inputs exits %d (see %s/cli.log)", rc, dir);
    char *log = NULL;
    size_t len = 0;
    char p[1400];
    snprintf(p, sizeof p, "%s/cli.log", dir);
    CHECK_OK(cg_read_file(p, &log, &len));
    CHECK(log && strstr(log, "[preprocess]") && strstr(log, "sunglasses") && strstr(log, "000013.jpg") &&
              strstr(log, "faces_report.json"),
          "the CLI output lacks the configuration, the stage table, a problem or the report path");
    free(log);
    snprintf(p, sizeof p, "%s/cli/faces_report.json", dir);
    CHECK(access(p, F_OK) == 0, "no report at %s", p);
    CHECK(run_cli("--input", dir, "--set", "preprocess.size=3", (char *)NULL) == 2,
          "an out-of-range size is a configuration error");
    CHECK(run_cli("--input", dir, "--set", "preprocess.frontal=maybe", (char *)NULL) == 2,
          "a bad boolean is a configuration error");
    CHECK(run_cli("--bogus", (char *)NULL) == 2, "an unknown option is a usage error");
    CHECK(run_cli("--input", "/nonexistent/clgan/folder", "--out", "", (char *)NULL) == 1,
          "a missing input folder is a failure");
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/clgan_test_preprocess_robust_XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "cannot create a temporary folder under %s\n", tmp);
        return 1;
    }
    make_dataset();
    test_broken_inputs(rt);
    test_plain_folder(rt);
    test_cli();
    if (!test_failures) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    else fprintf(stderr, "inputs and outputs kept in %s\n", dir);
    cg_runtime_free(rt);
    return test_finish("test_preprocess_robust");
}
