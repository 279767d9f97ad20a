// test_bn_sync.c — SyncBN (nets/batchnorm_sync.c, cl/bn.cl's bn_sync_sum) in one process, without
// MPI: two replicas holding the same slice x are simulated by a `sum` that doubles the per-channel
// sums (what an allreduce over two equal replicas gives). That must normalise exactly like plain
// BatchNorm over the batch [x; x]: y, the running statistics (unbiased variance over 2 N H W), dx,
// and the parameter gradients (each replica holds half, the trainer's allreduce adds them). Negative
// control: a `sum` that exchanges nothing (each replica alone, M still 2 N H W) must be far off.
// oclgrind: run
#include "nets.h"
#include "test_util.h"

#include <math.h>

static cg_status sum_twice(void *user, double *v, size_t n) {
    (void)user;
    for (size_t i = 0; i < n; i++) v[i] *= 2.0;
    return CG_OK;
}

static cg_status sum_none(void *user, double *v, size_t n) {
    (void)user, (void)v, (void)n;
    return CG_OK;
}

static void fill(float *v, size_t n, uint64_t seed, float lo, float hi) {
    cg_rng_uniform_host((cg_rng){seed, 7}, 0, v, n);
    for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * v[i];
}

// A BatchNorm of C channels with its parameters in one buffer (weight g, bias b, running mean 0,
// running variance 1) and zeroed gradients.
typedef struct {
    cg_layer *l;
    cl_mem vals, grads;
} bn;

static bn make_bn(cg_runtime *rt, int C, const float *g, const float *b) {
    bn r = {NULL, NULL, NULL};
    CHECK_OK(cg_batchnorm_create((cg_bn_params){C, 1e-5f, 0.1f}, &r.l));
    CHECK_OK(cg_buffer_alloc(rt, 4 * (size_t)C, &r.vals));
    CHECK_OK(cg_buffer_alloc(rt, 4 * (size_t)C, &r.grads));
    float *init = calloc(4 * (size_t)C, sizeof *init);
    memcpy(init, g, C * sizeof *g);
    memcpy(init + C, b, C * sizeof *b);
    for (int c = 0; c < C; c++) init[3 * C + c] = 1.0f;
    CHECK_OK(cg_tensor_write(rt, cg_view(r.vals, 0, 1, 1, 1, 4 * C), init));
    memset(init, 0, 4 * (size_t)C * sizeof *init);
    CHECK_OK(cg_tensor_write(rt, cg_view(r.grads, 0, 1, 1, 1, 4 * C), init));
    free(init);
    for (int i = 0; i < r.l->n_params; i++) {
        cg_param *p = &r.l->params[i];
        p->w = cg_view(r.vals, (size_t)i * C, 1, C, 1, 1);
        if (p->trainable) p->dw = cg_view(r.grads, (size_t)i * C, 1, C, 1, 1);
    }
    return r;
}

static void free_bn(bn *r) {
    cg_layer_free(r->l);
    cg_buffer_release(r->vals);
    cg_buffer_release(r->grads);
}

// Oclgrind 21.10 keeps stale shadow memory for a buffer id that is released and handed out again
// (test_norm.c), so the layers and buffers of every case live until the end: no id is reused.
static bn kept_bn[16];
static cl_mem kept_mem[16];
static int n_kept_bn, n_kept_mem;

static void keep_bn(bn r) { kept_bn[n_kept_bn++] = r; }
static void keep_mem(cl_mem m) { kept_mem[n_kept_mem++] = m; }

static void release_kept(void) {
    for (int i = 0; i < n_kept_bn; i++) free_bn(&kept_bn[i]);
    for (int i = 0; i < n_kept_mem; i++) cg_buffer_release(kept_mem[i]);
}

static double max_abs(const float *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

// Worst |a - scale * b| / tol over n values.
static double worst(const float *a, const float *b, size_t n, double scale, double tol) {
    double w = 0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs(a[i] - scale * b[i]) / tol);
    return w;
}

static void sync_case(cg_ctx *ctx, int N, int C, int H, int W) {
    cg_runtime *rt = ctx->rt;
    size_t n = (size_t)N * C * H * W;
    float *x = malloc(2 * n * sizeof *x), *dy = malloc(2 * n * sizeof *dy), *g = malloc(C * sizeof *g),
          *b = malloc(C * sizeof *b);
    fill(x, n, 1, 1.0f, 5.0f); // mean ~3: the variance must be taken about the mean
    fill(dy, n, 2, -1.0f, 1.0f);
    fill(g, (size_t)C, 3, 0.5f, 1.5f);
    fill(b, (size_t)C, 4, -0.5f, 0.5f);
    memcpy(x + n, x, n * sizeof *x); // the batch [x; x] of the single replica
    memcpy(dy + n, dy, n * sizeof *dy);
    cl_mem bx, by, bdy, bdx;
    CHECK_OK(cg_buffer_alloc(rt, 2 * n, &bx));
    CHECK_OK(cg_buffer_alloc(rt, 2 * n, &by));
    CHECK_OK(cg_buffer_alloc(rt, 2 * n, &bdy));
    CHECK_OK(cg_buffer_alloc(rt, 2 * n, &bdx));
    cg_tensor x2 = cg_view(bx, 0, 2 * N, C, H, W), y2 = cg_view(by, 0, 2 * N, C, H, W);
    cg_tensor dy2 = cg_view(bdy, 0, 2 * N, C, H, W), dx2 = cg_view(bdx, 0, 2 * N, C, H, W);
    cg_tensor x1 = cg_view(bx, 0, N, C, H, W), y1 = cg_view(by, 0, N, C, H, W);
    cg_tensor dy1 = cg_view(bdy, 0, N, C, H, W), dx1 = cg_view(bdx, 0, N, C, H, W);
    CHECK_OK(cg_tensor_write(rt, x2, x));
    CHECK_OK(cg_tensor_write(rt, dy2, dy));
    float *want_y = malloc(n * sizeof(float)), *want_dx = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
    float want_p[4 * 64], want_g[4 * 64], got_p[4 * 64], got_g[4 * 64];

    bn plain = make_bn(rt, C, g, b);
    CHECK_OK(plain.l->ops->forward(plain.l, ctx, x2, y2, 1));
    CHECK_OK(plain.l->ops->backward(plain.l, ctx, x2, y2, dy2, &dx2));
    CHECK_OK(cg_tensor_read(rt, y1, want_y));
    CHECK_OK(cg_tensor_read(rt, dx1, want_dx));
    CHECK_OK(cg_tensor_read(rt, cg_view(plain.vals, 0, 1, 1, 1, 4 * C), want_p));
    CHECK_OK(cg_tensor_read(rt, cg_view(plain.grads, 0, 1, 1, 1, 4 * C), want_g));
    keep_bn(plain);

    for (int control = 0; control < 2; control++) {
        bn s = make_bn(rt, C, g, b);
        cg_bn_sync sync = {control ? sum_none : sum_twice, 2, NULL};
        CHECK(cg_batchnorm_set_sync(s.l, &sync) == 1, "cg_batchnorm_set_sync refused a BatchNorm");
        CHECK_OK(s.l->ops->forward(s.l, ctx, x1, y1, 1));
        CHECK_OK(cg_tensor_read(rt, y1, got));
        double wy = worst(got, want_y, n, 1.0, 1e-5 * max_abs(want_y, n));
        if (control) {
            printf("[%d,%d,%d,%d] control (no exchange): y off by %.3g of the tolerance\n", N, C, H, W, wy);
            CHECK(wy > 100, "[%d,%d,%d,%d]: replicas that exchange nothing normalise like [x; x] (%.3g)", N, C, H, W,
                  wy);
            keep_bn(s);
            break;
        }
        CHECK_OK(s.l->ops->backward(s.l, ctx, x1, y1, dy1, &dx1));
        CHECK_OK(cg_tensor_read(rt, dx1, got + 0));
        double wdx = worst(got, want_dx, n, 1.0, 1e-4 * max_abs(want_dx, n) + 1e-6);
        CHECK_OK(cg_tensor_read(rt, cg_view(s.vals, 0, 1, 1, 1, 4 * C), got_p));
        CHECK_OK(cg_tensor_read(rt, cg_view(s.grads, 0, 1, 1, 1, 4 * C), got_g));
        // Running mean and variance: the rows [2C, 4C) of the parameters.
        double wr = worst(got_p + 2 * C, want_p + 2 * C, 2 * (size_t)C, 1.0, 1e-5 * max_abs(want_p + 2 * C, 2 * C));
        // Each replica's gradients cover its slice: half of the single replica's.
        double wg = worst(got_g, want_g, 2 * (size_t)C, 0.5, 1e-4 * max_abs(want_g, 2 * C) + 1e-6);
        printf("[%d,%d,%d,%d] SyncBN of 2 equal replicas vs BatchNorm over [x; x]: y %.3g, running stats %.3g, dx "
               "%.3g, dweight/dbias %.3g of the tolerance\n", N, C, H, W, wy, wr, wdx, wg);
        CHECK(wy <= 1 && wr <= 1 && wdx <= 1 && wg <= 1,
              "[%d,%d,%d,%d]: SyncBN differs from BatchNorm over [x; x] (y %.3g, running %.3g, dx %.3g, grads %.3g)",
              N, C, H, W, wy, wr, wdx, wg);
        keep_bn(s);
    }
    keep_mem(bx);
    keep_mem(by);
    keep_mem(bdy);
    keep_mem(bdx);
    free(x), free(dy), free(g), free(b), free(want_y), free(want_dx), free(got);
}

int main(void) {
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    sync_case(&ctx, 2, 3, 4, 5);
    sync_case(&ctx, 3, 2, 1, 1); // BatchNorm1d's shape
    sync_case(&ctx, 4, 16, 16, 16);
    release_kept();
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    return test_finish("bn_sync");
}
