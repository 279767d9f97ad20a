#!/usr/bin/env python3
"""convert_realesrgan.py IN.pth OUT.safetensors -- Real-ESRGAN's compact upscaler weights for clgan.

IN.pth is an SRVGGNetCompact checkpoint as the Real-ESRGAN project releases them (realesr-animevideov3.pth,
realesr-general-x4v3.pth): a dict holding the state_dict under "params_ema" or "params", or a bare
state_dict. OUT.safetensors keeps the state_dict names (body.0.weight, body.1.weight (a PReLU),
body.0.bias, ...) with float32 data; `clgan upscale --weights` infers the number of convolutions, the
features and the scale from their shapes. Written atomically by tools/safetensors_file.py; only torch is needed: run it with /usr/bin/python3
(Debian's python3-torch). Exit code 1 with a message on a file that is not such a checkpoint.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_file import f32_entry, write_safetensors  # noqa: E402


def state_dict_of(ck):
    if isinstance(ck, dict):
        for key in ("params_ema", "params"):
            if key in ck and isinstance(ck[key], dict):
                return ck[key], key
    return ck, "state_dict"


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import torch
    except ImportError as e:
        print(f"convert_realesrgan.py: torch is needed ({e}); install python3-torch", file=sys.stderr)
        return 1
    src, dst = argv[1], argv[2]
    try:
        ck = torch.load(src, map_location="cpu")
    except Exception as e:  # noqa: BLE001 -- any unreadable file gets one message
        print(f"convert_realesrgan.py: cannot read '{src}' as a PyTorch checkpoint: {e}", file=sys.stderr)
        return 1
    sd, where = state_dict_of(ck)
    if not isinstance(sd, dict) or not sd:
        print(f"convert_realesrgan.py: '{src}' holds no state_dict (keys params_ema, params, or tensors)",
              file=sys.stderr)
        return 1
    tensors = []
    for name, t in sd.items():
        if not re.fullmatch(r"body\.\d+\.(weight|bias)", name) or not torch.is_tensor(t):
            print(f"convert_realesrgan.py: '{src}': unexpected entry '{name}' (not an SRVGGNetCompact state_dict)",
                  file=sys.stderr)
            return 1
        if not t.is_floating_point():
            print(f"convert_realesrgan.py: '{src}': tensor {name} is {t.dtype}, not floating point", file=sys.stderr)
            return 1
        tensors.append(f32_entry(name, t))
    if "body.0.weight" not in sd:
        print(f"convert_realesrgan.py: '{src}': tensor body.0.weight is missing", file=sys.stderr)
        return 1
    write_safetensors(dst, tensors, {"source": os.path.basename(src), "key": where, "arch": "SRVGGNetCompact"})
    print(f"{dst}: {len(tensors)} tensors from '{where}' of {src}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
