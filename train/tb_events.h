// tb_events.h — TensorBoard event files: TFRecord framing (length, masked CRC32C of the length,
// payload, masked CRC32C of the payload) around Event protobufs holding scalar, image (PNG) and
// text summaries, encoded by hand (tb_events.c says why). One writer per file; a file is
// events.out.tfevents.<unix time>.<host>.<suffix> in the run's log folder, which TensorBoard shows
// as one run whatever the number of files.
#ifndef CLGAN_TB_EVENTS_H
#define CLGAN_TB_EVENTS_H

#include "runtime.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cg_tb_writer cg_tb_writer;

// Whether a carried record (its first tag, step, and whether it is text) is left out.
typedef int (*cg_tb_skip)(const char *tag, long step, int text, void *user);

// Opens a writer on a new file in dir (created) with the given suffix ("train", "score") and
// writes the file_version record. With keep_step >= 0 the summary records of the folder's existing
// "<suffix>" files are carried into the new file first, in order: those up to step keep_step, each
// (first tag, step) once, except those skip (may be NULL) names; a truncated or corrupt record ends
// the read of its file (a killed writer). The new file replaces the old ones atomically (they are
// removed once it is in place). keep_step < 0 removes the old "<suffix>" files (a fresh start).
cg_status cg_tb_open(const char *dir, const char *suffix, long keep_step, cg_tb_skip skip, void *user,
                     cg_tb_writer **out);
// Writes n scalars at step in one event; tags[i] NULL skips value i.
cg_status cg_tb_scalars(cg_tb_writer *w, long step, const char *const *tags, const float *values, int n);
// A PNG image summary (height x width, channels 1 or 3).
cg_status cg_tb_image(cg_tb_writer *w, long step, const char *tag, const unsigned char *png, size_t len,
                      int height, int width, int channels);
// A text summary (TensorBoard's text plugin; Markdown).
cg_status cg_tb_text(cg_tb_writer *w, long step, const char *tag, const char *text);
void cg_tb_close(cg_tb_writer *w);
const char *cg_tb_path(const cg_tb_writer *w);

// CRC32C (Castagnoli) of data, and TFRecord's mask of it.
uint32_t cg_crc32c(const void *data, size_t len);
uint32_t cg_tb_masked_crc(const void *data, size_t len);

#endif
