// test_cli_messages.c — bad input found early and named plainly (issue 14, item 9): a UTF-8 BOM
// in an INI file is accepted, a NUL byte is named with its line, an option passed on as a
// configuration value is named in its error, sample refuses non-finite --z values and an --out of
// another image format and creates the folder of its output file, score checks --ref and the
// image count for IS before the Inception pass, and an image folder's entries that are folders or
// dangling links are skipped with a warning.
#include "cli_test_util.h"

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
    return test_finish("cli_messages");
}
