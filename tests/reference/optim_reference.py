#!/usr/bin/python3
"""optim_reference.py — runs torch.optim (SGD, Adam, RMSprop) on the cases tests/test_optim.c writes
and writes back the parameters and optimizer state after the last step.

Usage: optim_reference.py IN OUT   (run with Debian's /usr/bin/python3, which has torch 1.13)

IN, little-endian:  int32 count, then per case
    int32 kind (0 SGD, 1 Adam, 2 RMSprop), int32 n, int32 steps,
    float64 lr, beta1, beta2, eps, alpha, momentum, weight_decay,
    float32 params[n], float32 grads[steps][n]
OUT: per case float32 params[n], state_a[n], state_b[n]
    Adam: exp_avg, exp_avg_sq; RMSprop: square_avg, momentum_buffer; SGD: momentum_buffer, zeros
    (a state torch does not keep is written as zeros).
Exit status 77 when torch cannot be imported (the C test reports that part as skipped).
"""
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"optim_reference.py: {e}", file=sys.stderr)
    sys.exit(77)


def run_case(kind, n, steps, hp, p0, grads):
    lr, beta1, beta2, eps, alpha, momentum, wd = hp
    p = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    if kind == 0:
        opt = torch.optim.SGD([p], lr=lr, momentum=momentum, weight_decay=wd, foreach=False)
    elif kind == 1:
        opt = torch.optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd, foreach=False)
    else:
        opt = torch.optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=wd,
                                  foreach=False)
    for s in range(steps):
        p.grad = torch.from_numpy(grads[s].copy())
        opt.step()
    state = opt.state[p]
    zeros = np.zeros(n, dtype=np.float32)

    def get(key):
        t = state.get(key)
        return zeros if t is None else t.detach().numpy().astype(np.float32)

    names = {0: ("momentum_buffer", None), 1: ("exp_avg", "exp_avg_sq"), 2: ("square_avg", "momentum_buffer")}[kind]
    a = get(names[0])
    b = get(names[1]) if names[1] else zeros
    return p.detach().numpy().astype(np.float32), a, b


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    data = open(sys.argv[1], "rb").read()
    at = 0
    (count,) = struct.unpack_from("<i", data, at)
    at += 4
    out = []
    for _ in range(count):
        kind, n, steps = struct.unpack_from("<3i", data, at)
        at += 12
        hp = struct.unpack_from("<7d", data, at)
        at += 56
        p0 = np.frombuffer(data, dtype="<f4", count=n, offset=at)
        at += 4 * n
        grads = np.frombuffer(data, dtype="<f4", count=n * steps, offset=at).reshape(steps, n)
        at += 4 * n * steps
        out.extend(run_case(kind, n, steps, hp, p0, grads))
    with open(sys.argv[2], "wb") as f:
        for arr in out:
            f.write(np.ascontiguousarray(arr, dtype="<f4").tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
