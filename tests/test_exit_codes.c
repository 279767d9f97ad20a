// test_exit_codes.c — the exit-code rule of every command (issue 14, item 9; README "Errors and
// files", cli/cli.h): 2 for what the command line or the configuration says (an unknown option, a
// bad value of an INI key through --set, an unknown --set key, a device selection that matches
// nothing), 1 for what the files or the device do (an input that is missing, unreadable or corrupt,
// an output that cannot be written because a regular file stands where its folder should be, an
// OpenCL failure), 3 for a signal. For each command, one case of each kind that applies, with the
// exit status and a word of the message that names the file, option or key. The MTCNN cases of landmarks need the
// weights converted from $CLGAN_SHARED_DATA (skipped as 'data' without them).
#include "cli_test_util.h"
#include "srvgg_test_util.h"

#include <sys/file.h>

#define DIR "test-exit-codes-out"
#define INI DIR "/base.ini"
#define CKPT DIR "/run/checkpoint.safetensors"
#define AFILE DIR "/afile" // a regular file: an output under it cannot be written
#define MAX_ARGS 24

typedef struct {
    const char *what;
    int want;
    const char *needle; // in the message; NULL: any
    const char *args[MAX_ARGS];
} exit_case;

static void run_case(const exit_case *c) {
    const char *err = DIR "/case.err";
    int rc = cli_wait(cli_spawn(err, c->args));
    char *text = cli_slurp(err, NULL);
    const char *msg = text ? text : "";
    // The message is the last line that says "error" (before it: the effective configuration).
    const char *line = msg;
    for (const char *p = msg; (p = strstr(p, "error")); p++) line = p;
    int named = !c->needle || strstr(msg, c->needle);
    // Under ASan+UBSan: no error path leaks or does anything undefined.
    CHECK(!strstr(msg, "Sanitizer") && !strstr(msg, "runtime error:"), "%s: a sanitizer report: %.400s", c->what,
          strstr(msg, "Sanitizer") ? strstr(msg, "Sanitizer") : strstr(msg, "runtime error:"));
    CHECK(rc == c->want && named, "%s: exit %d (want %d), message %s '%s': %.300s", c->what, rc, c->want,
          named ? "names" : "lacks", c->needle ? c->needle : "", line);
    free(text);
}

#define RUN(what, want, needle, ...) run_case(&(exit_case){what, want, needle, {__VA_ARGS__, NULL}})

// Every command refuses an unknown option with 2, naming it.
static void usage_errors(void) {
    static const char *const commands[] = {"train", "preprocess", "score", "stats",     "sample",  "synth",
                                           "bench", "tune",       "gemm",  "devices",   "kernels", "landmarks",
                                           "upscale", "demo"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s --bogus", commands[i]);
        run_case(&(exit_case){what, 2, "--bogus", {commands[i], "--bogus", NULL}});
    }
    RUN("help nope", 2, "nope", "help", "nope");
    RUN("sample without --checkpoint", 2, "--checkpoint", "sample", "--n", "4", "--out", DIR "/u.png");
}

// A bad value of an INI key through --set: 2, naming the key and the value.
static void config_errors(const char *demo_ini) {
    RUN("train [train] batch_size", 2, "batch_size", "train", "--config", INI, "--set", "train.batch_size=abc");
    RUN("preprocess [preprocess] size", 2, "size", "preprocess", "--input", DIR "/synth", "--out", DIR "/c.cgds",
        "--set", "preprocess.size=abc");
    RUN("score [score] n", 2, "abc", "score", "--images", DIR "/faces.cgds", "--set", "score.n=abc");
    RUN("stats [score] batch", 2, "abc", "stats", "--images", DIR "/faces.cgds", "--out", DIR "/c.npz", "--set",
        "score.batch=abc");
    RUN("sample [device] type", 2, "type", "sample", "--checkpoint", CKPT, "--n", "4", "--out", DIR "/c.png", "--set",
        "device.type=abc");
    RUN("synth [synth] seed", 2, "seed", "synth", "--n", "2", "--out", DIR "/c-synth", "--set", "synth.seed=abc");
    RUN("bench [device] type", 2, "type", "bench", "--suite", "gemm", "--quick", "--out", DIR "/c-bench", "--set",
        "device.type=abc");
    RUN("tune [device] type", 2, "type", "tune", "--quick", "--set", "device.type=abc");
    RUN("gemm [device] type", 2, "type", "gemm", "--set", "device.type=abc");
    RUN("devices [device] type", 2, "type", "devices", "--set", "device.type=abc");
    RUN("devices unknown --set key", 2, "bogus", "devices", "--set", "device.bogus=1");
    RUN("devices --device 99", 2, "99", "devices", "--device", "99");
    RUN("kernels [device] type", 2, "type", "kernels", "--set", "device.type=abc");
    RUN("kernels unknown --set key", 2, "kernels", "kernels", "--set", "kernels.bogus=1");
    RUN("landmarks [landmarks] min_face", 2, "min_face", "landmarks", "--input", DIR "/synth", "--out", DIR "/c.txt",
        "--set", "landmarks.min_face=abc");
    RUN("upscale [device] type", 2, "type", "upscale", "--weights", DIR "/srvgg.safetensors", "--input", DIR "/small",
        "--out", DIR "/c-up", "--set", "device.type=abc");
    RUN("score --metrics faceness [landmarks] min_face", 2, "min_face", "score", "--images", DIR "/faces.cgds",
        "--metrics", "faceness", "--set", "landmarks.min_face=abc");
    RUN("demo [demo] synth_n", 2, "synth_n", "demo", "--config", demo_ini, "--set", "demo.synth_n=abc");
    RUN("train --device 99", 2, "99", "train", "--config", INI, "--device", "99");
}

// Inputs that are missing or corrupt: 1, naming the file.
static void input_errors(const char *demo_ini) {
    RUN("train missing dataset", 1, "nope.cgds", "train", "--config", INI, "--set", "train.dataset=" DIR "/nope.cgds",
        "--set", "train.out=" DIR "/i1");
    RUN("train corrupt dataset", 1, "bad.cgds", "train", "--config", INI, "--set", "train.dataset=" DIR "/bad.cgds",
        "--set", "train.out=" DIR "/i2");
    RUN("train missing --resume", 1, "nope.safetensors", "train", "--config", INI, "--set", "train.out=" DIR "/i3",
        "--resume", DIR "/nope.safetensors");
    RUN("train corrupt --resume", 1, "bad.safetensors", "train", "--config", INI, "--set", "train.out=" DIR "/i4",
        "--resume", DIR "/bad.safetensors");
    RUN("preprocess missing --input", 1, "nope", "preprocess", "--input", DIR "/nope", "--out", DIR "/i.cgds");
    RUN("preprocess unreadable images", 1, "badimgs", "preprocess", "--input", DIR "/badimgs", "--out", DIR "/i.cgds",
        "--set", "preprocess.size=32");
    RUN("score missing --images", 1, "nope.cgds", "score", "--images", DIR "/nope.cgds", "--metrics", "is");
    RUN("score corrupt --images", 1, "bad.cgds", "score", "--images", DIR "/bad.cgds", "--metrics", "is");
    RUN("score missing --checkpoint", 1, "nope.safetensors", "score", "--checkpoint", DIR "/nope.safetensors",
        "--metrics", "is");
    RUN("score corrupt --weights", 1, "bad.safetensors", "score", "--images", DIR "/faces.cgds", "--weights",
        DIR "/bad.safetensors", "--metrics", "is");
    RUN("score missing --weights", 1, "nope.safetensors", "score", "--images", DIR "/faces.cgds", "--weights",
        DIR "/nope.safetensors", "--metrics", "is");
    RUN("score corrupt --ref", 1, "bad.npz", "score", "--images", DIR "/faces.cgds", "--metrics", "fid", "--ref",
        DIR "/bad.npz", "--weights", DIR "/bad.safetensors");
    RUN("stats missing --images", 1, "nope.cgds", "stats", "--images", DIR "/nope.cgds", "--out", DIR "/i.npz");
    RUN("stats corrupt --images", 1, "bad.cgds", "stats", "--images", DIR "/bad.cgds", "--out", DIR "/i.npz");
    RUN("stats corrupt --weights", 1, "bad.safetensors", "stats", "--images", DIR "/faces.cgds", "--out",
        DIR "/i.npz", "--weights", DIR "/bad.safetensors");
    RUN("sample missing --checkpoint", 1, "nope.safetensors", "sample", "--checkpoint", DIR "/nope.safetensors", "--n",
        "4", "--out", DIR "/i.png");
    RUN("sample corrupt --checkpoint", 1, "bad.safetensors", "sample", "--checkpoint", DIR "/bad.safetensors", "--n",
        "4", "--out", DIR "/i.png");
    RUN("sample corrupt --z", 1, "bad.npy", "sample", "--checkpoint", CKPT, "--n", "4", "--out", DIR "/i.png", "--z",
        DIR "/bad.npy");
    RUN("landmarks missing --weights", 1, "nope.safetensors", "landmarks", "--input", DIR "/synth", "--out",
        DIR "/i.txt", "--weights", DIR "/nope.safetensors");
    RUN("landmarks corrupt --weights", 1, "bad.safetensors", "landmarks", "--input", DIR "/synth", "--out",
        DIR "/i.txt", "--weights", DIR "/bad.safetensors");
    RUN("upscale missing --weights", 1, "nope.safetensors", "upscale", "--weights", DIR "/nope.safetensors", "--input",
        DIR "/small", "--out", DIR "/i-up");
    RUN("upscale corrupt --weights", 1, "bad.safetensors", "upscale", "--weights", DIR "/bad.safetensors", "--input",
        DIR "/small", "--out", DIR "/i-up");
    RUN("upscale missing --input", 1, "nope", "upscale", "--weights", DIR "/srvgg.safetensors", "--input", DIR "/nope",
        "--out", DIR "/i-up");
    RUN("upscale corrupt --input", 1, "bad.npy", "upscale", "--weights", DIR "/srvgg.safetensors", "--input",
        DIR "/bad.npy", "--out", DIR "/i-up.npy");
    // demo reuses the synthetic faces and the dataset it finds: a corrupt one is refused.
    RUN("demo corrupt dataset", 1, "bad.cgds", "demo", "--config", demo_ini, "--set", "demo.synth_dir=" DIR "/synth",
        "--set", "train.dataset=" DIR "/bad.cgds", "--set", "train.out=" DIR "/i-demo");
}

// Outputs under a regular file: 1, naming the output, and nothing written.
static void output_errors(const char *demo_ini) {
    RUN("train [train] out", 1, "afile", "train", "--config", INI, "--set", "train.out=" AFILE "/run");
    RUN("preprocess --out", 1, "afile", "preprocess", "--input", DIR "/synth", "--out", AFILE "/o.cgds", "--set",
        "preprocess.size=32", "--set", "preprocess.frontal=false", "--set", "preprocess.sunglasses=false", "--set",
        "preprocess.reject_sheets=false");
    RUN("score --out", 1, "afile", "score", "--images", DIR "/faces.cgds", "--metrics", "is", "--out", AFILE "/o.json",
        "--weights", DIR "/bad.safetensors");
    RUN("stats --out", 1, "afile", "stats", "--images", DIR "/faces.cgds", "--out", AFILE "/o.npz", "--weights",
        DIR "/bad.safetensors");
    RUN("sample --out", 1, "afile", "sample", "--checkpoint", CKPT, "--n", "4", "--out", AFILE "/o.png");
    RUN("synth --out", 1, "afile", "synth", "--n", "2", "--out", AFILE "/o");
    RUN("bench --out", 1, "afile", "bench", "--suite", "gemm", "--quick", "--out", AFILE "/o");
    RUN("kernels --emit", 1, "afile", "kernels", "--emit", AFILE "/o");
    RUN("landmarks --out", 1, "afile", "landmarks", "--input", DIR "/synth", "--out", AFILE "/o.txt", "--weights",
        DIR "/bad.safetensors");
    RUN("landmarks --boxes", 1, "afile", "landmarks", "--input", DIR "/synth", "--out", DIR "/o.txt", "--boxes",
        AFILE "/o.csv", "--weights", DIR "/bad.safetensors");
    RUN("upscale --out", 1, "afile", "upscale", "--weights", DIR "/srvgg.safetensors", "--input", DIR "/small", "--out",
        AFILE "/o");
    RUN("demo [demo] synth_dir", 1, "afile", "demo", "--config", demo_ini, "--set", "demo.synth_dir=" AFILE "/s",
        "--set", "train.out=" DIR "/o-demo", "--set", "train.dataset=" DIR "/o-demo.cgds");
    // tune stores its result in the cache folder.
    setenv("CLGAN_CACHE_DIR", AFILE "/cache", 1);
    RUN("tune cache folder", 1, "afile", "tune", "--quick");
    unsetenv("CLGAN_CACHE_DIR");
    CHECK(!cli_exists(DIR "/o.txt"), "landmarks wrote its list although --boxes cannot be written");
}

// MTCNN's own cases: an input folder that does not exist, one whose every image is unreadable.
static void landmarks_inputs(void) {
    const char *src = getenv("CLGAN_SOURCE_DIR"), *data = getenv("CLGAN_SHARED_DATA");
    const char *py = getenv("CLGAN_PYTHON");
    char script[1024], f32[1024];
    snprintf(script, sizeof script, "%s/tools/convert_mtcnn.py", src ? src : ".");
    snprintf(f32, sizeof f32, "%s/mtcnn_facenet_pytorch/f32", data ? data : "../shared/data");
    if (!py || !*py) py = "/usr/bin/python3";
    if (test_run("/dev/null", NULL, NULL, py, script, "--f32", f32, DIR "/mtcnn.safetensors", (char *)NULL) != 0) {
        test_skip_part("data", "cannot convert the MTCNN weights from %s", f32);
        return;
    }
    RUN("landmarks missing --input", 1, "nope", "landmarks", "--input", DIR "/nope", "--out", DIR "/l.txt",
        "--weights", DIR "/mtcnn.safetensors");
    RUN("landmarks unreadable images", 1, "badimgs", "landmarks", "--input", DIR "/badimgs", "--out", DIR "/l.txt",
        "--weights", DIR "/mtcnn.safetensors");
    CHECK(!cli_exists(DIR "/l.txt"), "landmarks wrote a list although no image could be read");
}

// Non-finite Inception weights are corrupt input: 1, and the message says where the file came from,
// --weights or the INI key [score] weights (the finite check runs before Inception loads).
static void nan_weights(void) {
    const char *ini = DIR "/score.ini", *text = "[score]\nweights = " DIR "/nan.safetensors\n";
    CHECK(cli_spit(ini, text, strlen(text)), "writing %s", ini);
    RUN("score --weights NaN", 1, "--weights " DIR "/nan.safetensors: tensor", "score", "--images", DIR "/faces.cgds",
        "--metrics", "is", "--weights", DIR "/nan.safetensors");
    RUN("score [score] weights NaN", 1, "[score] weights = " DIR "/nan.safetensors: tensor", "score", "--config", ini,
        "--images", DIR "/faces.cgds", "--metrics", "is");
    RUN("stats --weights NaN", 1, "--weights " DIR "/nan.safetensors: tensor", "stats", "--images", DIR "/faces.cgds",
        "--out", DIR "/nan.npz", "--weights", DIR "/nan.safetensors");
    RUN("stats [score] weights NaN", 1, "[score] weights = " DIR "/nan.safetensors: tensor", "stats", "--config", ini,
        "--images", DIR "/faces.cgds", "--out", DIR "/nan.npz");
}

// Whether a trainer still holds the run folder's lock.
static int lock_held(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/.clgan-train.lock", dir);
    int fd = open(path, O_RDWR);
    if (fd < 0) return 0;
    int held = flock(fd, LOCK_EX | LOCK_NB) != 0;
    close(fd);
    return held;
}

typedef int (*moment_fn)(const char *arg);
static int text_in_err(const char *needle) { return cli_contains(DIR "/sig.err", needle); }
static int no_file(const char *path) { return !cli_exists(path); }
static int temp_in_dir(const char *dir) { return cli_temp_files(dir) > 0; }

// Starts args, waits for reached(reach_arg) (an event, no time guess), freezes the command there
// with SIGSTOP and, when still(still_arg) shows it has not moved past the moment, sends sig and
// lets it continue: its exit status. -2 when the moment was missed (it ended, or moved on before
// the SIGSTOP landed); the caller starts over.
static int signal_at(const char *const *args, moment_fn reached, const char *reach_arg, moment_fn still,
                     const char *still_arg, int sig) {
    pid_t pid = cli_spawn(DIR "/sig.err", args);
    int at = 0;
    for (double t0 = cg_now_s(); !at && cg_now_s() - t0 < CLI_HANG_S;) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return -2;
        at = reached(reach_arg);
    }
    kill(pid, SIGSTOP);
    int ok = at && still(still_arg);
    kill(pid, ok ? sig : SIGKILL);
    kill(pid, SIGCONT);
    int rc = cli_wait(pid);
    return ok ? rc : -2;
}

// A signal is exit 3 for every command. train, while loading (after it printed its configuration,
// kernels compiling: no disk cache; before the run folder gets its log): stops before training,
// says nothing was written, writes nothing and holds no lock. preprocess, while its dataset is being
// written (its temporary file exists): ends with the message and leaves neither the dataset nor
// the temporary file.
static void interrupted(void) {
    const char *err = DIR "/sig.err", *out = DIR "/sig-run";
    const char *train[] = {"train", "--config", INI, "--set", "train.out=" DIR "/sig-run", NULL};
    setenv("CLGAN_NO_DISK_CACHE", "1", 1);
    int rc = -2;
    for (int tries = 0; rc == -2 && tries < 5; tries++) {
        test_rm_rf(out);
        rc = signal_at(train, text_in_err, "effective configuration", no_file, DIR "/sig-run/log.csv", SIGINT);
    }
    unsetenv("CLGAN_NO_DISK_CACHE");
    CHECK(rc == 3 && cli_contains(err, "stopped by signal 2 before training started; nothing was written"),
          "train, SIGINT while loading: exit %d (want 3 and the message; see %s)", rc, err);
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", out);
    CHECK(!cli_exists(path) && cli_temp_files(out) == 0 && !lock_held(out), "train, SIGINT while loading: %s",
          cli_exists(path) ? "a checkpoint was written" : lock_held(out) ? "the lock is held" : "temporary files left");
    snprintf(path, sizeof path, "%s/log.csv", out);
    CHECK(!cli_exists(path), "train, SIGINT while loading: log.csv was written");

    const char *pre[] = {"preprocess", "--input", DIR "/synth", "--out", DIR "/sig.cgds", "--set", "preprocess.size=32",
                         "--set", "preprocess.frontal=false", "--set", "preprocess.sunglasses=false", "--set",
                         "preprocess.reject_sheets=false", "--set", "preprocess.batch=1", NULL};
    rc = -2;
    for (int tries = 0; rc == -2 && tries < 20; tries++) {
        remove(DIR "/sig.cgds");
        rc = signal_at(pre, temp_in_dir, DIR, temp_in_dir, DIR, SIGTERM);
    }
    CHECK(rc == 3 && cli_contains(err, "clgan preprocess: stopped by signal 15"),
          "preprocess, SIGTERM while writing: exit %d (want 3 and the message)", rc);
    CHECK(cli_temp_files(DIR) == 0 && !cli_exists(DIR "/sig.cgds"), "preprocess, SIGTERM while writing: %s",
          cli_exists(DIR "/sig.cgds") ? "the dataset was written" : "its temporary file was left");

    // score (faceness: MTCNN weights from landmarks_inputs), once it has printed its configuration:
    // SIGHUP ends it with 3 and the message, without its JSON.
    if (!cli_exists(DIR "/mtcnn.safetensors")) return;
    const char *score[] = {"score", "--images", DIR "/faces.cgds", "--metrics", "faceness", "--set",
                           "landmarks.weights=" DIR "/mtcnn.safetensors", "--out", DIR "/sig.json", NULL};
    rc = -2;
    for (int tries = 0; rc == -2 && tries < 5; tries++)
        rc = signal_at(score, text_in_err, "effective configuration", no_file, DIR "/sig.json", SIGHUP);
    CHECK(rc == 3 && cli_contains(err, "clgan score: stopped by signal 1") && !cli_exists(DIR "/sig.json") &&
              cli_temp_files(DIR) == 0,
          "score, SIGHUP while scoring: exit %d (want 3, the message, no JSON and no temporary)", rc);
}

static void make_inputs(void) {
    const char *err = DIR "/setup.err";
    int rc = cli_run(err, "train", "--config", INI, NULL);
    CHECK(rc == 0 && cli_exists(CKPT), "training the checkpoint -> %d", rc);
    const char *text = "not a safetensors file\n";
    CHECK(cli_spit(DIR "/bad.safetensors", text, strlen(text)) && cli_spit(DIR "/bad.npz", text, strlen(text)) &&
              cli_spit(DIR "/bad.npy", text, strlen(text)) && cli_spit(AFILE, text, strlen(text)),
          "writing the corrupt files");
    size_t n;
    char *d = cli_slurp(DIR "/faces.cgds", &n);
    CHECK(d && n > 200, "reading the dataset");
    if (d && n > 200) {
        d[n - 7] ^= 0x55; // a payload byte: the checksum no longer matches
        cli_spit(DIR "/bad.cgds", d, n);
    }
    free(d);
    CHECK(mkdir(DIR "/badimgs", 0755) == 0 && cli_spit(DIR "/badimgs/a.png", text, strlen(text)) &&
              cli_spit(DIR "/badimgs/b.jpg", text, strlen(text)),
          "a folder of unreadable images");
    CHECK(mkdir(DIR "/small", 0755) == 0 && cli_copy(DIR "/synth/img_align_celeba/000001.jpg", DIR "/small/a.jpg"),
          "a folder of one image");
    CHECK_OK(write_weights(DIR "/srvgg.safetensors", 4, 3, 4, 7, (damage){0}));
    CHECK_OK(write_weights(DIR "/nan.safetensors", 4, 3, 4, 7, (damage){.nan_at = "body.2.weight"}));
}

int main(void) {
    cli_setup(DIR);
    const char *src = getenv("CLGAN_SOURCE_DIR");
    char demo_ini[1024];
    snprintf(demo_ini, sizeof demo_ini, "%s/configs/demo.ini", src && *src ? src : ".");
    if (!cli_make_run_setup(DIR, "24", 2)) return test_finish("exit_codes");
    make_inputs();
    usage_errors();
    config_errors(demo_ini);
    input_errors(demo_ini);
    output_errors(demo_ini);
    landmarks_inputs();
    nan_weights();
    interrupted();
    return test_finish("exit_codes");
}
