// train_log.c — the training log: log.csv (step, Loss_D, Loss_G, D(x), D(G(z)), penalty, images/s),
// the in-memory history the loss plot draws, and the same scalars, the fixed-noise sample grids and
// the effective configuration as TensorBoard events (tb_events.c) in [train] log_dir. A resumed run
// keeps the rows and events up to its step and drops later ones (they belong to the abandoned
// continuation) and any repeated step, so the log always describes one run.
#include "trainer_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEADER "step,loss_d,loss_g,d_x,d_g_z,penalty,images_per_s\n"
#define CONFIG_TAG "config"

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
    fprintf(f, "%ld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", r->step, (double)r->loss_d, (double)r->loss_g, (double)r->d_x,
            (double)r->d_g_z, (double)r->penalty, (double)r->images_per_s);
}

// A row as written: the values the file holds (TensorBoard gets these, so both agree).
static int parse_row(const char *line, cg_train_record *r) {
    double v[6] = {0};
    memset(r, 0, sizeof *r);
    int n = sscanf(line, "%ld,%lf,%lf,%lf,%lf,%lf,%lf", &r->step, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
    if (n != 5 && n != 7) return 0; // 5: a log of an earlier version
    r->loss_d = (float)v[0], r->loss_g = (float)v[1], r->d_x = (float)v[2], r->d_g_z = (float)v[3];
    r->penalty = (float)v[4], r->images_per_s = (float)v[5];
    return 1;
}

// The effective configuration as a Markdown code block (four-space indent).
static cg_status log_config(cg_trainer *t) {
    size_t n = strlen(t->config_text), lines = 1;
    for (size_t i = 0; i < n; i++) lines += t->config_text[i] == '\n';
    char *md = malloc(n + 4 * lines + 1), *o = md;
    if (!md) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    for (const char *c = t->config_text; *c; c++) {
        if (c == t->config_text || c[-1] == '\n') memcpy(o, "    ", 4), o += 4;
        *o++ = *c;
    }
    *o = 0;
    cg_status st = cg_tb_text(t->tb, t->step, CONFIG_TAG, md);
    free(md);
    return st;
}

// The configuration is logged again at the step a run starts from.
static int skip_config(const char *tag, long step, int text, void *user) {
    return text && !strcmp(tag, CONFIG_TAG) && step >= *(const long *)user;
}

static cg_status tb_open(cg_trainer *t) {
    char dir[1400];
    if (t->p.log_dir[0] == '/') snprintf(dir, sizeof dir, "%s", t->p.log_dir);
    else snprintf(dir, sizeof dir, "%s/%s", t->p.out, t->p.log_dir);
    CG_TRY(cg_tb_open(dir, "train", t->step > 0 ? t->step : -1, skip_config, &t->step, &t->tb));
    return log_config(t);
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
            if (!parse_row(line, &r) || r.step > t->step || (t->n_hist && r.step <= t->hist[t->n_hist - 1].step))
                continue;
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
    t->log_time = cg_now_s();
    t->log_batches = t->batches;
    return t->p.tensorboard ? tb_open(t) : CG_OK;
}

cg_status cg_trainer_log_record(cg_trainer *t) {
    double now = cg_now_s(), dt = now - t->log_time;
    t->rec.images_per_s = dt > 0 ? (float)((double)(t->batches - t->log_batches) * t->p.batch_size / dt) : 0.0f;
    t->log_time = now;
    t->log_batches = t->batches;
    char row[512];
    cg_train_record r = t->rec;
    if (t->log) {
        FILE *mem = fmemopen(row, sizeof row, "w");
        if (mem) {
            write_row(mem, &t->rec);
            fclose(mem);
            fputs(row, t->log);
            parse_row(row, &r); // rounded as in the file
        } else {
            write_row(t->log, &t->rec);
        }
        fflush(t->log);
    }
    CG_TRY(push(t, &t->rec));
    if (!t->tb) return CG_OK;
    const char *tags[6] = {"Loss_D", "Loss_G", "D(x)", "D(G(z))", t->p.gp_lambda > 0 ? "penalty" : NULL,
                           "images_per_s"};
    const float v[6] = {r.loss_d, r.loss_g, r.d_x, r.d_g_z, r.penalty, r.images_per_s};
    return cg_tb_scalars(t->tb, r.step, tags, v, 6);
}

cg_status cg_trainer_log_samples(cg_trainer *t, const float *images, int c, int h, int w) {
    if (!t->tb) return CG_OK;
    unsigned char *png = NULL;
    size_t len = 0;
    int gw, gh;
    cg_status st = cg_grid_png(images, t->p.n_samples, c, h, w, &png, &len, &gw, &gh);
    if (st == CG_OK) st = cg_tb_image(t->tb, t->step, "samples", png, len, gh, gw, c);
    free(png);
    return st;
}

void cg_trainer_log_close(cg_trainer *t) {
    if (t->log) fclose(t->log);
    t->log = NULL;
    cg_tb_close(t->tb);
    t->tb = NULL;
}

const cg_train_record *cg_trainer_history(const cg_trainer *t, int *n) {
    *n = t->n_hist;
    return t->hist;
}
