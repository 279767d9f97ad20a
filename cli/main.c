// main.c — the clgan front door: dispatches to subcommands, --help, help CMD, --version; and the
// same help text as man pages (clgan help --man [CMD]) and a bash completion script (clgan help
// --completion bash), generated from the commands' own tables so they cannot drift from --help.
#include "cli.h"
#include "dist.h"
#include "image_loader.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cli_command *const commands[] = {
    &cmd_demo, &cmd_devices, &cmd_synth, &cmd_preprocess, &cmd_landmarks, &cmd_train, &cmd_sample,
    &cmd_stats, &cmd_score, &cmd_bench, &cmd_tune, &cmd_gemm, &cmd_kernels,
    &cmd_upscale,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

#define SUMMARY "train GAN face generators and score them on any OpenCL device"
#define HELP_LINES                                                                                                 \
    "  clgan help COMMAND     details of one command (same as clgan COMMAND --help)\n"                           \
    "  clgan help --man [COMMAND]  the same as a man page (clgan(1), clgan-COMMAND(1))\n"                        \
    "  clgan help --completion bash  a bash completion script\n"                                                  \
    "  clgan --version        print the version\n"
#define TAIL                                                                                                       \
    "Every command takes --config FILE.ini, --set section.key=value, --device SEL and --verbose.\n"                \
    "Environment: CLGAN_DEVICE (device selector), CLGAN_CACHE_DIR (compiled-kernel cache),\n"                     \
    "CLGAN_KERNEL_DIR (read cl/*.cl from disk instead of the embedded copies), CLGAN_VERBOSE=1 (build logs).\n"    \
    "Exit status: " EXIT_STATUS_TEXT ".\n"

static void print_usage(FILE *out) {
    fprintf(out, "clgan %s — " SUMMARY "\n\nusage: clgan COMMAND [options]\n\ncommands:\n", CLGAN_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n" HELP_LINES "\n" TAIL);
}

// clgan(1): the text of print_usage as roff.
static void print_man(FILE *out) {
    fprintf(out, ".TH \"CLGAN\" \"1\" \"\" \"clgan %s\" \"clgan manual\"\n.SH NAME\nclgan \\- ", CLGAN_VERSION);
    cli_roff_text(out, SUMMARY);
    fputs(".SH SYNOPSIS\n.B clgan\nCOMMAND [options]\n.SH COMMANDS\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fprintf(out, ".TP\n.B %s\n", commands[i]->name);
        cli_roff_text(out, commands[i]->summary);
    }
    fputs(".SH USAGE\n.nf\n", out);
    cli_roff_text(out, HELP_LINES);
    fputs(".fi\n.SH DESCRIPTION\n", out);
    cli_roff_text(out, TAIL);
    fputs(".SH SEE ALSO\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, ".BR clgan\\-%s (1)%s\n", commands[i]->name, i + 1 < N_COMMANDS ? "," : "");
}

static const cli_command *find_command(const char *name) {
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i]->name, name)) return commands[i];
    return NULL;
}

// A command's --help in another form (cli_help_mode), written to stdout.
static int help_as(const cli_command *cmd, cli_help_mode mode) {
    cli_help_mode_set(mode);
    char *help_argv[] = {(char *)cmd->name, "--help", NULL};
    int rc = cmd->run(2, help_argv);
    cli_help_mode_set(CLI_HELP_TEXT);
    return rc;
}

// Whether an option's value names a file or folder (completed as paths).
static int takes_path(const char *metavar) {
    static const char *const words[] = {"FILE", "DIR", "CKPT", "DATASET", "NPZ", "PATH"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(metavar, words[i])) return 1;
    return 0;
}

// The "--name [METAVAR]" lines of cmd's options (its --help table; commands print to stdout).
static char *options_of(const cli_command *cmd) {
    FILE *tmp = tmpfile();
    if (!tmp) return NULL;
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0) {
        if (saved >= 0) close(saved);
        fclose(tmp);
        return NULL;
    }
    int rc = help_as(cmd, CLI_HELP_OPTIONS);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    long n = fseek(tmp, 0, SEEK_END) == 0 ? ftell(tmp) : -1;
    char *text = rc == EXIT_OK && n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text) {
        rewind(tmp);
        text[fread(text, 1, (size_t)n, tmp)] = 0;
    }
    fclose(tmp);
    return text;
}

// The option names of lines (options_of), space-separated; only path-valued ones with paths_only.
static void print_names(FILE *out, const char *lines, int paths_only) {
    for (const char *line = lines; *line;) {
        size_t n = strcspn(line, "\n"), name = strcspn(line, " \n");
        if (!paths_only || (name < n && takes_path(line + name))) fprintf(out, "%.*s ", (int)name, line);
        line += n + (line[n] == '\n');
    }
}

// A bash completion script: commands, then each command's options (from its --help table), and
// file names after options whose value is a path.
static int print_completion(FILE *out) {
    fputs("# bash completion for clgan (generated by `clgan help --completion bash`)\n"
          "_clgan() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} opts=\"\" paths=\"\"\n"
          "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
          "        COMPREPLY=($(compgen -W \"",
          out);
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(out, "%s ", commands[i]->name);
    fputs("help --help --version\" -- \"$cur\"))\n        return\n    fi\n    case ${COMP_WORDS[1]} in\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char *lines = options_of(commands[i]);
        if (!lines) {
            fprintf(stderr, "clgan help: cannot list the options of %s\n", commands[i]->name);
            return EXIT_FAILURE_RUN;
        }
        fprintf(out, "    %s) opts=\"", commands[i]->name);
        print_names(out, lines, 0);
        fputs("\" paths=\"", out);
        print_names(out, lines, 1);
        fputs("\" ;;\n", out);
        free(lines);
    }
    fputs("    help) opts=\"--man --completion ", out);
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(out, "%s ", commands[i]->name);
    fputs("\" ;;\n"
          "    esac\n"
          "    case \" $paths \" in\n"
          "        *\" $prev \"*) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
          "    esac\n"
          "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "}\n"
          "complete -o default -F _clgan clgan\n",
          out);
    return EXIT_OK;
}

static int help_command(int argc, char **argv) {
    if (argc < 3) {
        print_usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[2], "--completion")) {
        if (argc != 4 || strcmp(argv[3], "bash")) {
            fprintf(stderr, "clgan help: --completion takes the shell: bash\n");
            return EXIT_USAGE;
        }
        return print_completion(stdout);
    }
    int man = !strcmp(argv[2], "--man");
    if (man && argc == 3) {
        print_man(stdout);
        return EXIT_OK;
    }
    if (argc != 3 + man) {
        fprintf(stderr, "clgan help: usage: clgan help [--man] [COMMAND] | clgan help --completion bash\n");
        return EXIT_USAGE;
    }
    const char *name = argv[2 + man];
    const cli_command *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "clgan: no command named '%s'; see 'clgan --help'\n", name);
        return EXIT_USAGE;
    }
    return help_as(cmd, man ? CLI_HELP_MAN : CLI_HELP_TEXT);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        print_usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("clgan %s\n", CLGAN_VERSION);
        if (cg_dist_built()) printf("MPI: yes (%s)\n", cg_dist_library());
        else printf("MPI: no (built without MPI: single process only)\n");
        printf("JPEG decoder: %s\n", cg_image_jpeg_decoder());
        return EXIT_OK;
    }
    if (!strcmp(name, "help")) return help_command(argc, argv);
    const cli_command *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "clgan: no command named '%s'; see 'clgan --help'\n", name);
        return EXIT_USAGE;
    }
    // Under mpirun every rank runs the command (docs/distributed.md); alone, MPI stays off.
    cg_status st = cg_dist_init(&argc, &argv);
    if (st != CG_OK) return cli_report("clgan", st);
    cli_signals_install(cmd->name);
    int rc = cmd->run(argc - 1, argv + 1);
    // A rank that fails while others carry on would leave them waiting in a collective: end them all.
    if (rc != EXIT_OK && cg_dist_size() > 1 && !cg_dist_agreed()) cg_dist_abort(rc);
    cg_dist_finalize();
    return rc;
}
