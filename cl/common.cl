// common.cl — definitions shared by every kernel family; prepended to each program.
// CG_WG (preferred 1-D work-group size) arrives as a -D define from the runtime's vendor table.
#ifndef CG_WG
#define CG_WG 64
#endif
