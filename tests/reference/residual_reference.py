#!/usr/bin/env python3
"""residual_reference.py — PyTorch goldens for clgan's residual block (tests/test_residual.c).

  residual_reference.py DIR CASE SKIP N CIN COUT SIZE
The net: main.0 = Residual (body = Conv2d(CIN, COUT, 3, 1, 1), ReLU, Conv2d(COUT, COUT, 3, 1, 1);
skip = Conv2d(CIN, COUT, 1) when SKIP is "conv", the identity when "identity"; y = body(x) + skip(x)),
main.1 = LeakyReLU(0.2), main.2 = Flatten, main.3 = Linear(COUT*SIZE*SIZE, 1). Random weights go to
DIR/CASE_W.safetensors. DIR/CASE.safetensors holds x [N, CIN, SIZE, SIZE], the upstream gradient dy,
the output y, dx and grad/<name> (first order: the gradients of sum(y * dy)), and for the WGAN-GP
penalty 10 * mean((||g|| - 1)^2), g = dD/dx (double backward): penalty, gp_grad_x = g and
gp/<name> = d penalty / d parameter.
Exit code 77: torch or numpy is missing.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    import torch.nn as nn
    from layers_reference import st_write
except ImportError as e:  # the C test reports this as a skip
    print(f"residual_reference.py: {e}", file=sys.stderr)
    sys.exit(77)


class Residual(nn.Module):
    def __init__(self, cin, cout, skip):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1), nn.ReLU(), nn.Conv2d(cout, cout, 3, 1, 1))
        self.skip = nn.Conv2d(cin, cout, 1) if skip == "conv" else None

    def forward(self, x):
        return self.body(x) + (self.skip(x) if self.skip is not None else x)


class Net(nn.Module):
    def __init__(self, cin, cout, size, skip):
        super().__init__()
        self.main = nn.Sequential(Residual(cin, cout, skip), nn.LeakyReLU(0.2), nn.Flatten(),
                                  nn.Linear(cout * size * size, 1))

    def forward(self, x):
        return self.main(x)


def main(out, case, skip, n, cin, cout, size):
    torch.manual_seed(100 * n + 10 * cin + cout + size + (skip == "conv"))
    net = Net(cin, cout, size, skip)
    x = (2 * torch.rand(n, cin, size, size) - 1).requires_grad_(True)
    y = net(x)
    dy = torch.randn_like(y)
    params = dict(net.named_parameters())
    grads = torch.autograd.grad(y, [x] + list(params.values()), dy)
    tensors = {"x": x, "y": y, "dy": dy, "dx": grads[0]}
    for name, g in zip(params.keys(), grads[1:]):
        tensors["grad/" + name] = g

    (g,) = torch.autograd.grad(net(x), x, torch.ones_like(y), create_graph=True)
    penalty = 10.0 * ((g.reshape(n, -1).norm(2, dim=1) - 1) ** 2).mean()
    pgrads = torch.autograd.grad(penalty, list(params.values()), allow_unused=True)
    tensors["penalty"] = penalty.reshape(1)
    tensors["gp_grad_x"] = g
    for (name, p), gr in zip(params.items(), pgrads):
        tensors["gp/" + name] = torch.zeros_like(p) if gr is None else gr
    st_write(os.path.join(out, f"{case}_W.safetensors"), dict(net.state_dict()))
    st_write(os.path.join(out, f"{case}.safetensors"), tensors)


if __name__ == "__main__":
    if len(sys.argv) != 8:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    a = sys.argv
    main(a[1], a[2], a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7]))
