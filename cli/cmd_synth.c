// cmd_synth.c — `clgan synth`: writes synthetic CelebA-style faces with known pose and eyewear, and
// optionally a contact sheet of the first faces.
#include "cli.h"
#include "synth.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHEET_MAX 64

// Command-line values become --set overrides, so the effective configuration shows what ran.
static int add_override(cli_common *common, char *buf, size_t len, const char *key, const char *value) {
    if (!value) return 0;
    if (common->sets.count == (int)(sizeof common->sets.items / sizeof common->sets.items[0])) {
        fprintf(stderr, "clgan synth: too many --set options\n");
        return EXIT_USAGE;
    }
    snprintf(buf, len, "synth.%s=%s", key, value);
    common->sets.items[common->sets.count++] = buf;
    return 0;
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *n_text = NULL, *out = NULL, *seed_text = NULL, *threads_text = NULL, *sheet = NULL;
    const cli_opt opts[] = {
        {"n", OPT_STRING, "N", "number of faces (synth.n, default 1000)", &n_text},
        {"out", OPT_STRING, "DIR", "output folder (synth.out, default data/synth)", &out},
        {"seed", OPT_STRING, "S", "random seed (synth.seed, default 1)", &seed_text},
        {"threads", OPT_STRING, "T", "worker threads, 0 = all cores (synth.threads, default 0)", &threads_text},
        {"sheet", OPT_STRING, "FILE.png", "also write a contact sheet of the first (up to 64) faces", &sheet},
        {0},
    };
    int rc = cli_parse(&cmd_synth, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_synth, opts, stdout);
        return EXIT_OK;
    }
    char bufs[4][4200];
    if ((rc = add_override(&common, bufs[0], sizeof bufs[0], "n", n_text)) ||
        (rc = add_override(&common, bufs[1], sizeof bufs[1], "out", out)) ||
        (rc = add_override(&common, bufs[2], sizeof bufs[2], "seed", seed_text)) ||
        (rc = add_override(&common, bufs[3], sizeof bufs[3], "threads", threads_text)))
        return rc;
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    long n = 0, seed = 0, threads = 0;
    const char *dir = NULL;
    cg_status st = cg_config_int(cfg, "synth", "n", 1000, 1, 999999, &n);
    if (st == CG_OK) st = cg_config_str(cfg, "synth", "out", "data/synth", NULL, &dir);
    if (st == CG_OK) st = cg_config_int(cfg, "synth", "seed", 1, 0, 2147483647L, &seed);
    if (st == CG_OK) st = cg_config_int(cfg, "synth", "threads", 0, 0, 256, &threads);
    if (st == CG_OK && !*dir) st = cg_fail(CG_ERR_CONFIG, "synth.out is empty: name an output folder");
    if (st != CG_OK) {
        cg_config_free(cfg);
        return cli_report("synth", st);
    }
    if (cli_print_config(cfg)) {
        cg_config_free(cfg);
        return EXIT_USAGE;
    }
    double t0 = cg_now_s();
    st = cg_synth_write(dir, (int)n, (uint64_t)seed, (int)threads, stderr);
    if (st == CG_OK) {
        double dt = cg_now_s() - t0;
        fprintf(stderr, "wrote %ld faces to %s in %.1f s (%.0f images/s)\n", n, dir, dt, dt > 0 ? n / dt : 0.0);
    }
    if (st == CG_OK && sheet) {
        int k = n < SHEET_MAX ? (int)n : SHEET_MAX;
        st = cg_synth_sheet(sheet, k, (uint64_t)seed, k < 8 ? k : 8, 0);
        if (st == CG_OK) fprintf(stderr, "wrote a contact sheet of %d faces to %s\n", k, sheet);
    }
    cg_config_free(cfg);
    return cli_report("synth", st);
}

const cli_command cmd_synth = {
    "synth",
    "write synthetic CelebA-style faces with known pose, eyewear and landmarks",
    "--n N --out DIR [--seed S] [--threads T] [--sheet FILE.png]",
    "Renders N faces of 178x218 pixels in the layout of CelebA's aligned release: img_align_celeba/\n"
    "000001.jpg ..., list_landmarks_align_celeba.txt, list_attr_celeba.txt (the 40 CelebA attributes\n"
    "plus Sunglasses), list_eval_partition.txt (80/10/10), and synth_truth.txt with each face's yaw,\n"
    "roll, sunglasses, clear glasses and whether it is frontal (|yaw| <= 15 and |roll| <= 6 degrees).\n"
    "Face i of a seed is the same whatever N is. --sheet writes the first (up to 64) faces as a PNG\n"
    "grid. Keys: [synth] n, out, seed, threads. No OpenCL device is needed.",
    run,
};
