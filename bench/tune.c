// tune.c — the GEMM tuner behind `clgan tune`: coordinate searches over CLBlast's Xgemm and
// XgemmDirect parameters (through CLBlastOverrideParameters), the size where CLBlast should switch
// from the direct to the indirect kernel, the own kernels' work-group, and the size from which the
// own kernels beat CLBlast. Every candidate's product is checked before it is timed.
//
// Each CLBlast candidate recompiles CLBlast's whole GEMM program (tens of seconds on PoCL), so the
// searches are short coordinate descents from a known-good seed rather than grids.
#include "bench.h"

#include <clblast_c.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { GEMMK, KREG, KWG, KWI, MDIMA, MDIMC, MWG, NDIMB, NDIMC, NWG, SA, SB, STRM, STRN, VWM, VWN, N_XGEMM };
static const char *const xgemm_names[N_XGEMM] = {"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB",
                                                 "NDIMC", "NWG",   "SA",   "SB",  "STRM", "STRN",  "VWM", "VWN"};
enum { KWID, MDIMAD, MDIMCD, NDIMBD, NDIMCD, PADA, PADB, VWMD, VWND, WGD, N_DIRECT };
static const char *const direct_names[N_DIRECT] = {"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD",
                                                   "PADA", "PADB",   "VWMD",   "VWND",   "WGD"};

// XGEMM_MIN_INDIRECT_SIZE values that force one kernel: m*n*k < min^3 selects the direct one.
#define FORCE_INDIRECT 1
#define FORCE_DIRECT 100000

typedef struct {
    cg_runtime *rt;
    const bench_tune_options *opt;
    bench_tune_summary *sum;
    cg_progress *progress;
    uint64_t steps;
    size_t x[N_XGEMM], d[N_DIRECT], min_indirect;
} tuner;

static cg_status override(tuner *t, const char *kernel, const char *const *names, const size_t *values, size_t n) {
    const char *list[N_XGEMM]; // CLBlast's C API takes a non-const array
    for (size_t i = 0; i < n; i++) list[i] = names[i];
    CLBlastStatusCode code =
        CLBlastOverrideParameters(cg_runtime_device(t->rt)->device, kernel, CLBlastPrecisionSingle, n, list, values);
    if (code != CLBlastSuccess)
        return cg_fail(CG_ERR_CLBLAST, "CLBlastOverrideParameters(%s) failed: %d", kernel, code);
    return CG_OK;
}

static cg_status set_min_indirect(tuner *t, size_t v) {
    const char *name = "XGEMM_MIN_INDIRECT_SIZE";
    return override(t, "GemmRoutine", &name, &v, 1);
}

static void step(tuner *t, const char *what) {
    t->steps++;
    if (t->progress) cg_progress_update(t->progress, t->steps, what);
}

static cg_status run_case(void *c) { return bench_gemm_case_run(c); }

// Checks then times the case through `impl`; GFLOP/s in *gflops. A wrong result or a failing
// launch rejects the candidate (CG_ERR_NUMERIC or the failure's status, detail in cg_last_error).
static cg_status measure(tuner *t, bench_gemm_case *c, const bench_gemm_shape *s, cg_gemm_impl impl, double *gflops) {
    cg_gemm_force(t->rt, impl);
    double err, med, lo, hi;
    cg_status st = bench_gemm_case_run(c);
    if (st == CG_OK) st = bench_gemm_case_check(c, 64, &err);
    if (st == CG_OK) st = bench_time(run_case, c, 1, t->opt->reps, BENCH_MIN_REP_S, &med, &lo, &hi);
    cg_gemm_force(t->rt, CG_GEMM_AUTO);
    *gflops = st == CG_OK ? 2.0 * (double)s->m * (double)s->n * (double)s->k / med * 1e-9 : 0;
    return st;
}

// Candidate bookkeeping shared by the searches: counts, and a rejected candidate never wins.
static void judge(tuner *t, cg_status st, double gflops, double *best, int *won) {
    t->sum->candidates++;
    *won = 0;
    if (st != CG_OK) {
        t->sum->rejected++;
        if (t->opt->log) fprintf(t->opt->log, "candidate rejected: %s\n", cg_last_error());
        return;
    }
    t->sum->valid++;
    if (gflops > *best) {
        *best = gflops;
        *won = 1;
    }
}

static int xgemm_valid(const size_t *x, const cg_device_info *dev) {
    size_t wg = x[MDIMC] * x[NDIMC];
    size_t local_bytes = 4 * (x[SA] * x[KWG] * x[MWG] + x[SB] * x[KWG] * x[NWG]);
    return x[KWG] % x[KWI] == 0 && x[MWG] % (x[MDIMC] * x[VWM]) == 0 && x[NWG] % (x[NDIMC] * x[VWN]) == 0 &&
           x[MWG] % (x[MDIMA] * x[VWM]) == 0 && x[NWG] % (x[NDIMB] * x[VWN]) == 0 &&
           x[KWG] % (wg / x[MDIMA]) == 0 && x[KWG] % (wg / x[NDIMB]) == 0 && wg <= dev->max_work_group &&
           local_bytes <= dev->local_mem;
}

static int direct_valid(const size_t *d, const cg_device_info *dev) {
    size_t wg = d[MDIMCD] * d[NDIMCD];
    return d[WGD] % d[KWID] == 0 && d[WGD] % (d[MDIMCD] * d[VWMD]) == 0 && d[WGD] % (d[NDIMCD] * d[VWND]) == 0 &&
           d[WGD] % (d[MDIMAD] * d[VWMD]) == 0 && d[WGD] % (d[NDIMBD] * d[VWND]) == 0 &&
           d[WGD] % (wg / d[MDIMAD]) == 0 && d[WGD] % (wg / d[NDIMBD]) == 0 && wg <= dev->max_work_group;
}

// One coordinate of a search: a group of parameters and the value tuples it may take.
typedef struct {
    int n_keys;
    int keys[2];
    int n_values;
    size_t values[6][2];
} coord;

static const coord xgemm_coords[] = {
    {2, {MWG, NWG}, 5, {{64, 64}, {128, 128}, {32, 32}, {128, 64}, {64, 128}}},
    {2, {VWM, VWN}, 4, {{4, 4}, {8, 8}, {2, 2}, {8, 4}}},
    {2, {MDIMC, NDIMC}, 3, {{8, 8}, {16, 16}, {16, 8}}},
    {1, {KWG}, 2, {{32}, {16}}},
    {1, {KWI}, 2, {{2}, {8}}},
    {2, {SA, SB}, 2, {{0, 0}, {1, 1}}},
};
static const coord direct_coords[] = {
    {1, {WGD}, 3, {{32}, {16}, {8}}},
    {2, {VWMD, VWND}, 4, {{4, 4}, {8, 8}, {2, 2}, {1, 1}}},
    {2, {MDIMCD, NDIMCD}, 2, {{8, 8}, {16, 16}}},
    {2, {PADA, PADB}, 2, {{0, 0}, {1, 1}}},
};

// Applies value tuple v of coordinate c to params p; dimensions of A/B loads follow the threads.
static void apply_coord(size_t *p, const coord *c, int v, int direct) {
    for (int i = 0; i < c->n_keys; i++) p[c->keys[i]] = c->values[v][i];
    if (direct) {
        p[MDIMAD] = p[MDIMCD];
        p[NDIMBD] = p[NDIMCD];
    } else {
        p[MDIMA] = p[MDIMC];
        p[NDIMB] = p[NDIMC];
    }
}

// Coordinate descent: the seed first, then every other value of each coordinate in turn, keeping
// the best; at most `budget` candidates are timed.
static cg_status search(tuner *t, int direct, bench_gemm_case *c, const bench_gemm_shape *s, int budget,
                        double *best_out) {
    size_t *cur = direct ? t->d : t->x;
    int n_params = direct ? N_DIRECT : N_XGEMM;
    const char *const *names = direct ? direct_names : xgemm_names;
    const char *kernel = direct ? "XgemmDirect" : "Xgemm";
    const coord *coords = direct ? direct_coords : xgemm_coords;
    int n_coords = direct ? (int)(sizeof direct_coords / sizeof direct_coords[0])
                          : (int)(sizeof xgemm_coords / sizeof xgemm_coords[0]);
    const cg_device_info *dev = cg_runtime_device(t->rt);
    double best = 0;
    int tried = 0, won;
    size_t cand[N_XGEMM];
    for (int ci = -1; ci < n_coords && tried < budget; ci++) {
        int n_values = ci < 0 ? 1 : coords[ci].n_values;
        for (int v = 0; v < n_values && tried < budget; v++) {
            memcpy(cand, cur, (size_t)n_params * sizeof(size_t));
            if (ci >= 0) {
                apply_coord(cand, &coords[ci], v, direct);
                if (!memcmp(cand, cur, (size_t)n_params * sizeof(size_t))) continue; // the current point
            }
            if (direct ? !direct_valid(cand, dev) : !xgemm_valid(cand, dev)) continue;
            tried++;
            double gf = 0;
            cg_status st = override(t, kernel, names, cand, (size_t)n_params);
            if (st == CG_OK) st = measure(t, c, s, CG_GEMM_CLBLAST, &gf);
            judge(t, st, gf, &best, &won);
            if (won) memcpy(cur, cand, (size_t)n_params * sizeof(size_t));
            if (t->opt->log) {
                fprintf(t->opt->log, "%s", kernel);
                for (int i = 0; i < n_params; i++) fprintf(t->opt->log, " %s=%zu", names[i], cand[i]);
                if (st == CG_OK) fprintf(t->opt->log, ": %.1f GFLOP/s%s\n", gf, won ? " (best so far)" : "");
                else fprintf(t->opt->log, ": rejected\n");
            }
            step(t, kernel);
        }
    }
    // Leave the best in place for what follows.
    CG_TRY(override(t, kernel, names, cur, (size_t)n_params));
    *best_out = best;
    return CG_OK;
}

static void seeds(tuner *t) {
    int cpu = (cg_runtime_device(t->rt)->type & CL_DEVICE_TYPE_CPU) != 0;
    // CPU seed: what CLBlast's own tuner found on a 2-core AMD EPYC (Zen 3).
    const size_t x_cpu[N_XGEMM] = {0, 1, 32, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4};
    const size_t x_gpu[N_XGEMM] = {0, 1, 16, 2, 16, 16, 64, 16, 16, 64, 1, 1, 0, 0, 2, 2};
    const size_t d_cpu[N_DIRECT] = {2, 8, 8, 8, 8, 0, 0, 4, 4, 32};
    const size_t d_gpu[N_DIRECT] = {2, 8, 8, 8, 8, 1, 1, 2, 2, 32};
    memcpy(t->x, cpu ? x_cpu : x_gpu, sizeof t->x);
    memcpy(t->d, cpu ? d_cpu : d_gpu, sizeof t->d);
}

typedef struct {
    size_t size;
    bench_gemm_shape shape;
    bench_gemm_case *c;
} ladder_step;

static cg_status ladder_create(tuner *t, const size_t *sizes, int n, ladder_step *out) {
    memset(out, 0, (size_t)n * sizeof *out);
    for (int i = 0; i < n; i++) {
        bench_gemm_shape s = {"ladder", 0, 0, sizes[i], sizes[i], sizes[i], "square"};
        out[i].size = sizes[i];
        out[i].shape = s;
        CG_TRY(bench_gemm_case_create(t->rt, &out[i].shape, 77 + (uint64_t)i, &out[i].c));
    }
    return CG_OK;
}

static void ladder_free(ladder_step *l, int n) {
    for (int i = 0; i < n; i++) bench_gemm_case_free(l[i].c);
}

// Times every ladder size through `impl` (after fixing XGEMM_MIN_INDIRECT_SIZE when min > 0).
static cg_status ladder_time(tuner *t, ladder_step *l, int n, cg_gemm_impl impl, size_t min, double *gf) {
    if (min) CG_TRY(set_min_indirect(t, min));
    for (int i = 0; i < n; i++) {
        cg_status st = measure(t, l[i].c, &l[i].shape, impl, &gf[i]);
        if (st != CG_OK) return cg_fail_context(st, "timing %zu^3 through %s", l[i].size, cg_gemm_impl_name(impl));
        if (t->opt->log)
            fprintf(t->opt->log, "ladder %zu^3 %s%s: %.1f GFLOP/s\n", l[i].size, cg_gemm_impl_name(impl),
                    min == FORCE_DIRECT ? " direct" : min == FORCE_INDIRECT ? " indirect" : "", gf[i]);
        step(t, "ladder");
    }
    return CG_OK;
}

static cg_status search_own(tuner *t, bench_gemm_case *c, const bench_gemm_shape *s, int budget, cg_gemm_tuning *out) {
    static const int wg[][2] = {{32, 2}, {16, 4}, {8, 8}, {64, 1}, {4, 16}, {16, 16}, {32, 8}, {1, 1}};
    const cg_device_info *dev = cg_runtime_device(t->rt);
    cg_gemm_tuning probe;
    cg_gemm_tuning_init(dev, &probe);
    double best = 0;
    int tried = 0, won;
    for (size_t i = 0; i < sizeof wg / sizeof wg[0] && tried < budget; i++) {
        if ((size_t)(wg[i][0] * wg[i][1]) > dev->max_work_group) continue;
        tried++;
        probe.own_enabled = 1;
        probe.own_lx = wg[i][0];
        probe.own_ly = wg[i][1];
        double gf = 0;
        cg_status st = cg_gemm_tuning_set(t->rt, &probe, "tuning in progress");
        if (st == CG_OK) st = measure(t, c, s, CG_GEMM_OWN, &gf);
        judge(t, st, gf, &best, &won);
        if (won) {
            out->own_lx = wg[i][0];
            out->own_ly = wg[i][1];
        }
        if (t->opt->log)
            fprintf(t->opt->log, "own work-group %dx%d: %.1f GFLOP/s%s\n", wg[i][0], wg[i][1], gf,
                    st != CG_OK ? " (rejected)" : won ? " (best so far)" : "");
        step(t, "own");
    }
    probe.own_lx = out->own_lx;
    probe.own_ly = out->own_ly;
    t->sum->own_gflops = best;
    return cg_gemm_tuning_set(t->rt, &probe, "tuning in progress");
}

// The own kernels' k block, on a product with a long k (the shape of weight gradients).
static cg_status search_kc(tuner *t, int budget, cg_gemm_tuning *out) {
    static const int kcs[] = {1024, 0, 512, 2048, 256};
    size_t side = t->opt->size / 4 < 16 ? 16 : t->opt->size / 4;
    bench_gemm_shape s = {"tune-kc", 0, 1, side, side, 8 * t->opt->size, "long k"};
    bench_gemm_case *c = NULL;
    CG_TRY(bench_gemm_case_create(t->rt, &s, 8, &c));
    cg_gemm_tuning probe = *out;
    probe.n_params = 0;
    double best = 0;
    int won;
    cg_status st = CG_OK;
    for (int i = 0; st == CG_OK && i < budget && i < (int)(sizeof kcs / sizeof kcs[0]); i++) {
        probe.own_kc = kcs[i];
        double gf = 0;
        st = cg_gemm_tuning_set(t->rt, &probe, "tuning in progress");
        cg_status ms = st == CG_OK ? measure(t, c, &s, CG_GEMM_OWN, &gf) : st;
        judge(t, ms, gf, &best, &won);
        if (won) out->own_kc = kcs[i];
        if (t->opt->log)
            fprintf(t->opt->log, "own k block %d (%zux%zux%zu): %.1f GFLOP/s%s\n", kcs[i], s.m, s.n, s.k, gf,
                    ms != CG_OK ? " (rejected)" : won ? " (best so far)" : "");
        step(t, "own k block");
    }
    bench_gemm_case_free(c);
    probe.own_kc = out->own_kc;
    if (st == CG_OK) st = cg_gemm_tuning_set(t->rt, &probe, "tuning in progress");
    return st;
}

static void fill_result(const tuner *t, cg_gemm_tuning *out) {
    out->n_params = 0;
    for (int i = 0; i < N_XGEMM; i++) {
        snprintf(out->params[out->n_params].name, sizeof out->params[0].name, "Xgemm.%s", xgemm_names[i]);
        out->params[out->n_params++].value = t->x[i];
    }
    for (int i = 0; i < N_DIRECT; i++) {
        snprintf(out->params[out->n_params].name, sizeof out->params[0].name, "XgemmDirect.%s", direct_names[i]);
        out->params[out->n_params++].value = t->d[i];
    }
    snprintf(out->params[out->n_params].name, sizeof out->params[0].name, "GemmRoutine.XGEMM_MIN_INDIRECT_SIZE");
    out->params[out->n_params++].value = t->min_indirect;
}

// Order matters for compile time: CLBlast caches one program per parameter combination, so the
// direct seed is set before the Xgemm search and the ladders reuse the searches' programs.
static cg_status tune_steps(tuner *t, cg_gemm_tuning *out, ladder_step *lad, int n_lad, const int budget[4]) {
    const bench_tune_options *o = t->opt;
    size_t direct_size = o->quick ? 48 : 256;
    bench_gemm_shape big = {"tune", 0, 0, o->size, o->size, o->size, "square"};
    bench_gemm_shape small = {"tune-direct", 0, 0, direct_size, direct_size, direct_size, "square"};
    bench_gemm_case *cb = NULL, *cs = NULL;
    cg_status st = bench_gemm_case_create(t->rt, &big, 5, &cb);
    if (st == CG_OK) st = bench_gemm_case_create(t->rt, &small, 6, &cs);
    // CLBlast as found (its database defaults, or an entry applied at start-up); one more compile,
    // so the quick search leaves it out.
    if (st == CG_OK && !o->quick) st = measure(t, cb, &big, CG_GEMM_CLBLAST, &t->sum->default_gflops);
    if (st == CG_OK && !o->quick) step(t, "default");
    if (st == CG_OK && !o->quick && o->log)
        fprintf(o->log, "CLBlast as found: %.1f GFLOP/s at %zu^3\n", t->sum->default_gflops, o->size);
    // Indirect kernel at the large size, then the direct kernel at a small one.
    if (st == CG_OK) st = override(t, "XgemmDirect", direct_names, t->d, N_DIRECT);
    if (st == CG_OK) st = set_min_indirect(t, FORCE_INDIRECT);
    if (st == CG_OK) st = search(t, 0, cb, &big, budget[0], &t->sum->clblast_gflops);
    double direct_gf = 0;
    if (st == CG_OK) st = set_min_indirect(t, FORCE_DIRECT);
    if (st == CG_OK) st = search(t, 1, cs, &small, budget[1], &direct_gf);
    if (st == CG_OK) st = search_own(t, cb, &big, budget[2], out);
    if (st == CG_OK) st = search_kc(t, budget[3], out);
    bench_gemm_case_free(cb);
    bench_gemm_case_free(cs);
    CG_TRY(st);

    // Ladders: direct vs indirect sets XGEMM_MIN_INDIRECT_SIZE; own vs CLBlast sets the own threshold.
    double gd[8], gi[8], go[8], gc[8];
    CG_TRY(ladder_time(t, lad, n_lad, CG_GEMM_CLBLAST, FORCE_DIRECT, gd));
    CG_TRY(ladder_time(t, lad, n_lad, CG_GEMM_CLBLAST, FORCE_INDIRECT, gi));
    t->min_indirect = 2 * lad[n_lad - 1].size;
    for (int i = n_lad - 1; i >= 0 && gi[i] > gd[i]; i--) t->min_indirect = lad[i].size;
    t->sum->crossover_direct = t->min_indirect;
    CG_TRY(ladder_time(t, lad, n_lad, CG_GEMM_OWN, 0, go));
    for (int i = 0; i < n_lad; i++) gc[i] = lad[i].size < t->min_indirect ? gd[i] : gi[i];
    out->own_enabled = go[n_lad - 1] > gc[n_lad - 1] && t->sum->own_gflops > t->sum->clblast_gflops;
    out->own_min_mnk = INFINITY;
    for (int i = n_lad - 1; out->own_enabled && i >= 0 && go[i] > gc[i]; i--)
        out->own_min_mnk = (double)lad[i].size * (double)lad[i].size * (double)lad[i].size;
    t->sum->own_min_mnk = out->own_min_mnk;
    fill_result(t, out);
    CG_TRY(set_min_indirect(t, t->min_indirect));
    snprintf(out->note, sizeof out->note,
             "%zu^3: CLBlast as found %.1f GFLOP/s, tuned %.1f, own %.1f; direct %zu^3 %.1f; %d candidates (%d "
             "rejected)",
             o->size, t->sum->default_gflops, t->sum->clblast_gflops, t->sum->own_gflops, direct_size, direct_gf,
             t->sum->candidates, t->sum->rejected);
    return CG_OK;
}

cg_status bench_tune(cg_runtime *rt, const bench_tune_options *opt, cg_gemm_tuning *out, bench_tune_summary *sum) {
    memset(sum, 0, sizeof *sum);
    cg_gemm_tuning_init(cg_runtime_device(rt), out);
    tuner t = {rt, opt, sum, NULL, 0, {0}, {0}, 0};
    seeds(&t);
    static const size_t full[] = {64, 128, 256, 384, 512, 768, 1024};
    static const size_t quick[] = {24, 48};
    const size_t *sizes = opt->quick ? quick : full;
    int n_lad = opt->quick ? 2 : 7;
    while (n_lad > 1 && sizes[n_lad - 1] > opt->size) n_lad--;
    // Candidates per search (Xgemm, XgemmDirect, own work-group, own k block); each CLBlast one is a
    // compile.
    const int budget[4] = {opt->quick ? 1 : 12, opt->quick ? 1 : 6, opt->quick ? 2 : 8, opt->quick ? 2 : 5};
    uint64_t total = 1 + (uint64_t)(budget[0] + budget[1] + budget[2] + budget[3] + 3 * n_lad);
    if (opt->progress) t.progress = cg_progress_begin("tune", total, "steps", opt->progress);
    ladder_step lad[8];
    cg_status st = ladder_create(&t, sizes, n_lad, lad);
    if (st == CG_OK) st = tune_steps(&t, out, lad, n_lad, budget);
    ladder_free(lad, n_lad);
    if (t.progress) {
        cg_progress_update(t.progress, total, st == CG_OK ? "done" : "failed");
        cg_progress_end(t.progress);
    }
    cg_gemm_force(rt, CG_GEMM_AUTO);
    return st;
}
