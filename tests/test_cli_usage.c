// test_cli_usage.c — every clgan command's usage errors through the executable: an unknown option,
// a missing value, a value of the wrong type, a missing --config file, an unknown --set key (with
// the closest-key hint) and a bad --device exit 2 with a message that names the problem; the
// device and the CLGAN_* environment variables are honoured as documented.
#include "cli_test_util.h"

#define OUT "test-cli-usage-out"

static const char *const commands[] = {"demo",  "devices", "synth", "preprocess", "train",  "sample",
                                       "stats", "score",   "bench", "tune",       "gemm",   "kernels",
                                       "upscale", "landmarks"};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static const char *err = OUT "/err.txt";

// clgan args must exit `want` with both needles in its stderr (needle2 may be NULL).
static void expect(int want, const char *needle, const char *needle2, const char *what, const char *const *args) {
    int rc = cli_wait(cli_spawn(err, args));
    char *text = cli_slurp(err, NULL);
    CHECK(rc == want, "%s: exit %d, expected %d (stderr: %.400s)", what, rc, want, text ? text : "");
    CHECK(text && strstr(text, needle), "%s: stderr lacks '%s': %.400s", what, needle, text ? text : "");
    CHECK(!needle2 || (text && strstr(text, needle2)), "%s: stderr lacks '%s': %.400s", what, needle2,
          text ? text : "");
    free(text);
}

#define EXPECT(want, needle, needle2, ...)                                                                   \
    expect(want, needle, needle2, #__VA_ARGS__, (const char *const[]){__VA_ARGS__, NULL})

static char demo_ini[1024];

static void parse_errors(void) {
    for (int i = 0; i < N_COMMANDS; i++) {
        const char *c = commands[i];
        char what[128];
        snprintf(what, sizeof what, "%s --bogus", c);
        expect(2, "unknown option '--bogus'", "--help", what, (const char *const[]){c, "--bogus", NULL});
        snprintf(what, sizeof what, "%s --config (no value)", c);
        expect(2, "option '--config' needs a value", NULL, what, (const char *const[]){c, "--config", NULL});
        snprintf(what, sizeof what, "%s stray", c);
        expect(2, "unexpected argument 'stray'", NULL, what, (const char *const[]){c, "stray", NULL});
        // sample and upscale check their required options first; demo reads configs/demo.ini by default.
        int sample = !strcmp(c, "sample"), upscale = !strcmp(c, "upscale");
        const char *req[6] = {NULL};
        if (sample) memcpy(req, (const char *[]){"--checkpoint", OUT "/x", "--out", OUT "/x.png"}, 4 * sizeof *req);
        if (upscale)
            memcpy(req, (const char *[]){"--weights", OUT "/w", "--input", OUT "/x", "--out", OUT "/y"}, 6 * sizeof *req);
        snprintf(what, sizeof what, "%s --config missing", c);
        expect(2, "cannot open config file " OUT "/no such.ini", "No such file", what,
               (const char *const[]){c, "--config", OUT "/no such.ini", req[0], req[1], req[2], req[3], req[4], req[5],
                                     NULL});
        snprintf(what, sizeof what, "%s --set without '='", c);
        if (!strcmp(c, "demo")) req[0] = "--config", req[1] = demo_ini;
        expect(2, "nonsense", NULL, what,
               (const char *const[]){c, "--set", "nonsense", req[0], req[1], req[2], req[3], req[4], req[5], NULL});
        snprintf(what, sizeof what, "%s --help=1", c);
        expect(2, "takes no value", NULL, what, (const char *const[]){c, "--help=1", NULL});
    }
    EXPECT(2, "no command named 'bogus'", NULL, "bogus");
    EXPECT(2, "no command named 'bogus'", NULL, "help", "bogus");
}

// A value of the wrong type, for each command's typed options (or a typed --set key).
static void type_errors(void) {
    EXPECT(2, "--reps expects an integer, got 'x'", NULL, "bench", "--reps", "x");
    EXPECT(2, "--m expects an integer, got '8x'", NULL, "gemm", "--m", "8x");
    EXPECT(2, "--n expects an integer, got '1e3'", NULL, "sample", "--n", "1e3", "--checkpoint", OUT "/x", "--out", OUT "/x.png");
    EXPECT(2, "--seed expects an integer, got ''", NULL, "score", "--seed", "");
    EXPECT(2, "--batch expects an integer, got 'many'", NULL, "stats", "--batch", "many");
    EXPECT(2, "--size expects an integer, got '99999999999'", NULL, "tune", "--size", "99999999999");
    EXPECT(2, "synth", "n", "synth", "--n", "lots", "--out", OUT "/synth");
    EXPECT(2, "limit", "abc", "preprocess", "--input", OUT, "--limit", "abc");
    EXPECT(2, "batch_size", "abc", "train", "--set", "train.batch_size=abc");
    EXPECT(2, "synth_n", "abc", "demo", "--config", demo_ini, "--set", "demo.synth_n=abc");
}

// An unknown --set key is a usage error that names the closest known key.
static void unknown_set_keys(void) {
    EXPECT(2, "unknown key [device] typ", "did you mean [device] type", "gemm", "--set", "device.typ=gpu");
    EXPECT(2, "unknown key [synth] seeed", "did you mean [synth] seed", "synth", "--set", "synth.seeed=3", "--out",
           OUT "/synth-unknown");
    EXPECT(2, "unknown key [train] batchsize", "did you mean [train] batch_size", "train", "--set",
           "train.batchsize=8", "--set", "train.dataset=" OUT "/absent.cgds");
    CHECK(!cli_exists(OUT "/synth-unknown"), "synth wrote its output despite an unknown --set key");
}

// --device, CLGAN_DEVICE and [device], and the documented environment variables.
static void devices(void) {
    EXPECT(2, "nosuchdevice", "--device", "gemm", "--device", "nosuchdevice");
    EXPECT(2, "nosuchdevice", "--device", "tune", "--device", "nosuchdevice", "--quick");
    EXPECT(2, "nosuchdevice", "--device", "sample", "--device", "nosuchdevice", "--checkpoint", OUT "/x", "--out", OUT "/x.png");
    EXPECT(2, "99", "--device", "kernels", "--device", "99");
    EXPECT(2, "[device] type", "tpu", "gemm", "--set", "device.type=tpu");
    setenv("CLGAN_DEVICE", "nosuchdevice", 1);
    EXPECT(2, "nosuchdevice", "CLGAN_DEVICE", "gemm", "--m", "8", "--n", "8", "--k", "8", "--reps", "1");
    // --device wins over the environment.
    EXPECT(0, "device 0:", NULL, "gemm", "--device", "0", "--m", "8", "--n", "8", "--k", "8", "--reps", "1");
    setenv("CLGAN_DEVICE", "0", 1);
    EXPECT(0, "device 0:", NULL, "gemm", "--m", "8", "--n", "8", "--k", "8", "--reps", "1");
    unsetenv("CLGAN_DEVICE");

    // CLGAN_CACHE_DIR (a path with a space and non-ASCII letters) receives the compiled kernels (the
    // 64^3 product runs on the own GEMM kernels);
    // with CLGAN_NO_DISK_CACHE=1 nothing is written there.
    const char *cache = OUT "/cache dir é", *nocache = OUT "/no cache";
    setenv("CLGAN_CACHE_DIR", cache, 1);
    EXPECT(0, "device", NULL, "gemm", "--m", "64", "--n", "64", "--k", "64", "--reps", "1");
    DIR *d = opendir(cache);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK(entries > 0, "CLGAN_CACHE_DIR=%s holds no compiled kernels", cache);
    setenv("CLGAN_CACHE_DIR", nocache, 1);
    setenv("CLGAN_NO_DISK_CACHE", "1", 1);
    EXPECT(0, "device", NULL, "gemm", "--m", "64", "--n", "64", "--k", "64", "--reps", "1");
    CHECK(!cli_exists(nocache), "CLGAN_NO_DISK_CACHE=1 still wrote %s", nocache);
    unsetenv("CLGAN_NO_DISK_CACHE");
    // CLGAN_KERNEL_DIR: sources read from that folder; a folder without them fails naming it.
    setenv("CLGAN_KERNEL_DIR", OUT "/no kernels", 1);
    EXPECT(1, "cannot read '" OUT "/no kernels/common.cl'", NULL, "kernels", "--emit", OUT "/emitted");
    unsetenv("CLGAN_KERNEL_DIR");
    setenv("CLGAN_CACHE_DIR", OUT "/cache", 1);
}

int main(void) {
    cli_setup(OUT);
    const char *src = getenv("CLGAN_SOURCE_DIR");
    snprintf(demo_ini, sizeof demo_ini, "%s/configs/demo.ini", src && *src ? src : ".");
    parse_errors();
    type_errors();
    unknown_set_keys();
    devices();
    return test_finish("cli_usage");
}
