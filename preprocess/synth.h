// synth.h — synthetic CelebA-style faces with known pose and eyewear: the ground truth that the
// preprocessing filters are measured against, and the embedded default training data.
//
// `cg_synth_write(dir, n, seed, ...)` writes, like CelebA's aligned release:
//   dir/img_align_celeba/000001.jpg ...    178x218 RGB JPEG (quality 90), eyes near y 112, centred
//   dir/list_landmarks_align_celeba.txt    count, header, 5 landmarks per image (integer pixels; "lefteye"
//                                          is the eye on the image's left side)
//   dir/list_attr_celeba.txt               count, the 40 CelebA attribute names + "Sunglasses", values 1/-1
//   dir/list_eval_partition.txt            "000001.jpg 0": 0 train (80%), 1 validation, 2 test (10% each)
//   dir/synth_truth.txt                    "image yaw_deg roll_deg sunglasses eyeglasses frontal"
//
// Pose conventions: yaw_deg > 0 turns the head toward the image's right side (the nose moves right of
// the eyes' midpoint); roll_deg > 0 rotates the face clockwise on screen (the image-right eye moves down).
//
// THE SHARED DEFINITION OF "FRONTAL" (the frontal filter is scored against it; do not change it):
//   frontal  <=>  |yaw| <= 15 degrees  AND  |roll| <= 6 degrees.
//
// Face i of seed s depends only on (s, i): it draws from the Philox stream {seed = s, stream = i}, so
// a face is the same byte for byte whatever n is and however many threads render.
#ifndef CLGAN_SYNTH_H
#define CLGAN_SYNTH_H

#include "runtime.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#define CG_SYNTH_W 178
#define CG_SYNTH_H 218
#define CG_SYNTH_JPEG_QUALITY 90
#define CG_SYNTH_SCRATCH_FLOATS (2 * CG_SYNTH_H * (3 * CG_SYNTH_W + 8))

#define CG_SYNTH_FRONTAL_MAX_YAW_DEG 15.0f
#define CG_SYNTH_FRONTAL_MAX_ROLL_DEG 6.0f
#define CG_SYNTH_IS_FRONTAL(yaw_deg, roll_deg)                                                                         \
    (fabsf((float)(yaw_deg)) <= CG_SYNTH_FRONTAL_MAX_YAW_DEG &&                                                        \
     fabsf((float)(roll_deg)) <= CG_SYNTH_FRONTAL_MAX_ROLL_DEG)

#define CG_SYNTH_N_ATTRS 41 // the 40 CelebA attributes in official order, then "Sunglasses"
extern const char *const cg_synth_attr_names[CG_SYNTH_N_ATTRS];

// clang-format off
typedef enum { CG_HAIR_SHORT, CG_HAIR_FRINGE, CG_HAIR_RECEDING, CG_HAIR_BALD, CG_HAIR_CURLY, CG_HAIR_LONG,
               CG_HAIR_LONG_FRINGE, CG_HAIR_BUN, CG_HAIR_BOB, CG_HAIR_STYLES } cg_hair_style;
typedef enum { CG_HAIRC_BLACK, CG_HAIRC_DARK_BROWN, CG_HAIRC_BROWN, CG_HAIRC_BLOND, CG_HAIRC_GRAY, CG_HAIRC_AUBURN,
               CG_HAIRC_COLOURS } cg_hair_colour;
// clang-format on
typedef enum { CG_BG_SOLID, CG_BG_VGRAD, CG_BG_HGRAD, CG_BG_NOISE, CG_BG_BOKEH, CG_BG_KINDS } cg_bg_kind;
typedef enum { CG_TOP_PLAIN, CG_TOP_VNECK, CG_TOP_SUIT, CG_TOP_KINDS } cg_top_kind;

// Everything that decides one face; cg_synth_sample draws it, cg_synth_render draws the picture.
// Lengths are in pixels of the 178x218 frame, colours are RGB in [0, 1].
typedef struct {
    float yaw_deg, roll_deg;
    int sunglasses, eyeglasses; // eyeglasses: clear frames only (sunglasses are counted apart)
    int male;
    float eye_x, eye_y;                 // midpoint of the eyes before roll (the alignment target)
    float iod;                          // frontal inter-ocular distance before yaw foreshortening
    float head_rx, head_top, head_chin; // head half width; crown and chin distance from the eye line
    float jaw;                          // 0 pointed chin .. 1 square jaw
    float skin_tone;                    // 0 pale .. 1 dark
    float skin[3], lip[3], iris[3], hair[3], brow[3], bg_a[3], bg_b[3], cloth[3], frame[3];
    cg_hair_style hair_style;
    cg_hair_colour hair_colour;
    float hair_volume, hair_length, hair_wave, hair_part;
    float eye_open, eye_size, gaze_x, brow_thick, brow_arch, brow_height;
    float nose_len, nose_width, nose_depth;
    float mouth_v, mouth_width, lip_full, smile, mouth_open, lipstick, blush;
    float beard, stubble, mustache; // each 0 (none) .. 1 (dense)
    int goatee;
    float light[3]; // direction toward the light (normalised when drawn), +x right, +y down, +z to the camera
    float ambient;
    cg_bg_kind bg;
    cg_top_kind top;
    int tie;
    float blur_sigma, noise_sigma, exposure, warmth;
    float lens_shape;      // glasses: 0 round .. 1 rectangular
    uint64_t texture_seed; // seeds the hash noise of textures and grain
} cg_synth_face;

// The 5 landmarks as rendered (after roll), CelebA order: left eye, right eye, nose, left and right
// mouth corners, each (x, y) in pixels.
typedef struct {
    float pt[10];
} cg_synth_landmarks;

// Draws the parameters of face `index` (0-based) of `seed`.
void cg_synth_sample(uint64_t seed, uint64_t index, cg_synth_face *face);
// The 41 attribute values (1/-1) that describe what cg_synth_render draws for `face`.
void cg_synth_attributes(const cg_synth_face *face, int attrs[CG_SYNTH_N_ATTRS]);
// Renders into rgb (CG_SYNTH_H rows of CG_SYNTH_W RGB pixels) and reports the landmarks (may be NULL).
// `scratch` holds CG_SYNTH_SCRATCH_FLOATS floats, or NULL to allocate (and then may fail: -> nonzero).
int cg_synth_render(const cg_synth_face *face, uint8_t *rgb, float *scratch, cg_synth_landmarks *marks);
// The landmarks cg_synth_render reports for `face`, without drawing it (~10 us instead of ~2 ms).
void cg_synth_landmarks_of(const cg_synth_face *face, cg_synth_landmarks *marks);

// Writes the n-face dataset described above into dir (created if missing) with `threads` workers
// (<= 0: all online CPUs). Progress goes to progress_log when it is not NULL.
cg_status cg_synth_write(const char *dir, int n, uint64_t seed, int threads, FILE *progress_log);
// Writes a PNG contact sheet of faces 0..n-1 of `seed`, `cols` faces a row (<= 0: a square-ish grid),
// each scaled to tile_w pixels wide keeping the aspect (tile_w <= 0: full 178x218).
cg_status cg_synth_sheet(const char *png_path, int n, uint64_t seed, int cols, int tile_w);

#endif
