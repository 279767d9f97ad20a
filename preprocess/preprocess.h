// preprocess.h — clgan's face preprocessing, all of it: CelebA readers (celeba.h), input issues
// (issues.h), host decoding (image_loader.h), parameters and landmark filters (filters.h), device
// crop/resize and brightness (image_ops.h), the packed dataset (dataset.h), the batched pipeline
// (pipeline.h) and its reports (report.h). Synthetic faces (`clgan synth`) have their own header,
// synth.h; in-memory image encoding is encode.h.
#ifndef CLGAN_PREPROCESS_H
#define CLGAN_PREPROCESS_H

#include "celeba.h"
#include "dataset.h"
#include "filters.h"
#include "image_loader.h"
#include "image_ops.h"
#include "issues.h"
#include "pipeline.h"
#include "report.h"

#endif
