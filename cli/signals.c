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

// One write() of the whole line: the handler may run on any thread (PoCL's, the decode pool's) while
// the main thread is still printing, and separate writes would interleave with its output.
static void on_signal(int sig) {
    cg_atomic_remove_temps();
    static const char tail[] = "; no file was left half-written (outputs are written whole or not at all)\n";
    char line[sizeof prefix + 12 + sizeof tail], digits[12], *d = digits + sizeof digits;
    for (int v = sig; d == digits + sizeof digits || v; v /= 10) *--d = (char)('0' + v % 10);
    size_t n = 0;
    for (size_t i = 0; i < prefix_len; i++) line[n++] = prefix[i];
    while (d < digits + sizeof digits) line[n++] = *d++;
    for (size_t i = 0; i < sizeof tail - 1; i++) line[n++] = tail[i];
    ssize_t ignored = write(STDERR_FILENO, line, n);
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
