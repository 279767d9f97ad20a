// base.h — what every part of clgan uses and no part needs OpenCL for: status codes and error
// details, configuration (INI files and --set), the monotonic clock, progress lines, atomic files and
// hashing. runtime.h includes it; code that launches nothing can include it alone.
#ifndef CLGAN_BASE_H
#define CLGAN_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef CLGAN_VERSION
#define CLGAN_VERSION "0.0.0-dev"
#endif

// ---------------------------------------------------------------------------------------------
// Status. 0 is success; negative OpenCL codes pass through unchanged; project codes are -9001 and
// below (clear of the -1000..-1100 range that OpenCL extensions and the ICD loader use).
// Every failing call also leaves a human-readable detail in cg_last_error() (thread-local).

typedef int cg_status;

enum {
    CG_OK = 0,
    CG_ERR_INVALID_ARG = -9001, // a caller passed a value the function cannot accept
    CG_ERR_NOT_FOUND = -9002,   // a device, file, key or kernel that does not exist
    CG_ERR_IO = -9003,          // reading or writing a file failed
    CG_ERR_CONFIG = -9004,      // a configuration value is malformed or out of range
    CG_ERR_BUILD = -9005,       // an OpenCL program failed to compile (log in cg_last_error)
    CG_ERR_NO_DEVICE = -9006,   // no OpenCL platform or device is available
    CG_ERR_CLBLAST = -9007,     // CLBlast returned an error code of its own
    CG_ERR_NOMEM = -9008,       // host allocation failed
    CG_ERR_FORMAT = -9009,      // a file's content is malformed (bad header, checksum, ...)
    CG_ERR_NUMERIC = -9010,     // a value became NaN or Inf
};

const char *cg_status_name(cg_status s);  // "CL_OUT_OF_RESOURCES", "CG_ERR_CONFIG", ...
const char *cg_last_error(void);          // detail of the last failure on this thread ("" if none)
void cg_clear_error(void);
// Records a detail message and returns s, so callers can write `return cg_fail(s, "...", ...)`.
cg_status cg_fail(cg_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Appends context to the current detail ("while loading X: <previous detail>") and returns s.
cg_status cg_fail_context(cg_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Programmer errors (shape mismatches, impossible states) abort with file:line; never bad input.
#define CG_ASSERT(cond)                                                                              \
    do {                                                                                             \
        if (!(cond)) cg_assert_fail(#cond, __FILE__, __LINE__);                                      \
    } while (0)
void cg_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

// Propagate a failing cg_status unchanged.
#define CG_TRY(expr)                                                                                 \
    do {                                                                                             \
        cg_status cg_try_st_ = (expr);                                                               \
        if (cg_try_st_ != CG_OK) return cg_try_st_;                                                  \
    } while (0)

// ---------------------------------------------------------------------------------------------
// Configuration over iniparser. Keys are "section.key" on the command line and [section] key in
// files. Every getter records the key as known and its effective value for cg_config_dump().

typedef struct cg_config cg_config;

cg_status cg_config_load(const char *path, cg_config **out);  // path NULL: an empty configuration
cg_config *cg_config_empty(void);
void cg_config_free(cg_config *cfg);
const char *cg_config_path(const cg_config *cfg);              // "" when built without a file
// "section.key=value" from --set; an error names the malformed text.
cg_status cg_config_set(cg_config *cfg, const char *assignment);

cg_status cg_config_int(cg_config *cfg, const char *section, const char *key, long def, long lo, long hi,
                        long *out);
cg_status cg_config_float(cg_config *cfg, const char *section, const char *key, double def, double lo,
                          double hi, double *out);
cg_status cg_config_bool(cg_config *cfg, const char *section, const char *key, int def, int *out);
// The returned string lives as long as cfg. choices: NULL, or a "|"-separated list of valid values.
cg_status cg_config_str(cg_config *cfg, const char *section, const char *key, const char *def,
                        const char *choices, const char **out);

// Warns (to `log`) about every key present in the file or --set that no getter asked for, naming
// the closest known key. Returns how many were unknown.
int cg_config_warn_unknown(const cg_config *cfg, FILE *log);
// Writes the effective configuration (every key a getter asked for, with its value) as INI.
void cg_config_dump(const cg_config *cfg, FILE *f);
char *cg_config_dump_string(const cg_config *cfg); // malloc'd

// ---------------------------------------------------------------------------------------------
// Clock (clock.c): seconds on the monotonic clock, for durations, rates and ETAs.
double cg_now_s(void);

// ---------------------------------------------------------------------------------------------
// Progress: a bar with rate and ETA on a terminal; plain periodic lines otherwise.

typedef struct cg_progress cg_progress;
cg_progress *cg_progress_begin(const char *label, uint64_t total, const char *unit, FILE *out);
// status: short text shown after the bar (may be NULL), e.g. "loss_d 0.69".
void cg_progress_update(cg_progress *p, uint64_t done, const char *status);
void cg_progress_end(cg_progress *p); // prints the final line and frees
// Force the non-terminal mode (tests) and the period of plain lines in seconds.
void cg_progress_set_plain(cg_progress *p, int plain, double period_s);
// Tests: time read from clock(ctx), in seconds, instead of the monotonic clock (set before updates).
void cg_progress_set_clock(cg_progress *p, double (*clock)(void *ctx), void *ctx);
// Formats seconds as "1h02m", "3m05s" or "4.2s".
void cg_format_duration(double seconds, char *buf, size_t len);

// ---------------------------------------------------------------------------------------------
// Atomic files: write to a temporary file in the same folder, fsync, rename over the target.

typedef struct cg_atomic_file cg_atomic_file;
cg_status cg_atomic_open(const char *path, cg_atomic_file **out);
FILE *cg_atomic_stream(cg_atomic_file *f);
cg_status cg_atomic_commit(cg_atomic_file *f); // on failure the target is untouched; frees f
void cg_atomic_abort(cg_atomic_file *f);       // removes the temporary file; frees f
cg_status cg_write_file_atomic(const char *path, const void *data, size_t len);
// Writes the string text atomically to "dir/name" and frees it (always); NULL text (a formatter out of
// memory) fails with CG_ERR_NOMEM.
cg_status cg_write_text_atomic(const char *dir, const char *name, char *text);
// Removes the temporary files of the atomic writes still open (up to 32), leaving the targets as
// they were. Async-signal-safe: for a handler that ends the process on SIGINT/SIGTERM/SIGHUP.
void cg_atomic_remove_temps(void);
// Reads a whole file into a malloc'd, NUL-terminated buffer.
cg_status cg_read_file(const char *path, char **data, size_t *len);
// Creates a directory and its parents (like mkdir -p).
cg_status cg_mkdir_p(const char *path);
// Creates the folder path lies in (nothing for a bare file name or a file in /).
cg_status cg_mkdir_parent(const char *path);

// ---------------------------------------------------------------------------------------------
// Hashing (cache keys, checksums): FNV-1a 64-bit, chainable.
uint64_t cg_fnv1a64(const void *data, size_t len, uint64_t h);
#define CG_FNV_INIT 0xcbf29ce484222325ULL

#endif
