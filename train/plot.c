// plot.c — the loss-curve PNG: Loss_D and Loss_G against the step as lines on a white canvas with
// axes, tick marks and numeric labels in a 3x5 pixel font (digits, '.', '-', 'e'), drawn here.
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cg_status cg_train_write_rgb_png(const char *path, const unsigned char *rgb, int w, int h); // grid.c

enum { W = 800, H = 450, LEFT = 70, RIGHT = 20, TOP = 20, BOTTOM = 40, SCALE = 2 };

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

// 3x5 glyphs, rows top to bottom, 3 bits each (bit 2 = left column).
static const char *const GLYPH_CHARS = "0123456789.-e";
static const unsigned char GLYPHS[13][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7},
    {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}, {0, 0, 0, 0, 2}, {0, 0, 7, 0, 0},
    {0, 7, 5, 6, 7}};

static void text(canvas *cv, int x, int y, const char *s, const unsigned char rgb[3]) {
    for (; *s; s++, x += 4 * SCALE) {
        const char *at = strchr(GLYPH_CHARS, *s);
        if (!at || !*s) continue;
        const unsigned char *g = GLYPHS[at - GLYPH_CHARS];
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 3; c++)
                if (g[r] & (4 >> c))
                    for (int a = 0; a < SCALE; a++)
                        for (int b = 0; b < SCALE; b++) dot(cv, x + c * SCALE + b, y + r * SCALE + a, rgb);
    }
}

static void number(char *buf, size_t len, double v) {
    snprintf(buf, len, "%.3g", v);
}

cg_status cg_plot_losses(const char *path, const cg_train_record *r, int n) {
    static const unsigned char black[3] = {0, 0, 0}, grey[3] = {220, 220, 220};
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
        text(&cv, 4, y - 5, buf, black);
        line(&cv, x, y0, x, y0 + 5, black);
        snprintf(buf, sizeof buf, "%ld", s0 + (long)((double)(s1 - s0) * t / 4));
        text(&cv, x - (int)strlen(buf) * 4, y0 + 10, buf, black);
    }
    line(&cv, x0, y0, x1, y0, black);
    line(&cv, x0, y0, x0, y1, black);
    for (int k = 0; k < 2; k++) { // legend: a coloured bar per curve (D first)
        for (int d = 0; d < 6; d++) line(&cv, x1 - 60, y1 + 8 + 14 * k + d, x1 - 20, y1 + 8 + 14 * k + d, colours[k]);
    }
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
    cg_status st = cg_train_write_rgb_png(path, cv.pix, W, H);
    free(cv.pix);
    return st;
}
