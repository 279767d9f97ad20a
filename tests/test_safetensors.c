// test_safetensors.c — safetensors: writer/reader round trip (metadata, scalar, empty and oddly
// named tensors; header padded with spaces to 8 bytes), files laid out by hand the way Python's
// safetensors writes them (I64 counters, misaligned F32 data), every malformed case refused with
// a message naming the file and the problem, and cg_seq_save/cg_seq_load by state_dict name
// (missing, mis-shaped and unexpected tensors; num_batches_tracked ignored; no partial loads).
#include "nets.h"
#include "test_util.h"

#include <stdint.h>
#include <unistd.h>

static char dir[128];

static const char *path_of(const char *name) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

// Writes u64 header length, the header (padded with spaces to `pad_to` bytes when > 0) and payload.
static const char *write_raw(const char *name, const char *header, const void *payload, size_t len, int pad_to) {
    const char *path = path_of(name);
    size_t hlen = strlen(header), padded = pad_to > 0 ? (hlen + pad_to - 1) / pad_to * pad_to : hlen;
    FILE *f = fopen(path, "wb");
    uint8_t le[8];
    for (int b = 0; b < 8; b++) le[b] = (uint8_t)((uint64_t)padded >> (8 * b));
    fwrite(le, 1, 8, f);
    fwrite(header, 1, hlen, f);
    for (size_t i = hlen; i < padded; i++) fputc(' ', f);
    if (len) fwrite(payload, 1, len, f);
    fclose(f);
    return path;
}

static void check_round_trip(void) {
    const int sa[2] = {2, 3}, sb[1] = {4}, se[2] = {0, 5};
    float da[6] = {1, -2, 3.5f, 1e-30f, -0.0f, 65504}, db[4] = {INFINITY, -1, 0.25f, 7}, ds = 3.25f;
    cg_st_tensor t[] = {{"a", sa, 2, da},
                        {"b.weight", sb, 1, db},
                        {"scalar", NULL, 0, &ds},
                        {"empty", se, 2, NULL},
                        {"we\"ird\\name", sb, 1, db}};
    const char *mk[] = {"format", "step"}, *mv[] = {"pt", "123"};
    const char *path = path_of("round.safetensors");
    CHECK_OK(cg_safetensors_write(path, t, 5, mk, mv, 2));

    char *bytes = NULL;
    size_t len = 0;
    CHECK_OK(cg_read_file(path, &bytes, &len));
    if (bytes && len >= 8) {
        uint64_t hlen = 0;
        for (int b = 7; b >= 0; b--) hlen = hlen << 8 | (uint8_t)bytes[b];
        CHECK(hlen % 8 == 0 && bytes[8] == '{', "header length %llu, first byte '%c'", (unsigned long long)hlen,
              bytes[8]);
        CHECK(len == 8 + hlen + (6 + 4 + 1 + 0 + 4) * 4, "file of %zu bytes", len);
        CHECK(hlen > 0 && bytes[8 + hlen - 1] != '\0', "header ends in a NUL");
        CHECK(strstr(bytes + 8, "\"__metadata__\":{\"format\":\"pt\",\"step\":\"123\"}") != NULL, "metadata text");
        CHECK(strstr(bytes + 8, "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}") != NULL,
              "entry of a");
    }
    free(bytes);

    cg_st_file *f = NULL;
    CHECK_OK(cg_safetensors_open(path, &f));
    if (!f) return;
    CHECK(cg_safetensors_count(f) == 5, "%d tensors", cg_safetensors_count(f));
    CHECK(!strcmp(cg_safetensors_name(f, 4), "we\"ird\\name"), "name 4: %s", cg_safetensors_name(f, 4));
    CHECK(cg_safetensors_name(f, 5) == NULL, "name past the end");
    const int *shape;
    int ndim;
    const float *data;
    CHECK_OK(cg_safetensors_get(f, "a", &shape, &ndim, &data));
    CHECK(ndim == 2 && shape[0] == 2 && shape[1] == 3 && !memcmp(data, da, sizeof da), "tensor a");
    CHECK_OK(cg_safetensors_get(f, "b.weight", &shape, &ndim, &data));
    CHECK(ndim == 1 && shape[0] == 4 && !memcmp(data, db, sizeof db), "tensor b.weight");
    CHECK_OK(cg_safetensors_get(f, "scalar", &shape, &ndim, &data));
    CHECK(ndim == 0 && data[0] == 3.25f, "scalar");
    CHECK_OK(cg_safetensors_get(f, "empty", &shape, &ndim, &data));
    CHECK(ndim == 2 && shape[0] == 0 && shape[1] == 5, "empty tensor");
    CHECK_FAILS(cg_safetensors_get(f, "nope", &shape, &ndim, &data), CG_ERR_NOT_FOUND, "no tensor 'nope'");
    CHECK(cg_safetensors_meta(f, "step") && !strcmp(cg_safetensors_meta(f, "step"), "123"), "metadata step");
    CHECK(cg_safetensors_meta(f, "format") && !strcmp(cg_safetensors_meta(f, "format"), "pt"), "metadata format");
    CHECK(cg_safetensors_meta(f, "missing") == NULL, "absent metadata");
    cg_safetensors_close(f);

    cg_st_tensor dup[] = {{"x", sb, 1, db}, {"x", sb, 1, db}};
    CHECK_FAILS(cg_safetensors_write(path_of("dup.safetensors"), dup, 2, NULL, NULL, 0), CG_ERR_INVALID_ARG,
                "'x' twice");
    CHECK(access(path_of("dup.safetensors"), F_OK) != 0, "a refused write left a file");
}

// Files as Python's safetensors lays them out, including dtypes other than F32.
static void check_foreign_files(void) {
    // Counter first (I64, 8 bytes), then F32 data; header padded with spaces to 8 like the
    // reference writer.
    unsigned char payload[8 + 12];
    int64_t count = 42;
    float xs[3] = {1.5f, -2.0f, 0.125f};
    memcpy(payload, &count, 8);
    memcpy(payload + 8, xs, 12);
    const char *h = "{\"__metadata__\":{\"format\":\"pt\"},\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],"
                    "\"data_offsets\":[0,8]},\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]}}";
    const char *path = write_raw("python.safetensors", h, payload, sizeof payload, 8);
    cg_st_file *f = NULL;
    CHECK_OK(cg_safetensors_open(path, &f));
    if (f) {
        const float *data;
        const int *shape;
        int ndim;
        CHECK_OK(cg_safetensors_get(f, "w", &shape, &ndim, &data));
        CHECK(ndim == 1 && shape[0] == 3 && !memcmp(data, xs, 12), "F32 tensor after an I64 one");
        CHECK_FAILS(cg_safetensors_get(f, "bn.num_batches_tracked", &shape, &ndim, &data), CG_ERR_FORMAT,
                    "tensor 'bn.num_batches_tracked' has dtype I64, expected F32");
        CHECK(cg_safetensors_count(f) == 2, "count %d", cg_safetensors_count(f));
        cg_safetensors_close(f);
    }
    // Misaligned F32 data: a 1-byte U8 tensor first and an unpadded header of odd length.
    unsigned char odd[1 + 8];
    odd[0] = 7;
    memcpy(odd + 1, xs, 8);
    h = "{\"flag\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"v\":{\"dtype\":\"F32\",\"shape\":[1,2],"
        "\"data_offsets\":[1,9]}} ";
    CHECK((8 + strlen(h) + 1) % sizeof(float) != 0, "the F32 data of this file would be aligned");
    path = write_raw("misaligned.safetensors", h, odd, sizeof odd, 0);
    CHECK_OK(cg_safetensors_open(path, &f));
    if (f) {
        const float *data;
        CHECK_OK(cg_safetensors_get(f, "v", NULL, NULL, &data));
        CHECK(((uintptr_t)data % sizeof(float)) == 0 && data[0] == xs[0] && data[1] == xs[1], "misaligned F32 data");
        cg_safetensors_close(f);
    }
    // An empty file of tensors: "{}" padded, no payload.
    CHECK_OK(cg_safetensors_open(write_raw("none.safetensors", "{}", NULL, 0, 8), &f));
    if (f) {
        CHECK(cg_safetensors_count(f) == 0, "tensors in an empty file");
        cg_safetensors_close(f);
    }
}

static void expect_refused(const char *name, const char *header, size_t payload_len, const char *needle) {
    unsigned char payload[64] = {0};
    const char *path = write_raw(name, header, payload, payload_len, 8);
    cg_st_file *f = NULL;
    CHECK_FAILS(cg_safetensors_open(path, &f), CG_ERR_FORMAT, needle);
    CHECK(strstr(cg_last_error(), path) != NULL, "%s: message does not name the file: %s", name, cg_last_error());
    CHECK(f == NULL, "%s: a refused file was opened", name);
}

static void check_malformed(void) {
    cg_st_file *f = NULL;
    const char *p = path_of("short.safetensors");
    FILE *fp = fopen(p, "wb");
    fwrite("\x02\0\0\0\0", 1, 5, fp);
    fclose(fp);
    CHECK_FAILS(cg_safetensors_open(p, &f), CG_ERR_FORMAT, "shorter than the 8-byte header length");

    unsigned char big[16] = {0, 0, 0, 0, 0, 1, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    p = path_of("absurd.safetensors");
    fp = fopen(p, "wb");
    fwrite(big, 1, 16, fp);
    fclose(fp);
    CHECK_FAILS(cg_safetensors_open(p, &f), CG_ERR_FORMAT, "is absurd");
    big[5] = 0;
    big[1] = 1; // 256 bytes of header in a 16-byte file
    fp = fopen(p, "wb");
    fwrite(big, 1, 16, fp);
    fclose(fp);
    CHECK_FAILS(cg_safetensors_open(p, &f), CG_ERR_FORMAT, "exceeds the 8 bytes after it");

    expect_refused("json.safetensors", "{\"x\": {\"dtype\": ", 0, "not valid JSON");
    expect_refused("array.safetensors", "[1, 2]", 0, "not a JSON object");
    expect_refused("junk.safetensors", "{}xx", 0, "bytes after its JSON object");
    expect_refused("entry.safetensors", "{\"x\": 3}", 0, "entry 'x' is not an object");
    expect_refused("dtype.safetensors", "{\"x\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                   "tensor 'x' has unknown dtype 'Q7'");
    expect_refused("nodtype.safetensors", "{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no dtype");
    expect_refused("shape.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,4]}}", 4,
                   "invalid dimension");
    expect_refused("size.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
                   "tensor 'x' of shape [2, 3] and dtype F32 needs 24 bytes, but data_offsets [0, 20] hold 20");
    expect_refused("offsets.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 4,
                   "invalid data_offsets");
    expect_refused("range.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
                   "tensor 'x' data_offsets [0, 16] are out of range");
    expect_refused("overlap.safetensors",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                   12, "tensors 'a' [0, 8) and 'b' [4, 12) overlap");
    expect_refused("gap.safetensors",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                   12, "payload bytes [4, 8) belong to no tensor");
    expect_refused("trailing.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8,
                   "4 bytes of trailing garbage");
    expect_refused("meta.safetensors", "{\"__metadata__\":{\"step\":3}}", 0,
                   "__metadata__ value of 'step' is not a string");
    expect_refused("twice.safetensors",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                   8, "tensor 'a' appears twice");
    CHECK_FAILS(cg_safetensors_open(path_of("does-not-exist.safetensors"), &f), CG_ERR_NOT_FOUND, "does-not-exist");

    // A known dtype other than F32 opens, but its data is refused by name.
    const char *h16 = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    unsigned char four[4] = {0};
    CHECK_OK(cg_safetensors_open(write_raw("f16.safetensors", h16, four, 4, 8), &f));
    if (f) {
        CHECK_FAILS(cg_safetensors_get(f, "h", NULL, NULL, NULL), CG_ERR_FORMAT,
                    "tensor 'h' has dtype F16, expected F32");
        cg_safetensors_close(f);
    }
}

// ---------------------------------------------------------------------------------------------
// cg_seq_save / cg_seq_load with layers that only declare parameters (no passes are run).

static cg_status keep_shape(const cg_layer *l, const int in[4], int out[4]) {
    memcpy(out, in, 4 * sizeof(int));
    return CG_OK;
}

static const cg_layer_ops param_layer_ops = {.out_shape = keep_shape};

static cg_layer *param_layer(const char *kind, int c, int with_stats) {
    cg_layer *l = calloc(1, sizeof *l);
    l->ops = &param_layer_ops;
    l->kind = kind;
    const char *names[] = {"weight", "bias", "running_mean", "running_var"};
    const cg_param_role conv[] = {CG_ROLE_WEIGHT, CG_ROLE_BIAS};
    const cg_param_role norm[] = {CG_ROLE_NORM_SCALE, CG_ROLE_NORM_SHIFT, CG_ROLE_RUNNING_MEAN, CG_ROLE_RUNNING_VAR};
    for (int i = 0; i < (with_stats ? 4 : 2); i++) {
        int ndim = i == 0 && !with_stats ? 4 : 1;
        CHECK_OK(cg_layer_add_param(l, (cg_param_decl){names[i], with_stats ? norm[i] : conv[i], CG_INIT_KEEP, c, ndim,
                                                       {c, c, 1, 1}}));
    }
    return l;
}

// main.0: "conv2d" weight [4, 4, 1, 1], bias [4]; main.2: "batchnorm2d" weight, bias, stats [4].
static cg_seq *make_net(cg_ctx *ctx) {
    cg_layer *layers[] = {param_layer("conv2d", 4, 0), param_layer("batchnorm2d", 4, 1)};
    const int index[] = {0, 2}, in[3] = {4, 2, 2};
    cg_seq *s = NULL;
    CHECK_OK(cg_seq_create(ctx, "main", layers, index, 2, in, &s));
    return s;
}

static void read_net(cg_ctx *ctx, cg_seq *s, float *params, float *buffers) {
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(s->params, 0, 1, 1, 1, (int)s->n_params), params));
    CHECK_OK(cg_tensor_read(ctx->rt, cg_view(s->buffers, 0, 1, 1, 1, (int)s->n_buffers), buffers));
}

enum { NP = 16 + 4 + 4 + 4, NB = 8 };

static void check_seq_io(cg_ctx *ctx) {
    cg_seq *a = make_net(ctx), *b = make_net(ctx);
    if (!a || !b) return;
    CHECK(a->n_params == NP && a->n_buffers == NB, "%zu params, %zu buffers", a->n_params, a->n_buffers);
    float pa[NP], ba[NB], pb[NP], bb[NB], fresh_p[NP], fresh_b[NB];
    for (int i = 0; i < NP; i++) pa[i] = (float)i * 0.5f - 3.0f;
    for (int i = 0; i < NB; i++) ba[i] = (float)i + 0.25f;
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(a->params, 0, 1, 1, 1, NP), pa));
    CHECK_OK(cg_tensor_write(ctx->rt, cg_view(a->buffers, 0, 1, 1, 1, NB), ba));
    const char *path = path_of("net.safetensors");
    CHECK_OK(cg_seq_save(ctx, a, path));
    read_net(ctx, b, fresh_p, fresh_b);
    CHECK_OK(cg_seq_load(ctx, b, path));
    read_net(ctx, b, pb, bb);
    CHECK(!memcmp(pa, pb, sizeof pa) && !memcmp(ba, bb, sizeof ba), "round trip through %s", path);

    // The file holds exactly the state_dict names and PyTorch shapes.
    cg_st_file *f = NULL;
    CHECK_OK(cg_safetensors_open(path, &f));
    if (f) {
        static const char *const names[] = {"main.0.weight", "main.0.bias",         "main.2.weight",
                                            "main.2.bias",   "main.2.running_mean", "main.2.running_var"};
        CHECK(cg_safetensors_count(f) == 6, "%d tensors saved", cg_safetensors_count(f));
        for (int i = 0; i < 6; i++)
            CHECK(!strcmp(cg_safetensors_name(f, i), names[i]), "tensor %d: %s", i, cg_safetensors_name(f, i));
        const int *shape;
        int ndim;
        CHECK_OK(cg_safetensors_get(f, "main.0.weight", &shape, &ndim, NULL));
        CHECK(ndim == 4 && shape[0] == 4 && shape[1] == 4 && shape[2] == 1 && shape[3] == 1, "conv weight shape");
        cg_safetensors_close(f);
    }

    // Hand-made variants: the first six entries are those of a, then one change each.
    const int s4[1] = {4}, s44[2] = {4, 4}, s4411[4] = {4, 4, 1, 1};
    cg_st_tensor t[7] = {{"main.0.weight", s4411, 4, pa},
                         {"main.0.bias", s4, 1, pa + 16},
                         {"main.2.weight", s4, 1, pa + 20},
                         {"main.2.bias", s4, 1, pa + 24},
                         {"main.2.running_mean", s4, 1, ba},
                         {"main.2.running_var", s4, 1, ba + 4},
                         {"main.2.num_batches_tracked", NULL, 0, ba}};
    cg_seq *c = make_net(ctx);
    if (!c) return;
    CHECK_OK(cg_safetensors_write(path_of("missing.safetensors"), t, 5, NULL, NULL, 0));
    CHECK_FAILS(cg_seq_load(ctx, c, path_of("missing.safetensors")), CG_ERR_FORMAT,
                "missing tensor 'main.2.running_var'");
    t[0].shape = s44, t[0].ndim = 2;
    CHECK_OK(cg_safetensors_write(path_of("shape.safetensors"), t, 6, NULL, NULL, 0));
    CHECK_FAILS(cg_seq_load(ctx, c, path_of("shape.safetensors")), CG_ERR_FORMAT,
                "tensor 'main.0.weight' has shape [4, 4], expected [4, 4, 1, 1]");
    t[0].shape = s4411, t[0].ndim = 4;
    t[6].name = "main.3.weight";
    CHECK_OK(cg_safetensors_write(path_of("extra.safetensors"), t, 7, NULL, NULL, 0));
    CHECK_FAILS(cg_seq_load(ctx, c, path_of("extra.safetensors")), CG_ERR_FORMAT, "unexpected tensor 'main.3.weight'");
    read_net(ctx, c, pb, bb);
    CHECK(!memcmp(pb, fresh_p, sizeof pb) && !memcmp(bb, fresh_b, sizeof bb), "a refused load changed the net");
    t[6].name = "main.2.num_batches_tracked"; // F32 here; ignored whatever its dtype
    CHECK_OK(cg_safetensors_write(path_of("counter.safetensors"), t, 7, NULL, NULL, 0));
    CHECK_OK(cg_seq_load(ctx, c, path_of("counter.safetensors")));
    read_net(ctx, c, pb, bb);
    CHECK(!memcmp(pa, pb, sizeof pa) && !memcmp(ba, bb, sizeof ba), "load with num_batches_tracked");

    // As PyTorch saves it: num_batches_tracked is I64, in the middle of the payload.
    char header[1024];
    unsigned char payload[NP * 4 + 8 + NB * 4];
    int64_t tracked = 1000;
    memcpy(payload, pa, NP * 4);
    memcpy(payload + NP * 4, &tracked, 8);
    memcpy(payload + NP * 4 + 8, ba, NB * 4);
    snprintf(header, sizeof header,
             "{\"__metadata__\":{\"format\":\"pt\"},"
             "\"main.0.weight\":{\"dtype\":\"F32\",\"shape\":[4,4,1,1],\"data_offsets\":[0,64]},"
             "\"main.0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[64,80]},"
             "\"main.2.weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[80,96]},"
             "\"main.2.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[96,112]},"
             "\"main.2.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[112,120]},"
             "\"main.2.running_mean\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[120,136]},"
             "\"main.2.running_var\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[136,152]}}");
    cg_seq *d = make_net(ctx);
    if (d) {
        CHECK_OK(cg_seq_load(ctx, d, write_raw("torch.safetensors", header, payload, sizeof payload, 8)));
        read_net(ctx, d, pb, bb);
        CHECK(!memcmp(pa, pb, sizeof pa) && !memcmp(ba, bb, sizeof ba), "load of a PyTorch-style file");
        cg_seq_free(d);
    }
    // A needed tensor in another dtype is refused by name.
    char *f16 = strstr(header, "\"main.0.bias\":{\"dtype\":\"F32\"");
    if (f16) memcpy(strstr(f16, "F32"), "I32", 3);
    CHECK_FAILS(cg_seq_load(ctx, c, write_raw("dtype.safetensors", header, payload, sizeof payload, 8)), CG_ERR_FORMAT,
                "tensor 'main.0.bias' has dtype I32, expected F32");
    CHECK_FAILS(cg_seq_load(ctx, c, path_of("absent.safetensors")), CG_ERR_NOT_FOUND, "absent.safetensors");
    cg_seq_free(a);
    cg_seq_free(b);
    cg_seq_free(c);
}

static void remove_dir(void) {
    if (test_rm_rf(dir) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    if (test_tmpdir(dir, sizeof dir, "st") != 0) return 1;
    check_round_trip();
    check_foreign_files();
    check_malformed();
    cg_runtime *rt = test_runtime();
    cg_ctx ctx = {rt, {0}};
    check_seq_io(&ctx);
    cg_workspace_free(&ctx.ws);
    cg_runtime_free(rt);
    remove_dir();
    return test_finish("test_safetensors");
}
