// synth_face.c — the facial features of a synthetic face, drawn in face coordinates (u, v) so that
// yaw foreshortens them: eyes, brows, nose, mouth, beard, cheeks, glasses; and the 5 landmarks as drawn.
#include "synth_scene.h"

float synth_depth_du(const synth_scene *sc, float depth) {
    float k = synth_clamp((1.0f + depth / sc->rf) * sc->syaw, -0.999f, 0.999f);
    return sc->rf * sinf(asinf(k) - sc->yaw);
}

float synth_u_to_x(const synth_scene *sc, float u) {
    return sc->hx + sc->rf * sinf(asinf(synth_clamp(u / sc->rf, -1.0f, 1.0f)) + sc->yaw);
}

void synth_face_init(synth_scene *sc) {
    const cg_synth_face *f = sc->f;
    float s = sc->s;
    sc->eu = 0.5f * f->iod;
    sc->ew = 0.215f * f->iod * f->eye_size;
    sc->eh_up = 0.42f * sc->ew * f->eye_open;
    sc->eh_lo = 0.26f * sc->ew * f->eye_open;
    sc->iris_r = 0.46f * sc->ew;
    sc->iris_du = f->gaze_x * 0.22f * sc->ew;
    sc->brow_v = -f->brow_height;
    sc->brow_len = 0.31f * f->iod;
    sc->nl = f->nose_len;
    sc->nw = f->nose_width;
    sc->nd = f->nose_depth;
    sc->nose_tip_u = synth_depth_du(sc, sc->nd);
    sc->nose_base_u = synth_depth_du(sc, 0.5f * sc->nd);
    sc->nostril_u = synth_depth_du(sc, 0.6f * sc->nd);
    sc->mv = f->mouth_v;
    sc->mw = f->mouth_width * (1.0f + 0.08f * synth_max(f->smile, 0.0f));
    sc->m_du = synth_depth_du(sc, 0.3f * sc->nd);
    int sun = f->sunglasses;
    sc->lens_u = sc->eu + 1.0f * s;
    sc->lens_v = (sun ? 1.5f : 0.8f) * s;
    sc->lens_w = (sun ? 0.37f : 0.33f) * f->iod;
    sc->lens_h = (sun ? 0.27f : 0.22f) * f->iod;
    sc->lens_du = synth_depth_du(sc, 0.5f * sc->nd);
    sc->frame_th = (sun ? 1.3f : 1.0f + 0.6f * f->lens_shape) * s;
}

// Converts a horizontal distance in face units to pixels at this pixel.
static inline float upx(const synth_pix *p, float du) { return du / p->ju; }

static void eye(const synth_scene *sc, const synth_pix *p, float *c, int side) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, ew = sc->ew, du = p->u - side * sc->eu, v = p->v;
    if (fabsf(du) > 1.8f * ew || v < -1.8f * ew || v > 1.3f * ew) return;
    // the socket: a soft shadow above and inside the eye, and a faint one below it
    float k = 1.0f - synth_sq(du / (1.6f * ew)) - synth_sq((v + 0.3f * ew) / (1.2f * ew));
    if (k > 0) synth_darken(c, 0.17f * k * (1.3f - sc->f->ambient));
    float t = du / ew * (float)side; // -1 inner corner, +1 outer corner
    float tc = synth_clamp(t, -1.0f, 1.0f), g = 1.0f - tc * tc;
    float vc = -0.07f * ew * t;
    float up = vc - sc->eh_up * sqrtf(g) * (1.0f - 0.12f * tc);
    float lo = vc + sc->eh_lo * sqrtf(g) * sqrtf(sqrtf(g));
    float d = synth_max(synth_max(up - v, v - lo), upx(p, (fabsf(t) - 1.0f) * ew));
    if (d < 1.0f) {
        static const float sclera[3] = {0.92f, 0.90f, 0.87f};
        float in[3];
        for (int j = 0; j < 3; j++) in[j] = 0.8f * sclera[j] + 0.2f * c[j];
        synth_darken(in, 0.2f * tc * tc * tc * tc);
        float iu = p->u - (side * sc->eu + sc->iris_du), iv = v + 0.08f * sc->eh_up, ir = sc->iris_r;
        float di = synth_sd_ellipse(upx(p, iu), iv, upx(p, ir), ir);
        if (di < 1.0f) {
            float r = synth_len(iu, iv) / ir, ang = synth_atan2(iv, iu);
            float streak = synth_noise(sc, 0, ang * 5.0f, r * 3.0f);
            float m = (0.8f + 0.4f * streak) * (1.15f - 0.55f * synth_sstep(0.6f, 1.0f, r));
            float col[3];
            for (int j = 0; j < 3; j++) col[j] = f->iris[j] * m;
            float pupil[3] = {0.03f, 0.03f, 0.035f};
            synth_blend(col, pupil, synth_cover((r - 0.42f) * ir, 0.8f));
            synth_blend(in, col, synth_cover(di, 1.0f));
            // the catch light sits toward the light
            float hu = iu + 0.35f * ir * sc->lx, hv = iv + 0.35f * ir * (0.6f + sc->ly);
            float spark[3] = {1.0f, 1.0f, 1.0f};
            synth_blend(in, spark, 0.85f * synth_cover(synth_len(upx(p, hu), hv) - 0.55f * s, 0.8f));
        }
        synth_darken(in, 0.3f * (1.0f - synth_sstep(0.0f, 0.5f * sc->eh_up, v - up)));
        synth_blend(c, in, synth_cover(d, 1.0f));
    }
    // lashes along the upper lid, a crease above it, and the lower lid
    float lash_col[3] = {0.06f, 0.05f, 0.05f};
    float lw = (f->male ? 0.9f : 1.3f) * s, reach = t > 0 ? 1.1f : 1.0f;
    float dl = synth_max(synth_max(up - lw - v, v - up - 0.3f * s), upx(p, (fabsf(t) - reach) * ew));
    synth_blend(c, lash_col, 0.85f * synth_cover(dl, 1.0f));
    float crease = up - (1.3f + 1.6f * f->eye_open) * s;
    float fade = 1.0f - synth_sstep(0.6f, 1.0f, fabsf(t));
    synth_darken(c, 0.22f * fade * synth_cover(fabsf(v - crease) - 0.3f * s, 1.2f));
    synth_darken(c, 0.18f * fade * synth_cover(fabsf(v - lo - 0.4f * s) - 0.2f * s, 1.0f));
}

static void brow(const synth_scene *sc, const synth_pix *p, float *c, int side) {
    const cg_synth_face *f = sc->f;
    float bl = sc->brow_len, t = (p->u - side * sc->eu * 1.04f) / bl * (float)side;
    if (fabsf(t) > 1.3f || p->v > sc->brow_v + 6.0f * sc->s || p->v < sc->brow_v - f->brow_arch - 6.0f * sc->s) return;
    float tc = synth_clamp(t, -1.0f, 1.0f);
    float vc = sc->brow_v - f->brow_arch * (1.0f - synth_sq((tc - 0.25f) / 1.25f)) + 0.8f * sc->s * tc;
    float th = f->brow_thick * (1.05f - 0.45f * tc);
    float d = synth_max(fabsf(p->v - vc) - th, upx(p, (fabsf(t) - 1.0f) * bl));
    float hairs = 0.7f + 0.3f * synth_noise(sc, 1, p->u * 1.1f / sc->s, p->v * 0.4f / sc->s);
    synth_blend(c, f->brow, 0.88f * hairs * synth_cover(d, 1.4f));
}

static void nose(const synth_scene *sc, const synth_pix *p, float *c) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, nl = sc->nl, nw = sc->nw, v = p->v;
    float reach = 2.2f * nw + 4.0f * s;
    if (v < -4.0f * s || v > nl + 7.0f * s || p->u < synth_min(0.0f, sc->nose_tip_u) - reach ||
        p->u > synth_max(0.0f, sc->nose_tip_u) + reach)
        return;
    float rel = synth_sat(v / nl);
    float depth = sc->nd * (v <= nl ? powf(rel, 1.4f) : synth_max(0.0f, 1.0f - (v - nl) / (5.0f * s)));
    float cu = synth_depth_du(sc, depth);
    float wv = nw * (0.4f + 0.6f * synth_sstep(0.3f * nl, nl, v));
    float du = p->u - cu;
    // a flank turned away shrinks to the nose's outline, kept 1.5 pixels wide
    float sl = du < 0 ? du / synth_max(cu + wv, 1.5f * p->ju) : du / synth_max(wv - cu, 1.5f * p->ju);
    float fv = synth_sstep(-2.0f * s, 0.4f * nl, v) * (1.0f - synth_sstep(nl + 1.0f * s, nl + 4.0f * s, v));
    if (fabsf(sl) < 1.5f && fv > 0) {
        // shade the flank as a plane turned by yaw, relative to the face's own shading
        float nx = 0.8f * synth_clamp(sl, -1.0f, 1.0f), nz = sqrtf(1.0f - nx * nx);
        float tx = nx * sc->cyaw + nz * sc->syaw, tz = -nx * sc->syaw + nz * sc->cyaw;
        float amb = f->ambient;
        float lit = amb + (1.0f - amb) * synth_max(0.0f, tx * sc->lx + tz * sc->lz);
        float ref = amb + (1.0f - amb) * synth_max(0.0f, sc->syaw * sc->lx + sc->cyaw * sc->lz);
        float fl = 1.0f - synth_sstep(1.0f, 1.5f, fabsf(sl));
        float m = 1.0f + (lit / synth_max(ref, 0.1f) - 1.0f) * 0.8f * fv * fl;
        m += 0.07f * fv * expf(-synth_sq(sl / 0.25f)) * synth_sstep(0.2f * nl, 0.6f * nl, v);
        float flank = du < 0 ? cu + wv : wv - cu; // a flank turned away collapses: no groove on it
        m -= 0.12f * fv * synth_sstep(0.1f * wv, 0.5f * wv, flank) * expf(-synth_sq((fabsf(sl) - 1.0f) / 0.2f));
        for (int j = 0; j < 3; j++) c[j] *= m;
    }
    float base_u = sc->nose_base_u, tip_u = sc->nose_tip_u;
    // tip highlight, alae creases, shadow under the nose, nostrils
    float dt = synth_sd_ellipse(upx(p, p->u - tip_u), v - (nl - 2.5f * s), upx(p, 0.5f * nw), 0.45f * nw);
    float gloss = synth_cover(dt, 3.0f * s) * (0.06f + 0.06f * synth_sat(-sc->ly));
    for (int j = 0; j < 3; j++) c[j] += gloss * (1.0f - c[j]);
    for (int side = -1; side <= 1; side += 2) {
        float au = base_u + side * 0.72f * nw, av = nl - 0.8f * s;
        float da = synth_sd_ellipse(upx(p, p->u - au), v - av, upx(p, 0.42f * nw), 0.46f * nw);
        float arc = expf(-synth_sq(da / (0.9f * s))) * synth_sat((v - (av - 0.45f * nw)) / (0.6f * nw) + 0.3f);
        synth_darken(c, 0.14f * arc);
    }
    float ds = synth_sd_ellipse(upx(p, p->u - base_u), v - (nl + 3.5f * s), upx(p, 0.95f * nw), 2.4f * s);
    synth_darken(c, 0.13f * synth_cover(ds, 3.0f * s) * (0.6f + 0.4f * synth_sat(-sc->ly * 2.0f)));
    float nost_u = sc->nostril_u;
    for (int side = -1; side <= 1; side += 2) {
        float far = (side > 0) == (sc->syaw > 0) ? fabsf(sc->syaw) : 0.0f;
        float rxn = 0.24f * nw * (1.0f - 0.8f * far), ryn = 0.11f * nw + 0.3f * s;
        float dn = synth_sd_ellipse(upx(p, p->u - (nost_u + side * 0.36f * nw)), v - (nl + 1.3f * s), upx(p, rxn), ryn);
        synth_darken(c, 0.55f * synth_cover(dn, 1.2f));
    }
}

static void mouth(const synth_scene *sc, const synth_pix *p, float *c) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, mw = sc->mw, du = p->u - sc->m_du, v = p->v - sc->mv;
    if (fabsf(du) > 1.35f * mw + 6.0f * s || v < -10.0f * s || v > 11.0f * s) return;
    float t = du / mw, tc = synth_clamp(t, -1.0f, 1.0f), g = 1.0f - tc * tc;
    float line = -f->smile * 3.4f * s * tc * tc + 0.6f * s * g;
    float gap = f->mouth_open * 4.2f * s * sqrtf(g);
    float bow = 1.0f - 0.3f * expf(-synth_sq(t / 0.13f)) + 0.12f * expf(-synth_sq((fabsf(t) - 0.22f) / 0.12f));
    float top = line - f->lip_full * 2.6f * s * powf(g, 0.55f) * bow;
    float bottom = line + gap + f->lip_full * 3.8f * s * powf(g, 0.6f);
    float dh = upx(p, (fabsf(t) - 1.0f) * mw);
    // nasolabial folds deepen with a smile
    if (f->smile > 0.2f) {
        float fu = fabsf(du) - mw * (1.05f + 0.25f * synth_sat(-v / (12.0f * s)));
        synth_darken(c, 0.1f * f->smile * expf(-synth_sq(upx(p, fu) / (1.5f * s))) *
                            synth_sat(1.0f - fabsf(v + 4.0f * s) / (9.0f * s)));
    }
    float d = synth_max(synth_max(top - v, v - bottom), dh);
    if (d < 1.5f) {
        float in[3];
        float hl = v > line + gap ? 0.12f * expf(-synth_sq(t / 0.45f)) * synth_sstep(0.0f, 1.0f, v - line - gap) : 0.0f;
        float lm = v < line ? 0.82f : 1.0f + hl;
        for (int j = 0; j < 3; j++) in[j] = f->lip[j] * lm * (0.75f + 0.25f * c[j] / synth_max(f->skin[j], 0.05f));
        if (gap > 0.2f * s && v > line && v < line + gap) {
            float teeth[3] = {0.86f, 0.83f, 0.76f}, dark[3] = {0.2f, 0.06f, 0.06f};
            float tt = synth_cover(v - line - synth_min(gap, 3.2f * s) * 0.85f, 1.0f) *
                       (1.0f - synth_sstep(0.6f, 0.92f, fabsf(t)));
            float open[3];
            for (int j = 0; j < 3; j++) open[j] = dark[j] + (teeth[j] - dark[j]) * tt;
            float inner = synth_cover(synth_max(line - v, v - line - gap), 1.0f);
            synth_blend(in, open, inner);
        }
        synth_blend(c, in, synth_cover(d, 1.3f));
    }
    float lc[3] = {0.25f * f->lip[0], 0.15f * f->lip[1], 0.15f * f->lip[2]};
    float a = gap > 0.3f * s ? 0.0f : 0.6f;
    synth_blend(c, lc, a * synth_cover(synth_max(fabsf(v - line) - 0.35f * s, dh), 1.0f));
}

static void beard(const synth_scene *sc, const synth_pix *p, float *c) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, au = fabsf(p->u) / sc->rx, v = p->v;
    if (v < -6.0f * s) return;
    float a = 0.0f;
    // the beard line runs from under the nose over the cheeks up to the sideburns
    float top = (sc->mv - 7.0f * s) + (12.0f * s - (sc->mv - 7.0f * s)) * synth_sstep(0.35f, 0.95f, au);
    if (f->beard > 0) a = synth_max(a, f->beard * synth_cover(top - v, 3.0f * s));
    if (f->stubble > 0) a = synth_max(a, f->stubble * 0.22f * synth_sstep(top - 2.0f * s, top + 8.0f * s, v));
    float du = p->u - sc->m_du, t = du / sc->mw;
    if (f->goatee) {
        float dg = synth_sd_ellipse(upx(p, du), v - (sc->mv + 8.0f * s), upx(p, 0.55f * sc->mw), 12.0f * s);
        a = synth_max(a, 0.85f * synth_cover(dg, 2.0f * s));
    }
    if (f->mustache > 0 || f->goatee) {
        float dm = synth_max(fabsf(v - (sc->mv - 4.0f * s)) - 2.5f * s, upx(p, (fabsf(t) - 1.08f) * sc->mw));
        a = synth_max(a, synth_max(f->mustache, 0.8f * (float)f->goatee) * synth_cover(dm, 2.0f * s));
    }
    if (a <= 0) return;
    float grain = synth_noise(sc, 2, p->x * 1.3f / s, p->y * 1.3f / s);
    synth_blend(c, f->brow, a * (0.55f + 0.45f * grain));
}

static void cheeks(const synth_scene *sc, const synth_pix *p, float *c) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, blush = f->blush;
    if (p->v < 0.0f || p->v > sc->mv + 14.0f * s) return;
    static const float rose[3] = {0.86f, 0.36f, 0.36f};
    for (int side = -1; side <= 1 && blush > 0; side += 2) {
        float k = 1.0f - synth_sq((p->u - side * 0.58f * sc->rx) / (0.3f * sc->rx)) -
                  synth_sq((p->v - 0.5f * sc->mv) / (0.22f * sc->rx));
        if (k > 0) synth_blend(c, rose, 0.22f * blush * k);
    }
    // a darker crease under the lower lip
    float dc = synth_sd_ellipse(upx(p, p->u - sc->m_du), p->v - (sc->mv + 8.0f * s), upx(p, 0.5f * sc->mw), 2.0f * s);
    synth_darken(c, 0.06f * synth_cover(dc, 3.0f * s));
}

void synth_face_features(const synth_scene *sc, const synth_pix *p, float *skin) {
    const cg_synth_face *f = sc->f;
    float s = sc->s, v = p->v;
    if (p->ju <= 0.0f || v < sc->brow_v - f->brow_arch - 8.0f * s) return;
    if (v > sc->mv + 14.0f * s) {
        if (f->beard > 0 || f->stubble > 0 || f->goatee) beard(sc, p, skin);
        return;
    }
    cheeks(sc, p, skin);
    beard(sc, p, skin);
    nose(sc, p, skin);
    mouth(sc, p, skin);
    if (v > 1.8f * sc->ew) return;
    for (int side = -1; side <= 1; side += 2) {
        eye(sc, p, skin, side);
        brow(sc, p, skin, side);
    }
}

// Signed distance to one lens outline: an ellipse for round frames, a rounded box for square ones.
static float lens_dist(const synth_scene *sc, float x, float y, float w, float h) {
    float de = synth_sd_ellipse(x, y, w, h);
    float r = 0.35f * h, qx = fabsf(x) - (w - r), qy = fabsf(y) - (h - r);
    float db = synth_len(synth_max(qx, 0.0f), synth_max(qy, 0.0f)) + synth_min(synth_max(qx, qy), 0.0f) - r;
    return de + (db - de) * sc->f->lens_shape;
}

void synth_glasses(const synth_scene *sc, const synth_pix *p, float *c) {
    const cg_synth_face *f = sc->f;
    if ((!f->eyeglasses && !f->sunglasses) || p->ju <= 0.0f) return;
    float s = sc->s, v = p->v - sc->lens_v, th = sc->frame_th, lh = sc->lens_h;
    if (fabsf(v) > lh + 4.0f * s) return;
    for (int side = -1; side <= 1; side += 2) {
        float cu = side * sc->lens_u + sc->lens_du;
        float x = upx(p, p->u - cu), lw = upx(p, sc->lens_w);
        if (fabsf(x) > lw + 4.0f * s) continue;
        // lenses are a little deeper toward the outer side
        float d = lens_dist(sc, x, v - 0.08f * lh * (float)side * x / lw, lw, lh);
        float band = expf(-synth_sq((0.6f * x / lw + v / lh + 0.3f) / 0.22f));
        if (f->sunglasses) {
            float lens[3];
            float m = 0.75f + 0.5f * synth_sat((v + lh) / (2.0f * lh));
            for (int j = 0; j < 3; j++) lens[j] = f->frame[j] * 0.25f * m + 0.025f + 0.12f * band;
            synth_blend(c, lens, 0.95f * synth_cover(d, 1.0f));
        } else {
            float glint[3] = {0.95f, 0.97f, 1.0f};
            synth_blend(c, glint, (0.04f + 0.12f * band) * synth_cover(d, 1.0f));
        }
        synth_blend(c, f->frame, 0.95f * synth_cover(fabsf(d) - 0.5f * th, 1.0f));
    }
    float vb = -0.35f * lh, inner = sc->lens_u - 0.85f * sc->lens_w, bu = p->u - sc->lens_du;
    float db = synth_max(fabsf(v - vb) - 0.5f * th, upx(p, fabsf(bu) - inner));
    synth_blend(c, f->frame, 0.95f * synth_cover(db, 1.0f));
    float outer = sc->lens_u + 0.9f * sc->lens_w;
    float dt = synth_max(fabsf(v + 0.45f * lh) - 0.5f * th, upx(p, outer - fabsf(bu)));
    synth_blend(c, f->frame, 0.95f * p->head * synth_cover(dt, 1.0f));
}

static void to_image(const synth_scene *sc, float u, float v, float *out) {
    float x = synth_u_to_x(sc, u) - sc->ex, y = v;
    out[0] = sc->ex + sc->cr * x - sc->sr * y;
    out[1] = sc->ey + sc->sr * x + sc->cr * y;
}

void synth_face_landmarks(const synth_scene *sc, cg_synth_landmarks *m) {
    float iv = -0.08f * sc->eh_up, corner = sc->mv - sc->f->smile * 3.4f * sc->s;
    to_image(sc, -sc->eu + sc->iris_du, iv, m->pt + 0);
    to_image(sc, sc->eu + sc->iris_du, iv, m->pt + 2);
    to_image(sc, synth_depth_du(sc, sc->nd), sc->nl, m->pt + 4);
    to_image(sc, sc->m_du - sc->mw, corner, m->pt + 6);
    to_image(sc, sc->m_du + sc->mw, corner, m->pt + 8);
}
