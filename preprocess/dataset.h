// dataset.h — the packed dataset: writer and memory-mapped reader (dataset.c documents the format).
#ifndef CLGAN_DATASET_H
#define CLGAN_DATASET_H

#include "base.h"
#include <stdint.h>

// Packed dataset (dataset.c); the format is documented there. Little-endian, memory-mappable.

#define CG_DATASET_MAGIC "CLGANDS"
#define CG_DATASET_VERSION 1u

typedef struct cg_dataset_writer cg_dataset_writer;
cg_status cg_dataset_writer_open(const char *path, int h, int w, int c, cg_dataset_writer **out);
cg_status cg_dataset_writer_add(cg_dataset_writer *wr, const uint8_t *pixels, const char *name);
cg_status cg_dataset_writer_commit(cg_dataset_writer *wr); // atomic; frees wr
void cg_dataset_writer_abort(cg_dataset_writer *wr);       // frees wr, leaves no file

typedef struct cg_dataset cg_dataset;
// Maps the file and checks magic, version, sizes, the names table and (verify != 0) the checksum.
cg_status cg_dataset_open(const char *path, int verify, cg_dataset **out);
void cg_dataset_close(cg_dataset *ds);
uint32_t cg_dataset_count(const cg_dataset *ds);
void cg_dataset_shape(const cg_dataset *ds, uint32_t *h, uint32_t *w, uint32_t *c);
const uint8_t *cg_dataset_image(const cg_dataset *ds, uint32_t i); // h*w*c bytes, HWC
const char *cg_dataset_name(const cg_dataset *ds, uint32_t i);
uint64_t cg_dataset_checksum(const cg_dataset *ds);

#endif
