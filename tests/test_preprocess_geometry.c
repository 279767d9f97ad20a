// test_preprocess_geometry.c — landmark geometry and parameters, on the host, against values worked
// out by hand: the three frontal criteria (level, rolled, turned, degenerate faces), the mapping of
// official 178x218 landmarks to another image size, eye boxes (size, rounding, clamping), the zoom
// crop (size, centre, shrinking and shifting into the image, centre square without landmarks), the
// sunglasses decision (both conditions, undefined means), and [preprocess] configuration errors.
#include "preprocess.h"
#include "test_util.h"

static cg_landmarks face(float ex0, float ey0, float ex1, float ey1, float nx, float ny, float mx0, float my0,
                         float mx1, float my1) {
    cg_landmarks l = {{ex0, ex1, nx, mx0, mx1}, {ey0, ey1, ny, my0, my1}};
    return l;
}

// Rotates every point by deg degrees about (cx, cy).
static cg_landmarks rotate(cg_landmarks l, float deg, float cx, float cy) {
    float c = cosf(deg * 3.14159265f / 180), s = sinf(deg * 3.14159265f / 180);
    for (int k = 0; k < CG_LM_POINTS; k++) {
        float x = l.x[k] - cx, y = l.y[k] - cy;
        l.x[k] = cx + c * x - s * y;
        l.y[k] = cy + s * x + c * y;
    }
    return l;
}

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) < 1e-4)

static void test_frontal(void) {
    cg_pp_params p;
    cg_pp_params_default(&p);
    cg_landmarks level = face(60, 100, 100, 100, 80, 130, 70, 150, 90, 150);
    cg_frontal_metrics m = cg_frontal_measure(&level);
    CHECK(NEAR(m.iod, 40) && m.eye_dy == 0 && m.nose_dx == 0 && m.mouth_dy == 0, "level face: %g %g %g %g", m.iod,
          m.eye_dy, m.nose_dx, m.mouth_dy);
    CHECK(cg_frontal_pass(&m, &p), "a level face is frontal");
    // Roll by 10 degrees: the eye and mouth lines tilt (sin 10 = 0.1736; the mouth is half as wide),
    // the nose stays on the face's midline, so nose_dx stays 0.
    cg_landmarks rolled = rotate(level, 10, 80, 120);
    m = cg_frontal_measure(&rolled);
    CHECK(NEAR(m.eye_dy, 0.173648) && NEAR(m.mouth_dy, 0.086824) && m.nose_dx < 1e-5, "rolled: %g %g %g", m.eye_dy,
          m.mouth_dy, m.nose_dx);
    CHECK(!cg_frontal_pass(&m, &p), "a 10-degree roll is not frontal");
    // A turned head: the nose 6 px off the eyes' midpoint -> 0.15 > 0.115.
    cg_landmarks turned = face(60, 100, 100, 100, 86, 130, 70, 150, 90, 150);
    m = cg_frontal_measure(&turned);
    CHECK(NEAR(m.nose_dx, 0.15) && !cg_frontal_pass(&m, &p), "turned: nose_dx %g", m.nose_dx);
    turned.x[CG_LM_NOSE] = 84; // 0.1: frontal
    m = cg_frontal_measure(&turned);
    CHECK(NEAR(m.nose_dx, 0.1) && cg_frontal_pass(&m, &p), "slightly turned: nose_dx %g", m.nose_dx);
    cg_landmarks same = face(80, 100, 80, 100, 80, 130, 70, 150, 90, 150);
    m = cg_frontal_measure(&same);
    CHECK(isinf(m.eye_dy) && !cg_frontal_pass(&m, &p), "coincident eyes must not pass");
}

static void test_boxes(void) {
    // Official coordinates to half resolution through pixel centres: (69 + 0.5) * 0.5 - 0.5 = 34.25.
    cg_landmarks off = face(69, 109, 106, 113, 77, 142, 73, 152, 108, 154);
    cg_landmarks half = cg_landmarks_to_image(&off, 89, 109);
    CHECK(NEAR(half.x[0], 34.25) && NEAR(half.y[0], 54.25) && NEAR(half.y[4], 76.75), "to 89x109: %g %g %g",
          half.x[0], half.y[0], half.y[4]);
    cg_landmarks same = cg_landmarks_to_image(&off, 178, 218);
    CHECK(NEAR(same.x[2], 77) && NEAR(same.y[3], 152), "identity mapping");

    cg_landmarks level = face(60, 100, 100, 100, 80, 130, 70, 150, 90, 150);
    cg_ibox e[2];
    cg_eye_boxes(&level, 0.5, 178, 218, e); // side 20 around pixel centres 60.5 and 100.5
    CHECK(e[0].x0 == 51 && e[0].x1 == 71 && e[0].y0 == 91 && e[0].y1 == 111, "left eye box %d %d %d %d", e[0].x0,
          e[0].y0, e[0].x1, e[0].y1);
    CHECK(e[1].x0 == 91 && e[1].x1 == 111, "right eye box %d %d", e[1].x0, e[1].x1);
    cg_landmarks corner = face(2, 3, 42, 3, 22, 33, 12, 53, 32, 53);
    cg_eye_boxes(&corner, 0.5, 50, 60, e);
    CHECK(e[0].x0 == 0 && e[0].y0 == 0 && e[0].x1 == 12 && e[0].y1 == 13, "clamped box %d %d %d %d", e[0].x0, e[0].y0,
          e[0].x1, e[0].y1);
    CHECK(e[1].x1 == 50, "right box clamped to the width: %d", e[1].x1);

    // Crop: side 2.2 * max(iod 40, eye-to-mouth 50) = 110, centred at (80.5, 125.5).
    cg_box c = cg_crop_box(&level, 2.2, 178, 218);
    CHECK(NEAR(c.w, 110) && NEAR(c.h, 110) && NEAR(c.x0, 25.5) && NEAR(c.y0, 70.5), "crop %g %g %g %g", c.x0, c.y0,
          c.w, c.h);
    c = cg_crop_box(&level, 5.0, 178, 218); // 250 > 178: shrunk to 178, shifted inside
    CHECK(NEAR(c.w, 178) && c.x0 == 0 && c.y0 >= 0 && c.y0 + c.h <= 218, "shrunk crop %g %g %g", c.x0, c.y0, c.w);
    c = cg_crop_box(&corner, 2.2, 178, 218); // near the corner: shifted to stay inside
    CHECK(c.x0 == 0 && c.y0 == 0 && NEAR(c.w, 2.2f * 50), "shifted crop %g %g %g", c.x0, c.y0, c.w);
    c = cg_crop_box(NULL, 2.2, 178, 218);
    CHECK(c.x0 == 0 && NEAR(c.y0, 20) && c.w == 178 && c.h == 178, "centre square %g %g %g", c.x0, c.y0, c.w);
    cg_ibox px = cg_box_pixels((cg_box){25.5f, 70.4f, 110, 110}, 178, 218);
    CHECK(px.x0 == 26 && px.y0 == 70 && px.x1 == 136 && px.y1 == 180, "pixels %d %d %d %d", px.x0, px.y0, px.x1, px.y1);
    px = cg_box_pixels((cg_box){-10, 200, 50, 50}, 178, 218);
    CHECK(px.x0 == 0 && px.x1 == 40 && px.y0 == 200 && px.y1 == 218, "clamped pixels %d %d %d %d", px.x0, px.y0,
          px.x1, px.y1);
}

static void test_sunglasses(void) {
    cg_pp_params p;
    cg_pp_params_default(&p);
    CHECK(NEAR(cg_sunglasses_score(30, 40, 100), 0.4), "score uses the brighter eye");
    CHECK(cg_sunglasses_detect(30, 40, 100, &p), "dark eyes in a bright face: sunglasses");
    CHECK(!cg_sunglasses_detect(70, 80, 140, &p), "eyes at 80 grey are not dark enough in absolute terms");
    CHECK(!cg_sunglasses_detect(50, 55, 60, &p), "dark eyes in a dark face: not sunglasses (ratio 0.92)");
    CHECK(!cg_sunglasses_detect(NAN, 40, 100, &p) && isnan(cg_sunglasses_score(30, 40, 0)), "undefined means");
}

static void test_config(void) {
    cg_pp_params p;
    const char *bad[] = {"preprocess.size=3", "preprocess.eye_dy_max=-1", "preprocess.partition=holdout",
                         "preprocess.frontal=perhaps", "preprocess.sunglasses_reference=face", "preprocess.batch=0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cg_config *cfg = cg_config_empty();
        CHECK_OK(cg_config_set(cfg, bad[i]));
        const char *key = strchr(bad[i], '.') + 1;
        char needle[64];
        snprintf(needle, sizeof needle, "%.*s", (int)(strchr(key, '=') - key), key);
        CHECK_FAILS(cg_pp_params_from_config(cfg, &p), CG_ERR_CONFIG, needle);
        cg_config_free(cfg);
    }
    cg_config *cfg = cg_config_empty();
    CHECK_OK(cg_config_set(cfg, "preprocess.nose_dx_max=0.2"));
    CHECK_OK(cg_pp_params_from_config(cfg, &p));
    CHECK(p.nose_dx_max == 0.2 && p.eye_dy_max == CG_PP_EYE_DY_MAX, "override and default");
    cg_config_free(cfg);
}

int main(void) {
    test_frontal();
    test_boxes();
    test_sunglasses();
    test_config();
    return test_finish("test_preprocess_geometry");
}
