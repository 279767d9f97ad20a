// checkpoint.c — training checkpoints as safetensors: both nets by state_dict name under
// "generator." / "discriminator.", the optimizers' flat moment buffers, and in __metadata__ the
// counters that fix every random draw (train.h), the model and the effective configuration.
// Loading validates the whole file (cg_safetensors_open) and every name and shape before it writes
// anything to the device, so a truncated or foreign file is refused with a clear error; a
// "checksum" (FNV-1a of every tensor's name and bytes and of the other metadata) catches a changed
// byte that the format itself cannot, e.g. in the payload.
#include "train.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Format 1 counted every optimizer update twice (opt_g_step = opt_d_step = 2 x updates for DCGAN);
// format 2 counts updates. Format-1 files load with their counts halved and a note.
#define CKPT_FORMAT "clgan-checkpoint-2"
#define CKPT_FORMAT_DOUBLED_STEPS "clgan-checkpoint-1"

enum { N_META = 15 };
static const char *const META_KEYS[N_META + 1] = {
    "format",   "step",       "batches",  "noise_batches", "opt_g_step", "opt_d_step", "seed",    "rng",
    "model_type", "image_size", "channels", "nz",            "ngf",        "ndf",        "config", "checksum"};

// Tensors are combined order-independently (XOR of per-tensor hashes), so the order in the file
// does not matter; metadata values are chained in META_KEYS order.
static uint64_t tensor_hash(const char *name, const float *data, size_t numel) {
    uint64_t h = cg_fnv1a64(name, strlen(name) + 1, CG_FNV_INIT);
    return cg_fnv1a64(data, numel * sizeof(float), h);
}

static size_t numel_of(const int *shape, int ndim) {
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= (size_t)shape[d];
    return n;
}

static uint64_t meta_hash(const char *const *values) {
    uint64_t h = CG_FNV_INIT;
    for (int i = 0; i < N_META; i++) {
        const char *v = values[i] ? values[i] : "";
        h = cg_fnv1a64(v, strlen(v) + 1, h);
    }
    return h;
}

typedef struct {
    cg_st_tensor *t;
    char (*names)[160];
    int n, cap;
    float **owned; // host buffers to free
    int n_owned;
} tensor_list;

static cg_status list_add(tensor_list *l, const char *name, const int *shape, int ndim, const float *data) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        cg_st_tensor *t = realloc(l->t, (size_t)cap * sizeof *t);
        if (t) l->t = t;
        char(*names)[160] = realloc(l->names, (size_t)cap * sizeof *names);
        if (names) l->names = names;
        if (!t || !names) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        l->cap = cap;
    }
    snprintf(l->names[l->n], sizeof l->names[l->n], "%s", name);
    l->t[l->n] = (cg_st_tensor){NULL, shape, ndim, data};
    l->n++;
    return CG_OK;
}

// what, which: named in a failure, e.g. "generator" "parameters".
static cg_status read_host(cg_ctx *ctx, cl_mem buf, size_t n, float **out, const char *what, const char *which) {
    *out = malloc((n + 1) * sizeof(float));
    if (!*out) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    cg_status st = n ? cg_tensor_read(ctx->rt, cg_view(buf, 0, 1, 1, 1, (int)n), *out) : CG_OK;
    if (st != CG_OK) {
        free(*out);
        *out = NULL;
        return cg_fail_context(st, "reading back the %s's %s buffer", what, which);
    }
    return CG_OK;
}

static cg_status own(tensor_list *l, float *p) {
    float **o = realloc(l->owned, (size_t)(l->n_owned + 1) * sizeof *o);
    if (!o) {
        free(p);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    l->owned = o;
    l->owned[l->n_owned++] = p;
    return CG_OK;
}

static cg_status add_net(cg_ctx *ctx, tensor_list *l, const char *prefix, cg_seq *s) {
    float *params = NULL, *buffers = NULL;
    cg_status st = read_host(ctx, s->params, s->n_params, &params, prefix, "parameter");
    if (st == CG_OK) st = own(l, params);
    else free(params);
    if (st == CG_OK) st = read_host(ctx, s->buffers, s->n_buffers, &buffers, prefix, "running-statistics");
    if (st == CG_OK) st = own(l, buffers);
    else free(buffers);
    for (int i = 0; st == CG_OK && i < s->n_layers; i++) {
        const cg_layer *ly = s->layers[i];
        for (int j = 0; st == CG_OK && j < ly->n_params; j++) {
            const cg_param *p = &ly->params[j];
            char name[160];
            snprintf(name, sizeof name, "%s.%s.%s", prefix, ly->name, p->name);
            st = list_add(l, name, p->shape, p->ndim, (p->trainable ? params : buffers) + p->w.off);
        }
    }
    return st;
}

static cg_status add_moments(cg_ctx *ctx, tensor_list *l, const char *which, cg_optimizer *o, int *shape) {
    cl_mem bufs[2] = {o->m, o->v};
    const char *names[2] = {"m", "v"};
    *shape = (int)o->n;
    for (int k = 0; k < 2; k++) {
        if (!bufs[k]) continue;
        float *h = NULL;
        CG_TRY(read_host(ctx, bufs[k], o->n, &h, which, k ? "optimizer v" : "optimizer m"));
        CG_TRY(own(l, h));
        char name[160];
        snprintf(name, sizeof name, "optimizer.%s.%s", which, names[k]);
        CG_TRY(list_add(l, name, shape, 1, h));
    }
    return CG_OK;
}

static void list_free(tensor_list *l) {
    for (int i = 0; i < l->n_owned; i++) free(l->owned[i]);
    free(l->owned);
    free(l->t);
    free(l->names);
}

cg_status cg_checkpoint_save(cg_ctx *ctx, const char *path, cg_seq *G, cg_seq *D, cg_optimizer *og,
                             cg_optimizer *od, const cg_ckpt_counters *c, const cg_model_config *mc,
                             const char *config_text) {
    tensor_list l = {0};
    int shape_g = 0, shape_d = 0;
    cg_status st = add_net(ctx, &l, "generator", G);
    if (st == CG_OK && D) st = add_net(ctx, &l, "discriminator", D);
    if (st == CG_OK && og) st = add_moments(ctx, &l, "generator", og, &shape_g);
    if (st == CG_OK && od) st = add_moments(ctx, &l, "discriminator", od, &shape_d);
    for (int i = 0; i < l.n; i++) l.t[i].name = l.names[i];
    char vals[N_META][32], sum[20];
    const char *values[N_META + 1];
    long nums[] = {c->step, c->batches, c->noise_batches, c->opt_g_step, c->opt_d_step, c->seed};
    for (int i = 0; i < 6; i++) snprintf(vals[i + 1], sizeof vals[i + 1], "%ld", nums[i]);
    int mnums[] = {mc->image_size, mc->channels, mc->nz, mc->ngf, mc->ndf};
    for (int i = 0; i < 5; i++) snprintf(vals[i + 9], sizeof vals[i + 9], "%d", mnums[i]);
    for (int i = 1; i < 14; i++) values[i] = vals[i];
    values[0] = CKPT_FORMAT;
    values[7] = "philox4x32-10 (counter-based: streams keyed by seed, positions by the counters)";
    values[8] = cg_model_type_name(mc->type);
    values[14] = config_text ? config_text : "";
    uint64_t h = meta_hash(values);
    for (int i = 0; st == CG_OK && i < l.n; i++)
        h ^= tensor_hash(l.t[i].name, l.t[i].data, numel_of(l.t[i].shape, l.t[i].ndim));
    snprintf(sum, sizeof sum, "%016llx", (unsigned long long)h);
    values[N_META] = sum;
    if (st == CG_OK) st = cg_safetensors_write(path, l.t, l.n, META_KEYS, values, N_META + 1);
    list_free(&l);
    if (st != CG_OK) return cg_fail_context(st, "saving checkpoint %s", path);
    return CG_OK;
}

// ---- loading -------------------------------------------------------------------------------

static cg_status meta_long(const cg_st_file *f, const char *path, const char *key, long *out) {
    const char *v = cg_safetensors_meta(f, key);
    if (!v) return cg_fail(CG_ERR_FORMAT, "checkpoint %s: metadata lacks '%s'", path, key);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < 0)
        return cg_fail(CG_ERR_FORMAT, "checkpoint %s: metadata '%s' = '%s' is not a count", path, key, v);
    *out = x;
    return CG_OK;
}

static int same_shape(const int *a, int na, const int *b, int nb) {
    if (na != nb) return 0;
    for (int d = 0; d < na; d++)
        if (a[d] != b[d]) return 0;
    return 1;
}

static const char *shape_text(const int *shape, int ndim, char *buf, size_t len) {
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < ndim && at < len; d++) at += (size_t)snprintf(buf + at, len - at, d ? ", %d" : "%d", shape[d]);
    if (at < len) snprintf(buf + at, len - at, "]");
    return buf;
}

static cg_status copy_tensor(const cg_st_file *f, const char *path, const char *name, const int *shape, int ndim,
                             float *dst, size_t numel) {
    const int *fs;
    int fnd;
    const float *data;
    cg_status st = cg_safetensors_get(f, name, &fs, &fnd, &data);
    if (st != CG_OK) return cg_fail(st, "checkpoint %s has no tensor '%s'", path, name);
    if (!same_shape(fs, fnd, shape, ndim) || numel_of(fs, fnd) != numel) {
        char have[64], want[64];
        return cg_fail(CG_ERR_FORMAT, "checkpoint %s: tensor '%s' has shape %s, the net's is %s (a different model "
                                      "configuration?)",
                       path, name, shape_text(fs, fnd, have, sizeof have), shape_text(shape, ndim, want, sizeof want));
    }
    memcpy(dst, data, numel * sizeof(float));
    return CG_OK;
}

// Gathers net s from f (names "<prefix>.<name>", or bare names when prefix is NULL) into host
// images, then writes them to the device.
static cg_status load_net(cg_ctx *ctx, const cg_st_file *f, const char *path, const char *prefix, cg_seq *s) {
    float *params = malloc((s->n_params + 1) * sizeof(float));
    float *buffers = malloc((s->n_buffers + 1) * sizeof(float));
    cg_status st = params && buffers ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (int i = 0; st == CG_OK && i < s->n_layers; i++) {
        const cg_layer *ly = s->layers[i];
        for (int j = 0; st == CG_OK && j < ly->n_params; j++) {
            const cg_param *p = &ly->params[j];
            char name[160];
            if (prefix) snprintf(name, sizeof name, "%s.%s.%s", prefix, ly->name, p->name);
            else snprintf(name, sizeof name, "%s.%s", ly->name, p->name);
            st = copy_tensor(f, path, name, p->shape, p->ndim, (p->trainable ? params : buffers) + p->w.off,
                             cg_param_numel(p));
        }
    }
    if (st == CG_OK && s->n_params)
        st = cg_tensor_write(ctx->rt, cg_view(s->params, 0, 1, 1, 1, (int)s->n_params), params);
    if (st == CG_OK && s->n_buffers)
        st = cg_tensor_write(ctx->rt, cg_view(s->buffers, 0, 1, 1, 1, (int)s->n_buffers), buffers);
    free(params);
    free(buffers);
    return st;
}

static cg_status load_moments(cg_ctx *ctx, const cg_st_file *f, const char *path, const char *which,
                              cg_optimizer *o) {
    cl_mem bufs[2] = {o->m, o->v};
    const char *names[2] = {"m", "v"};
    float *h = malloc((o->n + 1) * sizeof(float));
    if (!h) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    int shape = (int)o->n;
    cg_status st = CG_OK;
    for (int k = 0; st == CG_OK && k < 2; k++) {
        if (!bufs[k]) continue;
        char name[160];
        snprintf(name, sizeof name, "optimizer.%s.%s", which, names[k]);
        st = copy_tensor(f, path, name, &shape, 1, h, o->n);
        if (st == CG_OK) st = cg_tensor_write(ctx->rt, cg_view(bufs[k], 0, 1, 1, 1, (int)o->n), h);
    }
    free(h);
    return st;
}

// Files without a checksum (generator-only exports, older checkpoints) pass.
static cg_status verify_checksum(const cg_st_file *f, const char *path) {
    const char *want = cg_safetensors_meta(f, "checksum");
    if (!want) return CG_OK;
    const char *values[N_META];
    for (int i = 0; i < N_META; i++) values[i] = cg_safetensors_meta(f, META_KEYS[i]);
    uint64_t h = meta_hash(values);
    for (int i = 0; i < cg_safetensors_count(f); i++) {
        const char *name = cg_safetensors_name(f, i);
        const int *shape;
        int ndim;
        const float *data;
        CG_TRY(cg_safetensors_get(f, name, &shape, &ndim, &data));
        h ^= tensor_hash(name, data, numel_of(shape, ndim));
    }
    char got[20];
    snprintf(got, sizeof got, "%016llx", (unsigned long long)h);
    if (strcmp(got, want))
        return cg_fail(CG_ERR_FORMAT, "checkpoint %s is corrupt: checksum %s, but its metadata says %s", path, got,
                       want);
    return CG_OK;
}

// *doubled: a format-1 file, whose optimizer step counts are twice the updates.
static cg_status check_format(const cg_st_file *f, const char *path, int *doubled) {
    const char *fmt = cg_safetensors_meta(f, "format");
    *doubled = fmt && !strcmp(fmt, CKPT_FORMAT_DOUBLED_STEPS);
    if (!fmt || (strcmp(fmt, CKPT_FORMAT) && !*doubled))
        return cg_fail(CG_ERR_FORMAT, "%s is not a clgan training checkpoint (metadata format '%s', expected '%s')",
                       path, fmt ? fmt : "(none)", CKPT_FORMAT);
    return CG_OK;
}

static void fix_doubled_steps(const char *path, cg_ckpt_counters *k) {
    static int said;
    if (!said)
        fprintf(stderr,
                "note: %s was written by an older clgan that counted each optimizer update twice "
                "(opt_g_step %ld, opt_d_step %ld after %ld iterations); continuing with %ld and %ld updates\n",
                path, k->opt_g_step, k->opt_d_step, k->step, k->opt_g_step / 2, k->opt_d_step / 2);
    said = 1;
    k->opt_g_step /= 2;
    k->opt_d_step /= 2;
}

cg_status cg_checkpoint_load(cg_ctx *ctx, const char *path, cg_seq *G, cg_seq *D, cg_optimizer *og,
                             cg_optimizer *od, cg_ckpt_counters *c) {
    cg_st_file *f = NULL;
    CG_TRY(cg_safetensors_open(path, &f));
    cg_ckpt_counters k = {0};
    int doubled = 0;
    cg_status st = check_format(f, path, &doubled);
    if (st == CG_OK) st = verify_checksum(f, path);
    if (st == CG_OK) st = meta_long(f, path, "step", &k.step);
    if (st == CG_OK) st = meta_long(f, path, "batches", &k.batches);
    if (st == CG_OK) st = meta_long(f, path, "noise_batches", &k.noise_batches);
    if (st == CG_OK) st = meta_long(f, path, "opt_g_step", &k.opt_g_step);
    if (st == CG_OK) st = meta_long(f, path, "opt_d_step", &k.opt_d_step);
    if (st == CG_OK) st = meta_long(f, path, "seed", &k.seed);
    if (st == CG_OK) st = load_net(ctx, f, path, "generator", G);
    if (st == CG_OK) st = load_net(ctx, f, path, "discriminator", D);
    if (st == CG_OK) st = load_moments(ctx, f, path, "generator", og);
    if (st == CG_OK) st = load_moments(ctx, f, path, "discriminator", od);
    cg_safetensors_close(f);
    if (st != CG_OK) return cg_fail_context(st, "resuming from %s", path);
    if (doubled) fix_doubled_steps(path, &k);
    og->step = k.opt_g_step;
    od->step = k.opt_d_step;
    *c = k;
    return CG_OK;
}

// How many of net s's tensors f holds under prefix (NULL: bare names) with the net's shape.
static int tensors_fitting(const cg_st_file *f, const char *prefix, const cg_seq *s, int *total) {
    int fit = 0;
    *total = 0;
    for (int i = 0; i < s->n_layers; i++) {
        const cg_layer *ly = s->layers[i];
        for (int j = 0; j < ly->n_params; j++, (*total)++) {
            const cg_param *p = &ly->params[j];
            char name[160];
            if (prefix) snprintf(name, sizeof name, "%s.%s.%s", prefix, ly->name, p->name);
            else snprintf(name, sizeof name, "%s.%s", ly->name, p->name);
            const int *shape;
            int ndim;
            const float *data;
            if (cg_safetensors_get(f, name, &shape, &ndim, &data) == CG_OK && same_shape(shape, ndim, p->shape, p->ndim))
                fit++;
        }
    }
    return fit;
}

static int has_prefix(const cg_st_file *f, const char *prefix) {
    size_t n = strlen(prefix);
    for (int i = 0; i < cg_safetensors_count(f); i++)
        if (!strncmp(cg_safetensors_name(f, i), prefix, n)) return 1;
    return 0;
}

cg_status cg_checkpoint_load_init(cg_ctx *ctx, const char *path, cg_seq *G, cg_seq *D, const char **loaded) {
    cg_st_file *f = NULL;
    CG_TRY(cg_safetensors_open(path, &f));
    int g = has_prefix(f, "generator."), d = has_prefix(f, "discriminator.");
    cg_status st = verify_checksum(f, path);
    if (st == CG_OK && (g || d)) {
        if (g) st = load_net(ctx, f, path, "generator", G);
        if (st == CG_OK && d) st = load_net(ctx, f, path, "discriminator", D);
        *loaded = g && d ? "G+D" : g ? "G" : "D";
    } else if (st == CG_OK) { // bare names: one net, whichever it fits (G first)
        int ng, nd, fit_g = tensors_fitting(f, NULL, G, &ng), fit_d = tensors_fitting(f, NULL, D, &nd);
        int into_g = fit_g == ng || (fit_d != nd && fit_g >= fit_d);
        st = load_net(ctx, f, path, NULL, into_g ? G : D);
        *loaded = into_g ? "G" : "D";
        if (st != CG_OK)
            cg_fail_context(st, "%s has no generator. / discriminator. prefixes and fits neither net (closest: the %s)",
                            path, into_g ? "generator" : "discriminator");
    }
    cg_safetensors_close(f);
    if (st != CG_OK) return cg_fail_context(st, "loading the initial weights ([train] init) from %s", path);
    return CG_OK;
}

cg_status cg_checkpoint_load_generator(cg_ctx *ctx, const char *path, cg_seq *G) {
    cg_st_file *f = NULL;
    CG_TRY(cg_safetensors_open(path, &f));
    // A training checkpoint names its generator tensors "generator.*"; an export has bare names.
    int prefixed = has_prefix(f, "generator.");
    cg_status st = verify_checksum(f, path);
    if (st == CG_OK) st = load_net(ctx, f, path, prefixed ? "generator" : NULL, G);
    cg_safetensors_close(f);
    if (st != CG_OK) return cg_fail_context(st, "loading the generator of %s", path);
    return CG_OK;
}

cg_status cg_checkpoint_model(const char *path, cg_model_config *mc) {
    cg_st_file *f = NULL;
    CG_TRY(cg_safetensors_open(path, &f));
    const char *type = cg_safetensors_meta(f, "model_type");
    cg_status st = type ? cg_model_type_parse(type, &mc->type)
                        : cg_fail(CG_ERR_NOT_FOUND, "checkpoint %s names no model in its metadata", path);
    long v[5] = {0};
    const char *keys[5] = {"image_size", "channels", "nz", "ngf", "ndf"};
    for (int i = 0; st == CG_OK && i < 5; i++) st = meta_long(f, path, keys[i], &v[i]);
    if (st == CG_OK) {
        mc->image_size = (int)v[0], mc->channels = (int)v[1], mc->nz = (int)v[2];
        mc->ngf = (int)v[3], mc->ndf = (int)v[4];
    }
    cg_safetensors_close(f);
    return st;
}
