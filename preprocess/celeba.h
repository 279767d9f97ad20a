// celeba.h — CelebA's five landmarks and the readers of a CelebA-layout folder and its list files
// (celeba_reader.c).
#ifndef CLGAN_CELEBA_H
#define CLGAN_CELEBA_H

#include "issues.h"
#include <stddef.h>
#include <stdint.h>

// Landmarks: CelebA's five points, in the order of list_landmarks_align_celeba.txt. "Left" is
// image-left (lefteye_x < righteye_x). Official coordinates refer to the 178x218 aligned image.

enum { CG_LM_LEFT_EYE, CG_LM_RIGHT_EYE, CG_LM_NOSE, CG_LM_LEFT_MOUTH, CG_LM_RIGHT_MOUTH, CG_LM_POINTS };
#define CG_LM_REF_W 178
#define CG_LM_REF_H 218

typedef struct {
    float x[CG_LM_POINTS], y[CG_LM_POINTS];
} cg_landmarks;

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

#endif
