// synth_render.c — draws one synthetic face (cg_synth_face) into a 178x218 RGB image, back to front:
// background, hair behind the head, neck, clothes, ears, the lit head with its features (synth_face.c),
// hair in front, glasses; then blur, exposure and grain. Edges are antialiased from signed distances.
#include "synth_scene.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define W CG_SYNTH_W
#define H CG_SYNTH_H

#define CANVAS_ROW (3 * W + 8 - (3 * W) % 8)

float synth_noise_tab[SYNTH_NOISE_N * SYNTH_NOISE_N];
float synth_grain_tab[SYNTH_GRAIN_N];
static pthread_once_t noise_once = PTHREAD_ONCE_INIT;

static void fill_noise(void) {
    for (int y = 0; y < SYNTH_NOISE_N; y++)
        for (int x = 0; x < SYNTH_NOISE_N; x++) synth_noise_tab[y * SYNTH_NOISE_N + x] = synth_hash2(x, y, 0x5eed1234u);
    // about unit variance: a sum of three uniforms
    for (int i = 0; i < SYNTH_GRAIN_N; i++)
        synth_grain_tab[i] = 2.0f * (synth_hash2(i, 0, 1u) + synth_hash2(i, 1, 2u) + synth_hash2(i, 2, 3u) - 1.5f);
}

void synth_noise_init(void) { pthread_once(&noise_once, fill_noise); }

static int is_long(cg_hair_style h) { return h == CG_HAIR_LONG || h == CG_HAIR_LONG_FRINGE || h == CG_HAIR_BOB; }

static void head_table(synth_scene *sc) {
    const cg_synth_face *f = sc->f;
    float a = 2.0f + 1.3f * f->jaw; // a square jaw keeps its width further down
    sc->head_y0 = sc->crown_y - 2.0f;
    int n = (int)((sc->chin_y + 2.0f - sc->head_y0) / SYNTH_HEAD_STEP) + 2;
    sc->head_n = n < SYNTH_HEAD_ROWS ? n : SYNTH_HEAD_ROWS;
    for (int i = 0; i < sc->head_n; i++) {
        float dy = sc->head_y0 + i * SYNTH_HEAD_STEP - sc->eq_y, w;
        if (dy < 0) {
            float t = -dy / sc->ry_top;
            w = t < 1.0f ? sc->rx * sqrtf(1.0f - t * t) : -(t - 1.0f) * sc->ry_top;
        } else {
            float t = dy / sc->ry_low;
            // cheeks a little fuller than an ellipse, then the jaw, then a rounded chin
            w = t < 1.0f ? sc->rx * powf(1.0f - powf(t, a), 1.0f / 1.5f) : -(t - 1.0f) * sc->ry_low;
        }
        sc->head_w[i] = w;
    }
}

// Half width of the head outline at pre-roll row y, and its slope.
static float head_half(const synth_scene *sc, float y, float *slope) {
    float fi = (y - sc->head_y0) / SYNTH_HEAD_STEP;
    int last = sc->head_n - 1;
    if (fi <= 0.0f) {
        *slope = 1.0f;
        return sc->head_w[0] + fi * SYNTH_HEAD_STEP;
    }
    if (fi >= (float)last) {
        *slope = -1.0f;
        return sc->head_w[last] - (fi - last) * SYNTH_HEAD_STEP;
    }
    int i = (int)fi;
    float t = fi - i, w0 = sc->head_w[i], w1 = sc->head_w[i + 1];
    *slope = (w1 - w0) / SYNTH_HEAD_STEP;
    return w0 + (w1 - w0) * t;
}

// Horizontal offset from the head's axis, narrowed on the side the face turns to: a turned head shows
// its depth, so its outline reaches further there.
static float head_dx(const synth_scene *sc, float x) {
    float dx = x - sc->hx;
    return dx * sc->syaw > 0.0f ? dx / sc->turn : dx;
}

static float head_dist(const synth_scene *sc, float x, float y) {
    float slope, w = head_half(sc, y, &slope);
    float dy = y - sc->eq_y, t = dy > 0 ? dy / sc->ry_low : 0.0f;
    float dx = head_dx(sc, x - sc->chin_shift * t * t), sg = dx < 0 ? -1.0f : 1.0f;
    float gy = -sg * (dy > 0 ? 2.0f * sc->chin_shift * t / sc->ry_low : 0.0f) - slope;
    return (fabsf(dx) - w) / sqrtf(1.0f + gy * gy);
}

static void coordinate_tables(synth_scene *sc);

static float lambert(const synth_scene *sc, float nx, float ny, float amb) {
    float nz = sqrtf(synth_max(0.02f, 1.0f - nx * nx - ny * ny));
    return amb + (1.0f - amb) * synth_max(0.0f, nx * sc->lx + ny * sc->ly + nz * sc->lz);
}

static void scene_init(synth_scene *sc, const cg_synth_face *f) {
    memset(sc, 0, sizeof *sc);
    sc->f = f;
    float s = sc->s = f->iod / 38.0f;
    sc->yaw = f->yaw_deg * SYNTH_PI / 180.0f;
    sc->syaw = sinf(sc->yaw);
    sc->cyaw = cosf(sc->yaw);
    float roll = f->roll_deg * SYNTH_PI / 180.0f;
    sc->cr = cosf(roll);
    sc->sr = sinf(roll);
    sc->ex = f->eye_x;
    sc->ey = f->eye_y;
    sc->rx = f->head_rx;
    sc->rf = 1.2f * sc->rx;
    float edge = asinf(sc->rx / sc->rf) + fabsf(sc->yaw);
    sc->turn = synth_max(1.0f, sc->rf * sinf(synth_min(edge, 0.5f * SYNTH_PI)) / sc->rx);
    // the eyes' midpoint is the alignment target, so the head moves against the turn
    sc->hx = f->eye_x - sc->rf * sc->syaw * cosf(asinf(0.5f * f->iod / sc->rf));
    sc->eq_y = f->eye_y - 6.0f * s;
    sc->crown_y = f->eye_y - f->head_top;
    sc->chin_y = f->eye_y + f->head_chin;
    sc->ry_top = sc->eq_y - sc->crown_y;
    sc->ry_low = sc->chin_y - sc->eq_y;
    sc->chin_shift = 0.4f * sc->rf * sc->syaw;
    float ln = sqrtf(f->light[0] * f->light[0] + f->light[1] * f->light[1] + f->light[2] * f->light[2]);
    sc->lx = f->light[0] / ln;
    sc->ly = f->light[1] / ln;
    sc->lz = f->light[2] / ln;
    sc->seed = (uint32_t)f->texture_seed ^ (uint32_t)(f->texture_seed >> 32);
    synth_noise_init();
    for (int k = 0; k < SYNTH_NOISE_OFFSETS; k++) {
        sc->noff[k][0] = (float)(synth_hash(sc->seed + 2u * (uint32_t)k) & 0xffffu) / 256.0f;
        sc->noff[k][1] = (float)(synth_hash(sc->seed + 2u * (uint32_t)k + 1u) & 0xffffu) / 256.0f;
    }
    head_table(sc);

    cg_hair_style hs = f->hair_style;
    sc->long_hair = is_long(hs);
    float vol = hs == CG_HAIR_BALD ? 1.5f * s : f->hair_volume;
    sc->hair_rx = sc->rx + vol;
    sc->hair_ry = sc->ry_top + 1.4f * vol + 4.0f * s;
    sc->hair_cy = sc->eq_y + 4.0f * s;
    if (hs == CG_HAIR_CURLY) {
        // a round mass from above the crown down to the jaw
        float top = sc->crown_y - 1.2f * vol, bottom = f->eye_y + 30.0f * s;
        sc->hair_cy = 0.5f * (top + bottom);
        sc->hair_ry = 0.5f * (bottom - top);
    }
    sc->hairline0 = 0.98f * f->iod + 3.0f * s * f->hair_part;
    sc->side_v = f->male ? 3.0f * s : -8.0f * s;
    sc->curtain = hs == CG_HAIR_CURLY ? 0.86f * sc->rx
                  : sc->long_hair     ? (0.72f + 0.05f * f->hair_wave) * sc->rx
                                      : 0.98f * sc->rx;
    sc->hair_bottom_v = hs == CG_HAIR_CURLY ? 60.0f * s : 16.0f * s;
    sc->ears_over_hair = !sc->long_hair && hs != CG_HAIR_CURLY;
    // the box the hair can reach, bumps, wisps, drape and bun included
    float reach = 1.15f * sc->hair_rx * sc->turn + 3.0f * s;
    float bottom = sc->ey + (sc->long_hair ? f->hair_length + 4.0f * s : sc->hair_bottom_v);
    if (sc->long_hair) reach += 0.12f * (bottom - sc->hair_cy) * (0.5f + f->hair_wave);
    sc->hair_box[0] = sc->hx - reach;
    sc->hair_box[1] = sc->hx + reach;
    sc->hair_box[2] = synth_min(sc->hair_cy - 1.15f * sc->hair_ry, sc->crown_y - 20.0f * s) - 3.0f * s;
    sc->hair_box[3] = bottom + 2.0f * s;
    // the box of head, hair and ears together (pre-roll)
    float head_reach = sc->rx * sc->turn + 16.0f * s;
    sc->head_box[0] = synth_min(sc->hair_box[0], sc->hx - head_reach);
    sc->head_box[1] = synth_max(sc->hair_box[1], sc->hx + head_reach);
    sc->head_box[2] = synth_min(sc->hair_box[2], sc->crown_y - 2.0f);
    sc->head_box[3] = sc->chin_y + 2.0f;
    sc->neck_w = (f->male ? 0.58f : 0.5f) * sc->rx;
    sc->ear_v = 8.0f * s;
    sc->ear_ry = 12.5f * s;
    for (int i = 0; i < 2; i++) {
        float ang = (i ? 1.0f : -1.0f) * 1.75f + sc->yaw;
        sc->ear_x[i] = sc->hx + (sc->rx + 1.0f * s) * sinf(ang);
        sc->ear_cos[i] = cosf(ang);
        sc->ear_rx[i] = (4.5f + 4.0f * synth_sat(sc->ear_cos[i] + 0.15f)) * s;
    }
    if (f->bg == CG_BG_BOKEH) {
        sc->n_bokeh = 4 + (int)(synth_hash(sc->seed + 101u) % 5u);
        for (int i = 0; i < sc->n_bokeh; i++) {
            float *b = sc->bokeh[i], r[6];
            for (int j = 0; j < 6; j++) r[j] = synth_hash2(i, j, sc->seed + 202u);
            b[0] = r[0] * W;
            b[1] = r[1] * H * 0.8f;
            b[2] = 8.0f + 22.0f * r[2];
            for (int j = 0; j < 3; j++) b[3 + j] = synth_sat(f->bg_b[j] * (0.6f + 0.8f * r[3 + j]) + 0.15f);
        }
    }
    synth_face_init(sc);
    coordinate_tables(sc);
}

// The background colour where it depends on the row only (solid, vertical gradient, bokeh base).
static int background_by_row(const cg_synth_face *f) {
    return f->bg == CG_BG_SOLID || f->bg == CG_BG_VGRAD || f->bg == CG_BG_BOKEH;
}

static void background(const synth_scene *sc, int ix, int iy, const float *row_col, float *c) {
    const cg_synth_face *f = sc->f;
    float x = (float)ix / W, y = (float)iy / H, t = 0.0f;
    switch (f->bg) {
    case CG_BG_SOLID: t = 0.15f * y; break;
    case CG_BG_VGRAD: t = y; break;
    case CG_BG_HGRAD: t = 0.8f * x + 0.2f * y; break;
    case CG_BG_NOISE:
        t = 0.65f * synth_noise(sc, 3, x * 4.0f, y * 4.0f) + 0.35f * synth_noise(sc, 4, x * 11.0f, y * 11.0f);
        break;
    case CG_BG_BOKEH: t = 0.7f * y; break;
    default: break;
    }
    if (row_col)
        memcpy(c, row_col, 3 * sizeof(float));
    else
        for (int j = 0; j < 3; j++) c[j] = f->bg_a[j] + (f->bg_b[j] - f->bg_a[j]) * t;
    for (int i = 0; i < sc->n_bokeh; i++) {
        const float *b = sc->bokeh[i];
        if (fabsf((float)iy - b[1]) > b[2] + 2.0f) continue;
        float d = synth_len(ix - b[0], iy - b[1]) - b[2];
        if (d < 2.0f) synth_blend(c, b + 3, 0.45f * synth_cover(d, 4.0f));
    }
}

static void neck(const synth_scene *sc, const synth_pix *p, float *c) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, y = p->y;
    if (y < sc->eq_y) return;
    float w = sc->neck_w + 0.9f * synth_max(0.0f, y - (sc->chin_y + 12.0f * s));
    float dx = p->x - (sc->hx + 0.2f * sc->chin_shift), d = fabsf(dx) - w;
    if (d > 1.0f) return;
    float shade = lambert(sc, 0.8f * synth_clamp(dx / (w + 1.0f), -1.0f, 1.0f), 0.1f, f->ambient);
    float jaw = 0.55f + 0.45f * synth_sstep(sc->chin_y - 6.0f * s, sc->chin_y + 18.0f * s, y);
    float col[3];
    for (int j = 0; j < 3; j++) col[j] = f->skin[j] * 0.93f * shade * jaw;
    synth_blend(c, col, synth_cover(d, 1.0f));
}

static void clothes(const synth_scene *sc, const synth_pix *p, float *c) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, dx = p->x - (sc->hx + 0.2f * sc->chin_shift), adx = fabsf(dx), y = p->y;
    float top0 = sc->chin_y + 8.0f * s;
    float d = top0 + 6.0f * s * synth_sstep(sc->neck_w, sc->neck_w + 30.0f * s, adx) +
              0.06f * synth_max(0.0f, adx - sc->neck_w) - y;
    if (d > 1.0f) return;
    float a = synth_cover(d, 1.0f);
    float open_w = 1.3f * sc->neck_w, dn;
    if (f->top == CG_TOP_PLAIN)
        dn = synth_sd_ellipse(dx, y - top0 + 2.0f * s, open_w, 12.0f * s);
    else
        dn = (y - top0 - (f->top == CG_TOP_SUIT ? 60.0f : 30.0f) * s * (1.0f - adx / open_w)) * 0.7f;
    float shade = lambert(sc, synth_clamp(dx / (2.2f * sc->rx), -0.9f, 0.9f), -0.3f, f->ambient);
    float fold = 0.9f + 0.2f * synth_noise(sc, 6, p->x * 0.08f, p->y * 0.05f);
    float col[3];
    for (int j = 0; j < 3; j++) col[j] = f->cloth[j] * shade * fold;
    if (f->top == CG_TOP_SUIT) {
        // a shirt in the V of the jacket, and maybe a tie
        float shirt_d = adx - (y - top0 + 8.0f * s) * 0.42f;
        float shirt[3] = {0.9f * shade, 0.9f * shade, 0.93f * shade};
        synth_blend(col, shirt, synth_cover(shirt_d, 1.0f));
        if (f->tie) {
            float tie_d = synth_max(adx - 2.6f * s - 0.12f * synth_max(0.0f, y - top0), top0 - 2.0f * s - y);
            float tie[3] = {0.55f * shade, 0.1f * shade, 0.12f * shade};
            synth_blend(col, tie, synth_cover(tie_d, 1.0f));
        }
        dn = (y - top0 + 2.0f * s - 8.0f * s * (1.0f - adx / open_w)) * 0.7f;
    }
    synth_blend(c, col, a * synth_cover(-dn, 1.0f));
}

static float hairline(const synth_scene *sc, float u) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, a = fabsf(u) / sc->rx, h, ph = (float)(sc->seed & 255u) * 0.1f;
    switch (f->hair_style) {
    case CG_HAIR_BALD: return -1e3f;
    case CG_HAIR_FRINGE:
    case CG_HAIR_LONG_FRINGE:
        h = sc->brow_v - 4.0f * s + 1.6f * s * sinf(u * 0.9f / s + ph) + 0.9f * s * sinf(u * 2.3f / s + 2.0f * ph) +
            6.0f * s * f->hair_part * u / sc->rx;
        break;
    case CG_HAIR_RECEDING: h = -1.2f * sc->hairline0 - 10.0f * s * expf(-synth_sq((a - 0.45f) / 0.17f)); break;
    default: h = -sc->hairline0 + 5.0f * s * synth_sq(u / sc->rx - 0.5f * f->hair_part); break;
    }
    return h + (sc->side_v - h) * synth_sstep(0.62f, 0.95f, a);
}

// Signed distance (pixels, negative inside) to the mass of hair: the cap around the skull, the drape of
// long hair, a bun.
static float hair_region(const synth_scene *sc, const synth_pix *p) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, dx = head_dx(sc, p->x), dy = p->y - sc->hair_cy;
    if (p->x < sc->hair_box[0] || p->x > sc->hair_box[1] || p->y < sc->hair_box[2] || p->y > sc->hair_box[3])
        return 1e3f;
    float k = synth_len(dx / sc->hair_rx, dy / sc->hair_ry), ray = synth_len(dx, dy) / synth_max(k, 1e-3f);
    float ph = (float)(sc->seed % 628u) * 0.01f, d = (k - 1.0f) * ray, ang = 0.0f;
    int curly = f->hair_style == CG_HAIR_CURLY;
    if (fabsf(d) < (curly ? 0.1f : 0.02f) * ray + 3.0f * s) {
        // near the outline: the outline's bumps and wisps
        ang = synth_atan2(dx, -dy);
        float bump = curly ? 0.05f * synth_sin(9.0f * ang + ph) + 0.035f * synth_sin(14.0f * ang + 2.0f * ph)
                           : 0.012f * synth_sin(7.0f * ang + ph);
        d = (k / (1.0f + bump) - 1.0f) * ray + 1.2f * s * (synth_noise(sc, 7, ang * 24.0f, 0.5f) - 0.5f);
    }
    if (sc->long_hair) {
        if (p->y > sc->hair_cy) {
            float wd = sc->hair_rx + 0.12f * (p->y - sc->hair_cy) * (0.5f + f->hair_wave);
            float bot = sc->ey + f->hair_length + 3.0f * s * synth_sin(dx * 0.2f / s + ph);
            d = synth_min(d, synth_max(fabsf(dx) - wd, p->y - bot));
        }
    } else {
        float bot = sc->ey + sc->side_v +
                    (sc->hair_bottom_v - sc->side_v) * synth_sstep(0.85f * sc->rx, 1.05f * sc->rx, fabsf(dx));
        d = synth_max(d, p->y - bot);
    }
    if (f->hair_style == CG_HAIR_BUN)
        d = synth_min(d, synth_len(dx - 6.0f * s * f->hair_part, p->y - (sc->crown_y - 4.0f * s)) - 14.0f * s);
    if (f->hair_style == CG_HAIR_BALD) {
        d = synth_max(d, 0.8f * sc->rx - fabsf(dx));
        d = synth_max(d, sc->ey - 18.0f * s - p->y);
    }
    return d;
}

static void hair_colour(const synth_scene *sc, const synth_pix *p, float *out) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, dx = head_dx(sc, p->x);
    float ox = dx - 0.6f * f->hair_part * sc->rx, oy = p->y - (sc->crown_y - 8.0f * s);
    float r = synth_len(ox, oy), ang = synth_atan2(ox, oy), tex;
    if (f->hair_style == CG_HAIR_CURLY) {
        float n = synth_noise(sc, 8, p->x * 0.3f / s, p->y * 0.3f / s);
        float n2 = synth_noise(sc, 9, p->x * 0.8f / s, p->y * 0.8f / s);
        tex = 0.5f + 0.6f * n + 0.3f * (n2 - 0.5f);
    } else {
        float a = ang + f->hair_wave * 0.09f * synth_sin(r * 0.17f / s);
        float n1 = synth_noise(sc, 10, a * 14.0f, r * 0.02f / s);
        float n2 = synth_noise(sc, 11, a * 45.0f, r * 0.05f / s);
        tex = 0.68f + 0.4f * n1 + 0.3f * (n2 - 0.5f);
    }
    float nx = synth_clamp(dx / sc->hair_rx, -0.95f, 0.95f);
    float ny =
        p->y > sc->hair_cy && sc->long_hair ? 0.15f : synth_clamp((p->y - sc->hair_cy) / sc->hair_ry, -0.95f, 0.95f);
    float shade = lambert(sc, nx, ny, 0.35f);
    float lum = 0.3f * f->hair[0] + 0.6f * f->hair[1] + 0.1f * f->hair[2];
    float band = synth_sat(1.0f - synth_sq((ny + 0.5f + 0.3f * sc->ly) / 0.25f));
    float sheen = band * band * shade * tex * (0.12f + 0.35f * lum);
    for (int j = 0; j < 3; j++) out[j] = f->hair[j] * shade * tex + sheen;
}

// Coverage of the skin the hair leaves bare: below the hairline and inside the curtains.
static float skin_window(const synth_scene *sc, const synth_pix *p) {
    if (p->ju <= 0.0f || p->head <= 0.0f) return 0.0f;
    // a curtain of long hair hangs from the temple: the near cheek shows more of the turned face
    float near = p->u * sc->syaw < 0.0f ? 0.35f * sc->rx * fabsf(sc->syaw) : 0.0f;
    float dv = p->v - p->hl, dh = (sc->curtain + near - fabsf(p->u)) / p->ju;
    return p->head * synth_cover(-synth_min(dv, dh), 1.5f * sc->s);
}

static void ear(const synth_scene *sc, const synth_pix *p, float *c, int i, int front) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, rx = sc->ear_rx[i], ry = sc->ear_ry, side = i ? 1.0f : -1.0f;
    float dx = p->x - sc->ear_x[i], dy = p->y - (sc->ey + sc->ear_v);
    if (fabsf(dx) > 1.3f * rx + 2.0f || fabsf(dy) > ry + 2.0f) return;
    float d = synth_sd_ellipse(dx, dy, rx * (1.0f - 0.18f * dy / ry), ry);
    float a = synth_cover(d, 1.0f);
    if (front) a *= (1.0f - p->head) + p->head * synth_sstep(0.05f, 0.35f, sc->ear_cos[i]);
    if (a <= 0.0f) return;
    float col[3], shade = lambert(sc, side * 0.6f, dy / (2.0f * ry), f->ambient);
    for (int j = 0; j < 3; j++) col[j] = f->skin[j] * 0.95f * shade;
    float dc = synth_sd_ellipse(dx + side * 0.15f * rx, dy - 1.0f * s, 0.5f * rx, 0.6f * ry);
    synth_darken(col, 0.3f * synth_cover(dc, 2.0f * s));
    synth_blend(c, col, a);
}

static void head(const synth_scene *sc, const synth_pix *p, float *c) {
    const cg_synth_face *f = sc->f;
    float dx = head_dx(sc, p->x), dy = p->y - sc->eq_y;
    float nx = 0.9f * synth_clamp(dx / sc->rx, -1.0f, 1.0f);
    float ny = 0.75f * synth_clamp(dy / (dy < 0 ? sc->ry_top : sc->ry_low), -1.0f, 1.0f);
    float shade = lambert(sc, nx, ny, f->ambient);
    float mottle = 0.97f + 0.06f * synth_noise(sc, 12, p->x * 0.12f, p->y * 0.12f);
    float skin[3];
    for (int j = 0; j < 3; j++) skin[j] = f->skin[j] * shade * mottle;
    // hair casts a soft shadow just below the hairline
    if (p->ju > 0.0f && f->hair_style != CG_HAIR_BALD) {
        float below = p->v - p->hl;
        if (below > 0) synth_darken(skin, 0.18f * (1.0f - synth_sstep(0.0f, 5.0f * sc->s, below)));
    }
    synth_face_features(sc, p, skin);
    synth_blend(c, skin, p->head);
}

// Tabulates what depends on one coordinate only: u and du/dx over pre-roll x, the hairline over u.
static void coordinate_tables(synth_scene *sc) {
    for (int i = 0; i < SYNTH_XT_N; i++) {
        // past the visible part of the face, u stays at its edge value so interpolation stays near it
        float sx = synth_clamp((SYNTH_XT_X0 + i * SYNTH_XT_STEP - sc->hx) / sc->rf, -0.999f, 0.999f);
        float th = asinf(sx) - sc->yaw, edge = 1.45f;
        int seen = fabsf(sx) < 0.999f && fabsf(th) < edge;
        sc->xt_u[i] = sc->rf * sinf(synth_clamp(th, -edge, edge));
        sc->xt_ju[i] = seen ? cosf(th) / sqrtf(1.0f - sx * sx) : 0.0f;
    }
    sc->hl_step = 2.0f * sc->rf / (SYNTH_HL_N - 1);
    for (int i = 0; i < SYNTH_HL_N; i++) sc->hl[i] = hairline(sc, -sc->rf + i * sc->hl_step);
}

static void face_coords(const synth_scene *sc, synth_pix *p) {
    float fi = synth_clamp((p->x - SYNTH_XT_X0) / SYNTH_XT_STEP, 0.0f, SYNTH_XT_N - 1.001f);
    int i = (int)fi;
    float t = fi - (float)i;
    p->u = sc->xt_u[i] + (sc->xt_u[i + 1] - sc->xt_u[i]) * t;
    p->ju = sc->xt_ju[i] + (sc->xt_ju[i + 1] - sc->xt_ju[i]) * t;
    p->hl = 0.0f;
    if (p->ju > 0.0f) {
        float fh = synth_clamp((p->u + sc->rf) / sc->hl_step, 0.0f, SYNTH_HL_N - 1.001f);
        int j = (int)fh;
        p->hl = sc->hl[j] + (sc->hl[j + 1] - sc->hl[j]) * (fh - (float)j);
    }
}

// How much of the hair mass covers this pixel in front of the face and neck.
static float hair_front(const synth_scene *sc, const synth_pix *p) {
    float a = 1.0f - skin_window(sc, p);
    if (p->y > sc->chin_y - 14.0f * sc->s) {
        float nd = fabsf(p->x - (sc->hx + 0.2f * sc->chin_shift)) - sc->neck_w;
        a *= 1.0f - synth_cover(nd, 2.0f) * synth_sstep(sc->chin_y - 14.0f * sc->s, sc->chin_y, p->y);
    }
    return a;
}

static void shade_pixel(const synth_scene *sc, int ix, int iy, const float *row_col, float *c) {
    const cg_synth_face *f = sc->f;
    synth_pix p;
    float dx = ix - sc->ex, dy = iy - sc->ey;
    p.x = sc->ex + sc->cr * dx + sc->sr * dy;
    p.y = sc->ey - sc->sr * dx + sc->cr * dy;
    background(sc, ix, iy, row_col, c);
    // above the shoulders and outside the head's box there is only background
    const float *box = sc->head_box;
    if (p.y < sc->chin_y && (p.x < box[0] || p.x > box[1] || p.y < box[2])) return;
    p.v = p.y - sc->ey;
    face_coords(sc, &p);
    p.head = p.x > box[0] && p.x < box[1] && p.y > box[2] && p.y < box[3] ? synth_cover(head_dist(sc, p.x, p.y), 1.0f)
                                                                          : 0.0f;
    p.hair_d = hair_region(sc, &p);
    float hair_a = synth_cover(p.hair_d, 1.5f * sc->s), hair_col[3] = {0.0f, 0.0f, 0.0f};
    if (hair_a > 0.0f) hair_colour(sc, &p, hair_col);
    int ears = fabsf(p.y - (sc->ey + sc->ear_v)) < sc->ear_ry + 2.0f;

    if (sc->long_hair && hair_a > 0.0f) synth_blend(c, hair_col, hair_a);
    if (p.y > sc->eq_y) {
        neck(sc, &p, c);
        clothes(sc, &p, c);
    }
    for (int i = 0; ears && i < 2; i++) ear(sc, &p, c, i, 0);
    if (p.head > 0.0f) head(sc, &p, c);
    if (hair_a > 0.0f) synth_blend(c, hair_col, hair_a * hair_front(sc, &p));
    for (int i = 0; ears && sc->ears_over_hair && i < 2; i++) ear(sc, &p, c, i, 1);
    if (f->eyeglasses || f->sunglasses) synth_glasses(sc, &p, c);
}

// The canvas: H rows of ROW floats (RGB pixels, padded so row loops have a fixed, vector-friendly length).
#define ROW CANVAS_ROW
#define PAD 7 // the widest blur radius

static void add_row(float *restrict dst, const float *restrict src, float k) {
    for (int x = 0; x < ROW; x++) dst[x] += k * src[x];
}

// Separable Gaussian blur with clamped edges; tmp holds one canvas.
static void blur(float *img, float *tmp, float sigma) {
    if (sigma < 0.2f) return;
    float k[2 * PAD + 1], pad[3 * (W + 2 * PAD) + 8 + ROW];
    int r = (int)ceilf(2.0f * sigma);
    if (r > PAD) r = PAD;
    float sum = 0.0f;
    for (int i = -r; i <= r; i++) sum += k[i + r] = expf(-0.5f * (float)(i * i) / (sigma * sigma));
    for (int i = 0; i <= 2 * r; i++) k[i] /= sum;
    memset(pad, 0, sizeof pad);
    for (int y = 0; y < H; y++) {
        const float *src = img + (size_t)y * ROW;
        float *dst = tmp + (size_t)y * ROW;
        for (int x = -PAD; x < W + PAD; x++) {
            int xx = x < 0 ? 0 : x >= W ? W - 1 : x;
            memcpy(pad + 3 * (x + PAD), src + 3 * xx, 3 * sizeof(float));
        }
        memset(dst, 0, sizeof(float) * ROW);
        for (int i = -r; i <= r; i++) add_row(dst, pad + 3 * (PAD + i), k[i + r]);
    }
    for (int y = 0; y < H; y++) {
        float *dst = img + (size_t)y * ROW;
        memset(dst, 0, sizeof(float) * ROW);
        for (int i = -r; i <= r; i++) {
            int yy = y + i < 0 ? 0 : y + i >= H ? H - 1 : y + i;
            add_row(dst, tmp + (size_t)yy * ROW, k[i + r]);
        }
    }
}

void cg_synth_landmarks_of(const cg_synth_face *face, cg_synth_landmarks *marks) {
    synth_scene sc;
    scene_init(&sc, face);
    synth_face_landmarks(&sc, marks);
}

int cg_synth_render(const cg_synth_face *face, uint8_t *rgb, float *scratch, cg_synth_landmarks *marks) {
    float *own = NULL;
    if (!scratch) scratch = own = malloc(CG_SYNTH_SCRATCH_FLOATS * sizeof(float));
    if (!scratch) return -1;
    synth_scene sc;
    scene_init(&sc, face);
    float *img = scratch, *tmp = scratch + (size_t)H * ROW;
    for (int y = 0; y < H; y++) {
        float row_col[3], t = face->bg == CG_BG_SOLID ? 0.15f : face->bg == CG_BG_VGRAD ? 1.0f : 0.7f;
        for (int j = 0; j < 3; j++) row_col[j] = face->bg_a[j] + (face->bg_b[j] - face->bg_a[j]) * t * (float)y / H;
        const float *rc = background_by_row(face) ? row_col : NULL;
        for (int x = 0; x < W; x++) shade_pixel(&sc, x, y, rc, img + (size_t)y * ROW + 3 * x);
    }
    blur(img, tmp, face->blur_sigma);
    float gain[3] = {face->exposure * (1.0f + face->warmth), face->exposure, face->exposure * (1.0f - face->warmth)};
    uint32_t off = synth_hash(sc.seed + 977u);
    for (int y = 0; y < H; y++) {
        const float *src = img + (size_t)y * ROW;
        uint8_t *dst = rgb + (size_t)y * W * 3;
        for (int x = 0; x < W; x++) {
            // film grain: luminance from the shared grain table, plus a little chroma
            uint32_t i = (uint32_t)(y * W + x) + off;
            float n = synth_grain_tab[i & (SYNTH_GRAIN_N - 1)];
            for (int j = 0; j < 3; j++) {
                float chroma = synth_grain_tab[(i * 3u + (uint32_t)j + 12345u) & (SYNTH_GRAIN_N - 1)];
                float v = src[3 * x + j] * gain[j] + face->noise_sigma * (n + 0.3f * chroma);
                dst[3 * x + j] = (uint8_t)(synth_sat(v) * 255.0f + 0.5f);
            }
        }
    }
    if (marks) synth_face_landmarks(&sc, marks);
    free(own);
    return 0;
}
