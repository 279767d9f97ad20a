// filters.c — landmark geometry: the three frontal-face criteria, eye boxes for the sunglasses
// test, the zoom crop box, and the sunglasses score from the eye and image brightness.
//
// Coordinates. Landmark values are pixel indices; pixel i covers [i, i+1) in the continuous
// coordinates that boxes use, so its centre is i + 0.5. Official landmarks refer to the 178x218
// aligned image and are mapped to a w x h image through pixel centres, (x + 0.5) * w / 178 - 0.5,
// which is x * w / 178 up to a quarter pixel at half resolution.
//
// How the shipped thresholds (preprocess.h, configs/preprocess.ini) were chosen, by measurement:
// synthetic faces (`clgan synth`, seeds 1-3, 1,700 faces each; ground truth frontal <=> |yaw| <= 15
// and |roll| <= 6 degrees) against the first 1,000 real CelebA landmark rows, where the original
// study kept 62 % and the issue asks for 50-75 %.
//   Frontal: eye_dy and mouth_dy measure roll (tan 6 deg = 0.105), nose_dx yaw. With whole-pixel
//   landmarks (1 px = 0.026 iod) and faces whose nose depth varies, no box of thresholds does much
//   better than min(precision, recall) ~0.955 on the synthetic faces. Measuring the nose along the
//   eye line instead of along x raised the worst seed from 0.944 to 0.953 (roll no longer passes
//   for yaw). A grid search (steps of 0.005) for the best worst-seed min(P, R) with a real keep
//   fraction >= 0.55 gave 0.11 / 0.115 / 0.11, but over 200,000 faces a seed its recall is
//   0.949-0.950 (seeds 1, 2, 4): no margin to 0.95. Now 0.105 / 0.12 / 0.12 (the best min(P, R) of
//   a 0.005 grid on 200,000 faces of seed 3): P 0.956-0.957, R 0.9545-0.956 on seeds 1-4 at
//   200,000 faces each, real keep 59.4 %. (The nose against the centre of eyes and mouth separates
//   synthetic faces better but keeps only ~51 % of the real ones.)
//   Sunglasses: against the whole image's mean (the spec's first idea) the best synthetic
//   min(P, R) was 0.90: background and hair dominate it; against the zoomed crop's mean, 0.98.
//   A ratio alone cannot tell a dark face with sunglasses from a bright face with shadowed eyes,
//   so the brighter eye box must also be dark in absolute terms. Swept: box 0.3-0.9 iod, ratio
//   0.56-0.88, grey 50-75; shipped box 0.5, ratio < 0.72, grey < 65: synthetic P 1.0, R >= 0.993
//   on every seed; real: 16 of 567 frontal faces removed, 13 with Eyeglasses = 1 (0.81).
//   The tests print these distributions (test_preprocess_synth, test_preprocess_celeba).
#include "filters.h"

#include <math.h>

cg_frontal_metrics cg_frontal_measure(const cg_landmarks *lm) {
    cg_frontal_metrics m;
    float dx = lm->x[CG_LM_RIGHT_EYE] - lm->x[CG_LM_LEFT_EYE];
    float dy = lm->y[CG_LM_RIGHT_EYE] - lm->y[CG_LM_LEFT_EYE];
    m.iod = sqrtf(dx * dx + dy * dy);
    if (!(m.iod > 1e-6f)) {
        m.eye_dy = m.nose_dx = m.mouth_dy = INFINITY;
        return m;
    }
    float mid_x = 0.5f * (lm->x[CG_LM_LEFT_EYE] + lm->x[CG_LM_RIGHT_EYE]);
    float mid_y = 0.5f * (lm->y[CG_LM_LEFT_EYE] + lm->y[CG_LM_RIGHT_EYE]);
    m.eye_dy = fabsf(dy) / m.iod;
    // The nose's offset from the eyes' midpoint along the eye line: its x offset in the face's own
    // frame, so roll does not pass for yaw (the nose sits ~0.6 iod below the eyes).
    m.nose_dx = fabsf((lm->x[CG_LM_NOSE] - mid_x) * dx + (lm->y[CG_LM_NOSE] - mid_y) * dy) / (m.iod * m.iod);
    m.mouth_dy = fabsf(lm->y[CG_LM_RIGHT_MOUTH] - lm->y[CG_LM_LEFT_MOUTH]) / m.iod;
    return m;
}

int cg_frontal_pass(const cg_frontal_metrics *m, const cg_pp_params *p) {
    return m->eye_dy <= p->eye_dy_max && m->nose_dx <= p->nose_dx_max && m->mouth_dy <= p->mouth_dy_max;
}

cg_landmarks cg_landmarks_to_image(const cg_landmarks *lm, int w, int h) {
    cg_landmarks out;
    float sx = (float)w / CG_LM_REF_W, sy = (float)h / CG_LM_REF_H;
    for (int k = 0; k < CG_LM_POINTS; k++) {
        out.x[k] = (lm->x[k] + 0.5f) * sx - 0.5f;
        out.y[k] = (lm->y[k] + 0.5f) * sy - 0.5f;
    }
    return out;
}

static int clampi(long v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : (int)v; }

void cg_eye_boxes(const cg_landmarks *lm, double eye_box, int w, int h, cg_ibox out[2]) {
    cg_frontal_metrics m = cg_frontal_measure(lm);
    double side = eye_box * m.iod;
    if (!(side >= 1.0)) side = 1.0;
    if (side > 1e6) side = 1e6;
    long n = lround(side);
    for (int e = 0; e < 2; e++) {
        double cx = lm->x[e] + 0.5, cy = lm->y[e] + 0.5; // pixel centre, continuous coordinates
        long x0 = isfinite(cx) ? lround(cx - 0.5 * side) : 0, y0 = isfinite(cy) ? lround(cy - 0.5 * side) : 0;
        if (x0 < -2000000) x0 = -2000000;
        if (y0 < -2000000) y0 = -2000000;
        out[e].x0 = clampi(x0, 0, w);
        out[e].y0 = clampi(y0, 0, h);
        out[e].x1 = clampi(x0 + n, 0, w);
        out[e].y1 = clampi(y0 + n, 0, h);
    }
}

// Shrinks the square to fit and shifts it inside [0, w] x [0, h].
static cg_box fit_square(double cx, double cy, double side, int w, int h) {
    double lim = w < h ? w : h;
    if (!(side > 0) || side > lim) side = lim;
    double x0 = cx - 0.5 * side, y0 = cy - 0.5 * side;
    if (!isfinite(x0)) x0 = 0.5 * (w - side);
    if (!isfinite(y0)) y0 = 0.5 * (h - side);
    x0 = x0 < 0 ? 0 : x0 > w - side ? w - side : x0;
    y0 = y0 < 0 ? 0 : y0 > h - side ? h - side : y0;
    return (cg_box){(float)x0, (float)y0, (float)side, (float)side};
}

cg_box cg_crop_box(const cg_landmarks *lm, double zoom_factor, int w, int h) {
    if (!lm) return fit_square(0.5 * w, 0.5 * h, w < h ? w : h, w, h);
    double ex = 0.5 * (lm->x[CG_LM_LEFT_EYE] + lm->x[CG_LM_RIGHT_EYE]);
    double ey = 0.5 * (lm->y[CG_LM_LEFT_EYE] + lm->y[CG_LM_RIGHT_EYE]);
    double mx = 0.5 * (lm->x[CG_LM_LEFT_MOUTH] + lm->x[CG_LM_RIGHT_MOUTH]);
    double my = 0.5 * (lm->y[CG_LM_LEFT_MOUTH] + lm->y[CG_LM_RIGHT_MOUTH]);
    double iod = cg_frontal_measure(lm).iod, em = hypot(mx - ex, my - ey);
    double s = iod > em ? iod : em;
    return fit_square(0.5 * (ex + mx) + 0.5, 0.5 * (ey + my) + 0.5, zoom_factor * s, w, h);
}

cg_ibox cg_box_pixels(cg_box b, int w, int h) {
    cg_ibox r;
    r.x0 = clampi(isfinite(b.x0) ? lround(b.x0) : 0, 0, w);
    r.y0 = clampi(isfinite(b.y0) ? lround(b.y0) : 0, 0, h);
    r.x1 = clampi(isfinite(b.x0 + b.w) ? lround(b.x0 + b.w) : w, r.x0, w);
    r.y1 = clampi(isfinite(b.y0 + b.h) ? lround(b.y0 + b.h) : h, r.y0, h);
    return r;
}

float cg_sunglasses_score(double left_mean, double right_mean, double ref_mean) {
    if (!(ref_mean > 0) || !isfinite(left_mean) || !isfinite(right_mean)) return NAN;
    double brighter = left_mean > right_mean ? left_mean : right_mean;
    return (float)(brighter / ref_mean);
}

int cg_sunglasses_detect(double left_mean, double right_mean, double ref_mean, const cg_pp_params *p) {
    float score = cg_sunglasses_score(left_mean, right_mean, ref_mean);
    double brighter = left_mean > right_mean ? left_mean : right_mean;
    return score < p->sunglasses_ratio_max && brighter < p->sunglasses_grey_max;
}
