// test_cli_paths.c — the commands test_score_paths and test_disk_full do not cover, with every path
// they take inside a folder named with a space, single and double quotes and non-ASCII letters
// (issue 14, item 7): bench --out (bench.json/.csv/.md), tune's tuning file in $CLGAN_CACHE_DIR,
// kernels --emit, gemm --config, sample --checkpoint/--z/--out (grid, folder, .npy), upscale
// --weights/--input/--out, landmarks --input/--out/--boxes and --weights, demo's synthetic faces,
// dataset and run folder. Each exits 0 and writes its outputs there. landmarks needs the MTCNN
// weights converted from $CLGAN_SHARED_DATA (skipped as 'data' without them).
#include "cli_test_util.h"
#include "metrics.h"
#include "srvgg_test_util.h"

#define TOP "test-cli-paths-out"
#define ODD TOP "/it's \"quoted\" dür"
#define INI ODD "/base 'ü'.ini"

static const char *err = TOP "/err.txt";

// Runs clgan with args; checks exit 0 and that every file of `outputs` (NULL-terminated) exists.
static void expect_ok(const char *what, const char *const *args, const char *const *outputs) {
    int rc = cli_wait(cli_spawn(err, args));
    char *text = cli_slurp(err, NULL);
    size_t len = text ? strlen(text) : 0;
    CHECK(rc == 0, "%s -> %d: %s", what, rc, text ? text + (len > 600 ? len - 600 : 0) : "");
    free(text);
    for (int i = 0; outputs && outputs[i]; i++) CHECK(cli_exists(outputs[i]), "%s: %s was not written", what, outputs[i]);
}

#define OK(what, outputs, ...) expect_ok(what, (const char *const[]){__VA_ARGS__, NULL}, outputs)
#define FILES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void bench_tune_kernels_gemm(void) {
    OK("bench --out", FILES(ODD "/bench ö/bench.json", ODD "/bench ö/bench.csv", ODD "/bench ö/bench.md"), "bench",
       "--suite", "gemm", "--quick", "--cases", "odd nt", "--out", ODD "/bench ö");
    setenv("CLGAN_CACHE_DIR", ODD "/cache \"c\" é", 1);
    OK("tune ($CLGAN_CACHE_DIR)", NULL, "tune", "--quick");
    unsetenv("CLGAN_CACHE_DIR");
    int tuned = 0;
    DIR *d = opendir(ODD "/cache \"c\" é");
    for (struct dirent *e; d && (e = readdir(d));) tuned += !strncmp(e->d_name, "gemm-tuning-", 12);
    if (d) closedir(d);
    CHECK(tuned == 1, "tune wrote %d tuning files into the odd cache folder", tuned);
    OK("kernels --emit", FILES(ODD "/kernels 'k'/options.txt", ODD "/kernels 'k'/im2col.cl"), "kernels", "--emit",
       ODD "/kernels 'k'");
    OK("gemm --config", NULL, "gemm", "--config", INI, "--m", "33", "--n", "17", "--k", "9");
}

static void sample(void) {
    const char *ckpt = ODD "/run ß/checkpoint.safetensors";
    OK("train (odd --config and out)", FILES(ckpt), "train", "--config", INI, "--set", "train.out=" ODD "/run ß");
    OK("sample grid", FILES(ODD "/grid 'g'.png"), "sample", "--checkpoint", ckpt, "--n", "4", "--out",
       ODD "/grid 'g'.png");
    OK("sample .npy", FILES(ODD "/images \"i\".npy"), "sample", "--checkpoint", ckpt, "--n", "4", "--out",
       ODD "/images \"i\".npy");
    float z[4 * 16];
    uint32_t seed = 9;
    for (int i = 0; i < 4 * 16; i++) z[i] = lcg(&seed);
    CHECK_OK(cg_npy_write_f32(ODD "/latent \"z\" é.npy", z, 2, (const int64_t[]){4, 16}));
    OK("sample --z, folder", FILES(ODD "/samples ä/000000.png"), "sample", "--checkpoint", ckpt, "--z",
       ODD "/latent \"z\" é.npy", "--out", ODD "/samples ä");
}

static void upscale(void) {
    CHECK_OK(write_weights(ODD "/srvgg 'w' é.safetensors", 4, 3, 4, 5, (damage){0}));
    CHECK(mkdir(ODD "/faces \"f\"", 0755) == 0 &&
              cli_copy(TOP "/synth/img_align_celeba/000001.jpg", ODD "/faces \"f\"/a 'ü'.jpg"),
          "an odd image folder");
    OK("upscale folder", FILES(ODD "/up 'x4' ö/a 'ü'.png"), "upscale", "--weights", ODD "/srvgg 'w' é.safetensors",
       "--input", ODD "/faces \"f\"", "--out", ODD "/up 'x4' ö", "--tile", "0");
}

static void landmarks(void) {
    const char *src = getenv("CLGAN_SOURCE_DIR"), *data = getenv("CLGAN_SHARED_DATA"), *py = getenv("CLGAN_PYTHON");
    char script[1024], f32[1024];
    snprintf(script, sizeof script, "%s/tools/convert_mtcnn.py", src ? src : ".");
    snprintf(f32, sizeof f32, "%s/mtcnn_facenet_pytorch/f32", data ? data : "../shared/data");
    const char *w = ODD "/mtcnn \"m\" ü.safetensors";
    if (test_run("/dev/null", NULL, NULL, py && *py ? py : "/usr/bin/python3", script, "--f32", f32, w,
                 (char *)NULL) != 0) {
        test_skip_part("data", "cannot convert the MTCNN weights from %s", f32);
        return;
    }
    OK("landmarks", FILES(ODD "/list 'l'.txt", ODD "/boxes \"b\".csv"), "landmarks", "--input", ODD "/faces \"f\"",
       "--out", ODD "/list 'l'.txt", "--boxes", ODD "/boxes \"b\".csv", "--weights", w);
}

static void demo(void) {
    const char *ini = ODD "/demo 'd' ü.ini";
    FILE *f = fopen(ini, "w");
    CHECK(f != NULL, "cannot write %s", ini);
    if (!f) return;
    fprintf(f, "[demo]\nsynth_n = 100\nsynth_seed = 2\nsynth_dir = %s/demo \"s\"/synth\n\n"
               "[model]\ntype = dcgan\nimage_size = 32\nchannels = 3\nnz = 16\nngf = 8\nndf = 8\n\n"
               "[train]\ndataset = %s/demo \"s\"/faces 'ß'.cgds\nout = %s/demo \"s\"/run ä\niterations = 2\n"
               "epochs = 0\nbatch_size = 8\nseed = 1\nlog_every = 1\nsample_every = 0\ncheckpoint_every = 2\n"
               "samples = 4\n",
            ODD, ODD, ODD);
    fclose(f);
    OK("demo", FILES(ODD "/demo \"s\"/synth/list_eval_partition.txt", ODD "/demo \"s\"/faces 'ß'.cgds",
                     ODD "/demo \"s\"/run ä/checkpoint.safetensors", ODD "/demo \"s\"/run ä/samples.png"),
       "demo", "--config", ini);
}

int main(void) {
    mkdir(TOP, 0755);
    cli_setup(ODD);
    if (!cli_make_run_setup(TOP, "24", 2)) return test_finish("cli_paths");
    // The run setup's configuration, copied into the odd folder.
    char *base = cli_slurp(TOP "/base.ini", NULL);
    FILE *f = fopen(INI, "w");
    CHECK(base && f, "copying base.ini");
    if (base && f) fputs(base, f);
    if (f) fclose(f);
    free(base);
    bench_tune_kernels_gemm();
    sample();
    upscale();
    landmarks();
    demo();
    return test_finish("cli_paths");
}
