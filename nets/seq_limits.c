// seq_limits.c — the batch-fit check of sequential nets: the sizes of the buffers a batch needs
// (the same shapes and workspaces cg_seq_set_batch allocates) against the device's limits.
#include "seq_limits.h"

#include <stdlib.h>

cg_status cg_seq_sizes_for(const cg_seq *s, int batch, cg_seq_sizes *out) {
    *out = (cg_seq_sizes){0, 0, 0, 0};
    int cur[4] = {batch, s->in_shape[0], s->in_shape[1], s->in_shape[2]}, next[4];
    size_t total = (size_t)cur[0] * cur[1] * cur[2] * cur[3], in = total, ws = 0;
    for (int i = 0; i < s->n_layers; i++) {
        const cg_layer *l = s->layers[i];
        if (l->ops->workspace) {
            size_t need = l->ops->workspace(l, cur);
            if (need > ws) ws = need;
        }
        CG_TRY(l->ops->out_shape(l, cur, next));
        for (int d = 0; d < 4; d++) cur[d] = next[d];
        total += (size_t)cur[0] * cur[1] * cur[2] * cur[3];
    }
    out->acts = total * sizeof(float);
    out->dacts = (total - in) * sizeof(float);
    out->workspace = ws * sizeof(float);
    out->fixed = (4 * s->n_params + s->n_buffers) * sizeof(float);
    return CG_OK;
}

static void mib(char *buf, size_t len, uint64_t bytes) {
    if (bytes >= ((uint64_t)10 << 30)) snprintf(buf, len, "%.1f GiB", (double)bytes / (1 << 30));
    else snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
}

int cg_seq_fits(cg_seq *const *nets, const char *const *labels, int n, int batch, uint64_t max_alloc,
                uint64_t global_mem, char *why, size_t len) {
    uint64_t all = 0, ws = 0;
    char a[32], b[32];
    for (int i = 0; i < n; i++) {
        cg_seq_sizes z;
        if (cg_seq_sizes_for(nets[i], batch, &z) != CG_OK) {
            snprintf(why, len, "the %s's shapes fail for batch %d: %s", labels ? labels[i] : "net", batch,
                     cg_last_error());
            return 0;
        }
        const size_t one[3] = {z.acts, z.dacts, z.workspace};
        static const char *const names[3] = {"activations", "activation gradients", "layer workspace"};
        for (int k = 0; k < 3; k++)
            if (max_alloc && one[k] > max_alloc) {
                mib(a, sizeof a, one[k]), mib(b, sizeof b, max_alloc);
                snprintf(why, len, "the %s's %s buffer needs %s, more than the device's largest allocation (%s)",
                         labels ? labels[i] : "net", names[k], a, b);
                return 0;
            }
        all += z.acts + z.dacts + z.fixed;
        if (z.workspace > ws) ws = z.workspace; // one workspace, shared
    }
    all += ws;
    if (global_mem && all > global_mem) {
        mib(a, sizeof a, all), mib(b, sizeof b, global_mem);
        snprintf(why, len, "its buffers (activations, their gradients, workspace, parameters and optimizer state) "
                           "need %s in all, more than the device's global memory (%s)",
                 a, b);
        return 0;
    }
    return 1;
}

int cg_seq_max_batch(cg_seq *const *nets, int n, int batch, uint64_t max_alloc, uint64_t global_mem) {
    char why[8];
    int lo = 0, hi = batch; // lo fits (0 trivially), hi is the bound
    if (cg_seq_fits(nets, NULL, n, hi, max_alloc, global_mem, why, sizeof why)) return hi;
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (cg_seq_fits(nets, NULL, n, mid, max_alloc, global_mem, why, sizeof why)) lo = mid;
        else hi = mid;
    }
    return lo;
}

cg_status cg_seq_fit_check(cg_ctx *ctx, cg_seq *const *nets, const char *const *labels, int n, int batch,
                           const char *setting) {
    cg_chunk_fit_device(ctx->rt);
    const cg_device_info *dev = cg_runtime_device(ctx->rt);
    char why[512];
    if (cg_seq_fits(nets, labels, n, batch, dev->max_alloc, dev->global_mem, why, sizeof why)) return CG_OK;
    int fit = cg_seq_max_batch(nets, n, batch, dev->max_alloc, dev->global_mem);
    if (fit < 1)
        return cg_fail(CG_ERR_CONFIG, "%s = %d does not fit on %s: %s; not even a batch of 1 fits", setting, batch,
                       dev->name, why);
    return cg_fail(CG_ERR_CONFIG, "%s = %d does not fit on %s: %s; %s = %d fits", setting, batch, dev->name, why,
                   setting, fit);
}
