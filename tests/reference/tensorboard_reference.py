#!/usr/bin/env python3
"""tensorboard_reference.py — reads a clgan run's TensorBoard folder with TensorBoard's own reader and
reports what it found, as JSON, for tests/test_tensorboard.c to compare with log.csv and the sample
grids.

  tensorboard_reference.py LOGDIR SAMPLES_DIR OUT.json

- scalars: {tag: [[step, value], ...]} from EventAccumulator (every event kept: size_guidance 0)
- images:  {tag: [[step, width, height, decoded_width, decoded_height, same_as_file], ...]}; the PNG
  is decoded with PIL and its bytes compared with SAMPLES_DIR/step_<step:06d>.png
- text:    {tag: [[step, text], ...]} (the text plugin's string tensors)
- files:   {name: {"records": n, "torn": bytes after the last intact record}}: the TFRecord framing
  checked with TensorBoard's masked CRC32C, independently of the loader (which skips a torn tail)
- duplicates: (first tag, step) pairs found more than once across all files' records
Exit 77 when tensorboard (or its numpy/protobuf) cannot be imported.
"""
import io
import json
import os
import struct
import sys

try:
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    from PIL import Image
except ImportError as e:
    print(f"tensorboard_reference: {e}", file=sys.stderr)
    sys.exit(77)


def framing(path):
    """Intact records of a TFRecord file (payloads) and the count of bytes after them."""
    data = open(path, "rb").read()
    at, payloads = 0, []
    while len(data) - at >= 12:
        (n,) = struct.unpack_from("<Q", data, at)
        (hc,) = struct.unpack_from("<I", data, at + 8)
        if hc != masked_crc32c(data[at:at + 8]) or len(data) - at - 12 < n + 4:
            break
        payload = data[at + 12:at + 12 + n]
        (pc,) = struct.unpack_from("<I", data, at + 12 + n)
        if pc != masked_crc32c(payload):
            break
        payloads.append(payload)
        at += 12 + n + 4
    return payloads, len(data) - at


def main():
    logdir, samples, out = sys.argv[1:4]
    acc = ea.EventAccumulator(logdir, size_guidance={ea.SCALARS: 0, ea.IMAGES: 0, ea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    report = {"scalars": {}, "images": {}, "text": {}, "files": {}, "duplicates": 0, "file_version": []}
    for tag in tags["scalars"]:
        report["scalars"][tag] = [[e.step, e.value] for e in acc.Scalars(tag)]
    for tag in tags["images"]:
        rows = []
        for e in acc.Images(tag):
            img = Image.open(io.BytesIO(e.encoded_image_string))
            img.load()
            path = os.path.join(samples, f"step_{e.step:06d}.png")
            same = os.path.exists(path) and open(path, "rb").read() == e.encoded_image_string
            rows.append([e.step, e.width, e.height, img.size[0], img.size[1], same])
        report["images"][tag] = rows
    try:
        text_tags = acc.PluginTagToContent("text")
    except KeyError:
        text_tags = {}
    for tag in text_tags:
        report["text"][tag] = [[e.step, e.tensor_proto.string_val[0].decode()] for e in acc.Tensors(tag)]
    seen = {}
    for name in sorted(os.listdir(logdir)):
        if "tfevents" not in name:
            continue
        payloads, torn = framing(os.path.join(logdir, name))
        report["files"][name] = {"records": len(payloads), "torn": torn}
        for p in payloads:
            ev = event_pb2.Event.FromString(p)
            if ev.file_version:
                report["file_version"].append(ev.file_version)
            if ev.summary.value:
                key = (ev.summary.value[0].tag, ev.step)
                seen[key] = seen.get(key, 0) + 1
    report["duplicates"] = sum(1 for v in seen.values() if v > 1)
    with open(out, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
