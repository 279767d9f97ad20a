// cli.h — what the subcommands share: option parsing, configuration and device opening, exit codes.
#ifndef CLGAN_CLI_H
#define CLGAN_CLI_H

#include "runtime.h"

#include <limits.h>

// The rule every command follows (README "Errors and files"; tests/test_exit_codes.c):
// EXIT_USAGE: what the command line or configuration says is wrong — an unknown option, a missing
//   or malformed option, a bad INI/--set value, an unknown --set key, a missing or malformed --config
//   file, a device selection matching nothing, an output that would overwrite an input
//   (CG_ERR_CONFIG, CG_ERR_INVALID_ARG through cli_report).
// EXIT_FAILURE_RUN: the files, disk or device did not cooperate — an input missing, unreadable or
//   corrupt, an output that cannot be written, an OpenCL or host-memory failure, a NaN (every other
//   status through cli_report).
// EXIT_INTERRUPTED: a signal (SIGINT, SIGTERM, SIGHUP) stopped the command early, after it saved
// what it could (train: a checkpoint that --resume continues; before training started: nothing).
enum { EXIT_OK = 0, EXIT_FAILURE_RUN = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 3 };
#define EXIT_STATUS_TEXT "0 ok, 1 failure, 2 usage or configuration error, 3 interrupted by a signal"

// The value of an OPT_INT option that was not given.
#define CLI_UNSET INT_MIN

typedef enum { OPT_FLAG, OPT_STRING, OPT_INT, OPT_REPEAT } cli_opt_kind;

// One command-line option: --name VALUE (or --name=VALUE); flags take no value.
typedef struct {
    const char *name;
    cli_opt_kind kind;
    const char *metavar; // "FILE", "N", ...
    const char *help;
    void *target;        // int* for flags and ints, const char** for strings, cli_list* for repeats
} cli_opt;

typedef struct {
    const char *items[64];
    int count;
} cli_list;

// Options every subcommand takes: --config FILE, --set section.key=value (repeatable), --device SEL, --help.
typedef struct {
    const char *config_path;
    cli_list sets;
    const char *device;
    int help;
} cli_common;

typedef struct {
    const char *name;
    const char *summary;
    const char *usage;       // after "clgan NAME "
    const char *description; // paragraphs shown by --help
    int (*run)(int argc, char **argv);
} cli_command;

// Parses argv[1..] against the command's options plus the common ones. Prints the error and returns
// EXIT_USAGE on a bad option, 0 otherwise. Positional arguments are refused.
int cli_parse(const cli_command *cmd, int argc, char **argv, const cli_opt *opts, cli_common *common);
void cli_print_help(const cli_command *cmd, const cli_opt *opts, FILE *out);
// What cli_print_help prints: the --help text, the same text as a man page (clgan help --man CMD),
// or one "--name [METAVAR]" line per option (shell completion, main.c).
typedef enum { CLI_HELP_TEXT, CLI_HELP_MAN, CLI_HELP_OPTIONS } cli_help_mode;
void cli_help_mode_set(cli_help_mode m);
// text as roff body text: escaped, a blank line starting a new paragraph.
void cli_roff_text(FILE *out, const char *text);

// Loads --config (or an empty configuration) and applies every --set; on error prints it and returns NULL.
cg_config *cli_load_config(const cli_common *common);
// The device chosen by --device, then $CLGAN_DEVICE, then [device] in the configuration: its index
// in devs[0..count) (cg_devices_list), without opening it. No such device is a configuration error
// naming where the selection came from.
cg_status cli_select_device(cg_config *cfg, const cli_common *common, const cg_device_info *devs, int count,
                            int *picked);
// Opens the device cli_select_device chooses. Prints what was chosen to stderr. Returns a cg_status;
// details are in cg_last_error().
cg_status cli_open_runtime(cg_config *cfg, const cli_common *common, cg_runtime **rt);
// Command-line options that mirror configuration keys win over the file: each given value (non-NULL)
// goes in as the override "<section>.<key>=<value>", so the printed configuration shows it.
typedef struct {
    const char *key, *value;
} cli_given;
cg_status cli_set_given(cg_config *cfg, const char *section, const cli_given *given, size_t n);
// How the user gave [section] key, for messages about its value: "--opt" when the command-line
// option that mirrors it did (cli_set_given), else "[section] key =" (the INI file or --set).
const char *cli_key_label(const char *section, const char *key, char *buf, size_t len);
// Text of an integer option for cli_given: NULL unless given (v != CLI_UNSET); buf holds the digits.
// A given value is passed on whatever it is, so the configuration's range check refuses a bad one.
const char *cli_int_given(int v, char buf[16]);
// The commands the demo chains (cmd_train.c, cmd_score.c), on an opened runtime and a loaded cfg.
// Both return an exit code, having reported any error (cli_report).
// cli_train_with copies the final checkpoint path into ckpt_out (may be NULL); force: start over in
// a folder that holds a run, and resume despite a changed configuration.
int cli_train_with(cg_runtime *rt, cg_config *cfg, const char *resume, int force, int print_config, char *ckpt_out,
                   size_t ckpt_len);
// Scores with the [score] keys of cfg; `defaults` replace built-in defaults of keys by name
// (checkpoint, images, ref, metrics, n, ref_n, out). rt NULL: only reads and checks the keys (so
// they are known before the configuration is printed). Errors are reported as command `cmd`'s.
int cli_score_with(const char *cmd, cg_runtime *rt, cg_config *cfg, const cli_given *defaults, size_t n_defaults,
                   int print_config);
// Warns about unknown keys of the file (with the closest known key); an unknown --set key is an
// error (a typo on the command line would silently change nothing): EXIT_USAGE, else EXIT_OK.
int cli_check_unknown(const cg_config *cfg);
// cli_check_unknown, then prints the effective configuration (every key the command read, with its
// value) to stderr. Call once the command has read all its keys. Returns what cli_check_unknown did.
int cli_print_config(const cg_config *cfg);
// Prints "clgan CMD: error: <detail>" and returns the exit code that fits the status.
int cli_report(const char *cmd, cg_status st);

// ---- signals.c: SIGINT, SIGTERM and SIGHUP end a command with EXIT_INTERRUPTED and "clgan CMD:
// stopped by signal N" after removing the temporary files of its unfinished atomic writes (main.c
// installs it for every command; train's loop replaces it with its own stop-and-save).
void cli_signals_install(const char *cmd);

// ---- paths.c: what a command may read and overwrite.
// Whether a and b name the same file: the same device and inode, or (when one does not exist yet)
// the same name in the same folder.
int cli_same_file(const char *a, const char *b);
// An output must not be an input: each non-empty input path (key: its label, e.g. "--ref") is
// compared with out; CG_ERR_CONFIG naming both when out would overwrite one. An existing file where
// one of out's folders should be fails at once (CG_ERR_IO naming it), before the command's work.
cg_status cli_output_distinct(const char *out_label, const char *out, const cli_given *inputs, size_t n);
// Whether path (existing or not) lies directly in folder dir.
int cli_in_folder(const char *path, const char *dir);
// A path given as an input file must be a regular file (not a FIFO, device or folder).
cg_status cli_regular_file(const char *label, const char *path);

// ---- finite.c: every float tensor of a safetensors file is finite, else CG_ERR_NUMERIC naming
// label (e.g. "--weights"), the file, the tensor and the element. A path that is not a regular
// file passes (the loader reports it in its own words).
cg_status cli_safetensors_finite(const char *label, const char *path);

// ---- run_folder.c: a training output folder, held by one trainer at a time.
// Creates out, takes its lock (CG_ERR_IO naming the holder's pid when another
// trainer holds it), refuses a folder that holds a run unless resuming or force, and removes
// temporary files an interrupted save left behind. *lock_fd is released by cli_run_folder_release.
cg_status cli_run_folder_claim(const char *out, int resuming, int force, int *lock_fd);
void cli_run_folder_release(int lock_fd);

// ---- resume_check.c: --resume against the checkpoint's stored configuration.
// Compares the model and the [train] keys that change the course of training (everything but out,
// iterations, epochs and the logging and checkpoint cadences) of config_text with those stored in
// ckpt. Differences are listed; they fail with CG_ERR_CONFIG unless force (then only warned about).
cg_status cli_resume_check(const char *ckpt, const char *config_text, int force, FILE *log);

// ---- cmd_landmarks.c: the MTCNN detector over a folder ([landmarks] weights, min_face), shared
// by `clgan landmarks` and `clgan preprocess` with [preprocess] landmarks = detect.
typedef struct {
    const char *weights;
    long min_face;
} cli_landmarks_opts;
cg_status cli_landmarks_config(cg_config *cfg, cli_landmarks_opts *o);
// Writes the landmark list out (and boxes, when non-empty) for images (the first limit, 0: all);
// prints the images without a face and the rate to stderr.
cg_status cli_landmarks_detect(cg_runtime *rt, const cli_landmarks_opts *o, const char *images, long limit,
                               int max_side, const char *out, const char *boxes);

extern const cli_command cmd_demo;
extern const cli_command cmd_devices;
extern const cli_command cmd_synth;
extern const cli_command cmd_preprocess;
extern const cli_command cmd_landmarks;
extern const cli_command cmd_train;
extern const cli_command cmd_sample;
extern const cli_command cmd_stats;
extern const cli_command cmd_score;
extern const cli_command cmd_bench;
extern const cli_command cmd_tune;
extern const cli_command cmd_gemm;
extern const cli_command cmd_kernels;
extern const cli_command cmd_upscale;

#endif
