// common.cl — definitions shared by every kernel family; prepended to each program.
// CG_WG (preferred 1-D work-group size) arrives as a -D define from the runtime's vendor table.
#ifndef CG_WG
#define CG_WG 64
#endif

// ---- strided tensor views (nets: activations, normalisation, pooling) -------------------------
// Element i of a view, counted in dense NCHW order, lives at off + (i / per) * sn + i % per, where
// per = C*H*W is the sample size and sn the sample stride; sn == per is the contiguous case.
ulong cg_view_at(ulong i, ulong off, ulong sn, ulong per) {
    return sn == per ? off + i : off + (i / per) * sn + i % per;
}
// ---- end strided tensor views -----------------------------------------------------------------
