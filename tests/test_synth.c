// test_synth.c — synthetic CelebA-style faces: the files and their formats, landmarks that agree with
// the pose ground truth, decodable 178x218 JPEGs, determinism across N and thread counts, dark
// sunglasses, the frontal fraction, a failing output folder, and the `clgan synth` command.
// Needs no OpenCL device.
#include "synth.h"
#include "test_util.h"

#include <dirent.h>
#include <stb/stb_image.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_FACES 200
#define SEED 7

// clang-format off
static const char *const official_attrs[40] = {
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
    "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young"};
// clang-format on

typedef struct {
    int marks[10];
    int attrs[41];
    int partition;
    float yaw, roll;
    int sunglasses, eyeglasses, frontal;
} face_row;

static face_row rows[N_FACES];

static char *read_text(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = NULL;
    size_t len = 0;
    cg_status st = cg_read_file(path, &text, &len);
    CHECK(st == CG_OK, "cannot read %s: %s", path, cg_last_error());
    return st == CG_OK ? text : NULL;
}

// Splits text into lines in place; returns the count.
static int split_lines(char *text, char **lines, int max) {
    int n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    return n;
}

static void check_landmarks(const char *dir) {
    char *text = read_text(dir, "list_landmarks_align_celeba.txt"), *lines[N_FACES + 8];
    if (!text) return;
    int n = split_lines(text, lines, N_FACES + 8);
    CHECK(n == N_FACES + 2, "landmark file has %d lines", n);
    CHECK(atoi(lines[0]) == N_FACES, "landmark count line '%s'", lines[0]);
    CHECK(!strcmp(lines[1], "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y "
                            "rightmouth_x rightmouth_y"),
          "landmark header '%s'", lines[1]);
    for (int i = 0; i < N_FACES && i + 2 < n; i++) {
        char name[32], want[32];
        int *m = rows[i].marks;
        int got = sscanf(lines[i + 2], "%31s %d %d %d %d %d %d %d %d %d %d", name, m, m + 1, m + 2, m + 3, m + 4, m + 5,
                         m + 6, m + 7, m + 8, m + 9);
        snprintf(want, sizeof want, "%06d.jpg", i + 1);
        CHECK(got == 11 && !strcmp(name, want), "landmark row %d: '%s'", i + 1, lines[i + 2]);
        for (int k = 0; k < 10; k++)
            CHECK(m[k] >= 0 && m[k] < (k % 2 ? CG_SYNTH_H : CG_SYNTH_W), "landmark %d of %s outside: %d", k, want,
                  m[k]);
        CHECK(m[0] < m[2] && m[6] < m[8], "%s: left eye/mouth corner not left of the right one", want);
    }
    free(text);
}

static void check_attributes(const char *dir) {
    char *text = read_text(dir, "list_attr_celeba.txt"), *lines[N_FACES + 8];
    if (!text) return;
    int n = split_lines(text, lines, N_FACES + 8);
    CHECK(n == N_FACES + 2 && atoi(lines[0]) == N_FACES, "attribute file: %d lines, count '%s'", n, lines[0]);
    char *save = NULL, *tok = strtok_r(lines[1], " ", &save);
    for (int k = 0; k < 41; k++, tok = strtok_r(NULL, " ", &save)) {
        const char *want = k < 40 ? official_attrs[k] : "Sunglasses";
        CHECK(tok && !strcmp(tok, want), "attribute header column %d is '%s', expected '%s'", k, tok ? tok : "", want);
    }
    CHECK(tok == NULL, "attribute header has more than 41 names");
    for (int i = 0; i < N_FACES && i + 2 < n; i++) {
        char *p = lines[i + 2], *end;
        CHECK(!strncmp(p, "000", 3), "attribute row %d: '%s'", i + 1, p);
        p = strchr(p, ' ');
        int k = 0;
        for (; p && k < 42; k++) {
            long v = strtol(p, &end, 10);
            if (end == p) break;
            if (k < 41) rows[i].attrs[k] = (int)v;
            CHECK(v == 1 || v == -1, "attribute row %d column %d is %ld", i + 1, k, v);
            p = end;
        }
        CHECK(k == 41, "attribute row %d has %d values", i + 1, k);
    }
    free(text);
}

static void check_partition_and_truth(const char *dir) {
    char *text = read_text(dir, "list_eval_partition.txt"), *lines[N_FACES + 8];
    if (!text) return;
    int n = split_lines(text, lines, N_FACES + 8), count[3] = {0, 0, 0};
    CHECK(n == N_FACES, "partition file has %d lines", n);
    for (int i = 0; i < n; i++) {
        char name[32];
        int part = -1;
        CHECK(sscanf(lines[i], "%31s %d", name, &part) == 2 && part >= 0 && part <= 2, "partition row '%s'", lines[i]);
        if (part >= 0 && part <= 2) count[part]++;
    }
    CHECK(count[0] == N_FACES * 8 / 10 && count[1] == N_FACES / 10 && count[2] == N_FACES / 10, "partition %d/%d/%d",
          count[0], count[1], count[2]);
    free(text);

    text = read_text(dir, "synth_truth.txt");
    if (!text) return;
    n = split_lines(text, lines, N_FACES + 8);
    CHECK(n == N_FACES + 1, "truth file has %d lines", n);
    CHECK(!strcmp(lines[0], "image yaw_deg roll_deg sunglasses eyeglasses frontal"), "truth header '%s'", lines[0]);
    int frontal = 0, sun = 0, clear = 0;
    for (int i = 0; i < N_FACES && i + 1 < n; i++) {
        face_row *r = &rows[i];
        char name[32];
        CHECK(sscanf(lines[i + 1], "%31s %f %f %d %d %d", name, &r->yaw, &r->roll, &r->sunglasses, &r->eyeglasses,
                     &r->frontal) == 6,
              "truth row '%s'", lines[i + 1]);
        CHECK(r->frontal == (fabsf(r->yaw) <= 15.0f && fabsf(r->roll) <= 6.0f),
              "%s: frontal flag %d for yaw %.1f roll %.1f", name, r->frontal, r->yaw, r->roll);
        CHECK(fabsf(r->yaw) <= 45.0f && fabsf(r->roll) <= 20.0f, "%s: pose out of range", name);
        CHECK(!(r->sunglasses && r->eyeglasses), "%s: both sunglasses and clear glasses", name);
        CHECK(r->attrs[15] == (r->sunglasses || r->eyeglasses ? 1 : -1), "%s: Eyeglasses attribute %d", name,
              r->attrs[15]);
        CHECK(r->attrs[40] == (r->sunglasses ? 1 : -1), "%s: Sunglasses attribute %d", name, r->attrs[40]);
        frontal += r->frontal;
        sun += r->sunglasses;
        clear += r->eyeglasses;
    }
    CHECK(frontal >= N_FACES * 45 / 100 && frontal <= N_FACES * 75 / 100, "%d of %d faces frontal", frontal, N_FACES);
    CHECK(sun >= 4 && sun <= 36 && clear >= 4 && clear <= 36, "%d sunglasses, %d clear glasses of %d", sun, clear,
          N_FACES);
    free(text);
}

static double correlation(const double *a, const double *b, int n) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        ma += a[i] / n;
        mb += b[i] / n;
    }
    for (int i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}

// The landmarks as drawn must follow the pose: the eye line tilts with roll, and the nose moves along
// the eye line (so roll does not matter) toward the side the head turns to.
static void check_geometry(void) {
    static double tilt[N_FACES], roll[N_FACES], shift[N_FACES], yaw[N_FACES];
    int wrong_side = 0;
    for (int i = 0; i < N_FACES; i++) {
        const int *m = rows[i].marks;
        double dx = m[2] - m[0], dy = m[3] - m[1], iod = sqrt(dx * dx + dy * dy);
        double mx = 0.5 * (m[0] + m[2]), my = 0.5 * (m[1] + m[3]);
        tilt[i] = fabs(dy) / iod;
        roll[i] = fabs(rows[i].roll);
        shift[i] = ((m[4] - mx) * dx + (m[5] - my) * dy) / (iod * iod);
        yaw[i] = rows[i].yaw;
        CHECK(iod > 22 && iod < 48, "face %d: inter-ocular distance %.1f", i + 1, iod);
        CHECK(((m[5] - my) * dx - (m[4] - mx) * dy) / iod > 12, "face %d: nose not below the eyes", i + 1);
        if (fabs(yaw[i]) > 15 && (shift[i] > 0) != (yaw[i] > 0)) wrong_side++;
        double deg = atan2(dy, dx) * 180 / 3.14159265;
        CHECK(fabs(deg - rows[i].roll) < 4.0, "face %d: eye line at %.1f degrees, roll %.1f", i + 1, deg, rows[i].roll);
    }
    double c_roll = correlation(tilt, roll, N_FACES), c_yaw = correlation(shift, yaw, N_FACES);
    CHECK(c_roll > 0.9, "eye tilt vs |roll|: correlation %.3f", c_roll);
    CHECK(c_yaw > 0.9, "nose shift vs yaw: correlation %.3f", c_yaw);
    CHECK(wrong_side == 0, "%d turned faces have the nose on the wrong side", wrong_side);
    printf("geometry: correlation tilt/|roll| %.3f, nose shift/yaw %.3f\n", c_roll, c_yaw);
}

static double box_mean(const unsigned char *img, int cx, int cy, int rx, int ry) {
    double s = 0;
    int c = 0;
    for (int y = cy - ry; y <= cy + ry; y++)
        for (int x = cx - rx; x <= cx + rx; x++) {
            if (x < 0 || y < 0 || x >= CG_SYNTH_W || y >= CG_SYNTH_H) continue;
            const unsigned char *p = img + 3 * (y * CG_SYNTH_W + x);
            s += 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            c++;
        }
    return c ? s / c : 0;
}

// Every image decodes at 178x218; sunglasses darken the eyes.
static void check_images(const char *dir) {
    double eyes[2] = {0, 0};
    int count[2] = {0, 0}, files = 0;
    char path[1024];
    snprintf(path, sizeof path, "%s/img_align_celeba", dir);
    DIR *d = opendir(path);
    CHECK(d != NULL, "cannot list %s", path);
    for (struct dirent *e; d && (e = readdir(d));) files += strstr(e->d_name, ".jpg") != NULL;
    if (d) closedir(d);
    CHECK(files == N_FACES, "%d JPEG files in %s", files, path);
    for (int i = 0; i < N_FACES; i++) {
        snprintf(path, sizeof path, "%s/img_align_celeba/%06d.jpg", dir, i + 1);
        int w = 0, h = 0, comp = 0;
        unsigned char *img = stbi_load(path, &w, &h, &comp, 3);
        CHECK(img && w == CG_SYNTH_W && h == CG_SYNTH_H && comp == 3, "%s: decoded %dx%dx%d", path, w, h, comp);
        if (!img) continue;
        const int *m = rows[i].marks;
        int k = rows[i].sunglasses;
        eyes[k] += 0.5 * (box_mean(img, m[0], m[1], 4, 3) + box_mean(img, m[2], m[3], 4, 3));
        count[k]++;
        stbi_image_free(img);
    }
    CHECK(count[0] > 0 && count[1] > 0, "faces without/with sunglasses: %d/%d", count[0], count[1]);
    if (count[0] && count[1]) {
        double plain = eyes[0] / count[0], sun = eyes[1] / count[1];
        CHECK(sun < 0.5 * plain, "eye brightness with sunglasses %.1f, without %.1f", sun, plain);
        printf("eye brightness: %.1f without sunglasses, %.1f with\n", plain, sun);
    }
}

static int same_file(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t lx = 0, ly = 0;
    int same = cg_read_file(a, &x, &lx) == CG_OK && cg_read_file(b, &y, &ly) == CG_OK && lx == ly && !memcmp(x, y, lx);
    free(x);
    free(y);
    return same;
}

static void check_determinism(const char *dir, const char *tmp) {
    char small[1024], mid[1024], a[1200], b[1200];
    snprintf(small, sizeof small, "%s/n5", tmp);
    snprintf(mid, sizeof mid, "%s/n50", tmp);
    CHECK_OK(cg_synth_write(small, 5, SEED, 1, NULL));
    CHECK_OK(cg_synth_write(mid, 50, SEED, 2, NULL));
    for (int i = 1; i <= 5; i++) {
        snprintf(a, sizeof a, "%s/img_align_celeba/%06d.jpg", small, i);
        snprintf(b, sizeof b, "%s/img_align_celeba/%06d.jpg", mid, i);
        CHECK(same_file(a, b), "face %d differs between runs of 5 and 50", i);
        snprintf(b, sizeof b, "%s/img_align_celeba/%06d.jpg", dir, i);
        CHECK(same_file(a, b), "face %d differs between runs of 5 and %d", i, N_FACES);
    }
    cg_synth_face f1, f2;
    cg_synth_sample(SEED, 3, &f1);
    cg_synth_sample(SEED + 1, 3, &f2);
    CHECK(f1.yaw_deg != f2.yaw_deg, "another seed gives the same face");
}

static void check_errors(const char *tmp) {
    char file[1024], bad[1100];
    snprintf(file, sizeof file, "%s/plain_file", tmp);
    CHECK_OK(cg_write_file_atomic(file, "x", 1));
    snprintf(bad, sizeof bad, "%s/out", file);
    CHECK_FAILS(cg_synth_write(bad, 3, 1, 1, NULL), CG_ERR_IO, file);
    CHECK_FAILS(cg_synth_write(tmp, 0, 1, 1, NULL), CG_ERR_INVALID_ARG, "number of faces");
}

static void check_cli(const char *tmp) {
    const char *cli = getenv("CLGAN_CLI");
    if (!cli || !*cli) {
        CHECK(0, "CLGAN_CLI is not set (run through ctest): the command-line checks cannot run");
        return;
    }
    char out[1100], out0[1100], sheet[1100];
    snprintf(sheet, sizeof sheet, "%s/sheet.png", tmp);
    snprintf(out, sizeof out, "%s/cli", tmp);
    snprintf(out0, sizeof out0, "%s/cli0", tmp);
    int rc = test_run("/dev/null", "/dev/null", NULL, cli, "synth", "--n", "4", "--out", out, "--seed", "3", "--sheet",
                      sheet, (char *)NULL);
    CHECK(rc == 0, "clgan synth --n 4 --out %s --sheet %s exited with %d", out, sheet, rc);
    int w = 0, h = 0, comp = 0;
    unsigned char *img = stbi_load(sheet, &w, &h, &comp, 3);
    CHECK(img && w == 4 * CG_SYNTH_W && h == CG_SYNTH_H, "contact sheet %dx%d", w, h);
    stbi_image_free(img);
    rc = test_run("/dev/null", "/dev/null", NULL, cli, "synth", "--n", "0", "--out", out0, (char *)NULL);
    CHECK(rc == 2, "synth --n 0 exited with %d, expected 2", rc);
}

int main(void) {
    char tmp[128];
    if (test_tmpdir(tmp, sizeof tmp, "test-synth") != 0) return 1;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/faces", tmp);
    CHECK_OK(cg_synth_write(dir, N_FACES, SEED, 2, NULL));
    check_landmarks(dir);
    check_attributes(dir);
    check_partition_and_truth(dir);
    check_geometry();
    check_images(dir);
    check_determinism(dir, tmp);
    check_errors(tmp);
    check_cli(tmp);
    if (test_rm_rf(tmp) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return test_finish("test_synth");
}
