// train_log.c — log.csv (step, Loss_D, Loss_G, D(x), D(G(z))) and the in-memory history the loss
// plot draws. A resumed run keeps the rows up to its step and drops later ones (they belong to the
// abandoned continuation) and any repeated step, so the log always describes one run.
#include "trainer_internal.h"

#include <stdlib.h>
#include <string.h>

#define HEADER "step,loss_d,loss_g,d_x,d_g_z\n"

static cg_status push(cg_trainer *t, const cg_train_record *r) {
    if (t->n_hist == t->cap_hist) {
        int cap = t->cap_hist ? 2 * t->cap_hist : 256;
        cg_train_record *h = realloc(t->hist, (size_t)cap * sizeof *h);
        if (!h) return cg_fail(CG_ERR_NOMEM, "out of host memory");
        t->hist = h;
        t->cap_hist = cap;
    }
    t->hist[t->n_hist++] = *r;
    return CG_OK;
}

static void write_row(FILE *f, const cg_train_record *r) {
    fprintf(f, "%ld,%.6g,%.6g,%.6g,%.6g\n", r->step, (double)r->loss_d, (double)r->loss_g, (double)r->d_x,
            (double)r->d_g_z);
}

cg_status cg_trainer_log_open(cg_trainer *t) {
    char path[1200];
    snprintf(path, sizeof path, "%s/log.csv", t->p.out);
    t->n_hist = 0;
    if (t->step > 0) { // resumed: keep the earlier rows
        FILE *in = fopen(path, "r");
        char line[512];
        while (in && fgets(line, sizeof line, in)) {
            cg_train_record r;
            double a, b, c, d;
            if (sscanf(line, "%ld,%lf,%lf,%lf,%lf", &r.step, &a, &b, &c, &d) != 5 || r.step > t->step ||
                (t->n_hist && r.step <= t->hist[t->n_hist - 1].step))
                continue;
            r.loss_d = (float)a, r.loss_g = (float)b, r.d_x = (float)c, r.d_g_z = (float)d;
            CG_TRY(push(t, &r));
        }
        if (in) fclose(in);
    }
    // The kept rows replace the file atomically: a kill now loses no row the checkpoint covers.
    cg_atomic_file *af = NULL;
    CG_TRY(cg_atomic_open(path, &af));
    FILE *f = cg_atomic_stream(af);
    fputs(HEADER, f);
    for (int i = 0; i < t->n_hist; i++) write_row(f, &t->hist[i]);
    CG_TRY(cg_atomic_commit(af));
    t->log = fopen(path, "a");
    if (!t->log) return cg_fail(CG_ERR_IO, "cannot append to %s", path);
    return CG_OK;
}

cg_status cg_trainer_log_record(cg_trainer *t) {
    CG_TRY(push(t, &t->rec));
    if (t->log) {
        write_row(t->log, &t->rec);
        fflush(t->log);
    }
    return CG_OK;
}

void cg_trainer_log_close(cg_trainer *t) {
    if (t->log) fclose(t->log);
    t->log = NULL;
}

const cg_train_record *cg_trainer_history(const cg_trainer *t, int *n) {
    *n = t->n_hist;
    return t->hist;
}
