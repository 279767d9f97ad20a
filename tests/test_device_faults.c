// test_device_faults.c — a device that fails mid-run (issue 14, item 6): $CLGAN_FAULT (runtime/fault.c)
// makes the N-th buffer allocation fail with CL_MEM_OBJECT_ALLOCATION_FAILURE, or the N-th kernel
// launch or device read-back with CL_OUT_OF_RESOURCES, as a driver would. `clgan train` (DCGAN
// 32x32, 4 iterations, a checkpoint every 2) is failed during setup, in the first iteration inside a
// layer, in the third iteration (after the step-2 checkpoint) and during the step-4 checkpoint's
// read-back; `clgan score --checkpoint --metrics faceness` while sampling and reading back, and
// `clgan landmarks` in MTCNN's layers;
// `clgan preprocess` at each of a batch's kernel launches. Each
// must exit 1 (never a signal), name the OpenCL error and what failed (the kernel or buffer, the
// net and the layer), leave no temporary file and keep the last good checkpoint loadable: --resume
// then finishes the run bit for bit like an uninterrupted one. The phases are aimed with the event
// counts of clean runs of 1, 2 and 4 iterations (CLGAN_FAULT=count) and checked afterwards by the
// checkpoint's step and log.csv's rows. The score and landmarks parts need the MTCNN weights ('data').
#include "cli_test_util.h"

#define DIR "test-device-faults-out"
#define INI DIR "/base.ini"

typedef struct {
    long alloc, launch, read;
} counts;

static const char *err = DIR "/err.txt";

// Runs clgan args with $CLGAN_FAULT = fault; its exit status.
static int run_faulted(const char *fault, const char *const *args) {
    setenv("CLGAN_FAULT", fault, 1);
    int rc = cli_wait(cli_spawn(err, args));
    unsetenv("CLGAN_FAULT");
    return rc;
}

static counts count_events(const char *const *args) {
    counts c = {-1, -1, -1};
    int rc = run_faulted("count", args);
    char *text = cli_slurp(err, NULL);
    const char *line = text ? strstr(text, "clgan fault counts: ") : NULL;
    CHECK(rc == 0 && line && sscanf(line, "clgan fault counts: alloc %ld launch %ld read %ld", &c.alloc, &c.launch,
                                    &c.read) == 3,
          "counting run -> %d, %s", rc, line ? "counts unreadable" : "no counts printed");
    free(text);
    return c;
}

// The message: every needle is in the error output; exit 1; no temporary file in dir.
static void expect_failure(const char *what, int rc, const char *dir, const char *const *needles) {
    char *text = cli_slurp(err, NULL);
    const char *msg = text ? text : "", *line = strstr(msg, "error:") ? strstr(msg, "error:") : msg;
    CHECK(rc == 1, "%s: exit %d, want 1 (%s)", what, rc, rc > 128 ? "killed by a signal" : "not a failure");
    for (int i = 0; needles[i]; i++)
        CHECK(strstr(msg, needles[i]) != NULL, "%s: the message lacks '%s': %.500s", what, needles[i], line);
    CHECK(cli_temp_files(dir) == 0, "%s: temporary files left in %s", what, dir);
    // Under ASan+UBSan: the error path leaks nothing and does nothing undefined (the exit status
    // stays 1 when LeakSanitizer reports at exit).
    CHECK(!strstr(msg, "Sanitizer") && !strstr(msg, "runtime error:"), "%s: a sanitizer report: %.400s", what,
          strstr(msg, "Sanitizer") ? strstr(msg, "Sanitizer") : strstr(msg, "runtime error:"));
    printf("  %s: %.300s", what, line);
    free(text);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

// One faulted training run into DIR/<name>: its message, then the checkpoint it leaves (step
// want_step, or none when 0) and log.csv's rows; with a checkpoint, --resume must finish the run
// equal to the reference.
static void train_case(const char *name, const char *fault, long want_step, const char *const *needles) {
    char out[256], set_out[300], ckpt[300], what[300], why[256];
    snprintf(out, sizeof out, DIR "/%s", name);
    snprintf(set_out, sizeof set_out, "train.out=%s", out);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    snprintf(what, sizeof what, "train, %s (CLGAN_FAULT=%s)", name, fault);
    int rc = run_faulted(fault, (const char *const[]){"train", "--config", INI, "--set", set_out, NULL});
    expect_failure(what, rc, out, needles);
    CHECK(cli_contains(err, "generator") || cli_contains(err, "discriminator"), "%s: the message names no net", what);
    long step = cli_exists(ckpt) ? cli_ckpt_step(ckpt) : 0, last;
    int rows = cli_log_rows(out, &last, NULL);
    CHECK(step == want_step, "%s: the checkpoint is at step %ld, want %ld", what, step, want_step);
    CHECK(rows >= want_step, "%s: log.csv has %d rows, fewer than the checkpoint's %ld steps", what, rows, want_step);
    if (want_step == 0) return;
    rc = cli_run(err, "train", "--config", INI, "--set", set_out, "--resume", ckpt, NULL);
    CHECK(rc == 0 && cli_ckpt_step(ckpt) == 4, "%s: --resume -> %d, at step %ld", what, rc, cli_ckpt_step(ckpt));
    int ordered;
    rows = cli_log_rows(out, &last, &ordered);
    CHECK(rows == 4 && ordered, "%s: after --resume log.csv has %d rows (ordered %d), want 1..4", what, rows, ordered);
    CHECK(cli_temp_files(out) == 0, "%s: temporary files left after --resume", what);
    CHECK(cli_same_tensors(DIR "/ref/checkpoint.safetensors", ckpt, why, sizeof why),
          "%s: the resumed run differs from the uninterrupted one: %s", what, why);
}

static void train_faults(void) {
    const char *ref_args[] = {"train", "--config", INI, "--set", "train.out=" DIR "/ref", NULL};
    counts c4 = count_events(ref_args);
    counts c2 = count_events((const char *const[]){"train", "--config", INI, "--set", "train.out=" DIR "/count2",
                                                   "--set", "train.iterations=2", NULL});
    counts c1 = count_events((const char *const[]){"train", "--config", INI, "--set", "train.out=" DIR "/count1",
                                                   "--set", "train.iterations=1", NULL});
    if (c4.launch < 0 || c2.launch < 0 || c1.launch < 0) return;
    // Iterations 3 and 4 plus one checkpoint separate the 4- and 2-iteration runs; a run's end (the
    // sample grid, the final checkpoint) launches fewer kernels than half an iteration.
    long per_iter = (c4.launch - c2.launch) / 2, end_reads = (c4.read - c2.read) - 2 * (c2.read - c1.read);
    printf("  events: 1 iteration %ld launches, 2: %ld, 4: %ld (%ld per iteration); reads %ld/%ld/%ld; "
           "allocations %ld\n", c1.launch, c2.launch, c4.launch, per_iter, c1.read, c2.read, c4.read, c4.alloc);
    char fault[64];
    train_case("setup-alloc", "alloc:1", 0,
               NEEDLES("CL_MEM_OBJECT_ALLOCATION_FAILURE", "setting up training", "generator", "parameter buffer"));
    train_case("setup-alloc-acts", "alloc:10", 0, NEEDLES("CL_MEM_OBJECT_ALLOCATION_FAILURE", "activation buffer"));
    // The first batch-norm statistics launch: the discriminator's forward of the first real batch.
    train_case("iteration1-layer", "launch:bn_stats:1", 0,
               NEEDLES("CL_OUT_OF_RESOURCES", "kernel bn_stats", "discriminator", "main.3 (batchnorm2d)"));
    snprintf(fault, sizeof fault, "launch:%ld", c1.launch + per_iter + per_iter / 2);
    train_case("iteration3", fault, 2, NEEDLES("CL_OUT_OF_RESOURCES", "launching kernel"));
    // The step-4 checkpoint is the last thing a run reads back: its second read from the end.
    CHECK(end_reads >= 4, "a checkpoint reads back %ld buffers, expected at least 4", end_reads);
    snprintf(fault, sizeof fault, "read:%ld", c4.read - 1);
    train_case("checkpoint-readback", fault, 2,
               NEEDLES("CL_OUT_OF_RESOURCES", "saving checkpoint", "reading back the discriminator's"));
}

static void score_faults(void) {
    const char *src = getenv("CLGAN_SOURCE_DIR"), *data = getenv("CLGAN_SHARED_DATA"), *py = getenv("CLGAN_PYTHON");
    char script[1024], f32[1024];
    snprintf(script, sizeof script, "%s/tools/convert_mtcnn.py", src ? src : ".");
    snprintf(f32, sizeof f32, "%s/mtcnn_facenet_pytorch/f32", data ? data : "../shared/data");
    if (test_run("/dev/null", NULL, NULL, py && *py ? py : "/usr/bin/python3", script, "--f32", f32,
                 DIR "/mtcnn.safetensors", (char *)NULL) != 0) {
        test_skip_part("data", "cannot convert the MTCNN weights from %s", f32);
        return;
    }
    const char *const args[] = {"score", "--checkpoint", DIR "/ref/checkpoint.safetensors", "--metrics", "faceness",
                                "--n", "8", "--set", "landmarks.weights=" DIR "/mtcnn.safetensors", "--out",
                                DIR "/score.json", NULL};
    counts c = count_events(args);
    CHECK(cli_exists(DIR "/score.json"), "score without a fault wrote no JSON");
    remove(DIR "/score.json");
    int rc = run_faulted("alloc:1", args);
    expect_failure("score, alloc:1", rc, DIR, NEEDLES("CL_MEM_OBJECT_ALLOCATION_FAILURE", "generator", "parameter buffer"));
    rc = run_faulted("launch:nchw_to_wide:1", args);
    expect_failure("score, the generator's first convolution", rc, DIR,
                   NEEDLES("CL_OUT_OF_RESOURCES", "generator's forward pass", "(conv_transpose2d)", "nchw_to_wide"));
    rc = run_faulted("read:1", args);
    expect_failure("score, read:1", rc, DIR, NEEDLES("CL_OUT_OF_RESOURCES", "reading back the generator's 8 images"));
    char fault[64];
    snprintf(fault, sizeof fault, "launch:%ld", c.launch);
    rc = run_faulted(fault, args);
    expect_failure("score, the last launch", rc, DIR, NEEDLES("CL_OUT_OF_RESOURCES", "launching kernel"));
    CHECK(!cli_exists(DIR "/score.json"), "score wrote its JSON despite a device failure");
    // landmarks: MTCNN's own layers and buffers are named too.
    const char *const lm[] = {"landmarks", "--input", DIR "/synth/img_align_celeba", "--out", DIR "/list.txt",
                              "--weights", DIR "/mtcnn.safetensors", NULL};
    rc = run_faulted("launch:prelu_fwd:1", lm);
    expect_failure("landmarks, P-Net's first PReLU", rc, DIR,
                   NEEDLES("CL_OUT_OF_RESOURCES", "MTCNN pnet.prelu1 (prelu) with input", "prelu_fwd"));
    rc = run_faulted("launch:mtcnn_area_crop:2", lm);
    expect_failure("landmarks, R-Net's crops", rc, DIR, NEEDLES("CL_OUT_OF_RESOURCES", "mtcnn_area_crop"));
    CHECK(!cli_exists(DIR "/list.txt"), "landmarks wrote its list despite a device failure");
}

// preprocess: the crop kernel's launch fails while the batch's pixels are still being uploaded
// (non-blocking writes): exit 1 naming the kernel, no dataset, no temporary file, and (ASan) no
// read of the freed batch by the driver.
static void preprocess_faults(void) {
    const char *const args[] = {"preprocess", "--input", DIR "/synth", "--out", DIR "/pre.cgds", "--set",
                                "preprocess.size=32", "--set", "preprocess.frontal=false", "--set",
                                "preprocess.sunglasses=false", "--set", "preprocess.reject_sheets=false", NULL};
    for (int n = 1; n <= 3; n++) {
        char fault[32], what[64];
        snprintf(fault, sizeof fault, "launch:%d", n);
        snprintf(what, sizeof what, "preprocess, %s", fault);
        int rc = run_faulted(fault, args);
        expect_failure(what, rc, DIR, NEEDLES("CL_OUT_OF_RESOURCES", "launching kernel"));
        CHECK(!cli_exists(DIR "/pre.cgds"), "%s: the dataset was written", what);
    }
}

int main(void) {
    cli_setup(DIR);
    if (!cli_make_run_setup(DIR, "24", 4)) return test_finish("device_faults");
    train_faults();
    score_faults();
    preprocess_faults();
    return test_finish("device_faults");
}
