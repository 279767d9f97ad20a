// main.c — the clgan front door: dispatches to subcommands, --help, help CMD, --version.
#include "cli.h"

#include <string.h>

static const cli_command *const commands[] = {
    &cmd_demo, &cmd_devices, &cmd_synth, &cmd_preprocess, &cmd_train, &cmd_sample,
    &cmd_stats, &cmd_score, &cmd_bench, &cmd_tune, &cmd_gemm, &cmd_kernels,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *out) {
    fprintf(out, "clgan %s — train GAN face generators and score them on any OpenCL device\n\n"
                 "usage: clgan COMMAND [options]\n\ncommands:\n",
            CLGAN_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n  clgan help COMMAND     details of one command (same as clgan COMMAND --help)\n"
                 "  clgan --version        print the version\n\n"
                 "Every command takes --config FILE.ini, --set section.key=value and --device SEL.\n"
                 "Environment: CLGAN_DEVICE (device selector), CLGAN_CACHE_DIR (compiled-kernel cache),\n"
                 "CLGAN_KERNEL_DIR (read cl/*.cl from disk instead of the embedded copies).\n"
                 "Exit status: " EXIT_STATUS_TEXT ".\n");
}

static const cli_command *find_command(const char *name) {
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i]->name, name)) return commands[i];
    return NULL;
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
        return EXIT_OK;
    }
    if (!strcmp(name, "help")) {
        if (argc < 3) {
            print_usage(stdout);
            return EXIT_OK;
        }
        const cli_command *cmd = find_command(argv[2]);
        if (!cmd) {
            fprintf(stderr, "clgan: no command named '%s'; see 'clgan --help'\n", argv[2]);
            return EXIT_USAGE;
        }
        char *help_argv[] = {argv[2], "--help", NULL};
        return cmd->run(2, help_argv);
    }
    const cli_command *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "clgan: no command named '%s'; see 'clgan --help'\n", name);
        return EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
