// options.c — command-line parsing, help text (and the same text as a man page or an option list for
// shell completion), configuration loading and device opening for subcommands.
#include "cli.h"
#include "dist.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt *find_opt(const cli_opt *opts, const char *name, size_t len) {
    for (; opts && opts->name; opts++)
        if (strlen(opts->name) == len && !strncmp(opts->name, name, len)) return opts;
    return NULL;
}

static int usage_error(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const cli_command *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clgan %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'clgan %s --help'.\n", cmd->name);
    return EXIT_USAGE;
}

static int store(const cli_command *cmd, const cli_opt *o, const char *value) {
    switch (o->kind) {
    case OPT_FLAG: *(int *)o->target = 1; return 0;
    case OPT_STRING: *(const char **)o->target = value; return 0;
    case OPT_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < -2147483647L || v > 2147483647L)
            return usage_error(cmd, "--%s expects an integer, got '%s'", o->name, value);
        *(int *)o->target = (int)v;
        return 0;
    }
    case OPT_REPEAT: {
        cli_list *l = o->target;
        if (l->count == (int)(sizeof l->items / sizeof l->items[0]))
            return usage_error(cmd, "too many --%s options", o->name);
        l->items[l->count++] = value;
        return 0;
    }
    }
    return 0;
}

static cli_help_mode help_mode = CLI_HELP_TEXT;
static int verbose;

void cli_help_mode_set(cli_help_mode m) { help_mode = m; }

#define VERBOSE_HELP "show the OpenCL compiler's build logs (also CLGAN_VERBOSE=1)"

int cli_parse(const cli_command *cmd, int argc, char **argv, const cli_opt *opts, cli_common *common) {
    const cli_opt common_opts[] = {
        {"config", OPT_STRING, "FILE", "INI configuration file", &common->config_path},
        {"set", OPT_REPEAT, "SECTION.KEY=VALUE", "override one configuration value (repeatable)", &common->sets},
        {"device", OPT_STRING, "SEL", "OpenCL device: index, name, gpu, cpu, or PLATFORM:DEVICE", &common->device},
        {"verbose", OPT_FLAG, NULL, VERBOSE_HELP, &verbose},
        {"help", OPT_FLAG, NULL, "show this help", &common->help},
        {0},
    };
    const cli_opt *seen[64];
    int n_seen = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h")) a = "--help";
        if (strncmp(a, "--", 2) != 0) return usage_error(cmd, "unexpected argument '%s'", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_opt *o = find_opt(opts, name, len);
        if (!o) o = find_opt(common_opts, name, len);
        if (!o) return usage_error(cmd, "unknown option '%s'", a);
        if (o->kind != OPT_REPEAT) { // a second --config or --out would silently win over the first
            for (int j = 0; j < n_seen; j++)
                if (seen[j] == o) return usage_error(cmd, "option '--%s' is given twice", o->name);
            if (n_seen < (int)(sizeof seen / sizeof seen[0])) seen[n_seen++] = o;
        }
        const char *value = NULL;
        if (o->kind != OPT_FLAG) {
            if (eq) value = eq + 1;
            else if (i + 1 < argc) value = argv[++i];
            else return usage_error(cmd, "option '%s' needs a value", a);
        } else if (eq) {
            return usage_error(cmd, "option '%s' takes no value", a);
        }
        if (store(cmd, o, value)) return EXIT_USAGE;
    }
    if (verbose) setenv("CLGAN_VERBOSE", "1", 1); // the runtime's build-log policy (runtime/program.c)
    return 0;
}

static void print_opts(const cli_opt *opts, FILE *out) {
    for (; opts->name; opts++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", opts->name, opts->metavar ? " " : "", opts->metavar ? opts->metavar : "");
        fprintf(out, "  %-28s %s\n", left, opts->help);
    }
}

void cli_roff_text(FILE *out, const char *text) {
    int line_start = 1;
    for (const char *c = text; *c; c++) {
        if (line_start && *c == '\n') { // a blank line: a new paragraph
            fputs(".PP\n", out);
            continue;
        }
        if (line_start && (*c == '.' || *c == '\'')) fputs("\\&", out);
        if (*c == '\\') fputs("\\e", out);
        else if (*c == '-') fputs("\\-", out);
        else fputc(*c, out);
        line_start = *c == '\n';
    }
    if (!line_start) fputc('\n', out);
}

// s escaped for roff within a line.
static void roff_inline(FILE *out, const char *s) {
    for (; *s; s++)
        if (*s == '\\') fputs("\\e", out);
        else if (*s == '-') fputs("\\-", out);
        else fputc(*s, out);
}

static void roff_opts(const cli_opt *opts, FILE *out) {
    for (; opts->name; opts++) {
        fputs(".TP\n\\fB\\-\\-", out);
        roff_inline(out, opts->name);
        fputs("\\fR", out);
        if (opts->metavar) {
            fputs(" \\fI", out);
            roff_inline(out, opts->metavar);
            fputs("\\fR", out);
        }
        fputc('\n', out);
        cli_roff_text(out, opts->help);
    }
}

// The man page: the --help text under NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS.
static void print_man(const cli_command *cmd, const cli_opt *opts, const cli_opt *common, FILE *out) {
    fprintf(out, ".TH \"CLGAN\\-%s\" \"1\" \"\" \"clgan %s\" \"clgan manual\"\n.SH NAME\n", cmd->name, CLGAN_VERSION);
    fprintf(out, "clgan\\-%s \\- ", cmd->name);
    cli_roff_text(out, cmd->summary);
    fputs(".SH SYNOPSIS\n.nf\n", out);
    fprintf(out, "clgan %s ", cmd->name);
    cli_roff_text(out, cmd->usage);
    fputs(".fi\n.SH DESCRIPTION\n", out);
    cli_roff_text(out, cmd->description);
    fputs(".SH OPTIONS\n", out);
    if (opts) roff_opts(opts, out);
    roff_opts(common, out);
    fputs(".SH EXIT STATUS\n", out);
    cli_roff_text(out, EXIT_STATUS_TEXT);
    fputs(".SH SEE ALSO\n.BR clgan (1)\n", out);
}

static void print_names(const cli_opt *opts, FILE *out) {
    for (; opts && opts->name; opts++) fprintf(out, "--%s%s%s\n", opts->name, opts->metavar ? " " : "",
                                               opts->metavar ? opts->metavar : "");
}

void cli_print_help(const cli_command *cmd, const cli_opt *opts, FILE *out) {
    const cli_opt common[] = {
        {"config", OPT_STRING, "FILE", "INI configuration file", NULL},
        {"set", OPT_REPEAT, "SECTION.KEY=VALUE", "override one configuration value (repeatable)", NULL},
        {"device", OPT_STRING, "SEL", "OpenCL device: index, name, gpu, cpu, or PLATFORM:DEVICE", NULL},
        {"verbose", OPT_FLAG, NULL, VERBOSE_HELP, NULL},
        {"help", OPT_FLAG, NULL, "show this help", NULL},
        {0},
    };
    if (help_mode == CLI_HELP_MAN) {
        print_man(cmd, opts, common, out);
        return;
    }
    if (help_mode == CLI_HELP_OPTIONS) {
        print_names(opts, out);
        print_names(common, out);
        return;
    }
    fprintf(out, "usage: clgan %s %s\n\n%s\n\n%s\n\noptions:\n", cmd->name, cmd->usage, cmd->summary, cmd->description);
    if (opts) print_opts(opts, out);
    print_opts(common, out);
    fprintf(out, "\nexit status: " EXIT_STATUS_TEXT "\n");
}

cg_config *cli_load_config(const cli_common *common) {
    cg_config *cfg = NULL;
    cg_status st = common->config_path ? cg_config_load(common->config_path, &cfg) : CG_OK;
    if (!common->config_path) cfg = cg_config_empty();
    for (int i = 0; st == CG_OK && i < common->sets.count; i++) st = cg_config_set(cfg, common->sets.items[i]);
    if (st != CG_OK) {
        fprintf(stderr, "clgan: configuration error: %s\n", cg_last_error());
        cg_config_free(cfg);
        return NULL;
    }
    return cfg;
}

// The selector text from --device, $CLGAN_DEVICE, or [device] platform/device/type in the INI file.
static cg_status resolve_selector(cg_config *cfg, const cli_common *common, cg_device_selector *sel, char *storage,
                                  size_t len, const char **origin) {
    const char *env = getenv("CLGAN_DEVICE");
    const char *plat, *dev, *type;
    CG_TRY(cg_config_str(cfg, "device", "platform", "", NULL, &plat));
    CG_TRY(cg_config_str(cfg, "device", "device", "", NULL, &dev));
    CG_TRY(cg_config_str(cfg, "device", "type", "any", "any|gpu|cpu", &type));
    if (common->device) {
        *origin = "--device";
        return cg_selector_parse(common->device, sel, storage, len);
    }
    if (env && *env) {
        *origin = "CLGAN_DEVICE";
        return cg_selector_parse(env, sel, storage, len);
    }
    *origin = "configuration";
    memset(sel, 0, sizeof *sel);
    sel->platform = *plat ? plat : NULL;
    sel->device = *dev ? dev : NULL;
    sel->type = !strcasecmp(type, "gpu") ? CG_DEVICE_GPU : !strcasecmp(type, "cpu") ? CG_DEVICE_CPU : CG_DEVICE_ANY;
    return CG_OK;
}

cg_status cli_select_device(cg_config *cfg, const cli_common *common, const cg_device_info *devs, int count,
                            int *picked) {
    cg_device_selector sel;
    char storage[256];
    const char *origin = "";
    CG_TRY(resolve_selector(cfg, common, &sel, storage, sizeof storage, &origin));
    cg_status st = cg_device_select(devs, count, &sel, picked);
    // No such device is a usage error, like any other bad option value.
    if (st != CG_OK) return cg_fail_context(st == CG_ERR_NOT_FOUND ? CG_ERR_CONFIG : st, "device from %s", origin);
    return CG_OK;
}

cg_status cli_open_runtime(cg_config *cfg, const cli_common *common, cg_runtime **rt) {
    cg_device_info *devs = NULL;
    int count = 0, picked = -1;
    CG_TRY(cg_devices_list(&devs, &count));
    cg_status st = cli_select_device(cfg, common, devs, count, &picked);
    if (st != CG_OK) {
        free(devs);
        return st;
    }
    st = cg_runtime_create(&devs[picked], NULL, rt);
    if (st == CG_OK && cg_dist_rank() == 0) // under mpirun rank 0 speaks; `clgan devices` lists every rank's
        fprintf(stderr, "device %d: %s (%s, %s)\n", devs[picked].index, devs[picked].name, devs[picked].platform_name,
                devs[picked].driver);
    free(devs);
    return st;
}

// The "[section] key" of each command-line option passed on as an override, so that an error about
// its value names the option instead of --set.
static struct {
    char key[128], option[64];
} given_keys[32];
static int n_given_keys;

cg_status cli_set_given(cg_config *cfg, const char *section, const cli_given *given, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!given[i].value) continue;
        if (n_given_keys < (int)(sizeof given_keys / sizeof given_keys[0])) {
            snprintf(given_keys[n_given_keys].key, sizeof given_keys[0].key, "[%s] %s =", section, given[i].key);
            snprintf(given_keys[n_given_keys].option, sizeof given_keys[0].option, "--%s", given[i].key);
            for (char *c = given_keys[n_given_keys].option; *c; c++)
                if (*c == '_') *c = '-';
            n_given_keys++;
        }
        char assign[1200];
        snprintf(assign, sizeof assign, "%s.%s=%s", section, given[i].key, given[i].value);
        CG_TRY(cg_config_set(cfg, assign));
    }
    return CG_OK;
}

const char *cli_key_label(const char *section, const char *key, char *buf, size_t len) {
    snprintf(buf, len, "[%s] %s =", section, key);
    for (int i = 0; i < n_given_keys; i++)
        if (!strcmp(given_keys[i].key, buf)) snprintf(buf, len, "%s", given_keys[i].option);
    return buf;
}

const char *cli_int_given(int v, char buf[16]) {
    if (v == CLI_UNSET) return NULL;
    snprintf(buf, 16, "%d", v);
    return buf;
}

int cli_check_unknown(const cg_config *cfg) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return cg_config_warn_unknown(cfg, stderr), 0;
    cg_config_warn_unknown(cfg, f);
    fclose(f);
    static const char set_label[] = "warning: (from --set): ";
    int bad = 0;
    for (const char *line = text; line && *line;) {
        size_t n = strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n');
        if (!strncmp(line, set_label, sizeof set_label - 1)) {
            fprintf(stderr, "clgan: error: --set: %.*s", (int)(n - (sizeof set_label - 1)), line + sizeof set_label - 1);
            bad++;
        } else {
            fwrite(line, 1, n, stderr);
        }
        line += n;
    }
    free(text);
    return bad ? EXIT_USAGE : EXIT_OK;
}

int cli_print_config(const cg_config *cfg) {
    int rc = cli_check_unknown(cfg);
    if (rc == EXIT_OK && cg_dist_rank() == 0) cg_config_dump(cfg, stderr); // the same on every rank
    return rc;
}

int cli_report(const char *cmd, cg_status st) {
    if (st == CG_OK) return EXIT_OK;
    const char *detail = cg_last_error()[0] ? cg_last_error() : cg_status_name(st);
    static const char set_label[] = "(from --set) ";
    for (int i = 0; i < n_given_keys; i++)
        if (!strncmp(detail, set_label, sizeof set_label - 1) &&
            !strncmp(detail + sizeof set_label - 1, given_keys[i].key, strlen(given_keys[i].key))) {
            fprintf(stderr, "clgan %s: error: (from %s) %s\n", cmd, given_keys[i].option, detail + sizeof set_label - 1);
            return st == CG_ERR_CONFIG || st == CG_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FAILURE_RUN;
        }
    fprintf(stderr, "clgan %s: error: %s\n", cmd, detail);
    return (st == CG_ERR_CONFIG || st == CG_ERR_INVALID_ARG) ? EXIT_USAGE : EXIT_FAILURE_RUN;
}
