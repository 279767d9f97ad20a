#!/usr/bin/env python3
"""gp_reference.py — PyTorch goldens for clgan's gradient penalty (tests/test_gp.c).

  gp_reference.py DIR CASE KIND SIZE WIDTH N
KIND conv: the WGAN-GP critic (nets/models.c: DCGAN's D with LayerNorm, no bias) at SIZE 32 or 64
with ndf = WIDTH; KIND mlp: the vanilla discriminator (Linear with bias, LeakyReLU) at SIZE.
Random weights (LayerNorm affine parameters perturbed away from 1 and 0) go to DIR/CASE_D.safetensors;
DIR/CASE.safetensors holds x (the critic's input, N samples), penalty = 10 * mean((||g|| - 1)^2)
with g = dD/dx (torch.autograd.grad, create_graph=True, as in the WGAN-GP reference code), grad_x = g,
and grad/<name> = d penalty / d parameter for every parameter.
Exit code 77: torch or numpy is missing.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    import torch.nn as nn
    from layers_reference import conv_discriminator, mlp_discriminator, st_write
except ImportError as e:  # the C test reports this as a skip
    print(f"gp_reference.py: {e}", file=sys.stderr)
    sys.exit(77)

LAMBDA = 10.0


def main(out, case, kind, size, width, n):
    torch.manual_seed(1000 * size + 10 * width + n + (kind == "mlp"))
    net = conv_discriminator(width, 3, size, layer_norm=True) if kind == "conv" else mlp_discriminator(3, size)
    for m in net.modules():
        if isinstance(m, nn.LeakyReLU):
            m.inplace = False
        if isinstance(m, nn.LayerNorm):
            with torch.no_grad():
                m.weight.add_(0.2 * torch.randn_like(m.weight))
                m.bias.add_(0.2 * torch.randn_like(m.bias))
    x = (2 * torch.rand(n, 3, size, size) - 1).requires_grad_(True)
    out_d = net(x)
    (g,) = torch.autograd.grad(out_d, x, torch.ones_like(out_d), create_graph=True)
    penalty = LAMBDA * ((g.reshape(n, -1).norm(2, dim=1) - 1) ** 2).mean()
    params = dict(net.named_parameters())
    grads = torch.autograd.grad(penalty, list(params.values()), allow_unused=True)  # biases: unused
    grads = [torch.zeros_like(p) if gr is None else gr for p, gr in zip(params.values(), grads)]
    st_write(os.path.join(out, f"{case}_D.safetensors"), {k: v for k, v in net.state_dict().items()})
    tensors = {"x": x, "penalty": penalty.reshape(1), "grad_x": g, "score": out_d}
    for name, gr in zip(params.keys(), grads):
        tensors["grad/" + name] = gr
    st_write(os.path.join(out, f"{case}.safetensors"), tensors)


if __name__ == "__main__":
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    a = sys.argv
    main(a[1], a[2], a[3], int(a[4]), int(a[5]), int(a[6]))
