#!/usr/bin/env python3
"""layers_reference.py — PyTorch golden tensors for clgan's layer, model and interop tests.

Run with Debian's torch under /usr/bin/python3. Modes:
  ops DIR       DIR/ops.safetensors: every layer/loss case (forward output, input and parameter
                gradients for a random upstream gradient, updated running statistics); the metadata
                key "cases" lists the case names, and each name's metadata value describes the op
                ("conv2d cin cout k stride pad bias", ...). Tensors are "<case>/<what>".
  interop DIR   a DCGAN generator trained a few steps in PyTorch: DIR/interop_G.safetensors
                (state_dict with num_batches_tracked as I64), interop_z.npy [N, nz, 1, 1] float32,
                interop_images.npy (eval-mode output).
  generate G.safetensors Z.npy OUT.npy NZ NGF NC SIZE   loads a clgan-saved generator into the
                PyTorch DCGAN (strict=False: clgan writes no num_batches_tracked) and writes its
                eval-mode images for z.
  counts        prints "type size params buffers" for every model type at 32 and 64 (ngf=ndf=64,
                nz=100, nc=3) and vanilla at 1x1x2, for tests/test_models.c.
Exit code 77: torch (or numpy) is missing.
"""
import json
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the C test reports this as a skip
    print(f"layers_reference.py: {e}", file=sys.stderr)
    sys.exit(77)

torch.set_num_threads(2)


def st_write(path, tensors, meta=None):
    """safetensors: u64 header length, JSON header, raw little-endian data."""
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, t in tensors.items():
        a = t.detach().cpu().numpy() if torch.is_tensor(t) else np.asarray(t)
        if a.dtype == np.int64:
            dt = "I64"
        else:
            a, dt = a.astype("<f4"), "F32"
        b = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def st_read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": "<f4", "I64": "<i8"}[e["dtype"]]
        b, end = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:end], dtype=dt).reshape(e["shape"]).copy())
    return out


# ------------------------------------------------------------------------------------------------
# Models (nets/models.c documents the same topologies).

def conv_generator(nz, ngf, nc, size):
    stages = 3 if size == 64 else 2
    w = ngf << stages
    layers = [nn.ConvTranspose2d(nz, w, 4, 1, 0, bias=False), nn.BatchNorm2d(w), nn.ReLU(True)]
    for _ in range(stages):
        layers += [nn.ConvTranspose2d(w, w // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(w // 2), nn.ReLU(True)]
        w //= 2
    layers += [nn.ConvTranspose2d(w, nc, 4, 2, 1, bias=False), nn.Tanh()]
    m = nn.Module()
    m.main = nn.Sequential(*layers)
    m.forward = m.main.forward
    return m


def conv_discriminator(ndf, nc, size, layer_norm=False):
    stages = 3 if size == 64 else 2
    w, side = ndf, size // 2
    layers = [nn.Conv2d(nc, w, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    for _ in range(stages):
        side //= 2
        norm = nn.LayerNorm([w * 2, side, side]) if layer_norm else nn.BatchNorm2d(w * 2)
        layers += [nn.Conv2d(w, w * 2, 4, 2, 1, bias=False), norm, nn.LeakyReLU(0.2, inplace=True)]
        w *= 2
    layers += [nn.Conv2d(w, 1, 4, 1, 0, bias=False)]
    m = nn.Module()
    m.main = nn.Sequential(*layers)
    m.forward = m.main.forward
    return m


def mlp_generator(nz, nc, size):
    p = nc * size * size
    m = nn.Module()
    m.main = nn.Sequential(nn.Flatten(), nn.Linear(nz, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                           nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, p), nn.Tanh(),
                           nn.Unflatten(1, (nc, size, size)))
    m.forward = m.main.forward
    return m


def mlp_discriminator(nc, size):
    p = nc * size * size
    m = nn.Module()
    m.main = nn.Sequential(nn.Flatten(), nn.Linear(p, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 512),
                           nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))
    m.forward = m.main.forward
    return m


def weights_init(m):  # pytorch/examples DCGAN
    name = m.__class__.__name__
    if name.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif name.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def state(m):
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


# ------------------------------------------------------------------------------------------------
# ops

def mode_ops(out):
    g = torch.Generator().manual_seed(1234)

    def rnd(*shape, scale=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * scale

    tensors, meta, names = {}, {}, []

    def case(name, desc, module, x, params_in=None, backward=True, extra=None):
        """Runs module on x, a random upstream gradient, and stores everything under name/."""
        names.append(name)
        meta[name] = desc
        for k, v in (params_in or {}).items():
            with torch.no_grad():
                getattr(module, k).copy_(v)
            tensors[f"{name}/p.{k}"] = v.clone()
        x = x.clone().requires_grad_(backward)
        y = module(x)
        x4 = x.detach().reshape(x.shape[0], -1, *([1, 1] if x.dim() == 2 else [])) if x.dim() == 2 else x.detach()
        tensors[f"{name}/x"] = x4
        tensors[f"{name}/y"] = y.detach().reshape(y.shape[0], -1, 1, 1) if y.dim() == 2 else y.detach()
        if backward:
            dy = rnd(*y.shape)
            y.backward(dy)
            tensors[f"{name}/dy"] = dy.reshape(tensors[f"{name}/y"].shape)
            tensors[f"{name}/dx"] = x.grad.reshape(x4.shape)
            for k, p in module.named_parameters():
                tensors[f"{name}/g.{k}"] = p.grad.clone()
        for k, b in module.named_buffers():
            if b.dtype == torch.float32:
                tensors[f"{name}/out.{k}"] = b.clone()

    # Linear
    for (n, i, o, bias) in [(5, 7, 3, 1), (4, 33, 17, 0), (1, 64, 1, 1)]:
        m = nn.Linear(i, o, bias=bool(bias))
        ps = {"weight": rnd(o, i, scale=0.3)}
        if bias:
            ps["bias"] = rnd(o)
        case(f"linear_{i}_{o}_{bias}", f"linear {i} {o} {bias}", m, rnd(n, i), ps)
    # Conv2d: stride 1/2, pad 0-2, bias on/off, odd shapes
    for (n, ci, co, k, s, p, b, h, w) in [(2, 3, 4, 3, 1, 1, 1, 7, 6), (3, 1, 5, 4, 2, 1, 0, 9, 8),
                                          (1, 4, 3, 5, 2, 2, 1, 11, 10), (2, 3, 2, 4, 1, 0, 0, 6, 7),
                                          (2, 8, 16, 4, 2, 1, 0, 16, 16)]:
        m = nn.Conv2d(ci, co, k, s, p, bias=bool(b))
        ps = {"weight": rnd(co, ci, k, k, scale=0.2)}
        if b:
            ps["bias"] = rnd(co)
        case(f"conv2d_{ci}_{co}_{k}_{s}_{p}_{b}", f"conv2d {ci} {co} {k} {s} {p} {b}", m, rnd(n, ci, h, w), ps)
    # ConvTranspose2d
    for (n, ci, co, k, s, p, b, h, w) in [(2, 4, 3, 4, 2, 1, 0, 5, 4), (3, 6, 2, 4, 1, 0, 1, 1, 1),
                                          (1, 3, 5, 3, 2, 2, 1, 6, 5), (2, 16, 8, 4, 2, 1, 0, 8, 8),
                                          (2, 2, 3, 5, 1, 1, 0, 3, 4), (8, 128, 64, 4, 2, 1, 0, 16, 16)]:
        m = nn.ConvTranspose2d(ci, co, k, s, p, bias=bool(b))
        ps = {"weight": rnd(ci, co, k, k, scale=0.2)}
        if b:
            ps["bias"] = rnd(co)
        case(f"convt_{ci}_{co}_{k}_{s}_{p}_{b}", f"convt {ci} {co} {k} {s} {p} {b}", m, rnd(n, ci, h, w), ps)
    # BatchNorm2d / 1d, training (running stats updated) and eval
    for (n, c, h, w, train) in [(4, 3, 5, 6, 1), (2, 5, 3, 3, 0), (8, 7, 1, 1, 1), (6, 4, 1, 1, 0),
                                (8, 64, 32, 32, 1)]:
        m = nn.BatchNorm2d(c) if h > 1 else nn.BatchNorm1d(c)
        m.train(bool(train))
        ps = {"weight": 1 + rnd(c, scale=0.3), "bias": rnd(c, scale=0.3),
              "running_mean": rnd(c, scale=0.5), "running_var": 0.5 + torch.rand(c, generator=g)}
        x = rnd(n, c, h, w, scale=2.0) + 0.7 if h > 1 else rnd(n, c, scale=2.0) + 0.7
        case(f"bn_{n}_{c}_{h}_{train}", f"bn {c} {train}", m, x, ps)
    # LayerNorm over [C, H, W]
    for (n, c, h, w) in [(3, 4, 5, 6), (2, 8, 4, 4), (5, 3, 1, 1)]:
        m = nn.LayerNorm([c, h, w])
        ps = {"weight": 1 + rnd(c, h, w, scale=0.3), "bias": rnd(c, h, w, scale=0.3)}
        case(f"ln_{n}_{c}_{h}_{w}", f"ln {c} {h} {w}", m, rnd(n, c, h, w, scale=1.5) - 0.4, ps)
    # activations
    xa = rnd(3, 5, 4, 7, scale=2.0)
    case("relu", "relu", nn.ReLU(), xa)
    case("lrelu", "lrelu 0.2", nn.LeakyReLU(0.2), xa)
    case("tanh", "tanh", nn.Tanh(), xa)
    case("sigmoid", "sigmoid", nn.Sigmoid(), xa)
    # pools (forward only in clgan)
    xp = rnd(2, 3, 9, 8)
    case("maxpool_3_2_1", "maxpool 3 2 1", nn.MaxPool2d(3, 2, 1), xp, backward=False)
    case("maxpool_3_1_1", "maxpool 3 1 1", nn.MaxPool2d(3, 1, 1), xp, backward=False)
    case("maxpool_2_2_0", "maxpool 2 2 0", nn.MaxPool2d(2, 2, 0), xp, backward=False)
    case("avgpool_3_1_1", "avgpool 3 1 1", nn.AvgPool2d(3, 1, 1, count_include_pad=False), xp, backward=False)
    case("avgpool_3_2_1", "avgpool 3 2 1", nn.AvgPool2d(3, 2, 1, count_include_pad=False), xp, backward=False)
    case("gap", "gap", nn.AdaptiveAvgPool2d(1), xp, backward=False)
    # losses: loss and gradient with respect to the logits / scores
    logits = rnd(7, 1, 1, 1, scale=3.0)
    for t in (1.0, 0.0):
        x = logits.clone().requires_grad_(True)
        loss = F.binary_cross_entropy_with_logits(x, torch.full_like(x, t))
        loss.backward()
        name = f"bce_{int(t)}"
        names.append(name)
        meta[name] = f"bce {t}"
        tensors.update({f"{name}/x": logits, f"{name}/y": loss.detach().reshape(1, 1, 1, 1),
                        f"{name}/dx": x.grad.clone()})
    for sign in (1.0, -1.0):
        x = logits.clone().requires_grad_(True)
        loss = sign * x.mean()
        loss.backward()
        name = f"wass_{'p' if sign > 0 else 'm'}"
        names.append(name)
        meta[name] = f"wass {sign}"
        tensors.update({f"{name}/x": logits, f"{name}/y": loss.detach().reshape(1, 1, 1, 1),
                        f"{name}/dx": x.grad.clone()})
    meta["cases"] = ",".join(names)
    st_write(f"{out}/ops.safetensors", tensors, meta)


# ------------------------------------------------------------------------------------------------
# One pytorch/examples DCGAN iteration

# ------------------------------------------------------------------------------------------------
# Interop

def mode_interop(out):
    torch.manual_seed(11)
    nz, ngf, nc, size, batch = 100, 64, 3, 64, 4
    G, D = conv_generator(nz, ngf, nc, size), conv_discriminator(8, nc, size)
    G.apply(weights_init)
    D.apply(weights_init)
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    crit = nn.BCEWithLogitsLoss()
    for _ in range(2):  # a few training steps so the running statistics are non-trivial
        x = torch.rand(batch, nc, size, size) * 2 - 1
        D.zero_grad()
        fake = G(torch.randn(batch, nz, 1, 1))
        (crit(D(x).view(-1), torch.ones(batch)) + crit(D(fake.detach()).view(-1), torch.zeros(batch))).backward()
        optD.step()
        G.zero_grad()
        crit(D(fake).view(-1), torch.ones(batch)).backward()
        optG.step()
    G.eval()
    z = torch.randn(batch, nz, 1, 1)
    with torch.no_grad():
        img = G(z)
    st_write(f"{out}/interop_G.safetensors", state(G))
    np.save(f"{out}/interop_z.npy", z.numpy().astype(np.float32))
    np.save(f"{out}/interop_images.npy", img.numpy().astype(np.float32))


def mode_generate(gpath, zpath, outpath, nz, ngf, nc, size):
    G = conv_generator(nz, ngf, nc, size)
    missing, unexpected = G.load_state_dict(st_read(gpath), strict=False)
    bad = [k for k in missing if not k.endswith("num_batches_tracked")] + list(unexpected)
    if bad:
        print(f"generate: state_dict mismatch: {bad}", file=sys.stderr)
        sys.exit(1)
    G.eval()
    with torch.no_grad():
        img = G(torch.from_numpy(np.load(zpath)))
    np.save(outpath, img.numpy().astype(np.float32))


def mode_counts():
    def n(m, buffers=False):
        it = m.buffers() if buffers else m.parameters()
        return sum(t.numel() for t in it if t.dtype == torch.float32)
    for size in (32, 64):
        for t in ("dcgan", "wgan", "wgan-gp"):
            G = conv_generator(100, 64, 3, size)
            D = conv_discriminator(64, 3, size, layer_norm=(t == "wgan-gp"))
            print(t, size, n(G), n(G, True), n(D), n(D, True))
        print("vanilla", size, n(mlp_generator(100, 3, size)), 0, n(mlp_discriminator(3, size)), 0)
    print("vanilla", 1, n(mlp_generator(100, 2, 1)), 0, n(mlp_discriminator(2, 1)), 0)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "ops":
        mode_ops(sys.argv[2])
    elif mode == "interop":
        mode_interop(sys.argv[2])
    elif mode == "generate":
        mode_generate(sys.argv[2], sys.argv[3], sys.argv[4], *map(int, sys.argv[5:9]))
    elif mode == "counts":
        mode_counts()
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
