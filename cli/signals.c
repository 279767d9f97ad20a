// signals.c — what SIGINT, SIGTERM and SIGHUP do to a command with no stopping point of its own
// (every command but train's training loop, which finishes its iteration and saves): the command
// ends at once with exit 3 and "clgan CMD: stopped by signal N", after removing the temporary files
// of the atomic writes it had open, so no output is left half-written. Files it finished stay.
#include "cli.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static char prefix[96];
static size_t prefix_len;

static void on_signal(int sig) {
    cg_atomic_remove_temps();
    char digits[12], *d = digits + sizeof digits;
    for (int v = sig; d == digits + sizeof digits || v; v /= 10) *--d = (char)('0' + v % 10);
    static const char tail[] = "; no file was left half-written (outputs are written whole or not at all)\n";
    ssize_t ignored = write(STDERR_FILENO, prefix, prefix_len);
    ignored = write(STDERR_FILENO, d, (size_t)(digits + sizeof digits - d));
    ignored = write(STDERR_FILENO, tail, sizeof tail - 1);
    (void)ignored;
    _exit(EXIT_INTERRUPTED);
}

void cli_signals_install(const char *cmd) {
    snprintf(prefix, sizeof prefix, "clgan %s: stopped by signal ", cmd);
    prefix_len = strlen(prefix);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        // A signal ignored when clgan started (nohup, a background job) stays ignored.
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}
