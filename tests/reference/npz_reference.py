#!/usr/bin/env python3
"""npz_reference.py write|check DIR -- numpy's side of tests/test_npz.c (needs numpy only).

write: numpy writes, and next to each array its raw C-order bytes (<name>.bin, native float) for
       a bitwise comparison:
         savez.npz, savez_compressed.npz   mu [5] f8, sigma [5, 5] f8, z [4, 3] f4 (np.savez and
                                           np.savez_compressed, as pytorch-fid --save-stats)
         fortran.npy                       a Fortran-ordered [3, 4] f8 array
         big.npy                           '>f8' [6]
         v2.npy, v3.npy                    format versions 2.0 and 3.0, f4 [2, 3]
         zip64.npz                         mu and sigma with zip64 sizes and offsets in the central
                                           directory and a zip64 end record (np.load reads it)
check: loads what clgan wrote (clgan_stats.npz, clgan_z.npy) with np.load and compares it bit for
       bit with the raw bytes clgan wrote beside it (clgan_mu.bin, clgan_sigma.bin, clgan_z.bin).
"""
import io
import os
import struct
import sys
import zipfile
import zlib

try:
    import numpy as np
except ImportError as e:
    print(f"npz_reference: {e}; skipping", file=sys.stderr)
    sys.exit(77)


def specials(n, dtype):
    """Random values plus ones whose bits are easy to lose: -0.0, subnormals, extremes, 1/3."""
    x = np.random.RandomState(1).standard_normal(n).astype(dtype)
    info = np.finfo(dtype)
    x[:5] = [-0.0, info.tiny / 4, -info.max, info.eps, 1.0 / 3.0]
    return x


def save_raw(d, name, a):
    np.ascontiguousarray(a).tofile(os.path.join(d, name + ".bin"))


def zip64_archive(path, arrays):
    """A stored .npz whose central directory uses zip64 fields for sizes and offsets."""
    local, central, offset = b"", b"", 0
    for name, a in arrays.items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, a)
        data, fname = buf.getvalue(), (name + ".npy").encode()
        crc, size = zlib.crc32(data), len(data)
        lx = struct.pack("<HHQQ", 1, 16, size, size)
        lh = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(fname),
                         len(lx))
        cx = struct.pack("<HHQQQ", 1, 24, size, size, offset)
        ch = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x032D, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                         len(fname), len(cx), 0, 0, 0, 0o100600 << 16, 0xFFFFFFFF)
        entry = lh + fname + lx + data
        local += entry
        central += ch + fname + cx
        offset += len(entry)
    n = len(arrays)
    end64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, offset + len(central), 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(local + central + end64 + locator + end)


def write(d):
    mu = specials(5, np.float64)
    sigma = specials(25, np.float64).reshape(5, 5)
    z = specials(12, np.float32).reshape(4, 3)
    np.savez(os.path.join(d, "savez.npz"), mu=mu, sigma=sigma, z=z)
    np.savez_compressed(os.path.join(d, "savez_compressed.npz"), mu=mu, sigma=sigma, z=z)
    for name, a in (("mu", mu), ("sigma", sigma), ("z", z)):
        save_raw(d, name, a)
    f = np.asfortranarray(specials(12, np.float64).reshape(3, 4))
    assert f.flags.f_contiguous and not f.flags.c_contiguous
    np.save(os.path.join(d, "fortran.npy"), f)
    save_raw(d, "fortran", f)
    big = specials(6, np.float64)
    np.save(os.path.join(d, "big.npy"), big.astype(">f8"))
    save_raw(d, "big", big)
    v = specials(6, np.float32).reshape(2, 3)
    for version in ((2, 0), (3, 0)):
        with open(os.path.join(d, f"v{version[0]}.npy"), "wb") as fp:
            np.lib.format.write_array(fp, v, version=version)
    save_raw(d, "v", v)
    path = os.path.join(d, "zip64.npz")
    zip64_archive(path, {"mu": mu, "sigma": sigma})
    with np.load(path) as npz:  # numpy itself must accept the hand-made archive
        assert np.array_equal(npz["mu"], mu) and np.array_equal(npz["sigma"], sigma)
    zipfile.ZipFile(path).testzip()


def same_bits(a, raw_path, dtype):
    raw = np.fromfile(raw_path, dtype=dtype)
    return a.dtype == dtype and a.size == raw.size and a.tobytes() == raw.tobytes()


def check(d):
    ok = True
    with np.load(os.path.join(d, "clgan_stats.npz")) as f:  # as pytorch-fid loads statistics
        mu, sigma = f["mu"][:], f["sigma"][:]
    ok &= mu.ndim == 1 and sigma.shape == (mu.size, mu.size)
    ok &= same_bits(mu, os.path.join(d, "clgan_mu.bin"), np.float64)
    ok &= same_bits(sigma, os.path.join(d, "clgan_sigma.bin"), np.float64)
    z = np.load(os.path.join(d, "clgan_z.npy"))
    ok &= z.shape == (3, 2, 5) and same_bits(z, os.path.join(d, "clgan_z.bin"), np.float32)
    print(f"npz_reference: clgan's files load in numpy {'with exact values' if ok else 'WITH DIFFERENCES'}")
    return 0 if ok else 1


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "write":
        write(sys.argv[2])
        return 0
    return check(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
