#!/usr/bin/env python3
# make_corpus.py — writes the hand-made seed inputs of tests/fuzz/corpus/<format>/seed_*: small
# valid files of every format and a few near misses, built here byte by byte (no CelebA data).
# Run from anywhere: python3 tests/fuzz/make_corpus.py. Crash inputs found later live beside the
# seeds as crash_* files and are never rewritten by this script.
import json, os, struct, subprocess, sys, tempfile, zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(fmt, name, data):
    d = os.path.join(ROOT, fmt)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def fnv1a64(data, h=0xCBF29CE484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def safetensors(tensors, meta=None):
    header, payload = {}, b""
    if meta:
        header["__metadata__"] = meta
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(payload), len(payload) + len(data)]}
        payload += data
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + payload


def npy(shape, values, descr="<f4", fortran=False, version=1):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, "True" if fortran else "False", "".join("%d, " % s for s in shape) if len(shape) != 1 else "%d," % shape[0])
    pre = 10 if version == 1 else 12
    d += " " * ((64 - (pre + len(d) + 1) % 64) % 64) + "\n"
    hl = struct.pack("<H", len(d)) if version == 1 else struct.pack("<I", len(d))
    code = descr[1] + ("f" if descr[2] == "4" else "d")
    body = struct.pack(("<" if descr[0] == "<" else ">") + "%d%s" % (len(values), code[1]), *values)
    return b"\x93NUMPY" + bytes([version, 0]) + hl + d.encode("latin1") + body


def npz(entries, deflate=False):
    out, central = b"", b""
    for name, data in entries:
        n = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        comp = zlib.compress(data)[2:-4] if deflate else data
        method = 8 if deflate else 0
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(comp), len(data), len(n), 0)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(comp),
                               len(data), len(n), 0, 0, 0, 0, 0o600 << 16, len(out)) + n
        out += local + n + comp
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(out), 0)
    return out + central + end


def dataset(h, w, c, images, names):
    payload = b"".join(images)
    table = b"".join(n.encode() + b"\0" for n in names)
    head = b"CLGANDS\0" + struct.pack("<IIIIII", 1, len(images), h, w, c, 0)
    head += struct.pack("<QQQQ", fnv1a64(payload + table), 64, 64 + len(payload), len(table))
    return head + payload + table


def png(w, h, rgb):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + bytes(rgb[y * w * 3:(y + 1) * w * 3]) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bmp(w, h, rgb):
    row = (w * 3 + 3) & ~3
    pix = b"".join(bytes(rgb[(h - 1 - y) * w * 3:(h - y) * w * 3]) + b"\0" * (row - w * 3) for y in range(h))
    return (b"BM" + struct.pack("<IHHI", 54 + len(pix), 0, 0, 54) +
            struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pix), 2835, 2835, 0, 0) + pix)


def jpeg(w, h, rgb):
    """Encoded by stb_image_write (libstb-dev) through a throw-away C program; None without a compiler."""
    src = r'''
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stdio.h>
int main(int argc, char **argv) {
    static unsigned char px[3 * 64 * 64];
    int w = atoi(argv[2]), h = atoi(argv[3]);
    if (fread(px, 1, (size_t)(3 * w * h), stdin) != (size_t)(3 * w * h)) return 1;
    return !stbi_write_jpg(argv[1], w, h, 3, px, 80);
}
'''
    with tempfile.TemporaryDirectory() as tmp:
        c, exe, out = os.path.join(tmp, "j.c"), os.path.join(tmp, "j"), os.path.join(tmp, "o.jpg")
        open(c, "w").write(src)
        if subprocess.call(["cc", "-o", exe, c, "-lm"], stderr=subprocess.DEVNULL) != 0:
            return None
        subprocess.run([exe, out, str(w), str(h)], input=bytes(rgb), check=True)
        return open(out, "rb").read()


def main():
    f32 = lambda *v: struct.pack("<%df" % len(v), *v)
    # safetensors: weights, a checkpoint-like file with metadata, other dtypes, an empty one
    put("safetensors", "weights", safetensors([("fc.weight", "F32", [2, 3], f32(*range(6))),
                                               ("fc.bias", "F32", [2], f32(1, 2))]))
    put("safetensors", "checkpoint", safetensors(
        [("generator.0.weight", "F32", [1, 1, 2, 2], f32(1, 2, 3, 4)), ("opt.m", "F32", [3], f32(0, 0, 0)),
         ("step", "I64", [1], struct.pack("<q", 7))],
        {"format": "2", "step": "7", "model_type": "dcgan", "nz": "4", "checksum": "0123456789abcdef"}))
    put("safetensors", "dtypes", safetensors([("a", "F16", [2], b"\0\x3c\0\x40"), ("b", "U8", [3], b"abc"),
                                              ("c", "F32", [0, 5], b""), ("d", "BF16", [], b"\x80\x3f")]))
    put("safetensors", "empty", safetensors([]))
    # checkpoints: the metadata a training checkpoint describes its run with
    meta = {"format": "2", "step": "12", "batches": "12", "noise_batches": "12", "opt_g_step": "12",
            "opt_d_step": "12", "seed": "7", "rng": "0", "model_type": "dcgan", "image_size": "32", "channels": "3",
            "nz": "16", "ngf": "8", "ndf": "8", "config": "[train]\nmodel = dcgan\nbatch_size = 4\n",
            "checksum": "0123456789abcdef"}
    put("checkpoint", "dcgan", safetensors([("generator.0.weight", "F32", [2, 2], f32(1, 2, 3, 4))], meta))
    put("checkpoint", "wgan_gp", safetensors([], dict(meta, model_type="wgan-gp", nz="100", step="0")))
    put("checkpoint", "no_model", safetensors([], {"format": "2", "step": "1"}))
    # npy: float32, float64, big-endian Fortran order, version 2, a scalar
    put("npy", "f4", npy([2, 3], [0.5 * i for i in range(6)]))
    put("npy", "f8", npy([3], [1.0, -2.0, 3.5], "<f8"))
    put("npy", "f8_be_fortran", npy([2, 2], [1, 2, 3, 4], ">f8", fortran=True))
    put("npy", "v2", npy([1, 2, 2], [1, 2, 3, 4], "<f4", version=2))
    put("npy", "scalar", npy([], [42.0], "<f8"))
    # npz: pytorch-fid statistics, stored and deflated, and an entry "x"
    mu, sigma = npy([2], [0.1, 0.2], "<f8"), npy([2, 2], [1.0, 0.5, 0.5, 2.0], "<f8")
    put("npz", "stats_stored", npz([("mu.npy", mu), ("sigma.npy", sigma)]))
    put("npz", "stats_deflated", npz([("mu.npy", mu), ("sigma.npy", sigma)], deflate=True))
    put("npz", "x", npz([("x.npy", npy([2, 2], [1, 2, 3, 4]))], deflate=True))
    # packed datasets
    put("dataset", "two", dataset(2, 2, 3, [bytes(range(12)), bytes(range(12, 24))], ["000001.jpg", "000002.jpg"]))
    put("dataset", "gray", dataset(1, 3, 1, [b"\1\2\3"], ["a.png"]))
    put("dataset", "empty", dataset(4, 4, 3, [], []))
    # images: PNG, BMP, PPM, PGM, TGA, JPEG
    rgb = [(x * 37 + y * 11 + k * 91) % 256 for y in range(8) for x in range(8) for k in range(3)]
    put("image", "png", png(8, 8, rgb))
    put("image", "bmp", bmp(8, 8, rgb))
    put("image", "ppm", b"P6\n8 8\n255\n" + bytes(rgb))
    put("image", "pgm", b"P5 4 2 255\n" + bytes(range(0, 256, 32)))
    put("image", "tga", struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, 8, 8, 24, 0) + bytes(rgb))
    j = jpeg(8, 8, rgb)
    if j:
        put("image", "jpg", j)
    # GEMM tuning bodies (the harness appends the checksum line); one already signed
    body = ("# clgan GEMM tuning\nversion = 1\ndevice = pthread-cpu\ndriver = 5.0\nplatform = Portable Computing "
            "Language\nown.enabled = 1\nown.min_mnk = 262144\nown.lx = 16\nown.ly = 8\nown.kc = 64\n"
            "param.Xgemm.MWG = 64\nparam.Xgemm.NWG = 32\nnote = tuned\n")
    put("tuning", "body", body)
    put("tuning", "signed", body + "checksum = %016x\n" % fnv1a64(body.encode()))
    put("tuning", "bad_line", "version = 1\ndevice = x\nnot a pair\n")
    # program-cache entries: flag byte (1 = harness fixes the checksum), then the entry
    key = b"fuzz key: source hash | options | device | driver | version"
    binary = b"\x7fELF fake binary"
    entry = b"CLGANBIN" + struct.pack("<II", 1, len(key)) + key + struct.pack("<Q", len(binary)) + binary
    put("program_cache", "fixed", b"\1" + entry + struct.pack("<Q", 0))
    put("program_cache", "signed", b"\0" + entry + struct.pack("<Q", fnv1a64(key + binary)))
    put("program_cache", "foreign_key", b"\1" + b"CLGANBIN" + struct.pack("<II", 1, 3) + b"abc" +
        struct.pack("<Q", 1) + b"x" + struct.pack("<Q", 0))
    # configurations: the shipped kinds of INI files plus --set lines after a NUL byte
    put("config", "preprocess", "[preprocess]\ninput = data/synth\noutput = out/ds.bin\nsize = 64\nmax_side = 4096\n"
        "partition = train\n\n[device]\ntype = cpu\n\0preprocess.size=32\ntrain.batch_size=16\n")
    put("config", "train", "; comment\n[train]\nmodel = dcgan\nbatch_size = 64\nlr = 0.0002\nshuffle = yes\n"
        "[model]\nnz = 100\n\0train.lr=1e-3\ntrain.shuffle=off\nnosection=1\n=x\ntrain.=3\n")
    put("config", "quotes", "[a]\nk = \"quoted ; value\"\nmulti = one \\\n  two\n[b c]\nx=\n")
    # CelebA lists: flag byte (which lists are given: 1 landmarks, 2 attributes, 4 partitions), NUL-separated
    lm = ("3\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x "
          "rightmouth_y\n000001.jpg 69 109 106 113 77 142 73 152 108 154\n000002.jpg 69 110 107 112 81 135 70 151 "
          "108 153\n000009.jpg 1 2 3 4 5 6 7 8 9 10\n")
    at = "2\n5_o_Clock_Shadow Eyeglasses Male\n000001.jpg -1 1 -1\r\n000002.jpg 1 -1 1\r\n"
    pa = "000001.jpg 0\n000002.jpg 1\n000003.png 2\n"
    put("celeba", "all", b"\7" + lm.encode() + b"\0" + at.encode() + b"\0" + pa.encode())
    put("celeba", "attributes", b"\2\0" + at.encode() + b"\0")
    put("celeba", "bad_rows", b"\7" + b"1\n000001.jpg 1 2 x\n\0" + b"x\nA B\n000001.jpg 1\n\0000002.jpg 7\n")


if __name__ == "__main__":
    sys.exit(main())
