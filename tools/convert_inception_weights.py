#!/usr/bin/env python3
"""convert_inception_weights.py IN.pth OUT.safetensors -- pytorch-fid's Inception weights for clgan.

IN.pth is pytorch-fid's FID Inception state_dict, pt_inception-2015-12-05-6726825d.pth, the release
asset behind pytorch_fid.inception.FID_WEIGHTS_URL:
  https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
(pytorch-fid also caches it under ~/.cache/torch/hub/checkpoints/ once it has run.)
OUT.safetensors keeps the state_dict names (Conv2d_1a_3x3.conv.weight, Mixed_5b.branch1x1.bn.running_mean,
fc.weight, ...) with float32 data; integer tensors (num_batches_tracked) are dropped. The format is
written by tools/safetensors_file.py, so only torch is needed: run it with /usr/bin/python3 (Debian's python3-torch).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_file import f32_entry, write_safetensors  # noqa: E402


def state_dict_tensors(state_dict):
    """(name, shape, float32 bytes) for every floating tensor, num_batches_tracked and other integers skipped."""
    out = []
    for name, t in state_dict.items():
        if name.endswith("num_batches_tracked") or not t.is_floating_point():
            continue
        out.append(f32_entry(name, t))
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    import torch
    sd = torch.load(sys.argv[1], map_location="cpu")
    if not isinstance(sd, dict) or "fc.weight" not in sd or "Mixed_7c.branch_pool.conv.weight" not in sd:
        print(f"{sys.argv[1]}: not pytorch-fid's Inception state_dict (no fc.weight / Mixed_7c tensors)", file=sys.stderr)
        return 1
    tensors = state_dict_tensors(sd)
    write_safetensors(sys.argv[2], tensors, {"source": os.path.basename(sys.argv[1]), "format": "pytorch-fid 0.3.0"})
    print(f"wrote {sys.argv[2]}: {len(tensors)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
