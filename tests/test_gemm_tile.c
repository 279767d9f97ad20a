// test_gemm_tile.c — the own GEMM's register tiles (cl/gemm.cl: gemm_6x16, gemm_6x32, gemm_12x32,
// chosen by the tuning's own.tile; short-k products with B in place: gemm_stripe16, and
// gemm_stripe32 with the wide tiles): every tile gives C bit for bit equal to gemm_6x16's (one
// accumulator per element, fma in k order) on shapes whose m and n are not multiples of the tile
// (second A or B panel partial or missing), transposes, offsets, padded leading dimensions, strided
// and shared-operand batches, beta = 0 (C holds NaN, never read) and not, whole k and k in blocks
// of 7; gemm_6x16's C is checked against the double-precision reference. Products go through
// cg_gemm / cg_gemm_batched, the calls the layers make.
// oclgrind: run
#include "gemm_test_util.h"

static void set_tile(cg_runtime *rt, int tile, int kc) {
    cg_gemm_tuning t;
    cg_gemm_tuning_init(cg_runtime_device(rt), &t);
    t.own_enabled = 1;
    t.own_kc = kc;
    t.own_tile = tile;
    CHECK_OK(cg_gemm_tuning_set(rt, &t, "test"));
}

static void run_case(cg_runtime *rt, gemm_test_case c) {
    gemm_test_operands o;
    gemm_test_operands_make(rt, &c, &o);
    float *base = malloc(o.c_len * 4), *out = malloc(o.c_len * 4);
    for (int kc = 0; kc <= 7; kc += 7) {
        set_tile(rt, CG_GEMM_TILE_6X16, kc);
        gemm_test_product(rt, &c, &o, base);
        double worst;
        size_t bad = gemm_test_off_ref(&c, &o, base, &worst);
        CHECK(bad == 0, "6x16 m=%zu n=%zu k=%zu batch=%zu kc=%d: %zu elements off the reference, worst %.3g", c.m,
              c.n, c.k, c.batch, kc, bad, worst);
        for (int tile = CG_GEMM_TILE_6X32; tile < CG_GEMM_TILE_COUNT; tile++) {
            set_tile(rt, tile, kc);
            for (size_t i = 0; i < o.c_len; i++) out[i] = 12345.0f; // a tile that stores nothing fails
            gemm_test_product(rt, &c, &o, out);
            size_t diff = 0, first = 0;
            for (size_t i = 0; i < o.c_len; i++)
                if (memcmp(&out[i], &base[i], 4) && diff++ == 0) first = i;
            CHECK(diff == 0,
                  "%s ta=%d tb=%d m=%zu n=%zu k=%zu off=%zu pad=%zu alpha=%g beta=%g batch=%zu share=%d kc=%d: %zu "
                  "elements differ from gemm_6x16 (first at %zu: %.9g vs %.9g)",
                  cg_gemm_tile_name(tile), c.ta, c.tb, c.m, c.n, c.k, c.off, c.pad, c.alpha, c.beta, c.batch,
                  c.share, kc, diff, first, diff ? out[first] : 0.0f, diff ? base[first] : 0.0f);
        }
    }
    free(base);
    free(out);
    gemm_test_operands_free(&o);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    int quick = getenv("CLGAN_TEST_QUICK") != NULL; // Oclgrind: the smaller cases
    // The device rule: gemm_6x32 on CPUs whose native float vector has 16 lanes, gemm_6x16 on every
    // other device (GPUs, also under $CLGAN_DEVICE_PROFILE); the rule's line names the tile.
    const cg_device_info *dev = cg_runtime_device(rt);
    cl_uint width = 0;
    clGetDeviceInfo(dev->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof width, &width, NULL);
    const char *want = (dev->type & CL_DEVICE_TYPE_CPU) && width >= 16 ? "gemm_6x32" : "gemm_6x16";
    cg_gemm_tuning auto_tile;
    cg_gemm_tuning_init(dev, &auto_tile);
    auto_tile.own_enabled = 1;
    CHECK_OK(cg_gemm_tuning_set(rt, &auto_tile, "test"));
    char rule[512];
    cg_gemm_describe(rt, rule, sizeof rule);
    CHECK(strstr(rule, want) != NULL, "%s device, native float width %u: expected %s in '%s'",
          (dev->type & CL_DEVICE_TYPE_CPU) ? "CPU" : "non-CPU", width, want, rule);
    cg_gemm_force(rt, CG_GEMM_OWN);
    CHECK(cg_gemm_tile_parse("6x32") == CG_GEMM_TILE_6X32 && cg_gemm_tile_parse("gemm_12x32") == CG_GEMM_TILE_12X32 &&
              cg_gemm_tile_parse("auto") == CG_GEMM_TILE_AUTO && cg_gemm_tile_parse("8x8") == -1,
          "tile names parse");
    // Shapes go through the packed-panel tiles (not the short-k stripe or the thin split-k paths):
    // B transposed or k > 64, and k short of the thin paths' 1024.
    const gemm_test_case cases[] = {
        {0, 1, 13, 33, 9, 0, 0, 1.0f, 0.0f, 1, 0},     // 3 B panels: the last 6x32 tile has one
        {0, 1, 7, 17, 5, 1, 2, 1.0f, 0.5f, 1, 0},      // 2 A panels, the second with one row
        {0, 0, 6, 16, 70, 0, 0, 1.0f, 0.0f, 1, 0},     // one panel of each: both second panels missing
        {1, 0, 25, 50, 129, 3, 1, -1.0f, 0.5f, 1, 0},  // k tail after the 4-step loop
        {1, 1, 19, 40, 100, 2, 3, 0.5f, -2.0f, 1, 0},
        {0, 0, 37, 70, 300, 0, 0, 1.0f, 0.0f, 3, 0},   // strided batches
        {0, 1, 19, 40, 66, 1, 1, 1.0f, 0.0f, 2, 1},    // A shared
        {0, 0, 12, 32, 65, 0, 2, 1.0f, 1.0f, 2, 2},    // B shared, whole tiles
        {0, 1, 30, 64, 1, 0, 0, 2.0f, 0.0f, 1, 0},     // k = 1: only the tail loop
        {1, 0, 101, 97, 257, 0, 0, 1.0f, 0.25f, 1, 0},
        {0, 0, 128, 160, 96, 0, 0, 1.0f, 0.0f, 1, 0},
        // Untransposed B, k <= 64: read in place by the stripe kernels (gemm_stripe16, and
        // gemm_stripe32 with the wide tiles), partial stripes, B shared, beta 0 and not.
        {0, 0, 11, 37, 13, 1, 2, 1.0f, 1.0f, 3, 2},
        {1, 0, 13, 45, 64, 2, 1, -0.5f, 0.5f, 1, 0},
        {0, 0, 7, 33, 5, 0, 0, 1.0f, 0.0f, 2, 0},
        {0, 0, 20, 64, 48, 0, 3, 1.0f, 0.0f, 1, 0},
        {0, 0, 64, 200, 48, 0, 0, 1.0f, 0.0f, 2, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gemm_test_case c = cases[i];
        if (quick && c.m * c.n * c.k * c.batch > 250000) continue;
        run_case(rt, c);
    }
    cg_gemm_force(rt, CG_GEMM_AUTO);
    cg_runtime_free(rt);
    return test_finish("gemm_tile");
}
