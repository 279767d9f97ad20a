#!/usr/bin/env python3
"""mtcnn_accuracy_reference.py — facenet-pytorch's MTCNN (the pip wheel, CLGAN_PYDEPS) on the first
LIMIT images of a folder (sorted by name), batched as facenet-pytorch batches same-size images. One
line per image: "NAME 0" when it finds no face, else "NAME 1 lx0..lx4 ly0..ly4 prob": the landmarks
of its most probable face in image pixels. Exit 77 when torch or facenet-pytorch is missing.
  mtcnn_accuracy_reference.py DIR LIMIT
"""
import os, sys

from mtcnn_common import load

try:
    np, Image, make_mtcnn = load()
except ImportError as e:
    print("mtcnn_accuracy_reference: %s" % e, file=sys.stderr)
    sys.exit(77)

folder, limit = sys.argv[1], int(sys.argv[2])
names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg", ".png")))[:limit]
m = make_mtcnn()
BATCH = 64
for i in range(0, len(names), BATCH):
    chunk = names[i:i + BATCH]
    imgs = [Image.open(os.path.join(folder, n)).convert("RGB") for n in chunk]
    boxes, probs, pts = m.detect(imgs, landmarks=True)
    for n, b, p, q in zip(chunk, boxes, probs, pts):
        if b is None or len(b) == 0:
            print(n, 0)
            continue
        k = int(np.argmax(p))
        print(n, 1, " ".join("%.4f" % v for v in list(q[k][:, 0]) + list(q[k][:, 1])), "%.6f" % p[k])
