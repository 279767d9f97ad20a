// synth.c — what a synthetic face looks like: draws pose, eyewear, identity, expression, hair,
// lighting and camera from the Philox stream (seed, face index), and the CelebA attributes that
// describe the result. Writing the dataset is synth_write.c; drawing is synth_render.c.
#include "synth.h"

#include <math.h>
#include <string.h>

// clang-format off
const char *const cg_synth_attr_names[CG_SYNTH_N_ATTRS] = {
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
    "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young", "Sunglasses"};

enum {
    A_STUBBLE = 0, A_ARCHED = 1, A_BALD = 4, A_BANGS = 5, A_BIG_LIPS = 6, A_BIG_NOSE = 7, A_BLACK = 8, A_BLOND = 9,
    A_BLURRY = 10, A_BROWN = 11, A_BUSHY = 12, A_GLASSES = 15, A_GOATEE = 16, A_GRAY = 17, A_MAKEUP = 18,
    A_MALE = 20, A_OPEN = 21, A_MUSTACHE = 22, A_NARROW = 23, A_NO_BEARD = 24, A_PALE = 26, A_RECEDING = 28,
    A_ROSY = 29, A_SIDEBURNS = 30, A_SMILING = 31, A_STRAIGHT = 32, A_WAVY = 33, A_LIPSTICK = 36, A_NECKTIE = 38,
    A_YOUNG = 39, A_SUNGLASSES = 40
};
// clang-format on

// Thresholds shared by sampling and the attribute labels.
#define PALE_TONE 0.002f
#define SMILE_MIN 0.45f
#define NARROW_EYES 0.82f
#define BLURRY_SIGMA 1.2f

typedef struct {
    cg_rng r;
    uint64_t i;
} draws;

static float uni(draws *d) { return cg_rng_uniform_at(d->r, d->i++); }
static float range(draws *d, float a, float b) { return a + (b - a) * uni(d); }
static float gauss(draws *d) { return cg_rng_normal_at(d->r, d->i++); }
static int chance(draws *d, float p) { return uni(d) < p; }
static float clampf(float x, float a, float b) { return x < a ? a : x > b ? b : x; }

static int pick(draws *d, const float *w, int n) {
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += w[i];
    float t = uni(d) * sum;
    for (int i = 0; i < n; i++) {
        if (t < w[i]) return i;
        t -= w[i];
    }
    return n - 1;
}

static void hsv(float h, float s, float v, float *out) {
    h = (h - floorf(h)) * 6.0f;
    int i = (int)h % 6;
    float f = h - floorf(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    const float rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    memcpy(out, rgb[i], 3 * sizeof(float));
}

static void mix3(float *out, const float *a, const float *b, float t) {
    for (int j = 0; j < 3; j++) out[j] = a[j] + (b[j] - a[j]) * t;
}

static void skin_colour(float tone, float hue, float *out) {
    static const float stops[5][3] = {{0.95f, 0.81f, 0.71f},
                                      {0.92f, 0.73f, 0.6f},
                                      {0.80f, 0.57f, 0.42f},
                                      {0.56f, 0.37f, 0.25f},
                                      {0.34f, 0.22f, 0.15f}};
    float x = clampf(tone, 0.0f, 1.0f) * 4.0f;
    int i = x >= 4.0f ? 3 : (int)x;
    mix3(out, stops[i], stops[i + 1], x - i);
    // a little more olive or more rosy
    out[0] *= 1.0f + 0.04f * (hue - 0.5f);
    out[2] *= 1.0f - 0.08f * (hue - 0.5f);
}

static void sample_hair(draws *d, cg_synth_face *f) {
    static const float female[CG_HAIR_STYLES] = {0.05f, 0.05f, 0.0f, 0.0f, 0.1f, 0.36f, 0.2f, 0.1f, 0.14f};
    static const float male[CG_HAIR_STYLES] = {0.45f, 0.12f, 0.14f, 0.07f, 0.12f, 0.06f, 0.0f, 0.0f, 0.04f};
    f->hair_style = (cg_hair_style)pick(d, f->male ? male : female, CG_HAIR_STYLES);
    static const float light_skin[CG_HAIRC_COLOURS] = {0.25f, 0.25f, 0.17f, 0.2f, 0.08f, 0.05f};
    static const float dark_skin[CG_HAIRC_COLOURS] = {0.65f, 0.3f, 0.05f, 0.0f, 0.0f, 0.0f};
    f->hair_colour = (cg_hair_colour)pick(d, f->skin_tone > 0.6f ? dark_skin : light_skin, CG_HAIRC_COLOURS);
    static const float base[CG_HAIRC_COLOURS][3] = {{0.07f, 0.06f, 0.06f}, {0.2f, 0.13f, 0.09f}, {0.38f, 0.25f, 0.15f},
                                                    {0.8f, 0.64f, 0.4f},   {0.62f, 0.61f, 0.6f}, {0.5f, 0.2f, 0.1f}};
    float m = range(d, 0.85f, 1.15f);
    for (int j = 0; j < 3; j++) f->hair[j] = clampf(base[f->hair_colour][j] * m, 0.0f, 1.0f);
    if (f->hair_colour == CG_HAIRC_BLOND) f->hair[2] *= range(d, 0.8f, 1.2f);
    static const float brow_dark[3] = {0.12f, 0.08f, 0.06f};
    mix3(f->brow, f->hair, brow_dark, f->hair_colour == CG_HAIRC_BLOND ? 0.55f : range(d, 0.15f, 0.35f));
    float s = f->iod / 38.0f;
    int curly = f->hair_style == CG_HAIR_CURLY;
    f->hair_volume = s * (curly ? range(d, 9.0f, 17.0f) : range(d, 2.5f, 7.0f));
    f->hair_length = f->hair_style == CG_HAIR_BOB ? s * range(d, 50.0f, 68.0f) : s * range(d, 80.0f, 125.0f);
    f->hair_wave = curly ? 1.0f : range(d, 0.0f, 1.0f);
    f->hair_part = range(d, -0.5f, 0.5f);
}

static void sample_background(draws *d, cg_synth_face *f) {
    static const float kinds[CG_BG_KINDS] = {0.2f, 0.25f, 0.15f, 0.2f, 0.2f};
    f->bg = (cg_bg_kind)pick(d, kinds, CG_BG_KINDS);
    float h = uni(d);
    hsv(h, range(d, 0.0f, 0.6f), range(d, 0.12f, 0.95f), f->bg_a);
    hsv(h + range(d, -0.15f, 0.15f), range(d, 0.0f, 0.6f), range(d, 0.12f, 0.95f), f->bg_b);
    static const float male_tops[CG_TOP_KINDS] = {0.45f, 0.2f, 0.35f};
    static const float female_tops[CG_TOP_KINDS] = {0.5f, 0.42f, 0.08f};
    f->top = (cg_top_kind)pick(d, f->male ? male_tops : female_tops, CG_TOP_KINDS);
    if (f->top == CG_TOP_SUIT)
        hsv(range(d, 0.55f, 0.7f), range(d, 0.0f, 0.4f), range(d, 0.08f, 0.35f), f->cloth);
    else
        hsv(uni(d), range(d, 0.0f, 0.7f), range(d, 0.1f, 0.85f), f->cloth);
    f->tie = f->top == CG_TOP_SUIT && chance(d, 0.4f);
}

void cg_synth_sample(uint64_t seed, uint64_t index, cg_synth_face *f) {
    memset(f, 0, sizeof *f);
    draws d = {{seed, index}, 0};
    // pose: mostly near frontal, the rest spread over the whole range (about 60% frontal overall)
    f->yaw_deg = chance(&d, 0.62f) ? clampf(7.0f * gauss(&d), -45.0f, 45.0f) : range(&d, -45.0f, 45.0f);
    f->roll_deg = chance(&d, 0.75f) ? clampf(2.5f * gauss(&d), -20.0f, 20.0f) : range(&d, -20.0f, 20.0f);
    float eyewear = uni(&d);
    f->sunglasses = eyewear < 0.08f;
    f->eyeglasses = eyewear >= 0.08f && eyewear < 0.16f;
    f->male = chance(&d, 0.42f);
    int male = f->male;

    // like CelebA's alignment, a turned face is scaled up to keep its eyes apart
    float yaw = f->yaw_deg * 3.14159265f / 180.0f;
    f->iod = range(&d, 35.0f, 40.0f) / (0.55f + 0.45f * cosf(yaw));
    float s = f->iod / 38.0f;
    f->eye_x = 89.0f + 1.2f * gauss(&d);
    f->eye_y = 112.0f + 1.5f * gauss(&d);
    f->head_rx = s * range(&d, 41.0f, 48.0f) * (male ? 1.03f : 1.0f);
    f->head_top = s * range(&d, 60.0f, 68.0f);
    f->head_chin = s * range(&d, 66.0f, 74.0f) * (male ? 1.03f : 1.0f);
    f->jaw = clampf(range(&d, 0.0f, 0.7f) + (male ? 0.3f : 0.0f), 0.0f, 1.0f);
    f->skin_tone = powf(uni(&d), 2.2f); // CelebA leans light: median tone 0.22
    skin_colour(f->skin_tone, uni(&d), f->skin);

    f->eye_open = range(&d, 0.75f, 1.15f);
    f->eye_size = range(&d, 0.92f, 1.08f);
    f->gaze_x = range(&d, -1.0f, 1.0f);
    static const float irises[6][3] = {{0.22f, 0.12f, 0.07f}, {0.38f, 0.23f, 0.11f}, {0.45f, 0.37f, 0.2f},
                                       {0.33f, 0.48f, 0.62f}, {0.33f, 0.44f, 0.3f},  {0.43f, 0.47f, 0.5f}};
    static const float light_eyes[6] = {0.3f, 0.25f, 0.12f, 0.15f, 0.1f, 0.08f},
                       dark_eyes[6] = {0.7f, 0.3f, 0, 0, 0, 0};
    memcpy(f->iris, irises[pick(&d, f->skin_tone > 0.5f ? dark_eyes : light_eyes, 6)], sizeof f->iris);
    f->brow_height = f->iod * range(&d, 0.3f, 0.36f);
    f->brow_arch = s * (male ? range(&d, 0.5f, 2.2f) : range(&d, 1.5f, 3.8f));
    f->brow_thick = s * (male ? range(&d, 1.2f, 2.1f) : range(&d, 0.8f, 1.5f));
    f->nose_len = f->iod * range(&d, 0.6f, 0.68f);
    f->nose_width = f->iod * (male ? range(&d, 0.22f, 0.27f) : range(&d, 0.19f, 0.24f));
    f->nose_depth = f->iod * range(&d, 0.28f, 0.36f);
    f->mouth_v = f->iod * range(&d, 1.05f, 1.12f);
    f->mouth_width = f->iod * range(&d, 0.42f, 0.5f);
    f->lip_full = range(&d, 0.75f, 1.3f) * (male ? 0.85f : 1.0f);
    if (chance(&d, 0.48f)) {
        f->smile = range(&d, SMILE_MIN, 1.0f);
        f->mouth_open = chance(&d, 0.75f) ? range(&d, 0.4f, 1.0f) : 0.0f;
    } else {
        f->smile = range(&d, -0.15f, 0.3f);
        f->mouth_open = chance(&d, 0.1f) ? range(&d, 0.25f, 0.5f) : 0.0f;
    }
    static const float red[3] = {0.75f, 0.3f, 0.3f}, paint[2][3] = {{0.72f, 0.1f, 0.2f}, {0.8f, 0.38f, 0.42f}};
    float lipc[3];
    for (int j = 0; j < 3; j++) lipc[j] = red[j] * (0.55f + 0.45f * (1.0f - f->skin_tone));
    mix3(f->lip, f->skin, lipc, range(&d, 0.5f, 0.7f));
    for (int j = 0; j < 3; j++) f->lip[j] *= 0.88f;
    f->lipstick = !male && chance(&d, 0.45f) ? range(&d, 0.3f, 0.9f) : 0.0f;
    if (f->lipstick > 0) mix3(f->lip, f->lip, paint[chance(&d, 0.5f)], f->lipstick * 0.8f);
    f->blush = male ? range(&d, 0.0f, 0.2f) : range(&d, 0.0f, 0.6f);
    if (male) {
        float b = uni(&d);
        if (b < 0.15f)
            f->beard = range(&d, 0.55f, 0.9f);
        else if (b < 0.33f)
            f->stubble = range(&d, 0.3f, 0.8f);
        else if (b < 0.42f)
            f->goatee = 1;
        else if (b < 0.5f)
            f->mustache = range(&d, 0.6f, 0.9f);
    }
    sample_hair(&d, f);

    f->light[0] = range(&d, -0.8f, 0.8f);
    f->light[1] = range(&d, -0.7f, 0.05f);
    f->light[2] = 1.0f;
    f->ambient = range(&d, 0.5f, 0.72f);
    sample_background(&d, f);
    f->lens_shape = uni(&d);
    static const float frames[4][3] = {
        {0.05f, 0.05f, 0.05f}, {0.25f, 0.15f, 0.08f}, {0.5f, 0.5f, 0.52f}, {0.4f, 0.1f, 0.1f}};
    memcpy(f->frame, frames[f->sunglasses ? 0 : (int)(uni(&d) * 3.99f)], sizeof f->frame);
    float b = uni(&d);
    f->blur_sigma = b < 0.75f ? range(&d, 0.35f, 0.7f) : b < 0.93f ? range(&d, 0.7f, 1.1f) : range(&d, 1.3f, 2.0f);
    f->noise_sigma = range(&d, 0.004f, 0.018f);
    f->exposure = range(&d, 0.88f, 1.08f);
    f->warmth = range(&d, -0.05f, 0.07f);
    uint64_t h = (seed + 0x9e3779b97f4a7c15ull * (index + 1)) ^ (seed >> 31);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    f->texture_seed = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
}

void cg_synth_attributes(const cg_synth_face *f, int a[CG_SYNTH_N_ATTRS]) {
    for (int i = 0; i < CG_SYNTH_N_ATTRS; i++) a[i] = -1;
    float s = f->iod / 38.0f;
    cg_hair_style hs = f->hair_style;
    int bald = hs == CG_HAIR_BALD, curly = hs == CG_HAIR_CURLY;
    a[A_STUBBLE] = f->stubble > 0;
    a[A_ARCHED] = f->brow_arch > 2.5f * s;
    a[A_BALD] = bald;
    a[A_BANGS] = hs == CG_HAIR_FRINGE || hs == CG_HAIR_LONG_FRINGE;
    a[A_BIG_LIPS] = f->lip_full > 1.15f;
    a[A_BIG_NOSE] = f->nose_width > 0.245f * f->iod;
    a[A_BLACK] = !bald && f->hair_colour == CG_HAIRC_BLACK;
    a[A_BLOND] = !bald && f->hair_colour == CG_HAIRC_BLOND;
    a[A_BROWN] = !bald && (f->hair_colour == CG_HAIRC_BROWN || f->hair_colour == CG_HAIRC_DARK_BROWN);
    a[A_GRAY] = !bald && f->hair_colour == CG_HAIRC_GRAY;
    a[A_BLURRY] = f->blur_sigma > BLURRY_SIGMA;
    a[A_BUSHY] = f->brow_thick > 1.7f * s;
    a[A_GLASSES] = f->eyeglasses || f->sunglasses; // CelebA labels sunglasses as Eyeglasses
    a[A_GOATEE] = f->goatee;
    a[A_MAKEUP] = f->lipstick > 0.6f;
    a[A_MALE] = f->male;
    a[A_OPEN] = f->mouth_open > 0.2f;
    a[A_MUSTACHE] = f->mustache > 0;
    a[A_NARROW] = f->eye_open < NARROW_EYES;
    a[A_NO_BEARD] = !(f->beard > 0 || f->stubble > 0 || f->goatee || f->mustache > 0);
    a[A_PALE] = f->skin_tone < PALE_TONE;
    a[A_RECEDING] = hs == CG_HAIR_RECEDING;
    a[A_ROSY] = f->blush > 0.35f;
    a[A_SIDEBURNS] = f->beard > 0;
    a[A_SMILING] = f->smile >= SMILE_MIN;
    a[A_STRAIGHT] = !bald && !curly && f->hair_wave < 0.4f;
    a[A_WAVY] = curly || (!bald && f->hair_wave > 0.6f);
    a[A_LIPSTICK] = f->lipstick > 0;
    a[A_NECKTIE] = f->tie;
    a[A_YOUNG] = f->hair_colour != CG_HAIRC_GRAY;
    a[A_SUNGLASSES] = f->sunglasses;
    for (int i = 0; i < CG_SYNTH_N_ATTRS; i++) a[i] = a[i] > 0 ? 1 : -1;
}
