// layer.c — what every layer shares: freeing, declaring parameters with their roles, and the
// composite layers' adoption of inner layers (their parameters join the composite's list).
#include "nets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_layer_free(cg_layer *l) {
    if (!l) return;
    if (l->ops && l->ops->destroy) l->ops->destroy(l);
    for (int i = 0; i < l->n_inner; i++) cg_layer_free(l->inner[i]);
    free(l->inner);
    if (!l->owner) free(l->params);
    free(l);
}

cg_status cg_layer_add_param(cg_layer *l, cg_param_decl d) {
    int bad = d.ndim < 0 || d.ndim > 4 || !d.name || strlen(d.name) >= sizeof l->params[0].name;
    for (int i = 0; !bad && i < d.ndim; i++) bad = d.shape[i] < 0;
    if (bad) return cg_fail(CG_ERR_INVALID_ARG, "%s: invalid parameter declaration '%s'", l->kind, d.name ? d.name : "");
    if (l->owner) return cg_fail(CG_ERR_INVALID_ARG, "%s: parameters added after adoption", l->kind);
    cg_param *p = realloc(l->params, ((size_t)l->n_params + 1) * sizeof *p);
    if (!p) return cg_fail(CG_ERR_NOMEM, "%s: out of host memory", l->kind);
    l->params = p;
    p = &p[l->n_params++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", d.name);
    p->ndim = d.ndim;
    for (int i = 0; i < 4; i++) p->shape[i] = i < d.ndim ? d.shape[i] : 1;
    p->role = d.role;
    p->trainable = d.role != CG_ROLE_RUNNING_MEAN && d.role != CG_ROLE_RUNNING_VAR;
    p->init = d.init;
    p->fan_in = d.fan_in;
    return CG_OK;
}

// Moves the params of c's inner layers (nested composites alike) from old to new.
static void repoint(cg_layer *c, const cg_param *old, cg_param *new_base) {
    for (int i = 0; i < c->n_inner; i++) {
        cg_layer *g = c->inner[i];
        g->params = new_base + (g->params - old);
        repoint(g, old, new_base);
    }
}

cg_status cg_layer_adopt(cg_layer *l, cg_layer **inner, const char *const *names, int n) {
    int total = l->n_params;
    cg_status st = CG_OK;
    for (int i = 0; i < n; i++)
        if (!inner[i] || inner[i]->owner)
            st = cg_fail(CG_ERR_INVALID_ARG, "%s: inner layer %d is missing or taken", l->kind, i);
        else
            total += inner[i]->n_params;
    cg_layer **own = st == CG_OK ? calloc((size_t)n + 1, sizeof *own) : NULL;
    cg_param *all = st == CG_OK ? realloc(l->params, ((size_t)total + 1) * sizeof *all) : NULL;
    if (all) l->params = all;
    if (st == CG_OK && (!own || !all)) st = cg_fail(CG_ERR_NOMEM, "%s: out of host memory", l->kind);
    for (int i = 0; st == CG_OK && i < n; i++)
        for (int j = 0; j < inner[i]->n_params; j++) {
            cg_param p = inner[i]->params[j];
            int len = snprintf(p.name, sizeof p.name, "%s.%s", names[i], inner[i]->params[j].name);
            if (len < 0 || (size_t)len >= sizeof p.name)
                st = cg_fail(CG_ERR_INVALID_ARG, "%s: parameter name %s.%s is too long", l->kind, names[i],
                             inner[i]->params[j].name);
        }
    if (st != CG_OK) {
        for (int i = 0; i < n; i++)
            if (inner[i] && !inner[i]->owner) cg_layer_free(inner[i]);
        free(own);
        return st;
    }
    int k = l->n_params;
    for (int i = 0; i < n; i++) {
        cg_layer *c = inner[i];
        snprintf(c->name, sizeof c->name, "%s", names[i]);
        for (int j = 0; j < c->n_params; j++, k++) {
            all[k] = c->params[j];
            snprintf(all[k].name, sizeof all[k].name, "%s.%s", names[i], c->params[j].name);
        }
        own[i] = c;
    }
    // Only now do the inner lists move into l's (which no longer grows, so the pointers stay valid).
    k = l->n_params;
    for (int i = 0; i < n; i++) {
        cg_layer *c = inner[i];
        repoint(c, c->params, all + k);
        free(c->params);
        c->params = all + k;
        c->owner = l;
        k += c->n_params;
    }
    l->n_params = total;
    l->inner = own;
    l->n_inner = n;
    return CG_OK;
}

int cg_layer_has_second_order(const cg_layer *l) {
    if (!l->ops->tangent || !l->ops->backward2) return 0;
    for (int i = 0; i < l->n_inner; i++)
        if (!cg_layer_has_second_order(l->inner[i])) return 0;
    return 1;
}
