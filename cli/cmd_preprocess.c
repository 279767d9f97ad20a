// cmd_preprocess.c — `clgan preprocess`: CelebA (or a plain folder of images) -> frontal faces
// without sunglasses, zoomed and resized on the device -> a packed dataset, a JSON report and
// contact sheets of the rejects.
#include "cli.h"
#include "preprocess.h"

#include <stdlib.h>
#include <string.h>

// --input/--out/--limit become --set assignments, so the effective configuration shows them.
static int apply_shortcut(cg_config *cfg, const char *key, const char *value) {
    if (!value) return 0;
    size_t len = strlen(key) + strlen(value) + 2;
    char *a = malloc(len);
    if (!a) return -1;
    snprintf(a, len, "%s=%s", key, value);
    cg_status st = cg_config_set(cfg, a);
    free(a);
    if (st != CG_OK) fprintf(stderr, "clgan preprocess: %s\n", cg_last_error());
    return st == CG_OK ? 0 : -1;
}

// Neither the dataset nor the report may overwrite an input (a list, an image) or each other, and
// the dataset may not land among the images (the next run would list it as one).
static cg_status check_outputs(const cg_pp_params *p) {
    char images[1024], landmarks[1024], attributes[1024], partitions[1024], report[1024];
    cg_pp_resolve_paths(p, images, landmarks, attributes, partitions);
    cg_pp_report_path(p, report, sizeof report);
    const char *output = p->output ? p->output : "";
    const cli_given inputs[] = {{"[preprocess] landmarks", landmarks}, {"[preprocess] attributes", attributes},
                                {"[preprocess] partitions", partitions}, {"--out", output}};
    size_t n = sizeof inputs / sizeof inputs[0];
    CG_TRY(cli_output_distinct("--out", output, inputs, n - 1));
    CG_TRY(cli_output_distinct("[preprocess] report", report, inputs, n));
    if (cli_in_folder(output, images))
        return cg_fail(CG_ERR_CONFIG, "--out %s lies in the image folder %s: refusing to write among the inputs",
                       output, images);
    if (cli_in_folder(report, images))
        return cg_fail(CG_ERR_CONFIG, "[preprocess] report %s lies in the image folder %s: refusing to write among "
                       "the inputs", report, images);
    return CG_OK;
}

// landmarks = detect: the list the detector writes, <output or report without extension>_landmarks.txt.
static void detected_list_path(const cg_pp_params *p, char *buf, size_t len) {
    char report[1024];
    cg_pp_report_path(p, report, sizeof report);
    snprintf(buf, len, "%s", p->output && *p->output ? p->output : report);
    char *slash = strrchr(buf, '/'), *dot = strrchr(buf, '.');
    if (dot && (!slash || dot > slash + 1)) *dot = 0;
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "_landmarks.txt");
}

static int run_preprocess(cg_config *cfg, const cli_common *common) {
    cg_pp_params p;
    cli_landmarks_opts lo;
    char list[1024] = "", images[1024], unused[3][1024];
    cg_status st = cg_pp_params_from_config(cfg, &p);
    int detect = st == CG_OK && !strcmp(p.landmarks, "detect");
    if (st == CG_OK && detect) {
        st = cli_landmarks_config(cfg, &lo);
        p.landmarks = "none";
        cg_pp_resolve_paths(&p, images, unused[0], unused[1], unused[2]);
        detected_list_path(&p, list, sizeof list);
        p.landmarks = list;
    }
    if (st == CG_OK) st = check_outputs(&p);
    if (st == CG_OK && detect && cli_in_folder(list, images))
        st = cg_fail(CG_ERR_CONFIG, "the detected landmark list %s would lie in the image folder %s", list, images);
    if (st != CG_OK) return cli_report("preprocess", st);
    cg_runtime *rt = NULL;
    st = cli_open_runtime(cfg, common, &rt);
    if (st != CG_OK) return cli_report("preprocess", st);
    if (cli_check_unknown(cfg)) {
        cg_runtime_free(rt);
        return EXIT_USAGE;
    }
    printf("# effective configuration\n");
    cg_config_dump(cfg, stdout);
    printf("\n");
    fflush(stdout);
    if (detect) {
        st = cli_landmarks_detect(rt, &lo, images, p.limit, p.max_side, list, NULL);
        if (st != CG_OK) {
            cg_runtime_free(rt);
            return cli_report("preprocess", st);
        }
    }
    cg_pp_result *r = NULL;
    st = cg_preprocess_run(rt, &p, stderr, &r);
    if (st != CG_OK) {
        cg_runtime_free(rt);
        return cli_report("preprocess", st);
    }
    cg_pp_report_print(r, stdout);
    char report[1024], sheets[2][1024];
    cg_pp_report_path(&p, report, sizeof report);
    st = cg_pp_report_write(r, &p, report);
    if (st == CG_OK && p.reject_sheets) st = cg_pp_write_sheets(r, &p, sheets);
    if (st == CG_OK) {
        printf("\n");
        if (r->output[0])
            printf("dataset: %s (%zu images of %dx%dx3, checksum %016llx)\n", r->output, r->written, p.size, p.size,
                   (unsigned long long)r->checksum);
        else printf("dataset: none written ([preprocess] output is empty); %zu images passed\n", r->written);
        printf("report:  %s\n", report);
        for (int i = 0; p.reject_sheets && i < 2; i++)
            if (sheets[i][0]) printf("rejects: %s\n", sheets[i]);
        printf("time:    %.1f s for %zu listed images\n", r->timing.total_s, r->n_stages ? r->stages[0].kept : 0);
    }
    cg_pp_result_free(r);
    cg_runtime_free(rt);
    return cli_report("preprocess", st);
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *input = NULL, *out = NULL, *limit = NULL;
    const cli_opt opts[] = {
        {"input", OPT_STRING, "DIR", "dataset folder (same as --set preprocess.input=DIR)", &input},
        {"out", OPT_STRING, "FILE", "packed dataset to write (same as --set preprocess.output=FILE)", &out},
        {"limit", OPT_STRING, "N", "at most the first N images (same as --set preprocess.limit=N)", &limit},
        {0},
    };
    int rc = cli_parse(&cmd_preprocess, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_preprocess, opts, stdout);
        return EXIT_OK;
    }
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    if (apply_shortcut(cfg, "preprocess.input", input) || apply_shortcut(cfg, "preprocess.output", out) ||
        apply_shortcut(cfg, "preprocess.limit", limit)) {
        cg_config_free(cfg);
        return EXIT_USAGE;
    }
    rc = run_preprocess(cfg, &common);
    cg_config_free(cfg);
    return rc;
}

const cli_command cmd_preprocess = {
    "preprocess",
    "CelebA or a folder of images -> frontal, zoomed faces without sunglasses -> packed dataset",
    "[--config configs/preprocess.ini] [--input DIR] [--out FILE] [--limit N] [--set preprocess.KEY=VALUE]",
    "Reads a CelebA-layout folder (img_align_celeba/, list_landmarks_align_celeba.txt, list_attr_celeba.txt,\n"
    "list_eval_partition.txt; explicit list paths through [preprocess] landmarks/attributes/partitions)\n"
    "or a plain folder of images (then without the landmark filters). Keeps frontal faces (eye and\n"
    "mouth-corner levels, nose against the eyes' midpoint, relative to the inter-ocular distance), drops\n"
    "sunglasses (dark eye boxes against the image's mean brightness), crops around the landmarks and\n"
    "resizes with antialiasing on the OpenCL device while host threads decode the next JPEGs. Writes a\n"
    "packed, memory-mappable dataset (what `clgan train` reads), a JSON report with the count after each\n"
    "stage and every skipped file by name, and contact sheets of the images each filter rejected.\n"
    "Broken, missing and malformed inputs are skipped and reported; they never stop the run, but a run\n"
    "that keeps no image fails and leaves an existing dataset as it was. No output may be an input.\n"
    "[preprocess] landmarks = detect: a folder without a landmark list gets one from the MTCNN detector\n"
    "first (as `clgan landmarks`; [landmarks] weights, min_face), written next to the dataset as\n"
    "<output>_landmarks.txt; images without a face are dropped as no_landmarks.\n"
    "Keys and their defaults: configs/preprocess.ini.",
    run,
};
