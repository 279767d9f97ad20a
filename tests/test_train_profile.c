// test_train_profile.c — `[train] profile = N` through clgan train: the kernel profile of the first N
// iterations lands in out/profile.md and out/profile.json, with rows for both nets' layers (forward
// and backward passes, the generator's conv_transpose2d) and the optimizer outside any layer, and the
// run itself ends as without a profile: the same checkpoint bytes (profiling changes no result);
// profile = 0 writes no profile.
#include "cli_test_util.h"
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define DIR "test-train-profile-out"

int main(void) {
    cli_setup(DIR);
    if (!cli_make_run_setup(DIR, "24", 4)) return test_finish("train_profile");
    const char *e = DIR "/train.err";
    int rc = cli_run(e, "train", "--config", DIR "/base.ini", "--set", "train.out=" DIR "/plain", (char *)NULL);
    CHECK(rc == 0, "train without a profile -> %d", rc);
    CHECK(!cli_exists(DIR "/plain/profile.md"), "no profile.md without [train] profile");
    rc = cli_run(e, "train", "--config", DIR "/base.ini", "--set", "train.out=" DIR "/prof", "--set", "train.profile=2",
                 (char *)NULL);
    CHECK(rc == 0, "train with profile = 2 -> %d", rc);
    char *md = cli_slurp(DIR "/prof/profile.md", NULL), *js = cli_slurp(DIR "/prof/profile.json", NULL);
    CHECK(md && js, "profile.md and profile.json written");
    if (md && js) {
        CHECK(strstr(md, "2 unit(s) profiled") != NULL, "the profile covers 2 iterations:\n%s", md);
        CHECK(strstr(js, "\"iterations\": 2") != NULL, "JSON: iterations 2");
        CHECK(strstr(js, "conv_transpose2d fwd") && strstr(js, "conv2d bwd") && strstr(js, "batchnorm2d fwd"),
              "JSON rows name the generator's and discriminator's layers and passes");
        CHECK(strstr(js, "\"kernel\": \"gemm_6x16\"") || strstr(js, "\"kernel\": \"clblast_sgemm\""),
              "JSON has the GEMM kernel");
        CHECK(strstr(js, "{\"layer\": \"-\", \"kernel\": \"adam_step\"") != NULL,
              "the optimizer step outside any layer");
        CHECK(cli_contains(e, "kernel profile of the first 2 iterations"), "the table is printed on stderr");
    }
    free(md);
    free(js);
    // The checkpoints store their configuration (the profile key, the out path); their generators
    // sample the same bytes.
    const char *runs[2] = {"plain", "prof"};
    for (int i = 0; i < 2; i++) {
        char ckpt[128], out[128];
        snprintf(ckpt, sizeof ckpt, DIR "/%s/checkpoint.safetensors", runs[i]);
        snprintf(out, sizeof out, DIR "/%s.npy", runs[i]);
        rc = cli_run(e, "sample", "--checkpoint", ckpt, "--n", "8", "--out", out, (char *)NULL);
        CHECK(rc == 0, "sample %s -> %d", ckpt, rc);
    }
    CHECK(cli_same_bytes(DIR "/plain.npy", DIR "/prof.npy"),
          "the trained generator is bit-identical with and without the profile");
    rc = cli_run(e, "train", "--config", DIR "/base.ini", "--set", "train.out=" DIR "/bad", "--set",
                 "train.profile=-1", (char *)NULL);
    CHECK(rc == 2 && cli_contains(e, "profile"), "profile = -1 is a configuration error naming the key -> %d", rc);
    return test_finish("train_profile");
}
