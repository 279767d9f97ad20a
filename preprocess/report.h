// report.h — what a preprocessing run reports: the stage table, the JSON report and the contact
// sheets of rejected faces (report.c).
#ifndef CLGAN_REPORT_H
#define CLGAN_REPORT_H

#include "pipeline.h"
#include <stdio.h>

// Reports (report.c).

void cg_pp_report_print(const cg_pp_result *r, FILE *f);  // the stage table and issue summary
// Writes the JSON report atomically to path.
cg_status cg_pp_report_write(const cg_pp_result *r, const cg_pp_params *p, const char *path);
// Default report path for p: p->report, else "<output stem>_report.json", else "preprocess_report.json".
void cg_pp_report_path(const cg_pp_params *p, char *buf, size_t len);
// Writes "<stem>_rejects_frontal.png" and "<stem>_rejects_sunglasses.png" where sheets have images;
// the paths written are listed in written[0..1] ("" when none).
cg_status cg_pp_write_sheets(const cg_pp_result *r, const cg_pp_params *p, char written[2][1024]);

#endif
