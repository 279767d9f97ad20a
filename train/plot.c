// plot.c — the loss-curve PNG: Loss_D and Loss_G against the step as lines on a white canvas with
// axes, tick marks, numeric labels (the outer ticks are the step range and the loss minimum and
// maximum), axis titles and a labelled legend, in the 5x7 font of plot_font.c.
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

const unsigned char *cg_plot_glyph(char c);                                                  // plot_font.c

enum { W = 800, H = 450, LEFT = 70, RIGHT = 20, TOP = 20, BOTTOM = 40 };

typedef struct {
    unsigned char *pix;
} canvas;

static void dot(canvas *cv, int x, int y, const unsigned char rgb[3]) {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    memcpy(cv->pix + ((size_t)y * W + x) * 3, rgb, 3);
}

static void line(canvas *cv, int x0, int y0, int x1, int y1, const unsigned char rgb[3]) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        dot(cv, x0, y0, rgb);
        if (x0 == x1 && y0 == y1) return;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

// Text of 5x7 glyphs magnified `scale` times, from its top-left corner.
static void text(canvas *cv, int x, int y, int scale, const char *s, const unsigned char rgb[3]) {
    for (; *s; s++, x += 6 * scale) {
        const unsigned char *g = cg_plot_glyph(*s);
        for (int r = 0; g && r < 7; r++)
            for (int c = 0; c < 5; c++)
                if (g[r] & (16 >> c))
                    for (int a = 0; a < scale; a++)
                        for (int b = 0; b < scale; b++) dot(cv, x + c * scale + b, y + r * scale + a, rgb);
    }
}

static int text_width(const char *s, int scale) { return (int)strlen(s) * 6 * scale - scale; }

static void fill(canvas *cv, int x0, int y0, int x1, int y1, const unsigned char rgb[3]) {
    for (int y = y0; y <= y1; y++) line(cv, x0, y, x1, y, rgb);
}

static void number(char *buf, size_t len, double v) {
    snprintf(buf, len, "%.3g", v);
}

cg_status cg_plot_losses(const char *path, const cg_train_record *r, int n) {
    static const unsigned char black[3] = {0, 0, 0}, grey[3] = {220, 220, 220}, white[3] = {255, 255, 255};
    static const unsigned char colours[2][3] = {{31, 119, 180}, {255, 127, 14}}; // D blue, G orange
    canvas cv = {malloc((size_t)W * H * 3)};
    if (!cv.pix) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    memset(cv.pix, 255, (size_t)W * H * 3);
    double lo = INFINITY, hi = -INFINITY;
    long s0 = n ? r[0].step : 0, s1 = n ? r[n - 1].step : 1;
    for (int i = 0; i < n; i++) {
        double v[2] = {r[i].loss_d, r[i].loss_g};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k])) lo = fmin(lo, v[k]), hi = fmax(hi, v[k]);
    }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-6) hi = lo + 1e-6 + fabs(lo) * 0.01, lo -= 1e-6;
    if (s1 <= s0) s1 = s0 + 1;
    int x0 = LEFT, x1 = W - RIGHT, y0 = H - BOTTOM, y1 = TOP;
    char buf[32];
    for (int t = 0; t <= 4; t++) { // grid lines, ticks and labels
        int y = y0 + (y1 - y0) * t / 4, x = x0 + (x1 - x0) * t / 4;
        line(&cv, x0, y, x1, y, grey);
        line(&cv, x0 - 5, y, x0, y, black);
        number(buf, sizeof buf, lo + (hi - lo) * t / 4);
        text(&cv, x0 - 8 - text_width(buf, 1), y - 3, 1, buf, black);
        line(&cv, x, y0, x, y0 + 5, black);
        snprintf(buf, sizeof buf, "%ld", s0 + (long)((double)(s1 - s0) * t / 4));
        text(&cv, x - text_width(buf, 1) / 2, y0 + 9, 1, buf, black);
    }
    line(&cv, x0, y0, x1, y0, black);
    line(&cv, x0, y0, x0, y1, black);
    text(&cv, (x0 + x1 - text_width("iteration", 2)) / 2, y0 + 20, 2, "iteration", black);
    text(&cv, x0 + 8, 3, 2, "loss", black);
    for (int k = 0; k < 2; k++) {
        int px = -1, py = -1;
        for (int i = 0; i < n; i++) {
            double v = k ? r[i].loss_g : r[i].loss_d;
            if (!isfinite(v)) {
                px = -1;
                continue;
            }
            int x = x0 + (int)lround((double)(r[i].step - s0) / (double)(s1 - s0) * (x1 - x0));
            int y = y0 + (int)lround((v - lo) / (hi - lo) * (y1 - y0));
            if (px >= 0) line(&cv, px, py, x, y, colours[k]);
            else dot(&cv, x, y, colours[k]);
            px = x, py = y;
        }
    }
    static const char *const names[2] = {"Loss_D", "Loss_G"};
    int lx = x1 - 130, ly = y1 + 6; // legend: white box over the curves, bar and label per curve
    fill(&cv, lx, ly, x1 - 6, ly + 40, white);
    line(&cv, lx, ly, x1 - 6, ly, grey), line(&cv, lx, ly + 40, x1 - 6, ly + 40, grey);
    line(&cv, lx, ly, lx, ly + 40, grey), line(&cv, x1 - 6, ly, x1 - 6, ly + 40, grey);
    for (int k = 0; k < 2; k++) {
        fill(&cv, lx + 8, ly + 9 + 18 * k, lx + 38, ly + 13 + 18 * k, colours[k]);
        text(&cv, lx + 46, ly + 4 + 18 * k, 2, names[k], black);
    }
    cg_status st = cg_png_write(path, cv.pix, W, H, 3);
    free(cv.pix);
    return st;
}
