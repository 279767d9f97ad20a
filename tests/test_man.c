// test_man.c — the man pages and the bash completion are the --help text in other forms: every
// command listed by `clgan --help` has `clgan help --man CMD` (a roff page whose text, de-roffed,
// holds every line of `clgan CMD --help` and one .TP entry per option), clgan(1) holds `clgan
// --help`; the completion script offers every command and every option of each, and file names
// after a path-valued option. Also the front door's tables: `clgan devices` ends every line (the
// last one too) with a newline and pads no line with trailing blanks; a kernel that compiles with a
// warning (CLGAN_KERNEL_DIR) leaks nothing of the compiler into a command's output, while --verbose
// shows its build log.
#include "cli_test_util.h"

#define OUT "test-man-out"

static char *run_out(const char *name, int *rc, const char *const *args) {
    char out[300], err[300];
    snprintf(out, sizeof out, OUT "/%s.out", name);
    snprintf(err, sizeof err, OUT "/%s.err", name);
    const char *argv[16] = {cli_exe};
    int n = 1;
    for (; args[n - 1] && n < 15; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    *rc = test_spawn(argv, out, err, NULL);
    return cli_slurp(out, NULL);
}
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

// Whitespace runs to one space, ends trimmed (in place).
static char *collapse(char *s) {
    char *o = s;
    int space = 1;
    for (char *c = s; *c; c++) {
        if (*c == ' ' || *c == '\t' || *c == '\n') {
            if (!space) *o++ = ' ';
            space = 1;
        } else {
            *o++ = *c;
            space = 0;
        }
    }
    if (o > s && o[-1] == ' ') o--;
    *o = 0;
    return s;
}

// The running text of a roff page: request lines dropped (the text after .B/.BR kept), font and
// character escapes undone, whitespace collapsed.
static char *deroff(const char *man) {
    char *out = malloc(strlen(man) + 2), *o = out;
    for (const char *line = man; *line;) {
        size_t n = strcspn(line, "\n");
        const char *p = line, *end = line + n;
        if (*p == '.') {
            if (!strncmp(p, ".B ", 3) || !strncmp(p, ".BR ", 4)) p = strchr(p, ' ') + 1;
            else p = end;
        }
        while (p < end) {
            if (*p == '\\' && p + 1 < end) {
                char e = p[1];
                if (e == 'f' && p + 2 < end) p += 3;
                else if (e == '-') *o++ = '-', p += 2;
                else if (e == 'e') *o++ = '\\', p += 2;
                else if (e == '&') p += 2;
                else *o++ = *p++;
            } else {
                *o++ = *p++;
            }
        }
        *o++ = '\n';
        line = *end ? end + 1 : end;
    }
    *o = 0;
    return collapse(out);
}

// Every line of help (collapsed; "usage: " and "exit status: " labels and the "options:" heading
// are the page's section headings) is in the de-roffed page; *options: the option table's lines.
static void check_lines(const char *what, const char *help, const char *text, int skip_first, int *options) {
    *options = 0;
    char line[2048];
    int first = 1;
    for (const char *l = help; *l;) {
        size_t n = strcspn(l, "\n");
        snprintf(line, sizeof line, "%.*s", (int)n, l);
        l += n + (l[n] == '\n');
        int option = !strncmp(line, "  --", 4);
        char *c = collapse(line);
        if (!*c || !strcmp(c, "options:") || !strcmp(c, "commands:")) continue;
        if (first && skip_first) { // "clgan VERSION — summary": the page's NAME says it with its own dash
            first = 0;
            continue;
        }
        first = 0;
        if (!strncmp(c, "usage: ", 7)) c += 7;
        if (!strncmp(c, "exit status: ", 13)) c += 13;
        *options += option;
        CHECK(strstr(text, c) != NULL, "%s: the man page lacks the --help line '%s'", what, c);
    }
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

// Command names from `clgan --help` ("commands:" up to the blank line).
static int list_commands(char names[][32], int max) {
    int rc, n = 0;
    char *help = run_out("help", &rc, ARGS("--help"));
    CHECK(rc == 0 && help, "clgan --help -> %d", rc);
    const char *p = help ? strstr(help, "commands:\n") : NULL;
    for (p = p ? p + 10 : NULL; p && *p == ' ' && n < max; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (sscanf(p, " %31s", names[n]) == 1) n++;
    free(help);
    CHECK(n >= 12, "clgan --help lists %d commands", n);
    return n;
}

static void test_man_pages(char names[][32], int n) {
    int rc, opts;
    for (int i = 0; i < n; i++) {
        char *help = run_out("cmd-help", &rc, ARGS(names[i], "--help"));
        CHECK(rc == 0 && help, "clgan %s --help -> %d", names[i], rc);
        char *man = run_out("cmd-man", &rc, ARGS("help", "--man", names[i]));
        CHECK(rc == 0 && man, "clgan help --man %s -> %d", names[i], rc);
        if (!help || !man) {
            free(help), free(man);
            continue;
        }
        char th[80];
        snprintf(th, sizeof th, ".TH \"CLGAN\\-%s\" \"1\"", names[i]);
        CHECK(!strncmp(man, th, strlen(th)), "%s: the page starts '%.40s', want '%s'", names[i], man, th);
        CHECK(strstr(man, ".SH NAME\n") && strstr(man, ".SH SYNOPSIS\n") && strstr(man, ".SH DESCRIPTION\n") &&
                  strstr(man, ".SH OPTIONS\n") && strstr(man, ".SH EXIT STATUS\n"),
              "%s: a section is missing", names[i]);
        char *text = deroff(man);
        check_lines(names[i], help, text, 0, &opts);
        CHECK(opts >= 5 && count(man, ".TP\n") == opts, "%s: %d .TP entries for %d options", names[i],
              count(man, ".TP\n"), opts);
        free(text), free(help), free(man);
    }
    char *help = run_out("main-help", &rc, ARGS("--help"));
    char *man = run_out("main-man", &rc, ARGS("help", "--man"));
    CHECK(rc == 0 && man && !strncmp(man, ".TH \"CLGAN\" \"1\"", 15), "clgan help --man -> %d", rc);
    if (help && man) {
        char *text = deroff(man);
        check_lines("clgan(1)", help, text, 1, &opts);
        for (int i = 0; i < n; i++) {
            char see[64];
            snprintf(see, sizeof see, ".BR clgan\\-%s (1)", names[i]);
            CHECK(strstr(man, see) != NULL, "clgan(1) does not refer to clgan-%s(1)", names[i]);
        }
        free(text);
    }
    free(help), free(man);
    free(run_out("bad", &rc, ARGS("help", "--man", "nonexistent")));
    CHECK(rc == 2, "clgan help --man nonexistent -> %d, want 2", rc);
}

// COMPREPLY of the completion function for the words (bash), one per line.
static char *complete_words(const char *script, const char *words, int cword) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "source '%s'; COMP_WORDS=(%s); COMP_CWORD=%d; _clgan; printf '%%s\\n' \"${COMPREPLY[@]}\"",
             script, words, cword);
    int rc = test_run(OUT "/complete.out", OUT "/complete.err", NULL, "/bin/bash", "-c", cmd, (char *)NULL);
    CHECK(rc == 0, "bash completion of (%s) -> %d", words, rc);
    return cli_slurp(OUT "/complete.out", NULL);
}

static int has_line(const char *text, const char *want) {
    size_t n = strlen(want);
    for (const char *p = text; p && (p = strstr(p, want)); p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n])) return 1;
    return 0;
}

static void test_completion(char names[][32], int n) {
    int rc;
    free(run_out("completion", &rc, ARGS("help", "--completion", "bash")));
    CHECK(rc == 0, "clgan help --completion bash -> %d", rc);
    const char *script = OUT "/completion.out";
    if (access("/bin/bash", X_OK) != 0) {
        CHECK(cli_contains(script, "complete -o default -F _clgan clgan"), "the script registers _clgan");
        return;
    }
    char *all = complete_words(script, "clgan ''", 1);
    for (int i = 0; i < n; i++) CHECK(all && has_line(all, names[i]), "completion lacks the command %s", names[i]);
    free(all);
    char *tr = complete_words(script, "clgan tr", 1);
    CHECK(tr && !strcmp(tr, "train\n"), "'clgan tr' completes to '%s'", tr ? tr : "");
    free(tr);
    for (int i = 0; i < n; i++) {
        char *help = run_out("cmd-help", &rc, ARGS(names[i], "--help")), words[128];
        snprintf(words, sizeof words, "clgan %s --", names[i]);
        char *got = complete_words(script, words, 2);
        for (const char *l = help; l && *l;) {
            size_t len = strcspn(l, "\n");
            char opt[64];
            if (sscanf(l, " %63s", opt) == 1 && !strncmp(opt, "--", 2) && !strncmp(l, "  --", 4))
                CHECK(got && has_line(got, opt), "clgan %s: completion lacks %s", names[i], opt);
            l += len + (l[len] == '\n');
        }
        free(help), free(got);
    }
    // A path after --config: the files of the folder.
    CHECK(cli_spit(OUT "/zz-config.ini", "", 0), "writing a file to complete");
    char *files = complete_words(script, "clgan train --config " OUT "/zz", 3);
    CHECK(files && has_line(files, OUT "/zz-config.ini"), "--config completes file names: '%s'", files ? files : "");
    free(files);
}

static void test_devices_table(void) {
    int rc;
    char *out = run_out("devices", &rc, ARGS("devices"));
    CHECK(rc == 0 && out && *out, "clgan devices -> %d", rc);
    if (!out || !*out) return free(out);
    size_t len = strlen(out);
    CHECK(out[len - 1] == '\n', "clgan devices: the last line has no newline");
    int lines = 0;
    for (const char *l = out; *l; lines++) {
        size_t n = strcspn(l, "\n");
        CHECK(n == 0 || l[n - 1] != ' ', "clgan devices: line %d ends in blanks: '%.*s'", lines + 1, (int)n, l);
        l += n + (l[n] == '\n');
    }
    CHECK(lines >= 3 && strstr(out, "\n\n") != NULL, "clgan devices: table, blank line, summary (%d lines)", lines);
    free(out);
}

// Kernel sources with a warning in common.cl (every program includes it) in OUT/cl.
static int warning_kernels(void) {
    char src[1024], from[1400], to[1400];
    snprintf(src, sizeof src, "%s/cl", getenv("CLGAN_SOURCE_DIR") ? getenv("CLGAN_SOURCE_DIR") : ".");
    DIR *d = opendir(src);
    if (!d || mkdir(OUT "/cl", 0755) != 0) {
        if (d) closedir(d);
        return 0;
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".cl")) continue;
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, OUT "/cl/%s", e->d_name);
        size_t len = 0;
        char *text = cli_slurp(from, &len);
        FILE *f = fopen(to, "w");
        if (text && f) {
            if (!strcmp(e->d_name, "common.cl")) fputs("#warning clgan-test-warning\n", f);
            fwrite(text, 1, len, f);
            n++;
        }
        if (f) fclose(f);
        free(text);
    }
    closedir(d);
    return n;
}

static void test_build_log(void) {
    cg_device_info *devs = NULL;
    int count = 0;
    if (cg_devices_list(&devs, &count) != CG_OK || count == 0) {
        free(devs);
        test_skip_part("opencl", "no OpenCL device: build logs not checked");
        return;
    }
    free(devs);
    CHECK(warning_kernels() > 5, "copying the kernels to " OUT "/cl");
    // Every program is compiled afresh: neither clgan's nor PoCL's cache may serve it.
    setenv("CLGAN_KERNEL_DIR", OUT "/cl", 1);
    setenv("CLGAN_NO_DISK_CACHE", "1", 1);
    setenv("POCL_KERNEL_CACHE", "0", 1);
    int rc = cli_run(OUT "/synth.err", "synth", "--n", "100", "--seed", "3", "--out", OUT "/synth", NULL);
    CHECK(rc == 0, "clgan synth -> %d", rc);
    const char *prep[] = {"preprocess", "--input", OUT "/synth", "--set", "preprocess.size=32", "--out", NULL, NULL, NULL};
    prep[6] = OUT "/quiet.cgds";
    rc = cli_wait(cli_spawn(OUT "/quiet.err", prep));
    CHECK(rc == 0, "clgan preprocess -> %d", rc);
    CHECK(!cli_contains(OUT "/quiet.err", "warning") && !cli_contains(OUT "/quiet.err", "generated"),
          "a successful build printed compiler output (" OUT "/quiet.err)");
    prep[6] = OUT "/verbose.cgds";
    prep[7] = "--verbose";
    rc = cli_wait(cli_spawn(OUT "/verbose.err", prep));
    CHECK(rc == 0, "clgan preprocess --verbose -> %d", rc);
    CHECK(cli_contains(OUT "/verbose.err", "build log of") && cli_contains(OUT "/verbose.err", "clgan-test-warning"),
          "--verbose shows the build log with the warning (" OUT "/verbose.err)");
    unsetenv("CLGAN_KERNEL_DIR");
}

int main(void) {
    cli_exe = getenv("CLGAN_CLI");
    if (!cli_exe || !*cli_exe) {
        fprintf(stderr, "CLGAN_CLI is not set (run through ctest)\n");
        return 1;
    }
    if (test_rm_rf(OUT) != 0 || mkdir(OUT, 0755) != 0) return 1;
    char names[32][32];
    int n = list_commands(names, 32);
    test_man_pages(names, n);
    test_completion(names, n);
    test_devices_table();
    test_build_log();
    return test_finish("test_man");
}
