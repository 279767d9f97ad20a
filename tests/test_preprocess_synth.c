// test_preprocess_synth.c — the filters against ground truth on synthetic faces (clgan synth), at
// the shipped thresholds (configs/preprocess.ini, which must equal the built-in defaults):
//   frontal filter alone      precision and recall >= 0.95 against the synth truth "frontal"
//   sunglasses filter alone   precision and recall >= 0.95 against synth_truth.txt "sunglasses"
// each by at least 3 binomial standard errors (sqrt(q(1-q)/n), Agresti-Coull q), else the test fails
// for having too few faces to tell; every number, its SE and its margin are printed. And the whole
// pipeline end to end: stage counts add up, the dataset it writes opens with the kept images in input
// order, the report is valid JSON. Prints the metric distributions the thresholds were chosen from.
// Frontal: precision and recall lie near 0.956, so 1,000 faces (SE 0.008) cannot tell them from 0.95.
// The bounds are checked on 120,000 faces of seeds 1-3 whose landmarks come from
// cg_synth_landmarks_of without rendering (about 1 s): measured P 0.9559, R 0.9557, SE 0.0008,
// margins 7.7 and 7.3 SE. That path must make exactly the pipeline's decisions on the 1,000 written
// faces. Sunglasses: P = R = 1.0 on 89 positives of 1,000 faces: SE 0.015, margin 3.3 SE.
// Under AddressSanitizer (10x slower) the test renders 80 faces and 6,000 landmark sets and checks
// everything except the 0.95 bounds, which the plain pass checks.
// Environment: CLGAN_TEST_SYNTH_DIR=DIR uses an existing synthetic set instead of writing one;
// CLGAN_TEST_SYNTH_N (default 1000) and CLGAN_TEST_SYNTH_SEED (default 1) choose the faces.
#include "preprocess.h"
#include "synth.h"
#include "test_util.h"

#include <cJSON.h>
#include <ftw.h>
#include <unistd.h>

typedef struct {
    char name[32];
    float yaw, roll;
    int sunglasses, eyeglasses, frontal;
} truth_row;

static truth_row *read_truth(const char *dir, size_t *n) {
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/synth_truth.txt", dir);
    FILE *f = fopen(path, "r");
    *n = 0;
    if (!f) return NULL;
    truth_row *t = NULL;
    size_t cap = 0;
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    CHECK(strstr(line, "image yaw_deg roll_deg sunglasses eyeglasses frontal") == line, "truth header: %s", line);
    while (fgets(line, sizeof line, f)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            t = realloc(t, cap * sizeof *t);
        }
        truth_row *r = &t[*n];
        if (sscanf(line, "%31s %f %f %d %d %d", r->name, &r->yaw, &r->roll, &r->sunglasses, &r->eyeglasses,
                   &r->frontal) == 6)
            (*n)++;
    }
    fclose(f);
    return t;
}

static const truth_row *find_truth(const truth_row *t, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return &t[i];
    return NULL;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void quantiles(const char *label, float *v, size_t n) {
    if (!n) return;
    qsort(v, n, sizeof *v, cmp_float);
    printf("  %-34s n=%-4zu min %.3f q10 %.3f q25 %.3f q50 %.3f q75 %.3f q90 %.3f max %.3f\n", label, n, v[0],
           v[n / 10], v[n / 4], v[n / 2], v[3 * n / 4], v[9 * n / 10], v[n - 1]);
}

typedef struct {
    size_t tp, fp, fn, tn;
} confusion;

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#define LARGE_SEEDS 3
#define LARGE_N (SANITIZED ? 2000 : 40000)
#define BOUND 0.95
#define MIN_MARGIN_SE 3.0

// Binomial standard error of a proportion x / n, with the Agresti-Coull estimate (x + 2) / (n + 4)
// so that 100 % of a small n does not claim an error of zero.
static double std_error(size_t x, size_t n) {
    double q = ((double)x + 2) / ((double)n + 4);
    return sqrt(q * (1 - q) / ((double)n + 4));
}

// Prints precision and recall with their standard errors and margins to BOUND; with `bounded`, both
// must reach BOUND by at least MIN_MARGIN_SE standard errors (else the sample is too small to say).
static void score(const char *what, confusion c, int bounded) {
    double p = c.tp + c.fp ? (double)c.tp / (double)(c.tp + c.fp) : 0;
    double r = c.tp + c.fn ? (double)c.tp / (double)(c.tp + c.fn) : 0;
    double sp = std_error(c.tp, c.tp + c.fp), sr = std_error(c.tp, c.tp + c.fn);
    printf("%s filter: precision %.4f (SE %.4f, margin to %.2f %+.4f = %.1f SE) recall %.4f (SE %.4f, margin "
           "%+.4f = %.1f SE) (tp %zu fp %zu fn %zu tn %zu)%s\n",
           what, p, sp, BOUND, p - BOUND, (p - BOUND) / sp, r, sr, r - BOUND, (r - BOUND) / sr, c.tp, c.fp, c.fn, c.tn,
           bounded ? "" : " [bounds not checked on this sample]");
    CHECK(c.tp > 0, "%s filter found nothing", what);
    if (!bounded) return;
    CHECK(p >= BOUND, "%s precision %.4f < %.2f", what, p, BOUND);
    CHECK(r >= BOUND, "%s recall %.4f < %.2f", what, r, BOUND);
    CHECK(p - BOUND >= MIN_MARGIN_SE * sp && r - BOUND >= MIN_MARGIN_SE * sr,
          "%s: precision or recall within %.0f standard errors of %.2f: too few faces to tell", what, MIN_MARGIN_SE,
          BOUND);
}

// The frontal decision as the pipeline makes it from a synthetic face's landmark row: the rendered
// landmarks rounded to whole pixels (synth_write.c), then the shipped thresholds.
static int frontal_predicted(const cg_synth_face *f, const cg_pp_params *p) {
    cg_synth_landmarks m;
    cg_synth_landmarks_of(f, &m);
    cg_landmarks lm;
    for (int k = 0; k < CG_LM_POINTS; k++) {
        lm.x[k] = (float)lrintf(m.pt[2 * k]);
        lm.y[k] = (float)lrintf(m.pt[2 * k + 1]);
    }
    cg_frontal_metrics fm = cg_frontal_measure(&lm);
    return cg_frontal_pass(&fm, p);
}

static confusion frontal_direct(const cg_pp_params *p, uint64_t seed, int n) {
    confusion c = {0};
    for (int i = 0; i < n; i++) {
        cg_synth_face f;
        cg_synth_sample(seed, (uint64_t)i, &f);
        int pred = frontal_predicted(&f, p), truth = CG_SYNTH_IS_FRONTAL(f.yaw_deg, f.roll_deg);
        c.tp += pred && truth;
        c.fp += pred && !truth;
        c.fn += !pred && truth;
        c.tn += !pred && !truth;
    }
    return c;
}

// The shipped configuration file and the built-in defaults agree, key by key. The strings in
// *shipped live as long as the returned configuration.
static cg_config *check_shipped_config(cg_pp_params *shipped) {
    const char *src = getenv("CLGAN_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/configs/preprocess.ini", src ? src : ".");
    cg_config *cfg = NULL;
    CHECK_OK(cg_config_load(path, &cfg));
    cg_pp_params_default(shipped);
    if (!cfg) return NULL;
    CHECK_OK(cg_pp_params_from_config(cfg, shipped));
    const char *v;
    CHECK_OK(cg_config_str(cfg, "device", "platform", "", NULL, &v)); // [device] is the CLI's to read
    CHECK_OK(cg_config_str(cfg, "device", "device", "", NULL, &v));
    CHECK_OK(cg_config_str(cfg, "device", "type", "any", "any|gpu|cpu", &v));
    long min_face; // [landmarks] is the detector's (cli/cmd_landmarks.c), read with landmarks = detect
    CHECK_OK(cg_config_str(cfg, "landmarks", "weights", "", NULL, &v));
    CHECK_OK(cg_config_int(cfg, "landmarks", "min_face", 20, 4, 1 << 16, &min_face));
    CHECK(cg_config_warn_unknown(cfg, stderr) == 0, "configs/preprocess.ini has unknown keys");
    cg_pp_params d;
    cg_pp_params_default(&d);
    CHECK(shipped->eye_dy_max == d.eye_dy_max && shipped->nose_dx_max == d.nose_dx_max &&
              shipped->mouth_dy_max == d.mouth_dy_max && shipped->eye_box == d.eye_box &&
              shipped->sunglasses_ratio_max == d.sunglasses_ratio_max &&
              shipped->sunglasses_grey_max == d.sunglasses_grey_max && shipped->zoom_factor == d.zoom_factor &&
              shipped->size == d.size && shipped->frontal == d.frontal && shipped->sunglasses == d.sunglasses &&
              shipped->zoom == d.zoom && !strcmp(shipped->sunglasses_reference, d.sunglasses_reference),
          "configs/preprocess.ini and the defaults in preprocess.h disagree");
    return cfg;
}

static cg_pp_result *run(cg_runtime *rt, const cg_pp_params *p) {
    cg_pp_result *r = NULL;
    CHECK_OK(cg_preprocess_run(rt, p, NULL, &r));
    return r;
}

// The pipeline's frontal filter on the rendered set; its bounds are checked on the large sample.
static confusion frontal_vs_truth(cg_runtime *rt, cg_pp_params p, const truth_row *t, size_t nt) {
    p.sunglasses = 0;
    confusion c = {0};
    cg_pp_result *r = run(rt, &p);
    if (!r) return c;
    float *v[6];
    size_t nv[6] = {0};
    for (int k = 0; k < 6; k++) v[k] = malloc((r->set.n + 1) * sizeof(float));
    for (size_t i = 0; i < r->set.n; i++) {
        const truth_row *tr = find_truth(t, nt, r->set.entries[i].name);
        if (!tr || r->items[i].outcome == CG_PP_BEYOND_LIMIT) continue;
        int pred = r->items[i].outcome != CG_PP_NOT_FRONTAL;
        c.tp += pred && tr->frontal;
        c.fp += pred && !tr->frontal;
        c.fn += !pred && tr->frontal;
        c.tn += !pred && !tr->frontal;
        int f = tr->frontal ? 0 : 3;
        v[f][nv[f]++] = r->items[i].fm.eye_dy;
        v[f + 1][nv[f + 1]++] = r->items[i].fm.nose_dx;
        v[f + 2][nv[f + 2]++] = r->items[i].fm.mouth_dy;
    }
    printf("frontal metrics (thresholds %g / %g / %g):\n", p.eye_dy_max, p.nose_dx_max, p.mouth_dy_max);
    const char *names[6] = {"eye_dy, frontal", "nose_dx, frontal", "mouth_dy, frontal",
                            "eye_dy, not frontal", "nose_dx, not frontal", "mouth_dy, not frontal"};
    for (int k = 0; k < 6; k++) quantiles(names[k], v[k], nv[k]), free(v[k]);
    score("frontal (pipeline)", c, 0);
    cg_pp_result_free(r);
    return c;
}

static void sunglasses_vs_truth(cg_runtime *rt, cg_pp_params p, const truth_row *t, size_t nt) {
    p.frontal = 0;
    cg_pp_result *r = run(rt, &p);
    if (!r) return;
    confusion c = {0};
    float *v[4];
    size_t nv[4] = {0};
    for (int k = 0; k < 4; k++) v[k] = malloc((r->set.n + 1) * sizeof(float));
    for (size_t i = 0; i < r->set.n; i++) {
        const truth_row *tr = find_truth(t, nt, r->set.entries[i].name);
        const cg_pp_item *it = &r->items[i];
        if (!tr || it->outcome == CG_PP_BEYOND_LIMIT) continue;
        int pred = it->outcome == CG_PP_SUNGLASSES;
        c.tp += pred && tr->sunglasses;
        c.fp += pred && !tr->sunglasses;
        c.fn += !pred && tr->sunglasses;
        c.tn += !pred && !tr->sunglasses;
        int k = tr->sunglasses ? 0 : 2;
        v[k][nv[k]++] = it->sun_score;
        v[k + 1][nv[k + 1]++] = fmaxf(it->eye_left, it->eye_right);
    }
    printf("sunglasses metrics (ratio < %g and grey < %g, eye box %g iod, reference %s):\n", p.sunglasses_ratio_max,
           p.sunglasses_grey_max, p.eye_box, p.sunglasses_reference);
    const char *names[4] = {"eye/crop ratio, sunglasses", "brighter eye grey, sunglasses",
                            "eye/crop ratio, no sunglasses", "brighter eye grey, no sunglasses"};
    for (int k = 0; k < 4; k++) quantiles(names[k], v[k], nv[k]), free(v[k]);
    score("sunglasses", c, !SANITIZED);
    cg_pp_result_free(r);
}

// Defaults end to end with a dataset: counts add up; the dataset holds the kept images in order.
static void end_to_end(cg_runtime *rt, cg_pp_params p, const char *dir) {
    char out[1024], report[1024];
    snprintf(out, sizeof out, "%s/faces.cgds", dir);
    snprintf(report, sizeof report, "%s/faces_report.json", dir);
    p.output = out;
    cg_pp_result *r = run(rt, &p);
    if (!r) return;
    cg_pp_report_print(r, stdout);
    for (int i = 1; i < r->n_stages; i++)
        CHECK(r->stages[i].kept + r->stages[i].removed == r->stages[i - 1].kept, "stage %s does not add up",
              r->stages[i].name);
    CHECK(r->stages[r->n_stages - 1].kept == r->written, "last stage %zu, written %zu",
          r->stages[r->n_stages - 1].kept, r->written);
    CHECK(r->issues.n == 0, "%zu problems in a clean synthetic set", r->issues.n);
    CHECK_OK(cg_pp_report_write(r, &p, report));
    char sheets[2][1024];
    CHECK_OK(cg_pp_write_sheets(r, &p, sheets));
    for (int i = 0; i < 2; i++) {
        char *png = NULL;
        size_t n = 0;
        CHECK(r->sheet_n[i] > 0 && sheets[i][0], "no contact sheet %d", i);
        if (sheets[i][0]) CHECK_OK(cg_read_file(sheets[i], &png, &n));
        CHECK(!png || (n > 8 && !memcmp(png, "\x89PNG", 4)), "%s is not a PNG", sheets[i]);
        free(png);
    }
    cg_dataset *ds = NULL;
    CHECK_OK(cg_dataset_open(out, 1, &ds));
    if (ds) {
        uint32_t h, w, c;
        cg_dataset_shape(ds, &h, &w, &c);
        CHECK(cg_dataset_count(ds) == r->written && h == 64 && w == 64 && c == 3, "dataset %u images %ux%ux%u",
              cg_dataset_count(ds), h, w, c);
        uint32_t k = 0;
        for (size_t i = 0; i < r->set.n && k < cg_dataset_count(ds); i++)
            if (r->items[i].outcome == CG_PP_KEPT) {
                CHECK(!strcmp(cg_dataset_name(ds, k), r->set.entries[i].name), "dataset name %u: %s, expected %s", k,
                      cg_dataset_name(ds, k), r->set.entries[i].name);
                k++;
            }
        CHECK(cg_dataset_checksum(ds) == r->checksum, "checksum");
        cg_dataset_close(ds);
    }
    char *text = NULL;
    size_t len = 0;
    CHECK_OK(cg_read_file(report, &text, &len));
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "stages")) == r->n_stages, "report JSON");
    cJSON_Delete(j);
    free(text);
    cg_pp_result_free(r);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    const char *given = getenv("CLGAN_TEST_SYNTH_DIR");
    int n = getenv("CLGAN_TEST_SYNTH_N") ? atoi(getenv("CLGAN_TEST_SYNTH_N")) : SANITIZED ? 80 : 1000;
    uint64_t seed = getenv("CLGAN_TEST_SYNTH_SEED") ? strtoull(getenv("CLGAN_TEST_SYNTH_SEED"), NULL, 10) : 1;
    char dir[1024], work[1024];
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(work, sizeof work, "%s/clgan_test_preprocess_synth_XXXXXX", tmp);
    if (!mkdtemp(work)) {
        fprintf(stderr, "cannot create a temporary folder under %s\n", tmp);
        return 1;
    }
    if (given && *given) snprintf(dir, sizeof dir, "%s", given);
    else {
        snprintf(dir, sizeof dir, "%s/synth", work);
        CHECK_OK(cg_synth_write(dir, n, seed, 0, NULL));
    }
    size_t nt = 0;
    truth_row *t = read_truth(dir, &nt);
    CHECK(nt > 0, "no ground truth in %s", dir);
    size_t nf = 0, ns = 0;
    for (size_t i = 0; i < nt && (int)i < n; i++) nf += t[i].frontal, ns += t[i].sunglasses;
    printf("synthetic set %s: %d faces, %zu frontal, %zu with sunglasses\n", dir, n, nf, ns);

    cg_pp_params p;
    cg_config *cfg = check_shipped_config(&p);
    p.input = dir;
    p.output = "";
    p.reject_sheets = 0;
    p.limit = n;
    if (nt) {
        confusion piped = frontal_vs_truth(rt, p, t, nt);
        if (!given || !*given) {
            confusion direct = frontal_direct(&p, seed, n);
            CHECK(!memcmp(&direct, &piped, sizeof direct),
                  "frontal decisions from cg_synth_landmarks_of (tp %zu fp %zu fn %zu tn %zu) differ from the "
                  "pipeline's on the written set", direct.tp, direct.fp, direct.fn, direct.tn);
        }
        confusion big = {0};
        for (uint64_t s = 1; s <= LARGE_SEEDS; s++) {
            confusion c = frontal_direct(&p, s, LARGE_N);
            big.tp += c.tp, big.fp += c.fp, big.fn += c.fn, big.tn += c.tn;
        }
        char what[128];
        snprintf(what, sizeof what, "frontal (%d faces of seeds 1-%d, landmarks without rendering)",
                 LARGE_SEEDS * LARGE_N, LARGE_SEEDS);
        score(what, big, !SANITIZED);
        sunglasses_vs_truth(rt, p, t, nt);
        p.reject_sheets = 1;
        end_to_end(rt, p, work);
    }
    free(t);
    cg_config_free(cfg);
    nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    cg_runtime_free(rt);
    return test_finish("test_preprocess_synth");
}
