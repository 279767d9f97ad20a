// image_source.c — sources of images for scoring: a folder of image files (decoded to RGB by
// preprocess's cg_image_load, at most 8192 pixels a side; sorted by name; regular files only), a
// packed dataset (preprocess.h's memory-mapped reader, checksum verified), and a caller's callback
// (the hook a generator plugs into).
#include "inception.h"
#include "../preprocess/preprocess.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

// ---- folder ---------------------------------------------------------------------------------

typedef struct {
    char *dir;
    char **names;
    int64_t count;
    uint8_t *pixels; // the image handed out last (cg_image_load's allocation)
} folder_state;

#define CG_SOURCE_MAX_SIDE 8192 // pixels per side, as preprocess's default max_side

static int is_image_name(const char *name) {
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".ppm", ".pgm"};
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.') return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static cg_status folder_get(cg_image_source *s, int64_t i, cg_image *img, const char **name) {
    folder_state *f = s->state;
    if (i < 0 || i >= f->count) return cg_fail(CG_ERR_INVALID_ARG, "%s: image %lld of %lld", f->dir, (long long)i,
                                                (long long)f->count);
    free(f->pixels);
    f->pixels = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", f->dir, f->names[i]);
    // preprocess's loader: sides checked from the header before any allocation, stb_image's known
    // faults refused, truncated and unreadable files named.
    cg_decoded d;
    cg_image_load(path, CG_SOURCE_MAX_SIDE, &d);
    if (!d.ok) return cg_fail(CG_ERR_FORMAT, "cannot decode image '%s': %s", path, d.detail);
    f->pixels = d.pixels;
    *img = (cg_image){d.h, d.w, 3, f->pixels, NULL};
    if (name) *name = f->names[i];
    return CG_OK;
}

static void folder_close(cg_image_source *s) {
    folder_state *f = s->state;
    if (f) {
        free(f->pixels);
        for (int64_t i = 0; i < f->count; i++) free(f->names[i]);
        free(f->names);
        free(f->dir);
        free(f);
    }
    free(s);
}

cg_status cg_source_folder(const char *dir, cg_image_source **out) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return cg_fail(CG_ERR_NOT_FOUND, "cannot open image folder '%s'", dir);
    cg_image_source *s = calloc(1, sizeof *s);
    folder_state *f = calloc(1, sizeof *f);
    cg_status st = s && f ? CG_OK : cg_fail(CG_ERR_NOMEM, "out of host memory");
    if (s) s->state = f, s->get = folder_get, s->close = folder_close;
    if (f) f->dir = strdup(dir);
    int64_t cap = 0;
    for (struct dirent *e; st == CG_OK && (e = readdir(d));) {
        if (!is_image_name(e->d_name)) continue;
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) { // a FIFO would block the decoder
            char shown[1024];
            size_t k = 0;
            for (const unsigned char *c = (const unsigned char *)path; *c && k + 5 < sizeof shown; c++)
                k += (size_t)(*c < 0x20 || *c == 0x7f ? snprintf(shown + k, 5, "\\x%02x", *c)
                                                      : snprintf(shown + k, 2, "%c", *c));
            fprintf(stderr, "warning: skipping '%s': %s\n", shown,
                    stat(path, &sb) != 0 ? "a dangling link or unreadable" : S_ISDIR(sb.st_mode) ? "a folder"
                                                                                       : "not a regular file");
            continue;
        }
        if (f->count == cap) {
            cap = cap ? 2 * cap : 256;
            char **nn = realloc(f->names, (size_t)cap * sizeof *nn);
            if (!nn) {
                st = cg_fail(CG_ERR_NOMEM, "out of host memory");
                break;
            }
            f->names = nn;
        }
        if (!(f->names[f->count] = strdup(e->d_name))) st = cg_fail(CG_ERR_NOMEM, "out of host memory");
        else f->count++;
    }
    closedir(d);
    if (st == CG_OK && f->count == 0)
        st = cg_fail(CG_ERR_NOT_FOUND, "no images (png, jpg, bmp, tga, ppm) in '%s'", dir);
    if (st != CG_OK) {
        if (s) folder_close(s);
        else free(f);
        return st;
    }
    qsort(f->names, (size_t)f->count, sizeof *f->names, cmp_names);
    s->count = f->count;
    *out = s;
    return CG_OK;
}

// ---- packed dataset -------------------------------------------------------------------------

static cg_status dataset_get(cg_image_source *s, int64_t i, cg_image *img, const char **name) {
    cg_dataset *ds = s->state;
    if (i < 0 || i >= s->count) return cg_fail(CG_ERR_INVALID_ARG, "dataset image %lld of %lld", (long long)i,
                                                (long long)s->count);
    uint32_t h, w, c;
    cg_dataset_shape(ds, &h, &w, &c);
    *img = (cg_image){(int)h, (int)w, (int)c, cg_dataset_image(ds, (uint32_t)i), NULL};
    if (name) *name = cg_dataset_name(ds, (uint32_t)i);
    return CG_OK;
}

static void dataset_close(cg_image_source *s) {
    cg_dataset_close(s->state);
    free(s);
}

cg_status cg_source_dataset(const char *path, cg_image_source **out) {
    *out = NULL;
    cg_dataset *ds = NULL;
    CG_TRY(cg_dataset_open(path, 1, &ds)); // verified, as the trainer does
    cg_image_source *s = calloc(1, sizeof *s);
    if (!s) {
        cg_dataset_close(ds);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    s->state = ds, s->get = dataset_get, s->close = dataset_close, s->count = cg_dataset_count(ds);
    *out = s;
    return CG_OK;
}

cg_status cg_source_open(const char *path, cg_image_source **out) {
    struct stat sb;
    if (stat(path, &sb) != 0) return cg_fail(CG_ERR_NOT_FOUND, "'%s' does not exist (expected an image folder or a "
                                                               "packed dataset)", path);
    if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
        return cg_fail(CG_ERR_IO, "'%s' is neither an image folder nor a packed dataset file", path);
    return S_ISDIR(sb.st_mode) ? cg_source_folder(path, out) : cg_source_dataset(path, out);
}

// ---- callback -------------------------------------------------------------------------------

typedef struct {
    cg_status (*fill)(void *user, int64_t i, cg_image *img);
    void (*close_user)(void *user);
    void *user;
} callback_state;

static cg_status callback_get(cg_image_source *s, int64_t i, cg_image *img, const char **name) {
    callback_state *c = s->state;
    if (name) *name = NULL;
    return c->fill(c->user, i, img);
}

static void callback_close(cg_image_source *s) {
    callback_state *c = s->state;
    if (c && c->close_user) c->close_user(c->user);
    free(c);
    free(s);
}

cg_status cg_source_callback(int64_t count, cg_status (*fill)(void *user, int64_t i, cg_image *img), void *user,
                             void (*close_user)(void *user), cg_image_source **out) {
    *out = NULL;
    cg_image_source *s = calloc(1, sizeof *s);
    callback_state *c = calloc(1, sizeof *c);
    if (!s || !c) {
        free(s);
        free(c);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    c->fill = fill, c->close_user = close_user, c->user = user;
    s->state = c, s->get = callback_get, s->close = callback_close, s->count = count;
    *out = s;
    return CG_OK;
}
