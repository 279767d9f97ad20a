// resume_check.c — `train --resume`: the configuration now against the one stored in the checkpoint.
// Both are effective-configuration dumps (cg_config_dump: "[section]" lines, "key = value ; note"),
// so a value the user did not spell out is compared at its default. Only [model] and the [train]
// keys that change the course of training are compared.
#include "cli.h"
#include "checkpoint_config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

// [train] keys free to change between a run and its continuation.
static const char *const free_keys[] = {"out",        "iterations",      "epochs",  "log_every",   "sample_every",
                                        "checkpoint_every", "nan_check_every", "samples", "max_seconds", "quiet",
                                        "init"};

static int compared(const char *section, const char *key) {
    if (!strcmp(section, "model")) return 1;
    if (strcmp(section, "train")) return 0;
    for (size_t i = 0; i < sizeof free_keys / sizeof free_keys[0]; i++)
        if (!strcmp(key, free_keys[i])) return 0;
    return 1;
}

// Finds [section] key in a dump; copies its value to val. 0 when absent.
static int dump_value(const char *dump, const char *section, const char *key, char *val, size_t n) {
    char cur[128] = "";
    size_t klen = strlen(key);
    for (const char *line = dump; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        size_t len = strcspn(line, "\n");
        if (line[0] == '[') {
            size_t e = strcspn(line, "]\n");
            snprintf(cur, sizeof cur, "%.*s", (int)(e > 1 ? e - 1 : 0), line + 1);
            continue;
        }
        if (strcmp(cur, section) || len <= klen + 3 || strncmp(line, key, klen) || strncmp(line + klen, " = ", 3))
            continue;
        const char *v = line + klen + 3, *end = line + len;
        if (*v == '"' || *v == '\'') {
            const char *close = memchr(v + 1, *v, (size_t)(end - v - 1));
            end = close ? close : end;
            v++;
        } else {
            const char *semi = memchr(v, ';', (size_t)(end - v));
            if (semi) end = semi;
            while (end > v && isspace((unsigned char)end[-1])) end--;
        }
        snprintf(val, n, "%.*s", (int)(end - v), v);
        return 1;
    }
    return 0;
}

cg_status cli_resume_check(const char *ckpt, const char *config_text, int force, FILE *log) {
    cg_ckpt_stored stored;
    CG_TRY(cg_checkpoint_stored(ckpt, &stored));
    if (!*stored.config_text) {
        fprintf(log, "train: %s stores no configuration; it cannot be compared with this one\n", ckpt);
        cg_ckpt_stored_free(&stored);
        return CG_OK;
    }
    char changes[2048] = "";
    size_t used = 0;
    int n = 0;
    char section[128] = "";
    for (const char *line = stored.config_text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (line[0] == '[') {
            size_t e = strcspn(line, "]\n");
            snprintf(section, sizeof section, "%.*s", (int)(e > 1 ? e - 1 : 0), line + 1);
            continue;
        }
        char key[128], was[512], now[512];
        size_t klen = strcspn(line, " =\n");
        if (!klen || line[0] == ';' || klen >= sizeof key) continue;
        snprintf(key, sizeof key, "%.*s", (int)klen, line);
        if (!compared(section, key) || !dump_value(stored.config_text, section, key, was, sizeof was) ||
            !dump_value(config_text, section, key, now, sizeof now) || !strcmp(was, now))
            continue;
        if (!strcmp(key, "dataset") && cli_same_file(was, now)) continue; // spelt differently

        n++;
        if (used < sizeof changes)
            used += (size_t)snprintf(changes + used, sizeof changes - used, "\n  [%s] %s: checkpoint %s, now %s",
                                     section, key, was, now);
    }
    cg_ckpt_stored_free(&stored);
    if (n == 0) return CG_OK;
    if (force) {
        fprintf(log, "train: warning: --force: continuing %s with %d changed value%s:%s\n", ckpt, n,
                n > 1 ? "s" : "", changes);
        return CG_OK;
    }
    return cg_fail(CG_ERR_CONFIG, "--resume %s: the configuration differs from the checkpoint's in %d value%s:%s\n"
                   "set them back to continue the run, or add --force to continue with the new values",
                   ckpt, n, n > 1 ? "s" : "", changes);
}
