#!/usr/bin/env python3
"""trainer_reference.py — PyTorch goldens for the trainer parity test (tests/test_trainer_parity.c).

  trainer_reference.py DIR CASE

CASE is one of dcgan64, dcgan32, wgan, wgan-gp, vanilla (CASES below). Writes
  DIR/CASE_init.safetensors  the initial weights, "generator.<name>" / "discriminator.<name>" (the
                             trainer loads them through [train] init)
  DIR/CASE.safetensors       data [count, C, S, S] (read in order: [train] shuffle = false, flip = false),
                             noise [n, B, nz, 1, 1] (noise batch i, in the order the trainer draws it),
                             eps [n, B] (WGAN-GP: interpolation weights of real batch i), and after each
                             iteration k = 1..K under "it<k>/": loss_d, loss_g, d_x, d_g_z (of the last
                             critic step, as clgan logs them), G/<name> and D/<name> (parameters and
                             running statistics), optG/m, optG/v, optD/m, optD/v (optimizer moments,
                             flattened in parameter order: Adam exp_avg / exp_avg_sq, RMSprop
                             square_avg);
                             kinkG/<i>/<layer>/, kinkD/<i>/<layer>/: for the i-th forward of G / D that is
                             back-propagated (in the trainer's order: D on real, D on fake, D in the
                             generator step; the penalty's pass not counted), each ReLU/LeakyReLU input's
                             max |x|, signs (x > 0, 16 per float) and the elements within 1e-5 of max of
                             the kink (count, index, value);
                             gradD/<i>, gradG/<i>: each net's gradients (flat, parameter order) right
                             before its optimizer update number i;
                             preD/<i>/params, preD/<i>/m (CASES with resync: WGAN): D's parameters and
                             moments right before its update number i.
The metadata holds the case's [model] and [train] values (type, image_size, channels, nz, ngf, ndf,
batch_size, iterations, n_critic, n_critic_warmup, warmup_steps, warmup_every).
The loop is written from the published references, not from clgan's code: pytorch/examples dcgan
(D on real, D on the detached fake, G through the updated D on the same fake), the WGAN reference
(critic weights clamped at the start of each critic step, 100 critic steps during warm-up and every
warmup_every-th generator step, fresh noise for G), WGAN-GP (penalty on random interpolates with
torch.autograd.grad(create_graph=True), no clamping).
Exit code 77: torch or numpy is missing.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    import torch.nn as nn
    from layers_reference import (conv_discriminator, conv_generator, mlp_discriminator, mlp_generator,
                                  st_write, weights_init)
except ImportError as e:  # the C test reports this as a skip
    print(f"trainer_reference.py: {e}", file=sys.stderr)
    sys.exit(77)

# type, image size, channels, nz, ngf, ndf, batch, iterations, n_critic, warm-up (n, steps, every)
CASES = {
    "dcgan64": dict(type="dcgan", size=64, nc=3, nz=32, ngf=16, ndf=16, batch=16, K=5),
    "dcgan32": dict(type="dcgan", size=32, nc=3, nz=32, ngf=16, ndf=16, batch=16, K=6),
    "wgan": dict(type="wgan", size=32, nc=3, nz=16, ngf=8, ndf=8, batch=16, K=6, n_critic=5,
                 warmup=(100, 2, 4), resync=1),
    "wgan-gp": dict(type="wgan-gp", size=32, nc=3, nz=16, ngf=8, ndf=8, batch=16, K=5, n_critic=5),
    "vanilla": dict(type="vanilla", size=8, nc=1, nz=16, ngf=0, ndf=0, batch=16, K=6),
}
BATCHES_PER_EPOCH = 4
LAMBDA = 10.0
KINK = 1e-5


def build(c):
    if c["type"] == "vanilla":
        return mlp_generator(c["nz"], c["nc"], c["size"]), mlp_discriminator(c["nc"], c["size"])
    G = conv_generator(c["nz"], c["ngf"], c["nc"], c["size"])
    D = conv_discriminator(c["ndf"], c["nc"], c["size"], layer_norm=c["type"] == "wgan-gp")
    G.apply(weights_init)
    D.apply(weights_init)
    for net in (G, D):
        for m in net.modules():
            if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
                m.inplace = False
            if isinstance(m, nn.LayerNorm):  # away from 1 and 0, so the affine terms are exercised
                with torch.no_grad():
                    m.weight.add_(0.1 * torch.randn_like(m.weight))
                    m.bias.add_(0.1 * torch.randn_like(m.bias))
    return G, D


def net_state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}


def kink_record(prefix, x):
    """What the C test needs to hold clgan's activation masks to torch's: max |x|, the signs (x > 0) packed 16
    to a float, and the elements within KINK of max |x| of the kink (indices and values)."""
    x = x.detach().flatten()
    mag = x.abs().max()
    bits = torch.cat([(x > 0).to(torch.int64), torch.zeros((-x.numel()) % 16, dtype=torch.int64)]).view(-1, 16)
    packed = (bits << torch.arange(16)).sum(dim=1).to(torch.float32)
    near = (x.abs() <= KINK * mag).nonzero().flatten()
    rec = {prefix + "max": mag.reshape(1), prefix + "signs": packed, prefix + "count": torch.tensor([float(near.numel())])}
    if near.numel():
        rec[prefix + "index"] = near.to(torch.float32)
        rec[prefix + "value"] = x[near]
    return rec


def flat_grad(net):
    return torch.cat([p.grad.detach().flatten() for p in net.parameters()])


def moments(opt, net, keys):
    out = {}
    for name, key in keys.items():
        out[name] = torch.cat([opt.state[p][key].flatten() for p in net.parameters()])
    return out


def main(out, case):
    c = CASES[case]
    torch.manual_seed(list(CASES).index(case) + 11)
    torch.set_num_threads(2)
    B, nz, S, nc, K = c["batch"], c["nz"], c["size"], c["nc"], c["K"]
    G, D = build(c)
    init = {"generator." + k: v for k, v in net_state(G).items()}
    init.update({"discriminator." + k: v for k, v in net_state(D).items()})
    st_write(os.path.join(out, f"{case}_init.safetensors"), init)

    wasserstein = c["type"] in ("wgan", "wgan-gp")
    gp = c["type"] == "wgan-gp"
    clip = 0.01 if c["type"] == "wgan" else 0.0
    n_critic = c.get("n_critic", 1)
    warm_n, warm_steps, warm_every = c.get("warmup", (n_critic, 0, 0))
    if c["type"] == "wgan":
        optD = torch.optim.RMSprop(D.parameters(), lr=5e-5)
        optG = torch.optim.RMSprop(G.parameters(), lr=5e-5)
        keys = {"m": "square_avg"}
    else:
        betas = (0.0, 0.9) if gp else (0.5, 0.999)
        lr = 1e-4 if gp else 2e-4
        optD = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
        optG = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
        keys = {"m": "exp_avg", "v": "exp_avg_sq"}

    count = BATCHES_PER_EPOCH * B
    data = torch.rand(count, nc, S, S) * 2 - 1
    noise, eps, grads = [], [], []
    batches = 0
    bce = nn.BCEWithLogitsLoss()  # clgan's D ends without a Sigmoid
    golden = {"data": data}

    def real_batch():
        nonlocal batches
        pos = batches % BATCHES_PER_EPOCH
        batches += 1
        return data[pos * B:(pos + 1) * B]

    captured = {"G": 0, "D": 0}

    def forward(net, which, x, capture):
        """net(x); with capture, the kink record of each ReLU/LeakyReLU input under kink<which>/<i>/."""
        hooks = []
        if capture:
            i = captured[which]
            captured[which] += 1
            for name, m in net.main.named_children():
                if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
                    hooks.append(m.register_forward_pre_hook(
                        lambda _m, a, k=f"kink{which}/{i}/main.{name}/": golden.update(kink_record(k, a[0]))))
        y = net(x)
        for h in hooks:
            h.remove()
        return y

    def generate(capture):
        z = torch.randn(B, nz, 1, 1)
        noise.append(z)
        return forward(G, "G", z, capture)

    def d_loss(o, real):
        if wasserstein:
            return -o.mean() if real else o.mean()
        return bce(o, torch.full_like(o, 1.0 if real else 0.0))

    def d_mean(o):
        return o.mean() if wasserstein else torch.sigmoid(o).mean()

    G.train(), D.train()
    for step in range(K):
        n = warm_n if (wasserstein and (step < warm_steps or (warm_every and step % warm_every == 0))) else n_critic
        for i in range(n):
            if clip > 0:
                for p in D.parameters():
                    p.data.clamp_(-clip, clip)
            D.zero_grad()
            real = real_batch()
            o = forward(D, "D", real, True).view(-1)
            err_real = d_loss(o, True)
            err_real.backward()
            d_x = d_mean(o)
            fake = generate(not wasserstein and i == n - 1)
            o = forward(D, "D", fake.detach(), True).view(-1)
            err_fake = d_loss(o, False)
            err_fake.backward()
            d_g_z = d_mean(o)
            loss_d = err_real + err_fake
            if gp:
                e = torch.rand(B)
                eps.append(e)
                x_hat = (e.view(B, 1, 1, 1) * real + (1 - e.view(B, 1, 1, 1)) * fake.detach()).requires_grad_(True)
                o_hat = D(x_hat)
                (g,) = torch.autograd.grad(o_hat, x_hat, torch.ones_like(o_hat), create_graph=True)
                penalty = LAMBDA * ((g.reshape(B, -1).norm(2, dim=1) - 1) ** 2).mean()
                penalty.backward()
                loss_d = loss_d + penalty
            d_update = len([g for g in grads if g[0] == "D"])
            grads.append(("D", d_update, flat_grad(D)))
            if c.get("resync"):
                golden[f"preD/{d_update}/params"] = torch.cat([q.detach().flatten() for q in D.parameters()])
                if d_update:
                    golden.update({f"preD/{d_update}/{k}": v for k, v in moments(optD, D, keys).items()})
            optD.step()
        G.zero_grad()
        if wasserstein:
            fake = generate(True)
        o = forward(D, "D", fake, True).view(-1)
        err_g = d_loss(o, True)
        err_g.backward()
        grads.append(("G", step, flat_grad(G)))
        optG.step()
        p = f"it{step + 1}/"
        scal = {"loss_d": loss_d, "loss_g": err_g, "d_x": d_x, "d_g_z": d_g_z}
        golden.update({p + k: v.detach().reshape(1) for k, v in scal.items()})
        golden.update({p + "G/" + k: v for k, v in net_state(G).items()})
        golden.update({p + "D/" + k: v for k, v in net_state(D).items()})
        golden.update({p + "optG/" + k: v for k, v in moments(optG, G, keys).items()})
        golden.update({p + "optD/" + k: v for k, v in moments(optD, D, keys).items()})
    golden.update({f"grad{net}/{i}": g for net, i, g in grads})
    golden["noise"] = torch.stack(noise)
    if eps:
        golden["eps"] = torch.stack(eps)
    meta = {"type": c["type"], "image_size": S, "channels": nc, "nz": nz, "ngf": c["ngf"] or 64,
            "ndf": c["ndf"] or 64, "batch_size": B, "iterations": K, "n_critic": n_critic,
            "n_critic_warmup": warm_n, "warmup_steps": warm_steps, "warmup_every": warm_every,
            "resync": c.get("resync", 0)}
    st_write(os.path.join(out, f"{case}.safetensors"), golden, {k: str(v) for k, v in meta.items()})


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
