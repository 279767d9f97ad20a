// synth_scene.h — internal to the synthetic-face renderer (synth_render.c draws the picture,
// synth_face.c the facial features): the geometry derived from one cg_synth_face, the coordinates of
// one pixel, and small shading helpers. Not part of the public API (that is synth.h).
//
// Coordinates: image pixels, x right, y down. "Pre-roll" coordinates undo the roll about the eyes'
// midpoint. Face coordinates (u, v) live on the face surface, a vertical cylinder of radius rf about
// the head's axis: a surface point at u projects to x = hx + rf * sin(asin(u / rf) + yaw), and
// v = y - eye line. Drawing features in (u, v) foreshortens them with yaw for free.
#ifndef CLGAN_SYNTH_SCENE_H
#define CLGAN_SYNTH_SCENE_H

#include "synth.h"

#include <math.h>
#include <stdint.h>

#define SYNTH_PI 3.14159265358979f
#define SYNTH_HEAD_STEP 0.25f // rows of the head-outline table, in pixels
#define SYNTH_HEAD_ROWS 1024
#define SYNTH_MAX_BOKEH 8
#define SYNTH_NOISE_OFFSETS 16
#define SYNTH_XT_N 720 // face-coordinate table over pre-roll x
#define SYNTH_XT_X0 -90.0f
#define SYNTH_XT_STEP 0.5f
#define SYNTH_HL_N 256 // hairline table over u

typedef struct {
    const cg_synth_face *f;
    float s;      // length scale: iod / 38
    float cr, sr; // cos and sin of the roll
    float ex, ey; // eyes' midpoint, the roll pivot
    float yaw, syaw, cyaw;
    float hx; // head axis x (pre-roll)
    float eq_y, crown_y, chin_y, rx, ry_top, ry_low, chin_shift;
    float rf;         // radius of the face surface
    float turn;       // widening of the head outline on the side the face turns to
    float lx, ly, lz; // unit vector toward the light
    float head_y0;    // y of head_w[0]
    int head_n;
    float head_w[SYNTH_HEAD_ROWS];             // half width of the head outline per row
    float xt_u[SYNTH_XT_N], xt_ju[SYNTH_XT_N]; // u and du/dx over pre-roll x
    float hl_step, hl[SYNTH_HL_N];             // hairline v over u from -rf
    // facial features (face coordinates)
    float eu, ew, eh_up, eh_lo, iris_r, iris_du;
    float brow_v, brow_len;
    float nl, nw, nd, nose_tip_u, nose_base_u, nostril_u;
    float mv, mw, m_du;
    float lens_u, lens_v, lens_w, lens_h, lens_du, frame_th;
    // hair, neck, ears
    float hair_cy, hair_rx, hair_ry, hairline0, side_v, curtain, hair_bottom_v;
    float neck_w;
    float ear_x[2], ear_cos[2], ear_rx[2], ear_v, ear_ry;
    int ears_over_hair, long_hair;
    uint32_t seed;
    float noff[SYNTH_NOISE_OFFSETS][2];
    float hair_box[4]; // x0, x1, y0, y1 (pre-roll) outside which there is no hair
    float head_box[4]; // the same for head, hair and ears; head_box[3] bounds the head only
    int n_bokeh;
    float bokeh[SYNTH_MAX_BOKEH][6]; // x, y, radius, r, g, b
} synth_scene;

typedef struct {
    float x, y;   // pre-roll coordinates
    float u, v;   // face coordinates
    float ju;     // du/dx; 0 where the face surface is not visible
    float head;   // coverage of the head outline
    float hl;     // hairline (v) at u, where ju > 0
    float hair_d; // signed distance to the hair mass (pixels), large outside hair_box
} synth_pix;

// fmaxf and fminf are library calls unless NaNs are ruled out; these compile to one instruction.
static inline float synth_max(float a, float b) { return a > b ? a : b; }
static inline float synth_min(float a, float b) { return a < b ? a : b; }
static inline float synth_clamp(float x, float a, float b) { return x < a ? a : x > b ? b : x; }
static inline float synth_sat(float x) { return synth_clamp(x, 0.0f, 1.0f); }
static inline float synth_sstep(float e0, float e1, float x) {
    float t = synth_sat((x - e0) / (e1 - e0));
    return t * t * (3.0f - 2.0f * t);
}
static inline float synth_sq(float x) { return x * x; }
// Coverage of a shape at signed distance d (pixels, negative inside) with an edge w pixels wide.
static inline float synth_cover(float d, float w) { return synth_sat(0.5f - d / w); }
static inline void synth_blend(float *c, const float *src, float a) {
    for (int k = 0; k < 3; k++) c[k] += (src[k] - c[k]) * a;
}
static inline void synth_darken(float *c, float amount) {
    for (int k = 0; k < 3; k++) c[k] *= 1.0f - amount;
}
static inline float synth_len(float x, float y) { return sqrtf(x * x + y * y); }
// Approximate signed distance to an axis-aligned ellipse centred at the origin.
static inline float synth_sd_ellipse(float x, float y, float rx, float ry) {
    float k0 = synth_len(x / rx, y / ry), k1 = synth_len(x / (rx * rx), y / (ry * ry));
    return k1 > 1e-6f ? k0 * (k0 - 1.0f) / k1 : -synth_min(rx, ry);
}

static inline uint32_t synth_hash(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}
static inline float synth_hash2(int x, int y, uint32_t seed) {
    return (float)(synth_hash((uint32_t)x * 0x8da6b343u ^ synth_hash((uint32_t)y * 0xd8163841u ^ seed)) >> 8) *
           (1.0f / 16777216.0f);
}
// atan2 to about 1e-5 rad: textures only need it smooth and cheap.
static inline float synth_atan2(float y, float x) {
    float ax = fabsf(x), ay = fabsf(y), mx = synth_max(ax, ay), mn = synth_min(ax, ay);
    float a = mn / (mx + 1e-20f), q = a * a;
    float r = ((((0.0208351f * q - 0.085133f) * q + 0.180141f) * q - 0.3302995f) * q + 0.999866f) * a;
    if (ay > ax) r = 1.57079637f - r;
    if (x < 0) r = 3.14159274f - r;
    return y < 0 ? -r : r;
}

// sin to about 1e-3: for textures and outlines, where it only needs to be smooth and cheap.
static inline float synth_sin(float x) {
    float k = x * 0.15915494f;
    k -= (float)(int)(k + (k >= 0.0f ? 0.5f : -0.5f));
    float t = k * 6.2831853f;                              // now in [-pi, pi]
    float y = 1.2732395f * t - 0.40528473f * t * fabsf(t); // a parabola through the sine's zeros and peaks
    return 0.225f * (y * fabsf(y) - y) + y;
}

// Value noise from one table shared by all faces (filled once); each use of it in a face reads at its
// own random offset (`k` picks one of SYNTH_NOISE_OFFSETS), so uses and faces do not correlate.
#define SYNTH_NOISE_N 256
extern float synth_noise_tab[SYNTH_NOISE_N * SYNTH_NOISE_N];
#define SYNTH_GRAIN_N 65536 // film grain values, about unit variance
extern float synth_grain_tab[SYNTH_GRAIN_N];
void synth_noise_init(void);

// Smooth value noise in [0, 1] with unit lattice spacing.
static inline float synth_noise(const synth_scene *sc, int k, float x, float y) {
    x += sc->noff[k][0];
    y += sc->noff[k][1];
    int fx = (int)x - (x < 0.0f), fy = (int)y - (y < 0.0f); // floor (|x| stays far below 2^31)
    float tx = x - (float)fx, ty = y - (float)fy;
    int ix = fx & (SYNTH_NOISE_N - 1), iy = fy & (SYNTH_NOISE_N - 1);
    int jx = (ix + 1) & (SYNTH_NOISE_N - 1), jy = (iy + 1) & (SYNTH_NOISE_N - 1);
    tx = tx * tx * (3.0f - 2.0f * tx);
    ty = ty * ty * (3.0f - 2.0f * ty);
    const float *r0 = synth_noise_tab + iy * SYNTH_NOISE_N, *r1 = synth_noise_tab + jy * SYNTH_NOISE_N;
    float top = r0[ix] + (r0[jx] - r0[ix]) * tx, bot = r1[ix] + (r1[jx] - r1[ix]) * tx;
    return top + (bot - top) * ty;
}

// Face-surface x of a point `depth` pixels in front of the surface on the face's centre line,
// expressed as the u of the surface point that projects to the same image x.
float synth_depth_du(const synth_scene *sc, float depth);
// Pre-roll image x of face coordinate u.
float synth_u_to_x(const synth_scene *sc, float u);
// Fills the facial-feature part of the scene (eyes, brows, nose, mouth, glasses).
void synth_face_init(synth_scene *sc);
// Paints eyes, brows, nose, mouth, beard and cheeks onto the skin colour of a head pixel.
void synth_face_features(const synth_scene *sc, const synth_pix *p, float *skin);
void synth_glasses(const synth_scene *sc, const synth_pix *p, float *c);
void synth_face_landmarks(const synth_scene *sc, cg_synth_landmarks *m);

#endif
