#!/usr/bin/env python3
"""dcgan_torch_step.py — PyTorch's time for one DCGAN training iteration, the peer of clgan's
train suite: pytorch/examples DCGAN G and D at 64x64 (ngf = ndf = 64, nz = 100), batch 64, BCE,
Adam 2e-4 (0.5, 0.999); D on real and fake, then G. One warm-up iteration, then --reps timed.
Prints {"median_s": ..., "min_s": ..., "reps": ..., "threads": ..., "torch": ...} on stdout."""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn


def generator(nz, ngf, nc):
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())


def discriminator(ndf, nc):
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    nz, nc = 100, 3
    G, D = generator(nz, 64, nc), discriminator(64, nc)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loss = nn.BCELoss()
    real = torch.rand(args.batch, nc, 64, 64) * 2 - 1
    ones, zeros = torch.ones(args.batch), torch.zeros(args.batch)

    def iteration():
        D.zero_grad()
        err_real = loss(D(real).view(-1), ones)
        err_real.backward()
        fake = G(torch.randn(args.batch, nz, 1, 1))
        err_fake = loss(D(fake.detach()).view(-1), zeros)
        err_fake.backward()
        opt_d.step()
        G.zero_grad()
        err_g = loss(D(fake).view(-1), ones)
        err_g.backward()
        opt_g.step()
        values = (err_real.item(), err_fake.item(), err_g.item())
        if not all(v == v and abs(v) != float("inf") for v in values):
            raise SystemExit("non-finite loss %r" % (values,))

    iteration()
    times = []
    for _ in range(max(1, args.reps)):
        t0 = time.perf_counter()
        iteration()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"median_s": statistics.median(times), "min_s": min(times), "reps": len(times),
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
