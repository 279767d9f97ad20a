#!/usr/bin/env python3
"""score_cli_reference.py OUT.pth -- a stand-in for pt_inception-2015-12-05-6726825d.pth (tests/test_score_cli.c).

Saves with torch.save the state_dict of pytorch-fid's own fid_inception_v3 with random weights
(inception_reference.py's randomisation, activations O(1); the classifier scaled up so IS
responds to the images): the same names, shapes and file format
as the real download, so the test then takes the user's path, tools/convert_inception_weights.py.
Exit status 77: torch, torchvision or pytorch_fid is missing.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inception_reference as ref  # noqa: E402  (exits 77 without torch / pytorch_fid)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    torch = ref.torch
    torch.set_num_threads(2)
    _, inception = ref.build_model()
    ref.randomise(inception, torch.Generator().manual_seed(11))
    with torch.no_grad():
        inception.fc.weight.mul_(8)  # sharper class probabilities, so IS responds to the images
    torch.save(inception.state_dict(), sys.argv[1])
    print(f"score_cli_reference: wrote {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
