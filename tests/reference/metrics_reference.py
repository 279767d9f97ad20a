#!/usr/bin/env python3
"""metrics_reference.py DIR [--numpy-only] -- reference values for tests/test_metrics.c.

Reads the inputs test_metrics wrote into DIR (float32 .npy: feat_{a,b,c,d}, logits, kid_{a,b}) and
writes, with numpy alone:
  stats_<x>.npz        mu = np.mean(act, 0), sigma = np.cov(act, rowvar=False) of the features as
                       float64 (pytorch-fid's get_activations stores them in a float64 array), saved
                       like pytorch-fid --save-stats (np.savez_compressed)
  perm_<n>.npy         np.random.RandomState(2020).permutation(n), as float64
  choice.npy           RandomState(2020): choice(400, 100, replace=False), choice(350, 100, ...) x 3
and, unless --numpy-only, with pytorch-fid 0.3.0 and torch-fidelity from PYTHONPATH:
  results.txt          "key value" lines: FID (calculate_frechet_distance, its eps fallback forced),
                       IS (isc_features_to_metric) and KID (kid_features_to_metric)
Exit status 77: numpy (or, without --numpy-only, scipy or torch) is missing; the test then skips.

Only the functions that take features are used. torch-fidelity's package __init__ and its utils
module (feature extraction plumbing) are bypassed, and missing torchvision/tqdm are stubbed, so the
unmodified metric code runs with Debian's torch 1.13 even without python3-torchvision.
"""
import importlib
import importlib.util
import os
import sys
import types

try:
    import numpy as np
except ImportError as e:
    print(f"metrics_reference: {e}; skipping", file=sys.stderr)
    sys.exit(77)

SEED = 2020


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def missing(name):
    return name not in sys.modules and importlib.util.find_spec(name) is None


def import_references():
    if missing("tqdm"):
        stub("tqdm", tqdm=lambda it=None, *a, **k: it)
    if missing("torchvision"):
        stub("torchvision")
        stub("torchvision.transforms")
        stub("pytorch_fid.inception", InceptionV3=type("InceptionV3", (), {"BLOCK_INDEX_BY_DIM": {2048: 3}}))
    fid_score = importlib.import_module("pytorch_fid.fid_score")

    spec = importlib.util.find_spec("torch_fidelity")
    if spec is None:
        raise ImportError("torch_fidelity is not on PYTHONPATH")
    pkg = stub("torch_fidelity")
    pkg.__path__ = list(spec.submodule_search_locations)
    unused = lambda *a, **k: None  # noqa: E731
    stub("torch_fidelity.utils", extract_featuresdict_from_input_id_cached=unused, create_feature_extractor=unused,
         resolve_feature_extractor=unused, resolve_feature_layer_for_metric=unused)
    isc = importlib.import_module("torch_fidelity.metric_isc")
    kid = importlib.import_module("torch_fidelity.metric_kid")
    return fid_score, isc, kid


def load(d, name):
    return np.load(os.path.join(d, name + ".npy"))


def numpy_part(d):
    for x in "abcd":
        act = load(d, "feat_" + x).astype(np.float64)
        np.savez_compressed(os.path.join(d, f"stats_{x}.npz"), mu=np.mean(act, axis=0),
                            sigma=np.cov(act, rowvar=False))
    for n in (1, 2, 7, 1000, 100003):
        np.save(os.path.join(d, f"perm_{n}.npy"), np.random.RandomState(SEED).permutation(n).astype(np.float64))
    rng = np.random.RandomState(SEED)
    rows = []
    for _ in range(3):
        rows.append(rng.choice(400, 100, replace=False))
        rows.append(rng.choice(350, 100, replace=False))
    np.save(os.path.join(d, "choice.npy"), np.stack(rows).astype(np.float64))


class ForcedFallback:
    """scipy.linalg whose first sqrtm returns a non-finite matrix, to run pytorch-fid's eps path."""

    def __init__(self, real):
        self.real, self.calls = real, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def sqrtm(self, a, disp=True):
        self.calls += 1
        if self.calls == 1:
            return np.full_like(a, np.inf), 0.0
        return self.real.sqrtm(a, disp)


def reference_part(d, out):
    try:
        import scipy.linalg  # noqa: F401  (pytorch-fid's sqrtm)
        import torch
    except ImportError as e:
        print(f"metrics_reference: {e}; skipping", file=sys.stderr)
        sys.exit(77)
    fid_score, isc, kid = import_references()
    stats = {}
    for x in "abcd":
        with np.load(os.path.join(d, f"stats_{x}.npz")) as f:
            stats[x] = (f["mu"][:], f["sigma"][:])
    fd = fid_score.calculate_frechet_distance
    out["fid_ab"] = fd(*stats["a"], *stats["b"])
    out["fid_cd"] = fd(*stats["c"], *stats["d"])
    real = fid_score.linalg
    fid_score.linalg = ForcedFallback(real)
    try:
        print("metrics_reference: forcing pytorch-fid's eps fallback; its message follows", flush=True)
        out["fid_cd_eps"] = fd(*stats["c"], *stats["d"])
    finally:
        fid_score.linalg = real

    logits = torch.from_numpy(load(d, "logits"))
    r = isc.isc_features_to_metric(logits, splits=10, shuffle=True, rng_seed=SEED)
    out["is_mean"], out["is_std"] = r[isc.KEY_METRIC_ISC_MEAN], r[isc.KEY_METRIC_ISC_STD]
    r = isc.isc_features_to_metric(logits, splits=7, shuffle=False, rng_seed=SEED)
    out["is7_noshuffle_mean"], out["is7_noshuffle_std"] = r[isc.KEY_METRIC_ISC_MEAN], r[isc.KEY_METRIC_ISC_STD]

    ka, kb = torch.from_numpy(load(d, "kid_a")), torch.from_numpy(load(d, "kid_b"))
    kw = dict(kid_subsets=50, kid_subset_size=100, rng_seed=SEED, verbose=False)
    # float64 inputs make torch-fidelity compute in float64, as clgan does; with the float32
    # features themselves it computes in float32 (reported for information).
    r = kid.kid_features_to_metric(ka.double(), kb.double(), **kw)
    out["kid_mean"], out["kid_std"] = r[kid.KEY_METRIC_KID_MEAN], r[kid.KEY_METRIC_KID_STD]
    r = kid.kid_features_to_metric(ka, kb, **kw)
    out["kid_f32_mean"] = r[kid.KEY_METRIC_KID_MEAN]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    numpy_part(d)
    out = {}
    if "--numpy-only" not in sys.argv[2:]:
        reference_part(d, out)
    with open(os.path.join(d, "results.txt"), "w") as f:
        for k, v in out.items():
            f.write(f"{k} {float(v)!r}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
