#!/usr/bin/env python3
"""upscale_reference.py — PyTorch goldens for clgan's learned upscaling (tests/test_prelu.c,
tests/test_upscale.c, bench/suite_upscale.c).

  upscale_reference.py prelu DIR N C H W
      DIR/prelu_W.safetensors: main.0.weight [C] (random slopes, some negative); DIR/prelu.safetensors:
      x [N, C, H, W], dy, y = PReLU(x), dx and dweight (the gradients of sum(y * dy)).
  upscale_reference.py random OUT.pth FEAT CONV SCALE SEED
      a randomly initialised SRVGGNetCompact saved as {"params": state_dict} (the layout of
      Real-ESRGAN's releases), for tools/convert_realesrgan.py.
  upscale_reference.py srvgg IN.pth X.npy OUT.npy
      loads IN.pth (params_ema, params or a bare state_dict; structure inferred from the shapes) into
      SRVGGNetCompact with strict=True and writes its output for X [N, 3, H, W] as float32.
  upscale_reference.py bench N SIZE REPS
      prints "median_s <seconds>" of SRVGGNetCompact (64 features, 16 + 2 convolutions, x4, random
      weights) on N random SIZE x SIZE images, 2 threads (bench/suite_upscale.c's reference).
Exit code 77: torch or numpy is missing.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from layers_reference import st_write
except ImportError as e:  # the C test reports this as a skip
    print(f"upscale_reference.py: {e}", file=sys.stderr)
    sys.exit(77)

torch.set_num_threads(2)


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact network (realesrgan/archs/srvgg_arch.py), PReLU activations."""

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4):
        super().__init__()
        self.upscale = upscale
        body = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)]
        for _ in range(num_conv):
            body += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)]
        body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(body)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


def state_dict_of(path):
    ck = torch.load(path, map_location="cpu")
    for key in ("params_ema", "params"):
        if isinstance(ck, dict) and key in ck:
            return ck[key]
    return ck


def build(sd):
    convs = sorted(int(k.split(".")[1]) for k in sd if k.endswith(".weight") and sd[k].dim() == 4)
    feat = sd["body.0.weight"].shape[0]
    scale = int(round((sd[f"body.{convs[-1]}.weight"].shape[0] / 3) ** 0.5))
    net = SRVGGNetCompact(3, 3, feat, len(convs) - 2, scale)
    net.load_state_dict(sd, strict=True)
    return net.eval()


def prelu(out, n, c, h, w):
    torch.manual_seed(1000 * n + 100 * c + h + w)
    layer = nn.PReLU(c)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(c) * 1.5 - 0.5)
    x = (2 * torch.rand(n, c, h, w) - 1).requires_grad_(True)
    y = layer(x)
    dy = torch.randn_like(y)
    dx, dw = torch.autograd.grad(y, [x, layer.weight], dy)
    st_write(os.path.join(out, "prelu_W.safetensors"), {"main.0.weight": layer.weight})
    st_write(os.path.join(out, "prelu.safetensors"), {"x": x, "dy": dy, "y": y, "dx": dx, "dweight": dw})


def random_net(out, feat, conv, scale, seed):
    torch.manual_seed(seed)
    net = SRVGGNetCompact(3, 3, feat, conv, scale)
    with torch.no_grad():
        for m in net.body:
            if isinstance(m, nn.PReLU):
                m.weight.copy_(torch.rand_like(m.weight) * 0.5)
    torch.save({"params": net.state_dict()}, out)


def srvgg(path, xpath, out):
    net = build(state_dict_of(path))
    x = torch.from_numpy(np.load(xpath).astype(np.float32))
    with torch.no_grad():
        y = net(x)
    np.save(out, y.numpy().astype(np.float32))


def bench(n, size, reps):
    torch.manual_seed(0)
    net = SRVGGNetCompact().eval()
    x = torch.rand(n, 3, size, size)
    times = []
    with torch.no_grad():
        net(x)
        for _ in range(reps):
            t0 = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - t0)
    print(f"median_s {sorted(times)[len(times) // 2]:.6g}")


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 7 and a[1] == "prelu":
        prelu(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]))
    elif len(a) == 7 and a[1] == "random":
        random_net(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]))
    elif len(a) == 5 and a[1] == "srvgg":
        srvgg(a[2], a[3], a[4])
    elif len(a) == 5 and a[1] == "bench":
        bench(int(a[2]), int(a[3]), int(a[4]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
