// rng.cl — Philox4x32-10 random numbers (uniform and standard normal) that are identical, bit for
// bit, on the host and on every OpenCL 1.2 device. This one file is both the kernel family "rng"
// and, through `#include "../cl/rng.cl"` in runtime/rng.c, the host implementation: the math below
// is compiled once as OpenCL C and once as C11, so there is a single copy of every constant.
//
// Stream layout. A stream is (seed, stream), both 64-bit; its elements are indexed by i (64-bit).
//   key  = {seed lo32, seed hi32}
//   ctr  = {block lo32, block hi32, stream lo32, stream hi32}
//   uniform element i: block = i >> 2, Philox output word i & 3 = w;
//       u = ((w >> 9) * 2 + 1) * 2^-24, exact: an odd multiple of 2^-24 in [2^-24, 1 - 2^-24].
//   normal element i:  block = (i >> 1) | 2^63, words 2*(i & 1) -> w1 and 2*(i & 1) + 1 -> w2;
//       z = sqrt(-2 ln u1) * cos(2 pi u2) with u1, u2 formed from w1, w2 as above.
//       Bit 63 of the block keeps normal draws apart from uniform draws of the same stream
//       (uniform blocks are below 2^62), so the two kinds never share Philox output.
//   Each element depends only on (seed, stream, i): never on how many are generated or where.
//
// Portability of the normal transform. OpenCL allows log/sin/cos/sqrt and even '/' to be off by
// several ulp, differently per vendor, so the transform uses only integer operations and float
// add, subtract and multiply, which IEEE 754 and OpenCL round correctly everywhere. Each
// statement holds at most one rounding operation and contraction is off (the pragma below; the
// host builds with -ffp-contract=off), so no compiler may fuse a*b+c into an fma; with one
// operation per statement even a compiler that ignores the pragma but contracts only within an
// expression (clang's default, -ffp-contract=on) finds nothing to fuse. No operation
// produces a denormal (devices may flush them). The program must not be built with
// -cl-mad-enable, -cl-unsafe-math-optimizations or -cl-fast-relaxed-math.
//   ln u1:  u1 = 2^e * m with m in [sqrt(1/2), sqrt(2)) from the bits; f = m - 1 (exact);
//           ln m = f + f^2 P(f), P of degree 8; ln u1 = e*LN2_HI (exact) + (e*LN2_LO + ln m).
//   sqrt x: x = -2 ln u1 in [1.19e-7, 33.3]; rsqrt guess from the bits (0x5f3759df), two Newton
//           steps, r = x*y, then one correction r += (x - r*r) * y/2 with the residual computed
//           exactly (Dekker's product by Veltkamp splitting).
//   cos(2 pi u2): the quadrant is the top 2 of the 23 bits of u2, the rest is t in (0, 1) with
//           angle (pi/2) t inside the quadrant; t > 1/2 is folded to 1 - t (exact, in integers)
//           by swapping sin and cos; sin(pi/2 t) = t S(t^2), cos(pi/2 t) = 1 + t^2 C(t^2), both
//           of degree 3 on t in (0, 1/2].
//   Polynomials: near-minimax fits (Lawson's iteratively reweighted least squares on 3000
//   Chebyshev nodes, reference values from mpmath at 40 digits), coefficients rounded to float
//   one at a time from the lowest order up, refitting the higher ones after each rounding.
//   Approximation error with those float coefficients (exact arithmetic): ln: 4.2e-9 relative;
//   sin: 5.0e-9 absolute; cos: 4.1e-10 absolute.
//   Measured in float arithmetic against double precision over all 2^23 values of u1 and of u2
//   (tests/test_rng.c): r = sqrt(-2 ln u1) within 3.5e-7 (r <= 5.769; the sqrt step alone is
//   within 0.5 ulp), cos(2 pi u2) within 6.9e-8, hence every z within
//   3.5e-7 + 5.769 * 6.9e-8 + ulp(z)/2 < 9.9e-7 of double Box-Muller on the same uniforms.
//
// Kernels. One work-item computes one Philox block and writes the elements of that block that
// fall inside [first, first + n): up to 4 uniforms or 2 normals. Work-item g handles block
// (first >> 2) + g (uniform) or (first >> 1) + g (normal); the launch covers every block touched
// and items past the last block return at once. Element first + j goes to out[off + j].
//   rng_uniform(out, off, n, seed, stream, first, lo, hi):   out = lo + (hi - lo) * u
//   rng_normal(out, off, n, seed, stream, first, mean, std): out = mean + std * z
// (one multiply, then one add; the host computes the same way).

#ifdef __OPENCL_VERSION__
#pragma OPENCL FP_CONTRACT OFF
typedef uint cg_rng_u32;
typedef ulong cg_rng_u64;
#define CG_RNG_FN
#define CG_RNG_MULHI(a, b) mul_hi((uint)(a), (uint)(b))
#define CG_RNG_AS_U32(x) as_uint(x)
#define CG_RNG_AS_F32(x) as_float(x)
#else
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off") // also under -std=gnu11, whose default is =fast
#endif
#include <stdint.h>
#include <string.h>
typedef uint32_t cg_rng_u32;
typedef uint64_t cg_rng_u64;
#define CG_RNG_FN static inline
#define CG_RNG_MULHI(a, b) ((cg_rng_u32)(((cg_rng_u64)(a) * (cg_rng_u64)(b)) >> 32))
static inline cg_rng_u32 cg_rng_as_u32_(float x) {
    cg_rng_u32 u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline float cg_rng_as_f32_(cg_rng_u32 u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
#define CG_RNG_AS_U32(x) cg_rng_as_u32_(x)
#define CG_RNG_AS_F32(x) cg_rng_as_f32_(x)
#endif

#define CG_PHILOX_M0 0xD2511F53u
#define CG_PHILOX_M1 0xCD9E8D57u
#define CG_PHILOX_W0 0x9E3779B9u
#define CG_PHILOX_W1 0xBB67AE85u

// Philox4x32 with 10 rounds (Salmon et al., SC'11; Random123's philox4x32_10).
CG_RNG_FN void cg_rng_philox(const cg_rng_u32 ctr[4], const cg_rng_u32 key[2], cg_rng_u32 out[4]) {
    cg_rng_u32 c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    cg_rng_u32 k0 = key[0], k1 = key[1];
    for (int rnd = 0; rnd < 10; rnd++) {
        if (rnd > 0) {
            k0 += CG_PHILOX_W0;
            k1 += CG_PHILOX_W1;
        }
        cg_rng_u32 hi0 = CG_RNG_MULHI(CG_PHILOX_M0, c0), lo0 = CG_PHILOX_M0 * c0;
        cg_rng_u32 hi1 = CG_RNG_MULHI(CG_PHILOX_M1, c2), lo1 = CG_PHILOX_M1 * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

// The 4 words of Philox block `block` of stream (seed, stream).
CG_RNG_FN void cg_rng_block(cg_rng_u64 seed, cg_rng_u64 stream, cg_rng_u64 block, cg_rng_u32 out[4]) {
    cg_rng_u32 ctr[4], key[2];
    ctr[0] = (cg_rng_u32)block;
    ctr[1] = (cg_rng_u32)(block >> 32);
    ctr[2] = (cg_rng_u32)stream;
    ctr[3] = (cg_rng_u32)(stream >> 32);
    key[0] = (cg_rng_u32)seed;
    key[1] = (cg_rng_u32)(seed >> 32);
    cg_rng_philox(ctr, key, out);
}

#define CG_RNG_NORMAL_BLOCK_BIT ((cg_rng_u64)1 << 63)

// Uniform in (0, 1) from a 32-bit word: ((w >> 9) * 2 + 1) * 2^-24, exact.
CG_RNG_FN float cg_rng_u01(cg_rng_u32 w) {
    cg_rng_u32 k = (w >> 9) * 2u + 1u;
    return (float)k * 0x1p-24f;
}

// ln(1 + f) = f + f^2 * P(f) on f in [sqrt(1/2) - 1, sqrt(2) - 1]; relative error 4.2e-9.
#define CG_RNG_LN_P0 -0x1.fffff8p-2f
#define CG_RNG_LN_P1 0x1.55555p-2f
#define CG_RNG_LN_P2 -0x1.000438p-2f
#define CG_RNG_LN_P3 0x1.99a428p-3f
#define CG_RNG_LN_P4 -0x1.542402p-3f
#define CG_RNG_LN_P5 0x1.226b2ap-3f
#define CG_RNG_LN_P6 -0x1.0f4f0ep-3f
#define CG_RNG_LN_P7 0x1.087e6p-3f
#define CG_RNG_LN_P8 -0x1.383ebcp-4f
// ln 2 = LN2_HI + LN2_LO (to 5.5e-14); LN2_HI has 15 significant bits, so e * LN2_HI is exact.
#define CG_RNG_LN2_HI 0x1.62e4p-1f
#define CG_RNG_LN2_LO 0x1.7f7d1cp-20f
// sin(pi/2 t) = t * S(t^2) on t in [0, 1/2]; absolute error 5.0e-9.
#define CG_RNG_SIN_S0 0x1.921fb4p+0f
#define CG_RNG_SIN_S1 -0x1.4abb68p-1f
#define CG_RNG_SIN_S2 0x1.46496cp-4f
#define CG_RNG_SIN_S3 -0x1.2a7638p-8f
// cos(pi/2 t) = 1 + t^2 * C(t^2) on t in [0, 1/2]; absolute error 4.1e-10.
#define CG_RNG_COS_C0 -0x1.3bd3ccp+0f
#define CG_RNG_COS_C1 0x1.03c1aep-2f
#define CG_RNG_COS_C2 -0x1.55b146p-6f
#define CG_RNG_COS_C3 0x1.d47d5ep-11f

// -2 ln(u) for u = k * 2^-24, k odd in [1, 2^24 - 1]: a value in [1.19e-7, 33.28].
CG_RNG_FN float cg_rng_minus2ln(float u) {
    cg_rng_u32 bits = CG_RNG_AS_U32(u);
    int e = (int)(bits >> 23) - 127;
    cg_rng_u32 mbits = bits & 0x7fffffu;
    if (mbits > 0x3504f3u) { // mantissa >= sqrt(2): use m / 2 and e + 1
        mbits |= 0x3f000000u;
        e += 1;
    } else {
        mbits |= 0x3f800000u;
    }
    float m = CG_RNG_AS_F32(mbits);
    float f = m - 1.0f; // exact (Sterbenz)
    float p = CG_RNG_LN_P8;
    p = p * f;
    p = p + CG_RNG_LN_P7;
    p = p * f;
    p = p + CG_RNG_LN_P6;
    p = p * f;
    p = p + CG_RNG_LN_P5;
    p = p * f;
    p = p + CG_RNG_LN_P4;
    p = p * f;
    p = p + CG_RNG_LN_P3;
    p = p * f;
    p = p + CG_RNG_LN_P2;
    p = p * f;
    p = p + CG_RNG_LN_P1;
    p = p * f;
    p = p + CG_RNG_LN_P0;
    float f2 = f * f;
    float tail = f2 * p;
    float lnm = f + tail;
    float fe = (float)e;
    float hi = fe * CG_RNG_LN2_HI; // exact
    float lo = fe * CG_RNG_LN2_LO;
    lo = lo + lnm;
    float ln = hi + lo;
    return ln * -2.0f; // exact
}

// sqrt(x) for x in [1e-7, 40], within about half an ulp.
CG_RNG_FN float cg_rng_sqrt(float x) {
    float y = CG_RNG_AS_F32(0x5f3759dfu - (CG_RNG_AS_U32(x) >> 1)); // rsqrt to 0.2%
    float hx = 0.5f * x;
    for (int it = 0; it < 2; it++) { // y *= 1.5 - x/2 * y^2
        float yy = y * y;
        float t = hx * yy;
        t = 1.5f - t;
        y = y * t;
    }
    float r = x * y;
    // Exact r*r = p + err (Veltkamp split of r into 12-bit halves, Dekker's product).
    float p = r * r;
    float c = 4097.0f * r;
    float rh = c - r;
    rh = c - rh;
    float rl = r - rh;
    float err = rh * rh;
    err = err - p;
    float cross = rh * rl;
    cross = cross * 2.0f;
    err = err + cross;
    float ll = rl * rl;
    err = err + ll;
    float res = x - p; // exact: p is within a few ulp of x
    res = res - err;
    float hy = 0.5f * y;
    float corr = res * hy;
    return r + corr;
}

// cos(2 pi u) for u = ((w >> 9) * 2 + 1) * 2^-24, from the bits of w.
CG_RNG_FN float cg_rng_cos2pi(cg_rng_u32 w) {
    cg_rng_u32 k = w >> 9;                         // 23 bits: u = (2k + 1) 2^-24
    cg_rng_u32 q = k >> 21;                        // quadrant
    cg_rng_u32 v = ((k & 0x1fffffu) << 1) | 1u;    // angle in quadrant = (pi/2) v 2^-22, v odd
    cg_rng_u32 swap = 0;
    if (v > 0x200000u) { // t > 1/2: sin and cos of (pi/2)(1 - t) instead
        v = 0x400000u - v;
        swap = 1;
    }
    float t = (float)v * 0x1p-22f; // exact, in (0, 1/2)
    float s = t * t;
    float res;
    if (((q & 1u) ^ swap) != 0u) { // sin(pi/2 t)
        float a = CG_RNG_SIN_S3;
        a = a * s;
        a = a + CG_RNG_SIN_S2;
        a = a * s;
        a = a + CG_RNG_SIN_S1;
        a = a * s;
        a = a + CG_RNG_SIN_S0;
        res = t * a;
    } else { // cos(pi/2 t)
        float a = CG_RNG_COS_C3;
        a = a * s;
        a = a + CG_RNG_COS_C2;
        a = a * s;
        a = a + CG_RNG_COS_C1;
        a = a * s;
        a = a + CG_RNG_COS_C0;
        a = a * s;
        res = 1.0f + a;
    }
    if (((q + 1u) & 2u) != 0u) res = -res; // quadrants 1 and 2 are negative
    return res;
}

// Standard normal from two Philox words (Box-Muller, cosine branch).
CG_RNG_FN float cg_rng_normal_pair(cg_rng_u32 w1, cg_rng_u32 w2) {
    float r = cg_rng_sqrt(cg_rng_minus2ln(cg_rng_u01(w1)));
    float c = cg_rng_cos2pi(w2);
    return r * c;
}

#ifdef __OPENCL_VERSION__

__kernel void rng_uniform(__global float *out, ulong off, ulong n, ulong seed, ulong stream, ulong first,
                          float lo, float hi) {
    if (n == 0) return;
    ulong last = first + (n - 1);
    ulong block = (first >> 2) + get_global_id(0);
    if (block > (last >> 2)) return;
    uint w[4];
    cg_rng_block(seed, stream, block, w);
    float d = hi - lo;
    for (uint j = 0; j < 4u; j++) {
        ulong i = (block << 2) + j;
        if (i < first || i > last) continue;
        float u = cg_rng_u01(w[j]);
        float v = d * u;
        out[off + (i - first)] = lo + v;
    }
}

__kernel void rng_normal(__global float *out, ulong off, ulong n, ulong seed, ulong stream, ulong first,
                         float mean, float std) {
    if (n == 0) return;
    ulong last = first + (n - 1);
    ulong pair = (first >> 1) + get_global_id(0);
    if (pair > (last >> 1)) return;
    uint w[4];
    cg_rng_block(seed, stream, pair | CG_RNG_NORMAL_BLOCK_BIT, w);
    for (uint j = 0; j < 2u; j++) {
        ulong i = (pair << 1) + j;
        if (i < first || i > last) continue;
        float z = cg_rng_normal_pair(w[2 * j], w[2 * j + 1]);
        float v = std * z;
        out[off + (i - first)] = mean + v;
    }
}

#endif
