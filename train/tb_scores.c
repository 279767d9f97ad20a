// tb_scores.c — `clgan score` results into the TensorBoard run of the checkpoint's training: the
// checkpoint's stored configuration names the log folder ([train] tensorboard, log_dir), found
// beside the checkpoint (its run folder); the scores are scalars at the checkpoint's step in a file
// of their own (suffix "score"), kept across runs of score; scoring a step again replaces its values.
#include "checkpoint_config.h"
#include "tb_events.h"
#include "train.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// The value of `key` in [train] of an effective-configuration dump (runtime/config.c's format:
// "key = value", quoted when it holds spaces or ';', then an optional "; note").
static int train_value(const char *text, const char *key, char *out, size_t len) {
    int in_train = 0;
    size_t kl = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (*line == '[') in_train = !strncmp(line, "[train]", 7);
        if (!in_train || strncmp(line, key, kl) || strncmp(line + kl, " = ", 3)) continue;
        const char *v = line + kl + 3, *end;
        if (*v == '"' || *v == '\'') {
            end = strchr(v + 1, *v);
            v++;
            if (!end) return 0;
        } else {
            end = v + strcspn(v, "\n");
            const char *note = strstr(v, " ;");
            if (note && note < end) end = note;
            while (end > v && isspace((unsigned char)end[-1])) end--;
        }
        snprintf(out, len, "%.*s", (int)(end - v), v);
        return 1;
    }
    return 0;
}

// A new score of a step replaces the earlier ones of that step.
static int skip_step(const char *tag, long step, int text, void *user) {
    (void)tag, (void)text;
    return step == *(const long *)user;
}

static int is_off(const char *v) {
    return !strcasecmp(v, "false") || !strcasecmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "off");
}

cg_status cg_tb_log_scores(const char *checkpoint, const char *const *tags, const double *values, int n, char *written,
                           size_t written_len) {
    if (written_len) written[0] = 0;
    cg_ckpt_stored s;
    if (cg_checkpoint_stored(checkpoint, &s) != CG_OK) return CG_OK; // not a training checkpoint
    char on[32] = "true", sub[1024] = "tensorboard", dir[2200];
    train_value(s.config_text, "tensorboard", on, sizeof on);
    train_value(s.config_text, "log_dir", sub, sizeof sub);
    long step = s.step;
    cg_ckpt_stored_free(&s);
    if (is_off(on) || !*sub) return CG_OK;
    if (sub[0] == '/') {
        snprintf(dir, sizeof dir, "%s", sub);
    } else {
        const char *slash = strrchr(checkpoint, '/');
        snprintf(dir, sizeof dir, "%.*s%s", slash ? (int)(slash - checkpoint + 1) : 0, checkpoint, sub);
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) return CG_OK; // the checkpoint left its run folder
    const char *kept[8];
    float v[8];
    int m = 0;
    for (int i = 0; i < n && m < 8; i++)
        if (!isnan(values[i])) kept[m] = tags[i], v[m++] = (float)values[i];
    cg_tb_writer *w = NULL;
    CG_TRY(cg_tb_open(dir, "score", 0x7fffffffL, skip_step, &step, &w));
    cg_status st = cg_tb_scalars(w, step, kept, v, m);
    if (st == CG_OK && written_len) snprintf(written, written_len, "%s", cg_tb_path(w));
    cg_tb_close(w);
    return st;
}
