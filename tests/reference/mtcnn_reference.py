#!/usr/bin/env python3
"""mtcnn_reference.py — facenet-pytorch's MTCNN (the pip wheel, CLGAN_PYDEPS) on PPM images the C
test wrote from its own decode, so both sides see the same pixels. One line per image:
"IMAGE N" then N lines "x1 y1 x2 y2 prob lx0..lx4 ly0..ly4". Exit 77 when torch or
facenet-pytorch is missing.
  mtcnn_reference.py IMAGE.ppm ...
"""
import sys

from mtcnn_common import load

try:
    np, Image, make_mtcnn = load()
except ImportError as e:
    print("mtcnn_reference: %s" % e, file=sys.stderr)
    sys.exit(77)

m = make_mtcnn()
for path in sys.argv[1:]:
    img = Image.open(path).convert("RGB")
    boxes, probs, pts = m.detect(img, landmarks=True)
    n = 0 if boxes is None else len(boxes)
    print(path, n)
    for i in range(n):
        vals = list(boxes[i]) + [probs[i]] + list(pts[i][:, 0]) + list(pts[i][:, 1])
        print(" ".join("%.6f" % v for v in vals))
