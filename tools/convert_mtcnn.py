#!/usr/bin/env python3
"""convert_mtcnn.py — MTCNN weights (facenet-pytorch's P-Net, R-Net, O-Net) to one safetensors file
for clgan (`pnet.conv1.weight`, ..., facenet-pytorch's state_dict names under the net's name).

  tools/convert_mtcnn.py --f32 DIR OUT.safetensors   # DIR/{pnet,rnet,onet}.f32 + .f32.txt (no torch)
  tools/convert_mtcnn.py --pt DIR OUT.safetensors    # DIR/{pnet,rnet,onet}.pt (facenet-pytorch's data/; torch)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_file import write_safetensors  # noqa: E402

NETS = ("pnet", "rnet", "onet")


def from_f32(d):
    out = []
    for net in NETS:
        raw = open(os.path.join(d, net + ".f32"), "rb").read()
        for line in open(os.path.join(d, net + ".f32.txt")):
            if line.startswith("#") or not line.strip():
                continue
            name, shape, off, count = line.split()
            shape = [int(s) for s in shape.split("x")]
            off, count = int(off), int(count)
            out.append((net + "." + name, shape, raw[4 * off:4 * (off + count)]))
    return out


def from_pt(d):
    import torch
    out = []
    for net in NETS:
        sd = torch.load(os.path.join(d, net + ".pt"), map_location="cpu")
        for name, t in sd.items():
            t = t.detach().float().contiguous()
            out.append((net + "." + name, list(t.shape), t.numpy().astype("<f4").tobytes()))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--f32", metavar="DIR")
    g.add_argument("--pt", metavar="DIR")
    ap.add_argument("out")
    a = ap.parse_args()
    tensors = from_f32(a.f32) if a.f32 else from_pt(a.pt)
    write_safetensors(a.out, tensors, {"format": "clgan-mtcnn", "source": "facenet-pytorch"})
    print("%s: %d tensors" % (a.out, len(tensors)))


if __name__ == "__main__":
    sys.exit(main())
