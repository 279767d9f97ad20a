#!/usr/bin/env python3
"""peers.py — the Python peers `clgan bench` times in the same run (bench/bench_python.c runs them).

  peers.py train dcgan|wgan-gp REPS [BATCH]  one training iteration in PyTorch: pytorch/examples DCGAN
      64x64 (ngf = ndf = 64, nz = 100), D on real and fake then G, Adam; dcgan: BCE, BatchNorm in D,
      Adam 2e-4 (0.5, 0.999); wgan-gp: Wasserstein loss, LayerNorm over [C, H, W] in the critic, no
      sigmoid, gradient penalty (lambda 10, create_graph) on random interpolates, Adam 1e-4 (0, 0.9),
      and fresh noise for the G step (dcgan's G step reuses the D step's fake batch), as the trainer.
  peers.py inception BATCH REPS   pytorch-fid's InceptionV3 (block 3, its FID blocks, random weights,
      no download) on [BATCH, 3, 299, 299] inputs already in [-1, 1] (no resize, no normalisation):
      the network clgan's inception suite runs.
  peers.py fid D REPS   pytorch_fid.fid_score.calculate_frechet_distance on random full-rank d x d
      statistics (scipy.linalg.sqrtm).
  peers.py pil DIR REPS SIZE   PIL over every image under DIR, one process per core: decode, crop
      around the face, zoom, resize to SIZE x SIZE (bilinear), brightness to a mean of 128.

Prints `key value` lines (median_s, min_s, max_s, reps, threads; images for pil); `skip REASON`
(exit 0) when torch, pytorch-fid, scipy or PIL cannot be imported. Threads: os.cpu_count().
"""
import os
import statistics
import sys
import time


def skip(why):
    print("skip " + why)
    sys.exit(0)


def timed(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, reps)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    print("median_s %.9g" % statistics.median(times))
    print("min_s %.9g" % min(times))
    print("max_s %.9g" % max(times))
    print("reps %d" % len(times))


def torch_or_skip():
    try:
        import torch
    except ImportError as e:
        skip("torch not importable by /usr/bin/python3 (%s)" % e)
    torch.set_num_threads(os.cpu_count())
    print("threads %d" % torch.get_num_threads())
    return torch


def train(model, reps, batch):
    torch = torch_or_skip()
    nn = torch.nn
    torch.manual_seed(0)
    nz, nc, ngf, ndf = 100, 3, 64, 64
    gp = model == "wgan-gp"
    G = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def norm(c, side):
        return nn.LayerNorm([c, side, side]) if gp else nn.BatchNorm2d(c)

    D = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), norm(ndf * 2, 16), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), norm(ndf * 4, 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), norm(ndf * 8, 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), *([] if gp else [nn.Sigmoid()]))
    lr, betas = (1e-4, (0.0, 0.9)) if gp else (2e-4, (0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    bce = nn.BCELoss()
    real = torch.rand(batch, nc, 64, 64) * 2 - 1
    ones, zeros = torch.ones(batch), torch.zeros(batch)

    def iteration():
        D.zero_grad()
        fake = G(torch.randn(batch, nz, 1, 1))
        if gp:
            d_real, d_fake = D(real).mean(), D(fake.detach()).mean()
            eps = torch.rand(batch, 1, 1, 1)
            mix = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
            grad, = torch.autograd.grad(D(mix).sum(), mix, create_graph=True)
            penalty = ((grad.view(batch, -1).norm(2, dim=1) - 1) ** 2).mean()
            err_d = d_fake - d_real + 10.0 * penalty
            err_d.backward()
        else:
            err_d = bce(D(real).view(-1), ones)
            err_d.backward()
            err_fake = bce(D(fake.detach()).view(-1), zeros)
            err_fake.backward()
        opt_d.step()
        G.zero_grad()
        if gp:  # fresh noise for G, as the trainer's Wasserstein G step
            fake = G(torch.randn(batch, nz, 1, 1))
        err_g = -D(fake).mean() if gp else bce(D(fake).view(-1), ones)
        err_g.backward()
        opt_g.step()
        values = (err_d.item(), err_g.item())
        if not all(v == v and abs(v) != float("inf") for v in values):
            raise SystemExit("non-finite loss %r" % (values,))

    timed(iteration, reps)


def inception(batch, reps):
    torch = torch_or_skip()
    try:
        import pytorch_fid.inception as pfi
    except ImportError as e:
        skip("pytorch-fid not importable (%s; set CLGAN_PYDEPS)" % e)
    orig_load = torch.nn.Module.load_state_dict
    pfi.load_state_dict_from_url = lambda *a, **k: {}
    torch.nn.Module.load_state_dict = lambda self, *a, **k: None  # random weights, no download
    try:
        model = pfi.InceptionV3([3], resize_input=False, normalize_input=False).eval()
    finally:
        torch.nn.Module.load_state_dict = orig_load
    torch.manual_seed(3)
    x = torch.rand(batch, 3, 299, 299) * 2 - 1

    def forward():
        with torch.no_grad():
            out = model(x)[0]
        if not torch.isfinite(out).all():
            raise SystemExit("non-finite features")

    timed(forward, reps)


def fid(d, reps):
    try:
        import numpy as np
        from pytorch_fid.fid_score import calculate_frechet_distance
    except ImportError as e:
        skip("pytorch-fid or scipy not importable (%s; set CLGAN_PYDEPS)" % e)
    print("threads %d" % os.cpu_count())
    rng = np.random.default_rng(5)
    stats = []
    for _ in range(2):
        x = rng.standard_normal((2 * d, d))
        stats.append((x.mean(0), np.cov(x, rowvar=False)))
    (mu1, s1), (mu2, s2) = stats
    timed(lambda: calculate_frechet_distance(mu1, s1, mu2, s2), reps)


def pil_one(args):
    path, size = args
    from PIL import Image, ImageEnhance, ImageStat
    img = Image.open(path).convert("RGB")
    w, h = img.size
    side = min(w, h) * 0.6  # the face's square around its centre, slightly above the middle
    cx, cy = w / 2, h * 0.55
    img = img.crop((int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2)))
    z = img.size[0] * 0.1  # zoom: a 10 % tighter crop
    img = img.crop((int(z), int(z), int(img.size[0] - z), int(img.size[1] - z)))
    img = img.resize((size, size), Image.BILINEAR)
    mean = sum(ImageStat.Stat(img).mean) / 3
    img = ImageEnhance.Brightness(img).enhance(128.0 / mean if mean > 0 else 1.0)
    return img.tobytes()[:1]


def pil(folder, reps, size):
    try:
        import PIL  # noqa: F401
    except ImportError as e:
        skip("PIL not importable by /usr/bin/python3 (%s; Debian python3-pil)" % e)
    import multiprocessing
    paths = []
    for root, _, files in os.walk(folder):
        paths += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith((".jpg", ".jpeg", ".png"))]
    if not paths:
        raise SystemExit("no images under %s" % folder)
    n = os.cpu_count()
    print("threads %d" % n)
    print("images %d" % len(paths))
    with multiprocessing.Pool(n) as pool:
        work = [(p, size) for p in paths]
        timed(lambda: pool.map(pil_one, work, chunksize=max(1, len(work) // (4 * n))), reps)


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "train":
        train(a[1], int(a[2]), int(a[3]) if len(a) > 3 else 64)
    elif len(a) == 3 and a[0] == "inception":
        inception(int(a[1]), int(a[2]))
    elif len(a) == 3 and a[0] == "fid":
        fid(int(a[1]), int(a[2]))
    elif len(a) == 4 and a[0] == "pil":
        pil(a[1], int(a[2]), int(a[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
