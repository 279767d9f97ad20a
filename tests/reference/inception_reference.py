#!/usr/bin/env python3
"""inception_reference.py DIR -- golden values for tests/test_inception.c.

With pytorch-fid 0.3.0 (PYTHONPATH) and Debian's torch/torchvision, writes into DIR:
  img_NN.png                32 uint8 RGB images of sizes 64x64, 89x109, 178x218, 299x299, 320x240
  weights.safetensors       random weights for pytorch-fid's FID Inception, its state_dict names
  weights_missing.safetensors, weights_badshape.safetensors, weights_truncated.safetensors
  pool.npy [32, 2048]       pytorch-fid InceptionV3([3], resize_input=True, normalize_input=True)
  logits.npy, logits_nobias.npy [32, 1008]   pool @ fc.weight.T (+ fc.bias)
  resized0.npy [3, 299, 299]  2 * F.interpolate(img_00 / 255, 299, bilinear, align_corners=False) - 1
  bicubicI.npy, lanczosI.npy [3, 299, 299] (I < 3)  clean-fid's PIL 'F' resize of img_0I, clipped,
                            then (x - 128) / 128 (bicubic) or x / 127.5 - 1 (lanczos)
The network is pytorch-fid's own fid_inception_v3 (FIDInceptionA/C/E_1/E_2), built without its
download: load_state_dict_from_url and the load are bypassed, then every conv gets kaiming-normal
weights and every BatchNorm non-trivial statistics, so activations stay O(1).
Exit status 77: torch, torchvision, PIL or pytorch_fid is missing.
"""
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
    import pytorch_fid.inception as pfi
except ImportError as e:
    print(f"inception_reference: {e}; skipping", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from convert_inception_weights import state_dict_tensors, write_safetensors  # noqa: E402

SIZES = [(64, 64), (89, 109), (178, 218), (299, 299), (320, 240)]  # (w, h)


def make_images(out, n, rng):
    names = []
    for i in range(n):
        w, h = SIZES[i % len(SIZES)]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        img = np.empty((h, w, 3))
        for c in range(3):
            fx, fy, ph = rng.uniform(0.01, 0.2), rng.uniform(0.01, 0.2), rng.uniform(0, 6.3)
            img[..., c] = 127 + 80 * np.sin(fx * xx + fy * yy + ph)
        img += rng.normal(0, 30, img.shape)
        name = f"img_{i:02d}.png"
        Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB").save(os.path.join(out, name))
        names.append(name)
    return names


def pil_resize(img, resample):
    """clean-fid's resize: each channel as a PIL float ('F') image, resized to 299, clipped to [0, 255]."""
    chans = [np.asarray(Image.fromarray(img[..., c].astype(np.float32), mode="F").resize((299, 299), resample=resample))
             for c in range(3)]
    return np.clip(np.stack(chans, 0), 0, 255).astype(np.float32)


def build_model():
    """pytorch-fid's InceptionV3 (block 3) and the fid_inception_v3 module inside it, untrained."""
    holder = {}
    orig_build, orig_load = pfi.fid_inception_v3, torch.nn.Module.load_state_dict
    pfi.load_state_dict_from_url = lambda *a, **k: {}

    def capture():
        m = orig_build()
        holder["m"] = m
        return m

    pfi.fid_inception_v3 = capture
    torch.nn.Module.load_state_dict = lambda self, *a, **k: None
    try:
        model = pfi.InceptionV3([3], resize_input=True, normalize_input=True)
    finally:
        torch.nn.Module.load_state_dict = orig_load
        pfi.fid_inception_v3 = orig_build
    return model.eval(), holder["m"].eval()


def randomise(net, gen):
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, torch.nn.Conv2d):
                fan = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=gen) * (2.0 / fan) ** 0.5)
            elif isinstance(mod, torch.nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(1 + 0.1 * torch.randn(c, generator=gen))
                mod.bias.copy_(0.1 * torch.randn(c, generator=gen))
                mod.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                mod.running_var.copy_(0.5 + torch.rand(c, generator=gen))
            elif isinstance(mod, torch.nn.Linear):
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=gen) / mod.in_features ** 0.5)
                mod.bias.copy_(0.1 * torch.randn(mod.out_features, generator=gen))


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    torch.manual_seed(0)
    torch.set_num_threads(2)
    rng = np.random.RandomState(1234)
    names = make_images(out, n, rng)
    model, inception = build_model()
    randomise(inception, torch.Generator().manual_seed(5))

    tensors = state_dict_tensors(inception.state_dict())
    write_safetensors(os.path.join(out, "weights.safetensors"), tensors)
    write_safetensors(os.path.join(out, "weights_missing.safetensors"),
                      [t for t in tensors if t[0] != "Mixed_6c.branch7x7_2.conv.weight"])
    write_safetensors(os.path.join(out, "weights_badshape.safetensors"),
                      [(k, [191], data[:191 * 4]) if k == "Mixed_7b.branch_pool.bn.running_var" else (k, shape, data)
                       for k, shape, data in tensors])
    with open(os.path.join(out, "weights.safetensors"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "weights_truncated.safetensors"), "wb") as f:
        f.write(data[:len(data) - 4096])

    W, b = inception.fc.weight.detach(), inception.fc.bias.detach()
    pools = [None] * n
    with torch.no_grad():
        batches = {}
        for i, name in enumerate(names):
            img = np.asarray(Image.open(os.path.join(out, name)).convert("RGB"))
            x = torch.from_numpy(img.copy()).permute(2, 0, 1).unsqueeze(0).float() / 255
            if i == 0:
                r = 2 * F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) - 1
                np.save(os.path.join(out, "resized0.npy"), r[0].numpy().astype(np.float32))
            if i < 3:
                np.save(os.path.join(out, f"bicubic{i}.npy"), (pil_resize(img, Image.BICUBIC) - 128) / 128)
                np.save(os.path.join(out, f"lanczos{i}.npy"), pil_resize(img, Image.LANCZOS) / 127.5 - 1)
            batches.setdefault(img.shape, []).append((i, x))
        for items in batches.values():  # one batch per image size
            feats = model(torch.cat([x for _, x in items], 0))[0].reshape(len(items), -1)
            for k, (i, _) in enumerate(items):
                pools[i] = feats[k:k + 1]
        pool = torch.cat(pools, 0)
        np.save(os.path.join(out, "pool.npy"), pool.numpy().astype(np.float32))
        np.save(os.path.join(out, "logits_nobias.npy"), (pool @ W.T).numpy().astype(np.float32))
        np.save(os.path.join(out, "logits.npy"), (pool @ W.T + b).numpy().astype(np.float32))
    print(f"inception_reference: {n} images, pool norm {pool.norm(dim=1).mean():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
