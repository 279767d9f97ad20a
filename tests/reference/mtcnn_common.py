"""mtcnn_common.py — what the mtcnn_*reference.py scripts share: importing facenet-pytorch's MTCNN
(the pip wheel, CLGAN_PYDEPS) with numpy, torch and PIL, on 2 torch threads, and the detector they
all run (every face, not only the largest, on the CPU). Imported by those scripts from their own
folder (Python puts a script's folder first on sys.path).
"""
import sys, types


def load():
    """(numpy, PIL.Image, make) where make() builds the detector; raises ImportError when numpy, torch,
    PIL or facenet-pytorch is missing (each script reports that its own way)."""
    import numpy as np
    import torch
    from PIL import Image
    # facenet_pytorch/__init__ imports tqdm for its download helper, which the detector never uses.
    if "tqdm" not in sys.modules:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            sys.modules["tqdm"] = types.SimpleNamespace(tqdm=None)
    from facenet_pytorch.models.mtcnn import MTCNN
    torch.set_num_threads(2)
    return np, Image, lambda: MTCNN(keep_all=True, select_largest=False, device="cpu")
