// report.c — what a preprocessing run tells its user: the stage table on screen, the JSON report
// (written atomically: parameters, inputs, counts per stage, every problem by name, attribute
// shares among each filter's rejects, timings, outputs), and PNG contact sheets of the rejects.
#include "report.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

static const char *fmt_count(size_t v, char *buf, size_t len) {
    char raw[32];
    snprintf(raw, sizeof raw, "%zu", v);
    size_t n = strlen(raw), o = 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = 0;
    return buf;
}

// Attribute counts among the entries with a given outcome.
typedef struct {
    size_t n, annotated, eyeglasses, sunglasses;
} attr_counts;

static attr_counts count_attrs(const cg_pp_result *r, cg_pp_outcome o) {
    attr_counts c = {0};
    int eg = cg_celeba_attr_index(&r->set, "Eyeglasses"), sg = cg_celeba_attr_index(&r->set, "Sunglasses");
    for (size_t i = 0; i < r->set.n; i++) {
        if (r->items[i].outcome != o) continue;
        c.n++;
        const cg_celeba_entry *e = &r->set.entries[i];
        if (e->attr_row < 0) continue;
        c.annotated++;
        c.eyeglasses += cg_celeba_attr(&r->set, e, eg) > 0;
        c.sunglasses += cg_celeba_attr(&r->set, e, sg) > 0;
    }
    return c;
}

// Length of the valid UTF-8 sequence at s (0: not one).
static int utf8_len(const unsigned char *s) {
    int n = s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    for (int k = 1; k < n; k++)
        if ((s[k] & 0xC0) != 0x80) return 0;
    return n;
}

// File names are bytes: control bytes and bytes that are not UTF-8 become "\xNN", so neither the
// JSON report (which must be UTF-8) nor the terminal gets them raw. Returns out.
static const char *safe_text(const char *in, char *out, size_t len) {
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)(in ? in : ""); *c && o + 5 < len;) {
        int n = *c >= 0x80 ? utf8_len(c) : (*c < 0x20 || *c == 0x7f) ? 0 : 1;
        if (n == 0 || o + (size_t)n >= len) {
            o += (size_t)snprintf(out + o, len - o, "\\x%02x", *c++);
            continue;
        }
        memcpy(out + o, c, (size_t)n);
        o += (size_t)n, c += n;
    }
    out[o] = 0;
    return out;
}

static void add_safe(cJSON *o, const char *key, const char *value) {
    char buf[4 * 4096 + 8];
    cJSON_AddStringToObject(o, key, safe_text(value, buf, sizeof buf));
}

static const cg_pp_stage *find_stage(const cg_pp_result *r, const char *name) {
    for (int i = 0; i < r->n_stages; i++)
        if (!strcmp(r->stages[i].name, name)) return &r->stages[i];
    return NULL;
}

// "listed 202,599 -> frontal 126,113 -> sunglasses 122,965": the first stage and every stage that
// removed something.
static void chain(const cg_pp_result *r, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < r->n_stages && o + 1 < len; i++) {
        if (i > 0 && r->stages[i].removed == 0) continue;
        char num[32];
        o += (size_t)snprintf(buf + o, len - o, "%s%s %s", o ? " -> " : "", r->stages[i].name,
                              fmt_count(r->stages[i].kept, num, sizeof num));
    }
}

void cg_pp_report_print(const cg_pp_result *r, FILE *f) {
    char a[32], b[32], line[1024];
    fprintf(f, "\n%-12s %12s %12s  %s\n", "stage", "kept", "removed", "");
    for (int i = 0; i < r->n_stages; i++) {
        const cg_pp_stage *s = &r->stages[i];
        fprintf(f, "%-12s %12s %12s  %s\n", s->name, fmt_count(s->kept, a, sizeof a),
                i ? fmt_count(s->removed, b, sizeof b) : "", s->note);
    }
    chain(r, line, sizeof line);
    fprintf(f, "\n%s\n", line);
    const cg_pp_stage *fr = find_stage(r, "frontal");
    if (fr && fr->kept + fr->removed)
        fprintf(f, "frontal filter kept %.1f %% of the images with landmarks\n",
                100.0 * (double)fr->kept / (double)(fr->kept + fr->removed));
    for (int o = 0; o < 2; o++) {
        cg_pp_outcome oc = o ? CG_PP_SUNGLASSES : CG_PP_NOT_FRONTAL;
        attr_counts c = count_attrs(r, oc);
        if (!c.annotated || cg_celeba_attr_index(&r->set, "Eyeglasses") < 0) continue;
        fprintf(f, "%s rejects with Eyeglasses = 1: %zu of %zu annotated (%.1f %%)\n", o ? "sunglasses" : "frontal",
                c.eyeglasses, c.annotated, 100.0 * (double)c.eyeglasses / (double)c.annotated);
        if (o && cg_celeba_attr_index(&r->set, "Sunglasses") >= 0) {
            attr_counts k = count_attrs(r, CG_PP_KEPT);
            fprintf(f, "sunglasses rejects with Sunglasses = 1: %zu of %zu; kept with Sunglasses = 1: %zu of %zu\n",
                    c.sunglasses, c.annotated, k.sunglasses, k.annotated);
        }
    }
    if (r->issues.n) {
        fprintf(f, "problems (skipped, named in the report):");
        for (int k = 0; k < CG_ISSUE_KINDS; k++)
            if (r->issues.counts[k]) fprintf(f, " %s %zu", cg_issue_kind_name((cg_issue_kind)k), r->issues.counts[k]);
        fprintf(f, "\n");
        for (size_t i = 0; i < r->issues.n && i < 10; i++) {
            char name[4096], detail[4096];
            fprintf(f, "  %-10s %s: %s\n", cg_issue_kind_name(r->issues.items[i].kind),
                    safe_text(r->issues.items[i].name, name, sizeof name),
                    safe_text(r->issues.items[i].detail, detail, sizeof detail));
        }
        if (r->issues.n > 10) fprintf(f, "  ... %zu more\n", r->issues.n - 10);
    }
    for (int i = 0; i < r->n_notes; i++) fprintf(f, "note: %s\n", r->notes[i]);
}

static cJSON *params_json(const cg_pp_params *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "size", p->size);
    cJSON_AddBoolToObject(o, "frontal", p->frontal);
    cJSON_AddNumberToObject(o, "eye_dy_max", p->eye_dy_max);
    cJSON_AddNumberToObject(o, "nose_dx_max", p->nose_dx_max);
    cJSON_AddNumberToObject(o, "mouth_dy_max", p->mouth_dy_max);
    cJSON_AddBoolToObject(o, "sunglasses", p->sunglasses);
    cJSON_AddNumberToObject(o, "eye_box", p->eye_box);
    cJSON_AddNumberToObject(o, "sunglasses_ratio_max", p->sunglasses_ratio_max);
    cJSON_AddNumberToObject(o, "sunglasses_grey_max", p->sunglasses_grey_max);
    add_safe(o, "sunglasses_reference", p->sunglasses_reference);
    cJSON_AddBoolToObject(o, "zoom", p->zoom);
    cJSON_AddNumberToObject(o, "zoom_factor", p->zoom_factor);
    cJSON_AddStringToObject(o, "partition", p->partition);
    cJSON_AddNumberToObject(o, "limit", (double)p->limit);
    cJSON_AddNumberToObject(o, "batch", p->batch);
    cJSON_AddNumberToObject(o, "threads", p->threads);
    cJSON_AddNumberToObject(o, "max_side", p->max_side);
    return o;
}

static cJSON *attrs_json(const cg_pp_result *r, cg_pp_outcome o) {
    attr_counts c = count_attrs(r, o);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "count", (double)c.n);
    cJSON_AddNumberToObject(j, "annotated", (double)c.annotated);
    if (cg_celeba_attr_index(&r->set, "Eyeglasses") >= 0) {
        cJSON_AddNumberToObject(j, "eyeglasses", (double)c.eyeglasses);
        cJSON_AddNumberToObject(j, "eyeglasses_share", c.annotated ? (double)c.eyeglasses / (double)c.annotated : 0);
    }
    if (cg_celeba_attr_index(&r->set, "Sunglasses") >= 0) {
        cJSON_AddNumberToObject(j, "sunglasses_attr", (double)c.sunglasses);
        cJSON_AddNumberToObject(j, "sunglasses_attr_share",
                                c.annotated ? (double)c.sunglasses / (double)c.annotated : 0);
    }
    return j;
}

static cJSON *issues_json(const cg_issue_list *l) {
    cJSON *o = cJSON_CreateObject(), *counts = cJSON_CreateObject(), *items = cJSON_CreateArray();
    for (int k = 0; k < CG_ISSUE_KINDS; k++)
        cJSON_AddNumberToObject(counts, cg_issue_kind_name((cg_issue_kind)k), (double)l->counts[k]);
    for (size_t i = 0; i < l->n; i++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "kind", cg_issue_kind_name(l->items[i].kind));
        add_safe(it, "name", l->items[i].name);
        add_safe(it, "detail", l->items[i].detail);
        cJSON_AddItemToArray(items, it);
    }
    cJSON_AddNumberToObject(o, "total", (double)l->n);
    cJSON_AddItemToObject(o, "counts", counts);
    cJSON_AddItemToObject(o, "items", items);
    return o;
}

static cJSON *timing_json(const cg_pp_result *r) {
    const cg_pp_timing *t = &r->timing;
    cJSON *o = cJSON_CreateObject();
    size_t listed = r->n_stages ? r->stages[0].kept : 0;
    cJSON_AddNumberToObject(o, "total_s", t->total_s);
    cJSON_AddNumberToObject(o, "lists_s", t->list_s);
    cJSON_AddNumberToObject(o, "decode_thread_s", t->decode_thread_s);
    cJSON_AddNumberToObject(o, "device_s", t->device_s);
    cJSON_AddNumberToObject(o, "write_s", t->write_s);
    cJSON_AddNumberToObject(o, "decoded", (double)t->decoded);
    cJSON_AddNumberToObject(o, "listed_per_s", t->total_s > 0 ? (double)listed / t->total_s : 0);
    cJSON_AddNumberToObject(o, "decoded_per_s", t->total_s > 0 ? (double)t->decoded / t->total_s : 0);
    return o;
}

cg_status cg_pp_report_write(const cg_pp_result *r, const cg_pp_params *p, const char *path) {
    cJSON *root = cJSON_CreateObject(), *in = cJSON_CreateObject(), *stages = cJSON_CreateArray();
    cJSON *out = cJSON_CreateObject(), *filters = cJSON_CreateObject(), *notes = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "clgan", CLGAN_VERSION);
    add_safe(in, "images", r->images_dir);
    add_safe(in, "landmarks", r->landmarks);
    add_safe(in, "attributes", r->attributes);
    add_safe(in, "partitions", r->partitions);
    cJSON_AddNumberToObject(in, "folder_files", (double)r->set.folder_files);
    cJSON_AddNumberToObject(in, "landmark_rows", (double)r->set.landmark_rows);
    cJSON_AddNumberToObject(in, "attribute_rows", (double)r->set.attr_rows);
    cJSON_AddNumberToObject(in, "partition_rows", (double)r->set.partition_rows);
    cJSON_AddBoolToObject(in, "landmark_filters", r->landmark_filters);
    cJSON_AddItemToObject(root, "input", in);
    cJSON_AddItemToObject(root, "parameters", params_json(p));
    for (int i = 0; i < r->n_stages; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "stage", r->stages[i].name);
        cJSON_AddNumberToObject(s, "kept", (double)r->stages[i].kept);
        cJSON_AddNumberToObject(s, "removed", (double)r->stages[i].removed);
        cJSON_AddStringToObject(s, "note", r->stages[i].note);
        cJSON_AddItemToArray(stages, s);
    }
    cJSON_AddItemToObject(root, "stages", stages);
    char line[1024];
    chain(r, line, sizeof line);
    cJSON_AddStringToObject(root, "counts", line);
    const cg_pp_stage *fr = find_stage(r, "frontal");
    if (fr && fr->kept + fr->removed)
        cJSON_AddNumberToObject(filters, "frontal_keep_fraction", (double)fr->kept / (double)(fr->kept + fr->removed));
    cJSON_AddItemToObject(filters, "frontal_rejects", attrs_json(r, CG_PP_NOT_FRONTAL));
    cJSON_AddItemToObject(filters, "sunglasses_rejects", attrs_json(r, CG_PP_SUNGLASSES));
    cJSON_AddItemToObject(filters, "kept", attrs_json(r, CG_PP_KEPT));
    cJSON_AddItemToObject(root, "filters", filters);
    cJSON_AddItemToObject(root, "problems", issues_json(&r->issues));
    for (int i = 0; i < r->n_notes; i++) cJSON_AddItemToArray(notes, cJSON_CreateString(r->notes[i]));
    cJSON_AddItemToObject(root, "notes", notes);
    cJSON_AddItemToObject(root, "timing", timing_json(r));
    char hex[20];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r->checksum);
    add_safe(out, "dataset", r->output);
    cJSON_AddNumberToObject(out, "images", (double)r->written);
    cJSON_AddStringToObject(out, "checksum_fnv1a64", r->output[0] ? hex : "");
    cJSON_AddItemToObject(root, "output", out);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return cg_fail(CG_ERR_NOMEM, "out of host memory writing the report");
    size_t len = strlen(text);
    text[len] = '\n'; // replaces the NUL; the length below excludes nothing else
    cg_status st = cg_write_file_atomic(path, text, len + 1);
    free(text);
    return st;
}

// "<output without extension>" or "preprocess" when there is no output.
static void stem(const cg_pp_params *p, char *buf, size_t len) {
    snprintf(buf, len, "%s", p->output && *p->output ? p->output : "preprocess");
    char *slash = strrchr(buf, '/'), *dot = strrchr(buf, '.');
    if (dot && (!slash || dot > slash + 1)) *dot = 0;
}

void cg_pp_report_path(const cg_pp_params *p, char *buf, size_t len) {
    if (p->report && *p->report) {
        snprintf(buf, len, "%s", p->report);
        return;
    }
    char s[1024];
    stem(p, s, sizeof s);
    snprintf(buf, len, "%s_report.json", s);
}

// A grid of n tiles (size x size RGB), 8 per row, 2-pixel dark gaps; written atomically.
static cg_status write_sheet(const char *path, const uint8_t *tiles, int n, int size) {
    const int cols = n < 8 ? n : 8, rows = (n + 7) / 8, gap = 2;
    int W = cols * (size + gap) + gap, H = rows * (size + gap) + gap;
    uint8_t *img = malloc((size_t)W * (size_t)H * 3);
    if (!img) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    memset(img, 32, (size_t)W * (size_t)H * 3);
    for (int t = 0; t < n; t++) {
        int x0 = gap + (t % 8) * (size + gap), y0 = gap + (t / 8) * (size + gap);
        for (int y = 0; y < size; y++)
            memcpy(img + ((size_t)(y0 + y) * (size_t)W + (size_t)x0) * 3,
                   tiles + ((size_t)t * (size_t)size + (size_t)y) * (size_t)size * 3, (size_t)size * 3);
    }
    cg_status st = cg_png_write(path, img, W, H, 3);
    free(img);
    return st;
}

cg_status cg_pp_write_sheets(const cg_pp_result *r, const cg_pp_params *p, char written[2][1024]) {
    static const char *const what[2] = {"frontal", "sunglasses"};
    char s[1024];
    stem(p, s, sizeof s);
    for (int i = 0; i < 2; i++) {
        written[i][0] = 0;
        if (!r->sheet[i] || r->sheet_n[i] == 0) continue;
        snprintf(written[i], 1024, "%s_rejects_%s.png", s, what[i]);
        CG_TRY(write_sheet(written[i], r->sheet[i], r->sheet_n[i], p->size));
    }
    return CG_OK;
}
