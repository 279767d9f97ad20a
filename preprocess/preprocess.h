// preprocess.h — public API of clgan's face preprocessing: CelebA list readers, host JPEG decoding,
// landmark filters (frontal, sunglasses), landmark zoom, device crop/resize and brightness kernels,
// the batched pipeline, the packed dataset (writer and memory-mapped reader), reports, benchmarks.
// Synthetic faces (`clgan synth`) have their own header, synth.h.
#ifndef CLGAN_PREPROCESS_H
#define CLGAN_PREPROCESS_H

#include "runtime.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// ---------------------------------------------------------------------------------------------
// Landmarks: CelebA's five points, in the order of list_landmarks_align_celeba.txt. "Left" is
// image-left (lefteye_x < righteye_x). Official coordinates refer to the 178x218 aligned image.

enum { CG_LM_LEFT_EYE, CG_LM_RIGHT_EYE, CG_LM_NOSE, CG_LM_LEFT_MOUTH, CG_LM_RIGHT_MOUTH, CG_LM_POINTS };
#define CG_LM_REF_W 178
#define CG_LM_REF_H 218

typedef struct {
    float x[CG_LM_POINTS], y[CG_LM_POINTS];
} cg_landmarks;

// ---------------------------------------------------------------------------------------------
// Issues: problems in the input that are skipped, counted and named in the report, never fatal.

typedef enum {
    CG_ISSUE_MALFORMED_ROW, // a list-file row that cannot be parsed (name is "file:line")
    CG_ISSUE_MISSING,       // a listed image with no file
    CG_ISSUE_EMPTY,         // a file of zero bytes
    CG_ISSUE_NOT_IMAGE,     // not in any format stb_image knows
    CG_ISSUE_TOO_LARGE,     // a side above max_side (checked from the header, before decoding)
    CG_ISSUE_TRUNCATED,     // the file ends before the image data does
    CG_ISSUE_CORRUPT,       // a known format whose data cannot be decoded
    CG_ISSUE_UNREADABLE,    // the file exists but cannot be read (permissions, I/O error)
    CG_ISSUE_KINDS
} cg_issue_kind;

typedef struct {
    cg_issue_kind kind;
    char *name;   // image file name, or "listfile:line" for rows
    char *detail; // one line
} cg_issue;

typedef struct {
    cg_issue *items;
    size_t n, cap;
    size_t counts[CG_ISSUE_KINDS];
} cg_issue_list;

const char *cg_issue_kind_name(cg_issue_kind k); // "malformed_row", "missing", ...
cg_status cg_issues_add(cg_issue_list *l, cg_issue_kind kind, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cg_issues_free(cg_issue_list *l);

// ---------------------------------------------------------------------------------------------
// Readers (celeba_reader.c). The image folder is listed (every non-hidden regular file) and joined
// by file name with the optional list files; an image listed in a file but absent from the folder
// is an entry with has_file = 0. List files: whitespace separated, CRLF or LF, an optional count
// line (a disagreement with the rows is noted, never fatal), an optional header line, then rows
// "NAME v1 v2 ...". Malformed rows are recorded as issues and otherwise ignored.

typedef struct {
    const char *images;     // folder of images (required)
    const char *landmarks;  // list_landmarks_align_celeba.txt layout, or NULL/""
    const char *attributes; // list_attr_celeba.txt layout, or NULL/""
    const char *partitions; // list_eval_partition.txt layout, or NULL/""
} cg_celeba_paths;

typedef struct {
    char *name;       // file name inside the image folder ("000001.jpg")
    int has_file;     // present in the folder
    int has_landmarks;
    cg_landmarks lm;  // official (178x218) coordinates
    int partition;    // 0 train, 1 val, 2 test, -1 unknown
    long attr_row;    // row in cg_celeba_set.attrs, -1 if none
} cg_celeba_entry;

#define CG_NOTE_LEN 256
typedef struct {
    cg_celeba_entry *entries; // sorted by name (strcmp)
    size_t n;
    int n_attrs;
    char **attr_names;   // n_attrs names from the attribute header
    int8_t *attrs;       // attr rows x n_attrs, values +1 / -1
    size_t attr_rows;
    size_t landmark_rows, partition_rows, folder_files; // rows / files actually read
    int has_landmark_file, has_attr_file, has_partition_file;
    cg_issue_list issues; // malformed rows
    char notes[8][CG_NOTE_LEN]; // count-line mismatches and the like
    int n_notes;
} cg_celeba_set;

cg_status cg_celeba_read(const cg_celeba_paths *paths, cg_celeba_set *out);
void cg_celeba_free(cg_celeba_set *s);
int cg_celeba_attr_index(const cg_celeba_set *s, const char *name); // column, or -1
// Attribute value (+1/-1) of entry e, or 0 when unknown.
int cg_celeba_attr(const cg_celeba_set *s, const cg_celeba_entry *e, int column);

// ---------------------------------------------------------------------------------------------
// Host decoding (image_loader.c): stb_image on a pool of threads. Images are always RGB (3 channels).

typedef struct {
    uint8_t *pixels;  // w*h*3, malloc'd; NULL when the load failed
    int w, h;
    int ok;
    cg_issue_kind issue; // when !ok
    char detail[160];
    double seconds;   // time spent loading this image on its thread
    int state;        // decode pool bookkeeping: 0 idle, 1 queued, 2 done
} cg_decoded;

// Loads one file: refuses empty files, non-images, sides above max_side (from the header, before
// decoding), truncated JPEG/PNG and undecodable data, classifying each.
void cg_image_load(const char *path, int max_side, cg_decoded *out);
void cg_decoded_release(cg_decoded *d);

typedef struct cg_decode_pool cg_decode_pool;
cg_status cg_decode_pool_create(int threads, int max_side, cg_decode_pool **out); // threads 0: one per CPU
// Queues a decode of path into slot (both must stay valid until cg_decode_pool_wait returns for it).
cg_status cg_decode_pool_submit(cg_decode_pool *p, const char *path, cg_decoded *slot);
void cg_decode_pool_wait(cg_decode_pool *p, cg_decoded *slot);
void cg_decode_pool_free(cg_decode_pool *p); // waits for queued work, joins the threads
int cg_decode_pool_threads(const cg_decode_pool *p);

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Device image work (image_ops.c, cl/image.cl). A batch is n RGB uint8 images packed back to back.
// Crop/resize: a separable triangle (tent) filter whose radius is max(1, scale) source pixels,
// scale = box side / output side, so shrinking takes a tent-weighted average of every covered
// pixel (antialiasing) and enlarging is bilinear; reads beyond the image repeat its edge; results
// round to nearest.
// Brightness: exact integer sums of grey*1000 = 299 R + 587 G + 114 B over three pixel rectangles per
// image: the reference (the crop or the whole image) and the two eye boxes.

typedef struct {
    int n;
    const uint8_t *pixels;  // packed images
    const uint64_t *offset; // n byte offsets into pixels
    const int *wh;          // n (w, h) pairs
    const cg_box *crop;     // n crop boxes
    const cg_ibox *boxes;   // 3n rectangles to sum: reference, left eye, right eye (inside the image)
    size_t pixel_bytes;     // total bytes of pixels
} cg_image_batch;

typedef struct cg_image_ops cg_image_ops;
cg_status cg_image_ops_create(cg_runtime *rt, cg_image_ops **out);
void cg_image_ops_free(cg_image_ops *ops);
// Enqueues upload, crop/resize into out (n * size * size * 3, NHWC) and the grey sums into sums
// (n * 3: one per rectangle of b->boxes). With done NULL it blocks; else every host array (batch and
// outputs) must stay untouched until *done completes (then release it with clReleaseEvent).
cg_status cg_image_ops_run(cg_image_ops *ops, const cg_image_batch *b, int size, uint8_t *out, uint64_t *sums,
                           cl_event *done);
// The same, blocking, adding the seconds of the upload, the crop/resize and the brightness kernels
// (each finished before the next starts) to seconds[0..2]; for benchmarks.
cg_status cg_image_ops_time(cg_image_ops *ops, const cg_image_batch *b, int size, uint8_t *out, uint64_t *sums,
                            double seconds[3]);

// ---------------------------------------------------------------------------------------------
// Packed dataset (dataset.c); the format is documented there. Little-endian, memory-mappable.

#define CG_DATASET_MAGIC "CLGANDS"
#define CG_DATASET_VERSION 1u

typedef struct cg_dataset_writer cg_dataset_writer;
cg_status cg_dataset_writer_open(const char *path, int h, int w, int c, cg_dataset_writer **out);
cg_status cg_dataset_writer_add(cg_dataset_writer *wr, const uint8_t *pixels, const char *name);
cg_status cg_dataset_writer_commit(cg_dataset_writer *wr); // atomic; frees wr
void cg_dataset_writer_abort(cg_dataset_writer *wr);       // frees wr, leaves no file

typedef struct cg_dataset cg_dataset;
// Maps the file and checks magic, version, sizes, the names table and (verify != 0) the checksum.
cg_status cg_dataset_open(const char *path, int verify, cg_dataset **out);
void cg_dataset_close(cg_dataset *ds);
uint32_t cg_dataset_count(const cg_dataset *ds);
void cg_dataset_shape(const cg_dataset *ds, uint32_t *h, uint32_t *w, uint32_t *c);
const uint8_t *cg_dataset_image(const cg_dataset *ds, uint32_t i); // h*w*c bytes, HWC
const char *cg_dataset_name(const cg_dataset *ds, uint32_t i);
uint64_t cg_dataset_checksum(const cg_dataset *ds);

// ---------------------------------------------------------------------------------------------
// Pipeline (pipeline.c): list -> landmarks -> frontal -> decode -> sunglasses -> crop/resize -> write.

typedef enum {
    CG_PP_KEPT,           // written to the dataset
    CG_PP_PARTITION,      // not in the selected partition
    CG_PP_MISSING,        // listed, no file
    CG_PP_NO_LANDMARKS,   // the landmark filters need a landmark row
    CG_PP_NOT_FRONTAL,
    CG_PP_BROKEN,         // could not be decoded (see the issues)
    CG_PP_SUNGLASSES,
    CG_PP_BEYOND_LIMIT,   // after the first `limit` entries
    CG_PP_OUTCOMES
} cg_pp_outcome;

typedef struct {
    uint8_t outcome;
    cg_frontal_metrics fm;  // when the entry has landmarks
    float eye_left, eye_right, ref_mean; // grey means (0..255) when decoded, else NAN
    float sun_score;        // cg_sunglasses_score, NAN when not measured
} cg_pp_item;

typedef struct {
    const char *name;
    size_t kept, removed;
    char note[160];
} cg_pp_stage;

typedef struct {
    double total_s, list_s, decode_thread_s, device_s, write_s;
    size_t decoded;   // images decoded (including sheet-only ones)
} cg_pp_timing;

typedef struct {
    cg_celeba_set set;  // names, landmarks, attributes of every entry
    cg_pp_item *items;  // one per set entry
    cg_issue_list issues; // malformed rows (copied from the reader) and broken/missing images
    cg_pp_stage stages[8];
    int n_stages;
    size_t written;
    uint64_t checksum;  // of the written dataset
    char images_dir[1024], output[1024];
    char landmarks[1024], attributes[1024], partitions[1024]; // list files used ("" = none)
    int landmark_filters; // 0 when no landmarks were available (plain folder)
    char notes[8][CG_NOTE_LEN];
    int n_notes;
    // Contact sheets of rejects: up to sheet_max crops each (size x size x 3), in input order.
    uint8_t *sheet[2];    // 0: frontal, 1: sunglasses
    int sheet_n[2];
    cg_pp_timing timing;
} cg_pp_result;

// The folder and list files p names: explicit values win ("none" disables a list), else the
// standard CelebA names inside p->input when they exist; images default to <input>/img_align_celeba
// if that folder exists, else <input> itself (a plain folder of images).
void cg_pp_resolve_paths(const cg_pp_params *p, char images[1024], char landmarks[1024], char attributes[1024],
                         char partitions[1024]);
cg_status cg_preprocess_run(cg_runtime *rt, const cg_pp_params *p, FILE *progress, cg_pp_result **out);
void cg_pp_result_free(cg_pp_result *r);
const char *cg_pp_outcome_name(cg_pp_outcome o);

// ---------------------------------------------------------------------------------------------
// Reports (report.c).

void cg_pp_report_print(const cg_pp_result *r, FILE *f);  // the stage table and issue summary
// Writes the JSON report atomically to path.
cg_status cg_pp_report_write(const cg_pp_result *r, const cg_pp_params *p, const char *path);
// Default report path for p: p->report, else "<output stem>_report.json", else "preprocess_report.json".
void cg_pp_report_path(const cg_pp_params *p, char *buf, size_t len);
// Writes "<stem>_rejects_frontal.png" and "<stem>_rejects_sunglasses.png" where sheets have images;
// the paths written are listed in written[0..1] ("" when none).
cg_status cg_pp_write_sheets(const cg_pp_result *r, const cg_pp_params *p, char written[2][1024]);

// ---------------------------------------------------------------------------------------------
// Benchmark (bench.c): images/s of each stage and of the whole pipeline on the selected device.

typedef struct {
    size_t images;           // images timed (each stage sees the same images)
    double list_s;           // reading lists and the folder
    double filter_s;         // landmark geometry (frontal metrics, boxes) for all images
    double decode_s;         // host decoding on the pool, wall time
    int threads;
    double upload_s;         // host -> device copies of the packed batches
    double crop_resize_s;    // crop/resize kernel (after upload)
    double brightness_s;     // brightness kernels (after upload)
    double pipeline_s;       // cg_preprocess_run end to end (no output file)
    double decode_ips, filter_ips, upload_ips, crop_resize_ips, brightness_ips, pipeline_ips;
} cg_pp_bench;

// p: input and filter settings (output is ignored); max_images: cap (0: p->limit or all).
cg_status cg_preprocess_bench(cg_runtime *rt, const cg_pp_params *p, size_t max_images, cg_pp_bench *out);

#endif
