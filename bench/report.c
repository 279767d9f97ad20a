// report.c — benchmark results: rows, the header (host, load, BLAS, devices), and their JSON, CSV
// and markdown forms, written atomically; the markdown table is also what the screen shows.
#include "bench.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double bench_row_rate(const bench_row *r) {
    if (!(r->median_s > 0)) return 0;
    return r->work / r->median_s / (strcmp(r->unit, "GFLOP/s") ? 1.0 : 1e9);
}

double bench_row_ref_rate(const bench_row *r) {
    if (!r->ref_name[0] || !(r->ref_median_s > 0)) return 0;
    return r->work / r->ref_median_s / (strcmp(r->unit, "GFLOP/s") ? 1.0 : 1e9);
}

double bench_row_ratio(const bench_row *r) {
    double a = bench_row_rate(r), b = bench_row_ref_rate(r);
    return a > 0 && b > 0 ? a / b : 0;
}

double bench_row_ratio_min(const bench_row *r) {
    return r->ref_name[0] && r->min_s > 0 && r->ref_min_s > 0 ? r->ref_min_s / r->min_s : 0;
}

static void host_cpu(char *buf, size_t len) {
    char model[160] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && colon) {
            snprintf(model, sizeof model, "%s", colon + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
    if (f) fclose(f);
    snprintf(buf, len, "%s, %ld logical CPUs", model, sysconf(_SC_NPROCESSORS_ONLN));
}

void bench_report_init(bench_report *r, int argc, char **argv) {
    memset(r, 0, sizeof *r);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(r->started, sizeof r->started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    size_t used = 0;
    for (int i = 0; i < argc && used < sizeof r->command; i++)
        used += (size_t)snprintf(r->command + used, sizeof r->command - used, "%s%s", i ? " " : "", argv[i]);
    host_cpu(r->host, sizeof r->host);
    if (getloadavg(r->load_start, 3) != 3) r->load_start[0] = r->load_start[1] = r->load_start[2] = -1;
    bench_blas_describe(r->blas, sizeof r->blas);
}

bench_row *bench_report_add(bench_report *r) {
    if (r->n_rows == r->cap_rows) {
        int cap = r->cap_rows ? 2 * r->cap_rows : 64;
        bench_row *p = realloc(r->rows, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        r->rows = p;
        r->cap_rows = cap;
    }
    bench_row *row = &r->rows[r->n_rows++];
    memset(row, 0, sizeof *row);
    return row;
}

void bench_report_add_device(bench_report *r, cg_runtime *rt) {
    if (r->n_devices == BENCH_MAX_DEVICES) return;
    bench_device *d = &r->devices[r->n_devices++];
    d->info = *cg_runtime_device(rt);
    cg_gemm_describe(rt, d->gemm_rule, sizeof d->gemm_rule);
}

void bench_report_finish(bench_report *r) {
    if (getloadavg(r->load_end, 3) != 3) r->load_end[0] = r->load_end[1] = r->load_end[2] = -1;
}

cg_status bench_report_add_profile(bench_report *r, const char *suite, const char *name, const cg_kernel_profile *p) {
    bench_profile *n = realloc(r->profiles, (size_t)(r->n_profiles + 1) * sizeof *n);
    if (!n) return cg_fail(CG_ERR_NOMEM, "out of host memory");
    r->profiles = n;
    bench_profile *b = &n[r->n_profiles];
    memset(b, 0, sizeof *b);
    snprintf(b->suite, sizeof b->suite, "%s", suite);
    snprintf(b->name, sizeof b->name, "%s", name);
    snprintf(b->device, sizeof b->device, "%s", p->device);
    b->markdown = cg_kernel_profile_markdown(p, 40);
    b->json = cg_kernel_profile_json(p);
    if (!b->markdown || !b->json) {
        free(b->markdown);
        free(b->json);
        return cg_fail(CG_ERR_NOMEM, "out of host memory");
    }
    r->n_profiles++;
    return CG_OK;
}

void bench_report_free(bench_report *r) {
    for (int i = 0; i < r->n_profiles; i++) {
        free(r->profiles[i].markdown);
        free(r->profiles[i].json);
    }
    free(r->profiles);
    r->profiles = NULL;
    r->n_profiles = 0;
    free(r->rows);
    r->rows = NULL;
    r->n_rows = r->cap_rows = 0;
}

// ---- JSON ------------------------------------------------------------------------------------

static cJSON *load_json(const double l[3]) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < 3; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(l[i]));
    return a;
}

static cJSON *device_json(const bench_device *d) {
    const cg_device_info *i = &d->info;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", i->index);
    cJSON_AddStringToObject(o, "name", i->name);
    cJSON_AddStringToObject(o, "vendor", i->vendor);
    cJSON_AddStringToObject(o, "platform", i->platform_name);
    cJSON_AddStringToObject(o, "platform_version", i->platform_version);
    cJSON_AddStringToObject(o, "driver", i->driver);
    cJSON_AddStringToObject(o, "opencl_c", i->opencl_c);
    cJSON_AddStringToObject(o, "type", cg_device_type_name(i->type));
    cJSON_AddNumberToObject(o, "compute_units", i->compute_units);
    cJSON_AddNumberToObject(o, "clock_mhz", i->clock_mhz);
    cJSON_AddNumberToObject(o, "global_mem_bytes", (double)i->global_mem);
    cJSON_AddNumberToObject(o, "max_work_group", (double)i->max_work_group);
    cJSON_AddStringToObject(o, "gemm", d->gemm_rule);
    return o;
}

static cJSON *row_json(const bench_row *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "suite", r->suite);
    cJSON_AddStringToObject(o, "case", r->name);
    cJSON_AddStringToObject(o, "shape", r->shape);
    cJSON_AddStringToObject(o, "device", r->device);
    cJSON_AddNumberToObject(o, "device_index", r->device_index);
    cJSON_AddStringToObject(o, "impl", r->impl);
    cJSON_AddStringToObject(o, "status", r->status);
    cJSON_AddBoolToObject(o, "checked", r->checked);
    cJSON_AddNumberToObject(o, "check_err", r->check_err);
    cJSON_AddNumberToObject(o, "reps", r->reps);
    cJSON_AddNumberToObject(o, "median_s", r->median_s);
    cJSON_AddNumberToObject(o, "min_s", r->min_s);
    cJSON_AddNumberToObject(o, "max_s", r->max_s);
    cJSON_AddNumberToObject(o, "work", r->work);
    cJSON_AddStringToObject(o, "unit", r->unit);
    cJSON_AddNumberToObject(o, "rate", bench_row_rate(r));
    if (r->ref_name[0]) {
        cJSON *ref = cJSON_AddObjectToObject(o, "reference");
        cJSON_AddStringToObject(ref, "name", r->ref_name);
        cJSON_AddNumberToObject(ref, "median_s", r->ref_median_s);
        cJSON_AddNumberToObject(ref, "min_s", r->ref_min_s);
        cJSON_AddNumberToObject(ref, "max_s", r->ref_max_s);
        cJSON_AddNumberToObject(ref, "check_err", r->ref_err);
        cJSON_AddNumberToObject(ref, "rate", bench_row_ref_rate(r));
        cJSON_AddNumberToObject(o, "ratio", bench_row_ratio(r));
        cJSON_AddNumberToObject(o, "ratio_min", bench_row_ratio_min(r));
    }
    if (r->ref_skip[0]) cJSON_AddStringToObject(o, "reference_skipped", r->ref_skip);
    return o;
}

char *bench_report_json(const bench_report *r) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "clgan_version", CLGAN_VERSION);
    cJSON_AddStringToObject(root, "started", r->started);
    cJSON_AddStringToObject(root, "command", r->command);
    cJSON *host = cJSON_AddObjectToObject(root, "host");
    cJSON_AddStringToObject(host, "cpu", r->host);
    cJSON_AddItemToObject(host, "load_start", load_json(r->load_start));
    cJSON_AddItemToObject(host, "load_end", load_json(r->load_end));
    cJSON_AddStringToObject(host, "blas", r->blas);
    cJSON_AddBoolToObject(root, "quick", r->quick);
    cJSON_AddNumberToObject(root, "reps", r->reps);
    cJSON *devs = cJSON_AddArrayToObject(root, "devices");
    for (int i = 0; i < r->n_devices; i++) cJSON_AddItemToArray(devs, device_json(&r->devices[i]));
    cJSON *rows = cJSON_AddArrayToObject(root, "rows");
    for (int i = 0; i < r->n_rows; i++) cJSON_AddItemToArray(rows, row_json(&r->rows[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

// ---- CSV -------------------------------------------------------------------------------------

static void csv_field(FILE *f, const char *s, int last) {
    if (strpbrk(s, ",\"\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

char *bench_report_csv(const bench_report *r) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    fprintf(f, "suite,case,shape,device,device_index,impl,status,checked,check_err,reps,median_s,min_s,max_s,work,"
               "unit,rate,reference,ref_median_s,ref_min_s,ref_max_s,ref_rate,ratio,ratio_min\n");
    for (int i = 0; i < r->n_rows; i++) {
        const bench_row *w = &r->rows[i];
        csv_field(f, w->suite, 0);
        csv_field(f, w->name, 0);
        csv_field(f, w->shape, 0);
        csv_field(f, w->device, 0);
        fprintf(f, "%d,", w->device_index);
        csv_field(f, w->impl, 0);
        csv_field(f, w->status, 0);
        fprintf(f, "%d,%.3g,%d,%.6g,%.6g,%.6g,%.6g,", w->checked, w->check_err, w->reps, w->median_s, w->min_s,
                w->max_s, w->work);
        csv_field(f, w->unit, 0);
        fprintf(f, "%.4g,", bench_row_rate(w));
        csv_field(f, w->ref_name[0] ? w->ref_name : w->ref_skip, 0);
        fprintf(f, "%.6g,%.6g,%.6g,%.4g,%.4g,%.4g\n", w->ref_median_s, w->ref_min_s, w->ref_max_s,
                bench_row_ref_rate(w), bench_row_ratio(w), bench_row_ratio_min(w));
    }
    fclose(f);
    return text;
}

// ---- markdown --------------------------------------------------------------------------------

static void md_table(const bench_report *r, FILE *f) {
    fprintf(f, "| suite | case | shape | device | impl | check | median ms | min ms | max ms | rate | "
               "reference (OpenBLAS, PyTorch, pytorch-fid, PIL) | ratio | ratio of mins | status |\n");
    fprintf(f, "|---|---|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for (int i = 0; i < r->n_rows; i++) {
        const bench_row *w = &r->rows[i];
        char check[32] = "-", rate[48] = "-", ref[64] = "-", ratio[16] = "-", ratio_min[16] = "-", dev[16] = "-";
        if (w->checked) snprintf(check, sizeof check, "%.1e", w->check_err);
        if (w->median_s > 0) snprintf(rate, sizeof rate, "%.1f %s", bench_row_rate(w), w->unit);
        if (bench_row_ref_rate(w) > 0) snprintf(ref, sizeof ref, "%.1f (%s)", bench_row_ref_rate(w), w->ref_name);
        else if (w->ref_skip[0]) snprintf(ref, sizeof ref, "skipped");
        if (bench_row_ratio(w) > 0) snprintf(ratio, sizeof ratio, "%.2f", bench_row_ratio(w));
        if (bench_row_ratio_min(w) > 0) snprintf(ratio_min, sizeof ratio_min, "%.2f", bench_row_ratio_min(w));
        if (w->device_index >= 0) snprintf(dev, sizeof dev, "%d", w->device_index);
        char med[24] = "-", lo[24] = "-", hi[24] = "-";
        if (w->median_s > 0) {
            snprintf(med, sizeof med, "%.3f", w->median_s * 1e3);
            snprintf(lo, sizeof lo, "%.3f", w->min_s * 1e3);
            snprintf(hi, sizeof hi, "%.3f", w->max_s * 1e3);
        }
        char status[sizeof w->status + sizeof w->ref_skip + 4];
        snprintf(status, sizeof status, "%s%s%s", w->status, w->ref_skip[0] ? "; " : "", w->ref_skip);
        for (char *c = status; *c; c++)
            if (*c == '|' || *c == '\n') *c = '/'; // would break the table
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w->suite, w->name,
                w->shape, dev, w->impl[0] ? w->impl : "-", check, med, lo, hi, rate, ref, ratio, ratio_min, status);
    }
}

static void md_write(const bench_report *r, FILE *f) {
    fprintf(f, "# clgan bench\n\n");
    fprintf(f, "- started: %s, clgan %s%s\n", r->started, CLGAN_VERSION, r->quick ? " (quick shapes)" : "");
    fprintf(f, "- command: `%s`\n", r->command);
    fprintf(f, "- host: %s; load average at start %.2f %.2f %.2f, at end %.2f %.2f %.2f\n", r->host, r->load_start[0],
            r->load_start[1], r->load_start[2], r->load_end[0], r->load_end[1], r->load_end[2]);
    fprintf(f, "- host reference: %s\n", r->blas);
    fprintf(f, "- timing: %d timed runs per case after a checked run and warm-up; median, min, max of wall time\n",
            r->reps);
    for (int i = 0; i < r->n_devices; i++) {
        const cg_device_info *d = &r->devices[i].info;
        fprintf(f, "- device %d: %s (%s; %s; driver %s; %s; %s, %u compute units, %u MHz, %.1f GiB)\n  GEMM: %s\n",
                d->index, d->name, d->vendor, d->platform_name, d->driver, d->opencl_c, cg_device_type_name(d->type),
                d->compute_units, d->clock_mhz, (double)d->global_mem / (1024.0 * 1024.0 * 1024.0),
                r->devices[i].gemm_rule);
    }
    fprintf(f, "\n");
    md_table(r, f);
}

char *bench_report_markdown(const bench_report *r) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    md_write(r, f);
    fclose(f);
    return text;
}

void bench_report_print(const bench_report *r, FILE *out) { md_write(r, out); }

// The profiles as one markdown text (a section per case) or one JSON array.
static char *profiles_text(const bench_report *r, int json) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    if (json) fprintf(f, "[");
    for (int i = 0; i < r->n_profiles; i++) {
        const bench_profile *p = &r->profiles[i];
        if (json)
            fprintf(f, "%s{\"suite\": \"%s\", \"case\": \"%s\", \"profile\": %s}", i ? ",\n" : "", p->suite, p->name,
                    p->json);
        else
            fprintf(f, "%s### Profile: %s %s\n\n%s", i ? "\n" : "", p->suite, p->name, p->markdown);
    }
    if (json) fprintf(f, "]\n");
    fclose(f);
    return text;
}

void bench_report_print_profiles(const bench_report *r, FILE *out) {
    char *text = profiles_text(r, 0);
    if (text) fputs(text, out);
    free(text);
}

cg_status bench_report_write(const bench_report *r, const char *dir) {
    CG_TRY(cg_mkdir_p(dir));
    CG_TRY(cg_write_text_atomic(dir, "bench.json", bench_report_json(r)));
    CG_TRY(cg_write_text_atomic(dir, "bench.csv", bench_report_csv(r)));
    if (r->n_profiles) {
        CG_TRY(cg_write_text_atomic(dir, "profile.json", profiles_text(r, 1)));
        CG_TRY(cg_write_text_atomic(dir, "profile.md", profiles_text(r, 0)));
    }
    return cg_write_text_atomic(dir, "bench.md", bench_report_markdown(r));
}
