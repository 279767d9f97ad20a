// filters.h — the [preprocess] parameters (params.c) and the landmark geometry that decides
// frontal faces, sunglasses and the zoomed crop (filters.c).
#ifndef CLGAN_FILTERS_H
#define CLGAN_FILTERS_H

#include "celeba.h"

// Parameters ([preprocess] in configs/preprocess.ini).

typedef struct {
    const char *input;      // dataset folder (CelebA layout or a plain folder of images)
    const char *images;     // "" = <input>/img_align_celeba if it exists, else <input>
    const char *landmarks;  // "" = <input>/list_landmarks_align_celeba.txt if it exists
    const char *attributes; // "" = <input>/list_attr_celeba.txt if it exists
    const char *partitions; // "" = <input>/list_eval_partition.txt if it exists
    const char *partition;  // all | train | val | test
    const char *output;     // packed dataset path; "" = write none
    const char *report;     // JSON report path; "" = <output stem>_report.json
    int size;               // output side in pixels
    int frontal;
    double eye_dy_max, nose_dx_max, mouth_dy_max; // relative to the inter-ocular distance
    int sunglasses;
    double eye_box;              // eye box side relative to the inter-ocular distance
    double sunglasses_ratio_max; // brighter eye box mean / reference mean below this ...
    double sunglasses_grey_max;  // ... and the brighter eye box's mean grey level (0..255) below this
    const char *sunglasses_reference; // crop (the zoomed face, default) | image (the whole image)
    int zoom;
    double zoom_factor;     // crop side = zoom_factor * max(inter-ocular, eye-to-mouth distance)
    int batch, threads;
    long limit;             // 0 = all
    int max_side;           // larger images are refused before decoding
    int reject_sheets;      // contact sheets of rejected images (PNG)
    int sheet_max;          // images per sheet
    int whole_images;       // 1: decode every row (tests); 0 (default): only the rows the device reads
} cg_pp_params;

// The shipped thresholds (also in configs/preprocess.ini); see filters.c for how they were chosen.
#define CG_PP_EYE_DY_MAX 0.105
#define CG_PP_NOSE_DX_MAX 0.12
#define CG_PP_MOUTH_DY_MAX 0.12
#define CG_PP_EYE_BOX 0.50
#define CG_PP_SUNGLASSES_RATIO_MAX 0.72
#define CG_PP_SUNGLASSES_GREY_MAX 65.0
#define CG_PP_SUNGLASSES_REFERENCE "crop"
#define CG_PP_ZOOM_FACTOR 2.2

void cg_pp_params_default(cg_pp_params *p);
// Reads every [preprocess] key (defaults as above); errors name the file, section and key.
cg_status cg_pp_params_from_config(cg_config *cfg, cg_pp_params *p);

// ---------------------------------------------------------------------------------------------
// Landmark geometry (filters.c).

typedef struct {
    float iod;      // inter-ocular distance
    float eye_dy;   // |left eye y - right eye y| / iod
    float nose_dx;  // |nose - eyes' midpoint| along the eye line / iod (x when the eyes are level)
    float mouth_dy; // |left mouth y - right mouth y| / iod
} cg_frontal_metrics;

typedef struct {
    float x0, y0, w, h; // continuous pixel coordinates: pixel i covers [i, i+1)
} cg_box;

typedef struct {
    int x0, y0, x1, y1; // pixel rectangle [x0, x1) x [y0, y1), inside the image (may be empty)
} cg_ibox;

cg_frontal_metrics cg_frontal_measure(const cg_landmarks *lm);
int cg_frontal_pass(const cg_frontal_metrics *m, const cg_pp_params *p);
// Official coordinates -> an image of w x h, through pixel centres: (x + 0.5) * w / 178 - 0.5 (the
// plain x * w / 178 up to a quarter pixel at half resolution), likewise y with h / 218.
cg_landmarks cg_landmarks_to_image(const cg_landmarks *lm, int w, int h);
// Square boxes of side eye_box * iod centred on each eye (left, right), clamped to the image.
void cg_eye_boxes(const cg_landmarks *img_lm, double eye_box, int w, int h, cg_ibox out[2]);
// The crop: a square of side zoom_factor * max(iod, eye-to-mouth distance) centred halfway between
// the eyes' and the mouth corners' midpoints; img_lm NULL: the largest centred square.
// The square is shrunk to fit and shifted inside the image.
cg_box cg_crop_box(const cg_landmarks *img_lm, double zoom_factor, int w, int h);
// The pixel rectangle nearest to a crop box (for brightness statistics), inside the image.
cg_ibox cg_box_pixels(cg_box b, int w, int h);
// Sunglasses score: max(left eye mean, right eye mean) / reference mean; NAN when undefined.
float cg_sunglasses_score(double left_mean, double right_mean, double ref_mean);
// The sunglasses decision: score < sunglasses_ratio_max and max(left, right) < sunglasses_grey_max.
int cg_sunglasses_detect(double left_mean, double right_mean, double ref_mean, const cg_pp_params *p);

#endif
