// test_limits_fit.c — a training batch is checked against the device before anything is allocated
// (issue 14): with a 1 MiB largest allocation, a DCGAN batch of 4096 is refused naming the net, the
// buffer, its size and the largest batch that fits (which fits, one more does not); with 1 MiB of
// global memory the refusal names global memory; and `clgan train --set train.batch_size=100000`
// under CLGAN_DEVICE_PROFILE=small exits 2 saying the same.
#include "cli_test_util.h"
#include "limits_test_util.h"
#include "models.h"
#include "seq_limits.h"

#define DIR "test-limits-fit-out"

static void test_api(void) {
    cg_runtime *rt = limits_runtime(NULL, 1 << 20, 0);
    cg_ctx ctx = {.rt = rt};
    cg_model_config mc = {CG_MODEL_DCGAN, 32, 3, 16, 8, 8};
    cg_seq *g = NULL, *d = NULL;
    CHECK_OK(cg_model_generator(&ctx, &mc, &g));
    CHECK_OK(cg_model_discriminator(&ctx, &mc, &d));
    if (!g || !d) return;
    cg_seq *nets[2] = {g, d};
    const char *labels[2] = {"generator", "discriminator"};
    char why[512] = "";
    CHECK(!cg_seq_fits(nets, labels, 2, 4096, 1 << 20, 0, why, sizeof why), "batch 4096 in 1 MiB allocations");
    CHECK(strstr(why, "generator's activations buffer needs") && strstr(why, "largest allocation (1.0 MiB)"),
          "reason: %s", why);
    int fit = cg_seq_max_batch(nets, 2, 4096, 1 << 20, 0);
    CHECK(fit >= 1 && fit < 4096, "largest batch that fits: %d", fit);
    CHECK(cg_seq_fits(nets, labels, 2, fit, 1 << 20, 0, why, sizeof why), "batch %d fits", fit);
    CHECK(!cg_seq_fits(nets, labels, 2, fit + 1, 1 << 20, 0, why, sizeof why), "batch %d does not", fit + 1);
    char suggestion[64];
    snprintf(suggestion, sizeof suggestion, "[train] batch_size = %d fits", fit);
    CHECK_FAILS(cg_seq_fit_check(&ctx, nets, labels, 2, 4096, "[train] batch_size"), CG_ERR_CONFIG, suggestion);
    CHECK_OK(cg_seq_fit_check(&ctx, nets, labels, 2, fit, "[train] batch_size"));
    // What the check allowed, cg_seq_set_batch allocates.
    CHECK_OK(cg_seq_set_batch(&ctx, g, fit));
    CHECK_OK(cg_seq_set_batch(&ctx, d, fit));
    CHECK(!cg_seq_fits(nets, labels, 2, 64, 0, 1 << 20, why, sizeof why) && strstr(why, "global memory (1.0 MiB)"),
          "batch 64 in 1 MiB of global memory: %s", why);
    cg_seq_free(g);
    cg_seq_free(d);
    cg_runtime_free(rt);
}

static void test_cli(void) {
    cli_setup(DIR);
    if (!cli_make_run_setup(DIR, "8", 2)) return;
    setenv("CLGAN_DEVICE_PROFILE", "small", 1);
    int rc = cli_run(DIR "/train.err", "train", "--config", DIR "/base.ini", "--set", "train.batch_size=100000", NULL);
    unsetenv("CLGAN_DEVICE_PROFILE");
    CHECK(rc == 2, "clgan train with batch_size 100000 under the small profile -> %d, expected 2", rc);
    static const char *const needles[] = {"[train] batch_size = 100000 does not fit", "activations buffer needs",
                                          "largest allocation (64.0 MiB)", "fits"};
    for (int i = 0; i < 4; i++) CHECK(cli_contains(DIR "/train.err", needles[i]), "train.err lacks '%s'", needles[i]);
    CHECK(!cli_exists(DIR "/run/log.csv"), "a refused run writes no log");
}

int main(void) {
    test_api();
    test_cli();
    if (!test_failures) test_rm_rf(DIR);
    return test_finish("test_limits_fit");
}
