// cmd_landmarks.c — `clgan landmarks`: the MTCNN detector over a folder of images -> a landmark list
// in CelebA's list_landmarks_align_celeba.txt layout (and optionally the boxes), and the same run
// for `clgan preprocess` with [preprocess] landmarks = detect.
#include "cli.h"
#include "mtcnn_list.h"

#include <stdlib.h>

cg_status cli_landmarks_config(cg_config *cfg, cli_landmarks_opts *o) {
    CG_TRY(cg_config_str(cfg, "landmarks", "weights", "", NULL, &o->weights));
    CG_TRY(cg_config_int(cfg, "landmarks", "min_face", 20, 4, 1 << 16, &o->min_face));
    return CG_OK;
}

cg_status cli_landmarks_detect(cg_runtime *rt, const cli_landmarks_opts *o, const char *images, long limit,
                               int max_side, const char *out, const char *boxes) {
    char weights[1024];
    CG_TRY(cg_mtcnn_find_weights(rt, o->weights, weights, sizeof weights));
    cg_status st = cli_safetensors_finite("[landmarks] weights", weights);
    cg_mtcnn *m = NULL;
    if (st == CG_OK) st = cg_mtcnn_create(rt, weights, &m);
    cg_mtcnn_params p = cg_mtcnn_defaults();
    p.min_face = (int)o->min_face;
    cg_mtcnn_list_result r = {0};
    if (st == CG_OK) st = cg_mtcnn_landmark_list(m, &p, images, limit, max_side, out, boxes, stderr, &r);
    cg_mtcnn_free(m);
    if (st != CG_OK) {
        cg_mtcnn_list_result_free(&r);
        return st;
    }
    for (size_t i = 0; i < r.n_no_face; i++) fprintf(stderr, "no face: %s\n", r.no_face[i]);
    for (size_t i = 0; i < r.n_unreadable; i++) fprintf(stderr, "unreadable: %s\n", r.unreadable[i]);
    fprintf(stderr, "landmarks: %zu of %zu images with a face, %zu without, %zu unreadable; %.1f s (%.1f images/s)\n",
            r.with_face, r.images, r.n_no_face, r.n_unreadable, r.seconds,
            r.seconds > 0 ? (double)r.images / r.seconds : 0.0);
    fprintf(stderr, "landmarks: wrote %s%s%s\n", out, boxes && *boxes ? " and " : "", boxes && *boxes ? boxes : "");
    cg_mtcnn_list_result_free(&r);
    return CG_OK;
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const char *input = NULL, *out = NULL, *boxes = NULL, *weights = NULL;
    int min_face = CLI_UNSET;
    const cli_opt opts[] = {
        {"input", OPT_STRING, "DIR", "folder of images (JPEG, PNG, ...)", &input},
        {"out", OPT_STRING, "FILE", "landmark list to write (list_landmarks_align_celeba.txt layout)", &out},
        {"boxes", OPT_STRING, "FILE.csv", "also write each image's face box and probability", &boxes},
        {"min-face", OPT_INT, "N", "smallest face side in pixels (same as --set landmarks.min_face=N; 20)",
         &min_face},
        {"weights", OPT_STRING, "FILE", "MTCNN weights (same as --set landmarks.weights=FILE)", &weights},
        {0},
    };
    int rc = cli_parse(&cmd_landmarks, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_landmarks, opts, stdout);
        return EXIT_OK;
    }
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;
    char mbuf[16];
    const cli_given given[] = {{"weights", weights}, {"min_face", cli_int_given(min_face, mbuf)}};
    cli_landmarks_opts o;
    cg_status st = cli_set_given(cfg, "landmarks", given, sizeof given / sizeof given[0]);
    if (st == CG_OK) st = cli_landmarks_config(cfg, &o);
    if (st == CG_OK && (!input || !out)) st = cg_fail(CG_ERR_CONFIG, "landmarks needs --input DIR and --out FILE");
    const cli_given inputs[] = {{"--weights", o.weights}};
    if (st == CG_OK) st = cli_output_distinct("--out", out, inputs, 1);
    if (st == CG_OK && boxes) st = cli_output_distinct("--boxes", boxes, (const cli_given[]){{"--out", out}}, 1);
    if (st == CG_OK && (cli_in_folder(out, input) || (boxes && cli_in_folder(boxes, input))))
        st = cg_fail(CG_ERR_CONFIG, "the outputs may not lie in the image folder %s", input);
    cg_runtime *rt = NULL;
    if (st == CG_OK) st = cli_open_runtime(cfg, &common, &rt);
    if (st == CG_OK && cli_print_config(cfg)) st = cg_fail(CG_ERR_CONFIG, "an unknown --set key (see above)");
    if (st == CG_OK) st = cli_landmarks_detect(rt, &o, input, 0, 8192, out, boxes);
    cg_runtime_free(rt);
    cg_config_free(cfg);
    return cli_report("landmarks", st);
}

const cli_command cmd_landmarks = {
    "landmarks",
    "five facial landmarks of every image in a folder (MTCNN) -> a CelebA landmark list",
    "--input DIR --out list_landmarks.txt [--boxes boxes.csv] [--min-face N] [--weights FILE]",
    "Runs the MTCNN face detector (facenet-pytorch's P-, R- and O-Net) on the OpenCL device over every\n"
    "image of DIR and writes CelebA's list_landmarks_align_celeba.txt layout: the count line, the header\n"
    "line, then one row per image with a face: the most probable face's eyes, nose and mouth corners in\n"
    "the 178x218 reference frame of the aligned CelebA images (scaled from the image's own size), which\n"
    "is what `clgan preprocess` reads. Images without a face are listed on stderr and left out. The\n"
    "weights are [landmarks] weights, else $CLGAN_MTCNN_WEIGHTS, else mtcnn.safetensors in the cache\n"
    "folder ($CLGAN_CACHE_DIR, ~/.cache/clgan); docs/landmarks.md says how to obtain and convert them.",
    run,
};
