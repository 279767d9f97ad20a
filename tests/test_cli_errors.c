// test_cli_errors.c — bad input is refused with a message and an exit status, never a hang, a
// crash or silence (issue 14, item 9): FIFOs as configuration, dataset, checkpoint, weights or in
// an image folder; checkpoint metadata out of range (ngf = 99999999999); an empty landmark list;
// a dataset with a bad checksum given to stats; out-of-range --n/--batch; bench --cases matching
// nothing; a key set twice in an INI file; --config given twice; gemm's operands beyond memory.
#include "cli_test_util.h"

#define DIR "test-cli-errors-out"
#define INI DIR "/base.ini"
#define FIFO DIR "/fifo"

// A usage or run error, not a hang (-1) or a signal (128 + n).
static int refused(int rc) { return rc == 1 || rc == 2; }

static void test_fifos(void) {
    const char *err = DIR "/fifo.err";
    CHECK(mkfifo(FIFO, 0644) == 0, "mkfifo %s", FIFO);
    int rc = cli_run(err, "train", "--config", FIFO, NULL);
    CHECK(rc == 2 && cli_contains(err, "FIFO"), "--config FIFO -> %d", rc);
    rc = cli_run(err, "train", "--config", INI, "--set", "train.dataset=" FIFO, "--set", "train.out=" DIR "/f1", NULL);
    CHECK(refused(rc) && cli_contains(err, "not a regular file"), "dataset = FIFO -> %d", rc);
    rc = cli_run(err, "train", "--config", INI, "--set", "train.out=" DIR "/f2", "--resume", FIFO, NULL);
    CHECK(refused(rc) && cli_contains(err, "not a regular file"), "--resume FIFO -> %d", rc);
    rc = cli_run(err, "sample", "--config", INI, "--checkpoint", FIFO, "--n", "4", "--out", DIR "/f.npy", NULL);
    CHECK(refused(rc) && cli_contains(err, "not a regular file"), "sample --checkpoint FIFO -> %d", rc);
    rc = cli_run(err, "stats", "--images", DIR "/faces.cgds", "--weights", FIFO, "--out", DIR "/f.npz", NULL);
    CHECK(refused(rc) && cli_contains(err, "not a regular file"), "stats --weights FIFO -> %d", rc);
    // A FIFO among the images: skipped by the folder listings of stats and preprocess.
    mkdir(DIR "/imgs", 0755);
    CHECK(cli_copy(DIR "/synth/img_align_celeba/000001.jpg", DIR "/imgs/a.jpg"), "copying an image");
    CHECK(mkfifo(DIR "/imgs/b.png", 0644) == 0, "mkfifo in the image folder");
    rc = cli_run(err, "stats", "--images", DIR "/imgs", "--weights", DIR "/no-weights.safetensors", "--out",
                 DIR "/f.npz", NULL);
    CHECK(refused(rc) && cli_contains(err, "no-weights"), "stats of a folder holding a FIFO -> %d", rc);
    rc = cli_run(err, "preprocess", "--input", DIR "/imgs", "--out", DIR "/imgs.cgds", "--set", "preprocess.size=32",
                 "--set", "preprocess.reject_sheets=false", NULL);
    CHECK(rc == 0, "preprocess of a folder holding a FIFO -> %d", rc);
}

// The trained checkpoint with metadata key `key` set to `value` (the checksum no longer matches,
// which only the trainer checks; sampling reads the model from the metadata).
static int rewrite_meta(const char *from, const char *to, const char *key, const char *value) {
    static const char *const keys[] = {"format", "step",       "batches",  "noise_batches", "opt_g_step", "opt_d_step",
                                       "seed",   "rng",        "model_type", "image_size",  "channels",   "nz",
                                       "ngf",    "ndf",        "config",   "checksum"};
    enum { NK = sizeof keys / sizeof keys[0] };
    cg_st_file *f = NULL;
    if (cg_safetensors_open(from, &f) != CG_OK) return 0;
    const char *values[NK];
    for (int i = 0; i < NK; i++) values[i] = !strcmp(keys[i], key) ? value : cg_safetensors_meta(f, keys[i]);
    int n = cg_safetensors_count(f);
    cg_st_tensor *t = calloc((size_t)n, sizeof *t);
    cg_status st = t ? CG_OK : CG_ERR_NOMEM;
    for (int i = 0; st == CG_OK && i < n; i++) {
        t[i].name = cg_safetensors_name(f, i);
        st = cg_safetensors_get(f, t[i].name, &t[i].shape, &t[i].ndim, &t[i].data);
    }
    if (st == CG_OK) st = cg_safetensors_write(to, t, n, keys, values, NK);
    free(t);
    cg_safetensors_close(f);
    return st == CG_OK;
}

static void test_metadata_ranges(void) {
    const char *err = DIR "/meta.err", *ckpt = DIR "/run/checkpoint.safetensors";
    int rc = cli_run(err, "train", "--config", INI, "--set", "train.iterations=2", NULL);
    CHECK(rc == 0, "training the checkpoint -> %d", rc);
    static const char *const bad[][2] = {{"ngf", "99999999999"}, {"ngf", "4294967304"}, {"nz", "-5"},
                                         {"image_size", "1e9"},  {"channels", "0"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = DIR "/bad_meta.safetensors";
        CHECK(rewrite_meta(ckpt, path, bad[i][0], bad[i][1]), "rewriting %s", path);
        rc = cli_run(err, "sample", "--config", INI, "--checkpoint", path, "--n", "4", "--out", DIR "/m.npy", NULL);
        CHECK(refused(rc) && cli_contains(err, bad[i][0]) && !cli_exists(DIR "/m.npy"),
              "sample with %s = %s -> %d", bad[i][0], bad[i][1], rc);
        rc = cli_run(err, "train", "--config", INI, "--set", "train.out=" DIR "/meta", "--resume", path, NULL);
        CHECK(refused(rc) && cli_contains(err, path), "train --resume with %s = %s -> %d", bad[i][0], bad[i][1], rc);
    }
}

static void test_inputs(void) {
    const char *err = DIR "/inputs.err";
    // An empty landmark list: every image lacks landmarks, nothing is kept, nothing is written.
    cli_spit(DIR "/empty_landmarks.txt", "", 0);
    int rc = cli_run(err, "preprocess", "--input", DIR "/synth", "--out", DIR "/lm.cgds", "--set",
                     "preprocess.landmarks=" DIR "/empty_landmarks.txt", "--set", "preprocess.reject_sheets=false",
                     NULL);
    CHECK(rc == 1 && !cli_exists(DIR "/lm.cgds"), "preprocess with an empty landmark list -> %d", rc);
    // A flipped payload byte: train refuses the dataset, and so must stats.
    size_t n;
    char *d = cli_slurp(DIR "/faces.cgds", &n);
    CHECK(d && n > 200, "reading the dataset");
    if (d && n > 200) {
        d[100] ^= 0x55;
        cli_spit(DIR "/bad.cgds", d, n);
    }
    free(d);
    rc = cli_run(err, "stats", "--images", DIR "/bad.cgds", "--out", DIR "/bad.npz", NULL);
    CHECK(rc == 1 && cli_contains(err, "checksum") && !cli_exists(DIR "/bad.npz"), "stats of a corrupt dataset -> %d",
          rc);
    static const char *const opts[][2] = {{"--n", "-3"}, {"--n", "0"}, {"--batch", "0"}, {"--batch", "-1"}};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        rc = cli_run(err, "stats", "--images", DIR "/faces.cgds", "--out", DIR "/o.npz", opts[i][0], opts[i][1], NULL);
        CHECK(rc == 2 && cli_contains(err, opts[i][1]), "stats %s %s -> %d", opts[i][0], opts[i][1], rc);
    }
    rc = cli_run(err, "score", "--images", DIR "/faces.cgds", "--n", "-3", NULL);
    CHECK(rc == 2 && cli_contains(err, "-3"), "score --n -3 -> %d", rc);
    rc = cli_run(err, "bench", "--suite", "gemm", "--cases", "nonexist", "--out", DIR "/bench", NULL);
    CHECK(rc == 2 && cli_contains(err, "nonexist") && !cli_exists(DIR "/bench/bench.json"),
          "bench --cases nonexist -> %d", rc);
    const char *dup = "[train]\nlr = 0.1\n; comment\n\n[model]\nnz = 8\n[TRAIN]\nLR=0.2\n";
    cli_spit(DIR "/dup.ini", dup, strlen(dup));
    rc = cli_run(err, "train", "--config", DIR "/dup.ini", NULL);
    CHECK(rc == 2 && cli_contains(err, "dup.ini:8") && cli_contains(err, "line 2"), "a key set twice -> %d", rc);
    rc = cli_run(err, "train", "--config", INI, "--config", DIR "/dup.ini", NULL);
    CHECK(rc == 2 && cli_contains(err, "twice"), "--config twice -> %d", rc);
}

static void test_gemm_memory(void) {
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "gemm under a memory limit: not run under AddressSanitizer (it reserves terabytes)\n");
#else
    const char *err = DIR "/gemm.err";
    cli_child_mem_limit = 1400L << 20; // A alone needs 1 GiB
    int rc = cli_run(err, "gemm", "--m", "16384", "--k", "16384", "--n", "1", NULL);
    cli_child_mem_limit = 0;
    CHECK(rc == 1 && cli_contains(err, "memory"), "gemm 16384x1x16384 under 1.4 GiB -> %d", rc);
#endif
}

int main(void) {
    cli_setup(DIR);
    if (!cli_make_run_setup(DIR, "40", 4)) return test_finish("cli_errors");
    test_fifos();
    test_metadata_ranges();
    test_inputs();
    test_gemm_memory();
    return test_finish("cli_errors");
}
