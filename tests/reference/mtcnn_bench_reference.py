#!/usr/bin/env python3
"""mtcnn_bench_reference.py — facenet-pytorch's MTCNN (the pip wheel, CLGAN_PYDEPS) timed on the
same images as `clgan bench --suite landmarks`: one detect() call on the whole batch (facenet-pytorch
batches same-size images), 2 threads, one untimed call first. Prints `key value` lines: faces (total
found in the checked call), median_s, min_s, max_s per call; or `skip REASON` when torch or
facenet-pytorch is missing.
  mtcnn_bench_reference.py REPS IMAGE ...
"""
import sys, time

from mtcnn_common import load

try:
    np, Image, make_mtcnn = load()
except ImportError as e:
    print("skip facenet-pytorch not importable: %s" % e)
    sys.exit(0)

reps = int(sys.argv[1])
imgs = [Image.open(p).convert("RGB") for p in sys.argv[2:]]
m = make_mtcnn()
boxes, probs = m.detect(imgs)
print("faces", sum(0 if b is None else len(b) for b in boxes))
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    m.detect(imgs)
    times.append(time.perf_counter() - t0)
times.sort()
print("median_s", times[len(times) // 2])
print("min_s", times[0])
print("max_s", times[-1])
